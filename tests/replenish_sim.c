/* replenish_sim.c: drives the replenishment rules (replenish/) day by day through a
 * simulated fleet and checks the provider's promise (issue 6, section 4).
 *
 * The fleet: N devices (default 60) over 6 sites, two supplies contacts at some sites,
 * mono toner, colour toner and ink devices with known daily use: steady, weekly cycles
 * (nothing printed at weekends), usage spikes, one high-usage device, devices that go
 * silent (for good, or for two weeks), early replacements, missed daily reports. Before
 * day 0 a warm-up of 35 days builds the histories. Every day: deliveries arrive, printers
 * print (installing a delivered cartridge when one runs empty, or counting a stock-out),
 * they report their (integer) levels, the rules plan the day's orders, which ship at once
 * and arrive after --delivery days, and the notices are counted. The whole run is repeated
 * without consolidation to count the shipments that consolidation saved.
 *
 * Exit status 1 when an eligible, reporting device ran out of a supply, when an order was
 * placed more than 1 day away from its forecast crossing the trigger, or when consolidation
 * saved nothing. Usage: replenish_sim [--days N] [--devices N] [--delivery N] [--seed N]
 *   [--format table|json] [--no-check] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "replenish/rules.h"

#define MAX_DEV 200
#define MAX_SUP 5
#define WARMUP 35
#define MAX_DAYS 400
#define MAX_HIST (WARMUP + MAX_DAYS + 2)
#define MAX_PENDING 32
#define D0 20000 /* epoch day of simulated day 0 */
#define CAP 1000.0

enum profile { STEADY, WEEKLY, SPIKE, HIGH_USE };

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
} sim_supply;

typedef struct {
  char serial[32], site[16], contact[16];
  enum profile prof;
  double base;   /* units per day */
  int spike_day; /* day the use is multiplied by spike_factor */
  double spike_factor;
  int silent_from, silent_to; /* no reports in [from, to) */
  int early_day;              /* a cartridge replaced early that day, or -1 */
  int64_t last_report;
  unsigned sent;
  bool out_today;
  size_t n_sup;
  sim_supply sup[MAX_SUP];
} sim_device;

typedef struct {
  unsigned days, devices, delivery, seed;
  bool json, check;
} sim_opts;

typedef struct {
  long stockout_days, stockout_ineligible, orders, lines, cartridges, shipments;
  long trigger_lines, spike_lines, consolidated_lines;
  double max_trigger_error, max_spike_error;
  long notices_order, notices_disconnected, notices_final, early_replacements, unknown_stock,
      not_eligible;
  int shelf_max, shelf_total;
} sim_stats;

static uint64_t rng_state;

static double rnd(void)
{
  rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (double)((rng_state >> 33) & 0xffffff) / (double)0x1000000;
}

static void add_supply(sim_device *d, int type, const char *colorant, double factor)
{
  sim_supply *s = &d->sup[d->n_sup++];
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->colorant = colorant;
  s->factor = factor;
  s->level = CAP * (0.4 + 0.6 * rnd());
}

static void add_supplies(sim_device *d, unsigned i)
{
  static const char *colours[] = {"black", "cyan", "magenta", "yellow"};
  unsigned kind = i % 3; /* 0 mono toner, 1 colour toner, 2 ink */
  for (unsigned c = 0; c < (kind == 0 ? 1u : 4u); c++)
    add_supply(d, kind == 2 ? 6 : 3, colours[c], c == 0 ? 1.0 : 0.4 + 0.5 * rnd());
  if (kind != 2)
    add_supply(d, 4, NULL, 0.3); /* waste toner: remaining space */
}

