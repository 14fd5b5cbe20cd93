/* cstore.c: the database of asr-central; the only central code that includes sqlite3.h
 * (with central/cmeters.c, which borrows its handle through cstore_int.h).
 *
 * Reading order: the schema and its migrations (data), the statements (data), the
 * handle and error conversion, opening, sites and agents, applying a batch (the hot
 * path), and the listings.
 *
 * Why it looks like this:
 * - Every statement is a row of stmt_sql[], prepared once per handle on first use and
 *   reset after each use: a batch of 60,000 readings is one transaction of a few
 *   hundred thousand steps of a dozen cached statements.
 * - Readings, levels and events are INSERT OR IGNORE into WITHOUT ROWID tables keyed by
 *   what makes them unique, so the same reading in two batches is stored once; each
 *   device's "readings" column counts the rows that were really inserted.
 * - A batch is applied under BEGIN IMMEDIATE: writers queue on the busy timeout, and a
 *   batch that still meets a busy file is retried whole (it was rolled back). */
#include "central/cstore.h"

#include "central/cmeters.h"
#include "central/cstore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "wire/sign.h"

#define CSTORE_ERR_MAX 512
#define APPLY_TRIES 20      /* whole-transaction retries of a batch meeting a busy file */
#define CSTORE_OSTMT_MAX 64 /* room for the replenishment statements (o_stmt_id) */

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
    {9, cmeters_schema_sql}, /* billing meters (issue 16; central/cmeters.c) */
};

#define SCHEMA_STEPS (sizeof(schema_steps) / sizeof(schema_steps[0]))

/* ---------------------------------------------------------------------------------------
 * Statements: one row each, prepared on first use. */
typedef enum {
  S_BEGIN,
  S_COMMIT,
  S_SITE_ADD,
  S_SITE_BY_NAME,
  S_SITE_BY_TOKEN,
  S_SITES,
  S_AGENT_ADD,
  S_AGENT_GET,
  S_AGENT_REVOKE,
  S_AGENT_SEEN,
  S_AGENT_SITE,
  S_TOKEN_ROTATE,
  S_TOKEN_REVOKE,
  S_TOKEN_REVOKE_OF_AGENT,
  S_BATCH_GET,
  S_BATCH_ADD,
  S_DEVICE_UPSERT,
  S_DEVICE_ID,
  S_DEVICE_COUNT,
  S_SUPPLY_META,
  S_SUPPLY_LEVEL,
  S_READING_ADD,
  S_LEVEL_ADD,
  S_EVENT_ADD,
  S_DEVICES,
  S_DEVICE_SUPPLIES,
  S_REUSE_GET,
  S_PROBLEM_ADD,
  S_BATCH_DIGEST,
  S_PROBLEMS,
  S_COUNT
} stmt_id;

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_SITE_ADD] = "INSERT INTO sites (name, contact, address, token, created_at,"
                   " token_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [S_SITE_BY_NAME] = "SELECT id FROM sites WHERE name = ?1",
    [S_SITE_BY_TOKEN] = "SELECT id, name, token_revoked, token_gen FROM sites WHERE token = ?1",
    /* the site's contact and address: its first contact's (the default of its devices) */
    [S_SITES] = "SELECT id, name, coalesce((SELECT c.email FROM contacts c WHERE c.site_id = s.id"
                " ORDER BY c.id LIMIT 1), contact), coalesce((SELECT c.address FROM contacts c"
                " WHERE c.site_id = s.id ORDER BY c.id LIMIT 1), address), created_at,"
                " (SELECT count(*) FROM agents a WHERE a.site_id = s.id),"
                " (SELECT count(*) FROM devices d WHERE d.site_id = s.id),"
                " token_revoked, token_changed_at FROM sites s ORDER BY name",
    [S_AGENT_ADD] = "INSERT INTO agents (id, site_id, secret, hostname, agent_version,"
                    " enrolled_at, token_gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_AGENT_GET] = "SELECT site_id, secret, revoked FROM agents WHERE id = ?1",
    [S_AGENT_REVOKE] = "UPDATE agents SET revoked = 1 WHERE id = ?1",
    /* every batch, heartbeats included, says the agent is alive */
    [S_AGENT_SEEN] = "UPDATE agents SET last_seen = max(last_seen, ?2),"
                     " agent_version = coalesce(?3, agent_version) WHERE id = ?1",
    [S_AGENT_SITE] = "SELECT s.name FROM agents a JOIN sites s ON s.id = a.site_id WHERE a.id = ?1",
    [S_TOKEN_ROTATE] = "UPDATE sites SET token = ?2, token_gen = token_gen + 1, token_revoked = 0,"
                       " token_changed_at = ?3 WHERE name = ?1",
    [S_TOKEN_REVOKE] = "UPDATE sites SET token_revoked = 1, token_changed_at = ?2 WHERE name = ?1",
    /* the site's token, when it is still the one the agent enrolled with */
    [S_TOKEN_REVOKE_OF_AGENT] =
        "UPDATE sites SET token_revoked = 1, token_changed_at = ?2 WHERE token_revoked = 0"
        " AND (id, token_gen) = (SELECT site_id, token_gen FROM agents WHERE id = ?1)",
    [S_BATCH_GET] = "SELECT readings, digest FROM batches WHERE id = ?1",
    [S_BATCH_ADD] = "INSERT INTO batches (id, agent_id, received_at, created_at, devices,"
                    " readings, readings_new, events, digest, readings_refused, events_refused)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    /* a committed id whose other content was stored already (a reused id sent again) */
    [S_REUSE_GET] = "SELECT 1 FROM problems WHERE batch_id = ?1 AND digest = ?2"
                    " AND what = 'id_reused' LIMIT 1",
    [S_PROBLEM_ADD] = "INSERT INTO problems (site_id, agent_id, batch_id, received_at, what,"
                      " device, idx, t, readings, events, digest, error)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    /* a batch committed before version 3 gets its digest once its content is known */
    [S_BATCH_DIGEST] = "UPDATE batches SET digest = ?2 WHERE id = ?1 AND digest IS NULL",
    [S_PROBLEMS] = "SELECT p.id, s.name, p.agent_id, p.batch_id, p.what, p.device, p.error,"
                   " p.received_at, p.idx, p.t, p.readings, p.events FROM problems p"
                   " JOIN sites s ON s.id = p.site_id WHERE ?1 IS NULL OR s.name = ?1"
                   " ORDER BY p.id DESC LIMIT ?2",
    /* identity and state: what the newest batch said (an older batch arriving late does
     * not overwrite it); a value the batch did not carry keeps the stored one */
    [S_DEVICE_UPSERT] =
        "INSERT INTO devices (site_id, key, serial, mac, ip, vendor, model, sys_object_id,"
        " sys_descr, sys_name, printer_status, errors, state, state_since, last_good_poll,"
        " failed_polls, agent_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        " ON CONFLICT (site_id, key) DO UPDATE SET"
        " serial = coalesce(excluded.serial, serial), mac = coalesce(excluded.mac, mac),"
        " ip = coalesce(excluded.ip, ip), vendor = coalesce(excluded.vendor, vendor),"
        " model = coalesce(excluded.model, model),"
        " sys_object_id = coalesce(excluded.sys_object_id, sys_object_id),"
        " sys_descr = coalesce(excluded.sys_descr, sys_descr),"
        " sys_name = coalesce(excluded.sys_name, sys_name),"
        " printer_status = coalesce(excluded.printer_status, printer_status),"
        " errors = coalesce(excluded.errors, errors), state = coalesce(excluded.state, state),"
        " state_since = coalesce(excluded.state_since, state_since),"
        " last_good_poll = coalesce(excluded.last_good_poll, last_good_poll),"
        " failed_polls = coalesce(excluded.failed_polls, failed_polls),"
        " agent_id = excluded.agent_id, updated_at = excluded.updated_at"
        " WHERE excluded.updated_at >= devices.updated_at",
    [S_DEVICE_ID] = "SELECT id FROM devices WHERE site_id = ?1 AND key = ?2",
    [S_DEVICE_COUNT] = "UPDATE devices SET readings = readings + ?2,"
                       " last_reading_at = max(last_reading_at, ?3) WHERE id = ?1",
    [S_SUPPLY_META] =
        "INSERT INTO supplies (device_id, idx, description, part_number, type, class,"
        " colorant, unit, colorant_std) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (device_id, idx) DO UPDATE SET description = excluded.description,"
        " part_number = excluded.part_number, type = excluded.type, class = excluded.class,"
        " colorant = excluded.colorant, unit = excluded.unit,"
        " colorant_std = excluded.colorant_std",
    /* the values of the newest reading that reported the supply */
    [S_SUPPLY_LEVEL] = "INSERT INTO supplies (device_id, idx, level, max, percent, level_t)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (device_id, idx) DO UPDATE"
                       " SET level = excluded.level, max = excluded.max,"
                       " percent = excluded.percent, level_t = excluded.level_t"
                       " WHERE excluded.level_t >= supplies.level_t",
    [S_READING_ADD] = "INSERT OR IGNORE INTO readings (device_id, t, page_count)"
                      " VALUES (?1, ?2, ?3)",
    [S_LEVEL_ADD] = "INSERT OR IGNORE INTO levels (device_id, idx, t, level, max, percent)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_EVENT_ADD] = "INSERT OR IGNORE INTO events (device_id, t, kind, detail, batch_id)"
                    " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_DEVICES] = "SELECT d.id, d.key, d.serial, s.name, d.agent_id, d.ip, d.vendor, d.model,"
                  " d.state, d.last_reading_at, d.readings FROM devices d"
                  " JOIN sites s ON s.id = d.site_id WHERE ?1 IS NULL OR s.name = ?1"
                  " ORDER BY s.name, d.key",
    /* the supplies of the last reading (all described ones before any reading) */
    [S_DEVICE_SUPPLIES] = "SELECT idx, type, colorant, description, level, max, percent"
                          " FROM supplies WHERE device_id = ?1 AND (?2 = 0 OR level_t = ?2)"
                          " ORDER BY idx",
};

struct cstore {
  sqlite3 *db;
  char *path;
  char err[CSTORE_ERR_MAX];
  sqlite3_stmt *stmt[S_COUNT];
  sqlite3_stmt *ostmt[CSTORE_OSTMT_MAX]; /* replenishment statements (end of this file) */
  sqlite3_stmt *xstmt[CSTORE_XSTMT_MAX]; /* the store's other files (cstore_int.h) */
};

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

static void set_err(cstore *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the handle's message and logs it once (at INFO: callers report errmsg). */
static void set_err(cstore *st, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(st->err, sizeof(st->err), fmt, ap);
  va_end(ap);
  if (n < 0)
    asr_strlcpy_cut(st->err, "database error", sizeof(st->err));
  asr_log(ASR_LOG_INFO, "%s", st->err);
}

/* Converts a failed SQLite call (rc) while doing `what` into an asr_result. */
static asr_result db_fail(cstore *st, int rc, const char *what)
{
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    set_err(st, "%s: %s: database is busy", st->path, what);
    return ASR_ERR_DB_LOCKED;
  case SQLITE_NOMEM:
    set_err(st, "%s: %s: out of memory", st->path, what);
    return ASR_ERR_NOMEM;
  default:
    set_err(st, "%s: %s: %s", st->path, what, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    return ASR_ERR_DB;
  }
}

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(cstore *st, stmt_id id, sqlite3_stmt **out)
{
  if (!st->stmt[id]) {
    int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                                NULL);
    if (rc != SQLITE_OK)
      return db_fail(st, rc, "preparing a statement");
  }
  *out = st->stmt[id];
  return ASR_OK;
}

