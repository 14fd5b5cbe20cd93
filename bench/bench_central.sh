#!/bin/sh
# bench_central.sh: a provider's days through the real protocol, on each backend. N printers
# (20,000 by default) spread over sites of P printers (50), one agent per site; every
# simulated day each agent sends ONE signed gzip batch over HTTPS (24 hourly polls x 4
# toners of each of its printers: bench/fleetday.py, the protocol of tests/load/asrload.py)
# to `asr-central serve` running on that day's clock (ASR_TEST_CLOCK, common/clock.c), then
# the day's engine runs (`asr-central replenish --now`). The same fleet and days run on
#   sqlite   one node on a SQLite file (the embedded default)
#   pg       one node on PostgreSQL (a throw-away cluster started here: tests/pg/pgtmp.sh,
#            with its settings: fsync, full_page_writes and synchronous_commit off,
#            shared_buffers 32MB; a production server writes more and caches more)
#   pg2      two nodes on one PostgreSQL database, the sites' agents spread over both (as
#            behind a load balancer), the day's engine started on both nodes at once (one
#            runs it, the other finds it done: docs/postgresql-backend.md, section 5)
# Prints per backend and day, then per backend:
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
#   database bytes per printer-day (growth from the first day to the last, per table; on
#            PostgreSQL pg_database_size and each relation's size) and what the retention
#            settings keep at most (asr-central(8), "Retention")
# and in the end one line a backend and which of the issue's goals each meets.
# Goals at 100,000 printers on a 2-core machine (issue 15): a day ingested in <= 60 s and
# its engine run in <= 60 s on either backend, the engine's day flat (last <= 1.2 x the
# first full-window day), serve's RSS <= 256 MiB under 4 concurrent maximal batches. Below
# 100,000 printers the seconds are extrapolated linearly ("~") and the goal judged on that.
#
# Usage: sh bench/bench_central.sh [--quick | --printers N] [--days D] [--per-site P]
#        [--retention-days N] [--no-flood] [--backends LIST]   (from the build directory)
#   --quick      1,000 printers, 9 days: a smoke run of the script (a few minutes)
#   --printers N 20,000 by default (or BENCH_PRINTERS); 100,000 for the issue's goals
#                (hours: about one per backend)
#   --backends   a comma-separated list of sqlite, pg, pg2 (default: all three, or
#                BENCH_BACKENDS); the PostgreSQL rows are skipped, saying why, when the
#                cluster cannot start
# ASR_CENTRAL (default ./asr-central). Addresses 127.56.0.1 and 127.56.0.2, ports 18720
# and 18721, PostgreSQL on 127.0.0.1:25660: run it under the integration tests' lock
# (flock /tmp/asr-itest.lock sh bench/bench_central.sh). BENCH_KEEP=DIR keeps the figures
# and the logs there. This is a benchmark, not a test: it exits 0 unless something could
# not run.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
. "$top_srcdir/tests/pg/pgtmp.sh"

PRINTERS=${BENCH_PRINTERS:-20000}
DAYS=12
PER_SITE=50
FLOOD=1
RETENTION=""
BACKENDS=${BENCH_BACKENDS:-sqlite,pg,pg2}
while [ $# -gt 0 ]; do
  case $1 in
  --quick) PRINTERS=1000 DAYS=9 ;;
  --printers) PRINTERS=$2 && shift ;;
  --days) DAYS=$2 && shift ;;
  --per-site) PER_SITE=$2 && shift ;;
  --retention-days) RETENTION=$2 && shift ;;
  --no-flood) FLOOD=0 ;;
  --backends) BACKENDS=$2 && shift ;;
  *) echo "usage: bench_central.sh [--quick | --printers N] [--days D] [--per-site P]" \
    "[--retention-days N] [--no-flood] [--backends sqlite,pg,pg2]" >&2 && exit 2 ;;
  esac
  shift
done
[ "$DAYS" -ge 9 ] || { echo "bench_central: --days must be 9 or more" >&2; exit 2; }
for b in $(echo "$BACKENDS" | tr ',' ' '); do
  case $b in
  sqlite | pg | pg2) ;;
  *) echo "bench_central: --backends: '$b' is not sqlite, pg or pg2" >&2 && exit 2 ;;
  esac
done

