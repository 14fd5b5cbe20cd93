/* snmp/charset.c: not written yet */
#include "snmp/charset.h"
