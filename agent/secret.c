#include "agent/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

void asr_secret_wipe(void *p, size_t n)
{
  volatile unsigned char *v = p;

  while (n--)
    *v++ = 0;
}

/* Group or others may read the file: refuse, as ssh does for keys. */
static asr_result check_mode(FILE *f, const char *path, char *err, size_t errn)
{
  struct stat st;

  if (fstat(fileno(f), &st) != 0) {
    asr_fmt(err, errn, "%s: %s", path, strerror(errno));
    return ASR_ERR_SECRET;
  }
  if (!S_ISREG(st.st_mode)) {
    asr_fmt(err, errn, "%s: not a regular file", path);
    return ASR_ERR_SECRET;
  }
#if !defined(_WIN32)
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    asr_fmt(err, errn, "%s: readable by group or others (chmod 600 it)", path);
    return ASR_ERR_SECRET;
  }
#endif
  return ASR_OK;
}

static void chomp(char *s)
{
  size_t len = strlen(s);

  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
    s[--len] = '\0';
}

asr_result asr_secret_from_file(const char *path, char *out, size_t n, char *err, size_t errn)
{
  FILE *f = fopen(path, "r");
  asr_result r;

  if (!f) {
    asr_fmt(err, errn, "%s: %s", path, strerror(errno));
    return ASR_ERR_SECRET;
  }
  r = check_mode(f, path, err, errn);
  if (r)
    goto out;
  r = ASR_ERR_SECRET;
  if (!fgets(out, (int)n, f)) {
    asr_fmt(err, errn, "%s: empty pass-phrase file", path);
    goto out;
  }
  if (!strchr(out, '\n') && !feof(f) && fgetc(f) != EOF) {
    asr_fmt(err, errn, "%s: pass phrase longer than %zu bytes", path, n - 1);
    goto out;
  }
  chomp(out);
  if (out[0] == '\0') {
    asr_fmt(err, errn, "%s: empty pass phrase", path);
    goto out;
  }
  r = ASR_OK;
out:
  if (r)
    asr_secret_wipe(out, n);
  fclose(f);
  return r;
}

asr_result asr_secret_from_env(const char *var, char *out, size_t n)
{
  const char *v = getenv(var);

  if (!v || !*v)
    return ASR_ERR_NOT_FOUND;
  if (asr_strlcpy(out, v, n) != ASR_OK) {
    asr_secret_wipe(out, n);
    return ASR_ERR_SECRET;
  }
  return ASR_OK;
}
