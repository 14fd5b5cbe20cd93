/* store/outbox.c: being written */
#include "store/outbox.h"
