#!/bin/sh
# pg_check_engine.sh: check_engine on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
