#!/bin/sh
# pg_test_orders.sh: test_orders.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
