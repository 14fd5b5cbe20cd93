/* sweep.h: the sweep, discovery's first phase: which addresses answer SNMP at all.
 *
 * A wide range is mostly silent. Instead of one net-snmp session (and socket) per address,
 * the sweep sends one small probe to every address from one UDP socket per address family,
 * paced at `rate` probes a second, and matches each answer to its probe by source
 * address, source port and request id:
 *   - SNMPv1/v2c: a GET of sysObjectID.0 with each community in turn (the next one only
 *     after the previous got no answer after its tries);
 *   - SNMPv3: the engine-ID discovery probe (an empty unauthenticated GET, RFC 3414 4).
 * An address that stays silent through every try of every credential is done with; one
 * that answers goes to the detail phase (snmp/scan.h: identity, supplies), which starts
 * with the credential that answered, while the sweep goes on. Memory is bounded whatever
 * the range: targets are pulled one at a time from the caller, and at most a fixed number
 * of addresses (ASR_SWEEP_SLOTS_MAX) are in flight.
 *
 * The engine is split so it can be tested without a network: an asr_sweep is a state
 * machine driven by asr_sweep_step (the clock) and asr_sweep_input (a datagram), sending
 * through a function it is given; asr_sweep_run puts it together with real sockets
 * (common/platform.h) and the detail phase. PDUs are built and parsed by net-snmp. */
#ifndef ASR_SWEEP_H
#define ASR_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/cred.h"
#include "common/result.h"
#include "snmp/scan.h"

#define ASR_SWEEP_RATE_DEFAULT 20000 /* probes a second: about 14 Mbit/s of small datagrams */
#define ASR_SWEEP_RATE_MAX 1000000
#define ASR_SWEEP_SLOTS_MAX 32768 /* addresses in flight at once, at most */

typedef struct {
  unsigned rate;       /* probes a second, every probe counted (first tries, retries, next
                          credentials); 0 = ASR_SWEEP_RATE_DEFAULT */
  unsigned timeout_ms; /* per probe (default 1000) */
  unsigned retries;    /* per credential (default 1) */
  size_t slots;        /* addresses in flight at once; 0 = 2 x rate x timeout (bounded) */
} asr_sweep_opts;

/* One address to sweep, with the credentials to try in order (they must stay valid until
 * the run ends; the sweep keeps the pointer). */
typedef struct {
  asr_addr addr;
  uint16_t port;
  const asr_snmp_cred *creds;
  size_t n_creds;
} asr_sweep_target;

/* The caller's targets, pulled one at a time: fills *t and returns 1, or returns 0 when
 * there are no more. */
typedef int (*asr_sweep_next_fn)(void *ctx, asr_sweep_target *t);

/* Sends one datagram (the engine's way out; asr_sweep_run's sends through sockets).
 * ASR_ERR_LIMIT: no room now, try later; another error: that address cannot be reached. */
typedef asr_result (*asr_sweep_send_fn)(void *io, const asr_addr *to, uint16_t port,
                                        const uint8_t *buf, size_t len);

typedef struct {
  uint64_t total;         /* addresses to sweep, as the caller announced (0: unknown) */
  uint64_t swept;         /* addresses done with: answered, silent or unreachable */
  uint64_t answered;      /* addresses that answered a probe */
  uint64_t probes;        /* datagrams sent */
  uint64_t unreachable;   /* addresses a probe could not be sent to */
  uint64_t ignored;       /* datagrams received that matched no probe (or did not parse) */
  uint64_t detailed;      /* answered addresses whose detail phase is over */
  uint64_t printers;      /* printers among them (asr_sweep_run; the caller may count too) */
  uint64_t abandoned;     /* addresses in flight dropped by a stop (asr_sweep_stop) */
  uint64_t skipped;       /* asr_sweep_run: addresses never swept, or answered but not read,
                             because the run was stopped or out of time */
  asr_addr first_skipped; /* the first address dropped by a stop (family 0: none) */
  uint64_t in_flight;     /* addresses in flight now (slots in use) */
  uint64_t peak;          /* most addresses ever in flight at once */
} asr_sweep_stats;

typedef struct asr_sweep asr_sweep;

/* Sets the default options. */
void asr_sweep_opts_init(asr_sweep_opts *o);

/* ---- the engine ------------------------------------------------------------------------ */

/* A sweep over the targets next gives, sending through send. */
asr_result asr_sweep_new(const asr_sweep_opts *o, asr_sweep_next_fn next, void *next_ctx,
                         asr_sweep_send_fn send, void *io, asr_sweep **out);

/* Runs the sweep at time now (milliseconds, monotonic): gives up on probes whose timeout
 * passed (next try, next credential, or silent), sends what the rate allows (due retries
 * first, then new targets while a slot is free). Returns the milliseconds until it wants to
 * run again (0 = at once, -1 = it only waits for input or asr_sweep_take). */
int64_t asr_sweep_step(asr_sweep *s, int64_t now);

/* Hands over a datagram received from from:port. An answer to a probe in flight (right
 * source address and port, request id, version, community) makes its address answered;
 * anything else is ignored. */
void asr_sweep_input(asr_sweep *s, const asr_addr *from, uint16_t port, const uint8_t *buf,
                     size_t len);

/* Takes the next answered address: fills *t with it and its credentials starting with the
 * one that answered (index *cred in the target's list) and returns 1; 0 when none waits. */
int asr_sweep_take(asr_sweep *s, asr_sweep_target *t, size_t *cred);

/* Stops the sweep: no more targets are taken and no more probes sent; the addresses in
 * flight, answered or not, are dropped (counted as abandoned). */
void asr_sweep_stop(asr_sweep *s);

/* True when every target was taken from the caller and every address is done with. */
int asr_sweep_finished(const asr_sweep *s);

/* The counters so far. */
void asr_sweep_get_stats(const asr_sweep *s, asr_sweep_stats *st);

/* The number of slots (addresses in flight at most) the sweep chose. */
size_t asr_sweep_slots(const asr_sweep *s);

/* Frees the sweep. */
void asr_sweep_free(asr_sweep *s);

/* ---- the discovery run ------------------------------------------------------------------ */

typedef void (*asr_sweep_progress_fn)(const asr_sweep_stats *st, void *ctx);

/* Sweeps the targets next gives (total of them, 0 when unknown) and runs the detail phase
 * (scan options: timeout, retries, concurrency, deadlines, tick) for each address that
 * answers, at most `concurrency` at once, while the sweep goes on. When the tick asks to
 * stop or the run's deadline passes, the detail jobs in flight are cut (delivered with
 * `end` saying so) and the sweep stops: what it did not reach is stats->skipped. cb is called
 * once per answered address, from this thread, with the detail phase's result (the job, valid
 * during the call only, carries the address as text, the port and the credentials from the one that
 * answered; cb owns res->vbs). progress (may be NULL) is called at most every 100 ms and once at
 * the end. Silent addresses get no call: the counters count them. */
asr_result asr_sweep_run(asr_sweep_next_fn next, void *next_ctx, uint64_t total,
                         const asr_sweep_opts *so, const asr_scan_opts *scan, asr_scan_cb cb,
                         asr_sweep_progress_fn progress, void *ctx, asr_sweep_stats *stats);

#endif
