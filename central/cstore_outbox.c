/* cstore_outbox.c: the mails waiting to be sent, each notice once (schema 2; cstore.h).
 * The handle and its helpers are cstore.c's (cstore_int.h). */
#include "central/cstore.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "central/cstore_int.h"

typedef enum {
  O_OUTBOX_ADD,
  O_OUTBOX_NEXT,
  O_OUTBOX_MARK,
  O_OUTBOX_COUNT,
  O_OUTBOX_CLAIM,
  O_COUNT
} o_stmt_id;

static const char *const o_sql[O_COUNT] = {
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
};

_Static_assert(CSTORE_SLOTS_OUTBOX + O_COUNT <= CSTORE_SLOTS_CONTACTS,
               "give this file more statement slots (cstore_int.h)");

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result o_get(cstore *st, o_stmt_id id, sqlite3_stmt **out)
{
  return asr_sql_cached(&st->sql, CSTORE_SLOTS_OUTBOX + (size_t)id, o_sql[id], out);
}

/* Runs statement id with the integers v[0..n) bound to ?1..?n. */
static asr_result o_run_i64(cstore *st, o_stmt_id id, const char *what, const int64_t *v, size_t n)
{
  sqlite3_stmt *s = NULL;
  asr_result r = o_get(st, id, &s);

  return r ? r : cstore_run_i64(st, s, what, v, n);
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
  asr_sql_bind_opt_i64(s, 2, site_id > 0 ? site_id : -1);
  sqlite3_bind_text(s, 3, rcpt, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, kind, -1, SQLITE_STATIC);
  sqlite3_bind_blob64(s, 5, msg, len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, now);
  r = cstore_x_run(st, s, "queueing a mail");
  *added = !r && sqlite3_changes(st->sql.db) > 0;
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
  const char *v = asr_sql_col_text(s, col);

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
  r = cstore_x_row(st, s, "reading the outbox", &row);
  if (!r && row)
    r = mail_from_row(s, out);
  cstore_x_done(s);
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
  asr_sql_bind_opt(s, 4, error);
  sqlite3_bind_int64(s, 5, now);
  return cstore_x_run(st, s, "marking a mail");
}

int64_t cstore_outbox_count(cstore *st, const char *state)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  int64_t n = -1;

  if (o_get(st, O_OUTBOX_COUNT, &s))
    return -1;
  sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
  if (cstore_x_row(st, s, "counting mails", &row) == ASR_OK && row)
    n = sqlite3_column_int64(s, 0);
  cstore_x_done(s);
  return n;
}

asr_result cstore_outbox_claim(cstore *st, int64_t id, int64_t now, int64_t until, bool *claimed)
{
  const int64_t v[] = {id, now, until};
  asr_result r = o_run_i64(st, O_OUTBOX_CLAIM, "claiming a mail", v, 3);

  *claimed = !r && sqlite3_changes(st->sql.db) == 1;
  return r;
}
