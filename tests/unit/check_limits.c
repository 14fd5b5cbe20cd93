/* check_limits.c: what one client and one request may take at asr-central (issue 10,
 * items 9-13): the memory budget and meters (central/budget.c), the bounds of a batch and
 * their answers (central/ingest.c), site tokens that rotate and revoke (central/cstore_sites.c),
 * request deadlines (central/connguard.c), the page pool (central/pagepool.c), the TLS
 * priorities and the server's per-address limit and header deadline (central/server.c, a
 * real server on 127.50.0.2). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testdb.h"
#include "central/budget.h"
#include "central/connguard.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "central/pagepool.h"
#include "central/server.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/device.h"
#include "common/util.h"
#include "store/events.h"
#include "tests/unit/schema_v2.h"
#include "uplink/batch.h"
#include "wire/gz.h"
#include "wire/sign.h"

/* The agent's batches stay within the central's bounds (docs/protocol.md, "Limits"): a
 * batch of the default size is never refused, a larger one only split. */
_Static_assert(ASR_BATCH_MAX_READINGS_DEFAULT <= INGEST_MAX_READINGS, "agent batch > central");
_Static_assert(ASR_EVENTS_BATCH_MAX <= INGEST_MAX_EVENTS, "agent events > central");
_Static_assert(ASR_SUPPLIES_MAX <= INGEST_MAX_SUPPLIES, "agent supplies > central");

#define NOW INT64_C(1795000000)

static char dir[256], db_path[300];

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_limits.XXXXXX", sizeof(dir)), ASR_OK);
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

