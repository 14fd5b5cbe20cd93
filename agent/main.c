/* asr-agent: the site agent of asr (Automatic Supplies Replenishment).
 * main() only picks the command; see agent/cli.c and agent/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "agent/cli.h"
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
  fprintf(out, "usage: asr-agent COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'asr-agent COMMAND --help' shows a command's options; see asr-agent(8).\n");
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

      if (asr_platform_init() != ASR_OK) {
        fprintf(stderr, "asr-agent: cannot initialise the network stack\n");
        return ASR_EXIT_INTERNAL;
      }
      status = commands[i].run(argc - 1, argv + 1);
      asr_platform_fini();
      return status;
    }
  }
  fprintf(stderr, "asr-agent: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return ASR_EXIT_USAGE;
}
