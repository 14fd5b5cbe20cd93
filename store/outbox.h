/* store/outbox.h: the uplink's part of the agent database (every SQL statement of the
 * uplink; the schema is version 2 in store/schema.h).
 *
 * Three things live here: the enrolment (agent id, secret, endpoint, TLS and proxy
 * settings) with the upload state shown by `status`; the outbox of batches, each built in
 * one transaction with the readings it carries marked, and marked delivered only after
 * the central's 2xx; and which readings are on their way (upload_queue).
 *
 * Exactly once: a batch is built (row inserted, readings marked) in one transaction, so
 * a crash leaves either nothing or a pending batch with its exact body. A pending batch is
 * sent again with the same id and bytes until the central acknowledges it; the central
 * answers "duplicate" for an id it already committed. */
#ifndef ASR_OUTBOX_H
#define ASR_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"

#define ASR_OUTBOX_PATH_MAX 1024
#define ASR_OUTBOX_TEXT_MAX 256

/* The enrolment and the connection settings (the uplink row). */
typedef struct {
  char endpoint[ASR_OUTBOX_PATH_MAX];
  char agent_id[64];
  char secret[80]; /* 64 hex: never logged or printed */
  char site[ASR_OUTBOX_TEXT_MAX];
  int64_t enrolled_at;
  char ca_file[ASR_OUTBOX_PATH_MAX];
  char ca_path[ASR_OUTBOX_PATH_MAX];
  char pin[ASR_OUTBOX_TEXT_MAX]; /* "sha256//BASE64[;sha256//...]" or "" */
  char client_cert[ASR_OUTBOX_PATH_MAX];
  char client_key[ASR_OUTBOX_PATH_MAX];
  char proxy[ASR_OUTBOX_PATH_MAX]; /* "" = environment, "none", or a proxy URL */
  char proxy_user_file[ASR_OUTBOX_PATH_MAX];
} asr_outbox_cred;

/* The upload state for `status`. */
typedef struct {
  bool enrolled;
  char endpoint[ASR_OUTBOX_PATH_MAX];
  char agent_id[64];
  char site[ASR_OUTBOX_TEXT_MAX];
  int64_t last_upload; /* time of the last 2xx, 0 = never */
  char last_error[ASR_OUTBOX_TEXT_MAX];
  int64_t last_error_at;
  char stopped[ASR_OUTBOX_TEXT_MAX];         /* why uploads stopped (401/403), "" = not stopped */
  int64_t pending_batches, pending_readings; /* readings not batched yet included */
  int64_t held_batches, held_readings;
  int64_t delivered_batches;
  int64_t bytes;             /* bodies kept in the outbox */
  int64_t undelivered_bytes; /* bodies of pending and held batches */
  bool outbox_full;          /* the last run found them over the bound */
} asr_outbox_status;

/* One batch of the outbox. body is malloc'd by asr_outbox_load (free it). */
typedef struct {
  int64_t seq, position;
  char batch_id[128];
  uint8_t *body;
  size_t body_len;
  int64_t n_readings;
  unsigned attempts;
} asr_outbox_batch;

/* Called for each reading of a batch being built, in time order (then device id).
 * Non-zero stops the walk. */
typedef int (*asr_outbox_reading_cb)(int64_t device_id, int64_t t, bool has_page_count,
                                     int64_t page_count, const asr_store_level *lv, size_t n,
                                     void *ctx);

/* Where a walk stopped: the last reading given (the batch's cut). */
typedef struct {
  size_t count;
  int64_t last_t, last_device;
} asr_outbox_cut;

/* ---- enrolment ---- */

/* Loads the enrolment; ASR_ERR_NOT_FOUND when the agent is not enrolled. */
asr_result asr_outbox_get_cred(asr_store *st, asr_outbox_cred *out);

/* Stores a (new) enrolment in one transaction: clears the stop and the last error, and
 * gives the readings of undelivered batches of a previous enrolment back to the next
 * batch (their rows are deleted: the central never acknowledged them; it stores a
 * reading sent twice once). */
asr_result asr_outbox_enroll(asr_store *st, const asr_outbox_cred *c, int64_t now);

