/* check_central.c: asr-central's store, ingest and HTTP server, on real SQLite files in a
 * temporary directory and a real server on 127.50.0.1 (a raw socket client). */
#include <arpa/inet.h>
#include <check.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testdb.h"
#include "central/ccli.h"
#include "central/ccli_ct.h"
#include "central/ccli_meters.h"
#include "central/ccli_rp.h"
#include "central/cdb.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "central/server.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/util.h"
#include "wire/gz.h"
#include "wire/sign.h"

#define NOW INT64_C(1795000000)

static char dir[256], db_path[300];

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_central.XXXXXX", sizeof(dir)), ASR_OK);
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

/* A site and an enrolled agent. */
static void enrol(cstore *st, const char *site, cstore_agent *ag)
{
  char token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX];

  ck_assert_int_eq(cstore_site_add(st, site, "ops@example.org", NULL, NOW, token, sizeof(token)),
                   ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", NOW, ag, name, sizeof(name)), ASR_OK);
  ck_assert_str_eq(name, site);
}

/* A batch of agent aid, sequence seq: ndev devices "serial:Dn" (device 0 without serial
 * has key "mac:..."), nread readings per device from t0 a minute apart, 2 supplies. */
static json_t *make_batch(const char *aid, int seq, int ndev, int nread, int64_t t0)
{
  char id[128], key[32];
  json_t *devs = json_array(), *reads = json_array();

  ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%010d", aid, seq), ASR_OK);
  for (int d = 0; d < ndev; d++) {
    ck_assert_int_eq(asr_fmt(key, sizeof(key), "serial:D%d", d), ASR_OK);
    json_array_append_new(
        devs, json_pack("{s:s,s:s,s:s,s:{s:s,s:[s]},s:s,s:[{s:i,s:s,s:s,s:s},{s:i,s:s,s:n}]}",
                        "key", key, "serial", key + 7, "ip", "192.0.2.7", "status", "printer",
                        "idle", "errors", "lowToner", "state", "active", "supplies", "index", 1,
                        "type", "toner", "colorant", "black", "colorant_std", "black", "index", 2,
                        "type", "wasteToner", "colorant"));
    for (int r = 0; r < nread; r++)
      json_array_append_new(reads, json_pack("{s:i,s:I,s:i,s:[[i,i,i,i],[i,i,i,n]]}", "device", d,
                                             "t", (json_int_t)(t0 + 60 * r), "page_count", 1000 + r,
                                             "levels", 1, 80 - r, 100, 80 - r, 2, -3, -2));
  }
  return json_pack("{s:i,s:s,s:s,s:s,s:I,s:o,s:o,s:[{s:i,s:I,s:s,s:s}]}", "protocol", 1, "batch_id",
                   id, "agent_id", aid, "agent_version", "0.1.0", "created_at", (json_int_t)NOW,
                   "devices", devs, "readings", reads, "events", "device", 0, "t", (json_int_t)t0,
                   "kind", "reconnected", "detail", "answers again");
}

/* Signs and ingests a JSON batch as agent ag at time ts; returns the status, the answer
 * body in ans (caller frees). */
static int send_json(cstore *st, const cstore_agent *ag, const char *secret, json_t *batch,
                     int64_t ts, ingest_answer *ans)
{
  char *text = json_dumps(batch, JSON_COMPACT), sig[ASR_SIGN_HEADER_LEN + 1], tss[24];
  uint8_t *gz = NULL;
  size_t gzlen = 0;
  int status;

  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(asr_gz_compress(text, strlen(text), &gz, &gzlen), ASR_OK);
  ck_assert_int_eq(asr_sign_request(secret, "POST", "/v1/batches", ts, gz, gzlen, sig, sizeof(sig)),
                   ASR_OK);
  ck_assert_int_eq(asr_fmt(tss, sizeof(tss), "%lld", (long long)ts), ASR_OK);
  ingest_request req = {0};
  req.body = gz;
  req.body_len = gzlen;
  req.method = "POST";
  req.path = "/v1/batches";
  req.agent = ag->id;
  req.timestamp = tss;
  req.signature = sig;
  req.content_encoding = "gzip";
  memset(ans, 0, sizeof(*ans));
  status = ingest_batch(st, &req, NOW, ans);
  free(text);
  free(gz);
  return status;
}

static const char *answer_str(const ingest_answer *ans, const char *field, char *buf, size_t n)
{
  json_t *o = json_loads(ans->body, 0, NULL);

  ck_assert_ptr_nonnull(o);
  if (json_is_string(json_object_get(o, field)))
    ck_assert_int_eq(asr_strlcpy(buf, json_string_value(json_object_get(o, field)), n), ASR_OK);
  else if (json_is_integer(json_object_get(o, field)))
    ck_assert_int_eq(
        asr_fmt(buf, n, "%lld", (long long)json_integer_value(json_object_get(o, field))), ASR_OK);
  else
    ck_assert_int_eq(asr_strlcpy(buf, "(none)", n), ASR_OK);
  json_decref(o);
  return buf;
}

/* ------------------------------------------------------------------------------------ */

