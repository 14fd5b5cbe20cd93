/* ccli_staff.c: the portal's staff accounts (asr-central(8), "staff"): add, password, list,
 * remove, an API token for /api/..., and the audit trail. A password is read from the
 * terminal without echo (twice), or from a file readable by its owner only
 * (--password-file): never from the command line, never logged; only its scrypt hash is
 * stored (wire/sign.h). The terminal code is POSIX (termios): asr-central is built for
 * Linux only (configure.ac), the agent's Windows build leaves central/ out. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "central/ccli_staff.h"
#include "central/cstore.h"
#include "central/cstore_portal.h"
#include "central/notify.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "wire/sign.h"

#define PASSWORD_MIN 12 /* characters of a staff password at least */
#define NAME_MAX_LEN 64

typedef struct {
  const char *db, *password_file;
  int json, revoke;
  int64_t limit;
} staff_opts;

enum { SO_DB = 300, SO_PASSWORD_FILE, SO_FORMAT, SO_LIMIT, SO_REVOKE, SO_HELP };

static int staff_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-central staff add NAME [--password-file FILE] --db FILE\n"
          "       asr-central staff password NAME [--password-file FILE] --db FILE\n"
          "       asr-central staff list [--format json|table] --db FILE\n"
          "       asr-central staff remove NAME --db FILE\n"
          "       asr-central staff token NAME [--revoke] --db FILE\n"
          "       asr-central staff audit [--limit N] [--format json|table] --db FILE\n"
          "The password is read from the terminal (twice, not shown), or from FILE (one line;\n"
          "mode 0600 or stricter). NAME: 1 to %d letters, digits, '.', '_', '-' or '@'.\n",
          NAME_MAX_LEN);
  return out == stdout ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
}

static int staff_args(int argc, char **argv, staff_opts *o)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, SO_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"password-file", required_argument, NULL, SO_PASSWORD_FILE},
      {"format", required_argument, NULL, SO_FORMAT},
      {"limit", required_argument, NULL, SO_LIMIT},
      {"revoke", no_argument, NULL, SO_REVOKE},
      {"help", no_argument, NULL, SO_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c == SO_DB)
      o->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == SO_PASSWORD_FILE)
      o->password_file = optarg;
    else if (c == SO_REVOKE)
      o->revoke = 1;
    else if (c == SO_FORMAT && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      o->json = strcmp(optarg, "json") == 0;
    else if (c == SO_LIMIT && asr_parse_i64(optarg, 1, 100000, &o->limit) == ASR_OK)
      continue;
    else
      return -1;
  }
  return 0;
}

static bool name_ok(const char *s)
{
  size_t n = strlen(s);

  if (n == 0 || n > NAME_MAX_LEN)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          strchr("._-@", c)))
      return false;
  }
  return true;
}

/* ---- Passwords ---------------------------------------------------------------------- */

/* Reads one line from the terminal with echo off (prompt on the terminal). */
static asr_result tty_line(int fd, const char *prompt, char *out, size_t n)
{
  struct termios old, quiet;
  size_t len = 0;
  char ch;
  asr_result r = ASR_OK;

  if (tcgetattr(fd, &old) != 0)
    return ASR_ERR_SECRET;
  quiet = old;
  quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
    return ASR_ERR_SECRET;
  for (;;) {
    ssize_t got = read(fd, &ch, 1);
    if (got <= 0 || ch == '\n' || ch == '\r')
      break;
    if (len + 1 >= n) {
      r = ASR_ERR_TOO_LARGE;
      continue; /* read the rest of the line away */
    }
    out[len++] = ch;
  }
  out[len] = '\0';
  tcsetattr(fd, TCSAFLUSH, &old);
  if (write(fd, "\n", 1) < 0)
    r = r ? r : ASR_ERR_SECRET;
  return r;
}

