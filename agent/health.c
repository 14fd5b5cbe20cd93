/* agent/health.c: the disconnection flag, cartridge replacements and status --check.
 *
 * Reading order: the pure rules (state names, the transition rule, reasons, the
 * replacement rule), then what a poll changes in the store (asr_health_after_poll: the
 * state transition with its event, then the replacements seen between the last two
 * readings), the sweep, and the one line of status --check.
 *
 * Why replacements compare the last two readings: the save that precedes this call has
 * already replaced the supplies table, and the readings keep every level; the newest two
 * rows of one device are one indexed lookup (readings is keyed (device_id, t)). The
 * percent is computed again from each stored level with the supply's metadata, by the
 * same rules as everywhere (asr_supply_normalize), so a printer reporting in its own
 * units is compared in percent. Every time comes from the caller's `now`. */
#include "agent/health.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "store/events.h"
#include "store/outbox.h"
#include "uplink/batch.h"
#include "uplink/uplink.h"

/* ---- pure rules ---- */

static const char *const state_names[] = {
    [ASR_DEV_ACTIVE] = "active",             /* answers */
    [ASR_DEV_SILENT] = "silent",             /* silent_after and min_failures reached */
    [ASR_DEV_DISCONNECTED] = "disconnected", /* disconnected_after reached */
};

void asr_health_policy_init(asr_health_policy *p)
{
  p->silent_after = 86400;
  p->min_failures = 3;
  p->disconnected_after = 7 * 86400;
}

/* The policy set by the configuration (asr_health_set_policy); has_policy 0 = defaults. */
static asr_health_policy policy;
static int has_policy;

void asr_health_set_policy(const asr_health_policy *p)
{
  if (p)
    policy = *p;
  has_policy = p != NULL;
}

void asr_health_policy_current(asr_health_policy *out)
{
  if (has_policy)
    *out = policy;
  else
    asr_health_policy_init(out);
}

const char *asr_dev_state_name(asr_dev_state s)
{
  if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
    return state_names[s];
  return "active";
}

bool asr_dev_state_parse(const char *name, asr_dev_state *out)
{
  for (unsigned i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++) {
    if (strcmp(name, state_names[i]) == 0) {
      *out = (asr_dev_state)i;
      return true;
    }
  }
  return false;
}

asr_dev_state asr_health_next(asr_dev_state cur, bool ok, int64_t last_answer,
                              unsigned failed_polls, int64_t now, const asr_health_policy *p)
{
  int64_t quiet = now - last_answer;

  if (ok)
    return ASR_DEV_ACTIVE;
  if (quiet >= p->disconnected_after)
    return ASR_DEV_DISCONNECTED;
  if (cur == ASR_DEV_ACTIVE && quiet >= p->silent_after && failed_polls >= p->min_failures)
    return ASR_DEV_SILENT;
  return cur;
}

/* The reason of a failed poll, by its code. */
static const struct {
  asr_result code;
  const char *reason;
} reasons[] = {
    {ASR_ERR_TIMEOUT, "timeout"},                              /* no answer in time */
    {ASR_ERR_AUTH, "auth failure"},                            /* SNMPv3 auth/privacy */
    {ASR_ERR_SNMP, "host unreachable"},                        /* the engine could not reach it */
    {ASR_ERR_RESOLVE, "host unreachable"},                     /* name not resolved */
    {ASR_ERR_IO, "host unreachable"},                          /* socket error */
    {ASR_ERR_NOT_PRINTER, "not a printer any more"},           /* answers, no Printer-MIB */
    {ASR_ERR_NOT_FOUND, "a different printer at the address"}, /* another serial answers */
    {ASR_ERR_PROTOCOL, "garbled answers"},                     /* answers we cannot decode */
};

const char *asr_health_reason(asr_result code)
{
  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
    if (reasons[i].code == code)
      return reasons[i].reason;
  }
  return "no answer";
}

int asr_health_replaced(int old_pct, int new_pct)
{
  if (old_pct < 0 || old_pct > 100 || new_pct < 0 || new_pct > 100)
    return 0;
  if (new_pct - old_pct <= ASR_HEALTH_REPLACE_JUMP)
    return 0;
  return old_pct > ASR_SUPPLY_LOW_PERCENT ? 2 : 1;
}

/* ---- small text helpers ---- */

