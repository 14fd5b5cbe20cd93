#!/bin/sh
# test_orders.sh: orders and notices end to end. A real asr-central database is fed over
# HTTP (signed batches, as agents send them) with 47 simulated days of a small fleet
# (tests/integration/orders_feed.py: steady use, consolidation, a high-use device, an early
# replacement, devices that go silent), `replenish --now` runs each day on ASR_TEST_CLOCK,
# the orders are listed, backordered, shipped and delivered, and the notices are delivered
# through the outbox to a REAL SMTP server on loopback (aiosmtpd, smtpserver.py): each
# expected mail arrives exactly once, a server that is down loses nothing, a 5xx marks the
# mail failed. Finally `serve` runs the day's engine by itself.
# Addresses 127.60.6.1 (central, ports 18690-18691) and 127.60.6.2 (SMTP, port 0).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

uplink_init orders
need_central
need_aiosmtpd
A=127.60.6.1
SMTP_ADDR=127.60.6.2
FROM=asr-central@provider.test
FEED="$top_srcdir/tests/integration/orders_feed.py"
SMTP_RUN=0
# simulated day 0: a Monday 60 days ago (the readings lie in the past; a device's use is judged
# on whole calendar weeks, so its first week is days 0-6 and it is judged on day 7)
DAY0=$(($(date +%s) / 86400 - 60))
DAY0=$((DAY0 - (DAY0 + 3) % 7))
SMTP_PID=""
O="$TMPD/out"

# smtp_start: the SMTP server (a new port and directory $TMPD/smtpN each time); sets
# SMTP_URL.
smtp_start()
{
  SMTP_RUN=$((SMTP_RUN + 1))
  MAILDIR="$TMPD/smtp$SMTP_RUN"
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
}

smtp_stop()
{
  pid_stop "$SMTP_PID"
  SMTP_PID=""
}

# clock DAY [HOUR]: ASR_TEST_CLOCK of simulated day DAY at HOUR (12 by default).
clock()
{
  echo $(((DAY0 + $1) * 86400 + ${2:-12} * 3600))
}

# central CMD ARGS...: asr-central CMD --db ... on simulated day $DAY; $O.CMD, RC.
central()
{
  _c=$1
  shift
  run "$O.$_c" "$O.$_c.err" env ASR_TEST_CLOCK="$(clock "$DAY")" "$ASR_CENTRAL" "$_c" \
    --db "$CENTRAL_DB" "$@"
}

# replenish: the day's run, mails sent right away; the output is appended to $O.days.
replenish()
{
  central replenish --now --mail-from "$FROM" --smtp-url "$SMTP_URL"
  RRC=$RC
  sed "s/^/day $DAY: /" "$O.replenish" >>"$O.days"
  cat "$O.replenish.err" >>"$O.days.err"
}

# mails_to RCPT: messages the server accepted for RCPT.
mails_to()
{
  grep -l "\"$1\"" "$TMPD"/smtp*/mail-*.json 2>/dev/null | wc -l | tr -d ' '
}

# orders_json: the orders as JSON into $O.orders.
orders_json()
{
  central orders --format json "$@"
  cp "$O.orders" "$O.orders.json"
}

# feed_to DAY: feeds and runs the days up to DAY.
feed_to()
{
  while [ "$DAY" -lt "$1" ]; do
    DAY=$((DAY + 1))
    python3 "$FEED" day "$CENTRAL_URL" "$TMPD/agents.json" "$DAY0" "$DAY" 2>>"$O.feed.err" ||
      { not_ok "feeding day $DAY"; show "$O.feed.err"; }
    replenish
  done
}

smtp_start
CENTRAL_OPTS=--no-replenish
central_start $A 18690
for s in acme beta gamma; do
  contact=ops@$s.example
  [ $s = gamma ] && contact=refuse@$s.example
  "$ASR_CENTRAL" site add $s --contact $contact --db "$CENTRAL_DB" >"$TMPD/token.$s" 2>&1 ||
    { show "$TMPD/token.$s"; exit 99; }
