#!/bin/sh
# test_remote_config.sh: the central's configuration reaches an agent (issue 17). A real
# asr-central over TLS and snmpsim printers: a change made with `asr-central site config`
# reaches the daemon through a check-in, and it discovers the new range with a community
# only the central knows (sealed at rest, never shown, logged or audited in clear); an
# agent's own values go over the site's; the daemon's hourly check-in applies a change
# outside the upload window and its timer survives a restart; a value the central accepts
# but the agent's file makes invalid is refused, reported back and the old configuration
# kept; forged, replayed, stale and oversized answers (from a front that forges, records
# and replays them) are refused; a state file others can read is ignored; the last good
# configuration survives without the central; `remote_config off` ignores it.
# PostgreSQL pass (pg_test_remote_config.sh): the key of the sealed secrets is
# --secrets-key-file's (a URI has no DB.key beside it), refused without it only when a
# secret is sealed; a second serve node with the same key file opens the secrets too.
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

# the key of the sealed secrets: DB.key beside a SQLite file; a URI's needs its option
if [ -n "$CENTRAL_PG" ]; then
  KEYFILE=$TMPD/secrets.key
  KEYOPT="--secrets-key-file $KEYFILE"
else
  KEYFILE=$CENTRAL_DB.key
  KEYOPT=""
fi
CENTRAL_OPTS=$KEYOPT
tls_ca ca
tls_cert ca srv "IP:$NET.10"
central_start $NET.10 18970 srv
site_add acme
run "$O" "$E" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$TMPD/tls/ca.pem"
check_status "enroll" 0 "$RC"

read -r AGENT_ID AGENT_SECRET <<IDS
$(agent_secret)
IDS
SECRET_COMM=zz-s3cret-comm # the community of .21: only the central's configuration has it
sim_reset
sim_add $NET.1 mono_laser
sim_add $NET.21 colour_laser $SECRET_COMM
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
  phase_s "$((START + $1 * DAY))" "$((START + $2 * DAY))" "$LOG"
}

# phase_s FROM TO LOG: the daemon from FROM to TO (epoch seconds), its log appended to LOG.
phase_s()
{
  echo "# $1-$2" >>"$3"
  "$ASR_AGENT" run --config "$CONF" --test-clock "$1" --test-until "$2" --test-seed 5 \
    >/dev/null 2>>"$3"
  RC=$?
}

# checkins LOG: how many check-ins the daemon made (or tried)
checkins()
{
  grep -c "(configuration check-in)" "$1"
}

# no_secret FILE...: none of the files holds a secret in clear
no_secret()
{
  ! grep -l -a -e authpass-123 -e "$SECRET_COMM" "$@" 2>/dev/null
}

devices_known()
{
  sqlite3 "$DB" "SELECT count(*) FROM devices"
}

sconf()
{
  # shellcheck disable=SC2086
  "$ASR_CENTRAL" site config acme --db "$CENTRAL_DB" --by tester $KEYOPT "$@"
}

phase 0 1
check_status "day 0: the daemon runs with the file's range" 0 "$RC"
check "one printer known from the file's range" [ "$(devices_known)" = 1 ]

# a change at the central, checked with the agent's rules; secrets only from stdin
run "$O" "$E" sconf --set "community=public $SECRET_COMM"
check_status "a community on the command line is refused" 2 "$RC"
check "... and not echoed" no_secret "$E"
printf 'public %s\n' "$SECRET_COMM" >"$TMPD/comm"
if [ -n "$CENTRAL_PG" ]; then
  check "serve started with --secrets-key-file not there yet, and said so" \
    grep -q "warning: --secrets-key-file: .*secrets.key" "$TMPD/run/central.log"
  run "$O" "$E" "$ASR_CENTRAL" site config acme --db "$CENTRAL_DB" --set community=- <"$TMPD/comm"
  check_status "PostgreSQL, no --secrets-key-file: sealing a community is refused" 2 "$RC"
  check "... naming the option" grep -q -- "--secrets-key-file FILE" "$E"
  check "... the secret not echoed" no_secret "$O" "$E"
  check "... and no key file made" [ ! -e "$KEYFILE" ]
