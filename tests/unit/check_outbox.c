/* check_outbox.c: the outbox in the store (store/outbox.c) driven through batch building
 * (uplink/batch.c): build, mark, deliver, hold, split, prune, enrolment, crash safety. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/outbox.h"
#include "store/save.h"
#include "store/store.h"
#include "uplink/batch.h"
#include "tests/unit/testutil.h"

#define AGENT "ag_0123456789abcdef0123456789abcdef"
#define T0 1795000000

static char tmpdir[256], dbpath[512];

static void setup(void)
{
  tu_tmpdir("check_outbox", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  asr_log_set_level(ASR_LOG_ERR);
}

static void teardown(void)
{
  tu_rmtree(tmpdir);
}

static asr_store *open_db(void)
{
  asr_store *st = NULL;
  char err[256];

  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  return st;
}

/* n printers, one reading each at time t. */
static void poll_all(asr_store *st, int n, int64_t t)
{
  asr_device *d = calloc(1, sizeof(*d));

  for (int i = 0; i < n; i++) {
    asr_device_init(d);
    ck_assert_int_eq(asr_fmt(d->serial, sizeof(d->serial), "SN%04d", i), ASR_OK);
    ck_assert_int_eq(asr_fmt(d->ip, sizeof(d->ip), "192.0.2.%d", i + 1), ASR_OK);
    d->n_supplies = 1;
    d->supplies[0].index = 1;
    d->supplies[0].has_level = d->supplies[0].has_max = true;
    d->supplies[0].level = (t / 60 + i) % 100;
    d->supplies[0].max = 100;
    ck_assert_int_eq(asr_store_save(st, d, 161, NULL, t, NULL), ASR_OK);
  }
  free(d);
}

static asr_batch_opts opts(size_t max_readings)
{
  asr_batch_opts o = {AGENT, "0.1.0", T0 + 3600, max_readings};

  return o;
}

static asr_outbox_status status(asr_store *st)
{
  asr_outbox_status s;

  ck_assert_int_eq(asr_outbox_get_status(st, &s), ASR_OK);
  return s;
}

static void enroll(asr_store *st)
{
  asr_outbox_cred c;

  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(asr_strlcpy(c.endpoint, "https://central.example", sizeof(c.endpoint)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c.agent_id, AGENT, sizeof(c.agent_id)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c.secret,
                               "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                               sizeof(c.secret)),
                   ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c.proxy, "none", sizeof(c.proxy)), ASR_OK);
  ck_assert_int_eq(asr_outbox_enroll(st, &c, T0), ASR_OK);
}

START_TEST(test_build_in_chunks_and_deliver)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(4);
  asr_batch_built b;
  asr_outbox_batch ob;
  asr_outbox_status s;

  enroll(st);
  poll_all(st, 5, T0);
  poll_all(st, 5, T0 + 60);
  ck_assert_int_eq(status(st).pending_readings, 10);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
    ck_assert_int_eq(b.seq, i + 1);
    ck_assert_uint_eq(b.n_readings, i < 2 ? 4 : 2);
  }
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(b.seq, 0); /* everything is batched */
  s = status(st);
  ck_assert_int_eq(s.pending_batches, 3);
  ck_assert_int_eq(s.pending_readings, 10);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert(strncmp(ob.batch_id, AGENT "-0000000001-", strlen(AGENT) + 12) == 0);
  ck_assert_int_eq(ob.n_readings, 4);
  ck_assert_int_eq(asr_outbox_delivered(st, ob.seq, T0 + 3700), ASR_OK);
  asr_outbox_batch_free(&ob);
  s = status(st);
  ck_assert_int_eq(s.pending_batches, 2);
  ck_assert_int_eq(s.pending_readings, 6);
  ck_assert_int_eq(s.delivered_batches, 1);
  ck_assert_int_eq(s.last_upload, T0 + 3700);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert(strncmp(ob.batch_id, AGENT "-0000000002-", strlen(AGENT) + 12) == 0); /* in order */
  asr_outbox_batch_free(&ob);
  asr_store_close(st);
}
END_TEST

