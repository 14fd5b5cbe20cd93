/* svc_systemd.c: the service interface on POSIX systems, speaking systemd's notify protocol
 * without libsystemd (see sd_notify(3): one AF_UNIX datagram per message to
 * $NOTIFY_SOCKET, a leading '@' meaning the abstract namespace).
 *
 * Signals only set flags. asr_svc_wait sleeps with pselect(2) so that a signal arriving
 * between the flag check and the sleep is not lost: the signals are blocked while the flags
 * are checked and unblocked atomically by pselect. */
#define _GNU_SOURCE
#include "agent/svc.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t reload_flag;
static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;

static void on_stop(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static void on_reload(int sig)
{
  (void)sig;
  reload_flag = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Parses $NOTIFY_SOCKET into notify_addr; -1 when unset or unusable. */
static int notify_address(void)
{
  const char *path = getenv("NOTIFY_SOCKET");
  size_t n;

  if (!path || (path[0] != '/' && path[0] != '@'))
    return -1;
  n = strlen(path);
  if (n < 2 || n >= sizeof(notify_addr.sun_path))
    return -1;
  memset(&notify_addr, 0, sizeof(notify_addr));
  notify_addr.sun_family = AF_UNIX;
  memcpy(notify_addr.sun_path, path, n);
  if (path[0] == '@')
    notify_addr.sun_path[0] = '\0'; /* abstract: no trailing NUL counted */
  notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
  return 0;
}

asr_result asr_svc_init(void)
{
  stop_flag = 0;
  reload_flag = 0;
  set_handler(SIGTERM, on_stop);
  set_handler(SIGINT, on_stop);
  set_handler(SIGHUP, on_reload);
  signal(SIGPIPE, SIG_IGN);
  if (notify_address() == 0) {
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0)
      asr_log(ASR_LOG_WARN, "cannot open the notification socket: %s", strerror(errno));
  }
  return ASR_OK;
}

void asr_svc_fini(void)
{
  set_handler(SIGTERM, SIG_DFL);
  set_handler(SIGINT, SIG_DFL);
  set_handler(SIGHUP, SIG_DFL);
  if (notify_fd >= 0)
    close(notify_fd);
  notify_fd = -1;
}

void asr_svc_quiet_stdout(void)
{
  fflush(stdout);
  if (!freopen("/dev/null", "w", stdout))
    asr_log(ASR_LOG_WARN, "cannot send stdout to /dev/null: %s", strerror(errno));
}

void asr_svc_notify(const char *msg)
{
  if (notify_fd < 0)
    return;
  if (sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
             notify_len) < 0)
    asr_log(ASR_LOG_DEBUG, "notify '%s' failed: %s", msg, strerror(errno));
}

void asr_svc_ready(void)
{
  asr_svc_notify("READY=1");
}

void asr_svc_reloading(void)
{
  char msg[64];

  /* systemd >= 253 wants the monotonic time with RELOADING=1 (Type=notify-reload) */
  if (asr_fmt(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
              (long long)asr_monotonic_ms() * 1000) != ASR_OK)
    asr_strlcpy_cut(msg, "RELOADING=1", sizeof(msg));
  asr_svc_notify(msg);
}

void asr_svc_stopping(void)
{
  asr_svc_notify("STOPPING=1");
}

void asr_svc_status(const char *line)
{
  char msg[512];

  if (asr_fmt(msg, sizeof(msg), "STATUS=%s", line) == ASR_OK)
    asr_svc_notify(msg);
}

void asr_svc_watchdog(void)
{
  asr_svc_notify("WATCHDOG=1");
}

int64_t asr_svc_watchdog_interval_ms(void)
{
  const char *usec = getenv("WATCHDOG_USEC");
  const char *pid = getenv("WATCHDOG_PID");
  int64_t v, p;

  if (notify_fd < 0 || !usec || asr_parse_i64(usec, 1, INT64_MAX, &v) != ASR_OK)
    return 0;
  if (pid && *pid && (asr_parse_i64(pid, 1, INT64_MAX, &p) != ASR_OK || p != (int64_t)getpid()))
    return 0; /* the watchdog is meant for another process */
  v = v / 2000;
  return v > 0 ? v : 1;
}

void asr_svc_wait(int64_t ms)
{
  sigset_t block, old;
  struct timespec ts;

  if (ms < 0)
    ms = 0;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &old);
  if (!stop_flag && !reload_flag) {
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    pselect(0, NULL, NULL, NULL, &ts, &old);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
}

bool asr_svc_stop_requested(void)
{
  return stop_flag != 0;
}

bool asr_svc_take_reload(void)
{
  bool r = reload_flag != 0;

  reload_flag = 0;
  return r;
}

/* journald reads "<N>" syslog priorities at the start of each stderr line (sd-daemon(3)) */
static void journal_sink(asr_log_level level, const char *msg, void *ctx)
{
  static const int prio[] = {3, 4, 6, 7};

  (void)ctx;
  fprintf(stderr, "<%d>%s\n", prio[level], msg);
  fflush(stderr);
}

static void syslog_sink(asr_log_level level, const char *msg, void *ctx)
{
  static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

  (void)ctx;
  syslog(prio[level], "%s", msg);
}

/* True when stderr is the stream journald gave us ($JOURNAL_STREAM is "DEVICE:INODE"), not
 * just inherited from a parent whose stderr it was. */
static bool stderr_is_journal(void)
{
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  char tail;

  if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
    return false;
  if (fstat(2, &st) != 0)
    return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void asr_svc_log_init(bool use_syslog)
{
  if (stderr_is_journal()) {
    asr_log_set_sink(journal_sink, NULL);
  } else if (use_syslog) {
    openlog("asr-agent", LOG_PID, LOG_DAEMON);
    asr_log_set_sink(syslog_sink, NULL);
  } else {
    asr_log_set_sink(NULL, NULL);
  }
}

int asr_svc_run_service(int (*body)(void *ctx), void *ctx)
{
  (void)body; /* systemd runs `asr-agent run` as is: there is no dispatcher to talk to */
  (void)ctx;
  return -1;
}
