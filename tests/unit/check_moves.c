/* check_moves.c: address changes and identity conflicts (agent/moves.c) over a real
 * database: a serial at two answering addresses in one run is a conflict, two clones do
 * not take turns, a move whose old address is silent (asked on loopback, where nothing
 * listens) or taken by another printer goes through, a stop leaves it undecided. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/moves.h"
#include "common/log.h"
#include "common/util.h"
#include "store/events.h"
#include "store/save.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#define T0 INT64_C(1795000000)
#define OLD "127.45.254.1" /* nothing listens there: a silent old address */
#define PORT 19

static char tmpdir[256], dbpath[512];
static asr_store *st;

typedef struct {
  unsigned saves, conflicts, undecided;
  char last_saved[64], last_conflict[64], detail[600];
} counts;

static void setup(void)
{
  char err[256];

  tu_tmpdir("check_moves", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  asr_log_set_level(ASR_LOG_ERR);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
}

static void teardown(void)
{
  asr_store_close(st);
  st = NULL;
  tu_rmtree(tmpdir);
}

static asr_result save_cb(const asr_device *dev, uint16_t port, const asr_snmp_cred *cred,
                          int64_t *id, void *ctx)
{
  counts *c = ctx;

  c->saves++;
  ck_assert_int_eq(asr_strlcpy(c->last_saved, dev->ip, sizeof(c->last_saved)), ASR_OK);
  return asr_store_save(st, dev, port, cred, T0, id);
}

static void held_cb(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                    const char *detail, void *ctx)
{
  counts *c = ctx;

  (void)port;
  (void)id;
  if (!conflict) {
    c->undecided++;
    return;
  }
  c->conflicts++;
  ck_assert_int_eq(asr_strlcpy(c->last_conflict, dev->ip, sizeof(c->last_conflict)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c->detail, detail, sizeof(c->detail)), ASR_OK);
}

static asr_device *device(const char *serial, const char *ip)
{
  static asr_device d;

  asr_device_init(&d);
  ck_assert_int_eq(asr_strlcpy(d.serial, serial, sizeof(d.serial)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.ip, ip, sizeof(d.ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.model, "Model M", sizeof(d.model)), ASR_OK);
  d.is_printer = true;
  return &d;
}

static asr_snmp_cred cred(void)
{
  asr_snmp_cred c;

  memset(&c, 0, sizeof(c));
  c.version = ASR_SNMP_V2C;
  ck_assert_int_eq(asr_strlcpy(c.community, "public", sizeof(c.community)), ASR_OK);
  return c;
}

static asr_scan_opts fast_opts(void)
{
  asr_scan_opts o;

  asr_scan_opts_init(&o);
  o.timeout_ms = 100;
  o.retries = 0;
  return o;
}

/* One run over the given (serial, address) answers; returns the counts. */
static counts run(const char *const *answers, size_t n, const asr_scan_opts *o)
{
  counts c;
  asr_snmp_cred cr = cred();
  asr_moves *m;

  memset(&c, 0, sizeof(c));
  m = asr_moves_new(st, T0, save_cb, held_cb, &c);
  ck_assert_ptr_nonnull(m);
  for (size_t i = 0; i + 1 < n; i += 2)
    ck_assert_int_eq(asr_moves_offer(m, device(answers[i], answers[i + 1]), PORT, &cr), ASR_OK);
  ck_assert_int_eq(asr_moves_settle(m, o, 0), ASR_OK);
  asr_moves_free(m);
  return c;
}

static const char *ip_of(const char *serial)
{
  static asr_store_device d;
  asr_store_match mt;

  ck_assert_int_eq(asr_store_match_device(st, device(serial, "0.0.0.0"), &mt), ASR_OK);
  ck_assert_int_ne(mt.id, 0);
  ck_assert_int_eq(asr_store_get(st, mt.id, &d), ASR_OK);
  return d.dev.ip;
}

static int count_events(const asr_event *e, void *ctx)
{
  *(int *)ctx += strcmp(e->kind, "serial_conflict") == 0;
  return 0;
}

static int conflict_events(void)
{
  int n = 0;

  ck_assert_int_eq(asr_events_foreach(st, 0, 0, count_events, &n), ASR_OK);
  return n;
}

START_TEST(test_new_and_same_address_saved_at_once)
{
  const char *a[] = {"S1", OLD, "S2", "127.45.254.2"};
  asr_scan_opts o = fast_opts();
  counts c = run(a, 4, &o);

  ck_assert_uint_eq(c.saves, 2);
  ck_assert_uint_eq(c.conflicts, 0);
  c = run(a, 2, &o); /* again, same address */
  ck_assert_uint_eq(c.saves, 1);
  ck_assert_str_eq(ip_of("S1"), OLD);
}
END_TEST

START_TEST(test_two_addresses_in_one_run_is_a_conflict)
{
  const char *first[] = {"S1", OLD};
  const char *both[] = {"S1", "127.45.254.9", "S1", OLD}; /* the clone answers first */
  asr_scan_opts o = fast_opts();
  counts c;

  run(first, 2, &o);
  c = run(both, 4, &o);
  ck_assert_uint_eq(c.saves, 1); /* the real one, at its address */
  ck_assert_uint_eq(c.conflicts, 1);
  ck_assert_str_eq(c.last_conflict, "127.45.254.9");
  ck_assert_ptr_nonnull(strstr(c.detail, "serial S1"));
  ck_assert_str_eq(ip_of("S1"), OLD);
  ck_assert_int_eq(conflict_events(), 1);
  run(both, 4, &o); /* the same conflict the same day: one event */
  ck_assert_int_eq(conflict_events(), 1);
}
END_TEST

START_TEST(test_two_clones_do_not_take_turns)
{
  const char *first[] = {"S1", OLD};
  const char *clones[] = {"S1", "127.45.254.8", "S1", "127.45.254.9"};
  asr_scan_opts o = fast_opts();
  counts c;

  run(first, 2, &o);
  c = run(clones, 4, &o);
  ck_assert_uint_eq(c.saves, 0);
  ck_assert_uint_eq(c.conflicts, 2);
  ck_assert_str_eq(ip_of("S1"), OLD);
}
END_TEST

START_TEST(test_move_when_old_address_silent)
{
  const char *first[] = {"S1", OLD};
  const char *moved[] = {"S1", "127.45.254.7"};
  asr_scan_opts o = fast_opts();
  counts c;

  run(first, 2, &o);
  c = run(moved, 2, &o); /* OLD is asked again: nothing answers there */
  ck_assert_uint_eq(c.conflicts, 0);
  ck_assert_uint_eq(c.saves, 1);
  ck_assert_str_eq(ip_of("S1"), "127.45.254.7");
}
END_TEST

static int stop_now(void *ctx);

START_TEST(test_move_when_old_address_taken)
{
  const char *first[] = {"S1", OLD};
  const char *other[] = {"S3", OLD}; /* another printer answers at S1's address */
  const char *moved[] = {"S1", "127.45.254.6"};
  asr_scan_opts o = fast_opts();
  counts c;

  run(first, 2, &o);
  run(other, 2, &o);
  o.tick = stop_now; /* no network: the store alone must decide */
  c = run(moved, 2, &o);
  ck_assert_uint_eq(c.conflicts, 0);
  ck_assert_uint_eq(c.saves, 1);
  ck_assert_str_eq(ip_of("S1"), "127.45.254.6");
  ck_assert_str_eq(ip_of("S3"), OLD);
}
END_TEST

static int stop_now(void *ctx)
{
  (void)ctx;
  return 1;
}

START_TEST(test_stop_leaves_undecided)
{
  const char *first[] = {"S1", OLD};
  const char *moved[] = {"S1", "127.45.254.7"};
  asr_scan_opts o = fast_opts();
  counts c;

  run(first, 2, &o);
  o.tick = stop_now;
  c = run(moved, 2, &o);
  ck_assert_uint_eq(c.saves, 0);
  ck_assert_uint_eq(c.conflicts, 0);
  ck_assert_uint_eq(c.undecided, 1);
  ck_assert_str_eq(ip_of("S1"), OLD);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("moves");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, test_new_and_same_address_saved_at_once);
  tcase_add_test(tc, test_two_addresses_in_one_run_is_a_conflict);
  tcase_add_test(tc, test_two_clones_do_not_take_turns);
  tcase_add_test(tc, test_move_when_old_address_silent);
  tcase_add_test(tc, test_move_when_old_address_taken);
  tcase_add_test(tc, test_stop_leaves_undecided);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
