#!/bin/sh
# test_portal.sh: the supplies portal (issue 14) end to end, with real parts: `asr-central
# serve` over HTTPS with the real SMTP sink (tests/integration/smtpserver.py) receiving its
# mails, two sites fed by signed batches, a staff account made by the CLI.
# - headless Chromium (Debian's package, driven over the DevTools protocol by
#   tests/integration/portal_browser.py): customer A signs in from the mailed link, sees
#   only its site and devices, asks for extra toner; a staff member signs in and approves it
#   (a special order); customer B cannot see A's site by URL, API, guessing or CSRF; the used
#   link does not sign in again; the staff record a warehouse step (A sees its order's line
#   shipped), place a special order and revoke A's agent (its next upload: 403); B tries
#   each staff action by URL, API and form: refused and audited. Chromium trusts the
#   server's certificate through the test CA (an NSS database of its own: a real TLS check,
#   the Secure cookies over HTTPS). Screenshots: $top_builddir/tests/artifacts/portal-*.png
# - curl, each denial: no cookie, an unknown or expired session (serve on a later clock), a
#   reused link, a missing CSRF token, the wrong customer, a staff API token's absence or
#   forgery, the sign-in throttle; the mails to both sides; the audit trail; the reverse
#   proxy's X-Forwarded-For believed from --trusted-proxy only; --no-portal serves /v1 only.
# Addresses 127.58.14.1 (central, ports 18800-18802), .2 (SMTP), .3 (another origin, 18803),
# .9 (a trusted proxy).

. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init portal
need_central
need_aiosmtpd
need_cmd openssl curl
A=127.58.14.1
P=18800
BASE="https://$A:$P"
O="$TMPD/out"
MAILDIR="$TMPD/smtp"
ART="$top_builddir/tests/artifacts"
mkdir -p "$ART" "$MAILDIR"
SITE_A="Acme North & Co"
SITE_B="beta"
EMAIL_A=ops@acme.example
EMAIL_B=ops@beta.example
HELPDESK=helpdesk@provider.test
PW="correct horse battery staple"

"$PY" "$top_srcdir/tests/integration/smtpserver.py" --addr 127.58.14.2 --dir "$MAILDIR" \
  >>"$TMPD/smtp.log" 2>&1 &