START_TEST(test_open_schema_mode)
{
  struct stat sb;
  cstore *st = open_store();

  ck_assert_int_eq(cstore_schema_version(st), cstore_schema_latest());
  ck_assert_int_eq(stat(db_path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  cstore_close(st);
  st = open_store(); /* reopening migrates nothing and keeps the version */
  ck_assert_int_eq(cstore_schema_version(st), cstore_schema_latest());
  cstore_close(st);
}
END_TEST

/* A second handle in the same process must not drop the first one's POSIX locks: else
 * another process closing the database deletes the WAL under the first handle. */
START_TEST(test_handles_keep_locks)
{
  char token[CSTORE_TOKEN_LEN + 1], p[400];
  cstore *a = open_store(), *b;
  pid_t pid;
  int ws = 0;

  ck_assert_int_eq(cstore_site_add(a, "one", "a@b", NULL, NOW, token, sizeof(token)), ASR_OK);
  b = open_store();
  cstore_close(b);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* another process (a fresh one: not a fork's copy of SQLite's state) */
    setenv("CHECK_CENTRAL_OPEN_CLOSE", db_path, 1);
    execl("/proc/self/exe", "check_central", (char *)NULL);
    _exit(127);
  }
  ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
  ck_assert_int_eq(WEXITSTATUS(ws), 0);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s-wal", db_path), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), 0); /* a still holds the database open */
  ck_assert_int_eq(cstore_site_add(a, "two", "a@b", NULL, NOW, token, sizeof(token)), ASR_OK);
  b = open_store();
  ck_assert_int_eq(cstore_count(b, "sites"), 2);
  cstore_close(b);
  cstore_close(a);
}
END_TEST

START_TEST(test_site_add)
{
  char token[CSTORE_TOKEN_LEN + 1], token2[CSTORE_TOKEN_LEN + 1];
  cstore *st = open_store();

  ck_assert_int_eq(cstore_site_add(st, "A", "a@b", NULL, NOW, token, sizeof(token)), ASR_OK);
  ck_assert_uint_eq(strlen(token), CSTORE_TOKEN_LEN);
  ck_assert(strncmp(token, "st_", 3) == 0);
  ck_assert_int_eq(cstore_site_add(st, "A", "a@b", NULL, NOW, token2, sizeof(token2)),
                   ASR_ERR_INVALID);
  ck_assert_ptr_nonnull(strstr(cstore_errmsg(st), "exists"));
  ck_assert_int_eq(cstore_site_add(st, "B", "a@b", "1 Road", NOW, token2, sizeof(token2)), ASR_OK);
  ck_assert_str_ne(token, token2);
  ck_assert_int_eq(cstore_count(st, "sites"), 2);
  cstore_close(st);
}
END_TEST

/* An enrolment meeting a busy database (another writer; on PostgreSQL also a connection
 * made again) is 503 with Retry-After: the agent retries; nothing is stored. */
static void enroll_busy(cstore *st, const char *body)
{
  ingest_answer ans = {0};
  cstore *other = NULL;
  char err[256];

  cstore_set_busy_timeout(50);
  ck_assert_msg(cstore_open(db_path, &other, err, sizeof(err)) == ASR_OK, "%s", err);
  cstore_set_busy_timeout(30000);
  ck_assert_int_eq(cstore_tx_begin(st), ASR_OK); /* st holds the writer's lock (SQLite) */
  cdb *locker = NULL;
  if (testdb_pg()) { /* PostgreSQL's BEGIN locks nothing: another node holds the table */
    cdb_opts o = {.slots = 1, .busy_ms = 30000};
    ck_assert_msg(cdb_open(db_path, &o, &locker, err, sizeof(err)) == ASR_OK, "%s", err);
    ck_assert_int_eq(cdb_begin(locker), ASR_OK);
    ck_assert_int_eq(cdb_exec(locker, "LOCK TABLE agents IN ACCESS EXCLUSIVE MODE", "locking"),
                     ASR_OK);
  }
  ck_assert_int_eq(ingest_enroll(other, body, strlen(body), NOW, &ans), 503);
  if (locker)
    cdb_rollback(locker);
  cdb_close(locker);
  ck_assert_int_eq(ans.retry_after, 5);
  ck_assert_ptr_nonnull(strstr(ans.body, "retry later"));
  ingest_answer_free(&ans);
  cstore_tx_rollback(st);
  cstore_close(other);
}

START_TEST(test_enroll)
{
  char token[CSTORE_TOKEN_LEN + 1], body[256], buf[128];
  ingest_answer ans = {0};
  cstore_agent ag;
  cstore *st = open_store();

  ck_assert_int_eq(cstore_site_add(st, "Site", "a@b", NULL, NOW, token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(asr_fmt(body, sizeof(body),
                           "{\"site_token\":\"%s\",\"hostname\":\"h\",\"agent_version\":\"0.1\"}",
                           token),
                   ASR_OK);
  ck_assert_int_eq(ingest_enroll(st, body, strlen(body), NOW, &ans), 201);
  answer_str(&ans, "agent_id", buf, sizeof(buf));
  ck_assert(strncmp(buf, "ag_", 3) == 0 && strlen(buf) == 35);
  ck_assert_int_eq(cstore_agent_get(st, buf, &ag), ASR_OK);
  ck_assert_str_eq(answer_str(&ans, "secret", buf, sizeof(buf)), ag.secret);
  ck_assert_uint_eq(strlen(ag.secret), 64);
  ck_assert_str_eq(answer_str(&ans, "site", buf, sizeof(buf)), "Site");
  ingest_answer_free(&ans);
  /* the token may enrol several agents */
  ck_assert_int_eq(ingest_enroll(st, body, strlen(body), NOW, &ans), 201);
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "agents"), 2);
  enroll_busy(st, body);
  ck_assert_int_eq(
      asr_strlcpy(body, "{\"site_token\":\"st_00000000000000000000000000000000\"}", sizeof(body)),
      ASR_OK);
  ck_assert_int_eq(ingest_enroll(st, body, strlen(body), NOW, &ans), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "unknown site token"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(ingest_enroll(st, "{\"site_token\":5}", 16, NOW, &ans), 400);
  ingest_answer_free(&ans);
  ck_assert_int_eq(ingest_enroll(st, "nope", 4, NOW, &ans), 400);
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "agents"), 2);
  cstore_close(st);
}
END_TEST

START_TEST(test_ingest_valid_and_duplicate)
{
  char buf[128];
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 3, 4, NOW - 3600);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ck_assert_str_eq(answer_str(&ans, "status", buf, sizeof(buf)), "stored");
  ck_assert_str_eq(answer_str(&ans, "readings", buf, sizeof(buf)), "12");
  ck_assert_str_eq(ans.batch_id, json_string_value(json_object_get(b, "batch_id")));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "devices"), 3);
  ck_assert_int_eq(cstore_count(st, "readings"), 12);
  ck_assert_int_eq(cstore_count(st, "levels"), 24);
  ck_assert_int_eq(cstore_count(st, "events"), 1);
  ck_assert_int_eq(cstore_count(st, "batches"), 1);
  /* the same batch again: acknowledged, nothing stored twice */
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ck_assert_str_eq(answer_str(&ans, "status", buf, sizeof(buf)), "duplicate");
  ck_assert_str_eq(answer_str(&ans, "readings", buf, sizeof(buf)), "12");
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "readings"), 12);
  ck_assert_int_eq(cstore_count(st, "levels"), 24);
  ck_assert_int_eq(cstore_count(st, "batches"), 1);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* Counts the "readings" of the devices listing. */
static int sum_readings(const cstore_device_row *d, void *ctx)
{
  *(int64_t *)ctx += d->readings;
  return 0;
}

