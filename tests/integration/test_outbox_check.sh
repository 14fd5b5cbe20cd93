#!/bin/sh
# test_outbox_check.sh: the outbox bound an admin sets and what `status --check` says about
# the outbox (issue 10, item 4). Two snmpsim printers, a plain-HTTP asr-central on loopback
# behind faultserver.py:
#   - outbox_max_mb is a directive of asr-agent.conf (checked: 1 to 1000000, file:line);
#   - a batch the central refuses (400) is held: status --check is a WARNING naming it and
#     the central's reason;
#   - undelivered batches (a long outage: big pending bodies) at 80% of outbox_max_mb are
#     a WARNING, over it CRITICAL, with the sizes in the line; the daemon passes the
#     directive to its uploads (outbox_full is recorded with a 1 MB bound);
#   - status --check reads the limits of the configuration file (--config).
# Addresses 127.52.9.31-40, ports 18866 (central) and 18867 (front).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init outbox_check
need_agent
need_sim
need_central
need_cmd python3 openssl
NET=127.52.9
O="$TMPD/o"
E="$TMPD/e"
OPTS="--timeout 300 --retries 0"
printf '# no directives: the defaults\n' >"$TMPD/empty.conf"
tls_ca ca # the front's --ca (the central answers plain HTTP on loopback)

## ---- the directive ----
printf 'outbox_max_mb 1\n' >"$TMPD/one.conf"
run "$O" "$E" "$ASR_AGENT" config check "$TMPD/one.conf"
check_status "outbox_max_mb 1 is a valid directive" 0 "$RC"
printf '# bound\noutbox_max_mb 0\n' >"$TMPD/zero.conf"
run "$O" "$E" "$ASR_AGENT" config check "$TMPD/zero.conf"
check "outbox_max_mb 0 is refused at its line" \
  grep -qF "$TMPD/zero.conf:2: outbox_max_mb: '0': expected a whole number from 1 to 1000000" "$E"

sim_add $NET.31 colour_laser
sim_add $NET.32 mono_laser
sim_start
central_start $NET.30 18866 ""
site_add acme
fault_start $NET.30 18867 "" --fail 1 --status 400

run "$O" "$E" "$ASR_AGENT" discover --port "$SIM_PORT" $OPTS $NET.31-32
check_status "discover 2 printers" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" enroll --endpoint "$FAULT_URL" --site-token "$SITE_TOKEN"
check_status "enroll through the front" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "status --check before any batch" 0 "$RC"

## ---- a held batch is a WARNING, with the central's reason ----
run "$O" "$E" "$ASR_AGENT" upload --max-wait 5
check_status "upload: the central refuses the batch (400), it is held" 1 "$RC"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "status --check with a held batch is a WARNING" 1 "$RC"
check "the line says a batch is held, with the reason" \
  grep -q "^ASR-AGENT WARNING - .*1 batch held ([0-9]* readings not delivered: .*400" "$O"
[ "$RC" = 1 ] || show "$O"
run "$O" "$E" "$ASR_AGENT" upload --retry-held --max-wait 5
check_status "upload --retry-held delivers it" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "status --check is OK again" 0 "$RC"
[ "$RC" = 0 ] || show "$O"

## ---- undelivered batches against the bound ----
# a long outage, as the outbox would hold it: pending batches with big bodies
pending()  # pending KB: adds a pending batch of that size
{
  python3 - "$DB" "$1" <<'PYEOF'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
seq = c.execute('SELECT coalesce(max(seq), 0) + 1 FROM outbox').fetchone()[0]
c.execute("INSERT INTO outbox (seq, position, batch_id, state, body, body_size, n_readings)"
          " VALUES (?, ?, ?, 'pending', ?, ?, 10)",
          (seq, seq, 'outage-%d' % seq, os.urandom(int(sys.argv[2]) * 1024), int(sys.argv[2]) * 1024))
c.execute('UPDATE uplink SET next_seq = max(next_seq, ?)', (seq + 1,))
c.commit()
PYEOF
}
pending 500
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "0.5 MB undelivered of a 1 MB bound: OK" 0 "$RC"
pending 350
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "0.83 MB undelivered of a 1 MB bound: WARNING" 1 "$RC"
check "the line says how full the outbox is" \
  grep -q "^ASR-AGENT WARNING - .*outbox 83% full (0.8 MB of undelivered batches, bound 1.0 MB)" "$O"
[ "$RC" = 1 ] || show "$O"
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "the same under the default bound (100 MB, no --config file): OK" 0 "$RC"
pending 300
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/one.conf"
check_status "1.1 MB undelivered of a 1 MB bound: CRITICAL" 2 "$RC"
check "the line says the outbox is full" \
  grep -q "^ASR-AGENT CRITICAL - .*outbox full: 1.1 MB of undelivered batches over its bound of 1.0 MB" "$O"
[ "$RC" = 2 ] || show "$O"

## ---- the daemon passes outbox_max_mb to its uploads ----
central_stop
fault_stop
cat >"$TMPD/agent.conf" <<CONF
database $DB
snmp_port $SIM_PORT
upload_window 00:00-23:59
outbox_max_mb 1
log_level error
CONF
NOW=$(date +%s)
run "$O" "$E" "$ASR_AGENT" run --config "$TMPD/agent.conf" --test-clock "$NOW" \
  --test-until $((NOW + 86400)) --test-seed 5
check_status "the daemon runs with outbox_max_mb 1 (central down)" 0 "$RC"
run "$O" "$E" "$ASR_AGENT" status --format json
jcheck "its upload found the outbox over its bound (outbox_full)" "$O" \
  'd["uplink"]["outbox_full"] is True'
run "$O" "$E" "$ASR_AGENT" status --check --config "$TMPD/empty.conf"
check_status "status --check: CRITICAL from the daemon's bound, even under the default one" 2 "$RC"

finish
