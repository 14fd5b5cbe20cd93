#ifndef ASR_SCHEMA_H
#define ASR_SCHEMA_H
#endif
