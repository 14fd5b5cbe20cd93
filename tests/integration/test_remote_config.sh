#!/bin/sh
# test_remote_config.sh: the central's configuration reaches an agent (issue 17). A real
# asr-central over TLS and snmpsim printers: a change made with `asr-central site config`
# reaches the daemon through the check-in after its upload, and it discovers the new range;
# a value the central accepts but the agent's file makes invalid is refused, reported back
# and the old configuration kept; a forged and a replayed configuration (from a front that
# forges, records and replays answers) are refused; the last good one survives without the
# central; `remote_config off` ignores it.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

SIM_PORT=18971
NET=127.59.7
uplink_init remote_config
need_agent
need_sim
need_central
need_enroll
need_cmd python3 openssl sqlite3

O="$TMPD/o"
E="$TMPD/e"
LOG="$TMPD/run.log"
CONF="$TMPD/agent.conf"
START=1735689600 # 2025-01-01T00:00:00Z
DAY=86400

tls_ca ca
tls_cert ca srv "IP:$NET.10"
central_start $NET.10 18970 srv
site_add acme
run "$O" "$E" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$TMPD/tls/ca.pem"
check_status "enroll" 0 "$RC"

sim_reset
sim_add $NET.1 mono_laser
sim_add $NET.21 colour_laser
sim_start

cat >"$CONF" <<CONF
database $DB
scan_targets $NET.1
snmp_port $SIM_PORT
snmp_timeout 200ms
snmp_retries 0
local silent_after 24h
upload_window 01:00-02:00
log_level info
CONF

# phase FROM_DAY TO_DAY: the daemon over those simulated days.
phase()
{
  echo "# days $1-$2" >>"$LOG"
  "$ASR_AGENT" run --config "$CONF" --test-clock "$((START + $1 * DAY))" \
    --test-until "$((START + $2 * DAY))" --test-seed 5 >/dev/null 2>>"$LOG"
  RC=$?
}

devices_known()
{
  sqlite3 "$DB" "SELECT count(*) FROM devices"
}

sconf()
{
  "$ASR_CENTRAL" site config acme --db "$CENTRAL_DB" --by tester "$@"
}

phase 0 1
check_status "day 0: the daemon runs with the file's range" 0 "$RC"
check "one printer known from the file's range" [ "$(devices_known)" = 1 ]

# a change at the central, checked with the agent's rules
run "$O" "$E" sconf --set "scan_targets=$NET.1 $NET.21" --set concurrency=16 --set community=public
check_status "site config --set" 0 "$RC"
run "$O" "$E" sconf --set poll_interval=5s
check_status "an out-of-range value is refused by the central" 1 "$RC"
check "... naming the directive and its range" grep -q "poll_interval: '5s': out of range (1m to 7d)" "$E"
run "$O" "$E" sconf --set endpoint=https://127.0.0.1/
check_status "endpoint is the file's only" 2 "$RC"
run "$O" "$E" sconf --set v3_auth_pass=inline-secret
check_status "a pass phrase on the command line is refused" 2 "$RC"
check "... and not echoed" sh -c "! grep -q inline-secret '$E'"
printf 'authpass-123\n' >"$TMPD/pass"
run "$O" "$E" sconf --set v3_user=ops --set v3_auth_proto=SHA --set v3_auth_pass=- <"$TMPD/pass"
check_status "a pass phrase from stdin" 0 "$RC"
check "the pass phrase is sealed at rest" sh -c \
  "! sqlite3 '$CENTRAL_DB' 'SELECT value FROM site_config' | grep -q authpass"
check "the key file is 0600" [ "$(stat -c %a "$CENTRAL_DB.key")" = 600 ]

phase 1 2
check_status "day 1: upload, check-in, new range" 0 "$RC"
check "the daemon applied version 2" grep -q "configuration: version 2 of the central applied" "$LOG"
check "the new range is discovered" [ "$(devices_known)" = 2 ]
run "$O" "$E" sconf --show --format json
check "the central sees version 2 applied" pyjson "$O" 'd["agents"][0]["applied"] == 2'
check "the remote state is 0600" [ "$(stat -c %a "$TMPD/remote-config.json")" = 600 ]
check "the pass phrase file is 0600" [ "$(stat -c %a "$TMPD/remote-secrets")" = 600 ]
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check_status "config show" 0 "$RC"
check "scan_targets from the central" grep -q "^scan_targets .*$NET.21 .*central$" "$O"
check "silent_after is the file's local" grep -q "^silent_after .*local$" "$O"
check "config show never prints a secret" sh -c "! grep -q authpass '$O'"
check "the log never holds a secret" sh -c "! grep -q authpass '$LOG' '$TMPD/run/central.log'"

