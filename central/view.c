/* view.c: loads the supplies status page's data (view.h) from central's store.
 *
 * A site's view is made in four steps: the site's row, its devices with the supplies of
 * their last reading (cstore_device_foreach), the engine's records of them (agent
 * heartbeat, high-usage mark: cstore_rp_devices; stock and covered date:
 * cstore_rp_supplies), then per supply the daily levels of the last VIEW_HISTORY_DAYS days
 * (cstore_rp_daily_levels), which feed both the chart and the rules (asr_rp_eval_supply:
 * days left counting the stock, forecast order date, high usage) and, per device, the
 * reporting state as the engine sees it. Then the site's open orders, and per device its open
 * alerts (central/calerts.h) and its meters of the month (central/cmeters.h). Strings and small
 * arrays live in a list of allocations (the view's "mem") freed at once; only the growing device
 * and site arrays are realloc'd apart. */
#include "central/view.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "central/calerts.h"
#include "central/cmeters.h"
#include "central/cstore.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/device.h"
#include "common/platform.h"

/* ---------------------------------------------------------------------------------------
 * Allocations owned by a view. */

typedef struct chunk {
  struct chunk *next;
  max_align_t data[];
} chunk;

/* n zeroed bytes owned by *mem, or NULL. */
static void *mem_alloc(void **mem, size_t n)
{
  chunk *c;

  if (n > SIZE_MAX - sizeof(*c))
    return NULL;
  c = calloc(1, sizeof(*c) + n);
  if (!c)
    return NULL;
  c->next = *mem;
  *mem = c;
  return c->data;
}

/* n elements of size sz owned by *mem (NULL when n is 0 or on overflow / no memory). */
static void *mem_array(void **mem, size_t n, size_t sz)
{
  if (n == 0 || n > SIZE_MAX / sz)
    return NULL;
  return mem_alloc(mem, n * sz);
}

/* A copy of s owned by *mem; NULL for NULL. *fail is set when out of memory. */
static char *mem_str(void **mem, const char *s, bool *fail)
{
  size_t n;
  char *p;

  if (!s)
    return NULL;
  n = strlen(s);
  p = mem_alloc(mem, n + 1);
  if (!p) {
    *fail = true;
    return NULL;
  }
  memcpy(p, s, n + 1);
  return p;
}

static void mem_free(void *mem)
{
  chunk *c = mem;

  while (c) {
    chunk *next = c->next;
    free(c);
    c = next;
  }
}

/* Grows *arr (of *cap elements of size sz) to hold n + 1. */
static asr_result grow(void **arr, size_t *cap, size_t n, size_t sz)
{
  size_t cap2 = *cap ? *cap * 2 : 16;
  void *p;

  if (n < *cap)
    return ASR_OK;
  if (cap2 > SIZE_MAX / sz)
    return ASR_ERR_NOMEM;
  p = realloc(*arr, cap2 * sz);
  if (!p)
    return ASR_ERR_NOMEM;
  *arr = p;
  *cap = cap2;
  return ASR_OK;
}

const char *view_state_str(view_state s)
{
  switch (s) {
  case VIEW_ACTIVE:
    return "active";
  case VIEW_SILENT:
    return "silent";
  case VIEW_DISCONNECTED:
    return "disconnected";
  case VIEW_NOT_ELIGIBLE:
    return "not eligible";
  case VIEW_NO_RATE:
    return "no usage rate";
  }
  return "unknown";
}