START_TEST(test_same_reading_two_batches)
{
  cstore_agent ag;
  ingest_answer ans;
  int64_t sum = 0;
  cstore *st = open_store();
  json_t *b1 = NULL, *b2 = NULL;

  enrol(st, "S", &ag);
  b1 = make_batch(ag.id, 1, 2, 3, NOW - 600); /* t0, t0+60, t0+120 */
  b2 = make_batch(ag.id, 2, 2, 3, NOW - 480); /* t0+120 again, then two new */
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b1, NOW, &ans), 200);
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b2, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"stored\""));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "readings"), 2 * 5);
  ck_assert_int_eq(cstore_count(st, "levels"), 2 * 5 * 2);
  ck_assert_int_eq(cstore_count(st, "batches"), 2);
  ck_assert_int_eq(cstore_device_foreach(st, NULL, sum_readings, &sum), ASR_OK);
  ck_assert_int_eq(sum, 10);
  json_decref(b1);
  json_decref(b2);
  cstore_close(st);
}
END_TEST

/* Malformed batches: each row breaks one field; the answer names it. A fault in the
 * batch's frame refuses the whole batch (400); a fault inside one device, reading or event
 * refuses only that part (a device with its readings and events), the rest is stored and
 * the answer lists what was refused (issue 10: one printer must not hold a site's data).
 * The batch of these rows: 2 devices, readings 0-1 of device 0 and 2-3 of device 1, one
 * event of device 0. */
enum { WHOLE, DEV0, DEV1, READING3, EVENT0 };

static const struct {
  const char *path;    /* a JSON pointer-like path to replace: "a.b.0.c" */
  const char *value;   /* JSON text of the new value, NULL to delete the member */
  const char *message; /* expected part of the error */
  int scope;           /* what is refused */
} bad_rows[] = {
    {"protocol", "3", "protocol: version 3 is not supported (this central speaks 1 to 2)", WHOLE},
    {"protocol", NULL, "protocol: missing", WHOLE},
    {"batch_id", "\"ag_x-1\"", "batch_id: not the agent id", WHOLE},
    {"batch_id", "7", "batch.batch_id: not a string", WHOLE},
    {"agent_id", "\"ag_00000000000000000000000000000000\"", "agent_id: not the agent that signed",
     WHOLE},
    {"devices", "{}", "devices: not an array", WHOLE},
    {"readings", NULL, "readings: missing", WHOLE},
    {"devices.0.key", NULL, "devices[0].key: missing or empty", DEV0},
    {"devices.1.serial", "5", "devices[1].serial: not a string", DEV1},
    {"devices.0.state", "\"sleepy\"", "devices[0].state: not active, silent or disconnected", DEV0},
    {"devices.0.failed_polls", "-1", "devices[0].failed_polls: out of range", DEV0},
    {"devices.0.supplies.1.index", "1.5", "devices[0].supplies[1].index: not an integer", DEV0},
    {"devices.0.supplies.1.index", "1", "devices[0].supplies[1].index: 1 described twice", DEV0},
    {"devices.0.supplies.0.colorant_std", "[\"black\"]",
     "devices[0].supplies[0].colorant_std: not a string", DEV0},
    {"devices.0.status.errors.0", "3", "devices[0].status.errors[0]: not a string", DEV0},
    {"devices.1", "7", "devices[1]: not an object", DEV1},
    {"readings.3.device", "9", "readings[3].device: out of range (0 to 1)", READING3},
    {"readings.3.t", "\"x\"", "readings[3].t: not an integer", READING3},
    {"readings.3.levels.1.1", "\"54\"", "readings[3].levels[1]: level is not an integer", READING3},
    {"readings.3.levels.1.0", "null", "readings[3].levels[1]: index is not an integer", READING3},
    {"readings.3.levels.1.3", "101", "readings[3].levels[1]: percent is out of range", READING3},
    {"readings.3.levels.1", "[1,2,3]", "readings[3].levels[1]: not an array [index, level, max",
     READING3},
    {"readings.3.levels.1.0", "1", "readings[3].levels[1]: supply index 1 repeated", READING3},
    {"readings.3.page_count", "-5", "readings[3].page_count: out of range", READING3},
    {"readings.3", "[]", "readings[3]: not an object", READING3},
    {"events.0.kind", "\"\"", "events[0].kind: missing or empty", EVENT0},
    {"events.0.device", "2", "events[0].device: out of range", EVENT0},
};

/* Replaces (or deletes) the value at a dotted path of doc. */
static void set_path(json_t *doc, const char *path, const char *value)
{
  char buf[128], *save = NULL, *tok, *next;
  json_t *cur = doc, *v = value ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;

  ck_assert_int_eq(asr_strlcpy(buf, path, sizeof(buf)), ASR_OK);
  tok = strtok_r(buf, ".", &save);
  while ((next = strtok_r(NULL, ".", &save))) {
    cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10))
                             : json_object_get(cur, tok);
    ck_assert_ptr_nonnull(cur);
    tok = next;
  }
  if (json_is_array(cur))
    ck_assert_int_eq(json_array_set_new(cur, strtoul(tok, NULL, 10), v), 0);
  else if (v)
    ck_assert_int_eq(json_object_set_new(cur, tok, v), 0);
  else
    ck_assert_int_eq(json_object_del(cur, tok), 0);
}

/* The first element of the answer's "refused" list, or NULL. */
static json_t *first_refused(json_t *answer)
{
  return json_array_get(json_object_get(answer, "refused"), 0);
}

