/* cstore_ingest.c: applying a batch to the central store (the hot path) and the problems
 * it recorded (cstore.h), on SQLite or PostgreSQL (central/cdb.h).
 *
 * - Readings, levels and events are inserted ON CONFLICT DO NOTHING into tables keyed by
 *   what makes them unique, so the same reading in two batches is stored once; each
 *   device's "readings" column counts the rows that were really inserted.
 * - A batch is applied in one transaction (SQLite: BEGIN IMMEDIATE, writers queue on the
 *   busy timeout); a batch that meets a busy database, a deadlock or a serialization
 *   failure is retried whole (it was rolled back; PostgreSQL's failed statement ends the
 *   transaction, so nothing carries on after one).
 * - Several nodes on one PostgreSQL: a batch id is applied by one node at a time (an
 *   advisory lock held to the commit: the second node then finds the batch stored, a
 *   duplicate, as SQLite's serialized transactions show it), and a batch's devices are
 *   upserted in the order of their keys, so two batches of one site lock the devices they
 *   share in one order (one waits, neither deadlocks).
 * - On PostgreSQL a batch's rows go as array parameters, a few statements per chunk of
 *   8,192 rows ("the bulk path" below); SQLite, in the process, runs one cached
 *   statement per row. */
#include "central/cstore.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central/calerts.h"
#include "central/cmeters.h"
#include "central/cstore_int.h"
#include "central/cstore_series.h"
#include "common/util.h"

#define APPLY_TRIES 20 /* whole-transaction retries of a batch meeting a busy file */

typedef enum {
  S_AGENT_SEEN,
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
  S_REUSE_GET,
  S_PROBLEM_ADD,
  S_BATCH_DIGEST,
  S_PROBLEMS,
  S_BATCH_LOCK,
  B_DEVICES,
  B_DEVICE_IDS,
  B_SUPPLY_META,
  B_READINGS,
  B_LEVELS,
  B_COUNTS,
  B_SUPPLY_LEVELS,
  S_COUNT
} stmt_id;

