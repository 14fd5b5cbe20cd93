/* remoteconf.c: the agent's side of the remote configuration (see remoteconf.h). */
#include "agent/remoteconf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/outbox.h"
#include "store/store.h"
#include "wire/http.h"
#include "uplink/remote.h"
#include "uplink/uplink.h"

#define MAX_PAIRS 128
#define ERROR_MAX 1000

/* What is kept on disk. */
typedef struct {
  json_t *doc; /* {"version", "issued_at", "values", "secrets": [names], "error",
                  "error_version"}, or NULL */
  int64_t version, error_version;
  const char *error;
} state;

/* ---- the files ---- */

static asr_result beside_db(const asr_conf *c, const char *name, char *out, size_t n)
{
  size_t dir = strlen(c->database);

  while (dir > 0 && !asr_platform_is_sep(c->database[dir - 1]))
    dir--;
  return asr_fmt(out, n, "%.*s%s", (int)dir, c->database, name);
}

/* Puts tmp (private) in place of path. The file in place is narrowed first: a replace keeps
 * its mode (less others'), and a private file must not inherit a widened one. */
static asr_result replace_private(const char *tmp, const char *path)
{
  FILE *f = fopen(path, "r");
  asr_result r = asr_platform_restrict(tmp);

  if (f)
    fclose(f);
  if (!r && f)
    r = asr_platform_restrict(path);
  return r ? r : asr_platform_replace(tmp, path);
}

/* Writes text to path, 0600 (Administrators-only on Windows), through a temporary file. */
static asr_result write_private(const char *path, const char *text)
{
  char tmp[600];
  FILE *f;
  asr_result r = asr_fmt(tmp, sizeof(tmp), "%s.tmp", path);

  if (r)
    return r;
  remove(tmp);
  if (asr_platform_create_private(tmp) != 1 || !(f = fopen(tmp, "w")))
    return ASR_ERR_IO;
  r = fputs(text, f) < 0 ? ASR_ERR_IO : ASR_OK;
  if (fclose(f) != 0)
    r = ASR_ERR_IO;
  if (!r)
    r = replace_private(tmp, path);
  if (r)
    remove(tmp);
  return r;
}

static void state_free(state *s)
{
  json_decref(s->doc);
  memset(s, 0, sizeof(*s));
  s->error = "";
}

/* Reads the state beside the database; none is an empty state. ASR_ERR_PARSE when the
 * file is there but damaged or readable by others. */
static asr_result state_read(const asr_conf *c, state *s)
{
  char path[600];
  FILE *f;
  json_t *j;

  memset(s, 0, sizeof(*s));
  s->error = "";
  if (beside_db(c, ASR_REMOTECONF_STATE, path, sizeof(path)) != ASR_OK)
    return ASR_ERR_INVALID;
  f = fopen(path, "r");
  if (!f)
    return ASR_OK;
  if (asr_platform_file_private(f) != ASR_OK) {
    fclose(f);
    asr_log(ASR_LOG_ERR, "%s: readable by others or not a file: ignored", path);
    return ASR_ERR_PARSE;
  }
  j = json_loadf(f, JSON_REJECT_DUPLICATES, NULL);
  fclose(f);
  if (!json_is_object(j) || !json_is_integer(json_object_get(j, "version")) ||
      !json_is_object(json_object_get(j, "values"))) {
    json_decref(j);
    asr_log(ASR_LOG_ERR, "%s: not a remote configuration: ignored", path);
    return ASR_ERR_PARSE;
  }
  s->doc = j;
  s->version = json_integer_value(json_object_get(j, "version"));
  s->error_version = json_integer_value(json_object_get(j, "error_version"));
  s->error = json_string_value(json_object_get(j, "error"));
  if (!s->error)
    s->error = "";
  return ASR_OK;
}

