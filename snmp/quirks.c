/* snmp/quirks.c: not written yet */
#include "snmp/quirks.h"
