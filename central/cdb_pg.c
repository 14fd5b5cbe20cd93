/* cdb_pg.c: the PostgreSQL backend of the neutral statements (cdb.h), through libpq: the
 * only file of asr-central that includes libpq-fe.h (with cdb_int.h).
 *
 * Why it looks like this:
 * - Statements are prepared once per connection under the name "s<slot>" with ?N
 *   rewritten to $N; parameters go as text (numbers formatted here) or binary (blobs), and
 *   the server infers their types from the SQL, as SQLite's loose typing lets it be
 *   written. Results come as text: a run's rows are held in one PGresult that cdb_step
 *   walks (single-row mode for the big scans is the next step: docs/postgresql-backend.md).
 * - The password never comes from argv: a URI carrying one is refused; it is read from a
 *   private file (--db-password-file) or left to libpq's PGPASSFILE / ~/.pgpass. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "central/cdb_int.h"
#include "common/util.h"

#define PASSWORD_MAX 256
#define CONNECT_TIMEOUT "10" /* seconds, unless the URI says otherwise */

/* ---- errors ---- */

/* The first line of a libpq message (they end with a newline, some have DETAIL lines). */
static void first_line(const char *msg, char *dst, size_t cap)
{
  size_t n = msg ? strcspn(msg, "\n") : 0;

  if (n >= cap)
    n = cap - 1;
  if (n)
    memcpy(dst, msg, n);
  dst[n] = '\0';
}

/* Converts a failed result (or a connection failure when res is NULL) while doing what. */
asr_result cdb_pg_fail(cdb *db, const PGresult *res, const char *what)
{
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char why[256];

  first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg), why, sizeof(why));
  if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))) {
    asr_sql_set_err(db->sql, "%s: %s: database is busy (%s)", db->name, what, why);
    return ASR_ERR_DB_LOCKED;
  }
  if (state && !strcmp(state, "53200")) {
    asr_sql_set_err(db->sql, "%s: %s: out of memory", db->name, what);
    return ASR_ERR_NOMEM;
  }
  asr_sql_set_err(db->sql, "%s: %s: %s", db->name, what, why[0] ? why : "failed");
  return ASR_ERR_DB;
}

/* ---- the password ---- */

static void wipe(char *p, size_t n)
{
  volatile char *v = p;

  while (n--)
    *v++ = 0;
}

/* Reads the first line of a private file into pw (cap bytes). */
static asr_result read_password(cdb *db, const char *path, char *pw, size_t cap)
{
  struct stat sb;
  ssize_t got;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  asr_result r = ASR_ERR_INVALID;

  if (fd < 0) {
    asr_sql_set_err(db->sql, "%s: the password file %s: %s", db->name, path, strerror(errno));
    return ASR_ERR_IO;
  }
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    asr_sql_set_err(db->sql, "%s: the password file %s is not a regular file", db->name, path);
    goto done;
  }
  if (sb.st_mode & 077) {
    asr_sql_set_err(db->sql, "%s: the password file %s is mode %03o: make it private (chmod 600)",
                    db->name, path, (unsigned)(sb.st_mode & 0777));
    goto done;
  }
  got = read(fd, pw, cap - 1);
  if (got < 0) {
    asr_sql_set_err(db->sql, "%s: the password file %s: %s", db->name, path, strerror(errno));
    r = ASR_ERR_IO;
    goto done;
  }
  pw[got] = '\0';
  pw[strcspn(pw, "\r\n")] = '\0';
  r = ASR_OK;
  if (!pw[0]) {
    asr_sql_set_err(db->sql, "%s: the password file %s is empty", db->name, path);
    r = ASR_ERR_INVALID;
  }
done:
  close(fd);
  return r;
}

/* Refuses a URI that carries a password (argv and ps show it) or does not parse. */
static asr_result check_uri(cdb *db)
{
  char *msg = NULL;
  PQconninfoOption *opts = PQconninfoParse(db->name, &msg);
  asr_result r = ASR_OK;

  if (!opts) {
    char why[200];
    first_line(msg ? msg : "out of memory", why, sizeof(why));
    asr_sql_set_err(db->sql, "%s: not a PostgreSQL URI: %s", db->name, why);
    PQfreemem(msg);
    return ASR_ERR_INVALID;
  }
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!strcmp(o->keyword, "password") && o->val && o->val[0]) {
      asr_sql_set_err(db->sql,
                      "postgresql URI: a password in --db is refused (others can read the command "
                      "line): put it in a 0600 file (--db-password-file) or PGPASSFILE");
      r = ASR_ERR_INVALID;
    }
  }
  PQconninfoFree(opts);
  return r;
}

