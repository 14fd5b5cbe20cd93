/* store/meters.c: every SQL statement about billing meters (store/meters.h).
 *
 * Reading order: the pure check of a new read against the previous one, the save of a
 * poll's meters, the reads at one time (for batches) and the period summary (for the
 * `meters` command). */
#include "store/meters.h"

#include <sqlite3.h>
#include <string.h>

#include "common/date.h"
#include "common/util.h"
#include "store/sqlutil.h"

void asr_meter_check(int64_t prev_t, int64_t prev, int64_t t, int64_t value, char *flag,
                     size_t flag_n, char *note, size_t note_n)
{
  int64_t minutes = (t - prev_t) / 60, allowed;

  flag[0] = note[0] = '\0';
  if (prev_t <= 0 || prev_t >= t)
    return;
  if (value < prev) {
    /* a fall to under a tenth of the old count is a new counter (board swap, reset) */
    int reset = value < prev / 10;

    asr_strlcpy_cut(flag, reset ? "reset" : "backwards", flag_n);
    asr_fmt_cut(note, note_n,
                reset ? "fell from %lld to %lld: counter reset (controller board replaced?)"
                      : "went backwards from %lld to %lld",
                (long long)prev, (long long)value);
    return;
  }
  allowed = (minutes < 0 ? 0 : minutes) * ASR_METER_JUMP_PPM + ASR_METER_JUMP_SLACK;
  if (value - prev > allowed) {
    asr_strlcpy_cut(flag, "jump", flag_n);
    asr_fmt_cut(note, note_n, "rose by %lld in %lld min (from %lld to %lld): implausible",
                (long long)(value - prev), (long long)minutes, (long long)prev, (long long)value);
  }
}

/* The newest read of meter name of device id before t: *pt 0 when none. */
static asr_result previous(asr_store *st, int64_t id, const char *name, int64_t t, int64_t *pt,
                           int64_t *pv)
{
  static const char sql[] = "SELECT t, value FROM meter_reads WHERE device_id = ?1 AND name = ?2"
                            " AND t < ?3 ORDER BY t DESC LIMIT 1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  *pt = *pv = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  asr_sql_bind_text(s, 2, name);
  sqlite3_bind_int64(s, 3, t);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *pt = sqlite3_column_int64(s, 0);
    *pv = sqlite3_column_int64(s, 1);
  } else if (rc != SQLITE_DONE) {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading a meter");
  }
  sqlite3_finalize(s);
  return r;
}

static asr_result save_one(asr_store *st, int64_t id, const asr_meter *m, int64_t t)
{
  static const char sql[] = "INSERT OR REPLACE INTO meter_reads (device_id, t, name, unit,"
                            " source, value, flag, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
  char flag[16], note[160];
  int64_t pt, pv;
  sqlite3_stmt *s = NULL;
  asr_result r = previous(st, id, m->name, t, &pt, &pv);

  if (!r)
    r = asr_sql_prep(asr_store_sql(st), sql, &s);
  if (r)
    return r;
  asr_meter_check(pt, pv, t, m->value, flag, sizeof(flag), note, sizeof(note));
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, t);
  asr_sql_bind_text(s, 3, m->name);
  asr_sql_bind_text(s, 4, m->unit);
  asr_sql_bind_text(s, 5, m->source);
  sqlite3_bind_int64(s, 6, m->value);
  asr_sql_bind_text(s, 7, flag);
  asr_sql_bind_text(s, 8, note);
  return asr_sql_finish(asr_store_sql(st), s, "saving a meter");
}

asr_result asr_meters_save(asr_store *st, int64_t id, const asr_device *dev, int64_t t)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; i < dev->n_meters && i < ASR_METERS_MAX && !r; i++)
    r = save_one(st, id, &dev->meters[i], t);
  return r;
}

static void read_row(sqlite3_stmt *s, int c, asr_meter_read *m)
{
  memset(m, 0, sizeof(*m));
  m->t = sqlite3_column_int64(s, c);
  asr_sql_col_copy(s, c + 1, m->name, sizeof(m->name));
  asr_sql_col_copy(s, c + 2, m->unit, sizeof(m->unit));
  asr_sql_col_copy(s, c + 3, m->source, sizeof(m->source));
  m->value = sqlite3_column_int64(s, c + 4);
  asr_sql_col_copy(s, c + 5, m->flag, sizeof(m->flag));
  asr_sql_col_copy(s, c + 6, m->note, sizeof(m->note));
}

#define READ_COLS "t, name, unit, source, value, flag, note"

asr_result asr_meters_at(asr_store *st, int64_t id, int64_t t, asr_meters_cb cb, void *ctx)
{
  static const char sql[] = "SELECT " READ_COLS " FROM meter_reads WHERE device_id = ?1"
                            " AND t = ?2 ORDER BY name";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  asr_meter_read m;
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, t);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    read_row(s, 0, &m);
    if (cb(&m, ctx))
      break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "reading meters");
  sqlite3_finalize(s);
  return r;
}

