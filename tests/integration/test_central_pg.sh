#!/bin/sh
# test_central_pg.sh: asr-central on PostgreSQL end to end through --db URI (issue 15): a
# cluster started here (tests/pg/pgtmp.sh on 127.0.0.1:25415), `site add`, `serve` with one
# agent's enrolment and upload, `devices`; the password from --db-password-file or from
# PGPASSFILE; the refusals: a password in the URI (never echoed), a password file others can
# read, a wrong password; serve survives a restart of the server; a server that is down or
# does not answer is an error within the deadline (no hang), named by its URI.
# Addresses 127.52.15.x, ports 25415-25419.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
. "$top_srcdir/tests/pg/pgtmp.sh"
uplink_init central_pg
need_cmd python3
need_central
if ! pgtmp_start 25415; then
  skip "PostgreSQL: $PGTMP_WHY"
fi
trap 'uplink_cleanup; pgtmp_stop; itest_cleanup' EXIT
O="$TMPD/out"
URI=$PGTMP_URI
PW=$PGTMP_PWFILE
A=127.52.15.1
URL="http://$A:25416"
PGPASSFILE="$TMPD/no-such-pgpass" # the password comes from --db-password-file only
export PGPASSFILE

# elapsed_run OUT SECONDS CMD...: runs CMD (stdout OUT, stderr OUT.err), RC its status, T the
# seconds it took; killed after SECONDS (RC 124) so that a hang is a failure, not a stall.
elapsed_run()
{
  _o=$1
  _max=$2
  shift 2
  _t0=$(date +%s)
  timeout -s KILL "$_max" "$@" >"$_o" 2>"$_o.err"
  RC=$?
  T=$(($(date +%s) - _t0))
}

# send NAME SEQ: batch SEQ of agent $AG (2 devices, 2 readings, serials PG...) -> O.NAME
send()
{
  python3 "$ASRLOAD" batch --agent "$AG" --seq "$2" --devices 2 --readings 2 \
    --t0 $(($(date +%s) - 86400)) --prefix "PG$2" >"$TMPD/b$2.json"
  python3 "$ASRLOAD" send "$URL" --agent "$AG" --secret "$SEC" --json "$TMPD/b$2.json" \
    --gzip >"$O.$1" 2>"$O.$1.err" || echo '{"status": -1}' >"$O.$1"
}

# A part of asr-central not converted to PostgreSQL yet (docs/postgresql-backend.md: the
# engine's registration mail, the ingest) refuses with this message, never crashes; the
# checks that need it are reported "# SKIP pending" only when that refusal is what happened.
SQLITE_ONLY='this needs a SQLite database (not available on PostgreSQL)'
PENDING=""

# pending_or TEXT WHAT LOG CHECK...: CHECK, or (when it fails and LOG holds the refusal of
# a SQLite-only part) an ok "# SKIP pending: WHAT not on PostgreSQL yet".
pending_or()
{
  _t=$1
  _what=$2
  _log=$3
  shift 3
  if "$@"; then
    ok "$_t"
  elif grep -q "$SQLITE_ONLY" "$_log" 2>/dev/null; then
    ok "$_t # SKIP pending: $_what not on PostgreSQL yet (refused cleanly)"
    case $PENDING in *"$_what"*) ;; *) PENDING="$PENDING; $_what" ;; esac
  else
    not_ok "$_t"
  fi
}

# --- site add, serve, enrolment, one upload, devices -------------------------------------
run "$O.sa" "$O.sa.err" "$ASR_CENTRAL" site add acme --contact ops@acme.example \
  --db "$URI" --db-password-file "$PW"
pending_or "site add --db URI --db-password-file -> 0 (exit $RC)" "the registration mail (cstore_rp.c)" \
  "$O.sa.err" test "$RC" = 0
SITE_TOKEN=$(grep -o 'st_[0-9a-f]\{32\}' "$O.sa" | head -n 1)
check "site add printed the site's token" test -n "$SITE_TOKEN"
V=$(pgtmp_psql -c 'SELECT v FROM schema_version' 2>"$O.v.err")
check "the schema is migrated on PostgreSQL (schema_version $V)" test "${V:-0}" -ge 13

