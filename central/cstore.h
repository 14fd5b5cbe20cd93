/* central/cstore.h: being written */
#ifndef ASR_CSTORE_H
#define ASR_CSTORE_H
#endif
