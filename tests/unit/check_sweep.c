/* check_sweep.c: snmp/sweep.c, the sweep engine, driven by a simulated clock and a fake
 * network: probes are captured instead of sent, and answers are made from them (a GET turned
 * into a Response by its PDU tag, as an agent's answer looks) or mangled the ways a hostile
 * host would. Nothing here sends a packet except test_run_silent, to 127.0.0.1 only. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/cred.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/sweep.h"

#define MAXSENT 4096

/* One captured datagram. */
typedef struct {
  asr_addr to;
  uint16_t port;
  uint8_t buf[512];
  size_t len;
  int64_t at;
} sent_dgram;

/* The fake network: what was sent, and how sends fail. */
typedef struct {
  sent_dgram *sent;
  size_t n;
  uint64_t count;          /* every send, also past MAXSENT */
  asr_addr fail_to;        /* sends to this address fail (family 0: none) */
  unsigned limit_next;     /* the next N sends answer "buffer full" */
  const asr_addr *exclude; /* a send to it fails the test */
  int64_t now;
} fakenet;

static fakenet net;

static asr_result fake_send(void *io, const asr_addr *to, uint16_t port, const uint8_t *buf,
                            size_t len)
{
  fakenet *f = io;

  if (f->limit_next > 0) {
    f->limit_next--;
    return ASR_ERR_LIMIT;
  }
  if (f->fail_to.family && asr_addr_cmp(to, &f->fail_to) == 0)
    return ASR_ERR_IO;
  ck_assert(!f->exclude || asr_addr_cmp(to, f->exclude) != 0);
  ck_assert_uint_le(len, sizeof(f->sent[0].buf));
  f->count++;
  if (f->n < MAXSENT) {
    sent_dgram *d = &f->sent[f->n++];

    d->to = *to;
    d->port = port;
    memcpy(d->buf, buf, len);
    d->len = len;
    d->at = f->now;
  }
  return ASR_OK;
}

/* Targets: count addresses from first, each with the same credentials. */
typedef struct {
  asr_addr next;
  uint64_t left;
  uint16_t port;
  const asr_snmp_cred *creds;
  size_t n_creds;
} gen;

static int gen_next(void *ctx, asr_sweep_target *t)
{
  gen *g = ctx;

  if (g->left == 0)
    return 0;
  t->addr = g->next;
  t->port = g->port;
  t->creds = g->creds;
  t->n_creds = g->n_creds;
  asr_addr_inc(&g->next);
  g->left--;
  return 1;
}

static asr_snmp_cred creds[3];

static void setup(void)
{
  memset(&net, 0, sizeof(net));
  net.sent = calloc(MAXSENT, sizeof(*net.sent));
  ck_assert_ptr_nonnull(net.sent);
  memset(creds, 0, sizeof(creds));
  creds[0].version = ASR_SNMP_V2C;
  ck_assert_int_eq(asr_strlcpy(creds[0].community, "public", sizeof(creds[0].community)), ASR_OK);
  creds[1].version = ASR_SNMP_V2C;
  ck_assert_int_eq(asr_strlcpy(creds[1].community, "private", sizeof(creds[1].community)), ASR_OK);
  creds[2].version = ASR_SNMP_V1;
  ck_assert_int_eq(asr_strlcpy(creds[2].community, "old", sizeof(creds[2].community)), ASR_OK);
}

static void teardown(void)
{
  free(net.sent);
}

static asr_addr ip4(const char *s)
{
  asr_addr a;

  ck_assert_int_eq(asr_addr_parse(s, &a), ASR_OK);
  return a;
}

static asr_sweep *new_sweep(gen *g, unsigned rate, unsigned timeout, unsigned retries)
{
  asr_sweep_opts o;
  asr_sweep *s = NULL;

  asr_sweep_opts_init(&o);
  o.rate = rate;
  o.timeout_ms = timeout;
  o.retries = retries;
  ck_assert_int_eq(asr_sweep_new(&o, gen_next, g, fake_send, &net, &s), ASR_OK);
  return s;
}

/* Steps the sweep on the simulated clock until it is finished or the clock reaches end. */
static void run_until(asr_sweep *s, int64_t end)
{
  while (net.now <= end && !asr_sweep_finished(s)) {
    int64_t w = asr_sweep_step(s, net.now);

    net.now += w > 0 ? w : 1;
  }
}

/* ---- reading our own probes (BER, just enough for the tests) --------------------------- */

