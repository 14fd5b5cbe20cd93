/* csiteconf.c: a site's remote configuration at asr-central (see csiteconf.h). */
#include "central/csiteconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "central/ccli_common.h"
#include "central/cdb.h"
#include "central/cstore_conf.h"
#include "common/date.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "conf/conf.h"
#include "wire/seal.h"
#include "wire/sign.h"

#define MAX_CHANGES 64
#define ERR_MAX 1024

/* ---------------------------------------------------------------------------------------
 * The key of the sealed pass phrases. */

static char key_file[4096]; /* --secrets-key-file FILE; "": DB.key beside a SQLite --db */

asr_result csiteconf_set_key_file(const char *path)
{
  if (!path) {
    key_file[0] = '\0';
    return ASR_OK;
  }
  if (!*path)
    return ASR_ERR_INVALID;
  return asr_strlcpy(key_file, path, sizeof(key_file));
}

asr_result csiteconf_key_path(const char *db_path, char *out, size_t n)
{
  if (key_file[0])
    return asr_strlcpy(out, key_file, n);
  if (!db_path || cdb_is_pg_name(db_path)) /* a URI is no path: the key needs its option */
    return ASR_ERR_USAGE;
  return asr_fmt(out, n, "%s.key", db_path);
}

/* Why a sealed secret cannot be used with a PostgreSQL --db and no --secrets-key-file. */
#define KEY_NOT_GIVEN                                                                              \
  "a PostgreSQL --db keeps no key beside it: give the key of the sealed secrets with"              \
  " --secrets-key-file FILE (mode 0600, the same file on every node)"

/* Makes a new key in path (0600, never over an existing file) into key. */
static asr_result new_key(const char *path, char *key, char *err, size_t n)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  char hex[ASR_SEAL_KEY_HEX + 2];
  asr_result r;

  if (fd < 0 || asr_sign_random_hex(hex, 32) != ASR_OK) {
    if (fd >= 0) {
      close(fd);
      unlink(path);
    }
    asr_fmt_cut(err, n, "%s: cannot create the key file: %s", path, strerror(errno));
    return ASR_ERR_IO;
  }
  hex[ASR_SEAL_KEY_HEX] = '\n';
  r = write(fd, hex, ASR_SEAL_KEY_HEX + 1) == ASR_SEAL_KEY_HEX + 1 ? ASR_OK : ASR_ERR_IO;
  if (close(fd) != 0)
    r = ASR_ERR_IO;
  hex[ASR_SEAL_KEY_HEX] = '\0';
  if (!r)
    r = asr_strlcpy(key, hex, ASR_SEAL_KEY_HEX + 1);
  asr_secret_wipe(hex, sizeof(hex));
  if (r) {
    unlink(path); /* never half a key left for the next command to refuse */
    asr_fmt_cut(err, n, "%s: cannot write the key file", path);
  }
  return r;
}

/* Reads the key (64 hex in a 0600 regular file, not a link); create makes one when the file
 * is missing. ASR_ERR_NOT_FOUND (err set) when it is missing and create is not set. */
static asr_result read_key(const char *path, bool create, char *key, char *err, size_t n)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait */
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  char line[128] = "";
  asr_result r;

  if (fd < 0 && errno == ENOENT && create)
    return new_key(path, key, err, n);
  if (!f) {
    if (fd < 0 && errno == ELOOP)
      asr_fmt_cut(err, n, "%s: the key file is a symbolic link: give the file itself", path);
    else
      asr_fmt_cut(err, n, "%s: cannot read the key of the sealed secrets: %s", path,
                  strerror(errno));
    r = fd < 0 && errno == ENOENT ? ASR_ERR_NOT_FOUND : ASR_ERR_IO;
    if (fd >= 0)
      close(fd);
    return r;
  }
  r = asr_platform_file_private(f);
  if (r) {
    fclose(f);
    asr_fmt_cut(err, n, "%s: readable by group or others (or not a regular file): chmod 600 it",
                path);
    return ASR_ERR_SECRET;
  }
  if (!fgets(line, sizeof(line), f))
    line[0] = '\0';
  fclose(f);
  line[strcspn(line, "\r\n")] = '\0';
  if (!asr_hex_is(line, ASR_SEAL_KEY_HEX)) {
    asr_secret_wipe(line, sizeof(line));
    asr_fmt_cut(err, n, "%s: not a key (64 lowercase hex digits)", path);
    return ASR_ERR_SECRET;
  }
  asr_strlcpy_cut(key, line, ASR_SEAL_KEY_HEX + 1); /* exactly 64 digits: checked above */
  asr_secret_wipe(line, sizeof(line));
  return ASR_OK;
}

/* The key of db_path's sealed secrets into key (ASR_SEAL_KEY_HEX + 1 bytes), the problem
 * in err: ASR_ERR_USAGE when a PostgreSQL --db has no --secrets-key-file. */
static asr_result load_key(const char *db_path, bool create, char *key, char *err, size_t n)
{
  char path[sizeof(key_file) + 8];
  asr_result r = csiteconf_key_path(db_path, path, sizeof(path));

  if (r == ASR_ERR_USAGE)
    asr_strlcpy_cut(err, KEY_NOT_GIVEN, n);
  else if (r)
    asr_strlcpy_cut(err, "the key file's path is too long", n);
  else
    r = read_key(path, create, key, err, n);
  return r;
}

