/* conf/targets.c: scan targets from the command line (see targets.h for the syntax).
 *
 * A spec is parsed into one inclusive address range [first, last] (an address, a CIDR
 * block or a range) or resolved as a host name. The range is counted before anything is
 * added, so a refused spec leaves the list unchanged. Duplicates are dropped with an
 * open-addressing hash set kept next to the list, so expanding a /16 stays linear. */
#include "conf/targets.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "common/util.h"

#define HOSTNAME_MAX 253

/* Open addressing over uint32 keys; EMPTY marks a free slot, and the address
 * 255.255.255.255 (== EMPTY) is tracked by a flag instead. */
#define SEEN_EMPTY UINT32_MAX

struct asr_targets_seen {
  uint32_t *slots;
  size_t cap, used; /* cap is a power of two */
  int has_all_ones;
};

/* One parse: the spec and where the error points. */
typedef struct {
  const char *spec;
  const char *p;
  char *err;
  size_t n;
} tparse;

static asr_result terr(tparse *tp, const char *at, const char *what)
{
  if (tp->err && tp->n)
    asr_fmt(tp->err, tp->n, "%s: position %zu: %s", tp->spec, (size_t)(at - tp->spec) + 1, what);
  return ASR_ERR_TARGET;
}

static uint32_t mix32(uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

static int seen_has(const struct asr_targets_seen *s, uint32_t a)
{
  size_t i;

  if (!s || !s->cap)
    return 0;
  if (a == SEEN_EMPTY)
    return s->has_all_ones;
  for (i = mix32(a) & (s->cap - 1); s->slots[i] != SEEN_EMPTY; i = (i + 1) & (s->cap - 1)) {
    if (s->slots[i] == a)
      return 1;
  }
  return 0;
}

/* Inserts a (not present) without growing. */
static void seen_put(struct asr_targets_seen *s, uint32_t a)
{
  size_t i;

  if (a == SEEN_EMPTY) {
    s->has_all_ones = 1;
    return;
  }
  for (i = mix32(a) & (s->cap - 1); s->slots[i] != SEEN_EMPTY; i = (i + 1) & (s->cap - 1))
    ;
  s->slots[i] = a;
  s->used++;
}

/* Makes room for want more keys (load factor <= 1/2), rehashing the list's addresses. */
static asr_result seen_reserve(asr_targets *t, size_t want)
{
  struct asr_targets_seen *s = t->seen;
  size_t cap = 64;
  uint32_t *slots;

  if (!s) {
    s = calloc(1, sizeof(*s));
    if (!s)
      return ASR_ERR_NOMEM;
    t->seen = s;
  }
  if ((s->used + want) * 2 <= s->cap)
    return ASR_OK;
  while (cap < (s->used + want) * 2)
    cap *= 2;
  slots = malloc(cap * sizeof(*slots));
  if (!slots)
    return ASR_ERR_NOMEM;
  memset(slots, 0xff, cap * sizeof(*slots));
  free(s->slots);
  s->slots = slots;
  s->cap = cap;
  s->used = 0;
  s->has_all_ones = 0;
  for (size_t i = 0; i < t->n; i++)
    seen_put(s, t->addrs[i]);
  return ASR_OK;
}

static asr_result list_reserve(asr_targets *t, size_t want)
{
  size_t cap = t->cap ? t->cap : 16;
  uint32_t *a;

  if (t->n + want <= t->cap)
    return ASR_OK;
  while (cap < t->n + want)
    cap *= 2;
  a = realloc(t->addrs, cap * sizeof(*a));
  if (!a)
    return ASR_ERR_NOMEM;
  t->addrs = a;
  t->cap = cap;
  return ASR_OK;
}

/* Adds a if new; space must have been reserved. */
static void add_one(asr_targets *t, uint32_t a)
{
  if (seen_has(t->seen, a))
    return;
  seen_put(t->seen, a);
  t->addrs[t->n++] = a;
}

/* A decimal number of at most maxdigits digits at tp->p, no leading zero. */
static asr_result parse_dec(tparse *tp, unsigned maxv, const char *range_msg, unsigned *out)
{
  const char *start = tp->p;
  unsigned long v = 0;

  if (*tp->p < '0' || *tp->p > '9')
    return terr(tp, tp->p, "expected a decimal number");
  if (tp->p[0] == '0' && tp->p[1] >= '0' && tp->p[1] <= '9')
    return terr(tp, start, "leading zero (octal?) not accepted");
  while (*tp->p >= '0' && *tp->p <= '9') {
    if (v <= 100000UL)
      v = v * 10 + (unsigned long)(*tp->p - '0');
    tp->p++;
  }
  if (v > maxv)
    return terr(tp, start, range_msg);
  *out = (unsigned)v;
  return ASR_OK;
}

/* "a.b.c.d" at tp->p. */
static asr_result parse_quad(tparse *tp, uint32_t *out)
{
  uint32_t a = 0;

  for (int i = 0; i < 4; i++) {
    unsigned v;

    if (i > 0) {
      if (*tp->p != '.')
        return terr(tp, tp->p, *tp->p ? "expected '.'" : "incomplete address (want a.b.c.d)");
      tp->p++;
    }
    if (parse_dec(tp, 255, "octet out of range (0-255)", &v))
      return ASR_ERR_TARGET;
    a = (a << 8) | v;
  }
  *out = a;
  return ASR_OK;
}

/* "/n" after an address: the block's range, network and broadcast skipped for n <= 30. */
static asr_result parse_cidr(tparse *tp, uint32_t addr, uint32_t *first, uint32_t *last)
{
  unsigned bits;
  uint32_t mask;

  tp->p++;
  if (parse_dec(tp, 32, "prefix length out of range (0-32)", &bits))
    return ASR_ERR_TARGET;
  mask = bits ? (uint32_t)(0xffffffffU << (32 - bits)) : 0;
  *first = addr & mask;
  *last = *first | ~mask;
  if (bits <= 30) {
    (*first)++;
    (*last)--;
  }
  return ASR_OK;
}

/* "-e.f.g.h" or "-N" after an address. */
static asr_result parse_range(tparse *tp, uint32_t addr, uint32_t *last)
{
  const char *start = ++tp->p;
  const char *q = start;
  unsigned v;

  while (*q >= '0' && *q <= '9')
    q++;
  if (*q == '.') {
    if (parse_quad(tp, last))
      return ASR_ERR_TARGET;
  } else {
    if (parse_dec(tp, 255, "range end out of range (0-255)", &v))
      return ASR_ERR_TARGET;
    *last = (addr & 0xffffff00U) | v;
  }
  if (*last < addr)
    return terr(tp, start, "range end before start");
  return ASR_OK;
}

/* Parses a numeric spec into [first, last]. */
static asr_result parse_numeric(tparse *tp, uint32_t *first, uint32_t *last)
{
  uint32_t addr;
  asr_result r;

  if (parse_quad(tp, &addr))
    return ASR_ERR_TARGET;
  *first = *last = addr;
  if (*tp->p == '/')
    r = parse_cidr(tp, addr, first, last);
  else if (*tp->p == '-')
    r = parse_range(tp, addr, last);
  else
    r = ASR_OK;
  if (r)
    return r;
  if (*tp->p)
    return terr(tp, tp->p, "unexpected character after the target");
  return ASR_OK;
}

static asr_result too_large(tparse *tp, uint64_t count, int force)
{
  if (tp->err && tp->n) {
    if (force)
      asr_fmt(tp->err, tp->n, "%s: %llu addresses: more than %d, even with --force", tp->spec,
              (unsigned long long)count, ASR_TARGETS_MAX_FORCED);
    else
      asr_fmt(tp->err, tp->n, "%s: %llu addresses: more than %d in all; use --force to scan them",
              tp->spec, (unsigned long long)count, ASR_TARGETS_MAX_UNFORCED);
  }
  return ASR_ERR_TOO_LARGE;
}

/* Adds [first, last] after checking the total against the bound. */
static asr_result add_range(asr_targets *t, tparse *tp, uint32_t first, uint32_t last, int force)
{
  uint64_t count = first <= last ? (uint64_t)last - first + 1 : 0, fresh = 0;
  uint64_t cap = force ? ASR_TARGETS_MAX_FORCED : ASR_TARGETS_MAX_UNFORCED;
  asr_result r;

  if (count > cap)
    return too_large(tp, count, force);
  for (uint64_t a = first; a < (uint64_t)first + count; a++)
    fresh += !seen_has(t->seen, (uint32_t)a);
  if (t->n + fresh > cap)
    return too_large(tp, t->n + fresh, force);
  r = list_reserve(t, (size_t)fresh);
  if (!r)
    r = seen_reserve(t, (size_t)fresh);
  if (r)
    return r;
  for (uint64_t a = first; a < (uint64_t)first + count; a++)
    add_one(t, (uint32_t)a);
  return ASR_OK;
}

/* Host names: letters, digits, '-', '_', '.'; at most 253 characters. */
static asr_result check_hostname(tparse *tp)
{
  for (const char *s = tp->spec; *s; s++) {
    int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
             *s == '-' || *s == '_' || *s == '.';

    if (!ok)
      return terr(tp, s, "character not allowed in a host name");
    if (s - tp->spec >= HOSTNAME_MAX)
      return terr(tp, s, "host name longer than 253 characters");
  }
  return ASR_OK;
}

static asr_result add_hostname(asr_targets *t, tparse *tp, int force)
{
  struct addrinfo hints, *res = NULL;
  asr_result r = check_hostname(tp);
  int rc;

  if (r)
    return r;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  rc = getaddrinfo(tp->spec, NULL, &hints, &res);
  if (rc != 0) {
    if (tp->err && tp->n)
      asr_fmt(tp->err, tp->n, "%s: %s", tp->spec, gai_strerror(rc));
    return ASR_ERR_RESOLVE;
  }
  for (struct addrinfo *ai = res; ai && !r; ai = ai->ai_next) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;

    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(*sin))
      r = add_range(t, tp, ntohl(sin->sin_addr.s_addr), ntohl(sin->sin_addr.s_addr), force);
  }
  freeaddrinfo(res);
  return r;
}

