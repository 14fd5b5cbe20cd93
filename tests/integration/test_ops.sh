#!/bin/sh
# test_ops.sh: the library's operations (agent/ops.h) and the daemon's steps
# (agent/daemon_steps.h) driven directly against live simulated printers: snmpsim serves
# colour_laser on 127.43.0.1 (community public) and inkjet on 127.43.0.2 (community secret2
# only), and tests/unit/check_ops runs its live cases with ASR_OPS_SIM_PORT set: a discovery
# that finds both (the inkjet with its target's own community), one with the general
# community alone that finds only the laser, a poll that reads both, and the daemon's
# discovery and poll steps from a configuration file.
. "$(dirname "$0")/lib.sh"

itest_init ops
need_sim
CHECK_OPS="$top_builddir/tests/unit/check_ops"
[ -x "$CHECK_OPS" ] || bail "tests/unit/check_ops not built ($CHECK_OPS)"

sim_add 127.43.0.1 colour_laser
sim_add 127.43.0.2 inkjet secret2
sim_start

O="$TMPD/out"
run "$O" "$O.err" env ASR_OPS_SIM_PORT="$SIM_PORT" CK_RUN_CASE=live CK_VERBOSITY=verbose \
  CK_DEFAULT_TIMEOUT=120 "$CHECK_OPS"
check_status "the live cases of check_ops pass" 0 "$RC"
sed 's/^/#   /' "$O" "$O.err"
check "three live cases ran, none skipped" grep -q '^100%: Checks: 3, Failures: 0, Errors: 0' "$O"
finish
