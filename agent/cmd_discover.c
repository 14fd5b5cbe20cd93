/* asr-agent discover: scans targets for printers and remembers them.
 *
 * The command line: the targets (conf/targets.h: addresses, blocks, ranges, names, files,
 * exclusions, communities per target), the credentials and the engine options; the work
 * is asr_discover (agent/ops.h: the sweep, the detail phase, address changes and identity
 * conflicts, saving); here the devices it lists are printed as a table, JSON or CSV, with
 * the counts, the progress line on a terminal, and what went wrong with a hint. Ctrl-C
 * stops the scan; what was found is printed (and was saved as it came). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/ops.h"
#include "agent/output.h"
#include "conf/targets.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/sweep.h"
#include "store/store.h"

#define DISCOVER_FILES_MAX 16 /* --targets-from */

static const struct option discover_options[] = {
    {"community", required_argument, NULL, ASR_OPT_COMMUNITY},
    {"snmp-version", required_argument, NULL, ASR_OPT_SNMP_VERSION},
    {"v3-user", required_argument, NULL, ASR_OPT_V3_USER},
    {"v3-auth-proto", required_argument, NULL, ASR_OPT_V3_AUTH_PROTO},
    {"v3-priv-proto", required_argument, NULL, ASR_OPT_V3_PRIV_PROTO},
    {"v3-context", required_argument, NULL, ASR_OPT_V3_CONTEXT},
    {"v3-auth-pass-file", required_argument, NULL, ASR_OPT_V3_AUTH_PASS_FILE},
    {"v3-priv-pass-file", required_argument, NULL, ASR_OPT_V3_PRIV_PASS_FILE},
    {"port", required_argument, NULL, ASR_OPT_PORT},
    {"timeout", required_argument, NULL, ASR_OPT_TIMEOUT},
    {"retries", required_argument, NULL, ASR_OPT_RETRIES},
    {"concurrency", required_argument, NULL, ASR_OPT_CONCURRENCY},
    {"host-deadline", required_argument, NULL, ASR_OPT_HOST_DEADLINE},
    {"deadline", required_argument, NULL, ASR_OPT_DEADLINE},
    {"rate", required_argument, NULL, ASR_OPT_RATE},
    {"exclude", required_argument, NULL, ASR_OPT_EXCLUDE},
    {"targets-from", required_argument, NULL, ASR_OPT_TARGETS_FROM},
    {"target-community", required_argument, NULL, ASR_OPT_TARGET_COMMUNITY},
    {"format", required_argument, NULL, ASR_OPT_FORMAT},
    {"all", no_argument, NULL, ASR_OPT_ALL},
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"no-save", no_argument, NULL, ASR_OPT_NO_SAVE},
    {"force", no_argument, NULL, ASR_OPT_FORCE},
    {"no-progress", no_argument, NULL, ASR_OPT_NO_PROGRESS},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {"quiet", no_argument, NULL, ASR_OPT_QUIET},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
  asr_cli_snmp snmp;
  asr_format fmt;
  int all, no_save, force, progress, verbose, quiet;
  const char *db;
  unsigned rate;
  asr_targets targets; /* exclusions and communities from the options; targets after */
  const char *files[DISCOVER_FILES_MAX];
  size_t n_files;
} discover_args;

