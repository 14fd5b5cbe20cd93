/* central/ingest.h: being written */
#ifndef ASR_INGEST_H
#define ASR_INGEST_H
#endif
