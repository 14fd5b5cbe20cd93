#!/bin/sh
# pg_test_uplink.sh: test_uplink.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
