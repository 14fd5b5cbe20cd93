/* addr.c: IP addresses as values (see addr.h). Pure C: no socket API, no libc resolver. */
#include "common/addr.h"

#include <string.h>

#include "common/util.h"

static size_t addr_len(const asr_addr *a)
{
  return a->family == ASR_AF_INET6 ? 16 : 4;
}

asr_addr asr_addr_v4(uint32_t v)
{
  asr_addr a;

  memset(&a, 0, sizeof(a));
  a.family = ASR_AF_INET;
  a.b[0] = (uint8_t)(v >> 24);
  a.b[1] = (uint8_t)(v >> 16);
  a.b[2] = (uint8_t)(v >> 8);
  a.b[3] = (uint8_t)v;
  return a;
}

uint32_t asr_addr_v4_value(const asr_addr *a)
{
  return ((uint32_t)a->b[0] << 24) | ((uint32_t)a->b[1] << 16) | ((uint32_t)a->b[2] << 8) | a->b[3];
}

/* ---- IPv6 text --------------------------------------------------------------------- */

typedef struct {
  const char *p;
  const char *why;
  uint16_t g[8];
  int n;   /* groups so far */
  int gap; /* groups before the "::", -1 when none */
} v6parse;

static int is_hex(char c)
{
  return asr_hex_val((unsigned char)c) >= 0;
}

static int fail6(v6parse *v, const char *at, const char *why)
{
  v->p = at;
  v->why = why;
  return -1;
}

/* A decimal octet of an embedded IPv4 address (no leading zero). */
static int v4_octet(v6parse *v, unsigned *out)
{
  const char *start = v->p;
  unsigned val = 0;

  if (*v->p < '0' || *v->p > '9')
    return fail6(v, v->p, "expected a decimal number in the IPv4 part");
  if (v->p[0] == '0' && v->p[1] >= '0' && v->p[1] <= '9')
    return fail6(v, v->p, "leading zero (octal?) not accepted");
  while (*v->p >= '0' && *v->p <= '9') {
    if (val <= 255)
      val = val * 10 + (unsigned)(*v->p - '0');
    v->p++;
  }
  if (val > 255)
    return fail6(v, start, "octet out of range (0-255)");
  *out = val;
  return 0;
}

/* The dotted IPv4 tail ("::ffff:192.0.2.1"): two more groups. */
static int v4_tail(v6parse *v)
{
  unsigned o[4];

  if (v->n > 6)
    return fail6(v, v->p, "no room for an IPv4 part (at most 6 groups before it)");
  for (int i = 0; i < 4; i++) {
    if (i > 0) {
      if (*v->p != '.')
        return fail6(v, v->p, "incomplete IPv4 part (want a.b.c.d)");
      v->p++;
    }
    if (v4_octet(v, &o[i]))
      return -1;
  }
  v->g[v->n++] = (uint16_t)(o[0] << 8 | o[1]);
  v->g[v->n++] = (uint16_t)(o[2] << 8 | o[3]);
  return 0;
}

/* One hexadecimal group, or the IPv4 tail; 1 when that was the last part. */
static int v6_part(v6parse *v)
{
  const char *q = v->p;
  unsigned val = 0;

  if (v->n >= 8)
    return fail6(v, v->p, "too many groups (at most 8)");
  while (is_hex(*q))
    q++;
  if (*q == '.')
    return v4_tail(v) ? -1 : 1;
  if (q == v->p)
    return fail6(v, v->p, "expected a hexadecimal group");
  if (q - v->p > 4)
    return fail6(v, v->p + 4, "group longer than 4 hexadecimal digits");
  for (; v->p < q; v->p++)
    val = val << 4 | (unsigned)asr_hex_val((unsigned char)*v->p);
  v->g[v->n++] = (uint16_t)val;
  return 0;
}

/* After a group: ':' and another group, "::", or the end of the address. */
static int v6_sep(v6parse *v)
{
  if (v->p[0] != ':')
    return 1;
  if (v->p[1] == ':') {
    if (v->gap >= 0)
      return fail6(v, v->p, "more than one '::'");
    v->gap = v->n;
    v->p += 2;
    return is_hex(*v->p) ? 0 : 1;
  }
  v->p++;
  return is_hex(*v->p) ? 0 : fail6(v, v->p, "expected a hexadecimal group after ':'");
}

static int v6_groups(v6parse *v)
{
  int r;

  if (v->p[0] == ':') {
    if (v->p[1] != ':')
      return fail6(v, v->p, "a leading ':' must be part of '::'");
    v->gap = 0;
    v->p += 2;
    if (!is_hex(*v->p))
      return 0;
  }
  for (;;) {
    r = v6_part(v);
    if (r)
      return r < 0 ? -1 : 0;
    r = v6_sep(v);
    if (r)
      return r < 0 ? -1 : 0;
  }
}

asr_result asr_addr_parse6(const char *s, asr_addr *out, const char **end, const char **why)
{
  v6parse v = {.p = s, .gap = -1};
  int fill, k = 0;

  memset(out, 0, sizeof(*out));
  if (v6_groups(&v) == 0) {
    if (v.gap < 0 && v.n != 8)
      fail6(&v, v.p, "too few groups (want 8, or '::' for zeros)");
    else if (v.gap >= 0 && v.n == 8)
      fail6(&v, v.p, "'::' stands for no group here (8 groups already)");
  }
  *end = v.p;
  if (v.why) {
    if (why)
      *why = v.why;
    return ASR_ERR_TARGET;
  }
  out->family = ASR_AF_INET6;
  fill = v.gap < 0 ? 0 : 8 - v.n;
  for (int i = 0; i < v.n; i++) {
    if (i == v.gap)
      k += fill;
    out->b[2 * k] = (uint8_t)(v.g[i] >> 8);
    out->b[2 * k + 1] = (uint8_t)v.g[i];
    k++;
  }
  return ASR_OK;
}

