#!/bin/sh
# test_ingest_memory.sh: issue 15's memory goal for asr-central, "server RSS <= 256 MB
# under 4 concurrent maximal batches". Four agents send at once the largest batch the
# protocol's design day gives one agent (docs/protocol.md, "Limits": a 10,000-printer
# site's day, 60,000 readings of 5 supplies) to a server with its default settings;
# every batch is stored in the end (503 with Retry-After is allowed, the agents retry)
# and the server's peak RSS (VmHWM) stays within 256 MiB. bench/bench_central.sh prints
# the same figure against a database of many days.
# INGEST_MEMORY_MIB (default 256) is the bound checked. Address 127.53.60.1, port 18890.
# Also on PostgreSQL (pg_test_ingest_memory.sh: ASR_TEST_DB=pg), where a batch goes in
# chunks of array parameters (central/cstore_ingest.c's bulk path).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init ingest_memory
need_cmd openssl python3
need_central
ATTACK="$top_srcdir/tests/load/asrattack.py"
A=127.53.60.1
P=18890
LIMIT=${INGEST_MEMORY_MIB:-256}
O="$TMPD/out"

tls_ca ca
tls_cert ca srv "IP:$A"
central_start $A $P srv
site_add big

# rss FIELD: VmHWM or VmRSS of the central, in KiB
rss()
{
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$CENTRAL_PID/status" 2>/dev/null
}

IDLE=$(rss VmHWM)
python3 "$ATTACK" flood "$CENTRAL_URL" --ca "$TMPD/tls/ca.pem" --token "$SITE_TOKEN" --agents 4 \
  --devices 10000 --readings 6 --levels 5 --seconds 110 >"$O.flood" 2>"$O.flood.err" ||
  { show "$O.flood.err"; echo '{}' >"$O.flood"; }
HWM=$(rss VmHWM)
NOW=$(rss VmRSS)
echo "# idle VmHWM $((${IDLE:-0} / 1024)) MiB; 4 concurrent maximal batches: VmHWM" \
  "$((${HWM:-0} / 1024)) MiB, VmRSS after $((${NOW:-0} / 1024)) MiB (goal <= $LIMIT MiB)"
jcheck "4 maximal batches at once: all stored in the end" "$O.flood" \
  'd["stored"] == 4 or print("#  ", [r and (r["statuses"], r["last"]) for r in d.get("results", [])])'
# what was stored is what was sent (the PostgreSQL pass stores a batch in chunks of rows:
# central/cdb.h, cdb_arrs_full): 4 x 10,000 devices, 6 readings of 5 supplies each
central_sql "SELECT (SELECT count(*) FROM devices), (SELECT sum(readings) FROM devices),
  (SELECT count(*) FROM readings), (SELECT count(*) FROM levels),
  (SELECT count(*) FROM supplies WHERE description IS NOT NULL AND level = 50),
  (SELECT count(*) FROM level_days) - (SELECT count(*) FROM
    (SELECT DISTINCT device_id, idx, t / 86400 FROM levels) x),
  (SELECT count(*) FROM supply_series WHERE days IS NOT NULL)" >"$O.counts" 2>&1
check "stored as sent: devices, readings, levels, supplies, roll-up, series ($(cat "$O.counts"))" \
  test "$(cat "$O.counts")" = "40000|240000|240000|1200000|200000|0|200000"
check "server VmHWM $((${HWM:-0} / 1024)) MiB <= $LIMIT MiB under 4 concurrent maximal batches" \
  test "${HWM:-99999999}" -le $((LIMIT * 1024))
check "... and the memory is given back (VmRSS $((${NOW:-0} / 1024)) MiB < 128 MiB)" \
  test "${NOW:-99999999}" -lt $((128 * 1024))
check "... and the server is still up" kill -0 "$CENTRAL_PID"
finish