START_TEST(test_crash_resends_same_bytes)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(100);
  asr_batch_built b;
  asr_outbox_batch first, again;

  enroll(st);
  poll_all(st, 3, T0);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &first), ASR_OK);
  asr_store_close(st); /* "killed" after sending, before the 2xx was recorded */
  st = open_db();
  poll_all(st, 3, T0 + 60); /* new readings meanwhile */
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &again), ASR_OK);
  ck_assert_str_eq(again.batch_id, first.batch_id);
  ck_assert_uint_eq(again.body_len, first.body_len);
  ck_assert_int_eq(memcmp(again.body, first.body, first.body_len), 0);
  /* a new build carries only the new readings, never those of the pending batch */
  o.now += 60;
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_uint_eq(b.n_readings, 3);
  ck_assert_int_eq(status(st).pending_readings, 6);
  asr_outbox_batch_free(&first);
  asr_outbox_batch_free(&again);
  asr_store_close(st);
}
END_TEST

START_TEST(test_rollback_leaves_nothing)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(100);
  asr_batch_built b;
  int64_t seq;

  poll_all(st, 2, T0);
  ck_assert_int_eq(asr_outbox_begin(st), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_seq(st, &seq), ASR_OK);
  asr_outbox_rollback(st); /* a crash in the middle of a build */
  ck_assert_int_eq(status(st).pending_batches, 0);
  ck_assert_int_eq(status(st).pending_readings, 2);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(b.seq, seq); /* the number was not used */
  ck_assert_uint_eq(b.n_readings, 2);
  o.agent_id = ""; /* refused before anything is written */
  ck_assert_int_eq(asr_batch_build(st, &o, true, &b), ASR_ERR_INVALID);
  asr_store_close(st);
}
END_TEST

START_TEST(test_same_second_reading_requeued)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(100);
  asr_batch_built b;
  asr_outbox_batch ob;

  poll_all(st, 1, T0);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_int_eq(asr_outbox_delivered(st, ob.seq, T0 + 1), ASR_OK);
  asr_outbox_batch_free(&ob);
  ck_assert_int_eq(status(st).pending_readings, 0);
  poll_all(st, 1, T0); /* the same second again: the reading is replaced, sent again */
  ck_assert_int_eq(status(st).pending_readings, 1);
  asr_store_close(st);
}
END_TEST

START_TEST(test_hold_and_release)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(2);
  asr_batch_built b;
  asr_outbox_batch ob;
  asr_outbox_status s;
  int64_t n = 0;

  poll_all(st, 4, T0);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_int_eq(asr_outbox_hold(st, ob.seq, "HTTP 400: bad field", T0), ASR_OK);
  s = status(st);
  ck_assert_int_eq(s.held_batches, 1);
  ck_assert_int_eq(s.held_readings, 2);
  ck_assert_int_eq(s.pending_batches, 1);
  asr_outbox_batch_free(&ob);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_int_eq(ob.seq, 2); /* the held one is skipped */
  asr_outbox_batch_free(&ob);
  ck_assert_int_eq(asr_outbox_release_held(st, &n), ASR_OK);
  ck_assert_int_eq(n, 1);
  ck_assert_int_eq(status(st).pending_batches, 2);
  asr_store_close(st);
}
END_TEST

