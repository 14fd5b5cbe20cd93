/* gz.h: gzip compression of batch bodies (the only code that includes zlib): the agent
 * compresses, asr-central inflates, bounded. */
#ifndef ASR_GZ_H
#define ASR_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

/* Compresses len bytes into a new malloc'd gzip stream (*out, *out_len). */
asr_result asr_gz_compress(const void *in, size_t len, uint8_t **out, size_t *out_len);

/* Decompresses a gzip stream into a new malloc'd buffer with a NUL after the data.
 * ASR_ERR_TOO_LARGE when the result would exceed max bytes (a gzip bomb), ASR_ERR_PARSE
 * when the input is not a whole gzip stream. */
asr_result asr_gz_decompress(const void *in, size_t len, size_t max, uint8_t **out,
                             size_t *out_len);

#endif
