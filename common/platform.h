/* platform.h: the few operating-system services the core needs, behind one interface.
 *
 * Two implementations, chosen by the build (Makefile.am), never by #ifdef in the logic:
 * platform_posix.c (Linux and other POSIX systems) and platform_win.c (Windows, mingw-w64).
 * Paths may contain environment references written %NAME% (Windows only: ASR_STATEDIR is
 * "%ProgramData%/asr-agent" there); asr_platform_path() resolves them at run time. */
#ifndef ASR_PLATFORM_H
#define ASR_PLATFORM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "common/addr.h"
#include "common/result.h"

/* Initialises what the platform needs before any other call (Windows: Winsock). */
asr_result asr_platform_init(void);

/* Releases what asr_platform_init acquired. */
void asr_platform_fini(void);

/* Copies path into out (n bytes) with environment references resolved (Windows) or as is
 * (POSIX); ASR_ERR_INVALID when the result does not fit. */
asr_result asr_platform_path(const char *path, char *out, size_t n);

/* True for a directory separator of the platform ('/'; also '\\' on Windows). */
bool asr_platform_is_sep(char c);

/* Creates the directory dir readable by its owner only; ASR_OK when it already exists.
 * On failure errno tells why. */
asr_result asr_platform_mkdir_private(const char *dir);

/* Creates the file path, read-write for its owner only, when it does not exist: 1 when
 * created, 0 when it existed already, -1 otherwise (errno tells why). */
int asr_platform_create_private(const char *path);

/* True when path names a regular file we may read and write. */
bool asr_platform_is_rw_file(const char *path);

/* Narrows the permissions of path to its owner when others may read it; true when it did. */
bool asr_platform_narrow(const char *path);

/* Checks an open file: ASR_ERR_INVALID when it is not a regular file, ASR_ERR_SECRET when
 * group or others may read it (POSIX; Windows relies on the folder's ACL), ASR_ERR_IO when
 * it cannot be examined (errno). */
asr_result asr_platform_file_private(FILE *f);

/* Copies this machine's host name into out (n bytes); "" when it is unknown. */
void asr_platform_hostname(char *out, size_t n);

/* True when the descriptor fd is a terminal (console). */
bool asr_platform_isatty(int fd);

/* Copies the absolute form of the existing path into out; false when it does not exist or
 * does not fit. */
bool asr_platform_realpath(const char *path, char *out, size_t n);

/* Catches Ctrl-C (SIGINT; Ctrl-C and Ctrl-Break in a Windows console): until
 * asr_platform_interrupt_release, an interrupt sets *flag to 1 instead of ending the
 * process, and ends a wait in progress (POSIX). Taken only when the process left SIGINT at
 * its default: a daemon's own handler, or an interrupt a shell ignores for a background
 * job, stays as it was. True when caught. */
bool asr_platform_interrupt_catch(volatile sig_atomic_t *flag);

/* Gives Ctrl-C back its default effect (after asr_platform_interrupt_catch). */
void asr_platform_interrupt_release(void);

/* Overwrites n bytes at p with zeros in a way the compiler keeps even when p is freed or
 * goes out of scope next (explicit_bzero; SecureZeroMemory on Windows): the one way to wipe
 * a secret (pass phrases, keys, tokens, credentials). */
void asr_secret_wipe(void *p, size_t n);

/* Sleeps ms milliseconds (not interrupted early). */
void asr_platform_sleep_ms(int64_t ms);

/* Milliseconds of a monotonic clock (arbitrary origin). */
int64_t asr_platform_monotonic_ms(void);

/* True when the platform has a service manager that `asr-agent service` drives (the
 * Windows SCM); false on POSIX, where the package installs systemd units. */
bool asr_platform_service_supported(void);

/* Registers the service name (automatic start, LocalSystem) running this program with args
 * appended to its quoted path, and the Event Log source name (Windows); logs why not. */
asr_result asr_platform_service_install(const char *name, const char *display, const char *args);

/* Stops (when running) and deletes the service name and its Event Log source. */
asr_result asr_platform_service_uninstall(const char *name);

/* Starts the service name and waits up to timeout_ms for RUNNING; ASR_ERR_IO when it
 * stopped instead, ASR_ERR_TIMEOUT when still pending. */
asr_result asr_platform_service_start(const char *name, int64_t timeout_ms);