fi
run "$O" "$E" sconf --set "scan_targets=$NET.1 $NET.21" --set concurrency=16 \
  --set community=- <"$TMPD/comm"
check_status "site config --set, the communities from stdin" 0 "$RC"
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
central_sql 'SELECT value FROM site_config' >"$TMPD/site_config.rows" 2>&1
check "the secrets are sealed at rest" grep -q '^g1:' "$TMPD/site_config.rows"
check "... none in clear in the database" central_lacks authpass
check "... nor the community" central_lacks "$SECRET_COMM"
check "the key file is 0600" [ "$(stat -c %a "$KEYFILE")" = 600 ]
run "$O" "$E" sconf --show --history
check "--show and --history show the secrets as (set)" sh -c \
  "grep -q '^  community  *(set)' '$O' && grep -q 'v3_auth_pass: (unset) -> (set)' '$O'"
check "... and nothing else of them" no_secret "$O" "$E"

phase_s $((START + DAY)) $((START + DAY + 6 * 3600)) "$LOG"
check_status "day 1, 00:00-06:00: upload, check-in, new range" 0 "$RC"
check "the daemon applied version 2" grep -q "configuration: version 2 of the central applied" "$LOG"
check "the new range is discovered with the central's community" [ "$(devices_known)" = 2 ]
run "$O" "$E" sconf --show --format json
check "the central sees version 2 applied" pyjson "$O" 'd["agents"][0]["applied"] == 2'
check "the remote state is 0600" [ "$(stat -c %a "$TMPD/remote-config.json")" = 600 ]
check "the pass phrase file is 0600" [ "$(stat -c %a "$TMPD/remote-secrets")" = 600 ]
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check_status "config show" 0 "$RC"
check "scan_targets from the central" grep -q "^scan_targets .*$NET.21 .*central$" "$O"
check "community from the central, not shown" grep -q "^community  *(2 set)  *central$" "$O"
check "silent_after is the file's local" grep -q "^silent_after .*local$" "$O"
check "config show never prints a secret" no_secret "$O"
check "no secret in a log, the central's database or its WAL" \
  no_secret "$LOG" "$TMPD/run/central.log" "$CENTRAL_DB" "$CENTRAL_DB-wal"
check "... nor in a row of it, after the check-ins" central_lacks authpass-123
check "... nor the community" central_lacks "$SECRET_COMM"

if [ -n "$CENTRAL_PG" ]; then
  # a second serve node of the same database, with a copy of the same key file
  N1_PID=$CENTRAL_PID
  N1_URL=$CENTRAL_URL
  cp -p "$KEYFILE" "$TMPD/node2.key"
  CENTRAL_OPTS="--secrets-key-file $TMPD/node2.key"
  central_start $NET.10 18973 srv
  N2_PID=$CENTRAL_PID
  CENTRAL_PID=$N1_PID
  CENTRAL_URL=$N1_URL
  sqlite3 "$DB" "UPDATE uplink SET endpoint = 'https://$NET.10:18973'"
  run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
  check_status "a check-in at node 2 (same key file): the sealed secrets open there too" 0 "$RC"
  chmod 644 "$TMPD/node2.key"
  run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
  check_status "node 2's key file made readable by others: its check-in fails (a 500)" 5 "$RC"
  check "... and node 2 logs why, naming chmod 600" grep -q "node2.key: .*chmod 600" \
    "$TMPD/run/central.log"
  pid_stop "$N2_PID"
  sqlite3 "$DB" "UPDATE uplink SET endpoint = '$CENTRAL_URL'"
  run "$O" "$E" timeout 30 "$ASR_CENTRAL" serve --listen $NET.10:18974 --db "$CENTRAL_DB" \
    --secrets-key-file "$TMPD/node2.key"
  check_status "serve refuses to start with a key file others can read" 2 "$RC"
  check "... naming chmod 600" grep -q "chmod 600" "$E"
  CENTRAL_OPTS=$KEYOPT
  check "no secret in node 2's log either" no_secret "$TMPD/run/central.log"