/* The fleet: profiles by index, so every run has each kind of device. */
static void make_device(sim_device *d, unsigned i)
{
  memset(d, 0, sizeof(*d));
  (void)asr_fmt(d->serial, sizeof(d->serial), "SIM%04u", i);
  (void)asr_fmt(d->site, sizeof(d->site), "site-%u", i % 6 + 1);
  (void)asr_fmt(d->contact, sizeof(d->contact), "%s", i % 12 == 5 ? "b" : "a");
  d->prof = i % 4 == 1 ? WEEKLY : STEADY;
  d->base = 6.0 + 20.0 * rnd();
  d->spike_day = -1;
  d->silent_from = d->silent_to = MAX_DAYS + 1;
  d->early_day = -1;
  if (i == 7 || i == 26) {
    d->prof = SPIKE;
    d->spike_day = i == 7 ? 90 : 40;
    d->spike_factor = i == 7 ? 3.0 : 2.5;
  }
  if (i == 21) {
    d->prof = HIGH_USE;
    d->base = 400.0; /* 2.8 cartridges a week */
  }
  if (i == 30 || i == 31)
    d->silent_from = 100;
  if (i == 40) {
    d->silent_from = 60;
    d->silent_to = 75;
    d->base = 6.0;
  }
  if (i == 45 || i == 46)
    d->early_day = i == 45 ? 50 : 120;
  add_supplies(d, i);
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

/* The true average use around day (a week's mean), for the trigger error. */
static double true_rate(const sim_device *d, const sim_supply *s, int day)
{
  double sum = 0.0;
  for (int k = 0; k < 7; k++)
    sum += day_use(d, s, day - k);
  return sum / 7.0;
}

static bool reports(const sim_device *d, int day)
{
  if (day >= d->silent_from && day < d->silent_to)
    return false;
  return rnd() >= 0.05; /* 5 % of daily reports go missing */
}

static void install(sim_device *d, sim_supply *s, int day, double rest, sim_stats *st)
{
  if (s->shelf > 0) {
    s->shelf--;
    s->level = CAP - rest;
    return;
  }
  if (day < 0 || d->prof == HIGH_USE) { /* the customer's own cartridge (not ours) */
    s->level = CAP - rest;
    return;
  }
  s->level = 0.0;
  if (!d->out_today && d->prof != HIGH_USE && day < d->silent_from)
    st->stockout_days++;
  else if (!d->out_today)
    st->stockout_ineligible++;
  d->out_today = true;
}

static void print_day(sim_device *d, int day, sim_stats *st)
{
  d->out_today = false;
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    for (size_t p = 0; p < s->n_pend; p++)
      if (s->pend_day[p] == day) {
        s->shelf += s->pend_qty[p];
        s->pend_qty[p] = 0;
      }
    if (day == d->early_day && s->shelf > 0) {
      s->shelf--;
      s->level = CAP;
    }
    double use = day_use(d, s, day) * (0.9 + 0.2 * rnd());
    if (day == -1 && s->level < true_rate(d, s, day) * 30.0)
      s->level = CAP;
    if (s->level >= use)
      s->level -= use;
    else
      install(d, s, day, use - s->level, st);
  }
}

static void report_day(sim_device *d, int day, const asr_rp_conf *c, sim_stats *st)
{
  if (!reports(d, day))
    return;
  d->last_report = D0 + day;
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    double lv = floor(s->level + 0.5);
    if (s->n_hist > 0 && day >= 0) {
      asr_rp_jump j;
      asr_rp_jump_apply(s->hist[s->n_hist - 1].level, lv, CAP, &c->forecast, &s->stock, &j);
      st->early_replacements += j.early;
      st->unknown_stock += j.unknown_stock;
    }
    if (s->n_hist < MAX_HIST)
      s->hist[s->n_hist++] = (asr_rp_reading){.day = D0 + day, .level = lv};
  }
}

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

