/* conf.c: the configuration file of asr-agent.
 *
 * Why a table: every directive is one row (name, type, where it lives in asr_conf, range,
 * default, reloadable?). The parser, the defaults, the reload rule and the tests all read
 * the same rows, so a new directive is one line here plus its man page entry
 * (docs/asr-agent.conf.5) and its commented default (packaging/asr-agent.conf). Defaults
 * are written as text and go through the same typed parsers as the file does.
 *
 * A file is read line by line into a scratch asr_conf; every problem is reported through
 * the caller's callback as "path:line: problem" and parsing goes on, so one run shows all
 * the errors (up to MAX_ERRORS). Checks between directives (silent_after against
 * poll_interval, ...) run after the whole file and name the line of the later one. */
#include "conf/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/targets.h"
#include "common/cred.h"
#include "common/platform.h"
#include "common/util.h"
#include "wire/http.h"

#ifndef ASR_STATEDIR
#define ASR_STATEDIR "/var/lib/asr-agent"
#endif

#define LINE_MAX_LEN 1024 /* longest accepted line, without its newline */
#define MAX_ERRORS 50     /* then the parser gives up on the file */
#define MINUTE 60
#define HOUR 3600
#define DAY 86400

typedef enum {
  T_STRING,    /* one word, no check beyond its length */
  T_PATH,      /* an absolute path */
  T_URL,       /* the endpoint: https:// (http:// on loopback only) */
  T_PROXY,     /* a proxy URL or "none" */
  T_PIN,       /* sha256//BASE64 */
  T_UINT,      /* a whole number in [min, max] */
  T_MS,        /* milliseconds: "1000", "1000ms", "2s" */
  T_DURATION,  /* seconds: "3600", "90s", "15m", "24h", "7d" */
  T_WINDOW,    /* "HH:MM-HH:MM" UTC */
  T_TARGETS,   /* one or more scan targets, repeatable */
  T_EXCLUDE,   /* one or more targets never scanned, repeatable */
  T_TCOMM,     /* a target and its communities, repeatable */
  T_COMMUNITY, /* one community, repeatable */
  T_LOGLEVEL,  /* error, warning, info, debug */
  T_AUTH,      /* an SNMPv3 authentication protocol (common/cred.h) */
  T_PRIV,      /* an SNMPv3 privacy protocol */
  T_ONOFF,     /* on or off */
  T_ALERTUP    /* alert_upload: batch or immediate */
} dtype;

typedef struct {
  const char *name;
  dtype type;
  size_t off, size; /* the field in asr_conf */
  int64_t min, max; /* numbers and durations */
  const char *def;  /* the default as it would be written in the file; "" = none */
  int reloadable;   /* 1 when a SIGHUP reload may change it */
} directive;

#define F(f) offsetof(asr_conf, f), sizeof(((asr_conf *)0)->f)

/* The directives. Keep in step with docs/asr-agent.conf.5 and packaging/asr-agent.conf. */
static const directive directives[] = {
    /* where things are */
    {"database", T_PATH, F(database), 0, 0, ASR_STATEDIR "/agent.db", 0},
    {"secrets_file", T_PATH, F(secrets_file), 0, 0, "", 0},
    /* the central and how to reach it */
    {"endpoint", T_URL, F(endpoint), 0, 0, "", 1},
    {"ca_file", T_PATH, F(ca_file), 0, 0, "", 1},
    {"ca_path", T_PATH, F(ca_path), 0, 0, "", 1},
    {"pin", T_PIN, F(pin), 0, 0, "", 1},
    {"client_cert", T_PATH, F(client_cert), 0, 0, "", 1},
    {"client_key", T_PATH, F(client_key), 0, 0, "", 1},
    {"proxy", T_PROXY, F(proxy), 0, 0, "", 1},
    {"proxy_user_file", T_PATH, F(proxy_user_file), 0, 0, "", 1},
    /* scanning and SNMP */
    {"scan_targets", T_TARGETS, F(targets), 0, 0, "", 1},
    {"exclude", T_EXCLUDE, F(excludes), 0, 0, "", 1},
    {"community", T_COMMUNITY, F(communities), 0, 0, "public", 1},
    {"target_community", T_TCOMM, F(target_communities), 0, 0, "", 1},
    {"v3_user", T_STRING, F(v3_user), 0, 0, "", 1},
    {"v3_auth_proto", T_AUTH, F(v3_auth_proto), 0, 0, "", 1},
    {"v3_priv_proto", T_PRIV, F(v3_priv_proto), 0, 0, "", 1},
    {"v3_context", T_STRING, F(v3_context), 0, 0, "", 1},
    {"snmp_port", T_UINT, F(snmp_port), 1, 65535, "161", 1},
    {"snmp_timeout", T_MS, F(snmp_timeout_ms), 10, 60000, "1000", 1},
    {"snmp_retries", T_UINT, F(snmp_retries), 0, 10, "1", 1},
    {"concurrency", T_UINT, F(concurrency), 1, 900, "256", 1},
    {"scan_rate", T_UINT, F(scan_rate), 1, 1000000, "20000", 1},
    {"snmp_host_deadline", T_MS, F(snmp_host_deadline_ms), 0, 3600000, "0", 1},
    {"discovery_deadline", T_DURATION, F(discovery_deadline), 1, DAY, "30m", 1},
    {"poll_deadline", T_DURATION, F(poll_deadline), 1, DAY, "10m", 1},
    /* schedules */
    {"discovery_interval", T_DURATION, F(discovery_interval), HOUR, 30 * DAY, "24h", 1},
    {"poll_interval", T_DURATION, F(poll_interval), MINUTE, 7 * DAY, "1h", 1},
    {"upload_window", T_WINDOW, F(upload_window_start), 0, 0, "01:00-05:00", 1},
    {"alert_upload", T_ALERTUP, F(alert_upload_immediate), 0, 0, "batch", 1},
    /* health */
    {"silent_after", T_DURATION, F(silent_after), MINUTE, 365 * DAY, "24h", 1},
    {"silent_min_failures", T_UINT, F(silent_min_failures), 1, 1000, "3", 1},
    {"disconnected_after", T_DURATION, F(disconnected_after), MINUTE, 365 * DAY, "7d", 1},
    {"upload_warning_after", T_DURATION, F(upload_warning_after), DAY, 365 * DAY, "2d", 1},
    {"upload_critical_after", T_DURATION, F(upload_critical_after), DAY, 365 * DAY, "7d", 1},
    /* data and logs */
    {"retention", T_DURATION, F(retention), DAY, 3650 * DAY, "400d", 1},
    {"outbox_max_mb", T_UINT, F(outbox_max_mb), 1, 1000000, "100", 1},
    {"log_level", T_LOGLEVEL, F(log_level), 0, 0, "info", 1},
    /* the central's configuration (issue 17) */
    {"remote_config", T_ONOFF, F(remote_config), 0, 0, "on", 1},
    {"config_checkin", T_DURATION, F(config_checkin), 5 * MINUTE, DAY, "1h", 1},
};

