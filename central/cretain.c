/* cretain.c: deleting what asr-central no longer keeps (cretain.h). */
#include "central/cretain.h"

#include <string.h>

#define CHUNK_DEVICES_MIN 1
#define CHUNK_DEVICES_MAX 2048
#define CHUNK_DEVICES_START 256

/* Rows deleted so far (all tables). */
static int64_t rows_of(const cstore_prune_report *r)
{
  return r->levels + r->readings + r->events + r->level_days + r->meter_reads + r->batches +
         r->problems;
}

/* The devices' chunks: fewer devices when a chunk deleted more than CRETAIN_CHUNK_ROWS
 * (the first run on a long history), more when it deleted little (the daily run). */
static asr_result prune_devices(cstore *st, int64_t raw_before, int64_t rollup_before,
                                cstore_prune_report *rep)
{
  size_t devices = CHUNK_DEVICES_START;
  int64_t cursor = 1;
  asr_result r = ASR_OK;

  while (!r && cursor > 0) {
    int64_t before = rows_of(rep);
    r = cstore_tx_begin(st);
    if (!r)
      r = cstore_series_prune(st, raw_before, rollup_before, devices, &cursor, rep);
    if (!r)
      r = cstore_tx_commit(st);
    else
      cstore_tx_rollback(st);
    int64_t done = rows_of(rep) - before;
    if (done > CRETAIN_CHUNK_ROWS && devices > CHUNK_DEVICES_MIN)
      devices /= 2;
    else if (done < CRETAIN_CHUNK_ROWS / 4 && devices < CHUNK_DEVICES_MAX)
      devices *= 2;
  }
  return r;
}

/* The tables pruned by time through their indexes, CRETAIN_CHUNK_ROWS rows at a time. */
static asr_result prune_other(cstore *st, int64_t raw_before, cstore_prune_report *rep)
{
  bool more = true;
  asr_result r = ASR_OK;

  while (!r && more) {
    r = cstore_tx_begin(st);
    if (!r)
      r = cstore_series_prune_other(st, raw_before, CRETAIN_CHUNK_ROWS, rep, &more);
    if (!r)
      r = cstore_tx_commit(st);
    else
      cstore_tx_rollback(st);
    rep->chunks++;
  }
  return r;
}

asr_result cretain_run(cstore *st, const asr_rp_conf *c, int64_t today, cstore_prune_report *rep)
{
  int64_t raw_before = (today - c->retention_days) * 86400, rollup_before = today - c->rollup_days;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  if (asr_rp_conf_check(c) != ASR_OK)
    return ASR_ERR_INVALID;
  r = prune_devices(st, raw_before, rollup_before, rep);
  if (!r)
    r = prune_other(st, raw_before, rep);
  return r;
}
