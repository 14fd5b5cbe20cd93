/* engine.c: the daily replenishment engine (engine.h, docs/replenishment.md).
 *
 * Reading order: loading a site from the store into memory (devices, supplies, daily
 * remaining levels), replacements consuming stock, the day's orders and their mails, the
 * disconnection notices, the day itself (site after site), and the warehouse steps.
 *
 * Why a site at a time: the rules consolidate across the devices of a site and contact,
 * never across sites, so a site's histories are all a decision needs; holding one site in
 * memory keeps the engine's memory bounded by the largest site, not the fleet. The sites
 * go by name and their devices by key, as the fleet always went: the same orders, with the
 * same numbers. Everything the day decides is written in one transaction together with
 * the day itself: a crash leaves either the whole day or none of it, and a second run on
 * the same day finds the day stored and adds nothing.
 *
 * Why the daily levels come from the supplies' series (cstore_series.h): the ingest keeps
 * each supply's recent days in one row, so the day costs one read per supply whatever the
 * history; CENGINE_RAW computes the same days from the raw readings, as before (the
 * reference the tests and `replenish --recompute` compare with). */
#include "central/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/cstore_series.h"
#include "central/mail.h"
#include "common/device.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

#define TYPE_CODE_MAX 64 /* PrtMarkerSuppliesTypeTC codes tried when mapping a name */
#define STOCK_MAX 1000   /* cartridges of one supply the rules are told of at most */

/* A delivered line of a supply: its cartridges go on the device's shelf on that day. */
typedef struct {
  int64_t day;
  int quantity;
} eng_delivery;

/* A special order's cartridges for a print job: reserved for it until it starts, except
 * those that went in by its end (consumed, stored; used: this run's, of which settled
 * stored). */
typedef struct {
  cstore_rp_extra x;
  int used, settled;
} eng_extra;

typedef struct {
  int32_t index, type;
  char colorant[CSTORE_NAME_MAX], colorant_std[CSTORE_NAME_MAX], desc[CSTORE_NAME_MAX];
  double capacity;
  bool percent_only; /* no usable max: levels are percents of 100 */
  int64_t stock;     /* the rules' stock: ordered - installed (on the way or on the shelf) */
  int64_t delivered, installed; /* stored totals (installed: before this run's jumps) */
  int64_t installed_new, jumps_day, last_day, covered_until;
  double covered_use;
  eng_delivery *dl; /* deliveries by day */
  size_t n_dl, cap_dl;
  eng_extra *ex; /* special orders whose job has not ended */
  size_t n_ex, cap_ex;
  asr_rp_reading *r;
  size_t n, cap;
  bool oom;
  bool levels_read; /* its days came with its site's series (cstore_series_site_levels) */
} eng_supply;

typedef struct {
  int64_t id, site_id, contact_id, last_reading_at, agent_last_seen, last_report_day;
  int64_t eligible_day; /* the day it was judged eligible again after high use, 0 = never */
  char site[CSTORE_NAME_MAX], contact[CSTORE_NAME_MAX], serial[CSTORE_NAME_MAX];
  char model[CSTORE_NAME_MAX], ip[CSTORE_NAME_MAX], contact_name[CSTORE_NAME_MAX];
  char address[CSTORE_NAME_MAX], group[32];
  bool high_use_stored, high_use, judged_stored, judged;
  double worst; /* cartridges a week of its busiest colour (the judgement's) */
  unsigned notices;
  bool reconnected; /* reported again after a disconnection notice */
  eng_supply *sup;
  size_t n_sup, cap_sup;
  asr_rp_window *jobs; /* its special orders' job windows */
  size_t n_jobs, cap_jobs;
  bool oom;
  asr_rp_supply *rsup; /* the rules' view of sup */
} eng_device;

typedef struct {
  cstore *st;
  const asr_rp_conf *c;
  const cengine_opts *o;
  int64_t today, now, instance; /* instance: the database's (cstore_rp_instance) */
  const char *from;
  eng_device *dev;
  size_t n_dev, cap_dev;
  struct eng_by_id *by_id;    /* the site's devices by id (dev_by_id) */
  cstore_rp_stock_row *stock; /* the site's stock updates (apply_jumps), stored together */
  size_t n_stock, cap_stock;
  asr_rp_device *rdev;
  cengine_report *rep;
  bool oom;
} eng;