#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))
_Static_assert(N_DIRECTIVES <= ASR_CONF_MAX_DIRECTIVES, "asr_conf.source is too small");

/* Names that look like secrets: refused with a pointer to secrets_file. */
static const char *const secret_words[] = {"pass",     "secret",   "token",
                                           "auth_key", "priv_key", "psk"};

typedef struct {
  const char *path;
  int line;
  asr_conf *c;
  asr_conf_error_cb err;
  void *ctx;
  int errors;
  int seen[N_DIRECTIVES];             /* line of the directive in the file, 0 = not there */
  int local[N_DIRECTIVES];            /* line of a "local NAME VALUE" of it, 0 = none */
  int target_line[ASR_CONF_MAX_LIST]; /* line of each scan target, for the total's message */
} parser;

static void perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports one problem as "path:line: ..." (or "path: ..." when line is 0). */
static void perr(parser *p, const char *fmt, ...)
{
  char msg[1200], full[1800];
  va_list ap;

  p->errors++;
  if (!p->err)
    return;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    msg[0] = '\0';
  va_end(ap);
  if (p->line > 0)
    asr_fmt_cut(full, sizeof(full), "%s:%d: %s", p->path, p->line, msg);
  else
    asr_fmt_cut(full, sizeof(full), "%s: %s", p->path, msg);
  p->err(full, p->ctx);
}

static void *field(parser *p, const directive *d)
{
  return (char *)p->c + d->off;
}

/* ---- numbers and durations ---- */

/* Whole decimal number at *s (advanced); -1 when there are no digits or it overflows. */
static int64_t take_number(const char **s)
{
  int64_t v = 0;
  const char *q = *s;

  if (!isdigit((unsigned char)*q))
    return -1;
  for (; isdigit((unsigned char)*q); q++) {
    if (v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (*q - '0');
  }
  *s = q;
  return v;
}

asr_result asr_conf_parse_duration(const char *s, int64_t *out)
{
  static const struct {
    char unit;
    int64_t mul;
  } units[] = {{'s', 1}, {'m', MINUTE}, {'h', HOUR}, {'d', DAY}, {'w', 7 * DAY}};
  int64_t v = take_number(&s), mul = 1;
  size_t i;

  if (v < 0)
    return ASR_ERR_INVALID;
  if (*s) {
    for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *s; i++)
      ;
    if (i == sizeof(units) / sizeof(units[0]) || s[1])
      return ASR_ERR_INVALID;
    mul = units[i].mul;
  }
  if (v > INT64_MAX / mul)
    return ASR_ERR_INVALID;
  *out = v * mul;
  return ASR_OK;
}

/* "1000", "1000ms" or "2s" as milliseconds. */
static asr_result parse_ms(const char *s, int64_t *out)
{
  int64_t v = take_number(&s);

  if (v < 0 || v > INT64_MAX / 1000)
    return ASR_ERR_INVALID;
  if (*s == '\0' || strcmp(s, "ms") == 0)
    *out = v;
  else if (strcmp(s, "s") == 0)
    *out = v * 1000;
  else
    return ASR_ERR_INVALID;
  return ASR_OK;
}

/* A duration in the largest unit that divides it: "7d", "90m", "45s". */
static void fmt_duration(int64_t v, char *buf, size_t n)
{
  if (v > 0 && v % DAY == 0)
    asr_fmt_cut(buf, n, "%lldd", (long long)(v / DAY));
  else if (v > 0 && v % HOUR == 0)
    asr_fmt_cut(buf, n, "%lldh", (long long)(v / HOUR));
  else if (v > 0 && v % MINUTE == 0)
    asr_fmt_cut(buf, n, "%lldm", (long long)(v / MINUTE));
  else
    asr_fmt_cut(buf, n, "%llds", (long long)v);
}

static asr_result set_uint(parser *p, const directive *d, const char *v)
{
  int64_t x;
  asr_result r = d->type == T_MS ? parse_ms(v, &x) : asr_parse_i64(v, d->min, d->max, &x);

  if (r == ASR_OK && (x < d->min || x > d->max))
    r = ASR_ERR_INVALID;
  if (r) {
    perr(p, "%s: '%s': expected a whole number from %lld to %lld%s", d->name, v, (long long)d->min,
         (long long)d->max, d->type == T_MS ? " (milliseconds)" : "");
    return r;
  }
  *(unsigned *)field(p, d) = (unsigned)x;
  return ASR_OK;
}

static asr_result set_duration(parser *p, const directive *d, const char *v)
{
  char lo[32], hi[32];
  int64_t x;

  if (asr_conf_parse_duration(v, &x) != ASR_OK) {
    perr(p, "%s: '%s': expected a duration (seconds, or a number with s, m, h, d or w)", d->name,
         v);
    return ASR_ERR_INVALID;
  }
  if (x < d->min || x > d->max) {
    fmt_duration(d->min, lo, sizeof(lo));
    fmt_duration(d->max, hi, sizeof(hi));
    perr(p, "%s: '%s': out of range (%s to %s)", d->name, v, lo, hi);
    return ASR_ERR_INVALID;
  }
  *(int64_t *)field(p, d) = x;
  return ASR_OK;
}

/* "HH:MM" at *s (advanced) as minutes after midnight; -1 when it is not one. */
static int take_hhmm(const char **s)
{
  const char *q = *s;
  int64_t h, m;

  h = take_number(&q);
  if (h < 0 || h > 23 || q - *s > 2 || *q != ':')
    return -1;
  *s = ++q;
  m = take_number(&q);
  if (m < 0 || m > 59 || q - *s != 2)
    return -1;
  *s = q;
  return (int)(h * 60 + m);
}

static asr_result set_window(parser *p, const directive *d, const char *v)
{
  const char *s = v;
  int start = take_hhmm(&s), end = -1;

  if (start >= 0 && *s == '-') {
    s++;
    end = take_hhmm(&s);
  }
  if (start < 0 || end < 0 || *s) {
    perr(p, "%s: '%s': expected HH:MM-HH:MM (UTC, 00:00 to 23:59)", d->name, v);
    return ASR_ERR_INVALID;
  }
  if (start == end) {
    perr(p, "%s: '%s': the window is empty (start equals end)", d->name, v);
    return ASR_ERR_INVALID;
  }
  p->c->upload_window_start = start;
  p->c->upload_window_end = end;
  return ASR_OK;
}

