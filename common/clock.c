/* common/clock.c: being written (issue 4) */
#include "common/clock.h"
