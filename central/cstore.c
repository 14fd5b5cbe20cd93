/* cstore.c: the database of asr-central: its schema and migrations, opening and closing,
 * the handle's statement cache, error conversion and transactions, over the plumbing both
 * stores share (store/sqlutil.h); cstore_int.h lends them to the store's other files:
 * cstore_sites.c, cstore_ingest.c, cstore_rp.c, cstore_outbox.c, cstore_contacts.c,
 * cmeters.c (cstore_conf.c uses the connection of cstore_sqlite()).
 *
 * Reading order: the schema and its migrations (data), the handle and its helpers,
 * opening, closing.
 *
 * Why it looks like this:
 * - Every statement is a row of its file's table, prepared once per handle on first use
 *   (in its file's range of the handle's cache) and reset after each use: a batch of
 *   60,000 readings is one transaction of a few hundred thousand steps of a dozen cached
 *   statements. */
#include "central/cstore.h"

#include "central/calerts.h"
#include "central/cmeters.h"
#include "central/cstore_conf.h"
#include "central/cstore_int.h"
#include "central/cstore_portal.h"
#include "central/cstore_series.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "store/sqlutil.h"

/* ---------------------------------------------------------------------------------------
 * Schema (version 1). Times are Unix seconds. Strings a batch did not carry are NULL.
 *   sites     a customer site: unique name, contact, address, its enrolment token.
 *   agents    an enrolled agent: id "ag_..", its site, its secret (hex, needed to check
 *             HMACs: the file is 0600), hostname and version, last_seen (any batch,
 *             heartbeats included), revoked (1: its requests get 403).
 *   devices   a printer of a site, unique (site_id, key); identity and state as the
 *             newest batch (by created_at) said; last_reading_at the time of its newest
 *             reading; readings the number of its rows in readings.
 *   supplies  one row per (device, supply index): the description, and in level, max,
 *             percent the values of the newest reading that reported it (at level_t).
 *   readings  one per (device, t): the page count.
 *   levels    one per (device, supply index, t): level and max as reported, percent.
 *   events    one per (device, t, kind): detail, and the batch that brought it.
 *   batches   every committed batch id, its agent, when, and its counts.
 * Version 2 adds replenishment, 3 what was refused, 4 site tokens, 5 contacts (below). */
