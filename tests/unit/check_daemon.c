/* check_daemon.c: the daemon's schedule (pure functions), the clock and the reload rule. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "agent/daemon.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "tests/unit/testutil.h"

#define DAY 86400
#define T0 INT64_C(1735689600) /* 2025-01-01T00:00:00Z */

START_TEST(test_next_on_grid)
{
  /* ran on time, or a little late: the next one stays on the grid */
  ck_assert_int_eq(asr_sched_next(T0, 3600, T0), T0 + 3600);
  ck_assert_int_eq(asr_sched_next(T0, 3600, T0 + 30), T0 + 3600);
  ck_assert_int_eq(asr_sched_next(T0, 3600, T0 + 3599), T0 + 3600);
  /* a nonsense interval cannot make a busy loop of the past */
  ck_assert_int_gt(asr_sched_next(T0, 0, T0), T0);
}
END_TEST

START_TEST(test_catch_up_once)
{
  /* the machine slept 3 days: one run now, the next an interval from now, not 72 replays */
  int64_t now = T0 + 3 * DAY + 123, due = T0, runs = 0;

  while (due <= now) {
    runs++;
    due = asr_sched_next(due, 3600, now);
  }
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(due, now + 3600);
  ck_assert_int_eq(asr_sched_next(T0, 3600, T0 + 3600), T0 + 7200);
}
END_TEST

static void check_window(int start, int end)
{
  int64_t len = ((int64_t)end - start + 1440) % 1440;
  int64_t seen_min = INT64_MAX, seen_max = INT64_MIN;
  int distinct = 0, prev = -1;

  if (len == 0)
    len = 1440;
  for (int64_t day = 20000; day < 20400; day++) {
    int64_t at = asr_sched_upload_at(42, day, start, end);
    int64_t off = (at - day * DAY - (int64_t)start * 60) / 60;
    ck_assert_int_eq(at % 60, 0);
    ck_assert_int_ge(off, 0);
    ck_assert_int_lt(off, len);
    if (off < seen_min)
      seen_min = off;
    if (off > seen_max)
      seen_max = off;
    distinct += (int)off != prev;
    prev = (int)off;
    /* the same seed and day give the same minute (a restart does not move it) */
    ck_assert_int_eq(asr_sched_upload_at(42, day, start, end), at);
  }
  /* a new minute each day, spread over the window */
  if (len < 60)
    return;
  ck_assert_int_gt(distinct, 300);
  ck_assert_int_lt(seen_min, len / 10 + 1);
  ck_assert_int_gt(seen_max, len - len / 10 - 2);
}

START_TEST(test_upload_minute_in_window)
{
  check_window(60, 300);   /* 01:00-05:00 */
  check_window(1320, 120); /* 22:00-02:00: wraps midnight */
  check_window(600, 600);  /* the whole day */
  check_window(0, 1);      /* one minute */
}
END_TEST

START_TEST(test_upload_wraps_midnight)
{
  /* every upload of a 22:00-02:00 window is at 22:00-23:59 or 00:00-01:59 */
  int64_t t = T0;

  for (int i = 0; i < 200; i++) {
    int64_t next = asr_sched_next_upload(9, t, 1320, 120);
    int64_t tod = ((next % DAY) + DAY) % DAY;
    ck_assert_int_gt(next, t);
    ck_assert(tod >= 1320 * 60 || tod < 120 * 60);
    /* about a day apart: never two in one window, never a day skipped */
    if (i > 0) {
      ck_assert_int_gt(next - t, 20 * 3600);
      ck_assert_int_lt(next - t, 28 * 3600);
    }
    t = next;
  }
}
END_TEST

START_TEST(test_seeds_differ)
{
  int same = 0;

  for (uint64_t seed = 1; seed <= 50; seed++)
    same += asr_sched_upload_at(seed, 20000, 60, 300) == asr_sched_upload_at(0, 20000, 60, 300);
  ck_assert_int_lt(same, 5); /* agents do not all call at once */
}
END_TEST

START_TEST(test_first_upload)
{
  int64_t now = T0 + 10 * 3600; /* 10:00, the 01:00-05:00 window is over */
  int64_t today = asr_sched_upload_at(5, T0 / DAY, 60, 300);
  int64_t next = asr_sched_next_upload(5, now, 60, 300);

  /* uploaded today already: wait for tomorrow's window */
  ck_assert_int_eq(asr_sched_first_upload(5, now, today + 10, 60, 300), next);
  /* the last upload is from the day before: today's was missed, catch up now, once */
  ck_assert_int_eq(asr_sched_first_upload(5, now, today - DAY, 60, 300), now);
  /* never uploaded (not enrolled yet): no catch-up, the next window */
  ck_assert_int_eq(asr_sched_first_upload(5, now, 0, 60, 300), next);
  ck_assert_int_gt(next, now);
  ck_assert_int_lt(next, now + DAY);
}
END_TEST

