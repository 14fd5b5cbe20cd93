#!/bin/sh
# pgpass.sh: runs one test of the PostgreSQL pass (issue 15): pgpass.sh WRAPPER, called by
# the thin wrappers tests/unit/pg_check_NAME.sh (the unit test program check_NAME, which
# starts its own cluster: tests/unit/testdb.h) and tests/integration/pg_test_NAME.sh (the
# script test_NAME.sh, whose uplink_init starts one: tests/integration/uplinklib.sh), with
# ASR_TEST_DB=pg. Both exit 77 naming why when PostgreSQL cannot start (a SKIP, never a
# silent pass). ASR_PG_PASS=off skips the pass (scripts/test.sh's make distcheck: the gcc
# build ran it). Exit statuses are the test's (automake's: 0, 1, 77 skip, 99 error).
n=$(basename "$1" .sh)
if [ "${ASR_PG_PASS:-}" = off ]; then
  echo "SKIP: $n: the PostgreSQL pass is off (ASR_PG_PASS=off)"
  exit 77
fi
# A test listed in tests/pg/pending.txt (what the backend cannot do yet) is skipped naming
# the reason, or run with ASR_PG_PENDING=run: passing, it fails asking to be unlisted.
pending=$(sed -n "s/^$n //p" "$(dirname "$0")/pending.txt")
if [ -n "$pending" ] && [ "${ASR_PG_PENDING:-}" != run ]; then
  echo "SKIP: $n: pending on PostgreSQL: $pending (tests/pg/pending.txt; ASR_PG_PENDING=run runs it)"
  exit 77
fi
ASR_TEST_DB=pg
export ASR_TEST_DB
case $n in
pg_check_*) "${top_builddir:-.}/tests/unit/${n#pg_}" ;;
pg_test_*) /bin/sh "$(dirname "$1")/${n#pg_}.sh" ;;
*)
  echo "pgpass.sh: $1 is not a pg_check_NAME.sh or pg_test_NAME.sh wrapper" >&2
  exit 99
  ;;
esac
rc=$?
if [ "$rc" = 0 ] && [ -n "$pending" ]; then
  echo "FAIL: $n passes on PostgreSQL now: remove its line from tests/pg/pending.txt"
  exit 1
fi
exit "$rc"
