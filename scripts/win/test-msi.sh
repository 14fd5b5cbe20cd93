#!/bin/sh
# test-msi.sh: the MSI under Wine against a native asr-central (issue 5 sections 2-3).
#
#   scripts/win/test-msi.sh [WIN_BUILD_DIR]     # default ${WIN_WORK:-/tmp/win}/build-msi
#
# Builds two MSIs (0.9.0 and 0.9.1, scripts/win/build-msi.sh) and asr-central for Linux
# (ASR_CENTRAL, or a native build in ${WIN_WORK:-/tmp/win}/build-msi-linux), then, in its
# own Wine prefix (WINEPREFIX, default ${WIN_WORK:-/tmp/win}/wineprefix-test-msi):
#   1. an install with a bad ENDPOINT fails and rolls back: no service, no program, no
#      configuration, no registry values left; so does one onto a configuration the
#      service would refuse (a missing secrets file), which stays as it was;
#   2. `msiexec /i /qn ENDPOINT=https://... SITE_TOKEN=... SCAN_TARGETS COMMUNITY PROXY`
#      with the central down: the configuration holds the values (and keeps a line written
#      before), the registry values are gone, the service RUNNING (automatic start) retries
#      the enrolment; once the central is up it enrols and deletes the token;
#   3. a repair restores the program and keeps the configuration; a major upgrade to 0.9.1 with one property changes
#      only that one and keeps the database (still enrolled); the service runs again;
#   4. secrets never on a command line (service, custom actions) nor in the agent's log;
#   5. the uninstall removes the service, the program and the Event Log source (which the
#      install registered) and keeps the data; PURGE=1
#      removes the data too.
# Prints each check; exits 1 when one failed, 77 (skip) without wine64, wixl or openssl.
# Wine cannot prove: real service accounts, UAC, that the access lists are enforced, that
# Windows Installer hides MsiHiddenProperties in its log (Wine's msi logs them anyway).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
work=${WIN_WORK:-/tmp/win}
WIN_BUILD=${1:-$work/build-msi}
PATH=/usr/lib/wine:$PATH
WINEPREFIX=${WINEPREFIX:-$work/wineprefix-test-msi}
WINEDEBUG=${WINEDEBUG:--all}
export PATH WINEPREFIX WINEDEBUG

for c in wine64 wineserver wixl openssl python3; do
  command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 77; }
done

# ---- what we test with: two MSIs and a native asr-central
build_msis() {
  for v in 0.9.0 0.9.1; do
    m=$(ASR_MSI_VERSION=$v "$top/scripts/win/build-msi.sh" "$WIN_BUILD" | tail -n 1) &&
      cp "$m" "$TMPD/asr-agent-$v.msi" || return 1
  done
}

build_central() {
  [ -n "${ASR_CENTRAL:-}" ] && [ -x "$ASR_CENTRAL" ] && return 0
  b=$work/build-msi-linux
  ASR_CENTRAL=$b/asr-central
  mkdir -p "$b" || return 1
  [ -f "$top/configure" ] || (cd "$top" && autoreconf -fi) >/dev/null 2>&1 || return 1
  [ -f "$b/Makefile" ] || (cd "$b" && "$top/configure" >configure.log 2>&1) || return 1
  make -C "$b" -j2 asr-central >"$b/make.log" 2>&1
}

top_srcdir=$top
top_builddir=$work/build-msi-linux
ASR_CENTRAL=${ASR_CENTRAL:-}
. "$top/tests/integration/lib.sh"
. "$top/tests/integration/uplinklib.sh"
uplink_init test-msi
trap 'msi_cleanup; uplink_cleanup; itest_cleanup' EXIT

ADDR=127.61.0.1
PORT=${ASR_TEST_MSI_PORT:-18990}
DATA=$WINEPREFIX/drive_c/ProgramData/asr-agent
PROG="$WINEPREFIX/drive_c/Program Files/asr-agent"
KEY='HKLM\SOFTWARE\asr-agent\Install'
SVCKEY='HKLM\SYSTEM\CurrentControlSet\Services\asr-agent'
EVKEY='HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\asr-agent'
COMMUNITY_SECRET=c0mmunity-s3cret-x