fi

# an agent's own values over the site's, and the daemon's hourly check-in
run "$O" "$E" sconf --set upload_warning_after=4d
check_status "site: upload_warning_after 4d (version 3)" 0 "$RC"
run "$O" "$E" sconf --agent "$AGENT_ID" --set upload_warning_after=3d
check_status "agent: upload_warning_after 3d, over the site's (version 4)" 0 "$RC"
check "... one version for the site" grep -q "agent $AGENT_ID: configuration version 4" "$O"
run "$O" "$E" sconf --agent ag_00000000000000000000000000000000 --show
check_status "--agent of another site, or none, is refused" 1 "$RC"
run "$O" "$E" sconf --agent "$AGENT_ID" --set silent_after=10m
check_status "an agent's value checked over the site's (silent_after < poll_interval)" 1 "$RC"
check "... naming the agent" grep -q "agent $AGENT_ID: .*shorter than poll_interval" "$E"
H=$TMPD/hourly.log
phase_s $((START + DAY + 6 * 3600)) $((START + DAY + 9 * 3600)) "$H"
check_status "06:00-09:00, after the day's upload" 0 "$RC"
check "the hourly check-in applied version 4" grep -q "version 4 of the central applied" "$H"
check "... without an upload" sh -c "! grep -q 'upload: exit' '$H'"
check "three check-ins in 3 h, and the report of the version applied ($(checkins "$H"))" \
  [ "$(checkins "$H")" = 4 ]
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "the agent's own value wins over the site's" grep -q "^upload_warning_after .*3d .*central$" "$O"
L=$(sqlite3 "$DB" "SELECT last_start FROM schedule WHERE job = 'checkin'")
phase_s $((L + 600)) $((L + 3000)) "$H.2"
check "a restart keeps the check-in's timer: none within the hour ($(checkins "$H.2"))" \
  [ "$(checkins "$H.2")" = 0 ]
phase_s $((L + 3000)) $((L + 3700)) "$H.3"
check "... and one an hour after the last ($(checkins "$H.3"))" [ "$(checkins "$H.3")" = 1 ]
run "$O" "$E" sconf --agent "$AGENT_ID" --unset upload_warning_after --show --history
check_status "agent: unset (version 5)" 0 "$RC"
check "--agent --show: the site's value again" grep -q "^  upload_warning_after  *4d  *site$" "$O"
check "--agent --history names the agent" \
  grep -q "agent $AGENT_ID upload_warning_after: 3d -> (unset)" "$O"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "fetch version 5" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "the site's value once the agent's is unset" grep -q "^upload_warning_after .*4d .*central$" "$O"

# a front that records, replays and forges the central's answers
cat >"$TMPD/front.py" <<'PY'
import http.server, json, ssl, sys, urllib.request, hmac, hashlib, time
mode_file, rec, central, ca, agent_id, secret = sys.argv[3:9]
def signed(version, at, values):
    doc = json.dumps({"agent_id": agent_id, "version": version, "issued_at": at,
                      "values": values, "secrets": {}})
    canon = "v1\nCONFIG\n/v1/config\n%d\n%s" % (at, hashlib.sha256(doc.encode()).hexdigest())
    sig = hmac.new(bytes.fromhex(secret), canon.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"config": doc, "signature": "v1=" + sig}).encode()
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
        elif mode == "stale": # signed with the agent's secret, an hour old
            out = signed(99, int(time.time()) - 3600, {"log_level": "debug"})
        elif mode == "fresh": # the same, now: taken (shows the front signs right)
            out = signed(98, int(time.time()), {"log_level": "error"})
        elif mode == "big":
            out = b'{"config": "' + b"x" * (1 << 20) + b'", "signature": "v1=00"}'
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
  "$TMPD/tls/ca.pem" "$AGENT_ID" "$AGENT_SECRET" 2>>"$TMPD/run/front.log" &
