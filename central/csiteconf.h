/* csiteconf.h: a site's remote configuration at asr-central (issue 17): the command
 * `asr-central site config` and the agents' check-in, POST /v1/config
 * (docs/protocol.md, "Remote configuration").
 *
 * Values are checked with the agent's own table (conf/conf.h, asr_conf_check_remote), so
 * the central accepts exactly what an agent would. SNMPv3 pass phrases are sealed at rest
 * (wire/seal.h) with the key of a 0600 file: DB.key beside the database unless
 * --key-file names another; the first pass phrase set creates it. */
#ifndef ASR_CSITECONF_H
#define ASR_CSITECONF_H

#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "central/ingest.h"

#define CSITECONF_PATH "/v1/config"
#define CSITECONF_MAX_BODY (64u << 10)

/* asr-central site config NAME ... (argv[0] is "config"). */
int csiteconf_cli(int argc, char **argv);

/* POST /v1/config once ingest_check_headers passed: the signature of the body, the
 * agent's report stored, then the site's configuration as a signed answer. The status
 * is returned and the answer is in ans. db_path locates the key file. */
int csiteconf_checkin(cstore *st, const char *db_path, const cstore_agent *agent,
                      const ingest_request *req, int64_t now, ingest_answer *ans);

/* The key file of a database: path + ".key". */
asr_result csiteconf_key_path(const char *db_path, char *out, size_t n);

#endif
