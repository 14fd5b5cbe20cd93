#!/bin/sh
# test-fleet.sh: asr-agent.exe under Wine against a simulated fleet and a native asr-central
# (issue 5 section 4).
#
#   scripts/win/test-fleet.sh [WIN_BUILD_DIR [NATIVE_BUILD_DIR]]
#
# WIN_BUILD_DIR holds the cross-built asr-agent.exe (default $WIN_BUILD or .), and
# NATIVE_BUILD_DIR a Linux build with asr-central (default $NATIVE_BUILD or _build-gcc of the
# source tree). scripts/simfleet serves 254 printers (our recordings) on 127.63.0.1-254;
# asr-central serves HTTPS on 127.63.1.1 with a certificate of a test CA. The agent, under
# Wine with its own prefix (WINEPREFIX, default /tmp/win/wineprefix-test-fleet):
#   - discovers the whole /24 at once (~254 sockets in one select(): more than Windows'
#     FD_SETSIZE of 64; net-snmp's large fd sets grow past it) and finds every printer;
#   - polls them, and `status` shows their supplies;
#   - refuses to enrol when the CA file does not match the central's certificate (OpenSSL
#     checks it; curl's Schannel did not under Wine), then enrols with the right CA file;
#   - uploads, and `asr-central devices --format json` has every printer with as many
#     readings as the agent sent;
#   - takes a remote configuration change made at the central (issue 17): `config fetch`
#     applies it (its pass phrase written beside the database) and `config show` has the
#     central's values, never the secrets.
# Paths given to the agent are Windows paths (Z:\..., Wine's drive for /). Only the exit status's being
# zero or not is checked (Wine's non-zero codes differ). Exit 0 pass, 1 fail, 77 skip.
# Everything started here (snmpsimd, asr-central, wineserver) is stopped on exit.

top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
WIN_BUILD=$(cd "${1:-${WIN_BUILD:-.}}" 2>/dev/null && pwd) || WIN_BUILD=/nonexistent
NATIVE_BUILD=$(cd "${2:-${NATIVE_BUILD:-$top_srcdir/_build-gcc}}" 2>/dev/null && pwd) ||
  NATIVE_BUILD=/nonexistent
EXE=$WIN_BUILD/asr-agent.exe
ASR_CENTRAL=$NATIVE_BUILD/asr-central
top_builddir=$NATIVE_BUILD
export top_srcdir top_builddir ASR_CENTRAL
PATH=/usr/lib/wine:$PATH
WINEPREFIX=${WINEPREFIX:-/tmp/win/wineprefix-test-fleet}
WINEDEBUG=${WINEDEBUG:--all}
export PATH WINEPREFIX WINEDEBUG

NET=127.63.0   # the printers: .1-.254
CENTRAL=127.63.1.1
COUNT=254

# lib.sh and uplinklib.sh: checks, certificates, the central (ASR_AGENT set below)
ASR_AGENT=/nonexistent
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init win-fleet
FLEET=$TMPD/fleet
fleet_cleanup()
{
  [ -f "$FLEET/pid" ] && python3 "$top_srcdir/scripts/simfleet" stop "$FLEET" >/dev/null 2>&1
  wineserver -k >/dev/null 2>&1
  uplink_cleanup
  itest_cleanup
}
trap fleet_cleanup EXIT

command -v wine64 >/dev/null 2>&1 || skip "no wine64 (apt-get install wine64)"
[ -f "$EXE" ] || skip "no $EXE (cross-build first, scripts/win/README.md)"
need_cmd openssl python3 snmpsimd
need_central

# the agent under Wine: a wrapper, so that lib.sh's helpers run it like the native one
ASR_AGENT=$TMPD/asr-agent
printf '#!/bin/sh\nexec wine64 "%s" "$@"\n' "$EXE" >"$ASR_AGENT"
chmod 755 "$ASR_AGENT"
[ -d "$WINEPREFIX" ] || wine64 wineboot -i >/dev/null 2>&1
# winpath PATH: the Windows form of an absolute Unix path (Wine maps drive Z: to /)
winpath() { printf 'Z:%s\n' "$1" | tr / '\\'; }
ASR_AGENT_DB=$(winpath "$DB")
export ASR_AGENT_DB
O=$TMPD/out
E=$TMPD/err

# a free port on ADDR (UDP or TCP), for the simulator and the central
free_port()
{
  python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[2] == "udp" else socket.SOCK_STREAM)
s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1" "$2"
}

SIM_PORT=$(free_port $NET.1 udp)
python3 "$top_srcdir/scripts/simfleet" start "$FLEET" --recordings "$RECDIR" \
  --devices colour_laser,mono_laser,inkjet,mfp_waste,quirk_brother,quirk_canon \
  --count $COUNT --base $NET.1 --port "$SIM_PORT" --unique --processes 2 >"$TMPD/fleet.log" 2>&1 ||
  { show "$TMPD/fleet.log"; exit 99; }
tls_ca ca
tls_ca other
tls_cert ca srv "IP:$CENTRAL"
central_start $CENTRAL "$(free_port $CENTRAL tcp)" srv
site_add winfleet
OPTS="--timeout 2000 --retries 1"

# --- discovery of a /24 with every host in flight at once: every printer found -----------
t0=$(now_ms)
run "$O.d" "$E.d" "$ASR_AGENT" discover --port "$SIM_PORT" --concurrency 256 $OPTS --format json $NET.0/24
t1=$(now_ms)
check "discover $NET.0/24 under Wine: exit 0" test "$RC" = 0
jcheck "254 scanned, 254 printers, 254 devices" "$O.d" \
  'd["scanned"] == 254 and d["printers"] == 254 and len(d["devices"]) == 254'
