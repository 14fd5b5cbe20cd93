#include "agent/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/platform.h"
#include "common/util.h"

/* Group or others may read the file: refuse, as ssh does for keys. */
static asr_result check_mode(FILE *f, const char *path, char *err, size_t errn)
{
  asr_result r = asr_platform_file_private(f);

  if (r == ASR_ERR_IO)
    asr_fmt_cut(err, errn, "%s: %s", path, strerror(errno));
  else if (r == ASR_ERR_INVALID)
    asr_fmt_cut(err, errn, "%s: not a regular file", path);
  else if (r != ASR_OK)
    asr_fmt_cut(err, errn, "%s: readable by group or others (chmod 600 it)", path);
  return r == ASR_OK ? ASR_OK : ASR_ERR_SECRET;
}

static void chomp(char *s)
{
  size_t len = strlen(s);

  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
    s[--len] = '\0';
}

/* For an "auth = ..." or "priv = ..." line: copies the key into key and returns the
 * value; NULL for any other line. */
static const char *keyed_line(const char *line, char key[5])
{
  const char *p = line + strspn(line, " \t");

  if (strncmp(p, "auth", 4) != 0 && strncmp(p, "priv", 4) != 0)
    return NULL;
  memcpy(key, p, 4);
  key[4] = '\0';
  p += 4;
  p += strspn(p, " \t");
  if (*p != '=')
    return NULL;
  p++;
  return p + strspn(p, " \t");
}

static asr_result take_value(const char *v, char *out, size_t n, const char *path, char *err,
                             size_t errn)
{
  if (!*v) {
    asr_fmt_cut(err, errn, "%s: empty pass phrase", path);
    return ASR_ERR_SECRET;
  }
  if (asr_strlcpy(out, v, n) != ASR_OK) {
    asr_fmt_cut(err, errn, "%s: pass phrase longer than %zu bytes", path, n - 1);
    return ASR_ERR_SECRET;
  }
  return ASR_OK;
}

/* The first line, or the value of the "key = ..." line when the file is keyed. */
static asr_result read_value(FILE *f, const char *path, const char *key, char *out, size_t n,
                             char *err, size_t errn)
{
  char line[512], first[512] = "", k[5];
  const char *v;
  int line_no = 0, keyed = 0;
  asr_result r = ASR_ERR_SECRET;

  while (fgets(line, sizeof(line), f)) {
    line_no++;
    if (!strchr(line, '\n') && !feof(f)) {
      asr_fmt_cut(err, errn, "%s: line %d is too long", path, line_no);
      goto out;
    }
    chomp(line);
    v = keyed_line(line, k);
    if (!v) {
      if (line_no == 1)
        asr_strlcpy_cut(first, line, sizeof(first));
      continue;
    }
    keyed = 1;
    if (strcmp(k, key) == 0) {
      r = take_value(v, out, n, path, err, errn);
      goto out;
    }
  }
  if (keyed)
    asr_fmt_cut(err, errn, "%s: no '%s = ...' line", path, key);
  else
    r = take_value(first, out, n, path, err, errn);
out:
  asr_secret_wipe(line, sizeof(line));
  asr_secret_wipe(first, sizeof(first));
  return r;
}

asr_result asr_secret_from_file(const char *path, const char *key, char *out, size_t n, char *err,
                                size_t errn)
{
  FILE *f = fopen(path, "r");
  asr_result r;

  if (!f) {
    asr_fmt_cut(err, errn, "%s: %s", path, strerror(errno));
    return ASR_ERR_SECRET;
  }
  r = check_mode(f, path, err, errn);
  if (r == ASR_OK)
    r = read_value(f, path, key, out, n, err, errn);
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
