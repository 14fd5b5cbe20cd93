/* svc.h: being written (issue 4) */
#ifndef ASR_SVC_H
#define ASR_SVC_H
#endif