static void say(const eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line of the report to the caller (and the log at INFO), control characters of
 * printer-sent strings replaced. */
static void say(const eng *e, const char *fmt, ...)
{
  char raw[1024], line[1024];
  va_list ap;

  va_start(ap, fmt);
  int n = vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  asr_text_tty(raw, line, sizeof(line)); /* printer-sent text: nothing unsafe (common/text.h) */
  asr_log(ASR_LOG_INFO, "replenish: %s", line);
  if (e->o && e->o->say)
    e->o->say(e->o->say_ctx, line);
}

/* ---- Loading ------------------------------------------------------------------------ */

/* Room for element n of an array of *cap elements of size bytes: the array (moved when it
 * grew), or NULL when out of memory (the old array stays valid). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
  size_t c = *cap ? *cap * 2 : 16;
  void *m;

  if (n < *cap)
    return arr;
  m = realloc(arr, c * size);
  if (m)
    *cap = c;
  return m;
}

/* The PrtMarkerSuppliesTypeTC code of a stored type name (0 when unknown). */
static int32_t type_code(const char *name)
{
  for (int32_t t = 1; name && t < TYPE_CODE_MAX; t++) {
    const char *n = asr_supply_type_name(t);
    if (n && strcmp(n, name) == 0)
      return t;
  }
  return 0;
}

static int add_supply(const cstore_rp_supply *p, void *ctx)
{
  eng_device *d = ctx;
  eng_supply *s, *m = grow(d->sup, &d->cap_sup, d->n_sup, sizeof(*d->sup));

  d->oom = !m;
  if (!m)
    return 1;
  d->sup = m;
  s = &d->sup[d->n_sup++];
  memset(s, 0, sizeof(*s));
  s->index = p->index;
  s->type = type_code(p->type);
  asr_strlcpy_cut(s->colorant, p->colorant ? p->colorant : "", sizeof(s->colorant));
  asr_strlcpy_cut(s->colorant_std, p->colorant_std ? p->colorant_std : "", sizeof(s->colorant_std));
  asr_strlcpy_cut(s->desc, p->description ? p->description : (p->type ? p->type : "supply"),
                  sizeof(s->desc));
  s->percent_only = !p->has_max || p->max <= 0;
  s->capacity = s->percent_only ? 100.0 : (double)p->max;
  s->stock = p->ordered - p->installed;
  s->delivered = p->delivered;
  s->installed = p->installed;
  s->jumps_day = p->jumps_day;
  s->covered_until = p->covered_until;
  s->covered_use = p->covered_use;
  return 0;
}

static int add_delivery(int64_t day, int quantity, void *ctx)
{
  eng_supply *s = ctx;
  eng_delivery *m = grow(s->dl, &s->cap_dl, s->n_dl, sizeof(*s->dl));

  s->oom = !m;
  if (!m)
    return 1;
  s->dl = m;
  s->dl[s->n_dl++] = (eng_delivery){day, quantity};
  return 0;
}

static int add_extra(const cstore_rp_extra *x, void *ctx)
{
  eng_supply *s = ctx;
  eng_extra *m = grow(s->ex, &s->cap_ex, s->n_ex, sizeof(*s->ex));

  s->oom = !m;
  if (!m)
    return 1;
  s->ex = m;
  s->ex[s->n_ex++] = (eng_extra){.x = *x};
  return 0;
}

static int add_job(int64_t from, int64_t to, void *ctx)
{
  eng_device *d = ctx;
  asr_rp_window *m;

  if (to < from)
    return 0;
  m = grow(d->jobs, &d->cap_jobs, d->n_jobs, sizeof(*d->jobs));
  d->oom = !m;
  if (!m)
    return 1;
  d->jobs = m;
  d->jobs[d->n_jobs++] = (asr_rp_window){from, to};
  return 0;
}

/* The remaining amount of a stored level (false when it says nothing usable). */
static bool level_remaining(const eng_supply *s, const cstore_rp_level *l, double *out)
{
  double v;

  if (!s->percent_only && l->has_level && l->level >= 0 && l->level <= (int64_t)s->capacity)
    v = (double)l->level;
  else if (l->has_percent && l->percent >= 0 && l->percent <= 100)
    v = s->capacity * l->percent / 100.0;
  else
    return false;
  /* a receptacle's level is already its remaining room (RFC 3805 prtMarkerSuppliesLevel,
   * docs/supplies.md): it falls as the printer works, like a cartridge's */
  *out = v;
  return true;
}

static int add_level(const cstore_rp_level *l, void *ctx)
{
  eng_supply *s = ctx;
  asr_rp_reading *m;
  double v;

  if (!level_remaining(s, l, &v))
    return 0;
  m = grow(s->r, &s->cap, s->n, sizeof(*s->r));
  s->oom = !m;
  if (!m)
    return 1;
  s->r = m;
  s->r[s->n++] = (asr_rp_reading){.day = l->day, .level = v};
  s->last_day = l->day;
  return 0;
}

static int add_device(const cstore_rp_device *p, void *ctx)
{
  eng *e = ctx;
  eng_device *d, *m = grow(e->dev, &e->cap_dev, e->n_dev, sizeof(*e->dev));

  e->oom = !m;
  if (!m)
    return 1;
  e->dev = m;
  d = &e->dev[e->n_dev++];
  memset(d, 0, sizeof(*d));
  d->id = p->id;
  d->site_id = p->site_id;
  d->last_reading_at = p->last_reading_at;
  d->agent_last_seen = p->agent_last_seen;
  d->high_use_stored = p->high_use;
  d->judged_stored = p->judged;
  d->notices = p->notices;
  d->contact_id = p->contact_id;
  asr_strlcpy_cut(d->site, p->site ? p->site : "", sizeof(d->site));
  asr_strlcpy_cut(d->contact, p->contact ? p->contact : "", sizeof(d->contact));
  asr_strlcpy_cut(d->contact_name, p->contact_name ? p->contact_name : "", sizeof(d->contact_name));
  asr_strlcpy_cut(d->address, p->address ? p->address : "", sizeof(d->address));
  /* orders are grouped by site and contact: the contact's id is the group */
  asr_fmt_cut(d->group, sizeof(d->group), "contact-%lld", (long long)p->contact_id); /* <= 28 */
  asr_strlcpy_cut(d->serial, p->serial ? p->serial : (p->key ? p->key : "?"), sizeof(d->serial));
  asr_strlcpy_cut(d->model, p->model ? p->model : "", sizeof(d->model));
  asr_strlcpy_cut(d->ip, p->ip ? p->ip : "", sizeof(d->ip));
  return 0;
}

/* The day of a device's last report: its newest reading, or its agent's last batch when
 * the agent fell silent first (an agent without heartbeats silences all its devices). */
static int64_t last_report_day(const eng_device *d)
{
  int64_t t = d->last_reading_at;

  if (d->agent_last_seen > 0 && d->agent_last_seen < t)
    t = d->agent_last_seen;
  return t / 86400;
}

/* Days of readings to read: CENGINE_LOOKBACK_DAYS, or more when a window is longer. */
static int64_t lookback(const asr_rp_conf *c)
{
  int64_t weeks = (int64_t)c->high_use_weeks * 7 + 7; /* the complete weeks and this one */
  int64_t w = c->forecast.long_window_days > weeks ? c->forecast.long_window_days : weeks;

  return w + 7 > CENGINE_LOOKBACK_DAYS ? w + 7 : CENGINE_LOOKBACK_DAYS;
}

/* ---- Loading a site: one statement per kind of row for all its devices ---- */

struct eng_by_id {
  int64_t id;
  size_t i;
};

static int by_id_cmp(const void *pa, const void *pb)
{
  const struct eng_by_id *a = pa, *b = pb;

  return a->id < b->id ? -1 : a->id > b->id;
}

/* The site's device dev (NULL when it is not one: a row of a device added since). */
static eng_device *dev_by_id(eng *e, int64_t dev)
{
  struct eng_by_id k = {.id = dev}, *f;

  if (!e->n_dev)
    return NULL;
  f = bsearch(&k, e->by_id, e->n_dev, sizeof(*e->by_id), by_id_cmp);
  return f ? &e->dev[f->i] : NULL;
}

/* Supply idx of the site's device dev (NULL when it has none: rows of other supplies are
 * not the engine's, as with the per-supply reads). */
static eng_supply *sup_by_idx(eng *e, int64_t dev, int32_t idx)
{
  eng_device *d = dev_by_id(e, dev);

  for (size_t k = 0; d && k < d->n_sup; k++)
    if (d->sup[k].index == idx)
      return &d->sup[k];
  return NULL;
}

static int site_supply(int64_t dev, const cstore_rp_supply *p, void *ctx)
{
  eng *e = ctx;
  eng_device *d = dev_by_id(e, dev);

  e->oom = d && add_supply(p, d);
  return e->oom;
}

static int site_job(int64_t dev, int64_t from, int64_t to, void *ctx)
{
  eng *e = ctx;
  eng_device *d = dev_by_id(e, dev);

  e->oom = d && add_job(from, to, d);
  return e->oom;
}

static int site_eligible(int64_t dev, int64_t day, void *ctx)
{
  eng_device *d = dev_by_id(ctx, dev);

  if (d)
    d->eligible_day = day;
  return 0;
}

static int site_level(int64_t dev, int32_t idx, const cstore_rp_level *l, void *ctx)
{
  eng *e = ctx;
  eng_supply *s = sup_by_idx(e, dev, idx);

  if (s && !l)
    s->levels_read = true;
  e->oom = s && l && add_level(l, s);
  return e->oom;
}

static int site_delivery(int64_t dev, int32_t idx, int64_t day, int quantity, void *ctx)
{
  eng *e = ctx;
  eng_supply *s = sup_by_idx(e, dev, idx);

  e->oom = s && add_delivery(day, quantity, s);
  return e->oom;
}

static int site_extra(int64_t dev, int32_t idx, const cstore_rp_extra *x, void *ctx)
{
  eng *e = ctx;
  eng_supply *s = sup_by_idx(e, dev, idx);

  e->oom = s && add_extra(x, s);
  return e->oom;
}

/* The days of the supplies whose series did not hold them (and every supply's when the
 * engine reads the raw levels), one supply at a time. */
static asr_result load_levels_left(eng *e, eng_device *d)
{
  asr_result r = ASR_OK;
  bool raw = e->o && e->o->source == CENGINE_RAW;

  for (size_t i = 0; !r && i < d->n_sup; i++) {
    if (d->sup[i].levels_read)
      continue;
    r = (raw ? cstore_series_levels_raw : cstore_series_levels)(
        e->st, d->id, d->sup[i].index, e->today - lookback(e->c), e->today, add_level, &d->sup[i]);
    if (!r && d->sup[i].oom)
      r = ASR_ERR_NOMEM;
  }
  return r;
}

/* What the site's rows left to each device: its eligibility's job window, the days its
 * series did not hold, its rules' view. */
static asr_result finish_device(eng *e, eng_device *d)
{
  asr_result r = ASR_OK;

  if (d->eligible_day > 0) /* learned again from the week that cleared it */
    add_job(0, d->eligible_day - 8, d);
  if (d->oom)
    r = ASR_ERR_NOMEM;
  if (!r)
    r = load_levels_left(e, d);
  d->last_report_day = last_report_day(d);
  d->rsup = calloc(d->n_sup ? d->n_sup : 1, sizeof(*d->rsup));
  if (!r && !d->rsup)
    r = ASR_ERR_NOMEM;
  return r;
}

/* The histories of the site's devices: supplies, job windows, eligibility, series,
 * deliveries, special orders, a statement each for the whole site. */
static asr_result load_histories(eng *e, int64_t site_id)
{
  int64_t from = e->today - lookback(e->c);
  asr_result r = cstore_rp_site_supplies(e->st, site_id, site_supply, e);

  if (!r)
    r = cstore_rp_site_jobs(e->st, site_id, site_job, e);
  if (!r)
    r = cstore_rp_site_event_last(e->st, site_id, "eligible", site_eligible, e);
  if (!r && !(e->o && e->o->source == CENGINE_RAW))
    r = cstore_series_site_levels(e->st, site_id, from, e->today, site_level, e);
  if (!r)
    r = cstore_rp_site_deliveries(e->st, site_id, site_delivery, e);
  if (!r)
    r = cstore_rp_site_extras(e->st, site_id, from, site_extra, e);
  if (!r && e->oom)
    r = ASR_ERR_NOMEM;
  for (size_t i = 0; !r && i < e->n_dev; i++)
    r = finish_device(e, &e->dev[i]);
  return r;
}

/* Loads the devices of site site_id (by key) and their histories. */
static asr_result load_site(eng *e, int64_t site_id)
{
  asr_result r = cstore_rp_site_devices(e->st, site_id, add_device, e);

  if (!r && e->oom)
    r = ASR_ERR_NOMEM;
  if (!r) {
    e->by_id = calloc(e->n_dev ? e->n_dev : 1, sizeof(*e->by_id));
    r = e->by_id ? ASR_OK : ASR_ERR_NOMEM;
  }
  for (size_t i = 0; !r && i < e->n_dev; i++)
    e->by_id[i] = (struct eng_by_id){e->dev[i].id, i};
  if (!r && e->n_dev)
    qsort(e->by_id, e->n_dev, sizeof(*e->by_id), by_id_cmp);
  if (!r)
    r = load_histories(e, site_id);
  if (!r) {
    e->rdev = calloc(e->n_dev ? e->n_dev : 1, sizeof(*e->rdev));
    if (!e->rdev)
      r = ASR_ERR_NOMEM;
  }
  return r;
}

/* Frees the site in memory (the device array stays for the next site). */
static void free_site(eng *e)
{
  for (size_t i = 0; i < e->n_dev; i++) {
    for (size_t k = 0; k < e->dev[i].n_sup; k++) {
      free(e->dev[i].sup[k].r);
      free(e->dev[i].sup[k].dl);
      free(e->dev[i].sup[k].ex);
    }
    free(e->dev[i].sup);
    free(e->dev[i].rsup);
    free(e->dev[i].jobs);
  }
  e->n_dev = 0;
  e->n_stock = 0;
  free(e->rdev);
  e->rdev = NULL;
  free(e->by_id);
  e->by_id = NULL;
}

static void free_fleet(eng *e)
{
  free_site(e);
  free(e->dev);
  e->dev = NULL;
  e->cap_dev = 0;
  free(e->stock);
  e->stock = NULL;
}

/* ---- Replacements ------------------------------------------------------------------- */

/* The use forecast from the readings before r[i] for the days between r[i - 1] and r[i]:
 * what the old cartridge lost before it was taken out (as simulate.c's see_jump does); -1
 * when its history is too short for a forecast (never called early, asr_rp_jump_apply_used). */
static double used_before(const eng *e, const eng_device *d, const eng_supply *s, size_t i)
{
  asr_rp_forecast f;

  if (s->r[i].level <= s->r[i - 1].level)
    return 0.0; /* no jump up: nothing to judge */
  if (asr_rp_step_excluded(s->r[i - 1].day, s->r[i].day, d->jobs, d->n_jobs))
    return -1.0; /* a print job's days: what the old cartridge had left is nobody's guess */
  if (asr_rp_forecast_compute_ex(s->r, i, s->capacity, s->r[i].day, &e->c->forecast, d->jobs,
                                 d->n_jobs, &f) != ASR_OK ||
      !f.valid)
    return -1.0;
  return f.daily_use * (double)(s->r[i].day - s->r[i - 1].day);
}

/* Records the replacement j found in reading i (an event once per day and kind). */
static asr_result jump_events(eng *e, eng_device *d, eng_supply *s, size_t i, const asr_rp_jump *j)
{
  bool added = false;
  asr_result r = ASR_OK;

  if (j->early)
    r = cstore_rp_event_add(e->st, d->id, s->index, s->r[i].day, "early replacement", &added);
  if (!r && added) {
    e->rep->early++;
    say(e, "early replacement: %s (site %s) supply %d (%s) on day %lld", d->serial, d->site,
        (int)s->index, s->desc, (long long)s->r[i].day);
  }
  if (!r && j->unknown_stock)
    r = cstore_rp_event_add(e->st, d->id, s->index, s->r[i].day, "not from stock", &added);
  if (!r && j->unknown_stock && added)
    e->rep->not_from_stock++;
  return r;
}

/* Cartridges delivered to supply s on or before day. */
static int64_t delivered_by(const eng_supply *s, int64_t day)
{
  int64_t n = 0;

  for (size_t k = 0; k < s->n_dl && s->dl[k].day <= day; k++)
    n += s->dl[k].quantity;
  return n;
}

/* Cartridges of ours on the device's shelf on day: delivered by then, not installed (the
 * stored installs, and consumed of this run's); never less than 0. */
static int shelf_on(const eng_supply *s, int64_t day, int consumed)
{
  int64_t n = delivered_by(s, day) - s->installed - consumed;

  return n <= 0 ? 0 : n > STOCK_MAX ? STOCK_MAX : (int)n;
}

/* Checks the readings after jumps_day for replacements: each installs one cartridge of ours
 * that was DELIVERED by then (on the device's shelf); with none on the shelf the new one is
 * the customer's own (not from stock), and a box still on its way stays counted as on its
 * way. Early ones and cartridges not from us are recorded.
 *
 * Why only delivered stock: a customer who puts in a cartridge of their own while our box is
 * in transit has not installed our box; counting it installed would leave the rules short of
 * a cartridge (and reorder) while the box sits on the shelf (issue 11, defect 7).
 *
 * Why today is checked but not settled: today's level is the newest reading so far, and a
 * cartridge may still be replaced later today (after a mid-day `replenish --now` or a
 * restart). Today's jumps count in today's plan (in memory) and their events are stored
 * (once each), but only days before today are stored as checked, with the stock they
 * consumed: tomorrow's run checks today's final level again and settles it. */
/* A cartridge of ours went in on day: one of a special order's when the job has not ended
 * and the order has cartridges left (a job uses them first; put in before it, they are
 * no longer the job's). */
static void extra_used(eng_supply *s, int64_t day, bool settled)
{
  for (size_t k = 0; k < s->n_ex; k++) {
    eng_extra *x = &s->ex[k];
    if (day > x->x.job_to || x->x.consumed + x->used >= x->x.quantity)
      continue;
    x->used++;
    x->settled += settled;
    return;
  }
}

/* Stores the special orders' cartridges that went in on settled days. */
static asr_result extras_store(eng *e, eng_supply *s)
{
  asr_result r = ASR_OK;

  for (size_t k = 0; !r && k < s->n_ex; k++)
    if (s->ex[k].settled > 0)
      r = cstore_rp_extra_consumed(e->st, s->ex[k].x.order, s->ex[k].x.line, s->ex[k].settled);
  (void)e;
  return r;
}

/* Cartridges of special orders reserved for jobs that have not started: not in the rules'
 * stock, or they would put off the supply's next order and the job would then leave it short.
 * From the job's first day they count again: the job uses them instead of the toner the
 * rules count on, so the days left counting them stay what they would be without the job. */
static int64_t extras_reserved(const eng *e, const eng_supply *s)
{
  int64_t n = 0;

  for (size_t k = 0; k < s->n_ex; k++) {
    const eng_extra *x = &s->ex[k];
    if (e->today < x->x.job_from)
      n += x->x.quantity - x->x.consumed - x->used;
  }
  return n > 0 ? n : 0;
}

/* Keeps the stock update of supply s (checked to day done) for the site's (store_stock). */
static asr_result stock_later(eng *e, const eng_device *d, const eng_supply *s, int64_t done)
{
  cstore_rp_stock_row *m = grow(e->stock, &e->cap_stock, e->n_stock, sizeof(*e->stock));

  if (!m)
    return ASR_ERR_NOMEM;
  e->stock = m;
  e->stock[e->n_stock++] = (cstore_rp_stock_row){
      .dev = d->id, .idx = s->index, .installed = s->installed_new, .jumps_day = done};
  return ASR_OK;
}

/* The site's stock updates, in one statement where the backend can (each supply once). */
static asr_result store_stock(eng *e)
{
  asr_result r = cstore_rp_stock_updates(e->st, e->stock, e->n_stock);

  e->n_stock = 0;
  return r;
}

static asr_result apply_jumps(eng *e, eng_device *d, eng_supply *s)
{
  int consumed = 0, settled = 0;
  int64_t done = s->last_day < e->today ? s->last_day : e->today - 1;
  /* a supply never checked before: its history before yesterday is not judged (those
   * replacements predate the engine and no shipped stock can have gone into them) */
  int64_t from = s->jumps_day >= 0 ? s->jumps_day : e->today - 2;
  asr_result r = ASR_OK;

  for (size_t i = 1; !r && i < s->n; i++) {
    asr_rp_jump j;
    if (s->r[i].day <= from)
      continue;
    int shelf = shelf_on(s, s->r[i].day, consumed), before = shelf;
    asr_rp_jump_apply_used(s->r[i - 1].level, s->r[i].level, s->capacity, used_before(e, d, s, i),
                           &e->c->forecast, &shelf, &j);
    consumed += before - shelf;
    if (j.from_stock)
      extra_used(s, s->r[i].day, s->r[i].day <= done);
    r = jump_events(e, d, s, i, &j);
    if (s->r[i].day <= done)
      settled = consumed;
  }
  s->stock -= consumed; /* today's plan knows today's replacements */
  s->stock -= extras_reserved(e, s);
  if (r || s->n == 0 || done <= from)
    return r;
  s->installed_new = settled;
  r = extras_store(e, s);
  return r ? r : stock_later(e, d, s, done);
}

/* The rules' view of device i (after the replacements). */
static void device_rules_view(eng *e, size_t i)
{
  {
    eng_device *d = &e->dev[i];
    for (size_t k = 0; k < d->n_sup; k++) {
      eng_supply *s = &d->sup[k];
      d->rsup[k] = (asr_rp_supply){
          .type = s->type,
          .colorant = s->colorant[0] ? s->colorant : NULL,
          .colorant_std = s->colorant_std[0] ? s->colorant_std : NULL,
          .capacity = s->capacity,
          .readings = s->r,
          .n_readings = s->n,
          .stock = s->stock > 0 ? (int)(s->stock > STOCK_MAX ? STOCK_MAX : s->stock) : 0,
          .covered_until = s->covered_until,
          .covered_use = s->covered_use,
          .excluded = d->jobs,
          .n_excluded = d->n_jobs};
    }
    e->rdev[i] = (asr_rp_device){.serial = d->serial,
                                 .site = d->site,
                                 .contact = d->group,
                                 .enrolled = d->last_reading_at > 0,
                                 .last_report = d->last_report_day,
                                 .supplies = d->rsup,
                                 .n_supplies = d->n_sup,
                                 .judged = d->judged_stored,
                                 .high_use = d->high_use_stored};
  }
}

/* The rules' view of the fleet (after the replacements). */
static void build_rules_view(eng *e)
{
  for (size_t i = 0; i < e->n_dev; i++)
    device_rules_view(e, i);
}

/* Judges every device's use on its calendar weeks (rule 4), again every day: a device that
 * uses too much is not ordered for, one whose use fell back is again; each change is an
 * event, said, and mailed to the device's contact (send_eligibility). */
static asr_result judge_fleet(eng *e)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < e->n_dev; i++) {
    eng_device *d = &e->dev[i];
    asr_rp_judgement j;
    bool added = false;
    asr_rp_judge(e->c, &e->rdev[i], e->today, &j);
    d->judged = j.judged;
    d->high_use = j.high_use;
    d->worst = j.worst;
    e->rep->high_use += d->high_use;
    if (d->high_use == d->high_use_stored)
      continue;
    r = cstore_rp_event_add(e->st, d->id, -1, e->today, d->high_use ? "not eligible" : "eligible",
                            &added);
    if (d->high_use) {
      e->rep->not_eligible++;
      say(e, "high use: %s (site %s) is not eligible: %.1f cartridges of one colour a week",
          d->serial, d->site, d->worst);
    } else {
      /* eligible again: the weeks of high use teach its rate nothing (they would order as
       * if it still printed that much); it is learned again from the week that cleared it */
      e->rep->eligible_again++;
      say(e, "eligible again: %s (site %s): %.1f cartridges a week", d->serial, d->site, d->worst);
      if (!r && add_job(0, e->today - 8, d))
        r = ASR_ERR_NOMEM;
      device_rules_view(e, i);
    }
  }
  return r;
}