static void discover_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-agent discover [options] TARGET...\n"
          "TARGET: an IPv4 address, a CIDR block (a.b.c.0/24), a range (a.b.c.10-a.b.c.60 or\n"
          "a.b.c.10-60), an IPv6 address, prefix (/120 or narrower) or range, or a host name.\n"
          "  --targets-from FILE     targets from a file ('-': standard input), repeatable\n"
          "  --exclude TARGET        never scan these addresses, repeatable\n"
          "  --community NAME        SNMP v1/v2c community, repeatable, tried in order (public)\n"
          "  --target-community T=NAME  communities for the addresses of target T only,\n"
          "                          repeatable, tried in order (instead of --community)\n"
          "  --snmp-version 1|2c     version used with communities (2c)\n"
          "  --v3-user NAME          SNMPv3 user (tried first)\n"
          "  --v3-auth-proto P       MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512\n"
          "  --v3-priv-proto P       DES, AES, AES-192, AES-256\n"
          "  --v3-context NAME       SNMPv3 context name\n"
          "  --v3-auth-pass-file F   file holding the auth pass phrase (or ASR_SNMP_AUTH_PASS)\n"
          "  --v3-priv-pass-file F   file holding the priv pass phrase (or ASR_SNMP_PRIV_PASS)\n"
          "  --port N                UDP port (161)\n"
          "  --timeout MS            per request (1000)\n"
          "  --retries N             per request (1)\n"
          "  --rate PPS              first probes a second, retries included (%d)\n"
          "  --concurrency N         answering hosts read at once (256)\n"
          "  --host-deadline MS      the whole conversation with one host (0: 16 requests'\n"
          "                          worth, timeout x (retries + 1) x 16)\n"
          "  --deadline DURATION     the whole scan (600, 90s, 10m; 0 = none): addresses not\n"
          "                          scanned by then are reported as skipped\n"
          "  --format table|json|csv output (table on a terminal, else json)\n"
          "  --all                   also list hosts that answered but are not printers\n"
          "  --db PATH               database (default $ASR_AGENT_DB or %s)\n"
          "  --no-save               do not save what was found\n"
          "  --force                 allow more than 65,536 addresses (up to a /12)\n"
          "  --no-progress           no progress line on a terminal\n"
          "  -v, --verbose / -q, --quiet\n",
          ASR_SWEEP_RATE_DEFAULT, asr_cli_db_path(NULL));
}

/* --target-community TARGET=NAME: appends NAME to TARGET's communities. */
static int take_target_community(discover_args *a, const char *arg)
{
  const char *eq = strchr(arg, '=');
  char spec[ASR_TARGETS_SPEC_LEN], err[512];
  asr_result r;

  if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(spec)) {
    asr_cli_error("--target-community: write TARGET=COMMUNITY");
    return -1;
  }
  memcpy(spec, arg, (size_t)(eq - arg));
  spec[eq - arg] = '\0';
  r = asr_targets_add_community(&a->targets, spec, eq + 1, err, sizeof(err));
  if (r) {
    asr_cli_error("--target-community: %s", err[0] ? err : asr_result_str(r));
    return -1;
  }
  return 1;
}

/* The options about what to scan. */
static int target_option(discover_args *a, int c, const char *arg)
{
  char err[512];

  switch (c) {
  case ASR_OPT_EXCLUDE:
    if (asr_targets_exclude(&a->targets, arg, err, sizeof(err)) != ASR_OK) {
      asr_cli_error("--exclude: %s", err);
      return -1;
    }
    return 1;
  case ASR_OPT_TARGETS_FROM:
    if (a->n_files >= DISCOVER_FILES_MAX) {
      asr_cli_error("--targets-from: at most %d files", DISCOVER_FILES_MAX);
      return -1;
    }
    a->files[a->n_files++] = arg;
    return 1;
  case ASR_OPT_TARGET_COMMUNITY:
    return take_target_community(a, arg);
  case ASR_OPT_RATE:
    if (asr_parse_uint(arg, 1, ASR_SWEEP_RATE_MAX, &a->rate) != ASR_OK) {
      asr_cli_error("--rate: '%s' is not a number from 1 to %d", arg, ASR_SWEEP_RATE_MAX);
      return -1;
    }
    return 1;
  default:
    return asr_cli_snmp_option(&a->snmp, c, arg);
  }
}

