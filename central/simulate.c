/* simulate.c: `asr-central simulate`: a simulated fleet, day by day through the
 * replenishment rules (replenish/), checked against the provider's promise (issue 6).
 *
 * The fleet: N devices over S sites, a second supplies contact at some sites; mono toner,
 * colour toner and ink devices with known daily use: steady, weekly cycles (nothing
 * printed at weekends), two usage spikes, one high-usage device, devices that go silent
 * (for good, or for two weeks), early replacements, 5 % of daily reports missing. A
 * warm-up of 35 days builds the histories. Every day: deliveries arrive, printers print
 * (installing a delivered cartridge when one runs empty, or counting a stock-out), they
 * report their integer levels, the rules plan the day's orders, which ship at once and
 * arrive after the delivery time, and the notices are counted.
 *
 * Why the trigger error is measured against the TRUTH and not against the forecast: the
 * rules order when their own forecast crosses the trigger, so that comparison cannot fail.
 * The simulation knows each supply's true days left (level plus cartridges on the shelf
 * and in transit, at the true rate of use) and the day it crossed the trigger; an order
 * is scored by the printing days (days with use: a weekly cycle's weekends, when the
 * true days left do not move, are not counted) between it and that crossing, or, when
 * the order came first, the crossing still to come. Lines within 7 days after a change of
 * use, or after a silence, are counted apart: nobody can foresee those. */
#include "central/simulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "central/simengine.h"
#include "common/util.h"
#include "replenish/rules.h"

#define MAX_SUP 5
#define WARMUP 35
#define MAX_HIST (WARMUP + CSIM_MAX_DAYS + 2)
#define MAX_PENDING 32
#define D0 20000 /* epoch day of simulated day 0 */
#define CAP 1000.0
#define SETTLE 7 /* days after a change of use when its lines are counted apart */
#define NEVER (CSIM_MAX_DAYS * 4)

typedef enum { STEADY, WEEKLY, SPIKE, HIGH_USE } profile;

static const char *const profile_names[] = {"steady", "weekly", "spike", "high usage"};

typedef struct {
  int type;
  const char *colorant;
  double factor; /* share of the device's base use */
  double level;  /* true remaining */
  asr_rp_reading hist[MAX_HIST];
  size_t n_hist;
  int shelf;                 /* delivered, not installed */
  int stock;                 /* the engine's view: shipped, not installed */
  int64_t covered_until;     /* of the latest order line */
  int pend_day[MAX_PENDING]; /* arrivals in transit */
  int pend_qty[MAX_PENDING];
  size_t n_pend;
  bool early_done; /* replaced early once */
  int below_since; /* first day of the current run of true days left <= trigger, or -1 */
} sim_supply;

typedef struct {
  char serial[32], site[16], contact[16];
  profile prof;
  double base;   /* units per day */
  int spike_day; /* from that day the use is multiplied by spike_factor */
  double spike_factor;
  int silent_from, silent_to; /* no reports in [from, to) */
  int early_day; /* from that day, a cartridge with 30-70 % left is replaced early, or -1 */
  int64_t last_report;
  unsigned sent;
  bool out_today, high_use;
  long lines, cartridges, early, notices, stockouts;
  size_t n_sup;
  sim_supply sup[MAX_SUP];
} sim_device;

typedef struct {
  long stockout_days, stockout_ineligible, orders, lines, cartridges;
  long trigger_lines, changed_lines, consolidated_lines;
  double max_trigger_error, max_changed_error;
  long error_days[4]; /* trigger lines 0, 1, 2, >= 3 printing days from the crossing */
  long notices_order, notices_disconnected, notices_final, early_replacements, unknown_stock;
} sim_stats;

typedef struct {
  csim_opts o;
  asr_rp_conf c;
  unsigned long rng;
  sim_device *dev;
  asr_rp_device *v;
  asr_rp_supply (*vs)[MAX_SUP];
  asr_rp_order *orders;
  asr_rp_line *lines;
  sim_stats st;
  csime *eng;          /* engine mode: the run's database (simengine.h) */
  long eng_orders;     /* engine mode: orders read back day by day */
  long eng_mails;      /* engine mode: mails queued in the outbox */
  json_t *eng_notices; /* engine mode: the outbox's mails by kind */
  char why[512];
} sim_ctx;

void csim_opts_default(csim_opts *o)
{
  *o = (csim_opts){
      .days = 180, .devices = 60, .sites = 6, .delivery = 3, .seed = 42, .compare = true};
}

static double rnd(sim_ctx *x)
{
  x->rng = x->rng * 6364136223846793005ul + 1442695040888963407ul;
  return (double)((x->rng >> 33) & 0xffffff) / (double)0x1000000;
}

/* ---- The fleet ------------------------------------------------------------------- */

static void add_supply(sim_ctx *x, sim_device *d, int type, const char *colorant, double f)
{
  sim_supply *s = &d->sup[d->n_sup++];
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->colorant = colorant;
  s->factor = f;
  s->level = CAP * (0.4 + 0.6 * rnd(x));
  s->below_since = -1;
}

