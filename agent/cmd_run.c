/* cmd_run.c: `asr-agent run`, the daemon in the foreground (systemd and the Windows service
 * manager supervise it). Parses the options, chooses where logs go (journal, syslog, the
 * Windows service's logs or stderr), loads the configuration (refusing to start on an
 * invalid file, exit 3, which the unit does not restart) and hands over to agent/daemon.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/remoteconf.h"
#include "conf/conf.h"
#include "agent/confwrite.h"
#include "agent/daemon.h"
#include "agent/svc.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

enum { OPT_CONFIG = 1000, OPT_TEST_CLOCK, OPT_TEST_UNTIL, OPT_TEST_SEED, OPT_SYSLOG, OPT_SERVICE };

typedef struct {
  const char *config;
  const char *clock;
  const char *until;
  const char *seed;
  bool use_syslog;
  bool service; /* started by the Windows service manager (run --service) */
} run_args;

/* What run_body needs: the options and the daemon. */
typedef struct {
  run_args a;
  asr_daemon *d;
} run_ctx;

static void run_usage(FILE *out)
{
  fprintf(
      out,
      "usage: asr-agent run [--config FILE] [--syslog] [--service] [--test-clock START[:FACTOR]]\n"
      "  runs discovery, polls and the daily upload on the schedule of the configuration\n"
      "  file (default %s) until SIGTERM; SIGHUP reloads the file.\n"
      "  --syslog                log to syslog (default: stderr; journald prefixes under\n"
      "                          systemd)\n"
      "  --service               Windows: run under the Service Control Manager (the\n"
      "                          command line `asr-agent service install` registers)\n"
      "  --test-clock SPEC       tests only: simulated clock from START (epoch seconds or\n"
      "                          YYYY-MM-DDTHH:MM:SSZ), FACTOR times real time; the daemon\n"
      "                          jumps it to each timer (also $ASR_TEST_CLOCK)\n"
      "  --test-until TIME       tests only: stop when the clock reaches TIME\n"
      "  --test-seed N           tests only: seed of the upload minute\n",
      ASR_CONF_DEFAULT_PATH);
}

static int run_parse(int argc, char **argv, run_args *a)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, OPT_CONFIG},
      {"test-clock", required_argument, NULL, OPT_TEST_CLOCK},
      {"test-until", required_argument, NULL, OPT_TEST_UNTIL},
      {"test-seed", required_argument, NULL, OPT_TEST_SEED},
      {"syslog", no_argument, NULL, OPT_SYSLOG},
      {"service", no_argument, NULL, OPT_SERVICE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = asr_cli_getopt(argc, argv, "h", opts)) != -1) {
    if (c == OPT_CONFIG) {
      a->config = optarg;
    } else if (c == OPT_TEST_CLOCK) {
      a->clock = optarg;
    } else if (c == OPT_TEST_UNTIL) {
      a->until = optarg;
    } else if (c == OPT_TEST_SEED) {
      a->seed = optarg;
    } else if (c == OPT_SYSLOG) {
      a->use_syslog = true;
    } else if (c == OPT_SERVICE) {
      a->service = true;
    } else if (c == 'h') {
      run_usage(stdout);
      return ASR_EXIT_OK;
    } else {
      asr_cli_help_hint("run");
      return ASR_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    asr_cli_error("run: unexpected argument '%s'", argv[optind]);
    return ASR_EXIT_USAGE;
  }
  return -1;
}

/* The simulated clock and the test stop time, when asked for. */
static int run_clock(const run_args *a, asr_daemon *d)
{
  int64_t start;
  unsigned factor;

  if (a->clock) {
    if (asr_clock_parse(a->clock, &start, &factor) != ASR_OK) {
      asr_cli_error("--test-clock: '%s' is not START[:FACTOR]", a->clock);
      return ASR_EXIT_USAGE;
    }
    asr_clock_simulate(start, factor);
  } else if (asr_clock_from_env() != ASR_OK) {
    asr_cli_error("ASR_TEST_CLOCK: not START[:FACTOR]");
    return ASR_EXIT_USAGE;
  }
  if (a->until && asr_date_parse_iso(a->until, &d->until) != ASR_OK &&
      asr_parse_i64(a->until, 1, INT64_MAX, &d->until) != ASR_OK) {
    asr_cli_error("--test-until: '%s' is not a time", a->until);
    return ASR_EXIT_USAGE;
  }
  return -1;
}

/* Configuration errors ("file:line: problem"): on stderr for a person, at error level in
 * the service's log (journal, syslog, Event Log: a service has no console). */
