/* conf/targets.c: scan targets (see targets.h for the syntax).
 *
 * A spec is parsed into one inclusive address range (an address, a block or a range) or
 * resolved as a host name (one range per address). Targets and exclusions are kept as two
 * lists of ranges; when a list has grown well past its size at the last merge, it is
 * sorted and merged in place, so that a file that repeats itself stays small. finish merges
 * both and subtracts the exclusions: what is left is a short sorted list of disjoint
 * ranges, which the iteration walks one address at a time. */
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
#define MERGE_SLACK 1024 /* ranges added past twice the merged size before merging again */

/* One parse: the spec and where the error points. */
typedef struct {
  const char *spec;
  const char *p;
  char *err;
  size_t n;
  int whole; /* blocks keep their IPv4 network and broadcast addresses (exclusions) */
} tparse;

static asr_result terr(tparse *tp, const char *at, const char *what)
{
  if (tp->err && tp->n)
    asr_fmt_cut(tp->err, tp->n, "%s: position %zu: %s", tp->spec, (size_t)(at - tp->spec) + 1,
                what);
  return ASR_ERR_TARGET;
}

/* ---- lists of ranges ------------------------------------------------------------------- */

static int range_cmp(const void *pa, const void *pb)
{
  const asr_range *a = pa, *b = pb;
  int c = asr_addr_cmp(&a->first, &b->first);

  return c ? c : asr_addr_cmp(&a->last, &b->last);
}

/* True when b starts inside a or right after it (same family). */
static int joins(const asr_range *a, const asr_range *b)
{
  asr_addr after = a->last;

  if (a->first.family != b->first.family)
    return 0;
  if (asr_addr_inc(&after)) /* a ends at the family's last address */
    return 1;
  return asr_addr_cmp(&b->first, &after) <= 0;
}

/* Sorts r and merges overlapping or adjacent ranges in place; the new count. */
static size_t merge(asr_range *r, size_t n)
{
  size_t out = 0;

  if (n < 2)
    return n;
  qsort(r, n, sizeof(*r), range_cmp);
  for (size_t i = 1; i < n; i++) {
    if (joins(&r[out], &r[i])) {
      if (asr_addr_cmp(&r[i].last, &r[out].last) > 0)
        r[out].last = r[i].last;
    } else {
      r[++out] = r[i];
    }
  }
  return out + 1;
}

/* Appends one range to a list, merging the list first when it grew well past its size.
 * More separate ranges than a forced scan may hold addresses: ASR_ERR_TOO_LARGE (memory
 * stays bounded whatever a file holds). */
static asr_result push(asr_range **v, size_t *n, size_t *cap, size_t *merged, const asr_range *r)
{
  if (*n == *cap && *n >= 2 * *merged + MERGE_SLACK) {
    *n = merge(*v, *n);
    *merged = *n;
    if (*n > ASR_TARGETS_MAX_FORCED)
      return ASR_ERR_TOO_LARGE;
  }
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    asr_range *nv = realloc(*v, ncap * sizeof(*nv));

    if (!nv)
      return ASR_ERR_NOMEM;
    *v = nv;
    *cap = ncap;
  }
  (*v)[(*n)++] = *r;
  return ASR_OK;
}

/* ---- IPv4 text --------------------------------------------------------------------------- */

/* A decimal number at tp->p, no leading zero, at most maxv. */
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

/* "/n" after an IPv4 address: the block, network and broadcast skipped for n <= 30. */
static asr_result parse_cidr4(tparse *tp, uint32_t addr, asr_range *r)
{
  unsigned bits;
  asr_addr a = asr_addr_v4(addr);

  tp->p++;
  if (parse_dec(tp, 32, "prefix length out of range (0-32)", &bits))
    return ASR_ERR_TARGET;
  asr_addr_block(&a, bits, &r->first, &r->last);
  if (bits <= 30 && !tp->whole) {
    asr_addr_inc(&r->first);
    asr_addr_dec(&r->last);
  }
  return ASR_OK;
}

/* "-e.f.g.h" or "-N" after an IPv4 address. */
static asr_result parse_range4(tparse *tp, uint32_t addr, asr_range *r)
{
  const char *start = ++tp->p;
  const char *q = start;
  uint32_t last;
  unsigned v;

  while (*q >= '0' && *q <= '9')
    q++;
  if (*q == '.') {
    if (parse_quad(tp, &last))
      return ASR_ERR_TARGET;
  } else {
    if (parse_dec(tp, 255, "range end out of range (0-255)", &v))
      return ASR_ERR_TARGET;
    last = (addr & 0xffffff00U) | v;
  }
  if (last < addr)
    return terr(tp, start, "range end before start");
  r->last = asr_addr_v4(last);
  return ASR_OK;
}