static void add_supplies(sim_ctx *x, sim_device *d, unsigned i)
{
  static const char *colours[] = {"black", "cyan", "magenta", "yellow"};
  unsigned kind = i % 3; /* 0 mono toner, 1 colour toner, 2 ink */
  for (unsigned c = 0; c < (kind == 0 ? 1u : 4u); c++)
    add_supply(x, d, kind == 2 ? 6 : 3, colours[c], c == 0 ? 1.0 : 0.4 + 0.5 * rnd(x));
  if (kind != 2)
    add_supply(x, d, 4, NULL, 0.3); /* waste toner: remaining space */
}

/* Index of a scenario device: its place in a fleet of 60, scaled to the fleet's size. */
static bool at(const sim_ctx *x, unsigned i, unsigned of60)
{
  return i == of60 * x->o.devices / 60;
}

/* The scenarios, placed by index and timed by the run's length (180 days: spikes on days
 * 40 and 90, silent for good from day 100, silent on days 60-74, early from 50 and 120). */
static void add_scenarios(const sim_ctx *x, sim_device *d, unsigned i)
{
  int n = (int)x->o.days;
  if (at(x, i, 7) || at(x, i, 26)) {
    d->prof = SPIKE;
    d->spike_day = at(x, i, 7) ? n / 2 : n * 2 / 9;
    d->spike_factor = at(x, i, 7) ? 3.0 : 2.5;
  }
  if (at(x, i, 21)) {
    d->prof = HIGH_USE;
    d->base = 400.0; /* 2.8 cartridges a week */
  }
  if (at(x, i, 30) || at(x, i, 31))
    d->silent_from = n * 5 / 9;
  if (at(x, i, 40)) {
    d->silent_from = n / 3;
    d->silent_to = n / 3 + 15;
    d->base = 6.0;
  }
  if (at(x, i, 45) || at(x, i, 46))
    d->early_day = at(x, i, 45) ? n * 5 / 18 : n * 2 / 3;
}

static void make_device(sim_ctx *x, sim_device *d, unsigned i)
{
  memset(d, 0, sizeof(*d));
  (void)asr_fmt(d->serial, sizeof(d->serial), "SIM%04u", i);
  (void)asr_fmt(d->site, sizeof(d->site), "site-%u", i % x->o.sites + 1);
  (void)asr_fmt(d->contact, sizeof(d->contact), "%s", i % 12 == 5 ? "b" : "a");
  d->prof = i % 4 == 1 ? WEEKLY : STEADY;
  d->base = 6.0 + 20.0 * rnd(x);
  d->spike_day = -1;
  d->silent_from = d->silent_to = NEVER;
  d->early_day = -1;
  add_scenarios(x, d, i);
  add_supplies(x, d, i);
}

/* Expected use of the day (units), before noise. */
static double day_use(const sim_device *d, const sim_supply *s, int day)
{
  double u = d->base * s->factor;
  if (d->prof == WEEKLY)
    u = ((day + 7 * WARMUP) % 7 >= 5) ? 0.0 : u * 7.0 / 5.0;
  if (d->prof == SPIKE && day >= d->spike_day)
    u *= d->spike_factor;
  return u;
}

/* The true rate of use on day: the mean of the last 7 days' expected use. */
static double true_rate(const sim_device *d, const sim_supply *s, int day)
{
  double sum = 0.0;
  for (int k = 0; k < 7; k++)
    sum += day_use(d, s, day - k);
  return sum > 0.0 ? sum / 7.0 : 1e-9;
}

/* ---- The truth ------------------------------------------------------------------- */

/* Cartridges of the supply on the shelf or in transit: the true stock. */
static int true_stock(const sim_supply *s)
{
  int n = s->shelf;
  for (size_t p = 0; p < s->n_pend; p++)
    n += s->pend_qty[p];
  return n;
}

/* True days of printing left at the end of day: level and stock at the true rate. */
static double true_days_left(const sim_device *d, const sim_supply *s, int day)
{
  return (s->level + true_stock(s) * CAP) / true_rate(d, s, day);
}

/* Days from day until the true days left reach the trigger, printing the known (noise
 * free) use of the coming days. */
static int days_to_cross(const sim_device *d, const sim_supply *s, int day, double trigger)
{
  double left = s->level + true_stock(s) * CAP;
  for (int k = 1; k < NEVER; k++) {
    left -= day_use(d, s, day + k);
    if (left / true_rate(d, s, day + k) <= trigger)
      return k;
  }
  return NEVER;
}

/* Days in (from, to] on which the device prints. */
static int printing_days(const sim_device *d, const sim_supply *s, int from, int to)
{
  int n = 0;
  for (int k = from + 1; k <= to; k++)
    n += day_use(d, s, k) > 0.0;
  return n;
}

