/* store/outbox.c: every SQL statement of the uplink (enrolment, outbox, batched readings).
 *
 * Reading order: helpers, enrolment and status, building a batch (the walk and the add
 * run inside one transaction opened by asr_outbox_begin), sending, pruning.
 *
 * Statements are prepared per call: an upload runs a few dozen of them, and the one that
 * matters for speed (the walk over a day of readings) is one statement stepped 60,000
 * times. Errors go through asr_sql_fail() (store/sqlutil.h): one message per handle,
 * logged once. */
#include "store/outbox.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/sqlutil.h"

/* ---- helpers ---- */

/* One integer from a one-row query with up to one integer parameter. */
static asr_result query_i64(asr_store *st, const char *sql, int64_t p1, int64_t *out)
{
  return asr_sql_query_i64(asr_store_sql(st), sql, p1, "reading the outbox", out, NULL);
}

/* ---- enrolment and status ---- */

asr_result asr_outbox_get_cred(asr_store *st, asr_outbox_cred *out)
{
  static const char sql[] = "SELECT endpoint, agent_id, secret, site, enrolled_at, ca_file,"
                            " ca_path, pin, client_cert, client_key, proxy, proxy_user_file"
                            " FROM uplink WHERE id = 1 AND agent_id <> ''";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    asr_sql_col_copy(s, 0, out->endpoint, sizeof(out->endpoint));
    asr_sql_col_copy(s, 1, out->agent_id, sizeof(out->agent_id));
    asr_sql_col_copy(s, 2, out->secret, sizeof(out->secret));
    asr_sql_col_copy(s, 3, out->site, sizeof(out->site));
    out->enrolled_at = sqlite3_column_int64(s, 4);
    asr_sql_col_copy(s, 5, out->ca_file, sizeof(out->ca_file));
    asr_sql_col_copy(s, 6, out->ca_path, sizeof(out->ca_path));
    asr_sql_col_copy(s, 7, out->pin, sizeof(out->pin));
    asr_sql_col_copy(s, 8, out->client_cert, sizeof(out->client_cert));
    asr_sql_col_copy(s, 9, out->client_key, sizeof(out->client_key));
    asr_sql_col_copy(s, 10, out->proxy, sizeof(out->proxy));
    asr_sql_col_copy(s, 11, out->proxy_user_file, sizeof(out->proxy_user_file));
  } else if (rc == SQLITE_DONE) {
    r = ASR_ERR_NOT_FOUND;
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the enrolment");
  }
  sqlite3_finalize(s);
  return r;
}

static asr_result write_cred(asr_store *st, const asr_outbox_cred *c, int64_t now)
{
  static const char sql[] =
      "INSERT INTO uplink (id, endpoint, agent_id, secret, site, enrolled_at, ca_file, ca_path,"
      " pin, client_cert, client_key, proxy, proxy_user_file, stopped, last_error,"
      " last_error_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, '', '', 0)"
      " ON CONFLICT (id) DO UPDATE SET endpoint = ?1, agent_id = ?2, secret = ?3, site = ?4,"
      " enrolled_at = ?5, ca_file = ?6, ca_path = ?7, pin = ?8, client_cert = ?9,"
      " client_key = ?10, proxy = ?11, proxy_user_file = ?12, stopped = '', last_error = '',"
      " last_error_at = 0";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  asr_sql_bind_text(s, 1, c->endpoint);
  asr_sql_bind_text(s, 2, c->agent_id);
  asr_sql_bind_text(s, 3, c->secret);
  asr_sql_bind_text(s, 4, c->site);
  sqlite3_bind_int64(s, 5, now);
  asr_sql_bind_text(s, 6, c->ca_file);
  asr_sql_bind_text(s, 7, c->ca_path);
  asr_sql_bind_text(s, 8, c->pin);
  asr_sql_bind_text(s, 9, c->client_cert);
  asr_sql_bind_text(s, 10, c->client_key);
  asr_sql_bind_text(s, 11, c->proxy);
  asr_sql_bind_text(s, 12, c->proxy_user_file);
  return asr_sql_finish(asr_store_sql(st), s, "saving the enrolment");
}