static void stmt_done(sqlite3_stmt *s)
{
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

/* Steps a statement that returns no row we need, then resets it. */
static asr_result stmt_run(cstore *st, sqlite3_stmt *s, const char *what)
{
  asr_result r = ASR_OK;
  int rc = sqlite3_step(s);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = db_fail(st, rc, what);
  stmt_done(s);
  return r;
}

/* Steps a query: *row tells whether a row is there (the caller reads, then resets). */
static asr_result stmt_row(cstore *st, sqlite3_stmt *s, const char *what, bool *row)
{
  int rc = sqlite3_step(s);

  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return ASR_OK;
  stmt_done(s);
  return db_fail(st, rc, what);
}

static asr_result exec_id(cstore *st, stmt_id id, const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, id, &s);

  return r ? r : stmt_run(st, s, what);
}

static void tx_rollback(cstore *st)
{
  if (!sqlite3_get_autocommit(st->db))
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Binds a string, or NULL when v is NULL. */
static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

/* Binds an integer, or NULL when v < 0 (absent). */
static void bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
  if (v >= 0)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

/* ---------------------------------------------------------------------------------------
 * Opening: the file (0600), pragmas, version check, migrations. */

static asr_result exec_sql(cstore *st, const char *sql, const char *what)
{
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? ASR_OK : db_fail(st, rc, what);
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
    r = db_fail(st, rc, "reading the schema");
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
      set_err(st, "%s: not a regular file", st->path);
      return ASR_ERR_DB;
    }
    if ((sb.st_mode & 077) && chmod(st->path, 0600) == 0)
      asr_log(ASR_LOG_WARN, "%s: was readable by others, now 0600 (it holds secrets)", st->path);
    return ASR_OK;
  }
  fd = open(st->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) {
    set_err(st, "%s: cannot create: %s", st->path, strerror(errno));
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
    tx_rollback(st);
  return r;
}

static asr_result check_version(cstore *st)
{
  int v = 0, tables = 0;
  asr_result r = query_int(st, "PRAGMA user_version", &v);

  if (r)
    return r;
  if (v > cstore_schema_latest()) {
    set_err(st, "%s: schema version %d is newer than this program's (%d): use a newer asr-central",
            st->path, v, cstore_schema_latest());
    return ASR_ERR_DB_VERSION;
  }
  if (v > 0)
    return ASR_OK;
  r = query_int(st, "SELECT count(*) FROM sqlite_master", &tables);
  if (!r && tables > 0) {
    set_err(st, "%s: not an asr-central database", st->path);
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
    return db_fail(st, rc, "opening");
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
    asr_strlcpy_cut(err, st ? cstore_errmsg(st) : "out of memory", n);
  cstore_close(st);
  return r;
}

asr_result cstore_x_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out)
{
  if (slot < 0 || slot >= CSTORE_XSTMT_MAX)
    return ASR_ERR_LIMIT;
  if (!st->xstmt[slot]) {
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->xstmt[slot], NULL);
    if (rc != SQLITE_OK)
      return db_fail(st, rc, "preparing a statement");
  }
  *out = st->xstmt[slot];
  return ASR_OK;
}

asr_result cstore_x_run(cstore *st, sqlite3_stmt *s, const char *what)
{
  return stmt_run(st, s, what);
}

asr_result cstore_x_row(cstore *st, sqlite3_stmt *s, const char *what, bool *row)
{
  return stmt_row(st, s, what, row);
}

void cstore_x_done(sqlite3_stmt *s)
{
  stmt_done(s);
}

asr_result cstore_x_not_found(cstore *st, const char *what, const char *name)
{
  set_err(st, "no such %s '%s'", what, name);
  return ASR_ERR_NOT_FOUND;
}

void cstore_close(cstore *st)
{
  if (!st)
    return;
  for (int i = 0; i < S_COUNT; i++)
    sqlite3_finalize(st->stmt[i]);
  for (int i = 0; i < CSTORE_OSTMT_MAX; i++)
    sqlite3_finalize(st->ostmt[i]);
  for (int i = 0; i < CSTORE_XSTMT_MAX; i++)
    sqlite3_finalize(st->xstmt[i]);
  sqlite3_close(st->db);
  free(st->path);
  free(st);
}

/* ---------------------------------------------------------------------------------------
 * Sites and agents. */

static asr_result first_contact_add(cstore *st, int64_t site_id, const char *email,
                                    const char *address, int64_t now);

asr_result cstore_site_add(cstore *st, const char *name, const char *contact, const char *address,
                           int64_t now, char *token, size_t tokenn)
{
  char hex[33];
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r;

  if (tokenn < CSTORE_TOKEN_LEN + 1 || asr_sign_random_hex(hex, 16) != ASR_OK)
    return ASR_ERR_INVALID;
  r = stmt_get(st, S_SITE_BY_NAME, &s);
  if (!r) {
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    r = stmt_row(st, s, "looking up a site", &row);
    stmt_done(s);
  }
  if (!r && row) {
    set_err(st, "site '%s' exists already", name);
    return ASR_ERR_INVALID;
  }
  if (!r)
    r = asr_fmt(token, tokenn, "st_%s", hex);
  if (!r)
    r = stmt_get(st, S_SITE_ADD, &s);
  if (r)
    return r;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, contact, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, address ? address : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, token, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, now);
  r = stmt_run(st, s, "adding a site");
  if (!r) /* its first supplies contact: the default of its devices (schema 5) */
    r = first_contact_add(st, sqlite3_last_insert_rowid(st->db), contact, address, now);
  return r;
}

static const char *col_text(sqlite3_stmt *s, int col)
{
  return (const char *)sqlite3_column_text(s, col);
}

asr_result cstore_site_foreach(cstore *st, cstore_site_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_SITES, &s);

  while (!r && row) {
    cstore_site site;
    r = stmt_row(st, s, "listing sites", &row);
    if (r || !row)
      break;
    site.id = sqlite3_column_int64(s, 0);
    site.name = col_text(s, 1);
    site.contact = col_text(s, 2);
    site.address = col_text(s, 3);
    site.created_at = sqlite3_column_int64(s, 4);
    site.agents = sqlite3_column_int64(s, 5);
    site.devices = sqlite3_column_int64(s, 6);
    site.token_revoked = sqlite3_column_int(s, 7) != 0;
    site.token_changed_at = sqlite3_column_int64(s, 8);
    if (cb(&site, ctx))
      break;
  }
  if (s)
    stmt_done(s);
  return r;
}

/* Finds the site of a token: its id, name and the token's generation. ASR_ERR_NOT_FOUND
 * for no site, ASR_ERR_AUTH for a revoked token. */
static asr_result site_by_token(cstore *st, const char *token, int64_t *id, int64_t *gen,
                                char *site, size_t siten)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_SITE_BY_TOKEN, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, token, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up a site token", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *id = sqlite3_column_int64(s, 0);
    *gen = sqlite3_column_int64(s, 3);
    r = asr_strlcpy(site, col_text(s, 1), siten);
    if (!r && sqlite3_column_int(s, 2) != 0)
      r = ASR_ERR_AUTH;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_enroll(cstore *st, const char *token, const char *hostname, const char *version,
                         int64_t now, cstore_agent *agent, char *site, size_t siten)
{
  char hex[33];
  sqlite3_stmt *s = NULL;
  int64_t gen = 1;
  asr_result r;

  memset(agent, 0, sizeof(*agent));
  r = site_by_token(st, token, &agent->site_id, &gen, site, siten);
  if (!r && (asr_sign_random_hex(hex, 16) || asr_sign_random_hex(agent->secret, 32)))
    r = ASR_ERR_INVALID;
  if (!r)
    r = asr_fmt(agent->id, sizeof(agent->id), "ag_%s", hex);
  if (!r)
    r = stmt_get(st, S_AGENT_ADD, &s);
  if (r)
    return r;
  sqlite3_bind_text(s, 1, agent->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, agent->site_id);
  sqlite3_bind_text(s, 3, agent->secret, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, hostname ? hostname : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, version ? version : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, now);
  sqlite3_bind_int64(s, 7, gen);
  return stmt_run(st, s, "adding an agent");
}

asr_result cstore_agent_get(cstore *st, const char *id, cstore_agent *out)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_AGENT_GET, &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up an agent", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    out->site_id = sqlite3_column_int64(s, 0);
    out->revoked = sqlite3_column_int(s, 2) != 0;
    if (asr_strlcpy(out->secret, col_text(s, 1), sizeof(out->secret)) ||
        asr_strlcpy(out->id, id, sizeof(out->id)))
      r = ASR_ERR_INVALID;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_agent_revoke(cstore *st, const char *id)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_AGENT_REVOKE, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  r = stmt_run(st, s, "revoking an agent");
  if (!r && sqlite3_changes(st->db) == 0)
    r = ASR_ERR_NOT_FOUND;
  return r;
}

/* The name of agent id's site. */
static asr_result agent_site(cstore *st, const char *id, char *site, size_t n)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_AGENT_SITE, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up an agent's site", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = asr_strlcpy(site, col_text(s, 0), n);
  stmt_done(s);
  return r;
}

/* Revokes the site token agent id enrolled with, when it is still the site's; *revoked
 * tells whether it was. */
static asr_result revoke_token_of(cstore *st, const char *id, int64_t now, bool *revoked)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_TOKEN_REVOKE_OF_AGENT, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  r = stmt_run(st, s, "revoking a site token");
  *revoked = !r && sqlite3_changes(st->db) > 0;
  return r;
}

asr_result cstore_agent_lock_out(cstore *st, const char *id, bool keep_token, int64_t now,
                                 cstore_lockout *out)
{
  asr_result r;

  memset(out, 0, sizeof(*out));
  r = exec_id(st, S_BEGIN, "starting a transaction");
  if (!r)
    r = cstore_agent_revoke(st, id);
  if (!r)
    r = agent_site(st, id, out->site, sizeof(out->site));
  if (!r && !keep_token)
    r = revoke_token_of(st, id, now, &out->token_revoked);
  if (!r)
    r = exec_id(st, S_COMMIT, "committing a revocation");
  if (r)
    tx_rollback(st);
  return r;
}

/* Runs a statement on a site name with (name, text or NULL, now); ASR_ERR_NOT_FOUND when no
 * site has that name. */
