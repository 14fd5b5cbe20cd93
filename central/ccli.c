/* ccli.c: the asr-central commands: serve, site add/list, devices, agent revoke.
 * Results go to stdout, diagnostics and the request log to stderr. */
#include "central/ccli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "central/ccli_rp.h"
#include "central/cstore.h"
#include "central/csiteconf.h"
#include "central/ingest.h"
#include "central/server.h"
#include "central/simulate.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/device.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "wire/smtp.h"

enum {
  OPT_HELP = 'h',
  OPT_DB = 256,
  OPT_LISTEN,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_THREADS,
  OPT_MAX_BODY,
  OPT_CONTACT,
  OPT_ADDRESS,
  OPT_FORMAT,
  OPT_SITE,
  OPT_VERBOSE,
  OPT_LIMIT,
  OPT_NAME,
  OPT_MAX_CONNS,
  OPT_PER_IP,
  OPT_HEADER_TIMEOUT,
  OPT_REQUEST_TIMEOUT,
  OPT_MEMORY_BUDGET,
  OPT_BATCH_MEMORY,
  OPT_PAGE_THREADS,
  OPT_PAGE_QUEUE,
  OPT_TLS_MIN,
  OPT_TLS_PRIO,
  OPT_ROTATE,
  OPT_REVOKE,
  OPT_TOKEN_FILE,
  OPT_KEEP_TOKEN,
  OPT_NO_PORTAL,
  OPT_TRUSTED_PROXY,
  OPT_PORTAL_URL,
  OPT_HELPDESK,
};

#define cli_error ccli_error

/* "json" or "table" into *json; -1 with a message otherwise. */
static int parse_format(const char *arg, int *json)
{
  if (strcmp(arg, "json") == 0)
    *json = 1;
  else if (strcmp(arg, "table") == 0)
    *json = 0;
  else {
    cli_error("--format: '%s' is not json or table", arg);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * serve */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
  (void)sig;
  stop_requested = 1;
}

static void request_log(const central_request_log *l, void *ctx)
{
  (void)ctx;
  fprintf(stderr, "asr-central: %s %s %d agent=%s batch=%s %lldms\n", l->method, l->path, l->status,
          *l->agent_id ? l->agent_id : "-", *l->batch_id ? l->batch_id : "-", (long long)l->ms);
}

static void serve_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-central serve --listen ADDR:PORT --db FILE [--tls-cert FILE"
          " --tls-key FILE]\n       [--tls-min-version 1.2|1.3] [--tls-priorities STRING]"
          " [--threads N] [--max-body BYTES] [-v]\n"
          "       [--max-connections N] [--max-connections-per-ip N] [--header-timeout SECONDS]\n"
          "       [--request-timeout SECONDS] [--memory-budget BYTES] [--batch-memory BYTES]\n"
          "       [--page-threads N] [--page-queue N]\n"
          "       [--no-portal] [--portal-url URL] [--helpdesk-mail ADDRESS]"
          " [--trusted-proxy ADDR ...]\n"
          "       [--rules FILE] [--disconnect-days N] [--mail-interval SECONDS] [--no-replenish]\n"
          "       [--retention-days N] [--rollup-days N] [--secrets-key-file FILE]\n"
          "       [--smtp-url URL --mail-from ADDRESS [--smtp-user USER"
          " --smtp-password-file FILE]\n        [--smtp-ca-file FILE] [--smtp-starttls]]\n"
          "--db is a SQLite FILE or a PostgreSQL URI postgresql://USER@HOST:PORT/DB (its password"
          " in\n--db-password-file FILE, mode 0600, or PGPASSFILE: never in the URI), for every"
          " command.\n--secrets-key-file FILE: the key of the sealed configuration secrets"
          " (default FILE.key beside\na SQLite --db; PostgreSQL: give it, the same file on"
          " every node).\n");
}

/* A size in bytes, with an optional K, M or G (binary) suffix, within [min, max]. */
static asr_result parse_size(const char *arg, size_t min, size_t max, size_t *out)
{
  char digits[24];
  size_t n = strlen(arg), shift = 0;
  int64_t v = 0;

  if (n && (arg[n - 1] == 'K' || arg[n - 1] == 'k'))
    shift = 10;
  else if (n && (arg[n - 1] == 'M' || arg[n - 1] == 'm'))
    shift = 20;
  else if (n && (arg[n - 1] == 'G' || arg[n - 1] == 'g'))
    shift = 30;
  if (shift)
    n--;
  if (n == 0 || n >= sizeof(digits))
    return ASR_ERR_INVALID;
  memcpy(digits, arg, n);
  digits[n] = '\0';
  if (asr_parse_i64(digits, 0, (int64_t)(max >> shift), &v) != ASR_OK)
    return ASR_ERR_INVALID;
  *out = (size_t)v << shift;
  return *out >= min ? ASR_OK : ASR_ERR_INVALID;
}

