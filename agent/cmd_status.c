/* asr-agent status: every known device with its supplies and poll history. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/health.h"
#include "agent/moves.h"
#include "agent/output.h"
#include "common/util.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/store.h"

#define OPT_CHECK 1000 /* status only: above the shared ASR_OPT_* codes */

static const struct option status_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"format", required_argument, NULL, ASR_OPT_FORMAT},
    {"check", no_argument, NULL, OPT_CHECK},
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
  fprintf(out, "usage: asr-agent status [--db PATH] [--format table|json] [DEVICE...]\n"
               "       asr-agent status [--db PATH] --check\n"
               "Shows every known device (or the named ones) with its supplies, its last good\n"
               "poll and its age, its state and its failed polls, then the upload state.\n"
               "--check prints one line for monitoring (silent and disconnected printers,\n"
               "upload health) and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n");
}

/* Keeps the detail of the newest identity conflict (events come oldest first). */
static int keep_conflict(const asr_event *e, void *ctx)
{
  if (strcmp(e->kind, ASR_MOVES_CONFLICT_KIND) == 0)
    asr_strlcpy(ctx, e->detail, ASR_EVENTS_DETAIL_MAX);
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

static int status_parse(int argc, char **argv, const char **db, asr_format *fmt, int *check)
{
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", status_options, NULL)) != -1) {
    if (c == ASR_OPT_HELP) {
      status_usage(stdout);
      return ASR_EXIT_OK;
    } else if (c == ASR_OPT_DB) {
      *db = optarg;
    } else if (c == OPT_CHECK) {
      *check = 1;
    } else if (c == ASR_OPT_FORMAT && asr_format_parse(optarg, fmt) == ASR_OK &&
               *fmt != ASR_FMT_CSV) {
      continue;
    } else {
      if (c == ASR_OPT_FORMAT)
        asr_cli_error("--format: '%s' is not table or json", optarg);
      else
        status_usage(stderr);
      return ASR_EXIT_USAGE;
    }
  }
  return -1;
}

/* The upload state (enrolment, outbox) into the report. */
static asr_result add_uplink(asr_store *st, asr_report *report)
{
  asr_outbox_status s;
  asr_report_uplink u;
  asr_result r = asr_outbox_get_status(st, &s);

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
  return asr_report_set_uplink(report, &u);
}

/* A new database is created empty (a fresh install shows "no devices"). */
static int open_store(const char *path, asr_store **st)
{
  char err[512] = "";
  asr_result r;

  r = asr_store_open(path, st, err, sizeof(err));
  if (r) {
    asr_cli_error("%s", err[0] ? err : asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  return -1;
}

/* status --check: one line, the monitoring-plugin exit status (3 when the database cannot
 * be opened: the check then knows nothing). */
static int status_check(const char *path)
{
  char err[512] = "", line[1024];
  asr_store *st = NULL;
  asr_check_status s;
  asr_result r = asr_store_open(path, &st, err, sizeof(err));

  if (r) {
    printf("ASR-AGENT UNKNOWN - %s\n", err[0] ? err : asr_result_str(r));
    return ASR_CHECK_UNKNOWN;
  }
  s = asr_health_check(st, asr_now(), line, sizeof(line));
  asr_store_close(st);
  printf("%s\n", line);
  return fflush(stdout) == 0 ? (int)s : ASR_CHECK_UNKNOWN;
}

int asr_cmd_status(int argc, char **argv)
{
  asr_format fmt = asr_cli_isatty(1) ? ASR_FMT_TABLE : ASR_FMT_JSON;
  const char *db = NULL;
  asr_store *st = NULL;
  status_ctx x = {0};
  int status, check = 0;

  status = status_parse(argc, argv, &db, &fmt, &check);
  if (status >= 0)
    return status;
  if (check)
    return status_check(asr_cli_db_path(db));
  status = open_store(asr_cli_db_path(db), &st);
  if (status >= 0)
    return status;
  x.st = st;
  x.report = asr_report_new();
  x.now = asr_now();
  status = ASR_EXIT_INTERNAL;
  if (!x.report)
    goto out;
  if (asr_store_foreach_device(st, (const char *const *)argv + optind, (size_t)(argc - optind),
                               add_device, &x) != ASR_OK) {
    asr_cli_error("%s", asr_store_errmsg(st));
    status = ASR_EXIT_DB;
    goto out;
  }
  if (add_uplink(st, x.report) != ASR_OK) {
    asr_cli_error("%s", asr_store_errmsg(st));
    status = ASR_EXIT_DB;
    goto out;
  }
  if (x.r == ASR_OK && asr_report_print(x.report, stdout, fmt, asr_cli_isatty(1), NULL) == ASR_OK)
    status = ASR_EXIT_OK;
out:
  asr_report_free(x.report);
  asr_store_close(st);
  return status;
}
