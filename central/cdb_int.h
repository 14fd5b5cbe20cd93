/* cdb_int.h: what cdb.c (the neutral layer and its SQLite backend) shares with cdb_pg.c
 * (the PostgreSQL backend). Not for the rest of asr-central: use cdb.h. */
#ifndef ASR_CDB_INT_H
#define ASR_CDB_INT_H

#include <libpq-fe.h>
#include <sqlite3.h>

#include "central/cdb.h"
#include "store/sqlutil.h"

#define CDB_ERR_MAX 512
#define CDB_NUM_MAX 32 /* an int64 or a double as text */

struct cdb_stmt {
  cdb *db;
  sqlite3_stmt *lite; /* SQLite: the prepared statement (in db->lite_cache) */
  bool bad;           /* a bind failed: the next step says so */
  /* PostgreSQL: the prepared statement's name, its parameters as libpq takes them, and
   * the result of its run (rows walked by cdb_step) */
  char name[24];
  int nparams;
  const char *val[CDB_PARAMS_MAX];
  int len[CDB_PARAMS_MAX];
  int fmt[CDB_PARAMS_MAX];
  char num[CDB_PARAMS_MAX][CDB_NUM_MAX];
  PGresult *res;
  int row; /* the current row of res, -1 before the first */
  bool ran;
  int64_t changes;
  unsigned char *blob; /* the last blob column read (PQunescapeBytea), freed by reset */
  /* a scan (cdb_prepare_scan; cdb_pg_scan.c): its SQL (static), a cursor declared in the
   * open transaction, more rows to fetch after res */
  const char *scan_sql;
  bool cursor, more;
};

struct cdb {
  cdb_kind kind;
  asr_sql *sql; /* SQLite's connection (own, or a store's: cdb_wrap_sqlite); for both
                   backends the name and the message buffer */
  asr_sql own;
  bool borrowed; /* sql is the store's: cdb_close leaves it open */
  PGconn *pg;
  char *name;
  char err[CDB_ERR_MAX];
  sqlite3_stmt **lite_cache; /* SQLite: the statements of each slot (sql.cache) */
  cdb_stmt *stmt;            /* the slots */
  size_t slots;
  int busy_ms;    /* PostgreSQL: lock_timeout, set again after a reconnection */
  bool in_tx;     /* cdb_begin ran, no commit or rollback yet */
  bool tx_lost;   /* PostgreSQL: the connection was lost (and made again) inside that
                     transaction: everything fails until cdb_rollback */
  bool connected; /* PostgreSQL: opened once (a later loss is made good: cdb_pg_fail) */
  bool resetting; /* PostgreSQL: making the connection again (no second attempt) */
};

/* ---- cdb_pg.c ---- */

/* Rewrites ?N to $N outside quoted strings and names into *out (malloc'd); *nparams is the
 * highest N. ASR_ERR_INVALID for a ? without a number, or N out of 1..CDB_PARAMS_MAX. */
asr_result cdb_pg_rewrite(const char *sql, char **out, int *nparams);

/* Converts a failed result (or a connection failure when res is NULL) while doing what. */
asr_result cdb_pg_fail(cdb *db, const PGresult *res, const char *what);
asr_result cdb_pg_open(cdb *db, const cdb_opts *o);
void cdb_pg_close(cdb *db);
asr_result cdb_pg_prepare(cdb *db, size_t slot, const char *sql, cdb_stmt *s);
void cdb_pg_bind(cdb_stmt *s, int i, const char *v, int len, int fmt);
asr_result cdb_pg_step(cdb_stmt *s, const char *what, bool *row);
void cdb_pg_reset(cdb_stmt *s);
const char *cdb_pg_col(cdb_stmt *s, int col);
const void *cdb_pg_col_blob(cdb_stmt *s, int col, size_t *n);
asr_result cdb_pg_exec(cdb *db, const char *sql, const char *what);
bool cdb_pg_in_tx(cdb *db); /* a transaction is open (failed or not) */
/* ASR_ERR_DB_LOCKED with the message set when db's transaction was lost with its
 * connection (cdb_rollback clears it), else ASR_OK. */
asr_result cdb_pg_tx_check(cdb *db, const char *what);
bool cdb_pg_tx_failed(cdb *db); /* the open transaction had an error */

/* ---- cdb_pg_scan.c ---- */

#define CDB_SCAN_FETCH 1000 /* a scan's rows in memory at most (one FETCH) */

/* Steps scan s: a cursor when a transaction is open (declared on the first step, fetched
 * batch by batch), else the plain statement (cdb_pg_step). */
asr_result cdb_pg_scan_step(cdb_stmt *s, const char *what, bool *row);

/* Closes the scan's cursor when one is open (before cdb_pg_reset). */
void cdb_pg_scan_close(cdb_stmt *s);

#endif
