#!/bin/sh
# build-msi.sh: cross-builds asr-agent.exe with the cached dependency prefix and packs it
# into asr-agent.msi with wixl (Debian's msitools). See packaging/windows/asr-agent.wxs.
#
#   scripts/win/build-msi.sh [BUILD_DIR]     # prints the .msi path on its last line
#
# BUILD_DIR defaults to /tmp/win/build-msi. ASR_MSI_VERSION overrides the version (numeric
# a.b.c, as Windows Installer wants; default: the package version from configure).
# ASR_MSI_START_SERVICE=no builds an MSI that registers the service without starting it
# (for tests while the executable cannot run as a service).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${WIN_WORK:-/tmp/win}/build-msi}

need() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! need wixl || ! need msibuild; then
  echo "build-msi: installing wixl and msitools" >&2
  as_root apt-get install -y wixl msitools >&2
fi

prefix=$("$top/scripts/win/build-deps.sh" | tail -n 1)
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
  PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" "$top/configure" --host=x86_64-w64-mingw32 \
    NET_SNMP_CONFIG="$prefix/bin/net-snmp-config" --enable-werror >configure.log 2>&1 ||
    { tail -n 20 configure.log >&2; exit 1; }
fi
make -j"$(nproc)" asr-agent.exe >make.log 2>&1 || { tail -n 30 make.log >&2; exit 1; }

version=${ASR_MSI_VERSION:-$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)}
version=$(printf '%s\n' "$version" | sed 's/[^0-9.].*$//')
case $version in
[0-9]*.[0-9]*) ;;
*) echo "build-msi: version '$version' is not numeric a.b.c" >&2; exit 1 ;;
esac

# wixl reads Source= relative to the current directory.
wixl -a x64 -D Version="$version" -D ExePath=asr-agent.exe \
  -D StartService="${ASR_MSI_START_SERVICE:-yes}" -o asr-agent.msi \
  "$top/packaging/windows/asr-agent.wxs"

# What wixl cannot express: the rollback and commit actions (type 18, the installed
# program, + 0x40 ignore the exit code + 0x400 in the script + 0x800 as LocalSystem,
# + 0x100 rollback or 0x200 commit), and the public properties in SecureCustomProperties
# (next to MajorUpgrade's own).
msibuild asr-agent.msi -q "UPDATE CustomAction SET Type = 3410 WHERE Action = 'UndoImport'"
msibuild asr-agent.msi -q "UPDATE CustomAction SET Type = 3666 WHERE Action = 'CommitImport'"
msibuild asr-agent.msi -q "UPDATE Property SET Value = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ENDPOINT;SITE_TOKEN;SCAN_TARGETS;COMMUNITY;PROXY;REMOTE_CONFIG;PURGE' WHERE Property = 'SecureCustomProperties'"

echo "build-msi: asr-agent $version" >&2
echo "$build/asr-agent.msi"