static const asr_sql_step schema_steps[] = {
    {1, "CREATE TABLE sites ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, contact TEXT NOT NULL,"
        " address TEXT NOT NULL DEFAULT '', token TEXT NOT NULL UNIQUE,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE agents ("
        " id TEXT PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " secret TEXT NOT NULL, hostname TEXT NOT NULL DEFAULT '',"
        " agent_version TEXT NOT NULL DEFAULT '', enrolled_at INTEGER NOT NULL,"
        " last_seen INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0"
        ") WITHOUT ROWID;"
        "CREATE TABLE devices ("
        " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " key TEXT NOT NULL, serial TEXT, mac TEXT, ip TEXT, vendor TEXT, model TEXT,"
        " sys_object_id TEXT, sys_descr TEXT, sys_name TEXT, printer_status TEXT,"
        " errors TEXT, state TEXT, state_since INTEGER, last_good_poll INTEGER,"
        " failed_polls INTEGER, agent_id TEXT, updated_at INTEGER NOT NULL DEFAULT 0,"
        " last_reading_at INTEGER NOT NULL DEFAULT 0, readings INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (site_id, key));"
        "CREATE TABLE supplies ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, description TEXT, part_number TEXT, type TEXT, class TEXT,"
        " colorant TEXT, unit TEXT, level INTEGER, max INTEGER, percent INTEGER,"
        " level_t INTEGER NOT NULL DEFAULT -1, PRIMARY KEY (device_id, idx)) WITHOUT ROWID;"
        "CREATE TABLE readings ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL, page_count INTEGER, PRIMARY KEY (device_id, t)) WITHOUT ROWID;"
        "CREATE TABLE levels ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, t INTEGER NOT NULL, level INTEGER, max INTEGER,"
        " percent INTEGER, PRIMARY KEY (device_id, idx, t)) WITHOUT ROWID;"
        "CREATE TABLE events ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT, batch_id TEXT NOT NULL,"
        " PRIMARY KEY (device_id, t, kind)) WITHOUT ROWID;"
        "CREATE TABLE batches ("
        " id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),"
        " received_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
        " devices INTEGER NOT NULL, readings INTEGER NOT NULL,"
        " readings_new INTEGER NOT NULL, events INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX batches_agent ON batches(agent_id, received_at);"},
    /* Replenishment (docs/replenishment.md). Days are whole days since the epoch (UTC).
     *   orders       one shipment: its site, the contact it was grouped by, state, the
     *                reason of its opening line, the day the engine made it, times of
     *                creation, of the last change and of each warehouse step.
     *   order_lines  (order, line): device, supply index, serial label, quantity, reason,
     *                the day the line's stock is forecast to reach the trigger again.
     *   stock        per (device, supply): cartridges ordered, delivered, and installed
     *                (a level jump that consumed one); ordered - installed is the rules'
     *                stock, delivered - installed the shelf; jumps_day the last day whose
     *                (final) reading was checked for a jump: always before the run's day.
     *   rp_devices   per device: high use (not eligible) and since when, the disconnection
     *                notices sent (ASR_RP_SENT_* bits).
     *   rp_events    early replacements, high use, cartridges not from us: once per
     *                (device, supply, day, kind).
     *   outbox       the mails: unique key (each notice once), recipient, the composed
     *                message, state pending|sent|failed, tries, next try (or the end
     *                of a sender's claim), last error.
     *   rp_state     the engine's last run day ("last_day"), the database's random
     *                instance id ("instance", drawn on first use). */
    {2, "CREATE TABLE orders ("
        " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " contact TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'created' CHECK (state IN"
        " ('created', 'shipped', 'backordered', 'delivered')), reason TEXT NOT NULL,"
        " day INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
        " shipped_at INTEGER, backordered_at INTEGER, delivered_at INTEGER);"
        "CREATE INDEX orders_site ON orders(site_id, state);"
        "CREATE TABLE order_lines ("
        " order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
        " line INTEGER NOT NULL, device_id INTEGER NOT NULL REFERENCES devices(id),"
        " idx INTEGER NOT NULL, serial TEXT NOT NULL, quantity INTEGER NOT NULL,"
        " reason TEXT NOT NULL, covered_until INTEGER NOT NULL,"
        " PRIMARY KEY (order_id, line)) WITHOUT ROWID;"
        "CREATE INDEX order_lines_supply ON order_lines(device_id, idx);"
        "CREATE TABLE stock ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, ordered INTEGER NOT NULL DEFAULT 0,"
        " delivered INTEGER NOT NULL DEFAULT 0, installed INTEGER NOT NULL DEFAULT 0,"
        " jumps_day INTEGER NOT NULL DEFAULT -1, PRIMARY KEY (device_id, idx)) WITHOUT ROWID;"
        "CREATE TABLE rp_devices ("
        " device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
        " high_use INTEGER NOT NULL DEFAULT 0, high_use_since INTEGER,"
        " notices INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE rp_events ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, day INTEGER NOT NULL, kind TEXT NOT NULL,"
        " PRIMARY KEY (device_id, idx, day, kind)) WITHOUT ROWID;"
        "CREATE TABLE outbox ("
        " id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, site_id INTEGER REFERENCES sites(id),"
        " rcpt TEXT NOT NULL, kind TEXT NOT NULL, message BLOB NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),"
        " tries INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL, sent_at INTEGER, error TEXT);"
        "CREATE INDEX outbox_due ON outbox(state, next_try);"
        "CREATE TABLE rp_state (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;"},
    /* What the agents sent that was not stored as sent (issue 10; docs/protocol.md).
     *   batches.digest  hex SHA-256 of the batch's JSON text (NULL before version 3): a
     *                   committed id comes again with the same content (a duplicate) or
     *                   with another one (a restored or copied agent database);
     *   batches.readings_refused, events_refused: what was refused of it.
     *   problems  one row per refused part of a batch: a device (with its readings and
     *             events), a reading, an event, "more" (refusals counted beyond those
     *             listed), or "id_reused" (a committed id with another content: the batch
     *             was stored all the same; digest is the new content's). device is the
     *             key as sent, idx the position in the batch's array, t the time. */
    {3, "ALTER TABLE batches ADD COLUMN digest TEXT;"
        "ALTER TABLE batches ADD COLUMN readings_refused INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE batches ADD COLUMN events_refused INTEGER NOT NULL DEFAULT 0;"
        "CREATE TABLE problems ("
        " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " agent_id TEXT NOT NULL, batch_id TEXT NOT NULL, received_at INTEGER NOT NULL,"
        " what TEXT NOT NULL, device TEXT, idx INTEGER, t INTEGER,"
        " readings INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,"
        " digest TEXT, error TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX problems_site ON problems(site_id, received_at);"
        "CREATE INDEX problems_batch ON problems(batch_id, digest);"},
    /* Site tokens that can be rotated and revoked (issue 10).
     *   sites.token_gen       which token of the site this is (1, then +1 each rotation)
     *   sites.token_revoked   1: the token enrols nothing (revoked by hand, or with an agent
     *                         that was enrolled with it)
     *   sites.token_changed_at when it was issued or revoked
     *   agents.token_gen      the site's token_gen the agent enrolled with */
    {4, "ALTER TABLE sites ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 1;"
        "ALTER TABLE sites ADD COLUMN token_revoked INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE sites ADD COLUMN token_changed_at INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE agents ADD COLUMN token_gen INTEGER NOT NULL DEFAULT 1;"
        "UPDATE sites SET token_changed_at = created_at;"},
    /* Version 5 (issue 11): contacts, per-line warehouse states, special orders.
     *   contacts         a site's supplies contacts: name, e-mail (unique in the site), delivery
     *                    address; the site's first (lowest id) is the default of its devices.
     *                    The sites' own contact and address become each site's first contact.
     *   device_contacts  a device's contact when it was assigned one (else the site's first).
     *   contact_history  every change: a contact created, a field changed (old, new), a device
     *                    assigned to it; orders keep what they were made with.
     *   orders           + the contact they were made for (id, name, address: a snapshot; the
     *                    e-mail is the old contact column), kind 'asr' or 'extra' (a special
     *                    order of the helpdesk), note (its reason).
     *   order_lines      + their own warehouse state and times (a backorder holds its line
     *                    only), the daily use they were ordered for, a special order's job
     *                    window (days) and how many of its cartridges went in on the job's
     *                    days (consumed: the others stay reserved for the job until it ends).
     *   supplies         + colorant_std: the agent's RFC 3805 standard colorant name.
     *   rp_devices       + judged: its use was judged on a whole calendar week once. */
    {5, "CREATE TABLE contacts ("
        " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " name TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, address TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (site_id, email));"
        "INSERT INTO contacts (site_id, email, address, created_at, updated_at)"
        " SELECT id, contact, address, created_at, created_at FROM sites ORDER BY id;"
        "CREATE TABLE device_contacts ("
        " device_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
        " contact_id INTEGER NOT NULL REFERENCES contacts(id), since INTEGER NOT NULL);"
        "CREATE TABLE contact_history ("
        " id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
        " contact_id INTEGER NOT NULL REFERENCES contacts(id),"
        " device_id INTEGER REFERENCES devices(id) ON DELETE SET NULL,"
        " what TEXT NOT NULL, old TEXT, new TEXT);"
        "CREATE INDEX contact_history_contact ON contact_history(contact_id, id);"
        "INSERT INTO contact_history (at, contact_id, what, new)"
        " SELECT created_at, id, 'created', email FROM contacts;"
        "ALTER TABLE orders ADD COLUMN contact_id INTEGER REFERENCES contacts(id);"
        "ALTER TABLE orders ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE orders ADD COLUMN address TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE orders ADD COLUMN kind TEXT NOT NULL DEFAULT 'asr'"
        " CHECK (kind IN ('asr', 'extra'));"
        "ALTER TABLE orders ADD COLUMN note TEXT;"
        "UPDATE orders SET contact_id = (SELECT c.id FROM contacts c"
        " WHERE c.site_id = orders.site_id AND c.email = orders.contact),"
        " address = coalesce((SELECT c.address FROM contacts c"
        " WHERE c.site_id = orders.site_id AND c.email = orders.contact), '');"
        "ALTER TABLE order_lines ADD COLUMN state TEXT NOT NULL DEFAULT 'created'"
        " CHECK (state IN ('created', 'backordered', 'shipped', 'delivered'));"
        "ALTER TABLE order_lines ADD COLUMN shipped_at INTEGER;"
        "ALTER TABLE order_lines ADD COLUMN backordered_at INTEGER;"
        "ALTER TABLE order_lines ADD COLUMN delivered_at INTEGER;"
        "ALTER TABLE order_lines ADD COLUMN daily_use REAL;"
        "ALTER TABLE order_lines ADD COLUMN job_from INTEGER;"
        "ALTER TABLE order_lines ADD COLUMN job_to INTEGER;"
        "ALTER TABLE order_lines ADD COLUMN consumed INTEGER NOT NULL DEFAULT 0;"
        "UPDATE order_lines SET"
        " state = (SELECT o.state FROM orders o WHERE o.id = order_lines.order_id),"
        " shipped_at = (SELECT o.shipped_at FROM orders o WHERE o.id = order_lines.order_id),"
        " backordered_at = (SELECT o.backordered_at FROM orders o"
        " WHERE o.id = order_lines.order_id),"
        " delivered_at = (SELECT o.delivered_at FROM orders o WHERE o.id = order_lines.order_id);"
        "CREATE INDEX order_lines_state ON order_lines(device_id, idx, state);"
        "ALTER TABLE supplies ADD COLUMN colorant_std TEXT;"
        "ALTER TABLE rp_devices ADD COLUMN judged INTEGER NOT NULL DEFAULT 0;"
        "UPDATE rp_devices SET judged = 1 WHERE high_use = 1;"},
    /* Remote configuration (issue 17; central/cstore_conf.c has its statements).
     *   site_config          a site's directives: value as the agent's file writes it, or
     *                        a pass phrase sealed (wire/seal.h) when sealed is 1.
     *   site_config_version  the site's configuration version, raised by each change.
     *   site_config_audit    each change: version, key, old and new ("(set)" for a
     *                        secret), who and when.
     *   agent_config         what each agent reported at its last check-in: the version it
     *                        applied, the last refused version and why. */
    {8, "CREATE TABLE site_config ("
        " site_id INTEGER NOT NULL REFERENCES sites(id), key TEXT NOT NULL,"
        " value TEXT NOT NULL, sealed INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (site_id, key)) WITHOUT ROWID;"
        "CREATE TABLE site_config_version ("
        " site_id INTEGER PRIMARY KEY REFERENCES sites(id), version INTEGER NOT NULL,"
        " changed_at INTEGER NOT NULL);"
        "CREATE TABLE site_config_audit ("
        " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
        " version INTEGER NOT NULL, key TEXT NOT NULL, old TEXT, new TEXT,"
        " who TEXT NOT NULL, at INTEGER NOT NULL);"
        "CREATE INDEX site_config_audit_site ON site_config_audit(site_id, id);"
        "CREATE TABLE agent_config ("
        " agent_id TEXT PRIMARY KEY REFERENCES agents(id), applied INTEGER NOT NULL DEFAULT 0,"
        " error TEXT NOT NULL DEFAULT '', error_version INTEGER NOT NULL DEFAULT 0,"
        " checked_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"},
    {9, cmeters_schema_sql},  /* billing meters (issue 16; central/cmeters.c) */
    {10, calerts_schema_sql}, /* device alerts (issue 16; central/calerts.c) */
    /* per-agent configuration (issue 17; central/cstore_conf.c) */
    {11, cstore_conf_schema_11},
    {12, cportal_schema_sql},       /* the supplies portal (issue 14; central/cstore_portal.c) */
    {13, cstore_series_schema_sql}, /* daily roll-up, series (issue 15; cstore_series.c) */
};

