#!/bin/sh
# test_db_damage.sh: a damaged agent database is noticed at once and never written to
# (issue 10, item 7).
#
# A real database: the daemon discovers and polls 6 snmpsim printers for 4 simulated days
# and uploads every day to a plain-HTTP asr-central on loopback; then a few polls more
# (readings pending), and a short run of the daemon that prunes what is older than a day
# (which leaves free pages in the file). Then, for EVERY 4 KB page of that file in turn, a copy gets the page
# overwritten with random bytes, and:
#   - when SQLite's integrity_check sees the damage: `status --check` is CRITICAL or
#     UNKNOWN (never OK), and poll, upload and discover refuse it: exit 7 (damaged; 4 for
#     page 1, "not a database"), a message naming the file, and the file unchanged
#     (checksum before and after, no WAL left with data);
#   - when it does not (a free page): nothing was lost, the dump of every table equals the
#     original's, so accepting the file is right.
# Also: an empty (0-byte) agent.db is an error for every command (exit 7, CRITICAL) and
# stays 0 bytes; a missing default one ($ASR_AGENT_DB) is created whole (never empty, even by 8 processes at once);
# the daemon does not start on a damaged file (exit 7).
# Addresses 127.52.9.x, port 18860.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init db_damage
need_agent
need_sim
need_central
need_cmd python3 sha256sum
NET=127.52.9
O="$TMPD/o"
E="$TMPD/e"
OPTS="--timeout 300 --retries 0"
printf '# no directives: the defaults\n' >"$TMPD/empty.conf"

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 mfp_waste
sim_add $NET.4 inkjet
sim_add $NET.5 quirk_ricoh
sim_add $NET.6 no_serial
sim_start
central_start $NET.10 18860 ""
site_add acme

## ---- a populated database, by the agent itself ----
run "$O" "$E" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN"
check_status "enroll" 0 "$RC"
cat >"$TMPD/agent.conf" <<CONF
database $DB
scan_targets $NET.1-6
snmp_port $SIM_PORT
snmp_timeout 300ms
snmp_retries 0
poll_interval 1h
upload_window 00:00-23:59
log_level error
CONF
NOW=$(date +%s)
"$ASR_AGENT" run --config "$TMPD/agent.conf" --test-clock $((NOW - 4 * 86400)) \
  --test-until $((NOW - 120)) --test-seed 7 >"$O" 2>"$TMPD/run.log"
check_status "the daemon ran 4 simulated days" 0 "$?"
for i in 1 2; do
  tick
  run "$O" "$E" "$ASR_AGENT" poll $OPTS
done
check_status "polls after the daemon" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" status --format json
jcheck "6 printers with readings" "$O" \
  'len(d["devices"]) == 6 and all(x["readings"] >= 90 for x in d["devices"])'
jcheck "batches delivered, readings pending" "$O" \
  'd["uplink"]["last_upload"] and d["uplink"]["pending_readings"] >= 12'
# the daily pruning, keeping a day: the pages of the older readings become free
sed 's/^log_level .*/retention 1d/' "$TMPD/agent.conf" >"$TMPD/prune.conf"
"$ASR_AGENT" run --config "$TMPD/prune.conf" --test-clock $((NOW + 60)) \
  --test-until $((NOW + 120)) --test-seed 7 >"$O" 2>"$TMPD/run.log"
check_status "the daemon pruned what is older than a day" 0 "$?"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "status --check on the database as it is" 0 "$RC"
[ "$RC" = 0 ] || show "$O"
BASE="$TMPD/base.db"
cp "$DB" "$BASE"
[ ! -s "$DB-wal" ] || bail "the agent left a WAL behind: the copy would not be whole"
# the data of every table, for the pages whose loss SQLite cannot see
cat >"$TMPD/damage.py" <<'PYEOF'
import random, shutil, sqlite3, sys

def open_ro(path):
    return sqlite3.connect('file:%s?immutable=1' % path, uri=True)

def dump(path):
    return '\n'.join(open_ro(path).iterdump())

def verdict(path):
    """'damaged' when quick_check or integrity_check fail (or raise), else 'clean'."""
    try:
        c = open_ro(path)
        for p in ('quick_check', 'integrity_check'):
            if c.execute('PRAGMA ' + p).fetchall() != [('ok',)]:
                return 'damaged'
        return 'clean'
    except sqlite3.DatabaseError:
        return 'damaged'