/* Options that belong to discover itself; 1 taken, 0 unknown, -1 bad value. */
static int discover_option(discover_args *a, int c, const char *arg)
{
  switch (c) {
  case ASR_OPT_FORMAT:
    if (asr_format_parse(arg, &a->fmt) != ASR_OK) {
      asr_cli_error("--format: '%s' is not table, json or csv", arg);
      return -1;
    }
    return 1;
  case ASR_OPT_ALL:
    a->all = 1;
    return 1;
  case ASR_OPT_DB:
    a->db = arg;
    return 1;
  case ASR_OPT_NO_SAVE:
    a->no_save = 1;
    return 1;
  case ASR_OPT_FORCE:
    a->force = 1;
    return 1;
  case ASR_OPT_NO_PROGRESS:
    a->progress = 0;
    return 1;
  case 'v':
  case ASR_OPT_VERBOSE:
    a->verbose++;
    return 1;
  case 'q':
  case ASR_OPT_QUIET:
    a->quiet++;
    return 1;
  default:
    return target_option(a, c, arg);
  }
}

/* Parses argv; returns -1 to go on, or the exit status. */
static int discover_parse(discover_args *a, int argc, char **argv)
{
  int c, taken;

  memset(a, 0, sizeof(*a));
  asr_cli_snmp_init(&a->snmp);
  a->fmt = asr_cli_isatty(1) ? ASR_FMT_TABLE : ASR_FMT_JSON;
  a->progress = asr_cli_isatty(2);
  a->rate = ASR_SWEEP_RATE_DEFAULT;
  while ((c = asr_cli_getopt(argc, argv, "hvq", discover_options)) != -1) {
    if (c == ASR_OPT_HELP) {
      discover_usage(stdout);
      return ASR_EXIT_OK;
    }
    taken = c == '?' ? 0 : discover_option(a, c, optarg);
    if (taken <= 0) {
      if (taken == 0)
        asr_cli_help_hint("discover");
      return ASR_EXIT_USAGE;
    }
  }
  if (optind >= argc && a->n_files == 0) {
    asr_cli_error("discover needs at least one TARGET (or --targets-from FILE)");
    discover_usage(stderr);
    return ASR_EXIT_USAGE;
  }
  asr_cli_log_level(a->verbose, a->quiet);
  return asr_cli_snmp_finish(&a->snmp) ? ASR_EXIT_USAGE : -1;
}

static int exit_for_target(asr_result r)
{
  if (r == ASR_ERR_NOMEM)
    return ASR_EXIT_INTERNAL;
  return r == ASR_ERR_IO || r == ASR_ERR_PARSE ? ASR_EXIT_INPUT : ASR_EXIT_USAGE;
}

/* The targets of one --targets-from file ("-": standard input). */
static asr_result add_file(discover_args *a, const char *path, char *err, size_t n)
{
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  asr_result r;

  if (!f) {
    asr_fmt_cut(err, n, "%s: cannot be read", path);
    return ASR_ERR_IO;
  }
  r = asr_targets_add_file(&a->targets, strcmp(path, "-") == 0 ? "(stdin)" : path, f, a->force, err,
                           n);
  if (f != stdin)
    fclose(f);
  return r;
}

static int parse_targets(discover_args *a, char **specs, int n)
{
  char err[768];
  asr_result r = ASR_OK;

  for (int i = 0; i < n && !r; i++)
    r = asr_targets_add(&a->targets, specs[i], a->force, err, sizeof(err));
  for (size_t i = 0; i < a->n_files && !r; i++)
    r = add_file(a, a->files[i], err, sizeof(err));
  if (!r)
    r = asr_targets_finish(&a->targets, a->force, err, sizeof(err));
  if (r) {
    asr_cli_error("bad target: %s", err[0] ? err : asr_result_str(r));
    return exit_for_target(r);
  }
  if (asr_targets_count(&a->targets) == 0) {
    asr_cli_error("nothing to scan: every address of the targets is excluded");
    return ASR_EXIT_USAGE;
  }
  return -1;
}

/* ---- the output: a thin caller of asr_discover (agent/ops.h) ----------------------------- */

typedef struct {
  const discover_args *a;
  asr_store *st;
  asr_report *report;
  int progress_shown;
} discover_ctx;

/* A device the run lists (asr_discover_device_cb). */
static void list_device(const asr_device *dev, const char *note_key, const char *note, void *ctx)
{
  discover_ctx *x = ctx;

  if (asr_report_add_device(x->report, dev) != ASR_OK ||
      (note_key && asr_report_set_note(x->report, note_key, note) != ASR_OK))
    asr_log(ASR_LOG_ERR, "out of memory listing %s", dev->ip);
}

