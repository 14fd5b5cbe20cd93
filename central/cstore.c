/* central/cstore.c: being written */
#include "central/cstore.h"
