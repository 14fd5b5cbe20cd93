/* sign.c: HMAC-SHA256 request signatures, SHA-256 digests and random secrets (OpenSSL). */
#include "wire/sign.h"

#include <stdio.h>
#include <stdlib.h>
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

/* ---------------------------------------------------------------------------------------
 * Passwords: scrypt (sign.h). */

#define PW_SALT 16
#define PW_KEY 32
#define PW_MAXMEM ((uint64_t)256 << 20) /* what EVP_PBE_scrypt may take for the largest N */

typedef struct {
  unsigned logn, r, p;
  unsigned char salt[PW_SALT], key[PW_KEY];
} pw_params;

static asr_result pw_derive(const char *pw, size_t len, const pw_params *pp, unsigned char *key)
{
  if (len > ASR_PASSWORD_MAX)
    return ASR_ERR_TOO_LARGE;
  if (EVP_PBE_scrypt(pw, len, pp->salt, PW_SALT, (uint64_t)1 << pp->logn, pp->r, pp->p, PW_MAXMEM,
                     key, PW_KEY) != 1)
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

asr_result asr_sign_password_hash(const char *pw, size_t len, char *out, size_t n)
{
  pw_params pp = {.logn = ASR_PWHASH_LOGN, .r = 8, .p = 1};
  char salt[2 * PW_SALT + 1], key[2 * PW_KEY + 1];
  asr_result r;

  if (n < ASR_PWHASH_MAX)
    return ASR_ERR_TOO_LARGE;
  if (RAND_bytes(pp.salt, PW_SALT) != 1)
    return ASR_ERR_INVALID;
  r = pw_derive(pw, len, &pp, pp.key);
  if (r)
    return r;
  asr_hex_encode(pp.salt, PW_SALT, salt);
  asr_hex_encode(pp.key, PW_KEY, key);
  r = asr_fmt(out, n, "scrypt$%u$%u$%u$%s$%s", pp.logn, pp.r, pp.p, salt, key);
  asr_secret_wipe(&pp, sizeof(pp));
  asr_secret_wipe(key, sizeof(key));
  return r;
}

/* Parses "scrypt$LOGN$R$P$SALT$HASH" within sane bounds (a stored value is ours, but a
 * damaged database must not make us allocate gigabytes). */
static asr_result pw_parse(const char *s, pw_params *pp)
{
  char salt[2 * PW_SALT + 2], key[2 * PW_KEY + 2];
  int used = 0;

  if (!s ||
      sscanf(s, "scrypt$%2u$%2u$%1u$%33[0-9a-f]$%65[0-9a-f]%n", &pp->logn, &pp->r, &pp->p, salt,
             key, &used) != 5 ||
      s[used] != '\0')
    return ASR_ERR_INVALID;
  if (pp->logn < 10 || pp->logn > 20 || pp->r < 1 || pp->r > 16 || pp->p < 1 || pp->p > 4 ||
      ((uint64_t)128 * pp->r << pp->logn) > PW_MAXMEM / 2)
    return ASR_ERR_INVALID;
  if (asr_hex_decode(salt, pp->salt, PW_SALT) != PW_SALT ||
      asr_hex_decode(key, pp->key, PW_KEY) != PW_KEY)
    return ASR_ERR_INVALID;
  return ASR_OK;
}

asr_result asr_sign_password_verify(const char *pw, size_t len, const char *stored)
{
  pw_params pp = {.logn = ASR_PWHASH_LOGN, .r = 8, .p = 1};
  unsigned char key[PW_KEY];
  asr_result parsed = pw_parse(stored, &pp), r;

  if (parsed) /* still one hash, with the default parameters: the same time as a check */
    pp = (pw_params){.logn = ASR_PWHASH_LOGN, .r = 8, .p = 1};
  r = pw_derive(pw, len > ASR_PASSWORD_MAX ? ASR_PASSWORD_MAX : len, &pp, key);
  if (!r && !parsed)
    r = CRYPTO_memcmp(key, pp.key, PW_KEY) == 0 && len <= ASR_PASSWORD_MAX ? ASR_OK : ASR_ERR_AUTH;
  else if (!r)
    r = stored ? ASR_ERR_INVALID : ASR_ERR_AUTH;
  asr_secret_wipe(key, sizeof(key));
  asr_secret_wipe(&pp, sizeof(pp));
  return r;
}

int asr_sign_equal(const void *a, const void *b, size_t n)
{
  return CRYPTO_memcmp(a, b, n) == 0;
}
