/* calertmail.c: the alert mail settings (a table of groups with their defaults) and the
 * pass that decides each alert's mails (calertmail.h).
 *
 * Why the decision sits in the alert's row: a mail is queued in the outbox (its key unique)
 * and its decision marked in the same transaction, so a pass that dies half way leaves
 * either both or neither, and the next pass finds only what is still to decide. The
 * cleared notice goes to the recipients the raised mail went to (kept in the row), so a
 * change of settings between the two never sends a "cleared" to someone who never heard
 * of the alert. */
#include "central/calertmail.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/calerts.h"
#include "central/engine.h"
#include "central/mail.h"
#include "common/log.h"
#include "common/util.h"
#include "wire/smtp.h"

/* The PrtAlertGroupTC groups (RFC 3805, the names snmp/alerts.c gives) and who hears of a
 * critical alert of each by default. The agent sends only critical alerts (snmp/alerts.c:
 * service required, persisting jams and open covers, empty toner...): a group whose
 * alerts a person on site can act on mails the supplies contact, one that needs a
 * technician the service address; console, interpreter and channel alerts mail nobody. */
static const struct {
  const char *group;
  calert_to dflt;
} groups[CALERT_GROUPS] = {
    {"other", CALERT_TO_SERVICE},
    {"hostResourcesMIBStorageTable", CALERT_TO_SERVICE}, /* disk, memory */
    {"hostResourcesMIBDeviceTable", CALERT_TO_SERVICE},
    {"generalPrinter", CALERT_TO_SERVICE}, /* service required, unrecoverable failures */
    {"cover", CALERT_TO_CONTACT},          /* a cover or door left open */
    {"localization", CALERT_TO_NOBODY},
    {"input", CALERT_TO_CONTACT},          /* trays: missing, empty */
    {"output", CALERT_TO_CONTACT},         /* output bins full */
    {"marker", CALERT_TO_SERVICE},         /* fuser, print engine */
    {"markerSupplies", CALERT_TO_CONTACT}, /* toner, ink, waste: the supplies contact */
    {"markerColorant", CALERT_TO_CONTACT},
    {"mediaPath", CALERT_TO_CONTACT}, /* paper jams */
    {"channel", CALERT_TO_NOBODY},
    {"interpreter", CALERT_TO_NOBODY},
    {"consoleDisplayBuffer", CALERT_TO_NOBODY},
    {"consoleLights", CALERT_TO_NOBODY},
    {"alert", CALERT_TO_NOBODY},
    {"finDevice", CALERT_TO_SERVICE},           /* finisher failures */
    {"finSupply", CALERT_TO_CONTACT},           /* staples, punch waste */
    {"finSupplyMediaInput", CALERT_TO_CONTACT}, /* inserter trays */
    {"finAttribute", CALERT_TO_SERVICE},
    {"unknown", CALERT_TO_SERVICE}, /* any other group (a number the agent could not name) */
};

#define UNKNOWN_ROW (CALERT_GROUPS - 1)
#define PREFIX "alert_mail."
#define ROUND_MAX 32 /* alerts decided in one transaction */

static const char *const to_names[] = {"none", "contact", "service", "both"};

void calert_conf_default(calert_conf *c)
{
  memset(c, 0, sizeof(*c));
  for (size_t i = 0; i < CALERT_GROUPS; i++)
    c->to[i] = groups[i].dflt;
  c->mails_per_day = CALERT_MAILS_PER_DAY;
}

const char *calert_to_str(calert_to t)
{
  return (unsigned)t < 4 ? to_names[t] : "none";
}

const char *calert_group_name(size_t i, calert_to *dflt)
{
  if (i >= CALERT_GROUPS)
    return NULL;
  if (dflt)
    *dflt = groups[i].dflt;
  return groups[i].group;
}

static size_t group_row(const char *group)
{
  for (size_t i = 0; group && i < UNKNOWN_ROW; i++) {
    if (strcmp(groups[i].group, group) == 0)
      return i;
  }
  return UNKNOWN_ROW;
}

calert_to calert_route(const calert_conf *c, const char *group)
{
  return c->to[group_row(group)];
}

