/* uplink/batch.h: being written */
#ifndef ASR_BATCH_H
#define ASR_BATCH_H
#endif
