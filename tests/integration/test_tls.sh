#!/bin/sh
# test_tls.sh: the agent's TLS checks against asr-central and faultserver.py fronts that
# present other certificates: a certificate of another CA, one for another host name, an
# expired one, and a valid one whose key does not match the pin are all refused, at
# enrolment and at upload, with a clear error and nothing marked delivered; the right CA
# (file or hashed directory) and a matching pin are accepted; a front that demands a client
# certificate gets one with --client-cert/--client-key.
# Addresses 127.52.3.x, ports 18630-18639.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init tls
need_cmd openssl python3
need_central
need_enroll
need_sim
NET=127.52.3
O="$TMPD/out"
E="$TMPD/err"
CA="$TMPD/tls/ca.pem"
FA=$NET.11 # the front's address
FP=18631

sim_add $NET.1 colour_laser
sim_add $NET.2 mono_laser
sim_start
tls_ca ca
tls_ca other
tls_cert ca srv "IP:$NET.10,DNS:central.test"
tls_cert ca front "IP:$FA"
tls_cert ca front2 "IP:$FA"                 # same CA and name, another key
tls_cert other alien "IP:$FA"               # another CA
tls_cert ca wrongname "IP:$NET.99,DNS:wrong.example"
tls_cert_expired ca expired "IP:$FA"
tls_cert ca client "DNS:agent.test"
central_start $NET.10 18630 srv
site_add acme
FRONT="https://$FA:$FP"
OPTS="--timeout 500 --retries 1"

# front CERTNAME [ARGS]: the pass-through front presenting that certificate
front()
{
  [ -n "$FAULT_PID" ] && fault_stop
  _c=$1
  shift
  fault_start $FA $FP "$_c" "$@"
}

# tls_error FILE: the message names the TLS/certificate problem
tls_error()
{
  grep -Eqi 'certificate|ssl|tls|verif|pin|public key|issuer|expired|name' "$1" || {
    show "$1"
    return 1
  }
}

# enroll_refused TEXT DBNAME ARGS...: enrol a fresh database; expect a refusal
enroll_refused()
{
  _t=$1
  _db="$TMPD/$2.db"
  shift 2
  run "$O.e" "$E.e" timeout 60 "$ASR_AGENT" enroll --db "$_db" --endpoint "$FRONT" \
    --site-token "$SITE_TOKEN" "$@"
  if [ "$RC" != 0 ] && not_crashed "$RC"; then ok "enrol, $_t: refused (exit $RC)"; else not_ok "enrol, $_t: exit $RC"; fi
  check "enrol, $_t: the error says why" tls_error "$E.e"
  ASR_AGENT_DB="$_db" "$ASR_AGENT" status --format json >"$O.es" 2>/dev/null
  jcheck "enrol, $_t: not enrolled" "$O.es" 'not (d.get("uplink") or {}).get("agent_id")'
}

front alien
enroll_refused "certificate of another CA" e1 --ca-file "$CA"
enroll_refused "no CA given (system store)" e2
front wrongname
enroll_refused "certificate for another host name" e3 --ca-file "$CA"
front expired
enroll_refused "expired certificate" e4 --ca-file "$CA"
front front2
enroll_refused "pinned key mismatch" e5 --ca-file "$CA" --pin "$(tls_pin front)"

# the good front: a CA directory (hashed), the matching pin
front front
mkdir -p "$TMPD/cadir"
cp "$CA" "$TMPD/cadir/"
openssl rehash "$TMPD/cadir" >/dev/null 2>&1 || c_rehash "$TMPD/cadir" >/dev/null 2>&1
run "$O.e" "$E.e" "$ASR_AGENT" enroll --db "$TMPD/cadir.db" --endpoint "$FRONT" --site-token "$SITE_TOKEN" --ca-path "$TMPD/cadir"
check_status "enrol with --ca-path (hashed directory)" 0 "$RC"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$FRONT" --site-token "$SITE_TOKEN" --ca-file "$CA" --pin "$(tls_pin front)"
check_status "enrol with --ca-file and the matching --pin" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"

run "$O.d" "$E.d" "$ASR_AGENT" discover --port $SIM_PORT --format json $OPTS $NET.1-$NET.2
check_status "discover 2 printers" 0 "$RC"
tick
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
agent_status "$O.s0"
jcheck "readings pending" "$O.s0" '"uplink" in d'

# upload_refused TEXT: the upload fails, nothing marked delivered, nothing at the central
upload_refused()
{
  run "$O.u" "$E.u" timeout 60 "$ASR_AGENT" upload --max-wait 3
  if [ "$RC" != 0 ] && not_crashed "$RC"; then ok "upload, $1: refused (exit $RC)"; else not_ok "upload, $1: exit $RC"; fi
  check "upload, $1: the error says why" tls_error "$E.u"
  agent_status "$O.su"
  jcheck "upload, $1: nothing marked delivered" "$O.su" \
    'not d["uplink"]["last_upload"] and (d["uplink"]["pending_batches"] > 0 or d["uplink"]["pending_readings"] > 0) and d["uplink"]["last_error"]'
  central_devices "$O.cu"
  jcheck "upload, $1: nothing at the central" "$O.cu" 'd["devices"] == []'
}

front alien
upload_refused "certificate of another CA"
front wrongname
upload_refused "certificate for another host name"
front expired
upload_refused "expired certificate"
front front2
upload_refused "valid certificate, pinned key mismatch"
if grep -q '/v1/batches' "$FAULT_LOG"; then not_ok "the front saw a batch while refused"; else ok "the front saw no batch while refused"; fi

front front
run "$O.u" "$E.u" timeout 120 "$ASR_AGENT" upload --max-wait 30
check_status "upload with the right certificate and pin" 0 "$RC"
agent_status "$O.s1"
central_devices "$O.c1"
check "central readings = agent readings" readings_match "$O.s1" "$O.c1"

# a front that requires a client certificate
front front --client-ca "$CA"
run "$O.e" "$E.e" timeout 60 "$ASR_AGENT" enroll --db "$TMPD/cc1.db" --endpoint "$FRONT" --site-token "$SITE_TOKEN" --ca-file "$CA"
if [ "$RC" != 0 ]; then ok "no client certificate where one is required: refused (exit $RC)"; else not_ok "no client certificate: enrolled anyway"; fi
run "$O.e" "$E.e" timeout 60 "$ASR_AGENT" enroll --db "$TMPD/cc2.db" --endpoint "$FRONT" --site-token "$SITE_TOKEN" --ca-file "$CA" \
  --client-cert "$TMPD/tls/client.pem" --client-key "$TMPD/tls/client.key"
check_status "enrol with --client-cert/--client-key" 0 "$RC"
[ "$RC" = 0 ] || show "$E.e"
finish
