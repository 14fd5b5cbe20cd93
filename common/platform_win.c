/* platform_win.c: common/platform.h for Windows (mingw-w64).
 *
 * Files holding secrets live under %ProgramData%\asr-agent. Private directories and files
 * are created with an explicit protected DACL admitting SYSTEM, Administrators and the user
 * running us (SYSTEM for the service: the POSIX "owner only"); `asr-agent service install`
 * narrows the data folder and the configuration file to SYSTEM and Administrators
 * (asr_platform_restrict). Permission bits are not checked here.
 *
 * The service functions drive the Service Control Manager and register the Event Log
 * source (HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\NAME, its
 * EventMessageFile this program: without a message table the Event Viewer still shows the
 * text, after a note that the description is missing). */
#include "common/platform.h"

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <winsock2.h>
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>

#include "common/log.h"
#include "common/util.h"

/* SYSTEM and Administrators, full control, inherited by files and folders, not by parents */
#define SDDL_ADMIN_ONLY "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
/* the same for a file (no inheritance flags) */
#define SDDL_ADMIN_ONLY_FILE "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
#define EVENTLOG_KEY "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"
#define POLL_MS 200 /* between service state queries */

asr_result asr_platform_init(void)
{
  WSADATA wsa;

  return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? ASR_OK : ASR_ERR_IO;
}

void asr_platform_fini(void)
{
  WSACleanup();
}

/* "%ProgramData%" at the start of path is the machine's ProgramData folder as the shell
 * knows it, not the variable: a service may see another value (Wine gives services
 * C:\users\Public), while the MSI writes to the folder (CommonAppDataFolder). */
static const char *program_data(const char *path, char *dir, size_t n)
{
  static const char var[] = "%ProgramData%";
  size_t len = sizeof(var) - 1;

  if (n < MAX_PATH || _strnicmp(path, var, len) != 0 ||
      SHGetFolderPathA(NULL, CSIDL_COMMON_APPDATA, NULL, SHGFP_TYPE_CURRENT, dir) != S_OK)
    return NULL;
  return path + len;
}

