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
#include "central/cstore_conf.h"
#include "common/date.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "conf/conf.h"
#include "wire/seal.h"
#include "wire/sign.h"

#define MAX_CHANGES 64
#define ERR_MAX 1024

/* ---------------------------------------------------------------------------------------
 * The key of the sealed pass phrases. */

asr_result csiteconf_key_path(const char *db_path, char *out, size_t n)
{
  return asr_fmt(out, n, "%s.key", db_path);
}

/* Reads the key (64 hex in a 0600 file); create makes one when the file is missing. */
static asr_result read_key(const char *path, bool create, char *key, char *err, size_t n)
{
  FILE *f = fopen(path, "r");
  char line[128] = "";
  asr_result r;

  if (!f && errno == ENOENT && create) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    char hex[ASR_SEAL_KEY_HEX + 2];

    if (fd < 0 || asr_sign_random_hex(hex, 32) != ASR_OK) {
      if (fd >= 0)
        close(fd);
      asr_fmt_cut(err, n, "%s: cannot create the key file: %s", path, strerror(errno));
      return ASR_ERR_IO;
    }
    hex[ASR_SEAL_KEY_HEX] = '\n';
    r = write(fd, hex, ASR_SEAL_KEY_HEX + 1) == ASR_SEAL_KEY_HEX + 1 ? ASR_OK : ASR_ERR_IO;
    close(fd);
    asr_strlcpy_cut(key, hex, ASR_SEAL_KEY_HEX + 1);
    key[ASR_SEAL_KEY_HEX] = '\0';
    memset(hex, 0, sizeof(hex));
    if (r)
      asr_fmt_cut(err, n, "%s: cannot write the key file", path);
    return r;
  }
  if (!f) {
    asr_fmt_cut(err, n, "%s: cannot read the key of the pass phrases: %s", path, strerror(errno));
    return ASR_ERR_IO;
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
  asr_strlcpy_cut(key, line, ASR_SEAL_KEY_HEX + 1);
  asr_secret_wipe(line, sizeof(line));
  return ASR_OK;
}

/* The additional data of a sealed value: where it belongs. ASR_ERR_TOO_LARGE when it does
 * not fit out (a cut one would bind the value to another place). */
