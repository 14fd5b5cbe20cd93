#!/bin/sh
# pg_test_alerts.sh: test_alerts.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