# this script starts its own PostgreSQL: not the PostgreSQL pass's cluster of uplinklib.sh
# shellcheck disable=SC2034 # read by uplink_init
ASR_TEST_DB=sqlite
uplink_init bench_central
trap 'uplink_cleanup; pgtmp_stop; itest_cleanup' EXIT
need_cmd openssl python3
need_central
FLEET="$top_srcdir/bench/fleetday.py"
MEASURE="$top_srcdir/bench/measure.py"
ATTACK="$top_srcdir/tests/load/asrattack.py"
A=127.56.0.1
A2=127.56.0.2
PORT=18720
PORT2=18721
PG_PORT=25660
CA="$TMPD/tls/ca.pem"
SITES=$(((PRINTERS + PER_SITE - 1) / PER_SITE))
PRINTERS=$((SITES * PER_SITE))
# day 1 is a Monday: the first whole calendar week ends on day 7, day 8 is the first day
# every device is judged (docs/replenishment.md, rule 4)
DAY0=$(python3 -c 'd = 20454; print(d - (d + 3) % 7)')
FULL=8
KEEP_OPTS=""
[ -n "$RETENTION" ] && KEEP_OPTS="--retention-days $RETENTION"
RES="$TMPD/results"
mkdir -p "$RES"

tls_ca ca
tls_cert ca srv "IP:$A,IP:$A2"

echo "# bench_central: $PRINTERS printers, $SITES sites of $PER_SITE, $DAYS days," \
  "$((PRINTERS * 96)) levels a day; backends $BACKENDS"

## ---------------------------------------------------------------------------------------
## The backend under test: BACKEND, DBARGS (the --db options), NODES (1 or 2)

# use_backend NAME: a fresh database of that backend; false (with WHY) when unavailable
use_backend()
{
  BACKEND=$1
  NODES=1
  [ "$1" = pg2 ] && NODES=2
  case $1 in
  sqlite)
    DBNAME="$TMPD/central-$$.db"
    rm -f "$DBNAME" "$DBNAME-wal" "$DBNAME-shm"
    DBARGS="--db $DBNAME"
    ;;
  pg | pg2)
    if [ -z "${PGTMP_URI:-}" ] && ! pgtmp_start "$PG_PORT"; then
      WHY="PostgreSQL cannot start: $PGTMP_WHY"
      PG_WHY=$WHY
      return 1
    fi
    PGDB=bench_$1
    pgtmp_psql postgres -c "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB" \
      >"$TMPD/run/createdb.$1" 2>&1 || { WHY="CREATE DATABASE $PGDB failed"; return 1; }
    DBNAME="postgresql://asr@127.0.0.1:$PG_PORT/$PGDB"
    DBARGS="--db $DBNAME --db-password-file $PGTMP_PWFILE"
    ;;
  esac
  R="$RES/$1"
  mkdir -p "$R"
  : >"$TMPD/tokens"
  return 0
}

# pg_one QUERY: one value from the backend's PostgreSQL database
pg_one()
{
  pgtmp_psql "$PGDB" -c "$1"
}

db_bytes() # bytes of the database in use (SQLite: its pages in use; PostgreSQL: its size)
{
  if [ "$BACKEND" = sqlite ]; then
    python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
pc, fl, ps = [c.execute("PRAGMA %s" % p).fetchone()[0] for p in ("page_count", "freelist_count", "page_size")]
print((pc - fl) * ps)' "$DBNAME"
  else
    pg_one "SELECT pg_database_size(current_database())"
  fi
}

table_bytes() # OUT: bytes per table and index as JSON (SQLite: dbstat; PostgreSQL: relations)
{
  if [ "$BACKEND" = sqlite ]; then
    python3 -c 'import json,sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
json.dump(dict(c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()), open(sys.argv[2], "w"))' \
      "$DBNAME" "$1"
  else
    pg_one "SELECT c.relname || ' ' || CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid)
      ELSE pg_table_size(c.oid) END FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" |
      python3 -c 'import json,sys; json.dump(dict((l.split()[0], int(l.split()[1])) for l in sys.stdin if l.strip()), open(sys.argv[1], "w"))' "$1"
  fi
}

# node_up NAME ADDR PORT: `serve` on the backend at ASR_TEST_CLOCK=$CLOCK; sets NODE_PID
node_up()
{
  # shellcheck disable=SC2086 # DBARGS, KEEP_OPTS hold words on purpose
  ASR_TEST_CLOCK=$CLOCK "$ASR_CENTRAL" serve --listen "$2:$3" $DBARGS --no-replenish $KEEP_OPTS \
    --tls-cert "$TMPD/tls/srv.pem" --tls-key "$TMPD/tls/srv.key" >>"$TMPD/run/$1.log" 2>&1 &
  NODE_PID=$!
  pid_track "$NODE_PID"
  if ! wait_port "$2" "$3" 300 "$NODE_PID"; then
    show "$TMPD/run/$1.log"
    bail "$BACKEND: node $1 did not come up on $2:$3"
  fi
}