done
run "$O.badsite" "$O.badsite.err" "$ASR_CENTRAL" site add delta --contact "not an address" \
  --db "$CENTRAL_DB"
check_status "site add with a contact that is no e-mail address is refused" 2 "$RC"
check "... saying what an address must be" grep -q "local@domain" "$O.badsite.err"
# (a contact written "Ops <ops@x.example>" is accepted: test_central.sh)
python3 - "$CENTRAL_URL" "$TMPD" "$top_srcdir/tests/load" >"$TMPD/agents.json" 2>"$TMPD/enroll.err" <<'PYEOF'
import json, sys
sys.path.insert(0, sys.argv[3])
import asrload
out = {}
for s in ('acme', 'beta', 'gamma'):
    tok = open(sys.argv[2] + '/token.' + s).read().strip()
    st, b, _ = asrload.enroll(sys.argv[1], tok, None)
    out[s] = {'agent': b['agent_id'], 'secret': b['secret']}
print(json.dumps(out))
PYEOF
valid_json "$TMPD/agents.json" || { show "$TMPD/enroll.err"; exit 99; }

# Days 0..8: nothing is due (OR0001 reaches 21 days left on day 9).
DAY=-1
feed_to 8
check "days 0-8: replenish ran each day (exit 0)" test "$(grep -c 'devices, 0 orders' "$O.days")" -eq 9
central orders --format json
jcheck "days 0-8: no order" "$O.orders" 'd["orders"] == []'
check "the high-use device OR0003 is reported, not ordered for" \
  grep -q "high use: OR0003 (site acme) is not eligible" "$O.days"

# Day 9: one order, consolidated: OR0001's toner (and the waste toner that ships with black
# toner) opens it, OR0002 (its own trigger on day 29, within 45 days) joins.
feed_to 9
check_status "day 9: replenish --now" 0 "$RRC"
orders_json
jcheck "day 9: one order of site acme, state created, reason trigger" "$O.orders.json" \
  'len(d["orders"]) == 1 and d["orders"][0]["site"] == "acme" and d["orders"][0]["state"] == "created" and d["orders"][0]["reason"] == "trigger"'
jcheck "order 1 lines: OR0001 toner x1 (trigger) + waste toner x1 (with black toner), OR0002 toner x1 (consolidated)" \
  "$O.orders.json" \
  '[(l["serial"], l["supply_index"], l["quantity"], l["reason"]) for l in d["orders"][0]["lines"]] == [("OR0001", 1, 1, "trigger"), ("OR0001", 2, 1, "with black toner"), ("OR0002", 1, 1, "consolidated")]'
jcheck "order lines name the supply and colorant" "$O.orders.json" \
  'd["orders"][0]["lines"][0]["supply"] == "Black Toner Cartridge" and d["orders"][0]["lines"][0]["colorant"] == "black"'
check "the registration, OR0003's not-eligible notice and the order-created mails reached ops@acme.example" \
  test "$(mails_to ops@acme.example)" -eq 3
check "... the not-eligible notice names OR0003" \
  sh -c "grep -l 'OR0003' '$TMPD'/smtp*/mail-*.eml | xargs grep -l 'not eligible for automatic supplies' | grep -q ."
check "... the order's mail names the waste container's reason" \
  sh -c "grep -l 'supplies order 1 created' '$TMPD'/smtp*/mail-*.eml | xargs grep -l 'ships with the black toner' | grep -q ."
central replenish --now --mail-from "$FROM" --smtp-url "$SMTP_URL"
check "a second run on day 9 adds nothing" grep -q "ran already" "$O.replenish"
central orders --format json
jcheck "still one order" "$O.orders" 'len(d["orders"]) == 1'
check "still three mails to acme" test "$(mails_to ops@acme.example)" -eq 3
central orders --format table --site acme
check "orders --format table lists the order and its lines" \
  sh -c "grep -q '^1 .*acme .*created .*trigger' '$O.orders' && grep -q 'OR0002 .*consolidated' '$O.orders'"
