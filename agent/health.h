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

/* "active", "silent", "disconnected". */
const char *asr_dev_state_name(asr_dev_state s);

/* Records what a poll of device id found at time now and updates its state, with the
 * events it causes, in the store: ok with the saved device, or a failure with its code and
 * reason. Call after asr_store_save / asr_store_record_failure. */
asr_result asr_health_after_poll(asr_store *st, int64_t id, bool ok, asr_result code,
                                 const char *reason, int64_t now, const asr_health_policy *p);

#endif
