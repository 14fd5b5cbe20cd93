#!/bin/sh
# test_poll_status.sh: discover three printers on 127.40.1.x, poll all / by serial / by
# address and watch the reading counts; kill the simulator: poll exits 1 and status shows
# the failures with a reason while keeping the last good supplies; a printer that moves to
# another address keeps its identity; a different printer at a known address is new; a
# Sharp MFP's vendor billing counters and alert table are read live, its meters stored.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init poll_status
need_agent
need_sim
need_cmd sqlite3
NET=127.40.1
sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 no_serial
sim_add $NET.9 quirk_sharp_meters
sim_start
O="$TMPD/out"
E="$TMPD/err"
OPTS="--timeout 500 --retries 1"

readings()   # readings FILE KEY VALUE -> prints the readings count
{
  python3 - "$@" 2>/dev/null <<'EOF' || echo -1000
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
for x in d.get('devices', []):
    if x.get(sys.argv[2]) == sys.argv[3] and isinstance(x.get('readings'), int):
        print(x['readings'])
        break
else:
    print(-1000)  # missing: a number, so that the checks fail instead of the shell
EOF
}

run "$O.d" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.5
check_status "discover $NET.1-5" 0 "$RC"
jcheck "3 printers" "$O.d" 'd["printers"] == 3'
run "$O.s0" "$E" "$ASR_AGENT" status --format json
check_status "status" 0 "$RC"
jcheck "3 devices stored" "$O.s0" 'len(d["devices"]) == 3'
jcheck "the printer without serial is stored (keyed by MAC)" "$O.s0" \
  'dev_by(d["devices"], "mac", "02:40:11:00:00:0e").get("ip") == "127.40.1.3"'
r_colour0=$(readings "$O.s0" serial LMC4410X0001)
r_mono0=$(readings "$O.s0" serial OSM220E7731)

# poll all
tick # a reading is unique per device and second
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS
check_status "poll (all)" 0 "$RC"
run "$O.s1" "$E" "$ASR_AGENT" status --format json
r_colour1=$(readings "$O.s1" serial LMC4410X0001)
r_mono1=$(readings "$O.s1" serial OSM220E7731)
check "poll all: colour laser readings $r_colour0 -> $r_colour1 (+1)" \
  test "$r_colour1" = "$((r_colour0 + 1))"
check "poll all: mono laser readings $r_mono0 -> $r_mono1 (+1)" test "$r_mono1" = "$((r_mono0 + 1))"
jcheck "status: last_good_poll set, age_seconds small" "$O.s1" \
  'all(x.get("last_good_poll") and 0 <= x.get("age_seconds", -1) < 120 for x in d["devices"])'
jcheck "status: supplies of the last reading" "$O.s1" \
  'sup(dev_by(d["devices"], "serial", "LMC4410X0001"), 1)["percent"] == 60'

# poll by serial, then by address
tick # a reading is unique per device and second
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS LMC4410X0001
check_status "poll LMC4410X0001 (by serial)" 0 "$RC"
run "$O.s2" "$E" "$ASR_AGENT" status --format json
check "poll by serial: colour laser +1" test "$(readings "$O.s2" serial LMC4410X0001)" = "$((r_colour1 + 1))"
check "poll by serial: mono laser unchanged" test "$(readings "$O.s2" serial OSM220E7731)" = "$r_mono1"
tick # a reading is unique per device and second
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS $NET.2
check_status "poll $NET.2 (by address)" 0 "$RC"
run "$O.s3" "$E" "$ASR_AGENT" status --format json
check "poll by address: mono laser +1" test "$(readings "$O.s3" serial OSM220E7731)" = "$((r_mono1 + 1))"
check "poll by address: colour laser unchanged" \
  test "$(readings "$O.s3" serial LMC4410X0001)" = "$((r_colour1 + 1))"
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS NO-SUCH-SERIAL
if [ "$RC" = 1 ] || [ "$RC" = 2 ]; then ok "poll of an unknown device -> exit $RC (1 or 2)"; else not_ok "poll of an unknown device -> exit $RC"; fi
check "the unknown device is named" grep -q "NO-SUCH-SERIAL" "$E"

