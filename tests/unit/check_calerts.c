/* check_calerts.c: asr-central's device alerts (central/calerts.c) and their mails
 * (central/calertmail.c), written from the promises of issue 16: the agents' alert events
 * stored as one alert per device with raised and cleared times, the same alert sent twice
 * (a re-sent batch, two batches, a restored agent) one alert, its clearing, one mail when
 * raised and one cleared notice per recipient, never twice (passes run again, the store
 * reopened), per-group settings from the rules file with their defaults, and what a hostile
 * agent sends (huge, malformed, control characters, 10,000 alerts in one batch) bounded. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"
#include "central/calertmail.h"
#include "central/calerts.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "central/rulesconf.h"
#include "common/log.h"
#include "common/util.h"
#include "snmp/alerts.h"

#define T0 INT64_C(1795000000) /* 2026-11-18 */
#define DAY 86400
#define KEY1 "0123456789abcdef"
#define KEY2 "fedcba9876543210"
#define TONER "critical markerTonerEmpty (markerSupplies 1): Toner empty"
#define JAM "critical jam (mediaPath 3): Jam in fuser area"

static char dir[256], db_path[300];

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_calerts.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  testdb_name(dir, "central.db", db_path, sizeof(db_path));
}

static void teardown(void)
{
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm"};

  for (size_t i = 0; i < 3; i++) {
    if (asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]) == ASR_OK)
      unlink(p);
  }
  if (asr_fmt(p, sizeof(p), "%s/rules", dir) == ASR_OK)
    unlink(p);
  rmdir(dir);
}

static cstore *open_store(void)
{
  char err[256];
  cstore *st = NULL;

  ck_assert_msg(cstore_open(db_path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  return st;
}

static cstore *open_enrolled(const char *site, const char *contact, cstore_agent *ag)
{
  char token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX];
  cstore *st = open_store();

  ck_assert_int_eq(cstore_site_add(st, site, contact, NULL, T0, token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", T0, ag, name, sizeof(name)), ASR_OK);
  return st;
}

/* One event of a batch (device index into the devices M1, M2). */
typedef struct {
  int dev;
  int64_t t;
  const char *kind, *detail;
} ev;

/* A batch seq of ag with devices M1 and M2 and the events (a JSON text, malloc'd). */
static char *batch_text(const cstore_agent *ag, const char *seq, const ev *e, size_t n)
{
  char id[96];
  json_t *evs = json_array(), *b;
  char *s;

  ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%s", ag->id, seq), ASR_OK);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(json_array_append_new(evs, json_pack("{s:i,s:I,s:s,s:s?}", "device", e[i].dev,
                                                          "t", (json_int_t)e[i].t, "kind",
                                                          e[i].kind, "detail", e[i].detail)),
                     0);
  b = json_pack("{s:i,s:s,s:s,s:[{s:s,s:s,s:s,s:s},{s:s,s:s}],s:[],s:o}", "protocol", 2, "batch_id",
                id, "agent_id", ag->id, "devices", "key", "serial:M1", "serial", "M1", "model",
                "Test MFP", "ip", "192.0.2.7", "key", "serial:M2", "serial", "M2", "readings",
                "events", evs);
  ck_assert_ptr_nonnull(b);
  s = json_dumps(b, JSON_COMPACT);
  json_decref(b);
  ck_assert_ptr_nonnull(s);
  return s;
}

/* Decodes and applies a batch text: ASR_OK, or the decoding error (message in err). */
static asr_result apply_text(cstore *st, const cstore_agent *ag, const char *json,
                             cstore_applied *res, char *err, size_t n)
{
  ingest_doc *doc = NULL;
  asr_result r = ingest_decode(json, strlen(json), ag->id, &doc, err, n);

  if (!r)
    r = cstore_apply(st, ag, ingest_doc_batch(doc), T0, res);
  ingest_doc_free(doc);
  return r;
}

static void send_ok(cstore *st, const cstore_agent *ag, const char *seq, const ev *e, size_t n)
{
  char err[300] = "";
  cstore_applied res;
  char *j = batch_text(ag, seq, e, n);

  ck_assert_msg(apply_text(st, ag, j, &res, err, sizeof(err)) == ASR_OK, "%s", err);
  free(j);
}

