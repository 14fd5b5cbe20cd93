/* text.c: UTF-8 and the cleaner of untrusted text (text.h). */
#include "common/text.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

size_t asr_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len;
  uint32_t v;

  if (n == 0)
    return 0;
  len = s[0] < 0x80 ? 1 : s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
  if (len == 0 || len > n)
    return 0;
  v = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
    return 0;
  *cp = v;
  return len;
}

size_t asr_utf8_seq(const unsigned char *s)
{
  uint32_t cp;

  return asr_utf8_decode(s, 4, &cp); /* stops at a NUL: no continuation byte */
}

size_t asr_utf8_encode(uint32_t cp, unsigned char *out)
{
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

bool asr_utf8_valid(const unsigned char *s, size_t n)
{
  uint32_t cp;
  size_t i = 0, k;

  while (i < n) {
    k = asr_utf8_decode(s + i, n - i, &cp);
    if (k == 0)
      return false;
    i += k;
  }
  return true;
}

void asr_utf8_repair(asr_buf *b, const char *s)
{
  size_t k;

  for (; s && *s && !b->err; s += k ? k : 1) {
    k = asr_utf8_seq((const unsigned char *)s);
    if (k)
      asr_buf_add(b, s, k);
    else
      asr_buf_puts(b, REPLACEMENT);
  }
}

/* The unsafe code points, as ranges (text.h says why each is there). */
static const struct {
  uint32_t lo, hi;
} unsafe[] = {
    {0x0000, 0x001F}, /* C0 controls */
    {0x007F, 0x009F}, /* DEL, C1 controls */
    {0x00AD, 0x00AD}, /* SOFT HYPHEN: invisible */
    {0x061C, 0x061C}, /* ARABIC LETTER MARK (bidi) */
    {0x180E, 0x180E}, /* MONGOLIAN VOWEL SEPARATOR: invisible */
    {0x200B, 0x200B}, /* ZERO WIDTH SPACE */
    {0x200E, 0x200F}, /* LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK */
    {0x2028, 0x202E}, /* LINE and PARAGRAPH SEPARATOR; bidi embeddings and overrides */
    {0x2060, 0x2064}, /* WORD JOINER, invisible operators */
    {0x2066, 0x206F}, /* bidi isolates; deprecated format characters */
    {0xFEFF, 0xFEFF}, /* BYTE ORDER MARK (ZERO WIDTH NO-BREAK SPACE) */
    {0xFFF9, 0xFFFB}, /* interlinear annotation marks */
};

bool asr_text_unsafe(uint32_t cp)
{
  for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
    if (cp >= unsafe[i].lo && cp <= unsafe[i].hi)
      return true;
  }
  return false;
}

bool asr_text_is_break(uint32_t cp)
{
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

const char *asr_text_step(const char *s, size_t *len, asr_text_mark mark)
{
  static const char *const marks[] = {REPLACEMENT, "?", " "};
  uint32_t cp = 0;
  size_t k = asr_utf8_decode((const unsigned char *)s, 4, &cp);

  *len = k ? k : 1;
  if (k && !asr_text_unsafe(cp))
    return NULL;
  if (k && asr_text_is_break(cp))
    return " ";
  return marks[mark];
}

asr_result asr_text_clean(char *dst, size_t n, const char *src, asr_text_mark mark)
{
  size_t o = 0, len, k;
  const char *rep;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  for (src = src ? src : ""; *src; src += len) {
    rep = asr_text_step(src, &len, mark);
    k = rep ? strlen(rep) : len;
    if (o + k >= n) {
      dst[o] = '\0';
      return ASR_ERR_TOO_LARGE;
    }
    memcpy(dst + o, rep ? rep : src, k);
    o += k;
  }
  dst[o] = '\0';
  return ASR_OK;
}

const char *asr_text_tty(const char *s, char *buf, size_t n)
{
  asr_text_clean(buf, n, s, ASR_TEXT_QMARK); /* a display takes the cut text */
  return buf;
}

void asr_text_add(asr_buf *b, const char *src, asr_text_mark mark)
{
  size_t len;
  const char *rep;

  for (; src && *src && !b->err; src += len) {
    rep = asr_text_step(src, &len, mark);
    if (rep)
      asr_buf_puts(b, rep);
    else
      asr_buf_add(b, src, len);
  }
}