# a Sharp MFP with vendor billing counters and an alert table, found and polled live: its
# meters (Printer-MIB, and the vendor's fetched by GET after the walk) and its alerts are
# read, and the meters stored with each poll (asr-agent meters: first and last read)
run "$O.d9" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.9
check_status "discover the Sharp MFP at $NET.9" 0 "$RC"
jcheck "discover: the Sharp's vendor meters and its 3 alerts (2 critical)" "$O.d9" \
  '[(m["name"], m["value"], m["source"]) for m in dev_by(d["devices"], "serial", "SHZ3071M0042")["meters"] if m["name"] in ("black", "color", "copy_black")] == [("black", 180696, "Sharp"), ("color", 50762, "Sharp"), ("copy_black", 60208, "Sharp")] and sum(a["critical"] for a in dev_by(d["devices"], "serial", "SHZ3071M0042")["alerts"]) == 2'
tick # a reading is unique per device and second
run "$O.p9" "$E" "$ASR_AGENT" poll $OPTS SHZ3071M0042
check_status "poll the Sharp MFP by serial" 0 "$RC"
run "$O.m9" "$E" "$ASR_AGENT" meters --format json
check_status "asr-agent meters" 0 "$RC"
jcheck "meters: 7 of the Sharp, each read at discover and at the poll, nothing flagged" "$O.m9" \
  'len([m for m in d["meters"] if m["device"] == "serial:SHZ3071M0042" and m["start_t"] < m["end_t"] and m["usage"] == 0 and m["flagged"] == 0]) == 7'
jcheck "meters: the Sharp's print_total and the Printer-MIB counter" "$O.m9" \
  'sorted((m["meter"], m["end"]) for m in d["meters"] if m["device"] == "serial:SHZ3071M0042" and m["meter"] in ("print_total", "marker.1")) == [("marker.1", 231458), ("print_total", 171250)]'
check "alerts: the Sharp's 3 alerts tracked, open, their index reuse-proof keys stored" \
  test "$(sqlite3 "$DB" "SELECT count(*) FROM alerts WHERE cleared_at = 0")" = 3
check "alerts: toner empty is an event at once (once, across discover and poll)" \
  test "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind LIKE 'alert:%' AND detail LIKE '%markerTonerEmpty%'")" = 1
check "alerts: the jam is not an event yet (it must persist 10 minutes), the warning never" \
  test "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind LIKE 'alert%'")" = 1

# another process holds the database's write lock: poll reads the printers but cannot
# store, says the database is locked and exits 4 (asr-agent(8)); nothing is lost
if db_write_lock "$DB" 40; then
  tick
  t0=$(now_ms)
  run "$O.p" "$E" timeout 60 "$ASR_AGENT" poll $OPTS
  t1=$(now_ms)
  db_unlock
  check_status "poll with the database write-locked -> exit 4" 4 "$RC"
  check "the message says 'locked'" grep -qi "locked" "$E"
  check "the lock is reported once, not per printer" test "$(grep -ci "locked" "$E")" = 1
  if [ $((t1 - t0)) -lt 15000 ]; then ok "gave up in $((t1 - t0)) ms (one busy timeout, < 15 s)"; else not_ok "took $((t1 - t0)) ms (>= 15 s)"; fi
  run "$O.sl" "$E" "$ASR_AGENT" status --format json
  check "readings unchanged after the locked poll" \
    test "$(readings "$O.sl" serial OSM220E7731)" = "$((r_mono1 + 1))"
else
  not_ok "could not take the write lock"
fi

# the simulator dies: poll fails with a reason, the last good reading stays
sim_kill
t0=$(now_ms)
tick # a reading is unique per device and second
run "$O.p" "$E" timeout 60 "$ASR_AGENT" poll $OPTS
t1=$(now_ms)
check_status "poll with every printer silent -> exit 1" 1 "$RC"
if [ $((t1 - t0)) -lt 8000 ]; then ok "silent poll took $((t1 - t0)) ms (< 8 s)"; else not_ok "silent poll took $((t1 - t0)) ms (>= 8 s)"; fi
run "$O.s4" "$E" "$ASR_AGENT" status --format json
check_status "status after failed polls" 0 "$RC"
jcheck "failed_polls = 1 for every device" "$O.s4" 'all(x.get("failed_polls") == 1 for x in d["devices"])'
jcheck "last_failure gives a reason" "$O.s4" \
  'all(isinstance(x.get("last_failure"), str) and len(x["last_failure"]) > 3 for x in d["devices"])'
