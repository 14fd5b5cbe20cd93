/* forecast.c: average daily use, days to empty and cartridge jumps (docs/replenishment.md).
 *
 * Why "total drop over total days" and not a median or mean of daily drops: printer levels
 * are coarse and noisy, days go missing and offices print in weekly cycles. Within one
 * cartridge the daily drops telescope to first - last, so rounding noise only counts at
 * the two ends, a missing day is just a longer gap, and a window of whole weeks averages a
 * weekly cycle exactly (a median of daily drops would take a weekday for the average). A
 * median-of-3 filter was tried and dropped: for a device that empties a cartridge in three
 * days, "drop, then replacement" looks exactly like "one wild low value". A rise of at
 * least jump_fraction of the capacity is a new cartridge: that step is left out, never
 * counted as negative use; so are the days a supply sat empty (it could not print). */
#include "replenish/forecast.h"

#include <math.h>

void asr_rp_forecast_conf_default(asr_rp_forecast_conf *c)
{
  c->long_window_days = 28;
  c->short_window_days = 7;
  c->spike_ratio = 1.25;
  c->jump_fraction = 0.10;
  c->min_span_days = 3;
  c->early_fraction = 0.25;
  c->mid_window_days = 14;
  c->mid_ratio = 1.10;
}

asr_result asr_rp_forecast_conf_check(const asr_rp_forecast_conf *c)
{
  if (c->long_window_days < 7 || c->long_window_days > 365)
    return ASR_ERR_INVALID;
  if (c->short_window_days < 2 || c->short_window_days > c->long_window_days)
    return ASR_ERR_INVALID;
  if (!(c->spike_ratio >= 1.0 && c->spike_ratio <= 10.0))
    return ASR_ERR_INVALID;
  if (!(c->jump_fraction > 0.0 && c->jump_fraction < 1.0))
    return ASR_ERR_INVALID;
  if (c->min_span_days < 1 || c->min_span_days > c->short_window_days)
    return ASR_ERR_INVALID;
  if (!(c->early_fraction > 0.0 && c->early_fraction < 1.0))
    return ASR_ERR_INVALID;
  if (c->mid_window_days < c->short_window_days || c->mid_window_days > c->long_window_days)
    return ASR_ERR_INVALID;
  if (!(c->mid_ratio >= 1.0 && c->mid_ratio <= 10.0))
    return ASR_ERR_INVALID;
  return ASR_OK;
}

/* Reading i (kept as a function: the place for a future filter of wild values). */
static double level_at(const asr_rp_reading *r, size_t n, size_t i, double jump)
{
  (void)n;
  (void)jump;
  return r[i].level;
}

/* The latest reading on or before last_day - window (the first one when there is none), so
 * the window spans at least window days even when its first day's report is missing. */
static size_t window_start(const asr_rp_reading *r, size_t n, int window)
{
  int64_t from = r[n - 1].day - window;
  size_t i = n - 1;
  while (i > 0 && r[i].day > from)
    i--;
  return i;
}

/* Days left out of the averages (asr_rp_window), NULL for none. */
typedef struct {
  const asr_rp_window *w;
  size_t n;
} excl;

bool asr_rp_step_excluded(int64_t a, int64_t b, const asr_rp_window *w, size_t nw)
{
  for (size_t k = 0; w && k < nw; k++)
    if (a + 1 <= w[k].to && b >= w[k].from)
      return true;
  return false;
}

/* The usable steps of the window: total drop and days, and per day of the week (index:
 * day mod 7) the drops of the one-day steps. A new cartridge, or days spent (partly)
 * empty, are left out: not a measure of use. */
typedef struct {
  double used, sum[7];
  int64_t days;
  int cnt[7];
} steps;

