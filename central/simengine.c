/* simengine.c: `asr-central simulate --engine`: the simulated fleet through the real
 * engine and store (simengine.h, docs/replenishment.md "Simulation").
 *
 * Reading order: the run's database and its sites (one site per site and supplies contact
 * of the fleet, so that the engine consolidates the same groups as the rules-only mode),
 * the fleet's description as batch devices, a day's reports as batches, the engine's day
 * and its orders read back and shipped, deliveries, and the totals.
 *
 * Why batches are built in memory and not sent over HTTP: the simulation measures the
 * engine, not the transport (test_central.sh covers that); cstore_apply is what ingest.c
 * calls once a batch is validated. */
#include "central/simengine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "central/cstore.h"
#include "central/cstore_pgschema.h"
#include "central/engine.h"
#include "common/device.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "wire/sign.h"

#define DESC_LEN 48
#define KEY_LEN 48

typedef struct {
  char name[CSTORE_NAME_MAX], contact[CSTORE_NAME_MAX];
  int64_t id, second; /* the site's id, its second contact's (0: none yet) */
  cstore_agent ag;
} sie_site;

struct csime {
  cstore *st;
  asr_rp_conf c;
  char dir[512], path[640];
  bool temp;
  const char *db, *pwfile;               /* PostgreSQL: the URI and its password file */
  char schema[CSTORE_PG_SCHEMA_MAX + 1]; /* PostgreSQL: the run's schema */
  bool created;                          /* ... created by this run */
  char *uri;                             /* ... the run's URI (its search_path) */
  char err[256];                         /* a message of this file's own (csime_errmsg) */
  sie_site *sites;
  size_t n_sites;
  size_t *dev_site;       /* each device's site */
  size_t *lv_off;         /* each device's first level in lv and meta */
  cstore_dev *devs;       /* the fleet as batch devices */
  cstore_supply_meta *sm; /* their supplies */
  char (*desc)[DESC_LEN]; /* supply descriptions */
  char (*key)[KEY_LEN];   /* device keys */
  cstore_dev *b_devs;     /* one batch's devices ... */
  cstore_reading *b_rd;   /* ... readings ... */
  cstore_level *lv;       /* ... and levels */
  int64_t *ship_ids;      /* the day's created orders */
  size_t n_ship_ids, cap_ship_ids;
  int64_t *ships; /* shipped orders: pairs of id (0: delivered) and arrival day */
  size_t n_ships, cap_ships;
  long early;
  bool *assigned; /* each device of a second contact: assigned to it in the store */
};

/* ---- The database and its sites ------------------------------------------------------ */

