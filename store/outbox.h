/* store/outbox.h: being written */
#ifndef ASR_OUTBOX_H
#define ASR_OUTBOX_H
#endif