/* The offset of the content of the TLV at i; its length in *len. */
static size_t tlv(const uint8_t *b, size_t i, size_t *len)
{
  size_t n;

  i++;
  if (b[i] < 0x80) {
    *len = b[i];
    return i + 1;
  }
  n = b[i] & 0x7f;
  *len = 0;
  for (size_t k = 1; k <= n; k++)
    *len = *len << 8 | b[i + k];
  return i + 1 + n;
}

/* Offsets in a v1/v2c message: the version's value, the community, the PDU tag, reqid. */
typedef struct {
  size_t version, community, community_len, pdu, reqid, reqid_len;
} msg_at;

static msg_at locate(const uint8_t *b)
{
  msg_at m;
  size_t len, i;

  ck_assert_uint_eq(b[0], 0x30);
  i = tlv(b, 0, &len);
  m.version = tlv(b, i, &len);
  i = m.version + len;
  m.community = tlv(b, i, &m.community_len);
  m.pdu = m.community + m.community_len;
  i = tlv(b, m.pdu, &len);
  m.reqid = tlv(b, i, &m.reqid_len);
  return m;
}

static int probe_version(const sent_dgram *d)
{
  return d->buf[locate(d->buf).version];
}

static int probe_has_community(const sent_dgram *d, const char *c)
{
  msg_at m = locate(d->buf);

  return m.community_len == strlen(c) && memcmp(d->buf + m.community, c, m.community_len) == 0;
}

static uint32_t probe_reqid(const sent_dgram *d)
{
  msg_at m = locate(d->buf);
  uint32_t v = 0;

  for (size_t k = 0; k < m.reqid_len; k++)
    v = v << 8 | d->buf[m.reqid + k];
  return v;
}

/* The answer an agent would send to probe d (the GET's PDU tag made a Response's). */
static void answer(asr_sweep *s, const sent_dgram *d)
{
  uint8_t b[512];

  memcpy(b, d->buf, d->len);
  b[locate(b).pdu] = 0xa2;
  asr_sweep_input(s, &d->to, d->port, b, d->len);
}

static uint64_t stat_of(asr_sweep *s, size_t off)
{
  asr_sweep_stats st;

  asr_sweep_get_stats(s, &st);
  return *(const uint64_t *)((const char *)&st + off);
}

#define STAT(s, f) stat_of((s), offsetof(asr_sweep_stats, f))

/* ---- the tests ---------------------------------------------------------------------------- */

START_TEST(test_pacing)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 500, .port = 1161, .creds = creds, .n_creds = 1};
  asr_sweep *s = new_sweep(&g, 1000, 10000, 0);
  int64_t w;

  /* at once: the burst (20 ms worth), then one a millisecond */
  w = asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 20);
  ck_assert_int_eq(w, 1);
  for (int64_t t = 1; t <= 200; t++)
    asr_sweep_step(s, t);
  ck_assert_uint_eq(net.n, 220);
  /* a late wake-up sends at most the burst, not all it missed */
  asr_sweep_step(s, 1200);
  ck_assert_uint_eq(net.n, 240);
  /* every address once, in order, to the port given, with the first community */
  for (size_t i = 0; i < net.n; i++) {
    asr_addr want = ip4("127.50.0.1");

    for (size_t k = 0; k < i; k++)
      asr_addr_inc(&want);
    ck_assert_int_eq(asr_addr_cmp(&net.sent[i].to, &want), 0);
    ck_assert_uint_eq(net.sent[i].port, 1161);
    ck_assert(probe_has_community(&net.sent[i], "public"));
    ck_assert_int_eq(probe_version(&net.sent[i]), 1); /* v2c */
  }
  asr_sweep_free(s);
}
END_TEST

START_TEST(test_retries_then_next_credential)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 1, .port = 161, .creds = creds, .n_creds = 3};
  asr_sweep *s = new_sweep(&g, 1000, 100, 1);

  run_until(s, 10000);
  ck_assert(asr_sweep_finished(s));
  /* two tries of each credential, in order, each timeout apart */
  ck_assert_uint_eq(net.n, 6);
  ck_assert(probe_has_community(&net.sent[0], "public"));
  ck_assert(probe_has_community(&net.sent[1], "public"));
  ck_assert(probe_has_community(&net.sent[2], "private"));
  ck_assert(probe_has_community(&net.sent[3], "private"));
  ck_assert(probe_has_community(&net.sent[4], "old"));
  ck_assert_int_eq(probe_version(&net.sent[4]), 0); /* SNMPv1 */
  for (size_t i = 1; i < 6; i++)
    ck_assert_int_eq(net.sent[i].at - net.sent[i - 1].at, 100);
  /* a retry keeps its request id; the next credential gets a new one */
  ck_assert_uint_eq(probe_reqid(&net.sent[0]), probe_reqid(&net.sent[1]));
  ck_assert_uint_ne(probe_reqid(&net.sent[1]), probe_reqid(&net.sent[2]));
  ck_assert_uint_eq(STAT(s, swept), 1);
  ck_assert_uint_eq(STAT(s, answered), 0);
  ck_assert_uint_eq(STAT(s, probes), 6);
  asr_sweep_free(s);
}
END_TEST