int csiteconf_key_file_option(const char *path)
{
  if (csiteconf_set_key_file(path) != ASR_OK) {
    ccli_error("--secrets-key-file: '%.200s' is not a usable path", path);
    return -1;
  }
  return 0;
}

asr_result csiteconf_key_check(char *err, size_t n)
{
  char key[ASR_SEAL_KEY_HEX + 1];
  asr_result r;

  if (!key_file[0])
    return ASR_OK;
  r = read_key(key_file, false, key, err, n);
  asr_secret_wipe(key, sizeof(key));
  return r;
}

/* The additional data of a sealed value: where it belongs (a site's value, or an agent's
 * own), so that a sealed text moved to another row does not open. ASR_ERR_TOO_LARGE when it
 * does not fit out (a cut one would bind the value to another place). */
static asr_result seal_aad(int64_t site_id, const char *agent, const char *key, char *out, size_t n)
{
  if (agent)
    return asr_fmt(out, n, "asr-agent-config:%s:%s", agent, key);
  return asr_fmt(out, n, "asr-site-config:%lld:%s", (long long)site_id, key);
}

/* Opens the sealed values of c in place (c->v[i].value then holds the plain text); the
 * caller wipes c. ASR_ERR_AUTH (logged with the key's name) when one does not open. */
static asr_result open_conf(const char *key, const char *agent, cstore_conf *c)
{
  char aad[200], plain[ASR_SEAL_MAX_PLAIN + 1];
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < c->n; i++) {
    if (!c->v[i].sealed)
      continue;
    r = seal_aad(c->site_id, agent, c->v[i].key, aad, sizeof(aad));
    if (!r)
      r = asr_unseal(key, aad, c->v[i].value, plain, sizeof(plain));
    if (r)
      asr_log(ASR_LOG_ERR, "configuration: site %lld%s%s: %s does not open with the key",
              (long long)c->site_id, agent ? ", agent " : "", agent ? agent : "", c->v[i].key);
    else
      r = asr_strlcpy(c->v[i].value, plain, sizeof(c->v[i].value));
    c->v[i].sealed = false;
  }
  asr_secret_wipe(plain, sizeof(plain));
  return r;
}

static bool any_sealed(const cstore_conf *c)
{
  for (size_t i = 0; i < c->n; i++) {
    if (c->v[i].sealed)
      return true;
  }
  return false;
}

/* ---------------------------------------------------------------------------------------
 * Layers of values: the site's, then an agent's own over them. */

#define MAX_PAIRS (CSTORE_CONF_MAX_KEYS + MAX_CHANGES)

typedef struct {
  asr_conf_pair p[MAX_PAIRS];
  size_t n;
} layers;

/* Sets name to value in l (value NULL: removes it). */
static void put(layers *l, const char *name, const char *value)
{
  size_t i;

  for (i = 0; i < l->n && strcmp(l->p[i].name, name) != 0; i++)
    ;
  if (i < l->n && !value)
    l->p[i] = l->p[--l->n];
  else if (i < l->n)
    l->p[i].value = value;
  else if (value && l->n < MAX_PAIRS)
    l->p[l->n++] = (asr_conf_pair){name, value};
}

static void put_conf(layers *l, const cstore_conf *c)
{
  for (size_t i = 0; i < c->n; i++)
    put(l, c->v[i].key, c->v[i].value);
}

/* ---------------------------------------------------------------------------------------
 * Checking a configuration with the agent's table. */

typedef struct {
  char msg[ERR_MAX];
  size_t len;
  int n;
} errs;

static void collect(const char *msg, void *ctx)
{
  errs *e = ctx;

  e->n++;
  asr_append(e->msg, sizeof(e->msg), &e->len, "%s%s", e->len ? "\n" : "", msg);
}