static asr_result make_dir(csime *e, const char *keep, const char *name, char *err, size_t n)
{
  const char *tmp = getenv("TMPDIR");

  if (keep) {
    e->temp = false;
    if (mkdir(keep, 0700) != 0 && errno != EEXIST) {
      asr_fmt_cut(err, n, "%s: cannot create: %s", keep, strerror(errno));
      return ASR_ERR_INVALID; /* the user's directory: a failed command, not ours */
    }
    if (asr_strlcpy(e->dir, keep, sizeof(e->dir)) != ASR_OK) {
      asr_fmt_cut(err, n, "%s: path too long", keep);
      return ASR_ERR_INVALID;
    }
  } else {
    e->temp = true;
    if (asr_fmt(e->dir, sizeof(e->dir), "%s/asr-simulate.XXXXXX", tmp && *tmp ? tmp : "/tmp") ||
        mkdtemp(e->dir) == NULL) {
      asr_fmt_cut(err, n, "cannot create a temporary directory: %s", strerror(errno));
      e->dir[0] = '\0';
      return ASR_ERR_IO;
    }
  }
  if (asr_fmt(e->path, sizeof(e->path), "%s/%s.db", e->dir, name) != ASR_OK) {
    asr_fmt_cut(err, n, "%s: path too long", e->dir);
    return ASR_ERR_INVALID;
  }
  if (!e->temp && access(e->path, F_OK) == 0) {
    asr_fmt_cut(err, n, "%s exists already: not overwritten", e->path);
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* A supplies contact's e-mail: supplies-CONTACT@SITE.example. */
static asr_result contact_email(const asr_rp_device *d, char *out, size_t n)
{
  const char *ct = d->contact && *d->contact ? d->contact : "a";

  return asr_fmt(out, n, "supplies-%s@%s.example", ct, d->site);
}

/* A site of the fleet with its first supplies contact ("a") and an enrolled agent; its
 * registration mail queued as `site add` does. */
static asr_result site_add(csime *e, const char *name, const char *contact, int64_t now)
{
  char token[CSTORE_TOKEN_LEN + 1], sname[CSTORE_NAME_MAX];
  sie_site *s = &e->sites[e->n_sites];
  int64_t first = 0;
  bool queued = false;
  cengine_opts o = {.now = now};
  asr_result r = cstore_site_add(e->st, name, contact, NULL, now, token, sizeof(token));

  if (!r)
    r = cstore_enroll(e->st, token, "simulate", "simulate", now, &s->ag, sname, sizeof(sname));
  if (!r)
    r = cstore_contact_find(e->st, name, NULL, &first);
  if (!r)
    r = cengine_registered(e->st, first, &o, &queued);
  if (r)
    return r;
  s->id = s->ag.site_id;
  asr_strlcpy_cut(s->name, name, sizeof(s->name));
  asr_strlcpy_cut(s->contact, contact, sizeof(s->contact));
  e->n_sites++;
  return ASR_OK;
}

/* The site's second contact ("b"), added once, with its registration mail. */
static asr_result second_contact(csime *e, sie_site *s, const char *email, int64_t now)
{
  bool queued = false;
  cengine_opts o = {.now = now};
  asr_result r;

  if (s->second)
    return ASR_OK;
  r = cstore_contact_add(e->st, s->id, "second contact", email, "the other building", now,
                         &s->second);
  return r ? r : cengine_registered(e->st, s->second, &o, &queued);
}

/* One site per site of the fleet, with its contacts: a device of contact "b" is assigned to
 * the site's second contact once it has reported (csime_report). */
static asr_result make_sites(csime *e, const asr_rp_device *v, size_t n, int64_t now)
{
  char email[CSTORE_NAME_MAX];

  for (size_t i = 0; i < n; i++) {
    size_t s = 0;
    asr_rp_device a = v[i];
    a.contact = "a";
    asr_result r = contact_email(&a, email, sizeof(email));
    while (!r && s < e->n_sites && strcmp(e->sites[s].name, v[i].site) != 0)
      s++;
    if (!r && s == e->n_sites)
      r = site_add(e, v[i].site, email, now);
    if (!r && v[i].contact && strcmp(v[i].contact, "a") != 0) {
      r = contact_email(&v[i], email, sizeof(email));
      if (!r)
        r = second_contact(e, &e->sites[s], email, now);
    }
    if (r)
      return r;
    e->dev_site[i] = s;
    e->assigned[i] = !v[i].contact || strcmp(v[i].contact, "a") == 0;
  }
  return ASR_OK;
}

/* ---- The fleet as batch devices ------------------------------------------------------- */

static size_t total_supplies(const asr_rp_device *v, size_t n)
{
  size_t t = 0;

  for (size_t i = 0; i < n; i++)
    t += v[i].n_supplies;
  return t;
}

static asr_result alloc_fleet(csime *e, size_t n, size_t sup)
{
  size_t s = sup ? sup : 1, d = n ? n : 1;

  e->sites = calloc(d, sizeof(*e->sites));
  e->dev_site = calloc(d, sizeof(*e->dev_site));
  e->lv_off = calloc(d, sizeof(*e->lv_off));
  e->devs = calloc(d, sizeof(*e->devs));
  e->b_devs = calloc(d, sizeof(*e->b_devs));
  e->b_rd = calloc(d, sizeof(*e->b_rd));
  e->key = calloc(d, sizeof(*e->key));
  e->sm = calloc(s, sizeof(*e->sm));
  e->desc = calloc(s, sizeof(*e->desc));
  e->lv = calloc(s, sizeof(*e->lv));
  e->assigned = calloc(d, sizeof(*e->assigned));
  if (!e->sites || !e->dev_site || !e->lv_off || !e->devs || !e->b_devs || !e->b_rd || !e->key ||
      !e->sm || !e->desc || !e->lv || !e->assigned)
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

/* Supply k of device i as a printer describes it (RFC 3805 names). */
static void describe_supply(csime *e, size_t at, const asr_rp_supply *s, int32_t index)
{
  const char *type = asr_supply_type_name(s->type);
  bool waste = s->type == 4 || s->type == 8; /* wasteToner, wasteInk: receptacles */

  asr_fmt_cut(e->desc[at], DESC_LEN, "%s %s", s->colorant ? s->colorant : "waste",
              type ? type : "supply");
  e->sm[at] = (cstore_supply_meta){.index = index,
                                   .description = e->desc[at],
                                   .type = type,
                                   .klass = waste ? "filled" : "consumed",
                                   .colorant = s->colorant,
                                   .unit = "impressions",
                                   .colorant_std = s->colorant_std};
}

static void describe_fleet(csime *e, const asr_rp_device *v, size_t n)
{
  size_t at = 0;

  for (size_t i = 0; i < n; i++) {
    e->lv_off[i] = at;
    for (size_t k = 0; k < v[i].n_supplies; k++)
      describe_supply(e, at + k, &v[i].supplies[k], (int32_t)k + 1);
    asr_fmt_cut(e->key[i], KEY_LEN, "serial:%s", v[i].serial); /* SIM%04u serials: they fit */
    e->devs[i] = (cstore_dev){.key = e->key[i],
                              .serial = v[i].serial,
                              .vendor = "Simulated",
                              .model = "SIM-1",
                              .state = "ok",
                              .state_since = -1,
                              .last_good_poll = -1,
                              .failed_polls = -1,
                              .n_supplies = v[i].n_supplies,
                              .supplies = &e->sm[at]};
    at += v[i].n_supplies;
  }
}

asr_result csime_schema_name(const char *keep, const char *name, char *out, size_t cap)
{
  if (!keep || !*keep || asr_fmt(out, cap, "%s_%s", keep, name))
    return ASR_ERR_INVALID;
  for (char *c = out; *c; c++)
    if (*c == '-')
      *c = '_';
  return cstore_pg_schema_valid(out) ? ASR_OK : ASR_ERR_INVALID;
}

/* PostgreSQL: the run's schema, created, and the URI that selects it. */
static asr_result make_schema(csime *e, const csime_where *w, const char *name, char *err, size_t n)
{
  char hex[17], prefix[32];
  size_t cap = strlen(w->db) + sizeof(e->schema) + 64;
  asr_result r;

  e->db = w->db;
  e->pwfile = w->password_file;
  e->temp = !w->keep;
  if (!w->keep && (asr_sign_random_hex(hex, 8) != ASR_OK ||
                   asr_fmt(prefix, sizeof(prefix), "asr_sim_%s", hex) != ASR_OK)) {
    asr_fmt_cut(err, n, "cannot draw a schema name");
    return ASR_ERR_IO;
  }
  if (csime_schema_name(w->keep ? w->keep : prefix, name, e->schema, sizeof(e->schema))) {
    asr_fmt_cut(err, n,
                "--keep-db '%s': with a PostgreSQL --db, the prefix of the run's schema"
                " PREFIX_%s: [a-z_][a-z0-9_]*, not pg_, at most 37 bytes",
                w->keep, name);
    return ASR_ERR_INVALID;
  }
  e->uri = malloc(cap);
  if (!e->uri)
    return ASR_ERR_NOMEM;
  r = cstore_pg_schema_uri(w->db, e->schema, e->uri, cap, err, n);
  if (!r)
    r = cstore_pg_schema_create(w->db, w->password_file, e->schema, err, n);
  e->created = !r;
  if (!r && asr_fmt(e->path, sizeof(e->path), "%s schema %s", w->db, e->schema))
    asr_strlcpy_cut(e->path, e->schema, sizeof(e->path));
  return r;
}

asr_result csime_open(const csime_where *w, const char *name, const asr_rp_conf *c,
                      const asr_rp_device *v, size_t n, int64_t now, csime **out, char *err,
                      size_t errn)
{
  csime *e = calloc(1, sizeof(*e));
  asr_result r = e ? ASR_OK : ASR_ERR_NOMEM;

  *out = NULL;
  if (!r) {
    e->c = *c;
    r = alloc_fleet(e, n, total_supplies(v, n));
  }
  if (!r)
    r = w->db ? make_schema(e, w, name, err, errn) : make_dir(e, w->keep, name, err, errn);
  if (!r)
    r = cstore_open(e->uri ? e->uri : e->path, &e->st, err, errn);
  if (!r) {
    describe_fleet(e, v, n);
    r = make_sites(e, v, n, now);
    if (r)
      asr_fmt_cut(err, errn, "%s", cstore_errmsg(e->st));
  }
  if (r) {
    csime_close(e);
    return r;
  }
  *out = e;
  return ASR_OK;
}

static void remove_db(const csime *e)
{
  static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[700];

  for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
    if (asr_fmt(p, sizeof(p), "%s%s", e->path, sfx[i]) == ASR_OK)
      (void)unlink(p);
  (void)rmdir(e->dir);
}

/* PostgreSQL: drops the run's schema; a failure is said (the schema is left). */
static void drop_schema(const csime *e)
{
  char err[512];

  if (cstore_pg_schema_drop(e->db, e->pwfile, e->schema, err, sizeof(err)) != ASR_OK)
    asr_log(ASR_LOG_ERR, "%s; the simulation's schema %s is left: DROP SCHEMA %s CASCADE", err,
            e->schema, e->schema);
}

void csime_close(csime *e)
{
  if (!e)
    return;
  cstore_close(e->st);
  if (e->temp && e->dir[0])
    remove_db(e);
  if (e->temp && e->created)
    drop_schema(e);
  free(e->uri);
  free(e->sites);
  free(e->dev_site);
  free(e->lv_off);
  free(e->devs);
  free(e->b_devs);
  free(e->b_rd);
  free(e->key);
  free(e->sm);
  free(e->desc);
  free(e->lv);
  free(e->ship_ids);
  free(e->ships);
  free(e->assigned);
  free(e);
}

const char *csime_path(const csime *e)
{
  return e->path;
}

const char *csime_errmsg(const csime *e)
{
  return e->err[0] ? e->err : cstore_errmsg(e->st);
}

const char *csime_schema(const csime *e)
{
  return e->schema[0] ? e->schema : NULL;
}

/* ---- A day's reports ------------------------------------------------------------------ */

/* Whether device d reported on day (its newest reading is of that day). */
static bool reported(const asr_rp_device *d, int64_t day)
{
  const asr_rp_supply *s = d->n_supplies ? &d->supplies[0] : NULL;

  return s && s->n_readings && s->readings[s->n_readings - 1].day == day;
}

/* Adds device i's reading of day to the batch being built in e->b_devs / e->b_rd. */
static void batch_device(csime *e, const asr_rp_device *d, size_t i, int64_t day, size_t *nd)
{
  cstore_level *lv = &e->lv[e->lv_off[i]];

  for (size_t k = 0; k < d->n_supplies; k++) {
    const asr_rp_supply *s = &d->supplies[k];
    lv[k] = (cstore_level){.index = (int32_t)k + 1,
                           .has_level = true,
                           .has_max = true,
                           .level = (int64_t)s->readings[s->n_readings - 1].level,
                           .max = (int64_t)s->capacity};
  }
  e->b_devs[*nd] = e->devs[i];
  e->b_rd[*nd] = (cstore_reading){
      .device = *nd, .t = day * 86400 + 3600 + (int64_t)i, .n_levels = d->n_supplies, .levels = lv};
  (*nd)++;
}

static asr_result report_site(csime *e, const asr_rp_device *v, size_t n, size_t site, int64_t day)
{
  char bid[96];
  size_t nd = 0;
  cstore_applied res;
  int64_t now = day * 86400 + 7200;

  for (size_t i = 0; i < n; i++)
    if (e->dev_site[i] == site && reported(&v[i], day))
      batch_device(e, &v[i], i, day, &nd);
  if (nd == 0)
    return ASR_OK; /* the agent sends nothing: its devices are all silent */
  if (asr_fmt(bid, sizeof(bid), "sim-%s-%lld", e->sites[site].name, (long long)day) != ASR_OK)
    return ASR_ERR_LIMIT;
  cstore_batch b = {.batch_id = bid,
                    .agent_id = e->sites[site].ag.id,
                    .agent_version = "simulate",
                    .created_at = now,
                    .n_devices = nd,
                    .devices = e->b_devs,
                    .n_readings = nd,
                    .readings = e->b_rd};
  return cstore_apply(e->st, &e->sites[site].ag, &b, now, &res);
}

/* Assigns the devices of second contacts that have reported to their contact. */
static asr_result assign_devices(csime *e, const asr_rp_device *v, size_t n, int64_t now)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < n; i++) {
    int64_t dev = 0, site = 0;
    if (e->assigned[i])
      continue;
    r = cstore_device_find(e->st, v[i].site, v[i].serial, &dev, &site);
    if (r == ASR_ERR_NOT_FOUND) { /* not reported yet */
      r = ASR_OK;
      continue;
    }
    if (!r)
      r = cstore_device_assign(e->st, dev, e->sites[e->dev_site[i]].second, now);
    e->assigned[i] = !r;
  }
  return r;
}

asr_result csime_report(csime *e, const asr_rp_device *v, size_t n, int64_t day)
{
  asr_result r = ASR_OK;

  for (size_t s = 0; !r && s < e->n_sites; s++)
    r = report_site(e, v, n, s, day);
  if (!r)
    r = assign_devices(e, v, n, day * 86400 + 7300);
  return r;
}

/* ---- The engine's day ---------------------------------------------------------------- */

typedef struct {
  csime *e;
  const asr_rp_device *v;
  size_t n;
  asr_rp_plan *plan;
  asr_result r;
} day_orders;

static asr_result map_line(const day_orders *x, const cstore_order_line *l, asr_rp_line *out)
{
  size_t i = 0;

  while (i < x->n && strcmp(x->v[i].serial, l->serial ? l->serial : "") != 0)
    i++;
  if (i == x->n || l->supply_index < 1 || (size_t)l->supply_index > x->v[i].n_supplies)
    return ASR_ERR_INVALID; /* the engine ordered for a device or supply not of the fleet */
  *out = (asr_rp_line){.device = i, .supply = (size_t)l->supply_index - 1, .quantity = l->quantity};
  for (int k = ASR_RP_REASON_TRIGGER; k <= ASR_RP_REASON_EXTRA; k++)
    if (l->reason && strcmp(l->reason, asr_rp_reason_str((asr_rp_reason)k)) == 0)
      out->reason = (asr_rp_reason)k;
  return out->reason ? ASR_OK : ASR_ERR_INVALID;
}

static asr_result remember(int64_t **arr, size_t *n, size_t *cap, int64_t id)
{
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    int64_t *m = realloc(*arr, c * sizeof(*m));
    if (!m)
      return ASR_ERR_NOMEM;
    *arr = m;
    *cap = c;
  }
  (*arr)[(*n)++] = id;
  return ASR_OK;
}

