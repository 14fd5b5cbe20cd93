#!/bin/sh
# test_outage.sh: the central is down for several "days": each day the agent polls and
# tries to upload; the upload fails (connection refused), says so, and keeps everything.
# Then the central comes back: one upload sends it all, and every reading arrives once, in
# order (faultserver.py in front of the central keeps a copy of every batch: the batch
# sequence grows, each device's reading times grow across batches, no reading is in two
# different batches), and the central's per-device readings equal the agent's.
# Addresses 127.52.5.x, ports 18650-18659.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init outage
need_cmd openssl python3
need_central
need_enroll
need_sim
NET=127.52.5
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"
DAYS=${OUTAGE_DAYS:-4}

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 mfp_waste
sim_start
tls_ca ca
tls_cert ca srv "IP:$NET.10"
tls_cert ca front "IP:$NET.11"
central_start $NET.10 18650 srv
site_add acme
fault_start $NET.11 18651 front --capture "$TMPD/cap"

run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.3
check_status "discover 3 printers" 0 "$RC"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$FAULT_URL" --site-token "$SITE_TOKEN" --ca-file "$CA"
check_status "enroll" 0 "$RC"
tick
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 30
check_status "upload before the outage" 0 "$RC"

# the outage: central and front down (connection refused)
fault_stop
central_stop
agent_status "$O.s0"
before=$(total_readings "$O.s0")
day=1
while [ $day -le "$DAYS" ]; do
  tick
  run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
  check_status "day $day: poll" 0 "$RC"
  run "$O.u" "$E.u" timeout 60 "$ASR_AGENT" upload --max-wait 2 --max-readings 4
  if [ "$RC" != 0 ] && not_crashed "$RC"; then ok "day $day: upload fails (exit $RC)"; else not_ok "day $day: upload exit $RC"; fi
  agent_status "$O.s$day"
  jcheck "day $day: status has the error and pending readings" "$O.s$day" \
    'd["uplink"]["last_error"] and d["uplink"]["pending_readings"] >= '"$((3 * day))"
  day=$((day + 1))
done
agent_status "$O.sd"
after=$(total_readings "$O.sd")
check "the agent kept every reading ($before -> $after, +3 a day)" test "$after" = "$((before + 3 * DAYS))"
if grep -Eqi 'connect|refused|unreachable|central|upload' "$E.u"; then ok "the failure says what happened"; else not_ok "the failure is not explained"; show "$E.u"; fi

# back
central_start $NET.10 18650 srv
fault_start $NET.11 18651 front --capture "$TMPD/cap2"
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 60 --max-readings 4
check_status "upload once the central is back" 0 "$RC"
[ "$RC" = 0 ] || show "$E.u"
agent_status "$O.sb"
central_devices "$O.cb"
check "central readings = agent readings, per device" readings_match "$O.sb" "$O.cb"
jcheck "nothing pending, no error" "$O.sb" \
  'd["uplink"]["pending_batches"] == 0 and d["uplink"]["pending_readings"] == 0 and not d["uplink"]["last_error"]'
check "total at the central = readings taken ($after)" test "$(total_readings "$O.cb")" = "$after"
python3 - "$TMPD/cap" "$FAULT_LOG" "$TMPD/cap2" <<'EOF' && ok "in order and once: batch ids grow, times grow per device, no reading in two batches" || not_ok "order or uniqueness broken"
import glob, gzip, json, os, sys
log = [json.loads(l) for l in open(sys.argv[2]) if '/v1/batches' in l]
seen = {}      # batch id -> readings
order = []     # batch ids in the order they were first sent
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.body'))) + sorted(glob.glob(os.path.join(sys.argv[3], '*.body'))):
    b = json.loads(gzip.decompress(open(f, 'rb').read()))
    rs = [(b['devices'][r['device']]['key'], r['t']) for r in b['readings']]
    if b['batch_id'] in seen:
        if seen[b['batch_id']] != rs:
            print('#   batch %s resent with other readings' % b['batch_id']); sys.exit(1)
        continue
    seen[b['batch_id']] = rs
    order.append(b['batch_id'])
seqs = [int(x.rsplit('-', 1)[1]) for x in order]
if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
    print('#   batches out of order: %s' % seqs); sys.exit(1)
last, allr = {}, set()
for bid in order:
    for k, t in seen[bid]:
        if (k, t) in allr:
            print('#   reading %s at %d in two batches' % (k, t)); sys.exit(1)
        allr.add((k, t))
        if t < last.get(k, 0):
            print('#   %s: reading %d after %d' % (k, t, last[k])); sys.exit(1)
        last[k] = t
print('#   %d batches (%s), %d readings, %d requests' % (len(order), seqs, len(allr), len(log)))
sys.exit(0 if order else 1)
EOF
finish
