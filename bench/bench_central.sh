#!/bin/sh
# bench_central.sh: a provider's days through the real protocol. N printers (20,000 by
# default) spread over sites of P printers (50), one agent per site; every simulated day
# each agent sends ONE signed gzip batch over HTTPS (24 hourly polls x 4 toners of each of
# its printers: bench/fleetday.py, the protocol of tests/load/asrload.py) to `asr-central
# serve` running on that day's clock (ASR_TEST_CLOCK, common/clock.c), then the day's
# engine runs (`asr-central replenish --now`). Prints per day and in the end:
#   ingest   levels stored per second (the day's upload, first batch to last answer); the
#            last day against the first (a growing database must not slow it down)
#   engine   seconds of `replenish --now` each day (the day's run and the retention's
#            deletions): first, last, and last / first full-window day (the first day
#            after a whole calendar week: every device is judged and ordered for from then
#            on; every site's first order is made that day)              goal <= 1.2;
#            and the trend of the days after it (seconds a day more, least squares) with
#            what it projects for day 200
#   memory   the server's peak RSS (VmHWM) over a day's upload, and under 4 concurrent
#            maximal batches: the protocol's design day of a 10,000-printer site, the
#            largest an agent sends as one (docs/protocol.md, "Limits": 60,000 readings of
#            5 supplies)                                                  goal <= 256 MiB;
#            the engine's peak RSS
#   database bytes per printer-day (growth from the first day to the last, per table) and
#            what the retention settings keep at most (asr-central(8), "Retention")
# Goals at 100,000 printers on a 2-core machine: a day ingested in <= 60 s and its engine
# run in <= 60 s (issue 15).
#
# Usage: sh bench/bench_central.sh [--quick | --printers N] [--days D] [--per-site P]
#        [--retention-days N] [--no-flood]          (from the build directory)
#   --quick      1,000 printers, 9 days: a smoke run of the script (a minute or two)
#   --printers N 20,000 by default; 100,000 for the issue's goals (about an hour)
# ASR_CENTRAL (default ./asr-central). Address 127.56.0.1, port 18720: run it under the
# integration tests' lock (flock /tmp/asr-itest.lock sh bench/bench_central.sh).
# BENCH_KEEP=DIR keeps the figures and the logs there. This is a benchmark, not a test:
# it exits 0 unless something could not run.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

PRINTERS=20000
DAYS=12
PER_SITE=50
FLOOD=1
RETENTION=""
while [ $# -gt 0 ]; do
  case $1 in
  --quick) PRINTERS=1000 DAYS=9 ;;
  --printers) PRINTERS=$2 && shift ;;
  --days) DAYS=$2 && shift ;;
  --per-site) PER_SITE=$2 && shift ;;
  --retention-days) RETENTION=$2 && shift ;;
  --no-flood) FLOOD=0 ;;
  *) echo "usage: bench_central.sh [--quick | --printers N] [--days D] [--per-site P]" \
    "[--retention-days N] [--no-flood]" >&2 && exit 2 ;;
  esac
  shift
done
[ "$DAYS" -ge 9 ] || { echo "bench_central: --days must be 9 or more" >&2; exit 2; }

uplink_init bench_central
need_cmd openssl python3
need_central
FLEET="$top_srcdir/bench/fleetday.py"
MEASURE="$top_srcdir/bench/measure.py"
ATTACK="$top_srcdir/tests/load/asrattack.py"
A=127.56.0.1
PORT=18720
CA="$TMPD/tls/ca.pem"
CENTRAL_DB="$TMPD/central.db"
SITES=$(((PRINTERS + PER_SITE - 1) / PER_SITE))
PRINTERS=$((SITES * PER_SITE))
# day 1 is a Monday: the first whole calendar week ends on day 7, day 8 is the first day
# every device is judged (docs/replenishment.md, rule 4)
DAY0=$(python3 -c 'd = 20454; print(d - (d + 3) % 7)')
FULL=8
KEEP_OPTS=""
[ -n "$RETENTION" ] && KEEP_OPTS="--retention-days $RETENTION"
R="$TMPD/results"
mkdir -p "$R"

tls_ca ca
tls_cert ca srv "IP:$A"

echo "# bench_central: $PRINTERS printers, $SITES sites of $PER_SITE, $DAYS days," \
  "$((PRINTERS * 96)) levels a day"