/* Each order still "created" is one of today's: into the plan and the list to ship. */
static int collect_order(const cstore_order_row *o, void *ctx)
{
  day_orders *x = ctx;
  asr_rp_plan *p = x->plan;

  if (strcmp(o->state, "created") != 0)
    return 0;
  if (p->n_orders == p->max_orders || p->n_lines + o->n_lines > p->max_lines) {
    x->r = ASR_ERR_LIMIT;
    return 1;
  }
  p->orders[p->n_orders] = (asr_rp_order){.first_line = p->n_lines, .n_lines = o->n_lines};
  for (size_t k = 0; !x->r && k < o->n_lines; k++)
    x->r = map_line(x, &o->lines[k], &p->lines[p->n_lines + k]);
  if (!x->r && o->n_lines)
    p->orders[p->n_orders].trigger_device = p->lines[p->n_lines].device;
  if (!x->r)
    x->r = remember(&x->e->ship_ids, &x->e->n_ship_ids, &x->e->cap_ship_ids, o->id);
  p->n_lines += o->n_lines;
  p->n_orders++;
  return x->r != ASR_OK;
}

static asr_result ship(csime *e, int64_t id, int64_t arrive, int64_t now)
{
  char err[256];
  cengine_opts o = {.now = now};
  asr_result r = cengine_order_step(e->st, id, CENGINE_SHIP, &o, err, sizeof(err));

  if (!r)
    r = remember(&e->ships, &e->n_ships, &e->cap_ships, id);
  if (!r)
    r = remember(&e->ships, &e->n_ships, &e->cap_ships, arrive);
  return r;
}

