/* store/sched.h: what the daemon remembers of its schedule across restarts (schema version
 * 5 in store/schema.h; the SQL lives in store/sched.c).
 *
 * The daemon records when it last started each periodic job ("discovery", "poll",
 * "checkin"), before running it, with a fingerprint of what the job covered (the scan
 * targets). After a
 * restart, by hand, by a crash or by the watchdog, a job is due one interval after its
 * last start, not at once: a discovery that crashes or runs long cannot hold polls and
 * uploads back by running again at every start. */
#ifndef ASR_SCHED_H
#define ASR_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"

#define ASR_SCHED_FP_MAX 65 /* a fingerprint: 64 hex digits and a NUL */

/* The last start of job (epoch seconds, 0 = never) and its fingerprint ("" = none). */
asr_result asr_sched_get(asr_store *st, const char *job, int64_t *last, char *fp, size_t n);

/* Records a start of job at time t with its fingerprint (fp may be NULL). */
asr_result asr_sched_set(asr_store *st, const char *job, int64_t t, const char *fp);

#endif