static void sum_steps(const asr_rp_reading *r, size_t n, double capacity, int window,
                      const asr_rp_forecast_conf *c, const excl *x, steps *st)
{
  double jump = c->jump_fraction * capacity;
  *st = (steps){0};
  for (size_t i = n > 1 ? window_start(r, n, window) + 1 : n; i < n; i++) {
    double prev = level_at(r, n, i - 1, jump), cur = level_at(r, n, i, jump);
    if (cur - prev >= jump || prev <= 0.0 || cur <= 0.0)
      continue;
    if (x && asr_rp_step_excluded(r[i - 1].day, r[i].day, x->w, x->n))
      continue; /* a declared print job: not ordinary use */
    st->used += prev - cur;
    st->days += r[i].day - r[i - 1].day;
    if (r[i].day - r[i - 1].day == 1) {
      int k = (int)(((r[i].day % 7) + 7) % 7);
      st->sum[k] += prev - cur;
      st->cnt[k]++;
    }
  }
}

/* asr_rp_average_use; *balanced tells whether every day of the week had a one-day step. */
static double average_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                          const asr_rp_forecast_conf *c, const excl *x, int *span, bool *balanced)
{
  steps st;
  double week = 0.0;
  sum_steps(r, n, capacity, window, c, x, &st);
  *span = (int)st.days;
  *balanced = false;
  if (st.days <= 0 || st.used <= 0.0)
    return 0.0;
  for (int k = 0; k < 7 && week >= 0.0; k++)
    week = st.cnt[k] > 0 ? week + st.sum[k] / st.cnt[k] : -1.0;
  *balanced = week >= 0.0;
  if (*balanced)
    return week / 7.0; /* every day of the week seen: the mean of the seven */
  return st.used / (double)st.days;
}

double asr_rp_average_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                          const asr_rp_forecast_conf *c, int *span)
{
  bool balanced;
  return average_use(r, n, capacity, window, c, NULL, span, &balanced);
}

static int count_jumps(const asr_rp_reading *r, size_t n, double capacity, int window,
                       const asr_rp_forecast_conf *c)
{
  int jumps = 0;
  double jump = c->jump_fraction * capacity;
  for (size_t i = window_start(r, n, window) + 1; i < n; i++)
    if (level_at(r, n, i, jump) - level_at(r, n, i - 1, jump) >= jump)
      jumps++;
  return jumps;
}

static bool sorted_days(const asr_rp_reading *r, size_t n)
{
  for (size_t i = 1; i < n; i++)
    if (r[i].day <= r[i - 1].day)
      return false;
  return true;
}

static void weekday_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                        const asr_rp_forecast_conf *c, const excl *x, double prof[7])
{
  steps st;
  sum_steps(r, n, capacity, window, c, x, &st);
  for (int k = 0; k < 7; k++)
    prof[k] = st.cnt[k] >= 2 ? fmax(st.sum[k] / st.cnt[k], 0.0) : NAN;
}

void asr_rp_weekday_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                        const asr_rp_forecast_conf *c, double prof[7])
{
  weekday_use(r, n, capacity, window, c, NULL, prof);
}

/* The use expected on the days (from, to]: each day of the week at its own share of the
 * daily use (a weekly cycle prints nothing at weekends), beyond 4 weeks the plain daily use. */
static double gap_use(const asr_rp_forecast *f, const double prof[7], int64_t from, int64_t to)
{
  double used = 0.0, scale = f->long_use > 0.0 ? f->daily_use / f->long_use : 1.0;
  int64_t d = from + 1;
  for (; d <= to && d <= from + 28; d++) {
    double p = prof[((d % 7) + 7) % 7];
    used += isnan(p) ? f->daily_use : p * scale;
  }
  if (d <= to)
    used += f->daily_use * (double)(to - d + 1);
  return used;
}