static asr_result site_update(cstore *st, stmt_id id, const char *name, const char *text,
                              int64_t now, const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, id, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (text) {
    sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
  } else {
    sqlite3_bind_int64(s, 2, now);
  }
  r = stmt_run(st, s, what);
  if (!r && sqlite3_changes(st->db) == 0) {
    set_err(st, "no site '%s'", name);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_site_token_rotate(cstore *st, const char *name, int64_t now, char *token,
                                    size_t tokenn)
{
  char hex[33];

  if (tokenn < CSTORE_TOKEN_LEN + 1 || asr_sign_random_hex(hex, 16) != ASR_OK ||
      asr_fmt(token, tokenn, "st_%s", hex) != ASR_OK)
    return ASR_ERR_INVALID;
  return site_update(st, S_TOKEN_ROTATE, name, token, now, "rotating a site token");
}

asr_result cstore_site_token_revoke(cstore *st, const char *name, int64_t now)
{
  return site_update(st, S_TOKEN_REVOKE, name, NULL, now, "revoking a site token");
}

/* ---------------------------------------------------------------------------------------
 * Applying a batch. Per device of the batch: its row id, how many of its readings were
 * new, and which of its readings is the newest (whose levels become the supplies'). */

typedef struct {
  int64_t id;
  int64_t fresh;
  size_t newest; /* index into readings, valid when has_newest */
  bool has_newest;
} dev_state;

static asr_result device_upsert(cstore *st, const cstore_agent *ag, const cstore_dev *d,
                                int64_t when, int64_t *id)
{
  const char *str[] = {d->serial,         d->mac,           d->ip,        d->vendor,
                       d->model,          d->sys_object_id, d->sys_descr, d->sys_name,
                       d->printer_status, d->errors_json,   d->state};
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_DEVICE_UPSERT, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, ag->site_id);
  sqlite3_bind_text(s, 2, d->key, -1, SQLITE_STATIC);
  for (int i = 0; i < (int)(sizeof(str) / sizeof(str[0])); i++)
    bind_opt(s, 3 + i, str[i]);
  bind_opt_i64(s, 14, d->state_since);
  bind_opt_i64(s, 15, d->last_good_poll);
  bind_opt_i64(s, 16, d->failed_polls);
  sqlite3_bind_text(s, 17, ag->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 18, when);
  r = stmt_run(st, s, "storing a device");
  if (!r)
    r = stmt_get(st, S_DEVICE_ID, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, ag->site_id);
  sqlite3_bind_text(s, 2, d->key, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "finding a device", &row);
  if (!r && !row)
    r = db_fail(st, SQLITE_INTERNAL, "finding a stored device");
  if (!r)
    *id = sqlite3_column_int64(s, 0);
  stmt_done(s);
  return r;
}

static asr_result supply_meta(cstore *st, int64_t dev, const cstore_supply_meta *m)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_SUPPLY_META, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_int(s, 2, m->index);
  bind_opt(s, 3, m->description);
  bind_opt(s, 4, m->part_number);
  bind_opt(s, 5, m->type);
  bind_opt(s, 6, m->klass);
  bind_opt(s, 7, m->colorant);
  bind_opt(s, 8, m->unit);
  bind_opt(s, 9, m->colorant_std);
  return stmt_run(st, s, "storing a supply");
}

static asr_result apply_devices(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                int64_t when, dev_state *ds)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < b->n_devices; i++) {
    if (b->devices[i].refused)
      continue; /* its readings and events were refused with it */
    r = device_upsert(st, ag, &b->devices[i], when, &ds[i].id);
    for (size_t j = 0; !r && j < b->devices[i].n_supplies; j++)
      r = supply_meta(st, ds[i].id, &b->devices[i].supplies[j]);
  }
  return r;
}

/* Binds the level, max, percent of lv at parameters i, i+1, i+2. */
static void bind_level(sqlite3_stmt *s, int i, const cstore_level *lv)
{
  if (lv->has_level)
    sqlite3_bind_int64(s, i, lv->level);
  else
    sqlite3_bind_null(s, i);
  if (lv->has_max)
    sqlite3_bind_int64(s, i + 1, lv->max);
  else
    sqlite3_bind_null(s, i + 1);
  if (lv->has_percent)
    sqlite3_bind_int(s, i + 2, lv->percent);
  else
    sqlite3_bind_null(s, i + 2);
}

static asr_result reading_add(cstore *st, sqlite3_stmt *rs, sqlite3_stmt *ls, int64_t dev,
                              const cstore_reading *rd, bool *fresh)
{
  asr_result r;

  sqlite3_bind_int64(rs, 1, dev);
  sqlite3_bind_int64(rs, 2, rd->t);
  if (rd->has_page_count)
    sqlite3_bind_int64(rs, 3, rd->page_count);
  else
    sqlite3_bind_null(rs, 3);
  r = stmt_run(st, rs, "storing a reading");
  *fresh = !r && sqlite3_changes(st->db) > 0;
  for (size_t i = 0; !r && i < rd->n_levels; i++) {
    sqlite3_bind_int64(ls, 1, dev);
    sqlite3_bind_int(ls, 2, rd->levels[i].index);
    sqlite3_bind_int64(ls, 3, rd->t);
    bind_level(ls, 4, &rd->levels[i]);
    r = stmt_run(st, ls, "storing a level");
  }
  if (!r && rd->n_meters)
    r = cmeters_store(st, dev, rd);
  return r;
}

static asr_result apply_readings(cstore *st, const cstore_batch *b, dev_state *ds,
                                 int64_t *fresh_total)
{
  sqlite3_stmt *rs = NULL, *ls = NULL;
  asr_result r = stmt_get(st, S_READING_ADD, &rs);

  if (!r)
    r = stmt_get(st, S_LEVEL_ADD, &ls);
  for (size_t i = 0; !r && i < b->n_readings; i++) {
    const cstore_reading *rd = &b->readings[i];
    dev_state *d = &ds[rd->device];
    bool fresh = false;

    r = reading_add(st, rs, ls, d->id, rd, &fresh);
    d->fresh += fresh;
    *fresh_total += fresh;
    if (!d->has_newest || rd->t >= b->readings[d->newest].t) {
      d->newest = i;
      d->has_newest = true;
    }
  }
  return r;
}

/* Per device with readings: its counters, and the supplies' values of its newest one. */
static asr_result apply_newest(cstore *st, const cstore_batch *b, const dev_state *ds)
{
  sqlite3_stmt *cs = NULL, *ss = NULL;
  asr_result r = stmt_get(st, S_DEVICE_COUNT, &cs);

  if (!r)
    r = stmt_get(st, S_SUPPLY_LEVEL, &ss);
  for (size_t i = 0; !r && i < b->n_devices; i++) {
    const cstore_reading *rd = &b->readings[ds[i].newest];
    if (!ds[i].has_newest)
      continue;
    sqlite3_bind_int64(cs, 1, ds[i].id);
    sqlite3_bind_int64(cs, 2, ds[i].fresh);
    sqlite3_bind_int64(cs, 3, rd->t);
    r = stmt_run(st, cs, "counting readings");
    for (size_t j = 0; !r && j < rd->n_levels; j++) {
      sqlite3_bind_int64(ss, 1, ds[i].id);
      sqlite3_bind_int(ss, 2, rd->levels[j].index);
      bind_level(ss, 3, &rd->levels[j]);
      sqlite3_bind_int64(ss, 6, rd->t);
      r = stmt_run(st, ss, "storing a supply level");
    }
  }
  return r;
}

/* The events; *fresh counts those not stored before. */
static asr_result apply_events(cstore *st, const cstore_batch *b, const dev_state *ds,
                               int64_t *fresh)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_EVENT_ADD, &s);

  for (size_t i = 0; !r && i < b->n_events; i++) {
    sqlite3_bind_int64(s, 1, ds[b->events[i].device].id);
    sqlite3_bind_int64(s, 2, b->events[i].t);
    sqlite3_bind_text(s, 3, b->events[i].kind, -1, SQLITE_STATIC);
    bind_opt(s, 4, b->events[i].detail);
    sqlite3_bind_text(s, 5, b->batch_id, -1, SQLITE_STATIC);
    r = stmt_run(st, s, "storing an event");
    *fresh += !r && sqlite3_changes(st->db) > 0;
  }
  return r;
}

/* What the central already knows of a batch id. */
typedef enum {
  SEEN_NEW,       /* never committed */
  SEEN_SAME,      /* committed with this content: a duplicate */
  SEEN_REUSED,    /* committed with another content (a restored or copied database) */
  SEEN_REUSED_AS, /* committed with another content, and this content stored too before */
  SEEN_NO_DIGEST  /* committed before schema 3: the content is not known */
} batch_seen;

/* How batch b was seen before; *readings the readings of the committed batch. */
static asr_result batch_lookup(cstore *st, const cstore_batch *b, batch_seen *seen,
                               int64_t *readings)
{
  sqlite3_stmt *s = NULL;
  bool found = false, same = false, no_digest = false;
  asr_result r = stmt_get(st, S_BATCH_GET, &s);

  *seen = SEEN_NEW;
  if (r)
    return r;
  sqlite3_bind_text(s, 1, b->batch_id, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up a batch", &found);
  if (!r && found) {
    const char *digest = col_text(s, 1);

    *readings = sqlite3_column_int64(s, 0);
    no_digest = !digest;
    same = digest && b->digest && strcmp(digest, b->digest) == 0;
  }
  stmt_done(s);
  if (r || !found)
    return r;
  *seen = same ? SEEN_SAME : no_digest ? SEEN_NO_DIGEST : SEEN_REUSED;
  if (*seen != SEEN_REUSED || !b->digest || (r = stmt_get(st, S_REUSE_GET, &s)))
    return r;
  sqlite3_bind_text(s, 1, b->batch_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, b->digest, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up a reused batch id", &found);
  stmt_done(s);
  if (!r && found)
    *seen = SEEN_REUSED_AS;
  return r;
}

/* Every batch, heartbeats and reused ids included, says the agent is alive. */
static asr_result agent_seen(cstore *st, const cstore_agent *ag, const cstore_batch *b, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_AGENT_SEEN, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, ag->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  bind_opt(s, 3, b->agent_version);
  return stmt_run(st, s, "updating the agent");
}

static asr_result batch_record(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                               int64_t now, int64_t fresh)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_BATCH_ADD, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, b->batch_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, ag->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, now);
  sqlite3_bind_int64(s, 4, b->created_at);
  sqlite3_bind_int64(s, 5, (int64_t)b->n_devices);
  sqlite3_bind_int64(s, 6, (int64_t)b->n_readings_sent);
  sqlite3_bind_int64(s, 7, fresh);
  sqlite3_bind_int64(s, 8, (int64_t)b->n_events);
  bind_opt(s, 9, b->digest);
  sqlite3_bind_int64(s, 10, b->readings_refused);
  sqlite3_bind_int64(s, 11, b->events_refused);
  r = stmt_run(st, s, "recording the batch");
  return r ? r : agent_seen(st, ag, b, now);
}

/* One row of problems; p NULL for the id reuse, else a refusal ("more" when what is). */
static asr_result problem_add(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                              int64_t now, const char *what, const cstore_refusal *p,
                              const char *error)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_PROBLEM_ADD, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, ag->site_id);
  sqlite3_bind_text(s, 2, ag->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, b->batch_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, now);
  sqlite3_bind_text(s, 5, what, -1, SQLITE_STATIC);
  bind_opt(s, 6, p ? p->device : NULL);
  bind_opt_i64(s, 7, p ? p->index : -1);
  bind_opt_i64(s, 8, p ? p->t : -1);
  sqlite3_bind_int64(s, 9, p ? p->readings : 0);
  sqlite3_bind_int64(s, 10, p ? p->events : 0);
  bind_opt(s, 11, p ? NULL : b->digest);
  sqlite3_bind_text(s, 12, error, -1, SQLITE_STATIC);
  return stmt_run(st, s, "recording a problem");
}

