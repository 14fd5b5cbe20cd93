#!/bin/sh
# test_sweep.sh: discovery of a /20 (127.41.0.0/20, 4,094 addresses) through the sweep.
# Printers answer at a few addresses (snmpsim), among them hostile recordings and a router;
# a slow printer answers every request 850 ms late (timeout 1000 ms) and one answers
# everything twice (tests/integration/udpfront.py in front of snmpsim); hostile fronts
# answer garbage, echo the request, flood, cut the answer, change its request id, or answer
# from another port or address: none of them may count. Every other address is silent
# (nft drops its packets, as on a real LAN). Two targets are excluded: an nft counter on
# the output hook proves that not one packet went to them (and a counter on an address
# that is scanned proves that the counters count). Then: --targets-from a file and stdin,
# --target-community, --deadline cutting the sweep, the daemon's scheduled discovery, and an
# IPv6 scan of ::1. Needs root and nft; the nft table, the
# simulators and the fronts are always removed on exit.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init sweep
need_agent
need_sim
[ "$(id -u)" = 0 ] || skip "needs root for nft"
command -v nft >/dev/null 2>&1 || skip "nft not installed"
NET=127.41
BACK=127.42.0
O="$TMPD/out"
E="$TMPD/err"
FRONT_PID=""

cleanup_sweep()
{
  if [ -n "$FRONT_PID" ]; then
    kill "$FRONT_PID" 2>/dev/null
    wait "$FRONT_PID" 2>/dev/null
  fi
  itest_cleanup
}
trap cleanup_sweep EXIT

# printers: address, recording
PRINTERS="$NET.0.1=colour_laser $NET.0.200=mono_laser $NET.2.17=inkjet $NET.4.4=mfp_waste
$NET.6.99=quirk_ricoh $NET.9.3=hostile_bigstrings $NET.10.10=hostile_utf8
$NET.11.11=hostile_wrongtypes $NET.15.254=quirk_canon"
NOTPRINTER=$NET.12.12
EXCLUDED_PRINTERS="$NET.8.8=quirk_brother $NET.1.77=quirk_xerox_pn"
for p in $PRINTERS $EXCLUDED_PRINTERS; do
  sim_add "${p%%=*}" "${p#*=}"
done
sim_add $NOTPRINTER hostile_notprinter
# the agents behind the fronts (outside the /20: only reachable through them)
i=1
for r in colour_laser mono_laser inkjet mfp_waste quirk_ricoh quirk_canon; do
  sim_add $BACK.$i $r
  i=$((i + 1))
done
sim_start

# fronts: the slow printer, the twice-answering one, and the hostile ones
SLOW=$NET.3.3
DUP=$NET.7.7
HOSTILE="$NET.13.1 $NET.13.2 $NET.13.3 $NET.13.4 $NET.13.5 $NET.13.6 $NET.13.7"
python3 "$top_srcdir/tests/integration/udpfront.py" --ready "$TMPD/front.ready" \
  "$SLOW:$SIM_PORT=delay:850,$BACK.1:$SIM_PORT" "$DUP:$SIM_PORT=dup,$BACK.2:$SIM_PORT" \
  "$NET.13.1:$SIM_PORT=garbage" "$NET.13.2:$SIM_PORT=echo" "$NET.13.3:$SIM_PORT=flood" \
  "$NET.13.4:$SIM_PORT=truncate,$BACK.3:$SIM_PORT" "$NET.13.5:$SIM_PORT=wrongid,$BACK.4:$SIM_PORT" \
  "$NET.13.6:$SIM_PORT=otherport,$BACK.5:$SIM_PORT" \
  "$NET.13.7:$SIM_PORT=otheraddr:127.42.9.9,$BACK.6:$SIM_PORT" >"$TMPD/front.log" 2>&1 &
FRONT_PID=$!
_i=0
while [ ! -f "$TMPD/front.ready" ] && [ $_i -lt 50 ]; do
  sleep 0.1
  _i=$((_i + 1))
done
[ -f "$TMPD/front.ready" ] || { show "$TMPD/front.log"; bail "udpfront.py did not start"; }

# silence: every address of the /20 but the live ones drops its packets
LIVE=$(for p in $PRINTERS $EXCLUDED_PRINTERS; do printf '%s, ' "${p%%=*}"; done)
LIVE="$LIVE $NOTPRINTER, $SLOW, $DUP, $(echo $HOSTILE | sed 's/ /, /g')"
NFT_TABLE=asr_itest_sweep_$$
nft add table inet "$NFT_TABLE" || skip "nft add table failed"
nft add chain inet "$NFT_TABLE" input '{ type filter hook input priority -10 ; policy accept ; }' &&
  nft add rule inet "$NFT_TABLE" input ip daddr $NET.0.0/20 ip daddr != "{ $LIVE }" \
    udp dport $SIM_PORT drop &&
  nft add chain inet "$NFT_TABLE" output '{ type filter hook output priority -10 ; policy accept ; }' &&
  nft add rule inet "$NFT_TABLE" output ip daddr "{ $NET.8.0/24, $NET.1.77 }" udp dport $SIM_PORT \
    counter &&
  nft add rule inet "$NFT_TABLE" output ip daddr $NET.0.1 udp dport $SIM_PORT counter ||
  { not_ok "could not install the nft rules"; finish; }
