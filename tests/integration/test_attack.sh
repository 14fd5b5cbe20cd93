#!/bin/sh
# test_attack.sh: asr-central (HTTPS, an RSA certificate) under the attacks of issue 10,
# items 9-13, driven by tests/load/asrattack.py and the real asr-agent:
#  - TLS 1.0, 1.1 and a static-RSA suite are refused; TLS 1.2 ECDHE and TLS 1.3 accepted;
#  - a revoked agent cannot enrol again with its site token; a rotated token enrols, the
#    old one does not; a revoked token enrols nothing while its agents keep uploading;
#  - memory bombs (91,428 readings x 64 levels four at once, 1,000,000 readings, a gzip
#    bomb) get 413 naming the bound, the process stays small (VmHWM) and gives memory back;
#  - 512 connections trickling a byte a second from one address, and 160 from 16 others,
#    while an agent uploads every half second: every upload gets through, the trickling
#    connections are cut at the header deadline;
#  - 16 clients flooding a 1,500-device site's page while an agent uploads: every upload
#    gets through at once;
#  - restarted with a small --memory-budget, 12 agents sending big batches at once: some
#    are told 503 with Retry-After, all are stored in the end, VmHWM stays near the budget.
# Addresses 127.53.20.x, ports 18880-18889.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init attack
need_cmd openssl python3
need_central
need_enroll
ATTACK="$top_srcdir/tests/load/asrattack.py"
A=127.53.20.1
P=18880
URL="https://$A:$P"
CA="$TMPD/tls/ca.pem"
O="$TMPD/out"

tls_ca ca
TLS_NEWKEY=rsa:2048 tls_cert ca srv "IP:$A"
central_start $A $P srv
site_add big
BIG_TOKEN=$SITE_TOKEN # the attackers' site (each attack enrols its agents)
site_add acme

# rss FIELD: VmHWM or VmRSS of the central, in MiB
rss()
{
  awk -v f="$1:" '$1 == f {print int($2 / 1024)}' "/proc/$CENTRAL_PID/status" 2>/dev/null
}

# attack NAME ARGS...: asrattack.py into O.NAME
attack()
{
  _n=$1
  shift
  python3 "$ATTACK" "$@" >"$O.$_n" 2>"$O.$_n.err" || {
    show "$O.$_n.err"
    echo '{}' >"$O.$_n"
  }
}

# tls_session ARGS...: openssl s_client with ARGS gets a TLS session
tls_session()
{
  openssl s_client -connect "$A:$P" -CAfile "$CA" "$@" </dev/null >"$O.tls" 2>&1
  grep -q 'Cipher is (NONE)' "$O.tls" && return 1
  grep -q 'Cipher is ' "$O.tls"
}

## ---- TLS (item 12) ------------------------------------------------------------------
if tls_session -tls1 -cipher 'DEFAULT:@SECLEVEL=0'; then not_ok "TLS 1.0 refused"; else ok "TLS 1.0 refused"; fi
if tls_session -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'; then not_ok "TLS 1.1 refused"; else ok "TLS 1.1 refused"; fi
if tls_session -tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'; then
  not_ok "TLS 1.2 static RSA (AES128-SHA, no forward secrecy) refused"
else
  ok "TLS 1.2 static RSA (AES128-SHA, no forward secrecy) refused"
fi
if tls_session -tls1_2 -cipher 'AES256-GCM-SHA384'; then
  not_ok "TLS 1.2 static RSA (AES256-GCM-SHA384) refused"
else
  ok "TLS 1.2 static RSA (AES256-GCM-SHA384) refused"
fi
check "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 accepted" tls_session -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
check "TLS 1.3 accepted" tls_session -tls1_3

## ---- revocation locks out (item 10) -------------------------------------------------
printf '%s\n' "$SITE_TOKEN" >"$TMPD/token"
chmod 600 "$TMPD/token"
run "$O.en1" "$O.en1.err" "$ASR_AGENT" enroll --endpoint "$URL" --site-token-file "$TMPD/token" --ca-file "$CA"
check_status "asr-agent enroll" 0 "$RC"
run "$O.up1" "$O.up1.err" "$ASR_AGENT" upload
check_status "asr-agent upload (a heartbeat)" 0 "$RC"
# shellcheck disable=SC2046 # "AGENT_ID SECRET"
set -- $(agent_secret)
AG=${1:-none}
SEC=${2:-none}
run "$O.rv" "$O.rv.err" "$ASR_CENTRAL" agent revoke "$AG" --db "$CENTRAL_DB"
check_status "agent revoke" 0 "$RC"
check "agent revoke says the site token is revoked too" grep -q 'site token .*revoked' "$O.rv.err"
run "$O.en2" "$O.en2.err" "$ASR_AGENT" enroll --force --endpoint "$URL" --site-token-file "$TMPD/token" --ca-file "$CA"
if [ "$RC" -ne 0 ] && grep -q 'revoked' "$O.en2.err"; then
  ok "the revoked agent's enroll --force with the same token is refused (revoked)"
