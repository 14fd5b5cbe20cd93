/* sqlutil.c: the SQL plumbing of both stores (sqlutil.h says why it is shared). */
#include "store/sqlutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

/* How long asr_sql_journal_wal waits between tries. */
#define WAL_RETRY_MS 10

/* ---- the connection ---- */

asr_result asr_sql_open(asr_sql *c, int flags, int busy_ms)
{
  int rc = sqlite3_open_v2(c->path, &c->db, flags, NULL);

  if (rc != SQLITE_OK)
    return asr_sql_fail(c, rc, "opening");
  c->busy_ms = busy_ms;
  sqlite3_busy_timeout(c->db, busy_ms);
  return ASR_OK;
}

void asr_sql_close(asr_sql *c)
{
  if (!c)
    return;
  for (size_t i = 0; c->cache && i < c->ncache; i++) {
    sqlite3_finalize(c->cache[i]);
    c->cache[i] = NULL;
  }
  if (c->db && sqlite3_close(c->db) != SQLITE_OK)
    asr_log(ASR_LOG_WARN, "%s: closing: %s", c->path, sqlite3_errmsg(c->db));
  c->db = NULL;
}

/* ---- errors ---- */

void asr_sql_set_err(asr_sql *c, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(c->err, c->errn, fmt, ap);
  va_end(ap);
  if (n < 0)
    asr_strlcpy_cut(c->err, "database error", c->errn);
  asr_log(ASR_LOG_INFO, "%s", c->err);
}

asr_result asr_sql_fail(asr_sql *c, int rc, const char *what)
{
  return c->fail ? c->fail(c, rc, what) : asr_sql_fail_plain(c, rc, what);
}

asr_result asr_sql_fail_plain(asr_sql *c, int rc, const char *what)
{
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    asr_sql_set_err(c, "%s: %s: database is busy", c->path, what);
    return ASR_ERR_DB_LOCKED;
  case SQLITE_NOMEM:
    asr_sql_set_err(c, "%s: %s: out of memory", c->path, what);
    return ASR_ERR_NOMEM;
  default:
    asr_sql_set_err(c, "%s: %s: %s", c->path, what,
                    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    return ASR_ERR_DB;
  }
}

/* A handle without a SQLite connection (asr-central's handle on PostgreSQL, reached by a
 * part of it that is SQLite-only) refuses with a message: never a crash. */
static asr_result no_connection(asr_sql *c)
{
  asr_sql_set_err(c, "%s: this needs a SQLite database (not available on PostgreSQL)", c->path);
  return ASR_ERR_DB;
}

/* ---- statements ---- */

asr_result asr_sql_cached(asr_sql *c, size_t slot, const char *sql, sqlite3_stmt **out)
{
  if (slot >= c->ncache)
    return ASR_ERR_LIMIT;
  if (!c->db)
    return no_connection(c);
  if (!c->cache[slot]) {
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->cache[slot], NULL);
    if (rc != SQLITE_OK)
      return asr_sql_fail(c, rc, "preparing a statement");
  }
  *out = c->cache[slot];
  return ASR_OK;
}

asr_result asr_sql_prep(asr_sql *c, const char *sql, sqlite3_stmt **s)
{
  int rc;

  *s = NULL;
  if (!c->db)
    return no_connection(c);
  rc = sqlite3_prepare_v2(c->db, sql, -1, s, NULL);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(*s);
    *s = NULL;
    return asr_sql_fail(c, rc, "preparing a statement");
  }
  return ASR_OK;
}

