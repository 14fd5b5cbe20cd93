/* calerts.c: asr-central's device alerts: the table (schema step 10), tracking the alert
 * events of a batch, the listings, and the mail bookkeeping (calerts.h). The SQL of the
 * feature lives here; the handle, its statements and its errors are cstore.c's
 * (cstore_int.h).
 *
 * Why the events of a batch are sorted first: an agent that was offline sends a raise and
 * its clear in one batch, and nothing in the protocol orders the events array. Taken in time
 * order (a raise before a clear of the same second), each event is a small idempotent step
 * against the table, so a batch sent twice, or an event in two batches, changes nothing the
 * second time. */
#include "central/calerts.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "central/cstore_int.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

/* alerts: one row per occurrence of an alert of a device.
 *   key                the agent's content key of the alert (an open alert has one row)
 *   raised_at          the raise event's time; cleared_at the clear's (NULL: open)
 *   severity, code, grp, group_index, description, summary  from the raise event's detail
 *   batch_id, cleared_batch  the batches that brought the raise and the clear
 *   raise_mail, clear_mail   the mails' fate (CALERTS_MAIL_*); raise_mailed_at when the
 *                            raised mail was queued; mail_to its recipients (the cleared
 *                            notice goes to the same) */
const char calerts_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id INTEGER PRIMARY KEY,"
    " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, raised_at INTEGER NOT NULL, cleared_at INTEGER,"
    " severity TEXT NOT NULL DEFAULT '', code TEXT NOT NULL DEFAULT '',"
    " grp TEXT NOT NULL DEFAULT '', group_index INTEGER,"
    " description TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '',"
    " batch_id TEXT NOT NULL DEFAULT '', cleared_batch TEXT,"
    " raise_mail TEXT NOT NULL DEFAULT 'due', raise_mailed_at INTEGER,"
    " mail_to TEXT NOT NULL DEFAULT '', clear_mail TEXT NOT NULL DEFAULT 'due',"
    " UNIQUE (device_id, key, raised_at));"
    "CREATE INDEX IF NOT EXISTS alerts_open ON alerts(device_id, cleared_at);"
    "CREATE INDEX IF NOT EXISTS alerts_due ON alerts(id)"
    " WHERE raise_mail = 'due' OR (clear_mail = 'due' AND cleared_at IS NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_mailed ON alerts(device_id, raise_mailed_at)"
    " WHERE raise_mail = 'queued';";

/* This file's statements (its range of the handle's cache: cstore_int.h). */
enum {
  X_DEVICE = 0,
  X_KNOWN,
  X_OPEN_COUNT,
  X_INSERT,
  X_CLEAR,
  X_LIST, /* four: [site given][open only] */
  X_DUE = X_LIST + 4,
  X_MARK_RAISE,
  X_MARK_CLEAR,
  X_MAILS_SINCE,
  X_END
};

_Static_assert(CSTORE_SLOTS_ALERTS + X_END <= CSTORE_SLOTS_END,
               "give this file more statement slots (cstore_int.h)");

/* The columns of a listing row (row_read), then its joins. */
#define ROW_COLUMNS                                                                                \
  "SELECT a.id, a.device_id, d.site_id, s.name, d.key, coalesce(d.serial, ''),"                    \
  " coalesce(d.model, ''), coalesce(d.ip, ''), a.severity, a.code, a.grp,"                         \
  " coalesce(a.group_index, -1), a.description, a.summary, a.raised_at,"                           \
  " coalesce(a.cleared_at, 0), a.raise_mail, a.clear_mail, a.mail_to,"                             \
  " coalesce(c.email, s.contact), coalesce(c.name, '')"
#define ROW_CONTACT                                                                                \
  " LEFT JOIN device_contacts dc ON dc.device_id = d.id"                                           \
  " LEFT JOIN contacts c ON c.id = coalesce(dc.contact_id,"                                        \
  " (SELECT min(c2.id) FROM contacts c2 WHERE c2.site_id = d.site_id))"