#define SCHEMA_STEPS (sizeof(schema_steps) / sizeof(schema_steps[0]))

/* The steps PostgreSQL cannot take as cdb_dialect_pg rewrites them (cdb.h): 13's copy
 * of each day's last level uses SQLite's bare column beside max(). */
static const cdb_step_pg schema_steps_pg[] = {
    {13, "CREATE TABLE IF NOT EXISTS level_days ("
         " device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
         " idx BIGINT NOT NULL, day BIGINT NOT NULL, t BIGINT NOT NULL,"
         " level BIGINT, max BIGINT, percent BIGINT, PRIMARY KEY (device_id, idx, day));"
         "CREATE TABLE IF NOT EXISTS supply_series ("
         " device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
         " idx BIGINT NOT NULL, days BYTEA, PRIMARY KEY (device_id, idx));"
         "INSERT INTO level_days (device_id, idx, day, t, level, max, percent)"
         " SELECT DISTINCT ON (device_id, idx, t / 86400) device_id, idx, t / 86400, t, level,"
         " \"max\", percent FROM levels ORDER BY device_id, idx, t / 86400, t DESC"
         " ON CONFLICT DO NOTHING;"
         "INSERT INTO supply_series (device_id, idx)"
         " SELECT DISTINCT device_id, idx FROM level_days ON CONFLICT DO NOTHING;"},
};

