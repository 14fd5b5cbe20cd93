/* central/ccli.c: being written */
#include "central/ccli.h"
