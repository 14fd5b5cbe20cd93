# lib.sh: shared helpers for the integration tests (sourced, POSIX sh).
#
# Each test script sources this file, calls itest_init NAME, then for instance:
#   sim_add 127.40.0.1 colour_laser            # address, recording[, community]
#   sim_add 127.40.0.2 mono_laser secret2
#   sim_start                                  # one snmpsimd for all endpoints
#   ok "..." / not_ok "..." / check "text" cmd...
#   finish                                     # exit 0 when every check passed, else 1
# One snmpsimd process serves every endpoint (as /work/shared/tools/fleet does): with
# --v2c-arch, data-dir/<community>/1.3.6.1.6.1.1.<N>.snmprec is served to requests that
# arrive on the N-th --agent-udpv4-endpoint (0-based) with that community. The simulator
# and the temporary directory are always removed on exit (trap EXIT INT TERM).
# Exit statuses (automake): 0 pass, 77 skip, 1 fail, 99 hard error.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${ASR_AGENT:=$top_builddir/asr-agent}"
RECDIR="$top_srcdir/tests/recordings"
SIM_PORT=${SIM_PORT:-1161}
SIM_PID=""
NFT_TABLE=""
ITEST_FAILS=0
ITEST_PASSES=0
ITEST_N=0

# Removes what the test started: the simulator, an nft table, the temp dir.
itest_cleanup()
{
  sim_stop
  db_unlock
  if [ -n "$NFT_TABLE" ]; then
    nft delete table inet "$NFT_TABLE" 2>/dev/null
    NFT_TABLE=""
  fi
  if [ -n "${ITEST_KEEP:-}" ]; then
    echo "# kept $TMPD"
  elif [ -n "${TMPD:-}" ] && [ -d "$TMPD" ]; then
    rm -rf "$TMPD"
  fi
}

# itest_init NAME: temp dir, fresh database path, traps.
itest_init()
{
  ITEST_NAME=$1
  TMPD=$(mktemp -d "${TMPDIR:-/tmp}/asr-itest-$1.XXXXXX") || exit 99
  chmod 755 "$TMPD"
  DB="$TMPD/asr.db"
  export ASR_AGENT_DB="$DB"
  trap 'itest_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  SIM_ENDPOINTS=0
  mkdir -p "$TMPD/sim/data" "$TMPD/sim/cache"
  : >"$TMPD/sim/endpoints.txt"
  echo "# $ITEST_NAME: temp dir $TMPD"
}

# skip REASON: exit 77 with a message.
skip()
{
  echo "SKIP: $ITEST_NAME: $*"
  exit 77
}

# bail REASON: a hard error (exit 99): the test cannot run although it should.
bail()
{
  echo "ERROR: $ITEST_NAME: $*"
  exit 99
}

# need_agent: a hard error when the binary is missing (it is built before the tests run).
need_agent()
{
  [ -x "$ASR_AGENT" ] || bail "asr-agent not built ($ASR_AGENT)"
}

# need_sim: skip when snmpsimd or the net-snmp tools are missing.
need_sim()
{
  command -v snmpsimd >/dev/null 2>&1 || skip "snmpsimd not installed (apt-get install snmpsim)"
  command -v snmpget >/dev/null 2>&1 || skip "snmpget not installed (apt-get install snmp)"
}

ok()
{
  ITEST_N=$((ITEST_N + 1))
  ITEST_PASSES=$((ITEST_PASSES + 1))
  echo "ok $ITEST_N - $*"
}

not_ok()
{
  ITEST_N=$((ITEST_N + 1))
  ITEST_FAILS=$((ITEST_FAILS + 1))
  echo "not ok $ITEST_N - $*"
}

# check TEXT CMD...: ok when CMD exits 0.
check()
{
  _t=$1
  shift
  if "$@"; then ok "$_t"; else not_ok "$_t"; fi
}

# check_status TEXT EXPECTED ACTUAL
check_status()
{
  if [ "$3" = "$2" ]; then ok "$1 (exit $3)"; else not_ok "$1 (exit $3, expected $2)"; fi
}

# not_crashed STATUS: true when the exit status is a normal one (< 64 or 70), not a signal.
not_crashed()
{
  [ "$1" -lt 64 ] || [ "$1" -eq 70 ]
}

finish()
{
  echo "# $ITEST_NAME: $ITEST_PASSES passed, $ITEST_FAILS failed"
  [ "$ITEST_FAILS" -eq 0 ] || exit 1
  [ "$ITEST_N" -gt 0 ] || exit 99
  exit 0
}

