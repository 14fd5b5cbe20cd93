#!/bin/sh
# test_page.sh: the supplies status page of asr-central (issue 6, section 3). A real
# `asr-central serve` (HTTP and HTTPS on the same database) is fed over HTTP by a signed
# batch of 90 days of a simulated site: a colour laser with a supply due, one amber and a
# cartridge replacement; a device with hostile strings; a silent, a disconnected, a
# high-usage and a brand-new device. curl fetches /, /sites/NAME and /api/sites/NAME and
# checks their content, escaping, 404/400/405 and hostile paths as a signed-in staff member
# (the portal, issue 14: a session cookie, or an API token for /api); headless Chromium
# (tests/integration/cdp_shot.py: signed in over HTTPS) renders /sites/NAME (its DOM checked)
# and saves a screenshot as a test artifact:
#   $top_builddir/tests/artifacts/page-site.png (and page-index.png)
# Chromium is kept off the network: a dead proxy on loopback for everything but loopback,
# a host resolver that resolves nothing, and background services off.
# Addresses 127.58.6.x, ports 18770-18779.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
uplink_init page
need_cmd openssl python3 curl
need_central
O="$TMPD/out"
A=127.58.6.1
HTTP="http://$A:18770"
HTTPS_PORT=18771
SITE="Acme West & Co"
SITE_URL="Acme%20West%20%26%20Co"
ART="$top_builddir/tests/artifacts"
mkdir -p "$ART"

tls_ca ca
tls_cert ca srv "IP:$A"
SITE_TOKEN=$("$ASR_CENTRAL" site add "$SITE" --contact "supplies@acme.example" \
  --address "1 Harbour Road" --db "$CENTRAL_DB" 2>"$O.site.err" | grep -o 'st_[0-9a-f]\{32\}')
[ -n "$SITE_TOKEN" ] || { show "$O.site.err"; exit 99; }
"$ASR_CENTRAL" site add "<b>Empty</b> site" --contact "x@example" --db "$CENTRAL_DB" \
  >/dev/null 2>&1 || exit 99
# the engine runs on demand below (replenish --now), after the batch
CENTRAL_OPTS=--no-replenish
central_start $A 18770
HTTP_PID=$CENTRAL_PID
central_start $A $HTTPS_PORT srv

python3 "$ASRLOAD" enroll "$HTTP" "$SITE_TOKEN" >"$O.enroll" 2>"$O.enroll.err"
AG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_id"])' "$O.enroll" 2>/dev/null)
SEC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$O.enroll" 2>/dev/null)
[ -n "$AG" ] && [ -n "$SEC" ] || { show "$O.enroll.err"; exit 99; }

# The fleet: one reading a day for 90 days (k days ago), levels in percent.
NOW=$(date +%s)
python3 - "$AG" "$NOW" >"$TMPD/batch.json" <<'EOF'
import json, sys
agent, now = sys.argv[1], int(sys.argv[2])

def sup(i, desc, typ, col, klass='consumed'):
    return {'index': i, 'description': desc, 'part_number': 'P%d' % i, 'type': typ,
            'class': klass, 'colorant': col, 'unit': 'percent'}

def dev(serial, model, vendor, ip, supplies):
    return {'key': 'serial:' + serial, 'serial': serial, 'mac': '02:58:06:00:00:%02x' % len(devs),
            'ip': ip, 'vendor': vendor, 'model': model, 'sys_object_id': '1.3.6.1.4.1.99999.2',
            'status': {'printer': 'idle', 'errors': []}, 'state': 'active',
            'state_since': now - 90 * 86400, 'last_good_poll': now, 'failed_polls': 0,
            'supplies': supplies}

def magenta(k):  # 1.5 points a day, replaced 40 days ago
    return 100 - 1.5 * (89 - k) if k > 40 else 100 - 1.5 * (40 - k)

def hot(k):  # a cartridge every 3 days (40 points a day): high usage
    return 100 - 40 * ((89 - k) % 3)

devs, rds = [], []
colour = [sup(1, 'Black Toner', 'toner', 'black'), sup(2, 'Cyan Toner', 'toner', 'cyan'),
          sup(3, 'Magenta Toner', 'toner', 'magenta'), sup(4, 'Yellow Toner', 'toner', 'yellow'),
          sup(5, 'Waste Toner Box', 'wasteToner', '', 'receptacle'),
          sup(6, 'Drum Unit', 'opc', '')]
