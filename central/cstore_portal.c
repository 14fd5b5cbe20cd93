/* cstore_portal.c: the supplies portal's tables (schema step 12) and every SQL statement of
 * the portal (cstore_portal.h), written once for both backends (central/cdb.h,
 * docs/postgresql-backend.md). The handle and its error conversion are cstore.c's
 * (cstore_int.h); the statements live in the handle's cache (CSTORE_SLOTS_PORTAL).
 *
 * Several nodes on one PostgreSQL database: nothing of a session, a sign-in link or a
 * throttle is kept in a node's memory, and what must happen once is one statement whose
 * row lock decides (a link is used by the one UPDATE that finds it unused; a second node's
 * waits for the first to commit, then finds it used). A session ended on one node is gone
 * for all (its CSRF token is a column of its row). */
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

typedef enum {
  P_STAFF_ADD,
  P_STAFF_PASSWORD,
  P_STAFF_GET,
  P_STAFF_SESSIONS_END,
  P_STAFF_TOKEN_REVOKE,
  P_STAFF_DEL,
  P_STAFF_LIST,
  P_TOKEN_DEL,
  P_TOKEN_ADD,
  P_TOKEN_STAFF,
  P_TOKEN_USED,
  P_LINK_ADD,
  P_LINK_WHY,
  P_LINK_USE,
  P_SESSION_ADD,
  P_SESSION_READ,
  P_SESSION_SEEN,
  P_SESSION_END,
  P_PRUNE_SESSIONS,
  P_PRUNE_LINKS,
  P_PRUNE_THROTTLE,
  P_PRUNE_AUDIT,
  P_THROTTLE,
  P_AUDIT_ADD,
  P_AUDIT_LIST,
  P_EMAIL_KNOWN,
  P_CUSTOMER_SITES,
  P_CUSTOMER_CONTACT,
  P_CUSTOMER_DEVICE,
  P_REQUEST_ADD,
  P_REQUEST_LIST,
  P_REQUEST_GET,
  P_REQUEST_DECIDE,
  P_REQUEST_PENDING,
  P_REQUEST_LOCK,
  P_COUNT
} stmt_id;

#define REQUEST_SELECT                                                                             \
  "SELECT r.id, r.kind, r.email, r.state, r.site_id, coalesce(r.contact_id, 0),"                   \
  " coalesce(r.device_id, 0), s.name, coalesce(d.serial, d.key), coalesce(u.description,"          \
  " u.type), coalesce(r.supply_idx, 0), coalesce(r.quantity, 0), coalesce(r.job_from, 0),"         \
  " coalesce(r.job_to, 0), r.new_name, r.new_email, r.new_address, r.note, r.answer,"              \
  " r.decided_by, r.created_at, r.decided_at, coalesce(r.order_id, 0)"                             \
  " FROM portal_requests r JOIN sites s ON s.id = r.site_id"                                       \
  " LEFT JOIN devices d ON d.id = r.device_id"                                                     \
  " LEFT JOIN supplies u ON u.device_id = r.device_id AND u.idx = r.supply_idx"

