#!/bin/sh
# bench_store.sh: builds bench/bench_store.c against a build tree and runs it:
# the time of a 1000-printer poll's saves and the size of a year of hourly readings.
#   sh bench/bench_store.sh [BUILDDIR]      (default: the current directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=$(cd "${1:-.}" && pwd)
for lib in store/libasrstore.a snmp/libasrsnmp.a common/libasrcommon.a; do
  if [ ! -f "$build/$lib" ]; then
    echo "bench_store: $build/$lib missing: run make in the build directory first" >&2
    exit 2
  fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_store.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$top" -I"$build" \
  $(pkg-config --cflags sqlite3) -o "$work/bench_store" "$here/bench_store.c" \
  "$build/store/libasrstore.a" "$build/snmp/libasrsnmp.a" "$build/common/libasrcommon.a" \
  $(pkg-config --libs sqlite3)
"$work/bench_store" "$work"
