/* check_rulesconf.c: asr-central's rules file (rulesconf.h) on real files in a temporary
 * directory: every number of asr_rp_conf and asr_rp_forecast_conf has a directive, the
 * per-type triggers (trigger_days.TYPE), errors that name file:line and the problem, a bad
 * file that changes nothing, and a type's higher trigger really ordering earlier. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "central/rulesconf.h"
#include "common/log.h"
#include "common/util.h"
#include "replenish/rules.h"
#include "tests/unit/testutil.h"

#define TONER 3
#define WASTE 4
#define INK 5
#define TONER_CART 21

static char dir[256], path[400];

static void setup(void)
{
  tu_tmpdir("check_rulesconf", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/central.rules", dir), ASR_OK);
}

static void teardown(void)
{
  tu_rmtree(dir);
}

/* Loads text as a rules file on top of *c; the result, err gets the message. */
static asr_result load(const char *text, asr_rp_conf *c, char *err, size_t n)
{
  tu_write_file(path, text);
  return crules_load(path, c, err, n);
}

/* The defaults with a toner trigger of 30 (a conf a file is loaded on top of). */
static void conf_with_toner_30(asr_rp_conf *c)
{
  asr_rp_conf_default(c);
  c->n_overrides = 1;
  c->overrides[0].type = TONER;
  c->overrides[0].trigger_days = 30;
}

