#!/bin/sh
# test_replenish_sim.sh: `asr-central simulate` (central/simulate.c): simulated fleets through
# the replenishment rules for several seeds and delivery times, and (--engine) through the
# real engine over a temporary central database. The JSON report is checked
# with python3: no stock-out day on an eligible reporting device, every order within one
# printing day of the day the supply's true days left crossed the trigger, fewer shipments
# with consolidation, every promise of issue 11 kept (30 days per order, consolidation within
# 45 days, waste only with black, high use per calendar week, books equal to the shelves, no
# pile-up, every notice once), every scenario seen (spike, high usage, alternating weeks,
# heavy then light, silence, early replacement, customers' own cartridges while ours is on
# its way, a special order, two contacts per site, "Black"/"schwarz"/"BK" colorants), and the
# exit status agrees. Then the table, --no-consolidation-compare, bad arguments.
central="${ASR_CENTRAL:-${top_builddir:-.}/asr-central}"
[ -x "$central" ] || { echo "# $central not built"; exit 77; }
command -v python3 >/dev/null || { echo "# no python3"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; fails=$((fails + 1)); }

check_json() { # $1: file, $2: exit status, $3: what
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
path, status, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path).read()
d = json.loads(text)                       # ONE object, nothing else on stdout
fails = 0
def check(name, ok):
    global fails
    print(("ok - " if ok else "not ok - ") + what + ": " + name)
    fails += 0 if ok else 1
for k in ("stockout_days", "orders", "shipments", "shipments_without_consolidation",
          "max_trigger_error_days", "notices"):
    check("%s is a number" % k, isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool))
check("no stock-out day on eligible reporting devices (%s)" % d["stockout_days"], d["stockout_days"] == 0)
check("orders within 1 day of the trigger (max %s over %s lines)" % (d["max_trigger_error_days"], d["trigger_lines"]),
      d["max_trigger_error_days"] <= 1 and d["trigger_lines"] > 0)
h = d["trigger_lines_by_error_days"]
check("error distribution adds up, nothing at 2 or more (%s)" % h,
      sum(h) == d["trigger_lines"] and h[2] == 0 and h[3] == 0 and h[0] > h[1])
check("consolidation ships less (%s < %s)" % (d["shipments"], d["shipments_without_consolidation"]),
      d["shipments"] < d["shipments_without_consolidation"])
check("orders were placed (%s)" % d["orders"], d["orders"] > 0 and d["shipments"] == d["orders"])
nk = d["notices_by_kind"]
check("notices = sum of the kinds (%s)" % d["notices"], d["notices"] == sum(nk.values()))
check("disconnected and final notices sent once per silent device", nk["disconnected"] == 3 and nk["final"] == 2)
check("the high-usage device reported, never ordered for",
      d["high_usage_devices"] == 1 and all(x["order_lines"] == 0 for x in d["per_device"] if x["high_usage"]))
early = [x["serial"] for x in d["per_device"] if x["early_replacements"]]
# early: the two scenario devices, the customers who swap half-used cartridges for their own,
# and the device whose weeks alternate fivefold (its forecast cannot tell what was left)
check("early replacements reported, on the scenario devices only (%s)" % early,
      d["early_replacements"] >= 1 and set(early) <= {"SIM0012", "SIM0033", "SIM0034", "SIM0045", "SIM0046"})
p = d["promises"]
check("every promise of issue 11 kept (%s)" % p, len(p) == 10 and all(v == 0 for v in p.values()))
check("two contacts at each site: a registration mail each (%s)" % nk.get("registration"),
      nk.get("registration") == 12 and {x["contact"] for x in d["per_device"]} == {"a", "b"})
check("the heavy-then-light device: not eligible, then eligible again, each mailed once",
      nk.get("not_eligible") == 2 and nk.get("eligible_again") == 1 and
      any(x["profile"] == "hot, then cold" and not x["high_usage"] and x["order_lines"] > 0 for x in d["per_device"]))
check("the alternating device (3.5 and 0.7 a week) stays eligible and is ordered for",
      any(x["profile"] == "alternating" and not x["high_usage"] and x["order_lines"] > 0 for x in d["per_device"]))
check("a special order shipped (%s)" % d["special_orders"], d["special_orders"] == 1 and d["special_cartridges"] == 3)
check("the customers' own cartridges on eligible devices told apart (%s of %s)" % (d["not_from_stock_eligible"], d["own_cartridges_eligible"]),
      (d["own_cartridges_eligible"] > 0 or d["delivery_days"] == 0) and
      d["not_from_stock_eligible"] == d["own_cartridges_eligible"])
