/* agent/targets.c: not written yet */
#include "agent/targets.h"