static asr_result state_write(const asr_conf *c, json_t *doc)
{
  char path[600], *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
  asr_result r = text ? beside_db(c, ASR_REMOTECONF_STATE, path, sizeof(path)) : ASR_ERR_NOMEM;

  if (!r)
    r = write_private(path, text);
  if (r)
    asr_log(ASR_LOG_ERR, "cannot write %s: %s", path, asr_result_str(r));
  free(text);
  return r;
}

/* ---- loading ---- */

static void log_error(const char *msg, void *ctx)
{
  (void)ctx;
  asr_log(ASR_LOG_ERR, "%s", msg);
}

/* The overlay of a values object (and the secrets file when pass phrases came). */
static size_t overlay_of(json_t *values, json_t *secrets, asr_conf_pair *pairs, size_t max)
{
  const char *k;
  json_t *v;
  size_t n = 0;

  json_object_foreach(values, k, v)
  {
    if (n < max)
      pairs[n++] = (asr_conf_pair){k, json_is_string(v) ? json_string_value(v) : "\x01"};
  }
  json_object_foreach(secrets, k, v)
  {
    if (n < max)
      pairs[n++] = (asr_conf_pair){k, json_is_string(v) ? json_string_value(v) : "\x01"};
  }
  return n;
}

asr_result asr_remoteconf_load(const char *path, asr_conf *c, asr_conf_error_cb err, void *ctx)
{
  asr_conf_pair pairs[MAX_PAIRS];
  asr_conf_overlay ov = {pairs, 0, NULL, NULL};
  char label[64], secrets[600];
  state s;
  asr_result r = asr_conf_load(path, c, err, ctx);

  if (r || !c->remote_config || state_read(c, &s) != ASR_OK || !s.doc)
    return r;
  ov.n = overlay_of(json_object_get(s.doc, "values"), NULL, pairs, MAX_PAIRS);
  asr_fmt_cut(label, sizeof(label), "remote configuration %lld", (long long)s.version);
  ov.label = label;
  if (json_array_size(json_object_get(s.doc, "secrets")) &&
      beside_db(c, ASR_REMOTECONF_SECRETS, secrets, sizeof(secrets)) == ASR_OK)
    ov.secrets_file = secrets;
  if (asr_conf_load_with(path, &ov, c, log_error, NULL) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "%s no longer fits %s: ignored until the central sends another", label,
            path);
    r = asr_conf_load(path, c, err, ctx);
  } else if (ov.secrets_file && asr_conf_check_secrets(c, log_error, NULL) != ASR_OK) {
    /* the pass phrases the agent keeps for it, changed by someone else */
    asr_log(ASR_LOG_ERR, "%s: %s is not usable: ignored until the central sends another", label,
            secrets);
    r = asr_conf_load(path, c, err, ctx);
  }
  state_free(&s);
  return r;
}

/* ---- a check-in ---- */

typedef struct {
  char msg[ERROR_MAX];
  size_t len;
} errs;

static void collect(const char *msg, void *ctx)
{
  errs *e = ctx;

  asr_log(ASR_LOG_ERR, "%s", msg);
  if (!e->len)
    asr_append(e->msg, sizeof(e->msg), &e->len, "%s", msg);
  else if (!strstr(e->msg, "; ..."))
    asr_append(e->msg, sizeof(e->msg), &e->len, "; ...");
}

/* The pass phrases as a secrets file ("auth = ...", "priv = ...") at path; false when none. */
static asr_result write_secrets(json_t *secrets, const char *path, bool *any)
{
  const char *a = json_string_value(json_object_get(secrets, "v3_auth_pass"));
  const char *p = json_string_value(json_object_get(secrets, "v3_priv_pass"));
  char text[600] = "";
  size_t len = 0;
  asr_result r;

  *any = a || p;
  if (!*any)
    return ASR_OK;
  if (a)
    asr_append(text, sizeof(text), &len, "auth = %s\n", a);
  if (p)
    asr_append(text, sizeof(text), &len, "priv = %s\n", p);
  r = write_private(path, text);
  memset(text, 0, sizeof(text));
  return r;
}

