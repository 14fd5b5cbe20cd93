#!/bin/sh
# bench_scan.sh AGENT [BASELINE]: speed and memory of discover and poll against simulated
# printers on loopback, with ratios against peers run in the same script (the machine may be
# loaded: only same-run ratios mean much).
#   dense:  254 printers on 127.70.0.1-254 (each its own serial): discover, then a full poll;
#           peers: a sequential snmpbulkwalk loop, and BASELINE (another asr-agent build,
#           e.g. the one before the sweep) when given
#   sparse /24: 10 printers answer, 244 addresses of the /24 are silent (nftables drops their
#           packets, as on a real LAN): discover with --timeout 1000 --retries 1
#   silent ranges (issue #13): /24, /22, /20, /18 and /16 of 127.72.0.0/16, every packet
#           dropped: discover with the defaults and with --concurrency 900, and the reference
#           prober (bench/refprobe.py: one socket, the same rate, timeout and retries), the
#           network's limit for a sweep
#   sparse /18: 10 printers in 127.73.0.0/18 (16,382 addresses), the rest dropped
# Targets: dense discover < 1 s (issue #2) and no slower than BASELINE; poll < 5 s with peak
# RSS < 20 MB; sparse /24 <= timeout x (retries + 1) + 0.5 s = 2.5 s; sparse /18 <= 4 s with
# the 10 found; /16 <= 10 s; peak RSS <= 32 MB. Needs root and nft for all but the dense part.
# The simulated printers are served by one snmpsimd per core (snmpsimd is a single Python
# process; on a real LAN each printer has its own CPU): with one process, snmpsimd's CPU,
# not the agent's (about 0.04 s), is what the dense figures measure.
set -eu
agent=$(cd "$(dirname "${1:?usage: bench_scan.sh PATH/asr-agent [BASELINE]}")" && pwd)/$(basename "$1")
baseline=""
if [ -n "${2:-}" ]; then baseline=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); fi
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/asr-bench.XXXXXX)
chmod 755 "$work" # snmpsimd drops to user nobody: it must reach the recordings
fleet="$work/fleet"
measure="python3 $top/bench/measure.py"
recs="colour_laser,mono_laser,inkjet,mfp_waste,quirk_xerox_pn,quirk_hp_nul"

nft_table=asr_bench_sweep_$$
cleanup() {
  nft delete table inet "$nft_table" 2>/dev/null || true
  "$top/scripts/simfleet" undrop "$fleet" 2>/dev/null || true
  "$top/scripts/simfleet" stop "$fleet" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { python3 -c "print('%.1f' % ($1 / max($2, 0.001)))"; }

# A sequential loop of snmpbulkwalk over the printers' supply and device tables.
peer_walk() {
  for a in $(awk 'NR>1 {print $1}' "$fleet/map.tsv" | head -n "$1"); do
    snmpbulkwalk -v2c -c public -On -t 1 -r 1 "$a:1161" 1.3.6.1.2.1.43 >/dev/null 2>&1 || true
    snmpbulkwalk -v2c -c public -On -t 1 -r 1 "$a:1161" 1.3.6.1.2.1.25.3 >/dev/null 2>&1 || true
  done
}

echo "== dense /24: 254 simulated printers"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" --devices "$recs" \
  --count 254 --base 127.70.0.1 --port 1161 --unique --processes "$(nproc)" >/dev/null
db="$work/agent.db"
"$agent" discover --db "$db" --port 1161 --no-progress --format json 127.70.0.0/24 >/dev/null || true
rm -f "$db"*
d=$($measure --keep "$work/discover.json" "$agent" discover --db "$db" --port 1161 --no-progress --format json 127.70.0.0/24)
found=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['printers'])" "$work/discover.json")
p=$($measure "$agent" poll --db "$db" -q)
t0=$(date +%s.%N); peer_walk 254; t1=$(date +%s.%N)
peer=$(python3 -c "print('%.3f' % ($t1 - $t0))")
ds=$(field "$d" seconds); ps=$(field "$p" seconds)
printf 'discover 254 printers: %ss (printers found: %s, peak RSS %s KB)  target < 1 s\n' "$ds" "$found" "$(field "$d" maxrss_kb)"
printf 'poll 254 printers:     %ss, peak RSS %s KB  target < 5 s and < 20480 KB\n' "$ps" "$(field "$p" maxrss_kb)"
printf 'sequential snmpbulkwalk loop over the same 254: %ss  (discover is %sx faster, poll %sx)\n' \
  "$peer" "$(ratio "$peer" "$ds")" "$(ratio "$peer" "$ps")"
r=$(python3 "$top/bench/refprobe.py" --port 1161 127.70.0.0/24)
printf 'reference prober, one GET to each of the 254: %ss (%s answered)\n' "$(field "$r" seconds)" \
  "$(field "$r" answered)"