/* From the site by name to its devices to their alerts (open ones through alerts_open). */
#define FROM_SITE                                                                                  \
  " FROM sites s JOIN devices d ON d.site_id = s.id JOIN alerts a ON a.device_id = "               \
  "d.id" ROW_CONTACT " WHERE s.name = ?1"
#define FROM_ALL                                                                                   \
  " FROM alerts a JOIN devices d ON d.id = a.device_id JOIN sites s ON s.id = "                    \
  "d.site_id" ROW_CONTACT " WHERE CAST(?1 AS TEXT) IS NULL"
#define LIST_ORDER " ORDER BY s.name, d.key, a.raised_at, a.id"

/* The listings: [site given][open only]. */
static const char *const list_sql[2][2] = {
    {ROW_COLUMNS FROM_ALL LIST_ORDER, ROW_COLUMNS FROM_ALL " AND a.cleared_at IS NULL" LIST_ORDER},
    {ROW_COLUMNS FROM_SITE LIST_ORDER,
     ROW_COLUMNS FROM_SITE " AND a.cleared_at IS NULL" LIST_ORDER},
};

static const char *x_sql(int slot)
{
  switch (slot) {
  case X_DEVICE:
    return "SELECT id FROM devices WHERE site_id = ?1 AND key = ?2";
  case X_KNOWN: /* open, or an occurrence that covers time ?3: the raise is known */
    return "SELECT 1 FROM alerts WHERE device_id = ?1 AND key = ?2 AND (cleared_at IS NULL"
           " OR (raised_at <= ?3 AND cleared_at >= ?3)) LIMIT 1";
  case X_OPEN_COUNT:
    return "SELECT count(*) FROM alerts WHERE device_id = ?1 AND cleared_at IS NULL";
  case X_INSERT:
    return "INSERT INTO alerts (device_id, key, raised_at, severity, code, grp,"
           " group_index, description, summary, batch_id)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING";
  case X_CLEAR: /* the open occurrence raised before it; or raised after it when no cleared
                  occurrence covers its time: the agent's clock went back, not an old clear */
    return "UPDATE alerts SET cleared_at = CASE WHEN raised_at > ?3 THEN raised_at ELSE ?3 END,"
           " cleared_batch = ?4"
           " WHERE device_id = ?1 AND key = ?2 AND cleared_at IS NULL AND (raised_at <= ?3"
           " OR NOT EXISTS (SELECT 1 FROM alerts o WHERE o.device_id = ?1 AND o.key = ?2"
           " AND o.raised_at <= ?3 AND o.cleared_at >= ?3))";
  case X_LIST:
  case X_LIST + 1:
  case X_LIST + 2:
  case X_LIST + 3:
    return list_sql[(slot - X_LIST) / 2][(slot - X_LIST) % 2];
  case X_DUE:
    return ROW_COLUMNS " FROM alerts a JOIN devices d ON d.id = a.device_id"
                       " JOIN sites s ON s.id = d.site_id" ROW_CONTACT
                       " WHERE a.raise_mail = 'due' OR (a.clear_mail = 'due'"
                       " AND a.cleared_at IS NOT NULL) ORDER BY a.id LIMIT ?1";
  case X_MARK_RAISE:
    return "UPDATE alerts SET raise_mail = ?2, raise_mailed_at = ?3, mail_to = ?4 WHERE id = ?1";
  case X_MARK_CLEAR:
    return "UPDATE alerts SET clear_mail = ?2 WHERE id = ?1";
  case X_MAILS_SINCE:
    return "SELECT count(*) FROM alerts WHERE device_id = ?1 AND raise_mail = 'queued'"
           " AND raise_mailed_at >= ?2";
  default:
    return "";
  }
}

static asr_result stmt(cstore *st, int slot, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_ALERTS + (size_t)slot, x_sql(slot), out);
}

/* ---------------------------------------------------------------------------------------
 * Event kinds and details. */

#define KIND_RAISE "alert:"
#define KIND_CLEAR "alert_cleared:"