static cstore *open_store(void)
{
  char err[256];
  cstore *st = NULL;

  ck_assert_msg(cstore_open(db_path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  return st;
}

/* A site (its token into token) and an enrolled agent. */
static void enrol(cstore *st, const char *site, char *token, cstore_agent *ag)
{
  char name[CSTORE_NAME_MAX];

  ck_assert_int_eq(cstore_site_add(st, site, "ops@example.org", NULL, NOW, token, 36), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", NOW, ag, name, sizeof(name)), ASR_OK);
}

/* ---------------------------------------------------------------------------------------
 * The budget and its meters. */

START_TEST(test_budget)
{
  budget *b = budget_new(1000);
  budget_meter m;
  void *p;

  ck_assert_ptr_nonnull(b);
  ck_assert(budget_take(b, 600));
  ck_assert(!budget_take(b, 401)); /* nothing taken when it does not fit */
  ck_assert_uint_eq(budget_used(b), 600);
  ck_assert(budget_take(b, 400));
  budget_give(b, 1000);
  ck_assert_uint_eq(budget_used(b), 0);
  ck_assert_uint_eq(budget_peak(b), 1000);
  ck_assert(budget_take(NULL, SIZE_MAX)); /* no budget, no limit */

  /* a meter: its own cap first, then the shared budget */
  ck_assert(budget_charge(1u << 30)); /* no meter on this thread: anything goes */
  budget_meter_begin(&m, b, 500);
  ck_assert(budget_charge(300));
  ck_assert(!budget_charge(300));
  ck_assert_int_eq(m.status, BUDGET_OVER_REQUEST);
  budget_credit(100);
  ck_assert_uint_eq(m.used, 200);
  ck_assert_uint_eq(budget_used(b), 200);
  budget_credit(1000); /* never below zero (a block from before the meter) */
  ck_assert_uint_eq(m.used, 0);
  budget_meter_end(&m);
  ck_assert_uint_eq(budget_used(b), 0);

  ck_assert(budget_take(b, 900)); /* others hold most of it */
  budget_meter_begin(&m, b, 0);
  ck_assert(budget_charge(50));
  ck_assert(!budget_charge(100));
  ck_assert_int_eq(m.status, BUDGET_OVER_SHARED);
  budget_meter_end(&m); /* gives back the 50 */
  ck_assert_uint_eq(budget_used(b), 900);
  budget_give(b, 900);

  /* the allocator hooks: a block past the cap is refused, freeing credits it */
  budget_free(b);
  b = budget_new(1u << 20);
  budget_meter_begin(&m, b, 4096);
  p = budget_malloc(1000);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_ge(m.used, 1000);
  ck_assert_ptr_null(budget_malloc(8000));
  budget_free_block(p);
  ck_assert_uint_eq(m.used, 0);
  ck_assert_uint_ge(m.peak, 1000);
  budget_meter_end(&m);
  budget_trim();
  budget_free(b);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * The bounds of a batch. */

/* Signs and ingests the JSON text of a batch with memory bounds; the status. */
static int send_text(cstore *st, const cstore_agent *ag, const char *text, size_t max_memory,
                     budget *mem, ingest_answer *ans)
{
  char sig[ASR_SIGN_HEADER_LEN + 1], tss[24];
  uint8_t *gz = NULL;
  size_t gzlen = 0;
  ingest_request req = {0};
  int status;

  ck_assert_int_eq(asr_gz_compress(text, strlen(text), &gz, &gzlen), ASR_OK);
  ck_assert_int_eq(
      asr_sign_request(ag->secret, "POST", "/v1/batches", NOW, gz, gzlen, sig, sizeof(sig)),
      ASR_OK);
  ck_assert_int_eq(asr_fmt(tss, sizeof(tss), "%lld", (long long)NOW), ASR_OK);
  req.body = gz;
  req.body_len = gzlen;
  req.method = "POST";
  req.path = "/v1/batches";
  req.agent = ag->id;
  req.timestamp = tss;
  req.signature = sig;
  req.content_encoding = "gzip";
  req.max_memory = max_memory;
  req.memory = mem;
  memset(ans, 0, sizeof(*ans));
  status = ingest_batch(st, &req, NOW, ans);
  free(gz);
  return status;
}

/* A batch text of agent aid: one device of `supplies` supplies, `readings` readings of
 * `levels` levels each, then `extra` (a member text or ""). */
static char *batch_text(const char *aid, int seq, int supplies, int readings, int levels,
                        const char *extra)
{
  asr_buf b = {.max = (size_t)1 << 30};
  char *out = NULL;

  asr_buf_printf(&b,
                 "{\"protocol\":1,\"batch_id\":\"%s-%010d\",\"agent_id\":\"%s\",\"devices\":"
                 "[{\"key\":\"serial:L1\",\"supplies\":[",
                 aid, seq, aid);
  for (int i = 0; i < supplies; i++)
    asr_buf_printf(&b, "%s{\"index\":%d,\"type\":\"toner\"}", i ? "," : "", i + 1);
  asr_buf_printf(&b, "]}],\"readings\":[");
  for (int r = 0; r < readings; r++) {
    asr_buf_printf(&b, "%s{\"device\":0,\"t\":%d,\"levels\":[", r ? "," : "", 1000 + r);
    for (int i = 0; i < levels; i++)
      asr_buf_printf(&b, "%s[%d,50,100,50]", i ? "," : "", i + 1);
    asr_buf_printf(&b, "]}");
  }
  asr_buf_printf(&b, "]%s}", extra);
  ck_assert_int_eq(asr_buf_finish(&b, &out), ASR_OK);
  return out;
}

/* The answer's "error", or "". */
static const char *error_of(const ingest_answer *ans, char *buf, size_t n)
{
  json_t *o = json_loads(ans->body, 0, NULL);

  const char *e = json_string_value(json_object_get(o, "error"));

  ck_assert_int_eq(asr_strlcpy(buf, e ? e : "", n), ASR_OK);
  json_decref(o);
  return buf;
}

START_TEST(test_batch_bounds)
{
  char token[40], err[400], *text;
  cstore *st = open_store();
  cstore_agent ag;
  ingest_answer ans;

  enrol(st, "acme", token, &ag);
  /* within the bounds: stored */
  text = batch_text(ag.id, 1, 4, 100, 4, "");
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 200);
  ingest_answer_free(&ans);
  free(text);

  /* 100,001 readings: 413, the agent splits it */
  text = batch_text(ag.id, 2, 1, INGEST_MAX_READINGS + 1, 0, "");
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 413);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "readings: 100001 elements"));
  ck_assert_ptr_nonnull(strstr(err, "split it"));
  ingest_answer_free(&ans);
  free(text);

  /* 65 levels in one reading: that reading is malformed (refused alone, the answer says
   * why), not too large (413) */
  text = batch_text(ag.id, 3, 1, 1, INGEST_MAX_SUPPLIES + 1, "");
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"readings_refused\":1"));
  ck_assert_ptr_nonnull(strstr(ans.body, "readings[0].levels: more than 64 elements"));
  ingest_answer_free(&ans);
  free(text);

  /* 20,000 readings x 51 levels = 1,020,000 levels: 413 */
  text = batch_text(ag.id, 4, 51, 20000, 51, "");
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 413);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "levels"));
  ingest_answer_free(&ans);
  free(text);

  /* more arrays than a batch may hold, hidden in a member nobody reads: refused before
   * anything is built */
  {
    size_t n = INGEST_MAX_ARRAYS + 10;
    char *extra = malloc(n * 3 + 32);
    size_t k = 0;
    k += (size_t)snprintf(extra, 32, ",\"x_more\":[");
    for (size_t i = 0; i < n; i++) {
      memcpy(extra + k, i ? ",[]" : "[]", i ? 3 : 2);
      k += i ? 3 : 2;
    }
    memcpy(extra + k, "]", 2);
    text = batch_text(ag.id, 5, 1, 1, 1, extra);
    free(extra);
  }
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 413);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "JSON arrays"));
  ingest_answer_free(&ans);
  free(text);

  /* brackets inside strings are not containers */
  text = batch_text(ag.id, 6, 1, 1, 1, ",\"x_note\":\"[[[[{{{{\\\"[[\"");
  ck_assert_int_eq(send_text(st, &ag, text, 0, NULL, &ans), 200);
  ingest_answer_free(&ans);
  free(text);
  cstore_close(st);
}
END_TEST

