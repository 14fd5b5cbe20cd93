#!/bin/sh
# quickstart.sh: installs what is missing, builds asr-agent, and runs its main job against
# a simulated fleet of printers on loopback addresses (127.60.0.x): discover, poll, status.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build"
work=$(mktemp -d /tmp/asr-quickstart.XXXXXX)
chmod 755 "$work" # snmpsimd drops to user nobody: it must reach the recordings
fleet="$work/fleet"

cleanup() {
  "$top/scripts/simfleet" stop "$fleet" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$top/scripts/deps.sh" build
echo "== building asr-agent in $build"
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1)
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --quiet
make -j"$(nproc)" --quiet asr-agent >/dev/null
agent="$build/asr-agent"

echo "== starting 24 simulated printers on 127.60.0.1-127.60.0.24 (snmpsim, UDP port 1161)"
"$top/scripts/simfleet" start "$fleet" --recordings "$top/tests/recordings" \
  --devices colour_laser,mono_laser,inkjet,mfp_waste,quirk_xerox_pn,quirk_hp_nul \
  --count 24 --base 127.60.0.1 --port 1161 --unique
db="$work/agent.db"

echo "== asr-agent discover 127.60.0.0/24"
"$agent" discover --db "$db" --port 1161 --format table --no-progress 127.60.0.0/24
echo "== asr-agent poll"
"$agent" poll --db "$db"
echo "== asr-agent status"
"$agent" status --db "$db" --format table
