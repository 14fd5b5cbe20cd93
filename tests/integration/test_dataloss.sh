#!/bin/sh
# test_dataloss.sh: nothing is lost between the agent and asr-central (issue 10, "Data
# lost"), end to end on loopback with snmpsim printers and a real HTTPS central.
#  1. A printer listing its supplies under two hrDevice indexes (quirk_dup_supplies: the
#     printer's rows copied under the CPU's hrDeviceIndex) is read with each supply once,
#     and a site with it uploads everything.
#  2. An agent database goes back to a backup (after more batches were delivered, and with
#     a batch still pending in the backup): every reading of both timelines reaches the
#     central, counted exactly, and no false alarm is raised.
#  3. A batch id the central already committed, sent again with another content (a
#     restored or copied database of an older agent): stored, flagged, the sender told
#     (a raw client, then the agent itself: it warns, status and status --check say so).
#  4. A batch an older agent had built with a repeated supply index and kept aside (400):
#     sent again, the central stores every other reading and refuses only the bad one;
#     the agent records it (status shows it, status --check warns), and later batches
#     flow.
# Addresses 127.53.40.x, ports 18730-18739.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init dataloss
need_cmd openssl python3
need_central
need_enroll
need_sim
NET=127.53.40
PORT=18730
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"
QUIRK=ZDS4020Q0016

sim_add $NET.1 colour_laser
sim_add $NET.2 quirk_dup_supplies
sim_add $NET.3 inkjet
sim_start
tls_ca ca
tls_cert ca srv "IP:$NET.10"
central_start $NET.10 $PORT srv
site_add acme

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

# upload TEXT EXPECTED_EXIT [ARGS...]
upload()
{
  _t=$1
  _x=$2
  shift 2
  run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 30 "$@"
  check_status "$_t" "$_x" "$RC"
  [ "$RC" = "$_x" ] || show "$E.u"
}

# counts FILE: {"serial": readings} of an agent status or a central devices listing
counts()
{
  python3 -c 'import json,sys; print(json.dumps({x["serial"]: x["readings"] for x in json.load(open(sys.argv[1]))["devices"]}, sort_keys=True))' "$1"
}

# same_counts TEXT: the central has as many readings per device as the agent
same_counts()
{
  agent_status "$O.as"
  central_devices "$O.cd"
  check "$1: central readings = agent readings, per device" readings_match "$O.as" "$O.cd"
}

# db_copy FROM TO: the database file as an admin's backup or restore copies it
db_copy()
{
  rm -f "$2-wal" "$2-shm"
  cp "$1" "$2"
  for _s in -wal -shm; do
    [ -f "$1$_s" ] && cp "$1$_s" "$2$_s"
  done
  return 0
}

## 1. the printer with its supplies under two hrDevice indexes -------------------------
run "$O.i" "$E.i" "$ASR_AGENT" inspect --format json "$RECDIR/quirk_dup_supplies.snmprec"
check_status "inspect quirk_dup_supplies" 0 "$RC"
jcheck "inspect: each supply once (1, 2, 3), the printer hrDevice's" "$O.i" \
  '[s["index"] for s in d["supplies"]] == [1, 2, 3] or print("#  ", [s["index"] for s in d["supplies"]])'

run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.3
check_status "discover 3 printers" 0 "$RC"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" --ca-file "$CA"
check_status "enroll" 0 "$RC"
poll_once
poll_once
upload "upload of a site with the quirky printer" 0
same_counts "quirky printer"
jcheck "the quirky printer's readings and 3 supplies reached the central" "$O.cd" \
  'dev_by(d["devices"], "serial", "'$QUIRK'")["readings"] >= 2 and sorted(s["index"] for s in dev_by(d["devices"], "serial", "'$QUIRK'")["supplies"]) == [1, 2, 3]'
jcheck "nothing held or pending" "$O.as" \
  'd["uplink"]["held_batches"] == 0 and d["uplink"]["pending_batches"] == 0 and d["uplink"]["pending_readings"] == 0'

## 2. the agent's database goes back to a backup ---------------------------------------
poll_once
upload "upload before the backup" 0
db_copy "$DB" "$TMPD/backup.db"
agent_status "$O.before"
poll_once
upload "upload after the backup" 0
central_devices "$O.cd"
counts "$O.cd" >"$O.c1"
db_copy "$TMPD/backup.db" "$DB"
poll_once
upload "upload from the restored database" 0
grep -q " 0 duplicates" "$E.u" && ok "no batch taken for a duplicate" ||
  { not_ok "a batch of the restored database was taken for a duplicate"; show "$E.u"; }