# serve_day D: the node(s) on the clock of day D, 23:00 (day 0: enrolments); URLS
serve_day()
{
  CLOCK=$((($1) * 86400 + 82800))
  node_up "$BACKEND-a" $A $PORT
  PID1=$NODE_PID
  URLS="https://$A:$PORT"
  PID2=""
  if [ "$NODES" = 2 ]; then
    node_up "$BACKEND-b" $A2 $PORT2
    PID2=$NODE_PID
    URLS="$URLS,https://$A2:$PORT2"
  fi
}

serve_stop()
{
  pid_stop "$PID1"
  [ -z "$PID2" ] || pid_stop "$PID2"
}

hwm() # the nodes' peak RSS in KiB (the larger)
{
  for _p in $PID1 $PID2; do
    awk '$1 == "VmHWM:" {print $2}' "/proc/$_p/status" 2>/dev/null || echo 0
  done | sort -n | tail -n 1
}

# engine_day D: the day's `replenish --now` (on both nodes at once with pg2: the one that
# ran the day is measured); $R/engine.D (seconds=...) and $R/engine.D.out
engine_day()
{
  _t=$((($2) * 86400 + 85800))
  # shellcheck disable=SC2086
  ASR_TEST_CLOCK=$_t python3 "$MEASURE" --keep "$R/engine.$1.out" \
    "$ASR_CENTRAL" replenish --now $DBARGS $KEEP_OPTS >"$R/engine.$1" &
  _e1=$!
  if [ "$NODES" = 2 ]; then
    # shellcheck disable=SC2086
    ASR_TEST_CLOCK=$_t python3 "$MEASURE" --keep "$R/engine.$1.b.out" \
      "$ASR_CENTRAL" replenish --now $DBARGS $KEEP_OPTS >"$R/engine.$1.b" &
    _e2=$!
    wait $_e1 $_e2
    grep -q 'exit=0' "$R/engine.$1" && grep -q 'exit=0' "$R/engine.$1.b" ||
      echo "# $BACKEND day $1: replenish --now on both nodes: $(cat "$R/engine.$1")," \
        "$(cat "$R/engine.$1.b")" | tee -a "$R/notes"
    _runs=$(cat "$R/engine.$1.out" "$R/engine.$1.b.out" | grep -c ' devices, .* orders (')
    [ "$_runs" = 1 ] || echo "# $BACKEND day $1: the engine's day ran $_runs times on 2 nodes" \
      "(expected once)" | tee -a "$R/notes"
    if grep -q ' devices, .* orders (' "$R/engine.$1.b.out"; then
      mv "$R/engine.$1.b" "$R/engine.$1"
      mv "$R/engine.$1.b.out" "$R/engine.$1.out"
    fi
  else
    wait $_e1
  fi
  grep -q 'exit=0' "$R/engine.$1" || { cat "$R/engine.$1.out"; bail "$BACKEND day $1: replenish failed"; }
}

## ---------------------------------------------------------------------------------------
## One backend's run: sites, enrolments, the days, the flood, its figures