static asr_result parse_v4(tparse *tp, asr_range *r)
{
  uint32_t addr;
  asr_result res = ASR_OK;

  if (parse_quad(tp, &addr))
    return ASR_ERR_TARGET;
  r->first = r->last = asr_addr_v4(addr);
  if (*tp->p == '/')
    res = parse_cidr4(tp, addr, r);
  else if (*tp->p == '-')
    res = parse_range4(tp, addr, r);
  return res;
}

/* ---- IPv6 text --------------------------------------------------------------------------- */

static asr_result parse_addr6(tparse *tp, asr_addr *a)
{
  const char *end, *why = NULL;

  if (*tp->p == '[')
    return terr(tp, tp->p, "write IPv6 addresses without brackets");
  if (asr_addr_parse6(tp->p, a, &end, &why) != ASR_OK)
    return terr(tp, end, why);
  tp->p = end;
  if (*tp->p == '%')
    return terr(tp, tp->p, "IPv6 zone index (%...) not supported");
  return ASR_OK;
}

static asr_result parse_v6(tparse *tp, asr_range *r)
{
  asr_addr a;
  unsigned bits;
  const char *start;

  if (parse_addr6(tp, &a))
    return ASR_ERR_TARGET;
  r->first = r->last = a;
  if (*tp->p == '/') {
    tp->p++;
    if (parse_dec(tp, 128, "prefix length out of range (0-128)", &bits))
      return ASR_ERR_TARGET;
    asr_addr_block(&a, bits, &r->first, &r->last);
  } else if (*tp->p == '-') {
    start = ++tp->p;
    if (parse_addr6(tp, &r->last))
      return ASR_ERR_TARGET;
    if (asr_addr_cmp(&r->last, &a) < 0)
      return terr(tp, start, "range end before start");
  }
  return ASR_OK;
}

/* Parses a numeric spec (IPv4 or IPv6) into one range. */
static asr_result parse_numeric(tparse *tp, asr_range *r)
{
  asr_result res = strchr(tp->spec, ':') ? parse_v6(tp, r) : parse_v4(tp, r);

  if (res)
    return res;
  if (*tp->p)
    return terr(tp, tp->p, "unexpected character after the target");
  return ASR_OK;
}

/* Numeric when it has a ':' (IPv6), or starts with digits then a dot (see targets.h); a
 * spec of digits and symbols only ("10", "10/8") too, to report its bad character. */
static int looks_numeric(const char *s)
{
  const char *p = s;

  if (strchr(s, ':') || *s == '[')
    return 1;
  while (*p >= '0' && *p <= '9')
    p++;
  if (p > s && *p == '.')
    return 1;
  return *s >= '0' && *s <= '9' &&
         !strpbrk(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

/* ---- host names ---------------------------------------------------------------------------- */

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

typedef asr_result (*range_fn)(void *ctx, const asr_range *r);

/* Resolves a host name (IPv4) and hands each address to fn. */
static asr_result resolve(tparse *tp, range_fn fn, void *ctx)
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
      asr_fmt_cut(tp->err, tp->n, "%s: %s", tp->spec, gai_strerror(rc));
    return ASR_ERR_RESOLVE;
  }
  for (struct addrinfo *ai = res; ai && !r; ai = ai->ai_next) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;
    asr_range one;

    if (ai->ai_family != AF_INET || ai->ai_addrlen < sizeof(*sin))
      continue;
    one.first = one.last = asr_addr_v4(ntohl(sin->sin_addr.s_addr));
    r = fn(ctx, &one);
  }
  freeaddrinfo(res);
  return r;
}

/* Parses spec (numeric or a host name) and hands its range(s) to fn. */
static asr_result each_range(tparse *tp, range_fn fn, void *ctx)
{
  asr_range r;

  if (*tp->spec == '\0')
    return terr(tp, tp->spec, "empty target");
  if (!looks_numeric(tp->spec))
    return resolve(tp, fn, ctx);
  if (parse_numeric(tp, &r))
    return ASR_ERR_TARGET;
  return fn(ctx, &r);
}

/* ---- adding ------------------------------------------------------------------------------ */

typedef struct {
  asr_targets *t;
  tparse *tp;
  int force;
} add_ctx;

