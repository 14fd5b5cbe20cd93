/* targets.h: what a discovery scans: targets, exclusions, and communities per target.
 *
 * A target is
 *   - an IPv4 address ("192.0.2.7"), a CIDR block ("192.0.2.0/24"), a range
 *     ("192.0.2.10-192.0.2.60" or "192.0.2.10-60");
 *   - an IPv6 address ("2001:db8::7"), a prefix of /120 or narrower ("2001:db8::/120", at
 *     most 256 addresses), or a range of at most 256 ("2001:db8::10-2001:db8::60");
 *   - a host name (resolved to its IPv4 addresses).
 * A list holds targets to scan and targets to exclude. The addresses scanned are those of
 * the targets less those of the exclusions, each once, in ascending order (IPv4 first),
 * produced one at a time by asr_targets_next: a /16 is never expanded into memory. The
 * list keeps address ranges only (merged as they come, so that a file repeating the same
 * addresses does not grow it).
 *
 * Syntax decisions:
 *  - a spec with a ':' is IPv6; one that starts with digits and a dot ("10.", "192.0") is
 *    IPv4; anything else is a host name (letters, digits, '-', '.', '_'), so
 *    "123.example" must be written differently (or resolved beforehand);
 *  - octets with a leading zero ("010") are refused: inet_aton reads them as octal,
 *    people mean decimal, and guessing would scan the wrong host;
 *  - a block with host bits set ("10.1.2.5/24") means its network (10.1.2.0/24);
 *  - IPv4 blocks of /30 or larger to scan skip their network and broadcast addresses, /31
 *    and /32 keep every address; IPv6 has no broadcast: a prefix keeps every address; an
 *    excluded block is excluded whole;
 *  - IPv6 zone indexes ("fe80::1%eth0") and brackets ("[::1]") are refused with a message;
 *  - exclusions take any size (an IPv6 /64, an IPv4 /8): they only remove addresses.
 * Bounds: a target of more than ASR_TARGETS_MAX_UNFORCED addresses, or more than that in
 * all (duplicates and exclusions removed), needs force; even with force, at most
 * ASR_TARGETS_MAX_FORCED addresses (a /12). */
#ifndef ASR_TARGETS_H
#define ASR_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"
#include "common/result.h"

#define ASR_TARGETS_MAX_UNFORCED 65536
#define ASR_TARGETS_MAX_FORCED 1048576
#define ASR_TARGETS_V6_MAX 256        /* addresses of an IPv6 target: a /120 */
#define ASR_TARGETS_COMMUNITY_SETS 64 /* targets with their own communities */
#define ASR_TARGETS_COMMUNITIES 16    /* communities of one such target */
#define ASR_TARGETS_COMMUNITY_LEN 128 /* with its NUL: asr_snmp_cred's community */
#define ASR_TARGETS_SPEC_LEN 128      /* a target spec, with its NUL */
#define ASR_TARGETS_LINE_MAX 4096     /* a line of a targets file */

/* An inclusive range of addresses of one family. */
typedef struct {
  asr_addr first, last;
} asr_range;

/* The communities of one target (asr_targets_add_community), tried in order. */
typedef struct {
  char spec[ASR_TARGETS_SPEC_LEN];
  asr_range range;
  uint64_t size;
  char communities[ASR_TARGETS_COMMUNITIES][ASR_TARGETS_COMMUNITY_LEN];
  size_t n;
} asr_target_communities;

/* Initialize with {0}; free with asr_targets_free. The fields are the module's. */
typedef struct {
  asr_range *inc, *exc, *scan; /* targets, exclusions, and (after finish) what is scanned */
  size_t n_inc, cap_inc, n_exc, cap_exc, n_scan;
  size_t merged_inc, merged_exc; /* when the lists were last merged */
  asr_target_communities *sets;
  size_t n_sets;
  uint64_t count; /* addresses to scan (after finish) */
  int finished;
} asr_targets;

/* Where an iteration stands (asr_targets_iter_init). */
typedef struct {
  size_t range;
  asr_addr next;
  int started;
} asr_targets_iter;

/* Adds the addresses of one target. On error writes a message naming the problem and
 * the character position (1-based) into err: "10.1.2.300: position 8: octet out of range
 * (0-255)" (ASR_ERR_TARGET). A target larger than allowed: ASR_ERR_TOO_LARGE. Host names
 * are resolved (IPv4 only, every address): ASR_ERR_RESOLVE when they do not. A refused
 * target leaves the list unchanged. */
asr_result asr_targets_add(asr_targets *t, const char *spec, int force, char *err, size_t n);

/* Adds a target whose addresses are not to be scanned (same syntax, any size). */
asr_result asr_targets_exclude(asr_targets *t, const char *spec, char *err, size_t n);

/* Adds the targets of a file ("-": f is read instead, e.g. stdin): one or more a line,
 * separated by blanks or commas, '#' starts a comment. Errors: "name:line: problem". */
asr_result asr_targets_add_file(asr_targets *t, const char *name, FILE *f, int force, char *err,
                                size_t n);

/* Appends community to the communities of the numeric target spec (created on first use):
 * the addresses it holds are asked with them, in order, instead of the general ones; when
 * several targets hold an address, the one with the fewest addresses wins (the first given
 * on a tie). The community is never copied into err. */
asr_result asr_targets_add_community(asr_targets *t, const char *spec, const char *community,
                                     char *err, size_t n);

/* Merges the targets, removes the exclusions and counts what is left; ASR_ERR_TOO_LARGE
 * (err says how many) when over the bound. Call once, after the last add. */
asr_result asr_targets_finish(asr_targets *t, int force, char *err, size_t n);

/* The number of addresses to scan (after finish). */
uint64_t asr_targets_count(const asr_targets *t);

/* Starts an iteration over the addresses to scan (after finish). */
void asr_targets_iter_init(asr_targets_iter *it);

/* The next address to scan into *out: 1, or 0 when there are no more. */
int asr_targets_next(const asr_targets *t, asr_targets_iter *it, asr_addr *out);

/* The communities given for the target that holds a (the narrowest), NULL when none. */
const asr_target_communities *asr_targets_communities(const asr_targets *t, const asr_addr *a);

/* True when a is to be scanned (after finish). */
int asr_targets_contains(const asr_targets *t, const asr_addr *a);

/* Frees the list. */
void asr_targets_free(asr_targets *t);

#endif
