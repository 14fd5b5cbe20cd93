/* engine.c: the daily replenishment engine (engine.h, docs/replenishment.md).
 *
 * Reading order: loading the fleet from the store into memory (devices, supplies, daily
 * remaining levels), replacements consuming stock, the day's orders and their mails, the
 * disconnection notices, the day itself, and the warehouse steps.
 *
 * Why in memory: the rules consolidate across every device of a site and contact, so the
 * whole fleet's histories are needed at once; a fleet of thousands of devices with 120
 * days of 4 supplies is a few megabytes. Everything the day decides is written in one
 * transaction together with the day itself: a crash leaves either the whole day or none
 * of it, and a second run on the same day finds the day stored and adds nothing. */
#include "central/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/mail.h"
#include "common/device.h"
#include "common/log.h"
#include "common/util.h"

#define TYPE_CODE_MAX 64 /* PrtMarkerSuppliesTypeTC codes tried when mapping a name */

typedef struct {
  int32_t index, type;
  char colorant[CSTORE_NAME_MAX], desc[CSTORE_NAME_MAX];
  double capacity;
  bool percent_only; /* no usable max: levels are percents of 100 */
  int64_t stock, installed_new, jumps_day, last_day, covered_until;
  asr_rp_reading *r;
  size_t n, cap;
  bool oom;
} eng_supply;

typedef struct {
  int64_t id, site_id, last_reading_at, agent_last_seen, last_report_day;
  char site[CSTORE_NAME_MAX], contact[CSTORE_NAME_MAX], serial[CSTORE_NAME_MAX];
  char model[CSTORE_NAME_MAX], ip[CSTORE_NAME_MAX];
  bool high_use_stored, high_use;
  unsigned notices;
  eng_supply *sup;
  size_t n_sup, cap_sup;
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
  asr_rp_device *rdev;
  cengine_report *rep;
  bool oom;
} eng;

