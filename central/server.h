/* central/server.h: being written */
#ifndef ASR_SERVER_H
#define ASR_SERVER_H
#endif