central_devices "$O.cd"
python3 - "$O.c1" "$O.cd" <<'EOF' && ok "restored database: every reading of both timelines at the central (count exact)" || not_ok "restored database: readings lost"
import json, sys
before = json.load(open(sys.argv[1]))
now = {x['serial']: x['readings'] for x in json.load(open(sys.argv[2]))['devices']}
want = {k: v + 1 for k, v in before.items()}
print('#   before restore %s, now %s, want %s' % (before, now, want))
sys.exit(0 if now == want and len(now) == 3 else 1)
EOF
agent_status "$O.as"
jcheck "restored database: nothing pending, no problem recorded" "$O.as" \
  'd["uplink"]["pending_readings"] == 0 and d["uplink"]["refused_readings"] == 0 and not d["uplink"]["batch_ids_reused"]'

# a backup holding a batch not delivered yet: once restored it is sent again with the same
# content: a duplicate, and no false alarm
central_stop
poll_once
upload "upload with the central down: the batch stays pending" 5 --max-wait 2
db_copy "$DB" "$TMPD/backup2.db"
central_start $NET.10 $PORT srv
upload "the pending batch delivered" 0
central_devices "$O.cd"
counts "$O.cd" >"$O.c2"
db_copy "$TMPD/backup2.db" "$DB"
upload "the restored pending batch sent again" 0
grep -q " 1 duplicate)" "$E.u" && ok "it is a duplicate (the same content)" ||
  { not_ok "the restored pending batch is not a duplicate"; show "$E.u"; }
central_devices "$O.cd"
counts "$O.cd" >"$O.c3"
check "nothing stored twice" cmp -s "$O.c2" "$O.c3"
run "$O.k" "$E.k" "$ASR_AGENT" status --check
check_status "status --check: no false alarm after the restores" 0 "$RC"
[ "$RC" = 0 ] || show "$O.k"

## 3. a committed batch id with another content ----------------------------------------
python3 "$ASRLOAD" enroll "$CENTRAL_URL" "$SITE_TOKEN" --ca "$CA" >"$O.en"
L_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.en")
L_SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.en")
python3 "$ASRLOAD" batch --agent "$L_ID" --seq 5 --devices 1 --readings 2 --t0 1790000000 \
  --prefix RB >"$TMPD/b1.json"
python3 "$ASRLOAD" batch --agent "$L_ID" --seq 5 --devices 1 --readings 3 --t0 1790500000 \
  --prefix RB >"$TMPD/b2.json"
for f in b1 b2 b2; do
  python3 "$ASRLOAD" send "$CENTRAL_URL" --ca "$CA" --agent "$L_ID" --secret "$L_SECRET" \
    --json "$TMPD/$f.json" --gzip >"$O.$f" 2>&1
done
jcheck "first content of the batch id: stored" "$O.b1" 'd["status"] == 200 and d["body"]["status"] == "stored"'
jcheck "the same id with another content: stored, and the agent is told" "$O.b2" \
  'd["status"] == 200 and d["body"]["status"] in ("stored", "duplicate") and d["body"].get("id_reused") is True and "restored" in d["body"].get("warning", "")'
central_devices "$O.cd"
jcheck "both contents stored (5 readings)" "$O.cd" \
  'sum(x["readings"] for x in d["devices"] if x["serial"].startswith("RB")) == 5'
run "$O.pr" "$E.pr" "$ASR_CENTRAL" problems --format json --db "$CENTRAL_DB"
check_status "asr-central problems" 0 "$RC"
jcheck "flagged at the central: the batch id reused" "$O.pr" \
  'len([p for p in d["problems"] if p["what"] == "id_reused" and p["agent"] == "'$L_ID'"]) == 1'
grep -q "reused" "$TMPD/run/central.log" && ok "the central logs the reused id" ||
  not_ok "the central does not log the reused id"

# ... and the real agent told: a batch of an older agent's restored database, numbered
# like one the central committed (ids without their random part)
central_devices "$O.c4"
agent_status "$O.a4"
central_stop
poll_once
upload "another batch built while the central is down" 5 --max-wait 2
python3 - "$DB" <<'EOF' && ok "its id made the one of a delivered batch (the restore of an older agent)" || not_ok "cannot rewrite the id"
import gzip, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
old, = db.execute("SELECT batch_id FROM outbox WHERE state = 'delivered' ORDER BY seq LIMIT 1").fetchone()
seq, body = db.execute("SELECT seq, body FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1").fetchone()
doc = json.loads(gzip.decompress(body))
doc['batch_id'] = old
new = gzip.compress(json.dumps(doc, separators=(',', ':')).encode())
db.execute("DELETE FROM outbox WHERE batch_id = ?", (old,))
db.execute("UPDATE outbox SET batch_id = ?, body = ?, body_size = ? WHERE seq = ?", (old, new, len(new), seq))
db.commit()
EOF
central_start $NET.10 $PORT srv
upload "upload of the batch with a reused id" 0
grep -q "another content" "$E.u" && ok "upload warns of the reused id" ||
  { not_ok "upload does not warn of the reused id"; show "$E.u"; }
agent_status "$O.as"
central_devices "$O.cd"
python3 - "$O.a4" "$O.c4" "$O.as" "$O.cd" <<'EOF' && ok "its readings stored (counts exact)" || not_ok "the batch with a reused id lost readings"
import json, sys
def counts(f):
    return {x['serial']: x['readings'] for x in json.load(open(f))['devices'] if not x['serial'].startswith('RB')}