/* The alerts as "DEVICE|KEY-suffix|severity|code|group|idx|description|raised|cleared;". */
typedef struct {
  char text[4096];
  int rows;
} collected;

static int collect(const calerts_row *a, void *ctx)
{
  collected *c = ctx;
  size_t n = strlen(c->text);

  c->rows++;
  if (c->rows <= 20) /* a hostile test makes thousands: their count is enough */
    ck_assert_int_eq(asr_fmt(c->text + n, sizeof(c->text) - n, "%s|%s|%s|%lld|%s|+%lld|+%lld;",
                             a->serial, a->code, a->group, (long long)a->group_index,
                             a->description, (long long)(a->raised_at - T0),
                             (long long)(a->cleared_at ? a->cleared_at - T0 : -1)),
                     ASR_OK);
  return 0;
}

static collected alerts_of(cstore *st, const char *site, bool open_only)
{
  collected c;

  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(calerts_foreach(st, site, open_only, collect, &c), ASR_OK);
  return c;
}

/* The outbox's pending mails as "RCPT|KIND;" in order; *count of them. */
static void outbox(cstore *st, char *out, size_t n, int *count)
{
  int64_t after = 0;
  bool found = true;
  size_t len = 0;

  out[0] = '\0';
  *count = 0;
  while (found) {
    cstore_mail m;
    ck_assert_int_eq(cstore_outbox_next(st, T0 + 365 * DAY, after, &m, &found), ASR_OK);
    if (!found)
      break;
    after = m.id;
    (*count)++;
    ck_assert_int_eq(asr_append(out, n, &len, "%s|%s;", m.rcpt, m.kind), ASR_OK);
    cstore_mail_free(&m);
  }
}

/* The text of the pending mail number k (from 0), malloc'd. */
static char *mail_text(cstore *st, int k)
{
  int64_t after = 0;
  bool found = true;
  char *text = NULL;

  for (int i = 0; found && i <= k; i++) {
    cstore_mail m;
    ck_assert_int_eq(cstore_outbox_next(st, T0 + 365 * DAY, after, &m, &found), ASR_OK);
    ck_assert(found);
    after = m.id;
    if (i == k)
      text = strdup(m.msg);
    cstore_mail_free(&m);
  }
  ck_assert_ptr_nonnull(text);
  return text;
}

static calert_mail_report queue(cstore *st, const calert_conf *c, int64_t now)
{
  calert_mail_report rep;

  ck_assert_int_eq(calert_mail_queue(st, c, "asr-central@provider.test", now, &rep), ASR_OK);
  return rep;
}

/* ---- storage and deduplication ---- */

/* A raise becomes one open alert with its parts; the same event again (the same batch, another
 * batch, a raise of the open alert at a later time by a restored agent) is the same alert. */
START_TEST(test_store_dedup)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  ev raise = {0, T0, "alert:" KEY1, TONER};
  ev later = {0, T0 + 3600, "alert:" KEY1, TONER};
  collected c;

  send_ok(st, &ag, "1", &raise, 1);
  c = alerts_of(st, "Acme", true);
  ck_assert_int_eq(c.rows, 1);
  ck_assert_str_eq(c.text, "M1|markerTonerEmpty|markerSupplies|1|Toner empty|+0|+-1;");
  send_ok(st, &ag, "1", &raise, 1); /* the same batch again: a duplicate */
  send_ok(st, &ag, "2", &raise, 1); /* the same event in another batch */
  send_ok(st, &ag, "3", &later, 1); /* raised again while open */
  c = alerts_of(st, NULL, false);
  ck_assert_int_eq(c.rows, 1);
  ck_assert_str_eq(c.text, "M1|markerTonerEmpty|markerSupplies|1|Toner empty|+0|+-1;");
  /* the same key on another device is another alert */
  raise.dev = 1;
  send_ok(st, &ag, "4", &raise, 1);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 2);
  ck_assert_int_eq(calerts_foreach(st, "Nowhere", true, collect, &c), ASR_ERR_NOT_FOUND);
  ck_assert_str_eq(cstore_errmsg(st), "no site 'Nowhere'");
  cstore_close(st);
}
END_TEST