/* ---- Mails -------------------------------------------------------------------------- */

/* Composes n and queues it under n->msgid_key for the contact. A mail that cannot be
 * composed (a contact that is no address) is logged and counted, not fatal: the order
 * stands. */
static asr_result queue_mail(cstore *st, const cmail_notice *n, int64_t site_id,
                             cengine_report *rep)
{
  char *msg = NULL;
  size_t len = 0;
  bool added = false;
  asr_result r = cmail_compose(n, &msg, &len);

  if (r == ASR_ERR_NOMEM)
    return r;
  if (r) {
    asr_log(ASR_LOG_WARN, "replenish: cannot compose the %s mail of site %s to '%s': %s",
            cmail_kind_str(n->kind), n->site, n->to, asr_result_str(r));
    if (rep)
      rep->mail_errors++;
    return ASR_OK;
  }
  r = cstore_outbox_add(st, n->msgid_key, site_id, n->to, cmail_kind_str(n->kind), msg, len, n->now,
                        &added);
  if (!r && added && rep)
    rep->mails++;
  free(msg);
  return r;
}

/* ---- The day's orders --------------------------------------------------------------- */

static const char *nul_if_empty(const char *s)
{
  return s && s[0] ? s : NULL;
}

/* What a line of q cartridges of supply k of device d ordered today carries: its covered
 * date and the daily use it was ordered for (the spike rule compares with it). */