asr_result asr_outbox_enroll(asr_store *st, const asr_outbox_cred *c, int64_t now)
{
  asr_result r = asr_outbox_begin(st);

  if (r)
    return r;
  r = asr_sql_exec(asr_store_sql(st),
                   "UPDATE upload_queue SET batch = NULL WHERE batch > 0;"
                   "UPDATE event_queue SET batch = NULL WHERE batch > 0;"
                   "DELETE FROM outbox WHERE state <> 'delivered'",
                   "releasing the batches of the previous enrolment");
  if (!r)
    r = write_cred(st, c, now);
  if (!r)
    r = asr_outbox_commit(st);
  if (r)
    asr_outbox_rollback(st);
  return r;
}

asr_result asr_outbox_save_settings(asr_store *st, const asr_outbox_cred *c)
{
  static const char sql[] = "UPDATE uplink SET endpoint = ?1, ca_file = ?2, ca_path = ?3, pin = ?4,"
                            " client_cert = ?5, client_key = ?6, proxy = ?7, proxy_user_file = ?8"
                            " WHERE id = 1 AND agent_id <> ''";
  const char *v[] = {c->endpoint,    c->ca_file,    c->ca_path, c->pin,
                     c->client_cert, c->client_key, c->proxy,   c->proxy_user_file};
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  for (int i = 0; i < 8; i++)
    asr_sql_bind_text(s, i + 1, v[i]);
  r = asr_sql_finish(asr_store_sql(st), s, "saving the connection settings");
  if (!r && sqlite3_changes(asr_store_sqlite(st)) == 0)
    r = ASR_ERR_NOT_FOUND;
  return r;
}

/* UPDATE uplink SET <one text column> = ?1 (and more in sql). */
static asr_result update_uplink(asr_store *st, const char *sql, const char *text, int64_t t,
                                const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  asr_sql_bind_text(s, 1, text);
  if (sqlite3_bind_parameter_count(s) > 1)
    sqlite3_bind_int64(s, 2, t);
  return asr_sql_finish(asr_store_sql(st), s, what);
}

asr_result asr_outbox_set_stopped(asr_store *st, const char *reason)
{
  return update_uplink(st, "UPDATE uplink SET stopped = substr(?1, 1, 255) WHERE id = 1", reason, 0,
                       "recording that uploads stopped");
}

asr_result asr_outbox_set_error(asr_store *st, const char *error, int64_t now)
{
  return update_uplink(st,
                       "UPDATE uplink SET last_error = substr(?1, 1, 255), last_error_at = ?2"
                       " WHERE id = 1",
                       error, now, "recording the last upload error");
}

asr_result asr_outbox_set_full(asr_store *st, bool full)
{
  return update_uplink(st, "UPDATE uplink SET outbox_full = (?1 = 'yes') WHERE id = 1",
                       full ? "yes" : "no", 0, "recording the outbox bound");
}

static asr_result status_uplink(asr_store *st, asr_outbox_status *out)
{
  static const char sql[] = "SELECT endpoint, agent_id, site, last_upload, last_error,"
                            " last_error_at, stopped, outbox_full FROM uplink WHERE id = 1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  if (r)
    return r;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    asr_sql_col_copy(s, 0, out->endpoint, sizeof(out->endpoint));
    asr_sql_col_copy(s, 1, out->agent_id, sizeof(out->agent_id));
    asr_sql_col_copy(s, 2, out->site, sizeof(out->site));
    out->last_upload = sqlite3_column_int64(s, 3);
    asr_sql_col_copy(s, 4, out->last_error, sizeof(out->last_error));
    out->last_error_at = sqlite3_column_int64(s, 5);
    asr_sql_col_copy(s, 6, out->stopped, sizeof(out->stopped));
    out->outbox_full = sqlite3_column_int(s, 7) != 0;
    out->enrolled = out->agent_id[0] != '\0';
  } else if (rc != SQLITE_DONE) {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the upload state");
  }
  sqlite3_finalize(s);
  return r;
}

