#!/bin/sh
# test.sh: the whole test suite, as CI runs it (.ci/run). Installs what is missing, checks
# the formatting and that no files depend on each other in a circle
# (scripts/check-includes.py), builds with gcc and clang with -Werror, runs the unit and
# integration tests, the systemd VM test (tests/vm: the .deb in a Debian 12 guest under qemu), the
# Windows job (scripts/win/ci.sh: cross-build, tests under Wine; skipped with
# ASR_SKIP_WINDOWS=1), checks the agent against ../shared/printers/train when present,
# and runs make distcheck.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
win_note="Wine and mingw-w64 for the Windows job"
[ "${ASR_SKIP_WINDOWS:-0}" = 1 ] && win_note="not the Windows job's Wine and mingw-w64 (ASR_SKIP_WINDOWS=1)"
cat <<EOF
test.sh: the whole suite, as CI runs it (about 10 minutes once installed).
  It installs with apt-get what is missing of about 220 Debian packages with their
  dependencies: Chromium (the status page test), clang, debhelper and lintian, snmpsim,
  tinyproxy, and $win_note (scripts/deps.sh test lists them).
  It writes about 600 MB under /tmp (the Windows dependency stack in /tmp/win, kept as a
  cache; test directories, removed) and the build trees _build-gcc and _build-clang here.
EOF
"$top/scripts/deps.sh" test

echo "== clang-format"
files=$(find common wire snmp store agent uplink central replenish tests/unit fuzz -name '*.[ch]' | sort)
# shellcheck disable=SC2086
if ! clang-format --dry-run --Werror $files; then
  echo "clang-format: the files above need 'clang-format -i'" >&2
  exit 1
fi

echo "== include circles (scripts/check-includes.py: modules and files, none in a circle)"
if ! python3 scripts/check-includes.py; then
  echo "check-includes: break the circle above (README, Source layout: who may call whom)" >&2
  exit 1
fi

echo "== autoreconf"
autoreconf -fi >/dev/null 2>&1

echo "== gcc build, unit and integration tests"
rm -rf _build-gcc && mkdir _build-gcc
(cd _build-gcc && ../configure --quiet --enable-werror CC=gcc && make -j2 --quiet >/dev/null \
  && { make -j2 check || { cat tests/*/*.log >&2; exit 1; }; })
# the PostgreSQL pass (tests/*/pg_*.sh) skips, saying why, where PostgreSQL cannot start;
# here deps.sh installed it, so that is a failure (a test pending in tests/pg/pending.txt
# is skipped on purpose, and counted)
pg_down=$(grep -l -e 'PostgreSQL not available' -e 'PostgreSQL pass cannot run' \
  -e 'SKIP the PostgreSQL half' _build-gcc/tests/unit/check_cdb.log \
  _build-gcc/tests/*/pg_*.log 2>/dev/null || true)
if [ -n "$pg_down" ]; then
  for t in $pg_down; do echo "$t:" >&2; tail -n 3 "$t" >&2; done
  echo "the PostgreSQL pass could not run although deps.sh installs postgresql" >&2
  exit 1
fi
echo "the PostgreSQL pass: $(grep -l 'pending on PostgreSQL' _build-gcc/tests/*/pg_*.log 2>/dev/null |
  wc -l) tests pending (tests/pg/pending.txt)"

echo "== clang build and unit tests"
rm -rf _build-clang && mkdir _build-clang
(cd _build-clang && ../configure --quiet --enable-werror CC=clang && make -j2 --quiet >/dev/null \
  && { make -j2 check TESTS='$(UNIT_TESTS)' >/dev/null || { cat tests/unit/*.log >&2; exit 1; }; })

echo "== the .deb's unit under a real systemd: a Debian 12 guest under qemu (tests/vm, ~3 min;"
echo "   the guest image is built once from the apt mirror and cached in /var/cache/asr-agent-vm)"
vm_rc=0
top_srcdir="$top" top_builddir="$top/_build-gcc" sh "$top/tests/vm/test_systemd_vm.sh" \
  >_build-gcc/test-systemd-vm.log 2>&1 || vm_rc=$?
if [ "$vm_rc" = 77 ]; then
  grep '^SKIP' _build-gcc/test-systemd-vm.log
elif [ "$vm_rc" != 0 ]; then
  cat _build-gcc/test-systemd-vm.log >&2
  echo "tests/vm/test_systemd_vm.sh failed (exit $vm_rc; log: _build-gcc/test-systemd-vm.log)" >&2
  exit 1
else
  grep -E '^# (total [0-9]+ s$|systemd_vm: [0-9])' _build-gcc/test-systemd-vm.log
fi

if [ "${ASR_SKIP_WINDOWS:-0}" = 1 ]; then
  echo "== Windows job skipped (ASR_SKIP_WINDOWS=1)"
else
  echo "== Windows: cross-build, unit tests, service, MSI and fleet under Wine (scripts/win/ci.sh)"
  WIN_FRESH=1 sh "$top/scripts/win/ci.sh" "$top/_build-gcc" || exit 1
fi

if [ -d "$top/../shared/printers/train" ]; then
  echo "== real printer recordings (../shared/printers/train)"
  (cd _build-gcc && make --quiet check-recordings RECORDINGS="$top/../shared/printers/train")
fi

echo "== fuzzing the untrusted paths (15 s a target; scripts/fuzz.sh SECONDS for longer)"
sh "$top/scripts/fuzz.sh" 15 >/tmp/asr-fuzz.log 2>&1 || { tail -30 /tmp/asr-fuzz.log >&2; exit 1; }

echo "== make distcheck"
# the PostgreSQL pass ran in the gcc build above: not again in the tarball's (~3 minutes)
(cd _build-gcc && ASR_PG_PASS=off make --quiet distcheck >/dev/null 2>&1) || {
  echo "make distcheck failed; rerun 'make distcheck' in _build-gcc for details" >&2; exit 1; }
summary() { sed -n "s/^# $1: *//p" _build-gcc/test-suite.log; }
vm=0
[ "$vm_rc" = 0 ] && vm=1 # the VM test counts as one test, as a make check script does
vm_skip=0
[ "$vm_rc" = 77 ] && vm_skip=1
echo "== all tests passed"
echo "tests: $(($(summary PASS) + vm)) passed, $(summary FAIL) failed, $(($(summary SKIP) + vm_skip)) skipped"
