/* gz.c: gzip with zlib, bounded on the way in. */
#include "wire/gz.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/buf.h"

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

#define GZ_CHUNK 16384 /* inflated bytes per step, appended to the output buffer */

/* Inflates the whole of z into b (bounded by its max); ASR_ERR_PARSE when the stream is
 * not a whole gzip stream, ASR_ERR_TOO_LARGE past max. */
static asr_result inflate_all(z_stream *z, asr_buf *b)
{
  unsigned char chunk[GZ_CHUNK];
  int zr = Z_OK;

  while (zr != Z_STREAM_END) {
    z->next_out = chunk;
    z->avail_out = sizeof(chunk);
    zr = inflate(z, Z_NO_FLUSH);
    if (zr != Z_OK && zr != Z_STREAM_END)
      return zr == Z_MEM_ERROR ? ASR_ERR_NOMEM : ASR_ERR_PARSE;
    asr_buf_add(b, chunk, sizeof(chunk) - z->avail_out);
    if (b->err)
      return b->err == ASR_ERR_LIMIT ? ASR_ERR_TOO_LARGE : b->err;
    if (zr == Z_OK && z->avail_in == 0 && z->avail_out > 0)
      return ASR_ERR_PARSE; /* truncated stream */
  }
  return ASR_OK;
}

asr_result asr_gz_decompress(const void *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
  z_stream z;
  asr_buf b = {.max = max ? max : 1};
  asr_result r;
  char *text;

  memset(&z, 0, sizeof(z));
  if (len > UINT32_MAX)
    return ASR_ERR_TOO_LARGE;
  if (inflateInit2(&z, GZ_WINDOW) != Z_OK)
    return ASR_ERR_NOMEM;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  r = inflate_all(&z, &b);
  inflateEnd(&z);
  if (!r && b.len > max)
    r = ASR_ERR_TOO_LARGE; /* max 0: the buffer's bound is 1 */
  *out_len = b.len;
  if (r) {
    asr_buf_free(&b);
    return r;
  }
  r = asr_buf_finish(&b, &text);
  if (r)
    return r;
  *out = (uint8_t *)text;
  return ASR_OK;
}
