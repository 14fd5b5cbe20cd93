/* check_uplink.c: the retry policy, Retry-After, endpoints, enrolment answers (pure), and
 * the JSON shape of a built batch read back with jansson. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <jansson.h>
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
#include "wire/gz.h"
#include "wire/http.h"
#include "uplink/uplink.h"
#include "tests/unit/testutil.h"

#define AGENT "ag_0123456789abcdef0123456789abcdef"

/* ---- what each status does ---- */

static const struct {
  long status;
  asr_uplink_action action;
} status_actions[] = {
    {200, ASR_UPLINK_DELIVERED},                         /* stored */
    {201, ASR_UPLINK_DELIVERED},                         /* any 2xx is a commit */
    {204, ASR_UPLINK_DELIVERED}, {400, ASR_UPLINK_HOLD}, /* malformed: kept aside */
    {404, ASR_UPLINK_HOLD},      {422, ASR_UPLINK_HOLD},
    {401, ASR_UPLINK_STOP},  /* bad signature, unknown agent, clock */
    {403, ASR_UPLINK_STOP},  /* revoked */
    {413, ASR_UPLINK_SPLIT}, /* too large */
    {408, ASR_UPLINK_RETRY}, /* request timeout */
    {429, ASR_UPLINK_RETRY}, /* too many requests */
    {500, ASR_UPLINK_RETRY},     {502, ASR_UPLINK_RETRY},
    {503, ASR_UPLINK_RETRY},     {504, ASR_UPLINK_RETRY},
    {301, ASR_UPLINK_FAIL}, /* a redirecting endpoint is a setting to fix */
    {100, ASR_UPLINK_FAIL},
};

START_TEST(test_decide_status)
{
  for (size_t i = 0; i < sizeof(status_actions) / sizeof(status_actions[0]); i++)
    ck_assert_msg(asr_uplink_decide(ASR_OK, false, status_actions[i].status) ==
                      status_actions[i].action,
                  "status %ld", status_actions[i].status);
}
END_TEST

START_TEST(test_decide_transport)
{
  ck_assert_int_eq(asr_uplink_decide(ASR_ERR_TIMEOUT, true, 0), ASR_UPLINK_RETRY);
  ck_assert_int_eq(asr_uplink_decide(ASR_ERR_RESOLVE, true, 0), ASR_UPLINK_RETRY);
  ck_assert_int_eq(asr_uplink_decide(ASR_ERR_AUTH, false, 0), ASR_UPLINK_FAIL); /* TLS */
  ck_assert_int_eq(asr_uplink_decide(ASR_ERR_INVALID, false, 0), ASR_UPLINK_FAIL);
  ck_assert_str_eq(asr_uplink_action_name(ASR_UPLINK_SPLIT), "split");
  ck_assert_str_eq(asr_uplink_action_name((asr_uplink_action)99), "unknown");
}
END_TEST

START_TEST(test_backoff_bounds)
{
  uint32_t rnds[] = {0, 1, 12345, 0x7fffffff, UINT32_MAX};
  int64_t d = ASR_UPLINK_BACKOFF_BASE_MS;

  for (unsigned a = 0; a < 40; a++) {
    int64_t lo = INT64_MAX, hi = 0;

    for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
      int64_t w = asr_uplink_backoff_ms(a, rnds[i]);

      ck_assert_int_ge(w, d / 2);
      ck_assert_int_le(w, d);
      lo = w < lo ? w : lo;
      hi = w > hi ? w : hi;
    }
    ck_assert_int_eq(asr_uplink_backoff_ms(a, 0), d / 2);
    ck_assert_int_lt(lo, hi); /* jitter spreads the waits */
    d = d * 2 > ASR_UPLINK_BACKOFF_CAP_MS ? ASR_UPLINK_BACKOFF_CAP_MS : d * 2;
  }
  ck_assert_int_eq(asr_uplink_backoff_ms(3, 0), 4000); /* 1, 2, 4, 8 s: half of 8 s */
  ck_assert_int_eq(asr_uplink_backoff_ms(3, 4000), 8000);
}
END_TEST

