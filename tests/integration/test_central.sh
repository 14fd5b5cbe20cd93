#!/bin/sh
# test_central.sh: asr-central alone over HTTPS (test CA), driven by tests/load/asrload.py
# as docs/protocol.md describes: site token, enrolment, a signed gzip batch stored, the same
# batch again acknowledged as a duplicate, the same readings in another batch stored once;
# forged, unknown-agent, unsigned, replayed (old or future timestamp) requests 401; an
# oversized body and a gzip bomb 413; malformed batches 400 and never half-applied;
# `devices` JSON as the issue specifies; data kept across a restart.
# Addresses 127.52.1.x, ports 18610-18619.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init central
need_cmd openssl python3
need_central
O="$TMPD/out"
A=127.52.1.1
URL="https://$A:18610"
CA="$TMPD/tls/ca.pem"

tls_ca ca
tls_cert ca srv "IP:$A,DNS:central.test"
central_start $A 18610 srv
site_add acme
check "site add printed a token st_ + 32 hex" test "${#SITE_TOKEN}" = 35
# a contact as mail programs write it: name and address
run "$O.sa" "$O.sa.err" "$ASR_CENTRAL" site add beta --contact 'Ops Team <ops@beta.example>' \
  --db "$CENTRAL_DB"
check_status "site add --contact 'Ops Team <ops@beta.example>'" 0 "$RC"
run "$O.sl" "$O.sl.err" "$ASR_CENTRAL" site list --format json --db "$CENTRAL_DB"
jcheck "the site's contact is the address" "$O.sl" \
  '[s["contact"] for s in d["sites"] if s["name"] == "beta"] == ["ops@beta.example"]'
run "$O.sa" "$O.sa.err" "$ASR_CENTRAL" site add gamma --contact 'Ops Team' --db "$CENTRAL_DB"
check_status "site add --contact without an address -> exit 2" 2 "$RC"
check "the message quotes the contact given and says what is wanted" \
  sh -c "grep -q \"'Ops Team' is not an e-mail address\" '$O.sa.err'"

# send NAME ARGS...: one signed POST through asrload.py; O.NAME receives its answer
send()
{
  _n=$1
  shift
  python3 "$ASRLOAD" send "$URL" --ca "$CA" "$@" >"$O.$_n" 2>"$O.$_n.err" ||
    echo '{"status": -1}' >"$O.$_n"
}

# enrolment
python3 "$ASRLOAD" enroll "$URL" st_00000000000000000000000000000000 --ca "$CA" >"$O.e0" 2>&1
jcheck "enrol with an unknown site token -> 401" "$O.e0" 'd["status"] == 401 and "error" in d["body"]'
python3 "$ASRLOAD" enroll "$URL" "$SITE_TOKEN" --ca "$CA" >"$O.e1" 2>"$O.e1.err"
jcheck "enrol -> 201 with agent_id, secret and site" "$O.e1" \
  '__import__("re").fullmatch("ag_[0-9a-f]{32}", d["agent_id"]) and __import__("re").fullmatch("[0-9a-f]{64}", d["secret"]) and d["site"] == "acme"'
AG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.e1" 2>/dev/null)
SEC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.e1" 2>/dev/null)
[ -n "$AG" ] || {
  not_ok "no agent id: the rest needs one"
  finish
}
python3 "$ASRLOAD" enroll "$URL" "$SITE_TOKEN" --ca "$CA" >"$O.e2" 2>&1
jcheck "the same token enrols a second agent (another id)" "$O.e2" 'd["agent_id"] != "'"$AG"'"'
python3 - "$URL" "$CA" >"$O.e3" 2>&1 <<'EOF'
import http.client, json, ssl, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=sys.argv[2]))
c.request('POST', '/v1/enroll', body=b'{"site_token": 42', headers={'Content-Type': 'application/json'})
r = c.getresponse()
print(json.dumps({'status': r.status, 'body': json.loads(r.read() or b'null')}))
EOF
jcheck "malformed enrolment -> 400 with an error" "$O.e3" 'd["status"] == 400 and d["body"].get("error")'