START_TEST(test_batch_memory)
{
  char token[40], err[400], *text;
  cstore *st = open_store();
  cstore_agent ag;
  ingest_answer ans;
  budget *mem = budget_new((size_t)64 << 20);

  enrol(st, "acme", token, &ag);
  text = batch_text(ag.id, 1, 8, 20000, 8, ""); /* ~ 3 MB of JSON, ~ 10 MB decoded */

  /* more than this batch may take: 413 naming the memory */
  ck_assert_int_eq(send_text(st, &ag, text, (size_t)4 << 20, mem, &ans), 413);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "needs more than 4 MiB"));
  ck_assert_int_eq(ans.retry_after, 0);
  ingest_answer_free(&ans);
  ck_assert_uint_eq(budget_used(mem), 0); /* all given back */
  ck_assert_uint_le(budget_peak(mem), (size_t)4 << 20);

  /* the shared budget held by others: 503, retry later */
  ck_assert(budget_take(mem, (size_t)60 << 20));
  ck_assert_int_eq(send_text(st, &ag, text, (size_t)200 << 20, mem, &ans), 503);
  ck_assert_int_eq(ans.retry_after, 5);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "retry later"));
  ingest_answer_free(&ans);
  budget_give(mem, (size_t)60 << 20);
  ck_assert_uint_eq(budget_used(mem), 0);

  /* a small cap and a body that could inflate past it, but does not: stored (what is
   * reserved for gunzip is bounded by the cap, not by the body's worst case) */
  {
    char noise[60001], *small;
    uint8_t *gz = NULL;
    size_t gzlen = 0;
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(noise) - 1; i++) {
      x = x * 1103515245u + 12345u;
      noise[i] = "0123456789abcdef"[(x >> 16) & 15];
    }
    noise[sizeof(noise) - 1] = '\0';
    char *extra = malloc(sizeof(noise) + 32);
    ck_assert_int_eq(asr_fmt(extra, sizeof(noise) + 32, ",\"x_noise\":\"%s\"", noise), ASR_OK);
    small = batch_text(ag.id, 2, 2, 10, 2, extra);
    free(extra);
    ck_assert_int_eq(asr_gz_compress(small, strlen(small), &gz, &gzlen), ASR_OK);
    ck_assert_uint_gt(gzlen * 1032, (size_t)24 << 20); /* its worst case passes the cap */
    free(gz);
    ck_assert_int_eq(send_text(st, &ag, small, (size_t)24 << 20, mem, &ans), 200);
    ingest_answer_free(&ans);
    free(small);
  }

  /* room enough: stored, and the meter gave everything back */
  budget_free(mem);
  mem = budget_new((size_t)512 << 20);
  ck_assert_int_eq(send_text(st, &ag, text, (size_t)256 << 20, mem, &ans), 200);
  ingest_answer_free(&ans);
  ck_assert_uint_eq(budget_used(mem), 0);
  /* decoded part by part (issue 15): the text, its arrays and one reading's tree at a
   * time, not jansson's tree of the whole text (~20 times the text) */
  ck_assert_uint_gt(budget_peak(mem), (size_t)4 << 20);
  {
    budget_meter m;
    ingest_doc *doc = NULL;

    ingest_init();
    budget_meter_begin(&m, NULL, 0);
    ck_assert_int_eq(ingest_decode(text, strlen(text), ag.id, &doc, err, sizeof(err)), ASR_OK);
    ck_assert_uint_eq(ingest_doc_batch(doc)->n_readings, 20000);
    ingest_doc_free(doc);
    budget_meter_end(&m);
    ck_assert_uint_lt(m.peak, strlen(text) * 3);
  }
  free(text);
  budget_free(mem);
  cstore_close(st);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Decoding part by part (issue 15): devices and readings are decoded one element at a
 * time; the answers are those of the whole document. */