if [ -n "$baseline" ]; then
  rm -f "$db"*
  b=$($measure --keep "$work/baseline.json" "$baseline" discover --db "$db" --port 1161 --no-progress --format json 127.70.0.0/24)
  rm -f "$db"*
  d2=$($measure "$agent" discover --db "$db" --port 1161 --no-progress --format json 127.70.0.0/24)
  bs=$(field "$b" seconds); ds2=$(field "$d2" seconds)
  printf 'BASELINE discover of the same 254: %ss; this build again: %ss  (this build / baseline: %s, target <= 1.0 within noise)\n' \
    "$bs" "$ds2" "$(python3 -c "print('%.2f' % ((($ds + $ds2) / 2) / max($bs, 0.001)))")"
fi
"$top/scripts/simfleet" stop "$fleet"

if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null 2>&1; then
  echo "== sparse /24: skipped (needs root and nft)"; exit 0
fi
echo "== sparse /24: 10 printers, 244 silent addresses (packets dropped)"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" --devices "$recs" \
  --count 254 --base 127.71.0.1 --port 1161 --unique --processes "$(nproc)" >/dev/null
silent=$(awk 'NR>11 {print $1}' "$fleet/map.tsv")
# shellcheck disable=SC2086
"$top/scripts/simfleet" drop "$fleet" $silent
s=$($measure --keep "$work/sparse.json" "$agent" discover --no-save --port 1161 --timeout 1000 --retries 1 --no-progress --format json 127.71.0.0/24)
found=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['printers'])" "$work/sparse.json")
ss=$(field "$s" seconds)
# The peer on all 254 would take about 244 x 4 s: it walks the 10 live printers, times two
# silent addresses, and extrapolates to the 244 silent ones.
t0=$(date +%s.%N); peer_walk 10; t1=$(date +%s.%N)
for a in $(echo "$silent" | head -n 2); do
  snmpbulkwalk -v2c -c public -On -t 1 -r 1 "$a:1161" 1.3.6.1.2.1.43 >/dev/null 2>&1 || true
done
t2=$(date +%s.%N)
est=$(python3 -c "print('%.1f' % (($t1 - $t0) + ($t2 - $t1) / 2 * 244 * 2))")
printf 'discover sparse /24:   %ss (printers found: %s)  target <= 2.5 s\n' "$ss" "$found"
printf 'sequential snmpbulkwalk loop, extrapolated to the 254 addresses: about %ss (%sx)\n' \
  "$est" "$(ratio "$est" "$ss")"

# ---- issue #13: wide ranges ------------------------------------------------------------------
nft add table inet "$nft_table"
nft add chain inet "$nft_table" input '{ type filter hook input priority -10 ; policy accept ; }'
nft add rule inet "$nft_table" input ip daddr 127.72.0.0/16 udp dport 1161 drop
echo "== silent ranges: every packet dropped (timeout 1000 ms, 1 retry, rate $("$agent" discover --help | sed -n 's/.*--rate PPS.*(\([0-9]*\)).*/\1/p') a second)"
printf '%-6s %9s %12s %18s %12s %8s %9s\n' range addresses defaults "--concurrency 900" reference ratio "peak RSS"
for bits in 24 22 20 18 16; do
  net=127.72.0.0/$bits
  a=$($measure "$agent" discover --no-save --port 1161 --no-progress --format json $net)
  c=$($measure "$agent" discover --no-save --port 1161 --no-progress --format json --concurrency 900 $net)
  r=$(python3 "$top/bench/refprobe.py" --port 1161 $net)
  printf '/%-5s %9s %11ss %17ss %11ss %7sx %6s KB\n' $bits "$(field "$r" addresses)" \
    "$(field "$a" seconds)" "$(field "$c" seconds)" "$(field "$r" seconds)" \
    "$(python3 -c "print('%.2f' % ($(field "$a" seconds) / max($(field "$r" seconds), 0.001)))")" \
    "$(field "$a" maxrss_kb)"
  [ $bits = 16 ] && s16=$(field "$a" seconds) && m16=$(field "$a" maxrss_kb)
done
printf '/16: %ss (target <= 10 s), peak RSS %s KB (target <= 32768 KB)\n' "$s16" "$m16"

echo "== sparse /18: 10 printers, 16,372 silent addresses (packets dropped)"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" --devices "$recs" \
  --count 10 --base 127.73.0.1 --port 1161 --unique --processes "$(nproc)" >/dev/null
nft add rule inet "$nft_table" input ip daddr 127.73.0.0/18 ip daddr != 127.73.0.1-127.73.0.10 \
  udp dport 1161 drop
s=$($measure --keep "$work/sparse18.json" "$agent" discover --no-save --port 1161 --no-progress --format json 127.73.0.0/18)
found=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['printers'])" "$work/sparse18.json")
r=$(python3 "$top/bench/refprobe.py" --port 1161 127.73.0.0/18)
printf 'discover sparse /18:   %ss (printers found: %s, peak RSS %s KB)  target <= 4 s with the 10 found\n' \
  "$(field "$s" seconds)" "$found" "$(field "$s" maxrss_kb)"
printf 'reference prober on the same /18: %ss (%s answered)  (discover / reference: %sx; discover also reads the 10 printers)\n' \
  "$(field "$r" seconds)" "$(field "$r" answered)" \
  "$(python3 -c "print('%.2f' % ($(field "$s" seconds) / max($(field "$r" seconds), 0.001)))")"
"$top/scripts/simfleet" stop "$fleet"