/* The refusals of b: one row each, and one for those counted but not listed. */
static asr_result refusals_record(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                  int64_t now)
{
  cstore_refusal more;
  asr_result r = ASR_OK;

  memset(&more, 0, sizeof(more));
  more.index = -1;
  more.t = -1;
  more.readings = b->readings_refused;
  more.events = b->events_refused;
  for (size_t i = 0; !r && i < b->n_refused; i++) {
    r = problem_add(st, ag, b, now, b->refused[i].what, &b->refused[i], b->refused[i].error);
    more.readings -= b->refused[i].readings;
    more.events -= b->refused[i].events;
  }
  if (!r && b->refused_more > 0) {
    asr_fmt_cut(more.error, sizeof(more.error), "%lld more refused parts, not listed",
                (long long)b->refused_more);
    r = problem_add(st, ag, b, now, "more", &more, more.error);
  }
  return r;
}

/* A committed id with this other content: stored, flagged with its digest. */
static asr_result reuse_record(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                               int64_t now)
{
  asr_result r = problem_add(st, ag, b, now, "id_reused", NULL,
                             "batch_id committed before with another content: stored as well"
                             " (agent database restored from a backup, or copied?)");

  if (!r)
    r = refusals_record(st, ag, b, now);
  return r ? r : agent_seen(st, ag, b, now);
}

/* Stores the content of b; *fresh_events the events not stored before. */
static asr_result apply_content(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                int64_t now, dev_state *ds, cstore_applied *res,
                                int64_t *fresh_events)
{
  asr_result r = apply_devices(st, ag, b, b->created_at > 0 ? b->created_at : now, ds);

  if (!r)
    r = apply_readings(st, b, ds, &res->readings_new);
  if (!r)
    r = apply_newest(st, b, ds);
  if (!r)
    r = apply_events(st, b, ds, fresh_events);
  return r;
}

/* After the content of a batch whose id was seen: what it was, and its record. */
static asr_result record_seen(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                              int64_t now, batch_seen seen, int64_t fresh_events,
                              cstore_applied *res)
{
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (seen == SEEN_NO_DIGEST && res->readings_new == 0 && fresh_events == 0) {
    res->duplicate = true; /* nothing new: the content committed before this version */
    r = stmt_get(st, S_BATCH_DIGEST, &s);
    if (r)
      return r;
    sqlite3_bind_text(s, 1, b->batch_id, -1, SQLITE_STATIC);
    bind_opt(s, 2, b->digest);
    return stmt_run(st, s, "recording the digest of a batch");
  }
  res->id_reused = true;
  res->readings = (int64_t)b->n_readings_sent;
  return reuse_record(st, ag, b, now);
}

/* One attempt: the whole batch in one transaction, rolled back on any error. */
static asr_result apply_once(cstore *st, const cstore_agent *ag, const cstore_batch *b, int64_t now,
                             dev_state *ds, cstore_applied *res)
{
  batch_seen seen = SEEN_NEW;
  int64_t fresh_events = 0, committed = 0;
  asr_result r = exec_id(st, S_BEGIN, "starting a transaction");

  memset(res, 0, sizeof(*res));
  memset(ds, 0, sizeof(*ds) * b->n_devices);
  if (!r)
    r = batch_lookup(st, b, &seen, &committed);
  if (!r && (seen == SEEN_SAME || seen == SEEN_REUSED_AS)) {
    res->duplicate = true; /* this very content is stored: nothing to do */
    res->id_reused = seen == SEEN_REUSED_AS;
    res->readings = seen == SEEN_SAME ? committed : (int64_t)b->n_readings_sent;
    goto out;
  }
  res->readings = seen == SEEN_NEW ? (int64_t)b->n_readings_sent : committed;
  if (!r)
    r = apply_content(st, ag, b, now, ds, res, &fresh_events);
  if (!r && seen == SEEN_NEW)
    r = batch_record(st, ag, b, now, res->readings_new);
  if (!r && seen == SEEN_NEW)
    r = refusals_record(st, ag, b, now);
  if (!r && seen != SEEN_NEW)
    r = record_seen(st, ag, b, now, seen, fresh_events, res);
  if (!r)
    r = exec_id(st, S_COMMIT, "committing the batch");
out:
  tx_rollback(st);
  return r;
}

asr_result cstore_apply(cstore *st, const cstore_agent *agent, const cstore_batch *b, int64_t now,
                        cstore_applied *res)
{
  dev_state *ds = calloc(b->n_devices ? b->n_devices : 1, sizeof(*ds));
  asr_result r = ASR_ERR_NOMEM;

  if (!ds)
    return r;
  for (int i = 0; i < APPLY_TRIES; i++) {
    r = apply_once(st, agent, b, now, ds, res);
    if (r != ASR_ERR_DB_LOCKED)
      break;
    struct timespec ts = {0, 20000000L * (i + 1)};
    nanosleep(&ts, NULL);
  }
  free(ds);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Listings. */

#define SUPPLY_ROWS_MAX 256

/* Copies a text column into buf (CSTORE_NAME_MAX); NULL when the column is NULL. */
static const char *col_copy(sqlite3_stmt *s, int col, char *buf)
{
  const char *v = col_text(s, col);

  if (!v)
    return NULL;
  asr_strlcpy_cut(buf, v, CSTORE_NAME_MAX);
  return buf;
}

static asr_result device_supplies(cstore *st, cstore_device_row *d, cstore_supply_row *rows)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_DEVICE_SUPPLIES, &s);

  d->n_supplies = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, d->id);
  sqlite3_bind_int64(s, 2, d->last_reading_at);
  while (!r && d->n_supplies < SUPPLY_ROWS_MAX) {
    cstore_supply_row *o = &rows[d->n_supplies];
    r = stmt_row(st, s, "listing supplies", &row);
    if (r || !row)
      break;
    o->index = sqlite3_column_int(s, 0);
    o->type = col_copy(s, 1, o->buf[0]);
    o->colorant = col_copy(s, 2, o->buf[1]);
    o->description = col_copy(s, 3, o->buf[2]);
    o->has_level = sqlite3_column_type(s, 4) != SQLITE_NULL;
    o->level = sqlite3_column_int64(s, 4);
    o->has_max = sqlite3_column_type(s, 5) != SQLITE_NULL;
    o->max = sqlite3_column_int64(s, 5);
    o->has_percent = sqlite3_column_type(s, 6) != SQLITE_NULL;
    o->percent = sqlite3_column_int(s, 6);
    d->n_supplies++;
  }
  return r;
}

static asr_result site_exists(cstore *st, const char *site)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_SITE_BY_NAME, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, site, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up a site", &row);
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "no site '%s'", site);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

static void device_from_row(sqlite3_stmt *s, cstore_device_row *d)
{
  d->id = sqlite3_column_int64(s, 0);
  d->key = col_text(s, 1);
  d->serial = col_text(s, 2);
  d->site = col_text(s, 3);
  d->agent = col_text(s, 4);
  d->ip = col_text(s, 5);
  d->vendor = col_text(s, 6);
  d->model = col_text(s, 7);
  d->state = col_text(s, 8);
  d->last_reading_at = sqlite3_column_int64(s, 9);
  d->readings = sqlite3_column_int64(s, 10);
}

asr_result cstore_device_foreach(cstore *st, const char *site, cstore_device_cb cb, void *ctx)
{
  cstore_supply_row *rows = calloc(SUPPLY_ROWS_MAX, sizeof(*rows));
  sqlite3_stmt *s = NULL, *ss = NULL;
  bool row = true;
  asr_result r = rows ? ASR_OK : ASR_ERR_NOMEM;

  if (!r && site)
    r = site_exists(st, site);
  if (!r)
    r = stmt_get(st, S_DEVICES, &s);
  if (!r)
    bind_opt(s, 1, site);
  while (!r && row) {
    cstore_device_row d;
    r = stmt_row(st, s, "listing devices", &row);
    if (r || !row)
      break;
    device_from_row(s, &d);
    r = device_supplies(st, &d, rows);
    d.supplies = rows;
    if (!r && cb(&d, ctx))
      break;
    if (!r && !stmt_get(st, S_DEVICE_SUPPLIES, &ss))
      stmt_done(ss);
  }
  if (s)
    stmt_done(s);
  if (!stmt_get(st, S_DEVICE_SUPPLIES, &ss))
    stmt_done(ss);
  free(rows);
  return r;
}

static int64_t col_i64_or(sqlite3_stmt *s, int col, int64_t dflt)
{
  return sqlite3_column_type(s, col) == SQLITE_NULL ? dflt : sqlite3_column_int64(s, col);
}

