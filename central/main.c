/* asr-central: the reference central endpoint of asr (docs/protocol.md).
 * main() only picks the command; see central/ccli.c. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "central/ccli.h"
#include "central/ccli_alerts.h"
#include "central/ccli_ct.h"
#include "central/ccli_meters.h"
#include "central/ccli_rp.h"
#include "central/ccli_staff.h"
#include "common/clock.h"
#include "wire/http.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"serve", ccli_serve, "receive enrolments and batches, serve the supplies portal (HTTPS)"},
    {"site", ccli_site, "add or list sites, rotate or revoke a site's token"},
    {"contact", ccli_contact,
     "add, change, list the supplies contacts of sites, and their history"},
    {"devices", ccli_devices, "list the devices and their last supplies"},
    {"meters", ccli_meters, "billing meters per device: start, end and usage of a period"},
    {"alerts", ccli_alerts, "the printers' alerts per site: open ones or all, and their mails"},
    {"device", ccli_device, "assign a device to a supplies contact: device assign SERIAL"},
    {"agent", ccli_agent, "revoke an enrolled agent (403; and the token it enrolled with)"},
    {"problems", ccli_problems, "list what agents sent that was refused or reused a batch id"},
    {"simulate", ccli_simulate, "replay a simulated fleet through the replenishment rules"},
    {"replenish", ccli_replenish, "run the day's replenishment now (orders, notices)"},
    {"orders", ccli_orders, "list the orders and their lines"},
    {"order", ccli_order, "a warehouse step (order ship|backorder|deliver ID), or order extra"},
    {"mail", ccli_mail, "send the pending notices now (--flush) or count them"},
    {"staff", ccli_staff, "the portal's staff accounts, their API tokens, the audit trail"},
};

static void usage(FILE *out)
{
  fprintf(out, "usage: asr-central COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'asr-central COMMAND --help' shows a command's options; see asr-central(8).\n");
}

/* libcurl (the SMTP of notices) is initialised here, before any command starts a thread
 * (curl_global_init is not thread-safe), and released when the command returns. */
static int run_command(int (*run)(int argc, char **argv), int argc, char **argv)
{
  if (asr_http_global_init() != ASR_OK) {
    fprintf(stderr, "asr-central: libcurl cannot be initialised\n");
    return CCLI_EXIT_INTERNAL;
  }
  int rc = run(argc, argv);
  asr_http_global_fini();
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return CCLI_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return CCLI_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
    printf("asr-central %s\n", PACKAGE_VERSION);
    return CCLI_EXIT_OK;
  }
  ccli_log_init(0);
  if (asr_clock_from_env() != ASR_OK) {
    fprintf(stderr, "asr-central: ASR_TEST_CLOCK does not parse (START[:FACTOR])\n");
    return CCLI_EXIT_USAGE;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[1], commands[i].name) == 0)
      return run_command(commands[i].run, argc - 1, argv + 1);
  }
  fprintf(stderr, "asr-central: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return CCLI_EXIT_USAGE;
}
