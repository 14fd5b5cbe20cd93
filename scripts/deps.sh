#!/bin/sh
# deps.sh: installs, with apt-get, the Debian 12 packages asr-agent needs and that are
# missing. `deps.sh build` for building and the quick start; `deps.sh test` adds what the
# test suite uses (check, snmpsim, nftables, clang, clang-format, sqlite3, chromium and python3-websocket,
# libnss3-tools (certutil: Chromium trusting the portal test's CA),
# python3-aiosmtpd, qemu-system-x86 and debootstrap for the systemd VM test) and, unless
# ASR_SKIP_WINDOWS=1, what the Windows job needs (`deps.sh windows`: mingw-w64, Wine, wixl;
# scripts/win/build-deps.sh builds the rest from Debian's sources).
set -eu

build_pkgs="build-essential autoconf automake pkg-config libsnmp-dev libsqlite3-dev \
libjansson-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libmicrohttpd-dev snmp snmpsim python3 openssl"
win_pkgs="mingw-w64 libz-mingw-w64-dev dpkg-dev tcl libtool wine64 msitools wixl"
test_pkgs="check python3-aiosmtpd clang clang-format nftables sqlite3 valgrind openssl libnss3-tools tinyproxy libclang-rt-14-dev debhelper lintian debconf-utils fakeroot systemd chromium python3-websocket fonts-dejavu-core qemu-system-x86 debootstrap"

case "${1:-build}" in
  build) want="$build_pkgs" ;;
  test) want="$build_pkgs $test_pkgs"
    [ "${ASR_SKIP_WINDOWS:-0}" = 1 ] || want="$want $win_pkgs" ;;
  windows) want="$win_pkgs" ;;
  *) echo "usage: deps.sh [build|test|windows]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps.sh: need root (or sudo) to install:$missing" >&2; exit 1; }
  sudo="sudo"
fi
echo "deps.sh: installing:$missing"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
# shellcheck disable=SC2086
n=$(apt-get install -s --no-install-recommends $missing 2>/dev/null | grep -c '^Inst ' || true)
echo "deps.sh: $n packages in all with their dependencies"
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
