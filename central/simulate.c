/* simulate.c: `asr-central simulate`: a simulated fleet, day by day through the
 * replenishment rules (replenish/), checked against every promise of the service (issues 6
 * and 11, docs/replenishment.md "Simulation").
 *
 * The fleet: N devices over S sites with two supplies contacts at each site; mono toner,
 * colour toner and ink devices with known daily use: steady, weekly cycles (nothing printed
 * at weekends), two usage spikes, one high-usage device, one whose weeks alternate between
 * heavy and light use, one heavy for three weeks then light, devices that go silent (for
 * good, or for two weeks), early replacements, customers' own cartridges put in while our
 * box is on its way, a special order for a print job, printers that name black "Black",
 * "schwarz" or "BK", 5 % of daily reports missing. A warm-up of 35 days builds the
 * histories. Every day: deliveries arrive, printers print (installing a delivered cartridge
 * when one runs empty, or counting a stock-out), they report their integer levels, the rules
 * plan the day's orders, which ship at once and arrive after the delivery time, and the
 * notices are counted.
 *
 * Why the promises are measured against the TRUTH and not against the forecast: the rules
 * order when their own forecast crosses the trigger, so that comparison cannot fail. The
 * simulation knows each supply's true days left (level plus cartridges on the shelf and in
 * transit, at the true rate of use), its true use per calendar week, the cartridges really
 * on each shelf and which were the customer's own. An order is scored by the printing days
 * between it and the true crossing; each line's quantity against 30 days of true use; each
 * order against the supplies of its group whose true crossing falls within 45 days; the
 * books (delivered - installed) against the true shelves. Lines within 7 days after a change
 * of use, or after a silence, are counted apart: nobody can foresee those. */
#include "central/simulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "central/cdb.h"
#include "central/simengine.h"
#include "common/util.h"
#include "replenish/rules.h"

#define MAX_SUP 5
#define WARMUP 35
#define MAX_HIST (WARMUP + CSIM_MAX_DAYS + 2)
#define MAX_PENDING 32
#define D0 20000 /* epoch day of simulated day 0 (a Friday) */
#define CAP 1000.0
#define SETTLE 7 /* days after a change of use when its lines are counted apart */
#define NEVER (CSIM_MAX_DAYS * 4)
#define COVER_TOLERANCE 0.10 /* the 30 days of a line within this much of the true use */
#define CONSOLIDATE_MARGIN 3 /* days of forecast error allowed at the window's end */

typedef enum { STEADY, WEEKLY, SPIKE, HIGH_USE, ALTERNATING, HOT_THEN_COLD } profile;

static const char *const profile_names[] = {"steady",     "weekly",      "spike",
                                            "high usage", "alternating", "hot, then cold"};

typedef struct {
  int type;
  const char *colorant;     /* as the printer names it */
  const char *colorant_std; /* as the agent reports it (NULL: an agent that does not) */
  double factor;            /* share of the device's base use */
  double level;             /* true remaining */
  asr_rp_reading hist[MAX_HIST];
  size_t n_hist;
  int shelf;                 /* true: our cartridges delivered, not installed */
  int books;                 /* the rules' books: delivered - installed, as the engine keeps them */
  int stock;                 /* the rules' view: ordered, not installed */
  int64_t covered_until;     /* of the latest ASR order line */
  double covered_use;        /* ... the daily use it was ordered for */
  int pend_day[MAX_PENDING]; /* arrivals in transit */
  int pend_qty[MAX_PENDING];
  size_t n_pend;
  bool early_done;   /* replaced early once */
  int own_swaps;     /* customer's own cartridges put in while ours was on its way */
  int below_since;   /* first day of the current run of true days left <= trigger, or -1 */
  int extra;         /* special-order cartridges not used yet (true) */
  int extra_ordered; /* ... ordered (the rules' books) */
  int extra_used;    /* ... that went in on the job's days, as the engine counts them */
  int installs;      /* cartridges put in since its last report (true) */
  int ours_today;    /* cartridges of ours put in today (true) */
  int invisible;     /* replacements no reading could show (two between two readings) */
  double shelf_days; /* most days of use ever on the shelf */
} sim_supply;

typedef struct {
  char serial[32], site[16], contact[16];
  profile prof;
  double base;   /* units per day */
  int spike_day; /* from that day the use is multiplied by spike_factor */
  double spike_factor;
  int silent_from, silent_to; /* no reports in [from, to) */
  int early_day; /* from that day, a cartridge with 30-70 % left is replaced early, or -1 */
  int own_mode;  /* customer's own cartridge while ours is in transit: 1 early, 2 when low */
  int cold_day;  /* HOT_THEN_COLD: light from that day */
  int extra_day; /* a special order on that day (job from extra_day + 4, 5 days), or -1 */
  int job_from, job_to;
  asr_rp_window job;    /* its job window in epoch days */
  int eligible_day;     /* the day it was judged eligible again after high use, or -1 */
  asr_rp_window win[2]; /* the days left out of its learned rate (the rules' view) */
  size_t n_win;
  int64_t last_report;
  int last_day; /* the day being simulated (for the view's reservations) */
  unsigned sent;
  bool out_today;
  bool judged, high_use; /* the rules' (or the engine's) marks */
  bool waiting; /* no delivery of ours yet (first, or since high use): its own cartridges */
  long lines, cartridges, early, notices, stockouts, named;
  double used; /* cartridges of its ordered supplies truly used while served by ASR */
  size_t n_sup;
  sim_supply sup[MAX_SUP];
} sim_device;

