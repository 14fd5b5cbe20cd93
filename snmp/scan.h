/* scan.h: the asynchronous SNMP detail engine (with sweep.c, the only code that includes net-snmp).
 *
 * Many hosts are queried at once from one thread: each job goes probe -> walk ->
 * extra GETs, with at most `concurrency` jobs in flight. A /24 of silent hosts costs
 * about one timeout x (retries + 1), not 254 of them. Every answer is untrusted and
 * bounded; every net-snmp error is converted to an asr_result here.
 *
 * Time is bounded twice: the whole conversation with one host by host_deadline_ms (a
 * printer answering every request just in time cannot hold a run for minutes), and the
 * whole run by deadline_ms. A run also ends early when its tick callback asks: the caller
 * (the daemon) is called back at least every ASR_SCAN_TICK_MS, to ping a watchdog and to
 * honour a stop request within a fraction of a second. Every job is still reported, the
 * ones the run cut or never started with `end` saying why. An answer counts only when it
 * comes from the address and port the request went to. */
#ifndef ASR_SCAN_H
#define ASR_SCAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "common/cred.h"
#include "snmp/vbset.h"

#define ASR_SCAN_TICK_MS 100      /* the tick callback's period, at most */
#define ASR_SCAN_HOST_REQUESTS 16 /* default host deadline, in requests' worth of time */

/* Called during a run at least every ASR_SCAN_TICK_MS; non-zero stops the run. */
typedef int (*asr_scan_tick)(void *ctx);

typedef struct {
  unsigned timeout_ms;       /* per request (default 1000) */
  unsigned retries;          /* per request (default 1) */
  unsigned concurrency;      /* jobs in flight (default 256) */
  unsigned max_repetitions;  /* GETBULK (default 16) */
  int probe_only;            /* stop after the probe (no walk): not used by discover */
  unsigned host_deadline_ms; /* the whole conversation with one host; 0 = timeout_ms x
                                (retries + 1) x ASR_SCAN_HOST_REQUESTS */
  unsigned deadline_ms;      /* the whole run; 0 = none */
  asr_scan_tick tick;        /* may be NULL */
  void *tick_ctx;
} asr_scan_opts;

/* Who ended a job. */
typedef enum {
  ASR_SCAN_END_HOST = 0, /* the conversation with the host ended (status says how) */
  ASR_SCAN_END_DEADLINE, /* the run's deadline came first (requests == 0: never started) */
  ASR_SCAN_END_STOP,     /* the tick asked to stop (requests == 0: never started) */
} asr_scan_end;

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
  asr_scan_end end;  /* the host, or the run's deadline or stop (status TIMEOUT then) */
  unsigned foreign;  /* answers from another address or port, ignored */
} asr_scan_result;

typedef void (*asr_scan_cb)(const asr_scan_result *res, void *ctx);
typedef void (*asr_scan_progress)(size_t done, size_t total, size_t responded, void *ctx);

/* Sets default options. */
void asr_scan_opts_init(asr_scan_opts *o);

/* The host deadline that o gives, in ms (host_deadline_ms, or the default it stands for). */
unsigned asr_scan_host_deadline(const asr_scan_opts *o);

/* Initializes net-snmp once (no config files, no MIBs loaded); idempotent. */
asr_result asr_scan_init(void);
/* Releases what asr_scan_init took. */
void asr_scan_fini(void);

/* Runs all jobs; calls cb once per job, in completion order, from this thread, also for
 * the jobs a deadline or a stop cut or skipped. progress (may be NULL) is called at most
 * every 100 ms. */
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
  /* The run was cut (tick or deadline): no more jobs will be asked for (may be NULL). */
  void (*stop)(void *ctx);
  void *ctx;
} asr_scan_feeder;

/* Runs the jobs the feeder gives, at most `concurrency` at once, until it has no more and
 * every job was delivered (cb as for asr_scan_run; total counts the jobs so far). The tick
 * and the deadlines work as for asr_scan_run; a cut run tells the feeder (stop). */
asr_result asr_scan_run_fed(const asr_scan_feeder *feeder, const asr_scan_opts *opts,
                            asr_scan_cb cb, asr_scan_progress progress, void *ctx);

#endif
