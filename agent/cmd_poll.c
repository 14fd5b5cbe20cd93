/* asr-agent poll: reads the supplies of known printers and records a reading each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/health.h"
#include "agent/moves.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "snmp/scan.h"
#include "store/save.h"
#include "store/store.h"

static const struct option poll_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"timeout", required_argument, NULL, ASR_OPT_TIMEOUT},
    {"retries", required_argument, NULL, ASR_OPT_RETRIES},
    {"concurrency", required_argument, NULL, ASR_OPT_CONCURRENCY},
    {"host-deadline", required_argument, NULL, ASR_OPT_HOST_DEADLINE},
    {"deadline", required_argument, NULL, ASR_OPT_DEADLINE},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {"quiet", no_argument, NULL, ASR_OPT_QUIET},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One device to poll: its id, what the store knows, and its credentials. */
typedef struct {
  int64_t id;
  char serial[128];
  char address[64];
  uint16_t port;
  int64_t last_try; /* its last good or failed poll: the least recent go first */
  asr_snmp_cred cred;
} poll_target;

typedef struct {
  asr_store *st;
  asr_device *dev;
  poll_target *targets;
  asr_scan_job *jobs;
  asr_moves *moves; /* a printer answering with the identity of another one waits */
  size_t n, cap;
  size_t ok, failed, stopped, conflicts;
  unsigned deadline_s; /* the poll's deadline, for the reason of a device it cut */
  asr_result fatal;    /* the store cannot take more (disk full, damaged): saving stops */
  int64_t now;
  int quiet;
  int all; /* every device was selected */
} poll_ctx;

static void poll_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent poll [--db PATH] [--timeout MS] [--retries N]\n"
               "                      [--concurrency N] [-v|-q] [DEVICE...]\n"
               "Polls every known device, or the named ones (serial number or address), with\n"
               "the credentials each answered to, and records a reading per device.\n");
}

static asr_result grow_targets(poll_ctx *x)
{
  size_t cap = x->cap ? x->cap * 2 : 64;
  poll_target *t;
  asr_scan_job *j;

  t = realloc(x->targets, cap * sizeof(*t));
  if (!t)
    return ASR_ERR_NOMEM;
  x->targets = t;
  j = realloc(x->jobs, cap * sizeof(*j));
  if (!j)
    return ASR_ERR_NOMEM;
  x->jobs = j;
  x->cap = cap;
  return ASR_OK;
}

static int collect(const asr_store_device *d, void *ctx)
{
  poll_ctx *x = ctx;
  poll_target *t;

  if (d->superseded)
    return 0; /* another printer answers at its last address now */
  if (x->n == x->cap && grow_targets(x) != ASR_OK)
    return 1;
  t = &x->targets[x->n];
  t->id = d->id;
  t->cred = d->cred;
  asr_strlcpy_cut(t->serial, d->dev.serial, sizeof(t->serial));
  asr_strlcpy_cut(t->address, d->dev.ip, sizeof(t->address));
  t->port = d->port ? d->port : 161;
  t->last_try = d->last_good_poll > d->last_failure_at ? d->last_good_poll : d->last_failure_at;
  x->n++;
  return 0;
}

/* Least recently tried first, so that a poll cut by its deadline does not starve the same
 * devices every time; then by address (the store's order) for ties. */
static int by_last_try(const void *a, const void *b)
{
  const poll_target *x = a, *y = b;

  if (x->last_try != y->last_try)
    return x->last_try < y->last_try ? -1 : 1;
  return x->id < y->id ? -1 : (x->id > y->id);
}

/* A store error (full disk, damaged or locked file): said once, kept for the exit status,
 * and the poll stores no more: each later write would wait out the busy timeout of a
 * database another process holds. A device deleted meanwhile is not such an error. */
static bool store_stopped(poll_ctx *x, asr_result r)
{
  if (r == ASR_OK || r == ASR_ERR_NOT_FOUND)
    return false;
  if (!x->fatal)
    asr_cli_error("%s", asr_store_errmsg(x->st));
  x->fatal = r;
  return true;
}

static void record_failure(poll_ctx *x, int64_t id, const char *address, asr_result code,
                           const char *reason)
{
  asr_result r;

  x->failed++;
  if (!x->quiet)
    asr_cli_error("%s: not polled: %s", address, reason);
  if (x->fatal)
    return;
  r = asr_store_record_failure(x->st, id, x->now, code, reason);
  if (store_stopped(x, r))
    return;
  if (r != ASR_OK)
    asr_log(ASR_LOG_ERR, "%s: failure not recorded: %s", address, asr_store_errmsg(x->st));
  else
    asr_health_after_poll(x->st, id, false, code, reason, x->now, NULL); /* logs its errors */
}

