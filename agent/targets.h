/* targets.h: scan targets from the command line.
 *
 * A target is an IPv4 address ("192.0.2.7"), a CIDR block ("192.0.2.0/24"), a range
 * ("192.0.2.10-192.0.2.60" or "192.0.2.10-60") or a host name. Targets expand to a list
 * of addresses in order, without duplicates. Blocks larger than a /16 (65,536
 * addresses in all) are refused unless force is set. For CIDR blocks of /30 or larger
 * the network and broadcast addresses are skipped. */
#ifndef ASR_TARGETS_H
#define ASR_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_TARGETS_MAX_UNFORCED 65536

typedef struct {
  uint32_t *addrs; /* host byte order */
  size_t n, cap;
} asr_targets;

/* Adds the addresses of one target string. On error writes a message naming the problem
 * and the character position (1-based) into err: "10.1.2.300: position 7: octet out of
 * range". Host names are resolved (IPv4 only): ASR_ERR_RESOLVE when they do not. */
asr_result asr_targets_add(asr_targets *t, const char *spec, int force, char *err, size_t n);

/* Frees the list. */
void asr_targets_free(asr_targets *t);

/* Formats an address as dotted quad into buf (>= 16 bytes). */
void asr_targets_format(uint32_t addr, char *buf, size_t n);

#endif
