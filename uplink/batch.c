/* uplink/batch.c: being written */
#include "uplink/batch.h"
