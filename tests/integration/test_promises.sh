#!/bin/sh
# test_promises.sh: the service's promises of issue 11 end to end, through the real protocol:
# a site registered with its first supplies contact and a second one (each confirmed by mail
# at once, through the outbox), devices assigned to the second contact, 23 simulated days fed
# as signed batches over HTTP (tests/integration/promises_feed.py), `replenish --now` each
# day on ASR_TEST_CLOCK, the mails received by a real SMTP server on loopback:
# - one order per contact, each to its own contact and delivery address; a waste container
#   with each black toner the printers name "Black" (no standard name from the agent) or
#   "schwarz" (the agent's "black" beside it);
# - a contact's address changed: the open order keeps its address, the history keeps both;
# - a backorder holds its line only: the other line ships, its mail names the model;
# - high use judged per calendar week: not eligible, then eligible again, both mailed;
# - a special order (order extra, --job, --reason) shipped and tracked like the others, its
#   job neither teaching the rate nor firing the spike rule;
# - `devices` labels a drum by its type; the status API's explicit states.
# Addresses 127.60.11.1 (central, ports 18730-18731) and 127.60.11.2 (SMTP, port 0).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

uplink_init promises
need_central
need_aiosmtpd
A=127.60.11.1
SMTP_ADDR=127.60.11.2
FROM=asr-central@provider.test
FEED="$top_srcdir/tests/integration/promises_feed.py"
DAY0=$(($(date +%s) / 86400 - 40))
DAY0=$((DAY0 - (DAY0 + 3) % 7)) # a Monday: use is judged on calendar weeks
O="$TMPD/out"
MAILDIR="$TMPD/smtp"

mkdir -p "$MAILDIR"
"$PY" "$top_srcdir/tests/integration/smtpserver.py" --addr "$SMTP_ADDR" --dir "$MAILDIR" \
  >>"$TMPD/smtp.log" 2>&1 &
SMTP_PID=$!
pid_track "$SMTP_PID"
_i=0
while [ ! -f "$MAILDIR/port" ] && [ $_i -lt 100 ] && kill -0 "$SMTP_PID" 2>/dev/null; do
  sleep 0.1
  _i=$((_i + 1))
done
[ -f "$MAILDIR/port" ] || { show "$TMPD/smtp.log"; exit 99; }
SMTP_URL="smtp://$SMTP_ADDR:$(cat "$MAILDIR/port")"

clock() { echo $(((DAY0 + $1) * 86400 + ${2:-12} * 3600)); }

# central CMD ARGS...: asr-central CMD ARGS... --db ... on simulated day $DAY; $O.CMD, RC.
central()
{
  _c=$1
  shift
  run "$O.$_c" "$O.$_c.err" env ASR_TEST_CLOCK="$(clock "$DAY")" "$ASR_CENTRAL" "$_c" "$@" \
    --db "$CENTRAL_DB"
}

# mails RCPT [TEXT]: messages accepted for RCPT (that hold TEXT).
mails()
{
  _n=0
  for _f in $(grep -l "\"$1\"" "$MAILDIR"/mail-*.json 2>/dev/null); do
    _m="${_f%.json}.eml"
    if [ -z "$2" ] || grep -q "$2" "$_m"; then _n=$((_n + 1)); fi
  done
  echo "$_n"
}

feed_to()
{
  while [ "$DAY" -lt "$1" ]; do
    DAY=$((DAY + 1))
    python3 "$FEED" day "$CENTRAL_URL" "$TMPD/agent.json" "$DAY0" "$DAY" 2>>"$O.feed.err" ||
      { not_ok "feeding day $DAY"; show "$O.feed.err"; }
    central replenish --now --mail-from "$FROM" --smtp-url "$SMTP_URL"
    sed "s/^/day $DAY: /" "$O.replenish" >>"$O.days"
  done
}

# get_api DAY: the site's status API as of DAY's noon, from a second serve on that clock (the
# first one takes the batches on the real clock, which their signatures are checked against).
get_api()
{
  ASR_TEST_CLOCK=$(clock "$1") "$ASR_CENTRAL" serve --listen "$A:18731" --db "$CENTRAL_DB" \
    --no-replenish >>"$TMPD/run/api.log" 2>&1 &
  _api=$!
  pid_track "$_api"
  wait_port "$A" 18731 100 "$_api" || { show "$TMPD/run/api.log"; exit 99; }
  curl -sS -H "Authorization: Bearer $STAFF_TOKEN" "http://$A:18731/api/sites/north" \
    >"$O.api.$1" 2>>"$O.curl.err"
  pid_stop "$_api"
}

DAY=0
CENTRAL_OPTS=--no-replenish
central_start $A 18730
# the status API is the staff's: an API token (asr-central staff token)
printf 'promises test password\n' >"$TMPD/pw" && chmod 600 "$TMPD/pw"
"$ASR_CENTRAL" staff add ops --password-file "$TMPD/pw" --db "$CENTRAL_DB" >/dev/null 2>&1
STAFF_TOKEN=$("$ASR_CENTRAL" staff token ops --db "$CENTRAL_DB" 2>/dev/null)

