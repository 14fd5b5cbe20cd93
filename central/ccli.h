/* central/ccli.h: being written */
#ifndef ASR_CCLI_H
#define ASR_CCLI_H
#endif
