/* conf.h: the configuration file of asr-agent (/etc/asr-agent/asr-agent.conf).
 *
 * One directive a line, "name value", '#' starts a comment. The directives are a table
 * (conf/conf.c: name, type, range, default, reloadable?), documented in
 * asr-agent.conf(5). Secrets (SNMPv3 pass phrases, proxy credentials) never live in this
 * file: it names a 0600 secrets file instead. A file is applied only when all of it is
 * valid; every error is reported as "file:line: problem". */
#ifndef ASR_CONF_H
#define ASR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

/* configure sets it: Windows "%ProgramData%/asr-agent/asr-agent.conf" (see asr_conf_path) */
#ifndef ASR_CONF_DEFAULT_PATH
#define ASR_CONF_DEFAULT_PATH "/etc/asr-agent/asr-agent.conf"
#endif
#define ASR_CONF_MAX_LIST 64
#define ASR_CONF_MAX_DIRECTIVES 96 /* room in asr_conf.source */
#define ASR_CONF_TC_LEN 512        /* a target_community value */

typedef struct {
  /* where things are */
  char database[512];     /* database: state dir + /agent.db */
  char secrets_file[512]; /* secrets_file: 0600 file with v3 pass phrases ("auth = ..") */
  /* the central (enrolment stores the rest in the database) */
  char endpoint[512]; /* endpoint: https URL, "" = not configured */
  char ca_file[512], ca_path[512], pin[160], client_cert[512], client_key[512];
  char proxy[512]; /* proxy: URL, "none", or "" (environment) */
  char proxy_user_file[512];
  /* scanning and SNMP */
  char targets[ASR_CONF_MAX_LIST][128]; /* scan_targets: one or more targets a line */
  size_t n_targets;
  char communities[ASR_CONF_MAX_LIST][128]; /* community: repeatable, tried in order */
  size_t n_communities;
  char excludes[ASR_CONF_MAX_LIST][128]; /* exclude: targets never scanned, repeatable */
  size_t n_excludes;
  /* target_community: "TARGET NAME [NAME...]" (single spaces), repeatable */
  char target_communities[ASR_CONF_MAX_LIST][ASR_CONF_TC_LEN];
  size_t n_target_communities;
  unsigned scan_rate; /* scan_rate: sweep probes a second */
  char v3_user[64], v3_auth_proto[16], v3_priv_proto[16], v3_context[64];
  unsigned snmp_port, snmp_timeout_ms, snmp_retries, concurrency;
  unsigned snmp_host_deadline_ms; /* one host's whole conversation, 0 = 16 requests' worth */
  int64_t discovery_deadline;     /* seconds: a whole discovery, default 1800 */
  int64_t poll_deadline;          /* seconds: a whole poll, default 600 */
  /* schedules (seconds) */
  int64_t discovery_interval; /* default 86400 */
  int64_t poll_interval;      /* default 3600 */
  int upload_window_start;    /* minutes after midnight UTC, default 60 (01:00) */
  int upload_window_end;      /* default 300 (05:00) */
  int alert_upload_immediate; /* alert_upload: batch (0, default) or immediate (1) */
  /* health */
  int64_t silent_after;          /* default 86400 */
  unsigned silent_min_failures;  /* default 3 */
  int64_t disconnected_after;    /* default 604800 */
  int64_t upload_warning_after;  /* default 2 days: status --check WARNING */
  int64_t upload_critical_after; /* default 7 days: status --check CRITICAL */
  /* data */
  int64_t retention;  /* readings older than this are pruned, default 400 days */
  char log_level[16]; /* error, warning, info, debug (default info) */
  /* bound of the outbox's batches in MB (default 100) */
  unsigned outbox_max_mb;
  /* the central's configuration (issue 17) */
  int remote_config;      /* remote_config: on (1, default) or off */
  int64_t config_checkin; /* config_checkin: seconds between light check-ins, default 3600 */
  unsigned char source[ASR_CONF_MAX_DIRECTIVES]; /* asr_conf_source of each directive */
} asr_conf;

typedef void (*asr_conf_error_cb)(const char *msg, void *ctx);

/* Where a directive's value comes from (asr-agent config show). */
enum { ASR_CONF_SRC_DEFAULT = 0, ASR_CONF_SRC_FILE, ASR_CONF_SRC_LOCAL, ASR_CONF_SRC_REMOTE };

/* What asr_conf_remote_key says of a name. */
enum { ASR_CONF_KEY_DIRECTIVE = 1, ASR_CONF_KEY_SECRET = 2 };

/* One value of the central's configuration: a directive's name and its value as the file
 * would have it after the name (a community list: communities separated by blanks), or
 * v3_auth_pass / v3_priv_pass and a pass phrase. */
typedef struct {
  const char *name, *value;
} asr_conf_pair;