static const char *const stmt_sql[P_COUNT] = {
    [P_STAFF_ADD] =
        "INSERT INTO staff (name, pwhash, created_at, changed_at) VALUES (?1, ?2, ?3, ?3)",
    [P_STAFF_PASSWORD] = "UPDATE staff SET pwhash = ?2, changed_at = ?3 WHERE name = ?1",
    [P_STAFF_GET] = "SELECT id, pwhash FROM staff WHERE name = ?1",
    [P_STAFF_SESSIONS_END] =
        "DELETE FROM portal_sessions WHERE staff_id = (SELECT id FROM staff WHERE name = ?1)",
    [P_STAFF_TOKEN_REVOKE] =
        "DELETE FROM staff_tokens WHERE staff_id = (SELECT id FROM staff WHERE name = ?1)",
    [P_STAFF_DEL] = "DELETE FROM staff WHERE name = ?1",
    [P_STAFF_LIST] = "SELECT s.id, s.name, s.created_at, s.changed_at,"
                     " (SELECT count(*) FROM portal_sessions p WHERE p.staff_id = s.id"
                     "  AND p.expires_at > ?1), t.hash IS NOT NULL, coalesce(t.last_used, 0)"
                     " FROM staff s LEFT JOIN staff_tokens t ON t.staff_id = s.id ORDER BY s.name",
    [P_TOKEN_DEL] = "DELETE FROM staff_tokens WHERE staff_id = ?1",
    [P_TOKEN_ADD] = "INSERT INTO staff_tokens (hash, staff_id, created_at) VALUES (?1, ?2, ?3)",
    [P_TOKEN_STAFF] = "SELECT s.id, s.name, t.last_used FROM staff_tokens t"
                      " JOIN staff s ON s.id = t.staff_id WHERE t.hash = ?1",
    [P_TOKEN_USED] = "UPDATE staff_tokens SET last_used = ?2 WHERE hash = ?1",
    [P_LINK_ADD] = "INSERT INTO portal_links (hash, email, created_at, expires_at)"
                   " VALUES (?1, ?2, ?3, ?4)",
    [P_LINK_WHY] = "SELECT used_at, expires_at FROM portal_links WHERE hash = ?1",
    /* one statement: of several requests at once with the same link (on any node), one
     * changes the row; the others wait for its lock, then find it used */
    [P_LINK_USE] = "UPDATE portal_links SET used_at = ?2 WHERE hash = ?1 AND used_at = 0"
                   " AND expires_at > ?2 RETURNING email",
    [P_SESSION_ADD] = "INSERT INTO portal_sessions (hash, staff_id, email, csrf, created_at,"
                      " seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
    [P_SESSION_READ] = "SELECT coalesce(p.staff_id, 0), coalesce(s.name, p.email), p.csrf,"
                       " p.created_at, p.seen_at, p.expires_at FROM portal_sessions p"
                       " LEFT JOIN staff s ON s.id = p.staff_id WHERE p.hash = ?1",
    [P_SESSION_SEEN] = "UPDATE portal_sessions SET seen_at = ?2 WHERE hash = ?1",
    [P_SESSION_END] = "DELETE FROM portal_sessions WHERE hash = ?1",
    [P_PRUNE_SESSIONS] = "DELETE FROM portal_sessions WHERE expires_at <= ?1 OR seen_at <= ?2",
    [P_PRUNE_LINKS] = "DELETE FROM portal_links WHERE expires_at <= ?1",
    [P_PRUNE_THROTTLE] = "DELETE FROM portal_throttle WHERE since <= ?1",
    [P_PRUNE_AUDIT] = "DELETE FROM portal_audit WHERE at <= ?1",
    /* counts the attempt: a new window when the last one began at ?3 or before */
    [P_THROTTLE] = "INSERT INTO portal_throttle (key, since, n) VALUES (?1, ?2, 1)"
                   " ON CONFLICT (key) DO UPDATE SET"
                   " n = CASE WHEN portal_throttle.since <= ?3 THEN 1 ELSE portal_throttle.n + 1"
                   " END, since = CASE WHEN portal_throttle.since <= ?3 THEN ?2"
                   " ELSE portal_throttle.since END RETURNING n",
    [P_AUDIT_ADD] = "INSERT INTO portal_audit (at, actor, ip, action, target, outcome, detail)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [P_AUDIT_LIST] = "SELECT id, at, actor, ip, action, target, outcome, detail FROM portal_audit"
                     " WHERE CAST(?1 AS TEXT) IS NULL OR actor = ?1 ORDER BY id DESC LIMIT ?2",
    [P_EMAIL_KNOWN] = "SELECT site_id FROM contacts WHERE lower(email) = lower(?1)"
                      " ORDER BY site_id LIMIT 1",
    [P_CUSTOMER_SITES] = "SELECT DISTINCT s.name FROM contacts c JOIN sites s ON s.id = c.site_id"
                         " WHERE lower(c.email) = lower(?1) ORDER BY s.name",
    [P_CUSTOMER_CONTACT] = "SELECT c.id, c.site_id, c.name, c.email, c.address FROM contacts c"
                           " JOIN sites s ON s.id = c.site_id"
                           " WHERE s.name = ?2 AND lower(c.email) = lower(?1)",
    /* the device's contact: the one assigned, else the site's first (as the engine does);
     * a serial's match before a key's (CASE: a NULL serial sorts alike on both backends) */
    [P_CUSTOMER_DEVICE] =
        "SELECT d.id, c.id FROM devices d JOIN sites s ON s.id = d.site_id"
        " LEFT JOIN device_contacts dc ON dc.device_id = d.id"
        " JOIN contacts c ON c.id = coalesce(dc.contact_id, (SELECT min(c2.id)"
        "  FROM contacts c2 WHERE c2.site_id = d.site_id))"
        " WHERE s.name = ?2 AND (d.serial = ?3 OR d.key = ?3) AND lower(c.email) = lower(?1)"
        " ORDER BY CASE WHEN d.serial = ?3 THEN 1 ELSE 0 END DESC LIMIT 1",
    [P_REQUEST_ADD] = "INSERT INTO portal_requests (kind, email, site_id, contact_id, device_id,"
                      " supply_idx, quantity, job_from, job_to, new_name, new_email, new_address,"
                      " note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                      " ?12, ?13, ?14) RETURNING id",
    [P_REQUEST_LIST] = REQUEST_SELECT " WHERE CAST(?1 AS TEXT) IS NULL"
                                      " OR lower(r.email) = lower(?1)"
                                      " ORDER BY r.state = 'pending' DESC, r.id DESC LIMIT ?2",
    [P_REQUEST_GET] = REQUEST_SELECT " WHERE r.id = ?1",
    /* PostgreSQL only: "requ" and the address (SQLite's write lock serializes anyway) */
    [P_REQUEST_LOCK] = "SELECT pg_advisory_xact_lock(1919251317, hashtext(lower(?1)))",
    [P_REQUEST_DECIDE] = "UPDATE portal_requests SET state = ?2, decided_by = ?3, answer = ?4,"
                         " order_id = ?5, decided_at = ?6 WHERE id = ?1 AND state = 'pending'",
    [P_REQUEST_PENDING] = "SELECT count(*) FROM portal_requests WHERE state = 'pending'",
};

