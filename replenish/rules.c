/* rules.c: the ordering rules (docs/replenishment.md): trigger, quantity, waste toner with
 * black toner, consolidation per site and contact, no duplicates but usage spikes, high
 * usage, reporting states and disconnection notices.
 *
 * Why "days left counting the shipped stock" (eff_days) is the one trigger: a supply is
 * due when its level plus the cartridges already shipped to the device last no more than
 * the trigger. A shipment thus covers the need and no duplicate is ordered; when usage
 * rises so that level + stock run out sooner than forecast when the order was placed, the
 * same test fires again before the covered date, and that order is a usage spike. */
#include "replenish/rules.h"

#include <math.h>
#include <string.h>

#include "replenish/colorant.h"

/* The supply types that are ordered (RFC 3805 PrtMarkerSuppliesTypeTC). */
static const int32_t eligible_types[] = {
    3,  /* toner */
    4,  /* wasteToner */
    5,  /* ink */
    6,  /* inkCartridge */
    21, /* tonerCartridge */
};

#define TYPE_WASTE_TONER 4

void asr_rp_conf_default(asr_rp_conf *c)
{
  memset(c, 0, sizeof(*c));
  c->trigger_days = 21.0;
  c->cover_days = 30.0;
  c->consolidate = true;
  c->consolidate_days = 45;
  c->high_use_per_week = 2.0;
  c->high_use_weeks = 2;
  c->delivery_days = 3;
  c->spike_margin_days = 3;
  c->silent_days = 2;
  c->disconnect_days = 7;
  c->final_days = 30;
  c->retention_days = ASR_RP_RETENTION_DAYS;
  c->rollup_days = ASR_RP_ROLLUP_DAYS;
  asr_rp_forecast_conf_default(&c->forecast);
  c->n_overrides = 0;
}

static bool in_range(double v, double lo, double hi)
{
  return v >= lo && v <= hi; /* false for NaN */
}

static asr_result check_overrides(const asr_rp_conf *c)
{
  if (c->n_overrides > ASR_RP_OVERRIDES_MAX)
    return ASR_ERR_INVALID;
  for (size_t i = 0; i < c->n_overrides; i++)
    if (c->overrides[i].type <= 0 || !in_range(c->overrides[i].trigger_days, 1.0, 365.0))
      return ASR_ERR_INVALID;
  return ASR_OK;
}

asr_result asr_rp_conf_check(const asr_rp_conf *c)
{
  if (!in_range(c->trigger_days, 1.0, 365.0) || !in_range(c->cover_days, 1.0, 365.0))
    return ASR_ERR_INVALID;
  if (c->consolidate_days < 0 || c->consolidate_days > 365)
    return ASR_ERR_INVALID;
  if (!in_range(c->high_use_per_week, 0.1, 100.0))
    return ASR_ERR_INVALID;
  if (c->high_use_weeks < 1 || c->high_use_weeks > 12)
    return ASR_ERR_INVALID;
  if (c->delivery_days < 0 || c->delivery_days > 60)
    return ASR_ERR_INVALID;
  if (c->spike_margin_days < 0 || c->spike_margin_days > 60)
    return ASR_ERR_INVALID;
  if (c->disconnect_days < 7 || c->disconnect_days > 14)
    return ASR_ERR_INVALID;
  if (c->silent_days < 1 || c->silent_days > c->disconnect_days)
    return ASR_ERR_INVALID;
  if (c->final_days <= c->disconnect_days || c->final_days > 365)
    return ASR_ERR_INVALID;
  if (c->retention_days < ASR_RP_RETENTION_MIN || c->retention_days > ASR_RP_KEEP_MAX)
    return ASR_ERR_INVALID;
  if (c->rollup_days < ASR_RP_ROLLUP_MIN || c->rollup_days > ASR_RP_KEEP_MAX ||
      c->rollup_days < c->retention_days)
    return ASR_ERR_INVALID;
  if (check_overrides(c) != ASR_OK)
    return ASR_ERR_INVALID;
  return asr_rp_forecast_conf_check(&c->forecast);
}

bool asr_rp_type_eligible(int32_t type)
{
  for (size_t i = 0; i < sizeof(eligible_types) / sizeof(eligible_types[0]); i++)
    if (eligible_types[i] == type)
      return true;
  return false;
}

static bool is_toner(int32_t type)
{
  return type == 3 || type == 21; /* toner, tonerCartridge */
}