/* Refuses a target larger than one scan may hold. */
static asr_result check_size(tparse *tp, const asr_range *r, int force)
{
  uint64_t count = asr_addr_span(&r->first, &r->last);

  if (r->first.family == ASR_AF_INET6) {
    if (count <= ASR_TARGETS_V6_MAX)
      return ASR_OK;
    if (tp->err && tp->n)
      asr_fmt_cut(tp->err, tp->n,
                  "%s: wider than an IPv6 /120: a scan takes at most %d IPv6 addresses a target",
                  tp->spec, ASR_TARGETS_V6_MAX);
    return ASR_ERR_TOO_LARGE;
  }
  if (count > ASR_TARGETS_MAX_FORCED) {
    asr_fmt_cut(tp->err, tp->n, "%s: %llu addresses: more than %d, even with --force", tp->spec,
                (unsigned long long)count, ASR_TARGETS_MAX_FORCED);
    return ASR_ERR_TOO_LARGE;
  }
  if (!force && count > ASR_TARGETS_MAX_UNFORCED) {
    asr_fmt_cut(tp->err, tp->n, "%s: %llu addresses: more than %d in all; use --force to scan them",
                tp->spec, (unsigned long long)count, ASR_TARGETS_MAX_UNFORCED);
    return ASR_ERR_TOO_LARGE;
  }
  return ASR_OK;
}

static asr_result too_many(tparse *tp, asr_result r)
{
  if (r == ASR_ERR_TOO_LARGE)
    asr_fmt_cut(tp->err, tp->n, "%s: more than %d separate targets", tp->spec,
                ASR_TARGETS_MAX_FORCED);
  return r;
}

static asr_result add_include(void *ctx, const asr_range *r)
{
  add_ctx *x = ctx;
  asr_targets *t = x->t;
  asr_result res = check_size(x->tp, r, x->force);

  if (res)
    return res;
  t->finished = 0;
  return too_many(x->tp, push(&t->inc, &t->n_inc, &t->cap_inc, &t->merged_inc, r));
}

static asr_result add_exclude(void *ctx, const asr_range *r)
{
  add_ctx *x = ctx;
  asr_targets *t = x->t;

  t->finished = 0;
  return too_many(x->tp, push(&t->exc, &t->n_exc, &t->cap_exc, &t->merged_exc, r));
}

asr_result asr_targets_add(asr_targets *t, const char *spec, int force, char *err, size_t n)
{
  tparse tp = {.spec = spec, .p = spec, .err = err, .n = n};
  add_ctx x = {.t = t, .tp = &tp, .force = force};

  if (err && n)
    err[0] = '\0';
  return each_range(&tp, add_include, &x);
}

asr_result asr_targets_exclude(asr_targets *t, const char *spec, char *err, size_t n)
{
  tparse tp = {.spec = spec, .p = spec, .err = err, .n = n, .whole = 1};
  add_ctx x = {.t = t, .tp = &tp};

  if (err && n)
    err[0] = '\0';
  return each_range(&tp, add_exclude, &x);
}

/* ---- files --------------------------------------------------------------------------------- */

typedef enum { L_OK, L_EOF, L_LONG, L_CONTROL } line_status;

/* Reads one line (without its newline or a trailing CR) into buf of ASR_TARGETS_LINE_MAX + 1. */
static line_status read_line(FILE *f, char *buf)
{
  size_t len = 0;
  int ch, bad = 0, any = 0;

  while ((ch = getc(f)) != EOF) {
    any = 1;
    if (ch == '\n')
      break;
    if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
      bad = 1;
    if (len == ASR_TARGETS_LINE_MAX) /* stop here: a line without end (/dev/zero) */
      return L_LONG;
    buf[len++] = (char)ch;
  }
  if (!any)
    return L_EOF;
  if (len > 0 && buf[len - 1] == '\r')
    len--;
  buf[len] = '\0';
  return bad || strchr(buf, '\r') ? L_CONTROL : L_OK;
}

/* The targets of one line (comment cut), each added; errors prefixed with name:line. */
static asr_result add_line(asr_targets *t, char *line, const char *name, unsigned no, int force,
                           char *err, size_t n)
{
  char why[512];

  for (char *c = line; *c; c++) {
    if (*c == '#' && (c == line || c[-1] == ' ' || c[-1] == '\t' || c[-1] == ',')) {
      *c = '\0';
      break;
    }
  }
  for (char *s = line; *s;) {
    size_t len = strcspn(s, " \t,");
    asr_result r;
    char keep = s[len];

    if (len > 0) {
      s[len] = '\0';
      r = asr_targets_add(t, s, force, why, sizeof(why));
      s[len] = keep;
      if (r) {
        asr_fmt_cut(err, n, "%s:%u: %s", name, no, why[0] ? why : asr_result_str(r));
        return r;
      }
    }
    s += len;
    s += strspn(s, " \t,");
  }
  return ASR_OK;
}

