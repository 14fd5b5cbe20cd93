/* asr-agent poll: reads the supplies of known printers and records a reading each.
 *
 * The command line (the devices, the engine options) and the messages; the work is
 * asr_poll (agent/ops.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/ops.h"
#include "common/util.h"
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

static void poll_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent poll [--db PATH] [--timeout MS] [--retries N]\n"
               "                      [--concurrency N] [-v|-q] [DEVICE...]\n"
               "Polls every known device, or the named ones (serial number or address), with\n"
               "the credentials each answered to, and records a reading per device.\n");
}

static int poll_parse(int argc, char **argv, asr_cli_snmp *s, const char **db, int *quiet)
{
  int c, verbose = 0;

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

/* What happened to a device, as it happens (asr_poll_event_cb); -q keeps only the
 * store's errors. */
static void on_event(const asr_poll_event *e, void *ctx)
{
  const int *quiet = ctx;

  switch (e->kind) {
  case ASR_POLL_UNMATCHED:
    asr_cli_error("%s: no such device (give a serial number or an address from 'status')",
                  e->address);
    break;
  case ASR_POLL_STORE_STOPPED:
    asr_cli_error("%s", e->detail);
    break;
  case ASR_POLL_NOT_SAVED:
    asr_cli_error("%s: reading not saved: %s", e->address, e->detail);
    break;
  case ASR_POLL_FAILED:
    if (!*quiet)
      asr_cli_error("%s: not polled: %s", e->address, e->detail);
    break;
  case ASR_POLL_HELD:
    if (!*quiet)
      asr_cli_error("%s: %s%s: not saved", e->address, e->conflict ? "identity conflict: " : "",
                    e->detail);
    break;
  }
}

int asr_cli_poll_status(asr_result r, const asr_poll_report *rep)
{
  if (r == ASR_ERR_NOT_FOUND && !rep->ran)
    return rep->unmatched ? ASR_EXIT_USAGE : ASR_EXIT_FAILURE;
  if (r)
    return asr_cli_exit_for(r);
  if (rep->store_error)
    return asr_cli_exit_for(rep->store_error);
  return rep->failed || rep->stopped ? ASR_EXIT_FAILURE : ASR_EXIT_OK;
}

/* The messages of a poll that did not run, or failed. */
static void poll_failed(asr_store *st, asr_result r, const asr_poll_report *rep)
{
  if (r == ASR_ERR_NOT_FOUND && !rep->ran && !rep->unmatched)
    asr_cli_error("no devices to poll: run 'asr-agent discover' first");
  else if (r != ASR_ERR_NOT_FOUND && !rep->ran)
    asr_cli_error("%s", asr_store_errmsg(st));
  else if (rep->ran)
    asr_cli_error("poll failed: %s", asr_result_str(r));
}

static int poll_devices(asr_store *st, const asr_cli_snmp *s, char **sel, size_t n_sel, int quiet)
{
  asr_poll_opts o;
  asr_poll_report rep;
  char line[160];
  asr_result r;

  asr_poll_opts_init(&o);
  o.st = st;
  o.select = (const char *const *)sel;
  o.n_select = n_sel;
  o.scan = s->scan;
  o.on_event = on_event;
  o.ctx = &quiet;
  r = asr_poll(&o, &rep);
  if (r) {
    poll_failed(st, r, &rep);
    return asr_cli_poll_status(r, &rep);
  }
  if (!quiet && asr_poll_summary(&rep, line, sizeof(line)) == ASR_OK)
    asr_cli_note("%s", line);
  return asr_cli_poll_status(r, &rep);
}

int asr_cmd_poll(int argc, char **argv)
{
  asr_cli_snmp s;
  asr_store *st = NULL;
  const char *db = NULL;
  int status, quiet = 0;

  asr_cli_snmp_init(&s);
  status = poll_parse(argc, argv, &s, &db, &quiet);
  if (status < 0)
    status = asr_cli_open_store(db, ASR_CLI_DB_EXISTING, &st);
  if (status < 0)
    status = poll_devices(st, &s, argv + optind, (size_t)(argc - optind), quiet);
  asr_store_close(st);
  return status;
}
