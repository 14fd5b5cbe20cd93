#!/bin/sh
# test_hostile.sh: discover, poll, status and inspect the hostile printers (huge strings,
# control characters, invalid UTF-8, absurd numbers, no supplies, a router, wrong types)
# plus a UDP responder that answers garbage: never a crash (exit < 64, never 134/139), JSON
# and UTF-8 valid, descriptions <= 255 bytes, no raw control characters, bidirectional
# overrides or invisible characters in any output.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init hostile
need_agent
need_sim
NET=127.40.2
i=1
for r in hostile_bigstrings hostile_control hostile_utf8 hostile_numbers hostile_nosupplies \
  hostile_notprinter hostile_wrongtypes truncated_supplies quirk_hp_nul; do
  sim_add $NET.$i $r
  i=$((i + 1))
done
sim_start

# A garbage responder on .50: answers every datagram with junk (random bytes, a truncated
# BER sequence, a huge length field, an SNMP-looking message with a bad inner length).
python3 - "$NET.50" "$SIM_PORT" "$TMPD/garbage.ready" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], 'w').close()
junk = [os.urandom(40), b'\x30\x84\xff\xff\xff\xff\x02\x01\x01', b'\x30\x03\x02\x01',
        b'\x30\x29\x02\x01\x01\x04\x06public\xa2\x1c\x02\x04\x00\x00\x00\x01\x02\x01\x00'
        b'\x02\x01\x00\x30\x7f\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x04\x00',
        b'']
n = 0
s.settimeout(120)
try:
    while True:
        data, peer = s.recvfrom(65535)
        for j in junk:
            s.sendto(j, peer)
        n += 1
except Exception:
    pass
EOF
GARBAGE_PID=$!
trap 'kill $GARBAGE_PID 2>/dev/null; itest_cleanup' EXIT
_i=0
while [ ! -f "$TMPD/garbage.ready" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done

O="$TMPD/out"
E="$TMPD/err"
OPTS="--timeout 800 --retries 1"

# bounded(FILE): every supply description <= 255 bytes, every other string <= 512 bytes
bounded()
{
  pyjson "$1" '(
all(len((s.get("description") or "").encode()) <= 255 and len((s.get("part_number") or "").encode()) <= 255
    for x in (d["devices"] if "devices" in d else [d]) for s in x.get("supplies") or [])
and all(len(v.encode()) <= 512 for x in (d["devices"] if "devices" in d else [d])
    for v in x.values() if isinstance(v, str)))'
}

for fmt in json table csv; do
  run "$O.$fmt" "$E.$fmt" "$ASR_AGENT" discover --port $SIM_PORT --no-save --all --format $fmt $OPTS \
    $NET.1-$NET.12 $NET.50
  check "discover --all --format $fmt: no crash (exit $RC)" not_crashed "$RC"
  check "discover --format $fmt: output valid UTF-8 without control characters" no_control "$O.$fmt"
  check "discover --format $fmt: stderr valid UTF-8 without control characters" no_control "$E.$fmt"
done
check "discover json is valid" valid_json "$O.json"
check "discover json strings are bounded" bounded "$O.json"
jcheck "the printers among the hostile hosts are found (>= 7)" "$O.json" 'd["printers"] >= 7'
jcheck "the garbage responder is not a printer" "$O.json" \
  'dev_by(d["devices"], "ip", "127.40.2.50") == {} or not dev_by(d["devices"], "ip", "127.40.2.50").get("supplies")'
jcheck "the router is listed with --all but has no supplies" "$O.json" \
  'dev_by(d["devices"], "ip", "127.40.2.6").get("sys_name") == "edge-rtr-1" and not dev_by(d["devices"], "ip", "127.40.2.6").get("supplies")'
jcheck "the 64 KB printer is found" "$O.json" 'dev_by(d["devices"], "ip", "127.40.2.1") != {}'
jcheck "percent always 0..100 or null" "$O.json" \
  'all(s.get("percent") is None or 0 <= s["percent"] <= 100 for x in d["devices"] for s in x.get("supplies") or [])'
jcheck "state always one of the six" "$O.json" \
  'all(s.get("state") in ("ok", "low", "empty", "full", "some_remaining", "unknown") for x in d["devices"] for s in x.get("supplies") or [])'
jcheck "huge Counter64 page count kept exact or null" "$O.json" \
  'dev_by(d["devices"], "ip", "127.40.2.4").get("page_count") in (18446744073709551615, None)'
jcheck "wrong types: level given as a string is not a number" "$O.json" \
  'all(s.get("level") is None or isinstance(s.get("level"), int) for x in d["devices"] for s in x.get("supplies") or [])'
jcheck "control printer: no ESC anywhere in JSON strings" "$O.json" \
  '"\x1b" not in json.dumps(d, ensure_ascii=False)'
jcheck "control printer: bidi overrides, isolates, ZWSP and ALM dropped from its text" "$O.json" \
  'any(s.get("description") == "Fuser ,\"; DROP TABLE devices; -- x" for s in dev_by(d["devices"], "ip", "127.40.2.2").get("supplies") or [])'
check "CSV parses with rows of one width" python3 - "$O.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1], encoding='utf-8', newline='')) if r]
sys.exit(0 if rows and len(set(len(r) for r in rows)) == 1 else 1)
EOF

# save, poll, status
run "$O.save" "$E" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.12 $NET.50
check "discover (saving) no crash (exit $RC)" not_crashed "$RC"
run "$O.p" "$E" "$ASR_AGENT" poll $OPTS
check "poll of the hostile printers: no crash (exit $RC)" not_crashed "$RC"
check "poll stderr clean" no_control "$E"
run "$O.sj" "$E" "$ASR_AGENT" status --format json
check_status "status --format json" 0 "$RC"
check "status json valid" valid_json "$O.sj"
check "status json strings bounded" bounded "$O.sj"
run "$O.st" "$E" "$ASR_AGENT" status --format table
check_status "status --format table" 0 "$RC"
check "status table without control characters" no_control "$O.st"

# inspect each hostile recording
for f in "$RECDIR"/hostile_*.snmprec; do
  n=$(basename "$f" .snmprec)
  run "$O.$n" "$E" "$ASR_AGENT" inspect --format json "$f"
  check "inspect $n: no crash (exit $RC)" not_crashed "$RC"
  if [ -s "$O.$n" ]; then
    check "inspect $n: valid JSON" valid_json "$O.$n"
    check "inspect $n: bounded strings" bounded "$O.$n"
  fi
  run "$O.$n.t" "$E" "$ASR_AGENT" inspect --format table "$f"
  check "inspect --format table $n: no control characters" no_control "$O.$n.t"
done

finish
