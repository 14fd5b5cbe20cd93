/* check_health.c: the disconnection flag (agent/health.c) with its events and states in a
 * real SQLite file (store/events.c): transitions at their exact boundaries, reconnection,
 * a moved printer, the sweep, cartridge replacements, status --check lines and statuses,
 * events in a built batch, and the migration from schema 2. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/health.h"
#include "common/log.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/save.h"
#include "store/store.h"
#include "uplink/batch.h"
#include "wire/gz.h"
#include "tests/unit/testutil.h"

#define AGENT "ag_0123456789abcdef0123456789abcdef"
#define T0 1795000000
#define HOUR 3600
#define DAY 86400

static char tmpdir[256], dbpath[512];

static void setup(void)
{
  tu_tmpdir("check_health", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  asr_log_set_level(ASR_LOG_ERR);
  asr_health_set_policy(NULL);
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

/* A printer with one toner (level/100) and one waste box (space/100, a receptacle). */
static int64_t save(asr_store *st, const char *serial, const char *ip, int toner, int waste,
                    int64_t t)
{
  asr_device *d = calloc(1, sizeof(*d));
  int64_t id = 0;

  ck_assert_ptr_nonnull(d);
  asr_device_init(d);
  ck_assert_int_eq(asr_strlcpy(d->serial, serial, sizeof(d->serial)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->ip, ip, sizeof(d->ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->sys_object_id, "1.3.6.1.4.1.99999.1", sizeof(d->sys_object_id)),
                   ASR_OK);
  d->is_printer = true;
  d->n_supplies = 2;
  d->supplies[0].index = 1;
  d->supplies[0].type = 3; /* toner */
  d->supplies[0].klass = ASR_CLASS_CONSUMED;
  d->supplies[1].index = 2;
  d->supplies[1].type = 8; /* wasteToner */
  d->supplies[1].klass = ASR_CLASS_RECEPTACLE;
  ck_assert_int_eq(
      asr_strlcpy(d->supplies[0].description, "Black Toner", sizeof(d->supplies[0].description)),
      ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(d->supplies[1].description, "Waste Box", sizeof(d->supplies[1].description)),
      ASR_OK);
  for (int i = 0; i < 2; i++) {
    d->supplies[i].has_level = d->supplies[i].has_max = true;
    d->supplies[i].max = 100;
    d->supplies[i].level = i == 0 ? toner : waste;
    asr_supply_normalize(&d->supplies[i], 0);
  }
  ck_assert_int_eq(asr_store_save(st, d, 161, NULL, t, &id), ASR_OK);
  free(d);
  ck_assert_int_eq(asr_health_after_poll(st, id, true, ASR_OK, "", t, NULL), ASR_OK);
  return id;
}

static void fail_poll(asr_store *st, int64_t id, asr_result code, const char *reason, int64_t t)
{
  ck_assert_int_eq(asr_store_record_failure(st, id, t, code, reason), ASR_OK);
  ck_assert_int_eq(asr_health_after_poll(st, id, false, code, reason, t, NULL), ASR_OK);
}

static const char *state_of(asr_store *st, int64_t id, int64_t *since)
{
  static char state[ASR_EVENTS_STATE_MAX];
  int64_t s = 0;

  ck_assert_int_eq(asr_events_get_state(st, id, state, sizeof(state), &s), ASR_OK);
  if (since)
    *since = s;
  return state;
}

typedef struct {
  asr_event ev[16];
  size_t n;
} event_list;

static int collect(const asr_event *e, void *ctx)
{
  event_list *l = ctx;

  if (l->n < 16)
    l->ev[l->n++] = *e;
  return 0;
}

static event_list events_of(asr_store *st, int64_t id)
{
  event_list l;

  memset(&l, 0, sizeof(l));
  ck_assert_int_eq(asr_events_foreach(st, id, 0, collect, &l), ASR_OK);
  return l;
}

/* ---- pure rules ---- */

START_TEST(test_next_boundaries)
{
  asr_health_policy p;

  asr_health_policy_init(&p);
  ck_assert_int_eq(p.silent_after, DAY);
  ck_assert_uint_eq(p.min_failures, 3);
  ck_assert_int_eq(p.disconnected_after, 7 * DAY);
  /* silent: 24 h AND 3 failures, both exactly at the boundary */
  ck_assert_int_eq(asr_health_next(ASR_DEV_ACTIVE, false, T0, 3, T0 + DAY - 1, &p), ASR_DEV_ACTIVE);
  ck_assert_int_eq(asr_health_next(ASR_DEV_ACTIVE, false, T0, 2, T0 + DAY, &p), ASR_DEV_ACTIVE);
  ck_assert_int_eq(asr_health_next(ASR_DEV_ACTIVE, false, T0, 3, T0 + DAY, &p), ASR_DEV_SILENT);
  /* disconnected: 7 days */
  ck_assert_int_eq(asr_health_next(ASR_DEV_SILENT, false, T0, 9, T0 + 7 * DAY - 1, &p),
                   ASR_DEV_SILENT);
  ck_assert_int_eq(asr_health_next(ASR_DEV_SILENT, false, T0, 9, T0 + 7 * DAY, &p),
                   ASR_DEV_DISCONNECTED);
  ck_assert_int_eq(asr_health_next(ASR_DEV_ACTIVE, false, T0, 1, T0 + 7 * DAY, &p),
                   ASR_DEV_DISCONNECTED);
  /* a failure never softens a flag; an answer always clears it */
  ck_assert_int_eq(asr_health_next(ASR_DEV_DISCONNECTED, false, T0, 0, T0 + 1, &p),
                   ASR_DEV_DISCONNECTED);
  ck_assert_int_eq(asr_health_next(ASR_DEV_DISCONNECTED, true, T0, 9, T0 + 30 * DAY, &p),
                   ASR_DEV_ACTIVE);
  /* a custom policy */
  p.silent_after = HOUR;
  p.min_failures = 1;
  ck_assert_int_eq(asr_health_next(ASR_DEV_ACTIVE, false, T0, 1, T0 + HOUR, &p), ASR_DEV_SILENT);
}
END_TEST

START_TEST(test_state_names)
{
  asr_dev_state s;

  ck_assert_str_eq(asr_dev_state_name(ASR_DEV_ACTIVE), "active");
  ck_assert_str_eq(asr_dev_state_name(ASR_DEV_SILENT), "silent");
  ck_assert_str_eq(asr_dev_state_name(ASR_DEV_DISCONNECTED), "disconnected");
  ck_assert(asr_dev_state_parse("silent", &s) && s == ASR_DEV_SILENT);
  ck_assert(asr_dev_state_parse("disconnected", &s) && s == ASR_DEV_DISCONNECTED);
  ck_assert(asr_dev_state_parse("active", &s) && s == ASR_DEV_ACTIVE);
  ck_assert(!asr_dev_state_parse("Silent", &s));
  ck_assert(!asr_dev_state_parse(NULL, &s));
}
END_TEST

START_TEST(test_reasons)
{
  /* one assertion per row of the reasons table */
  ck_assert_str_eq(asr_health_reason(ASR_ERR_TIMEOUT), "timeout");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_AUTH), "auth failure");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_SNMP), "host unreachable");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_RESOLVE), "host unreachable");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_IO), "host unreachable");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_NOT_PRINTER), "not a printer any more");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_NOT_FOUND), "a different printer at the address");
  ck_assert_str_eq(asr_health_reason(ASR_ERR_PROTOCOL), "garbled answers");
  ck_assert_str_eq(asr_health_reason(ASR_OK), "no answer");
}
END_TEST

