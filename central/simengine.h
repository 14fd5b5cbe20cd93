/* simengine.h: the engine mode of `asr-central simulate --engine` (docs/replenishment.md).
 *
 * Drives the real engine (central/engine.h) over a temporary central database
 * (central/cstore.h: SQLite files, or a schema of a PostgreSQL database) with the simulated fleet
 * of central/simulate.c: each day the printers' reports go into the store as one batch per site
 * (cstore_apply), the engine runs the day (cengine_run_day), the orders it created are shipped, and
 * delivered after the delivery time (cengine_order_step). What the engine ordered is read back from
 * the store (cstore_order_foreach), the notices from its outbox. */
#ifndef ASR_CSIMENGINE_H
#define ASR_CSIMENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "replenish/rules.h"

typedef struct csime csime;

/* Where a run's database is: SQLite files (db NULL) or schemas of a PostgreSQL database. */
typedef struct {
  const char *keep;          /* SQLite: keep the file in this directory; PostgreSQL: keep the
                                schema, named csime_schema_name(keep, NAME); NULL: removed */
  const char *db;            /* NULL, or a postgresql:// URI: each run in a schema of its own */
  const char *password_file; /* PostgreSQL: --db-password-file (NULL: PGPASSFILE) */
} csime_where;

/* Creates the database of one run. SQLite: in a new temporary directory (removed by
 * csime_close), or as keep/NAME.db (kept; an existing file is refused). PostgreSQL: in a
 * new schema of w->db, asr_sim_RANDOM_NAME (dropped by csime_close, also after a failure),
 * or csime_schema_name(keep, NAME) (kept; an existing schema is refused); the run's
 * connections see that schema alone (search_path), nothing else of the database is touched.
 * One site per site of the fleet v of n devices, with its supplies contacts: "a" the site's
 * first, another ("b") added to it, its devices assigned to it once they have reported; each
 * contact's registration mail queued. ASR_ERR_IO, ASR_ERR_INVALID (a bad keep or URI) or a
 * store error with the reason in err. The sites are made at now (Unix seconds). */
asr_result csime_open(const csime_where *w, const char *name, const asr_rp_conf *c,
                      const asr_rp_device *v, size_t n, int64_t now, csime **out, char *err,
                      size_t errn);

/* The schema that keeps run name with --keep-db keep on PostgreSQL: KEEP_NAME, '-' as '_'
 * ("x", "simulate-no-consolidation": "x_simulate_no_consolidation"). ASR_ERR_INVALID when
 * keep is not a schema name prefix ([a-z_][a-z0-9_]*, the whole at most 63 bytes). */
asr_result csime_schema_name(const char *keep, const char *name, char *out, size_t cap);

/* Frees e, removing its temporary database (NULL is fine). */
void csime_close(csime *e);

/* Stores the reports of day (epoch days) of the fleet v: the devices whose newest reading
 * is of that day, one batch per site. */
asr_result csime_report(csime *e, const asr_rp_device *v, size_t n, int64_t day);

/* Delivers the orders shipped to arrive on day or before. */
asr_result csime_deliver(csime *e, int64_t day);

/* Runs the engine on day, ships the orders it created to arrive on day + delivery, and
 * fills plan (device and supply indices into v) with them. ASR_ERR_LIMIT when the plan's
 * arrays are too small. */
asr_result csime_run_day(csime *e, const asr_rp_device *v, size_t n, int64_t day, int delivery,
                         asr_rp_plan *plan);

/* Creates a special order of quantity cartridges of supply sup (v's index) of device dev
 * (v's index) on day for the job days job_from..job_to (epoch days, 0: none), ships it to
 * arrive on day + delivery; *id gets the order. */
asr_result csime_extra(csime *e, const asr_rp_device *v, size_t dev, size_t sup, int quantity,
                       int64_t job_from, int64_t job_to, int64_t day, int delivery, int64_t *id);

/* The engine's marks of every device (by v's serials): judged[n], high_use[n]. */
asr_result csime_marks(csime *e, const asr_rp_device *v, size_t n, bool *judged, bool *high_use);

/* The store's stock of supply sup of device dev (v's indices): delivered, installed. */
asr_result csime_stock(csime *e, const asr_rp_device *v, size_t dev, size_t sup, int64_t *delivered,
                       int64_t *installed);

/* Runs the engine on day without new reports or shipping: it settles the replacements of
 * the day before (csime_stock after it tells the books of the whole run). */
asr_result csime_settle(csime *e, int64_t day);

/* What the engine did over the run, read back from the store: orders (all states), the
 * mails of the outbox by kind (a new JSON object {"order_created": N, ...}), their total,
 * the early replacements it found, each device's high-use mark (high_use[n], by v's
 * serials), how many disconnection notices named each device (named[n]), and the order mails
 * that were not sent exactly once (an order created and shipped whole: one of each). */
typedef struct {
  long orders, mails, early;
  json_t *notices_by_kind;
  long orders_not_mailed_once;
} csime_totals;

/* Fills t (t->notices_by_kind is the caller's to json_decref), high_use and named. */
asr_result csime_totals_get(csime *e, const asr_rp_device *v, size_t n, csime_totals *t,
                            bool *high_use, long *named);

/* The path of the database, or the URI and schema (for messages). */
const char *csime_path(const csime *e);

/* The store's message of its last error ("DATABASE: what: why"). */
const char *csime_errmsg(const csime *e);

/* PostgreSQL: the run's schema; NULL on SQLite. */
const char *csime_schema(const csime *e);

#endif
