/* targets.h: scan targets from the command line.
 *
 * A target is an IPv4 address ("192.0.2.7"), a CIDR block ("192.0.2.0/24"), a range
 * ("192.0.2.10-192.0.2.60" or "192.0.2.10-60") or a host name. Targets expand to a list
 * of addresses in order, without duplicates. Blocks larger than a /16 (65,536
 * addresses in all) are refused unless force is set. For CIDR blocks of /30 or larger
 * the network and broadcast addresses are skipped; /31 and /32 keep every address.
 *
 * Syntax decisions:
 *  - a spec that starts with digits and a dot ("10.", "192.0") is numeric; anything else
 *    is a host name (letters, digits, '-', '.', '_'), so "123.example" must be written
 *    differently (or resolved beforehand);
 *  - octets with a leading zero ("010") are refused: inet_aton reads them as octal,
 *    people mean decimal, and guessing would scan the wrong host;
 *  - a CIDR block with host bits set ("10.1.2.5/24") means its network (10.1.2.0/24);
 *  - even with force, at most ASR_TARGETS_MAX_FORCED addresses (a /12) are expanded. */
#ifndef ASR_TARGETS_H
#define ASR_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_TARGETS_MAX_UNFORCED 65536
#define ASR_TARGETS_MAX_FORCED 1048576

struct asr_targets_seen; /* private to targets.c: the set used to drop duplicates */

/* Initialize with {0}; free with asr_targets_free. */
typedef struct {
  uint32_t *addrs; /* host byte order */
  size_t n, cap;
  struct asr_targets_seen *seen;
} asr_targets;

/* Adds the addresses of one target string. On error writes a message naming the problem
 * and the character position (1-based) into err: "10.1.2.300: position 8: octet out of
 * range (0-255)" (ASR_ERR_TARGET). Too many addresses in total: ASR_ERR_TOO_LARGE (the
 * list is left unchanged). Host names are resolved (IPv4 only, every address):
 * ASR_ERR_RESOLVE when they do not. */
asr_result asr_targets_add(asr_targets *t, const char *spec, int force, char *err, size_t n);

/* Frees the list. */
void asr_targets_free(asr_targets *t);

/* Formats an address as dotted quad into buf (>= 16 bytes). */
void asr_targets_format(uint32_t addr, char *buf, size_t n);

#endif
