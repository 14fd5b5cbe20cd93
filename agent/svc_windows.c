/* svc_windows.c: the service interface on Windows.
 *
 * Two modes. In a console (`asr-agent run`), Ctrl-C, Ctrl-Break and console close set the
 * stop flag (SetConsoleCtrlHandler) and logs go to stderr. As a service (`asr-agent run
 * --service`, started by the Service Control Manager), asr_svc_run_service hands the main
 * thread to StartServiceCtrlDispatcher; the SCM calls service_main on a thread of its own,
 * which reports START_PENDING, runs the daemon (asr_svc_ready reports RUNNING,
 * asr_svc_stopping STOP_PENDING) and reports STOPPED with the daemon's exit status.
 *
 * The control handler runs on the dispatcher's thread and only sets flags (stop and
 * shutdown: stop; paramchange: reload) and signals wake_event, which ends asr_svc_wait;
 * the daemon loop acts on the flags. Only the daemon's thread calls SetServiceStatus.
 *
 * Service logs go to the Windows Event Log (source ASR_SVC_NAME, registered by `asr-agent
 * service install`) and to %ProgramData%\asr-agent\asr-agent.log, rotated at LOG_MAX_BYTES
 * with LOG_KEEP old files (asr-agent.log.1 newest). */
#include "agent/svc.h"

#include <stdio.h>
#include <windows.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

#ifndef ASR_STATEDIR
#define ASR_STATEDIR "%ProgramData%/asr-agent"
#endif

#define LOG_MAX_BYTES (5LL * 1024 * 1024) /* rotate the log file past this size */
#define LOG_KEEP 3                        /* rotated files kept: .1 (newest) to .3 */
#define PENDING_HINT_MS 30000             /* wait hint of START_PENDING and STOP_PENDING */

static volatile LONG stop_flag;
static volatile LONG reload_flag;
static HANDLE wake_event; /* signalled by a control so that asr_svc_wait returns early */

static bool as_service;                     /* running under the SCM */
static SERVICE_STATUS_HANDLE status_handle; /* ours, from RegisterServiceCtrlHandlerEx */
static DWORD checkpoint;                    /* of the pending states */
static int (*svc_body)(void *ctx);          /* what service_main runs */
static void *svc_ctx;
static int svc_status = -1; /* body's exit status */

static struct {
  bool open;
  CRITICAL_SECTION lock; /* the sink may be called by several threads */
  HANDLE events;         /* RegisterEventSource handle, NULL when unavailable */
  FILE *file;            /* the log file, NULL when it cannot be opened */
  long long size;        /* its size, to decide rotation */
  char path[MAX_PATH];
} lg;

static void wake(void)
{
  if (wake_event)
    SetEvent(wake_event);
}

/* Runs on a thread of its own (the console's): only sets the flag and wakes the loop. */
static BOOL WINAPI on_console(DWORD type)
{
  switch (type) {
  case CTRL_C_EVENT:
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    InterlockedExchange(&stop_flag, 1);
    wake();
    return TRUE;
  default:
    return FALSE;
  }
}

/* The service control handler (dispatcher thread): only sets flags and wakes the loop. */
static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
  (void)type;
  (void)data;
  (void)ctx;
  switch (control) {
  case SERVICE_CONTROL_STOP:
  case SERVICE_CONTROL_SHUTDOWN:
    InterlockedExchange(&stop_flag, 1);
    wake();
    return NO_ERROR;
  case SERVICE_CONTROL_PARAMCHANGE:
    InterlockedExchange(&reload_flag, 1);
    wake();
    return NO_ERROR;
  case SERVICE_CONTROL_INTERROGATE:
    return NO_ERROR;
  default:
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

/* Tells the SCM our state; exit is the daemon's exit status once STOPPED. */
static void report(DWORD state, int exit)
{
  SERVICE_STATUS st;

  if (!status_handle)
    return;
  memset(&st, 0, sizeof(st));
  st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  st.dwCurrentState = state;
  if (state == SERVICE_RUNNING)
    st.dwControlsAccepted =
        SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE;
  if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING) {
    st.dwCheckPoint = ++checkpoint;
    st.dwWaitHint = PENDING_HINT_MS;
  } else {
    checkpoint = 0;
  }
  if (state == SERVICE_STOPPED && exit != 0) {
    st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
    st.dwServiceSpecificExitCode = (DWORD)exit;
  }
  if (!SetServiceStatus(status_handle, &st))
    asr_log(ASR_LOG_WARN, "cannot report the service state %lu (error %lu)", (unsigned long)state,
            (unsigned long)GetLastError());
}

/* Called by the SCM (through the dispatcher) on a thread of its own. */
static void WINAPI service_main(DWORD argc, LPSTR *argv)
{
  (void)argc;
  (void)argv;
  status_handle = RegisterServiceCtrlHandlerExA(ASR_SVC_NAME, on_control, NULL);
  if (!status_handle)
    return;
  report(SERVICE_START_PENDING, 0);
  svc_status = svc_body(svc_ctx);
  asr_log(ASR_LOG_INFO, "service stopped (exit status %d)", svc_status);
  report(SERVICE_STOPPED, svc_status);
}

