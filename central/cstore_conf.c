/* cstore_conf.c: the remote configuration's statements (see cstore_conf.h), written once
 * for both backends (central/cdb.h; docs/postgresql-backend.md). The clock is the
 * caller's; a statement of a site's values has a twin for an agent's own values (?1 is the
 * site's id or the agent's id).
 *
 * Secrets: communities and pass phrases are stored sealed (wire/seal.h); a value found in
 * clear (a schema-8 database) is resealed with SQLite's secure_delete on, so that its old
 * bytes are overwritten rather than left in a free page of the file. PostgreSQL has no
 * such switch: the old row version stays in the table's pages until VACUUM (autovacuum)
 * reuses them, and in the WAL until it is recycled. Values are sealed before they are
 * stored (csiteconf.c), so only data copied from a schema-8 SQLite file could be in clear
 * there: a copy tool should VACUUM after resealing. */
#include "central/cstore_conf.h"

#include "central/cstore_int.h"

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

typedef enum {
  C_SITE,
  C_VERSION,
  C_BUMP,
  C_VALUES_SITE,
  C_VALUES_AGENT,
  C_OLD_SITE,
  C_OLD_AGENT,
  C_SET_SITE,
  C_SET_AGENT,
  C_DEL_SITE,
  C_DEL_AGENT,
  C_AUDIT_SITE,
  C_AUDIT_AGENT,
  C_RESEAL,
  C_CLEAR,
  C_ANY_SEALED,
  C_HISTORY,
  C_REPORT,
  C_AGENTS,
  C_COUNT
} stmt_id;

static const char *const stmt_sql[C_COUNT] = {
    [C_SITE] = "SELECT id FROM sites WHERE name = ?1",
    [C_VERSION] = "SELECT version, changed_at FROM site_config_version WHERE site_id = ?1",
    /* raises the site's version and locks its row until the transaction ends: a second
     * change of the site (another node) waits, then gets the next version */
    [C_BUMP] = "INSERT INTO site_config_version (site_id, version, changed_at) VALUES (?1, 1, ?2)"
               " ON CONFLICT (site_id) DO UPDATE SET version = site_config_version.version + 1,"
               " changed_at = ?2 RETURNING version",
    [C_VALUES_SITE] = "SELECT key, value, sealed FROM site_config WHERE site_id = ?1 ORDER BY key",
    [C_VALUES_AGENT] =
        "SELECT key, value, sealed FROM agent_config_value WHERE agent_id = ?1 ORDER BY key",
    [C_OLD_SITE] = "SELECT value, sealed FROM site_config WHERE site_id = ?1 AND key = ?2",
    [C_OLD_AGENT] = "SELECT value, sealed FROM agent_config_value WHERE agent_id = ?1 AND key = ?2",
    [C_SET_SITE] = "INSERT INTO site_config (site_id, key, value, sealed) VALUES (?1, ?2, ?3, ?4)"
                   " ON CONFLICT (site_id, key) DO UPDATE SET value = ?3, sealed = ?4",
    [C_SET_AGENT] = "INSERT INTO agent_config_value (agent_id, key, value, sealed)"
                    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id, key)"
                    " DO UPDATE SET value = ?3, sealed = ?4",
    [C_DEL_SITE] = "DELETE FROM site_config WHERE site_id = ?1 AND key = ?2",
    [C_DEL_AGENT] = "DELETE FROM agent_config_value WHERE agent_id = ?1 AND key = ?2",
    [C_AUDIT_SITE] = "INSERT INTO site_config_audit (site_id, version, key, old, new, who, at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [C_AUDIT_AGENT] = "INSERT INTO agent_config_audit (agent_id, version, key, old, new, who, at,"
                      " site_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [C_RESEAL] = "UPDATE site_config SET value = ?3, sealed = 1"
                 " WHERE site_id = ?1 AND key = ?2 AND sealed = 0",
    [C_CLEAR] = "SELECT site_id, key FROM site_config WHERE sealed = 0 ORDER BY site_id",
    [C_ANY_SEALED] = "SELECT 1 FROM site_config WHERE sealed = 1 UNION ALL"
                     " SELECT 1 FROM agent_config_value WHERE sealed = 1 LIMIT 1",
    [C_HISTORY] = "SELECT version, at, key, old, new, who, NULL, id FROM site_config_audit"
                  " WHERE site_id = ?1 UNION ALL"
                  " SELECT version, at, key, old, new, who, agent_id, id"
                  " FROM agent_config_audit WHERE site_id = ?1"
                  " AND (CAST(?2 AS TEXT) IS NULL OR agent_id = ?2) ORDER BY 1, 8",
    [C_REPORT] = "INSERT INTO agent_config (agent_id, applied, error, error_version, checked_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (agent_id) DO UPDATE"
                 " SET applied = ?2, error = ?3, error_version = ?4, checked_at = ?5",
    [C_AGENTS] = "SELECT a.id, a.hostname, coalesce(c.applied, 0), coalesce(c.error, ''),"
                 " coalesce(c.error_version, 0), coalesce(c.checked_at, 0),"
                 " (SELECT count(*) FROM agent_config_value v WHERE v.agent_id = a.id)"
                 " FROM agents a LEFT JOIN agent_config c ON c.agent_id = a.id"
                 " WHERE a.site_id = ?1 AND (CAST(?2 AS TEXT) IS NULL AND a.revoked = 0"
                 " OR a.id = ?2) ORDER BY a.id",
};