START_TEST(test_malformed)
{
  static const struct {
    int64_t devices, readings, events, readings_refused, events_refused;
    const char *what, *device;
  } want[] = {
      [DEV0] = {1, 2, 0, 2, 1, "device", NULL},
      [DEV1] = {1, 2, 1, 2, 0, "device", NULL},
      [READING3] = {2, 3, 1, 1, 0, "reading", NULL},
      [EVENT0] = {2, 4, 0, 0, 1, "event", NULL},
  };
  int scope = bad_rows[_i].scope;
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b, *a, *ref;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 2, 2, NOW - 600);
  set_path(b, bad_rows[_i].path, bad_rows[_i].value);
  if (scope == WHOLE) {
    ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 400);
    ck_assert_msg(strstr(ans.body, bad_rows[_i].message), "row %d: got %s", _i, ans.body);
    ingest_answer_free(&ans);
    ck_assert_int_eq(cstore_count(st, "devices"), 0);
    ck_assert_int_eq(cstore_count(st, "readings"), 0);
    ck_assert_int_eq(cstore_count(st, "batches"), 0);
    json_decref(b);
    cstore_close(st);
    return;
  }
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  a = json_loads(ans.body, 0, NULL);
  ck_assert_ptr_nonnull(a);
  ref = first_refused(a);
  ck_assert_msg(ref &&
                    strstr(json_string_value(json_object_get(ref, "error")), bad_rows[_i].message),
                "row %d: got %s", _i, ans.body);
  ck_assert_str_eq(json_string_value(json_object_get(a, "status")), "stored");
  ck_assert_int_eq(json_integer_value(json_object_get(a, "readings")), 4); /* in the batch */
  ck_assert_int_eq(json_integer_value(json_object_get(a, "readings_refused")),
                   want[scope].readings_refused);
  ck_assert_int_eq(json_integer_value(json_object_get(a, "events_refused")),
                   want[scope].events_refused);
  ck_assert_str_eq(json_string_value(json_object_get(ref, "what")), want[scope].what);
  if (want[scope].device)
    ck_assert_str_eq(json_string_value(json_object_get(ref, "device")), want[scope].device);
  ck_assert_int_eq(cstore_count(st, "devices"), want[scope].devices);
  ck_assert_int_eq(cstore_count(st, "readings"), want[scope].readings);
  ck_assert_int_eq(cstore_count(st, "events"), want[scope].events);
  ck_assert_int_eq(cstore_count(st, "batches"), 1);
  ck_assert_int_eq(cstore_count(st, "problems"), 1); /* flagged at the central */
  json_decref(a);
  ingest_answer_free(&ans);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* The last problem listed (copied) and how many were. */
static struct {
  char what[32], device[64], agent[64];
  int64_t t;
} seen_problem;
static int seen_problems;

static int keep_problem(const cstore_problem_row *p, void *ctx)
{
  (void)ctx;
  if (seen_problems++ == 0) {
    ck_assert_int_eq(asr_strlcpy(seen_problem.what, p->what, sizeof(seen_problem.what)), ASR_OK);
    ck_assert_int_eq(
        asr_strlcpy(seen_problem.device, p->device ? p->device : "", sizeof(seen_problem.device)),
        ASR_OK);
    ck_assert_int_eq(asr_strlcpy(seen_problem.agent, p->agent, sizeof(seen_problem.agent)), ASR_OK);
    seen_problem.t = p->t;
  }
  return 0;
}

/* Issue 10: a printer listing a supply index twice (an agent before the fix sent its
 * readings with levels 1, 2, 1, 2) must not hold the other printers' readings: they are
 * stored, each of its readings is refused and named in the answer. */
START_TEST(test_one_printer_does_not_hold_the_batch)
{
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b, *a, *reads, *ref;
  int64_t sum = 0;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 3, 2, NOW - 600); /* readings 2 and 3 are device 1's */
  reads = json_object_get(b, "readings");
  for (size_t i = 2; i < 4; i++)
    json_array_append_new(json_object_get(json_array_get(reads, i), "levels"),
                          json_pack("[i,i,i,i]", 1, 50, 100, 50));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  a = json_loads(ans.body, 0, NULL);
  ck_assert_str_eq(json_string_value(json_object_get(a, "status")), "stored");
  ck_assert_int_eq(json_integer_value(json_object_get(a, "readings")), 6);
  ck_assert_int_eq(json_integer_value(json_object_get(a, "readings_refused")), 2);
  ck_assert_uint_eq(json_array_size(json_object_get(a, "refused")), 2);
  for (size_t i = 0; i < 2; i++) {
    ref = json_array_get(json_object_get(a, "refused"), i);
    ck_assert_str_eq(json_string_value(json_object_get(ref, "what")), "reading");
    ck_assert_str_eq(json_string_value(json_object_get(ref, "device")), "serial:D1");
    ck_assert_int_eq(json_integer_value(json_object_get(ref, "t")), NOW - 600 + 60 * (int64_t)i);
    ck_assert_int_eq(json_integer_value(json_object_get(ref, "index")), 2 + (int64_t)i);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(ref, "error")), "supply index 1 repeated"));
  }
  json_decref(a);
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "devices"), 3); /* its identity is fine */
  ck_assert_int_eq(cstore_count(st, "readings"), 4);
  ck_assert_int_eq(cstore_count(st, "problems"), 2);
  ck_assert_int_eq(cstore_device_foreach(st, NULL, sum_readings, &sum), ASR_OK);
  ck_assert_int_eq(sum, 4);
  memset(&seen_problem, 0, sizeof(seen_problem));
  seen_problems = 0;
  ck_assert_int_eq(cstore_problem_foreach(st, "S", 10, keep_problem, NULL), ASR_OK);
  ck_assert_int_eq(seen_problems, 2);
  ck_assert_str_eq(seen_problem.what, "reading");
  ck_assert_str_eq(seen_problem.device, "serial:D1");
  ck_assert_str_eq(seen_problem.agent, ag.id);
  ck_assert_int_eq(seen_problem.t, NOW - 540); /* newest first: reading 3 came last */
  ck_assert_int_eq(cstore_problem_foreach(st, "nope", 10, keep_problem, NULL), ASR_ERR_NOT_FOUND);
  /* the same batch again: a duplicate, nothing flagged twice */
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"duplicate\""));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "problems"), 2);
  ck_assert_int_eq(cstore_count(st, "readings"), 4);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* Many refused parts: the answer stays bounded, the counts are exact. */
START_TEST(test_refused_list_bounded)
{
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b, *a, *reads;
  size_t n;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 1, INGEST_MAX_REFUSALS_LISTED + 50, NOW - 86400);
  reads = json_object_get(b, "readings");
  n = json_array_size(reads);
  for (size_t i = 1; i < n; i++) /* every reading but the first */
    json_object_set_new(json_array_get(reads, i), "page_count", json_integer(-1));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  a = json_loads(ans.body, 0, NULL);
  ck_assert_int_eq(json_integer_value(json_object_get(a, "readings_refused")), (json_int_t)n - 1);
  ck_assert_uint_eq(json_array_size(json_object_get(a, "refused")), INGEST_MAX_REFUSALS_LISTED);
  ck_assert_int_eq(json_integer_value(json_object_get(a, "refused_more")),
                   (json_int_t)(n - 1 - INGEST_MAX_REFUSALS_LISTED));
  ck_assert_int_eq(cstore_count(st, "readings"), 1);
  ck_assert_int_le(cstore_count(st, "problems"), INGEST_MAX_REFUSALS_LISTED + 1);
  json_decref(a);
  ingest_answer_free(&ans);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* Issue 10: an agent database restored from a backup numbers its batches again from
 * where the backup stood. A committed batch id with another content is not a duplicate:
 * it is stored, flagged at the central, and the agent is told. */