static const char *const stmt_sql[S_COUNT] = {
    /* every batch, heartbeats included, says the agent is alive */
    [S_AGENT_SEEN] = "UPDATE agents SET last_seen = CASE WHEN last_seen > ?2"
                     " THEN last_seen ELSE ?2 END,"
                     " agent_version = coalesce(?3, agent_version) WHERE id = ?1",
    [S_BATCH_GET] = "SELECT readings, digest FROM batches WHERE id = ?1",
    [S_BATCH_ADD] = "INSERT INTO batches (id, agent_id, received_at, created_at, devices,"
                    " readings, readings_new, events, digest, readings_refused, events_refused)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    /* identity and state: what the newest batch said (an older batch arriving late does
     * not overwrite it); a value the batch did not carry keeps the stored one */
    [S_DEVICE_UPSERT] =
        "INSERT INTO devices (site_id, key, serial, mac, ip, vendor, model, sys_object_id,"
        " sys_descr, sys_name, printer_status, errors, state, state_since, last_good_poll,"
        " failed_polls, agent_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        " ON CONFLICT (site_id, key) DO UPDATE SET"
        " serial = coalesce(excluded.serial, devices.serial), mac = coalesce(excluded.mac, "
        "devices.mac),"
        " ip = coalesce(excluded.ip, devices.ip), vendor = coalesce(excluded.vendor, "
        "devices.vendor),"
        " model = coalesce(excluded.model, devices.model),"
        " sys_object_id = coalesce(excluded.sys_object_id, devices.sys_object_id),"
        " sys_descr = coalesce(excluded.sys_descr, devices.sys_descr),"
        " sys_name = coalesce(excluded.sys_name, devices.sys_name),"
        " printer_status = coalesce(excluded.printer_status, devices.printer_status),"
        " errors = coalesce(excluded.errors, devices.errors), state = coalesce(excluded.state, "
        "devices.state),"
        " state_since = coalesce(excluded.state_since, devices.state_since),"
        " last_good_poll = coalesce(excluded.last_good_poll, devices.last_good_poll),"
        " failed_polls = coalesce(excluded.failed_polls, devices.failed_polls),"
        " agent_id = excluded.agent_id, updated_at = excluded.updated_at"
        " WHERE excluded.updated_at >= devices.updated_at",
    [S_DEVICE_ID] = "SELECT id FROM devices WHERE site_id = ?1 AND key = ?2",
    [S_DEVICE_COUNT] = "UPDATE devices SET readings = readings + ?2,"
                       " last_reading_at = CASE WHEN last_reading_at > ?3"
                       " THEN last_reading_at ELSE ?3 END WHERE id = ?1",
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
    [S_READING_ADD] = "INSERT INTO readings (device_id, t, page_count)"
                      " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    [S_LEVEL_ADD] = "INSERT INTO levels (device_id, idx, t, level, max, percent)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    [S_EVENT_ADD] = "INSERT INTO events (device_id, t, kind, detail, batch_id)"
                    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
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
                   " JOIN sites s ON s.id = p.site_id WHERE CAST(?1 AS TEXT) IS NULL OR s.name = ?1"
                   " ORDER BY p.id DESC LIMIT ?2",
    /* PostgreSQL only: a batch id is applied by one node at a time (held to the commit; the
     * second node then sees the first's batch row, a duplicate, as SQLite's serialized
     * transactions show it); 1634955874 is "asrb", apart from the migrations' lock */
    [S_BATCH_LOCK] = "SELECT pg_advisory_xact_lock(1634955874, hashtext(?1))",
    /* PostgreSQL only: the bulk forms of the statements above, one statement for all the
     * rows of a batch (array parameters, cdb.h), the same effects row by row in the arrays'
     * order (devices by key); a supply's description is only rewritten when it changed
     * (every batch repeats it: a new row version each time costs) */
    [B_DEVICES] =
        "INSERT INTO devices (site_id, key, serial, mac, ip, vendor, model, sys_object_id,"
        " sys_descr, sys_name, printer_status, errors, state, state_since, last_good_poll,"
        " failed_polls, agent_id, updated_at) SELECT CAST(?1 AS BIGINT), u.*,"
        " CAST(?17 AS TEXT), CAST(?18 AS BIGINT) FROM unnest(?2::text[], ?3::text[],"
        " ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[], ?9::text[], ?10::text[],"
        " ?11::text[], ?12::text[], ?13::text[], ?14::bigint[], ?15::bigint[], ?16::bigint[])"
        " AS u ON CONFLICT (site_id, key) DO UPDATE SET"
        " serial = coalesce(excluded.serial, devices.serial),"
        " mac = coalesce(excluded.mac, devices.mac), ip = coalesce(excluded.ip, devices.ip),"
        " vendor = coalesce(excluded.vendor, devices.vendor),"
        " model = coalesce(excluded.model, devices.model),"
        " sys_object_id = coalesce(excluded.sys_object_id, devices.sys_object_id),"
        " sys_descr = coalesce(excluded.sys_descr, devices.sys_descr),"
        " sys_name = coalesce(excluded.sys_name, devices.sys_name),"
        " printer_status = coalesce(excluded.printer_status, devices.printer_status),"
        " errors = coalesce(excluded.errors, devices.errors),"
        " state = coalesce(excluded.state, devices.state),"
        " state_since = coalesce(excluded.state_since, devices.state_since),"
        " last_good_poll = coalesce(excluded.last_good_poll, devices.last_good_poll),"
        " failed_polls = coalesce(excluded.failed_polls, devices.failed_polls),"
        " agent_id = excluded.agent_id, updated_at = excluded.updated_at"
        " WHERE excluded.updated_at >= devices.updated_at",
    [B_DEVICE_IDS] = "SELECT key, id FROM devices WHERE site_id = ?1 AND key = ANY(?2::text[])",
    [B_SUPPLY_META] =
        "INSERT INTO supplies (device_id, idx, description, part_number, type, class,"
        " colorant, unit, colorant_std) SELECT * FROM unnest(?1::bigint[], ?2::bigint[],"
        " ?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[], ?9::text[])"
        " ON CONFLICT (device_id, idx) DO UPDATE SET description = excluded.description,"
        " part_number = excluded.part_number, type = excluded.type, class = excluded.class,"
        " colorant = excluded.colorant, unit = excluded.unit,"
        " colorant_std = excluded.colorant_std WHERE (supplies.description,"
        " supplies.part_number, supplies.type, supplies.class, supplies.colorant,"
        " supplies.unit, supplies.colorant_std) IS DISTINCT FROM (excluded.description,"
        " excluded.part_number, excluded.type, excluded.class, excluded.colorant,"
        " excluded.unit, excluded.colorant_std)",
    [B_READINGS] = "INSERT INTO readings (device_id, t, page_count) SELECT * FROM"
                   " unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]) ON CONFLICT DO NOTHING"
                   " RETURNING device_id",
    [B_LEVELS] = "INSERT INTO levels (device_id, idx, t, level, max, percent) SELECT * FROM"
                 " unnest(?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::bigint[], ?5::bigint[],"
                 " ?6::bigint[]) ON CONFLICT DO NOTHING",
    [B_COUNTS] = "UPDATE devices SET readings = devices.readings + u.n,"
                 " last_reading_at = CASE WHEN devices.last_reading_at > u.t"
                 " THEN devices.last_reading_at ELSE u.t END"
                 " FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]) AS u (id, n, t)"
                 " WHERE devices.id = u.id",
    [B_SUPPLY_LEVELS] =
        "INSERT INTO supplies (device_id, idx, level, max, percent, level_t) SELECT * FROM"
        " unnest(?1::bigint[], ?2::bigint[], ?3::bigint[], ?4::bigint[], ?5::bigint[],"
        " ?6::bigint[]) ON CONFLICT (device_id, idx) DO UPDATE SET level = excluded.level,"
        " max = excluded.max, percent = excluded.percent, level_t = excluded.level_t"
        " WHERE excluded.level_t >= supplies.level_t",
};

