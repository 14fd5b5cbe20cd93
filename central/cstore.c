/* cstore.c: the database of asr-central: its schema and migrations, opening and closing,
 * the handle's statement cache, error conversion and transactions (cstore_int.h lends them
 * to the store's other files: cstore_sites.c, cstore_ingest.c, cstore_rp.c,
 * cstore_outbox.c, cstore_contacts.c, cstore_conf.c, cmeters.c).
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

#include "central/cmeters.h"
#include "central/cstore_int.h"
#include "central/cstore_series.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

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
static const struct {
  int version;
  const char *sql;
} schema_steps[] = {
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
     *                        a pass phrase sealed (uplink/seal.h) when sealed is 1.
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
    {9, cmeters_schema_sql},        /* billing meters (issue 16; central/cmeters.c) */
    {13, cstore_series_schema_sql}, /* daily roll-up, series (issue 15; cstore_series.c) */
};

#define SCHEMA_STEPS (sizeof(schema_steps) / sizeof(schema_steps[0]))

/* ---------------------------------------------------------------------------------------
 * The statements of this file: the transaction's (the others are their files'). */
typedef enum { S_BEGIN, S_COMMIT, S_COUNT } stmt_id;

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
};

_Static_assert(CSTORE_SLOTS_CORE + S_COUNT <= CSTORE_SLOTS_SITES, "raise CSTORE_SLOTS_SITES");

static int busy_timeout_ms = 30000;

void cstore_set_busy_timeout(int ms)
{
  busy_timeout_ms = ms < 0 ? 0 : ms;
}

void *cstore_sqlite(cstore *st)
{
  return st->db;
}

const char *cstore_errmsg(cstore *st)
{
  if (!st)
    return "no database";
  return st->err[0] ? st->err : "no error";
}

/* Sets the handle's message and logs it once (at INFO: callers report errmsg). */
void cstore_set_err(cstore *st, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(st->err, sizeof(st->err), fmt, ap);
  va_end(ap);
  if (n < 0)
    asr_strlcpy(st->err, "database error", sizeof(st->err));
  asr_log(ASR_LOG_INFO, "%s", st->err);
}

/* Converts a failed SQLite call (rc) while doing `what` into an asr_result. */
asr_result cstore_db_fail(cstore *st, int rc, const char *what)
{
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    cstore_set_err(st, "%s: %s: database is busy", st->path, what);
    return ASR_ERR_DB_LOCKED;
  case SQLITE_NOMEM:
    cstore_set_err(st, "%s: %s: out of memory", st->path, what);
    return ASR_ERR_NOMEM;
  default:
    cstore_set_err(st, "%s: %s: %s", st->path, what,
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    return ASR_ERR_DB;
  }
}

asr_result cstore_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out)
{
  if (slot < 0 || slot >= CSTORE_SLOTS_END)
    return ASR_ERR_LIMIT;
  if (!st->stmt[slot]) {
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[slot], NULL);
    if (rc != SQLITE_OK)
      return cstore_db_fail(st, rc, "preparing a statement");
  }
  *out = st->stmt[slot];
  return ASR_OK;
}

