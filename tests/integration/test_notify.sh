#!/bin/sh
# test_notify.sh: `asr-agent run` speaks systemd's notify protocol to $NOTIFY_SOCKET (a
# python3 listener stands in for systemd): READY=1, STATUS=, WATCHDOG=1 with WATCHDOG_USEC,
# RELOADING=1 on SIGHUP (a valid file applied, an invalid one refused with its error
# logged and the old configuration kept), STOPPING=1 and exit within 5 s on SIGTERM, an
# abstract socket name, and no start on an invalid file (exit 3).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

uplink_init notify
need_agent
need_cmd python3

LISTENER="$TMPD/listen.py"
cat >"$LISTENER" <<'PY'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
open(out + ".bound", "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        f.write(msg.replace("\n", " ") + "\n")
PY

# listen SOCKET OUT: starts a listener (tracked) and waits until its socket is bound (10 s
# at most: a loaded machine starts python3 slowly, and READY=1 sent before would be lost).
listen()
{
  : >"$2"
  rm -f "$2.bound"
  python3 "$LISTENER" "$1" "$2" &
  pid_track $!
  LISTEN_PID=$!
  _i=0
  while [ ! -f "$2.bound" ] && [ $_i -lt 100 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
}

# wait_for FILE PATTERN [COUNT] [TENTHS]: waits until PATTERN occurs COUNT times in FILE.
wait_for()
{
  _n=0
  while [ $_n -lt "${4:-50}" ]; do
    [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
    sleep 0.1
    _n=$((_n + 1))
  done
  return 1
}

conf()
{
  cat >"$TMPD/agent.conf" <<CONF
database $DB
poll_interval $1
log_level info
CONF
}

MSGS="$TMPD/msgs"
LOG="$TMPD/run.log"
listen "$TMPD/notify.sock" "$MSGS"
conf 1h
NOTIFY_SOCKET="$TMPD/notify.sock" WATCHDOG_USEC=600000 \
  "$ASR_AGENT" run --config "$TMPD/agent.conf" >"$TMPD/run.out" 2>"$LOG" &
AGENT=$!
pid_track $AGENT

check "READY=1 once running" wait_for "$MSGS" '^READY=1$'
check "STATUS= with devices, silent and last upload" \
  wait_for "$MSGS" '^STATUS=0 devices, 0 silent, last upload never$'
check "WATCHDOG=1 every half WATCHDOG_USEC (0.3 s)" wait_for "$MSGS" '^WATCHDOG=1$' 4 30

conf 2h
kill -HUP $AGENT
check "SIGHUP: RELOADING=1" wait_for "$MSGS" '^RELOADING=1 MONOTONIC_USEC=[0-9]*$'
check "SIGHUP: READY=1 again after the reload" wait_for "$MSGS" '^READY=1$' 2
check "SIGHUP: the valid file is applied" wait_for "$LOG" 'reload: .* applied'

printf 'database %s\npoll_interval 2h\nupload_window 01:00-29:00\n' "$DB" >"$TMPD/agent.conf"
kill -HUP $AGENT
check "SIGHUP with an invalid file: RELOADING=1, READY=1" wait_for "$MSGS" '^READY=1$' 3
check "invalid file: the error is logged with its line" wait_for "$LOG" 'agent.conf:3:'
check "invalid file: the old configuration stays" wait_for "$LOG" 'keeping the running configuration'
check "still running after a bad reload" kill -0 $AGENT
check "stdout stays empty" test ! -s "$TMPD/run.out"

t0=$(now_ms)
kill -TERM $AGENT
wait $AGENT
rc=$?
t1=$(now_ms)
pid_untrack $AGENT
check_status "SIGTERM: clean exit" 0 "$rc"
check "SIGTERM: exit within 5 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000
check "STOPPING=1" wait_for "$MSGS" '^STOPPING=1$' 1 10

# an abstract socket name ('@'); journald priority prefixes are not used off the journal
pid_stop "$LISTEN_PID"
listen "@asr-notify-test-$$" "$TMPD/msgs2"
conf 1h
NOTIFY_SOCKET="@asr-notify-test-$$" "$ASR_AGENT" run --config "$TMPD/agent.conf" \
  >/dev/null 2>"$TMPD/run2.log" &
AGENT=$!
pid_track $AGENT
check "abstract socket: READY=1" wait_for "$TMPD/msgs2" '^READY=1$'
check "no watchdog pings without WATCHDOG_USEC" test "$(grep -c WATCHDOG "$TMPD/msgs2")" -eq 0
pid_stop $AGENT INT
check "SIGINT: STOPPING=1" wait_for "$TMPD/msgs2" '^STOPPING=1$' 1 10
check "plain stderr lines off the journal" grep -q '^asr-agent: info: running' "$TMPD/run2.log"

# the journal: stderr is the stream named by JOURNAL_STREAM -> "<N>" priority prefixes
pid_stop "$LISTEN_PID"
conf 1h
python3 - "$ASR_AGENT" "$TMPD/agent.conf" "$TMPD/run3.log" <<'PY' || true
import os, signal, subprocess, sys, time
agent, conf, log = sys.argv[1:4]
with open(log, "w") as f:
    st = os.fstat(f.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    env.pop("NOTIFY_SOCKET", None)
    p = subprocess.Popen([agent, "run", "--config", conf], stdout=subprocess.DEVNULL,
                         stderr=f, env=env)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
PY
check "journald: '<6>' priority prefixes" grep -q '^<6>running' "$TMPD/run3.log"

# an invalid file: no start, exit 3, each problem as file:line
printf 'database %s\npoll_interval soon\nno_such_directive 1\n' "$DB" >"$TMPD/bad.conf"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" run --config "$TMPD/bad.conf"
check_status "invalid file: refuses to start" 3 "$RC"
check "invalid file: both problems reported" \
  test "$(grep -c 'bad.conf:[23]:' "$TMPD/e")" -eq 2
check "invalid file: no priority prefix off the journal" sh -c "! grep -q '^<' '$TMPD/e'"
# ...and under the journal: each problem and the refusal at error priority ("<3>"), before
# anything else, without the CLI's "asr-agent: " (journald names the program itself)
python3 - "$ASR_AGENT" "$TMPD/bad.conf" "$TMPD/e" <<'PY'
import os, subprocess, sys
agent, conf, log = sys.argv[1:4]
with open(log, "w") as f:
    st = os.fstat(f.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    sys.exit(subprocess.call([agent, "run", "--config", conf], stdout=subprocess.DEVNULL,
                             stderr=f, env=env, timeout=10))
PY
check_status "journal: invalid file refuses to start" 3 "$?"
check "journal: both problems at error priority" \
  test "$(grep -c '^<3>.*bad.conf:[23]:' "$TMPD/e")" -eq 2
check "journal: 'not starting' at error priority" grep -q '^<3>run: .*bad.conf is not valid: not starting$' "$TMPD/e"
check "journal: every line has a priority, none the doubled prefix" \
  sh -c "! grep -v '^<[0-7]>' '$TMPD/e' && ! grep -q 'asr-agent: ' '$TMPD/e'"
python3 - "$ASR_AGENT" "$TMPD/e" <<'PY'
import os, subprocess, sys
agent, log = sys.argv[1:3]
with open(log, "w") as f:
    st = os.fstat(f.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    sys.exit(subprocess.call([agent, "run", "surplus"], stdout=subprocess.DEVNULL,
                             stderr=f, env=env, timeout=10))
PY
check_status "journal: a bad command line (a drop-in's ExecStart)" 2 "$?"
check "journal: the bad argument at error priority" grep -q "^<3>run: unexpected argument 'surplus'" "$TMPD/e"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" run --config "$TMPD/agent.conf" --test-clock yesterday
check_status "bad --test-clock" 2 "$RC"

finish