check("localized black colorants got their waste containers",
      {x["colorant"] for x in d["per_device"]} >= {"Black", "schwarz", "BK"} and d["waste_lines"] > 0)
sp = d["shipments_per_device_month"]
check("shipments per device-month against the ideal (%s)" % sp,
      sp["actual"] > 0 and sp["ideal"] > 0 and sp["groups"] == 12 and sp["ratio"] <= 1.2)
check("usage spikes re-ordered (%s lines)" % d["changed_lines"], d["changed_lines"] > 0)
check("shelf stock per device (%s devices)" % len(d["per_device"]),
      len(d["per_device"]) == d["devices"] and sum(x["shelf_stock"] for x in d["per_device"]) == d["shelf_stock_total"])
check("exit status 0", status == 0)
sys.exit(1 if fails else 0)
EOF
}

# Several seeds with the default 3-day delivery, and longer deliveries.
for run in "42 3" "1 3" "2 3" "3 3" "7 0" "11 7" "5 7"; do
  set -- $run
  "$central" simulate --seed "$1" --delivery "$2" --format json >"$tmp/out.json" 2>"$tmp/err"
  st=$?
  check_json "$tmp/out.json" "$st" "seed $1 delivery $2" || { fails=$((fails + 1)); cat "$tmp/err"; }
  [ "$1" = 42 ] && cp "$tmp/out.json" "$tmp/s42.json"
done

# The documented limit: a 14-day delivery is longer than a tripled use leaves after the
# 21-day trigger; only the spike devices run out, and the simulation says so (exit 1).
"$central" simulate --seed 5 --delivery 14 --format json >"$tmp/d14.json" 2>"$tmp/err"
st=$?
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
out = {x["serial"]: x["profile"] for x in d["per_device"] if x["stockout_days"]}
assert d["stockout_days"] > 0 and set(out.values()) == {"spike"}, out
' "$tmp/d14.json" && [ "$st" -eq 1 ] && grep -q 'stock-out days' "$tmp/err" &&
  ok "delivery 14: only the usage spikes run out, exit 1" || notok "delivery 14 (exit $st)"

# A bigger fleet over more sites, still within the promise.
"$central" simulate --devices 120 --sites 10 --days 240 --seed 9 --format json >"$tmp/big.json" 2>"$tmp/err"
st=$?
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["devices"] == 120 and d["sites"] == 10 and len(d["per_device"]) == 120, d["devices"]
assert d["stockout_days"] == 0 and d["max_trigger_error_days"] <= 1, (d["stockout_days"], d["max_trigger_error_days"])
assert {x["site"] for x in d["per_device"]} == {"site-%d" % i for i in range(1, 11)}
' "$tmp/big.json" && [ "$st" -eq 0 ] && ok "120 devices, 10 sites, 240 days" || notok "120 devices, 10 sites, 240 days (exit $st)"

# The table: the summary and one row per device.
"$central" simulate --seed 42 >"$tmp/table" 2>"$tmp/err"
st=$?
if [ "$st" -eq 0 ] && grep -q '^stock-out days (eligible, reporting) *0$' "$tmp/table" &&
  grep -q '^shipments .*(without consolidation [0-9]*)' "$tmp/table" &&
  grep -q '^max trigger error (printing days) *[01] ' "$tmp/table" &&
  grep -q '^notices .*disconnected' "$tmp/table" &&
  [ "$(grep -c '^SIM0' "$tmp/table")" -eq 60 ]; then
  ok "table output"
else
  notok "table output (exit $st)"; cat "$tmp/table"
fi

# Without the comparison run: no count, no consolidation promise, same shipments.
"$central" simulate --seed 42 --no-consolidation-compare --format json >"$tmp/nc.json" 2>"$tmp/err"
st=$?
python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b["shipments_without_consolidation"] is None
assert a["shipments"] == b["shipments"], (a["shipments"], b["shipments"])
' "$tmp/s42.json" "$tmp/nc.json" && [ "$st" -eq 0 ] && ok "--no-consolidation-compare" || notok "--no-consolidation-compare (exit $st)"

# A broken promise exits 1: one site, one device cannot save a shipment by consolidating.
"$central" simulate --devices 1 --sites 1 --days 60 --format json >"$tmp/one.json" 2>"$tmp/err"
st=$?
[ "$st" -eq 1 ] && grep -q 'consolidation saved no shipment' "$tmp/err" &&
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/one.json" &&
  ok "broken promise: exit 1 with the reason" || notok "broken promise: exit $st"