START_TEST(test_answer_matching)
{
  gen g = {.next = ip4("127.50.0.7"), .left = 1, .port = 1161, .creds = creds, .n_creds = 2};
  asr_sweep *s = new_sweep(&g, 1000, 1000, 1);
  asr_sweep_target t;
  uint8_t b[512];
  asr_addr other = ip4("127.50.0.8");
  sent_dgram d;
  size_t cred = 99, len;
  msg_at m;

  asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 1);
  d = net.sent[0];
  m = locate(d.buf);
  memcpy(b, d.buf, d.len);
  b[m.pdu] = 0xa2;
  /* right answer, wrong source port or address */
  asr_sweep_input(s, &d.to, 1162, b, d.len);
  ck_assert_uint_eq(STAT(s, answered), 0);
  asr_sweep_input(s, &other, 1161, b, d.len);
  ck_assert_uint_eq(STAT(s, answered), 0);
  /* wrong request id (same slot, other random bits) */
  b[m.reqid] ^= 0x10;
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  b[m.reqid] ^= 0x10;
  /* wrong community, wrong version */
  b[m.community] ^= 0x20;
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  b[m.community] ^= 0x20;
  ck_assert_uint_eq(STAT(s, answered), 0);
  b[m.version] = 0;
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  b[m.version] = 1;
  ck_assert_uint_eq(STAT(s, answered), 0);
  /* not a Response: our own GET, a Trap; cut short; garbage; empty; huge */
  asr_sweep_input(s, &d.to, 1161, d.buf, d.len);
  ck_assert_uint_eq(STAT(s, answered), 0);
  b[m.pdu] = 0xa7;
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  b[m.pdu] = 0xa2;
  ck_assert_uint_eq(STAT(s, answered), 0);
  asr_sweep_input(s, &d.to, 1161, b, d.len - 3);
  ck_assert_uint_eq(STAT(s, answered), 0);
  asr_sweep_input(s, &d.to, 1161, (const uint8_t *)"\x30\x84\xff\xff\xff\xff", 6);
  asr_sweep_input(s, &d.to, 1161, b, 0);
  {
    uint8_t *big = calloc(1, 70000);

    memcpy(big, b, d.len);
    asr_sweep_input(s, &d.to, 1161, big, 70000);
    asr_sweep_input(s, &d.to, 1161, big, 65000); /* the answer, then padding */
    asr_sweep_input(s, &d.to, 1161, big, d.len + 1);
    free(big);
  }
  ck_assert_uint_eq(STAT(s, answered), 0);
  ck_assert_uint_eq(STAT(s, ignored), 13);
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 0);
  /* the right answer counts, once */
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  asr_sweep_input(s, &d.to, 1161, b, d.len);
  ck_assert_uint_eq(STAT(s, answered), 1);
  ck_assert_uint_eq(STAT(s, ignored), 14);
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 1);
  ck_assert_uint_eq(cred, 0);
  ck_assert_int_eq(asr_addr_cmp(&t.addr, &d.to), 0);
  ck_assert_uint_eq(t.port, 1161);
  ck_assert_ptr_eq(t.creds, creds);
  ck_assert_uint_eq(t.n_creds, 2);
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 0);
  (void)len;
  run_until(s, 5000);
  ck_assert(asr_sweep_finished(s));
  ck_assert_uint_eq(net.n, 1); /* answered: no retry */
  asr_sweep_free(s);
}
END_TEST

