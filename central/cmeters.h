/* cmeters.h: asr-central's billing meters (central schema step 7; docs/meters.md).
 *
 * Every meter read a version 2 batch carries is stored with its reading, once per
 * (device, meter, time), as read: the agent's flag and note (backwards, jump, reset) are
 * kept, never "fixed". A period's report gives per device and meter the first and last
 * read, and the usage: the sum of the rises between consecutive reads of the period,
 * leaving out the rise into a flagged read (so that a reset or a jump is not billed; the
 * clerk sees how many reads were flagged and the last flag's note). */
#ifndef ASR_CMETERS_H
#define ASR_CMETERS_H

#include <stdint.h>

#include "central/cstore.h"

/* The SQL of schema step 7 (central/cstore.c lists it among its steps). */
extern const char cmeters_schema_sql[];

/* Stores the meters of reading rd of device dev (inside cstore_apply's transaction); a
 * read already stored (same device, meter and time) is kept as first stored. */
asr_result cmeters_store(cstore *st, int64_t dev, const cstore_reading *rd);

/* One meter of one device over a period. Strings live until the callback returns; a
 * string the device never reported is "". */
typedef struct {
  const char *site, *device, *serial, *model; /* device: the device's key */
  const char *meter, *unit, *source;          /* unit and source of the last read */
  int64_t start_t, start, end_t, end;         /* first and last read of the period */
  int64_t usage;                              /* rises between unflagged reads */
  int64_t reads, flagged;                     /* reads in the period, flagged ones */
  const char *last_flag, *last_note;          /* of the newest flagged read, or "" */
} cmeters_row;

typedef int (*cmeters_cb)(const cmeters_row *m, void *ctx);

/* Calls cb per device and meter with reads in [from, until) (site NULL: every site),
 * ordered by site, device key and meter; cb returning non-zero stops. ASR_ERR_NOT_FOUND
 * (errmsg "no such site 'X'") when site names no site. */
asr_result cmeters_period(cstore *st, const char *site, int64_t from, int64_t until, cmeters_cb cb,
                          void *ctx);

#endif
