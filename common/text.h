/* text.h: UTF-8, and the one cleaner of untrusted text on its way to a person.
 *
 * Printers' strings, agents' batches and peers' answers reach terminals, pages, mails and
 * logs. All of them go through asr_text_step (or the two copies built on it), so the set
 * of characters neutralised is the same everywhere (asr_text_unsafe):
 *  - malformed UTF-8: a byte that starts no well-formed sequence (overlongs, surrogates,
 *    code points above U+10FFFF, cut sequences) counts as one unsafe character;
 *  - C0 controls, DEL and C1 controls (terminal escapes, header injection);
 *  - the bidirectional controls: LRM, RLM, ALM, the embeddings and overrides
 *    U+202A..U+202E and the isolates U+2066..U+2069 (a serial that reads backwards);
 *  - invisible characters that make two different texts look alike: the soft hyphen, the
 *    Mongolian vowel separator, ZWSP, the word joiner and invisible operators
 *    U+2060..U+2064, the deprecated format characters U+206A..U+206F, the byte-order mark
 *    U+FEFF and the interlinear annotation marks U+FFF9..U+FFFB;
 *  - the line and paragraph separators U+2028 and U+2029.
 * ZWNJ and ZWJ (U+200C, U+200D) stay: Persian, the Indic scripts and emoji need them.
 * Line breaks and tabs (TAB LF VT FF CR, NEL, U+2028, U+2029) become a space; every other
 * unsafe character becomes the caller's mark. */
#ifndef ASR_TEXT_H
#define ASR_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/result.h"

/* What an unsafe character becomes. */
typedef enum {
  ASR_TEXT_FFFD,  /* U+FFFD REPLACEMENT CHARACTER: pages, mails, JSON */
  ASR_TEXT_QMARK, /* '?': terminal tables and CSV */
  ASR_TEXT_SPACE, /* ' ': one-line texts (events, logs) */
} asr_text_mark;

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n) and its code point in *cp;
 * 0 when there is none (overlongs, surrogates, code points above U+10FFFF, a cut
 * sequence). The one UTF-8 decoder. It reads no byte after one that is no continuation
 * byte, so a NUL-terminated s may be passed with n = 4. */
size_t asr_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Length (1..4) of the well-formed UTF-8 sequence at the NUL-terminated s, 0 when it is
 * not one. Reads no byte past a NUL. */
size_t asr_utf8_seq(const unsigned char *s);

/* Writes the UTF-8 of cp (at most U+10FFFF, no surrogate) into out (4 bytes); its length. */
size_t asr_utf8_encode(uint32_t cp, unsigned char *out);

/* True when s[0..n) is entirely well-formed UTF-8. */
bool asr_utf8_valid(const unsigned char *s, size_t n);

/* Appends s (NULL: nothing) to b with each malformed byte as U+FFFD and every well-formed
 * character as it is: for data formats that escape the rest themselves (JSON), never for
 * text a person reads. */
void asr_utf8_repair(asr_buf *b, const char *s);

/* True for a code point that no output shows as it is (the list above). */
bool asr_text_unsafe(uint32_t cp);

/* True for the unsafe characters that stand for a break between words (tab, line breaks):
 * the outputs show them as one space. */
bool asr_text_is_break(uint32_t cp);

/* One step over the NUL-terminated s (*s not NUL): sets *len to the bytes of the character
 * at s (1 for a malformed byte) and returns NULL when it is safe (copy s[0..*len) as it
 * is) or the text to write instead (" " for a break, else mark's). */
const char *asr_text_step(const char *s, size_t *len, asr_text_mark mark);

/* Copies src (NULL: "") into dst (n bytes, always NUL-terminated when n > 0) cleaned with
 * mark, never cutting a character. ASR_ERR_TOO_LARGE when it did not fit (dst holds what
 * did): a display may take the cut text, a value may not. */
asr_result asr_text_clean(char *dst, size_t n, const char *src, asr_text_mark mark);

/* Cleans s (NULL: "") for a terminal ('?' marks) into buf (n > 0 bytes), cut when it does
 * not fit, and returns buf: for printf arguments of tables. */
const char *asr_text_tty(const char *s, char *buf, size_t n);

/* Appends src (NULL: nothing) cleaned with mark to b. */
void asr_text_add(asr_buf *b, const char *src, asr_text_mark mark);

#endif
