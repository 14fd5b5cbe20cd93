/* platform_posix.c: common/platform.h for POSIX systems (Linux). */
#include "common/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

asr_result asr_platform_init(void)
{
  return ASR_OK;
}

void asr_platform_fini(void) {}

asr_result asr_platform_path(const char *path, char *out, size_t n)
{
  return asr_strlcpy(out, path, n) == ASR_OK ? ASR_OK : ASR_ERR_INVALID;
}

bool asr_platform_is_sep(char c)
{
  return c == '/';
}

asr_result asr_platform_mkdir_private(const char *dir)
{
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return ASR_ERR_IO;
  return ASR_OK;
}

int asr_platform_create_private(const char *path)
{
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd >= 0) {
    close(fd);
    return 1;
  }
  return errno == EEXIST ? 0 : -1;
}

bool asr_platform_is_rw_file(const char *path)
{
  struct stat sb;

  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    errno = errno ? errno : EINVAL;
    return false;
  }
  return access(path, R_OK | W_OK) == 0;
}

bool asr_platform_narrow(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0 && (sb.st_mode & 077) && chmod(path, 0600) == 0;
}

asr_result asr_platform_file_private(FILE *f)
{
  struct stat st;

  if (fstat(fileno(f), &st) != 0)
    return ASR_ERR_IO;
  if (!S_ISREG(st.st_mode))
    return ASR_ERR_INVALID;
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return ASR_ERR_SECRET;
  return ASR_OK;
}

void asr_platform_hostname(char *out, size_t n)
{
  if (n == 0)
    return;
  if (gethostname(out, n) != 0)
    out[0] = '\0';
  out[n - 1] = '\0'; /* POSIX leaves truncation unterminated */
}

bool asr_platform_isatty(int fd)
{
  return isatty(fd) != 0;
}

bool asr_platform_realpath(const char *path, char *out, size_t n)
{
  char abs[PATH_MAX];

  return realpath(path, abs) && asr_strlcpy(out, abs, n) == ASR_OK;
}

static volatile sig_atomic_t *interrupt_flag;

static void on_interrupt(int sig)
{
  (void)sig;
  if (interrupt_flag)
    *interrupt_flag = 1;
}

bool asr_platform_interrupt_catch(volatile sig_atomic_t *flag)
{
  struct sigaction sa, old;

  if (sigaction(SIGINT, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
      old.sa_handler != SIG_DFL)
    return false;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a select() in progress returns at once */
  interrupt_flag = flag;
  if (sigaction(SIGINT, &sa, NULL) != 0) {
    interrupt_flag = NULL;
    return false;
  }
  return true;
}

void asr_platform_interrupt_release(void)
{
  struct sigaction sa;

  if (!interrupt_flag)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  interrupt_flag = NULL;
}

void asr_platform_sleep_ms(int64_t ms)
{
  struct timespec ts;

  ts.tv_sec = (time_t)(ms / 1000);
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0)
    ;
}

void asr_secret_wipe(void *p, size_t n)
{
  if (p && n)
    explicit_bzero(p, n);
}

int64_t asr_platform_monotonic_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool asr_platform_service_supported(void)
{
  return false;
}

asr_result asr_platform_service_install(const char *name, const char *display, const char *args)
{
  (void)name; /* systemd units come with the package (packaging/systemd) */
  (void)display;
  (void)args;
  return ASR_ERR_INVALID;
}

asr_result asr_platform_service_uninstall(const char *name)
{
  (void)name;
  return ASR_ERR_INVALID;
}

asr_result asr_platform_service_start(const char *name, int64_t timeout_ms)
{
  (void)name;
  (void)timeout_ms;
  return ASR_ERR_INVALID;
}

asr_result asr_platform_service_stop(const char *name, int64_t timeout_ms)
{
  (void)name;
  (void)timeout_ms;
  return ASR_ERR_INVALID;
}

asr_result asr_platform_service_reload(const char *name)
{
  (void)name; /* systemctl reload asr-agent (SIGHUP) */
  return ASR_ERR_INVALID;
}

asr_result asr_platform_restrict(const char *path)
{
  struct stat sb;

  if (stat(path, &sb) != 0)
    return ASR_ERR_IO;
  return chmod(path, S_ISDIR(sb.st_mode) ? 0700 : 0600) == 0 ? ASR_OK : ASR_ERR_IO;
}

asr_result asr_platform_install_value(const char *name, char *out, size_t n)
{
  (void)name; /* packages configure the agent with files, not an installer store */
  if (n)
    out[0] = '\0';
  return ASR_ERR_NOT_FOUND;
}

asr_result asr_platform_install_lock(void)
{
  return ASR_OK; /* no installer store on POSIX */
}

asr_result asr_platform_install_forget(const char *name)
{
  (void)name;
  return ASR_OK;
}

asr_result asr_platform_replace(const char *tmp, const char *path)
{
  struct stat sb;

  if (stat(path, &sb) == 0) {
    /* best effort: root keeps the service user's ownership of its file */
    if (chown(tmp, sb.st_uid, sb.st_gid) != 0 && errno != EPERM)
      return ASR_ERR_IO;
    if (chmod(tmp, sb.st_mode & 0770) != 0) /* never for others */
      return ASR_ERR_IO;
  }
  return rename(tmp, path) == 0 ? ASR_OK : ASR_ERR_IO;
}

bool asr_platform_file_size(const char *path, int64_t *size)
{
  struct stat sb;

  if (stat(path, &sb) != 0)
    return false;
  *size = (int64_t)sb.st_size;
  return true;
}

asr_result asr_platform_free_space(const char *dir, int64_t *bytes)
{
  struct statvfs sv;

  if (statvfs(dir, &sv) != 0)
    return ASR_ERR_IO;
  *bytes = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
  return ASR_OK;
}

bool asr_platform_disk_full_error(int sys_err)
{
  return sys_err == ENOSPC || sys_err == EDQUOT;
}

unsigned long asr_platform_pid(void)
{
  return (unsigned long)getpid();
}

/* Makes the new name of a file durable: syncs the directory holding path. */
static void sync_parent(const char *path)
{
  char dir[PATH_MAX];
  char *slash;
  int fd;

  if (asr_strlcpy(dir, path, sizeof(dir)) != ASR_OK)
    return;
  slash = strrchr(dir, '/');
  if (!slash)
    asr_strlcpy_cut(dir, ".", sizeof(dir));
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int asr_platform_rename_new(const char *tmp, const char *path)
{
  struct stat sb;

  /* link() never replaces: the atomic "create if absent" for a whole file */
  if (link(tmp, path) == 0) {
    unlink(tmp);
    sync_parent(path);
    return 1;
  }
  if (errno == EEXIST)
    return 0;
  if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS)
    return -1;
  /* a file system without hard links: check, then rename (a narrow race) */
  if (lstat(path, &sb) == 0)
    return 0;
  if (rename(tmp, path) != 0)
    return -1;
  sync_parent(path);
  return 1;
}
