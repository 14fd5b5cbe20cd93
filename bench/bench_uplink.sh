#!/bin/sh
# bench_uplink.sh: a day of a 10,000-printer site (10,000 devices x 6 readings = 60,000
# readings, 5 supplies each) through the uplink. Prints:
#   build    seconds for `asr-agent upload` to build, compress and hand over the batch (a
#            faultserver.py stand-in answers 200 at once and keeps the body)    goal < 2 s
#   size     the compressed batch                                               goal < 1 MB
#   commit   seconds for asr-central to verify, inflate, check and commit that body,
#            posted signed by tests/load/asrload.py                              goal < 3 s
#   memory   asr-central's peak resident size (VmHWM) after the commit   goal < 384 MiB
# and peers measured here on the same data: the same JSON uncompressed (size ratio), a
# naive Python build of the same batch from the same database (json.dumps + gzip), and
# the central acknowledging the same batch again (a duplicate: verified, parsed, not stored).
# (The uncompressed JSON, ~19 MB, is over the central's 8 MiB body limit: not posted.)
# Usage: sh bench/bench_uplink.sh [ASR_AGENT [ASR_CENTRAL]]   (from the build dir)
# BENCH_DEVICES / BENCH_READINGS change the size; BENCH_PERCENT_SHARE (default 0.7) is the
# share of printers reporting levels in percent (the rest in units, changing every reading). Addresses 127.54.0.x, ports 18710-18719.
# This is a benchmark, not a test: it exits 0 unless something could not run.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
[ -n "${1:-}" ] && ASR_AGENT=$1
[ -n "${2:-}" ] && ASR_CENTRAL=$2
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init bench_uplink
need_cmd openssl python3
need_agent
need_central
need_enroll
DEVICES=${BENCH_DEVICES:-10000}
PER_DAY=${BENCH_READINGS:-6}
A=127.54.0.1
F=127.54.0.2
CA="$TMPD/tls/ca.pem"

tls_ca ca
tls_cert ca srv "IP:$A"
tls_cert ca front "IP:$F"
central_start $A 18710 srv
site_add bench
fault_start $F 18711 front
"$ASR_AGENT" enroll --endpoint "$FAULT_URL" --site-token "$SITE_TOKEN" --ca-file "$CA" >/dev/null 2>"$TMPD/enroll.err" ||
  { show "$TMPD/enroll.err"; exit 1; }