START_TEST(test_reused_batch_id_other_content)
{
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *first, *again, *a;

  enrol(st, "S", &ag);
  first = make_batch(ag.id, 7, 2, 2, NOW - 7200);
  again = make_batch(ag.id, 7, 2, 3, NOW - 600); /* batch 7 of the restored database */
  ck_assert_int_eq(send_json(st, &ag, ag.secret, first, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"stored\""));
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, again, NOW, &ans), 200);
  a = json_loads(ans.body, 0, NULL);
  ck_assert_str_eq(json_string_value(json_object_get(a, "status")), "stored");
  ck_assert(json_is_true(json_object_get(a, "id_reused")));
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(a, "warning")), "restored"));
  json_decref(a);
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "readings"), 2 * 2 + 2 * 3); /* nothing lost */
  ck_assert_int_eq(cstore_count(st, "events"), 2);
  ck_assert_int_eq(cstore_count(st, "problems"), 1);
  /* each content again: duplicates (the agent lost our answer: told again), nothing
   * flagged twice */
  ck_assert_int_eq(send_json(st, &ag, ag.secret, again, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"duplicate\""));
  ck_assert_ptr_nonnull(strstr(ans.body, "\"id_reused\":true"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, first, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"duplicate\""));
  ck_assert_ptr_null(strstr(ans.body, "id_reused"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "problems"), 1);
  ck_assert_int_eq(cstore_count(st, "readings"), 10);
  json_decref(first);
  json_decref(again);
  cstore_close(st);
}
END_TEST

/* Strings: too long, and a NUL (escaped); unknown fields ignored; heartbeats. */
START_TEST(test_strings_unknown_heartbeat)
{
  char big[600], buf[64];
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b;

  enrol(st, "S", &ag);
  memset(big, 'x', 256);
  big[256] = '\0';
  b = make_batch(ag.id, 1, 1, 1, NOW);
  json_object_set_new(json_array_get(json_object_get(b, "devices"), 0), "model", json_string(big));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200); /* the device refused */
  ck_assert_ptr_nonnull(strstr(ans.body, "devices[0].model: longer than 255 bytes"));
  ingest_answer_free(&ans);
  json_object_set_new(b, "batch_id", json_sprintf("%s-0000000003", ag.id));
  json_object_set_new(json_array_get(json_object_get(b, "devices"), 0), "model",
                      json_stringn("a\0b", 3));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 400); /* \u0000: not our JSON */
  ck_assert_ptr_nonnull(strstr(ans.body, "body: not JSON"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "devices"), 0);
  ck_assert_int_eq(cstore_count(st, "readings"), 0);
  json_object_set_new(b, "batch_id", json_sprintf("%s-0000000004", ag.id));
  memset(big, 'x', 512); /* sys_descr may hold 512 bytes */
  big[512] = '\0';
  json_object_set_new(json_array_get(json_object_get(b, "devices"), 0), "model", json_string("M"));
  json_object_set_new(json_array_get(json_object_get(b, "devices"), 0), "sys_descr",
                      json_string(big));
  json_object_set_new(b, "future_field", json_pack("{s:i}", "x", 1));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ingest_answer_free(&ans);
  json_decref(b);
  /* a heartbeat: no devices, readings or events */
  ck_assert_int_eq(asr_fmt(buf, sizeof(buf), "%s-0000000002", ag.id), ASR_OK);
  b = json_pack("{s:i,s:s,s:s,s:[],s:[],s:[]}", "protocol", 1, "batch_id", buf, "agent_id", ag.id,
                "devices", "readings", "events");
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ck_assert_ptr_nonnull(strstr(ans.body, "\"readings\":0"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_count(st, "batches"), 3);
  json_decref(b);
  cstore_close(st);
}
END_TEST

START_TEST(test_signature_checks)
{
  char other[65], sig[ASR_SIGN_HEADER_LEN + 1];
  cstore_agent ag, stranger;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 1, 1, NOW);
  ck_assert_int_eq(asr_sign_random_hex(other, 32), ASR_OK);
  ck_assert_int_eq(send_json(st, &ag, other, b, NOW, &ans), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "signature does not match"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW - ASR_SIGN_MAX_SKEW - 1, &ans), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "X-ASR-Timestamp"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW + ASR_SIGN_MAX_SKEW + 1, &ans), 401);
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW - ASR_SIGN_MAX_SKEW, &ans), 200);
  ingest_answer_free(&ans);
  stranger = ag;
  ck_assert_int_eq(
      asr_strlcpy(stranger.id, "ag_0123456789abcdef0123456789abcdef", sizeof(stranger.id)), ASR_OK);
  ck_assert_int_eq(send_json(st, &stranger, ag.secret, b, NOW, &ans), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "unknown agent"));
  ingest_answer_free(&ans);
  /* missing and malformed headers */
  ingest_request req = {0};
  req.method = "POST";
  req.path = "/v1/batches";
  req.agent = ag.id;
  req.timestamp = "1795000000";
  ck_assert_int_eq(ingest_batch(st, &req, NOW, (memset(&ans, 0, sizeof(ans)), &ans)), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "missing header"));
  ingest_answer_free(&ans);
  ck_assert_int_eq(asr_sign_request(ag.secret, "POST", "/v1/batches", NOW, "", 0, sig, sizeof(sig)),
                   ASR_OK);
  req.signature = sig;
  req.timestamp = "17950000x0";
  ck_assert_int_eq(ingest_batch(st, &req, NOW, &ans), 401);
  ck_assert_ptr_nonnull(strstr(ans.body, "X-ASR-Timestamp: not Unix seconds"));
  ingest_answer_free(&ans);
  /* a revoked agent: 403 */
  ck_assert_int_eq(cstore_agent_revoke(st, ag.id), ASR_OK);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 403);
  ingest_answer_free(&ans);
  ck_assert_int_eq(cstore_agent_revoke(st, stranger.id), ASR_ERR_NOT_FOUND);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* A gzip bomb (a small body inflating past 64 MiB) and a body over the compressed limit. */
