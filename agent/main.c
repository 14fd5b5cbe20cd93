/* asr-agent: the site agent of asr (Automatic Supplies Replenishment).
 * main() only picks the command; see agent/cli.c and agent/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "agent/cli.h"
#include "common/clock.h"
#include "common/platform.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"discover", asr_cmd_discover, "find printers on the network (SNMP scan)"},
    {"poll", asr_cmd_poll, "read the supplies of known printers"},
    {"status", asr_cmd_status, "show known printers and their supplies"},
    {"meters", asr_cmd_meters, "billing meters per printer for a month (start, end, usage)"},
    {"inspect", asr_cmd_inspect, "read a recorded printer (snmpwalk -On or snmprec)"},
    {"enroll", asr_cmd_enroll, "register this agent with the central service"},
    {"upload", asr_cmd_upload, "send the pending readings to the central service now"},
    {"run", asr_cmd_run, "run as a daemon: discovery, polls and the daily upload on schedule"},
    {"config", asr_cmd_config, "check the configuration file (config check [FILE])"},
    {"service", asr_cmd_service, "Windows: install, uninstall, start or stop the service"},
};

static void usage(FILE *out)
{
  char db[512], conf[512];

  fprintf(out, "usage: asr-agent COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  /* where this build keeps things (a source build follows configure's localstatedir) */
  if (asr_platform_path(ASR_STATEDIR "/agent.db", db, sizeof(db)) != ASR_OK ||
      asr_platform_path(ASR_CONF_DEFAULT_PATH, conf, sizeof(conf)) != ASR_OK)
    db[0] = conf[0] = '\0';
  fprintf(out,
          "\nthis build's defaults: database %s ($ASR_AGENT_DB overrides it),\n"
          "configuration %s\n",
          db, conf);
  fprintf(out, "\n'asr-agent COMMAND --help' shows a command's options; see asr-agent(8).\n");
}

/* An unknown command: named, with the closest one, then the list. */
static void unknown_command(const char *name)
{
  const char *names[sizeof(commands) / sizeof(commands[0]) + 1], *best;
  size_t n = sizeof(commands) / sizeof(commands[0]);

  for (size_t i = 0; i < n; i++)
    names[i] = commands[i].name;
  names[n] = NULL;
  best = asr_cli_closest(name, names);
  if (best)
    fprintf(stderr, "asr-agent: unknown command '%.100s' (did you mean %s?)\n", name, best);
  else
    fprintf(stderr, "asr-agent: unknown command '%.100s'\n", name);
  usage(stderr);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return ASR_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return ASR_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
    printf("asr-agent %s\n", PACKAGE_VERSION);
    return ASR_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[1], commands[i].name) == 0) {
      int status;

      /* every command honours the test clock, so tests step it instead of sleeping */
      if (asr_clock_from_env() != ASR_OK) {
        fprintf(stderr, "asr-agent: ASR_TEST_CLOCK: not START[:FACTOR]\n");
        return ASR_EXIT_USAGE;
      }
      if (asr_platform_init() != ASR_OK) {
        fprintf(stderr, "asr-agent: cannot initialise the network stack\n");
        return ASR_EXIT_INTERNAL;
      }
      status = commands[i].run(argc - 1, argv + 1);
      asr_platform_fini();
      return status;
    }
  }
  unknown_command(argv[1]);
  return ASR_EXIT_USAGE;
}