_Static_assert(CSTORE_SLOTS_PORTAL + P_COUNT <= CSTORE_SLOTS_END,
               "give this file more statement slots (cstore_int.h)");

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(cstore *st, stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_PORTAL + (size_t)id, stmt_sql[id], out);
}

/* One parameter of run(): a text (NULL binds NULL) or an integer. */
typedef struct {
  const char *text;
  int64_t i;
  bool is_i64;
} arg;

#define ARG_T(v) ((arg){.text = (v)})
#define ARG_I(v) ((arg){.i = (v), .is_i64 = true})
#define RUN(st, id, what, changes, ...)                                                            \
  run(st, id, what, changes, (const arg[]){__VA_ARGS__},                                           \
      sizeof((const arg[]){__VA_ARGS__}) / sizeof(arg))

/* Runs statement id with a[0..n) bound to ?1..?n; *changes (may be NULL): rows changed. */
static asr_result run(cstore *st, stmt_id id, const char *what, int64_t *changes, const arg *a,
                      size_t n)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, id, &s);

  if (r)
    return r;
  for (size_t i = 0; i < n; i++) {
    if (a[i].is_i64)
      cdb_bind_i64(s, (int)i + 1, a[i].i);
    else
      cdb_bind_text(s, (int)i + 1, a[i].text);
  }
  r = cdb_run(s, what);
  if (changes)
    *changes = r ? 0 : cdb_changes(s);
  return r;
}

static const char *col(cdb_stmt *s, int i)
{
  const char *v = cdb_col_text(s, i);

  return v ? v : "";
}

static const char *col_or_null(cdb_stmt *s, int i)
{
  return cdb_col_null(s, i) ? NULL : col(s, i);
}

static void bind_opt(cdb_stmt *s, int i, int64_t v, bool set)
{
  if (set)
    cdb_bind_i64(s, i, v);
  else
    cdb_bind_null(s, i);
}

/* ---------------------------------------------------------------------------------------
 * Staff. */

asr_result cportal_staff_add(cstore *st, const char *name, const char *pwhash, int64_t now)
{
  int64_t id = 0;
  char h[8];

  if (cportal_staff_get(st, name, &id, h, sizeof(h)) != ASR_ERR_NOT_FOUND)
    return ASR_ERR_INVALID;
  return RUN(st, P_STAFF_ADD, "adding a staff account", NULL, ARG_T(name), ARG_T(pwhash),
             ARG_I(now));
}