central orders --site nowhere
check_status "orders --site of a site that does not exist" 1 "$RC"
check "... says so" grep -q "no site 'nowhere'" "$O.orders.err"

# The warehouse: backorder, ship (after the backorder), deliver; wrong steps refused.
feed_to 10
central order backorder 1 --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "order backorder 1" 0 "$RC"
central order deliver 1 --mail-from "$FROM"
check_status "order deliver 1 while backordered is refused" 1 "$RC"
check "... naming the state" grep -q "order 1 is backordered: cannot deliver it" "$O.order.err"
central order ship 1 --mail-from "$FROM" --smtp-url "$SMTP_URL"
check_status "order ship 1" 0 "$RC"
central order backorder 1 --mail-from "$FROM"
check_status "order backorder 1 once shipped is refused" 1 "$RC"
central order ship 999 --mail-from "$FROM"
check_status "order ship 999 (no such order)" 1 "$RC"
check "... says so" grep -q "no order 999" "$O.order.err"
central order frobnicate 1
check_status "order frobnicate 1 (no such step)" 2 "$RC"
central order ship 1x
check_status "order ship 1x (not a number)" 2 "$RC"
check "backordered and shipped mails reached acme (5 in all)" test "$(mails_to ops@acme.example)" -eq 5
check "... the ship mail names the models" \
  sh -c "grep -l 'supplies order 1 shipped' '$TMPD'/smtp*/mail-*.eml | xargs grep -l 'Label: OR0001 (Laser 500)' | grep -q ."
feed_to 12
central order deliver 1 --mail-from "$FROM"
check_status "order deliver 1" 0 "$RC"
central orders --format json --open
jcheck "a delivered order is not open" "$O.orders" 'd["orders"] == []'
central orders --format json
jcheck "order 1 is delivered" "$O.orders" 'd["orders"][0]["state"] == "delivered"'
check "delivery sends no mail (still 5 to acme)" test "$(mails_to ops@acme.example)" -eq 5

# Silent devices: beta's two devices stop on day 9 (their agent keeps sending heartbeats):
# one disconnection notice naming both on day 16. gamma's contact is refused for good.
feed_to 17
check "day 16: one disconnection notice for site beta" \
  test "$(grep -c 'day 16: disconnection notice to ops@beta.example (site beta): 2 devices' "$O.days")" -eq 1
check "the disconnection notice reached ops@beta.example once (and its registration)" \
  test "$(mails_to ops@beta.example)" -eq 2
central mail --status
check "gamma's registration and notice were refused (5xx): marked failed, not retried" \
  grep -q "^failed 2$" "$O.mail"
check "... and logged" grep -q "refused for good" "$O.days.err"
check "no notice for the active sites" test "$(grep -c 'notice to ops@acme' "$O.days")" -eq 0

# Day 20: OR0002's cartridge is replaced while 62% full: an early replacement, from the
# stock shipped in order 1.
feed_to 21
check "day 20: the early replacement of OR0002 is reported" \
  grep -q "day 20: early replacement: OR0002 (site acme) supply 1" "$O.days"

# Days 22..37: OR0001's shipped cartridge covers it: no duplicate order.
feed_to 37
central orders --format json
jcheck "days 10-37: no duplicate order (the shipment covers the need)" "$O.orders" \
  'len(d["orders"]) == 1'

# The mail server goes down: the final notice (day 39) and the next order wait in the
# outbox; nothing is lost, and nothing is sent twice once it is back.
smtp_stop
feed_to 40
check "while the server is down, replenish says so (exit 5)" test "$RRC" -eq 5
central mail --status
check "the final notice waits in the outbox" grep -q "^pending [1-9]" "$O.mail"
check "day 39: a final notice for site beta" \
  grep -q "day 39: final disconnection notice to ops@beta.example (site beta): 2 devices" "$O.days"