_Static_assert(CSTORE_SLOTS_CONF + C_COUNT <= CSTORE_SLOTS_PORTAL,
               "give this file more statement slots (cstore_int.h)");

/* Where a change goes: a site's values, or one of its agents' (agent non-NULL). */
typedef struct {
  int64_t site_id;
  const char *agent;
} scope;

/* What the audit shows of a value. */
static const char *shown(const char *key, const char *value, bool sealed)
{
  return sealed || asr_conf_remote_sealed(key) ? SECRET_SHOWN : value;
}

#define READING "reading the remote configuration"
#define WRITING "changing the remote configuration"

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(cstore *st, stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_CONF + (size_t)id, stmt_sql[id], out);
}

/* The statement of scope sc (site_stmt, or its agent twin, the next id), its ?1 bound. */
static asr_result scope_get(cstore *st, const scope *sc, stmt_id site_stmt, cdb_stmt **out)
{
  asr_result r = stmt_get(st, sc->agent ? site_stmt + 1 : site_stmt, out);

  if (!r && sc->agent)
    cdb_bind_text(*out, 1, sc->agent);
  else if (!r)
    cdb_bind_i64(*out, 1, sc->site_id);
  return r;
}

asr_result cstore_conf_site(cstore *st, const char *name, int64_t *site_id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, C_SITE, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, name);
  r = cdb_step(s, READING, &row);
  if (!r && row)
    *site_id = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r ? r : row ? ASR_OK : ASR_ERR_NOT_FOUND;
}

static asr_result get_version(cstore *st, int64_t site_id, int64_t *version, int64_t *at)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, C_VERSION, &s);

  *version = 0;
  *at = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  r = cdb_step(s, READING, &row);
  if (!r && row) {
    *version = cdb_col_i64(s, 0);
    *at = cdb_col_i64(s, 1);
  }
  cdb_reset(s);
  return r;
}

/* Reads the values of a scope into out (its version is the site's). */
static asr_result read_values(cstore *st, const scope *sc, cstore_conf *out)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r;

  memset(out, 0, sizeof(*out));
  out->site_id = sc->site_id;
  r = get_version(st, sc->site_id, &out->version, &out->changed_at);
  if (!r)
    r = scope_get(st, sc, C_VALUES_SITE, &s);
  if (r)
    return r;
  while (out->n < CSTORE_CONF_MAX_KEYS) {
    cstore_conf_value *v = &out->v[out->n];

    r = cdb_step(s, READING, &row);
    if (r || !row)
      break;
    asr_strlcpy_cut(v->key, cdb_col_text(s, 0) ? cdb_col_text(s, 0) : "", sizeof(v->key));
    asr_strlcpy_cut(v->value, cdb_col_text(s, 1) ? cdb_col_text(s, 1) : "", sizeof(v->value));
    v->sealed = cdb_col_i64(s, 2) != 0;
    out->n++;
  }
  cdb_reset(s);
  return r;
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
  cdb_stmt *s = NULL;
  asr_result r = scope_get(st, sc, C_OLD_SITE, &s);

  *set = false;
  if (r)
    return r;
  cdb_bind_text(s, 2, key);
  r = cdb_step(s, READING, set);
  if (!r && *set)
    asr_strlcpy_cut(
        buf, shown(key, cdb_col_text(s, 0) ? cdb_col_text(s, 0) : "", cdb_col_i64(s, 1) != 0), n);
  cdb_reset(s);
  return r;
}

static asr_result audit(cstore *st, const scope *sc, int64_t version, const char *key,
                        const char *old, const char *new_, const char *who, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = scope_get(st, sc, C_AUDIT_SITE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 2, version);
  cdb_bind_text(s, 3, key);
  cdb_bind_text(s, 4, old);
  cdb_bind_text(s, 5, new_);
  cdb_bind_text(s, 6, who);
  cdb_bind_i64(s, 7, now);
  if (sc->agent)
    cdb_bind_i64(s, 8, sc->site_id);
  return cdb_run(s, WRITING);
}

