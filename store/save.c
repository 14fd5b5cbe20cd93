/* save.c: a poll's answers in one transaction (save.h). */
#include "store/save.h"

#include "store/alerts.h"
#include "store/meters.h"

asr_result asr_store_save(asr_store *st, const asr_device *dev, uint16_t port,
                          const asr_snmp_cred *cred, int64_t now, int64_t *id)
{
  int64_t did = 0;
  asr_result r;

  if (!st || !dev)
    return ASR_ERR_INVALID;
  r = asr_store_begin(st);
  if (r)
    return r;
  r = asr_store_save_device(st, dev, port, cred, now, &did);
  if (!r && dev->n_meters > 0)
    r = asr_meters_save(st, did, dev, now);
  if (!r)
    r = asr_alerts_track(st, did, dev, now);
  if (!r)
    r = asr_store_commit(st);
  if (r) {
    asr_store_rollback(st);
    return r;
  }
  if (id)
    *id = did;
  return ASR_OK;
}
