/* sqlutil.h: the SQL plumbing of both stores, the agent's (store/) and asr-central's
 * (central/cstore*.c): error conversion with a message, the statement cache, stepping,
 * one-value queries, binding and copying columns, migrations as data and the private
 * database file.
 *
 * Each dependency is touched by one module, and SQLite is the one intended exception: two
 * programs each own a database, so store/ (the agent's) and central/ (asr-central's) both
 * include sqlite3.h. This library (store/libasrsql.a, which asr-central links) is the only
 * place either gets its plumbing from; each store keeps its schema, its statements and its
 * own wording of errors (asr_sql.fail).
 *
 * Nothing here knows a store: a connection is an asr_sql, which the store embeds in its
 * handle and fills in (db, path, message buffer, cache slots). Errors are set once in
 * the handle's buffer and logged at INFO: callers report the message. */
#ifndef ASR_SQLUTIL_H
#define ASR_SQLUTIL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

typedef struct asr_sql asr_sql;

/* A store's conversion of a failed SQLite call rc while doing `what`: sets the message
 * (asr_sql_set_err) and returns the result. */
typedef asr_result (*asr_sql_fail_fn)(asr_sql *c, int rc, const char *what);

struct asr_sql {
  sqlite3 *db;
  const char *path; /* the file: the first word of every message */
  char *err;        /* the last error's message, errn bytes */
  size_t errn;
  asr_sql_fail_fn fail; /* the store's conversion; NULL: asr_sql_fail_plain */
  sqlite3_stmt **cache; /* the statement cache: ncache slots (asr_sql_cached) */
  size_t ncache;
  int busy_ms; /* the busy timeout (asr_sql_open sets it) */
};

/* One migration: the SQL that takes the schema from version - 1 to version. */
typedef struct {
  int version;     /* user_version after this step */
  const char *sql; /* one or more statements */
} asr_sql_step;

/* ---- the connection ---- */

/* Opens c->path with SQLite's flags and a busy timeout (ms); c->db is set even on error
 * (asr_sql_close frees it). */
asr_result asr_sql_open(asr_sql *c, int flags, int busy_ms);

/* Finalizes the cached statements and closes the connection (a failure is logged). */
void asr_sql_close(asr_sql *c);

/* ---- errors ---- */

