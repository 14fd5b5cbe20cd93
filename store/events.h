/* store/events.h: device states and events in the agent database (schema version 3 in
 * store/schema.h; every SQL statement about them lives in store/events.c).
 *
 * A device's state ("active", "silent", "disconnected") and since when; the events the
 * agent noticed (state changes, cartridge replacements), kept as history and queued for
 * upload like readings: a batch carries the events not batched yet and marks them in its
 * own transaction (uplink/batch.c); delivering the batch drops them from the queue
 * (store/outbox.c). The rules that decide states and events are in agent/health.c. */
#ifndef ASR_EVENTS_H
#define ASR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/store.h"

#define ASR_EVENTS_STATE_MAX 16    /* "disconnected" + NUL fits */
#define ASR_EVENTS_KIND_MAX 32     /* an event kind: a short word */
#define ASR_EVENTS_DETAIL_MAX 512  /* an event detail: one line */
#define ASR_EVENTS_BATCH_MAX 10000 /* events carried by one batch at most */

/* One stored event. */
typedef struct {
  int64_t id, device_id, t;
  char kind[ASR_EVENTS_KIND_MAX];
  char detail[ASR_EVENTS_DETAIL_MAX];
} asr_event;

/* Reads the state name of device id into state (n bytes) and since when into *since
 * (first_seen for a device that never changed state). ASR_ERR_NOT_FOUND: no device id. */
asr_result asr_events_get_state(asr_store *st, int64_t id, char *state, size_t n, int64_t *since);

/* Sets the state of device id (since t) and, when kind is not NULL, records the event
 * (t, kind, detail), in one transaction (or in the caller's). */
asr_result asr_events_set_state(asr_store *st, int64_t id, const char *state, int64_t t,
                                const char *kind, const char *detail);

/* Records an event of device id (kind 1..31 bytes; detail cut to one line). */
asr_result asr_events_add(asr_store *st, int64_t id, int64_t t, const char *kind,
                          const char *detail);

typedef int (*asr_events_cb)(const asr_event *e, void *ctx);

/* Calls cb for each event of device id (0 = every device) with t >= since, oldest first.
 * cb returning non-zero stops the walk. */
asr_result asr_events_foreach(asr_store *st, int64_t id, int64_t since, asr_events_cb cb,
                              void *ctx);

/* The levels of the two newest readings of device id: cur (at *t_cur) and prev (at
 * *t_prev), each up to ASR_SUPPLIES_MAX entries; *n_prev is 0 and *t_prev 0 when there
 * is only one reading, *n_cur 0 and *t_cur 0 when there is none. */
asr_result asr_events_last_levels(asr_store *st, int64_t id, asr_store_level *cur, size_t *n_cur,
                                  int64_t *t_cur, asr_store_level *prev, size_t *n_prev,
                                  int64_t *t_prev);

/* The code (asr_result) of the newest failed poll of device id, ASR_OK when none. */
asr_result asr_events_last_failure_code(asr_store *st, int64_t id, asr_result *code);

/* Counts per state for status --check. */
typedef struct {
  int64_t devices, active, silent, disconnected;
} asr_events_counts;

/* Counts devices per state (superseded devices included: they are history too). */
asr_result asr_events_count_states(asr_store *st, asr_events_counts *out);

typedef int (*asr_events_state_cb)(int64_t id, const char *name, const char *state, int64_t since,
                                   void *ctx);

/* Calls cb for each device not active, most severe first (disconnected, then silent),
 * oldest state first; name is its serial, else its address. */
asr_result asr_events_foreach_flagged(asr_store *st, asr_events_state_cb cb, void *ctx);

/* ---- uplink: inside a batch's transaction (store/outbox.h) ---- */

/* Walks up to limit events (0 = ASR_EVENTS_BATCH_MAX) not batched yet (from_seq 0) or
 * carried by the undelivered batch from_seq, oldest first; *last_id receives the id of
 * the last one given (0 = none) and *count how many. */
asr_result asr_events_walk(asr_store *st, int64_t from_seq, size_t limit, asr_events_cb cb,
                           void *ctx, int64_t *last_id, size_t *count);

/* Marks the events of that walk (ids up to last_id) as carried by batch seq; count is
 * checked against the rows marked. */
asr_result asr_events_mark(asr_store *st, int64_t seq, int64_t from_seq, int64_t last_id,
                           size_t count);

/* True when events are waiting for a batch. */
asr_result asr_events_has_new(asr_store *st, bool *out);

#endif
