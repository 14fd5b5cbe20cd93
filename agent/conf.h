/* agent/conf.h: being written (issue 4) */
#ifndef ASR_CONF_H
#define ASR_CONF_H
#endif