/* Records, at the end of the day, when each supply's true days left crossed the trigger. */
static void track_truth(sim_device *d, int day, const asr_rp_conf *c)
{
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    if (true_days_left(d, s, day) > asr_rp_trigger_for(c, s->type))
      s->below_since = -1;
    else if (s->below_since < 0)
      s->below_since = day;
  }
}

/* ---- A day of printing and reporting ----------------------------------------------- */

static bool eligible_reporting(const sim_device *d, int day)
{
  return d->prof != HIGH_USE && day < d->silent_from;
}

static void install(sim_device *d, sim_supply *s, int day, double rest, sim_stats *st)
{
  if (s->shelf > 0 || day < 0 || d->prof == HIGH_USE) {
    s->shelf -= s->shelf > 0; /* ours, or the customer's own (warm-up, high usage) */
    s->level = CAP - rest;
    return;
  }
  s->level = 0.0;
  if (!d->out_today && eligible_reporting(d, day)) {
    st->stockout_days++;
    d->stockouts++;
  } else if (!d->out_today)
    st->stockout_ineligible++;
  d->out_today = true;
}

static void receive(sim_supply *s, int day)
{
  for (size_t p = 0; p < s->n_pend; p++)
    if (s->pend_qty[p] > 0 && s->pend_day[p] <= day) { /* delivery 0: the next morning */
      s->shelf += s->pend_qty[p];
      s->pend_qty[p] = 0;
    }
}

static void print_day(sim_ctx *x, sim_device *d, int day)
{
  d->out_today = false;
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    receive(s, day);
    if (d->early_day >= 0 && day >= d->early_day && !s->early_done && s->shelf > 0 &&
        s->level >= 0.3 * CAP && s->level <= 0.7 * CAP) {
      s->early_done = true; /* a visible jump: one with < 10 % used cannot be told apart */
      s->shelf--;
      s->level = CAP;
    }
    double use = day_use(d, s, day) * (0.9 + 0.2 * rnd(x));
    if (day == -10 && s->level < true_rate(d, s, day) * 35.0)
      s->level = CAP; /* the customer's own cartridge before the engine takes over */
    if (s->level >= use)
      s->level -= use;
    else
      install(d, s, day, use - s->level, &x->st);
  }
}

static bool reports(sim_ctx *x, const sim_device *d, int day)
{
  if (day >= d->silent_from && day < d->silent_to)
    return false;
  return rnd(x) >= 0.05; /* 5 % of daily reports go missing */
}

/* A reading after a jump up: one cartridge of the device's stock is consumed; early when
 * the old one, used at the forecast rate since its last reading, still had plenty left. */
static void see_jump(sim_ctx *x, sim_device *d, sim_supply *s, int day, double lv)
{
  asr_rp_forecast f;
  asr_rp_jump j;
  const asr_rp_reading *last = &s->hist[s->n_hist - 1];
  double used = -1.0; /* too little history: never early */
  if (asr_rp_forecast_compute(s->hist, s->n_hist, CAP, D0 + day, &x->c.forecast, &f) == ASR_OK &&
      f.valid)
    used = f.daily_use * (double)(D0 + day - last->day);
  asr_rp_jump_apply_used(last->level, lv, CAP, used, &x->c.forecast, &s->stock, &j);
  d->early += j.early;
  x->st.early_replacements += j.early;
  x->st.unknown_stock += j.unknown_stock;
}

/* The level a printer reports: an integer, and with --gauge-error a fuel gauge that counts
 * the use of its cartridge that many percent off. */
static double reported(const sim_ctx *x, double level)
{
  double lv = CAP - (CAP - level) * (1.0 + x->o.gauge_error / 100.0);
  return floor(fmin(fmax(lv, 0.0), CAP) + 0.5);
}

static void report_day(sim_ctx *x, sim_device *d, int day)
{
  if (!reports(x, d, day))
    return;
  d->last_report = D0 + day;
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    double lv = reported(x, s->level);
    if (s->n_hist > 0 && day >= 0)
      see_jump(x, d, s, day, lv);
    if (s->n_hist < MAX_HIST)
      s->hist[s->n_hist++] = (asr_rp_reading){.day = D0 + day, .level = lv};
  }
}

/* ---- The engine -------------------------------------------------------------------- */

static void build_view(sim_device *dev, size_t n, asr_rp_device *v, asr_rp_supply (*vs)[MAX_SUP])
{
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < dev[i].n_sup; k++) {
      sim_supply *s = &dev[i].sup[k];
      vs[i][k] = (asr_rp_supply){.type = s->type,
                                 .colorant = s->colorant,
                                 .capacity = CAP,
                                 .readings = s->hist,
                                 .n_readings = s->n_hist,
                                 .stock = s->stock,
                                 .covered_until = s->covered_until};
    }
    v[i] = (asr_rp_device){.serial = dev[i].serial,
                           .site = dev[i].site,
                           .contact = dev[i].contact,
                           .enrolled = true,
                           .last_report = dev[i].last_report,
                           .supplies = vs[i],
                           .n_supplies = dev[i].n_sup};
  }
}