const char *view_supply_state_str(view_supply_state s)
{
  static const char *const names[] = {
      [VIEW_S_OK] = "ok",
      [VIEW_S_DUE] = "due",
      [VIEW_S_ORDERED] = "ordered",
      [VIEW_S_BACKORDERED] = "backordered",
      [VIEW_S_NO_RATE] = "no usage rate",
      [VIEW_S_IDLE] = "not used",
      [VIEW_S_WITH_BLACK] = "with black toner",
      [VIEW_S_NOT_ASR] = "not asr",
  };

  return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static int64_t day_of(int64_t t)
{
  return t > 0 ? t / 86400 : 0;
}

/* ---------------------------------------------------------------------------------------
 * The index: sites and their devices by state. */

typedef struct {
  view_index *v;
  size_t cap, cursor;
  const asr_rp_conf *c;
  asr_result r;
} index_ctx;

static int index_site(const cstore_site *s, void *ctx)
{
  index_ctx *ic = ctx;
  view_index *v = ic->v;
  view_site_summary *o;
  bool fail = false;

  ic->r = grow((void **)&v->sites, &ic->cap, v->n_sites, sizeof(*v->sites));
  if (ic->r)
    return 1;
  o = &v->sites[v->n_sites];
  memset(o, 0, sizeof(*o));
  o->name = mem_str(&v->mem, s->name, &fail);
  o->contact = mem_str(&v->mem, s->contact, &fail);
  o->agents = s->agents;
  o->devices = s->devices;
  if (fail || !o->name) {
    ic->r = ASR_ERR_NOMEM;
    return 1;
  }
  v->n_sites++;
  return 0;
}

/* Devices come by site name, as the sites do: a cursor finds each one's site. */
static int index_device(const cstore_device_row *d, void *ctx)
{
  index_ctx *ic = ctx;
  view_index *v = ic->v;
  asr_rp_device dev = {.enrolled = true, .last_report = day_of(d->last_reading_at)};

  if (!d->site)
    return 0;
  while (ic->cursor < v->n_sites && strcmp(v->sites[ic->cursor].name, d->site) != 0)
    ic->cursor++;
  if (ic->cursor >= v->n_sites) {
    ic->cursor = 0; /* a site added meanwhile: not in this index */
    return 0;
  }
  switch (asr_rp_device_state(ic->c, &dev, day_of(v->now))) {
  case ASR_RP_ACTIVE:
    v->sites[ic->cursor].active++;
    break;
  case ASR_RP_SILENT:
    v->sites[ic->cursor].silent++;
    break;
  case ASR_RP_DISCONNECTED:
    v->sites[ic->cursor].disconnected++;
    break;
  }
  return 0;
}

asr_result view_index_load(cstore *st, const asr_rp_conf *c, int64_t now, view_index *out)
{
  asr_rp_conf def;
  index_ctx ic = {.v = out};
  asr_result r;

  memset(out, 0, sizeof(*out));
  out->now = now;
  asr_rp_conf_default(&def);
  ic.c = c ? c : &def;
  r = cstore_site_foreach(st, index_site, &ic);
  if (!r)
    r = ic.r;
  if (!r)
    r = cstore_device_foreach(st, NULL, index_device, &ic);
  if (r)
    view_index_free(out);
  return r;
}

void view_index_free(view_index *v)
{
  if (!v)
    return;
  free(v->sites);
  mem_free(v->mem);
  memset(v, 0, sizeof(*v));
}

/* ---------------------------------------------------------------------------------------
 * A site: its row and its devices. */

/* What the rules need of a device besides the view (parallel to v->devices). */
typedef struct {
  int64_t id;          /* the store's id */
  bool high_use;       /* marked by the engine */
  bool judged;         /* ... its use judged once */
  int64_t *cover;      /* covered_until of each supply */
  double *use;         /* the daily use of each supply's newest line */
  int64_t *reserved;   /* each supply's special-order cartridges kept for a job not ended */
  const char **std;    /* each supply's standard colorant (copies in the view's mem) */
  asr_rp_window *jobs; /* its special orders' job windows */
  size_t n_jobs;
} dev_extra;

typedef struct {
  view_site *v;
  const char *name;
  size_t cap, x_cap;
  dev_extra *x;
  bool found, fail;
  asr_result r;
} site_ctx;

static int site_row(const cstore_site *s, void *ctx)
{
  site_ctx *sc = ctx;

  if (!s->name || strcmp(s->name, sc->name) != 0)
    return 0;
  sc->found = true;
  sc->v->name = mem_str(&sc->v->mem, s->name, &sc->fail);
  sc->v->contact = mem_str(&sc->v->mem, s->contact, &sc->fail);
  sc->v->address = mem_str(&sc->v->mem, s->address, &sc->fail);
  return 1;
}

static void copy_supply(view_site *v, const cstore_supply_row *s, view_supply *o, bool *fail)
{
  o->index = s->index;
  o->description = mem_str(&v->mem, s->description, fail);
  o->type = mem_str(&v->mem, s->type, fail);
  o->colorant = mem_str(&v->mem, s->colorant, fail);
  o->has_percent = s->has_percent && s->percent >= 0 && s->percent <= 100;
  o->percent = o->has_percent ? s->percent : 0;
  o->days_left = ASR_RP_FOREVER;
  o->order_day = ASR_RP_NEVER;
}

static int site_device(const cstore_device_row *d, void *ctx)
{
  site_ctx *sc = ctx;
  view_site *v = sc->v;
  view_device *o;

  sc->r = grow((void **)&v->devices, &sc->cap, v->n_devices, sizeof(*v->devices));
  if (!sc->r)
    sc->r = grow((void **)&sc->x, &sc->x_cap, v->n_devices, sizeof(*sc->x));
  if (sc->r)
    return 1;
  o = &v->devices[v->n_devices];
  memset(o, 0, sizeof(*o));
  sc->x[v->n_devices] = (dev_extra){.id = d->id};
  sc->x[v->n_devices].cover = mem_array(&v->mem, d->n_supplies, sizeof(int64_t));
  sc->x[v->n_devices].use = mem_array(&v->mem, d->n_supplies, sizeof(double));
  sc->x[v->n_devices].std = mem_array(&v->mem, d->n_supplies, sizeof(char *));
  sc->x[v->n_devices].reserved = mem_array(&v->mem, d->n_supplies, sizeof(int64_t));
  if (d->n_supplies && (!sc->x[v->n_devices].cover || !sc->x[v->n_devices].use ||
                        !sc->x[v->n_devices].std || !sc->x[v->n_devices].reserved))
    sc->fail = true;
  o->serial = mem_str(&v->mem, d->serial, &sc->fail);
  o->key = mem_str(&v->mem, d->key, &sc->fail);
  o->model = mem_str(&v->mem, d->model, &sc->fail);
  o->vendor = mem_str(&v->mem, d->vendor, &sc->fail);
  o->ip = mem_str(&v->mem, d->ip, &sc->fail);
  o->last_report = d->last_reading_at;
  o->reporting = "active";
  o->supplies = mem_array(&v->mem, d->n_supplies, sizeof(*o->supplies));
  if (d->n_supplies && !o->supplies)
    sc->fail = true;
  for (size_t i = 0; o->supplies && i < d->n_supplies; i++)
    copy_supply(v, &d->supplies[i], &o->supplies[o->n_supplies++], &sc->fail);
  v->n_devices++;
  return sc->fail;
}

/* ---------------------------------------------------------------------------------------
 * The engine's records: heartbeats, high-usage marks, stock, covered dates. */

static int rp_device(const cstore_rp_device *p, void *ctx)
{
  site_ctx *sc = ctx;

  if (!p->site || strcmp(p->site, sc->v->name) != 0)
    return 0;
  for (size_t i = 0; i < sc->v->n_devices; i++) {
    if (sc->x[i].id != p->id)
      continue;
    sc->v->devices[i].agent_seen = p->agent_last_seen;
    sc->v->devices[i].contact = mem_str(&sc->v->mem, p->contact, &sc->fail);
    sc->x[i].high_use = p->high_use;
    sc->x[i].judged = p->judged;
  }
  return 0;
}

typedef struct {
  view_site *v;
  view_device *d;
  dev_extra *x;
  bool fail;
} supply_ctx;

static int rp_supply(const cstore_rp_supply *p, void *ctx)
{
  supply_ctx *c = ctx;

  for (size_t i = 0; i < c->d->n_supplies; i++) {
    view_supply *s = &c->d->supplies[i];
    if (s->index != p->index)
      continue;
    s->stock = p->ordered > p->installed ? p->ordered - p->installed : 0;
    s->shelf = p->delivered > p->installed ? p->delivered - p->installed : 0;
    s->in_transit = p->ordered > p->delivered ? p->ordered - p->delivered : 0;
    c->x->cover[i] = p->covered_until;
    c->x->use[i] = p->covered_use;
    c->x->std[i] = mem_str(&c->v->mem, p->colorant_std, &c->fail);
  }
  return 0;
}

static int rp_job(int64_t from, int64_t to, void *ctx)
{
  supply_ctx *c = ctx;
  asr_rp_window *w;

  if (to < from || c->x->n_jobs >= 64)
    return 0;
  if (c->x->n_jobs == 0) {
    c->x->jobs = mem_array(&c->v->mem, 64, sizeof(*c->x->jobs));
    c->fail = c->fail || !c->x->jobs;
    if (!c->x->jobs)
      return 1;
  }
  w = &c->x->jobs[c->x->n_jobs++];
  *w = (asr_rp_window){from, to};
  return 0;
}

typedef struct {
  int64_t *reserved;
  int64_t today;
} extra_ctx;

static int rp_extra(const cstore_rp_extra *x, void *ctx)
{
  extra_ctx *c = ctx;

  if (c->today < x->job_from) /* as the engine: reserved until the job starts */
    *c->reserved += x->quantity > x->consumed ? x->quantity - x->consumed : 0;
  return 0;
}

/* As the engine: special-order cartridges reserved for a job not started are not the rules'
 * stock; after high use the rate is learned from the week that cleared it. */
static asr_result load_reservations(cstore *st, site_ctx *sc, size_t i)
{
  int64_t eligible = 0;
  supply_ctx c = {sc->v, &sc->v->devices[i], &sc->x[i], false};
  asr_result r = cstore_rp_event_last(st, sc->x[i].id, "eligible", &eligible);

  if (!r && eligible > 0)
    rp_job(0, eligible - 8, &c);
  for (size_t k = 0; !r && k < sc->v->devices[i].n_supplies; k++) {
    extra_ctx e = {&sc->x[i].reserved[k], sc->v->today};
    r = cstore_rp_extras(st, sc->x[i].id, sc->v->devices[i].supplies[k].index, sc->v->today,
                         rp_extra, &e);
  }
  return r ? r : c.fail ? ASR_ERR_NOMEM : ASR_OK;
}

static asr_result load_engine_records(cstore *st, site_ctx *sc)
{
  asr_result r = cstore_rp_devices(st, rp_device, sc);

  for (size_t i = 0; !r && i < sc->v->n_devices; i++) {
    supply_ctx c = {sc->v, &sc->v->devices[i], &sc->x[i], false};
    r = cstore_rp_supplies(st, sc->x[i].id, rp_supply, &c);
    if (!r)
      r = cstore_rp_jobs(st, sc->x[i].id, rp_job, &c);
    if (!r)
      r = cstore_rp_event_last(st, sc->x[i].id, "reconnected", &sc->v->devices[i].reconnected_day);
    if (!r && c.fail)
      r = ASR_ERR_NOMEM;
    if (!r)
      r = load_reservations(st, sc, i);
  }
  return r;
}

/* ---------------------------------------------------------------------------------------
 * The rules' judgement: history, forecast and state. */

typedef struct {
  view_point *pts;
  asr_rp_reading *rd;
  size_t n;
} level_ctx;

/* One day's level (only those with a percent count). */
static int add_level(const cstore_rp_level *l, void *ctx)
{
  level_ctx *lc = ctx;

  if (lc->n >= VIEW_HISTORY_DAYS || !l->has_percent || l->percent < 0 || l->percent > 100)
    return 0;
  lc->pts[lc->n] = (view_point){l->day, l->percent};
  lc->rd[lc->n] = (asr_rp_reading){l->day, (double)l->percent};
  lc->n++;
  return 0;
}

/* The rules' stock: ordered, not installed, less what a job keeps. */
static int rules_stock(int64_t stock, int64_t reserved)
{
  int64_t n = stock - reserved;

  return n <= 0 ? 0 : n > 1000 ? 1000 : (int)n;
}

/* A supply's one state (before its orders are looked at, load_orders). */
static view_supply_state supply_state(const asr_rp_conf *c, const view_site *v,
                                      const asr_rp_supply *rs, const asr_rp_eval *e, view_supply *s)
{
  if (rs->type == 4) /* wasteToner: it ships with the black toner (rule 6) */
    return VIEW_S_WITH_BLACK;
  if (!asr_rp_type_forecast_ordered(rs->type))
    return VIEW_S_NOT_ASR;
  if (!e->fc.valid) {
    int64_t have = rs->n_readings ? rs->readings[rs->n_readings - 1].day - rs->readings[0].day : 0;
    s->no_rate_days = (int)(c->forecast.min_span_days - have);
    s->no_rate_days = s->no_rate_days < 1 ? 1 : s->no_rate_days;
    return VIEW_S_NO_RATE;
  }
  if (e->fc.days_left >= ASR_RP_FOREVER)
    return VIEW_S_IDLE;
  return e->trigger_day <= v->today ? VIEW_S_DUE : VIEW_S_OK;
}

/* Loads the chart of supply s and evaluates it with its stock and covered date; rs and
 * rd (VIEW_HISTORY_DAYS) receive the supply as the rules see it. */
static asr_result judge_supply(cstore *st, const asr_rp_conf *c, view_site *v, const dev_extra *x,
                               size_t k, view_supply *s, asr_rp_supply *rs, asr_rp_reading *rd)
{
  int64_t id = x->id, cover = x->cover ? x->cover[k] : 0;
  view_point pts[VIEW_HISTORY_DAYS];
  level_ctx lc = {pts, rd, 0};
  asr_rp_eval e;
  asr_result r = cstore_rp_daily_levels(st, id, s->index, v->today - (VIEW_HISTORY_DAYS - 1),
                                        v->today, add_level, &lc);

  if (r)
    return r;
  s->points = mem_array(&v->mem, lc.n, sizeof(*s->points));
  if (lc.n && !s->points)
    return ASR_ERR_NOMEM;
  if (lc.n)
    memcpy(s->points, pts, lc.n * sizeof(*pts));
  s->n_points = lc.n;
  *rs = (asr_rp_supply){.type = asr_supply_type_code(s->type),
                        .colorant = s->colorant,
                        .colorant_std = x->std ? x->std[k] : NULL,
                        .capacity = 100.0,
                        .readings = rd,
                        .n_readings = lc.n,
                        .stock = rules_stock(s->stock, x->reserved ? x->reserved[k] : 0),
                        .covered_until = cover,
                        .covered_use = x->use ? x->use[k] : 0.0,
                        .excluded = x->jobs,
                        .n_excluded = x->n_jobs};
  if (asr_rp_eval_supply(c, rs, v->today, &e) != ASR_OK)
    return ASR_OK; /* no forecast: shown as unknown */
  s->eligible = e.eligible_type;
  s->forecast = e.fc.valid;
  s->daily_use = e.fc.daily_use;
  s->days_left = e.fc.valid ? e.fc.days_left : ASR_RP_FOREVER;
  s->order_day = e.fc.valid && e.eligible_type ? e.trigger_day : ASR_RP_NEVER;
  s->high_use = e.high_use;
  s->sstate = supply_state(c, v, rs, &e, s);
  return ASR_OK;
}

/* The day of a device's last report as the engine counts it: its newest reading, or its
 * agent's last batch when the agent fell silent first. */
static int64_t report_day(const view_device *d)
{
  int64_t t = d->last_report;

  if (d->agent_seen > 0 && d->agent_seen < t)
    t = d->agent_seen;
  return day_of(t);
}

static asr_result judge_device(cstore *st, const asr_rp_conf *c, view_site *v, const dev_extra *x,
                               view_device *d)
{
  size_t n = d->n_supplies ? d->n_supplies : 1;
  asr_rp_supply *rs = calloc(n, sizeof(*rs));
  asr_rp_reading *rd = calloc(n * VIEW_HISTORY_DAYS, sizeof(*rd));
  asr_rp_device dev = {.serial = d->serial,
                       .site = v->name,
                       .contact = v->contact,
                       .enrolled = true,
                       .last_report = report_day(d),
                       .judged = x->judged,
                       .high_use = x->high_use};
  asr_rp_judgement j;
  asr_result r = rs && rd ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < d->n_supplies; i++)
    r = judge_supply(st, c, v, x, i, &d->supplies[i], &rs[i], rd + i * VIEW_HISTORY_DAYS);
  if (r)
    goto out;
  dev.supplies = rs;
  dev.n_supplies = d->n_supplies;
  asr_rp_judge(c, &dev, v->today, &j);
  switch (asr_rp_device_state(c, &dev, v->today)) {
  case ASR_RP_SILENT:
    d->state = VIEW_SILENT;
    break;
  case ASR_RP_DISCONNECTED:
    d->state = VIEW_DISCONNECTED;
    break;
  default:
    d->state = j.high_use ? VIEW_NOT_ELIGIBLE : j.judged ? VIEW_ACTIVE : VIEW_NO_RATE;
  }
  if (!j.judged && j.ready_on != ASR_RP_NEVER)
    d->no_rate_days = (int)(j.ready_on > v->today ? j.ready_on - v->today : 1);
  d->reporting = asr_rp_state_str(asr_rp_device_state(c, &dev, v->today));
out:
  free(rs);
  free(rd);
  return r;
}

