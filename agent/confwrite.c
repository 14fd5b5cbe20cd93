/* confwrite.c: the configuration file from installer properties (see confwrite.h).
 *
 * Why a merge and not a template: an upgrade or a repair runs the same code with fewer
 * (or no) properties, and an administrator may have added directives by hand since; only
 * the directives a given property owns are replaced, the rest of the file is copied line
 * by line. The new file is written next to the old one (FILE.new, private from its
 * creation), parsed with the agent's own parser, and only then renamed over the old one:
 * a bad value leaves the old file untouched.
 *
 * The installer's transaction (save, undo, commit) exists for the failures after a good
 * import (a service that still does not start): Windows Installer then rolls back, and
 * its rollback action puts the copies back. The copies are plain files next to the
 * originals, private like them, so that the undo needs nothing but the file system. */
#include "agent/confwrite.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/platform.h"
#include "common/util.h"
#include "wire/http.h"

#define TOKEN_MAX 200     /* the longest site token accepted */
#define LINE_BUF 4096     /* copying the old file: a longer line goes through in pieces */
#define COMMUNITY_MAX 127 /* asr_conf.communities[i] */
#define SEPARATORS " \t,;"
#define MARK "# set by asr-agent config write/import from the installer's properties"

static const char *const names[ASR_PROP_COUNT] = {"ENDPOINT",  "SITE_TOKEN", "SCAN_TARGETS",
                                                  "COMMUNITY", "PROXY",      "REMOTE_CONFIG"};

/* The directives a given property replaces (SITE_TOKEN: none, it is not in the file). */
static const char *const owned[ASR_PROP_COUNT][3] = {{"endpoint", NULL},
                                                     {NULL},
                                                     {"scan_targets", NULL},
                                                     {"community", NULL},
                                                     {"proxy", "proxy_user_file", NULL},
                                                     {"remote_config", NULL}};

const char *asr_confwrite_name(asr_confwrite_prop p)
{
  return (unsigned)p < ASR_PROP_COUNT ? names[p] : "?";
}

bool asr_confwrite_is_secret(asr_confwrite_prop p)
{
  return p == ASR_PROP_SITE_TOKEN || p == ASR_PROP_COMMUNITY || p == ASR_PROP_PROXY;
}

static void report(asr_conf_error_cb err, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats one problem and hands it to the caller's callback. */
static void report(asr_conf_error_cb err, void *ctx, const char *fmt, ...)
{
  char msg[700];
  va_list ap;

  if (!err)
    return;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    msg[0] = '\0';
  va_end(ap);
  err(msg, ctx);
}

/* Copies s without its leading and trailing blanks (and line ends) into out. */
static asr_result trimmed(const char *s, size_t len, char *out, size_t n)
{
  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && strchr(" \t\r\n", s[len - 1]))
    len--;
  if (len >= n)
    return ASR_ERR_TOO_LARGE;
  memcpy(out, s, len);
  out[len] = '\0';
  return ASR_OK;
}