/* The new password: from the file, or typed twice at the terminal. */
static asr_result read_password(const staff_opts *o, char *pw, size_t n)
{
  char again[ASR_PASSWORD_MAX + 1], err[512];
  int fd;
  asr_result r;

  if (o->password_file) {
    r = cnotify_read_password(o->password_file, pw, n, err, sizeof(err));
    if (r)
      ccli_error("--password-file: %s", err);
    return r;
  }
  fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    ccli_error("no terminal to read the password from: give --password-file FILE (mode 0600)");
    return ASR_ERR_SECRET;
  }
  r = tty_line(fd, "New password: ", pw, n);
  if (!r)
    r = tty_line(fd, "Again: ", again, sizeof(again));
  close(fd);
  if (!r && strcmp(pw, again) != 0) {
    ccli_error("the two passwords differ");
    r = ASR_ERR_SECRET;
  } else if (r) {
    ccli_error("cannot read the password from the terminal (at most %d bytes)", ASR_PASSWORD_MAX);
  }
  memset(again, 0, sizeof(again));
  return r;
}

/* Reads, checks and hashes a new password into hash. */
static asr_result new_password_hash(const staff_opts *o, char *hash, size_t n)
{
  char pw[ASR_PASSWORD_MAX + 1];
  asr_result r = read_password(o, pw, sizeof(pw));

  if (!r && strlen(pw) < PASSWORD_MIN) {
    ccli_error("the password is too short: %d characters at least", PASSWORD_MIN);
    r = ASR_ERR_SECRET;
  }
  if (!r)
    r = asr_sign_password_hash(pw, strlen(pw), hash, n);
  asr_secret_wipe(pw, sizeof(pw));
  return r;
}

/* An audit row for a staff command run at this machine. */
static void audit_cli(cstore *st, const char *action, const char *target)
{
  cportal_audit_row a = {.at = asr_clock_now(),
                         .actor = "cli",
                         .ip = "local",
                         .action = action,
                         .target = target,
                         .outcome = "ok",
                         .detail = ""};

  if (cportal_audit(st, &a) != ASR_OK)
    ccli_error("the audit trail: %s", cstore_errmsg(st));
}

/* ---- Commands ------------------------------------------------------------------------ */

static int staff_add(const staff_opts *o, const char *name, bool change)
{
  char hash[ASR_PWHASH_MAX];
  cstore *st = NULL;
  asr_result r;

  if (!name_ok(name)) {
    ccli_error("staff: '%s' is not a name (1 to %d letters, digits, '.', '_', '-', '@')", name,
               NAME_MAX_LEN);
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o->db, &st);
  if (r)
    return ccli_exit_for(r);
  r = new_password_hash(o, hash, sizeof(hash));
  if (!r && change)
    r = cportal_staff_password(st, name, hash, asr_clock_now());
  else if (!r)
    r = cportal_staff_add(st, name, hash, asr_clock_now());
  memset(hash, 0, sizeof(hash));
  if (r == ASR_ERR_INVALID)
    ccli_error("staff add: '%s' exists already (staff password changes its password)", name);
  else if (r == ASR_ERR_NOT_FOUND)
    ccli_error("staff password: no staff account '%s'", name);
  else if (r && r != ASR_ERR_SECRET)
    ccli_error("staff: %s", cstore_errmsg(st));
  if (!r) {
    audit_cli(st, change ? "staff password" : "staff add", name);
    printf("staff account %s %s\n", name, change ? "has a new password" : "added");
  }
  cstore_close(st);
  return r == ASR_ERR_SECRET ? CCLI_EXIT_USAGE : ccli_exit_for(r);
}

static int print_staff(const cportal_staff *s, void *ctx)
{
  char when[32];

  asr_time_iso(s->created_at, when, sizeof(when));
  if (ctx)
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:I,s:b}", "name", s->name, "created_at", when,
                                         "sessions", (json_int_t)s->sessions, "token", s->token));
  else
    printf("%-24s %-20s %8lld %s\n", s->name, when, (long long)s->sessions, s->token ? "yes" : "-");
  return 0;
}

static int staff_list(const staff_opts *o)
{
  cstore *st = NULL;
  json_t *arr = o->json ? json_array() : NULL;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r && !o->json)
    printf("%-24s %-20s %8s %s\n", "NAME", "CREATED", "SESSIONS", "API TOKEN");
  if (!r)
    r = cportal_staff_foreach(st, asr_clock_now(), print_staff, arr);
  if (!r && arr)
    ccli_print_doc("staff", arr);
  if (r && st)
    ccli_error("staff list: %s", cstore_errmsg(st));
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