START_TEST(test_late_answers)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 2, .port = 161, .creds = creds, .n_creds = 2};
  asr_sweep *s = new_sweep(&g, 1000, 100, 1);
  asr_sweep_target t;
  size_t cred;

  asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 2);
  net.now = 100;
  asr_sweep_step(s, 100); /* both retried, same ids */
  ck_assert_uint_eq(net.n, 4);
  /* the first try's answer arrives after the retry went out: it counts */
  answer(s, &net.sent[0]);
  ck_assert_uint_eq(STAT(s, answered), 1);
  /* the second address moves to its next credential; an answer for the first one is late */
  net.now = 200;
  asr_sweep_step(s, 200);
  ck_assert_uint_eq(net.n, 5);
  ck_assert(probe_has_community(&net.sent[4], "private"));
  answer(s, &net.sent[1]);
  ck_assert_uint_eq(STAT(s, answered), 1);
  answer(s, &net.sent[4]);
  ck_assert_uint_eq(STAT(s, answered), 2);
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 1);
  ck_assert_uint_eq(cred, 0);
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 1);
  ck_assert_uint_eq(cred, 1); /* from the credential that answered */
  ck_assert_ptr_eq(t.creds, creds + 1);
  ck_assert_uint_eq(t.n_creds, 1);
  ck_assert(asr_sweep_step(s, 200) < 0 || asr_sweep_finished(s));
  run_until(s, 1000);
  ck_assert(asr_sweep_finished(s));
  asr_sweep_free(s);
}
END_TEST

/* A /16 of silence with the defaults: bounded, every address asked twice, done in time. */
START_TEST(test_wide_range_bounded)
{
  gen g = {.next = ip4("127.51.0.0"), .left = 65536, .port = 161, .creds = creds, .n_creds = 1};
  asr_sweep_opts o;
  asr_sweep *s;
  asr_sweep_stats st;

  asr_sweep_opts_init(&o);
  ck_assert_int_eq(asr_sweep_new(&o, gen_next, &g, fake_send, &net, &s), ASR_OK);
  ck_assert_uint_le(asr_sweep_slots(s), ASR_SWEEP_SLOTS_MAX);
  run_until(s, 600000);
  ck_assert(asr_sweep_finished(s));
  asr_sweep_get_stats(s, &st);
  ck_assert_uint_eq(st.swept, 65536);
  ck_assert_uint_eq(st.probes, 2 * 65536);
  ck_assert_uint_eq(net.count, 2 * 65536);
  ck_assert_uint_le(st.peak, ASR_SWEEP_SLOTS_MAX);
  ck_assert_uint_eq(st.in_flight, 0);
  /* 131,072 probes at 20,000 a second; the last addresses then wait two timeouts: 8.3 s */
  ck_assert_int_le(net.now, 131072 / 20 + 2000 + 50);
  asr_sweep_free(s);
}
END_TEST

/* Slots bound what is in flight; answered addresses hold theirs until taken. */
START_TEST(test_slots_backpressure)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 10, .port = 161, .creds = creds, .n_creds = 1};
  asr_sweep_opts o;
  asr_sweep *s;
  asr_sweep_target t;
  size_t cred;

  asr_sweep_opts_init(&o);
  o.slots = 3;
  ck_assert_int_eq(asr_sweep_new(&o, gen_next, &g, fake_send, &net, &s), ASR_OK);
  ck_assert_uint_eq(asr_sweep_slots(s), 3);
  asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 3);
  for (size_t i = 0; i < 3; i++)
    answer(s, &net.sent[i]);
  asr_sweep_step(s, 1);
  ck_assert_uint_eq(net.n, 3); /* all three slots wait for the detail phase */
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 1);
  asr_sweep_step(s, 2);
  ck_assert_uint_eq(net.n, 4);
  ck_assert_uint_eq(STAT(s, peak), 3);
  asr_sweep_free(s);
}
END_TEST

START_TEST(test_send_failures)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 3, .port = 161, .creds = creds, .n_creds = 1};
  asr_sweep *s = new_sweep(&g, 1000, 100, 0);

  net.fail_to = ip4("127.50.0.2");
  net.limit_next = 2;
  asr_sweep_step(s, 0); /* buffer full: nothing sent, nothing lost */
  ck_assert_uint_eq(net.n, 0);
  run_until(s, 5000);
  ck_assert(asr_sweep_finished(s));
  ck_assert_uint_eq(net.n, 2); /* .1 and .3 */
  ck_assert_uint_eq(STAT(s, unreachable), 1);
  ck_assert_uint_eq(STAT(s, swept), 3);
  asr_sweep_free(s);
}
END_TEST