static void on_progress(const asr_sweep_stats *st, size_t printers, void *ctx)
{
  discover_ctx *x = ctx;

  if (!x->a->progress)
    return;
  fprintf(stderr, "\rscanning: %llu/%llu addresses swept, %llu answered, %zu printers ",
          (unsigned long long)st->swept, (unsigned long long)st->total,
          (unsigned long long)st->answered, printers);
  fflush(stderr);
  x->progress_shown = 1;
}

/* Nothing answered: the usual causes, with the settings that were tried (never a
 * community: it is a password). */
static void hint_no_answer(const discover_ctx *x, const asr_discover_report *rep)
{
  const asr_cli_snmp *s = &x->a->snmp;

  if (rep->auth_failures) {
    asr_cli_error("%zu %s refused the SNMPv3 credentials: check --v3-user, the protocols and "
                  "the pass phrases",
                  rep->auth_failures, asr_plural((long long)rep->auth_failures, "host", "hosts"));
    return;
  }
  asr_cli_error(
      "no SNMP answer from %zu %s (UDP port %u, %u ms timeout, %u %s). Check:", rep->scanned,
      asr_plural((long long)rep->scanned, "address", "addresses"), s->port, s->scan.timeout_ms,
      s->scan.retries, asr_plural(s->scan.retries, "retry", "retries"));
  if (!s->v3_user && s->n_communities == 1 && strcmp(s->communities[0], "public") == 0)
    fputs("  - the community: only 'public' was tried (--community NAME, repeatable)\n", stderr);
  else
    fputs("  - the community or SNMPv3 user: the ones given may be wrong\n", stderr);
  fputs("  - that SNMP is enabled on the printers, and the port (--port)\n"
        "  - a firewall between here and them that drops UDP (port 161 by default)\n"
        "  - a slow network: a longer --timeout\n",
        stderr);
}

int asr_cli_discover_status(asr_result r, const asr_discover_report *rep)
{
  if (r)
    return asr_cli_exit_for(r);
  if (rep->failed_saves)
    return asr_cli_exit_for(rep->store_error);
  if (rep->skipped)
    return ASR_EXIT_FAILURE;
  return rep->responded ? ASR_EXIT_OK : ASR_EXIT_NETWORK;
}

static int print_discovery(discover_ctx *x, const asr_discover_report *rep)
{
  char scanned[24], responded[24], printers[24], skip[24], conflicts[24], line[160];
  const char *extra[] = {"scanned", scanned, "responded", responded, "printers", printers,
                         "skipped", skip,    "conflicts", conflicts, NULL};

  if (asr_fmt(scanned, sizeof(scanned), "%zu", rep->scanned) ||
      asr_fmt(responded, sizeof(responded), "%zu", rep->responded) ||
      asr_fmt(printers, sizeof(printers), "%zu", rep->printers) ||
      asr_fmt(skip, sizeof(skip), "%zu", rep->skipped) ||
      asr_fmt(conflicts, sizeof(conflicts), "%zu", rep->conflicts) ||
      asr_report_print(x->report, stdout, x->a->fmt, asr_cli_isatty(1), extra) != ASR_OK)
    return ASR_EXIT_INTERNAL;
  if (x->a->fmt == ASR_FMT_TABLE && asr_discover_summary(rep, line, sizeof(line)) == ASR_OK)
    printf("%s\n", line);
  if (rep->skipped)
    asr_cli_error("%zu %s not scanned (deadline or stop), from %s on", rep->skipped,
                  asr_plural((long long)rep->skipped, "address", "addresses"), rep->first_skipped);
  if (rep->failed_saves) {
    asr_cli_error("%zu %s not saved: %s", rep->failed_saves,
                  asr_plural((long long)rep->failed_saves, "printer", "printers"),
                  asr_store_errmsg(x->st));
  } else if (!rep->skipped && !rep->responded) {
    hint_no_answer(x, rep);
  } else if (!rep->skipped && !rep->printers && !x->a->all) {
    asr_cli_error("%zu %s answered, none is a printer (--all lists them)", rep->responded,
                  asr_plural((long long)rep->responded, "host", "hosts"));
  }
  return asr_cli_discover_status(ASR_OK, rep);
}

