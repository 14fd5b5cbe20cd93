#!/bin/sh
# pg_check_NAME.sh: the PostgreSQL pass of the central's unit test check_NAME (this file's
# name says which; every pg_check_*.sh is this same text): the program runs with
# ASR_TEST_DB=pg and starts its own throw-away cluster (tests/unit/testdb.h,
# tests/pg/pgtmp.sh); exit 77, naming why, when PostgreSQL cannot start.
n=$(basename "$0" .sh)
ASR_TEST_DB=pg
export ASR_TEST_DB
exec "${top_builddir:-.}/tests/unit/${n#pg_}"
