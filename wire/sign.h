/* sign.h: request signing of the asr protocol (docs/protocol.md, "Signed requests"), and
 * the random identifiers and secrets. With seal.c and b64.c the only code that includes OpenSSL
 * (wire/); asr-central links it to verify what the agent signs. */
#ifndef ASR_SIGN_H
#define ASR_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_SIGN_HEX_LEN 64                        /* hex of 32 bytes (secret, digest, HMAC) */
#define ASR_SIGN_HEADER_LEN (3 + ASR_SIGN_HEX_LEN) /* "v1=" + hex */
#define ASR_SIGN_MAX_SKEW 300 /* seconds a timestamp may differ from the receiver's clock */

/* Writes n random bytes as 2n lowercase hex characters and a NUL into out (size >= 2n+1). */
asr_result asr_sign_random_hex(char *out, size_t n);

/* Lowercase hex SHA-256 of len bytes into hex (size >= 65). */
asr_result asr_sign_sha256_hex(const void *data, size_t len, char *hex, size_t hexn);

/* The X-ASR-Signature value ("v1=" + hex HMAC) for a request, into out (size >= 68).
 * secret_hex is the 64-hex-character agent secret. */
asr_result asr_sign_request(const char *secret_hex, const char *method, const char *path,
                            int64_t timestamp, const void *body, size_t body_len, char *out,
                            size_t outn);

/* Checks a signature header value in constant time: ASR_OK when it matches,
 * ASR_ERR_AUTH when not, ASR_ERR_INVALID when malformed. */
asr_result asr_sign_verify(const char *secret_hex, const char *method, const char *path,
                           int64_t timestamp, const void *body, size_t body_len,
                           const char *header);

/* ---- Passwords (the portal's staff accounts, central/cstore_portal.c) ----
 * A stored password is "scrypt$LOGN$R$P$SALT$HASH": scrypt (memory-hard; OpenSSL's
 * EVP_PBE_scrypt) with N = 2^LOGN, a 16-byte random salt and a 32-byte hash, both in hex.
 * The parameters travel with the hash so that they can be raised later without locking
 * anyone out. */
#define ASR_PWHASH_MAX 192    /* a stored password's text, NUL included */
#define ASR_PWHASH_LOGN 15    /* N = 32768, r = 8: 32 MiB and ~0.1 s a hash */
#define ASR_PASSWORD_MAX 1024 /* bytes of a password hashed at most */

/* Hashes password pw (len bytes, at most ASR_PASSWORD_MAX) with a new random salt into out
 * (size >= ASR_PWHASH_MAX). */
asr_result asr_sign_password_hash(const char *pw, size_t len, char *out, size_t n);

/* Checks pw against a stored hash in constant time: ASR_OK when it matches, ASR_ERR_AUTH
 * when not, ASR_ERR_INVALID when stored is not a hash of ours (never matches). stored NULL
 * still costs one hash (so that an unknown account takes as long as a wrong password). */
asr_result asr_sign_password_verify(const char *pw, size_t len, const char *stored);

/* True when the n bytes of a and b are equal, in time independent of their content. */
int asr_sign_equal(const void *a, const void *b, size_t n);

#endif