/* "3d 4h", "5h 12m", "7m": a duration for event details. */
static void fmt_duration(int64_t s, char *buf, size_t n)
{
  if (s < 0)
    s = 0;
  if (s >= 86400)
    asr_fmt_cut(buf, n, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
  else if (s >= 3600)
    asr_fmt_cut(buf, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else
    asr_fmt_cut(buf, n, "%lldm", (long long)(s / 60));
}

/* Copies at most cols bytes of printer text, on a UTF-8 boundary, for a detail line. */
static void clip(char *dst, size_t cap, const char *src, size_t cols)
{
  size_t len = strlen(src);

  if (cols + 1 < cap)
    cap = cols + 1;
  if (len >= cap) {
    len = cap - 1;
    while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
      len--;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
}

/* ---- after a poll: the state ---- */

static int64_t last_answer(const asr_store_device *d)
{
  return d->last_seen > 0 ? d->last_seen : d->first_seen;
}

/* The detail of a transition from cur to next. */
static void transition_detail(const asr_store_device *d, asr_dev_state cur, asr_dev_state next,
                              int64_t since, asr_result code, const char *reason, int64_t now,
                              char *buf, size_t n)
{
  char quiet[32], why[128];

  if (next == ASR_DEV_ACTIVE) {
    fmt_duration(now - since, quiet, sizeof(quiet));
    asr_fmt_cut(buf, n, "answers again at %s after %s %s", d->dev.ip, quiet,
                asr_dev_state_name(cur));
    return;
  }
  fmt_duration(now - last_answer(d), quiet, sizeof(quiet));
  clip(why, sizeof(why), reason && reason[0] ? reason : d->last_failure, 100);
  asr_fmt_cut(buf, n, "%s: no answer for %s, %u failed polls in a row (last: %s)",
              asr_health_reason(code), quiet, d->failed_polls, why[0] ? why : "no reason given");
}

/* Applies the transition rule to d; records the change and its event. */
static asr_result apply_state(asr_store *st, const asr_store_device *d, bool ok, asr_result code,
                              const char *reason, int64_t now, const asr_health_policy *p,
                              bool *changed)
{
  char name[ASR_EVENTS_STATE_MAX], detail[ASR_EVENTS_DETAIL_MAX];
  asr_dev_state cur = ASR_DEV_ACTIVE, next;
  int64_t since = 0;
  asr_result r = asr_events_get_state(st, d->id, name, sizeof(name), &since);

  *changed = false;
  if (r)
    return r;
  if (!asr_dev_state_parse(name, &cur))
    cur = ASR_DEV_ACTIVE;
  next = asr_health_next(cur, ok, last_answer(d), d->failed_polls, now, p);
  if (next == cur)
    return ASR_OK;
  transition_detail(d, cur, next, since, code, reason, now, detail, sizeof(detail));
  *changed = true;
  return asr_events_set_state(st, d->id, asr_dev_state_name(next), now,
                              next == ASR_DEV_ACTIVE ? "reconnected" : asr_dev_state_name(next),
                              detail);
}

/* ---- after a good poll: replacements ---- */

/* The supply of d with index idx, or NULL. */
static const asr_supply *supply_of(const asr_device *d, int32_t idx)
{
  for (size_t i = 0; i < d->n_supplies; i++) {
    if (d->supplies[i].index == idx)
      return &d->supplies[i];
  }
  return NULL;
}

/* The percent of a stored level with the supply's metadata; *receptacle tells its class. */
static int level_percent(const asr_supply *meta, const asr_store_level *lv, uint32_t ent,
                         bool *receptacle)
{
  asr_supply s = *meta;

  s.has_level = s.has_max = true;
  s.level = lv->level;
  s.max = lv->max;
  asr_supply_normalize(&s, ent);
  *receptacle = s.klass == ASR_CLASS_RECEPTACLE;
  return s.percent;
}

/* Appends "Black Toner (1): 35% -> 100%, early" for each supply that jumped up. */
static void describe_replacements(const asr_device *d, const asr_store_level *cur, size_t n_cur,
                                  const asr_store_level *prev, size_t n_prev, char *buf, size_t n)
{
  uint32_t ent = asr_batch_enterprise(d->sys_object_id);
  size_t len = strlen(buf);

  for (size_t i = 0; i < n_cur; i++) {
    const asr_supply *meta = supply_of(d, cur[i].index);
    char descr[64];
    bool rec = false;
    int was = -1, now_pct, kind;

    for (size_t j = 0; meta && j < n_prev; j++) {
      if (prev[j].index == cur[i].index)
        was = level_percent(meta, &prev[j], ent, &rec);
    }
    if (was < 0)
      continue;
    now_pct = level_percent(meta, &cur[i], ent, &rec);
    kind = asr_health_replaced(was, now_pct);
    if (!kind)
      continue;
    clip(descr, sizeof(descr), meta->description[0] ? meta->description : "supply", 48);
    asr_append(buf, n, &len, "%s%s (index %d) %s: %d%% -> %d%%%s", len ? "; " : "", descr,
               (int)cur[i].index, rec ? "emptied or replaced, space left" : "replaced", was,
               now_pct, kind == 2 ? ", early" : "");
  }
}

/* Compares the reading saved at now with the one before; records a "replaced" event. */
static asr_result check_replacements(asr_store *st, const asr_store_device *d, int64_t now)
{
  asr_store_level *lv = malloc(2 * ASR_SUPPLIES_MAX * sizeof(*lv));
  char detail[ASR_EVENTS_DETAIL_MAX] = "";
  size_t n_cur = 0, n_prev = 0;
  int64_t t_cur = 0, t_prev = 0;
  asr_result r;

  if (!lv)
    return ASR_ERR_NOMEM;
  r = asr_events_last_levels(st, d->id, lv, &n_cur, &t_cur, lv + ASR_SUPPLIES_MAX, &n_prev,
                             &t_prev);
  if (r || t_cur != now || n_prev == 0)
    goto out;
  describe_replacements(&d->dev, lv, n_cur, lv + ASR_SUPPLIES_MAX, n_prev, detail, sizeof(detail));
  if (detail[0])
    r = asr_events_add(st, d->id, now, "replaced", detail);
out:
  free(lv);
  return r;
}

/* ---- applying ---- */

static asr_store_device *load(asr_store *st, int64_t id, asr_result *r)
{
  asr_store_device *d = malloc(sizeof(*d));

  *r = d ? asr_store_get(st, id, d) : ASR_ERR_NOMEM;
  if (*r) {
    free(d);
    return NULL;
  }
  asr_secret_wipe(&d->cred, sizeof(d->cred)); /* never needed here: do not keep secrets around */
  return d;
}

asr_result asr_health_after_poll(asr_store *st, int64_t id, bool ok, asr_result code,
                                 const char *reason, int64_t now, const asr_health_policy *p)
{
  asr_health_policy def;
  asr_store_device *d;
  bool changed = false;
  asr_result r;

  if (!p) {
    asr_health_policy_current(&def);
    p = &def;
  }
  d = load(st, id, &r);
  if (!d)
    return r;
  r = apply_state(st, d, ok, code, reason, now, p, &changed);
  if (!r && ok)
    r = check_replacements(st, d, now);
  free(d);
  if (r)
    asr_log(ASR_LOG_WARN, "device %lld: health not recorded: %s", (long long)id,
            asr_store_errmsg(st));
  return r;
}

typedef struct {
  asr_store *st;
  int64_t now;
  const asr_health_policy *p;
  size_t changed;
  asr_result r;
} sweep_ctx;

static int sweep_one(const asr_store_device *d, void *ctx)
{
  sweep_ctx *x = ctx;
  asr_result code = ASR_OK;
  bool changed = false;

  x->r = asr_events_last_failure_code(x->st, d->id, &code);
  if (!x->r)
    x->r = apply_state(x->st, d, false, code, d->last_failure, x->now, x->p, &changed);
  x->changed += changed;
  return x->r != ASR_OK;
}

asr_result asr_health_sweep(asr_store *st, int64_t now, const asr_health_policy *p, size_t *changed)
{
  asr_health_policy def;
  sweep_ctx x = {st, now, p, 0, ASR_OK};
  asr_result r;

  if (!p) {
    asr_health_policy_current(&def);
    x.p = &def;
  }
  r = asr_store_foreach_device(st, NULL, 0, sweep_one, &x);
  if (changed)
    *changed = x.changed;
  return r ? r : x.r;
}

/* ---- status --check ---- */

#define CHECK_NAMES_MAX 5

typedef struct {
  char names[2][256]; /* disconnected, silent: "CNB1, CNB2" */
  size_t len[2], count[2];
} flagged_ctx;

/* A printer's name in the check line: printable ASCII only, no '|' (perfdata) or ','. */
static void safe_name(const char *src, char *dst, size_t cap)
{
  size_t i = 0;

  for (; src[i] && i + 1 < cap && i < 32; i++)
    dst[i] = src[i] > 0x20 && src[i] < 0x7f && src[i] != '|' && src[i] != ',' ? src[i] : '?';
  dst[i] = '\0';
}

static int add_flagged(int64_t id, const char *name, const char *state, int64_t since, void *ctx)
{
  flagged_ctx *x = ctx;
  int k = strcmp(state, "disconnected") == 0 ? 0 : 1;
  char clean[40];

  (void)id;
  (void)since;
  if (x->count[k] < CHECK_NAMES_MAX) {
    safe_name(name[0] ? name : "?", clean, sizeof(clean));
    asr_append(x->names[k], sizeof(x->names[k]), &x->len[k], "%s%s", x->count[k] ? ", " : "",
               clean);
  } else if (x->count[k] == CHECK_NAMES_MAX) {
    asr_append(x->names[k], sizeof(x->names[k]), &x->len[k], ", ...");
  }
  x->count[k]++;
  return 0;
}

/* "8 days", "5 hours", "12 minutes". */
static void fmt_ago(int64_t s, char *buf, size_t n)
{
  if (s < 0)
    s = 0;
  if (s >= 2 * 86400)
    asr_fmt_cut(buf, n, "%lld days", (long long)(s / 86400));
  else if (s >= 2 * 3600)
    asr_fmt_cut(buf, n, "%lld hours", (long long)(s / 3600));
  else
    asr_fmt_cut(buf, n, "%lld %s", (long long)(s / 60), asr_plural(s / 60, "minute", "minutes"));
}

static asr_check_status worse(asr_check_status a, asr_check_status b)
{
  return b > a ? b : a;
}

void asr_check_limits_init(asr_check_limits *l)
{
  l->upload_warning_after = ASR_HEALTH_UPLOAD_WARNING;
  l->upload_critical_after = ASR_HEALTH_UPLOAD_CRITICAL;
  l->outbox_max_bytes = (int64_t)ASR_UPLINK_OUTBOX_MAX_MB_DEFAULT << 20;
  l->config_problem = NULL;
}

/* The upload part of the line and its status. */
static asr_check_status check_upload(asr_store *st, const asr_check_limits *l, int64_t now,
                                     char *buf, size_t n, asr_result *r)
{
  asr_outbox_status u;
  asr_outbox_cred c;
  int64_t ref, age;
  char ago[32];

  *r = asr_outbox_get_status(st, &u);
  if (*r || !u.enrolled) {
    asr_strlcpy_cut(buf, "not enrolled", n);
    return ASR_CHECK_OK;
  }
  if (u.stopped[0]) {
    asr_fmt_cut(buf, n, "uploads stopped");
    return ASR_CHECK_CRITICAL;
  }
  *r = asr_outbox_get_cred(st, &c);
  ref = u.last_upload > 0 ? u.last_upload : (*r ? 0 : c.enrolled_at);
  asr_secret_wipe(c.secret, sizeof(c.secret));
  age = now - ref;
  fmt_ago(age, ago, sizeof(ago));
  if (u.last_upload > 0)
    asr_fmt_cut(buf, n, "last upload %s ago", ago);
  else
    asr_fmt_cut(buf, n, "no upload since enrolment %s ago", ago);
  if (age >= l->upload_critical_after)
    return ASR_CHECK_CRITICAL;
  return age >= l->upload_warning_after ? ASR_CHECK_WARNING : ASR_CHECK_OK;
}

/* Text from a peer (the central's reason) for the line: printable ASCII, no '|'. */
static void safe_text(const char *src, char *dst, size_t cap, size_t cols)
{
  size_t i = 0;

  for (; src[i] && i + 1 < cap && i < cols; i++)
    dst[i] = src[i] >= 0x20 && src[i] < 0x7f && src[i] != '|' ? src[i] : '?';
  dst[i] = '\0';
}

/* "12.3 MB" (MB of 2^20 bytes, as outbox_max_mb). */
static void fmt_mb(int64_t bytes, char *buf, size_t n)
{
  asr_fmt_cut(buf, n, "%.1f MB", (double)bytes / (1 << 20));
}

/* Held batches: the central refused them (4xx); their readings wait for an operator. */
static asr_check_status check_held(asr_store *st, const asr_outbox_status *u, char *buf, size_t n,
                                   size_t *len, asr_result *r)
{
  char reason[ASR_OUTBOX_TEXT_MAX], clean[100];

  if (u->held_batches <= 0)
    return ASR_CHECK_OK;
  *r = asr_outbox_held_reason(st, reason, sizeof(reason));
  safe_text(*r ? "" : reason, clean, sizeof(clean), 80);
  asr_append(buf, n, len, "%s%lld batch%s held (%lld readings not delivered: %s)", *len ? ", " : "",
             (long long)u->held_batches, u->held_batches == 1 ? "" : "es",
             (long long)u->held_readings, clean[0] ? clean : "refused by the central");
  return ASR_CHECK_WARNING;
}

/* The outbox part (held batches, undelivered bytes against the bound), "" when fine. */
static asr_check_status check_outbox(asr_store *st, const asr_check_limits *l, char *buf, size_t n,
                                     asr_result *r)
{
  asr_outbox_status u;
  asr_check_status s;
  char have[32], bound[32];
  size_t len = 0;

  buf[0] = '\0';
  *r = asr_outbox_get_status(st, &u);
  if (*r)
    return ASR_CHECK_UNKNOWN;
  s = check_held(st, &u, buf, n, &len, r);
  fmt_mb(u.undelivered_bytes, have, sizeof(have));
  fmt_mb(l->outbox_max_bytes, bound, sizeof(bound));
  if (u.outbox_full || u.undelivered_bytes > l->outbox_max_bytes) {
    asr_append(buf, n, &len,
               "%soutbox full: %s of undelivered batches over its bound of %s (all kept, not"
               " sent)",
               len ? ", " : "", have, bound);
    return ASR_CHECK_CRITICAL;
  }
  if (u.undelivered_bytes * 100 >= l->outbox_max_bytes * ASR_HEALTH_OUTBOX_WARNING_PCT) {
    asr_append(buf, n, &len, "%soutbox %lld%% full (%s of undelivered batches, bound %s)",
               len ? ", " : "", (long long)(u.undelivered_bytes * 100 / l->outbox_max_bytes), have,
               bound);
    return ASR_CHECK_WARNING;
  }
  return s;
}

/* The disk of the database: when it is full, readings cannot be stored. "" when fine. */
static asr_check_status check_disk(const asr_store *st, char *buf, size_t n)
{
  char dir[512], left[32];
  int64_t free_bytes = 0;

  buf[0] = '\0';
  if (asr_store_free_space(st, &free_bytes, dir, sizeof(dir)) != ASR_OK ||
      free_bytes >= ASR_HEALTH_DISK_WARNING)
    return ASR_CHECK_OK;
  fmt_mb(free_bytes, left, sizeof(left));
  if (free_bytes < ASR_HEALTH_DISK_CRITICAL) {
    asr_fmt_cut(buf, n, "disk full: %s free in %s (readings cannot be stored)", left, dir);
    return ASR_CHECK_CRITICAL;
  }
  asr_fmt_cut(buf, n, "disk nearly full: %s free in %s", left, dir);
  return ASR_CHECK_WARNING;
}

/* What the central refused in the last week (issue 10), "" when nothing. */
static asr_check_status check_refused(asr_store *st, int64_t now, char *buf, size_t n,
                                      asr_result *r)
{
  asr_outbox_problems p;
  size_t len = 0;

  buf[0] = '\0';
  *r = asr_outbox_problems_since(st, now - ASR_HEALTH_PROBLEM_WINDOW, &p);
  if (*r || p.count == 0)
    return ASR_CHECK_OK;
  if (p.readings_refused > 0 || p.events_refused > 0)
    asr_append(buf, n, &len, "the central refused %lld reading%s and %lld event%s in 7 days",
               (long long)p.readings_refused, p.readings_refused == 1 ? "" : "s",
               (long long)p.events_refused, p.events_refused == 1 ? "" : "s");
  if (p.id_reused > 0)
    asr_append(buf, n, &len, "%s%lld batch id%s reused (restored or copied database?)",
               len ? ", " : "", (long long)p.id_reused, p.id_reused == 1 ? "" : "s");
  return ASR_CHECK_WARNING;
}

/* The printers part of the line and its status. */
static asr_check_status check_printers(const asr_events_counts *c, const flagged_ctx *f, char *buf,
                                       size_t n)
{
  size_t len = 0;

  buf[0] = '\0';
  if (c->disconnected)
    asr_append(buf, n, &len, "%lld disconnected printer%s (%s)", (long long)c->disconnected,
               c->disconnected == 1 ? "" : "s", f->names[0]);
  if (c->silent)
    asr_append(buf, n, &len, "%s%lld silent printer%s (%s)", len ? ", " : "", (long long)c->silent,
               c->silent == 1 ? "" : "s", f->names[1]);
  if (!c->silent && !c->disconnected)
    asr_append(buf, n, &len, "%lld printer%s active", (long long)c->active,
               c->active == 1 ? "" : "s");
  if (c->disconnected)
    return ASR_CHECK_CRITICAL;
  return c->silent ? ASR_CHECK_WARNING : ASR_CHECK_OK;
}

/* Appends ", part" to the line's text when the part says something. */
static void add_part(char *text, size_t n, size_t *len, const char *part)
{
  if (part[0])
    asr_append(text, n, len, "%s%s", *len ? ", " : "", part);
}

/* The parts after the printers and uploads: outbox, disk, configuration. */
static asr_check_status check_more(asr_store *st, const asr_check_limits *l, char *text, size_t n,
                                   size_t *len, asr_result *r)
{
  char part[600];
  asr_check_status s = check_outbox(st, l, part, sizeof(part), r);

  if (*r)
    return ASR_CHECK_UNKNOWN;
  add_part(text, n, len, part);
  s = worse(s, check_disk(st, part, sizeof(part)));
  add_part(text, n, len, part);
  if (l->config_problem && l->config_problem[0]) {
    safe_text(l->config_problem, part, sizeof(part), 300);
    asr_append(text, n, len, "%sconfiguration not used, defaults apply: %s", *len ? ", " : "",
               part);
    s = worse(s, ASR_CHECK_WARNING);
  }
  return s;
}

asr_check_status asr_health_check_limits(asr_store *st, const asr_check_limits *l, int64_t now,
                                         char *line, size_t n)
{
  static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
  asr_events_counts c;
  flagged_ctx f;
  char printers[600], upload[128], refused[200], text[2048];
  size_t len = 0;
  asr_check_status s;
  asr_result r = st ? asr_events_count_states(st, &c) : ASR_ERR_DB;

  memset(&f, 0, sizeof(f));
  if (!r)
    r = asr_events_foreach_flagged(st, add_flagged, &f);
  if (r) {
    asr_fmt_cut(line, n, "ASR-AGENT UNKNOWN - database not readable%s%s", st ? ": " : "",
                st ? asr_store_errmsg(st) : "");
    return ASR_CHECK_UNKNOWN;
  }
  s = check_printers(&c, &f, printers, sizeof(printers));
  s = worse(s, check_upload(st, l, now, upload, sizeof(upload), &r));
  text[0] = '\0';
  add_part(text, sizeof(text), &len, printers);
  add_part(text, sizeof(text), &len, upload);
  if (!r)
    s = worse(s, check_refused(st, now, refused, sizeof(refused), &r));
  if (!r)
    add_part(text, sizeof(text), &len, refused);
  if (!r)
    s = worse(s, check_more(st, l, text, sizeof(text), &len, &r));
  if (r) {
    asr_fmt_cut(line, n, "ASR-AGENT UNKNOWN - upload state not readable: %s", asr_store_errmsg(st));
    return ASR_CHECK_UNKNOWN;
  }
  asr_fmt_cut(line, n, "ASR-AGENT %s - %s | devices=%lld silent=%lld disconnected=%lld", names[s],
              text, (long long)c.devices, (long long)c.silent, (long long)c.disconnected);
  return s;
}

asr_check_status asr_health_check(asr_store *st, int64_t now, char *line, size_t n)
{
  asr_check_limits l;

  asr_check_limits_init(&l);
  return asr_health_check_limits(st, &l, now, line, n);
}