smtp_start
central mail --flush --smtp-url "$SMTP_URL" --mail-from "$FROM"
check_status "mail --flush right after the outage waits for the retry delay" 0 "$RC"
check "... nothing sent yet" grep -q "^mail: 0 sent" "$O.mail"
feed_to 46
check "the server is back: the final notice arrived once (3 mails to beta)" \
  test "$(mails_to ops@beta.example)" -eq 3
central mail --status
check "the outbox is empty: nothing pending; gamma's three mails failed" \
  sh -c "grep -q '^pending 0$' '$O.mail' && grep -q '^failed 3$' '$O.mail'"

# OR0001's cartridge was installed on day 31 (consuming its stock): a new order when its
# new cartridge reaches 21 days left.
orders_json
jcheck "a second order for OR0001 once its stock was installed" "$O.orders.json" \
  'len(d["orders"]) == 2 and d["orders"][0]["id"] == 2 and ("OR0001", 1, "trigger") in [(l["serial"], l["supply_index"], l["reason"]) for l in d["orders"][0]["lines"]]'
check "its mail arrived once (6 mails to acme)" test "$(mails_to ops@acme.example)" -eq 6
check "no order ever for the high-use OR0003 or the drum" \
  pyjson "$O.orders.json" 'all(l["serial"] != "OR0003" and l["supply_index"] != 3 for o in d["orders"] for l in o["lines"])'

# Each mail once, each under its own Message-ID (the outbox key).
"$PY" - "$TMPD" >"$O.msgids" 2>&1 <<'PYEOF'
import email, glob, sys
ids = []
for f in sorted(glob.glob(sys.argv[1] + '/smtp*/mail-*.eml')):
    m = email.message_from_bytes(open(f, 'rb').read())
    ids.append(m.get('Message-ID', ''))
print('\n'.join(ids))
sys.exit(0 if len(ids) == len(set(ids)) and all(ids) else 1)
PYEOF
MSGIDS_RC=$?
check "every mail has its own Message-ID (none sent twice)" test $MSGIDS_RC -eq 0
check "order mails: created, backordered, shipped, created" \
  sh -c "grep -q 'order-1-created' '$O.msgids' && grep -q 'order-1-backorder' '$O.msgids' && grep -q 'order-1-ship' '$O.msgids' && grep -q 'order-2-created' '$O.msgids'"
check "notices: disconnected and final for beta's contact, registrations" \
  sh -c "grep -q 'disconnection-notice-contact2-' '$O.msgids' && grep -q 'final-disconnection-notice-contact2-' '$O.msgids' && grep -q 'registration-contact1' '$O.msgids'"
check "9 mails in all reached the server (6 to acme, 3 to beta): none twice" \
  test "$(ls "$TMPD"/smtp*/mail-*.eml | wc -l)" -eq 9

# serve runs the day's engine by itself, on its clock: day 47 at once, then day 48 when its
# clock passes midnight (started 3 s before it).
central_stop
DAY=47
ASR_TEST_CLOCK=$(($(clock 48 0) - 3))
export ASR_TEST_CLOCK
CENTRAL_OPTS="-v --smtp-url $SMTP_URL --mail-from $FROM --mail-interval 1"
central_start $A 18691
unset ASR_TEST_CLOCK
_i=0
while [ $_i -lt 100 ] && ! grep -q "replenish: day $((DAY0 + 48)):" "$TMPD/run/central.log"; do
  sleep 0.2
  _i=$((_i + 1))
done
check "serve ran day 47 by itself" grep -q "replenish: day $((DAY0 + 47)):" "$TMPD/run/central.log"
check "... and day 48 once its clock passed midnight" \
  grep -q "replenish: day $((DAY0 + 48)):" "$TMPD/run/central.log"
central replenish --now
check "replenish --now on day 47 finds it done" grep -q "ran already" "$O.replenish"
central_stop
check "serve stopped cleanly" grep -q "stopping" "$TMPD/run/central.log"
finish
