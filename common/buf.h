/* buf.h: a growing text buffer with a bound, whose first failure sticks (as curl's dynbuf):
 * a writer appends without checking each step and looks at the result once, at the end.
 * It holds bytes as well as text (asr_buf_add counts, never looks for a NUL), and never
 * allocates more than max + 1 bytes.
 *
 *   asr_buf b = {.max = 1 << 20};   // zeroed = empty; max 0 = no bound of its own
 *   asr_buf_puts(&b, "<p>");
 *   asr_buf_printf(&b, "%d%%", pct);
 *   r = asr_buf_finish(&b, &text);   // text is malloc'd and NUL-terminated, or r says why not
 */
#ifndef ASR_BUF_H
#define ASR_BUF_H

#include <stddef.h>

#include "common/result.h"

typedef struct {
  char *p;        /* the text, NUL-terminated once anything was added */
  size_t len;     /* bytes in p, without the NUL */
  size_t cap;     /* bytes allocated */
  size_t max;     /* a length that is ASR_ERR_LIMIT (0: none of its own) */
  asr_result err; /* the first failure: ASR_ERR_NOMEM or ASR_ERR_LIMIT */
} asr_buf;

/* Appends n bytes of s. */
void asr_buf_add(asr_buf *b, const void *s, size_t n);

/* Appends a NUL-terminated string. */
void asr_buf_puts(asr_buf *b, const char *s);

/* Appends formatted text (of any length). */
void asr_buf_printf(asr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the text over to *out (the caller frees it; "" when nothing was added) and
 * empties b; on a failure frees it, sets *out to NULL and returns the failure. */
asr_result asr_buf_finish(asr_buf *b, char **out);

/* Empties b for reuse, keeping its allocation and max, and forgets a failure. */
void asr_buf_reset(asr_buf *b);

/* Frees the text and empties b (keeping max). */
void asr_buf_free(asr_buf *b);

#endif
