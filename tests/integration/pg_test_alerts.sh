#!/bin/sh
# pg_test_NAME.sh: the PostgreSQL pass of the integration script test_NAME.sh (this file's
# name says which; every pg_test_*.sh is this same text): the script runs with
# ASR_TEST_DB=pg, so uplinklib.sh starts a throw-away cluster on the script's own port
# and the central's database is there (skipped, naming why, when PostgreSQL cannot start).
n=$(basename "$0" .sh)
ASR_TEST_DB=pg
export ASR_TEST_DB
exec /bin/sh "$(dirname "$0")/${n#pg_}.sh"
