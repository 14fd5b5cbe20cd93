/* check_replenish.c: the pure replenishment rules (replenish/): usage, trigger, quantity,
 * waste toner with black toner, consolidation, duplicates and spikes, high usage, stock and
 * jumps, reporting states and notices, each at its boundaries. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "replenish/colorant.h"
#include "replenish/rules.h"

#define T 20000 /* "today" in epoch days */
#define CAPY 1000.0

/* 29 daily readings ending today at level end, falling by use a day. */
static void linear(asr_rp_reading *r, double end, double use)
{
  for (int k = 0; k < 29; k++)
    r[k] = (asr_rp_reading){.day = T - 28 + k, .level = end + use * (28 - k)};
}

static asr_rp_supply sup(int32_t type, const char *col, const asr_rp_reading *r, size_t n)
{
  return (asr_rp_supply){
      .type = type, .colorant = col, .capacity = CAPY, .readings = r, .n_readings = n};
}

/* One device of a plan test: id, site, contact, last report, its supplies. */
static asr_rp_device dev(const char *id, const char *site, const char *contact, int64_t last,
                         const asr_rp_supply *s, size_t n)
{
  return (asr_rp_device){.serial = id,
                         .site = site,
                         .contact = contact,
                         .enrolled = true,
                         .last_report = last,
                         .supplies = s,
                         .n_supplies = n};
}

START_TEST(test_average_use_robust)
{
  asr_rp_forecast_conf c;
  asr_rp_forecast_conf_default(&c);
  asr_rp_reading r[29];
  int span;
  linear(r, 100.0, 10.0);
  r[10].level += 99.0; /* a rise smaller than a jump: noise, telescopes away */
  ck_assert_double_eq_tol(asr_rp_average_use(r, 29, CAPY, 28, &c, &span), 10.0, 1e-9);
  r[10].level -= 99.0;
  for (int k = 15; k < 29; k++)
    r[k].level += 800.0; /* a replacement at day 15: not negative use */
  ck_assert_double_eq_tol(asr_rp_average_use(r, 29, CAPY, 28, &c, &span), 10.0, 1e-9);
  ck_assert_int_eq(span, 27);
  asr_rp_reading gap[3] = {{T - 4, 500}, {T - 2, 480}, {T, 460}}; /* missing days */
  ck_assert_double_eq_tol(asr_rp_average_use(gap, 3, CAPY, 28, &c, &span), 10.0, 1e-9);
}
END_TEST

START_TEST(test_weekly_cycle_exact)
{
  asr_rp_forecast_conf c;
  asr_rp_forecast_conf_default(&c);
  asr_rp_reading r[29];
  double lv = 900.0;
  int span;
  for (int k = 0; k < 29; k++) {
    r[k] = (asr_rp_reading){T - 28 + k, lv};
    lv -= (k % 7 >= 5) ? 0.0 : 14.0;
  }
  ck_assert_double_eq_tol(asr_rp_average_use(r, 29, CAPY, 28, &c, &span), 10.0, 1e-9);
}
END_TEST

START_TEST(test_trigger_boundary)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  linear(r, 210.0, 10.0); /* exactly 21 days left */
  asr_rp_supply s = sup(3, "black", r, 29);
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due);
  ck_assert_int_eq(e.quantity, 1); /* 30 x 10 = 300 units -> 1 cartridge */
  linear(r, 211.0, 10.0);          /* 21.1 days: not yet, tomorrow */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(!e.due);
  ck_assert_int_eq(e.trigger_day, T + 1);
  c.overrides[0] = (asr_rp_type_trigger){.type = 3, .trigger_days = 28};
  c.n_overrides = 1; /* this product type orders earlier */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due);
}
END_TEST

START_TEST(test_quantity_and_stock)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  linear(r, 700.0, 100.0); /* 7 days left, 3000 units in 30 days = 3 cartridges */
  asr_rp_supply s = sup(3, "black", r, 29);
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_int_eq(e.quantity, 3);
  s.stock = 1; /* 7 + 10 = 17 days: still due; the stock was counted in the trigger, so the
                * order is still 30 days of use (issue 11, defect 1), not 30 days minus it */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due);
  ck_assert_int_eq(e.quantity, 3);
  s.stock = 2; /* 27 days: covered, no duplicate */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(!e.due);
}
END_TEST

/* Issue 11, defect 1: a printer using 1.9 cartridges a week (271 units a day) is ordered 30
 * days of use (9 cartridges) at each trigger, whatever is in stock: the order after the
 * first one comes 30 days later, not after 15. */
