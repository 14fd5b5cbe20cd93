/* store/events.c: every SQL statement about device states and events (store/events.h).
 *
 * Reading order: helpers, states, events, the levels of the last two readings (what
 * agent/health.c compares to see a cartridge replaced), counts for status --check, and
 * the uplink's walk and mark (run inside a batch's transaction, like the readings').
 *
 * Statements are prepared per call: health runs a handful per polled device, far fewer
 * than the save itself. Errors go through asr_sql_fail() (store/sqlutil.h): one message,
 * logged once. */
#include "store/events.h"

#include <sqlite3.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "common/util.h"
#include "store/sqlutil.h"

/* state_since 0 (never changed since the migration or the insert) reads as first_seen */
#define SINCE_SQL "CASE WHEN state_since > 0 THEN state_since ELSE first_seen END"

/* ---- helpers ---- */

/* One integer from a one-row query with one integer parameter. */
static asr_result query_i64(asr_store *st, const char *sql, int64_t p1, int64_t *out, bool *row)
{
  return asr_sql_query_i64(asr_store_sql(st), sql, p1, "reading events", out, row);
}

/* ---- states ---- */

asr_result asr_events_get_state(asr_store *st, int64_t id, char *state, size_t n, int64_t *since)
{
  static const char sql[] = "SELECT state, " SINCE_SQL " FROM devices WHERE id = ?1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  if (n)
    state[0] = '\0';
  *since = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    asr_sql_col_copy(s, 0, state, n);
    *since = sqlite3_column_int64(s, 1);
  } else if (rc == SQLITE_DONE) {
    r = ASR_ERR_NOT_FOUND;
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading a device state");
  }
  sqlite3_finalize(s);
  return r;
}

static asr_result update_state(asr_store *st, int64_t id, const char *state, int64_t t)
{
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st),
                              "UPDATE devices SET state = ?2, state_since = ?3 WHERE id = ?1", &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, t);
  r = asr_sql_finish(asr_store_sql(st), s, "changing a device state");
  if (!r && sqlite3_changes(asr_store_sqlite(st)) == 0)
    r = ASR_ERR_NOT_FOUND;
  return r;
}

asr_result asr_events_set_state(asr_store *st, int64_t id, const char *state, int64_t t,
                                const char *kind, const char *detail)
{
  bool own = sqlite3_get_autocommit(asr_store_sqlite(st)) != 0;
  asr_result r =
      own ? asr_sql_exec(asr_store_sql(st), "BEGIN IMMEDIATE", "starting a state change") : ASR_OK;

  if (r)
    return r;
  r = update_state(st, id, state, t);
  if (!r && kind)
    r = asr_events_add(st, id, t, kind, detail);
  if (own && !r)
    r = asr_sql_exec(asr_store_sql(st), "COMMIT", "committing a state change");
  if (own && r)
    asr_sql_rollback(asr_store_sql(st));
  return r;
}

/* ---- events ---- */

asr_result asr_events_add(asr_store *st, int64_t id, int64_t t, const char *kind,
                          const char *detail)
{
  /* The same event twice (a discovery and a poll in one second compare the same pair of
   * readings) is recorded once. */
  static const char sql[] = "INSERT INTO events (device_id, t, kind, detail)"
                            " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM events"
                            " WHERE device_id = ?1 AND t = ?2 AND kind = ?3 AND detail = ?4)";
  char line[ASR_EVENTS_DETAIL_MAX];
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (!kind || !kind[0] || strlen(kind) >= ASR_EVENTS_KIND_MAX)
    return ASR_ERR_INVALID;
  asr_text_clean(line, sizeof(line), detail, ASR_TEXT_SPACE); /* one line, cut to fit */
  r = asr_sql_prep(asr_store_sql(st), sql, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, t);
  sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, line, -1, SQLITE_STATIC);
  r = asr_sql_finish(asr_store_sql(st), s, "recording an event");
  if (!r && sqlite3_changes(asr_store_sql(st)->db) > 0)
    asr_log(ASR_LOG_INFO, "device %lld: %s: %s", (long long)id, kind, line);
  return r;
}

/* Steps an events SELECT (id, device_id, t, kind, detail) calling cb for each row. */
static asr_result step_events(asr_store *st, sqlite3_stmt *s, asr_events_cb cb, void *ctx,
                              int64_t *last_id, size_t *count)
{
  asr_event e;
  int rc;

  for (;;) {
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      break;
    memset(&e, 0, sizeof(e));
    e.id = sqlite3_column_int64(s, 0);
    e.device_id = sqlite3_column_int64(s, 1);
    e.t = sqlite3_column_int64(s, 2);
    asr_sql_col_copy(s, 3, e.kind, sizeof(e.kind));
    asr_sql_col_copy(s, 4, e.detail, sizeof(e.detail));
    if (last_id)
      *last_id = e.id;
    if (count)
      (*count)++;
    if (cb(&e, ctx))
      return ASR_ERR_LIMIT;
  }
  return rc == SQLITE_DONE ? ASR_OK : asr_sql_fail(asr_store_sql(st), rc, "reading events");
}

asr_result asr_events_foreach(asr_store *st, int64_t id, int64_t since, asr_events_cb cb, void *ctx)
{
  static const char sql[] = "SELECT id, device_id, t, kind, detail FROM events"
                            " WHERE (?1 = 0 OR device_id = ?1) AND t >= ?2 ORDER BY t, id";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, since);
  r = step_events(st, s, cb, ctx, NULL, NULL);
  sqlite3_finalize(s);
  return r == ASR_ERR_LIMIT ? ASR_OK : r;
}

/* ---- the last two readings ---- */