typedef struct {
  view_site *v;
  size_t cap;
  bool fail;
} order_ctx;

static int add_order(const cstore_order_row *o, void *ctx)
{
  order_ctx *oc = ctx;
  view_site *v = oc->v;
  view_order *w;

  if (grow((void **)&v->orders, &oc->cap, v->n_orders, sizeof(*v->orders))) {
    oc->fail = true;
    return 1;
  }
  w = &v->orders[v->n_orders++];
  *w = (view_order){.id = o->id,
                    .created_at = o->created_at,
                    .updated_at = o->updated_at,
                    .day = o->day,
                    .extra = o->kind && strcmp(o->kind, "extra") == 0};
  w->state = mem_str(&v->mem, o->state, &oc->fail);
  w->reason = mem_str(&v->mem, o->reason, &oc->fail);
  w->contact = mem_str(&v->mem, o->contact, &oc->fail);
  w->lines = mem_array(&v->mem, o->n_lines, sizeof(*w->lines));
  for (size_t i = 0; w->lines && i < o->n_lines; i++) {
    const cstore_order_line *l = &o->lines[i];
    view_order_line *m = &w->lines[w->n_lines++];
    m->serial = mem_str(&v->mem, l->serial, &oc->fail);
    m->supply = mem_str(&v->mem, l->supply, &oc->fail);
    m->colorant = mem_str(&v->mem, l->colorant, &oc->fail);
    m->reason = mem_str(&v->mem, l->reason, &oc->fail);
    m->state = mem_str(&v->mem, l->state, &oc->fail);
    m->supply_index = l->supply_index;
    m->quantity = l->quantity;
  }
  oc->fail = oc->fail || (o->n_lines && !w->lines);
  return oc->fail;
}

