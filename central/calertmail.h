/* calertmail.h: who hears of a printer's alert, and the mails that tell them (issue 16;
 * docs/meters.md, "Alert mails").
 *
 * Each PrtAlertGroupTC group (the alert's group, as the agent names it) mails the device's
 * supplies contact, the provider's service address, both, or nobody: a table of defaults
 * (calertmail.c, one row per group), changed by "alert_mail.GROUP = contact|service|both|
 * none" lines of asr-central's rules file (central/rulesconf.c), which also holds
 * "alert_service_address = ADDRESS" and "alert_mails_per_day = N". An alert gets one mail
 * per recipient when it is raised and one "cleared" notice to the same recipients when it
 * clears: each is decided once (central/calerts.c keeps the decision in the alert's row,
 * in the same transaction as the outbox row: central/notify.c sends it), so a batch sent
 * again, two batches or a restart never mail twice. */
#ifndef ASR_CALERTMAIL_H
#define ASR_CALERTMAIL_H

#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"

/* Who hears of an alert of a group. */
typedef enum {
  CALERT_TO_NOBODY = 0,
  CALERT_TO_CONTACT = 1, /* the device's supplies contact */
  CALERT_TO_SERVICE = 2, /* the provider's service address */
  CALERT_TO_BOTH = 3
} calert_to;

#define CALERT_GROUPS 22        /* the table's rows: 21 PrtAlertGroupTC names + "unknown" */
#define CALERT_MAILS_PER_DAY 20 /* default: raised mails of one device in 24 hours */
#define CALERT_MAILS_PER_DAY_MAX 1000

/* The alert mail settings. */
typedef struct {
  calert_to to[CALERT_GROUPS];   /* by row of the groups table */
  char service[CSTORE_NAME_MAX]; /* the service address, "" when none */
  int mails_per_day;             /* per device; a raise past it is not mailed ("capped") */
} calert_conf;

/* The defaults (the table's), no service address. */
void calert_conf_default(calert_conf *c);

/* Sets one setting of the rules file: "alert_mail.GROUP" (a group name of the table, or
 * "unknown" for any other), "alert_service_address", "alert_mails_per_day".
 * ASR_ERR_NOT_FOUND when name is none of them (nothing written to err), ASR_ERR_INVALID
 * with err saying why for a bad group or value. */
asr_result calert_conf_set(calert_conf *c, const char *name, const char *value, char *err,
                           size_t n);

/* Who hears of an alert of group (a group name, "group N", or "" when unknown). */
calert_to calert_route(const calert_conf *c, const char *group);

/* "none", "contact", "service", "both" (the rules file's words). */
const char *calert_to_str(calert_to t);

/* The row i (0 .. CALERT_GROUPS-1) of the groups table: its name and default. */
const char *calert_group_name(size_t i, calert_to *dflt);

/* What one calert_mail_queue did. */
typedef struct {
  size_t mails;   /* mails queued in the outbox */
  size_t decided; /* alert mails decided (queued, to nobody, capped) */
  size_t errors;  /* mails that could not be composed (logged) */
} calert_mail_report;

/* Decides every alert mail still to decide at now (raised mails, cleared notices), queuing
 * the mails in the outbox from address from (NULL: CENGINE_DEFAULT_FROM), in transactions
 * of a few dozen alerts. */
asr_result calert_mail_queue(cstore *st, const calert_conf *c, const char *from, int64_t now,
                             calert_mail_report *rep);

#endif