ok "nft: the /20 is silent but $(echo "$LIVE" | tr ',' '\n' | wc -l) addresses; counters on the output"

# counter N: the packets counted by the N-th counter rule of the output chain
counter()
{
  nft list chain inet "$NFT_TABLE" output | grep -o 'packets [0-9]*' | sed -n "${1}p" |
    cut -d' ' -f2
}

t0=$(now_ms)
run "$O" "$E" timeout 120 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json -v \
  --timeout 1000 --retries 1 --exclude $NET.8.0/24 --exclude $NET.1.77 $NET.0.0/20
t1=$(now_ms)
check_status "discover $NET.0.0/20 with exclusions" 0 "$RC"
[ "$RC" = 0 ] || show "$E"
WANT=$(for p in $PRINTERS; do printf '"%s",' "${p%%=*}"; done)"\"$SLOW\",\"$DUP\""
jcheck "scanned the /20 less the exclusions (4094 - 257)" "$O" 'd["scanned"] == 4094 - 257'
jcheck "found every answering printer, each once (plain, hostile recordings, slow, twice-answering)" \
  "$O" "sorted(x['ip'] for x in d['devices']) == sorted([$WANT])"
jcheck "printers counted" "$O" "d['printers'] == len([$WANT])"
jcheck "the router answered but is no printer" "$O" "'$NOTPRINTER' not in [x['ip'] for x in d['devices']]"
jcheck "the slow printer was read whole" "$O" \
  "len(dev_by(d['devices'], 'ip', '$SLOW').get('supplies') or []) > 0"
jcheck "nothing answering only from elsewhere, cut, garbled or with another request id counts" "$O" \
  "not set(x['ip'] for x in d['devices']) & set('$HOSTILE'.split())"
jcheck "answered: the printers, the router" "$O" "d['responded'] == len([$WANT]) + 1"
c1=$(counter 1)
c2=$(counter 2)
if [ "$c1" = 0 ]; then ok "no packet to an excluded address (nft counter: 0)"; else
  not_ok "packets to excluded addresses: $c1"; fi
if [ "${c2:-0}" -gt 0 ]; then ok "the counters count ($c2 packets to $NET.0.1)"; else
  not_ok "the control counter counted nothing"; fi
check "the sweep's summary is logged" grep -q "sweep: 3837 addresses" "$E"
el=$((t1 - t0))
if [ $el -le 60000 ]; then ok "took $el ms"; else not_ok "took $el ms (> 60 s)"; fi
check "udpfront.py still runs (the fronts were exercised)" kill -0 "$FRONT_PID"

# --- the run's deadline cuts the sweep: what it did not reach is reported as skipped ---
t0=$(now_ms)
run "$O.l" "$E.l" timeout 60 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json \
  --timeout 1000 --retries 1 --deadline 1 --exclude $NET.8.0/24 --exclude $NET.1.77 $NET.0.0/20
t1=$(now_ms)
check_status "discover with --deadline 1 -> exit 1" 1 "$RC"
jcheck "addresses not reached are skipped, the rest scanned" "$O.l" \
  'd["skipped"] > 0 and d["scanned"] + d["skipped"] == 4094 - 257'
check "the first skipped address is named" grep -q "not scanned (deadline or stop), from $NET\." "$E.l"
if [ $((t1 - t0)) -le 10000 ]; then ok "ended after $((t1 - t0)) ms"; else
  not_ok "ended after $((t1 - t0)) ms (deadline 1 s)"; fi

# --- targets from a file and from stdin; communities per target ---
printf '# two printers and a silent one\n%s, %s\n\n%s # silent\n' $NET.0.1 $NET.0.200 $NET.5.5 \
  >"$TMPD/targets.txt"
run "$O.f" "$E.f" timeout 60 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json \
  --timeout 500 --retries 0 --targets-from "$TMPD/targets.txt" $NET.2.17
check_status "--targets-from FILE and a target" 0 "$RC"
jcheck "the file's printers and the argument's" "$O.f" \
  "d['scanned'] == 4 and sorted(x['ip'] for x in d['devices']) == ['$NET.0.1', '$NET.0.200', '$NET.2.17']"