/* Scores an order line against the day the supply's true days left crossed the trigger. */
static void score_line(const sim_device *d, const sim_supply *s, const asr_rp_eval *e,
                       const asr_rp_line *l, int day, sim_stats *st)
{
  int from = s->below_since >= 0 ? s->below_since : day;
  bool changed = (d->prof == SPIKE && day >= d->spike_day && day < d->spike_day + SETTLE) ||
                 (from <= d->silent_to && day >= d->silent_from);
  if (l->reason == ASR_RP_REASON_CONSOLIDATED) {
    st->consolidated_lines++;
    return;
  }
  if (!e->due)
    return; /* a waste toner container shipped with a black toner */
  double err = s->below_since >= 0
                   ? printing_days(d, s, s->below_since, day)
                   : printing_days(d, s, day, day + days_to_cross(d, s, day, e->trigger_at));
  if (l->reason == ASR_RP_REASON_TRIGGER && !changed) {
    st->trigger_lines++;
    st->max_trigger_error = fmax(st->max_trigger_error, err);
    st->error_days[err < 3.0 ? (int)err : 3]++;
  } else {
    st->changed_lines++;
    st->max_changed_error = fmax(st->max_changed_error, err);
  }
}

/* Ships one line: the engine's stock and covered date, the arrival after the delivery. */
static void ship_line(sim_ctx *x, const asr_rp_line *l, int day)
{
  sim_device *d = &x->dev[l->device];
  sim_supply *s = &d->sup[l->supply];
  const asr_rp_supply *vs = &x->v[l->device].supplies[l->supply];
  asr_rp_eval e;
  if (asr_rp_eval_supply(&x->c, vs, D0 + day, &e) != ASR_OK)
    return;
  score_line(d, s, &e, l, day, &x->st);
  s->covered_until = asr_rp_covered_until(&e, vs, l->quantity, D0 + day);
  s->stock += l->quantity;
  d->lines++;
  d->cartridges += l->quantity;
  x->st.lines++;
  x->st.cartridges += l->quantity;
  size_t p = 0;
  while (p < s->n_pend && s->pend_qty[p] > 0)
    p++;
  if (p == MAX_PENDING)
    return;
  if (p == s->n_pend)
    s->n_pend++;
  s->pend_day[p] = day + (int)x->o.delivery;
  s->pend_qty[p] = l->quantity;
}

static asr_result run_engine(sim_ctx *x, int day)
{
  size_t n = x->o.devices;
  asr_rp_plan plan = {
      .orders = x->orders, .max_orders = n, .lines = x->lines, .max_lines = n * MAX_SUP * 2};
  build_view(x->dev, n, x->v, x->vs);
  asr_result r = asr_rp_plan_day(&x->c, x->v, n, D0 + day, &plan);
  if (r != ASR_OK)
    return r;
  for (size_t o = 0; o < plan.n_orders; o++)
    for (size_t l = 0; l < plan.orders[o].n_lines; l++)
      ship_line(x, &x->lines[plan.orders[o].first_line + l], day);
  x->st.orders += (long)plan.n_orders;
  x->st.notices_order += (long)plan.n_orders; /* "order created" to the site's contact */
  return ASR_OK;
}

/* Engine mode: the real engine's day over the store; its orders ship like the rules'. */
static asr_result run_store_engine(sim_ctx *x, int day)
{
  size_t n = x->o.devices;
  asr_rp_plan plan = {
      .orders = x->orders, .max_orders = n, .lines = x->lines, .max_lines = n * MAX_SUP * 2};
  asr_result r = csime_run_day(x->eng, x->v, n, D0 + day, (int)x->o.delivery, &plan);
  if (r != ASR_OK) {
    (void)asr_fmt(x->why, sizeof(x->why), "the engine on day %d: %s", day, asr_result_str(r));
    return r;
  }
  for (size_t o = 0; o < plan.n_orders; o++)
    for (size_t l = 0; l < plan.orders[o].n_lines; l++)
      ship_line(x, &x->lines[plan.orders[o].first_line + l], day);
  x->eng_orders += (long)plan.n_orders;
  return ASR_OK;
}

/* Engine mode, morning and evening of a day: deliveries, then the reports into the store. */
static asr_result store_day(sim_ctx *x, int day, bool morning)
{
  asr_result r;
  if (morning)
    return csime_deliver(x->eng, D0 + day);
  build_view(x->dev, x->o.devices, x->v, x->vs);
  r = csime_report(x->eng, x->v, x->o.devices, D0 + day);
  if (r != ASR_OK)
    (void)asr_fmt(x->why, sizeof(x->why), "storing the reports of day %d: %s", day,
                  asr_result_str(r));
  return r;
}