/* A supply with an open line (not delivered) of an order: ordered, its next delivery
 * expected on the order's day + delivery_days (the earliest of its open lines), or
 * backordered when all of them are. */
static void mark_open_line(view_site *v, const view_order *o, const view_order_line *l)
{
  bool back = l->state && strcmp(l->state, "backordered") == 0;
  int64_t when = o->day + v->delivery_days;

  if (l->state && strcmp(l->state, "delivered") == 0)
    return;
  for (size_t i = 0; i < v->n_devices; i++) {
    view_device *d = &v->devices[i];
    for (size_t k = 0;
         d->serial && l->serial && strcmp(d->serial, l->serial) == 0 && k < d->n_supplies; k++) {
      view_supply *s = &d->supplies[k];
      if (s->index != l->supply_index)
        continue;
      if (back && s->sstate != VIEW_S_ORDERED)
        s->sstate = VIEW_S_BACKORDERED;
      else if (!back && (s->sstate != VIEW_S_ORDERED || when < s->next_delivery))
        s->sstate = VIEW_S_ORDERED;
      if (!back && (s->next_delivery == 0 || when < s->next_delivery)) {
        s->next_delivery = when;
        s->open_order = o->id;
      }
      if (s->open_order == 0)
        s->open_order = o->id;
    }
  }
}

