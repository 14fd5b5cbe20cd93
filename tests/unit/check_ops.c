/* check_ops.c: the agent's operations as library entry points (agent/ops.h) and the daemon's
 * steps built on them (agent/daemon_steps.h), driven directly, without a command line, over
 * real SQLite files:
 *   - discovery of silent loopback addresses (nothing listens on 127.45.254.x port 19):
 *     the counts, the exit status the command and the daemon give it, a stop by the tick;
 *   - polls: failures recorded with the health rules passed in the options (not the
 *     process's), selectors that name nothing, no device at all, a stop that records nothing;
 *   - upload: not enrolled, bad proxy credentials, a central that refuses connections (a
 *     failure in transit: what the daemon retries soon); enrolment refused when enrolled;
 *   - pruning; and the daemon's steps from a configuration (targets less exclusions).
 * The live cases run when ASR_OPS_SIM_PORT names the port of simulated printers on
 * 127.43.0.1 (colour_laser, community public) and 127.43.0.2 (inkjet, community secret2):
 * tests/integration/test_ops.sh starts them with snmpsim and runs this program. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/daemon_steps.h"
#include "agent/ops.h"
#include "agent/secret.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "conf/conf.h"
#include "snmp/printer.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/save.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#define T0 INT64_C(1795000000)
#define DAY 86400
#define SILENT1 "127.45.254.1" /* nothing listens there */
#define SILENT2 "127.45.254.2"
#define SILENT_PORT 19
#define LIVE1 "127.43.0.1" /* colour_laser, public (live cases) */
#define LIVE2 "127.43.0.2" /* inkjet, secret2 */

static char tmpdir[256], dbpath[512];
static asr_store *st;

static void setup(void)
{
  char err[256];

  tu_tmpdir("check_ops", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  asr_log_set_level(ASR_LOG_ERR);
  tu_setenv("ASR_PROXY_USER", NULL);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_OK);
}

static void teardown(void)
{
  asr_store_close(st);
  st = NULL;
  tu_rmtree(tmpdir);
}

static asr_snmp_cred public_cred(void)
{
  asr_snmp_cred c;

  memset(&c, 0, sizeof(c));
  c.version = ASR_SNMP_V2C;
  ck_assert_int_eq(asr_strlcpy(c.community, "public", sizeof(c.community)), ASR_OK);
  return c;
}

static void fast(asr_scan_opts *o)
{
  o->timeout_ms = 100;
  o->retries = 0;
}