pid_track $!
_i=0
while [ ! -f "$MAILDIR/port" ] && [ $_i -lt 100 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
[ -f "$MAILDIR/port" ] || { show "$TMPD/smtp.log"; exit 99; }
SMTP_URL="smtp://127.58.14.2:$(cat "$MAILDIR/port")"

tls_ca ca
tls_cert ca srv "IP:$A"
CA="$TMPD/tls/ca.pem"
C="$ASR_CENTRAL"
for s in "$SITE_A:$EMAIL_A" "$SITE_B:$EMAIL_B"; do
  "$C" site add "${s%%:*}" --contact "${s#*:}" --db "$CENTRAL_DB" >"$O.site" 2>&1 || { show "$O.site"; exit 99; }
done
TOKEN_A=$(grep -o 'st_[0-9a-f]\{32\}' "$O.site" | head -n 1)
TOKEN_A=$("$C" site token "$SITE_A" --rotate --db "$CENTRAL_DB" 2>/dev/null | grep -o 'st_[0-9a-f]\{32\}')
TOKEN_B=$("$C" site token "$SITE_B" --rotate --db "$CENTRAL_DB" 2>/dev/null | grep -o 'st_[0-9a-f]\{32\}')
[ -n "$TOKEN_A" ] && [ -n "$TOKEN_B" ] || exit 99

## ---- the staff account (CLI) -----------------------------------------------------------
printf '%s\n' "$PW" >"$TMPD/pw"
chmod 644 "$TMPD/pw"
run "$O.st0" "$O.st0.err" "$C" staff add alice --password-file "$TMPD/pw" --db "$CENTRAL_DB"
check_status "staff add: a password file readable by others is refused" 2 "$RC"
chmod 600 "$TMPD/pw"
run "$O.st1" "$O.st1.err" "$C" staff add alice --password-file "$TMPD/pw" --db "$CENTRAL_DB"
check_status "staff add alice --password-file (0600)" 0 "$RC"
run "$O.st2" "$O.st2.err" "$C" staff add alice --password-file "$TMPD/pw" --db "$CENTRAL_DB"
check_status "staff add: the same name twice is refused" 1 "$RC"
printf 'short\n' >"$TMPD/pw2"
chmod 600 "$TMPD/pw2"
run "$O.st3" "$O.st3.err" "$C" staff add bob --password-file "$TMPD/pw2" --db "$CENTRAL_DB"
check_status "staff add: a password under 12 characters is refused" 2 "$RC"
run "$O.st4" "$O.st4.err" setsid "$C" staff add carol --db "$CENTRAL_DB" </dev/null
check_status "staff add without a terminal or --password-file is refused" 2 "$RC"
check "the password is nowhere in the database" central_lacks "correct horse"
central_sql "select pwhash from staff" >"$O.pwhash" 2>&1
check "... it is an scrypt hash" grep -qF 'scrypt$15$8$1$' "$O.pwhash"
run "$O.tok" "$O.tok.err" "$C" staff token alice --db "$CENTRAL_DB"
check_status "staff token alice" 0 "$RC"
API_TOKEN=$(grep -o 'sk_[0-9a-f]\{64\}' "$O.tok")
check "the API token is stored hashed only" central_lacks "${API_TOKEN#sk_}"

## ---- the central, and two sites' devices -----------------------------------------------
CENTRAL_OPTS="--smtp-url $SMTP_URL --mail-from asr-central@provider.test --helpdesk-mail $HELPDESK --mail-interval 1 --no-replenish --trusted-proxy 127.58.14.9"
central_start $A $P srv
NOW=$(date +%s)
feed() # feed TOKEN PREFIX SERIAL...: enrols an agent and sends its devices' 30 days
{
  _tok=$1
  _pre=$2
  shift 2
  python3 "$ASRLOAD" enroll "$BASE" "$_tok" --ca "$CA" >"$O.enroll.$_pre" 2>&1 || return 1
  _ag=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.enroll.$_pre")
  _sec=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.enroll.$_pre")
  python3 - "$_ag" "$NOW" "$@" >"$TMPD/batch.$_pre.json" <<'EOF'
import json, sys
agent, now, serials = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
devs, rds = [], []
for i, serial in enumerate(serials):
    devs.append({'key': 'serial:' + serial, 'serial': serial, 'ip': '192.0.2.%d' % (10 + i),
                 'vendor': 'Acme', 'model': '<img src=x onerror=alert(1)> Jet',
                 'status': {'printer': 'idle', 'errors': []}, 'state': 'active',
                 'state_since': now - 30 * 86400, 'last_good_poll': now, 'failed_polls': 0,
                 'supplies': [{'index': 1, 'description': 'Black Toner <b class=pwn>x</b>',
                               'type': 'toner', 'class': 'consumed', 'colorant': 'black',
                               'unit': 'percent'}]})
    for k in range(30, -1, -1):
        p = 90 - (30 - k)
        rds.append({'device': i, 't': now - k * 86400 - 60 - i, 'page_count': 1000 + k,
                    'levels': [[1, p, 100, p]]})
rds.sort(key=lambda r: r['t'])
print(json.dumps({'protocol': 1, 'batch_id': agent + '-1', 'agent_id': agent,
                  'agent_version': '0.1', 'created_at': now, 'devices': devs, 'readings': rds,
                  'events': []}))
EOF
  python3 "$ASRLOAD" send "$BASE" --agent "$_ag" --secret "$_sec" --json "$TMPD/batch.$_pre.json" \
    --gzip --ca "$CA" >"$O.send.$_pre" 2>&1
  pyjson "$O.send.$_pre" 'd["status"] == 200' >/dev/null
}
check "site A's two printers reported" feed "$TOKEN_A" a ANORTH-1 ANORTH-2
check "site B's printer reported" feed "$TOKEN_B" b BETA-1
AGENT_A=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.enroll.a")
SECRET_A=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.enroll.a")

## ---- the browser -------------------------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] || ! "$PY" -c 'import websocket' 2>/dev/null; then
  not_ok "chromium and python3-websocket are needed (scripts/deps.sh test)"
else
  mkdir -p "$TMPD/evil"
  cat >"$TMPD/evil/evil.html" <<EOF
<!DOCTYPE html><html><head><title>evil</title></head><body><p>evil page</p>
<form method="post" action="$BASE/requests/toner"><input name="site" value="$SITE_A">
<input name="device" value="ANORTH-1"><input name="supply" value="1"><input name="quantity" value="9">
<input name="from" value="$(date -u -d '+2 days' +%F)"><input name="to" value="$(date -u -d '+3 days' +%F)">
<input name="csrf" value="guess"></form>
<form method="post" action="$BASE/orders/1/deliver"><input name="line" value="1">
<input name="csrf" value="guess"></form></body></html>
EOF
  python3 -m http.server 18803 --bind 127.58.14.3 --directory "$TMPD/evil" >"$TMPD/evil.log" 2>&1 &
  pid_track $!
  wait_port 127.58.14.3 18803 50 $! || exit 99
  rm -f "$ART"/portal-*.png
  "$PY" "$top_srcdir/tests/integration/portal_browser.py" --chromium "$CHROMIUM" --base "$BASE" \
    --allow "$A,127.58.14.3" --ca "$CA" --maildir "$MAILDIR" --tmp "$TMPD" --art "$ART" \
    --site-a "$SITE_A" --site-b "$SITE_B" --email-a "$EMAIL_A" --email-b "$EMAIL_B" \
    --device-a ANORTH-1 --device-b BETA-1 --staff alice --password "$PW" \
    --evil "http://127.58.14.3:18803/evil.html" --agent-a "$AGENT_A" >"$O.browser" 2>&1
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "browser: ${line#ok - }" ;;
      "not ok - "*) not_ok "browser: ${line#not ok - }" ;;
      *) echo "# $line" ;;
    esac
  done <"$O.browser"
  for f in portal-customer-index portal-customer-site portal-customer-requests \
    portal-staff-requests portal-staff-approved portal-denied portal-staff-orders \
    portal-customer-order-shipped portal-staff-agents; do
    check "screenshot $f.png saved" test -s "$ART/$f.png"
  done
  echo "# screenshots: $ART/portal-*.png"
