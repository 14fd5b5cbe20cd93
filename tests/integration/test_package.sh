#!/bin/sh
# test_package.sh: the Debian package for real, on this machine.
#
# Builds the .deb (make deb), checks the unit (systemd-analyze security --offline, verify)
# and the package (lintian: no errors), installs it silently with a preseed
# (DEBIAN_FRONTEND=noninteractive, debconf-set-selections) while an asr-central runs on
# https://127.57.0.1:18950 with a certificate of a private CA, given by the preseed, so
# that the agent enrolls at install time, checks files, user,
# permissions, that the token is gone and that `asr-agent status` works as the user; then
# upgrades to a rebuilt, bumped version (config and database kept) and purges (all gone).
# It installs on this machine rather than into a debootstrap'ed root: debootstrap from
# Debian's archive takes minutes and needs the network, too slow for make check. Under
# systemd as PID 1 the package also starts the service; in a container without systemd it
# only enables it (deb-systemd-helper), and both paths are what dh_installsystemd writes.
# Needs root and dpkg-buildpackage (debhelper); skips (77) otherwise, or when an asr-agent
# package is already installed (it would be replaced). Always purges what it installed.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

ADDR=127.57.0.1
PORT=18950
UNIT=packaging/systemd/asr-agent.service
CONF=/etc/asr-agent/asr-agent.conf
STATE=/var/lib/asr-agent
PKG_INSTALLED=""
USER_CREATED=""
UPVER=""

pkg_init()
{
  uplink_init package
  trap 'pkg_cleanup; uplink_cleanup; itest_cleanup' EXIT
}

# pkg_cleanup: purges the package and forgets the answers even when a check failed, and
# removes the system user when this test created it (the package keeps it on purge).
pkg_cleanup()
{
  if [ -n "$PKG_INSTALLED" ]; then
    DEBIAN_FRONTEND=noninteractive dpkg --purge asr-agent >"$TMPD/cleanup.log" 2>&1 ||
      show "$TMPD/cleanup.log"
  fi
  echo PURGE | debconf-communicate asr-agent >/dev/null 2>&1
  [ -z "$UPVER" ] || rm -f "$top_builddir"/asr-*_"$UPVER"_*.deb "$top_builddir"/asr-*_"$UPVER"_*.changes \
    "$top_builddir"/asr-*_"$UPVER"_*.buildinfo
  if [ -n "$USER_CREATED" ] && getent passwd asr-agent >/dev/null; then
    deluser --system --quiet asr-agent >/dev/null 2>&1 || userdel asr-agent 2>/dev/null
    getent group asr-agent >/dev/null && groupdel asr-agent 2>/dev/null
  fi
  return 0
}

need_pkg_tools()
{
  [ "$(id -u)" = 0 ] || skip "needs root (installs a package on this machine)"
  need_cmd dpkg-buildpackage dh debconf-set-selections debconf-communicate systemd-analyze runuser
  dpkg-query -W -f='${Status}' asr-agent 2>/dev/null | grep -q "installed" &&
    skip "an asr-agent package is already installed here; this test would replace it"
  if [ -e "$CONF" ] || [ -e "$STATE" ]; then
    skip "$CONF or $STATE exists (left over?)"
  fi
  [ -f "$top_builddir/Makefile" ] || skip "no Makefile in $top_builddir (make deb)"
  getent passwd asr-agent >/dev/null || USER_CREATED=1
}

# build_deb OUTVAR [VERSION]: make deb (with ASR_DEB_VERSION), the .deb path into OUTVAR.
build_deb()
{
  if ! ASR_DEB_VERSION=${2:-} make -s --no-print-directory -C "$top_builddir" deb >"$TMPD/deb.out" 2>"$TMPD/deb.err"; then
    not_ok "make deb ${2:-}"
    show "$TMPD/deb.err"
    finish
  fi
  _d=$(grep '/asr-agent_[^/]*\.deb$' "$TMPD/deb.out" | tail -n 1)
  check "make deb ${2:-} built $(basename "$_d")" test -f "$_d"
  eval "$1=\$_d"
}

## ---------------------------------------------------------------------------------------
## The unit

