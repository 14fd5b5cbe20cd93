/* cstore_int.h: what cstore.c lends the store's other files (cstore_sites.c,
 * cstore_ingest.c, cstore_rp.c, cstore_outbox.c, cstore_contacts.c, cstore_conf.c,
 * cstore_series.c, cmeters.c), so that their SQL lives beside their feature while the handle, its
 * prepared statements and its error conversion stay in cstore.c. Not for the rest of asr-central:
 * use cstore.h. */
#ifndef ASR_CSTORE_INT_H
#define ASR_CSTORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"

#define CSTORE_ERR_MAX 512
#define CSTORE_XSTMT_MAX 8 /* statements of the store's other files (slots 0..7) */

/* The handle's statement cache: one range of slots per file, each file's statements
 * prepared on first use in its range, all finalized by cstore_close. */
enum {
  CSTORE_SLOTS_CORE = 0,       /* cstore.c */
  CSTORE_SLOTS_SITES = 4,      /* cstore_sites.c */
  CSTORE_SLOTS_INGEST = 28,    /* cstore_ingest.c */
  CSTORE_SLOTS_RP = 52,        /* cstore_rp.c */
  CSTORE_SLOTS_OUTBOX = 92,    /* cstore_outbox.c */
  CSTORE_SLOTS_CONTACTS = 100, /* cstore_contacts.c */
  CSTORE_SLOTS_X = 120,        /* cstore_x_stmt's slots (cmeters.c and others) */
  CSTORE_SLOTS_SERIES = CSTORE_SLOTS_X + CSTORE_XSTMT_MAX, /* cstore_series.c */
  CSTORE_SLOTS_END = CSTORE_SLOTS_SERIES + 16
};

struct cstore {
  sqlite3 *db;
  char *path;
  char err[CSTORE_ERR_MAX];
  sqlite3_stmt *stmt[CSTORE_SLOTS_END];
};

/* Statement sql in the cache's slot (prepared on first use, finalized by cstore_close). */
asr_result cstore_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out);

/* Statement sql in slot (0..CSTORE_XSTMT_MAX-1 of the CSTORE_SLOTS_X range). */
asr_result cstore_x_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out);

/* Steps s (no row needed) and resets it; a failure while doing `what` is converted. */
asr_result cstore_x_run(cstore *st, sqlite3_stmt *s, const char *what);

/* Steps a query; *row tells whether a row is there (the caller reads, then cstore_x_done). */
asr_result cstore_x_row(cstore *st, sqlite3_stmt *s, const char *what, bool *row);
void cstore_x_done(sqlite3_stmt *s);

/* Binds the integers v[0..n) to ?1..?n of s, then runs it (cstore_x_run). */
asr_result cstore_run_i64(cstore *st, sqlite3_stmt *s, const char *what, const int64_t *v,
                          size_t n);

/* Commits the transaction cstore_tx_begin started; a failure while doing `what` is
 * converted (the caller rolls back). */
asr_result cstore_x_commit(cstore *st, const char *what);

/* Sets the handle's message (cstore_errmsg) and returns ASR_ERR_NOT_FOUND. */
asr_result cstore_x_not_found(cstore *st, const char *what, const char *name);

/* Sets the handle's message (cstore_errmsg), logged once at INFO. */
void cstore_set_err(cstore *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Converts a failed SQLite call (rc) while doing `what` into an asr_result, with the
 * handle's message set. */
asr_result cstore_db_fail(cstore *st, int rc, const char *what);

/* Binds a string, or NULL when v is NULL; an integer, or NULL when v < 0 (absent). */
void cstore_bind_opt(sqlite3_stmt *s, int i, const char *v);
void cstore_bind_opt_i64(sqlite3_stmt *s, int i, int64_t v);

/* A text column (NULL when NULL); a copy of it into buf (CSTORE_NAME_MAX), NULL when NULL. */
const char *cstore_col_text(sqlite3_stmt *s, int col);
const char *cstore_col_copy(sqlite3_stmt *s, int col, char *buf);

/* ASR_OK when a site is named site, else ASR_ERR_NOT_FOUND with the message set
 * (cstore_sites.c). */
asr_result cstore_site_exists(cstore *st, const char *site);

#endif
