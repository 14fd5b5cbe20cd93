#!/bin/sh
# pg_test_remote_config.sh: test_remote_config.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