static asr_result check_config(const char *label, const layers *l, errs *e)
{
  asr_conf *c = malloc(sizeof(*c));
  asr_conf_overlay ov = {l->p, l->n, label, NULL};
  asr_result r;

  if (!c)
    return ASR_ERR_NOMEM;
  r = asr_conf_check_remote(&ov, c, collect, e);
  asr_secret_wipe(c, sizeof(*c));
  free(c);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * asr-central site config NAME */

#define MAX_SECRETS 4 /* v3_auth_pass, v3_priv_pass, community, target_community */

typedef struct {
  const char *db, *who, *site, *agent;
  int json, show, history;
  size_t n;
  cstore_conf_change_t ch[MAX_CHANGES];
  char secret[MAX_SECRETS][ASR_SEAL_MAX_PLAIN + 2]; /* secrets read from stdin */
  int n_secret;
  char key[ASR_SEAL_KEY_HEX + 1]; /* the sealing key, once read */
  bool have_key;
  asr_result key_err; /* why the key could not be had (said) */
} conf_args;

static void usage(FILE *out)
{
  fprintf(
      out,
      "usage: asr-central site config NAME --db FILE|URI [--agent AGENT_ID] [--set KEY=VALUE]...\n"
      "         [--unset KEY]... [--show] [--history] [--format json|table] [--by WHO]\n"
      "         [--db-password-file FILE] [--secrets-key-file FILE]\n"
      "KEY is a directive of asr-agent.conf(5) the central may set, or v3_auth_pass /\n"
      "v3_priv_pass. Secrets (the pass phrases, community, target_community) never go on\n"
      "the command line: --set KEY=- reads one from stdin (one line; target_community:\n"
      "its lines, up to an empty line). --agent sets that agent's own values, over the\n"
      "site's. Secrets are sealed with the key of --secrets-key-file FILE (0600; made by the\n"
      "first secret set when missing), by default FILE.key beside a SQLite --db.\n");
}

/* Reads the value of key from stdin into buf: one line; for target_community, lines up
 * to an empty line or the end, joined by newlines (the protocol's form). */
static asr_result read_stdin_value(const char *key, char *buf, size_t n)
{
  bool lines = strcmp(key, "target_community") == 0;
  size_t len = 0;
  char line[ASR_SEAL_MAX_PLAIN + 2];

  buf[0] = '\0';
  while (fgets(line, sizeof(line), stdin)) {
    size_t l = strcspn(line, "\r\n");

    if (!line[l] && !feof(stdin))
      return ASR_ERR_TOO_LARGE; /* no end of line within the bound */
    line[l] = '\0';
    if (lines && !l)
      break;
    if (asr_append(buf, n, &len, "%s%s", len ? "\n" : "", line) != ASR_OK)
      return ASR_ERR_TOO_LARGE;
    if (!lines)
      break;
  }
  asr_secret_wipe(line, sizeof(line));
  return len ? ASR_OK : ASR_ERR_INVALID;
}

/* A secret's value: "-" only, read from stdin. */
static int secret_value(conf_args *a, cstore_conf_change_t *c)
{
  asr_result r;

  if (strcmp(c->value, "-") != 0) {
    ccli_error("site config: %s: a secret never goes on the command line: use --set %s=- "
               "and give it on stdin",
               c->key, c->key);
    return -1;
  }
  r = a->n_secret < MAX_SECRETS
          ? read_stdin_value(c->key, a->secret[a->n_secret], sizeof(a->secret[0]))
          : ASR_ERR_LIMIT;
  if (r) {
    ccli_error("site config: %s: %s", c->key,
               r == ASR_ERR_TOO_LARGE ? "longer than 1024 bytes on stdin" : "nothing on stdin");
    return -1;
  }
  c->value = a->secret[a->n_secret++];
  return 0;
}

static int add_change(conf_args *a, const char *arg, bool unset)
{
  char *eq;
  int kind;
  cstore_conf_change_t *c;

  if (a->n >= MAX_CHANGES) {
    ccli_error("site config: more than %d changes at once", MAX_CHANGES);
    return -1;
  }
  c = &a->ch[a->n];
  eq = unset ? NULL : strchr(arg, '=');
  if (!unset && !eq) {
    ccli_error("site config: --set %.64s: expected KEY=VALUE", arg);
    return -1;
  }
  if (eq)
    *eq = '\0';
  kind = asr_conf_remote_key(arg);
  if (kind < 0) {
    ccli_error("site config: %.64s: not a directive of asr-agent.conf(5)", arg);
    return -1;
  }
  if (kind == 0) {
    ccli_error("site config: %s: only the agent's configuration file may set it", arg);
    return -1;
  }
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->ch[i].key, arg) == 0) {
      ccli_error("site config: %s: given twice", arg);
      return -1;
    }
  }
  c->key = arg;
  c->value = eq ? eq + 1 : NULL;
  c->sealed = asr_conf_remote_sealed(arg) != 0;
  if (c->sealed && c->value && secret_value(a, c))
    return -1;
  a->n++;
  return 0;
}

static int parse_args(int argc, char **argv, conf_args *a)
{
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"set", required_argument, NULL, 's'},
      {"unset", required_argument, NULL, 'u'},
      {"show", no_argument, NULL, 'S'},
      {"history", no_argument, NULL, 'H'},
      {"format", required_argument, NULL, 'f'},
      {"by", required_argument, NULL, 'b'},
      {"agent", required_argument, NULL, 'a'},
      {"help", no_argument, NULL, 'h'},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"secrets-key-file", required_argument, NULL, CCLI_OPT_SECRETS_KEY_FILE},
      {NULL, 0, NULL, 0}};
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'd')
      a->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == CCLI_OPT_SECRETS_KEY_FILE && csiteconf_key_file_option(optarg) == 0)
      continue;
    else if (c == 's' || c == 'u') {
      if (add_change(a, optarg, c == 'u'))
        return CCLI_EXIT_USAGE;
    } else if (c == 'S')
      a->show = 1;
    else if (c == 'H')
      a->history = 1;
    else if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      a->json = strcmp(optarg, "json") == 0;
    else if (c == 'b')
      a->who = optarg;
    else if (c == 'a')
      a->agent = optarg;
    else if (c == 'h') {
      usage(stdout);
      return CCLI_EXIT_OK;
    } else {
      usage(stderr);
      return CCLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    ccli_error("site config: one site NAME expected");
    return CCLI_EXIT_USAGE;
  }
  a->site = argv[optind];
  if (!a->n && !a->history)
    a->show = 1;
  return -1;
}