/* Compares an order line with the truth: true days left (level + stock) at the true rate. */
static void score_line(const sim_device *d, const sim_supply *s, const asr_rp_eval *e,
                       const asr_rp_line *l, int day, sim_stats *st)
{
  double rate = true_rate(d, s, day);
  double truth = (s->level + s->stock * CAP) / (rate > 0.0 ? rate : 1e-9);
  /* calendar days between this order and the day the true days left crossed the trigger */
  double err = truth <= e->trigger_at ? floor(e->trigger_at - truth) : ceil(truth - e->trigger_at);
  bool changed = d->prof == SPIKE && day >= d->spike_day && day < d->spike_day + 14;
  if (l->reason != ASR_RP_REASON_CONSOLIDATED && !e->due)
    return; /* a waste toner container shipped with a black toner */
  if (getenv("SIM_DEBUG") && l->reason != ASR_RP_REASON_CONSOLIDATED)
    fprintf(stderr, "score %s day %d sup %zu truth %.1f rate %.1f est %.1f eff %.1f\n", d->serial,
            day, l->supply, truth, rate, e->fc.daily_use, e->eff_days);
  if (l->reason == ASR_RP_REASON_TRIGGER && !changed) {
    st->trigger_lines++;
    if (err > st->max_trigger_error)
      st->max_trigger_error = err;
  } else if (l->reason == ASR_RP_REASON_SPIKE || changed) {
    st->spike_lines++;
    if (err > st->max_spike_error)
      st->max_spike_error = err;
  } else {
    st->consolidated_lines++;
  }
}

/* Ships one line: the engine's stock and covered date, the arrival after the delivery. */
static void ship_line(const asr_rp_conf *c, sim_device *dev, asr_rp_device *v, const asr_rp_line *l,
                      int day, unsigned delivery, sim_stats *st)
{
  sim_device *d = &dev[l->device];
  sim_supply *s = &d->sup[l->supply];
  asr_rp_eval e;
  if (asr_rp_eval_supply(c, &v[l->device].supplies[l->supply], D0 + day, &e) != ASR_OK)
    return;
  score_line(d, s, &e, l, day, st);
  if (getenv("SIM_HIST") && day == 0 && l->device == 21)
    for (size_t h = 0; h < s->n_hist; h++)
      fprintf(stderr, "%lld:%.0f ", (long long)s->hist[h].day - D0, s->hist[h].level);
  if (getenv("SIM_DEBUG"))
    fprintf(stderr, "day %d %s sup %zu q %d %s cpw %.2f eff %.1f use %.1f stock %d\n", day,
            d->serial, l->supply, l->quantity, asr_rp_reason_str(l->reason), e.cartridges_per_week,
            e.eff_days, e.fc.daily_use, s->stock);
  s->covered_until =
      asr_rp_covered_until(&e, &v[l->device].supplies[l->supply], l->quantity, D0 + day);
  s->stock += l->quantity;
  st->lines++;
  st->cartridges += l->quantity;
  size_t p = 0;
  while (p < s->n_pend && s->pend_qty[p] > 0)
    p++;
  if (p == MAX_PENDING)
    return;
  if (p == s->n_pend)
    s->n_pend++;
  s->pend_day[p] = day + (int)delivery;
  s->pend_qty[p] = l->quantity;
}

static int run_engine(const asr_rp_conf *c, sim_device *dev, size_t n, int day, unsigned delivery,
                      sim_stats *st)
{
  static asr_rp_device v[MAX_DEV];
  static asr_rp_supply vs[MAX_DEV][MAX_SUP];
  static asr_rp_order orders[MAX_DEV];
  static asr_rp_line lines[MAX_DEV * MAX_SUP * 2];
  asr_rp_plan plan = {
      .orders = orders, .max_orders = MAX_DEV, .lines = lines, .max_lines = MAX_DEV * MAX_SUP * 2};
  build_view(dev, n, v, vs);
  asr_result r = asr_rp_plan_day(c, v, n, D0 + day, &plan);
  if (r != ASR_OK) {
    fprintf(stderr, "replenish_sim: day %d: %s\n", day, asr_result_str(r));
    return 1;
  }
  for (size_t o = 0; o < plan.n_orders; o++)
    for (size_t l = 0; l < plan.orders[o].n_lines; l++)
      ship_line(c, dev, v, &lines[plan.orders[o].first_line + l], day, delivery, st);
  st->orders += (long)plan.n_orders;
  st->shipments += (long)plan.n_orders;
  st->notices_order += (long)plan.n_orders; /* "order created" to the site's contact */
  return 0;
}

