#!/bin/sh
# pg_test_central.sh: test_central.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
