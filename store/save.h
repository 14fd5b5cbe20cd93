/* save.h: a poll's answers in the store, in one transaction: the device and its reading
 * (store.c), its billing meters (meters.c), its alerts (alerts.c). Above those three, so
 * that the store's core never calls the files that use it (scripts/check-includes.py). */
#ifndef ASR_SAVE_H
#define ASR_SAVE_H

#include <stdint.h>

#include "common/cred.h"
#include "common/device.h"
#include "store/store.h"

/* Records a device that answered at time now (asr_store_save_device: identity, address,
 * port, credentials, reading), then its meters (asr_meters_save: the same time as the
 * reading) and its alerts (asr_alerts_track: new, persisting, cleared). *id receives the
 * device id (id may be NULL). One transaction: on any error nothing of this call
 * remains. */
asr_result asr_store_save(asr_store *st, const asr_device *dev, uint16_t port,
                          const asr_snmp_cred *cred, int64_t now, int64_t *id);

#endif