typedef struct {
  long stockout_days, stockout_ineligible, orders, lines, cartridges;
  long trigger_lines, changed_lines, consolidated_lines, waste_lines;
  double max_trigger_error, max_changed_error;
  long error_days[4]; /* trigger lines 0, 1, 2, >= 3 printing days from the crossing */
  long notices_order, notices_disconnected, notices_final, early_replacements;
  long notices_registration, notices_not_eligible, notices_eligible;
  long unknown_eligible, unknown_ineligible; /* replacements not from our stock */
  long own_eligible;                         /* true: customer's own put in on eligible devices */
  long special_orders, special_cartridges;
  long cover_violations; /* lines not 30 days of true use within one cartridge */
  double min_cover_days, max_cover_days;
  long missed_consolidations;
  long waste_without_black, black_without_container;
  long misjudged_days, ordered_while_high, ordered_before_judged;
  long pileup_days;
  long balance_errors;
  long balance_unseen; /* supplies with replacements no reading could show */
  long invisible;      /* such replacements */
  long notices_not_once;
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
  bool *marks;         /* engine mode: judged[n] then high_use[n], read back daily */
  long groups;         /* (site, contact) groups of the fleet */
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

static sim_supply *add_supply(sim_ctx *x, sim_device *d, int type, const char *colorant, double f)
{
  sim_supply *s = &d->sup[d->n_sup++];
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->colorant = colorant;
  s->colorant_std = colorant;
  s->factor = f;
  s->level = CAP * (0.4 + 0.6 * rnd(x));
  s->below_since = -1;
  return s;
}

/* How a printer names black: most say "black"; some "Black" or "schwarz" (an agent that
 * reports no standard name beside it), some "BK" with the agent's "black" beside it. */
static void name_black(sim_supply *s, unsigned i)
{
  static const struct {
    const char *raw, *std;
  } names[] = {
      {"black", "black"}, {"black", "black"}, {"Black", NULL}, {"schwarz", NULL}, {"BK", "black"}};
  s->colorant = names[i % 5].raw;
  s->colorant_std = names[i % 5].std;
}

static void add_supplies(sim_ctx *x, sim_device *d, unsigned i)
{
  static const char *colours[] = {"black", "cyan", "magenta", "yellow"};
  unsigned kind = i % 3; /* 0 mono toner, 1 colour toner, 2 ink */
  for (unsigned c = 0; c < (kind == 0 ? 1u : 4u); c++) {
    sim_supply *s =
        add_supply(x, d, kind == 2 ? 6 : 3, colours[c], c == 0 ? 1.0 : 0.4 + 0.5 * rnd(x));
    if (c == 0)
      name_black(s, i);
  }
  if (kind != 2) {
    sim_supply *w = add_supply(x, d, 4, NULL, 0.3); /* waste toner: remaining space */
    w->colorant_std = NULL;
  }
}

/* Index of a scenario device: its place in a fleet of 60, scaled to the fleet's size. */
static bool at(const sim_ctx *x, unsigned i, unsigned of60)
{
  return i == of60 * x->o.devices / 60;
}

/* The scenarios of use, placed by index and timed by the run's length (180 days: spikes on
 * days 40 and 90, silent for good from day 100, silent on days 60-74, early from 50 and
 * 120, heavy until day 30). */
static void add_use_scenarios(const sim_ctx *x, sim_device *d, unsigned i)
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
  if (at(x, i, 12)) {
    d->prof = ALTERNATING; /* 3.5 and 0.7 cartridges in alternate calendar weeks */
    d->base = 300.0;
  }
  if (at(x, i, 15)) {
    d->prof = HOT_THEN_COLD; /* 2.5 cartridges a week, then 0.17 from a Monday */
    d->base = 2500.0 / 7.0;
    d->cold_day = (int)(asr_rp_week_start(D0 + n / 6) - D0);
    d->cold_day += d->cold_day < n / 6 ? 7 : 0;
  }
}

/* The scenarios of reporting, replacing and ordering. */
static void add_other_scenarios(const sim_ctx *x, sim_device *d, unsigned i)
{
  int n = (int)x->o.days;
  if (at(x, i, 30) || at(x, i, 31))
    d->silent_from = n * 5 / 9;
  if (at(x, i, 40)) {
    d->silent_from = n / 3;
    d->silent_to = n / 3 + 15;
    d->base = 6.0;
  }
  if (at(x, i, 45) || at(x, i, 46))
    d->early_day = at(x, i, 45) ? n * 5 / 18 : n * 2 / 3;
  if (at(x, i, 33) || at(x, i, 34))
    d->own_mode = 1; /* swaps a half-used cartridge for one of its own while ours is on its way */
  if (at(x, i, 36))
    d->own_mode = 2; /* ... puts in one of its own when it runs low while ours is on its way */
  if (at(x, i, 48) && n >= 30) {
    d->job_from = n / 2 + 8; /* a print job of 5 days, its special order in time for it */
    d->extra_day =
        d->job_from - (int)x->o.delivery - 1 > 0 ? d->job_from - (int)x->o.delivery - 1 : 0;
    d->job_to = d->job_from + 4;
    d->job = (asr_rp_window){D0 + d->job_from, D0 + d->job_to};
  }
}

static void make_device(sim_ctx *x, sim_device *d, unsigned i)
{
  memset(d, 0, sizeof(*d));
  asr_fmt_cut(d->serial, sizeof(d->serial), "SIM%04u", i);
  asr_fmt_cut(d->site, sizeof(d->site), "site-%u", i % x->o.sites + 1);
  /* two supplies contacts at every site: a third of its devices are the second's */
  asr_fmt_cut(d->contact, sizeof(d->contact), "%s", (i / x->o.sites) % 3 == 2 ? "b" : "a");
  d->prof = i % 4 == 1 ? WEEKLY : STEADY;
  d->base = 6.0 + 20.0 * rnd(x);
  d->spike_day = -1;
  d->silent_from = d->silent_to = NEVER;
  d->early_day = d->extra_day = d->job_from = d->job_to = d->eligible_day = -1;
  d->cold_day = NEVER;
  d->waiting = true; /* its own cartridges until our first delivery */
  add_use_scenarios(x, d, i);
  add_other_scenarios(x, d, i);
  add_supplies(x, d, i);
}

/* Calendar week parity of a simulated day (Monday to Sunday). */
static int week_parity(int day)
{
  return (int)(((asr_rp_week_start(D0 + day) - asr_rp_week_start(D0)) / 7) % 2 + 2) % 2;
}

