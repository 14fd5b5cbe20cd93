#!/bin/sh
# test_inspect.sh: `asr-agent inspect` on every recording of tests/recordings: the fields
# each one is about (serial, vendor, percent and state of given supplies, quirks), JSON and
# UTF-8 validity of every output, table output without control characters, and the
# errors: a file that does not parse (exit 3, naming the line), a missing file.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init inspect
need_agent
command -v python3 >/dev/null 2>&1 || skip "python3 missing"

# Every recording: exit 0 (or not a printer for the router), valid JSON, valid UTF-8,
# one object; table output clean.
for f in "$RECDIR"/*.snmprec "$RECDIR"/*.walk; do
  n=$(basename "$f")
  run "$TMPD/$n.json" "$TMPD/$n.err" "$ASR_AGENT" inspect --format json "$f"
  if [ "$RC" = 0 ] || { [ "$n" = hostile_notprinter.snmprec ] && not_crashed "$RC"; }; then
    ok "inspect $n exits $RC"
  else
    not_ok "inspect $n exits $RC"
    show "$TMPD/$n.err"
  fi
  if [ "$n" = hostile_notprinter.snmprec ] && [ ! -s "$TMPD/$n.json" ]; then
    ok "inspect $n: nothing on stdout for a non-printer (exit $RC)"
    rm -f "$TMPD/$n.json"
  else
    check "inspect $n: output is valid UTF-8 JSON" valid_json "$TMPD/$n.json"
  fi
  run "$TMPD/$n.txt" "$TMPD/$n.err2" "$ASR_AGENT" inspect --format table "$f"
  if not_crashed "$RC"; then ok "inspect --format table $n exits $RC"; else not_ok "inspect --format table $n exits $RC"; fi
  check "inspect --format table $n: valid UTF-8, no control characters" no_control "$TMPD/$n.txt"
  check "inspect $n: stderr is valid UTF-8 without control characters" no_control "$TMPD/$n.err"
done

# Field checks, one python expression per line: FILE<TAB>WHAT<TAB>EXPRESSION on d.
# s(i) is supply index i; lc() lower-cases; pct/state read a supply.
python3 - "$TMPD" >"$TMPD/fields.tap" <<'EOF'
import json, sys, os
tmp = sys.argv[1]
checks = r'''
colour_laser	serial	d['serial'] == 'LMC4410X0001'
colour_laser	vendor is HP	lc(d['vendor']) == 'hp'
colour_laser	sys_object_id	d['sys_object_id'] == '1.3.6.1.4.1.11.2.3.9.1'
colour_laser	sys_name	d['sys_name'] == 'clj-finance'
colour_laser	mac from ifPhysAddress	d['mac'] == '02:40:11:00:00:01'
colour_laser	page count (Counter32)	d['page_count'] == 48211
colour_laser	hrPrinterStatus idle	d['status']['printer'] == 'idle'
colour_laser	error bit noToner	d['status']['errors'] == ['noToner']
colour_laser	10 supplies	len(d['supplies']) == 10
colour_laser	black toner 7200/12000 = 60 % ok	s(1)['percent'] == 60 and s(1)['state'] == 'ok'
colour_laser	black toner fields	s(1)['type'] == 'toner' and s(1)['class'] == 'consumed' and s(1)['colorant'] == 'black' and s(1)['unit'] == 'impressions' and s(1)['max'] == 12000 and s(1)['level'] == 7200
colour_laser	black toner description	s(1)['description'] == 'Black Toner Cartridge LT-41B'
colour_laser	magenta 450/8000 is low	s(3)['percent'] in (5, 6) and s(3)['state'] == 'low'
colour_laser	yellow at 0 is empty	s(4)['percent'] == 0 and s(4)['state'] == 'empty'
colour_laser	colorants from the colorant table	[s(i)['colorant'] for i in (1, 2, 3, 4)] == ['black', 'cyan', 'magenta', 'yellow']
colour_laser	waste toner is a filled receptacle	s(5)['type'] == 'wasteToner' and s(5)['class'] == 'filled'
colour_laser	waste toner with space left is ok	s(5)['state'] == 'ok'
colour_laser	drums are opc	all(s(i)['type'] == 'opc' for i in (6, 7, 8, 9))
colour_laser	cyan drum 42000/60000 = 70 %	s(7)['percent'] == 70
colour_laser	fuser 121500/150000 = 81 %	s(10)['type'] == 'fuser' and s(10)['percent'] == 81
colour_laser	no colorant on the fuser	s(10)['colorant'] is None
mono_laser	serial from ENTITY-MIB	d['serial'] == 'OSM220E7731'
mono_laser	vendor Kyocera	'kyocera' in lc(d['vendor'])
mono_laser	Counter64 page count above 2^32	d['page_count'] == 5123456789
mono_laser	printer at hrDeviceIndex 2: status read	d['status']['printer'] == 'idle'
mono_laser	2 supplies	len(d['supplies']) == 2
mono_laser	toner 64 %	s(1)['percent'] == 64 and s(1)['state'] == 'ok' and s(1)['unit'] == 'percent'
mono_laser	drum 8000/100000 = 8 % low	s(2)['percent'] == 8 and s(2)['state'] == 'low'
mono_laser	model from hrDeviceDescr of index 2	'Z220dn' in d['model']
inkjet	serial	d['serial'] == 'PIP750K42QX'
inkjet	vendor Epson	lc(d['vendor']) == 'epson'
inkjet	ink cartridges	all(s(i)['type'] == 'inkCartridge' for i in (1, 2, 3, 4))
inkjet	unit percent with max -2: level is the percent	s(1)['max'] == -2 and s(1)['percent'] == 45 and s(1)['state'] == 'ok'
inkjet	cyan 80 %	s(2)['percent'] == 80
inkjet	yellow 3 % is low	s(4)['percent'] == 3 and s(4)['state'] == 'low'
inkjet	waste ink receptacle	s(5)['type'] == 'wasteInk' and s(5)['class'] == 'filled'
mfp_waste	serial	d['serial'] == 'SMXZ60600007'
mfp_waste	lowToner error	'lowToner' in d['status']['errors']
mfp_waste	waste toner at level 0 is full	s(5)['state'] == 'full'
mfp_waste	nearly full waste toner	s(6)['state'] in ('low', 'full')
mfp_waste	-3 receptacle some_remaining, no percent	s(7)['state'] == 'some_remaining' and s(7)['percent'] is None and s(7)['level'] == -3
mfp_waste	-3 staples some_remaining	s(8)['state'] == 'some_remaining' and s(8)['percent'] is None
mfp_waste	transfer belt 90 %	s(9)['type'] == 'transferUnit' and s(9)['percent'] == 90
mfp_waste	toner 20 %	s(1)['percent'] == 20
quirk_ricoh	vendor Ricoh	lc(d['vendor']) == 'ricoh'
quirk_ricoh	serial	d['serial'] == 'R9999Q000123'
quirk_ricoh	-100 is empty	s(1)['state'] == 'empty' and s(1)['percent'] == 0
quirk_ricoh	-3 some_remaining	s(2)['state'] == 'some_remaining' and s(2)['percent'] is None
quirk_ricoh	plain 30 %	s(3)['percent'] == 30 and s(3)['state'] == 'ok'
quirk_brother	vendor Brother	lc(d['vendor']) == 'brother'
quirk_brother	serial	d['serial'] == 'E7Z123456'
quirk_brother	-2/-3 some_remaining	s(1)['state'] == 'some_remaining' and s(1)['percent'] is None
quirk_brother	drum 12000/30000 = 40 %	s(2)['percent'] == 40
quirk_brother	max -2 level 0: no percent invented	s(3)['percent'] in (None, 0) and s(3)['state'] in ('empty', 'unknown')
quirk_brother	percent-style 10/100	s(4)['percent'] == 10
quirk_canon	vendor Canon	lc(d['vendor']) == 'canon'
quirk_canon	serial	d['serial'] == 'CNZX00042'
quirk_canon	70 %	s(1)['percent'] == 70 and s(1)['state'] == 'ok'
quirk_canon	-3 some_remaining	s(2)['state'] == 'some_remaining' and s(2)['percent'] is None
quirk_canon	-1/-1 no percent	s(3)['percent'] is None
quirk_canon	-2 unknown	s(4)['state'] == 'unknown' and s(4)['percent'] is None
quirk_canon	waste -3 some_remaining	s(5)['state'] == 'some_remaining'
quirk_hp_nul	vendor HP	lc(d['vendor']) == 'hp'
quirk_hp_nul	trailing NUL removed	s(1)['description'] == 'Black Cartridge 999A HP ZF990A'
quirk_hp_nul	CR/LF inside becomes a space	' '.join(s(2)['description'].split()) == 'Cyan Cartridge 999A HP ZF991A' and '\r' not in s(2)['description'] and '\n' not in s(2)['description']
quirk_hp_nul	several NULs removed	s(3)['description'] == 'Imaging Drum HP ZF999A'
quirk_hp_nul	HP part number	s(1)['part_number'] == 'ZF990A'
quirk_xerox_pn	vendor Xerox	lc(d['vendor']) == 'xerox'
quirk_xerox_pn	part number from ", PN"	s(1)['part_number'] == '106R09991'
quirk_xerox_pn	drum part number	s(2)['part_number'] == '101R09992'
quirk_xerox_pn	suffix cut from the description	s(1)['description'] == 'Black Toner Cartridge'
quirk_xerox_pn	cartridge serial not in the description	'ZZ00' not in s(2)['description']
quirk_xerox_pn	toner 25 %	s(1)['percent'] == 25 and s(1)['state'] == 'ok'
quirk_pantum_scalar	vendor Pantum	lc(d['vendor']) == 'pantum'
quirk_pantum_scalar	one supply from a one-sub-id index	len(d['supplies']) == 1 and s(1)['percent'] == 37 and s(1)['description'] == 'Toner Cartridge PZ-999'
quirk_latin1	Latin-1 decoded	s(1)['description'] == 'Tóner negro'
quirk_latin1	Latin-1 drum	s(2)['description'] == 'Unidad de tambor (cámara ü)'
quirk_utf16	UTF-16 with BE BOM	s(1)['description'] == 'Тонер чёрный'
quirk_utf16	UTF-16 with LE BOM	s(2)['description'] == 'Toner Cyan'
quirk_utf16	UTF-16 without BOM (BE)	s(3)['description'] == 'Trommel Größe'
quirk_utf16be	UTF-16BE (1013)	s(1)['description'] == 'Schwarz Tóner'
quirk_utf16	colorants in ASCII under a UTF-16 localization, not read as UTF-16	[s(i)['colorant'] for i in (1, 2)] == ['black', 'cyan']
quirk_utf16be	colorant in ASCII under UTF-16BE	s(1)['colorant'] == 'black' and s(1)['colorant_std'] == 'black'
quirk_colorant_utf16	the printer's words kept	[s(i)['colorant'] for i in (1, 2, 3, 4)] == ['schwarz', 'c', 'magenta', 'gelb']
quirk_colorant_utf16	canonical words beside them	[s(i)['colorant_std'] for i in (1, 2, 3, 4, 6)] == ['black', 'cyan', 'magenta', 'yellow', 'black']
quirk_colorant_utf16	no colorant on the waste box	s(5)['colorant'] is None and s(5)['colorant_std'] is None
quirk_colorant_utf16	UTF-16LE descriptions	s(5)['description'] == 'Resttonerbehälter'
colour_laser	canonical colorants	[s(i)['colorant_std'] for i in (1, 2, 3, 4)] == ['black', 'cyan', 'magenta', 'yellow'] and s(10)['colorant_std'] is None
no_localization	supplies read without localization	s(1)['description'] == 'Black Toner PL-10' and s(1)['percent'] == 55
no_localization	drum 1000/20000 = 5 %	s(2)['percent'] == 5 and s(2)['state'] == 'low'
no_serial	no serial	d['serial'] in (None, '')
no_serial	MAC still there	d['mac'] == '02:40:11:00:00:0e'
no_serial	supply 15 %	s(1)['percent'] == 15
truncated_supplies	first row complete	s(1)['percent'] == 42 and s(1)['description'] == 'Black Toner HW-1' and s(1)['colorant'] == 'black'
truncated_supplies	cut row kept, level unknown	s(2)['description'] == 'Drum HW-2' and s(2)['level'] is None and s(2)['percent'] is None and s(2)['state'] == 'unknown'
truncated_supplies	serial read before the cut	d['serial'] == 'HALFWAY0001'
out_of_order.walk	serial	d['serial'] == 'LXZS410OOO7'
out_of_order.walk	sysDescr	d['sys_descr'] == 'LEXMARK ZS410 (simulated) version NZ.1.2'
out_of_order.walk	3 supplies in index order	[x['index'] for x in d['supplies']] == [1, 2, 3]
out_of_order.walk	toner 33 %	s(1)['percent'] == 33 and s(1)['colorant'] == 'black'
out_of_order.walk	multi-line description joined	' '.join(s(2)['description'].split()) == 'Imaging Unit'
out_of_order.walk	imaging unit 50 %	s(2)['percent'] == 50
out_of_order.walk	waste bottle at 0 is full	s(3)['state'] == 'full'
out_of_order.walk	page count	d['page_count'] == 22222
out_of_order.walk	mac	d['mac'] == '02:40:11:00:00:11'
truncated.walk	first row complete	s(1)['percent'] == 33
truncated.walk	cut rows kept, level unknown	len(d['supplies']) == 3 and s(3)['level'] is None and s(2)['description'] == 'Imaging Unit' and s(2)['level'] is None and s(2)['percent'] is None and s(2)['state'] == 'unknown'
quirk_sharp_meters	vendor by enterprise 2385	d['vendor'] == 'Sharp' and d['serial'] == 'SHZ3071M0042'
quirk_sharp_meters	Printer-MIB meter with its unit	m('marker.1') == (231458, 'impressions', 'printer-mib')
quirk_sharp_meters	Sharp billing counters (Counter32)	[m(n)[0] for n in ('black', 'color', 'print_total', 'print_black', 'print_color', 'copy_black')] == [180696, 50762, 171250, 120488, 50762, 60208] and m('black')[2] == 'Sharp'
quirk_sharp_meters	a counter answered as a string is not a meter, unmapped columns ignored	m('copy_color') is None and len(d['meters']) == 7
quirk_sharp_meters	3 alerts of a moving window (indexes 3, 7, 12)	sorted(a['index'] for a in d['alerts']) == [3, 7, 12] and d['alerts_total'] == 3
quirk_sharp_meters	toner empty: critical, supplies route, Latin-1 description decoded	al(3)['code'] == 'markerTonerEmpty' and al(3)['severity'] == 'critical' and al(3)['critical'] and al(3)['route'] == 'supplies' and al(3)['description'] == 'Toner noir \u00e9puis\u00e9 (K)' and al(3)['group'] == 'markerSupplies'
quirk_sharp_meters	jam: critical, field service, location 3, trailing blanks cut	al(12)['code'] == 'jam' and al(12)['critical'] and al(12)['training'] == 'fieldService' and al(12)['location'] == 3 and al(12)['description'] == 'Jam in fuser area'
quirk_sharp_meters	paper low: a warning, not critical, identity key	al(7)['code'] == 'inputMediaSupplyLow' and al(7)['severity'] == 'warning' and not al(7)['critical'] and len(al(7)['key']) == 16
colour_laser	no alert table rows: alerts empty, page counter as a meter	d['alerts'] == [] and m('marker.1') == (48211, 'impressions', 'printer-mib')
hostile_nosupplies	no supplies, still a printer	d['supplies'] == [] and d['serial'] == 'NOSUPPLY001'
'''
n = fails = 0
cache = {}
for line in checks.strip('\n').split('\n'):
    f, what, expr = line.split('\t')
    fn = f if '.' in f else f + '.snmprec'
    if fn not in cache:
        try:
            cache[fn] = json.loads(open(os.path.join(tmp, fn + '.json'), 'rb').read().decode('utf-8'))
        except Exception as e:
            cache[fn] = None
    d = cache[fn]
    def s(i, d=d):
        for x in (d or {}).get('supplies') or []:
            if x.get('index') == i:
                return x
        return {}
    lc = lambda v: (v or '').lower()
    def m(name, d=d):
        for x in (d or {}).get('meters') or []:
            if x.get('name') == name:
                return (x.get('value'), x.get('unit'), x.get('source'))
        return None
    def al(i, d=d):
        for x in (d or {}).get('alerts') or []:
            if x.get('index') == i:
                return x
        return {}
    n += 1
    try:
        good = d is not None and bool(eval(expr))
        why = '' if good else ' (no output)' if d is None else ''
    except Exception as e:
        good, why = False, ' (%s: %s)' % (type(e).__name__, e)
    print('%s - %s: %s%s' % ('ok' if good else 'not ok', fn, what, why))
    if not good:
        fails += 1
        print('#   expected: %s' % expr)
EOF
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$TMPD/fields.tap"

# Descriptions are bounded (255 bytes) for every recording
for f in "$TMPD"/*.json; do
  n=$(basename "$f" .json)
  check "$n: descriptions <= 255 bytes" pyjson "$f" \
    'all(len((s.get("description") or "").encode()) <= 255 for s in d.get("supplies") or [])'
done

# A file that does not parse: exit 3, the line number is named
printf '1.3.6.1.2.1.1.1.0|4|ok\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11\nthis is not a recording line\n' \
  >"$TMPD/bad.snmprec"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/bad.snmprec"
check_status "inspect of an unparsable snmprec -> exit 3" 3 "$RC"
check "the error names line 3" grep -q "line 3" "$TMPD/e"
printf '.1.3.6.1.2.1.1.1.0 = STRING: "x"\n.1.3.6.1.2.1.1.2.0 = BOGUS-TYPE: 12\n' >"$TMPD/bad.walk"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/bad.walk"
check_status "inspect of an unparsable walk -> exit 3" 3 "$RC"
check "the error names line 2" grep -q "line 2" "$TMPD/e"
printf '1.3.6.1.2.1.1.1.0|2|notanumber\n' >"$TMPD/badint.snmprec"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/badint.snmprec"
check_status "inspect of an INTEGER that is not a number -> exit 3" 3 "$RC"
check "the error names line 1" grep -q "line 1" "$TMPD/e"
head -c 4096 /dev/urandom >"$TMPD/random.bin"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/random.bin"
check_status "inspect of random bytes -> exit 3" 3 "$RC"
check "error message is clean UTF-8" no_control "$TMPD/e"
: >"$TMPD/empty.walk"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/empty.walk"
if [ "$RC" = 3 ] || [ "$RC" = 1 ]; then ok "inspect of an empty file -> exit $RC (3 or 1)"; else not_ok "inspect of an empty file -> exit $RC"; fi
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD/missing.snmprec"
check_status "inspect of a missing file -> exit 3" 3 "$RC"
check "the missing file is named" grep -q "missing.snmprec" "$TMPD/e"
run "$TMPD/o" "$TMPD/e" "$ASR_AGENT" inspect "$TMPD"
check_status "inspect of a directory -> exit 3" 3 "$RC"

finish
