/* agent/ops.h: what the agent does, as library entry points: discovery, polling, upload,
 * enrolment and pruning, each with typed options and a typed report.
 *
 * Two thin callers share them, as lldpd's daemon and client share one library: the
 * commands (agent/cmd_*.c: option parsing, messages, output, exit statuses) and the daemon
 * (agent/daemon.c: the configuration, the schedule, log lines from the reports). Nothing
 * here prints: what a caller shows comes from the report, and from the callbacks an
 * operation calls as it goes (a device found, a device that failed, the progress of a
 * sweep), in the order things happen. Diagnostics go to the log (common/log.h) as in the
 * other modules. The caller owns the store handle (opened with its own rules and
 * messages) and the credentials; an operation opens and closes the SNMP engine or the
 * HTTP library itself. Every wait is bounded: the engine's deadlines and the tick of
 * asr_scan_opts (a stop request ends a run within ASR_SCAN_TICK_MS), the upload's
 * max_wait and transfer timeouts. */
#ifndef ASR_OPS_H
#define ASR_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/health.h"
#include "common/addr.h"
#include "common/cred.h"
#include "common/device.h"
#include "common/result.h"
#include "conf/targets.h"
#include "snmp/scan.h"
#include "snmp/sweep.h"
#include "store/outbox.h"
#include "store/store.h"
#include "uplink/uplink.h"

/* ---- discovery ---------------------------------------------------------------------- */

/* A device the discovery lists: a printer found (saved unless st is NULL), a host that is
 * not a printer (with all), or one not saved: note_key "conflict" (its identity answers
 * elsewhere) or "problem" (partial answers, an undecided move), note the reason; both
 * NULL for a plain device. */
typedef void (*asr_discover_device_cb)(const asr_device *dev, const char *note_key,
                                       const char *note, void *ctx);

/* The sweep's progress (at most every 100 ms), with the printers read so far. */
typedef void (*asr_discover_progress_cb)(const asr_sweep_stats *st, size_t printers, void *ctx);

typedef struct {
  asr_store *st;              /* where printers are saved; NULL: nothing saved (--no-save) */
  const asr_targets *targets; /* finished (asr_targets_finish) */
  const asr_snmp_cred *creds; /* tried in order (the v3 user first) where a target has */
  size_t n_creds;             /* no communities of its own */
  asr_snmp_version version;   /* of the communities of the targets with their own */
  uint16_t port;
  unsigned rate;                   /* sweep probes a second */
  asr_scan_opts scan;              /* engine options, the run's deadline and its tick */
  bool all;                        /* also list the hosts that are not printers */
  const asr_health_policy *health; /* NULL: the process-wide policy */
  int64_t now;                     /* time of the readings; 0: the clock */
  asr_discover_device_cb on_device;
  asr_discover_progress_cb on_progress;
  void *ctx; /* of both callbacks */
} asr_discover_opts;

typedef struct {
  uint64_t total;                      /* addresses to scan */
  size_t scanned;                      /* addresses done with (answered or silent) */
  size_t responded;                    /* answered SNMP */
  size_t printers;                     /* of them printers */
  size_t skipped;                      /* not scanned: deadline or stop */
  char first_skipped[ASR_ADDR_STRLEN]; /* the first of them */
  size_t conflicts;                    /* identity conflicts (asr_moves) */
  size_t auth_failures;                /* hosts that refused the SNMPv3 credentials */
  size_t failed_saves;                 /* printers found but not saved */
  asr_result store_error;              /* the first save error (ASR_OK: none) */
  bool stopped;                        /* the tick asked to stop */
  asr_sweep_stats sweep;               /* what the sweep did */
  int64_t elapsed_ms;
} asr_discover_report;

/* The defaults: port 161, ASR_SWEEP_RATE_DEFAULT, the engine's defaults, v2c, nothing
 * else set. */
void asr_discover_opts_init(asr_discover_opts *o);

/* Sweeps the targets, reads the addresses that answer, saves the printers (address
 * changes and identity conflicts through agent/moves.h, health through agent/health.h)
 * and fills rep. ASR_OK when the run went through, whatever it found (a stop or the
 * deadline counts as skipped addresses; a store error as failed saves); another code when
 * it could not run (out of memory, the SNMP engine failed). */
asr_result asr_discover(const asr_discover_opts *o, asr_discover_report *rep);

/* "254 addresses scanned, 3 answered, 3 printers, 0 not scanned" into out. */
asr_result asr_discover_summary(const asr_discover_report *rep, char *out, size_t n);

/* ---- polls -------------------------------------------------------------------------- */

typedef enum {
  ASR_POLL_UNMATCHED = 0, /* a selector names no known device (address: the selector) */
  ASR_POLL_FAILED,        /* a device did not answer, or not as itself: not polled */
  ASR_POLL_NOT_SAVED,     /* its reading could not be saved (detail: the store's message) */
  ASR_POLL_HELD,          /* another device's identity answers there, or its move waits */
  ASR_POLL_STORE_STOPPED, /* the store takes nothing more (disk full, damaged, locked) */
} asr_poll_event_kind;

/* What happened to one device during a poll. */
typedef struct {
  asr_poll_event_kind kind;
  const char *address; /* the device's address ("" for STORE_STOPPED) */
  const char *detail;  /* the reason, one line */
  bool conflict;       /* HELD: an identity conflict (else a move left undecided) */
} asr_poll_event;

typedef void (*asr_poll_event_cb)(const asr_poll_event *e, void *ctx);

typedef struct {
  asr_store *st;
  const char *const *select; /* serial numbers or addresses; n_select 0: every device */
  size_t n_select;
  asr_scan_opts scan; /* engine options, the poll's deadline and its tick */
  const asr_health_policy *health;
  int64_t now; /* 0: the clock */
  asr_poll_event_cb on_event;
  void *ctx;
} asr_poll_opts;