/* serve's bounds of clients and requests; -1 with a message on a bad value. */
static int serve_limit_option(central_server_opts *o, int c, const char *arg)
{
  static const struct {
    int opt;
    const char *name;
    unsigned min, max;
    size_t off;
  } uints[] = {
      {OPT_MAX_CONNS, "--max-connections", 16, 65536,
       offsetof(central_server_opts, max_connections)},
      {OPT_PER_IP, "--max-connections-per-ip", 1, 65536,
       offsetof(central_server_opts, per_ip_connections)},
      {OPT_HEADER_TIMEOUT, "--header-timeout", 1, 3600,
       offsetof(central_server_opts, header_timeout)},
      {OPT_REQUEST_TIMEOUT, "--request-timeout", 1, 86400,
       offsetof(central_server_opts, request_timeout)},
      {OPT_PAGE_THREADS, "--page-threads", 1, 64, offsetof(central_server_opts, page_threads)},
      {OPT_PAGE_QUEUE, "--page-queue", 1, 4096, offsetof(central_server_opts, page_queue)},
  };
  size_t *size = c == OPT_MEMORY_BUDGET ? &o->memory_budget : &o->batch_memory;

  for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
    if (uints[i].opt != c)
      continue;
    if (asr_parse_uint(arg, uints[i].min, uints[i].max,
                       (unsigned *)(void *)((char *)o + uints[i].off)) == ASR_OK)
      return 0;
    cli_error("%s: '%s' is not a number from %u to %u", uints[i].name, arg, uints[i].min,
              uints[i].max);
    return -1;
  }
  if (parse_size(arg, (size_t)16 << 20, (size_t)1 << 40, size) == ASR_OK)
    return 0;
  cli_error("%s: '%s' is not a size from 16M to 1024G (bytes, or a number and K, M or G)",
            c == OPT_MEMORY_BUDGET ? "--memory-budget" : "--batch-memory", arg);
  return -1;
}

/* A portal URL: http(s)://, printable ASCII, no spaces, no query; the links are built on it. */
static bool portal_url_ok(const char *s)
{
  size_t n = strlen(s);

  if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) || n > 200 ||
      s[n - 1] == '/')
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~' || s[i] == '?' || s[i] == '#' || s[i] == '"' || s[i] == '\\')
      return false;
  return true;
}

/* serve's portal options; -1 with a message on a bad value. */
static int serve_portal_option(central_server_opts *o, int c, const char *arg)
{
  size_t i = 0;

  switch (c) {
  case OPT_NO_PORTAL:
    o->no_portal = true;
    return 0;
  case OPT_PORTAL_URL:
    if (!portal_url_ok(arg)) {
      cli_error("--portal-url: '%s' is not http(s)://HOST[:PORT][/PATH] without a final '/'", arg);
      return -1;
    }
    o->portal_url = arg;
    return 0;
  case OPT_HELPDESK:
    if (!asr_smtp_address_ok(arg)) {
      cli_error("--helpdesk-mail: '%s' is not a plain address local@domain", arg);
      return -1;
    }
    o->helpdesk = arg;
    return 0;
  default:
    while (i < CENTRAL_PROXIES_MAX && o->trusted_proxies[i])
      i++;
    if (i == CENTRAL_PROXIES_MAX) {
      cli_error("--trusted-proxy: at most %d addresses", CENTRAL_PROXIES_MAX);
      return -1;
    }
    o->trusted_proxies[i] = arg;
    return 0;
  }
}

static int serve_option(central_server_opts *o, int c, const char *arg, int *verbose)
{
  unsigned v = 0;

  switch (c) {
  case OPT_MAX_CONNS:
  case OPT_PER_IP:
  case OPT_HEADER_TIMEOUT:
  case OPT_REQUEST_TIMEOUT:
  case OPT_PAGE_THREADS:
  case OPT_PAGE_QUEUE:
  case OPT_MEMORY_BUDGET:
  case OPT_BATCH_MEMORY:
    return serve_limit_option(o, c, arg);
  case OPT_TLS_MIN:
    if (!central_tls_priorities(arg)) {
      cli_error("--tls-min-version: '%s' is not 1.2 or 1.3", arg);
      return -1;
    }
    o->tls_min_version = arg;
    return 0;
  case OPT_TLS_PRIO:
    o->tls_priorities = arg;
    return 0;
  case OPT_NO_PORTAL:
  case OPT_TRUSTED_PROXY:
  case OPT_PORTAL_URL:
  case OPT_HELPDESK:
    return serve_portal_option(o, c, arg);
  case OPT_LISTEN:
    o->listen = arg;
    return 0;
  case CCLI_OPT_SECRETS_KEY_FILE:
    return csiteconf_key_file_option(arg);
  case OPT_DB:
    o->db_path = arg;
    return 0;
  case OPT_TLS_CERT:
    o->tls_cert = arg;
    return 0;
  case OPT_TLS_KEY:
    o->tls_key = arg;
    return 0;
  case OPT_VERBOSE:
    (*verbose)++;
    return 0;
  case OPT_THREADS:
    if (asr_parse_uint(arg, 1, 64, &v) != ASR_OK)
      break;
    o->threads = v;
    return 0;
  case OPT_MAX_BODY:
    if (asr_parse_uint(arg, 1024, INGEST_MAX_COMPRESSED, &v) != ASR_OK)
      break;
    o->max_body = v;
    return 0;
  default:
    return ccli_rp_serve_option(c, arg) == 0 ? 0 : -1;
  }
  cli_error("'%s': not a valid value (--threads 1..64, --max-body 1024..%u)", arg,
            INGEST_MAX_COMPRESSED);
  return -1;
}