static void fill_days_left(asr_rp_forecast *f, const double prof[7], double capacity, int64_t today)
{
  if (today > f->last_day)
    f->remaining -= gap_use(f, prof, f->last_day, today);
  if (f->remaining < 0.0)
    f->remaining = 0.0;
  f->days_left = ASR_RP_FOREVER;
  f->empty_day = INT64_MAX;
  if (f->daily_use <= capacity * 1e-6)
    return;
  f->days_left = f->remaining / f->daily_use;
  if (f->days_left < ASR_RP_FOREVER)
    f->empty_day = today + (int64_t)floor(f->days_left);
  else
    f->days_left = ASR_RP_FOREVER;
}

/* The daily use: the long average; the mid one when >= mid_ratio x long and measured on
 * every day of the week (a rise the long window still dilutes; an unbalanced mid window
 * would tilt a weekly cycle; without the ratio, the higher of two noisy averages orders
 * early); the short one when >= spike_ratio x long (a rise of the last days). */
static void pick_use(asr_rp_forecast *f, bool mid_ok, int span_s, const asr_rp_forecast_conf *c)
{
  f->daily_use = f->long_use;
  if (mid_ok && f->mid_use >= c->mid_ratio * f->long_use)
    f->daily_use = f->mid_use;
  if (span_s >= c->min_span_days && f->short_use >= c->spike_ratio * f->long_use)
    f->daily_use = f->short_use;
}

asr_result asr_rp_forecast_compute_ex(const asr_rp_reading *r, size_t n, double capacity,
                                      int64_t today, const asr_rp_forecast_conf *c,
                                      const asr_rp_window *w, size_t nw, asr_rp_forecast *out)
{
  excl x = {w, nw};
  int span_l = 0, span_m = 0, span_s = 0;
  bool mid_balanced = false;
  double prof[7];
  *out = (asr_rp_forecast){.valid = false, .days_left = ASR_RP_FOREVER, .empty_day = INT64_MAX};
  if (!(capacity > 0.0) || (n > 0 && r == NULL) || !sorted_days(r, n))
    return ASR_ERR_INVALID;
  if (n == 0)
    return ASR_OK;
  out->last_day = r[n - 1].day;
  out->remaining = r[n - 1].level;
  bool balanced;
  out->long_use = average_use(r, n, capacity, c->long_window_days, c, &x, &span_l, &balanced);
  out->mid_use = average_use(r, n, capacity, c->mid_window_days, c, &x, &span_m, &mid_balanced);
  out->short_use = average_use(r, n, capacity, c->short_window_days, c, &x, &span_s, &balanced);
  out->replacements = count_jumps(r, n, capacity, c->long_window_days, c);
  if (span_l < c->min_span_days)
    return ASR_OK;
  out->valid = true;
  pick_use(out, mid_balanced && span_m >= c->min_span_days, span_s, c);
  weekday_use(r, n, capacity, c->long_window_days, c, &x, prof);
  fill_days_left(out, prof, capacity, today);
  return ASR_OK;
}

asr_result asr_rp_forecast_compute(const asr_rp_reading *r, size_t n, double capacity,
                                   int64_t today, const asr_rp_forecast_conf *c,
                                   asr_rp_forecast *out)
{
  return asr_rp_forecast_compute_ex(r, n, capacity, today, c, NULL, 0, out);
}

void asr_rp_jump_apply(double prev, double cur, double capacity, const asr_rp_forecast_conf *c,
                       int *stock, asr_rp_jump *out)
{
  asr_rp_jump_apply_used(prev, cur, capacity, 0.0, c, stock, out);
}

void asr_rp_jump_apply_used(double prev, double cur, double capacity, double used,
                            const asr_rp_forecast_conf *c, int *stock, asr_rp_jump *out)
{
  *out = (asr_rp_jump){0};
  if (cur - prev < c->jump_fraction * capacity)
    return;
  out->replaced = true;
  out->early = used >= 0.0 && prev - used >= c->early_fraction * capacity;
  if (*stock > 0) {
    (*stock)--;
    out->from_stock = true;
  } else {
    out->unknown_stock = true;
  }
}