/* Counts per state: batches, readings, bytes. */
static asr_result status_counts(asr_store *st, asr_outbox_status *out)
{
  static const char sql[] = "SELECT state, count(*), total(n_readings),"
                            " total(length(body)) FROM outbox GROUP BY state";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc = SQLITE_OK;

  while (!r) {
    const char *state;
    int64_t n, readings, bytes;

    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      break;
    state = (const char *)sqlite3_column_text(s, 0);
    n = sqlite3_column_int64(s, 1);
    readings = (int64_t)sqlite3_column_double(s, 2);
    bytes = (int64_t)sqlite3_column_double(s, 3);
    out->bytes += bytes;
    if (state && strcmp(state, "pending") == 0) {
      out->pending_batches = n;
      out->pending_readings += readings;
      out->undelivered_bytes += bytes;
    } else if (state && strcmp(state, "held") == 0) {
      out->held_batches = n;
      out->held_readings = readings;
      out->undelivered_bytes += bytes;
    } else {
      out->delivered_batches = n;
    }
  }
  if (!r && rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "counting batches");
  sqlite3_finalize(s);
  return r;
}

asr_result asr_outbox_get_status(asr_store *st, asr_outbox_status *out)
{
  int64_t fresh = 0;
  asr_result r;

  memset(out, 0, sizeof(*out));
  r = status_uplink(st, out);
  if (!r)
    r = status_counts(st, out);
  if (!r)
    r = query_i64(st, "SELECT count(*) FROM upload_queue WHERE batch IS NULL", 0, &fresh);
  out->pending_readings += fresh;
  return r;
}

asr_result asr_outbox_held_reason(asr_store *st, char *out, size_t n)
{
  static const char sql[] = "SELECT last_error FROM outbox WHERE state = 'held'"
                            " ORDER BY position, seq LIMIT 1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  if (n)
    out[0] = '\0';
  if (r)
    return r;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    asr_sql_col_copy(s, 0, out, n);
  else if (rc != SQLITE_DONE)
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the held batches");
  sqlite3_finalize(s);
  return r;
}

/* ---- building batches ---- */

asr_result asr_outbox_begin(asr_store *st)
{
  return asr_sql_exec(asr_store_sql(st), "BEGIN IMMEDIATE", "starting a batch");
}

asr_result asr_outbox_commit(asr_store *st)
{
  return asr_sql_exec(asr_store_sql(st), "COMMIT", "committing a batch");
}

void asr_outbox_rollback(asr_store *st)
{
  if (st && asr_store_sqlite(st))
    asr_sql_rollback(asr_store_sql(st));
}

asr_result asr_outbox_next_seq(asr_store *st, int64_t *seq)
{
  asr_result r;

  r = asr_sql_exec(asr_store_sql(st),
                   "INSERT OR IGNORE INTO uplink (id) VALUES (1);"
                   "UPDATE uplink SET next_seq = max(next_seq, (SELECT coalesce(max(seq), 0) + 1"
                   " FROM outbox)) WHERE id = 1",
                   "allocating a batch number");
  if (!r)
    r = query_i64(st, "SELECT next_seq FROM uplink WHERE id = 1", 0, seq);
  if (!r)
    r = asr_sql_exec(asr_store_sql(st), "UPDATE uplink SET next_seq = next_seq + 1 WHERE id = 1",
                     "allocating a batch number");
  return r;
}