plan = [
    ('LAB-0001', 'ColorJet 4500', 'Acme', '192.0.2.11', colour, range(89, -1, -1),
     lambda k: [10 + k, 80 - 0.3 * (89 - k), magenta(k), None, 90 - 0.2 * (89 - k), 70]),
    ('"><script>alert(\'pwn\')</script>', '<img src=x onerror=alert(1)>', 'Evil\u202eCorp',
     '192.0.2.12', [sup(1, '</td><b>Bold</b>', 'toner', 'black')], range(89, -1, -1),
     lambda k: [90 - 0.5 * (89 - k)]),
    ('SIL-0003', 'MonoJet 200', 'Acme', '192.0.2.13', [sup(1, 'Black Toner', 'toner', 'black')],
     range(89, 2, -1), lambda k: [95 - 0.5 * (89 - k)]),
    ('DIS-0004', 'MonoJet 200', 'Acme', '192.0.2.14', [sup(1, 'Black Toner', 'toner', 'black')],
     range(89, 9, -1), lambda k: [60 - 0.4 * (89 - k)]),
    ('HOT-0005', 'PressLine 9000', 'Acme', '192.0.2.15', [sup(1, 'Black Toner', 'toner', 'black')],
     range(89, -1, -1), lambda k: [hot(k)]),
    ('NEW-0006', 'MonoJet 300', 'Acme', '192.0.2.16', [sup(1, 'Black Toner', 'toner', 'black')],
     range(0, -1, -1), lambda k: [70]),
]
for serial, model, vendor, ip, supplies, days, levels in plan:
    d = len(devs)
    devs.append(dev(serial, model, vendor, ip, supplies))
    for k in days:
        lv = []
        for s, p in zip(supplies, levels(k)):
            p = None if p is None else max(0, min(100, round(p)))
            lv.append([s['index'], -2 if p is None else p, 100, p])
        rds.append({'device': d, 't': now - k * 86400 - 60, 'page_count': 1000 + 50 * (89 - k),
                    'levels': lv})
rds.sort(key=lambda r: r['t'])
json.dump({'protocol': 1, 'batch_id': agent + '-0000000001', 'agent_id': agent,
           'agent_version': '0.1.0', 'created_at': now, 'devices': devs, 'readings': rds,
           'events': []}, sys.stdout)
EOF
python3 "$ASRLOAD" send "$HTTP" --agent "$AG" --secret "$SEC" --json "$TMPD/batch.json" --gzip \
  >"$O.send" 2>&1
jcheck "a signed batch of 90 days for 6 devices is stored" "$O.send" \
  'd["status"] == 200 and d["body"]["status"] == "stored"'

# A staff member's session (the pages are the portal's: asr-central staff, sign-in form).
printf 'page test password\n' >"$TMPD/pw" && chmod 600 "$TMPD/pw"
"$ASR_CENTRAL" staff add ops --password-file "$TMPD/pw" --db "$CENTRAL_DB" >/dev/null 2>&1 || exit 99
curl -sS -D "$O.pre.h" -o /dev/null "$HTTP/signin"
PRE=$(grep -io '^set-cookie: __Host-asr_pre=[0-9a-f]*' "$O.pre.h" | sed 's/.*=//')
curl -sS -D "$O.in.h" -o /dev/null -H "Cookie: __Host-asr_pre=$PRE" \
  --data "csrf=$PRE&name=ops&password=page+test+password" "$HTTP/signin/staff"
SID=$(grep -io '^set-cookie: __Host-asr_session=[0-9a-f]*' "$O.in.h" | sed 's/.*=//')
[ -n "$SID" ] || { show "$O.in.h"; exit 99; }

# get NAME URL [CURL ARGS...]: the answer's body in O.NAME, headers in O.NAME.h, status in CODE
get()
{
  _n=$1
  _u=$2
  shift 2
  CODE=$(curl -sS --max-time 20 -o "$O.$_n" -D "$O.$_n.h" -w '%{http_code}' \
    -H "Cookie: __Host-asr_session=$SID" "$@" "$_u" 2>"$O.$_n.err")
}
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$HTTP/sites/$SITE_URL")
check "without a session: a redirection to the sign-in page ($CODE)" test "$CODE" = 303

# The index.
get index "$HTTP/"
check "GET / -> 200" test "$CODE" = 200
check "GET / is HTML (UTF-8)" grep -qi '^content-type: text/html; charset=utf-8' "$O.index.h"
check "GET / forbids scripts and outside assets (CSP)" \
  grep -qi "^content-security-policy: default-src 'none'" "$O.index.h"