/* The printer at the address is not the one we knew: record that, and save the new one. */
static int other_printer(poll_ctx *x, const poll_target *t, const asr_scan_result *res)
{
  char reason[160];

  if (!t->serial[0] || !x->dev->serial[0] || strcmp(t->serial, x->dev->serial) == 0)
    return 0;
  asr_fmt_cut(reason, sizeof(reason), "a different printer (serial %.40s) answers at this address",
              x->dev->serial);
  record_failure(x, t->id, res->job->address, ASR_ERR_NOT_FOUND, reason);
  return 1;
}

/* Saves a reading (asr_moves_save_cb). */
static asr_result save_reading(const asr_device *dev, uint16_t port, const asr_snmp_cred *cred,
                               int64_t *id, void *ctx)
{
  poll_ctx *x = ctx;
  asr_result r = x->fatal ? x->fatal : asr_store_save(x->st, dev, port, cred, x->now, id);

  if (r) {
    x->failed++;
    if (!x->fatal && !store_stopped(x, r))
      asr_cli_error("%s: reading not saved: %s", dev->ip, asr_store_errmsg(x->st));
    return r;
  }
  x->ok++;
  asr_health_after_poll(x->st, *id, true, ASR_OK, "", x->now, NULL);
  return ASR_OK;
}

/* The printer at an address answers with the identity of one that answers elsewhere too,
 * or its move could not be decided (asr_moves_held_cb): nothing is saved for it. */
static void on_held(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                    const char *detail, void *ctx)
{
  poll_ctx *x = ctx;

  (void)port;
  (void)id;
  x->conflicts += conflict;
  if (!x->quiet)
    asr_cli_error("%s: %s%s: not saved", dev->ip, conflict ? "identity conflict: " : "", detail);
}

/* A device the poll did not reach: a stop leaves no trace (the next poll takes it), the
 * poll's deadline is a failed poll with its reason (it shows in status, and a device the
 * deadline always cuts goes silent instead of being forgotten). */
static void not_reached(poll_ctx *x, const poll_target *t, const asr_scan_result *res)
{
  char reason[160];

  if (res->end == ASR_SCAN_END_STOP) {
    x->stopped++;
    return;
  }
  asr_fmt_cut(reason, sizeof(reason), "poll deadline (%u s) reached %s", x->deadline_s,
              res->requests ? "while it answered" : "before its turn");
  record_failure(x, t->id, res->job->address, ASR_ERR_TIMEOUT, reason);
}

static void on_result(const asr_scan_result *res, void *ctx)
{
  poll_ctx *x = ctx;
  const poll_target *t = res->job->user;
  asr_result r;

  if (res->end != ASR_SCAN_END_HOST) {
    not_reached(x, t, res);
    goto out;
  }
  if (res->status != ASR_OK) {
    record_failure(x, t->id, res->job->address, res->status,
                   res->reason[0] ? res->reason : asr_result_str(res->status));
    goto out;
  }
  r = asr_printer_build(res->vbs, res->job->address, x->dev);
  if (r == ASR_ERR_NOT_PRINTER) {
    record_failure(x, t->id, res->job->address, r, "the host answers but is not a printer now");
    goto out;
  }
  other_printer(x, t, res);
  r = asr_moves_offer(x->moves, x->dev, res->job->port, &t->cred);
  if (r == ASR_ERR_LIMIT || r == ASR_ERR_NOMEM)
    x->failed++;
out:
  asr_vbset_free(res->vbs);
}

static int report_unmatched_status;

static void unmatched(const char *sel, void *ctx)
{
  (void)ctx;
  asr_cli_error("%s: no such device (give a serial number or an address from 'status')", sel);
  report_unmatched_status = 1;
}

static int poll_parse(int argc, char **argv, asr_cli_snmp *s, const char **db, int *quiet)
{
  int c, verbose = 0;

  optind = 1;
  while ((c = asr_cli_getopt(argc, argv, "hvq", poll_options)) != -1) {
    if (c == ASR_OPT_HELP) {
      poll_usage(stdout);
      return ASR_EXIT_OK;
    } else if (c == ASR_OPT_DB) {
      *db = optarg;
    } else if (c == 'v' || c == ASR_OPT_VERBOSE) {
      verbose++;
    } else if (c == 'q' || c == ASR_OPT_QUIET) {
      (*quiet)++;
    } else if (c == '?' || asr_cli_snmp_option(s, c, optarg) <= 0) {
      if (c == '?')
        asr_cli_help_hint("poll");
      return ASR_EXIT_USAGE;
    }
  }
  asr_cli_log_level(verbose, *quiet);
  return -1;
}