state() { wine64 sc query asr-agent 2>/dev/null | tr -d '\r' | awk '/STATE/ {print $4}'; }
msi() { wine64 msiexec "$@" >>"$TMPD/msiexec.out" 2>&1; }
winpath() { printf 'Z:%s' "$1" | tr / '\\'; } # Wine maps / to drive Z:
has_value() { wine64 reg query "$KEY" /v "$1" >/dev/null 2>&1; }

# wait_for SECONDS CMD...: polls CMD every second.
wait_for() {
  _n=$1
  shift
  while [ "$_n" -gt 0 ]; do
    "$@" && return 0
    sleep 1
    _n=$((_n - 1))
  done
  "$@"
}

# The product codes of the installed asr-agent products.
products() {
  wine64 reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null |
    tr -d '\r' | awk '/^HKEY/ {k = $0} /DisplayName.*asr-agent/ {n = split(k, a, "\\"); print a[n]}'
}

# Removes any installation we may have left (the products, the service, the data).
msi_reset() {
  for p in $(products); do
    msi /x "$p" /qn
  done
  wine64 sc delete asr-agent >/dev/null 2>&1
  wine64 reg delete 'HKLM\SOFTWARE\asr-agent' /f >/dev/null 2>&1
  rm -rf "$DATA" "$PROG"
}

msi_cleanup() {
  [ -n "${TMPD:-}" ] && msi_reset
  wineserver -k >/dev/null 2>&1
}

echo "# building the MSIs (0.9.0, 0.9.1) and the native asr-central"
build_msis || { echo "FAIL: scripts/win/build-msi.sh"; exit 1; }
build_central || { echo "FAIL: native asr-central build (see $work/build-msi-linux)"; exit 1; }
V1=$(winpath "$TMPD/asr-agent-0.9.0.msi")
V2=$(winpath "$TMPD/asr-agent-0.9.1.msi")
wineserver -k >/dev/null 2>&1 # our own prefix: nothing else runs in it
# a new prefix: let the first boot finish (its services hold the service database)
[ -d "$WINEPREFIX" ] || { wine64 wineboot -i >/dev/null 2>&1 && wineserver -w; }
wineserver -p # keep services alive between our commands
msi_reset

echo "# 1. a bad property fails the installation, which rolls back"
msi /i "$V1" /qn /l*v "$(winpath "$TMPD/failed.log")" ENDPOINT=ftp://central.example/ \
  SITE_TOKEN=st_0123456789abcdef0123456789abcdef
[ $? -ne 0 ] && ok "install with ENDPOINT=ftp://... fails" || not_ok "install with a bad ENDPOINT succeeded"
grep -aq 'ImportConfig' "$TMPD/failed.log" && ok "it failed at the configuration import" ||
  not_ok "it failed before the import (see $TMPD/failed.log)"
[ -z "$(state)" ] && ok "rolled back: no service" || not_ok "service left behind: $(state)"
[ ! -e "$PROG/asr-agent.exe" ] && ok "rolled back: no program" || not_ok "program left behind"
[ ! -e "$DATA/asr-agent.conf" ] && [ ! -e "$DATA/site-token" ] &&
  ok "rolled back: no configuration, no token" || not_ok "configuration or token left behind"
[ ! -e "$DATA" ] && ok "rolled back: no data folder" || not_ok "data folder left: $(ls "$DATA")"
! has_value SITE_TOKEN && ! has_value ENDPOINT && ok "rolled back: no registry values" ||
  not_ok "registry values left behind"

echo "# 1b. a configuration the service would refuse fails the installation, unchanged"
mkdir -p "$DATA"
printf 'secrets_file C:\\nonexistent\\secrets\n' >"$DATA/asr-agent.conf"
cp "$DATA/asr-agent.conf" "$TMPD/conf.seeded"
msi /i "$V1" /qn ENDPOINT=https://127.61.0.1:9 SITE_TOKEN=st_0123456789abcdef0123456789abcdef
[ $? -ne 0 ] && ok "install onto a configuration the service refuses fails" ||
  not_ok "install succeeded with a broken configuration"
check "configuration unchanged byte for byte" cmp -s "$TMPD/conf.seeded" "$DATA/asr-agent.conf"
[ ! -e "$DATA/site-token" ] && ok "no token left" || not_ok "token left behind"
ls "$DATA" | grep -q 'rollback' && not_ok "rollback copies left: $(ls "$DATA")" ||
  ok "no rollback copies left"