check "GET / links the site, URL-encoded" grep -q "href=\"/sites/$SITE_URL\">Acme West &amp; Co</a>" "$O.index"
check "GET / shows the other site escaped" grep -q '&lt;b&gt;Empty&lt;/b&gt; site' "$O.index"
check "GET / counts 6 devices" grep -q '<b>6</b>devices' "$O.index"
get apiindex "$HTTP/api/sites"
jcheck "GET /api/sites: both sites, device counts by state" "$O.apiindex" \
  'sorted(s["name"] for s in d["sites"]) == ["<b>Empty</b> site", "Acme West & Co"] and [(s["devices"], s["active"], s["silent"], s["disconnected"]) for s in d["sites"] if s["name"].startswith("Acme")] == [(6, 4, 1, 1)]'

# The site's page.
get site "$HTTP/sites/$SITE_URL"
check "GET /sites/NAME -> 200" test "$CODE" = 200
for s in LAB-0001 SIL-0003 DIS-0004 HOT-0005 NEW-0006 ColorJet 192.0.2.11 "Magenta Toner" \
  "Waste Toner Box" supplies@acme.example "1 Harbour Road"; do
  check "site page shows $s" grep -q "$s" "$O.site"
done
check "site page: 6 device cards" test "$(grep -o '<section class="card device"' "$O.site" | wc -l)" = 6
check "site page: 11 supplies, each with a chart" test "$(grep -o '<svg class="chart"' "$O.site" | wc -l)" = 11
check "site page: the hostile serial escaped" grep -q '&quot;&gt;&lt;script&gt;alert(&#39;pwn&#39;)&lt;/script&gt;' "$O.site"
check "site page: the hostile model escaped" grep -q '&lt;img src=x onerror=alert(1)&gt;' "$O.site"
check "site page: the bidi override replaced" grep -q 'Evil�Corp' "$O.site"
check "site page: no markup from the printers" sh -c '! grep -qi "<script\|<img\|<b>Bold" "$1"' _ "$O.site"
for b in '"badge b-active">active' '"badge b-silent">silent' '"badge b-disconnected">disconnected' \
  '"badge b-noteligible">not eligible'; do
  check "site page: state badge $b" grep -q "$b" "$O.site"
done
check "site page: the black toner at 10% is red and due" grep -q 'class="fill-crit w10"' "$O.site"
check "site page: no inline style (the CSP allows the stylesheet only)" sh -c '! grep -q "style=" "$1"' _ "$O.site"
check "site page: a supply due now" grep -q 'class="due">due now' "$O.site"
check "site page: an unknown level (yellow) is hatched" grep -q 'class="fill-unknown w' "$O.site"
check "site page: the new device's one reading is a dot" grep -q '<circle class=' "$O.site"
check "site page: 90-day lines" grep -q '<polyline class="ln-' "$O.site"
check "site page: no open orders yet" grep -q 'No open orders.' "$O.site"

get api "$HTTP/api/sites/$SITE_URL"
check "GET /api/sites/NAME -> 200 JSON" grep -qi '^content-type: application/json' "$O.api.h"
jcheck "api: the site, 6 devices, the hostile serial as sent" "$O.api" \
  'd["site"]["name"] == "Acme West & Co" and len(d["devices"]) == 6 and any(x["serial"] == "\"><script>alert(\x27pwn\x27)</script>" for x in d["devices"])'
jcheck "api: states active, silent, disconnected, not eligible, no usage rate yet" "$O.api" \
  '{x["serial"]: x["state"] for x in d["devices"] if x["serial"][0] != "\""} == {"LAB-0001": "active", "SIL-0003": "silent", "DIS-0004": "disconnected", "HOT-0005": "not eligible", "NEW-0006": "no usage rate"}'
jcheck "api: the new device says how many more days of reports it needs" "$O.api" \
  '(lambda x: x["no_rate_days"] >= 1 and x["state_text"].startswith("no usage rate yet (") and sup(x, 1)["state"] == "no usage rate")(dev_by(d["devices"], "serial", "NEW-0006"))'
jcheck "api: black toner of LAB-0001: 10%, ~10 days left, order due, 90 days of history" "$O.api" \
  '(lambda s: s["percent"] == 10 and 8 <= s["days_left"] <= 12 and s["order_due"] and len(s["history"]) == 90 and s["history"][-1][1] == 10)(sup(dev_by(d["devices"], "serial", "LAB-0001"), 1))'
jcheck "api: magenta after its replacement: ~27 days left, ordered within a week" "$O.api" \
  '(lambda s: s["percent"] == 40 and 22 <= s["days_left"] <= 32 and not s["order_due"] and s["order_date"] is not None)(sup(dev_by(d["devices"], "serial", "LAB-0001"), 3))'
