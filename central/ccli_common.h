/* ccli_common.h: what every asr-central command shares: its exit statuses, its messages on
 * stderr, the database of --db, JSON on stdout and the log's routing. The commands
 * (ccli.c, ccli_rp.c, ccli_ct.c, ccli_meters.c, csiteconf.c) call these and never each
 * other's files, so that no command file depends on another in a circle. */
#ifndef ASR_CCLI_COMMON_H
#define ASR_CCLI_COMMON_H

#include "common/result.h"

/* Exit statuses of asr-central (asr-central(8), EXIT STATUS). */
enum {
  CCLI_EXIT_OK = 0,
  CCLI_EXIT_FAILURE = 1, /* the command ran but failed: a site exists, no such site/agent */
  CCLI_EXIT_USAGE = 2,   /* bad command line */
  CCLI_EXIT_DB = 4,      /* the database cannot be opened, is locked or is newer */
  CCLI_EXIT_NETWORK = 5, /* serve: cannot listen, or the certificate or key is unusable */
  CCLI_EXIT_INTERNAL = 70
};

struct cstore;
struct json_t;

/* Opens the database of --db (required: a SQLite file or a PostgreSQL URI), printing the
 * problem; for the commands. */
asr_result ccli_open_db(const char *path, struct cstore **st);

/* --db-password-file FILE, taken by every command that takes --db: its getopt_long row
 * {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE} hands the value
 * to ccli_db_password_file. CCLI_OPT_SECRETS_KEY_FILE: --secrets-key-file FILE, the
 * commands that seal or open secrets (site config, serve: csiteconf.h). */
enum { CCLI_OPT_DB_PASSWORD_FILE = 500, CCLI_OPT_SECRETS_KEY_FILE = 501 };

/* Takes --db-password-file's FILE: the PostgreSQL password's file for every database the
 * command opens (cstore_set_password_file; its mode is checked when it is read). 0, or -1
 * with the message printed. */
int ccli_db_password_file(const char *path);

/* Prints "asr-central: MESSAGE" on stderr (diagnostics of the commands). */
void ccli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of a result. */
int ccli_exit_for(asr_result r);

/* Prints {"KEY": arr} (arr a JSON array) as indented JSON on stdout. */
void ccli_print_doc(const char *key, void *arr);

/* A listing's JSON rows: a new array in *rows for CCLI_FMT_JSON (ASR_ERR_NOMEM when none
 * can be made), NULL for the other formats. */
asr_result ccli_rows_new(int fmt, struct json_t **rows);

/* Ends a listing command: r's message on stderr (out of memory, or st's), else
 * {"KEY": rows} on stdout when there are rows (JSON); frees rows, closes st, and returns
 * r's exit status. */
int ccli_rows_end(asr_result r, struct cstore *st, const char *key, struct json_t *rows);

/* Output formats of the commands that have three (--format table|json|csv). */
enum { CCLI_FMT_TABLE, CCLI_FMT_JSON, CCLI_FMT_CSV };

/* --format's word into *fmt; -1 (message printed) when it is none of them. */
int ccli_parse_format(const char *s, int *fmt);

/* Prints one CSV field, quoted, quotes doubled, unsafe characters (common/text.h) as '?'
 * and line breaks as spaces, and a leading = + - @ defused (spreadsheet formulas: device
 * strings come from printers), then sep. */
void ccli_csv_field(const char *v, const char *sep);

/* Routes asr_log() to stderr as "asr-central: LEVEL: message" at the given verbosity. */
void ccli_log_init(int verbose);

#endif
