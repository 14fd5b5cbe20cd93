/* snmp/recording.c: not written yet */
#include "snmp/recording.h"