/* A clear closes the open alert; sent again it changes nothing; a raise and its clear in
 * one batch, listed clear first, make one cleared alert; a raise after the clear is a new
 * occurrence; an old raise sent again (inside the cleared occurrence) is not. */
START_TEST(test_clear)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  ev raise = {0, T0, "alert:" KEY1, TONER};
  ev clear = {0, T0 + 600, "alert_cleared:" KEY1, "cleared: Toner empty"};
  ev pair[] = {{0, T0 + 900, "alert_cleared:" KEY2, "cleared: Jam in fuser area"},
               {0, T0 + 300, "alert:" KEY2, JAM}};
  ev again = {0, T0 + 7200, "alert:" KEY1, TONER};
  collected c;

  send_ok(st, &ag, "1", &raise, 1);
  send_ok(st, &ag, "2", &clear, 1);
  send_ok(st, &ag, "3", &clear, 1);
  send_ok(st, &ag, "4", pair, 2);
  c = alerts_of(st, "Acme", false);
  ck_assert_str_eq(c.text, "M1|markerTonerEmpty|markerSupplies|1|Toner empty|+0|+600;"
                           "M1|jam|mediaPath|3|Jam in fuser area|+300|+900;");
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 0);
  send_ok(st, &ag, "5", &again, 1);
  send_ok(st, &ag, "6", &raise, 1); /* the first raise once more: inside its occurrence */
  c = alerts_of(st, "Acme", false);
  ck_assert_int_eq(c.rows, 3);
  c = alerts_of(st, "Acme", true);
  ck_assert_str_eq(c.text, "M1|markerTonerEmpty|markerSupplies|1|Toner empty|+7200|+-1;");
  /* a clear with no open alert (an orphan) changes nothing */
  clear.kind = "alert_cleared:" KEY2;
  clear.t = T0 + 8000;
  send_ok(st, &ag, "7", &clear, 1);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 1);
  /* the old clear of KEY1 once more: it belongs to the first occurrence, the open stays */
  clear.kind = "alert_cleared:" KEY1;
  clear.t = T0 + 600;
  send_ok(st, &ag, "8", &clear, 1);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 1);
  /* the agent's clock went back: a clear older than the open raise, in no occurrence */
  clear.t = T0 + 5000;
  send_ok(st, &ag, "9", &clear, 1);
  c = alerts_of(st, "Acme", false);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 0);
  ck_assert_msg(strstr(c.text, "|+7200|+7200;") != NULL, "%s", c.text);
  cstore_close(st);
}
END_TEST

/* The details: names, "code N" and "group N", no description; what does not parse is kept
 * whole as the description; printer strings cleaned (controls, bidi overrides, bad UTF-8). */
START_TEST(test_detail)
{
  calerts_detail d;
  bool clear = false;
  const char *key = NULL;

  calerts_parse_detail("warning code 1234 (group 40 2): x", &d);
  ck_assert_str_eq(d.severity, "warning");
  ck_assert_str_eq(d.code, "code 1234");
  ck_assert_str_eq(d.group, "group 40");
  ck_assert_int_eq(d.group_index, 2);
  ck_assert_str_eq(d.description, "x");
  calerts_parse_detail("other code -5 (group -3 -1): y", &d); /* numbers the MIB does not name */
  ck_assert_str_eq(d.code, "code -5");
  ck_assert_str_eq(d.group, "group -3");
  ck_assert_int_eq(d.group_index, -1);
  ck_assert_str_eq(d.description, "y");
  calerts_parse_detail("critical coverOpen (cover -1)", &d);
  ck_assert_str_eq(d.code, "coverOpen");
  ck_assert_str_eq(d.group, "cover");
  ck_assert_int_eq(d.group_index, -1);
  ck_assert_str_eq(d.description, "");
  calerts_parse_detail("critical jam (mediaPath 3): a (b) c: d", &d);
  ck_assert_str_eq(d.description, "a (b) c: d");
  calerts_parse_detail("<script>alert(1)</script>", &d);
  ck_assert_str_eq(d.severity, "");
  ck_assert_str_eq(d.code, "");
  ck_assert_str_eq(d.description, "<script>alert(1)</script>");
  calerts_parse_detail("critical x\"y (cover 1): z", &d); /* not a name: kept whole */
  ck_assert_str_eq(d.code, "");
  calerts_parse_detail("critical jam (mediaPath 3): A\x1b[31mB\r\nC\xe2\x80\xae"
                       "D\xff\xc3(E\xc2\x85",
                       &d);
  /* common/text.h: ESC and the bidi override as U+FFFD, the line breaks as spaces */
  ck_assert_str_eq(d.description, "A\xef\xbf\xbd[31mB  C\xef\xbf\xbd"
                                  "D\xef\xbf\xbd\xef\xbf\xbd(E ");
  calerts_parse_detail(NULL, &d);
  ck_assert_str_eq(d.summary, "");
  ck_assert(calerts_kind("alert:" KEY1, &clear, &key) && !clear && strcmp(key, KEY1) == 0);
  ck_assert(calerts_kind("alert_cleared:" KEY1, &clear, &key) && clear);
  ck_assert(!calerts_kind("alert:", &clear, &key));
  ck_assert(!calerts_kind("alert:a b", &clear, &key));
  ck_assert(!calerts_kind("alert:../x;DROP", &clear, &key));
  ck_assert(!calerts_kind("alerts:x", &clear, &key));
  ck_assert(!calerts_kind("replaced", &clear, &key));
  ck_assert(!calerts_kind("alert:0123456789012345678901234567890123456789012345678901234567890123"
                          "4",
                          &clear, &key));
}
END_TEST

