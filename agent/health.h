/* agent/health.h: being written (issue 4) */
#ifndef ASR_HEALTH_H
#define ASR_HEALTH_H
#endif
