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
  B_DAYS_UPSERT,
  B_SERIES_GET,
  B_DAYS_GET,
  B_SERIES_SET,
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
                   " WHERE device_id = ?1 AND idx = ?2 AND t >= CAST(?3 AS BIGINT) * 86400"
                   " AND t < (CAST(?4 AS BIGINT) + 1) * 86400 GROUP BY t / 86400 ORDER BY 1",
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
    /* PostgreSQL only: the bulk forms for all the supplies of a batch (array parameters,
     * cdb.h): the days' upsert returns the days that changed */
    [B_DAYS_UPSERT] = "INSERT INTO level_days (device_id, idx, day, t, level, max, percent)"
                      " SELECT * FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[],"
                      " ?4::bigint[], ?5::bigint[], ?6::bigint[], ?7::bigint[])"
                      " ON CONFLICT (device_id, idx, day) DO UPDATE SET t = excluded.t,"
                      " level = excluded.level, max = excluded.max, percent = excluded.percent"
                      " WHERE excluded.t > level_days.t RETURNING device_id, idx, day",
    [B_SERIES_GET] = "SELECT s.device_id, s.idx, s.days FROM supply_series s"
                     " JOIN unnest(?1::bigint[], ?2::bigint[]) AS u (d, i)"
                     " ON s.device_id = u.d AND s.idx = u.i",
    [B_DAYS_GET] = "SELECT l.device_id, l.idx, l.day, l.level, l.percent FROM level_days l"
                   " JOIN unnest(?1::bigint[], ?2::bigint[]) AS u (d, i)"
                   " ON l.device_id = u.d AND l.idx = u.i WHERE l.day >= ?3"
                   " ORDER BY l.device_id, l.idx, l.day",
    [B_SERIES_SET] = "INSERT INTO supply_series (device_id, idx, days) SELECT * FROM"
                     " unnest(?1::bigint[], ?2::bigint[], ?3::bytea[])"
                     " ON CONFLICT (device_id, idx) DO UPDATE SET days = excluded.days",
};

/* PostgreSQL's texts of the statements it cannot take as written (NULL: as written):
 * bare columns beside max() are SQLite's (DISTINCT ON there), and CROSS JOIN with ON (a
 * join order for SQLite's planner) is a plain JOIN there. */
static const char *const q_sql_pg[Q_COUNT] = {
    [Q_DAYS_RAW] = "SELECT DISTINCT ON (t / 86400) t / 86400, level, max, percent, t FROM levels"
                   " WHERE device_id = ?1 AND idx = ?2 AND t >= CAST(?3 AS BIGINT) * 86400"
                   " AND t < (CAST(?4 AS BIGINT) + 1) * 86400 ORDER BY t / 86400, t DESC",
    [Q_PRUNE_BATCHES] = "DELETE FROM batches WHERE id IN (SELECT b.id FROM agents a"
                        " JOIN batches b ON b.agent_id = a.id AND b.received_at < ?1 LIMIT ?2)",
    [Q_PRUNE_PROBLEMS] = "DELETE FROM problems WHERE id IN (SELECT p.id FROM sites s"
                         " JOIN problems p ON p.site_id = s.id AND p.received_at < ?1 LIMIT ?2)",
};

_Static_assert(CSTORE_SLOTS_SERIES + Q_COUNT <= CSTORE_SLOTS_CONF,
               "give this file more statement slots (cstore_int.h)");

