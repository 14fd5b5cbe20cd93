/* agent/conf.c: being written (issue 4) */
#include "agent/conf.h"