/* ---- the connection ---- */

static void quiet_notices(void *arg, const char *msg)
{
  (void)arg;
  (void)msg; /* NOTICEs (IF NOT EXISTS ...) are not errors: libpq would print them */
}

static asr_result session_settings(cdb *db, int busy_ms)
{
  char sql[160];

  if (asr_fmt(sql, sizeof(sql),
              "SET lock_timeout = %d; SET idle_in_transaction_session_timeout = 60000;"
              " SET client_min_messages = warning",
              busy_ms > 0 ? busy_ms : 1))
    return ASR_ERR_LIMIT;
  return cdb_pg_exec(db, sql, "setting up the session");
}

asr_result cdb_pg_open(cdb *db, const cdb_opts *o)
{
  char pw[PASSWORD_MAX] = "";
  const char *keys[5], *vals[5];
  int k = 0;
  asr_result r = check_uri(db);

  if (!r && o->password_file)
    r = read_password(db, o->password_file, pw, sizeof(pw));
  if (r)
    goto done;
  /* later keywords override earlier ones: the URI's own connect_timeout wins */
  keys[k] = "connect_timeout", vals[k++] = CONNECT_TIMEOUT;
  keys[k] = "application_name", vals[k++] = "asr-central";
  keys[k] = "dbname", vals[k++] = db->name;
  if (pw[0])
    keys[k] = "password", vals[k++] = pw;
  keys[k] = NULL, vals[k] = NULL;
  db->pg = PQconnectdbParams(keys, vals, 1);
  if (!db->pg) {
    r = ASR_ERR_NOMEM;
    goto done;
  }
  if (PQstatus(db->pg) != CONNECTION_OK) {
    r = cdb_pg_fail(db, NULL, "connecting");
    goto done;
  }
  PQsetNoticeProcessor(db->pg, quiet_notices, NULL);
  r = session_settings(db, o->busy_ms);
done:
  wipe(pw, sizeof(pw));
  return r;
}

void cdb_pg_close(cdb *db)
{
  for (size_t i = 0; db->stmt && i < db->slots; i++)
    cdb_pg_reset(&db->stmt[i]);
  if (db->pg)
    PQfinish(db->pg);
  db->pg = NULL;
}

bool cdb_pg_in_tx(cdb *db)
{
  PGTransactionStatusType t = db->pg ? PQtransactionStatus(db->pg) : PQTRANS_UNKNOWN;

  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

bool cdb_pg_tx_failed(cdb *db)
{
  return db->pg && PQtransactionStatus(db->pg) == PQTRANS_INERROR;
}

/* ---- statements ---- */

/* Copies a quoted run ('...' or "...", doubled quotes inside) from *p to the buffer. */
static const char *copy_quoted(const char *p, char *dst, size_t *n)
{
  char q = *p;

  dst[(*n)++] = *p++;
  while (*p) {
    dst[(*n)++] = *p;
    if (*p++ == q) {
      if (*p != q)
        return p;
      dst[(*n)++] = *p++;
    }
  }
  return p;
}

asr_result cdb_pg_rewrite(const char *sql, char **out, int *nparams)
{
  size_t n = 0, cap = strlen(sql) + 1; /* "$N" is as long as "?N" */
  char *dst = malloc(cap);
  const char *p = sql;

  *out = NULL;
  *nparams = 0;
  if (!dst)
    return ASR_ERR_NOMEM;
  while (*p) {
    if (*p == '\'' || *p == '"') {
      p = copy_quoted(p, dst, &n);
      continue;
    }
    if (*p != '?') {
      dst[n++] = *p++;
      continue;
    }
    char *end = NULL;
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || p[1] == '-' || p[1] == '+' || v < 1 || v > CDB_PARAMS_MAX) {
      free(dst);
      return ASR_ERR_INVALID;
    }
    dst[n++] = '$';
    while (++p < end)
      dst[n++] = *p;
    if (v > *nparams)
      *nparams = (int)v;
  }
  dst[n] = '\0';
  *out = dst;
  return ASR_OK;
}