/* The walk's statement: new readings, or those of one undelivered batch. */
static asr_result walk_prepare(asr_store *st, int64_t from_seq, size_t limit, sqlite3_stmt **s)
{
  static const char fresh[] = "SELECT r.device_id, r.t, r.page_count, r.levels FROM upload_queue q"
                              " JOIN readings r ON r.device_id = q.device_id AND r.t = q.t"
                              " WHERE q.batch IS NULL ORDER BY q.t, q.device_id LIMIT ?1";
  static const char carried[] =
      "SELECT r.device_id, r.t, r.page_count, r.levels FROM upload_queue q"
      " JOIN readings r ON r.device_id = q.device_id AND r.t = q.t"
      " WHERE q.batch > 0 AND q.batch = ?2 ORDER BY q.t, q.device_id"
      " LIMIT ?1";
  asr_result r = asr_sql_prep(asr_store_sql(st), from_seq > 0 ? carried : fresh, s);

  if (r)
    return r;
  sqlite3_bind_int64(*s, 1, limit ? (int64_t)limit : -1);
  if (from_seq > 0)
    sqlite3_bind_int64(*s, 2, from_seq);
  return ASR_OK;
}

asr_result asr_outbox_walk(asr_store *st, int64_t from_seq, size_t limit, asr_outbox_reading_cb cb,
                           void *ctx, asr_outbox_cut *cut)
{
  asr_store_level lv[ASR_SUPPLIES_MAX];
  sqlite3_stmt *s = NULL;
  asr_result r;
  int rc;

  memset(cut, 0, sizeof(*cut));
  r = walk_prepare(st, from_seq, limit, &s);
  while (!r) {
    size_t n;

    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
      if (rc != SQLITE_DONE)
        r = asr_sql_fail(asr_store_sql(st), rc, "reading readings to send");
      break;
    }
    n = asr_store_levels_decode(sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3), lv,
                                ASR_SUPPLIES_MAX);
    cut->count++;
    cut->last_device = sqlite3_column_int64(s, 0);
    cut->last_t = sqlite3_column_int64(s, 1);
    if (cb(cut->last_device, cut->last_t, sqlite3_column_type(s, 2) != SQLITE_NULL,
           sqlite3_column_int64(s, 2), lv, n, ctx)) {
      r = ASR_ERR_LIMIT;
      break;
    }
  }
  sqlite3_finalize(s);
  return r;
}

/* Marks the readings of the walk (everything up to the cut, in walk order). */
static asr_result mark_readings(asr_store *st, int64_t seq, int64_t from_seq,
                                const asr_outbox_cut *cut)
{
  static const char fresh[] = "UPDATE upload_queue SET batch = ?1 WHERE batch IS NULL"
                              " AND (t < ?2 OR (t = ?2 AND device_id <= ?3))";
  static const char carried[] = "UPDATE upload_queue SET batch = ?1 WHERE batch > 0 AND batch = ?4"
                                " AND (t < ?2 OR (t = ?2 AND device_id <= ?3))";
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (cut->count == 0)
    return ASR_OK;
  r = asr_sql_prep(asr_store_sql(st), from_seq > 0 ? carried : fresh, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, seq);
  sqlite3_bind_int64(s, 2, cut->last_t);
  sqlite3_bind_int64(s, 3, cut->last_device);
  if (from_seq > 0)
    sqlite3_bind_int64(s, 4, from_seq);
  r = asr_sql_finish(asr_store_sql(st), s, "marking batched readings");
  if (!r && (size_t)sqlite3_changes(asr_store_sqlite(st)) != cut->count) {
    asr_store_set_error(st, "the readings of a batch changed while it was built");
    r = ASR_ERR_DB;
  }
  return r;
}

asr_result asr_outbox_add(asr_store *st, const asr_outbox_batch *b, int64_t from_seq,
                          const asr_outbox_cut *cut, int64_t now)
{
  static const char sql[] =
      "INSERT INTO outbox (seq, position, batch_id, state, body, body_size,"
      " n_readings, created_at) VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7)";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, b->seq);
  sqlite3_bind_int64(s, 2, b->position > 0 ? b->position : b->seq);
  asr_sql_bind_text(s, 3, b->batch_id);
  sqlite3_bind_blob(s, 4, b->body, (int)b->body_len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 5, (int64_t)b->body_len);
  sqlite3_bind_int64(s, 6, b->n_readings);
  sqlite3_bind_int64(s, 7, now);
  r = asr_sql_finish(asr_store_sql(st), s, "adding a batch to the outbox");
  if (!r)
    r = mark_readings(st, b->seq, from_seq, cut);
  return r;
}

