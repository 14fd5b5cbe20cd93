/* cli.h: the asr-agent commands and what they share.
 *
 * main() picks a command by name; each command parses its own options, does its work
 * through the library (agent/ops.h and the modules), prints results on stdout and
 * diagnostics on stderr, and returns an exit status (documented in asr-agent(8)). */
#ifndef ASR_CLI_H
#define ASR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/ops.h"
#include "common/cred.h"
#include "common/result.h"
#include "snmp/scan.h"

/* Exit statuses of asr-agent (asr-agent(8), EXIT STATUS). */
enum {
  ASR_EXIT_OK = 0,
  ASR_EXIT_FAILURE = 1,      /* the command ran but some work failed (e.g. devices not polled) */
  ASR_EXIT_USAGE = 2,        /* bad command line or bad target */
  ASR_EXIT_INPUT = 3,        /* an input file is unreadable or does not parse */
  ASR_EXIT_DB = 4,           /* the database cannot be opened, is locked or is newer */
  ASR_EXIT_NETWORK = 5,      /* nothing answered: no printer found or reachable */
  ASR_EXIT_DAMAGED = 7,      /* the database is damaged or empty: nothing was written to it */
  ASR_EXIT_NOSPACE = 8,      /* the disk (or quota) of the database is full: nothing lost */
  ASR_EXIT_INTERNAL = 70,    /* out of memory or another internal error */
  ASR_EXIT_INTERRUPTED = 130 /* Ctrl-C (128 + SIGINT, as shells report it) */
};

/* Each command: argv[0] is the command name. */
int asr_cmd_discover(int argc, char **argv);
int asr_cmd_poll(int argc, char **argv);
int asr_cmd_status(int argc, char **argv);
int asr_cmd_meters(int argc, char **argv);
int asr_cmd_inspect(int argc, char **argv);
int asr_cmd_enroll(int argc, char **argv);
int asr_cmd_upload(int argc, char **argv);
int asr_cmd_run(int argc, char **argv);
int asr_cmd_config(int argc, char **argv);
int asr_cmd_service(int argc, char **argv);

/* Prints "asr-agent: " + message on stderr; when the program logs to a service's log
 * (asr_log_has_sink: the daemon under systemd, syslog, the Windows service), logs the
 * message at error level instead, without the prefix. */
void asr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same for a summary line ("polled 3 devices: ..."), logged at info level. */
void asr_cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a result code. */
int asr_cli_exit_for(asr_result r);

/* The database path: the --db value if given, else $ASR_AGENT_DB, else the default
 * under the state directory. */
const char *asr_cli_db_path(const char *opt);

struct asr_store;

/* How a command treats a database path that does not exist. */
typedef enum {
  ASR_CLI_DB_EXISTING = 0, /* status, poll, upload: a --db PATH must exist */
  ASR_CLI_DB_CREATE        /* discover, enroll: may create a --db file, in an existing folder */
} asr_cli_db_mode;

/* Opens the command's database (asr_cli_db_path(opt)). The default location ($ASR_AGENT_DB,
 * else the state directory) is created with its folder when missing; a path named with
 * --db is never guessed at: it must exist, or with ASR_CLI_DB_CREATE its folder must (a
 * typo does not silently start an empty database). Prints the problem; returns -1 to go
 * on, else the exit status (4 for a database that cannot be used). */
int asr_cli_open_store(const char *opt, asr_cli_db_mode mode, struct asr_store **st);

/* The problem with a --db path before opening it: "" when it may be opened, else the
 * message (into msg, n bytes) and false. */
bool asr_cli_db_usable(const char *opt, asr_cli_db_mode mode, char *msg, size_t n);

/* True when stdout (fd 1) / stderr (fd 2) is a terminal. */
int asr_cli_isatty(int fd);

