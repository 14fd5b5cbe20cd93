#!/bin/sh
# test_uplink.sh: end to end on loopback: three snmpsim printers, the agent, and asr-central
# over HTTPS with a test CA, reached through faultserver.py (a pass-through TLS proxy that
# injects faults when restarted with fault options). Enrol, poll, upload: the central shows
# every reading, its per-device "readings" equal the agent's, and the meters the agent read
# (asr-central meters = asr-agent meters); the secret never printed and
# the database 0600; 500 then success (backoff), 503 with Retry-After (the agent waits as
# told), a connection closed mid-request, 413 (the batch is split), 400 (the batch is kept
# aside, never deleted), a replayed and a forged request made with the agent's own secret
# (read from its database) refused, and 401 (uploads stop, status says so).
# Addresses 127.52.2.x, ports 18620-18629.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init uplink
need_cmd openssl python3
need_central
need_enroll
need_sim
NET=127.52.2
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 inkjet
sim_start
tls_ca ca
tls_cert ca srv "IP:$NET.10,DNS:central.test"
tls_cert ca front "IP:$NET.11"
central_start $NET.10 18620 srv
site_add acme
fault_start $NET.11 18621 front
FRONT="$FAULT_URL"

# restart_front ARGS...: the front again, with fault options (its log starts afresh)
restart_front()
{
  fault_stop
  rm -f "$TMPD/run/fault-18621.jsonl"
  fault_start $NET.11 18621 front "$@"
}

# upload_ok TEXT: upload, expect exit 0 and an agent/central agreement
upload_ok()
{
  run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 60
  check_status "$1: upload" 0 "$RC"
  [ "$RC" = 0 ] || show "$E.u"
  agent_status "$O.as"
  central_devices "$O.cd"
  check "$1: central readings = agent readings, per device" readings_match "$O.as" "$O.cd"
  jcheck "$1: nothing pending" "$O.as" \
    'd["uplink"]["pending_batches"] == 0 and d["uplink"]["pending_readings"] == 0'
}

# poll_once: one more reading of every printer (a reading is unique per device and second)
poll_once()
{
  tick
  run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
  [ "$RC" = 0 ] || {
    not_ok "poll failed (exit $RC)"
    show "$E.p"
  }
}

run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.3
check_status "discover 3 printers" 0 "$RC"

# enrolment
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$FRONT" --site-token "$SITE_TOKEN" --ca-file "$CA"
check_status "enroll" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"
agent_status "$O.s0"
jcheck "status: uplink endpoint and agent id" "$O.s0" \
  'd["uplink"]["endpoint"].startswith("'"$FRONT"'") and d["uplink"]["agent_id"].startswith("ag_")'
SECRET=$(agent_secret | cut -d' ' -f2)
AGENT_ID=$(agent_secret | cut -d' ' -f1)
check "the agent's secret is in its database" test -n "$SECRET"
if [ -n "$SECRET" ] && cat "$O.e" "$E.e" "$O.s0" "$O.s0.err" | grep -q "$SECRET"; then
  not_ok "the secret was printed"
else
  ok "the secret is not printed by enroll or status"
fi
check "the database is 0600" test "$(stat -c %a "$DB")" = 600
grep -q "$SITE_TOKEN" "$O.s0" && not_ok "status shows the site token" || ok "status does not show the site token"

# poll, upload, compare
poll_once
poll_once
upload_ok "first upload"
jcheck "status: last_upload set, no error" "$O.as" \
  'd["uplink"]["last_upload"] and not d["uplink"]["last_error"] and not d["uplink"]["stopped"]'
jcheck "3 devices at the central, site acme, supplies" "$O.cd" \
  'len(d["devices"]) == 3 and all(x["site"] == "acme" and x["supplies"] for x in d["devices"])'
jcheck "the colour laser's yellow/magenta levels reached the central" "$O.cd" \
  'len(dev_by(d["devices"], "serial", "LMC4410X0001")["supplies"]) >= 5'
python3 - "$O.as" "$O.cd" <<'EOF' && ok "supplies at the central = the agent's (level, max, percent)" || not_ok "supplies differ between agent and central"
import json, sys
a = {x['serial']: x for x in json.load(open(sys.argv[1]))['devices']}
c = {x['serial']: x for x in json.load(open(sys.argv[2]))['devices']}
bad = 0
for s, x in a.items():
    av = sorted((y['index'], y.get('level'), y.get('max'), y.get('percent')) for y in x['supplies'])
    cv = sorted((y['index'], y.get('level'), y.get('max'), y.get('percent')) for y in c.get(s, {}).get('supplies', []))
    if [v[:3] for v in av] != [v[:3] for v in cv]:
        print('#   %s agent %s central %s' % (s, av, cv)); bad = 1
sys.exit(bad)
EOF

# meters (protocol 2): what the agent read at its polls reaches the central, per device
# and meter, and `asr-central meters` reports the same first and last reads as the agent
run "$O.am" "$O.am.err" "$ASR_AGENT" meters --format json
check_status "asr-agent meters" 0 "$RC"
run "$O.cm" "$O.cm.err" "$ASR_CENTRAL" meters --site acme --from 2000-01-01 --format json --db "$CENTRAL_DB"
check_status "asr-central meters --site acme" 0 "$RC"
jcheck "the colour laser's page counter reached the central as a meter (48211, one read a poll)" "$O.cm" \
  'any(m["device"] == "serial:LMC4410X0001" and m["end"] == 48211 and m["reads"] >= 2 and m["usage"] == 0 for m in d["meters"])'