/* The scan jobs, least recently tried device first. */
static void make_jobs(poll_ctx *x)
{
  qsort(x->targets, x->n, sizeof(*x->targets), by_last_try);
  for (size_t i = 0; i < x->n; i++) {
    asr_scan_job *j = &x->jobs[i];

    memset(j, 0, sizeof(*j));
    asr_strlcpy_cut(j->address, x->targets[i].address, sizeof(j->address));
    j->port = x->targets[i].port;
    j->creds = &x->targets[i].cred;
    j->n_creds = 1;
    j->user = &x->targets[i];
  }
}

static void poll_summary(const poll_ctx *x)
{
  char conflicts[64] = "", stopped[64] = "";

  if (x->quiet)
    return;
  if (x->conflicts)
    asr_fmt_cut(conflicts, sizeof(conflicts), ", %zu identity conflicts", x->conflicts);
  if (x->stopped)
    asr_fmt_cut(stopped, sizeof(stopped), ", %zu not polled (stopped)", x->stopped);
  asr_cli_note("polled %zu devices: %zu read, %zu failed%s%s", x->n, x->ok, x->failed, conflicts,
               stopped);
}

static int poll_run(poll_ctx *x, const asr_scan_opts *opts)
{
  int64_t deadline = opts->deadline_ms ? asr_monotonic_ms() + opts->deadline_ms : 0;
  asr_result r;

  make_jobs(x);
  x->deadline_s = opts->deadline_ms / 1000;
  x->moves = asr_moves_new(x->st, x->now, save_reading, on_held, x);
  r = x->moves ? asr_scan_init() : ASR_ERR_NOMEM;
  if (r == ASR_OK)
    r = asr_scan_run(x->jobs, x->n, opts, on_result, NULL, x);
  if (r == ASR_OK)
    r = asr_moves_settle(x->moves, opts, deadline);
  asr_scan_fini();
  asr_moves_free(x->moves);
  x->moves = NULL;
  if (r) {
    asr_cli_error("poll failed: %s", asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  if (x->all && !x->stopped && !x->fatal) /* devices no longer polled still go silent */
    asr_health_sweep(x->st, x->now, NULL, NULL);
  poll_summary(x);
  if (x->fatal)
    return asr_cli_exit_for(x->fatal);
  return x->failed || x->stopped ? ASR_EXIT_FAILURE : ASR_EXIT_OK;
}

static int poll_select(poll_ctx *x, char **sel, size_t n_sel)
{
  const char *const *s = (const char *const *)sel;

  asr_result r = asr_store_foreach_device(x->st, s, n_sel, collect, x);

  if (r != ASR_OK) {
    asr_cli_error("%s", asr_store_errmsg(x->st));
    return asr_cli_exit_for(r);
  }
  report_unmatched_status = 0;
  if (n_sel && asr_store_unmatched(x->st, s, n_sel, unmatched, NULL) != ASR_OK)
    return ASR_EXIT_DB;
  if (report_unmatched_status)
    return ASR_EXIT_USAGE;
  x->all = n_sel == 0;
  if (x->n == 0) {
    asr_cli_error("no devices to poll: run 'asr-agent discover' first");
    return ASR_EXIT_FAILURE;
  }
  return -1;
}

int asr_cmd_poll(int argc, char **argv)
{
  asr_cli_snmp s;
  poll_ctx x;
  const char *db = NULL;
  int status;

  memset(&x, 0, sizeof(x));
  asr_cli_snmp_init(&s);
  status = poll_parse(argc, argv, &s, &db, &x.quiet);
  if (status >= 0)
    goto out;
  status = asr_cli_open_store(db, ASR_CLI_DB_EXISTING, &x.st);
  if (status >= 0)
    goto out;
  status = poll_select(&x, argv + optind, (size_t)(argc - optind));
  if (status >= 0)
    goto out;
  x.now = asr_now();
  x.dev = malloc(sizeof(*x.dev));
  status = x.dev ? poll_run(&x, &s.scan) : ASR_EXIT_INTERNAL;
out:
  if (x.targets)
    asr_secret_wipe(x.targets, x.cap * sizeof(*x.targets));
  free(x.dev);
  free(x.targets);
  free(x.jobs);
  asr_store_close(x.st);
  return status;
}
