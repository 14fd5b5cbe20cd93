/* cstore_series.h: the daily roll-up of the supplies' levels, their series (the engine's
 * per-supply state, central/cseries.h) and the retention of raw readings (central schema
 * step 13; docs/replenishment.md, "The engine's state"; asr-central(8), "Retention").
 *
 * - level_days: one row per (device, supply, day): the day's last reading (level, max,
 *   percent, its time t), exactly what grouping the raw levels by day gives (the last
 *   one of the day; on equal times the one stored first). The forecasts and the 90-day
 *   charts read it; it is kept for the roll-up days (rollup_days), longer than the raw
 *   readings (retention_days).
 * - supply_series: per (device, supply), the days of level_days from a `from` day on,
 *   encoded (cseries.h): the ingest keeps it at most CSERIES_KEEP_DAYS days long, so that
 *   the engine reads one small row per supply whatever the history.
 * Both are written by the ingest, in the batch's transaction, from the batch's readings
 * only: a reading is folded into its day when it is that day's newest (a late reading of
 * a restored agent included); a day before the series' `from` (older than the window the
 * engine reads) goes to the roll-up only. */
#ifndef ASR_CSTORE_SERIES_H
#define ASR_CSTORE_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"

/* Days a supply's series keeps (the engine's default window, CENGINE_LOOKBACK_DAYS, and a
 * week more): a longer window reads the roll-up instead. */
#define CSERIES_KEEP_DAYS 128

/* The SQL of schema step 13 (central/cstore.c lists it among its steps): the tables, the
 * roll-up of the raw levels already stored, an empty series per supply (built on use). */
extern const char cstore_series_schema_sql[];

/* One level of a batch for the roll-up: its device's id, its reading's time, the level,
 * and its position in the batch (the first of equal times wins, as the raw table's). */
typedef struct {
  int64_t dev, t;
  const cstore_level *lv;
  uint32_t pos;
} cstore_series_item;

/* Folds items[0..n) (reordered here) into the daily roll-up and the supplies' series, in
 * the caller's transaction (cstore_apply's); now is the central's time (the series keep
 * CSERIES_KEEP_DAYS days before it). */
asr_result cstore_series_rollup(cstore *st, cstore_series_item *items, size_t n, int64_t now);

/* Binds lv's level, max and percent to parameters i, i + 1, i + 2 of s (NULL when absent);
 * the ingest's statements share it (cdb.h). */
typedef struct cdb_stmt cdb_stmt;
void cstore_bind_level(cdb_stmt *s, int i, const cstore_level *lv);

/* Calls cb with the last level of each day from..to (inclusive) of supply idx of device
 * dev, by day, from the supply's series when it holds those days, else from the roll-up:
 * the same days either way (has_max and max are not set from a series). */
asr_result cstore_series_levels(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                cstore_rp_level_cb cb, void *ctx);

/* The engine's read of a site (one statement, not one per supply): for each supply of a
 * device of site site_id whose series holds the days from..to, cb(dev, idx, NULL) then
 * cb(dev, idx, day) for each of those days, as cstore_series_levels gives them; the other
 * supplies (no series, or a shorter one) are the caller's to read with
 * cstore_series_levels. Stops when cb returns non-zero. */
typedef int (*cstore_series_site_cb)(int64_t dev, int32_t idx, const cstore_rp_level *l, void *ctx);
asr_result cstore_series_site_levels(cstore *st, int64_t site_id, int64_t from, int64_t to,
                                     cstore_series_site_cb cb, void *ctx);

/* cstore_series_levels computed again from the raw levels (grouped by day, as before the
 * roll-up): the reference the tests compare the state with (asr-central replenish
 * --recompute). */
asr_result cstore_series_levels_raw(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                    cstore_rp_level_cb cb, void *ctx);

/* What cstore_series_prune deleted. */
typedef struct {
  int64_t levels, readings, events, meter_reads, level_days, batches, problems;
  int64_t chunks; /* transactions */
} cstore_prune_report;

/* Deletes, for the devices numbered from *cursor on (at most `devices` of them), the raw
 * levels, readings and events older than raw_before (Unix seconds) and the roll-up days
 * before rollup_before (days): one chunk, in the caller's transaction. *cursor moves past
 * them; 0 when every device was done. rep accumulates. */
asr_result cstore_series_prune(cstore *st, int64_t raw_before, int64_t rollup_before,
                               size_t devices, int64_t *cursor, cstore_prune_report *rep);

/* Deletes at most `rows` each of the meter reads older than raw_before, and of the batch
 * records and refusals received before it (a batch sent again after that is taken as new:
 * its readings, pruned too, are stored again, then pruned again): one chunk, in the
 * caller's transaction. *more when some may be left. rep accumulates. */
asr_result cstore_series_prune_other(cstore *st, int64_t raw_before, size_t rows,
                                     cstore_prune_report *rep, bool *more);

#endif