/* Numeric when it starts with digits then a dot (see targets.h). */
static int looks_numeric(const char *s)
{
  const char *p = s;

  while (*p >= '0' && *p <= '9')
    p++;
  return p > s && *p == '.';
}

asr_result asr_targets_add(asr_targets *t, const char *spec, int force, char *err, size_t n)
{
  tparse tp = {.spec = spec, .p = spec, .err = err, .n = n};
  uint32_t first, last;

  if (err && n)
    err[0] = '\0';
  if (*spec == '\0')
    return terr(&tp, spec, "empty target");
  if (!looks_numeric(spec)) {
    if (*spec >= '0' && *spec <= '9' &&
        !strpbrk(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
      return parse_numeric(&tp, &first, &last); /* "10", "10/8": report the bad character */
    return add_hostname(t, &tp, force);
  }
  if (parse_numeric(&tp, &first, &last))
    return ASR_ERR_TARGET;
  return add_range(t, &tp, first, last, force);
}

void asr_targets_free(asr_targets *t)
{
  if (!t)
    return;
  if (t->seen)
    free(t->seen->slots);
  free(t->seen);
  free(t->addrs);
  memset(t, 0, sizeof(*t));
}

void asr_targets_format(uint32_t addr, char *buf, size_t n)
{
  asr_fmt(buf, n, "%u.%u.%u.%u", (unsigned)(addr >> 24), (unsigned)((addr >> 16) & 0xff),
          (unsigned)((addr >> 8) & 0xff), (unsigned)(addr & 0xff));
}
