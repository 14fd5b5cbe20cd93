#include "snmp/vbset.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* A varbind and its insertion number: the sort key after the OID, so that the first of
 * several duplicates is the one kept (qsort is not stable, and the addresses it passes
 * to the comparator say nothing about insertion order). */
typedef struct {
  asr_vb vb;
  size_t seq;
} vb_item;

struct asr_vbset {
  vb_item *items;
  size_t n, cap, limit;
};

asr_vbset *asr_vbset_new(void)
{
  asr_vbset *s = calloc(1, sizeof(*s));

  if (s)
    s->limit = 100000;
  return s;
}

static void vb_clear(asr_vb *vb)
{
  free(vb->oid);
  free(vb->bytes);
  free(vb->oidval);
}

void asr_vbset_free(asr_vbset *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    vb_clear(&s->items[i].vb);
  free(s->items);
  free(s);
}

void asr_vbset_set_limit(asr_vbset *s, size_t limit)
{
  s->limit = limit;
}

static void *dup_mem(const void *src, size_t n, size_t extra)
{
  uint8_t *p = malloc(n + extra);

  if (p && n)
    memcpy(p, src, n);
  if (p && extra)
    memset(p + n, 0, extra);
  return p;
}

static asr_result grow(asr_vbset *s)
{
  size_t cap;
  vb_item *items;

  if (s->n < s->cap)
    return ASR_OK;
  cap = s->cap ? s->cap * 2 : 64;
  items = realloc(s->items, cap * sizeof(*items));
  if (!items)
    return ASR_ERR_NOMEM;
  s->items = items;
  s->cap = cap;
  return ASR_OK;
}

asr_result asr_vbset_add(asr_vbset *s, const asr_vb *vb)
{
  asr_vb copy = *vb;
  asr_result r;
  int want_bytes = vb->bytes || vb->len || vb->type == ASR_VB_OCTETS || vb->type == ASR_VB_IPADDR;

  if (!vb->oid || vb->oid_len == 0 || vb->oid_len > ASR_OID_MAX || vb->oidval_len > ASR_OID_MAX)
    return ASR_ERR_INVALID;
  if ((vb->len && !vb->bytes) || (vb->oidval_len && !vb->oidval))
    return ASR_ERR_INVALID;
  if (s->n >= s->limit)
    return ASR_ERR_LIMIT;
  r = grow(s);
  if (r)
    return r;
  if (copy.len > ASR_VB_VALUE_MAX)
    copy.len = ASR_VB_VALUE_MAX;
  copy.oid = dup_mem(vb->oid, vb->oid_len * sizeof(uint32_t), 0);
  /* String-like values always get a NUL-terminated buffer, even when empty. */
  copy.bytes = want_bytes ? dup_mem(vb->bytes, copy.len, 1) : NULL;
  copy.oidval = vb->oidval_len ? dup_mem(vb->oidval, vb->oidval_len * sizeof(uint32_t), 0) : NULL;
  if (!copy.oid || (want_bytes && !copy.bytes) || (vb->oidval_len && !copy.oidval)) {
    vb_clear(&copy);
    return ASR_ERR_NOMEM;
  }
  s->items[s->n].vb = copy;
  s->items[s->n].seq = s->n;
  s->n++;
  return ASR_OK;
}

int asr_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen)
{
  size_t n = alen < blen ? alen : blen;

  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  }
  if (alen == blen)
    return 0;
  return alen < blen ? -1 : 1;
}

int asr_oid_under(const uint32_t *oid, size_t len, const uint32_t *prefix, size_t plen)
{
  return len > plen && memcmp(oid, prefix, plen * sizeof(uint32_t)) == 0;
}

/* Sort key: OID, then insertion order, so that the first duplicate added is kept. */
static int vb_cmp(const void *pa, const void *pb)
{
  const vb_item *a = pa, *b = pb;
  int c = asr_oid_cmp(a->vb.oid, a->vb.oid_len, b->vb.oid, b->vb.oid_len);

  if (c)
    return c;
  return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

void asr_vbset_finish(asr_vbset *s)
{
  size_t out = 0;

  if (s->n == 0)
    return;
  qsort(s->items, s->n, sizeof(*s->items), vb_cmp);
  for (size_t i = 0; i < s->n; i++) {
    if (out > 0 && asr_oid_cmp(s->items[out - 1].vb.oid, s->items[out - 1].vb.oid_len,
                               s->items[i].vb.oid, s->items[i].vb.oid_len) == 0) {
      vb_clear(&s->items[i].vb);
      continue;
    }
    s->items[out++] = s->items[i];
  }
  s->n = out;
}

size_t asr_vbset_count(const asr_vbset *s)
{
  return s->n;
}

const asr_vb *asr_vbset_at(const asr_vbset *s, size_t i)
{
  return i < s->n ? &s->items[i].vb : NULL;
}

/* Index of the first varbind >= oid (binary search). */
static size_t lower_bound(const asr_vbset *s, const uint32_t *oid, size_t len)
{
  size_t lo = 0, hi = s->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (asr_oid_cmp(s->items[mid].vb.oid, s->items[mid].vb.oid_len, oid, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const asr_vb *asr_vbset_get(const asr_vbset *s, const uint32_t *oid, size_t len)
{
  size_t i = lower_bound(s, oid, len);

  if (i >= s->n || asr_oid_cmp(s->items[i].vb.oid, s->items[i].vb.oid_len, oid, len) != 0)
    return NULL;
  if (s->items[i].vb.type == ASR_VB_NONE)
    return NULL;
  return &s->items[i].vb;
}

size_t asr_vbset_subtree(const asr_vbset *s, const uint32_t *prefix, size_t plen, size_t *first)
{
  size_t i = lower_bound(s, prefix, plen), j;

  if (i < s->n && s->items[i].vb.oid_len == plen &&
      asr_oid_cmp(s->items[i].vb.oid, s->items[i].vb.oid_len, prefix, plen) == 0)
    i++;
  *first = i;
  for (j = i; j < s->n && asr_oid_under(s->items[j].vb.oid, s->items[j].vb.oid_len, prefix, plen);
       j++)
    ;
  return j - i;
}

asr_result asr_oid_parse(const char *s, uint32_t *out, size_t max, size_t *len)
{
  size_t n = 0;

  if (*s == '.')
    s++;
  while (*s) {
    uint64_t v = 0;

    if (*s < '0' || *s > '9' || n >= max)
      return ASR_ERR_PARSE;
    while (*s >= '0' && *s <= '9') {
      v = v * 10 + (uint64_t)(*s++ - '0');
      if (v > UINT32_MAX)
        return ASR_ERR_PARSE;
    }
    out[n++] = (uint32_t)v;
    if (*s == '.' && s[1] != '\0')
      s++;
    else if (*s)
      return ASR_ERR_PARSE;
  }
  if (n == 0)
    return ASR_ERR_PARSE;
  *len = n;
  return ASR_OK;
}

asr_result asr_oid_format(const uint32_t *oid, size_t len, char *buf, size_t n)
{
  size_t used = 0;
  asr_result r = ASR_OK;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  buf[0] = '\0';
  for (size_t i = 0; i < len && r == ASR_OK; i++)
    r = asr_append(buf, n, &used, i ? ".%u" : "%u", (unsigned)oid[i]);
  return r;
}
