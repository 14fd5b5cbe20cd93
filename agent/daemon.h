/* agent/daemon.h: `asr-agent run`, the daemon: schedules and the main loop.
 *
 * The schedule is pure functions of the clock (tested in check_daemon.c): each periodic job
 * has a next due time; after it ran, the next one is one interval later on the same grid,
 * or, when the daemon slept or was down past several due times, one interval from now
 * (missed runs are caught up once, not replayed). The daily upload runs at a random minute
 * inside the upload window, a new minute each day from a seeded PRNG. The loop sleeps until
 * the next timer (asr_svc_wait), or under a simulated clock jumps straight to it. */
#ifndef ASR_DAEMON_H
#define ASR_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/alertpush.h"
#include "agent/health.h"
#include "conf/conf.h"
#include "common/result.h"

/* The state of a running daemon. */
typedef struct {
  asr_conf conf;
  char conf_path[512];
  asr_health_policy health; /* the configuration's health rules, for the steps */
  uint64_t seed;            /* of the upload minute */
  int64_t until;            /* tests: stop when the clock reaches it, 0 = never */
  int64_t next_discovery;   /* due times, epoch seconds */
  int64_t next_poll;
  int64_t next_upload;
  int64_t next_prune;
  int64_t next_checkin;      /* the central's configuration (config_checkin), when enrolled */
  int64_t last_upload;       /* last delivered upload (from the store), 0 = never */
  bool enrolled;             /* the store holds an enrolment */
  unsigned upload_retries;   /* failed uploads since the last window */
  int64_t next_enroll;       /* a site token waits: next enrolment try, 0 = none */
  int64_t enroll_backoff;    /* seconds before the next try after a failure */
  unsigned runs[4];          /* discoveries, polls, uploads, prunes run */
  asr_alert_push alert_push; /* alert_upload immediate (agent/alertpush.h) */
} asr_daemon;

/* The next due time of a job of period interval that was due at due and ran at now:
 * due + interval, or now + interval when that is already past (catch up once). */
int64_t asr_sched_next(int64_t due, int64_t interval, int64_t now);

/* The upload time of day day (days since the epoch): the window opens at start minutes
 * after midnight UTC and closes at end (end <= start wraps past midnight; equal means the
 * whole day); the minute inside it comes from seed and day. */
int64_t asr_sched_upload_at(uint64_t seed, int64_t day, int start, int end);

/* The first upload time strictly after t. */
int64_t asr_sched_next_upload(uint64_t seed, int64_t t, int start, int end);

/* The first upload time at start-up: now when an upload was missed (the last delivered
 * one is more than a day and a window old), else the next one after now. */
int64_t asr_sched_first_upload(uint64_t seed, int64_t now, int64_t last_upload, int start, int end);

/* The due time of a periodic job of period interval last started at last (0 = never),
 * for a daemon starting at now: one interval after the last start, now when that is past,
 * when it never ran, or when last is in the future (the clock went back). */
int64_t asr_sched_resume(int64_t last, int64_t interval, int64_t now);

/* Sets the schedule of a daemon starting at now (discovery, poll and the check-in with the
 * central due at once; asr_daemon_prepare then resumes them from the store with
 * asr_sched_resume). */
void asr_daemon_start_schedule(asr_daemon *d, int64_t now);

/* Loads path into a scratch copy and applies it to d only when all of it is valid and no
 * directive that needs a restart changed; otherwise logs every problem and keeps the old
 * configuration. Returns ASR_OK when applied. */
asr_result asr_daemon_reload(asr_daemon *d, const char *path);

/* The earliest due time of d. */
int64_t asr_daemon_next_due(const asr_daemon *d);

/* Checks the whole store once (SQLite's quick_check: a damaged file exits 7, a full disk
 * 8, another failure to open 4), reads the last upload and sets the schedule from the
 * clock and the last starts of discovery and polls in the store; when a site token waits
 * (asr_conf_token_path) and the store holds no enrolment, enrols at once, then retries with
 * a growing delay (up to an hour) while that fails, and deletes the token once enrolled.
 * Returns -1 to go on, else an exit status. */
int asr_daemon_prepare(asr_daemon *d);

/* Runs the daemon until a stop request (or d->until); returns an exit status. */
int asr_daemon_run(asr_daemon *d);

#endif