else
  not_ok "the revoked agent's enroll --force with the same token is refused (exit $RC)"
  show "$O.en2.err"
fi
python3 "$top_srcdir/tests/load/asrload.py" batch --agent "$AG" --seq 7 >"$TMPD/b7.json"
python3 "$top_srcdir/tests/load/asrload.py" send "$URL" --ca "$CA" --agent "$AG" --secret "$SEC" \
  --json "$TMPD/b7.json" --gzip >"$O.up2" 2>&1
jcheck "and its uploads get 403" "$O.up2" 'd.get("status") == 403'
run "$O.rot" "$O.rot.err" "$ASR_CENTRAL" site token acme --rotate --token-file "$TMPD/token2" --db "$CENTRAL_DB"
check_status "site token --rotate --token-file" 0 "$RC"
check "the new token file is 0600 and holds st_ + 32 hex" sh -c \
  "[ \"\$(stat -c %a '$TMPD/token2')\" = 600 ] && grep -qx 'st_[0-9a-f]\{32\}' '$TMPD/token2'"
run "$O.en3" "$O.en3.err" "$ASR_AGENT" enroll --force --endpoint "$URL" --site-token-file "$TMPD/token2" --ca-file "$CA"
check_status "the new token enrols" 0 "$RC"
run "$O.up3" "$O.up3.err" "$ASR_AGENT" upload
check_status "and the new agent uploads" 0 "$RC"
python3 "$top_srcdir/tests/load/asrload.py" enroll "$URL" "$SITE_TOKEN" --ca "$CA" >"$O.en4" 2>&1
jcheck "the old token enrols nothing (401)" "$O.en4" 'd.get("status") == 401'
run "$O.rk" "$O.rk.err" "$ASR_CENTRAL" site token acme --revoke --db "$CENTRAL_DB"
check_status "site token --revoke" 0 "$RC"
python3 "$top_srcdir/tests/load/asrload.py" enroll "$URL" "$(cat "$TMPD/token2")" --ca "$CA" >"$O.en5" 2>&1
jcheck "a revoked token enrols nothing (401, says revoked)" "$O.en5" \
  'd.get("status") == 401 and "revoked" in d["body"]["error"]'
run "$O.up4" "$O.up4.err" "$ASR_AGENT" upload
check_status "the agents it enrolled keep uploading" 0 "$RC"
run "$O.rot2" "$O.rot2.err" "$ASR_CENTRAL" site token acme --rotate --db "$CENTRAL_DB"
check "site token --rotate prints the new token" grep -qx 'st_[0-9a-f]\{32\}' "$O.rot2"
SITE_TOKEN=$BIG_TOKEN

## ---- memory bombs (item 9) ----------------------------------------------------------
attack levels bomb "$URL" --ca "$CA" --token "$SITE_TOKEN" --kind levels --copies 4
jcheck "91,428 readings x 64 levels, four at once: 413 naming the bound" "$O.levels" \
  'len(d["answers"]) == 4 and all(a and a["status"] == 413 and "split it" in a["error"] for a in d["answers"]) or print("#  ", d.get("answers"))'
attack readings bomb "$URL" --ca "$CA" --token "$SITE_TOKEN" --kind readings --copies 2
jcheck "1,000,000 small readings: 413 naming the bound" "$O.readings" \
  'all(a and a["status"] == 413 and "split it" in a["error"] for a in d["answers"]) or print("#  ", d.get("answers"))'
attack gzip bomb "$URL" --ca "$CA" --token "$SITE_TOKEN" --kind gzip --copies 2
jcheck "1 GiB of zeros gzipped: 413 (decompressed size)" "$O.gzip" \
  'all(a and a["status"] == 413 and "decompressed" in a["error"] for a in d["answers"]) or print("#  ", d.get("answers"))'
