#!/bin/sh
# bench_signin.sh: does the answer to "mail me a sign-in link" (POST /signin/email) take
# longer for a supplies contact's address than for an unknown one? asr-central serve over
# HTTPS, one site with BENCH_KNOWN contacts (default 40); the same number of unknown
# addresses. The requests alternate known, unknown, and a reference (GET /signin: the same
# page, no store write), each address once, each from its own loopback address (so that
# neither throttle counts them together), each timed on an open connection, from the request
# to the answer's last byte. Prints, for each kind: median, 90th percentile (ms), and the
# ratios known/unknown and unknown/reference of the medians. A ratio near 1.0 for known/
# unknown is the goal (docs/portal.md, "Sign-in timing"): the lookup, the link and its mail
# come after the answer. With BENCH_ROUNDS (default 3) rounds, each on new addresses.
# Usage: sh bench/bench_signin.sh [ASR_CENTRAL]   (from the build dir)
# Addresses 127.55.0.1 (central, port 18720), 127.55.1-3.x (clients).
# This is a benchmark, not a test: it exits 0 unless something could not run.

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
[ -n "${1:-}" ] && ASR_CENTRAL=$1
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init bench_signin
need_cmd openssl python3
need_central
A=127.55.0.1
KNOWN=${BENCH_KNOWN:-40}
ROUNDS=${BENCH_ROUNDS:-3}
CA="$TMPD/tls/ca.pem"
CENTRAL_DB="$TMPD/central.db"

tls_ca ca
tls_cert ca srv "IP:$A"
"$ASR_CENTRAL" site add bench --contact "k0-0@known.example" --db "$CENTRAL_DB" >/dev/null 2>&1 || exit 1
r=0
while [ $r -lt "$ROUNDS" ]; do
  i=0
  while [ $i -lt "$KNOWN" ]; do
    [ $r -eq 0 ] && [ $i -eq 0 ] || "$ASR_CENTRAL" contact add bench --email "k$r-$i@known.example" \
      --db "$CENTRAL_DB" >/dev/null 2>&1 || exit 1
    i=$((i + 1))
  done
  r=$((r + 1))
done
CENTRAL_OPTS="--no-replenish" central_start $A 18720 srv

python3 - "https://$A:18720" "$CA" "$KNOWN" "$ROUNDS" <<'EOF' || exit 1
import http.client, random, re, ssl, statistics, sys, time
base, ca, known, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host, port = base[8:].split(":")
ctx = ssl.create_default_context(cafile=ca)

def conn(src):
    c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30,
                                    source_address=(src, 0))
    c.connect()
    return c

def timed(c, method, path, body=None, headers=None):
    t = time.perf_counter()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    r.read()
    return (time.perf_counter() - t) * 1000, r

times = {"known": [], "unknown": [], "reference": []}
n = 0
for rnd in range(rounds):
    for i in range(known):
        for kind in random.Random(rnd * 1000 + i).sample(["known", "unknown", "reference"], 3):
            n += 1
            src = "127.55.%d.%d" % (1 + n // 250, 1 + n % 250)
            c = conn(src)
            _, r = timed(c, "GET", "/signin")
            pre = re.search(r"__Host-asr_pre=([0-9a-f]{64})", r.getheader("Set-Cookie") or "")
            if not pre:
                sys.exit("no pre-session cookie")
            pre = pre.group(1)
            addr = ("k%d-%d@known.example" if kind == "known" else "u%d-%d@nowhere.example") \
                % (rnd, i)
            if kind == "reference":
                ms, r = timed(c, "GET", "/signin")
            else:
                ms, r = timed(c, "POST", "/signin/email", "csrf=%s&email=%s" % (pre, addr),
                              {"Cookie": "__Host-asr_pre=" + pre, "Origin": base,
                               "Content-Type": "application/x-www-form-urlencoded"})
            if r.status != 200:
                sys.exit("%s: answered %d" % (kind, r.status))
            times[kind].append(ms)
            c.close()

def p90(v):
    return sorted(v)[max(0, int(len(v) * 0.9) - 1)]

med = {k: statistics.median(v) for k, v in times.items()}
for k, v in times.items():
    print("%-10s n=%-4d median %7.2f ms   p90 %7.2f ms" % (k, len(v), med[k], p90(v)))
print("ratio known/unknown (medians)     %.2f   (goal: about 1.0)" % (med["known"] / med["unknown"]))
print("ratio unknown/reference (medians) %.2f   (the throttle's two rows and the page)"
      % (med["unknown"] / med["reference"]))
EOF
central_stop
echo "# sign-in links made after the answers (one per known address): $(sqlite3 "$CENTRAL_DB" 'select count(*) from portal_links' 2>/dev/null)"
exit 0