/* The engine's day. PostgreSQL: the engine's lock is the database's, so an asr-central
 * engine running its day in another schema of the database at this instant makes ours cede
 * the day (other_node); waited for (5 s), else an error: never a day silently skipped. */
static asr_result engine_day(csime *e, int64_t day, const cengine_opts *o, cengine_report *rep)
{
  asr_result r = ASR_OK;

  for (int i = 0; !r && i < 50; i++) {
    r = cengine_run_day(e->st, &e->c, day, o, rep);
    if (r || !rep->other_node)
      return r;
    asr_platform_sleep_ms(100);
  }
  asr_fmt_cut(e->err, sizeof(e->err),
              "%s: another asr-central engine of this database held the engine's lock for 5 s:"
              " run again",
              e->path);
  return ASR_ERR_DB_LOCKED;
}

asr_result csime_run_day(csime *e, const asr_rp_device *v, size_t n, int64_t day, int delivery,
                         asr_rp_plan *plan)
{
  cengine_opts o = {.now = day * 86400 + 79200}; /* 22:00, after the day's reports */
  cengine_report rep;
  day_orders x = {.e = e, .v = v, .n = n, .plan = plan};
  asr_result r = engine_day(e, day, &o, &rep);

  plan->n_orders = plan->n_lines = 0;
  e->n_ship_ids = 0;
  if (r)
    return r;
  e->early += (long)rep.early;
  r = cstore_order_foreach(e->st, NULL, true, collect_order, &x);
  if (!r)
    r = x.r;
  for (size_t i = 0; !r && i < e->n_ship_ids; i++)
    r = ship(e, e->ship_ids[i], day + delivery, o.now + 60);
  return r;
}

