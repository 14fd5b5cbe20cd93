/* asr-agent status: every known device with its supplies and poll history. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "conf/conf.h"
#include "agent/health.h"
#include "agent/moves.h"
#include "agent/output.h"
#include "common/clock.h"
#include "common/util.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/store.h"

#define OPT_CHECK 1000 /* status only: above the shared ASR_OPT_* codes */
#define OPT_CONFIG 1001

static const struct option status_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"format", required_argument, NULL, ASR_OPT_FORMAT},
    {"check", no_argument, NULL, OPT_CHECK},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
  asr_store *st;
  asr_report *report;
  int64_t now;
  asr_result r;
} status_ctx;

static void status_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-agent status [--db PATH] [--format table|json|csv] [DEVICE...]\n"
          "       asr-agent status [--db PATH] --check [--config FILE]\n"
          "Shows every known device (or the named ones) with its supplies, its last good\n"
          "poll and its age, its state and its failed polls, then the upload state.\n"
          "--check prints one line for monitoring (silent and disconnected printers,\n"
          "upload health, held batches, the outbox bound, the disk, the database's\n"
          "integrity) and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; its limits come\n"
          "from the configuration file (default %s).\n",
          ASR_CONF_DEFAULT_PATH);
}

/* Keeps the detail of the newest identity conflict (events come oldest first). */
static int keep_conflict(const asr_event *e, void *ctx)
{
  if (strcmp(e->kind, ASR_MOVES_CONFLICT_KIND) == 0)
    asr_strlcpy_cut(ctx, e->detail, ASR_EVENTS_DETAIL_MAX);
  return 0;
}

/* "conflict": another responder claimed this device's identity lately (agent/moves.h). */
static asr_result add_conflict(status_ctx *x, int64_t id)
{
  char detail[ASR_EVENTS_DETAIL_MAX] = "";
  asr_result r =
      asr_events_foreach(x->st, id, x->now - ASR_MOVES_CONFLICT_SHOWN, keep_conflict, detail);

  if (r || !detail[0])
    return r;
  return asr_report_set_note(x->report, "conflict", detail);
}

static int add_device(const asr_store_device *d, void *ctx)
{
  status_ctx *x = ctx;
  char state[ASR_EVENTS_STATE_MAX];
  int64_t since = 0;

  x->r = asr_report_add_stored(x->report, d, x->now);
  if (!x->r)
    x->r = asr_events_get_state(x->st, d->id, state, sizeof(state), &since);
  if (!x->r)
    x->r = asr_report_set_state(x->report, state, since, x->now);
  if (!x->r)
    x->r = add_conflict(x, d->id);
  return x->r != ASR_OK;
}

typedef struct {
  const char *db;
  const char *config; /* --config, NULL = the default file */
  asr_format fmt;
  int check;
} status_args;

static int status_parse(int argc, char **argv, status_args *a)
{
  int c;

  while ((c = asr_cli_getopt(argc, argv, "h", status_options)) != -1) {
    if (c == ASR_OPT_HELP) {
      status_usage(stdout);
      return ASR_EXIT_OK;
    } else if (c == ASR_OPT_DB) {
      a->db = optarg;
    } else if (c == OPT_CHECK) {
      a->check = 1;
    } else if (c == OPT_CONFIG) {
      a->config = optarg;
    } else if (c == ASR_OPT_FORMAT && asr_format_parse(optarg, &a->fmt) == ASR_OK) {
      continue;
    } else {
      if (c == ASR_OPT_FORMAT)
        asr_cli_error("--format: '%s' is not table, json or csv", optarg);
      else
        asr_cli_help_hint("status");
      return ASR_EXIT_USAGE;
    }
  }
  return -1;
}

/* The upload state (enrolment, outbox) into the report. */
static asr_result add_uplink(asr_store *st, asr_report *report)
{
  asr_outbox_status s;
  asr_outbox_problems p;
  asr_report_uplink u;
  asr_result r = asr_outbox_get_status(st, &s);

  if (!r)
    r = asr_outbox_problems_since(st, asr_now() - ASR_HEALTH_PROBLEM_WINDOW, &p);
  if (r)
    return r;
  memset(&u, 0, sizeof(u));
  u.enrolled = s.enrolled;
  u.endpoint = s.endpoint;
  u.agent_id = s.agent_id;
  u.site = s.site;
  u.last_upload = s.last_upload;
  u.pending_batches = s.pending_batches;
  u.pending_readings = s.pending_readings;
  u.held_batches = s.held_batches;
  u.last_error = s.last_error;
  u.stopped = s.stopped;
  u.outbox_full = s.outbox_full;
  u.refused_readings = p.readings_refused;
  u.refused_events = p.events_refused;
  u.ids_reused = p.id_reused;
  u.last_problem.at = p.last.at;
  u.last_problem.t = p.last.t;
  u.last_problem.batch_id = p.last.batch_id;
  u.last_problem.what = p.last.what;
  u.last_problem.device = p.last.device;
  u.last_problem.error = p.last.error;
  return asr_report_set_uplink(report, &u);
}

