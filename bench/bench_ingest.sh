#!/bin/sh
# bench_ingest.sh: the central's ingest path alone (cstore_apply: bench/bench_ingest.c) on
# SQLite (the reference, in this run) and on PostgreSQL (a throw-away cluster,
# tests/pg/pgtmp.sh): DAYS days of N printers in sites of P printers, one batch per site
# a day of 24 polls x 4 toners. Prints each backend's seconds and levels per second a
# day, and PostgreSQL's time against SQLite's. Goal (issue 15): a 100,000-printer day
# in <= 60 s on PostgreSQL on a 2-core machine.
#   sh bench/bench_ingest.sh [PRINTERS [PER_SITE [DAYS [JOBS]]]]  (from the build
#   directory; defaults 10000 50 2 2: JOBS workers with a handle each, as serve's threads).
#   PostgreSQL's port: 27000 + pid % 1000 (BENCH_PG_PORT).
# A benchmark, not a test: exits 0 unless something could not run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(pwd)
printers=${1:-10000}
per=${2:-50}
days=${3:-2}
jobs=${4:-2}
for lib in central/libasrcentral.a store/libasrsql.a common/libasrcommon.a; do
  if [ ! -f "$build/$lib" ]; then
    echo "bench_ingest: $build/$lib missing: run it from a built build directory" >&2
    exit 2
  fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_ingest.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
${CC:-cc} -O2 -std=c11 -pthread -D_GNU_SOURCE -I"$top" -I"$build" -I/usr/include/postgresql \
  -o "$work/bench_ingest" "$here/bench_ingest.c" \
  "$build/central/libasrcentral.a" "$build/replenish/libasrreplenish.a" \
  "$build/conf/libasrconf.a" "$build/wire/libasrwire.a" "$build/store/libasrsql.a" \
  "$build/common/libasrcommon.a" \
  $(pkg-config --libs jansson sqlite3 libmicrohttpd libpq libcrypto zlib libcurl) -lm
"$work/bench_ingest" "$work/central.db" "$printers" "$per" "$days" "$jobs" | tee "$work/sqlite.txt"
port=${BENCH_PG_PORT:-$((27000 + $$ % 1000))}
sh "$top/tests/pg/pgtmp.sh" "$port" sh -c \
  'PGPASSFILE=$PGTMP_PASSFILE "$0" "$PGTMP_URI" "$1" "$2" "$3" "$4"' \
  "$work/bench_ingest" "$printers" "$per" "$days" "$jobs" | tee "$work/pg.txt"
# the seconds of each day: PostgreSQL's against SQLite's (the reference of this run)
awk '/^ingest/ { d = $4 + 0; for (i = 1; i <= NF; i++) if ($i == "s:") v = $(i - 1)
                 if (FILENAME ~ /pg/) p[d] = v; else l[d] = v }
     END { for (d in p) if (l[d] > 0) printf "ingest day %d: postgresql %.2f s, sqlite %.2f s:" \
             " ratio %.1f\n", d, p[d], l[d], p[d] / l[d] }' "$work/sqlite.txt" "$work/pg.txt"
