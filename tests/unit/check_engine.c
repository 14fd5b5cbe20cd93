/* check_engine.c: asr-central's replenishment on real SQLite files in a temporary
 * directory: the store's orders, stock, flags and outbox (cstore.h), the daily engine
 * (engine.h), the outbox delivery's error paths (notify.h) and the rules file
 * (rulesconf.h). The end-to-end path with a real SMTP server is test_orders.sh. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "central/cstore.h"
#include "central/engine.h"
#include "central/notify.h"
#include "central/rulesconf.h"
#include "common/log.h"
#include "common/util.h"

#define NOW INT64_C(1795000000)
#define D0 asr_rp_week_start(NOW / 86400 - 40) /* simulated day 0: a Monday */
#define CAP 10000

static char dir[256], db_path[300];
static int64_t feed_secs = 3600; /* time of day of the readings feed() stores */

static void setup(void)
{
  feed_secs = 3600;
  asr_strlcpy(dir, "/tmp/check_engine.XXXXXX", sizeof(dir));
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(asr_fmt(db_path, sizeof(db_path), "%s/central.db", dir), ASR_OK);
}

static void teardown(void)
{
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm", ".rules", ".pw"};

  for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
    asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]);
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

/* A site (contact ops@NAME.example) and an enrolled agent. */
static void enrol(cstore *st, const char *site, cstore_agent *ag)
{
  char token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX], contact[64];

  asr_fmt(contact, sizeof(contact), "ops@%s.example", site);
  ck_assert_int_eq(cstore_site_add(st, site, contact, NULL, NOW, token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", NOW, ag, name, sizeof(name)), ASR_OK);
}

/* Stores days from..to of device serial (one black toner, CAP units, start - use * day)
 * as one batch of agent ag received at now. */
static void feed(cstore *st, const cstore_agent *ag, const char *serial, int from, int to,
                 int64_t start, int64_t use, int64_t now)
{
  static int seq;
  char key[64], bid[64];
  cstore_supply_meta sm = {1, "Black Toner", NULL, "toner", "consumed", "black", "impressions"};
  cstore_dev dev = {.key = key,
                    .serial = serial,
                    .model = "M1",
                    .state_since = -1,
                    .last_good_poll = -1,
                    .failed_polls = -1,
                    .n_supplies = 1,
                    .supplies = &sm};
  size_t n = (size_t)(to - from + 1);
  cstore_level *lv = calloc(n, sizeof(*lv));
  cstore_reading *rd = calloc(n, sizeof(*rd));
  cstore_applied res;

  asr_fmt(key, sizeof(key), "serial:%s", serial);
  asr_fmt(bid, sizeof(bid), "%s-%d", ag->id, ++seq);
  for (size_t i = 0; i < n; i++) {
    int64_t level = start - use * (from + (int64_t)i);
    lv[i] = (cstore_level){1, true, true, true, level < 0 ? 0 : level, CAP, 0};
    rd[i] = (cstore_reading){.device = 0,
                             .t = (D0 + from + (int64_t)i) * 86400 + feed_secs,
                             .n_levels = 1,
                             .levels = &lv[i]};
  }
  cstore_batch b = {.batch_id = bid,
                    .agent_id = ag->id,
                    .created_at = now,
                    .n_devices = 1,
                    .devices = &dev,
                    .n_readings = n,
                    .readings = rd};
  ck_assert_int_eq(cstore_apply(st, ag, &b, now, &res), ASR_OK);
  free(lv);
  free(rd);
}

typedef struct {
  int n;
  int64_t ids[8];
  char states[8][16];
  size_t lines[8];
  char serial0[8][32];
} orders_seen;

static int collect(const cstore_order_row *o, void *ctx)
{
  orders_seen *s = ctx;

  if (s->n < 8) {
    s->ids[s->n] = o->id;
    asr_strlcpy(s->states[s->n], o->state, sizeof(s->states[0]));
    s->lines[s->n] = o->n_lines;
    asr_strlcpy(s->serial0[s->n], o->n_lines ? o->lines[0].serial : "", sizeof(s->serial0[0]));
  }
  s->n++;
  return 0;
}

static orders_seen list(cstore *st, const char *site, bool open_only, asr_result want)
{
  orders_seen s;

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(cstore_order_foreach(st, site, open_only, collect, &s), want);
  return s;
}

/* ------------------------------------------------------------------------------------ */

START_TEST(test_order_store)
{
  cstore *st = open_store();
  cstore_agent ag;
  cstore_order_head h;
  int64_t id1 = 0, id2 = 0, dev = 0, day = 0;
  bool added = false;

  ck_assert_int_ge(cstore_schema_latest(), 2);
  enrol(st, "acme", &ag);
  feed(st, &ag, "S1", 0, 3, CAP, 100, NOW);
  ck_assert_int_eq(cstore_rp_last_day(st, &day), ASR_OK);
  ck_assert_int_eq(day, -1);
  dev = 1; /* the first device */
  ck_assert_int_eq(cstore_tx_begin(st), ASR_OK);
  ck_assert_int_eq(cstore_order_add(st, 1, "ops@acme.example", "trigger", D0, NOW, &id1), ASR_OK);
  ck_assert_int_eq(cstore_order_line_add(st, id1, 1, dev, 1, "S1", 2, "trigger", D0 + 30), ASR_OK);
  ck_assert_int_eq(
      cstore_order_add(st, 1, "ops@acme.example", "usage spike", D0 + 1, NOW + 10, &id2), ASR_OK);
  ck_assert_int_eq(cstore_rp_set_last_day(st, D0 + 1), ASR_OK);
  ck_assert_int_eq(cstore_tx_commit(st), ASR_OK);

  orders_seen s = list(st, NULL, false, ASR_OK);
  ck_assert_int_eq(s.n, 2);
  ck_assert_int_eq(s.ids[0], id2); /* newest first */
  ck_assert_int_eq(s.lines[1], 1);
  ck_assert_str_eq(s.serial0[1], "S1");
  list(st, "nowhere", false, ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(list(st, "acme", true, ASR_OK).n, 2);

  /* delivery: the lines become the device's stock; a delivered order is not open */
  ck_assert_int_eq(cstore_order_set_state(st, id1, "delivered", NOW + 20), ASR_OK);
  s = list(st, "acme", true, ASR_OK);
  ck_assert_int_eq(s.n, 1);
  ck_assert_int_eq(s.ids[0], id2);
  ck_assert_int_eq(cstore_order_head_get(st, id1, &h), ASR_OK);
  ck_assert_str_eq(h.state, "delivered");
  ck_assert_str_eq(h.contact, "ops@acme.example");
  ck_assert_int_eq(cstore_order_head_get(st, 999, &h), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(cstore_rp_last_day(st, &day), ASR_OK);
  ck_assert_int_eq(day, D0 + 1);

  /* the outbox: a key once; next, mark, count */
  cstore_mail m;
  bool found = false;
  ck_assert_int_eq(
      cstore_outbox_add(st, "k1", 1, "ops@acme.example", "order created", "A\r\n", 3, NOW, &added),
      ASR_OK);
  ck_assert(added);
  ck_assert_int_eq(cstore_outbox_add(st, "k1", 1, "ops@acme.example", "x", "B", 1, NOW, &added),
                   ASR_OK);
  ck_assert(!added);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 1);
  ck_assert_int_eq(cstore_outbox_next(st, NOW, 0, &m, &found), ASR_OK);
  ck_assert(found);
  ck_assert_str_eq(m.msg, "A\r\n");
  ck_assert_uint_eq(m.len, 3);
  ck_assert_int_eq(cstore_outbox_mark(st, m.id, "pending", NOW + 60, "down", NOW), ASR_OK);
  cstore_mail_free(&m);
  ck_assert_int_eq(cstore_outbox_next(st, NOW + 59, 0, &m, &found), ASR_OK);
  ck_assert(!found); /* not due before its retry time */
  ck_assert_int_eq(cstore_outbox_next(st, NOW + 60, 0, &m, &found), ASR_OK);
  ck_assert(found);
  ck_assert_int_eq(m.tries, 1);
  ck_assert_int_eq(cstore_outbox_mark(st, m.id, "sent", 0, NULL, NOW + 60), ASR_OK);
  cstore_mail_free(&m);
  ck_assert_int_eq(cstore_outbox_count(st, "sent"), 1);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 0);
  cstore_close(st);
}
END_TEST

/* Runs the engine on simulated day d. */
static cengine_report run_day(cstore *st, const asr_rp_conf *c, int d)
{
  cengine_report rep;
  cengine_opts o = {.mail_from = "central@provider.test", .now = (D0 + d) * 86400 + 43200};

  ck_assert_int_eq(cengine_run_day(st, c, D0 + d, &o, &rep), ASR_OK);
  return rep;
}

START_TEST(test_engine_day)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;
  char err[256];
  cengine_opts o = {.now = NOW};

  asr_rp_conf_default(&c);
  enrol(st, "acme", &ag);
  /* 9000 units at 300 a day: 21 days left on day 9 */
  feed(st, &ag, "E1", 0, 8, 9000, 300, (D0 + 8) * 86400 + 7200);
  cengine_report rep = run_day(st, &c, 8);
  ck_assert_uint_eq(rep.orders, 0);
  ck_assert_uint_eq(rep.devices, 1);
  feed(st, &ag, "E1", 9, 9, 9000, 300, (D0 + 9) * 86400 + 7200);
  rep = run_day(st, &c, 9);
  ck_assert_uint_eq(rep.orders, 1);
  ck_assert_uint_eq(rep.lines, 1);
  ck_assert_uint_eq(rep.mails, 1);
  rep = run_day(st, &c, 9); /* the same day again: nothing */
  ck_assert(rep.already_ran);
  ck_assert_uint_eq(rep.orders, 0);
  feed(st, &ag, "E1", 10, 10, 9000, 300, (D0 + 10) * 86400 + 7200);
  rep = run_day(st, &c, 10); /* the shipment covers the need: no duplicate */
  ck_assert_uint_eq(rep.orders, 0);
  ck_assert_int_eq(list(st, NULL, false, ASR_OK).n, 1);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 1);

  /* warehouse steps: only valid transitions, each with its mail */
  ck_assert_int_eq(cengine_order_step(st, 1, CENGINE_DELIVER, &o, err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_str_eq(err, "order 1 is created: cannot deliver it");
  ck_assert_int_eq(cengine_order_step(st, 7, CENGINE_SHIP, &o, err, sizeof(err)),
                   ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(cengine_order_step(st, 1, CENGINE_BACKORDER, &o, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cengine_order_step(st, 1, CENGINE_SHIP, &o, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cengine_order_step(st, 1, CENGINE_SHIP, &o, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_int_eq(cengine_order_step(st, 1, CENGINE_DELIVER, &o, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 3); /* created, backordered, shipped */
  ck_assert_str_eq(list(st, NULL, false, ASR_OK).states[0], "delivered");
  cstore_close(st);
}
END_TEST

/* An agent whose heartbeats stopped silences all its devices, whatever their readings say. */
START_TEST(test_engine_agent_silent)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  enrol(st, "beta", &ag);
  /* readings up to day 20, but the agent was last heard of on day 5 */
  feed(st, &ag, "H1", 0, 20, CAP, 10, (D0 + 5) * 86400);
  ck_assert_uint_eq(run_day(st, &c, 11).notices, 0);
  cengine_report rep = run_day(st, &c, 12);
  ck_assert_uint_eq(rep.notices, 1);                 /* day 12 = day 5 + 7: disconnected */
  ck_assert_uint_eq(run_day(st, &c, 13).notices, 0); /* once */
  ck_assert_uint_eq(run_day(st, &c, 35).notices, 1); /* final, after 30 days */
  ck_assert_uint_eq(run_day(st, &c, 36).notices, 0);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 2);
  cstore_close(st);
}
END_TEST

static void say_check(void *ctx, const char *line)
{
  int *n = ctx;

  for (const char *c = line; *c; c++)
    ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f, "control character in '%s'", line);
  (*n)++;
}

/* A printer-sent serial with control characters never reaches the report raw. */
START_TEST(test_engine_hostile_serial)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;
  cengine_report rep;
  int lines = 0;
  cengine_opts o = {.now = NOW, .say = say_check, .say_ctx = &lines};

  asr_rp_conf_default(&c);
  enrol(st, "acme", &ag);
  feed(st, &ag, "E\x1b[2J\n1", 0, 9, 9000, 300, (D0 + 9) * 86400);
  ck_assert_int_eq(cengine_run_day(st, &c, D0 + 9, &o, &rep), ASR_OK);
  ck_assert_uint_eq(rep.orders, 1);
  ck_assert_int_ge(lines, 2); /* the order and its line */
  cstore_close(st);
}
END_TEST

START_TEST(test_engine_bad_conf)
{
  cstore *st = open_store();
  asr_rp_conf c;
  cengine_report rep;

  asr_rp_conf_default(&c);
  c.disconnect_days = 3;
  ck_assert_int_eq(cengine_run_day(st, &c, D0, NULL, &rep), ASR_ERR_INVALID);
  cstore_close(st);
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

START_TEST(test_rules_file)
{
  char path[400], err[512];
  asr_rp_conf c;

  asr_fmt(path, sizeof(path), "%s.rules", db_path);
  asr_rp_conf_default(&c);
  write_file(path,
             "# rules\ntrigger_days = 28\n\nconsolidate = no # one device per order\n"
             "disconnect_days=10\n",
             0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_OK);
  ck_assert(c.trigger_days == 28.0);
  ck_assert(!c.consolidate);
  ck_assert_int_eq(c.disconnect_days, 10);
  write_file(path, "trigger_days = 14\ndisconnect_days = 15\n", 0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_msg(strstr(err, ".rules:2: disconnect_days: '15' is not a whole number from 7 to 14"),
                "%s", err);
  ck_assert(c.trigger_days == 28.0); /* all or nothing */
  write_file(path, "frobs = 1\n", 0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_msg(strstr(err, ":1: unknown rule 'frobs'"), "%s", err);
  write_file(path, "cover_days 30\n", 0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_INVALID);
  write_file(path, "cover_days = 1e999\n", 0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_INVALID);
  write_file(path, "silent_days = 9\ndisconnect_days = 8\n", 0644);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_INVALID); /* not together */
  unlink(path);
  ck_assert_int_eq(crules_load(path, &c, err, sizeof(err)), ASR_ERR_IO);
}
END_TEST

static int get_installed(const cstore_rp_supply *p, void *ctx)
{
  *(int64_t *)ctx = p->installed;
  return 0;
}

/* Cartridges of device dev's supply 1 that replacements consumed. */
static int64_t installed(cstore *st, int64_t dev)
{
  int64_t n = -1;

  ck_assert_int_eq(cstore_rp_supplies(st, dev, get_installed, &n), ASR_OK);
  return n;
}

/* A cartridge replaced later on the day of a run is still counted (on the next run). */
START_TEST(test_engine_late_replacement)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  enrol(st, "late", &ag);
  feed(st, &ag, "L1", 0, 9, 9000, 300, (D0 + 9) * 86400 + 7200);
  ck_assert_uint_eq(run_day(st, &c, 9).orders, 1); /* one cartridge ordered, at 01:00 */
  feed_secs = 50000;                               /* 13:53 the same day: replaced */
  feed(st, &ag, "L1", 9, 9, CAP, 0, (D0 + 9) * 86400 + 50000);
  feed_secs = 3600;
  feed(st, &ag, "L1", 10, 10, CAP + 3000, 300, (D0 + 10) * 86400 + 7200);
  cengine_report rep = run_day(st, &c, 10);
  ck_assert_int_eq(installed(st, 1), 1); /* the shipped cartridge was consumed */
  ck_assert_uint_eq(rep.early, 1);       /* 6300 of 10000 were left */
  ck_assert_int_eq(run_day(st, &c, 11).early, 0);
  ck_assert_int_eq(installed(st, 1), 1); /* once */
  cstore_close(st);
}
END_TEST

/* Early or not is judged on what the old cartridge had left when it was taken out: the
 * forecast use of the days without readings is subtracted, as in the simulation. */
START_TEST(test_engine_early_gap)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  enrol(st, "gap", &ag);
  /* G1: 3000 left on day 10, silent 10 days, replaced: it ran empty, not early */
  feed(st, &ag, "G1", 0, 10, 6000, 300, (D0 + 10) * 86400 + 7200);
  feed(st, &ag, "G1", 21, 21, CAP, 0, (D0 + 21) * 86400 + 7200);
  /* G2: 6000 left on day 10, replaced on day 12 with 5400 left: early */
  feed(st, &ag, "G2", 0, 10, 9000, 300, (D0 + 10) * 86400 + 7200);
  ck_assert_uint_eq(run_day(st, &c, 11).early, 0); /* both checked up to day 10 */
  feed(st, &ag, "G2", 12, 12, CAP, 0, (D0 + 12) * 86400 + 7200);
  ck_assert_uint_eq(run_day(st, &c, 21).early, 1);
  cstore_close(st);
}
END_TEST

/* A supply the engine sees for the first time: replacements in its history before
 * yesterday predate the engine and are not judged (no early report, no stock used). */
START_TEST(test_engine_first_run_history)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  enrol(st, "hist", &ag);
  feed(st, &ag, "H1", 0, 10, 9000, 300, (D0 + 10) * 86400 + 7200);
  feed(st, &ag, "H1", 12, 20, CAP + 3600, 300, (D0 + 12) * 86400 + 7200); /* early, day 12 */
  ck_assert_uint_eq(run_day(st, &c, 21).early, 0);
  ck_assert_uint_eq(run_day(st, &c, 22).early, 0);
  cstore_close(st);
}
END_TEST

/* Issue 11, defect 8: levels 66, 33, 99 % on three days: too little history to tell how much
 * the old cartridge had left, so no early replacement is reported. */
START_TEST(test_engine_no_early_without_history)
{
  cstore *st = open_store();
  cstore_agent ag;
  asr_rp_conf c;

  asr_rp_conf_default(&c);
  enrol(st, "young", &ag);
  feed(st, &ag, "Y1", 0, 1, 6600, 3300, (D0 + 1) * 86400 + 7200); /* 6600, 3300 */
  ck_assert_uint_eq(run_day(st, &c, 1).early, 0);
  feed(st, &ag, "Y1", 2, 2, 9900, 0, (D0 + 2) * 86400 + 7200);
  ck_assert_uint_eq(run_day(st, &c, 2).early, 0);
  ck_assert_uint_eq(run_day(st, &c, 3).early, 0);
  cstore_close(st);
}
END_TEST

START_TEST(test_notify_errors)
{
  char path[400], pw[CNOTIFY_PASSWORD_MAX], err[512];
  cstore *st = open_store();
  cnotify_report rep;
  bool added = false;
  asr_smtp_conf c = {
      .url = "smtp://127.0.0.1:1", .from = "central@provider.test", .timeout_ms = 2000};

  ck_assert_int_eq(cnotify_backoff(1), CNOTIFY_BACKOFF_MIN);
  ck_assert_int_eq(cnotify_backoff(2), 2 * CNOTIFY_BACKOFF_MIN);
  ck_assert_int_eq(cnotify_backoff(40), CNOTIFY_BACKOFF_MAX);
  asr_fmt(path, sizeof(path), "%s.pw", db_path);
  write_file(path, "s3cret\n", 0644);
  ck_assert_int_eq(cnotify_read_password(path, pw, sizeof(pw), err, sizeof(err)), ASR_ERR_SECRET);
  ck_assert_msg(strstr(err, "readable by others") && !strstr(err, "s3cret"), "%s", err);
  chmod(path, 0600);
  ck_assert_int_eq(cnotify_read_password(path, pw, sizeof(pw), err, sizeof(err)), ASR_OK);
  ck_assert_str_eq(pw, "s3cret");

  /* a bad conf marks nothing; a server that is down defers the mail, keeps it */
  ck_assert_int_eq(
      cstore_outbox_add(st, "k", 0, "ops@acme.example", "notice", "M\r\n", 3, NOW, &added), ASR_OK);
  asr_smtp_conf bad = {.url = "", .from = "central@provider.test"};
  ck_assert_int_eq(cnotify_flush(st, &bad, NOW, 0, &rep), ASR_ERR_USAGE);
  ck_assert_int_eq(cnotify_flush(st, &c, NOW, 0, &rep), ASR_OK);
  ck_assert_uint_eq(rep.deferred, 1);
  ck_assert_uint_eq(rep.sent, 0);
  ck_assert_int_eq(cstore_outbox_count(st, "pending"), 1);
  ck_assert_int_eq(cnotify_flush(st, &c, NOW + 1, 0, &rep), ASR_OK);
  ck_assert_uint_eq(rep.deferred, 0); /* waits for its retry time */
  cstore_close(st);
}
END_TEST

/* Two flushes at once (two handles on one file, as serve's timer and `mail --flush`): a
 * mail claimed by one is not taken by the other; a claim never settled ends. */
START_TEST(test_notify_claim)
{
  cstore *a = open_store(), *b = open_store();
  cnotify_report rep;
  cstore_mail m;
  bool added = false, found = false, mine = false;
  asr_smtp_conf c = {
      .url = "smtp://127.0.0.1:1", .from = "central@provider.test", .timeout_ms = 2000};

  ck_assert_int_eq(
      cstore_outbox_add(a, "k1", 0, "ops@acme.example", "notice", "M\r\n", 3, NOW, &added), ASR_OK);
  /* both see it due; only the first claim wins */
  ck_assert_int_eq(cstore_outbox_next(b, NOW, 0, &m, &found), ASR_OK);
  ck_assert(found);
  ck_assert_int_eq(cstore_outbox_claim(a, m.id, NOW, NOW + 900, &mine), ASR_OK);
  ck_assert(mine);
  ck_assert_int_eq(cstore_outbox_claim(b, m.id, NOW, NOW + 900, &mine), ASR_OK);
  ck_assert(!mine);
  cstore_mail_free(&m);
  /* b's flush does not send the mail a is sending (the server being down shows a try) */
  ck_assert_int_eq(cnotify_flush(b, &c, NOW + 10, 0, &rep), ASR_OK);
  ck_assert_uint_eq(rep.deferred + rep.sent + rep.failed, 0);
  ck_assert_int_eq(cstore_outbox_next(b, NOW + 10, 0, &m, &found), ASR_OK);
  ck_assert(!found);
  /* a died without marking it: once the claim ended, it is sent (tried) again */
  ck_assert_int_eq(cnotify_flush(b, &c, NOW + 901, 0, &rep), ASR_OK);
  ck_assert_uint_eq(rep.deferred, 1);
  ck_assert_int_eq(cstore_outbox_count(a, "pending"), 1);
  cstore_close(b);
  cstore_close(a);
}
END_TEST

/* A flush on its own handle in a thread (as serve's timer next to `mail --flush`). */
typedef struct {
  cstore *st;
  const asr_smtp_conf *c;
  cnotify_report rep;
  asr_result r;
} flush_job;

static void *flush_thread(void *arg)
{
  flush_job *j = arg;

  j->r = cnotify_flush(j->st, j->c, NOW, 0, &j->rep);
  return NULL;
}

/* A loopback port that accepts connections (the kernel's backlog) and never answers: a
 * mail server that holds a sender until its timeout. *fd gets the socket. */
static int silent_server(int *fd)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(*fd, 0);
  ck_assert_int_eq(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(listen(*fd, 8), 0);
  ck_assert_int_eq(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin_port);
}

/* Two flushes at once: while one is sending a mail (its server slow), the other does not
 * send it too. Each try of this mail ends deferred, so the tries are counted. */
START_TEST(test_notify_concurrent)
{
  cstore *a = open_store(), *b = open_store();
  char url[64];
  int fd = -1;
  bool added = false;
  pthread_t th;
  cnotify_report rep;

  asr_fmt(url, sizeof(url), "smtp://127.0.0.1:%d", silent_server(&fd));
  asr_smtp_conf c = {.url = url, .from = "central@provider.test", .timeout_ms = 2000};
  flush_job j = {.st = a, .c = &c};
  ck_assert_int_eq(
      cstore_outbox_add(a, "k1", 0, "ops@acme.example", "notice", "M\r\n", 3, NOW, &added), ASR_OK);
  ck_assert_int_eq(pthread_create(&th, NULL, flush_thread, &j), 0);
  usleep(500 * 1000); /* the thread's flush is waiting for the silent server */
  ck_assert_int_eq(cnotify_flush(b, &c, NOW, 0, &rep), ASR_OK);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_int_eq(j.r, ASR_OK);
  ck_assert_uint_eq(j.rep.deferred + rep.deferred, 1); /* tried once, not twice */
  ck_assert_int_eq(cstore_outbox_count(a, "pending"), 1);
  close(fd);
  cstore_close(b);
  cstore_close(a);
}
END_TEST

/* Each database draws its own instance id once: the mails' keys (Message-IDs) carry it. */
START_TEST(test_engine_instance)
{
  int64_t i1 = 0, i2 = 0, other = 0;
  char other_path[400];
  cstore *st = open_store(), *o = NULL;
  char err[256];

  ck_assert_int_eq(cstore_rp_instance(st, &i1), ASR_OK);
  ck_assert_int_eq(cstore_rp_instance(st, &i2), ASR_OK);
  ck_assert(i1 > 0);
  ck_assert_int_eq(i1, i2);
  asr_fmt(other_path, sizeof(other_path), "%s/other.db", dir);
  ck_assert_msg(cstore_open(other_path, &o, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_int_eq(cstore_rp_instance(o, &other), ASR_OK);
  ck_assert(other > 0 && other != i1);
  cstore_close(o);
  const char *sfx[] = {"", "-wal", "-shm"};
  for (size_t k = 0; k < 3; k++) {
    char p[420];
    asr_fmt(p, sizeof(p), "%s%s", other_path, sfx[k]);
    unlink(p);
  }

  /* an order's mail is keyed by the instance */
  cstore_agent ag;
  asr_rp_conf c;
  char want[64];
  asr_rp_conf_default(&c);
  enrol(st, "inst", &ag);
  feed(st, &ag, "I1", 0, 9, 9000, 300, (D0 + 9) * 86400 + 7200);
  ck_assert_uint_eq(run_day(st, &c, 9).mails, 1);
  asr_fmt(want, sizeof(want), "%llx-order-1-created", (unsigned long long)i1);
  cstore_mail m;
  bool found = false;
  ck_assert_int_eq(cstore_outbox_next(st, NOW * 2, 0, &m, &found), ASR_OK);
  ck_assert(found);
  ck_assert_str_eq(m.key, want);
  ck_assert_msg(strstr(m.msg, want) != NULL, "no Message-ID with %s", want);
  cstore_mail_free(&m);
  cstore_close(st);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("engine");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  asr_log_set_level(ASR_LOG_ERR);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_order_store);
  tcase_add_test(tc, test_engine_day);
  tcase_add_test(tc, test_engine_agent_silent);
  tcase_add_test(tc, test_engine_hostile_serial);
  tcase_add_test(tc, test_engine_bad_conf);
  tcase_add_test(tc, test_rules_file);
  tcase_add_test(tc, test_notify_errors);
  tcase_add_test(tc, test_engine_late_replacement);
  tcase_add_test(tc, test_engine_early_gap);
  tcase_add_test(tc, test_engine_first_run_history);
  tcase_add_test(tc, test_engine_no_early_without_history);
  tcase_add_test(tc, test_notify_claim);
  tcase_add_test(tc, test_notify_concurrent);
  tcase_add_test(tc, test_engine_instance);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