asr_result cportal_staff_password(cstore *st, const char *name, const char *pwhash, int64_t now)
{
  int64_t n = 0;
  asr_result r =
      RUN(st, P_STAFF_PASSWORD, "setting a password", &n, ARG_T(name), ARG_T(pwhash), ARG_I(now));

  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_staff_get(cstore *st, const char *name, int64_t *id, char *pwhash, size_t n)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_STAFF_GET, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, name);
  r = cdb_step(s, "looking up a staff account", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *id = cdb_col_i64(s, 0);
    if (asr_strlcpy(pwhash, col(s, 1), n) != ASR_OK)
      pwhash[0] = '\0'; /* a short buffer: the caller only wanted the id */
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_staff_remove(cstore *st, const char *name)
{
  int64_t n = 0;
  asr_result r =
      RUN(st, P_STAFF_SESSIONS_END, "ending a staff account's sessions", NULL, ARG_T(name));

  if (!r)
    r = RUN(st, P_STAFF_TOKEN_REVOKE, "revoking a staff token", NULL, ARG_T(name));
  if (!r)
    r = RUN(st, P_STAFF_DEL, "removing a staff account", &n, ARG_T(name));
  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_staff_foreach(cstore *st, int64_t now, cportal_staff_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, P_STAFF_LIST, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, now);
  for (;;) {
    r = cdb_step(s, "listing the staff", &row);
    if (r || !row)
      break;
    cportal_staff a = {cdb_col_i64(s, 0), col(s, 1),         cdb_col_i64(s, 2),
                       cdb_col_i64(s, 3), cdb_col_i64(s, 4), cdb_col_i64(s, 5) != 0,
                       cdb_col_i64(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_token_set(cstore *st, int64_t staff_id, const char *hash, int64_t now)
{
  asr_result r = RUN(st, P_TOKEN_DEL, "replacing a staff token", NULL, ARG_I(staff_id));

  if (!r)
    r = RUN(st, P_TOKEN_ADD, "storing a staff token", NULL, ARG_T(hash), ARG_I(staff_id),
            ARG_I(now));
  return r;
}

asr_result cportal_token_revoke(cstore *st, const char *name)
{
  int64_t n = 0;
  asr_result r = RUN(st, P_STAFF_TOKEN_REVOKE, "revoking a staff token", &n, ARG_T(name));

  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_token_staff(cstore *st, const char *hash, int64_t now, int64_t *staff_id,
                               char *name, size_t n)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_TOKEN_STAFF, &s);
  int64_t used = 0;

  if (r)
    return r;
  cdb_bind_text(s, 1, hash);
  r = cdb_step(s, "checking a staff token", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *staff_id = cdb_col_i64(s, 0);
    used = cdb_col_i64(s, 2);
    r = asr_strlcpy(name, col(s, 1), n);
  }
  cdb_reset(s);
  if (!r && now - used >= SEEN_EVERY)
    r = RUN(st, P_TOKEN_USED, "recording a staff token's use", NULL, ARG_T(hash), ARG_I(now));
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Sign-in links. */

asr_result cportal_link_add(cstore *st, const char *hash, const char *email, int64_t now,
                            int64_t expires)
{
  return RUN(st, P_LINK_ADD, "storing a sign-in link", NULL, ARG_T(hash), ARG_T(email), ARG_I(now),
             ARG_I(expires));
}

/* Why the link of hash did not sign in (it was not used by this call). */
static asr_result link_why(cstore *st, const char *hash, int64_t now, cportal_link_state *state)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_LINK_WHY, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, hash);
  r = cdb_step(s, "looking up a sign-in link", &row);
  if (!r)
    *state = !row                       ? CPORTAL_LINK_UNKNOWN
             : cdb_col_i64(s, 0) != 0   ? CPORTAL_LINK_USED
             : cdb_col_i64(s, 1) <= now ? CPORTAL_LINK_EXPIRED
                                        : CPORTAL_LINK_UNKNOWN;
  cdb_reset(s);
  return r;
}

asr_result cportal_link_use(cstore *st, const char *hash, int64_t now, cportal_link_state *state,
                            char *email, size_t n)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_LINK_USE, &s);

  *state = CPORTAL_LINK_UNKNOWN;
  email[0] = '\0';
  if (r)
    return r;
  cdb_bind_text(s, 1, hash);
  cdb_bind_i64(s, 2, now);
  r = cdb_step(s, "using a sign-in link", &row);
  if (!r && row)
    r = asr_strlcpy(email, col(s, 0), n);
  if (!r && row)
    *state = CPORTAL_LINK_OK;
  if (!r) /* RETURNING: the change is made when the statement ends */
    r = cdb_run(s, "using a sign-in link");
  else
    cdb_reset(s);
  if (r) {
    *state = CPORTAL_LINK_UNKNOWN;
    email[0] = '\0';
  }
  if (!r && !row)
    r = link_why(st, hash, now, state);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Sessions. */

asr_result cportal_session_add(cstore *st, const char *hash, const cportal_session *a)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, P_SESSION_ADD, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, hash);
  bind_opt(s, 2, a->staff_id, a->staff_id > 0);
  cdb_bind_text(s, 3, a->staff_id > 0 ? NULL : a->who);
  cdb_bind_text(s, 4, a->csrf);
  cdb_bind_i64(s, 5, a->created_at);
  cdb_bind_i64(s, 6, a->expires_at);
  return cdb_run(s, "storing a session");
}