/* Who makes a change: --by, else the login of the user running the command. */
static const char *who(const conf_args *a)
{
  const char *u = a->who;

  if (!u || !*u)
    u = getenv("SUDO_USER");
  if (!u || !*u)
    u = getenv("USER");
  if (!u || !*u)
    u = getenv("LOGNAME");
  return u && *u ? u : "unknown";
}

/* The sealing key, read once. create: a missing file is created, unless the database
 * already holds sealed values (their key is elsewhere: a new one would not open them). */
static asr_result get_key(cstore *st, conf_args *a, bool create)
{
  char err[600] = "", path[sizeof(key_file) + 8] = "";
  bool any = true;
  asr_result r;

  if (a->have_key)
    return ASR_OK;
  if (csiteconf_key_path(a->db, path, sizeof(path)) != ASR_OK)
    path[0] = '\0';
  r = load_key(a->db, false, a->key, err, sizeof(err));
  if (r == ASR_ERR_NOT_FOUND && create && cstore_conf_any_sealed(st, &any) == ASR_OK && !any)
    r = load_key(a->db, true, a->key, err, sizeof(err));
  else if (r == ASR_ERR_NOT_FOUND && create)
    asr_fmt_cut(err, sizeof(err),
                "the database already holds secrets sealed with a key, and %.300s is missing:"
                " give the key file they were sealed with (the same file for every command"
                " and node; a new key would not open them)",
                path);
  if (r)
    ccli_error("site config: %s", err);
  a->have_key = !r;
  a->key_err = r;
  return r;
}

/* Seals the secrets being set (the key file is created when missing). */
static asr_result seal_changes(cstore *st, conf_args *a, int64_t site_id,
                               char sealed[][ASR_SEAL_TEXT_MAX])
{
  char aad[200];
  int k = 0;
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < a->n; i++) {
    if (!a->ch[i].sealed || !a->ch[i].value)
      continue;
    r = get_key(st, a, true);
    if (r)
      return r;
    r = seal_aad(site_id, a->agent, a->ch[i].key, aad, sizeof(aad));
    if (!r)
      r = asr_seal(a->key, aad, a->ch[i].value, sealed[k], ASR_SEAL_TEXT_MAX);
    a->ch[i].value = sealed[k++];
  }
  if (r)
    ccli_error("site config: cannot seal the secret");
  return r;
}

/* Reads the site's values (agent NULL) or an agent's own, secrets opened. */
static asr_result read_open(cstore *st, conf_args *a, int64_t site_id, const char *agent,
                            cstore_conf *out)
{
  asr_result r =
      agent ? cstore_conf_get_agent(st, site_id, agent, out) : cstore_conf_get(st, site_id, out);

  if (r) {
    ccli_error("site config: %s", cstore_errmsg(st));
    return r;
  }
  if (!any_sealed(out))
    return ASR_OK;
  r = get_key(st, a, false);
  if (r)
    return r == ASR_ERR_USAGE ? r : ASR_ERR_SECRET; /* said by get_key */
  r = open_conf(a->key, agent, out);
  if (r)
    ccli_error("site config: %s: the stored secrets do not open with the key", a->site);
  return r;
}

/* The changes over the values of the scope they go to (own: the site's or the agent's). */
static void put_changes(layers *l, const cstore_conf *own, const conf_args *a)
{
  put_conf(l, own);
  for (size_t i = 0; i < a->n; i++)
    put(l, a->ch[i].key, a->ch[i].value);
}

/* Checks each other agent of the site that has values of its own over the site's new
 * values (cstore_conf_agents' callback). */
typedef struct {
  cstore *st;
  conf_args *a;
  int64_t site_id;
  const layers *site;
  errs *e;
  asr_result r;
  bool bad;
} others_ctx;

static int check_other(const cstore_conf_agent *g, void *ctx)
{
  others_ctx *o = ctx;
  cstore_conf *own;
  layers *l;
  char label[160];

  if (!g->own)
    return 0;
  own = malloc(sizeof(*own));
  l = malloc(sizeof(*l));
  o->r = own && l ? read_open(o->st, o->a, o->site_id, g->agent_id, own) : ASR_ERR_NOMEM;
  if (!o->r) {
    *l = *o->site;
    put_conf(l, own);
    asr_fmt_cut(label, sizeof(label), "site %s, agent %s", o->a->site, g->agent_id);
    if (check_config(label, l, o->e) != ASR_OK)
      o->bad = true;
  }
  if (own)
    asr_secret_wipe(own, sizeof(*own));
  free(own);
  free(l);
  return o->r != ASR_OK;
}

/* Checks the configuration as the changes make it: the site's, then each agent's with
 * values of its own over it; or, with --agent, that agent's over the site's. ASR_ERR_PARSE
 * with every problem in e. */