asr_result asr_events_last_levels(asr_store *st, int64_t id, asr_store_level *cur, size_t *n_cur,
                                  int64_t *t_cur, asr_store_level *prev, size_t *n_prev,
                                  int64_t *t_prev)
{
  static const char sql[] = "SELECT t, levels FROM readings WHERE device_id = ?1"
                            " ORDER BY t DESC LIMIT 2";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc, row = 0;

  *n_cur = *n_prev = 0;
  *t_cur = *t_prev = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  for (;;) {
    const uint8_t *blob;
    size_t len;

    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      break;
    blob = sqlite3_column_blob(s, 1);
    len = (size_t)sqlite3_column_bytes(s, 1);
    if (row == 0) {
      *t_cur = sqlite3_column_int64(s, 0);
      *n_cur = asr_store_levels_decode(blob, len, cur, ASR_SUPPLIES_MAX);
    } else {
      *t_prev = sqlite3_column_int64(s, 0);
      *n_prev = asr_store_levels_decode(blob, len, prev, ASR_SUPPLIES_MAX);
    }
    row++;
  }
  if (rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the last readings");
  sqlite3_finalize(s);
  return r;
}

asr_result asr_events_last_failure_code(asr_store *st, int64_t id, asr_result *code)
{
  int64_t v = 0;
  asr_result r = query_i64(st,
                           "SELECT code FROM poll_failures WHERE device_id = ?1"
                           " ORDER BY t DESC, id DESC LIMIT 1",
                           id, &v, NULL);

  *code = v > 0 && v < ASR_RESULT_COUNT ? (asr_result)v : ASR_OK;
  return r;
}

/* ---- counts for status --check ---- */

asr_result asr_events_count_states(asr_store *st, asr_events_counts *out)
{
  static const char sql[] = "SELECT count(*), total(state = 'active'), total(state = 'silent'),"
                            " total(state = 'disconnected') FROM devices";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    out->devices = sqlite3_column_int64(s, 0);
    out->active = (int64_t)sqlite3_column_double(s, 1);
    out->silent = (int64_t)sqlite3_column_double(s, 2);
    out->disconnected = (int64_t)sqlite3_column_double(s, 3);
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "counting device states");
  }
  sqlite3_finalize(s);
  return r;
}

asr_result asr_events_foreach_flagged(asr_store *st, asr_events_state_cb cb, void *ctx)
{
  static const char sql[] =
      "SELECT id, CASE WHEN serial <> '' THEN serial ELSE ip END, state, " SINCE_SQL
      " FROM devices WHERE state <> 'active'"
      " ORDER BY state = 'silent', " SINCE_SQL ", id";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  if (r)
    return r;
  for (;;) {
    const char *name, *state;

    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      break;
    name = (const char *)sqlite3_column_text(s, 1);
    state = (const char *)sqlite3_column_text(s, 2);
    if (cb(sqlite3_column_int64(s, 0), name ? name : "", state ? state : "",
           sqlite3_column_int64(s, 3), ctx))
      break;
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = asr_sql_fail(asr_store_sql(st), rc, "listing flagged devices");
  sqlite3_finalize(s);
  return r;
}

/* ---- uplink ---- */

asr_result asr_events_walk(asr_store *st, int64_t from_seq, size_t limit, asr_events_cb cb,
                           void *ctx, int64_t *last_id, size_t *count)
{
  static const char fresh[] = "SELECT e.id, e.device_id, e.t, e.kind, e.detail FROM event_queue q"
                              " JOIN events e ON e.id = q.event_id WHERE q.batch IS NULL"
                              " ORDER BY q.event_id LIMIT ?1";
  static const char carried[] =
      "SELECT e.id, e.device_id, e.t, e.kind, e.detail FROM event_queue q"
      " JOIN events e ON e.id = q.event_id WHERE q.batch > 0 AND q.batch = ?2"
      " ORDER BY q.event_id LIMIT ?1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), from_seq > 0 ? carried : fresh, &s);

  *last_id = 0;
  *count = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, (int64_t)(limit ? limit : ASR_EVENTS_BATCH_MAX));
  if (from_seq > 0)
    sqlite3_bind_int64(s, 2, from_seq);
  r = step_events(st, s, cb, ctx, last_id, count);
  sqlite3_finalize(s);
  return r;
}

asr_result asr_events_mark(asr_store *st, int64_t seq, int64_t from_seq, int64_t last_id,
                           size_t count)
{
  static const char fresh[] =
      "UPDATE event_queue SET batch = ?1 WHERE batch IS NULL AND event_id <= ?2";
  static const char carried[] =
      "UPDATE event_queue SET batch = ?1 WHERE batch > 0 AND batch = ?3 AND event_id <= ?2";
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (count == 0)
    return ASR_OK;
  r = asr_sql_prep(asr_store_sql(st), from_seq > 0 ? carried : fresh, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, seq);
  sqlite3_bind_int64(s, 2, last_id);
  if (from_seq > 0)
    sqlite3_bind_int64(s, 3, from_seq);
  r = asr_sql_finish(asr_store_sql(st), s, "marking batched events");
  if (!r && (size_t)sqlite3_changes(asr_store_sqlite(st)) != count) {
    asr_store_set_error(st, "the events of a batch changed while it was built");
    r = ASR_ERR_DB;
  }
  return r;
}

asr_result asr_events_has_new(asr_store *st, bool *out)
{
  int64_t v = 0;
  asr_result r =
      query_i64(st, "SELECT EXISTS (SELECT 1 FROM event_queue WHERE batch IS NULL)", 0, &v, NULL);

  *out = v != 0;
  return r;
}
