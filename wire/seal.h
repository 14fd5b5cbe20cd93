/* seal.h: secrets encrypted at rest (AES-256-GCM, OpenSSL EVP), for asr-central's copy of
 * the SNMPv3 pass phrases and communities it sends to agents (issue 17). With sign.c and b64.c
 * the only OpenSSL code of the project (wire/).
 *
 * A sealed value is text: "g1:" + hex(12-byte random nonce | ciphertext | 16-byte tag),
 * the additional data binding it to where it is stored (e.g. "site:NAME:v3_auth_pass"),
 * so a sealed value copied to another site or key does not open. */
#ifndef ASR_SEAL_H
#define ASR_SEAL_H

#include <stddef.h>

#include "common/result.h"

#define ASR_SEAL_KEY_HEX 64     /* a key: 32 random bytes as hex */
#define ASR_SEAL_MAX_PLAIN 1024 /* longest secret sealed (a community list: a line) */
#define ASR_SEAL_TEXT_MAX (3 + 2 * (12 + ASR_SEAL_MAX_PLAIN + 16) + 1)

/* Seals plain (at most ASR_SEAL_MAX_PLAIN bytes) under key_hex with the additional data
 * aad into out (size >= ASR_SEAL_TEXT_MAX). */
asr_result asr_seal(const char *key_hex, const char *aad, const char *plain, char *out, size_t n);

/* Opens a sealed text into out (NUL-terminated): ASR_ERR_AUTH when the key, the
 * additional data or the text do not match (tampered, or another key), ASR_ERR_INVALID
 * when it is not a sealed text. */
asr_result asr_unseal(const char *key_hex, const char *aad, const char *sealed, char *out,
                      size_t n);

#endif
