#!/bin/sh
# test_central_2nodes.sh: two `asr-central serve` nodes on ONE PostgreSQL database
# (issue 15, docs/postgresql-backend.md section 5), as a provider runs them behind a load
# balancer. One cluster started here (tests/pg/pgtmp.sh), nodes A and B on two loopback
# addresses, a real SMTP sink (aiosmtpd, smtpserver.py).
#   1. ingest: 8 sites' agents (fleetday.py's fleet: 10 printers x 4 toners, 24 polls a day,
#      10 days: one batch a site and day) spread over both nodes, two of them sending every
#      batch to BOTH nodes at once; node A is killed with -9 while a batch is in flight to
#      it, and its agents retry on B. Every reading is stored exactly once (PostgreSQL's
#      counts against what the agents sent; no batch answered "stored" twice).
#   2. the engine's day: a run killed with -9 after its claim (waiting on a lock held by
#      the test) leaves nothing, and meanwhile another node's run says another node runs it;
#      then `replenish --now` on both nodes at the same moment: one run (one report, the
#      other finds it done), one order set (no supply ordered twice, one order a site and
#      contact), rp_state's last day once.
#   3. both nodes' timers: `serve` on both with a clock 6 s before midnight: the day before
#      and the new day each run once across the nodes; both flush the outbox at once: every
#      mail arrives once at the sink, under its outbox key; a portal session begun on one
#      node works on the other, and ended there it is refused on the first.
# SKIP (77) when PostgreSQL cannot start; FAIL when the product is wrong.
# Addresses 127.62.15.1 (A, port 18920), 127.62.15.2 (B, 18921), 127.62.15.3 (SMTP, port
# 0); PostgreSQL on 127.0.0.1:25620. Run it under the integration lock.
# ASR_TEST_2NODES_DB=sqlite runs the same on one SQLite file shared by both nodes (the
# test's own check, before the PostgreSQL backend is there).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
. "$top_srcdir/tests/pg/pgtmp.sh"

# this script starts its own PostgreSQL: not the PostgreSQL pass's cluster of uplinklib.sh
# shellcheck disable=SC2034 # read by uplink_init
ASR_TEST_DB=sqlite
uplink_init central_2nodes
trap 'uplink_cleanup; pgtmp_stop; itest_cleanup' EXIT
need_central
need_aiosmtpd
A=127.62.15.1
B=127.62.15.2
PORT_A=18920
PORT_B=18921
SMTP_ADDR=127.62.15.3
PG_PORT=25620
FROM=asr-central@provider.test
SITES=8
PER=10
DAYS=10
O="$TMPD/out"
mkdir -p "$O"
# day 0 of the fleet: a Monday about 40 days ago (the readings lie in the past: the nodes
# of part 1 run on the real clock); the first whole calendar week is days 0-6
DAY0=$(($(date +%s) / 86400 - 40))
DAY0=$((DAY0 - (DAY0 + 3) % 7))
ENGINE_DAY=$((DAY0 + DAYS))

if [ "${ASR_TEST_2NODES_DB:-pg}" = sqlite ]; then
  DBNAME="$TMPD/central.db"
  set -- --db "$DBNAME"
  echo "# both nodes on one SQLite file ($DBNAME)"
else
  pgtmp_start "$PG_PORT" || skip "PostgreSQL cannot start: $PGTMP_WHY"
  DBNAME=$PGTMP_URI
  set -- --db "$PGTMP_URI" --db-password-file "$PGTMP_PWFILE"
  echo "# PostgreSQL $PGTMP_URI ($PGTMP_DIR)"
fi
DBARGS="$*" # the database options of every command (no password in them)
set --

