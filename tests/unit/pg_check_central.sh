#!/bin/sh
# pg_check_central.sh: check_central on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
