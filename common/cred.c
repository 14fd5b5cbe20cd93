#include "common/cred.h"

#include <string.h>
#include <strings.h>

static const struct {
  const char *name;
  asr_auth_proto proto;
} auth_names[] = {
    {"none", ASR_AUTH_NONE},      {"MD5", ASR_AUTH_MD5},        {"SHA", ASR_AUTH_SHA},
    {"SHA-1", ASR_AUTH_SHA},      {"SHA1", ASR_AUTH_SHA},       {"SHA-224", ASR_AUTH_SHA224},
    {"SHA224", ASR_AUTH_SHA224},  {"SHA-256", ASR_AUTH_SHA256}, {"SHA256", ASR_AUTH_SHA256},
    {"SHA-384", ASR_AUTH_SHA384}, {"SHA384", ASR_AUTH_SHA384},  {"SHA-512", ASR_AUTH_SHA512},
    {"SHA512", ASR_AUTH_SHA512},
};

static const struct {
  const char *name;
  asr_priv_proto proto;
} priv_names[] = {
    {"none", ASR_PRIV_NONE},     {"DES", ASR_PRIV_DES},        {"AES", ASR_PRIV_AES},
    {"AES-128", ASR_PRIV_AES},   {"AES128", ASR_PRIV_AES},     {"AES-192", ASR_PRIV_AES192},
    {"AES192", ASR_PRIV_AES192}, {"AES-256", ASR_PRIV_AES256}, {"AES256", ASR_PRIV_AES256},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

asr_result asr_snmp_auth_parse(const char *s, asr_auth_proto *out)
{
  for (size_t i = 0; i < COUNT_OF(auth_names); i++) {
    if (strcasecmp(s, auth_names[i].name) == 0) {
      *out = auth_names[i].proto;
      return ASR_OK;
    }
  }
  return ASR_ERR_INVALID;
}

asr_result asr_snmp_priv_parse(const char *s, asr_priv_proto *out)
{
  for (size_t i = 0; i < COUNT_OF(priv_names); i++) {
    if (strcasecmp(s, priv_names[i].name) == 0) {
      *out = priv_names[i].proto;
      return ASR_OK;
    }
  }
  return ASR_ERR_INVALID;
}

/* The first row with a given protocol holds its canonical name. */
const char *asr_snmp_auth_name(asr_auth_proto p)
{
  for (size_t i = 0; i < COUNT_OF(auth_names); i++) {
    if (auth_names[i].proto == p)
      return auth_names[i].name;
  }
  return "none";
}

const char *asr_snmp_priv_name(asr_priv_proto p)
{
  for (size_t i = 0; i < COUNT_OF(priv_names); i++) {
    if (priv_names[i].proto == p)
      return priv_names[i].name;
  }
  return "none";
}
