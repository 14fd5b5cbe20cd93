/* uplink/uplink.c: being written */
#include "uplink/uplink.h"
