#!/bin/sh
# bench_ingest.sh: the central's ingest path alone (cstore_apply: bench/bench_ingest.c) on
# SQLite (the reference, in this run) and on PostgreSQL (a throw-away cluster,
# tests/pg/pgtmp.sh): DAYS days of N printers in sites of P printers, one batch per site
# a day of 24 polls x 4 toners. Prints each backend's seconds and levels per second a
# day, and PostgreSQL's time against SQLite's. Goal (issue 15): a 100,000-printer day
# in <= 60 s on PostgreSQL on a 2-core machine.
#   sh bench/bench_ingest.sh [PRINTERS [PER_SITE [DAYS]]]  (from the build directory;
#   defaults 10000 50 2). PostgreSQL's port: 27000 + pid % 1000 (BENCH_PG_PORT).
# A benchmark, not a test: exits 0 unless something could not run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(pwd)
printers=${1:-10000}
per=${2:-50}
days=${3:-2}
for lib in central/libasrcentral.a store/libasrsql.a common/libasrcommon.a; do
  if [ ! -f "$build/$lib" ]; then
    echo "bench_ingest: $build/$lib missing: run it from a built build directory" >&2
    exit 2
  fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_ingest.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -I"$top" -I"$build" -I/usr/include/postgresql \
  -o "$work/bench_ingest" "$here/bench_ingest.c" \
  "$build/central/libasrcentral.a" "$build/replenish/libasrreplenish.a" \
  "$build/conf/libasrconf.a" "$build/wire/libasrwire.a" "$build/store/libasrsql.a" \
  "$build/common/libasrcommon.a" \
  $(pkg-config --libs jansson sqlite3 libmicrohttpd libpq libcrypto zlib libcurl) -lm
"$work/bench_ingest" "$work/central.db" "$printers" "$per" "$days" | tee "$work/sqlite.txt"
port=${BENCH_PG_PORT:-$((27000 + $$ % 1000))}
sh "$top/tests/pg/pgtmp.sh" "$port" sh -c \
  'PGPASSFILE=$PGTMP_PASSFILE "$0" "$PGTMP_URI" "$1" "$2" "$3"' \
  "$work/bench_ingest" "$printers" "$per" "$days" | tee "$work/pg.txt"
awk '/^ingest/ { s[FILENAME ~ /pg/][$4 + 0] = $(NF - 4) }
     END { for (d in s[0]) if (s[0][d] > 0 && (d in s[1]))
             printf "ingest day %d: postgresql / sqlite = %.2f\n", d, s[1][d] / s[0][d] }' \
  "$work/sqlite.txt" "$work/pg.txt" 2>/dev/null || true
