/* sign.c: HMAC-SHA256 request signatures, SHA-256 digests and random secrets (OpenSSL). */
#include "wire/sign.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/platform.h"
#include "common/util.h"

asr_result asr_sign_random_hex(char *out, size_t n)
{
  unsigned char buf[64];

  if (n > sizeof(buf) || RAND_bytes(buf, (int)n) != 1)
    return ASR_ERR_INVALID;
  asr_hex_encode(buf, n, out);
  asr_secret_wipe(buf, sizeof(buf));
  return ASR_OK;
}

asr_result asr_sign_sha256_hex(const void *data, size_t len, char *hex, size_t hexn)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if (hexn < ASR_SIGN_HEX_LEN + 1)
    return ASR_ERR_TOO_LARGE;
  if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return ASR_ERR_INVALID;
  asr_hex_encode(md, 32, hex);
  return ASR_OK;
}

/* The raw 32-byte HMAC of the canonical string of a request. */
static asr_result request_mac(const char *secret_hex, const char *method, const char *path,
                              int64_t timestamp, const void *body, size_t body_len,
                              unsigned char mac[32])
{
  unsigned char key[32];
  char digest[ASR_SIGN_HEX_LEN + 1], canonical[1024];
  unsigned int maclen = 0;
  asr_result r;

  r = asr_hex_decode(secret_hex, key, sizeof(key)) == (long)sizeof(key) ? ASR_OK : ASR_ERR_INVALID;
  if (r == ASR_OK)
    r = asr_sign_sha256_hex(body, body_len, digest, sizeof(digest));
  if (r == ASR_OK)
    r = asr_fmt(canonical, sizeof(canonical), "v1\n%s\n%s\n%lld\n%s", method, path,
                (long long)timestamp, digest);
  if (r == ASR_OK && (!HMAC(EVP_sha256(), key, (int)sizeof(key), (const unsigned char *)canonical,
                            strlen(canonical), mac, &maclen) ||
                      maclen != 32))
    r = ASR_ERR_INVALID;
  asr_secret_wipe(key, sizeof(key));
  return r;
}

asr_result asr_sign_request(const char *secret_hex, const char *method, const char *path,
                            int64_t timestamp, const void *body, size_t body_len, char *out,
                            size_t outn)
{
  unsigned char mac[32];
  asr_result r;

  if (outn < ASR_SIGN_HEADER_LEN + 1)
    return ASR_ERR_TOO_LARGE;
  r = request_mac(secret_hex, method, path, timestamp, body, body_len, mac);
  if (r)
    return r;
  memcpy(out, "v1=", 3);
  asr_hex_encode(mac, sizeof(mac), out + 3);
  return ASR_OK;
}

asr_result asr_sign_verify(const char *secret_hex, const char *method, const char *path,
                           int64_t timestamp, const void *body, size_t body_len, const char *header)
{
  unsigned char want[32], got[32];
  asr_result r;

  if (!header || strncmp(header, "v1=", 3) != 0 ||
      asr_hex_decode(header + 3, got, sizeof(got)) != (long)sizeof(got))
    return ASR_ERR_INVALID;
  r = request_mac(secret_hex, method, path, timestamp, body, body_len, want);
  if (r)
    return r;
  return CRYPTO_memcmp(want, got, sizeof(want)) == 0 ? ASR_OK : ASR_ERR_AUTH;
}
