/* seal.c: AES-256-GCM sealing of secrets at rest (see seal.h). */
#include "wire/seal.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/platform.h"
#include "common/util.h"

#define NONCE 12
#define TAG 16
#define KEY 32

/* One GCM pass: encrypt (tag out) or decrypt (tag in); ASR_ERR_AUTH on a bad tag. */
static asr_result gcm(int enc, const unsigned char *key, const unsigned char *nonce,
                      const char *aad, const unsigned char *in, int len, unsigned char *out,
                      unsigned char *tag)
{
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int n = 0, fin = 0, ok;
  asr_result r = ASR_ERR_AUTH;

  if (!x)
    return ASR_ERR_NOMEM;
  ok = EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
       EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
       EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc) == 1 &&
       EVP_CipherUpdate(x, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
       EVP_CipherUpdate(x, out, &n, in, len) == 1;
  if (ok && !enc)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1;
  if (ok)
    ok = EVP_CipherFinal_ex(x, out + n, &fin) == 1;
  if (ok && enc)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1;
  if (ok)
    r = ASR_OK;
  EVP_CIPHER_CTX_free(x);
  return r;
}

asr_result asr_seal(const char *key_hex, const char *aad, const char *plain, char *out, size_t n)
{
  unsigned char key[KEY], buf[NONCE + ASR_SEAL_MAX_PLAIN + TAG];
  size_t len = strlen(plain);
  asr_result r = ASR_ERR_INVALID;

  if (n < ASR_SEAL_TEXT_MAX || len > ASR_SEAL_MAX_PLAIN || asr_hex_decode(key_hex, key, KEY) != KEY)
    goto out;
  if (RAND_bytes(buf, NONCE) != 1)
    goto out;
  r = gcm(1, key, buf, aad, (const unsigned char *)plain, (int)len, buf + NONCE, buf + NONCE + len);
  if (!r) {
    memcpy(out, "g1:", 3);
    asr_hex_encode(buf, NONCE + len + TAG, out + 3);
  }
out:
  asr_secret_wipe(key, sizeof(key));
  asr_secret_wipe(buf, sizeof(buf));
  return r;
}

asr_result asr_unseal(const char *key_hex, const char *aad, const char *sealed, char *out, size_t n)
{
  unsigned char key[KEY], buf[NONCE + ASR_SEAL_MAX_PLAIN + TAG], plain[ASR_SEAL_MAX_PLAIN + 1];
  long len;
  size_t plen;
  asr_result r = ASR_ERR_INVALID;

  if (strncmp(sealed, "g1:", 3) != 0 || asr_hex_decode(key_hex, key, KEY) != KEY)
    goto out;
  len = asr_hex_decode(sealed + 3, buf, sizeof(buf));
  if (len < NONCE + TAG)
    goto out;
  plen = (size_t)len - NONCE - TAG;
  if (plen + 1 > n)
    goto out;
  r = gcm(0, key, buf, aad, buf + NONCE, (int)plen, plain, buf + NONCE + plen);
  if (!r) {
    memcpy(out, plain, plen);
    out[plen] = '\0';
  }
out:
  asr_secret_wipe(key, sizeof(key));
  asr_secret_wipe(buf, sizeof(buf));
  asr_secret_wipe(plain, sizeof(plain));
  return r;
}
