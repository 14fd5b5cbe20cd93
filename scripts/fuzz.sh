#!/bin/sh
# fuzz.sh: builds the libFuzzer targets of fuzz/ with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs each for SECONDS (default 30) on the seed corpus.
#
#   scripts/fuzz.sh [SECONDS]             build, then fuzz every target
#   scripts/fuzz.sh repro TARGET FILE...  build, then run TARGET (recording, printer, targets,
#                                         sweep or alerts) once on each FILE (a reproducer) and
#                                         show the report
#
# Work files go to $FUZZ_WORK (default $TMPDIR/asr-agent-fuzz, never the source tree): the
# binaries, the corpus grown from fuzz/corpus/<target> (the seeds in the tree are never
# written), the logs, and crash-*/leak-*/timeout-* reproducers. Exits non-zero on the first
# crash, leak, sanitizer report or invariant violation, printing the reproducer's path.
# Needs clang and libclang-rt-14-dev (installed with apt-get when missing), libjansson-dev,
# libsnmp-dev (the sweep target).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-${TMPDIR:-/tmp}/asr-agent-fuzz}
cc=${FUZZ_CC:-clang}
targets="recording printer targets sweep alerts"

need_tools() {
  missing=""
  command -v "$cc" >/dev/null 2>&1 || missing="$missing clang"
  # the fuzzer runtime of the Debian clang (libclang_rt.fuzzer-x86_64.a and friends)
  if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
    | "$cc" -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
    missing="$missing libclang-rt-14-dev"
  fi
  pkg-config --exists jansson || missing="$missing libjansson-dev"
  if [ -n "$missing" ]; then
    echo "fuzz.sh: installing$missing" >&2
    # shellcheck disable=SC2086
    apt-get install -y --no-install-recommends $missing >/dev/null
  fi
}

# The library sources a target reaches, and the libraries it links.
sources() {
  base="$top/common/result.c $top/common/log.c $top/common/util.c $top/common/cred.c
    $top/common/buf.c $top/common/text.c $top/common/date.c
    $top/common/device.c $top/common/clock.c $top/common/addr.c $top/common/platform_posix.c"
  model="$top/snmp/vbset.c $top/snmp/charset.c $top/snmp/colorant.c $top/snmp/quirks.c
    $top/snmp/meters.c $top/snmp/alerts.c $top/snmp/printer.c"
  case $1 in
  recording | printer) echo "$base $model $top/snmp/recording.c $top/agent/output.c" ;;
  alerts) echo "$base $model $top/agent/output.c" ;;
  targets) echo "$base $top/conf/targets.c" ;;
  sweep) echo "$base $model $top/common/udp_posix.c $top/snmp/scan.c $top/snmp/sweep.c" ;;
  esac
}

libs() {
  case $1 in
  recording | printer | alerts) pkg-config --cflags --libs jansson ;;
  sweep) echo "$(net-snmp-config --cflags) $(net-snmp-config --libs)" ;;
  esac
}

build() {
  mkdir -p "$work"
  flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -I$top -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -Wall -Wextra -Werror"
  for t in $targets; do
    echo "fuzz.sh: building $work/fuzz_$t" >&2
    # shellcheck disable=SC2086,SC2046
    "$cc" $flags -o "$work/fuzz_$t" "$top/fuzz/fuzz_$t.c" $(sources $t) $(libs $t)
  done
}

san_env() {
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  export ASAN_OPTIONS UBSAN_OPTIONS
}

# Runs one target for $1 seconds; returns non-zero (and names the reproducer) on a finding.
run_one() {
  t=$1 secs=$2
  corpus="$work/corpus-$t" crashes="$work/crashes-$t/" log="$work/fuzz_$t.log"
  mkdir -p "$corpus" "$crashes"
  dict=""
  [ -f "$top/fuzz/$t.dict" ] && dict="-dict=$top/fuzz/$t.dict"
  echo "fuzz.sh: fuzzing $t for ${secs}s (log: $log)" >&2
  # shellcheck disable=SC2086
  if "$work/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$crashes" $dict \
    "$corpus" "$top/fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" | sed "s/^/  $t: /" >&2
    return 0
  fi
  tail -n 60 "$log" >&2
  repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  echo "fuzz.sh: $t FAILED; reproducer: ${repro:-see $log}" >&2
  echo "fuzz.sh: replay with: $0 repro $t ${repro:-FILE}" >&2
  return 1
}

need_tools
if [ "${1:-}" = repro ]; then
  [ $# -ge 3 ] || { echo "usage: $0 repro recording|printer|targets|sweep|alerts FILE..." >&2; exit 2; }
  t=$2
  shift 2
  build
  san_env
  exec "$work/fuzz_$t" "$@"
fi
secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS] | repro TARGET FILE..." >&2; exit 2 ;;
esac
build
san_env
status=0
for t in $targets; do
  run_one "$t" "$secs" || status=1
done
if [ $status -eq 0 ]; then
  echo "fuzz.sh: no crash, leak or invariant violation in ${secs}s per target" >&2
fi
exit $status
