/* store.c: the agent's SQLite database; the only agent code that includes sqlite3.h.
 *
 * Reading order: the levels codec (pure), error conversion, statement cache, opening
 * and migrating, saving a device (the hot path of a poll), failures, and the walks.
 *
 * Why it looks like this:
 * - Every SQLite call is checked where it is made and converted by db_fail() into an
 *   asr_result with a message "PATH: what: why" kept in the handle and logged once.
 * - Every statement of the agent is a row of stmt_sql[]: prepared once per handle on
 *   first use (SQLITE_PREPARE_PERSISTENT), reset after each use. A poll of 1000
 *   printers is 1000 short transactions of a dozen cached statements each.
 * - Printers' strings are always bound as parameters, with their bounded length.
 * - Opening never writes before it knows the file is a database of a version we
 *   understand: the version check only reads, and migrations run in transactions. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "store/schema.h"

#define LEVELS_FORMAT 1
#define STORE_ERR_MAX 512

/* ---------------------------------------------------------------------------------------
 * The levels blob: a format byte, then per supply zig-zag LEB128 varints of
 * (index - previous index, level, max). Pure code: no SQLite here. */

static uint64_t zigzag(int64_t v)
{
  return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t u)
{
  return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

/* Writes v at buf[*pos] (bounded by cap); false when it does not fit. */
static bool put_varint(uint8_t *buf, size_t cap, size_t *pos, int64_t v)
{
  uint64_t u = zigzag(v);

  do {
    if (*pos >= cap)
      return false;
    buf[(*pos)++] = (uint8_t)((u & 0x7f) | (u > 0x7f ? 0x80 : 0));
    u >>= 7;
  } while (u);
  return true;
}

/* Reads one varint at buf[*pos]; false when truncated or longer than 64 bits. */
static bool get_varint(const uint8_t *buf, size_t len, size_t *pos, int64_t *v)
{
  uint64_t u = 0;

  for (unsigned shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (*pos >= len)
      return false;
    b = buf[(*pos)++];
    if (shift == 63 && b > 1)
      return false;
    u |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = unzigzag(u);
      return true;
    }
  }
  return false;
}

size_t asr_store_levels_encode(const asr_store_level *lv, size_t n, uint8_t *buf, size_t cap)
{
  size_t pos = 0;
  int64_t prev = 0;

  if (n > ASR_SUPPLIES_MAX || cap < 1)
    return 0;
  buf[pos++] = LEVELS_FORMAT;
  for (size_t i = 0; i < n; i++) {
    if (!put_varint(buf, cap, &pos, (int64_t)lv[i].index - prev) ||
        !put_varint(buf, cap, &pos, lv[i].level) || !put_varint(buf, cap, &pos, lv[i].max))
      return 0;
    prev = lv[i].index;
  }
  return pos;
}

size_t asr_store_levels_decode(const uint8_t *buf, size_t len, asr_store_level *out, size_t cap)
{
  size_t pos = 1, n = 0;
  int64_t prev = 0;

  if (!buf || len < 1 || buf[0] != LEVELS_FORMAT)
    return 0;
  while (n < cap && pos < len) {
    int64_t delta, level, max, index;
    if (!get_varint(buf, len, &pos, &delta) || !get_varint(buf, len, &pos, &level) ||
        !get_varint(buf, len, &pos, &max))
      break;
    if (delta < INT32_MIN - prev || delta > INT32_MAX - prev)
      break;
    index = prev + delta;
    out[n].index = (int32_t)index;
    out[n].level = level;
    out[n].max = max;
    prev = index;
    n++;
  }
  return n;
}