asr_result asr_platform_path(const char *path, char *out, size_t n)
{
  char dir[MAX_PATH], joined[2 * MAX_PATH];
  const char *rest;
  DWORD len;

  if (n == 0 || n > MAXDWORD)
    return ASR_ERR_INVALID;
  rest = program_data(path, dir, sizeof(dir));
  if (rest && asr_fmt(joined, sizeof(joined), "%s%s", dir, rest) == ASR_OK)
    path = joined;
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

/* The string SID of the user running us into out; false when unknown. */
static bool user_sid(char *out, size_t n)
{
  HANDLE tok = NULL;
  union {
    TOKEN_USER tu;
    char buf[256];
  } u;
  DWORD len = 0;
  char *str = NULL;
  bool ok = false;

  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
    return false;
  if (GetTokenInformation(tok, TokenUser, &u, sizeof(u), &len) &&
      ConvertSidToStringSidA(u.tu.User.Sid, &str)) {
    ok = asr_strlcpy(out, str, n) == ASR_OK;
    LocalFree(str);
  }
  CloseHandle(tok);
  return ok;
}

/* A protected DACL for SYSTEM, Administrators and us (LocalFree it); NULL on failure. */
static PSECURITY_DESCRIPTOR private_sd(bool dir)
{
  char sid[192], sddl[512];
  PSECURITY_DESCRIPTOR sd = NULL;
  const char *base = dir ? SDDL_ADMIN_ONLY : SDDL_ADMIN_ONLY_FILE;
  asr_result r;

  if (user_sid(sid, sizeof(sid)))
    r = asr_fmt(sddl, sizeof(sddl), "%s(A;%s;FA;;;%s)", base, dir ? "OICI" : "", sid);
  else
    r = asr_strlcpy(sddl, base, sizeof(sddl));
  if (r != ASR_OK ||
      !ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
    return NULL;
  return sd;
}

/* errno for the last Windows error of a file operation. */
static void set_errno(DWORD err)
{
  if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
    errno = ENOENT;
  else if (err == ERROR_ACCESS_DENIED)
    errno = EACCES;
  else if (err == ERROR_FILE_EXISTS || err == ERROR_ALREADY_EXISTS)
    errno = EEXIST;
  else if (err == ERROR_DISK_FULL || err == ERROR_HANDLE_DISK_FULL)
    errno = ENOSPC;
  else
    errno = EIO;
}

asr_result asr_platform_mkdir_private(const char *dir)
{
  SECURITY_ATTRIBUTES sa = {sizeof(sa), private_sd(true), FALSE};
  DWORD err = 0;

  if (!sa.lpSecurityDescriptor) {
    errno = ENOMEM;
    return ASR_ERR_IO;
  }
  if (!CreateDirectoryA(dir, &sa))
    err = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  /* a drive ("C:") answers access denied */
  if (err == 0 || err == ERROR_ALREADY_EXISTS || err == ERROR_ACCESS_DENIED)
    return ASR_OK;
  set_errno(err);
  return ASR_ERR_IO;
}

int asr_platform_create_private(const char *path)
{
  SECURITY_ATTRIBUTES sa = {sizeof(sa), private_sd(false), FALSE};
  HANDLE h;
  DWORD err;

  if (!sa.lpSecurityDescriptor) {
    errno = ENOMEM;
    return -1;
  }
  h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                  CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
  err = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  if (h != INVALID_HANDLE_VALUE) {
    CloseHandle(h);
    return 1;
  }
  set_errno(err);
  return err == ERROR_FILE_EXISTS ? 0 : -1;
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

static volatile sig_atomic_t *interrupt_flag;

/* Runs on a thread of its own: only sets the flag (the scan loop looks at least once a
 * second). */
static BOOL WINAPI on_console_ctrl(DWORD type)
{
  if ((type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT) && interrupt_flag) {
    *interrupt_flag = 1;
    return TRUE;
  }
  return FALSE;
}

bool asr_platform_interrupt_catch(volatile sig_atomic_t *flag)
{
  interrupt_flag = flag;
  if (!SetConsoleCtrlHandler(on_console_ctrl, TRUE)) {
    interrupt_flag = NULL;
    return false;
  }
  return true;
}

void asr_platform_interrupt_release(void)
{
  if (!interrupt_flag)
    return;
  SetConsoleCtrlHandler(on_console_ctrl, FALSE);
  interrupt_flag = NULL;
}

void asr_platform_sleep_ms(int64_t ms)
{
  while (ms > 0) {
    DWORD step = ms > 3600000 ? 3600000 : (DWORD)ms;

    Sleep(step);
    ms -= step;
  }
}

void asr_secret_wipe(void *p, size_t n)
{
  if (p && n)
    SecureZeroMemory(p, n);
}

int64_t asr_platform_monotonic_ms(void)
{
  return (int64_t)GetTickCount64();
}

/* True when path's owner is SYSTEM or Administrators. */
static bool owned_by_admins(const char *path)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  bool ok;

  if (GetNamedSecurityInfoA(path, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                            NULL, &sd) != ERROR_SUCCESS)
    return false;
  ok = owner && (IsWellKnownSid(owner, WinLocalSystemSid) ||
                 IsWellKnownSid(owner, WinBuiltinAdministratorsSid));
  LocalFree(sd);
  return ok;
}

/* Sets the owner (Administrators, from sd) and the protected DACL of sd on path. Without
 * the right to give the object away (not SYSTEM nor an elevated administrator), only the
 * DACL, and only when SYSTEM or Administrators already own it: an object another account
 * owns could have its access list changed back by that owner. */
static DWORD set_admin_sd(const char *path, PSECURITY_DESCRIPTOR sd)
{
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = NULL;
  PSID owner = NULL;
  DWORD err, info = DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION;

  GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
  GetSecurityDescriptorOwner(sd, &owner, &defaulted);
  err = SetNamedSecurityInfoA((char *)path, SE_FILE_OBJECT, info | OWNER_SECURITY_INFORMATION,
                              owner, NULL, dacl, NULL);
  if (err != ERROR_INVALID_OWNER && err != ERROR_PRIVILEGE_NOT_HELD && err != ERROR_ACCESS_DENIED)
    return err;
  if (!owned_by_admins(path)) {
    asr_log(ASR_LOG_ERR,
            "%s: owned by an account other than SYSTEM or Administrators, and this account "
            "cannot take it over (error %lu): run as an administrator or SYSTEM, or remove it",
            path, (unsigned long)err);
    return err;
  }
  return SetNamedSecurityInfoA((char *)path, SE_FILE_OBJECT, info, NULL, NULL, dacl, NULL);
}

asr_result asr_platform_restrict(const char *path)
{
  DWORD attr = GetFileAttributesA(path), err;
  PSECURITY_DESCRIPTOR sd = NULL;
  const char *sddl = (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY))
                         ? "O:BA" SDDL_ADMIN_ONLY
                         : "O:BA" SDDL_ADMIN_ONLY_FILE;

  if (attr == INVALID_FILE_ATTRIBUTES)
    return ASR_ERR_NOT_FOUND;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
    return ASR_ERR_NOMEM;
  err = set_admin_sd(path, sd);
  LocalFree(sd);
  if (err != ERROR_SUCCESS) {
    asr_log(ASR_LOG_ERR, "%s: cannot set its owner and access list (error %lu)", path,
            (unsigned long)err);
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

bool asr_platform_service_supported(void)
{
  return true;
}

/* Logs a failed SCM or registry call and returns the matching result. */
static asr_result win_fail(const char *what, const char *name, DWORD err)
{
  char text[256] = "";

  FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, text,
                 sizeof(text), NULL);
  for (size_t n = strlen(text); n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n'); n--)
    text[n - 1] = '\0';
  asr_log(ASR_LOG_ERR, "%s %s: %s (error %lu)", what, name, text, (unsigned long)err);
  if (err == ERROR_SERVICE_DOES_NOT_EXIST)
    return ASR_ERR_NOT_FOUND;
  if (err == ERROR_SERVICE_EXISTS || err == ERROR_SERVICE_MARKED_FOR_DELETE)
    return ASR_ERR_INVALID;
  if (err == ERROR_ACCESS_DENIED)
    return ASR_ERR_USAGE;
  return ASR_ERR_IO;
}

/* Opens the service name with the given rights; NULL (logged) on failure. */
static SC_HANDLE open_service(const char *name, DWORD rights, SC_HANDLE *scm, asr_result *r)
{
  SC_HANDLE svc = NULL;

  *scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT);
  if (!*scm) {
    *r = win_fail("cannot open the service manager for", name, GetLastError());
    return NULL;
  }
  svc = OpenServiceA(*scm, name, rights);
  if (!svc)
    *r = win_fail("cannot open the service", name, GetLastError());
  return svc;
}

/* Registers name as an Event Log source whose messages come from exe. */
static asr_result register_source(const char *name, const char *exe)
{
  char key[256];
  HKEY h;
  DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
  LONG rc;

  if (asr_fmt(key, sizeof(key), EVENTLOG_KEY "%s", name) != ASR_OK)
    return ASR_ERR_INVALID;
  rc = RegCreateKeyExA(HKEY_LOCAL_MACHINE, key, 0, NULL, 0, KEY_SET_VALUE, NULL, &h, NULL);
  if (rc != ERROR_SUCCESS)
    return win_fail("cannot register the event source", name, (DWORD)rc);
  rc = RegSetValueExA(h, "EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                      (DWORD)strlen(exe) + 1);
  if (rc == ERROR_SUCCESS)
    rc = RegSetValueExA(h, "TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
  RegCloseKey(h);
  return rc == ERROR_SUCCESS ? ASR_OK : win_fail("cannot register the event source", name, rc);
}

/* Restarts the service a minute after it fails (three times a day at most). */
static void set_recovery(SC_HANDLE svc)
{
  SC_ACTION act[3] = {{SC_ACTION_RESTART, 60000}, {SC_ACTION_RESTART, 60000}, {SC_ACTION_NONE, 0}};
  SERVICE_FAILURE_ACTIONSA fa;

  memset(&fa, 0, sizeof(fa));
  fa.dwResetPeriod = 86400;
  fa.cActions = 3;
  fa.lpsaActions = act;
  if (!ChangeServiceConfig2A(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa))
    asr_log(ASR_LOG_WARN, "cannot set the recovery actions (error %lu)",
            (unsigned long)GetLastError());
}

asr_result asr_platform_service_install(const char *name, const char *display, const char *args)
{
  char exe[MAX_PATH], cmd[2 * MAX_PATH + 64];
  SC_HANDLE scm = NULL, svc = NULL;
  asr_result r = ASR_OK;
  DWORD n = GetModuleFileNameA(NULL, exe, sizeof(exe));

  if (n == 0 || n >= sizeof(exe) || asr_fmt(cmd, sizeof(cmd), "\"%s\" %s", exe, args) != ASR_OK)
    return ASR_ERR_TOO_LARGE;
  scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!scm)
    return win_fail("cannot open the service manager for", name, GetLastError());
  svc = CreateServiceA(scm, name, display, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                       SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
  if (!svc) {
    r = win_fail("cannot create the service", name, GetLastError());
    goto out;
  }
  set_recovery(svc);
  r = register_source(name, exe);
  asr_log(ASR_LOG_INFO, "service %s installed: %s", name, cmd);
out:
  if (svc)
    CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return r;
}

/* Waits up to timeout_ms for the service to reach want; STOPPED instead of RUNNING fails. */
static asr_result wait_state(SC_HANDLE svc, const char *name, DWORD want, int64_t timeout_ms)
{
  SERVICE_STATUS st;
  int64_t end = asr_platform_monotonic_ms() + timeout_ms;

  for (;;) {
    if (!QueryServiceStatus(svc, &st))
      return win_fail("cannot query the service", name, GetLastError());
    if (st.dwCurrentState == want)
      return ASR_OK;
    if (want == SERVICE_RUNNING && st.dwCurrentState == SERVICE_STOPPED) {
      asr_log(ASR_LOG_ERR, "service %s stopped at start (exit %lu, status %lu): see its log", name,
              (unsigned long)st.dwWin32ExitCode, (unsigned long)st.dwServiceSpecificExitCode);
      return ASR_ERR_IO;
    }
    if (asr_platform_monotonic_ms() >= end)
      return ASR_ERR_TIMEOUT;
    Sleep(POLL_MS);
  }
}

asr_result asr_platform_service_start(const char *name, int64_t timeout_ms)
{
  SC_HANDLE scm = NULL, svc;
  asr_result r = ASR_OK;

  svc = open_service(name, SERVICE_START | SERVICE_QUERY_STATUS, &scm, &r);
  if (!svc)
    goto out;
  if (!StartServiceA(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
    r = win_fail("cannot start the service", name, GetLastError());
  else
    r = wait_state(svc, name, SERVICE_RUNNING, timeout_ms);
  CloseServiceHandle(svc);
out:
  if (scm)
    CloseServiceHandle(scm);
  return r;
}

/* Sends STOP to an open service unless it is stopped, and waits for STOPPED. */
static asr_result stop_open(SC_HANDLE svc, const char *name, int64_t timeout_ms)
{
  SERVICE_STATUS st;

  if (!QueryServiceStatus(svc, &st))
    return win_fail("cannot query the service", name, GetLastError());
  if (st.dwCurrentState == SERVICE_STOPPED)
    return ASR_OK;
  if (st.dwCurrentState != SERVICE_STOP_PENDING && !ControlService(svc, SERVICE_CONTROL_STOP, &st))
    return win_fail("cannot stop the service", name, GetLastError());
  return wait_state(svc, name, SERVICE_STOPPED, timeout_ms);
}

asr_result asr_platform_service_stop(const char *name, int64_t timeout_ms)
{
  SC_HANDLE scm = NULL, svc;
  asr_result r = ASR_OK;

  svc = open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS, &scm, &r);
  if (svc) {
    r = stop_open(svc, name, timeout_ms);
    CloseServiceHandle(svc);
  }
  if (scm)
    CloseServiceHandle(scm);
  return r;
}

asr_result asr_platform_service_reload(const char *name)
{
  SC_HANDLE scm = NULL, svc;
  SERVICE_STATUS st;
  asr_result r = ASR_OK;

  svc = open_service(name, SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS, &scm, &r);
  if (!svc)
    goto out;
  if (!QueryServiceStatus(svc, &st)) {
    r = win_fail("cannot query the service", name, GetLastError());
  } else if (st.dwCurrentState != SERVICE_RUNNING) {
    asr_log(ASR_LOG_ERR, "service %s is not running: nothing to reload", name);
    r = ASR_ERR_INVALID;
  } else if (!ControlService(svc, SERVICE_CONTROL_PARAMCHANGE, &st)) {
    r = win_fail("cannot send the reload (paramchange) to the service", name, GetLastError());
  }
  CloseServiceHandle(svc);
out:
  if (scm)
    CloseServiceHandle(scm);
  return r;
}

asr_result asr_platform_service_uninstall(const char *name)
{
  SC_HANDLE scm = NULL, svc;
  asr_result r = ASR_OK;
  char key[256];

  svc = open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &scm, &r);
  if (!svc)
    goto out;
  r = stop_open(svc, name, 30000);
  if (r == ASR_OK && !DeleteService(svc))
    r = win_fail("cannot delete the service", name, GetLastError());
  CloseServiceHandle(svc);
  if (r == ASR_OK && asr_fmt(key, sizeof(key), EVENTLOG_KEY "%s", name) == ASR_OK)
    RegDeleteKeyA(HKEY_LOCAL_MACHINE, key);
out:
  if (scm)
    CloseServiceHandle(scm);
  return r;
}

/* The installer's values: HKLM\SOFTWARE\asr-agent\Install (64-bit view). */
#define INSTALL_KEY "SOFTWARE\\asr-agent\\Install"

asr_result asr_platform_install_value(const char *name, char *out, size_t n)
{
  DWORD size = n > MAXDWORD ? MAXDWORD : (DWORD)n, type = 0;
  LONG rc;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  out[0] = '\0';
  rc = RegGetValueA(HKEY_LOCAL_MACHINE, INSTALL_KEY, name,
                    RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND | RRF_SUBKEY_WOW6464KEY,
                    &type, out, &size);
  if (rc == ERROR_MORE_DATA) {
    out[0] = '\0';
    return ASR_ERR_TOO_LARGE;
  }
  if (rc != ERROR_SUCCESS) {
    out[0] = '\0';
    return ASR_ERR_NOT_FOUND;
  }
  out[n - 1] = '\0';
  return out[0] ? ASR_OK : ASR_ERR_NOT_FOUND;
}

/* The installer's key: full access for SYSTEM and Administrators, nobody else, protected
 * from HKLM\SOFTWARE's inherited Users:Read. */
#define SDDL_KEY_ADMIN_ONLY "D:P(A;CI;KA;;;SY)(A;CI;KA;;;BA)"

asr_result asr_platform_install_lock(void)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  HKEY h = NULL;
  LONG rc;

  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(SDDL_KEY_ADMIN_ONLY, SDDL_REVISION_1,
                                                            &sd, NULL))
    return ASR_ERR_NOMEM;
  rc = RegCreateKeyExA(HKEY_LOCAL_MACHINE, INSTALL_KEY, 0, NULL, 0, WRITE_DAC | KEY_WOW64_64KEY,
                       NULL, &h, NULL);
  if (rc == ERROR_SUCCESS) {
    rc = RegSetKeySecurity(h, DACL_SECURITY_INFORMATION, sd);
    RegCloseKey(h);
  }
  LocalFree(sd);
  if (rc != ERROR_SUCCESS) {
    asr_log(ASR_LOG_ERR, "HKLM\\%s: cannot restrict it to SYSTEM and Administrators (error %lu)",
            INSTALL_KEY, (unsigned long)rc);
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

asr_result asr_platform_install_forget(const char *name)
{
  HKEY h;
  LONG rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, INSTALL_KEY, 0, KEY_SET_VALUE | KEY_WOW64_64KEY, &h);

  if (rc == ERROR_FILE_NOT_FOUND)
    return ASR_OK;
  if (rc != ERROR_SUCCESS)
    return ASR_ERR_IO;
  rc = RegDeleteValueA(h, name);
  RegCloseKey(h);
  return rc == ERROR_SUCCESS || rc == ERROR_FILE_NOT_FOUND ? ASR_OK : ASR_ERR_IO;
}

asr_result asr_platform_replace(const char *tmp, const char *path)
{
  if (MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    return ASR_OK;
  set_errno(GetLastError());
  return ASR_ERR_IO;
}

bool asr_platform_file_size(const char *path, int64_t *size)
{
  struct _stat64 sb;

  if (_stat64(path, &sb) != 0)
    return false;
  *size = (int64_t)sb.st_size;
  return true;
}

asr_result asr_platform_free_space(const char *dir, int64_t *bytes)
{
  ULARGE_INTEGER avail;

  if (!GetDiskFreeSpaceExA(dir, &avail, NULL, NULL)) {
    set_errno(GetLastError());
    return ASR_ERR_IO;
  }
  *bytes = avail.QuadPart > (ULONGLONG)INT64_MAX ? INT64_MAX : (int64_t)avail.QuadPart;
  return ASR_OK;
}

bool asr_platform_disk_full_error(int sys_err)
{
  return sys_err == ERROR_DISK_FULL || sys_err == ERROR_HANDLE_DISK_FULL;
}

unsigned long asr_platform_pid(void)
{
  return (unsigned long)GetCurrentProcessId();
}

int asr_platform_rename_new(const char *tmp, const char *path)
{
  DWORD err;

  /* without MOVEFILE_REPLACE_EXISTING the move fails when path exists */
  if (MoveFileExA(tmp, path, MOVEFILE_WRITE_THROUGH))
    return 1;
  err = GetLastError();
  if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS)
    return 0;
  set_errno(err);
  return -1;
}
