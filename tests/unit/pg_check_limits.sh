#!/bin/sh
# pg_check_limits.sh: check_limits on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
