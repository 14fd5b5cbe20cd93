/* cstore_outbox.c: the mails waiting to be sent, each notice once (schema 2; cstore.h).
 * The handle is cstore.c's (cstore_int.h). The first file of the store on the neutral
 * statements (central/cdb.h): its SQL is what SQLite and PostgreSQL both run
 * (docs/postgresql-backend.md). */
#include "central/cstore.h"

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
    [O_OUTBOX_ADD] = "INSERT INTO outbox (key, site_id, rcpt, kind, message, created_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
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
static asr_result o_get(cstore *st, o_stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_OUTBOX + (size_t)id, o_sql[id], out);
}

asr_result cstore_outbox_add(cstore *st, const char *key, int64_t site_id, const char *rcpt,
                             const char *kind, const char *msg, size_t len, int64_t now,
                             bool *added)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_OUTBOX_ADD, &s);

  *added = false;
  if (r)
    return r;
  cdb_bind_text(s, 1, key);
  cdb_bind_opt_i64(s, 2, site_id > 0 ? site_id : -1);
  cdb_bind_text(s, 3, rcpt);
  cdb_bind_text(s, 4, kind);
  cdb_bind_blob(s, 5, msg, len);
  cdb_bind_i64(s, 6, now);
  r = cdb_run(s, "queueing a mail");
  *added = !r && cdb_changes(s) > 0;
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

static char *col_dup(cdb_stmt *s, int col)
{
  const char *v = cdb_col_text(s, col);

  return strdup(v ? v : "");
}

static asr_result mail_from_row(cdb_stmt *s, cstore_mail *m)
{
  size_t len = 0;
  const void *blob;

  m->id = cdb_col_i64(s, 0);
  m->key = col_dup(s, 1);
  m->rcpt = col_dup(s, 2);
  m->kind = col_dup(s, 3);
  m->tries = cdb_col_i64(s, 5);
  blob = cdb_col_blob(s, 4, &len); /* last: PostgreSQL's is valid until the next column */
  m->msg = malloc(len + 1);
  if (!m->key || !m->rcpt || !m->kind || !m->msg)
    return ASR_ERR_NOMEM;
  if (len > 0)
    memcpy(m->msg, blob, len);
  m->msg[len] = '\0';
  m->len = len;
  return ASR_OK;
}

asr_result cstore_outbox_next(cstore *st, int64_t now, int64_t after, cstore_mail *out, bool *found)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_OUTBOX_NEXT, &s);

  memset(out, 0, sizeof(*out));
  *found = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, now);
  cdb_bind_i64(s, 2, after);
  r = cdb_step(s, "reading the outbox", &row);
  if (!r && row)
    r = mail_from_row(s, out);
  cdb_reset(s);
  if (r)
    cstore_mail_free(out);
  *found = !r && row;
  return r;
}

asr_result cstore_outbox_mark(cstore *st, int64_t id, const char *state, int64_t next_try,
                              const char *error, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_OUTBOX_MARK, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_text(s, 2, state);
  cdb_bind_i64(s, 3, next_try);
  cdb_bind_text(s, 4, error); /* NULL: none */
  cdb_bind_i64(s, 5, now);
  return cdb_run(s, "marking a mail");
}

int64_t cstore_outbox_count(cstore *st, const char *state)
{
  cdb_stmt *s = NULL;
  bool row = false;
  int64_t n = -1;

  if (o_get(st, O_OUTBOX_COUNT, &s))
    return -1;
  cdb_bind_text(s, 1, state);
  if (cdb_step(s, "counting mails", &row) == ASR_OK && row)
    n = cdb_col_i64(s, 0);
  cdb_reset(s);
  return n;
}

asr_result cstore_outbox_claim(cstore *st, int64_t id, int64_t now, int64_t until, bool *claimed)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_OUTBOX_CLAIM, &s);

  *claimed = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_i64(s, 2, now);
  cdb_bind_i64(s, 3, until);
  r = cdb_run(s, "claiming a mail");
  *claimed = !r && cdb_changes(s) == 1;
  return r;
}
