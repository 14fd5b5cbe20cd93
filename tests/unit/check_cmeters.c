/* check_cmeters.c: asr-central's billing meters (central/cmeters.c): protocol 2 batches
 * decoded and stored on a real SQLite file, kept as read with their flags, reported per
 * device and meter over a period, and hostile meter objects refused whole. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"
#include "central/cmeters.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "common/log.h"
#include "common/util.h"

#define T0 INT64_C(1795000000) /* 2026-11-18 */
#define DAY 86400

static char dir[256], db_path[300];

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_cmeters.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  testdb_name(dir, "central.db", db_path, sizeof(db_path));
}

static void teardown(void)
{
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm"};

  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]), ASR_OK);
    unlink(p);
  }
  rmdir(dir);
}

static cstore *open_enrolled(const char *site, cstore_agent *ag)
{
  char err[256], token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX];
  cstore *st = NULL;

  ck_assert_msg(cstore_open(db_path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_int_eq(cstore_site_add(st, site, "ops@example.org", NULL, T0, token, sizeof(token)),
                   ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", T0, ag, name, sizeof(name)), ASR_OK);
  return st;
}

/* A batch of protocol proto, one device "serial:M1", one reading at t with meters (a JSON
 * array text). */
static char *batch_text(const cstore_agent *ag, int seq, int proto, int64_t t, const char *meters)
{
  char id[96];
  json_t *m = json_loads(meters, 0, NULL), *b;
  char *s;

  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%d", ag->id, seq), ASR_OK);
  b = json_pack("{s:i,s:s,s:s,s:[{s:s,s:s,s:s}],s:[{s:i,s:I,s:I,s:o}]}", "protocol", proto,
                "batch_id", id, "agent_id", ag->id, "devices", "key", "serial:M1", "serial", "M1",
                "model", "Test MFP", "readings", "device", 0, "t", (json_int_t)t, "page_count",
                (json_int_t)100, "meters", m);
  ck_assert_ptr_nonnull(b);
  s = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  return s;
}

/* Decodes and applies a batch: ASR_OK, or the decoding error (message in err). */
static asr_result apply(cstore *st, const cstore_agent *ag, const char *json, char *err, size_t n)
{
  ingest_doc *doc = NULL;
  cstore_applied res;
  asr_result r = ingest_decode(json, strlen(json), ag->id, &doc, err, n);

  if (!r)
    r = cstore_apply(st, ag, ingest_doc_batch(doc), T0, &res);
  ingest_doc_free(doc);
  return r;
}

static void send_ok(cstore *st, const cstore_agent *ag, int seq, int proto, int64_t t,
                    const char *meters)
{
  char err[300] = "";
  char *j = batch_text(ag, seq, proto, t, meters);

  ck_assert_msg(apply(st, ag, j, err, sizeof(err)) == ASR_OK, "%s", err);
  free(j);
}

typedef struct {
  char text[2048];
  int rows;
} collected;

static int collect(const cmeters_row *m, void *ctx)
{
  collected *c = ctx;
  size_t n = strlen(c->text);

  c->rows++;
  ck_assert_int_eq(asr_fmt(c->text + n, sizeof(c->text) - n, "%s|%s|%s|%s|%lld|%lld|%lld|%lld|%s;",
                           m->site, m->device, m->meter, m->unit, (long long)m->start,
                           (long long)m->end, (long long)m->usage, (long long)m->flagged,
                           m->last_flag),
                   ASR_OK);
  return 0;
}

/* Reads over three days: total rises, black resets (board swap) and is billed only for
 * the rises between unflagged reads; a second batch carrying a read again stores it once. */
START_TEST(test_store_and_period)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", &ag);
  collected c = {"", 0};

  send_ok(st, &ag, 1, 2, T0,
          "[{\"name\":\"total\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":1000},"
          "{\"name\":\"black\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":900000}]");
  send_ok(st, &ag, 2, 2, T0 + DAY,
          "[{\"name\":\"total\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":1500},"
          "{\"name\":\"black\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":12,"
          "\"flag\":\"reset\",\"note\":\"fell from 900000 to 12\"}]");
  send_ok(st, &ag, 3, 2, T0 + 2 * DAY,
          "[{\"name\":\"total\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":1700},"
          "{\"name\":\"black\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":112}]");
  /* the same reading again in another batch (a retried upload): stored once */
  send_ok(st, &ag, 4, 2, T0 + 2 * DAY,
          "[{\"name\":\"total\",\"unit\":\"impressions\",\"source\":\"HP\",\"value\":1700}]");
  ck_assert_int_eq(cstore_count(st, "meter_reads"), 6);
  ck_assert_int_eq(cmeters_period(st, NULL, 0, INT64_MAX, collect, &c), ASR_OK);
  ck_assert_int_eq(c.rows, 2);
  ck_assert_str_eq(c.text, "Acme|serial:M1|black|impressions|900000|112|100|1|reset;"
                           "Acme|serial:M1|total|impressions|1000|1700|700|0|;");
  /* the period: the last two days only */
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(cmeters_period(st, "Acme", T0 + DAY, T0 + 3 * DAY, collect, &c), ASR_OK);
  ck_assert_str_eq(c.text, "Acme|serial:M1|black|impressions|12|112|100|1|reset;"
                           "Acme|serial:M1|total|impressions|1500|1700|200|0|;");
  /* nothing in the period; an unknown site is an error naming it */
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(cmeters_period(st, NULL, T0 + 3 * DAY, T0 + 4 * DAY, collect, &c), ASR_OK);
  ck_assert_int_eq(c.rows, 0);
  ck_assert_int_eq(cmeters_period(st, "Nowhere", 0, INT64_MAX, collect, &c), ASR_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(cstore_errmsg(st), "no such site 'Nowhere'"));
  cstore_close(st);
}
END_TEST