START_TEST(test_quantity_thirty_days_each_order)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  double use = 1900.0 / 7.0;
  linear(r, 21.0 * use - 4000.0, use); /* exactly 21 days with 4 cartridges in stock */
  asr_rp_supply s = sup(3, "black", r, 29);
  s.stock = 4;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due);
  ck_assert_int_eq(e.quantity, 9); /* ceil(30 x 271.4 / 1000) */
  ck_assert_double_ge(e.quantity * CAPY, c.cover_days * use);
  ck_assert_double_lt((e.quantity - 1) * CAPY, c.cover_days * use);
  /* its covered date: the stock lasts until the next trigger 30 days (and the rounding) on */
  int64_t cov = asr_rp_covered_until(&e, &s, e.quantity, T);
  ck_assert_int_ge(cov, T + 30);
  ck_assert_int_le(cov, T + 34);
}
END_TEST

/* Issue 11, defect 2: a supply of the group whose own trigger falls within the 45 days joins
 * the order even when its stock covers part of the 30 days (a yellow at 10 % with one
 * cartridge on the shelf, due in 34 days), at 30 days of its use. */
START_TEST(test_consolidation_with_stock)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  static asr_rp_reading due[29], yellow[29];
  linear(due, 200.0, 10.0);    /* 20 days: due */
  linear(yellow, 100.0, 20.0); /* 5 days + 1 cartridge (50 days) = 55 days: trigger in 34 */
  asr_rp_supply a[1] = {sup(3, "black", due, 29)}, b[1] = {sup(3, "yellow", yellow, 29)};
  b[0].stock = 1;
  asr_rp_device d[2] = {dev("A", "s1", "x", T, a, 1), dev("B", "s1", "x", T, b, 1)};
  asr_rp_order o[2];
  asr_rp_line l[8];
  asr_rp_plan p = {.orders = o, .max_orders = 2, .lines = l, .max_lines = 8};
  asr_rp_eval e;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &b[0], T, &e), ASR_OK);
  ck_assert_int_eq(e.trigger_day, T + 34);
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 2, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 1);
  ck_assert_int_eq(p.n_lines, 2);
  ck_assert_int_eq(l[1].device, 1);
  ck_assert_int_eq(l[1].reason, ASR_RP_REASON_CONSOLIDATED);
  ck_assert_int_eq(l[1].quantity, 1); /* 30 x 20 = 600 units: one cartridge */
  b[0].stock = 3;                     /* 155 days: beyond the window, not added */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 2, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 1);
}
END_TEST

START_TEST(test_spike)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  linear(r, 400.0, 10.0);
  for (int k = 21; k < 29; k++) /* the last 7 days at 40 a day */
    r[k].level = 400.0 + 40.0 * (28 - k);
  for (int k = 0; k < 21; k++)
    r[k].level = 680.0 + 10.0 * (21 - k);
  asr_rp_supply s = sup(3, "black", r, 29);
  s.covered_until = T + 20; /* the last order meant to last until then */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.daily_use, 40.0, 1e-9); /* short window wins */
  ck_assert(e.due);                                    /* 400 / 40 = 10 days */
  ck_assert(e.spike);
}
END_TEST

START_TEST(test_high_use_boundary)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  double per_day = 2000.0 / 7.0; /* exactly 2 cartridges a week */
  double lv = 1000.0;
  for (int k = 0; k < 29; k++) {
    r[k] = (asr_rp_reading){T - 28 + k, lv};
    lv -= per_day;
    if (lv <= 0.0)
      lv += 1000.0;
  }
  asr_rp_supply s = sup(3, "black", r, 29);
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.cartridges_per_week, 2.0, 1e-6);
  c.high_use_per_week = 2.0 - 1e-3;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.high_use);
  c.high_use_per_week = 2.0 + 1e-3;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(!e.high_use);
  asr_rp_device d = {
      .serial = "S", .enrolled = true, .last_report = T, .supplies = &s, .n_supplies = 1};
  c.high_use_per_week = 1.5;
  ck_assert(!asr_rp_device_orderable(&c, &d, T));
}
END_TEST

START_TEST(test_plan_consolidation_and_waste)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  static asr_rp_reading due[29], in45[29], in46[29], waste[29];
  linear(due, 200.0, 10.0);  /* 20 days: due */
  linear(in45, 660.0, 10.0); /* 66 days: trigger in 45 days */
  linear(in46, 670.0, 10.0); /* 67 days: trigger in 46 days */
  linear(waste, 900.0, 1.0); /* waste toner, far from full */
  asr_rp_supply s0[2] = {sup(3, "black", due, 29), sup(4, NULL, waste, 29)};
  asr_rp_supply s1[1] = {sup(3, "cyan", in45, 29)};
  asr_rp_supply s2[1] = {sup(3, "cyan", in46, 29)};
  asr_rp_supply s3[1] = {sup(3, "cyan", in45, 29)};
  asr_rp_supply s4[1] = {sup(9, NULL, due, 29)}; /* a drum: shown, not ordered */
  asr_rp_device d[5] = {dev("A", "s1", "x", T, s0, 2), dev("B", "s1", "x", T, s1, 1),
                        dev("C", "s1", "x", T, s2, 1), dev("D", "s1", "y", T, s3, 1),
                        dev("E", "s1", "x", T, s4, 1)};
  asr_rp_order o[4];
  asr_rp_line l[16];
  asr_rp_plan p = {.orders = o, .max_orders = 4, .lines = l, .max_lines = 16};
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 5, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 1);
  ck_assert_int_eq(p.n_lines, 3); /* A black, A waste with it, B (45 days); not C, D, E */
  ck_assert_int_eq(l[0].device, 0);
  ck_assert_int_eq(l[0].reason, ASR_RP_REASON_TRIGGER);
  ck_assert_int_eq(l[1].supply, 1);
  ck_assert_int_eq(l[1].quantity, 1);
  ck_assert_int_eq(l[1].reason, ASR_RP_REASON_WASTE);
  ck_assert_int_eq(l[2].device, 1);
  ck_assert_int_eq(l[2].reason, ASR_RP_REASON_CONSOLIDATED);
  c.consolidate = false;
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 5, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 2);
  p.max_lines = 1;
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 5, T, &p), ASR_ERR_LIMIT);
  d[0].last_report = T - 7; /* disconnected: not ordered for */
  p.max_lines = 16;
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 5, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 0);
}
END_TEST

