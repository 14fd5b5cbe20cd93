/* meters.h: billing meters as data.
 *
 * A meter is a lifetime counter a provider bills by: total, black and colour impressions,
 * duplex, prints, copies, fax, scans. Two sources: the Printer-MIB's prtMarkerLifeCount
 * per marker with its prtMarkerCounterUnit (every printer), and vendors' private counters,
 * one table of (enterprise, OID, meter, unit, scale) chosen by sysObjectID's enterprise
 * number (snmp/meters.c; each row names its source and has a test in
 * tests/unit/check_meters.c; docs/meters.md lists them). Pure logic, no I/O. */
#ifndef ASR_METERS_H
#define ASR_METERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/device.h"
#include "snmp/vbset.h"

/* How a vendor counter's value is encoded. */
typedef enum {
  ASR_METER_NUMBER = 0, /* an INTEGER, Counter32/Gauge32, Counter64, or a string of digits */
  ASR_METER_BROTHER,    /* Brother brInfoCounter: records [code][0x01][len][value, big
                         * endian] then 0xFF; the row's record is the code */
} asr_meter_form;

/* One vendor counter. */
typedef struct {
  uint32_t enterprise; /* IANA enterprise number of sysObjectID */
  const char *oid;     /* exact instance, dotted (a GET after the walk) */
  const char *meter;   /* meter name (docs/meters.md) */
  const char *unit;    /* "impressions", "sheets", "clicks", "images" */
  int32_t scale;       /* value = reported * scale */
  asr_meter_form form; /* ASR_METER_NUMBER unless said */
  uint8_t record;      /* ASR_METER_BROTHER: the record code */
} asr_meter_row;

extern const asr_meter_row asr_meter_rows[];
extern const size_t asr_meter_rows_count;

/* Writes up to max distinct vendor meter OIDs (static storage) for this enterprise into
 * oids and returns how many (the scan GETs them after its walk). */
size_t asr_meters_oids(uint32_t enterprise, const char **oids, size_t max);

/* Fills d->meters from the set: prtMarkerLifeCount per marker ("marker.N", unit from
 * prtMarkerCounterUnit), then the enterprise's vendor rows that answered with a counter
 * in their form. Values that are negative or absurd (>= 2^53) are skipped, and so is a
 * string that is not 1-15 decimal digits (blanks and NULs around them allowed). */
void asr_meters_read(const asr_vbset *vbs, uint32_t enterprise, asr_device *d);

/* The value of record code in a Brother brInfoCounter string of len bytes: 1 and *v, or 0
 * when the string is malformed before that record or has none. Exposed for tests. */
int asr_meters_brother_record(const uint8_t *b, size_t len, uint8_t code, int64_t *v);

/* Name of a PrtMarkerCounterUnit code ("impressions", "sheets", ...) or NULL. */
const char *asr_meter_counter_unit_name(int32_t code);

/* True when name is a meter name this agent may send: 1-31 bytes of [a-z0-9._]. */
int asr_meter_name_ok(const char *name);

#endif
