/* ccli.h: the asr-central commands of ccli.c (asr-central(8)): serve, site, devices,
 * agent, problems, simulate. The other commands have their own files and headers
 * (ccli_rp.h, ccli_ct.h, ccli_meters.h); what all of them share is ccli_common.h.
 *
 * main() picks a command by name; each command parses its own options, works through
 * cstore/server, prints results on stdout and diagnostics on stderr, and returns an
 * exit status. */
#ifndef ASR_CCLI_H
#define ASR_CCLI_H

#include "central/ccli_common.h"

/* Each command: argv[0] is the command name. */
int ccli_serve(int argc, char **argv);
int ccli_site(int argc, char **argv);
int ccli_devices(int argc, char **argv);
int ccli_agent(int argc, char **argv);
int ccli_problems(int argc, char **argv);
int ccli_simulate(int argc, char **argv);

/* The devices document of `asr-central devices --format json` (of site, or all when
 * NULL) as a new JSON object {"devices": [...]}; NULL on error (message on stderr). */
void *ccli_devices_json(struct cstore *st, const char *site);

#endif
