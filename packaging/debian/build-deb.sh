#!/bin/sh
# build-deb.sh SRCDIR BUILDDIR: builds the Debian packages (make deb runs it).
#
# Copies the source tree (the files git knows, tracked or not ignored; the whole tree
# without build products when it is not a git checkout) into a temporary directory, puts
# packaging/debian there as debian/, runs dpkg-buildpackage -us -uc -b, moves the .deb
# files into BUILDDIR and prints the path of the asr-agent one.
# ASR_DEB_VERSION=X (optional) builds version X instead of debian/changelog's (the upgrade
# test uses it). The temporary directory is removed on exit.
set -eu

src=${1:?usage: build-deb.sh SRCDIR BUILDDIR}
out=${2:?usage: build-deb.sh SRCDIR BUILDDIR}
command -v dpkg-buildpackage >/dev/null 2>&1 ||
  { echo "build-deb.sh: dpkg-buildpackage missing (apt-get install dpkg-dev debhelper)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/asr-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tree="$work/asr-agent"
mkdir "$tree"

# copy_tree: the sources only, never a build directory or autotools output.
copy_tree()
{
  if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
      xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
      tar --null -T - -cf -) | tar -C "$tree" -xf -
  else
    tar -C "$src" --exclude=.git --exclude='./_build' --exclude='./build*' \
      --exclude=autom4te.cache --exclude='*.o' --exclude='*.a' -cf - . | tar -C "$tree" -xf -
  fi
}

copy_tree
rm -rf "$tree/debian"
cp -R "$src/packaging/debian" "$tree/debian"
rm -f "$tree/debian/build-deb.sh"

if [ -n "${ASR_DEB_VERSION:-}" ]; then
  sed -i "1s/([^)]*)/($ASR_DEB_VERSION)/" "$tree/debian/changelog"
fi

log="$out/deb-build.log"
echo "build-deb.sh: building in $tree (log: $log)" >&2
if ! (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build-deb.sh: dpkg-buildpackage failed (log: $log)" >&2
  exit 1
fi

mkdir -p "$out"
for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes; do
  [ -e "$f" ] && mv -f "$f" "$out/"
done
ver=$(cd "$tree" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="$out/asr-agent_${ver}_${arch}.deb"
[ -f "$deb" ] || { echo "build-deb.sh: $deb not produced" >&2; exit 1; }
echo "$deb"