static asr_result check_changes(cstore *st, conf_args *a, int64_t site_id, const cstore_conf *site,
                                const cstore_conf *own, layers *l, errs *e)
{
  others_ctx o = {st, a, site_id, l, e, ASR_OK, false};
  layers mine = {.n = 0};
  char label[160];
  asr_result r;

  l->n = 0;
  if (a->agent) {
    put_changes(&mine, own, a);
    put_conf(l, site);
    for (size_t i = 0; i < mine.n; i++)
      put(l, mine.p[i].name, mine.p[i].value);
    asr_fmt_cut(label, sizeof(label), "site %s, agent %s", a->site, a->agent);
    return check_config(label, l, e);
  }
  put_changes(l, site, a);
  r = check_config(a->site, l, e);
  if (r && r != ASR_ERR_PARSE)
    return r;
  if (cstore_conf_agents(st, site_id, NULL, check_other, &o) != ASR_OK && !o.r)
    o.r = ASR_ERR_DB;
  if (o.r)
    return o.r;
  return r || o.bad ? ASR_ERR_PARSE : ASR_OK;
}

static int apply_changes(cstore *st, conf_args *a, int64_t site_id)
{
  cstore_conf *site = malloc(sizeof(*site)), *own = malloc(sizeof(*own));
  layers *l = malloc(sizeof(*l));
  char sealed[MAX_SECRETS][ASR_SEAL_TEXT_MAX];
  errs e = {"", 0, 0};
  int64_t version = 0;
  asr_result r = site && own && l ? ASR_OK : ASR_ERR_NOMEM;
  int status = CCLI_EXIT_INTERNAL;

  if (!r)
    r = read_open(st, a, site_id, NULL, site);
  if (!r && a->agent)
    r = read_open(st, a, site_id, a->agent, own);
  else if (!r)
    own->n = 0;
  if (r) {
    status = r == ASR_ERR_NOMEM                      ? CCLI_EXIT_INTERNAL
             : r == ASR_ERR_DB || r == ASR_ERR_USAGE ? ccli_exit_for(r)
                                                     : CCLI_EXIT_FAILURE;
    goto out;
  }
  r = check_changes(st, a, site_id, site, own, l, &e);
  if (r == ASR_ERR_PARSE) {
    fprintf(stderr, "%s\n", e.msg);
    ccli_error("site config: %s: nothing changed (%d %s)", a->site, e.n,
               e.n == 1 ? "problem" : "problems");
    status = CCLI_EXIT_FAILURE;
    goto out;
  }
  if (!r && seal_changes(st, a, site_id, sealed) != ASR_OK) {
    ccli_error("site config: %s: nothing changed", a->site); /* why: said by get_key */
    status = a->key_err == ASR_ERR_USAGE ? CCLI_EXIT_USAGE
             : a->key_err                ? CCLI_EXIT_FAILURE
                                         : CCLI_EXIT_INTERNAL;
    goto out;
  }
  if (!r)
    r = cstore_conf_change(st, site_id, a->agent, a->ch, a->n, who(a), ingest_now(), site->version,
                           &version);
  if (r == ASR_ERR_DB_LOCKED) {
    ccli_error("site config: %s: another change came first (or the database is busy): "
               "nothing changed, try again",
               a->site);
    status = CCLI_EXIT_FAILURE;
    goto out;
  }
  if (r) {
    ccli_error("site config: %s: nothing changed: %s", a->site,
               r == ASR_ERR_DB ? cstore_errmsg(st) : asr_result_str(r));
    status = ccli_exit_for(r);
    goto out;
  }
  printf("site %s%s%s: configuration version %lld\n", a->site, a->agent ? ", agent " : "",
         a->agent ? a->agent : "", (long long)version);
  status = CCLI_EXIT_OK;
out:
  asr_secret_wipe(a->secret, sizeof(a->secret));
  asr_secret_wipe(sealed, sizeof(sealed));
  if (site)
    asr_secret_wipe(site, sizeof(*site));
  if (own)
    asr_secret_wipe(own, sizeof(*own));
  free(site);
  free(own);
  free(l);
  return status;
}

/* Seals the values a database of schema 8 kept in clear (the communities), in every
 * site; said on stderr. */
static asr_result seal_clear(cstore *st, conf_args *a)
{
  int64_t ids[256];
  size_t n = 0, sealed = 0;
  cstore_conf *c = NULL;
  char text[ASR_SEAL_TEXT_MAX], aad[200];
  asr_result r = cstore_conf_clear_sites(st, ids, sizeof(ids) / sizeof(ids[0]), &n);

  if (!r && n)
    r = get_key(st, a, true);
  if (!r && n && !(c = malloc(sizeof(*c))))
    r = ASR_ERR_NOMEM;
  for (size_t i = 0; !r && i < n; i++) {
    r = cstore_conf_get(st, ids[i], c);
    for (size_t k = 0; !r && k < c->n; k++) {
      if (c->v[k].sealed || !asr_conf_remote_sealed(c->v[k].key))
        continue;
      r = seal_aad(ids[i], NULL, c->v[k].key, aad, sizeof(aad));
      if (!r)
        r = asr_seal(a->key, aad, c->v[k].value, text, sizeof(text));
      if (!r)
        r = cstore_conf_reseal(st, ids[i], c->v[k].key, text);
      sealed++;
    }
  }
  if (c)
    asr_secret_wipe(c, sizeof(*c));
  free(c);
  if (r)
    ccli_error("site config: cannot seal the communities kept in clear: %s",
               r == ASR_ERR_DB ? cstore_errmsg(st) : asr_result_str(r));
  else if (sealed)
    fprintf(stderr, "site config: %zu %s kept in clear (communities) now sealed\n", sealed,
            sealed == 1 ? "value" : "values");
  return r;
}

