/* rulesconf.c: the rules' numbers from a file (rulesconf.h). One table row per
 * directive: name, kind, range, where it goes. */
#include "central/rulesconf.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/device.h"
#include "common/util.h"

typedef enum { K_INT, K_DOUBLE, K_BOOL } kind;

static const struct {
  const char *name;
  kind k;
  double min, max;
  size_t off; /* offset in asr_rp_conf */
} directives[] = {
    {"trigger_days", K_DOUBLE, 1, 365, offsetof(asr_rp_conf, trigger_days)},
    {"cover_days", K_DOUBLE, 1, 365, offsetof(asr_rp_conf, cover_days)},
    {"consolidate", K_BOOL, 0, 1, offsetof(asr_rp_conf, consolidate)},
    {"consolidate_days", K_INT, 0, 365, offsetof(asr_rp_conf, consolidate_days)},
    {"high_use_per_week", K_DOUBLE, 0.1, 100, offsetof(asr_rp_conf, high_use_per_week)},
    {"high_use_weeks", K_INT, 1, 12, offsetof(asr_rp_conf, high_use_weeks)},
    {"spike_margin_days", K_INT, 0, 60, offsetof(asr_rp_conf, spike_margin_days)},
    {"silent_days", K_INT, 1, 14, offsetof(asr_rp_conf, silent_days)},
    {"disconnect_days", K_INT, 7, 14, offsetof(asr_rp_conf, disconnect_days)},
    {"final_days", K_INT, 8, 365, offsetof(asr_rp_conf, final_days)},
    {"delivery_days", K_INT, 0, 60, offsetof(asr_rp_conf, delivery_days)},
    {"retention_days", K_INT, ASR_RP_RETENTION_MIN, ASR_RP_KEEP_MAX,
     offsetof(asr_rp_conf, retention_days)},
    {"rollup_days", K_INT, ASR_RP_ROLLUP_MIN, ASR_RP_KEEP_MAX, offsetof(asr_rp_conf, rollup_days)},
    {"long_window_days", K_INT, 7, 365, offsetof(asr_rp_conf, forecast.long_window_days)},
    {"short_window_days", K_INT, 2, 365, offsetof(asr_rp_conf, forecast.short_window_days)},
    {"spike_ratio", K_DOUBLE, 1, 10, offsetof(asr_rp_conf, forecast.spike_ratio)},
    {"jump_fraction", K_DOUBLE, 0.01, 0.99, offsetof(asr_rp_conf, forecast.jump_fraction)},
    {"min_span_days", K_INT, 1, 365, offsetof(asr_rp_conf, forecast.min_span_days)},
    {"early_fraction", K_DOUBLE, 0.01, 0.99, offsetof(asr_rp_conf, forecast.early_fraction)},
    {"mid_window_days", K_INT, 2, 365, offsetof(asr_rp_conf, forecast.mid_window_days)},
    {"mid_ratio", K_DOUBLE, 1, 10, offsetof(asr_rp_conf, forecast.mid_ratio)},
};

/* trigger_days.TYPE = N: the trigger of one supply type (asr_rp_conf.overrides). */
#define TYPE_PREFIX "trigger_days."
#define TYPE_TRIGGER_MIN 1.0
#define TYPE_TRIGGER_MAX 365.0
#define TYPE_CODE_MAX 255 /* PrtMarkerSuppliesTypeTC codes looked at for the names */

#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* A whole decimal number (no trailing text, finite). */
static bool parse_double(const char *s, double *out)
{
  char *end = NULL;

  errno = 0;
  *out = strtod(s, &end);
  return *s && end && *end == '\0' && errno == 0 && isfinite(*out);
}

static bool parse_bool(const char *s, double *out)
{
  if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
    *out = 1;
  else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
    *out = 0;
  else
    return false;
  return true;
}

/* The RFC 3805 names of the types the rules order, "toner, wasteToner, ...", into buf (from
 * the tables of common/device.c and replenish/rules.c, so that the two stay the truth). */
