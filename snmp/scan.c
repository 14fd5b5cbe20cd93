/* snmp/scan.c: not written yet */
#include "snmp/scan.h"
