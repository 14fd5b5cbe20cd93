/* svc.h: what the daemon needs from the service manager of its platform.
 *
 * POSIX/systemd (svc_systemd.c): signals set flags, notifications go to $NOTIFY_SOCKET
 * (sd_notify protocol, without libsystemd), logs go to stderr with "<N>" priority prefixes
 * under journald, else to stderr or syslog. Windows (svc_windows.c): the service
 * control handler sets the same flags and reports the same states to the SCM. The daemon
 * loop only calls these functions; no platform code lives in agent/daemon.c. */
#ifndef ASR_SVC_H
#define ASR_SVC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/result.h"

/* Installs the control handlers (stop, reload) and opens the notification channel. */
asr_result asr_svc_init(void);

/* Restores the default handlers and closes the notification channel. */
void asr_svc_fini(void);

/* Chooses the log sink: the service manager's journal when it captures stderr, else syslog
 * when use_syslog, else plain stderr lines. */
void asr_svc_log_init(bool use_syslog);

/* Sends the normal output of the commands the daemon runs (stdout) to nowhere. */
void asr_svc_quiet_stdout(void);

/* Sends one raw notification ("READY=1", "STATUS=..."); no-op without a manager. */
void asr_svc_notify(const char *msg);

/* The daemon is up (READY=1). */
void asr_svc_ready(void);

/* A reload starts (RELOADING=1); asr_svc_ready() ends it. */
void asr_svc_reloading(void);

/* The daemon is stopping (STOPPING=1). */
void asr_svc_stopping(void);

/* Sets the one-line status shown by the manager (STATUS=...). */
void asr_svc_status(const char *line);

/* Tells the watchdog we are alive (WATCHDOG=1). */
void asr_svc_watchdog(void);

/* How often to call asr_svc_watchdog, in ms (half the manager's timeout); 0 when the
 * manager has no watchdog for us. */
int64_t asr_svc_watchdog_interval_ms(void);

/* Sleeps up to ms milliseconds, or less when a stop or reload request arrives. */
void asr_svc_wait(int64_t ms);

/* True once a stop was requested (SIGTERM, SIGINT, service stop). */
bool asr_svc_stop_requested(void);

/* True when a reload was requested (SIGHUP) since the last call; clears the request. */
bool asr_svc_take_reload(void);

/* The name of the service in the platform's service manager (Windows SCM, Event Log). */
#define ASR_SVC_NAME "asr-agent"

/* Runs body(ctx) as a service of the platform's service manager and returns its exit
 * status: on Windows under the service control dispatcher, which reports START_PENDING
 * before body and STOPPED after it (asr_svc_ready/stopping report the states between).
 * -1 when the process was not started by such a manager (POSIX: always). */
int asr_svc_run_service(int (*body)(void *ctx), void *ctx);

#endif