/* The central counts usage as the agent does (docs/meters.md): after a read that went
 * backwards only the rise above the highest read before it (50000 -> 49990 -> 50010 bills
 * 10, not 20), the rise into a jump not at all, the rises after it from the jump's value
 * (check_meters gives the agent the same reads: 120 too). */
START_TEST(test_usage_as_agent)
{
  static const struct {
    int64_t v;
    const char *flag;
  } reads[] = {{50000, NULL},    {49990, "backwards"}, {50010, NULL}, {50030, NULL},
               {900000, "jump"}, {900050, NULL},       {60, "reset"}, {100, NULL}};
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", &ag);
  collected c = {"", 0};

  for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
    char m[256];
    ck_assert_int_eq(asr_fmt(m, sizeof(m),
                             "[{\"name\":\"total\",\"unit\":\"impressions\",\"value\":%lld%s%s%s}]",
                             (long long)reads[i].v, reads[i].flag ? ",\"flag\":\"" : "",
                             reads[i].flag ? reads[i].flag : "", reads[i].flag ? "\"" : ""),
                     ASR_OK);
    send_ok(st, &ag, (int)i + 1, 2, T0 + (int64_t)i * DAY, m);
  }
  ck_assert_int_eq(cmeters_period(st, NULL, 0, INT64_MAX, collect, &c), ASR_OK);
  /* 10 above 50000, 20, 50 after the jump, 40 after the reset: 120 */
  ck_assert_str_eq(c.text, "Acme|serial:M1|total|impressions|50000|100|120|3|reset;");
  cstore_close(st);
}
END_TEST

/* One site's clerk sees only that site's devices. */
START_TEST(test_sites_apart)
{
  cstore_agent a, b;
  cstore *st = open_enrolled("Acme", &a);
  char token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX];
  collected c = {"", 0};

  ck_assert_int_eq(cstore_site_add(st, "Other", "o@example.org", NULL, T0, token, sizeof(token)),
                   ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "h2", "0.1.0", T0, &b, name, sizeof(name)), ASR_OK);
  send_ok(st, &a, 1, 2, T0, "[{\"name\":\"total\",\"unit\":\"sheets\",\"value\":5}]");
  send_ok(st, &b, 1, 2, T0, "[{\"name\":\"total\",\"unit\":\"sheets\",\"value\":7}]");
  ck_assert_int_eq(cmeters_period(st, "Other", 0, INT64_MAX, collect, &c), ASR_OK);
  ck_assert_str_eq(c.text, "Other|serial:M1|total|sheets|7|7|0|0|;");
  cstore_close(st);
}
END_TEST

