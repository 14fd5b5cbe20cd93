/* scan.h: the asynchronous SNMP detail engine (with sweep.c, the only code that includes net-snmp).
 *
 * Many hosts are queried at once from one thread: each job goes probe -> walk ->
 * extra GETs, with at most `concurrency` jobs in flight. A /24 of silent hosts costs
 * about one timeout x (retries + 1), not 254 of them. Every answer is untrusted and
 * bounded; every net-snmp error is converted to an asr_result here. */
#ifndef ASR_SCAN_H
#define ASR_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "common/cred.h"
#include "snmp/vbset.h"

typedef struct {
  unsigned timeout_ms;      /* per request (default 1000) */
  unsigned retries;         /* per request (default 1) */
  unsigned concurrency;     /* jobs in flight (default 256) */
  unsigned max_repetitions; /* GETBULK (default 16) */
  int probe_only;           /* stop after the probe (no walk): not used by discover */
} asr_scan_opts;

/* One host to query, with the credentials to try in order. */
typedef struct {
  char address[64]; /* numeric IPv4 or IPv6 address */
  uint16_t port;
  const asr_snmp_cred *creds;
  size_t n_creds;
  void *user; /* handed back in the result */
} asr_scan_job;

/* What came of one job. */
typedef struct {
  const asr_scan_job *job;
  asr_result status; /* OK, TIMEOUT, AUTH, PROTOCOL, ... */
  char reason[160];  /* human text for status != OK ("no answer after 2 tries") */
  int cred_index;    /* which credential answered, -1 when none */
  int is_printer;    /* probe answered and the model says printer */
  asr_vbset *vbs;    /* answers (finished); owned by the callback, which must free it */
  unsigned requests; /* requests sent for this job */
} asr_scan_result;

typedef void (*asr_scan_cb)(const asr_scan_result *res, void *ctx);
typedef void (*asr_scan_progress)(size_t done, size_t total, size_t responded, void *ctx);

/* Sets default options. */
void asr_scan_opts_init(asr_scan_opts *o);

/* Initializes net-snmp once (no config files, no MIBs loaded); idempotent. */
asr_result asr_scan_init(void);
/* Releases what asr_scan_init took. */
void asr_scan_fini(void);

/* Runs all jobs; calls cb once per job, in completion order, from this thread.
 * progress (may be NULL) is called at most every 100 ms. */
asr_result asr_scan_run(const asr_scan_job *jobs, size_t n, const asr_scan_opts *opts,
                        asr_scan_cb cb, asr_scan_progress progress, void *ctx);

/* Jobs that arrive while a run goes on (the sweep, snmp/sweep.h), and the feeder's own
 * work, done in the engine's loop: one thread, one wait for both. */
typedef struct {
  /* The next job to start, or NULL when none is ready now; sets *more to 0 once no more
   * will come. A job stays valid until its result was delivered. */
  const asr_scan_job *(*next)(void *ctx, int *more);
  /* Called after every wait: the feeder reads its sockets and sends what is due; returns
   * the milliseconds until it wants to run again (-1: when its sockets have input). */
  int64_t (*service)(void *ctx);
  /* The feeder's sockets into fds (at most max); their count. */
  size_t (*sockets)(void *ctx, int *fds, size_t max);
  void *ctx;
} asr_scan_feeder;

/* Runs the jobs the feeder gives, at most `concurrency` at once, until it has no more and
 * every job was delivered (cb as for asr_scan_run; total counts the jobs so far). */
asr_result asr_scan_run_fed(const asr_scan_feeder *feeder, const asr_scan_opts *opts,
                            asr_scan_cb cb, asr_scan_progress progress, void *ctx);

#endif
