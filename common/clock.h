/* common/clock.h: being written (issue 4) */
#ifndef ASR_CLOCK_H
#define ASR_CLOCK_H
#endif
