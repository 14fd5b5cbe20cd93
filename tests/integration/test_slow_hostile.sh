#!/bin/sh
# test_slow_hostile.sh: hostile printers (tests/hostile_snmp.py) among snmpsim printers.
#   - a slow printer (every answer 0.4 s late, a table that never ends) mixed in a fleet:
#     discover and poll finish within the host deadline, the others are read, the slow one
#     is reported; a whole step's --deadline skips what it did not reach, and says so
#   - `asr-agent run` busy with the slow printer: WATCHDOG=1 keeps coming during the step,
#     SIGTERM ends it within 5 s
#   - a restarted daemon does not discover again at once (the schedule is in the database)
#   - a responder reporting a known printer's serial is a conflict (event, output), not a
#     move; a genuine move (old address silent) still moves
#   - answers from another port or address (with the right request id) are ignored
# Every command runs under `timeout` so that an agent that hangs fails instead of stalling.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

SIM_PORT=18871
NET=127.44.1
uplink_init slow_hostile
need_agent
need_sim
need_cmd python3 sqlite3

HOSTILE="$top_srcdir/tests/hostile_snmp.py"
O="$TMPD/o"
E="$TMPD/e"
SERIAL_A=LMC4410X0001 # colour_laser's serial
ENDLESS='1.3.6.1.2.1.25.3.2.1.3|4|Generic device|20000'
# 0.4 s per answer under a 0.5 s timeout: every request is answered "in time"
FAST="--port $SIM_PORT --timeout 500 --retries 0"
PFAST="--timeout 500 --retries 0" # poll: each printer's port is in the database