a0, c0, a1, c1 = (counts(f) for f in sys.argv[1:5])
print('#   agent %s -> %s, central %s -> %s' % (a0, a1, c0, c1))
sys.exit(0 if all(c1[k] - c0[k] == a1[k] - a0[k] == 1 for k in a1) else 1)
EOF
jcheck "status: the reused id recorded" "$O.as" 'd["uplink"]["batch_ids_reused"] == 1'
run "$O.k" "$E.k" "$ASR_AGENT" status --check
check_status "status --check warns of the reused id" 1 "$RC"
grep -q "batch id reused" "$O.k" && ok "status --check names it" || { not_ok "status --check does not name it"; show "$O.k"; }

## 4. a batch an older agent held aside with a repeated supply index -------------------
# (the central has one reading per printer more than the agent since the restore of 2)
agent_status "$O.base_a"
central_devices "$O.base_c"
central_stop
poll_once
upload "a batch built while the central is down" 5 --max-wait 2
python3 - "$DB" "$QUIRK" <<'EOF' && ok "the pending batch rewritten as an older agent built it, and held (400)" || not_ok "cannot rewrite the batch"
import gzip, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
seq, body = db.execute("SELECT seq, body FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1").fetchone()
doc = json.loads(gzip.decompress(body))
quirk = [i for i, x in enumerate(doc['devices']) if x['serial'] == sys.argv[2]]
n = 0
for r in doc['readings']:
    if r['device'] in quirk:
        r['levels'] += [list(l) for l in r['levels']]   # 1, 2, 3, 1, 2, 3
        n += 1
assert n == 1 and len(doc['readings']) == 3, (n, len(doc['readings']))
new = gzip.compress(json.dumps(doc, separators=(',', ':')).encode())
db.execute("UPDATE outbox SET body = ?, body_size = ?, state = 'held', last_error = ? WHERE seq = ?",
           (new, len(new), 'HTTP 400: readings[1].levels[3]: supply index 1 repeated', seq))
db.commit()
EOF
central_start $NET.10 $PORT srv
agent_status "$O.as0"
poll_once
upload "upload --retry-held: the held batch and a new one" 0 --retry-held
grep -qi "refused" "$E.u" && ok "upload says what the central refused" ||
  { not_ok "upload does not say what the central refused"; show "$E.u"; }
agent_status "$O.as"
central_devices "$O.cd"
python3 - "$O.as" "$O.cd" "$QUIRK" "$O.base_a" "$O.base_c" <<'EOF' && ok "every other reading stored, only the bad one refused (counts exact)" || not_ok "readings lost or the bad one stored"
import json, sys
def counts(f):
    return {x['serial']: x['readings'] for x in json.load(open(f))['devices'] if not x['serial'].startswith('RB')}
a, c = counts(sys.argv[1]), counts(sys.argv[2])
ba, bc = counts(sys.argv[4]), counts(sys.argv[5])
want = {k: v + bc[k] - ba[k] for k, v in a.items()}
want[sys.argv[3]] -= 1
print('#   agent %s central %s' % (a, c))
sys.exit(0 if c == want else 1)
EOF
jcheck "status: the refused reading recorded, with its printer and reason" "$O.as" \
  'd["uplink"]["refused_readings"] == 1 and "'$QUIRK'" in d["uplink"]["last_problem"]["device"] and "repeated" in d["uplink"]["last_problem"]["error"] and d["uplink"]["held_batches"] == 0 and d["uplink"]["pending_readings"] == 0'
run "$O.k" "$E.k" "$ASR_AGENT" status --check
check_status "status --check warns" 1 "$RC"
grep -q "refused 1 reading" "$O.k" && ok "status --check names the refusal" ||
  { not_ok "status --check does not name the refusal"; show "$O.k"; }
run "$O.pr" "$E.pr" "$ASR_CENTRAL" problems --site acme --format json --db "$CENTRAL_DB"
jcheck "flagged at the central: the refused reading, its printer, the reason" "$O.pr" \
  'len([p for p in d["problems"] if p["what"] == "reading" and p["device"] == "serial:'$QUIRK'" and "repeated" in p["error"]]) == 1'
poll_once
upload "later batches flow" 0
agent_status "$O.as"
central_devices "$O.cd"
python3 - "$O.as" "$O.cd" "$QUIRK" "$O.base_a" "$O.base_c" <<'EOF' && ok "later readings all stored" || not_ok "later readings lost"
import json, sys
def counts(f):
    return {x['serial']: x['readings'] for x in json.load(open(f))['devices'] if not x['serial'].startswith('RB')}
a, c = counts(sys.argv[1]), counts(sys.argv[2])
ba, bc = counts(sys.argv[4]), counts(sys.argv[5])
want = {k: v + bc[k] - ba[k] for k, v in a.items()}
want[sys.argv[3]] -= 1
sys.exit(0 if c == want else 1)
EOF
finish
