/* vbset.h: a set of SNMP variable bindings, independent of net-snmp.
 *
 * A live poll (snmp/scan.c) and a recording file (snmp/recording.c) both produce an
 * asr_vbset; the Printer-MIB model (snmp/printer.c) reads only this. So a dump an admin
 * sends is interpreted by exactly the code that reads a live printer.
 *
 * Values are copied in. After asr_vbset_finish() the set is sorted by OID with
 * duplicates removed (the first one added wins), whatever order the agent answered in. */
#ifndef ASR_VBSET_H
#define ASR_VBSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_OID_MAX 128        /* sub-identifiers in one OID */
#define ASR_VB_VALUE_MAX 65535 /* bytes kept of one value; longer values are cut */

typedef enum {
  ASR_VB_NONE = 0, /* noSuchObject, noSuchInstance, endOfMibView */
  ASR_VB_INTEGER,  /* INTEGER, Integer32 */
  ASR_VB_UNSIGNED, /* Gauge32, Counter32, TimeTicks, Unsigned32 */
  ASR_VB_COUNTER64,
  ASR_VB_OCTETS, /* OCTET STRING, Opaque */
  ASR_VB_OID,    /* OBJECT IDENTIFIER: value in oidval/oidval_len */
  ASR_VB_IPADDR, /* IpAddress: 4 bytes in bytes */
  ASR_VB_NULL
} asr_vb_type;

typedef struct {
  uint32_t *oid;
  size_t oid_len;
  asr_vb_type type;
  int64_t num;    /* INTEGER / UNSIGNED; COUNTER64 saturated at INT64_MAX */
  uint8_t *bytes; /* OCTETS / IPADDR (NUL-terminated for convenience, len excludes it) */
  size_t len;
  uint32_t *oidval; /* OID values */
  size_t oidval_len;
} asr_vb;

typedef struct asr_vbset asr_vbset;

/* Creates an empty set; NULL when out of memory. */
asr_vbset *asr_vbset_new(void);

/* Frees the set and everything in it (NULL is fine). */
void asr_vbset_free(asr_vbset *s);

/* Adds a copy of vb. Values over ASR_VB_VALUE_MAX bytes are cut. The set holds at most
 * limit varbinds (ASR_ERR_LIMIT past it; see asr_vbset_set_limit). */
asr_result asr_vbset_add(asr_vbset *s, const asr_vb *vb);

/* Caps the number of varbinds (default 100000). */
void asr_vbset_set_limit(asr_vbset *s, size_t limit);

/* Sorts by OID and removes duplicates; call after the last add and before reading. */
void asr_vbset_finish(asr_vbset *s);

/* Number of varbinds, and the i-th one in OID order (after finish). */
size_t asr_vbset_count(const asr_vbset *s);
const asr_vb *asr_vbset_at(const asr_vbset *s, size_t i);

/* The varbind with exactly this OID, or NULL. ASR_VB_NONE values count as absent. */
const asr_vb *asr_vbset_get(const asr_vbset *s, const uint32_t *oid, size_t len);

/* The range of varbinds strictly under prefix: *first is set to the first index;
 * returns how many follow it in order (0 when none). */
size_t asr_vbset_subtree(const asr_vbset *s, const uint32_t *prefix, size_t plen, size_t *first);

/* Compares two OIDs like memcmp: <0, 0, >0. */
int asr_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen);

/* True when oid starts with prefix and is longer than it. */
int asr_oid_under(const uint32_t *oid, size_t len, const uint32_t *prefix, size_t plen);

/* Parses "1.3.6.1" or ".1.3.6.1" into out (at most max sub-identifiers). */
asr_result asr_oid_parse(const char *s, uint32_t *out, size_t max, size_t *len);

/* Formats an OID as "1.3.6.1..." (no leading dot) into buf; TOO_LARGE when cut. */
asr_result asr_oid_format(const uint32_t *oid, size_t len, char *buf, size_t n);

#endif