asr_result cstore_problem_foreach(cstore *st, const char *site, int64_t limit, cstore_problem_cb cb,
                                  void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = site ? site_exists(st, site) : ASR_OK;

  if (!r)
    r = stmt_get(st, S_PROBLEMS, &s);
  if (r)
    return r;
  bind_opt(s, 1, site);
  sqlite3_bind_int64(s, 2, limit);
  while (!r && row) {
    cstore_problem_row p;

    r = stmt_row(st, s, "listing problems", &row);
    if (r || !row)
      break;
    p.id = sqlite3_column_int64(s, 0);
    p.site = col_text(s, 1);
    p.agent = col_text(s, 2);
    p.batch_id = col_text(s, 3);
    p.what = col_text(s, 4);
    p.device = col_text(s, 5);
    p.error = col_text(s, 6);
    p.received_at = sqlite3_column_int64(s, 7);
    p.index = col_i64_or(s, 8, -1);
    p.t = col_i64_or(s, 9, -1);
    p.readings = sqlite3_column_int64(s, 10);
    p.events = sqlite3_column_int64(s, 11);
    if (cb(&p, ctx))
      break;
  }
  stmt_done(s);
  return r;
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

/* ---------------------------------------------------------------------------------------
 * Replenishment: orders and their lines, stock, device flags, the outbox (schema 2).
 * Its statements are a table of their own, cached like stmt_sql[]. */
typedef enum {
  O_ORDERS,
  O_ORDER_LINES,
  O_ORDER_ONE,
  O_ORDER_HEAD,
  O_LINE_STATE,
  O_LINE_DELIVER,
  O_ORDER_SYNC,
  O_ORDER_ADD,
  O_LINE_ADD,
  O_STOCK_ORDERED,
  O_RP_DEVICES,
  O_RP_SUPPLIES,
  O_RP_LEVELS,
  O_STOCK_UPDATE,
  O_EVENT_ADD,
  O_RPDEV_SET,
  O_STATE_GET,
  O_STATE_SET,
  O_OUTBOX_ADD,
  O_OUTBOX_NEXT,
  O_OUTBOX_MARK,
  O_OUTBOX_COUNT,
  O_OUTBOX_CLAIM,
  O_INSTANCE_ADD,
  O_RP_DELIVERIES,
  O_RP_JOBS,
  O_RP_EXTRAS,
  O_EXTRA_CONSUMED,
  O_EVENT_LAST,
  O_CONTACT_ADD,
  O_CONTACT_DUP,
  O_CONTACTS,
  O_CONTACT_FIND,
  O_CONTACT_ROW,
  O_CONTACT_SET,
  O_HISTORY_ADD,
  O_HISTORY,
  O_DEVICE_ASSIGN,
  O_DEVICE_SITE,
  O_DEVICE_FIND,
  O_COUNT,
} o_stmt_id;

_Static_assert(O_COUNT <= CSTORE_OSTMT_MAX, "raise CSTORE_OSTMT_MAX");

static const char *const o_sql[O_COUNT] = {
    [O_ORDERS] = "SELECT o.id, s.name, o.state, o.reason, o.created_at, o.updated_at, o.kind,"
                 " o.contact, o.contact_name, o.address, o.note, o.day, coalesce(o.contact_id, 0)"
                 " FROM orders o JOIN sites s ON s.id = o.site_id"
                 " WHERE (?1 IS NULL OR s.name = ?1) AND (?2 = 0 OR o.state <> 'delivered')"
                 " ORDER BY o.created_at DESC, o.id DESC",
    [O_ORDER_LINES] = "SELECT l.serial, coalesce(p.description, p.type, 'supply ' || l.idx),"
                      " p.colorant, l.idx, l.quantity, l.reason, l.line, l.state, d.model, p.type,"
                      " coalesce(l.job_from, 0), coalesce(l.job_to, 0),"
                      " l.backordered_at IS NOT NULL FROM order_lines l"
                      " LEFT JOIN supplies p ON p.device_id = l.device_id AND p.idx = l.idx"
                      " LEFT JOIN devices d ON d.id = l.device_id"
                      " WHERE l.order_id = ?1 ORDER BY l.line",
    [O_ORDER_ONE] =
        "SELECT o.id, s.name, o.state, o.reason, o.created_at, o.updated_at, o.kind,"
        " o.contact, o.contact_name, o.address, o.note, o.day, coalesce(o.contact_id, 0)"
        " FROM orders o JOIN sites s ON s.id = o.site_id WHERE o.id = ?1",
    [O_ORDER_HEAD] = "SELECT o.site_id, s.name, o.contact, o.state, EXISTS (SELECT 1 FROM"
                     " order_lines l WHERE l.order_id = o.id AND l.backordered_at IS NOT NULL),"
                     " coalesce(o.contact_id, 0), o.address, o.contact_name, o.kind"
                     " FROM orders o JOIN sites s ON s.id = o.site_id WHERE o.id = ?1",
    [O_LINE_STATE] =
        "UPDATE order_lines SET state = ?3,"
        " shipped_at = CASE WHEN ?3 = 'shipped' THEN ?4 ELSE shipped_at END,"
        " backordered_at = CASE WHEN ?3 = 'backordered' THEN ?4 ELSE backordered_at END,"
        " delivered_at = CASE WHEN ?3 = 'delivered' THEN ?4 ELSE delivered_at END"
        " WHERE order_id = ?1 AND line = ?2",
    /* a delivered line becomes its device's stock on the shelf */
    [O_LINE_DELIVER] = "INSERT INTO stock (device_id, idx, delivered)"
                       " SELECT device_id, idx, quantity FROM order_lines"
                       " WHERE order_id = ?1 AND line = ?2 ON CONFLICT (device_id, idx) DO UPDATE"
                       " SET delivered = delivered + excluded.delivered",
    /* an order's state is its lines': all delivered, or the most advanced step one reached */
    [O_ORDER_SYNC] =
        "UPDATE orders SET updated_at = ?2, state = CASE"
        " WHEN NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state <> 'delivered') THEN 'delivered'"
        " WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state IN ('shipped', 'delivered')) THEN 'shipped'"
        " WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state = 'backordered') THEN 'backordered' ELSE 'created' END,"
        " shipped_at = coalesce(shipped_at, (SELECT min(l.shipped_at) FROM order_lines l"
        " WHERE l.order_id = orders.id)),"
        " backordered_at = coalesce(backordered_at, (SELECT min(l.backordered_at)"
        " FROM order_lines l WHERE l.order_id = orders.id)),"
        " delivered_at = CASE WHEN NOT EXISTS (SELECT 1 FROM order_lines l"
        " WHERE l.order_id = orders.id AND l.state <> 'delivered') THEN coalesce(delivered_at, ?2)"
        " END WHERE id = ?1",
    /* the contact's e-mail, name and address are kept with the order: a later change of the
     * contact leaves the order as it was made */
    [O_ORDER_ADD] = "INSERT INTO orders (site_id, contact, contact_id, contact_name, address, kind,"
                    " reason, note, day, created_at, updated_at)"
                    " SELECT ?1, c.email, c.id, c.name, c.address, ?3, ?4, ?5, ?6, ?7, ?7"
                    " FROM contacts c WHERE c.id = ?2 AND c.site_id = ?1",
    [O_LINE_ADD] = "INSERT INTO order_lines (order_id, line, device_id, idx, serial, quantity,"
                   " reason, covered_until, daily_use, job_from, job_to)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [O_STOCK_ORDERED] = "INSERT INTO stock (device_id, idx, ordered) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (device_id, idx) DO UPDATE"
                        " SET ordered = ordered + excluded.ordered",
    /* a device's contact: the one it was assigned, else its site's first */
    [O_RP_DEVICES] =
        "SELECT d.id, d.site_id, s.name, coalesce(c.email, s.contact), d.key, d.serial,"
        " d.model, d.ip, d.last_reading_at, coalesce(a.last_seen, 0),"
        " coalesce(r.high_use, 0), coalesce(r.notices, 0), coalesce(c.id, 0),"
        " coalesce(c.name, ''), coalesce(c.address, s.address), coalesce(r.judged, 0)"
        " FROM devices d JOIN sites s ON s.id = d.site_id"
        " LEFT JOIN device_contacts dc ON dc.device_id = d.id"
        " LEFT JOIN contacts c ON c.id = coalesce(dc.contact_id,"
        " (SELECT min(c2.id) FROM contacts c2 WHERE c2.site_id = d.site_id))"
        " LEFT JOIN agents a ON a.id = d.agent_id"
        " LEFT JOIN rp_devices r ON r.device_id = d.id ORDER BY s.name, d.key",
    [O_RP_SUPPLIES] =
        "SELECT p.idx, p.type, p.colorant, p.description, p.max, coalesce(k.ordered, 0),"
        " coalesce(k.delivered, 0), coalesce(k.installed, 0), coalesce(k.jumps_day, -1),"
        /* the newest ASR line's covered date, not the largest: a usage spike's line re-dates
         * the cover earlier than the line before it (rules.h, "usage spike"); a special
         * order is no part of ASR's plan */
        " coalesce((SELECT l.covered_until FROM order_lines l JOIN orders o ON o.id = l.order_id"
        " WHERE l.device_id = p.device_id AND l.idx = p.idx AND o.kind = 'asr'"
        " ORDER BY l.order_id DESC LIMIT 1), 0), p.colorant_std,"
        " coalesce((SELECT l.daily_use FROM order_lines l JOIN orders o ON o.id = l.order_id"
        " WHERE l.device_id = p.device_id AND l.idx = p.idx AND o.kind = 'asr'"
        " ORDER BY l.order_id DESC LIMIT 1), 0)"
        " FROM supplies p LEFT JOIN stock k ON k.device_id = p.device_id AND k.idx = p.idx"
        " WHERE p.device_id = ?1 ORDER BY p.idx",
    [O_RP_LEVELS] = "SELECT t / 86400, level, \"max\", percent, max(t) FROM levels"
                    " WHERE device_id = ?1 AND idx = ?2 AND t >= ?3 * 86400"
                    " AND t < (?4 + 1) * 86400 GROUP BY t / 86400 ORDER BY 1",
    [O_STOCK_UPDATE] = "INSERT INTO stock (device_id, idx, installed, jumps_day)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id, idx) DO UPDATE"
                       " SET installed = installed + excluded.installed,"
                       " jumps_day = max(jumps_day, excluded.jumps_day)",
    [O_EVENT_ADD] = "INSERT OR IGNORE INTO rp_events (device_id, idx, day, kind)"
                    " VALUES (?1, ?2, ?3, ?4)",
    [O_RPDEV_SET] =
        "INSERT INTO rp_devices (device_id, high_use, high_use_since, notices, judged)"
        " VALUES (?1, ?2, CASE WHEN ?2 THEN ?3 END, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET"
        " high_use_since = CASE WHEN excluded.high_use = 0 THEN NULL WHEN high_use = 1"
        " THEN high_use_since ELSE excluded.high_use_since END,"
        " high_use = excluded.high_use, notices = excluded.notices, judged = excluded.judged",
    [O_STATE_GET] = "SELECT v FROM rp_state WHERE k = ?1",
    [O_STATE_SET] = "INSERT INTO rp_state (k, v) VALUES (?1, ?2)"
                    " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    [O_OUTBOX_ADD] = "INSERT OR IGNORE INTO outbox (key, site_id, rcpt, kind, message, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [O_OUTBOX_NEXT] = "SELECT id, key, rcpt, kind, message, tries FROM outbox"
                      " WHERE state = 'pending' AND next_try <= ?1 AND id > ?2 ORDER BY id LIMIT 1",
    [O_OUTBOX_MARK] = "UPDATE outbox SET state = ?2, next_try = ?3, error = ?4, tries = tries + 1,"
                      " sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1",
    [O_OUTBOX_COUNT] = "SELECT count(*) FROM outbox WHERE state = ?1",
    /* a claim moves a due mail's next try to the claim's end: another flush skips it, and
     * a claim its sender never settled (a crash) is due again once it ends */
    [O_OUTBOX_CLAIM] = "UPDATE outbox SET next_try = ?3"
                       " WHERE id = ?1 AND state = 'pending' AND next_try <= ?2",
    /* the database's instance: 62 random bits, drawn once (SQLite's randomness source is
     * the operating system's) */
    [O_INSTANCE_ADD] = "INSERT OR IGNORE INTO rp_state (k, v)"
                       " VALUES ('instance', (random() & 0x3fffffffffffffff) + 1)",
    [O_RP_DELIVERIES] = "SELECT delivered_at / 86400, quantity FROM order_lines"
                        " WHERE device_id = ?1 AND idx = ?2 AND state = 'delivered'"
                        " ORDER BY delivered_at",
    [O_RP_JOBS] = "SELECT job_from, job_to FROM order_lines"
                  " WHERE device_id = ?1 AND job_from IS NOT NULL AND job_to IS NOT NULL",
    [O_RP_EXTRAS] = "SELECT l.order_id, l.line, l.quantity, l.consumed, l.job_from, l.job_to"
                    " FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.kind = 'extra'"
                    " AND l.device_id = ?1 AND l.idx = ?2 AND l.job_to >= ?3"
                    " ORDER BY l.job_from, l.order_id",
    [O_EXTRA_CONSUMED] = "UPDATE order_lines SET consumed = min(quantity, consumed + ?3)"
                         " WHERE order_id = ?1 AND line = ?2",
    [O_EVENT_LAST] =
        "SELECT coalesce(max(day), 0) FROM rp_events WHERE device_id = ?1 AND kind = ?2",
    /* contacts (schema 5) */
    [O_CONTACT_ADD] = "INSERT INTO contacts (site_id, name, email, address, created_at, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [O_CONTACT_DUP] = "SELECT id FROM contacts WHERE site_id = ?1 AND email = ?2 AND id <> ?3",
    [O_CONTACTS] =
        "SELECT c.id, c.site_id, s.name, c.name, c.email, c.address, c.created_at, c.updated_at,"
        " (SELECT count(*) FROM devices d LEFT JOIN device_contacts dc ON dc.device_id = d.id"
        " WHERE d.site_id = c.site_id AND coalesce(dc.contact_id, (SELECT min(c2.id)"
        " FROM contacts c2 WHERE c2.site_id = c.site_id)) = c.id),"
        " c.id = (SELECT min(c2.id) FROM contacts c2 WHERE c2.site_id = c.site_id)"
        " FROM contacts c JOIN sites s ON s.id = c.site_id"
        " WHERE (?1 IS NULL OR s.name = ?1) AND (?2 = 0 OR c.id = ?2) ORDER BY s.name, c.id",
    [O_CONTACT_FIND] = "SELECT c.id FROM contacts c JOIN sites s ON s.id = c.site_id"
                       " WHERE s.name = ?1 AND (?2 IS NULL OR c.email = ?2) ORDER BY c.id LIMIT 1",
    [O_CONTACT_ROW] = "SELECT name, email, address, site_id FROM contacts WHERE id = ?1",
    [O_CONTACT_SET] = "UPDATE contacts SET name = ?2, email = ?3, address = ?4, updated_at = ?5"
                      " WHERE id = ?1",
    [O_HISTORY_ADD] = "INSERT INTO contact_history (at, contact_id, device_id, what, old, new)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [O_HISTORY] = "SELECT at, contact_id, what, old, new FROM contact_history"
                  " WHERE contact_id = ?1 ORDER BY id",
    [O_DEVICE_ASSIGN] = "INSERT INTO device_contacts (device_id, contact_id, since)"
                        " VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO UPDATE"
                        " SET contact_id = excluded.contact_id, since = excluded.since",
    [O_DEVICE_SITE] = "SELECT d.site_id, coalesce(d.serial, d.key), (SELECT c.email FROM contacts c"
                      " WHERE c.id = coalesce(dc.contact_id, (SELECT min(c2.id) FROM contacts c2"
                      " WHERE c2.site_id = d.site_id))) FROM devices d"
                      " LEFT JOIN device_contacts dc ON dc.device_id = d.id WHERE d.id = ?1",
    [O_DEVICE_FIND] = "SELECT d.id, d.site_id FROM devices d JOIN sites s ON s.id = d.site_id"
                      " WHERE (?1 IS NULL OR s.name = ?1) AND (d.serial = ?2 OR d.key = ?2)"
                      " ORDER BY d.id LIMIT 2",
};

static asr_result o_get(cstore *st, o_stmt_id id, sqlite3_stmt **out)
{
  if (!st->ostmt[id]) {
    int rc =
        sqlite3_prepare_v3(st->db, o_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->ostmt[id], NULL);
    if (rc != SQLITE_OK)
      return db_fail(st, rc, "preparing a statement");
  }
  *out = st->ostmt[id];
  return ASR_OK;
}

/* Runs statement id with the integers v[0..n) bound to ?1..?n. */
static asr_result o_run_i64(cstore *st, o_stmt_id id, const char *what, const int64_t *v, size_t n)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, id, &s);

  if (r)
    return r;
  for (size_t i = 0; i < n; i++)
    sqlite3_bind_int64(s, (int)i + 1, v[i]);
  return stmt_run(st, s, what);
}

