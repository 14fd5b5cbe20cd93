#!/bin/sh
# pg_check_calerts.sh: check_calerts on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
