/* scan.h: the asynchronous SNMP engine (the only code that includes net-snmp).
 *
 * Many hosts are queried at once from one thread: each job goes probe -> walk ->
 * extra GETs, with at most `concurrency` jobs in flight. A /24 of silent hosts costs
 * about one timeout x (retries + 1), not 254 of them. Every answer is untrusted and
 * bounded; every net-snmp error is converted to an asr_result here. */
#ifndef ASR_SCAN_H
#define ASR_SCAN_H

#include <signal.h>
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
  /* When *stop turns non-zero (Ctrl-C): no job starts any more, those in flight are
   * dropped without their callback, and asr_scan_run returns at once. NULL: never. */
  volatile sig_atomic_t *stop;
} asr_scan_opts;

/* One host to query, with the credentials to try in order. */
typedef struct {
  char address[64]; /* numeric IPv4 address */
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

/* Runs all jobs; calls cb once per job, in completion order, from this thread (until
 * opts->stop says to stop). progress (may be NULL) is called at most every 100 ms. */
asr_result asr_scan_run(const asr_scan_job *jobs, size_t n, const asr_scan_opts *opts,
                        asr_scan_cb cb, asr_scan_progress progress, void *ctx);

#endif