/* The site's open orders (created, shipped, backordered), newest first; each open line
 * marks its supply ordered, with the expected delivery. */
static asr_result load_orders(cstore *st, view_site *v)
{
  order_ctx oc = {.v = v};
  asr_result r = cstore_order_foreach(st, v->name, true, add_order, &oc);

  v->has_orders = true;
  for (size_t i = 0; !r && !oc.fail && i < v->n_orders; i++)
    for (size_t k = 0; k < v->orders[i].n_lines; k++)
      mark_open_line(v, &v->orders[i], &v->orders[i].lines[k]);
  return r ? r : oc.fail ? ASR_ERR_NOMEM : ASR_OK;
}

/* ---------------------------------------------------------------------------------------
 * Alerts and meters, matched to the devices by key (both come ordered by device key, as
 * the devices do: a cursor finds each one's device). */

typedef struct {
  view_site *v;
  size_t cursor;
  bool fail;
} key_ctx;

/* The device of key, or NULL. */
static view_device *device_of(key_ctx *k, const char *key)
{
  view_site *v = k->v;

  while (k->cursor < v->n_devices && v->devices[k->cursor].key &&
         strcmp(v->devices[k->cursor].key, key) < 0)
    k->cursor++;
  if (k->cursor < v->n_devices && v->devices[k->cursor].key &&
      strcmp(v->devices[k->cursor].key, key) == 0)
    return &v->devices[k->cursor];
  for (size_t i = 0; i < v->n_devices; i++) { /* not in order after all */
    if (v->devices[i].key && strcmp(v->devices[i].key, key) == 0)
      return &v->devices[i];
  }
  return NULL;
}

