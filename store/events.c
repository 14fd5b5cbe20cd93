/* store/events.c: being written (issue 4) */
#include "store/events.h"