# sql QUERY: one value (or rows joined by '|') from the shared database
sql()
{
  if [ -n "${PGTMP_URI:-}" ]; then
    pgtmp_psql -c "$1" 2>>"$O/sql.err"
  else
    python3 - "$DBNAME" "$1" 2>>"$O/sql.err" <<'EOF'
import sqlite3, sys
c = sqlite3.connect('file:%s?mode=ro' % sys.argv[1], uri=True, timeout=10)
for r in c.execute(sys.argv[2]):
    print('|'.join('' if v is None else str(v) for v in r))
EOF
  fi
}

# central CMD ARGS...: asr-central CMD on the shared database; $O/CMD(.err), RC
central()
{
  _c=$1
  shift
  # shellcheck disable=SC2086 # DBARGS holds words on purpose
  run "$O/$_c" "$O/$_c.err" "$ASR_CENTRAL" "$_c" "$@" $DBARGS
}

# node_launch NAME ADDR PORT [SERVE OPTIONS...]: `serve` on the shared database, its log
# in $TMPD/run/NAME.log; sets NODE_PID. ASR_TEST_CLOCK from the caller, if any.
node_launch()
{
  _n=$1
  _a=$2
  _p=$3
  shift 3
  # shellcheck disable=SC2086
  "$ASR_CENTRAL" serve --listen "$_a:$_p" $DBARGS "$@" >>"$TMPD/run/$_n.log" 2>&1 &
  NODE_PID=$!
  pid_track "$NODE_PID"
}

# node_wait NAME ADDR PORT PID: fails the test when the node does not come up
node_wait()
{
  if ! wait_port "$2" "$3" 150 "$4"; then
    not_ok "node $1 came up on $2:$3"
    show "$TMPD/run/$1.log"
    finish
  fi
}

# count_in PATTERN FILE...: lines matching PATTERN in all the files
count_in()
{
  _p=$1
  shift
  cat "$@" 2>/dev/null | grep -c -- "$_p"
}

## 0. sites (each queues its contact's registration mail)
# add_site NAME: `site add`; its output in $O/site.NAME(.err), its exit status in .rc
add_site()
{
  # shellcheck disable=SC2086
  "$ASR_CENTRAL" site add "$1" --contact "ops@$1.example" $DBARGS >"$O/site.$1" 2>"$O/site.$1.err"
  echo $? >"$O/site.$1.rc"
}
# the first two at once on the empty database: both migrate it, the schema is made once
# (on PostgreSQL; two processes creating one SQLite file at once fail now and then: store/
# sqlutil.c's asr_sql_check_version reads user_version and sqlite_master in two reads)
if [ -n "${PGTMP_URI:-}" ]; then
  add_site site00 &
  S0=$!
  add_site site01 &
  S1=$!
  wait $S0 $S1
else
  add_site site00
  add_site site01
fi
i=2
while [ $i -lt $SITES ]; do
  add_site "$(printf 'site%02d' $i)"
  i=$((i + 1))
done
i=0
while [ $i -lt $SITES ]; do
  name=$(printf 'site%02d' $i)
  tok=$(grep -o 'st_[0-9a-f]\{32\}' "$O/site.$name" | head -n 1)
  if [ -z "$tok" ]; then
    not_ok "site add $name on the shared database (exit $(cat "$O/site.$name.rc"))"
    show "$O/site.$name.err"
    finish
  fi
  echo "$name $tok" >>"$TMPD/tokens"
  i=$((i + 1))
done
ok "$SITES sites added on the shared database"
if [ -n "${PGTMP_URI:-}" ]; then
  check "two commands migrating the empty database at once: one schema_version row" \
    test "$(sql "SELECT count(*) FROM schema_version")" = 1
fi
(umask 077 && echo "staff-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$TMPD/staff.pw")
central staff add alice --password-file "$TMPD/staff.pw"
check_status "staff add alice on the shared database" 0 "$RC"

## 1. ingest on both nodes; A killed with -9 while a batch is in flight to it
node_launch a $A $PORT_A --no-replenish
PID_A=$NODE_PID
node_launch b $B $PORT_B --no-replenish
PID_B=$NODE_PID
node_wait a $A $PORT_A $PID_A
node_wait b $B $PORT_B $PID_B