/* Expected use of the day (units), before noise. */
static double day_use(const sim_device *d, const sim_supply *s, int day)
{
  double u = d->base * s->factor;
  if (d->prof == WEEKLY)
    u = ((day + 7 * WARMUP) % 7 >= 5) ? 0.0 : u * 7.0 / 5.0;
  if (d->prof == SPIKE && day >= d->spike_day)
    u *= d->spike_factor;
  if (d->prof == ALTERNATING)
    u *= week_parity(day) ? 3.5 / 2.1 : 0.7 / 2.1;
  if (d->prof == HOT_THEN_COLD && day >= d->cold_day)
    u *= 0.17 / 2.5;
  if (d->job_from >= 0 && s->type == 3 && s->factor == 1.0 && day >= d->job_from &&
      day <= d->job_to)
    u += 600.0; /* the print job: black only */
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

/* True when the device's use changed within SETTLE days before day (a spike, the end of a
 * heavy spell, a print job, alternating weeks) or it was silent: its lines are counted
 * apart, nobody can foresee them. */
static bool recently_changed(const sim_device *d, int day)
{
  if (d->prof == SPIKE && day >= d->spike_day && day < d->spike_day + SETTLE)
    return true;
  if (d->prof == HOT_THEN_COLD && day >= d->cold_day && day < d->cold_day + SETTLE)
    return true;
  if (d->prof == ALTERNATING)
    return true;
  if (d->eligible_day >= 0 && day >= d->eligible_day && day < d->eligible_day + SETTLE)
    return true; /* back in service after high use */
  /* a special order's cartridges are reserved for its job from the order on */
  return d->job_from >= 0 && day >= d->extra_day && day < d->job_to + 1 + SETTLE;
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

static bool in_transit(const sim_supply *s)
{
  for (size_t p = 0; p < s->n_pend; p++)
    if (s->pend_qty[p] > 0)
      return true;
  return false;
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

/* Cartridges of a supply truly used in the calendar week starting on the simulated day
 * monday (noise free; the print job's days left out, as declared). */
static double true_week(const sim_device *d, const sim_supply *s, int monday)
{
  double used = 0.0;
  for (int k = monday; k < monday + 7; k++)
    if (!(d->job_from >= 0 && k >= d->job_from && k <= d->job_to))
      used += day_use(d, s, k);
  return used / CAP;
}

/* Days the device reported in the simulated days [from, from + 7) (by its silences). */
static int reported_days(const sim_device *d, int from)
{
  int n = 0;
  for (int k = from; k < from + 7; k++)
    n += !(k >= d->silent_from && k < d->silent_to);
  return n;
}

/* The truth of rule 4 on day: -1 when it cannot be told (silent in those weeks, or a week
 * within 10 % of the limit: no gauge measures that close), 1 when some colour used
 * high_use_per_week cartridges in each of the last high_use_weeks complete calendar weeks,
 * else 0. */
static int truly_high(const sim_ctx *x, const sim_device *d, int day)
{
  int monday = (int)(asr_rp_week_start(D0 + day) - D0) - 7;
  double lim = x->c.high_use_per_week;
  bool high = false;
  for (int w = 0; w < x->c.high_use_weeks; w++)
    if (reported_days(d, monday - 7 * w) < ASR_RP_WEEK_MIN_DAYS + 1)
      return -1;
  for (size_t k = 0; k < d->n_sup; k++) {
    const sim_supply *s = &d->sup[k];
    bool all = asr_rp_type_forecast_ordered(s->type);
    for (int w = 0; all && w < x->c.high_use_weeks; w++) {
      double c = true_week(d, s, monday - 7 * w);
      if (c > lim * 0.9 && c < lim * 1.1)
        return -1;
      all = c >= lim;
    }
    high = high || all;
  }
  return high;
}

/* ---- A day of printing and reporting ----------------------------------------------- */

/* Ordered for by the rules: judged, not high use, reporting. */
static bool eligible_reporting(const sim_device *d, int day)
{
  return d->judged && !d->high_use && !(day >= d->silent_from && day < d->silent_to);
}

/* A cartridge runs out: ours from the shelf; the customer's own when the device is not
 * served by ASR (before the engine took over, not judged yet, or high use); else the
 * printer waits empty (a stock-out). */
static void install(sim_device *d, sim_supply *s, int day, double rest, sim_stats *st)
{
  if (s->shelf > 0 || day < 0 || !d->judged || d->high_use || d->waiting) {
    if (s->shelf > 0) {
      s->shelf--;
      s->ours_today++;
      s->extra -= s->extra > 0;
    } else if (day >= 0 && d->judged && !d->high_use)
      st->own_eligible++; /* waiting for its first delivery (first, or after high use) */
    s->installs++;
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

/* The morning's deliveries: onto the shelf, and into the books (the engine's delivered). */
static void receive(sim_device *d, sim_supply *s, int day)
{
  for (size_t p = 0; p < s->n_pend; p++)
    if (s->pend_qty[p] > 0 && s->pend_day[p] <= day) { /* delivery 0: the next morning */
      s->shelf += s->pend_qty[p];
      s->books += s->pend_qty[p];
      s->pend_qty[p] = 0;
      d->waiting = false;
    }
}

/* The customer puts in a cartridge of their own while ours is on its way (own_mode 1: the
 * half-used one swapped, 2: one that runs low), at most twice per supply. */
static void own_swap(sim_ctx *x, sim_device *d, sim_supply *s)
{
  bool early = d->own_mode == 1 && s->level >= 0.3 * CAP && s->level <= 0.7 * CAP;
  bool low = d->own_mode == 2 && s->level < 0.15 * CAP && s->level > 0.05 * CAP;

  if (!d->own_mode || s->own_swaps >= 2 || s->shelf > 0 || !in_transit(s) || !(early || low) ||
      !asr_rp_type_forecast_ordered(s->type))
    return;
  s->own_swaps++;
  s->installs++;
  s->level = CAP;
  x->st.own_eligible++;
}

static void print_day(sim_ctx *x, sim_device *d, int day)
{
  d->out_today = false;
  d->last_day = day;
  for (size_t k = 0; k < d->n_sup; k++) {
    sim_supply *s = &d->sup[k];
    s->ours_today = 0;
    receive(d, s, day);
    if (d->early_day >= 0 && day >= d->early_day && !s->early_done && s->shelf > 0 &&
        s->level >= 0.3 * CAP && s->level <= 0.7 * CAP) {
      s->early_done = true; /* a visible jump: one with < 10 % used cannot be told apart */
      s->shelf--;
      s->ours_today++;
      s->installs++;
      s->level = CAP;
    }
    if (day >= 0)
      own_swap(x, d, s);
    double use = day_use(d, s, day) * (0.9 + 0.2 * rnd(x));
    if (day == -10 && s->level < true_rate(d, s, day) * 35.0 && s->level < CAP / 2)
      s->level = CAP; /* the customer's own cartridge before the engine takes over (a
                         visible jump: one from above half would hide in the levels) */
    if (s->level >= use)
      s->level -= use;
    else
      install(d, s, day, use - s->level, &x->st);
  }
}

/* Whether the device reports on day: not while silent; 5 % of daily reports go missing (a
 * printer switched off or unreachable all day), but not once it printed 40 % of a cartridge
 * since its last report: the agent polls every hour, and a printer that prints that much was
 * on. (Days missed at half a cartridge a day would hide a replacement between two levels,
 * 600 then 600 again: the limit is in docs/replenishment.md.) */
static bool reports(sim_ctx *x, const sim_device *d, int day)
{
  double most = 0.0;
  if (day >= d->silent_from && day < d->silent_to)
    return false;
  for (size_t k = 0; k < d->n_sup; k++) {
    double used = 0.0;
    for (int64_t t = d->last_report > 0 ? d->last_report - D0 + 1 : day; t <= day; t++)
      used += day_use(d, &d->sup[k], (int)t);
    most = fmax(most, used);
  }
  return rnd(x) >= 0.05 || most >= 0.4 * CAP;
}

/* A reading after a jump up: one cartridge of ours that was delivered (the books' shelf) is
 * installed, none when the shelf is empty (the customer's own: a box on its way stays on
 * its way); early when the old one, used at the forecast rate since its last reading,
 * still had plenty left (never with too little history). As the engine does. */
static void see_jump(sim_ctx *x, sim_device *d, sim_supply *s, int day, double lv)
{
  asr_rp_forecast f;
  asr_rp_jump j;
  const asr_rp_reading *last = &s->hist[s->n_hist - 1];
  double used = -1.0; /* too little history, or a print job's days: never early */
  int shelf = s->books > 0 ? s->books : 0, before = shelf;
  bool job = asr_rp_step_excluded(last->day, D0 + day, d->win, d->n_win);
  if (!job &&
      asr_rp_forecast_compute_ex(s->hist, s->n_hist, CAP, D0 + day, &x->c.forecast, d->win,
                                 d->n_win, &f) == ASR_OK &&
      f.valid)
    used = f.daily_use * (double)(D0 + day - last->day);
  asr_rp_jump_apply_used(last->level, lv, CAP, used, &x->c.forecast, &shelf, &j);
  s->books -= before - shelf;
  s->stock -= before - shelf;
  if (j.from_stock && day <= d->job_to && s->extra_used < s->extra_ordered)
    s->extra_used++; /* a special order's cartridge went in by the job's end */
  d->early += j.early;
  x->st.early_replacements += j.early;
  if (j.unknown_stock && eligible_reporting(d, day))
    x->st.unknown_eligible++;
  else if (j.unknown_stock)
    x->st.unknown_ineligible++;
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
    bool seen =
        s->n_hist > 0 && lv - s->hist[s->n_hist - 1].level >= x->c.forecast.jump_fraction * CAP;
    s->invisible += s->installs - (seen ? 1 : 0) > 0 ? s->installs - (seen ? 1 : 0) : 0;
    s->installs = 0;
    if (s->n_hist > 0 && day >= 0)
      see_jump(x, d, s, day, lv);
    if (s->n_hist < MAX_HIST)
      s->hist[s->n_hist++] = (asr_rp_reading){.day = D0 + day, .level = lv};
  }
}

/* ---- The rules, and the checks of their orders -------------------------------------- */

/* The rules' stock of a supply: ordered, not installed, less a special order's cartridges
 * reserved for a job that has not started (as the engine counts them). */
static int view_stock(const sim_device *d, const sim_supply *s)
{
  int n = s->stock;
  if (d->job_from >= 0 && d->last_day < d->job_from)
    n -= s->extra_ordered - s->extra_used;
  return n > 0 ? n : 0;
}

static void build_view(sim_device *dev, size_t n, asr_rp_device *v, asr_rp_supply (*vs)[MAX_SUP])
{
  for (size_t i = 0; i < n; i++) {
    sim_device *d = &dev[i];
    d->n_win = 0;
    if (d->job_from >= 0)
      d->win[d->n_win++] = d->job;
    if (d->eligible_day >= 0) /* as the engine: the rate is learned again from the week that
                                 cleared it */
      d->win[d->n_win++] = (asr_rp_window){0, D0 + d->eligible_day - 8};
    for (size_t k = 0; k < d->n_sup; k++) {
      sim_supply *s = &d->sup[k];
      vs[i][k] = (asr_rp_supply){.type = s->type,
                                 .colorant = s->colorant,
                                 .colorant_std = s->colorant_std,
                                 .capacity = CAP,
                                 .readings = s->hist,
                                 .n_readings = s->n_hist,
                                 .stock = view_stock(d, s),
                                 .covered_until = s->covered_until,
                                 .covered_use = s->covered_use,
                                 .excluded = d->win,
                                 .n_excluded = d->n_win};
    }
    v[i] = (asr_rp_device){.serial = d->serial,
                           .site = d->site,
                           .contact = d->contact,
                           .enrolled = true,
                           .last_report = d->last_report,
                           .supplies = vs[i],
                           .n_supplies = d->n_sup,
                           .judged = d->judged,
                           .high_use = d->high_use};
  }
}

/* Scores an order line against the day the supply's true days left crossed the trigger. */
static void score_line(const sim_device *d, const sim_supply *s, const asr_rp_eval *e,
                       const asr_rp_line *l, int day, sim_stats *st)
{
  int from = s->below_since >= 0 ? s->below_since : day;
  bool changed = recently_changed(d, day) || (from <= d->silent_to && day >= d->silent_from);
  if (l->reason == ASR_RP_REASON_CONSOLIDATED) {
    st->consolidated_lines++;
    return;
  }
  if (l->reason == ASR_RP_REASON_WASTE) {
    st->waste_lines++;
    return;
  }
  if (!e->due)
    return;
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

/* Promise 1: each line is 30 days of true use, within one cartridge. */
static void check_cover(const sim_ctx *x, const sim_device *d, const sim_supply *s,
                        const asr_rp_line *l, int day, sim_stats *st)
{
  double use = true_rate(d, s, day), want = x->c.cover_days * use;
  if (l->reason == ASR_RP_REASON_WASTE || !asr_rp_type_forecast_ordered(s->type) ||
      recently_changed(d, day) || use < 1e-6)
    return;
  double days = l->quantity * CAP / use;
  st->min_cover_days = st->min_cover_days > 0 ? fmin(st->min_cover_days, days) : days;
  st->max_cover_days = fmax(st->max_cover_days, days);
  if (l->quantity * CAP < want * (1.0 - COVER_TOLERANCE) ||
      (l->quantity - 1) * CAP > want * (1.0 + COVER_TOLERANCE))
    st->cover_violations++;
}

static bool same_group(const sim_device *a, const sim_device *b)
{
  return strcmp(a->site, b->site) == 0 && strcmp(a->contact, b->contact) == 0;
}

static bool in_order(const asr_rp_line *l, size_t n, size_t dev, size_t sup)
{
  for (size_t k = 0; k < n; k++)
    if (l[k].device == dev && l[k].supply == sup)
      return true;
  return false;
}

/* Promise 2: every supply of the group whose true crossing of the trigger, at its true rate
 * of the day (what anyone can know then: a later change of use is nobody's to foresee), falls
 * within the consolidation window (less the forecast's error) is in the order. */
static void check_consolidation(sim_ctx *x, const asr_rp_order *o, const asr_rp_line *l, int day)
{
  const sim_device *lead = &x->dev[l[0].device];
  for (size_t i = 0; x->c.consolidate && i < x->o.devices; i++) {
    const sim_device *d = &x->dev[i];
    if (!same_group(d, lead) || !asr_rp_device_orderable(&x->c, &x->v[i], D0 + day) ||
        d->last_report < D0 + day || recently_changed(d, day))
      continue;
    for (size_t k = 0; k < d->n_sup; k++) {
      const sim_supply *s = &d->sup[k];
      if (!asr_rp_type_forecast_ordered(s->type) || in_order(l, o->n_lines, i, k))
        continue;
      if (true_days_left(d, s, day) - asr_rp_trigger_for(&x->c, s->type) <=
          x->c.consolidate_days - CONSOLIDATE_MARGIN)
        x->st.missed_consolidations++;
    }
  }
}

/* Promise 3: a waste container ships with a black toner of its device only, and a black
 * toner never ships without one at hand (in the order, or on the shelf or on its way). */
static void check_waste(sim_ctx *x, const asr_rp_order *o, const asr_rp_line *l, int day)
{
  for (size_t k = 0; k < o->n_lines; k++) {
    const sim_device *d = &x->dev[l[k].device];
    const asr_rp_supply *vs = &x->v[l[k].device].supplies[l[k].supply];
    bool black = false, waste = false;
    size_t w = SIZE_MAX;
    for (size_t j = 0; j < o->n_lines; j++) {
      const asr_rp_supply *u = &x->v[l[j].device].supplies[l[j].supply];
      black = black || (l[j].device == l[k].device && asr_rp_supply_black_toner(u));
      waste = waste || (l[j].device == l[k].device && u->type == 4);
    }
    for (size_t s = 0; s < d->n_sup; s++)
      if (d->sup[s].type == 4)
        w = s;
    if (vs->type == 4 && !black)
      x->st.waste_without_black++;
    if (asr_rp_supply_black_toner(vs) && w != SIZE_MAX && !waste && true_stock(&d->sup[w]) == 0 &&
        d->last_report == D0 + day) /* (a device not heard of today cannot be known) */
      x->st.black_without_container++;
  }
}

/* Adds an arrival on day of quantity to the supply's shipments in transit. */
static void in_transit_add(sim_supply *s, int day, int quantity)
{
  size_t p = 0;
  while (p < s->n_pend && s->pend_qty[p] > 0)
    p++;
  if (p == MAX_PENDING)
    return;
  if (p == s->n_pend)
    s->n_pend++;
  s->pend_day[p] = day;
  s->pend_qty[p] = quantity;
}

/* Ships one line: the rules' stock and covered date, the arrival after the delivery. */
static void ship_line(sim_ctx *x, const asr_rp_line *l, int day)
{
  sim_device *d = &x->dev[l->device];
  sim_supply *s = &d->sup[l->supply];
  const asr_rp_supply *vs = &x->v[l->device].supplies[l->supply];
  asr_rp_eval e;
  if (asr_rp_eval_supply(&x->c, vs, D0 + day, &e) != ASR_OK)
    return;
  score_line(d, s, &e, l, day, &x->st);
  check_cover(x, d, s, l, day, &x->st);
  s->covered_until = asr_rp_covered_until(&e, vs, l->quantity, D0 + day);
  s->covered_use = e.fc.valid ? e.fc.daily_use : 0.0;
  s->stock += l->quantity;
  d->lines++;
  d->cartridges += l->quantity;
  x->st.lines++;
  x->st.cartridges += l->quantity;
  asr_rp_judgement j;
  asr_rp_judge(&x->c, &x->v[l->device], D0 + day, &j);
  x->st.ordered_while_high += truly_high(x, d, day) == 1;
  x->st.ordered_before_judged += !j.judged;
  in_transit_add(s, day + (int)x->o.delivery, l->quantity);
}

/* The day's orders: checked, then shipped. */
static void ship_plan(sim_ctx *x, const asr_rp_plan *plan, int day)
{
  for (size_t o = 0; o < plan->n_orders; o++) {
    const asr_rp_line *l = &plan->lines[plan->orders[o].first_line];
    check_consolidation(x, &plan->orders[o], l, day);
    check_waste(x, &plan->orders[o], l, day);
    for (size_t k = 0; k < plan->orders[o].n_lines; k++)
      ship_line(x, &l[k], day);
  }
}

/* Sets each device's marks to judged[i], high[i]; each change of high use is a mail to the
 * device's contact, one per contact and kind a day (as the engine sends them). */
static void set_marks(sim_ctx *x, const bool *judged, const bool *high, int day)
{
  for (size_t i = 0; i < x->o.devices; i++) {
    bool up = high[i] && !x->dev[i].high_use, down = !high[i] && x->dev[i].high_use;
    for (size_t k = 0; k < i && (up || down); k++) {
      const sim_device *o = &x->dev[k];
      if (same_group(o, &x->dev[i]) && high[k] != o->high_use && high[k] == high[i])
        up = down = false; /* named in the mail of an earlier device of the contact */
    }
    x->st.notices_not_eligible += up;
    x->st.notices_eligible += down;
  }
  for (size_t i = 0; i < x->o.devices; i++) {
    if (x->dev[i].high_use && !high[i]) {
      x->dev[i].eligible_day = day;
      x->dev[i].waiting = true;
    }
    x->dev[i].judged = judged[i];
    x->dev[i].high_use = high[i];
  }
}

/* Rules only: judges each device's use (rule 4) as the engine does, after its plan. */
static void judge_devices(sim_ctx *x, int day)
{
  size_t n = x->o.devices;
  for (size_t i = 0; i < n; i++) {
    asr_rp_judgement j;
    asr_rp_judge(&x->c, &x->v[i], D0 + day, &j);
    x->marks[i] = j.judged;
    x->marks[n + i] = j.high_use;
  }
  set_marks(x, x->marks, x->marks + n, day);
}

static asr_result run_engine(sim_ctx *x, int day)
{
  size_t n = x->o.devices;
  asr_rp_plan plan = {
      .orders = x->orders, .max_orders = n, .lines = x->lines, .max_lines = n * MAX_SUP * 2};
  build_view(x->dev, n, x->v, x->vs);
  judge_devices(x, day); /* as the engine: the day's judgement, then its plan */
  build_view(x->dev, n, x->v, x->vs);
  asr_result r = asr_rp_plan_day(&x->c, x->v, n, D0 + day, &plan);
  if (r != ASR_OK)
    return r;
  ship_plan(x, &plan, day);
  x->st.orders += (long)plan.n_orders;
  x->st.notices_order += (long)plan.n_orders; /* "order created" to the contact */
  return ASR_OK;
}

/* Engine mode: why r happened, the store's message for a database error. */
static const char *eng_why(const sim_ctx *x, asr_result r)
{
  const char *m = x->eng ? csime_errmsg(x->eng) : NULL;

  return (r == ASR_ERR_DB || r == ASR_ERR_DB_LOCKED || r == ASR_ERR_DB_VERSION) && m && *m
             ? m
             : asr_result_str(r);
}

/* Engine mode: the real engine's day over the store; its orders ship like the rules'; the
 * engine's marks are read back. */
static asr_result run_store_engine(sim_ctx *x, int day)
{
  size_t n = x->o.devices;
  asr_rp_plan plan = {
      .orders = x->orders, .max_orders = n, .lines = x->lines, .max_lines = n * MAX_SUP * 2};
  build_view(x->dev, n, x->v, x->vs);
  asr_result r = csime_run_day(x->eng, x->v, n, D0 + day, (int)x->o.delivery, &plan);
  if (r == ASR_OK) /* the engine's judgement of the day came before its plan */
    r = csime_marks(x->eng, x->v, n, x->marks, x->marks + n);
  if (r == ASR_OK) {
    set_marks(x, x->marks, x->marks + n, day);
    ship_plan(x, &plan, day);
    x->eng_orders += (long)plan.n_orders;
  }
  if (r != ASR_OK)
    asr_fmt_cut(x->why, sizeof(x->why), "the engine on day %d: %s", day, eng_why(x, r));
  return r;
}

/* A special order of the helpdesk: 3 black cartridges for the device's print job, shipped
 * at once; the job's days are left out of its learned rate. */
static asr_result special_orders(sim_ctx *x, int day)
{
  asr_result r = ASR_OK;
  for (size_t i = 0; r == ASR_OK && i < x->o.devices; i++) {
    sim_device *d = &x->dev[i];
    int64_t id = 0;
    if (d->extra_day != day)
      continue;
    if (x->eng)
      r = csime_extra(x->eng, x->v, i, 0, 3, d->job.from, d->job.to, D0 + day, (int)x->o.delivery,
                      &id);
    d->sup[0].stock += 3;
    d->sup[0].extra += 3;
    d->sup[0].extra_ordered += 3;
    in_transit_add(&d->sup[0], day + (int)x->o.delivery, 3);
    x->st.special_orders++;
    x->st.special_cartridges += 3;
  }
  return r;
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
    asr_fmt_cut(x->why, sizeof(x->why), "storing the reports of day %d: %s", day, eng_why(x, r));
  return r;
}

/* ---- Notices and the daily checks ---------------------------------------------------- */

/* Disconnection notices, each once per disconnection and device (asr_rp_notice_due), mailed
 * as the engine does: one mail per contact and kind a day naming its devices. */
static void count_notices(sim_ctx *x, int day)
{
  unsigned *due = calloc(x->o.devices, sizeof(*due));
  for (size_t i = 0; due && i < x->o.devices; i++) {
    sim_device *d = &x->dev[i];
    asr_rp_notice k;
    do {
      k = asr_rp_notice_due(&x->c, d->last_report, D0 + day, &d->sent);
      due[i] |= k == ASR_RP_NOTICE_DISCONNECTED ? 1u : k == ASR_RP_NOTICE_FINAL ? 2u : 0u;
      d->notices += k != ASR_RP_NOTICE_NONE;
    } while (k != ASR_RP_NOTICE_NONE);
  }
  for (size_t i = 0; due && !x->eng && i < x->o.devices; i++)
    for (unsigned bit = 1; bit <= 2; bit++) {
      bool first = (due[i] & bit) != 0;
      for (size_t k = 0; first && k < i; k++)
        first = !((due[k] & bit) && same_group(&x->dev[k], &x->dev[i]));
      x->st.notices_disconnected += first && bit == 1;
      x->st.notices_final += first && bit == 2;
    }
  free(due);
}

/* Promise 4 (daily): the rules' judgement of each device is the truth of its calendar weeks
 * (where the truth can be told: it reported in those weeks, and it was judged). */
static void check_judgement(sim_ctx *x, int day)
{
  for (size_t i = 0; i < x->o.devices; i++) {
    const sim_device *d = &x->dev[i];
    int t = truly_high(x, d, day);
    if (t >= 0 && d->judged && (t == 1) != d->high_use)
      x->st.misjudged_days++;
  }
}

/* The most a supply's shelf may hold: what its trigger, the consolidation window and an
 * order's 30 days need at its highest use of a day in the last 60 days, a cartridge of
 * rounding, and the special order's cartridges not used yet. */
static double shelf_bound(const sim_ctx *x, const sim_device *d, const sim_supply *s, int day)
{
  double rate = 0.0;
  for (int k = 0; k <= 60; k++)
    rate = fmax(rate, day_use(d, s, day - k));
  double days = asr_rp_trigger_for(&x->c, s->type) + x->c.consolidate_days + x->c.cover_days;
  return ceil(days * rate / CAP) + 1.0 + s->extra;
}

/* Promise 5 (daily): no shelf piles up beyond what the rules can need; and the use of the
 * devices ASR serves (for the ideal number of shipments). */
static void check_shelves(sim_ctx *x, int day)
{
  for (size_t i = 0; i < x->o.devices; i++) {
    sim_device *d = &x->dev[i];
    for (size_t k = 0; k < d->n_sup; k++) {
      sim_supply *s = &d->sup[k];
      if (eligible_reporting(d, day) && asr_rp_type_forecast_ordered(s->type))
        d->used += day_use(d, s, day) / CAP;
      double rate = true_rate(d, s, day);
      if (s->shelf > 0 && rate > 1e-6)
        s->shelf_days = fmax(s->shelf_days, s->shelf * CAP / rate);
      if (s->shelf > shelf_bound(x, d, s, day))
        x->st.pileup_days++;
    }
  }
}

/* One day: deliveries, printing, reports; from day 0 the truth, special orders, the orders,
 * the notices and the daily checks. */
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
  build_view(x->dev, x->o.devices, x->v, x->vs);
  r = special_orders(x, day);
  if (r == ASR_OK)
    r = x->eng ? run_store_engine(x, day) : run_engine(x, day);
  if (r == ASR_OK) {
    count_notices(x, day);
    check_judgement(x, day);
    check_shelves(x, day);
  }
  return r;
}

/* ---- The end of a run ---------------------------------------------------------------- */

/* Promise 6: the books (delivered - installed) are the true shelves, for every device that
 * reported on the last day (a silent one's replacements are not seen yet). Engine mode: the
 * store's books, settled up to the day before the last (the last day's replacements are
 * settled by the next run), against the shelves of that day. */
static asr_result check_balance(sim_ctx *x)
{
  int64_t last = D0 + (int64_t)x->o.days - 1, delivered = 0, installed = 0;
  asr_result r = ASR_OK;
  for (size_t i = 0; r == ASR_OK && i < x->o.devices; i++) {
    sim_device *d = &x->dev[i];
    for (size_t k = 0; r == ASR_OK && d->last_report == last && k < d->n_sup; k++) {
      int books = d->sup[k].books, shelf = d->sup[k].shelf;
      if (x->eng) {
        r = csime_stock(x->eng, x->v, i, k, &delivered, &installed);
        books = (int)(delivered - installed);
        shelf += d->sup[k].ours_today;
      }
      if (d->sup[k].invisible > 0) { /* a limit of the levels, not of the rules: counted apart */
        x->st.balance_unseen++;
        continue;
      }
      x->st.balance_errors += books != shelf;
    }
  }
  return r;
}

/* Engine mode, after the last day: what the engine did, read back from the store; every
 * notice once (each order created and shipped once, each disconnection named once). */
static asr_result engine_totals(sim_ctx *x)
{
  csime_totals t;
  size_t n = x->o.devices;
  bool *high = calloc(n, sizeof(*high));
  long *named = calloc(n, sizeof(*named));
  asr_result r = high && named ? csime_totals_get(x->eng, x->v, n, &t, high, named) : ASR_ERR_NOMEM;
  if (r == ASR_OK && t.orders != x->eng_orders + x->st.special_orders) {
    asr_fmt_cut(x->why, sizeof(x->why), "the store holds %ld orders, the days made %ld", t.orders,
                x->eng_orders + x->st.special_orders);
    r = ASR_ERR_INVALID;
  }
  if (r == ASR_OK) {
    x->st.orders = x->eng_orders;
    x->st.early_replacements = t.early;
    x->eng_mails = t.mails;
    x->st.notices_not_once += t.orders_not_mailed_once;
    json_decref(x->eng_notices);
    x->eng_notices = t.notices_by_kind;
    t.notices_by_kind = NULL;
    for (size_t i = 0; i < n; i++) {
      x->dev[i].high_use = high[i];
      x->dev[i].named = named[i];
      x->st.notices_not_once += labs(named[i] - x->dev[i].notices);
    }
  }
  if (high && r != ASR_OK)
    json_decref(t.notices_by_kind);
  free(high);
  free(named);
  return r;
}

/* The (site, contact) groups of the fleet. */
static long count_groups(const sim_ctx *x)
{
  long g = 0;
  for (size_t i = 0; i < x->o.devices; i++) {
    bool first = true;
    for (size_t k = 0; first && k < i; k++)
      first = !same_group(&x->dev[k], &x->dev[i]);
    g += first;
  }
  return g;
}

/* The ideal number of shipments: one per 30 days per group (site and contact), or, for a
 * group that uses fewer cartridges than that, one per cartridge it used (a cartridge that
 * lasts longer than 30 days needs no monthly shipment). */
static double ideal_shipments(const sim_ctx *x)
{
  double ideal = 0.0, months = x->o.days / 30.0;
  for (size_t i = 0; i < x->o.devices; i++) {
    double used = 0.0;
    bool first = true;
    for (size_t k = 0; first && k < i; k++)
      first = !same_group(&x->dev[k], &x->dev[i]);
    for (size_t k = i; first && k < x->o.devices; k++)
      used += same_group(&x->dev[k], &x->dev[i]) ? x->dev[k].used : 0.0;
    ideal += first ? fmin(months, ceil(used)) : 0.0;
  }
  return ideal;
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
  x->groups = count_groups(x);
  x->st.notices_registration = x->groups; /* a confirmation to each contact */
  if (x->o.engine) {
    build_view(x->dev, x->o.devices, x->v, x->vs);
    csime_where w = {.keep = x->o.keep_db, .db = x->o.db, .password_file = x->o.db_password_file};
    r = csime_open(&w, consolidate ? "simulate" : "simulate-no-consolidation", &x->c, x->v,
                   x->o.devices, (int64_t)(D0 - WARMUP - 1) * 86400, &x->eng, x->why,
                   sizeof(x->why));
  }
  for (int day = -WARMUP; r == ASR_OK && day < (int)x->o.days; day++)
    r = sim_day(x, day);
  if (r == ASR_OK && x->eng)
    r = engine_totals(x);
  if (r == ASR_OK)
    r = check_balance(x);
  if (r != ASR_OK && !x->why[0] && x->eng)
    asr_fmt_cut(x->why, sizeof(x->why), "%s: %s", csime_path(x->eng), eng_why(x, r));
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
    const char *name = k == 0 ? "black" : s->type == 4 ? "waste" : s->colorant;
    if (json_object_set_new(o, name, json_integer(s->shelf))) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

static json_t *device_json(const sim_ctx *x, const sim_device *d)
{
  int shelf = 0, stock = 0;
  double days = 0.0;
  int64_t today = D0 + (int64_t)x->o.days - 1;
  for (size_t k = 0; k < d->n_sup; k++) {
    shelf += d->sup[k].shelf;
    stock += d->sup[k].stock;
    days = fmax(days, d->sup[k].shelf_days);
  }
  asr_rp_device v = {.last_report = d->last_report};
  json_t *o =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:o,s:i,s:I,s:I,s:I,s:I,s:I}", "serial", d->serial,
                "site", d->site, "contact", d->contact, "profile", profile_names[d->prof], "state",
                asr_rp_state_str(asr_rp_device_state(&x->c, &v, today)), "high_usage", d->high_use,
                "shelf_stock", shelf, "shelf_by_supply", shelf_json(d), "stock_believed", stock,
                "order_lines", (json_int_t)d->lines, "cartridges", (json_int_t)d->cartridges,
                "early_replacements", (json_int_t)d->early, "notices", (json_int_t)d->notices,
                "stockout_days", (json_int_t)d->stockouts);
  if (o && (json_object_set_new(o, "colorant", json_string(d->sup[0].colorant)) ||
            json_object_set_new(o, "shelf_days_max", json_real(round(days * 10.0) / 10.0)) ||
            json_object_set_new(o, "special_order", json_boolean(d->extra_day >= 0)))) {
    json_decref(o);
    o = NULL;
  }
  return o;
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

/* The notices the rules-only mode counts, by the outbox's kinds. */
static json_t *notices_json(const sim_stats *s)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "order_created",
                   (json_int_t)(s->notices_order + s->special_orders), "order_shipped",
                   (json_int_t)(s->notices_order + s->special_orders), "disconnected",
                   (json_int_t)s->notices_disconnected, "final", (json_int_t)s->notices_final,
                   "registration", (json_int_t)s->notices_registration, "not_eligible",
                   (json_int_t)s->notices_not_eligible, "eligible_again",
                   (json_int_t)s->notices_eligible);
}

static long notices_total(const sim_stats *s)
{
  return 2 * (s->notices_order + s->special_orders) + s->notices_disconnected + s->notices_final +
         s->notices_registration + s->notices_not_eligible + s->notices_eligible;
}

static json_t *counts_json(const sim_stats *s, long mails)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:I}", "stockout_days",
                   (json_int_t)s->stockout_days, "stockout_days_not_eligible_or_silent",
                   (json_int_t)s->stockout_ineligible, "orders", (json_int_t)s->orders, "shipments",
                   (json_int_t)s->orders, "order_lines", (json_int_t)s->lines, "cartridges",
                   (json_int_t)s->cartridges, "trigger_lines", (json_int_t)s->trigger_lines,
                   "changed_lines", (json_int_t)s->changed_lines, "max_trigger_error_days",
                   s->max_trigger_error, "max_changed_error_days", s->max_changed_error,
                   "consolidated_lines", (json_int_t)s->consolidated_lines, "notices",
                   (json_int_t)(mails >= 0 ? mails : notices_total(s)),
                   "replacements_not_from_stock",
                   (json_int_t)(s->unknown_eligible + s->unknown_ineligible));
}