/* Hostile: a 64 KB detail refuses that event only (the protocol's 255 bytes); invalid UTF-8
 * is no JSON (the whole batch 400s); a key that is no key is a plain event; 10,000 alerts of
 * one device in one batch are stored bounded (CALERTS_OPEN_MAX open), one more is 413. */
START_TEST(test_hostile)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  char *big = malloc(65537), err[300] = "", *j;
  ev e[2] = {{0, T0, "alert:" KEY1, NULL}, {0, T0, "alert:" KEY2, JAM}};
  ev *many = calloc(10001, sizeof(*many));
  char(*kinds)[40] = calloc(10001, sizeof(*kinds));
  cstore_applied res;

  ck_assert_ptr_nonnull(big);
  ck_assert_ptr_nonnull(many);
  ck_assert_ptr_nonnull(kinds);
  memset(big, 'A', 65536);
  big[65536] = '\0';
  e[0].detail = big;
  j = batch_text(&ag, "1", e, 2);
  ck_assert_int_eq(apply_text(st, &ag, j, &res, err, sizeof(err)), ASR_OK);
  free(j);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, 1); /* the jam; the huge one refused */
  ck_assert_int_eq(cstore_count(st, "problems"), 1);
  /* invalid UTF-8 in the JSON text: not JSON */
  const char bad[] = "{\"protocol\":2,\"batch_id\":\"x\",\"events\":[{\"detail\":\"\xff\"}]}";
  ck_assert_int_eq(ingest_decode(bad, strlen(bad), ag.id, &(ingest_doc *){NULL}, err, sizeof(err)),
                   ASR_ERR_PARSE);
  /* a malformed key: stored as a plain event, no alert */
  e[0] = (ev){0, T0 + 1, "alert:<b>", TONER};
  send_ok(st, &ag, "2", e, 1);
  ck_assert_int_eq(alerts_of(st, "Acme", false).rows, 1);
  /* 10,000 alert events of one device */
  for (int i = 0; i < 10001; i++) {
    ck_assert_int_eq(asr_fmt(kinds[i], sizeof(kinds[i]), "alert:%016x", i), ASR_OK);
    many[i] = (ev){0, T0 + 10 + i, kinds[i], TONER};
  }
  j = batch_text(&ag, "3", many, 10001);
  ck_assert_int_eq(apply_text(st, &ag, j, &res, err, sizeof(err)), ASR_ERR_TOO_LARGE);
  free(j);
  ck_assert_msg(strstr(err, "events: 10001 elements") != NULL, "%s", err);
  send_ok(st, &ag, "4", many, 10000);
  ck_assert_int_eq(alerts_of(st, "Acme", true).rows, CALERTS_OPEN_MAX);
  ck_assert_int_eq(cstore_count(st, "events"), 10002);
  free(kinds);
  free(many);
  free(big);
  cstore_close(st);
}
END_TEST