#define AG "ag_0123456789abcdef0123456789abcdef"
#define HEAD "{\"protocol\":2,\"batch_id\":\"" AG "-1\",\"agent_id\":\"" AG "\","

/* Decodes text: the result, the batch in *doc (freed by the caller), the error in err. */
static asr_result decode(const char *text, ingest_doc **doc, char *err, size_t n)
{
  *doc = NULL;
  err[0] = '\0';
  return ingest_decode(text, strlen(text), AG, doc, err, n);
}

START_TEST(test_decode_parts)
{
  char err[400];
  ingest_doc *doc;
  const cstore_batch *b;

  /* readings before devices; strings of devices, supplies and meters outlive their trees */
  ck_assert_int_eq(
      decode(HEAD "\"readings\" : [ {\"device\":1,\"t\":5,\"levels\":[[1,2,3,4]],\"meters\":"
                  "[{\"name\":\"total\",\"unit\":\"impressions\",\"value\":9}]} ] ,"
                  "\"devices\":[{\"key\":\"serial:A\"},{\"key\":\"serial:B\",\"supplies\":"
                  "[{\"index\":1,\"description\":\"Black [toner] {x}\"}]}]}",
             &doc, err, sizeof(err)),
      ASR_OK);
  b = ingest_doc_batch(doc);
  ck_assert_uint_eq(b->n_devices, 2);
  ck_assert_uint_eq(b->n_readings, 1);
  ck_assert_str_eq(b->devices[1].key, "serial:B");
  ck_assert_str_eq(b->devices[1].supplies[0].description, "Black [toner] {x}");
  ck_assert_uint_eq(b->readings[0].n_levels, 1);
  ck_assert_int_eq(b->readings[0].levels[0].percent, 4);
  ck_assert_str_eq(b->readings[0].meters[0].name, "total");
  ck_assert_str_eq(b->readings[0].meters[0].unit, "impressions");
  ingest_doc_free(doc);

  /* a refused device (named by its key) takes its reading along; a reading that is not an
   * object is refused alone; a refused reading's levels do not stick to the next one */
  ck_assert_int_eq(
      decode(HEAD "\"devices\":[{\"key\":\"serial:A\",\"supplies\":7},"
                  "{\"key\":\"serial:B\"}],\"readings\":[{\"device\":0,\"t\":1},"
                  "{\"device\":1,\"t\":3,\"levels\":[[1,2,3,4]],\"meters\":5},{\"device\":1,"
                  "\"t\":2},17]}",
             &doc, err, sizeof(err)),
      ASR_OK);
  b = ingest_doc_batch(doc);
  ck_assert_int_eq(b->devices_refused, 1);
  ck_assert_str_eq(b->refused[0].device, "serial:A");
  ck_assert_int_eq(b->refused[0].readings, 1);
  ck_assert_int_eq(b->readings_refused, 3);
  ck_assert_uint_eq(b->n_readings, 1);
  ck_assert_int_eq(b->readings[0].t, 2);
  ck_assert_uint_eq(b->readings[0].n_levels, 0);
  ingest_doc_free(doc);

  /* a member twice, a syntax error inside an element: the whole document's answers */
  ck_assert_int_eq(
      decode(HEAD "\"devices\":[],\"readings\":[],\"readings\":[]}", &doc, err, sizeof(err)),
      ASR_ERR_PARSE);
  ck_assert_ptr_nonnull(strstr(err, "duplicate object key"));
  ck_assert_int_eq(decode(HEAD "\"devices\":[{\"key\":\"serial:A\"}],\"readings\":[{\"device\":0,"
                               "\"t\":1,}]}",
                          &doc, err, sizeof(err)),
                   ASR_ERR_PARSE);
  ck_assert_msg(strstr(err, "body: not JSON:") && strstr(err, "(line 1, column 176)"), "%s", err);
  ck_assert_int_eq(decode(HEAD
                          "\"devices\":[{\"key\":\"serial:A\",\"key\":\"x\"}],\"readings\":[]}",
                          &doc, err, sizeof(err)),
                   ASR_ERR_PARSE);
  ck_assert_int_eq(
      decode(HEAD "\"devices\":[],\"readings\":[]} {\"readings\":[]}", &doc, err, sizeof(err)),
      ASR_ERR_PARSE);
  ck_assert_int_eq(decode(HEAD "\"devices\":[],\"readings\":{}}", &doc, err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_str_eq(err, "readings: not an array");

  /* a key written with an escape is the same key */
  ck_assert_int_eq(decode(HEAD
                          "\"devices\":[{\"key\":\"serial:A\"}],\"read\\u0069ngs\":[{\"device\""
                          ":0,\"t\":1}]}",
                          &doc, err, sizeof(err)),
                   ASR_OK);
  ck_assert_uint_eq(ingest_doc_batch(doc)->n_readings, 1);
  ingest_doc_free(doc);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Site tokens. */

static asr_result enrol_with(cstore *st, const char *token, cstore_agent *ag)
{
  char name[CSTORE_NAME_MAX];

  return cstore_enroll(st, token, "h", "0.1.0", NOW, ag, name, sizeof(name));
}

START_TEST(test_tokens)
{
  char t1[40], t2[40], t3[40], err[400];
  cstore *st = open_store();
  cstore_agent a1, a2, a3, x;
  cstore_lockout lo;
  ingest_answer ans = {0};
  char body[128];

  ck_assert_int_eq(cstore_schema_version(st), cstore_schema_latest());
  enrol(st, "acme", t1, &a1);
  /* revoking an agent revokes the token it enrolled with */
  ck_assert_int_eq(cstore_agent_lock_out(st, a1.id, false, NOW, &lo), ASR_OK);
  ck_assert_str_eq(lo.site, "acme");
  ck_assert(lo.token_revoked);
  ck_assert_int_eq(cstore_agent_get(st, a1.id, &x), ASR_OK);
  ck_assert(x.revoked);
  ck_assert_int_eq(enrol_with(st, t1, &x), ASR_ERR_AUTH);
  ck_assert_int_eq(asr_fmt(body, sizeof(body), "{\"site_token\":\"%s\"}", t1), ASR_OK);
  ck_assert_int_eq(ingest_enroll(st, body, strlen(body), NOW, &ans), 401);
  ck_assert_ptr_nonnull(strstr(error_of(&ans, err, sizeof(err)), "revoked"));
  ingest_answer_free(&ans);

  /* a new token enrols, the old one is unknown */
  ck_assert_int_eq(cstore_site_token_rotate(st, "acme", NOW, t2, sizeof(t2)), ASR_OK);
  ck_assert_str_ne(t1, t2);
  ck_assert_int_eq(strlen(t2), CSTORE_TOKEN_LEN);
  ck_assert_int_eq(enrol_with(st, t1, &x), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(enrol_with(st, t2, &a2), ASR_OK);
  ck_assert_int_eq(enrol_with(st, t2, &a3), ASR_OK);

  /* --keep-site-token: the agent alone */
  ck_assert_int_eq(cstore_agent_lock_out(st, a3.id, true, NOW, &lo), ASR_OK);
  ck_assert(!lo.token_revoked);
  ck_assert_int_eq(enrol_with(st, t2, &x), ASR_OK);

  /* an agent enrolled with an older token leaves the site's new one alone */
  ck_assert_int_eq(cstore_site_token_rotate(st, "acme", NOW, t3, sizeof(t3)), ASR_OK);
  ck_assert_int_eq(cstore_agent_lock_out(st, a2.id, false, NOW, &lo), ASR_OK);
  ck_assert(!lo.token_revoked);
  ck_assert_int_eq(enrol_with(st, t3, &a3), ASR_OK);

  /* revoked by hand: enrols nothing, its agents keep working, a rotation heals it */
  ck_assert_int_eq(cstore_site_token_revoke(st, "acme", NOW), ASR_OK);
  ck_assert_int_eq(enrol_with(st, t3, &x), ASR_ERR_AUTH);
  ck_assert_int_eq(cstore_agent_get(st, a3.id, &x), ASR_OK);
  ck_assert(!x.revoked);
  ck_assert_int_eq(cstore_site_token_rotate(st, "acme", NOW, t3, sizeof(t3)), ASR_OK);
  ck_assert_int_eq(enrol_with(st, t3, &x), ASR_OK);

  ck_assert_int_eq(cstore_site_token_rotate(st, "nowhere", NOW, t3, sizeof(t3)), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(cstore_site_token_revoke(st, "nowhere", NOW), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(
      cstore_agent_lock_out(st, "ag_00000000000000000000000000000000", false, NOW, &lo),
      ASR_ERR_NOT_FOUND);
  cstore_close(st);
}
END_TEST

/* A database of schema 2 (before site tokens could rotate) keeps its token. */
START_TEST(test_tokens_migration)
{
  char t1[40], old[320], sql[1024];
  cstore *st = open_store();
  cstore_agent a1, x;
  cstore_lockout lo;
  sqlite3 *db = NULL;
  char *msg = NULL;

  enrol(st, "acme", t1, &a1);
  cstore_close(st);
  /* the same site and agent in a database of schema 2, before tokens had generations */
  ck_assert_int_eq(asr_fmt(old, sizeof(old), "%s.v2", db_path), ASR_OK);
  ck_assert_int_eq(asr_fmt(sql, sizeof(sql),
                           "ATTACH '%s' AS cur;"
                           "INSERT INTO sites SELECT id, name, contact, address, token, created_at"
                           " FROM cur.sites;"
                           "INSERT INTO agents SELECT id, site_id, secret, hostname, agent_version,"
                           " enrolled_at, last_seen, revoked FROM cur.agents;"
                           "DETACH cur; PRAGMA user_version = 2;",
                           db_path),
                   ASR_OK);
  ck_assert_int_eq(sqlite3_open(old, &db), SQLITE_OK);
  ck_assert_msg(sqlite3_exec(db, schema_v2, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
  ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
  sqlite3_close(db);
  for (int i = 0; i < 2; i++) { /* no WAL of the database replaced may stay beside it */
    char side[330];

    ck_assert_int_eq(asr_fmt(side, sizeof(side), "%s%s", db_path, i ? "-shm" : "-wal"), ASR_OK);
    ck_assert(remove(side) == 0 || errno == ENOENT);
  }
  ck_assert_int_eq(rename(old, db_path), 0);
  st = open_store();
  ck_assert_int_eq(cstore_schema_version(st), cstore_schema_latest());
  ck_assert_int_eq(enrol_with(st, t1, &x), ASR_OK);
  ck_assert_int_eq(cstore_agent_lock_out(st, a1.id, false, NOW, &lo), ASR_OK);
  ck_assert(lo.token_revoked); /* the agents of before enrolled with the token of before */
  cstore_close(st);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * Request deadlines and the page pool. */

/* True when the peer of fd closed (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
  struct pollfd p = {fd, POLLIN, 0};
  char c;

  return poll(&p, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

START_TEST(test_connguard)
{
  connguard *g = NULL;
  int a[2], b[2], c[2];
  cg_conn *ca, *cb, *cc;

  ck_assert_int_eq(connguard_start(1, 2, &g), ASR_OK);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
  ca = connguard_open(g, a[0]); /* never sends its headers */
  cb = connguard_open(g, b[0]); /* headers in, then the body never ends */
  cc = connguard_open(g, c[0]); /* the whole request in: being answered */
  connguard_phase(g, cb, CG_BODY);
  connguard_phase(g, cc, CG_BODY);
  connguard_phase(g, cc, CG_ANSWERING);
  ck_assert(!closed_within(a[1], 500));
  ck_assert(closed_within(a[1], 1500)); /* the header deadline: 1 s */
  ck_assert(!closed_within(b[1], 100));
  ck_assert(closed_within(b[1], 1500)); /* the request deadline: 2 s */
  ck_assert(!closed_within(c[1], 1000));
  ck_assert_uint_eq(connguard_cut(g), 2);
  /* the next request of a kept-alive connection has its own clock */
  connguard_phase(g, cc, CG_HEADERS);
  ck_assert(!closed_within(c[1], 500));
  ck_assert(closed_within(c[1], 1500));
  connguard_close(g, ca);
  connguard_close(g, cb);
  connguard_close(g, cc);
  connguard_stop(g);
  for (int i = 0; i < 2; i++) {
    close(a[i]);
    close(b[i]);
    close(c[i]);
  }
}
END_TEST

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool release;
  int ran, cancelled;
} pool_ctx;

static void job_run(void *arg)
{
  pool_ctx *x = arg;

  pthread_mutex_lock(&x->mu);
  while (!x->release)
    pthread_cond_wait(&x->cv, &x->mu);
  x->ran++;
  pthread_mutex_unlock(&x->mu);
}

static void job_cancel(void *arg)
{
  pool_ctx *x = arg;

  pthread_mutex_lock(&x->mu);
  x->cancelled++;
  pthread_mutex_unlock(&x->mu);
}

START_TEST(test_pagepool)
{
  pool_ctx x = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0};
  pagepool *p = NULL;
  int i = 0;

  ck_assert_int_eq(pagepool_start(1, 2, &p), ASR_OK);
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x)); /* runs, and blocks the thread */
  while (pagepool_waiting(p) && i++ < 200)
    usleep(5000);
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x));
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x));
  ck_assert(!pagepool_submit(p, job_run, job_cancel, &x)); /* the queue is full */
  ck_assert_uint_eq(pagepool_waiting(p), 2);
  pthread_mutex_lock(&x.mu);
  x.release = true;
  pthread_cond_broadcast(&x.cv);
  pthread_mutex_unlock(&x.mu);
  for (i = 0; pagepool_waiting(p) && i < 200; i++)
    usleep(5000);
  pagepool_stop(p);
  ck_assert_int_eq(x.ran + x.cancelled, 3); /* each job run or cancelled, once */
  ck_assert_int_ge(x.ran, 1);

  /* stopping with jobs waiting cancels them */
  x.release = false;
  x.ran = x.cancelled = 0;
  ck_assert_int_eq(pagepool_start(1, 4, &p), ASR_OK);
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x));
  for (i = 0; pagepool_waiting(p) && i < 200; i++)
    usleep(5000);
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x));
  ck_assert(pagepool_submit(p, job_run, job_cancel, &x));
  pthread_mutex_lock(&x.mu);
  x.release = true; /* the running one may finish; the stop cancels the others */
  pthread_cond_broadcast(&x.cv);
  pthread_mutex_unlock(&x.mu);
  pagepool_stop(p);
  ck_assert_int_eq(x.ran + x.cancelled, 3);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * TLS priorities and the server's limits. */