static int add_alert(const calerts_row *a, void *ctx)
{
  key_ctx *k = ctx;
  view_device *d = device_of(k, a->device);
  view_alert *o;

  if (!d)
    return 0;
  k->v->n_open_alerts++;
  if (d->n_alerts >= VIEW_ALERTS_MAX) {
    d->alerts_more++;
    return 0;
  }
  if (!d->alerts && !(d->alerts = mem_array(&k->v->mem, VIEW_ALERTS_MAX, sizeof(*d->alerts)))) {
    k->fail = true;
    return 1;
  }
  o = &d->alerts[d->n_alerts++];
  o->severity = mem_str(&k->v->mem, a->severity, &k->fail);
  o->code = mem_str(&k->v->mem, a->code, &k->fail);
  o->group = mem_str(&k->v->mem, a->group, &k->fail);
  o->description = mem_str(&k->v->mem, a->description, &k->fail);
  o->group_index = a->group_index;
  o->raised_at = a->raised_at;
  return k->fail;
}

static int add_meter(const cmeters_row *m, void *ctx)
{
  key_ctx *k = ctx;
  view_device *d = device_of(k, m->device);
  view_meter *o;

  if (!d)
    return 0;
  if (d->n_meters >= VIEW_METERS_MAX) {
    d->meters_more++;
    return 0;
  }
  if (!d->meters && !(d->meters = mem_array(&k->v->mem, VIEW_METERS_MAX, sizeof(*d->meters)))) {
    k->fail = true;
    return 1;
  }
  o = &d->meters[d->n_meters++];
  *o = (view_meter){.latest = m->end,
                    .latest_at = m->end_t,
                    .start = m->start,
                    .start_at = m->start_t,
                    .usage = m->usage,
                    .reads = m->reads,
                    .flagged = m->flagged};
  o->name = mem_str(&k->v->mem, m->meter, &k->fail);
  o->unit = mem_str(&k->v->mem, m->unit, &k->fail);
  o->source = mem_str(&k->v->mem, m->source, &k->fail);
  return k->fail;
}