python3 - "$O.am" "$O.cm" <<'EOF2' && ok "central meters = agent meters (device, meter, unit, start, end)" || not_ok "meters differ between agent and central"
import json, sys
key = lambda m: (m['device'], m['meter'], m['unit'], m['start'], m['end'])
a = sorted(key(m) for m in json.load(open(sys.argv[1]))['meters'])
c = sorted(key(m) for m in json.load(open(sys.argv[2]))['meters'])
if not a or a != c:
    print('#   agent   %s\n#   central %s' % (a, c)); sys.exit(1)
EOF2
run "$O.cc" "$O.cc.err" "$ASR_CENTRAL" meters --from 2000-01-01 --format csv --db "$CENTRAL_DB"
check "asr-central meters --format csv lists the three printers' meters" \
  test "$(grep -c 'serial:' "$O.cc")" -ge 3

run "$O.u" "$E.u" "$ASR_AGENT" upload --max-wait 10
check_status "upload with nothing new" 0 "$RC"

# 500 twice, then success with backoff
poll_once
restart_front --fail 2 --status 500
t0=$(now_ms)
upload_ok "after two 500s"
t1=$(now_ms)
python3 - "$FAULT_LOG" <<'EOF' && ok "500, 500, then 200 with growing pauses" || not_ok "500 retries: wrong sequence"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '/v1/batches' in l]
acts = [x['action'] for x in r]
print('#   %s, pauses %s' % (acts, [round(r[i + 1]['t'] - r[i]['end'], 2) for i in range(len(r) - 1)]))
sys.exit(0 if acts[:3] == ['fault 500', 'fault 500', 'forward 200'] and r[1]['t'] - r[0]['end'] > 0.05 else 1)
EOF

# 503 with Retry-After: 3
poll_once
restart_front --fail 1 --status 503 --retry-after 3
upload_ok "after a 503 with Retry-After 3"
python3 - "$FAULT_LOG" <<'EOF' && ok "the agent waited 3 s as told (Retry-After)" || not_ok "Retry-After not honoured"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '/v1/batches' in l]
w = r[1]['t'] - r[0]['end'] if len(r) > 1 else -1
print('#   waited %.2f s' % w)
sys.exit(0 if r[0]['action'] == 'fault 503' and 2.9 <= w < 20 else 1)
EOF

# the connection closes mid-request
poll_once
restart_front --fail 1 --close
upload_ok "after a connection closed mid-request"

# 413: split and send the halves
poll_once
poll_once
restart_front --fail 1 --status 413
upload_ok "after a 413"
python3 - "$FAULT_LOG" <<'EOF' && ok "413: the batch was split (smaller bodies followed)" || not_ok "413: no split seen"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '/v1/batches' in l]
print('#   %s' % [(x['action'], x['len'], x['batch_id']) for x in r])
halves = set(x['batch_id'] for x in r[1:] if x['status'] == 200)
sys.exit(0 if r[0]['status'] == 413 and len(halves) >= 2 and all(x['len'] < r[0]['len'] for x in r[1:]) else 1)
EOF

# replay and forgery with the agent's own credentials: refused, nothing stored
python3 "$ASRLOAD" batch --agent "$AGENT_ID" --seq 999999 --devices 1 --readings 1 --prefix RP >"$TMPD/rp.json"
for how in "--skew -3600:replayed (an hour-old timestamp)" "--bad-sig:forged (another key)"; do
  # shellcheck disable=SC2086
  python3 "$ASRLOAD" send "$CENTRAL_URL" --ca "$CA" --agent "$AGENT_ID" --secret "$SECRET" \
    --json "$TMPD/rp.json" --gzip ${how%%:*} >"$O.rp" 2>&1
  jcheck "${how#*:} request -> 401" "$O.rp" 'd["status"] == 401 or print("#  ", d)'
done
central_devices "$O.cd"
jcheck "nothing of them stored" "$O.cd" 'not [x for x in d["devices"] if x["serial"].startswith("RP")]'
python3 "$ASRLOAD" send "$CENTRAL_URL" --ca "$CA" --agent "$AGENT_ID" --secret "$SECRET" \
  --json "$TMPD/rp.json" --gzip >"$O.rp" 2>&1
jcheck "control: the same request signed now with that secret -> 200" "$O.rp" 'd["status"] == 200'

# 400: the batch is kept aside with the reason, never deleted
poll_once
restart_front --fail 1 --status 400
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 20
if [ "$RC" != 0 ]; then ok "upload after a 400 -> exit $RC (not 0)"; else not_ok "upload after a 400 -> exit 0"; fi
agent_status "$O.as"
jcheck "a 400 batch is held, with the reason" "$O.as" \
  'd["uplink"]["held_batches"] >= 1 and d["uplink"]["last_error"]'
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 20
agent_status "$O.as2"
jcheck "the held batch is still held (not resent, not deleted)" "$O.as2" 'd["uplink"]["held_batches"] >= 1'

# 401: uploads stop, status says so
poll_once
restart_front --fail 100 --status 401
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 20
if [ "$RC" != 0 ]; then ok "upload answered 401 -> exit $RC"; else not_ok "upload answered 401 -> exit 0"; fi
agent_status "$O.as"
jcheck "status: stopped, with the reason" "$O.as" 'd["uplink"]["stopped"] and d["uplink"]["last_error"]'
n401=$(grep -c '/v1/batches' "$FAULT_LOG")
check "401 is not retried ($n401 request)" test "$n401" = 1
finish