# exposure FILE: the overall exposure of systemd-analyze security --offline (e.g. 1.2).
exposure()
{
  systemd-analyze security --offline=yes --no-pager "$1" 2>/dev/null |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

check_unit_offline()
{
  _e=$(exposure "$top_srcdir/$UNIT")
  if [ -n "$_e" ] && awk -v e="$_e" 'BEGIN { exit !(e <= 2.0) }'; then
    ok "systemd-analyze security rates the unit $_e (<= 2.0)"
  else
    not_ok "systemd-analyze security rates the unit '$_e' (want <= 2.0)"
  fi
  for _k in "Type=notify" "WatchdogSec=" "Restart=on-failure" "User=asr-agent" \
    "StateDirectory=asr-agent" "CapabilityBoundingSet=$" "PrivateUsers=yes" \
    "ExecStart=/usr/sbin/asr-agent run --config /etc/asr-agent/asr-agent.conf"; do
    check "unit has $_k" grep -q "^$_k" "$top_srcdir/$UNIT"
  done
  check "unit has no IPAddressDeny (the agent must reach the LAN)" \
    sh -c "! grep -q '^IPAddressDeny' '$top_srcdir/$UNIT'"
}

# lintian_ok CHANGES: no E: line (warnings are listed, not failed).
lintian_ok()
{
  if ! command -v lintian >/dev/null 2>&1; then
    echo "# lintian not installed: not checked"
    return 0
  fi
  lintian --suppress-tags initial-upload-closes-no-bugs "$1" >"$TMPD/lintian.out" 2>&1
  grep '^[WE]:' "$TMPD/lintian.out" | sed 's/^/#   /'
  check "lintian reports no error" sh -c "! grep -q '^E:' '$TMPD/lintian.out'"
}

## ---------------------------------------------------------------------------------------
## Install with a preseed

preseed()
{
  _p="$TMPD/preseed"
  (
    umask 077
    cat >"$_p" <<EOF
asr-agent asr-agent/endpoint string $CENTRAL_URL
asr-agent asr-agent/ca_file string $PROVIDER_CA
asr-agent asr-agent/site_token password $SITE_TOKEN
asr-agent asr-agent/scan_targets string 127.57.1.0/30 127.57.2.1
EOF
  )
  debconf-set-selections "$_p"
  rm -f "$_p"
}

# install_deb DEB: dpkg -i without a question; sets RC.
install_deb()
{
  PKG_INSTALLED=1
  DEBIAN_FRONTEND=noninteractive dpkg -i "$1" </dev/null >"$TMPD/install.log" 2>&1
  RC=$?
  check_status "dpkg -i $(basename "$1")" 0 "$RC"
  [ "$RC" = 0 ] || show "$TMPD/install.log"
}

user_exists()
{
  getent passwd asr-agent >/dev/null
}

# mode_owner PATH: "MODE USER:GROUP".
mode_owner()
{
  stat -c '%a %U:%G' "$1" 2>/dev/null
}

check_eq()
{
  if [ "$2" = "$3" ]; then ok "$1: $3"; else not_ok "$1: '$3' (expected '$2')"; fi
}

check_installed()
{
  for _f in /usr/sbin/asr-agent /usr/share/man/man8/asr-agent.8.gz \
    /usr/share/man/man5/asr-agent.conf.5.gz /lib/systemd/system/asr-agent.service "$CONF"; do
    check "installed $_f" test -f "$_f"
  done
  check "asr-central is not in the agent package" test ! -e /usr/bin/asr-central
  check "user asr-agent exists" user_exists
  _uid=$(id -u asr-agent 2>/dev/null || echo 99999)
  check "asr-agent is a system user (uid $_uid)" test "$_uid" -lt 1000
  check "asr-agent has no login shell" sh -c "getent passwd asr-agent | grep -q 'nologin\$\|false\$'"
  check_eq "state dir" "700 asr-agent:asr-agent" "$(mode_owner $STATE)"
  check_eq "config file" "640 root:asr-agent" "$(mode_owner $CONF)"
  check "config has the preseeded endpoint" grep -qx "endpoint $CENTRAL_URL" "$CONF"
  check "config has the preseeded CA file" grep -qx "ca_file $PROVIDER_CA" "$CONF"
  check "config has the preseeded targets" grep -qx "scan_targets 127.57.1.0/30 127.57.2.1" "$CONF"
  check "the service is enabled" test -L /etc/systemd/system/multi-user.target.wants/asr-agent.service
  if systemd-analyze verify /lib/systemd/system/asr-agent.service >"$TMPD/verify.out" 2>&1; then
    ok "systemd-analyze verify"
  else
    not_ok "systemd-analyze verify"
    show "$TMPD/verify.out"
  fi
}

# check_token_gone: not in debconf (any database file), not on disk, not in the config.
check_token_gone()
{
  check "the token is not in the debconf database" \
    sh -c "! grep -rqs '$SITE_TOKEN' /var/cache/debconf/"
  check "the token is not left in /etc or the state dir" \
    sh -c "! grep -rqs '$SITE_TOKEN' /etc/asr-agent $STATE"
  check "no temporary token file" sh -c "! ls -A $STATE | grep -q token"
}

# check_status_as_user OUT: `asr-agent status` as asr-agent works; enrolled with the central.
check_status_as_user()
{
  run "$1" "$1.err" env -u ASR_AGENT_DB runuser -u asr-agent -- /usr/sbin/asr-agent status \
    --format json
  check_status "asr-agent status as user asr-agent" 0 "$RC"
  [ "$RC" = 0 ] || show "$1.err"
  jcheck "enrolled at install time" "$1" "d['uplink']['agent_id'].startswith('ag_')"
  check_eq "database" "600 asr-agent:asr-agent" "$(mode_owner $STATE/agent.db)"
}

## ---------------------------------------------------------------------------------------

pkg_init
need_pkg_tools
need_central
check_unit_offline

build_deb DEB1
lintian_ok "${DEB1%.deb}.changes"

# the provider's own CA: the install enrols only if the CA question is answered
tls_ca ca "asr provider's own CA"
tls_cert ca srv "IP:$ADDR"
mkdir -m 755 "$TMPD/pub"
PROVIDER_CA="$TMPD/pub/provider-ca.pem"
cp "$TMPD/tls/ca.pem" "$PROVIDER_CA"
chmod 644 "$PROVIDER_CA"
central_start "$ADDR" "$PORT" srv
site_add acme
preseed
install_deb "$DEB1"
check_installed
# the questions a default (high priority) install asks: scan_targets among them
DEBCONF_DEBUG=developer DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=high \
  /usr/share/debconf/frontend /var/lib/dpkg/info/asr-agent.config configure \
  </dev/null >"$TMPD/config.out" 2>"$TMPD/config.log"
check "debconf asks scan_targets at high priority" \
  grep -q "INPUT high asr-agent/scan_targets" "$TMPD/config.log"
check "debconf asks the CA file when there is an endpoint" \
  grep -q "INPUT [a-z]* asr-agent/ca_file" "$TMPD/config.log"
check_token_gone
check_status_as_user "$TMPD/status1.json"
AGENT_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uplink"]["agent_id"])' \
  "$TMPD/status1.json" 2>/dev/null)

# An admin's edit, then an upgrade: both the edit and the enrolment survive.
sed -i 's/^#log_level info$/log_level debug/' "$CONF"
echo "# kept by the upgrade" >>"$CONF"
# A bad token at the upgrade: the enrolment fails, the upgrade does not (a warning).
echo "asr-agent asr-agent/site_token password st_0000000000000000000000000000dead" |
  debconf-set-selections
UPVER="$(dpkg-parsechangelog -l "$top_srcdir/packaging/debian/changelog" -S Version)+upgrade1"
build_deb DEB2 "$UPVER"
install_deb "$DEB2"
check "a failed enrolment only warns" grep -q "warning: enrolment with" "$TMPD/install.log"
check "the bad token is wiped too" sh -c "! grep -rqs 0000dead /var/cache/debconf/"
check_eq "upgraded version" "$UPVER" "$(dpkg-query -W -f='${Version}' asr-agent 2>/dev/null)"
check "upgrade kept the admin's edit" grep -qx "# kept by the upgrade" "$CONF"
check "upgrade kept log_level debug" grep -qx "log_level debug" "$CONF"
check_eq "endpoint lines after the upgrade" "1" "$(grep -c '^endpoint ' "$CONF")"
check_eq "state dir after the upgrade" "700 asr-agent:asr-agent" "$(mode_owner $STATE)"
check_status_as_user "$TMPD/status2.json"
jcheck "upgrade kept the database (same agent id)" "$TMPD/status2.json" \
  "d['uplink']['agent_id'] == '$AGENT_ID'"

DEBIAN_FRONTEND=noninteractive dpkg --purge asr-agent >"$TMPD/purge.log" 2>&1
check_status "dpkg --purge asr-agent" 0 "$?"
PKG_INSTALLED=""
for _f in /usr/sbin/asr-agent "$CONF" /etc/asr-agent "$STATE" /var/log/asr-agent \
  /lib/systemd/system/asr-agent.service /etc/systemd/system/multi-user.target.wants/asr-agent.service; do
  check "purge removed $_f" test ! -e "$_f"
done
check "purge forgot the debconf answers" sh -c "! debconf-show asr-agent 2>/dev/null | grep -q ."
check "purge keeps the system user (documented)" user_exists
finish
