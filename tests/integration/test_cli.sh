#!/bin/sh
# test_cli.sh: the command line without any simulator: help, version, usage errors,
# malformed targets, oversized blocks, and database problems (unreadable, garbage, locked).
# No packet leaves the host: every target here is refused before any scan.

. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
itest_init cli
need_agent
O="$TMPD/out"
E="$TMPD/err"

# --- help and version ---
run "$O" "$E" "$ASR_AGENT" --help
check_status "--help exits 0" 0 "$RC"
check "--help lists the commands" grep -q "discover" "$O"
check "--help says where this build keeps its database and configuration" \
  sh -c "grep -q \"defaults: database .*/lib/asr-agent/agent.db\" '$O' && grep -q 'asr-agent.conf' '$O'"
run "$O" "$E" "$ASR_AGENT" --version
check_status "--version exits 0" 0 "$RC"
check "--version prints 'asr-agent VERSION'" grep -Eq '^asr-agent [0-9]' "$O"
for c in discover poll status inspect; do
  run "$O" "$E" "$ASR_AGENT" "$c" --help
  check_status "$c --help exits 0" 0 "$RC"
  check "$c --help prints a usage line on stdout" grep -qi "usage" "$O"
done

# --- usage errors ---
run "$O" "$E" "$ASR_AGENT"
check_status "no command -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" frobnicate
check_status "unknown command -> usage error" 2 "$RC"
check "unknown command is named" grep -q "frobnicate" "$E"
for c in discover poll status inspect; do
  run "$O" "$E" "$ASR_AGENT" "$c" --no-such-option 127.40.0.1
  check_status "$c --no-such-option -> usage error" 2 "$RC"
  check "$c: the unknown option is named on stderr" grep -q "no-such-option" "$E"
done
# a typo gets the option (or command) it resembles
run "$O" "$E" "$ASR_AGENT" discover --comunity public --no-save 127.40.0.1
check_status "discover --comunity -> usage error" 2 "$RC"
check "--comunity: did you mean --community?" grep -q "did you mean --community?" "$E"
run "$O" "$E" "$ASR_AGENT" status --fromat json
check "status --fromat: did you mean --format?" grep -q "did you mean --format?" "$E"
run "$O" "$E" "$ASR_AGENT" upload --max-wiat 3
check "upload --max-wiat: did you mean --max-wait?" grep -q "did you mean --max-wait?" "$E"
run "$O" "$E" "$ASR_AGENT" discover --co x 127.40.0.1
check_status "an ambiguous abbreviation -> usage error" 2 "$RC"
check "the ambiguous abbreviation lists its candidates" \
  sh -c "grep -q -- '--community' '$E' && grep -q -- '--concurrency' '$E'"
run "$O" "$E" "$ASR_AGENT" discover --db
check "a missing value names the option" grep -q "'--db' needs a value" "$E"
run "$O" "$E" "$ASR_AGENT" discover --v3-auth-pass=Secret-Phrase-77 127.40.0.1
check_status "a pass phrase glued to an abbreviated option -> usage error" 2 "$RC"
check "the option is named, not its value" \
  sh -c "grep -q \"'--v3-auth-pass' is not written whole: write --v3-auth-pass-file\" '$E' && ! grep -q Secret-Phrase-77 '$E'"
run "$O" "$E" "$ASR_AGENT" discover --v3-user u --v3-auth-proto SHA --v3-auth-pass Secret-Phrase-77 127.40.0.1
check_status "--v3-auth-pass SECRET is not taken for --v3-auth-pass-file" 2 "$RC"
check "the pass phrase is not shown as a file name" sh -c "! grep -q Secret-Phrase-77 '$E'"
run "$O" "$E" "$ASR_AGENT" discover --comunity=x-value 127.40.0.1
check "an unknown option with a value: only its name is shown" \
  sh -c "grep -q \"unknown option '--comunity' (did you mean --community?)\" '$E' && ! grep -q x-value '$E'"
run "$O" "$E" "$ASR_AGENT" stauts
check_status "unknown command stauts -> usage error" 2 "$RC"
check "stauts: did you mean status?" grep -q "did you mean status?" "$E"
# service: Windows only; on Linux reload says to use systemctl (SIGHUP)
run "$O" "$E" "$ASR_AGENT" service reload
check_status "service reload on Linux -> usage error" 2 "$RC"
check "service reload points to systemctl reload" grep -q "systemctl reload asr-agent" "$E"
run "$O" "$E" "$ASR_AGENT" service start
check_status "service start on Linux -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --no-save
check_status "discover without a target -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --no-save --format xml 127.40.0.1
check_status "discover --format xml -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --no-save --timeout abc 127.40.0.1
check_status "discover --timeout abc -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --no-save --retries -1 127.40.0.1
check_status "discover --retries -1 -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --no-save --port 70000 127.40.0.1
check_status "discover --port 70000 -> usage error" 2 "$RC"
run "$O" "$E" "$ASR_AGENT" status --format csv-ish
check_status "status --format csv-ish -> usage error" 2 "$RC"

