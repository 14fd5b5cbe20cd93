#!/bin/sh
# bench_scan.sh AGENT: speed and memory of discover and poll against simulated printers
# on loopback, with the ratio against a sequential snmpbulkwalk loop over the same printers.
#   dense:  254 printers on 127.70.0.1-254 (each its own serial): discover, then a full poll
#   sparse: 10 printers answer, 244 addresses of the /24 are silent (nftables drops their
#           packets, as on a real LAN): discover with --timeout 1000 --retries 1
# Targets (issue #2): dense discover < 1 s; poll < 5 s with peak RSS < 20 MB; sparse
# discover <= timeout x (retries + 1) + 0.5 s = 2.5 s. Needs root for nft (sparse part).
# The simulated printers are served by one snmpsimd per core (snmpsimd is a single Python
# process; on a real LAN each printer has its own CPU): with one process, snmpsimd's CPU,
# not the agent's (about 0.04 s), is what the dense figures measure.
set -eu
agent=$(cd "$(dirname "${1:?usage: bench_scan.sh PATH/asr-agent}")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/asr-bench.XXXXXX)
chmod 755 "$work" # snmpsimd drops to user nobody: it must reach the recordings
fleet="$work/fleet"
measure="python3 $top/bench/measure.py"
recs="colour_laser,mono_laser,inkjet,mfp_waste,quirk_xerox_pn,quirk_hp_nul"

cleanup() {
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
