#!/bin/sh
# test_confwrite.sh: `asr-agent config write` (installer properties on stdin) and the
# daemon's enrolment with the site token it leaves: a bad ENDPOINT changes nothing (exit
# 3); good properties are merged (a hand-written line kept, the token in a private file,
# never in the configuration); `asr-agent run` with the central down retries the
# enrolment, enrols once the central is up (TLS, real asr-central on loopback), deletes
# the token, and a restart does not enrol again. The Windows side is scripts/win/test-msi.sh.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

NET=127.58.7
PORT=18680
uplink_init confwrite
need_agent
need_central
need_enroll
need_cmd python3 openssl

CONF=$TMPD/agent.conf
TOKEN_FILE=$TMPD/state/site-token
LOG=$TMPD/run.log
AGENT_PID=""

tls_ca ca
tls_cert ca srv "IP:$NET.1"
CENTRAL_DB=$TMPD/central.db
site_add acme
mkdir -p "$TMPD/state"
cat >"$CONF" <<CONF
# by hand
database $TMPD/state/agent.db
ca_file $TMPD/tls/ca.pem
poll_interval 1h
CONF
cp "$CONF" "$TMPD/conf.orig"

# 1. a bad property: exit 3, the property named, nothing written
printf 'ENDPOINT=ftp://%s:%s\nSITE_TOKEN=%s\n' "$NET.1" "$PORT" "$SITE_TOKEN" |
  "$ASR_AGENT" config write --config "$CONF" >"$TMPD/o" 2>"$TMPD/e"
check_status "bad ENDPOINT refused" 3 "$?"
check "the error names ENDPOINT" grep -q "ENDPOINT: 'ftp://" "$TMPD/e"
check "configuration unchanged" cmp -s "$CONF" "$TMPD/conf.orig"
check "no token written" test ! -e "$TOKEN_FILE"
printf 'PASSWORD=hunter2\n' | "$ASR_AGENT" config write --config "$CONF" >"$TMPD/o" 2>"$TMPD/e"
check_status "unknown property refused" 3 "$?"
grep -q hunter2 "$TMPD/e" && not_ok "a value echoed" || ok "no value echoed"

# 2. good properties
printf 'ENDPOINT=https://%s:%s\nSITE_TOKEN=%s\nSCAN_TARGETS=\nCOMMUNITY=public,x-s3cret\n' \
  "$NET.1" "$PORT" "$SITE_TOKEN" | "$ASR_AGENT" config write --config "$CONF" >"$TMPD/o" 2>"$TMPD/e"
check_status "config write" 0 "$?"
check "endpoint written" grep -qx "endpoint https://$NET.1:$PORT" "$CONF"
check "communities written" grep -qx "community x-s3cret" "$CONF"
check "hand-written line kept" grep -qx "ca_file $TMPD/tls/ca.pem" "$CONF"
grep -q "$SITE_TOKEN" "$CONF" && not_ok "token in the configuration" || ok "token not in the configuration"
check "token file written" grep -qx "$SITE_TOKEN" "$TOKEN_FILE"
check "token file private" test "$(stat -c %a "$TOKEN_FILE")" = 600
check "config check passes" "$ASR_AGENT" config check "$CONF"

# 3. the daemon enrols with it, retrying while the central is down
"$ASR_AGENT" run --config "$CONF" >/dev/null 2>"$LOG" &
AGENT_PID=$!
pid_track "$AGENT_PID"
wait_log() { _i=0; until grep -qs "$1" "$LOG" || [ $_i -ge "$2" ]; do sleep 1; _i=$((_i + 1)); done; grep -q "$1" "$LOG"; }
check "enrolment retried while the central is down" wait_log 'enrolment failed (exit 5): next try in 5 s' 20
check "token kept while not enrolled" test -e "$TOKEN_FILE"
central_start "$NET.1" "$PORT" srv
check "enrolled once the central is up" wait_log 'enrolment: enrolled' 40
check "token deleted" test ! -e "$TOKEN_FILE"
"$ASR_CENTRAL" site list --db "$CENTRAL_DB" | awk '$1 == "acme" {print $3}' | grep -qx 1 &&
  ok "the central lists the agent" || not_ok "the central has no agent"
grep -q "$SITE_TOKEN\|x-s3cret" "$LOG" && not_ok "secret in the log" || ok "no secret in the log"
pid_stop "$AGENT_PID"

# 4. a token left over once enrolled is deleted, not used
printf 'SITE_TOKEN=%s\n' "$SITE_TOKEN" | "$ASR_AGENT" config write --config "$CONF" >/dev/null
"$ASR_AGENT" run --config "$CONF" --test-clock "$(date +%s)" --test-until "$(($(date +%s) + 60))" \
  >/dev/null 2>"$LOG"
check_status "second run" 0 "$?"
check "left-over token deleted" test ! -e "$TOKEN_FILE"
grep -q 'POST .*/v1/enroll' "$LOG" && not_ok "enrolled twice" || ok "not enrolled twice"

finish
