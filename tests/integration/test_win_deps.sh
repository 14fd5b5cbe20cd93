#!/bin/sh
# test_win_deps.sh: scripts/win/build-deps.sh derives deb-src lines from a one-line
# /etc/apt/sources.list (no debian.sources), options and components kept. Runs only the
# derivation (--deb-src-lines): nothing is installed, apt is not touched.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init win_deps
S="$top_srcdir/scripts/win/build-deps.sh"
L="$TMPD/sources.list"
O="$TMPD/out"
E="$TMPD/err"

cat >"$L" <<'LIST'
# a comment: deb http://deb.example/ignored bookworm main
deb http://deb.debian.org/debian bookworm main contrib
  deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian bookworm main
debx http://not.a.line/ bookworm main
LIST
run "$O" "$E" sh "$S" --deb-src-lines "$L"
check_status "--deb-src-lines exits 0" 0 "$RC"
check "two deb-src lines, one per deb line" test "$(wc -l <"$O")" -eq 2
check "the main archive, components kept" \
  grep -qx 'deb-src http://deb.debian.org/debian bookworm main contrib' "$O"
check "the security archive, options kept" grep -qx \
  'deb-src \[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg\] http://deb.debian.org/debian-security bookworm-security main' "$O"
check "no comment, deb-src or other line copied" sh -c "! grep -q 'ignored\\|not.a.line\\|^deb-src deb-src' '$O'"
run "$O" "$E" sh "$S" --deb-src-lines "$TMPD/missing"
check_status "a missing file is an error" 1 "$RC"
check "the error names the file" grep -q "missing" "$E"
finish