/* ---- words ---- */

static asr_result set_text(parser *p, const directive *d, const char *v)
{
  if (asr_strlcpy(field(p, d), v, d->size) != ASR_OK) {
    perr(p, "%s: value longer than %zu characters", d->name, d->size - 1);
    return ASR_ERR_TOO_LARGE;
  }
  return ASR_OK;
}

static int absolute_path(const char *v)
{
  if (v[0] == '/')
    return 1;
  /* Windows, for later: "C:\..." or "C:/..." */
  return isalpha((unsigned char)v[0]) && v[1] == ':' && (v[2] == '\\' || v[2] == '/');
}

static asr_result set_path(parser *p, const directive *d, const char *v)
{
  if (!absolute_path(v)) {
    perr(p, "%s: '%s': not an absolute path", d->name, v);
    return ASR_ERR_INVALID;
  }
  return set_text(p, d, v);
}

static asr_result set_url(parser *p, const directive *d, const char *v)
{
  char why[160];

  if (asr_http_check_endpoint(v, why, sizeof(why)) != ASR_OK) {
    perr(p, "%s: '%s': %s", d->name, v, why);
    return ASR_ERR_INVALID;
  }
  return set_text(p, d, v);
}

static asr_result set_proxy(parser *p, const directive *d, const char *v)
{
  static const char *const schemes[] = {"http://",    "https://",  "socks4://",
                                        "socks4a://", "socks5://", "socks5h://"};
  int ok = strcmp(v, "none") == 0;

  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && !ok; i++)
    ok = strncasecmp(v, schemes[i], strlen(schemes[i])) == 0 && v[strlen(schemes[i])];
  if (!ok) {
    perr(p, "%s: '%s': expected a proxy URL (http://HOST:PORT, socks5://...) or 'none'", d->name,
         v);
    return ASR_ERR_INVALID;
  }
  if (strchr(v, '@')) {
    perr(p, "%s: no credentials in the URL: put them in proxy_user_file", d->name);
    return ASR_ERR_INVALID;
  }
  return set_text(p, d, v);
}

static asr_result set_pin(parser *p, const directive *d, const char *v)
{
  size_t n = strlen(v);

  if (strncmp(v, "sha256//", 8) != 0 || n == 8 ||
      strspn(v + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=;") !=
          n - 8) {
    perr(p, "%s: '%s': expected the key's hash as sha256//BASE64", d->name, v);
    return ASR_ERR_INVALID;
  }
  return set_text(p, d, v);
}

static asr_result set_loglevel(parser *p, const directive *d, const char *v)
{
  static const char *const levels[] = {"error", "warning", "info", "debug"};

  for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
    if (strcasecmp(v, levels[i]) == 0)
      return set_text(p, d, levels[i]);
  }
  perr(p, "%s: '%s': expected error, warning, info or debug", d->name, v);
  return ASR_ERR_INVALID;
}

static asr_result set_onoff(parser *p, const directive *d, const char *v)
{
  if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
    perr(p, "%s: '%s': expected on or off", d->name, v);
    return ASR_ERR_INVALID;
  }
  *(int *)field(p, d) = strcmp(v, "on") == 0;
  return ASR_OK;
}

/* alert_upload: batch (0, the daily upload) or immediate (1, soon after a poll that
 * raised or cleared a critical alert: agent/alertpush.h). */
static asr_result set_alert_upload(parser *p, const directive *d, const char *v)
{
  if (strcmp(v, "batch") != 0 && strcmp(v, "immediate") != 0) {
    perr(p, "%s: '%s': expected batch or immediate", d->name, v);
    return ASR_ERR_INVALID;
  }
  *(int *)field(p, d) = strcmp(v, "immediate") == 0;
  return ASR_OK;
}

/* v3 protocols are kept under their canonical name (common/cred.c); "none" is "". */
static asr_result set_proto(parser *p, const directive *d, const char *v)
{
  asr_auth_proto a;
  asr_priv_proto pv;
  const char *name;

  if (d->type == T_AUTH) {
    if (asr_snmp_auth_parse(v, &a) != ASR_OK) {
      perr(p, "%s: '%s': expected MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 or none", d->name,
           v);
      return ASR_ERR_INVALID;
    }
    name = a == ASR_AUTH_NONE ? "" : asr_snmp_auth_name(a);
  } else {
    if (asr_snmp_priv_parse(v, &pv) != ASR_OK) {
      perr(p, "%s: '%s': expected DES, AES, AES-192, AES-256 or none", d->name, v);
      return ASR_ERR_INVALID;
    }
    name = pv == ASR_PRIV_NONE ? "" : asr_snmp_priv_name(pv);
  }
  return set_text(p, d, name);
}

static asr_result set_community(parser *p, const directive *d, const char *v)
{
  asr_conf *c = p->c;

  if (c->n_communities >= ASR_CONF_MAX_LIST) {
    perr(p, "%s: more than %d communities", d->name, ASR_CONF_MAX_LIST);
    return ASR_ERR_LIMIT;
  }
  if (asr_strlcpy(c->communities[c->n_communities], v, sizeof(c->communities[0])) != ASR_OK) {
    perr(p, "%s: longer than %zu characters", d->name, sizeof(c->communities[0]) - 1);
    return ASR_ERR_TOO_LARGE;
  }
  c->n_communities++;
  return ASR_OK;
}

/* ---- scan targets ---- */

/* Host names are checked here, not resolved: the daemon resolves them at each scan. */
static asr_result check_hostname(const char *t, char *why, size_t n)
{
  size_t len = strlen(t);

  for (size_t i = 0; i < len; i++) {
    if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_' && t[i] != '.') {
      asr_fmt_cut(why, n, "%s: position %zu: character not allowed in a host name", t, i + 1);
      return ASR_ERR_TARGET;
    }
  }
  if (len > 253) {
    asr_fmt_cut(why, n, "%s: position 254: host name longer than 253 characters", t);
    return ASR_ERR_TARGET;
  }
  return ASR_OK;
}

/* Numeric when it has a ':' or starts with digits and then a dot, or has no letters (the
 * split of targets.h); host names are only checked here, not resolved. */