static cstore_line_extra line_extra(const eng *e, const eng_device *d, size_t k, int q)
{
  asr_rp_eval ev;
  cstore_line_extra x = {.covered_until = e->today};

  if (asr_rp_eval_supply(e->c, &d->rsup[k], e->today, &ev) != ASR_OK)
    return x;
  x.covered_until = asr_rp_covered_until(&ev, &d->rsup[k], q, e->today);
  x.daily_use = ev.fc.valid ? ev.fc.daily_use : 0.0;
  return x;
}

/* Stores the lines of planned order o as order id; fills ml for its mail. */
static asr_result store_lines(eng *e, const asr_rp_plan *p, const asr_rp_order *o, int64_t id,
                              cmail_line *ml)
{
  asr_result r = ASR_OK;

  for (size_t k = 0; !r && k < o->n_lines; k++) {
    const asr_rp_line *l = &p->lines[o->first_line + k];
    const eng_device *d = &e->dev[l->device];
    const eng_supply *s = &d->sup[l->supply];
    const char *why = asr_rp_reason_str(l->reason);
    cstore_line_extra x = line_extra(e, d, l->supply, l->quantity);
    r = cstore_order_line_add(e->st, id, (int)k + 1, d->id, s->index, d->serial, l->quantity, why,
                              &x);
    ml[k] = (cmail_line){.serial = d->serial,
                         .model = nul_if_empty(d->model),
                         .supply = s->desc,
                         .colorant = nul_if_empty(s->colorant),
                         .quantity = l->quantity,
                         .reason = why};
    say(e, "  line %zu: %s supply %d (%s) x%d, %s", k + 1, d->serial, (int)s->index, s->desc,
        l->quantity, why);
  }
  return r;
}

