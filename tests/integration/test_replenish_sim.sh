#!/bin/sh
# test_replenish_sim.sh: 180 simulated days of a 60-device fleet through the replenishment
# rules (tests/replenish_sim, deterministic seed): no stock-out day on an eligible reporting
# device, every order within a day of its forecast trigger (the simulation asserts both and
# exits non-zero otherwise), and fewer shipments with consolidation than without.
sim="${top_builddir:-.}/tests/replenish_sim"
[ -x "$sim" ] || { echo "# $sim not built"; exit 77; }
out=$("$sim" --seed 42 --format json) || { echo "not ok - the simulation's own checks failed"; exit 1; }
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
fails = 0
def check(name, ok):
    global fails
    print(("ok - " if ok else "not ok - ") + name)
    fails += 0 if ok else 1
check("no stock-out day on eligible reporting devices (%s)" % d["stockout_days"], d["stockout_days"] == 0)
check("orders placed within 1 day of the trigger (max %s)" % d["max_trigger_error_days"], d["max_trigger_error_days"] <= 1)
check("consolidation ships less (%s < %s)" % (d["shipments"], d["shipments_without_consolidation"]), d["shipments"] < d["shipments_without_consolidation"])
check("orders were placed (%s)" % d["orders"], d["orders"] > 0)
sys.exit(1 if fails else 0)
'
