/* agent/health.c: being written (issue 4) */
#include "agent/health.h"
