#!/bin/sh
# test_v3.sh: SNMPv3 (SHA / AES, authPriv). snmpsimd (default architecture: --v2c-arch cannot
# do v3) serves colour_laser as data file "public" (v3 context "public") on 127.40.3.1. Discover with pass phrases from 0600 files
# and from the environment; a wrong pass phrase fails that host quickly with a clear reason;
# pass phrases never appear in output, stderr or the process list.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init v3
need_agent
need_sim
NET=127.40.3
AUTH='itest-Auth-Phrase-91'
PRIV='itest-Priv-Phrase-37'
cp "$RECDIR/colour_laser.snmprec" "$TMPD/sim/data/public.snmprec"
chmod -R a+rX "$TMPD/sim"
chmod 777 "$TMPD/sim/cache"
sim_launch --data-dir="$TMPD/sim/data" --cache-dir="$TMPD/sim/cache" --logging-method=null \
  --v3-user=asrtest --v3-auth-key="$AUTH" --v3-auth-proto=SHA --v3-priv-key="$PRIV" \
  --v3-priv-proto=AES --agent-udpv4-endpoint=$NET.1:$SIM_PORT
sim_wait $NET.1 "-v3 -u asrtest -l authPriv -a SHA -A $AUTH -x AES -X $PRIV -n public"
O="$TMPD/out"
E="$TMPD/err"
V3="--v3-user asrtest --v3-auth-proto SHA --v3-priv-proto AES --v3-context public"
OPTS="--timeout 1000 --retries 1"

# no_secret FILE...: none of the files holds a pass phrase
no_secret()
{
  ! grep -qF -e "$AUTH" -e "$PRIV" "$@"
}

# pass phrases in files, one per file, 0600
printf '%s\n' "$AUTH" >"$TMPD/auth.pass"
printf '%s\n' "$PRIV" >"$TMPD/priv.pass"
printf 'auth = %s\npriv = %s\n' "$AUTH" "$PRIV" >"$TMPD/both.pass"
chmod 600 "$TMPD/auth.pass" "$TMPD/priv.pass" "$TMPD/both.pass"

# run in the background and look at the process list while it runs
"$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $V3 $OPTS --v3-auth-pass-file "$TMPD/auth.pass" \
  --v3-priv-pass-file "$TMPD/priv.pass" $NET.1 >"$O.f" 2>"$E.f" &
apid=$!
: >"$TMPD/ps.txt"
_i=0
while kill -0 $apid 2>/dev/null && [ $_i -lt 100 ]; do
  ps -eo args >>"$TMPD/ps.txt" 2>/dev/null
  cat /proc/$apid/environ 2>/dev/null | tr '\0' '\n' | grep -v '^ASR_SNMP_' >>"$TMPD/ps.txt"
  sleep 0.05
  _i=$((_i + 1))
done
wait $apid
RC=$?
check_status "discover v3 SHA/AES with pass-phrase files" 0 "$RC"
jcheck "found the printer over v3" "$O.f" 'd["printers"] == 1 and d["devices"][0]["serial"] == "LMC4410X0001"'
jcheck "supplies read over v3" "$O.f" 'len(d["devices"][0]["supplies"]) == 10'
check "pass phrases not on stdout/stderr" no_secret "$O.f" "$E.f"
grep -v snmpsimd "$TMPD/ps.txt" >"$TMPD/ps2.txt"
check "pass phrases not in the agent's process list entries" no_secret "$TMPD/ps2.txt"

run "$O.b" "$E.b" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $V3 $OPTS \
  --v3-auth-pass-file "$TMPD/both.pass" --v3-priv-pass-file "$TMPD/both.pass" $NET.1
check_status "discover v3 with one 'auth = / priv =' file" 0 "$RC"
jcheck "found the printer" "$O.b" 'd["printers"] == 1'