_Static_assert(CSTORE_SLOTS_INGEST + S_COUNT <= CSTORE_SLOTS_RP,
               "give this file more statement slots (cstore_int.h)");

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(cstore *st, stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_INGEST + (size_t)id, stmt_sql[id], out);
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

/* A device row missing right after its upsert (never, unless the database is tampered with). */
static asr_result stored_device_missing(cstore *st)
{
  asr_sql_set_err(&st->sql, "%s: finding a stored device: it is not there", st->path);
  return ASR_ERR_DB;
}

static asr_result device_upsert(cstore *st, const cstore_agent *ag, const cstore_dev *d,
                                int64_t when, int64_t *id)
{
  const char *str[] = {d->serial,         d->mac,           d->ip,        d->vendor,
                       d->model,          d->sys_object_id, d->sys_descr, d->sys_name,
                       d->printer_status, d->errors_json,   d->state};
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_DEVICE_UPSERT, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, ag->site_id);
  cdb_bind_text(s, 2, d->key);
  for (int i = 0; i < (int)(sizeof(str) / sizeof(str[0])); i++)
    cdb_bind_text(s, 3 + i, str[i]);
  cdb_bind_opt_i64(s, 14, d->state_since);
  cdb_bind_opt_i64(s, 15, d->last_good_poll);
  cdb_bind_opt_i64(s, 16, d->failed_polls);
  cdb_bind_text(s, 17, ag->id);
  cdb_bind_i64(s, 18, when);
  r = cdb_run(s, "storing a device");
  if (!r)
    r = stmt_get(st, S_DEVICE_ID, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, ag->site_id);
  cdb_bind_text(s, 2, d->key);
  r = cdb_step(s, "finding a device", &row);
  if (!r && !row)
    r = stored_device_missing(st);
  if (!r)
    *id = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r;
}

static asr_result supply_meta(cstore *st, int64_t dev, const cstore_supply_meta *m)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_SUPPLY_META, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_i64(s, 2, m->index);
  cdb_bind_text(s, 3, m->description);
  cdb_bind_text(s, 4, m->part_number);
  cdb_bind_text(s, 5, m->type);
  cdb_bind_text(s, 6, m->klass);
  cdb_bind_text(s, 7, m->colorant);
  cdb_bind_text(s, 8, m->unit);
  cdb_bind_text(s, 9, m->colorant_std);
  return cdb_run(s, "storing a supply");
}

static int dev_key_cmp(const void *pa, const void *pb)
{
  const cstore_dev *const *a = pa, *const *b = pb;

  if (!(*a)->key || !(*b)->key) /* a refused device may have none: never upserted */
    return !(*b)->key - !(*a)->key;
  return strcmp((*a)->key, (*b)->key);
}

/* The devices upserted in the order of their keys, whatever the batch's order: two
 * batches of one site applied at once on two nodes (PostgreSQL) lock the rows of the
 * devices they share in the same order, so one waits for the other instead of both
 * deadlocking. */
static asr_result apply_devices(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                int64_t when, dev_state *ds)
{
  const cstore_dev **order = malloc((b->n_devices ? b->n_devices : 1) * sizeof(*order));
  asr_result r = order ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; order && i < b->n_devices; i++)
    order[i] = &b->devices[i];
  if (order)
    qsort(order, b->n_devices, sizeof(*order), dev_key_cmp);
  for (size_t k = 0; !r && k < b->n_devices; k++) {
    const cstore_dev *d = order[k];
    size_t i = (size_t)(d - b->devices);
    if (d->refused)
      continue; /* its readings and events were refused with it */
    r = device_upsert(st, ag, d, when, &ds[i].id);
    for (size_t j = 0; !r && j < d->n_supplies; j++)
      r = supply_meta(st, ds[i].id, &d->supplies[j]);
  }
  free(order);
  return r;
}

static asr_result reading_add(cstore *st, cdb_stmt *rs, cdb_stmt *ls, int64_t dev,
                              const cstore_reading *rd, bool *fresh)
{
  asr_result r;

  cdb_bind_i64(rs, 1, dev);
  cdb_bind_i64(rs, 2, rd->t);
  if (rd->has_page_count)
    cdb_bind_i64(rs, 3, rd->page_count);
  else
    cdb_bind_null(rs, 3);
  r = cdb_run(rs, "storing a reading");
  *fresh = !r && cdb_changes(rs) > 0;
  for (size_t i = 0; !r && i < rd->n_levels; i++) {
    cdb_bind_i64(ls, 1, dev);
    cdb_bind_i64(ls, 2, rd->levels[i].index);
    cdb_bind_i64(ls, 3, rd->t);
    cstore_bind_level(ls, 4, &rd->levels[i]);
    r = cdb_run(ls, "storing a level");
  }
  if (!r && rd->n_meters)
    r = cmeters_store(st, dev, rd);
  return r;
}

