#!/bin/sh
# test_simulate_pg.sh: `asr-central simulate --engine --db URI` (issue 15): the engine's
# simulation with its store on PostgreSQL (tests/pg/pgtmp.sh on 127.0.0.1:25420), each run in
# a schema of its own. Checks: the same report as the SQLite run with the same seed (JSON and
# table); no asr_sim_ schema left after it, also after a run failing midway (an order refused
# by a trigger) and after a refused CREATE; the database's public tables (one named like a
# store table) untouched; --keep-db PREFIX keeps the runs' schemas and says so, refuses an
# existing one; the engine's lock held elsewhere: an error, not a day skipped; refusals: --db a file path, --db without --engine, a password in the URI
# (never echoed), the server down (within the deadline), a role without CREATE.
# Port 25420 (25421 for the server that is down).

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/uplinklib.sh"
. "$top_srcdir/tests/pg/pgtmp.sh"
itest_init simulate_pg
need_central
if ! pgtmp_start 25420; then
  skip "PostgreSQL: $PGTMP_WHY"
fi
trap 'pgtmp_stop; itest_cleanup' EXIT
O="$TMPD/out"
URI=$PGTMP_URI
PW=$PGTMP_PWFILE
PGPASSFILE="$TMPD/no-such-pgpass" # the password from --db-password-file unless said
export PGPASSFILE
SIM="--engine --days 40 --devices 12 --sites 3 --seed 11"

