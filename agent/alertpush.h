/* agent/alertpush.h: `alert_upload immediate` (asr-agent.conf(5)): a poll (or discovery)
 * that raised or cleared a critical alert (store/alerts.h: events "alert:KEY" and
 * "alert_cleared:KEY") brings the next upload forward to now instead of the daily upload
 * window, at most once every ASR_ALERT_UPLOAD_GAP_S: an alert that comes sooner is
 * uploaded when the gap has passed. With `alert_upload batch` (the default) alert events
 * go with the daily upload like every other event. */
#ifndef ASR_ALERTPUSH_H
#define ASR_ALERTPUSH_H

#include <stdint.h>

#include "conf/conf.h"

#define ASR_ALERT_UPLOAD_GAP_S 300 /* at most one early upload every 5 minutes */

/* What the daemon remembers between polls. */
typedef struct {
  int64_t seen_id;    /* the highest alert event id already considered */
  int64_t last_early; /* when the last early upload was planned, 0 = never */
} asr_alert_push;

/* The upload time after a poll (pure): next_upload unchanged in batch mode or when the poll
 * left no new alert event (events == 0); else now, or last_early + ASR_ALERT_UPLOAD_GAP_S
 * when the last early upload was planned less than the gap before now; never later than
 * next_upload. */
int64_t asr_alert_upload_at(int immediate, int64_t events, int64_t now, int64_t last_early,
                            int64_t next_upload);

/* The daemon's hook after a poll: counts the alert events that wait for a batch and were
 * not seen by an earlier call (the store at c->database), and returns the upload time
 * (asr_alert_upload_at), logging an early one. A store that cannot be read changes
 * nothing (the daily upload carries the events). */
int64_t asr_alert_push_after_poll(asr_alert_push *p, const asr_conf *c, int64_t now,
                                  int64_t next_upload);

#endif