static asr_result apply_readings(cstore *st, const cstore_batch *b, dev_state *ds,
                                 int64_t *fresh_total)
{
  cdb_stmt *rs = NULL, *ls = NULL;
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
  cdb_stmt *cs = NULL, *ss = NULL;
  asr_result r = stmt_get(st, S_DEVICE_COUNT, &cs);

  if (!r)
    r = stmt_get(st, S_SUPPLY_LEVEL, &ss);
  for (size_t i = 0; !r && i < b->n_devices; i++) {
    const cstore_reading *rd = &b->readings[ds[i].newest];
    if (!ds[i].has_newest)
      continue;
    cdb_bind_i64(cs, 1, ds[i].id);
    cdb_bind_i64(cs, 2, ds[i].fresh);
    cdb_bind_i64(cs, 3, rd->t);
    r = cdb_run(cs, "counting readings");
    for (size_t j = 0; !r && j < rd->n_levels; j++) {
      cdb_bind_i64(ss, 1, ds[i].id);
      cdb_bind_i64(ss, 2, rd->levels[j].index);
      cstore_bind_level(ss, 3, &rd->levels[j]);
      cdb_bind_i64(ss, 6, rd->t);
      r = cdb_run(ss, "storing a supply level");
    }
  }
  return r;
}

/* The events; *fresh counts those not stored before. */
static asr_result apply_events(cstore *st, const cstore_batch *b, const dev_state *ds,
                               int64_t *fresh)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_EVENT_ADD, &s);

  for (size_t i = 0; !r && i < b->n_events; i++) {
    cdb_bind_i64(s, 1, ds[b->events[i].device].id);
    cdb_bind_i64(s, 2, b->events[i].t);
    cdb_bind_text(s, 3, b->events[i].kind);
    cdb_bind_text(s, 4, b->events[i].detail);
    cdb_bind_text(s, 5, b->batch_id);
    r = cdb_run(s, "storing an event");
    *fresh += !r && cdb_changes(s) > 0;
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
  cdb_stmt *s = NULL;
  bool found = false, same = false, no_digest = false;
  asr_result r = stmt_get(st, S_BATCH_GET, &s);

  *seen = SEEN_NEW;
  if (r)
    return r;
  cdb_bind_text(s, 1, b->batch_id);
  r = cdb_step(s, "looking up a batch", &found);
  if (!r && found) {
    const char *digest = cdb_col_text(s, 1);

    *readings = cdb_col_i64(s, 0);
    no_digest = !digest;
    same = digest && b->digest && strcmp(digest, b->digest) == 0;
  }
  cdb_reset(s);
  if (r || !found)
    return r;
  *seen = same ? SEEN_SAME : no_digest ? SEEN_NO_DIGEST : SEEN_REUSED;
  if (*seen != SEEN_REUSED || !b->digest || (r = stmt_get(st, S_REUSE_GET, &s)))
    return r;
  cdb_bind_text(s, 1, b->batch_id);
  cdb_bind_text(s, 2, b->digest);
  r = cdb_step(s, "looking up a reused batch id", &found);
  cdb_reset(s);
  if (!r && found)
    *seen = SEEN_REUSED_AS;
  return r;
}

/* Every batch, heartbeats and reused ids included, says the agent is alive. */
static asr_result agent_seen(cstore *st, const cstore_agent *ag, const cstore_batch *b, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_AGENT_SEEN, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, ag->id);
  cdb_bind_i64(s, 2, now);
  cdb_bind_text(s, 3, b->agent_version);
  return cdb_run(s, "updating the agent");
}

static asr_result batch_record(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                               int64_t now, int64_t fresh)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_BATCH_ADD, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, b->batch_id);
  cdb_bind_text(s, 2, ag->id);
  cdb_bind_i64(s, 3, now);
  cdb_bind_i64(s, 4, b->created_at);
  cdb_bind_i64(s, 5, (int64_t)b->n_devices);
  cdb_bind_i64(s, 6, (int64_t)b->n_readings_sent);
  cdb_bind_i64(s, 7, fresh);
  cdb_bind_i64(s, 8, (int64_t)b->n_events);
  cdb_bind_text(s, 9, b->digest);
  cdb_bind_i64(s, 10, b->readings_refused);
  cdb_bind_i64(s, 11, b->events_refused);
  r = cdb_run(s, "recording the batch");
  return r ? r : agent_seen(st, ag, b, now);
}

/* One row of problems; p NULL for the id reuse, else a refusal ("more" when what is). */
static asr_result problem_add(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                              int64_t now, const char *what, const cstore_refusal *p,
                              const char *error)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_PROBLEM_ADD, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, ag->site_id);
  cdb_bind_text(s, 2, ag->id);
  cdb_bind_text(s, 3, b->batch_id);
  cdb_bind_i64(s, 4, now);
  cdb_bind_text(s, 5, what);
  cdb_bind_text(s, 6, p ? p->device : NULL);
  cdb_bind_opt_i64(s, 7, p ? p->index : -1);
  cdb_bind_opt_i64(s, 8, p ? p->t : -1);
  cdb_bind_i64(s, 9, p ? p->readings : 0);
  cdb_bind_i64(s, 10, p ? p->events : 0);
  cdb_bind_text(s, 11, p ? NULL : b->digest);
  cdb_bind_text(s, 12, error);
  return cdb_run(s, "recording a problem");
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

