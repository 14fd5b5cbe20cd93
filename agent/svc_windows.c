/* svc_windows.c: the service interface on Windows, for now a console run only: Ctrl-C,
 * Ctrl-Break and console close set the stop flag (SetConsoleCtrlHandler), logs go to
 * stderr. The service dispatcher (SCM status reporting, stop/shutdown/reload controls)
 * comes with issue 5 section 2; it will set the same flags. */
#include "agent/svc.h"

#include <stdio.h>
#include <windows.h>

#include "common/log.h"

static volatile LONG stop_flag;
static volatile LONG reload_flag;
static HANDLE wake_event; /* signalled by a control so that asr_svc_wait returns early */

/* Runs on a thread of its own (the console's): only sets the flag and wakes the loop. */
static BOOL WINAPI on_console(DWORD type)
{
  switch (type) {
  case CTRL_C_EVENT:
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    InterlockedExchange(&stop_flag, 1);
    if (wake_event)
      SetEvent(wake_event);
    return TRUE;
  default:
    return FALSE;
  }
}

asr_result asr_svc_init(void)
{
  InterlockedExchange(&stop_flag, 0);
  InterlockedExchange(&reload_flag, 0);
  if (!wake_event)
    wake_event = CreateEventA(NULL, FALSE, FALSE, NULL);
  if (!SetConsoleCtrlHandler(on_console, TRUE))
    asr_log(ASR_LOG_WARN, "cannot install the console control handler (error %lu)",
            (unsigned long)GetLastError());
  return ASR_OK;
}

void asr_svc_fini(void)
{
  SetConsoleCtrlHandler(on_console, FALSE);
  if (wake_event)
    CloseHandle(wake_event);
  wake_event = NULL;
}

void asr_svc_log_init(bool use_syslog)
{
  (void)use_syslog; /* the Event Log sink comes with the service dispatcher */
  asr_log_set_sink(NULL, NULL);
}

void asr_svc_quiet_stdout(void)
{
  fflush(stdout);
  if (!freopen("NUL", "w", stdout))
    asr_log(ASR_LOG_WARN, "cannot send stdout to NUL");
}

void asr_svc_notify(const char *msg)
{
  (void)msg; /* no service manager to tell in a console run */
}

void asr_svc_ready(void) {}

void asr_svc_reloading(void) {}

void asr_svc_stopping(void) {}

void asr_svc_status(const char *line)
{
  (void)line;
}

void asr_svc_watchdog(void) {}

int64_t asr_svc_watchdog_interval_ms(void)
{
  return 0;
}

void asr_svc_wait(int64_t ms)
{
  DWORD t;

  if (ms < 0)
    ms = 0;
  if (InterlockedCompareExchange(&stop_flag, 0, 0) ||
      InterlockedCompareExchange(&reload_flag, 0, 0))
    return;
  t = ms > 0x7fffffffLL ? 0x7fffffffUL : (DWORD)ms;
  if (wake_event)
    WaitForSingleObject(wake_event, t);
  else
    Sleep(t);
}

bool asr_svc_stop_requested(void)
{
  return InterlockedCompareExchange(&stop_flag, 0, 0) != 0;
}

bool asr_svc_take_reload(void)
{
  return InterlockedExchange(&reload_flag, 0) != 0;
}
