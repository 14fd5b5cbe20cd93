/* snmp/charset.c: printer bytes -> clean, bounded UTF-8.
 *
 * Decoding runs in two stages. A decoder (UTF-8, Latin-1, windows-1252, UTF-16) turns
 * the input into code points one at a time; a writer cleans them (the unsafe characters
 * of every output, common/text.h, dropped: controls, bidirectional controls, invisible
 * ones; separators collapsed into one space, leading and trailing blanks removed) and
 * encodes them into the caller's buffer without ever cutting a character. Every
 * rule is listed in docs/supplies.md ("Character sets"). */
#include "snmp/charset.h"

#include <stdbool.h>

#include "common/text.h"

#define REPLACEMENT 0xFFFDu

/* IANA MIBenum values we decode (https://www.iana.org/assignments/character-sets). */
enum {
  MIB_ASCII = 3,
  MIB_LATIN1 = 4,
  MIB_UTF8 = 106,
  MIB_UCS2 = 1000, /* ISO-10646-UCS-2: big-endian UTF-16 without surrogates */
  MIB_UTF16BE = 1013,
  MIB_UTF16LE = 1014,
  MIB_UTF16 = 1015,
  MIB_CP1252 = 2252,
};

/* windows-1252 0x80..0x9F (0 = undefined -> U+FFFD). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/* The cleaning writer: out[0..len) is valid UTF-8, always NUL-terminated. */
typedef struct {
  char *out;
  size_t n, len;
  bool pending_space; /* a separator was seen after visible text */
  bool full;          /* a character did not fit: stop writing */
} writer;

/* Separators: blanks and the NUL/CR/LF that split HP descriptions into pieces. */
static bool is_separator(uint32_t cp)
{
  return cp == ' ' || cp == 0 || cp == 0xA0 || asr_text_is_break(cp);
}

/* The unsafe characters of every output (common/text.h), and what is no character. */
static bool is_dropped(uint32_t cp)
{
  return asr_text_unsafe(cp) || (cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF;
}

static void put(writer *w, uint32_t cp)
{
  unsigned char b[5];
  size_t k, need;

  if (w->full)
    return;
  if (is_separator(cp)) {
    w->pending_space = w->len > 0;
    return;
  }
  if (is_dropped(cp))
    return;
  k = 0;
  if (w->pending_space)
    b[k++] = ' ';
  k += asr_utf8_encode(cp, b + k);
  need = w->len + k + 1;
  if (need > w->n) {
    w->full = true;
    return;
  }
  for (size_t i = 0; i < k; i++)
    w->out[w->len++] = (char)b[i];
  w->out[w->len] = '\0';
  w->pending_space = false;
}

/* UTF-8: a malformed byte becomes U+FFFD (one byte consumed). */
static void decode_utf8(writer *w, const uint8_t *in, size_t len)
{
  size_t i = 0, k;
  uint32_t cp;

  while (i < len && !w->full) {
    k = asr_utf8_decode(in + i, len - i, &cp);
    put(w, k ? cp : REPLACEMENT);
    i += k ? k : 1;
  }
}

static void decode_8bit(writer *w, const uint8_t *in, size_t len, bool cp1252)
{
  for (size_t i = 0; i < len && !w->full; i++) {
    uint32_t cp = in[i];

    if (cp1252 && cp >= 0x80 && cp < 0xA0)
      cp = cp1252_high[cp - 0x80] ? cp1252_high[cp - 0x80] : REPLACEMENT;
    put(w, cp);
  }
}

static uint32_t u16_at(const uint8_t *p, bool le)
{
  return le ? (uint32_t)(p[0] | (p[1] << 8)) : (uint32_t)((p[0] << 8) | p[1]);
}

/* UTF-16: a leading BOM decides the byte order (else le); surrogates paired;
 * a lone surrogate or an odd last byte becomes U+FFFD. */
static void decode_utf16(writer *w, const uint8_t *in, size_t len, bool le)
{
  size_t i = 0;

  if (len >= 2 && ((in[0] == 0xFE && in[1] == 0xFF) || (in[0] == 0xFF && in[1] == 0xFE))) {
    le = in[0] == 0xFF;
    i = 2;
  }
  for (; i + 1 < len && !w->full; i += 2) {
    uint32_t u = u16_at(in + i, le), lo;

    if (u >= 0xD800 && u < 0xDC00 && i + 3 < len) {
      lo = u16_at(in + i + 2, le);
      if (lo >= 0xDC00 && lo < 0xE000) {
        put(w, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
        i += 2;
        continue;
      }
    }
    put(w, (u >= 0xD800 && u < 0xE000) ? REPLACEMENT : u);
  }
  if (i < len)
    put(w, REPLACEMENT);
}

/* Trailing NULs and blanks are padding: cut them before decoding 8-bit and UTF-8 input
 * (UTF-16 is trimmed by the writer, a NUL code unit being a separator). */
static size_t trim_padding(const uint8_t *in, size_t len)
{
  while (len > 0 && (in[len - 1] == 0 || in[len - 1] == ' '))
    len--;
  return len;
}

/* The byte order of in when it looks like UTF-16 of ASCII text without a byte-order mark:
 * a NUL at every even place (big-endian) or every odd place (little-endian) of an even
 * length, the other bytes not all NUL. -1 when it does not. */
static int utf16_ascii_order(const uint8_t *in, size_t len)
{
  size_t zero[2] = {0, 0};

  if (len < 2 || len % 2)
    return -1;
  for (size_t i = 0; i < len; i++)
    zero[i % 2] += in[i] == 0;
  if (zero[0] == len / 2 && zero[1] < len / 2)
    return MIB_UTF16BE;
  if (zero[1] == len / 2 && zero[0] < len / 2)
    return MIB_UTF16LE;
  return -1;
}

size_t asr_charset_decode_name(const uint8_t *in, size_t len, char *out, size_t n)
{
  int order;

  if (in && len >= 2 && ((in[0] == 0xFE && in[1] == 0xFF) || (in[0] == 0xFF && in[1] == 0xFE)))
    return asr_charset_decode(in, len, MIB_UTF16, out, n);
  order = in ? utf16_ascii_order(in, len) : -1;
  return asr_charset_decode(in, len, order > 0 ? order : 0, out, n);
}

size_t asr_charset_decode(const uint8_t *in, size_t len, int mibenum, char *out, size_t n)
{
  writer w = {out, n, 0, false, false};

  if (n == 0)
    return 0;
  out[0] = '\0';
  if (!in)
    return 0;
  switch (mibenum) {
  case MIB_UTF16BE:
  case MIB_UTF16:
  case MIB_UCS2:
    decode_utf16(&w, in, len, false);
    break;
  case MIB_UTF16LE:
    decode_utf16(&w, in, len, true);
    break;
  case MIB_LATIN1:
    decode_8bit(&w, in, trim_padding(in, len), false);
    break;
  case MIB_CP1252:
    decode_8bit(&w, in, trim_padding(in, len), true);
    break;
  case MIB_UTF8:
    decode_utf8(&w, in, trim_padding(in, len));
    break;
  default: /* unknown, US-ASCII and the rest: UTF-8 when valid, else Latin-1 */
    len = trim_padding(in, len);
    if (asr_utf8_valid(in, len))
      decode_utf8(&w, in, len);
    else
      decode_8bit(&w, in, len, false);
    break;
  }
  return w.len;
}