/* Every promise's count of breaches (0 each when kept). */
static json_t *promises_json(const sim_stats *s)
{
  return json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "lines_not_30_days",
      (json_int_t)s->cover_violations, "consolidations_missed",
      (json_int_t)s->missed_consolidations, "waste_without_black",
      (json_int_t)s->waste_without_black, "black_without_waste_at_hand",
      (json_int_t)s->black_without_container, "high_use_misjudged_days",
      (json_int_t)s->misjudged_days, "ordered_while_high_use", (json_int_t)s->ordered_while_high,
      "ordered_before_judged", (json_int_t)s->ordered_before_judged, "shelf_pileup_days",
      (json_int_t)s->pileup_days, "stock_balance_errors", (json_int_t)s->balance_errors,
      "notices_not_once", (json_int_t)s->notices_not_once);
}

/* Shipments per device-month, against the ideal (ideal_shipments). */
static json_t *shipments_json(const sim_ctx *x)
{
  double months = (double)x->o.devices * x->o.days / 30.0;
  double actual = (double)x->st.orders / months, ideal = ideal_shipments(x) / months;
  return json_pack("{s:f,s:f,s:f,s:I}", "actual", round(actual * 1000.0) / 1000.0, "ideal",
                   round(ideal * 1000.0) / 1000.0, "ratio",
                   ideal > 0 ? round(actual / ideal * 100.0) / 100.0 : 0.0, "groups",
                   (json_int_t)x->groups);
}