/* The batch's levels into the daily roll-up and the supplies' series (cstore_series.h). */
static asr_result apply_series(cstore *st, const cstore_batch *b, const dev_state *ds, int64_t now)
{
  cstore_series_item *it;
  size_t n = 0;
  asr_result r;

  for (size_t i = 0; i < b->n_readings; i++)
    n += b->readings[i].n_levels;
  if (n == 0)
    return ASR_OK;
  it = malloc(n * sizeof(*it));
  if (!it)
    return ASR_ERR_NOMEM;
  n = 0;
  for (size_t i = 0; i < b->n_readings; i++) {
    const cstore_reading *rd = &b->readings[i];
    for (size_t j = 0; j < rd->n_levels; j++, n++)
      it[n] = (cstore_series_item){ds[rd->device].id, rd->t, &rd->levels[j], (uint32_t)n};
  }
  r = cstore_series_rollup(st, it, n, now);
  free(it);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * PostgreSQL's bulk path: the devices, readings, levels and supplies of a batch in seven
 * statements per chunk of rows (cdb_arrs_full: 8,192 rows or 1 MiB of arrays; each row its
 * own statement costs a round trip and the server's per-statement work: ~30 us, 8 s for a
 * 1,000-printer day; a whole batch in one statement costs its arrays twice in memory, in
 * ours and in libpq's output buffer, which keeps that size). Taken when the batch
 * has no duplicate device key, supply index or level index (a conflict would touch one
 * row twice in one statement, which PostgreSQL refuses): such a batch goes row by row. */

#define BULK_COLS 16 /* the most array parameters of one bulk statement */

typedef struct {
  cdb_arr a[BULK_COLS];
} bulk_cols;

static void bulk_free(bulk_cols *c)
{
  for (int i = 0; i < BULK_COLS; i++)
    cdb_arr_free(&c->a[i]);
}

static void bulk_reset(bulk_cols *c)
{
  for (int i = 0; i < BULK_COLS; i++)
    cdb_arr_reset(&c->a[i]);
}

/* Whether columns c[0..n) hold a chunk: a bulk statement runs once per chunk of rows
 * (cdb_arrs_full), so neither the arrays nor libpq's copy of them grow with the batch. */
static bool bulk_full(const bulk_cols *c, int n)
{
  return cdb_arrs_full(c->a, n);
}

/* Binds columns c[0..n) to parameters first.. of s (got by id, its other parameters bound
 * by the caller) and runs it, then empties the columns for the next chunk. */
static asr_result bulk_run(cdb_stmt *s, bulk_cols *c, int first, int n, const char *what)
{
  asr_result r = cdb_bind_arrs(s, first, c->a, n);

  if (!r)
    r = cdb_run(s, what);
  bulk_reset(c);
  return r;
}

static int level_idx_dup(const cstore_level *lv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (lv[i].index == lv[j].index)
        return 1;
  return 0;
}

/* True when no statement of the bulk path would touch one row twice. */
static bool bulk_fits(const cstore_batch *b, const cstore_dev *const *order, size_t n)
{
  for (size_t k = 0; k < n; k++) {
    const cstore_dev *d = order[k];
    if (k + 1 < n && strcmp(d->key, order[k + 1]->key) == 0)
      return false;
    for (size_t i = 0; i < d->n_supplies; i++)
      for (size_t j = i + 1; j < d->n_supplies; j++)
        if (d->supplies[i].index == d->supplies[j].index)
          return false;
  }
  for (size_t i = 0; i < b->n_readings; i++)
    if (level_idx_dup(b->readings[i].levels, b->readings[i].n_levels))
      return false;
  return true;
}

/* The devices order[0..n) (by key, none refused), chunk by chunk in that order. */
static asr_result bulk_devices(cstore *st, const cstore_agent *ag, int64_t when,
                               const cstore_dev *const *order, size_t n, bulk_cols *c)
{
  cdb_stmt *s = NULL;
  asr_result r = ASR_OK;

  for (size_t k = 0; !r && k < n;) {
    for (; k < n && !bulk_full(c, 15); k++) {
      const cstore_dev *d = order[k];
      const char *str[] = {d->key,      d->serial,         d->mac,           d->ip,
                           d->vendor,   d->model,          d->sys_object_id, d->sys_descr,
                           d->sys_name, d->printer_status, d->errors_json,   d->state};
      for (int i = 0; i < 12; i++)
        cdb_arr_text(&c->a[i], str[i]);
      cdb_arr_opt_i64(&c->a[12], d->state_since >= 0, d->state_since);
      cdb_arr_opt_i64(&c->a[13], d->last_good_poll >= 0, d->last_good_poll);
      cdb_arr_opt_i64(&c->a[14], d->failed_polls >= 0, d->failed_polls);
    }
    r = stmt_get(st, B_DEVICES, &s);
    if (r)
      break;
    cdb_bind_i64(s, 1, ag->site_id);
    cdb_bind_text(s, 17, ag->id);
    cdb_bind_i64(s, 18, when);
    r = bulk_run(s, c, 2, 15, "storing devices");
  }
  bulk_reset(c);
  return r;
}

/* The ids of the chunk of devices whose keys c->a[0] holds: ds[i].id of each; *found
 * counts them. */
static asr_result bulk_ids_chunk(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                 const cstore_dev *const *order, size_t want, dev_state *ds,
                                 bulk_cols *c, size_t *found)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, B_DEVICE_IDS, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, ag->site_id);
  r = cdb_bind_arrs(s, 2, c->a, 1);
  while (!r && row) {
    r = cdb_step(s, "finding devices", &row);
    if (r || !row)
      break;
    cstore_dev key = {.key = cdb_col_text(s, 0)}, *kp = &key;
    const cstore_dev **hit = bsearch(&kp, order, want, sizeof(*order), dev_key_cmp);
    if (hit && key.key) {
      ds[*hit - b->devices].id = cdb_col_i64(s, 1);
      ++*found;
    }
  }
  cdb_reset(s);
  bulk_reset(c);
  return r;
}

