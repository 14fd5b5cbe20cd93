#!/bin/sh
# test_alerts.sh: printer alerts end to end (issue 16). A real asr-agent polls the project's
# Sharp recording (tests/recordings/quirk_sharp_meters: toner empty, paper low, a jam for
# field service) served by snmpsim, its prtAlertTable then moves (the toner alert gone, the
# jam at another index), and uploads to a real `asr-central serve` over HTTPS, which mails
# through a REAL SMTP sink (aiosmtpd, smtpserver.py) with the alert settings of its --rules
# file. Checked from the promises: the central shows the alerts (`asr-central alerts`, the
# status page, /api/sites/NAME) and the meters; the contact and the service address get one
# mail per alert as their group says, and one cleared notice; a batch sent again, another
# agent sending the same events, another upload and a restart of the central mail nothing
# more. Hostile batches: a 64 KB detail (that event refused), bad UTF-8 (400), control and
# markup characters (cleaned, escaped), 10,000 alerts in one batch (stored bounded, mails
# capped per device), 10,001 events (413); the central keeps running.
# Addresses 127.56.16.x, ports 18960-18969.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

SIM_PORT=18961
NET=127.56.16
uplink_init alerts
need_agent
need_sim
need_central
need_aiosmtpd
need_cmd openssl python3 curl
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"
MAILDIR="$TMPD/smtp"
FROM=asr-central@provider.test

# The printer: the Sharp recording, its alert table rewritten by move_table below.
cp "$RECDIR/quirk_sharp_meters.snmprec" "$TMPD/sharp.snmprec"
sim_add $NET.1 "$TMPD/sharp.snmprec"
sim_start
SIMFILE="$TMPD/sim/data/public/1.3.6.1.6.1.1.0.snmprec"

# The SMTP sink.
mkdir -p "$MAILDIR"
"$PY" "$top_srcdir/tests/integration/smtpserver.py" --addr $NET.2 --dir "$MAILDIR" \
  >"$TMPD/smtp.log" 2>&1 &