# Registration: the site with its first contact (the mail queued at once), a second contact
# (its mail sent at once with --smtp-url).
central site add north --contact ops@north.example --name "North Ops" --address "1 North Road" \
  --mail-from "$FROM"
check_status "site add north --name --address" 0 "$RC"
check "site add prints the token alone" sh -c "test \$(wc -l <'$O.site') -eq 1 && grep -q '^st_' '$O.site'"
cp "$O.site" "$TMPD/token"
central contact add north --email lab@north.example --name "Lab" --address "Lab building 2" \
  --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "contact add north --email lab@north.example" 0 "$RC"
check "the registration mails reached both contacts at once" \
  sh -c "test \$(grep -l 'registered for automatic supplies' '$MAILDIR'/mail-*.eml | wc -l) -eq 2"
check "... the second's names its delivery address" test "$(mails lab@north.example 'Lab building 2')" -eq 1
central contact add north --email lab@north.example
check_status "a contact's e-mail twice is refused" 1 "$RC"
central contact add north --email "Lab <lab@north.example>"
check_status "a contact that is no plain address is refused" 2 "$RC"
central contact add nowhere --email x@north.example
check_status "a contact of a site that does not exist" 1 "$RC"

python3 - "$CENTRAL_URL" "$TMPD/token" "$top_srcdir/tests/load" >"$TMPD/agent.json" 2>"$TMPD/enroll.err" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[3])
import asrload
st, b, _ = asrload.enroll(sys.argv[1], open(sys.argv[2]).read().strip(), None)
print(json.dumps({'agent': b['agent_id'], 'secret': b['secret']}))
PYEOF
valid_json "$TMPD/agent.json" || { show "$TMPD/enroll.err"; exit 99; }

# Day 0: the devices report; two of them are the lab's.
DAY=-1
feed_to 0
central device assign NO0002 --contact lab@north.example --site north
check_status "device assign NO0002 --contact lab@north.example" 0 "$RC"
central device assign NO0004 --contact 2
check_status "device assign NO0004 --contact 2" 0 "$RC"
central device assign NO0009 --contact 2
check_status "device assign of a device that does not exist" 1 "$RC"
central contact list --format json
jcheck "contact list: two contacts, the lab's with two devices" "$O.contact" \
  '[(c["email"], c["devices"], c["first"]) for c in d["contacts"]] == [("ops@north.example", 3, True), ("lab@north.example", 2, False)]'
central devices --format table
check "devices labels the drum by its type, not its colour" grep -q "drum (black) 90%" "$O.devices"
get_api 0
jcheck "api on day 0: no usage rate yet, with the days of reports still needed" "$O.api.0" \
  'all(x["state"] == "no usage rate" and x["no_rate_days"] >= 1 for x in d["devices"])'

# Days 1-9: judged on the week of days 0-6; NO0003 is not eligible (2.5 cartridges a week);
# on day 9 NO0001 and NO0002 reach 21 days left: one order per contact.
feed_to 9
check "day 7: NO0003 not eligible, mailed to its contact" \
  test "$(mails ops@north.example 'not eligible for automatic supplies')" -eq 1
central orders --format json
cp "$O.orders" "$O.orders9"
jcheck "two orders on day 9, one per contact, each with its address" "$O.orders9" \
  'sorted((o["contact"], o["address"]) for o in d["orders"]) == [("lab@north.example", "Lab building 2"), ("ops@north.example", "1 North Road")]'
jcheck "a waste container with each black toner: 'Black' without a standard name, 'schwarz' with one" \
  "$O.orders9" \
  'sorted((l["serial"], l["supply_index"], l["reason"]) for o in d["orders"] for l in o["lines"]) == [("NO0001", 1, "trigger"), ("NO0001", 2, "with black toner"), ("NO0002", 1, "trigger"), ("NO0002", 2, "with black toner")]'
check "the lab's order mail went to the lab, with its address (as its registration did)" \
  test "$(mails lab@north.example 'Delivery address: Lab building 2')" -eq 2
check "... its waste line says why" test "$(mails lab@north.example 'ships with the black toner')" -eq 1
LAB=$(python3 -c 'import json,sys; print([o["id"] for o in json.load(open(sys.argv[1]))["orders"] if o["contact"] == "lab@north.example"][0])' "$O.orders9")
OPS=$(python3 -c 'import json,sys; print([o["id"] for o in json.load(open(sys.argv[1]))["orders"] if o["contact"] == "ops@north.example"][0])' "$O.orders9")

# The lab moves: its open order keeps the old address, the history both.
central contact change lab@north.example --site north --address "Lab building 9"
check_status "contact change --address" 0 "$RC"
central orders --format json
jcheck "the open order keeps the address it was made with" "$O.orders" \
  '[o["address"] for o in d["orders"] if o["id"] == '"$LAB"'] == ["Lab building 2"]'