#define ORDER_LINES_MAX 4096 /* lines listed per order */
#define LINE_STRINGS 7       /* copied strings of a line (line_from_row) */

/* An order's lines with copies of their strings (valid while the callback runs). */
typedef struct {
  cstore_order_line *lines;
  char (*buf)[LINE_STRINGS][CSTORE_NAME_MAX];
  size_t n, cap;
} order_lines_buf;

static asr_result lines_grow(order_lines_buf *b)
{
  size_t cap = b->cap ? b->cap * 2 : 16;
  cstore_order_line *l = realloc(b->lines, cap * sizeof(*l));
  char(*buf)[LINE_STRINGS][CSTORE_NAME_MAX];

  if (!l)
    return ASR_ERR_NOMEM;
  b->lines = l;
  buf = realloc(b->buf, cap * sizeof(*buf));
  if (!buf)
    return ASR_ERR_NOMEM;
  b->buf = buf;
  b->cap = cap;
  return ASR_OK;
}

static void line_from_row(sqlite3_stmt *s, cstore_order_line *l, char (*buf)[CSTORE_NAME_MAX])
{
  l->serial = col_copy(s, 0, buf[0]);
  l->supply = col_copy(s, 1, buf[1]);
  l->colorant = col_copy(s, 2, buf[2]);
  l->supply_index = sqlite3_column_int(s, 3);
  l->quantity = sqlite3_column_int(s, 4);
  l->reason = col_copy(s, 5, buf[3]);
  l->line = sqlite3_column_int(s, 6);
  l->state = col_copy(s, 7, buf[4]);
  l->model = col_copy(s, 8, buf[5]);
  l->type = col_copy(s, 9, buf[6]);
  l->job_from = sqlite3_column_int64(s, 10);
  l->job_to = sqlite3_column_int64(s, 11);
  l->was_backordered = sqlite3_column_int(s, 12) != 0;
}

/* Points the strings of line i at b's copies again (the buffers may have moved). */
static void line_fixup(order_lines_buf *b, size_t i)
{
  cstore_order_line *l = &b->lines[i];
  const char **f[LINE_STRINGS] = {&l->serial, &l->supply, &l->colorant, &l->reason,
                                  &l->state,  &l->model,  &l->type};

  for (size_t k = 0; k < LINE_STRINGS; k++)
    *f[k] = *f[k] ? b->buf[i][k] : NULL;
}

/* Loads the lines of order id into b (pointers are fixed up after the last grow). */
static asr_result order_lines_load(cstore *st, int64_t id, order_lines_buf *b)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_ORDER_LINES, &s);

  b->n = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  while (!r && b->n < ORDER_LINES_MAX) {
    r = stmt_row(st, s, "listing order lines", &row);
    if (r || !row)
      break;
    if (b->n == b->cap)
      r = lines_grow(b);
    if (!r) {
      line_from_row(s, &b->lines[b->n], b->buf[b->n]);
      b->n++;
    }
  }
  stmt_done(s);
  for (size_t i = 0; i < b->n; i++)
    line_fixup(b, i);
  return r;
}

static void order_from_row(sqlite3_stmt *s, cstore_order_row *o)
{
  o->id = sqlite3_column_int64(s, 0);
  o->site = col_text(s, 1);
  o->state = col_text(s, 2);
  o->reason = col_text(s, 3);
  o->created_at = sqlite3_column_int64(s, 4);
  o->updated_at = sqlite3_column_int64(s, 5);
  o->kind = col_text(s, 6);
  o->contact = col_text(s, 7);
  o->contact_name = col_text(s, 8);
  o->address = col_text(s, 9);
  o->note = col_text(s, 10);
  o->day = sqlite3_column_int64(s, 11);
  o->contact_id = sqlite3_column_int64(s, 12);
}

/* Calls cb for each order row of the bound statement s (then resets it); *n counts them. */
static asr_result orders_walk(cstore *st, sqlite3_stmt *s, cstore_order_cb cb, void *ctx, size_t *n)
{
  order_lines_buf b = {0};
  bool row = true;
  asr_result r = ASR_OK;

  *n = 0;
  while (!r && row) {
    cstore_order_row o;
    r = stmt_row(st, s, "listing orders", &row);
    if (r || !row)
      break;
    order_from_row(s, &o);
    (*n)++;
    r = order_lines_load(st, o.id, &b);
    o.n_lines = b.n;
    o.lines = b.lines;
    if (!r && cb(&o, ctx))
      break;
  }
  stmt_done(s);
  free(b.lines);
  free(b.buf);
  return r;
}

asr_result cstore_order_foreach(cstore *st, const char *site, bool open_only, cstore_order_cb cb,
                                void *ctx)
{
  sqlite3_stmt *s = NULL;
  size_t n = 0;
  asr_result r = site ? site_exists(st, site) : ASR_OK;

  if (!r)
    r = o_get(st, O_ORDERS, &s);
  if (r)
    return r;
  bind_opt(s, 1, site);
  sqlite3_bind_int(s, 2, open_only ? 1 : 0);
  return orders_walk(st, s, cb, ctx, &n);
}

asr_result cstore_order_get(cstore *st, int64_t id, cstore_order_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  size_t n = 0;
  asr_result r = o_get(st, O_ORDER_ONE, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = orders_walk(st, s, cb, ctx, &n);
  if (!r && n == 0) {
    set_err(st, "no order %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_order_head_get(cstore *st, int64_t id, cstore_order_head *out)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_ORDER_HEAD, &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = stmt_row(st, s, "looking up an order", &row);
  if (!r && row) {
    out->id = id;
    out->site_id = sqlite3_column_int64(s, 0);
    asr_strlcpy_cut(out->site, col_text(s, 1), sizeof(out->site));
    asr_strlcpy_cut(out->contact, col_text(s, 2), sizeof(out->contact));
    asr_strlcpy_cut(out->state, col_text(s, 3), sizeof(out->state));
    out->was_backordered = sqlite3_column_int(s, 4) != 0;
    out->contact_id = sqlite3_column_int64(s, 5);
    asr_strlcpy_cut(out->address, col_text(s, 6) ? col_text(s, 6) : "", sizeof(out->address));
    asr_strlcpy_cut(out->contact_name, col_text(s, 7) ? col_text(s, 7) : "",
                    sizeof(out->contact_name));
    asr_strlcpy_cut(out->kind, col_text(s, 8) ? col_text(s, 8) : "asr", sizeof(out->kind));
  }
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "no order %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_line_set_state(cstore *st, int64_t id, int line, const char *state, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_LINE_STATE, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int(s, 2, line);
  sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, now);
  r = stmt_run(st, s, "changing an order line's state");
  if (r || strcmp(state, "delivered") != 0)
    return r;
  const int64_t v[] = {id, line};
  return o_run_i64(st, O_LINE_DELIVER, "adding a delivery to the stock", v, 2);
}

asr_result cstore_order_sync(cstore *st, int64_t id, int64_t now)
{
  const int64_t v[] = {id, now};

  return o_run_i64(st, O_ORDER_SYNC, "changing an order's state", v, 2);
}

asr_result cstore_order_add(cstore *st, int64_t site_id, int64_t contact_id, const char *kind,
                            const char *reason, const char *note, int64_t day, int64_t now,
                            int64_t *id)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_ORDER_ADD, &s);

  *id = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  sqlite3_bind_int64(s, 2, contact_id);
  sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
  bind_opt(s, 5, note);
  sqlite3_bind_int64(s, 6, day);
  sqlite3_bind_int64(s, 7, now);
  r = stmt_run(st, s, "adding an order");
  if (!r && sqlite3_changes(st->db) != 1) {
    set_err(st, "%s: no contact %lld of site %lld for an order", st->path, (long long)contact_id,
            (long long)site_id);
    return ASR_ERR_NOT_FOUND;
  }
  *id = r ? 0 : sqlite3_last_insert_rowid(st->db);
  return r;
}

