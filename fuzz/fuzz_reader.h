/* fuzz/fuzz_reader.h: how the model's fuzz targets (fuzz_printer.c, fuzz_alerts.c) draw
 * values from libFuzzer's input: bytes, big-endian 64-bit numbers, numbers that mean
 * something to the target, and OCTETS values (up to a huge one that the set must cut).
 *
 * Header-only (static inline functions): each fuzz target includes it once. Reading past
 * the end gives zeros, never a fault. */
#ifndef FUZZ_READER_H
#define FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define FZ_HUGE_VALUE 70000 /* more than ASR_VB_VALUE_MAX: the set must cut it */

typedef struct {
  const uint8_t *p;
  size_t n;
} fz_reader;

static inline uint8_t fz_next(fz_reader *r)
{
  uint8_t b;

  if (r->n == 0)
    return 0;
  b = *r->p++;
  r->n--;
  return b;
}

static inline uint64_t fz_next_u64(fz_reader *r)
{
  uint64_t v = 0;

  for (int i = 0; i < 8; i++)
    v = (v << 8) | fz_next(r);
  return v;
}

/* A number: special[b] for a byte b below n (the target's meaningful values), a small one
 * (b - 64) below 0xE0, else the next 8 bytes. */
static inline int64_t fz_number(fz_reader *r, const int64_t *special, size_t n)
{
  uint8_t b = fz_next(r);

  if (b < n)
    return special[b];
  if (b < 0xE0)
    return (int64_t)b - 64;
  return (int64_t)fz_next_u64(r);
}

/* The bytes of an OCTETS value; *owned is set when they were allocated. */
static inline const uint8_t *fz_octets(fz_reader *r, size_t *len, uint8_t **owned)
{
  uint8_t b = fz_next(r);
  const uint8_t *p;

  *owned = NULL;
  if (b == 0xFF) { /* huge: the rest of the input repeated (or 'A's) */
    uint8_t *h = malloc(FZ_HUGE_VALUE);

    if (!h)
      abort();
    for (size_t i = 0; i < FZ_HUGE_VALUE; i++)
      h[i] = r->n ? r->p[i % r->n] : 'A';
    *owned = h;
    *len = FZ_HUGE_VALUE;
    return h;
  }
  *len = b;
  if (b == 0xFE)
    *len = ((size_t)fz_next(r) << 8) | fz_next(r);
  if (*len > r->n)
    *len = r->n;
  p = r->p;
  r->p += *len;
  r->n -= *len;
  return p;
}

#endif
