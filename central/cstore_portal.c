/* cstore_portal.c: the supplies portal's tables (schema step 12) and every SQL statement of
 * the portal (cstore_portal.h). The handle and its error conversion are cstore.c's
 * (cstore_int.h).
 *
 * Why its statements are prepared per call (asr_sql_prep) instead of in a range of the
 * handle's statement cache: they are many (some thirty), and each runs a few times per page
 * view or sign-in, where preparing one costs microseconds; the cache's ranges stay for the
 * hot paths (a batch's apply). Stepping goes through cstore_x_run/cstore_x_row, so errors
 * are converted as the others'. */
#include "central/cstore_portal.h"

#include <string.h>

#include "central/cstore_int.h"
#include "common/util.h"

/* staff           an account of the provider's staff: name, scrypt hash (wire/sign.h).
 * staff_tokens    its API token (one): the SHA-256 of the bearer token, when last used.
 * portal_links    one-time sign-in links: SHA-256 of the link's secret, the address it was
 *                 mailed to, its expiry and when it was used (0: not yet).
 * portal_sessions the SHA-256 of a session's cookie: staff_id (staff) or email (customer),
 *                 its forms' CSRF token, start, last request, absolute end.
 * portal_throttle attempts per key (an address, a client, a name) in the current window.
 * portal_requests customers' requests (extra toner, a change of contact) and the answer.
 * portal_audit    every denial and every staff action: who, from where, what, outcome. */
const char cportal_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS staff ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, changed_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS staff_tokens ("
    " hash TEXT PRIMARY KEY, staff_id INTEGER NOT NULL UNIQUE REFERENCES staff(id)"
    " ON DELETE CASCADE, created_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS portal_links ("
    " hash TEXT PRIMARY KEY, email TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, used_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS portal_sessions ("
    " hash TEXT PRIMARY KEY, staff_id INTEGER REFERENCES staff(id) ON DELETE CASCADE,"
    " email TEXT, csrf TEXT NOT NULL, created_at INTEGER NOT NULL, seen_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, CHECK ((staff_id IS NULL) <> (email IS NULL)))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS portal_throttle ("
    " key TEXT PRIMARY KEY, since INTEGER NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS portal_requests ("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('toner', 'contact')),"
    " email TEXT NOT NULL, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " contact_id INTEGER REFERENCES contacts(id), device_id INTEGER REFERENCES devices(id),"
    " supply_idx INTEGER, quantity INTEGER, job_from INTEGER, job_to INTEGER,"
    " new_name TEXT, new_email TEXT, new_address TEXT, note TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused')),"
    " created_at INTEGER NOT NULL, decided_at INTEGER NOT NULL DEFAULT 0, decided_by TEXT,"
    " answer TEXT, order_id INTEGER);"
    "CREATE INDEX IF NOT EXISTS portal_requests_email ON portal_requests(email, id);"
    "CREATE TABLE IF NOT EXISTS portal_audit ("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, ip TEXT NOT NULL,"
    " action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS portal_audit_at ON portal_audit(at);";

#define LINK_KEEP 86400 /* seconds a used or expired link is kept (to say why it fails) */
#define SEEN_EVERY 60   /* a session's last request is written at most once a minute */

/* ---------------------------------------------------------------------------------------
 * Statements. */

/* Prepares sql on the store's handle, uncached (the caller finalizes); errors converted. */
static asr_result prep(cstore *st, const char *sql, sqlite3_stmt **s)
{
  return asr_sql_prep(&st->sql, sql, s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(s, i);
}

/* Runs sql with text arguments a, b (NULL: unbound) and integer arguments i3, i4. */
static asr_result run4(cstore *st, const char *sql, const char *a, const char *b, int64_t i3,
                       int64_t i4, const char *what, int *changes)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st, sql, &s);

  if (r)
    return r;
  bind_text(s, 1, a);
  bind_text(s, 2, b);
  sqlite3_bind_int64(s, 3, i3);
  sqlite3_bind_int64(s, 4, i4);
  r = cstore_x_run(st, s, what);
  if (changes)
    *changes = sqlite3_changes(cstore_sqlite(st));
  sqlite3_finalize(s);
  return r;
}

