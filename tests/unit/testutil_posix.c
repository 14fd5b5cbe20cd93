/* testutil_posix.c: the platform part of testutil.h for POSIX systems. */
#define _XOPEN_SOURCE 700
#include "tests/unit/testutil.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

void tu_tmpdir(const char *name, char *out, size_t n)
{
  const char *base = getenv("TMPDIR");

  if (!base || !*base)
    base = "/tmp";
  ck_assert_int_eq(asr_fmt(out, n, "%s/%s.XXXXXX", base, name), ASR_OK);
  ck_assert_msg(mkdtemp(out) != NULL, "cannot create a temporary directory %s", out);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void tu_rmtree(const char *dir)
{
  if (dir && *dir)
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tu_setenv(const char *name, const char *value)
{
  if (value)
    ck_assert_int_eq(setenv(name, value, 1), 0);
  else
    ck_assert_int_eq(unsetenv(name), 0);
}

FILE *tu_tmpfile(void)
{
  return tmpfile();
}

bool tu_posix_modes(void)
{
  return true;
}

int tu_restricted(const char *path)
{
  struct stat st;

  return stat(path, &st) == 0 && (st.st_mode & 077) == 0;
}

void tu_install_key_reset(bool create)
{
  (void)create;
}

int tu_install_key_private(void)
{
  return -1;
}

bool tu_wine(void)
{
  return false;
}

bool tu_modes_deny_access(void)
{
  return geteuid() != 0; /* root reads anything */
}

int tu_chmod(const char *path, unsigned mode)
{
  return chmod(path, (mode_t)mode);
}
