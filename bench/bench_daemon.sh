#!/bin/sh
# bench_daemon.sh: the daemon's resource use (issue 4, section 6).
#   sh bench/bench_daemon.sh [BUILDDIR]        (default: the current directory)
# 1. idle: `asr-agent run` with 1,000 printers known, after its start-up work: CPU ticks
#    (utime+stime from /proc/PID/stat) and wake-ups (context switches) over 10 s, and RSS;
#    the peer is a sleep(1) polling loop (10 wake-ups in 10 s).
# 2. size: a simulated year of hourly polls of 1,000 printers (10 supplies each), written
#    straight into the database in the store's packed format (schema.h), all delivered;
#    then the daemon's daily pruning with retention 90d. The peer is the same readings as
#    one row per supply (the naive layout), measured on 10 printers and scaled.
# Linux only (/proc). Printers are on 127.56.x (loopback): no packet leaves the host.
set -eu
build=$(cd "${1:-.}" && pwd)
agent="$build/asr-agent"
[ -x "$agent" ] || { echo "bench_daemon: $agent missing: run make first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_daemon.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
db="$work/agent.db"
ASR_AGENT_DB="$db" "$agent" status >/dev/null 2>&1 || true # creates the schema

python3 - "$db" "$work/naive.db" <<'PY'
import sqlite3, sys, random
db, naive = sys.argv[1], sys.argv[2]
import time
HOURS, N, SUP = 8760, 1000, 10
T0 = int(time.time()) // 3600 * 3600 - HOURS * 3600  # the year up to now
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f; v >>= 7
        if v: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def zz(v): return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1
def blob(levels):
    out, pi, pm = bytearray([1]), 0, 0
    for i, (lv, mx) in enumerate(levels, 1):
        same = mx == pm
        out += varint(zz(i - pi) * 2 + (1 if same else 0)) + varint(zz(lv))
        if not same: out += varint(zz(mx))
        pi, pm = i, mx
    return bytes(out)
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
c.executemany("INSERT INTO devices (key, serial, ip, is_printer, community, first_seen, last_seen,"
              " last_good_poll) VALUES (?, ?, ?, 1, 'public', ?, ?, ?)",
              [("s:BENCH%06d" % i, "BENCH%06d" % i, "127.56.%d.%d" % (100 + i // 250, i % 250 + 1),
                T0, T0 + HOURS * 3600, T0 + HOURS * 3600) for i in range(N)])
ids = [r[0] for r in c.execute("SELECT id FROM devices ORDER BY id")]
rnd = random.Random(1)
for h in range(HOURS):
    t = T0 + h * 3600
    rows = []
    for d in ids:
        lv = [(max(0, 10000 - (h * (s + 1) + d) % 10000), 10000) for s in range(SUP)]
        rows.append((d, t, 100000 + h * 7 + d, blob(lv)))
    c.executemany("INSERT INTO readings (device_id, t, page_count, levels) VALUES (?,?,?,?)", rows)
    if h % 500 == 0:
        c.execute("DELETE FROM upload_queue")  # delivered
        c.commit()
c.execute("DELETE FROM upload_queue")
c.execute("UPDATE devices SET readings = %d" % HOURS)
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
n = sqlite3.connect(naive)
n.execute("CREATE TABLE r (device_id INTEGER, t INTEGER, idx INTEGER, level INTEGER, max INTEGER,"
          " PRIMARY KEY (device_id, t, idx)) WITHOUT ROWID")
for h in range(HOURS):
    n.executemany("INSERT INTO r VALUES (?,?,?,?,?)",
                  [(d, T0 + h * 3600, s, (h + s) % 10000, 10000) for d in range(10) for s in range(SUP)])
n.commit()
n.close()
PY
year_size=$(stat -c %s "$db")
naive_size=$(( $(stat -c %s "$work/naive.db") * 100 ))
echo "a year of hourly polls of 1,000 printers: $((year_size / 1048576)) MB (packed readings);" \
  "one row per supply: $((naive_size / 1048576)) MB (x$(python3 -c "print(round($naive_size/$year_size,1))"))"

# the daemon (real clock) at the end of that year: it prunes and polls (the printers do not
# answer: 127.56.x) at start-up, then idles until the next poll, an hour later
cat >"$work/agent.conf" <<CONF
database $db
snmp_port 18899
snmp_timeout 100ms
snmp_retries 0
concurrency 500
retention 90d
log_level info
CONF
"$agent" run --config "$work/agent.conf" 2>"$work/run.log" &
pid=$!
i=0
until grep -q 'pruning:' "$work/run.log" && grep -q 'poll: exit' "$work/run.log"; do
  sleep 0.5; i=$((i + 1)); [ $i -lt 600 ] || { echo "daemon did not settle"; cat "$work/run.log"; exit 1; }
done
sleep 1
grep 'pruning:' "$work/run.log" | sed 's/^asr-agent: info: /daemon: /'
live=$(sqlite3 "$db" "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size;" 2>/dev/null || echo 0)
echo "after pruning to 90 days: $((live / 1048576)) MB live (file $(( $(stat -c %s "$db") / 1048576 )) MB; freed pages are reused)"

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' "/proc/$pid/status"; }
c0=$(ticks); w0=$(switches)
sleep 10
c1=$(ticks); w1=$(switches)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "idle 10 s with 1,000 printers known: $((c1 - c0)) CPU ticks, $((w1 - w0)) wake-ups" \
  "(a sleep(1) polling loop: 10 wake-ups); RSS $((rss / 1024)) MB (goal < 20 MB)"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