START_TEST(test_split_keeps_order_and_readings)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(5);
  asr_batch_built b;
  asr_outbox_batch ob;
  int64_t seqs[3], counts[3];

  poll_all(st, 5, T0);
  poll_all(st, 2, T0 + 60);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK); /* 5 readings */
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK); /* 2 readings */
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_int_eq(asr_batch_split(st, &o, &ob), ASR_OK); /* the 413 answer */
  asr_outbox_batch_free(&ob);
  for (int i = 0, pos = -1, seq = -1; i < 3; i++) {
    ck_assert_int_eq(asr_outbox_next_pending(st, pos, seq, &ob), ASR_OK);
    seqs[i] = ob.seq;
    counts[i] = ob.n_readings;
    pos = (int)ob.position;
    seq = (int)ob.seq;
    asr_outbox_batch_free(&ob);
  }
  ck_assert_int_eq(asr_outbox_next_pending(st, 1000, 1000, &ob), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(seqs[0], 3); /* the halves come first, where the batch was */
  ck_assert_int_eq(seqs[1], 4);
  ck_assert_int_eq(seqs[2], 2);
  ck_assert_int_eq(counts[0], 2);
  ck_assert_int_eq(counts[1], 3);
  ck_assert_int_eq(counts[2], 2);
  ck_assert_int_eq(status(st).pending_readings, 7);
  /* a batch of one reading cannot be split */
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ob.n_readings = 1;
  ck_assert_int_eq(asr_batch_split(st, &o, &ob), ASR_ERR_LIMIT);
  asr_outbox_batch_free(&ob);
  asr_store_close(st);
}
END_TEST

START_TEST(test_prune_delivered_only)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(1);
  asr_batch_built b;
  asr_outbox_batch ob;
  asr_outbox_status s;
  int64_t undelivered = 0, one;

  poll_all(st, 6, T0);
  for (int i = 0; i < 6; i++)
    ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  one = (int64_t)b.body_len;
  for (int i = 0; i < 4; i++) { /* deliver 4, keep 2 pending */
    ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
    ck_assert_int_eq(asr_outbox_delivered(st, ob.seq, T0 + i), ASR_OK);
    asr_outbox_batch_free(&ob);
  }
  ck_assert_int_eq(asr_outbox_prune(st, 3 * one + one / 2, &undelivered), ASR_OK);
  s = status(st);
  ck_assert_int_ge(undelivered, 2 * one - 16);
  ck_assert_int_le(s.bytes, 3 * one + one / 2 + 16); /* the oldest delivered went */
  ck_assert_int_eq(s.pending_batches, 2);
  ck_assert_int_eq(asr_outbox_prune(st, 1, &undelivered), ASR_OK); /* bound below pending */
  s = status(st);
  ck_assert_int_eq(s.bytes, s.undelivered_bytes); /* all delivered bodies gone... */
  ck_assert_int_eq(s.pending_batches, 2);         /* ...undelivered all kept */
  ck_assert_int_gt(undelivered, 1);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_uint_gt(ob.body_len, 0);
  asr_outbox_batch_free(&ob);
  asr_store_close(st);
}
END_TEST

START_TEST(test_enrolment_and_stop)
{
  asr_store *st = open_db();
  asr_outbox_cred c;
  asr_outbox_status s;
  asr_batch_opts o = opts(100);
  asr_batch_built b;

  ck_assert_int_eq(asr_outbox_get_cred(st, &c), ASR_ERR_NOT_FOUND);
  ck_assert(!status(st).enrolled);
  enroll(st);
  ck_assert_int_eq(asr_outbox_get_cred(st, &c), ASR_OK);
  ck_assert_str_eq(c.agent_id, AGENT);
  ck_assert_str_eq(c.proxy, "none");
  ck_assert_uint_eq(strlen(c.secret), 64);
  ck_assert_int_eq(asr_outbox_set_stopped(st, "HTTP 401: unknown agent"), ASR_OK);
  s = status(st);
  ck_assert(s.enrolled);
  ck_assert_str_eq(s.stopped, "HTTP 401: unknown agent");
  ck_assert_int_eq(asr_outbox_set_error(st, "timed out", T0), ASR_OK);
  ck_assert_str_eq(status(st).last_error, "timed out");
  ck_assert_int_eq(asr_strlcpy(c.endpoint, "https://other.example", sizeof(c.endpoint)), ASR_OK);
  ck_assert_int_eq(asr_outbox_save_settings(st, &c), ASR_OK);
  ck_assert_str_eq(status(st).endpoint, "https://other.example");
  /* re-enrolling: a pending batch of the old agent goes back to the queue */
  poll_all(st, 3, T0);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(status(st).pending_batches, 1);
  enroll(st);
  s = status(st);
  ck_assert_str_eq(s.stopped, "");
  ck_assert_str_eq(s.last_error, "");
  ck_assert_int_eq(s.pending_batches, 0);
  ck_assert_int_eq(s.pending_readings, 3);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(b.seq, 2); /* batch numbers are never reused */
  ck_assert_uint_eq(b.n_readings, 3);
  asr_store_close(st);
}
END_TEST