/* The reason of an order: that of its opening device's first line. */
static asr_rp_reason order_reason(const asr_rp_plan *p, const asr_rp_order *o)
{
  for (size_t k = 0; k < o->n_lines; k++)
    if (p->lines[o->first_line + k].device == o->trigger_device)
      return p->lines[o->first_line + k].reason;
  return ASR_RP_REASON_TRIGGER;
}

static asr_result store_order(eng *e, const asr_rp_plan *p, const asr_rp_order *o)
{
  const eng_device *lead = &e->dev[o->trigger_device];
  cmail_line *ml = calloc(o->n_lines ? o->n_lines : 1, sizeof(*ml));
  char key[96];
  int64_t id = 0;
  asr_result r = ml ? ASR_OK : ASR_ERR_NOMEM;

  if (!r)
    r = cstore_order_add(e->st, lead->site_id, lead->contact_id, "asr",
                         asr_rp_reason_str(order_reason(p, o)), NULL, e->today, e->now, &id);
  if (r)
    goto out;
  say(e, "order %lld for site %s (%s): %zu lines, opened by %s (%s)", (long long)id, lead->site,
      lead->contact, o->n_lines, lead->serial, asr_rp_reason_str(order_reason(p, o)));
  r = store_lines(e, p, o, id, ml);
  if (!r)
    r = asr_fmt(key, sizeof(key), "%llx-order-%lld-created", (unsigned long long)e->instance,
                (long long)id);
  if (r)
    goto out;
  cmail_notice n = {.kind = CMAIL_ORDER_CREATED,
                    .from = e->from,
                    .to = lead->contact,
                    .site = lead->site,
                    .now = e->now,
                    .msgid_key = key,
                    .order_id = id,
                    .lines = ml,
                    .n_lines = o->n_lines,
                    .contact_name = nul_if_empty(lead->contact_name),
                    .address = nul_if_empty(lead->address)};
  r = queue_mail(e->st, &n, lead->site_id, e->rep);
  e->rep->orders++;
  e->rep->lines += o->n_lines;
out:
  free(ml);
  return r;
}

static asr_result plan_and_store(eng *e)
{
  size_t lines = e->n_dev;
  asr_rp_plan p = {0};
  asr_result r;

  for (size_t i = 0; i < e->n_dev; i++)
    lines += 2 * e->dev[i].n_sup;
  p.orders = calloc(e->n_dev ? e->n_dev : 1, sizeof(*p.orders));
  p.lines = calloc(lines ? lines : 1, sizeof(*p.lines));
  p.max_orders = e->n_dev;
  p.max_lines = lines;
  r = p.orders && p.lines ? ASR_OK : ASR_ERR_NOMEM;
  if (!r)
    r = asr_rp_plan_day(e->c, e->rdev, e->n_dev, e->today, &p);
  for (size_t i = 0; !r && i < p.n_orders; i++)
    r = store_order(e, &p, &p.orders[i]);
  free(p.orders);
  free(p.lines);
  return r;
}

/* ---- Disconnection notices ---------------------------------------------------------- */

/* Which notices are due for device d today (bits), updating its sent flags; a device that
 * reports again after a disconnection notice is reconnected (its flags clear). */
static unsigned notices_due(const eng *e, eng_device *d)
{
  unsigned due = 0, before = d->notices;

  if (d->last_reading_at <= 0)
    return 0;
  for (int k = 0; k < 2; k++) {
    asr_rp_notice n = asr_rp_notice_due(e->c, d->last_report_day, e->today, &d->notices);
    if (n == ASR_RP_NOTICE_DISCONNECTED)
      due |= ASR_RP_SENT_DISCONNECTED;
    else if (n == ASR_RP_NOTICE_FINAL)
      due |= ASR_RP_SENT_FINAL;
    else
      break;
  }
  d->reconnected = (before & ASR_RP_SENT_DISCONNECTED) && d->notices == 0;
  return due;
}

/* One mail of kind to the contact of device i naming every device of the same contact whose
 * bit is set in due[] (clearing it); note, when not NULL, writes each device's note line. */
typedef void (*note_fn)(const eng_device *d, char *buf, size_t n);

static asr_result contact_mail(eng *e, size_t i, cmail_kind kind, unsigned bit, unsigned *due,
                               note_fn note)
{
  const eng_device *lead = &e->dev[i];
  cmail_device *md = calloc(e->n_dev, sizeof(*md));
  char(*notes)[96] = note ? calloc(e->n_dev, sizeof(*notes)) : NULL;
  int64_t newest = 0;
  char key[96];
  size_t n = 0;
  asr_result r = md && (notes || !note) ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t j = i; !r && j < e->n_dev; j++) {
    const eng_device *d = &e->dev[j];
    if (!(due[j] & bit) || d->site_id != lead->site_id || d->contact_id != lead->contact_id)
      continue;
    due[j] &= ~bit;
    if (note)
      note(d, notes[n], sizeof(notes[n]));
    md[n] = (cmail_device){.serial = d->serial,
                           .model = nul_if_empty(d->model),
                           .ip = nul_if_empty(d->ip),
                           .last_report = d->last_reading_at,
                           .note = note ? notes[n] : NULL};
    n++;
    newest = d->last_report_day > newest ? d->last_report_day : newest;
  }
  if (!r)
    r = asr_fmt(key, sizeof(key), "%llx-%s-contact%lld-day%lld", (unsigned long long)e->instance,
                cmail_kind_str(kind), (long long)lead->contact_id, (long long)e->today);
  for (char *c = key; !r && *c; c++)
    *c = *c == ' ' ? '-' : *c;
  if (!r) {
    cmail_notice m = {.kind = kind,
                      .from = e->from,
                      .to = lead->contact,
                      .site = lead->site,
                      .now = e->now,
                      .msgid_key = key,
                      .devices = md,
                      .n_devices = n,
                      .silent_days = (int)(e->today - newest),
                      .contact_name = nul_if_empty(lead->contact_name)};
    say(e, "%s to %s (site %s): %zu devices, first %s", cmail_kind_str(kind), lead->contact,
        lead->site, n, lead->serial);
    e->rep->notices++;
    r = queue_mail(e->st, &m, lead->site_id, e->rep);
  }
  free(md);
  free(notes);
  return r;
}