pid_track $!
_i=0
while [ ! -f "$MAILDIR/port" ] && [ $_i -lt 100 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
[ -f "$MAILDIR/port" ] || { show "$TMPD/smtp.log"; exit 99; }
SMTP_URL="smtp://$NET.2:$(cat "$MAILDIR/port")"

# The central: jams mail the contact and the service address, 5 alert mails a device a day.
cat >"$TMPD/rules" <<EOF
alert_service_address = service@provider.test
alert_mail.mediaPath = both
alert_mails_per_day = 5
EOF
tls_ca ca
tls_cert ca srv "IP:$NET.10"
CENTRAL_OPTS="--no-replenish --rules $TMPD/rules --smtp-url $SMTP_URL --mail-from $FROM --mail-interval 1"
central_start $NET.10 18960 srv
"$ASR_CENTRAL" site add acme --contact "supplies@acme.example" --db "$CENTRAL_DB" \
  >"$O.site" 2>"$E.site"
SITE_TOKEN=$(grep -o 'st_[0-9a-f]\{32\}' "$O.site" | head -n 1)
[ -n "$SITE_TOKEN" ] || { show "$E.site"; exit 99; }

# alert_mails RCPT [cleared]: the alert mails (or cleared notices) the sink got for RCPT.
alert_mails()
{
  python3 - "$MAILDIR" "$1" "${2:-}" <<'EOF'
import email, email.policy, glob, json, sys
d, rcpt, kind = sys.argv[1:4]
subj = 'printer alert cleared' if kind else 'printer alert'
n = 0
for f in glob.glob(d + '/mail-*.eml'):
    meta = json.load(open(f[:-4] + '.json'))
    m = email.message_from_binary_file(open(f, 'rb'), policy=email.policy.default)
    if rcpt in meta['rcpt_tos'] and m['Subject'].endswith(': ' + subj):
        n += 1
print(n)
EOF
}

# wait_mails RCPT KIND COUNT: waits (30 s at most) until RCPT got COUNT such mails.
wait_mails()
{
  _i=0
  while [ "$(alert_mails "$1" "$2")" -lt "$3" ] && [ $_i -lt 300 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  [ "$(alert_mails "$1" "$2")" -eq "$3" ]
}

# poll_at SECONDS: one poll SECONDS (simulated) after the previous one.
poll_at()
{
  tick
  ITEST_CLOCK=$((ITEST_CLOCK + $1))
  ASR_TEST_CLOCK=$ITEST_CLOCK
  export ASR_TEST_CLOCK
  run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
  [ "$RC" = 0 ] || { not_ok "poll failed (exit $RC)"; show "$E.p"; }
}

upload()
{
  run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 60
  check_status "$1: upload" 0 "$RC"
  [ "$RC" = 0 ] || show "$E.u"
}

alerts()
{
  run "$O.al" "$E.al" "$ASR_CENTRAL" alerts --db "$CENTRAL_DB" "$@"
}

## 1. the agent: discover, enrol, two polls 10 minutes apart (the jam must persist), upload
run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1
check_status "discover the Sharp MFP" 0 "$RC"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$CA"
check_status "enroll" 0 "$RC"
poll_at 0
poll_at 601
upload "first"
alerts --site acme --format json
check_status "asr-central alerts --site acme" 0 "$RC"
jcheck "two open alerts: the toner empty and the persisting jam (not the paper-low warning)" \
  "$O.al" 'sorted(a["code"] for a in d["alerts"]) == ["jam", "markerTonerEmpty"] and all(a["open"] and a["severity"] == "critical" for a in d["alerts"])'
jcheck "... with their groups, indexes and descriptions" "$O.al" \
  '{a["code"]: (a["group"], a["group_index"], a["description"][:10]) for a in d["alerts"]} == {"jam": ("mediaPath", 1, "Jam in fus"), "markerTonerEmpty": ("markerSupplies", 1, "Toner noir")}'
check "the alerts' JSON is valid UTF-8" valid_json "$O.al"
check "no control characters in the alerts" no_control "$O.al"

## 2. the mails: toner -> the contact; jam -> the contact and the service address
check "the toner and the jam mailed the contact (2 mails)" wait_mails supplies@acme.example "" 2
check "the jam mailed the service address (1 mail)" wait_mails service@provider.test "" 1
check "the paper-low warning mailed nobody (3 alert mails in all)" \
  test "$(($(alert_mails supplies@acme.example) + $(alert_mails service@provider.test)))" -eq 3
python3 - "$MAILDIR" >"$O.mailcheck" 2>&1 <<'EOF'
import email, email.policy, glob, sys
bad = []
for f in glob.glob(sys.argv[1] + '/mail-*.eml'):
    raw = open(f, 'rb').read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    if not m['Subject'].endswith('printer alert'):
        continue
    body = m.get_content()
    raw.decode('utf-8')
    if any(ord(c) < 32 and c not in '\r\n\t' for c in body):
        bad.append('control character in ' + f)
    for want in ('Printer: ', 'Alert: ', 'Group: ', 'Raised: '):
        if want not in body:
            bad.append('%s lacks %r' % (f, want))
    if 'jam' in body and 'service@' in m['To'] and 'routed to service' not in body.replace('\n', ' '):
        bad.append('service mail does not say why')
print('\n'.join(bad) or 'ok')
sys.exit(1 if bad else 0)
EOF
check "alert mails: valid UTF-8, no controls, printer, alert, group and time ($(head -c 200 "$O.mailcheck"))" \
  test "$(cat "$O.mailcheck")" = ok

## 3. the page and /api show the alerts and the meters (to a signed-in staff member)
printf 'alerts test password\n' >"$TMPD/pw" && chmod 600 "$TMPD/pw"
"$ASR_CENTRAL" staff add ops --password-file "$TMPD/pw" --db "$CENTRAL_DB" >/dev/null 2>&1 || exit 99
curl -sS --cacert "$CA" -D "$O.pre.h" -o /dev/null "$CENTRAL_URL/signin"
PRE=$(grep -io '^set-cookie: __Host-asr_pre=[0-9a-f]*' "$O.pre.h" | sed 's/.*=//')
curl -sS --cacert "$CA" -D "$O.in.h" -o /dev/null -H "Cookie: __Host-asr_pre=$PRE" \
  --data "csrf=$PRE&name=ops&password=alerts+test+password" "$CENTRAL_URL/signin/staff"
SID=$(grep -io '^set-cookie: __Host-asr_session=[0-9a-f]*' "$O.in.h" | sed 's/.*=//')
[ -n "$SID" ] || { show "$O.in.h"; exit 99; }
get()
{
  CODE=$(curl -sS --max-time 20 --cacert "$CA" -o "$O.$1" -w '%{http_code}' \
    -H "Cookie: __Host-asr_session=$SID" "$CENTRAL_URL$2" 2>"$E.$1")
}
get page /sites/acme
check "GET /sites/acme -> 200" test "$CODE" = 200
check "page: the open alerts chip" grep -q '<b>2</b>open alerts' "$O.page"
check "page: the toner alert" grep -q '<b>markerTonerEmpty</b> Toner noir' "$O.page"
check "page: the jam, its group and index" grep -q '<b>jam</b> Jam in fuser area.*(mediaPath 1, since' "$O.page"
check "page: a meters table with the marker's and Sharp's counters" sh -c \
  'grep -q "<tr class=\"meter\"><td>marker.1</td><td>impressions</td>" "$1" && grep -q "<tr class=\"meter\"><td>print_black</td>" "$1"' _ "$O.page"
get api /api/sites/acme
jcheck "api: the device's two open alerts and its meters of the month" "$O.api" \
  'd["open_alerts"] == 2 and len(d["devices"]) == 1 and sorted(a["code"] for a in d["devices"][0]["alerts"]) == ["jam", "markerTonerEmpty"] and any(m["meter"] == "marker.1" and m["latest"] > 0 and m["reads"] >= 2 for m in d["devices"][0]["meters"])'
"$ASR_CENTRAL" meters --site acme --format json --db "$CENTRAL_DB" >"$O.meters" 2>"$E.meters"
check "api: the meters as asr-central meters says them (latest read, usage)" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["devices"][0]["meters"]
m = json.load(open(sys.argv[2]))["meters"]
sys.exit(not a or sorted((x["meter"], x["latest"], x["usage"]) for x in a) != sorted((x["meter"], x["end"], x["usage"]) for x in m))' "$O.api" "$O.meters"

## 4. the same events again: the batch re-sent by another agent of the site, another upload
python3 "$ASRLOAD" enroll "$CENTRAL_URL" "$SITE_TOKEN" --ca "$CA" >"$O.enroll2" 2>"$E.enroll2"
AG2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.enroll2")
SEC2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.enroll2")
# resend SEQ: a batch of AG2 carrying every alert event the central stored, as sent
resend()
{
  central_sql -s "$(printf '\037')" "SELECT d.key, e.t, e.kind, CASE WHEN e.detail IS NULL THEN 1 ELSE 0 END, e.detail FROM events e JOIN devices d ON d.id = e.device_id WHERE e.kind LIKE 'alert%' ORDER BY e.t" \
    >"$TMPD/resend.rows" || return 1
  python3 - "$TMPD/resend.rows" "$AG2" "$1" >"$TMPD/resend.json" <<'EOF'
import json, sys
rows = []
for line in open(sys.argv[1], encoding='utf-8'):
    key, t, kind, null, detail = line.rstrip('\n').split('\x1f')
    rows.append((key, int(t), kind, None if null == '1' else detail))
keys = sorted({r[0] for r in rows})
print(json.dumps({'protocol': 2, 'batch_id': '%s-%s' % (sys.argv[2], sys.argv[3]),
                  'agent_id': sys.argv[2], 'devices': [{'key': k} for k in keys], 'readings': [],
                  'events': [{'device': keys.index(r[0]), 't': r[1], 'kind': r[2], 'detail': r[3]} for r in rows]}))
EOF
  python3 "$ASRLOAD" send "$CENTRAL_URL" --agent "$AG2" --secret "$SEC2" --json "$TMPD/resend.json" \
    --gzip --ca "$CA" >"$O.resend" 2>&1
}
resend 1
jcheck "the same alert events from another agent of the site: stored" "$O.resend" \
  'd["status"] == 200 and d["body"]["status"] == "stored"'
resend 1
jcheck "... and that batch sent again: a duplicate" "$O.resend" \
  'd["status"] == 200 and d["body"]["status"] == "duplicate"'
poll_at 60
upload "again"
sleep 3
alerts --site acme --format json
jcheck "still the same two open alerts" "$O.al" 'len(d["alerts"]) == 2'
check "no mail more (2 to the contact, 1 to the service address)" \
  test "$(alert_mails supplies@acme.example)/$(alert_mails service@provider.test)" = 2/1

## 5. the table moves: the toner alert is gone, the jam now at index 14 (same alert)
python3 - "$SIMFILE" <<'EOF'
import sys
p = sys.argv[1]
out = []
for line in open(p, encoding='latin-1'):
    oid = line.split('|', 1)[0]
    pre = '1.3.6.1.2.1.43.18.1.1.'
    if oid.startswith(pre):
        col, hr, idx = oid[len(pre):].split('.')
        if idx == '3':
            continue
        if idx == '12':
            line = line.replace(pre + '%s.%s.12|' % (col, hr), pre + '%s.%s.14|' % (col, hr), 1)
    out.append(line)
open(p, 'w', encoding='latin-1').writelines(out)
EOF
sim_stop
sim_start
poll_at 300
upload "after the toner alert cleared"
alerts --site acme --all --format json
jcheck "the toner alert is cleared, the jam still open (one alert, its index moved)" "$O.al" \
  'sorted((a["code"], a["open"]) for a in d["alerts"]) == [("jam", True), ("markerTonerEmpty", False)] and all(a["cleared_at"] for a in d["alerts"] if not a["open"])'
check "the contact got one cleared notice" wait_mails supplies@acme.example cleared 1
check "... and the service address none (it was not told of the toner)" \
  test "$(alert_mails service@provider.test cleared)" = 0
alerts --site acme --all --format csv
check "alerts --all --format csv: a head and two rows" test "$(wc -l <"$O.al")" -eq 3
alerts --site acme
check "alerts (table, open only): the jam alone" sh -c \
  'grep -q " jam " "$1" && ! grep -q markerTonerEmpty "$1"' _ "$O.al"

## 6. a restart of the central, another upload: no mail twice (the central on the real clock)
central_stop
unset ASR_TEST_CLOCK
central_start $NET.10 18960 srv
poll_at 60
upload "after the restart"
resend 2
sleep 3
check "after a restart and the events once more: still 2 + 1 alert mails and 1 cleared notice" \
  test "$(alert_mails supplies@acme.example)/$(alert_mails service@provider.test)/$(alert_mails supplies@acme.example cleared)" = 2/1/1

## 7. hostile batches (through the second agent)
# hostile NAME PYTHON: a batch of AG2 made by PYTHON (it sets b), sent; answer in $O.NAME
hostile()
{
  python3 - "$AG2" "$1" "$2" >"$TMPD/$1.json" <<'EOF'
import json, sys
agent, name, code = sys.argv[1:4]
now = 1795000000
b = {'protocol': 2, 'batch_id': '%s-%s' % (agent, name), 'agent_id': agent,
     'devices': [{'key': 'serial:EVIL-' + name, 'serial': '<b>EVIL</b>-' + name}],
     'readings': [], 'events': []}
exec(code)
sys.stdout.write(json.dumps(b))
EOF
  python3 "$ASRLOAD" send "$CENTRAL_URL" --agent "$AG2" --secret "$SEC2" --json "$TMPD/$1.json" \
    --gzip --ca "$CA" >"$O.$1" 2>&1
}
hostile big 'b["events"] = [{"device": 0, "t": now, "kind": "alert:00000000000000b1", "detail": "critical jam (mediaPath 1): " + "A" * 65536}, {"device": 0, "t": now, "kind": "alert:00000000000000b2", "detail": "critical coverOpen (cover 1): <script>alert(1)</script>\u001b[31m\u202eevil"}]'
jcheck "a 64 KB detail: that event refused by name, the other stored" "$O.big" \
  'd["status"] == 200 and d["body"]["events_refused"] == 1 and "events[0].detail" in d["body"]["refused"][0]["error"]'
printf '{"protocol":2,"batch_id":"%s-utf","agent_id":"%s","devices":[{"key":"k"}],"readings":[],"events":[{"device":0,"t":1,"kind":"alert:00000000000000c1","detail":"\377\376"}]}' \
  "$AG2" "$AG2" >"$TMPD/utf.json"
python3 "$ASRLOAD" send "$CENTRAL_URL" --agent "$AG2" --secret "$SEC2" --json "$TMPD/utf.json" \
  --gzip --ca "$CA" >"$O.utf" 2>&1
jcheck "bad UTF-8: 400, nothing stored" "$O.utf" 'd["status"] == 400 and "not JSON" in d["body"]["error"]'
hostile many 'b["events"] = [{"device": 0, "t": now + i, "kind": "alert:%016x" % i, "detail": "critical markerTonerEmpty (markerSupplies 1): empty %d" % i} for i in range(10000)]'
jcheck "10,000 alert events in one batch: stored" "$O.many" \
  'd["status"] == 200 and d["body"]["status"] == "stored"'
hostile toomany 'b["events"] = [{"device": 0, "t": now + i, "kind": "alert:%016x" % i} for i in range(10001)]'
jcheck "10,001 events: 413, split it" "$O.toomany" \
  'd["status"] == 413 and "10001" in d["body"]["error"]'
alerts --site acme --format json
jcheck "the hostile device: at most 100 open alerts tracked" "$O.al" \
  'sum(1 for a in d["alerts"] if a["device"] == "serial:EVIL-many") == 100'
sleep 4
check "the hostile device's mails capped at alert_mails_per_day (5)" \
  test "$(alert_mails supplies@acme.example)" -eq $((2 + 5 + 1))
check "the central still runs" kill -0 "$CENTRAL_PID"
get page2 /sites/acme
check "page after the hostile batches -> 200" test "$CODE" = 200
check "page: the hostile markup escaped, bidi and escape replaced" sh -c \
  'grep -q "&lt;script&gt;alert(1)&lt;/script&gt;" "$1" && ! grep -q "<script" "$1" && ! grep -q "$(printf "\033")" "$1" && ! grep -q "$(printf "\342\200\256")" "$1"' _ "$O.page2"
check "page: at most 20 alerts of a device shown, the rest counted" grep -q 'and 80 more open alerts' "$O.page2"
finish