/* ---- --show and --history ---- */

static const char *masked(const cstore_conf_value *v)
{
  return v->sealed || asr_conf_remote_sealed(v->key) ? "(set)" : v->value;
}

static json_t *agent_json(const cstore_conf_agent *g)
{
  return json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I}", "agent", g->agent_id, "hostname",
                   g->hostname ? g->hostname : "", "applied", (json_int_t)g->applied, "error",
                   g->error ? g->error : "", "error_version", (json_int_t)g->error_version,
                   "checked_at", (json_int_t)g->checked_at, "own", (json_int_t)g->own);
}

static int agent_row(const cstore_conf_agent *g, void *ctx)
{
  json_array_append_new(ctx, agent_json(g));
  return 0;
}

/* {"values": {key: shown}} of c into obj; with from, {key: {"value", "from"}}. */
static void values_json(const cstore_conf *c, json_t *obj, const char *from)
{
  for (size_t i = 0; i < c->n; i++) {
    json_t *v = json_string(masked(&c->v[i]));

    json_object_set_new(obj, c->v[i].key,
                        from ? json_pack("{s:o,s:s}", "value", v, "from", from) : v);
  }
}

static json_t *show_doc(cstore *st, const conf_args *a, int64_t site_id, asr_result *r)
{
  cstore_conf *site = malloc(sizeof(*site)), *own = a->agent ? malloc(sizeof(*own)) : NULL;
  json_t *doc = NULL, *vals = json_object(), *eff = json_object(), *agents = json_array();

  *r = site && (own || !a->agent) ? cstore_conf_get(st, site_id, site) : ASR_ERR_NOMEM;
  if (!*r && own)
    *r = cstore_conf_get_agent(st, site_id, a->agent, own);
  if (!*r)
    *r = cstore_conf_agents(st, site_id, a->agent, agent_row, agents);
  if (!*r && own) {
    values_json(own, vals, NULL);
    values_json(site, eff, "site");
    values_json(own, eff, "agent");
    doc = json_pack("{s:s,s:s,s:I,s:O,s:O,s:O}", "site", a->site, "agent", a->agent, "version",
                    (json_int_t)site->version, "values", vals, "effective", eff, "agents", agents);
  } else if (!*r) {
    values_json(site, vals, NULL);
    doc = json_pack("{s:s,s:I,s:O,s:O}", "site", a->site, "version", (json_int_t)site->version,
                    "values", vals, "agents", agents);
  }
  json_decref(vals);
  json_decref(eff);
  json_decref(agents);
  free(site);
  free(own);
  return doc;
}

static void print_agent(const json_t *v)
{
  const char *err = json_string_value(json_object_get(v, "error"));
  json_int_t own = json_integer_value(json_object_get(v, "own"));

  printf("agent %s (%s): applied version %lld", json_string_value(json_object_get(v, "agent")),
         json_string_value(json_object_get(v, "hostname")),
         (long long)json_integer_value(json_object_get(v, "applied")));
  if (err && *err)
    printf("; refused version %lld: %s",
           (long long)json_integer_value(json_object_get(v, "error_version")), err);
  if (own)
    printf("; %lld %s of its own", (long long)own, own == 1 ? "value" : "values");
  printf("\n");
}

static void print_show(const json_t *doc)
{
  const json_t *eff = json_object_get(doc, "effective");
  const char *k, *agent = json_string_value(json_object_get(doc, "agent"));
  json_t *v;
  size_t i;

  printf("site %s%s%s: configuration version %lld\n",
         json_string_value(json_object_get(doc, "site")), agent ? ", agent " : "",
         agent ? agent : "", (long long)json_integer_value(json_object_get(doc, "version")));
  if (eff) {
    json_object_foreach((json_t *)eff, k, v)
        printf("  %-22s %-40s %s\n", k, json_string_value(json_object_get(v, "value")),
               json_string_value(json_object_get(v, "from")));
  } else {
    json_object_foreach((json_t *)json_object_get(doc, "values"), k, v)
        printf("  %-22s %s\n", k, json_string_value(v));
  }
  json_array_foreach(json_object_get(doc, "agents"), i, v) print_agent(v);
}

static int history_row(const cstore_conf_audit *r, void *ctx)
{
  json_t *arr = ctx;
  char when[32];
  cstore_conf_audit m = *r, *a = &m;

  if (asr_conf_remote_sealed(a->key)) { /* a secret's old and new are "(set)" or unset */
    a->old = a->old ? "(set)" : NULL;
    a->new_ = a->new_ ? "(set)" : NULL;
  }
  asr_time_iso(a->at, when, sizeof(when));
  if (arr) {
    json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s,s:s?}", "version",
                                         (json_int_t)a->version, "at", when, "key", a->key, "old",
                                         a->old, "new", a->new_, "who", a->who, "agent", a->agent));
    return 0;
  }
  printf("%s v%lld %s %s%s%s%s: %s -> %s\n", when, (long long)a->version, a->who,
         a->agent ? "agent " : "", a->agent ? a->agent : "", a->agent ? " " : "", a->key,
         a->old ? a->old : "(unset)", a->new_ ? a->new_ : "(unset)");
  return 0;
}