bool asr_rp_is_black_toner(int32_t type, const char *colorant)
{
  const char *std = asr_rp_colorant(NULL, colorant);

  return is_toner(type) && std != NULL && strcmp(std, "black") == 0;
}

bool asr_rp_supply_black_toner(const asr_rp_supply *s)
{
  const char *std = asr_rp_colorant(s->colorant_std, s->colorant);

  return is_toner(s->type) && std != NULL && strcmp(std, "black") == 0;
}

bool asr_rp_type_forecast_ordered(int32_t type)
{
  return asr_rp_type_eligible(type) && type != TYPE_WASTE_TONER;
}

double asr_rp_trigger_for(const asr_rp_conf *c, int32_t type)
{
  for (size_t i = 0; i < c->n_overrides && i < ASR_RP_OVERRIDES_MAX; i++)
    if (c->overrides[i].type == type)
      return c->overrides[i].trigger_days;
  return c->trigger_days;
}

asr_rp_dev_state asr_rp_device_state(const asr_rp_conf *c, const asr_rp_device *d, int64_t today)
{
  int64_t since = today - d->last_report;
  if (since >= c->disconnect_days)
    return ASR_RP_DISCONNECTED;
  if (since >= c->silent_days)
    return ASR_RP_SILENT;
  return ASR_RP_ACTIVE;
}

/* Cartridges of an order: cover_days of use at the daily use, in whole cartridges (at least
 * one). Why the stock is not subtracted: it was already counted in the trigger (the days left
 * counting the stock reached trigger_days), so it covers the days until the order arrives;
 * the order adds cover_days on top of them, and the next order comes cover_days later. */
static int cover_quantity(const asr_rp_conf *c, const asr_rp_supply *s, double use)
{
  double q = ceil(c->cover_days * use / s->capacity - 1e-9);

  return q < 1.0 ? 1 : q > ASR_RP_QUANTITY_MAX ? ASR_RP_QUANTITY_MAX : (int)q;
}

int64_t asr_rp_week_start(int64_t day)
{
  return day - (((day + 3) % 7) + 7) % 7; /* day 0, 1970-01-01, was a Thursday */
}