/* The device's note in an eligibility mail: its busiest colour's weekly use. */
static void use_note(const eng_device *d, char *buf, size_t n)
{
  asr_fmt_cut(buf, n, "Use: %.1f cartridges of one colour a week", d->worst);
}

/* Records a reconnection (an event, said) of each device that reported again. */
static asr_result reconnections(eng *e)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < e->n_dev; i++) {
    bool added = false;
    if (!e->dev[i].reconnected)
      continue;
    r = cstore_rp_event_add(e->st, e->dev[i].id, -1, e->today, "reconnected", &added);
    if (!r && added) {
      e->rep->reconnected++;
      say(e, "reconnected: %s (site %s) reports again", e->dev[i].serial, e->dev[i].site);
    }
  }
  return r;
}

#define BIT_NOT_ELIGIBLE 4u
#define BIT_ELIGIBLE 8u

static asr_result send_notices(eng *e)
{
  unsigned *due = calloc(e->n_dev ? e->n_dev : 1, sizeof(*due));
  static const struct {
    unsigned bit;
    cmail_kind kind;
    note_fn note;
  } mails[] = {{ASR_RP_SENT_DISCONNECTED, CMAIL_DISCONNECTED, NULL},
               {ASR_RP_SENT_FINAL, CMAIL_FINAL, NULL},
               {BIT_NOT_ELIGIBLE, CMAIL_NOT_ELIGIBLE, use_note},
               {BIT_ELIGIBLE, CMAIL_ELIGIBLE, use_note}};
  asr_result r = due ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < e->n_dev; i++) {
    const eng_device *d = &e->dev[i];
    due[i] = notices_due(e, &e->dev[i]);
    if (d->high_use != d->high_use_stored)
      due[i] |= d->high_use ? BIT_NOT_ELIGIBLE : BIT_ELIGIBLE;
  }
  if (!r)
    r = reconnections(e);
  for (size_t b = 0; b < sizeof(mails) / sizeof(mails[0]); b++)
    for (size_t i = 0; !r && i < e->n_dev; i++)
      if (due[i] & mails[b].bit)
        r = contact_mail(e, i, mails[b].kind, mails[b].bit, due, mails[b].note);
  free(due);
  return r;
}

/* ---- The day ------------------------------------------------------------------------ */

static asr_result store_flags(eng *e, const unsigned *before)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < e->n_dev; i++) {
    const eng_device *d = &e->dev[i];
    if (d->high_use != d->high_use_stored || d->judged != d->judged_stored ||
        d->notices != before[i])
      r = cstore_rp_device_set(e->st, d->id, d->judged, d->high_use, e->today, d->notices);
  }
  return r;
}

/* Everything of the day for the site in memory. */
static asr_result run_site(eng *e)
{
  unsigned *before = NULL;
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < e->n_dev; i++)
    for (size_t k = 0; !r && k < e->dev[i].n_sup; k++)
      r = apply_jumps(e, &e->dev[i], &e->dev[i].sup[k]);
  if (!r)
    r = store_stock(e);
  if (r)
    return r;
  e->rep->devices += e->n_dev;
  build_rules_view(e);
  r = judge_fleet(e);
  if (r)
    return r;
  before = calloc(e->n_dev ? e->n_dev : 1, sizeof(*before));
  if (!before)
    return ASR_ERR_NOMEM;
  for (size_t i = 0; i < e->n_dev; i++)
    before[i] = e->dev[i].notices;
  r = plan_and_store(e);
  if (!r)
    r = send_notices(e);
  if (!r)
    r = store_flags(e, before);
  free(before);
  return r;
}

/* The sites' ids, by name. */
typedef struct {
  int64_t *id;
  size_t n, cap;
  bool oom;
} site_list;

static int add_site(int64_t id, void *ctx)
{
  site_list *l = ctx;
  int64_t *m = grow(l->id, &l->cap, l->n, sizeof(*l->id));

  l->oom = !m;
  if (!m)
    return 1;
  l->id = m;
  l->id[l->n++] = id;
  return 0;
}

/* Everything of the day inside the open transaction: site after site. */
static asr_result run_in_tx(eng *e)
{
  site_list sites = {0};
  asr_result r = cstore_rp_instance(e->st, &e->instance);

  if (!r)
    r = cstore_rp_sites(e->st, add_site, &sites);
  if (!r && sites.oom)
    r = ASR_ERR_NOMEM;
  for (size_t i = 0; !r && i < sites.n; i++) {
    r = load_site(e, sites.id[i]);
    if (!r)
      r = run_site(e);
    free_site(e);
  }
  if (!r)
    r = cstore_rp_set_last_day(e->st, e->today);
  free(sites.id);
  return r;
}

asr_result cengine_run_day(cstore *st, const asr_rp_conf *c, int64_t today, const cengine_opts *o,
                           cengine_report *rep)
{
  eng e = {.st = st, .c = c, .o = o, .today = today, .rep = rep};
  int64_t last = -1;
  cstore_day_claim claim = CSTORE_DAY_DONE;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  rep->day = today;
  if (asr_rp_conf_check(c) != ASR_OK)
    return ASR_ERR_INVALID;
  e.now = o && o->now > 0 ? o->now : today * 86400;
  e.from = o && o->mail_from && o->mail_from[0] ? o->mail_from : CENGINE_DEFAULT_FROM;
  r = cstore_tx_begin(st);
  if (r)
    return r;
  r = cstore_rp_last_day(st, &last); /* most ticks end here, without a write */
  if (!r && last < today)
    r = cstore_rp_claim_day(st, today, &claim);
  if (!r && (last >= today || claim != CSTORE_DAY_CLAIMED)) {
    rep->already_ran = true;
    rep->other_node = last < today && claim == CSTORE_DAY_BUSY;
    cstore_tx_rollback(st);
    return ASR_OK;
  }
  if (!r)
    r = run_in_tx(&e);
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  free_fleet(&e);
  return r;
}

/* ---- Warehouse steps ---------------------------------------------------------------- */

/* Each step moves lines from one of its states (in order of preference: a ship without named
 * lines ships the created lines, and when none is left the backordered ones) to another. */
static const struct {
  cengine_step step;
  const char *name, *from[2], *to;
} steps[] = {
    {CENGINE_SHIP, "ship", {"created", "backordered"}, "shipped"},
    {CENGINE_BACKORDER, "backorder", {"created", NULL}, "backordered"},
    {CENGINE_DELIVER, "deliver", {"shipped", NULL}, "delivered"},
};