START_TEST(test_next_wait)
{
  ck_assert_int_eq(asr_uplink_next_wait_ms(0, 7, 0, 300000), 7000); /* Retry-After wins */
  ck_assert_int_eq(asr_uplink_next_wait_ms(5, 0, 0, 300000), 0);
  ck_assert_int_eq(asr_uplink_next_wait_ms(0, 301, 0, 300000), -1); /* beyond --max-wait */
  ck_assert_int_eq(asr_uplink_next_wait_ms(0, -1, 0, 300000), 500);
  ck_assert_int_eq(asr_uplink_next_wait_ms(10, -1, 0, 20000), -1); /* 30 s > 20 s left */
  ck_assert_int_eq(asr_uplink_next_wait_ms(0, -1, 0, 0), -1);
}
END_TEST

/* ---- Retry-After ---- */

START_TEST(test_retry_after)
{
  int64_t date = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example) */

  ck_assert_int_eq(asr_http_retry_after("120", 0), 120);
  ck_assert_int_eq(asr_http_retry_after(" 5\r\n", 0), 5);
  ck_assert_int_eq(asr_http_retry_after("0", 0), 0);
  ck_assert_int_eq(asr_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 30), 30);
  ck_assert_int_eq(asr_http_retry_after(" Sun, 06 Nov 1994 08:49:37 GMT\r\n", date - 1), 1);
  ck_assert_int_eq(asr_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 99), 0);
  ck_assert_int_eq(asr_http_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 0), 10);
  ck_assert_int_eq(asr_http_retry_after("Tue, 29 Feb 2028 12:00:00 GMT", 1835438400 - 60), 60);
  ck_assert_int_eq(asr_http_retry_after("-5", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("1e3", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("", 0), -1);
  ck_assert_int_eq(asr_http_retry_after(NULL, 0), -1);
  ck_assert_int_eq(asr_http_retry_after("99999999999999999999", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", 0), -1);
  ck_assert_int_eq(asr_http_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 0), -1);
}
END_TEST

/* ---- endpoints ---- */

static const struct {
  const char *url;
  asr_result want;
} endpoints[] = {
    {"https://central.example.com", ASR_OK},
    {"https://central.example.com:8443/", ASR_OK},
    {"https://central.example.com/asr", ASR_OK}, /* a prefix before /v1/ */
    {"https://[2001:db8::1]:8443", ASR_OK},
    {"http://127.0.0.1:8080", ASR_OK}, /* loopback: development */
    {"http://127.51.0.1", ASR_OK},
    {"http://localhost:80", ASR_OK},
    {"http://[::1]:80", ASR_OK},
    {"http://10.0.0.1", ASR_ERR_INVALID}, /* plain http off loopback */
    {"http://127.0.0.1.evil.example", ASR_ERR_INVALID},
    {"http://localhost.evil.example", ASR_ERR_INVALID},
    {"http://127.0.0.256", ASR_ERR_INVALID},
    {"ftp://central.example.com", ASR_ERR_INVALID},
    {"central.example.com", ASR_ERR_INVALID},
    {"https://", ASR_ERR_INVALID},
    {"https://user:pw@central.example.com", ASR_ERR_INVALID}, /* no credentials in URLs */
    {"https://central.example.com/?q=1", ASR_ERR_INVALID},
    {"https://central example.com", ASR_ERR_INVALID},
    {"", ASR_ERR_INVALID},
};

START_TEST(test_check_endpoint)
{
  char err[160];

  for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
    asr_result r = asr_http_check_endpoint(endpoints[i].url, err, sizeof(err));

    ck_assert_msg(r == endpoints[i].want, "%s: %d (%s)", endpoints[i].url, r, err);
    ck_assert(r == ASR_OK ? err[0] == '\0' : err[0] != '\0');
  }
  ck_assert_int_eq(asr_http_check_endpoint(NULL, err, sizeof(err)), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_url_join)
{
  char url[128];

  ck_assert_int_eq(asr_uplink_url("https://c.example//", "/v1/batches", url, sizeof(url)), ASR_OK);
  ck_assert_str_eq(url, "https://c.example/v1/batches");
  ck_assert_int_eq(asr_uplink_url("https://c.example/asr", "/v1/enroll", url, sizeof(url)), ASR_OK);
  ck_assert_str_eq(url, "https://c.example/asr/v1/enroll");
  ck_assert_int_eq(asr_uplink_url("https://c.example", "/v1/enroll", url, 10), ASR_ERR_TOO_LARGE);
}
END_TEST

/* ---- enrolment answers ---- */

START_TEST(test_parse_enrolment)
{
  asr_uplink_enrolment e;
  const char *secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  char good[400], bad[400];

  ck_assert_int_eq(asr_fmt(good, sizeof(good),
                           "{\"agent_id\": \"%s\", \"secret\": \"%s\", \"site\": \"HQ\"}", AGENT,
                           secret),
                   ASR_OK);
  ck_assert_int_eq(asr_uplink_parse_enrolment(good, &e), ASR_OK);
  ck_assert_str_eq(e.agent_id, AGENT);
  ck_assert_str_eq(e.secret, secret);
  ck_assert_str_eq(e.site, "HQ");
  ck_assert_int_eq(
      asr_fmt(bad, sizeof(bad), "{\"agent_id\": \"%s\", \"secret\": \"%.63s\"}", AGENT, secret),
      ASR_OK);
  ck_assert_int_eq(asr_uplink_parse_enrolment(bad, &e), ASR_ERR_PROTOCOL); /* short secret */
  ck_assert_int_eq(
      asr_fmt(bad, sizeof(bad),
              "{\"agent_id\": \"AG_0123456789ABCDEF0123456789ABCDEF\", \"secret\": \"%s\"}",
              secret),
      ASR_OK);
  ck_assert_int_eq(asr_uplink_parse_enrolment(bad, &e), ASR_ERR_PROTOCOL);
  ck_assert_int_eq(
      asr_fmt(bad, sizeof(bad), "{\"agent_id\": \"%s/../x\", \"secret\": \"%s\"}", AGENT, secret),
      ASR_OK);
  ck_assert_int_eq(asr_uplink_parse_enrolment(bad, &e), ASR_ERR_PROTOCOL);
  ck_assert_int_eq(asr_uplink_parse_enrolment("{\"error\": \"x\"}", &e), ASR_ERR_PROTOCOL);
  ck_assert_int_eq(asr_uplink_parse_enrolment("not json", &e), ASR_ERR_PROTOCOL);
  ck_assert_int_eq(asr_uplink_parse_enrolment(NULL, &e), ASR_ERR_PROTOCOL);
}
END_TEST

/* ---- batch helpers ---- */

START_TEST(test_batch_id_and_enterprise)
{
  char id[128];

  ck_assert_int_eq(asr_batch_id(AGENT, 42, NULL, id, sizeof(id)), ASR_OK);
  ck_assert_str_eq(id, AGENT "-0000000042");
  ck_assert_int_eq(asr_batch_id(AGENT, 42, "0123456789abcdef", id, sizeof(id)), ASR_OK);
  ck_assert_str_eq(id, AGENT "-0000000042-0123456789abcdef");
  ck_assert_int_eq(asr_batch_id(AGENT, 42, "x y", id, sizeof(id)), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_batch_id(AGENT, 10000000000LL, NULL, id, sizeof(id)), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_batch_id("", 1, NULL, id, sizeof(id)), ASR_ERR_INVALID);
  ck_assert_uint_eq(asr_batch_enterprise("1.3.6.1.4.1.11.2.3.9.1"), 11);
  ck_assert_uint_eq(asr_batch_enterprise("1.3.6.1.4.1.1347"), 1347);
  ck_assert_uint_eq(asr_batch_enterprise("1.3.6.1.4.2.11"), 0);
  ck_assert_uint_eq(asr_batch_enterprise("1.3.6.1.4.1.99999999999.1"), 0);
  ck_assert_uint_eq(asr_batch_enterprise("1.3.6.1.4.1.x"), 0);
  ck_assert_uint_eq(asr_batch_enterprise(NULL), 0);
}
END_TEST

START_TEST(test_batch_percent)
{
  asr_supply meta;

  memset(&meta, 0, sizeof(meta));
  meta.index = 1;
  meta.type = 3; /* toner */
  meta.klass = 3;
  ck_assert_int_eq(asr_batch_percent(&meta, 50, 200, 0), 25);
  ck_assert_int_eq(asr_batch_percent(&meta, 300, 200, 0), 100);
  ck_assert_int_eq(asr_batch_percent(&meta, -3, 200, 0), -1); /* some remaining */
  ck_assert_int_eq(asr_batch_percent(&meta, -2, -2, 0), -1);  /* not reported */
  ck_assert_int_eq(asr_batch_percent(&meta, 40, -2, 0), -1);  /* no usable max */
  meta.unit = 19;                                             /* percent */
  ck_assert_int_eq(asr_batch_percent(&meta, 40, -2, 0), 40);
}
END_TEST

START_TEST(test_heartbeat_rule)
{
  int64_t now = 1795000000;

  ck_assert(asr_batch_heartbeat_due(false, false, 0, now));            /* never sent */
  ck_assert(asr_batch_heartbeat_due(false, false, now - 86400, now));  /* a day ago */
  ck_assert(!asr_batch_heartbeat_due(false, false, now - 86399, now)); /* not yet */
  ck_assert(!asr_batch_heartbeat_due(true, false, now - 999999, now)); /* readings go */
  ck_assert(!asr_batch_heartbeat_due(false, true, now - 999999, now)); /* one is pending */
}
END_TEST

/* ---- the JSON of a built batch ---- */

static char tmpdir[256], dbpath[512];

static void setup(void)
{
  tu_tmpdir("check_uplink", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  asr_log_set_level(ASR_LOG_ERR);
}

static void teardown(void)
{
  tu_rmtree(tmpdir);
}

static void save_printer(asr_store *st, const char *serial, int64_t t, int64_t level)
{
  asr_device *d = calloc(1, sizeof(*d));

  asr_device_init(d);
  ck_assert_int_eq(asr_strlcpy(d->serial, serial, sizeof(d->serial)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->ip, "192.0.2.7", sizeof(d->ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->model, "Model \xc3\xa9 \"Q\"", sizeof(d->model)), ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(d->sys_object_id, "1.3.6.1.4.1.11.2.3.9.1", sizeof(d->sys_object_id)), ASR_OK);
  d->has_page_count = true;
  d->page_count = 48211;
  d->printer_status = 3;
  d->n_supplies = 2;
  for (int i = 0; i < 2; i++) {
    asr_supply *s = &d->supplies[i];

    s->index = i + 1;
    s->type = i ? 4 : 3;
    s->klass = i ? 4 : 3;
    s->has_level = s->has_max = true;
    s->level = i ? -3 : level;
    s->max = 200;
    ck_assert_int_eq(
        asr_strlcpy(s->description, i ? "Waste" : "Black Cartridge CF410A", sizeof(s->description)),
        ASR_OK);
    ck_assert_int_eq(asr_strlcpy(s->colorant, i ? "" : "black", sizeof(s->colorant)), ASR_OK);
  }
  ck_assert_int_eq(asr_store_save(st, d, 161, NULL, t, NULL), ASR_OK);
  free(d);
}

/* The body of the first pending batch, inflated and parsed. */
static json_t *pending_json(asr_store *st, asr_outbox_batch *b)
{
  uint8_t *text = NULL;
  size_t len = 0;
  json_t *j;

  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, b), ASR_OK);
  ck_assert_int_eq(asr_gz_decompress(b->body, b->body_len, 64u << 20, &text, &len), ASR_OK);
  j = json_loads((const char *)text, 0, NULL);
  ck_assert_ptr_nonnull(j);
  free(text);
  return j;
}

START_TEST(test_batch_json_shape)
{
  asr_store *st = NULL;
  asr_batch_opts o = {AGENT, "0.1.0", 1795000000, 100};
  asr_batch_built built;
  asr_outbox_batch b;
  json_t *j, *dev, *rd, *lv;
  char err[256];

  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  save_printer(st, "CNB1", 1794999000, 108);
  save_printer(st, "CNB2", 1794999000, 50);
  save_printer(st, "CNB1", 1794999100, 107);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_uint_eq(built.n_readings, 3);
  ck_assert_uint_eq(built.n_devices, 2);
  j = pending_json(st, &b);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "protocol")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(j, "batch_id")), b.batch_id);
  ck_assert_str_eq(json_string_value(json_object_get(j, "agent_id")), AGENT);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "created_at")), 1795000000);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "devices")), 2);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "events")), 0);
  dev = json_array_get(json_object_get(j, "devices"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(dev, "key")), "serial:CNB1");
  ck_assert_str_eq(json_string_value(json_object_get(dev, "model")), "Model \xc3\xa9 \"Q\"");
  ck_assert_str_eq(json_string_value(json_object_get(dev, "state")), "active");
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(dev, "status"), "printer")),
                   "idle");
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(dev, "supplies"), 0), "type")),
                   "toner");
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(dev, "supplies"), 1), "class")),
                   "filled");
  /* colorant_std: the canonical word when known, absent when not (optional) */
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(dev, "supplies"), 0), "colorant_std")),
                   "black");
  ck_assert_ptr_null(
      json_object_get(json_array_get(json_object_get(dev, "supplies"), 1), "colorant_std"));
  rd = json_object_get(j, "readings");
  ck_assert_uint_eq(json_array_size(rd), 3);
  /* grouped by device, each in time order: CNB1@1794999000, CNB1@1794999100, CNB2@1794999000 */
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 0), "device")), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 1), "device")), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 1), "t")), 1794999100);
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 2), "device")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 2), "t")), 1794999000);
  ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 0), "page_count")), 48211);
  lv = json_array_get(json_object_get(json_array_get(rd, 0), "levels"), 0);
  ck_assert_uint_eq(json_array_size(lv), 4); /* [index, level, max, percent] */
  ck_assert_int_eq(json_integer_value(json_array_get(lv, 0)), 1);
  ck_assert_int_eq(json_integer_value(json_array_get(lv, 1)), 108);
  ck_assert_int_eq(json_integer_value(json_array_get(lv, 2)), 200);
  ck_assert_int_eq(json_integer_value(json_array_get(lv, 3)), 54);
  lv = json_array_get(json_object_get(json_array_get(rd, 0), "levels"), 1);
  ck_assert_int_eq(json_integer_value(json_array_get(lv, 1)), -3); /* exactly as reported */
  ck_assert(json_is_null(json_array_get(lv, 3)));
  json_decref(j);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
}
END_TEST

