/* agent/daemon_steps.h: the daemon's steps: discovery, polls, upload, enrolment and
 * pruning, each the library's operation (agent/ops.h) with typed options taken from the
 * configuration, and log lines taken from its typed report.
 *
 * A step opens the database itself (and closes it), so the store is never held between
 * steps. It returns the exit status the same work has as a command (asr-agent(8), EXIT
 * STATUS), which its last log line names ("poll: exit 0 after 812 ms: ..."), and fills the
 * report for the schedule. The process's log level is the configuration's: a step does not
 * change it. */
#ifndef ASR_DAEMON_STEPS_H
#define ASR_DAEMON_STEPS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/health.h"
#include "agent/ops.h"
#include "conf/conf.h"

/* What every step gets from the daemon besides the configuration. */
typedef struct {
  asr_scan_tick tick; /* asked during scans and transfers: watchdog pings, stop (NULL: none) */
  void *tick_ctx;
  const asr_health_policy *health; /* the configuration's health rules */
} asr_step_env;

/* The health rules of the configuration c into p. */
void asr_step_health_policy(const asr_conf *c, asr_health_policy *p);

/* A discovery of the configuration's targets (scan_targets, exclude, target_community),
 * with its credentials and engine settings; its deadline is discovery_deadline, at most
 * discovery_interval. */
int asr_step_discover(const asr_conf *c, const asr_step_env *env, asr_discover_report *rep);

/* A poll of every known device; its deadline is poll_deadline, at most poll_interval. */
int asr_step_poll(const asr_conf *c, const asr_step_env *env, asr_poll_report *rep);

/* An upload run: a failed run is retried by the schedule, not by a long wait here (2 s of
 * retries), and a transfer has the time a slow link needs (15 s to connect, 240 s in
 * all); the tick is asked during transfers. */
int asr_step_upload(const asr_conf *c, const asr_step_env *env, asr_upload_report *rep);

/* An enrolment with the site token in token_file and the configuration's endpoint, TLS
 * and proxy settings (5 s to connect, 10 s in all). */
int asr_step_enroll(const asr_conf *c, const char *token_file, asr_enroll_report *rep);

/* Removes the readings older than the configuration's retention at now. */
asr_result asr_step_prune(const asr_conf *c, int64_t now, asr_prune_report *rep);

#endif
