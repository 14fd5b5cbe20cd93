/* cstore_conf.c: the remote configuration's statements (see cstore_conf.h). Not a hot
 * path: each statement is prepared where it is used. */
#include "central/cstore_conf.h"

#include "central/cstore_int.h"

#include <sqlite3.h>
#include <string.h>

#include "common/util.h"
#include "conf/conf.h"

#define SECRET_SHOWN "(set)"

/* Step 11 (issue 17), idempotent:
 *   agent_config_value  an agent's own directives, over its site's (same columns as
 *                       site_config: value as the file writes it, or sealed).
 *   agent_config_audit  each change of them: the site, the agent, the site's version it
 *                       raised, key, old and new ("(set)" for a secret), who and when.
 * and the step-8 audit's communities, kept in clear there, masked (secure_delete: their
 * bytes overwritten, not left in free pages; for this connection only). */
const char cstore_conf_schema_11[] =
    "PRAGMA secure_delete = ON;"
    "CREATE TABLE IF NOT EXISTS agent_config_value ("
    " agent_id TEXT NOT NULL REFERENCES agents(id), key TEXT NOT NULL,"
    " value TEXT NOT NULL, sealed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (agent_id, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS agent_config_audit ("
    " id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id), version INTEGER NOT NULL,"
    " key TEXT NOT NULL, old TEXT, new TEXT, who TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS agent_config_audit_site ON agent_config_audit(site_id, id);"
    "UPDATE site_config_audit SET old = '" SECRET_SHOWN "'"
    " WHERE key IN ('community', 'target_community') AND old IS NOT NULL;"
    "UPDATE site_config_audit SET new = '" SECRET_SHOWN "'"
    " WHERE key IN ('community', 'target_community') AND new IS NOT NULL;";

/* Where a change goes: a site's values, or one of its agents' (agent non-NULL). The
 * statements name them :site and :agent; bind_scope binds those a statement has. */
typedef struct {
  int64_t site_id;
  const char *agent;
} scope;

/* Binds text (NULL: null) to the named parameter of s. */
static void bind_named(sqlite3_stmt *s, const char *name, const char *text)
{
  int i = sqlite3_bind_parameter_index(s, name);

  if (i && text)
    sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
  else if (i)
    sqlite3_bind_null(s, i);
}

static void bind_scope(sqlite3_stmt *s, const scope *sc)
{
  int i = sqlite3_bind_parameter_index(s, ":site");

  if (i)
    sqlite3_bind_int64(s, i, sc->site_id);
  bind_named(s, ":agent", sc->agent);
}

/* What the audit shows of a value. */
static const char *shown(const char *key, const char *value, bool sealed)
{
  return sealed || asr_conf_remote_sealed(key) ? SECRET_SHOWN : value;
}

#define READING "reading the remote configuration"
#define WRITING "changing the remote configuration"

/* Prepares sql (uncached: not a hot path); the store's message says why it cannot. */
static asr_result prep(cstore *st, const char *sql, sqlite3_stmt **s)
{
  return asr_sql_prep(&st->sql, sql, s);
}

/* The end of stepping: a row or the end is fine, else the store's conversion of rc. */
static asr_result done(cstore *st, int rc, const char *what)
{
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? ASR_OK : asr_sql_fail(&st->sql, rc, what);
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
  r = rc == SQLITE_DONE ? ASR_ERR_NOT_FOUND : done(st, rc, READING);
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
  return done(st, rc, READING);
}

/* Reads the values of a scope into out (its version is the site's). */
static asr_result read_values(cstore *st, const scope *sc, cstore_conf *out)
{
  sqlite3_stmt *s = NULL;
  asr_result r;
  int rc;

  memset(out, 0, sizeof(*out));
  out->site_id = sc->site_id;
  r = get_version(st, sc->site_id, &out->version, &out->changed_at);
  if (!r)
    r = prep(st,
             sc->agent ? "SELECT key, value, sealed FROM agent_config_value"
                         " WHERE agent_id = :agent ORDER BY key"
                       : "SELECT key, value, sealed FROM site_config WHERE site_id = :site"
                         " ORDER BY key",
             &s);
  if (r)
    return r;
  bind_scope(s, sc);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && out->n < CSTORE_CONF_MAX_KEYS) {
    cstore_conf_value *v = &out->v[out->n++];

    asr_strlcpy_cut(v->key, asr_sql_col_text(s, 0) ? asr_sql_col_text(s, 0) : "", sizeof(v->key));
    asr_strlcpy_cut(v->value, asr_sql_col_text(s, 1) ? asr_sql_col_text(s, 1) : "",
                    sizeof(v->value));
    v->sealed = sqlite3_column_int(s, 2) != 0;
  }
  sqlite3_finalize(s);
  return done(st, rc, READING);
}