/* Checks doc (the verified configuration) over the file; on success fresh holds it and
 * the secrets file is in place. e gets the first problem. */
static asr_result try_apply(const char *conf_path, const asr_conf *running, json_t *doc,
                            int64_t version, asr_conf *fresh, errs *e)
{
  json_t *values = json_object_get(doc, "values"), *secrets = json_object_get(doc, "secrets");
  asr_conf_pair pairs[MAX_PAIRS];
  asr_conf_overlay ov = {pairs, 0, NULL, NULL};
  char label[64], spath[600], snew[620];
  bool any = false;
  asr_result r;

  ov.n = overlay_of(values, secrets, pairs, MAX_PAIRS);
  asr_fmt_cut(label, sizeof(label), "remote configuration %lld", (long long)version);
  ov.label = label;
  r = beside_db(running, ASR_REMOTECONF_SECRETS, spath, sizeof(spath));
  if (!r)
    r = asr_fmt(snew, sizeof(snew), "%s.new", spath);
  if (!r)
    r = write_secrets(secrets, snew, &any);
  if (r) {
    collect("cannot write the pass phrases beside the database", e);
    return r;
  }
  ov.secrets_file = any ? snew : NULL;
  r = asr_conf_load_with(conf_path, &ov, fresh, collect, e);
  if (!r)
    r = asr_conf_check_secrets(fresh, collect, e);
  if (!r && strcmp(fresh->database, running->database) != 0) {
    collect("database cannot change without a restart", e);
    r = ASR_ERR_INVALID;
  }
  if (r || !any) {
    remove(snew);
    if (!r)
      remove(spath);
    return r;
  }
  r = replace_private(snew, spath);
  if (!r && strcmp(fresh->secrets_file, snew) == 0)
    r = asr_strlcpy(fresh->secrets_file, spath, sizeof(fresh->secrets_file));
  return r;
}

/* The new state after an applied (error NULL) or refused version. */
static json_t *new_state(const state *old, json_t *doc, int64_t version, const char *error)
{
  json_t *s, *names = json_array();
  const char *k;
  json_t *v;

  if (error) { /* the old configuration stays: only the report changes */
    s = old->doc ? json_deep_copy(old->doc)
                 : json_pack("{s:I,s:{},s:[]}", "version", (json_int_t)0, "values", "secrets");
    json_object_set_new(s, "error", json_string(error));
    json_object_set_new(s, "error_version", json_integer((json_int_t)version));
    json_decref(names);
    return s;
  }
  json_object_foreach(json_object_get(doc, "secrets"), k, v)
      json_array_append_new(names, json_string(k));
  return json_pack("{s:I,s:O,s:O,s:o,s:s,s:I}", "version", (json_int_t)version, "issued_at",
                   json_object_get(doc, "issued_at"), "values", json_object_get(doc, "values"),
                   "secrets", names, "error", "", "error_version", (json_int_t)0);
}

/* The HTTP settings of the enrolment, with a proxy user when one is configured; tick (may
 * be NULL) is asked during the transfer. */
static asr_result http_of(const asr_outbox_cred *cred, char *proxy_user, size_t n,
                          int (*tick)(void *ctx), void *tick_ctx, asr_http_opts *o)
{
  if (asr_cli_proxy_user(cred->proxy_user_file, proxy_user, n) >= 0)
    return ASR_ERR_SECRET;
  asr_uplink_http_opts(cred, proxy_user[0] ? proxy_user : NULL, o);
  o->connect_timeout_ms = 5000;
  o->timeout_ms = 10000;
  /* the daemon's tick: its watchdog is fed, and a stop request ends the check-in at once */
  o->abort_cb = tick;
  o->abort_ctx = tick_ctx;
  return ASR_OK;
}

