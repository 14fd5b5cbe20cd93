/* cstore_sites.c: the central store's sites and their enrolment tokens, the agents, and
 * the devices as listed (cstore.h). The handle and its helpers are cstore.c's (cstore_int.h). */
#include "central/cstore.h"

#include <stdlib.h>
#include <string.h>

#include "central/cstore_int.h"
#include "common/util.h"
#include "wire/sign.h"

typedef enum {
  S_SITE_ADD,
  S_SITE_BY_NAME,
  S_SITE_BY_TOKEN,
  S_SITES,
  S_AGENT_ADD,
  S_AGENT_GET,
  S_AGENT_REVOKE,
  S_AGENT_SITE,
  S_TOKEN_ROTATE,
  S_TOKEN_REVOKE,
  S_TOKEN_REVOKE_OF_AGENT,
  S_DEVICES,
  S_DEVICE_SUPPLIES,
  S_DEVICE_FIND,
  S_AGENTS,
  S_COUNT
} stmt_id;

static const char *const stmt_sql[S_COUNT] = {
    [S_SITE_ADD] = "INSERT INTO sites (name, contact, address, token, created_at,"
                   " token_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
    [S_SITE_BY_NAME] = "SELECT id FROM sites WHERE name = ?1",
    [S_SITE_BY_TOKEN] = "SELECT id, name, token_revoked, token_gen FROM sites WHERE token = ?1",
    /* the site's contact and address: its first contact's (the default of its devices) */
    [S_SITES] = "SELECT id, name, coalesce((SELECT c.email FROM contacts c WHERE c.site_id = s.id"
                " ORDER BY c.id LIMIT 1), contact), coalesce((SELECT c.address FROM contacts c"
                " WHERE c.site_id = s.id ORDER BY c.id LIMIT 1), address), created_at,"
                " (SELECT count(*) FROM agents a WHERE a.site_id = s.id),"
                " (SELECT count(*) FROM devices d WHERE d.site_id = s.id),"
                " token_revoked, token_changed_at FROM sites s ORDER BY name",
    [S_AGENT_ADD] = "INSERT INTO agents (id, site_id, secret, hostname, agent_version,"
                    " enrolled_at, token_gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_AGENT_GET] = "SELECT site_id, secret, revoked FROM agents WHERE id = ?1",
    [S_AGENT_REVOKE] = "UPDATE agents SET revoked = 1 WHERE id = ?1",
    [S_AGENT_SITE] = "SELECT s.name FROM agents a JOIN sites s ON s.id = a.site_id WHERE a.id = ?1",
    [S_TOKEN_ROTATE] = "UPDATE sites SET token = ?2, token_gen = token_gen + 1, token_revoked = 0,"
                       " token_changed_at = ?3 WHERE name = ?1",
    [S_TOKEN_REVOKE] = "UPDATE sites SET token_revoked = 1, token_changed_at = ?2 WHERE name = ?1",
    /* the site's token, when it is still the one the agent enrolled with */
    [S_TOKEN_REVOKE_OF_AGENT] =
        "UPDATE sites SET token_revoked = 1, token_changed_at = ?2 WHERE token_revoked = 0"
        " AND (id, token_gen) = (SELECT site_id, token_gen FROM agents WHERE id = ?1)",
    [S_DEVICES] = "SELECT d.id, d.key, d.serial, s.name, d.agent_id, d.ip, d.vendor, d.model,"
                  " d.state, d.last_reading_at, d.readings FROM devices d"
                  " JOIN sites s ON s.id = d.site_id WHERE CAST(?1 AS TEXT) IS NULL OR s.name = ?1"
                  " ORDER BY s.name, d.key",
    /* the supplies of the last reading (all described ones before any reading) */
    [S_DEVICE_SUPPLIES] = "SELECT idx, type, colorant, description, level, max, percent"
                          " FROM supplies WHERE device_id = ?1 AND (?2 = 0 OR level_t = ?2)"
                          " ORDER BY idx",
    [S_DEVICE_FIND] =
        "SELECT d.id, d.site_id FROM devices d JOIN sites s ON s.id = d.site_id"
        " WHERE (CAST(?1 AS TEXT) IS NULL OR s.name = ?1) AND (d.serial = ?2 OR d.key = ?2)"
        " ORDER BY d.id LIMIT 2",
    [S_AGENTS] =
        "SELECT a.id, s.name, a.hostname, a.agent_version, a.enrolled_at, a.last_seen,"
        " a.revoked FROM agents a JOIN sites s ON s.id = a.site_id"
        " WHERE CAST(?1 AS TEXT) IS NULL OR s.name = ?1 ORDER BY s.name, a.enrolled_at, a.id",
};