START_TEST(test_tls_priorities)
{
  const char *p12 = central_tls_priorities("1.2"), *p13 = central_tls_priorities("1.3");

  ck_assert_ptr_eq(central_tls_priorities(NULL), p12);
  ck_assert_ptr_nonnull(strstr(p12, "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"));
  ck_assert_ptr_nonnull(strstr(p12, "-KX-ALL:+ECDHE"));
  ck_assert_ptr_null(strstr(p12, "+RSA"));
  ck_assert_ptr_nonnull(strstr(p13, "-VERS-ALL:+VERS-TLS1.3:"));
  ck_assert_ptr_null(strstr(p13, "TLS1.2"));
  ck_assert_ptr_null(central_tls_priorities("1.1"));
  ck_assert_ptr_null(central_tls_priorities("1.0"));
}
END_TEST

static int connect_to(uint16_t port)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  inet_pton(AF_INET, "127.50.0.2", &sa.sin_addr);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return fd;
}

/* Sends a page request and reads the answer's status line; 0 when the connection closed. */
static int get_status(int fd, const char *path)
{
  char req[256], resp[64] = "";
  int status = 0;
  ssize_t n;

  ck_assert_int_eq(
      asr_fmt(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path),
      ASR_OK);
  if (write(fd, req, strlen(req)) < 0)
    return 0;
  n = read(fd, resp, sizeof(resp) - 1);
  if (n > 0 && sscanf(resp, "HTTP/1.1 %d", &status) != 1)
    status = 0;
  return status;
}