fi

## ---- the staff's actions, as the store and the agents see them ---------------------------
python3 "$ASRLOAD" send "$BASE" --agent "$AGENT_A" --secret "$SECRET_A" --json "$TMPD/batch.a.json" \
  --gzip --ca "$CA" >"$O.send.revoked" 2>&1
jcheck "the revoked agent's next upload is refused (403)" "$O.send.revoked" 'd["status"] == 403'
python3 "$ASRLOAD" enroll "$BASE" "$TOKEN_A" --ca "$CA" >"$O.enroll.revoked" 2>&1
check "... and the site token it enrolled with enrols no agent any more" sh -c '! grep -q agent_id "$1"' _ "$O.enroll.revoked"
run "$O.orders1" "$O.orders1.err" "$C" orders --format json --db "$CENTRAL_DB"
jcheck "order 1's line shipped by the staff (the cross-site POST did not deliver it)" "$O.orders1" \
  '[o["lines"][0]["state"] for o in d["orders"] if o["id"] == 1] == ["shipped"]'
jcheck "order 2: the staff's special order of 2, with its reason" "$O.orders1" \
  '[(o["kind"], o["lines"][0]["quantity"]) for o in d["orders"] if o["id"] == 2] == [("extra", 2)]'

## ---- curl: each denial -------------------------------------------------------------------
# get NAME URL [CURL ARGS...]: body in O.NAME, headers in O.NAME.h, status in CODE
get()
{
  _n=$1
  _u=$2
  shift 2
  CODE=$(curl -sS --max-time 30 --cacert "$CA" -o "$O.$_n" -D "$O.$_n.h" -w '%{http_code}' "$@" "$_u" 2>"$O.$_n.err")
}
# cookie NAME FILE: a cookie's value from a headers file
cookie() { grep -io "^set-cookie: $1=[0-9a-f]*" "$2" | head -n 1 | sed 's/.*=//'; }

get nocookie "$BASE/"
check "no cookie: / is a redirection to /signin" sh -c '[ "$1" = 303 ] && grep -qi "^location: /signin" "$2"' _ "$CODE" "$O.nocookie.h"
get nocookie2 "$BASE/sites/beta"
check "no cookie: /sites/NAME too ($CODE)" test "$CODE" = 303
get noapi "$BASE/api/sites"
check "no cookie: /api/sites -> 401 ($CODE)" test "$CODE" = 401
get badtok "$BASE/api/sites" -H "Authorization: Bearer sk_$(printf '%064d' 0)"
check "a forged API token -> 401 ($CODE)" test "$CODE" = 401
get tokpage "$BASE/sites/beta" -H "Authorization: Bearer $API_TOKEN"
check "an API token opens /api only, not the pages ($CODE)" test "$CODE" = 303
get api "$BASE/api/sites" -H "Authorization: Bearer $API_TOKEN"
jcheck "the staff API token lists both sites" "$O.api" 'sorted(s["name"] for s in d["sites"]) == ["Acme North & Co", "beta"]'
get apiorders "$BASE/api/orders" -H "Authorization: Bearer $API_TOKEN"
jcheck "the staff API token lists the open orders with their lines' states" "$O.apiorders" \
  'sorted((o["id"], o["lines"][0]["state"]) for o in d["orders"]) == [(1, "shipped"), (2, "created")]'
