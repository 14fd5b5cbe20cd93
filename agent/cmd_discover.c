/* asr-agent discover: scans targets for printers and remembers them.
 *
 * Two phases (snmp/sweep.h): the sweep asks every address one small question from one
 * socket, paced at --rate; the addresses that answer get the detail phase (identity,
 * supplies), --concurrency at a time, while the sweep goes on. The targets are walked one
 * address at a time (conf/targets.h), with the credentials of their target: the v3 user
 * first when given, then the target's own communities (--target-community) or the general
 * ones (--community). Printers found at a new address go through agent/moves.h (a move, or
 * an identity conflict). The daemon's tick (asr_cli_set_scan_tick) and --deadline end the
 * run early: what was not reached is counted as skipped. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/health.h"
#include "agent/moves.h"
#include "agent/output.h"
#include "conf/targets.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/clock.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "snmp/scan.h"
#include "snmp/sweep.h"
#include "store/save.h"
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

/* The credentials of one target with its own communities (the v3 user first). */
typedef struct {
  asr_snmp_cred *creds;
  size_t n;
} cred_set;

typedef struct {
  const discover_args *a;
  asr_store *st;
  asr_report *report;
  asr_device *dev;
  asr_moves *moves; /* printers found at a new address wait for the end of the scan */
  size_t scanned, responded, printers, failed_saves, skipped, conflicts, auth_failures;
  char first_skipped[ASR_ADDR_STRLEN]; /* the first address not scanned (deadline or stop) */
  asr_result store_err;                /* the first save error: its exit status */
  int64_t now;
  int progress_shown;
  asr_targets_iter it;
  cred_set sets[ASR_TARGETS_COMMUNITY_SETS];
  asr_sweep_stats stats;
} discover_ctx;

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
  optind = 1;
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

/* ---- credentials per target ---------------------------------------------------------------- */

/* The credentials of each target with its own communities: the v3 user (if any), then them. */
static asr_result build_sets(discover_ctx *x)
{
  const asr_cli_snmp *s = &x->a->snmp;
  const asr_targets *t = &x->a->targets;
  int v3 = s->n_creds > 0 && s->creds[0].version == ASR_SNMP_V3;

  for (size_t i = 0; i < t->n_sets; i++) {
    const asr_target_communities *set = &t->sets[i];
    cred_set *cs = &x->sets[i];

    cs->creds = calloc(set->n + 1, sizeof(*cs->creds));
    if (!cs->creds)
      return ASR_ERR_NOMEM;
    if (v3)
      cs->creds[cs->n++] = s->creds[0];
    for (size_t k = 0; k < set->n; k++) {
      asr_snmp_cred *c = &cs->creds[cs->n++];

      c->version = s->version;
      if (asr_strlcpy(c->community, set->communities[k], sizeof(c->community)) != ASR_OK)
        return ASR_ERR_INVALID; /* never a cut community (same size: cannot happen) */
    }
  }
  return ASR_OK;
}

static void free_sets(discover_ctx *x)
{
  for (size_t i = 0; i < ASR_TARGETS_COMMUNITY_SETS; i++) {
    if (x->sets[i].creds)
      asr_secret_wipe(x->sets[i].creds, x->sets[i].n * sizeof(*x->sets[i].creds));
    free(x->sets[i].creds);
  }
}

/* The sweep's source: the next address, with the credentials of its target. */
static int next_target(void *ctx, asr_sweep_target *out)
{
  discover_ctx *x = ctx;
  const asr_targets *t = &x->a->targets;
  const asr_target_communities *set;

  if (!asr_targets_next(t, &x->it, &out->addr))
    return 0;
  out->port = (uint16_t)x->a->snmp.port;
  set = asr_targets_communities(t, &out->addr);
  if (set) {
    out->creds = x->sets[set - t->sets].creds;
    out->n_creds = x->sets[set - t->sets].n;
  } else {
    out->creds = x->a->snmp.creds;
    out->n_creds = x->a->snmp.n_creds;
  }
  return 1;
}

/* ---- results ------------------------------------------------------------------------------- */

