/* util.h: bounded string and number helpers (the house bans sprintf, strcpy, strcat
 * and atoi; these are what we use instead). */
#ifndef ASR_UTIL_H
#define ASR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

/* A result that must be looked at (GCC and clang check it; a (void) cast does not silence
 * GCC): a cut string is either an error to report or a choice the caller says with the
 * *_cut forms below. Empty for compilers without the attribute. */
#if defined(__GNUC__) || defined(__clang__)
#define ASR_MUST_USE __attribute__((warn_unused_result))
#else
#define ASR_MUST_USE
#endif

/* Copies src into dst of size n, always NUL-terminated; ASR_ERR_TOO_LARGE if cut. */
asr_result asr_strlcpy(char *dst, const char *src, size_t n) ASR_MUST_USE;

/* Formats into dst of size n, always NUL-terminated; ASR_ERR_TOO_LARGE if cut. */
asr_result asr_fmt(char *dst, size_t n, const char *fmt, ...) ASR_MUST_USE
    __attribute__((format(printf, 3, 4)));

/* asr_strlcpy where a cut text is what the caller wants (a display, a log line, a message
 * that stays readable cut): the deliberate form, without a result. */
void asr_strlcpy_cut(char *dst, const char *src, size_t n);

/* asr_fmt where a cut text is what the caller wants: the deliberate form. */
void asr_fmt_cut(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends formatted text at dst+*len (bounded by n), advancing *len; cut -> TOO_LARGE. */
asr_result asr_append(char *dst, size_t n, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses a whole decimal integer in [min, max]; ASR_ERR_INVALID otherwise. */
asr_result asr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parses a whole decimal unsigned integer in [min, max]; ASR_ERR_INVALID otherwise. */
asr_result asr_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* Value of a hexadecimal digit (either case), -1 for any other character. */
int asr_hex_val(int c);

/* Writes the lowercase hex of b[0..n) and a NUL into out (2n + 1 bytes). */
void asr_hex_encode(const void *b, size_t n, char *out);

/* Decodes the whole hex text s (either case) into out (room for cap bytes): the number of
 * bytes, or -1 when s has an odd length, a character that is no hex digit, or more than cap
 * bytes. */
long asr_hex_decode(const char *s, void *out, size_t cap);

/* True when s is exactly n lowercase hex digits (the form of our keys and secrets). */
bool asr_hex_is(const char *s, size_t n);

/* one when n is 1, else many: "1 batch", "2 batches" (English messages only). */
const char *asr_plural(long long n, const char *one, const char *many);

/* Edit distance between two short ASCII words: insertions, deletions, substitutions and
 * swaps of neighbours count one each (SIZE_MAX when either is longer than 64 bytes). What
 * "did you mean" suggestions are ranked by. */
size_t asr_edit_distance(const char *a, const char *b);

#endif