START_TEST(test_replaced_rule)
{
  ck_assert_int_eq(asr_health_replaced(5, 100), 1);
  ck_assert_int_eq(asr_health_replaced(ASR_SUPPLY_LOW_PERCENT, 100), 1);
  ck_assert_int_eq(asr_health_replaced(ASR_SUPPLY_LOW_PERCENT + 1, 100), 2);
  ck_assert_int_eq(asr_health_replaced(50, 50 + ASR_HEALTH_REPLACE_JUMP), 0);
  ck_assert_int_eq(asr_health_replaced(50, 50 + ASR_HEALTH_REPLACE_JUMP + 1), 2);
  ck_assert_int_eq(asr_health_replaced(100, 5), 0);
  ck_assert_int_eq(asr_health_replaced(-1, 100), 0);
  ck_assert_int_eq(asr_health_replaced(5, -1), 0);
}
END_TEST

/* ---- transitions in the store ---- */

START_TEST(test_silent_disconnected_reconnected)
{
  asr_store *st = open_db();
  int64_t id = save(st, "CNB1", "127.0.0.11", 50, 80, T0), since = 0;
  event_list l;

  ck_assert_str_eq(state_of(st, id, &since), "active");
  ck_assert_int_eq(since, T0);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer after 2 tries", T0 + HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer after 2 tries", T0 + 2 * HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer after 2 tries", T0 + DAY - 1);
  ck_assert_str_eq(state_of(st, id, NULL), "active"); /* 3 failures, one second short */
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer after 2 tries", T0 + DAY);
  ck_assert_str_eq(state_of(st, id, &since), "silent");
  ck_assert_int_eq(since, T0 + DAY);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + 2 * DAY);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + 7 * DAY - 1);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + 7 * DAY);
  ck_assert_str_eq(state_of(st, id, NULL), "disconnected");
  save(st, "CNB1", "127.0.0.11", 50, 80, T0 + 8 * DAY);
  ck_assert_str_eq(state_of(st, id, &since), "active");
  ck_assert_int_eq(since, T0 + 8 * DAY);
  l = events_of(st, id);
  ck_assert_uint_eq(l.n, 3);
  ck_assert_str_eq(l.ev[0].kind, "silent");
  ck_assert_int_eq(l.ev[0].t, T0 + DAY);
  ck_assert_ptr_nonnull(strstr(l.ev[0].detail, "timeout: no answer for 1d 0h, 4 failed polls"));
  ck_assert_str_eq(l.ev[1].kind, "disconnected");
  ck_assert_int_eq(l.ev[1].t, T0 + 7 * DAY);
  ck_assert_str_eq(l.ev[2].kind, "reconnected");
  ck_assert_ptr_nonnull(strstr(l.ev[2].detail, "answers again at 127.0.0.11 after 1d 0h"));
  asr_store_close(st);
}
END_TEST

