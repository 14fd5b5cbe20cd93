/* cmd_service.c: `asr-agent service install|uninstall|start|stop|reload [--config FILE]`, the
 * Windows service through the Service Control Manager (common/platform.h does the SCM
 * calls). install registers `"<this exe>" run --service --config FILE` (automatic start,
 * LocalSystem), the Event Log source, and narrows the data folder and FILE to SYSTEM and
 * Administrators. reload sends the PARAMCHANGE control (the daemon rereads its configuration).
 * On POSIX systemd manages the service (packaging/systemd): exit 2. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "conf/conf.h"
#include "agent/svc.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

#ifndef ASR_STATEDIR
#define ASR_STATEDIR "/var/lib/asr-agent"
#endif

#define SVC_DISPLAY "asr-agent printer fleet agent"
#define SVC_TIMEOUT_MS 30000 /* for start and stop to complete */

static void service_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent service install|uninstall|start|stop|reload [--config FILE]\n"
               "  Windows: controls the asr-agent service of the Service Control Manager.\n"
               "  install    registers it (automatic start) to run `asr-agent run --service\n"
               "             --config FILE` (default " ASR_STATEDIR "/asr-agent.conf, which must\n"
               "             exist) and the Event Log source; restricts the data folder and\n"
               "             FILE to SYSTEM and Administrators\n"
               "  uninstall  stops and removes it\n"
               "  start      starts it and waits until it runs\n"
               "  stop       stops it and waits until it stopped\n"
               "  reload     asks the running service to reload its configuration\n"
               "  On Linux systemd manages the service (asr-agent.service): systemctl reload\n"
               "  asr-agent (SIGHUP) reloads it.\n");
}

/* The absolute configuration path: --config or the default in the data folder. */
static int config_path(const char *opt, char *out, size_t n)
{
  char path[512];

  if (asr_platform_path(opt ? opt : ASR_STATEDIR "/asr-agent.conf", path, sizeof(path)) != ASR_OK) {
    asr_cli_error("service: configuration path too long");
    return ASR_EXIT_USAGE;
  }
  if (strchr(path, '"') || !asr_platform_realpath(path, out, n)) {
    asr_cli_error("service: %s: no such configuration file (write it first; see "
                  "asr-agent.conf(5))",
                  path);
    return ASR_EXIT_INPUT;
  }
  return -1;
}

/* Narrows the data folder and the configuration file to SYSTEM and Administrators. */
static void restrict_paths(const char *conf)
{
  char dir[512];

  if (asr_platform_path(ASR_STATEDIR, dir, sizeof(dir)) == ASR_OK &&
      asr_platform_mkdir_private(dir) == ASR_OK && asr_platform_restrict(dir) != ASR_OK)
    asr_log(ASR_LOG_WARN, "%s: could not restrict its access to administrators", dir);
  if (asr_platform_restrict(conf) != ASR_OK)
    asr_log(ASR_LOG_WARN, "%s: could not restrict its access to administrators", conf);
}

static int service_install(const char *opt)
{
  char conf[512], args[600];
  int status = config_path(opt, conf, sizeof(conf));

  if (status >= 0)
    return status;
  if (asr_fmt(args, sizeof(args), "run --service --config \"%s\"", conf) != ASR_OK) {
    asr_cli_error("service: configuration path too long");
    return ASR_EXIT_USAGE;
  }
  restrict_paths(conf);
  if (asr_platform_service_install(ASR_SVC_NAME, SVC_DISPLAY, args) != ASR_OK)
    return ASR_EXIT_FAILURE;
  printf("service %s installed (automatic start): run --service --config %s\n", ASR_SVC_NAME, conf);
  return ASR_EXIT_OK;
}

/* Runs one action other than install and prints what happened. */
static int service_action(const char *verb)
{
  asr_result r;

  if (strcmp(verb, "uninstall") == 0)
    r = asr_platform_service_uninstall(ASR_SVC_NAME);
  else if (strcmp(verb, "start") == 0)
    r = asr_platform_service_start(ASR_SVC_NAME, SVC_TIMEOUT_MS);
  else if (strcmp(verb, "reload") == 0)
    r = asr_platform_service_reload(ASR_SVC_NAME);
  else
    r = asr_platform_service_stop(ASR_SVC_NAME, SVC_TIMEOUT_MS);
  if (r == ASR_ERR_TIMEOUT)
    asr_cli_error("service %s: not done after %d s", verb, SVC_TIMEOUT_MS / 1000);
  if (r != ASR_OK)
    return ASR_EXIT_FAILURE;
  printf("service %s: %s done\n", ASR_SVC_NAME, verb);
  return ASR_EXIT_OK;
}

static bool known_verb(const char *v)
{
  static const char *const verbs[] = {"install", "uninstall", "start", "stop", "reload"};

  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (strcmp(v, verbs[i]) == 0)
      return true;
  return false;
}

/* Parses the options; -1 to go on, else the exit status. */
static int service_parse(int argc, char **argv, const char **config)
{
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = asr_cli_getopt(argc, argv, "h", opts)) != -1) {
    if (c == 'c') {
      *config = optarg;
    } else if (c == 'h') {
      service_usage(stdout);
      return ASR_EXIT_OK;
    } else {
      asr_cli_help_hint("service");
      return ASR_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc || !known_verb(argv[optind])) {
    service_usage(stderr);
    return ASR_EXIT_USAGE;
  }
  return -1;
}

int asr_cmd_service(int argc, char **argv)
{
  const char *config = NULL;
  int status = service_parse(argc, argv, &config);

  if (status >= 0)
    return status;
  if (!asr_platform_service_supported() && strcmp(argv[optind], "reload") == 0) {
    asr_cli_error("service reload: on this system systemd manages the service: use "
                  "`systemctl reload asr-agent` (or send SIGHUP to the daemon)");
    return ASR_EXIT_USAGE;
  }
  if (!asr_platform_service_supported()) {
    asr_cli_error("service: on this system systemd manages the service: use `systemctl "
                  "enable --now asr-agent` (unit in packaging/systemd)");
    return ASR_EXIT_USAGE;
  }
  if (strcmp(argv[optind], "install") == 0)
    return service_install(config);
  return service_action(argv[optind]);
}
