/* platform_win.c: common/platform.h for Windows (mingw-w64). Files holding secrets live
 * under %ProgramData%\asr-agent, whose ACL (set by the installer) admits only SYSTEM and
 * Administrators; permission bits are not checked here. */
#include "common/platform.h"

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <winsock2.h>
#include <windows.h>

#include "common/util.h"

asr_result asr_platform_init(void)
{
  WSADATA wsa;

  return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? ASR_OK : ASR_ERR_IO;
}

void asr_platform_fini(void)
{
  WSACleanup();
}

asr_result asr_platform_path(const char *path, char *out, size_t n)
{
  DWORD len;

  if (n == 0 || n > MAXDWORD)
    return ASR_ERR_INVALID;
  len = ExpandEnvironmentStringsA(path, out, (DWORD)n);
  if (len == 0 || len > n) {
    out[0] = '\0';
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

bool asr_platform_is_sep(char c)
{
  return c == '/' || c == '\\';
}

asr_result asr_platform_mkdir_private(const char *dir)
{
  if (_mkdir(dir) != 0 && errno != EEXIST && errno != EACCES)
    return ASR_ERR_IO;
  return ASR_OK;
}

int asr_platform_create_private(const char *path)
{
  int fd =
      _open(path, _O_RDWR | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT, _S_IREAD | _S_IWRITE);

  if (fd >= 0) {
    _close(fd);
    return 1;
  }
  return errno == EEXIST ? 0 : -1;
}

bool asr_platform_is_rw_file(const char *path)
{
  struct _stat64 sb;

  if (_stat64(path, &sb) != 0)
    return false;
  if (!(sb.st_mode & _S_IFREG)) {
    errno = EINVAL;
    return false;
  }
  return _access(path, 6) == 0;
}

bool asr_platform_narrow(const char *path)
{
  (void)path;
  return false;
}

asr_result asr_platform_file_private(FILE *f)
{
  struct _stat64 st;

  if (_fstat64(_fileno(f), &st) != 0)
    return ASR_ERR_IO;
  if (!(st.st_mode & _S_IFREG))
    return ASR_ERR_INVALID;
  return ASR_OK;
}

void asr_platform_hostname(char *out, size_t n)
{
  DWORD len = n > MAXDWORD ? MAXDWORD : (DWORD)n;

  if (n == 0)
    return;
  if (!GetComputerNameExA(ComputerNameDnsHostname, out, &len))
    out[0] = '\0';
}

bool asr_platform_isatty(int fd)
{
  return _isatty(fd) != 0;
}

bool asr_platform_realpath(const char *path, char *out, size_t n)
{
  char abs[MAX_PATH];
  DWORD attr;

  if (!_fullpath(abs, path, sizeof(abs)))
    return false;
  attr = GetFileAttributesA(abs);
  if (attr == INVALID_FILE_ATTRIBUTES)
    return false;
  return asr_strlcpy(out, abs, n) == ASR_OK;
}

void asr_platform_sleep_ms(int64_t ms)
{
  while (ms > 0) {
    DWORD step = ms > 3600000 ? 3600000 : (DWORD)ms;

    Sleep(step);
    ms -= step;
  }
}

int64_t asr_platform_monotonic_ms(void)
{
  return (int64_t)GetTickCount64();
}

bool asr_platform_gmtime(int64_t t, struct tm *out)
{
  __time64_t tt = (__time64_t)t;

  return _gmtime64_s(out, &tt) == 0;
}
