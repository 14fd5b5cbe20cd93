/* cseries.c: a supply's recent daily series and its encoding (cseries.h).
 *
 * Why varints: a day of a series is a day delta of 1 (one byte), a flags byte, a level of
 * 0..100 (percent printers, one byte) or up to a few tens of thousands (units, three
 * bytes) and a percent (one byte): five to seven bytes a day, so that 128 days of a supply
 * stay well inside one database page and the engine reads one small row per supply. */
#include "central/cseries.h"

#include <stdlib.h>
#include <string.h>

#define CSERIES_VERSION 1
#define F_LEVEL 1u
#define F_PERCENT 2u
#define VARINT_MAX 10 /* bytes of a 64-bit varint */

void cseries_init(cseries *s, int64_t from)
{
  memset(s, 0, sizeof(*s));
  s->from = from;
}

void cseries_free(cseries *s)
{
  free(s->d);
  memset(s, 0, sizeof(*s));
}

/* The index of day in s, or where it goes (binary search). */
static size_t find_day(const cseries *s, int64_t day)
{
  size_t lo = 0, hi = s->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->d[mid].day < day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static asr_result grow(cseries *s)
{
  size_t cap = s->cap ? s->cap * 2 : 32;
  cstore_rp_level *d;

  if (s->n >= CSERIES_DAYS_MAX)
    return ASR_ERR_LIMIT;
  if (s->n < s->cap)
    return ASR_OK;
  d = realloc(s->d, cap * sizeof(*d));
  if (!d)
    return ASR_ERR_NOMEM;
  s->d = d;
  s->cap = cap;
  return ASR_OK;
}

asr_result cseries_put(cseries *s, const cstore_rp_level *l)
{
  size_t i;
  asr_result r;

  if (l->day < s->from)
    return ASR_OK;
  i = find_day(s, l->day);
  if (i < s->n && s->d[i].day == l->day) {
    s->d[i] = *l;
    s->d[i].has_max = false;
    s->d[i].max = 0;
    return ASR_OK;
  }
  r = grow(s);
  if (r)
    return r;
  memmove(&s->d[i + 1], &s->d[i], (s->n - i) * sizeof(*s->d));
  s->d[i] = *l;
  s->d[i].has_max = false;
  s->d[i].max = 0;
  s->n++;
  return ASR_OK;
}

void cseries_trim(cseries *s, int64_t from)
{
  size_t i;

  if (from <= s->from)
    return;
  i = find_day(s, from);
  memmove(s->d, &s->d[i], (s->n - i) * sizeof(*s->d));
  s->n -= i;
  s->from = from;
}

/* ---- Encoding ------------------------------------------------------------------------ */

static size_t put_varint(unsigned char *p, uint64_t v)
{
  size_t n = 0;

  while (v >= 0x80) {
    p[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (unsigned char)v;
  return n;
}

static uint64_t zigzag(int64_t v)
{
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

asr_result cseries_encode(const cseries *s, unsigned char **blob, size_t *len)
{
  /* version, from, count, then per day a delta, flags, level and percent */
  size_t cap = 1 + 2 * VARINT_MAX + s->n * (2 * VARINT_MAX + 1 + VARINT_MAX);
  unsigned char *p = malloc(cap);
  size_t n = 0;
  int64_t prev = s->from;

  *blob = NULL;
  *len = 0;
  if (!p)
    return ASR_ERR_NOMEM;
  p[n++] = CSERIES_VERSION;
  n += put_varint(p + n, zigzag(s->from));
  n += put_varint(p + n, s->n);
  for (size_t i = 0; i < s->n; i++) {
    const cstore_rp_level *l = &s->d[i];
    n += put_varint(p + n, (uint64_t)(l->day - prev));
    p[n++] = (unsigned char)((l->has_level ? F_LEVEL : 0) | (l->has_percent ? F_PERCENT : 0));
    if (l->has_level)
      n += put_varint(p + n, zigzag(l->level));
    if (l->has_percent)
      n += put_varint(p + n, zigzag(l->percent));
    prev = l->day;
  }
  *blob = p;
  *len = n;
  return ASR_OK;
}

/* A reader of a blob: get_varint fails (false) past its end or on an overlong varint. */
typedef struct {
  const unsigned char *p;
  size_t n, i;
} reader;

static bool get_varint(reader *r, uint64_t *out)
{
  uint64_t v = 0;

  for (unsigned shift = 0; shift < 64 && r->i < r->n; shift += 7) {
    unsigned char b = r->p[r->i++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* One day after prev (strictly later), into l. */
static bool get_day(reader *r, int64_t prev, bool first, cstore_rp_level *l)
{
  uint64_t delta = 0, v = 0;
  unsigned flags;

  memset(l, 0, sizeof(*l));
  if (!get_varint(r, &delta) || r->i >= r->n || delta > INT32_MAX || (!first && delta == 0))
    return false;
  l->day = prev + (int64_t)delta;
  flags = r->p[r->i++];
  if (flags & ~(F_LEVEL | F_PERCENT))
    return false;
  if ((flags & F_LEVEL) && !get_varint(r, &v))
    return false;
  l->has_level = flags & F_LEVEL;
  l->level = l->has_level ? unzigzag(v) : 0;
  if (!(flags & F_PERCENT))
    return true;
  if (!get_varint(r, &v) || unzigzag(v) < INT32_MIN || unzigzag(v) > INT32_MAX)
    return false;
  l->has_percent = true;
  l->percent = (int)unzigzag(v);
  return true;
}

asr_result cseries_decode(const void *blob, size_t len, cseries *s)
{
  reader rd = {blob, len, 0};
  uint64_t from = 0, count = 0;
  int64_t prev;

  cseries_init(s, 0);
  if (!blob || len < 3 || rd.p[rd.i++] != CSERIES_VERSION || !get_varint(&rd, &from) ||
      !get_varint(&rd, &count) || count > CSERIES_DAYS_MAX)
    return ASR_ERR_INVALID;
  s->from = unzigzag(from);
  if (s->from < -INT32_MAX || s->from > INT32_MAX)
    return ASR_ERR_INVALID;
  s->d = calloc(count ? count : 1, sizeof(*s->d));
  if (!s->d)
    return ASR_ERR_NOMEM;
  s->cap = count ? count : 1;
  prev = s->from;
  for (size_t i = 0; i < count; i++) {
    if (!get_day(&rd, prev, i == 0, &s->d[i]))
      return ASR_ERR_INVALID;
    prev = s->d[i].day;
    s->n++;
  }
  return rd.i == rd.n ? ASR_OK : ASR_ERR_INVALID;
}
