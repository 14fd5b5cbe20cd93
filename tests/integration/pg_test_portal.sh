#!/bin/sh
# pg_test_portal.sh: test_portal.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
