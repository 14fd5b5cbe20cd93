/* agent/moves.h: address changes and identity conflicts, for discover and poll.
 *
 * A printer is known by its serial (else its MAC) and followed across address changes
 * (DHCP). But a responder that reports a known printer's serial must not take the printer
 * over: a device seen at a new address is a move only when its old address is silent, or
 * answers as another device. So a command hands every printer that answered to
 * asr_moves_offer instead of saving it: it is saved at once unless the store knows it at
 * another address; then it waits, and asr_moves_settle decides after the scan:
 *
 *   - the identity answered at two addresses in this run        -> conflict
 *   - its old address was taken over by another device since     -> move
 *   - else the old address is asked again now: it answers as the
 *     same device -> conflict; it is silent or another device    -> move
 *
 * A conflict leaves the record where it is, stores an event "serial_conflict" on it (once
 * a day for the same detail) and is reported to the command; a move is saved as before. A
 * device left undecided (the run was stopped, or its deadline passed before the old address
 * could be asked) is neither: it is decided at the next run. */
#ifndef ASR_MOVES_H
#define ASR_MOVES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cred.h"
#include "common/device.h"
#include "common/result.h"
#include "snmp/scan.h"
#include "store/store.h"

#define ASR_MOVES_MAX 1024 /* devices waiting in one run; more are left to the next run */
#define ASR_MOVES_CONFLICT_KIND "serial_conflict" /* the event of a conflict */
#define ASR_MOVES_CONFLICT_SHOWN (7 * 86400)      /* status shows a conflict this long */

typedef struct asr_moves asr_moves;

/* The command's own save of a device that answered (store, health, output); *id gets the
 * device id. Non-zero result: not saved. */
typedef asr_result (*asr_moves_save_cb)(const asr_device *dev, uint16_t port,
                                        const asr_snmp_cred *cred, int64_t *id, void *ctx);

/* A device not saved: a conflict (dev answered at dev->ip:port with the identity of device
 * id, which stays at its address), or, conflict false, a move left undecided (the run was
 * stopped or out of time); detail says why (one line). */
typedef void (*asr_moves_held_cb)(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                                  const char *detail, void *ctx);

/* A new run over the store st at time now (events are stamped with it); NULL when out of
 * memory. */
asr_moves *asr_moves_new(asr_store *st, int64_t now, asr_moves_save_cb save, asr_moves_held_cb held,
                         void *ctx);

void asr_moves_free(asr_moves *m);

/* A device that answered at dev->ip:port with cred: saved now through save (ASR_OK, or
 * the save's error), or kept for asr_moves_settle (ASR_OK; ASR_ERR_LIMIT past
 * ASR_MOVES_MAX, or when out of memory: left to the next run). */
asr_result asr_moves_offer(asr_moves *m, const asr_device *dev, uint16_t port,
                           const asr_snmp_cred *cred);

/* The number of devices waiting. */
size_t asr_moves_waiting(const asr_moves *m);

/* Decides every waiting device (see the top of this file), asking old addresses with
 * opts (engine options, tick) until the monotonic time deadline_ms (0 = none). */
asr_result asr_moves_settle(asr_moves *m, const asr_scan_opts *opts, int64_t deadline_ms);

#endif