get apiship "$BASE/api/orders/2/ship" -H "Authorization: Bearer $API_TOKEN" --data "line=1"
jcheck "a warehouse step by the API with the staff token (no CSRF token needed)" "$O.apiship" 'd["status"] == "ok"'
get apiagents "$BASE/api/agents?site=beta" -H "Authorization: Bearer $API_TOKEN"
jcheck "the staff API token lists site B's agent, active" "$O.apiagents" '[a["revoked"] for a in d["agents"]] == [False]'
get unknown "$BASE/" -H "Cookie: __Host-asr_session=$(printf '%064d' 7)"
check "an unknown session -> /signin, its cookie cleared" sh -c '[ "$1" = 303 ] && grep -qi "^set-cookie: __Host-asr_session=;.*Max-Age=0" "$2"' _ "$CODE" "$O.unknown.h"
get css "$BASE/static/asr.css"
check "the stylesheet is public ($CODE)" sh -c '[ "$1" = 200 ] && grep -qi "^content-type: text/css" "$2"' _ "$CODE" "$O.css.h"
get signin "$BASE/signin"
check "the sign-in page: CSP without script or inline style" \
  grep -qi "^content-security-policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'" "$O.signin.h"
check "... HSTS over TLS" grep -qi '^strict-transport-security: max-age=' "$O.signin.h"
check "... the pre-session cookie is HttpOnly, Secure, SameSite=Strict" grep -qi '^set-cookie: __Host-asr_pre=[0-9a-f]\{64\}; Path=/; Secure; HttpOnly; SameSite=Strict' "$O.signin.h"
PRE=$(cookie __Host-asr_pre "$O.signin.h")