/* The ids of the devices just stored: ds[i].id of each device i not refused. */
static asr_result bulk_device_ids(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                  const cstore_dev *const *order, size_t want, dev_state *ds,
                                  bulk_cols *c)
{
  size_t found = 0;
  asr_result r = ASR_OK;

  for (size_t k = 0; !r && k < want;) {
    for (; k < want && !bulk_full(c, 1); k++)
      cdb_arr_text(&c->a[0], order[k]->key);
    r = bulk_ids_chunk(st, ag, b, order, want, ds, c, &found);
  }
  bulk_reset(c);
  return !r && found != want ? stored_device_missing(st) : r;
}

static asr_result bulk_supply_meta(cstore *st, const cstore_batch *b,
                                   const cstore_dev *const *order, size_t nd, const dev_state *ds,
                                   bulk_cols *c)
{
  cdb_stmt *s = NULL;
  asr_result r = ASR_OK;

  for (size_t k = 0; !r && k < nd;) {
    for (; k < nd && !bulk_full(c, 9); k++) {
      const cstore_dev *d = order[k];
      for (size_t j = 0; j < d->n_supplies; j++) {
        const cstore_supply_meta *m = &d->supplies[j];
        cdb_arr_i64(&c->a[0], ds[d - b->devices].id);
        cdb_arr_i64(&c->a[1], m->index);
        cdb_arr_text(&c->a[2], m->description);
        cdb_arr_text(&c->a[3], m->part_number);
        cdb_arr_text(&c->a[4], m->type);
        cdb_arr_text(&c->a[5], m->klass);
        cdb_arr_text(&c->a[6], m->colorant);
        cdb_arr_text(&c->a[7], m->unit);
        cdb_arr_text(&c->a[8], m->colorant_std);
      }
    }
    if (!c->a[0].n)
      continue;
    r = stmt_get(st, B_SUPPLY_META, &s);
    if (!r)
      r = bulk_run(s, c, 1, 9, "storing supplies");
  }
  bulk_reset(c);
  return r;
}

/* A device's index in ds from its id (ids sorted in ids[0..n) with their index). */
typedef struct {
  int64_t id;
  size_t i;
} id_index;

static int id_index_cmp(const void *pa, const void *pb)
{
  const id_index *a = pa, *b = pb;

  return a->id < b->id ? -1 : a->id > b->id;
}

/* The chunk of readings in c: each one inserted counted for its device (ids) and in
 * *fresh_total. */
static asr_result bulk_readings_chunk(cstore *st, const cstore_batch *b, dev_state *ds,
                                      const id_index *ids, bulk_cols *c, int64_t *fresh_total)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, B_READINGS, &s);

  if (!r)
    r = cdb_bind_arrs(s, 1, c->a, 3);
  while (!r && row) {
    r = cdb_step(s, "storing readings", &row);
    if (r || !row)
      break;
    id_index key = {cdb_col_i64(s, 0), 0}, *hit;
    hit = bsearch(&key, ids, b->n_devices, sizeof(*ids), id_index_cmp);
    if (hit)
      ds[hit->i].fresh++;
    ++*fresh_total;
  }
  if (s)
    cdb_reset(s);
  bulk_reset(c);
  return r;
}