asr_result cstore_conf_get(cstore *st, int64_t site_id, cstore_conf *out)
{
  scope sc = {site_id, NULL};

  return read_values(st, &sc, out);
}

asr_result cstore_conf_get_agent(cstore *st, int64_t site_id, const char *agent_id,
                                 cstore_conf *out)
{
  scope sc = {site_id, agent_id};

  return read_values(st, &sc, out);
}

/* The stored value of a key as the audit shows it (NULL: not set); into buf. */
static asr_result old_shown(cstore *st, const scope *sc, const char *key, char *buf, size_t n,
                            bool *set)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      sc->agent ? "SELECT value, sealed FROM agent_config_value"
                                  " WHERE agent_id = :agent AND key = :key"
                                : "SELECT value, sealed FROM site_config"
                                  " WHERE site_id = :site AND key = :key",
                      &s);
  int rc;

  *set = false;
  if (r)
    return r;
  bind_scope(s, sc);
  bind_named(s, ":key", key);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *set = true;
    asr_strlcpy_cut(buf,
                    shown(key, asr_sql_col_text(s, 0) ? asr_sql_col_text(s, 0) : "",
                          sqlite3_column_int(s, 1) != 0),
                    n);
  }
  sqlite3_finalize(s);
  return done(st, rc, READING);
}

/* Runs sql of scope sc with :key, :value, :sealed and :n bound (those it names). */
static asr_result exec_bound(cstore *st, const char *sql, const scope *sc, const char *key,
                             const char *value, int64_t n)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st, sql, &s);
  int i;

  if (r)
    return r;
  bind_scope(s, sc);
  bind_named(s, ":key", key);
  bind_named(s, ":value", value);
  if ((i = sqlite3_bind_parameter_index(s, ":n")) != 0)
    sqlite3_bind_int64(s, i, n);
  r = done(st, sqlite3_step(s), WRITING);
  sqlite3_finalize(s);
  return r;
}

static asr_result audit(cstore *st, const scope *sc, int64_t version, const char *key,
                        const char *old, const char *new_, const char *who, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      sc->agent ? "INSERT INTO agent_config_audit (site_id, agent_id, version, key,"
                                  " old, new, who, at) VALUES (:site, :agent, :version, :key,"
                                  " :old, :new, :who, :at)"
                                : "INSERT INTO site_config_audit (site_id, version, key, old, new,"
                                  " who, at) VALUES (:site, :version, :key, :old, :new, :who, :at)",
                      &s);

  if (r)
    return r;
  bind_scope(s, sc);
  sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":version"), version);
  bind_named(s, ":key", key);
  bind_named(s, ":old", old);
  bind_named(s, ":new", new_);
  bind_named(s, ":who", who);
  sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":at"), now);
  r = done(st, sqlite3_step(s), WRITING);
  sqlite3_finalize(s);
  return r;
}

static asr_result change_one(cstore *st, const scope *sc, int64_t version,
                             const cstore_conf_change_t *c, const char *who, int64_t now)
{
  char old[CSTORE_CONF_VALUE_MAX];
  bool was = false;
  asr_result r = old_shown(st, sc, c->key, old, sizeof(old), &was);

  if (!r && c->value)
    r = exec_bound(st,
                   sc->agent ? "INSERT INTO agent_config_value (agent_id, key, value, sealed)"
                               " VALUES (:agent, :key, :value, :n) ON CONFLICT (agent_id, key)"
                               " DO UPDATE SET value = :value, sealed = :n"
                             : "INSERT INTO site_config (site_id, key, value, sealed)"
                               " VALUES (:site, :key, :value, :n) ON CONFLICT (site_id, key)"
                               " DO UPDATE SET value = :value, sealed = :n",
                   sc, c->key, c->value, c->sealed);
  else if (!r)
    r = exec_bound(st,
                   sc->agent
                       ? "DELETE FROM agent_config_value WHERE agent_id = :agent AND key = :key"
                       : "DELETE FROM site_config WHERE site_id = :site AND key = :key",
                   sc, c->key, NULL, 0);
  if (!r)
    r = audit(st, sc, version, c->key, was ? old : NULL,
              c->value ? shown(c->key, c->value, c->sealed) : NULL, who, now);
  return r;
}

