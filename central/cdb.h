/* cdb.h: asr-central's neutral SQL statements, one interface over two backends: SQLite
 * (a file path, the embedded default; through store/sqlutil.h) and PostgreSQL (a libpq
 * URI "postgresql://user@host:port/dbname"; central/cdb_pg.c). The store's files
 * (cstore_*.c) are to call these instead of sqlite3_* so that their SQL is written once
 * (docs/postgresql-backend.md is the plan; not wired into cstore yet).
 *
 * The SQL is written with SQLite's numbered parameters ?1..?N (each may appear several
 * times); the PostgreSQL backend rewrites them to $1..$N once, when it prepares. Binding
 * is SQLITE_STATIC-like: text and blobs bound must stay valid until the statement is
 * reset. Columns are read from the current row; text and blobs stay valid until the next
 * step or reset. Errors are converted once: busy, locked, serialization failures and
 * deadlocks (SQLSTATE 40001, 40P01, 55P03) are ASR_ERR_DB_LOCKED (retry the
 * transaction), out of memory ASR_ERR_NOMEM, anything else ASR_ERR_DB; the message
 * (cdb_errmsg) reads "DATABASE: what: why". */
#ifndef ASR_CDB_H
#define ASR_CDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"
#include "store/sqlutil.h"

typedef struct cdb cdb;
typedef struct cdb_stmt cdb_stmt;

typedef enum { CDB_SQLITE, CDB_PG } cdb_kind;

#define CDB_PARAMS_MAX 32 /* ?1..?32 */

typedef struct {
  size_t slots;              /* statement cache slots (cdb_prepare's slot < slots) */
  int busy_ms;               /* SQLite's busy timeout; PostgreSQL's lock_timeout */
  const char *password_file; /* PostgreSQL: a private (0600) file holding the password,
                                or NULL: libpq's PGPASSFILE / ~/.pgpass */
} cdb_opts;

/* True when name is a PostgreSQL URI (postgresql:// or postgres://), else a file path. */
bool cdb_is_pg_name(const char *name);

/* Copies name into dst (cap bytes, cut when longer) as messages show it: a PostgreSQL
 * URI's password (user:PASSWORD@, password=VALUE) as "***". */
void cdb_redact(const char *name, char *dst, size_t cap);

/* Opens name (a file path: created when missing; or a PostgreSQL URI, which must not
 * carry a password). On error *out is NULL and err (n bytes) says why. */
asr_result cdb_open(const char *name, const cdb_opts *o, cdb **out, char *err, size_t n);

/* A cdb over a store's open SQLite connection c (its statement cache and message
 * buffer): cdb_prepare's slots are c's cache slots, and cdb_close leaves c open (the
 * store closes it). For the store's files converted one at a time. */
asr_result cdb_wrap_sqlite(asr_sql *c, cdb **out);

/* Finalizes the cached statements and closes the connection. NULL is fine. */
void cdb_close(cdb *db);

/* The backend of db. */
cdb_kind cdb_backend(const cdb *db);

/* Makes buf (n bytes, which outlives db) the buffer of db's messages: a store that sets
 * its own messages too keeps one. */
void cdb_use_errbuf(cdb *db, char *buf, size_t n);

/* The last error's message ("no error" when none). */
const char *cdb_errmsg(const cdb *db);

/* The statement of slot, prepared from sql on first use (kept until cdb_close), ready to
 * bind; reset it after use (cdb_run does). */
asr_result cdb_prepare(cdb *db, size_t slot, const char *sql, cdb_stmt **out);

/* As cdb_prepare, for a statement whose rows may be many (a walk over the fleet): on
 * PostgreSQL, inside a transaction, it runs as a cursor fetched 1000 rows at a time
 * (outside one, and on SQLite, it is the plain statement). sql must be a static text
 * (kept for each run). Other statements may run between its rows; after the
 * transaction's end the scan is over (reset it). */
asr_result cdb_prepare_scan(cdb *db, size_t slot, const char *sql, cdb_stmt **out);

/* Binding parameter i (1..N). A bad index makes the next step fail (ASR_ERR_INVALID). */
void cdb_bind_i64(cdb_stmt *s, int i, int64_t v);
void cdb_bind_double(cdb_stmt *s, int i, double v);
void cdb_bind_text(cdb_stmt *s, int i, const char *v); /* NULL binds NULL */
void cdb_bind_blob(cdb_stmt *s, int i, const void *p, size_t n);
void cdb_bind_null(cdb_stmt *s, int i);
void cdb_bind_opt_i64(cdb_stmt *s, int i, int64_t v); /* NULL when v < 0 (absent) */

/* Steps s: *row tells whether a row is there (read it, step again or cdb_reset); on
 * error s is reset. */
asr_result cdb_step(cdb_stmt *s, const char *what, bool *row);

/* Runs s to its end (no row needed), then resets it. */
asr_result cdb_run(cdb_stmt *s, const char *what);

/* Resets s (the next step runs it again) and clears its bindings. */
void cdb_reset(cdb_stmt *s);

/* The rows the last run of s inserted, updated or deleted (read it right after). */
int64_t cdb_changes(cdb_stmt *s);

/* Columns of the current row (col from 0): 0, 0.0 or NULL when NULL or out of range.
 * Booleans read as 1 and 0 from either backend. */
