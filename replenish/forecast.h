/* forecast.h: how fast a supply is used, from its daily readings (docs/replenishment.md).
 *
 * Pure C11: no I/O, no clock of its own (the caller passes "today"). Days are whole days
 * since 1970-01-01 (UTC). Levels are what REMAINS in the cartridge, in the supply's own
 * units (0..capacity); for a receptacle (waste toner) that is its remaining room, which
 * is what RFC 3805's prtMarkerSuppliesLevel reports for one, so "remaining" always falls
 * as the printer works and jumps up at a replacement. */
#ifndef ASR_REPLENISH_FORECAST_H
#define ASR_REPLENISH_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_RP_FOREVER 1000000000.0 /* days left of a supply that is not being used */

/* One daily reading of one supply. */
typedef struct {
  int64_t day;  /* days since the epoch (UTC) */
  double level; /* remaining, in the supply's units, 0..capacity */
} asr_rp_reading;

/* Days whose use is left out of the estimates: [from, to], a declared print job (a special
 * order's job window, docs/replenishment.md): a step of the readings that touches one of
 * these days measures no ordinary use. */
typedef struct {
  int64_t from, to; /* days since the epoch, inclusive */
} asr_rp_window;

/* The numbers of the usage estimate (defaults in asr_rp_forecast_conf_default). */
typedef struct {
  int long_window_days;  /* trailing window of the average daily use (28) */
  int short_window_days; /* trailing window that detects a rise in use (7) */
  double spike_ratio;    /* short average >= ratio x long average: use the short one (1.25) */
  double jump_fraction;  /* a rise >= this fraction of capacity is a new cartridge (0.10) */
  int min_span_days;     /* fewer days of usable history: no forecast (3) */
  double early_fraction; /* a jump from >= this fraction of capacity is early (0.25) */
  int mid_window_days;   /* window that follows a rise once the short one settles (14) */
  double mid_ratio;      /* mid average >= ratio x long average: use the mid one (1.10) */
} asr_rp_forecast_conf;

/* The forecast of one supply on a given day. */
typedef struct {
  bool valid;        /* enough history for an estimate */
  double daily_use;  /* units per day (0 when idle) */
  double long_use;   /* the long-window average (units per day) */
  double short_use;  /* the short-window average (units per day) */
  double remaining;  /* latest level, extrapolated to today (units, >= 0) */
  double days_left;  /* remaining / daily_use, ASR_RP_FOREVER when idle */
  int64_t last_day;  /* day of the latest reading */
  int64_t empty_day; /* day the supply runs out (today + days_left), or INT64_MAX */
  int replacements;  /* jumps up seen in the long window */
  double mid_use;    /* the mid-window average (units per day) */
} asr_rp_forecast;

/* What a new reading says about a cartridge replacement. */
typedef struct {
  bool replaced;      /* the level jumped up: a new cartridge */
  bool early;         /* ... while the old one still had >= early_fraction left */
  bool from_stock;    /* ... and one shipped cartridge of this device was consumed */
  bool unknown_stock; /* ... but the device had no shipped stock (not from us) */
} asr_rp_jump;

/* Fills c with the documented defaults. */
void asr_rp_forecast_conf_default(asr_rp_forecast_conf *c);

/* ASR_OK when every number of c is in its documented range, ASR_ERR_INVALID otherwise. */
asr_result asr_rp_forecast_conf_check(const asr_rp_forecast_conf *c);

/* Average daily use (units/day) from the cartridge segments of r[0..n) (sorted by day) in
 * the window of days (last_day - window, last_day]; *span gets the days covered. Robust:
 * a segment's use is its first level minus its last (noise telescopes), a jump up starts a
 * new segment, missing days are just longer gaps. Negative results are clamped to 0. */
double asr_rp_average_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                          const asr_rp_forecast_conf *c, int *span);

/* Forecast of a supply with readings r[0..n) (sorted by day, unique days) on day today.
 * ASR_ERR_INVALID on bad arguments (capacity <= 0, unsorted days); a short history gives
 * ASR_OK with out->valid false. */
asr_result asr_rp_forecast_compute(const asr_rp_reading *r, size_t n, double capacity,
                                   int64_t today, const asr_rp_forecast_conf *c,
                                   asr_rp_forecast *out);

/* asr_rp_forecast_compute with the days of windows w[0..nw) left out of every average (a
 * declared print job neither teaches the rate nor looks like a rise in use). */
asr_result asr_rp_forecast_compute_ex(const asr_rp_reading *r, size_t n, double capacity,
                                      int64_t today, const asr_rp_forecast_conf *c,
                                      const asr_rp_window *w, size_t nw, asr_rp_forecast *out);

/* True when the step of the readings from day a to day b (its use fell on days a+1 .. b)
 * touches one of the windows w[0..nw). */
bool asr_rp_step_excluded(int64_t a, int64_t b, const asr_rp_window *w, size_t nw);

/* Use expected on each day of the week (index: day mod 7) from the one-day steps of
 * r[0..n) in the window; prof[k] is NAN for a day of the week with fewer than 2 steps. */
void asr_rp_weekday_use(const asr_rp_reading *r, size_t n, double capacity, int window,
                        const asr_rp_forecast_conf *c, double prof[7]);

/* Classifies the step from reading prev to reading cur and consumes one cartridge of
 * *stock (shipped to the device, not yet installed) when the level jumped up. */
void asr_rp_jump_apply(double prev, double cur, double capacity, const asr_rp_forecast_conf *c,
                       int *stock, asr_rp_jump *out);

/* asr_rp_jump_apply, judging "early" on the level the old cartridge had when it was taken
 * out: prev minus used, the use forecast for the days since prev was read. used < 0 says the
 * old cartridge's history is too short for a forecast: nobody can tell how much it had left,
 * so the replacement is never called early (issue 11, defect 8). */
void asr_rp_jump_apply_used(double prev, double cur, double capacity, double used,
                            const asr_rp_forecast_conf *c, int *stock, asr_rp_jump *out);

#endif