START_TEST(test_activity_for_heartbeat)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(100);
  asr_batch_built b;
  asr_outbox_batch ob;
  int64_t last = -1;
  bool pending = true, has_new = true;

  ck_assert_int_eq(asr_outbox_activity(st, &last, &pending), ASR_OK);
  ck_assert_int_eq(asr_outbox_has_new(st, &has_new), ASR_OK);
  ck_assert_int_eq(last, 0);
  ck_assert(!pending && !has_new);
  ck_assert(asr_batch_heartbeat_due(has_new, pending, last, T0));
  ck_assert_int_eq(asr_batch_build(st, &o, true, &b), ASR_OK);
  ck_assert_int_eq(asr_outbox_activity(st, &last, &pending), ASR_OK);
  ck_assert(pending);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  ck_assert_int_eq(ob.n_readings, 0);
  ck_assert_int_eq(asr_outbox_delivered(st, ob.seq, T0 + 5), ASR_OK);
  asr_outbox_batch_free(&ob);
  ck_assert_int_eq(asr_outbox_activity(st, &last, &pending), ASR_OK);
  ck_assert_int_eq(last, T0 + 5);
  ck_assert(!asr_batch_heartbeat_due(false, pending, last, T0 + 3600));
  ck_assert(asr_batch_heartbeat_due(false, pending, last, T0 + 5 + 86400));
  asr_store_close(st);
}
END_TEST

START_TEST(test_migration_queues_history)
{
  asr_store *st = open_db();
  sqlite3 *db;

  poll_all(st, 2, T0);
  asr_store_close(st);
  /* back to a version 1 file with its history, as issue 2's agent left it */
  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db,
                                "DROP TRIGGER readings_queue_ins; DROP TRIGGER readings_queue_upd;"
                                "DROP TRIGGER readings_queue_del; DROP TABLE upload_queue;"
                                "DROP TABLE outbox; DROP TABLE uplink;"
                                "DROP TABLE event_queue; DROP TABLE events;"
                                "DROP TABLE upload_problems;"
                                "DROP TABLE schedule;"                       /* version 5 */
                                "DROP TABLE meter_reads; DROP TABLE alerts;" /* version 7 */
                                "ALTER TABLE devices DROP COLUMN state;"
                                "ALTER TABLE devices DROP COLUMN state_since;"
                                "PRAGMA user_version = 1",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  st = open_db();
  ck_assert_int_eq(asr_store_schema_version(st), asr_store_schema_latest());
  ck_assert_int_eq(status(st).pending_readings, 2);
  asr_store_close(st);
}
END_TEST

