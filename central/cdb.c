/* cdb.c: the neutral statements (cdb.h): the dispatch to a backend, and SQLite's backend
 * over store/sqlutil.h (PostgreSQL's is cdb_pg.c). */
#include "central/cdb.h"

#include <stdlib.h>
#include <string.h>

#include "central/cdb_int.h"
#include "common/util.h"

/* ---- opening and closing ---- */

static asr_result lite_open(cdb *db, const cdb_opts *o)
{
  db->lite_cache = calloc(db->slots, sizeof(*db->lite_cache));
  if (!db->lite_cache)
    return ASR_ERR_NOMEM;
  db->own.cache = db->lite_cache;
  db->own.ncache = db->slots;
  return asr_sql_open(db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      o->busy_ms);
}

asr_result cdb_open(const char *name, const cdb_opts *o, cdb **out, char *err, size_t n)
{
  cdb *db = calloc(1, sizeof(*db));
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (!db || !(db->name = strdup(name)))
    goto fail;
  db->kind = cdb_is_pg_name(name) ? CDB_PG : CDB_SQLITE;
  db->slots = o->slots;
  db->own = (asr_sql){.path = db->name, .err = db->err, .errn = sizeof(db->err)};
  db->sql = &db->own;
  db->stmt = calloc(db->slots ? db->slots : 1, sizeof(*db->stmt));
  if (!db->stmt)
    goto fail;
  r = db->kind == CDB_PG ? cdb_pg_open(db, o) : lite_open(db, o);
  if (r)
    goto fail;
  *out = db;
  return ASR_OK;
fail:
  if (err && n && asr_strlcpy(err, db ? cdb_errmsg(db) : "out of memory", n) != ASR_OK) {
    /* cut to n bytes: its start says what failed */
  }
  cdb_close(db);
  return r;
}

void cdb_close(cdb *db)
{
  if (!db)
    return;
  if (db->kind == CDB_PG)
    cdb_pg_close(db);
  else if (!db->borrowed)
    asr_sql_close(db->sql);
  free(db->lite_cache);
  free(db->stmt);
  free(db->name);
  free(db);
}

void cdb_use_errbuf(cdb *db, char *buf, size_t n)
{
  db->sql->err = buf;
  db->sql->errn = n;
}

cdb_kind cdb_backend(const cdb *db)
{
  return db->kind;
}

const char *cdb_errmsg(const cdb *db)
{
  if (!db || !db->sql)
    return db ? "out of memory" : "no database";
  return db->sql->err[0] ? db->sql->err : "no error";
}

asr_result cdb_wrap_sqlite(asr_sql *c, cdb **out)
{
  cdb *db = calloc(1, sizeof(*db));

  *out = NULL;
  if (!db || !(db->name = strdup(c->path)) || !(db->stmt = calloc(c->ncache, sizeof(*db->stmt)))) {
    cdb_close(db);
    return ASR_ERR_NOMEM;
  }
  db->kind = CDB_SQLITE;
  db->sql = c;
  db->borrowed = true;
  db->slots = c->ncache;
  *out = db;
  return ASR_OK;
}

/* ---- statements ---- */

asr_result cdb_prepare(cdb *db, size_t slot, const char *sql, cdb_stmt **out)
{
  cdb_stmt *s;
  asr_result r = ASR_OK;

  *out = NULL;
  if (slot >= db->slots)
    return ASR_ERR_LIMIT;
  s = &db->stmt[slot];
  if (db->kind == CDB_PG && !s->name[0])
    r = cdb_pg_prepare(db, slot, sql, s);
  else if (db->kind == CDB_SQLITE && !s->lite)
    r = asr_sql_cached(db->sql, slot, sql, &s->lite);
  if (r)
    return r;
  s->db = db;
  *out = s;
  return ASR_OK;
}