CENTRAL_OPTS="--db-password-file $PW --no-replenish --threads 2"
central_start $A 25416 "" "$URI"
python3 "$ASRLOAD" enroll "$URL" "$SITE_TOKEN" >"$O.e1" 2>"$O.e1.err"
jcheck "enrolment through serve on PostgreSQL -> agent id and secret" "$O.e1" \
  '__import__("re").fullmatch("ag_[0-9a-f]{32}", d["agent_id"]) and d["site"] == "acme"'
AG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.e1" 2>/dev/null)
SEC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.e1" 2>/dev/null)
send b1 1
CLOG="$TMPD/run/central.log"
pending_or "one upload -> 200 stored, 4 readings" "the ingest (cstore_ingest.c)" "$CLOG" \
  pyjson "$O.b1" 'd["status"] == 200 and d["body"]["status"] == "stored" and d["body"]["readings"] == 4'
run "$O.d1" "$O.d1.err" "$ASR_CENTRAL" devices --format json --db "$URI" --db-password-file "$PW"
check_status "devices --db URI -> 0" 0 "$RC"
pending_or "devices: the 2 printers of the upload, 2 readings each, at site acme" \
  "the ingest (cstore_ingest.c)" "$CLOG" pyjson "$O.d1" \
  'sorted((x["serial"], x["readings"], x["site"]) for x in d["devices"]) == [("PG10000", 2, "acme"), ("PG10001", 2, "acme")]'
run "$O.d2" "$O.d2.err" env PGPASSFILE="$PGTMP_PASSFILE" "$ASR_CENTRAL" devices --format json \
  --db "$URI"
check_status "devices with libpq's PGPASSFILE (no --db-password-file) -> 0" 0 "$RC"

# --- refusals ---------------------------------------------------------------------------
SECRET=$(cat "$PW")
for u in "postgresql://asr:$SECRET@127.0.0.1:25415/asr" \
  "postgres://asr@127.0.0.1:25415/asr?password=$SECRET"; do
  run "$O.r" "$O.r.err" "$ASR_CENTRAL" devices --format json --db "$u"
  check_status "a password in --db ($(echo "$u" | sed "s/$SECRET/SECRET/")) -> exit 2" 2 "$RC"
  check "... the message never shows it" sh -c "! grep -q '$SECRET' '$O.r.err' '$O.r'"
  check "... it says where the password goes (***, --db-password-file)" \
    sh -c "grep -q 'asr.*\*\*\*' '$O.r.err' && grep -q -- '--db-password-file' '$O.r.err'"
done
run "$O.r" "$O.r.err" "$ASR_CENTRAL" serve --listen $A:25417 \
  --db "postgresql://asr:$SECRET@127.0.0.1:25415/asr"
check_status "serve with a password in --db -> exit 2, not started" 2 "$RC"
check "... not shown" sh -c "! grep -q '$SECRET' '$O.r.err'"
cp "$PW" "$TMPD/pw644"
chmod 644 "$TMPD/pw644"
run "$O.r" "$O.r.err" "$ASR_CENTRAL" site list --db "$URI" --db-password-file "$TMPD/pw644"
check_status "a 0644 password file -> exit 2" 2 "$RC"
check "... the message names the mode and says chmod 600" \
  sh -c "grep -q 'mode 644' '$O.r.err' && grep -q 'chmod 600' '$O.r.err'"
(umask 077 && echo wrong >"$TMPD/pwbad")
run "$O.r" "$O.r.err" "$ASR_CENTRAL" orders --db "$URI" --db-password-file "$TMPD/pwbad"
check_status "a wrong password -> exit 4" 4 "$RC"
check "... named by the URI, the server's reason given" \
  sh -c "grep -q '^asr-central: $URI: connecting: .*password authentication failed' '$O.r.err'"
run "$O.r" "$O.r.err" "$ASR_CENTRAL" devices --db "$TMPD/file.db" --db-password-file "$PW"
check_status "--db-password-file with a SQLite --db -> exit 2" 2 "$RC"

# --- serve survives a restart of the server ----------------------------------------------
pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DIR/run/data" -m fast -w -t 30 restart \
  >"$TMPD/restart.log" 2>&1
