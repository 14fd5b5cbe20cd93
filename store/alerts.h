/* store/alerts.h: the agent's tracking of printer alerts across polls (agent schema 7,
 * table alerts; docs/meters.md).
 *
 * A printer's prtAlertTable is a moving window whose indexes are reused, so an alert is
 * known by its content (asr_alert_key): at each poll that read the table, an alert not
 * seen before (or cleared since) is new, one seen before persists, and an open one that
 * is gone is cleared. A critical alert (asr_alert_critical) becomes an event ("alert:KEY",
 * detail its summary) once: at once, or for jams and open covers once it has persisted
 * asr_alert_persist_seconds; its clearing is an event too ("alert_cleared:KEY"). Events
 * go to the central with the next batch. */
#ifndef ASR_STORE_ALERTS_H
#define ASR_STORE_ALERTS_H

#include <stdint.h>

#include "common/device.h"
#include "store/store.h"

#define ASR_ALERTS_KEEP_CLEARED (90 * 86400) /* cleared alerts are forgotten after this, */
#define ASR_ALERTS_KEEP_MAX 256              /* and past this many per printer, oldest first */
#define ASR_ALERT_EVENTS_PER_POLL                                                                  \
  8 /* critical alerts raised per printer and poll; the rest                                       \
     * are raised at the next polls (a hostile table cannot                                        \
     * flood the batches) */

/* Tracks dev's alerts of a poll at time t for device id (inside the caller's transaction).
 * Nothing when the poll did not read the table; nothing is cleared when the printer had
 * more rows than the agent keeps (it cannot tell which are gone). At most
 * ASR_ALERT_EVENTS_PER_POLL alert events a poll, ASR_ALERTS_KEEP_MAX alerts kept. */
asr_result asr_alerts_track(asr_store *st, int64_t id, const asr_device *dev, int64_t t);

/* The alert events ("alert:KEY", "alert_cleared:KEY") waiting for a batch with an id above
 * after_id: how many (*n) and the highest id (*max_id, after_id when none). */
asr_result asr_alerts_events_waiting(asr_store *st, int64_t after_id, int64_t *n, int64_t *max_id);

#endif