static int numeric_target(const char *t)
{
  const char *q = t;

  while (isdigit((unsigned char)*q))
    q++;
  return strchr(t, ':') || *t == '[' || (q > t && *q == '.') ||
         !strpbrk(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

/* Numeric targets go through conf/targets.c (the same rules and messages as on the
 * command line); the total is checked after the whole file (check_total). */
static asr_result check_target(const char *t, int exclude, char *why, size_t n)
{
  asr_targets one = {0};
  asr_result r;

  if (!numeric_target(t))
    return check_hostname(t, why, n);
  r = exclude ? asr_targets_exclude(&one, t, why, n) : asr_targets_add(&one, t, 0, why, n);
  if (r == ASR_ERR_TOO_LARGE && !exclude && !strchr(t, ':'))
    asr_fmt_cut(why, n, "%s: more than %d addresses in all scan targets", t,
                ASR_TARGETS_MAX_UNFORCED);
  asr_targets_free(&one);
  return r;
}

/* Adds one target to the list of d (scan_targets or exclude). */
static asr_result add_target(parser *p, const directive *d, const char *t)
{
  char(*list)[128] = field(p, d);
  size_t *count = d->type == T_EXCLUDE ? &p->c->n_excludes : &p->c->n_targets;
  char why[512];
  asr_result r;

  if (*count >= ASR_CONF_MAX_LIST) {
    perr(p, "%s: more than %d targets", d->name, ASR_CONF_MAX_LIST);
    return ASR_ERR_LIMIT;
  }
  if (strlen(t) >= sizeof(list[0])) {
    perr(p, "%s: target longer than %zu characters", d->name, sizeof(list[0]) - 1);
    return ASR_ERR_TOO_LARGE;
  }
  r = check_target(t, d->type == T_EXCLUDE, why, sizeof(why));
  if (r) {
    perr(p, "%s: %s", d->name, why);
    return r;
  }
  if (d->type == T_TARGETS)
    p->target_line[*count] = p->line;
  asr_strlcpy_cut(list[(*count)++], t, sizeof(list[0]));
  return ASR_OK;
}

/* One or more targets, separated by spaces or commas. */
static asr_result set_targets(parser *p, const directive *d, char *v)
{
  asr_result r = ASR_OK;
  char *t = v;

  while (*t && r == ASR_OK) {
    size_t len = strcspn(t, " \t,");
    char keep = t[len];

    if (len > 0) {
      t[len] = '\0';
      r = add_target(p, d, t);
      t[len] = keep;
    }
    t += len;
    t += strspn(t, " \t,");
  }
  return r;
}

/* "TARGET NAME [NAME...]": checked through conf/targets.c, stored with single spaces. The
 * communities are never echoed in a message. */
static asr_result set_target_community(parser *p, const directive *d, char *v)
{
  asr_conf *c = p->c;
  asr_targets one = {0};
  char why[512], out[ASR_CONF_TC_LEN] = "", target[128] = "", *save = NULL;
  size_t len = 0, words = 0;
  asr_result r = ASR_OK;

  if (c->n_target_communities >= ASR_CONF_MAX_LIST) {
    perr(p, "%s: more than %d lines", d->name, ASR_CONF_MAX_LIST);
    return ASR_ERR_LIMIT;
  }
  for (char *w = strtok_r(v, " \t", &save); w && !r; w = strtok_r(NULL, " \t", &save), words++) {
    if (words > 0)
      r = asr_targets_add_community(&one, target, w, why, sizeof(why));
    else if (asr_strlcpy(target, w, sizeof(target)) != ASR_OK)
      r = ASR_ERR_TOO_LARGE;
    if (r == ASR_ERR_TOO_LARGE && words == 0)
      asr_fmt_cut(why, sizeof(why), "target longer than 127 characters");
    if (!r && asr_append(out, sizeof(out), &len, "%s%s", words ? " " : "", w) != ASR_OK) {
      asr_fmt_cut(why, sizeof(why), "longer than %d characters", ASR_CONF_TC_LEN - 1);
      r = ASR_ERR_TOO_LARGE;
    }
  }
  asr_targets_free(&one);
  if (!r && words < 2) {
    asr_fmt_cut(why, sizeof(why), "%s: give the target, then its communities", out);
    r = ASR_ERR_INVALID;
  }
  if (r) {
    perr(p, "%s: %s", d->name, why);
    return r;
  }
  asr_strlcpy_cut(c->target_communities[c->n_target_communities++], out, ASR_CONF_TC_LEN);
  return ASR_OK;
}

/* ---- one directive ---- */

static asr_result set_value(parser *p, const directive *d, char *v)
{
  switch (d->type) {
  case T_STRING:
    return set_text(p, d, v);
  case T_PATH:
    return set_path(p, d, v);
  case T_URL:
    return set_url(p, d, v);
  case T_PROXY:
    return set_proxy(p, d, v);
  case T_PIN:
    return set_pin(p, d, v);
  case T_UINT:
  case T_MS:
    return set_uint(p, d, v);
  case T_DURATION:
    return set_duration(p, d, v);
  case T_WINDOW:
    return set_window(p, d, v);
  case T_TARGETS:
  case T_EXCLUDE:
    return set_targets(p, d, v);
  case T_TCOMM:
    return set_target_community(p, d, v);
  case T_COMMUNITY:
    return set_community(p, d, v);
  case T_LOGLEVEL:
    return set_loglevel(p, d, v);
  case T_AUTH:
  case T_PRIV:
    return set_proto(p, d, v);
  case T_ONOFF:
    return set_onoff(p, d, v);
  case T_ALERTUP:
    return set_alert_upload(p, d, v);
  }
  return ASR_ERR_INVALID;
}

static int repeatable(const directive *d)
{
  return d->type == T_TARGETS || d->type == T_EXCLUDE || d->type == T_TCOMM ||
         d->type == T_COMMUNITY;
}

static const directive *find(const char *name)
{
  for (size_t i = 0; i < N_DIRECTIVES; i++) {
    if (strcmp(directives[i].name, name) == 0)
      return &directives[i];
  }
  return NULL;
}

static int secret_like(const char *name)
{
  for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++) {
    if (strstr(name, secret_words[i]))
      return 1;
  }
  return 0;
}

static void unknown(parser *p, const char *name)
{
  const char *best = NULL;
  size_t best_d = 3; /* suggest only names at most 2 edits away */

  if (secret_like(name)) {
    perr(p, "%.64s: secrets do not belong in this file: put them in the 0600 secrets_file", name);
    return;
  }
  for (size_t i = 0; i < N_DIRECTIVES; i++) {
    size_t dd = asr_edit_distance(name, directives[i].name);

    if (dd < best_d) {
      best_d = dd;
      best = directives[i].name;
    }
  }
  if (best)
    perr(p, "unknown directive '%.64s' (did you mean '%s'?)", name, best);
  else
    perr(p, "unknown directive '%.64s'", name);
}

/* "name value": finds the row, refuses repeats, checks the value is one word. */
static void directive_line(parser *p, char *name, char *value)
{
  const directive *d = find(name);
  size_t eq = strcspn(name, "=");
  size_t i;

  if (!d && name[eq]) { /* "community=x": say so without echoing the value */
    perr(p, "%.*s: write 'name value', without '='", (int)(eq < 64 ? eq : 64), name);
    return;
  }
  if (!d) {
    unknown(p, name);
    return;
  }
  i = (size_t)(d - directives);
  if (p->seen[i] && !repeatable(d)) {
    perr(p, "%s: already set at line %d", d->name, p->seen[i]);
    return;
  }
  if (!*value) {
    perr(p, "%s: missing value", d->name);
    return;
  }
  if (!repeatable(d) || d->type == T_COMMUNITY) {
    size_t w = strcspn(value, " \t");

    if (value[w] && d->type == T_COMMUNITY) {
      perr(p, "%s: a community is one word (no blanks)", d->name); /* never echo it */
      return;
    }
    if (value[w]) {
      perr(p, "%s: unexpected '%.64s' after the value", d->name,
           value + w + strspn(value + w, " \t"));
      return;
    }
  }
  if (d->type == T_COMMUNITY && !p->seen[i])
    p->c->n_communities = 0; /* the file's communities replace the default */
  p->seen[i] = p->line;
  set_value(p, d, value);
}

/* "local NAME VALUE": the directive, marked as the administrator's (asr-agent.conf(5)). */
static void local_line(parser *p, char *rest)
{
  char *name = rest, *value = rest + strcspn(rest, " \t");
  const directive *d;

  if (*value)
    *value++ = '\0';
  value += strspn(value, " \t");
  d = find(name);
  if (!*name) {
    perr(p, "local: expected 'local NAME VALUE'");
    return;
  }
  if (d && !d->reloadable) {
    perr(p, "local %s: only what the central may set can be marked local", d->name);
    return;
  }
  directive_line(p, name, value);
  if (d)
    p->local[d - directives] = p->line;
}

/* Splits a line (control characters already refused) into name and value; drops
 * comments ('#' at the start or after a blank) and surrounding blanks. */
static void parse_line(parser *p, char *line)
{
  char *s = line + strspn(line, " \t"), *name, *value, *end;

  for (end = s; *end; end++) {
    if (*end == '#' && (end == s || end[-1] == ' ' || end[-1] == '\t'))
      break;
  }
  while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *end = '\0';
  if (!*s)
    return;
  name = s;
  s += strcspn(s, " \t");
  value = s + strspn(s, " \t");
  *s = '\0';
  if (strcmp(name, "local") == 0) { /* "local NAME VALUE": the file wins over the central */
    local_line(p, value);
    return;
  }
  directive_line(p, name, value);
}

/* ---- the file ---- */

typedef enum { L_OK, L_EOF, L_LONG, L_CONTROL } line_status;

/* Reads one line (without its newline or a trailing CR) into buf of LINE_MAX_LEN + 1. */
static line_status read_line(FILE *f, char *buf)
{
  size_t len = 0;
  int ch, bad = 0, any = 0;

  while ((ch = getc(f)) != EOF) {
    any = 1;
    if (ch == '\n')
      break;
    if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
      bad = 1;
    if (len < LINE_MAX_LEN + 1)
      buf[len] = (char)ch;
    len++;
  }
  if (len > 0 && len <= LINE_MAX_LEN + 1 && buf[len - 1] == '\r')
    len--;
  if (!any)
    return L_EOF;
  if (len > LINE_MAX_LEN)
    return L_LONG;
  buf[len] = '\0';
  if (bad || strchr(buf, '\r'))
    return L_CONTROL;
  return L_OK;
}

static void read_all(parser *p, FILE *f)
{
  char buf[LINE_MAX_LEN + 2];
  line_status s;

  while ((s = read_line(f, buf)) != L_EOF) {
    p->line++;
    if (p->errors >= MAX_ERRORS) {
      perr(p, "too many errors, giving up on this file");
      return;
    }
    if (s == L_LONG)
      perr(p, "line longer than %d characters", LINE_MAX_LEN);
    else if (s == L_CONTROL)
      perr(p, "control character or NUL byte in the line (is this a text file?)");
    else
      parse_line(p, buf);
  }
}

/* ---- checks between directives, after the whole file ---- */

static int line_of(const parser *p, const char *name)
{
  const directive *d = find(name);

  return d ? p->seen[d - directives] : 0;
}

/* Sets p->line to the later of the two directives' lines, for the message. */
static void at_later(parser *p, const char *a, const char *b)
{
  int la = line_of(p, a), lb = line_of(p, b);

  p->line = la > lb ? la : lb;
}

static void cross_durations(parser *p)
{
  const asr_conf *c = p->c;
  char x[32], y[32];

  if (c->silent_after < c->poll_interval) {
    at_later(p, "silent_after", "poll_interval");
    fmt_duration(c->silent_after, x, sizeof(x));
    fmt_duration(c->poll_interval, y, sizeof(y));
    perr(p, "silent_after (%s) is shorter than poll_interval (%s)", x, y);
  }
  if (c->disconnected_after <= c->silent_after) {
    at_later(p, "disconnected_after", "silent_after");
    fmt_duration(c->disconnected_after, x, sizeof(x));
    fmt_duration(c->silent_after, y, sizeof(y));
    perr(p, "disconnected_after (%s) must be longer than silent_after (%s)", x, y);
  }
  if (c->upload_critical_after <= c->upload_warning_after) {
    at_later(p, "upload_critical_after", "upload_warning_after");
    fmt_duration(c->upload_critical_after, x, sizeof(x));
    fmt_duration(c->upload_warning_after, y, sizeof(y));
    perr(p, "upload_critical_after (%s) must be longer than upload_warning_after (%s)", x, y);
  }
}

/* A host deadline shorter than one request could never let a host answer. */
static void cross_snmp(parser *p)
{
  const asr_conf *c = p->c;

  if (c->snmp_host_deadline_ms && c->snmp_host_deadline_ms < c->snmp_timeout_ms) {
    at_later(p, "snmp_host_deadline", "snmp_timeout");
    perr(p, "snmp_host_deadline (%u ms) is shorter than snmp_timeout (%u ms)",
         c->snmp_host_deadline_ms, c->snmp_timeout_ms);
  }
}

static void cross_v3(parser *p)
{
  const asr_conf *c = p->c;

  if (!c->v3_user[0] && (c->v3_auth_proto[0] || c->v3_priv_proto[0] || c->v3_context[0])) {
    at_later(p, "v3_auth_proto", "v3_priv_proto");
    if (!p->line)
      p->line = line_of(p, "v3_context");
    perr(p, "v3 settings without v3_user");
  }
  if (c->v3_priv_proto[0] && !c->v3_auth_proto[0]) {
    at_later(p, "v3_priv_proto", "v3_auth_proto");
    perr(p, "v3_priv_proto needs v3_auth_proto (SNMPv3 has no privacy without authentication)");
  }
  if (c->v3_auth_proto[0] && !c->secrets_file[0]) {
    at_later(p, "v3_auth_proto", "secrets_file");
    perr(p, "v3_auth_proto needs a secrets_file with the pass phrases");
  }
}

/* The scan targets in order, less every exclusion: the first line that takes the total over
 * the bound is named (host names count for nothing here: they are resolved at each scan). */
static void check_total(parser *p)
{
  const asr_conf *c = p->c;
  asr_targets all = {0};
  char why[256];

  for (size_t i = 0; i < c->n_excludes; i++)
    asr_targets_exclude(&all, c->excludes[i], why, sizeof(why));
  for (size_t i = 0; i < c->n_targets; i++) {
    if (!numeric_target(c->targets[i]))
      continue;
    asr_targets_add(&all, c->targets[i], 0, why, sizeof(why));
    if (asr_targets_finish(&all, 0, why, sizeof(why)) == ASR_ERR_TOO_LARGE) {
      p->line = p->target_line[i];
      perr(p, "scan_targets: %s: more than %d addresses in all scan targets", c->targets[i],
           ASR_TARGETS_MAX_UNFORCED);
      break;
    }
  }
  asr_targets_free(&all);
}

static void cross_check(parser *p)
{
  check_total(p);
  cross_durations(p);
  cross_snmp(p);
  cross_v3(p);
  if (p->c->client_key[0] && !p->c->client_cert[0]) {
    p->line = line_of(p, "client_key");
    perr(p, "client_key needs client_cert");
  }
  /* A v3-only site does not also try the default community. */
  if (p->c->v3_user[0] && !line_of(p, "community"))
    p->c->n_communities = 0;
}

/* ---- the interface ---- */

void asr_conf_defaults(asr_conf *c)
{
  parser p;

  memset(c, 0, sizeof(*c));
  memset(&p, 0, sizeof(p));
  p.path = "(defaults)";
  p.c = c;
  for (size_t i = 0; i < N_DIRECTIVES; i++) {
    char v[512];

    if (!directives[i].def[0])
      continue;
    asr_platform_path(directives[i].def, v, sizeof(v)); /* %ProgramData% on Windows */
    set_value(&p, &directives[i], v);
  }
}

static void apply_overlay(parser *p, const asr_conf_overlay *ov);
static void mark_sources(parser *p);

asr_result asr_conf_load(const char *path, asr_conf *c, asr_conf_error_cb err, void *ctx)
{
  return asr_conf_load_with(path, NULL, c, err, ctx);
}

asr_result asr_conf_load_with(const char *path, const asr_conf_overlay *ov, asr_conf *c,
                              asr_conf_error_cb err, void *ctx)
{
  parser p;
  FILE *f;
  int e;

  asr_conf_defaults(c);
  memset(&p, 0, sizeof(p));
  p.path = path;
  p.c = c;
  p.err = err;
  p.ctx = ctx;
  f = fopen(path, "r");
  if (!f) {
    e = errno;
    perr(&p, "%s", strerror(e));
    return e == ENOENT ? ASR_ERR_NOT_FOUND : ASR_ERR_IO;
  }
  read_all(&p, f);
  if (ferror(f)) {
    p.line = 0;
    perr(&p, "read error");
  }
  fclose(f);
  mark_sources(&p);
  if (ov && p.c->remote_config)
    apply_overlay(&p, ov);
  if (p.errors < MAX_ERRORS)
    cross_check(&p);
  return p.errors ? ASR_ERR_PARSE : ASR_OK;
}

static int field_differs(const asr_conf *a, const asr_conf *b, const directive *d)
{
  return memcmp((const char *)a + d->off, (const char *)b + d->off, d->size) != 0;
}

void asr_conf_not_reloadable(const asr_conf *a, const asr_conf *b, char *out, size_t n)
{
  size_t len = 0;

  if (n)
    out[0] = '\0';
  for (size_t i = 0; i < N_DIRECTIVES; i++) {
    const directive *d = &directives[i];

    if (d->reloadable)
      continue;
    if (d->type == T_PATH ? strcmp((const char *)a + d->off, (const char *)b + d->off) == 0
                          : !field_differs(a, b, d))
      continue;
    asr_append(out, n, &len, "%s%s", len ? ", " : "", d->name);
  }
}

int asr_conf_reloadable(const char *name)
{
  const directive *d = find(name);

  return d ? d->reloadable : -1;
}

const char *asr_conf_default(const char *name)
{
  const directive *d = find(name);

  return d ? d->def : NULL;
}

size_t asr_conf_directive_count(void)
{
  return N_DIRECTIVES;
}

const char *asr_conf_directive_name(size_t i)
{
  return i < N_DIRECTIVES ? directives[i].name : NULL;
}

/* ---- the secrets file ---- */

/* Group or others may read it, or it is not a regular file: refuse (as ssh does). */
static int secrets_mode_ok(parser *p, FILE *f)
{
  asr_result r = asr_platform_file_private(f);

  if (r == ASR_ERR_SECRET)
    perr(p, "readable by group or others: chmod 600 it");
  else if (r != ASR_OK)
    perr(p, "not a regular file");
  return r == ASR_OK;
}

/* One line of the secrets file: blank, comment, "auth = ..." or "priv = ...". */
static void secrets_line(parser *p, char *line, int have[2])
{
  char *s = line + strspn(line, " \t");
  size_t klen = strcspn(s, " \t=");
  int k = klen == 4 && strncmp(s, "auth", 4) == 0   ? 0
          : klen == 4 && strncmp(s, "priv", 4) == 0 ? 1
                                                    : -1;
  char *v = s + klen;

  if (*s == '\0' || *s == '#')
    return;
  v += strspn(v, " \t");
  if (k < 0 || *v != '=') {
    perr(p, "expected 'auth = PASS PHRASE' or 'priv = PASS PHRASE'");
    return;
  }
  v++;
  v += strspn(v, " \t");
  if (have[k])
    perr(p, "%s: already set at line %d", k ? "priv" : "auth", have[k]);
  else if (!*v)
    perr(p, "%s: empty pass phrase", k ? "priv" : "auth");
  else if (strlen(v) > 127)
    perr(p, "%s: pass phrase longer than 127 bytes", k ? "priv" : "auth");
  else if (strlen(v) < 8)
    perr(p, "%s: pass phrase shorter than 8 characters (SNMPv3 needs at least 8)",
         k ? "priv" : "auth");
  else
    have[k] = p->line;
}

static void secrets_read(parser *p, FILE *f, int have[2])
{
  char buf[LINE_MAX_LEN + 2];
  line_status s;

  while ((s = read_line(f, buf)) != L_EOF && p->errors < MAX_ERRORS) {
    p->line++;
    if (s == L_LONG)
      perr(p, "line longer than %d characters", LINE_MAX_LEN);
    else if (s == L_CONTROL)
      perr(p, "control character or NUL byte in the line");
    else
      secrets_line(p, buf, have);
  }
  asr_secret_wipe(buf, sizeof(buf));
}

asr_result asr_conf_check_secrets(const asr_conf *c, asr_conf_error_cb err, void *ctx)
{
  parser p;
  int have[2] = {0, 0};
  FILE *f;

  if (!c->secrets_file[0])
    return ASR_OK;
  memset(&p, 0, sizeof(p));
  p.path = c->secrets_file;
  p.err = err;
  p.ctx = ctx;
  f = fopen(c->secrets_file, "r");
  if (!f) {
    perr(&p, "%s", strerror(errno));
    return ASR_ERR_SECRET;
  }
  if (secrets_mode_ok(&p, f))
    secrets_read(&p, f, have);
  fclose(f);
  p.line = 0;
  if (!p.errors && c->v3_auth_proto[0] && !have[0])
    perr(&p, "no 'auth = ...' line, and v3_auth_proto is set");
  if (!p.errors && c->v3_priv_proto[0] && !have[1])
    perr(&p, "no 'priv = ...' line, and v3_priv_proto is set");
  return p.errors ? ASR_ERR_SECRET : ASR_OK;
}

const char *asr_conf_path(const char *opt)
{
  static char path[512];

  if (opt)
    return opt;
  if (asr_platform_path(ASR_CONF_DEFAULT_PATH, path, sizeof(path)) != ASR_OK)
    return ASR_CONF_DEFAULT_PATH;
  return path;
}

asr_result asr_conf_token_path(const asr_conf *c, char *out, size_t n)
{
  size_t dir = strlen(c->database);

  while (dir > 0 && !asr_platform_is_sep(c->database[dir - 1]))
    dir--;
  if (dir == 0)
    return asr_strlcpy(out, "site-token", n);
  return asr_fmt(out, n, "%.*ssite-token", (int)dir, c->database);
}

/* ---- the central's configuration (issue 17) ----
 *
 * The central sets directives by the names and values of this file: the same rows, the
 * same parsers, the same checks between directives. An overlay is applied after the file:
 * a directive the file marked `local` keeps the file's value, any other the central sets
 * replaces the file's (every line of a repeatable one). asr-central checks a site's
 * configuration with asr_conf_check_remote, the agent with asr_conf_load_with: one table,
 * so they cannot disagree. */

/* Reloadable directives the central may not set: where the agent reaches the central and
 * whether it listens to it stay the administrator's. */
static const char *const not_remote[] = {"endpoint", "ca_file",         "ca_path",
                                         "pin",      "client_cert",     "client_key",
                                         "proxy",    "proxy_user_file", "remote_config"};

/* SNMPv3 pass phrases: not directives (the file names a secrets_file), but the central
 * may send them; the same bounds as the secrets file. */
static const char *const remote_secrets[] = {"v3_auth_pass", "v3_priv_pass"};

#define PASS_MIN 8
#define PASS_MAX 127

int asr_conf_remote_key(const char *name)
{
  const directive *d = find(name);

  for (size_t i = 0; i < sizeof(remote_secrets) / sizeof(remote_secrets[0]); i++) {
    if (strcmp(name, remote_secrets[i]) == 0)
      return ASR_CONF_KEY_SECRET;
  }
  if (!d)
    return -1;
  if (!d->reloadable)
    return 0;
  for (size_t i = 0; i < sizeof(not_remote) / sizeof(not_remote[0]); i++) {
    if (strcmp(name, not_remote[i]) == 0)
      return 0;
  }
  return ASR_CONF_KEY_DIRECTIVE;
}

int asr_conf_remote_sealed(const char *name)
{
  const directive *d = find(name);

  if (asr_conf_remote_key(name) == ASR_CONF_KEY_SECRET)
    return 1;
  return d && (d->type == T_COMMUNITY || d->type == T_TCOMM);
}

asr_result asr_conf_check_pass(const char *name, const char *v, char *why, size_t n)
{
  size_t len = strlen(v);

  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
      return asr_fmt_cut(why, n, "%s: control character in the pass phrase", name), ASR_ERR_INVALID;
  }
  if (len < PASS_MIN)
    return asr_fmt_cut(why, n,
                       "%s: pass phrase shorter than %d characters (SNMPv3 needs at least %d)",
                       name, PASS_MIN, PASS_MIN),
           ASR_ERR_INVALID;
  if (len > PASS_MAX)
    return asr_fmt_cut(why, n, "%s: pass phrase longer than %d bytes", name, PASS_MAX),
           ASR_ERR_INVALID;
  return ASR_OK;
}