[ -z "$(state)" ] && [ ! -e "$PROG/asr-agent.exe" ] && ok "no service, no program" ||
  not_ok "service or program left behind"
rm -rf "$DATA"

echo "# 2. silent install with properties, the central down at first"
tls_ca ca
tls_cert ca srv "IP:$ADDR"
CENTRAL_DB=$TMPD/central.db
site_add acme
mkdir -p "$DATA"
cp "$TMPD/tls/ca.pem" "$DATA/ca.pem"
printf '# written before the installation\nca_file C:\\ProgramData\\asr-agent\\ca.pem\n' \
  >"$DATA/asr-agent.conf"
msi /i "$V1" /qn /l*v "$(winpath "$TMPD/install.log")" "ENDPOINT=https://$ADDR:$PORT" \
  "SITE_TOKEN=$SITE_TOKEN" SCAN_TARGETS=127.61.0.9 "COMMUNITY=public,$COMMUNITY_SECRET" \
  PROXY=none
check "msiexec /i /qn with properties" [ $? -eq 0 ]
# (the order, before WriteRegistryValues, is Windows Installer's script order: Wine runs
# standard actions at once and deferred custom actions later, so it cannot show it)
grep -aq 'LockInstallKey' "$TMPD/install.log" && ok "the installer's key locked (LockInstallKey)" ||
  not_ok "LockInstallKey did not run (see $TMPD/install.log)"
CONF=$(tr -d '\r' <"$DATA/asr-agent.conf" 2>/dev/null)
has_line() { printf '%s\n' "$CONF" | grep -qx "$1"; }
check "config: endpoint" has_line "endpoint https://$ADDR:$PORT"
check "config: scan_targets" has_line "scan_targets 127.61.0.9"
check "config: both communities" has_line "community $COMMUNITY_SECRET"
check "config: proxy" has_line "proxy none"
check "config: the line written before is kept" has_line 'ca_file C:\\ProgramData\\asr-agent\\ca.pem'
printf '%s\n' "$CONF" | grep -q "$SITE_TOKEN" && not_ok "site token in the configuration" ||
  ok "site token not in the configuration"
! has_value SITE_TOKEN && ! has_value COMMUNITY && ok "registry values deleted by the import" ||
  not_ok "registry values still there"
check "service RUNNING" wait_for 20 test "$(state)" = RUNNING
wine64 reg query "$EVKEY" /v EventMessageFile 2>/dev/null | tr -d '\r' |
  grep -qi 'Program Files\\asr-agent\\asr-agent.exe' && ok "event source: EventMessageFile" ||
  not_ok "event source not registered by the MSI (EventMessageFile)"
wine64 reg query "$EVKEY" /v TypesSupported 2>/dev/null | tr -d '\r' | grep -q '0x7' &&
  ok "event source: TypesSupported 7" || not_ok "event source: TypesSupported is not 7"
wine64 reg query "$SVCKEY" /v Start 2>/dev/null | tr -d '\r' | grep -q '0x2' &&
  ok "automatic start" || not_ok "start type is not automatic"
LOG=$DATA/asr-agent.log
check "enrolment retried while the central is down" \
  wait_for 30 grep -qs 'enrolment failed (exit 5): next try in' "$LOG"
[ -f "$DATA/site-token" ] && ok "token kept while not enrolled" || not_ok "token gone too early"

central_start "$ADDR" "$PORT" srv
check "enrolled once the central is up (token deleted)" \
  wait_for 60 test ! -e "$DATA/site-token"
check "agent log says enrolled" grep -q 'enrolment: enrolled' "$LOG"
ls "$DATA" | grep -q 'rollback' && not_ok "rollback copies left after the install" ||
  ok "rollback copies deleted (commit)"
"$ASR_CENTRAL" site list --db "$CENTRAL_DB" | awk '$1 == "acme" {print $3}' | grep -qx 1 &&
  ok "the central has the agent" || not_ok "the central has no agent for acme"