/* A printer's own colorant word goes as it is, its canonical word beside it. */
START_TEST(test_batch_colorant_std)
{
  asr_store *st = NULL;
  asr_batch_opts o = {AGENT, "0.1.0", 1795000000, 100};
  asr_batch_built built;
  asr_outbox_batch b;
  asr_device *d = calloc(1, sizeof(*d));
  json_t *j, *sup;
  char err[256];

  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  asr_device_init(d);
  ck_assert_int_eq(asr_strlcpy(d->serial, "KM1", sizeof(d->serial)), ASR_OK);
  d->n_supplies = 2;
  d->supplies[0].index = 1;
  ck_assert_int_eq(asr_strlcpy(d->supplies[0].colorant, "schwarz", sizeof(d->supplies[0].colorant)),
                   ASR_OK);
  d->supplies[1].index = 2;
  ck_assert_int_eq(asr_strlcpy(d->supplies[1].colorant, "bk", sizeof(d->supplies[1].colorant)),
                   ASR_OK);
  ck_assert_int_eq(asr_store_save(st, d, 161, NULL, 1794999000, NULL), ASR_OK);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  j = pending_json(st, &b);
  sup = json_object_get(json_array_get(json_object_get(j, "devices"), 0), "supplies");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sup, 0), "colorant")),
                   "schwarz");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sup, 0), "colorant_std")),
                   "black");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sup, 1), "colorant_std")),
                   "black");
  json_decref(j);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
  free(d);
}
END_TEST

