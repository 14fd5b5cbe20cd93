/* health.h: the disconnection flag and what else the agent notices about a device.
 *
 * A device is active; silent once it has not answered for silent_after and at least
 * min_failures polls in a row failed; disconnected after disconnected_after; active
 * again (event "reconnected") when it answers. Every change is an event with a time and a
 * reason, stored (store/events.c) and uploaded. A level that jumps up is a cartridge
 * replacement (event "replaced", "early" when the old level was above the low
 * threshold). The rules are pure functions; asr_health_after_poll applies them. */
#ifndef ASR_HEALTH_H
#define ASR_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/device.h"
#include "common/result.h"
#include "store/store.h"

typedef enum { ASR_DEV_ACTIVE = 0, ASR_DEV_SILENT, ASR_DEV_DISCONNECTED } asr_dev_state;

typedef struct {
  int64_t silent_after;       /* seconds, default 86400 */
  unsigned min_failures;      /* default 3 */
  int64_t disconnected_after; /* seconds, default 604800 */
} asr_health_policy;

/* Default policy (24 h and 3 failures; 7 days). */
void asr_health_policy_init(asr_health_policy *p);

/* The process-wide policy the commands (poll, discover) apply: set by whoever loaded the
 * configuration (the daemon, at start and on reload); p NULL restores the defaults. */
void asr_health_set_policy(const asr_health_policy *p);

/* Copies the process-wide policy into out (the defaults until one was set). */
void asr_health_policy_current(asr_health_policy *out);

/* "active", "silent", "disconnected". */
const char *asr_dev_state_name(asr_dev_state s);

/* Records what a poll of device id found at time now and updates its state, with the
 * events it causes, in the store: ok with the saved device, or a failure with its code and
 * reason. Call after asr_store_save / asr_store_record_failure. p NULL: the process-wide
 * policy (asr_health_policy_current). A good poll that stored a reading is compared with
 * the reading before: supplies that jumped up make one "replaced" event. */
asr_result asr_health_after_poll(asr_store *st, int64_t id, bool ok, asr_result code,
                                 const char *reason, int64_t now, const asr_health_policy *p);

/* ---- extensions (issue 4, health engineer): pure rules, sweep and status --check ---- */

/* A level jump up of more than this many percentage points is a replacement. */
#define ASR_HEALTH_REPLACE_JUMP 20

/* Parses a state name; false when it is none of them. */
bool asr_dev_state_parse(const char *name, asr_dev_state *out);

/* The state a device in state cur goes to after a poll at now: ok answers make it
 * active; otherwise disconnected once now - last_answer >= disconnected_after, silent
 * once now - last_answer >= silent_after and failed_polls >= min_failures, else cur
 * (a failure never makes a flag milder). Pure. */
asr_dev_state asr_health_next(asr_dev_state cur, bool ok, int64_t last_answer,
                              unsigned failed_polls, int64_t now, const asr_health_policy *p);

/* The short reason of a failed poll's code: "timeout", "auth failure", "host
 * unreachable", "not a printer any more", "a different printer at the address"... */
const char *asr_health_reason(asr_result code);

/* 0 when a supply's percent going from old_pct to new_pct (0..100; -1 unknown) is no
 * replacement, 1 when it is one, 2 when it is one made early (old_pct above
 * ASR_SUPPLY_LOW_PERCENT). Pure. */
int asr_health_replaced(int old_pct, int new_pct);

/* Applies the time rules to every device at now without polling (for the daemon after a
 * poll round: devices that are not polled any more, e.g. superseded, still go silent
 * and disconnected). *changed (may be NULL) receives how many changed state. */
asr_result asr_health_sweep(asr_store *st, int64_t now, const asr_health_policy *p,
                            size_t *changed);

/* Monitoring-plugin statuses (exit codes of status --check). */
typedef enum {
  ASR_CHECK_OK = 0,
  ASR_CHECK_WARNING = 1,
  ASR_CHECK_CRITICAL = 2,
  ASR_CHECK_UNKNOWN = 3
} asr_check_status;

/* The upload-health thresholds of status --check (seconds without a successful upload). */
#define ASR_HEALTH_UPLOAD_WARNING (2 * 86400)
#define ASR_HEALTH_UPLOAD_CRITICAL (7 * 86400)
/* The outbox: WARNING from this share of its bound (percent) */
#define ASR_HEALTH_OUTBOX_WARNING_PCT 80
/* The database's disk: WARNING under this many free bytes, CRITICAL under that many */
#define ASR_HEALTH_DISK_WARNING ((int64_t)64 << 20)
#define ASR_HEALTH_DISK_CRITICAL ((int64_t)8 << 20)

/* What status --check compares with: asr-agent.conf(5) sets them. */
typedef struct {
  int64_t upload_warning_after;  /* seconds, upload_warning_after */
  int64_t upload_critical_after; /* seconds, upload_critical_after */
  int64_t outbox_max_bytes;      /* outbox_max_mb in bytes */
  const char *config_problem;    /* why the configuration was not used (a WARNING), or NULL */
} asr_check_limits;

/* The defaults: 2 days, 7 days, 100 MB, no problem. */
void asr_check_limits_init(asr_check_limits *l);

/* Writes the one line of `status --check` for the database st at now into line (n
 * bytes) and returns its status. Each part adds its words and may raise the status:
 * printers: silent WARNING, disconnected CRITICAL; uploads: none for
 * upload_warning_after WARNING, upload_critical_after CRITICAL, stopped (401/403)
 * CRITICAL (not enrolled: nothing); outbox: batches held by the central WARNING (with
 * its reason), undelivered batches over ASR_HEALTH_OUTBOX_WARNING_PCT of the bound
 * WARNING, over the bound CRITICAL; disk: less than ASR_HEALTH_DISK_WARNING free
 * WARNING, ASR_HEALTH_DISK_CRITICAL CRITICAL (readings cannot be stored); a
 * configuration problem WARNING. st NULL or unreadable: UNKNOWN. Perfdata: devices,
 * silent, disconnected. */
asr_check_status asr_health_check_limits(asr_store *st, const asr_check_limits *l, int64_t now,
                                         char *line, size_t n);

/* asr_health_check_limits with the default limits. */
asr_check_status asr_health_check(asr_store *st, int64_t now, char *line, size_t n);

#endif