/* The index of the first reading on or after day (n when none): binary search. */
static size_t first_on_or_after(const asr_rp_reading *r, size_t n, int64_t day)
{
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r[mid].day < day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool asr_rp_week_cartridges(const asr_rp_supply *s, const asr_rp_conf *c, int64_t monday,
                            double *out)
{
  const asr_rp_reading *r = s->readings;
  double jump = c->forecast.jump_fraction * s->capacity, used[2] = {0.0, 0.0};
  int64_t covered = 0, usable[2] = {0, 0}, sunday = monday + 6;
  size_t i = first_on_or_after(r, s->n_readings, monday);

  *out = 0.0;
  for (i = i > 0 ? i : 1; i < s->n_readings && r[i - 1].day < sunday; i++) {
    int64_t a = r[i - 1].day, b = r[i].day; /* the step's use fell on days a+1 .. b */
    int64_t lo = a + 1 > monday ? a + 1 : monday, hi = b < sunday ? b : sunday;
    if (hi < lo || b <= a || r[i - 1].level <= 0.0 || r[i].level <= 0.0 ||
        asr_rp_step_excluded(a, b, s->excluded, s->n_excluded))
      continue; /* outside the week, days spent empty (it could not print), a print job */
    covered += hi - lo + 1;
    if (r[i].level - r[i - 1].level >= jump)
      continue; /* a replacement: its day's use is not known, the other days' rate stands */
    int k = b - a == 1 ? 0 : 1;
    used[k] += (r[i - 1].level - r[i].level) * (double)(hi - lo + 1) / (double)(b - a);
    usable[k] += hi - lo + 1;
  }
  /* the rate of the one-day steps when there are two: a longer step may hide a cartridge
   * replaced in between (700, a missing day, 500: 400 a day with a new cartridge, or 100) */
  int k = usable[0] >= 2 ? 0 : 1;
  if (k == 1) {
    used[1] += used[0];
    usable[1] += usable[0];
  }
  if (covered < ASR_RP_WEEK_MIN_DAYS || usable[k] < 2)
    return false;
  *out = (used[k] > 0.0 ? used[k] : 0.0) * 7.0 / (double)usable[k] / s->capacity;
  return true;
}

/* The weeks of rule 4 for one supply: the last high_use_weeks complete calendar weeks before
 * today; high use when every measured one reached high_use_per_week. */
static void judge_weeks(const asr_rp_conf *c, const asr_rp_supply *s, int64_t today, asr_rp_eval *e)
{
  int64_t monday = asr_rp_week_start(today) - 7; /* the last complete week */
  bool all_high = true;

  for (int w = 0; w < c->high_use_weeks; w++, monday -= 7) {
    double cart = 0.0;
    if (!asr_rp_week_cartridges(s, c, monday, &cart))
      continue;
    if (e->weeks_measured++ == 0)
      e->cartridges_per_week = cart;
    all_high = all_high && cart >= c->high_use_per_week;
  }
  e->high_use = e->weeks_measured > 0 && all_high;
}

static void eval_due(const asr_rp_conf *c, const asr_rp_supply *s, int64_t today, asr_rp_eval *e)
{
  double use = e->fc.daily_use;
  e->eff_days = e->fc.days_left + (double)s->stock * s->capacity / use;
  double wait = ceil(e->eff_days - e->trigger_at);
  e->trigger_day = today + (wait > 0.0 ? (int64_t)wait : 0);
  e->due = e->eff_days <= e->trigger_at;
  e->spike = e->due && s->covered_until > 0 && today < s->covered_until - c->spike_margin_days &&
             (s->covered_use <= 0.0 || use >= s->covered_use * c->forecast.spike_ratio);
  e->quantity = cover_quantity(c, s, use);
}

asr_result asr_rp_eval_supply(const asr_rp_conf *c, const asr_rp_supply *s, int64_t today,
                              asr_rp_eval *out)
{
  memset(out, 0, sizeof(*out));
  out->eff_days = ASR_RP_FOREVER;
  out->trigger_day = ASR_RP_NEVER;
  asr_result r = asr_rp_forecast_compute_ex(s->readings, s->n_readings, s->capacity, today,
                                            &c->forecast, s->excluded, s->n_excluded, &out->fc);
  if (r != ASR_OK)
    return r;
  out->eligible_type = asr_rp_type_eligible(s->type);
  out->trigger_at = asr_rp_trigger_for(c, s->type);
  if (asr_rp_type_forecast_ordered(s->type))
    judge_weeks(c, s, today, out);
  if (out->fc.valid && out->fc.days_left < ASR_RP_FOREVER)
    eval_due(c, s, today, out);
  return ASR_OK;
}

void asr_rp_judge(const asr_rp_conf *c, const asr_rp_device *d, int64_t today,
                  asr_rp_judgement *out)
{
  asr_rp_eval e;
  int64_t first = ASR_RP_NEVER;

  *out = (asr_rp_judgement){.ready_on = ASR_RP_NEVER};
  for (size_t i = 0; i < d->n_supplies; i++) {
    const asr_rp_supply *s = &d->supplies[i];
    if (!asr_rp_type_forecast_ordered(s->type) || asr_rp_eval_supply(c, s, today, &e) != ASR_OK)
      continue;
    if (s->n_readings > 0 && s->readings[0].day < first)
      first = s->readings[0].day;
    if (e.weeks_measured == 0)
      continue;
    out->measured = true;
    out->high_use = out->high_use || e.high_use;
    out->worst = e.cartridges_per_week > out->worst ? e.cartridges_per_week : out->worst;
  }
  out->judged = out->measured || d->judged;
  if (!out->measured)
    out->high_use = d->judged && d->high_use;
  if (!out->judged && first != ASR_RP_NEVER) {
    /* the first week it can be measured in: its own when enough of it follows the first
     * report; judged once that week has ended */
    int64_t m = asr_rp_week_start(first);
    out->ready_on = m + 6 - first >= ASR_RP_WEEK_MIN_DAYS ? m + 7 : m + 14;
  }
}

bool asr_rp_device_high_use(const asr_rp_conf *c, const asr_rp_device *d, int64_t today)
{
  asr_rp_judgement j;

  asr_rp_judge(c, d, today, &j);
  return j.high_use;
}

bool asr_rp_device_orderable(const asr_rp_conf *c, const asr_rp_device *d, int64_t today)
{
  asr_rp_judgement j;

  if (!d->enrolled || asr_rp_device_state(c, d, today) == ASR_RP_DISCONNECTED)
    return false;
  asr_rp_judge(c, d, today, &j);
  return j.judged && !j.high_use;
}

int64_t asr_rp_covered_until(const asr_rp_eval *e, const asr_rp_supply *s, int quantity,
                             int64_t today)
{
  if (!e->fc.valid || e->fc.days_left >= ASR_RP_FOREVER || e->fc.daily_use <= 0.0)
    return ASR_RP_NEVER;
  double after = e->eff_days + (double)quantity * s->capacity / e->fc.daily_use;
  double wait = floor(after - e->trigger_at);
  return today + (wait > 0.0 ? (int64_t)wait : 0);
}

asr_rp_notice asr_rp_notice_due(const asr_rp_conf *c, int64_t last_report, int64_t today,
                                unsigned *sent)
{
  int64_t since = today - last_report;
  if (since < c->disconnect_days) {
    *sent = 0;
    return ASR_RP_NOTICE_NONE;
  }
  if (!(*sent & ASR_RP_SENT_DISCONNECTED)) {
    *sent |= ASR_RP_SENT_DISCONNECTED;
    return ASR_RP_NOTICE_DISCONNECTED;
  }
  if (since >= c->final_days && !(*sent & ASR_RP_SENT_FINAL)) {
    *sent |= ASR_RP_SENT_FINAL;
    return ASR_RP_NOTICE_FINAL;
  }
  return ASR_RP_NOTICE_NONE;
}

const char *asr_rp_reason_str(asr_rp_reason r)
{
  switch (r) {
  case ASR_RP_REASON_TRIGGER:
    return "trigger";
  case ASR_RP_REASON_CONSOLIDATED:
    return "consolidated";
  case ASR_RP_REASON_SPIKE:
    return "usage spike";
  case ASR_RP_REASON_WASTE:
    return "with black toner";
  case ASR_RP_REASON_EXTRA:
    return "extra";
  }
  return "unknown";
}

const char *asr_rp_state_str(asr_rp_dev_state s)
{
  switch (s) {
  case ASR_RP_ACTIVE:
    return "active";
  case ASR_RP_SILENT:
    return "silent";
  case ASR_RP_DISCONNECTED:
    return "disconnected";
  }
  return "unknown";
}

/* ---- A day's plan ---------------------------------------------------------------- */

static const char *nz(const char *s)
{
  return s != NULL ? s : "";
}

static bool same_group(const asr_rp_device *a, const asr_rp_device *b)
{
  return strcmp(nz(a->site), nz(b->site)) == 0 && strcmp(nz(a->contact), nz(b->contact)) == 0;
}

/* True when d is orderable and one of its eligible supplies is due today. */
static bool device_due(const asr_rp_conf *c, const asr_rp_device *d, int64_t today)
{
  asr_rp_eval e;
  if (!asr_rp_device_orderable(c, d, today))
    return false;
  for (size_t i = 0; i < d->n_supplies; i++) {
    if (asr_rp_eval_supply(c, &d->supplies[i], today, &e) != ASR_OK)
      continue;
    if (asr_rp_type_forecast_ordered(d->supplies[i].type) && e.due)
      return true;
  }
  return false;
}

static asr_result push_line(asr_rp_plan *p, size_t dev, size_t sup, int q, asr_rp_reason why)
{
  if (p->n_lines >= p->max_lines)
    return ASR_ERR_LIMIT;
  p->lines[p->n_lines++] =
      (asr_rp_line){.device = dev, .supply = sup, .quantity = q, .reason = why};
  return ASR_OK;
}

/* Days a black toner of device d lasts after today's lines from line from (its days left
 * counting the stock, plus what is ordered): 0 when no black toner is ordered. */
static double black_horizon(const asr_rp_conf *c, const asr_rp_device *d, const asr_rp_plan *p,
                            size_t from, int64_t today)
{
  double days = 0.0;
  asr_rp_eval e;

  for (size_t l = from; l < p->n_lines; l++) {
    const asr_rp_supply *s = &d->supplies[p->lines[l].supply];
    if (!asr_rp_supply_black_toner(s) || asr_rp_eval_supply(c, s, today, &e) != ASR_OK ||
        !e.fc.valid || e.fc.daily_use <= 0.0)
      continue;
    double after = e.eff_days + (double)p->lines[l].quantity * s->capacity / e.fc.daily_use;
    days = after > days ? after : days;
  }
  return days;
}

/* Waste containers to ship with a black toner that lasts horizon days: as many as the
 * container will fill by then (its room left and the containers in stock counted), and at
 * least one when none is in stock, so that an empty container is at hand when the black
 * toner is changed. */
static int waste_quantity(const asr_rp_conf *c, const asr_rp_supply *w, double horizon,
                          int64_t today)
{
  asr_rp_eval e;
  double need = 0.0;

  if (asr_rp_eval_supply(c, w, today, &e) == ASR_OK && e.fc.valid && e.fc.daily_use > 0.0)
    need = ceil((horizon * e.fc.daily_use - e.fc.remaining - (double)w->stock * w->capacity) /
                    w->capacity -
                1e-9);
  if (need < 1.0 && w->stock <= 0)
    need = 1.0;
  return need > ASR_RP_QUANTITY_MAX ? ASR_RP_QUANTITY_MAX : (int)need;
}

/* Adds device dev's waste toner container line when its lines (from line from) carry black
 * toner: a waste container ships with black toner only (never on its own forecast). */
static asr_result add_waste(const asr_rp_conf *c, asr_rp_plan *p, const asr_rp_device *d,
                            size_t dev, size_t from, int64_t today)
{
  size_t waste = SIZE_MAX;
  double horizon = black_horizon(c, d, p, from, today);

  for (size_t i = 0; i < d->n_supplies && waste == SIZE_MAX; i++)
    if (d->supplies[i].type == TYPE_WASTE_TONER)
      waste = i;
  if (horizon <= 0.0 || waste == SIZE_MAX)
    return ASR_OK;
  int q = waste_quantity(c, &d->supplies[waste], horizon, today);
  return q > 0 ? push_line(p, dev, waste, q, ASR_RP_REASON_WASTE) : ASR_OK;
}

/* Adds the lines of device dev: its due supplies, and with soon its supplies whose own
 * trigger falls within consolidate_days; then the waste container of its black toner. */
static asr_result add_device(const asr_rp_conf *c, const asr_rp_device *d, size_t dev,
                             int64_t today, bool soon, asr_rp_plan *p)
{
  size_t from = p->n_lines;
  asr_rp_eval e;
  for (size_t i = 0; i < d->n_supplies; i++) {
    if (!asr_rp_type_forecast_ordered(d->supplies[i].type) ||
        asr_rp_eval_supply(c, &d->supplies[i], today, &e) != ASR_OK || e.quantity < 1)
      continue;
    asr_rp_reason why = e.spike ? ASR_RP_REASON_SPIKE : ASR_RP_REASON_TRIGGER;
    if (!e.due && !(soon && e.trigger_day <= today + c->consolidate_days))
      continue;
    asr_result r = push_line(p, dev, i, e.quantity, e.due ? why : ASR_RP_REASON_CONSOLIDATED);
    if (r != ASR_OK)
      return r;
  }
  return add_waste(c, p, d, dev, from, today);
}

/* Opens the order of leader: with consolidation every orderable device of its group. */
static asr_result add_order(const asr_rp_conf *c, const asr_rp_device *d, size_t n, size_t leader,
                            int64_t today, asr_rp_plan *p)
{
  asr_result r = ASR_OK;
  if (p->n_orders >= p->max_orders)
    return ASR_ERR_LIMIT;
  asr_rp_order *o = &p->orders[p->n_orders];
  *o = (asr_rp_order){.trigger_device = leader, .first_line = p->n_lines};
  for (size_t k = 0; k < n && r == ASR_OK; k++) {
    if (k == leader || (c->consolidate && same_group(&d[k], &d[leader]) &&
                        asr_rp_device_orderable(c, &d[k], today)))
      r = add_device(c, &d[k], k, today, c->consolidate, p);
  }
  if (r != ASR_OK)
    return r;
  o->n_lines = p->n_lines - o->first_line;
  if (o->n_lines > 0)
    p->n_orders++;
  return ASR_OK;
}

/* True when an earlier due device of the same group already opened today's order. */
static bool has_leader(const asr_rp_conf *c, const asr_rp_device *d, size_t i, int64_t today)
{
  if (!c->consolidate)
    return false;
  for (size_t j = 0; j < i; j++)
    if (same_group(&d[j], &d[i]) && device_due(c, &d[j], today))
      return true;
  return false;
}

asr_result asr_rp_plan_day(const asr_rp_conf *c, const asr_rp_device *d, size_t n, int64_t today,
                           asr_rp_plan *plan)
{
  plan->n_orders = 0;
  plan->n_lines = 0;
  if (asr_rp_conf_check(c) != ASR_OK || (n > 0 && d == NULL))
    return ASR_ERR_INVALID;
  for (size_t i = 0; i < n; i++) {
    if (!device_due(c, &d[i], today) || has_leader(c, d, i, today))
      continue;
    asr_result r = add_order(c, d, n, i, today, plan);
    if (r != ASR_OK)
      return r;
  }
  return ASR_OK;
}