/* Handles a verified document; returns the state to write (NULL: nothing to write). */
static json_t *handle(const char *conf_path, const asr_conf *running, const state *s,
                      const asr_remote_doc *d, asr_conf *fresh, bool *changed, asr_result *r)
{
  json_t *doc;
  errs e = {"", 0};

  *r = ASR_OK;
  if (d->version < s->version) {
    asr_log(ASR_LOG_ERR,
            "configuration: version %lld is older than the applied %lld (a replay?): refused",
            (long long)d->version, (long long)s->version);
    *r = ASR_ERR_AUTH;
    return NULL;
  }
  if (d->version == s->version || d->version == s->error_version)
    return NULL; /* nothing new */
  doc = json_loads(d->doc, 0, NULL);
  *r = doc ? try_apply(conf_path, running, doc, d->version, fresh, &e) : ASR_ERR_PROTOCOL;
  if (*r) {
    asr_log(ASR_LOG_ERR, "configuration: version %lld refused, keeping version %lld: %s",
            (long long)d->version, (long long)s->version, e.msg);
    json_t *st = new_state(s, doc, d->version, e.msg[0] ? e.msg : asr_result_str(*r));
    json_decref(doc);
    return st;
  }
  *changed = true;
  asr_log(ASR_LOG_INFO, "configuration: version %lld of the central applied",
          (long long)d->version);
  json_t *st = new_state(s, doc, d->version, NULL);
  json_decref(doc);
  return st;
}

/* One check-in: the report of s, the answer verified into d. */
static asr_result checkin(const asr_conf *running, const state *s, int (*tick)(void *ctx),
                          void *tick_ctx, asr_remote_doc *d)
{
  asr_store *st = NULL;
  asr_outbox_cred cred;
  asr_http_opts o;
  asr_remote_report rep = {s->version, s->error, s->error_version};
  char err[512] = "", proxy_user[512] = "";
  asr_result r = asr_store_open(running->database, &st, err, sizeof(err));

  if (!r)
    r = asr_outbox_get_cred(st, &cred);
  asr_store_close(st);
  if (r) {
    asr_log(ASR_LOG_INFO, "configuration: not enrolled: no check-in");
    return r;
  }
  r = http_of(&cred, proxy_user, sizeof(proxy_user), tick, tick_ctx, &o);
  if (!r)
    r = asr_http_global_init();
  if (!r) {
    r = asr_remote_checkin(&o, &cred, &rep, d, err, sizeof(err));
    asr_http_global_fini();
  }
  if (r)
    asr_log(r == ASR_ERR_AUTH || r == ASR_ERR_TOO_LARGE ? ASR_LOG_ERR : ASR_LOG_WARN, "%s",
            err[0] ? err : asr_result_str(r));
  asr_secret_wipe(&cred, sizeof(cred));
  memset(proxy_user, 0, sizeof(proxy_user));
  return r;
}

asr_result asr_remoteconf_sync(const char *conf_path, const asr_conf *running, asr_conf *fresh,
                               bool *changed, int (*tick)(void *ctx), void *tick_ctx)
{
  asr_remote_doc d = {0, 0, NULL};
  json_t *next = NULL;
  state s;
  asr_result r;

  *changed = false;
  if (!running->remote_config)
    return ASR_OK;
  if (state_read(running, &s) != ASR_OK)
    memset(&s, 0, sizeof(s)), s.error = "";
  r = checkin(running, &s, tick, tick_ctx, &d);
  if (!r)
    next = handle(conf_path, running, &s, &d, fresh, changed, &r);
  asr_remote_doc_free(&d);
  if (next && state_write(running, next) == ASR_OK) {
    state s2;

    /* report at once what became of it (the answer carries the same version) */
    if (state_read(running, &s2) == ASR_OK) {
      if (checkin(running, &s2, tick, tick_ctx, &d) == ASR_OK)
        asr_remote_doc_free(&d);
      state_free(&s2);
    }
  } else if (next) {
    *changed = false; /* not kept on disk: not applied either */
    r = ASR_ERR_IO;
  }
  json_decref(next);
  state_free(&s);
  return r;
}