asr_result asr_outbox_remove(asr_store *st, int64_t seq)
{
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st),
                              "DELETE FROM outbox WHERE seq = ?1 AND state <> 'delivered'", &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, seq);
  return asr_sql_finish(asr_store_sql(st), s, "removing a split batch");
}

asr_result asr_outbox_has_new(asr_store *st, bool *out)
{
  int64_t v = 0;
  asr_result r = query_i64(st,
                           "SELECT EXISTS (SELECT 1 FROM upload_queue WHERE batch IS NULL)"
                           " OR EXISTS (SELECT 1 FROM event_queue WHERE batch IS NULL)",
                           0, &v);

  *out = v != 0;
  return r;
}

asr_result asr_outbox_activity(asr_store *st, int64_t *last_delivered, bool *pending)
{
  int64_t v = 0;
  asr_result r;

  r = query_i64(st, "SELECT coalesce(max(delivered_at), 0) FROM outbox WHERE state = 'delivered'",
                0, last_delivered);
  if (!r)
    r = query_i64(st, "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending')", 0, &v);
  *pending = v != 0;
  return r;
}

/* ---- sending ---- */

asr_result asr_outbox_next_pending(asr_store *st, int64_t position, int64_t seq,
                                   asr_outbox_batch *out)
{
  static const char sql[] = "SELECT seq, position, batch_id, body, n_readings, attempts"
                            " FROM outbox WHERE state = 'pending' AND (position > ?1"
                            " OR (position = ?1 AND seq > ?2)) ORDER BY position, seq LIMIT 1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, position);
  sqlite3_bind_int64(s, 2, seq);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    size_t len = (size_t)sqlite3_column_bytes(s, 3);
    const void *body = sqlite3_column_blob(s, 3);

    out->seq = sqlite3_column_int64(s, 0);
    out->position = sqlite3_column_int64(s, 1);
    asr_sql_col_copy(s, 2, out->batch_id, sizeof(out->batch_id));
    out->n_readings = sqlite3_column_int64(s, 4);
    out->attempts = (unsigned)sqlite3_column_int(s, 5);
    out->body = malloc(len ? len : 1);
    if (!out->body)
      r = ASR_ERR_NOMEM;
    else if (len)
      memcpy(out->body, body, len);
    out->body_len = len;
  } else if (rc == SQLITE_DONE) {
    r = ASR_ERR_NOT_FOUND;
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "loading a pending batch");
  }
  sqlite3_finalize(s);
  return r;
}

void asr_outbox_batch_free(asr_outbox_batch *b)
{
  if (!b)
    return;
  free(b->body);
  b->body = NULL;
  b->body_len = 0;
}

/* Runs an UPDATE with (seq, text, time) parameters. */
static asr_result update_batch(asr_store *st, const char *sql, int64_t seq, const char *text,
                               int64_t t, const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, seq); /* a parameter the statement lacks is ignored */
  if (sqlite3_bind_parameter_count(s) >= 2)
    asr_sql_bind_text(s, 2, text);
  if (sqlite3_bind_parameter_count(s) >= 3)
    sqlite3_bind_int64(s, 3, t);
  return asr_sql_finish(asr_store_sql(st), s, what);
}

