/* buf.c: the growing text buffer (buf.h). */
#include "common/buf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST 1024

/* Makes room for n more bytes and the NUL; false (err set) when it cannot. */
static bool reserve(asr_buf *b, size_t n)
{
  size_t limit = b->max ? b->max : SIZE_MAX / 4, cap = b->cap ? b->cap : BUF_FIRST;
  char *p;

  if (b->err)
    return false;
  if (n > limit - b->len) {
    b->err = ASR_ERR_LIMIT;
    return false;
  }
  if (b->len + n < b->cap)
    return true;
  while (cap <= b->len + n)
    cap *= 2;
  if (b->max && cap > b->max + 1)
    cap = b->max + 1; /* n fits: len + n <= max */
  p = realloc(b->p, cap);
  if (!p) {
    b->err = ASR_ERR_NOMEM;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

void asr_buf_add(asr_buf *b, const void *s, size_t n)
{
  if (!reserve(b, n))
    return;
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void asr_buf_puts(asr_buf *b, const char *s)
{
  asr_buf_add(b, s, strlen(s));
}

void asr_buf_printf(asr_buf *b, const char *fmt, ...)
{
  va_list ap, ap2;
  int n;

  va_start(ap, fmt);
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap);
  if (n < 0 && !b->err)
    b->err = ASR_ERR_INVALID;
  if (n >= 0 && reserve(b, (size_t)n) && vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2) == n)
    b->len += (size_t)n;
  va_end(ap2);
  va_end(ap);
}

asr_result asr_buf_finish(asr_buf *b, char **out)
{
  asr_result r;

  *out = NULL;
  if (!b->p)
    asr_buf_add(b, "", 0);
  r = b->err;
  if (!r) {
    *out = b->p;
    b->p = NULL;
  }
  asr_buf_free(b);
  return r;
}

void asr_buf_reset(asr_buf *b)
{
  b->len = 0;
  b->err = ASR_OK;
  if (b->p)
    b->p[0] = '\0';
}

void asr_buf_free(asr_buf *b)
{
  size_t max = b->max;

  free(b->p);
  memset(b, 0, sizeof(*b));
  b->max = max;
}