/* Long options shared by the commands (getopt_long codes). */
enum {
  ASR_OPT_HELP = 'h',
  ASR_OPT_COMMUNITY = 256,
  ASR_OPT_SNMP_VERSION,
  ASR_OPT_V3_USER,
  ASR_OPT_V3_AUTH_PROTO,
  ASR_OPT_V3_PRIV_PROTO,
  ASR_OPT_V3_CONTEXT,
  ASR_OPT_V3_AUTH_PASS_FILE,
  ASR_OPT_V3_PRIV_PASS_FILE,
  ASR_OPT_PORT,
  ASR_OPT_TIMEOUT,
  ASR_OPT_RETRIES,
  ASR_OPT_CONCURRENCY,
  ASR_OPT_FORMAT,
  ASR_OPT_ALL,
  ASR_OPT_DB,
  ASR_OPT_NO_SAVE,
  ASR_OPT_FORCE,
  ASR_OPT_VERBOSE,
  ASR_OPT_QUIET,
  ASR_OPT_NO_PROGRESS,
  ASR_OPT_RATE,
  ASR_OPT_EXCLUDE,
  ASR_OPT_TARGETS_FROM,
  ASR_OPT_TARGET_COMMUNITY,
  ASR_OPT_HOST_DEADLINE,
  ASR_OPT_DEADLINE,
};

#define ASR_CLI_COMMUNITIES_MAX 16

/* The SNMP settings of a command line: credentials to try and engine options. */
typedef struct {
  asr_scan_opts scan;
  unsigned port;
  asr_snmp_version version; /* for communities: v1 or v2c */
  const char *communities[ASR_CLI_COMMUNITIES_MAX];
  size_t n_communities;
  const char *v3_user, *v3_auth, *v3_priv, *v3_context;
  const char *v3_auth_file, *v3_priv_file;
  asr_snmp_cred creds[ASR_CLI_COMMUNITIES_MAX + 1];
  size_t n_creds;
} asr_cli_snmp;

/* Sets defaults (community "public", v2c, port 161, timeout 1000 ms, retries 1, the
 * default host deadline, no run deadline, no tick). */
void asr_cli_snmp_init(asr_cli_snmp *s);

/* Takes one SNMP option (an ASR_OPT_* code and its argument): --timeout MS, --retries N,
 * --concurrency N, --host-deadline MS, --deadline DURATION, the credentials. Returns 1
 * when the code is an SNMP option and was taken, 0 when it is not an SNMP option, -1 on a
 * bad value (message printed). */
int asr_cli_snmp_option(asr_cli_snmp *s, int code, const char *arg);

/* Builds s->creds from the options: the v3 user first when given (pass phrases from the
 * files or ASR_SNMP_AUTH_PASS / ASR_SNMP_PRIV_PASS), then each community. Prints the
 * problem and returns non-zero on error. */
asr_result asr_cli_snmp_finish(asr_cli_snmp *s);

/* Wipes the secrets in s. */
void asr_cli_snmp_wipe(asr_cli_snmp *s);

/* Reads the proxy credentials ("user:password") from file when given, else from
 * ASR_PROXY_USER (asr_proxy_user_read); out is "" when there are none. Returns -1 to go
 * on, or an exit status after printing the problem. */
int asr_cli_proxy_user(const char *file, char *out, size_t n);

/* The exit status of an operation (agent/ops.h) for its result and report, as the
 * commands exit (asr-agent(8), EXIT STATUS); the daemon logs them ("poll: exit 1 ..."). */
int asr_cli_discover_status(asr_result r, const asr_discover_report *rep);
int asr_cli_poll_status(asr_result r, const asr_poll_report *rep);
int asr_cli_upload_status(asr_result r, const asr_upload_report *rep);
int asr_cli_enroll_status(asr_result r, const asr_enroll_report *rep);

struct option;

/* getopt_long(argc, argv, shortopts, longopts) with asr-agent's own messages on stderr:
 * an unknown option is named with the closest one ("did you mean --community?"), an
 * abbreviation is refused with the option it stands for (GNU getopt would take it), a
 * missing value is named. Returns getopt_long's code; '?' (the message printed) for each
 * of those errors: the caller then points to its --help and exits 2. */
int asr_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Prints "run 'asr-agent CMD --help' for the options" on stderr (after a usage error). */
void asr_cli_help_hint(const char *cmd);

/* The closest of names (NULL-terminated) to word: at most 1 edit away for a word of up to
 * 3 letters, 2 up to 8, a third of its length beyond; NULL when none is that close. For
 * "did you mean". */
const char *asr_cli_closest(const char *word, const char *const *names);

/* Sets the log level from -v / -q counts (default warnings). */
void asr_cli_log_level(int verbose, int quiet);

#endif
