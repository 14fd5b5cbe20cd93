#!/bin/sh
# pg_check_portal.sh: check_portal on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