static int set_all(json_t *r, const sim_ctx *x, long high, int total, int max)
{
  const sim_stats *s = &x->st;
  return json_object_set_new(r, "trigger_lines_by_error_days",
                             json_pack("[I,I,I,I]", (json_int_t)s->error_days[0],
                                       (json_int_t)s->error_days[1], (json_int_t)s->error_days[2],
                                       (json_int_t)s->error_days[3])) ||
         json_object_set_new(r, "early_replacements", json_integer(s->early_replacements)) ||
         json_object_set_new(r, "high_usage_devices", json_integer(high)) ||
         json_object_set_new(r, "shelf_stock_total", json_integer(total)) ||
         json_object_set_new(r, "shelf_stock_max", json_integer(max)) ||
         json_object_set_new(r, "promises", promises_json(s)) ||
         json_object_set_new(r, "shipments_per_device_month", shipments_json(x)) ||
         json_object_set_new(r, "special_orders", json_integer(s->special_orders)) ||
         json_object_set_new(r, "special_cartridges", json_integer(s->special_cartridges)) ||
         json_object_set_new(r, "waste_lines", json_integer(s->waste_lines)) ||
         json_object_set_new(r, "not_from_stock_eligible", json_integer(s->unknown_eligible)) ||
         json_object_set_new(r, "not_from_stock_not_eligible",
                             json_integer(s->unknown_ineligible)) ||
         json_object_set_new(r, "own_cartridges_eligible", json_integer(s->own_eligible)) ||
         json_object_set_new(r, "supplies_with_unseen_replacements",
                             json_integer(s->balance_unseen)) ||
         json_object_set_new(r, "cover_days",
                             json_pack("[f,f]", round(s->min_cover_days * 10) / 10,
                                       round(s->max_cover_days * 10) / 10));
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
      set_all(r, x, high, total, max) || json_object_set_new(r, "per_device", devs) != 0) {
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
  x->marks = calloc(2 * n, sizeof(*x->marks));
  if (!x->dev || !x->v || !x->vs || !x->orders || !x->lines || !x->marks)
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
  free(x->marks);
}