/* ---- whole addresses --------------------------------------------------------------- */

static asr_result parse4(const char *s, asr_addr *out)
{
  uint32_t v = 0;

  for (int i = 0; i < 4; i++) {
    unsigned o = 0;
    const char *start;

    if (i > 0 && *s++ != '.')
      return ASR_ERR_TARGET;
    start = s;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
      return ASR_ERR_TARGET;
    while (*s >= '0' && *s <= '9' && s - start < 3)
      o = o * 10 + (unsigned)(*s++ - '0');
    if (o > 255)
      return ASR_ERR_TARGET;
    v = v << 8 | o;
  }
  if (*s)
    return ASR_ERR_TARGET;
  *out = asr_addr_v4(v);
  return ASR_OK;
}

asr_result asr_addr_parse(const char *s, asr_addr *out)
{
  const char *end;

  if (!s)
    return ASR_ERR_TARGET;
  if (!strchr(s, ':'))
    return parse4(s, out);
  if (asr_addr_parse6(s, out, &end, NULL) != ASR_OK || *end)
    return ASR_ERR_TARGET;
  return ASR_OK;
}

/* The longest run of two or more zero groups (leftmost on a tie): *at, *len (0: none). */
static void zero_run(const uint16_t *g, int *at, int *len)
{
  *at = -1;
  *len = 0;
  for (int i = 0; i < 8;) {
    int j = i;

    while (j < 8 && g[j] == 0)
      j++;
    if (j - i >= 2 && j - i > *len) {
      *at = i;
      *len = j - i;
    }
    i = j > i ? j : i + 1;
  }
}

static void format6(const asr_addr *a, char *buf, size_t n)
{
  uint16_t g[8];
  size_t len = 0;
  int at, run;

  for (int i = 0; i < 8; i++)
    g[i] = (uint16_t)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
  buf[0] = '\0';
  if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) { /* IPv4-mapped */
    asr_fmt_cut(buf, n, "::ffff:%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
    return;
  }
  zero_run(g, &at, &run);
  for (int i = 0; i < 8; i++) {
    if (i == at) {
      asr_append(buf, n, &len, "::");
      i += run - 1;
      continue;
    }
    asr_append(buf, n, &len, "%s%x", i > 0 && i != at + run ? ":" : "", (unsigned)g[i]);
  }
}

void asr_addr_format(const asr_addr *a, char *buf, size_t n)
{
  if (!n)
    return;
  if (a->family == ASR_AF_INET6)
    format6(a, buf, n);
  else if (a->family == ASR_AF_INET)
    asr_fmt_cut(buf, n, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
  else
    asr_strlcpy_cut(buf, "-", n);
}

int asr_addr_cmp(const asr_addr *a, const asr_addr *b)
{
  if (a->family != b->family)
    return a->family < b->family ? -1 : 1;
  return memcmp(a->b, b->b, addr_len(a));
}

int asr_addr_inc(asr_addr *a)
{
  for (size_t i = addr_len(a); i-- > 0;) {
    if (++a->b[i] != 0)
      return 0;
  }
  return 1;
}

int asr_addr_dec(asr_addr *a)
{
  for (size_t i = addr_len(a); i-- > 0;) {
    if (a->b[i]-- != 0)
      return 0;
  }
  return 1;
}

/* The address as two 64-bit halves (IPv4: hi 0, lo the value). */
static void halves(const asr_addr *a, uint64_t *hi, uint64_t *lo)
{
  *hi = *lo = 0;
  if (a->family != ASR_AF_INET6) {
    *lo = asr_addr_v4_value(a);
    return;
  }
  for (int i = 0; i < 8; i++) {
    *hi = *hi << 8 | a->b[i];
    *lo = *lo << 8 | a->b[8 + i];
  }
}

uint64_t asr_addr_span(const asr_addr *first, const asr_addr *last)
{
  uint64_t fh, fl, lh, ll, dh, dl;

  halves(first, &fh, &fl);
  halves(last, &lh, &ll);
  dl = ll - fl;
  dh = lh - fh - (ll < fl);
  if (dh != 0 || dl == UINT64_MAX)
    return UINT64_MAX;
  return dl + 1;
}

void asr_addr_block(const asr_addr *a, unsigned bits, asr_addr *first, asr_addr *last)
{
  size_t len = addr_len(a);

  *first = *a;
  *last = *a;
  for (size_t i = 0; i < len; i++) {
    unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
    uint8_t mask = (uint8_t)(0xff00u >> keep);

    first->b[i] &= mask;
    last->b[i] |= (uint8_t)~mask;
  }
}

int asr_addr_is_loopback(const asr_addr *a)
{
  static const uint8_t one[16] = {[15] = 1};

  if (a->family == ASR_AF_INET)
    return a->b[0] == 127;
  return a->family == ASR_AF_INET6 && memcmp(a->b, one, 16) == 0;
}
