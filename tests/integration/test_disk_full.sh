#!/bin/sh
# test_disk_full.sh: the agent's database on a full disk (issue 10, item 8). A 16 MB tmpfs
# (root only: the test is skipped otherwise) holds a real database (4 snmpsim printers
# discovered, polled, uploaded to a plain-HTTP asr-central on loopback, more readings
# pending); then a file fills the disk:
#   - every command (poll, discover, upload, status, enroll --update, run) says the disk
#     is full, naming the folder, with exit 8 (never "disk I/O error"), and
#     `status --check` is CRITICAL, saying so;
#   - the same while another process holds the database open (its WAL and shared memory
#     exist, so reads work and writes fail inside SQLite): status still shows the data;
#   - nothing stored is lost or half-written: the dump of the database after all this is
#     the dump before the disk filled; once space is freed, poll works again;
#   - a new database on a full disk fails the same way and leaves no file behind;
#   - with 15 MB free of 16, `status --check` warns that the disk is nearly full.
# The tmpfs is always unmounted (trap). Addresses 127.52.9.x (21-24), port 18865.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init disk_full
need_agent
need_sim
need_central
need_cmd python3 mount umount
[ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
NET=127.52.9
O="$TMPD/o"
E="$TMPD/e"
OPTS="--timeout 300 --retries 0"
MNT="$TMPD/small"
HOLD_PID=""
mkdir -p "$MNT"
full_cleanup()
{
  if [ -n "$HOLD_PID" ]; then
    kill "$HOLD_PID" 2>/dev/null
    wait "$HOLD_PID" 2>/dev/null
  fi
  uplink_cleanup
  if mountpoint -q "$MNT" 2>/dev/null; then
    umount "$MNT" 2>/dev/null || umount -l "$MNT"
  fi
  itest_cleanup
}
trap 'full_cleanup' EXIT
mount -t tmpfs -o size=16m,mode=0755 asr-itest-full "$MNT" || skip "cannot mount a tmpfs here"
DB="$MNT/agent.db"
export ASR_AGENT_DB="$DB"
printf '# no directives: the defaults\n' >"$TMPD/empty.conf"

sim_add $NET.21 colour_laser
sim_add $NET.22 mono_laser
sim_add $NET.23 mfp_waste
sim_add $NET.24 inkjet
sim_start
central_start $NET.20 18865 ""
site_add acme

run "$O" "$E" "$ASR_AGENT" discover --port "$SIM_PORT" $OPTS $NET.21-24
check_status "discover on the small disk" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN"
check_status "enroll" 0 "$RC"
tick
run "$O" "$E" "$ASR_AGENT" poll $OPTS
run "$O" "$E" "$ASR_AGENT" upload --max-wait 5
check_status "upload" 0 "$RC"
tick
run "$O" "$E" "$ASR_AGENT" poll $OPTS
check_status "poll (pending readings)" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "status --check with 15 MB free of 16 warns" 1 "$RC"
check "... that the disk is nearly full, naming the folder" grep -qF "disk nearly full" "$O"
[ "$RC" = 1 ] || show "$O"

cat >"$TMPD/dump.py" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], 'w') as out:
    for line in c.iterdump():
        out.write(line + '\n')
    out.write('-- quick_check: %s\n' % c.execute('PRAGMA quick_check').fetchone()[0])
PYEOF
python3 "$TMPD/dump.py" "$DB" "$TMPD/before.sql" || bail "cannot dump the database"
grep -q "INSERT INTO \"readings\"" "$TMPD/before.sql" || bail "no readings in the database"

# fill: writes until the disk is full (dd stops at ENOSPC)
fill()
{
  dd if=/dev/zero of="$MNT/filler" bs=64k >/dev/null 2>&1
  dd if=/dev/zero of="$MNT/filler2" bs=512 >/dev/null 2>&1
  sync
}

# says_full TEXT: the last command said the disk is full, naming the folder, exit 8
says_full()
{
  check_status "$1: exit 8" 8 "$RC"
  if grep -qF "the disk is full (no space left in $MNT)" "$E"; then
    ok "$1 says the disk is full, naming the folder"
  else
    not_ok "$1 says the disk is full, naming the folder"
    show "$E"
  fi
  check "$1 does not say 'disk I/O error'" sh -c '! grep -q "disk I/O error" "$1"' _ "$E"
}

## ---- a full disk, nobody holds the database ----
fill
run "$O" "$E" "$ASR_AGENT" poll $OPTS
says_full "poll"
run "$O" "$E" "$ASR_AGENT" discover --port "$SIM_PORT" $OPTS $NET.21-24
says_full "discover"
run "$O" "$E" "$ASR_AGENT" upload --max-wait 2
says_full "upload"
run "$O" "$E" "$ASR_AGENT" status --format json
says_full "status"
run "$O" "$E" "$ASR_AGENT" enroll --update --proxy none
says_full "enroll --update"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "status --check on a full disk is CRITICAL" 2 "$RC"
check "status --check says the disk is full" grep -q "^ASR-AGENT CRITICAL - .*disk is full" "$O"
printf 'database %s\nlog_level error\n' "$DB" >"$TMPD/agent.conf"
run "$O" "$E" "$ASR_AGENT" run --config "$TMPD/agent.conf" --test-clock "$(date +%s)" \
  --test-until $(($(date +%s) + 60))
check_status "the daemon does not start on a full disk" 8 "$RC"
check "the daemon says the disk is full" grep -q "disk is full" "$E"
rm -f "$MNT/filler" "$MNT/filler2"

## ---- a full disk while another process holds the database open ----
python3 - "$DB" "$TMPD/hold.ready" <<'PYEOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute('SELECT count(*) FROM devices').fetchall()
open(sys.argv[2], 'w').close()
time.sleep(120)
PYEOF
HOLD_PID=$!
i=0
while [ ! -f "$TMPD/hold.ready" ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
fill
run "$O" "$E" "$ASR_AGENT" poll $OPTS
says_full "poll (database held open)"
run "$O" "$E" "$ASR_AGENT" discover --port "$SIM_PORT" $OPTS $NET.21-24
says_full "discover (database held open)"
run "$O" "$E" "$ASR_AGENT" upload --max-wait 2
says_full "upload (database held open)"
run "$O" "$E" "$ASR_AGENT" status --format json
check_status "status still shows the data (database held open)" 0 "$RC"
jcheck "status shows the 4 printers" "$O" 'len(d["devices"]) == 4'
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "status --check is CRITICAL (database held open)" 2 "$RC"
check "status --check says the disk is full, naming the folder" \
  grep -qF "disk full: 0.0 MB free in $MNT" "$O"
[ "$RC" = 2 ] || show "$O"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=""

## ---- a new database on a full disk ----
run "$O" "$E" env ASR_AGENT_DB="$MNT/new.db" "$ASR_AGENT" status --format json
says_full "a new database"
check "no file is left for the new database" test -z "$(find "$MNT" -name 'new.db*')"
rm -f "$MNT/filler" "$MNT/filler2"

## ---- nothing lost, and it works again ----
python3 "$TMPD/dump.py" "$DB" "$TMPD/after.sql"
check "the database holds exactly what it held before the disk filled" \
  cmp -s "$TMPD/before.sql" "$TMPD/after.sql"
check "... and is whole" grep -q "^-- quick_check: ok" "$TMPD/after.sql"
tick
run "$O" "$E" "$ASR_AGENT" poll $OPTS
check_status "with space again, poll works" 0 "$RC"
run "$O" "$E" env ASR_AGENT_DB="$MNT/new.db" "$ASR_AGENT" status --format json
check_status "with space again, a new database is created" 0 "$RC"

finish