static int serve_args(int argc, char **argv, central_server_opts *o, int *verbose)
{
  static const struct option longopts[] = {
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"db", required_argument, NULL, OPT_DB},
      {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
      {"tls-key", required_argument, NULL, OPT_TLS_KEY},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"max-body", required_argument, NULL, OPT_MAX_BODY},
      {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
      {"max-connections-per-ip", required_argument, NULL, OPT_PER_IP},
      {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
      {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
      {"memory-budget", required_argument, NULL, OPT_MEMORY_BUDGET},
      {"batch-memory", required_argument, NULL, OPT_BATCH_MEMORY},
      {"page-threads", required_argument, NULL, OPT_PAGE_THREADS},
      {"page-queue", required_argument, NULL, OPT_PAGE_QUEUE},
      {"tls-min-version", required_argument, NULL, OPT_TLS_MIN},
      {"tls-priorities", required_argument, NULL, OPT_TLS_PRIO},
      {"no-portal", no_argument, NULL, OPT_NO_PORTAL},
      {"trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY},
      {"portal-url", required_argument, NULL, OPT_PORTAL_URL},
      {"helpdesk-mail", required_argument, NULL, OPT_HELPDESK},
      {"secrets-key-file", required_argument, NULL, CCLI_OPT_SECRETS_KEY_FILE},
      {"verbose", no_argument, NULL, OPT_VERBOSE},
      {"help", no_argument, NULL, OPT_HELP},
  };
  struct option all[sizeof(longopts) / sizeof(longopts[0]) + CCLI_RP_NOPTS + 1];
  int c;

  if (!ccli_rp_merge_options(all, sizeof(all) / sizeof(all[0]), longopts,
                             sizeof(longopts) / sizeof(longopts[0])))
    return -1;
  while ((c = getopt_long(argc, argv, "hv", all, NULL)) != -1) {
    if (c == OPT_HELP) {
      serve_usage(stdout);
      return 1;
    }
    if (serve_option(o, c == 'v' ? OPT_VERBOSE : c, optarg, verbose))
      return -1;
  }
  if (optind != argc || !o->listen || !o->db_path) {
    serve_usage(stderr);
    return -1;
  }
  if (o->batch_memory && o->batch_memory > o->memory_budget) {
    cli_error("--batch-memory (%zu MiB) is more than --memory-budget (%zu MiB)",
              o->batch_memory >> 20, o->memory_budget >> 20);
    return -1;
  }
  return 0;
}

/* Checks the database once before listening (so a bad --db fails at start). */
static asr_result serve_check_db(const char *path)
{
  cstore *st = NULL;
  asr_result r = ccli_open_db(path, &st);

  cstore_close(st);
  return r;
}

/* Checks --secrets-key-file's file before listening: a bad one stops serve (exit 2), a
 * missing one is said (the first secret set creates it; check-ins with secrets fail until a
 * copy is there). */
static int serve_check_key(void)
{
  char err[600] = "";
  asr_result r = csiteconf_key_check(err, sizeof(err));

  if (r == ASR_ERR_NOT_FOUND)
    cli_error("warning: --secrets-key-file: %s (check-ins with sealed secrets fail until the"
              " file is there)",
              err);
  else if (r)
    cli_error("--secrets-key-file: %s", err);
  return r && r != ASR_ERR_NOT_FOUND ? -1 : 0;
}

static void serve_wait(void)
{
  struct sigaction sa;
  struct timespec ts = {0, 200000000L};

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  while (!stop_requested)
    nanosleep(&ts, NULL);
}

int ccli_serve(int argc, char **argv)
{
  char err[512], ss[128];
  central_server_opts o;
  central_server *sv = NULL;
  asr_rp_conf rules;
  int verbose = 0, loopback = 0, rc;
  size_t sslen = sizeof(ss);
  asr_result r;

  central_server_opts_init(&o);
  rc = serve_args(argc, argv, &o, &verbose);
  if (rc)
    return rc > 0 ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
  ccli_log_init(verbose);
  if (central_parse_listen(o.listen, ss, &sslen, &loopback) != ASR_OK) {
    cli_error("--listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:8443 or [::1]:8443)", o.listen);
    return CCLI_EXIT_USAGE;
  }
  if (!o.tls_cert && !loopback)
    cli_error("warning: plain HTTP on a non-loopback address (%s): use --tls-cert/--tls-key",
              o.listen);
  if (!o.tls_cert && !o.no_portal && !o.trusted_proxies[0])
    cli_error("warning: the portal's cookies are Secure: browsers keep them over HTTPS (or a"
              " TLS reverse proxy, --trusted-proxy) only; plain HTTP is for loopback tests");
  r = serve_check_db(o.db_path);
  if (r)
    return ccli_exit_for(r);
  if (serve_check_key())
    return CCLI_EXIT_USAGE;
  rc = ccli_rp_serve_conf(&rules);
  if (rc)
    return rc;
  o.rules = &rules;
  o.log_cb = request_log;
  o.mail_from = ccli_rp_mail_from();
  o.mail_kick = ccli_rp_kick;
  r = central_server_start(&o, &sv, err, sizeof(err));
  if (r) {
    cli_error("%s", err);
    return r == ASR_ERR_USAGE ? CCLI_EXIT_USAGE : CCLI_EXIT_NETWORK;
  }
  rc = ccli_rp_start(o.db_path);
  if (rc) {
    central_server_stop(sv);
    return rc;
  }
  fprintf(stderr, "asr-central: listening on %s (%s), port %u\n", o.listen,
          o.tls_cert ? "https" : "http", (unsigned)central_server_port(sv));
  serve_wait();
  fprintf(stderr, "asr-central: stopping\n");
  ccli_rp_stop();
  central_server_stop(sv);
  return CCLI_EXIT_OK;
}

/* ---------------------------------------------------------------------------------------
 * site add / site list */

typedef struct {
  const char *db, *contact, *address, *name;
  const char *token_file; /* site add, site token --rotate: the token goes there (0600) */
  int json;
  int token_op; /* site token: OPT_ROTATE or OPT_REVOKE */
} site_opts;

/* site add/list options; the mail options (--mail-from, --smtp-url...) of the registration
 * mail go to the replenishment settings (ccli_rp_serve_option). */
static int site_args(int argc, char **argv, site_opts *o)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, OPT_DB},
      {"contact", required_argument, NULL, OPT_CONTACT},
      {"address", required_argument, NULL, OPT_ADDRESS},
      {"name", required_argument, NULL, OPT_NAME},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"rotate", no_argument, NULL, OPT_ROTATE},
      {"revoke", no_argument, NULL, OPT_REVOKE},
      {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
      {"help", no_argument, NULL, OPT_HELP},
  };
  struct option all[sizeof(longopts) / sizeof(longopts[0]) + CCLI_RP_NOPTS + 1];
  int c;

  if (!ccli_rp_merge_options(all, sizeof(all) / sizeof(all[0]), longopts,
                             sizeof(longopts) / sizeof(longopts[0])))
    return -1;
  while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
    if (c == OPT_DB)
      o->db = optarg;
    else if (c == OPT_CONTACT)
      o->contact = optarg;
    else if (c == OPT_ADDRESS)
      o->address = optarg;
    else if (c == OPT_NAME)
      o->name = optarg;
    else if (c == OPT_TOKEN_FILE)
      o->token_file = optarg;
    else if ((c == OPT_ROTATE || c == OPT_REVOKE) && (!o->token_op || o->token_op == c))
      o->token_op = c;
    else if (c == OPT_FORMAT && parse_format(optarg, &o->json) == 0)
      continue;
    else if (c == OPT_HELP || c == 'h' || c == OPT_FORMAT || ccli_rp_serve_option(c, optarg) != 0)
      return -1;
  }
  return 0;
}

