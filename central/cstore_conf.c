/* cstore_conf.c: the remote configuration's statements (see cstore_conf.h). Not a hot
 * path: each statement is prepared where it is used. */
#include "central/cstore_conf.h"

#include <sqlite3.h>
#include <string.h>

#include "common/util.h"

#define SECRET_SHOWN "(set)"

/* Prepares sql; ASR_ERR_DB when it cannot. */
static asr_result prep(cstore *st, const char *sql, sqlite3_stmt **s)
{
  return sqlite3_prepare_v2(cstore_sqlite(st), sql, -1, s, NULL) == SQLITE_OK ? ASR_OK : ASR_ERR_DB;
}

static const char *col(sqlite3_stmt *s, int i)
{
  const unsigned char *t = sqlite3_column_text(s, i);

  return t ? (const char *)t : NULL;
}

asr_result cstore_conf_site(cstore *st, const char *name, int64_t *site_id)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st, "SELECT id FROM sites WHERE name = ?1", &s);
  int rc;

  if (r)
    return r;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *site_id = sqlite3_column_int64(s, 0);
  r = rc == SQLITE_ROW ? ASR_OK : rc == SQLITE_DONE ? ASR_ERR_NOT_FOUND : ASR_ERR_DB;
  sqlite3_finalize(s);
  return r;
}

static asr_result get_version(cstore *st, int64_t site_id, int64_t *version, int64_t *at)
{
  sqlite3_stmt *s = NULL;
  asr_result r =
      prep(st, "SELECT version, changed_at FROM site_config_version WHERE site_id = ?1", &s);
  int rc;

  *version = 0;
  *at = 0;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *version = sqlite3_column_int64(s, 0);
    *at = sqlite3_column_int64(s, 1);
  }
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
}

asr_result cstore_conf_get(cstore *st, int64_t site_id, cstore_conf *out)
{
  sqlite3_stmt *s = NULL;
  asr_result r;
  int rc;

  memset(out, 0, sizeof(*out));
  out->site_id = site_id;
  r = get_version(st, site_id, &out->version, &out->changed_at);
  if (!r)
    r = prep(st, "SELECT key, value, sealed FROM site_config WHERE site_id = ?1 ORDER BY key", &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && out->n < CSTORE_CONF_MAX_KEYS) {
    cstore_conf_value *v = &out->v[out->n++];

    asr_strlcpy_cut(v->key, col(s, 0) ? col(s, 0) : "", sizeof(v->key));
    asr_strlcpy_cut(v->value, col(s, 1) ? col(s, 1) : "", sizeof(v->value));
    v->sealed = sqlite3_column_int(s, 2) != 0;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
}

/* The stored value of a key as the audit shows it (NULL: not set); into buf. */
static asr_result old_shown(cstore *st, int64_t site_id, const char *key, char *buf, size_t n,
                            bool *set)
{
  sqlite3_stmt *s = NULL;
  asr_result r =
      prep(st, "SELECT value, sealed FROM site_config WHERE site_id = ?1 AND key = ?2", &s);
  int rc;

  *set = false;
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *set = true;
    asr_strlcpy_cut(buf, sqlite3_column_int(s, 1) ? SECRET_SHOWN : (col(s, 0) ? col(s, 0) : ""), n);
  }
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
}

static asr_result exec_bound(cstore *st, const char *sql, int64_t site_id, const char *key,
                             const char *value, int64_t i4)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st, sql, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  if (key)
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
  if (value)
    sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, i4);
  r = sqlite3_step(s) == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
  sqlite3_finalize(s);
  return r;
}

static asr_result audit(cstore *st, int64_t site_id, int64_t version, const char *key,
                        const char *old, const char *new_, const char *who, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "INSERT INTO site_config_audit (site_id, version, key, old, new, who, at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  sqlite3_bind_int64(s, 2, version);
  sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
  if (old)
    sqlite3_bind_text(s, 4, old, -1, SQLITE_STATIC);
  if (new_)
    sqlite3_bind_text(s, 5, new_, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, who, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 7, now);
  r = sqlite3_step(s) == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
  sqlite3_finalize(s);
  return r;
}