START_TEST(test_server_limits)
{
  char err[256];
  central_server_opts o;
  central_server *sv = NULL;
  cstore *st = open_store();
  int f[3], slow;
  uint16_t port;

  cstore_close(st);
  central_server_opts_init(&o);
  ck_assert_uint_eq(o.per_ip_connections, 32);
  ck_assert_uint_eq(o.header_timeout, 10);
  o.listen = "127.50.0.2:0";
  o.db_path = db_path;
  o.per_ip_connections = 2;
  o.header_timeout = 1;
  o.threads = 1;
  ck_assert_msg(central_server_start(&o, &sv, err, sizeof(err)) == ASR_OK, "%s", err);
  port = central_server_port(sv);

  /* a third connection from the same address is closed at once */
  f[0] = connect_to(port);
  f[1] = connect_to(port);
  usleep(200000);
  f[2] = connect_to(port);
  ck_assert(closed_within(f[2], 1000));
  close(f[2]);
  /* a client that never finishes its headers is cut at the header deadline (1 s) */
  ck_assert_int_eq(write(f[1], "GET / HTTP/1.1\r\nHo", 18), 18);
  ck_assert(!closed_within(f[1], 400));
  ck_assert(closed_within(f[1], 2000));
  close(f[1]);
  close(f[0]);
  /* pages still answer (on the page pool): the API (401 without a session or token: the
   * portal's rule), any other page (a redirect to the sign-in page) */
  usleep(200000);
  slow = connect_to(port);
  ck_assert_int_eq(get_status(slow, "/api/sites"), 401);
  close(slow);
  slow = connect_to(port);
  ck_assert_int_eq(get_status(slow, "/nowhere"), 303); /* anonymous: to the sign-in page */
  close(slow);
  central_server_stop(sv);

  /* a bad --tls-min-version is refused at start */
  o.tls_min_version = "1.1";
  ck_assert_int_eq(central_server_start(&o, &sv, err, sizeof(err)), ASR_ERR_USAGE);
  ck_assert_ptr_nonnull(strstr(err, "--tls-min-version"));
}
END_TEST

int main(int argc, char **argv)
{
  Suite *s = suite_create("limits");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv);
  asr_log_set_level(ASR_LOG_ERR);
  ingest_init();
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_budget);
  tcase_add_test(tc, test_batch_bounds);
  tcase_add_test(tc, test_batch_memory);
  tcase_add_test(tc, test_decode_parts);
  tcase_add_test(tc, test_tokens);
  TESTDB_SQLITE_TEST(tc, test_tokens_migration, "a SQLite database of schema 2");
  tcase_add_test(tc, test_connguard);
  tcase_add_test(tc, test_pagepool);
  tcase_add_test(tc, test_tls_priorities);
  tcase_add_test(tc, test_server_limits);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