static void report_failure(const asr_scan_result *res)
{
  /* Silence is normal while scanning; a host that answered and then failed is not. */
  if (res->status == ASR_ERR_TIMEOUT && res->cred_index < 0)
    return;
  asr_log(res->status == ASR_ERR_AUTH ? ASR_LOG_WARN : ASR_LOG_INFO, "%s: %s", res->job->address,
          res->reason[0] ? res->reason : asr_result_str(res->status));
}

static void list_device(discover_ctx *x, const asr_device *dev, const char *note_key,
                        const char *note)
{
  if (asr_report_add_device(x->report, dev) != ASR_OK ||
      (note_key && asr_report_set_note(x->report, note_key, note) != ASR_OK))
    asr_log(ASR_LOG_ERR, "out of memory listing %s", dev->ip);
}

/* Saves a printer that answered (asr_moves_save_cb): listed, stored, and not silent. */
static asr_result save_printer(const asr_device *dev, uint16_t port, const asr_snmp_cred *cred,
                               int64_t *id, void *ctx)
{
  discover_ctx *x = ctx;
  asr_result r;

  list_device(x, dev, NULL, NULL);
  /* a full disk, a damaged or locked file: said once, and nothing more is tried (each later
   * save would wait out the busy timeout again) */
  if (x->store_err) {
    x->failed_saves++;
    return x->store_err;
  }
  r = asr_store_save(x->st, dev, port, cred, x->now, id);
  if (r) {
    x->failed_saves++;
    x->store_err = r;
    asr_log(ASR_LOG_ERR, "%s: not saved: %s", dev->ip, asr_store_errmsg(x->st));
    return r;
  }
  /* an answer: a printer that moved address (found by its serial) is not silent */
  asr_health_after_poll(x->st, *id, true, ASR_OK, "", x->now, NULL);
  return ASR_OK;
}

/* A printer not saved (asr_moves_held_cb): it claims the identity of one that answers
 * elsewhere, or its move could not be decided in this run. */
static void on_held(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                    const char *detail, void *ctx)
{
  discover_ctx *x = ctx;
  char note[640];

  (void)port;
  (void)id;
  x->conflicts += conflict;
  asr_fmt_cut(note, sizeof(note), "%s: not saved", detail);
  list_device(x, dev, conflict ? "conflict" : "problem", note);
}

/* A host the scan did not reach (deadline or stop): counted, the first one named. */
static void skipped(discover_ctx *x, const asr_scan_result *res)
{
  if (x->skipped++ == 0)
    asr_strlcpy_cut(x->first_skipped, res->job->address, sizeof(x->first_skipped));
}

static void on_result(const asr_scan_result *res, void *ctx)
{
  discover_ctx *x = ctx;
  asr_result r;

  if (res->end != ASR_SCAN_END_HOST) {
    skipped(x, res);
    goto out;
  }
  x->scanned++;
  if (res->cred_index >= 0)
    x->responded++;
  if (res->status == ASR_ERR_AUTH)
    x->auth_failures++;
  if (res->status != ASR_OK)
    report_failure(res);
  if (!res->vbs || res->cred_index < 0)
    goto out;
  r = asr_printer_build(res->vbs, res->job->address, x->dev);
  if (r == ASR_OK)
    x->printers++;
  if (r != ASR_OK && x->a->all)
    list_device(x, x->dev, NULL, NULL);
  else if (r == ASR_OK && res->status != ASR_OK) /* partial answers: listed, never saved */
    list_device(x, x->dev, "problem", res->reason);
  else if (r == ASR_OK && !x->st)
    list_device(x, x->dev, NULL, NULL);
  else if (r == ASR_OK)
    asr_moves_offer(x->moves, x->dev, res->job->port, &res->job->creds[res->cred_index]);
out:
  asr_vbset_free(res->vbs);
}

static void on_progress(const asr_sweep_stats *st, void *ctx)
{
  discover_ctx *x = ctx;

  if (!x->a->progress)
    return;
  fprintf(stderr, "\rscanning: %llu/%llu addresses swept, %llu answered, %zu printers ",
          (unsigned long long)st->swept, (unsigned long long)st->total,
          (unsigned long long)st->answered, x->printers);
  fflush(stderr);
  x->progress_shown = 1;
}

/* Nothing answered: the usual causes, with the settings that were tried (never a
 * community: it is a password). */