START_TEST(test_jump_and_stock)
{
  asr_rp_forecast_conf c;
  asr_rp_forecast_conf_default(&c);
  asr_rp_jump j;
  int stock = 1;
  asr_rp_jump_apply(50.0, 149.0, CAPY, &c, &stock, &j); /* rise < 10 %: noise */
  ck_assert(!j.replaced);
  asr_rp_jump_apply(50.0, 150.0, CAPY, &c, &stock, &j);
  ck_assert(j.replaced && j.from_stock && !j.early);
  ck_assert_int_eq(stock, 0);
  asr_rp_jump_apply(250.0, 990.0, CAPY, &c, &stock, &j); /* 25 % left: early, not ours */
  ck_assert(j.replaced && j.early && j.unknown_stock);
  asr_rp_jump_apply(249.0, 990.0, CAPY, &c, &stock, &j);
  ck_assert(!j.early);
}
END_TEST

START_TEST(test_states_and_notices)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_device d = {.serial = "S", .enrolled = true, .last_report = T - 1};
  unsigned sent = 0;
  ck_assert_int_eq(asr_rp_device_state(&c, &d, T), ASR_RP_ACTIVE);
  ck_assert_int_eq(asr_rp_device_state(&c, &d, T + 1), ASR_RP_SILENT);
  ck_assert_int_eq(asr_rp_device_state(&c, &d, T + 6), ASR_RP_DISCONNECTED);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 6, &sent), ASR_RP_NOTICE_NONE);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 7, &sent), ASR_RP_NOTICE_DISCONNECTED);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 8, &sent), ASR_RP_NOTICE_NONE); /* once */
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 29, &sent), ASR_RP_NOTICE_NONE);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 30, &sent), ASR_RP_NOTICE_FINAL);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 31, &sent), ASR_RP_NOTICE_NONE);
  ck_assert_int_eq(asr_rp_notice_due(&c, T + 31, T + 31, &sent), ASR_RP_NOTICE_NONE);
  ck_assert_uint_eq(sent, 0); /* reported again: a new disconnection notifies again */
  sent = 0;                   /* both due at once: one per call */
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 40, &sent), ASR_RP_NOTICE_DISCONNECTED);
  ck_assert_int_eq(asr_rp_notice_due(&c, T, T + 40, &sent), ASR_RP_NOTICE_FINAL);
}
END_TEST

START_TEST(test_conf_and_types)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_OK);
  c.disconnect_days = 14;
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_OK);
  c.disconnect_days = 15;
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_ERR_INVALID);
  asr_rp_conf_default(&c);
  c.trigger_days = NAN;
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_ERR_INVALID);
  static const int32_t yes[] = {3, 4, 5, 6, 21}, no[] = {0, 1, 9, 15, 20};
  for (size_t i = 0; i < 5; i++) {
    ck_assert(asr_rp_type_eligible(yes[i]));
    ck_assert(!asr_rp_type_eligible(no[i]));
  }
  ck_assert(asr_rp_is_black_toner(21, "black"));
  ck_assert(!asr_rp_is_black_toner(5, "black"));
  asr_rp_reading bad[2] = {{T, 5}, {T, 4}};
  asr_rp_forecast f;
  ck_assert_int_eq(asr_rp_forecast_compute(bad, 2, CAPY, T, &c.forecast, &f), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_rp_forecast_compute(bad, 1, 0.0, T, &c.forecast, &f), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_rp_forecast_compute(bad, 1, CAPY, T, &c.forecast, &f), ASR_OK);
  ck_assert(!f.valid);
}
END_TEST

/* 29 daily readings ending on day last: 14 a day on five days of the week, nothing on the
 * two days (d - weekend) mod 7 == 0 or 6, level end on day last; a new cartridge (+800)
 * installed on day jump. */