static asr_result conf_error(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the message of a bad setting into err; ASR_ERR_INVALID. */
static asr_result conf_error(char *err, size_t n, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  if (n > 0 && vsnprintf(err, n, fmt, ap) < 0)
    err[0] = '\0';
  va_end(ap);
  return ASR_ERR_INVALID;
}

static asr_result set_group(calert_conf *c, const char *name, const char *value, char *err,
                            size_t n)
{
  const char *g = name + strlen(PREFIX);
  size_t row = group_row(g);

  if (row == UNKNOWN_ROW && strcmp(g, "unknown") != 0) {
    asr_fmt_cut(err, n,
                "%s: unknown alert group '%s' (a PrtAlertGroupTC name such as cover, "
                "markerSupplies, mediaPath, generalPrinter, or unknown; docs/meters.md)",
                name, g);
    return ASR_ERR_INVALID;
  }
  for (size_t i = 0; i < 4; i++) {
    if (strcmp(value, to_names[i]) == 0) {
      c->to[row] = (calert_to)i;
      return ASR_OK;
    }
  }
  return conf_error(err, n, "%s: '%s' is not contact, service, both or none", name, value);
}

asr_result calert_conf_set(calert_conf *c, const char *name, const char *value, char *err, size_t n)
{
  unsigned v = 0;

  if (strncmp(name, PREFIX, strlen(PREFIX)) == 0)
    return set_group(c, name, value, err, n);
  if (strcmp(name, "alert_service_address") == 0) {
    if (*value && !asr_smtp_address_ok(value))
      return conf_error(err, n, "%s: '%s' is not a plain e-mail address (local@domain)", name,
                        value);
    return asr_strlcpy(c->service, value, sizeof(c->service)) ? ASR_ERR_INVALID : ASR_OK;
  }
  if (strcmp(name, "alert_mails_per_day") == 0) {
    if (asr_parse_uint(value, 1, CALERT_MAILS_PER_DAY_MAX, &v) != ASR_OK)
      return conf_error(err, n, "%s: '%s' is not a whole number from 1 to %d", name, value,
                        CALERT_MAILS_PER_DAY_MAX);
    c->mails_per_day = (int)v;
    return ASR_OK;
  }
  return ASR_ERR_NOT_FOUND;
}

/* ---------------------------------------------------------------------------------------
 * The pass. */

/* An alert due a decision, copied out of the query (its strings die with the row). */
typedef struct {
  int64_t id, device_id, site_id, group_index, raised_at, cleared_at;
  char site[CSTORE_NAME_MAX], serial[CSTORE_NAME_MAX], model[CSTORE_NAME_MAX];
  char ip[CSTORE_NAME_MAX], severity[CALERTS_WORD_MAX], code[CALERTS_WORD_MAX];
  char group[CALERTS_WORD_MAX], description[CALERTS_TEXT_MAX];
  char raise_mail[16], clear_mail[16], mail_to[CALERTS_MAIL_TO_MAX];
  char contact[CSTORE_NAME_MAX], contact_name[CSTORE_NAME_MAX];
} due_alert;

typedef struct {
  due_alert *rows;
  size_t n;
} due_list;

static int copy_due(const calerts_row *a, void *ctx)
{
  due_list *l = ctx;
  due_alert *d = &l->rows[l->n];

  if (l->n >= ROUND_MAX)
    return 1;
  memset(d, 0, sizeof(*d));
  *d = (due_alert){.id = a->id,
                   .device_id = a->device_id,
                   .site_id = a->site_id,
                   .group_index = a->group_index,
                   .raised_at = a->raised_at,
                   .cleared_at = a->cleared_at};
  /* each value fits its buffer (the store's bounds); a longer one is cut, not fatal */
  if (asr_strlcpy(d->site, a->site, sizeof(d->site)) ||
      asr_strlcpy(d->serial, a->serial, sizeof(d->serial)) ||
      asr_strlcpy(d->model, a->model, sizeof(d->model)) ||
      asr_strlcpy(d->ip, a->ip, sizeof(d->ip)) ||
      asr_strlcpy(d->severity, a->severity, sizeof(d->severity)) ||
      asr_strlcpy(d->code, a->code, sizeof(d->code)) ||
      asr_strlcpy(d->group, a->group, sizeof(d->group)) ||
      asr_strlcpy(d->description, a->description, sizeof(d->description)) ||
      asr_strlcpy(d->raise_mail, a->raise_mail, sizeof(d->raise_mail)) ||
      asr_strlcpy(d->clear_mail, a->clear_mail, sizeof(d->clear_mail)) ||
      asr_strlcpy(d->mail_to, a->mail_to, sizeof(d->mail_to)) ||
      asr_strlcpy(d->contact, a->contact, sizeof(d->contact)) ||
      asr_strlcpy(d->contact_name, a->contact_name, sizeof(d->contact_name)))
    asr_log(ASR_LOG_WARN, "alert %lld: a long value was cut for its mail", (long long)a->id);
  l->n++;
  return 0;
}

typedef struct {
  cstore *st;
  const calert_conf *c;
  const char *from;
  int64_t now, instance;
  calert_mail_report *rep;
} pass;

/* Composes the mail of kind about d to rcpt (as the contact, or the service address) and
 * queues it under its key. A mail that cannot be composed is logged and counted. */
static asr_result queue_one(pass *p, const due_alert *d, cmail_kind kind, const char *rcpt,
                            bool service)
{
  char key[128], *msg = NULL;
  size_t len = 0;
  bool added = false;
  cmail_alert a = {d->serial, d->model,       d->ip,          d->severity,  d->code,
                   d->group,  d->description, d->group_index, d->raised_at, d->cleared_at};
  cmail_notice n = {.kind = kind,
                    .from = p->from,
                    .to = rcpt,
                    .site = d->site,
                    .now = p->now,
                    .msgid_key = key,
                    .contact_name = service ? NULL : d->contact_name,
                    .alert = &a,
                    .to_service = service};
  asr_result r = asr_fmt(key, sizeof(key), "%llx-alert-%lld-%s-%s", (unsigned long long)p->instance,
                         (long long)d->id, kind == CMAIL_ALERT_RAISED ? "raised" : "cleared",
                         service ? "service" : "contact");

  if (!r)
    r = cmail_compose(&n, &msg, &len);
  if (r == ASR_ERR_NOMEM)
    return r;
  if (r) {
    asr_log(ASR_LOG_WARN, "alert %lld: cannot compose the %s mail to '%s': %s", (long long)d->id,
            cmail_kind_str(kind), rcpt, asr_result_str(r));
    p->rep->errors++;
    return ASR_OK;
  }
  r = cstore_outbox_add(p->st, key, d->site_id, rcpt, cmail_kind_str(kind), msg, len, p->now,
                        &added);
  p->rep->mails += !r && added;
  free(msg);
  return r;
}

/* The recipients of d's raised mail as "contact:ADDRESS service:ADDRESS" ("" for none). */
static void recipients(const pass *p, const due_alert *d, char *out, size_t n)
{
  calert_to to = calert_route(p->c, d->group);
  size_t len = 0;

  out[0] = '\0';
  if ((to & CALERT_TO_CONTACT) && asr_smtp_address_ok(d->contact) &&
      asr_append(out, n, &len, "contact:%s", d->contact) != ASR_OK)
    out[0] = '\0';
  if ((to & CALERT_TO_SERVICE) && p->c->service[0] &&
      asr_append(out, n, &len, "%sservice:%s", len ? " " : "", p->c->service) != ASR_OK)
    out[0] = '\0';
}

/* Queues kind to every "ROLE:ADDRESS" of list. */
static asr_result queue_all(pass *p, const due_alert *d, cmail_kind kind, const char *list)
{
  char buf[CALERTS_MAIL_TO_MAX];
  asr_result r = asr_strlcpy(buf, list, sizeof(buf));

  for (char *save = NULL, *tok = r ? NULL : strtok_r(buf, " ", &save); !r && tok;
       tok = strtok_r(NULL, " ", &save)) {
    bool service = strncmp(tok, "service:", 8) == 0;
    const char *addr = strchr(tok, ':');
    if (addr)
      r = queue_one(p, d, kind, addr + 1, service);
  }
  return r;
}

/* The raised mail of d: to its group's recipients, unless there are none or the device's
 * mails of the last 24 hours are spent. The recipients land in d->mail_to. */
static asr_result decide_raise(pass *p, due_alert *d)
{
  int64_t sent = 0;
  const char *state = CALERTS_MAIL_QUEUED;
  asr_result r = ASR_OK;

  recipients(p, d, d->mail_to, sizeof(d->mail_to));
  if (!d->mail_to[0])
    state = CALERTS_MAIL_NOBODY;
  else if ((r = calerts_mails_since(p->st, d->device_id, p->now - 86400, &sent)) == ASR_OK &&
           sent >= p->c->mails_per_day)
    state = CALERTS_MAIL_CAPPED;
  if (!r && strcmp(state, CALERTS_MAIL_QUEUED) == 0)
    r = queue_all(p, d, CMAIL_ALERT_RAISED, d->mail_to);
  else if (!r)
    d->mail_to[0] = '\0';
  if (!r && strcmp(state, CALERTS_MAIL_CAPPED) == 0)
    asr_log(ASR_LOG_WARN,
            "alert %lld of site %s: not mailed: its device had %d alert mails in"
            " the last 24 hours (alert_mails_per_day)",
            (long long)d->id, d->site, p->c->mails_per_day);
  if (!r)
    r = calerts_mark_raise(p->st, d->id, state, p->now, d->mail_to);
  if (!r)
    r = asr_strlcpy(d->raise_mail, state, sizeof(d->raise_mail));
  return r;
}

/* One alert: its raised mail if still due, then its cleared notice if it cleared. */
static asr_result decide(pass *p, due_alert *d)
{
  asr_result r = ASR_OK;

  if (strcmp(d->raise_mail, CALERTS_MAIL_DUE) == 0)
    r = decide_raise(p, d);
  p->rep->decided += !r;
  if (r || d->cleared_at == 0 || strcmp(d->clear_mail, CALERTS_MAIL_DUE) != 0)
    return r;
  if (strcmp(d->raise_mail, CALERTS_MAIL_QUEUED) != 0)
    return calerts_mark_clear(p->st, d->id, CALERTS_MAIL_NOBODY);
  r = queue_all(p, d, CMAIL_ALERT_CLEARED, d->mail_to);
  return r ? r : calerts_mark_clear(p->st, d->id, CALERTS_MAIL_QUEUED);
}

/* One transaction: up to ROUND_MAX alerts decided; *more when there may be others. */
static asr_result round_once(pass *p, due_list *l, bool *more)
{
  asr_result r = cstore_tx_begin(p->st);

  l->n = 0;
  *more = false;
  if (!r)
    r = cstore_rp_instance(p->st, &p->instance);
  if (!r)
    r = calerts_due(p->st, ROUND_MAX, copy_due, l);
  for (size_t i = 0; !r && i < l->n; i++)
    r = decide(p, &l->rows[i]);
  if (!r)
    r = cstore_tx_commit(p->st);
  if (r)
    cstore_tx_rollback(p->st);
  *more = !r && l->n == ROUND_MAX;
  return r;
}

static int count_one(const calerts_row *a, void *ctx)
{
  (void)a;
  ++*(size_t *)ctx;
  return 0;
}

asr_result calert_mail_queue(cstore *st, const calert_conf *c, const char *from, int64_t now,
                             calert_mail_report *rep)
{
  pass p = {st, c, from && from[0] ? from : CENGINE_DEFAULT_FROM, now, 0, rep};
  due_list l = {NULL, 0};
  size_t due = 0;
  bool more = true;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  /* serve calls this every second: a read first, the write lock only when there is work */
  r = calerts_due(st, 1, count_one, &due);
  if (r || due == 0)
    return r;
  l.rows = calloc(ROUND_MAX, sizeof(due_alert));
  r = l.rows ? ASR_OK : ASR_ERR_NOMEM;
  while (!r && more)
    r = round_once(&p, &l, &more);
  free(l.rows);
  return r;
}