static void count_notices(const asr_rp_conf *c, sim_device *dev, size_t n, int day, sim_stats *st,
                          bool *marked)
{
  for (size_t i = 0; i < n; i++) {
    asr_rp_notice k;
    do {
      k = asr_rp_notice_due(c, dev[i].last_report, D0 + day, &dev[i].sent);
      st->notices_disconnected += k == ASR_RP_NOTICE_DISCONNECTED;
      st->notices_final += k == ASR_RP_NOTICE_FINAL;
    } while (k != ASR_RP_NOTICE_NONE);
    if (!marked[i] && dev[i].n_sup > 0 && day % 7 == 0) {
      asr_rp_device v;
      asr_rp_supply vs[MAX_SUP];
      build_view(&dev[i], 1, &v, &vs);
      marked[i] = asr_rp_device_high_use(c, &v, D0 + day);
      st->not_eligible += marked[i]; /* reported once: "not eligible, high usage" */
    }
  }
}

static int simulate(const sim_opts *o, bool consolidate, sim_stats *st)
{
  static sim_device dev[MAX_DEV];
  bool marked[MAX_DEV] = {false};
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  c.consolidate = consolidate;
  rng_state = o->seed;
  memset(st, 0, sizeof(*st));
  for (unsigned i = 0; i < o->devices; i++)
    make_device(&dev[i], i);
  for (int day = -WARMUP; day < (int)o->days; day++) {
    for (unsigned i = 0; i < o->devices; i++) {
      print_day(&dev[i], day, st);
      report_day(&dev[i], day, &c, st);
    }
    if (day < 0)
      continue;
    if (run_engine(&c, dev, o->devices, day, o->delivery, st) != 0)
      return 1;
    count_notices(&c, dev, o->devices, day, st, marked);
  }
  for (unsigned i = 0; i < o->devices; i++) {
    int shelf = 0;
    for (size_t k = 0; k < dev[i].n_sup; k++)
      shelf += dev[i].sup[k].shelf;
    st->shelf_total += shelf;
    if (getenv("SIM_DEBUG"))
      fprintf(stderr, "%s shelf %d stock %d\n", dev[i].serial, shelf, dev[i].sup[0].stock);
    if (shelf > st->shelf_max)
      st->shelf_max = shelf;
  }
  return 0;
}

static int parse_opts(int argc, char **argv, sim_opts *o)
{
  *o = (sim_opts){.days = 180, .devices = 60, .delivery = 3, .seed = 42, .check = true};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    asr_result r = ASR_OK;
    if (strcmp(a, "--no-check") == 0) {
      o->check = false;
      continue;
    }
    if (strcmp(a, "--days") == 0)
      r = asr_parse_uint(v, 1, MAX_DAYS, &o->days);
    else if (strcmp(a, "--devices") == 0)
      r = asr_parse_uint(v, 1, MAX_DEV, &o->devices);
    else if (strcmp(a, "--delivery") == 0)
      r = asr_parse_uint(v, 0, 14, &o->delivery);
    else if (strcmp(a, "--seed") == 0)
      r = asr_parse_uint(v, 0, 4000000000u, &o->seed);
    else if (strcmp(a, "--format") == 0 && (strcmp(v, "json") == 0 || strcmp(v, "table") == 0))
      o->json = strcmp(v, "json") == 0;
    else
      r = ASR_ERR_USAGE;
    if (r != ASR_OK) {
      fprintf(stderr, "usage: replenish_sim [--days N] [--devices N] [--delivery N] "
                      "[--seed N] [--format table|json] [--no-check]\n");
      return 2;
    }
    i++;
  }
  return 0;
}

