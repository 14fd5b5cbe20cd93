/* clock.h: the one clock of the agent. Every component takes the time from here, so a
 * test can run weeks of schedule in seconds with a simulated clock. */
#ifndef ASR_CLOCK_H
#define ASR_CLOCK_H

#include <stdint.h>

/* Wall-clock seconds since the epoch (UTC): the real clock, or the simulated one. */
int64_t asr_clock_now(void);

#endif