/* The first second of now's month (UTC). */
static int64_t month_start(int64_t now)
{
  asr_civil today = asr_date_civil(now / 86400);

  return asr_date_days(today.year, today.month, 1) * 86400;
}

static asr_result load_alerts_meters(cstore *st, view_site *v)
{
  key_ctx k = {v, 0, false};
  asr_result r = calerts_foreach(st, v->name, true, add_alert, &k);

  v->month_start = month_start(v->now);
  k.cursor = 0;
  if (!r && !k.fail)
    r = cmeters_period(st, v->name, v->month_start, INT64_MAX, add_meter, &k);
  return r ? r : k.fail ? ASR_ERR_NOMEM : ASR_OK;
}

asr_result view_site_load(cstore *st, const char *name, const asr_rp_conf *c, int64_t now,
                          view_site *out)
{
  asr_rp_conf def;
  site_ctx sc = {.v = out, .name = name};
  asr_result r;

  memset(out, 0, sizeof(*out));
  asr_rp_conf_default(&def);
  c = c ? c : &def;
  out->now = now;
  out->today = day_of(now);
  out->trigger_days = c->trigger_days;
  out->delivery_days = c->delivery_days;
  r = cstore_site_foreach(st, site_row, &sc);
  if (!r && !sc.found)
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = cstore_device_foreach(st, name, site_device, &sc);
  if (!r)
    r = sc.r ? sc.r : sc.fail ? ASR_ERR_NOMEM : ASR_OK;
  if (!r)
    r = load_engine_records(st, &sc);
  for (size_t i = 0; !r && i < out->n_devices; i++)
    r = judge_device(st, c, out, &sc.x[i], &out->devices[i]);
  if (!r)
    r = load_orders(st, out);
  if (!r)
    r = load_alerts_meters(st, out);
  free(sc.x);
  if (r)
    view_site_free(out);
  return r;
}