/* A problem the central reported (tests fill what matters). */
static asr_outbox_problem problem(const char *what, const char *device, int64_t t, int64_t readings)
{
  asr_outbox_problem p;

  memset(&p, 0, sizeof(p));
  ck_assert_int_eq(asr_strlcpy(p.what, what, sizeof(p.what)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(p.device, device, sizeof(p.device)), ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(p.error, "readings[0].levels[2]: supply index 1 repeated", sizeof(p.error)),
      ASR_OK);
  p.t = t;
  p.readings = readings;
  return p;
}

/* Issue 10: what the central refused is recorded with the delivery, in one transaction,
 * and summed over a window for status and --check. */
START_TEST(test_delivered_with_problems)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(100);
  asr_batch_built b;
  asr_outbox_batch ob;
  asr_outbox_problem p[3];
  asr_outbox_problems sum;

  poll_all(st, 3, T0);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
  p[0] = problem("reading", "serial:SN0001", T0, 1);
  p[1] = problem("device", "serial:SN0002", -1, 4);
  p[1].events = 2;
  p[2] = problem("id_reused", "", -1, 0);
  ck_assert_int_eq(asr_outbox_delivered_problems(st, ob.seq, ob.batch_id, T0 + 10, p, 3), ASR_OK);
  ck_assert_int_eq(status(st).pending_batches, 0);
  ck_assert_int_eq(status(st).pending_readings, 0);
  ck_assert_int_eq(asr_outbox_problems_since(st, T0, &sum), ASR_OK);
  ck_assert_int_eq(sum.count, 3);
  ck_assert_int_eq(sum.readings_refused, 5);
  ck_assert_int_eq(sum.events_refused, 2);
  ck_assert_int_eq(sum.id_reused, 1);
  ck_assert_int_eq(sum.last.at, T0 + 10);
  ck_assert_str_eq(sum.last.batch_id, ob.batch_id);
  ck_assert_str_eq(sum.last.what, "device"); /* the newest refusal (not the id note) */
  ck_assert_str_eq(sum.last.device, "serial:SN0002");
  ck_assert_int_eq(asr_outbox_problems_since(st, T0 + 11, &sum), ASR_OK); /* the window */
  ck_assert_int_eq(sum.count, 0);
  ck_assert_int_eq(sum.readings_refused, 0);
  asr_outbox_batch_free(&ob);
  asr_store_close(st);
}
END_TEST

/* A failed transaction records neither the delivery nor the problems. */
START_TEST(test_problems_bounded)
{
  asr_store *st = open_db();
  asr_batch_opts o = opts(1);
  asr_batch_built b;
  asr_outbox_batch ob;
  asr_outbox_problem *p = calloc(ASR_OUTBOX_PROBLEMS_KEPT, sizeof(*p));
  asr_outbox_problems sum;

  ck_assert_ptr_nonnull(p);
  poll_all(st, 2, T0);
  for (size_t i = 0; i < ASR_OUTBOX_PROBLEMS_KEPT; i++)
    p[i] = problem("reading", "k", T0, 1);
  for (int k = 0; k < 2; k++) {
    ck_assert_int_eq(asr_batch_build(st, &o, false, &b), ASR_OK);
    ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &ob), ASR_OK);
    ck_assert_int_eq(
        asr_outbox_delivered_problems(st, ob.seq, ob.batch_id, T0 + k, p, ASR_OUTBOX_PROBLEMS_KEPT),
        ASR_OK);
    asr_outbox_batch_free(&ob);
  }
  ck_assert_int_eq(asr_outbox_problems_since(st, 0, &sum), ASR_OK);
  ck_assert_int_eq(sum.count, ASR_OUTBOX_PROBLEMS_KEPT); /* the oldest went */
  ck_assert_int_eq(sum.last.at, T0 + 1);
  ck_assert_int_eq(asr_outbox_problems_since(st, T0 + 1, &sum), ASR_OK);
  ck_assert_int_eq(sum.count, ASR_OUTBOX_PROBLEMS_KEPT);
  free(p);
  asr_store_close(st);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("outbox");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_build_in_chunks_and_deliver);
  tcase_add_test(tc, test_crash_resends_same_bytes);
  tcase_add_test(tc, test_rollback_leaves_nothing);
  tcase_add_test(tc, test_same_second_reading_requeued);
  tcase_add_test(tc, test_hold_and_release);
  tcase_add_test(tc, test_split_keeps_order_and_readings);
  tcase_add_test(tc, test_prune_delivered_only);
  tcase_add_test(tc, test_enrolment_and_stop);
  tcase_add_test(tc, test_activity_for_heartbeat);
  tcase_add_test(tc, test_migration_queues_history);
  tcase_add_test(tc, test_delivered_with_problems);
  tcase_add_test(tc, test_problems_bounded);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