/* The central's configuration, applied over the file (asr_conf_load_with). */
typedef struct {
  const asr_conf_pair *pairs;
  size_t n;
  const char *label;        /* in messages: "remote configuration 7: poll_interval: ..." */
  const char *secrets_file; /* the 0600 file holding the central's pass phrases, or NULL */
} asr_conf_overlay;

/* Sets every directive to its default. */
void asr_conf_defaults(asr_conf *c);

/* Reads the file at path into c (defaults first). Calls err for each problem with
 * "path:line: problem" and returns ASR_ERR_PARSE when there was any; c is then left in
 * an unspecified state (callers parse into a scratch copy and keep the old one). A file
 * that cannot be opened: "path: reason" and ASR_ERR_NOT_FOUND (it does not exist; c holds
 * the defaults) or ASR_ERR_IO. The secrets file is not read here: see
 * asr_conf_check_secrets. */
asr_result asr_conf_load(const char *path, asr_conf *c, asr_conf_error_cb err, void *ctx);

/* asr_conf_load, then the central's configuration ov (NULL: none) over the file's values,
 * unless the file says "remote_config off": a directive the file marks "local NAME VALUE"
 * keeps the file's value, any other the central sets replaces it; then the checks between
 * directives. Errors of the central's values are reported as "LABEL: problem". The source
 * of each value is in c->source (asr_conf_directive_source). */
asr_result asr_conf_load_with(const char *path, const asr_conf_overlay *ov, asr_conf *c,
                              asr_conf_error_cb err, void *ctx);

/* asr-central's check of a site's configuration: the defaults, then ov, then the checks
 * between directives, with exactly the agent's rules (a pass phrase is assumed where the
 * agent may hold one). ASR_ERR_PARSE after reporting every problem. */
asr_result asr_conf_check_remote(const asr_conf_overlay *ov, asr_conf *c, asr_conf_error_cb err,
                                 void *ctx);

/* ASR_CONF_KEY_DIRECTIVE when the central may set the directive, ASR_CONF_KEY_SECRET for
 * a pass phrase (v3_auth_pass, v3_priv_pass), 0 for a directive only the file sets
 * (database, endpoint, proxy, remote_config...), -1 for an unknown name. */
int asr_conf_remote_key(const char *name);

/* 1 when the central keeps the value of name sealed at rest and never shows it: the
 * SNMPv3 pass phrases and the communities (community, target_community); else 0. */
int asr_conf_remote_sealed(const char *name);

/* Checks an SNMPv3 pass phrase (8 to 127 bytes, no control character); why names the
 * problem, never the pass phrase. */
asr_result asr_conf_check_pass(const char *name, const char *v, char *why, size_t n);

/* The value of the i-th directive as the file would write it ("1h", "01:00-05:00"); the
 * communities are never shown ("(2 set)"). */
asr_result asr_conf_format(const asr_conf *c, size_t i, char *out, size_t n);

/* The source (ASR_CONF_SRC_*) of the i-th directive's value, -1 past the end, and its
 * name ("default", "file", "local", "central"). */
int asr_conf_directive_source(const asr_conf *c, size_t i);
const char *asr_conf_source_name(int source);

/* Checks the secrets file that c names (nothing to do when none): a regular file, mode
 * 0600 or stricter, only "auth = ..." / "priv = ..." lines ('#' comments and blank lines
 * allowed), holding the pass phrases that v3_auth_proto / v3_priv_proto need. Calls err
 * for each problem ("secretsfile:line: problem", never a secret) and returns
 * ASR_ERR_SECRET when there was any. */
asr_result asr_conf_check_secrets(const asr_conf *c, asr_conf_error_cb err, void *ctx);

/* Parses a duration: "3600" (seconds), "90s", "15m", "24h", "7d", "2w". */
asr_result asr_conf_parse_duration(const char *s, int64_t *out);

/* 1 when a reload may change the directive, 0 when not, -1 for an unknown name. */
int asr_conf_reloadable(const char *name);

/* The default of a directive as written in the file ("" = none), NULL when unknown. */
const char *asr_conf_default(const char *name);

/* The number of directives, and the name of the i-th (NULL past the end). */
size_t asr_conf_directive_count(void);
const char *asr_conf_directive_name(size_t i);

/* Names the directives whose values differ between a and b and cannot change on a reload
 * (e.g. database); writes them into out ("database, secrets_file"), "" when none. */
void asr_conf_not_reloadable(const asr_conf *a, const asr_conf *b, char *out, size_t n);

/* The configuration file to use: opt when given, else ASR_CONF_DEFAULT_PATH with its
 * %NAME% references resolved (common/platform.h). Points to a static buffer or opt. */
const char *asr_conf_path(const char *opt);

/* The file holding a site token that waits for enrolment: "site-token" in the directory
 * of c->database (the daemon enrols with it, then deletes it). */
asr_result asr_conf_token_path(const asr_conf *c, char *out, size_t n);

#endif
