/* asr-agent upload: builds batches of the readings not sent yet and sends every pending
 * batch to the central service now: the options and the messages; the work is asr_upload
 * (agent/ops.h; uplink/uplink.h has the policy). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/ops.h"
#include "common/util.h"
#include "store/store.h"

#define EXIT_STOPPED 6 /* the central refused our credentials (401/403): uploads stopped */

enum {
  OPT_MAX_READINGS = 420,
  OPT_MAX_WAIT,
  OPT_OUTBOX_MAX_MB,
  OPT_RETRY_AUTH,
  OPT_RETRY_HELD,
  OPT_CONNECT_TIMEOUT,
  OPT_NO_BUILD,
};

static const struct option upload_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"max-readings", required_argument, NULL, OPT_MAX_READINGS},
    {"max-wait", required_argument, NULL, OPT_MAX_WAIT},
    {"outbox-max-mb", required_argument, NULL, OPT_OUTBOX_MAX_MB},
    {"retry-auth", no_argument, NULL, OPT_RETRY_AUTH},
    {"retry-held", no_argument, NULL, OPT_RETRY_HELD},
    {"no-build", no_argument, NULL, OPT_NO_BUILD},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"timeout", required_argument, NULL, ASR_OPT_TIMEOUT},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {"quiet", no_argument, NULL, ASR_OPT_QUIET},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
  asr_upload_opts o;
  const char *db;
  unsigned connect_s, timeout_s;
  int verbose, quiet;
} upload_args;

static void upload_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent upload [--db PATH] [--max-readings N] [--max-wait SECONDS]\n"
               "         [--outbox-max-mb N] [--retry-auth] [--retry-held] [--no-build]\n"
               "         [--connect-timeout S] [--timeout S] [-v|-q]\n"
               "Batches the readings not sent yet and sends every pending batch to the\n"
               "central service; exit 0 when everything is delivered (asr-agent(8)).\n");
}

static int take_number(const char *name, const char *arg, unsigned min, unsigned max, unsigned *out)
{
  if (asr_parse_uint(arg, min, max, out) != ASR_OK) {
    asr_cli_error("--%s: '%s' is not a number from %u to %u", name, arg, min, max);
    return -1;
  }
  return 0;
}

static int take_option(upload_args *a, int c, const char *arg)
{
  unsigned v = 0;

  switch (c) {
  case ASR_OPT_DB:
    a->db = arg;
    return 0;
  case OPT_MAX_READINGS:
    if (take_number("max-readings", arg, 2, 1000000, &v))
      return -1;
    a->o.uplink.max_readings = v;
    return 0;
  case OPT_MAX_WAIT:
    return take_number("max-wait", arg, 0, 86400, &a->o.uplink.max_wait_s);
  case OPT_OUTBOX_MAX_MB:
    if (take_number("outbox-max-mb", arg, 1, 1000000, &v))
      return -1;
    a->o.uplink.outbox_max_bytes = (int64_t)v << 20;
    return 0;
  case OPT_CONNECT_TIMEOUT:
    return take_number("connect-timeout", arg, 1, 3600, &a->connect_s);
  case ASR_OPT_TIMEOUT:
    return take_number("timeout", arg, 1, 3600, &a->timeout_s);
  case OPT_RETRY_AUTH:
    a->o.uplink.retry_auth = true;
    return 0;
  case OPT_RETRY_HELD:
    a->o.uplink.retry_held = true;
    return 0;
  case OPT_NO_BUILD:
    a->o.uplink.no_build = true;
    return 0;
  default:
    return -1;
  }
}

static int upload_parse(int argc, char **argv, upload_args *a)
{
  int c;

  while ((c = asr_cli_getopt(argc, argv, "hvq", upload_options)) != -1) {
    if (c == ASR_OPT_HELP) {
      upload_usage(stdout);
      return ASR_EXIT_OK;
    } else if (c == 'v' || c == ASR_OPT_VERBOSE) {
      a->verbose++;
    } else if (c == 'q' || c == ASR_OPT_QUIET) {
      a->quiet++;
    } else if (c == '?' || take_option(a, c, optarg) != 0) {
      if (c == '?')
        asr_cli_help_hint("upload");
      return ASR_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    asr_cli_error("upload: unexpected argument '%s'", argv[optind]);
    return ASR_EXIT_USAGE;
  }
  asr_cli_log_level(a->verbose, a->quiet);
  return -1;
}

int asr_cli_upload_status(asr_result r, const asr_upload_report *rep)
{
  if (r == ASR_OK)
    return ASR_EXIT_OK;
  if (!rep->enrolled)
    return ASR_EXIT_USAGE;
  if (rep->ran && rep->up.stopped)
    return EXIT_STOPPED;
  if (rep->ran && r == ASR_ERR_LIMIT)
    return ASR_EXIT_FAILURE; /* batches held aside */
  if (rep->in_transit)
    return ASR_EXIT_NETWORK;
  return asr_cli_exit_for(r);
}

static void report(const upload_args *a, asr_result r, const asr_upload_report *rep)
{
  const asr_uplink_report *u = &rep->up;
  char line[320];

  if (r)
    asr_cli_error("upload: %s", u->error[0] ? u->error : asr_result_str(r));
  if (u->outbox_full)
    asr_cli_error("upload: the outbox is over its bound with undelivered batches (all kept)");
  if (u->readings_refused > 0 || u->events_refused > 0)
    fprintf(stderr,
            "asr-agent: warning: upload: the central refused %lld readings and %lld events"
            " (everything else is stored; `asr-agent status` says which and why)\n",
            (long long)u->readings_refused, (long long)u->events_refused);
  if (u->ids_reused > 0)
    fprintf(stderr,
            "asr-agent: warning: upload: the central had committed %zu of these batch ids with"
            " another content (stored as well): was this database restored from a backup or"
            " copied to another machine?\n",
            u->ids_reused);
  if (!a->quiet && asr_upload_summary(rep, line, sizeof(line)) == ASR_OK)
    asr_cli_note("%s", line);
}

/* The run (asr_upload, agent/ops.h) and its messages. */
static int run(asr_store *st, upload_args *a)
{
  asr_upload_report rep;
  asr_result r;

  a->o.st = st;
  r = asr_upload(&a->o, &rep);
  if (!rep.enrolled)
    asr_cli_error("not enrolled: run 'asr-agent enroll --endpoint URL' first");
  else if (!rep.ran)
    asr_cli_error("%s", rep.error[0] ? rep.error : asr_result_str(r));
  else
    report(a, r, &rep);
  return asr_cli_upload_status(r, &rep);
}

int asr_cmd_upload(int argc, char **argv)
{
  upload_args a;
  asr_store *st = NULL;
  int status;

  memset(&a, 0, sizeof(a));
  asr_upload_opts_init(&a.o);
  status = upload_parse(argc, argv, &a);
  if (status >= 0)
    return status;
  a.o.connect_timeout_ms = a.connect_s * 1000;
  a.o.timeout_ms = a.timeout_s * 1000;
  status = asr_cli_open_store(a.db, ASR_CLI_DB_EXISTING, &st);
  if (status >= 0)
    return status;
  status = run(st, &a);
  asr_store_close(st);
  return status;
}