/* Replaces the endpoint and the TLS and proxy settings of the enrolment (not the agent id
 * or secret); ASR_ERR_NOT_FOUND when not enrolled. */
asr_result asr_outbox_save_settings(asr_store *st, const asr_outbox_cred *c);

/* Marks uploads stopped with reason (401/403), or clears the stop (reason ""). */
asr_result asr_outbox_set_stopped(asr_store *st, const char *reason);

/* Records the last error of an upload run ("" clears it). */
asr_result asr_outbox_set_error(asr_store *st, const char *error, int64_t now);

/* Records whether undelivered bodies exceed the outbox bound (shown by status). */
asr_result asr_outbox_set_full(asr_store *st, bool full);

/* The upload state (not enrolled: enrolled false, counts still filled). */
asr_result asr_outbox_get_status(asr_store *st, asr_outbox_status *out);

/* Why the oldest held batch was refused (the central's answer, as stored) into out (n
 * bytes); "" when no batch is held. */
asr_result asr_outbox_held_reason(asr_store *st, char *out, size_t n);

/* ---- building batches: begin, next_seq, walk, add, commit (one transaction) ---- */

/* Starts the transaction of a batch (BEGIN IMMEDIATE). */
asr_result asr_outbox_begin(asr_store *st);

/* Commits it. */
asr_result asr_outbox_commit(asr_store *st);

/* Rolls it back (after an error; nothing of the batch remains). */
void asr_outbox_rollback(asr_store *st);

/* Takes the next batch sequence number (inside the transaction). */
asr_result asr_outbox_next_seq(asr_store *st, int64_t *seq);

/* Walks up to limit readings (0 = no limit) not batched yet (from_seq 0), or carried
 * by the undelivered batch from_seq, in time order; *cut tells where it stopped. */
asr_result asr_outbox_walk(asr_store *st, int64_t from_seq, size_t limit, asr_outbox_reading_cb cb,
                           void *ctx, asr_outbox_cut *cut);

/* Inserts batch b (state pending; b->seq from asr_outbox_next_seq) and marks the
 * readings of the walk (from_seq, cut) as carried by it. */
asr_result asr_outbox_add(asr_store *st, const asr_outbox_batch *b, int64_t from_seq,
                          const asr_outbox_cut *cut, int64_t now);

/* Deletes the undelivered batch seq once its readings moved to other batches (a split). */
asr_result asr_outbox_remove(asr_store *st, int64_t seq);

/* True when there are readings or events not batched yet. */
asr_result asr_outbox_has_new(asr_store *st, bool *out);

/* The time of the last delivered batch (0 = never) and whether a batch is pending. */
asr_result asr_outbox_activity(asr_store *st, int64_t *last_delivered, bool *pending);

/* ---- sending ---- */

/* Loads the first pending batch after (position, seq) in sending order; pass (-1, -1)
 * for the first. ASR_ERR_NOT_FOUND when there is none. */
asr_result asr_outbox_next_pending(asr_store *st, int64_t position, int64_t seq,
                                   asr_outbox_batch *out);

/* Frees the body of a loaded batch. */
void asr_outbox_batch_free(asr_outbox_batch *b);

/* The batch was acknowledged (2xx): delivered, its readings too, last_upload = now. */
asr_result asr_outbox_delivered(asr_store *st, int64_t seq, int64_t now);

/* The central refused the batch for good (other 4xx): kept aside with the reason. */
asr_result asr_outbox_hold(asr_store *st, int64_t seq, const char *reason, int64_t now);

/* An attempt failed and will be retried: attempts + 1, the reason, the next attempt. */
asr_result asr_outbox_attempt_failed(asr_store *st, int64_t seq, const char *reason,
                                     int64_t next_attempt_at);

/* Held batches go back to pending (upload --retry-held); *n receives how many. */
asr_result asr_outbox_release_held(asr_store *st, int64_t *n);

/* Drops the bodies of delivered batches, oldest first, until the bodies kept total at
 * most max_bytes. Undelivered bodies are never dropped: *undelivered receives their
 * total, which may exceed max_bytes (the caller says so loudly). */
asr_result asr_outbox_prune(asr_store *st, int64_t max_bytes, int64_t *undelivered);

#endif
