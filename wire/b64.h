/* b64.h: base64 (RFC 4648 section 4: the standard alphabet, padded, no line breaks) by
 * OpenSSL's EVP_EncodeBlock and EVP_DecodeBlock, never by hand. With sign.c and seal.c the
 * only code that includes OpenSSL. asr-central's mails encode their Subject with it
 * (RFC 2047 encoded-words). */
#ifndef ASR_B64_H
#define ASR_B64_H

#include <stddef.h>

#include "common/result.h"

/* The length of the base64 text of n bytes, without the NUL. */
size_t asr_b64_len(size_t n);

/* Writes the base64 of in[0..n) and a NUL into out (cap bytes, at least asr_b64_len(n) + 1);
 * ASR_ERR_TOO_LARGE when it does not fit. */
asr_result asr_b64_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes the base64 text s (padded: a length that is a multiple of 4, '=' only at the end,
 * no blanks) into out (cap bytes, at least 3 * strlen(s) / 4: the padding is written too),
 * the number of bytes into *n. ASR_ERR_INVALID when s is not such text, ASR_ERR_TOO_LARGE
 * when out is too small. */
asr_result asr_b64_decode(const char *s, void *out, size_t cap, size_t *n);

#endif
