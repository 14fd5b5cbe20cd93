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
#define CONN_KEYS 10         /* conn_keywords: 7 defaults, dbname, password, NULL */

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

static asr_result session_settings(cdb *db);

/* The connection is gone (a server restart, a failover, a session ended by the server):
 * made again once (PQreset, within connect_timeout), the prepared statements forgotten
 * (the new session has none: cdb_prepare prepares them again), and ASR_ERR_DB_LOCKED
 * returned so that the caller's retry runs its whole transaction again. A transaction that
 * was open is lost with the session: everything fails until cdb_rollback. */
static asr_result pg_lost(cdb *db, const char *what, const char *why)
{
  char again[200];

  for (size_t i = 0; db->stmt && i < db->slots; i++)
    db->stmt[i].name[0] = '\0';
  db->tx_lost = db->in_tx;
  PQreset(db->pg);
  if (PQstatus(db->pg) != CONNECTION_OK) {
    first_line(PQerrorMessage(db->pg), again, sizeof(again));
    asr_sql_set_err(db->sql, "%s: %s: the connection was lost (%s) and cannot be made again: %s",
                    db->name, what, why, again[0] ? again : "failed");
    return ASR_ERR_DB;
  }
  if (session_settings(db) != ASR_OK)
    return ASR_ERR_DB; /* its message is set */
  asr_sql_set_err(db->sql, "%s: %s: the connection was lost (%s) and made again: retry", db->name,
                  what, why);
  return ASR_ERR_DB_LOCKED;
}

/* Converts a failed result (or a connection failure when res is NULL) while doing what. */
asr_result cdb_pg_fail(cdb *db, const PGresult *res, const char *what)
{
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char why[256];

  first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg), why, sizeof(why));
  if (db->connected && !db->resetting && db->pg && PQstatus(db->pg) == CONNECTION_BAD) {
    asr_result r;
    db->resetting = true; /* once: a failure while making it again is not retried */
    r = pg_lost(db, what, why[0] ? why : "no answer");
    db->resetting = false;
    return r;
  }
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

/* Reads the first line of a private file into pw (cap bytes): a regular file (not a link:
 * O_NOFOLLOW), ours, no group or other bits. */