asr_result cstore_order_line_add(cstore *st, int64_t order, int line, int64_t dev, int32_t idx,
                                 const char *serial, int quantity, const char *reason,
                                 const cstore_line_extra *x)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_LINE_ADD, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, order);
  sqlite3_bind_int(s, 2, line);
  sqlite3_bind_int64(s, 3, dev);
  sqlite3_bind_int(s, 4, idx);
  sqlite3_bind_text(s, 5, serial, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 6, quantity);
  sqlite3_bind_text(s, 7, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 8, x ? x->covered_until : 0);
  if (x && x->daily_use > 0.0)
    sqlite3_bind_double(s, 9, x->daily_use);
  else
    sqlite3_bind_null(s, 9);
  bind_opt_i64(s, 10, x && x->job_to > 0 ? x->job_from : -1);
  bind_opt_i64(s, 11, x && x->job_to > 0 ? x->job_to : -1);
  r = stmt_run(st, s, "adding an order line");
  if (r)
    return r;
  const int64_t v[] = {dev, idx, quantity};
  return o_run_i64(st, O_STOCK_ORDERED, "counting ordered stock", v, 3);
}

asr_result cstore_tx_begin(cstore *st)
{
  return exec_id(st, S_BEGIN, "starting a transaction");
}

asr_result cstore_tx_commit(cstore *st)
{
  asr_result r = exec_id(st, S_COMMIT, "committing");

  if (r)
    tx_rollback(st);
  return r;
}

void cstore_tx_rollback(cstore *st)
{
  tx_rollback(st);
}

static void rp_device_from_row(sqlite3_stmt *s, cstore_rp_device *d)
{
  d->id = sqlite3_column_int64(s, 0);
  d->site_id = sqlite3_column_int64(s, 1);
  d->site = col_text(s, 2);
  d->contact = col_text(s, 3);
  d->key = col_text(s, 4);
  d->serial = col_text(s, 5);
  d->model = col_text(s, 6);
  d->ip = col_text(s, 7);
  d->last_reading_at = sqlite3_column_int64(s, 8);
  d->agent_last_seen = sqlite3_column_int64(s, 9);
  d->high_use = sqlite3_column_int(s, 10) != 0;
  d->notices = (unsigned)sqlite3_column_int(s, 11);
  d->contact_id = sqlite3_column_int64(s, 12);
  d->contact_name = col_text(s, 13);
  d->address = col_text(s, 14);
  d->judged = sqlite3_column_int(s, 15) != 0;
}

asr_result cstore_rp_devices(cstore *st, cstore_rp_device_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_DEVICES, &s);

  while (!r && row) {
    cstore_rp_device d;
    r = stmt_row(st, s, "listing devices", &row);
    if (r || !row)
      break;
    rp_device_from_row(s, &d);
    if (cb(&d, ctx))
      break;
  }
  if (s)
    stmt_done(s);
  return r;
}

static void rp_supply_from_row(sqlite3_stmt *s, cstore_rp_supply *p)
{
  p->index = sqlite3_column_int(s, 0);
  p->type = col_text(s, 1);
  p->colorant = col_text(s, 2);
  p->description = col_text(s, 3);
  p->has_max = sqlite3_column_type(s, 4) != SQLITE_NULL;
  p->max = sqlite3_column_int64(s, 4);
  p->ordered = sqlite3_column_int64(s, 5);
  p->delivered = sqlite3_column_int64(s, 6);
  p->installed = sqlite3_column_int64(s, 7);
  p->jumps_day = sqlite3_column_int64(s, 8);
  p->covered_until = sqlite3_column_int64(s, 9);
  p->colorant_std = col_text(s, 10);
  p->covered_use = sqlite3_column_double(s, 11);
}

asr_result cstore_rp_supplies(cstore *st, int64_t dev, cstore_rp_supply_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_SUPPLIES, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  while (!r && row) {
    cstore_rp_supply p;
    r = stmt_row(st, s, "listing supplies", &row);
    if (r || !row)
      break;
    rp_supply_from_row(s, &p);
    if (cb(&p, ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_rp_daily_levels(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                  cstore_rp_level_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_LEVELS, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_int(s, 2, idx);
  sqlite3_bind_int64(s, 3, from);
  sqlite3_bind_int64(s, 4, to);
  while (!r && row) {
    cstore_rp_level l;
    r = stmt_row(st, s, "reading levels", &row);
    if (r || !row)
      break;
    l.day = sqlite3_column_int64(s, 0);
    l.has_level = sqlite3_column_type(s, 1) != SQLITE_NULL;
    l.level = sqlite3_column_int64(s, 1);
    l.has_max = sqlite3_column_type(s, 2) != SQLITE_NULL;
    l.max = sqlite3_column_int64(s, 2);
    l.has_percent = sqlite3_column_type(s, 3) != SQLITE_NULL;
    l.percent = sqlite3_column_int(s, 3);
    if (cb(&l, ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_rp_stock_update(cstore *st, int64_t dev, int32_t idx, int64_t installed,
                                  int64_t jumps_day)
{
  const int64_t v[] = {dev, idx, installed, jumps_day};

  return o_run_i64(st, O_STOCK_UPDATE, "updating the stock", v, 4);
}

asr_result cstore_rp_event_add(cstore *st, int64_t dev, int32_t idx, int64_t day, const char *kind,
                               bool *added)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_EVENT_ADD, &s);

  *added = false;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_int(s, 2, idx);
  sqlite3_bind_int64(s, 3, day);
  sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
  r = stmt_run(st, s, "recording an event");
  *added = !r && sqlite3_changes(st->db) > 0;
  return r;
}

asr_result cstore_rp_device_set(cstore *st, int64_t dev, bool judged, bool high_use, int64_t day,
                                unsigned notices)
{
  const int64_t v[] = {dev, high_use ? 1 : 0, day, notices, judged ? 1 : 0};

  return o_run_i64(st, O_RPDEV_SET, "storing a device's flags", v, 5);
}

asr_result cstore_rp_deliveries(cstore *st, int64_t dev, int32_t idx, cstore_rp_delivery_cb cb,
                                void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_DELIVERIES, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_int(s, 2, idx);
  while (!r && row) {
    r = stmt_row(st, s, "reading deliveries", &row);
    if (!r && row && cb(sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1), ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_rp_jobs(cstore *st, int64_t dev, cstore_rp_job_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_JOBS, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  while (!r && row) {
    r = stmt_row(st, s, "reading job windows", &row);
    if (!r && row && cb(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_rp_extras(cstore *st, int64_t dev, int32_t idx, int64_t since,
                            cstore_rp_extra_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_EXTRAS, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_int(s, 2, idx);
  sqlite3_bind_int64(s, 3, since);
  while (!r && row) {
    cstore_rp_extra x;
    r = stmt_row(st, s, "reading special orders", &row);
    if (r || !row)
      break;
    x.order = sqlite3_column_int64(s, 0);
    x.line = sqlite3_column_int(s, 1);
    x.quantity = sqlite3_column_int(s, 2);
    x.consumed = sqlite3_column_int(s, 3);
    x.job_from = sqlite3_column_int64(s, 4);
    x.job_to = sqlite3_column_int64(s, 5);
    if (cb(&x, ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_rp_extra_consumed(cstore *st, int64_t order, int line, int more)
{
  const int64_t v[] = {order, line, more};

  return o_run_i64(st, O_EXTRA_CONSUMED, "counting a special order's cartridges", v, 3);
}

asr_result cstore_rp_event_last(cstore *st, int64_t dev, const char *kind, int64_t *day)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_EVENT_LAST, &s);

  *day = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "reading events", &row);
  if (!r && row)
    *day = sqlite3_column_int64(s, 0);
  stmt_done(s);
  return r;
}

asr_result cstore_rp_last_day(cstore *st, int64_t *day)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_STATE_GET, &s);

  *day = -1;
  if (r)
    return r;
  sqlite3_bind_text(s, 1, "last_day", -1, SQLITE_STATIC);
  r = stmt_row(st, s, "reading the engine's state", &row);
  if (!r && row)
    *day = sqlite3_column_int64(s, 0);
  stmt_done(s);
  return r;
}

asr_result cstore_rp_set_last_day(cstore *st, int64_t day)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_STATE_SET, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, "last_day", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, day);
  return stmt_run(st, s, "storing the engine's state");
}

asr_result cstore_outbox_add(cstore *st, const char *key, int64_t site_id, const char *rcpt,
                             const char *kind, const char *msg, size_t len, int64_t now,
                             bool *added)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_OUTBOX_ADD, &s);

  *added = false;
  if (r)
    return r;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  bind_opt_i64(s, 2, site_id > 0 ? site_id : -1);
  sqlite3_bind_text(s, 3, rcpt, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
  sqlite3_bind_blob64(s, 5, msg, len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, now);
  r = stmt_run(st, s, "queueing a mail");
  *added = !r && sqlite3_changes(st->db) > 0;
  return r;
}

void cstore_mail_free(cstore_mail *m)
{
  free(m->key);
  free(m->rcpt);
  free(m->kind);
  free(m->msg);
  memset(m, 0, sizeof(*m));
}

static char *col_dup(sqlite3_stmt *s, int col)
{
  const char *v = col_text(s, col);

  return strdup(v ? v : "");
}

static asr_result mail_from_row(sqlite3_stmt *s, cstore_mail *m)
{
  const void *blob = sqlite3_column_blob(s, 4);
  int len = sqlite3_column_bytes(s, 4);

  m->id = sqlite3_column_int64(s, 0);
  m->key = col_dup(s, 1);
  m->rcpt = col_dup(s, 2);
  m->kind = col_dup(s, 3);
  m->msg = malloc((size_t)len + 1);
  m->tries = sqlite3_column_int64(s, 5);
  if (!m->key || !m->rcpt || !m->kind || !m->msg)
    return ASR_ERR_NOMEM;
  if (len > 0)
    memcpy(m->msg, blob, (size_t)len);
  m->msg[len] = '\0';
  m->len = (size_t)len;
  return ASR_OK;
}

asr_result cstore_outbox_next(cstore *st, int64_t now, int64_t after, cstore_mail *out, bool *found)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_OUTBOX_NEXT, &s);

  memset(out, 0, sizeof(*out));
  *found = false;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, now);
  sqlite3_bind_int64(s, 2, after);
  r = stmt_row(st, s, "reading the outbox", &row);
  if (!r && row)
    r = mail_from_row(s, out);
  stmt_done(s);
  if (r)
    cstore_mail_free(out);
  *found = !r && row;
  return r;
}

asr_result cstore_outbox_mark(cstore *st, int64_t id, const char *state, int64_t next_try,
                              const char *error, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_OUTBOX_MARK, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, next_try);
  bind_opt(s, 4, error);
  sqlite3_bind_int64(s, 5, now);
  return stmt_run(st, s, "marking a mail");
}

int64_t cstore_outbox_count(cstore *st, const char *state)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  int64_t n = -1;

  if (o_get(st, O_OUTBOX_COUNT, &s))
    return -1;
  sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
  if (stmt_row(st, s, "counting mails", &row) == ASR_OK && row)
    n = sqlite3_column_int64(s, 0);
  stmt_done(s);
  return n;
}

asr_result cstore_outbox_claim(cstore *st, int64_t id, int64_t now, int64_t until, bool *claimed)
{
  const int64_t v[] = {id, now, until};
  asr_result r = o_run_i64(st, O_OUTBOX_CLAIM, "claiming a mail", v, 3);

  *claimed = !r && sqlite3_changes(st->db) == 1;
  return r;
}

asr_result cstore_rp_instance(cstore *st, int64_t *id)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_INSTANCE_ADD, &s);

  *id = 0;
  if (!r)
    r = stmt_run(st, s, "drawing the database's instance");
  if (!r)
    r = o_get(st, O_STATE_GET, &s);
  if (r)
    return r;
  sqlite3_bind_text(s, 1, "instance", -1, SQLITE_STATIC);
  r = stmt_row(st, s, "reading the database's instance", &row);
  if (!r && row)
    *id = sqlite3_column_int64(s, 0);
  stmt_done(s);
  return r || row ? r : ASR_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------------------------------
 * Contacts (schema 5): a site's supplies contacts, each device's contact, their history. */

/* Records one change of contact (device: 0 for none). */
static asr_result history_add(cstore *st, int64_t contact, int64_t device, const char *what,
                              const char *old, const char *now_value, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_HISTORY_ADD, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, now);
  sqlite3_bind_int64(s, 2, contact);
  bind_opt_i64(s, 3, device > 0 ? device : -1);
  sqlite3_bind_text(s, 4, what, -1, SQLITE_STATIC);
  bind_opt(s, 5, old);
  bind_opt(s, 6, now_value);
  return stmt_run(st, s, "recording a contact's history");
}

/* Whether another contact (not except) of site_id has e-mail email. */
static asr_result email_taken(cstore *st, int64_t site_id, const char *email, int64_t except,
                              bool *taken)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, O_CONTACT_DUP, &s);

  *taken = false;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  sqlite3_bind_text(s, 2, email, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, except);
  r = stmt_row(st, s, "looking up a contact", taken);
  stmt_done(s);
  if (!r && *taken)
    set_err(st, "the site has a contact with the e-mail '%s' already", email);
  return r;
}