START_TEST(test_start_schedule)
{
  asr_daemon d;

  memset(&d, 0, sizeof(d));
  asr_conf_defaults(&d.conf);
  d.seed = 3;
  asr_daemon_start_schedule(&d, T0);
  ck_assert_int_eq(d.next_poll, T0);
  ck_assert_int_eq(d.next_discovery, T0);
  ck_assert_int_gt(d.next_upload, T0);
  ck_assert_int_eq(asr_daemon_next_due(&d), T0);
  /* without scan targets discovery does not count */
  d.next_poll = T0 + 50;
  d.next_prune = T0 + 60;
  d.next_discovery = T0 + 10;
  ck_assert_int_eq(asr_daemon_next_due(&d), T0 + 50);
  /* the check-in with the central counts once enrolled, unless remote_config is off */
  ck_assert_int_eq(d.next_checkin, T0);
  d.next_checkin = T0 + 20;
  ck_assert_int_eq(asr_daemon_next_due(&d), T0 + 50);
  d.enrolled = true;
  ck_assert_int_eq(asr_daemon_next_due(&d), T0 + 20);
  d.conf.remote_config = 0;
  ck_assert_int_eq(asr_daemon_next_due(&d), T0 + 50);
}
END_TEST

START_TEST(test_resume_schedule)
{
  /* never ran: now */
  ck_assert_int_eq(asr_sched_resume(0, DAY, T0), T0);
  /* ran an hour ago, every day: a day after that start, not now (a restart loop must not
   * discover again and again) */
  ck_assert_int_eq(asr_sched_resume(T0 - 3600, DAY, T0), T0 - 3600 + DAY);
  /* overdue: now, once */
  ck_assert_int_eq(asr_sched_resume(T0 - 2 * DAY, DAY, T0), T0);
  ck_assert_int_eq(asr_sched_resume(T0 - DAY, DAY, T0), T0);
  /* the clock went back past the last start: now */
  ck_assert_int_eq(asr_sched_resume(T0 + 600, DAY, T0), T0);
}
END_TEST