jcheck "api: yellow without a level, drum not ordered, new device without a forecast" "$O.api" \
  'sup(dev_by(d["devices"], "serial", "LAB-0001"), 4)["percent"] is None and not sup(dev_by(d["devices"], "serial", "LAB-0001"), 6)["eligible"] and sup(dev_by(d["devices"], "serial", "NEW-0006"), 1)["days_left"] is None and len(sup(dev_by(d["devices"], "serial", "NEW-0006"), 1)["history"]) == 1'
jcheck "api: no open orders yet" "$O.api" 'd["orders"] == []'

# The engine's day: an order for LAB-0001 (its black toner due, magenta consolidated).
run "$O.rp" "$O.rp.err" "$ASR_CENTRAL" replenish --now --db "$CENTRAL_DB"
check_status "asr-central replenish --now" 0 "$RC"
get api2 "$HTTP/api/sites/$SITE_URL"
jcheck "api: one open order, created, with LAB-0001's black and magenta toners" "$O.api2" \
  'len(d["orders"]) == 1 and d["orders"][0]["state"] == "created" and {(l["serial"], l["supply_index"]) for l in d["orders"][0]["lines"]} >= {("LAB-0001", 1), ("LAB-0001", 3)}'
jcheck "api: the ordered black toner is in stock and no longer due" "$O.api2" \
  '(lambda s: s["stock"] >= 1 and not s["order_due"])(sup(dev_by(d["devices"], "serial", "LAB-0001"), 1))'
jcheck "api: no order for the disconnected, high-usage or hostile devices" "$O.api2" \
  'not any(l["serial"] != "LAB-0001" for l in d["orders"][0]["lines"])'
OID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orders"][0]["id"])' "$O.api2" 2>/dev/null)
run "$O.ship" "$O.ship.err" "$ASR_CENTRAL" order ship "${OID:-0}" --db "$CENTRAL_DB"
check_status "asr-central order ship $OID" 0 "$RC"
get site2 "$HTTP/sites/$SITE_URL"
check "site page: the order, shipped" grep -q "#$OID</td><td><span class=\"badge b-order\">shipped</span>" "$O.site2"
check "site page: its lines name the device" grep -q '× Black Toner <span class="mute">for</span> <span class="serial sm">LAB-0001' "$O.site2"
check "site page: the stock balance shows (on the shelf, on the way)" \
  grep -q '0 on the shelf, [1-9][0-9]* on the way</div>' "$O.site2"
check "site page: the ordered supply says when its delivery is expected" \
  grep -q "next delivery expected [0-9-]* (order $OID)" "$O.site2"
get api3 "$HTTP/api/sites/$SITE_URL"
jcheck "api: its state is ordered, with the next delivery and the stock balance" "$O.api3" \
  '(lambda s: s["state"] == "ordered" and s["next_delivery"] and s["shelf"] == 0 and s["in_transit"] >= 1)(sup(dev_by(d["devices"], "serial", "LAB-0001"), 1))'
jcheck "api: one state per device, in words" "$O.api3" \
  'all(x["state_text"] for x in d["devices"])'

# Unknown sites, malformed and hostile paths, methods.
get nosite "$HTTP/sites/nosuchsite"
check "GET /sites/unknown -> 404" test "$CODE" = 404
get noapi "$HTTP/api/sites/nosuchsite"
jcheck "GET /api/sites/unknown -> 404 JSON error" "$O.noapi" '"error" in d'
check "... status 404" test "$CODE" = 404
get badesc "$HTTP/sites/a%zz"
check "a malformed %-escape -> 400" test "$CODE" = 400
get nul "$HTTP/sites/Acme%00West"
check "an encoded NUL -> 400" test "$CODE" = 400
get long "$HTTP/sites/$(python3 -c 'print("%41" * 3000)')"
check "a 3000-byte site name -> 404" test "$CODE" = 404
get slash "$HTTP/sites/Acme/West"
check "a raw slash in the name -> 404" test "$CODE" = 404
get empty "$HTTP/sites/"
check "an empty site name -> 404" test "$CODE" = 404
get post "$HTTP/sites/$SITE_URL" -X POST -d x=1
check "POST /sites/NAME -> 405" test "$CODE" = 405
check "... Allow: GET, HEAD" grep -qi '^allow: GET, HEAD' "$O.post.h"
get head "$HTTP/sites/$SITE_URL" -I
check "HEAD /sites/NAME -> 200, headers only" sh -c \
  '[ "$1" = 200 ] && grep -qi "^content-length: [1-9]" "$2" && ! grep -q DOCTYPE "$2"' _ "$CODE" "$O.head"