# hostile NAME ADDRESS ARGS...: starts a hostile responder (tracked), waits until it listens.
hostile()
{
  _n=$1
  _a=$2
  shift 2
  rm -f "$TMPD/$_n.ready"
  python3 "$HOSTILE" --listen "$_a:$SIM_PORT" --ready "$TMPD/$_n.ready" --lifetime 300 "$@" \
    >"$TMPD/$_n.log" 2>&1 &
  eval "PID_$_n=$!"
  pid_track $!
  _i=0
  while [ ! -f "$TMPD/$_n.ready" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
  [ -f "$TMPD/$_n.ready" ] || bail "hostile responder $_n did not start: $(cat "$TMPD/$_n.log")"
}

# stop_hostile NAME
stop_hostile()
{
  eval "pid_stop \"\$PID_$1\""
}

# elapsed CMD...: runs CMD (stdout $O, stderr $E) under timeout 30; RC and MS set.
elapsed()
{
  _t0=$(now_ms)
  timeout 30 "$@" >"$O" 2>"$E"
  RC=$?
  MS=$(($(now_ms) - _t0))
}

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 inkjet
sim_start

# ---- a slow printer in a fleet --------------------------------------------------------------
# fast at first, so that discovery saves it (its endless table stops at the walk bound)
hostile slow $NET.9 --recording "$RECDIR/mfp_waste.snmprec" --rows "$ENDLESS"
elapsed "$ASR_AGENT" discover $FAST --format json $NET.1-$NET.3 $NET.9
check_status "discover the fleet with the (still fast) fourth printer" 0 "$RC"
jcheck "four printers saved" "$O" 'd["printers"] == 4'
stop_hostile slow
hostile slow $NET.9 --recording "$RECDIR/mfp_waste.snmprec" --rows "$ENDLESS" --delay 0.4 \
  --count "$TMPD/slow.count"

elapsed "$ASR_AGENT" discover $FAST --format json $NET.1-$NET.3 $NET.9
check "slow printer: discover ends at the host deadline (8 s: 16 x 500 ms), not after 300 requests ($MS ms)" \
  test "$RC" -ne 124 -a "$MS" -lt 12000
jcheck "slow printer: the three others found" "$O" \
  'sum(1 for x in d["devices"] if x["ip"] in ("127.44.1.1", "127.44.1.2", "127.44.1.3")) == 3'
jcheck "slow printer: listed with the host deadline as its problem" "$O" \
  '"host deadline" in (dev_by(d["devices"], "ip", "127.44.1.9").get("problem") or "")'

elapsed "$ASR_AGENT" poll $PFAST
check "slow printer: poll ends at the host deadline ($MS ms, exit $RC)" \
  test "$RC" -eq 1 -a "$MS" -lt 12000
check "slow printer: poll read the three others" grep -q "polled 4 devices: 3 read, 1 failed" "$E"
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "slow printer: its failed poll says why" "$O.s" \
  '"host deadline" in dev_by(d["devices"], "ip", "127.44.1.9").get("last_failure", "")'

# a whole step's deadline: two hosts at a time, the slow one and silent addresses
elapsed "$ASR_AGENT" discover $FAST --no-save --format json --concurrency 2 --deadline 3s \
  $NET.9 $NET.100-$NET.119
check "--deadline 3s: discover stops in time ($MS ms)" test "$RC" -ne 124 -a "$MS" -lt 5000
check_status "--deadline 3s: not everything scanned is a failure" 1 "$RC"
jcheck "--deadline 3s: the addresses not scanned are counted" "$O" \
  'd["skipped"] > 0 and d["scanned"] + d["skipped"] == 21'
check "--deadline 3s: and named" grep -Eq "address(es)? not scanned \(deadline or stop\), from" "$E"
elapsed "$ASR_AGENT" poll $PFAST --concurrency 1 --deadline 2s
check "poll --deadline 2s: stops in time ($MS ms, exit $RC)" test "$RC" -eq 1 -a "$MS" -lt 4000
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "poll --deadline 2s: a printer not reached has a failed poll saying so" "$O.s" \
  'any("poll deadline (2 s) reached" in (x.get("last_failure") or "") for x in d["devices"])'

# ---- the daemon busy with the slow printer ----------------------------------------------------
# (the default host deadline, 16 x 900 ms, keeps the step busy for 14 s: long enough)
cat >"$TMPD/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode("utf-8", "replace").replace("\n", " ") + "\n")
PY
: >"$TMPD/msgs"
python3 "$TMPD/listen.py" "$TMPD/notify.sock" "$TMPD/msgs" &
pid_track $!
LISTEN_PID=$!
cat >"$TMPD/busy.conf" <<CONF
database $TMPD/busy.db
scan_targets $NET.9
snmp_port $SIM_PORT
snmp_timeout 900
snmp_retries 0
log_level info
CONF
sleep 0.3
echo 0 >"$TMPD/slow.count"
NOTIFY_SOCKET="$TMPD/notify.sock" WATCHDOG_USEC=1000000 \
  "$ASR_AGENT" run --config "$TMPD/busy.conf" >/dev/null 2>"$TMPD/busy.log" &
AGENT=$!
pid_track $AGENT
_i=0
while [ "$(cat "$TMPD/slow.count" 2>/dev/null || echo 0)" -lt 3 ] && [ $_i -lt 50 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
w0=$(grep -c '^WATCHDOG=1$' "$TMPD/msgs")
sleep 3
w1=$(grep -c '^WATCHDOG=1$' "$TMPD/msgs")
check "daemon: discovery of the slow printer under way ($(cat "$TMPD/slow.count") requests)" \
  test "$(cat "$TMPD/slow.count")" -ge 5
check "daemon: WATCHDOG=1 during the long step ($((w1 - w0)) in 3 s, every 0.5 s)" \
  test $((w1 - w0)) -ge 3
ta=$(now_ms)
kill -TERM $AGENT
_i=0
while kill -0 $AGENT 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
tb=$(now_ms)
if kill -0 $AGENT 2>/dev/null; then
  not_ok "daemon: SIGTERM during the step: still running after 10 s"
  kill -9 $AGENT
  wait $AGENT
else
  wait $AGENT
  rc=$?
  check "daemon: SIGTERM during the step: exit 0 within 5 s ($((tb - ta)) ms, exit $rc)" \
    test "$rc" -eq 0 -a $((tb - ta)) -lt 5000
fi
pid_untrack $AGENT
pid_stop "$LISTEN_PID"
stop_hostile slow

# ---- a restart resumes the schedule ----------------------------------------------------------
cat >"$TMPD/fleet.conf" <<CONF
database $DB
scan_targets $NET.1-3
snmp_port $SIM_PORT
snmp_timeout 500
snmp_retries 0
log_level info
CONF
T=1767225600 # 2026-01-01T00:00:00Z
for k in 1 2; do
  timeout 60 "$ASR_AGENT" run --config "$TMPD/fleet.conf" --test-clock "$((T + (k - 1) * 600))" \
    --test-until "$((T + (k - 1) * 600 + 60))" >/dev/null 2>"$TMPD/restart$k.log"
  echo "rc=$?" >>"$TMPD/restart$k.log"
done
check "restart: the first run discovers" grep -q 'discovery: exit' "$TMPD/restart1.log"
check "restart: the first run polls the known printers before discovering" \
  sh -c "grep -o 'poll: exit\|discovery: exit' '$TMPD/restart1.log' | head -n 1 | grep -q poll"
check "restart 10 minutes later: no discovery again (last one recorded)" \
  sh -c "! grep -q 'discovery: exit' '$TMPD/restart2.log'"
check "restart 10 minutes later: no poll again either (poll_interval 1h)" \
  sh -c "! grep -q 'poll: exit' '$TMPD/restart2.log'"

# ---- a serial clone ---------------------------------------------------------------------------
hostile clone $NET.20 --recording "$RECDIR/colour_laser.snmprec" \
  --set '1.3.6.1.2.1.1.5.0|4|impostor'
elapsed "$ASR_AGENT" discover $FAST --format json $NET.1-$NET.3 $NET.20
jcheck "clone: reported as a conflict in discover's output" "$O" \
  'd["conflicts"] == 1 and "not saved" in dev_by(d["devices"], "ip", "127.44.1.20").get("conflict", "")'
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "clone: the printer stays at its address" "$O.s" \
  "dev_by(d['devices'], 'serial', '$SERIAL_A').get('ip') == '$NET.1'"
jcheck "clone: nothing stored for the clone's address" "$O.s" \
  "dev_by(d['devices'], 'ip', '$NET.20') == {}"
jcheck "clone: status shows the conflict on the printer" "$O.s" \
  "'$NET.20' in (dev_by(d['devices'], 'serial', '$SERIAL_A').get('conflict') or '')"
check "clone: a serial_conflict event is stored" \
  test "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind = 'serial_conflict' AND detail LIKE '%$NET.20%'")" -eq 1
elapsed "$ASR_AGENT" discover $FAST --format json $NET.20
jcheck "clone scanned alone: the real one still answers (asked again): conflict" "$O" \
  'd["conflicts"] == 1'
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "clone scanned alone: the printer stays at its address" "$O.s" \
  "dev_by(d['devices'], 'serial', '$SERIAL_A').get('ip') == '$NET.1'"
elapsed "$ASR_AGENT" poll $PFAST "$SERIAL_A"
check_status "clone: the real printer is still polled" 0 "$RC"
stop_hostile clone

# a known printer at .21 starts answering with the serial of the one at .1: at the poll
hostile clone $NET.21 --recording "$RECDIR/colour_laser.snmprec" \
  --set '1.3.6.1.2.1.43.5.1.1.17.1|4|CLONE0021' --set '1.3.6.1.2.1.2.2.1.6.1|4x|02400000aa21'
elapsed "$ASR_AGENT" discover $FAST --format json $NET.21
jcheck "poll clone: first saved as a printer of its own" "$O" 'd["printers"] == 1'
stop_hostile clone
hostile clone $NET.21 --recording "$RECDIR/colour_laser.snmprec"
elapsed "$ASR_AGENT" poll $PFAST
check "poll clone: reported as an identity conflict" grep -q "$NET.21: identity conflict" "$E"
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "poll clone: the printer stays at its address" "$O.s" \
  "dev_by(d['devices'], 'serial', '$SERIAL_A').get('ip') == '$NET.1'"
stop_hostile clone

# two clones and the real one silent: still a conflict (they must not take turns)
hostile mover $NET.30 --recording "$RECDIR/no_serial.snmprec" --set '1.3.6.1.2.1.43.5.1.1.17.1|4|MOVE0001'
elapsed "$ASR_AGENT" discover $FAST --format json $NET.30
jcheck "move: a printer at .30 is saved" "$O" 'd["printers"] == 1 and d["conflicts"] == 0'
stop_hostile mover
hostile mover $NET.31 --recording "$RECDIR/no_serial.snmprec" --set '1.3.6.1.2.1.43.5.1.1.17.1|4|MOVE0001'
hostile twin $NET.32 --recording "$RECDIR/no_serial.snmprec" --set '1.3.6.1.2.1.43.5.1.1.17.1|4|MOVE0001'
elapsed "$ASR_AGENT" discover $FAST --format json $NET.31-$NET.32
jcheck "two clones at once: both conflicts" "$O" 'd["conflicts"] == 2'
stop_hostile twin
elapsed "$ASR_AGENT" discover $FAST --format json $NET.30-$NET.31
jcheck "genuine move (old address silent): no conflict" "$O" 'd["conflicts"] == 0'
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "genuine move: the printer is at its new address, one record" "$O.s" \
  "[x['ip'] for x in d['devices'] if x['serial'] == 'MOVE0001'] == ['$NET.31']"
stop_hostile mover

# ---- spoofed answers ----------------------------------------------------------------------------
SPOOF="--spoof-set 1.3.6.1.2.1.43.5.1.1.17.1|4|SPOOFED --spoof-set 1.3.6.1.2.1.1.5.0|4|spoofed --delay 0.15"
# shellcheck disable=SC2086
hostile port $NET.40 --recording "$RECDIR/inkjet.snmprec" --spoof-from "$NET.40:$((SIM_PORT + 1))" $SPOOF
# shellcheck disable=SC2086
hostile addr $NET.41 --recording "$RECDIR/inkjet.snmprec" --spoof-from "$NET.42:$SIM_PORT" $SPOOF
elapsed "$ASR_AGENT" discover $FAST --no-save --format json $NET.40-$NET.41
jcheck "spoof: both printers read" "$O" 'd["printers"] == 2'
jcheck "spoof: an answer from another port is ignored" "$O" \
  'dev_by(d["devices"], "ip", "127.44.1.40").get("serial") == "PIP750K42QX"'
jcheck "spoof: an answer from another address is ignored" "$O" \
  'dev_by(d["devices"], "ip", "127.44.1.41").get("serial") == "PIP750K42QX"'
check "spoof: and reported" grep -q "answers from another address or port ignored" "$E"
stop_hostile port
stop_hostile addr

[ "$ITEST_FAILS" -eq 0 ] || { show "$E"; tail -n 20 "$TMPD/busy.log" | sed 's/^/#   /'; }
finish
