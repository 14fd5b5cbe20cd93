#!/bin/sh
# test_quickstart.sh: scripts/quickstart.sh as a new user runs it (with the programs of this
# build): every device asr-central received is listed, not a cut of them; the fleet and
# asr-central keep running afterwards with the commands to try and how to stop them; then
# `quickstart.sh stop` stops both and removes the work folder. Uses 127.60.0.x, the quick
# start's own addresses (port 1161 for the printers, 8443 for asr-central).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init quickstart
need_agent
need_sim
command -v openssl >/dev/null 2>&1 || skip "openssl missing"
command -v setsid >/dev/null 2>&1 || skip "setsid missing"
ASR_QUICKSTART_DIR="$TMPD/qs"
export ASR_QUICKSTART_DIR ASR_AGENT ASR_CENTRAL
unset ASR_AGENT_DB
QS="$top_srcdir/scripts/quickstart.sh"
O="$TMPD/out"

# stop whatever the quick start left, even when a check below fails
qs_cleanup()
{
  sh "$QS" stop >/dev/null 2>&1
  itest_cleanup
}
trap 'qs_cleanup' EXIT

answers()   # answers ADDRESS: the simulated printer answers SNMP
{
  snmpget -v2c -c public -t 0.5 -r 0 -On "$1:1161" 1.3.6.1.2.1.1.2.0 >/dev/null 2>&1
}
central_up()
{
  python3 -c 'import socket; socket.create_connection(("127.60.0.250", 8443), 1).close()' 2>/dev/null
}

run "$O" "$O.err" timeout 300 sh "$QS"
check_status "scripts/quickstart.sh" 0 "$RC"
[ "$RC" = 0 ] || show "$O.err"
check "asr-central's device list is shown whole: the 24 printers" python3 - "$O" <<'EOF'
import sys
t = open(sys.argv[1], encoding='utf-8', errors='replace').read()
part = t.split('== what asr-central received', 1)[1].split('== asr-agent status', 1)[0]
n = sum(1 for l in part.splitlines() if l.startswith('Quick start '))
if n != 24:
    print('#   %d device lines' % n)
sys.exit(0 if n == 24 else 1)
EOF
check "the fleet keeps answering after the script" answers 127.60.0.7
check "asr-central keeps listening after the script" central_up
check "the script says how to stop them" grep -q "quickstart.sh stop" "$O"
check "the script prints commands to try" grep -q 'status --db' "$O"
check "status from the printed command works" \
  "$ASR_AGENT" status --db "$ASR_QUICKSTART_DIR/agent.db" --format json

run "$O.stop" "$O.stop.err" sh "$QS" stop
check_status "scripts/quickstart.sh stop" 0 "$RC"
sleep 1
check "the fleet is stopped" sh -c '! snmpget -v2c -c public -t 0.5 -r 0 -On 127.60.0.7:1161 1.3.6.1.2.1.1.2.0 >/dev/null 2>&1'
check "asr-central is stopped" sh -c "! python3 -c 'import socket; socket.create_connection((\"127.60.0.250\", 8443), 1).close()' 2>/dev/null"
check "the work folder is removed" test ! -e "$ASR_QUICKSTART_DIR"
run "$O.stop2" "$O.stop2.err" sh "$QS" stop
check_status "a second stop says there is nothing to stop" 0 "$RC"

finish