echo "# 3. repair and major upgrade keep the configuration and the database"
cp "$DATA/asr-agent.conf" "$TMPD/conf.before"
# (Wine's msiexec /fa fails before installing anything: REINSTALL=ALL is the same repair)
rm -f "$PROG/asr-agent.exe"
msi /i "$V1" REINSTALL=ALL REINSTALLMODE=vomus /qn
check "repair (REINSTALL=ALL REINSTALLMODE=vomus)" [ $? -eq 0 ]
check "repair: the deleted program is back" [ -f "$PROG/asr-agent.exe" ]
check "repair: configuration unchanged" cmp -s "$TMPD/conf.before" "$DATA/asr-agent.conf"
check "repair: service RUNNING" wait_for 20 test "$(state)" = RUNNING
msi /i "$V2" /qn SCAN_TARGETS=127.61.0.10
check "major upgrade to 0.9.1 with SCAN_TARGETS only" [ $? -eq 0 ]
CONF=$(tr -d '\r' <"$DATA/asr-agent.conf" 2>/dev/null)
check "upgrade: new scan_targets" has_line "scan_targets 127.61.0.10"
has_line "scan_targets 127.61.0.9" && not_ok "upgrade: old scan_targets kept" ||
  ok "upgrade: old scan_targets replaced"
check "upgrade: endpoint kept" has_line "endpoint https://$ADDR:$PORT"
check "upgrade: communities kept" has_line "community $COMMUNITY_SECRET"
check "upgrade: ca_file kept" has_line 'ca_file C:\\ProgramData\\asr-agent\\ca.pem'
check "upgrade: service RUNNING" wait_for 20 test "$(state)" = RUNNING
wine64 "$PROG/asr-agent.exe" status --format json --db 'C:\ProgramData\asr-agent\agent.db' \
  >"$TMPD/status.json" 2>"$TMPD/status.err"
grep -q '"agent_id": "[^"]' "$TMPD/status.json" && ok "upgrade: database kept (still enrolled)" ||
  not_ok "upgrade: enrolment lost"
wine64 reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null |
  tr -d '\r' | grep -q 'DisplayVersion.*0\.9\.1' && ok "upgrade: 0.9.1 registered" ||
  not_ok "upgrade: 0.9.1 not registered"

echo "# 4. secrets never on a command line nor in the agent's log"
wine64 reg query "$SVCKEY" /v ImagePath 2>/dev/null | tr -d '\r' >"$TMPD/imagepath"
grep -q 'asr-agent.exe"\{0,1\} run --service --config' "$TMPD/imagepath" &&
  ok "service command line" || not_ok "service command line (see $TMPD/imagepath)"
grep -q "$SITE_TOKEN\|$COMMUNITY_SECRET" "$TMPD/imagepath" && not_ok "secret in ImagePath" ||
  ok "no secret in the service's command line"
grep -a 'config import' "$TMPD/install.log" | grep -q "$SITE_TOKEN\|$COMMUNITY_SECRET" &&
  not_ok "secret on the import's command line" || ok "no secret on the import's command line"
grep -aq "$SITE_TOKEN\|$COMMUNITY_SECRET" "$LOG" && not_ok "secret in the agent's log" ||
  ok "no secret in the agent's log"

echo "# 5. uninstall removes the service and the program, keeps the data; PURGE=1 drops it"
msi /x "$V2" /qn
check "msiexec /x" [ $? -eq 0 ]
[ -z "$(state)" ] && ok "uninstall: service removed" || not_ok "uninstall: service left: $(state)"
[ ! -e "$PROG/asr-agent.exe" ] && ok "uninstall: program removed" || not_ok "uninstall: program left"
wine64 reg query "$EVKEY" >/dev/null 2>&1 && not_ok "uninstall: event source left" ||
  ok "uninstall: event source removed"
[ -f "$DATA/agent.db" ] && [ -f "$DATA/asr-agent.conf" ] && ok "uninstall: data kept" ||
  not_ok "uninstall: data lost"
msi /i "$V2" /qn
check "reinstall without properties (configuration kept)" [ $? -eq 0 ]
msi /x "$V2" /qn PURGE=1
check "msiexec /x PURGE=1" [ $? -eq 0 ]
[ ! -e "$DATA" ] && ok "PURGE=1 removed the data folder" || not_ok "PURGE=1 left $DATA"
[ -z "$(state)" ] && ok "no service left" || not_ok "service left: $(state)"

finish
