/* testutil.h: portable helpers for the unit tests, so that they build and run on POSIX and,
 * cross-built with mingw-w64, on Windows (under Wine in CI): temporary directories,
 * environment variables, files and streams from strings, capture of a stream's output, and
 * skipping with a visible reason the tests that need what a platform does not have (POSIX
 * file modes). Two implementations of the platform part, chosen by Makefile.am:
 * testutil_posix.c and testutil_win.c; testutil.c is the portable rest. */
#ifndef ASR_TESTUTIL_H
#define ASR_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A stream whose output the test reads back (tu_capture_open, tu_capture_close). */
typedef struct tu_capture {
  FILE *f;
} tu_capture;

/* Creates a new empty directory named after name in the system's temporary folder and
 * copies its path into out (n bytes); fails the test when it cannot. */
void tu_tmpdir(const char *name, char *out, size_t n);

/* Removes dir and everything in it (best effort: a test's teardown). */
void tu_rmtree(const char *dir);

/* Sets the environment variable name to value, or removes it when value is NULL. */
void tu_setenv(const char *name, const char *value);

/* An anonymous read-write binary temporary file, gone when closed; NULL on failure. */
FILE *tu_tmpfile(void);

/* True when the platform has POSIX file modes, which the agent checks (not Windows). */
bool tu_posix_modes(void);

/* True when file modes deny this process access (POSIX modes, and not running as root). */
bool tu_modes_deny_access(void);

/* Windows: 1 when path's owner is the Administrators group, else 0. POSIX: 1 when its mode
 * gives nothing to the group and others (what asr_platform_restrict does there). */
int tu_restricted(const char *path);

/* Windows: recreates the installer's key HKLM\SOFTWARE\asr-agent\Install with default
 * (inherited) rights when create, or deletes it; no-op on POSIX. */
void tu_install_key_reset(bool create);

/* Windows: 1 when the installer's key has a protected access list without Users or
 * Everyone, 0 when not, -1 when it cannot be read. POSIX: -1 (no such key). */
int tu_install_key_private(void);

/* True when running under Wine (which takes a file's owner from its Unix owner). */
bool tu_wine(void);

/* Sets the POSIX mode of path (0 when done); a no-op answering 0 on Windows (ACLs). */
int tu_chmod(const char *path, unsigned mode);

/* Writes text to path (replacing it); fails the test when it cannot. */
void tu_write_file(const char *path, const char *text);

/* A stream open for reading that holds the len bytes of data; NULL on failure. */
FILE *tu_stream_from(const void *data, size_t len);

/* Opens c->f, a stream to write to; false on failure. */
bool tu_capture_open(tu_capture *c);

/* Closes c->f and returns what was written to it, NUL-terminated (len bytes without the
 * NUL when len is not NULL), to free(); NULL on failure. */
char *tu_capture_close(tu_capture *c, size_t *len);

/* Prints, once per test, that test is skipped on this platform and why. */
void tu_skip(const char *test, const char *why);

/* Adds the test tf to tc where the platform has POSIX file modes; elsewhere reports it
 * skipped with the reason why (a visible skip, never a silent one). */
#define TU_ADD_MODES_TEST(tc, tf, why)                                                             \
  do {                                                                                             \
    if (tu_posix_modes())                                                                          \
      tcase_add_test(tc, tf);                                                                      \
    else                                                                                           \
      tu_skip(#tf, why);                                                                           \
  } while (0)

#endif