central contact history lab@north.example --site north --format json
jcheck "the contact's history: created, a device twice, the address" "$O.contact" \
  '[h["what"] for h in d["history"]] == ["created", "device", "device", "address"] and d["history"][-1]["old"] == "Lab building 2" and d["history"][-1]["new"] == "Lab building 9"'

# The warehouse: the lab's waste container is backordered, its toner ships.
central order backorder "$LAB" --line 2 --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "order backorder $LAB --line 2" 0 "$RC"
central order ship "$LAB" --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "order ship $LAB (the lines in stock)" 0 "$RC"
central orders --format json
jcheck "a backorder holds its line only: the toner shipped, the container backordered" "$O.orders" \
  '[(l["line"], l["state"]) for o in d["orders"] if o["id"] == '"$LAB"' for l in o["lines"]] == [(1, "shipped"), (2, "backordered")]'
check "the backorder mail names the container, the ship mail the toner with its model" \
  sh -c "test $(mails lab@north.example 'delayed (backordered)') -eq 1 && test $(mails lab@north.example 'Label: NO0002 (Laser 500)') -ge 2"
central order ship "$LAB" --line 2 --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "order ship $LAB --line 2 (arrived)" 0 "$RC"
check "... its own mail: shipped after the delay" \
  test "$(mails lab@north.example 'shipped after the delay')" -eq 1
central order ship "$OPS" --mail-from "$FROM"
central order deliver "$OPS"
central order deliver "$LAB"
check_status "order deliver $LAB" 0 "$RC"

# A special order for a print job on days 20-22: shipped and tracked like the others.
J1=$(date -u -d "@$(clock 20)" +%Y-%m-%d)
J2=$(date -u -d "@$(clock 22)" +%Y-%m-%d)
DAY=10
central order extra NO0004 black 1 --job "$J1..$J2" --reason "Annual report" --mail-from "$FROM" \
  --smtp-url "$SMTP_URL"
check_status "order extra NO0004 black 1 --job $J1..$J2 --reason" 0 "$RC"
check "its mail went to the device's contact, with the request" \
  test "$(mails lab@north.example 'Your request: Annual report')" -eq 1
central order extra NO0004 black 0
check_status "order extra of 0 cartridges is refused" 2 "$RC"
central order extra NO0004 cyan 1
check_status "order extra of a supply the device does not have is refused" 2 "$RC"
central order extra NO0004 black 1 --job "$J2..$J1"
check_status "order extra with a job ending before it starts is refused" 2 "$RC"
central orders --format json
XID=$(python3 -c 'import json,sys; print([o["id"] for o in json.load(open(sys.argv[1]))["orders"] if o["kind"] == "extra"][0])' "$O.orders")
jcheck "the special order: its kind, its job, one line" "$O.orders" \
  '[(o["note"], len(o["lines"]), o["lines"][0]["job"]) for o in d["orders"] if o["kind"] == "extra"] == [("Annual report", 1, {"from": "'"$J1"'", "to": "'"$J2"'"})]'
central order ship "$XID"
DAY=13
central order deliver "$XID"
check_status "the special order ships and is delivered like the others" 0 "$RC"
DAY=10

# Days 11-23: the job prints 2000 a day more; NO0003's use falls and it is eligible again.
feed_to 23
check "day 21: NO0003 eligible again, mailed" \
  test "$(mails ops@north.example 'eligible again for automatic supplies')" -eq 1
central orders --format json
jcheck "the job fired no usage spike, and nothing was added to the special order" "$O.orders" \
  'not any(l["reason"] == "usage spike" for o in d["orders"] for l in o["lines"]) and [len(o["lines"]) for o in d["orders"] if o["kind"] == "extra"] == [1]'
jcheck "NO0004 was ordered nothing besides its special order (the job left its rate alone)" "$O.orders" \
  'not any(l["serial"] == "NO0004" for o in d["orders"] if o["kind"] == "asr" for l in o["lines"])'
get_api 23
jcheck "api: one state per device, NO0003 active again, its contact shown" "$O.api.23" \
  '(lambda x: x["state"] == "active" and x["contact"] == "ops@north.example")(dev_by(d["devices"], "serial", "NO0003")) and all(x["state_text"] for x in d["devices"])'
jcheck "api: the drum is not supplied by ASR" "$O.api.23" \
  'sup(dev_by(d["devices"], "serial", "NO0005"), 2)["state"] == "not asr"'
central mail --status
check "every mail sent, none failed" sh -c "grep -q '^pending 0$' '$O.mail' && grep -q '^failed 0$' '$O.mail'"
"$PY" - "$MAILDIR" >"$O.msgids" 2>&1 <<'PYEOF'
import email, glob, sys
ids = [email.message_from_bytes(open(f, 'rb').read()).get('Message-ID', '')
       for f in sorted(glob.glob(sys.argv[1] + '/mail-*.eml'))]
print('\n'.join(ids))
sys.exit(0 if len(ids) == len(set(ids)) and all(ids) else 1)
PYEOF
check "every mail once, under its own Message-ID" test $? -eq 0
central_stop
finish