START_TEST(test_reasons_in_events)
{
  static const struct {
    asr_result code;
    const char *word;
  } cases[] = {
      {ASR_ERR_AUTH, "auth failure: "},
      {ASR_ERR_SNMP, "host unreachable: "},
      {ASR_ERR_NOT_PRINTER, "not a printer any more: "},
      {ASR_ERR_NOT_FOUND, "a different printer at the address: "},
  };
  asr_store *st = open_db();

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char serial[16];
    int64_t id;
    event_list l;

    ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "R%zu", i), ASR_OK);
    id = save(st, serial, "127.0.0.20", 50, 80, T0);
    for (int k = 1; k <= 3; k++)
      fail_poll(st, id, cases[i].code, "why\nnot", T0 + k * 12 * HOUR);
    l = events_of(st, id);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.ev[0].kind, "silent");
    ck_assert_ptr_eq(strstr(l.ev[0].detail, cases[i].word), l.ev[0].detail);
    ck_assert_ptr_nonnull(strstr(l.ev[0].detail, "(last: why not)")); /* one line */
  }
  asr_store_close(st);
}
END_TEST

START_TEST(test_policy_from_config)
{
  asr_store *st = open_db();
  asr_health_policy p;
  int64_t id = save(st, "P1", "127.0.0.30", 50, 80, T0);

  asr_health_policy_init(&p);
  p.silent_after = HOUR;
  p.min_failures = 1;
  asr_health_set_policy(&p);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "t", T0 + HOUR);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  asr_health_set_policy(NULL);
  asr_health_policy_current(&p);
  ck_assert_int_eq(p.silent_after, DAY);
  asr_store_close(st);
}
END_TEST

START_TEST(test_moved_printer_not_silent)
{
  asr_store *st = open_db();
  int64_t id = save(st, "MOVE1", "127.0.0.40", 50, 80, T0), id2;
  event_list l;

  for (int k = 1; k <= 3; k++)
    fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + k * 12 * HOUR);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  /* discovery finds it at another address by its serial: the same device, active again */
  id2 = save(st, "MOVE1", "127.0.0.41", 50, 80, T0 + 2 * DAY);
  ck_assert_int_eq(id2, id);
  ck_assert_str_eq(state_of(st, id, NULL), "active");
  l = events_of(st, id);
  ck_assert_uint_eq(l.n, 2);
  ck_assert_ptr_nonnull(strstr(l.ev[1].detail, "at 127.0.0.41"));
  /* a moved printer that answered in time is never flagged */
  id = save(st, "MOVE2", "127.0.0.42", 50, 80, T0);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + 2 * HOUR);
  save(st, "MOVE2", "127.0.0.43", 50, 80, T0 + 3 * HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "no answer", T0 + 26 * HOUR);
  ck_assert_str_eq(state_of(st, id, NULL), "active");
  ck_assert_uint_eq(events_of(st, id).n, 0);
  asr_store_close(st);
}
END_TEST

START_TEST(test_sweep)
{
  asr_store *st = open_db();
  int64_t id = save(st, "SW1", "127.0.0.50", 50, 80, T0), other;
  size_t changed = 99;
  event_list l;

  /* failures recorded, then never polled again (e.g. superseded) */
  for (int k = 1; k <= 3; k++)
    ck_assert_int_eq(
        asr_store_record_failure(st, id, T0 + k * HOUR, ASR_ERR_NOT_FOUND, "another serial"),
        ASR_OK);
  other = save(st, "SW2", "127.0.0.51", 50, 80, T0 + 2 * DAY);
  ck_assert_int_eq(asr_health_sweep(st, T0 + DAY - 1, NULL, &changed), ASR_OK);
  ck_assert_uint_eq(changed, 0);
  ck_assert_int_eq(asr_health_sweep(st, T0 + 2 * DAY, NULL, &changed), ASR_OK);
  ck_assert_uint_eq(changed, 1);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  ck_assert_str_eq(state_of(st, other, NULL), "active");
  l = events_of(st, id);
  ck_assert_uint_eq(l.n, 1);
  ck_assert_ptr_eq(strstr(l.ev[0].detail, "a different printer at the address"), l.ev[0].detail);
  ck_assert_int_eq(asr_health_sweep(st, T0 + 2 * DAY, NULL, &changed), ASR_OK);
  ck_assert_uint_eq(changed, 0); /* idempotent */
  asr_store_close(st);
}
END_TEST