static int show(cstore *st, const conf_args *a, int64_t site_id)
{
  asr_result r = ASR_OK;
  json_t *doc = NULL, *hist = NULL;

  if (a->show) {
    doc = show_doc(st, a, site_id, &r);
    if (!r && !a->json)
      print_show(doc);
  }
  if (!r && a->history) {
    hist = a->json ? json_array() : NULL;
    if (!a->json)
      printf("history of site %s%s%s:\n", a->site, a->agent ? ", agent " : "",
             a->agent ? a->agent : "");
    r = cstore_conf_history(st, site_id, a->agent, history_row, hist);
    if (!r && a->json)
      json_object_set_new(doc ? doc : (doc = json_object()), "history", json_incref(hist));
  }
  if (!r && a->json && doc) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
      printf("%s\n", text);
    free(text);
  }
  if (r)
    ccli_error("site config: %s", r == ASR_ERR_DB ? cstore_errmsg(st) : asr_result_str(r));
  json_decref(doc);
  json_decref(hist);
  return ccli_exit_for(r);
}

static int count_agent(const cstore_conf_agent *g, void *ctx)
{
  (void)g;
  ++*(int *)ctx;
  return 0;
}

/* The site, and the agent --agent names, which must be one of the site's. */
static int find_scope(cstore *st, const conf_args *a, int64_t *site_id)
{
  asr_result r = cstore_conf_site(st, a->site, site_id);
  int found = 0;

  if (r) {
    ccli_error("site config: %s: %s", a->site,
               r == ASR_ERR_NOT_FOUND ? "no such site" : cstore_errmsg(st));
    return r == ASR_ERR_NOT_FOUND ? CCLI_EXIT_FAILURE : ccli_exit_for(r);
  }
  if (!a->agent)
    return -1;
  r = cstore_conf_agents(st, *site_id, a->agent, count_agent, &found);
  if (r) {
    ccli_error("site config: %s", cstore_errmsg(st));
    return ccli_exit_for(r);
  }
  if (!found) {
    ccli_error("site config: %s: no such agent in site %s", a->agent, a->site);
    return CCLI_EXIT_FAILURE;
  }
  return -1;
}

int csiteconf_cli(int argc, char **argv)
{
  conf_args *a = calloc(1, sizeof(*a));
  cstore *st = NULL;
  int64_t site_id = 0;
  int status;
  asr_result r;

  if (!a)
    return CCLI_EXIT_INTERNAL;
  status = parse_args(argc, argv, a);
  if (status >= 0)
    goto out;
  r = ccli_open_db(a->db, &st);
  if (!r)
    r = seal_clear(st, a);
  if (r) {
    status = ccli_exit_for(r);
    goto out;
  }
  status = find_scope(st, a, &site_id);
  if (status >= 0)
    goto out;
  status = a->n ? apply_changes(st, a, site_id) : CCLI_EXIT_OK;
  if (status == CCLI_EXIT_OK && (a->show || a->history))
    status = show(st, a, site_id);
out:
  cstore_close(st);
  asr_secret_wipe(a, sizeof(*a));
  free(a);
  return status;
}

/* ---------------------------------------------------------------------------------------
 * POST /v1/config */

static int answer(ingest_answer *ans, int status, json_t *obj)
{
  free(ans->body);
  ans->body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  ans->status = ans->body ? status : 500;
  json_decref(obj);
  return ans->status;
}

static int fail(ingest_answer *ans, int status, const char *msg)
{
  return answer(ans, status, json_pack("{s:s}", "error", msg));
}

/* The agent's report: {"agent_id", "applied", "error", "error_version"}. */
static int take_report(cstore *st, const cstore_agent *agent, const ingest_request *req,
                       int64_t now, ingest_answer *ans)
{
  json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
  const char *id = json_string_value(json_object_get(j, "agent_id"));
  json_t *applied = json_object_get(j, "applied"), *ev = json_object_get(j, "error_version");
  json_t *err = json_object_get(j, "error");
  char text[1001] = "";
  int status = 0;

  /* one line, shown to operators: no control character reaches their terminal */
  if (json_is_string(err) &&
      asr_text_clean(text, sizeof(text), json_string_value(err), ASR_TEXT_SPACE) != ASR_OK)
    text[0] = '\0'; /* longer than a report's line: none kept, never half of one */
  if (!json_is_object(j))
    status = fail(ans, 400, "body: not a JSON object");
  else if (!id || strcmp(id, agent->id) != 0)
    status = fail(ans, 400, "agent_id: not the signing agent");
  else if (!json_is_integer(applied) || json_integer_value(applied) < 0)
    status = fail(ans, 400, "applied: not an integer >= 0");
  else if (err && !json_is_null(err) && (!json_is_string(err) || json_string_length(err) > 1000))
    status = fail(ans, 400, "error: not a string of at most 1000 bytes");
  else if (ev && !json_is_null(ev) && (!json_is_integer(ev) || json_integer_value(ev) < 0))
    status = fail(ans, 400, "error_version: not an integer >= 0");
  else if (cstore_conf_agent_report(st, agent->id, json_integer_value(applied), text,
                                    json_integer_value(ev), now))
    status = fail(ans, 503, "database busy");
  json_decref(j);
  return status;
}