static void weekly(asr_rp_reading *r, int64_t last, int64_t weekend, int64_t jump, double end)
{
  double lv = end;
  for (int k = 28; k >= 0; k--) {
    int64_t d = last - 28 + k;
    r[k] = (asr_rp_reading){d, lv};
    int64_t w = ((d - weekend) % 7 + 7) % 7;
    lv += (w == 0 || w == 6) ? 0.0 : 14.0;
    if (d == jump)
      lv -= 800.0;
  }
}

START_TEST(test_weekly_replacement_balanced)
{
  asr_rp_forecast_conf c;
  asr_rp_forecast_conf_default(&c);
  asr_rp_reading r[29];
  int span;
  /* the new cartridge goes in on a weekend day: that step is left out; a plain total
   * over the remaining 27 days would say 280 / 27 = 10.37 */
  weekly(r, T, T, T - 14, 850.0);
  ck_assert_double_eq_tol(r[14].level - r[13].level, 800.0, 1e-9);
  ck_assert_double_eq_tol(asr_rp_average_use(r, 29, CAPY, 28, &c, &span), 10.0, 1e-9);
  ck_assert_int_eq(span, 27);
  weekly(r, T, T, T - 16, 850.0); /* ... or on a working day: 266 / 27 would be 9.85 */
  ck_assert_double_eq_tol(asr_rp_average_use(r, 29, CAPY, 28, &c, &span), 10.0, 1e-9);
}
END_TEST

START_TEST(test_gap_bridged_by_day_of_week)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  weekly(r, T - 2, T, 0, 215.0); /* the last report on the last working day, today a weekend day */
  asr_rp_supply s = sup(3, "black", r, 29);
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.daily_use, 10.0, 1e-9);
  ck_assert_double_eq_tol(e.fc.remaining, r[28].level, 1e-9); /* nothing printed since */
  ck_assert(!e.due);                                          /* 21.5 days, not 19.5 */
  double prof[7];
  asr_rp_weekday_use(r, 29, CAPY, 28, &c.forecast, prof);
  ck_assert_double_eq_tol(prof[T % 7], 0.0, 1e-9);
  ck_assert_double_eq_tol(prof[(T + 1) % 7], 14.0, 1e-9);
  linear(r, 230.0, 10.0); /* a steady device: two missing days cost two days of use */
  s.n_readings = 27;      /* the last two reports missing */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.remaining, 230.0, 1e-9);
  ck_assert(!e.due);
  s.n_readings = 29;
  linear(r, 210.0, 10.0); /* one day since the last report: one day of use */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T + 1, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.remaining, 200.0, 1e-9);
}
END_TEST

START_TEST(test_mid_window_follows_rise)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  double lv = 300.0; /* 30 a day for the last 20 days, 10 a day before */
  for (int k = 28; k >= 0; k--) {
    r[k] = (asr_rp_reading){T - 28 + k, lv};
    lv += k > 8 ? 30.0 : 10.0;
  }
  asr_rp_supply s = sup(3, "black", r, 29);
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.long_use, 680.0 / 28.0, 1e-9); /* short/long 1.24 < 1.25 */
  ck_assert_double_eq_tol(e.fc.daily_use, 30.0, 1e-9);        /* the mid window's */
  ck_assert(e.due);                                           /* 300 / 30 = 10 days */
  c.forecast.mid_ratio = 1.3; /* 30 / 24.3 = 1.24: below this ratio, the long one */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.daily_use, 680.0 / 28.0, 1e-9);
  c.forecast.mid_ratio = 1.10;
  c.forecast.mid_window_days = 6; /* shorter than the short window */
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_plan_groups)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  static asr_rp_reading due[29], soon[29], hot[29];
  linear(due, 200.0, 10.0);    /* 20 days: due */
  linear(soon, 500.0, 10.0);   /* trigger in 29 days */
  for (int k = 0; k < 29; k++) /* 3 cartridges a week */
    hot[k] = (asr_rp_reading){T - 28 + k, 1000.0 - fmod(k * 3000.0 / 7.0, 1000.0) - 1.0};
  asr_rp_supply a[1] = {sup(3, "black", due, 29)}, b[1] = {sup(3, "cyan", soon, 29)},
                h[1] = {sup(3, "black", hot, 29)};
  asr_rp_device d[6] = {dev("A", "s1", "x", T, a, 1), dev("B", "s1", "y", T, b, 1),
                        dev("C", "s2", "x", T, b, 1), dev("D", "s1", "x", T - 7, b, 1),
                        dev("E", "s1", "x", T, h, 1), dev("F", "s1", "x", T, b, 1)};
  asr_rp_order o[6];
  asr_rp_line l[16];
  asr_rp_plan p = {.orders = o, .max_orders = 6, .lines = l, .max_lines = 16};
  ck_assert(asr_rp_device_high_use(&c, &d[4], T));
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 6, T, &p), ASR_OK);
  /* A's order takes F (same site and contact); not B (other contact), C (other site),
   * D (disconnected), E (high usage: never ordered for, though its supply is due) */
  ck_assert_int_eq(p.n_orders, 1);
  ck_assert_int_eq(p.n_lines, 2);
  ck_assert_int_eq(l[0].device, 0);
  ck_assert_int_eq(l[1].device, 5);
  ck_assert_int_eq(l[1].reason, ASR_RP_REASON_CONSOLIDATED);
  a[0].stock = 1; /* a shipment covers A's need: no duplicate, no order */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 6, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 0);
  a[0].stock = 0; /* ordered 10 days ago to last until T + 20: use rose, a spike order */
  a[0].covered_until = T + 20;
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 6, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 1);
  ck_assert_int_eq(l[0].reason, ASR_RP_REASON_SPIKE);
  a[0].covered_until = T + 3; /* within spike_margin_days of the covered date: a trigger */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 6, T, &p), ASR_OK);
  ck_assert_int_eq(l[0].reason, ASR_RP_REASON_TRIGGER);
}
END_TEST

