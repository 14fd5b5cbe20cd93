/* ccli_rp.h: the replenishment commands (central/ccli_rp.c: replenish, orders, order,
 * mail) and what serve takes from them: its replenishment and mail options, its daily
 * thread, the registration mails of the site and contact commands. */
#ifndef ASR_CCLI_RP_H
#define ASR_CCLI_RP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/ccli_common.h"
#include "replenish/rules.h"

/* Each command: argv[0] is the command name. */
int ccli_replenish(int argc, char **argv);
int ccli_orders(int argc, char **argv);
int ccli_order(int argc, char **argv);
int ccli_mail(int argc, char **argv);

/* serve's replenishment options (ccli_rp_longopts, CCLI_OPT_* values): takes one into the
 * serve settings; -1 when c is not one of them, -2 on a bad value (message printed). */
enum {
  CCLI_OPT_RULES = 400,
  CCLI_OPT_DISCONNECT_DAYS,
  CCLI_OPT_MAIL_FROM,
  CCLI_OPT_SMTP_URL,
  CCLI_OPT_SMTP_USER,
  CCLI_OPT_SMTP_PASSWORD_FILE,
  CCLI_OPT_SMTP_CA_FILE,
  CCLI_OPT_SMTP_STARTTLS,
  CCLI_OPT_MAIL_INTERVAL,
  CCLI_OPT_NO_REPLENISH,
  CCLI_OPT_RETENTION_DAYS,
  CCLI_OPT_ROLLUP_DAYS,
};
#define CCLI_MAIL_INTERVAL 60 /* seconds between two flushes of the outbox in serve */
#define CCLI_RP_NOPTS 13      /* serve's replenishment and mail options, --db-password-file */
struct option;
/* Writes the nown rows of own, then the CCLI_RP_NOPTS rows of serve's replenishment and
 * mail options (getopt_long rows) and the zero row into all, which has room for cap rows (nown +
 * CCLI_RP_NOPTS + 1 are needed); false (all untouched) when they do not fit. */
bool ccli_rp_merge_options(struct option *all, size_t cap, const struct option *own, size_t nown);
int ccli_rp_serve_option(int c, const char *arg);

/* Starts serve's thread (engine once a day on the injectable clock, outbox flushes) on the
 * database db with the options taken so far; an exit status. */
int ccli_rp_start(const char *db);

/* Stops that thread (no effect when not started). */
void ccli_rp_stop(void);

/* Asks that thread to send the outbox at its next tick (the portal's sign-in links; ctx
 * unused), and serve's --mail-from (NULL when not given). */
void ccli_rp_kick(void *ctx);
const char *ccli_rp_mail_from(void);

/* Queues the registration confirmation of contact (after site add, contact add) with the mail
 * options taken by ccli_rp_serve_option (--mail-from), and sends the outbox now when
 * --smtp-url was given; prints what went wrong. */
asr_result ccli_rp_registered(struct cstore *st, int64_t contact);

/* serve's replenishment rules (--rules, --disconnect-days), for the status pages:
 * CCLI_EXIT_OK, or CCLI_EXIT_USAGE after printing what is wrong. */
int ccli_rp_serve_conf(asr_rp_conf *out);

#endif
