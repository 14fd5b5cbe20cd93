/* testutil_win.c: the platform part of testutil.h for Windows (mingw-w64, run under Wine
 * in CI). Windows has no POSIX file modes: the agent relies on access lists there
 * (common/platform_win.c), so the tests of modes are skipped. */
#include "tests/unit/testutil.h"

#include <direct.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "common/util.h"

void tu_tmpdir(const char *name, char *out, size_t n)
{
  char base[MAX_PATH + 1];
  DWORD len = GetTempPathA(sizeof(base), base);
  unsigned i;

  ck_assert_msg(len > 0 && len < sizeof(base), "no temporary folder");
  for (i = 0; i < 1000; i++) {
    ck_assert_int_eq(asr_fmt(out, n, "%s%s.%lu.%u", base, name, GetCurrentProcessId(), i), ASR_OK);
    if (_mkdir(out) == 0)
      return;
    ck_assert_msg(errno == EEXIST, "cannot create a temporary directory %s", out);
  }
  ck_abort_msg("no free temporary directory name for %s", name);
}

/* Removes the entries of dir, then dir. */
void tu_rmtree(const char *dir)
{
  WIN32_FIND_DATAA fd;
  char pattern[MAX_PATH], path[MAX_PATH];
  HANDLE h;

  if (!dir || !*dir || asr_fmt(pattern, sizeof(pattern), "%s\\*", dir) != ASR_OK)
    return;
  h = FindFirstFileA(pattern, &fd);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      if (!strcmp(fd.cFileName, ".") || !strcmp(fd.cFileName, ".."))
        continue;
      if (asr_fmt(path, sizeof(path), "%s\\%s", dir, fd.cFileName) != ASR_OK)
        continue;
      if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
        tu_rmtree(path);
      else if (!DeleteFileA(path)) {
        SetFileAttributesA(path, FILE_ATTRIBUTE_NORMAL); /* read-only */
        DeleteFileA(path);
      }
    } while (FindNextFileA(h, &fd));
    FindClose(h);
  }
  RemoveDirectoryA(dir);
}

void tu_setenv(const char *name, const char *value)
{
  /* an empty value removes the variable */
  ck_assert_int_eq(_putenv_s(name, value ? value : ""), 0);
}

FILE *tu_tmpfile(void)
{
  char dir[MAX_PATH + 1], path[MAX_PATH + 1];
  DWORD len = GetTempPathA(sizeof(dir), dir);

  if (len == 0 || len >= sizeof(dir) || !GetTempFileNameA(dir, "asr", 0, path))
    return NULL;
  /* D: deleted when closed (msvcrt's _O_TEMPORARY); tmpfile() writes to the drive's root */
  return fopen(path, "w+bD");
}

bool tu_posix_modes(void)
{
  return false;
}

int tu_restricted(const char *path)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  int ok;

  if (GetNamedSecurityInfoA(path, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                            NULL, &sd) != ERROR_SUCCESS)
    return 0;
  ok = owner && IsWellKnownSid(owner, WinBuiltinAdministratorsSid);
  LocalFree(sd);
  return ok;
}

#define TU_INSTALL_KEY "SOFTWARE\\asr-agent\\Install"

void tu_install_key_reset(bool create)
{
  HKEY h;

  RegDeleteKeyExA(HKEY_LOCAL_MACHINE, TU_INSTALL_KEY, KEY_WOW64_64KEY, 0);
  if (create && RegCreateKeyExA(HKEY_LOCAL_MACHINE, TU_INSTALL_KEY, 0, NULL, 0,
                                KEY_WRITE | KEY_WOW64_64KEY, NULL, &h, NULL) == ERROR_SUCCESS)
    RegCloseKey(h);
}

int tu_install_key_private(void)
{
  HKEY h;
  char buf[4096];
  DWORD len = sizeof(buf);
  LPSTR sddl = NULL;
  int ok = -1;

  if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, TU_INSTALL_KEY, 0, READ_CONTROL | KEY_WOW64_64KEY, &h) !=
      ERROR_SUCCESS)
    return -1;
  if (RegGetKeySecurity(h, DACL_SECURITY_INFORMATION, (PSECURITY_DESCRIPTOR)buf, &len) ==
          ERROR_SUCCESS &&
      ConvertSecurityDescriptorToStringSecurityDescriptorA(
          (PSECURITY_DESCRIPTOR)buf, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &sddl, NULL)) {
    ok = strncmp(sddl, "D:P", 3) == 0 && !strstr(sddl, ";BU)") && !strstr(sddl, ";WD)") &&
         !strstr(sddl, ";AU)");
    LocalFree(sddl);
  }
  RegCloseKey(h);
  return ok;
}

bool tu_wine(void)
{
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");

  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

bool tu_modes_deny_access(void)
{
  return false;
}

int tu_chmod(const char *path, unsigned mode)
{
  (void)path;
  (void)mode;
  return 0;
}