/* ---- mails ---- */

/* One raised mail to the contact; passes again, a re-sent batch, another raise, a reopened
 * store: no other; the clear: one cleared notice to the same recipient, once. */
START_TEST(test_mail_once)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  ev raise = {0, T0, "alert:" KEY1, TONER};
  ev clear = {0, T0 + 600, "alert_cleared:" KEY1, "cleared: Toner empty"};
  calert_conf c;
  calert_mail_report rep;
  char list[512], *text;
  int n;

  calert_conf_default(&c);
  send_ok(st, &ag, "1", &raise, 1);
  rep = queue(st, &c, T0 + 10);
  ck_assert_int_eq(rep.mails, 1);
  outbox(st, list, sizeof(list), &n);
  ck_assert_str_eq(list, "ops@acme.test|alert raised;");
  text = mail_text(st, 0);
  ck_assert_msg(strstr(text, "Subject: Acme: printer alert\r\n") != NULL, "%s", text);
  ck_assert_msg(strstr(text, "Printer: M1 (Test MFP)\r\nAddress: 192.0.2.7\r\n") != NULL, "%s",
                text);
  ck_assert_msg(strstr(text, "Alert: markerTonerEmpty (severity critical)\r\n"
                             "Group: markerSupplies 1\r\nDescription: Toner empty\r\n"
                             "Raised: 2026-11-18 11:06 UTC\r\n") != NULL,
                "%s", text);
  free(text);
  ck_assert_int_eq(queue(st, &c, T0 + 20).mails, 0);
  send_ok(st, &ag, "1", &raise, 1);
  send_ok(st, &ag, "2", &raise, 1);
  ck_assert_int_eq(queue(st, &c, T0 + 30).mails, 0);
  cstore_close(st);
  st = open_store(); /* a restart */
  ck_assert_int_eq(queue(st, &c, T0 + 40).mails, 0);
  send_ok(st, &ag, "3", &clear, 1);
  ck_assert_int_eq(queue(st, &c, T0 + 700).mails, 1);
  ck_assert_int_eq(queue(st, &c, T0 + 710).mails, 0);
  send_ok(st, &ag, "3", &clear, 1);
  send_ok(st, &ag, "4", &clear, 1);
  ck_assert_int_eq(queue(st, &c, T0 + 720).mails, 0);
  outbox(st, list, sizeof(list), &n);
  ck_assert_str_eq(list, "ops@acme.test|alert raised;ops@acme.test|alert cleared;");
  text = mail_text(st, 1);
  ck_assert_msg(strstr(text, "Subject: Acme: printer alert cleared\r\n") != NULL, "%s", text);
  ck_assert_msg(strstr(text, "Cleared: 2026-11-18 11:16 UTC\r\n") != NULL, "%s", text);
  free(text);
  cstore_close(st);
}
END_TEST

/* A raise and its clear decided in one pass: the raised mail, then the cleared notice. A
 * device's contact (assigned) is the recipient, not the site's first. */
START_TEST(test_mail_raise_and_clear_together)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  ev pair[] = {{0, T0, "alert:" KEY1, TONER},
               {0, T0 + 600, "alert_cleared:" KEY1, "cleared: Toner empty"}};
  int64_t site = 0, contact = 0, dev = 0;
  calert_conf c;
  char list[512];
  int n;

  calert_conf_default(&c);
  send_ok(st, &ag, "1", pair, 2);
  ck_assert_int_eq(cstore_site_id(st, "Acme", &site), ASR_OK);
  ck_assert_int_eq(cstore_contact_add(st, site, "Mo", "mo@acme.test", NULL, T0, &contact), ASR_OK);
  ck_assert_int_eq(cstore_device_find(st, "Acme", "M1", &dev, &site), ASR_OK);
  ck_assert_int_eq(cstore_device_assign(st, dev, contact, T0), ASR_OK);
  ck_assert_int_eq(queue(st, &c, T0 + 700).mails, 2);
  outbox(st, list, sizeof(list), &n);
  ck_assert_str_eq(list, "mo@acme.test|alert raised;mo@acme.test|alert cleared;");
  cstore_close(st);
}
END_TEST

