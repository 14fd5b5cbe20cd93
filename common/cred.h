/* cred.h: SNMP credentials, shared by the engine (snmp/), the store and the CLI.
 * Pass phrases and communities are secrets: never logged, never taken from argv. */
#ifndef ASR_CRED_H
#define ASR_CRED_H

#include "common/result.h"

typedef enum { ASR_SNMP_V1 = 1, ASR_SNMP_V2C = 2, ASR_SNMP_V3 = 3 } asr_snmp_version;

typedef enum {
  ASR_AUTH_NONE = 0,
  ASR_AUTH_MD5,
  ASR_AUTH_SHA,
  ASR_AUTH_SHA224,
  ASR_AUTH_SHA256,
  ASR_AUTH_SHA384,
  ASR_AUTH_SHA512
} asr_auth_proto;

typedef enum {
  ASR_PRIV_NONE = 0,
  ASR_PRIV_DES,
  ASR_PRIV_AES,
  ASR_PRIV_AES192,
  ASR_PRIV_AES256
} asr_priv_proto;

/* One set of credentials. Pass phrases are secrets: never logged, never in argv. */
typedef struct {
  asr_snmp_version version;
  char community[128]; /* v1 / v2c */
  char user[64];       /* v3 */
  asr_auth_proto auth_proto;
  char auth_pass[128];
  asr_priv_proto priv_proto;
  char priv_pass[128];
  char context[64];
} asr_snmp_cred;

/* Parses "MD5", "SHA", "SHA-224", ... (case-insensitive); ASR_ERR_INVALID otherwise. */
asr_result asr_snmp_auth_parse(const char *s, asr_auth_proto *out);
/* Parses "DES", "AES", "AES-192", "AES-256"; ASR_ERR_INVALID otherwise. */
asr_result asr_snmp_priv_parse(const char *s, asr_priv_proto *out);
/* Names for the store and logs ("SHA-256", "AES", "none"). */
const char *asr_snmp_auth_name(asr_auth_proto p);
const char *asr_snmp_priv_name(asr_priv_proto p);

#endif
