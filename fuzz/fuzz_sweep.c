/* fuzz/fuzz_sweep.c: libFuzzer target for what the network sends the sweep (snmp/sweep.c).
 *
 * A sweep of three addresses (127.0.0.1 with communities "public" then "private",
 * 127.0.0.2 as SNMPv1, ::1 with an SNMPv3 user) sends its probes into a fake network; the
 * input is then handed over as datagrams from each probed address and port (the first
 * byte picks how many pieces the rest is cut into), then the same with the request id of
 * the probe written over the first bytes of the input and, last, the probe itself turned
 * into an answer (its PDU tag made a Response's) with the input appended, which the sweep
 * must refuse (one message a datagram). net-snmp parses every datagram: this target is as
 * much about its parser as about the matching.
 *
 * Invariants: each address is answered at most once; answered + ignored equals the
 * datagrams given; a taken address is one of the three, with credentials of its own
 * target; the sweep finishes on the simulated clock. Built and run by scripts/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "snmp/sweep.h"

#define PROBES 16

typedef struct {
  asr_addr to[PROBES];
  uint16_t port[PROBES];
  uint8_t buf[PROBES][512];
  size_t len[PROBES], n;
} fakenet;

static asr_snmp_cred creds[4];
static asr_sweep_target targets[3];

static void fail(const char *what)
{
  fprintf(stderr, "fuzz invariant violated: %s\n", what);
  abort();
}

static asr_result fake_send(void *io, const asr_addr *to, uint16_t port, const uint8_t *buf,
                            size_t len)
{
  fakenet *f = io;

  if (len > sizeof(f->buf[0]))
    fail("a probe larger than 512 bytes");
  if (f->n < PROBES) {
    f->to[f->n] = *to;
    f->port[f->n] = port;
    memcpy(f->buf[f->n], buf, len);
    f->len[f->n++] = len;
  }
  return ASR_OK;
}

static int next_target(void *ctx, asr_sweep_target *t)
{
  size_t *i = ctx;

  if (*i >= 3)
    return 0;
  *t = targets[(*i)++];
  return 1;
}

static void setup(void)
{
  static int done;

  if (done)
    return;
  done = 1;
  asr_log_set_level(ASR_LOG_ERR);
  creds[0].version = ASR_SNMP_V2C;
  asr_strlcpy_cut(creds[0].community, "public", sizeof(creds[0].community));
  creds[1].version = ASR_SNMP_V2C;
  asr_strlcpy_cut(creds[1].community, "private", sizeof(creds[1].community));
  creds[2].version = ASR_SNMP_V1;
  asr_strlcpy_cut(creds[2].community, "public", sizeof(creds[2].community));
  creds[3].version = ASR_SNMP_V3;
  asr_strlcpy_cut(creds[3].user, "fuzz", sizeof(creds[3].user));
  targets[0] = (asr_sweep_target){asr_addr_v4(0x7f000001), 161, creds, 2};
  targets[1] = (asr_sweep_target){asr_addr_v4(0x7f000002), 1161, creds + 2, 1};
  asr_addr_parse("::1", &targets[2].addr);
  targets[2].port = 161;
  targets[2].creds = creds + 3;
  targets[2].n_creds = 1;
}

/* Offset of the PDU tag of a v1/v2c probe (short lengths: our probes are small). */
static size_t pdu_at(const uint8_t *b, size_t len)
{
  size_t i = 2;

  if (len < 8 || b[0] != 0x30 || b[1] >= 0x80 || b[i] != 0x02)
    return 0;
  i += 2 + b[i + 1]; /* version */
  if (i + 2 > len || b[i] != 0x04)
    return 0;
  i += 2 + b[i + 1]; /* community */
  return i < len ? i : 0;
}

static void feed(asr_sweep *s, const fakenet *net, const uint8_t *data, size_t size,
                 uint64_t *given)
{
  size_t pieces = size ? (size_t)(data[0] % 4) + 1 : 1, off = size ? 1 : 0;

  for (size_t p = 0; p < net->n; p++) {
    size_t left = size - off, step = left / pieces + 1;
    uint8_t *b = malloc(size + 520);

    if (!b)
      abort();
    for (size_t k = off; k < size; k += step) {
      size_t n = size - k < step ? size - k : step;

      asr_sweep_input(s, &net->to[p], net->port[p], data + k, n);
      (*given)++;
    }
    /* the probe's own request id over the first bytes: reaches the slot */
    memcpy(b, data, size);
    if (size >= 4 && net->len[p] >= 20) {
      size_t at = pdu_at(net->buf[p], net->len[p]);

      if (at && at + 8 <= net->len[p])
        memcpy(b, net->buf[p] + at + 4, 4);
      asr_sweep_input(s, &net->to[p], net->port[p], b, size);
      (*given)++;
    }
    /* the probe as an answer, with the input after it: never one message */
    memcpy(b, net->buf[p], net->len[p]);
    if (pdu_at(b, net->len[p]))
      b[pdu_at(b, net->len[p])] = 0xa2;
    memcpy(b + net->len[p], data, size);
    if (size > 0) {
      asr_sweep_input(s, &net->to[p], net->port[p], b, net->len[p] + size);
      (*given)++;
    }
    free(b);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static fakenet net;
  asr_sweep_opts o;
  asr_sweep_stats st;
  asr_sweep_target t;
  asr_sweep *s = NULL;
  size_t i = 0, cred, taken = 0;
  uint64_t given = 0;
  int64_t now = 0;

  setup();
  memset(&net, 0, sizeof(net));
  asr_sweep_opts_init(&o);
  o.timeout_ms = 100;
  o.retries = 1;
  if (asr_sweep_new(&o, next_target, &i, fake_send, &net, &s) != ASR_OK)
    abort();
  asr_sweep_step(s, now);
  feed(s, &net, data, size, &given);
  asr_sweep_get_stats(s, &st);
  if (st.answered > 3 || st.answered + st.ignored != given)
    fail("answered + ignored is not the datagrams given");
  while (asr_sweep_take(s, &t, &cred)) {
    int ours = 0;

    for (size_t k = 0; k < 3; k++)
      ours |= asr_addr_cmp(&t.addr, &targets[k].addr) == 0 && t.creds == targets[k].creds + cred &&
              cred < targets[k].n_creds;
    if (!ours)
      fail("a taken address or credential that was not given");
    taken++;
  }
  if (taken != st.answered)
    fail("taken differs from answered");
  while (!asr_sweep_finished(s) && now < 10000) {
    int64_t w = asr_sweep_step(s, now);

    now += w > 0 ? w : 1;
  }
  if (!asr_sweep_finished(s))
    fail("the sweep does not finish");
  asr_sweep_free(s);
  return 0;
}