START_TEST(test_waste_per_black_cartridge)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  static asr_rp_reading black[29], waste[29], drum[29];
  linear(black, 700.0, 100.0); /* 3 cartridges due */
  linear(waste, 50.0, 10.0);   /* the waste container itself due: 1 */
  linear(drum, 100.0, 10.0);   /* a drum near its end: shown, never ordered */
  asr_rp_supply s[3] = {sup(3, "black", black, 29), sup(4, NULL, waste, 29),
                        sup(9, NULL, drum, 29)};
  asr_rp_device d = dev("A", "s1", "x", T, s, 3);
  asr_rp_order o[2];
  asr_rp_line l[8];
  asr_rp_plan p = {.orders = o, .max_orders = 2, .lines = l, .max_lines = 8};
  ck_assert_int_eq(asr_rp_plan_day(&c, &d, 1, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 2);
  ck_assert_int_eq(l[0].quantity, 3);
  ck_assert_int_eq(l[1].supply, 1);
  /* the black toner lasts 7 + 30 days: the container (50 of room, 10 a day) fills one more */
  ck_assert_int_eq(l[1].quantity, 1);
  ck_assert_int_eq(l[1].reason, ASR_RP_REASON_WASTE);
  asr_rp_eval e;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s[2], T, &e), ASR_OK);
  ck_assert(e.fc.valid && !e.eligible_type && e.due); /* the forecast is shown */
}
END_TEST

/* Issue 11, defect 5: the black toner is told by its normalized colorant, and a waste toner
 * container ships with black toner only, never on its own forecast or by consolidation. */