/* Opens (creating or truncating) the file a site token goes to, readable by its owner
 * only whatever it was before; -1 with a message. */
static int token_file_open(const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || fchmod(fd, 0600) != 0) {
    cli_error("--token-file %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* Writes the token and a newline to fd and closes it; the result. */
static asr_result token_file_write(int fd, const char *path, const char *token)
{
  char line[CSTORE_TOKEN_LEN + 2];
  size_t n = 0;
  asr_result r = asr_fmt(line, sizeof(line), "%s\n", token);

  n = strlen(line);
  if (!r && (write(fd, line, n) != (ssize_t)n || fsync(fd) != 0)) {
    cli_error("--token-file %s: %s", path, strerror(errno));
    r = ASR_ERR_IO;
  }
  asr_secret_wipe(line, sizeof(line));
  if (close(fd) != 0 && !r) {
    cli_error("--token-file %s: %s", path, strerror(errno));
    r = ASR_ERR_IO;
  }
  return r;
}

/* A new token: into --token-file (0600), else on standard output. */
static asr_result token_out(int fd, const site_opts *o, const char *token)
{
  if (fd < 0) {
    printf("%s\n", token);
    return fflush(stdout) == 0 ? ASR_OK : ASR_ERR_IO;
  }
  return token_file_write(fd, o->token_file, token);
}

/* The supplies contact: an address the notices can be sent to, given bare or as mail
 * programs show it ("Ops <ops@acme.example>", wire/smtp.h); *addr receives the address. */
static bool contact_ok(const char *s, char *name, size_t name_n, char *addr, size_t addr_n)
{
  return s && asr_smtp_mailbox_parse(s, name, name_n, addr, addr_n) &&
         strlen(addr) < CSTORE_NAME_MAX;
}

/* A site name: 1..255 bytes of printable text. */
static bool name_ok(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n >= CSTORE_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return false;
  }
  return true;
}

/* The site, its first contact (named) and the history, in one transaction. */
static asr_result site_add_tx(cstore *st, const char *name, const site_opts *o, const char *addr,
                              const char *who, char *token, size_t tokenn, int64_t *contact)
{
  asr_result r = cstore_tx_begin(st);
  const char *cname = o->name ? o->name : (who && who[0] ? who : NULL);

  if (!r)
    r = cstore_site_add(st, name, addr, o->address, asr_clock_now(), token, tokenn);
  if (!r)
    r = cstore_contact_find(st, name, NULL, contact);
  if (!r && cname)
    r = cstore_contact_update(st, *contact, cname, NULL, NULL, asr_clock_now());
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  return r;
}

static int site_add(const char *name, const site_opts *o)
{
  char token[CSTORE_TOKEN_LEN + 1], who[CSTORE_NAME_MAX], addr[CSTORE_NAME_MAX];
  cstore *st = NULL;
  int64_t contact = 0;
  int fd = -1;
  asr_result r;

  if (!name_ok(name)) {
    cli_error("site add: NAME must be 1 to 255 printable bytes");
    return CCLI_EXIT_USAGE;
  }
  if (!o->contact) {
    cli_error("site add: --contact is required: the supplies contact's e-mail address"
              " (ops@acme.example, or 'Ops <ops@acme.example>')");
    return CCLI_EXIT_USAGE;
  }
  if (!contact_ok(o->contact, who, sizeof(who), addr, sizeof(addr))) {
    cli_error("site add: --contact '%.200s' is not an e-mail address: give local@domain"
              " (printable ASCII, no spaces) or Name <local@domain>",
              o->contact);
    return CCLI_EXIT_USAGE;
  }
  if (o->address && (strlen(o->address) >= CSTORE_NAME_MAX || !name_ok(o->address))) {
    cli_error("site add: --address must be 1 to 255 printable bytes");
    return CCLI_EXIT_USAGE;
  }
  if (o->name && (strlen(o->name) >= CSTORE_NAME_MAX || !name_ok(o->name))) {
    cli_error("site add: --name (the contact's) must be 1 to 255 printable bytes");
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o->db, &st);
  fd = !r && o->token_file ? token_file_open(o->token_file) : -1;
  if (!r && o->token_file && fd < 0)
    r = ASR_ERR_IO;
  if (!r) {
    r = site_add_tx(st, name, o, addr, who, token, sizeof(token), &contact);
    if (r)
      cli_error("%s", cstore_errmsg(st));
    else {
      r = token_out(fd, o, token);
      fd = -1;
    }
  }
  asr_secret_wipe(token, sizeof(token));
  if (fd >= 0)
    close(fd);
  if (!r) {
    /* the confirmation mail: queued in the outbox now (sent now with --smtp-url) */
    r = ccli_rp_registered(st, contact);
    cstore_close(st);
    return r == ASR_ERR_IO ? CCLI_EXIT_NETWORK : ccli_exit_for(r);
  }
  cstore_close(st);
  return ccli_exit_for(r);
}

/* site token NAME --rotate|--revoke */
static int site_token(const char *name, const site_opts *o)
{
  char token[CSTORE_TOKEN_LEN + 1] = "";
  cstore *st = NULL;
  int fd = -1;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r && o->token_op == OPT_ROTATE && o->token_file) {
    fd = token_file_open(o->token_file);
    r = fd < 0 ? ASR_ERR_IO : ASR_OK;
  }
  if (!r && o->token_op == OPT_ROTATE)
    r = cstore_site_token_rotate(st, name, asr_now(), token, sizeof(token));
  else if (!r)
    r = cstore_site_token_revoke(st, name, asr_now());
  if (r && st && r != ASR_ERR_IO)
    cli_error("%s", cstore_errmsg(st));
  if (!r && o->token_op == OPT_ROTATE) {
    r = token_out(fd, o, token);
    fd = -1;
    fprintf(stderr, "asr-central: site '%s': a new site token%s%s; the old one enrols nothing\n",
            name, o->token_file ? " is in " : " was printed", o->token_file ? o->token_file : "");
  } else if (!r) {
    fprintf(stderr,
            "asr-central: site '%s': its site token is revoked, no agent can enrol with it"
            " (its agents keep working); 'site token --rotate' issues a new one\n",
            name);
  }
  if (fd >= 0)
    close(fd);
  asr_secret_wipe(token, sizeof(token));
  cstore_close(st);
  return ccli_exit_for(r);
}