asr_result csim_run(const csim_opts *o, json_t **report, char *why, size_t why_len)
{
  sim_ctx x;
  long without = -1;
  *report = NULL;
  why[0] = '\0';
  if (check_opts(o) != ASR_OK) {
    asr_fmt_cut(why, why_len, "options out of range");
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
    asr_fmt_cut(why, why_len, "%s", x.why[0] ? x.why : asr_result_str(r));
  ctx_free(&x);
  return r;
}

/* ---- Promises, options and the table --------------------------------------------- */

static json_int_t num(const json_t *r, const char *key)
{
  return json_integer_value(json_object_get(r, key));
}

/* The promises' words, by their key in the report's "promises". */
static const struct {
  const char *key, *words;
} promise_words[] = {
    {"lines_not_30_days", "order lines not 30 days of use within one cartridge"},
    {"consolidations_missed", "supplies due within 45 days left out of their group's order"},
    {"waste_without_black", "waste containers ordered without black toner"},
    {"black_without_waste_at_hand", "black toners ordered without a waste container at hand"},
    {"high_use_misjudged_days", "days a device's high use was judged against its weeks"},
    {"ordered_while_high_use", "lines ordered while the device used too much"},
    {"ordered_before_judged", "lines ordered before the device's use was judged"},
    {"shelf_pileup_days", "days a shelf held more than the rules can need"},
    {"stock_balance_errors", "supplies whose books (delivered - installed) are not the shelf"},
    {"notices_not_once", "notices not sent exactly once"},
};

bool csim_broken(const json_t *r, char *why, size_t n)
{
  size_t len = 0;
  const json_t *without = json_object_get(r, "shipments_without_consolidation");
  const json_t *p = json_object_get(r, "promises");
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
  for (size_t i = 0; i < sizeof(promise_words) / sizeof(promise_words[0]); i++)
    if (num(p, promise_words[i].key) != 0)
      asr_append(why, n, &len, "%lld %s; ", (long long)num(p, promise_words[i].key),
                 promise_words[i].words);
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
  if (strcmp(a, "--db") == 0 || strcmp(a, "--db-password-file") == 0) {
    *(strcmp(a, "--db") == 0 ? &o->db : &o->db_password_file) = v;
    return v[0] ? ASR_OK : ASR_ERR_USAGE;
  }
  if (strcmp(a, "--format") == 0 && (strcmp(v, "json") == 0 || strcmp(v, "table") == 0)) {
    o->json = strcmp(v, "json") == 0;
    return ASR_OK;
  }
  return ASR_ERR_USAGE;
}

/* --keep-db, --db and --db-password-file: the engine mode's; --db a PostgreSQL URI. */
static asr_result check_db_args(const csim_opts *o, char *why, size_t why_len)
{
  char schema[64];

  if ((o->keep_db || o->db || o->db_password_file) && !o->engine)
    asr_fmt_cut(why, why_len, "%s needs --engine",
                o->db        ? "--db"
                : o->keep_db ? "--keep-db"
                             : "--db-password-file");
  else if (o->db && !cdb_is_pg_name(o->db))
    asr_fmt_cut(why, why_len,
                "--db '%s': simulate uses temporary databases; --db takes a PostgreSQL URI here"
                " (postgresql://...): to keep SQLite files, --keep-db DIR",
                o->db);
  else if (o->db_password_file && !o->db)
    asr_fmt_cut(why, why_len, "--db-password-file is for a PostgreSQL --db (postgresql://...)");
  else if (o->db && o->keep_db &&
           csime_schema_name(o->keep_db, "simulate_no_consolidation", schema, sizeof(schema)))
    asr_fmt_cut(why, why_len,
                "--keep-db '%s': with a PostgreSQL --db, the prefix of the runs' schemas"
                " (PREFIX_simulate, PREFIX_simulate_no_consolidation): [a-z_][a-z0-9_]*, not pg_,"
                " at most 37 bytes",
                o->keep_db);
  return why[0] ? ASR_ERR_USAGE : ASR_OK;
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
      asr_fmt_cut(why, why_len, "'%s': unknown option or missing value", argv[i]);
      return ASR_ERR_USAGE;
    }
    if (parse_one(argv[i], argv[i + 1], o) != ASR_OK) {
      asr_fmt_cut(why, why_len, "%s: '%s' is not valid (see asr-central(8))", argv[i], argv[i + 1]);
      return ASR_ERR_USAGE;
    }
    i++;
  }
  return check_db_args(o, why, why_len);
}