#define N_STEPS (sizeof(steps) / sizeof(steps[0]))

asr_result cengine_step_parse(const char *s, cengine_step *out)
{
  for (size_t i = 0; s && i < N_STEPS; i++) {
    if (strcmp(s, steps[i].name) == 0) {
      *out = steps[i].step;
      return ASR_OK;
    }
  }
  return ASR_ERR_INVALID;
}

const char *cengine_step_str(cengine_step s)
{
  return (size_t)s < N_STEPS ? steps[s].name : "unknown";
}

/* Which of a step's from-states a line state is: 0, 1, or -1 (the step cannot take it). */
static int step_from(cengine_step step, const char *state)
{
  for (int i = 0; i < 2; i++)
    if (steps[step].from[i] && state && strcmp(steps[step].from[i], state) == 0)
      return i;
  return -1;
}

/* A step on one order: the lines it takes, then their mails, composed while the order's
 * lines are at hand (cstore_order_get). */
typedef struct {
  cstore *st;
  cengine_step step;
  const int *want; /* named lines, or NULL */
  size_t n_want;
  const char *from;
  int64_t now, instance;
  const cstore_order_head *h;
  char *err;
  size_t errn;
  asr_result r;
} step_ctx;

/* True when line l is named (or no line is). */
static bool named(const step_ctx *x, int l)
{
  for (size_t k = 0; k < x->n_want; k++)
    if (x->want[k] == l)
      return true;
  return x->n_want == 0;
}

/* Chooses the lines of o the step takes into take[] (1: from its first from-state, 2: from
 * its second); an error when a named line does not exist or cannot take it, or none can. */
