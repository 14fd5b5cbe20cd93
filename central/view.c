/* view.c: loads the supplies status page's data (view.h) from central's store.
 *
 * A site's view is made in three steps: the site's row, its devices with the supplies of
 * their last reading (cstore_device_foreach), then per supply the daily levels of the last
 * VIEW_HISTORY_DAYS days (cstore_level_days), which feed both the chart and the rules
 * (asr_rp_eval_supply: days left, forecast order date, high usage) and, per device, the
 * reporting state. Strings and small arrays live in a list of allocations (the view's
 * "mem") freed at once; only the growing device and site arrays are realloc'd apart. */
#include "central/view.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "central/cstore.h"
#include "common/device.h"

#define TYPE_CODE_MAX 64 /* PrtMarkerSuppliesTypeTC codes looked up by name */

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
  }
  return "unknown";
}

/* The PrtMarkerSuppliesTypeTC code of an RFC 3805 type name ("toner" -> 3), 0 if none. */
static int32_t type_code(const char *name)
{
  for (int32_t t = 1; name && t < TYPE_CODE_MAX; t++) {
    const char *n = asr_supply_type_name(t);
    if (n && strcmp(n, name) == 0)
      return t;
  }
  return 0;
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

typedef struct {
  view_site *v;
  const char *name;
  size_t cap, ids_cap;
  int64_t *ids; /* the store's id of each device (parallel to v->devices) */
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
    sc->r = grow((void **)&sc->ids, &sc->ids_cap, v->n_devices, sizeof(*sc->ids));
  if (sc->r)
    return 1;
  o = &v->devices[v->n_devices];
  memset(o, 0, sizeof(*o));
  sc->ids[v->n_devices] = d->id;
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
 * The rules' judgement: history, forecast and state. */

/* Loads the chart of supply s and evaluates it; rs and rd (VIEW_HISTORY_DAYS) receive
 * the supply as the rules see it. */
static asr_result judge_supply(cstore *st, const asr_rp_conf *c, view_site *v, int64_t id,
                               view_supply *s, asr_rp_supply *rs, asr_rp_reading *rd)
{
  cstore_level_day days[VIEW_HISTORY_DAYS];
  asr_rp_eval e;
  size_t n = 0;
  asr_result r = cstore_level_days(st, id, s->index, v->today - (VIEW_HISTORY_DAYS - 1), days,
                                   VIEW_HISTORY_DAYS, &n);

  if (r)
    return r;
  s->points = mem_array(&v->mem, n, sizeof(*s->points));
  if (n && !s->points)
    return ASR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    s->points[i] = (view_point){days[i].day, days[i].percent};
    rd[i] = (asr_rp_reading){days[i].day, (double)days[i].percent};
  }
  s->n_points = n;
  *rs = (asr_rp_supply){.type = type_code(s->type),
                        .colorant = s->colorant,
                        .capacity = 100.0,
                        .readings = rd,
                        .n_readings = n};
  if (asr_rp_eval_supply(c, rs, v->today, &e) != ASR_OK)
    return ASR_OK; /* no forecast: shown as unknown */
  s->eligible = e.eligible_type;
  s->forecast = e.fc.valid;
  s->daily_use = e.fc.daily_use;
  s->days_left = e.fc.valid ? e.fc.days_left : ASR_RP_FOREVER;
  s->order_day = e.fc.valid && e.eligible_type ? e.trigger_day : ASR_RP_NEVER;
  s->high_use = e.high_use;
  return ASR_OK;
}

static asr_result judge_device(cstore *st, const asr_rp_conf *c, view_site *v, int64_t id,
                               view_device *d)
{
  size_t n = d->n_supplies ? d->n_supplies : 1;
  asr_rp_supply *rs = calloc(n, sizeof(*rs));
  asr_rp_reading *rd = calloc(n * VIEW_HISTORY_DAYS, sizeof(*rd));
  asr_rp_device dev = {.serial = d->serial,
                       .site = v->name,
                       .contact = v->contact,
                       .enrolled = true,
                       .last_report = day_of(d->last_report)};
  asr_result r = rs && rd ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < d->n_supplies; i++)
    r = judge_supply(st, c, v, id, &d->supplies[i], &rs[i], rd + i * VIEW_HISTORY_DAYS);
  if (r)
    goto out;
  dev.supplies = rs;
  dev.n_supplies = d->n_supplies;
  switch (asr_rp_device_state(c, &dev, v->today)) {
  case ASR_RP_SILENT:
    d->state = VIEW_SILENT;
    break;
  case ASR_RP_DISCONNECTED:
    d->state = VIEW_DISCONNECTED;
    break;
  default:
    d->state = asr_rp_device_high_use(c, &dev, v->today) ? VIEW_NOT_ELIGIBLE : VIEW_ACTIVE;
  }
  d->reporting = asr_rp_state_str(asr_rp_device_state(c, &dev, v->today));
out:
  free(rs);
  free(rd);
  return r;
}

/* "orders": the site's open orders. This store has no orders yet (another change adds
 * cstore_order_foreach); until then the page says that orders are not available. */
static asr_result load_orders(cstore *st, view_site *v)
{
  (void)st;
  v->has_orders = false;
  v->n_orders = 0;
  v->orders = NULL;
  return ASR_OK;
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
  r = cstore_site_foreach(st, site_row, &sc);
  if (!r && !sc.found)
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = cstore_device_foreach(st, name, site_device, &sc);
  if (!r)
    r = sc.r ? sc.r : sc.fail ? ASR_ERR_NOMEM : ASR_OK;
  for (size_t i = 0; !r && i < out->n_devices; i++)
    r = judge_device(st, c, out, sc.ids[i], &out->devices[i]);
  if (!r)
    r = load_orders(st, out);
  free(sc.ids);
  if (r)
    view_site_free(out);
  return r;
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
