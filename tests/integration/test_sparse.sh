#!/bin/sh
# test_sparse.sh: a sparse /24 (127.40.4.0/24): 10 printers answer, the 244 other addresses
# are silent because nft drops their packets (as on a real LAN, where nobody answers and no
# ICMP comes back). discover must find the 10 within timeout x (retries + 1) + 2 s: silent
# hosts are waited for in parallel, not one after the other. A functional bound only; the
# real speed figure is bench/bench_scan.sh. Needs root and nft; the nft table is always
# deleted on exit.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init sparse
need_agent
need_sim
[ "$(id -u)" = 0 ] || skip "needs root for nft"
command -v nft >/dev/null 2>&1 || skip "nft not installed"
NET=127.40.4
TIMEOUT_MS=1000
RETRIES=1

# 10 printers at .1-.10 (the four demo recordings in turn; serials made distinct), and every
# other host address of the /24 served too but dropped: so the silence is real packet loss.
i=1
while [ $i -le 10 ]; do
  case $((i % 4)) in
    1) r=colour_laser ;; 2) r=mono_laser ;; 3) r=inkjet ;; 0) r=mfp_waste ;;
  esac
  sed -e "s/^\(1\.3\.6\.1\.2\.1\.43\.5\.1\.1\.17\.[0-9]*|4|\)\(.*\)/\1SPARSE$i-\2/" \
    -e "s/^\(1\.3\.6\.1\.2\.1\.47\.1\.1\.1\.1\.11\.1|4|\)\(.*\)/\1SPARSE$i-\2/" \
    "$RECDIR/$r.snmprec" >"$TMPD/p$i.snmprec"
  sim_add $NET.$i "$TMPD/p$i.snmprec"
  i=$((i + 1))
done
sim_start

NFT_TABLE=asr_itest_sparse_$$
nft add table inet "$NFT_TABLE" || skip "nft add table failed"
nft add chain inet "$NFT_TABLE" input '{ type filter hook input priority -10 ; policy accept ; }' &&
  nft add rule inet "$NFT_TABLE" input ip daddr $NET.11-$NET.254 udp dport $SIM_PORT drop ||
  { not_ok "could not install the nft drop rule"; finish; }
ok "nft drops $NET.11-254"

O="$TMPD/out"
E="$TMPD/err"
BOUND=$((TIMEOUT_MS * (RETRIES + 1) + 2000))
t0=$(now_ms)
run "$O" "$E" timeout 120 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json \
  --timeout $TIMEOUT_MS --retries $RETRIES $NET.0/24
t1=$(now_ms)
el=$((t1 - t0))
check_status "discover $NET.0/24" 0 "$RC"
jcheck "scanned 254 addresses" "$O" 'd["scanned"] == 254'
jcheck "found the 10 printers" "$O" 'd["printers"] == 10 and len(d["devices"]) == 10'
jcheck "10 distinct serials" "$O" 'len(set(x["serial"] for x in d["devices"])) == 10'
jcheck "all at .1-.10" "$O" \
  'sorted(int(x["ip"].split(".")[3]) for x in d["devices"]) == list(range(1, 11))'
if [ $el -le $BOUND ]; then
  ok "took $el ms (<= $BOUND ms = timeout x (retries+1) + 2 s)"
else
  not_ok "took $el ms (> $BOUND ms = timeout x (retries+1) + 2 s)"
fi

finish
