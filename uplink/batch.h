/* uplink/batch.h: builds the batches of the outbox (docs/protocol.md, "Upload").
 *
 * A batch is built in one store transaction: the readings not batched yet (or those of a
 * batch being split) are walked in time order, their devices gathered with their supplies
 * metadata (once per device), the JSON written compactly with jansson (levels as arrays),
 * gzip'd, and stored in the outbox with its readings marked (store/outbox.h). */
#ifndef ASR_BATCH_H
#define ASR_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/device.h"
#include "common/result.h"
#include "store/outbox.h"
#include "store/store.h"

#define ASR_BATCH_MAX_READINGS_DEFAULT 100000
#define ASR_BATCH_HEARTBEAT_SECONDS 86400 /* a quiet agent still sends a batch a day */
/* The protocol version the agent sends: 2 = 1 + readings[].meters (docs/protocol.md). */
#define ASR_PROTOCOL_VERSION 2

typedef struct {
  const char *agent_id;
  const char *agent_version;
  int64_t now;
  size_t max_readings; /* readings per batch (>= 1) */
} asr_batch_opts;

/* What a build did. */
typedef struct {
  int64_t seq;       /* 0 when no batch was built */
  size_t n_readings; /* readings in it (0 for a heartbeat) */
  size_t n_devices;
  size_t n_events;           /* events in it */
  size_t json_len, body_len; /* before and after gzip */
} asr_batch_built;

#define ASR_BATCH_NONCE_MAX 32 /* characters of the random part of a batch id */

/* Writes the batch id of seq into out (size n): "AGENT-0000000042-NONCE", or
 * "AGENT-0000000042" without a nonce (NULL or ""). The agent's batches carry 16 random
 * hex characters: ids never repeat, even from a restored or copied database. A nonce is
 * at most ASR_BATCH_NONCE_MAX letters and digits (else ASR_ERR_INVALID). */
asr_result asr_batch_id(const char *agent_id, int64_t seq, const char *nonce, char *out, size_t n);

/* Builds one batch of up to o->max_readings new readings, with the events not batched yet
 * (up to ASR_EVENTS_BATCH_MAX) and the devices both refer to, and stores it in the outbox
 * in one transaction. With no new reading or event: builds a heartbeat (no readings, no
 * devices) when heartbeat is set, else nothing (out->seq 0). */
asr_result asr_batch_build(asr_store *st, const asr_batch_opts *o, bool heartbeat,
                           asr_batch_built *out);

/* True when a heartbeat is due: nothing new, nothing pending, and no batch delivered
 * in the last ASR_BATCH_HEARTBEAT_SECONDS. Pure. */
bool asr_batch_heartbeat_due(bool has_new, bool pending, int64_t last_delivered, int64_t now);

/* Replaces the undelivered batch b by two batches carrying its readings (first and
 * second half, new ids, the same place in the sending order), in one transaction.
 * ASR_ERR_LIMIT when b carries fewer than two readings (it cannot be split). */
asr_result asr_batch_split(asr_store *st, const asr_batch_opts *o, const asr_outbox_batch *b);

/* The percent sent with a stored level: the supply s (its metadata) with this level and
 * max, normalized as docs/supplies.md says for the vendor enterprise; -1 for null. */
int asr_batch_percent(const asr_supply *meta, int64_t level, int64_t max, uint32_t enterprise);

/* The IANA enterprise number in a sysObjectID ("1.3.6.1.4.1.N..."), 0 when none. */
uint32_t asr_batch_enterprise(const char *sys_object_id);

#endif
