#!/bin/sh
# pg_test_ingest_memory.sh: test_ingest_memory.sh on PostgreSQL (tests/pg/pgpass.sh)
exec /bin/sh "$(dirname "$0")/../pg/pgpass.sh" "$0"