asr_result cstore_contact_add(cstore *st, int64_t site_id, const char *name, const char *email,
                              const char *address, int64_t now, int64_t *id)
{
  sqlite3_stmt *s = NULL;
  bool taken = false;
  asr_result r = email_taken(st, site_id, email, 0, &taken);

  *id = 0;
  if (!r && taken)
    return ASR_ERR_INVALID;
  if (!r)
    r = o_get(st, O_CONTACT_ADD, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  sqlite3_bind_text(s, 2, name ? name : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, email, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, address ? address : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, now);
  r = stmt_run(st, s, "adding a contact");
  if (r)
    return r;
  *id = sqlite3_last_insert_rowid(st->db);
  return history_add(st, *id, 0, "created", NULL, email, now);
}

static void contact_from_row(sqlite3_stmt *s, cstore_contact *c)
{
  c->id = sqlite3_column_int64(s, 0);
  c->site_id = sqlite3_column_int64(s, 1);
  c->site = col_text(s, 2);
  c->name = col_text(s, 3);
  c->email = col_text(s, 4);
  c->address = col_text(s, 5);
  c->created_at = sqlite3_column_int64(s, 6);
  c->updated_at = sqlite3_column_int64(s, 7);
  c->devices = sqlite3_column_int64(s, 8);
  c->first = sqlite3_column_int(s, 9) != 0;
}

/* Calls cb for the contacts of site (NULL: all) or the one of id (0: all); *n counts them. */
static asr_result contacts_walk(cstore *st, const char *site, int64_t id, cstore_contact_cb cb,
                                void *ctx, size_t *n)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_CONTACTS, &s);

  *n = 0;
  if (r)
    return r;
  bind_opt(s, 1, site);
  sqlite3_bind_int64(s, 2, id);
  while (!r && row) {
    cstore_contact c;
    r = stmt_row(st, s, "listing contacts", &row);
    if (r || !row)
      break;
    contact_from_row(s, &c);
    (*n)++;
    if (cb(&c, ctx))
      break;
  }
  stmt_done(s);
  return r;
}

asr_result cstore_contact_foreach(cstore *st, const char *site, cstore_contact_cb cb, void *ctx)
{
  size_t n = 0;
  asr_result r = site ? site_exists(st, site) : ASR_OK;

  return r ? r : contacts_walk(st, site, 0, cb, ctx, &n);
}

asr_result cstore_contact_get(cstore *st, int64_t id, cstore_contact_cb cb, void *ctx)
{
  size_t n = 0;
  asr_result r = id > 0 ? contacts_walk(st, NULL, id, cb, ctx, &n) : ASR_OK;

  if (!r && n == 0) {
    set_err(st, "no contact %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_contact_find(cstore *st, const char *site, const char *email, int64_t *id)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_CONTACT_FIND, &s);

  *id = 0;
  if (r)
    return r;
  sqlite3_bind_text(s, 1, site, -1, SQLITE_STATIC);
  bind_opt(s, 2, email);
  r = stmt_row(st, s, "looking up a contact", &row);
  if (!r && row)
    *id = sqlite3_column_int64(s, 0);
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "site '%s' has no contact%s%s", site, email ? " " : "", email ? email : "");
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* A contact's current values (copies). */
typedef struct {
  char name[CSTORE_NAME_MAX], email[CSTORE_NAME_MAX], address[CSTORE_NAME_MAX];
  int64_t site_id;
} contact_values;

static asr_result contact_values_get(cstore *st, int64_t id, contact_values *v)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_CONTACT_ROW, &s);

  memset(v, 0, sizeof(*v));
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = stmt_row(st, s, "looking up a contact", &row);
  if (!r && row) {
    asr_strlcpy_cut(v->name, col_text(s, 0) ? col_text(s, 0) : "", sizeof(v->name));
    asr_strlcpy_cut(v->email, col_text(s, 1) ? col_text(s, 1) : "", sizeof(v->email));
    asr_strlcpy_cut(v->address, col_text(s, 2) ? col_text(s, 2) : "", sizeof(v->address));
    v->site_id = sqlite3_column_int64(s, 3);
  }
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "no contact %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* Records the change of one field (what) from old to new when they differ. */
static asr_result field_change(cstore *st, int64_t id, const char *what, const char *old,
                               const char *new_value, int64_t now)
{
  if (!new_value || strcmp(old, new_value) == 0)
    return ASR_OK;
  return history_add(st, id, 0, what, old, new_value, now);
}

asr_result cstore_contact_update(cstore *st, int64_t id, const char *name, const char *email,
                                 const char *address, int64_t now)
{
  contact_values v;
  sqlite3_stmt *s = NULL;
  bool taken = false;
  asr_result r = contact_values_get(st, id, &v);

  if (!r && email)
    r = email_taken(st, v.site_id, email, id, &taken);
  if (!r && taken)
    return ASR_ERR_INVALID;
  if (!r)
    r = field_change(st, id, "name", v.name, name, now);
  if (!r)
    r = field_change(st, id, "email", v.email, email, now);
  if (!r)
    r = field_change(st, id, "address", v.address, address, now);
  if (!r)
    r = o_get(st, O_CONTACT_SET, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, name ? name : v.name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, email ? email : v.email, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 4, address ? address : v.address, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 5, now);
  return stmt_run(st, s, "changing a contact");
}

asr_result cstore_device_assign(cstore *st, int64_t dev, int64_t contact, int64_t now)
{
  contact_values v;
  sqlite3_stmt *s = NULL;
  char serial[CSTORE_NAME_MAX] = "", before[CSTORE_NAME_MAX] = "";
  int64_t site = 0;
  bool row = false;
  asr_result r = contact_values_get(st, contact, &v);

  if (!r)
    r = o_get(st, O_DEVICE_SITE, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, dev);
  r = stmt_row(st, s, "looking up a device", &row);
  if (!r && row) {
    site = sqlite3_column_int64(s, 0);
    asr_strlcpy_cut(serial, col_text(s, 1) ? col_text(s, 1) : "", sizeof(serial));
    asr_strlcpy_cut(before, col_text(s, 2) ? col_text(s, 2) : "", sizeof(before));
  }
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "no device %lld", (long long)dev);
    return ASR_ERR_NOT_FOUND;
  }
  if (!r && site != v.site_id) {
    set_err(st, "device %s and contact %s are not of the same site", serial, v.email);
    return ASR_ERR_INVALID;
  }
  const int64_t a[] = {dev, contact, now};
  if (!r)
    r = o_run_i64(st, O_DEVICE_ASSIGN, "assigning a device", a, 3);
  if (!r)
    r = history_add(st, contact, dev, "device", before[0] ? before : NULL, serial, now);
  return r;
}

asr_result cstore_site_id(cstore *st, const char *name, int64_t *id)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_SITE_BY_NAME, &s);

  *id = 0;
  if (r)
    return r;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  r = stmt_row(st, s, "looking up a site", &row);
  if (!r && row)
    *id = sqlite3_column_int64(s, 0);
  stmt_done(s);
  if (!r && !row) {
    set_err(st, "no site '%s'", name);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_device_find(cstore *st, const char *site, const char *serial, int64_t *dev,
                              int64_t *site_id)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  int n = 0;
  asr_result r = site ? site_exists(st, site) : ASR_OK;

  *dev = *site_id = 0;
  if (!r)
    r = o_get(st, O_DEVICE_FIND, &s);
  if (r)
    return r;
  bind_opt(s, 1, site);
  sqlite3_bind_text(s, 2, serial, -1, SQLITE_STATIC);
  while (!r && (r = stmt_row(st, s, "looking up a device", &row)) == ASR_OK && row) {
    if (n++ == 0) {
      *dev = sqlite3_column_int64(s, 0);
      *site_id = sqlite3_column_int64(s, 1);
    }
  }
  stmt_done(s);
  if (!r && n == 0) {
    set_err(st, "no device '%s'%s%s", serial, site ? " at site " : "", site ? site : "");
    r = ASR_ERR_NOT_FOUND;
  } else if (!r && n > 1) {
    set_err(st, "several sites have a device '%s': name the site (--site)", serial);
    r = ASR_ERR_INVALID;
  }
  return r;
}

asr_result cstore_contact_history(cstore *st, int64_t id, cstore_history_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_HISTORY, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  while (!r && row) {
    cstore_history h;
    r = stmt_row(st, s, "reading a contact's history", &row);
    if (r || !row)
      break;
    h.at = sqlite3_column_int64(s, 0);
    h.contact_id = sqlite3_column_int64(s, 1);
    h.what = col_text(s, 2);
    h.old = col_text(s, 3);
    h.now = col_text(s, 4);
    if (cb(&h, ctx))
      break;
  }
  stmt_done(s);
  return r;
}

static asr_result first_contact_add(cstore *st, int64_t site_id, const char *email,
                                    const char *address, int64_t now)
{
  int64_t id = 0;

  return cstore_contact_add(st, site_id, "", email, address, now, &id);
}