static void mark_sources(parser *p)
{
  for (size_t i = 0; i < N_DIRECTIVES && i < ASR_CONF_MAX_DIRECTIVES; i++)
    p->c->source[i] = p->local[i]  ? ASR_CONF_SRC_LOCAL
                      : p->seen[i] ? ASR_CONF_SRC_FILE
                                   : ASR_CONF_SRC_DEFAULT;
}

/* Empties a directive's field before the central's value replaces the file's. */
static void clear_field(parser *p, const directive *d)
{
  if (d->type == T_TARGETS)
    p->c->n_targets = 0;
  else if (d->type == T_EXCLUDE)
    p->c->n_excludes = 0;
  else if (d->type == T_TCOMM)
    p->c->n_target_communities = 0;
  else if (d->type == T_COMMUNITY)
    p->c->n_communities = 0;
  memset(field(p, d), 0, d->size);
}

/* One value of the central through the file's own path (directive_line), item by item
 * for a community list (communities separated by blanks) and for target_community (one
 * "TARGET NAME [NAME...]" a line, lines separated by newlines). */
static void overlay_value(parser *p, const directive *d, const char *value)
{
  size_t i = (size_t)(d - directives);
  char buf[LINE_MAX_LEN + 1];

  if (asr_strlcpy(buf, value, sizeof(buf)) != ASR_OK) {
    perr(p, "%s: value longer than %d characters", d->name, LINE_MAX_LEN);
    return;
  }
  for (char *q = buf; *q; q++) {
    if (d->type == T_TCOMM && *q == '\n')
      continue;
    if ((unsigned char)*q < 0x20 || *q == 0x7f) {
      perr(p, "%s: control character in the value", d->name);
      return;
    }
  }
  clear_field(p, d);
  p->seen[i] = 0;
  if (d->type != T_COMMUNITY && d->type != T_TCOMM) {
    directive_line(p, (char *)d->name, buf + strspn(buf, " \t"));
  } else {
    const char *seps = d->type == T_COMMUNITY ? " \t" : "\n";
    char *save = NULL;
    int any = 0;

    for (char *w = strtok_r(buf, seps, &save); w; w = strtok_r(NULL, seps, &save)) {
      size_t len;

      w += strspn(w, " \t");
      for (len = strlen(w); len > 0 && (w[len - 1] == ' ' || w[len - 1] == '\t'); len--)
        w[len - 1] = '\0';
      if (!*w)
        continue;
      directive_line(p, (char *)d->name, w);
      any = 1;
    }
    if (!any)
      perr(p, "%s: missing value", d->name);
  }
  p->seen[i] = -1; /* set, by the central */
}