const asr_sql_step *cstore_schema_steps(size_t *n)
{
  *n = SCHEMA_STEPS;
  return schema_steps;
}

const cdb_step_pg *cstore_schema_steps_pg(size_t *n)
{
  *n = sizeof(schema_steps_pg) / sizeof(schema_steps_pg[0]);
  return schema_steps_pg;
}

/* ---------------------------------------------------------------------------------------
 * The statement of this file: the site check every other file makes (the others are their
 * files'). Transactions are cdb's (cdb_begin: SQLite's BEGIN IMMEDIATE, PostgreSQL's BEGIN). */
typedef enum { S_SITE_EXISTS, S_COUNT } stmt_id;

static const char *const stmt_sql[S_COUNT] = {
    [S_SITE_EXISTS] = "SELECT id FROM sites WHERE name = ?1",
};

_Static_assert(CSTORE_SLOTS_CORE + S_COUNT <= CSTORE_SLOTS_SITES, "raise CSTORE_SLOTS_SITES");

static int busy_timeout_ms = 30000;
static char password_file[4096]; /* "": libpq's PGPASSFILE or ~/.pgpass */

void cstore_set_busy_timeout(int ms)
{
  busy_timeout_ms = ms < 0 ? 0 : ms;
}

asr_result cstore_set_password_file(const char *path)
{
  if (!path) {
    password_file[0] = '\0';
    return ASR_OK;
  }
  return asr_strlcpy(password_file, path, sizeof(password_file));
}