static int print_site(const cstore_site *s, void *ctx)
{
  char when[32];
  json_t *arr = ctx;

  asr_time_iso(s->created_at, when, sizeof(when));
  if (arr)
    json_array_append_new(arr,
                          json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "name", s->name, "contact",
                                    s->contact, "address", s->address, "created_at", when, "agents",
                                    (json_int_t)s->agents, "devices", (json_int_t)s->devices,
                                    "token", s->token_revoked ? "revoked" : "active"));
  else
    printf("%-24s %-32s %6lld %8lld  %-20s  %s\n", s->name, s->contact, (long long)s->agents,
           (long long)s->devices, when, s->token_revoked ? "revoked" : "active");
  return 0;
}

static int site_list(const site_opts *o)
{
  cstore *st = NULL;
  json_t *arr = o->json ? json_array() : NULL;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r && !o->json)
    printf("%-24s %-32s %6s %8s  %-20s  %s\n", "SITE", "CONTACT", "AGENTS", "DEVICES", "CREATED",
           "TOKEN");
  if (!r)
    r = cstore_site_foreach(st, print_site, arr);
  if (r && st)
    cli_error("%s", cstore_errmsg(st));
  if (!r && arr)
    ccli_print_doc("sites", arr);
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

static int site_usage(const char *sub)
{
  fprintf(stderr, "usage: asr-central site add NAME --contact EMAIL [--name TEXT] [--address TEXT]"
                  " [--token-file FILE] --db FILE\n"
                  "         [--mail-from ADDRESS] [--smtp-url URL ...]\n"
                  "       asr-central site list --db FILE [--format json|table]\n"
                  "       asr-central site token NAME --rotate [--token-file FILE] --db FILE\n"
                  "       asr-central site token NAME --revoke --db FILE\n"
                  "       asr-central site config NAME --db FILE [--set KEY=VALUE]..."
                  " [--unset KEY]... [--show] [--history]\n");
  return strcmp(sub, "--help") == 0 ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
}

