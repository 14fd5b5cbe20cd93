#!/bin/sh
# pgpass.sh: runs one test of the PostgreSQL pass (issue 15): pgpass.sh WRAPPER, called by
# the thin wrappers tests/unit/pg_check_NAME.sh (the unit test program check_NAME, which
# starts its own cluster: tests/unit/testdb.h) and tests/integration/pg_test_NAME.sh (the
# script test_NAME.sh, whose uplink_init starts one: tests/integration/uplinklib.sh), with
# ASR_TEST_DB=pg. Both exit 77 naming why when PostgreSQL cannot start (a SKIP, never a
# silent pass). ASR_PG_PASS=off skips the pass (scripts/test.sh's make distcheck: the gcc
# build ran it).
n=$(basename "$1" .sh)
if [ "${ASR_PG_PASS:-}" = off ]; then
  echo "SKIP: $n: the PostgreSQL pass is off (ASR_PG_PASS=off)"
  exit 77
fi
ASR_TEST_DB=pg
export ASR_TEST_DB
case $n in
pg_check_*) exec "${top_builddir:-.}/tests/unit/${n#pg_}" ;;
pg_test_*) exec /bin/sh "$(dirname "$1")/${n#pg_}.sh" ;;
*)
  echo "pgpass.sh: $1 is not a pg_check_NAME.sh or pg_test_NAME.sh wrapper" >&2
  exit 99
  ;;
esac
