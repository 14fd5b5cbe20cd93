/* meters.h: the agent's stored billing meters (schema version 7, store/schema.h).
 *
 * Every good poll stores each meter the printer reported (snmp/meters.c) at the poll's
 * time, checked against the meter's previous read: a value that went backwards, jumped
 * implausibly fast, or fell to near zero (a counter reset after a controller board swap)
 * is KEPT as read, with a flag and a note saying what was seen: never "fixed". */
#ifndef ASR_STORE_METERS_H
#define ASR_STORE_METERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/device.h"
#include "store/store.h"

/* Pages per minute no printer sustains (the fastest production engines print ~150 ppm),
 * and the slack allowed on top: beyond (elapsed minutes * rate + slack) a rise is a jump. */
#define ASR_METER_JUMP_PPM 300
#define ASR_METER_JUMP_SLACK 5000

typedef struct {
  char name[32], unit[24], source[24];
  int64_t t, value;
  char flag[16];  /* "", "backwards", "jump", "reset" */
  char note[160]; /* one line explaining the flag */
} asr_meter_read;

/* The flag and note of value read at t, given the previous read (prev_t 0 = none). Pure:
 * exposed for tests. */
void asr_meter_check(int64_t prev_t, int64_t prev, int64_t t, int64_t value, char *flag,
                     size_t flag_n, char *note, size_t note_n);

/* Stores dev's meters for device id at time t, checked (inside the caller's transaction). */
asr_result asr_meters_save(asr_store *st, int64_t id, const asr_device *dev, int64_t t);

typedef int (*asr_meters_cb)(const asr_meter_read *m, void *ctx);

/* Calls cb for each meter read of device id at exactly time t (what one reading carries). */
asr_result asr_meters_at(asr_store *st, int64_t id, int64_t t, asr_meters_cb cb, void *ctx);

/* One meter of one device over a period: first and last read in [from, until), and the
 * usage between them as a billing clerk needs it when the counter did not simply rise. */
typedef struct {
  int64_t device_id;
  char device[160]; /* key of the device ("serial:...") */
  char model[128];
  asr_meter_read start, end;
  int reads;                    /* reads in the period */
  int flags;                    /* reads flagged in the period (the first read excepted) */
  int resets, backwards, jumps; /* of those, by flag */
  int64_t usage;                /* asr_meter_usage of the reads, >= 0 */
  char last_flag[16], last_note[160];
  char explain[320]; /* how usage was counted when a read was flagged, else "" */
} asr_meter_period;

/* Usage over consecutive reads, fed one at a time (pure, exposed for tests): the sum of the
 * rises between reads, where the change into a read flagged "reset" (a new counter: the
 * rises before and after it count, the change across it cannot be known) or "jump"
 * (implausible) is not counted, and after a read flagged "backwards" the counter is
 * billed again only above the highest read before it (a glitch is not billed twice).
 * Never negative; saturates at INT64_MAX. */
typedef struct {
  bool started;
  int64_t last, high, usage;
} asr_meter_usage;

void asr_meter_usage_add(asr_meter_usage *u, int64_t value, const char *flag);

typedef int (*asr_meter_period_cb)(const asr_meter_period *p, void *ctx);

/* Calls cb per device and meter having reads in [from, until), ordered by device and name. */
asr_result asr_meters_period(asr_store *st, int64_t from, int64_t until, asr_meter_period_cb cb,
                             void *ctx);

#endif
