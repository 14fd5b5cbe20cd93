/* check_simengine.c: the engine mode of `asr-central simulate` (central/simengine.h) on
 * real SQLite files: a two-device fleet's reports stored, the engine's order read back
 * into a plan with the fleet's indices, shipped, delivered, the outbox counted, the
 * temporary database removed, --keep-db refusing an existing file, a plan too small.
 * The whole simulation is tests/integration/test_replenish_sim.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "central/simengine.h"
#include "common/util.h"

#define D0 20000 /* epoch day of the fleet's first report */
#define DAYS 36
#define CAP 1000.0

static asr_rp_reading hist[2][DAYS];
static asr_rp_supply sup[2];
static asr_rp_device dev[2];

/* Device 0 uses 20 units a day (due on day 35: 300 left, 15 days), device 1 two. The fleet
 * shows the readings up to day. */
static void fleet(int day)
{
  static const char *const serials[] = {"T0", "T1"};
  for (int i = 0; i < 2; i++) {
    for (int d = 0; d < DAYS; d++)
      hist[i][d] = (asr_rp_reading){.day = D0 + d, .level = CAP - (i ? 2.0 : 20.0) * d};
    sup[i] = (asr_rp_supply){
        .type = 3, .colorant = "black", .capacity = CAP, .readings = hist[i], .n_readings = 0};
    sup[i].n_readings = (size_t)day + 1;
    dev[i] = (asr_rp_device){.serial = serials[i],
                             .site = "site-1",
                             .contact = "a",
                             .enrolled = true,
                             .supplies = &sup[i],
                             .n_supplies = 1};
  }
}

static csime *open_run(const char *keep, asr_result want, char *err, size_t n)
{
  asr_rp_conf c;
  csime *e = NULL;
  csime_where w = {.keep = keep};

  asr_rp_conf_default(&c);
  fleet(0);
  ck_assert_int_eq(csime_open(&w, "simulate", &c, dev, 2, (int64_t)D0 * 86400, &e, err, n), want);
  return e;
}

/* Stores the reports of days 0..DAYS-1. */
static void report_all(csime *e)
{
  for (int d = 0; d < DAYS; d++) {
    fleet(d);
    ck_assert_int_eq(csime_report(e, dev, 2, D0 + d), ASR_OK);
  }
}

START_TEST(test_engine_day)
{
  char err[256] = "", path[700];
  asr_rp_order orders[4];
  asr_rp_line lines[8];
  asr_rp_plan plan = {.orders = orders, .max_orders = 4, .lines = lines, .max_lines = 8};
  csime_totals t;
  bool high[2] = {true, true}, judged[2] = {false, false};
  long named[2] = {0, 0};
  int64_t delivered = -1, installed = -1;
  csime *e = open_run(NULL, ASR_OK, err, sizeof(err));
  struct stat sb;

  ck_assert_int_eq(asr_strlcpy(path, csime_path(e), sizeof(path)), ASR_OK);
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  report_all(e);
  ck_assert_int_eq(csime_run_day(e, dev, 2, D0 + DAYS - 1, 3, &plan), ASR_OK);
  ck_assert_uint_eq(plan.n_orders, 1);
  ck_assert_uint_ge(plan.orders[0].n_lines, 1);
  ck_assert_uint_eq(lines[0].device, 0); /* T0, the fast one, by the fleet's index */
  ck_assert_uint_eq(lines[0].supply, 0);
  ck_assert_int_eq(lines[0].reason, ASR_RP_REASON_TRIGGER);
  ck_assert_int_ge(lines[0].quantity, 1);
  ck_assert_uint_eq(plan.orders[0].trigger_device, 0);

  /* the same day again: the engine adds nothing, nothing is left to ship */
  ck_assert_int_eq(csime_run_day(e, dev, 2, D0 + DAYS - 1, 3, &plan), ASR_OK);
  ck_assert_uint_eq(plan.n_orders, 0);
  ck_assert_int_eq(csime_deliver(e, D0 + DAYS + 1), ASR_OK); /* not yet */
  ck_assert_int_eq(csime_deliver(e, D0 + DAYS + 2), ASR_OK);

  ck_assert_int_eq(csime_totals_get(e, dev, 2, &t, high, named), ASR_OK);
  ck_assert_int_eq(t.orders, 1);
  ck_assert_int_eq(t.mails, 3); /* the site's registration, the order created and shipped */
  ck_assert_int_eq(json_integer_value(json_object_get(t.notices_by_kind, "order_created")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(t.notices_by_kind, "order_shipped")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(t.notices_by_kind, "registration")), 1);
  ck_assert_int_eq(t.orders_not_mailed_once, 0);
  ck_assert(!high[0] && !high[1]);
  ck_assert(named[0] == 0 && named[1] == 0);
  /* the engine's marks and books read back: judged on its weeks, the order delivered */
  ck_assert_int_eq(csime_marks(e, dev, 2, judged, high), ASR_OK);
  ck_assert(judged[0] && judged[1] && !high[0]);
  ck_assert_int_eq(csime_settle(e, D0 + DAYS + 2), ASR_OK);
  ck_assert_int_eq(csime_stock(e, dev, 0, 0, &delivered, &installed), ASR_OK);
  ck_assert_int_eq(delivered, lines[0].quantity);
  ck_assert_int_eq(installed, 0);
  json_decref(t.notices_by_kind);
  csime_close(e);
  ck_assert_int_ne(stat(path, &sb), 0); /* the temporary database is gone */
}
END_TEST

START_TEST(test_keep_db)
{
  char dir[] = "/tmp/check_simengine.XXXXXX", err[256] = "", db[300];
  asr_rp_order orders[1];
  asr_rp_line lines[1];
  asr_rp_plan plan = {.orders = orders, .max_orders = 0, .lines = lines, .max_lines = 1};

  ck_assert_ptr_nonnull(mkdtemp(dir));
  csime *e = open_run(dir, ASR_OK, err, sizeof(err));
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "%s/simulate.db", dir), ASR_OK);
  ck_assert_str_eq(csime_path(e), db);
  report_all(e);
  /* a plan with no room: the engine's order cannot be taken */
  ck_assert_int_eq(csime_run_day(e, dev, 2, D0 + DAYS - 1, 3, &plan), ASR_ERR_LIMIT);
  csime_close(e);
  ck_assert_int_eq(access(db, F_OK), 0); /* kept */

  ck_assert_ptr_null(open_run(dir, ASR_ERR_INVALID, err, sizeof(err)));
  ck_assert_msg(strstr(err, "exists already") != NULL, "%s", err);
  ck_assert_int_eq(access(db, F_OK), 0);
  unlink(db);
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "%s/simulate.db-wal", dir), ASR_OK);
  unlink(db);
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "%s/simulate.db-shm", dir), ASR_OK);
  unlink(db);
  ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("simengine");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_engine_day);
  tcase_add_test(tc, test_keep_db);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
