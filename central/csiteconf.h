/* csiteconf.h: a site's remote configuration at asr-central (issue 17): the command
 * `asr-central site config` and the agents' check-in, POST /v1/config
 * (docs/protocol.md, "Remote configuration").
 *
 * A site has values, and each of its agents may have values of its own over them
 * (--agent). Values are checked with the agent's own table (conf/conf.h,
 * asr_conf_check_remote), so the central accepts exactly what an agent would: a change of
 * the site's is checked with each agent's own values over it too. The secrets (SNMPv3
 * pass phrases and communities, asr_conf_remote_sealed) never come from the command line,
 * are never shown, and are sealed at rest (wire/seal.h) with the key of a 0600 file:
 * --secrets-key-file FILE, by default DB.key beside a SQLite database (a PostgreSQL URI
 * has none: the option is then needed as soon as a secret is sealed or opened). The first
 * secret set creates the file; serve reads it at each check-in that has secrets, so every
 * node of a PostgreSQL central needs a copy of the same file. */
#ifndef ASR_CSITECONF_H
#define ASR_CSITECONF_H

#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "central/ingest.h"

#define CSITECONF_PATH "/v1/config"
#define CSITECONF_MAX_BODY (64u << 10)
/* the longest answer: an agent keeps 64 KiB of one (uplink/http.h, ASR_HTTP_BODY_MAX) */
#define CSITECONF_MAX_ANSWER ((64u << 10) - 1)

/* asr-central site config NAME ... (argv[0] is "config"). */
int csiteconf_cli(int argc, char **argv);

/* POST /v1/config once ingest_check_headers passed: the signature of the body, the
 * agent's report stored, then the site's configuration as a signed answer. The status
 * is returned and the answer is in ans. db_path locates the key file. */
int csiteconf_checkin(cstore *st, const char *db_path, const cstore_agent *agent,
                      const ingest_request *req, int64_t now, ingest_answer *ans);

/* The key file of db_path's secrets: --secrets-key-file's when given, else db_path +
 * ".key" (SQLite); ASR_ERR_USAGE for a PostgreSQL URI without --secrets-key-file. */
asr_result csiteconf_key_path(const char *db_path, char *out, size_t n);

/* --secrets-key-file FILE for every database of the process (NULL: none, DB.key). */
asr_result csiteconf_set_key_file(const char *path);

/* Takes --secrets-key-file's FILE from a command's options: 0, or -1 with the message
 * printed. Its getopt_long row: {"secrets-key-file", required_argument, NULL,
 * CCLI_OPT_SECRETS_KEY_FILE}. */
int csiteconf_key_file_option(const char *path);

/* Checks --secrets-key-file's file when one was given (serve, before listening): its
 * mode and its key; ASR_OK when none was given. ASR_ERR_NOT_FOUND when it does not exist
 * (yet); the problem in err. */
asr_result csiteconf_key_check(char *err, size_t n);

#endif