bool calerts_kind(const char *kind, bool *clear, const char **key)
{
  static const char key_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789._-";
  size_t n;

  if (!kind)
    return false;
  *clear = strncmp(kind, KIND_CLEAR, strlen(KIND_CLEAR)) == 0;
  if (!*clear && strncmp(kind, KIND_RAISE, strlen(KIND_RAISE)) != 0)
    return false;
  *key = kind + (*clear ? strlen(KIND_CLEAR) : strlen(KIND_RAISE));
  n = strlen(*key);
  return n > 0 && n <= CALERTS_KEY_MAX && strspn(*key, key_chars) == n;
}

/* A name of the detail: letters and digits ("code -5" and "group 40", the agent's words for a
 * number the MIB does not name, have a space and maybe a sign). */
static bool word_ok(const char *s, size_t n)
{
  if (n == 0 || n >= CALERTS_WORD_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
          c == '-'))
      return false;
  }
  return true;
}

static void copy_word(char *dst, const char *s, size_t n)
{
  memcpy(dst, s, n);
  dst[n] = '\0';
}

/* The group's index at the end of "GROUP INDEX" (n bytes at s): its value and where the
 * name ends; -1 and n when there is none. */
static int64_t group_index(const char *s, size_t *n)
{
  char num[24];
  size_t sp = *n;
  int64_t v = -1;

  while (sp > 0 && s[sp - 1] != ' ')
    sp--;
  if (sp < 2 || *n - sp >= sizeof(num))
    return -1;
  memcpy(num, s + sp, *n - sp);
  num[*n - sp] = '\0';
  if (asr_parse_i64(num, INT32_MIN, INT32_MAX, &v) != ASR_OK)
    return -1;
  *n = sp - 1;
  return v;
}

/* "SEVERITY CODE (GROUP INDEX)[: DESCRIPTION]" (snmp/alerts.c, asr_alert_summary). */
static bool parse_summary(const char *d, calerts_detail *o)
{
  const char *sp = strchr(d, ' '), *open = sp ? strstr(sp + 1, " (") : NULL;
  const char *close = open ? strchr(open + 2, ')') : NULL;
  size_t glen = close ? (size_t)(close - open - 2) : 0;
  int64_t idx = close ? group_index(open + 2, &glen) : -1;

  if (!close || !word_ok(d, (size_t)(sp - d)) || !word_ok(sp + 1, (size_t)(open - sp - 1)) ||
      !word_ok(open + 2, glen) || (close[1] != '\0' && strncmp(close + 1, ": ", 2) != 0))
    return false;
  copy_word(o->severity, d, (size_t)(sp - d));
  copy_word(o->code, sp + 1, (size_t)(open - sp - 1));
  copy_word(o->group, open + 2, glen);
  o->group_index = idx; /* the description was cleaned with the summary */
  return close[1] == '\0' ||
         asr_strlcpy(o->description, close + 3, sizeof(o->description)) == ASR_OK;
}

void calerts_parse_detail(const char *detail, calerts_detail *out)
{
  memset(out, 0, sizeof(*out));
  out->group_index = -1;
  if (!detail)
    return;
  /* unsafe characters (common/text.h) as U+FFFD, line breaks as spaces, cut to fit */
  asr_text_clean(out->summary, sizeof(out->summary), detail, ASR_TEXT_FFFD);
  if (!parse_summary(out->summary, out)) {
    memset(out, 0, offsetof(calerts_detail, summary));
    out->group_index = -1;
    if (asr_strlcpy(out->description, out->summary, sizeof(out->description)) != ASR_OK)
      out->description[0] = '\0'; /* cannot be: the two are of a size */
  }
}

/* ---------------------------------------------------------------------------------------
 * Tracking a batch's alert events. */

typedef struct {
  size_t i; /* in the batch's events */
  int64_t t;
  bool clear;
  const char *key;
} alert_ev;

static int ev_cmp(const void *pa, const void *pb)
{
  const alert_ev *a = pa, *b = pb;

  if (a->t != b->t)
    return a->t < b->t ? -1 : 1;
  if (a->clear != b->clear)
    return a->clear ? 1 : -1; /* a raise before a clear of the same second */
  return a->i < b->i ? -1 : a->i > b->i;
}