static asr_result q_get(cstore *st, q_id id, cdb_stmt **out)
{
  const char *sql = cdb_backend(st->db) == CDB_PG && q_sql_pg[id] ? q_sql_pg[id] : q_sql[id];

  return cdb_prepare(st->db, CSTORE_SLOTS_SERIES + (size_t)id, sql, out);
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

void cstore_bind_level(cdb_stmt *s, int i, const cstore_level *lv)
{
  if (lv->has_level)
    cdb_bind_i64(s, i, lv->level);
  else
    cdb_bind_null(s, i);
  if (lv->has_max)
    cdb_bind_i64(s, i + 1, lv->max);
  else
    cdb_bind_null(s, i + 1);
  if (lv->has_percent)
    cdb_bind_i64(s, i + 2, lv->percent);
  else
    cdb_bind_null(s, i + 2);
}

/* Upserts the day of item it into level_days; *changed when it became the day's newest. */
static asr_result day_upsert(cstore *st, const cstore_series_item *it, bool *changed)
{
  cdb_stmt *s = NULL;
  asr_result r = q_get(st, Q_DAY_UPSERT, &s);

  *changed = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, it->dev);
  cdb_bind_i64(s, 2, it->lv->index);
  cdb_bind_i64(s, 3, day_of(it->t));
  cdb_bind_i64(s, 4, it->t);
  cstore_bind_level(s, 5, it->lv);
  r = cdb_run(s, "storing a day's level");
  *changed = !r && cdb_changes(s) > 0;
  return r;
}

/* The stored series of a supply into s (initialised by the caller); *decoded when there is
 * one and it decodes (s is then its days). */
