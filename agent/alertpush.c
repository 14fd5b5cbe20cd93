/* agent/alertpush.c: `alert_upload immediate` (agent/alertpush.h). */
#include "agent/alertpush.h"

#include "common/date.h"
#include "common/log.h"
#include "common/util.h"
#include "store/alerts.h"
#include "store/store.h"

int64_t asr_alert_upload_at(int immediate, int64_t events, int64_t now, int64_t last_early,
                            int64_t next_upload)
{
  int64_t at = now;

  if (!immediate || events <= 0)
    return next_upload;
  if (last_early > 0 && last_early <= now && now - last_early < ASR_ALERT_UPLOAD_GAP_S)
    at = last_early + ASR_ALERT_UPLOAD_GAP_S;
  return at < next_upload ? at : next_upload;
}

int64_t asr_alert_push_after_poll(asr_alert_push *p, const asr_conf *c, int64_t now,
                                  int64_t next_upload)
{
  asr_store *st = NULL;
  char err[512] = "", iso[32];
  int64_t n = 0, max_id = p->seen_id, at;
  asr_result r;

  if (!c->alert_upload_immediate)
    return next_upload;
  r = asr_store_open(c->database, &st, err, sizeof(err));
  if (!r)
    r = asr_alerts_events_waiting(st, p->seen_id, &n, &max_id);
  if (r) {
    asr_log(ASR_LOG_WARN, "alert upload: alert events not read: %s",
            st ? asr_store_errmsg(st) : err);
    asr_store_close(st);
    return next_upload;
  }
  asr_store_close(st);
  p->seen_id = max_id;
  at = asr_alert_upload_at(1, n, now, p->last_early, next_upload);
  if (at < next_upload) {
    p->last_early = at;
    asr_time_iso(at, iso, sizeof(iso));
    asr_log(ASR_LOG_INFO, "alert upload: %lld critical alert %s waiting: upload at %s",
            (long long)n, asr_plural((long long)n, "event", "events"), iso);
  }
  return at;
}
