/* cstore_series.c: the daily roll-up, the supplies' series and the retention of raw
 * readings (cstore_series.h; schema step 13). The SQL of the feature lives here; the
 * handle, its statements and its errors are cstore.c's (cstore_int.h).
 *
 * Reading order: the schema, the roll-up of a batch (sorting its levels by supply and day,
 * one upsert per supply and day, one series rewrite per supply), reading a series, pruning.
 *
 * Why the ingest keeps the series and not the engine: the batch has the new readings at
 * hand, in its transaction; keeping them costs one upsert per supply and day and one small
 * row rewrite per supply a batch (an agent's day: 96 levels of a printer become 4 of each),
 * and the engine then reads one row per supply, whatever the history. */
#include "central/cstore_series.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "central/cseries.h"
#include "central/cstore_int.h"

/* level_days: the last reading of each day of each supply (cstore_series.h); the bare
 * columns of a max() aggregate come from the row holding the max (SQLite), which is what
 * the engine's day grouping always took.
 * supply_series: the supplies' recent series (cseries.h), NULL until built from level_days
 * on first use. */
const char cstore_series_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS level_days ("
    " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, day INTEGER NOT NULL, t INTEGER NOT NULL,"
    " level INTEGER, max INTEGER, percent INTEGER,"
    " PRIMARY KEY (device_id, idx, day)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS supply_series ("
    " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, days BLOB, PRIMARY KEY (device_id, idx)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO level_days (device_id, idx, day, t, level, max, percent)"
    " SELECT device_id, idx, t / 86400, max(t), level, \"max\", percent FROM levels"
    " GROUP BY device_id, idx, t / 86400;"
    "INSERT OR IGNORE INTO supply_series (device_id, idx)"
    " SELECT DISTINCT device_id, idx FROM level_days;";

typedef enum {
  Q_DAY_UPSERT,
  Q_SERIES_GET,
  Q_SERIES_SET,
  Q_DAYS,
  Q_DAYS_RAW,
  Q_PRUNE_LEVELS,
  Q_PRUNE_READINGS,
  Q_PRUNE_EVENTS,
  Q_PRUNE_DAYS,
  Q_PRUNE_NEXT,
  Q_PRUNE_METERS,
  Q_PRUNE_BATCHES,
  Q_PRUNE_PROBLEMS,
  Q_COUNT
} q_id;

static const char *const q_sql[Q_COUNT] = {
    /* a day's newest reading: later than the stored one (on an equal time the stored one,
     * stored first, stays: the raw table's INSERT OR IGNORE) */
    [Q_DAY_UPSERT] = "INSERT INTO level_days (device_id, idx, day, t, level, max, percent)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (device_id, idx, day)"
                     " DO UPDATE SET t = excluded.t, level = excluded.level,"
                     " max = excluded.max, percent = excluded.percent"
                     " WHERE excluded.t > level_days.t",
    [Q_SERIES_GET] = "SELECT days FROM supply_series WHERE device_id = ?1 AND idx = ?2",
    [Q_SERIES_SET] = "INSERT INTO supply_series (device_id, idx, days) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (device_id, idx) DO UPDATE SET days = excluded.days",
    [Q_DAYS] = "SELECT day, level, max, percent FROM level_days"
               " WHERE device_id = ?1 AND idx = ?2 AND day >= ?3 AND day <= ?4 ORDER BY day",
    /* the reference: the raw levels grouped by day, as the engine read them before */
    [Q_DAYS_RAW] = "SELECT t / 86400, level, \"max\", percent, max(t) FROM levels"
                   " WHERE device_id = ?1 AND idx = ?2 AND t >= ?3 * 86400"
                   " AND t < (?4 + 1) * 86400 GROUP BY t / 86400 ORDER BY 1",
    /* one chunk of devices [?1, ?2): each (device, supply) a range of its primary key */
    [Q_PRUNE_LEVELS] = "DELETE FROM levels WHERE (device_id, idx) IN (SELECT device_id, idx"
                       " FROM supply_series WHERE device_id >= ?1 AND device_id < ?2) AND t < ?3",
    [Q_PRUNE_READINGS] = "DELETE FROM readings WHERE device_id IN (SELECT id FROM devices"
                         " WHERE id >= ?1 AND id < ?2) AND t < ?3",
    [Q_PRUNE_EVENTS] = "DELETE FROM events WHERE device_id IN (SELECT id FROM devices"
                       " WHERE id >= ?1 AND id < ?2) AND t < ?3",
    [Q_PRUNE_DAYS] = "DELETE FROM level_days WHERE (device_id, idx) IN (SELECT device_id, idx"
                     " FROM supply_series WHERE device_id >= ?1 AND device_id < ?2) AND day < ?3",
    /* the end of the chunk of ?2 devices from ?1: the id after its last one, 0 when none */
    [Q_PRUNE_NEXT] = "SELECT coalesce((SELECT id FROM devices WHERE id >= ?1 ORDER BY id"
                     " LIMIT 1 OFFSET ?2), 0), EXISTS (SELECT 1 FROM devices WHERE id >= ?1)",
    /* at most ?2 rows each, through the indexes by time */
    [Q_PRUNE_METERS] = "DELETE FROM meter_reads WHERE (device_id, name, t) IN (SELECT"
                       " device_id, name, t FROM meter_reads WHERE t < ?1 LIMIT ?2)",
    [Q_PRUNE_BATCHES] = "DELETE FROM batches WHERE id IN (SELECT b.id FROM agents a"
                        " CROSS JOIN batches b ON b.agent_id = a.id AND b.received_at < ?1"
                        " LIMIT ?2)",
    [Q_PRUNE_PROBLEMS] = "DELETE FROM problems WHERE id IN (SELECT p.id FROM sites s"
                         " CROSS JOIN problems p ON p.site_id = s.id AND p.received_at < ?1"
                         " LIMIT ?2)",
};

_Static_assert(CSTORE_SLOTS_SERIES + Q_COUNT <= CSTORE_SLOTS_END,
               "give this file more statement slots (cstore_int.h)");

static asr_result q_get(cstore *st, q_id id, sqlite3_stmt **out)
{
  return asr_sql_cached(&st->sql, CSTORE_SLOTS_SERIES + (size_t)id, q_sql[id], out);
}

/* ---- The roll-up of a batch --------------------------------------------------------- */

static int64_t day_of(int64_t t)
{
  return t / 86400; /* t >= 0 (ingest.c), as SQLite's integer division */
}

/* By device, supply, day, then newest first, then first in the batch. */
static int item_cmp(const void *pa, const void *pb)
{
  const cstore_series_item *a = pa, *b = pb;

  if (a->dev != b->dev)
    return a->dev < b->dev ? -1 : 1;
  if (a->lv->index != b->lv->index)
    return a->lv->index < b->lv->index ? -1 : 1;
  if (day_of(a->t) != day_of(b->t))
    return day_of(a->t) < day_of(b->t) ? -1 : 1;
  if (a->t != b->t)
    return a->t > b->t ? -1 : 1;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool same_supply(const cstore_series_item *a, const cstore_series_item *b)
{
  return a->dev == b->dev && a->lv->index == b->lv->index;
}

static cstore_rp_level day_level(const cstore_series_item *it)
{
  return (cstore_rp_level){.day = day_of(it->t),
                           .has_level = it->lv->has_level,
                           .level = it->lv->level,
                           .has_max = it->lv->has_max,
                           .max = it->lv->max,
                           .has_percent = it->lv->has_percent,
                           .percent = it->lv->percent};
}

/* Upserts the day of item it into level_days; *changed when it became the day's newest. */
static asr_result day_upsert(cstore *st, const cstore_series_item *it, bool *changed)
{
  sqlite3_stmt *s = NULL;
  asr_result r = q_get(st, Q_DAY_UPSERT, &s);

  *changed = false;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, it->dev);
  sqlite3_bind_int(s, 2, it->lv->index);
  sqlite3_bind_int64(s, 3, day_of(it->t));
  sqlite3_bind_int64(s, 4, it->t);
  if (it->lv->has_level) /* unbound parameters are NULL (cstore_x_done clears them) */
    sqlite3_bind_int64(s, 5, it->lv->level);
  if (it->lv->has_max)
    sqlite3_bind_int64(s, 6, it->lv->max);
  if (it->lv->has_percent)
    sqlite3_bind_int(s, 7, it->lv->percent);
  r = cstore_x_run(st, s, "storing a day's level");
  *changed = !r && sqlite3_changes(cstore_sqlite(st)) > 0;
  return r;
}

/* The stored series of a supply into s (initialised by the caller); *decoded when there is
 * one and it decodes (s is then its days). */
static asr_result series_read(cstore *st, int64_t dev, int32_t idx, cseries *s, bool *decoded)
{
  cdb_stmt *q = NULL; /* on cdb: the engine reads it (cstore_series_levels) */
  bool row = false;
  size_t n = 0;
  asr_result r = cdb_prepare(st->db, CSTORE_SLOTS_SERIES + Q_SERIES_GET, q_sql[Q_SERIES_GET], &q);

  *decoded = false;
  if (r)
    return r;
  cdb_bind_i64(q, 1, dev);
  cdb_bind_i64(q, 2, idx);
  r = cdb_step(q, "reading a supply's series", &row);
  if (!r && row && !cdb_col_null(q, 0)) {
    const void *p = cdb_col_blob(q, 0, &n);
    *decoded = p && cseries_decode(p, n, s) == ASR_OK;
  }
  cdb_reset(q);
  return r;
}

/* The stored series of a supply; a missing, unbuilt or unreadable one is built again from
 * level_days (days from `from` on). */
static asr_result series_load(cstore *st, int64_t dev, int32_t idx, int64_t from, cseries *s)
{
  bool row = false, decoded = false;
  asr_result r;

  cseries_init(s, from);
  r = series_read(st, dev, idx, s, &decoded);
  if (r || decoded)
    return r;
  cseries_free(s);
  cseries_init(s, from);
  sqlite3_stmt *d = NULL;
  r = q_get(st, Q_DAYS, &d);
  if (r)
    return r;
  sqlite3_bind_int64(d, 1, dev);
  sqlite3_bind_int(d, 2, idx);
  sqlite3_bind_int64(d, 3, from);
  sqlite3_bind_int64(d, 4, INT64_MAX);
  for (row = true; !r && row;) {
    r = cstore_x_row(st, d, "reading a supply's days", &row);
    if (!r && row) {
      cstore_rp_level l = {.day = sqlite3_column_int64(d, 0),
                           .has_level = sqlite3_column_type(d, 1) != SQLITE_NULL,
                           .level = sqlite3_column_int64(d, 1),
                           .has_percent = sqlite3_column_type(d, 3) != SQLITE_NULL,
                           .percent = sqlite3_column_int(d, 3)};
      r = cseries_put(s, &l);
    }
  }
  cstore_x_done(d);
  return r;
}

/* Stores series s of a supply; NULL stores "not built" (the roll-up is read instead). */
static asr_result series_store(cstore *st, int64_t dev, int32_t idx, const cseries *s)
{
  unsigned char *blob = NULL;
  size_t len = 0;
  sqlite3_stmt *q = NULL;
  asr_result r = s ? cseries_encode(s, &blob, &len) : ASR_OK;

  if (!r)
    r = q_get(st, Q_SERIES_SET, &q);
  if (!r) {
    sqlite3_bind_int64(q, 1, dev);
    sqlite3_bind_int(q, 2, idx);
    if (blob)
      sqlite3_bind_blob(q, 3, blob, (int)len, SQLITE_STATIC);
    r = cstore_x_run(st, q, "storing a supply's series");
  }
  free(blob);
  return r;
}

/* The days of one supply, items[0..n) (sorted): each day's first item is its newest; the
 * days that changed the roll-up go into the supply's series. */
static asr_result supply_rollup(cstore *st, const cstore_series_item *items, size_t n, int64_t from)
{
  cseries s;
  bool loaded = false, changed = false, overflow = false;
  asr_result r = ASR_OK;

  cseries_init(&s, from);
  for (size_t i = 0; !r && i < n; i++) {
    if (i > 0 && day_of(items[i].t) == day_of(items[i - 1].t))
      continue; /* an older reading of the same day */
    r = day_upsert(st, &items[i], &changed);
    if (r || !changed || day_of(items[i].t) < from || overflow)
      continue;
    if (!loaded) /* built from level_days, this batch's days included */
      r = series_load(st, items[0].dev, items[0].lv->index, from, &s);
    loaded = true;
    cstore_rp_level l = day_level(&items[i]);
    if (!r)
      r = cseries_put(&s, &l);
    /* more days than a series holds (readings dated years ahead): the roll-up takes every
     * day still, the engine reads it instead of a series */
    overflow = r == ASR_ERR_LIMIT;
    r = overflow ? ASR_OK : r;
  }
  if (!r && loaded && !overflow)
    cseries_trim(&s, from);
  if (!r && loaded)
    r = series_store(st, items[0].dev, items[0].lv->index, overflow ? NULL : &s);
  cseries_free(&s);
  return r;
}

asr_result cstore_series_rollup(cstore *st, cstore_series_item *items, size_t n, int64_t now)
{
  int64_t from = day_of(now > 0 ? now : 0) - CSERIES_KEEP_DAYS;
  asr_result r = ASR_OK;
  size_t i = 0;

  qsort(items, n, sizeof(*items), item_cmp);
  while (!r && i < n) {
    size_t j = i + 1;
    while (j < n && same_supply(&items[i], &items[j]))
      j++;
    r = supply_rollup(st, &items[i], j - i, from);
    i = j;
  }
  return r;
}

/* ---- Reading a supply's days --------------------------------------------------------- */

static asr_result days_query(cstore *st, q_id id, int64_t dev, int32_t idx, int64_t from,
                             int64_t to, cstore_rp_level_cb cb, void *ctx)
{
  cdb_stmt *s = NULL; /* the same cached statement on SQLite */
  asr_result r = cdb_prepare(st->db, CSTORE_SLOTS_SERIES + (size_t)id, q_sql[id], &s);

  if (r)
    return r;
  return cstore_rp_levels_walk(st, s, dev, idx, from, to, cb, ctx);
}

asr_result cstore_series_levels_raw(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                    cstore_rp_level_cb cb, void *ctx)
{
  return days_query(st, Q_DAYS_RAW, dev, idx, from, to, cb, ctx);
}

asr_result cstore_series_levels(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                cstore_rp_level_cb cb, void *ctx)
{
  cseries s;
  bool decoded = false;
  asr_result r;

  cseries_init(&s, 0);
  r = series_read(st, dev, idx, &s, &decoded);
  if (!r && decoded && s.from <= from) {
    for (size_t i = 0; i < s.n; i++)
      if (s.d[i].day >= from && s.d[i].day <= to && cb(&s.d[i], ctx))
        break;
  } else if (!r) { /* not built yet, or shorter than asked: the roll-up has every day */
    r = days_query(st, Q_DAYS, dev, idx, from, to, cb, ctx);
  }
  cseries_free(&s);
  return r;
}

/* ---- Retention ---------------------------------------------------------------------- */

static asr_result prune_run(cstore *st, q_id id, const int64_t *v, size_t n, int64_t *count)
{
  sqlite3_stmt *s = NULL;
  asr_result r = q_get(st, id, &s);

  if (!r)
    r = cstore_run_i64(st, s, "pruning old readings", v, n);
  if (!r)
    *count += sqlite3_changes(cstore_sqlite(st));
  return r;
}

asr_result cstore_series_prune(cstore *st, int64_t raw_before, int64_t rollup_before,
                               size_t devices, int64_t *cursor, cstore_prune_report *rep)
{
  sqlite3_stmt *s = NULL;
  int64_t from = *cursor > 0 ? *cursor : 1, to = 0;
  bool row = false, any = false;
  asr_result r = q_get(st, Q_PRUNE_NEXT, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, (int64_t)(devices ? devices : 1));
  r = cstore_x_row(st, s, "choosing devices to prune", &row);
  if (!r && row) {
    to = sqlite3_column_int64(s, 0);
    any = sqlite3_column_int(s, 1) != 0;
  }
  cstore_x_done(s);
  if (r || !any) {
    *cursor = 0;
    return r;
  }
  const int64_t end = to > 0 ? to : INT64_MAX, raw[] = {from, end, raw_before},
                days[] = {from, end, rollup_before};
  r = prune_run(st, Q_PRUNE_LEVELS, raw, 3, &rep->levels);
  if (!r)
    r = prune_run(st, Q_PRUNE_READINGS, raw, 3, &rep->readings);
  if (!r)
    r = prune_run(st, Q_PRUNE_EVENTS, raw, 3, &rep->events);
  if (!r)
    r = prune_run(st, Q_PRUNE_DAYS, days, 3, &rep->level_days);
  rep->chunks++;
  *cursor = r ? *cursor : to;
  return r;
}

asr_result cstore_series_prune_other(cstore *st, int64_t raw_before, size_t rows,
                                     cstore_prune_report *rep, bool *more)
{
  const int64_t v[] = {raw_before, (int64_t)(rows ? rows : 1)};
  int64_t n = 0;
  asr_result r = prune_run(st, Q_PRUNE_METERS, v, 2, &n);

  rep->meter_reads += n;
  *more = n >= v[1];
  if (!r) {
    n = 0;
    r = prune_run(st, Q_PRUNE_BATCHES, v, 2, &n);
    rep->batches += n;
    *more = *more || n >= v[1];
  }
  if (!r) {
    n = 0;
    r = prune_run(st, Q_PRUNE_PROBLEMS, v, 2, &n);
    rep->problems += n;
    *more = *more || n >= v[1];
  }
  return r;
}