/* Keeps the first problem of the configuration file. */
static void first_problem(const char *msg, void *ctx)
{
  char *out = ctx;

  if (!out[0])
    asr_strlcpy_cut(out, msg, 512);
}

/* The limits of status --check from the configuration file (asr-agent.conf(5)): the
 * defaults when the default file does not exist, or with the problem when it does not
 * load. */
static void check_limits(const char *config, asr_check_limits *l, char problem[512])
{
  asr_conf *c = malloc(sizeof(*c));
  asr_result r;

  asr_check_limits_init(l);
  problem[0] = '\0';
  if (!c) {
    asr_strlcpy_cut(problem, "out of memory", 512);
    l->config_problem = problem;
    return;
  }
  r = asr_conf_load(asr_conf_path(config), c, first_problem, problem);
  if (r == ASR_OK) {
    l->upload_warning_after = c->upload_warning_after;
    l->upload_critical_after = c->upload_critical_after;
    l->outbox_max_bytes = (int64_t)c->outbox_max_mb << 20;
  } else if (r == ASR_ERR_NOT_FOUND && !config) {
    problem[0] = '\0'; /* no file: the agent runs from the command line */
  }
  l->config_problem = problem[0] ? problem : NULL;
  free(c);
}

/* status --check: one line, the monitoring-plugin exit status. A damaged database or a
 * full disk is CRITICAL (readings cannot be stored); a database that cannot be opened
 * otherwise is UNKNOWN (the check then knows nothing). */
static int status_check(const char *db, const char *config)
{
  char err[1024] = "", line[2600], problem[512];
  asr_store *st = NULL;
  asr_check_limits limits;
  asr_check_status s;
  asr_result r = ASR_ERR_DB;

  if (asr_cli_db_usable(db, ASR_CLI_DB_EXISTING, err, sizeof(err)))
    r = asr_store_open(asr_cli_db_path(db), &st, err, sizeof(err));
  if (r) {
    s = r == ASR_ERR_DB_CORRUPT || r == ASR_ERR_DISK_FULL ? ASR_CHECK_CRITICAL : ASR_CHECK_UNKNOWN;
    printf("ASR-AGENT %s - %s\n", s == ASR_CHECK_CRITICAL ? "CRITICAL" : "UNKNOWN",
           err[0] ? err : asr_result_str(r));
    return fflush(stdout) == 0 ? (int)s : ASR_CHECK_UNKNOWN;
  }
  check_limits(config, &limits, problem);
  s = asr_health_check_limits(st, &limits, asr_now(), line, sizeof(line));
  asr_store_close(st);
  printf("%s\n", line);
  return fflush(stdout) == 0 ? (int)s : ASR_CHECK_UNKNOWN;
}

int asr_cmd_status(int argc, char **argv)
{
  status_args a = {NULL, NULL, asr_cli_isatty(1) ? ASR_FMT_TABLE : ASR_FMT_JSON, 0};
  asr_store *st = NULL;
  status_ctx x = {0};
  asr_result r;
  int status;

  status = status_parse(argc, argv, &a);
  if (status >= 0)
    return status;
  if (a.check)
    return status_check(a.db, a.config);
  /* the default database is created empty (a fresh install shows "no devices") */
  status = asr_cli_open_store(a.db, ASR_CLI_DB_EXISTING, &st);
  if (status >= 0)
    return status;
  x.st = st;
  x.report = asr_report_new();
  x.now = asr_now();
  status = ASR_EXIT_INTERNAL;
  if (!x.report)
    goto out;
  r = asr_store_foreach_device(st, (const char *const *)argv + optind, (size_t)(argc - optind),
                               add_device, &x);
  if (!r)
    r = add_uplink(st, x.report);
  if (r) {
    asr_cli_error("%s", asr_store_errmsg(st));
    status = asr_cli_exit_for(r);
    goto out;
  }
  if (x.r == ASR_OK && asr_report_print(x.report, stdout, a.fmt, asr_cli_isatty(1), NULL) == ASR_OK)
    status = ASR_EXIT_OK;
out:
  asr_report_free(x.report);
  asr_store_close(st);
  return status;
}