/* Loads text expecting ASR_ERR_INVALID with want in the message and c unchanged. */
static void load_bad(const char *text, const char *want)
{
  char err[512] = "";
  asr_rp_conf c, before;

  conf_with_toner_30(&c);
  conf_with_toner_30(&before);
  ck_assert_int_eq(load(text, &c, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_msg(strstr(err, want) != NULL, "'%s' not in '%s'", want, err);
  ck_assert_msg(strstr(err, path) == err, "no file name in '%s'", err);
  ck_assert_msg(memcmp(&c, &before, sizeof(c)) == 0, "a bad file changed the rules: %s", text);
}

/* Every number of the docs' table, each set to a value that is not its default. */
START_TEST(test_every_directive)
{
  char err[512] = "";
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  ck_assert_msg(
      load("trigger_days = 25\ncover_days = 40\nconsolidate = no\n"
           "consolidate_days = 30\nhigh_use_per_week = 3.5\n"
           "high_use_weeks = 3\ndelivery_days = 5\nspike_margin_days = 5\nsilent_days = 3\n"
           "disconnect_days = 9\nfinal_days = 40\nlong_window_days = 35\n"
           "short_window_days = 6\nspike_ratio = 1.5\njump_fraction = 0.2\n"
           "min_span_days = 4\nearly_fraction = 0.3\nmid_window_days = 12\n"
           "mid_ratio = 1.2\ntrigger_days.toner = 30\n",
           &c, err, sizeof(err)) == ASR_OK,
      "%s", err);
  ck_assert(c.trigger_days == 25.0);
  ck_assert(c.cover_days == 40.0);
  ck_assert(!c.consolidate);
  ck_assert_int_eq(c.consolidate_days, 30);
  ck_assert(c.high_use_per_week == 3.5);
  ck_assert_int_eq(c.high_use_weeks, 3);
  ck_assert_int_eq(c.delivery_days, 5);
  ck_assert_int_eq(c.spike_margin_days, 5);
  ck_assert_int_eq(c.silent_days, 3);
  ck_assert_int_eq(c.disconnect_days, 9);
  ck_assert_int_eq(c.final_days, 40);
  ck_assert_int_eq(c.forecast.long_window_days, 35);
  ck_assert_int_eq(c.forecast.short_window_days, 6);
  ck_assert(c.forecast.spike_ratio == 1.5);
  ck_assert(c.forecast.jump_fraction == 0.2);
  ck_assert_int_eq(c.forecast.min_span_days, 4);
  ck_assert(c.forecast.early_fraction == 0.3);
  ck_assert_int_eq(c.forecast.mid_window_days, 12);
  ck_assert(c.forecast.mid_ratio == 1.2);
  ck_assert_uint_eq(c.n_overrides, 1);
  ck_assert(asr_rp_trigger_for(&c, TONER) == 30.0);
}
END_TEST

/* The forecast's mid window and ratio: good, out of range, not between short and long. */
START_TEST(test_mid_window)
{
  char err[512] = "";
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  ck_assert_msg(load("mid_ratio = 1\nmid_window_days = 28\n", &c, err, sizeof(err)) == ASR_OK, "%s",
                err);
  ck_assert(c.forecast.mid_ratio == 1.0);
  ck_assert_int_eq(c.forecast.mid_window_days, 28);
  load_bad("mid_ratio = 0.9\n", ":1: mid_ratio: '0.9' is not a number from 1 to 10");
  load_bad("\nmid_ratio = 11\n", ":2: mid_ratio: '11' is not a number from 1 to 10");
  load_bad("mid_window_days = 1\n", ":1: mid_window_days: '1' is not a whole number from 2");
  load_bad("mid_window_days = 14.5\n", ":1: mid_window_days: '14.5' is not a whole number");
  load_bad("mid_window_days = 30\n",
           "mid_window_days (30) is not from short_window_days (7) to long_window_days (28)");
  load_bad("mid_window_days = 5\n", "mid_window_days (5) is not from short_window_days (7)");
}
END_TEST

/* Rules that do not fit together: the error names the relation and both values. */
START_TEST(test_conflicts)
{
  load_bad("silent_days = 9\ndisconnect_days = 8\n",
           "silent_days (9) is more than disconnect_days (8)");
  load_bad("disconnect_days = 12\nfinal_days = 10\n",
           "final_days (10) is not more than disconnect_days (12)");
  /* issue 11: the 28-day average of high use is gone; an old file says what replaced it */
  load_bad("high_use_window_days = 28\n", ":1: high_use_window_days is no longer a rule: high use"
                                          " is judged per calendar week (high_use_weeks");
  load_bad("high_use_weeks = 0\n", ":1: high_use_weeks: '0' is not a whole number from 1 to 12");
  load_bad("delivery_days = 61\n", ":1: delivery_days: '61' is not a whole number from 0 to 60");
  load_bad("long_window_days = 7\nshort_window_days = 8\n",
           "short_window_days (8) is more than long_window_days (7)");
  load_bad("min_span_days = 8\n", "min_span_days (8) is more than short_window_days (7)");
}
END_TEST

/* trigger_days.TYPE: several types, a repeated type replaces its value, the rest keep 21. */
START_TEST(test_type_trigger)
{
  char err[512] = "";
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  ck_assert_msg(load("trigger_days.toner = 30\n"
                     "trigger_days.wasteToner = 25.5 # with the toner\n"
                     "trigger_days.toner=35\n"
                     "  trigger_days.inkCartridge = 1\ntrigger_days.tonerCartridge = 365\n",
                     &c, err, sizeof(err)) == ASR_OK,
                "%s", err);
  ck_assert_uint_eq(c.n_overrides, 4);
  ck_assert(asr_rp_trigger_for(&c, TONER) == 35.0);
  ck_assert(asr_rp_trigger_for(&c, WASTE) == 25.5);
  ck_assert(asr_rp_trigger_for(&c, 6) == 1.0);
  ck_assert(asr_rp_trigger_for(&c, TONER_CART) == 365.0);
  ck_assert(asr_rp_trigger_for(&c, INK) == 21.0);
  ck_assert_int_eq(asr_rp_conf_check(&c), ASR_OK);

  /* loaded on top: a type already set is replaced, not added */
  ck_assert_msg(load("trigger_days.toner = 22\n", &c, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_uint_eq(c.n_overrides, 4);
  ck_assert(asr_rp_trigger_for(&c, TONER) == 22.0);
}
END_TEST

START_TEST(test_type_trigger_bad)
{
  load_bad("trigger_days.toner = 0\n", ":1: trigger_days.toner: '0' is not a number from 1 to 365");
  load_bad("trigger_days.ink = 366\n", ":1: trigger_days.ink: '366' is not a number");
  load_bad("trigger_days.ink = 30 days\n", ":1: trigger_days.ink: '30 days' is not a number");
  load_bad("trigger_days.ink = nan\n", "is not a number from 1 to 365");
  load_bad("trigger_days.ink =\n", "trigger_days.ink: '' is not a number");
  load_bad("# x\ntrigger_days.tonr = 30\n",
           ":2: trigger_days.tonr: unknown supply type 'tonr' (one of toner, wasteToner, ink,"
           " inkCartridge, tonerCartridge)");
  load_bad("trigger_days.Toner = 30\n", "unknown supply type 'Toner'");
  load_bad("trigger_days. = 30\n", "unknown supply type ''");
  load_bad("trigger_days.fuser = 30\n", "trigger_days.fuser: fuser is never ordered (only toner,"
                                        " wasteToner, ink, inkCartridge, tonerCartridge are)");
  load_bad("trigger_days.opc = 30\n", "opc is never ordered");
  /* the old spellings a reviewer tried are refused, naming the rule */
  load_bad("toner.trigger_days = 30\n", ":1: unknown rule 'toner.trigger_days'");
  /* a good line before a bad one is not applied either */
  load_bad("trigger_days.ink = 40\ntrigger_days = 25\nmid_ratio = 99\n", ":3: mid_ratio");
}
END_TEST

/* A toner used 10 units a day from 650 to 250 of 1000 on day TODAY: 25 days left. */
#define TODAY 20000
#define N_READ 41

static void toner_device(asr_rp_reading *r, asr_rp_supply *s, asr_rp_device *d, int32_t type)
{
  for (int i = 0; i < N_READ; i++) {
    r[i].day = TODAY - (N_READ - 1) + i;
    r[i].level = 650.0 - 10.0 * i;
  }
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->colorant = "black";
  s->capacity = 1000;
  s->readings = r;
  s->n_readings = N_READ;
  memset(d, 0, sizeof(*d));
  d->serial = "CNB0000001";
  d->site = "acme";
  d->contact = "ops@acme.example";
  d->enrolled = true;
  d->last_report = TODAY;
  d->supplies = s;
  d->n_supplies = 1;
}

/* Orders planned today for one toner device of type under the rules file text. */
static size_t orders_under(const char *text, int32_t type)
{
  char err[512] = "";
  asr_rp_conf c;
  asr_rp_reading r[N_READ];
  asr_rp_supply s;
  asr_rp_device d;
  asr_rp_order orders[4];
  asr_rp_line lines[8];
  asr_rp_plan plan = {.orders = orders, .max_orders = 4, .lines = lines, .max_lines = 8};

  asr_rp_conf_default(&c);
  ck_assert_msg(load(text, &c, err, sizeof(err)) == ASR_OK, "%s", err);
  toner_device(r, &s, &d, type);
  ck_assert_int_eq(asr_rp_plan_day(&c, &d, 1, TODAY, &plan), ASR_OK);
  if (plan.n_orders > 0) {
    ck_assert_uint_eq(plan.n_lines, 1);
    ck_assert_int_eq(lines[0].reason, ASR_RP_REASON_TRIGGER);
    ck_assert_int_ge(lines[0].quantity, 1);
  }
  return plan.n_orders;
}

/* 25 days left: nothing at the default 21, an order when the type's trigger is 28. */
START_TEST(test_type_orders_earlier)
{
  ck_assert_uint_eq(orders_under("", TONER_CART), 0);
  ck_assert_uint_eq(orders_under("trigger_days.tonerCartridge = 28\n", TONER_CART), 1);
  ck_assert_uint_eq(orders_under("trigger_days.tonerCartridge = 25\n", TONER_CART), 1);
  ck_assert_uint_eq(orders_under("trigger_days.tonerCartridge = 24\n", TONER_CART), 0);
  /* another type's trigger does not move this one's */
  ck_assert_uint_eq(orders_under("trigger_days.ink = 28\ntrigger_days.toner = 28\n", TONER_CART),
                    0);
  ck_assert_uint_eq(orders_under("trigger_days.toner = 28\n", TONER), 1);
  /* a type may also order later than the default */
  ck_assert_uint_eq(orders_under("trigger_days = 28\ntrigger_days.toner = 14\n", TONER), 0);
  ck_assert_uint_eq(orders_under("trigger_days = 28\ntrigger_days.toner = 14\n", TONER_CART), 1);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("rulesconf");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  asr_log_set_level(ASR_LOG_ERR);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_every_directive);
  tcase_add_test(tc, test_mid_window);
  tcase_add_test(tc, test_conflicts);
  tcase_add_test(tc, test_type_trigger);
  tcase_add_test(tc, test_type_trigger_bad);
  tcase_add_test(tc, test_type_orders_earlier);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