FRONT=$!
pid_track $FRONT
wait_port $NET.11 18972 100 $FRONT || bail "the front did not start"
sqlite3 "$DB" "UPDATE uplink SET endpoint = 'http://$NET.11:18972'"

run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "fetch through the front: nothing new (version 5 recorded)" 0 "$RC"

# a value the central accepts, that the agent's local silent_after makes invalid
run "$O" "$E" sconf --set poll_interval=2d --set silent_after=3d
check_status "the central accepts poll_interval 2d with silent_after 3d" 0 "$RC"
echo pass >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "the agent refuses version 6" 3 "$RC"
check "... naming the problem" grep -q "silent_after (1d) is shorter than poll_interval (2d)" "$E"
run "$O" "$E" sconf --show --format json
check "the refusal is reported back to the central" pyjson "$O" \
  'd["agents"][0]["applied"] == 5 and d["agents"][0]["error_version"] == 6 and "poll_interval (2d)" in d["agents"][0]["error"]'
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "the old configuration is kept" grep -q "^poll_interval .*1h .*default$" "$O"

run "$O" "$E" sconf --unset poll_interval --unset silent_after --set log_level=warning
check_status "version 7 fixes it" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "version 7 applied" 0 "$RC"

echo replay >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "a replayed older version is refused" 1 "$RC"
check "... as older than the applied one" grep -q "version 5 is older than the applied 7" "$E"
echo forge >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "a forged configuration is refused" 1 "$RC"
check "... by its signature" grep -q "signature does not match" "$E"
echo stale >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "a rightly signed answer issued an hour ago is refused" 1 "$RC"
check "... as a replay" grep -q "issued more than 300 s away" "$E"
echo big >"$TMPD/mode"
t0=$(now_ms)
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
t1=$(now_ms)
check_status "a 1 MiB answer is refused" 1 "$RC"
check "... as too large, within the check-in's 10 s ($((t1 - t0)) ms)" sh -c \
  "grep -q 'larger than 65535 bytes' '$E' && [ $((t1 - t0)) -lt 12000 ]"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "still version 7" grep -q "^# remote configuration: version 7" "$O"
check "log_level is the central's warning" grep -q "^log_level .*warning .*central$" "$O"
echo fresh >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "the front's answer signed now is taken (the refusals above were its faults)" 0 "$RC"
echo pass >"$TMPD/mode"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "... and the central's version 7 after it is refused as older" 1 "$RC"
rm -f "$TMPD/remote-config.json" # back to the central's version
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "without its state the agent takes version 7 again" 0 "$RC"

# files others may read are not trusted
chmod 644 "$TMPD/remote-secrets"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check_status "a pass phrase file others can read: config show" 0 "$RC"
check "... ignores the remote configuration, and says so" sh -c \
  "grep -q 'remote-secrets is not usable' '$E' && grep -q '^scan_targets *$NET.1 *file$' '$O'"
chmod 644 "$TMPD/remote-config.json"
run "$O" "$E" "$ASR_AGENT" config show --config "$CONF"
check "a state file others can read is ignored, and said" sh -c \
  "grep -q 'readable by others' '$E' && grep -q '^scan_targets *$NET.1 *file$' '$O'"
run "$O" "$E" "$ASR_AGENT" config fetch --config "$CONF"
check_status "the next check-in applies the central's again" 0 "$RC"
check "... into 0600 files" [ "$(stat -c %a "$TMPD/remote-config.json" "$TMPD/remote-secrets")" = "600
600" ]

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
phase_s $((START + 4 * DAY + 6 * 3600)) $((START + 4 * DAY + 9 * 3600)) "$TMPD/off.log"
check "remote_config off: the daemon does not check in" [ "$(checkins "$TMPD/off.log")" = 0 ]

[ "$ITEST_FAILS" -eq 0 ] || show "$LOG"
finish