const view_device *view_site_device(const view_site *v, const char *device)
{
  for (size_t i = 0; i < v->n_devices; i++) {
    const view_device *e = &v->devices[i];
    if ((e->serial && strcmp(e->serial, device) == 0) || (e->key && strcmp(e->key, device) == 0))
      return e;
  }
  return NULL;
}

void view_site_free(view_site *v)
{
  if (!v)
    return;
  free(v->devices);
  free(v->orders);
  mem_free(v->mem);
  memset(v, 0, sizeof(*v));
}

/* ---------------------------------------------------------------------------------------
 * A customer's part of a site (the portal, central/portal.c). */

static bool same_address(const char *a, const char *b)
{
  return a && b && strcasecmp(a, b) == 0;
}

/* True when some line of o is for a device still in v. */
static bool order_of_kept(const view_site *v, const view_order *o)
{
  for (size_t i = 0; i < o->n_lines; i++)
    for (size_t k = 0; o->lines[i].serial && k < v->n_devices; k++)
      if (v->devices[k].serial && strcmp(v->devices[k].serial, o->lines[i].serial) == 0)
        return true;
  return false;
}

asr_result view_site_restrict(view_site *v, const char *email, const char *contact,
                              const char *address)
{
  size_t n = 0;
  bool fail = false;

  for (size_t i = 0; i < v->n_devices; i++)
    if (same_address(v->devices[i].contact, email))
      v->devices[n++] = v->devices[i];
  v->n_devices = n;
  n = 0;
  for (size_t i = 0; i < v->n_orders; i++)
    if (same_address(v->orders[i].contact, email) || order_of_kept(v, &v->orders[i]))
      v->orders[n++] = v->orders[i];
  v->n_orders = n;
  v->contact = mem_str(&v->mem, contact, &fail);
  v->address = mem_str(&v->mem, address, &fail);
  return fail ? ASR_ERR_NOMEM : ASR_OK;
}

asr_result view_index_add(view_index *v, const view_site *s, size_t *cap)
{
  view_site_summary *o;
  bool fail = false;
  asr_result r = grow((void **)&v->sites, cap, v->n_sites, sizeof(*v->sites));

  if (r)
    return r;
  o = &v->sites[v->n_sites];
  memset(o, 0, sizeof(*o));
  o->name = mem_str(&v->mem, s->name, &fail);
  o->contact = mem_str(&v->mem, s->contact, &fail);
  if (fail || !o->name)
    return ASR_ERR_NOMEM;
  o->devices = (int64_t)s->n_devices;
  for (size_t i = 0; i < s->n_devices; i++) {
    const char *rep = s->devices[i].reporting ? s->devices[i].reporting : "active";
    o->active += strcmp(rep, "active") == 0;
    o->silent += strcmp(rep, "silent") == 0;
    o->disconnected += strcmp(rep, "disconnected") == 0;
  }
  v->n_sites++;
  return ASR_OK;
}