bench_backend()
{
  echo ""
  echo "## $BACKEND ($NODES node$([ "$NODES" = 2 ] && echo s)): $DBNAME"
  [ "$BACKEND" = sqlite ] ||
    echo "# PostgreSQL $(pg_one "SHOW server_version") as tests/pg/pgtmp.sh starts it: fsync" \
      "$(pg_one "SHOW fsync"), synchronous_commit $(pg_one "SHOW synchronous_commit")," \
      "shared_buffers $(pg_one "SHOW shared_buffers")"
  t=$(now_ms)
  i=0
  while [ $i -lt $SITES ]; do
    name=$(printf 'site%05d' $i)
    # shellcheck disable=SC2086
    tok=$("$ASR_CENTRAL" site add "$name" --contact "ops@$name.example" $DBARGS \
      2>>"$TMPD/run/site.err" | grep -o 'st_[0-9a-f]\{32\}' | head -n 1)
    [ -n "$tok" ] || { show "$TMPD/run/site.err"; bail "$BACKEND: site add $name printed no token"; }
    echo "$name $tok" >>"$TMPD/tokens"
    i=$((i + 1))
  done
  echo "# $SITES sites added in $(($(now_ms) - t)) ms"

  serve_day "$DAY0"
  python3 "$FLEET" enroll "${URLS%%,*}" --tokens "$TMPD/tokens" --creds "$R/creds.json" \
    --ca "$CA" --clock "$CLOCK" >"$R/enroll.json" ||
    { cat "$R/enroll.json"; bail "$BACKEND: enrolment failed"; }
  serve_stop

  printf '%4s %8s %10s %10s %9s %10s %10s %8s\n' day ingest levels/s "serve MiB" engine \
    "engine MiB" "db MB" orders
  d=1
  while [ $d -le "$DAYS" ]; do
    day=$((DAY0 + d - 1))
    serve_day "$day"
    python3 "$FLEET" day "$URLS" --creds "$R/creds.json" --day "$day" \
      --per-site "$PER_SITE" --ca "$CA" --clock "$CLOCK" >"$R/ingest.$d.json" ||
      { cat "$R/ingest.$d.json"; show "$TMPD/run/$BACKEND-a.log"; bail "$BACKEND day $d: upload failed"; }
    hwm >"$R/hwm.$d"
    serve_stop
    engine_day "$d" "$day"
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

  # 4 concurrent maximal batches (the bounds of docs/protocol.md) against one node (the
  # second node of pg2 would see the same: each node bounds its own memory)
  FLOOD_HWM=-1 # not measured
  IDLE_HWM=-1
  if [ "$FLOOD" = 1 ] && [ "$NODES" = 1 ]; then
    CLOCK=$(date +%s) # the flood's batches are signed with the real time
    node_up "$BACKEND-flood" $A $PORT
    PID1=$NODE_PID
    PID2=""
    IDLE_HWM=$(hwm)
    python3 "$ATTACK" flood "https://$A:$PORT" --ca "$CA" \
      --token "$(head -n 1 "$TMPD/tokens" | cut -d' ' -f2)" \
      --agents 4 --devices 10000 --readings 6 --levels 5 --seconds 110 >"$R/flood.json" 2>&1
    FLOOD_HWM=$(hwm)
    serve_stop
  fi

  python3 - "$R" "$DAYS" "$FULL" "$PRINTERS" "$IDLE_HWM" "$FLOOD_HWM" "${RETENTION:-400}" \
    "$BACKEND" <<'EOF'
import json, sys
r, days, full, printers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
idle, flood, keep = int(sys.argv[5]) / 1024.0, int(sys.argv[6]) / 1024.0, int(sys.argv[7])
backend = sys.argv[8]
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
slope = None
if len(xs) >= 2:
    mx, my = sum(xs) / float(len(xs)), sum(ys) / float(len(ys))
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    at = lambda d: my + slope * (d - mx)
    if slope > 0 and at(full + 1) > 0:
        print('         trend from day %d: %+.3f s a day; projected day 200 / day %d = %.2f' % (
            full + 1, slope, full + 1, at(200) / at(full + 1)))
    else:
        print('         trend from day %d: %+.3f s a day: no growth' % (full + 1, slope))
if flood >= 0:
    print('memory   serve VmHWM %.0f MiB over a day\'s upload; idle %.0f MiB, under 4 concurrent'
          ' maximal batches %.0f MiB (goal <= 256 MiB); engine %.0f MiB' % (hwm, idle, flood, erss))
else:
    print('memory   serve VmHWM %.0f MiB over a day\'s upload (the larger node); 4 maximal'
          ' batches: not measured here (--no-flood, or two nodes: each bounds its own, see pg);'
          ' engine %.0f MiB' % (hwm, erss))
print('database %.0f bytes per printer-day (day 1 to %d); by table and index:' % (per_day, days))
for name in sorted(tn, key=lambda k: -(tn[k] - t1.get(k, 0))):
    grow = (tn[name] - t1.get(name, 0)) / float(printers * (days - 1))
    if abs(grow) >= 1:
        print('           %-24s %8.0f bytes per printer-day' % (name, grow))
raw_names = [k for k in tn if k in ('levels', 'readings', 'events') or
             k in ('levels_pkey', 'readings_pkey', 'events_pkey')]
raw = sum(tn.get(k, 0) - t1.get(k, 0) for k in raw_names)
raw /= float(printers * (days - 1))
print('         raw readings (levels, readings, events) %.0f bytes per printer-day: kept %d days'
      ' (--retention-days) = %.1f MB per printer at most' % (raw, keep, raw * keep / 1e6))
fl = None
try:
    fl = json.load(open('%s/flood.json' % r))
    print('flood    %d of %d maximal batches stored, %d answers 503' % (
        fl['stored'], fl['agents'], fl['busy_answers']))
except (OSError, ValueError, KeyError):
    pass
json.dump({'backend': backend, 'printers': printers, 'days': days,
           'lps1': ing[0]['levels_per_s'], 'lpsn': ing[-1]['levels_per_s'],
           'ingest_s': max(x['seconds'] for x in ing), 'engine1': eng[0],
           'engine_full': eng[full - 1], 'engine_last': eng[-1],
           'engine_max': max(eng[full - 1:]), 'slope': slope, 'serve_mib': hwm,
           'flood_mib': flood if fl and flood >= 0 else None,
           'flood_stored': '%d/%d' % (fl['stored'], fl['agents']) if fl else None,
           'engine_mib': erss, 'bytes_per_printer_day': per_day},
          open('%s/summary.json' % r, 'w'))
EOF
}

