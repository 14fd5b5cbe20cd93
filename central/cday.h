/* cday.h: the last level of one day of a supply, the record the engine reads a supply's
 * history in: from the raw readings or the daily roll-up (central/cstore.h) and in a
 * supply's series (central/cseries.h, the series' pure encoding). Apart from both, so that
 * the encoding does not depend on the store that uses it (scripts/check-includes.py). */
#ifndef ASR_CENTRAL_CDAY_H
#define ASR_CENTRAL_CDAY_H

#include <stdbool.h>
#include <stdint.h>

/* The last level of one day of a supply. */
typedef struct {
  int64_t day;
  bool has_level, has_max, has_percent;
  int64_t level, max;
  int percent;
} cstore_rp_level;

#endif