typedef struct {
  bool ran;               /* the devices were read from the store and the poll went on */
  size_t unmatched;       /* selectors that name no device */
  size_t devices;         /* polled */
  size_t read;            /* a reading saved */
  size_t failed;          /* not polled, or the reading not saved */
  size_t conflicts;       /* identity conflicts */
  size_t stopped;         /* not reached: the tick asked to stop */
  asr_result store_error; /* the store stopped taking readings (ASR_OK: it did not) */
  int64_t elapsed_ms;
} asr_poll_report;

/* Sets the defaults (every device, the engine's defaults). */
void asr_poll_opts_init(asr_poll_opts *o);

/* Polls the selected devices (each with the credential it answered to), least recently
 * tried first, records a reading or a failure for each, applies the health rules (and,
 * when every device was selected and the run was complete, the time rules to the devices
 * not polled). Returns ASR_OK when the poll ran (rep counts the failures);
 * ASR_ERR_NOT_FOUND when a selector named nothing (rep->unmatched) or there is no device
 * to poll (rep->devices 0); a store error when the devices cannot be read (rep->ran
 * false); the engine's error when the scan failed (rep->ran true). */
asr_result asr_poll(const asr_poll_opts *o, asr_poll_report *rep);

/* "polled 3 devices: 3 read, 0 failed[, N identity conflicts][, N not polled (stopped)]". */
asr_result asr_poll_summary(const asr_poll_report *rep, char *out, size_t n);

/* ---- upload ------------------------------------------------------------------------- */

typedef struct {
  asr_store *st;
  asr_uplink_opts uplink;      /* batch size, retry budget, outbox bound, retry flags; its
                                  http part is set from the enrolment */
  unsigned connect_timeout_ms; /* 0: the HTTP client's default */
  unsigned timeout_ms;         /* a whole transfer; 0: the default */
  asr_scan_tick tick;          /* asked during transfers: non-zero aborts (may be NULL) */
  void *tick_ctx;
} asr_upload_opts;

typedef struct {
  bool enrolled;        /* the store holds an enrolment */
  bool ran;             /* the upload run went on (up is filled) */
  bool in_transit;      /* it failed on the way: the network's or the central's to fix in
                           time (a timeout, a refused connection or TLS, a broken answer),
                           worth trying again soon */
  asr_uplink_report up; /* what the run did */
  char error[640];      /* why it could not run (proxy credentials), or "" */
} asr_upload_report;

/* The defaults (asr_uplink_opts_init, this program's version). */
void asr_upload_opts_init(asr_upload_opts *o);

/* Builds the batches of the readings not sent yet and sends every pending batch
 * (uplink/uplink.h) with the stored enrolment. ASR_ERR_NOT_FOUND when not enrolled;
 * ASR_ERR_SECRET when the proxy credentials cannot be read (rep->error); otherwise the
 * run's result (rep->ran true). */
asr_result asr_upload(const asr_upload_opts *o, asr_upload_report *rep);

/* "upload: 1 batch built, 1 delivered (3 readings, 0 duplicates), 0 split, 0 held,
 * 0 pending". */
asr_result asr_upload_summary(const asr_upload_report *rep, char *out, size_t n);

/* The proxy's "user:password": from file (0600) when given, else ASR_PROXY_USER; out is ""
 * when there are none. ASR_ERR_SECRET with the problem in err (never the secret). */
asr_result asr_proxy_user_read(const char *file, char *out, size_t n, char *err, size_t errn);

/* ---- enrolment ---------------------------------------------------------------------- */

typedef struct {
  asr_store *st;
  const asr_outbox_cred *settings; /* endpoint, TLS and proxy settings (absolute paths) */
  const char *token;               /* the site token (asr_enroll_check_token) */
  const char *proxy_user;          /* "user:password", or NULL */
  unsigned connect_timeout_ms, timeout_ms;
  bool force; /* enrol again although the store holds an enrolment */
} asr_enroll_opts;

typedef struct {
  bool already; /* not done: enrolled already (old_agent_id, old_endpoint) */
  char old_agent_id[64], old_endpoint[ASR_OUTBOX_PATH_MAX];
  bool token_refused; /* the central refused the site token */
  bool enrolled;      /* the central enrolled us (agent_id, site) */
  char agent_id[64], site[256];
  char error[512]; /* why not, or why not saved */
} asr_enroll_report;

/* Checks that the settings make sense together (endpoint, pin, client key, proxy); the
 * problem into err. */
asr_result asr_enroll_check_settings(const asr_outbox_cred *c, char *err, size_t n);

/* Checks the shape of a site token ("st_" and hex digits: letters, digits, '_', '-'). */
asr_result asr_enroll_check_token(const char *token);

/* Registers this agent with the central (POST /v1/enroll) and keeps the credential in the
 * store. ASR_ERR_USAGE when already enrolled without force (rep->already); the request's
 * error (rep->error, rep->token_refused); the store's error when enrolled but not saved
 * (rep->enrolled true). */
asr_result asr_enroll(const asr_enroll_opts *o, asr_enroll_report *rep);

/* ---- pruning ------------------------------------------------------------------------ */

typedef struct {
  asr_store *st;
  int64_t before; /* readings older than this (epoch seconds) go */
} asr_prune_opts;

typedef struct {
  int64_t readings; /* readings removed */
} asr_prune_report;

/* Removes the readings older than o->before (store/store.h, asr_store_prune). */
asr_result asr_prune(const asr_prune_opts *o, asr_prune_report *rep);

#endif