/* The values of the agent: the site's, its own over them, secrets opened; pass phrases
 * into secrets, the rest (communities too) into vals. site and own are scratch. */
static int agent_values(cstore *st, const char *db_path, const cstore_agent *agent,
                        cstore_conf *site, cstore_conf *own, json_t *vals, json_t *secrets,
                        ingest_answer *ans)
{
  char key[ASR_SEAL_KEY_HEX + 1] = "", err[600] = "";
  const cstore_conf *layer[2] = {site, own};
  asr_result r = cstore_conf_get(st, agent->site_id, site);

  if (!r)
    r = cstore_conf_get_agent(st, agent->site_id, agent->id, own);
  if (r)
    return fail(ans, 503, "database busy");
  if (any_sealed(site) || any_sealed(own)) {
    r = load_key(db_path, false, key, err, sizeof(err));
    if (r)
      asr_log(ASR_LOG_ERR, "configuration: %s", err);
    if (!r)
      r = open_conf(key, NULL, site);
    if (!r)
      r = open_conf(key, agent->id, own);
    asr_secret_wipe(key, sizeof(key));
    if (r)
      return fail(ans, 500, "configuration: the secrets cannot be opened");
  }
  for (size_t k = 0; k < 2; k++) {
    for (size_t i = 0; i < layer[k]->n; i++) {
      const cstore_conf_value *v = &layer[k]->v[i];
      json_t *to = asr_conf_remote_key(v->key) == ASR_CONF_KEY_SECRET ? secrets : vals;

      json_object_set_new(to, v->key, json_string(v->value));
    }
  }
  return 0;
}

/* {"config": "<signed document>", "signature": "v1=..."}, at most CSITECONF_MAX_ANSWER
 * bytes (what an agent keeps of an answer). */
static int signed_answer(const cstore_agent *agent, int64_t version, json_t *vals, json_t *secrets,
                         int64_t now, ingest_answer *ans)
{
  json_t *doc =
      json_pack("{s:s,s:I,s:I,s:O,s:O}", "agent_id", agent->id, "version", (json_int_t)version,
                "issued_at", (json_int_t)now, "values", vals, "secrets", secrets);
  char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  char sig[ASR_SIGN_HEADER_LEN + 1];
  int status;

  if (!text || asr_sign_request(agent->secret, "CONFIG", CSITECONF_PATH, now, text, strlen(text),
                                sig, sizeof(sig)) != ASR_OK)
    status = fail(ans, 500, "configuration: cannot sign the answer");
  else
    status = answer(ans, 200, json_pack("{s:s,s:s}", "config", text, "signature", sig));
  if (status == 200 && strlen(ans->body) > CSITECONF_MAX_ANSWER) {
    asr_log(ASR_LOG_ERR, "configuration: agent %s: the answer would be %zu bytes (at most %u)",
            agent->id, strlen(ans->body), CSITECONF_MAX_ANSWER);
    asr_secret_wipe(ans->body, strlen(ans->body));
    status = fail(ans, 500, "configuration: larger than an agent takes");
  }
  if (text)
    asr_secret_wipe(text, strlen(text));
  free(text);
  json_decref(doc);
  return status;
}

int csiteconf_checkin(cstore *st, const char *db_path, const cstore_agent *agent,
                      const ingest_request *req, int64_t now, ingest_answer *ans)
{
  cstore_conf *site = NULL, *own = NULL;
  json_t *vals = json_object(), *secrets = json_object();
  int64_t ts = 0;
  int status;

  if (req->body_len > CSITECONF_MAX_BODY) {
    status = fail(ans, 413, "body: more than 64 KiB");
    goto out;
  }
  asr_parse_i64(req->timestamp, 0, INT64_MAX, &ts);
  if (asr_sign_verify(agent->secret, "POST", CSITECONF_PATH, ts, req->body, req->body_len,
                      req->signature) != ASR_OK) {
    status = fail(ans, 401, "X-ASR-Signature: the signature does not match");
    goto out;
  }
  status = take_report(st, agent, req, now, ans);
  if (status)
    goto out;
  site = malloc(sizeof(*site));
  own = malloc(sizeof(*own));
  status = site && own && vals && secrets
               ? agent_values(st, db_path, agent, site, own, vals, secrets, ans)
               : fail(ans, 500, "out of memory");
  if (!status)
    status = signed_answer(agent, site->version, vals, secrets, now, ans);
out:
  json_decref(vals);
  json_decref(secrets);
  if (site)
    asr_secret_wipe(site, sizeof(*site));
  if (own)
    asr_secret_wipe(own, sizeof(*own));
  free(site);
  free(own);
  return status;
}
