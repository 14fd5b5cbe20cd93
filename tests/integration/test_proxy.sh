#!/bin/sh
# test_proxy.sh: the agent reaches asr-central (HTTPS, test CA) through Debian's tinyproxy
# (HTTP CONNECT): without authentication, with basic authentication (user and password
# from --proxy-user-file, never printed), a wrong proxy password refused, the https_proxy
# environment variable honoured, --proxy none going direct despite it, and a proxy that is
# down making the upload fail with everything kept.
# Addresses 127.52.4.x, ports 18640-18649.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init proxy
need_cmd openssl python3 tinyproxy
need_central
need_enroll
need_sim
NET=127.52.4
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
OPTS="--timeout 500 --retries 1"
PW=pr0xy-Pa55

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_add $NET.3 inkjet # the second agent's only printer
sim_start
tls_ca ca
tls_cert ca srv "IP:$NET.10,DNS:central.test"
central_start $NET.10 18640 srv
site_add acme
proxy_start $NET.20 18641
OPEN_PROXY=$PROXY_URL
OPEN_LOG=$PROXY_LOG
OPEN_PID=$PROXY_PID
proxy_start $NET.21 18642 asr "$PW"
AUTH_PROXY=$PROXY_URL
AUTH_LOG=$PROXY_LOG
printf 'asr:%s\n' "$PW" >"$TMPD/proxy-user"
printf 'asr:wrong-password\n' >"$TMPD/proxy-bad"
chmod 600 "$TMPD/proxy-user" "$TMPD/proxy-bad"

# connects LOG: number of CONNECTs to the central in a tinyproxy log
connects()
{
  grep -c "CONNECT $NET.10:18640" "$1"
}

# without authentication
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$CA" --proxy "$OPEN_PROXY"
check_status "enrol through tinyproxy" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"
n0=$(connects "$OPEN_LOG")
check "tinyproxy saw the CONNECT of the enrolment ($n0)" test "$n0" -ge 1
run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.2
tick
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 30
check_status "upload through tinyproxy" 0 "$RC"
[ "$RC" = 0 ] || show "$E.u"
n1=$(connects "$OPEN_LOG")
check "the upload went through the proxy ($n0 -> $n1 CONNECTs)" test "$n1" -gt "$n0"
agent_status "$O.s"
central_devices "$O.c"
check "central readings = agent readings" readings_match "$O.s" "$O.c"

# the proxy is down: the upload fails and keeps everything
proxy_stop_open()
{
  pid_stop "$OPEN_PID"
}
proxy_stop_open
tick
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
run "$O.u" "$E.u" timeout 60 "$ASR_AGENT" upload --max-wait 3
if [ "$RC" != 0 ] && not_crashed "$RC"; then ok "upload with the proxy down -> exit $RC"; else not_ok "upload with the proxy down -> exit $RC"; fi
agent_status "$O.s"
jcheck "proxy down: readings kept, error said" "$O.s" \
  'd["uplink"]["pending_readings"] > 0 and d["uplink"]["last_error"]'

# basic authentication
DB2="$TMPD/auth.db"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --db "$DB2" --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$CA" --proxy "$AUTH_PROXY" --proxy-user-file "$TMPD/proxy-bad"
if [ "$RC" != 0 ] && not_crashed "$RC"; then ok "wrong proxy password: refused (exit $RC)"; else not_ok "wrong proxy password: exit $RC"; fi
if grep -Eqi 'proxy|407' "$E.e"; then ok "the error names the proxy"; else not_ok "the error does not name the proxy"; show "$E.e"; fi
run "$O.e" "$E.e" "$ASR_AGENT" enroll --db "$DB2" --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$CA" --proxy "$AUTH_PROXY" --proxy-user-file "$TMPD/proxy-user"
check_status "enrol through tinyproxy with basic auth" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"
check "the authenticated CONNECT reached tinyproxy" test "$(connects "$AUTH_LOG")" -ge 1
ASR_AGENT_DB="$DB2" "$ASR_AGENT" discover --port $SIM_PORT $OPTS $NET.3 >/dev/null 2>&1
run "$O.u" "$E.u" env ASR_AGENT_DB="$DB2" timeout 120 "$ASR_AGENT" upload --max-wait 30
check_status "upload through the authenticating proxy" 0 "$RC"
[ "$RC" = 0 ] || show "$E.u"
ASR_AGENT_DB="$DB2" "$ASR_AGENT" status --format json >"$O.s2" 2>"$E.s2"
if cat "$O.e" "$E.e" "$O.u" "$E.u" "$O.s2" "$E.s2" | grep -q "$PW"; then
  not_ok "the proxy password was printed"
else
  ok "the proxy password is never printed"
fi

# the environment: https_proxy honoured, --proxy none ignores it
proxy_start $NET.20 18641
n2=$(connects "$PROXY_LOG")
DB3="$TMPD/env.db"
run "$O.e" "$E.e" env https_proxy="$PROXY_URL" "$ASR_AGENT" enroll --db "$DB3" --endpoint "$CENTRAL_URL" \
  --site-token "$SITE_TOKEN" --ca-file "$CA"
check_status "enrol with https_proxy in the environment" 0 "$RC"
n3=$(connects "$PROXY_LOG")
check "https_proxy was used ($n2 -> $n3 CONNECTs)" test "$n3" -gt "$n2"
run "$O.e" "$E.e" env https_proxy="http://$NET.30:18649" HTTPS_PROXY="http://$NET.30:18649" "$ASR_AGENT" enroll \
  --db "$TMPD/none.db" --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" --ca-file "$CA" --proxy none
check_status "--proxy none goes direct despite a dead https_proxy" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"

# back to the first agent: the proxy is up again, everything arrives
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 30
check_status "upload once the proxy is back" 0 "$RC"
agent_status "$O.s"
central_devices "$O.c"
python3 - "$O.s" "$O.s2" "$O.c" <<'EOF' && ok "after the proxy outage: central readings = both agents' readings" || not_ok "readings differ after the proxy outage"
import json, sys
a = {}
for f in sys.argv[1:3]:
    a.update({x['serial']: x['readings'] for x in json.load(open(f))['devices']})
c = {x['serial']: x['readings'] for x in json.load(open(sys.argv[3]))['devices']}
print('#   agents %s central %s' % (sorted(a.items()), sorted(c.items())))
sys.exit(0 if a == c and len(a) == 3 else 1)
EOF
finish
