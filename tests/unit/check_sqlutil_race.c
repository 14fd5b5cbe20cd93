/* check_sqlutil_race.c: processes opening one new SQLite database at once (two
 * asr-central commands, the agent's daemon and a CLI command): store/sqlutil.c's version
 * check and migrations. POSIX only (fork); Windows runs check_sqlutil without it. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/sqlutil.h"
#include "tests/unit/testutil.h"

static char tmpdir[256];
static char err[256];
static asr_sql c;

static void setup(void)
{
  tu_tmpdir("check_sqlutil_race", tmpdir, sizeof(tmpdir));
  c = (asr_sql){.err = err, .errn = sizeof(err)};
  err[0] = '\0';
  asr_log_set_level(ASR_LOG_ERR);
}

static void teardown(void)
{
  asr_sql_close(&c);
  tu_rmtree(tmpdir);
}

static int user_version(void)
{
  int v = -1;

  ck_assert_int_eq(asr_sql_query_int(&c, "PRAGMA user_version", "reading", &v), ASR_OK);
  return v;
}

/* ---- two of everything at once ---- */

static const asr_sql_step race_steps[] = {
    {1, "CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT);"},
    {2, "INSERT INTO a VALUES (1);"},
    {3, "CREATE INDEX a_x ON a (x); INSERT INTO a VALUES (2);"},
};
#define RACE_STEPS (sizeof(race_steps) / sizeof(race_steps[0]))
#define RACE_PROCS 4
#define RACE_ROUNDS 60

/* What a store does to open its file (central/cstore.c, store/store.c): the private file,
 * the connection under a busy timeout, the version check, WAL, the migrations. 0: done. */
static int open_as_a_store(const char *file)
{
  char e[256];
  asr_sql k = {.path = file, .err = e, .errn = sizeof(e)};
  int v = 0;
  asr_result r = asr_sql_file_private(&k, "secrets");

  if (!r)
    r = asr_sql_open(&k, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 10000);
  if (!r)
    r = asr_sql_check_version(&k, race_steps, RACE_STEPS, "asr-test", &v);
  if (!r)
    r = asr_sql_journal_wal(&k, NULL, 0);
  if (!r)
    r = asr_sql_migrate(&k, race_steps, RACE_STEPS, "asr-test");
  if (r)
    fprintf(stderr, "open_as_a_store: %s\n", e);
  asr_sql_close(&k);
  return r ? 1 : 0;
}

/* RACE_PROCS processes released at once on one new file (they wait on a pipe the parent
 * closes): the number that failed. */
static int race_round(const char *file)
{
  int gate[2], failed = 0, ws = 0;
  pid_t pid[RACE_PROCS];
  char b;

  ck_assert_int_eq(pipe(gate), 0);
  for (int i = 0; i < RACE_PROCS; i++) {
    pid[i] = fork();
    ck_assert_int_ge(pid[i], 0);
    if (pid[i] == 0) {
      close(gate[1]);
      _exit(read(gate[0], &b, 1) == 0 ? open_as_a_store(file) : 2);
    }
  }
  close(gate[0]);
  close(gate[1]); /* go */
  for (int i = 0; i < RACE_PROCS; i++) {
    ck_assert_int_eq(waitpid(pid[i], &ws, 0), pid[i]);
    failed += !WIFEXITED(ws) || WEXITSTATUS(ws) != 0;
  }
  return failed;
}

/* Processes creating one database at once (two asr-central commands, the agent's daemon
 * and a CLI command) all open it, and each step is applied once. */
START_TEST(test_open_race)
{
  char file[600];
  int64_t n = -1;

  for (int round = 0; round < RACE_ROUNDS; round++) {
    ck_assert_int_eq(asr_fmt(file, sizeof(file), "%s/race%d.db", tmpdir, round), ASR_OK);
    ck_assert_msg(race_round(file) == 0, "round %d: an opening failed (see stderr)", round);
    c.path = file;
    ck_assert_int_eq(asr_sql_open(&c, SQLITE_OPEN_READWRITE, 1000), ASR_OK);
    ck_assert_int_eq(user_version(), 3);
    ck_assert_int_eq(asr_sql_query_i64(&c, "SELECT count(*) FROM a", 0, "counting", &n, NULL),
                     ASR_OK);
    ck_assert_int_eq(n, 2);
    asr_sql_close(&c);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sqlutil_race");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_open_race);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