asr_result csime_deliver(csime *e, int64_t day)
{
  char err[256];
  cengine_opts o = {.now = day * 86400 + 600};
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i + 1 < e->n_ships; i += 2) {
    if (e->ships[i] == 0 || e->ships[i + 1] > day)
      continue; /* called in the morning, before the day's engine (delivery 0: next day) */
    r = cengine_order_step(e->st, e->ships[i], CENGINE_DELIVER, &o, err, sizeof(err));
    e->ships[i] = 0;
  }
  return r;
}

asr_result csime_extra(csime *e, const asr_rp_device *v, size_t dev, size_t sup, int quantity,
                       int64_t job_from, int64_t job_to, int64_t day, int delivery, int64_t *id)
{
  char err[256];
  int64_t d = 0, site = 0;
  cengine_opts o = {.now = day * 86400 + 43200};
  asr_result r = cstore_device_find(e->st, v[dev].site, v[dev].serial, &d, &site);

  if (r)
    return r;
  cengine_extra x = {.device = d,
                     .supply = (int32_t)sup + 1,
                     .quantity = quantity,
                     .job_from = job_from,
                     .job_to = job_to,
                     .note = "a big print job (simulated helpdesk request)"};
  r = cengine_extra_order(e->st, &x, &o, id, err, sizeof(err));
  if (!r)
    r = ship(e, *id, day + delivery, o.now + 60);
  return r;
}