START_TEST(test_colorant_names)
{
  static const struct {
    const char *std, *raw, *want;
  } cases[] = {
      {NULL, "black", "black"},
      {NULL, "Black", "black"},
      {NULL, " BLACK ", "black"},
      {NULL, "BK", "black"},
      {NULL, "K", "black"},
      {NULL, "schwarz", "black"},
      {NULL, "Schwarz", "black"},
      {NULL, "noir", "black"},
      {NULL, "nero", "black"},
      {NULL, "negro", "black"},
      {NULL, "zwart", "black"},
      {NULL, "Black Toner", "black"},
      {NULL, "black_toner", "black"},
      {NULL, "Cyan", "cyan"},
      {NULL, "C", "cyan"},
      {NULL, "M", "magenta"},
      {NULL, "Gelb", "yellow"},
      {NULL, "jaune", "yellow"},
      {NULL, "Y", "yellow"},
      {NULL, "Photo Black", NULL},
      {NULL, "Light Cyan", NULL},
      {NULL, "blackish", NULL},
      {NULL, "", NULL},
      {NULL, NULL, NULL},
      {NULL, "\xe9\xbb\x91", "black"},
      {"black", "\xe4\xb8\x80?", "black"},
      {"Black", NULL, "black"},
      {"other", "schwarz", "black"},
      {"unknown", "x", NULL},
      {"cyan", "Black", "cyan"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *got = asr_rp_colorant(cases[i].std, cases[i].raw);
    ck_assert_msg((got == NULL && cases[i].want == NULL) ||
                      (got && cases[i].want && strcmp(got, cases[i].want) == 0),
                  "case %zu (%s, %s): %s", i, cases[i].std ? cases[i].std : "-",
                  cases[i].raw ? cases[i].raw : "-", got ? got : "NULL");
  }
  char longtext[200];
  memset(longtext, 'k', sizeof(longtext) - 1);
  longtext[sizeof(longtext) - 1] = '\0';
  ck_assert_ptr_null(asr_rp_colorant(NULL, longtext));
  ck_assert(asr_rp_is_black_toner(3, "schwarz"));
  ck_assert(!asr_rp_is_black_toner(9, "black")); /* a drum is not toner */
  asr_rp_supply s = {.type = 21, .colorant = "\xff\xfe", .colorant_std = "black"};
  ck_assert(asr_rp_supply_black_toner(&s));
}
END_TEST

START_TEST(test_waste_only_with_black)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  static asr_rp_reading black[29], far[29], wfull[29], wsoon[29];
  linear(black, 200.0, 10.0); /* 20 days: due */
  linear(far, 900.0, 10.0);   /* 90 days: not in the window */
  linear(wfull, 50.0, 10.0);  /* the waste container is full in 5 days: due on its own */
  linear(wsoon, 600.0, 10.0); /* ... in 60 days: within the window */
  /* A: only its waste container is due; B's black toner opens the order and A joins with its
   * cyan; C's black toner is far away but its container would join by consolidation */
  asr_rp_supply a[3] = {sup(3, "Black", far, 29), sup(3, "cyan", black, 29),
                        sup(4, NULL, wfull, 29)};
  asr_rp_supply b[2] = {sup(3, "schwarz", black, 29), sup(4, NULL, wsoon, 29)};
  asr_rp_supply cc[2] = {sup(3, "BK", far, 29), sup(4, NULL, wsoon, 29)};
  asr_rp_device d[3] = {dev("A", "s1", "x", T, a, 3), dev("B", "s1", "x", T, b, 2),
                        dev("C", "s1", "x", T, cc, 2)};
  asr_rp_order o[3];
  asr_rp_line l[16];
  asr_rp_plan p = {.orders = o, .max_orders = 3, .lines = l, .max_lines = 16};
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 1, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 1); /* A alone: its cyan; its full container does not ship */
  ck_assert_int_eq(l[0].supply, 1);
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 3, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 1);
  ck_assert_int_eq(p.n_lines, 3); /* A cyan, B "schwarz" toner and its container; nothing of C */
  ck_assert_int_eq(l[1].device, 1);
  ck_assert_int_eq(l[1].supply, 0);
  ck_assert_int_eq(l[2].device, 1);
  ck_assert_int_eq(l[2].supply, 1);
  ck_assert_int_eq(l[2].reason, ASR_RP_REASON_WASTE);
  ck_assert_int_eq(l[2].quantity, 1);
  for (size_t k = 0; k < p.n_lines; k++)
    ck_assert(!(l[k].device == 2));
  b[1].stock = 1; /* a container already on its way or on the shelf: none more */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 3, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 2);
  b[1].stock = 0;
  b[0].colorant = "Cyan"; /* a cyan toner brings no container */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 3, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 2);
  b[0].colorant = "garbage";
  b[0].colorant_std = "black"; /* the agent's standard name decides */
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 3, T, &p), ASR_OK);
  ck_assert_int_eq(p.n_lines, 3);
  /* a container that fills fast: as many as it fills while the black toner lasts (20 days
   * and the cartridge ordered, 100 days: 120 days at 60 a day = 7200, 600 of room left: 7) */
  linear(wsoon, 600.0, 60.0);
  ck_assert_int_eq(asr_rp_plan_day(&c, d, 3, T, &p), ASR_OK);
  ck_assert_int_eq(l[2].quantity, 7);
}
END_TEST

/* Issue 11, defect 6: a trigger before the covered date is a usage spike only when the use
 * rose; after an early replacement (the stock shrank, the use did not change) it is a
 * trigger. */
START_TEST(test_spike_needs_a_rise)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  linear(r, 200.0, 10.0); /* due, at the same use as when it was ordered */
  asr_rp_supply s = sup(3, "black", r, 29);
  s.covered_until = T + 20;
  s.covered_use = 10.0;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due && !e.spike);
  s.covered_use = 7.0; /* ordered for 7 a day, it uses 10: a rise of 43 % */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.due && e.spike);
  s.covered_use = 0.0; /* not known (an order from before the use was kept): by date */
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert(e.spike);
  ck_assert_str_eq(asr_rp_reason_str(ASR_RP_REASON_WASTE), "with black toner");
  ck_assert_str_eq(asr_rp_reason_str(ASR_RP_REASON_EXTRA), "extra");
}
END_TEST

/* Daily readings r[0..n) from day first of a supply that uses use[k] units on day k (its
 * reading of day k is after that day's use), a new cartridge going in when one runs out. */
static void series(asr_rp_reading *r, int64_t first, const double *use, int n, double start)
{
  double lv = start;
  for (int k = 0; k < n; k++) {
    lv -= use[k];
    while (lv <= 0.0)
      lv += CAPY;
    r[k] = (asr_rp_reading){first + k, floor(lv)};
  }
}

#define WEEKS 8
#define TM (asr_rp_week_start(T) + 7) /* a Monday: today in the high-use tests */

/* Judges a one-supply device that used per_week[w] cartridges in week w of the WEEKS weeks
 * before TM (the last one is the week that ended the day before TM), on day today (its
 * readings up to the day before). */