static asr_result choose_lines(step_ctx *x, const cstore_order_row *o, int *take)
{
  int pref = -1;

  for (size_t k = 0; k < x->n_want; k++) {
    size_t i = 0;
    while (i < o->n_lines && o->lines[i].line != x->want[k])
      i++;
    if (i == o->n_lines) {
      asr_fmt_cut(x->err, x->errn, "order %lld has no line %d", (long long)o->id, x->want[k]);
      return ASR_ERR_INVALID;
    }
    if (step_from(x->step, o->lines[i].state) < 0) {
      asr_fmt_cut(x->err, x->errn, "order %lld line %d is %s: cannot %s it", (long long)o->id,
                  x->want[k], o->lines[i].state, steps[x->step].name);
      return ASR_ERR_INVALID;
    }
  }
  for (size_t i = 0; i < o->n_lines; i++) { /* the preferred from-state present */
    int f = named(x, o->lines[i].line) ? step_from(x->step, o->lines[i].state) : -1;
    if (f >= 0 && (pref < 0 || f < pref))
      pref = f;
  }
  for (size_t i = 0; i < o->n_lines; i++) {
    int f = step_from(x->step, o->lines[i].state);
    take[i] = f >= 0 && named(x, o->lines[i].line) && (x->n_want > 0 || f == pref) ? f + 1 : 0;
  }
  if (pref < 0) {
    asr_fmt_cut(x->err, x->errn, "order %lld is %s: cannot %s it", (long long)o->id, o->state,
                steps[x->step].name);
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* The mail of the lines taken from from-state f (a ship: "shipped" for the created lines,
 * "shipped after the delay" for the backordered ones); none for a delivery. */
static asr_result step_mail(step_ctx *x, const cstore_order_row *o, const int *take, int f,
                            cmail_line *ml)
{
  size_t n = 0;
  int first = 0;
  char key[96];

  for (size_t i = 0; i < o->n_lines; i++) {
    const cstore_order_line *l = &o->lines[i];
    if (take[i] != f + 1)
      continue;
    first = first ? first : l->line;
    ml[n++] = (cmail_line){.serial = l->serial,
                           .model = l->model,
                           .supply = l->supply,
                           .colorant = l->colorant,
                           .quantity = l->quantity,
                           .reason = l->reason};
  }
  if (n == 0 || x->step == CENGINE_DELIVER)
    return ASR_OK;
  cmail_kind kind = x->step == CENGINE_BACKORDER ? CMAIL_ORDER_BACKORDERED
                    : f == 1                     ? CMAIL_ORDER_SHIPPED_AFTER_BACKORDER
                                                 : CMAIL_ORDER_SHIPPED;
  /* each line takes each step once: its number keys the mail of the step that took it */
  if (asr_fmt(key, sizeof(key), "%llx-order-%lld-%s-%d", (unsigned long long)x->instance,
              (long long)o->id, steps[x->step].name, first))
    return ASR_ERR_LIMIT;
  cmail_notice m = {.kind = kind,
                    .from = x->from,
                    .to = x->h->contact,
                    .site = x->h->site,
                    .now = x->now,
                    .msgid_key = key,
                    .order_id = o->id,
                    .lines = ml,
                    .n_lines = n,
                    .contact_name = nul_if_empty(x->h->contact_name),
                    .address = nul_if_empty(x->h->address),
                    .note = o->note};
  return queue_mail(x->st, &m, x->h->site_id, NULL);
}

static asr_result apply_step(step_ctx *x, const cstore_order_row *o)
{
  int *take = calloc(o->n_lines ? o->n_lines : 1, sizeof(*take));
  cmail_line *ml = calloc(o->n_lines ? o->n_lines : 1, sizeof(*ml));
  asr_result r = take && ml ? ASR_OK : ASR_ERR_NOMEM;

  if (!r)
    r = choose_lines(x, o, take);
  for (size_t i = 0; !r && i < o->n_lines; i++)
    if (take[i])
      r = cstore_line_set_state(x->st, o->id, o->lines[i].line, steps[x->step].to, x->now);
  for (int f = 0; !r && f < 2; f++)
    r = step_mail(x, o, take, f, ml);
  if (!r)
    r = cstore_order_sync(x->st, o->id, x->now);
  free(take);
  free(ml);
  return r;
}

static int step_cb(const cstore_order_row *o, void *ctx)
{
  step_ctx *x = ctx;

  x->r = apply_step(x, o);
  return 1;
}

asr_result cengine_order_step_lines(cstore *st, int64_t id, cengine_step step, const int *lines,
                                    size_t n_lines, const cengine_opts *o, char *err, size_t n)
{
  cstore_order_head h;
  step_ctx x = {.st = st,
                .step = step,
                .want = n_lines ? lines : NULL,
                .n_want = n_lines,
                .from = o && o->mail_from && o->mail_from[0] ? o->mail_from : CENGINE_DEFAULT_FROM,
                .now = o && o->now > 0 ? o->now : 0,
                .h = &h,
                .err = err,
                .errn = n};
  asr_result r = (size_t)step < N_STEPS ? cstore_tx_begin(st) : ASR_ERR_INVALID;

  if (r)
    return r;
  if (n)
    err[0] = '\0';
  r = cstore_order_head_get(st, id, &h);
  if (r == ASR_ERR_NOT_FOUND)
    asr_fmt_cut(err, n, "no order %lld", (long long)id);
  if (!r)
    r = cstore_rp_instance(st, &x.instance);
  if (!r)
    r = cstore_order_get(st, id, step_cb, &x);
  if (!r)
    r = x.r;
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  if (r && r != ASR_ERR_NOT_FOUND && r != ASR_ERR_INVALID)
    asr_fmt_cut(err, n, "%s", cstore_errmsg(st));
  return r;
}

asr_result cengine_order_step(cstore *st, int64_t id, cengine_step step, const cengine_opts *o,
                              char *err, size_t n)
{
  return cengine_order_step_lines(st, id, step, NULL, 0, o, err, n);
}

/* ---- Special orders and registrations -------------------------------------------------- */

/* The device's contact (and site) as the engine sees it, and the supply's description. */
typedef struct {
  int64_t dev;
  int32_t idx;
  bool found, found_supply;
  eng_device d;
  char supply[CSTORE_NAME_MAX], colorant[CSTORE_NAME_MAX];
} extra_ctx;

static int extra_device(const cstore_rp_device *p, void *ctx)
{
  extra_ctx *x = ctx;

  if (p->id != x->dev)
    return 0;
  x->found = true;
  x->d.id = p->id;
  x->d.site_id = p->site_id;
  x->d.contact_id = p->contact_id;
  asr_strlcpy_cut(x->d.site, p->site ? p->site : "", sizeof(x->d.site));
  asr_strlcpy_cut(x->d.contact, p->contact ? p->contact : "", sizeof(x->d.contact));
  asr_strlcpy_cut(x->d.contact_name, p->contact_name ? p->contact_name : "",
                  sizeof(x->d.contact_name));
  asr_strlcpy_cut(x->d.address, p->address ? p->address : "", sizeof(x->d.address));
  asr_strlcpy_cut(x->d.serial, p->serial ? p->serial : (p->key ? p->key : "?"),
                  sizeof(x->d.serial));
  asr_strlcpy_cut(x->d.model, p->model ? p->model : "", sizeof(x->d.model));
  return 1;
}

static int extra_supply(const cstore_rp_supply *p, void *ctx)
{
  extra_ctx *x = ctx;

  if (p->index != x->idx)
    return 0;
  x->found_supply = true;
  asr_strlcpy_cut(x->supply, p->description ? p->description : (p->type ? p->type : "supply"),
                  sizeof(x->supply));
  asr_strlcpy_cut(x->colorant, p->colorant ? p->colorant : "", sizeof(x->colorant));
  return 1;
}

static asr_result extra_check(const cengine_extra *x, char *err, size_t n)
{
  if (x->quantity < 1 || x->quantity > ASR_RP_QUANTITY_MAX) {
    asr_fmt_cut(err, n, "quantity %d is not from 1 to %d", x->quantity, ASR_RP_QUANTITY_MAX);
    return ASR_ERR_INVALID;
  }
  if ((x->job_from || x->job_to) && (x->job_to < x->job_from || x->job_to - x->job_from > 366)) {
    asr_fmt_cut(err, n, "the job window must end on or after its start, within a year");
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* Stores special order x (in the open transaction) and queues its mail. */
static asr_result extra_store(cstore *st, const cengine_extra *x, const extra_ctx *c,
                              const cengine_opts *o, int64_t *id)
{
  int64_t now = o && o->now > 0 ? o->now : 0, instance = 0;
  cstore_line_extra lx = {.job_from = x->job_from, .job_to = x->job_to};
  char key[96];
  asr_result r = cstore_order_add(st, c->d.site_id, c->d.contact_id, "extra", "extra", x->note,
                                  now / 86400, now, id);

  if (!r)
    r = cstore_order_line_add(st, *id, 1, c->d.id, x->supply, c->d.serial, x->quantity, "extra",
                              &lx);
  if (!r)
    r = cstore_rp_instance(st, &instance);
  if (!r && asr_fmt(key, sizeof(key), "%llx-order-%lld-created", (unsigned long long)instance,
                    (long long)*id))
    r = ASR_ERR_LIMIT;
  if (r)
    return r;
  cmail_line ml = {.serial = c->d.serial,
                   .model = nul_if_empty(c->d.model),
                   .supply = c->supply,
                   .colorant = nul_if_empty(c->colorant),
                   .quantity = x->quantity,
                   .reason = "extra"};
  cmail_notice m = {.kind = CMAIL_ORDER_CREATED,
                    .from =
                        o && o->mail_from && o->mail_from[0] ? o->mail_from : CENGINE_DEFAULT_FROM,
                    .to = c->d.contact,
                    .site = c->d.site,
                    .now = now,
                    .msgid_key = key,
                    .order_id = *id,
                    .lines = &ml,
                    .n_lines = 1,
                    .contact_name = nul_if_empty(c->d.contact_name),
                    .address = nul_if_empty(c->d.address),
                    .note = x->note};
  return queue_mail(st, &m, c->d.site_id, NULL);
}

asr_result cengine_extra_order(cstore *st, const cengine_extra *x, const cengine_opts *o,
                               int64_t *id, char *err, size_t n)
{
  asr_result r = extra_check(x, err, n);

  *id = 0;
  if (!r)
    r = cstore_tx_begin(st);
  if (r)
    return r;
  r = cengine_extra_order_in(st, x, o, id, err, n);
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  if (r && r != ASR_ERR_NOT_FOUND && r != ASR_ERR_INVALID &&
      asr_fmt(err, n, "%s", cstore_errmsg(st)) != ASR_OK)
    return r; /* the message cut short: what fits says it */
  return r;
}

asr_result cengine_extra_order_in(cstore *st, const cengine_extra *x, const cengine_opts *o,
                                  int64_t *id, char *err, size_t n)
{
  extra_ctx c = {.dev = x->device, .idx = x->supply};
  asr_result r = extra_check(x, err, n);

  *id = 0;
  if (r)
    return r;
  r = cstore_rp_devices(st, extra_device, &c);
  if (!r && c.found)
    r = cstore_rp_supplies(st, x->device, extra_supply, &c);
  if (!r && !c.found)
    asr_fmt_cut(err, n, "no device %lld", (long long)x->device);
  else if (!r && !c.found_supply)
    asr_fmt_cut(err, n, "the device has no supply %d", (int)x->supply);
  if (!r && (!c.found || !c.found_supply))
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = extra_store(st, x, &c, o, id);
  return r;
}

static int registered_cb(const cstore_contact *c, void *ctx)
{
  cmail_notice *m = ctx;

  m->to = strdup(c->email ? c->email : "");
  m->site = strdup(c->site ? c->site : "");
  m->contact_name = c->name && *c->name ? strdup(c->name) : NULL;
  m->address = c->address && *c->address ? strdup(c->address) : NULL;
  m->order_id = c->site_id; /* carried to the caller: the outbox row's site */
  return 1;
}

asr_result cengine_registered(cstore *st, int64_t contact, const cengine_opts *o, bool *queued)
{
  cmail_notice m = {.kind = CMAIL_REGISTERED,
                    .from =
                        o && o->mail_from && o->mail_from[0] ? o->mail_from : CENGINE_DEFAULT_FROM,
                    .now = o && o->now > 0 ? o->now : 0};
  cengine_report rep = {0};
  int64_t instance = 0, site = 0;
  char key[96];
  asr_result r = cstore_rp_instance(st, &instance);

  *queued = false;
  if (!r)
    r = cstore_contact_get(st, contact, registered_cb, &m);
  if (!r && (!m.to || !m.site))
    r = ASR_ERR_NOMEM;
  site = m.order_id;
  m.order_id = 0;
  if (!r && asr_fmt(key, sizeof(key), "%llx-registration-contact%lld", (unsigned long long)instance,
                    (long long)contact))
    r = ASR_ERR_LIMIT;
  m.msgid_key = key;
  if (!r)
    r = queue_mail(st, &m, site, &rep);
  *queued = !r && rep.mails == 1;
  free((char *)m.to);
  free((char *)m.site);
  free((char *)m.contact_name);
  free((char *)m.address);
  return r;
}