asr_result cdb_pg_prepare(cdb *db, size_t slot, const char *sql, cdb_stmt *s)
{
  char *text = NULL;
  int np = 0;
  PGresult *res;
  asr_result r = cdb_pg_rewrite(sql, &text, &np);

  if (r) {
    asr_sql_set_err(db->sql, "%s: preparing a statement: a parameter is not ?1..?%d", db->name,
                    CDB_PARAMS_MAX);
    return r;
  }
  memset(s, 0, sizeof(*s));
  s->db = db;
  s->row = -1;
  if (asr_fmt(s->name, sizeof(s->name), "s%zu", slot)) {
    free(text);
    return ASR_ERR_LIMIT;
  }
  res = PQprepare(db->pg, s->name, text, np, NULL);
  free(text);
  if (!res)
    r = cdb_pg_fail(db, NULL, "preparing a statement");
  else if (PQresultStatus(res) != PGRES_COMMAND_OK)
    r = cdb_pg_fail(db, res, "preparing a statement");
  PQclear(res);
  if (r)
    s->name[0] = '\0';
  s->nparams = np;
  return r;
}

void cdb_pg_bind(cdb_stmt *s, int i, const char *v, int len, int fmt)
{
  if (i < 1 || i > s->nparams) {
    s->bad = true;
    return;
  }
  s->val[i - 1] = v;
  s->len[i - 1] = len;
  s->fmt[i - 1] = fmt;
}

/* Runs the statement with its parameters: its rows (or its count) into s. */
static asr_result pg_run(cdb_stmt *s, const char *what)
{
  ExecStatusType st;

  s->res = PQexecPrepared(s->db->pg, s->name, s->nparams, s->val, s->len, s->fmt, 0);
  s->ran = true;
  s->row = -1;
  s->changes = 0;
  if (!s->res)
    return cdb_pg_fail(s->db, NULL, what);
  st = PQresultStatus(s->res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return cdb_pg_fail(s->db, s->res, what);
  s->changes = strtoll(PQcmdTuples(s->res), NULL, 10); /* "" for a SELECT: 0 */
  if (st == PGRES_TUPLES_OK && !strncmp(PQcmdStatus(s->res), "SELECT", 6))
    s->changes = 0;
  return ASR_OK;
}

asr_result cdb_pg_step(cdb_stmt *s, const char *what, bool *row)
{
  asr_result r = ASR_OK;

  *row = false;
  if (!s->ran)
    r = pg_run(s, what);
  if (r) {
    int64_t changes = s->changes;
    cdb_pg_reset(s);
    s->changes = changes;
    return r;
  }
  if (PQresultStatus(s->res) == PGRES_TUPLES_OK && s->row + 1 < PQntuples(s->res)) {
    s->row++;
    *row = true;
  }
  return ASR_OK;
}

void cdb_pg_reset(cdb_stmt *s)
{
  PQclear(s->res);
  s->res = NULL;
  PQfreemem(s->blob);
  s->blob = NULL;
  s->ran = false;
  s->row = -1;
  for (int i = 0; i < CDB_PARAMS_MAX; i++) {
    s->val[i] = NULL;
    s->len[i] = 0;
    s->fmt[i] = 0;
  }
}

const char *cdb_pg_col(cdb_stmt *s, int col)
{
  if (!s->res || s->row < 0 || s->row >= PQntuples(s->res) || col < 0 || col >= PQnfields(s->res) ||
      PQgetisnull(s->res, s->row, col))
    return NULL;
  return PQgetvalue(s->res, s->row, col);
}

const void *cdb_pg_col_blob(cdb_stmt *s, int col, size_t *n)
{
  const char *v = cdb_pg_col(s, col);

  *n = 0;
  PQfreemem(s->blob);
  s->blob = NULL;
  if (!v)
    return NULL;
  s->blob = PQunescapeBytea((const unsigned char *)v, n); /* text results: "\x..." */
  if (!s->blob)
    *n = 0;
  return s->blob;
}

asr_result cdb_pg_exec(cdb *db, const char *sql, const char *what)
{
  PGresult *res = PQexec(db->pg, sql);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  asr_result r = ASR_OK;

  if (!res)
    r = cdb_pg_fail(db, NULL, what);
  else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
    r = cdb_pg_fail(db, res, what);
  PQclear(res);
  return r;
}