static const char *col(sqlite3_stmt *s, int i)
{
  const unsigned char *v = sqlite3_column_text(s, i);

  return v ? (const char *)v : "";
}

static const char *col_or_null(sqlite3_stmt *s, int i)
{
  return sqlite3_column_type(s, i) == SQLITE_NULL ? NULL : col(s, i);
}

/* ---------------------------------------------------------------------------------------
 * Staff. */

asr_result cportal_staff_add(cstore *st, const char *name, const char *pwhash, int64_t now)
{
  int64_t id = 0;
  char h[8];

  if (cportal_staff_get(st, name, &id, h, sizeof(h)) != ASR_ERR_NOT_FOUND)
    return ASR_ERR_INVALID;
  return run4(st,
              "INSERT INTO staff (name, pwhash, created_at, changed_at) VALUES (?1, ?2, ?3, ?3)",
              name, pwhash, now, 0, "adding a staff account", NULL);
}

asr_result cportal_staff_password(cstore *st, const char *name, const char *pwhash, int64_t now)
{
  int n = 0;
  asr_result r = run4(st, "UPDATE staff SET pwhash = ?2, changed_at = ?3 WHERE name = ?1", name,
                      pwhash, now, 0, "setting a password", &n);

  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_staff_get(cstore *st, const char *name, int64_t *id, char *pwhash, size_t n)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = prep(st, "SELECT id, pwhash FROM staff WHERE name = ?1", &s);

  if (r)
    return r;
  bind_text(s, 1, name);
  r = cstore_x_row(st, s, "looking up a staff account", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *id = sqlite3_column_int64(s, 0);
    if (asr_strlcpy(pwhash, col(s, 1), n) != ASR_OK)
      pwhash[0] = '\0'; /* a short buffer: the caller only wanted the id */
  }
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_staff_remove(cstore *st, const char *name)
{
  int n = 0;
  asr_result r = run4(st,
                      "DELETE FROM portal_sessions WHERE staff_id = (SELECT id FROM staff"
                      " WHERE name = ?1)",
                      name, NULL, 0, 0, "ending a staff account's sessions", NULL);

  if (!r)
    r = run4(st, "DELETE FROM staff_tokens WHERE staff_id = (SELECT id FROM staff WHERE name = ?1)",
             name, NULL, 0, 0, "revoking a staff token", NULL);
  if (!r)
    r = run4(st, "DELETE FROM staff WHERE name = ?1", name, NULL, 0, 0, "removing a staff account",
             &n);
  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_staff_foreach(cstore *st, int64_t now, cportal_staff_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = prep(st,
                      "SELECT s.id, s.name, s.created_at, s.changed_at,"
                      " (SELECT count(*) FROM portal_sessions p WHERE p.staff_id = s.id"
                      "  AND p.expires_at > ?1), t.hash IS NOT NULL, coalesce(t.last_used, 0)"
                      " FROM staff s LEFT JOIN staff_tokens t ON t.staff_id = s.id ORDER BY s.name",
                      &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, now);
  while (!r && row) {
    r = cstore_x_row(st, s, "listing the staff", &row);
    if (r || !row)
      break;
    cportal_staff a = {sqlite3_column_int64(s, 0), col(s, 1),
                       sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                       sqlite3_column_int64(s, 4), sqlite3_column_int(s, 5) != 0,
                       sqlite3_column_int64(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_token_set(cstore *st, int64_t staff_id, const char *hash, int64_t now)
{
  asr_result r = run4(st, "DELETE FROM staff_tokens WHERE staff_id = ?3", NULL, NULL, staff_id, 0,
                      "replacing a staff token", NULL);

  if (!r)
    r = run4(st, "INSERT INTO staff_tokens (hash, staff_id, created_at) VALUES (?1, ?3, ?4)", hash,
             NULL, staff_id, now, "storing a staff token", NULL);
  return r;
}

asr_result cportal_token_revoke(cstore *st, const char *name)
{
  int n = 0;
  asr_result r = run4(st,
                      "DELETE FROM staff_tokens WHERE staff_id = (SELECT id FROM staff"
                      " WHERE name = ?1)",
                      name, NULL, 0, 0, "revoking a staff token", &n);

  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_token_staff(cstore *st, const char *hash, int64_t now, int64_t *staff_id,
                               char *name, size_t n)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = prep(st,
                      "SELECT s.id, s.name, t.last_used FROM staff_tokens t"
                      " JOIN staff s ON s.id = t.staff_id WHERE t.hash = ?1",
                      &s);
  int64_t used = 0;

  if (r)
    return r;
  bind_text(s, 1, hash);
  r = cstore_x_row(st, s, "checking a staff token", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *staff_id = sqlite3_column_int64(s, 0);
    used = sqlite3_column_int64(s, 2);
    r = asr_strlcpy(name, col(s, 1), n);
  }
  sqlite3_finalize(s);
  if (!r && now - used >= SEEN_EVERY)
    r = run4(st, "UPDATE staff_tokens SET last_used = ?3 WHERE hash = ?1", hash, NULL, now, 0,
             "recording a staff token's use", NULL);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Sign-in links. */

asr_result cportal_link_add(cstore *st, const char *hash, const char *email, int64_t now,
                            int64_t expires)
{
  return run4(st,
              "INSERT INTO portal_links (hash, email, created_at, expires_at)"
              " VALUES (?1, ?2, ?3, ?4)",
              hash, email, now, expires, "storing a sign-in link", NULL);
}

/* Why the link of hash did not sign in (it was not used by this call). */
static asr_result link_why(cstore *st, const char *hash, int64_t now, cportal_link_state *state)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = prep(st, "SELECT used_at, expires_at FROM portal_links WHERE hash = ?1", &s);

  if (r)
    return r;
  bind_text(s, 1, hash);
  r = cstore_x_row(st, s, "looking up a sign-in link", &row);
  if (!r)
    *state = !row                                ? CPORTAL_LINK_UNKNOWN
             : sqlite3_column_int64(s, 0) != 0   ? CPORTAL_LINK_USED
             : sqlite3_column_int64(s, 1) <= now ? CPORTAL_LINK_EXPIRED
                                                 : CPORTAL_LINK_UNKNOWN;
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_link_use(cstore *st, const char *hash, int64_t now, cportal_link_state *state,
                            char *email, size_t n)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  /* one statement: of several requests at once with the same link, one changes the row */
  asr_result r = prep(st,
                      "UPDATE portal_links SET used_at = ?2 WHERE hash = ?1 AND used_at = 0"
                      " AND expires_at > ?2 RETURNING email",
                      &s);

  *state = CPORTAL_LINK_UNKNOWN;
  email[0] = '\0';
  if (r)
    return r;
  bind_text(s, 1, hash);
  sqlite3_bind_int64(s, 2, now);
  r = cstore_x_row(st, s, "using a sign-in link", &row);
  if (!r && row)
    r = asr_strlcpy(email, col(s, 0), n);
  if (!r && row)
    *state = CPORTAL_LINK_OK;
  if (!r) /* RETURNING: the change is made when the statement ends */
    r = sqlite3_step(s) == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
  sqlite3_finalize(s);
  if (!r && !row)
    r = link_why(st, hash, now, state);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Sessions. */

asr_result cportal_session_add(cstore *st, const char *hash, const cportal_session *a)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "INSERT INTO portal_sessions (hash, staff_id, email, csrf, created_at,"
                      " seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, hash);
  if (a->staff_id > 0)
    sqlite3_bind_int64(s, 2, a->staff_id);
  else
    sqlite3_bind_null(s, 2);
  bind_text(s, 3, a->staff_id > 0 ? NULL : a->who);
  bind_text(s, 4, a->csrf);
  sqlite3_bind_int64(s, 5, a->created_at);
  sqlite3_bind_int64(s, 6, a->expires_at);
  r = cstore_x_run(st, s, "storing a session");
  sqlite3_finalize(s);
  return r;
}

static asr_result session_read(cstore *st, const char *hash, cportal_session *out, bool *found)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT coalesce(p.staff_id, 0), coalesce(s.name, p.email), p.csrf,"
                      " p.created_at, p.seen_at, p.expires_at FROM portal_sessions p"
                      " LEFT JOIN staff s ON s.id = p.staff_id WHERE p.hash = ?1",
                      &s);

  *found = false;
  if (r)
    return r;
  bind_text(s, 1, hash);
  r = cstore_x_row(st, s, "looking up a session", found);
  if (!r && *found) {
    out->staff_id = sqlite3_column_int64(s, 0);
    out->created_at = sqlite3_column_int64(s, 3);
    out->seen_at = sqlite3_column_int64(s, 4);
    out->expires_at = sqlite3_column_int64(s, 5);
    if (asr_strlcpy(out->who, col(s, 1), sizeof(out->who)) ||
        asr_strlcpy(out->csrf, col(s, 2), sizeof(out->csrf)))
      *found = false; /* not ours: treated as unknown */
  }
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_session_get(cstore *st, const char *hash, int64_t now, int64_t idle,
                               cportal_session *out, cportal_session_state *state)
{
  bool found = false;
  asr_result r = session_read(st, hash, out, &found);

  *state = CPORTAL_SESSION_UNKNOWN;
  if (r || !found)
    return r;
  if (now >= out->expires_at)
    *state = CPORTAL_SESSION_EXPIRED;
  else if (now - out->seen_at >= idle)
    *state = CPORTAL_SESSION_IDLE;
  else
    *state = CPORTAL_SESSION_OK;
  if (*state != CPORTAL_SESSION_OK)
    return cportal_session_end(st, hash);
  if (now - out->seen_at >= SEEN_EVERY)
    r = run4(st, "UPDATE portal_sessions SET seen_at = ?3 WHERE hash = ?1", hash, NULL, now, 0,
             "recording a session's request", NULL);
  return r;
}

asr_result cportal_session_end(cstore *st, const char *hash)
{
  return run4(st, "DELETE FROM portal_sessions WHERE hash = ?1", hash, NULL, 0, 0,
              "ending a session", NULL);
}

asr_result cportal_prune(cstore *st, int64_t now, int64_t idle, int keep_days)
{
  asr_result r = run4(st, "DELETE FROM portal_sessions WHERE expires_at <= ?3 OR seen_at <= ?4",
                      NULL, NULL, now, now - idle, "pruning sessions", NULL);

  if (!r)
    r = run4(st, "DELETE FROM portal_links WHERE expires_at <= ?3", NULL, NULL, now - LINK_KEEP, 0,
             "pruning sign-in links", NULL);
  if (!r)
    r = run4(st, "DELETE FROM portal_throttle WHERE since <= ?3", NULL, NULL, now - 86400, 0,
             "pruning the throttle", NULL);
  if (!r && keep_days > 0)
    r = run4(st, "DELETE FROM portal_audit WHERE at <= ?3", NULL, NULL,
             now - (int64_t)keep_days * 86400, 0, "pruning the audit trail", NULL);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Throttle: one statement counts the attempt (a new window when the last one is over). */

asr_result cportal_throttle(cstore *st, const char *key, int64_t now, int64_t window, int max,
                            bool *allowed)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = prep(st,
                      "INSERT INTO portal_throttle (key, since, n) VALUES (?1, ?2, 1)"
                      " ON CONFLICT (key) DO UPDATE SET"
                      " n = CASE WHEN since <= ?2 - ?3 THEN 1 ELSE n + 1 END,"
                      " since = CASE WHEN since <= ?2 - ?3 THEN ?2 ELSE since END"
                      " RETURNING n",
                      &s);

  *allowed = false;
  if (r)
    return r;
  bind_text(s, 1, key);
  sqlite3_bind_int64(s, 2, now);
  sqlite3_bind_int64(s, 3, window);
  r = cstore_x_row(st, s, "counting a sign-in attempt", &row);
  if (!r && row)
    *allowed = sqlite3_column_int64(s, 0) <= max;
  if (!r && row)
    r = sqlite3_step(s) == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
  sqlite3_finalize(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Audit. */

/* s cut to at most 255 bytes (on a UTF-8 boundary) into buf. */
static const char *cut(const char *s, char *buf, size_t n)
{
  size_t len = s ? strlen(s) : 0;

  if (len >= n) {
    len = n - 1;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
      len--;
  }
  if (len)
    memcpy(buf, s, len);
  buf[len] = '\0';
  return buf;
}

asr_result cportal_audit(cstore *st, const cportal_audit_row *a)
{
  char b[6][256];
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "INSERT INTO portal_audit (at, actor, ip, action, target, outcome, detail)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, a->at);
  bind_text(s, 2, cut(a->actor && *a->actor ? a->actor : "-", b[0], sizeof(b[0])));
  bind_text(s, 3, cut(a->ip, b[1], sizeof(b[1])));
  bind_text(s, 4, cut(a->action, b[2], sizeof(b[2])));
  bind_text(s, 5, cut(a->target, b[3], sizeof(b[3])));
  bind_text(s, 6, cut(a->outcome, b[4], sizeof(b[4])));
  bind_text(s, 7, cut(a->detail, b[5], sizeof(b[5])));
  r = cstore_x_run(st, s, "writing the audit trail");
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_audit_foreach(cstore *st, const char *actor, int64_t limit, cportal_audit_cb cb,
                                 void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = prep(st,
                      "SELECT id, at, actor, ip, action, target, outcome, detail FROM portal_audit"
                      " WHERE ?1 IS NULL OR actor = ?1 ORDER BY id DESC LIMIT ?2",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, actor);
  sqlite3_bind_int64(s, 2, limit);
  while (!r && row) {
    r = cstore_x_row(st, s, "reading the audit trail", &row);
    if (r || !row)
      break;
    cportal_audit_row a = {sqlite3_column_int64(s, 0),
                           sqlite3_column_int64(s, 1),
                           col(s, 2),
                           col(s, 3),
                           col(s, 4),
                           col(s, 5),
                           col(s, 6),
                           col(s, 7)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * A customer's scope. Every query of it names the e-mail address: there is no way to ask
 * for a site, a contact or a device without it. */

asr_result cportal_email_known(cstore *st, const char *email, bool *known, int64_t *site_id)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT site_id FROM contacts WHERE lower(email) = lower(?1)"
                      " ORDER BY site_id LIMIT 1",
                      &s);

  *known = false;
  if (r)
    return r;
  bind_text(s, 1, email);
  r = cstore_x_row(st, s, "looking up an address", known);
  if (!r && *known)
    *site_id = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_customer_sites(cstore *st, const char *email, cportal_name_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = prep(st,
                      "SELECT DISTINCT s.name FROM contacts c JOIN sites s ON s.id = c.site_id"
                      " WHERE lower(c.email) = lower(?1) ORDER BY s.name",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, email);
  while (!r && row) {
    r = cstore_x_row(st, s, "listing a customer's sites", &row);
    if (!r && row && cb(col(s, 0), ctx))
      break;
  }
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_customer_contact(cstore *st, const char *email, const char *site,
                                    cportal_contact *out)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  asr_result r = prep(st,
                      "SELECT c.id, c.site_id, c.name, c.email, c.address FROM contacts c"
                      " JOIN sites s ON s.id = c.site_id"
                      " WHERE s.name = ?2 AND lower(c.email) = lower(?1)",
                      &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  bind_text(s, 1, email);
  bind_text(s, 2, site);
  r = cstore_x_row(st, s, "looking up a customer's contact", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    out->id = sqlite3_column_int64(s, 0);
    out->site_id = sqlite3_column_int64(s, 1);
    if (asr_strlcpy(out->name, col(s, 2), sizeof(out->name)) ||
        asr_strlcpy(out->email, col(s, 3), sizeof(out->email)) ||
        asr_strlcpy(out->address, col(s, 4), sizeof(out->address)))
      r = ASR_ERR_LIMIT;
  }
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_customer_device(cstore *st, const char *email, const char *site,
                                   const char *serial, int64_t *dev, int64_t *contact)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  /* the device's contact: the one assigned, else the site's first (as the engine does) */
  asr_result r = prep(st,
                      "SELECT d.id, c.id FROM devices d JOIN sites s ON s.id = d.site_id"
                      " LEFT JOIN device_contacts dc ON dc.device_id = d.id"
                      " JOIN contacts c ON c.id = coalesce(dc.contact_id, (SELECT min(c2.id)"
                      "  FROM contacts c2 WHERE c2.site_id = d.site_id))"
                      " WHERE s.name = ?2 AND (d.serial = ?3 OR d.key = ?3)"
                      " AND lower(c.email) = lower(?1) ORDER BY d.serial = ?3 DESC LIMIT 1",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, email);
  bind_text(s, 2, site);
  bind_text(s, 3, serial);
  r = cstore_x_row(st, s, "looking up a customer's device", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *dev = sqlite3_column_int64(s, 0);
    *contact = sqlite3_column_int64(s, 1);
  }
  sqlite3_finalize(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Requests. */

static void bind_opt_int(sqlite3_stmt *s, int i, int64_t v, bool set)
{
  if (set)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

asr_result cportal_request_add(cstore *st, const cportal_request *q, int64_t now, int64_t *id)
{
  sqlite3_stmt *s = NULL;
  bool toner = q->kind && strcmp(q->kind, "toner") == 0;
  asr_result r = prep(st,
                      "INSERT INTO portal_requests (kind, email, site_id, contact_id, device_id,"
                      " supply_idx, quantity, job_from, job_to, new_name, new_email, new_address,"
                      " note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                      " ?12, ?13, ?14)",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, q->kind);
  bind_text(s, 2, q->email);
  sqlite3_bind_int64(s, 3, q->site_id);
  bind_opt_int(s, 4, q->contact_id, q->contact_id > 0);
  bind_opt_int(s, 5, q->device_id, toner);
  bind_opt_int(s, 6, q->supply_idx, toner);
  bind_opt_int(s, 7, q->quantity, toner);
  bind_opt_int(s, 8, q->job_from, toner);
  bind_opt_int(s, 9, q->job_to, toner);
  bind_text(s, 10, q->new_name);
  bind_text(s, 11, q->new_email);
  bind_text(s, 12, q->new_address);
  bind_text(s, 13, q->note ? q->note : "");
  sqlite3_bind_int64(s, 14, now);
  r = cstore_x_run(st, s, "storing a request");
  if (!r)
    *id = sqlite3_last_insert_rowid(cstore_sqlite(st));
  sqlite3_finalize(s);
  return r;
}

#define REQUEST_SELECT                                                                             \
  "SELECT r.id, r.kind, r.email, r.state, r.site_id, coalesce(r.contact_id, 0),"                   \
  " coalesce(r.device_id, 0), s.name, coalesce(d.serial, d.key), coalesce(u.description,"          \
  " u.type), coalesce(r.supply_idx, 0), coalesce(r.quantity, 0), coalesce(r.job_from, 0),"         \
  " coalesce(r.job_to, 0), r.new_name, r.new_email, r.new_address, r.note, r.answer,"              \
  " r.decided_by, r.created_at, r.decided_at, coalesce(r.order_id, 0)"                             \
  " FROM portal_requests r JOIN sites s ON s.id = r.site_id"                                       \
  " LEFT JOIN devices d ON d.id = r.device_id"                                                     \
  " LEFT JOIN supplies u ON u.device_id = r.device_id AND u.idx = r.supply_idx"

static void request_read(sqlite3_stmt *s, cportal_request *q)
{
  *q = (cportal_request){.id = sqlite3_column_int64(s, 0),
                         .kind = col(s, 1),
                         .email = col(s, 2),
                         .state = col(s, 3),
                         .site_id = sqlite3_column_int64(s, 4),
                         .contact_id = sqlite3_column_int64(s, 5),
                         .device_id = sqlite3_column_int64(s, 6),
                         .site = col(s, 7),
                         .serial = col_or_null(s, 8),
                         .supply = col_or_null(s, 9),
                         .supply_idx = sqlite3_column_int(s, 10),
                         .quantity = sqlite3_column_int(s, 11),
                         .job_from = sqlite3_column_int64(s, 12),
                         .job_to = sqlite3_column_int64(s, 13),
                         .new_name = col_or_null(s, 14),
                         .new_email = col_or_null(s, 15),
                         .new_address = col_or_null(s, 16),
                         .note = col(s, 17),
                         .answer = col_or_null(s, 18),
                         .decided_by = col_or_null(s, 19),
                         .created_at = sqlite3_column_int64(s, 20),
                         .decided_at = sqlite3_column_int64(s, 21),
                         .order_id = sqlite3_column_int64(s, 22)};
}

static asr_result request_rows(cstore *st, sqlite3_stmt *s, cportal_request_cb cb, void *ctx,
                               int *n)
{
  bool row = true;
  asr_result r = ASR_OK;

  while (!r && row) {
    cportal_request q;
    r = cstore_x_row(st, s, "reading the requests", &row);
    if (r || !row)
      break;
    request_read(s, &q);
    (*n)++;
    if (cb(&q, ctx))
      break;
  }
  return r;
}

asr_result cportal_request_foreach(cstore *st, const char *email, int64_t limit,
                                   cportal_request_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  int n = 0;
  asr_result r = prep(st,
                      REQUEST_SELECT " WHERE ?1 IS NULL OR lower(r.email) = lower(?1)"
                                     " ORDER BY r.state = 'pending' DESC, r.id DESC LIMIT ?2",
                      &s);

  if (r)
    return r;
  bind_text(s, 1, email);
  sqlite3_bind_int64(s, 2, limit);
  r = request_rows(st, s, cb, ctx, &n);
  sqlite3_finalize(s);
  return r;
}

asr_result cportal_request_get(cstore *st, int64_t id, cportal_request_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  int n = 0;
  asr_result r = prep(st, REQUEST_SELECT " WHERE r.id = ?1", &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = request_rows(st, s, cb, ctx, &n);
  sqlite3_finalize(s);
  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_request_decide(cstore *st, int64_t id, const char *state, const char *by,
                                  const char *answer, int64_t order_id, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "UPDATE portal_requests SET state = ?2, decided_by = ?3, answer = ?4,"
                      " order_id = ?5, decided_at = ?6 WHERE id = ?1 AND state = 'pending'",
                      &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  bind_text(s, 2, state);
  bind_text(s, 3, by);
  bind_text(s, 4, answer);
  bind_opt_int(s, 5, order_id, order_id > 0);
  sqlite3_bind_int64(s, 6, now);
  r = cstore_x_run(st, s, "deciding a request");
  if (!r && sqlite3_changes(cstore_sqlite(st)) != 1)
    r = ASR_ERR_INVALID;
  sqlite3_finalize(s);
  return r;
}

int64_t cportal_request_pending(cstore *st)
{
  sqlite3_stmt *s = NULL;
  bool row = false;
  int64_t n = -1;

  if (prep(st, "SELECT count(*) FROM portal_requests WHERE state = 'pending'", &s))
    return -1;
  if (cstore_x_row(st, s, "counting the requests", &row) == ASR_OK && row)
    n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return n;
}