static void eligible_names(char *buf, size_t n)
{
  size_t len = 0;

  buf[0] = '\0';
  for (int32_t t = 1; t <= TYPE_CODE_MAX; t++) {
    const char *tn = asr_supply_type_name(t);
    if (tn && asr_rp_type_eligible(t))
      asr_append(buf, n, &len, "%s%s", len ? ", " : "", tn);
  }
}

/* Sets the trigger of the supply type named tname (an RFC 3805 PrtMarkerSuppliesTypeTC
 * name); a type set before gets the new value. */
static asr_result set_type_trigger(asr_rp_conf *c, const char *name, const char *tname,
                                   const char *value, char *err, size_t n)
{
  int32_t type = asr_supply_type_code(tname);
  char names[256];
  double v = 0;
  size_t i = 0;

  eligible_names(names, sizeof(names));
  if (type == 0) {
    asr_fmt_cut(err, n, "%s: unknown supply type '%s' (one of %s)", name, tname, names);
    return ASR_ERR_INVALID;
  }
  if (!asr_rp_type_eligible(type)) {
    asr_fmt_cut(err, n, "%s: %s is never ordered (only %s are)", name, tname, names);
    return ASR_ERR_INVALID;
  }
  if (!parse_double(value, &v) || v < TYPE_TRIGGER_MIN || v > TYPE_TRIGGER_MAX) {
    asr_fmt_cut(err, n, "%s: '%s' is not a number from %g to %g", name, value, TYPE_TRIGGER_MIN,
                TYPE_TRIGGER_MAX);
    return ASR_ERR_INVALID;
  }
  while (i < c->n_overrides && i < ASR_RP_OVERRIDES_MAX && c->overrides[i].type != type)
    i++;
  if (i >= ASR_RP_OVERRIDES_MAX) {
    asr_fmt_cut(err, n, "%s: more than %d per-type triggers", name, ASR_RP_OVERRIDES_MAX);
    return ASR_ERR_INVALID;
  }
  c->overrides[i].type = type;
  c->overrides[i].trigger_days = v;
  if (i == c->n_overrides)
    c->n_overrides++;
  return ASR_OK;
}

asr_result crules_set(asr_rp_conf *c, const char *name, const char *value, char *err, size_t n)
{
  if (strncmp(name, TYPE_PREFIX, strlen(TYPE_PREFIX)) == 0)
    return set_type_trigger(c, name, name + strlen(TYPE_PREFIX), value, err, n);
  for (size_t i = 0; i < N_DIRECTIVES; i++) {
    double v = 0;
    char *p = (char *)c + directives[i].off;
    if (strcmp(name, directives[i].name) != 0)
      continue;
    bool ok = directives[i].k == K_BOOL ? parse_bool(value, &v) : parse_double(value, &v);
    if (ok && directives[i].k == K_INT)
      ok = v == floor(v);
    if (!ok || v < directives[i].min || v > directives[i].max) {
      asr_fmt_cut(err, n, "%s: '%s' is not %s from %g to %g", name, value,
                  directives[i].k == K_INT ? "a whole number" : "a number", directives[i].min,
                  directives[i].max);
      return ASR_ERR_INVALID;
    }
    if (directives[i].k == K_INT)
      *(int *)(void *)p = (int)v;
    else if (directives[i].k == K_BOOL)
      *(bool *)(void *)p = v != 0;
    else
      *(double *)(void *)p = v;
    return ASR_OK;
  }
  if (strcmp(name, "high_use_window_days") == 0)
    asr_fmt_cut(err, n,
                "high_use_window_days is no longer a rule: high use is judged per calendar"
                " week (high_use_weeks, docs/replenishment.md)");
  else
    asr_fmt_cut(err, n, "unknown rule '%s'", name);
  return ASR_ERR_INVALID;
}

/* Cuts the blanks around s in place. */
static char *trim(char *s)
{
  char *e;

  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen(s);
  while (e > s && strchr(" \t\r\n", e[-1]))
    *--e = '\0';
  return s;
}

/* Applies one line (number no) of a rules file to c, or to a when it is an alert mail
 * setting (central/calertmail.h). */