# the site's day, written straight into the agent's database (store/schema.h)
t=$(now_ms)
python3 - "$DB" "$DEVICES" "$PER_DAY" <<'EOF' || exit 1
import os, random, sqlite3, sys, time
db, ndev, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def varint(v, out):
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return
def zz(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1
def levels(lv):   # [(index, level, max)] -> the readings.levels blob
    out = bytearray([1])
    pi = pm = 0
    for i, l, m in lv:
        same = m == pm
        varint(zz(i - pi) * 2 + (1 if same else 0), out)
        varint(zz(l), out)
        if not same:
            varint(zz(m), out)
        pi, pm = i, m
    return bytes(out)
SUP = [(1, 'Black Toner', 'TK-1K', 3, 3, 'black', 20000), (2, 'Cyan Toner', 'TK-1C', 3, 3, 'cyan', 12000),
       (3, 'Magenta Toner', 'TK-1M', 3, 3, 'magenta', 12000), (4, 'Yellow Toner', 'TK-1Y', 3, 3, 'yellow', 12000),
       (5, 'Drum Unit', 'DR-1', 9, 3, '', 100000)]
rnd = random.Random(42)
PERCENT_SHARE = float(os.environ.get('BENCH_PERCENT_SHARE', '0.7'))
now = int(time.time())
c = sqlite3.connect(db)
c.execute('PRAGMA foreign_keys=ON')
with c:
    for d in range(ndev):
        serial = 'BS%06d' % d
        ip = '127.54.%d.%d' % (1 + d // 250, 1 + d % 250)
        cur = c.execute(
            "INSERT INTO devices (key, serial, mac, ip, sys_object_id, vendor, model, sys_descr,"
            " sys_name, is_printer, community, first_seen, last_seen, last_good_poll,"
            " last_reading_at, printer_status, error_bits, page_count)"
            " VALUES (?,?,?,?,?,?,?,?,?,1,'public',?,?,?,?,3,0,?)",
            ('serial:' + serial, serial, '02:54:%02x:%02x:%02x:%02x' % (d >> 24 & 255, d >> 16 & 255, d >> 8 & 255, d & 255),
             ip, '1.3.6.1.4.1.99999.2', 'Bench', 'Bench Colour 500', 'Bench Colour 500 printer',
             'prn-%d' % d, now - 86400 * 30, now, now, now, 100000 + d))
        dev = cur.lastrowid
        # Most printers report percent (max 100: a level moves a step every few hours);
        # the others report units (a few dozen units less at every reading).
        pct = rnd.random() < PERCENT_SHARE
        mx = [100 if pct else m for (_, _, _, _, _, _, m) in SUP]
        lv = [rnd.randint(5, m) for m in mx]
        pages = rnd.randint(1000, 900000)
        t0 = now - 86400 + rnd.randint(0, 3599)
        for k in range(per):
            if pct:
                lv = [max(0, x - (1 if rnd.random() < 0.15 else 0)) for x in lv]
            else:
                lv = [max(0, x - rnd.randint(0, 40)) for x in lv]
            pages += rnd.randint(0, 300)
            blob = levels([(s[0], lv[j], mx[j]) for j, s in enumerate(SUP)])
            c.execute('INSERT INTO readings (device_id, t, page_count, levels) VALUES (?,?,?,?)',
                      (dev, t0 + k * (86400 // per), pages, blob))
        for j, s in enumerate(SUP):
            c.execute("INSERT INTO supplies (device_id, idx, hr_index, description, part_number,"
                      " type, class, unit, colorant, max_capacity, level, percent, state)"
                      " VALUES (?,?,1,?,?,?,?,?,?,?,?,?,'ok')",
                      (dev, s[0], s[1], s[2], s[3], s[4], 19 if pct else 7, s[5], mx[j], lv[j],
                       lv[j] * 100 // mx[j]))
EOF
echo "# generated $DEVICES devices x $PER_DAY readings in $(($(now_ms) - t)) ms"

# 1. the agent builds and sends the day; the stand-in answers at once and keeps the body
fault_stop
fault_start $F 18711 front --answer 200 --capture "$TMPD/cap"
t0=$(now_ms)
"$ASR_AGENT" upload --max-wait 30 --max-readings 1000000 >/dev/null 2>"$TMPD/upload.err" ||
  { echo "# upload failed:"; show "$TMPD/upload.err"; }
t1=$(now_ms)
fault_stop
set -- "$TMPD"/cap/*.body
[ -f "$1" ] || { echo "bench_uplink: the agent sent no batch"; exit 1; }
BODY=$1
[ -n "${BENCH_KEEP:-}" ] && cp "$BODY" "$BENCH_KEEP"
python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],"rb").read()))' "$BODY" >"$TMPD/raw.json"

# 2. the central commits it (signed with the agent's credential, as the agent would)
CRED=$(agent_secret) || { echo "bench_uplink: no credential in the agent database"; exit 1; }
send_time() # send FILE ENCODING -> "STATUS SECONDS"
{
  # shellcheck disable=SC2086
  python3 "$ASRLOAD" send "$CENTRAL_URL" --ca "$CA" --agent "${CRED% *}" --secret "${CRED#* }" \
    --body "$1" ${2:+--encoding $2} |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["seconds"], d["body"].get("readings") if isinstance(d["body"], dict) else d["body"])'
}
commit=$(send_time "$BODY" gzip)
HWM_KB=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$CENTRAL_PID/status" 2>/dev/null)
# the peer at the central: the same batch again (an idempotent duplicate: checked, not stored)
commit_raw=$(send_time "$BODY" gzip)

# 3. a naive build of the same batch: Python reads the same rows, json.dumps, gzip -6
naive=$(python3 - "$DB" <<'EOF'
import gzip, json, sqlite3, sys, time
t = time.time()
c = sqlite3.connect(sys.argv[1])
def uvar(b, i):
    v = s = 0
    while True:
        x = b[i]; i += 1
        v |= (x & 0x7f) << s; s += 7
        if not x & 0x80:
            return v, i
def unzz(v):
    return (v >> 1) ^ -(v & 1)
def decode(b):
    out, i, pi, pm = [], 1, 0, 0
    while i < len(b):
        h, i = uvar(b, i); l, i = uvar(b, i)
        pi += unzz(h >> 1)
        if not h & 1:
            m, i = uvar(b, i); pm = unzz(m)
        out.append([pi, unzz(l), pm, None])
    return out
devs, idx = [], {}
for row in c.execute('SELECT id, key, serial, mac, ip, vendor, model, sys_object_id FROM devices ORDER BY id'):
    idx[row[0]] = len(devs)
    sup = [{'index': s[0], 'description': s[1], 'part_number': s[2], 'type': s[3], 'colorant': s[4]}
           for s in c.execute('SELECT idx, description, part_number, type, colorant FROM supplies WHERE device_id=?', (row[0],))]
    devs.append({'key': row[1], 'serial': row[2], 'mac': row[3], 'ip': row[4], 'vendor': row[5],
                 'model': row[6], 'sys_object_id': row[7], 'state': 'active', 'supplies': sup})
rd = [{'device': idx[d], 't': t_, 'page_count': p, 'levels': decode(b)}
      for d, t_, p, b in c.execute('SELECT device_id, t, page_count, levels FROM readings ORDER BY t')]
body = gzip.compress(json.dumps({'protocol': 1, 'devices': devs, 'readings': rd, 'events': []}).encode(), 6)
print('%.3f %d' % (time.time() - t, len(body)))
EOF
)

python3 - "$((t1 - t0))" "$(wc -c <"$BODY")" "$(wc -c <"$TMPD/raw.json")" "$commit" "$commit_raw" "$naive" \
  "$DEVICES" "$PER_DAY" "${HWM_KB:-0}" <<'EOF'
import sys
build_ms, gz, raw = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cst, csec, cn = sys.argv[4].split(' ', 2)
rst, rsec, rn = sys.argv[5].split(' ', 2) if sys.argv[5] else ('-', '0', '-')
nsec, ngz = sys.argv[6].split()
n = int(sys.argv[7]) * int(sys.argv[8])
def goal(ok):
    return 'ok' if ok else 'MISSED'
print('bench_uplink: a day of %s printers, %d readings' % (sys.argv[7], n))
print('  build   %6.3f s   agent upload to a stand-in (goal < 2 s: %s); naive Python build %.3f s (x%.1f)'
      % (build_ms / 1000, goal(build_ms < 2000), float(nsec), float(nsec) / max(build_ms / 1000, 1e-3)))
print('  size    %9d bytes gzip (goal < 1 MB: %s); uncompressed JSON %d bytes (ratio %.1f:1); naive gzip %s bytes'
      % (gz, goal(gz < 1000000), raw, raw / max(gz, 1), ngz))
print('  commit  %6.3f s   asr-central, gzip body, HTTP %s, %s readings stored (goal < 3 s: %s)'
      % (float(csec), cst, cn, goal(cst == '200' and float(csec) < 3)))
print('  peer    %6.3f s   asr-central, the same batch again (duplicate), HTTP %s (commit/duplicate x%.1f)'
      % (float(rsec), rst, float(csec) / max(float(rsec), 1e-3)))
hwm = int(sys.argv[9]) * 1024
print('  memory  %6.0f MiB asr-central VmHWM after the commit (goal < 384 MiB, its --batch-memory: %s);'
      ' x%.1f the uncompressed JSON' % (hwm / 2**20, goal(0 < hwm < 384 * 2**20), hwm / max(raw, 1)))
EOF
exit 0
