/* clock.h: the one clock of the agent. Every component takes the time from here, so a
 * test can run weeks of schedule in seconds with a simulated clock.
 *
 * The simulated clock starts at a given time and then runs FACTOR times faster than the
 * real one; on top of that the daemon may jump it forward (asr_clock_advance) instead of
 * sleeping, so a schedule runs as a discrete-event simulation. Network timeouts stay real
 * (they use asr_monotonic_ms, not this clock). Pure C11: no platform calls. */
#ifndef ASR_CLOCK_H
#define ASR_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/result.h"

/* Wall-clock seconds since the epoch (UTC): the real clock, or the simulated one. */
int64_t asr_clock_now(void);

/* The real wall clock even under a simulated one: for timestamps a peer checks against its
 * own clock (request signatures), never for scheduling or stored times. */
int64_t asr_clock_wall(void);

/* Parses "START[:FACTOR]": START is epoch seconds or "YYYY-MM-DDTHH:MM:SSZ" (UTC), FACTOR
 * a whole number from 1 to 1000000 (default 1). ASR_ERR_INVALID when it does not parse. */
asr_result asr_clock_parse(const char *spec, int64_t *start, unsigned *factor);

/* Switches to a simulated clock that starts at start and runs factor times real time. */
void asr_clock_simulate(int64_t start, unsigned factor);

/* Switches to the simulated clock described by $ASR_TEST_CLOCK when it is set. Returns
 * ASR_ERR_INVALID (and keeps the real clock) when it is set but does not parse. */
asr_result asr_clock_from_env(void);

/* Back to the real clock. */
void asr_clock_real(void);

/* True when the clock is simulated. */
bool asr_clock_is_simulated(void);

/* Jumps a simulated clock forward by seconds (no effect on the real clock). */
void asr_clock_advance(int64_t seconds);

/* Monotonic milliseconds (the real ones, even under a simulated clock), for timeouts,
 * deadlines and durations. */
int64_t asr_monotonic_ms(void);

/* Current wall-clock time as seconds since the epoch (UTC). */
int64_t asr_now(void);

#endif
