/* alerts.h: the Printer-MIB alert table (RFC 3805 prtAlertTable), decoded.
 *
 * asr_alerts_read() turns the rows of a printer into asr_alert values: codes kept, names
 * given by the functions below (docs/meters.md lists them), descriptions decoded and
 * bounded. A printer's table is a moving window whose indexes are reused, so an alert's
 * identity is its content (asr_alert_key), never its index alone. Which alerts are
 * critical is a table with defaults (asr_alert_critical). Pure logic, no I/O. */
#ifndef ASR_ALERTS_H
#define ASR_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/device.h"
#include "snmp/vbset.h"

/* Bounds of a hostile table (docs/meters.md): the first 80,000 cells of prtAlertTable are
 * looked at, the first ASR_ALERT_ROWS_MAX rows (by index) decoded, ASR_ALERTS_MAX kept;
 * a description is decoded to at most ASR_ALERT_DESCR_MAX - 1 bytes of UTF-8. */
#define ASR_ALERT_ROWS_MAX 1024

/* Fills d->alerts from prtAlertTable (rows of hrDevice hr, or all rows when hr is 0 or has
 * none). Keeps at most ASR_ALERTS_MAX: critical ones first, then by index; d->alerts_total
 * says how many rows there were. Sets d->has_alert_table (an absent table is an empty
 * one: called for printers only). */
void asr_alerts_read(const asr_vbset *vbs, uint32_t hr, asr_device *d);

/* RFC 3805 names of the codes, or NULL when the code is not one of the MIB's. */
const char *asr_alert_severity_name(int32_t code); /* "critical", "warning", ... */
const char *asr_alert_training_name(int32_t code); /* "fieldService", "trained", ... */
const char *asr_alert_group_name(int32_t code);    /* "markerSupplies", "cover", ... */
const char *asr_alert_code_name(int32_t code);     /* "jam", "markerTonerEmpty", ... */

/* The mail routing group of an alert ("service", "supplies", "operator"): which address
 * the central mails for it (docs/meters.md). */
const char *asr_alert_route(const asr_alert *a);

/* True when the alert is critical by the default table: an event for the central. */
int asr_alert_critical(const asr_alert *a);

/* Seconds a critical alert must persist before it becomes an event: jams, open covers
 * and doors come and go in normal use (ASR_ALERT_PERSIST_S); 0 for the others. */
#define ASR_ALERT_PERSIST_S 600
int64_t asr_alert_persist_seconds(const asr_alert *a);

/* The identity of an alert across polls: "group/group_index/location/code/severity/
 * training/description" hashed to 16 hex digits (index and time excluded). */
void asr_alert_key(const asr_alert *a, char *out, size_t n);

/* One line naming the alert: "critical markerTonerEmpty (markerSupplies 1): Black toner
 * empty". */
void asr_alert_summary(const asr_alert *a, char *out, size_t n);

#endif