int64_t cdb_col_i64(cdb_stmt *s, int col);
double cdb_col_double(cdb_stmt *s, int col);
const char *cdb_col_text(cdb_stmt *s, int col);
const void *cdb_col_blob(cdb_stmt *s, int col, size_t *n);
bool cdb_col_null(cdb_stmt *s, int col);

/* Copies a text column into dst (size cap): "" when NULL or too long (never half a
 * value: secrets, paths, addresses), as asr_sql_col_copy. */
void cdb_col_copy(cdb_stmt *s, int col, char *dst, size_t cap);

/* Copies a text column into dst (size cap), cut on a UTF-8 boundary when longer; returns
 * dst, or NULL when the column is NULL (dst is then ""), as asr_sql_col_cut. */
const char *cdb_col_cut(cdb_stmt *s, int col, char *dst, size_t cap);

/* Runs SQL text without parameters (one or more statements). */
asr_result cdb_exec(cdb *db, const char *sql, const char *what);

/* Transactions: SQLite's BEGIN IMMEDIATE (the writer's lock at once), PostgreSQL's BEGIN
 * (READ COMMITTED: rows are locked as they are written). After any error in a
 * PostgreSQL transaction only cdb_rollback is possible. */
asr_result cdb_begin(cdb *db);
asr_result cdb_commit(cdb *db, const char *what);
void cdb_rollback(cdb *db); /* nothing when no transaction is open */

/* The first column of the first row of sql (no parameters): *out 0 and *row false when
 * there is no row (row may be NULL); a boolean reads 1 or 0. */
asr_result cdb_query_i64(cdb *db, const char *sql, const char *what, int64_t *out, bool *row);

/* ---- array parameters (cdb_array.c) ----
 * PostgreSQL's bulk statements take a column of rows as one array parameter:
 *   INSERT INTO t (a, b) SELECT * FROM unnest(?1::bigint[], ?2::text[]) ...
 * Append one kind of element to an array (integers: its type must be bigint[]; or text
 * and bytea), then bind the arrays with cdb_bind_arrs (their bytes stay valid until the
 * next append, reset or free). For PostgreSQL only: SQLite has no arrays. */
typedef struct {
  asr_buf b;
  size_t n;                /* elements */
  bool bin, nulls, closed; /* integers (binary); one of them NULL; text closed */
} cdb_arr;

void cdb_arr_i64(cdb_arr *a, int64_t v);
void cdb_arr_opt_i64(cdb_arr *a, bool has, int64_t v);   /* NULL unless has */
void cdb_arr_text(cdb_arr *a, const char *v);            /* any text; NULL: NULL */
void cdb_arr_bytea(cdb_arr *a, const void *p, size_t n); /* p NULL: NULL */
void cdb_arr_reset(cdb_arr *a);                          /* empty, memory kept */
void cdb_arr_free(cdb_arr *a);

/* Closes a (an empty one is an empty text array: "{}") and returns its bytes (*len of
 * them; text is NUL-terminated), NULL when memory ran out or kinds were mixed. */
const void *cdb_arr_done(cdb_arr *a, size_t *len);

/* Closes a[0..n) and binds them to parameters first..first + n - 1 of s (integers in
 * binary, text as text); ASR_ERR_NOMEM or ASR_ERR_INVALID (s reset) when one failed. */
asr_result cdb_bind_arrs(cdb_stmt *s, int first, cdb_arr *a, int n);

/* Whether arrays a[0..n) hold a chunk's worth: CDB_ARR_ROWS elements in a[0] or
 * CDB_ARR_BYTES bytes together. A bulk statement sends a batch's rows in chunks (several
 * runs of it in one transaction, the arrays reset between them): libpq copies every
 * parameter into its output buffer, which keeps its largest size for the connection's
 * life: one array per column of a whole batch cost its size twice per connection. */
#define CDB_ARR_ROWS 8192
#define CDB_ARR_BYTES (1u << 20)
bool cdb_arrs_full(const cdb_arr *a, int n);

/* ---- the schema (cdb_dialect.c) ---- */

/* A step's own PostgreSQL text, for a step the rewrite cannot take (its data part). */
typedef struct {
  int version;
  const char *sql;
} cdb_step_pg;

/* Rewrites schema SQL written for SQLite into PostgreSQL's (*out malloc'd), statement by
 * statement, outside quotes: PRAGMA dropped; INSERT OR IGNORE INTO -> INSERT INTO ... ON
 * CONFLICT DO NOTHING; a column's INTEGER PRIMARY KEY -> BIGINT GENERATED BY DEFAULT AS
 * IDENTITY PRIMARY KEY; INTEGER -> BIGINT; BLOB -> BYTEA; REAL -> DOUBLE PRECISION;
 * WITHOUT ROWID dropped. */
asr_result cdb_dialect_pg(const char *sql, char **out);

/* Takes the schema to the last of steps, each step in its own transaction (a crash leaves
 * the last complete version; two processes apply each step once): SQLite through
 * asr_sql_migrate (PRAGMA user_version); PostgreSQL under an advisory lock with the
 * version in table schema_version, each step rewritten (cdb_dialect_pg) unless pg has its
 * own text. Refuses a newer schema (ASR_ERR_DB_VERSION: "use a newer PROGRAM") and a
 * database with tables but no version (ASR_ERR_DB). */
asr_result cdb_migrate(cdb *db, const asr_sql_step *steps, size_t n, const cdb_step_pg *pg,
                       size_t npg, const char *program);

/* The schema version, -1 when it cannot be read. */
int cdb_schema_version(cdb *db);

#endif