# --- malformed targets: exit 2, the message names the position ---
# (all numeric, so that nothing is ever looked up in DNS)
for t in 127.40.0.300 127.40.0.1/33 127.40.0.1/-1 127.40.0.10-127.40.0.5 127.40.0.1-300 \
  127.40.0.1.5 127.40..1 127.40.0.1/24x; do
  run "$O" "$E" timeout 20 "$ASR_AGENT" discover --no-save --timeout 100 --retries 0 "$t"
  check_status "malformed target '$t' -> exit 2" 2 "$RC"
  if grep -qi "position" "$E" && grep -qF -- "$t" "$E"; then
    ok "the message for '$t' names the target and a position"
  else
    not_ok "the message for '$t' names the target and a position: $(head -c 200 "$E")"
  fi
done

# --- oversized blocks need --force ---
run "$O" "$E" timeout 20 "$ASR_AGENT" discover --no-save --timeout 100 --retries 0 127.40.0.0/15
check_status "a /15 is refused without --force" 2 "$RC"
check "the refusal mentions --force" grep -q -- "--force" "$E"
run "$O" "$E" timeout 20 "$ASR_AGENT" discover --no-save --timeout 100 --retries 0 \
  127.40.0.0/16 127.41.0.0/24
check_status "a /16 plus a /24 (over 65,536 addresses) is refused without --force" 2 "$RC"

# --- database problems ---
: >"$TMPD/afile"
run "$O" "$E" "$ASR_AGENT" status --db "$TMPD/afile/sub/asr.db"
check_status "a database path under a regular file -> exit 4" 4 "$RC"
check "the message names the database file" grep -qF "$TMPD/afile/sub/asr.db" "$E"

head -c 8192 /dev/urandom >"$TMPD/garbage.db"
printf 'this is not a database at all\n' >>"$TMPD/garbage.db"
cp "$TMPD/garbage.db" "$TMPD/garbage.orig"
run "$O" "$E" "$ASR_AGENT" status --db "$TMPD/garbage.db"
check_status "a garbage database file -> exit 4" 4 "$RC"
check "the message names the garbage file" grep -qF "garbage.db" "$E"
check "the garbage file is left untouched" cmp -s "$TMPD/garbage.db" "$TMPD/garbage.orig"
run "$O" "$E" "$ASR_AGENT" poll --db "$TMPD/garbage.db"
check_status "poll on a garbage database -> exit 4" 4 "$RC"

printf 'SQLite format 3\000' >"$TMPD/trunc.db"
run "$O" "$E" "$ASR_AGENT" status --db "$TMPD/trunc.db"
check_status "a truncated SQLite header -> exit 4" 4 "$RC"

# a --db PATH is never guessed at: a typo is an error, nothing is created (the default
# location, $ASR_AGENT_DB here, is created below)
for c in status poll upload meters "status --check" "enroll --update --proxy none"; do
  # shellcheck disable=SC2086
  run "$O" "$E" "$ASR_AGENT" $c --db "$TMPD/no/such/dir/typo.db"
  if [ "$c" = "status --check" ]; then
    check_status "$c --db on a missing path -> UNKNOWN" 3 "$RC"
    check "$c: one UNKNOWN line naming the path" grep -q "^ASR-AGENT UNKNOWN - .*typo.db" "$O"
  else
    check_status "$c --db on a missing path -> exit 4" 4 "$RC"
    check "$c: the message names the path" grep -qF "$TMPD/no/such/dir/typo.db" "$E"
  fi
done
run "$O" "$E" "$ASR_AGENT" status --db "$TMPD/typo.db"
check_status "status --db on a missing file in an existing folder -> exit 4" 4 "$RC"
run "$O" "$E" "$ASR_AGENT" discover --db "$TMPD/no/such/dir/typo.db" --timeout 100 --retries 0 127.40.0.250
check_status "discover --db in a missing folder -> exit 4, before scanning" 4 "$RC"
check "no folder and no file created for a mistyped --db" \
  sh -c "test ! -e '$TMPD/no' && test ! -e '$TMPD/typo.db'"
run "$O" "$E" "$ASR_AGENT" run --config "$TMPD/typo.conf"
check_status "run --config on a missing file -> exit 3" 3 "$RC"
check "run --config: the message names the file" grep -qF "$TMPD/typo.conf" "$E"
check "run --config: the file is not created" test ! -e "$TMPD/typo.conf"