static int staff_remove(const staff_opts *o, const char *name)
{
  cstore *st = NULL;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r)
    r = cportal_staff_remove(st, name);
  if (r == ASR_ERR_NOT_FOUND)
    ccli_error("staff remove: no staff account '%s'", name);
  else if (r && st)
    ccli_error("staff remove: %s", cstore_errmsg(st));
  if (!r) {
    audit_cli(st, "staff remove", name);
    printf("staff account %s removed (its sessions and API token end now)\n", name);
  }
  cstore_close(st);
  return ccli_exit_for(r);
}

/* A new API token: printed once on stdout, stored as its SHA-256. */
static int staff_token(const staff_opts *o, const char *name)
{
  char token[65], hash[65], pwhash[8];
  cstore *st = NULL;
  int64_t id = 0;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r && o->revoke)
    r = cportal_token_revoke(st, name);
  else if (!r)
    r = cportal_staff_get(st, name, &id, pwhash, sizeof(pwhash));
  if (!r && !o->revoke)
    r = asr_sign_random_hex(token, 32);
  if (!r && !o->revoke)
    r = asr_sign_sha256_hex(token, strlen(token), hash, sizeof(hash));
  if (!r && !o->revoke)
    r = cportal_token_set(st, id, hash, asr_clock_now());
  if (r == ASR_ERR_NOT_FOUND)
    ccli_error("staff token: no staff account '%s'%s", name, o->revoke ? " with a token" : "");
  else if (r && st)
    ccli_error("staff token: %s", cstore_errmsg(st));
  if (!r) {
    audit_cli(st, o->revoke ? "staff token revoke" : "staff token", name);
    if (o->revoke)
      printf("the API token of %s is revoked\n", name);
    else
      printf("sk_%s\n", token); /* the only time it is shown: the store keeps its hash */
  }
  asr_secret_wipe(token, sizeof(token));
  cstore_close(st);
  return ccli_exit_for(r);
}

static int print_audit(const cportal_audit_row *a, void *ctx)
{
  char when[32], b[5][256];

  asr_time_iso(a->at, when, sizeof(when));
  if (ctx)
    json_array_append_new(ctx, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
                                         (json_int_t)a->id, "at", when, "actor", a->actor, "ip",
                                         a->ip, "action", a->action, "target", a->target, "outcome",
                                         a->outcome, "detail", a->detail));
  else
    printf("%-20s %-24s %-15s %-18s %-7s %s %s\n", when, asr_text_tty(a->actor, b[0], sizeof(b[0])),
           asr_text_tty(a->ip, b[1], sizeof(b[1])), asr_text_tty(a->action, b[2], sizeof(b[2])),
           a->outcome[0] == 'o' ? "ok" : "DENIED", asr_text_tty(a->target, b[3], sizeof(b[3])),
           asr_text_tty(a->detail, b[4], sizeof(b[4])));
  return 0;
}

static int staff_audit(const staff_opts *o)
{
  cstore *st = NULL;
  json_t *arr = o->json ? json_array() : NULL;
  asr_result r = ccli_open_db(o->db, &st);

  if (!r)
    r = cportal_audit_foreach(st, NULL, o->limit ? o->limit : 100, print_audit, arr);
  if (!r && arr)
    ccli_print_doc("audit", arr);
  if (r && st)
    ccli_error("staff audit: %s", cstore_errmsg(st));
  json_decref(arr);
  cstore_close(st);
  return ccli_exit_for(r);
}

int ccli_staff(int argc, char **argv)
{
  staff_opts o = {0};
  const char *sub = argc > 1 ? argv[1] : "";

  if (strcmp(sub, "--help") == 0)
    return staff_usage(stdout);
  if (staff_args(argc - 1, argv + 1, &o))
    return staff_usage(stderr);
  optind++; /* the positional words follow the subcommand */
  if (strcmp(sub, "list") == 0 && optind == argc)
    return staff_list(&o);
  if (strcmp(sub, "audit") == 0 && optind == argc)
    return staff_audit(&o);
  if (optind != argc - 1)
    return staff_usage(stderr);
  if (strcmp(sub, "add") == 0 || strcmp(sub, "password") == 0)
    return staff_add(&o, argv[optind], sub[0] == 'p');
  if (strcmp(sub, "remove") == 0)
    return staff_remove(&o, argv[optind]);
  if (strcmp(sub, "token") == 0)
    return staff_token(&o, argv[optind]);
  return staff_usage(stderr);
}