/* The readings, chunk by chunk, their devices' new ones counted and newest found. */
static asr_result bulk_reading_rows(cstore *st, const cstore_batch *b, dev_state *ds, bulk_cols *c,
                                    int64_t *fresh_total)
{
  id_index *ids = malloc((b->n_devices ? b->n_devices : 1) * sizeof(*ids));
  asr_result r = ids ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < b->n_devices; i++)
    ids[i] = (id_index){ds[i].id, i};
  if (!r)
    qsort(ids, b->n_devices, sizeof(*ids), id_index_cmp);
  for (size_t i = 0; !r && i < b->n_readings;) {
    for (; i < b->n_readings && !bulk_full(c, 3); i++) {
      const cstore_reading *rd = &b->readings[i];
      dev_state *d = &ds[rd->device];
      cdb_arr_i64(&c->a[0], d->id);
      cdb_arr_i64(&c->a[1], rd->t);
      cdb_arr_opt_i64(&c->a[2], rd->has_page_count, rd->page_count);
      if (!d->has_newest || rd->t >= b->readings[d->newest].t) {
        d->newest = i;
        d->has_newest = true;
      }
    }
    r = bulk_readings_chunk(st, b, ds, ids, c, fresh_total);
  }
  free(ids);
  bulk_reset(c);
  return r;
}

/* The readings (their devices' new ones counted), the levels, the meters. */
static asr_result bulk_readings(cstore *st, const cstore_batch *b, dev_state *ds, bulk_cols *c,
                                int64_t *fresh_total)
{
  cdb_stmt *s = NULL;
  asr_result r = bulk_reading_rows(st, b, ds, c, fresh_total);

  for (size_t i = 0; !r && i < b->n_readings;) {
    for (; i < b->n_readings && !bulk_full(c, 6); i++) {
      const cstore_reading *rd = &b->readings[i];
      for (size_t j = 0; j < rd->n_levels; j++) {
        const cstore_level *lv = &rd->levels[j];
        cdb_arr_i64(&c->a[0], ds[rd->device].id);
        cdb_arr_i64(&c->a[1], lv->index);
        cdb_arr_i64(&c->a[2], rd->t);
        cdb_arr_opt_i64(&c->a[3], lv->has_level, lv->level);
        cdb_arr_opt_i64(&c->a[4], lv->has_max, lv->max);
        cdb_arr_opt_i64(&c->a[5], lv->has_percent, lv->percent);
      }
    }
    if (!c->a[0].n)
      continue;
    r = stmt_get(st, B_LEVELS, &s);
    if (!r)
      r = bulk_run(s, c, 1, 6, "storing levels");
  }
  bulk_reset(c);
  for (size_t i = 0; !r && i < b->n_readings; i++)
    if (b->readings[i].n_meters)
      r = cmeters_store(st, ds[b->readings[i].device].id, &b->readings[i]);
  return r;
}

/* Per device with readings: its counters, and the supplies' values of its newest one. */
static asr_result bulk_newest(cstore *st, const cstore_batch *b, const dev_state *ds, bulk_cols *c)
{
  cdb_stmt *s = NULL;
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < b->n_devices;) {
    for (; i < b->n_devices && !bulk_full(c, 3); i++) {
      if (!ds[i].has_newest)
        continue;
      cdb_arr_i64(&c->a[0], ds[i].id);
      cdb_arr_i64(&c->a[1], ds[i].fresh);
      cdb_arr_i64(&c->a[2], b->readings[ds[i].newest].t);
    }
    if (!c->a[0].n)
      continue;
    r = stmt_get(st, B_COUNTS, &s);
    if (!r)
      r = bulk_run(s, c, 1, 3, "counting readings");
  }
  bulk_reset(c);
  for (size_t i = 0; !r && i < b->n_devices;) {
    for (; i < b->n_devices && !bulk_full(c, 6); i++) {
      const cstore_reading *rd = &b->readings[ds[i].newest];
      for (size_t j = 0; ds[i].has_newest && j < rd->n_levels; j++) {
        const cstore_level *lv = &rd->levels[j];
        cdb_arr_i64(&c->a[0], ds[i].id);
        cdb_arr_i64(&c->a[1], lv->index);
        cdb_arr_opt_i64(&c->a[2], lv->has_level, lv->level);
        cdb_arr_opt_i64(&c->a[3], lv->has_max, lv->max);
        cdb_arr_opt_i64(&c->a[4], lv->has_percent, lv->percent);
        cdb_arr_i64(&c->a[5], rd->t);
      }
    }
    if (!c->a[0].n)
      continue;
    r = stmt_get(st, B_SUPPLY_LEVELS, &s);
    if (!r)
      r = bulk_run(s, c, 1, 6, "storing supply levels");
  }
  bulk_reset(c);
  return r;
}