/* ---- config show ---- */

static void print_error(const char *msg, void *ctx)
{
  (void)ctx;
  fprintf(stderr, "%s\n", msg);
}

int asr_remoteconf_show(const char *conf_path, FILE *out)
{
  asr_conf *c = malloc(sizeof(*c));
  char v[4096];
  state s;
  size_t i;
  json_t *name;

  if (!c)
    return ASR_EXIT_INTERNAL;
  if (asr_remoteconf_load(conf_path, c, print_error, NULL) != ASR_OK) {
    free(c);
    return ASR_EXIT_INPUT;
  }
  fprintf(out, "# %s: the effective configuration (value, then its source)\n", conf_path);
  for (i = 0; i < asr_conf_directive_count(); i++) {
    if (asr_conf_format(c, i, v, sizeof(v)) != ASR_OK)
      v[0] = '\0';
    fprintf(out, "%-22s %-40s %s\n", asr_conf_directive_name(i), v[0] ? v : "\"\"",
            asr_conf_source_name(asr_conf_directive_source(c, i)));
  }
  if (c->remote_config && state_read(c, &s) == ASR_OK) {
    bool used = false;

    for (i = 0; i < asr_conf_directive_count(); i++)
      used |= asr_conf_directive_source(c, i) == ASR_CONF_SRC_REMOTE;
    json_array_foreach(json_object_get(s.doc, "secrets"), i, name)
    {
      if (used)
        fprintf(out, "%-22s %-40s %s\n", json_string_value(name), "(set)", "central");
    }
    fprintf(out, "# remote configuration: %s", s.doc ? "version " : "none received yet\n");
    if (s.doc)
      fprintf(out, "%lld%s\n", (long long)s.version, used ? "" : " (none of its values in effect)");
    if (s.error[0])
      fprintf(out, "# refused version %lld: %s\n", (long long)s.error_version, s.error);
    state_free(&s);
  } else if (!c->remote_config) {
    fprintf(out, "# remote configuration: off (remote_config off)\n");
  }
  free(c);
  return ASR_EXIT_OK;
}

/* ---- config fetch ---- */

int asr_remoteconf_fetch(const char *conf_path)
{
  asr_conf *c = malloc(sizeof(*c)), *fresh = malloc(sizeof(*fresh));
  bool changed = false;
  asr_result r = ASR_ERR_NOMEM;
  int status = ASR_EXIT_INTERNAL;

  if (!c || !fresh)
    goto out;
  if (asr_remoteconf_load(conf_path, c, print_error, NULL) != ASR_OK) {
    status = ASR_EXIT_INPUT;
    goto out;
  }
  if (!c->remote_config) {
    asr_cli_error("config fetch: %s says remote_config off", conf_path);
    status = ASR_EXIT_USAGE;
    goto out;
  }
  r = asr_remoteconf_sync(conf_path, c, fresh, &changed, NULL, NULL);
  if (r == ASR_OK) {
    printf("%s\n", changed ? "configuration: a new version of the central applied"
                           : "configuration: nothing new");
    status = ASR_EXIT_OK;
  } else {
    asr_cli_error("config fetch: %s (see the log above)", asr_result_str(r));
    status = r == ASR_ERR_PARSE || r == ASR_ERR_SECRET || r == ASR_ERR_INVALID ? ASR_EXIT_INPUT
             : r == ASR_ERR_AUTH || r == ASR_ERR_TOO_LARGE                     ? ASR_EXIT_FAILURE
                                                                               : ASR_EXIT_NETWORK;
  }
out:
  if (fresh)
    memset(fresh, 0, sizeof(*fresh));
  free(c);
  free(fresh);
  return status;
}