/* ---- replacements ---- */

START_TEST(test_replacement_normal_early_receptacle)
{
  asr_store *st = open_db();
  int64_t id = save(st, "REP1", "127.0.0.60", 5, 50, T0);
  event_list l;

  save(st, "REP1", "127.0.0.60", 100, 50, T0 + HOUR); /* toner 5 -> 100: normal */
  save(st, "REP1", "127.0.0.60", 40, 50, T0 + 2 * HOUR);
  save(st, "REP1", "127.0.0.60", 95, 50, T0 + 3 * HOUR); /* 40 -> 95: early */
  save(st, "REP1", "127.0.0.60", 95, 4, T0 + 4 * HOUR);
  save(st, "REP1", "127.0.0.60", 95, 100, T0 + 5 * HOUR); /* waste box emptied */
  l = events_of(st, id);
  ck_assert_uint_eq(l.n, 3);
  ck_assert_str_eq(l.ev[0].kind, "replaced");
  ck_assert_int_eq(l.ev[0].t, T0 + HOUR);
  ck_assert_str_eq(l.ev[0].detail, "Black Toner (index 1) replaced: 5% -> 100%");
  ck_assert_str_eq(l.ev[1].detail, "Black Toner (index 1) replaced: 40% -> 95%, early");
  ck_assert_str_eq(l.ev[2].detail,
                   "Waste Box (index 2) emptied or replaced, space left: 4% -> 100%");
  asr_store_close(st);
}
END_TEST

START_TEST(test_no_event_when_levels_drop)
{
  asr_store *st = open_db();
  int64_t id = save(st, "DROP1", "127.0.0.70", 100, 100, T0);

  save(st, "DROP1", "127.0.0.70", 60, 70, T0 + HOUR);     /* both drop */
  save(st, "DROP1", "127.0.0.70", 80, 90, T0 + 2 * HOUR); /* +20: not more than 20 */
  save(st, "DROP1", "127.0.0.70", 2, 90, T0 + 3 * HOUR);
  ck_assert_uint_eq(events_of(st, id).n, 0);
  asr_store_close(st);
}
END_TEST

START_TEST(test_both_supplies_one_event)
{
  asr_store *st = open_db();
  int64_t id = save(st, "BOTH", "127.0.0.71", 3, 2, T0);
  event_list l;

  save(st, "BOTH", "127.0.0.71", 100, 100, T0 + HOUR);
  l = events_of(st, id);
  ck_assert_uint_eq(l.n, 1); /* the central keys events by (device, t, kind) */
  ck_assert_ptr_nonnull(strstr(l.ev[0].detail, "Black Toner (index 1) replaced: 3% -> 100%; "));
  ck_assert_ptr_nonnull(strstr(l.ev[0].detail, "Waste Box (index 2) emptied"));
  asr_store_close(st);
}
END_TEST

/* A discovery and a poll in the same second save the same reading twice: the cartridge
 * replaced between the two readings is one event, not two. */
START_TEST(test_same_second_one_event)
{
  asr_store *st = open_db();
  int64_t id = save(st, "SAME", "127.0.0.72", 4, 50, T0);

  save(st, "SAME", "127.0.0.72", 100, 50, T0 + HOUR);
  save(st, "SAME", "127.0.0.72", 100, 50, T0 + HOUR);
  ck_assert_uint_eq(events_of(st, id).n, 1);
  asr_store_close(st);
}
END_TEST

/* ---- status --check ---- */

