/* agent/daemon.c: being written (issue 4) */
#include "agent/daemon.h"