SKIPPED=""
PG_WHY=""
for b in $(echo "$BACKENDS" | tr ',' ' '); do
  if [ -n "$PG_WHY" ] && [ "$b" != sqlite ]; then
    WHY=$PG_WHY
  elif use_backend "$b"; then
    bench_backend
    continue
  fi
  echo ""
  echo "## $b: skipped: $WHY"
  SKIPPED="$SKIPPED $b"
done

## ---------------------------------------------------------------------------------------
## The backends side by side, and the issue's goals
python3 - "$RES" "$PRINTERS" "$SKIPPED" <<'EOF'
import glob, json, sys
res, printers, skipped = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
rows = []
for f in sorted(glob.glob(res + '/*/summary.json'), key=lambda f: ['sqlite', 'pg', 'pg2'].index(f.split('/')[-2])):
    rows.append(json.load(open(f)))
if not rows:
    sys.exit(0)
scale = 100000.0 / printers
est = '' if printers >= 100000 else '~'
print('')
print('# summary: %d printers%s' % (printers, '' if not est else
      ' (seconds at 100,000 printers extrapolated x%.0f: "~")' % scale))
print('%-7s %10s %10s %9s %9s %9s %9s %7s %9s %9s %9s %9s' % (
    'backend', 'levels/s', 'levels/s', 'ingest', 'engine', 'engine', 'engine', 'last/', 'serve',
    'flood', 'engine', 'bytes/'))
print('%-7s %10s %10s %9s %9s %9s %9s %7s %9s %9s %9s %9s' % (
    '', 'day 1', 'last day', 's/day', 'day 1 s', 'full s', 'last s', 'full', 'MiB', 'MiB',
    'MiB', 'prn-day'))
for x in rows:
    print('%-7s %10d %10d %9.1f %9.2f %9.2f %9.2f %7.2f %9.0f %9s %9.0f %9.0f' % (
        x['backend'], x['lps1'], x['lpsn'], x['ingest_s'], x['engine1'], x['engine_full'],
        x['engine_last'], x['engine_last'] / x['engine_full'], x['serve_mib'],
        '%.0f' % x['flood_mib'] if x['flood_mib'] is not None else '-', x['engine_mib'],
        x['bytes_per_printer_day']))
for b in skipped:
    print('%-7s skipped (see above)' % b)
print('')
print('goals (issue 15, at 100,000 printers):')


def goal(name, value, limit, unit, fmt='%.0f'):
    if value is None:
        return '%s: not measured' % name
    return '%s %s%s%s <= %s%s: %s' % (name, est if unit == 's' else '', fmt % value, unit,
                                       limit, unit, 'met' if value <= limit else 'NOT met')


for x in rows:
    g = [goal('ingest a day', x['ingest_s'] * scale, 60, 's'),
         goal('engine a day', x['engine_max'] * scale, 60, 's'),
         goal('engine flat (last/full)', x['engine_last'] / x['engine_full'], 1.2, '', '%.2f'),
         goal('serve RSS, 4 maximal batches', x['flood_mib'], 256, ' MiB')]
    if x['backend'] == 'pg2':
        g[3] = 'serve RSS: per node as pg'
    print('  %-7s %s' % (x['backend'], '; '.join(g)))
EOF
if [ -n "${BENCH_KEEP:-}" ]; then
  mkdir -p "$BENCH_KEEP" && cp -r "$RES" "$TMPD/run" "$BENCH_KEEP/" &&
    echo "# kept in $BENCH_KEEP"
fi
exit 0
