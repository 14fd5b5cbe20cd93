/* cli.h: the asr-agent commands and what they share.
 *
 * main() picks a command by name; each command parses its own options, does its work
 * through the modules, prints results on stdout and diagnostics on stderr, and returns
 * an exit status (documented in asr-agent(8)). */
#ifndef ASR_CLI_H
#define ASR_CLI_H

#include <stdio.h>

#include "common/result.h"

/* Exit statuses of asr-agent (asr-agent(8), EXIT STATUS). */
enum {
  ASR_EXIT_OK = 0,
  ASR_EXIT_FAILURE = 1,  /* the command ran but some work failed (e.g. devices not polled) */
  ASR_EXIT_USAGE = 2,    /* bad command line or bad target */
  ASR_EXIT_INPUT = 3,    /* an input file is unreadable or does not parse */
  ASR_EXIT_DB = 4,       /* the database cannot be opened, is locked or is newer */
  ASR_EXIT_NETWORK = 5,  /* nothing answered: no printer found or reachable */
  ASR_EXIT_INTERNAL = 70 /* out of memory or another internal error */
};

/* Each command: argv[0] is the command name. */
int asr_cmd_discover(int argc, char **argv);
int asr_cmd_poll(int argc, char **argv);
int asr_cmd_status(int argc, char **argv);
int asr_cmd_inspect(int argc, char **argv);

/* Prints "asr-agent: " + message on stderr. */
void asr_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for a result code. */
int asr_cli_exit_for(asr_result r);

/* The database path: the --db value if given, else $ASR_AGENT_DB, else the default
 * under the state directory. */
const char *asr_cli_db_path(const char *opt);

/* True when stdout (fd 1) / stderr (fd 2) is a terminal. */
int asr_cli_isatty(int fd);

#endif