static void set_uplink(asr_store *st, int64_t last_upload, const char *stopped)
{
  asr_outbox_cred c;
  char sql[256];

  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(asr_strlcpy(c.endpoint, "https://central.example", sizeof(c.endpoint)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c.agent_id, AGENT, sizeof(c.agent_id)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(c.secret,
                               "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                               sizeof(c.secret)),
                   ASR_OK);
  ck_assert_int_eq(asr_outbox_enroll(st, &c, T0), ASR_OK);
  ck_assert_int_eq(
      asr_fmt(sql, sizeof(sql), "UPDATE uplink SET last_upload = %lld", (long long)last_upload),
      ASR_OK);
  ck_assert_int_eq(sqlite3_exec(asr_store_sqlite(st), sql, NULL, NULL, NULL), SQLITE_OK);
  if (stopped)
    ck_assert_int_eq(asr_outbox_set_stopped(st, stopped), ASR_OK);
}

static asr_check_status check(asr_store *st, int64_t now, char *line)
{
  return asr_health_check(st, now, line, 1024);
}

START_TEST(test_check_printers)
{
  asr_store *st = open_db();
  char line[1024];
  int64_t a, b;

  ck_assert_int_eq(check(st, T0, line), ASR_CHECK_OK);
  ck_assert_str_eq(line, "ASR-AGENT OK - 0 printers active, not enrolled | devices=0 silent=0"
                         " disconnected=0");
  a = save(st, "CNB1", "127.0.0.80", 50, 80, T0);
  b = save(st, "CNB2", "127.0.0.81", 50, 80, T0);
  save(st, "CNB3", "127.0.0.82", 50, 80, T0);
  ck_assert_int_eq(check(st, T0, line), ASR_CHECK_OK);
  ck_assert_str_eq(line, "ASR-AGENT OK - 3 printers active, not enrolled | devices=3 silent=0"
                         " disconnected=0");
  for (int k = 1; k <= 3; k++) {
    fail_poll(st, a, ASR_ERR_TIMEOUT, "t", T0 + k * 12 * HOUR);
    fail_poll(st, b, ASR_ERR_TIMEOUT, "t", T0 + k * 12 * HOUR + 1);
  }
  ck_assert_int_eq(check(st, T0 + 2 * DAY, line), ASR_CHECK_WARNING);
  ck_assert_str_eq(line, "ASR-AGENT WARNING - 2 silent printers (CNB1, CNB2), not enrolled |"
                         " devices=3 silent=2 disconnected=0");
  fail_poll(st, a, ASR_ERR_TIMEOUT, "t", T0 + 7 * DAY);
  ck_assert_int_eq(check(st, T0 + 7 * DAY, line), ASR_CHECK_CRITICAL);
  ck_assert_str_eq(line, "ASR-AGENT CRITICAL - 1 disconnected printer (CNB1), 1 silent printer"
                         " (CNB2), not enrolled | devices=3 silent=1 disconnected=1");
  asr_store_close(st);
}
END_TEST

START_TEST(test_check_upload)
{
  asr_store *st = open_db();
  char line[1024];
  int64_t a, b;

  a = save(st, "CNB1", "127.0.0.90", 50, 80, T0);
  b = save(st, "CNB2", "127.0.0.91", 50, 80, T0);
  set_uplink(st, 0, NULL); /* enrolled at T0, never uploaded */
  ck_assert_int_eq(check(st, T0 + 2 * DAY - 1, line), ASR_CHECK_OK);
  ck_assert_int_eq(check(st, T0 + 2 * DAY, line), ASR_CHECK_WARNING);
  ck_assert_ptr_nonnull(strstr(line, "no upload since enrolment 2 days ago"));
  set_uplink(st, T0 + HOUR, NULL);
  ck_assert_int_eq(check(st, T0 + 4 * HOUR, line), ASR_CHECK_OK);
  ck_assert_str_eq(line, "ASR-AGENT OK - 2 printers active, last upload 3 hours ago |"
                         " devices=2 silent=0 disconnected=0");
  ck_assert_int_eq(check(st, T0 + HOUR + 90, line), ASR_CHECK_OK);
  ck_assert_ptr_nonnull(strstr(line, "last upload 1 minute ago |"));
  ck_assert_int_eq(check(st, T0 + HOUR + 150, line), ASR_CHECK_OK);
  ck_assert_ptr_nonnull(strstr(line, "last upload 2 minutes ago |"));
  ck_assert_int_eq(check(st, T0 + HOUR + 2 * DAY, line), ASR_CHECK_WARNING);
  ck_assert_int_eq(check(st, T0 + HOUR + 7 * DAY - 1, line), ASR_CHECK_WARNING);
  ck_assert_int_eq(check(st, T0 + HOUR + 7 * DAY, line), ASR_CHECK_CRITICAL);
  /* the example of the issue: two silent printers and 8 days without upload */
  for (int k = 1; k <= 3; k++) {
    fail_poll(st, a, ASR_ERR_TIMEOUT, "t", T0 + k * 12 * HOUR);
    fail_poll(st, b, ASR_ERR_TIMEOUT, "t", T0 + k * 12 * HOUR);
  }
  ck_assert_int_eq(check(st, T0 + HOUR + 8 * DAY, line), ASR_CHECK_CRITICAL);
  ck_assert_str_eq(line, "ASR-AGENT CRITICAL - 2 silent printers (CNB1, CNB2), last upload 8 days"
                         " ago | devices=2 silent=2 disconnected=0");
  set_uplink(st, T0 + 2 * DAY, "403 agent revoked");
  ck_assert_int_eq(check(st, T0 + 2 * DAY, line), ASR_CHECK_CRITICAL);
  ck_assert_ptr_nonnull(strstr(line, "uploads stopped"));
  asr_store_close(st);
}
END_TEST

/* Issue 10: what the central refused (and a reused batch id) is a WARNING for a week. */
START_TEST(test_check_refused)
{
  asr_store *st = open_db();
  asr_outbox_problem p;
  char line[1024];

  save(st, "CNB1", "127.0.0.95", 50, 80, T0);
  set_uplink(st, T0 + HOUR, NULL);
  ck_assert_int_eq(check(st, T0 + 2 * HOUR, line), ASR_CHECK_OK);
  memset(&p, 0, sizeof(p));
  ck_assert_int_eq(asr_strlcpy(p.what, "reading", sizeof(p.what)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(p.device, "serial:CNB1", sizeof(p.device)), ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(p.error, "readings[3].levels[2]: supply index 1 repeated", sizeof(p.error)),
      ASR_OK);
  p.t = T0;
  p.readings = 3;
  ck_assert_int_eq(asr_outbox_problems_add(st, AGENT "-0000000001", T0 + HOUR, &p, 1), ASR_OK);
  ck_assert_int_eq(check(st, T0 + 2 * HOUR, line), ASR_CHECK_WARNING);
  ck_assert_ptr_nonnull(strstr(line, "the central refused 3 readings"));
  ck_assert_int_eq(check(st, T0 + HOUR + 7 * DAY - 1 - HOUR, line), ASR_CHECK_WARNING);
  set_uplink(st, T0 + 8 * DAY, NULL);
  ck_assert_int_eq(check(st, T0 + 8 * DAY + HOUR, line), ASR_CHECK_OK); /* a week later */
  memset(&p, 0, sizeof(p));
  ck_assert_int_eq(asr_strlcpy(p.what, "id_reused", sizeof(p.what)), ASR_OK);
  ck_assert_int_eq(asr_outbox_problems_add(st, AGENT "-0000000002", T0 + 8 * DAY, &p, 1), ASR_OK);
  ck_assert_int_eq(check(st, T0 + 8 * DAY + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_ptr_nonnull(strstr(line, "batch id reused"));
  asr_store_close(st);
}
END_TEST

START_TEST(test_check_unknown_and_names)
{
  asr_store *st = open_db();
  char line[1024];

  ck_assert_int_eq(check(NULL, T0, line), ASR_CHECK_UNKNOWN);
  ck_assert_ptr_eq(strstr(line, "ASR-AGENT UNKNOWN - "), line);
  /* printer-controlled names: no '|' (the perfdata separator), no control characters */
  for (int i = 0; i < 7; i++) {
    char serial[32];
    int64_t id;

    ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "X|%d\x01,", i), ASR_OK);
    id = save(st, serial, "127.0.0.99", 50, 80, T0);
    for (int k = 1; k <= 3; k++)
      fail_poll(st, id, ASR_ERR_TIMEOUT, "t", T0 + k * 12 * HOUR);
  }
  ck_assert_int_eq(check(st, T0 + 2 * DAY, line), ASR_CHECK_WARNING);
  ck_assert_str_eq(line, "ASR-AGENT WARNING - 7 silent printers (X?0??, X?1??, X?2??, X?3??,"
                         " X?4??, ...), not enrolled | devices=7 silent=7 disconnected=0");
  /* a broken database: UNKNOWN */
  ck_assert_int_eq(sqlite3_exec(asr_store_sqlite(st), "DROP TABLE uplink", NULL, NULL, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(check(st, T0, line), ASR_CHECK_UNKNOWN);
  asr_store_close(st);
}
END_TEST

/* A pending batch of body_len bytes (no readings), as an upload run would add it. */
static int64_t add_batch(asr_store *st, size_t body_len, int64_t readings)
{
  asr_outbox_batch b;
  asr_outbox_cut cut;
  uint8_t *body = calloc(1, body_len);

  ck_assert_ptr_nonnull(body);
  memset(&b, 0, sizeof(b));
  memset(&cut, 0, sizeof(cut));
  ck_assert_int_eq(asr_outbox_begin(st), ASR_OK);
  ck_assert_int_eq(asr_outbox_next_seq(st, &b.seq), ASR_OK);
  ck_assert_int_eq(asr_fmt(b.batch_id, sizeof(b.batch_id), "b-%lld", (long long)b.seq), ASR_OK);
  b.body = body;
  b.body_len = body_len;
  b.n_readings = readings;
  ck_assert_int_eq(asr_outbox_add(st, &b, 0, &cut, T0), ASR_OK);
  ck_assert_int_eq(asr_outbox_commit(st), ASR_OK);
  free(body);
  return b.seq;
}

static asr_check_status check_l(asr_store *st, const asr_check_limits *l, int64_t now, char *line)
{
  return asr_health_check_limits(st, l, now, line, 2048);
}

/* Issue 10: held batches and the outbox bound in status --check. */
START_TEST(test_check_outbox)
{
  asr_store *st = open_db();
  asr_check_limits l;
  char line[2048];
  int64_t held;

  save(st, "CNB1", "127.0.0.95", 50, 80, T0);
  set_uplink(st, T0, NULL);
  asr_check_limits_init(&l);
  ck_assert_int_eq(l.outbox_max_bytes, 100 << 20);
  l.outbox_max_bytes = 1 << 20;
  add_batch(st, 400 << 10, 10); /* 39% of the bound: nothing to say */
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_OK);
  ck_assert_str_eq(line, "ASR-AGENT OK - 1 printer active, last upload 60 minutes ago |"
                         " devices=1 silent=0 disconnected=0");
  add_batch(st, 440 << 10, 10); /* 82% */
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_str_eq(line, "ASR-AGENT WARNING - 1 printer active, last upload 60 minutes ago,"
                         " outbox 82% full (0.8 MB of undelivered batches, bound 1.0 MB) |"
                         " devices=1 silent=0 disconnected=0");
  held = add_batch(st, 10, 7);
  ck_assert_int_eq(
      asr_outbox_hold(st, held, "400: readings[3]: supply index 1 repeated|x\n", T0 + HOUR),
      ASR_OK);
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_str_eq(line, "ASR-AGENT WARNING - 1 printer active, last upload 60 minutes ago,"
                         " 1 batch held (7 readings not delivered: 400: readings[3]: supply index"
                         " 1 repeated?x?), outbox 82% full (0.8 MB of undelivered batches, bound"
                         " 1.0 MB) | devices=1 silent=0 disconnected=0");
  add_batch(st, 200 << 10, 10); /* over the bound: readings are not being sent */
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_CRITICAL);
  ck_assert_ptr_nonnull(strstr(line, "1 batch held (7 readings"));
  ck_assert_ptr_nonnull(strstr(line, ", outbox full: 1.0 MB of undelivered batches over its bound"
                                     " of 1.0 MB (all kept, not sent) |"));
  /* under the default bound, but the last upload run found it full (its own bound) */
  asr_check_limits_init(&l);
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_int_eq(asr_outbox_set_full(st, true), ASR_OK);
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_CRITICAL);
  ck_assert_ptr_nonnull(strstr(line, "outbox full"));
  ck_assert_int_eq(asr_outbox_set_full(st, false), ASR_OK);
  /* two held batches; none once they go back to pending */
  held = add_batch(st, 10, 3);
  ck_assert_int_eq(asr_outbox_hold(st, held, "413: too large", T0 + HOUR), ASR_OK);
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_ptr_nonnull(strstr(line, "2 batches held (10 readings not delivered: 400: readings"));
  {
    int64_t n = 0;
    ck_assert_int_eq(asr_outbox_release_held(st, &n), ASR_OK);
    ck_assert_int_eq(n, 2);
  }
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_OK);
  /* the configured upload limits and a configuration problem */
  l.upload_warning_after = HOUR / 2;
  l.upload_critical_after = HOUR;
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR / 2, line), ASR_CHECK_WARNING);
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_CRITICAL);
  asr_check_limits_init(&l);
  l.config_problem = "/etc/asr-agent/asr-agent.conf:3: unknown directive 'x|y'";
  ck_assert_int_eq(check_l(st, &l, T0 + HOUR, line), ASR_CHECK_WARNING);
  ck_assert_ptr_nonnull(strstr(line,
                               ", configuration not used, defaults apply:"
                               " /etc/asr-agent/asr-agent.conf:3: unknown directive 'x?y' |"));
  asr_store_close(st);
}
END_TEST

