#!/bin/sh
# test_crash.sh: kill -9 of the agent in the middle of an upload, many times. A slow
# faultserver.py front (a random delay before forwarding to asr-central and another after
# the central answered: the window between its commit and the agent's ack) makes the kills
# land mid-request. Each round polls (new readings), starts an upload and kills it after a
# random delay. At the end one clean upload, and the central holds exactly the readings the
# agent took: per device and in total, none lost, none twice.
# Addresses 127.52.6.x, ports 18660-18669. CRASH_ROUNDS=N (default 30).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init crash
need_cmd openssl python3
need_central
need_enroll
need_sim
NET=127.52.6
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"
ROUNDS=${CRASH_ROUNDS:-30}

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_start
tls_ca ca
tls_cert ca srv "IP:$NET.10"
tls_cert ca front "IP:$NET.11"
central_start $NET.10 18660 srv
site_add acme
fault_start $NET.11 18661 front --delay 0.05-0.5 --delay-after 0-0.5

run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.2
check_status "discover 2 printers" 0 "$RC"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$FAULT_URL" --site-token "$SITE_TOKEN" --ca-file "$CA"
check_status "enroll" 0 "$RC"
[ "$RC" = 0 ] || finish

# a random delay in [0.05, 1.25) s, from a seeded generator (CRASH_SEED to replay a run)
SEED=${CRASH_SEED:-$$}
echo "# CRASH_SEED=$SEED"
python3 -c 'import random,sys; random.seed(int(sys.argv[1])); print(" ".join("%.2f" % random.uniform(0.05, 1.25) for _ in range(int(sys.argv[2]))))' \
  "$SEED" "$ROUNDS" >"$TMPD/delays"
polls=0
killed=0
finished=0
crashed=0
for d in $(cat "$TMPD/delays"); do
  tick # a reading is unique per device and second
  run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
  [ "$RC" = 0 ] && polls=$((polls + 1))
  "$ASR_AGENT" upload --max-wait 30 --max-readings 3 >"$O.u" 2>"$E.u" &
  up=$!
  sleep "$d"
  kill -9 "$up" 2>/dev/null
  wait "$up" 2>/dev/null
  rc=$?
  if [ "$rc" = 0 ]; then
    finished=$((finished + 1))
  elif [ "$rc" = 137 ]; then
    killed=$((killed + 1))
  elif ! not_crashed "$rc"; then
    crashed=$((crashed + 1))
    show "$E.u"
  fi
done
check "$ROUNDS rounds: $polls polls, $killed kills, $finished uploads finished first" test "$polls" = "$ROUNDS"
check "no upload died of a signal other than our kill" test "$crashed" = 0
agent_status "$O.s1"
check_status "status after the kills" 0 "$RC"

run "$O.u" "$E.u" timeout 180 "$ASR_AGENT" upload --max-wait 60
check_status "a clean upload at the end" 0 "$RC"
[ "$RC" = 0 ] || show "$E.u"
agent_status "$O.s"
central_devices "$O.c"
check "central readings = agent readings, per device" readings_match "$O.s" "$O.c"
jcheck "the agent took 1 + $polls readings of each printer" "$O.s" \
  '(all(x["readings"] == '"$((polls + 1))"' for x in d["devices"]) and len(d["devices"]) == 2) or print("#  ", [(x["serial"], x["readings"]) for x in d["devices"]])'
check "total at the central: $((2 * (polls + 1))) readings exactly" \
  test "$(total_readings "$O.c")" = "$((2 * (polls + 1)))"
jcheck "nothing pending" "$O.s" 'd["uplink"]["pending_batches"] == 0 and d["uplink"]["pending_readings"] == 0'
python3 - "$FAULT_LOG" <<'EOF'
import collections, json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '/v1/batches' in l]
c = collections.Counter(x['batch_id'] for x in r)
print('#   %d batch requests, %d distinct batches, %d sent more than once (the commit/ack window)'
      % (len(r), len(c), sum(1 for v in c.values() if v > 1)))
EOF
n=$(python3 -c 'import collections,json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if "/v1/batches" in l]; print(sum(1 for v in collections.Counter(x["batch_id"] for x in r).values() if v > 1))' "$FAULT_LOG")
check "some kills landed after the central's commit and before the ack ($n batches resent)" test "$n" -ge 1
finish
