/* testdb.c: the central's unit tests on SQLite or on a throw-away PostgreSQL (testdb.h). */
#include "testdb.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "central/cdb.h"
#include "common/util.h"

static bool on_pg;
static const char *pg_base; /* the cluster's URI (database asr): databases are made beside it */

bool testdb_pg(void)
{
  return on_pg;
}

void testdb_skip(const char *test, const char *why)
{
  fprintf(stderr, "%s: SKIP in the PostgreSQL pass: %s\n", test, why);
}

/* Runs argv again under tests/pg/pgtmp.sh PORT (no -k: exit 77 naming why when the
 * cluster cannot start). Returns only when the exec failed. */
static void rerun_under_pgtmp(char **argv)
{
  char port[16], script[512];
  const char *p = getenv("ASR_TEST_PG_PORT");
  size_t argc = 0;
  char **args;

  while (argv[argc])
    argc++;
  if (asr_fmt(port, sizeof(port), "%d", 27000 + (int)(getpid() % 1000)) ||
      asr_fmt(script, sizeof(script), "%s/pg/pgtmp.sh", TEST_SRCDIR))
    return;
  args = calloc(argc + 4, sizeof(*args));
  if (!args)
    return;
  args[0] = "sh";
  args[1] = script;
  args[2] = p && *p ? (char *)p : port;
  for (size_t i = 0; i < argc; i++)
    args[3 + i] = argv[i];
  setenv("ASR_TESTDB_PGTMP", "1", 1);
  execv("/bin/sh", args);
  free(args);
}

void testdb_main(char **argv)
{
  const char *v = getenv("ASR_TEST_DB");

  if (!v || !*v || strcmp(v, "sqlite") == 0)
    return;
  if (strcmp(v, "pg") != 0) {
    fprintf(stderr, "%s: ASR_TEST_DB=%s: use sqlite or pg\n", argv[0], v);
    exit(99);
  }
  on_pg = true;
  pg_base = getenv("ASR_TEST_PG_URI"); /* a running server; PGPASSFILE from the caller */
  if (!pg_base && getenv("PGTMP_URI")) {
    pg_base = getenv("PGTMP_URI");
    if (getenv("PGTMP_PASSFILE"))
      setenv("PGPASSFILE", getenv("PGTMP_PASSFILE"), 1);
  }
  if (pg_base) {
    fprintf(stderr, "%s: the PostgreSQL pass, at %s\n", argv[0], pg_base);
    return;
  }
  if (!getenv("ASR_TESTDB_PGTMP"))
    rerun_under_pgtmp(argv);
  printf("SKIP: %s: the PostgreSQL pass cannot run: %s\n", argv[0],
         getenv("PGTMP_WHY") ? getenv("PGTMP_WHY") : "cannot run tests/pg/pgtmp.sh");
  exit(77);
}

/* A database name from file ("central.db" -> central) and dir (a test's own folder): the
 * same dir and file name the same database, as a path does. */
static void db_name(const char *dir, const char *file, char *out, size_t n)
{
  char stem[24];
  size_t k = 0;
  uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a of dir */

  for (const char *c = dir; *c; c++)
    h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
  for (const char *c = file; *c && *c != '.' && k + 1 < sizeof(stem); c++) {
    if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
      stem[k++] = *c;
    else if (*c >= 'A' && *c <= 'Z')
      stem[k++] = (char)(*c - 'A' + 'a');
  }
  stem[k] = 0;
  ck_assert_int_eq(asr_fmt(out, n, "t_%s_%016" PRIx64, stem, h), ASR_OK);
}

/* A connection to name (a path or a URI); fails the test when it cannot open. */
static cdb *db_connect(const char *name)
{
  cdb_opts o = {.slots = 1, .busy_ms = 10000, .password_file = getenv("PGTMP_PWFILE")};
  char err[512];
  cdb *db = NULL;

  ck_assert_msg(cdb_open(name, &o, &db, err, sizeof(err)) == ASR_OK, "%s", err);
  return db;
}

void testdb_name(const char *dir, const char *file, char *out, size_t n)
{
  char name[64], sql[160];
  int64_t have = 0;
  cdb *db;
  const char *slash, *query;

  if (!on_pg) {
    ck_assert_int_eq(asr_fmt(out, n, "%s/%s", dir, file), ASR_OK);
    return;
  }
  db_name(dir, file, name, sizeof(name));
  db = db_connect(pg_base);
  ck_assert_int_eq(
      asr_fmt(sql, sizeof(sql), "SELECT count(*) FROM pg_database WHERE datname = '%s'", name),
      ASR_OK);
  ck_assert_msg(cdb_query_i64(db, sql, "looking for a test's database", &have, NULL) == ASR_OK,
                "%s", cdb_errmsg(db));
  ck_assert_int_eq(asr_fmt(sql, sizeof(sql), "CREATE DATABASE %s", name), ASR_OK);
  ck_assert_msg(have || cdb_exec(db, sql, "creating a test's database") == ASR_OK, "%s",
                cdb_errmsg(db));
  cdb_close(db);
  /* the base URI with its database replaced: scheme://user@host:port/NAME[?options] */
  slash = strchr(strstr(pg_base, "://") ? strstr(pg_base, "://") + 3 : pg_base, '/');
  ck_assert_ptr_nonnull(slash);
  query = strchr(slash, '?');
  ck_assert_int_eq(
      asr_fmt(out, n, "%.*s/%s%s", (int)(slash - pg_base), pg_base, name, query ? query : ""),
      ASR_OK);
}

int64_t testdb_i64(const char *name, const char *sql)
{
  int64_t v = 0;
  bool row = false;
  cdb *db = db_connect(name);

  ck_assert_msg(cdb_query_i64(db, sql, "a test's query", &v, &row) == ASR_OK, "%s", cdb_errmsg(db));
  ck_assert_msg(row, "%s: no row", sql);
  cdb_close(db);
  return v;
}