asr_result cstore_conf_change(cstore *st, int64_t site_id, const char *agent_id,
                              const cstore_conf_change_t *ch, size_t n, const char *who,
                              int64_t now, int64_t base, int64_t *version)
{
  scope sc = {site_id, agent_id};
  int64_t v = 0, at = 0;
  asr_result r = cstore_tx_begin(st);

  if (r)
    return r;
  r = get_version(st, site_id, &v, &at);
  if (!r && base >= 0 && v != base)
    r = ASR_ERR_DB_LOCKED; /* changed since it was checked */
  v++;
  for (size_t i = 0; !r && i < n; i++)
    r = change_one(st, &sc, v, &ch[i], who, now);
  if (!r)
    r = exec_bound(st,
                   "INSERT INTO site_config_version (site_id, version, changed_at)"
                   " VALUES (:site, :n, strftime('%s', 'now'))"
                   " ON CONFLICT (site_id) DO UPDATE SET version = :n,"
                   " changed_at = strftime('%s', 'now')",
                   &sc, NULL, NULL, v);
  if (r) {
    cstore_tx_rollback(st);
    return r;
  }
  r = cstore_tx_commit(st);
  if (!r)
    *version = v;
  return r;
}

asr_result cstore_conf_reseal(cstore *st, int64_t site_id, const char *key, const char *sealed)
{
  scope sc = {site_id, NULL};
  /* the clear text's bytes are overwritten, not left in a free page of the file */
  asr_result r = asr_sql_exec(&st->sql, "PRAGMA secure_delete = ON", WRITING);

  return r ? r
           : exec_bound(st,
                        "UPDATE site_config SET value = :value, sealed = 1"
                        " WHERE site_id = :site AND key = :key AND sealed = 0",
                        &sc, key, sealed, 0);
}

asr_result cstore_conf_clear_sites(cstore *st, int64_t *ids, size_t max, size_t *n)
{
  sqlite3_stmt *s = NULL;
  asr_result r =
      prep(st, "SELECT site_id, key FROM site_config WHERE sealed = 0 ORDER BY site_id", &s);
  int rc;

  *n = 0;
  if (r)
    return r;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
    int64_t id = sqlite3_column_int64(s, 0);

    if (asr_conf_remote_sealed(asr_sql_col_text(s, 1) ? asr_sql_col_text(s, 1) : "") &&
        (!*n || ids[*n - 1] != id))
      ids[(*n)++] = id;
  }
  sqlite3_finalize(s);
  return done(st, rc, READING);
}

asr_result cstore_conf_history(cstore *st, int64_t site_id, const char *agent_id,
                               cstore_conf_audit_cb cb, void *ctx)
{
  scope sc = {site_id, agent_id};
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT version, at, key, old, new, who, NULL, id FROM site_config_audit"
                      " WHERE site_id = :site UNION ALL"
                      " SELECT version, at, key, old, new, who, agent_id, id"
                      " FROM agent_config_audit WHERE site_id = :site"
                      " AND (:agent IS NULL OR agent_id = :agent) ORDER BY 1, 8",
                      &s);
  int rc;

  if (r)
    return r;
  bind_scope(s, &sc);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cstore_conf_audit a = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                           asr_sql_col_text(s, 2),     asr_sql_col_text(s, 3),
                           asr_sql_col_text(s, 4),     asr_sql_col_text(s, 5),
                           asr_sql_col_text(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return done(st, rc, READING);
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
  r = done(st, sqlite3_step(s), WRITING);
  sqlite3_finalize(s);
  return r;
}

asr_result cstore_conf_agents(cstore *st, int64_t site_id, const char *agent_id,
                              cstore_conf_agent_cb cb, void *ctx)
{
  scope sc = {site_id, agent_id};
  sqlite3_stmt *s = NULL;
  asr_result r = prep(st,
                      "SELECT a.id, a.hostname, coalesce(c.applied, 0), coalesce(c.error, ''),"
                      " coalesce(c.error_version, 0), coalesce(c.checked_at, 0),"
                      " (SELECT count(*) FROM agent_config_value v WHERE v.agent_id = a.id)"
                      " FROM agents a LEFT JOIN agent_config c ON c.agent_id = a.id"
                      " WHERE a.site_id = :site AND (:agent IS NULL AND a.revoked = 0"
                      " OR a.id = :agent) ORDER BY a.id",
                      &s);
  int rc;

  if (r)
    return r;
  bind_scope(s, &sc);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    cstore_conf_agent a = {asr_sql_col_text(s, 0),     asr_sql_col_text(s, 1),
                           asr_sql_col_text(s, 3),     sqlite3_column_int64(s, 2),
                           sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5),
                           sqlite3_column_int64(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  sqlite3_finalize(s);
  return done(st, rc, READING);
}