static asr_result session_read(cstore *st, const char *hash, cportal_session *out, bool *found)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, P_SESSION_READ, &s);

  *found = false;
  if (r)
    return r;
  cdb_bind_text(s, 1, hash);
  r = cdb_step(s, "looking up a session", found);
  if (!r && *found) {
    out->staff_id = cdb_col_i64(s, 0);
    out->created_at = cdb_col_i64(s, 3);
    out->seen_at = cdb_col_i64(s, 4);
    out->expires_at = cdb_col_i64(s, 5);
    if (asr_strlcpy(out->who, col(s, 1), sizeof(out->who)) ||
        asr_strlcpy(out->csrf, col(s, 2), sizeof(out->csrf)))
      *found = false; /* not ours: treated as unknown */
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_session_get(cstore *st, const char *hash, int64_t now, int64_t idle,
                               cportal_session *out, cportal_session_state *state)
{
  bool found = false;
  int64_t n = 0;
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
  if (now - out->seen_at < SEEN_EVERY)
    return ASR_OK;
  r = RUN(st, P_SESSION_SEEN, "recording a session's request", &n, ARG_T(hash), ARG_I(now));
  if (!r && n == 0) /* ended in between (by another request or node) */
    *state = CPORTAL_SESSION_UNKNOWN;
  return r;
}

asr_result cportal_session_end(cstore *st, const char *hash)
{
  return RUN(st, P_SESSION_END, "ending a session", NULL, ARG_T(hash));
}

asr_result cportal_prune(cstore *st, int64_t now, int64_t idle, int keep_days)
{
  asr_result r = RUN(st, P_PRUNE_SESSIONS, "pruning sessions", NULL, ARG_I(now), ARG_I(now - idle));

  if (!r)
    r = RUN(st, P_PRUNE_LINKS, "pruning sign-in links", NULL, ARG_I(now - LINK_KEEP));
  if (!r)
    r = RUN(st, P_PRUNE_THROTTLE, "pruning the throttle", NULL, ARG_I(now - 86400));
  if (!r && keep_days > 0)
    r = RUN(st, P_PRUNE_AUDIT, "pruning the audit trail", NULL,
            ARG_I(now - (int64_t)keep_days * 86400));
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Throttle: one statement counts the attempt (a new window when the last one is over). */

asr_result cportal_throttle(cstore *st, const char *key, int64_t now, int64_t window, int max,
                            bool *allowed)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_THROTTLE, &s);

  *allowed = false;
  if (r)
    return r;
  cdb_bind_text(s, 1, key);
  cdb_bind_i64(s, 2, now);
  cdb_bind_i64(s, 3, now - window);
  r = cdb_step(s, "counting a sign-in attempt", &row);
  if (!r && row)
    *allowed = cdb_col_i64(s, 0) <= max;
  if (!r) /* RETURNING: the change is made when the statement ends */
    r = cdb_run(s, "counting a sign-in attempt");
  else
    cdb_reset(s);
  if (r)
    *allowed = false;
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
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, P_AUDIT_ADD, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, a->at);
  cdb_bind_text(s, 2, cut(a->actor && *a->actor ? a->actor : "-", b[0], sizeof(b[0])));
  cdb_bind_text(s, 3, cut(a->ip, b[1], sizeof(b[1])));
  cdb_bind_text(s, 4, cut(a->action, b[2], sizeof(b[2])));
  cdb_bind_text(s, 5, cut(a->target, b[3], sizeof(b[3])));
  cdb_bind_text(s, 6, cut(a->outcome, b[4], sizeof(b[4])));
  cdb_bind_text(s, 7, cut(a->detail, b[5], sizeof(b[5])));
  return cdb_run(s, "writing the audit trail");
}