/* Sets c's message (printf format) and logs it once at INFO. */
void asr_sql_set_err(asr_sql *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Converts a failed SQLite call (rc) while doing `what`: c->fail, else asr_sql_fail_plain. */
asr_result asr_sql_fail(asr_sql *c, int rc, const char *what);

/* The plain conversion: busy or locked -> ASR_ERR_DB_LOCKED ("PATH: WHAT: database is
 * busy"), out of memory -> ASR_ERR_NOMEM, else ASR_ERR_DB with SQLite's message. */
asr_result asr_sql_fail_plain(asr_sql *c, int rc, const char *what);

/* ---- statements ---- */

/* The cached statement of slot (sql is prepared there on first use, persistent), ready to
 * bind; reset it after use (asr_sql_run does, or asr_sql_done). */
asr_result asr_sql_cached(asr_sql *c, size_t slot, const char *sql, sqlite3_stmt **out);

/* Prepares sql into *s, uncached (NULL on error; the caller finalizes it). */
asr_result asr_sql_prep(asr_sql *c, const char *sql, sqlite3_stmt **s);

/* Steps s (no row needed), then resets it and clears its bindings. */
asr_result asr_sql_run(asr_sql *c, sqlite3_stmt *s, const char *what);

/* Steps a query: *row tells whether a row is there (the caller reads, then asr_sql_done);
 * on error s is reset already. */
asr_result asr_sql_row(asr_sql *c, sqlite3_stmt *s, const char *what, bool *row);

/* Resets s and clears its bindings. */
void asr_sql_done(sqlite3_stmt *s);

/* Steps s (uncached) to its first row or its end, then finalizes it. */
asr_result asr_sql_finish(asr_sql *c, sqlite3_stmt *s, const char *what);

/* Runs SQL text without parameters (possibly several statements). */
asr_result asr_sql_exec(asr_sql *c, const char *sql, const char *what);

/* The first column of the first row of sql (an integer pragma, a count...): *out 0 and
 * *row false when there is no row (row may be NULL). p1 is bound to ?1 when sql has a
 * parameter. */
asr_result asr_sql_query_i64(asr_sql *c, const char *sql, int64_t p1, const char *what,
                             int64_t *out, bool *row);
asr_result asr_sql_query_int(asr_sql *c, const char *sql, const char *what, int *out);

/* Rolls back the open transaction, if any (after an error: its own error is set). */
void asr_sql_rollback(asr_sql *c);

/* ---- binding and columns ---- */

/* Binds v ("" for NULL) as static text. */
void asr_sql_bind_text(sqlite3_stmt *s, int i, const char *v);

/* Binds v, or NULL when v is NULL. */
void asr_sql_bind_opt(sqlite3_stmt *s, int i, const char *v);

/* Binds v, or NULL when v < 0 (absent). */
void asr_sql_bind_opt_i64(sqlite3_stmt *s, int i, int64_t v);

/* A text column (NULL when NULL), valid until the statement steps or resets. */
const char *asr_sql_col_text(sqlite3_stmt *s, int col);

/* Copies a text column into dst (size cap); "" when NULL or too long (never half a value:
 * secrets, paths, addresses). */
void asr_sql_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* The same two copies of a text v (NULL: NULL) however it was read (central/cdb.h's
 * columns too). */
void asr_sql_text_copy(const char *v, char *dst, size_t cap);
const char *asr_sql_text_cut(const char *v, char *dst, size_t cap);

/* Copies a text column into dst (size cap), cut on a UTF-8 character boundary when
 * longer; returns dst, or NULL when the column is NULL (dst is then ""). */
const char *asr_sql_col_cut(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* ---- the schema ---- */

/* The version of the last of n steps (0 for none). */
int asr_sql_schema_latest(const asr_sql_step *steps, size_t n);

/* Reads the file's schema version (*version: its PRAGMA user_version) and refuses a file
 * this program must not touch: a schema newer than its steps (ASR_ERR_DB_VERSION: "use a
 * newer PROGRAM"), or tables without a version (ASR_ERR_DB: someone else's database).
 * The version and the tables are read in one snapshot: another process creating the
 * schema meanwhile is seen whole or not at all. Only reads: call it before anything
 * changes the file (asr_sql_journal_wal). */
asr_result asr_sql_check_version(asr_sql *c, const asr_sql_step *steps, size_t n,
                                 const char *program, int *version);

/* Brings the schema to the last step: nothing but a read when it is there already, else
 * each missing step in its own transaction (BEGIN IMMEDIATE, which waits on the busy
 * timeout; the version read and checked again as asr_sql_check_version does; the SQL;
 * user_version = version; COMMIT), so a crash or an error leaves the file at the last
 * complete version and two processes migrating at once apply each step once. The version
 * lives in PRAGMA user_version. */
asr_result asr_sql_migrate(asr_sql *c, const asr_sql_step *steps, size_t n, const char *program);

/* PRAGMA journal_mode = WAL, retried until the busy timeout passes while another process
 * holds the database (SQLite does not wait on its busy timeout for this switch); mode
 * (cap bytes, may be NULL) gets the journal mode SQLite reports ("wal", or why not:
 * "memory" for an in-memory database). */
asr_result asr_sql_journal_wal(asr_sql *c, char *mode, size_t cap);

/* ---- the file ---- */

/* Narrows the mode of the database file path to its owner when others could read it,
 * with a warning naming what it holds ("credentials", "secrets"). */
void asr_sql_narrow(const char *path, const char *holds);

/* Makes c->path a private file before SQLite opens it: created 0600 when missing; an
 * existing one must be a regular file we may read and write, and is narrowed
 * (asr_sql_narrow). Never opens an existing file: closing any descriptor of a file drops
 * every POSIX lock this process holds on it, which would break the SQLite connections of
 * other threads (another process could then checkpoint and delete the WAL under them). */
asr_result asr_sql_file_private(asr_sql *c, const char *holds);

#endif