START_TEST(test_size_limits)
{
  char sig[ASR_SIGN_HEADER_LEN + 1], tss[24];
  size_t n = INGEST_MAX_DECOMPRESSED + 1024, gzlen = 0;
  char *zeros = malloc(n);
  uint8_t *gz = NULL;
  cstore_agent ag, checked;
  ingest_answer ans = {0};
  cstore *st = open_store();

  enrol(st, "S", &ag);
  ck_assert_ptr_nonnull(zeros);
  memset(zeros, ' ', n);
  ck_assert_int_eq(asr_gz_compress(zeros, n, &gz, &gzlen), ASR_OK);
  free(zeros);
  ck_assert_uint_lt(gzlen, INGEST_MAX_COMPRESSED);
  ck_assert_int_eq(
      asr_sign_request(ag.secret, "POST", "/v1/batches", NOW, gz, gzlen, sig, sizeof(sig)), ASR_OK);
  ck_assert_int_eq(asr_fmt(tss, sizeof(tss), "%lld", (long long)NOW), ASR_OK);
  ingest_request req = {0};
  req.method = "POST";
  req.path = "/v1/batches";
  req.agent = ag.id;
  req.timestamp = tss;
  req.signature = sig;
  req.content_encoding = "gzip";
  req.body = gz;
  req.body_len = gzlen;
  ck_assert_int_eq(ingest_batch(st, &req, NOW, &ans), 413);
  ck_assert_ptr_nonnull(strstr(ans.body, "decompressed"));
  ingest_answer_free(&ans);
  /* the compressed limit, from Content-Length before any body, and from the body */
  ck_assert_int_eq(ingest_check_headers(st, &req, INGEST_MAX_COMPRESSED + 1, NOW, &checked, &ans),
                   413);
  ingest_answer_free(&ans);
  req.max_body = 1024;
  ck_assert_int_eq(ingest_batch(st, &req, NOW, &ans), 413);
  ck_assert_ptr_nonnull(strstr(ans.body, "compressed"));
  ingest_answer_free(&ans);
  /* not gzip at all */
  req.max_body = 0;
  req.body = "{}";
  req.body_len = 2;
  asr_sign_request(ag.secret, "POST", "/v1/batches", NOW, "{}", 2, sig, sizeof(sig));
  ck_assert_int_eq(ingest_batch(st, &req, NOW, &ans), 400);
  ck_assert_ptr_nonnull(strstr(ans.body, "gzip"));
  ingest_answer_free(&ans);
  free(gz);
  cstore_close(st);
}
END_TEST

START_TEST(test_devices_json)
{
  char when[32];
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *b, *doc, *devs, *d, *s;

  enrol(st, "S", &ag);
  b = make_batch(ag.id, 1, 2, 3, NOW - 600);
  json_object_del(json_array_get(json_object_get(b, "devices"), 1), "serial");
  json_object_set_new(json_array_get(json_object_get(b, "devices"), 1), "key",
                      json_string("mac:00:11:22:33:44:55"));
  ck_assert_int_eq(send_json(st, &ag, ag.secret, b, NOW, &ans), 200);
  ingest_answer_free(&ans);
  doc = ccli_devices_json(st, NULL);
  ck_assert_ptr_nonnull(doc);
  devs = json_object_get(doc, "devices");
  ck_assert_uint_eq(json_array_size(devs), 2);
  d = json_array_get(devs, 0); /* by key: "mac:..." sorts before "serial:..." */
  ck_assert(json_is_null(json_object_get(d, "serial")));
  ck_assert_str_eq(json_string_value(json_object_get(d, "key")), "mac:00:11:22:33:44:55");
  d = json_array_get(devs, 1);
  ck_assert_str_eq(json_string_value(json_object_get(d, "serial")), "D0");
  ck_assert_ptr_null(json_object_get(d, "key"));
  ck_assert_str_eq(json_string_value(json_object_get(d, "site")), "S");
  ck_assert_str_eq(json_string_value(json_object_get(d, "agent")), ag.id);
  asr_time_iso(NOW - 600 + 120, when, sizeof(when)); /* the last reading */
  ck_assert_str_eq(json_string_value(json_object_get(d, "last_reading_at")), when);
  ck_assert_int_eq(json_integer_value(json_object_get(d, "readings")), 3);
  ck_assert_uint_eq(json_object_size(d), 6);
  s = json_array_get(json_object_get(d, "supplies"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(s, "index")), 1);
  ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "toner");
  ck_assert_str_eq(json_string_value(json_object_get(s, "colorant")), "black");
  ck_assert_int_eq(json_integer_value(json_object_get(s, "level")), 78); /* the last reading */
  ck_assert_int_eq(json_integer_value(json_object_get(s, "percent")), 78);
  ck_assert_int_eq(json_integer_value(json_object_get(s, "max")), 100);
  s = json_array_get(json_object_get(d, "supplies"), 1);
  ck_assert(json_is_null(json_object_get(s, "colorant")));
  ck_assert(json_is_null(json_object_get(s, "percent")));
  ck_assert_int_eq(json_integer_value(json_object_get(s, "level")), -3);
  json_decref(doc);
  ck_assert_ptr_null(ccli_devices_json(st, "no such site"));
  doc = ccli_devices_json(st, "S");
  ck_assert_uint_eq(json_array_size(json_object_get(doc, "devices")), 2);
  json_decref(doc);
  json_decref(b);
  cstore_close(st);
}
END_TEST

/* An older batch arriving late does not overwrite the last supplies' values. */
START_TEST(test_out_of_order)
{
  cstore_agent ag;
  ingest_answer ans;
  cstore *st = open_store();
  json_t *newer, *older, *doc, *s;

  enrol(st, "S", &ag);
  newer = make_batch(ag.id, 2, 1, 1, NOW - 60);
  older = make_batch(ag.id, 1, 1, 2, NOW - 6000);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, newer, NOW, &ans), 200);
  ingest_answer_free(&ans);
  ck_assert_int_eq(send_json(st, &ag, ag.secret, older, NOW, &ans), 200);
  ingest_answer_free(&ans);
  doc = ccli_devices_json(st, NULL);
  s = json_array_get(
      json_object_get(json_array_get(json_object_get(doc, "devices"), 0), "supplies"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(s, "level")), 80);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_array_get(json_object_get(doc, "devices"), 0), "readings")),
                   3);
  json_decref(doc);
  json_decref(newer);
  json_decref(older);
  cstore_close(st);
}
END_TEST

