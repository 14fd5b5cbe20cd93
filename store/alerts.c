/* store/alerts.c: every SQL statement about tracked alerts (store/alerts.h). */
#include "store/alerts.h"

#include <sqlite3.h>
#include <string.h>

#include "common/text.h"
#include "common/util.h"
#include "snmp/alerts.h"
#include "store/events.h"
#include "store/sqlutil.h"

#define DETAIL_BYTES 240 /* an event detail the central takes (at most 255 bytes) */

/* An alert's tracked state. */
typedef struct {
  bool found, open, raised;
  int64_t first_seen;
} tracked;

static asr_result lookup(asr_store *st, int64_t id, const char *key, tracked *tr)
{
  static const char sql[] = "SELECT first_seen, cleared_at, raised FROM alerts"
                            " WHERE device_id = ?1 AND key = ?2";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  memset(tr, 0, sizeof(*tr));
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  asr_sql_bind_text(s, 2, key);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    tr->found = true;
    tr->first_seen = sqlite3_column_int64(s, 0);
    tr->open = sqlite3_column_int64(s, 1) == 0;
    tr->raised = sqlite3_column_int64(s, 2) != 0;
  } else if (rc != SQLITE_DONE) {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading an alert");
  }
  sqlite3_finalize(s);
  return r;
}

/* A new alert (or one back after it cleared): its row afresh, first seen at t. */
static asr_result insert_new(asr_store *st, int64_t id, const char *key, const asr_alert *a,
                             const char *descr, int64_t t)
{
  static const char sql[] =
      "INSERT OR REPLACE INTO alerts (device_id, key, idx, severity, training, grp,"
      " group_index, location, code, description, critical, first_seen, last_seen, cleared_at,"
      " raised) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, 0, 0)";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  asr_sql_bind_text(s, 2, key);
  sqlite3_bind_int(s, 3, a->index);
  sqlite3_bind_int(s, 4, a->severity);
  sqlite3_bind_int(s, 5, a->training);
  sqlite3_bind_int(s, 6, a->group);
  sqlite3_bind_int(s, 7, a->group_index);
  sqlite3_bind_int(s, 8, a->location);
  sqlite3_bind_int(s, 9, a->code);
  asr_sql_bind_text(s, 10, descr);
  sqlite3_bind_int(s, 11, asr_alert_critical(a) ? 1 : 0);
  sqlite3_bind_int64(s, 12, t);
  return asr_sql_finish(asr_store_sql(st), s, "saving an alert");
}

/* Seen again at t (its index may have moved); raised: its event is recorded now. */
static asr_result touch(asr_store *st, int64_t id, const char *key, int idx, int64_t t, bool raised)
{
  static const char sql[] = "UPDATE alerts SET idx = ?3, last_seen = ?4,"
                            " raised = max(raised, ?5) WHERE device_id = ?1 AND key = ?2";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  asr_sql_bind_text(s, 2, key);
  sqlite3_bind_int(s, 3, idx);
  sqlite3_bind_int64(s, 4, t);
  sqlite3_bind_int(s, 5, raised ? 1 : 0);
  return asr_sql_finish(asr_store_sql(st), s, "updating an alert");
}

/* One alert of the poll: new or persisting, and its event when it is due and the poll's
 * budget of events (*budget) allows. */
static asr_result track_one(asr_store *st, int64_t id, const asr_alert *a, int64_t t, int *budget)
{
  char key[32], kind[ASR_EVENTS_KIND_MAX], line[ASR_EVENTS_DETAIL_MAX], descr[ASR_ALERT_DESCR_MAX];
  tracked tr;
  bool due;
  asr_result r;

  asr_alert_key(a, key, sizeof(key));
  r = lookup(st, id, key, &tr);
  if (!r && (!tr.found || !tr.open)) {
    asr_text_clean(descr, DETAIL_BYTES - 16, a->description,
                   ASR_TEXT_SPACE); /* the cleared event quotes it */
    r = insert_new(st, id, key, a, descr, t);
    tr.first_seen = t;
    tr.raised = false;
  }
  if (r)
    return r;
  due = asr_alert_critical(a) && !tr.raised && t - tr.first_seen >= asr_alert_persist_seconds(a) &&
        *budget > 0;
  if (due) {
    (*budget)--;
    r = asr_fmt(kind, sizeof(kind), "alert:%s", key);
    asr_alert_summary(a, line, sizeof(line));
    asr_text_clean(descr, DETAIL_BYTES, line, ASR_TEXT_SPACE); /* one line, cut to fit */
    if (!r)
      r = asr_events_add(st, id, t, kind, descr);
  }
  if (!r)
    r = touch(st, id, key, a->index, t, due);
  return r;
}