void *cstore_sqlite(cstore *st)
{
  return st->sql.db;
}

bool cstore_is_pg(const cstore *st)
{
  return st && st->db && cdb_backend(st->db) == CDB_PG;
}

const char *cstore_errmsg(cstore *st)
{
  if (!st)
    return "no database";
  return st->err[0] ? st->err : "no error";
}

/* ---------------------------------------------------------------------------------------
 * What the store's other files borrow (cstore_int.h). */

asr_result cstore_x_not_found(cstore *st, const char *what, const char *name)
{
  asr_sql_set_err(&st->sql, "no such %s '%s'", what, name);
  return ASR_ERR_NOT_FOUND;
}

asr_result cstore_x_commit(cstore *st, const char *what)
{
  return cdb_commit(st->db, what);
}

asr_result cstore_site_exists(cstore *st, const char *site)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r =
      cdb_prepare(st->db, CSTORE_SLOTS_CORE + S_SITE_EXISTS, stmt_sql[S_SITE_EXISTS], &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  r = cdb_step(s, "looking up a site", &row);
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "no site '%s'", site);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Opening: a SQLite file (0600, pragmas, version check, migrations) or a PostgreSQL
 * database (cdb_open: the URI's rules, the password file; cdb_migrate). */

int cstore_schema_latest(void)
{
  return asr_sql_schema_latest(schema_steps, SCHEMA_STEPS);
}

int cstore_schema_version(cstore *st)
{
  return st && st->db ? cdb_schema_version(st->db) : -1;
}

static asr_result open_sqlite(cstore *st)
{
  int v = 0;
  asr_result r = asr_sql_file_private(&st->sql, "secrets");

  if (!r)
    r = asr_sql_open(&st->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                     busy_timeout_ms);
  if (!r) /* before anything is written: someone else's file stays as it is */
    r = asr_sql_check_version(&st->sql, schema_steps, SCHEMA_STEPS, "asr-central", &v);
  if (!r)
    r = asr_sql_journal_wal(&st->sql, NULL, 0);
  if (!r)
    r = asr_sql_exec(&st->sql,
                     "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                     " PRAGMA cache_size = -32768;",
                     "setting pragmas");
  if (!r) /* checks the version again, in the transaction of each step */
    r = asr_sql_migrate(&st->sql, schema_steps, SCHEMA_STEPS, "asr-central");
  if (!r)
    r = cdb_wrap_sqlite(&st->sql, &st->db);
  return r;
}

/* PostgreSQL: the handle's asr_sql keeps the name and the message buffer (shared with the
 * cdb) and has no SQLite connection, so a file not on cdb yet is refused, not crashed. */
static asr_result open_pg(cstore *st)
{
  cdb_opts o = {.slots = CSTORE_SLOTS_END,
                .busy_ms = busy_timeout_ms,
                .password_file = password_file[0] ? password_file : NULL};
  asr_result r = cdb_open(st->path, &o, &st->db, st->err, sizeof(st->err));

  if (!r)
    cdb_use_errbuf(st->db, st->err, sizeof(st->err)); /* one buffer: cstore_errmsg */
  if (!r)
    r = cdb_migrate(st->db, schema_steps, SCHEMA_STEPS, schema_steps_pg,
                    sizeof(schema_steps_pg) / sizeof(schema_steps_pg[0]), "asr-central");
  return r;
}

asr_result cstore_open(const char *name, cstore **out, char *err, size_t n)
{
  cstore *st = calloc(1, sizeof(*st));
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (!st || !(st->path = strdup(name)))
    goto fail;
  st->sql = (asr_sql){.path = st->path,
                      .err = st->err,
                      .errn = sizeof(st->err),
                      .cache = st->stmt,
                      .ncache = CSTORE_SLOTS_END};
  r = cdb_is_pg_name(name) ? open_pg(st) : open_sqlite(st);
  if (r)
    goto fail;
  *out = st;
  return ASR_OK;
fail:
  if (err && n)
    asr_strlcpy_cut(err, st ? cstore_errmsg(st) : "out of memory", n);
  cstore_close(st);
  return r;
}

void cstore_close(cstore *st)
{
  if (!st)
    return;
  cdb_close(st->db);
  asr_sql_close(&st->sql);
  free(st->path);
  free(st);
}

int64_t cstore_count(cstore *st, const char *table)
{
  static const char *const tables[] = {"devices",  "readings",   "levels", "events",
                                       "batches",  "agents",     "sites",  "supplies",
                                       "problems", "meter_reads"};
  char sql[64];
  int64_t n = -1;

  for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
    if (strcmp(table, tables[i]) != 0 ||
        asr_fmt(sql, sizeof(sql), "SELECT count(*) FROM %s", table))
      continue;
    if (cdb_query_i64(st->db, sql, "counting rows", &n, NULL))
      n = -1;
  }
  return n;
}

asr_result cstore_tx_begin(cstore *st)
{
  return cdb_begin(st->db);
}

asr_result cstore_tx_commit(cstore *st)
{
  return cdb_commit(st->db, "committing"); /* rolled back when it fails */
}

void cstore_tx_rollback(cstore *st)
{
  cdb_rollback(st->db);
}