attack values bomb "$URL" --ca "$CA" --token "$SITE_TOKEN" --kind values --copies 2
jcheck "6,000,000 empty arrays in an unknown member: 413" "$O.values" \
  'all(a and a["status"] == 413 for a in d["answers"]) or print("#  ", d.get("answers"))'
HWM=$(rss VmHWM)
sleep 1
NOW_RSS=$(rss VmRSS)
echo "# after the bombs: VmHWM $HWM MiB, VmRSS $NOW_RSS MiB (before the fix: 5,490 and 4,800)"
check "the bombs never took 640 MiB (VmHWM $HWM MiB)" test "${HWM:-99999}" -lt 640
check "memory given back (VmRSS $NOW_RSS MiB < 256)" test "${NOW_RSS:-99999}" -lt 256

## ---- slowloris (item 11) ------------------------------------------------------------
attack slow1 slowloris "$URL" --ca "$CA" --token "$SITE_TOKEN" --conns 512 --seconds 13 \
  --source 127.53.20.50 --probe-source 127.53.20.60 &
S1=$!
attack slow2 slowloris "$URL" --ca "$CA" --token "$SITE_TOKEN" --conns 160 --sources 16 --seconds 13 \
  --source 127.53.20.100 --probe-source 127.53.20.61
wait $S1
for s in slow1 slow2; do
  jcheck "$s: the agent's every upload got through, at once (< 5 s)" "$O.$s" \
    'd["probe"]["tries"] >= 10 and d["probe"]["ok"] == d["probe"]["tries"] and d["probe"]["max_seconds"] < 5 or print("#  ", d)'
done
jcheck "one address gets at most 32 connections" "$O.slow1" 'd["accepted"] <= 32 or print("#  ", d)'
jcheck "trickling connections are cut at the header deadline (10 s)" "$O.slow2" \
  'd["accepted"] >= 100 and d["alive_at_end"] == 0 and 9 <= d["cut_after_min"] and d["cut_after_max"] <= 13 or print("#  ", d)'

## ---- page flood during uploads (item 13) --------------------------------------------
attack fill fill "$URL" --ca "$CA" --token "$SITE_TOKEN" --devices 1500 --days 90
jcheck "a 1,500-device site stored" "$O.fill" 'd.get("batches", 0) >= 2 and all(a["status"] == 200 for a in d["answers"])'
printf 'attack test password\n' >"$TMPD/pw" && chmod 600 "$TMPD/pw"
"$ASR_CENTRAL" staff add ops --password-file "$TMPD/pw" --db "$CENTRAL_DB" >/dev/null 2>&1
STAFF_TOKEN=$("$ASR_CENTRAL" staff token ops --db "$CENTRAL_DB" 2>/dev/null)
attack pages pages "$URL" --ca "$CA" --token "$SITE_TOKEN" --path /api/sites/big --bearer "$STAFF_TOKEN" --conns 16 --seconds 8 \
  --probe-source 127.53.20.62
jcheck "16 clients flooding the site's page: pages served" "$O.pages" \
  'd["pages"].get("200", 0) >= 4 or print("#  ", d)'
jcheck "... and the agent's every upload got through at once (< 3 s)" "$O.pages" \
  'd["probe"]["tries"] >= 8 and d["probe"]["ok"] == d["probe"]["tries"] and d["probe"]["max_seconds"] < 3 or print("#  ", d["probe"])'

## ---- a flood of big valid batches against a small budget (item 9) --------------------
central_stop
# one batch of 1,000 devices x 6 readings x 5 supplies reserves its worst case while it is
# gunzipped (bounded by --batch-memory: 16 MiB) and decodes in about 4 MiB (its devices
# and readings one at a time): one fits in the budget, two at once do not
CENTRAL_OPTS="--memory-budget 24M --batch-memory 16M" central_start $A $P srv
attack flood flood "$URL" --ca "$CA" --token "$SITE_TOKEN" --agents 12 --devices 1000 --readings 6 \
  --levels 5 --seconds 60
jcheck "12 agents x 6,000 readings at once: all stored in the end" "$O.flood" \
  'd["stored"] == 12 or print("#  ", [r and (r["statuses"], r["last"]) for r in d.get("results", [])])'
jcheck "... some told 503 (memory budget spent) and retried" "$O.flood" 'd["busy_answers"] >= 1'
HWM=$(rss VmHWM)
echo "# flood with --memory-budget 24M: VmHWM $HWM MiB"
check "VmHWM near the budget ($HWM MiB < 24 + 96)" test "${HWM:-99999}" -lt 120

finish