static asr_result seal_aad(int64_t site_id, const char *key, char *out, size_t n)
{
  return asr_fmt(out, n, "asr-site-config:%lld:%s", (long long)site_id, key);
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

/* The pairs of a configuration with changes applied (secrets: a placeholder of a valid
 * length for those already sealed, the new pass phrase for those being set). */
static size_t merged_pairs(const cstore_conf *cur, const cstore_conf_change_t *ch, size_t nch,
                           asr_conf_pair *out, size_t max)
{
  size_t n = 0;

  for (size_t i = 0; i < cur->n && n < max; i++) {
    bool changed = false;

    for (size_t k = 0; k < nch; k++)
      changed |= strcmp(ch[k].key, cur->v[i].key) == 0;
    if (!changed)
      out[n++] = (asr_conf_pair){cur->v[i].key, cur->v[i].sealed ? "(sealed)" : cur->v[i].value};
  }
  for (size_t k = 0; k < nch && n < max; k++) {
    if (ch[k].value)
      out[n++] = (asr_conf_pair){ch[k].key, ch[k].value};
  }
  return n;
}

static asr_result check_config(const char *site, const asr_conf_pair *pairs, size_t n, errs *e)
{
  asr_conf *c = malloc(sizeof(*c));
  asr_conf_overlay ov = {pairs, n, site, NULL};
  asr_result r;

  if (!c)
    return ASR_ERR_NOMEM;
  r = asr_conf_check_remote(&ov, c, collect, e);
  free(c);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * asr-central site config NAME */

typedef struct {
  const char *db, *key_file, *who, *site;
  int json, show, history;
  size_t n;
  cstore_conf_change_t ch[MAX_CHANGES];
  char secret[2][ASR_SEAL_MAX_PLAIN + 1]; /* pass phrases read from stdin */
  int n_secret;
} conf_args;

static void usage(FILE *out)
{
  fprintf(out,
          "usage: asr-central site config NAME --db FILE [--set KEY=VALUE]... [--unset KEY]...\n"
          "         [--show] [--history] [--format json|table] [--by WHO] [--key-file FILE]\n"
          "KEY is a directive of asr-agent.conf(5) the central may set, or v3_auth_pass /\n"
          "v3_priv_pass: a pass phrase is never given on the command line: --set KEY=- reads\n"
          "it from the first line of stdin.\n");
}

/* Reads one line of stdin as a pass phrase into buf. */
static asr_result read_stdin_line(char *buf, size_t n)
{
  if (!fgets(buf, (int)n, stdin))
    return ASR_ERR_INVALID;
  buf[strcspn(buf, "\r\n")] = '\0';
  return ASR_OK;
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
  c->sealed = kind == ASR_CONF_KEY_SECRET;
  if (c->sealed && c->value) {
    if (strcmp(c->value, "-") != 0) {
      ccli_error("site config: %s: a pass phrase never goes on the command line: use --set "
                 "%s=- and give it on stdin",
                 arg, arg);
      return -1;
    }
    if (a->n_secret >= 2 || read_stdin_line(a->secret[a->n_secret], sizeof(a->secret[0]))) {
      ccli_error("site config: %s: no pass phrase on stdin", arg);
      return -1;
    }
    c->value = a->secret[a->n_secret++];
  }
  a->n++;
  return 0;
}

static int parse_args(int argc, char **argv, conf_args *a)
{
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},    {"set", required_argument, NULL, 's'},
      {"unset", required_argument, NULL, 'u'}, {"show", no_argument, NULL, 'S'},
      {"history", no_argument, NULL, 'H'},     {"format", required_argument, NULL, 'f'},
      {"by", required_argument, NULL, 'b'},    {"key-file", required_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'd')
      a->db = optarg;
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
    else if (c == 'k')
      a->key_file = optarg;
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

/* Seals the pass phrases being set (the key file is created when missing). */
static asr_result seal_changes(conf_args *a, int64_t site_id, char sealed[][ASR_SEAL_TEXT_MAX])
{
  char key[ASR_SEAL_KEY_HEX + 1], path[1100], err[600], aad[200];
  int k = 0;
  asr_result r = ASR_OK;
  bool any = false;

  for (size_t i = 0; i < a->n; i++)
    any |= a->ch[i].sealed && a->ch[i].value;
  if (!any)
    return ASR_OK;
  r = a->key_file ? asr_strlcpy(path, a->key_file, sizeof(path))
                  : csiteconf_key_path(a->db, path, sizeof(path));
  if (r)
    asr_fmt_cut(err, sizeof(err), "%s: the key file's path is too long",
                a->key_file ? a->key_file : a->db);
  else
    r = read_key(path, true, key, err, sizeof(err));
  if (r) {
    ccli_error("site config: %s", err);
    return r;
  }
  for (size_t i = 0; !r && i < a->n; i++) {
    if (!a->ch[i].sealed || !a->ch[i].value)
      continue;
    r = seal_aad(site_id, a->ch[i].key, aad, sizeof(aad));
    if (!r)
      r = asr_seal(key, aad, a->ch[i].value, sealed[k], ASR_SEAL_TEXT_MAX);
    a->ch[i].value = sealed[k++];
  }
  asr_secret_wipe(key, sizeof(key));
  if (r)
    ccli_error("site config: cannot seal the pass phrase");
  return r;
}

static int apply_changes(cstore *st, conf_args *a, int64_t site_id)
{
  cstore_conf *cur = malloc(sizeof(*cur));
  asr_conf_pair pairs[CSTORE_CONF_MAX_KEYS + MAX_CHANGES];
  char sealed[2][ASR_SEAL_TEXT_MAX];
  errs e = {"", 0, 0};
  int64_t version = 0;
  size_t n;
  asr_result r = ASR_ERR_NOMEM;
  int status = CCLI_EXIT_INTERNAL;

  if (!cur)
    goto out;
  r = cstore_conf_get(st, site_id, cur);
  if (r) {
    ccli_error("site config: %s", cstore_errmsg(st));
    status = ccli_exit_for(r);
    goto out;
  }
  n = merged_pairs(cur, a->ch, a->n, pairs, sizeof(pairs) / sizeof(pairs[0]));
  if (check_config(a->site, pairs, n, &e) != ASR_OK) {
    fprintf(stderr, "%s\n", e.msg);
    ccli_error("site config: %s: nothing changed (%d problems)", a->site, e.n);
    status = CCLI_EXIT_FAILURE;
    goto out;
  }
  r = seal_changes(a, site_id, sealed);
  if (!r)
    r = cstore_conf_change(st, site_id, a->ch, a->n, who(a), ingest_now(), &version);
  if (r) {
    ccli_error("site config: %s: nothing changed: %s", a->site,
               r == ASR_ERR_DB ? cstore_errmsg(st) : asr_result_str(r));
    status = ccli_exit_for(r);
    goto out;
  }
  printf("site %s: configuration version %lld\n", a->site, (long long)version);
  status = CCLI_EXIT_OK;
out:
  asr_secret_wipe(a->secret, sizeof(a->secret));
  free(cur);
  return status;
}

/* ---- --show and --history ---- */

static int agent_row(const cstore_conf_agent *g, void *ctx)
{
  json_t *arr = ctx;

  json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "agent", g->agent_id,
                                       "hostname", g->hostname ? g->hostname : "", "applied",
                                       (json_int_t)g->applied, "error", g->error ? g->error : "",
                                       "error_version", (json_int_t)g->error_version, "checked_at",
                                       (json_int_t)g->checked_at));
  return 0;
}

