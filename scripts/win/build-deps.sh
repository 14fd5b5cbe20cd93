#!/bin/sh
# build-deps.sh [PREFIX]: cross-builds the Windows (x86_64-w64-mingw32) dependency stack of
# asr-agent from Debian's own packages: mingw-w64 and zlib (libz-mingw-w64-dev) from the
# archive; static SQLite, OpenSSL 3, libcurl (OpenSSL backend), net-snmp (snmplib only),
# jansson and check (for the unit tests) from Debian's source packages (apt-get source).
#
# The output is cached by the versions of those packages (and of this recipe): PREFIX
# defaults to /tmp/win/prefix-<hash>, and a second run with the same versions prints
# "cached" and does nothing. Prints the prefix on its last line. See scripts/win/README.md.
#
# Environment: WIN_WORK (default /tmp/win) holds the sources and the default prefix;
# JOBS (default: number of CPUs) for make -j.
#
#   build-deps.sh --deb-src-lines FILE   prints the deb-src lines it would derive from a
#                                        one-line sources.list FILE (and does nothing else)
set -eu

HOST=x86_64-w64-mingw32
WORK=${WIN_WORK:-/tmp/win}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
SRCPKGS="sqlite3 openssl curl net-snmp jansson check"
# Bump when the recipe below changes what it builds: part of the cache key.
RECIPE=2
# Compiled-in data paths of the libraries (OpenSSL, net-snmp): the agent's data folder.
WIN_DATA=C:/ProgramData/asr-agent
APT_ETC=/etc/apt
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "== $*" >&2; }
die() { echo "build-deps.sh: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the cross toolchain and the tools the builds need, when missing.
ensure_packages() {
  need=""
  for p in mingw-w64 libz-mingw-w64-dev dpkg-dev tcl make pkg-config gcc perl file \
    autoconf automake libtool; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
      || need="$need $p"
  done
  [ -z "$need" ] && return 0
  log "installing$need"
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends $need
}

# The deb-src lines mirroring the deb lines of a one-line-style sources.list $1 (options
# and components kept; comments, deb-src and other lines dropped).
deb_src_lines() {
  sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}/deb-src /p' "$1"
}

# apt-get source needs deb-src lines: mirror the deb lines of debian.sources (deb822) or,
# without it, of a one-line /etc/apt/sources.list.
ensure_deb_src() {
  apt-cache showsrc sqlite3 2>/dev/null | grep -q '^Package:' && return 0
  d822=$APT_ETC/sources.list.d/debian.sources
  list=$APT_ETC/sources.list
  if [ -r "$d822" ]; then
    log "adding deb-src lines ($APT_ETC/sources.list.d/asr-deb-src.sources)"
    sed 's/^Types:.*/Types: deb-src/' "$d822" \
      | as_root tee "$APT_ETC/sources.list.d/asr-deb-src.sources" >/dev/null
  elif [ -r "$list" ] && [ -n "$(deb_src_lines "$list")" ]; then
    log "adding deb-src lines ($APT_ETC/sources.list.d/asr-deb-src.list, from $list)"
    deb_src_lines "$list" | as_root tee "$APT_ETC/sources.list.d/asr-deb-src.list" >/dev/null
  else
    die "no deb-src lines and neither $d822 nor deb lines in $list to mirror: add deb-src lines by hand"
  fi
  as_root apt-get update -qq
}

# The versions of source package $1 that apt knows, newest first.
src_versions() {
  apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -u -V -r
}

# One line per input of the cache key: the source versions, the toolchain, this recipe.
versions() {
  for p in $SRCPKGS; do
    v=$(src_versions "$p" | tr '\n' ' ')
    [ -n "$v" ] || die "apt-cache showsrc knows no $p"
    echo "$p $v"
  done
  dpkg-query -W -f='${Package} ${Version}\n' gcc-mingw-w64-x86-64-win32 libz-mingw-w64-dev
  echo "recipe $RECIPE"
}