t=$(now_ms)
i=0
while [ $i -lt $SITES ]; do
  name=$(printf 'site%05d' $i)
  tok=$("$ASR_CENTRAL" site add "$name" --contact "ops@$name.example" --db "$CENTRAL_DB" \
    2>>"$TMPD/run/site.err" | grep -o 'st_[0-9a-f]\{32\}' | head -n 1)
  [ -n "$tok" ] || { show "$TMPD/run/site.err"; bail "site add $name printed no token"; }
  echo "$name $tok" >>"$TMPD/tokens"
  i=$((i + 1))
done
echo "# $SITES sites added in $(($(now_ms) - t)) ms"

# serve_day D: the central on the clock of day D, 23:00 (day 0: enrolments)
serve_day()
{
  CLOCK=$((($1) * 86400 + 82800))
  ASR_TEST_CLOCK=$CLOCK
  export ASR_TEST_CLOCK
  # shellcheck disable=SC2086
  CENTRAL_OPTS="--no-replenish $KEEP_OPTS" central_start $A $PORT srv
  unset ASR_TEST_CLOCK
}

hwm() # the central's peak RSS in KiB
{
  awk '$1 == "VmHWM:" {print $2}' "/proc/$CENTRAL_PID/status" 2>/dev/null || echo 0
}

db_bytes() # bytes of the database's pages in use
{
  python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
pc, fl, ps = [c.execute("PRAGMA %s" % p).fetchone()[0] for p in ("page_count", "freelist_count", "page_size")]
print((pc - fl) * ps)' "$CENTRAL_DB"
}

table_bytes() # OUT: bytes per table and index (dbstat) as JSON
{
  python3 -c 'import json,sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
json.dump(dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()), open(sys.argv[2], "w"))' \
    "$CENTRAL_DB" "$1"
}

serve_day "$DAY0"
python3 "$FLEET" enroll "$CENTRAL_URL" --tokens "$TMPD/tokens" --creds "$TMPD/creds.json" \
  --ca "$CA" --clock "$CLOCK" >"$R/enroll.json" || { cat "$R/enroll.json"; bail "enrolment failed"; }
central_stop

printf '%4s %8s %10s %10s %9s %10s %10s %8s\n' day ingest levels/s "serve MiB" engine \
  "engine MiB" "db MB" orders
d=1
while [ $d -le "$DAYS" ]; do
  day=$((DAY0 + d - 1))
  serve_day "$day"
  python3 "$FLEET" day "$CENTRAL_URL" --creds "$TMPD/creds.json" --day "$day" \
    --per-site "$PER_SITE" --ca "$CA" --clock "$CLOCK" >"$R/ingest.$d.json" ||
    { cat "$R/ingest.$d.json"; show "$TMPD/run/central.log"; bail "day $d: upload failed"; }
  echo "$(hwm)" >"$R/hwm.$d"
  central_stop
  ASR_TEST_CLOCK=$((day * 86400 + 85800)) python3 "$MEASURE" --keep "$R/engine.$d.out" \
    "$ASR_CENTRAL" replenish --now --db "$CENTRAL_DB" $KEEP_OPTS >"$R/engine.$d"
  grep -q 'exit=0' "$R/engine.$d" || { cat "$R/engine.$d.out"; bail "day $d: replenish failed"; }
  db_bytes >"$R/db.$d"
  [ "$d" -eq 1 ] && table_bytes "$R/tables.1.json"
  python3 - "$R" "$d" <<'EOF'
import json, sys
r, d = sys.argv[1], sys.argv[2]
ing = json.load(open('%s/ingest.%s.json' % (r, d)))
eng = dict(kv.split('=') for kv in open('%s/engine.%s' % (r, d)).read().split())
out = open('%s/engine.%s.out' % (r, d)).read()
orders = out.split(' orders ')[0].rsplit(' ', 1)[-1] if ' orders ' in out else '?'
print('%4s %7.2fs %10d %10.0f %8.2fs %10.0f %10.1f %8s' % (
    d, ing['seconds'], ing['levels_per_s'], int(open('%s/hwm.%s' % (r, d)).read()) / 1024.0,
    float(eng['seconds']), int(eng['maxrss_kb']) / 1024.0,
    int(open('%s/db.%s' % (r, d)).read()) / 1e6, orders))
EOF
  d=$((d + 1))
done
table_bytes "$R/tables.$DAYS.json"

# 4 concurrent maximal batches (the bounds of docs/protocol.md) against the day's server
FLOOD_HWM=0
IDLE_HWM=0
if [ "$FLOOD" = 1 ]; then
  CENTRAL_OPTS="--no-replenish" central_start $A $PORT srv
  IDLE_HWM=$(hwm)
  python3 "$ATTACK" flood "$CENTRAL_URL" --ca "$CA" --token "$(head -n 1 "$TMPD/tokens" | cut -d' ' -f2)" \
    --agents 4 --devices 10000 --readings 6 --levels 5 --seconds 110 >"$R/flood.json" 2>&1
  FLOOD_HWM=$(hwm)
  central_stop