static volatile sig_atomic_t discover_interrupted;

/* The scan's tick during a discover: Ctrl-C stops it. */
static int interrupt_tick(void *ctx)
{
  (void)ctx;
  return discover_interrupted != 0;
}

/* Ctrl-C: the progress line ends, the user is told, and what was found is printed (and
 * was saved as it came). */
static int print_interrupted(discover_ctx *x, const asr_discover_report *rep)
{
  char scanned[24], responded[24], printers[24];
  const char *extra[] = {"scanned", scanned,       "responded", responded, "printers",
                         printers,  "interrupted", "1",         NULL};

  if (x->progress_shown)
    fputc('\n', stderr);
  asr_cli_error(
      "interrupted after %zu of %llu %s: %zu %s found%s", rep->scanned,
      (unsigned long long)rep->total, asr_plural((long long)rep->total, "address", "addresses"),
      rep->printers, asr_plural((long long)rep->printers, "printer", "printers"),
      x->st ? (rep->failed_saves ? ", some not saved" : " and saved") : " (not saved: --no-save)");
  if (asr_fmt(scanned, sizeof(scanned), "%zu", rep->scanned) ||
      asr_fmt(responded, sizeof(responded), "%zu", rep->responded) ||
      asr_fmt(printers, sizeof(printers), "%zu", rep->printers) ||
      asr_report_print(x->report, stdout, x->a->fmt, asr_cli_isatty(1), extra) != ASR_OK)
    return ASR_EXIT_INTERNAL;
  return ASR_EXIT_INTERRUPTED;
}

static int open_store(const discover_args *a, asr_store **st)
{
  *st = NULL;
  if (a->no_save)
    return -1;
  return asr_cli_open_store(a->db, ASR_CLI_DB_CREATE, st);
}

/* The run, with Ctrl-C caught (it stops the scan; what was found is printed). */
static int run_scan(discover_ctx *x)
{
  const discover_args *a = x->a;
  asr_discover_opts o;
  asr_discover_report rep;
  asr_result r;
  bool caught;

  asr_discover_opts_init(&o);
  o.st = x->st;
  o.targets = &a->targets;
  o.creds = a->snmp.creds;
  o.n_creds = a->snmp.n_creds;
  o.version = a->snmp.version;
  o.port = (uint16_t)a->snmp.port;
  o.rate = a->rate;
  o.scan = a->snmp.scan;
  o.scan.tick = interrupt_tick;
  o.all = a->all;
  o.on_device = list_device;
  o.on_progress = on_progress;
  o.ctx = x;
  discover_interrupted = 0;
  caught = asr_platform_interrupt_catch(&discover_interrupted);
  r = asr_discover(&o, &rep);
  if (caught)
    asr_platform_interrupt_release();
  if (discover_interrupted)
    return print_interrupted(x, &rep);
  if (x->progress_shown)
    fputs("\r\033[K", stderr);
  if (r) {
    asr_cli_error("scan failed: %s", asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  return print_discovery(x, &rep);
}

int asr_cmd_discover(int argc, char **argv)
{
  discover_args a;
  discover_ctx x;
  int status;

  memset(&x, 0, sizeof(x));
  status = discover_parse(&a, argc, argv);
  if (status >= 0)
    goto out;
  status = parse_targets(&a, argv + optind, argc - optind);
  if (status >= 0)
    goto out;
  status = open_store(&a, &x.st);
  if (status >= 0)
    goto out;
  x.a = &a;
  x.report = asr_report_new();
  status = x.report ? run_scan(&x) : ASR_EXIT_INTERNAL;
out:
  asr_report_free(x.report);
  asr_store_close(x.st);
  asr_targets_free(&a.targets);
  asr_cli_snmp_wipe(&a.snmp);
  return status;
}