typedef struct {
  const asr_rp_device *v;
  size_t n;
  bool *judged, *high_use;
} marks_ctx;

static int device_marks(const cstore_rp_device *d, void *ctx)
{
  marks_ctx *m = ctx;

  for (size_t i = 0; d->serial && i < m->n; i++)
    if (strcmp(m->v[i].serial, d->serial) == 0) {
      m->judged[i] = d->judged;
      m->high_use[i] = d->high_use;
    }
  return 0;
}

asr_result csime_marks(csime *e, const asr_rp_device *v, size_t n, bool *judged, bool *high_use)
{
  marks_ctx m = {v, n, judged, high_use};

  return cstore_rp_devices(e->st, device_marks, &m);
}

typedef struct {
  int32_t idx;
  int64_t delivered, installed;
} stock_ctx;

static int supply_stock(const cstore_rp_supply *p, void *ctx)
{
  stock_ctx *s = ctx;

  if (p->index == s->idx) {
    s->delivered = p->delivered;
    s->installed = p->installed;
  }
  return 0;
}

asr_result csime_stock(csime *e, const asr_rp_device *v, size_t dev, size_t sup, int64_t *delivered,
                       int64_t *installed)
{
  int64_t d = 0, site = 0;
  stock_ctx s = {.idx = (int32_t)sup + 1};
  asr_result r = cstore_device_find(e->st, v[dev].site, v[dev].serial, &d, &site);

  if (!r)
    r = cstore_rp_supplies(e->st, d, supply_stock, &s);
  *delivered = s.delivered;
  *installed = s.installed;
  return r;
}