static void hint_no_answer(const discover_ctx *x)
{
  const asr_cli_snmp *s = &x->a->snmp;

  if (x->auth_failures) {
    asr_cli_error("%zu %s refused the SNMPv3 credentials: check --v3-user, the protocols and "
                  "the pass phrases",
                  x->auth_failures, asr_plural((long long)x->auth_failures, "host", "hosts"));
    return;
  }
  asr_cli_error(
      "no SNMP answer from %zu %s (UDP port %u, %u ms timeout, %u %s). Check:", x->scanned,
      asr_plural((long long)x->scanned, "address", "addresses"), s->port, s->scan.timeout_ms,
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

static int print_discovery(discover_ctx *x)
{
  char scanned[24], responded[24], printers[24], skip[24], conflicts[24];
  const char *extra[] = {"scanned", scanned, "responded", responded, "printers", printers,
                         "skipped", skip,    "conflicts", conflicts, NULL};

  asr_fmt_cut(scanned, sizeof(scanned), "%zu", x->scanned);
  asr_fmt_cut(responded, sizeof(responded), "%zu", x->responded);
  asr_fmt_cut(printers, sizeof(printers), "%zu", x->printers);
  asr_fmt_cut(skip, sizeof(skip), "%zu", x->skipped);
  asr_fmt_cut(conflicts, sizeof(conflicts), "%zu", x->conflicts);
  if (asr_report_print(x->report, stdout, x->a->fmt, asr_cli_isatty(1), extra) != ASR_OK)
    return ASR_EXIT_INTERNAL;
  if (x->a->fmt == ASR_FMT_TABLE)
    printf("%zu %s scanned, %zu answered, %zu %s, %zu not scanned\n", x->scanned,
           asr_plural((long long)x->scanned, "address", "addresses"), x->responded, x->printers,
           asr_plural((long long)x->printers, "printer", "printers"), x->skipped);
  if (x->skipped)
    asr_cli_error("%zu %s not scanned (deadline or stop), from %s on", x->skipped,
                  asr_plural((long long)x->skipped, "address", "addresses"), x->first_skipped);
  if (x->failed_saves) {
    asr_cli_error("%zu %s not saved: %s", x->failed_saves,
                  asr_plural((long long)x->failed_saves, "printer", "printers"),
                  asr_store_errmsg(x->st));
    return asr_cli_exit_for(x->store_err);
  }
  if (x->skipped)
    return ASR_EXIT_FAILURE;
  if (!x->responded)
    hint_no_answer(x);
  else if (!x->printers && !x->a->all)
    asr_cli_error("%zu %s answered, none is a printer (--all lists them)", x->responded,
                  asr_plural((long long)x->responded, "host", "hosts"));
  return x->responded ? ASR_EXIT_OK : ASR_EXIT_NETWORK;
}

static volatile sig_atomic_t discover_interrupted;

/* The scan's tick (asr_scan_tick) during a discover: Ctrl-C stops it, and so does the
 * tick it had (the daemon's stop request and watchdog). */
typedef struct {
  asr_scan_tick tick;
  void *ctx;
} chained_tick;

static int interrupt_tick(void *ctx)
{
  const chained_tick *c = ctx;

  if (discover_interrupted)
    return 1;
  return c->tick ? c->tick(c->ctx) : 0;
}

/* Ctrl-C: the progress line ends, the user is told, and what was found is printed (and
 * was saved as it came). */
static int print_interrupted(discover_ctx *x, size_t total)
{
  char scanned[24], responded[24], printers[24];
  const char *extra[] = {"scanned", scanned,       "responded", responded, "printers",
                         printers,  "interrupted", "1",         NULL};

  if (x->progress_shown)
    fputc('\n', stderr);
  asr_cli_error("interrupted after %zu of %zu %s: %zu %s found%s", x->scanned, total,
                asr_plural((long long)total, "address", "addresses"), x->printers,
                asr_plural((long long)x->printers, "printer", "printers"),
                x->st ? (x->failed_saves ? ", some not saved" : " and saved")
                      : " (not saved: --no-save)");
  asr_fmt_cut(scanned, sizeof(scanned), "%zu", x->scanned);
  asr_fmt_cut(responded, sizeof(responded), "%zu", x->responded);
  asr_fmt_cut(printers, sizeof(printers), "%zu", x->printers);
  if (asr_report_print(x->report, stdout, x->a->fmt, asr_cli_isatty(1), extra) != ASR_OK)
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

static void log_sweep(const discover_ctx *x, int64_t ms)
{
  const asr_sweep_stats *st = &x->stats;

  asr_log(ASR_LOG_INFO,
          "sweep: %llu addresses in %lld ms, %llu probes, %llu answered, %llu datagrams "
          "ignored, at most %llu in flight",
          (unsigned long long)st->swept, (long long)ms, (unsigned long long)st->probes,
          (unsigned long long)st->answered, (unsigned long long)st->ignored,
          (unsigned long long)st->peak);
  if (st->unreachable)
    asr_log(ASR_LOG_WARN, "%llu addresses could not be probed (no route, or no IPv6 here)",
            (unsigned long long)st->unreachable);
}

/* Adds what the sweep did to the counts: the silent addresses were scanned; those a stop or
 * the deadline left unswept (or answered but never read) were skipped, the first named. */
static void count_sweep(discover_ctx *x)
{
  const asr_sweep_stats *st = &x->stats;
  asr_addr next;

  x->scanned += (size_t)(st->swept - st->answered);
  if (!st->skipped)
    return;
  if (x->skipped == 0 && st->first_skipped.family)
    asr_addr_format(&st->first_skipped, x->first_skipped, sizeof(x->first_skipped));
  else if (x->skipped == 0 && asr_targets_next(&x->a->targets, &x->it, &next))
    asr_addr_format(&next, x->first_skipped, sizeof(x->first_skipped));
  x->skipped += (size_t)st->skipped;
}

static int run_scan(discover_ctx *x)
{
  asr_scan_opts o = x->a->snmp.scan;
  chained_tick chain = {o.tick, o.tick_ctx};
  int64_t t0 = asr_monotonic_ms(), deadline = o.deadline_ms ? t0 + o.deadline_ms : 0;
  asr_sweep_opts so;
  asr_result r;
  bool caught;

  asr_sweep_opts_init(&so);
  so.rate = x->a->rate;
  so.timeout_ms = o.timeout_ms;
  so.retries = o.retries;
  asr_targets_iter_init(&x->it);
  discover_interrupted = 0;
  o.tick = interrupt_tick;
  o.tick_ctx = &chain;
  caught = asr_platform_interrupt_catch(&discover_interrupted);
  r = build_sets(x);
  asr_log(ASR_LOG_DEBUG, "sweep: %llu addresses at %u probes/s, timeout %u ms, %u retries",
          (unsigned long long)asr_targets_count(&x->a->targets), so.rate, so.timeout_ms,
          so.retries);
  if (!r)
    r = asr_sweep_run(next_target, x, asr_targets_count(&x->a->targets), &so, &o, on_result,
                      on_progress, x, &x->stats);
  if (!r) {
    log_sweep(x, asr_monotonic_ms() - t0);
    count_sweep(x);
  }
  if (!r && x->moves && !discover_interrupted)
    r = asr_moves_settle(x->moves, &o, deadline);
  if (caught)
    asr_platform_interrupt_release();
  if (discover_interrupted)
    return print_interrupted(x, (size_t)asr_targets_count(&x->a->targets));
  if (x->progress_shown)
    fputs("\r\033[K", stderr);
  if (r) {
    asr_cli_error("scan failed: %s", asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  return print_discovery(x);
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
  x.now = asr_now();
  x.report = asr_report_new();
  x.dev = malloc(sizeof(*x.dev));
  if (x.st)
    x.moves = asr_moves_new(x.st, x.now, save_printer, on_held, &x);
  if (!x.report || !x.dev || (x.st && !x.moves) || asr_scan_init() != ASR_OK) {
    status = ASR_EXIT_INTERNAL;
    goto out;
  }
  status = run_scan(&x);
  asr_scan_fini();
out:
  asr_moves_free(x.moves);
  free_sets(&x);
  free(x.dev);
  asr_report_free(x.report);
  asr_store_close(x.st);
  asr_targets_free(&a.targets);
  asr_cli_snmp_wipe(&a.snmp);
  return status;
}