static void print_error(const char *msg, void *ctx)
{
  (void)ctx;
  if (asr_log_has_sink())
    asr_log(ASR_LOG_ERR, "%s", msg);
  else
    fprintf(stderr, "%s\n", msg);
}

/* Loads the configuration; an invalid file stops the start (exit 3). */
static int run_config(const run_args *a, asr_daemon *d)
{
  const char *path = asr_conf_path(a->config);

  if (asr_strlcpy(d->conf_path, path, sizeof(d->conf_path)) != ASR_OK) {
    asr_cli_error("--config: path too long");
    return ASR_EXIT_USAGE;
  }
  if (asr_remoteconf_load(path, &d->conf, print_error, NULL) != ASR_OK ||
      asr_conf_check_secrets(&d->conf, print_error, NULL) != ASR_OK) {
    asr_cli_error("run: %s is not valid: not starting", path);
    return ASR_EXIT_INPUT; /* the unit's RestartPreventExitStatus: no restart loop */
  }
  return -1;
}

/* A file named with --config must exist: only the default one is created (by the
 * installer's import below); a typo must not start a daemon with nothing to do. */
static int run_config_exists(const run_args *a)
{
  char abs[4096], msg[4200];

  if (!a->config || asr_platform_realpath(a->config, abs, sizeof(abs)))
    return -1;
  asr_fmt_cut(msg, sizeof(msg),
              "run: %s: no such configuration file (a --config FILE must exist): not "
              "starting",
              a->config);
  if (a->service)
    asr_log(ASR_LOG_ERR, "%s", msg);
  asr_cli_error("%s", msg);
  return ASR_EXIT_INPUT;
}

/* Settings the installer left for us (Windows: the MSI's registry values) go into the
 * configuration file first; a bad one is logged and the file kept as it was. */
static void run_import(const run_args *a)
{
  const char *path = asr_conf_path(a->config);
  asr_result r = asr_confwrite_import(path, false, print_error, NULL);

  if (r == ASR_OK)
    asr_log(ASR_LOG_INFO, "%s: the installer's settings written", path);
  else if (r != ASR_ERR_NOT_FOUND)
    asr_log(ASR_LOG_ERR, "%s: the installer's settings not written (%s)", path, asr_result_str(r));
}

static uint64_t run_seed(const run_args *a)
{
  int64_t v;

  if (a->seed && asr_parse_i64(a->seed, 0, INT64_MAX, &v) == ASR_OK)
    return (uint64_t)v;
  /* a different minute for each agent: the time of day of its start is random enough
   * across a fleet, mixed with the monotonic clock */
  return (uint64_t)asr_monotonic_ms() * UINT64_C(6364136223846793005) ^ (uint64_t)asr_clock_now();
}

/* Everything after the command line: the daemon's whole life (on Windows, as a service,
 * on the thread the service manager gives it). */
static int run_body(void *p)
{
  run_ctx *x = p;
  asr_daemon *d = x->d;
  int status;

  /* the log first: under systemd a bad configuration must reach the journal at error
   * priority, with its file:line reason, as everything the daemon says afterwards */
  asr_svc_log_init(x->a.use_syslog);
  status = run_clock(&x->a, d);
  if (status < 0)
    status = run_config_exists(&x->a);
  if (status < 0)
    run_import(&x->a);
  if (status < 0)
    status = run_config(&x->a, d);
  if (status >= 0)
    return status;
  d->seed = run_seed(&x->a);
  status = asr_daemon_prepare(d);
  if (status >= 0)
    return status;
  asr_svc_quiet_stdout();
  asr_svc_init();
  status = asr_daemon_run(d);
  asr_svc_fini();
  return status;
}

int asr_cmd_run(int argc, char **argv)
{
  run_ctx x;
  int status = ASR_EXIT_INTERNAL;

  memset(&x, 0, sizeof(x));
  x.d = calloc(1, sizeof(*x.d));
  if (!x.d)
    goto out;
  asr_svc_log_init(false); /* a bad command line under systemd: in the journal at err */
  status = run_parse(argc, argv, &x.a);
  if (status >= 0)
    goto out;
  if (!x.a.service) {
    status = run_body(&x);
    goto out;
  }
  status = asr_svc_run_service(run_body, &x);
  if (status < 0) {
    asr_cli_error("run --service: not started by the Windows service manager (use `asr-agent "
                  "service start`, or `asr-agent run` in a console)");
    status = ASR_EXIT_USAGE;
  }
out:
  if (x.d)
    asr_secret_wipe(x.d, sizeof(*x.d));
  free(x.d);
  return status;
}
