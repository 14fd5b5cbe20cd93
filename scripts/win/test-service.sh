#!/bin/sh
# test-service.sh: asr-agent.exe as a Windows service under Wine (issue 5 section 2).
#
#   scripts/win/test-service.sh [BUILD_DIR]     # BUILD_DIR holds the cross-built asr-agent.exe
#
# Installs the service with a minimal configuration in C:\ProgramData\asr-agent, starts it
# (`asr-agent service start`), checks the SCM says RUNNING and the log file appears in
# %ProgramData%\asr-agent, sends a reload (`asr-agent service reload`: the PARAMCHANGE
# control) and checks the log shows it, stops it (STOPPED), uninstalls it and checks it is gone. Uses its own
# Wine prefix (WINEPREFIX, default /tmp/win/wineprefix-test-service), created when missing.
# Exit 77 (skip) without wine64 or asr-agent.exe. Wine cannot prove real service accounts,
# UAC, or that the access lists are enforced: smoke-test those on Windows itself.
set -u

BUILD=${1:-${BUILD_DIR:-.}}
EXE=$BUILD/asr-agent.exe
PATH=/usr/lib/wine:$PATH
export PATH
WINEPREFIX=${WINEPREFIX:-/tmp/win/wineprefix-test-service}
WINEDEBUG=${WINEDEBUG:--all}
export WINEPREFIX WINEDEBUG

command -v wine64 >/dev/null 2>&1 || { echo "SKIP: no wine64"; exit 77; }
[ -f "$EXE" ] || { echo "SKIP: no $EXE (cross-build first)"; exit 77; }

fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
agent() { wine64 "$EXE" "$@"; }
state() { wine64 sc query asr-agent 2>/dev/null | tr -d '\r' | awk '/STATE/ {print $4}'; }

# waits up to $2 seconds for state $1
wait_state() {
  i=0
  while [ "$i" -lt "$2" ]; do
    [ "$(state)" = "$1" ] && return 0
    sleep 1
    i=$((i + 1))
  done
  return 1
}

cleanup() {
  agent service uninstall >/dev/null 2>&1
  wineserver -k >/dev/null 2>&1
}
trap cleanup EXIT

[ -d "$WINEPREFIX" ] || wine64 wineboot -i >/dev/null 2>&1
wineserver -p   # keep services alive between our commands
DATA=$WINEPREFIX/drive_c/ProgramData/asr-agent
mkdir -p "$DATA"
rm -f "$DATA"/asr-agent.log*
cat >"$DATA/asr-agent.conf" <<'CONF'
# minimal configuration for the service test: no targets, default schedule
log_level info
CONF
CONF='C:\ProgramData\asr-agent\asr-agent.conf'

agent config check "$CONF" >/dev/null 2>&1 && ok "config check" || fail "config check $CONF"

# on a console, run --service is refused (no service manager)
agent run --service --config "$CONF" >/dev/null 2>&1
[ $? -ne 0 ] && ok "run --service refused outside the SCM" || fail "run --service outside the SCM"

agent service install --config "$CONF" && ok "install" || fail "install"
agent service install --config "$CONF" >/dev/null 2>&1 && fail "second install" ||
  ok "second install refused"
# Wine's sc has no qc: read the service's registry key
KEY='HKLM\SYSTEM\CurrentControlSet\Services\asr-agent'
wine64 reg query "$KEY" /v Start 2>/dev/null | tr -d '\r' | grep -q '0x2' &&
  ok "automatic start" || fail "start type is not automatic"
wine64 reg query "$KEY" /v ImagePath 2>/dev/null | tr -d '\r' |
  grep -q '"[^"]*asr-agent.exe" run --service --config' && ok "quoted command line" ||
  fail "command line"
wine64 reg query 'HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\asr-agent' \
  2>/dev/null | grep -q EventMessageFile && ok "event source registered" ||
  fail "event source not registered"

agent service start && ok "start" || fail "start"
wait_state RUNNING 20 && ok "SCM says RUNNING" || fail "state $(state), not RUNNING"
# waits up to $2 seconds for the log to have a line matching $1
wait_log() {
  i=0
  while [ "$i" -lt "$2" ] && ! grep -qs "$1" "$LOGDIR/asr-agent.log"; do
    sleep 1
    i=$((i + 1))
  done
  grep -qs "$1" "$LOGDIR/asr-agent.log"
}
# the service's log is in the real %ProgramData%\asr-agent (no fallback: it must be there)
LOGDIR=$DATA
wait_log 'running: poll every' 20 && ok "log file written in ProgramData/asr-agent" ||
  fail "no 'running' line in $LOGDIR/asr-agent.log"
[ -f "$LOGDIR/agent.db" ] && ok "database in the data folder" || fail "no $LOGDIR/agent.db"

# reload: the PARAMCHANGE control (Wine's sc has no `control`: our own verb sends it)
agent service reload && ok "service reload" || fail "service reload"
wait_log 'reload: .*applied' 20 && ok "the log shows the reload" ||
  fail "no 'reload: ... applied' line in $LOGDIR/asr-agent.log"
[ "$(state)" = RUNNING ] && ok "still RUNNING after the reload" || fail "not RUNNING after reload"

agent service stop && ok "stop" || fail "stop"
[ "$(state)" = STOPPED ] && ok "SCM says STOPPED" || fail "state $(state), not STOPPED"
agent service reload >/dev/null 2>&1 && fail "reload of a stopped service" ||
  ok "reload of a stopped service fails"
grep -q 'stopping:' "$LOGDIR/asr-agent.log" && ok "clean stop logged" || fail "no 'stopping:' line"

# a broken configuration: start fails and says so
cp "$DATA/asr-agent.conf" "$DATA/good.conf"
echo 'poll_interval banana' >>"$DATA/asr-agent.conf"
agent service start >/dev/null 2>&1 && fail "start with a broken configuration" ||
  ok "start refused with a broken configuration"
grep -q 'not valid: not starting' "$LOGDIR/asr-agent.log" && ok "config error logged" ||
  fail "config error not in the log"
mv "$DATA/good.conf" "$DATA/asr-agent.conf"

agent service uninstall && ok "uninstall" || fail "uninstall"
wine64 sc query asr-agent >/dev/null 2>&1 && fail "service still there" || ok "service gone"
agent service stop >/dev/null 2>&1 && fail "stop after uninstall" || ok "stop after uninstall fails"
agent service reload >/dev/null 2>&1 && fail "reload after uninstall" ||
  ok "reload after uninstall fails"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