/* ------------------------------------------------------------------------------------
 * Concurrency: 8 threads x 20 batches on one file, each thread with its own handle. */

#define THREADS 8
#define BATCHES 20

typedef struct {
  cstore_agent ag;
  int ok;
} worker;

static void *work(void *p)
{
  worker *w = p;
  char err[256];
  cstore *st = NULL;

  if (cstore_open(db_path, &st, err, sizeof(err)) != ASR_OK)
    return NULL;
  for (int i = 0; i < BATCHES; i++) {
    json_t *b = make_batch(w->ag.id, i, 5, 3, NOW - 60000 + 120 * i);
    const cstore_batch *cb;
    ingest_doc *doc = NULL;
    cstore_applied res;
    char *text = json_dumps(b, JSON_COMPACT);
    if (ingest_decode(text, strlen(text), w->ag.id, &doc, err, sizeof(err)) == ASR_OK) {
      cb = ingest_doc_batch(doc);
      w->ok += cstore_apply(st, &w->ag, cb, NOW, &res) == ASR_OK && !res.duplicate;
    }
    ingest_doc_free(doc);
    free(text);
    json_decref(b);
  }
  cstore_close(st);
  return NULL;
}

START_TEST(test_concurrency)
{
  pthread_t th[THREADS];
  worker w[THREADS];
  cstore *st = open_store();
  int64_t sum = 0;

  for (int i = 0; i < THREADS; i++) {
    char site[16];
    ck_assert_int_eq(asr_fmt(site, sizeof(site), "site%d", i), ASR_OK);
    memset(&w[i], 0, sizeof(w[i]));
    enrol(st, site, &w[i].ag);
  }
  for (int i = 0; i < THREADS; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    ck_assert_int_eq(w[i].ok, BATCHES);
  }
  /* per thread: 5 devices; readings at t0+120i+{0,60,120}: 20 batches -> 41 distinct */
  ck_assert_int_eq(cstore_count(st, "batches"), THREADS * BATCHES);
  ck_assert_int_eq(cstore_count(st, "devices"), THREADS * 5);
  ck_assert_int_eq(cstore_count(st, "readings"), THREADS * 5 * 41);
  ck_assert_int_eq(cstore_device_foreach(st, NULL, sum_readings, &sum), ASR_OK);
  ck_assert_int_eq(sum, THREADS * 5 * 41);
  cstore_close(st);
}
END_TEST

/* ------------------------------------------------------------------------------------
 * The HTTP server on 127.50.0.1, with a raw socket client. */

/* Sends a raw request, returns the status; the response (headers and body) into resp. */
static int http_raw(uint16_t port, const char *head, const void *body, size_t len, char *resp,
                    size_t n)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
  size_t got = 0;
  ssize_t k;

  ck_assert_int_ge(fd, 0);
  inet_pton(AF_INET, "127.50.0.1", &a.sin_addr);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(send(fd, head, strlen(head), 0), (ssize_t)strlen(head));
  if (len)
    send(fd, body, len, MSG_NOSIGNAL);
  while (got + 1 < n && (k = recv(fd, resp + got, n - 1 - got, 0)) > 0)
    got += (size_t)k;
  resp[got] = '\0';
  close(fd);
  if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
    status = -1;
  return status;
}

static int http_post(uint16_t port, const char *path, const char *extra, const void *body,
                     size_t len, char *resp, size_t n)
{
  char head[1024];

  ck_assert_int_eq(asr_fmt(head, sizeof(head),
                           "POST %s HTTP/1.1\r\nHost: 127.50.0.1\r\nConnection: close\r\n%s"
                           "Content-Length: %zu\r\n\r\n",
                           path, extra, len),
                   ASR_OK);
  return http_raw(port, head, body, len, resp, n);
}