START_TEST(test_reload_new_targets_discover_now)
{
  char dir[256], path[300], text[600];
  asr_daemon d;
  int64_t now;

  tu_tmpdir("check_daemon", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.conf", dir), ASR_OK);
  ck_assert_int_eq(
      asr_fmt(text, sizeof(text), "database %s/agent.db\nscan_targets 127.0.0.1\n", dir), ASR_OK);
  tu_write_file(path, text);
  memset(&d, 0, sizeof(d));
  ck_assert_int_eq(asr_conf_load(path, &d.conf, NULL, NULL), ASR_OK);
  now = asr_clock_now();
  d.next_discovery = now + DAY;
  /* same targets: the schedule stays */
  ck_assert_int_eq(asr_daemon_reload(&d, path), ASR_OK);
  ck_assert_int_eq(d.next_discovery, now + DAY);
  /* a new target: discovered at once */
  ck_assert_int_eq(
      asr_fmt(text, sizeof(text), "database %s/agent.db\nscan_targets 127.0.0.1 127.0.0.2\n", dir),
      ASR_OK);
  tu_write_file(path, text);
  ck_assert_int_eq(asr_daemon_reload(&d, path), ASR_OK);
  ck_assert_int_le(d.next_discovery, asr_clock_now());
  tu_rmtree(dir);
}
END_TEST

START_TEST(test_clock_parse)
{
  int64_t t;
  unsigned f;

  ck_assert_int_eq(asr_date_parse_iso("2025-01-01T00:00:00Z", &t), ASR_OK);
  ck_assert_int_eq(t, T0);
  ck_assert_int_eq(asr_date_parse_iso("2024-02-29T12:34:56Z", &t), ASR_OK);
  ck_assert_int_eq(t, INT64_C(1709210096));
  ck_assert_int_ne(asr_date_parse_iso("2023-02-29T00:00:00Z", &t), ASR_OK);
  ck_assert_int_ne(asr_date_parse_iso("2025-01-01T24:00:00Z", &t), ASR_OK);
  ck_assert_int_ne(asr_date_parse_iso("2025-01-01 00:00:00Z", &t), ASR_OK);
  ck_assert_int_ne(asr_date_parse_iso("2025-1-01T00:00:00Z", &t), ASR_OK);
  ck_assert_int_eq(asr_clock_parse("2025-01-01T00:00:00Z:3600", &t, &f), ASR_OK);
  ck_assert_int_eq(t, T0);
  ck_assert_uint_eq(f, 3600);
  ck_assert_int_eq(asr_clock_parse("2025-01-01T00:00:00Z", &t, &f), ASR_OK);
  ck_assert_uint_eq(f, 1);
  ck_assert_int_eq(asr_clock_parse("1700000000:50", &t, &f), ASR_OK);
  ck_assert_int_eq(t, INT64_C(1700000000));
  ck_assert_uint_eq(f, 50);
  ck_assert_int_ne(asr_clock_parse("1700000000:0", &t, &f), ASR_OK);
  ck_assert_int_ne(asr_clock_parse("yesterday", &t, &f), ASR_OK);
  ck_assert_int_ne(asr_clock_parse(":5", &t, &f), ASR_OK);
  ck_assert_int_ne(asr_clock_parse("-5", &t, &f), ASR_OK);
}
END_TEST

START_TEST(test_clock_simulated)
{
  int64_t a, b;

  asr_clock_simulate(T0, 1000);
  ck_assert(asr_clock_is_simulated());
  a = asr_clock_now();
  ck_assert_int_ge(a, T0);
  ck_assert_int_lt(a, T0 + 5);
  /* asr_now (every component's time) is the same clock */
  ck_assert_int_lt(asr_now() - a, 5);
  asr_clock_advance(30 * DAY); /* the discrete-event jump */
  b = asr_clock_now();
  ck_assert_int_ge(b, a + 30 * DAY);
  ck_assert_int_lt(b, a + 30 * DAY + 5);
  asr_clock_advance(-DAY); /* never backwards */
  ck_assert_int_ge(asr_clock_now(), b);
  asr_platform_sleep_ms(20); /* 20 ms real at x1000: ~20 s simulated */
  ck_assert_int_ge(asr_clock_now(), b + 10);
  asr_clock_real();
  ck_assert(!asr_clock_is_simulated());
  ck_assert_int_lt(llabs((long long)(asr_clock_now() - (int64_t)time(NULL))), 2);
}
END_TEST

START_TEST(test_clock_env)
{
  tu_setenv("ASR_TEST_CLOCK", "2025-01-01T00:00:00Z:10");
  ck_assert_int_eq(asr_clock_from_env(), ASR_OK);
  ck_assert(asr_clock_is_simulated());
  ck_assert_int_lt(asr_clock_now() - T0, 3);
  asr_clock_real();
  tu_setenv("ASR_TEST_CLOCK", "soon");
  ck_assert_int_ne(asr_clock_from_env(), ASR_OK);
  ck_assert(!asr_clock_is_simulated());
  tu_setenv("ASR_TEST_CLOCK", NULL);
}
END_TEST

static int errors_logged;

static void count_sink(asr_log_level level, const char *msg, void *ctx)
{
  (void)msg;
  (void)ctx;
  errors_logged += level == ASR_LOG_ERR;
}

START_TEST(test_reload_keeps_old_on_error)
{
  char dir[256], path[300], db[400];
  asr_daemon d;

  tu_tmpdir("check_daemon", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "database %s/agent.db\npoll_interval 2h\n", dir),
                   ASR_OK);
  memset(&d, 0, sizeof(d));
  asr_conf_defaults(&d.conf);
  tu_write_file(path, db);
  ck_assert_int_eq(asr_conf_load(path, &d.conf, NULL, NULL), ASR_OK);
  ck_assert_int_eq(d.conf.poll_interval, 7200);
  asr_log_set_sink(count_sink, NULL);
  /* valid: applied */
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "database %s/agent.db\npoll_interval 30m\n", dir),
                   ASR_OK);
  tu_write_file(path, db);
  ck_assert_int_eq(asr_daemon_reload(&d, path), ASR_OK);
  ck_assert_int_eq(d.conf.poll_interval, 1800);
  /* one bad line among good ones: nothing applied, the error logged */
  ck_assert_int_eq(
      asr_fmt(db, sizeof(db), "database %s/agent.db\npoll_interval 5m\nupload_window 25:00\n", dir),
      ASR_OK);
  tu_write_file(path, db);
  errors_logged = 0;
  ck_assert_int_ne(asr_daemon_reload(&d, path), ASR_OK);
  ck_assert_int_eq(d.conf.poll_interval, 1800);
  ck_assert_int_gt(errors_logged, 0);
  /* a directive that needs a restart changed: refused as a whole */
  tu_write_file(path, "database /tmp/elsewhere.db\npoll_interval 5m\n");
  errors_logged = 0;
  ck_assert_int_ne(asr_daemon_reload(&d, path), ASR_OK);
  ck_assert_int_eq(d.conf.poll_interval, 1800);
  ck_assert_int_gt(errors_logged, 0);
  asr_log_set_sink(NULL, NULL);
  tu_rmtree(dir);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("daemon");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_next_on_grid);
  tcase_add_test(tc, test_catch_up_once);
  tcase_add_test(tc, test_upload_minute_in_window);
  tcase_add_test(tc, test_upload_wraps_midnight);
  tcase_add_test(tc, test_seeds_differ);
  tcase_add_test(tc, test_first_upload);
  tcase_add_test(tc, test_start_schedule);
  tcase_add_test(tc, test_resume_schedule);
  tcase_add_test(tc, test_reload_new_targets_discover_now);
  tcase_add_test(tc, test_clock_parse);
  tcase_add_test(tc, test_clock_simulated);
  tcase_add_test(tc, test_clock_env);
  tcase_add_test(tc, test_reload_keeps_old_on_error);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