static void apply_overlay(parser *p, const asr_conf_overlay *ov)
{
  const char *path = p->path;
  char why[256];

  p->path = ov->label ? ov->label : "remote configuration";
  p->line = -1;
  for (size_t k = 0; k < ov->n; k++) {
    const char *name = ov->pairs[k].name, *value = ov->pairs[k].value;
    int kind = asr_conf_remote_key(name);
    const directive *d = find(name);

    if (kind == ASR_CONF_KEY_SECRET) {
      if (asr_conf_check_pass(name, value, why, sizeof(why)) != ASR_OK)
        perr(p, "%s", why);
      continue;
    }
    if (kind < 0) {
      perr(p, "unknown directive '%.64s'", name);
      continue;
    }
    if (kind == 0) {
      perr(p, "%s: only the configuration file may set it", name);
      continue;
    }
    if (p->local[d - directives])
      continue; /* the administrator's: the file wins */
    overlay_value(p, d, value);
    p->c->source[d - directives] = ASR_CONF_SRC_REMOTE;
  }
  if (ov->secrets_file && ov->secrets_file[0] && !p->local[find("v3_auth_proto") - directives]) {
    if (asr_strlcpy(p->c->secrets_file, ov->secrets_file, sizeof(p->c->secrets_file)) != ASR_OK)
      perr(p, "secrets_file: longer than %zu bytes", sizeof(p->c->secrets_file) - 1);
    p->c->source[find("secrets_file") - directives] = ASR_CONF_SRC_REMOTE;
    p->seen[find("secrets_file") - directives] = -1;
  }
  p->path = path;
  p->line = 0;
}