_Static_assert(CSTORE_SLOTS_SITES + S_COUNT <= CSTORE_SLOTS_INGEST,
               "give this file more statement slots (cstore_int.h)");

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(cstore *st, stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_SITES + (size_t)id, stmt_sql[id], out);
}

/* ---------------------------------------------------------------------------------------
 * Sites and agents. */

static asr_result first_contact_add(cstore *st, int64_t site_id, const char *email,
                                    const char *address, int64_t now)
{
  int64_t id = 0;

  return cstore_contact_add(st, site_id, "", email, address, now, &id);
}

asr_result cstore_site_add(cstore *st, const char *name, const char *contact, const char *address,
                           int64_t now, char *token, size_t tokenn)
{
  char hex[33];
  cdb_stmt *s = NULL;
  bool row = false;
  int64_t site_id = 0;
  asr_result r;

  if (tokenn < CSTORE_TOKEN_LEN + 1 || asr_sign_random_hex(hex, 16) != ASR_OK)
    return ASR_ERR_INVALID;
  r = stmt_get(st, S_SITE_BY_NAME, &s);
  if (!r) {
    cdb_bind_text(s, 1, name);
    r = cdb_step(s, "looking up a site", &row);
    cdb_reset(s);
  }
  if (!r && row) {
    asr_sql_set_err(&st->sql, "site '%s' exists already", name);
    return ASR_ERR_INVALID;
  }
  if (!r)
    r = asr_fmt(token, tokenn, "st_%s", hex);
  if (!r)
    r = stmt_get(st, S_SITE_ADD, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, name);
  cdb_bind_text(s, 2, contact);
  cdb_bind_text(s, 3, address ? address : "");
  cdb_bind_text(s, 4, token);
  cdb_bind_i64(s, 5, now);
  r = cdb_step(s, "adding a site", &row);
  site_id = !r && row ? cdb_col_i64(s, 0) : 0;
  if (!r)
    r = cdb_run(s, "adding a site");
  if (!r) /* its first supplies contact: the default of its devices (schema 5) */
    r = first_contact_add(st, site_id, contact, address, now);
  return r;
}

asr_result cstore_site_foreach(cstore *st, cstore_site_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_SITES, &s);

  while (!r && row) {
    cstore_site site;
    r = cdb_step(s, "listing sites", &row);
    if (r || !row)
      break;
    site.id = cdb_col_i64(s, 0);
    site.name = cdb_col_text(s, 1);
    site.contact = cdb_col_text(s, 2);
    site.address = cdb_col_text(s, 3);
    site.created_at = cdb_col_i64(s, 4);
    site.agents = cdb_col_i64(s, 5);
    site.devices = cdb_col_i64(s, 6);
    site.token_revoked = (int)cdb_col_i64(s, 7) != 0;
    site.token_changed_at = cdb_col_i64(s, 8);
    if (cb(&site, ctx))
      break;
  }
  if (s)
    cdb_reset(s);
  return r;
}

/* Finds the site of a token: its id, name and the token's generation. ASR_ERR_NOT_FOUND
 * for no site, ASR_ERR_AUTH for a revoked token. */
static asr_result site_by_token(cstore *st, const char *token, int64_t *id, int64_t *gen,
                                char *site, size_t siten)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_SITE_BY_TOKEN, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, token);
  r = cdb_step(s, "looking up a site token", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    *id = cdb_col_i64(s, 0);
    *gen = cdb_col_i64(s, 3);
    r = asr_strlcpy(site, cdb_col_text(s, 1), siten);
    if (!r && (int)cdb_col_i64(s, 2) != 0)
      r = ASR_ERR_AUTH;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_enroll(cstore *st, const char *token, const char *hostname, const char *version,
                         int64_t now, cstore_agent *agent, char *site, size_t siten)
{
  char hex[33];
  cdb_stmt *s = NULL;
  int64_t gen = 1;
  asr_result r;

  memset(agent, 0, sizeof(*agent));
  r = site_by_token(st, token, &agent->site_id, &gen, site, siten);
  if (!r && (asr_sign_random_hex(hex, 16) || asr_sign_random_hex(agent->secret, 32)))
    r = ASR_ERR_INVALID;
  if (!r)
    r = asr_fmt(agent->id, sizeof(agent->id), "ag_%s", hex);
  if (!r)
    r = stmt_get(st, S_AGENT_ADD, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, agent->id);
  cdb_bind_i64(s, 2, agent->site_id);
  cdb_bind_text(s, 3, agent->secret);
  cdb_bind_text(s, 4, hostname ? hostname : "");
  cdb_bind_text(s, 5, version ? version : "");
  cdb_bind_i64(s, 6, now);
  cdb_bind_i64(s, 7, gen);
  return cdb_run(s, "adding an agent");
}

asr_result cstore_agent_get(cstore *st, const char *id, cstore_agent *out)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_AGENT_GET, &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  cdb_bind_text(s, 1, id);
  r = cdb_step(s, "looking up an agent", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r) {
    out->site_id = cdb_col_i64(s, 0);
    out->revoked = (int)cdb_col_i64(s, 2) != 0;
    if (asr_strlcpy(out->secret, cdb_col_text(s, 1), sizeof(out->secret)) ||
        asr_strlcpy(out->id, id, sizeof(out->id)))
      r = ASR_ERR_INVALID;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_agent_revoke(cstore *st, const char *id)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_AGENT_REVOKE, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, id);
  r = cdb_run(s, "revoking an agent");
  if (!r && cdb_changes(s) == 0)
    r = ASR_ERR_NOT_FOUND;
  return r;
}