# schemas: the database's schemas named asr_sim_*, or "none".
schemas()
{
  _s=$(pgtmp_psql -c "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
                      WHERE nspname LIKE 'asr\\_sim\\_%'")
  echo "${_s:-none}"
}

# The database's own tables, one of them named as the store's: never read or written.
pgtmp_psql -c "CREATE TABLE public.sites (id INTEGER, name TEXT);
               INSERT INTO public.sites VALUES (1, 'not the store''s');
               CREATE TABLE public.mine (x INTEGER); INSERT INTO mine VALUES (7)" ||
  bail "cannot create the public tables"
public_state()
{
  pgtmp_psql -c "SELECT (SELECT string_agg(id || ':' || name, ',') FROM public.sites) || '/' ||
                        (SELECT string_agg(x::text, ',') FROM public.mine) || '/' ||
                        (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')"
}
PUBLIC0=$(public_state)

# --- the same figures on both backends ----------------------------------------------------
# shellcheck disable=SC2086
run "$O.lite" "$O.lite.err" "$ASR_CENTRAL" simulate $SIM --format json
check_status "simulate --engine on SQLite" 0 "$RC"
# shellcheck disable=SC2086
run "$O.pg" "$O.pg.err" "$ASR_CENTRAL" simulate $SIM --format json --db "$URI" \
  --db-password-file "$PW"
check_status "simulate --engine --db URI --db-password-file" 0 "$RC"
check "... the JSON report is the SQLite run's, byte for byte" cmp -s "$O.lite" "$O.pg"
check "... a real run: orders and notices in it" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["mode"] == "engine" and d["orders"] > 0 and d["notices"] > 0 else 1)' "$O.pg"
check "... no asr_sim_ schema left ($(schemas))" test "$(schemas)" = none
check "... the public tables untouched" test "$(public_state)" = "$PUBLIC0"
# shellcheck disable=SC2086
run "$O.tlite" "$O.tlite.err" "$ASR_CENTRAL" simulate $SIM --no-consolidation-compare
# shellcheck disable=SC2086
PGPASSFILE=$PGTMP_PASSFILE run "$O.tpg" "$O.tpg.err" "$ASR_CENTRAL" simulate $SIM \
  --no-consolidation-compare --db "$URI"
check_status "the table on PostgreSQL (PGPASSFILE)" 0 "$RC"
check "... the same table as SQLite's" cmp -s "$O.tlite" "$O.tpg"

# --- --keep-db PREFIX ---------------------------------------------------------------------
# shellcheck disable=SC2086
run "$O.keep" "$O.keep.err" "$ASR_CENTRAL" simulate $SIM --format json --db "$URI" \
  --db-password-file "$PW" --keep-db asr_sim_kept
check_status "--keep-db asr_sim_kept" 0 "$RC"
check "... the schemas kept: $(schemas)" \
  test "$(schemas)" = "asr_sim_kept_simulate,asr_sim_kept_simulate_no_consolidation"
check "... stderr names them" grep -q 'asr_sim_kept_simulate and asr_sim_kept_simulate_no_consolidation' "$O.keep.err"
# shellcheck disable=SC2086
run "$O.kl" "$O.kl.err" "$ASR_CENTRAL" simulate $SIM --keep-db "$TMPD/kept"
ORDERS=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM orders").fetchone()[0])' \
  "$TMPD/kept/simulate.db")
check "... the kept schema holds the $ORDERS orders of SQLite's kept file" \
  test "$(pgtmp_psql -c 'SELECT count(*) FROM asr_sim_kept_simulate.orders')" = "$ORDERS"
# shellcheck disable=SC2086
run "$O.again" "$O.again.err" "$ASR_CENTRAL" simulate $SIM --db "$URI" --db-password-file "$PW" \
  --keep-db asr_sim_kept
check "an existing schema is refused, non-zero (exit $RC)" sh -c "[ $RC -ne 0 ] &&
  grep -q 'asr_sim_kept_simulate_no_consolidation.*already exists' '$O.again.err'"
check "... and kept with its rows" \
  test "$(pgtmp_psql -c 'SELECT count(*) FROM asr_sim_kept_simulate.orders')" = "$ORDERS"
pgtmp_psql -c "SET client_min_messages = warning; DROP SCHEMA asr_sim_kept_simulate CASCADE;
               DROP SCHEMA asr_sim_kept_simulate_no_consolidation CASCADE"
run "$O.bad" "$O.bad.err" "$ASR_CENTRAL" simulate --engine --db "$URI" --keep-db 'x;drop'
check_status "--keep-db not a schema name prefix on PostgreSQL" 2 "$RC"

# --- a run failing midway: its schema dropped ---------------------------------------------
# A trigger added to each asr_sim_ schema's orders table as the store creates it: the
# engine's first order fails, mid-run.
pgtmp_psql -c "
CREATE FUNCTION public.no_orders() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN RAISE EXCEPTION 'orders refused by the test'; END \$\$;
CREATE FUNCTION public.arm() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
DECLARE o record;
BEGIN
  FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    IF o.object_type = 'table' AND o.object_identity LIKE 'asr\\_sim\\_%.orders' THEN
      EXECUTE format('CREATE OR REPLACE TRIGGER no_orders BEFORE INSERT ON %s FOR EACH ROW
                      EXECUTE FUNCTION public.no_orders()', o.object_identity);
    END IF;
  END LOOP;
END \$\$;
CREATE EVENT TRIGGER arm ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.arm()" ||
  bail "cannot create the event trigger"
# shellcheck disable=SC2086
run "$O.fail" "$O.fail.err" "$ASR_CENTRAL" simulate $SIM --db "$URI" --db-password-file "$PW"
check "a run failing midway: non-zero, the reason said (exit $RC)" sh -c "[ $RC -ne 0 ] &&
  grep -q 'orders refused by the test' '$O.fail.err'"
check "... its schema dropped ($(schemas))" test "$(schemas)" = none
pgtmp_psql -c "DROP EVENT TRIGGER arm; DROP FUNCTION public.arm(); DROP FUNCTION public.no_orders()"

# --- the engine's lock held elsewhere in the database: waited for, then an error ---------
# (the lock of cstore_rp.c, "asr-engi", is the database's: a serve's engine in another schema)
pgtmp_psql -c "SELECT pg_advisory_lock(7022081783301564265); SELECT pg_sleep(8)" >/dev/null &
LOCKER=$!
sleep 1
run "$O.lock" "$O.lock.err" "$ASR_CENTRAL" simulate --engine --days 10 --devices 4 --sites 1 \
  --db "$URI" --db-password-file "$PW"
check "the engine's lock held by another engine: non-zero, said, no day skipped (exit $RC)" \
  sh -c "[ $RC -ne 0 ] && grep -q 'held the engine.s lock' '$O.lock.err'"
check "... no schema left ($(schemas))" test "$(schemas)" = none
wait "$LOCKER" 2>/dev/null

# --- refusals -----------------------------------------------------------------------------
run "$O.path" "$O.path.err" "$ASR_CENTRAL" simulate --engine --db "$TMPD/x.db"
check_status "--db a file path refused" 2 "$RC"
check "... saying --db takes a PostgreSQL URI here" grep -q 'takes a PostgreSQL URI here' "$O.path.err"
check "... no file made" test ! -e "$TMPD/x.db"
run "$O.noeng" "$O.noeng.err" "$ASR_CENTRAL" simulate --db "$URI"
check_status "--db without --engine refused" 2 "$RC"
run "$O.pwuri" "$O.pwuri.err" "$ASR_CENTRAL" simulate --engine --db "postgresql://asr:s3cr3tpw@127.0.0.1:25420/asr"
check "a password in the URI refused (exit $RC), never echoed" sh -c "[ $RC -ne 0 ] &&
  grep -q 'password in --db is refused' '$O.pwuri.err' && ! grep -q s3cr3tpw '$O.pwuri.err'"
T0=$(date +%s)
run "$O.down" "$O.down.err" timeout -s KILL 30 "$ASR_CENTRAL" simulate $SIM \
  --db "postgresql://asr@127.0.0.1:25421/asr" --db-password-file "$PW"
T=$(($(date +%s) - T0))
check "the server down: non-zero within the deadline (exit $RC, ${T}s), the URI named" \
  sh -c "[ $RC -ne 0 ] && [ $RC -ne 137 ] && grep -q '127.0.0.1:25421' '$O.down.err'"
pgtmp_psql -c "CREATE ROLE lowly LOGIN PASSWORD '$(cat "$PW")'"
# shellcheck disable=SC2086
run "$O.priv" "$O.priv.err" "$ASR_CENTRAL" simulate $SIM \
  --db "postgresql://lowly@127.0.0.1:25420/asr" --db-password-file "$PW"
check "a role without CREATE on the database: non-zero (exit $RC), said" sh -c "[ $RC -ne 0 ] &&
  grep -q 'creating schema asr_sim_.*permission denied' '$O.priv.err'"
check "... no schema left ($(schemas))" test "$(schemas)" = none
check "... the public tables untouched" test "$(public_state)" = "$PUBLIC0"
finish