int asr_svc_run_service(int (*body)(void *ctx), void *ctx)
{
  SERVICE_TABLE_ENTRYA table[] = {{(LPSTR)ASR_SVC_NAME, service_main}, {NULL, NULL}};

  as_service = true;
  svc_body = body;
  svc_ctx = ctx;
  if (!wake_event)
    wake_event = CreateEventA(NULL, FALSE, FALSE, NULL);
  if (!StartServiceCtrlDispatcherA(table)) {
    as_service = false; /* e.g. ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: from a console */
    return -1;
  }
  return svc_status;
}

asr_result asr_svc_init(void)
{
  if (!wake_event)
    wake_event = CreateEventA(NULL, FALSE, FALSE, NULL);
  if (as_service)
    return ASR_OK; /* a control may already have arrived: keep its flag */
  InterlockedExchange(&stop_flag, 0);
  InterlockedExchange(&reload_flag, 0);
  if (!SetConsoleCtrlHandler(on_console, TRUE))
    asr_log(ASR_LOG_WARN, "cannot install the console control handler (error %lu)",
            (unsigned long)GetLastError());
  return ASR_OK;
}

void asr_svc_fini(void)
{
  if (!as_service)
    SetConsoleCtrlHandler(on_console, FALSE);
}

/* Moves asr-agent.log.(i) to .(i+1) from the oldest, then asr-agent.log to .1. */
static void rotate_files(void)
{
  char from[MAX_PATH + 8], to[MAX_PATH + 8];

  for (int i = LOG_KEEP - 1; i >= 0; i--) {
    if (i == 0 ? asr_strlcpy(from, lg.path, sizeof(from)) != ASR_OK
               : asr_fmt(from, sizeof(from), "%s.%d", lg.path, i) != ASR_OK)
      continue;
    if (asr_fmt(to, sizeof(to), "%s.%d", lg.path, i + 1) != ASR_OK)
      continue;
    MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING);
  }
}

/* Opens (appending) the log file; its directory is created private when missing. */
static void open_file(void)
{
  char dir[MAX_PATH];

  if (asr_platform_path(ASR_STATEDIR, dir, sizeof(dir)) != ASR_OK ||
      asr_fmt(lg.path, sizeof(lg.path), "%s\\asr-agent.log", dir) != ASR_OK)
    return;
  asr_platform_mkdir_private(dir);
  lg.file = fopen(lg.path, "ab");
  if (!lg.file)
    return;
  fseek(lg.file, 0, SEEK_END);
  lg.size = _ftelli64(lg.file);
}

/* Appends one line to the log file, rotating it first when it grew past the limit. */
static void file_line(const char *level, const char *msg)
{
  SYSTEMTIME t;
  int n;

  if (lg.file && lg.size >= LOG_MAX_BYTES) {
    fclose(lg.file);
    lg.file = NULL;
    rotate_files();
    open_file();
  }
  if (!lg.file)
    return;
  GetSystemTime(&t);
  n = fprintf(lg.file, "%04u-%02u-%02uT%02u:%02u:%02uZ [%lu] %s: %s\r\n", t.wYear, t.wMonth, t.wDay,
              t.wHour, t.wMinute, t.wSecond, (unsigned long)GetCurrentProcessId(), level, msg);
  fflush(lg.file);
  if (n > 0)
    lg.size += n;
}

/* The service's sink: the Event Log (not debug messages) and the log file. */
static void service_sink(asr_log_level level, const char *msg, void *ctx)
{
  static const WORD types[] = {EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE,
                               EVENTLOG_INFORMATION_TYPE, EVENTLOG_INFORMATION_TYPE};
  static const char *const names[] = {"error", "warning", "info", "debug"};
  const char *strings[1] = {msg};

  (void)ctx;
  EnterCriticalSection(&lg.lock);
  if (lg.events && level != ASR_LOG_DEBUG)
    ReportEventA(lg.events, types[level], 0, (DWORD)level + 1, NULL, 1, 0, strings, NULL);
  file_line(names[level], msg);
  LeaveCriticalSection(&lg.lock);
}

void asr_svc_log_init(bool use_syslog)
{
  (void)use_syslog; /* no syslog on Windows: a service logs to the Event Log */
  if (!as_service) {
    asr_log_set_sink(NULL, NULL);
    return;
  }
  if (!lg.open) {
    InitializeCriticalSection(&lg.lock);
    lg.events = RegisterEventSourceA(NULL, ASR_SVC_NAME);
    open_file();
    lg.open = true;
  }
  asr_log_set_sink(service_sink, NULL);
}

void asr_svc_quiet_stdout(void)
{
  if (as_service)
    return; /* a service has no console: stdout already goes nowhere */
  fflush(stdout);
  if (!freopen("NUL", "w", stdout))
    asr_log(ASR_LOG_WARN, "cannot send stdout to NUL");
}

void asr_svc_notify(const char *msg)
{
  (void)msg; /* the SCM knows states, not messages: see ready/stopping */
}

void asr_svc_ready(void)
{
  report(SERVICE_RUNNING, 0);
}

void asr_svc_reloading(void) {}

void asr_svc_stopping(void)
{
  report(SERVICE_STOP_PENDING, 0);
}

void asr_svc_status(const char *line)
{
  if (as_service)
    asr_log(ASR_LOG_DEBUG, "status: %s", line);
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