# a front that records, replays and forges the central's answers
cat >"$TMPD/front.py" <<'PY'
import http.server, json, ssl, sys, urllib.request, hmac, hashlib, time
mode_file, rec, central, ca = sys.argv[3:7]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = open(mode_file).read().strip()
        if mode == "forge":
            doc = json.dumps({"agent_id": self.headers["X-ASR-Agent"], "version": 99,
                              "issued_at": int(time.time()), "values": {"log_level": "debug"},
                              "secrets": {}})
            sig = "v1=" + hmac.new(b"k" * 32, doc.encode(), hashlib.sha256).hexdigest()
            out = json.dumps({"config": doc, "signature": sig}).encode()
        elif mode == "replay":
            out = open(rec, "rb").read()
        else:
            req = urllib.request.Request(central + self.path, data=body, method="POST")
            for h in ("Content-Type", "X-ASR-Agent", "X-ASR-Timestamp", "X-ASR-Signature"):
                req.add_header(h, self.headers[h])
            ctx = ssl.create_default_context(cafile=ca)
            out = urllib.request.urlopen(req, context=ctx, timeout=10).read()
            if mode == "record":
                open(rec, "wb").write(out)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
PY
echo record >"$TMPD/mode"
python3 "$TMPD/front.py" $NET.11 18972 "$TMPD/mode" "$TMPD/recorded" "$CENTRAL_URL" \
  "$TMPD/tls/ca.pem" 2>>"$TMPD/run/front.log" &
FRONT=$!
pid_track $FRONT
wait_port $NET.11 18972 100 $FRONT || bail "the front did not start"
sqlite3 "$DB" "UPDATE uplink SET endpoint = 'http://$NET.11:18972'"

run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "fetch through the front: nothing new (version 2 recorded)" 0 "$RC"

# a value the central accepts, that the agent's local silent_after makes invalid
run "$O" "$E" sconf --set poll_interval=2d --set silent_after=3d
check_status "the central accepts poll_interval 2d with silent_after 3d" 0 "$RC"
echo pass >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "the agent refuses version 3" 3 "$RC"
check "... naming the problem" grep -q "silent_after (1d) is shorter than poll_interval (2d)" "$E"
run "$O" "$E" sconf --show --format json
check "the refusal is reported back to the central" pyjson "$O" \
  'd["agents"][0]["applied"] == 2 and d["agents"][0]["error_version"] == 3 and "poll_interval (2d)" in d["agents"][0]["error"]'
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "the old configuration is kept" grep -q "^poll_interval .*1h .*default$" "$O"

run "$O" "$E" sconf --unset poll_interval --unset silent_after --set log_level=warning
check_status "version 4 fixes it" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "version 4 applied" 0 "$RC"

echo replay >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "a replayed older version is refused" 1 "$RC"
check "... as older than the applied one" grep -q "version 2 is older than the applied 4" "$E"
echo forge >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "a forged configuration is refused" 1 "$RC"
check "... by its signature" grep -q "signature does not match" "$E"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "still version 4" grep -q "^# remote configuration: version 4" "$O"
check "log_level is the central's warning" grep -q "^log_level .*warning .*central$" "$O"

# without the central: a restart keeps the last good configuration
pid_stop $FRONT
central_stop
rm -f "$TMPD/devs.before"
sqlite3 "$DB" "DELETE FROM devices WHERE ip = '$NET.21'" 2>/dev/null
phase 3 4
check_status "the daemon starts without the central" 0 "$RC"
check "and discovers the central's range again" [ "$(devices_known)" -ge 2 ]

# remote_config off: the file alone
echo "remote_config off" >>"$CONF"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "remote_config off: the file's range" grep -q "^scan_targets *$NET.1 *file$" "$O"
check "remote_config off: said" grep -q "remote configuration: off" "$O"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "remote_config off: no check-in" 2 "$RC"

[ "$ITEST_FAILS" -eq 0 ] || show "$LOG"
finish
