/* cli.c: what the commands share: SNMP options, exit statuses, messages. */
#include "agent/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "agent/secret.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/store.h"

/* A person reads "asr-agent: MSG" on stderr; a service's log (journal, syslog, Event Log)
 * gets MSG at LEVEL, without the prefix (the log names the program itself). */
static void cli_message(asr_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void cli_message(asr_log_level level, const char *fmt, va_list ap)
{
  char msg[1024];

  if (!asr_log_has_sink()) {
    fputs("asr-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return;
  }
  vsnprintf(msg, sizeof(msg), fmt, ap);
  asr_log(level, "%s", msg);
}

void asr_cli_error(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  cli_message(ASR_LOG_ERR, fmt, ap);
  va_end(ap);
}

void asr_cli_note(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  cli_message(ASR_LOG_INFO, fmt, ap);
  va_end(ap);
}

int asr_cli_exit_for(asr_result r)
{
  switch (r) {
  case ASR_OK:
    return ASR_EXIT_OK;
  case ASR_ERR_USAGE:
  case ASR_ERR_TARGET:
  case ASR_ERR_TOO_LARGE:
  case ASR_ERR_RESOLVE:
  case ASR_ERR_INVALID:
  case ASR_ERR_SECRET:
    return ASR_EXIT_USAGE;
  case ASR_ERR_IO:
  case ASR_ERR_PARSE:
    return ASR_EXIT_INPUT;
  case ASR_ERR_DB:
  case ASR_ERR_DB_LOCKED:
  case ASR_ERR_DB_VERSION:
    return ASR_EXIT_DB;
  case ASR_ERR_DB_CORRUPT:
    return ASR_EXIT_DAMAGED;
  case ASR_ERR_DISK_FULL:
    return ASR_EXIT_NOSPACE;
  case ASR_ERR_TIMEOUT:
  case ASR_ERR_AUTH:
  case ASR_ERR_NOT_FOUND:
  case ASR_ERR_NOT_PRINTER:
  case ASR_ERR_PROTOCOL:
    return ASR_EXIT_FAILURE;
  default:
    return ASR_EXIT_INTERNAL;
  }
}

const char *asr_cli_db_path(const char *opt)
{
  const char *env = getenv("ASR_AGENT_DB");

  if (opt && *opt)
    return opt;
  if (env && *env)
    return env;
  static char def[512];

  if (asr_platform_path(ASR_STATEDIR "/agent.db", def, sizeof(def)) != ASR_OK)
    return ASR_STATEDIR "/agent.db";
  return def;
}

/* ---- option errors ---- */

const char *asr_cli_closest(const char *word, const char *const *names)
{
  size_t len = strlen(word), best_d = len <= 3 ? 2 : len <= 8 ? 3 : len / 3 + 1; /* < this */
  const char *best = NULL;

  for (size_t i = 0; names && names[i]; i++) {
    size_t d = asr_edit_distance(word, names[i]);

    if (d < best_d) {
      best_d = d;
      best = names[i];
    }
  }
  return best;
}

/* The long names of longopts, NULL-terminated, into names (at most n - 1 of them). */
static void long_names(const struct option *lo, const char **names, size_t n)
{
  size_t k = 0;

  for (size_t i = 0; lo && lo[i].name && k + 1 < n; i++)
    names[k++] = lo[i].name;
  names[k] = NULL;
}

/* "--comunity=x" -> "comunity" (the name as typed, without dashes or value). */
static void typed_name(const char *arg, char *out, size_t n)
{
  while (*arg == '-')
    arg++;
  asr_strlcpy_cut(out, arg, n);
  out[strcspn(out, "=")] = '\0';
}

/* An abbreviation that several long options start with: lists them; 1 when it was one. */
static int report_ambiguous(const char *typed, const struct option *lo)
{
  char list[512] = "";
  size_t len = 0, hits = 0, tl = strlen(typed);

  for (size_t i = 0; tl && lo[i].name; i++) {
    if (strncmp(lo[i].name, typed, tl) == 0) {
      asr_append(list, sizeof(list), &len, "%s--%s", hits ? ", " : "", lo[i].name);
      hits++;
    }
  }
  if (hits < 2)
    return 0;
  asr_cli_error("option '--%s' is ambiguous: %s", typed, list);
  return 1;
}

/* True when name is one of the long options. */
static int is_long_option(const char *name, const struct option *lo)
{
  for (size_t i = 0; lo && lo[i].name; i++) {
    if (strcmp(lo[i].name, name) == 0)
      return 1;
  }
  return 0;
}

/* The option argv[at] was refused: says why, with the closest known one. "-community"
 * (one dash) is taken for the long option it resembles. Only the option's name is shown,
 * never a value glued to it ("--v3-auth-pass=..." must not echo a pass phrase). */
static void report_unknown(char **argv, int at, const struct option *lo)
{
  const char *names[128], *arg = argv[at], *best;
  int dashes = arg[0] == '-' ? 1 + (arg[1] == '-') : 0;
  char typed[128];

  typed_name(arg, typed, sizeof(typed));
  if (dashes == 2 && is_long_option(typed, lo)) {
    asr_cli_error("option '--%s' takes no value", typed);
    return;
  }
  if (dashes == 2 && report_ambiguous(typed, lo))
    return;
  long_names(lo, names, sizeof(names) / sizeof(names[0]));
  best = dashes == 2 || strlen(typed) > 3 ? asr_cli_closest(typed, names) : NULL;
  if (best)
    asr_cli_error("unknown option '%s%.100s' (did you mean --%s?)", dashes == 2 ? "--" : "-", typed,
                  best);
  else if (dashes == 1 && optopt > ' ' && optopt < 0x7f)
    asr_cli_error("unknown option '-%c'", optopt);
  else
    asr_cli_error("unknown option '%s%.100s'", dashes == 2 ? "--" : "", typed);
}

/* A missing value: the option is the long one whose code is optopt, else -optopt. */
static void report_missing(const struct option *lo)
{
  for (size_t i = 0; lo && lo[i].name; i++) {
    if (lo[i].flag == NULL && lo[i].val == optopt) {
      asr_cli_error("option '--%s' needs a value", lo[i].name);
      return;
    }
  }
  asr_cli_error("option '-%c' needs a value", optopt);
}

/* getopt_long took the long option li: was it written whole? GNU getopt also takes a
 * unique abbreviation, and "--v3-auth-pass SECRET" would then be read as
 * --v3-auth-pass-file SECRET and the secret shown as a file name; scripts with
 * abbreviations break when an option is added. So an abbreviation is refused, naming
 * the option meant. */
static int abbreviated(char **argv, const struct option *lo, int li)
{
  int at = optind - 1;
  char typed[128];

  if (optarg && at >= 1 && optarg == argv[at]) /* the value was the next element */
    at--;
  if (at < 1 || strncmp(argv[at], "--", 2) != 0)
    return 0;
  typed_name(argv[at], typed, sizeof(typed));
  if (strcmp(typed, lo[li].name) == 0)
    return 0;
  asr_cli_error("option '--%s' is not written whole: write --%s", typed, lo[li].name);
  return 1;
}

int asr_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
  char spec[64];
  int at = optind, c, li = -1;

  opterr = 0;
  optopt = 0;
  if (asr_fmt(spec, sizeof(spec), ":%s", shortopts) != ASR_OK)
    return '?';
  c = getopt_long(argc, argv, spec, longopts, &li);
  if (c != -1 && c != '?' && c != ':' && li >= 0 && abbreviated(argv, longopts, li))
    return '?';
  if (c == ':') {
    report_missing(longopts);
    return '?';
  }
  if (c == '?') {
    /* getopt moved past a bad long option; a bad letter of a cluster may leave it */
    if (optind > at && optind <= argc)
      at = optind - 1;
    report_unknown(argv, at < argc ? at : argc - 1, longopts);
  }
  return c;
}

void asr_cli_help_hint(const char *cmd)
{
  fprintf(stderr, "asr-agent: run 'asr-agent %s --help' for its options\n", cmd);
}

/* The folder of path into out ("." when path names none). */
static void parent_of(const char *path, char *out, size_t n)
{
  size_t last = SIZE_MAX;

  for (size_t i = 0; path[i]; i++) {
    if (asr_platform_is_sep(path[i]))
      last = i;
  }
  if (last == SIZE_MAX) {
    asr_strlcpy_cut(out, ".", n);
    return;
  }
  if (asr_strlcpy(out, path, n) != ASR_OK)
    out[0] = '\0';
  else
    out[last == 0 ? 1 : last] = '\0'; /* "/x.db" -> "/" */
}

bool asr_cli_db_usable(const char *opt, asr_cli_db_mode mode, char *msg, size_t n)
{
  char found[4096], dir[4096];

  msg[0] = '\0';
  if (!opt || !*opt || asr_platform_realpath(opt, found, sizeof(found)))
    return true;
  if (mode == ASR_CLI_DB_EXISTING) {
    asr_fmt_cut(msg, n,
                "%s: no database there (a --db PATH must exist; 'discover' or 'enroll' creates a "
                "new one)",
                opt);
    return false;
  }
  parent_of(opt, dir, sizeof(dir));
  if (dir[0] && asr_platform_realpath(dir, found, sizeof(found)))
    return true;
  asr_fmt_cut(msg, n, "%s: no folder %s (--db creates a database file, never its folders)", opt,
              dir[0] ? dir : "for it");
  return false;
}

int asr_cli_open_store(const char *opt, asr_cli_db_mode mode, asr_store **st)
{
  char err[512] = "";
  asr_result r;

  *st = NULL;
  if (!asr_cli_db_usable(opt, mode, err, sizeof(err))) {
    asr_cli_error("%s", err);
    return ASR_EXIT_DB;
  }
  r = asr_store_open(asr_cli_db_path(opt), st, err, sizeof(err));
  if (r) {
    asr_cli_error("%s", err[0] ? err : asr_result_str(r));
    return asr_cli_exit_for(r);
  }
  return -1;
}

int asr_cli_isatty(int fd)
{
  return asr_platform_isatty(fd);
}

void asr_cli_log_level(int verbose, int quiet)
{
  int level = ASR_LOG_WARN + verbose - quiet;

  if (level < ASR_LOG_ERR)
    level = ASR_LOG_ERR;
  if (level > ASR_LOG_DEBUG)
    level = ASR_LOG_DEBUG;
  asr_log_set_level((asr_log_level)level);
}

void asr_cli_snmp_init(asr_cli_snmp *s)
{
  memset(s, 0, sizeof(*s));
  asr_scan_opts_init(&s->scan);
  s->port = 161;
  s->version = ASR_SNMP_V2C;
}

static int take_uint(const char *name, const char *arg, unsigned min, unsigned max, unsigned *out)
{
  if (asr_parse_uint(arg, min, max, out) != ASR_OK) {
    asr_cli_error("--%s: '%s' is not a number from %u to %u", name, arg, min, max);
    return -1;
  }
  return 1;
}

/* --host-deadline MS: 0 (the default: ASR_SCAN_HOST_REQUESTS requests' worth), or
 * 100 ms to an hour. */
static int take_host_deadline(asr_cli_snmp *s, const char *arg)
{
  unsigned v;

  if (asr_parse_uint(arg, 0, 3600000, &v) != ASR_OK || (v > 0 && v < 100)) {
    asr_cli_error("--host-deadline: '%s' is not 0 (default) or 100 to 3600000 ms", arg);
    return -1;
  }
  s->scan.host_deadline_ms = v;
  return 1;
}

/* --deadline DURATION: the whole run ("600", "90s", "10m", "2h"); 0 = none, at most 7 days. */
static int take_deadline(asr_cli_snmp *s, const char *arg)
{
  int64_t v;

  if (asr_conf_parse_duration(arg, &v) != ASR_OK || v < 0 || v > 7 * 86400) {
    asr_cli_error("--deadline: '%s' is not a duration up to 7d (600, 90s, 10m, 2h; 0 = none)", arg);
    return -1;
  }
  s->scan.deadline_ms = (unsigned)(v * 1000);
  return 1;
}

static int take_version(asr_cli_snmp *s, const char *arg)
{
  if (strcmp(arg, "1") == 0)
    s->version = ASR_SNMP_V1;
  else if (strcmp(arg, "2c") == 0 || strcmp(arg, "2") == 0)
    s->version = ASR_SNMP_V2C;
  else {
    asr_cli_error("--snmp-version: '%s' is not 1 or 2c (for SNMPv3 use --v3-user)", arg);
    return -1;
  }
  return 1;
}

static int take_community(asr_cli_snmp *s, const char *arg)
{
  if (s->n_communities >= ASR_CLI_COMMUNITIES_MAX) {
    asr_cli_error("--community: at most %d communities", ASR_CLI_COMMUNITIES_MAX);
    return -1;
  }
  if (!*arg || strlen(arg) >= sizeof(s->creds[0].community)) {
    asr_cli_error("--community: a community is 1 to %zu characters",
                  sizeof(s->creds[0].community) - 1);
    return -1;
  }
  s->communities[s->n_communities++] = arg;
  return 1;
}

int asr_cli_snmp_option(asr_cli_snmp *s, int code, const char *arg)
{
  switch (code) {
  case ASR_OPT_COMMUNITY:
    return take_community(s, arg);
  case ASR_OPT_SNMP_VERSION:
    return take_version(s, arg);
  case ASR_OPT_V3_USER:
    s->v3_user = arg;
    return 1;
  case ASR_OPT_V3_AUTH_PROTO:
    s->v3_auth = arg;
    return 1;
  case ASR_OPT_V3_PRIV_PROTO:
    s->v3_priv = arg;
    return 1;
  case ASR_OPT_V3_CONTEXT:
    s->v3_context = arg;
    return 1;
  case ASR_OPT_V3_AUTH_PASS_FILE:
    s->v3_auth_file = arg;
    return 1;
  case ASR_OPT_V3_PRIV_PASS_FILE:
    s->v3_priv_file = arg;
    return 1;
  case ASR_OPT_PORT:
    return take_uint("port", arg, 1, 65535, &s->port);
  case ASR_OPT_TIMEOUT:
    return take_uint("timeout", arg, 10, 60000, &s->scan.timeout_ms);
  case ASR_OPT_RETRIES:
    return take_uint("retries", arg, 0, 10, &s->scan.retries);
  case ASR_OPT_CONCURRENCY:
    return take_uint("concurrency", arg, 1, 900, &s->scan.concurrency);
  case ASR_OPT_HOST_DEADLINE:
    return take_host_deadline(s, arg);
  case ASR_OPT_DEADLINE:
    return take_deadline(s, arg);
  default:
    return 0;
  }
}

/* SNMPv3 (RFC 3414 11.2) turns a pass phrase into a key only from 8 characters on:
 * net-snmp would refuse a shorter one at the first host, so it is refused here, before
 * any packet, naming where it came from (never the pass phrase itself). */
#define V3_PASS_MIN 8

static asr_result check_pass_length(const char *what, const char *from, const char *pass)
{
  size_t len = strlen(pass);

  if (len >= V3_PASS_MIN)
    return ASR_OK;
  asr_cli_error("%s pass phrase from %s is too short: %zu %s, SNMPv3 needs at least %d", what, from,
                len, asr_plural((long long)len, "character", "characters"), V3_PASS_MIN);
  return ASR_ERR_USAGE;
}

/* Reads one v3 pass phrase: the file when given, else the environment variable. */
static asr_result read_pass(const char *what, const char *file, const char *env, char *out,
                            size_t n, int required)
{
  char err[512];
  asr_result r;

  if (file) {
    r = asr_secret_from_file(file, what, out, n, err, sizeof(err));
    if (r)
      asr_cli_error("%s pass phrase: %s", what, err);
    else
      r = check_pass_length(what, file, out);
    return r;
  }
  r = asr_secret_from_env(env, out, n);
  if (r == ASR_OK)
    return check_pass_length(what, env, out);
  if (r == ASR_ERR_NOT_FOUND && !required)
    return ASR_OK;
  if (r == ASR_ERR_NOT_FOUND)
    asr_cli_error("%s pass phrase: give --v3-%s-pass-file FILE or set %s", what, what, env);
  else if (r)
    asr_cli_error("%s pass phrase in %s is too long", what, env);
  return r;
}

static asr_result finish_v3_protos(asr_cli_snmp *s, asr_snmp_cred *c)
{
  if (s->v3_auth && asr_snmp_auth_parse(s->v3_auth, &c->auth_proto) != ASR_OK) {
    asr_cli_error("--v3-auth-proto: '%s' is not MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512",
                  s->v3_auth);
    return ASR_ERR_USAGE;
  }
  if (s->v3_priv && asr_snmp_priv_parse(s->v3_priv, &c->priv_proto) != ASR_OK) {
    asr_cli_error("--v3-priv-proto: '%s' is not DES, AES, AES-192 or AES-256", s->v3_priv);
    return ASR_ERR_USAGE;
  }
  if (c->priv_proto != ASR_PRIV_NONE && c->auth_proto == ASR_AUTH_NONE) {
    asr_cli_error("--v3-priv-proto needs --v3-auth-proto (privacy without authentication)");
    return ASR_ERR_USAGE;
  }
  return ASR_OK;
}

static asr_result finish_v3(asr_cli_snmp *s, asr_snmp_cred *c)
{
  asr_result r;

  c->version = ASR_SNMP_V3;
  if (asr_strlcpy(c->user, s->v3_user, sizeof(c->user)) != ASR_OK || !*s->v3_user) {
    asr_cli_error("--v3-user: a user name is 1 to %zu characters", sizeof(c->user) - 1);
    return ASR_ERR_USAGE;
  }
  if (s->v3_context && asr_strlcpy(c->context, s->v3_context, sizeof(c->context)) != ASR_OK) {
    asr_cli_error("--v3-context: at most %zu characters", sizeof(c->context) - 1);
    return ASR_ERR_USAGE;
  }
  r = finish_v3_protos(s, c);
  if (r)
    return r;
  if (c->auth_proto != ASR_AUTH_NONE) {
    r = read_pass("auth", s->v3_auth_file, "ASR_SNMP_AUTH_PASS", c->auth_pass, sizeof(c->auth_pass),
                  1);
    if (r)
      return r;
  }
  if (c->priv_proto != ASR_PRIV_NONE)
    r = read_pass("priv", s->v3_priv_file, "ASR_SNMP_PRIV_PASS", c->priv_pass, sizeof(c->priv_pass),
                  1);
  return r;
}

asr_result asr_cli_snmp_finish(asr_cli_snmp *s)
{
  asr_result r;

  s->n_creds = 0;
  if (!s->v3_user &&
      (s->v3_auth || s->v3_priv || s->v3_context || s->v3_auth_file || s->v3_priv_file)) {
    asr_cli_error("SNMPv3 options need --v3-user");
    return ASR_ERR_USAGE;
  }
  if (s->v3_user) {
    r = finish_v3(s, &s->creds[s->n_creds]);
    if (r)
      return r;
    s->n_creds++;
  }
  if (s->v3_user && s->n_communities == 0)
    return ASR_OK;
  if (s->n_communities == 0)
    s->communities[s->n_communities++] = "public";
  for (size_t i = 0; i < s->n_communities; i++) {
    asr_snmp_cred *c = &s->creds[s->n_creds++];

    c->version = s->version;
    r = asr_strlcpy(c->community, s->communities[i], sizeof(c->community));
    if (r)
      return r; /* take_community refused it already: never cut a community */
  }
  return ASR_OK;
}

void asr_cli_snmp_wipe(asr_cli_snmp *s)
{
  asr_secret_wipe(s->creds, sizeof(s->creds));
}

int asr_cli_proxy_user(const char *file, char *out, size_t n)
{
  char err[640];

  if (asr_proxy_user_read(file, out, n, err, sizeof(err)) == ASR_OK)
    return -1;
  asr_cli_error("%s", err);
  return ASR_EXIT_USAGE;
}