static void table_devices(const json_t *r, char *b, size_t n, size_t *len)
{
  size_t i;
  json_t *d;
  asr_append(b, n, len, "\n%-8s %-8s %-3s %-14s %-12s %5s %5s %6s %5s %5s %7s\n", "SERIAL", "SITE",
             "CT", "PROFILE", "STATE", "SHELF", "LINES", "CARTR.", "EARLY", "HIGH", "NOTICES");
  json_array_foreach(json_object_get(r, "per_device"), i, d)
  {
    asr_append(b, n, len, "%-8s %-8s %-3s %-14s %-12s %5lld %5lld %6lld %5lld %5s %7lld\n",
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

/* The rows of issue 11: special orders, the order lines' cover, shipments against the ideal,
 * the promises. */
static void table_more(const json_t *r, char *b, size_t n, size_t *len)
{
  const json_t *sp = json_object_get(r, "shipments_per_device_month");
  const json_t *cd = json_object_get(r, "cover_days");
  const json_t *p = json_object_get(r, "promises");
  size_t broken = 0;
  asr_append(b, n, len, "%-40s %lld (%lld cartridges)\n", "special orders (helpdesk)",
             (long long)num(r, "special_orders"), (long long)num(r, "special_cartridges"));
  asr_append(b, n, len, "%-40s %.1f to %.1f days of true use\n", "order lines' cover",
             json_real_value(json_array_get(cd, 0)), json_real_value(json_array_get(cd, 1)));
  asr_append(b, n, len,
             "%-40s %.3f (ideal %.3f: one per 30 days of use per group, %lld groups; %.2f x)\n",
             "shipments per device-month", json_real_value(json_object_get(sp, "actual")),
             json_real_value(json_object_get(sp, "ideal")), (long long)num(sp, "groups"),
             json_real_value(json_object_get(sp, "ratio")));
  for (size_t i = 0; i < sizeof(promise_words) / sizeof(promise_words[0]); i++) {
    if (num(p, promise_words[i].key) == 0)
      continue;
    asr_append(b, n, len, "%-40s %lld %s\n", broken++ ? "" : "promises broken",
               (long long)num(p, promise_words[i].key), promise_words[i].words);
  }
  if (broken == 0)
    asr_append(b, n, len, "%-40s %zu of %zu kept\n", "promises checked",
               sizeof(promise_words) / sizeof(promise_words[0]),
               sizeof(promise_words) / sizeof(promise_words[0]));
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
  asr_append(b, n, len,
             "%-40s %lld early, %lld not from our stock (%lld on devices not eligible, %lld "
             "customer's own on eligible devices, of %lld put in)\n",
             "replacements reported", (long long)num(r, "early_replacements"),
             (long long)num(r, "replacements_not_from_stock"),
             (long long)num(r, "not_from_stock_not_eligible"),
             (long long)num(r, "not_from_stock_eligible"),
             (long long)num(r, "own_cartridges_eligible"));
  asr_append(b, n, len, "%-40s %lld\n", "high-usage devices (not eligible)",
             (long long)num(r, "high_usage_devices"));
  asr_append(b, n, len,
             "%-40s %lld: %lld created, %lld shipped, %lld disconnected, %lld final, %lld "
             "registration, %lld not eligible, %lld eligible again\n",
             "notices", (long long)num(r, "notices"), (long long)num(nk, "order_created"),
             (long long)num(nk, "order_shipped"), (long long)num(nk, "disconnected"),
             (long long)num(nk, "final"), (long long)num(nk, "registration"),
             (long long)num(nk, "not_eligible"), (long long)num(nk, "eligible_again"));
  table_more(r, b, n, len);
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