static asr_result change_one(cstore *st, int64_t site_id, int64_t version,
                             const cstore_conf_change_t *c, const char *who, int64_t now)
{
  char old[CSTORE_CONF_VALUE_MAX];
  bool was = false;
  asr_result r = old_shown(st, site_id, c->key, old, sizeof(old), &was);

  if (!r && c->value)
    r = exec_bound(st,
                   "INSERT INTO site_config (site_id, key, value, sealed) VALUES (?1, ?2, ?3, ?4)"
                   " ON CONFLICT (site_id, key) DO UPDATE SET value = ?3, sealed = ?4",
                   site_id, c->key, c->value, c->sealed);
  else if (!r)
    r = exec_bound(st, "DELETE FROM site_config WHERE site_id = ?1 AND key = ?2 AND ?4 = ?4",
                   site_id, c->key, NULL, 0);
  if (!r)
    r = audit(st, site_id, version, c->key, was ? old : NULL,
              c->value ? (c->sealed ? SECRET_SHOWN : c->value) : NULL, who, now);
  return r;
}

asr_result cstore_conf_change(cstore *st, int64_t site_id, const cstore_conf_change_t *ch, size_t n,
                              const char *who, int64_t now, int64_t *version)
{
  int64_t v = 0, at = 0;
  asr_result r = cstore_tx_begin(st);

  if (r)
    return r;
  r = get_version(st, site_id, &v, &at);
  v++;
  for (size_t i = 0; !r && i < n; i++)
    r = change_one(st, site_id, v, &ch[i], who, now);
  if (!r)
    r = exec_bound(st,
                   "INSERT INTO site_config_version (site_id, version, changed_at)"
                   " VALUES (?1, ?4, strftime('%s', 'now'))"
                   " ON CONFLICT (site_id) DO UPDATE SET version = ?4,"
                   " changed_at = strftime('%s', 'now')",
                   site_id, NULL, NULL, v);
  if (r) {
    cstore_tx_rollback(st);
    return r;
  }
  r = cstore_tx_commit(st);
  if (!r)
    *version = v;
  return r;
}

asr_result cstore_conf_history(cstore *st, int64_t site_id, cstore_conf_audit_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT version, at, key, old, new, who FROM site_config_audit"
                      " WHERE site_id = ?1 ORDER BY id",
                      &s);
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cstore_conf_audit a = {sqlite3_column_int64(s, 0),
                           sqlite3_column_int64(s, 1),
                           col(s, 2),
                           col(s, 3),
                           col(s, 4),
                           col(s, 5)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
}

asr_result cstore_conf_agent_report(cstore *st, const char *agent_id, int64_t applied,
                                    const char *error, int64_t error_version, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "INSERT INTO agent_config (agent_id, applied, error, error_version,"
                      " checked_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (agent_id) DO UPDATE"
                      " SET applied = ?2, error = ?3, error_version = ?4, checked_at = ?5",
                      &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, agent_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, applied);
  sqlite3_bind_text(s, 3, error ? error : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, error_version);
  sqlite3_bind_int64(s, 5, now);
  r = sqlite3_step(s) == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
  sqlite3_finalize(s);
  return r;
}

asr_result cstore_conf_agents(cstore *st, int64_t site_id, cstore_conf_agent_cb cb, void *ctx)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT a.id, a.hostname, coalesce(c.applied, 0), coalesce(c.error, ''),"
                      " coalesce(c.error_version, 0), coalesce(c.checked_at, 0) FROM agents a"
                      " LEFT JOIN agent_config c ON c.agent_id = a.id"
                      " WHERE a.site_id = ?1 AND a.revoked = 0 ORDER BY a.id",
                      &s);
  int rc;

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, site_id);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cstore_conf_agent a = {col(s, 0),
                           col(s, 1),
                           col(s, 3),
                           sqlite3_column_int64(s, 2),
                           sqlite3_column_int64(s, 4),
                           sqlite3_column_int64(s, 5)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : ASR_ERR_DB;
}
