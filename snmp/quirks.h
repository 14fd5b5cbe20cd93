/* quirks.h: vendor quirks as one data table (snmp/quirks.c), each row tested.
 * The Printer-MIB model consults it; see docs/supplies.md for every rule. */
#ifndef ASR_QUIRKS_H
#define ASR_QUIRKS_H

#include "common/device.h"

/* Vendor name for an IANA enterprise number ("HP" for 11), or NULL. */
const char *asr_quirks_vendor(uint32_t enterprise);

#endif