/* The bulk path (bulk_fits): *done false when the batch goes row by row instead. */
static asr_result bulk_apply(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                             int64_t when, dev_state *ds, int64_t *fresh, bool *done)
{
  const cstore_dev **order = malloc((b->n_devices ? b->n_devices : 1) * sizeof(*order));
  bulk_cols c;
  size_t keyed = 0;
  asr_result r = order ? ASR_OK : ASR_ERR_NOMEM;

  *done = false;
  memset(&c, 0, sizeof(c));
  bool keyless = false;

  for (size_t i = 0; order && i < b->n_devices; i++) {
    if (!b->devices[i].refused)
      order[keyed++] = &b->devices[i];
    keyless = keyless || (!b->devices[i].refused && !b->devices[i].key);
  }
  if (r || keyless || !keyed)
    goto out;
  qsort(order, keyed, sizeof(*order), dev_key_cmp);
  if (!bulk_fits(b, order, keyed))
    goto out;
  *done = true;
  r = bulk_devices(st, ag, when, order, keyed, &c);
  bulk_reset(&c);
  if (!r)
    r = bulk_device_ids(st, ag, b, order, keyed, ds, &c);
  bulk_reset(&c);
  if (!r)
    r = bulk_supply_meta(st, b, order, keyed, ds, &c);
  bulk_reset(&c);
  if (!r)
    r = bulk_readings(st, b, ds, &c, fresh);
  bulk_reset(&c);
  if (!r)
    r = bulk_newest(st, b, ds, &c);
out:
  bulk_free(&c);
  free(order);
  return r;
}

/* Stores the content of b; *fresh_events the events not stored before. */
static asr_result apply_content(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                                int64_t now, dev_state *ds, cstore_applied *res,
                                int64_t *fresh_events)
{
  calerts_applied alerts;
  const int64_t when = b->created_at > 0 ? b->created_at : now;
  bool bulk = false;
  asr_result r = cdb_backend(st->db) == CDB_PG
                     ? bulk_apply(st, ag, b, when, ds, &res->readings_new, &bulk)
                     : ASR_OK;

  if (!r && !bulk)
    r = apply_devices(st, ag, b, when, ds);
  if (!r && !bulk)
    r = apply_readings(st, b, ds, &res->readings_new);
  if (!r && !bulk)
    r = apply_newest(st, b, ds);
  if (!r)
    r = apply_series(st, b, ds, now);
  if (!r)
    r = apply_events(st, b, ds, fresh_events);
  if (!r) /* alert events become alerts (issue 16) */
    r = calerts_apply(st, ag->site_id, b, &alerts);
  return r;
}

/* After the content of a batch whose id was seen: what it was, and its record. */
static asr_result record_seen(cstore *st, const cstore_agent *ag, const cstore_batch *b,
                              int64_t now, batch_seen seen, int64_t fresh_events,
                              cstore_applied *res)
{
  cdb_stmt *s = NULL;
  asr_result r;

  if (seen == SEEN_NO_DIGEST && res->readings_new == 0 && fresh_events == 0) {
    res->duplicate = true; /* nothing new: the content committed before this version */
    r = stmt_get(st, S_BATCH_DIGEST, &s);
    if (r)
      return r;
    cdb_bind_text(s, 1, b->batch_id);
    cdb_bind_text(s, 2, b->digest);
    return cdb_run(s, "recording the digest of a batch");
  }
  res->id_reused = true;
  res->readings = (int64_t)b->n_readings_sent;
  return reuse_record(st, ag, b, now);
}

/* PostgreSQL: waits for another node applying the same batch id (cdb.h's lock timeout). */
static asr_result batch_lock(cstore *st, const cstore_batch *b)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_BATCH_LOCK, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, b->batch_id);
  return cdb_run(s, "waiting for the batch on another node");
}

/* One attempt: the whole batch in one transaction, rolled back on any error. */
static asr_result apply_once(cstore *st, const cstore_agent *ag, const cstore_batch *b, int64_t now,
                             dev_state *ds, cstore_applied *res)
{
  batch_seen seen = SEEN_NEW;
  int64_t fresh_events = 0, committed = 0;
  asr_result r = cstore_tx_begin(st);

  memset(res, 0, sizeof(*res));
  memset(ds, 0, sizeof(*ds) * b->n_devices);
  if (!r && cdb_backend(st->db) == CDB_PG)
    r = batch_lock(st, b);
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
    r = cstore_x_commit(st, "committing the batch");
out:
  cstore_tx_rollback(st);
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
 * What was refused. */

static int64_t col_i64_or(cdb_stmt *s, int col, int64_t dflt)
{
  return cdb_col_null(s, col) ? dflt : cdb_col_i64(s, col);
}

asr_result cstore_problem_foreach(cstore *st, const char *site, int64_t limit, cstore_problem_cb cb,
                                  void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = site ? cstore_site_exists(st, site) : ASR_OK;

  if (!r)
    r = stmt_get(st, S_PROBLEMS, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_i64(s, 2, limit);
  while (!r && row) {
    cstore_problem_row p;

    r = cdb_step(s, "listing problems", &row);
    if (r || !row)
      break;
    p.id = cdb_col_i64(s, 0);
    p.site = cdb_col_text(s, 1);
    p.agent = cdb_col_text(s, 2);
    p.batch_id = cdb_col_text(s, 3);
    p.what = cdb_col_text(s, 4);
    p.device = cdb_col_text(s, 5);
    p.error = cdb_col_text(s, 6);
    p.received_at = cdb_col_i64(s, 7);
    p.index = col_i64_or(s, 8, -1);
    p.t = col_i64_or(s, 9, -1);
    p.readings = cdb_col_i64(s, 10);
    p.events = cdb_col_i64(s, 11);
    if (cb(&p, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}
