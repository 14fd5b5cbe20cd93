/* cmd_config.c: `asr-agent config check|write|import [FILE]`.
 *
 * check reads the configuration file (FILE, --config FILE, or the default path) and the
 * secrets file it names, and prints "FILE: ok" (exit 0) or one "file:line: problem" line
 * per error on stderr (exit 3). The daemon runs the same checks before it starts and on
 * SIGHUP. write merges installer properties read from stdin (NAME=VALUE lines: secrets
 * never on the command line) into the file, import those the MSI left in the registry
 * (agent/confwrite.h); both exit 3 on a bad value, writing nothing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "conf/conf.h"
#include "agent/confwrite.h"
#include "agent/remoteconf.h"
#include "common/platform.h"
#include "common/util.h"

enum { OPT_CONFIG = 1000, OPT_SAVE, OPT_UNDO, OPT_COMMIT, OPT_LOCK };

/* import's part in the installer's transaction (--lock, --save, --undo, --commit), 0 = none */
static int import_step;

static void usage(FILE *out)
{
  fprintf(out,
          "usage: asr-agent config check|show|fetch|write|import [--config FILE | FILE]\n"
          "  fetch   checks in with the central now for its configuration\n"
          "  show    prints the effective configuration (the file, the central's last\n"
          "          good configuration over it) and the source of each value\n"
          "  check   checks the configuration file (default %s) and the secrets\n"
          "          file it names; prints 'FILE: ok', or each problem as\n"
          "          'file:line: problem' (exit 3)\n"
          "  write   merges installer properties, NAME=VALUE lines on stdin (ENDPOINT,\n"
          "          SITE_TOKEN, SCAN_TARGETS, COMMUNITY, PROXY), into the file; an empty\n"
          "          or missing property keeps what the file has; a bad value: exit 3\n"
          "  import  the same with the values the MSI left in the registry\n"
          "          (HKLM\\SOFTWARE\\asr-agent\\Install, Windows), deleted once written;\n"
          "          the installer's transaction: --save keeps copies of the files first,\n"
          "          --undo puts them back (rollback), --commit deletes them; --lock,\n"
          "          before the installer writes the values, makes their registry key\n"
          "          SYSTEM's and Administrators' only\n",
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
                                           {"save", no_argument, NULL, OPT_SAVE},
                                           {"undo", no_argument, NULL, OPT_UNDO},
                                           {"commit", no_argument, NULL, OPT_COMMIT},
                                           {"lock", no_argument, NULL, OPT_LOCK},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int code;

  import_step = 0;
  while ((code = asr_cli_getopt(argc, argv, "h", longopts)) != -1) {
    if (code == OPT_CONFIG) {
      *path = optarg;
    } else if (code == OPT_SAVE || code == OPT_UNDO || code == OPT_COMMIT || code == OPT_LOCK) {
      import_step = code;
    } else if (code == 'h') {
      usage(stdout);
      return ASR_EXIT_OK;
    } else {
      asr_cli_help_hint("config");
      return ASR_EXIT_USAGE;
    }
  }
  return -1;
}

#define STDIN_LINE_MAX 2048 /* a NAME=VALUE line on stdin */
#define STDIN_LINES_MAX 100

/* Reads NAME=VALUE lines from stdin into p; -1 to go on, else an exit status. */
static int read_stdin(asr_confwrite_props *p)
{
  char line[STDIN_LINE_MAX], err[256];
  int n = 0, status = -1;

  while (status < 0 && fgets(line, sizeof(line), stdin)) {
    if (++n > STDIN_LINES_MAX || (!strchr(line, '\n') && !feof(stdin))) {
      asr_cli_error("config write: stdin line %d: too long or too many lines", n);
      status = ASR_EXIT_INPUT;
    } else if (asr_confwrite_parse_line(p, line, err, sizeof(err)) != ASR_OK) {
      asr_cli_error("config write: stdin line %d: %s", n, err);
      status = ASR_EXIT_INPUT;
    }
  }
  asr_secret_wipe(line, sizeof(line));
  return status;
}

/* The exit status of a write or import. */
static int written(const char *verb, const char *path, asr_result r)
{
  if (r == ASR_OK) {
    printf("%s: written\n", path);
    return ASR_EXIT_OK;
  }
  asr_cli_error("config %s: %s: not written", verb, path);
  return r == ASR_ERR_INVALID || r == ASR_ERR_PARSE ? ASR_EXIT_INPUT : ASR_EXIT_FAILURE;
}

static int write_props(const char *path)
{
  asr_confwrite_props *p = calloc(1, sizeof(*p));
  int status;

  if (!p)
    return ASR_EXIT_INTERNAL;
  status = read_stdin(p);
  if (status < 0)
    status = written("write", path, asr_confwrite_apply(path, p, print_error, NULL));
  asr_confwrite_wipe(p);
  free(p);
  return status;
}

/* Windows: the folder of the configuration (the data folder the MSI creates with the
 * rights it inherits) is narrowed to SYSTEM and Administrators. */
static void restrict_folder(const char *path)
{
  char dir[512];
  size_t len = strlen(path);

  while (len > 0 && !asr_platform_is_sep(path[len - 1]))
    len--;
  if (!asr_platform_service_supported() || len < 2 ||
      asr_fmt(dir, sizeof(dir), "%.*s", (int)len - 1, path) != ASR_OK)
    return;
  if (asr_platform_restrict(dir) != ASR_OK)
    asr_cli_error("%s: cannot restrict it to SYSTEM and Administrators", dir);
}

/* --undo and --commit: the installer's rollback and commit of an import --save. */
static int import_end(const char *path)
{
  if (import_step == OPT_COMMIT) {
    asr_confwrite_commit(path);
    return ASR_EXIT_OK;
  }
  if (asr_confwrite_undo(path, print_error, NULL) != ASR_OK)
    return ASR_EXIT_FAILURE;
  printf("%s: put back as it was\n", path);
  return ASR_EXIT_OK;
}

static int import_props(const char *path)
{
  asr_result r;

  if (import_step == OPT_LOCK) {
    if (asr_platform_install_lock() != ASR_OK)
      return ASR_EXIT_FAILURE;
    printf("installer values: readable by SYSTEM and Administrators only\n");
    return ASR_EXIT_OK;
  }
  if (import_step == OPT_UNDO || import_step == OPT_COMMIT)
    return import_end(path);
  r = asr_confwrite_import(path, import_step == OPT_SAVE, print_error, NULL);
  restrict_folder(path);

  if (r == ASR_ERR_NOT_FOUND) {
    printf("%s: nothing to import\n", path);
    return ASR_EXIT_OK;
  }
  return written("import", path, r);
}

int asr_cmd_config(int argc, char **argv)
{
  const char *path = NULL, *verb;
  int status = options(argc, argv, &path);

  if (status >= 0)
    return status;
  verb = optind < argc ? argv[optind] : "";
  if (strcmp(verb, "check") != 0 && strcmp(verb, "write") != 0 && strcmp(verb, "import") != 0 &&
      strcmp(verb, "show") != 0 && strcmp(verb, "fetch") != 0) {
    if (optind < argc)
      asr_cli_error("config: unknown subcommand '%s'", argv[optind]);
    usage(stderr);
    return ASR_EXIT_USAGE;
  }
  optind++;
  if (optind < argc && !path)
    path = argv[optind++];
  if (optind < argc) {
    asr_cli_error("config %s: unexpected argument '%s'", verb, argv[optind]);
    return ASR_EXIT_USAGE;
  }
  if (strcmp(verb, "write") == 0)
    return write_props(asr_conf_path(path));
  if (strcmp(verb, "import") == 0)
    return import_props(asr_conf_path(path));
  if (strcmp(verb, "show") == 0) /* agent/remoteconf.c */
    return asr_remoteconf_show(asr_conf_path(path), stdout);
  if (strcmp(verb, "fetch") == 0)
    return asr_remoteconf_fetch(asr_conf_path(path));
  return check(asr_conf_path(path));
}