asr_result cdb_prepare_scan(cdb *db, size_t slot, const char *sql, cdb_stmt **out)
{
  asr_result r = cdb_prepare(db, slot, sql, out);

  if (!r)
    (*out)->scan_sql = sql; /* set each time: a new connection's prepare clears it */
  return r;
}

/* Records a failed bind (SQLite's rc): the next step reports it. */
static void lite_bound(cdb_stmt *s, int rc)
{
  if (rc != SQLITE_OK)
    s->bad = true;
}

void cdb_bind_i64(cdb_stmt *s, int i, int64_t v)
{
  if (s->db->kind == CDB_SQLITE) {
    lite_bound(s, sqlite3_bind_int64(s->lite, i, v));
  } else if (i < 1 || i > CDB_PARAMS_MAX ||
             asr_fmt(s->num[i - 1], CDB_NUM_MAX, "%lld", (long long)v)) {
    s->bad = true;
  } else {
    cdb_pg_bind(s, i, s->num[i - 1], 0, 0);
  }
}

void cdb_bind_double(cdb_stmt *s, int i, double v)
{
  if (s->db->kind == CDB_SQLITE) {
    lite_bound(s, sqlite3_bind_double(s->lite, i, v));
  } else if (i < 1 || i > CDB_PARAMS_MAX || asr_fmt(s->num[i - 1], CDB_NUM_MAX, "%.17g", v)) {
    s->bad = true;
  } else {
    cdb_pg_bind(s, i, s->num[i - 1], 0, 0);
  }
}

void cdb_bind_text(cdb_stmt *s, int i, const char *v)
{
  if (s->db->kind == CDB_SQLITE)
    lite_bound(s, v ? sqlite3_bind_text(s->lite, i, v, -1, SQLITE_STATIC)
                    : sqlite3_bind_null(s->lite, i));
  else
    cdb_pg_bind(s, i, v, 0, 0);
}

void cdb_bind_blob(cdb_stmt *s, int i, const void *p, size_t n)
{
  if (s->db->kind == CDB_SQLITE)
    lite_bound(s, sqlite3_bind_blob64(s->lite, i, n ? p : "", n, SQLITE_STATIC));
  else if (n > INT32_MAX)
    s->bad = true;
  else
    cdb_pg_bind(s, i, n ? p : "", (int)n, 1);
}

void cdb_bind_null(cdb_stmt *s, int i)
{
  if (s->db->kind == CDB_SQLITE)
    lite_bound(s, sqlite3_bind_null(s->lite, i));
  else
    cdb_pg_bind(s, i, NULL, 0, 0);
}

void cdb_bind_opt_i64(cdb_stmt *s, int i, int64_t v)
{
  if (v >= 0)
    cdb_bind_i64(s, i, v);
  else
    cdb_bind_null(s, i);
}

asr_result cdb_step(cdb_stmt *s, const char *what, bool *row)
{
  asr_result r = s->db->kind == CDB_PG ? cdb_pg_tx_check(s->db, what) : ASR_OK;

  *row = false;
  if (!r && s->bad) {
    asr_sql_set_err(s->db->sql, "%s: %s: a parameter could not be bound", s->db->name, what);
    r = ASR_ERR_INVALID;
  }
  if (r) { /* a bad bind, or a transaction lost with its connection (a scan's cursor too) */
    cdb_reset(s);
    return r;
  }
  if (s->db->kind == CDB_PG)
    return s->scan_sql ? cdb_pg_scan_step(s, what, row) : cdb_pg_step(s, what, row);
  return asr_sql_row(s->db->sql, s->lite, what, row);
}

void cdb_reset(cdb_stmt *s)
{
  s->bad = false;
  if (s->db->kind == CDB_PG && s->cursor)
    cdb_pg_scan_close(s);
  if (s->db->kind == CDB_PG)
    cdb_pg_reset(s);
  else
    asr_sql_done(s->lite);
}