jcheck "every printer's serial (simfleet's map)" "$O.d" \
  'sorted(x["serial"] for x in d["devices"]) == sorted(l.split("\t")[3].strip() for l in open("'"$FLEET/map.tsv"'").readlines()[1:])'
if grep -qi 'select' "$E.d"; then not_ok "no select() error" && show "$E.d"; else ok "no select() error"; fi
echo "# discovery of $COUNT printers under Wine: $((t1 - t0)) ms"

# --- polls -------------------------------------------------------------------------------
sleep 1 # a reading is unique per device and second
run "$O.p" "$E.p" "$ASR_AGENT" poll $OPTS
check "poll: exit 0" test "$RC" = 0
[ "$RC" = 0 ] || show "$E.p"
agent_status "$O.s"
check "status --format json: exit 0" test "$RC" = 0
jcheck "status: 254 devices, each with supplies and 2 readings" "$O.s" \
  'len(d["devices"]) == 254 and all(x["supplies"] and x["readings"] == 2 for x in d["devices"])'

# --- enrolment: a wrong CA refused, the right one accepted --------------------------------
run "$O.e1" "$E.e1" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$(winpath "$TMPD/tls/other.pem")"
check "enroll with another CA's file: refused (non-zero exit)" test "$RC" != 0
if ! grep -Eqi 'certificate|ssl|tls|verif' "$E.e1"; then
  # once seen under a loaded CI machine: a first refusal for another reason (printed here);
  # the certificate problem must be named when the exchange gets that far
  echo "# first refusal (exit $RC): $(head -c 400 "$E.e1" | tr '\n' ' ')"
  run "$O.e1" "$E.e1" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
    --ca-file "$(winpath "$TMPD/tls/other.pem")"
fi
check "the refusal names the certificate problem" grep -Eqi 'certificate|ssl|tls|verif' "$E.e1"
grep -Eqi 'certificate|ssl|tls|verif' "$E.e1" || echo "# refusal (exit $RC): $(head -c 400 "$E.e1" | tr '\n' ' ')"
run "$O.e" "$E.e" "$ASR_AGENT" enroll --endpoint "$CENTRAL_URL" --site-token "$SITE_TOKEN" \
  --ca-file "$(winpath "$TMPD/tls/ca.pem")"
check "enroll with the central's CA file: exit 0" test "$RC" = 0
[ "$RC" = 0 ] || show "$E.e"

# --- upload, and the readings at the central -----------------------------------------------
run "$O.u" "$E.u" "$ASR_AGENT" upload --max-wait 60
check "upload: exit 0" test "$RC" = 0
[ "$RC" = 0 ] || show "$E.u"
agent_status "$O.as"
central_devices "$O.cd"
check "asr-central devices --format json: exit 0" test "$RC" = 0
jcheck "254 devices at the central, site winfleet, with supplies" "$O.cd" \
  'len(d["devices"]) == 254 and all(x["site"] == "winfleet" and x["supplies"] for x in d["devices"])'
check "central readings = agent readings, per device" readings_match "$O.as" "$O.cd"
jcheck "nothing pending at the agent" "$O.as" \
  'd["uplink"]["pending_batches"] == 0 and d["uplink"]["pending_readings"] == 0'

# --- a remote configuration change reaches the agent under Wine (issue 17) ----------------
CONF=$TMPD/agent.conf
printf 'database %s\nscan_targets %s\n' "$ASR_AGENT_DB" "$NET.1" >"$CONF"
printf 'public win-s3cret\nauthpass-w1n\n' >"$TMPD/secrets.in"
run "$O.sc" "$E.sc" "$ASR_CENTRAL" site config winfleet --db "$CENTRAL_DB" --by wine-test \
  --set "scan_targets=$NET.1-20" --set poll_interval=30m --set community=- --set v3_user=ops \
  --set v3_auth_proto=SHA --set v3_auth_pass=- <"$TMPD/secrets.in"
check "site config: a change at the central (exit 0)" test "$RC" = 0
[ "$RC" = 0 ] || show "$E.sc"
run "$O.cf" "$E.cf" "$ASR_AGENT" config fetch --config "$(winpath "$CONF")"
check "config fetch under Wine: applied (exit 0)" grep -q "new version of the central applied" "$O.cf"
[ "$RC" = 0 ] || show "$E.cf"
check "the remote configuration and its pass phrase are kept beside the database" \
  test -s "$TMPD/remote-config.json" -a -s "$TMPD/remote-secrets"
run "$O.cs" "$E.cs" "$ASR_AGENT" config show --config "$(winpath "$CONF")"
check "config show: the central's range and poll interval" sh -c \
  "grep -q '^scan_targets *$NET.1-20 *central' '$O.cs' && grep -q '^poll_interval *30m *central' '$O.cs'"
check "config show: the pass phrase and communities set, never shown" sh -c \
  "grep -q '^v3_auth_pass *(set) *central' '$O.cs' && grep -q '^community *(2 set) *central' '$O.cs' && ! grep -q -e authpass-w1n -e win-s3cret '$O.cs' '$E.cs' '$E.cf'"
run "$O.sa" "$E.sa" "$ASR_CENTRAL" site config winfleet --db "$CENTRAL_DB" --show --format json
jcheck "the central sees the version applied" "$O.sa" 'd["agents"][0]["applied"] == d["version"] == 1'
finish
