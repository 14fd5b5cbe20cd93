#!/bin/sh
# quickstart.sh: installs what is missing, builds asr-agent, and runs its main job against
# a simulated fleet of printers on loopback addresses (127.60.0.x): discover, poll, enrol
# with a local asr-central over HTTPS (a test CA made here), upload, and status.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build"
work=$(mktemp -d /tmp/asr-quickstart.XXXXXX)
chmod 755 "$work" # snmpsimd drops to user nobody: it must reach the recordings
fleet="$work/fleet"

central_pid=""
cleanup() {
  [ -n "$central_pid" ] && kill "$central_pid" 2>/dev/null
  "$top/scripts/simfleet" stop "$fleet" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$top/scripts/deps.sh" build
echo "== building asr-agent in $build"
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --quiet
make -j"$(nproc)" --quiet asr-agent asr-central >/dev/null
agent="$build/asr-agent"
central="$build/asr-central"

echo "== starting 24 simulated printers on 127.60.0.1-127.60.0.24 (snmpsim, UDP port 1161)"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" \
  --devices colour_laser,mono_laser,inkjet,mfp_waste,quirk_xerox_pn,quirk_hp_nul \
  --count 24 --base 127.60.0.1 --port 1161 --unique
db="$work/agent.db"

echo "== asr-agent discover 127.60.0.0/24"
"$agent" discover --db "$db" --port 1161 --format table --no-progress 127.60.0.0/24
echo "== asr-agent poll"
"$agent" poll --db "$db"

echo "== asr-central on https://127.60.0.250:8443 (certificate from a test CA made here)"
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
"$central" serve --listen 127.60.0.250:8443 --db "$work/central.db" \
  --tls-cert "$tls/srv.pem" --tls-key "$tls/srv.key" 2>"$work/central.log" &
central_pid=$!
python3 - <<'PY'
import socket, time
for _ in range(100):
    try:
        socket.create_connection(('127.60.0.250', 8443), 0.2).close()
        break
    except OSError:
        time.sleep(0.1)
PY
echo "== asr-agent enroll, then upload"
"$agent" enroll --db "$db" --endpoint https://127.60.0.250:8443 \
  --site-token-file "$work/site.token" --ca-file "$tls/ca.pem"
"$agent" upload --db "$db"
echo "== what asr-central received (asr-central devices)"
"$central" devices --db "$work/central.db" --format table | head -n 8
echo "== asr-agent status"
"$agent" status --db "$db" --format table
