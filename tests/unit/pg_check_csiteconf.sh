#!/bin/sh
# pg_check_csiteconf.sh: check_csiteconf on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