/* ---- events in a batch ---- */

static json_t *pending_json(asr_store *st)
{
  asr_outbox_batch b;
  uint8_t *text = NULL;
  size_t len = 0;
  json_t *doc;

  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &b), ASR_OK);
  ck_assert_int_eq(asr_gz_decompress(b.body, b.body_len, 1 << 24, &text, &len), ASR_OK);
  doc = json_loadb((const char *)text, len, 0, NULL);
  ck_assert_ptr_nonnull(doc);
  free(text);
  asr_outbox_batch_free(&b);
  return doc;
}

START_TEST(test_events_in_batch)
{
  asr_store *st = open_db();
  asr_batch_opts o = {AGENT, "0.1.0", T0 + 3 * DAY, 1000};
  asr_batch_built built;
  int64_t quiet = save(st, "EV1", "127.0.0.100", 50, 80, T0), seq;
  json_t *doc, *ev, *dev;
  bool has_new = true;

  save(st, "EV2", "127.0.0.101", 50, 80, T0);
  set_uplink(st, 0, NULL);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK); /* the readings */
  ck_assert_int_eq(asr_outbox_delivered(st, built.seq, T0 + 2), ASR_OK);
  for (int k = 1; k <= 3; k++)
    fail_poll(st, quiet, ASR_ERR_TIMEOUT, "no answer", T0 + k * 12 * HOUR);
  /* only an event is new: a batch is built for it, with its device */
  ck_assert_int_eq(asr_outbox_has_new(st, &has_new), ASR_OK);
  ck_assert(has_new);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_int_gt(built.seq, 0);
  ck_assert_uint_eq(built.n_readings, 0);
  ck_assert_uint_eq(built.n_events, 1);
  seq = built.seq;
  doc = pending_json(st);
  ck_assert_uint_eq(json_array_size(json_object_get(doc, "events")), 1);
  ev = json_array_get(json_object_get(doc, "events"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "silent");
  ck_assert_int_eq(json_integer_value(json_object_get(ev, "t")), T0 + 36 * HOUR);
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ev, "detail")), "timeout"));
  dev = json_array_get(json_object_get(doc, "devices"),
                       (size_t)json_integer_value(json_object_get(ev, "device")));
  ck_assert_str_eq(json_string_value(json_object_get(dev, "key")), "serial:EV1");
  ck_assert_str_eq(json_string_value(json_object_get(dev, "state")), "silent");
  ck_assert_int_eq(json_integer_value(json_object_get(dev, "state_since")), T0 + 36 * HOUR);
  ck_assert_uint_eq(json_array_size(json_object_get(doc, "devices")), 1);
  json_decref(doc);
  /* marked in the same transaction: nothing new, the next build builds nothing */
  ck_assert_int_eq(asr_outbox_has_new(st, &has_new), ASR_OK);
  ck_assert(!has_new);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_int_eq(built.seq, 0);
  /* delivered: the queue forgets it, the history keeps it */
  ck_assert_int_eq(asr_outbox_delivered(st, seq, T0 + 3 * DAY), ASR_OK);
  ck_assert_uint_eq(events_of(st, quiet).n, 1);
  {
    int64_t n = -1;
    sqlite3_stmt *s;

    ck_assert_int_eq(
        sqlite3_prepare_v2(asr_store_sqlite(st), "SELECT count(*) FROM event_queue", -1, &s, NULL),
        SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    ck_assert_int_eq(n, 0);
  }
  asr_store_close(st);
}
END_TEST