asr_result cstore_agent_foreach(cstore *st, const char *site, cstore_agent_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  int64_t id = 0;
  asr_result r = site ? cstore_site_id(st, site, &id) : ASR_OK;

  if (!r)
    r = stmt_get(st, S_AGENTS, &s);
  if (r)
    return r;
  if (site)
    cdb_bind_text(s, 1, site);
  while (!r && row) {
    cstore_agent_row a;
    r = cdb_step(s, "listing agents", &row);
    if (r || !row)
      break;
    a.id = cdb_col_text(s, 0);
    a.site = cdb_col_text(s, 1);
    a.hostname = cdb_col_text(s, 2);
    a.version = cdb_col_text(s, 3);
    a.enrolled_at = cdb_col_i64(s, 4);
    a.last_seen = cdb_col_i64(s, 5);
    a.revoked = (int)cdb_col_i64(s, 6) != 0;
    if (cb(&a, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

/* The name of agent id's site. */
static asr_result agent_site(cstore *st, const char *id, char *site, size_t n)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_AGENT_SITE, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, id);
  r = cdb_step(s, "looking up an agent's site", &row);
  if (!r && !row)
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = asr_strlcpy(site, cdb_col_text(s, 0), n);
  cdb_reset(s);
  return r;
}

/* Revokes the site token agent id enrolled with, when it is still the site's; *revoked
 * tells whether it was. */
static asr_result revoke_token_of(cstore *st, const char *id, int64_t now, bool *revoked)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, S_TOKEN_REVOKE_OF_AGENT, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, id);
  cdb_bind_i64(s, 2, now);
  r = cdb_run(s, "revoking a site token");
  *revoked = !r && cdb_changes(s) > 0;
  return r;
}

asr_result cstore_agent_lock_out(cstore *st, const char *id, bool keep_token, int64_t now,
                                 cstore_lockout *out)
{
  asr_result r;

  memset(out, 0, sizeof(*out));
  r = cstore_tx_begin(st);
  if (!r)
    r = cstore_agent_revoke(st, id);
  if (!r)
    r = agent_site(st, id, out->site, sizeof(out->site));
  if (!r && !keep_token)
    r = revoke_token_of(st, id, now, &out->token_revoked);
  if (!r)
    r = cstore_x_commit(st, "committing a revocation");
  if (r)
    cstore_tx_rollback(st);
  return r;
}

/* Runs a statement on a site name with (name, text or NULL, now); ASR_ERR_NOT_FOUND when no
 * site has that name. */