asr_result asr_targets_add_file(asr_targets *t, const char *name, FILE *f, int force, char *err,
                                size_t n)
{
  char *buf = malloc(ASR_TARGETS_LINE_MAX + 1);
  asr_result r = ASR_OK;
  line_status s;
  unsigned no = 0;

  if (err && n)
    err[0] = '\0';
  if (!buf)
    return ASR_ERR_NOMEM;
  while (!r && (s = read_line(f, buf)) != L_EOF) {
    no++;
    if (s == L_LONG) {
      asr_fmt_cut(err, n, "%s:%u: line longer than %d characters", name, no, ASR_TARGETS_LINE_MAX);
      r = ASR_ERR_PARSE;
    } else if (s == L_CONTROL) {
      asr_fmt_cut(err, n, "%s:%u: control character or NUL byte (is this a text file?)", name, no);
      r = ASR_ERR_PARSE;
    } else {
      r = add_line(t, buf, name, no, force, err, n);
    }
  }
  if (!r && ferror(f)) {
    asr_fmt_cut(err, n, "%s: read error", name);
    r = ASR_ERR_IO;
  }
  free(buf);
  return r;
}

/* ---- communities per target ------------------------------------------------------------------ */

static asr_target_communities *find_set(asr_targets *t, const char *spec)
{
  for (size_t i = 0; i < t->n_sets; i++) {
    if (strcmp(t->sets[i].spec, spec) == 0)
      return &t->sets[i];
  }
  return NULL;
}

static asr_result new_set(asr_targets *t, tparse *tp, asr_target_communities **out)
{
  asr_target_communities *set, *sets;
  asr_range r;

  if (strlen(tp->spec) >= ASR_TARGETS_SPEC_LEN)
    return terr(tp, tp->spec + ASR_TARGETS_SPEC_LEN - 1, "target too long");
  if (*tp->spec == '\0')
    return terr(tp, tp->spec, "empty target");
  if (!looks_numeric(tp->spec))
    return terr(tp, tp->spec, "an address, block or range is needed here, not a host name");
  if (parse_numeric(tp, &r))
    return ASR_ERR_TARGET;
  if (t->n_sets >= ASR_TARGETS_COMMUNITY_SETS) {
    asr_fmt_cut(tp->err, tp->n, "%s: more than %d targets with their own communities", tp->spec,
                ASR_TARGETS_COMMUNITY_SETS);
    return ASR_ERR_LIMIT;
  }
  sets = realloc(t->sets, (t->n_sets + 1) * sizeof(*sets));
  if (!sets)
    return ASR_ERR_NOMEM;
  t->sets = sets;
  set = &sets[t->n_sets++];
  memset(set, 0, sizeof(*set));
  asr_strlcpy_cut(set->spec, tp->spec, sizeof(set->spec)); /* length checked above */
  set->range = r;
  set->size = asr_addr_span(&r.first, &r.last);
  *out = set;
  return ASR_OK;
}

asr_result asr_targets_add_community(asr_targets *t, const char *spec, const char *community,
                                     char *err, size_t n)
{
  tparse tp = {.spec = spec, .p = spec, .err = err, .n = n, .whole = 1};
  asr_target_communities *set = find_set(t, spec);
  size_t clen = strlen(community);
  asr_result r;

  if (err && n)
    err[0] = '\0';
  if (clen == 0 || clen >= ASR_TARGETS_COMMUNITY_LEN) {
    asr_fmt_cut(err, n, "%s: a community is 1 to %d characters", spec,
                ASR_TARGETS_COMMUNITY_LEN - 1);
    return ASR_ERR_INVALID;
  }
  if (!set) {
    r = new_set(t, &tp, &set);
    if (r)
      return r;
  }
  if (set->n >= ASR_TARGETS_COMMUNITIES) {
    asr_fmt_cut(err, n, "%s: more than %d communities", spec, ASR_TARGETS_COMMUNITIES);
    return ASR_ERR_LIMIT;
  }
  memcpy(set->communities[set->n++], community, clen + 1);
  return ASR_OK;
}