cmd = sys.argv[1]
if cmd == 'pages':
    print(len(open(sys.argv[2], 'rb').read()) // 4096)
elif cmd == 'damage':  # damage SRC DST PAGE: DST is SRC with PAGE (1-based) overwritten
    src, dst, page = sys.argv[2], sys.argv[3], int(sys.argv[4])
    shutil.copyfile(src, dst)
    junk = random.Random(1000 + page).randbytes(4096)
    with open(dst, 'r+b') as f:
        f.seek((page - 1) * 4096)
        f.write(junk)
    print(verdict(dst))
elif cmd == 'same':  # same A B: the data of A equals the data of B
    sys.exit(0 if dump(sys.argv[2]) == dump(sys.argv[3]) else 1)
PYEOF
PAGES=$(python3 "$TMPD/damage.py" pages "$BASE")
FREE=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA freelist_count").fetchone()[0])' "$BASE")
echo "# the database has $PAGES pages, $FREE of them free"
[ "$PAGES" -ge 30 ] || bail "the database is too small for the test ($PAGES pages)"

# sums FILE: the checksum of FILE and the size of its WAL (0 when none)
sums()
{
  _w=0
  [ -f "$1-wal" ] && _w=$(wc -c <"$1-wal")
  echo "$(sha256sum <"$1") wal=$_w"
}

# refused CMD...: the command refuses $C: exit 7 (or 4 when page 1 is gone: not a
# database), names the file, changes nothing. Adds to $why otherwise.
refused()
{
  _before=$(sums "$C")
  "$ASR_AGENT" "$@" >"$O" 2>"$E"
  _rc=$?
  _after=$(sums "$C")
  if [ "$_rc" != 7 ] && ! { [ "$_rc" = 4 ] && grep -q "not a database" "$E"; }; then
    why="$why; $1 exit $_rc"
  fi
  grep -qF "$C" "$E" || why="$why; $1 does not name the file"
  [ "$_before" = "$_after" ] || why="$why; $1 changed the file ($_before -> $_after)"
}

C="$TMPD/damaged.db"
damaged=0
clean=0
page=1
while [ "$page" -le "$PAGES" ]; do
  rm -f "$C" "$C-wal" "$C-shm"
  v=$(python3 "$TMPD/damage.py" damage "$BASE" "$C" "$page")
  why=""
  if [ "$v" = damaged ]; then
    damaged=$((damaged + 1))
    "$ASR_AGENT" status --check --db "$C" --config "$TMPD/empty.conf" >"$O" 2>"$E"
    rc=$?
    [ "$rc" = 2 ] || [ "$rc" = 3 ] || why="$why; status --check exit $rc: $(head -c 200 "$O")"
    refused poll --db "$C" $OPTS
    refused upload --db "$C" --max-wait 2
    refused discover --db "$C" --port "$SIM_PORT" $OPTS $NET.1-6
    refused status --db "$C" --format json
    if [ -z "$why" ]; then ok "page $page damaged: noticed, refused, unchanged"; else
      not_ok "page $page damaged:$why"
    fi
  else
    clean=$((clean + 1))
    if python3 "$TMPD/damage.py" same "$BASE" "$C"; then
      ok "page $page overwritten, not seen by SQLite: a free page, every row intact"
    else
      not_ok "page $page overwritten: SQLite sees nothing but the data changed"
    fi
  fi
  page=$((page + 1))
done
echo "# $damaged pages damaged and refused, $clean free pages without data"
[ "$damaged" -ge $((PAGES * 3 / 4)) ] && ok "most pages hold data ($damaged of $PAGES)" ||
  not_ok "only $damaged of $PAGES pages were seen damaged"

## ---- the daemon does not start on a damaged file ----
python3 "$TMPD/damage.py" damage "$BASE" "$C" $((PAGES / 2)) >/dev/null
sed "s|^database .*|database $C|" "$TMPD/agent.conf" >"$TMPD/damaged.conf"
before=$(sums "$C")
run "$O" "$E" "$ASR_AGENT" run --config "$TMPD/damaged.conf" --test-clock "$NOW" \
  --test-until $((NOW + 7200))
check_status "run on a damaged database does not start" 7 "$RC"
check "run says why" grep -q "damaged" "$E"
check "run changed nothing" test "$before" = "$(sums "$C")"

## ---- an empty file is not a new database ----
Z="$TMPD/zero.db"
: >"$Z"
for cmd in "status --format json" "poll $OPTS" "upload --max-wait 2" \
  "discover --port $SIM_PORT $OPTS $NET.1"; do
  # shellcheck disable=SC2086
  run "$O" "$E" "$ASR_AGENT" $cmd --db "$Z"
  check_status "${cmd%% *} on a 0-byte file is refused" 7 "$RC"
  check "${cmd%% *}: the message names the file and says it is empty" \
    grep -qF "$Z: the file is empty" "$E"
done
run "$O" "$E" "$ASR_AGENT" status --check --db "$Z" --config "$TMPD/empty.conf"
check_status "status --check on a 0-byte file is CRITICAL" 2 "$RC"
check "status --check says the file is empty" grep -q "^ASR-AGENT CRITICAL - .*empty" "$O"
run "$O" "$E" "$ASR_AGENT" enroll --db "$Z" --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN"
check_status "enroll into a 0-byte file is refused" 7 "$RC"
check "the 0-byte file is still empty, with no WAL" \
  test ! -s "$Z" -a ! -e "$Z-wal" -a ! -e "$Z-shm"

## ---- a missing file is created whole, also by several processes at once ----
N="$TMPD/new.db"
pids=""
for i in 1 2 3 4 5 6 7 8; do
  ASR_AGENT_DB="$N" "$ASR_AGENT" status --format json >"$O.$i" 2>"$E.$i" &
  pids="$pids $!"
done
bad=0
for p in $pids; do
  wait "$p" || bad=$((bad + 1))
done
check_status "8 processes creating the database at once all succeed" 0 "$bad"
[ "$bad" = 0 ] || cat "$E".* | head -n 5
check "the new database is whole" test "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA quick_check").fetchone()[0])' "$N")" = ok
check "no temporary file is left" test -z "$(find "$TMPD" -maxdepth 1 -name 'new.db.*')"
check "the new database is private (0600)" test "$(stat -c %a "$N")" = 600

finish