int ccli_site(int argc, char **argv)
{
  site_opts o = {.json = 0};
  const char *sub = argc > 1 ? argv[1] : "";

  if (strcmp(sub, "config") == 0) /* central/csiteconf.c */
    return csiteconf_cli(argc - 1, argv + 1);
  if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "token") != 0)
    return site_usage(sub);
  if (site_args(argc - 1, argv + 1, &o))
    return CCLI_EXIT_USAGE;
  if (strcmp(sub, "list") == 0)
    return optind == argc - 1 ? site_list(&o) : CCLI_EXIT_USAGE;
  if (optind != argc - 2) {
    cli_error("site %s: one NAME expected", sub);
    return CCLI_EXIT_USAGE;
  }
  if (strcmp(sub, "add") == 0)
    return site_add(argv[optind + 1], &o);
  if (!o.token_op || (o.token_op == OPT_REVOKE && o.token_file)) {
    cli_error("site token: --rotate [--token-file FILE] or --revoke");
    return CCLI_EXIT_USAGE;
  }
  return site_token(argv[optind + 1], &o);
}

/* ---------------------------------------------------------------------------------------
 * devices */

static json_t *opt_int_json(bool has, int64_t v)
{
  return has ? json_integer((json_int_t)v) : json_null();
}

/* What people call a supply type (RFC 3805 names otherwise). */
static const struct {
  const char *type, *name;
} type_names[] = {
    {"opc", "drum"},
    {"wasteToner", "waste toner"},
    {"wasteInk", "waste ink"},
    {"transferUnit", "transfer unit"},
    {"cleanerUnit", "cleaner unit"},
    {"fuserOil", "fuser oil"},
    {"inkRibbon", "ink ribbon"},
    {"coronaWire", "corona wire"},
};

/* A supply's label in `devices`: a toner or ink (ordered by ASR) by its colorant, any other
 * supply (a drum, a fuser, a waste container) by its type, its colorant beside it: a drum
 * must not read like a toner (issue 11). */
static void supply_label(const cstore_supply_row *s, char *buf, size_t n)
{
  const char *type = s->type && *s->type ? s->type : NULL;
  const char *col = s->colorant && *s->colorant ? s->colorant : NULL;
  bool asr = type && asr_rp_type_forecast_ordered(asr_supply_type_code(type));

  if (asr || !type) {
    asr_strlcpy_cut(buf, col ? col : type ? type : "?", n);
    return;
  }
  for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
    if (strcmp(type, type_names[i].type) == 0)
      type = type_names[i].name;
  if (col && strcmp(s->type, "wasteToner") != 0)
    asr_fmt_cut(buf, n, "%s (%s)", type, col);
  else
    asr_strlcpy_cut(buf, type, n);
}

static json_t *supplies_json(const cstore_device_row *d)
{
  json_t *arr = json_array();
  char label[CSTORE_NAME_MAX + 32];

  for (size_t i = 0; arr && i < d->n_supplies; i++) {
    const cstore_supply_row *s = &d->supplies[i];
    supply_label(s, label, sizeof(label));
    json_array_append_new(arr,
                          json_pack("{s:i,s:s?,s:s?,s:s,s:b,s:o,s:o,s:o}", "index", (int)s->index,
                                    "type", s->type, "colorant", s->colorant, "label", label, "asr",
                                    s->type && asr_rp_type_eligible(asr_supply_type_code(s->type)),
                                    "percent", opt_int_json(s->has_percent, s->percent), "level",
                                    opt_int_json(s->has_level, s->level), "max",
                                    opt_int_json(s->has_max, s->max)));
  }
  return arr;
}

static json_t *device_json(const cstore_device_row *d)
{
  char when[32];
  bool serial = d->serial && *d->serial;
  json_t *o;

  asr_time_iso(d->last_reading_at, when, sizeof(when));
  o = json_pack("{s:s?,s:s,s:s?,s:s?,s:o,s:I}", "serial", serial ? d->serial : NULL, "site",
                d->site, "agent", d->agent, "last_reading_at", d->last_reading_at ? when : NULL,
                "supplies", supplies_json(d), "readings", (json_int_t)d->readings);
  if (o && !serial)
    json_object_set_new(o, "key", json_string(d->key));
  return o;
}