fi

python3 - "$R" "$DAYS" "$FULL" "$PRINTERS" "$IDLE_HWM" "$FLOOD_HWM" "${RETENTION:-400}" <<'EOF'
import json, sys
r, days, full, printers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
idle, flood, keep = int(sys.argv[5]) / 1024.0, int(sys.argv[6]) / 1024.0, int(sys.argv[7])
ing = [json.load(open('%s/ingest.%d.json' % (r, d))) for d in range(1, days + 1)]
eng = [float(dict(kv.split('=') for kv in open('%s/engine.%d' % (r, d)).read().split())['seconds'])
       for d in range(1, days + 1)]
erss = max(int(dict(kv.split('=') for kv in open('%s/engine.%d' % (r, d)).read().split())['maxrss_kb'])
           for d in range(1, days + 1)) / 1024.0
hwm = max(int(open('%s/hwm.%d' % (r, d)).read()) for d in range(1, days + 1)) / 1024.0
db = [int(open('%s/db.%d' % (r, d)).read()) for d in range(1, days + 1)]
t1, tn = json.load(open('%s/tables.1.json' % r)), json.load(open('%s/tables.%d.json' % (r, days)))
per_day = (db[-1] - db[0]) / float(printers * (days - 1))
scale = 100000.0 / printers
print('')
print('ingest   %d levels/s on day 1, %d on day %d (ratio %.2f); a day: %.1f s'
      ' (at 100,000 printers ~%.0f s, goal <= 60 s)' % (
          ing[0]['levels_per_s'], ing[-1]['levels_per_s'], days,
          ing[-1]['levels_per_s'] / float(ing[0]['levels_per_s']), ing[-1]['seconds'],
          ing[-1]['seconds'] * scale))
print('engine   %.2f s on day 1, %.2f s on day %d (first full-window day), %.2f s on day %d:'
      ' last / day %d = %.2f (goal <= 1.2); at 100,000 printers ~%.0f s (goal <= 60 s)' % (
          eng[0], eng[full - 1], full, eng[-1], days, full, eng[-1] / eng[full - 1],
          eng[-1] * scale))
# the trend of the days after the first full window (day `full` itself makes every site's
# first order: left out), least squares: what a day costs more than the day before
xs = list(range(full + 1, days + 1))
ys = eng[full:]
if len(xs) >= 2:
    mx, my = sum(xs) / float(len(xs)), sum(ys) / float(len(ys))
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    at = lambda d: my + slope * (d - mx)
    if slope > 0 and at(full + 1) > 0:
        print('         trend from day %d: %+.3f s a day; projected day 200 / day %d = %.2f' % (
            full + 1, slope, full + 1, at(200) / at(full + 1)))
    else:
        print('         trend from day %d: %+.3f s a day: no growth' % (full + 1, slope))
print('memory   serve VmHWM %.0f MiB over a day\'s upload; idle %.0f MiB, under 4 concurrent'
      ' maximal batches %.0f MiB (goal <= 256 MiB); engine %.0f MiB' % (hwm, idle, flood, erss))
print('database %.0f bytes per printer-day (day 1 to %d); by table and index:' % (per_day, days))
for name in sorted(tn, key=lambda k: -(tn[k] - t1.get(k, 0))):
    grow = (tn[name] - t1.get(name, 0)) / float(printers * (days - 1))
    if abs(grow) >= 1:
        print('           %-24s %8.0f bytes per printer-day' % (name, grow))
raw = sum(tn.get(k, 0) - t1.get(k, 0) for k in ('levels', 'readings', 'events'))
raw /= float(printers * (days - 1))
print('         raw readings (levels, readings, events) %.0f bytes per printer-day: kept %d days'
      ' (--retention-days) = %.1f MB per printer at most' % (raw, keep, raw * keep / 1e6))
try:
    fl = json.load(open('%s/flood.json' % r))
    print('flood    %d of %d maximal batches stored, %d answers 503' % (
        fl['stored'], fl['agents'], fl['busy_answers']))
except (OSError, ValueError, KeyError):
    pass
EOF
if [ -n "${BENCH_KEEP:-}" ]; then
  mkdir -p "$BENCH_KEEP" && cp -r "$R" "$TMPD/run" "$BENCH_KEEP/" &&
    echo "# kept in $BENCH_KEEP"
fi
exit 0