# run OUT ERR CMD...: runs CMD with stdout/stderr in files; sets RC.
run()
{
  _o=$1
  _e=$2
  shift 2
  "$@" >"$_o" 2>"$_e"
  RC=$?
  return 0
}

# jq-like checks through python3. pyjson FILE 'python expression on d' -> exit status
# 0 when the expression is true. The expression sees d (the parsed JSON), and helpers
# sup(dev, index) and dev_by(devs, key, value).
pyjson()
{
  python3 - "$1" "$2" <<'EOF'
import json, sys
def sup(dev, index):
    for s in dev.get('supplies') or []:
        if s.get('index') == index:
            return s
    return {}
def dev_by(devs, k, v):
    for x in devs:
        if x.get(k) == v:
            return x
    return {}
try:
    raw = open(sys.argv[1], 'rb').read()
    d = json.loads(raw.decode('utf-8'))
except Exception as e:
    print('#   bad JSON in %s: %s' % (sys.argv[1], e))
    sys.exit(2)
try:
    r = eval(sys.argv[2])
except Exception as e:
    print('#   expression failed: %r: %s' % (sys.argv[2], e))
    sys.exit(3)
if not r:
    print('#   false: %s' % sys.argv[2])
sys.exit(0 if r else 1)
EOF
}

# jcheck TEXT FILE EXPR: an assertion on a JSON file.
jcheck()
{
  if pyjson "$2" "$3"; then ok "$1"; else not_ok "$1"; fi
}

# valid_json FILE: parses as JSON and the bytes are valid UTF-8.
valid_json()
{
  python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$1" \
    2>/dev/null
}

# valid_utf8 FILE
valid_utf8()
{
  python3 -c 'import sys; open(sys.argv[1],"rb").read().decode("utf-8")' "$1" 2>/dev/null
}

# no_control FILE: no C0 control bytes other than tab/newline (and the CR of a CRLF line end,
# as RFC 4180 CSV has), no DEL, no C1 (U+0080..9F), no bidirectional control (LRM, RLM, ALM,
# U+202A..202E, U+2066..2069) nor invisible ZWSP or BOM (a printer's text that reads
# backwards or hides characters).
no_control()
{
  python3 - "$1" <<'EOF'
import re, sys
t = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace').replace('\r\n', '\n')
bad = re.findall('[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]', t)
if bad:
    print('#   control characters in %s: %r' % (sys.argv[1], sorted(set(bad))))
sys.exit(1 if bad else 0)
EOF
}

# show FILE: prints the first lines of a file as comments (for failures).
show()
{
  head -c 2000 "$1" | sed 's/^/#   /'
  echo
}

# sim_add ADDRESS RECORDING [COMMUNITY]: one more endpoint for the next sim_start.
sim_add()
{
  _c=${3:-public}
  case $1 in
    127.4[0-9].*) ;;
    127.5[2-9].*) ;; # the uplink tests (uplinklib.sh) keep their printers here
    *) echo "lib.sh: refusing address $1 (tests use 127.40-127.49 and 127.52-127.59)"; exit 99 ;;
  esac
  mkdir -p "$TMPD/sim/data/$_c"
  if [ -f "$2" ]; then _src=$2; else _src="$RECDIR/$2.snmprec"; fi
  cp "$_src" "$TMPD/sim/data/$_c/1.3.6.1.6.1.1.$SIM_ENDPOINTS.snmprec" || exit 99
  echo "--agent-udpv4-endpoint=$1:$SIM_PORT" >>"$TMPD/sim/endpoints.txt"
  SIM_ENDPOINTS=$((SIM_ENDPOINTS + 1))
  SIM_LAST=$1
  SIM_LAST_COMMUNITY=$_c
}

# sim_reset: forget the endpoints (after sim_stop) to start a different set.
sim_reset()
{
  rm -rf "$TMPD/sim/data"
  mkdir -p "$TMPD/sim/data"
  : >"$TMPD/sim/endpoints.txt"
  SIM_ENDPOINTS=0
}

# sim_start [EXTRA snmpsimd ARGS...]: starts snmpsimd (v2c arch) and waits until the last
# endpoint answers (at most 30 s). Fails the test (exit 99) when it does not come up.
sim_start()
{
  chmod -R a+rX "$TMPD/sim"
  chmod 777 "$TMPD/sim/cache"
  set -- --v2c-arch --data-dir="$TMPD/sim/data" --cache-dir="$TMPD/sim/cache" \
    --args-from-file="$TMPD/sim/endpoints.txt" --logging-method=null "$@"
  sim_launch "$@"
  sim_wait "$SIM_LAST" "-v2c -c $SIM_LAST_COMMUNITY"
}