/* Version 1 batches keep their meaning: meters are not theirs (not read, not refused). */
START_TEST(test_protocol_1_ignores_meters)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", &ag);

  send_ok(st, &ag, 1, 1, T0, "[{\"name\":\"total\",\"value\":5}]");
  ck_assert_int_eq(cstore_count(st, "readings"), 1);
  ck_assert_int_eq(cstore_count(st, "meter_reads"), 0);
  cstore_close(st);
}
END_TEST

static const struct {
  const char *meters, *message;
} bad_meters[] = {
    {"[{\"unit\":\"x\",\"value\":1}]", "readings[0].meters[0].name: missing"},
    {"[{\"name\":\"Total\",\"value\":1}]", "readings[0].meters[0].name: not of [a-z0-9._]"},
    {"[{\"name\":\"total'; DROP TABLE x;--\",\"value\":1}]", "name: "},
    {"[{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"value\":1}]", "longer than 31 bytes"},
    {"[{\"name\":\"total\",\"value\":-1}]", "readings[0].meters[0].value: out of range"},
    {"[{\"name\":\"total\",\"value\":1.5}]", "value: not an integer"},
    {"[{\"name\":\"total\"}]", "value: missing"},
    {"[{\"name\":\"total\",\"value\":1,\"flag\":\"fixed\"}]", "flag: not backwards, jump or reset"},
    {"[{\"name\":\"total\",\"value\":1},{\"name\":\"total\",\"value\":2}]",
     "meter 'total' repeated"},
    {"[7]", "readings[0].meters[0]: not an object"},
    {"{}", "readings[0].meters: not an array"},
};

/* A bad meter refuses its reading (a fault inside one reading refuses that part only:
 * docs/protocol.md, "Refused parts"), named with its path; the reading is not stored. */
START_TEST(test_bad_meters)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", &ag);
  char err[300] = "";
  char *j = batch_text(&ag, 1, 2, T0, bad_meters[_i].meters);
  ingest_doc *doc = NULL;
  const cstore_batch *b;

  ck_assert_int_eq(ingest_decode(j, strlen(j), ag.id, &doc, err, sizeof(err)), ASR_OK);
  b = ingest_doc_batch(doc);
  ck_assert_int_eq(b->readings_refused, 1);
  ck_assert_uint_ge(b->n_refused, 1);
  ck_assert_msg(strstr(b->refused[0].error, bad_meters[_i].message), "row %d: %s", _i,
                b->refused[0].error);
  ingest_doc_free(doc);
  ck_assert_int_eq(apply(st, &ag, j, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cstore_count(st, "readings"), 0);
  ck_assert_int_eq(cstore_count(st, "meter_reads"), 0);
  free(j);
  cstore_close(st);
}
END_TEST

/* More than 64 meters on one reading: that reading refused, not stored. */
START_TEST(test_too_many_meters)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", &ag);
  char err[300] = "", *j;
  json_t *arr = json_array();

  for (int i = 0; i < 65; i++) {
    char n[16];
    ck_assert_int_eq(asr_fmt(n, sizeof(n), "m%d", i), ASR_OK);
    json_array_append_new(arr, json_pack("{s:s,s:i}", "name", n, "value", i));
  }
  char *text = json_dumps(arr, JSON_COMPACT);
  j = batch_text(&ag, 1, 2, T0, text);
  ingest_doc *doc = NULL;
  ck_assert_int_eq(ingest_decode(j, strlen(j), ag.id, &doc, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(ingest_doc_batch(doc)->readings_refused, 1);
  ck_assert_ptr_nonnull(
      strstr(ingest_doc_batch(doc)->refused[0].error, "meters: more than 64 elements"));
  ingest_doc_free(doc);
  ck_assert_int_eq(apply(st, &ag, j, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cstore_count(st, "meter_reads"), 0);
  free(text);
  free(j);
  json_decref(arr);
  cstore_close(st);
}
END_TEST

int main(int argc, char **argv)
{
  Suite *s = suite_create("cmeters");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv);
  asr_log_set_level(ASR_LOG_ERR);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_store_and_period);
  tcase_add_test(tc, test_usage_as_agent);
  tcase_add_test(tc, test_sites_apart);
  tcase_add_test(tc, test_protocol_1_ignores_meters);
  tcase_add_loop_test(tc, test_bad_meters, 0, (int)(sizeof(bad_meters) / sizeof(bad_meters[0])));
  tcase_add_test(tc, test_too_many_meters);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
