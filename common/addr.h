/* addr.h: IP addresses (IPv4 and IPv6) as plain values, independent of any socket API.
 *
 * An asr_addr holds the address bytes in network order: IPv4 in b[0..3] (the other bytes
 * zero), IPv6 in b[0..15]. Scan targets, the sweep and the UDP functions of
 * common/platform.h all speak it; text goes in and out only through the functions here
 * (numeric forms only: host names are resolved by agent/targets.c). */
#ifndef ASR_ADDR_H
#define ASR_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_AF_INET 4
#define ASR_AF_INET6 6
#define ASR_ADDR_STRLEN 48 /* longest text form, with its NUL (INET6_ADDRSTRLEN is 46) */

typedef struct {
  uint8_t family; /* ASR_AF_INET or ASR_AF_INET6 (0: none) */
  uint8_t b[16];  /* network byte order; IPv4 uses b[0..3] */
} asr_addr;

/* An IPv4 address from its host-order number (192.0.2.1 = 0xc0000201). */
asr_addr asr_addr_v4(uint32_t host_order);

/* The host-order number of an IPv4 address. */
uint32_t asr_addr_v4_value(const asr_addr *a);

/* Parses the IPv6 text at s (RFC 4291 2.2: hexadecimal groups, one "::", an optional
 * dotted IPv4 tail) up to the first character that cannot belong to it ('/', '-', NUL,
 * ...), stored in *end. On error returns ASR_ERR_TARGET with *end at the offending
 * character and *why naming the problem ("group longer than 4 hexadecimal digits"). */
asr_result asr_addr_parse6(const char *s, asr_addr *out, const char **end, const char **why);

/* Parses a whole numeric address, dotted IPv4 (no leading zeros) or IPv6;
 * ASR_ERR_TARGET when s is anything else. */
asr_result asr_addr_parse(const char *s, asr_addr *out);

/* Formats a as text into buf (n >= ASR_ADDR_STRLEN): dotted IPv4, or IPv6 as RFC 5952
 * recommends (lower case, the longest run of two or more zero groups as "::"). */
void asr_addr_format(const asr_addr *a, char *buf, size_t n);

/* <0, 0, >0 as a sorts before, with, after b (IPv4 before IPv6, then numerically). */
int asr_addr_cmp(const asr_addr *a, const asr_addr *b);

/* Adds one; returns 1 when the address wrapped around (it was the family's last). */
int asr_addr_inc(asr_addr *a);

/* Subtracts one; returns 1 when the address wrapped around (it was all zeros). */
int asr_addr_dec(asr_addr *a);

/* The number of addresses from first to last inclusive (same family, first <= last),
 * UINT64_MAX when there are more than that. */
uint64_t asr_addr_span(const asr_addr *first, const asr_addr *last);

/* The first and last address of the block of a with prefix length bits (0..32 or 0..128). */
void asr_addr_block(const asr_addr *a, unsigned bits, asr_addr *first, asr_addr *last);

/* True when a is a loopback address (127.0.0.0/8, ::1). */
int asr_addr_is_loopback(const asr_addr *a);

#endif
