/* cretain.h: what asr-central keeps, and for how long (asr-central(8), "Retention").
 *
 * After each day's engine run the raw readings older than the rules' retention_days
 * (levels, readings with their page counts, the agents' events, meter reads, and the
 * records of the batches and refusals that brought them) are deleted, and the daily
 * roll-up's days older than rollup_days (cstore_series.h): the engine and the status
 * page's charts read the roll-up, never the raw readings, so neither notices. The work
 * goes in chunks of devices (or of rows), each its own short transaction, so that the
 * agents' uploads go on between two chunks; a run that stops half-way (a restart, a busy
 * database) is finished by the next one, since every chunk deletes what is older than a
 * date. */
#ifndef ASR_CENTRAL_CRETAIN_H
#define ASR_CENTRAL_CRETAIN_H

#include <stdint.h>

#include "central/cstore.h"
#include "central/cstore_series.h"
#include "common/result.h"
#include "replenish/rules.h"

#define CRETAIN_CHUNK_ROWS 50000 /* rows a chunk aims to delete at most (one transaction) */

/* Deletes what the rules c no longer keep on day today (days since the epoch), chunk after
 * chunk; rep (zeroed here) counts it. An error stops it (the next run goes on). */
asr_result cretain_run(cstore *st, const asr_rp_conf *c, int64_t today, cstore_prune_report *rep);

#endif
