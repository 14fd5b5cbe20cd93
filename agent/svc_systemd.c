/* svc_systemd.c: being written (issue 4) */
#include "agent/svc.h"
