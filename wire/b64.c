/* b64.c: base64 with OpenSSL (b64.h). */
#include "wire/b64.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

size_t asr_b64_len(size_t n)
{
  return (n + 2) / 3 * 4;
}

asr_result asr_b64_encode(const void *in, size_t n, char *out, size_t cap)
{
  if (n > (size_t)INT_MAX / 4 * 3 || cap < asr_b64_len(n) + 1)
    return ASR_ERR_TOO_LARGE;
  EVP_EncodeBlock((unsigned char *)out, in, (int)n); /* writes the NUL */
  return ASR_OK;
}

/* The number of '=' that pad s (len > 0, a multiple of 4) at its end, -1 when the text
 * holds anything else than the alphabet before them. EVP_DecodeBlock would skip blanks and
 * count the padding as zero bytes. */
static int padding(const char *s, size_t len)
{
  int pad = (s[len - 1] == '=') + (s[len - 1] == '=' && s[len - 2] == '=');

  return strspn(s, B64_ALPHABET) == len - (size_t)pad ? pad : -1;
}

asr_result asr_b64_decode(const char *s, void *out, size_t cap, size_t *n)
{
  size_t len = strlen(s);
  int pad;

  *n = 0;
  if (len == 0)
    return ASR_OK;
  if (len % 4 || len > (size_t)INT_MAX)
    return ASR_ERR_INVALID;
  pad = padding(s, len);
  if (pad < 0)
    return ASR_ERR_INVALID;
  if (len / 4 * 3 > cap)
    return ASR_ERR_TOO_LARGE;
  if (EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) < 0)
    return ASR_ERR_INVALID;
  *n = len / 4 * 3 - (size_t)pad;
  return ASR_OK;
}