# a good batch, twice, and its readings in another batch
NOW=$(date +%s)
T0=$((NOW - 86400))
python3 "$ASRLOAD" batch --agent "$AG" --seq 1 --devices 2 --readings 3 --t0 $T0 --prefix CT >"$TMPD/b1.json"
python3 "$ASRLOAD" batch --agent "$AG" --seq 2 --devices 2 --readings 3 --t0 $T0 --prefix CT >"$TMPD/b2.json"
send b1 --agent "$AG" --secret "$SEC" --json "$TMPD/b1.json" --gzip
jcheck "signed batch -> 200 stored, 6 readings" "$O.b1" \
  'd["status"] == 200 and d["body"]["status"] == "stored" and d["body"]["readings"] == 6 and d["body"]["batch_id"].endswith("-0000000001")'
send b1again --agent "$AG" --secret "$SEC" --json "$TMPD/b1.json" --gzip
jcheck "the same batch again -> 200 duplicate" "$O.b1again" \
  'd["status"] == 200 and d["body"]["status"] == "duplicate"'
send b2 --agent "$AG" --secret "$SEC" --json "$TMPD/b2.json" --gzip
jcheck "another batch with the same readings -> 200" "$O.b2" 'd["status"] == 200'
central_devices "$O.d1"
check_status "devices --format json" 0 "$RC"
jcheck "2 devices, 3 readings each (each reading stored once)" "$O.d1" \
  'sorted((x["serial"], x["readings"]) for x in d["devices"]) == [("CT0000", 3), ("CT0001", 3)]'
# last_reading_at: Unix seconds or an ISO 8601 UTC string
jcheck "device: site, agent, last_reading_at" "$O.d1" \
  'all(x["site"] == "acme" and x["agent"] == "'"$AG"'" and (x["last_reading_at"] if isinstance(x["last_reading_at"], int) else __import__("calendar").timegm(__import__("time").strptime(x["last_reading_at"], "%Y-%m-%dT%H:%M:%SZ"))) == '"$((T0 + 2 * 3600))"' for x in d["devices"])'
jcheck "supplies: index, type, colorant, percent, level, max of the last reading" "$O.d1" \
  'sup(dev_by(d["devices"], "serial", "CT0001"), 1) == {"index": 1, "type": "toner", "colorant": "black", "label": "black", "asr": True, "percent": 97, "level": 97, "max": 100} or print("#  ", sup(dev_by(d["devices"], "serial", "CT0001"), 1))'

# authentication and replay
python3 "$ASRLOAD" batch --agent "$AG" --seq 3 --devices 1 --readings 1 --t0 $NOW --prefix CX >"$TMPD/b3.json"
send forged --agent "$AG" --secret "$SEC" --json "$TMPD/b3.json" --gzip --bad-sig
jcheck "forged signature -> 401 with an error" "$O.forged" 'd["status"] == 401 and d["body"].get("error")'
send unknown --agent ag_0123456789abcdef0123456789abcdef --secret "$SEC" --json "$TMPD/b3.json" --gzip
jcheck "unknown agent -> 401" "$O.unknown" 'd["status"] == 401'
send unsigned --agent "$AG" --secret "$SEC" --json "$TMPD/b3.json" --gzip --no-sign
jcheck "no signature headers -> 401" "$O.unsigned" 'd["status"] == 401'
send old --agent "$AG" --secret "$SEC" --json "$TMPD/b3.json" --gzip --skew -3600
jcheck "replay: timestamp an hour old -> 401" "$O.old" 'd["status"] == 401'
send future --agent "$AG" --secret "$SEC" --json "$TMPD/b3.json" --gzip --skew 1000
jcheck "timestamp 1000 s ahead -> 401" "$O.future" 'd["status"] == 401'
send late --agent "$AG" --secret "$SEC" --json "$TMPD/b3.json" --gzip --skew -200
jcheck "timestamp 200 s old (inside the window) -> 200" "$O.late" 'd["status"] == 200'
central_devices "$O.d2"
jcheck "rejected requests stored nothing" "$O.d2" \
  'dev_by(d["devices"], "serial", "CX0000").get("readings") == 1 and len(d["devices"]) == 3'