static asr_rp_judgement judge_weeks_of(const double *per_week, int64_t today, bool judged,
                                       bool high)
{
  static asr_rp_reading r[WEEKS * 7];
  static double use[WEEKS * 7];
  static asr_rp_supply s;
  asr_rp_conf c;
  asr_rp_judgement j;
  asr_rp_conf_default(&c);
  for (int k = 0; k < WEEKS * 7; k++)
    use[k] = per_week[k / 7] * CAPY / 7.0;
  series(r, TM - WEEKS * 7, use, WEEKS * 7, 800.0);
  int64_t n = today - (TM - WEEKS * 7);
  s = sup(3, "black", r, (size_t)(n < WEEKS * 7 ? n : WEEKS * 7));
  asr_rp_device d = dev("H", "s1", "x", today - 1, &s, 1);
  d.judged = judged;
  d.high_use = high;
  asr_rp_judge(&c, &d, today, &j);
  return j;
}

/* Issue 11, defect 4: high use is judged per colour per calendar week, every day: 2 cartridges
 * in each of the last two complete weeks. */
START_TEST(test_high_use_per_week)
{
  ck_assert_int_eq(asr_rp_week_start(0), -3); /* 1970-01-01 was a Thursday */
  ck_assert_int_eq(asr_rp_week_start(-3), -3);
  ck_assert_int_eq(asr_rp_week_start(3), -3); /* Sunday 1970-01-04 */
  ck_assert_int_eq(asr_rp_week_start(4), 4);
  ck_assert_int_eq((TM + 3) % 7, 0);

  /* (a) weeks alternating 3.5 and 0.7 cartridges (average 2.1): not every week: eligible */
  const double alt[WEEKS] = {3.5, 0.7, 3.5, 0.7, 3.5, 0.7, 3.5, 0.7};
  asr_rp_judgement j = judge_weeks_of(alt, TM, false, false);
  ck_assert(j.measured && j.judged && !j.high_use);
  ck_assert_double_eq_tol(j.worst, 0.7, 0.05); /* the latest week */
  j = judge_weeks_of(alt, TM - 7, false, false);
  ck_assert(j.judged && !j.high_use);
  ck_assert_double_eq_tol(j.worst, 3.5, 0.1);

  /* (b) 4 weeks at 2.5, then 0.17 a week: not eligible after the second week at 2.5, eligible
   * again as soon as a week below 2 has ended */
  const double drop[WEEKS] = {0.5, 0.5, 2.5, 2.5, 2.5, 2.5, 0.17, 0.17};
  ck_assert(!judge_weeks_of(drop, TM - 5 * 7, false, false).high_use); /* one week at 2.5 */
  ck_assert(judge_weeks_of(drop, TM - 4 * 7, false, false).high_use);
  ck_assert(judge_weeks_of(drop, TM - 2 * 7, false, false).high_use);
  ck_assert(judge_weeks_of(drop, TM - 2 * 7 + 6, false, false).high_use); /* re-judged daily */
  j = judge_weeks_of(drop, TM - 7, true, true);
  ck_assert(j.measured && !j.high_use); /* the week at 0.17 clears it */
  ck_assert(!judge_weeks_of(drop, TM, true, true).high_use);

  /* exactly 2 a week is high use (the promise says 2 cartridges every week) */
  const double two[WEEKS] = {2, 2, 2, 2, 2, 2, 2, 2};
  ck_assert(judge_weeks_of(two, TM, false, false).high_use);
  const double under[WEEKS] = {1.9, 1.9, 1.9, 1.9, 1.9, 1.9, 1.9, 1.9};
  ck_assert(!judge_weeks_of(under, TM, false, false).high_use);
}
END_TEST

/* Issue 11, defect 4 (c): a device is not ordered for before its use was judged on a whole
 * calendar week (levels 67, 34, 2, 71 % on days 0-3: no order on day 3); a device that was
 * judged keeps that judgement while no week can be measured (it sat empty, or was silent). */
START_TEST(test_no_order_before_judged)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[5] = {{TM + 2, 670}, {TM + 3, 340}, {TM + 4, 20}, {TM + 5, 710}, {TM + 6, 380}};
  asr_rp_supply s = sup(3, "black", r, 5);
  asr_rp_device d = dev("N", "s1", "x", TM + 6, &s, 1);
  asr_rp_order o[1];
  asr_rp_line l[4];
  asr_rp_plan p = {.orders = o, .max_orders = 1, .lines = l, .max_lines = 4};
  asr_rp_judgement j;
  asr_rp_eval e;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, TM + 6, &e), ASR_OK);
  ck_assert(e.fc.valid && e.due); /* its forecast says due (a cartridge in 3 days) ... */
  asr_rp_judge(&c, &d, TM + 6, &j);
  ck_assert(!j.judged); /* ... but its use is not judged yet */
  /* its first report on a Wednesday: Thursday to Sunday measure this week, judged Monday */
  ck_assert_int_eq(j.ready_on, TM + 7);
  ck_assert(!asr_rp_device_orderable(&c, &d, TM + 6));
  ck_assert_int_eq(asr_rp_plan_day(&c, &d, 1, TM + 6, &p), ASR_OK);
  ck_assert_int_eq(p.n_orders, 0);
  d.judged = true; /* judged before (and not high use): orderable */
  ck_assert(asr_rp_device_orderable(&c, &d, TM + 6));
  d.high_use = true; /* judged high use before, no week measured since: still held */
  ck_assert(!asr_rp_device_orderable(&c, &d, TM + 6));
  s.readings = r + 1; /* first report on a Thursday: 3 days of it, the next week counts */
  s.n_readings = 4;
  d.judged = d.high_use = false;
  asr_rp_judge(&c, &d, TM + 6, &j);
  ck_assert_int_eq(j.ready_on, TM + 14);
}
END_TEST