/* Engine mode, after the last day: what the engine did, read back from the store. */
static asr_result engine_totals(sim_ctx *x)
{
  csime_totals t;
  bool *high = calloc(x->o.devices, sizeof(*high));
  asr_result r = high ? csime_totals_get(x->eng, x->v, x->o.devices, &t, high) : ASR_ERR_NOMEM;
  if (r == ASR_OK && t.orders != x->eng_orders) {
    (void)asr_fmt(x->why, sizeof(x->why), "the store holds %ld orders, the days made %ld", t.orders,
                  x->eng_orders);
    r = ASR_ERR_INVALID;
  }
  if (r == ASR_OK) {
    x->st.orders = t.orders;
    x->st.early_replacements = t.early;
    x->eng_mails = t.mails;
    json_decref(x->eng_notices);
    x->eng_notices = t.notices_by_kind;
    t.notices_by_kind = NULL;
    for (size_t i = 0; i < x->o.devices; i++)
      x->dev[i].high_use = high[i];
  }
  if (high && r != ASR_OK)
    json_decref(t.notices_by_kind);
  free(high);
  return r;
}

/* Disconnection notices (each once, asr_rp_notice_due) and the high-usage marks. */
static void count_notices(sim_ctx *x, int day)
{
  for (size_t i = 0; i < x->o.devices; i++) {
    sim_device *d = &x->dev[i];
    asr_rp_notice k;
    do {
      k = asr_rp_notice_due(&x->c, d->last_report, D0 + day, &d->sent);
      x->st.notices_disconnected += k == ASR_RP_NOTICE_DISCONNECTED;
      x->st.notices_final += k == ASR_RP_NOTICE_FINAL;
      d->notices += k != ASR_RP_NOTICE_NONE;
    } while (k != ASR_RP_NOTICE_NONE);
    if (!d->high_use)
      d->high_use = asr_rp_device_high_use(&x->c, &x->v[i], D0 + day); /* marked for good */
  }
}

/* One day: deliveries, printing, reports; from day 0 the truth, the orders, the notices. */
static asr_result sim_day(sim_ctx *x, int day)
{
  asr_result r = x->eng ? store_day(x, day, true) : ASR_OK;
  for (unsigned i = 0; r == ASR_OK && i < x->o.devices; i++) {
    print_day(x, &x->dev[i], day);
    report_day(x, &x->dev[i], day);
  }
  if (r == ASR_OK && x->eng)
    r = store_day(x, day, false);
  if (r != ASR_OK || day < 0)
    return r;
  for (unsigned i = 0; i < x->o.devices; i++)
    track_truth(&x->dev[i], day, &x->c);
  if (x->eng)
    return run_store_engine(x, day);
  r = run_engine(x, day);
  if (r == ASR_OK)
    count_notices(x, day);
  return r;
}

static asr_result simulate(sim_ctx *x, bool consolidate)
{
  asr_result r = ASR_OK;
  asr_rp_conf_default(&x->c);
  x->c.consolidate = consolidate;
  x->rng = x->o.seed;
  x->eng_orders = 0;
  memset(&x->st, 0, sizeof(x->st));
  for (unsigned i = 0; i < x->o.devices; i++)
    make_device(x, &x->dev[i], i);
  if (x->o.engine) {
    build_view(x->dev, x->o.devices, x->v, x->vs);
    r = csime_open(x->o.keep_db, consolidate ? "simulate" : "simulate-no-consolidation", &x->c,
                   x->v, x->o.devices, (int64_t)(D0 - WARMUP - 1) * 86400, &x->eng, x->why,
                   sizeof(x->why));
  }
  for (int day = -WARMUP; r == ASR_OK && day < (int)x->o.days; day++)
    r = sim_day(x, day);
  if (r == ASR_OK && x->eng)
    r = engine_totals(x);
  csime_close(x->eng);
  x->eng = NULL;
  return r;
}

/* ---- The report -------------------------------------------------------------------- */

/* Cartridges on the shelf of each supply: {"black": 1, "waste": 3, ...}. */
static json_t *shelf_json(const sim_device *d)
{
  json_t *o = json_object();
  for (size_t k = 0; o != NULL && k < d->n_sup; k++) {
    const sim_supply *s = &d->sup[k];
    if (json_object_set_new(o, s->colorant ? s->colorant : "waste", json_integer(s->shelf))) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

static json_t *device_json(const sim_ctx *x, const sim_device *d)
{
  int shelf = 0, stock = 0;
  int64_t today = D0 + (int64_t)x->o.days - 1;
  for (size_t k = 0; k < d->n_sup; k++) {
    shelf += d->sup[k].shelf;
    stock += d->sup[k].stock;
  }
  asr_rp_device v = {.last_report = d->last_report};
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:o,s:i,s:I,s:I,s:I,s:I,s:I}", "serial", d->serial,
                   "site", d->site, "contact", d->contact, "profile", profile_names[d->prof],
                   "state", asr_rp_state_str(asr_rp_device_state(&x->c, &v, today)), "high_usage",
                   d->high_use, "shelf_stock", shelf, "shelf_by_supply", shelf_json(d),
                   "stock_believed", stock, "order_lines", (json_int_t)d->lines, "cartridges",
                   (json_int_t)d->cartridges, "early_replacements", (json_int_t)d->early, "notices",
                   (json_int_t)d->notices, "stockout_days", (json_int_t)d->stockouts);
}