cat >"$TMPD/feed.py" <<'EOF'
"""Enrols one agent a site (alternately through A and B), then each agent sends its 10
days, one batch a day, in order: agents 0, 2, 4, 6 to A, 1 and 5 to B, 3 and 7 to both
at once. A failed send (connection refused or reset, no answer, 5xx, 429) goes to the
other node, as an agent behind a balancer does. Once a third of the batches are
acknowledged, node A gets SIGKILL at a moment a batch is in flight to it."""
import json, os, signal, sys, threading, time
top, urls, pid_a, tokens, out = sys.argv[1], sys.argv[2:4], int(sys.argv[4]), sys.argv[5], sys.argv[6]
per, day0, days = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
sys.path.insert(0, os.path.join(top, 'tests', 'load'))
sys.path.insert(0, os.path.join(top, 'bench'))
import asrload, fleetday  # noqa: E402

sites = [l.split() for l in open(tokens) if l.strip()]
creds = []
for i, (name, token) in enumerate(sites):
    st, body, _ = asrload.enroll(urls[i % 2], token, None, 'node-%s' % name)
    if st != 201:
        sys.exit('enrol %s through %s: %s %s' % (name, urls[i % 2], st, body))
    creds.append({'agent_id': body['agent_id'], 'secret': body['secret']})

lock = threading.Lock()
total = len(creds) * days
st = {'acked': 0, 'inflight_a': 0, 'killed': False, 'killed_inflight': 0, 'failovers': 0,
      'answers': {}, 'errors': [], 'levels': 0, 'readings': 0}
deadline = time.time() + 90


def post(node, cred, body):
    h = asrload.signed_headers(cred['agent_id'], cred['secret'], '/v1/batches', body)
    with lock:
        if node == 0:
            st['inflight_a'] += 1
    try:
        code, rb, _ = asrload.request(urls[node], None, 'POST', '/v1/batches', body, h)
    except Exception as e:  # noqa: BLE001 (a killed server fails in several ways)
        code, rb = 0, str(e)
    with lock:
        if node == 0:
            st['inflight_a'] -= 1
    return code, rb


def note(bid, node, code, rb):
    with lock:
        if 200 <= code < 300:
            s = rb.get('status') if isinstance(rb, dict) else repr(rb)
            st['answers'].setdefault(bid, []).append('%s:%s' % ('AB'[node], s))


def killer():
    while time.time() < deadline:
        with lock:
            if st['acked'] * 3 >= total and st['inflight_a'] > 0:
                os.kill(pid_a, signal.SIGKILL)
                st['killed'], st['killed_inflight'] = True, st['inflight_a']
                return
        time.sleep(0.002)


