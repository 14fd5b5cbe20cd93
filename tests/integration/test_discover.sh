#!/bin/sh
# test_discover.sh: one snmpsimd serves our recordings on 127.40.0.1-7; discover the range
# in json, csv and table; printers counted right; the router hidden unless --all; serials;
# --no-save leaves no database; a saved database is listed by status; communities are
# tried in order and the one that answered is remembered for poll; nothing answering -> 5.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init discover
need_agent
need_sim
NET=127.40.0
sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 inkjet
sim_add $NET.4 mfp_waste
sim_add $NET.5 hostile_notprinter
sim_add $NET.6 no_serial
sim_add $NET.7 quirk_xerox_pn secret2
sim_start
O="$TMPD/out"
E="$TMPD/err"
OPTS="--timeout 500 --retries 1"
RANGE="$NET.1-$NET.10"

# --- JSON, --no-save ---
run "$O.json" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $OPTS $RANGE
check_status "discover --no-save --format json $RANGE" 0 "$RC"
check "JSON output is valid" valid_json "$O.json"
jcheck "scanned = 10" "$O.json" 'd["scanned"] == 10'
jcheck "responded = 6 (5 printers + the router; .7 wants another community)" "$O.json" \
  'd["responded"] == 6'
jcheck "printers = 5" "$O.json" 'd["printers"] == 5'
jcheck "5 devices listed, the router hidden" "$O.json" \
  'len(d["devices"]) == 5 and all(x["ip"] != "127.40.0.5" for x in d["devices"])'
jcheck "serials of the 4 demo printers" "$O.json" \
  'set(x["serial"] for x in d["devices"]) >= {"LMC4410X0001", "OSM220E7731", "PIP750K42QX", "SMXZ60600007"}'
jcheck "each device at its address" "$O.json" \
  'dev_by(d["devices"], "serial", "OSM220E7731")["ip"] == "127.40.0.2"'
jcheck "printer without serial found with its MAC" "$O.json" \
  'dev_by(d["devices"], "ip", "127.40.0.6")["mac"] == "02:40:11:00:00:0e"'
jcheck "supplies read during discovery (colour laser: 10)" "$O.json" \
  'len(dev_by(d["devices"], "serial", "LMC4410X0001")["supplies"]) == 10'
jcheck "page count read during discovery" "$O.json" \
  'dev_by(d["devices"], "serial", "OSM220E7731")["page_count"] == 5123456789'
jcheck "devices listed in address order" "$O.json" \
  '[x["ip"] for x in d["devices"]] == sorted([x["ip"] for x in d["devices"]], key=lambda a: [int(p) for p in a.split(".")])'
check "--no-save leaves no database" test ! -e "$DB"

# --- --all shows the router ---
run "$O.all" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --all --format json $OPTS $RANGE
check_status "discover --all" 0 "$RC"
jcheck "--all lists the router too (6 devices)" "$O.all" \
  'len(d["devices"]) == 6 and dev_by(d["devices"], "ip", "127.40.0.5").get("sys_name") == "edge-rtr-1"'
jcheck "--all still counts 5 printers" "$O.all" 'd["printers"] == 5'

# --- CSV ---
run "$O.csv" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format csv $OPTS $RANGE
check_status "discover --format csv" 0 "$RC"
check "CSV parses: a header, then one row per supply (as many as the JSON lists), all as wide" \
  python3 - "$O.csv" "$O.json" <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], encoding='utf-8', newline='')))
rows = [r for r in rows if r]
devs = json.load(open(sys.argv[2]))['devices']
want = 1 + sum(max(1, len(d['supplies'])) for d in devs)
h = rows[0]
ok = len(rows) == want and len(set(len(r) for r in rows)) == 1
# each supply row carries its printer and its own supply: the colour laser's 10 supplies
colour = [r for r in rows[1:] if r[h.index('serial')] == 'LMC4410X0001']
ok = ok and len(colour) == 10 and sorted(int(r[h.index('supply_index')]) for r in colour) == list(range(1, 11))
ok = ok and all(r[h.index('ip')] == '127.40.0.1' for r in colour)
if not ok:
    print('#   %d rows, expected %d: %r' % (len(rows), want, rows[:4]))
sys.exit(0 if ok else 1)
EOF
check "CSV has the serials" grep -q "LMC4410X0001" "$O.csv"
check "CSV header names ip and serial" sh -c "head -1 '$O.csv' | grep -qi 'ip' && head -1 '$O.csv' | grep -qi 'serial'"

# --- table ---
run "$O.txt" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format table $OPTS $RANGE
check_status "discover --format table" 0 "$RC"
check "table lists the serial of the inkjet" grep -q "PIP750K42QX" "$O.txt"
check "table lists the address of the MFP" grep -q "127.40.0.4" "$O.txt"
check "table does not list the router" sh -c "! grep -q 'edge-rtr-1' '$O.txt'"
check "table has no control characters" no_control "$O.txt"
check "still no database after --no-save runs" test ! -e "$DB"

# --- saved, then status ---
run "$O.save" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $RANGE
check_status "discover (saving)" 0 "$RC"
check "the database now exists" test -s "$DB"
run "$O.st" "$E" "$ASR_AGENT" status --format json
check_status "status --format json" 0 "$RC"
jcheck "status lists the 5 printers" "$O.st" 'len(d["devices"]) == 5'
jcheck "status keeps the serials" "$O.st" \
  'set(x["serial"] for x in d["devices"]) >= {"LMC4410X0001", "OSM220E7731", "PIP750K42QX", "SMXZ60600007"}'
