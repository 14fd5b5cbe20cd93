/* confwrite.h: writes the configuration from installer properties, for `asr-agent config
 * write` (properties as NAME=VALUE lines on stdin) and `asr-agent config import` (the
 * values the MSI left in the registry, see common/platform.h asr_platform_install_value).
 *
 * The properties are the MSI's public ones: ENDPOINT, SITE_TOKEN, SCAN_TARGETS, COMMUNITY
 * and PROXY. An empty property is "not given": the file keeps what it has (an upgrade or a
 * repair without properties changes nothing). A given property replaces every line of its
 * directives; other lines (comments, directives set by hand) stay as they are. Nothing is
 * written unless every property is valid and the resulting file passes the checks the
 * daemon runs before it starts (asr_conf_load, asr_conf_check_secrets).
 * Secrets go to files readable by SYSTEM and Administrators (Windows) or the owner (POSIX)
 * only: the site token to the enrolment token file (asr_conf_token_path), proxy
 * credentials ("http://user:password@host:port") to "proxy-user" next to the
 * configuration file (proxy_user_file). COMMUNITY goes into the configuration file, which
 * is therefore restricted the same way. Secret values are never in an error message. */
#ifndef ASR_CONFWRITE_H
#define ASR_CONFWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "common/result.h"

typedef enum {
  ASR_PROP_ENDPOINT,
  ASR_PROP_SITE_TOKEN,
  ASR_PROP_SCAN_TARGETS,
  ASR_PROP_COMMUNITY,
  ASR_PROP_PROXY,
  ASR_PROP_REMOTE_CONFIG, /* on|off: remote_config (issue 17) */
  ASR_PROP_COUNT
} asr_confwrite_prop;

#define ASR_CONFWRITE_VALUE_MAX 1024 /* a property value, with its NUL */

/* The properties; "" = not given. */
typedef struct {
  char v[ASR_PROP_COUNT][ASR_CONFWRITE_VALUE_MAX];
} asr_confwrite_props;

/* The property's name as the MSI and the registry spell it ("ENDPOINT"...). */
const char *asr_confwrite_name(asr_confwrite_prop p);

/* True for the properties holding secrets (SITE_TOKEN, COMMUNITY, PROXY). */
bool asr_confwrite_is_secret(asr_confwrite_prop p);

/* Parses one "NAME=VALUE" line (NAME case-insensitive, blanks around NAME ignored, the
 * value taken as is; blank lines and '#' comments are ASR_OK and set nothing). Writes why
 * not into err: ASR_ERR_INVALID for an unknown name or no '=', ASR_ERR_TOO_LARGE. */
asr_result asr_confwrite_parse_line(asr_confwrite_props *p, const char *line, char *err, size_t n);

/* Checks each given property (no control characters; ENDPOINT an endpoint URL, SITE_TOKEN
 * a token, COMMUNITY words, PROXY "none" or a URL with credentials as user:password);
 * calls err with "NAME: problem" for each and returns ASR_ERR_INVALID when any. */
asr_result asr_confwrite_check(const asr_confwrite_props *p, asr_conf_error_cb err, void *ctx);

/* Merges the given properties into the configuration file conf_path (created when missing)
 * and writes the secret files, as described above. Problems go to err; returns
 * ASR_ERR_INVALID (a bad property), ASR_ERR_PARSE (the result does not parse: conf_path is
 * left as it was) or ASR_ERR_IO. */
asr_result asr_confwrite_apply(const char *conf_path, const asr_confwrite_props *p,
                               asr_conf_error_cb err, void *ctx);

/* Reads the installer's values (asr_platform_install_value), applies them to conf_path and,
 * once written, deletes them. With no values, a missing conf_path is created (comments
 * only: the defaults), an existing one left alone: ASR_ERR_NOT_FOUND. Else as
 * asr_confwrite_apply (the values are kept when it fails). With save, once everything
 * is found valid and before anything changes, asr_confwrite_save keeps the copies that
 * asr_confwrite_undo puts back (a failed import keeps none: it changed nothing). */
asr_result asr_confwrite_import(const char *conf_path, bool save, asr_conf_error_cb err, void *ctx);

/* The installer's transaction around an import: keeps a private copy of each file an
 * import may change or create (the configuration file, proxy-user and the service's
 * asr-agent.log next to it, the enrolment token file) as FILE.rollback, or notes with
 * FILE.rollback-none that it did not exist. Problems go to err. */
asr_result asr_confwrite_save(const char *conf_path, asr_conf_error_cb err, void *ctx);

/* Puts back what asr_confwrite_save kept (a file that did not exist is deleted), for a
 * failed installation; nothing to do when nothing was kept. */
asr_result asr_confwrite_undo(const char *conf_path, asr_conf_error_cb err, void *ctx);

/* Deletes the copies asr_confwrite_save kept (the installation succeeded). */
void asr_confwrite_commit(const char *conf_path);

/* Overwrites the properties with zeros. */
void asr_confwrite_wipe(asr_confwrite_props *p);

#endif