/* Settings: a group to both (two mails, the service one says so, the cleared notices to
 * both), to none ("nobody", no notice later), to service without a service address
 * (nobody); the daily cap per device ("capped", and no cleared notice for it). */
START_TEST(test_mail_settings)
{
  cstore_agent ag;
  cstore *st = open_enrolled("Acme", "ops@acme.test", &ag);
  ev e[] = {{0, T0, "alert:" KEY1, TONER},
            {0, T0, "alert:" KEY2, JAM},
            {1, T0, "alert:" KEY1, "critical subunitMotorFailure (generalPrinter 1)"}};
  ev clears[] = {{0, T0 + 60, "alert_cleared:" KEY1, "x"},
                 {0, T0 + 60, "alert_cleared:" KEY2, "x"}};
  calert_conf c;
  char err[256], list[1024], *text;
  int n;

  calert_conf_default(&c);
  ck_assert_int_eq(calert_conf_set(&c, "alert_mail.markerSupplies", "both", err, sizeof(err)),
                   ASR_OK);
  ck_assert_int_eq(calert_conf_set(&c, "alert_mail.mediaPath", "none", err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(
      calert_conf_set(&c, "alert_service_address", "service@provider.test", err, sizeof(err)),
      ASR_OK);
  send_ok(st, &ag, "1", e, 3);
  ck_assert_int_eq(queue(st, &c, T0 + 10).mails, 3);
  outbox(st, list, sizeof(list), &n);
  ck_assert_str_eq(list, "ops@acme.test|alert raised;service@provider.test|alert raised;"
                         "service@provider.test|alert raised;");
  text = mail_text(st, 1);
  ck_assert_msg(strstr(text, "the alert's group is routed to service") != NULL, "%s", text);
  free(text);
  send_ok(st, &ag, "2", clears, 2);
  c.service[0] = '\0'; /* settings changed: the notice goes where the raised mail went */
  ck_assert_int_eq(queue(st, &c, T0 + 100).mails, 2);
  outbox(st, list, sizeof(list), &n);
  ck_assert_int_eq(n, 5);
  ck_assert_msg(strstr(list, "ops@acme.test|alert cleared;service@provider.test|alert cleared;"),
                "%s", list);
  /* service group without a service address: nobody */
  e[2].t = T0 + 200;
  e[2].kind = "alert:" KEY2;
  send_ok(st, &ag, "3", &e[2], 1);
  ck_assert_int_eq(queue(st, &c, T0 + 210).mails, 0);
  /* the cap: 2 a day per device (M2 had one, the service mail above) */
  calert_conf_default(&c);
  c.mails_per_day = 2;
  for (int i = 0; i < 4; i++) {
    char seq[8], kind[40];
    ck_assert_int_eq(asr_fmt(seq, sizeof(seq), "c%d", i), ASR_OK);
    ck_assert_int_eq(asr_fmt(kind, sizeof(kind), "alert:%016x", 100 + i), ASR_OK);
    ev one = {1, T0 + 300 + i, kind, TONER};
    send_ok(st, &ag, seq, &one, 1);
  }
  ck_assert_int_eq(queue(st, &c, T0 + 400).mails, 1);
  ck_assert_int_eq(queue(st, &c, T0 + 2 * DAY).mails, 0); /* decided: capped for good */
  cstore_close(st);
}
END_TEST

/* The settings themselves: defaults table, words, errors naming the problem. */
START_TEST(test_conf)
{
  calert_conf c;
  char err[256] = "";
  calert_to d;

  calert_conf_default(&c);
  ck_assert_int_eq(calert_route(&c, "markerSupplies"), CALERT_TO_CONTACT);
  ck_assert_int_eq(calert_route(&c, "cover"), CALERT_TO_CONTACT);
  ck_assert_int_eq(calert_route(&c, "generalPrinter"), CALERT_TO_SERVICE);
  ck_assert_int_eq(calert_route(&c, "consoleLights"), CALERT_TO_NOBODY);
  ck_assert_int_eq(calert_route(&c, "group 77"), CALERT_TO_SERVICE);
  ck_assert_int_eq(calert_route(&c, ""), CALERT_TO_SERVICE);
  ck_assert_int_eq(c.mails_per_day, CALERT_MAILS_PER_DAY);
  ck_assert_str_eq(c.service, "");
  ck_assert_int_eq(calert_conf_set(&c, "alert_mail.unknown", "none", err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(calert_route(&c, "group 77"), CALERT_TO_NOBODY);
  ck_assert_int_eq(calert_conf_set(&c, "alert_mail.Cover", "contact", err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_msg(strstr(err, "unknown alert group 'Cover'") != NULL, "%s", err);
  ck_assert_int_eq(calert_conf_set(&c, "alert_mail.cover", "everyone", err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_str_eq(err, "alert_mail.cover: 'everyone' is not contact, service, both or none");
  ck_assert_int_eq(
      calert_conf_set(&c, "alert_service_address", "a@b\r\nRCPT TO:<x@y>", err, sizeof(err)),
      ASR_ERR_INVALID);
  ck_assert_int_eq(calert_conf_set(&c, "alert_mails_per_day", "0", err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_int_eq(calert_conf_set(&c, "trigger_days", "21", err, sizeof(err)), ASR_ERR_NOT_FOUND);
  ck_assert_str_eq(calert_to_str(CALERT_TO_BOTH), "both");
  /* the table names exactly the groups the agent names (snmp/alerts.c), and "unknown" */
  for (size_t i = 0; i < CALERT_GROUPS - 1; i++) {
    const char *g = calert_group_name(i, &d);
    bool found = false;
    for (int32_t code = 1; code < 64 && !found; code++)
      found = asr_alert_group_name(code) && strcmp(asr_alert_group_name(code), g) == 0;
    ck_assert_msg(found, "%s is no PrtAlertGroupTC name of the agent", g);
  }
  for (int32_t code = 1, rows = 0; code < 64; code++) {
    if (asr_alert_group_name(code))
      ck_assert_int_lt(rows++, CALERT_GROUPS - 1);
  }
  ck_assert_str_eq(calert_group_name(CALERT_GROUPS - 1, &d), "unknown");
  ck_assert_ptr_null(calert_group_name(CALERT_GROUPS, &d));
}
END_TEST

/* The rules file carries the settings: kept by crules_load_all, checked (and dropped) by
 * crules_load; a bad line names the file and line, and nothing is applied. */
START_TEST(test_rules_file)
{
  char path[400], err[512] = "";
  asr_rp_conf rp;
  calert_conf c;
  FILE *f;

  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/rules", dir), ASR_OK);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("trigger_days = 20\nalert_mail.cover = service # doors: the technician\n"
        "alert_service_address = service@provider.test\nalert_mails_per_day = 5\n",
        f);
  fclose(f);
  asr_rp_conf_default(&rp);
  calert_conf_default(&c);
  ck_assert_msg(crules_load_all(path, &rp, &c, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_int_eq(calert_route(&c, "cover"), CALERT_TO_SERVICE);
  ck_assert_str_eq(c.service, "service@provider.test");
  ck_assert_int_eq(c.mails_per_day, 5);
  ck_assert(rp.trigger_days == 20);
  ck_assert_int_eq(crules_load(path, &rp, err, sizeof(err)), ASR_OK);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("alert_mail.cover = both\nalert_mail.nosuch = contact\n", f);
  fclose(f);
  calert_conf_default(&c);
  ck_assert_int_eq(crules_load_all(path, &rp, &c, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_msg(strstr(err, "rules:2: alert_mail.nosuch: unknown alert group") != NULL, "%s", err);
  ck_assert_int_eq(calert_route(&c, "cover"), CALERT_TO_CONTACT); /* nothing applied */
  ck_assert_int_eq(crules_load(path, &rp, err, sizeof(err)), ASR_ERR_INVALID);
}
END_TEST

int main(int argc, char **argv)
{
  Suite *s = suite_create("calerts");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv);
  asr_log_set_level(ASR_LOG_ERR);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_store_dedup);
  tcase_add_test(tc, test_clear);
  tcase_add_test(tc, test_detail);
  tcase_add_test(tc, test_hostile);
  tcase_add_test(tc, test_mail_once);
  tcase_add_test(tc, test_mail_raise_and_clear_together);
  tcase_add_test(tc, test_mail_settings);
  tcase_add_test(tc, test_conf);
  tcase_add_test(tc, test_rules_file);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
