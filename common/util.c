#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

asr_result asr_strlcpy(char *dst, const char *src, size_t n)
{
  size_t len;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  len = strlen(src);
  if (len >= n) {
    memcpy(dst, src, n - 1);
    dst[n - 1] = '\0';
    return ASR_ERR_TOO_LARGE;
  }
  memcpy(dst, src, len + 1);
  return ASR_OK;
}

void asr_strlcpy_cut(char *dst, const char *src, size_t n)
{
  if (asr_strlcpy(dst, src, n) != ASR_OK)
    return; /* cut (or n 0): what fits is the text wanted */
}

int asr_hex_val(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void asr_hex_encode(const void *b, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = b;

  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

long asr_hex_decode(const char *s, void *out, size_t cap)
{
  size_t len = strlen(s);
  unsigned char *o = out;

  if (len % 2 || len / 2 > cap || len / 2 > LONG_MAX)
    return -1;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = asr_hex_val((unsigned char)s[2 * i]), lo = asr_hex_val((unsigned char)s[2 * i + 1]);

    if (hi < 0 || lo < 0)
      return -1;
    o[i] = (unsigned char)(hi << 4 | lo);
  }
  return (long)(len / 2);
}

bool asr_hex_is(const char *s, size_t n)
{
  return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

__attribute__((format(printf, 3, 0))) static asr_result vfmt(char *dst, size_t n, const char *fmt,
                                                             va_list ap)
{
  int r;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  r = vsnprintf(dst, n, fmt, ap);
  if (r < 0) {
    dst[0] = '\0';
    return ASR_ERR_INVALID;
  }
  return (size_t)r >= n ? ASR_ERR_TOO_LARGE : ASR_OK;
}

asr_result asr_fmt(char *dst, size_t n, const char *fmt, ...)
{
  va_list ap;
  asr_result r;

  va_start(ap, fmt);
  r = vfmt(dst, n, fmt, ap);
  va_end(ap);
  return r;
}

void asr_fmt_cut(char *dst, size_t n, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vfmt(dst, n, fmt, ap); /* cut (or n 0): what fits is the text wanted */
  va_end(ap);
}

asr_result asr_append(char *dst, size_t n, size_t *len, const char *fmt, ...)
{
  va_list ap;
  asr_result r;

  if (*len >= n)
    return ASR_ERR_TOO_LARGE;
  va_start(ap, fmt);
  r = vfmt(dst + *len, n - *len, fmt, ap);
  va_end(ap);
  *len += strlen(dst + *len);
  return r;
}

asr_result asr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
  char *end;
  long long v;

  if (!s || !*s || isspace((unsigned char)*s)) /* strtoll would skip leading blanks */
    return ASR_ERR_INVALID;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || *end != '\0' || v < min || v > max)
    return ASR_ERR_INVALID;
  *out = v;
  return ASR_OK;
}

asr_result asr_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
  int64_t v;

  if (!s || *s == '-' || *s == '+')
    return ASR_ERR_INVALID;
  if (asr_parse_i64(s, min, max, &v) != ASR_OK)
    return ASR_ERR_INVALID;
  *out = (unsigned)v;
  return ASR_OK;
}

const char *asr_plural(long long n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

#define EDIT_WORD_MAX 64

static size_t min3(size_t a, size_t b, size_t c)
{
  size_t m = a < b ? a : b;

  return m < c ? m : c;
}

/* Optimal string alignment: Levenshtein plus the swap of two neighbours, the commonest
 * typo, as one edit. Three rows: the one before last for the swaps. */
size_t asr_edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  size_t rows[3][EDIT_WORD_MAX + 1], *pp = rows[0], *p = rows[1], *r = rows[2], *t;

  if (la > EDIT_WORD_MAX || lb > EDIT_WORD_MAX)
    return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++)
    p[j] = j;
  for (size_t i = 1; i <= la; i++) {
    r[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      r[j] = min3(p[j] + 1, r[j - 1] + 1, p[j - 1] + (a[i - 1] != b[j - 1]));
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < r[j])
        r[j] = pp[j - 2] + 1;
    }
    t = pp;
    pp = p;
    p = r;
    r = t;
  }
  return p[lb];
}
