/* remoteconf.h: the agent's side of the remote configuration (issue 17; asr-agent.conf(5),
 * REMOTE CONFIGURATION).
 *
 * The last good configuration of the central lives beside the database, 0600
 * (Administrators-only on Windows): remote-config.json (version, values, what was last
 * refused and why) and remote-secrets (its SNMPv3 pass phrases, in the secrets_file
 * format). Every load of the configuration (start, SIGHUP, config show) puts it over the
 * file (conf/conf.h, asr_conf_load_with), so a restart without the central keeps it. */
#ifndef ASR_REMOTECONF_H
#define ASR_REMOTECONF_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"

#define ASR_REMOTECONF_STATE "remote-config.json"
#define ASR_REMOTECONF_SECRETS "remote-secrets"

/* The configuration file at path with the last good remote configuration over it (none
 * when the file says remote_config off, or when there is none yet). A damaged state file
 * is reported and ignored. Same errors as asr_conf_load. */
asr_result asr_remoteconf_load(const char *path, asr_conf *c, asr_conf_error_cb err, void *ctx);

/* One check-in with the central (the agent must be enrolled): reports what was applied
 * or refused, and when the central's signed answer carries a newer version, checks it
 * with the file's rules and, when all of it is valid, keeps it on disk and loads the
 * result into fresh (*changed true). A refused configuration is logged, kept aside for
 * the next report, and nothing changes. ASR_ERR_AUTH for a forged, stale or older
 * configuration. tick (may be NULL: the command) is asked during the transfers: the daemon's
 * watchdog and stop request. */
asr_result asr_remoteconf_sync(const char *conf_path, const asr_conf *running, asr_conf *fresh,
                               bool *changed, int (*tick)(void *ctx), void *tick_ctx);

/* asr-agent config fetch: one check-in now (what the daemon does after each upload); the
 * daemon takes a new version at its next reload or check-in. Returns an exit status. */
int asr_remoteconf_fetch(const char *conf_path);

/* asr-agent config show: the effective configuration, the source of each value, never a
 * secret. Returns an exit status. */
int asr_remoteconf_show(const char *conf_path, FILE *out);

#endif