check "the cluster restarted" test $? = 0
# each of serve's handles meets the loss once: that request is answered 503 (busy: retry)
# and the handle is connected again; anything else (500, no answer) is a failure
: >"$O.answers"
i=0
while [ $i -lt 6 ]; do
  python3 "$ASRLOAD" enroll "$URL" "$SITE_TOKEN" >"$O.e2" 2>"$O.e2.err"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("status", 201))' \
    "$O.e2" >>"$O.answers" 2>/dev/null || echo none >>"$O.answers"
  grep -q agent_id "$O.e2" && break
  sleep 0.5
  i=$((i + 1))
done
check "after the restart, an enrolment through the same serve -> 201 (answers: $(tr '\n' ' ' <"$O.answers"))" \
  grep -q agent_id "$O.e2"
check "... and before it only 503 (busy, retry)" sh -c "! grep -qv '^50[3]\$\|^201\$' '$O.answers'"
send b2 2
i=0
while grep -q '"status": 503' "$O.b2" && [ $i -lt 5 ]; do # 503 (busy): the agent retries
  sleep 0.5
  send b2 2
  i=$((i + 1))
done
pending_or "after the restart, an upload to the same serve -> 200 stored" \
  "the ingest (cstore_ingest.c)" "$CLOG" \
  pyjson "$O.b2" 'd["status"] == 200 and d["body"]["status"] == "stored"'
check "serve is still running" kill -0 "$CENTRAL_PID"
run "$O.d3" "$O.d3.err" "$ASR_CENTRAL" devices --format json --db "$URI" --db-password-file "$PW"
check_status "devices after the restart -> 0" 0 "$RC"
pending_or "devices: 4 printers, each reading once" "the ingest (cstore_ingest.c)" "$CLOG" \
  pyjson "$O.d3" 'len(d["devices"]) == 4 and all(x["readings"] == 2 for x in d["devices"])'

# --- a server that is down, one that does not answer -------------------------------------
pgtmp__as "$PGTMP_BIN/pg_ctl" -D "$PGTMP_DIR/run/data" -m immediate -w -t 30 stop \
  >"$TMPD/stop.log" 2>&1
elapsed_run "$O.down" 30 "$ASR_CENTRAL" devices --db "$URI" --db-password-file "$PW"
check_status "server down: devices -> exit 4" 4 "$RC"
check "... at once (${T}s)" test "$T" -le 5
check "... the message names the URI and the refused connection" \
  sh -c "grep -q '^asr-central: $URI: connecting: .*refused' '$O.down.err'"
elapsed_run "$O.sdown" 40 python3 "$ASRLOAD" send "$URL" --agent "$AG" --secret "$SEC" \
  --json "$TMPD/b1.json" --gzip
jcheck "server down: an upload to serve -> 5xx, the agent keeps its batch" "$O.sdown" \
  'd["status"] in (500, 503)'
check "... within the deadline (${T}s)" test "$T" -le 25
elapsed_run "$O.edown" 40 python3 "$ASRLOAD" enroll "$URL" "$SITE_TOKEN"
jcheck "server down: an enrolment -> 5xx" "$O.edown" 'd["status"] in (500, 503)'
check "serve is still running" kill -0 "$CENTRAL_PID"
check "serve's log names the database by its URI, no password" \
  sh -c "grep -q '$URI' '$CLOG' && ! grep -q '$SECRET' '$CLOG'"

# a listener that takes the connection and never answers: connect_timeout (10 s default)
python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.52.15.2", 25418)); s.listen(8); print("up", flush=True); time.sleep(60)' \
  >"$TMPD/mute.log" 2>&1 &
MUTE=$!
pid_track "$MUTE"
wait_port 127.52.15.2 25418 50 "$MUTE"
elapsed_run "$O.mute" 40 "$ASR_CENTRAL" devices --db postgresql://asr@127.52.15.2:25418/asr \
  --db-password-file "$PW"
check_status "a server that never answers: devices -> exit 4" 4 "$RC"
check "... after the connect deadline, not a hang (${T}s, 10 s default)" \
  sh -c "[ $T -ge 8 ] && [ $T -le 20 ]"
check "... the message says it timed out" sh -c "grep -q 'timeout' '$O.mute.err'"
[ -z "$PENDING" ] || echo "# pending (not on PostgreSQL yet)$PENDING"
finish
