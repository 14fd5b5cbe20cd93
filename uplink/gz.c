/* gz.c: gzip with zlib, bounded on the way in. */
#include "uplink/gz.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define GZ_WINDOW (15 + 16) /* 15-bit window, gzip wrapper */

asr_result asr_gz_compress(const void *in, size_t len, uint8_t **out, size_t *out_len)
{
  z_stream z;
  uint8_t *buf = NULL;
  size_t cap;
  asr_result r = ASR_ERR_NOMEM;

  memset(&z, 0, sizeof(z));
  if (deflateInit2(&z, 6, Z_DEFLATED, GZ_WINDOW, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return ASR_ERR_NOMEM;
  cap = deflateBound(&z, (uLong)len) + 32;
  buf = malloc(cap);
  if (!buf)
    goto out;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  if (len > UINT32_MAX || deflate(&z, Z_FINISH) != Z_STREAM_END) {
    r = ASR_ERR_TOO_LARGE;
    goto out;
  }
  *out = buf;
  *out_len = cap - z.avail_out;
  buf = NULL;
  r = ASR_OK;
out:
  free(buf);
  deflateEnd(&z);
  return r;
}

/* Grows the output buffer, never past max + 1 bytes. */
static asr_result grow(uint8_t **buf, size_t *cap, size_t max)
{
  size_t ncap = *cap * 2;
  uint8_t *nb;

  if (*cap > max)
    return ASR_ERR_TOO_LARGE;
  if (ncap > max + 1)
    ncap = max + 1;
  nb = realloc(*buf, ncap + 1);
  if (!nb)
    return ASR_ERR_NOMEM;
  *buf = nb;
  *cap = ncap;
  return ASR_OK;
}

asr_result asr_gz_decompress(const void *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
  z_stream z;
  size_t cap = 65536;
  uint8_t *buf = malloc(cap + 1);
  asr_result r = ASR_ERR_NOMEM;
  int zr = Z_OK;

  memset(&z, 0, sizeof(z));
  if (!buf || len > UINT32_MAX || inflateInit2(&z, GZ_WINDOW) != Z_OK) {
    free(buf);
    return len > UINT32_MAX ? ASR_ERR_TOO_LARGE : ASR_ERR_NOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  while (zr != Z_STREAM_END) {
    if (z.total_out == cap) {
      r = grow(&buf, &cap, max);
      if (r)
        goto out;
    }
    z.next_out = buf + z.total_out;
    z.avail_out = (uInt)(cap - z.total_out);
    zr = inflate(&z, Z_NO_FLUSH);
    if (zr != Z_OK && zr != Z_STREAM_END) {
      r = zr == Z_MEM_ERROR ? ASR_ERR_NOMEM : ASR_ERR_PARSE;
      goto out;
    }
    if (zr == Z_OK && z.avail_in == 0 && z.avail_out > 0) {
      r = ASR_ERR_PARSE; /* truncated stream */
      goto out;
    }
  }
  if (z.total_out > max) {
    r = ASR_ERR_TOO_LARGE;
    goto out;
  }
  buf[z.total_out] = '\0';
  *out = buf;
  *out_len = z.total_out;
  buf = NULL;
  r = ASR_OK;
out:
  free(buf);
  inflateEnd(&z);
  return r;
}