static asr_result read_password(cdb *db, const char *path, char *pw, size_t cap)
{
  struct stat sb;
  ssize_t got;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
  asr_result r = ASR_ERR_INVALID;

  if (fd < 0 && errno == ELOOP) {
    asr_sql_set_err(db->sql, "%s: the password file %s is a symbolic link: give the file itself",
                    db->name, path);
    return ASR_ERR_INVALID;
  }
  if (fd < 0) {
    asr_sql_set_err(db->sql, "%s: the password file %s: %s", db->name, path, strerror(errno));
    return ASR_ERR_IO;
  }
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    asr_sql_set_err(db->sql, "%s: the password file %s is not a regular file", db->name, path);
    goto done;
  }
  if (sb.st_uid != geteuid()) {
    asr_sql_set_err(db->sql, "%s: the password file %s is owned by uid %u, not by us (uid %u)",
                    db->name, path, (unsigned)sb.st_uid, (unsigned)geteuid());
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
  if ((size_t)got == cap - 1 && !strpbrk(pw, "\r\n")) { /* never a cut password */
    asr_sql_set_err(db->sql, "%s: the password file %s: its first line is longer than %zu bytes",
                    db->name, path, cap - 2);
    goto done;
  }
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

/* Appends n bytes of p to dst (cap bytes, *len used), cut when full. */
static void put(char *dst, size_t cap, size_t *len, const char *p, size_t n)
{
  if (*len + n >= cap)
    n = cap - 1 - *len;
  memcpy(dst + *len, p, n);
  *len += n;
  dst[*len] = '\0';
}

/* (here, not in cdb.c: cdb.c calls into this file, never the other way) */
bool cdb_is_pg_name(const char *name)
{
  return name && (strncmp(name, "postgresql://", 13) == 0 || strncmp(name, "postgres://", 11) == 0);
}

void cdb_redact(const char *uri, char *dst, size_t cap)
{
  const char *p = strstr(uri, "://"), *auth, *end, *at = NULL, *colon = NULL;
  size_t len = 0;

  if (!cap)
    return;
  dst[0] = '\0';
  if (!cdb_is_pg_name(uri)) {
    put(dst, cap, &len, uri, strlen(uri));
    return;
  }
  auth = p ? p + 3 : uri;
  end = auth + strcspn(auth, "/?#");
  for (const char *q = auth; q < end; q++) /* the last '@' ends the user part */
    at = *q == '@' ? q : at;
  for (const char *q = auth; at && q < at && !colon; q++)
    colon = *q == ':' ? q : NULL;
  if (colon) {
    put(dst, cap, &len, uri, (size_t)(colon + 1 - uri));
    put(dst, cap, &len, "***", 3);
    p = at;
  } else {
    p = uri;
  }
  while (*p) { /* the query's password=VALUE */
    size_t n = strcspn(p, "?&");
    bool pw = p > uri && (p[-1] == '?' || p[-1] == '&') && !strncmp(p, "password=", 9);
    if (pw) {
      put(dst, cap, &len, "password=***", 12);
      p += n;
    } else {
      put(dst, cap, &len, p, n ? n : 1);
      p += n ? n : 1;
    }
  }
}

/* Refuses a URI that carries a password (argv and ps show it) or does not parse; the
 * message names the URI with any password as "***". */
static asr_result check_uri(cdb *db)
{
  char *msg = NULL, shown[CDB_ERR_MAX / 2];
  PQconninfoOption *opts = PQconninfoParse(db->name, &msg);
  asr_result r = ASR_OK;

  cdb_redact(db->name, shown, sizeof(shown));
  if (!opts) {
    char why[200];
    first_line(msg ? msg : "out of memory", why, sizeof(why));
    if (strcmp(shown, db->name) != 0) /* libpq's words may quote the password */
      asr_strlcpy_cut(why, "it does not parse", sizeof(why));
    asr_sql_set_err(db->sql, "%s: not a PostgreSQL URI: %s", shown, why);
    PQfreemem(msg);
    return ASR_ERR_INVALID;
  }
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!strcmp(o->keyword, "password") && o->val && o->val[0]) {
      if (strstr(shown, o->val)) /* spelled so that the mask missed it (%70assword=) */
        asr_strlcpy_cut(shown, "the --db URI", sizeof(shown));
      asr_sql_set_err(db->sql,
                      "%s: a password in --db is refused (others can read the command line):"
                      " put it in a 0600 file (--db-password-file) or PGPASSFILE",
                      shown);
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

/* The session's settings, on each connection (made again too): lock_timeout is the busy
 * timeout, a transaction left idle by a hung node ends after a minute. Run with PQexec so
 * that a failure here is not taken for a lost connection again. */
static asr_result session_settings(cdb *db)
{
  char sql[160];
  PGresult *res;
  asr_result r = ASR_OK;

  if (asr_fmt(sql, sizeof(sql),
              "SET lock_timeout = %d; SET idle_in_transaction_session_timeout = 60000;"
              " SET client_min_messages = warning",
              db->busy_ms > 0 ? db->busy_ms : 1))
    return ASR_ERR_LIMIT;
  res = PQexec(db->pg, sql);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    char why[200];
    first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg), why, sizeof(why));
    asr_sql_set_err(db->sql, "%s: setting up the session: %s", db->name, why);
    r = ASR_ERR_DB;
  }
  PQclear(res);
  return r;
}

/* The connection's keywords: our defaults first (the URI's own settings, expanded from
 * dbname, override them), then the password when read from its file. Every wait on the
 * server has a deadline: the connection (connect_timeout), a dead peer or network
 * (keepalives, tcp_user_timeout); lock waits end with lock_timeout (session_settings). */
static int conn_keywords(cdb *db, const char *pw, const char **keys, const char **vals)
{
  static const char *const dflt[][2] = {
      {"connect_timeout", CONNECT_TIMEOUT},
      {"application_name", "asr-central"},
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"},
  };
  int k = 0;

  for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
    keys[k] = dflt[i][0], vals[k++] = dflt[i][1];
  keys[k] = "dbname", vals[k++] = db->name;
  if (pw[0])
    keys[k] = "password", vals[k++] = pw;
  keys[k] = NULL, vals[k] = NULL;
  return k;
}

asr_result cdb_pg_open(cdb *db, const cdb_opts *o)
{
  char pw[PASSWORD_MAX] = "";
  const char *keys[CONN_KEYS], *vals[CONN_KEYS];
  asr_result r = check_uri(db);

  if (!r && o->password_file)
    r = read_password(db, o->password_file, pw, sizeof(pw));
  if (r)
    goto done;
  db->busy_ms = o->busy_ms;
  conn_keywords(db, pw, keys, vals);
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
  r = session_settings(db);
  db->connected = !r;
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

asr_result cdb_pg_tx_check(cdb *db, const char *what)
{
  if (!db->tx_lost)
    return ASR_OK;
  asr_sql_set_err(db->sql, "%s: %s: the transaction was lost with the connection: retry", db->name,
                  what);
  return ASR_ERR_DB_LOCKED;
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
  cdb_pg_reset(s); /* a slot prepared again (after a reconnection) keeps nothing */
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
  asr_result r = cdb_pg_tx_check(s->db, what);

  if (r)
    return r;
  if (!s->name[0]) { /* forgotten with a lost connection while held: prepare it again */
    asr_sql_set_err(s->db->sql, "%s: %s: the connection was made again: retry", s->db->name, what);
    return ASR_ERR_DB_LOCKED;
  }
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