/* Issue 11, special orders: the use during a declared print job is left out of the learned
 * rate, so it neither raises the forecast nor fires the spike rule, nor counts as high use. */
START_TEST(test_job_window_left_out)
{
  asr_rp_conf c;
  asr_rp_conf_default(&c);
  asr_rp_reading r[29];
  asr_rp_eval e;
  linear(r, 400.0, 10.0);
  /* a job printing 150 more a day on days T-8 .. T-6 (declared T-8 .. T-3), after the special
   * order's cartridge went in on day T-9; 10 a day otherwise */
  for (int k = 20; k < 29; k++)
    r[k].level += 1000.0 - 150.0 * (k < 23 ? k - 19 : 3);
  r[19].level += 990.0;
  asr_rp_window job = {T - 8, T - 3};
  asr_rp_supply s = sup(3, "black", r, 29);
  s.covered_until = T + 20;
  s.covered_use = 10.0;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_gt(e.fc.daily_use, 12.0); /* without the window: the job looks like use */
  s.excluded = &job;
  s.n_excluded = 1;
  ck_assert_int_eq(asr_rp_eval_supply(&c, &s, T, &e), ASR_OK);
  ck_assert_double_eq_tol(e.fc.daily_use, 10.0, 1e-9);
  ck_assert(!e.spike);
  ck_assert(asr_rp_step_excluded(T - 9, T - 8, &job, 1));
  ck_assert(asr_rp_step_excluded(T - 3, T - 2, &job, 1) == false);
  ck_assert(asr_rp_step_excluded(T - 4, T - 2, &job, 1));
}
END_TEST

START_TEST(test_early_judged_on_use)
{
  asr_rp_forecast_conf c;
  asr_rp_forecast_conf_default(&c);
  asr_rp_jump j;
  int stock = 2;
  /* read at 600 yesterday; a device printing 400 a day had 200 left when it was swapped */
  asr_rp_jump_apply_used(600.0, 990.0, CAPY, 400.0, &c, &stock, &j);
  ck_assert(j.replaced && !j.early && j.from_stock);
  asr_rp_jump_apply_used(600.0, 990.0, CAPY, 350.0, &c, &stock, &j); /* 250 left: early */
  ck_assert(j.replaced && j.early && j.from_stock);
  ck_assert_int_eq(stock, 0);
  /* issue 11, defect 8: too little history to know what it had left: never early */
  asr_rp_jump_apply_used(330.0, 990.0, CAPY, -1.0, &c, &stock, &j);
  ck_assert(j.replaced && !j.early && j.unknown_stock);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("replenish");
  TCase *tc = tcase_create("rules");
  tcase_add_test(tc, test_average_use_robust);
  tcase_add_test(tc, test_weekly_cycle_exact);
  tcase_add_test(tc, test_trigger_boundary);
  tcase_add_test(tc, test_quantity_and_stock);
  tcase_add_test(tc, test_quantity_thirty_days_each_order);
  tcase_add_test(tc, test_consolidation_with_stock);
  tcase_add_test(tc, test_spike);
  tcase_add_test(tc, test_high_use_boundary);
  tcase_add_test(tc, test_plan_consolidation_and_waste);
  tcase_add_test(tc, test_jump_and_stock);
  tcase_add_test(tc, test_states_and_notices);
  tcase_add_test(tc, test_conf_and_types);
  tcase_add_test(tc, test_weekly_replacement_balanced);
  tcase_add_test(tc, test_gap_bridged_by_day_of_week);
  tcase_add_test(tc, test_mid_window_follows_rise);
  tcase_add_test(tc, test_plan_groups);
  tcase_add_test(tc, test_waste_per_black_cartridge);
  tcase_add_test(tc, test_early_judged_on_use);
  tcase_add_test(tc, test_colorant_names);
  tcase_add_test(tc, test_waste_only_with_black);
  tcase_add_test(tc, test_spike_needs_a_rise);
  tcase_add_test(tc, test_high_use_per_week);
  tcase_add_test(tc, test_no_order_before_judged);
  tcase_add_test(tc, test_job_window_left_out);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