START_TEST(test_ipv6_and_v3)
{
  asr_snmp_cred v3[2];
  gen g = {.port = 161, .creds = v3, .n_creds = 2, .left = 4};
  asr_sweep *s;
  const sent_dgram *d;
  size_t len, i;

  memset(v3, 0, sizeof(v3));
  v3[0].version = ASR_SNMP_V3;
  ck_assert_int_eq(asr_strlcpy(v3[0].user, "admin", sizeof(v3[0].user)), ASR_OK);
  v3[1] = creds[0];
  ck_assert_int_eq(asr_addr_parse("fd00::fe", &g.next), ASR_OK);
  s = new_sweep(&g, 1000, 100, 0);
  asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 4);
  d = &net.sent[2];
  ck_assert_uint_eq(d->to.family, ASR_AF_INET6);
  ck_assert_uint_eq(d->to.b[14], 1); /* fd00::100: carried */
  /* an SNMPv3 message: version 3, then the header whose flags ask for a report, no auth */
  i = tlv(d->buf, 0, &len);
  i = tlv(d->buf, i, &len);
  ck_assert_uint_eq(d->buf[i], 3);
  i += len;
  i = tlv(d->buf, i, &len); /* msgGlobalData */
  {
    size_t j = i, l2;

    j = tlv(d->buf, j, &l2) + l2; /* msgID */
    j = tlv(d->buf, j, &l2) + l2; /* msgMaxSize */
    j = tlv(d->buf, j, &l2);      /* msgFlags */
    ck_assert_uint_eq(l2, 1);
    ck_assert_uint_eq(d->buf[j], 0x04);
  }
  for (size_t k = 0; k + 5 <= d->len; k++) /* no user name in a discovery */
    ck_assert(memcmp(d->buf + k, "admin", 5) != 0);
  /* silent to v3: the next credential (v2c), then an answer from the IPv6 source */
  run_until(s, 150);
  ck_assert_uint_eq(net.n, 8);
  ck_assert(probe_has_community(&net.sent[4], "public"));
  answer(s, &net.sent[5]);
  ck_assert_uint_eq(STAT(s, answered), 1);
  asr_sweep_free(s);
}
END_TEST

/* A stop drops what is in flight and takes no more targets. */
START_TEST(test_stop)
{
  gen g = {.next = ip4("127.50.0.1"), .left = 1000, .port = 161, .creds = creds, .n_creds = 1};
  asr_sweep *s = new_sweep(&g, 1000, 1000, 1);
  asr_sweep_target t;
  size_t cred;

  asr_sweep_step(s, 0);
  ck_assert_uint_eq(net.n, 20);
  answer(s, &net.sent[3]);
  asr_sweep_stop(s);
  ck_assert(asr_sweep_finished(s));
  ck_assert_int_eq(asr_sweep_take(s, &t, &cred), 0);
  ck_assert_uint_eq(STAT(s, abandoned), 20);
  ck_assert_uint_eq(STAT(s, in_flight), 0);
  run_until(s, 5000);
  ck_assert_uint_eq(net.n, 20);
  ck_assert_uint_eq(g.left, 980);
  asr_sweep_free(s);
}
END_TEST

/* The real thing on loopback: a closed port answers nothing (or an ICMP error), the run
 * ends after the tries, with the address counted. */
START_TEST(test_run_silent)
{
  gen g = {.next = ip4("127.0.0.1"), .left = 1, .port = 9, .creds = creds, .n_creds = 1};
  asr_sweep_opts o;
  asr_scan_opts so;
  asr_sweep_stats st;

  ck_assert_int_eq(asr_platform_init(), ASR_OK); /* Winsock */
  asr_sweep_opts_init(&o);
  o.timeout_ms = 100;
  o.retries = 1;
  asr_scan_opts_init(&so);
  so.timeout_ms = 100;
  ck_assert_int_eq(asr_sweep_run(gen_next, &g, 1, &o, &so, NULL, NULL, NULL, &st), ASR_OK);
  ck_assert_uint_eq(st.swept, 1);
  ck_assert_uint_eq(st.answered, 0);
  ck_assert_uint_eq(st.probes, 2);
  ck_assert_uint_eq(st.total, 1);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sweep");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_pacing);
  tcase_add_test(tc, test_retries_then_next_credential);
  tcase_add_test(tc, test_answer_matching);
  tcase_add_test(tc, test_late_answers);
  tcase_add_test(tc, test_wide_range_bounded);
  tcase_add_test(tc, test_slots_backpressure);
  tcase_add_test(tc, test_send_failures);
  tcase_add_test(tc, test_ipv6_and_v3);
  tcase_add_test(tc, test_stop);
  tcase_add_test(tc, test_run_silent);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