void asr_sql_done(sqlite3_stmt *s)
{
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

asr_result asr_sql_run(asr_sql *c, sqlite3_stmt *s, const char *what)
{
  asr_result r = ASR_OK;
  int rc = sqlite3_step(s);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = asr_sql_fail(c, rc, what);
  asr_sql_done(s);
  return r;
}

asr_result asr_sql_row(asr_sql *c, sqlite3_stmt *s, const char *what, bool *row)
{
  int rc = sqlite3_step(s);

  asr_result r;

  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return ASR_OK;
  r = asr_sql_fail(c, rc, what); /* before the reset: the message is the step's */
  asr_sql_done(s);
  return r;
}

asr_result asr_sql_finish(asr_sql *c, sqlite3_stmt *s, const char *what)
{
  int rc = sqlite3_step(s);
  asr_result r = ASR_OK;

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = asr_sql_fail(c, rc, what);
  sqlite3_finalize(s);
  return r;
}

asr_result asr_sql_exec(asr_sql *c, const char *sql, const char *what)
{
  int rc;

  if (!c->db)
    return no_connection(c);
  rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? ASR_OK : asr_sql_fail(c, rc, what);
}

asr_result asr_sql_query_i64(asr_sql *c, const char *sql, int64_t p1, const char *what,
                             int64_t *out, bool *row)
{
  sqlite3_stmt *s = NULL;
  asr_result r = ASR_OK;
  int rc;

  *out = 0;
  if (!c->db)
    return no_connection(c);
  rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
  if (rc == SQLITE_OK && sqlite3_bind_parameter_count(s) > 0)
    sqlite3_bind_int64(s, 1, p1);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(s, 0);
  else if (rc != SQLITE_DONE)
    r = asr_sql_fail(c, rc, what);
  if (row)
    *row = rc == SQLITE_ROW;
  sqlite3_finalize(s);
  return r;
}

asr_result asr_sql_query_int(asr_sql *c, const char *sql, const char *what, int *out)
{
  int64_t v = 0;
  asr_result r = asr_sql_query_i64(c, sql, 0, what, &v, NULL);

  *out = (int)v;
  return r;
}

void asr_sql_rollback(asr_sql *c)
{
  if (c->db && !sqlite3_get_autocommit(c->db))
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- binding and columns ---- */

void asr_sql_bind_text(sqlite3_stmt *s, int i, const char *v)
{
  sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

void asr_sql_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

void asr_sql_bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
  if (v >= 0)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

const char *asr_sql_col_text(sqlite3_stmt *s, int col)
{
  return (const char *)sqlite3_column_text(s, col);
}

void asr_sql_text_copy(const char *v, char *dst, size_t cap)
{
  if (asr_strlcpy(dst, v ? v : "", cap) != ASR_OK)
    dst[0] = '\0';
}

const char *asr_sql_text_cut(const char *v, char *dst, size_t cap)
{
  size_t n;

  if (asr_strlcpy(dst, v ? v : "", cap) != ASR_OK) {
    n = strlen(dst);
    while (n > 0 && ((unsigned char)dst[n - 1] & 0xc0) == 0x80)
      n--;
    if (n > 0 && ((unsigned char)dst[n - 1] & 0x80))
      n--;
    dst[n] = '\0';
  }
  return v ? dst : NULL;
}

void asr_sql_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
  asr_sql_text_copy(asr_sql_col_text(s, col), dst, cap);
}

const char *asr_sql_col_cut(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
  return asr_sql_text_cut(asr_sql_col_text(s, col), dst, cap);
}

/* ---- the schema ---- */

int asr_sql_schema_latest(const asr_sql_step *steps, size_t n)
{
  return n ? steps[n - 1].version : 0;
}

/* The version and the number of tables, read by one statement: one snapshot. */
static asr_result read_version(asr_sql *c, int *version, int64_t *tables)
{
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(c,
                              "SELECT (SELECT user_version FROM pragma_user_version),"
                              " (SELECT count(*) FROM sqlite_master)",
                              &s);
  bool row = false;

  if (r)
    return r;
  r = asr_sql_row(c, s, "reading the schema", &row);
  *version = row ? sqlite3_column_int(s, 0) : 0;
  *tables = row ? sqlite3_column_int64(s, 1) : 0;
  sqlite3_finalize(s);
  return r;
}

/* The refusals of asr_sql_check_version, on what read_version read. */
static asr_result refuse_foreign(asr_sql *c, const asr_sql_step *steps, size_t n,
                                 const char *program, int version, int64_t tables)
{
  int latest = asr_sql_schema_latest(steps, n);

  if (version > latest) {
    asr_sql_set_err(c,
                    "%s: database schema version %d is newer than this program's (%d):"
                    " use a newer %s",
                    c->path, version, latest, program);
    return ASR_ERR_DB_VERSION;
  }
  if (version == 0 && tables > 0) {
    asr_sql_set_err(c, "%s: not an %s database (it has tables but no version)", c->path, program);
    return ASR_ERR_DB;
  }
  return ASR_OK;
}

asr_result asr_sql_check_version(asr_sql *c, const asr_sql_step *steps, size_t n,
                                 const char *program, int *version)
{
  int64_t tables = 0;
  asr_result r = read_version(c, version, &tables);

  return r ? r : refuse_foreign(c, steps, n, program, *version, tables);
}

/* The first step above version (NULL: none). */
static const asr_sql_step *next_step(const asr_sql_step *steps, size_t n, int version)
{
  for (size_t i = 0; i < n; i++) {
    if (steps[i].version > version)
      return &steps[i];
  }
  return NULL;
}

/* In one transaction that holds the write lock from its start: the version read and
 * checked again, then the next missing step (unless another process applied them all
 * meanwhile: *done). Checking and migrating under one lock is what makes two processes
 * creating one file at once safe: neither sees the other's tables without its version. */
static asr_result migrate_next(asr_sql *c, const asr_sql_step *steps, size_t n, const char *program,
                               bool *done)
{
  const asr_sql_step *step = NULL;
  char set[64];
  int v = 0;
  asr_result r = asr_sql_exec(c, "BEGIN IMMEDIATE", "starting a migration");

  if (r)
    return r;
  r = asr_sql_check_version(c, steps, n, program, &v);
  if (!r)
    step = next_step(steps, n, v);
  *done = !step;
  if (r || !step)
    goto out;
  r = asr_sql_exec(c, step->sql, "migrating the schema");
  if (!r)
    r = asr_fmt(set, sizeof(set), "PRAGMA user_version = %d", step->version);
  if (!r)
    r = asr_sql_exec(c, set, "setting the schema version");
out:
  if (!r)
    r = asr_sql_exec(c, "COMMIT", "committing a migration");
  if (r)
    asr_sql_rollback(c);
  else if (step)
    asr_log(ASR_LOG_INFO, "%s: schema migrated to version %d", c->path, step->version);
  return r;
}

asr_result asr_sql_migrate(asr_sql *c, const asr_sql_step *steps, size_t n, const char *program)
{
  int v = 0;
  bool done = false;
  asr_result r = asr_sql_check_version(c, steps, n, program, &v);

  if (r || v == asr_sql_schema_latest(steps, n))
    return r;
  /* each pass applies a step of a higher version: n passes at most, one more to see it */
  for (size_t i = 0; !r && !done && i <= n; i++)
    r = migrate_next(c, steps, n, program, &done);
  return r;
}

/* One try at WAL: SQLite's result code (SQLITE_OK when it answered). */
static int wal_once(asr_sql *c, char *mode, size_t cap)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    if (mode && cap)
      asr_sql_text_copy(asr_sql_col_text(s, 0), mode, cap);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s); /* keeps the connection's message of a failed step */
  return rc;
}