asr_result asr_conf_check_remote(const asr_conf_overlay *ov, asr_conf *c, asr_conf_error_cb err,
                                 void *ctx)
{
  asr_conf_overlay o = *ov;
  parser p;

  asr_conf_defaults(c);
  memset(&p, 0, sizeof(p));
  p.path = ov->label ? ov->label : "(defaults)"; /* names the checks between directives */
  p.c = c;
  p.err = err;
  p.ctx = ctx;
  /* the pass phrases may be the agent's own (its secrets_file): the agent checks that */
  o.secrets_file = "/remote-secrets";
  apply_overlay(&p, &o);
  if (p.errors < MAX_ERRORS)
    cross_check(&p);
  return p.errors ? ASR_ERR_PARSE : ASR_OK;
}

const char *asr_conf_source_name(int source)
{
  static const char *const names[] = {"default", "file", "local", "central"};

  return source >= 0 && source < 4 ? names[source] : "unknown";
}

int asr_conf_directive_source(const asr_conf *c, size_t i)
{
  return i < N_DIRECTIVES && i < ASR_CONF_MAX_DIRECTIVES ? c->source[i] : -1;
}

/* The value of a list field, items joined by blanks. */
static void format_list(const asr_conf *c, const directive *d, char *out, size_t n)
{
  size_t len = 0;

  out[0] = '\0';
  if (d->type == T_TARGETS) {
    for (size_t i = 0; i < c->n_targets; i++)
      asr_append(out, n, &len, "%s%s", i ? " " : "", c->targets[i]);
  } else if (d->type == T_EXCLUDE) {
    for (size_t i = 0; i < c->n_excludes; i++)
      asr_append(out, n, &len, "%s%s", i ? " " : "", c->excludes[i]);
  }
}