const asr_target_communities *asr_targets_communities(const asr_targets *t, const asr_addr *a)
{
  const asr_target_communities *best = NULL;

  for (size_t i = 0; i < t->n_sets; i++) {
    const asr_target_communities *s = &t->sets[i];

    if (asr_addr_cmp(a, &s->range.first) < 0 || asr_addr_cmp(a, &s->range.last) > 0)
      continue;
    if (!best || s->size < best->size)
      best = s;
  }
  return best;
}

/* ---- finishing and walking ------------------------------------------------------------------ */

/* The targets less the exclusions (both merged) into t->scan. */
static asr_result subtract(asr_targets *t)
{
  size_t j = 0, out = 0;

  free(t->scan);
  t->scan = malloc((t->n_inc + t->n_exc + 1) * sizeof(*t->scan));
  if (!t->scan)
    return ASR_ERR_NOMEM;
  for (size_t i = 0; i < t->n_inc; i++) {
    const asr_range *r = &t->inc[i];
    asr_addr cur = r->first;
    int gone = 0;

    while (j < t->n_exc && asr_addr_cmp(&t->exc[j].last, &cur) < 0)
      j++;
    for (size_t k = j; !gone && k < t->n_exc && asr_addr_cmp(&t->exc[k].first, &r->last) <= 0;
         k++) {
      const asr_range *x = &t->exc[k];

      if (asr_addr_cmp(&x->first, &cur) > 0) {
        t->scan[out].first = cur;
        t->scan[out].last = x->first;
        asr_addr_dec(&t->scan[out++].last);
      }
      if (asr_addr_cmp(&x->last, &r->last) >= 0) {
        gone = 1;
      } else {
        cur = x->last;
        asr_addr_inc(&cur);
      }
    }
    if (!gone) {
      t->scan[out].first = cur;
      t->scan[out++].last = r->last;
    }
  }
  t->n_scan = out;
  return ASR_OK;
}

asr_result asr_targets_finish(asr_targets *t, int force, char *err, size_t n)
{
  uint64_t cap = force ? ASR_TARGETS_MAX_FORCED : ASR_TARGETS_MAX_UNFORCED;
  asr_result r;

  if (err && n)
    err[0] = '\0';
  t->n_inc = t->merged_inc = merge(t->inc, t->n_inc);
  t->n_exc = t->merged_exc = merge(t->exc, t->n_exc);
  r = subtract(t);
  if (r)
    return r;
  t->count = 0;
  for (size_t i = 0; i < t->n_scan; i++) {
    uint64_t c = asr_addr_span(&t->scan[i].first, &t->scan[i].last);

    t->count = c > UINT64_MAX - t->count ? UINT64_MAX : t->count + c;
  }
  t->finished = 1;
  if (t->count <= cap)
    return ASR_OK;
  if (force)
    asr_fmt_cut(err, n, "%llu addresses in all targets: more than %d, even with --force",
                (unsigned long long)t->count, ASR_TARGETS_MAX_FORCED);
  else
    asr_fmt_cut(err, n, "%llu addresses in all targets: more than %d; use --force to scan them",
                (unsigned long long)t->count, ASR_TARGETS_MAX_UNFORCED);
  return ASR_ERR_TOO_LARGE;
}

uint64_t asr_targets_count(const asr_targets *t)
{
  return t->finished ? t->count : 0;
}

void asr_targets_iter_init(asr_targets_iter *it)
{
  memset(it, 0, sizeof(*it));
}

int asr_targets_next(const asr_targets *t, asr_targets_iter *it, asr_addr *out)
{
  if (!t->finished || it->range >= t->n_scan)
    return 0;
  if (!it->started) {
    it->next = t->scan[it->range].first;
    it->started = 1;
  }
  *out = it->next;
  if (asr_addr_cmp(&it->next, &t->scan[it->range].last) == 0) {
    it->range++;
    it->started = 0;
  } else {
    asr_addr_inc(&it->next);
  }
  return 1;
}

int asr_targets_contains(const asr_targets *t, const asr_addr *a)
{
  size_t lo = 0, hi = t->finished ? t->n_scan : 0;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (asr_addr_cmp(a, &t->scan[mid].first) < 0)
      hi = mid;
    else if (asr_addr_cmp(a, &t->scan[mid].last) > 0)
      lo = mid + 1;
    else
      return 1;
  }
  return 0;
}

void asr_targets_free(asr_targets *t)
{
  if (!t)
    return;
  free(t->inc);
  free(t->exc);
  free(t->scan);
  free(t->sets);
  memset(t, 0, sizeof(*t));
}