asr_result csime_settle(csime *e, int64_t day)
{
  cengine_opts o = {.now = day * 86400 + 79200};
  cengine_report rep;

  return engine_day(e, day, &o, &rep);
}

/* ---- Totals --------------------------------------------------------------------------- */

static int count_order(const cstore_order_row *o, void *ctx)
{
  (void)o;
  (*(long *)ctx)++;
  return 0;
}

/* The report's name of a mail kind: "order_created", "disconnected", "final", ... */
static void kind_key(const char *kind, char *out, size_t n)
{
  if (strcmp(kind, "disconnection notice") == 0)
    kind = "disconnected";
  else if (strcmp(kind, "final disconnection notice") == 0)
    kind = "final";
  else if (strcmp(kind, "eligible again") == 0)
    kind = "eligible_again";
  asr_strlcpy_cut(out, kind, n);
  for (char *c = out; *c; c++)
    if (*c == ' ')
      *c = '_';
}

/* Counts the devices a disconnection notice names ("Serial: SERIAL (" in its body). */
static void count_named(const cstore_mail *m, const asr_rp_device *v, size_t n, long *named)
{
  char needle[96];

  for (size_t i = 0; named && i < n; i++) {
    if (asr_fmt(needle, sizeof(needle), "Serial: %s (", v[i].serial) == ASR_OK &&
        strstr(m->msg, needle))
      named[i]++;
  }
}