static json_t *show_doc(cstore *st, const char *site, int64_t site_id, asr_result *r)
{
  cstore_conf *cur = malloc(sizeof(*cur));
  json_t *doc = NULL, *vals = json_object(), *agents = json_array();

  *r = cur ? cstore_conf_get(st, site_id, cur) : ASR_ERR_NOMEM;
  if (!*r)
    *r = cstore_conf_agents(st, site_id, agent_row, agents);
  if (!*r) {
    for (size_t i = 0; i < cur->n; i++)
      json_object_set_new(vals, cur->v[i].key,
                          json_string(cur->v[i].sealed ? "(set)" : cur->v[i].value));
    doc = json_pack("{s:s,s:I,s:O,s:O}", "site", site, "version", (json_int_t)cur->version,
                    "values", vals, "agents", agents);
  }
  json_decref(vals);
  json_decref(agents);
  free(cur);
  return doc;
}

static void print_show(const json_t *doc)
{
  const char *k;
  json_t *v;
  size_t i;

  printf("site %s: configuration version %lld\n", json_string_value(json_object_get(doc, "site")),
         (long long)json_integer_value(json_object_get(doc, "version")));
  json_object_foreach((json_t *)json_object_get(doc, "values"), k, v)
      printf("  %-22s %s\n", k, json_string_value(v));
  json_array_foreach(json_object_get(doc, "agents"), i, v)
  {
    const char *err = json_string_value(json_object_get(v, "error"));

    printf("agent %s (%s): applied version %lld", json_string_value(json_object_get(v, "agent")),
           json_string_value(json_object_get(v, "hostname")),
           (long long)json_integer_value(json_object_get(v, "applied")));
    if (err && *err)
      printf("; refused version %lld: %s",
             (long long)json_integer_value(json_object_get(v, "error_version")), err);
    printf("\n");
  }
}

static int history_row(const cstore_conf_audit *a, void *ctx)
{
  json_t *arr = ctx;
  char when[32];

  asr_time_iso(a->at, when, sizeof(when));
  if (arr) {
    json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s}", "version",
                                         (json_int_t)a->version, "at", when, "key", a->key, "old",
                                         a->old, "new", a->new_, "who", a->who));
    return 0;
  }
  printf("%s v%lld %s %s: %s -> %s\n", when, (long long)a->version, a->who, a->key,
         a->old ? a->old : "(unset)", a->new_ ? a->new_ : "(unset)");
  return 0;
}