static asr_result series_read(cstore *st, int64_t dev, int32_t idx, cseries *s, bool *decoded)
{
  cdb_stmt *q = NULL;
  bool row = false;
  asr_result r = q_get(st, Q_SERIES_GET, &q);

  *decoded = false;
  if (r)
    return r;
  cdb_bind_i64(q, 1, dev);
  cdb_bind_i64(q, 2, idx);
  r = cdb_step(q, "reading a supply's series", &row);
  if (!r && row && !cdb_col_null(q, 0)) {
    size_t n = 0;
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
  cdb_stmt *d = NULL;
  r = q_get(st, Q_DAYS, &d);
  if (r)
    return r;
  cdb_bind_i64(d, 1, dev);
  cdb_bind_i64(d, 2, idx);
  cdb_bind_i64(d, 3, from);
  cdb_bind_i64(d, 4, INT64_MAX);
  for (row = true; !r && row;) {
    r = cdb_step(d, "reading a supply's days", &row);
    if (!r && row) {
      cstore_rp_level l = {.day = cdb_col_i64(d, 0),
                           .has_level = !cdb_col_null(d, 1),
                           .level = cdb_col_i64(d, 1),
                           .has_percent = !cdb_col_null(d, 3),
                           .percent = (int)cdb_col_i64(d, 3)};
      r = cseries_put(s, &l);
    }
  }
  cdb_reset(d);
  return r;
}

/* Stores series s of a supply; NULL stores "not built" (the roll-up is read instead). */
static asr_result series_store(cstore *st, int64_t dev, int32_t idx, const cseries *s)
{
  unsigned char *blob = NULL;
  size_t len = 0;
  cdb_stmt *q = NULL;
  asr_result r = s ? cseries_encode(s, &blob, &len) : ASR_OK;

  if (!r)
    r = q_get(st, Q_SERIES_SET, &q);
  if (!r) {
    cdb_bind_i64(q, 1, dev);
    cdb_bind_i64(q, 2, idx);
    if (blob)
      cdb_bind_blob(q, 3, blob, len);
    else
      cdb_bind_null(q, 3);
    r = cdb_run(q, "storing a supply's series");
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

/* ---- The roll-up of a batch on PostgreSQL: the same, in four statements ------------- *
 * One upsert of every supply's days (returning those that changed), one read of the
 * series of the supplies to update, one read of level_days for those without a readable
 * series, one write of the series: per supply and day a round trip and the server's
 * per-statement work otherwise (~4 statements of ~30 us per supply and batch). */

/* A supply of the batch whose series changes: its days are heads[first..end). */
typedef struct {
  int64_t dev;
  int32_t idx;
  size_t first, end;
  cseries s;
  bool decoded, overflow;
} bulk_supply;

static int bulk_supply_cmp(const void *pa, const void *pb)
{
  const bulk_supply *a = pa, *b = pb;

  if (a->dev != b->dev)
    return a->dev < b->dev ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bulk_supply *bulk_find(bulk_supply *sup, size_t n, int64_t dev, int64_t idx)
{
  bulk_supply key = {.dev = dev, .idx = (int32_t)idx};

  if (idx < INT32_MIN || idx > INT32_MAX)
    return NULL;
  return bsearch(&key, sup, n, sizeof(*sup), bulk_supply_cmp);
}

/* The day heads (each (device, supply, day)'s newest item, items sorted) into the roll-up;
 * changed[i] tells whether head i (of heads[0..nh)) became its day's newest. */
static asr_result bulk_days(cstore *st, const cstore_series_item *items, const size_t *heads,
                            size_t nh, bool *changed)
{
  cdb_arr a[7];
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = q_get(st, B_DAYS_UPSERT, &s);

  memset(a, 0, sizeof(a));
  for (size_t k = 0; !r && k < nh; k++) {
    const cstore_series_item *it = &items[heads[k]];
    cdb_arr_i64(&a[0], it->dev);
    cdb_arr_i64(&a[1], it->lv->index);
    cdb_arr_i64(&a[2], day_of(it->t));
    cdb_arr_i64(&a[3], it->t);
    cdb_arr_opt_i64(&a[4], it->lv->has_level, it->lv->level);
    cdb_arr_opt_i64(&a[5], it->lv->has_max, it->lv->max);
    cdb_arr_opt_i64(&a[6], it->lv->has_percent, it->lv->percent);
  }
  if (!r)
    r = cdb_bind_arrs(s, 1, a, 7);
  while (!r && row) {
    r = cdb_step(s, "storing the days' levels", &row);
    if (r || !row)
      break;
    const int64_t dev = cdb_col_i64(s, 0), idx = cdb_col_i64(s, 1), day = cdb_col_i64(s, 2);
    size_t lo = 0, hi = nh; /* the heads are sorted by device, supply, day */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      const cstore_series_item *it = &items[heads[mid]];
      int c = it->dev != dev         ? (it->dev < dev ? -1 : 1)
              : it->lv->index != idx ? (it->lv->index < idx ? -1 : 1)
              : day_of(it->t) != day ? (day_of(it->t) < day ? -1 : 1)
                                     : 0;
      if (!c) {
        changed[mid] = true;
        break;
      }
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  }
  if (s)
    cdb_reset(s);
  for (int i = 0; i < 7; i++)
    cdb_arr_free(&a[i]);
  return r;
}

/* Binds the supplies' devices and indexes to ?1 and ?2 of s (only those not decoded when
 * undecoded_only); *any whether there was one. */
static asr_result bulk_bind_supplies(cdb_stmt *s, const bulk_supply *sup, size_t n,
                                     bool undecoded_only, cdb_arr *a, bool *any)
{
  *any = false;
  for (size_t k = 0; k < n; k++) {
    if (undecoded_only && (sup[k].decoded || sup[k].overflow))
      continue;
    cdb_arr_i64(&a[0], sup[k].dev);
    cdb_arr_i64(&a[1], sup[k].idx);
    *any = true;
  }
  return cdb_bind_arrs(s, 1, a, 2);
}

/* The stored series of the supplies; those without a readable one are built from
 * level_days (days from `from` on). */
static asr_result bulk_series_load(cstore *st, bulk_supply *sup, size_t n, int64_t from)
{
  cdb_arr a[2];
  cdb_stmt *s = NULL;
  bool row = true, any = false;
  asr_result r = q_get(st, B_SERIES_GET, &s);

  memset(a, 0, sizeof(a));
  if (!r)
    r = bulk_bind_supplies(s, sup, n, false, a, &any);
  while (!r && row) {
    r = cdb_step(s, "reading the supplies' series", &row);
    if (r || !row || cdb_col_null(s, 2))
      continue;
    bulk_supply *p = bulk_find(sup, n, cdb_col_i64(s, 0), cdb_col_i64(s, 1));
    size_t len = 0;
    const void *blob = cdb_col_blob(s, 2, &len);
    if (!p || p->decoded || !blob)
      continue;
    cseries_free(&p->s);
    p->decoded = cseries_decode(blob, len, &p->s) == ASR_OK;
    if (!p->decoded) {
      cseries_free(&p->s);
      cseries_init(&p->s, from);
    }
  }
  if (s)
    cdb_reset(s);
  for (int i = 0; i < 2; i++)
    cdb_arr_reset(&a[i]);
  if (!r)
    r = q_get(st, B_DAYS_GET, &s);
  if (!r)
    r = bulk_bind_supplies(s, sup, n, true, a, &any);
  if (!r && !any) {
    cdb_reset(s);
    goto out;
  }
  if (!r)
    cdb_bind_i64(s, 3, from);
  for (row = true; !r && row;) {
    r = cdb_step(s, "reading the supplies' days", &row);
    if (r || !row)
      break;
    bulk_supply *p = bulk_find(sup, n, cdb_col_i64(s, 0), cdb_col_i64(s, 1));
    if (!p || p->decoded || p->overflow)
      continue;
    cstore_rp_level l = {.day = cdb_col_i64(s, 2),
                         .has_level = !cdb_col_null(s, 3),
                         .level = cdb_col_i64(s, 3),
                         .has_percent = !cdb_col_null(s, 4),
                         .percent = (int)cdb_col_i64(s, 4)};
    asr_result put = cseries_put(&p->s, &l);
    p->overflow = put == ASR_ERR_LIMIT;
    r = p->overflow ? ASR_OK : put;
  }
  if (s)
    cdb_reset(s);
out:
  for (int i = 0; i < 2; i++)
    cdb_arr_free(&a[i]);
  return r;
}

/* The batch's changed days into each supply's series, then the series stored. */
static asr_result bulk_series_store(cstore *st, const cstore_series_item *items,
                                    const size_t *heads, const bool *changed, bulk_supply *sup,
                                    size_t n, int64_t from)
{
  cdb_arr a[3];
  cdb_stmt *s = NULL;
  asr_result r = q_get(st, B_SERIES_SET, &s);

  memset(a, 0, sizeof(a));
  for (size_t k = 0; !r && k < n; k++) {
    bulk_supply *p = &sup[k];
    unsigned char *blob = NULL;
    size_t len = 0;
    for (size_t h = p->first; !r && !p->overflow && h < p->end; h++) {
      if (!changed[h] || day_of(items[heads[h]].t) < from)
        continue;
      cstore_rp_level l = day_level(&items[heads[h]]);
      r = cseries_put(&p->s, &l);
      p->overflow = r == ASR_ERR_LIMIT;
      r = p->overflow ? ASR_OK : r;
    }
    if (!r && !p->overflow) {
      cseries_trim(&p->s, from);
      r = cseries_encode(&p->s, &blob, &len);
    }
    cdb_arr_i64(&a[0], p->dev);
    cdb_arr_i64(&a[1], p->idx);
    cdb_arr_bytea(&a[2], blob, len); /* NULL when it overflowed: "not built" */
    free(blob);
  }
  if (!r)
    r = cdb_bind_arrs(s, 1, a, 3);
  if (!r)
    r = cdb_run(s, "storing the supplies' series");
  else if (s)
    cdb_reset(s);
  for (int i = 0; i < 3; i++)
    cdb_arr_free(&a[i]);
  return r;
}

/* items[0..n) sorted: the roll-up and the series of their supplies (cstore_series_rollup). */
static asr_result rollup_bulk(cstore *st, const cstore_series_item *items, size_t n, int64_t from)
{
  size_t *heads = malloc(n * sizeof(*heads)), nh = 0, ns = 0;
  bool *changed = calloc(n, sizeof(*changed));
  bulk_supply *sup = calloc(n, sizeof(*sup));
  asr_result r = heads && changed && sup ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < n; i++)
    if (i == 0 || !same_supply(&items[i], &items[i - 1]) ||
        day_of(items[i].t) != day_of(items[i - 1].t))
      heads[nh++] = i;
  if (!r)
    r = bulk_days(st, items, heads, nh, changed);
  for (size_t h = 0; !r && h < nh;) { /* the supplies with a changed day in the window */
    size_t e = h + 1;
    bool want = changed[h] && day_of(items[heads[h]].t) >= from;
    while (e < nh && same_supply(&items[heads[e]], &items[heads[h]])) {
      want = want || (changed[e] && day_of(items[heads[e]].t) >= from);
      e++;
    }
    if (want) {
      sup[ns] = (bulk_supply){
          .dev = items[heads[h]].dev, .idx = items[heads[h]].lv->index, .first = h, .end = e};
      cseries_init(&sup[ns++].s, from);
    }
    h = e;
  }
  if (!r && ns)
    r = bulk_series_load(st, sup, ns, from);
  if (!r && ns)
    r = bulk_series_store(st, items, heads, changed, sup, ns, from);
  for (size_t k = 0; sup && k < ns; k++)
    cseries_free(&sup[k].s);
  free(heads);
  free(changed);
  free(sup);
  return r;
}

asr_result cstore_series_rollup(cstore *st, cstore_series_item *items, size_t n, int64_t now)
{
  int64_t from = day_of(now > 0 ? now : 0) - CSERIES_KEEP_DAYS;
  asr_result r = ASR_OK;
  size_t i = 0;

  qsort(items, n, sizeof(*items), item_cmp);
  /* PostgreSQL: whole supplies in chunks of about CDB_ARR_ROWS items, whose series are held
   * together (32 days each at least: a maximal batch's 50,000 supplies at once were 64 MiB
   * a batch, with the arrays and results that grow with them) */
  while (cdb_backend(st->db) == CDB_PG && !r && i < n) {
    size_t j = i + 1;
    while (j < n && (j - i < CDB_ARR_ROWS || same_supply(&items[j - 1], &items[j])))
      j++;
    r = rollup_bulk(st, items + i, j - i, from);
    i = j;
  }
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

/* The days from..to of a supply (columns day, level, max, percent) to cb until it returns
 * non-zero. The days are bounded so that the raw query's day * 86400 stays an integer
 * (PostgreSQL refuses an overflow where SQLite made it a REAL). */
static asr_result days_query(cstore *st, q_id id, int64_t dev, int32_t idx, int64_t from,
                             int64_t to, cstore_rp_level_cb cb, void *ctx)
{
  const int64_t last = INT64_MAX / 86400 - 1;
  cdb_stmt *s = NULL;
  asr_result r = q_get(st, id, &s);

  if (r)
    return r;
  return cstore_rp_levels_walk(st, s, dev, idx,
                               from < 0      ? 0
                               : from > last ? last
                                             : from,
                               to < 0      ? -1
                               : to > last ? last
                                           : to,
                               cb, ctx);
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
  cdb_stmt *s = NULL;
  asr_result r = q_get(st, id, &s);

  for (size_t i = 0; !r && i < n; i++)
    cdb_bind_i64(s, (int)i + 1, v[i]);
  if (!r)
    r = cdb_run(s, "pruning old readings");
  if (!r)
    *count += cdb_changes(s);
  return r;
}

asr_result cstore_series_prune(cstore *st, int64_t raw_before, int64_t rollup_before,
                               size_t devices, int64_t *cursor, cstore_prune_report *rep)
{
  cdb_stmt *s = NULL;
  int64_t from = *cursor > 0 ? *cursor : 1, to = 0;
  bool row = false, any = false;
  asr_result r = q_get(st, Q_PRUNE_NEXT, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, from);
  cdb_bind_i64(s, 2, (int64_t)(devices ? devices : 1));
  r = cdb_step(s, "choosing devices to prune", &row);
  if (!r && row) {
    to = cdb_col_i64(s, 0);
    any = (int)cdb_col_i64(s, 1) != 0;
  }
  cdb_reset(s);
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
