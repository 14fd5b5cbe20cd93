/* printer.h: the Printer-MIB model.
 *
 * Turns the variable bindings of one host (an asr_vbset, from a live poll or a
 * recording) into an asr_device: identity, status, page count and supplies with the
 * normalized percent and state of docs/supplies.md. No I/O and no net-snmp here: it is
 * pure logic over untrusted data, and every vendor quirk is a row of a table
 * (snmp/quirks.c). */
#ifndef ASR_PRINTER_H
#define ASR_PRINTER_H

#include <stddef.h>

#include "common/device.h"
#include "snmp/vbset.h"

/* One object the engine fetches for the model: a scalar to GET or a subtree to walk. */
typedef struct {
  const char *name; /* MIB object name, for logs */
  const char *oid;  /* dotted, no leading dot */
} asr_oid_row;

/* The first request sent to a host (GET): cheap, tells whether it answers at all.
 * Ends with a {NULL, NULL} row. */
extern const asr_oid_row asr_printer_probe[];

/* The subtrees walked for a printer (table columns, walked side by side with GETBULK).
 * Ends with a {NULL, NULL} row. */
extern const asr_oid_row asr_printer_walks[];

/* After the walk: the scalars still worth a GET (vendor private serial OIDs chosen by
 * sysObjectID when no standard serial was found). Writes up to max OID strings (static
 * storage) into oids and returns how many. */
size_t asr_printer_extra_gets(const asr_vbset *vbs, const char **oids, size_t max);

/* True when the answers show a printer: some hrDeviceType is hrDevicePrinter, or the
 * Printer-MIB is present. */
int asr_printer_is_printer(const asr_vbset *vbs);

/* Builds the device seen at address ip from a finished vbset. Never fails on bad
 * data: garbage becomes unknown values. ASR_ERR_NOT_PRINTER when it is not a printer
 * (the identity fields are still filled). */
asr_result asr_printer_build(const asr_vbset *vbs, const char *ip, asr_device *out);

#endif
