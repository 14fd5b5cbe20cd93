/* asr-agent inspect: reads a recorded printer through the same model as a live poll. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/output.h"
#include "common/device.h"
#include "snmp/printer.h"
#include "snmp/recording.h"

static const struct option inspect_options[] = {
    {"format", required_argument, NULL, ASR_OPT_FORMAT},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {NULL, 0, NULL, 0},
};

static void inspect_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent inspect [--format json|table|csv] FILE\n"
               "Reads a recorded printer (snmpwalk -On output or an snmprec file) and prints\n"
               "what the agent makes of it, through the same code as a live poll.\n");
}

static int inspect_file(const char *path, asr_format fmt)
{
  char err[512] = "";
  asr_vbset *vbs = NULL;
  asr_device *dev = NULL;
  asr_result r;
  int status;

  r = asr_recording_load(path, &vbs, err, sizeof(err));
  if (r) {
    if (err[0]) /* it names the file */
      asr_cli_error("%s", err);
    else
      asr_cli_error("%s: %s", path, asr_result_str(r));
    status = asr_cli_exit_for(r);
    goto out;
  }
  dev = malloc(sizeof(*dev));
  if (!dev) {
    status = ASR_EXIT_INTERNAL;
    goto out;
  }
  r = asr_printer_build(vbs, "", dev);
  if (r == ASR_ERR_NOT_PRINTER)
    asr_cli_error("%s: warning: no printer in this recording (no Printer-MIB, no hrDevicePrinter)",
                  path);
  r = asr_report_print_one(dev, stdout, fmt);
  status = r ? ASR_EXIT_INTERNAL : ASR_EXIT_OK;
out:
  free(dev);
  asr_vbset_free(vbs);
  return status;
}

int asr_cmd_inspect(int argc, char **argv)
{
  asr_format fmt = asr_cli_isatty(1) ? ASR_FMT_TABLE : ASR_FMT_JSON;
  int c, verbose = 0;

  while ((c = asr_cli_getopt(argc, argv, "hv", inspect_options)) != -1) {
    switch (c) {
    case ASR_OPT_FORMAT:
      if (asr_format_parse(optarg, &fmt) != ASR_OK) {
        asr_cli_error("--format: '%s' is not json, table or csv", optarg);
        return ASR_EXIT_USAGE;
      }
      break;
    case ASR_OPT_HELP:
      inspect_usage(stdout);
      return ASR_EXIT_OK;
    case 'v':
    case ASR_OPT_VERBOSE:
      verbose++;
      break;
    default:
      asr_cli_help_hint("inspect");
      return ASR_EXIT_USAGE;
    }
  }
  asr_cli_log_level(verbose, 0);
  if (argc - optind != 1) {
    asr_cli_error("inspect takes exactly one FILE");
    inspect_usage(stderr);
    return ASR_EXIT_USAGE;
  }
  return inspect_file(argv[optind], fmt);
}