static void say(const eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line of the report to the caller (and the log at INFO), control characters of
 * printer-sent strings replaced. */
static void say(const eng *e, const char *fmt, ...)
{
  char line[1024];
  va_list ap;

  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  for (char *c = line; *c; c++) /* printer-sent text: no control characters */
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
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
  asr_strlcpy(s->colorant, p->colorant ? p->colorant : "", sizeof(s->colorant));
  asr_strlcpy(s->desc, p->description ? p->description : (p->type ? p->type : "supply"),
              sizeof(s->desc));
  s->percent_only = !p->has_max || p->max <= 0;
  s->capacity = s->percent_only ? 100.0 : (double)p->max;
  s->stock = p->ordered - p->installed;
  s->jumps_day = p->jumps_day;
  s->covered_until = p->covered_until;
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
  d->notices = p->notices;
  asr_strlcpy(d->site, p->site ? p->site : "", sizeof(d->site));
  asr_strlcpy(d->contact, p->contact ? p->contact : "", sizeof(d->contact));
  asr_strlcpy(d->serial, p->serial ? p->serial : (p->key ? p->key : "?"), sizeof(d->serial));
  asr_strlcpy(d->model, p->model ? p->model : "", sizeof(d->model));
  asr_strlcpy(d->ip, p->ip ? p->ip : "", sizeof(d->ip));
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

static asr_result load_device(eng *e, eng_device *d)
{
  asr_result r = cstore_rp_supplies(e->st, d->id, add_supply, d);

  if (!r && d->oom)
    r = ASR_ERR_NOMEM;
  for (size_t i = 0; !r && i < d->n_sup; i++) {
    r = cstore_rp_daily_levels(e->st, d->id, d->sup[i].index, e->today - lookback(e->c), e->today,
                               add_level, &d->sup[i]);
    if (!r && d->sup[i].oom)
      r = ASR_ERR_NOMEM;
  }
  d->last_report_day = last_report_day(d);
  d->rsup = calloc(d->n_sup ? d->n_sup : 1, sizeof(*d->rsup));
  if (!r && !d->rsup)
    r = ASR_ERR_NOMEM;
  return r;
}

static asr_result load_fleet(eng *e)
{
  asr_result r = cstore_rp_devices(e->st, add_device, e);

  if (!r && e->oom)
    r = ASR_ERR_NOMEM;
  for (size_t i = 0; !r && i < e->n_dev; i++)
    r = load_device(e, &e->dev[i]);
  if (!r) {
    e->rdev = calloc(e->n_dev ? e->n_dev : 1, sizeof(*e->rdev));
    if (!e->rdev)
      r = ASR_ERR_NOMEM;
  }
  return r;
}

static void free_fleet(eng *e)
{
  for (size_t i = 0; i < e->n_dev; i++) {
    for (size_t k = 0; k < e->dev[i].n_sup; k++)
      free(e->dev[i].sup[k].r);
    free(e->dev[i].sup);
    free(e->dev[i].rsup);
  }
  free(e->dev);
  free(e->rdev);
}

/* ---- Replacements ------------------------------------------------------------------- */

/* The use forecast from the readings before r[i] for the days between r[i - 1] and r[i]:
 * what the old cartridge lost before it was taken out (as simulate.c's see_jump does); -1
 * when its history is too short for a forecast (never called early, asr_rp_jump_apply_used). */
static double used_before(const eng *e, const eng_supply *s, size_t i)
{
  asr_rp_forecast f;

  if (s->r[i].level <= s->r[i - 1].level)
    return 0.0; /* no jump up: nothing to judge */
  if (asr_rp_forecast_compute(s->r, i, s->capacity, s->r[i].day, &e->c->forecast, &f) != ASR_OK ||
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
  return r;
}

/* Checks the readings after jumps_day for replacements: each consumes one cartridge of the
 * device's stock; early ones and cartridges not shipped by us are recorded.
 *
 * Why today is checked but not settled: today's level is the newest reading so far, and a
 * cartridge may still be replaced later today (after a mid-day `replenish --now` or a
 * restart). Today's jumps count in today's plan (in memory) and their events are stored
 * (once each), but only days before today are stored as checked, with the stock they
 * consumed: tomorrow's run checks today's final level again and settles it. */
static asr_result apply_jumps(eng *e, eng_device *d, eng_supply *s)
{
  int stock = s->stock > 0 ? (int)(s->stock > 1000 ? 1000 : s->stock) : 0;
  int before = stock, settled = stock;
  int64_t done = s->last_day < e->today ? s->last_day : e->today - 1;
  /* a supply never checked before: its history before yesterday is not judged (those
   * replacements predate the engine and no shipped stock can have gone into them) */
  int64_t from = s->jumps_day >= 0 ? s->jumps_day : e->today - 2;
  asr_result r = ASR_OK;

  for (size_t i = 1; !r && i < s->n; i++) {
    asr_rp_jump j;
    if (s->r[i].day <= from)
      continue;
    asr_rp_jump_apply_used(s->r[i - 1].level, s->r[i].level, s->capacity, used_before(e, s, i),
                           &e->c->forecast, &stock, &j);
    r = jump_events(e, d, s, i, &j);
    if (s->r[i].day <= done)
      settled = stock;
  }
  s->stock -= before - stock; /* today's plan knows today's replacements */
  if (r || s->n == 0 || done <= from)
    return r;
  s->installed_new = before - settled;
  return cstore_rp_stock_update(e->st, d->id, s->index, s->installed_new, done);
}

/* The rules' view of the fleet (after the replacements). */
static void build_rules_view(eng *e)
{
  for (size_t i = 0; i < e->n_dev; i++) {
    eng_device *d = &e->dev[i];
    for (size_t k = 0; k < d->n_sup; k++) {
      eng_supply *s = &d->sup[k];
      d->rsup[k] =
          (asr_rp_supply){.type = s->type,
                          .colorant = s->colorant[0] ? s->colorant : NULL,
                          .capacity = s->capacity,
                          .readings = s->r,
                          .n_readings = s->n,
                          .stock = s->stock > 0 ? (int)(s->stock > 1000 ? 1000 : s->stock) : 0,
                          .covered_until = s->covered_until};
    }
    e->rdev[i] = (asr_rp_device){.serial = d->serial,
                                 .site = d->site,
                                 .contact = d->contact,
                                 .enrolled = d->last_reading_at > 0,
                                 .last_report = d->last_report_day,
                                 .supplies = d->rsup,
                                 .n_supplies = d->n_sup};
  }
}

/* Marks and reports the devices that use too much to be eligible (rules.h). */
static void mark_high_use(eng *e)
{
  for (size_t i = 0; i < e->n_dev; i++) {
    eng_device *d = &e->dev[i];
    /* the mark stays once set: a device starved of toner shows no use, yet uses too much */
    d->high_use =
        d->high_use_stored || (d->n_sup > 0 && asr_rp_device_high_use(e->c, &e->rdev[i], e->today));
    if (d->high_use) {
      e->rep->high_use++;
      e->rdev[i].enrolled = false; /* the rules order nothing for it */
    }
    if (d->high_use && !d->high_use_stored)
      say(e, "high use: %s (site %s) is not eligible: not ordered for", d->serial, d->site);
  }
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

/* Covered date of a line of q cartridges of supply k of device d ordered today. */
static int64_t line_covered(const eng *e, const eng_device *d, size_t k, int q)
{
  asr_rp_eval ev;

  if (asr_rp_eval_supply(e->c, &d->rsup[k], e->today, &ev) != ASR_OK)
    return e->today;
  return asr_rp_covered_until(&ev, &d->rsup[k], q, e->today);
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
    r = cstore_order_line_add(e->st, id, (int)k + 1, d->id, s->index, d->serial, l->quantity, why,
                              line_covered(e, d, l->supply, l->quantity));
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
    r = cstore_order_add(e->st, lead->site_id, lead->contact, asr_rp_reason_str(order_reason(p, o)),
                         e->today, e->now, &id);
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
                    .n_lines = o->n_lines};
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

/* Which notices are due for device d today (bits), updating its sent flags. */
static unsigned notices_due(const eng *e, eng_device *d)
{
  unsigned due = 0;

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
  return due;
}

/* Mails one notice of kind bit to the contact of device i's site naming every device of
 * that site for which it is due (clearing their bits in due[]). */
static asr_result site_notice(eng *e, size_t i, unsigned bit, unsigned *due)
{
  const eng_device *lead = &e->dev[i];
  cmail_device *md = calloc(e->n_dev, sizeof(*md));
  int64_t newest = 0;
  char key[96];
  size_t n = 0;
  asr_result r = md ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t j = i; !r && j < e->n_dev; j++) {
    const eng_device *d = &e->dev[j];
    if (!(due[j] & bit) || d->site_id != lead->site_id || strcmp(d->contact, lead->contact))
      continue;
    due[j] &= ~bit;
    md[n++] = (cmail_device){.serial = d->serial,
                             .model = nul_if_empty(d->model),
                             .ip = nul_if_empty(d->ip),
                             .last_report = d->last_reading_at};
    newest = d->last_report_day > newest ? d->last_report_day : newest;
  }
  bool final = bit == ASR_RP_SENT_FINAL;
  if (!r)
    r = asr_fmt(key, sizeof(key), "%llx-%s-site%lld-day%lld", (unsigned long long)e->instance,
                final ? "final" : "disconnected", (long long)lead->site_id, (long long)e->today);
  if (!r) {
    cmail_notice m = {.kind = final ? CMAIL_FINAL : CMAIL_DISCONNECTED,
                      .from = e->from,
                      .to = lead->contact,
                      .site = lead->site,
                      .now = e->now,
                      .msgid_key = key,
                      .devices = md,
                      .n_devices = n,
                      .silent_days = (int)(e->today - newest)};
    say(e, "%s notice to %s (site %s): %zu devices, first %s", final ? "final" : "disconnection",
        lead->contact, lead->site, n, lead->serial);
    e->rep->notices++;
    r = queue_mail(e->st, &m, lead->site_id, e->rep);
  }
  free(md);
  return r;
}

static asr_result send_notices(eng *e)
{
  unsigned *due = calloc(e->n_dev ? e->n_dev : 1, sizeof(*due));
  static const unsigned bits[] = {ASR_RP_SENT_DISCONNECTED, ASR_RP_SENT_FINAL};
  asr_result r = due ? ASR_OK : ASR_ERR_NOMEM;

  for (size_t i = 0; !r && i < e->n_dev; i++)
    due[i] = notices_due(e, &e->dev[i]);
  for (size_t b = 0; b < 2; b++)
    for (size_t i = 0; !r && i < e->n_dev; i++)
      if (due[i] & bits[b])
        r = site_notice(e, i, bits[b], due);
  free(due);
  return r;
}

/* ---- The day ------------------------------------------------------------------------ */

static asr_result store_flags(eng *e, const unsigned *before)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < e->n_dev; i++) {
    const eng_device *d = &e->dev[i];
    if (d->high_use != d->high_use_stored || d->notices != before[i])
      r = cstore_rp_device_set(e->st, d->id, d->high_use, e->today, d->notices);
  }
  return r;
}

/* Everything of the day inside the open transaction. */
static asr_result run_in_tx(eng *e)
{
  unsigned *before = NULL;
  asr_result r = cstore_rp_instance(e->st, &e->instance);

  if (!r)
    r = load_fleet(e);

  for (size_t i = 0; !r && i < e->n_dev; i++)
    for (size_t k = 0; !r && k < e->dev[i].n_sup; k++)
      r = apply_jumps(e, &e->dev[i], &e->dev[i].sup[k]);
  if (r)
    return r;
  e->rep->devices = e->n_dev;
  build_rules_view(e);
  mark_high_use(e);
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
  if (!r)
    r = cstore_rp_set_last_day(e->st, e->today);
  free(before);
  return r;
}

asr_result cengine_run_day(cstore *st, const asr_rp_conf *c, int64_t today, const cengine_opts *o,
                           cengine_report *rep)
{
  eng e = {.st = st, .c = c, .o = o, .today = today, .rep = rep};
  int64_t last = -1;
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
  r = cstore_rp_last_day(st, &last);
  if (!r && last >= today) {
    rep->already_ran = true;
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

/* The mail of a step, composed while the order's lines are at hand. */
typedef struct {
  cstore *st;
  cmail_notice n;
  int64_t site_id;
  asr_result r;
} step_mail;

static int step_mail_cb(const cstore_order_row *o, void *ctx)
{
  step_mail *m = ctx;
  cmail_line *ml = calloc(o->n_lines ? o->n_lines : 1, sizeof(*ml));

  if (!ml) {
    m->r = ASR_ERR_NOMEM;
    return 1;
  }
  for (size_t k = 0; k < o->n_lines; k++)
    ml[k] = (cmail_line){.serial = o->lines[k].serial,
                         .supply = o->lines[k].supply,
                         .colorant = o->lines[k].colorant,
                         .quantity = o->lines[k].quantity,
                         .reason = o->lines[k].reason};
  m->n.lines = ml;
  m->n.n_lines = o->n_lines;
  m->r = queue_mail(m->st, &m->n, m->site_id, NULL);
  free(ml);
  return 1;
}

/* Queues the mail of step (none for a delivery) of the order h. */
static asr_result step_notice(cstore *st, const cstore_order_head *h, cengine_step step,
                              const char *from, int64_t now)
{
  char key[96];
  int64_t instance = 0;
  step_mail m = {.st = st, .site_id = h->site_id};

  if (step == CENGINE_DELIVER)
    return ASR_OK;
  asr_result r = cstore_rp_instance(st, &instance);
  if (r)
    return r;
  m.n = (cmail_notice){.kind = CMAIL_ORDER_BACKORDERED,
                       .from = from,
                       .to = h->contact,
                       .site = h->site,
                       .now = now,
                       .msgid_key = key,
                       .order_id = h->id};
  if (step == CENGINE_SHIP)
    m.n.kind = h->was_backordered ? CMAIL_ORDER_SHIPPED_AFTER_BACKORDER : CMAIL_ORDER_SHIPPED;
  if (asr_fmt(key, sizeof(key), "%llx-order-%lld-%s", (unsigned long long)instance,
              (long long)h->id, steps[step].name))
    return ASR_ERR_LIMIT;
  r = cstore_order_get(st, h->id, step_mail_cb, &m);
  return r ? r : m.r;
}

static bool step_allowed(cengine_step step, const char *state)
{
  for (size_t i = 0; i < 2; i++)
    if (steps[step].from[i] && strcmp(steps[step].from[i], state) == 0)
      return true;
  return false;
}

asr_result cengine_order_step(cstore *st, int64_t id, cengine_step step, const cengine_opts *o,
                              char *err, size_t n)
{
  cstore_order_head h;
  int64_t now = o && o->now > 0 ? o->now : 0;
  const char *from = o && o->mail_from && o->mail_from[0] ? o->mail_from : CENGINE_DEFAULT_FROM;
  asr_result r = (size_t)step < N_STEPS ? cstore_tx_begin(st) : ASR_ERR_INVALID;

  if (r)
    return r;
  r = cstore_order_head_get(st, id, &h);
  if (r == ASR_ERR_NOT_FOUND)
    asr_fmt(err, n, "no order %lld", (long long)id);
  if (!r && !step_allowed(step, h.state)) {
    asr_fmt(err, n, "order %lld is %s: cannot %s it", (long long)id, h.state, steps[step].name);
    r = ASR_ERR_INVALID;
  }
  if (!r)
    r = cstore_order_set_state(st, id, steps[step].to, now);
  if (!r)
    r = step_notice(st, &h, step, from, now);
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  if (r && r != ASR_ERR_NOT_FOUND && r != ASR_ERR_INVALID)
    asr_fmt(err, n, "%s", cstore_errmsg(st));
  return r;
}
