/* cseries.h: a supply's recent daily series, the engine's per-supply state (issue 15).
 *
 * The daily engine needs, for every supply, the last level of each recent day (the
 * forecasts' windows, the calendar weeks of the high-use rule, the days it has not checked
 * for a replacement yet). Reading those days from the raw readings (24 a day) every day
 * made the engine's day grow with history; a series kept up to date by the ingest, one row
 * per supply, makes it cost the same every day. A series holds every day on or after its
 * `from` day, in order, each with the level and percent of that day's last reading, exactly
 * as the daily roll-up (and, before the roll-up, the raw readings) say; this file only
 * edits and encodes it: pure, no I/O.
 *
 * The encoding (a BLOB of central/cstore_series.c's supply_series table): a version byte
 * (1), the from day (zigzag varint), the number of days (varint), then per day: the days
 * since the previous one (varint; the first day's since from), a byte of flags (1: a
 * level, 2: a percent), the level (zigzag varint) and the percent (zigzag varint) when
 * present. A blob that does not decode completely is refused (never half read). */
#ifndef ASR_CENTRAL_CSERIES_H
#define ASR_CENTRAL_CSERIES_H

#include <stddef.h>
#include <stdint.h>

#include "central/cday.h"
#include "common/result.h"

/* Days a series holds at most (a blob of more is refused). */
#define CSERIES_DAYS_MAX 4096

/* A supply's series: days d[0..n) by day, all >= from (has_max is never set: the engine
 * does not use a day's max). */
typedef struct {
  int64_t from;
  cstore_rp_level *d;
  size_t n, cap;
} cseries;

/* An empty series that starts on day from. */
void cseries_init(cseries *s, int64_t from);

/* Sets the day l->day to l (replacing what the series had for that day, else inserted in
 * order). A day before from is not the series' business: ignored. ASR_ERR_NOMEM, or
 * ASR_ERR_LIMIT past CSERIES_DAYS_MAX days. */
asr_result cseries_put(cseries *s, const cstore_rp_level *l);

/* Drops the days before from and moves from there (never back). */
void cseries_trim(cseries *s, int64_t from);

/* Encodes s into *blob (malloc'd, the caller frees) of *len bytes. */
asr_result cseries_encode(const cseries *s, unsigned char **blob, size_t *len);

/* Decodes blob (len bytes) into s (initialised here; cseries_free it, also on error).
 * ASR_ERR_INVALID when the blob is not a whole series (wrong version, truncated, trailing
 * bytes, days out of order or too many). */
asr_result cseries_decode(const void *blob, size_t len, cseries *s);

/* Frees the days of s. */
void cseries_free(cseries *s);

#endif