START_TEST(test_heartbeat_json)
{
  asr_store *st = NULL;
  asr_batch_opts o = {AGENT, "0.1.0", 1795000000, 100};
  asr_batch_built built;
  asr_outbox_batch b;
  json_t *j;
  char err[256];

  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_int_eq(built.seq, 0); /* nothing new, no heartbeat asked */
  ck_assert_int_eq(asr_batch_build(st, &o, true, &built), ASR_OK);
  ck_assert_int_gt(built.seq, 0);
  j = pending_json(st, &b);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "devices")), 0);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "readings")), 0);
  ck_assert_uint_eq(json_array_size(json_object_get(j, "events")), 0);
  json_decref(j);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
}
END_TEST

/* Copies a file (a backup, or its restore). */
static void copy_file(const char *from, const char *to)
{
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char buf[8192];
  size_t n;

  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
    ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* Issue 10: a database restored from a backup numbers its batches again from where the
 * backup stood; the ids it sends must still never have been used. */
START_TEST(test_restored_database_new_batch_ids)
{
  asr_store *st = NULL;
  asr_batch_opts o = {AGENT, "0.1.0", 1795000000, 100};
  asr_batch_built built;
  asr_outbox_batch b;
  char backup[600], first[128], err[256];

  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  save_printer(st, "CNB1", 1794999000, 108);
  asr_store_close(st);
  ck_assert_int_eq(asr_fmt(backup, sizeof(backup), "%s/backup.db", tmpdir), ASR_OK);
  copy_file(dbpath, backup);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_int_eq(built.seq, 1);
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &b), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(first, b.batch_id, sizeof(first)), ASR_OK);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
  copy_file(backup, dbpath); /* the restore */
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  save_printer(st, "CNB1", 1794999500, 100);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  ck_assert_int_eq(built.seq, 1); /* the same number... */
  ck_assert_int_eq(asr_outbox_next_pending(st, -1, -1, &b), ASR_OK);
  ck_assert_str_ne(b.batch_id, first); /* ...never the same id */
  ck_assert(strncmp(b.batch_id, AGENT "-0000000001-", strlen(AGENT) + 12) == 0);
  ck_assert(strncmp(first, AGENT "-0000000001-", strlen(AGENT) + 12) == 0);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
}
END_TEST