def agent(i, cred):
    mode = 'both' if i % 4 == 3 else ('A' if i % 2 == 0 else 'B')
    for d in range(days):
        _, body, nlev = fleetday.site_batch((i, cred['agent_id'], per, day0 + d, i * per))
        bid = '%s-d%07d' % (cred['agent_id'], day0 + d)
        done = False
        if mode == 'both':
            res = [None, None]
            ths = [threading.Thread(target=lambda k: res.__setitem__(k, post(k, cred, body)),
                                    args=(k,)) for k in (0, 1)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            for k in (0, 1):
                note(bid, k, *res[k])
            done = any(200 <= r[0] < 300 for r in res)
        node, attempt = (1 if mode == 'B' else 0), 0
        while not done and time.time() < deadline:
            code, rb = post(node, cred, body)
            note(bid, node, code, rb)
            if 200 <= code < 300:
                done = True
            elif code and code < 500 and code not in (408, 429):
                with lock:
                    st['errors'].append('%s: %s %s' % (bid, code, rb))
                break
            else:
                with lock:
                    st['failovers'] += 1
                node, attempt = 1 - node, attempt + 1
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        with lock:
            if done:
                st['acked'] += 1
                st['levels'] += nlev
                st['readings'] += nlev // 4
            elif len(st['errors']) < 20:
                st['errors'].append('%s: not acknowledged' % bid)


threads = [threading.Thread(target=agent, args=(i, c)) for i, c in enumerate(creds)]
kt = threading.Thread(target=killer)
kt.start()
for t in threads:
    t.start()
for t in threads:
    t.join()
kt.join()
expected = {'BC%07d' % g: fleetday.POLLS * days for g in range(len(creds) * per)}
stored_twice = [b for b, a in st['answers'].items() if sum(x.endswith(':stored') for x in a) > 1]
json.dump({'batches': total, 'acked': st['acked'], 'levels': st['levels'],
           'readings': st['readings'], 'killed': st['killed'],
           'killed_inflight': st['killed_inflight'], 'failovers': st['failovers'],
           'errors': st['errors'][:10], 'expected': expected, 'stored_twice': stored_twice,
           'answers': st['answers'],
           'duplicates': sum(x.endswith(':duplicate') for a in st['answers'].values() for x in a)},
          open(out, 'w'), indent=1)
sys.exit(0 if st['acked'] == total and not st['errors'] else 1)
EOF
F="$O/feed.json"
python3 "$TMPD/feed.py" "$top_srcdir" "http://$A:$PORT_A" "http://$B:$PORT_B" "$PID_A" \
  "$TMPD/tokens" "$F" $PER $DAY0 $DAYS >"$O/feed.log" 2>&1
FEED_RC=$?
wait "$PID_A" 2>/dev/null
A_RC=$?
pid_untrack "$PID_A"
if [ ! -s "$F" ]; then
  not_ok "the agents' feed ran (exit $FEED_RC)"
  show "$O/feed.log"
  finish
fi
check_status "every batch acknowledged by one node or the other" 0 "$FEED_RC"
[ "$FEED_RC" = 0 ] || { show "$O/feed.log"; pyjson "$F" 'print(d["errors"]) or 1'; }
jcheck "node A was killed with a batch in flight to it" "$F" \
  'd["killed"] and d["killed_inflight"] >= 1'
check_status "node A died of SIGKILL" 137 "$A_RC"
jcheck "A's agents retried on B" "$F" 'd["failovers"] >= 1'
jcheck "the batches sent to both nodes at once: the second answer is a duplicate" "$F" \
  'd["duplicates"] >= 1'
jcheck "no batch was answered 'stored' twice" "$F" 'd["stored_twice"] == []'
check "node B still serves after A's death" kill -0 "$PID_B"

# what the database holds against what the agents sent
EXP_READINGS=$(pyjson "$F" 'print(d["readings"]) or 1' | head -n 1)
EXP_LEVELS=$(pyjson "$F" 'print(d["levels"]) or 1' | head -n 1)
GOT_READINGS=$(sql "SELECT count(*) FROM readings")
GOT_LEVELS=$(sql "SELECT count(*) FROM levels")
GOT_NEW=$(sql "SELECT sum(readings_new) FROM batches")
GOT_BATCHES=$(sql "SELECT count(*) FROM batches")
echo "# sent $EXP_READINGS readings, $EXP_LEVELS levels; stored $GOT_READINGS readings," \
  "$GOT_LEVELS levels, $GOT_BATCHES batches"
check "every reading stored exactly once ($GOT_READINGS of $EXP_READINGS)" \
  test "$GOT_READINGS" = "$EXP_READINGS"
check "every level stored exactly once ($GOT_LEVELS of $EXP_LEVELS)" \
  test "$GOT_LEVELS" = "$EXP_LEVELS"
check "each batch recorded once ($GOT_BATCHES of $((SITES * DAYS)))" \
  test "$GOT_BATCHES" = "$((SITES * DAYS))"
check "each reading counted new by exactly one batch ($GOT_NEW)" test "$GOT_NEW" = "$EXP_READINGS"
central devices --format json
python3 - "$F" "$O/devices" >"$O/devices.cmp" 2>&1 <<'EOF'
import json, sys
exp = json.load(open(sys.argv[1]))['expected']
got = {x.get('serial'): x.get('readings') for x in json.load(open(sys.argv[2]))['devices']}
bad = sorted(s for s in set(exp) | set(got) if exp.get(s) != got.get(s))
for s in bad[:5]:
    print('#   %s: sent %s readings, the central has %s' % (s, exp.get(s), got.get(s)))
sys.exit(1 if bad or not exp else 0)
EOF
DEV_RC=$?
check "devices: each printer has the readings its agent sent, none more" test $DEV_RC = 0
[ $DEV_RC = 0 ] || show "$O/devices.cmp"
pid_stop "$PID_B"

## 2. the engine's day
# wait_sql TENTHS QUERY VALUE: waits until QUERY answers VALUE
wait_sql()
{
  _i=0
  while [ $_i -lt "$1" ] && [ "$(sql "$2")" != "$3" ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  [ "$(sql "$2")" = "$3" ]
}
ECLOCK=$((ENGINE_DAY * 86400 + 43200))
if [ -n "${PGTMP_URI:-}" ]; then
  # a node killed during the day's run: it made its claim and waits on a lock held here
  # (the orders' table, written by the run); nothing of it stays, and another node runs
  # the day once the dead node's transaction is over
  pgtmp_psql -c "BEGIN" -c "LOCK TABLE orders IN EXCLUSIVE MODE" -c "SELECT pg_sleep(4)" \
    -c "COMMIT" >"$O/hold.out" 2>&1 &
  HOLD=$!
  wait_sql 50 "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'orders' AND l.mode = 'ExclusiveLock' AND l.granted" 1
  # shellcheck disable=SC2086
  ASR_TEST_CLOCK=$ECLOCK "$ASR_CENTRAL" replenish --now $DBARGS --mail-from "$FROM" \
    >"$O/engine.k" 2>&1 &
  EK=$!
  if wait_sql 50 "SELECT count(*) FROM pg_locks WHERE NOT granted" 1; then
    kill -9 $EK
    { wait $EK; } 2>/dev/null
    EK_RC=$?
    # shellcheck disable=SC2086
    ASR_TEST_CLOCK=$ECLOCK "$ASR_CENTRAL" replenish --now $DBARGS >"$O/engine.w" 2>&1
    check_status "while the dead node's run holds the day, another node's run is not an error" \
      0 $?
    check "... it says another node is running it" grep -q 'another node' "$O/engine.w"
    wait $HOLD
    check "the dead node's transaction ends once its statement is done" \
      wait_sql 100 "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'" 0
    check_status "node A's run killed with -9 during the day" 137 "$EK_RC"
    check "nothing of the killed run stays: no order, the day not claimed" \
      test "$(sql "SELECT count(*) FROM orders")/$(sql "SELECT count(*) FROM rp_state WHERE k = 'last_day' AND v >= $ENGINE_DAY")" = 0/0
  else
    not_ok "the day's run waits on the orders' table held here"
    show "$O/engine.k"
    wait $EK
    wait $HOLD
  fi
fi

# `replenish --now` on both nodes at the same moment
run_engine()
{
  # shellcheck disable=SC2086
  ASR_TEST_CLOCK=$ECLOCK "$ASR_CENTRAL" replenish --now $DBARGS \
    --mail-from "$FROM" >"$O/engine.$1" 2>"$O/engine.$1.err"
  echo $? >"$O/engine.$1.rc"
}
run_engine a &
E1=$!
run_engine b &
E2=$!
wait $E1 $E2
check "replenish --now on node A: exit 0" test "$(cat "$O/engine.a.rc")" = 0
check "replenish --now on node B: exit 0" test "$(cat "$O/engine.b.rc")" = 0
RUNS=$(count_in ' devices, .* orders (' "$O/engine.a" "$O/engine.b")
check "the day ran once across the nodes ($RUNS reports)" test "$RUNS" = 1
for f in a a.err b b.err; do
  [ -s "$O/engine.$f" ] && head -n 2 "$O/engine.$f" | sed "s/^/# engine.$f: /"
done
check "rp_state: the last day is the engine's day" \
  test "$(sql "SELECT v FROM rp_state WHERE k = 'last_day'")" = "$ENGINE_DAY"
ORDERS=$(sql "SELECT count(*) FROM orders")
echo "# day $ENGINE_DAY: $ORDERS orders, $(sql "SELECT count(*) FROM order_lines") lines"
check "the day made orders ($ORDERS)" test "${ORDERS:-0}" -ge 1
TWICE="SELECT count(*) FROM (SELECT device_id, idx FROM order_lines GROUP BY device_id, idx
  HAVING count(*) > 1) x"
check "one order set: no supply ordered twice" test "$(sql "$TWICE")" = 0
check "one order set: one order a site, contact and day" \
  test "$(sql "SELECT count(*) FROM (SELECT site_id, contact, day FROM orders
    GROUP BY site_id, contact, day HAVING count(*) > 1) x")" = 0

## 3. both nodes' timers and outboxes, started 6 s before midnight of the day after next
MAILDIR="$TMPD/smtp"
mkdir -p "$MAILDIR"
"$PY" "$top_srcdir/tests/integration/smtpserver.py" --addr "$SMTP_ADDR" --dir "$MAILDIR" \
  >>"$TMPD/smtp.log" 2>&1 &
SMTP_PID=$!
pid_track $SMTP_PID
_i=0
while [ ! -f "$MAILDIR/port" ] && [ $_i -lt 100 ] && kill -0 $SMTP_PID 2>/dev/null; do
  sleep 0.1
  _i=$((_i + 1))
done
[ -f "$MAILDIR/port" ] || { show "$TMPD/smtp.log"; exit 99; }
SMTP_URL="smtp://$SMTP_ADDR:$(cat "$MAILDIR/port")"
D1=$((ENGINE_DAY + 1))
D2=$((ENGINE_DAY + 2))
# both at the same moment, on the same clock: their first ticks try day D1 together
ASR_TEST_CLOCK=$((D2 * 86400 - 6))
export ASR_TEST_CLOCK
node_launch a2 $A $PORT_A -v --smtp-url "$SMTP_URL" --mail-from "$FROM" --mail-interval 1
PID_A=$NODE_PID
node_launch b2 $B $PORT_B -v --smtp-url "$SMTP_URL" --mail-from "$FROM" --mail-interval 1
PID_B=$NODE_PID
unset ASR_TEST_CLOCK
node_wait a2 $A $PORT_A $PID_A
node_wait b2 $B $PORT_B $PID_B
LOGS="$TMPD/run/a2.log $TMPD/run/b2.log"
_i=0
# shellcheck disable=SC2086 # LOGS holds two names
while [ $_i -lt 300 ] && [ "$(count_in "replenish: day $D2: [0-9]* orders" $LOGS)" -lt 1 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
# both nodes flush the outbox every second: wait until nothing is pending
_i=0
while [ $_i -lt 200 ] && [ "$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")" != 0 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
sleep 2 # a mail sent twice would arrive now
# the portal without session affinity: signed in through B, the session works on A; signed
# out on A, it is refused on B (both behind one name, as a balancer presents them)
python3 - "$A:$PORT_A" "$B:$PORT_B" "$(cat "$TMPD/staff.pw")" >"$O/portal" 2>&1 <<'EOF'
import http.client, re, secrets, sys, urllib.parse
a, b, pw = sys.argv[1:4]
HOST = 'asr.provider.test'


def req(node, method, path, form=None, cookie=None):
    h, p = node.split(':')
    c = http.client.HTTPConnection(h, int(p), timeout=20)
    hd = {'Host': HOST, 'Origin': 'http://' + HOST}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        hd['Content-Type'] = 'application/x-www-form-urlencoded'
    if cookie:
        hd['Cookie'] = cookie
    c.request(method, path, body=body, headers=hd)
    r = c.getresponse()
    return r.status, r.getheader('Set-Cookie') or '', r.read().decode('utf-8', 'replace')


pre = secrets.token_hex(32)
st, sc, _ = req(b, 'POST', '/signin/staff', {'name': 'alice', 'password': pw, 'csrf': pre},
                '__Host-asr_pre=' + pre)
m = re.search(r'__Host-asr_session=([^;]+)', sc)
print('sign-in on B: %d %s' % (st, 'session cookie' if m else 'no session cookie'))
if not m:
    sys.exit(1)
cookie = '__Host-asr_session=' + m.group(1)
st, _, page = req(a, 'GET', '/', cookie=cookie)
print('the session on A: %d, site00 %s' % (st, 'listed' if 'site00' in page else 'missing'))
ok = st == 200 and 'site00' in page
m = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
st, _, _ = req(a, 'POST', '/signout', {'csrf': m.group(1) if m else ''}, cookie)
print('sign-out on A: %d' % st)
ok = ok and st == 303
st, _, _ = req(b, 'GET', '/', cookie=cookie)
print('the ended session on B: %d' % st)
sys.exit(0 if ok and st == 303 else 1)
EOF
PORTAL_RC=$?
sed 's/^/# /' "$O/portal"
check "portal: a session begun on B works on A, and ended on A it is refused on B" \
  test $PORTAL_RC = 0
pid_stop "$PID_A"
pid_stop "$PID_B"
# shellcheck disable=SC2086
N1=$(count_in "replenish: day $D1: [0-9]* orders" $LOGS)
# shellcheck disable=SC2086
N2=$(count_in "replenish: day $D2: [0-9]* orders" $LOGS)
check "the timers: day $D1 ran once across the nodes ($N1 runs logged)" test "$N1" = 1
check "the timers: day $D2 (at midnight) ran once across the nodes ($N2 runs logged)" \
  test "$N2" = 1
[ "$N1$N2" = 11 ] || { show "$TMPD/run/a2.log"; show "$TMPD/run/b2.log"; }
check "rp_state: the last day is $D2" \
  test "$(sql "SELECT v FROM rp_state WHERE k = 'last_day'")" = "$D2"
check "still one order set: no supply ordered twice" test "$(sql "$TWICE")" = 0

# every mail once at the sink, under its outbox key (the Message-ID)
sql "SELECT key FROM outbox WHERE state = 'sent' ORDER BY key" >"$O/sent.keys"
PENDING=$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")
check "the outbox is empty: every mail sent ($PENDING not sent)" test "$PENDING" = 0
"$PY" - "$MAILDIR" "$O/sent.keys" >"$O/mails.cmp" 2>&1 <<'EOF'
import email, glob, sys
ids = []
for f in sorted(glob.glob(sys.argv[1] + '/mail-*.eml')):
    m = email.message_from_bytes(open(f, 'rb').read())
    ids.append(m.get('Message-ID', '').strip())
keys = [k.strip() for k in open(sys.argv[2]) if k.strip()]
twice = sorted(set(i for i in ids if ids.count(i) > 1))
missing = [k for k in keys if not any(k in i for i in ids)]
print('# %d mails at the sink, %d sent in the outbox' % (len(ids), len(keys)))
for i in twice[:5]:
    print('#   twice: %s' % i)
for k in missing[:5]:
    print('#   never arrived: %s' % k)
sys.exit(0 if ids and not twice and not missing and len(ids) == len(keys) else 1)
EOF
MAIL_RC=$?
cat "$O/mails.cmp"
check "every mail arrived once at the sink, one per outbox key" test $MAIL_RC = 0
check "the registrations and the orders' mails are among them" \
  test "$(grep -c . "$O/sent.keys")" -ge $((SITES + ORDERS))
finish