/* Open alerts not seen at t are cleared; the raised ones say so in an event. Cleared
 * alerts older than ASR_ALERTS_KEEP_CLEARED are forgotten. */
static asr_result clear_gone(asr_store *st, int64_t id, int64_t t)
{
  static const char *const sql[] = {
      "INSERT INTO events (device_id, t, kind, detail) SELECT device_id, ?2,"
      " 'alert_cleared:' || key, 'cleared: ' || description FROM alerts"
      " WHERE device_id = ?1 AND cleared_at = 0 AND last_seen < ?2 AND raised = 1",
      ("UPDATE alerts SET cleared_at = ?2 WHERE device_id = ?1 AND cleared_at = 0"
       " AND last_seen < ?2"), /* parentheses: one element (clang -Wstring-concatenation) */
      "DELETE FROM alerts WHERE device_id = ?1 AND cleared_at > 0 AND cleared_at < ?3",
  };
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < sizeof(sql) / sizeof(sql[0]); i++) {
    sqlite3_stmt *s = NULL;
    r = asr_sql_prep(asr_store_sql(st), sql[i], &s);
    if (r)
      break;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, t);
    if (i == 2)
      sqlite3_bind_int64(s, 3, t - ASR_ALERTS_KEEP_CLEARED);
    r = asr_sql_finish(asr_store_sql(st), s, "clearing alerts");
  }
  return r;
}

/* Past ASR_ALERTS_KEEP_MAX alerts of a printer, the cleared ones cleared longest ago are
 * forgotten (a printer that invents a new alert at every poll cannot fill the store). */
static asr_result keep_bounded(asr_store *st, int64_t id)
{
  static const char sql[] =
      "DELETE FROM alerts WHERE device_id = ?1 AND cleared_at > 0 AND key IN (SELECT key FROM"
      " alerts WHERE device_id = ?1 AND cleared_at > 0 ORDER BY cleared_at DESC, key"
      " LIMIT -1 OFFSET max(0, ?2 - (SELECT count(*) FROM alerts WHERE device_id = ?1"
      " AND cleared_at = 0)))";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int(s, 2, ASR_ALERTS_KEEP_MAX);
  return asr_sql_finish(asr_store_sql(st), s, "forgetting old alerts");
}

asr_result asr_alerts_track(asr_store *st, int64_t id, const asr_device *dev, int64_t t)
{
  size_t n = dev->n_alerts < ASR_ALERTS_MAX ? dev->n_alerts : ASR_ALERTS_MAX;
  int budget = ASR_ALERT_EVENTS_PER_POLL;
  asr_result r = ASR_OK;

  if (!dev->has_alert_table)
    return ASR_OK;
  for (size_t i = 0; !r && i < n; i++)
    r = track_one(st, id, &dev->alerts[i], t, &budget);
  if (!r && dev->alerts_total <= n)
    r = clear_gone(st, id, t);
  if (!r)
    r = keep_bounded(st, id);
  return r;
}

asr_result asr_alerts_events_waiting(asr_store *st, int64_t after_id, int64_t *n, int64_t *max_id)
{
  static const char sql[] =
      "SELECT count(*), coalesce(max(e.id), ?1) FROM events e JOIN event_queue q"
      " ON q.event_id = e.id WHERE q.batch IS NULL AND e.id > ?1"
      " AND (substr(e.kind, 1, 6) = 'alert:' OR substr(e.kind, 1, 14) = 'alert_cleared:')";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  *n = 0;
  *max_id = after_id;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, after_id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *n = sqlite3_column_int64(s, 0);
    *max_id = sqlite3_column_int64(s, 1);
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading alert events");
  }
  sqlite3_finalize(s);
  return r;
}