/* A database written before issue 10 may hold readings listing a supply index twice (the
 * printer listed it under two hrDevices): the batch names each supply once per reading. */
START_TEST(test_old_reading_with_repeated_index)
{
  asr_store *st = NULL;
  asr_batch_opts o = {AGENT, "0.1.0", 1795000000, 100};
  asr_batch_built built;
  asr_outbox_batch b;
  asr_store_level lv[4] = {{1, 90, 200}, {2, -3, 200}, {1, 108, 200}, {2, -3, 200}};
  uint8_t blob[ASR_STORE_LEVELS_MAX];
  size_t len = asr_store_levels_encode(lv, 4, blob, sizeof(blob));
  sqlite3_stmt *s = NULL;
  json_t *j, *levels;
  char err[256];

  ck_assert_uint_gt(len, 0);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
  save_printer(st, "CNB1", 1794999000, 108);
  ck_assert_int_eq(
      sqlite3_prepare_v2(asr_store_sqlite(st), "UPDATE readings SET levels = ?1", -1, &s, NULL),
      SQLITE_OK);
  sqlite3_bind_blob(s, 1, blob, (int)len, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  ck_assert_int_eq(asr_batch_build(st, &o, false, &built), ASR_OK);
  j = pending_json(st, &b);
  levels = json_object_get(json_array_get(json_object_get(j, "readings"), 0), "levels");
  ck_assert_uint_eq(json_array_size(levels), 2);
  ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(levels, 0), 0)), 1);
  ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(levels, 0), 1)), 108);
  ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(levels, 1), 0)), 2);
  json_decref(j);
  asr_outbox_batch_free(&b);
  asr_store_close(st);
}
END_TEST