static void device_table(const cstore_device_row *d)
{
  char when[32] = "-", sup[512] = "";
  size_t len = 0;

  if (d->last_reading_at)
    asr_time_iso(d->last_reading_at, when, sizeof(when));
  for (size_t i = 0; i < d->n_supplies; i++) {
    const cstore_supply_row *s = &d->supplies[i];
    char label[CSTORE_NAME_MAX + 32], name[CSTORE_NAME_MAX + 32];

    supply_label(s, label, sizeof(label));
    asr_text_tty(label, name, sizeof(name)); /* printer-sent text: nothing unsafe */
    if (s->has_percent)
      asr_append(sup, sizeof(sup), &len, "%s%s %d%%", i ? ", " : "", name, s->percent);
    else
      asr_append(sup, sizeof(sup), &len, "%s%s ?", i ? ", " : "", name);
  }
  printf("%-16s %-28s %-20s %8lld  %s\n", d->site, d->serial && *d->serial ? d->serial : d->key,
         when, (long long)d->readings, sup);
}

static int print_device(const cstore_device_row *d, void *ctx)
{
  json_t *arr = ctx;

  if (arr)
    json_array_append_new(arr, device_json(d));
  else
    device_table(d);
  return 0;
}

static int devices_args(int argc, char **argv, site_opts *o, const char **site)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, OPT_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"site", required_argument, NULL, OPT_SITE},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == OPT_DB)
      o->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == OPT_SITE)
      *site = optarg;
    else if (c != OPT_FORMAT || parse_format(optarg, &o->json) != 0)
      return -1;
  }
  return optind == argc ? 0 : -1;
}

void *ccli_devices_json(struct cstore *st, const char *site)
{
  json_t *arr = json_array(), *doc = NULL;
  asr_result r = arr ? cstore_device_foreach(st, site, print_device, arr) : ASR_ERR_NOMEM;

  if (r)
    cli_error("%s", cstore_errmsg(st));
  else
    doc = json_pack("{s:O}", "devices", arr);
  json_decref(arr);
  return doc;
}

int ccli_devices(int argc, char **argv)
{
  site_opts o = {.json = 1};
  const char *site = NULL;
  cstore *st = NULL;
  json_t *doc = NULL;
  asr_result r;

  if (devices_args(argc, argv, &o, &site)) {
    fprintf(stderr, "usage: asr-central devices [--site NAME] --format json|table --db FILE\n");
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o.db, &st);
  if (r)
    return ccli_exit_for(r);
  if (o.json) {
    doc = ccli_devices_json(st, site);
    r = doc ? ASR_OK : ASR_ERR_NOT_FOUND;
    if (doc && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0)
      putchar('\n');
    json_decref(doc);
  } else {
    printf("%-16s %-28s %-20s %8s  %s\n", "SITE", "SERIAL/KEY", "LAST READING", "READINGS",
           "SUPPLIES");
    r = cstore_device_foreach(st, site, print_device, NULL);
    if (r)
      cli_error("%s", cstore_errmsg(st));
  }
  cstore_close(st);
  return ccli_exit_for(r);
}

/* ---------------------------------------------------------------------------------------
 * problems: what the agents sent that was not stored as sent (issue 10) */

#define PROBLEMS_LIMIT_DEFAULT 100
#define PROBLEMS_LIMIT_MAX 1000000

static json_t *problem_json(const cstore_problem_row *p)
{
  char when[32], t[32];

  asr_time_iso(p->received_at, when, sizeof(when));
  if (p->t >= 0)
    asr_time_iso(p->t, t, sizeof(t));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:o,s:s?,s:I,s:I,s:s}", "received_at", when, "site",
                   p->site, "agent", p->agent, "batch_id", p->batch_id, "what", p->what, "device",
                   p->device, "index", p->index >= 0 ? json_integer(p->index) : json_null(), "t",
                   p->t >= 0 ? t : NULL, "readings", (json_int_t)p->readings, "events",
                   (json_int_t)p->events, "error", p->error ? p->error : "");
}

/* Prints agent-sent text on a terminal line, cleaned (common/text.h), padded to width. */
static void put_clean(const char *s, int width)
{
  char buf[1024];

  printf("%-*s", width, asr_text_tty(s, buf, sizeof(buf)));
}

static int print_problem(const cstore_problem_row *p, void *ctx)
{
  json_t *arr = ctx;
  char when[32];

  if (arr)
    return json_array_append_new(arr, problem_json(p)) != 0;
  asr_time_iso(p->received_at, when, sizeof(when));
  printf("%-20s %-16s %-10s ", when, p->site, p->what);
  put_clean(p->device ? p->device : "-", 28);
  printf(" %6lld  ", (long long)p->readings);
  put_clean(p->error, 0);
  putchar('\n');
  return 0;
}

static int problems_args(int argc, char **argv, site_opts *o, const char **site, int64_t *limit)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, OPT_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"site", required_argument, NULL, OPT_SITE},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == OPT_DB)
      o->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == OPT_SITE)
      *site = optarg;
    else if (c == OPT_LIMIT && asr_parse_i64(optarg, 1, PROBLEMS_LIMIT_MAX, limit) == ASR_OK)
      continue;
    else if (c != OPT_FORMAT || parse_format(optarg, &o->json) != 0)
      return -1;
  }
  return optind == argc ? 0 : -1;
}