/* Asks the service name to stop and waits up to timeout_ms for STOPPED. */
asr_result asr_platform_service_stop(const char *name, int64_t timeout_ms);

/* Asks the running service name to reload its configuration (Windows: the PARAMCHANGE
 * control); ASR_ERR_INVALID when it is not running. */
asr_result asr_platform_service_reload(const char *name);

/* Restricts the existing file or directory path to SYSTEM and Administrators (Windows:
 * owner Administrators and a protected DACL, inherited by the contents of a directory;
 * refused when another account owns it and ours cannot take it over) or to its owner (POSIX). */
asr_result asr_platform_restrict(const char *path);

/* Reads the value name that the installer left for the agent (Windows: a string under
 * HKLM\SOFTWARE\asr-agent\Install, written by the MSI) into out; ASR_ERR_NOT_FOUND when
 * it is absent or empty (always on POSIX), ASR_ERR_TOO_LARGE when it does not fit. */
asr_result asr_platform_install_value(const char *name, char *out, size_t n);

/* Creates the installer's key (Windows: HKLM\SOFTWARE\asr-agent\Install) with access for
 * SYSTEM and Administrators only, before the installer writes secrets into it; no-op on
 * POSIX. */
asr_result asr_platform_install_lock(void);

/* Deletes the installer's value name (ASR_OK when it is absent; no-op on POSIX). */
asr_result asr_platform_install_forget(const char *name);

/* Replaces the file path by the file tmp (atomically where the system can). POSIX keeps
 * the owner, group and mode (without access for others) of a path that existed; Windows keeps tmp's
 * access list. */
asr_result asr_platform_replace(const char *tmp, const char *path);

/* ---- the database's file and disk (store/store.c) ---- */

/* The size in bytes of the existing file path into *size; false when it cannot be examined
 * (errno tells why). */
bool asr_platform_file_size(const char *path, int64_t *size);

/* The bytes an unprivileged process may still write on the file system of dir into
 * *bytes; ASR_ERR_IO when it cannot be known (errno). */
asr_result asr_platform_free_space(const char *dir, int64_t *bytes);

/* True when sys_err, an operating-system error number as SQLite reports it
 * (sqlite3_system_errno: errno on POSIX, GetLastError on Windows), means the disk or
 * the quota is full. */
bool asr_platform_disk_full_error(int sys_err);

/* The id of this process (to name its temporary files). */
unsigned long asr_platform_pid(void);

/* Gives the new file tmp the name path when no file has it, atomically (a file created at
 * path meanwhile by another process is kept): 1 when tmp became path, 0 when path
 * existed (tmp is left as it was), -1 on another error (errno). */
int asr_platform_rename_new(const char *tmp, const char *path);

/* ---- UDP sockets (the sweep: snmp/sweep.c) ----------------------------------------------
 * A non-blocking datagram socket of one family, bound to an ephemeral port of any local
 * address. Sends and receives never wait: the caller selects on asr_udp_fd (snmp/scan.c's
 * loop waits on these sockets and on net-snmp's together). */
typedef struct asr_udp asr_udp;

/* Opens a socket of family (ASR_AF_INET or ASR_AF_INET6) asking for a receive buffer of
 * rcvbuf bytes (0: the system's default); ASR_ERR_IO when the system refuses (errno, or
 * WSAGetLastError, logged). */
asr_result asr_udp_open(int family, int rcvbuf, asr_udp **out);

/* Sends one datagram to addr:port. ASR_ERR_LIMIT when the socket's buffer is full (try
 * again later), ASR_ERR_IO for any other failure (e.g. no route). */
asr_result asr_udp_send(asr_udp *u, const asr_addr *to, uint16_t port, const void *buf, size_t len);

/* Receives one waiting datagram into buf (cap bytes): its size in *len, its source in
 * *from and *port. ASR_ERR_NOT_FOUND when none is waiting, ASR_ERR_TOO_LARGE when it did not
 * fit (dropped), ASR_ERR_IO on another error (e.g. an ICMP error reported by the system). */
asr_result asr_udp_recv(asr_udp *u, void *buf, size_t cap, size_t *len, asr_addr *from,
                        uint16_t *port);

/* The socket's descriptor, for select() next to other sockets (a SOCKET on Windows). */
int asr_udp_fd(const asr_udp *u);

/* Closes the socket (NULL is fine). */
void asr_udp_close(asr_udp *u);

#endif