/* The answer to a batch: what the central refused and a reused id, read and recorded with
 * the delivery (docs/protocol.md, "Answers"). */
START_TEST(test_answer_refused_parts)
{
  static const char body[] =
      "{\"batch_id\":\"b\",\"status\":\"stored\",\"readings\":6,\"readings_refused\":3,"
      "\"events_refused\":1,\"refused\":["
      "{\"what\":\"reading\",\"index\":2,\"device\":\"serial:D1\",\"t\":1794999000,"
      "\"error\":\"readings[2].levels[2]: supply index 1 repeated\"},"
      "{\"what\":\"device\",\"index\":0,\"device\":\"serial:\\u001b[31mX\",\"readings\":2,"
      "\"events\":1,\"error\":\"devices[0].state: not active, silent or disconnected\"}],"
      "\"refused_more\":0,\"id_reused\":true,\"warning\":\"batch_id: already stored\"}";
  asr_uplink_answer a;

  ck_assert_int_eq(asr_uplink_parse_answer(body, &a), ASR_OK);
  ck_assert(!a.duplicate);
  ck_assert(a.id_reused);
  ck_assert_int_eq(a.readings_refused, 3);
  ck_assert_int_eq(a.events_refused, 1);
  ck_assert_uint_eq(a.n, 3); /* two refusals and the reused id */
  ck_assert_str_eq(a.problems[0].what, "reading");
  ck_assert_str_eq(a.problems[0].device, "serial:D1");
  ck_assert_int_eq(a.problems[0].t, 1794999000);
  ck_assert_int_eq(a.problems[0].readings, 1);
  ck_assert_ptr_nonnull(strstr(a.problems[0].error, "supply index 1 repeated"));
  ck_assert_str_eq(a.problems[1].what, "device");
  ck_assert_str_eq(a.problems[1].device, "serial: [31mX"); /* no control character */
  ck_assert_int_eq(a.problems[1].t, -1);
  ck_assert_int_eq(a.problems[1].readings, 2);
  ck_assert_int_eq(a.problems[1].events, 1);
  ck_assert_str_eq(a.problems[2].what, "id_reused");
  asr_uplink_answer_free(&a);
  /* an answer of a central before issue 10, or no JSON at all: nothing refused */
  ck_assert_int_eq(asr_uplink_parse_answer("{\"status\":\"duplicate\",\"readings\":3}", &a),
                   ASR_OK);
  ck_assert(a.duplicate);
  ck_assert_uint_eq(a.n, 0);
  asr_uplink_answer_free(&a);
  ck_assert_int_eq(asr_uplink_parse_answer("", &a), ASR_OK);
  ck_assert_uint_eq(a.n, 0);
  asr_uplink_answer_free(&a);
  ck_assert_int_eq(asr_uplink_parse_answer(NULL, &a), ASR_OK);
  asr_uplink_answer_free(&a);
}
END_TEST