# size limits
head -c $((9 * 1024 * 1024)) /dev/urandom >"$TMPD/big.bin"
send big --agent "$AG" --secret "$SEC" --body "$TMPD/big.bin" --encoding gzip
jcheck "9 MiB body -> 413" "$O.big" 'd["status"] == 413'
python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.compress(b"{\"a\":\"" + b"0" * (70 << 20) + b"\"}", 9))' >"$TMPD/bomb.gz"
send bomb --agent "$AG" --secret "$SEC" --body "$TMPD/bomb.gz" --encoding gzip
jcheck "gzip bomb ($(wc -c <"$TMPD/bomb.gz") bytes -> 70 MiB) -> 413" "$O.bomb" 'd["status"] == 413'

# malformed batches: 400 with a message, nothing applied
printf '{"protocol": 1, "batch_id": ' >"$TMPD/bad1.json"
send bad1 --agent "$AG" --secret "$SEC" --json "$TMPD/bad1.json" --gzip
jcheck "truncated JSON -> 400 with an error" "$O.bad1" 'd["status"] == 400 and d["body"].get("error")'
send bad2 --agent "$AG" --secret "$SEC" --body "$TMPD/b3.json" --encoding gzip
jcheck "Content-Encoding gzip but not gzip -> 400" "$O.bad2" 'd["status"] == 400'
# mutate SEQ EXPR: batch SEQ (1 device, 2 readings) changed by a python statement on b
mutate()
{
  python3 "$ASRLOAD" batch --agent "$AG" --seq "$1" --devices 1 --readings 2 --t0 $NOW --prefix "HP$1-" |
    python3 -c 'import json,sys; b=json.load(sys.stdin); '"$2"'; json.dump(b, sys.stdout)' >"$TMPD/m$1.json"
  send "m$1" --agent "$AG" --secret "$SEC" --json "$TMPD/m$1.json" --gzip
}
mutate 10 'b["protocol"] = 3'
jcheck "protocol 3 -> 400 naming the versions spoken" "$O.m10" 'd["status"] == 400 and "1" in d["body"].get("error", "")'
# a fault inside one reading or device refuses that part only: 200, the rest stored, the
# answer says what was refused and why (docs/protocol.md, "Refused parts")
mutate 11 'b["readings"][1]["levels"] = "lots"'
jcheck "levels of the wrong type -> 200, that reading refused" "$O.m11" \
  'd["status"] == 200 and d["body"]["readings_refused"] == 1 and d["body"]["refused"][0]["what"] == "reading" and "levels" in d["body"]["refused"][0]["error"]'
mutate 12 'b["readings"][1]["device"] = 7'
jcheck "reading of a device index out of range -> 200, that reading refused" "$O.m12" \
  'd["status"] == 200 and d["body"]["readings_refused"] == 1 and d["body"]["refused"][0]["device"] is None'
mutate 13 'b["devices"][0]["model"] = "x" * 300'
jcheck "a 300-byte string -> 200, the device and its readings refused" "$O.m13" \
  'd["status"] == 200 and d["body"]["devices_refused"] == 1 and d["body"]["readings_refused"] == 2 and "255 bytes" in d["body"]["refused"][0]["error"]'
mutate 14 'b["readings"][0]["page_count"] = 1.5'
jcheck "a non-integer number -> 200, that reading refused" "$O.m14" \
  'd["status"] == 200 and d["body"]["readings_refused"] == 1 and d["body"]["refused"][0]["index"] == 0'