int ccli_problems(int argc, char **argv)
{
  site_opts o = {.json = 1};
  const char *site = NULL;
  int64_t limit = PROBLEMS_LIMIT_DEFAULT;
  cstore *st = NULL;
  json_t *arr = NULL;
  asr_result r;

  if (problems_args(argc, argv, &o, &site, &limit)) {
    fprintf(stderr, "usage: asr-central problems [--site NAME] [--limit N] --format json|table"
                    " --db FILE\n");
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o.db, &st);
  if (r)
    return ccli_exit_for(r);
  if (o.json && !(arr = json_array()))
    r = ASR_ERR_NOMEM;
  if (!r && !o.json)
    printf("%-20s %-16s %-10s %-28s %6s  %s\n", "RECEIVED", "SITE", "WHAT", "DEVICE", "READ.",
           "ERROR");
  if (!r)
    r = cstore_problem_foreach(st, site, limit, print_problem, arr);
  if (r == ASR_ERR_NOT_FOUND)
    cli_error("no site '%s'", site);
  else if (r)
    cli_error("%s", cstore_errmsg(st));
  if (!r && arr)
    ccli_print_doc("problems", arr);
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

/* ---------------------------------------------------------------------------------------
 * agent revoke */

/* What agent revoke did, on standard error. */
static void say_locked_out(const char *id, const cstore_lockout *lo, bool keep)
{
  fprintf(stderr, "asr-central: agent %s (site '%s') is revoked: its requests get 403\n", id,
          lo->site);
  if (lo->token_revoked)
    fprintf(stderr,
            "asr-central: the site token it enrolled with is revoked too: no agent can enrol"
            " with it; 'asr-central site token '%s' --rotate' issues a new one\n",
            lo->site);
  else if (!keep)
    fprintf(stderr,
            "asr-central: the site's token was issued after this agent enrolled (or was revoked"
            " already): it is left as it is\n");
}

int ccli_agent(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, OPT_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"keep-site-token", no_argument, NULL, OPT_KEEP_TOKEN},
      {NULL, 0, NULL, 0},
  };
  const char *db = NULL;
  cstore *st = NULL;
  cstore_lockout lo;
  bool keep = false;
  asr_result r;
  int c;

  if (argc < 2 || strcmp(argv[1], "revoke") != 0) {
    fprintf(stderr, "usage: asr-central agent revoke AGENT_ID [--keep-site-token] --db FILE\n");
    return CCLI_EXIT_USAGE;
  }
  while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
    if (c == OPT_KEEP_TOKEN)
      keep = true;
    else if (c == OPT_DB)
      db = optarg;
    else if (c != CCLI_OPT_DB_PASSWORD_FILE || ccli_db_password_file(optarg) != 0)
      return CCLI_EXIT_USAGE;
  }
  if (optind != argc - 2)
    return CCLI_EXIT_USAGE;
  r = ccli_open_db(db, &st);
  if (!r)
    r = cstore_agent_lock_out(st, argv[optind + 1], keep, asr_now(), &lo);
  if (r == ASR_ERR_NOT_FOUND)
    cli_error("no agent '%s'", argv[optind + 1]);
  else if (r && st)
    cli_error("%s", cstore_errmsg(st));
  else if (!r)
    say_locked_out(argv[optind + 1], &lo, keep);
  cstore_close(st);
  return ccli_exit_for(r);
}

/* ---------------------------------------------------------------------------------------
 * simulate (central/simulate.c; docs/replenishment.md) */

static int simulate_usage(FILE *out, const char *why)
{
  if (why && *why)
    cli_error("simulate: %s", why);
  fprintf(out, "usage: asr-central simulate [--days N] [--devices N] [--sites N] "
               "[--delivery DAYS] [--seed N] [--format table|json] "
               "[--no-consolidation-compare] [--gauge-error PERCENT] "
               "[--engine [--keep-db DIR|PREFIX] [--db URI [--db-password-file FILE]]]\n");
  return out == stdout ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
}

int ccli_simulate(int argc, char **argv)
{
  csim_opts o;
  json_t *report = NULL;
  char why[512];
  char *table = NULL;

  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
    return simulate_usage(stdout, NULL);
  if (csim_parse_args(argc, argv, &o, why, sizeof(why)) != ASR_OK)
    return simulate_usage(stderr, why);
  if (o.db_password_file && ccli_db_password_file(o.db_password_file) != 0)
    return CCLI_EXIT_USAGE;
  asr_result r = csim_run(&o, &report, why, sizeof(why));
  if (r != ASR_OK) {
    cli_error("simulate: %s", why);
    return ccli_exit_for(r);
  }
  if (o.db && o.keep_db)
    cli_error("simulate: the runs are kept in schemas %s_simulate%s%s%s of %s", o.keep_db,
              o.compare ? " and " : "", o.compare ? o.keep_db : "",
              o.compare ? "_simulate_no_consolidation" : "", o.db);
  if (o.json && json_dumpf(report, stdout, JSON_COMPACT) == 0)
    putchar('\n');
  table = o.json ? NULL : csim_table(report);
  if (table)
    fputs(table, stdout);
  free(table);
  bool broken = csim_broken(report, why, sizeof(why));
  if (broken)
    cli_error("simulate: promise broken: %s", why);
  json_decref(report);
  return broken ? CCLI_EXIT_FAILURE : CCLI_EXIT_OK;
}
