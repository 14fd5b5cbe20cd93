/* store/events.h: being written (issue 4) */
#ifndef ASR_EVENTS_H
#define ASR_EVENTS_H
#endif