jcheck "readings unchanged by failures" "$O.s4" \
  'dev_by(d["devices"], "serial", "OSM220E7731")["readings"] == '"$((r_mono1 + 1))"
jcheck "last good supplies kept" "$O.s4" \
  'sup(dev_by(d["devices"], "serial", "LMC4410X0001"), 1)["percent"] == 60'
tick # a reading is unique per device and second
run "$O.p" "$E" timeout 60 "$ASR_AGENT" poll $OPTS
run "$O.s5" "$E" "$ASR_AGENT" status --format json
jcheck "a second failure counts 2" "$O.s5" 'all(x.get("failed_polls") == 2 for x in d["devices"])'
run "$O.t" "$E" "$ASR_AGENT" status --format table
check_status "status --format table after failures" 0 "$RC"
check "status table clean" no_control "$O.t"
check "the table shows the last poll FAILED, not only the last good one" grep -q "ago FAILED" "$O.t"
check "the table says how many polls failed and why" grep -q "! 2 failed polls in a row: " "$O.t"

# moved: the colour laser now answers at .20; an inkjet took its old address .1
sim_reset
sim_add $NET.1 inkjet
sim_add $NET.20 colour_laser
sim_start
tick # a reading is unique per device and second
run "$O.d2" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1 $NET.20
check_status "rediscover $NET.1 and $NET.20" 0 "$RC"
run "$O.s6" "$E" "$ASR_AGENT" status --format json
jcheck "5 devices now (the inkjet is new; the Sharp MFP)" "$O.s6" 'len(d["devices"]) == 5'
jcheck "the colour laser is one device, at its new address" "$O.s6" \
  '[x["ip"] for x in d["devices"] if x["serial"] == "LMC4410X0001"] == ["127.40.1.20"]'
jcheck "the colour laser kept its history (readings grew)" "$O.s6" \
  'dev_by(d["devices"], "serial", "LMC4410X0001")["readings"] == '"$((r_colour1 + 2))"
jcheck "the inkjet at the old address is its own device" "$O.s6" \
  'dev_by(d["devices"], "serial", "PIP750K42QX").get("ip") == "127.40.1.1" and dev_by(d["devices"], "serial", "PIP750K42QX").get("readings") == 1'
tick # a reading is unique per device and second
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS LMC4410X0001
check_status "poll the moved printer by serial" 0 "$RC"
run "$O.s7" "$E" "$ASR_AGENT" status --format json
jcheck "a good poll resets failed_polls" "$O.s7" \
  'dev_by(d["devices"], "serial", "LMC4410X0001")["failed_polls"] == 0'
jcheck "the mono laser still failing, not forgotten" "$O.s7" \
  'dev_by(d["devices"], "serial", "OSM220E7731")["failed_polls"] == 2'

# every command honours the test clock (tests step it instead of sleeping)
run "$O.p" "$E" env ASR_TEST_CLOCK=2100-01-01T00:00:00Z "$ASR_AGENT" poll $OPTS LMC4410X0001
check_status "poll on the test clock" 0 "$RC"
run "$O.s8" "$E" env ASR_TEST_CLOCK=2100-01-01T00:00:30Z "$ASR_AGENT" status --format json
jcheck "poll and status read ASR_TEST_CLOCK" "$O.s8" \
  'dev_by(d["devices"], "serial", "LMC4410X0001")["last_good_poll"].startswith("2100-01-01T00:00:0") and 25 <= dev_by(d["devices"], "serial", "LMC4410X0001")["age_seconds"] <= 35'
run "$O.p" "$E" env ASR_TEST_CLOCK=soon "$ASR_AGENT" status
check_status "an ASR_TEST_CLOCK that does not parse -> exit 2" 2 "$RC"
check "the message names ASR_TEST_CLOCK" grep -q ASR_TEST_CLOCK "$E"

finish