void asr_meter_usage_add(asr_meter_usage *u, int64_t value, const char *flag)
{
  int64_t base;

  if (!u->started) {
    u->started = true;
    u->last = u->high = value;
    return;
  }
  if (strcmp(flag, "reset") == 0 || strcmp(flag, "jump") == 0) {
    u->last = u->high = value; /* a new counter, or a rise not to bill: count on from here */
    return;
  }
  /* after a fall that is no reset, bill only above the highest read before it */
  base = u->high > u->last ? u->high : u->last;
  if (value > base) { /* unsigned: a tampered store's negative reads cannot overflow it */
    uint64_t rise = (uint64_t)value - (uint64_t)base;

    u->usage = rise > (uint64_t)(INT64_MAX - u->usage) ? INT64_MAX : u->usage + (int64_t)rise;
  }
  u->last = value;
  if (value > u->high)
    u->high = value;
}

/* One flagged read's part of the explanation, counted in its kind. */
static void explain_flag(asr_meter_period *p, const asr_meter_read *m, int64_t prev, int64_t high,
                         size_t *len)
{
  char iso[32];
  int *n = strcmp(m->flag, "reset") == 0       ? &p->resets
           : strcmp(m->flag, "backwards") == 0 ? &p->backwards
                                               : &p->jumps;

  p->flags++;
  if ((*n)++ > 0)
    return; /* the first of each kind is described */
  asr_time_iso(m->t, iso, sizeof(iso));
  if (n == &p->resets)
    asr_append(p->explain, sizeof(p->explain), len,
               "%scounter reset at %s (from %lld to %lld): the rises before and after it are"
               " counted, the change across it is not",
               *len ? "; " : "", iso, (long long)prev, (long long)m->value);
  else if (n == &p->backwards)
    asr_append(p->explain, sizeof(p->explain), len,
               "%swent backwards at %s (from %lld to %lld): counted again only above %lld",
               *len ? "; " : "", iso, (long long)prev, (long long)m->value, (long long)high);
  else
    asr_append(p->explain, sizeof(p->explain), len,
               "%simplausible jump at %s (from %lld to %lld): not counted", *len ? "; " : "", iso,
               (long long)prev, (long long)m->value);
}

/* Walks the period's reads of p's meter: end read, usage, flags and their explanation. */
static asr_result period_walk(asr_store *st, asr_meter_period *p, int64_t from, int64_t until)
{
  static const char sql[] = "SELECT " READ_COLS " FROM meter_reads WHERE device_id = ?1"
                            " AND name = ?2 AND t >= ?3 AND t < ?4 ORDER BY t";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  asr_meter_usage u = {false, 0, 0, 0};
  asr_meter_read m;
  size_t len = 0;
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, p->device_id);
  asr_sql_bind_text(s, 2, p->start.name);
  sqlite3_bind_int64(s, 3, from);
  sqlite3_bind_int64(s, 4, until);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    read_row(s, 0, &m);
    if (p->reads++ > 0 && m.flag[0]) { /* the first read's flag looks before the period */
      explain_flag(p, &m, p->end.value, u.high > u.last ? u.high : u.last, &len);
      memcpy(p->last_flag, m.flag, sizeof(p->last_flag));
      memcpy(p->last_note, m.note, sizeof(p->last_note));
    }
    asr_meter_usage_add(&u, m.value, p->reads > 1 ? m.flag : "");
    p->end = m;
  }
  if (rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "reading meters");
  p->usage = u.usage;
  if (p->resets > 1 || p->backwards > 1 || p->jumps > 1)
    asr_append(p->explain, sizeof(p->explain), &len, " (%d resets, %d backwards, %d jumps)",
               p->resets, p->backwards, p->jumps);
  sqlite3_finalize(s);
  return r;
}

asr_result asr_meters_period(asr_store *st, int64_t from, int64_t until, asr_meter_period_cb cb,
                             void *ctx)
{
  /* the first read of each (device, meter) in the period */
  static const char sql[] =
      "SELECT m.device_id, d.key, d.model, " READ_COLS " FROM meter_reads m"
      " JOIN devices d ON d.id = m.device_id WHERE m.t = (SELECT min(t) FROM meter_reads x"
      " WHERE x.device_id = m.device_id AND x.name = m.name AND x.t >= ?1 AND x.t < ?2)"
      " ORDER BY d.key, m.name";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  asr_meter_period p;
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, until);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    memset(&p, 0, sizeof(p));
    p.device_id = sqlite3_column_int64(s, 0);
    asr_sql_col_copy(s, 1, p.device, sizeof(p.device));
    asr_sql_col_copy(s, 2, p.model, sizeof(p.model));
    read_row(s, 3, &p.start);
    r = period_walk(st, &p, from, until);
    if (r || cb(&p, ctx))
      break;
  }
  if (!r && rc != SQLITE_ROW && rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "reading meters");
  sqlite3_finalize(s);
  return r;
}