# sim_launch ARGS...: starts snmpsimd in the background with those arguments.
sim_launch()
{
  if [ "$(id -u)" = 0 ]; then
    set -- "$@" --process-user=nobody --process-group=nogroup
  fi
  snmpsimd "$@" >"$TMPD/sim/snmpsimd.log" 2>&1 &
  SIM_PID=$!
}

# sim_wait ADDRESS "SNMP ARGS": polls sysObjectID until it answers (30 s at most).
sim_wait()
{
  _i=0
  while [ $_i -lt 60 ]; do
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
      echo "# snmpsimd exited:"
      show "$TMPD/sim/snmpsimd.log"
      SIM_PID=""
      exit 99
    fi
    # shellcheck disable=SC2086
    if snmpget $2 -t 0.5 -r 0 -On "$1:$SIM_PORT" 1.3.6.1.2.1.1.2.0 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
    _i=$((_i + 1))
  done
  echo "# snmpsimd did not answer on $1:$SIM_PORT in 30 s"
  show "$TMPD/sim/snmpsimd.log"
  exit 99
}

# sim_stop: stops the simulator this test started (by its pid) and waits for it.
sim_stop()
{
  if [ -n "$SIM_PID" ]; then
    kill "$SIM_PID" 2>/dev/null
    _i=0
    while kill -0 "$SIM_PID" 2>/dev/null && [ $_i -lt 50 ]; do
      sleep 0.1
      _i=$((_i + 1))
    done
    kill -9 "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=""
  fi
}

# sim_kill: kills the simulator abruptly (the printers stop answering).
sim_kill()
{
  if [ -n "$SIM_PID" ]; then
    kill -9 "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=""
  fi
}

# tick: the agent's following commands run one simulated second after the previous tick
# (every asr-agent command honours ASR_TEST_CLOCK, exported here), never before the real
# time. Readings are unique per device and second: tests step the clock, they do not sleep.
tick()
{
  _now=$(date +%s)
  if [ -z "${ITEST_CLOCK:-}" ] || [ "$ITEST_CLOCK" -lt "$_now" ]; then
    ITEST_CLOCK=$_now
  fi
  ITEST_CLOCK=$((ITEST_CLOCK + 1))
  ASR_TEST_CLOCK=$ITEST_CLOCK
  export ASR_TEST_CLOCK
}

# now_ms: milliseconds since the epoch.
now_ms()
{
  python3 -c 'import time; print(int(time.time() * 1000))'
}

# db_lock DB SECONDS: a background process holds an exclusive lock on DB (readers too)
# for SECONDS; returns once the lock is held. LOCK_PID is its pid (killed on exit).
db_lock()
{
  rm -f "$TMPD/lock.ready"
  python3 - "$1" "$TMPD/lock.ready" "$2" <<'PYEOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute('PRAGMA locking_mode=EXCLUSIVE')
c.execute('BEGIN EXCLUSIVE')
c.execute('SELECT count(*) FROM sqlite_master').fetchall()
open(sys.argv[2], 'w').close()
time.sleep(float(sys.argv[3]))
c.execute('ROLLBACK')
c.close()
PYEOF
  LOCK_PID=$!
  _i=0
  while [ ! -f "$TMPD/lock.ready" ] && [ $_i -lt 100 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  [ -f "$TMPD/lock.ready" ]
}

# db_write_lock DB SECONDS: a background process holds DB's write lock (BEGIN IMMEDIATE: in
# WAL mode others still read and open it, only their writes wait) for SECONDS; returns once
# held. db_unlock ends it.
db_write_lock()
{
  rm -f "$TMPD/lock.ready"
  python3 - "$1" "$TMPD/lock.ready" "$2" <<'PYEOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute('BEGIN IMMEDIATE')
open(sys.argv[2], 'w').close()
time.sleep(float(sys.argv[3]))
c.execute('ROLLBACK')
c.close()
PYEOF
  LOCK_PID=$!
  _i=0
  while [ ! -f "$TMPD/lock.ready" ] && [ $_i -lt 100 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  [ -f "$TMPD/lock.ready" ]
}

# db_unlock: stops the lock holder started by db_lock.
db_unlock()
{
  if [ -n "${LOCK_PID:-}" ]; then
    kill "$LOCK_PID" 2>/dev/null
    wait "$LOCK_PID" 2>/dev/null
    LOCK_PID=""
  fi
}

# db_dump DB OUT: a stable text dump of the database (schema and rows).
db_dump()
{
  python3 - "$1" "$2" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], 'w') as out:
    for line in c.iterdump():
        out.write(line + '\n')
PYEOF
}