/* The store's id of device index i of the batch (cached in ids: 0 unknown, -1 none). */
static asr_result device_id(cstore *st, int64_t site_id, const cstore_batch *b, size_t i,
                            int64_t *ids)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r;

  if (ids[i] != 0)
    return ASR_OK;
  r = stmt(st, X_DEVICE, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, b->devices[i].key);
  r = cdb_step(s, "finding a device of an alert", &row);
  ids[i] = !r && row ? cdb_col_i64(s, 0) : -1;
  cdb_reset(s);
  return r;
}

/* One int64 of a one-row query on (dev, key?, t?); *v 0 when there is no row. */
static asr_result query_int(cstore *st, int slot, int64_t dev, const char *key, int64_t t,
                            int64_t *v)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt(st, slot, &s);

  *v = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  if (key)
    cdb_bind_text(s, 2, key);
  if (slot != X_OPEN_COUNT) /* its one parameter is dev */
    cdb_bind_i64(s, key ? 3 : 2, t);
  r = cdb_step(s, "reading the alerts", &row);
  if (!r && row)
    *v = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r;
}

static void bind_word(cdb_stmt *s, int i, const char *v)
{
  cdb_bind_text(s, i, v); /* v lives until the run, in the caller */
}

/* A raise: a new alert unless it is open or an occurrence covers its time. */
static asr_result raise_one(cstore *st, int64_t dev, const cstore_batch *b, const alert_ev *e,
                            calerts_applied *out)
{
  calerts_detail d;
  cdb_stmt *s = NULL;
  int64_t known = 0, open = 0;
  asr_result r = query_int(st, X_KNOWN, dev, e->key, e->t, &known);

  if (!r && !known)
    r = query_int(st, X_OPEN_COUNT, dev, NULL, 0, &open);
  if (r || known)
    return r;
  if (open >= CALERTS_OPEN_MAX) {
    out->untracked++;
    return ASR_OK;
  }
  calerts_parse_detail(b->events[e->i].detail, &d);
  r = stmt(st, X_INSERT, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_text(s, 2, e->key);
  cdb_bind_i64(s, 3, e->t);
  bind_word(s, 4, d.severity);
  bind_word(s, 5, d.code);
  bind_word(s, 6, d.group);
  if (d.group_index >= 0)
    cdb_bind_i64(s, 7, d.group_index);
  else
    cdb_bind_null(s, 7);
  bind_word(s, 8, d.description);
  bind_word(s, 9, d.summary);
  cdb_bind_text(s, 10, b->batch_id);
  r = cdb_run(s, "storing an alert");
  if (!r && cdb_changes(s) > 0)
    out->raised++;
  return r;
}

/* A clear: closes the open occurrence raised at or before it (none: already cleared, or
 * an orphan). A clear older than the open occurrence closes it too (at its raise time)
 * unless an occurrence already cleared covers its time (then it is that one's, sent
 * again). */
static asr_result clear_one(cstore *st, int64_t dev, const cstore_batch *b, const alert_ev *e,
                            calerts_applied *out)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt(st, X_CLEAR, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_text(s, 2, e->key);
  cdb_bind_i64(s, 3, e->t);
  cdb_bind_text(s, 4, b->batch_id);
  r = cdb_run(s, "clearing an alert");
  if (!r && cdb_changes(s) > 0)
    out->cleared++;
  return r;
}

/* The batch's alert events in time order into *out (malloc'd, *n of them; NULL when
 * there are none). */
static asr_result collect(const cstore_batch *b, alert_ev **out, size_t *n)
{
  alert_ev *ev = NULL;
  size_t k = 0;

  *out = NULL;
  *n = 0;
  for (size_t i = 0; i < b->n_events; i++) {
    bool clear = false;
    const char *key = NULL;
    if (!calerts_kind(b->events[i].kind, &clear, &key))
      continue;
    if (!ev && !(ev = calloc(b->n_events, sizeof(*ev))))
      return ASR_ERR_NOMEM;
    ev[k++] = (alert_ev){i, b->events[i].t, clear, key};
  }
  if (ev)
    qsort(ev, k, sizeof(*ev), ev_cmp);
  *out = ev;
  *n = k;
  return ASR_OK;
}

asr_result calerts_apply(cstore *st, int64_t site_id, const cstore_batch *b, calerts_applied *out)
{
  size_t n = 0;
  alert_ev *ev = NULL;
  int64_t *ids = NULL;
  asr_result r = collect(b, &ev, &n);

  memset(out, 0, sizeof(*out));
  if (r || n == 0)
    return r;
  ids = calloc(b->n_devices + 1, sizeof(*ids));
  if (!ids)
    r = ASR_ERR_NOMEM;
  for (size_t k = 0; !r && k < n; k++) {
    size_t dev = b->events[ev[k].i].device;
    r = device_id(st, site_id, b, dev, ids);
    if (r || ids[dev] < 0)
      continue;
    r = ev[k].clear ? clear_one(st, ids[dev], b, &ev[k], out)
                    : raise_one(st, ids[dev], b, &ev[k], out);
  }
  free(ids);
  free(ev);
  if (!r && out->untracked)
    asr_log(ASR_LOG_WARN,
            "batch %s: %zu alerts not tracked: their device has %d open alerts already",
            b->batch_id, out->untracked, CALERTS_OPEN_MAX);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Listings and mail bookkeeping. */

static const char *col(cdb_stmt *s, int i)
{
  const char *v = cdb_col_text(s, i);

  return v ? v : "";
}

static void row_read(cdb_stmt *s, calerts_row *a)
{
  a->id = cdb_col_i64(s, 0);
  a->device_id = cdb_col_i64(s, 1);
  a->site_id = cdb_col_i64(s, 2);
  a->site = col(s, 3);
  a->device = col(s, 4);
  a->serial = col(s, 5);
  a->model = col(s, 6);
  a->ip = col(s, 7);
  a->severity = col(s, 8);
  a->code = col(s, 9);
  a->group = col(s, 10);
  a->group_index = cdb_col_i64(s, 11);
  a->description = col(s, 12);
  a->summary = col(s, 13);
  a->raised_at = cdb_col_i64(s, 14);
  a->cleared_at = cdb_col_i64(s, 15);
  a->raise_mail = col(s, 16);
  a->clear_mail = col(s, 17);
  a->mail_to = col(s, 18);
  a->contact = col(s, 19);
  a->contact_name = col(s, 20);
}

/* Steps query s to its end, calling cb per row. */
static asr_result each_row(cdb_stmt *s, calerts_cb cb, void *ctx)
{
  bool row = true;
  asr_result r = ASR_OK;

  while (!r && row) {
    calerts_row a;
    r = cdb_step(s, "reading the alerts", &row);
    if (r || !row)
      break;
    row_read(s, &a);
    if (cb(&a, ctx))
      break;
  }
  if (!r)
    cdb_reset(s);
  return r;
}

asr_result calerts_foreach(cstore *st, const char *site, bool open_only, calerts_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  asr_result r = site ? cstore_site_exists(st, site) : ASR_OK;

  if (!r)
    r = stmt(st, X_LIST + (site ? 2 : 0) + (open_only ? 1 : 0), &s);
  if (r)
    return r;
  if (site)
    cdb_bind_text(s, 1, site);
  else
    cdb_bind_null(s, 1);
  return each_row(s, cb, ctx);
}

asr_result calerts_due(cstore *st, size_t max, calerts_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt(st, X_DUE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, max > INT64_MAX ? INT64_MAX : (int64_t)max);
  return each_row(s, cb, ctx);
}

asr_result calerts_mark_raise(cstore *st, int64_t id, const char *state, int64_t now,
                              const char *mail_to)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt(st, X_MARK_RAISE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_text(s, 2, state);
  cdb_bind_i64(s, 3, now);
  cdb_bind_text(s, 4, mail_to ? mail_to : "");
  return cdb_run(s, "recording an alert's mail");
}

asr_result calerts_mark_clear(cstore *st, int64_t id, const char *state)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt(st, X_MARK_CLEAR, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_text(s, 2, state);
  return cdb_run(s, "recording an alert's cleared notice");
}

asr_result calerts_mails_since(cstore *st, int64_t dev, int64_t since, int64_t *n)
{
  return query_int(st, X_MAILS_SINCE, dev, NULL, since, n);
}