/* A printer with one toner at level pct, saved at t; its id. */
static int64_t save_printer(const char *serial, const char *ip, int pct, int64_t t)
{
  asr_device *d = calloc(1, sizeof(*d));
  asr_snmp_cred c = public_cred();
  int64_t id = 0;

  ck_assert_ptr_nonnull(d);
  asr_device_init(d);
  ck_assert_int_eq(asr_strlcpy(d->serial, serial, sizeof(d->serial)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->ip, ip, sizeof(d->ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->model, "Model M", sizeof(d->model)), ASR_OK);
  d->is_printer = true;
  d->n_supplies = 1;
  d->supplies[0].index = 1;
  d->supplies[0].type = 3;
  d->supplies[0].klass = ASR_CLASS_CONSUMED;
  d->supplies[0].has_level = d->supplies[0].has_max = true;
  d->supplies[0].max = 100;
  d->supplies[0].level = pct;
  asr_supply_normalize(&d->supplies[0], 0);
  ck_assert_int_eq(asr_store_save(st, d, SILENT_PORT, &c, t, &id), ASR_OK);
  free(d);
  return id;
}

static asr_store_device *stored(int64_t id)
{
  static asr_store_device d;

  ck_assert_int_eq(asr_store_get(st, id, &d), ASR_OK);
  return &d;
}

static int always_stop(void *ctx)
{
  (*(int *)ctx)++;
  return 1;
}

static int count_tick(void *ctx)
{
  (*(int *)ctx)++;
  return 0;
}

/* ---- discovery ------------------------------------------------------------------------------ */

typedef struct {
  int devices;
  char serials[4][128];
} listed;

static void on_device(const asr_device *dev, const char *key, const char *note, void *ctx)
{
  listed *l = ctx;

  (void)key;
  (void)note;
  if (l->devices < 4)
    ck_assert_int_eq(asr_strlcpy(l->serials[l->devices], dev->serial, sizeof(l->serials[0])),
                     ASR_OK);
  l->devices++;
}

static bool listed_has(const listed *l, const char *serial)
{
  for (int i = 0; i < l->devices && i < 4; i++) {
    if (strcmp(l->serials[i], serial) == 0)
      return true;
  }
  return false;
}

/* A discovery of spec with the public community; rep filled, the result returned. */
static asr_result discover(const char *spec, uint16_t port, asr_scan_tick tick, void *tick_ctx,
                           asr_targets *t, listed *l, asr_discover_report *rep)
{
  asr_discover_opts o;
  asr_snmp_cred c = public_cred();
  char err[256];

  ck_assert_int_eq(asr_targets_add(t, spec, 0, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(asr_targets_finish(t, 0, err, sizeof(err)), ASR_OK);
  asr_discover_opts_init(&o);
  o.st = st;
  o.targets = t;
  o.creds = &c;
  o.n_creds = 1;
  o.port = port;
  fast(&o.scan);
  o.scan.tick = tick;
  o.scan.tick_ctx = tick_ctx;
  o.on_device = on_device;
  o.ctx = l;
  return asr_discover(&o, rep);
}

START_TEST(test_discover_silent)
{
  asr_targets t = {0};
  asr_discover_report rep;
  listed l = {0};
  char line[160];

  ck_assert_int_eq(discover(SILENT1 "-2", SILENT_PORT, NULL, NULL, &t, &l, &rep), ASR_OK);
  ck_assert_uint_eq(rep.total, 2);
  ck_assert_uint_eq(rep.scanned, 2);
  ck_assert_uint_eq(rep.responded, 0);
  ck_assert_uint_eq(rep.printers, 0);
  ck_assert_uint_eq(rep.skipped, 0);
  ck_assert(!rep.stopped);
  ck_assert_int_eq(l.devices, 0);
  /* nothing answered: the command and the daemon's log say exit 5 */
  ck_assert_int_eq(asr_cli_discover_status(ASR_OK, &rep), ASR_EXIT_NETWORK);
  ck_assert_int_eq(asr_discover_summary(&rep, line, sizeof(line)), ASR_OK);
  ck_assert_str_eq(line, "2 addresses scanned, 0 answered, 0 printers, 0 not scanned");
  asr_targets_free(&t);
}
END_TEST

START_TEST(test_discover_stopped)
{
  asr_targets t = {0};
  asr_discover_report rep;
  listed l = {0};
  int ticks = 0;

  ck_assert_int_eq(discover(SILENT1 "-2", SILENT_PORT, always_stop, &ticks, &t, &l, &rep), ASR_OK);
  ck_assert_int_gt(ticks, 0);
  ck_assert(rep.stopped);
  ck_assert_uint_eq(rep.scanned + rep.skipped, 2);
  ck_assert_uint_gt(rep.skipped, 0);
  ck_assert_str_eq(rep.first_skipped, rep.skipped == 2 ? SILENT1 : SILENT2);
  ck_assert_int_eq(asr_cli_discover_status(ASR_OK, &rep), ASR_EXIT_FAILURE);
  asr_targets_free(&t);
}
END_TEST

/* ---- polls ---------------------------------------------------------------------------------- */

typedef struct {
  int failed, unmatched, other;
  char last[64];
} events;

static void on_event(const asr_poll_event *e, void *ctx)
{
  events *ev = ctx;

  if (e->kind == ASR_POLL_FAILED)
    ev->failed++;
  else if (e->kind == ASR_POLL_UNMATCHED)
    ev->unmatched++;
  else
    ev->other++;
  ck_assert_int_eq(asr_strlcpy(ev->last, e->address, sizeof(ev->last)), ASR_OK);
  ck_assert_ptr_nonnull(e->detail);
}

static asr_result poll(const asr_health_policy *p, const char *const *sel, size_t n,
                       asr_scan_tick tick, void *tick_ctx, events *ev, asr_poll_report *rep)
{
  asr_poll_opts o;

  asr_poll_opts_init(&o);
  o.st = st;
  o.select = sel;
  o.n_select = n;
  o.health = p;
  o.now = T0;
  fast(&o.scan);
  o.scan.tick = tick;
  o.scan.tick_ctx = tick_ctx;
  o.on_event = on_event;
  o.ctx = ev;
  return asr_poll(&o, rep);
}

static int64_t silent_count(void)
{
  asr_events_counts c;

  ck_assert_int_eq(asr_events_count_states(st, &c), ASR_OK);
  return c.silent;
}

START_TEST(test_poll_failures_and_policy)
{
  int64_t a = save_printer("S1", SILENT1, 50, T0 - 2 * DAY);
  int64_t b = save_printer("S2", SILENT2, 60, T0 - 2 * DAY);
  asr_health_policy strict;
  asr_poll_report rep;
  events ev = {0};
  char line[160];

  /* the process-wide rules would need 3 failures: the options' rules need one */
  asr_health_set_policy(NULL);
  asr_health_policy_init(&strict);
  strict.silent_after = 3600;
  strict.min_failures = 1;
  ck_assert_int_eq(poll(&strict, NULL, 0, NULL, NULL, &ev, &rep), ASR_OK);
  ck_assert(rep.ran);
  ck_assert_uint_eq(rep.devices, 2);
  ck_assert_uint_eq(rep.read, 0);
  ck_assert_uint_eq(rep.failed, 2);
  ck_assert_uint_eq(rep.stopped, 0);
  ck_assert_int_eq(rep.store_error, ASR_OK);
  ck_assert_int_eq(ev.failed, 2);
  ck_assert_int_eq(asr_cli_poll_status(ASR_OK, &rep), ASR_EXIT_FAILURE);
  ck_assert_int_eq(stored(a)->failed_polls, 1);
  ck_assert_int_eq(stored(b)->last_failure_at, T0);
  ck_assert_int_eq(silent_count(), 2);
  ck_assert_int_eq(asr_poll_summary(&rep, line, sizeof(line)), ASR_OK);
  ck_assert_str_eq(line, "polled 2 devices: 0 read, 2 failed");
}
END_TEST

START_TEST(test_poll_default_policy)
{
  asr_poll_report rep;
  events ev = {0};

  save_printer("S1", SILENT1, 50, T0 - 2 * DAY);
  asr_health_set_policy(NULL);
  ck_assert_int_eq(poll(NULL, NULL, 0, NULL, NULL, &ev, &rep), ASR_OK);
  ck_assert_uint_eq(rep.failed, 1);
  ck_assert_int_eq(silent_count(), 0); /* one failure is not silence by default */
}
END_TEST

START_TEST(test_poll_selection)
{
  const char *const sel[] = {"S1", "NOPE"};
  asr_poll_report rep;
  events ev = {0};

  /* nothing known yet */
  ck_assert_int_eq(poll(NULL, NULL, 0, NULL, NULL, &ev, &rep), ASR_ERR_NOT_FOUND);
  ck_assert(!rep.ran);
  ck_assert_uint_eq(rep.devices, 0);
  ck_assert_uint_eq(rep.unmatched, 0);
  ck_assert_int_eq(asr_cli_poll_status(ASR_ERR_NOT_FOUND, &rep), ASR_EXIT_FAILURE);
  /* a selector that names nothing: told, and nothing polled */
  save_printer("S1", SILENT1, 50, T0 - DAY);
  ck_assert_int_eq(poll(NULL, sel, 2, NULL, NULL, &ev, &rep), ASR_ERR_NOT_FOUND);
  ck_assert_uint_eq(rep.unmatched, 1);
  ck_assert_int_eq(ev.unmatched, 1);
  ck_assert_str_eq(ev.last, "NOPE");
  ck_assert_int_eq(ev.failed, 0);
  ck_assert_int_eq(asr_cli_poll_status(ASR_ERR_NOT_FOUND, &rep), ASR_EXIT_USAGE);
  /* by serial or address */
  ck_assert_int_eq(poll(NULL, sel, 1, NULL, NULL, &ev, &rep), ASR_OK);
  ck_assert_uint_eq(rep.devices, 1);
}
END_TEST

START_TEST(test_poll_stopped)
{
  int64_t a = save_printer("S1", SILENT1, 50, T0 - DAY);
  asr_poll_report rep;
  events ev = {0};
  char line[160];
  int ticks = 0;

  save_printer("S2", SILENT2, 50, T0 - DAY);
  ck_assert_int_eq(poll(NULL, NULL, 0, always_stop, &ticks, &ev, &rep), ASR_OK);
  ck_assert_int_gt(ticks, 0);
  ck_assert_uint_eq(rep.stopped, 2);
  ck_assert_uint_eq(rep.failed, 0);
  ck_assert_int_eq(ev.failed, 0);
  ck_assert_int_eq(stored(a)->failed_polls, 0); /* a stop leaves no trace */
  ck_assert_int_eq(asr_cli_poll_status(ASR_OK, &rep), ASR_EXIT_FAILURE);
  ck_assert_int_eq(asr_poll_summary(&rep, line, sizeof(line)), ASR_OK);
  ck_assert_str_eq(line, "polled 2 devices: 0 read, 0 failed, 2 not polled (stopped)");
}
END_TEST

/* ---- upload and enrolment ------------------------------------------------------------------- */

static void enrol(const char *endpoint)
{
  asr_outbox_cred c;

  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(asr_strlcpy(c.endpoint, endpoint, sizeof(c.endpoint)), ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(c.agent_id, "ag_0123456789abcdef0123456789abcdef", sizeof(c.agent_id)), ASR_OK);
  memset(c.secret, 'a', 64);
  ck_assert_int_eq(asr_outbox_enroll(st, &c, T0 - DAY), ASR_OK);
}

static asr_result upload(asr_upload_report *rep)
{
  asr_upload_opts o;

  asr_upload_opts_init(&o);
  o.st = st;
  o.uplink.max_wait_s = 0;
  o.connect_timeout_ms = 2000;
  o.timeout_ms = 5000;
  return asr_upload(&o, rep);
}

START_TEST(test_upload_not_enrolled)
{
  asr_upload_report rep;

  ck_assert_int_eq(upload(&rep), ASR_ERR_NOT_FOUND);
  ck_assert(!rep.enrolled);
  ck_assert(!rep.ran);
  ck_assert_int_eq(asr_cli_upload_status(ASR_ERR_NOT_FOUND, &rep), ASR_EXIT_USAGE);
}
END_TEST

START_TEST(test_upload_in_transit)
{
  asr_upload_report rep;
  asr_result r;

  save_printer("S1", SILENT1, 50, T0 - DAY);
  enrol("http://" SILENT1 ":9"); /* refused at once: nothing listens */
  r = upload(&rep);
  ck_assert_int_ne(r, ASR_OK);
  ck_assert(rep.enrolled);
  ck_assert(rep.ran);
  ck_assert(rep.in_transit);
  ck_assert_uint_eq(rep.up.delivered, 0);
  ck_assert_int_eq(asr_cli_upload_status(r, &rep), ASR_EXIT_NETWORK);
  /* proxy credentials without a password: refused before any connection */
  tu_setenv("ASR_PROXY_USER", "nopassword");
  r = upload(&rep);
  tu_setenv("ASR_PROXY_USER", NULL);
  ck_assert_int_eq(r, ASR_ERR_SECRET);
  ck_assert(!rep.ran);
  ck_assert(!rep.in_transit);
  ck_assert_str_eq(rep.error, "proxy credentials: give them as user:password");
  ck_assert_int_eq(asr_cli_upload_status(r, &rep), ASR_EXIT_USAGE);
}
END_TEST

START_TEST(test_enroll_checks)
{
  asr_outbox_cred s;
  asr_enroll_report rep;
  asr_enroll_opts o = {.st = st, .settings = &s, .token = "st_0123456789abcdef"};
  char err[1280];

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(asr_enroll_check_settings(&s, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_ptr_nonnull(strstr(err, "(none)"));
  ck_assert_int_eq(asr_strlcpy(s.endpoint, "http://" SILENT1 ":9", sizeof(s.endpoint)), ASR_OK);
  ck_assert_int_eq(asr_enroll_check_settings(&s, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(s.pin, "md5//x", sizeof(s.pin)), ASR_OK);
  ck_assert_int_eq(asr_enroll_check_settings(&s, err, sizeof(err)), ASR_ERR_INVALID);
  ck_assert_str_eq(err, "--pin: give the key's hash as sha256//BASE64");
  s.pin[0] = '\0';
  ck_assert_int_eq(asr_enroll_check_token("st_0123abcd"), ASR_OK);
  ck_assert_int_eq(asr_enroll_check_token("st 01;rm"), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_enroll_check_token(""), ASR_ERR_INVALID);
  /* a central that refuses connections: a network failure, retried later by the daemon */
  o.connect_timeout_ms = 2000;
  o.timeout_ms = 5000;
  ck_assert_int_ne(asr_enroll(&o, &rep), ASR_OK);
  ck_assert(!rep.enrolled && !rep.already && !rep.token_refused);
  /* enrolled: not again without force */
  enrol("http://" SILENT1 ":9");
  ck_assert_int_eq(asr_enroll(&o, &rep), ASR_ERR_USAGE);
  ck_assert(rep.already);
  ck_assert_str_eq(rep.old_agent_id, "ag_0123456789abcdef0123456789abcdef");
  ck_assert_int_eq(asr_cli_enroll_status(ASR_ERR_USAGE, &rep), ASR_EXIT_USAGE);
}
END_TEST

/* ---- pruning -------------------------------------------------------------------------------- */

/* The readings as if a batch had taken them (the upload queue emptied). */
static void sent_all(void)
{
  sqlite3 *db = NULL;

  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM upload_queue", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

START_TEST(test_prune)
{
  asr_prune_opts o = {.st = st, .before = T0 - DAY};
  asr_prune_report rep;

  save_printer("S1", SILENT1, 50, T0 - 10 * DAY);
  save_printer("S1", SILENT1, 40, T0 - 5 * DAY);
  save_printer("S1", SILENT1, 30, T0);
  /* readings the central has not had yet stay, however old */
  ck_assert_int_eq(asr_prune(&o, &rep), ASR_OK);
  ck_assert_int_eq(rep.readings, 0);
  sent_all();
  ck_assert_int_eq(asr_prune(&o, &rep), ASR_OK);
  ck_assert_int_eq(rep.readings, 2);
  ck_assert_int_eq(asr_prune(&o, &rep), ASR_OK);
  ck_assert_int_eq(rep.readings, 0);
}
END_TEST

/* ---- the daemon's steps from a configuration ------------------------------------------------ */

static char logged[8192];

/* The daemon's log, kept (asr_log_sink). */
static void keep_log(asr_log_level level, const char *msg, void *ctx)
{
  size_t len = strlen(logged);

  (void)ctx;
  (void)asr_append(logged, sizeof(logged), &len, "%d %s\n", (int)level, msg);
}

static bool was_logged(asr_log_level level, const char *text)
{
  char want[512];

  ck_assert_int_eq(asr_fmt(want, sizeof(want), "%d %s", (int)level, text), ASR_OK);
  if (strstr(logged, want))
    return true;
  fprintf(stderr, "not logged: %s\nlog:\n%s", want, logged);
  return false;
}

static void conf_error(const char *msg, void *ctx)
{
  (void)ctx;
  fprintf(stderr, "%s\n", msg);
}

/* The configuration of this test's database with the lines of extra (the SNMP timeout
 * 100 ms unless extra sets it). */
static void conf_of(const char *extra, asr_conf *c)
{
  char path[600], text[2048];

  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.conf", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_fmt(text, sizeof(text), "database %s\n%ssnmp_retries 0\n%s", dbpath,
                           strstr(extra, "snmp_timeout") ? "" : "snmp_timeout 100ms\n", extra),
                   ASR_OK);
  tu_write_file(path, text);
  ck_assert_int_eq(asr_conf_load(path, c, conf_error, NULL), ASR_OK);
}

START_TEST(test_steps_from_conf)
{
  asr_conf *c = malloc(sizeof(*c));
  asr_health_policy p;
  asr_step_env env = {.health = &p};
  asr_discover_report d;
  asr_poll_report pr;
  asr_prune_report pru;
  asr_enroll_report er;
  char token[600];

  ck_assert_ptr_nonnull(c);
  logged[0] = '\0';
  asr_log_set_sink(keep_log, NULL);
  asr_log_set_level(ASR_LOG_INFO);
  conf_of("scan_targets 127.45.254.0/30\nexclude " SILENT2 "\nsnmp_port 19\n"
          "target_community " SILENT1 " other1 other2\nsilent_after 1h\nsilent_min_failures 1\n",
          c);
  asr_step_health_policy(c, &p);
  ck_assert_int_eq(p.min_failures, 1);
  /* the /30's two hosts, less the exclusion; the log line from the report */
  ck_assert_int_eq(asr_step_discover(c, &env, &d), ASR_EXIT_NETWORK);
  ck_assert_uint_eq(d.total, 1);
  ck_assert_uint_eq(d.scanned, 1);
  ck_assert(was_logged(ASR_LOG_WARN, "discovery: exit 5 after "));
  ck_assert_ptr_nonnull(strstr(logged, " ms: 1 address scanned, 0 answered, 0 printers, 0 not"));
  /* a poll with the configuration's health rules (at the real time: no test clock) */
  save_printer("S1", SILENT1, 50, asr_now() - 2 * DAY);
  ck_assert_int_eq(asr_step_poll(c, &env, &pr), ASR_EXIT_FAILURE);
  ck_assert_uint_eq(pr.devices, 1);
  ck_assert_uint_eq(pr.failed, 1);
  ck_assert_int_eq(silent_count(), 1);
  ck_assert(was_logged(ASR_LOG_WARN, SILENT1 ": not polled: "));
  ck_assert(was_logged(ASR_LOG_INFO, "polled 1 device: 0 read, 1 failed"));
  ck_assert(was_logged(ASR_LOG_WARN, "poll: exit 1 after "));
  sent_all();
  ck_assert_int_eq(asr_step_prune(c, asr_now() + 500 * DAY, &pru), ASR_OK);
  ck_assert_int_eq(pru.readings, 1);
  ck_assert(was_logged(ASR_LOG_INFO, "pruning: 1 readings older than 400 days removed"));
  /* enrolment: a missing token file is for the administrator (exit 2), a central that
   * refuses connections for a later try (exit 5) */
  conf_of("endpoint http://" SILENT1 ":9\n", c);
  ck_assert_int_eq(asr_fmt(token, sizeof(token), "%s/token", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_step_enroll(c, token, &er), ASR_EXIT_USAGE);
  ck_assert(was_logged(ASR_LOG_ERR, "enrolment: site token: "));
  tu_write_file(token, "st_0123456789abcdef0123456789abcdef\n");
  ck_assert_int_eq(tu_chmod(token, 0600), 0);
  ck_assert_int_eq(asr_step_enroll(c, token, &er), ASR_EXIT_NETWORK);
  ck_assert(was_logged(ASR_LOG_ERR, "enrolment failed: "));
  ck_assert(was_logged(ASR_LOG_WARN, "enrolment: exit 5 after "));
  ck_assert(strstr(logged, "st_0123456789abcdef") == NULL); /* never the token */
  asr_log_set_sink(NULL, NULL);
  asr_log_set_level(ASR_LOG_ERR);
  asr_secret_wipe(c, sizeof(*c));
  free(c);
}
END_TEST

/* ---- live: simulated printers (tests/integration/test_ops.sh) ------------------------------ */

static unsigned live_port(void)
{
  const char *p = getenv("ASR_OPS_SIM_PORT");
  unsigned v = 0;

  ck_assert_msg(p && asr_parse_uint(p, 1, 65535, &v) == ASR_OK, "ASR_OPS_SIM_PORT");
  return v;
}

START_TEST(test_live_discover_poll)
{
  asr_targets t = {0};
  asr_discover_report rep;
  asr_poll_report pr;
  listed l = {0};
  events ev = {0};
  char err[256];
  int ticks = 0;

  /* the inkjet answers its own community only */
  ck_assert_int_eq(asr_targets_add_community(&t, LIVE2, "secret2", err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(discover(LIVE1 "-2", (uint16_t)live_port(), count_tick, &ticks, &t, &l, &rep),
                   ASR_OK);
  ck_assert_int_gt(ticks, 0);
  ck_assert_uint_eq(rep.responded, 2);
  ck_assert_uint_eq(rep.printers, 2);
  ck_assert_uint_eq(rep.failed_saves, 0);
  ck_assert_int_eq(l.devices, 2);
  ck_assert(listed_has(&l, "LMC4410X0001"));
  ck_assert(listed_has(&l, "PIP750K42QX"));
  ck_assert_int_eq(asr_cli_discover_status(ASR_OK, &rep), ASR_EXIT_OK);
  asr_targets_free(&t);
  /* each polled with the credential it answered to */
  ck_assert_int_eq(poll(NULL, NULL, 0, count_tick, &ticks, &ev, &pr), ASR_OK);
  ck_assert_uint_eq(pr.devices, 2);
  ck_assert_uint_eq(pr.read, 2);
  ck_assert_uint_eq(pr.failed, 0);
  ck_assert_int_eq(ev.failed + ev.other, 0);
  ck_assert_int_eq(asr_cli_poll_status(ASR_OK, &pr), ASR_EXIT_OK);
}
END_TEST

START_TEST(test_live_public_only)
{
  asr_targets t = {0};
  asr_discover_report rep;
  listed l = {0};

  ck_assert_int_eq(discover(LIVE1 "-2", (uint16_t)live_port(), NULL, NULL, &t, &l, &rep), ASR_OK);
  ck_assert_uint_eq(rep.responded, 1);
  ck_assert_uint_eq(rep.printers, 1);
  ck_assert(listed_has(&l, "LMC4410X0001"));
  asr_targets_free(&t);
}
END_TEST

START_TEST(test_live_steps)
{
  asr_conf *c = malloc(sizeof(*c));
  asr_health_policy p;
  asr_step_env env = {.health = &p};
  asr_discover_report d;
  asr_poll_report pr;
  char extra[256];

  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(asr_fmt(extra, sizeof(extra),
                           "scan_targets " LIVE1 ", " LIVE2 "\nsnmp_port %u\nsnmp_timeout 1s\n"
                           "target_community " LIVE2 " wrong secret2\n",
                           live_port()),
                   ASR_OK);
  conf_of(extra, c);
  asr_step_health_policy(c, &p);
  ck_assert_int_eq(asr_step_discover(c, &env, &d), ASR_EXIT_OK);
  ck_assert_uint_eq(d.total, 2);
  ck_assert_uint_eq(d.printers, 2);
  ck_assert_int_eq(asr_step_poll(c, &env, &pr), ASR_EXIT_OK);
  ck_assert_uint_eq(pr.read, 2);
  free(c);
}
END_TEST

static Suite *ops_suite(void)
{
  Suite *s = suite_create("ops");
  TCase *tc = tcase_create("core");
  TCase *live = tcase_create("live");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_discover_silent);
  tcase_add_test(tc, test_discover_stopped);
  tcase_add_test(tc, test_poll_failures_and_policy);
  tcase_add_test(tc, test_poll_default_policy);
  tcase_add_test(tc, test_poll_selection);
  tcase_add_test(tc, test_poll_stopped);
  tcase_add_test(tc, test_upload_not_enrolled);
  tcase_add_test(tc, test_upload_in_transit);
  tcase_add_test(tc, test_enroll_checks);
  tcase_add_test(tc, test_prune);
  TU_ADD_MODES_TEST(tc, test_steps_from_conf, "the token file must be 0600 (POSIX modes)");
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(live, setup, teardown);
  tcase_set_timeout(live, 60);
  if (getenv("ASR_OPS_SIM_PORT")) {
    tcase_add_test(live, test_live_discover_poll);
    tcase_add_test(live, test_live_public_only);
    tcase_add_test(live, test_live_steps);
  } else {
    tu_skip("live", "no simulated printers (tests/integration/test_ops.sh runs them)");
  }
  suite_add_tcase(s, live);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(ops_suite());
  int failed;

  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