# The measure can fail: fuel gauges that count use 5 % high (or low) make the rules order
# days early (late); the simulation, which knows the true levels, says so and exits 1.
for g in 5 -5; do
  "$central" simulate --seed 42 --gauge-error $g --format json >"$tmp/g.json" 2>"$tmp/err"
  st=$?
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["gauge_error_percent"] == int(sys.argv[2]) and d["max_trigger_error_days"] > 1, d["max_trigger_error_days"]
' "$tmp/g.json" $g && [ "$st" -eq 1 ] && grep -q 'printing days away from its trigger' "$tmp/err" &&
    ok "gauges $g % off: the trigger error is caught, exit 1" || notok "gauges $g % off (exit $st)"
done

# The engine mode (central/simengine.c): the same fleet through the real engine over a
# temporary central database (batches stored with cstore_apply, cengine_run_day, orders
# shipped and delivered with cengine_order_step). The promises hold, the report comes from
# the store's orders and the outbox, and the engine orders what the rules-only mode orders.
check_engine() { # $1: engine report, $2: rules-only report, $3: exit status, $4: what
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
e, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
status, what = int(sys.argv[3]), sys.argv[4]
fails = 0
def check(name, ok):
    global fails
    print(("ok - " if ok else "not ok - ") + what + ": " + name)
    fails += 0 if ok else 1
check("mode engine", e.get("mode") == "engine" and p.get("mode") == "rules")
check("no stock-out day on eligible reporting devices (%s)" % e["stockout_days"], e["stockout_days"] == 0)
check("orders within 1 day of the trigger (max %s over %s lines)" % (e["max_trigger_error_days"], e["trigger_lines"]),
      e["max_trigger_error_days"] <= 1 and e["trigger_lines"] > 0)
check("consolidation ships less (%s < %s)" % (e["shipments"], e["shipments_without_consolidation"]),
      e["shipments"] < e["shipments_without_consolidation"])
nk = e["notices_by_kind"]
check("notices queued in the outbox (%s = sum of %s)" % (e["notices"], nk),
      e["notices"] > 0 and e["notices"] == sum(nk.values()))
check("every order mailed as created and as shipped (%s and %s special)" % (e["orders"], e["special_orders"]),
      e["orders"] > 0 and nk["order_created"] == e["orders"] + e["special_orders"] and
      nk["order_shipped"] == e["orders"] + e["special_orders"])
check("every promise of issue 11 kept (%s)" % e["promises"], all(v == 0 for v in e["promises"].values()))
check("disconnection and final notices mailed", nk["disconnected"] > 0 and nk["final"] > 0)
check("the high-usage device marked by the engine, never ordered for",
      e["high_usage_devices"] == 1 and all(x["order_lines"] == 0 for x in e["per_device"] if x["high_usage"]))
for k in ("orders", "shipments_without_consolidation", "order_lines", "cartridges", "notices",
          "trigger_lines", "changed_lines", "consolidated_lines", "trigger_lines_by_error_days",
          "early_replacements", "notices_by_kind", "promises", "special_orders",
          "shipments_per_device_month", "not_from_stock_eligible", "waste_lines"):
    check("engine and rules agree on %s (%s, %s)" % (k, e[k], p[k]), e[k] == p[k])
check("exit status 0", status == 0)
sys.exit(1 if fails else 0)
EOF
}

mkdir "$tmp/tmpdir"
for run in "42 3" "11 7"; do
  set -- $run
  keep=""
  [ "$1" = 42 ] && keep="--keep-db $tmp/keep"
  "$central" simulate --seed "$1" --delivery "$2" --format json >"$tmp/rules.json" 2>"$tmp/err"
  TMPDIR="$tmp/tmpdir" "$central" simulate --engine $keep --seed "$1" --delivery "$2" \
    --format json >"$tmp/engine.json" 2>"$tmp/err"
  st=$?
  check_engine "$tmp/engine.json" "$tmp/rules.json" "$st" "engine, seed $1 delivery $2" ||
    { fails=$((fails + 1)); cat "$tmp/err"; }
  [ "$1" = 42 ] && cp "$tmp/engine.json" "$tmp/e42.json"
done
[ -z "$(ls -A "$tmp/tmpdir")" ] && ok "engine mode: the temporary databases are removed" ||
  { notok "engine mode: left in TMPDIR:"; ls -la "$tmp/tmpdir"; }

# The engine mode's table says so.
TMPDIR="$tmp/tmpdir" "$central" simulate --engine --days 30 --devices 12 >"$tmp/etable" 2>"$tmp/err"
st=$?
[ "$st" -eq 0 ] && grep -q '^driven through .*the engine' "$tmp/etable" &&
  [ "$(grep -c '^SIM0' "$tmp/etable")" -eq 12 ] && [ -z "$(ls -A "$tmp/tmpdir")" ] &&
  ok "engine mode: table output" || { notok "engine mode: table output (exit $st)"; cat "$tmp/etable" "$tmp/err"; }