static json_t *devices_json(const sim_ctx *x, long *high, int *shelf_total, int *shelf_max)
{
  json_t *arr = json_array();
  for (size_t i = 0; arr != NULL && i < x->o.devices; i++) {
    json_t *o = device_json(x, &x->dev[i]);
    int shelf = o ? (int)json_integer_value(json_object_get(o, "shelf_stock")) : 0;
    *high += x->dev[i].high_use;
    *shelf_total += shelf;
    *shelf_max = shelf > *shelf_max ? shelf : *shelf_max;
    if (o == NULL || json_array_append_new(arr, o) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static json_t *notices_json(const sim_stats *s)
{
  return json_pack("{s:I,s:I,s:I,s:I}", "order_created", (json_int_t)s->notices_order,
                   "order_shipped", (json_int_t)s->notices_order, "disconnected",
                   (json_int_t)s->notices_disconnected, "final", (json_int_t)s->notices_final);
}

static json_t *counts_json(const sim_stats *s, long mails)
{
  return json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:I}", "stockout_days",
      (json_int_t)s->stockout_days, "stockout_days_not_eligible_or_silent",
      (json_int_t)s->stockout_ineligible, "orders", (json_int_t)s->orders, "shipments",
      (json_int_t)s->orders, "order_lines", (json_int_t)s->lines, "cartridges",
      (json_int_t)s->cartridges, "trigger_lines", (json_int_t)s->trigger_lines, "changed_lines",
      (json_int_t)s->changed_lines, "max_trigger_error_days", s->max_trigger_error,
      "max_changed_error_days", s->max_changed_error, "consolidated_lines",
      (json_int_t)s->consolidated_lines, "notices",
      (json_int_t)(mails >= 0 ? mails
                              : 2 * s->notices_order + s->notices_disconnected + s->notices_final),
      "replacements_not_from_stock", (json_int_t)s->unknown_stock);
}

static json_t *report_json(const sim_ctx *x, long without)
{
  long high = 0;
  int total = 0, max = 0;
  json_t *r = counts_json(&x->st, x->o.engine ? x->eng_mails : -1);
  json_t *devs = devices_json(x, &high, &total, &max);
  json_t *opts =
      json_pack("{s:i,s:i,s:i,s:i,s:I,s:i}", "days", (int)x->o.days, "devices", (int)x->o.devices,
                "sites", (int)x->o.sites, "delivery_days", (int)x->o.delivery, "seed",
                (json_int_t)x->o.seed, "gauge_error_percent", x->o.gauge_error);
  if (r == NULL || devs == NULL || opts == NULL || json_object_update(r, opts) != 0 ||
      json_object_set_new(r, "shipments_without_consolidation",
                          without >= 0 ? json_integer(without) : json_null()) != 0 ||
      json_object_set_new(r, "mode", json_string(x->o.engine ? "engine" : "rules")) != 0 ||
      json_object_set_new(r, "notices_by_kind",
                          x->o.engine ? json_deep_copy(x->eng_notices) : notices_json(&x->st)) !=
          0 ||
      json_object_set_new(
          r, "trigger_lines_by_error_days",
          json_pack("[I,I,I,I]", (json_int_t)x->st.error_days[0], (json_int_t)x->st.error_days[1],
                    (json_int_t)x->st.error_days[2], (json_int_t)x->st.error_days[3])) != 0 ||
      json_object_set_new(r, "early_replacements", json_integer(x->st.early_replacements)) != 0 ||
      json_object_set_new(r, "high_usage_devices", json_integer(high)) != 0 ||
      json_object_set_new(r, "shelf_stock_total", json_integer(total)) != 0 ||
      json_object_set_new(r, "shelf_stock_max", json_integer(max)) != 0 ||
      json_object_set_new(r, "per_device", devs) != 0) {
    json_decref(r);
    r = NULL;
  }
  json_decref(opts);
  return r;
}

static asr_result check_opts(const csim_opts *o)
{
  if (o->days < 1 || o->days > CSIM_MAX_DAYS || o->devices < 1 || o->devices > CSIM_MAX_DEVICES ||
      o->sites < 1 || o->sites > 50 || o->delivery > 30)
    return ASR_ERR_INVALID;
  return ASR_OK;
}

static asr_result ctx_alloc(sim_ctx *x, const csim_opts *o)
{
  size_t n = o->devices;
  memset(x, 0, sizeof(*x));
  x->o = *o;
  x->dev = calloc(n, sizeof(*x->dev));
  x->v = calloc(n, sizeof(*x->v));
  x->vs = calloc(n, sizeof(*x->vs));
  x->orders = calloc(n, sizeof(*x->orders));
  x->lines = calloc(n * MAX_SUP * 2, sizeof(*x->lines));
  if (!x->dev || !x->v || !x->vs || !x->orders || !x->lines)
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

static void ctx_free(sim_ctx *x)
{
  json_decref(x->eng_notices);
  free(x->dev);
  free(x->v);
  free(x->vs);
  free(x->orders);
  free(x->lines);
}

asr_result csim_run(const csim_opts *o, json_t **report, char *why, size_t why_len)
{
  sim_ctx x;
  long without = -1;
  *report = NULL;
  why[0] = '\0';
  if (check_opts(o) != ASR_OK) {
    (void)asr_fmt(why, why_len, "options out of range");
    return ASR_ERR_INVALID;
  }
  asr_result r = ctx_alloc(&x, o);
  if (r == ASR_OK && o->compare) {
    r = simulate(&x, false);
    without = x.st.orders;
  }
  if (r == ASR_OK)
    r = simulate(&x, true);
  if (r == ASR_OK) {
    *report = report_json(&x, without);
    r = *report ? ASR_OK : ASR_ERR_NOMEM;
  }
  if (r != ASR_OK)
    (void)asr_fmt(why, why_len, "%s", x.why[0] ? x.why : asr_result_str(r));
  ctx_free(&x);
  return r;
}

/* ---- Promises, options and the table --------------------------------------------- */

static json_int_t num(const json_t *r, const char *key)
{
  return json_integer_value(json_object_get(r, key));
}

bool csim_broken(const json_t *r, char *why, size_t n)
{
  size_t len = 0;
  const json_t *without = json_object_get(r, "shipments_without_consolidation");
  double err = json_real_value(json_object_get(r, "max_trigger_error_days"));
  why[0] = '\0';
  if (num(r, "stockout_days") != 0)
    asr_append(why, n, &len, "%lld stock-out days on eligible reporting devices; ",
               (long long)num(r, "stockout_days"));
  if (err > 1.0)
    asr_append(why, n, &len, "an order %.0f printing days away from its trigger (> 1); ", err);
  if (json_is_integer(without) && num(r, "shipments") >= json_integer_value(without))
    asr_append(why, n, &len, "consolidation saved no shipment (%lld >= %lld); ",
               (long long)num(r, "shipments"), (long long)json_integer_value(without));
  if (len >= 2)
    why[len - 2] = '\0';
  return len > 0;
}

static asr_result parse_one(const char *a, const char *v, csim_opts *o)
{
  if (strcmp(a, "--days") == 0)
    return asr_parse_uint(v, 1, CSIM_MAX_DAYS, &o->days);
  if (strcmp(a, "--devices") == 0)
    return asr_parse_uint(v, 1, CSIM_MAX_DEVICES, &o->devices);
  if (strcmp(a, "--sites") == 0)
    return asr_parse_uint(v, 1, 50, &o->sites);
  if (strcmp(a, "--delivery") == 0)
    return asr_parse_uint(v, 0, 30, &o->delivery);
  if (strcmp(a, "--seed") == 0)
    return asr_parse_uint(v, 0, 4000000000u, &o->seed);
  if (strcmp(a, "--gauge-error") == 0) {
    int64_t g = 0;
    asr_result r = asr_parse_i64(v, -50, 50, &g);
    o->gauge_error = (int)g;
    return r;
  }
  if (strcmp(a, "--keep-db") == 0 && v[0] != '\0') {
    o->keep_db = v;
    return ASR_OK;
  }
  if (strcmp(a, "--format") == 0 && (strcmp(v, "json") == 0 || strcmp(v, "table") == 0)) {
    o->json = strcmp(v, "json") == 0;
    return ASR_OK;
  }
  return ASR_ERR_USAGE;
}

asr_result csim_parse_args(int argc, char **argv, csim_opts *o, char *why, size_t why_len)
{
  csim_opts_default(o);
  why[0] = '\0';
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-consolidation-compare") == 0 || strcmp(argv[i], "--engine") == 0) {
      o->compare = o->compare && strcmp(argv[i], "--engine") == 0;
      o->engine = o->engine || strcmp(argv[i], "--engine") == 0;
      continue;
    }
    if (i + 1 >= argc || strncmp(argv[i], "--", 2) != 0) {
      (void)asr_fmt(why, why_len, "'%s': unknown option or missing value", argv[i]);
      return ASR_ERR_USAGE;
    }
    if (parse_one(argv[i], argv[i + 1], o) != ASR_OK) {
      (void)asr_fmt(why, why_len, "%s: '%s' is not valid (see asr-central(8))", argv[i],
                    argv[i + 1]);
      return ASR_ERR_USAGE;
    }
    i++;
  }
  if (o->keep_db && !o->engine) {
    (void)asr_fmt(why, why_len, "--keep-db needs --engine");
    return ASR_ERR_USAGE;
  }
  return ASR_OK;
}