static void print_json(const sim_opts *o, const sim_stats *s, long without)
{
  printf("{\"days\":%u,\"devices\":%u,\"delivery_days\":%u,\"seed\":%u,"
         "\"stockout_days\":%ld,\"stockout_days_not_eligible_or_silent\":%ld,"
         "\"orders\":%ld,\"order_lines\":%ld,\"cartridges\":%ld,\"shipments\":%ld,"
         "\"shipments_without_consolidation\":%ld,\"trigger_lines\":%ld,"
         "\"spike_lines\":%ld,\"consolidated_lines\":%ld,\"max_trigger_error_days\":%.2f,"
         "\"max_spike_error_days\":%.2f,\"shelf_stock_total\":%d,\"shelf_stock_max\":%d,"
         "\"early_replacements\":%ld,\"replacements_not_from_stock\":%ld,"
         "\"notices\":{\"total\":%ld,\"order_created\":%ld,\"disconnected\":%ld,"
         "\"final\":%ld,\"not_eligible\":%ld}}\n",
         o->days, o->devices, o->delivery, o->seed, s->stockout_days, s->stockout_ineligible,
         s->orders, s->lines, s->cartridges, s->shipments, without, s->trigger_lines,
         s->spike_lines, s->consolidated_lines, s->max_trigger_error, s->max_spike_error,
         s->shelf_total, s->shelf_max, s->early_replacements, s->unknown_stock,
         s->notices_order + s->notices_disconnected + s->notices_final + s->not_eligible,
         s->notices_order, s->notices_disconnected, s->notices_final, s->not_eligible);
}

static void print_table(const sim_opts *o, const sim_stats *s, long without)
{
  printf("%-40s %u days, %u devices, delivery %u days\n", "simulation", o->days, o->devices,
         o->delivery);
  printf("%-40s %ld\n", "stock-out days (eligible, reporting)", s->stockout_days);
  printf("%-40s %ld\n", "stock-out days (high usage or silent)", s->stockout_ineligible);
  printf("%-40s %ld (%ld lines, %ld cartridges)\n", "orders", s->orders, s->lines, s->cartridges);
  printf("%-40s %ld (without consolidation %ld)\n", "shipments", s->shipments, without);
  printf("%-40s %ld trigger, %ld usage spike, %ld consolidated\n", "lines by reason",
         s->trigger_lines, s->spike_lines, s->consolidated_lines);
  printf("%-40s %.2f (usage spikes: %.2f)\n", "max trigger error (days)", s->max_trigger_error,
         s->max_spike_error);
  printf("%-40s %d total, %d max per device\n", "stock on the shelf at the end", s->shelf_total,
         s->shelf_max);
  printf("%-40s %ld early, %ld not from our stock\n", "replacements reported",
         s->early_replacements, s->unknown_stock);
  printf("%-40s %ld order created, %ld disconnected, %ld final, %ld not eligible\n", "notices",
         s->notices_order, s->notices_disconnected, s->notices_final, s->not_eligible);
}

static int check(const sim_stats *s, long without)
{
  int bad = 0;
  if (s->stockout_days != 0) {
    fprintf(stderr, "FAIL: %ld stock-out days on eligible reporting devices\n", s->stockout_days);
    bad = 1;
  }
  if (s->max_trigger_error > 1.0) {
    fprintf(stderr, "FAIL: trigger error %.2f days > 1\n", s->max_trigger_error);
    bad = 1;
  }
  if (s->shipments >= without) {
    fprintf(stderr, "FAIL: consolidation saved no shipment (%ld >= %ld)\n", s->shipments, without);
    bad = 1;
  }
  if (s->spike_lines == 0 || s->not_eligible == 0 || s->notices_final == 0 ||
      s->early_replacements == 0) {
    fprintf(stderr, "FAIL: a scenario did not happen (spike, high usage, final, early)\n");
    bad = 1;
  }
  return bad;
}

int main(int argc, char **argv)
{
  sim_opts o;
  sim_stats with, without;
  int r = parse_opts(argc, argv, &o);
  if (r != 0)
    return r;
  if (simulate(&o, false, &without) != 0 || simulate(&o, true, &with) != 0)
    return 1;
  if (o.json)
    print_json(&o, &with, without.shipments);
  else
    print_table(&o, &with, without.shipments);
  return o.check ? check(&with, without.shipments) : 0;
}
