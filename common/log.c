#include "common/log.h"

#include <stdio.h>

static asr_log_level log_threshold = ASR_LOG_WARN;
static asr_log_sink log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void asr_log_set_level(asr_log_level level)
{
  log_threshold = level;
}

void asr_log_set_sink(asr_log_sink sink, void *ctx)
{
  log_sink = sink;
  log_sink_ctx = ctx;
}

int asr_log_has_sink(void)
{
  return log_sink != NULL;
}

int asr_log_enabled(asr_log_level level)
{
  return level <= log_threshold;
}

void asr_log(asr_log_level level, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (!asr_log_enabled(level))
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (log_sink) {
    log_sink(level, msg, log_sink_ctx);
    return;
  }
  fprintf(stderr, "asr-agent: %s: %s\n", level_names[level], msg);
}
