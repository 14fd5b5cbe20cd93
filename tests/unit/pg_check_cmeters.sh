#!/bin/sh
# pg_check_cmeters.sh: check_cmeters on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