# Unpacks source package $1 under $SRC and prints its directory. Tries the newest version
# first and falls back to older ones (a mirror may lack the newest security upload).
fetch() {
  for v in $(src_versions "$1"); do
    if (cd "$SRC" && apt-get source -qq "$1=$v" >>"$SRC/fetch.log" 2>&1); then
      echo "$1 $v" >>"$PREFIX/.sources"
      up=${v#*:}
      up=${up%-*}
      dir=$(find "$SRC" -maxdepth 1 -type d -name "*-$up" | head -n 1)
      [ -n "$dir" ] || die "cannot find the unpacked source of $1 ($up)"
      echo "$dir"
      return 0
    fi
    log "apt-get source $1=$v failed, trying an older version"
  done
  die "apt-get source $1 failed for every version: see $SRC/fetch.log"
}

build_openssl() {
  dir=$(fetch openssl)
  log "openssl ($dir)"
  # OPENSSLDIR (openssl.cnf, default CA dir) is compiled in: point it at the agent's Windows
  # data folder. Configure would prefix "C:/..." with PREFIX (not absolute on the build
  # host), so the generated Makefile is edited; ENGINESDIR/MODULESDIR likewise (unused:
  # no-module, and the agent loads no engine).
  (cd "$dir" && ./Configure mingw64 no-shared no-tests no-module \
    --cross-compile-prefix=$HOST- --prefix="$PREFIX" --libdir=lib >configure.log 2>&1 \
    && sed -i -e "s|^OPENSSLDIR=.*|OPENSSLDIR=$WIN_DATA/ssl|" \
      -e "s|^ENGINESDIR=.*|ENGINESDIR=$WIN_DATA/engines-3|" \
      -e "s|^MODULESDIR=.*|MODULESDIR=$WIN_DATA/ossl-modules|" Makefile \
    && make -j"$JOBS" build_sw >make.log 2>&1 && make install_sw >>make.log 2>&1) \
    || die "openssl failed: see $dir/*.log"
}

build_sqlite() {
  dir=$(fetch sqlite3)
  log "sqlite3 ($dir)"
  # The amalgamation is platform independent: generate it natively (needs tclsh), then
  # compile only sqlite3.c with the cross compiler.
  mkdir -p "$dir/_native"
  (cd "$dir/_native" && ../configure --disable-tcl >configure.log 2>&1 \
    && make sqlite3.c >make.log 2>&1) || die "sqlite3 amalgamation failed: see $dir/_native"
  ver=$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$dir/_native/sqlite3.h")
  (cd "$dir/_native" && $HOST-gcc -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION \
    -c sqlite3.c -o sqlite3-win.o && $HOST-ar cr libsqlite3.a sqlite3-win.o) \
    || die "sqlite3 cross compile failed"
  install -m 644 "$dir/_native/libsqlite3.a" "$PREFIX/lib/"
  install -m 644 "$dir/_native/sqlite3.h" "$dir/_native/sqlite3ext.h" "$PREFIX/include/"
  sed -e "s|@PREFIX@|$PREFIX|" -e "s|@VERSION@|$ver|" "$here/sqlite3.pc.in" \
    >"$PREFIX/lib/pkgconfig/sqlite3.pc"
}

# Runs an autoconf configure for the cross host into $PREFIX, static only; extra args follow.
# pkg-config --static: static OpenSSL needs its private libraries (ws2_32...) after it.
xconfigure() {
  PKG_CONFIG="pkg-config --static" PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH="" \
    ./configure --host=$HOST --prefix="$PREFIX" --disable-shared --enable-static "$@" \
    >configure.log 2>&1
}

build_curl() {
  dir=$(fetch curl)
  log "curl ($dir)"
  (cd "$dir" && { [ -x configure ] || autoreconf -fi >autoreconf.log 2>&1; } \
    && CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib" \
      LIBS="-lcrypt32 -lbcrypt -lws2_32 -lgdi32" \
      xconfigure --with-openssl="$PREFIX" --disable-pthreads --enable-threaded-resolver \
      --without-libpsl --without-brotli --without-zstd --without-libidn2 --without-nghttp2 \
      --without-librtmp --without-libssh2 --without-libssh --disable-ldap --disable-ldaps \
      --disable-manual --disable-docs --with-zlib \
    && make -j"$JOBS" -C lib >make.log 2>&1 && make -C lib install >>make.log 2>&1 \
    && make -C include install >>make.log 2>&1 && make install-pkgconfigDATA >>make.log 2>&1) \
    || die "curl failed: see $dir/*.log"
}

build_netsnmp() {
  dir=$(fetch net-snmp)
  log "net-snmp ($dir)"
  # Compiled-in paths are overridden at run time by the agent (SNMPCONFPATH etc.); give
  # them Windows values so nothing points at /usr/share/snmp.
  (cd "$dir" && { [ -x configure ] || autoreconf -fi >autoreconf.log 2>&1; } \
    && CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib" \
      LIBS="-lcrypt32 -lbcrypt -lws2_32 -lgdi32" \
      xconfigure --with-openssl="$PREFIX" --disable-agent --disable-applications \
      --disable-manuals --disable-scripts --disable-mibs --with-mibs="" \
      --with-security-modules=usm --with-transports="UDP TCP" --enable-blumenthal-aes \
      --disable-embedded-perl \
      --without-perl-modules --disable-perl-cc-checks --with-defaults \
      --with-persistent-directory="$WIN_DATA/snmp" --with-mibdirs="$WIN_DATA/mibs" \
    && make -j"$JOBS" -C snmplib >make.log 2>&1 && make -C snmplib install >>make.log 2>&1 \
    && make installheaders >>make.log 2>&1 \
    && install -m 755 net-snmp-config "$PREFIX/bin/net-snmp-config") \
    || die "net-snmp failed: see $dir/*.log"
}

build_jansson() {
  dir=$(fetch jansson)
  log "jansson ($dir)"
  (cd "$dir" && { [ -x configure ] || autoreconf -fi >autoreconf.log 2>&1; } \
    && xconfigure && make -j"$JOBS" >make.log 2>&1 && make install >>make.log 2>&1) \
    || die "jansson failed: see $dir/*.log"
}

build_check() {
  dir=$(fetch check)
  log "check ($dir)"
  (cd "$dir" && { [ -x configure ] || autoreconf -fi >autoreconf.log 2>&1; } \
    && xconfigure --disable-subunit --disable-build-docs --disable-timeout-tests \
    && make -j"$JOBS" -C lib >make.log 2>&1 && make -j"$JOBS" -C src >>make.log 2>&1 \
    && make -C src install >>make.log 2>&1 && make install-pcdataDATA >>make.log 2>&1 \
    && install -m 644 check_stdint.h "$PREFIX/include/") \
    || die "check failed: see $dir/*.log"
  # check uses pthreads (mingw-w64's winpthreads) but its .pc omits them; and Debian's
  # patch names the library check_pic, which a static build does not make.
  sed -i -e 's/-lcheck_pic/-lcheck/' -e 's/^Libs: .*/& -lpthread/' \
    "$PREFIX/lib/pkgconfig/check.pc"
}

main() {
  ensure_packages
  ensure_deb_src
  key=$(versions)
  hash=$(echo "$key" | sha256sum | cut -c1-12)
  PREFIX=${1:-$WORK/prefix-$hash}
  if [ -f "$PREFIX/.versions" ] && [ "$(cat "$PREFIX/.versions")" = "$key" ]; then
    echo "cached"
    echo "$PREFIX"
    return 0
  fi
  SRC=$WORK/src-$hash
  rm -rf "$SRC" "$PREFIX"
  mkdir -p "$SRC" "$PREFIX/lib/pkgconfig" "$PREFIX/include" "$PREFIX/bin"
  # zlib is libz-mingw-w64-dev's: let PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig find it too
  ln -sf "/usr/$HOST/lib/pkgconfig/zlib.pc" "$PREFIX/lib/pkgconfig/zlib.pc"
  start=$(date +%s)
  build_openssl
  build_sqlite
  build_jansson
  build_curl
  build_netsnmp
  build_check
  echo "$key" >"$PREFIX/.versions"
  log "built in $(($(date +%s) - start)) s"
  echo "$PREFIX"
}

if [ "${1:-}" = --deb-src-lines ]; then
  [ -r "${2:-}" ] || die "--deb-src-lines: cannot read ${2:-(no file)}"
  deb_src_lines "$2"
  exit 0
fi
main "$@"