/* The order id and the step of an order mail's key ("I-order-ID-created", "I-order-ID-ship-L");
 * 0 when the key is not an order's. */
static int64_t order_key(const char *key, bool *created)
{
  const char *p = strstr(key, "-order-");
  char *end = NULL;
  long long id = p ? strtoll(p + 7, &end, 10) : 0;

  *created = end && strcmp(end, "-created") == 0;
  return end && (*created || strncmp(end, "-ship-", 6) == 0) ? (int64_t)id : 0;
}

/* Order mails not sent exactly once: every order made in the run is created and shipped
 * whole, so each has one created and one shipped mail. */
static long order_mails_off(const int64_t *created, const int64_t *shipped, long orders)
{
  long off = 0;

  for (long i = 0; i < orders; i++)
    off += labs((long)created[i] - 1) + labs((long)shipped[i] - 1);
  return off;
}

static asr_result count_mails(csime *e, csime_totals *t, const asr_rp_device *v, size_t n,
                              long *named)
{
  cstore_mail m;
  bool found = true, created = false;
  int64_t after = 0;
  char key[64];
  int64_t *nc = calloc((size_t)t->orders + 1, sizeof(*nc)),
          *ns = calloc((size_t)t->orders + 1, sizeof(*ns));
  asr_result r = nc && ns ? ASR_OK : ASR_ERR_NOMEM;

  while (!r && found) {
    r = cstore_outbox_next(e->st, INT64_MAX / 2, after, &m, &found);
    if (r || !found)
      break;
    kind_key(m.kind ? m.kind : "notice", key, sizeof(key));
    json_int_t c = json_integer_value(json_object_get(t->notices_by_kind, key));
    if (json_object_set_new(t->notices_by_kind, key, json_integer(c + 1)) != 0)
      r = ASR_ERR_NOMEM;
    if (strcmp(key, "disconnected") == 0 || strcmp(key, "final") == 0)
      count_named(&m, v, n, named);
    int64_t id = order_key(m.key, &created);
    if (id > 0 && id <= t->orders)
      (created ? nc : ns)[id - 1]++;
    t->mails++;
    after = m.id;
    cstore_mail_free(&m);
  }
  if (!r)
    t->orders_not_mailed_once = order_mails_off(nc, ns, t->orders);
  free(nc);
  free(ns);
  return r;
}

typedef struct {
  const asr_rp_device *v;
  size_t n;
  bool *high_use;
} flags_ctx;

static int device_flags(const cstore_rp_device *d, void *ctx)
{
  flags_ctx *f = ctx;

  for (size_t i = 0; d->serial && i < f->n; i++)
    if (strcmp(f->v[i].serial, d->serial) == 0)
      f->high_use[i] = d->high_use;
  return 0;
}

asr_result csime_totals_get(csime *e, const asr_rp_device *v, size_t n, csime_totals *t,
                            bool *high_use, long *named)
{
  flags_ctx f = {.v = v, .n = n, .high_use = high_use};
  asr_result r;

  memset(t, 0, sizeof(*t));
  t->early = e->early;
  t->notices_by_kind = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "order_created", 0,
                                 "order_shipped", 0, "disconnected", 0, "final", 0, "registration",
                                 0, "not_eligible", 0, "eligible_again", 0);
  if (!t->notices_by_kind)
    return ASR_ERR_NOMEM;
  r = cstore_order_foreach(e->st, NULL, false, count_order, &t->orders);
  if (!r)
    r = count_mails(e, t, v, n, named);
  if (!r)
    r = cstore_rp_devices(e->st, device_flags, &f);
  return r;
}
