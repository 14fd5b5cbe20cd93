/* cmd_config.c: `asr-agent config check [FILE]`.
 *
 * Reads the configuration file (FILE, --config FILE, or the default path) and the secrets
 * file it names, and prints "FILE: ok" (exit 0) or one "file:line: problem" line per error
 * on stderr (exit 3). The daemon runs the same checks before it starts and on SIGHUP. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/conf.h"

enum { OPT_CONFIG = 1000 };

static void usage(FILE *out)
{
  fprintf(out,
          "usage: asr-agent config check [--config FILE | FILE]\n"
          "  checks the configuration file (default %s) and the secrets file it names;\n"
          "  prints 'FILE: ok', or each problem as 'file:line: problem' (exit 3)\n",
          ASR_CONF_DEFAULT_PATH);
}

/* Prints each problem on stderr as it comes. */
static void print_error(const char *msg, void *ctx)
{
  (void)ctx;
  fprintf(stderr, "%s\n", msg);
}

static int check(const char *path)
{
  asr_conf c;
  asr_result r, rs = ASR_OK;

  r = asr_conf_load(path, &c, print_error, NULL);
  if (r == ASR_OK)
    rs = asr_conf_check_secrets(&c, print_error, NULL);
  if (r != ASR_OK || rs != ASR_OK)
    return ASR_EXIT_INPUT;
  printf("%s: ok\n", path);
  return ASR_EXIT_OK;
}

/* Options after "config": --config FILE, --help; returns -1 to go on, else an exit. */
static int options(int argc, char **argv, const char **path)
{
  static const struct option longopts[] = {{"config", required_argument, NULL, OPT_CONFIG},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int code;

  optind = 1;
  while ((code = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (code == OPT_CONFIG) {
      *path = optarg;
    } else if (code == 'h') {
      usage(stdout);
      return ASR_EXIT_OK;
    } else {
      usage(stderr);
      return ASR_EXIT_USAGE;
    }
  }
  return -1;
}

int asr_cmd_config(int argc, char **argv)
{
  const char *path = NULL;
  int status = options(argc, argv, &path);

  if (status >= 0)
    return status;
  if (optind >= argc || strcmp(argv[optind], "check") != 0) {
    if (optind < argc)
      asr_cli_error("config: unknown subcommand '%s'", argv[optind]);
    usage(stderr);
    return ASR_EXIT_USAGE;
  }
  optind++;
  if (optind < argc && !path)
    path = argv[optind++];
  if (optind < argc) {
    asr_cli_error("config check: unexpected argument '%s'", argv[optind]);
    return ASR_EXIT_USAGE;
  }
  return check(path ? path : ASR_CONF_DEFAULT_PATH);
}