START_TEST(test_http_server)
{
  char token[CSTORE_TOKEN_LEN + 1], body[256], resp[4096], extra[512], sig[80], head[1024];
  central_server_opts o;
  central_server *sv = NULL;
  cstore *st = open_store();
  json_t *enr, *b;
  char *text, *zeros;
  uint8_t *gz = NULL;
  size_t gzlen = 0;
  int64_t now = asr_now();
  uint16_t port;

  ck_assert_int_eq(cstore_site_add(st, "Web", "a@b", NULL, NOW, token, sizeof(token)), ASR_OK);
  central_server_opts_init(&o);
  o.listen = "127.50.0.1:0";
  o.db_path = db_path;
  o.threads = 2;
  o.max_body = 4096;
  ck_assert_int_eq(central_server_start(&o, &sv, body, sizeof(body)), ASR_OK);
  port = central_server_port(sv);
  ck_assert_uint_gt(port, 0);
  ck_assert_int_eq(asr_fmt(body, sizeof(body), "{\"site_token\":\"%s\"}", token), ASR_OK);
  ck_assert_int_eq(http_post(port, "/v1/enroll", "", body, strlen(body), resp, sizeof(resp)), 201);
  enr = json_loads(strstr(resp, "\r\n\r\n") + 4, 0, NULL);
  ck_assert_ptr_nonnull(enr);
  b = make_batch(json_string_value(json_object_get(enr, "agent_id")), 1, 2, 2, NOW);
  text = json_dumps(b, JSON_COMPACT);
  ck_assert_int_eq(asr_gz_compress(text, strlen(text), &gz, &gzlen), ASR_OK);
  asr_sign_request(json_string_value(json_object_get(enr, "secret")), "POST", "/v1/batches", now,
                   gz, gzlen, sig, sizeof(sig));
  ck_assert_int_eq(asr_fmt(extra, sizeof(extra),
                           "X-ASR-Agent: %s\r\nX-ASR-Timestamp: %lld\r\nX-ASR-Signature: %s\r\n"
                           "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
                           json_string_value(json_object_get(enr, "agent_id")), (long long)now,
                           sig),
                   ASR_OK);
  ck_assert_int_eq(http_post(port, "/v1/batches", extra, gz, gzlen, resp, sizeof(resp)), 200);
  ck_assert_ptr_nonnull(strstr(resp, "\"status\":\"stored\""));
  ck_assert_ptr_nonnull(strstr(resp, "application/json"));
  ck_assert_int_eq(http_post(port, "/v1/batches", extra, gz, gzlen, resp, sizeof(resp)), 200);
  ck_assert_ptr_nonnull(strstr(resp, "\"status\":\"duplicate\""));
  ck_assert_int_eq(cstore_count(st, "readings"), 4);
  /* answered from the headers alone: too large, unsigned */
  ck_assert_int_eq(http_post(port, "/v1/batches", extra, NULL, 0, resp, sizeof(resp)), 401);
  ck_assert_int_eq(asr_fmt(head, sizeof(head),
                           "POST /v1/batches HTTP/1.1\r\nHost: x\r\n%sExpect: 100-continue\r\n"
                           "Content-Length: 9000000\r\n\r\n",
                           extra),
                   ASR_OK);
  ck_assert_int_eq(http_raw(port, head, NULL, 0, resp, sizeof(resp)), 413);
  /* a body over the limit sent without waiting: read, dropped, then 413 */
  zeros = calloc(1, 3 * 4096);
  ck_assert_int_eq(http_post(port, "/v1/batches", extra, zeros, 3 * 4096, resp, sizeof(resp)), 413);
  ck_assert_ptr_nonnull(strstr(resp, "size limit"));
  free(zeros);
  ck_assert_int_eq(http_post(port, "/v1/batches", "", gz, gzlen, resp, sizeof(resp)), 401);
  ck_assert_ptr_nonnull(strstr(resp, "{\"error\":"));
  ck_assert_int_eq(
      http_raw(port, "GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0, resp, sizeof(resp)),
      404);
  ck_assert_int_eq(
      http_raw(port, "GET /v1/batches HTTP/1.1\r\nHost: x\r\n\r\n", NULL, 0, resp, sizeof(resp)),
      405);
  ck_assert_ptr_nonnull(strstr(resp, "Allow: POST"));
  central_server_stop(sv);
  free(text);
  free(gz);
  json_decref(b);
  json_decref(enr);
  cstore_close(st);
}
END_TEST

/* The command options merged with serve's replenishment and mail options: every row of both,
 * then exactly one zero row; an array one row short is refused, not overrun. */
START_TEST(test_merge_options)
{
  static const struct option own[] = {{"db", required_argument, NULL, 'd'},
                                      {"help", no_argument, NULL, 'h'}};
  struct option all[2 + CCLI_RP_NOPTS + 2];
  size_t n = 0;

  memset(all, 0x5a, sizeof(all));
  ck_assert(!ccli_rp_merge_options(all, 2 + CCLI_RP_NOPTS, own, 2));
  ck_assert_int_eq(((unsigned char *)all)[0], 0x5a);
  ck_assert(ccli_rp_merge_options(all, 2 + CCLI_RP_NOPTS + 1, own, 2));
  while (n < sizeof(all) / sizeof(all[0]) && all[n].name)
    n++;
  ck_assert_uint_eq(n, 2 + CCLI_RP_NOPTS);
  ck_assert_str_eq(all[0].name, "db");
  ck_assert_str_eq(all[1].name, "help");
  ck_assert_str_eq(all[2].name, "rules");
  ck_assert_str_eq(all[n - 1].name, "no-replenish");
  ck_assert_int_eq(all[n].val, 0);
  ck_assert_ptr_null(all[n].flag);
}
END_TEST

START_TEST(test_listen_and_clock)
{
  char sa[128];
  size_t len = sizeof(sa);
  int lo = 0;

  ck_assert_int_eq(central_parse_listen("127.50.0.1:18400", sa, &len, &lo), ASR_OK);
  ck_assert_int_eq(lo, 1);
  len = sizeof(sa);
  ck_assert_int_eq(central_parse_listen("[::1]:443", sa, &len, &lo), ASR_OK);
  ck_assert_int_eq(lo, 1);
  len = sizeof(sa);
  ck_assert_int_eq(central_parse_listen("192.0.2.1:443", sa, &len, &lo), ASR_OK);
  ck_assert_int_eq(lo, 0);
  len = sizeof(sa);
  ck_assert_int_eq(central_parse_listen("127.0.0.1", sa, &len, &lo), ASR_ERR_INVALID);
  len = sizeof(sa);
  ck_assert_int_eq(central_parse_listen("127.0.0.1:70000", sa, &len, &lo), ASR_ERR_INVALID);
  len = sizeof(sa);
  ck_assert_int_eq(central_parse_listen("host:80", sa, &len, &lo), ASR_ERR_INVALID);
  setenv("ASR_CENTRAL_NOW", "1795000123", 1);
  ck_assert_int_eq(ingest_now(), 1795000123);
  setenv("ASR_CENTRAL_NOW", "garbage", 1);
  ck_assert_int_gt(ingest_now(), 1700000000);
  unsetenv("ASR_CENTRAL_NOW");
}
END_TEST

/* The other process of test_handles_keep_locks: opens and closes a database. */
static int open_close(const char *path)
{
  char err[256];
  cstore *c = NULL;

  if (cstore_open(path, &c, err, sizeof(err)) != ASR_OK)
    return 1;
  cstore_close(c);
  return 0;
}

int main(int argc, char **argv)
{
  Suite *s = suite_create("central");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  if (getenv("CHECK_CENTRAL_OPEN_CLOSE"))
    return open_close(getenv("CHECK_CENTRAL_OPEN_CLOSE"));
  (void)argc;
  testdb_main(argv);
  asr_log_set_level(ASR_LOG_ERR);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  TESTDB_SQLITE_TEST(tc, test_open_schema_mode, "the database file's mode and user_version");
  TESTDB_SQLITE_TEST(tc, test_handles_keep_locks, "SQLite's POSIX locks across handles");
  tcase_add_test(tc, test_site_add);
  tcase_add_test(tc, test_enroll);
  tcase_add_test(tc, test_ingest_valid_and_duplicate);
  tcase_add_test(tc, test_same_reading_two_batches);
  tcase_add_loop_test(tc, test_malformed, 0, (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
  tcase_add_test(tc, test_one_printer_does_not_hold_the_batch);
  tcase_add_test(tc, test_refused_list_bounded);
  tcase_add_test(tc, test_reused_batch_id_other_content);
  tcase_add_test(tc, test_strings_unknown_heartbeat);
  tcase_add_test(tc, test_signature_checks);
  tcase_add_test(tc, test_size_limits);
  tcase_add_test(tc, test_devices_json);
  tcase_add_test(tc, test_out_of_order);
  tcase_add_test(tc, test_concurrency);
  tcase_add_test(tc, test_http_server);
  tcase_add_test(tc, test_listen_and_clock);
  tcase_add_test(tc, test_merge_options);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
