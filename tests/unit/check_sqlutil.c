/* check_sqlutil.c: the SQL plumbing both stores share (store/sqlutil.h), on real SQLite
 * files, as a store uses it: migrations as data, errors with their message, the statement
 * cache, one-value queries, columns cut on a character boundary, the private file. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/sqlutil.h"
#include "tests/unit/testutil.h"

static char tmpdir[256];
static char path[512];
static char err[256];
static sqlite3_stmt *cache[2];
static asr_sql c;

static void setup(void)
{
  tu_tmpdir("check_sqlutil", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/x.db", tmpdir), ASR_OK);
  memset(cache, 0, sizeof(cache));
  c = (asr_sql){.path = path, .err = err, .errn = sizeof(err), .cache = cache, .ncache = 2};
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

static const asr_sql_step steps[] = {
    {1, "CREATE TABLE a (x INTEGER);"},
    {2, "INSERT INTO a VALUES (7);"},
    {3, "INSERT INTO a VALUES (8); INSERT INTO nosuch VALUES (1);"}, /* fails half-way */
};

START_TEST(test_migrations)
{
  int64_t n = -1;
  bool row = false;
  int v = -1;

  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_OK);
  ck_assert_int_eq(asr_sql_open(&c, SQLITE_OPEN_READWRITE, 1000), ASR_OK);
  ck_assert_int_eq(asr_sql_check_version(&c, steps, 2, "asr-test", &v), ASR_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(asr_sql_migrate(&c, steps, 2, "asr-test"), ASR_OK);
  ck_assert_int_eq(user_version(), 2);
  ck_assert_int_eq(asr_sql_schema_latest(steps, 2), 2);
  /* applied once: running them all again inserts nothing */
  ck_assert_int_eq(asr_sql_migrate(&c, steps, 2, "asr-test"), ASR_OK);
  ck_assert_int_eq(asr_sql_query_i64(&c, "SELECT count(*) FROM a", 0, "counting", &n, &row),
                   ASR_OK);
  ck_assert(row);
  ck_assert_int_eq(n, 1);
  /* a failing step leaves the file at the last complete version, with its message */
  ck_assert_int_eq(asr_sql_migrate(&c, steps, 3, "asr-test"), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "x.db: migrating the schema: no such table: nosuch"), "%s", err);
  ck_assert_int_eq(user_version(), 2);
  ck_assert_int_eq(
      asr_sql_query_i64(&c, "SELECT count(*) FROM a WHERE x = ?1", 8, "counting", &n, NULL),
      ASR_OK);
  ck_assert_int_eq(n, 0);
  /* a newer file and a foreign one are refused with a message naming the program, by the
   * check and by the migration, which leave them as they are */
  ck_assert_int_eq(asr_sql_check_version(&c, steps, 1, "asr-test", &v), ASR_ERR_DB_VERSION);
  ck_assert_msg(strstr(err, "version 2 is newer than this program's (1): use a newer asr-test"),
                "%s", err);
  ck_assert_int_eq(v, 2);
  ck_assert_int_eq(asr_sql_migrate(&c, steps, 1, "asr-test"), ASR_ERR_DB_VERSION);
  ck_assert_int_eq(user_version(), 2);
  ck_assert_int_eq(asr_sql_exec(&c, "PRAGMA user_version = 0", "unversioning"), ASR_OK);
  ck_assert_int_eq(asr_sql_check_version(&c, steps, 1, "asr-test", &v), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "not an asr-test database"), "%s", err);
  ck_assert_int_eq(asr_sql_migrate(&c, steps, 2, "asr-test"), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "not an asr-test database"), "%s", err);
  ck_assert_int_eq(user_version(), 0);
  ck_assert_int_eq(asr_sql_query_i64(&c, "SELECT count(*) FROM a", 0, "counting", &n, NULL),
                   ASR_OK);
  ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(test_statements)
{
  sqlite3_stmt *s = NULL, *again = NULL;
  char buf[6];
  bool row = false;

  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_OK);
  ck_assert_int_eq(asr_sql_open(&c, SQLITE_OPEN_READWRITE, 1000), ASR_OK);
  ck_assert_int_eq(asr_sql_exec(&c, "CREATE TABLE t (v TEXT)", "creating"), ASR_OK);
  /* the cache prepares once per slot; a slot past the cache is refused */
  ck_assert_int_eq(asr_sql_cached(&c, 0, "INSERT INTO t VALUES (?1)", &s), ASR_OK);
  ck_assert_int_eq(asr_sql_cached(&c, 0, "ignored: prepared already", &again), ASR_OK);
  ck_assert_ptr_eq(s, again);
  ck_assert_int_eq(asr_sql_cached(&c, 2, "SELECT 1", &again), ASR_ERR_LIMIT);
  asr_sql_bind_text(s, 1, "h\xc3\xa9h\xc3\xa9"); /* "héhé": 6 bytes */
  ck_assert_int_eq(asr_sql_run(&c, s, "inserting"), ASR_OK);
  asr_sql_bind_opt(s, 1, NULL);
  ck_assert_int_eq(asr_sql_run(&c, s, "inserting"), ASR_OK);
  ck_assert_int_eq(asr_sql_cached(&c, 1, "SELECT v FROM t ORDER BY rowid", &s), ASR_OK);
  ck_assert_int_eq(asr_sql_row(&c, s, "reading", &row), ASR_OK);
  ck_assert(row);
  /* cut on a character boundary ("hé" + 2 bytes of "hé" would split the second é) */
  ck_assert_ptr_eq(asr_sql_col_cut(s, 0, buf, sizeof(buf)), buf);
  ck_assert_str_eq(buf, "h\xc3\xa9h");
  asr_sql_col_copy(s, 0, buf, sizeof(buf)); /* never half a value */
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(asr_sql_row(&c, s, "reading", &row), ASR_OK);
  ck_assert_ptr_null(asr_sql_col_cut(s, 0, buf, sizeof(buf))); /* NULL stays NULL */
  ck_assert_str_eq(buf, "");
  asr_sql_done(s);
  /* an error names the file and what was being done */
  ck_assert_int_eq(asr_sql_exec(&c, "SELECT * FROM nosuch", "listing"), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "x.db: listing: no such table: nosuch"), "%s", err);
}
END_TEST

START_TEST(test_private_file)
{
  char dir[600];

  if (!tu_posix_modes())
    return;
  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_OK);
  ck_assert_int_eq(tu_restricted(path), 1);
  ck_assert_int_eq(tu_chmod(path, 0644), 0);
  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_OK); /* narrowed, not recreated */
  ck_assert_int_eq(tu_restricted(path), 1);
  ck_assert_int_eq(asr_fmt(dir, sizeof(dir), "%s/d", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_platform_mkdir_private(dir), ASR_OK);
  c.path = dir;
  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "/d: not a regular file"), "%s", err);
  ck_assert_int_eq(asr_fmt(dir, sizeof(dir), "%s/no/such.db", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_sql_file_private(&c, "secrets"), ASR_ERR_DB);
  ck_assert_msg(strstr(err, "such.db: cannot create: "), "%s", err);
  c.path = path;
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sqlutil");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_migrations);
  tcase_add_test(tc, test_statements);
  tcase_add_test(tc, test_private_file);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