static asr_result apply_line(asr_rp_conf *c, calert_conf *a, char *line, const char *path, int no,
                             char *err, size_t n)
{
  char why[256];
  char *eq, *name;
  asr_result r;

  line[strcspn(line, "#")] = '\0';
  name = trim(line);
  if (!*name)
    return ASR_OK;
  eq = strchr(name, '=');
  if (!eq) {
    asr_fmt_cut(err, n, "%s:%d: expected NAME = VALUE", path, no);
    return ASR_ERR_INVALID;
  }
  *eq = '\0';
  name = trim(name);
  r = calert_conf_set(a, name, trim(eq + 1), why, sizeof(why));
  if (r == ASR_ERR_NOT_FOUND)
    r = crules_set(c, name, trim(eq + 1), why, sizeof(why));
  if (r != ASR_OK) {
    asr_fmt_cut(err, n, "%s:%d: %s", path, no, why);
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* Names in err the relation between two rules that c breaks (the cross-checks of
 * asr_rp_conf_check; each value alone was range-checked when it was read). */
static void explain_conflict(const asr_rp_conf *c, const char *path, char *err, size_t n)
{
  const asr_rp_forecast_conf *f = &c->forecast;

  if (c->silent_days > c->disconnect_days)
    asr_fmt_cut(err, n, "%s: silent_days (%d) is more than disconnect_days (%d)", path,
                c->silent_days, c->disconnect_days);
  else if (c->final_days <= c->disconnect_days)
    asr_fmt_cut(err, n, "%s: final_days (%d) is not more than disconnect_days (%d)", path,
                c->final_days, c->disconnect_days);
  else if (c->rollup_days < c->retention_days)
    asr_fmt_cut(err, n, "%s: rollup_days (%d) is less than retention_days (%d)", path,
                c->rollup_days, c->retention_days);
  else if (f->short_window_days > f->long_window_days)
    asr_fmt_cut(err, n, "%s: short_window_days (%d) is more than long_window_days (%d)", path,
                f->short_window_days, f->long_window_days);
  else if (f->min_span_days > f->short_window_days)
    asr_fmt_cut(err, n, "%s: min_span_days (%d) is more than short_window_days (%d)", path,
                f->min_span_days, f->short_window_days);
  else if (f->mid_window_days < f->short_window_days || f->mid_window_days > f->long_window_days)
    asr_fmt_cut(err, n,
                "%s: mid_window_days (%d) is not from short_window_days (%d) to"
                " long_window_days (%d)",
                path, f->mid_window_days, f->short_window_days, f->long_window_days);
  else
    asr_fmt_cut(err, n, "%s: the rules do not fit together", path);
}

asr_result crules_load(const char *path, asr_rp_conf *c, char *err, size_t n)
{
  calert_conf ignored;

  calert_conf_default(&ignored);
  return crules_load_all(path, c, &ignored, err, n);
}

asr_result crules_load_all(const char *path, asr_rp_conf *c, calert_conf *alerts, char *err,
                           size_t n)
{
  char line[512];
  asr_rp_conf tmp = *c;
  calert_conf atmp = *alerts;
  asr_result r = ASR_OK;
  int no = 0;
  FILE *f = fopen(path, "r");

  if (!f) {
    asr_fmt_cut(err, n, "%s: cannot open: %s", path, strerror(errno));
    return ASR_ERR_IO;
  }
  while (!r && fgets(line, sizeof(line), f)) {
    no++;
    if (!strchr(line, '\n') && !feof(f)) {
      asr_fmt_cut(err, n, "%s:%d: line too long", path, no);
      r = ASR_ERR_INVALID;
    } else
      r = apply_line(&tmp, &atmp, line, path, no, err, n);
  }
  fclose(f);
  if (!r && asr_rp_conf_check(&tmp) != ASR_OK) {
    explain_conflict(&tmp, path, err, n);
    r = ASR_ERR_INVALID;
  }
  if (!r) {
    *c = tmp;
    *alerts = atmp;
  }
  return r;
}
