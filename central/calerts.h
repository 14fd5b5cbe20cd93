/* calerts.h: device alerts at asr-central (central schema step 10; docs/meters.md, "Alerts
 * at the central").
 *
 * The agent tracks each printer's prtAlertTable across polls and sends a critical alert as
 * an event "alert:KEY" when it is raised and "alert_cleared:KEY" when it clears (KEY: the
 * agent's content key of the alert; docs/protocol.md, "Alert events"). Here those events
 * become one row per alert occurrence of a device: raised and cleared times, severity,
 * group, code and description (parsed from the raise event's detail, cleaned: printers'
 * strings are hostile). The same event sent twice (a re-sent batch, two batches) is one
 * alert: a raise while the alert is open, or inside an occurrence already cleared, changes
 * nothing; a clear closes the open occurrence raised at or before it (or, when the agent's
 * clock went back, after it: at its raise time). Each row also keeps
 * what became of its two mails (central/calertmail.c queues them): the "raised" mail and
 * the "cleared" notice, each decided once. */
#ifndef ASR_CALERTS_H
#define ASR_CALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"

#define CALERTS_KEY_MAX 64      /* bytes of an alert key ([A-Za-z0-9._-]) */
#define CALERTS_OPEN_MAX 100    /* open alerts tracked per device (the agent keeps 32 a poll) */
#define CALERTS_WORD_MAX 48     /* bytes of a severity, code or group name */
#define CALERTS_TEXT_MAX 256    /* bytes of a description or summary (the detail: 255) */
#define CALERTS_MAIL_TO_MAX 560 /* "contact:ADDRESS service:ADDRESS" of a raised mail */

/* The SQL of schema step 10 (central/cstore.c lists it among its steps). */
extern const char calerts_schema_sql[];

/* What became of one of an alert's mails. */
#define CALERTS_MAIL_DUE "due"       /* not decided yet */
#define CALERTS_MAIL_QUEUED "queued" /* in the outbox (sent or on its way) */
#define CALERTS_MAIL_NOBODY "nobody" /* its group mails nobody, or no recipient is known */
#define CALERTS_MAIL_CAPPED "capped" /* the device's alert mails of the day were spent */

/* What calerts_apply did with a batch's alert events. */
typedef struct {
  size_t raised;    /* new alerts */
  size_t cleared;   /* alerts cleared */
  size_t untracked; /* raises not tracked: their device had CALERTS_OPEN_MAX open alerts */
} calerts_applied;

/* Tracks the alert events of batch b of an agent of site site_id (inside cstore_apply's
 * transaction, after the events were stored): raise and clear events in time order,
 * idempotent. Other events are left alone. */
asr_result calerts_apply(cstore *st, int64_t site_id, const cstore_batch *b, calerts_applied *out);

/* Parses the key of an alert event kind: *clear tells "alert_cleared:" from "alert:", *key
 * points into kind. False when kind is no alert event or its key is malformed. */
bool calerts_kind(const char *kind, bool *clear, const char **key);

/* The parts of a raise event's detail ("critical markerTonerEmpty (markerSupplies 1): Toner
 * empty"), cleaned: valid UTF-8, no control or bidi-override characters. A detail that does
 * not parse keeps empty names and the whole (cleaned) text as its description. */
typedef struct {
  char severity[CALERTS_WORD_MAX], code[CALERTS_WORD_MAX], group[CALERTS_WORD_MAX];
  int64_t group_index; /* -1 when not given */
  char description[CALERTS_TEXT_MAX], summary[CALERTS_TEXT_MAX];
} calerts_detail;

void calerts_parse_detail(const char *detail, calerts_detail *out);

/* One alert (strings live while the callback runs; "" when unknown). */
typedef struct {
  int64_t id, device_id, site_id;
  const char *site, *device, *serial, *model, *ip; /* device: the device's key */
  const char *severity, *code, *group, *description, *summary;
  int64_t group_index;                 /* -1 when not given */
  int64_t raised_at, cleared_at;       /* cleared_at 0: open */
  const char *raise_mail, *clear_mail; /* CALERTS_MAIL_* */
  const char *mail_to;                 /* recipients of the raised mail, space separated */
  const char *contact, *contact_name;  /* the device's supplies contact (e-mail, name) */
} calerts_row;

typedef int (*calerts_cb)(const calerts_row *a, void *ctx);

/* Calls cb per alert (of site when not NULL; open ones only when open_only), by site,
 * device key and time raised; cb returning non-zero stops. ASR_ERR_NOT_FOUND (errmsg "no
 * such site 'X'") when site names no site. */
asr_result calerts_foreach(cstore *st, const char *site, bool open_only, calerts_cb cb, void *ctx);

/* Calls cb for at most max alerts with a mail still to decide (the raised mail, or the
 * cleared notice of a cleared alert), oldest first; the caller decides them with
 * calerts_mark_* in the same transaction. */
asr_result calerts_due(cstore *st, size_t max, calerts_cb cb, void *ctx);

/* Records the decision on alert id's raised mail (state, when, the recipients or ""). */
asr_result calerts_mark_raise(cstore *st, int64_t id, const char *state, int64_t now,
                              const char *mail_to);

/* Records the decision on alert id's cleared notice. */
asr_result calerts_mark_clear(cstore *st, int64_t id, const char *state);

/* The raised mails of device dev queued since time since. */
asr_result calerts_mails_since(cstore *st, int64_t dev, int64_t since, int64_t *n);

#endif