asr_result asr_confwrite_parse_line(asr_confwrite_props *p, const char *line, char *err, size_t n)
{
  const char *s = line + strspn(line, " \t\r\n"), *eq = strchr(s, '=');
  size_t len;

  if (!*s || *s == '#')
    return ASR_OK;
  if (!eq) {
    asr_strlcpy_cut(err, "expected NAME=VALUE", n); /* never echo: it may be a secret */
    return ASR_ERR_INVALID;
  }
  len = (size_t)(eq - s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  for (size_t i = 0; i < ASR_PROP_COUNT; i++) {
    if (strlen(names[i]) != len || strncasecmp(s, names[i], len) != 0)
      continue;
    if (trimmed(eq + 1, strlen(eq + 1), p->v[i], sizeof(p->v[i])) != ASR_OK) {
      asr_fmt_cut(err, n, "%s: longer than %d characters", names[i], ASR_CONFWRITE_VALUE_MAX - 1);
      return ASR_ERR_TOO_LARGE;
    }
    return ASR_OK;
  }
  asr_fmt_cut(err, n,
              "unknown property '%.*s' (ENDPOINT, SITE_TOKEN, SCAN_TARGETS, COMMUNITY, PROXY,"
              " REMOTE_CONFIG)",
              (int)(len < 64 ? len : 64), s);
  return ASR_ERR_INVALID;
}

static bool has_control(const char *v)
{
  for (const unsigned char *s = (const unsigned char *)v; *s; s++)
    if (*s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* Splits PROXY into the URL without credentials and "user:password" (or ""). */
static asr_result split_proxy(const char *v, char *url, size_t un, char *user, size_t nu)
{
  const char *auth = strstr(v, "://"), *end, *at = NULL;

  user[0] = '\0';
  if (strcmp(v, "none") == 0 || !auth || !auth[3])
    return strcmp(v, "none") == 0 ? asr_strlcpy(url, v, un) : ASR_ERR_INVALID;
  auth += 3;
  end = auth + strcspn(auth, "/?#");
  for (const char *s = auth; s < end; s++)
    if (*s == '@')
      at = s;
  if (!at)
    return asr_strlcpy(url, v, un);
  if (at == auth || *auth == ':' || !memchr(auth, ':', (size_t)(at - auth)) ||
      (size_t)(at - auth) >= nu)
    return ASR_ERR_INVALID;
  memcpy(user, auth, (size_t)(at - auth));
  user[at - auth] = '\0';
  return asr_fmt(url, un, "%.*s%s", (int)(auth - v), v, at + 1);
}

/* The communities: one or more words; none may start a comment. */
static bool communities_ok(const char *v)
{
  char buf[ASR_CONFWRITE_VALUE_MAX], *save = NULL;
  size_t count = 0;

  if (asr_strlcpy(buf, v, sizeof(buf)) != ASR_OK)
    count = ASR_CONF_MAX_LIST + 1; /* longer than a value may be: never judged cut */
  for (char *w = strtok_r(buf, SEPARATORS, &save); w && count <= ASR_CONF_MAX_LIST;
       w = strtok_r(NULL, SEPARATORS, &save)) {
    if (*w == '#' || strlen(w) > COMMUNITY_MAX || ++count > ASR_CONF_MAX_LIST)
      count = ASR_CONF_MAX_LIST + 1;
  }
  asr_secret_wipe(buf, sizeof(buf));
  return count >= 1 && count <= ASR_CONF_MAX_LIST;
}

/* Checks one given property; false (reported) when it is bad. */
static bool check_one(const asr_confwrite_props *p, asr_confwrite_prop i, asr_conf_error_cb err,
                      void *ctx)
{
  const char *v = p->v[i];
  char why[160], url[ASR_CONFWRITE_VALUE_MAX], user[ASR_CONFWRITE_VALUE_MAX];
  bool ok = true;

  if (has_control(v)) {
    report(err, ctx, "%s: control characters are not allowed", names[i]);
    return false;
  }
  if (i == ASR_PROP_ENDPOINT && asr_http_check_endpoint(v, why, sizeof(why)) != ASR_OK) {
    report(err, ctx, "ENDPOINT: '%s': %s", v, why);
    ok = false;
  } else if (i == ASR_PROP_SITE_TOKEN &&
             (strlen(v) > TOKEN_MAX ||
              strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(v))) {
    report(err, ctx, "SITE_TOKEN: malformed (it looks like st_ and 32 hex digits)");
    ok = false;
  } else if (i == ASR_PROP_COMMUNITY && !communities_ok(v)) {
    report(err, ctx,
           "COMMUNITY: give 1 to %d communities of at most %d characters, separated "
           "by commas, none starting with '#'",
           ASR_CONF_MAX_LIST, COMMUNITY_MAX);
    ok = false;
  } else if (i == ASR_PROP_REMOTE_CONFIG && strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
    report(err, ctx, "REMOTE_CONFIG: '%s': expected on or off", v);
    ok = false;
  } else if (i == ASR_PROP_PROXY &&
             split_proxy(v, url, sizeof(url), user, sizeof(user)) != ASR_OK) {
    report(err, ctx,
           "PROXY: expected 'none' or a URL (http://HOST:PORT, credentials as "
           "http://user:password@HOST:PORT)");
    ok = false;
  }
  asr_secret_wipe(user, sizeof(user));
  return ok;
}

asr_result asr_confwrite_check(const asr_confwrite_props *p, asr_conf_error_cb err, void *ctx)
{
  bool ok = true;

  for (int i = 0; i < ASR_PROP_COUNT; i++)
    if (p->v[i][0] && !check_one(p, (asr_confwrite_prop)i, err, ctx))
      ok = false;
  return ok ? ASR_OK : ASR_ERR_INVALID;
}

/* ---- the file ---- */

/* True when a property that goes into the file is given (then the marker is rewritten). */
static bool any_in_file(const asr_confwrite_props *p)
{
  return p->v[ASR_PROP_ENDPOINT][0] || p->v[ASR_PROP_SCAN_TARGETS][0] ||
         p->v[ASR_PROP_COMMUNITY][0] || p->v[ASR_PROP_PROXY][0] || p->v[ASR_PROP_REMOTE_CONFIG][0];
}

/* True when the line (its start) sets a directive a given property replaces, or is our
 * own marker comment that put_block writes again. */
static bool replaced(const char *line, const asr_confwrite_props *p)
{
  const char *s = line + strspn(line, " \t");
  size_t len = strcspn(s, " \t\r\n");

  if (strncmp(s, MARK, strlen(MARK)) == 0)
    return any_in_file(p);
  for (int i = 0; i < ASR_PROP_COUNT; i++) {
    for (int j = 0; p->v[i][0] && owned[i][j]; j++)
      if (strlen(owned[i][j]) == len && strncmp(s, owned[i][j], len) == 0)
        return true;
  }
  return false;
}

/* Copies the lines of in that stay; true when the last one copied lacks its newline. */
static bool copy_kept(FILE *in, FILE *out, const asr_confwrite_props *p)
{
  char line[LINE_BUF];
  bool start = true, drop = false, open = false;

  while (fgets(line, sizeof(line), in)) {
    if (start)
      drop = replaced(line, p);
    if (!drop) {
      fputs(line, out);
      open = !strchr(line, '\n');
    }
    start = strchr(line, '\n') != NULL;
  }
  return open;
}

/* Writes each word of v on a line of its own: "name word". */
static void put_words(FILE *out, const char *name, const char *v)
{
  char buf[ASR_CONFWRITE_VALUE_MAX], *save = NULL;

  asr_strlcpy_cut(buf, v, sizeof(buf)); /* fits: check_one refused longer values */
  for (char *w = strtok_r(buf, SEPARATORS, &save); w; w = strtok_r(NULL, SEPARATORS, &save))
    fprintf(out, "%s %s\n", name, w);
  asr_secret_wipe(buf, sizeof(buf));
}

/* Appends the directives of the given properties. */
static void put_block(FILE *out, const asr_confwrite_props *p, const char *proxy_url,
                      const char *user_file)
{
  if (!any_in_file(p))
    return;
  fputs(MARK "\n", out);
  if (p->v[ASR_PROP_ENDPOINT][0])
    fprintf(out, "endpoint %s\n", p->v[ASR_PROP_ENDPOINT]);
  put_words(out, "scan_targets", p->v[ASR_PROP_SCAN_TARGETS]);
  put_words(out, "community", p->v[ASR_PROP_COMMUNITY]);
  if (p->v[ASR_PROP_PROXY][0])
    fprintf(out, "proxy %s\n", proxy_url);
  if (user_file)
    fprintf(out, "proxy_user_file %s\n", user_file);
  if (p->v[ASR_PROP_REMOTE_CONFIG][0])
    fprintf(out, "remote_config %s\n", p->v[ASR_PROP_REMOTE_CONFIG]);
}

/* Creates path afresh, private to SYSTEM and Administrators (the owner on POSIX), and
 * opens it for writing; NULL (reported) on failure. */
static FILE *create_private(const char *path, asr_conf_error_cb err, void *ctx)
{
  FILE *f = NULL;

  if (remove(path) != 0 && errno != ENOENT) {
    report(err, ctx, "%s: cannot replace it: %s", path, strerror(errno));
    return NULL;
  }
  if (asr_platform_create_private(path) == 1)
    f = fopen(path, "wb");
  if (!f)
    report(err, ctx, "%s: cannot create it: %s", path, strerror(errno));
  return f;
}

/* Closes f; ASR_ERR_IO (reported) when a write failed. */
static asr_result close_checked(FILE *f, const char *path, asr_conf_error_cb err, void *ctx)
{
  bool bad = ferror(f) != 0;

  if (fclose(f) != 0 || bad) {
    report(err, ctx, "%s: cannot write it: %s", path, strerror(errno));
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

/* Creates the folder of path (its last level), private, when it is missing. */
static void make_parent(const char *path)
{
  char dir[600];
  size_t len = strlen(path);

  while (len > 0 && !asr_platform_is_sep(path[len - 1]))
    len--;
  if (len > 1 && asr_fmt(dir, sizeof(dir), "%.*s", (int)len - 1, path) == ASR_OK)
    asr_platform_mkdir_private(dir);
}

/* Writes the merged configuration into tmp. */
static asr_result write_tmp(const char *conf_path, const char *tmp, const asr_confwrite_props *p,
                            const char *proxy_url, const char *user_file, asr_conf_error_cb err,
                            void *ctx)
{
  FILE *in = fopen(conf_path, "rb"), *out;

  if (!in && errno != ENOENT) {
    report(err, ctx, "%s: cannot read it: %s", conf_path, strerror(errno));
    return ASR_ERR_IO;
  }
  out = create_private(tmp, err, ctx);
  if (!out) {
    if (in)
      fclose(in);
    return ASR_ERR_IO;
  }
  if (!in)
    fputs("# asr-agent.conf: see asr-agent.conf(5)\n", out);
  else if (copy_kept(in, out, p))
    fputc('\n', out);
  if (in)
    fclose(in);
  put_block(out, p, proxy_url, user_file);
  return close_checked(out, tmp, err, ctx);
}

/* Writes value and a newline into the private file path. */
static asr_result write_secret(const char *path, const char *value, asr_conf_error_cb err,
                               void *ctx)
{
  FILE *f = create_private(path, err, ctx);
  asr_result r;

  if (!f)
    return ASR_ERR_IO;
  fprintf(f, "%s\n", value);
  r = close_checked(f, path, err, ctx);
  if (r == ASR_OK)
    asr_platform_restrict(path);
  return r;
}

/* The absolute path of name in the directory of file (its own separator), into out. */
static asr_result sibling(const char *file, const char *name, char *out, size_t n)
{
  char dir[512], abs[512];
  size_t len = strlen(file);
  char sep = '/';

  while (len > 0 && !asr_platform_is_sep(file[len - 1]))
    len--;
  if (asr_fmt(dir, sizeof(dir), "%.*s", (int)len, len ? file : ".") != ASR_OK ||
      !asr_platform_realpath(dir, abs, sizeof(abs)))
    return ASR_ERR_NOT_FOUND;
  for (const char *s = abs; *s; s++)
    if (asr_platform_is_sep(*s))
      sep = *s;
  len = strlen(abs);
  if (len > 0 && asr_platform_is_sep(abs[len - 1]))
    return asr_fmt(out, n, "%s%s", abs, name);
  return asr_fmt(out, n, "%s%c%s", abs, sep, name);
}

/* The secret files, once the new configuration c parsed. */
static asr_result write_secrets(const asr_conf *c, const asr_confwrite_props *p,
                                const char *proxy_user, asr_conf_error_cb err, void *ctx)
{
  char path[600];
  asr_result r = ASR_OK;

  if (proxy_user[0])
    r = write_secret(c->proxy_user_file, proxy_user, err, ctx);
  if (r != ASR_OK || !p->v[ASR_PROP_SITE_TOKEN][0])
    return r;
  if (asr_conf_token_path(c, path, sizeof(path)) != ASR_OK) {
    report(err, ctx, "%s: the enrolment token path is too long", c->database);
    return ASR_ERR_INVALID;
  }
  make_parent(path);
  return write_secret(path, p->v[ASR_PROP_SITE_TOKEN], err, ctx);
}

/* What apply works with: the split proxy and the new file's paths and contents. */
typedef struct {
  char url[ASR_CONFWRITE_VALUE_MAX], user[ASR_CONFWRITE_VALUE_MAX];
  char user_file[600], tmp[600];
  asr_conf conf;
} apply_ctx;

/* Writes tmp and parses it into x->conf. */
static asr_result prepare(const char *conf_path, const asr_confwrite_props *p, apply_ctx *x,
                          asr_conf_error_cb err, void *ctx)
{
  asr_result r;

  if (asr_fmt(x->tmp, sizeof(x->tmp), "%s.new", conf_path) != ASR_OK) {
    report(err, ctx, "%s: path too long", conf_path);
    return ASR_ERR_INVALID;
  }
  make_parent(conf_path); /* %ProgramData%\asr-agent before the MSI made it */
  if (p->v[ASR_PROP_PROXY][0])
    split_proxy(p->v[ASR_PROP_PROXY], x->url, sizeof(x->url), x->user, sizeof(x->user));
  if (x->user[0] && sibling(conf_path, "proxy-user", x->user_file, sizeof(x->user_file))) {
    report(err, ctx, "%s: its folder does not exist", conf_path);
    return ASR_ERR_IO;
  }
  r = write_tmp(conf_path, x->tmp, p, x->url, x->user[0] ? x->user_file : NULL, err, ctx);
  /* the checks the daemon runs before it starts: a file it would refuse is not written */
  if (r == ASR_OK && (asr_conf_load(x->tmp, &x->conf, err, ctx) != ASR_OK ||
                      asr_conf_check_secrets(&x->conf, err, ctx) != ASR_OK))
    r = ASR_ERR_PARSE;
  return r;
}

/* A PROXY without credentials drops the proxy_user_file line: the old proxy-user file
 * next to the configuration (a password) goes too. */
static asr_result drop_old_user(const char *conf_path, asr_conf_error_cb err, void *ctx)
{
  char user_file[600];

  if (sibling(conf_path, "proxy-user", user_file, sizeof(user_file)) != ASR_OK)
    return ASR_OK; /* no folder: no file */
  if (remove(user_file) != 0 && errno != ENOENT) {
    report(err, ctx, "%s: cannot delete the old proxy credentials: %s", user_file, strerror(errno));
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

/* apply, with save: asr_confwrite_save once everything is valid, before any change. */
static asr_result apply(const char *conf_path, const asr_confwrite_props *p, bool save,
                        asr_conf_error_cb err, void *ctx)
{
  apply_ctx *x = NULL;
  asr_result r = asr_confwrite_check(p, err, ctx);

  if (r != ASR_OK)
    return r;
  x = calloc(1, sizeof(*x));
  if (!x)
    return ASR_ERR_NOMEM;
  r = prepare(conf_path, p, x, err, ctx);
  if (r == ASR_OK && save)
    r = asr_confwrite_save(conf_path, err, ctx);
  if (r == ASR_OK)
    r = write_secrets(&x->conf, p, x->user, err, ctx);
  if (r == ASR_OK) {
    asr_platform_restrict(x->tmp);
    r = asr_platform_replace(x->tmp, conf_path);
    if (r != ASR_OK)
      report(err, ctx, "%s: cannot replace it: %s", conf_path, strerror(errno));
  }
  if (r == ASR_OK && p->v[ASR_PROP_PROXY][0] && !x->user[0])
    r = drop_old_user(conf_path, err, ctx);
  if (r != ASR_OK && x->tmp[0])
    remove(x->tmp);
  asr_secret_wipe(x, sizeof(*x));
  free(x);
  return r;
}

asr_result asr_confwrite_apply(const char *conf_path, const asr_confwrite_props *p,
                               asr_conf_error_cb err, void *ctx)
{
  return apply(conf_path, p, false, err, ctx);
}

/* Reads the installer's values into p; ASR_ERR_NOT_FOUND when there is none. */
static asr_result read_installer(asr_confwrite_props *p, asr_conf_error_cb err, void *ctx)
{
  asr_result r = ASR_ERR_NOT_FOUND, one;

  for (int i = 0; i < ASR_PROP_COUNT; i++) {
    one = asr_platform_install_value(names[i], p->v[i], sizeof(p->v[i]));
    if (one == ASR_ERR_TOO_LARGE) {
      report(err, ctx, "%s: longer than %d characters", names[i], ASR_CONFWRITE_VALUE_MAX - 1);
      return ASR_ERR_INVALID;
    }
    if (one == ASR_OK)
      r = ASR_OK;
  }
  return r;
}

static bool exists(const char *path)
{
  FILE *f = fopen(path, "rb");

  if (f)
    fclose(f);
  return f != NULL || errno != ENOENT;
}

asr_result asr_confwrite_import(const char *conf_path, bool save, asr_conf_error_cb err, void *ctx)
{
  asr_confwrite_props *p = calloc(1, sizeof(*p));
  asr_result r;

  if (!p)
    return ASR_ERR_NOMEM;
  r = read_installer(p, err, ctx);
  if (r == ASR_OK || (r == ASR_ERR_NOT_FOUND && !exists(conf_path)))
    r = apply(conf_path, p, save, err, ctx);
  for (int i = 0; r == ASR_OK && i < ASR_PROP_COUNT; i++) {
    if (asr_platform_install_forget(names[i]) != ASR_OK)
      report(err, ctx, "%s: cannot delete the installer's value", names[i]);
  }
  asr_confwrite_wipe(p);
  free(p);
  return r;
}

/* ---- the installer's transaction: save, undo, commit ---- */

#define N_KEPT 3
#define KEPT_SUFFIX ".rollback"
#define NONE_SUFFIX ".rollback-none"

typedef struct {
  char f[N_KEPT][600];
} kept_files;

/* The files an import may change: the configuration, proxy-user next to it, and the token
 * file of the configuration as it is now (or the defaults). Not the service's log: a
 * rollback neither deletes nor restores what the service logged. */
static void kept_list(const char *conf_path, kept_files *k)
{
  asr_conf *c = malloc(sizeof(*c));

  memset(k, 0, sizeof(*k));
  if (asr_strlcpy(k->f[0], conf_path, sizeof(k->f[0])) != ASR_OK)
    k->f[0][0] = '\0'; /* a path this long is not kept: the loops skip "" */
  sibling(conf_path, "proxy-user", k->f[1], sizeof(k->f[1]));
  if (!c)
    return;
  if (asr_conf_load(conf_path, c, NULL, NULL) != ASR_OK)
    asr_conf_defaults(c);
  asr_conf_token_path(c, k->f[2], sizeof(k->f[2]));
  asr_secret_wipe(c, sizeof(*c));
  free(c);
}

/* Copies the file from into a new private file to. */
static asr_result copy_private(const char *from, const char *to, asr_conf_error_cb err, void *ctx)
{
  FILE *in = fopen(from, "rb"), *out = NULL;
  char buf[4096];
  size_t n;

  if (!in) {
    report(err, ctx, "%s: cannot read it: %s", from, strerror(errno));
    return ASR_ERR_IO;
  }
  out = create_private(to, err, ctx);
  while (out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
    fwrite(buf, 1, n, out);
  fclose(in);
  asr_secret_wipe(buf, sizeof(buf));
  return out ? close_checked(out, to, err, ctx) : ASR_ERR_IO;
}

/* The copy of file (suffix KEPT_SUFFIX or NONE_SUFFIX) into out. */
static asr_result kept_name(const char *file, const char *suffix, char *out, size_t n)
{
  return asr_fmt(out, n, "%s%s", file, suffix);
}

asr_result asr_confwrite_save(const char *conf_path, asr_conf_error_cb err, void *ctx)
{
  kept_files k;
  char bak[620], none[620];
  asr_result r = ASR_OK;
  FILE *f;

  kept_list(conf_path, &k);
  for (int i = 0; i < N_KEPT && r == ASR_OK; i++) {
    if (!k.f[i][0] || kept_name(k.f[i], KEPT_SUFFIX, bak, sizeof(bak)) ||
        kept_name(k.f[i], NONE_SUFFIX, none, sizeof(none)))
      continue;
    remove(bak);
    remove(none);
    if (exists(k.f[i])) {
      r = copy_private(k.f[i], bak, err, ctx);
      continue;
    }
    make_parent(none); /* the token's folder, which the import would create */
    f = create_private(none, err, ctx);
    r = f ? close_checked(f, none, err, ctx) : ASR_ERR_IO;
  }
  return r;
}

asr_result asr_confwrite_undo(const char *conf_path, asr_conf_error_cb err, void *ctx)
{
  kept_files k;
  char bak[620], none[620];
  asr_result r = ASR_OK;

  kept_list(conf_path, &k);
  for (int i = 0; i < N_KEPT; i++) {
    if (!k.f[i][0] || kept_name(k.f[i], KEPT_SUFFIX, bak, sizeof(bak)) ||
        kept_name(k.f[i], NONE_SUFFIX, none, sizeof(none)))
      continue;
    if (exists(bak) && asr_platform_replace(bak, k.f[i]) != ASR_OK) {
      report(err, ctx, "%s: cannot put it back: %s", k.f[i], strerror(errno));
      r = ASR_ERR_IO;
    } else if (exists(none)) {
      remove(k.f[i]);
      remove(none);
    }
  }
  return r;
}

void asr_confwrite_commit(const char *conf_path)
{
  kept_files k;
  char name[620];

  kept_list(conf_path, &k);
  for (int i = 0; i < N_KEPT; i++) {
    if (k.f[i][0] && kept_name(k.f[i], KEPT_SUFFIX, name, sizeof(name)) == ASR_OK)
      remove(name);
    if (k.f[i][0] && kept_name(k.f[i], NONE_SUFFIX, name, sizeof(name)) == ASR_OK)
      remove(name);
  }
}

void asr_confwrite_wipe(asr_confwrite_props *p)
{
  asr_secret_wipe(p, sizeof(*p));
}