jcheck "status keeps the supplies of the last reading" "$O.st" \
  'sup(dev_by(d["devices"], "serial", "LMC4410X0001"), 4)["state"] == "empty"'
jcheck "status has one reading per device" "$O.st" 'all(x.get("readings") == 1 for x in d["devices"])'
run "$O.st2" "$E" "$ASR_AGENT" status --format table
check_status "status --format table" 0 "$RC"
run "$O.stc" "$E" "$ASR_AGENT" status --format csv
check_status "status --format csv" 0 "$RC"
check "status CSV: one row per supply, with the history columns" python3 - "$O.stc" "$O.st" <<'EOF'
import csv, json, sys
rows = [r for r in csv.reader(open(sys.argv[1], encoding='utf-8', newline='')) if r]
devs = json.load(open(sys.argv[2]))['devices']
h = rows[0]
ok = len(rows) == 1 + sum(max(1, len(d['supplies'])) for d in devs)
ok = ok and {'failed_polls', 'last_good_poll', 'state', 'supply_percent'} <= set(h)
ok = ok and len(set(len(r) for r in rows)) == 1
if not ok:
    print('#   header %r, %d rows' % (h, len(rows)))
sys.exit(0 if ok else 1)
EOF
check "status table lists a serial" grep -q "SMXZ60600007" "$O.st2"
run "$O.again" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $RANGE
run "$O.st3" "$E" "$ASR_AGENT" status --format json
jcheck "rediscovery does not duplicate devices" "$O.st3" 'len(d["devices"]) == 5'

# --- community list tried in order ---
run "$O.c1" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $OPTS $NET.7
if [ "$RC" = 5 ]; then ok "default community: $NET.7 does not answer (exit 5)"; else not_ok "default community: $NET.7 should not answer (exit $RC, expected 5)"; fi
run "$O.c2" "$E" "$ASR_AGENT" discover --port $SIM_PORT --community wrong --community secret2 --format json $OPTS $NET.7
check_status "--community wrong --community secret2" 0 "$RC"
jcheck "found the Xerox with the second community" "$O.c2" \
  'd["printers"] == 1 and d["devices"][0]["serial"] == "XZ7000K55"'
check "the community does not appear on stdout" sh -c "! grep -q secret2 '$O.c2'"
check "the community does not appear on stderr" sh -c "! grep -q secret2 '$E'"
run "$O.p" "$E" "$ASR_AGENT" poll XZ7000K55
check_status "poll XZ7000K55 uses the remembered community" 0 "$RC"
run "$O.st4" "$E" "$ASR_AGENT" status --format json
jcheck "the poll stored a second reading" "$O.st4" \
  'dev_by(d["devices"], "serial", "XZ7000K55").get("readings") == 2'
jcheck "no failed poll" "$O.st4" 'dev_by(d["devices"], "serial", "XZ7000K55").get("failed_polls") == 0'

# --- nothing answers: exit 5 and a hint; debug logging without net-snmp's MIB noise ---
run "$O.none" "$E" "$ASR_AGENT" discover -v -v --port $SIM_PORT --no-save --format json --timeout 300 --retries 0 $NET.200-$NET.203
check_status "discover where nothing answers -> exit 5" 5 "$RC"
check "output still valid JSON" valid_json "$O.none"
check "a hint: the community, the port, a firewall" \
  sh -c "grep -q 'no SNMP answer from 4 addresses' '$E' && grep -q 'community' '$E' && grep -q -- '--port' '$E' && grep -qi 'firewall' '$E'"
check "debug logging loads no MIB (no 'Cannot find module' lines)" \
  sh -c "grep -q 'debug:' '$E' && ! grep -q 'Cannot find module' '$E'"
run "$O.none" "$E" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $OPTS $NET.5
check "hosts that answered but are no printers: said so" grep -q "none is a printer (--all lists them)" "$E"

# --- Ctrl-C: the progress line ends, the user is told, what was found is printed and kept ---
rm -f "$DB" "$DB-wal" "$DB-shm"
python3 "$top_srcdir/tests/integration/ctrl_c.py" "$O.int" 2 "$ASR_AGENT" discover --port $SIM_PORT \
  --format json --timeout 8000 --retries 0 $NET.1 $NET.200-$NET.210
read -r int_rc int_s <"$O.int.rc"
check_status "Ctrl-C during discover -> exit 130" 130 "$int_rc"
check "it stops at once (${int_s} s after Ctrl-C)" awk -v s="$int_s" 'BEGIN { exit !(s < 2) }'
check "the progress line ends with a newline before the message" python3 -c '
import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
pat = r"scanning: [^\n]*\r?\nasr-agent: interrupted after \d+ of 12 addresses: 1 printer found and saved"
sys.exit(0 if re.search(pat, t) else 1)' "$O.int"
check "the printer found before Ctrl-C is listed" grep -q "LMC4410X0001" "$O.int"
run "$O.st5" "$E" "$ASR_AGENT" status --format json
jcheck "the printer found before Ctrl-C is saved" "$O.st5" \
  '[x["serial"] for x in d["devices"]] == ["LMC4410X0001"]'

finish