void cstore_x_done(sqlite3_stmt *s)
{
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

asr_result cstore_x_run(cstore *st, sqlite3_stmt *s, const char *what)
{
  asr_result r = ASR_OK;
  int rc = sqlite3_step(s);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = cstore_db_fail(st, rc, what);
  cstore_x_done(s);
  return r;
}

asr_result cstore_x_row(cstore *st, sqlite3_stmt *s, const char *what, bool *row)
{
  int rc = sqlite3_step(s);

  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return ASR_OK;
  cstore_x_done(s);
  return cstore_db_fail(st, rc, what);
}

asr_result cstore_run_i64(cstore *st, sqlite3_stmt *s, const char *what, const int64_t *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    sqlite3_bind_int64(s, (int)i + 1, v[i]);
  return cstore_x_run(st, s, what);
}

static asr_result exec_id(cstore *st, stmt_id id, const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = cstore_stmt(st, CSTORE_SLOTS_CORE + (int)id, stmt_sql[id], &s);

  return r ? r : cstore_x_run(st, s, what);
}

asr_result cstore_x_commit(cstore *st, const char *what)
{
  return exec_id(st, S_COMMIT, what);
}

void cstore_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

void cstore_bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
  if (v >= 0)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

const char *cstore_col_text(sqlite3_stmt *s, int col)
{
  return (const char *)sqlite3_column_text(s, col);
}

const char *cstore_col_copy(sqlite3_stmt *s, int col, char *buf)
{
  const char *v = cstore_col_text(s, col);

  if (!v)
    return NULL;
  asr_strlcpy(buf, v, CSTORE_NAME_MAX);
  return buf;
}

/* ---------------------------------------------------------------------------------------
 * Opening: the file (0600), pragmas, version check, migrations. */

static asr_result exec_sql(cstore *st, const char *sql, const char *what)
{
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? ASR_OK : cstore_db_fail(st, rc, what);
}

static asr_result query_int(cstore *st, const char *sql, int *out)
{
  sqlite3_stmt *s = NULL;
  asr_result r = ASR_OK;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int(s, 0);
  else if (rc == SQLITE_DONE)
    *out = 0;
  else
    r = cstore_db_fail(st, rc, "reading the schema");
  sqlite3_finalize(s);
  return r;
}

int cstore_schema_latest(void)
{
  return schema_steps[SCHEMA_STEPS - 1].version;
}

int cstore_schema_version(cstore *st)
{
  int v = -1;

  if (!st || query_int(st, "PRAGMA user_version", &v) != ASR_OK)
    return -1;
  return v;
}

/* Creates the file 0600 when missing; narrows a wider mode (it holds secrets).
 * Never opens an existing database file: closing any descriptor of a file drops every
 * POSIX lock this process holds on it, which would break the SQLite connections other
 * threads have open (another process could then checkpoint and delete the WAL under
 * them). A new file is created before any connection can lock it. */
static asr_result prepare_file(cstore *st)
{
  struct stat sb;
  int fd;

  if (stat(st->path, &sb) == 0) {
    if (!S_ISREG(sb.st_mode)) {
      cstore_set_err(st, "%s: not a regular file", st->path);
      return ASR_ERR_DB;
    }
    if ((sb.st_mode & 077) && chmod(st->path, 0600) == 0)
      asr_log(ASR_LOG_WARN, "%s: was readable by others, now 0600 (it holds secrets)", st->path);
    return ASR_OK;
  }
  fd = open(st->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    cstore_set_err(st, "%s: cannot create: %s", st->path, strerror(errno));
    return ASR_ERR_DB;
  }
  if (fd >= 0)
    close(fd);
  return ASR_OK;
}

static asr_result migrate_step(cstore *st, int version, const char *sql)
{
  char set[64];
  int v = 0;
  asr_result r = exec_id(st, S_BEGIN, "starting a migration");

  if (r)
    return r;
  r = query_int(st, "PRAGMA user_version", &v);
  if (r || v >= version)
    goto out;
  r = exec_sql(st, sql, "migrating the schema");
  if (!r)
    r = asr_fmt(set, sizeof(set), "PRAGMA user_version = %d", version);
  if (!r)
    r = exec_sql(st, set, "setting the schema version");
out:
  if (!r)
    r = exec_id(st, S_COMMIT, "committing a migration");
  if (r)
    cstore_tx_rollback(st);
  return r;
}

static asr_result check_version(cstore *st)
{
  int v = 0, tables = 0;
  asr_result r = query_int(st, "PRAGMA user_version", &v);

  if (r)
    return r;
  if (v > cstore_schema_latest()) {
    cstore_set_err(
        st, "%s: schema version %d is newer than this program's (%d): use a newer asr-central",
        st->path, v, cstore_schema_latest());
    return ASR_ERR_DB_VERSION;
  }
  if (v > 0)
    return ASR_OK;
  r = query_int(st, "SELECT count(*) FROM sqlite_master", &tables);
  if (!r && tables > 0) {
    cstore_set_err(st, "%s: not an asr-central database", st->path);
    r = ASR_ERR_DB;
  }
  return r;
}

static asr_result open_db(cstore *st)
{
  int rc = sqlite3_open_v2(st->path, &st->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  asr_result r;

  if (rc != SQLITE_OK)
    return cstore_db_fail(st, rc, "opening");
  sqlite3_busy_timeout(st->db, busy_timeout_ms);
  r = check_version(st);
  if (!r)
    r = exec_sql(st,
                 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                 " PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;",
                 "setting pragmas");
  for (size_t i = 0; !r && i < SCHEMA_STEPS; i++)
    r = migrate_step(st, schema_steps[i].version, schema_steps[i].sql);
  return r;
}

asr_result cstore_open(const char *path, cstore **out, char *err, size_t n)
{
  cstore *st = calloc(1, sizeof(*st));
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (!st || !(st->path = strdup(path)))
    goto fail;
  r = prepare_file(st);
  if (!r)
    r = open_db(st);
  if (r)
    goto fail;
  *out = st;
  return ASR_OK;
fail:
  if (err && n)
    asr_strlcpy(err, st ? cstore_errmsg(st) : "out of memory", n);
  cstore_close(st);
  return r;
}

asr_result cstore_x_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out)
{
  if (slot < 0 || slot >= CSTORE_XSTMT_MAX)
    return ASR_ERR_LIMIT;
  return cstore_stmt(st, CSTORE_SLOTS_X + slot, sql, out);
}

asr_result cstore_x_not_found(cstore *st, const char *what, const char *name)
{
  cstore_set_err(st, "no such %s '%s'", what, name);
  return ASR_ERR_NOT_FOUND;
}

void cstore_close(cstore *st)
{
  if (!st)
    return;
  for (int i = 0; i < CSTORE_SLOTS_END; i++)
    sqlite3_finalize(st->stmt[i]);
  sqlite3_close(st->db);
  free(st->path);
  free(st);
}

int64_t cstore_count(cstore *st, const char *table)
{
  static const char *const tables[] = {"devices",  "readings",   "levels", "events",
                                       "batches",  "agents",     "sites",  "supplies",
                                       "problems", "meter_reads"};
  char sql[64];
  sqlite3_stmt *s = NULL;
  int64_t n = -1;

  for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
    if (strcmp(table, tables[i]) != 0 ||
        asr_fmt(sql, sizeof(sql), "SELECT count(*) FROM %s", table))
      continue;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  return n;
}

asr_result cstore_tx_begin(cstore *st)
{
  return exec_id(st, S_BEGIN, "starting a transaction");
}

asr_result cstore_tx_commit(cstore *st)
{
  asr_result r = exec_id(st, S_COMMIT, "committing");

  if (r)
    cstore_tx_rollback(st);
  return r;
}

void cstore_tx_rollback(cstore *st)
{
  if (!sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}