grep -q '^driven through .*the rules only' "$tmp/table" && ok "rules-only table says so" ||
  notok "rules-only table: no 'driven through' line"

# --keep-db: both runs' databases stay (0600); what they hold is what the report says.
python3 - "$tmp/keep" "$tmp/e42.json" <<'EOF' && ok "--keep-db: the databases agree with the report" || notok "--keep-db"
import json, os, sqlite3, stat, sys
d = json.load(open(sys.argv[2]))
for name in ("simulate.db", "simulate-no-consolidation.db"):
    p = os.path.join(sys.argv[1], name)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, (p, oct(os.stat(p).st_mode))
db = sqlite3.connect(os.path.join(sys.argv[1], "simulate.db"))
q = lambda sql: db.execute(sql).fetchall()
assert q("SELECT count(*) FROM orders")[0][0] == d["orders"] + d["special_orders"], q("SELECT count(*) FROM orders")
assert q("SELECT count(*) FROM orders WHERE kind = 'extra'")[0][0] == d["special_orders"]
assert q("SELECT count(*) FROM contacts")[0][0] == 12
assert q("SELECT count(*) FROM device_contacts")[0][0] == len([x for x in d["per_device"] if x["contact"] == "b"])
states = dict(q("SELECT state, count(*) FROM orders GROUP BY state"))
assert set(states) <= {"delivered", "shipped"} and states.get("delivered", 0) > 0, states
assert q("SELECT count(*) FROM outbox")[0][0] == d["notices"], q("SELECT count(*) FROM outbox")
assert q("SELECT coalesce(sum(quantity), 0) FROM order_lines")[0][0] == d["cartridges"] + d["special_cartridges"]
last = q("SELECT max(day) FROM orders WHERE state = 'delivered' AND kind = 'asr'")[0][0]
first = q("SELECT min(day) FROM orders WHERE state = 'shipped' AND kind = 'asr'")[0][0]
assert first is None or last < first, (last, first)   # delivered in order of their day
assert q("SELECT count(DISTINCT serial) FROM devices")[0][0] == d["devices"]
db2 = sqlite3.connect(os.path.join(sys.argv[1], "simulate-no-consolidation.db"))
assert db2.execute("SELECT count(*) FROM orders WHERE kind = 'asr'").fetchone()[0] == d["shipments_without_consolidation"]
EOF
sum_before=$(cksum <"$tmp/keep/simulate.db")
"$central" simulate --engine --keep-db "$tmp/keep" --days 10 --format json >"$tmp/again.out" 2>"$tmp/err"
st=$?
[ "$st" -eq 1 ] && grep -q 'exists already' "$tmp/err" && [ ! -s "$tmp/again.out" ] &&
  [ "$(cksum <"$tmp/keep/simulate.db")" = "$sum_before" ] &&
  ok "--keep-db: an existing database is refused, untouched, exit 1" ||
  { notok "--keep-db over an existing database (exit $st)"; cat "$tmp/err"; }

: >"$tmp/afile"
"$central" simulate --engine --keep-db "$tmp/afile/sub" --days 5 >"$tmp/again.out" 2>"$tmp/err"
st=$?
[ "$st" -eq 1 ] && grep -q "$tmp/afile/sub: cannot create" "$tmp/err" && [ ! -s "$tmp/again.out" ] &&
  ok "--keep-db: a directory that cannot be made is refused, exit 1" ||
  { notok "--keep-db under a file (exit $st)"; cat "$tmp/err"; }

# Bad arguments: exit 2 and a message naming the problem; nothing on stdout.
for bad in "--days 0" "--days 366" "--devices 0" "--devices 201" "--sites 0" "--delivery 31" \
  "--delivery -1" "--seed x" "--format xml" "--days" "--bogus 1" "extra" "--gauge-error 51" \
  "--gauge-error 1.5" "--keep-db $tmp/k2" "--engine --keep-db"; do
  "$central" simulate $bad >"$tmp/bad.out" 2>"$tmp/bad.err"
  st=$?
  if [ "$st" -eq 2 ] && [ ! -s "$tmp/bad.out" ] && grep -q 'simulate' "$tmp/bad.err"; then
    ok "bad arguments '$bad': exit 2"
  else
    notok "bad arguments '$bad': exit $st"; cat "$tmp/bad.err"
  fi
done
"$central" simulate --help >"$tmp/help" && grep -q 'usage: asr-central simulate' "$tmp/help" &&
  ok "--help shows the usage, exit 0" || notok "--help"

[ "$fails" -eq 0 ]