static int show(cstore *st, const conf_args *a, int64_t site_id)
{
  asr_result r = ASR_OK;
  json_t *doc = NULL, *hist = NULL;

  if (a->show) {
    doc = show_doc(st, a->site, site_id, &r);
    if (!r && !a->json)
      print_show(doc);
  }
  if (!r && a->history) {
    hist = a->json ? json_array() : NULL;
    if (!a->json)
      printf("history of site %s:\n", a->site);
    r = cstore_conf_history(st, site_id, history_row, hist);
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
  if (r) {
    status = ccli_exit_for(r);
    goto out;
  }
  r = cstore_conf_site(st, a->site, &site_id);
  if (r) {
    ccli_error("site config: %s: %s", a->site,
               r == ASR_ERR_NOT_FOUND ? "no such site" : cstore_errmsg(st));
    status = r == ASR_ERR_NOT_FOUND ? CCLI_EXIT_FAILURE : ccli_exit_for(r);
    goto out;
  }
  status = a->n ? apply_changes(st, a, site_id) : CCLI_EXIT_OK;
  if (status == CCLI_EXIT_OK && (a->show || a->history) && (!a->n || a->show || a->history))
    status = show(st, a, site_id);
out:
  cstore_close(st);
  memset(a, 0, sizeof(*a));
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
  int status = 0;

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
  else if (cstore_conf_agent_report(st, agent->id, json_integer_value(applied),
                                    json_string_value(err), json_integer_value(ev), now))
    status = fail(ans, 503, "database busy");
  json_decref(j);
  return status;
}

/* The values of the configuration, pass phrases opened, into vals and secrets. */
static int open_values(const cstore_conf *cur, const char *db_path, json_t *vals, json_t *secrets,
                       ingest_answer *ans)
{
  char key[ASR_SEAL_KEY_HEX + 1] = "", path[1100], err[600], aad[200];
  char plain[ASR_SEAL_MAX_PLAIN + 1];
  bool have_key = false;
  int status = 0;

  for (size_t i = 0; i < cur->n && !status; i++) {
    if (!cur->v[i].sealed) {
      json_object_set_new(vals, cur->v[i].key, json_string(cur->v[i].value));
      continue;
    }
    if (!have_key && (csiteconf_key_path(db_path, path, sizeof(path)) != ASR_OK ||
                      read_key(path, false, key, err, sizeof(err)) != ASR_OK)) {
      asr_log(ASR_LOG_ERR, "configuration: %s", err);
      status = fail(ans, 500, "configuration: the pass phrases cannot be opened");
      break;
    }
    have_key = true;
    if (seal_aad(cur->site_id, cur->v[i].key, aad, sizeof(aad)) != ASR_OK ||
        asr_unseal(key, aad, cur->v[i].value, plain, sizeof(plain)) != ASR_OK) {
      asr_log(ASR_LOG_ERR, "configuration: site %lld: %s does not open with the key",
              (long long)cur->site_id, cur->v[i].key);
      status = fail(ans, 500, "configuration: the pass phrases cannot be opened");
      break;
    }
    json_object_set_new(secrets, cur->v[i].key, json_string(plain));
    asr_secret_wipe(plain, sizeof(plain));
  }
  asr_secret_wipe(key, sizeof(key));
  return status;
}

/* {"config": "<signed document>", "signature": "v1=..."} */
static int signed_answer(const cstore_agent *agent, const cstore_conf *cur, json_t *vals,
                         json_t *secrets, int64_t now, ingest_answer *ans)
{
  json_t *doc =
      json_pack("{s:s,s:I,s:I,s:O,s:O}", "agent_id", agent->id, "version", (json_int_t)cur->version,
                "issued_at", (json_int_t)now, "values", vals, "secrets", secrets);
  char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  char sig[ASR_SIGN_HEADER_LEN + 1];
  int status;

  if (!text || asr_sign_request(agent->secret, "CONFIG", CSITECONF_PATH, now, text, strlen(text),
                                sig, sizeof(sig)) != ASR_OK)
    status = fail(ans, 500, "configuration: cannot sign the answer");
  else
    status = answer(ans, 200, json_pack("{s:s,s:s}", "config", text, "signature", sig));
  if (text)
    memset(text, 0, strlen(text));
  free(text);
  json_decref(doc);
  return status;
}

int csiteconf_checkin(cstore *st, const char *db_path, const cstore_agent *agent,
                      const ingest_request *req, int64_t now, ingest_answer *ans)
{
  cstore_conf *cur = NULL;
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
  cur = malloc(sizeof(*cur));
  if (!cur || cstore_conf_get(st, agent->site_id, cur) != ASR_OK) {
    status = fail(ans, 503, "database busy");
    goto out;
  }
  status = open_values(cur, db_path, vals, secrets, ans);
  if (!status)
    status = signed_answer(agent, cur, vals, secrets, now, ans);
out:
  json_decref(vals);
  json_decref(secrets);
  free(cur);
  return status;
}
