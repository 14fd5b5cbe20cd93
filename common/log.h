/* log.h: the one logging API.
 *
 * Library code logs through asr_log() and never prints. The program chooses the sink
 * (stderr for the CLI) and the threshold. Messages must never contain secrets. */
#ifndef ASR_LOG_H
#define ASR_LOG_H

#include <stdarg.h>

typedef enum { ASR_LOG_ERR = 0, ASR_LOG_WARN, ASR_LOG_INFO, ASR_LOG_DEBUG } asr_log_level;

typedef void (*asr_log_sink)(asr_log_level level, const char *msg, void *ctx);

/* Sets the most verbose level that is emitted (default ASR_LOG_WARN). */
void asr_log_set_level(asr_log_level level);

/* Replaces the sink (NULL restores the default: "asr-agent: level: msg" on stderr). */
void asr_log_set_sink(asr_log_sink sink, void *ctx);

/* True when a sink is set: the program logs to a journal, syslog or an event log, which
 * name the program themselves (the CLI's "asr-agent: " prefix would be doubled there). */
int asr_log_has_sink(void);

/* Logs one message; a trailing newline is added by the sink. */
void asr_log(asr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when messages of this level are emitted (to skip costly formatting). */
int asr_log_enabled(asr_log_level level);

#endif