/* Switching a file into WAL takes the write lock while holding a read lock, where SQLite
 * never waits (two connections waiting so could deadlock): the switch answers busy at
 * once while another process writes, e.g. migrates the file both are creating. */
asr_result asr_sql_journal_wal(asr_sql *c, char *mode, size_t cap)
{
  int64_t deadline;
  int rc;

  if (!c->db)
    return no_connection(c);
  deadline = asr_platform_monotonic_ms() + c->busy_ms;
  rc = wal_once(c, mode, cap);
  while ((rc & 0xff) == SQLITE_BUSY && asr_platform_monotonic_ms() < deadline) {
    asr_platform_sleep_ms(WAL_RETRY_MS);
    rc = wal_once(c, mode, cap);
  }
  return rc == SQLITE_OK ? ASR_OK : asr_sql_fail(c, rc, "setting WAL mode");
}

/* ---- the file ---- */

void asr_sql_narrow(const char *path, const char *holds)
{
  if (asr_platform_narrow(path))
    asr_log(ASR_LOG_WARN, "%s: was readable by others, now 0600 (it holds %s)", path, holds);
}

asr_result asr_sql_file_private(asr_sql *c, const char *holds)
{
  int created = asr_platform_create_private(c->path);

  if (created < 0) {
    asr_sql_set_err(c, "%s: cannot create: %s", c->path, strerror(errno));
    return ASR_ERR_DB;
  }
  if (created == 1)
    return ASR_OK;
  errno = 0;
  if (!asr_platform_is_rw_file(c->path)) {
    if (errno == 0 || errno == EINVAL)
      asr_sql_set_err(c, "%s: not a regular file", c->path);
    else
      asr_sql_set_err(c, "%s: cannot open: %s", c->path, strerror(errno));
    return ASR_ERR_DB;
  }
  asr_sql_narrow(c->path, holds);
  return ASR_OK;
}
