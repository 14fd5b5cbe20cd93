/* ccli.h: the asr-central commands (asr-central(8)).
 *
 * main() picks a command by name; each command parses its own options, works through
 * cstore/server, prints results on stdout and diagnostics on stderr, and returns an
 * exit status. */
#ifndef ASR_CCLI_H
#define ASR_CCLI_H

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
int ccli_simulate(int argc, char **argv);

struct cstore;

/* The devices document of `asr-central devices --format json` (of site, or all when
 * NULL) as a new JSON object {"devices": [...]}; NULL on error (message on stderr). */
void *ccli_devices_json(struct cstore *st, const char *site);

/* Routes asr_log() to stderr as "asr-central: LEVEL: message" at the given verbosity. */
void ccli_log_init(int verbose);

#endif