/* The delivery of batch seq (inside a transaction). */
static asr_result mark_delivered(asr_store *st, int64_t seq, int64_t now)
{
  asr_result r = update_batch(st,
                              "UPDATE outbox SET state = 'delivered', delivered_at = ?3,"
                              " attempts = attempts + 1, last_error = ?2 WHERE seq = ?1",
                              seq, "", now, "marking a batch delivered");

  if (!r)
    r = update_batch(st, "DELETE FROM upload_queue WHERE batch > 0 AND batch = ?1", seq, "", now,
                     "marking readings delivered");
  if (!r)
    r = update_batch(st, "DELETE FROM event_queue WHERE batch > 0 AND batch = ?1", seq, "", now,
                     "marking events delivered");
  if (!r)
    r = update_batch(st,
                     "UPDATE uplink SET last_upload = ?3, last_error = '', last_error_at = 0"
                     " WHERE id = 1",
                     seq, "", now, "recording the upload");
  return r;
}

/* Inserts n problems (inside a transaction), then drops the oldest beyond the bound. */
static asr_result insert_problems(asr_store *st, const char *batch_id, int64_t at,
                                  const asr_outbox_problem *p, size_t n)
{
  static const char sql[] =
      "INSERT INTO upload_problems (at, batch_id, what, device, t, readings, events, error)"
      " VALUES (?1, substr(?2, 1, 255), ?3, substr(?4, 1, 255), ?5, ?6, ?7, substr(?8, 1, 255))";
  sqlite3_stmt *s = NULL;
  asr_result r = ASR_OK;
  int rc;

  if (n == 0)
    return ASR_OK;
  r = asr_sql_prep(asr_store_sql(st), sql, &s);
  for (size_t i = 0; !r && i < n; i++) {
    sqlite3_bind_int64(s, 1, at);
    asr_sql_bind_text(s, 2, batch_id ? batch_id : "");
    asr_sql_bind_text(s, 3, p[i].what);
    asr_sql_bind_text(s, 4, p[i].device);
    if (p[i].t >= 0)
      sqlite3_bind_int64(s, 5, p[i].t);
    else
      sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, p[i].readings);
    sqlite3_bind_int64(s, 7, p[i].events);
    asr_sql_bind_text(s, 8, p[i].error);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
      r = asr_sql_fail(asr_store_sql(st), rc, "recording a refusal");
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  if (!r)
    r = update_batch(st,
                     "DELETE FROM upload_problems WHERE id <= (SELECT max(id) FROM"
                     " upload_problems) - ?1",
                     ASR_OUTBOX_PROBLEMS_KEPT, "", 0, "dropping old refusals");
  return r;
}

asr_result asr_outbox_delivered_problems(asr_store *st, int64_t seq, const char *batch_id,
                                         int64_t now, const asr_outbox_problem *p, size_t n)
{
  asr_result r = asr_outbox_begin(st);

  if (r)
    return r;
  r = mark_delivered(st, seq, now);
  if (!r)
    r = insert_problems(st, batch_id, now, p, n);
  if (!r)
    r = asr_outbox_commit(st);
  if (r)
    asr_outbox_rollback(st);
  return r;
}

asr_result asr_outbox_delivered(asr_store *st, int64_t seq, int64_t now)
{
  return asr_outbox_delivered_problems(st, seq, "", now, NULL, 0);
}

asr_result asr_outbox_problems_add(asr_store *st, const char *batch_id, int64_t at,
                                   const asr_outbox_problem *p, size_t n)
{
  asr_result r = asr_outbox_begin(st);

  if (r)
    return r;
  r = insert_problems(st, batch_id, at, p, n);
  if (!r)
    r = asr_outbox_commit(st);
  if (r)
    asr_outbox_rollback(st);
  return r;
}

/* The newest problem since (refusals before reused ids) into out->last. */
static asr_result last_problem(asr_store *st, int64_t since, asr_outbox_problems *out)
{
  static const char sql[] = "SELECT at, batch_id, what, device, t, readings, events, error"
                            " FROM upload_problems WHERE at >= ?1"
                            " ORDER BY what = 'id_reused', id DESC LIMIT 1";
  asr_outbox_problem *p = &out->last;
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, since);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    p->at = sqlite3_column_int64(s, 0);
    asr_sql_col_copy(s, 1, p->batch_id, sizeof(p->batch_id));
    asr_sql_col_copy(s, 2, p->what, sizeof(p->what));
    asr_sql_col_copy(s, 3, p->device, sizeof(p->device));
    p->t = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 4);
    p->readings = sqlite3_column_int64(s, 5);
    p->events = sqlite3_column_int64(s, 6);
    asr_sql_col_copy(s, 7, p->error, sizeof(p->error));
  } else if (rc != SQLITE_DONE) {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the refusals");
  }
  sqlite3_finalize(s);
  return r;
}

