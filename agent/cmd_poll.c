/* asr-agent poll: reads the supplies of known printers and records a reading each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/health.h"
#include "agent/secret.h"
#include "common/log.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "snmp/scan.h"
#include "store/store.h"

static const struct option poll_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"timeout", required_argument, NULL, ASR_OPT_TIMEOUT},
    {"retries", required_argument, NULL, ASR_OPT_RETRIES},
    {"concurrency", required_argument, NULL, ASR_OPT_CONCURRENCY},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {"quiet", no_argument, NULL, ASR_OPT_QUIET},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One device to poll: its id, what the store knows, and its credentials. */
typedef struct {
  int64_t id;
  char serial[128];
  asr_snmp_cred cred;
} poll_target;

typedef struct {
  asr_store *st;
  asr_device *dev;
  poll_target *targets;
  asr_scan_job *jobs;
  size_t n, cap;
  size_t ok, failed;
  size_t unsaved;  /* readings or failures not stored: the database failed */
  asr_result db_r; /* the first database error (locked, ...); later saves are skipped */
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
  asr_scan_job *j;

  if (d->superseded)
    return 0; /* another printer answers at its last address now */
  if (x->n == x->cap && grow_targets(x) != ASR_OK)
    return 1;
  t = &x->targets[x->n];
  j = &x->jobs[x->n];
  memset(j, 0, sizeof(*j));
  t->id = d->id;
  t->cred = d->cred;
  asr_strlcpy(t->serial, d->dev.serial, sizeof(t->serial));
  asr_strlcpy(j->address, d->dev.ip, sizeof(j->address));
  j->port = d->port ? d->port : 161;
  j->n_creds = 1;
  x->n++;
  return 0;
}

/* A store call failed: the first error is reported and kept (poll then exits 4, as for a
 * database it cannot open), and nothing more is written: each later write would wait out
 * the busy timeout of a database that another process holds. */
static void store_failed(poll_ctx *x, asr_result r, const char *address, const char *what)
{
  if (r == ASR_ERR_NOT_FOUND) { /* the device was deleted meanwhile: nothing to store */
    asr_log(ASR_LOG_WARN, "%s: %s not saved: %s", address, what, asr_store_errmsg(x->st));
    return;
  }
  x->unsaved++;
  if (x->db_r)
    return;
  x->db_r = r;
  asr_cli_error("%s: %s not saved: %s", address, what, asr_store_errmsg(x->st));
}

static void record_failure(poll_ctx *x, int64_t id, const char *address, asr_result code,
                           const char *reason)
{
  asr_result r;

  x->failed++;
  if (!x->quiet)
    asr_cli_error("%s: not polled: %s", address, reason);
  if (x->db_r) {
    x->unsaved++;
    return;
  }
  r = asr_store_record_failure(x->st, id, x->now, code, reason);
  if (r)
    store_failed(x, r, address, "failed poll");
  else
    asr_health_after_poll(x->st, id, false, code, reason, x->now, NULL); /* logs its errors */
}

/* The printer at the address is not the one we knew: record that, and save the new one. */
static int other_printer(poll_ctx *x, const poll_target *t, const asr_scan_result *res)
{
  char reason[160];

  if (!t->serial[0] || !x->dev->serial[0] || strcmp(t->serial, x->dev->serial) == 0)
    return 0;
  asr_fmt(reason, sizeof(reason), "a different printer (serial %.40s) answers at this address",
          x->dev->serial);
  record_failure(x, t->id, res->job->address, ASR_ERR_NOT_FOUND, reason);
  return 1;
}

static void on_result(const asr_scan_result *res, void *ctx)
{
  poll_ctx *x = ctx;
  const poll_target *t = res->job->user;
  int64_t id;
  asr_result r;

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
  r = x->db_r ? x->db_r : asr_store_save(x->st, x->dev, res->job->port, &t->cred, x->now, &id);
  if (r) {
    x->failed++;
    store_failed(x, r, res->job->address, "reading");
    goto out;
  }
  x->ok++;
  asr_health_after_poll(x->st, id, true, ASR_OK, "", x->now, NULL);
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

static int poll_run(poll_ctx *x, const asr_scan_opts *opts)
{
  asr_result r;

  for (size_t i = 0; i < x->n; i++) {
    x->jobs[i].creds = &x->targets[i].cred;
    x->jobs[i].user = &x->targets[i];
  }
  r = asr_scan_init();
  if (r == ASR_OK)
    r = asr_scan_run(x->jobs, x->n, opts, on_result, NULL, x);
  asr_scan_fini();
  if (r) {
    asr_cli_error("poll failed: %s", asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  if (x->all && !x->db_r) /* devices no longer polled (superseded) go silent too */
    asr_health_sweep(x->st, x->now, NULL, NULL);
  if (!x->quiet)
    fprintf(stderr, "asr-agent: polled %zu %s: %zu read, %zu failed\n", x->n,
            asr_plural((long long)x->n, "device", "devices"), x->ok, x->failed);
  if (x->db_r) {
    asr_cli_error("the database failed: %zu %s not saved", x->unsaved,
                  asr_plural((long long)x->unsaved, "result", "results"));
    return asr_cli_exit_for(x->db_r) == ASR_EXIT_INTERNAL ? ASR_EXIT_INTERNAL : ASR_EXIT_DB;
  }
  return x->failed ? ASR_EXIT_FAILURE : ASR_EXIT_OK;
}

static int poll_select(poll_ctx *x, char **sel, size_t n_sel)
{
  const char *const *s = (const char *const *)sel;

  if (asr_store_foreach_device(x->st, s, n_sel, collect, x) != ASR_OK) {
    asr_cli_error("%s", asr_store_errmsg(x->st));
    return ASR_EXIT_DB;
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