/* Refusals left off the answer's list are still counted in what the agent records. */
START_TEST(test_answer_refused_more)
{
  static const char body[] = "{\"status\":\"stored\",\"readings\":500,\"readings_refused\":400,"
                             "\"refused\":[{\"what\":\"reading\",\"t\":5,\"device\":\"k\","
                             "\"error\":\"e\"}],\"refused_more\":399}";
  asr_uplink_answer a;
  int64_t readings = 0;

  ck_assert_int_eq(asr_uplink_parse_answer(body, &a), ASR_OK);
  ck_assert_uint_eq(a.n, 2);
  for (size_t i = 0; i < a.n; i++)
    readings += a.problems[i].readings;
  ck_assert_int_eq(readings, 400);
  ck_assert_str_eq(a.problems[1].what, "more");
  asr_uplink_answer_free(&a);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("uplink");
  TCase *tc = tcase_create("policy");
  TCase *tb = tcase_create("batch");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_decide_status);
  tcase_add_test(tc, test_decide_transport);
  tcase_add_test(tc, test_backoff_bounds);
  tcase_add_test(tc, test_next_wait);
  tcase_add_test(tc, test_retry_after);
  tcase_add_test(tc, test_check_endpoint);
  tcase_add_test(tc, test_url_join);
  tcase_add_test(tc, test_parse_enrolment);
  tcase_add_test(tc, test_batch_id_and_enterprise);
  tcase_add_test(tc, test_batch_percent);
  tcase_add_test(tc, test_heartbeat_rule);
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(tb, setup, teardown);
  tcase_add_test(tb, test_batch_json_shape);
  tcase_add_test(tb, test_heartbeat_json);
  tcase_add_test(tb, test_batch_colorant_std);
  tcase_add_test(tb, test_restored_database_new_batch_ids);
  tcase_add_test(tb, test_old_reading_with_repeated_index);
  tcase_add_test(tc, test_answer_refused_parts);
  tcase_add_test(tc, test_answer_refused_more);
  suite_add_tcase(s, tb);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