asr_result asr_outbox_problems_since(asr_store *st, int64_t since, asr_outbox_problems *out)
{
  static const char sql[] =
      "SELECT count(*), total(CASE WHEN what <> 'id_reused' THEN readings END),"
      " total(CASE WHEN what <> 'id_reused' THEN events END),"
      " total(CASE WHEN what = 'id_reused' THEN 1 END) FROM upload_problems WHERE at >= ?1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  memset(out, 0, sizeof(*out));
  out->last.t = -1;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, since);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    out->count = sqlite3_column_int64(s, 0);
    out->readings_refused = (int64_t)sqlite3_column_double(s, 1);
    out->events_refused = (int64_t)sqlite3_column_double(s, 2);
    out->id_reused = (int64_t)sqlite3_column_double(s, 3);
  } else {
    r = asr_sql_fail(asr_store_sql(st), rc, "counting the refusals");
  }
  sqlite3_finalize(s);
  if (!r && out->count > 0)
    r = last_problem(st, since, out);
  return r;
}

asr_result asr_outbox_hold(asr_store *st, int64_t seq, const char *reason, int64_t now)
{
  return update_batch(st,
                      "UPDATE outbox SET state = 'held', attempts = attempts + 1,"
                      " last_error = substr(?2, 1, 255), next_attempt_at = ?3 WHERE seq = ?1",
                      seq, reason, now, "holding a batch");
}

asr_result asr_outbox_attempt_failed(asr_store *st, int64_t seq, const char *reason,
                                     int64_t next_attempt_at)
{
  return update_batch(st,
                      "UPDATE outbox SET attempts = attempts + 1, last_error = substr(?2, 1, 255),"
                      " next_attempt_at = ?3 WHERE seq = ?1",
                      seq, reason, next_attempt_at, "recording a failed attempt");
}

asr_result asr_outbox_release_held(asr_store *st, int64_t *n)
{
  asr_result r =
      asr_sql_exec(asr_store_sql(st), "UPDATE outbox SET state = 'pending' WHERE state = 'held'",
                   "releasing held batches");

  *n = r ? 0 : sqlite3_changes(asr_store_sqlite(st));
  return r;
}

/* ---- pruning ---- */

asr_result asr_outbox_prune(asr_store *st, int64_t max_bytes, int64_t *undelivered)
{
  static const char drop[] =
      "UPDATE outbox SET body = NULL WHERE seq IN (SELECT seq FROM (SELECT seq,"
      " sum(length(body)) OVER (ORDER BY delivered_at DESC, seq DESC) AS kept FROM outbox"
      " WHERE state = 'delivered' AND body IS NOT NULL) WHERE kept > ?1)";
  int64_t kept = 0;
  sqlite3_stmt *s = NULL;
  asr_result r;

  r = query_i64(st, "SELECT coalesce(sum(length(body)), 0) FROM outbox WHERE state <> 'delivered'",
                0, undelivered);
  if (r)
    return r;
  kept = max_bytes - *undelivered;
  r = asr_sql_prep(asr_store_sql(st), drop, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, kept < 0 ? 0 : kept);
  r = asr_sql_finish(asr_store_sql(st), s, "pruning delivered batches");
  if (!r && sqlite3_changes(asr_store_sqlite(st)) > 0)
    asr_log(ASR_LOG_INFO, "outbox: dropped the bodies of %d delivered batches (bound %lld bytes)",
            sqlite3_changes(asr_store_sqlite(st)), (long long)max_bytes);
  return r;
}
