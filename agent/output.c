/* agent/output.c: not written yet */
#include "agent/output.h"