asr_result asr_conf_format(const asr_conf *c, size_t i, char *out, size_t n)
{
  const directive *d = i < N_DIRECTIVES ? &directives[i] : NULL;
  const char *f;

  if (!d || !n)
    return ASR_ERR_INVALID;
  f = (const char *)c + d->off;
  switch (d->type) {
  case T_UINT:
  case T_MS:
    return asr_fmt(out, n, "%u", *(const unsigned *)(const void *)f);
  case T_DURATION:
    fmt_duration(*(const int64_t *)(const void *)f, out, n);
    return ASR_OK;
  case T_WINDOW:
    return asr_fmt(out, n, "%02d:%02d-%02d:%02d", c->upload_window_start / 60,
                   c->upload_window_start % 60, c->upload_window_end / 60,
                   c->upload_window_end % 60);
  case T_TARGETS:
  case T_EXCLUDE:
    format_list(c, d, out, n);
    return ASR_OK;
  case T_COMMUNITY: /* a community is a password: never shown */
    if (!c->n_communities)
      return asr_strlcpy(out, "", n);
    return asr_fmt(out, n, "(%zu set)", c->n_communities);
  case T_TCOMM: /* nor are the communities of a target */
    if (!c->n_target_communities)
      return asr_strlcpy(out, "", n);
    return asr_fmt(out, n, "(%zu set)", c->n_target_communities);
  case T_ONOFF:
    return asr_strlcpy(out, *(const int *)(const void *)f ? "on" : "off", n);
  case T_ALERTUP:
    return asr_strlcpy(out, *(const int *)(const void *)f ? "immediate" : "batch", n);
  default:
    return asr_strlcpy(out, f, n);
  }
}