static asr_result change_one(cstore *st, const scope *sc, int64_t version,
                             const cstore_conf_change_t *c, const char *who, int64_t now)
{
  char old[CSTORE_CONF_VALUE_MAX];
  bool was = false;
  cdb_stmt *s = NULL;
  asr_result r = old_shown(st, sc, c->key, old, sizeof(old), &was);

  if (!r)
    r = scope_get(st, sc, c->value ? C_SET_SITE : C_DEL_SITE, &s);
  if (r)
    return r;
  cdb_bind_text(s, 2, c->key);
  if (c->value) {
    cdb_bind_text(s, 3, c->value);
    cdb_bind_i64(s, 4, c->sealed);
  }
  r = cdb_run(s, WRITING);
  if (!r)
    r = audit(st, sc, version, c->key, was ? old : NULL,
              c->value ? shown(c->key, c->value, c->sealed) : NULL, who, now);
  return r;
}

/* Raises the site's version (changed at now) and takes its row's lock: *v the new one. */
static asr_result bump_version(cstore *st, int64_t site_id, int64_t now, int64_t *v)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, C_BUMP, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_i64(s, 2, now);
  r = cdb_step(s, WRITING, &row);
  *v = !r && row ? cdb_col_i64(s, 0) : 0;
  if (!r) /* RETURNING: the change is made when the statement ends */
    r = cdb_run(s, WRITING);
  else
    cdb_reset(s);
  return r ? r : row ? ASR_OK : ASR_ERR_DB;
}

asr_result cstore_conf_change(cstore *st, int64_t site_id, const char *agent_id,
                              const cstore_conf_change_t *ch, size_t n, const char *who,
                              int64_t now, int64_t base, int64_t *version)
{
  scope sc = {site_id, agent_id};
  int64_t v = 0;
  asr_result r = cstore_tx_begin(st);

  if (r)
    return r;
  /* the version first: from here on, the site's changes wait for this transaction */
  r = bump_version(st, site_id, now, &v);
  if (!r && base >= 0 && v != base + 1)
    r = ASR_ERR_DB_LOCKED; /* changed since it was checked */
  for (size_t i = 0; !r && i < n; i++)
    r = change_one(st, &sc, v, &ch[i], who, now);
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
  cdb_stmt *s = NULL;
  asr_result r = ASR_OK;

  /* SQLite: the clear text's bytes are overwritten, not left in a free page of the file
   * (PostgreSQL has no such switch: see the top of this file) */
  if (cdb_backend(st->db) == CDB_SQLITE)
    r = cdb_exec(st->db, "PRAGMA secure_delete = ON", WRITING);
  if (!r)
    r = stmt_get(st, C_RESEAL, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, key);
  cdb_bind_text(s, 3, sealed);
  return cdb_run(s, WRITING);
}

asr_result cstore_conf_clear_sites(cstore *st, int64_t *ids, size_t max, size_t *n)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, C_CLEAR, &s);

  *n = 0;
  if (r)
    return r;
  while (*n < max) {
    int64_t id;

    r = cdb_step(s, READING, &row);
    if (r || !row)
      break;
    id = cdb_col_i64(s, 0);
    if (asr_conf_remote_sealed(cdb_col_text(s, 1) ? cdb_col_text(s, 1) : "") &&
        (!*n || ids[*n - 1] != id))
      ids[(*n)++] = id;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_conf_any_sealed(cstore *st, bool *any)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, C_ANY_SEALED, &s);

  *any = true; /* on an error: as if there were (never a new key over old secrets) */
  if (r)
    return r;
  r = cdb_step(s, READING, any);
  if (r)
    *any = true;
  cdb_reset(s);
  return r;
}

asr_result cstore_conf_history(cstore *st, int64_t site_id, const char *agent_id,
                               cstore_conf_audit_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, C_HISTORY, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, agent_id);
  for (;;) {
    r = cdb_step(s, READING, &row);
    if (r || !row)
      break;
    cstore_conf_audit a = {cdb_col_i64(s, 0),  cdb_col_i64(s, 1),  cdb_col_text(s, 2),
                           cdb_col_text(s, 3), cdb_col_text(s, 4), cdb_col_text(s, 5),
                           cdb_col_text(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_conf_agent_report(cstore *st, const char *agent_id, int64_t applied,
                                    const char *error, int64_t error_version, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, C_REPORT, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, agent_id);
  cdb_bind_i64(s, 2, applied);
  cdb_bind_text(s, 3, error ? error : "");
  cdb_bind_i64(s, 4, error_version);
  cdb_bind_i64(s, 5, now);
  return cdb_run(s, WRITING);
}

asr_result cstore_conf_agents(cstore *st, int64_t site_id, const char *agent_id,
                              cstore_conf_agent_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, C_AGENTS, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, agent_id);
  for (;;) {
    r = cdb_step(s, READING, &row);
    if (r || !row)
      break;
    cstore_conf_agent a = {cdb_col_text(s, 0), cdb_col_text(s, 1), cdb_col_text(s, 3),
                           cdb_col_i64(s, 2),  cdb_col_i64(s, 4),  cdb_col_i64(s, 5),
                           cdb_col_i64(s, 6)};
    if (cb(&a, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}