asr_result cportal_audit_foreach(cstore *st, const char *actor, int64_t limit, cportal_audit_cb cb,
                                 void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, P_AUDIT_LIST, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, actor);
  cdb_bind_i64(s, 2, limit);
  for (;;) {
    r = cdb_step(s, "reading the audit trail", &row);
    if (r || !row)
      break;
    cportal_audit_row a = {cdb_col_i64(s, 0), cdb_col_i64(s, 1), col(s, 2), col(s, 3),
                           col(s, 4),         col(s, 5),         col(s, 6), col(s, 7)};
    if (cb(&a, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * A customer's scope. Every query of it names the e-mail address: there is no way to ask
 * for a site, a contact or a device without it. */

asr_result cportal_email_known(cstore *st, const char *email, bool *known, int64_t *site_id)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, P_EMAIL_KNOWN, &s);

  *known = false;
  if (r)
    return r;
  cdb_bind_text(s, 1, email);
  r = cdb_step(s, "looking up an address", known);
  if (!r && *known)
    *site_id = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r;
}

asr_result cportal_customer_sites(cstore *st, const char *email, cportal_name_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, P_CUSTOMER_SITES, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, email);
  for (;;) {
    r = cdb_step(s, "listing a customer's sites", &row);
    if (r || !row || cb(col(s, 0), ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_customer_contact(cstore *st, const char *email, const char *site,
                                    cportal_contact *out)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_CUSTOMER_CONTACT, &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  cdb_bind_text(s, 1, email);
  cdb_bind_text(s, 2, site);
  r = cdb_step(s, "looking up a customer's contact", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    out->id = cdb_col_i64(s, 0);
    out->site_id = cdb_col_i64(s, 1);
    if (asr_strlcpy(out->name, col(s, 2), sizeof(out->name)) ||
        asr_strlcpy(out->email, col(s, 3), sizeof(out->email)) ||
        asr_strlcpy(out->address, col(s, 4), sizeof(out->address)))
      r = ASR_ERR_LIMIT;
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_customer_device(cstore *st, const char *email, const char *site,
                                   const char *serial, int64_t *dev, int64_t *contact)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, P_CUSTOMER_DEVICE, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, email);
  cdb_bind_text(s, 2, site);
  cdb_bind_text(s, 3, serial);
  r = cdb_step(s, "looking up a customer's device", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *dev = cdb_col_i64(s, 0);
    *contact = cdb_col_i64(s, 1);
  }
  cdb_reset(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Requests. */

asr_result cportal_request_add(cstore *st, const cportal_request *q, int64_t now, int64_t *id)
{
  cdb_stmt *s = NULL;
  bool toner = q->kind && strcmp(q->kind, "toner") == 0, row = false;
  asr_result r = stmt_get(st, P_REQUEST_ADD, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, q->kind);
  cdb_bind_text(s, 2, q->email);
  cdb_bind_i64(s, 3, q->site_id);
  bind_opt(s, 4, q->contact_id, q->contact_id > 0);
  bind_opt(s, 5, q->device_id, toner);
  bind_opt(s, 6, q->supply_idx, toner);
  bind_opt(s, 7, q->quantity, toner);
  bind_opt(s, 8, q->job_from, toner);
  bind_opt(s, 9, q->job_to, toner);
  cdb_bind_text(s, 10, q->new_name);
  cdb_bind_text(s, 11, q->new_email);
  cdb_bind_text(s, 12, q->new_address);
  cdb_bind_text(s, 13, q->note ? q->note : "");
  cdb_bind_i64(s, 14, now);
  r = cdb_step(s, "storing a request", &row);
  if (!r && row)
    *id = cdb_col_i64(s, 0);
  if (!r) /* RETURNING: the row is stored when the statement ends */
    r = cdb_run(s, "storing a request");
  else
    cdb_reset(s);
  return r ? r : row ? ASR_OK : ASR_ERR_DB;
}

static void request_read(cdb_stmt *s, cportal_request *q)
{
  *q = (cportal_request){.id = cdb_col_i64(s, 0),
                         .kind = col(s, 1),
                         .email = col(s, 2),
                         .state = col(s, 3),
                         .site_id = cdb_col_i64(s, 4),
                         .contact_id = cdb_col_i64(s, 5),
                         .device_id = cdb_col_i64(s, 6),
                         .site = col(s, 7),
                         .serial = col_or_null(s, 8),
                         .supply = col_or_null(s, 9),
                         .supply_idx = (int)cdb_col_i64(s, 10),
                         .quantity = (int)cdb_col_i64(s, 11),
                         .job_from = cdb_col_i64(s, 12),
                         .job_to = cdb_col_i64(s, 13),
                         .new_name = col_or_null(s, 14),
                         .new_email = col_or_null(s, 15),
                         .new_address = col_or_null(s, 16),
                         .note = col(s, 17),
                         .answer = col_or_null(s, 18),
                         .decided_by = col_or_null(s, 19),
                         .created_at = cdb_col_i64(s, 20),
                         .decided_at = cdb_col_i64(s, 21),
                         .order_id = cdb_col_i64(s, 22)};
}

/* Walks the rows of s (bound) to cb, counting them in *n; then resets s. */
static asr_result request_rows(cdb_stmt *s, cportal_request_cb cb, void *ctx, int *n)
{
  bool row = true;
  asr_result r;

  for (;;) {
    cportal_request q;
    r = cdb_step(s, "reading the requests", &row);
    if (r || !row)
      break;
    request_read(s, &q);
    (*n)++;
    if (cb(&q, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cportal_request_foreach(cstore *st, const char *email, int64_t limit,
                                   cportal_request_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  int n = 0;
  asr_result r = stmt_get(st, P_REQUEST_LIST, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, email);
  cdb_bind_i64(s, 2, limit);
  return request_rows(s, cb, ctx, &n);
}

asr_result cportal_request_lock(cstore *st, const char *email)
{
  cdb_stmt *s = NULL;
  asr_result r = cstore_is_pg(st) ? stmt_get(st, P_REQUEST_LOCK, &s) : ASR_OK;

  if (r || !s)
    return r;
  cdb_bind_text(s, 1, email);
  return cdb_run(s, "waiting for the customer's other request");
}

asr_result cportal_request_get(cstore *st, int64_t id, cportal_request_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  int n = 0;
  asr_result r = stmt_get(st, P_REQUEST_GET, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  r = request_rows(s, cb, ctx, &n);
  return r ? r : n ? ASR_OK : ASR_ERR_NOT_FOUND;
}

asr_result cportal_request_decide(cstore *st, int64_t id, const char *state, const char *by,
                                  const char *answer, int64_t order_id, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, P_REQUEST_DECIDE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_text(s, 2, state);
  cdb_bind_text(s, 3, by);
  cdb_bind_text(s, 4, answer);
  bind_opt(s, 5, order_id, order_id > 0);
  cdb_bind_i64(s, 6, now);
  r = cdb_run(s, "deciding a request");
  if (!r && cdb_changes(s) != 1)
    r = ASR_ERR_INVALID;
  return r;
}

int64_t cportal_request_pending(cstore *st)
{
  cdb_stmt *s = NULL;
  bool row = false;
  int64_t n = -1;

  if (stmt_get(st, P_REQUEST_PENDING, &s))
    return -1;
  if (cdb_step(s, "counting the requests", &row) == ASR_OK && row)
    n = cdb_col_i64(s, 0);
  cdb_reset(s);
  return n;
}
