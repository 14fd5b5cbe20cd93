/* ccli.h: the asr-central commands (asr-central(8)).
 *
 * main() picks a command by name; each command parses its own options, works through
 * cstore/server, prints results on stdout and diagnostics on stderr, and returns an
 * exit status. */
#ifndef ASR_CCLI_H
#define ASR_CCLI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/result.h"
#include "replenish/rules.h"

/* Exit statuses of asr-central (asr-central(8), EXIT STATUS). */
enum {
  CCLI_EXIT_OK = 0,
  CCLI_EXIT_FAILURE = 1, /* the command ran but failed: a site exists, no such site/agent */
  CCLI_EXIT_USAGE = 2,   /* bad command line */
  CCLI_EXIT_DB = 4,      /* the database cannot be opened, is locked or is newer */
  CCLI_EXIT_NETWORK = 5, /* serve: cannot listen, or the certificate or key is unusable */
  CCLI_EXIT_INTERNAL = 70
};

/* Each command: argv[0] is the command name. */
int ccli_serve(int argc, char **argv);
int ccli_site(int argc, char **argv);
int ccli_devices(int argc, char **argv);
int ccli_agent(int argc, char **argv);
int ccli_problems(int argc, char **argv);
int ccli_simulate(int argc, char **argv);
int ccli_meters(int argc, char **argv); /* central/ccli_meters.c */
int ccli_alerts(int argc, char **argv); /* central/ccli_alerts.c */

/* Output formats of meters and alerts (--format table|json|csv). */
enum { CCLI_FMT_TABLE, CCLI_FMT_JSON, CCLI_FMT_CSV };

/* --format's word into *fmt; -1 (message printed) when it is none of them. */
int ccli_parse_format(const char *s, int *fmt);

/* Prints one CSV field, quoted, quotes doubled, control characters as spaces, and a
 * leading = + - @ defused (spreadsheet formulas: device strings come from printers), then
 * sep. */
void ccli_csv_field(const char *v, const char *sep);

/* A printable copy of v for a table: control characters as '?', at most n - 1 bytes. */
const char *ccli_cell(const char *v, char *buf, size_t n);

struct cstore;

/* The replenishment commands (central/ccli_rp.c). */
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
#define CCLI_RP_NOPTS 12      /* serve's replenishment and mail options (rows) */
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

/* The staff accounts of the portal (central/ccli_staff.c). */
int ccli_staff(int argc, char **argv);

/* Queues the registration confirmation of contact (after site add, contact add) with the mail
 * options taken by ccli_rp_serve_option (--mail-from), and sends the outbox now when
 * --smtp-url was given; prints what went wrong. */
asr_result ccli_rp_registered(struct cstore *st, int64_t contact);

/* The contact and device commands (central/ccli_ct.c). */
int ccli_contact(int argc, char **argv);
int ccli_device(int argc, char **argv);

/* Opens the database of --db (required), printing the problem; for the commands. */
asr_result ccli_open_db(const char *path, struct cstore **st);

/* Prints "asr-central: MESSAGE" on stderr (diagnostics of the commands). */
void ccli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of a result. */
int ccli_exit_for(asr_result r);

/* Prints {"KEY": arr} (arr a JSON array) as indented JSON on stdout. */
void ccli_print_doc(const char *key, void *arr);

/* The devices document of `asr-central devices --format json` (of site, or all when
 * NULL) as a new JSON object {"devices": [...]}; NULL on error (message on stderr). */
void *ccli_devices_json(struct cstore *st, const char *site);

/* Routes asr_log() to stderr as "asr-central: LEVEL: message" at the given verbosity. */
void ccli_log_init(int verbose);

/* serve's replenishment rules (--rules, --disconnect-days), for the status pages:
 * CCLI_EXIT_OK, or CCLI_EXIT_USAGE after printing what is wrong. */
int ccli_rp_serve_conf(asr_rp_conf *out);

#endif
