/* central/server.c: being written */
#include "central/server.h"
