#!/bin/sh
# load_agents.sh: 100 agents upload to one asr-central at once (HTTPS, test CA). Each agent
# is enrolled, then all of them, released together, send signed gzip batches (tests/load/
# asrload.py load); afterwards `asr-central devices --format json` must hold every reading
# exactly once: per device, the readings its agent sent, and no other device.
# Usage: tests/load/load_agents.sh [AGENTS [BATCHES [DEVICES [READINGS]]]]
#   (defaults 100 3 5 4: 100 x 3 batches of 5 devices x 4 readings = 6,000 readings).
# ASR_CENTRAL (default ./asr-central of the build dir you run it from). Exit 0 pass,
# 1 fail, 77 skip. Address 127.53.0.1, port 18700.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init load
need_cmd openssl python3
need_central
AGENTS=${1:-100}
BATCHES=${2:-3}
DEVICES=${3:-5}
READINGS=${4:-4}
A=127.53.0.1
O="$TMPD/out"

tls_ca ca
tls_cert ca srv "IP:$A"
central_start $A 18700 srv
site_add loadco
t0=$(now_ms)
python3 "$ASRLOAD" load "$CENTRAL_URL" "$SITE_TOKEN" --ca "$TMPD/tls/ca.pem" --agents "$AGENTS" \
  --batches "$BATCHES" --devices "$DEVICES" --readings "$READINGS" --expect "$TMPD/expect.json"
check_status "$AGENTS agents at once: every batch acknowledged" 0 $?
t1=$(now_ms)
central_devices "$O.c"
check_status "asr-central devices" 0 "$RC"
python3 - "$TMPD/expect.json" "$O.c" <<'PYEOF' && ok "every reading arrived exactly once" || not_ok "readings lost or doubled"
import json, sys
want = json.load(open(sys.argv[1]))
got = {x['serial']: x['readings'] for x in json.load(open(sys.argv[2]))['devices']}
bad = [(s, n, got.get(s)) for s, n in want.items() if got.get(s) != n]
extra = [s for s in got if s not in want]
print('#   %d devices expected, %d at the central, %d readings expected, %d stored'
      % (len(want), len(got), sum(want.values()), sum(got.values())))
for b in bad[:5]:
    print('#   %s: sent %s, central %s' % b)
sys.exit(0 if want and not bad and not extra else 1)
PYEOF
echo "# load: $((t1 - t0)) ms for enrolment and upload"
finish
