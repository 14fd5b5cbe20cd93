#!/bin/sh
# quickstart.sh [stop]: installs what is missing, builds asr-agent, and runs its main job
# against a simulated fleet of printers on loopback addresses (127.60.0.x): discover, poll,
# enrol with a local asr-central over HTTPS (a test CA made here), upload, and status. The
# fleet and asr-central keep running afterwards, to explore (the script prints commands to
# try); `scripts/quickstart.sh stop` stops them and removes the work folder. A run that
# fails stops what it started.
#
# Environment: ASR_QUICKSTART_DIR, the work folder (default /tmp/asr-quickstart);
# ASR_AGENT and ASR_CENTRAL, programs already built (default: build them in _build).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build"
work=${ASR_QUICKSTART_DIR:-/tmp/asr-quickstart}
fleet="$work/fleet"
listen=127.60.0.250:8443

# stop_all: what a run left running (the central by the pid it wrote, if that process is
# still an asr-central; the fleet by simfleet), then the work folder.
stop_all()
{
  if [ -f "$work/central.pid" ]; then
    pid=$(cat "$work/central.pid")
    if grep -q asr-central "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
  if [ -d "$fleet" ]; then
    "$top/scripts/simfleet" stop "$fleet" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}

case "${1:-}" in
  stop)
    if [ -e "$work" ]; then
      stop_all
      echo "quickstart: the simulated printers and asr-central are stopped; $work is removed"
    else
      echo "quickstart: nothing to stop ($work does not exist)"
    fi
    exit 0
    ;;
  "") ;;
  *)
    echo "usage: scripts/quickstart.sh [stop]" >&2
    exit 2
    ;;
esac

if [ -e "$work" ]; then
  echo "== a previous quick start is still there ($work): stopping it"
  stop_all
fi
mkdir -p "$work"
chmod 755 "$work" # snmpsimd drops to user nobody: it must reach the recordings
done_ok=0
on_exit()
{
  [ "$done_ok" = 1 ] || stop_all
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${ASR_AGENT:-}" ] && [ -x "$ASR_AGENT" ] && [ -x "${ASR_CENTRAL:-}" ]; then
  agent=$ASR_AGENT
  central=$ASR_CENTRAL
else
  "$top/scripts/deps.sh" build
  echo "== building asr-agent in $build"
  [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1)
  mkdir -p "$build"
  (cd "$build" && { [ -f Makefile ] || "$top/configure" --quiet; } &&
    make -j"$(nproc)" --quiet asr-agent asr-central >/dev/null)
  agent="$build/asr-agent"
  central="$build/asr-central"
fi

echo "== starting 24 simulated printers on 127.60.0.1-127.60.0.24 (snmpsim, UDP port 1161)"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" \
  --devices colour_laser,mono_laser,inkjet,mfp_waste,quirk_xerox_pn,quirk_hp_nul \
  --count 24 --base 127.60.0.1 --port 1161 --unique
db="$work/agent.db"

echo "== asr-agent discover 127.60.0.0/24"
"$agent" discover --db "$db" --port 1161 --format table --no-progress 127.60.0.0/24
echo "== asr-agent poll"
"$agent" poll --db "$db"

echo "== asr-central on https://$listen (certificate from a test CA made here)"
tls="$work/tls"
mkdir -m 700 "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=asr quick start CA" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.60.0.250" \
  -keyout "$tls/srv.key" -out "$tls/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.60.0.250\n' >"$tls/ext"
openssl x509 -req -in "$tls/srv.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 2 -extfile "$tls/ext" -out "$tls/srv.pem" 2>/dev/null
(umask 077 && "$central" site add "Quick start" --contact admin@example.com \
  --db "$work/central.db" >"$work/site.token")
# its own session: it outlives this script and the terminal it ran in
setsid "$central" serve --listen "$listen" --db "$work/central.db" \
  --tls-cert "$tls/srv.pem" --tls-key "$tls/srv.key" >"$work/central.log" 2>&1 </dev/null &
echo $! >"$work/central.pid"
python3 - <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(('127.60.0.250', 8443), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit('quickstart: asr-central did not start (see its log)')
PY
echo "== asr-agent enroll, then upload"
"$agent" enroll --db "$db" --endpoint "https://$listen" \
  --site-token-file "$work/site.token" --ca-file "$tls/ca.pem"
"$agent" upload --db "$db"
echo "== what asr-central received (asr-central devices)"
"$central" devices --db "$work/central.db" --format table
echo "== asr-agent status"
"$agent" status --db "$db" --format table
done_ok=1

cat <<EOF

== The 24 simulated printers and asr-central keep running. Things to try:
  A=$agent
  C=$central
  \$A status --db $db                      # the fleet, its supplies, the uplink
  \$A status --db $db --format csv >fleet.csv   # one row per supply, for a spreadsheet
  \$A poll --db $db && \$A upload --db $db   # a new reading of each printer, sent
  \$A inspect $top/tests/recordings/quirk_colorant_utf16.snmprec
  \$C devices --db $work/central.db --format table
  \$C replenish --now --db $work/central.db && \$C orders --db $work/central.db --format table
  curl --cacert $tls/ca.pem https://$listen/sites/Quick%20start >site.html   # the status page
  man -l $top/docs/asr-agent.8
Stop them (and remove $work) with:
  $top/scripts/quickstart.sh stop
EOF
