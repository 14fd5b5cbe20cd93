/* vbfixture.h: builds an asr_vbset in tests from snmprec-style lines.
 *
 * Each line is "OID|TAG|VALUE" as in snmpsim's .snmprec files: tag 2 INTEGER, 4 OCTET
 * STRING, 4x hex OCTET STRING, 5 NULL, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32,
 * 66 Gauge32, 67 TimeTicks, 70 Counter64, 128/129/130 noSuchObject/noSuchInstance/
 * endOfMibView. Write fixtures inline:
 *
 *   static const char *const rows[] = {"1.3.6.1.2.1.43.11.1.1.9.1.1|2|-3", NULL};
 *   asr_vbset *s = vbfix_new(rows);
 *
 * Header-only (static inline functions): each test program includes it once. */
#ifndef VBFIXTURE_H
#define VBFIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snmp/vbset.h"

/* Decodes hex text (spaces allowed) into a new buffer; NULL on bad input. */
static inline uint8_t *vbfix_hex(const char *s, size_t *len)
{
  uint8_t *b = malloc(strlen(s) / 2 + 1);
  size_t n = 0;

  if (!b)
    return NULL;
  while (*s) {
    int hi, lo;

    if (*s == ' ' || *s == '\n' || *s == '\r') {
      s++;
      continue;
    }
    hi = asr_hex_val(s[0]);
    lo = s[1] ? asr_hex_val(s[1]) : -1;
    if (hi < 0 || lo < 0) {
      free(b);
      return NULL;
    }
    b[n++] = (uint8_t)(hi * 16 + lo);
    s += 2;
  }
  *len = n;
  return b;
}

/* Parses a signed decimal integer (strtoll, whole string). */
static inline int vbfix_num(const char *s, int64_t *v)
{
  char *end;

  if (*s == '\0')
    return 0;
  if (*s == '-')
    *v = strtoll(s, &end, 10);
  else {
    unsigned long long u = strtoull(s, &end, 10);

    *v = u > INT64_MAX ? INT64_MAX : (int64_t)u;
  }
  return *end == '\0';
}

/* Fills vb from the tag and value; buffers it allocates are returned in *owned. */
static inline int vbfix_value(asr_vb *vb, const char *tag, const char *val, void **owned)
{
  static uint32_t oidval[ASR_OID_MAX];

  if (strcmp(tag, "4") == 0) {
    vb->type = ASR_VB_OCTETS;
    vb->bytes = (uint8_t *)val;
    vb->len = strlen(val);
    return 1;
  }
  if (strcmp(tag, "4x") == 0 || strcmp(tag, "64x") == 0) {
    vb->type = strcmp(tag, "4x") == 0 ? ASR_VB_OCTETS : ASR_VB_IPADDR;
    vb->bytes = vbfix_hex(val, &vb->len);
    *owned = vb->bytes;
    return vb->bytes != NULL;
  }
  if (strcmp(tag, "6") == 0) {
    vb->type = ASR_VB_OID;
    vb->oidval = oidval;
    return asr_oid_parse(val, oidval, ASR_OID_MAX, &vb->oidval_len) == ASR_OK;
  }
  if (strcmp(tag, "5") == 0 || strcmp(tag, "128") == 0 || strcmp(tag, "129") == 0 ||
      strcmp(tag, "130") == 0) {
    vb->type = strcmp(tag, "5") == 0 ? ASR_VB_NULL : ASR_VB_NONE;
    return 1;
  }
  if (strcmp(tag, "64") == 0) {
    uint32_t a[ASR_OID_MAX];
    size_t n;
    uint8_t *b = malloc(4);

    *owned = b;
    if (!b || asr_oid_parse(val, a, ASR_OID_MAX, &n) != ASR_OK || n != 4)
      return 0;
    for (size_t i = 0; i < 4; i++)
      b[i] = (uint8_t)a[i];
    vb->type = ASR_VB_IPADDR;
    vb->bytes = b;
    vb->len = 4;
    return 1;
  }
  if (strcmp(tag, "2") == 0)
    vb->type = ASR_VB_INTEGER;
  else if (strcmp(tag, "65") == 0 || strcmp(tag, "66") == 0 || strcmp(tag, "67") == 0)
    vb->type = ASR_VB_UNSIGNED;
  else if (strcmp(tag, "70") == 0)
    vb->type = ASR_VB_COUNTER64;
  else
    return 0;
  return vbfix_num(val, &vb->num);
}

/* Adds one "OID|TAG|VALUE" line to s; 0 when the line does not parse. */
static inline int vbfix_add(asr_vbset *s, const char *line)
{
  uint32_t oid[ASR_OID_MAX];
  asr_vb vb;
  void *owned = NULL;
  size_t len = strlen(line);
  char *copy = malloc(len + 1), *tag, *val;
  int ok = 0;

  memset(&vb, 0, sizeof(vb));
  if (!copy)
    return 0;
  memcpy(copy, line, len + 1);
  tag = strchr(copy, '|');
  val = tag ? strchr(tag + 1, '|') : NULL;
  if (!val)
    goto out;
  *tag++ = '\0';
  *val++ = '\0';
  if (asr_oid_parse(copy, oid, ASR_OID_MAX, &vb.oid_len) != ASR_OK)
    goto out;
  vb.oid = oid;
  if (!vbfix_value(&vb, tag, val, &owned))
    goto out;
  ok = asr_vbset_add(s, &vb) == ASR_OK;
out:
  free(owned);
  free(copy);
  return ok;
}

/* A finished set from a NULL-terminated list of lines; NULL if any line is bad. */
static inline asr_vbset *vbfix_new(const char *const *lines)
{
  asr_vbset *s = asr_vbset_new();

  if (!s)
    return NULL;
  for (size_t i = 0; lines[i]; i++) {
    if (!vbfix_add(s, lines[i])) {
      asr_vbset_free(s);
      return NULL;
    }
  }
  asr_vbset_finish(s);
  return s;
}

#endif
