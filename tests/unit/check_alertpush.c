/* check_alertpush.c: `alert_upload immediate` (agent/alertpush.h): the pure decision and
 * the daemon's hook on a real store. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "agent/alertpush.h"
#include "common/device.h"
#include "common/util.h"
#include "store/events.h"
#include "store/save.h"
#include "store/store.h"
#include "testutil.h"

#define GAP ASR_ALERT_UPLOAD_GAP_S

/* batch mode, or no new alert event: the daily upload stays; immediate: now, but at most
 * one early upload every GAP seconds, never later than the planned one. */
START_TEST(test_upload_at)
{
  const int64_t now = 1800000000, daily = now + 20000;

  ck_assert_int_eq(asr_alert_upload_at(0, 3, now, 0, daily), daily);
  ck_assert_int_eq(asr_alert_upload_at(1, 0, now, 0, daily), daily);
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, 0, daily), now);
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, now - GAP, daily), now);
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, now - 60, daily), now - 60 + GAP);
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, now - 60, now + 10), now + 10);
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, now + 9999, daily), now); /* clock went back */
  ck_assert_int_eq(asr_alert_upload_at(1, 1, now, now, daily), now + GAP);
  ck_assert_int_eq(asr_alert_upload_at(1, -4, now, 0, daily), daily);
}
END_TEST

static char dir[512], db[600];

static void add_event(const char *kind, int64_t t)
{
  asr_store *st = NULL;
  char err[256];
  asr_device d;
  int64_t id = 0;

  ck_assert_msg(asr_store_open(db, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  asr_device_init(&d);
  ck_assert_int_eq(asr_strlcpy(d.ip, "127.0.0.9", sizeof(d.ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.serial, "AP1", sizeof(d.serial)), ASR_OK);
  d.is_printer = true;
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, t, &id), ASR_OK);
  ck_assert_int_eq(asr_events_add(st, id, t, kind, "detail"), ASR_OK);
  asr_store_close(st);
}

/* The hook: only alert events waiting for a batch and not seen before count; other
 * events do not; batch mode never moves the upload. */
START_TEST(test_hook)
{
  asr_conf c;
  asr_alert_push p = {0, 0};
  const int64_t t = 1800000000, daily = t + 30000;

  tu_tmpdir("alertpush", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(db, sizeof(db), "%s/agent.db", dir), ASR_OK);
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(asr_strlcpy(c.database, db, sizeof(c.database)), ASR_OK);
  add_event("replaced", t);
  c.alert_upload_immediate = 1;
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t, daily), daily); /* no alert event */
  add_event("alert:0123456789abcdef", t + 60);
  c.alert_upload_immediate = 0;
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 60, daily), daily); /* batch */
  c.alert_upload_immediate = 1;
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 60, daily), t + 60);
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 120, daily), daily); /* seen */
  add_event("alert_cleared:0123456789abcdef", t + 180);
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 180, daily), t + 60 + GAP);
  add_event("alert:fedcba9876543210", t + 4000);
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 4000, daily), t + 4000);
  /* a store that cannot be opened changes nothing */
  ck_assert_int_eq(asr_strlcpy(c.database, "/nonexistent/dir/agent.db", sizeof(c.database)),
                   ASR_OK);
  add_event("alert:1111111111111111", t + 9000);
  ck_assert_int_eq(asr_alert_push_after_poll(&p, &c, t + 9000, daily), daily);
  tu_rmtree(dir);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("alertpush");
  TCase *t = tcase_create("core");

  tcase_add_test(t, test_upload_at);
  tcase_add_test(t, test_hook);
  suite_add_tcase(s, t);
  return s;
}

int main(void)
{
  SRunner *r = srunner_create(suite());
  int failed;

  srunner_run_all(r, CK_NORMAL);
  failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
