#!/bin/sh
# test_rules.sh: asr-central's --rules FILE through the real binary (replenish --now and
# serve): every documented directive is accepted, including the forecast's mid window and
# ratio and the per-type triggers (trigger_days.TYPE); a bad file is refused with exit 2
# and "FILE:LINE: what is wrong" on stderr, before anything runs (serve never listens).
# The rules' effect on orders is tests/unit/check_rulesconf.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"

uplink_init rules
need_central
RULES="$TMPD/central.rules"
CDB="$TMPD/central.db"
export ASR_TEST_CLOCK=1795000000

# replenish RULES-TEXT: writes the rules file and runs replenish --now (sets RC, and LABEL:
# the text on one line for the test names).
replenish()
{
  printf '%s\n' "$1" >"$RULES"
  LABEL=$(printf '%s' "$1" | tr '\n' '|' | cut -c1-60)
  run "$TMPD/out" "$TMPD/err" "$ASR_CENTRAL" replenish --now --db "$CDB" --rules "$RULES"
}

# good TEXT: the file is accepted (exit 0).
good()
{
  replenish "$1"
  check_status "accepted: $LABEL" 0 "$RC"
  [ "$RC" -eq 0 ] || show "$TMPD/err"
}

# bad TEXT MESSAGE: exit 2, stderr names the file, line and problem, nothing ran.
bad()
{
  replenish "$1"
  check_status "refused: $LABEL" 2 "$RC"
  check "message '$2'" grep -qF "$RULES:$2" "$TMPD/err"
  check "nothing planned for: $LABEL" test ! -s "$TMPD/out"
}

good "trigger_days = 21
trigger_days.tonerCartridge = 28
trigger_days.wasteToner = 28
trigger_days.toner = 30
trigger_days.toner = 25 # a repeated type replaces its value
cover_days = 30
consolidate = yes
consolidate_days = 45
high_use_per_week = 2
high_use_weeks = 2
delivery_days = 3
spike_margin_days = 3
silent_days = 2
disconnect_days = 7
final_days = 30
long_window_days = 28
short_window_days = 7
mid_window_days = 14
mid_ratio = 1.2
spike_ratio = 1.25
jump_fraction = 0.1
min_span_days = 3
early_fraction = 0.25"
good "mid_ratio = 1.2"
good "trigger_days.ink = 30"
check "the day ran" grep -q "^day 2026-" "$TMPD/out"

bad "toner.trigger_days = 30" "1: unknown rule 'toner.trigger_days'"
bad "# per type
trigger_days.tonr = 30" "2: trigger_days.tonr: unknown supply type 'tonr'"
bad "trigger_days.fuser = 30" "1: trigger_days.fuser: fuser is never ordered"
bad "trigger_days.toner = 400" "1: trigger_days.toner: '400' is not a number from 1 to 365"
bad "mid_ratio = 0.5" "1: mid_ratio: '0.5' is not a number from 1 to 10"
bad "mid_window_days = 40" " mid_window_days (40) is not from short_window_days (7)"
bad "high_use_window_days = 28" "1: high_use_window_days is no longer a rule"

# serve refuses a bad file before it listens
printf 'trigger_days.toner = 0\n' >"$RULES"
run "$TMPD/out" "$TMPD/err" timeout 20 "$ASR_CENTRAL" serve --listen 127.58.0.1:0 --db "$CDB" \
  --rules "$RULES"
check_status "serve refuses a bad rules file" 2 "$RC"
check "serve names file and line" grep -qF "$RULES:1: trigger_days.toner: '0'" "$TMPD/err"

finish