static asr_result site_update(cstore *st, stmt_id id, const char *name, const char *text,
                              int64_t now, const char *what)
{
  cdb_stmt *s = NULL;
  asr_result r = stmt_get(st, id, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, name);
  if (text) {
    cdb_bind_text(s, 2, text);
    cdb_bind_i64(s, 3, now);
  } else {
    cdb_bind_i64(s, 2, now);
  }
  r = cdb_run(s, what);
  if (!r && cdb_changes(s) == 0) {
    asr_sql_set_err(&st->sql, "no site '%s'", name);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_site_token_rotate(cstore *st, const char *name, int64_t now, char *token,
                                    size_t tokenn)
{
  char hex[33];

  if (tokenn < CSTORE_TOKEN_LEN + 1 || asr_sign_random_hex(hex, 16) != ASR_OK ||
      asr_fmt(token, tokenn, "st_%s", hex) != ASR_OK)
    return ASR_ERR_INVALID;
  return site_update(st, S_TOKEN_ROTATE, name, token, now, "rotating a site token");
}

asr_result cstore_site_token_revoke(cstore *st, const char *name, int64_t now)
{
  return site_update(st, S_TOKEN_REVOKE, name, NULL, now, "revoking a site token");
}

asr_result cstore_site_id(cstore *st, const char *name, int64_t *id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = stmt_get(st, S_SITE_BY_NAME, &s);

  *id = 0;
  if (r)
    return r;
  cdb_bind_text(s, 1, name);
  r = cdb_step(s, "looking up a site", &row);
  if (!r && row)
    *id = cdb_col_i64(s, 0);
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "no site '%s'", name);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Devices: the listing, and finding one by serial. */

#define SUPPLY_ROWS_MAX 256

static asr_result device_supplies(cstore *st, cstore_device_row *d, cstore_supply_row *rows)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_DEVICE_SUPPLIES, &s);

  d->n_supplies = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, d->id);
  cdb_bind_i64(s, 2, d->last_reading_at);
  while (!r && d->n_supplies < SUPPLY_ROWS_MAX) {
    cstore_supply_row *o = &rows[d->n_supplies];
    r = cdb_step(s, "listing supplies", &row);
    if (r || !row)
      break;
    o->index = (int)cdb_col_i64(s, 0);
    o->type = cdb_col_cut(s, 1, o->buf[0], CSTORE_NAME_MAX);
    o->colorant = cdb_col_cut(s, 2, o->buf[1], CSTORE_NAME_MAX);
    o->description = cdb_col_cut(s, 3, o->buf[2], CSTORE_NAME_MAX);
    o->has_level = !cdb_col_null(s, 4);
    o->level = cdb_col_i64(s, 4);
    o->has_max = !cdb_col_null(s, 5);
    o->max = cdb_col_i64(s, 5);
    o->has_percent = !cdb_col_null(s, 6);
    o->percent = (int)cdb_col_i64(s, 6);
    d->n_supplies++;
  }
  return r;
}

static void device_from_row(cdb_stmt *s, cstore_device_row *d)
{
  d->id = cdb_col_i64(s, 0);
  d->key = cdb_col_text(s, 1);
  d->serial = cdb_col_text(s, 2);
  d->site = cdb_col_text(s, 3);
  d->agent = cdb_col_text(s, 4);
  d->ip = cdb_col_text(s, 5);
  d->vendor = cdb_col_text(s, 6);
  d->model = cdb_col_text(s, 7);
  d->state = cdb_col_text(s, 8);
  d->last_reading_at = cdb_col_i64(s, 9);
  d->readings = cdb_col_i64(s, 10);
}

asr_result cstore_device_foreach(cstore *st, const char *site, cstore_device_cb cb, void *ctx)
{
  cstore_supply_row *rows = calloc(SUPPLY_ROWS_MAX, sizeof(*rows));
  cdb_stmt *s = NULL, *ss = NULL;
  bool row = true;
  asr_result r = rows ? ASR_OK : ASR_ERR_NOMEM;

  if (!r && site)
    r = cstore_site_exists(st, site);
  if (!r)
    r = stmt_get(st, S_DEVICES, &s);
  if (!r)
    cdb_bind_text(s, 1, site);
  while (!r && row) {
    cstore_device_row d;
    r = cdb_step(s, "listing devices", &row);
    if (r || !row)
      break;
    device_from_row(s, &d);
    r = device_supplies(st, &d, rows);
    d.supplies = rows;
    if (!r && cb(&d, ctx))
      break;
    if (!r && !stmt_get(st, S_DEVICE_SUPPLIES, &ss))
      cdb_reset(ss);
  }
  if (s)
    cdb_reset(s);
  if (!stmt_get(st, S_DEVICE_SUPPLIES, &ss))
    cdb_reset(ss);
  free(rows);
  return r;
}

asr_result cstore_device_find(cstore *st, const char *site, const char *serial, int64_t *dev,
                              int64_t *site_id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  int n = 0;
  asr_result r = site ? cstore_site_exists(st, site) : ASR_OK;

  *dev = *site_id = 0;
  if (!r)
    r = stmt_get(st, S_DEVICE_FIND, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_text(s, 2, serial);
  while (!r && (r = cdb_step(s, "looking up a device", &row)) == ASR_OK && row) {
    if (n++ == 0) {
      *dev = cdb_col_i64(s, 0);
      *site_id = cdb_col_i64(s, 1);
    }
  }
  cdb_reset(s);
  if (!r && n == 0) {
    asr_sql_set_err(&st->sql, "no device '%s'%s%s", serial, site ? " at site " : "",
                    site ? site : "");
    r = ASR_ERR_NOT_FOUND;
  } else if (!r && n > 1) {
    asr_sql_set_err(&st->sql, "several sites have a device '%s': name the site (--site)", serial);
    r = ASR_ERR_INVALID;
  }
  return r;
}