# A customer's session from a link (curl): ask, read the mail, use the link.
customer_session() # customer_session EMAIL -> SID (empty on failure)
{
  _before=$(ls "$MAILDIR" | grep -c 'eml$')
  get ask "$BASE/signin/email" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&email=$1"
  _i=0
  while [ "$(ls "$MAILDIR" | grep -c 'eml$')" -le "$_before" ] && [ $_i -lt 100 ]; do sleep 0.2; _i=$((_i + 1)); done
  LINK=$(grep -l "To: <$1>" "$MAILDIR"/mail-*.eml | xargs ls -t | head -n 1 | xargs grep -o 'https://[^ ]*/signin/link?t=[0-9a-f]\{64\}' | tr -d '\r' | tail -n 1)
  LT=${LINK##*t=}
  get use "$BASE/signin/link" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&t=$LT"
  SID=$(cookie __Host-asr_session "$O.use.h")
}
customer_session "$EMAIL_B"
check "curl: B signs in from its link (a session cookie)" test -n "$SID"
SID_B=$SID
check "... HttpOnly, Secure, SameSite=Strict" grep -qi '^set-cookie: __Host-asr_session=[0-9a-f]\{64\}; Path=/; Secure; HttpOnly; SameSite=Strict' "$O.use.h"
get reuse "$BASE/signin/link" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&t=$LT"
check "the same link again -> 410, no session" sh -c '[ "$1" = 410 ] && ! grep -qi "set-cookie: __Host-asr_session=[0-9a-f]" "$2"' _ "$CODE" "$O.reuse.h"
get nopre "$BASE/signin/link" --data "csrf=$PRE&t=$LT"
check "a sign-in form without its pre-session cookie -> 403" test "$CODE" = 403
get wrong "$BASE/api/sites/Acme%20North%20%26%20Co" -H "Cookie: __Host-asr_session=$SID_B"
check "the wrong customer: /api/sites/A -> 404 ($CODE)" test "$CODE" = 404
get wrong2 "$BASE/sites/Acme%20North%20%26%20Co" -H "Cookie: __Host-asr_session=$SID_B"
check "the wrong customer: /sites/A -> 404 ($CODE)" test "$CODE" = 404
get own "$BASE/api/sites/beta" -H "Cookie: __Host-asr_session=$SID_B"
jcheck "B's own site by the API: its printer" "$O.own" '[x["serial"] for x in d["devices"]] == ["BETA-1"]'
get page "$BASE/requests" -H "Cookie: __Host-asr_session=$SID_B"
CSRF_B=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$O.page" | head -n 1 | grep -o '[0-9a-f]\{64\}')
FROM=$(date -u -d '+2 days' +%F)
TO=$(date -u -d '+3 days' +%F)
get nocsrf "$BASE/requests/toner" -H "Cookie: __Host-asr_session=$SID_B" --data "site=beta&device=BETA-1&supply=1&quantity=1&from=$FROM&to=$TO"
check "a POST without the CSRF token -> 403 ($CODE)" test "$CODE" = 403
get badorigin "$BASE/requests/toner" -H "Cookie: __Host-asr_session=$SID_B" -H "Origin: https://evil.test" --data "csrf=$CSRF_B&site=beta&device=BETA-1&supply=1&quantity=1&from=$FROM&to=$TO"
check "a POST from another Origin -> 403 ($CODE)" test "$CODE" = 403
get other "$BASE/requests/toner" -H "Cookie: __Host-asr_session=$SID_B" --data "csrf=$CSRF_B&site=Acme+North+%26+Co&device=ANORTH-1&supply=1&quantity=1&from=$FROM&to=$TO"
check "the wrong customer asking for A's printer -> 404 ($CODE)" test "$CODE" = 404
get huge "$BASE/requests/toner" -H "Cookie: __Host-asr_session=$SID_B" --data "csrf=$CSRF_B&note=$(head -c 20000 /dev/zero | tr '\0' x)"
check "a form over 16 KiB -> 413 ($CODE)" test "$CODE" = 413
get ok "$BASE/requests/toner" -H "Cookie: __Host-asr_session=$SID_B" --data "csrf=$CSRF_B&site=beta&device=BETA-1&supply=1&quantity=1&from=$FROM&to=$TO"
check "with its token and its own printer: accepted (303)" test "$CODE" = 303
get reqs "$BASE/api/requests" -H "Authorization: Bearer $API_TOKEN"
jcheck "the staff see both requests: A's approved (by the browser), B's pending; none from the CSRF page" "$O.reqs" \
  'sorted((r["site"], r["state"]) for r in d["requests"]) == [("Acme North & Co", "approved"), ("beta", "pending")]'
get signout "$BASE/signout" -H "Cookie: __Host-asr_session=$SID_B" --data "csrf=$CSRF_B"
check "sign-out -> /signin" test "$CODE" = 303
get after "$BASE/api/sites" -H "Cookie: __Host-asr_session=$SID_B"
check "the session is over after sign-out ($CODE)" test "$CODE" = 401

# The throttle: 5 links an address a window; then 429 (the same for unknown addresses).
for i in 1 2 3 4 5 6; do
  get thr "$BASE/signin/email" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&email=nobody@nowhere.example"
done
check "the 6th sign-in request for one address in 15 minutes -> 429 ($CODE)" test "$CODE" = 429
get unk "$BASE/signin/email" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&email=nobody2@nowhere.example"
get kn "$BASE/signin/email" -H "Cookie: __Host-asr_pre=$PRE" --data "csrf=$PRE&email=$EMAIL_B"
check "a known and an unknown address get the same answer" sh -c \
  'sed "s/value=\"[0-9a-f]*\"//g" "$1" >"$1.x"; sed "s/value=\"[0-9a-f]*\"//g" "$2" >"$2.x"; cmp -s "$1.x" "$2.x"' _ "$O.unk" "$O.kn"

# The reverse proxy: X-Forwarded-For believed from the trusted proxy only.
get xff1 "$BASE/api/sites" --interface 127.58.14.9 -H "X-Forwarded-For: 203.0.113.7, 198.51.100.2"
get xff2 "$BASE/api/sites" --interface 127.58.14.8 -H "X-Forwarded-For: 203.0.113.8"
run "$O.audit" "$O.audit.err" "$C" staff audit --limit 500 --format json --db "$CENTRAL_DB"
jcheck "audit: the trusted proxy's client is the last forwarded address" "$O.audit" \
  'any(a["ip"] == "198.51.100.2" for a in d["audit"])'
jcheck "audit: another peer's X-Forwarded-For is not believed" "$O.audit" \
  'not any(a["ip"] == "203.0.113.8" for a in d["audit"]) and any(a["ip"] == "127.58.14.8" for a in d["audit"])'
jcheck "audit: each denial is there (no session, unknown token, CSRF, wrong customer, used link, throttle)" "$O.audit" \
  'all(any(w in a["detail"] for a in d["audit"] if a["outcome"] == "denied") for w in ("no session", "unknown API token", "CSRF", "not a supplies contact", "used already", "throttled", "unknown session"))'
jcheck "audit: the staff's step, special order and revocation" "$O.audit" \
  'all(any(a["action"] == w and a["actor"] == "alice" and a["outcome"] == "ok" for a in d["audit"]) for w in ("order ship", "special order", "revoke agent"))'
jcheck "audit: each of B's attempts at a staff action, denied" "$O.audit" \
  'all(any(a["action"] == w and a["actor"] == "ops@beta.example" and a["outcome"] == "denied" and a["detail"] == "staff only" for a in d["audit"]) for w in ("orders", "agents", "special order", "order deliver", "revoke agent"))'
jcheck "audit: the staff's approval and sign-in, the customers' requests" "$O.audit" \
  'any(a["action"] == "approve" and a["actor"] == "alice" and a["outcome"] == "ok" for a in d["audit"]) and sum(a["action"] == "request" and a["outcome"] == "ok" for a in d["audit"]) == 2'

# The mails: to both sides.
sleep 2
count_mails() { grep -l "$2" $(grep -l "\"$1\"" "$MAILDIR"/mail-*.json | sed 's/json$/eml/') 2>/dev/null | wc -l; }
check "A was mailed its request's receipt" test "$(count_mails "$EMAIL_A" 'request 1: your request was received')" -ge 1
check "the helpdesk was mailed A's request" test "$(count_mails "$HELPDESK" 'request 1: a customer')" -ge 1
check "A was mailed the approval and its special order" sh -c \
  '[ "$1" -ge 1 ] && [ "$2" -ge 1 ]' _ "$(count_mails "$EMAIL_A" 'request 1: your request was approved')" "$(count_mails "$EMAIL_A" 'supplies order')"
run "$O.orders" "$O.orders.err" "$C" orders --format json --db "$CENTRAL_DB"
jcheck "the approval became one special order of 3 cartridges, with its job window" "$O.orders" \
  '[(o["kind"], o["lines"][0]["quantity"]) for o in d["orders"] if o["id"] == 1] == [("extra", 3)]'

# Expiry: the same staff session on a clock 13 hours later (serve restarted on it).
get pre2 "$BASE/signin"
PRE2=$(cookie __Host-asr_pre "$O.pre2.h")
get staffin "$BASE/signin/staff" -H "Cookie: __Host-asr_pre=$PRE2" --data-urlencode "name=alice" --data-urlencode "password=$PW" --data "csrf=$PRE2"
SID_S=$(cookie __Host-asr_session "$O.staffin.h")
get alive "$BASE/api/requests" -H "Cookie: __Host-asr_session=$SID_S"
check "a staff session made by curl works ($CODE)" test "$CODE" = 200
central_stop
ASR_TEST_CLOCK=$(($(date +%s) + 13 * 3600)) central_start $A $P srv
get expired "$BASE/api/requests" -H "Cookie: __Host-asr_session=$SID_S"
check "13 hours later the session has ended -> 401 ($CODE)" test "$CODE" = 401
central_stop

# --no-portal: the agents' protocol only.
CENTRAL_OPTS="--no-portal" central_start $A $P srv
get np1 "$BASE/signin"
NP1=$CODE
get np2 "$BASE/api/sites" -H "Authorization: Bearer $API_TOKEN"
check "--no-portal: /signin and /api are 404 ($NP1 $CODE)" sh -c '[ "$1" = 404 ] && [ "$2" = 404 ]' _ "$NP1" "$CODE"
python3 "$ASRLOAD" enroll "$BASE" "$TOKEN_B" --ca "$CA" >"$O.np.enroll" 2>&1
jcheck "--no-portal: agents still enrol" "$O.np.enroll" '"agent_id" in d'
central_stop
finish
