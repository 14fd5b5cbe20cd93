/* agent/daemon.h: being written (issue 4) */
#ifndef ASR_DAEMON_H
#define ASR_DAEMON_H
#endif