# pass phrases from the environment, saved: then poll uses the stored credentials
run "$O.e" "$E.e" env ASR_SNMP_AUTH_PASS="$AUTH" ASR_SNMP_PRIV_PASS="$PRIV" "$ASR_AGENT" discover --port $SIM_PORT --format json $V3 $OPTS $NET.1
check_status "discover v3 with pass phrases from the environment" 0 "$RC"
jcheck "found the printer" "$O.e" 'd["printers"] == 1'
check "pass phrases not on stdout/stderr" no_secret "$O.e" "$E.e"
tick # readings are unique per device and second
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
check_status "poll over v3 with the stored credentials" 0 "$RC"
run "$O.s" "$E.s" "$ASR_AGENT" status --format json
jcheck "two readings" "$O.s" 'd["devices"][0]["readings"] == 2'
check "status does not print the pass phrases" no_secret "$O.s" "$E.s"
run "$O.st" "$E.st" "$ASR_AGENT" status --format table
check "status table does not print the pass phrases" no_secret "$O.st"

# wrong pass phrase: fails this host, quickly, with a reason; never hangs
printf 'wrong-phrase-123456\n' >"$TMPD/wrong.pass"
chmod 600 "$TMPD/wrong.pass"
t0=$(now_ms)
run "$O.w" "$E.w" timeout 30 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $V3 $OPTS \
  --v3-auth-pass-file "$TMPD/wrong.pass" --v3-priv-pass-file "$TMPD/priv.pass" $NET.1
t1=$(now_ms)
if [ "$RC" = 5 ] || [ "$RC" = 1 ]; then ok "wrong auth pass phrase -> exit $RC (5 or 1)"; else not_ok "wrong auth pass phrase -> exit $RC (expected 5 or 1)"; fi
if [ $((t1 - t0)) -lt 5000 ]; then ok "wrong pass phrase gave up in $((t1 - t0)) ms (< 5 s)"; else not_ok "wrong pass phrase took $((t1 - t0)) ms (>= 5 s)"; fi
check "a clear reason (authentication) on stderr" grep -qi "auth" "$E.w"
check "the wrong pass phrase is not echoed" sh -c "! grep -q wrong-phrase-123456 '$O.w' '$E.w'"
check "the right pass phrases are not echoed" no_secret "$O.w" "$E.w"

# a group-readable pass-phrase file is refused, without printing it
chmod 644 "$TMPD/auth.pass"
run "$O.r" "$E.r" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $V3 $OPTS \
  --v3-auth-pass-file "$TMPD/auth.pass" --v3-priv-pass-file "$TMPD/priv.pass" $NET.1
if [ "$RC" = 2 ] || [ "$RC" = 3 ]; then ok "a 0644 pass-phrase file is refused (exit $RC)"; else not_ok "a 0644 pass-phrase file is refused (exit $RC, expected 2 or 3)"; fi
check "the refusal names the file" grep -qF "auth.pass" "$E.r"
check "the refusal does not print the pass phrase" no_secret "$O.r" "$E.r"

# a pass phrase shorter than 8 characters: refused before any packet, exit 2, not printed
printf 'short7x\n' >"$TMPD/short.pass"
chmod 600 "$TMPD/short.pass"
t0=$(now_ms)
run "$O.sh" "$E.sh" "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json $V3 $OPTS \
  --v3-auth-pass-file "$TMPD/short.pass" --v3-priv-pass-file "$TMPD/priv.pass" $NET.1-$NET.200
t1=$(now_ms)
check_status "a 7-character auth pass phrase is refused" 2 "$RC"
check "the refusal says it is too short and names the file" \
  sh -c "grep -q 'too short' '$E.sh' && grep -qF 'short.pass' '$E.sh'"
check "refused before scanning: no output, at once ($((t1 - t0)) ms)" \
  sh -c "test ! -s '$O.sh' && test $((t1 - t0)) -lt 900"
check "the short pass phrase is not echoed" sh -c "! grep -q short7x '$O.sh' '$E.sh'"
run "$O.sh" "$E.sh" env ASR_SNMP_AUTH_PASS="$AUTH" ASR_SNMP_PRIV_PASS=abc "$ASR_AGENT" discover \
  --port $SIM_PORT --no-save --format json $V3 $OPTS $NET.1
check_status "a 3-character priv pass phrase from the environment is refused" 2 "$RC"
check "the refusal names ASR_SNMP_PRIV_PASS" grep -q "ASR_SNMP_PRIV_PASS" "$E.sh"

# a pass phrase on the command line is not an option at all
run "$O.c" "$E.c" "$ASR_AGENT" discover --port $SIM_PORT --no-save $V3 --v3-auth-pass "$AUTH" $NET.1
check_status "no --v3-auth-pass option (secrets never in argv)" 2 "$RC"

finish