# newer schema: a database created by this program, then marked with a far future version
run "$O" "$E" env ASR_AGENT_DB="$TMPD/new.db" "$ASR_AGENT" status --format json
check_status "status on a new database (the default location) exits 0" 0 "$RC"
check "status on a new database prints {\"devices\": []}" pyjson "$O" 'd["devices"] == []'
check "the new database is created 0600" \
  test "$(stat -c %a "$TMPD/new.db" 2>/dev/null)" = 600
if [ -f "$TMPD/new.db" ]; then
  python3 - "$TMPD/new.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('PRAGMA user_version = 999999')
for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
    cols = [r[1] for r in c.execute('PRAGMA table_info(%s)' % name)]
    if 'version' in cols and name.startswith(('schema', 'meta')):
        c.execute('UPDATE %s SET version = 999999' % name)
c.commit()
EOF
  run "$O" "$E" "$ASR_AGENT" status --db "$TMPD/new.db"
  check_status "a database of a newer schema -> exit 4" 4 "$RC"
  check "the message says the schema is newer" grep -qi "newer" "$E"
fi

# locked: another process holds an exclusive lock; nothing is lost afterwards
run "$O" "$E" "$ASR_AGENT" status --format json
check_status "status creates the test database (\$ASR_AGENT_DB)" 0 "$RC"
python3 - "$DB" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('CREATE TABLE IF NOT EXISTS itest_canary (x TEXT)')
c.execute("INSERT INTO itest_canary VALUES ('still here')")
c.commit()
EOF
db_dump "$DB" "$TMPD/before.sql"
if db_lock "$DB" 30; then
  t0=$(now_ms)
  run "$O" "$E" timeout 25 "$ASR_AGENT" status --db "$DB"
  t1=$(now_ms)
  check_status "status on a locked database -> exit 4" 4 "$RC"
  check "the message says 'locked'" grep -qi "locked" "$E"
  if [ $((t1 - t0)) -lt 15000 ]; then
    ok "gave up on the lock in $((t1 - t0)) ms (< 15 s)"
  else
    not_ok "gave up on the lock in $((t1 - t0)) ms (>= 15 s)"
  fi
  run "$O" "$E" timeout 25 "$ASR_AGENT" poll --db "$DB"
  check_status "poll on a locked database -> exit 4" 4 "$RC"
  run "$O" "$E" timeout 25 "$ASR_AGENT" discover --db "$DB" --timeout 200 --retries 0 127.40.0.250
  # nothing answers at .250: a discover that opens the database first says 4; one that
  # scans first may end with 5 (nothing answered) -- either way it must not write
  if [ "$RC" = 4 ] || [ "$RC" = 5 ]; then
    ok "discover with a locked database -> exit $RC (4 or 5)"
  else
    not_ok "discover with a locked database -> exit $RC (expected 4, or 5)"
  fi
  db_unlock
  db_dump "$DB" "$TMPD/after.sql"
  check "nothing lost or changed in the database after the lock" \
    cmp -s "$TMPD/before.sql" "$TMPD/after.sql"
  run "$O" "$E" "$ASR_AGENT" status --db "$DB" --format json
  check_status "status works again once the lock is gone" 0 "$RC"
else
  not_ok "could not take the test lock"
fi

# two commands creating one new database at once (the default one: a status while the
# daemon starts): both work, 10 times
bad=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  ASR_AGENT_DB="$TMPD/race$i/agent.db" "$ASR_AGENT" status --format json >"$O.r1" 2>"$E.r1" &
  p1=$!
  ASR_AGENT_DB="$TMPD/race$i/agent.db" "$ASR_AGENT" status --format json >"$O.r2" 2>"$E.r2" &
  p2=$!
  wait $p1 || { bad=$((bad + 1)) && sed 's/^/#   /' "$E.r1"; }
  wait $p2 || { bad=$((bad + 1)) && sed 's/^/#   /' "$E.r2"; }
done
check "two commands creating one database at once: both work, 10 times" test "$bad" = 0

# inspect on a missing file
run "$O" "$E" "$ASR_AGENT" inspect "$TMPD/no-such-file.walk"
check_status "inspect on a missing file -> exit 3" 3 "$RC"
check "the missing file is named" grep -qF "no-such-file.walk" "$E"
check "the missing file is named once" \
  test "$(grep -o "no-such-file.walk" "$E" | wc -l)" = 1
printf '1.3.6.1.2.1.1.1.0|4|x\nnot a line\n' >"$TMPD/bad.snmprec"
run "$O" "$E" "$ASR_AGENT" inspect "$TMPD/bad.snmprec"
check_status "inspect of a file that does not parse -> exit 3" 3 "$RC"
check "the parse error names the file once" test "$(grep -o "bad.snmprec" "$E" | wc -l)" = 1
check "the parse error names the line" grep -q "line 2" "$E"

finish