python3 - "$A" 18770 "$SID" >"$O.raw" 2>&1 <<'EOF'
import socket, sys
paths = [b'/sites/\xff\xfe\x00x', b'/sites/%C3%28%E2%80%AE', b'/sites/\x1b[31m', b'/api/sites/' + b'%' * 500,
         b'/sites/..%2F..%2Fetc%2Fpasswd', b'/sites/' + b'\xc3' * 2000]
codes = []
for p in paths:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 10)
    s.sendall(b'GET ' + p + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: __Host-asr_session='
              + sys.argv[3].encode() + b'\r\n\r\n')
    data = b''
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    codes.append(data.split(b' ', 2)[1].decode() if data.startswith(b'HTTP/1.') else 'none')
print(' '.join(codes))
EOF
check "hostile raw paths are answered with 4xx: $(cat "$O.raw")" \
  python3 -c 'import sys; c = open(sys.argv[1]).read().split(); sys.exit(not (len(c) == 6 and all(x[0] == "4" for x in c)))' "$O.raw"
get after "$HTTP/sites/$SITE_URL"
check "the server still answers after them" test "$CODE" = 200
check "the HTTP central is still running" kill -0 "$HTTP_PID"

# The same page over HTTPS.
get tls "https://$A:$HTTPS_PORT/sites/$SITE_URL" --cacert "$TMPD/tls/ca.pem"
check "GET /sites/NAME over HTTPS -> 200, the same devices" sh -c \
  '[ "$1" = 200 ] && [ "$(grep -o "<section class=\"card device\"" "$2" | wc -l)" = 6 ]' _ "$CODE" "$O.tls"

# Headless Chromium: the rendered DOM and a screenshot, signed in over HTTPS (the portal's
# cookies are Secure).
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] || ! /usr/bin/python3 -c 'import websocket' 2>/dev/null; then
  not_ok "chromium and python3-websocket not installed (scripts/deps.sh test): no rendering checked"
  finish
fi
rm -f "$ART/page-site.png" "$ART/page-index.png"
SPKI=$(openssl x509 -in "$TMPD/tls/srv.pem" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)
HTTPS="https://$A:$HTTPS_PORT"
timeout 180 /usr/bin/python3 "$top_srcdir/tests/integration/cdp_shot.py" --chromium "$CHROMIUM" \
  --tmp "$TMPD" --allow "$A" --spki "$SPKI" --base "$HTTPS" --staff ops --password-file "$TMPD/pw" \
  --shot "$HTTPS/sites/$SITE_URL" "$O.dom" "$ART/page-site.png" 1280 1600 \
  --shot "$HTTPS/" "$O.dom2" "$ART/page-index.png" 1280 700 >"$O.shot" 2>&1
RC=$?
check_status "chromium (DevTools protocol): signed in, the site and the index rendered" 0 "$RC"
[ "$RC" = 0 ] || show "$O.shot"
check "DOM: 6 device cards" test "$(grep -o '<section class="card device"' "$O.dom" | wc -l)" = 6
check "DOM: 11 charts" test "$(grep -o '<svg class="chart"' "$O.dom" | wc -l)" = 11
check "DOM: the site's title" grep -q '<h1>Acme West &amp; Co</h1>' "$O.dom"
check "DOM: the hostile serial is text, not a script" grep -q '&lt;script&gt;alert' "$O.dom"
check "DOM: no script, img or injected element" sh -c '! grep -qi "<script\|<img\|<b>Bold" "$1"' _ "$O.dom"
check "DOM: badges, held orders, the shipped order" sh -c \
  'grep -q "not eligible" "$1" && grep -q "on hold (high usage)" "$1" && grep -q ">shipped<" "$1"' _ "$O.dom"
# png_ok FILE WIDTH HEIGHT: a PNG of that size with more than a few colours (not blank)
png_ok()
{
  python3 - "$@" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', data[16:24])
idat, pos = b'', 8
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'IDAT':
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
print('# %s: %dx%d, %d bytes' % (sys.argv[1], w, h, len(data)))
sys.exit(0 if (w, h) == (int(sys.argv[2]), int(sys.argv[3])) and len(set(raw)) > 50 else 1)
EOF
}
check "screenshot $ART/page-site.png: 1280x1600, not blank" png_ok "$ART/page-site.png" 1280 1600
check "screenshot $ART/page-index.png: 1280x700, not blank" png_ok "$ART/page-index.png" 1280 700
echo "# screenshots: $ART/page-site.png $ART/page-index.png"
finish