asr_result cdb_run(cdb_stmt *s, const char *what)
{
  bool row = true;
  asr_result r = ASR_OK;

  while (!r && row)
    r = cdb_step(s, what, &row);
  if (s->db->kind == CDB_SQLITE) /* before the reset: a RETURNING statement's count too */
    s->changes = sqlite3_changes64(s->db->sql->db);
  cdb_reset(s);
  return r;
}

int64_t cdb_changes(cdb_stmt *s)
{
  return s->changes;
}

/* ---- columns ---- */

int64_t cdb_col_i64(cdb_stmt *s, int col)
{
  const char *v;

  if (s->db->kind == CDB_SQLITE)
    return sqlite3_column_int64(s->lite, col);
  v = cdb_pg_col(s, col);
  if (!v)
    return 0;
  if (v[0] == 't' || v[0] == 'f') /* a boolean: SQLite's comparisons give 1 and 0 */
    return v[0] == 't';
  return strtoll(v, NULL, 10);
}

double cdb_col_double(cdb_stmt *s, int col)
{
  const char *v;

  if (s->db->kind == CDB_SQLITE)
    return sqlite3_column_double(s->lite, col);
  v = cdb_pg_col(s, col);
  return v ? strtod(v, NULL) : 0.0;
}

const char *cdb_col_text(cdb_stmt *s, int col)
{
  if (s->db->kind == CDB_SQLITE)
    return asr_sql_col_text(s->lite, col);
  return cdb_pg_col(s, col);
}

const void *cdb_col_blob(cdb_stmt *s, int col, size_t *n)
{
  const void *p;
  int len;

  if (s->db->kind == CDB_PG)
    return cdb_pg_col_blob(s, col, n);
  p = sqlite3_column_blob(s->lite, col);
  len = sqlite3_column_bytes(s->lite, col);
  *n = len > 0 ? (size_t)len : 0;
  return p;
}

bool cdb_col_null(cdb_stmt *s, int col)
{
  if (s->db->kind == CDB_SQLITE)
    return sqlite3_column_type(s->lite, col) == SQLITE_NULL;
  return cdb_pg_col(s, col) == NULL;
}

void cdb_col_copy(cdb_stmt *s, int col, char *dst, size_t cap)
{
  asr_sql_text_copy(cdb_col_text(s, col), dst, cap);
}

const char *cdb_col_cut(cdb_stmt *s, int col, char *dst, size_t cap)
{
  return asr_sql_text_cut(cdb_col_text(s, col), dst, cap);
}

/* ---- text and transactions ---- */

asr_result cdb_exec(cdb *db, const char *sql, const char *what)
{
  asr_result r;

  if (db->kind == CDB_PG) {
    r = cdb_pg_tx_check(db, what);
    return r ? r : cdb_pg_exec(db, sql, what);
  }
  return asr_sql_exec(db->sql, sql, what);
}

asr_result cdb_begin(cdb *db)
{
  asr_result r =
      cdb_exec(db, db->kind == CDB_PG ? "BEGIN" : "BEGIN IMMEDIATE", "starting a transaction");

  db->in_tx = !r;
  return r;
}

asr_result cdb_commit(cdb *db, const char *what)
{
  asr_result r;

  if (db->kind == CDB_PG && cdb_pg_tx_failed(db)) { /* PostgreSQL "commits" it as a rollback */
    asr_sql_set_err(db->sql, "%s: %s: the transaction failed earlier", db->name, what);
    cdb_rollback(db);
    return ASR_ERR_DB;
  }
  r = cdb_exec(db, "COMMIT", what);
  if (r)
    cdb_rollback(db);
  db->in_tx = false;
  return r;
}

void cdb_rollback(cdb *db)
{
  db->in_tx = false;
  db->tx_lost = false;
  if (db->kind == CDB_SQLITE)
    asr_sql_rollback(db->sql);
  else if (cdb_pg_in_tx(db))
    (void)cdb_pg_exec(db, "ROLLBACK", "rolling back");
}