START_TEST(test_events_with_readings_and_enrol_again)
{
  asr_store *st = open_db();
  asr_batch_opts o = {AGENT, "0.1.0", T0 + DAY, 1000};
  asr_batch_built built;
  json_t *doc;

  save(st, "EV3", "127.0.0.102", 5, 80, T0);
  save(st, "EV3", "127.0.0.102", 100, 80, T0 + HOUR); /* a "replaced" event */
  set_uplink(st, 0, NULL);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_uint_eq(built.n_readings, 2);
  ck_assert_uint_eq(built.n_events, 1);
  ck_assert_uint_eq(built.n_devices, 1);
  doc = pending_json(st);
  ck_assert_str_eq(
      json_string_value(json_object_get(json_array_get(json_object_get(doc, "events"), 0), "kind")),
      "replaced");
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(doc, "devices"), 0), "state")),
                   "active");
  json_decref(doc);
  /* a new enrolment gives the undelivered batch's events back to the next batch */
  set_uplink(st, 0, NULL);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_uint_eq(built.n_events, 1);
  asr_store_close(st);
}
END_TEST

/* ---- migration ---- */

START_TEST(test_migration_from_2)
{
  asr_store *st = open_db();
  int64_t id = save(st, "MIG1", "127.0.0.110", 50, 80, T0), since = 0;
  sqlite3 *db;

  asr_store_close(st);
  /* back to a version 2 file, as issue 3's agent left it */
  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db,
                                "DROP TABLE event_queue; DROP TABLE events;"
                                "DROP TABLE upload_problems;"
                                "DROP TABLE schedule;" /* version 5 */
                                "ALTER TABLE devices DROP COLUMN state;"
                                "ALTER TABLE devices DROP COLUMN state_since;"
                                "PRAGMA user_version = 2",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  st = open_db();
  ck_assert_int_eq(asr_store_schema_version(st), asr_store_schema_latest());
  ck_assert_int_ge(asr_store_schema_latest(), 3);
  ck_assert_str_eq(state_of(st, id, &since), "active");
  ck_assert_int_eq(since, T0); /* first_seen */
  ck_assert_uint_eq(events_of(st, id).n, 0);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "t", T0 + HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "t", T0 + 2 * HOUR);
  fail_poll(st, id, ASR_ERR_TIMEOUT, "t", T0 + DAY);
  ck_assert_str_eq(state_of(st, id, NULL), "silent");
  ck_assert_int_eq(asr_events_get_state(st, 999, (char[16]){0}, 16, &since), ASR_ERR_NOT_FOUND);
  asr_store_close(st);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("health");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_next_boundaries);
  tcase_add_test(tc, test_state_names);
  tcase_add_test(tc, test_reasons);
  tcase_add_test(tc, test_replaced_rule);
  tcase_add_test(tc, test_silent_disconnected_reconnected);
  tcase_add_test(tc, test_reasons_in_events);
  tcase_add_test(tc, test_policy_from_config);
  tcase_add_test(tc, test_moved_printer_not_silent);
  tcase_add_test(tc, test_sweep);
  tcase_add_test(tc, test_replacement_normal_early_receptacle);
  tcase_add_test(tc, test_no_event_when_levels_drop);
  tcase_add_test(tc, test_both_supplies_one_event);
  tcase_add_test(tc, test_same_second_one_event);
  tcase_add_test(tc, test_check_printers);
  tcase_add_test(tc, test_check_upload);
  tcase_add_test(tc, test_check_unknown_and_names);
  tcase_add_test(tc, test_check_refused);
  tcase_add_test(tc, test_check_outbox);
  tcase_add_test(tc, test_events_in_batch);
  tcase_add_test(tc, test_events_with_readings_and_enrol_again);
  tcase_add_test(tc, test_migration_from_2);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
