/* cstore_int.h: what cstore.c lends the store's other files (cstore_sites.c,
 * cstore_ingest.c, cstore_rp.c, cstore_outbox.c, cstore_contacts.c, cstore_series.c,
 * cmeters.c, calerts.c; a new
 * concern gets a file of its own beside them), so that their SQL lives beside their
 * feature while the handle, its prepared statements and its error conversion stay in
 * cstore.c. Not for the rest of asr-central: use cstore.h.
 *
 * Every file of the store states its SQL once and runs it through the handle's cdb
 * (st->db, central/cdb.h) on either backend: SQLite (the handle's asr_sql, the plumbing
 * shared with the agent's store, store/sqlutil.h) or PostgreSQL (libpq, cdb_pg.c). Where
 * the dialects differ, cdb_dialect.c rewrites the schema and a statement table keeps a
 * second text; several nodes on one PostgreSQL take what SQLite's BEGIN IMMEDIATE
 * serializes with advisory or row locks (docs/postgresql-backend.md). */
#ifndef ASR_CSTORE_INT_H
#define ASR_CSTORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cdb.h"
#include "central/cstore.h"
#include "store/sqlutil.h"

#define CSTORE_ERR_MAX 512
#define CSTORE_XSTMT_MAX 8 /* statements of the store's other files (slots 0..7) */

/* The handle's statement cache: one range of slots per file, each file's statements
 * prepared on first use in its range (asr_sql_cached), all finalized by cstore_close. */
enum {
  CSTORE_SLOTS_CORE = 0,                                   /* cstore.c */
  CSTORE_SLOTS_SITES = 4,                                  /* cstore_sites.c */
  CSTORE_SLOTS_INGEST = 28,                                /* cstore_ingest.c */
  CSTORE_SLOTS_RP = 52,                                    /* cstore_rp.c */
  CSTORE_SLOTS_OUTBOX = 92,                                /* cstore_outbox.c */
  CSTORE_SLOTS_CONTACTS = 100,                             /* cstore_contacts.c */
  CSTORE_SLOTS_X = 120,                                    /* cmeters.c's slots */
  CSTORE_SLOTS_ALERTS = CSTORE_SLOTS_X + CSTORE_XSTMT_MAX, /* calerts.c */
  CSTORE_SLOTS_SERIES = CSTORE_SLOTS_ALERTS + 16,          /* cstore_series.c */
  CSTORE_SLOTS_CONF = CSTORE_SLOTS_SERIES + 20,            /* cstore_conf.c */
  CSTORE_SLOTS_PORTAL = CSTORE_SLOTS_CONF + 24,            /* cstore_portal.c */
  CSTORE_SLOTS_END = CSTORE_SLOTS_PORTAL + 40
};

struct cstore {
  asr_sql sql; /* SQLite's connection: db, and path, err, stmt as its own; on PostgreSQL
                  only path (the URI) and err (shared with db): db is NULL */
  cdb *db;     /* the connection through the neutral statements (central/cdb.h): over sql
                  on SQLite (its slots are stmt's), its own on PostgreSQL */
  char *path;
  char err[CSTORE_ERR_MAX];
  sqlite3_stmt *stmt[CSTORE_SLOTS_END];
};

/* The schema's steps (n of them), and the PostgreSQL texts of those the rewrite cannot
 * take (cdb_migrate). */
const asr_sql_step *cstore_schema_steps(size_t *n);
const cdb_step_pg *cstore_schema_steps_pg(size_t *n);

/* Commits the transaction cstore_tx_begin started; a failure while doing `what` is
 * converted (the caller rolls back). */
asr_result cstore_x_commit(cstore *st, const char *what);

/* Sets the handle's message (cstore_errmsg) and returns ASR_ERR_NOT_FOUND. */
asr_result cstore_x_not_found(cstore *st, const char *what, const char *name);

/* ASR_OK when a site is named site, else ASR_ERR_NOT_FOUND with the message set
 * (cstore.c: the sites', contacts', orders' and problems' files all check it). */
asr_result cstore_site_exists(cstore *st, const char *site);

/* Binds dev, idx, from, to to ?1..?4 of the day query s (columns day, level, max,
 * percent), runs it, a cstore_rp_level per row to cb until cb returns non-zero, then resets
 * s (cstore_rp.c: the daily levels' and the series' readers share it). */
asr_result cstore_rp_levels_walk(cstore *st, cdb_stmt *s, int64_t dev, int32_t idx, int64_t from,
                                 int64_t to, cstore_rp_level_cb cb, void *ctx);

#endif