mutate 15 'b["agent_id"] = "ag_0123456789abcdef0123456789abcdef"'
jcheck "a batch naming another agent -> 400 or 403" "$O.m15" 'd["status"] in (400, 403)'
mutate 16 'b["devices"][0]["supplies"] = b["devices"][0]["supplies"] * 40'
jcheck "65+ supplies -> 200, the device refused" "$O.m16" \
  'd["status"] == 200 and d["body"]["devices_refused"] == 1'
mutate 17 'b["unknown_field"] = {"x": 1}; b["devices"][0]["new"] = 1'
jcheck "unknown fields ignored -> 200" "$O.m17" 'd["status"] == 200 and "refused" not in d["body"]'
central_devices "$O.d3"
jcheck "only the refused parts are missing" "$O.d3" \
  'sorted((x["serial"], x["readings"]) for x in d["devices"]) == [("CT0000", 3), ("CT0001", 3), ("CX0000", 1), ("HP11-0000", 1), ("HP12-0000", 1), ("HP14-0000", 1), ("HP17-0000", 2)] or print("#  ", sorted((x["serial"], x["readings"]) for x in d["devices"]))'

# table output, restart
run "$O.t" "$O.t.err" "$ASR_CENTRAL" devices --format table --db "$CENTRAL_DB"
check_status "devices --format table" 0 "$RC"
check "table names the devices" grep -q CT0001 "$O.t"
run "$O.s" "$O.s.err" "$ASR_CENTRAL" devices --site acme --format json --db "$CENTRAL_DB"
jcheck "devices --site acme: 7 devices" "$O.s" 'len(d["devices"]) == 7'
run "$O.s2" "$O.s2.err" "$ASR_CENTRAL" devices --site nosuchsite --format json --db "$CENTRAL_DB"
if [ "$RC" = 0 ]; then jcheck "devices --site unknown: none" "$O.s2" 'd["devices"] == []'; else ok "devices --site unknown -> exit $RC"; fi
central_stop
central_start $A 18610 srv
send b1after --agent "$AG" --secret "$SEC" --json "$TMPD/b1.json" --gzip
jcheck "after a restart: the agent is known and batch 1 is a duplicate" "$O.b1after" \
  'd["status"] == 200 and d["body"]["status"] == "duplicate"'
central_devices "$O.d4"
jcheck "after a restart: same devices and readings" "$O.d4" \
  'sorted((x["serial"], x["readings"]) for x in d["devices"]) == [("CT0000", 3), ("CT0001", 3), ("CX0000", 1), ("HP11-0000", 1), ("HP12-0000", 1), ("HP14-0000", 1), ("HP17-0000", 2)]'
# two commands creating one new SQLite file at once (its version check and migrations take
# the write lock together): both succeed, both sites are there; 30 rounds (before the fix
# a few rounds in 100 failed; check_sqlutil's test_open_race is the sharper test)
if [ "${ASR_TEST_DB:-sqlite}" = sqlite ]; then
  bad=0
  for i in $(seq 30); do
    f="$TMPD/race$i.db"
    "$ASR_CENTRAL" site add r1 --contact a@b.example --db "$f" >"$O.r1" 2>"$O.r1.err" &
    p1=$!
    "$ASR_CENTRAL" site add r2 --contact a@c.example --db "$f" >"$O.r2" 2>"$O.r2.err" &
    p2=$!
    wait $p1 || { bad=$((bad + 1)) && sed 's/^/#   /' "$O.r1.err"; }
    wait $p2 || { bad=$((bad + 1)) && sed 's/^/#   /' "$O.r2.err"; }
    "$ASR_CENTRAL" site list --format json --db "$f" >"$O.rl" 2>&1
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(sorted(s["name"] for s in d["sites"]) != ["r1", "r2"])' "$O.rl" || bad=$((bad + 1))
  done
  check "two site adds creating one database at once: both done, 30 times" test "$bad" = 0
fi
finish