static void table_devices(const json_t *r, char *b, size_t n, size_t *len)
{
  size_t i;
  json_t *d;
  asr_append(b, n, len, "\n%-8s %-8s %-3s %-10s %-12s %5s %5s %6s %5s %5s %7s\n", "SERIAL", "SITE",
             "CT", "PROFILE", "STATE", "SHELF", "LINES", "CARTR.", "EARLY", "HIGH", "NOTICES");
  json_array_foreach(json_object_get(r, "per_device"), i, d)
  {
    asr_append(b, n, len, "%-8s %-8s %-3s %-10s %-12s %5lld %5lld %6lld %5lld %5s %7lld\n",
               json_string_value(json_object_get(d, "serial")),
               json_string_value(json_object_get(d, "site")),
               json_string_value(json_object_get(d, "contact")),
               json_string_value(json_object_get(d, "profile")),
               json_string_value(json_object_get(d, "state")), (long long)num(d, "shelf_stock"),
               (long long)num(d, "order_lines"), (long long)num(d, "cartridges"),
               (long long)num(d, "early_replacements"),
               json_is_true(json_object_get(d, "high_usage")) ? "yes" : "-",
               (long long)num(d, "notices"));
  }
}

static void table_counts(const json_t *r, char *b, size_t n, size_t *len)
{
  const json_t *w = json_object_get(r, "shipments_without_consolidation");
  const json_t *nk = json_object_get(r, "notices_by_kind");
  asr_append(
      b, n, len, "%-40s %lld days, %lld devices, %lld sites, delivery %lld days, seed %lld\n",
      "simulation", (long long)num(r, "days"), (long long)num(r, "devices"),
      (long long)num(r, "sites"), (long long)num(r, "delivery_days"), (long long)num(r, "seed"));
  asr_append(b, n, len, "%-40s %s\n", "driven through",
             json_is_string(json_object_get(r, "mode")) &&
                     strcmp(json_string_value(json_object_get(r, "mode")), "engine") == 0
                 ? "the engine over a temporary database (--engine)"
                 : "the rules only (replenish/)");
  if (num(r, "gauge_error_percent") != 0)
    asr_append(b, n, len, "%-40s %lld %%\n", "fuel gauges off by",
               (long long)num(r, "gauge_error_percent"));
  asr_append(b, n, len, "%-40s %lld\n", "stock-out days (eligible, reporting)",
             (long long)num(r, "stockout_days"));
  asr_append(b, n, len, "%-40s %lld\n", "stock-out days (high usage or silent)",
             (long long)num(r, "stockout_days_not_eligible_or_silent"));
  asr_append(b, n, len, "%-40s %lld (%lld lines, %lld cartridges)\n", "orders",
             (long long)num(r, "orders"), (long long)num(r, "order_lines"),
             (long long)num(r, "cartridges"));
  if (json_is_integer(w))
    asr_append(b, n, len, "%-40s %lld (without consolidation %lld)\n", "shipments",
               (long long)num(r, "shipments"), (long long)json_integer_value(w));
  else
    asr_append(b, n, len, "%-40s %lld (not compared)\n", "shipments",
               (long long)num(r, "shipments"));
  asr_append(b, n, len, "%-40s %lld trigger, %lld after a change, %lld consolidated\n",
             "lines by reason", (long long)num(r, "trigger_lines"),
             (long long)num(r, "changed_lines"), (long long)num(r, "consolidated_lines"));
  asr_append(b, n, len, "%-40s %.0f (after a change of use or a silence: %.0f)\n",
             "max trigger error (printing days)",
             json_real_value(json_object_get(r, "max_trigger_error_days")),
             json_real_value(json_object_get(r, "max_changed_error_days")));
  const json_t *h = json_object_get(r, "trigger_lines_by_error_days");
  asr_append(b, n, len, "%-40s %lld on the day, %lld at 1, %lld at 2, %lld at 3 or more\n",
             "trigger lines by error (printing days)",
             (long long)json_integer_value(json_array_get(h, 0)),
             (long long)json_integer_value(json_array_get(h, 1)),
             (long long)json_integer_value(json_array_get(h, 2)),
             (long long)json_integer_value(json_array_get(h, 3)));
  asr_append(b, n, len, "%-40s %lld total, %lld max per device\n", "stock on the shelf at the end",
             (long long)num(r, "shelf_stock_total"), (long long)num(r, "shelf_stock_max"));
  asr_append(b, n, len, "%-40s %lld early, %lld not from our stock\n", "replacements reported",
             (long long)num(r, "early_replacements"),
             (long long)num(r, "replacements_not_from_stock"));
  asr_append(b, n, len, "%-40s %lld\n", "high-usage devices (not eligible)",
             (long long)num(r, "high_usage_devices"));
  asr_append(b, n, len, "%-40s %lld: %lld created, %lld shipped, %lld disconnected, %lld final\n",
             "notices", (long long)num(r, "notices"), (long long)num(nk, "order_created"),
             (long long)num(nk, "order_shipped"), (long long)num(nk, "disconnected"),
             (long long)num(nk, "final"));
}

char *csim_table(const json_t *r)
{
  size_t n = 4096 + 128 * json_array_size(json_object_get(r, "per_device")), len = 0;
  char *b = malloc(n);
  if (b == NULL)
    return NULL;
  b[0] = '\0';
  table_counts(r, b, n, &len);
  table_devices(r, b, n, &len);
  return b;
}
