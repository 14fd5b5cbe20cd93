/* cstore_int.h: what cstore.c lends the store's other files (cstore_sites.c,
 * cstore_ingest.c, cstore_rp.c, cstore_outbox.c, cstore_contacts.c, cstore_series.c,
 * cmeters.c, calerts.c; a new
 * concern gets a file of its own beside them), so that their SQL lives beside their
 * feature while the handle, its prepared statements and its error conversion stay in
 * cstore.c. Not for the rest of asr-central: use cstore.h.
 *
 * The plumbing (error conversion, statement cache, stepping, binding, columns, migrations,
 * the 0600 file) is store/sqlutil.h's, shared with the agent's store: the handle embeds an
 * asr_sql, and a file of the store uses either asr_sql_* on &st->sql or the cstore_x_*
 * forms below, which are the same calls.
 *
 * A second backend (PostgreSQL, issue 15; a design note, not built). cstore.h stays the
 * interface: the engine, ingest, the portal and the commands do not change, and the
 * schema stays one list of numbered steps so that both backends hold the same tables.
 * It plugs in here, below the concern files:
 * - struct cstore gains the backend and its connection (a PGconn beside the asr_sql);
 *   cstore_open picks it from the name ("postgresql://..." or a file path).
 * - The concern files keep their SQL beside their feature, but bind and read through
 *   sqlite3_bind_* and sqlite3_column_* today: they would go through a neutral
 *   statement (a cstore_stmt with bind/column calls) that cstore_x_stmt, cstore_x_run,
 *   cstore_x_row, cstore_x_done and cstore_tx_* dispatch to the backend's functions
 *   (prepared by name once per connection on PostgreSQL, as asr_sql_cached does here).
 * - Each statement table gains the PostgreSQL text of the rows that differ: $1 for ?1,
 *   ON CONFLICT DO NOTHING for INSERT OR IGNORE, no WITHOUT ROWID, the instance id drawn
 *   otherwise (random() is a float there); the same for the schema steps, whose version
 *   lives in a table (no user_version), applied like asr_sql_migrate, one transaction
 *   per step.
 * - Errors: SQLSTATE 40001 and 40P01 (serialization, deadlock) become ASR_ERR_DB_LOCKED,
 *   so cstore_apply's retry of a whole batch works unchanged, and the messages keep the
 *   form "DATABASE: what: why".
 * Several nodes then share one PostgreSQL; what SQLite serializes with BEGIN IMMEDIATE
 * (a batch, the engine's day, an outbox claim) needs its row locks (SELECT ... FOR
 * UPDATE) or a serializable transaction there. */
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
  CSTORE_SLOTS_CORE = 0,       /* cstore.c */
  CSTORE_SLOTS_SITES = 4,      /* cstore_sites.c */
  CSTORE_SLOTS_INGEST = 28,    /* cstore_ingest.c */
  CSTORE_SLOTS_RP = 52,        /* cstore_rp.c */
  CSTORE_SLOTS_OUTBOX = 92,    /* cstore_outbox.c */
  CSTORE_SLOTS_CONTACTS = 100, /* cstore_contacts.c */
  CSTORE_SLOTS_X = 120,        /* cstore_x_stmt's slots (cmeters.c and others) */
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

/* ASR_OK when a site is named site, else ASR_ERR_NOT_FOUND with the message set
 * (cstore.c: the sites', contacts', orders' and problems' files all check it). */
asr_result cstore_site_exists(cstore *st, const char *site);

/* Binds dev, idx, from, to to ?1..?4 of the day query s (columns day, level, max,
 * percent), runs it, a cstore_rp_level per row to cb until cb returns non-zero, then resets
 * s (cstore_rp.c: the daily levels' and the series' readers share it). */
asr_result cstore_rp_levels_walk(cstore *st, cdb_stmt *s, int64_t dev, int32_t idx, int64_t from,
                                 int64_t to, cstore_rp_level_cb cb, void *ctx);

#endif