printf '%s\n' $NET.4.4 | run "$O.s" "$E.s" timeout 60 "$ASR_AGENT" discover --port $SIM_PORT \
  --no-save --format json --timeout 500 --retries 0 --targets-from -
check_status "--targets-from - (stdin)" 0 "$RC"
jcheck "the printer from stdin" "$O.s" "[x['ip'] for x in d['devices']] == ['$NET.4.4']"
printf '127.41.0.1\n127.41.0.300\n' >"$TMPD/bad.txt"
run "$O.b" "$E.b" timeout 20 "$ASR_AGENT" discover --no-save --targets-from "$TMPD/bad.txt"
check_status "a bad line in a targets file -> exit 2" 2 "$RC"
check "the message names the file and line" grep -qF "bad.txt:2: 127.41.0.300: position 10" "$E.b"
run "$O.n" "$E.n" timeout 20 "$ASR_AGENT" discover --no-save --targets-from "$TMPD/none.txt"
check_status "a missing targets file -> exit 3" 3 "$RC"
# a wrong general community; the right one for two targets only
run "$O.c" "$E.c" timeout 60 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json \
  --timeout 500 --retries 0 --community wrong --target-community $NET.0.0/24=other \
  --target-community $NET.0.0/24=public --target-community $NET.2.17=public \
  $NET.0.1 $NET.0.200 $NET.2.17 $NET.4.4
check_status "--target-community" 0 "$RC"
jcheck "only the targets with the right community answer" "$O.c" \
  "sorted(x['ip'] for x in d['devices']) == ['$NET.0.1', '$NET.0.200', '$NET.2.17']"
check "communities never in the messages" sh -c "! grep -q -e other -e wrong '$E.c'"
run "$O.x" "$E.x" timeout 20 "$ASR_AGENT" discover --no-save --target-community printer-1=x $NET.0.1
check_status "--target-community with a host name -> exit 2" 2 "$RC"

# --- the daemon's scheduled discovery goes the same way (exclude, target_community, scan_rate) ---
cat >"$TMPD/agent.conf" <<CONF
database $TMPD/daemon.db
scan_targets $NET.0.0/22
exclude $NET.1.77
community nope
target_community $NET.0.0/24 public
snmp_port $SIM_PORT
snmp_timeout 500ms
snmp_retries 0
scan_rate 5000
log_level info
CONF
run "$O.d" "$E.d" timeout 120 "$ASR_AGENT" run --config "$TMPD/agent.conf" \
  --test-clock 1735689600 --test-until 1735693200
check_status "a daemon hour with a discovery" 0 "$RC"
check "the daemon's discovery swept the /22 less the exclusion" grep -q "sweep: 1021 addresses" "$E.d"
run "$O.t" "$E.t" "$ASR_AGENT" status --format json --db "$TMPD/daemon.db"
jcheck "it found the printers its communities reach: $NET.0.1 and $NET.0.200" "$O.t" \
  "sorted(x['ip'] for x in d['devices']) == ['$NET.0.1', '$NET.0.200']"
c1=$(counter 1)
if [ "$c1" = 0 ]; then ok "still no packet to an excluded address"; else
  not_ok "packets to excluded addresses: $c1"; fi

# --- IPv6: a /120 is refused wider, ::1 is scanned ---
run "$O.w" "$E.w" timeout 20 "$ASR_AGENT" discover --no-save fd00::/112
check_status "an IPv6 /112 -> exit 2" 2 "$RC"
check "the message says /120" grep -q "/120" "$E.w"
sim_stop
sim_reset
cp "$RECDIR/inkjet.snmprec" "$TMPD/sim/data/public.snmprec"
chmod -R a+rX "$TMPD/sim"
sim_launch --data-dir="$TMPD/sim/data" --cache-dir="$TMPD/sim/cache" --logging-method=null \
  --agent-udpv6-endpoint="[::1]:$SIM_PORT"
_i=0
until snmpget -v2c -c public -t 0.5 -r 0 "udp6:[::1]:$SIM_PORT" 1.3.6.1.2.1.1.2.0 >/dev/null 2>&1; do
  _i=$((_i + 1))
  if [ $_i -ge 40 ] || ! kill -0 "$SIM_PID" 2>/dev/null; then
    show "$TMPD/sim/snmpsimd.log"
    skip "snmpsimd does not answer on [::1] (no IPv6 here?)"
  fi
  sleep 0.5
done
run "$O.6" "$E.6" timeout 60 "$ASR_AGENT" discover --port $SIM_PORT --no-save --format json \
  --timeout 500 --retries 0 ::1
check_status "discover ::1" 0 "$RC"
jcheck "the IPv6 printer, its address in RFC 5952 form" "$O.6" \
  "d['printers'] == 1 and d['devices'][0]['ip'] == '::1' and len(d['devices'][0]['supplies']) > 0"

finish
