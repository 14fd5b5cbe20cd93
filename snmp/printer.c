/* snmp/printer.c: not written yet */
#include "snmp/printer.h"
