/* uplink/http.c: being written */
#include "uplink/http.h"
