/* sweep.c: the sweep, discovery's first phase (see sweep.h).
 *
 * Why it looks like this. The detail engine (scan.c) holds a net-snmp session and a socket
 * for every host in flight, so a wide range is bound by descriptors, not by the network:
 * a /16 took minutes. The sweep asks each address one small question from one socket per
 * family and only hands the addresses that answered to the detail engine.
 *
 * Every address in flight has a slot in a fixed table. A slot is on exactly one list:
 *
 *   free -> (probe sent) pending -> (timeout) due -> (probe sent) pending -> ...
 *                         pending or due -> (answer) answered -> (taken) free
 *                         pending -> (last try of the last credential timed out) free
 *
 * `pending` is in deadline order for free: every probe waits the same timeout, and the clock
 * only goes forward, so a probe sent later times out later. `due` holds the retries (and the
 * first probe of the next credential) waiting for the rate; they go before new addresses, so
 * that a retry is not late because new addresses took the rate.
 *
 * Matching. A probe's request id (the msgID too, for SNMPv3) is random high bits above the
 * slot's index: an answer finds its slot in O(1), and is taken only when the slot's current
 * id, address, port, SNMP version and community all match. The id is kept across the tries
 * of one credential, so a late answer to the first try still counts after the retry was
 * sent. Anything else that arrives (garbage, answers from elsewhere or for an earlier
 * credential, duplicates, requests) is counted as ignored.
 *
 * The rate is a token bucket in thousandths of a probe: `rate` of them accrue every
 * millisecond, up to 20 ms worth, so a late wake-up still sends in a short burst. */
#include "snmp/sweep.h"

#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

/* net-snmp #defines these PDU field names; asr_scan_opts has a field of that name */
#undef max_repetitions
#undef non_repeaters

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

#define NIL UINT32_MAX
#define SWEEP_SLOTS_MIN 64
#define SWEEP_PROBE_MAX 512    /* a probe: header, community (< 128 bytes), one varbind */
#define SWEEP_DGRAM_MAX 65536  /* the largest UDP payload, and then some */
#define SWEEP_BURST_MS 20      /* tokens kept for a late wake-up */
#define SWEEP_CREDS_MAX 0xffff /* credentials a target may list */

/* sysObjectID.0: every SNMP agent has it (RFC 3418); the v1/v2c probe asks for it */
static const oid sys_object_id[] = {1, 3, 6, 1, 2, 1, 1, 2, 0};

enum { SL_FREE, SL_PENDING, SL_DUE, SL_ANSWERED };

typedef struct {
  uint32_t head, tail;
  size_t n;
} slist;

/* One address in flight. */
typedef struct {
  asr_sweep_target t;
  int64_t deadline; /* when the probe in flight times out (SL_PENDING) */
  uint32_t reqid;   /* of the current credential's probes */
  uint32_t prev, next;
  uint16_t cred;  /* index of the credential being tried */
  uint8_t tries;  /* probes sent with it */
  uint8_t state;  /* SL_* */
  uint8_t has_v3; /* one of its credentials is SNMPv3 */
} slot;

struct asr_sweep {
  asr_sweep_opts o;
  asr_sweep_next_fn next;
  void *next_ctx;
  asr_sweep_send_fn send;
  void *io;
  slot *slots;
  size_t nslots; /* table size (a power of two) */
  size_t limit;  /* slots in use at most */
  size_t in_use;
  size_t v3_slots; /* slots in flight with an SNMPv3 credential */
  uint32_t mask;   /* nslots - 1 */
  slist lists[4];  /* by state: free, pending, due, answered */
  int exhausted;   /* next said there are no more targets */
  int64_t now, blocked_until;
  int64_t tokens, burst; /* thousandths of a probe */
  uint64_t rng;
  asr_sweep_stats st;
  netsnmp_session sess; /* only for snmp_build / snmp_parse: never opened */
  uint8_t scratch[SWEEP_DGRAM_MAX];
};

void asr_sweep_opts_init(asr_sweep_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->rate = ASR_SWEEP_RATE_DEFAULT;
  o->timeout_ms = 1000;
  o->retries = 1;
}

/* ---- lists of slots ------------------------------------------------------------------- */

static void l_push(asr_sweep *s, uint32_t i, int state)
{
  slist *l = &s->lists[state];
  slot *x = &s->slots[i];

  x->state = (uint8_t)state;
  x->next = NIL;
  x->prev = l->tail;
  if (l->tail != NIL)
    s->slots[l->tail].next = i;
  else
    l->head = i;
  l->tail = i;
  l->n++;
}

static void l_push_front(asr_sweep *s, uint32_t i, int state)
{
  slist *l = &s->lists[state];
  slot *x = &s->slots[i];

  x->state = (uint8_t)state;
  x->prev = NIL;
  x->next = l->head;
  if (l->head != NIL)
    s->slots[l->head].prev = i;
  else
    l->tail = i;
  l->head = i;
  l->n++;
}

static void l_unlink(asr_sweep *s, uint32_t i)
{
  slot *x = &s->slots[i];
  slist *l = &s->lists[x->state];

  if (x->prev != NIL)
    s->slots[x->prev].next = x->next;
  else
    l->head = x->next;
  if (x->next != NIL)
    s->slots[x->next].prev = x->prev;
  else
    l->tail = x->prev;
  x->prev = x->next = NIL;
  l->n--;
}

static uint32_t l_pop(asr_sweep *s, int state)
{
  uint32_t i = s->lists[state].head;

  if (i != NIL)
    l_unlink(s, i);
  return i;
}

/* Ends the SNMPv3 part of a slot (answered, or done with). */
static void end_v3(asr_sweep *s, uint32_t i)
{
  if (s->slots[i].has_v3) {
    s->slots[i].has_v3 = 0;
    s->v3_slots--;
  }
}

static void release(asr_sweep *s, uint32_t i)
{
  end_v3(s, i);
  memset(&s->slots[i].t, 0, sizeof(s->slots[i].t));
  l_push(s, i, SL_FREE);
  s->in_use--;
}

/* ---- ids and the rate ----------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
  uint64_t x = (*state += UINT64_C(0x9E3779B97F4A7C15));

  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* A fresh request id for slot i: random bits above the index, positive (31 bits). */
static uint32_t new_id(asr_sweep *s, uint32_t i)
{
  uint32_t r = (uint32_t)(splitmix64(&s->rng) >> 32);

  return ((r & ~s->mask) | i) & 0x7fffffffU;
}

static void refill(asr_sweep *s, int64_t now)
{
  int64_t elapsed = now - s->now;

  if (elapsed <= 0)
    return;
  s->now = now;
  if (elapsed > SWEEP_BURST_MS)
    elapsed = SWEEP_BURST_MS;
  s->tokens += elapsed * (int64_t)s->o.rate;
  if (s->tokens > s->burst)
    s->tokens = s->burst;
}

/* ---- PDUs (net-snmp) ------------------------------------------------------------------ */

/* Builds the probe of credential c with id into buf; its length, or 0 when it cannot be
 * built. v1/v2c: GET sysObjectID.0; v3: the empty unauthenticated GET of engine-ID
 * discovery (RFC 3414 4), whose Report carries the engine ID. */
static size_t build_probe(asr_sweep *s, const asr_snmp_cred *c, uint32_t id, uint8_t *buf,
                          size_t cap)
{
  netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
  u_char *p = buf;
  size_t len = cap, offset = 0;
  int rc = -1;

  if (!pdu)
    return 0;
  pdu->reqid = id;
  pdu->msgid = id;
  pdu->flags |= UCD_MSG_FLAG_FORWARD_ENCODE; /* into buf, from its start */
  if (c->version == ASR_SNMP_V3) {
    pdu->version = SNMP_VERSION_3;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    pdu->securityName = strdup("");
    pdu->contextName = strdup("");
    if (!pdu->securityName || !pdu->contextName)
      goto out;
  } else {
    pdu->version = c->version == ASR_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
    pdu->community_len = strlen(c->community);
    pdu->community = netsnmp_memdup(c->community, pdu->community_len + 1);
    if (!pdu->community || !snmp_add_null_var(pdu, sys_object_id, OID_LENGTH(sys_object_id)))
      goto out;
  }
  rc = snmp_build(&p, &len, &offset, &s->sess, pdu);
out:
  snmp_free_pdu(pdu);
  if (rc != 0 || p != buf || len > cap) {
    asr_log(ASR_LOG_DEBUG, "sweep: cannot build a probe: %s",
            snmp_api_errstring(s->sess.s_snmp_errno));
    return 0;
  }
  return len;
}

/* The version field of a message (net-snmp's ASN.1 reader), -1 when there is none. */
static long msg_version(u_char *data, size_t len)
{
  u_char type = 0;
  long version = -1;
  size_t left = len;
  u_char *p = asn_parse_sequence(data, &left, &type, ASN_SEQUENCE | ASN_CONSTRUCTOR, "message");

  if (p)
    p = asn_parse_int(p, &left, &type, &version, sizeof(version));
  return p && type == ASN_INTEGER ? version : -1;
}

/* Parses a datagram with net-snmp (its version read from the message); NULL when it is not
 * one well-formed SNMP message, or an SNMPv3 one while no SNMPv3 probe is out: parsing one
 * makes net-snmp keep a record of its engine ID, which a flood of forged ones would grow. */
static netsnmp_pdu *parse(asr_sweep *s, size_t len)
{
  netsnmp_pdu *pdu;
  long version;

  /* exactly one message: an answer with bytes after it is not an agent's */
  if (asn_check_packet(s->scratch, len) != (int)len)
    return NULL;
  version = msg_version(s->scratch, len);
  if (version < 0 || (version == SNMP_VERSION_3 && s->v3_slots == 0))
    return NULL;
  pdu = calloc(1, sizeof(*pdu));
  if (!pdu)
    return NULL;
  s->sess.version = SNMP_DEFAULT_VERSION;
  if (snmp_parse(NULL, &s->sess, pdu, s->scratch, len) != 0) {
    snmp_free_pdu(pdu);
    return NULL;
  }
  return pdu;
}

/* True when pdu is the answer credential c's probe expects. */
static int answer_fits(const asr_snmp_cred *c, const netsnmp_pdu *pdu)
{
  size_t clen;

  if (c->version == ASR_SNMP_V3)
    return pdu->version == SNMP_VERSION_3 &&
           (pdu->command == SNMP_MSG_REPORT || pdu->command == SNMP_MSG_RESPONSE);
  if (pdu->version != (c->version == ASR_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c) ||
      pdu->command != SNMP_MSG_RESPONSE)
    return 0;
  clen = strlen(c->community);
  return pdu->community_len == clen &&
         (clen == 0 || memcmp(pdu->community, c->community, clen) == 0);
}

/* The slot pdu answers, NIL when none. */
static uint32_t match(const asr_sweep *s, const netsnmp_pdu *pdu, const asr_addr *from,
                      uint16_t port)
{
  uint32_t id = pdu->version == SNMP_VERSION_3 ? (uint32_t)pdu->msgid : (uint32_t)pdu->reqid;
  uint32_t i = id & s->mask;
  const slot *x = &s->slots[i];

  if (x->state != SL_PENDING && x->state != SL_DUE)
    return NIL;
  if (x->reqid != id && !(pdu->version == SNMP_VERSION_3 && x->reqid == (uint32_t)pdu->reqid))
    return NIL;
  if (x->t.port != port || asr_addr_cmp(&x->t.addr, from) != 0)
    return NIL;
  return answer_fits(&x->t.creds[x->cred], pdu) ? i : NIL;
}

/* ---- the engine ----------------------------------------------------------------------- */

static size_t pick_slots(const asr_sweep_opts *o, size_t *limit)
{
  uint64_t want = o->slots;
  size_t n = SWEEP_SLOTS_MIN;

  if (!want) /* rate x timeout on average (Little), twice that while retries come in waves */
    want = (uint64_t)o->rate * o->timeout_ms / 1000 * 2;
  if (want < 1)
    want = 1;
  if (want > ASR_SWEEP_SLOTS_MAX)
    want = ASR_SWEEP_SLOTS_MAX;
  if (!o->slots && want < SWEEP_SLOTS_MIN)
    want = SWEEP_SLOTS_MIN;
  while (n < want)
    n *= 2;
  *limit = (size_t)want;
  return n;
}

static void sweep_opts(asr_sweep_opts *o, const asr_sweep_opts *in)
{
  if (in)
    *o = *in;
  else
    asr_sweep_opts_init(o);
  if (o->rate == 0)
    o->rate = ASR_SWEEP_RATE_DEFAULT;
  if (o->rate > ASR_SWEEP_RATE_MAX)
    o->rate = ASR_SWEEP_RATE_MAX;
  if (o->timeout_ms == 0)
    o->timeout_ms = 1000;
  if (o->retries > 10)
    o->retries = 10;
}

asr_result asr_sweep_new(const asr_sweep_opts *o, asr_sweep_next_fn next, void *next_ctx,
                         asr_sweep_send_fn send, void *io, asr_sweep **out)
{
  asr_sweep *s;

  *out = NULL;
  if (!next || !send)
    return ASR_ERR_INVALID;
  if (asr_scan_init() != ASR_OK) /* net-snmp, with its security models */
    return ASR_ERR_SNMP;
  s = calloc(1, sizeof(*s));
  if (!s)
    return ASR_ERR_NOMEM;
  sweep_opts(&s->o, o);
  s->nslots = pick_slots(&s->o, &s->limit);
  s->mask = (uint32_t)(s->nslots - 1);
  s->slots = calloc(s->nslots, sizeof(*s->slots));
  if (!s->slots) {
    free(s);
    return ASR_ERR_NOMEM;
  }
  for (int l = 0; l < 4; l++)
    s->lists[l].head = s->lists[l].tail = NIL;
  for (size_t i = 0; i < s->nslots; i++)
    l_push(s, (uint32_t)i, SL_FREE);
  s->next = next;
  s->next_ctx = next_ctx;
  s->send = send;
  s->io = io;
  s->burst = (int64_t)s->o.rate * SWEEP_BURST_MS;
  if (s->burst < 1000)
    s->burst = 1000;
  s->tokens = s->burst;
  s->now = INT64_MIN;
  s->rng = (uint64_t)asr_monotonic_ms() ^ ((uint64_t)asr_now() << 20) ^ (uint64_t)(uintptr_t)s;
  snmp_sess_init(&s->sess);
  *out = s;
  return ASR_OK;
}

/* Takes the next usable target from the caller into a free slot; NIL when there is none. */
static uint32_t admit(asr_sweep *s)
{
  asr_sweep_target t;
  uint32_t i;

  if (s->exhausted || s->in_use >= s->limit)
    return NIL;
  for (;;) {
    if (!s->next(s->next_ctx, &t)) {
      s->exhausted = 1;
      return NIL;
    }
    if (t.creds && t.n_creds > 0 && t.n_creds <= SWEEP_CREDS_MAX &&
        (t.addr.family == ASR_AF_INET || t.addr.family == ASR_AF_INET6))
      break;
    s->st.swept++; /* nothing to ask it with: done at once */
  }
  i = l_pop(s, SL_FREE);
  if (++s->in_use > s->st.peak)
    s->st.peak = s->in_use;
  s->slots[i].t = t;
  s->slots[i].cred = 0;
  s->slots[i].tries = 0;
  s->slots[i].reqid = new_id(s, i);
  for (size_t c = 0; c < t.n_creds && !s->slots[i].has_v3; c++)
    s->slots[i].has_v3 = t.creds[c].version == ASR_SNMP_V3;
  s->v3_slots += s->slots[i].has_v3;
  return i;
}

/* Sends slot i's probe; ASR_ERR_LIMIT to try again later, another error: unreachable. */
static asr_result send_probe(asr_sweep *s, uint32_t i)
{
  slot *x = &s->slots[i];
  uint8_t buf[SWEEP_PROBE_MAX];
  size_t len = build_probe(s, &x->t.creds[x->cred], x->reqid, buf, sizeof(buf));
  asr_result r;

  if (len == 0)
    return ASR_ERR_SNMP;
  r = s->send(s->io, &x->t.addr, x->t.port, buf, len);
  if (r)
    return r;
  x->tries++;
  x->deadline = s->now + (int64_t)s->o.timeout_ms;
  l_push(s, i, SL_PENDING);
  s->st.probes++;
  return ASR_OK;
}

static void unreachable(asr_sweep *s, uint32_t i, asr_result r)
{
  char a[ASR_ADDR_STRLEN];

  asr_addr_format(&s->slots[i].t.addr, a, sizeof(a));
  asr_log(ASR_LOG_DEBUG, "sweep: %s: cannot send a probe: %s", a, asr_result_str(r));
  s->st.unreachable++;
  s->st.swept++;
  release(s, i);
}

/* Sends due probes first, then new addresses, as long as the rate allows. */
static void send_some(asr_sweep *s)
{
  while (s->tokens >= 1000 && s->blocked_until <= s->now) {
    uint32_t i = l_pop(s, SL_DUE);
    asr_result r;

    if (i == NIL)
      i = admit(s);
    if (i == NIL)
      return;
    r = send_probe(s, i);
    if (r == ASR_ERR_LIMIT) { /* the socket's buffer is full: wait a little */
      l_push_front(s, i, SL_DUE);
      s->blocked_until = s->now + 1;
      return;
    }
    if (r) {
      unreachable(s, i, r);
      continue;
    }
    s->tokens -= 1000;
  }
}

/* Probes whose timeout passed: another try, the next credential, or silent. */
static void expire(asr_sweep *s)
{
  for (;;) {
    uint32_t i = s->lists[SL_PENDING].head;
    slot *x;

    if (i == NIL || s->slots[i].deadline > s->now)
      return;
    l_unlink(s, i);
    x = &s->slots[i];
    if (x->tries <= s->o.retries) {
      l_push(s, i, SL_DUE);
    } else if ((size_t)x->cred + 1 < x->t.n_creds) {
      x->cred++;
      x->tries = 0;
      x->reqid = new_id(s, i);
      l_push(s, i, SL_DUE);
    } else {
      s->st.swept++;
      release(s, i);
    }
  }
}

static int64_t wake_after(const asr_sweep *s)
{
  int64_t w = -1, t;
  uint32_t head = s->lists[SL_PENDING].head;
  int want = s->lists[SL_DUE].n > 0 || (!s->exhausted && s->in_use < s->limit);

  if (head != NIL)
    w = s->slots[head].deadline > s->now ? s->slots[head].deadline - s->now : 0;
  if (!want)
    return w;
  if (s->blocked_until > s->now)
    t = s->blocked_until - s->now;
  else if (s->tokens < 1000)
    t = (1000 - s->tokens + s->o.rate - 1) / s->o.rate;
  else
    t = 0;
  return w < 0 || t < w ? t : w;
}

int64_t asr_sweep_step(asr_sweep *s, int64_t now)
{
  if (s->now == INT64_MIN)
    s->now = now;
  refill(s, now);
  expire(s);
  send_some(s);
  return wake_after(s);
}

void asr_sweep_input(asr_sweep *s, const asr_addr *from, uint16_t port, const uint8_t *buf,
                     size_t len)
{
  netsnmp_pdu *pdu;
  uint32_t i;

  if (len == 0 || len > sizeof(s->scratch)) {
    s->st.ignored++;
    return;
  }
  memcpy(s->scratch, buf, len); /* net-snmp parses in place */
  pdu = parse(s, len);
  i = pdu ? match(s, pdu, from, port) : NIL;
  snmp_free_pdu(pdu);
  if (i == NIL) {
    s->st.ignored++;
    return;
  }
  l_unlink(s, i);
  l_push(s, i, SL_ANSWERED);
  end_v3(s, i);
  s->st.answered++;
  s->st.swept++;
}

int asr_sweep_take(asr_sweep *s, asr_sweep_target *t, size_t *cred)
{
  uint32_t i = l_pop(s, SL_ANSWERED);
  const slot *x;

  if (i == NIL)
    return 0;
  x = &s->slots[i];
  *t = x->t;
  t->creds = x->t.creds + x->cred;
  t->n_creds = x->t.n_creds - x->cred;
  if (cred)
    *cred = x->cred;
  release(s, i);
  return 1;
}

void asr_sweep_stop(asr_sweep *s)
{
  s->exhausted = 1;
  for (int l = SL_PENDING; l <= SL_ANSWERED; l++) {
    for (uint32_t i = l_pop(s, l); i != NIL; i = l_pop(s, l)) {
      if (s->st.abandoned++ == 0)
        s->st.first_skipped = s->slots[i].t.addr;
      release(s, i);
    }
  }
}

int asr_sweep_finished(const asr_sweep *s)
{
  return s->exhausted && s->in_use == 0;
}

void asr_sweep_get_stats(const asr_sweep *s, asr_sweep_stats *st)
{
  *st = s->st;
  st->in_flight = s->in_use;
}

size_t asr_sweep_slots(const asr_sweep *s)
{
  return s->limit;
}

void asr_sweep_free(asr_sweep *s)
{
  if (!s)
    return;
  free(s->slots);
  free(s);
}

/* ---- the discovery run: sockets, the engine, the detail phase ---------------------------- */

#define RUN_RCVBUF (1 << 20) /* answers that arrive in a burst wait here */
#define RUN_READS 4096       /* datagrams read a socket a turn, at most */
#define RUN_PROGRESS_MS 100

typedef struct {
  asr_sweep *sw;
  asr_udp *sock[2]; /* IPv4, IPv6: opened when the first address of the family comes */
  int sock_failed[2];
  asr_scan_cb cb;
  asr_sweep_progress_fn progress;
  void *ctx;
  int64_t last_progress;
  asr_sweep_stats st; /* detailed and printers; the rest comes from the engine */
  uint64_t total;
  uint8_t buf[SWEEP_DGRAM_MAX];
} sweep_run;

static int fam_index(int family)
{
  return family == ASR_AF_INET6 ? 1 : 0;
}

static asr_result run_send(void *io, const asr_addr *to, uint16_t port, const uint8_t *buf,
                           size_t len)
{
  sweep_run *x = io;
  int f = fam_index(to->family);

  if (!x->sock[f] && !x->sock_failed[f]) {
    if (asr_udp_open(to->family, RUN_RCVBUF, &x->sock[f]) != ASR_OK) {
      x->sock_failed[f] = 1;
      asr_log(ASR_LOG_WARN, "sweep: no IPv%d socket: IPv%d addresses are not scanned", to->family,
              to->family);
    }
  }
  if (!x->sock[f])
    return ASR_ERR_IO;
  return asr_udp_send(x->sock[f], to, port, buf, len);
}

static void run_stats(const sweep_run *x, asr_sweep_stats *st)
{
  uint64_t done;

  asr_sweep_get_stats(x->sw, st);
  st->total = x->total;
  st->detailed = x->st.detailed;
  st->printers = x->st.printers;
  done = st->swept - st->answered + st->detailed; /* silent, and read (or cut while read) */
  st->skipped = x->total > done ? x->total - done : 0;
}

static void run_progress(sweep_run *x, int force)
{
  asr_sweep_stats st;
  int64_t now = asr_monotonic_ms();

  if (!x->progress || (!force && now - x->last_progress < RUN_PROGRESS_MS))
    return;
  x->last_progress = now;
  run_stats(x, &st);
  x->progress(&st, x->ctx);
}

/* Reads what waits on each socket into the engine. */
static void run_read(sweep_run *x)
{
  for (int f = 0; f < 2; f++) {
    for (int i = 0; x->sock[f] && i < RUN_READS; i++) {
      asr_addr from;
      uint16_t port;
      size_t len;
      asr_result r = asr_udp_recv(x->sock[f], x->buf, sizeof(x->buf), &len, &from, &port);

      if (r == ASR_ERR_NOT_FOUND)
        break;
      if (r == ASR_OK)
        asr_sweep_input(x->sw, &from, port, x->buf, len);
      /* too large, or an error the system reports for an earlier send: go on reading */
    }
  }
}

static int64_t feeder_service(void *ctx)
{
  sweep_run *x = ctx;
  int64_t wake;

  run_read(x);
  wake = asr_sweep_step(x->sw, asr_monotonic_ms());
  run_progress(x, 0);
  if (wake < 0 || wake > RUN_PROGRESS_MS)
    wake = RUN_PROGRESS_MS;
  return wake;
}

static size_t feeder_sockets(void *ctx, int *fds, size_t max)
{
  sweep_run *x = ctx;
  size_t n = 0;

  for (int f = 0; f < 2 && n < max; f++) {
    if (x->sock[f])
      fds[n++] = asr_udp_fd(x->sock[f]);
  }
  return n;
}

/* An answered address as a job of the detail phase (freed in feeder_result). */
static const asr_scan_job *feeder_next(void *ctx, int *more)
{
  sweep_run *x = ctx;
  asr_sweep_target t;
  asr_scan_job *job;
  size_t cred;

  if (!asr_sweep_take(x->sw, &t, &cred)) {
    *more = !asr_sweep_finished(x->sw);
    return NULL;
  }
  job = calloc(1, sizeof(*job));
  if (!job) {
    asr_log(ASR_LOG_ERR, "sweep: out of memory: an answering address is not detailed");
    return NULL;
  }
  asr_addr_format(&t.addr, job->address, sizeof(job->address));
  job->port = t.port;
  job->creds = t.creds;
  job->n_creds = t.n_creds;
  return job;
}

/* The engine's run was cut (the tick or its deadline): the sweep stops too. */
static void feeder_stop(void *ctx)
{
  sweep_run *x = ctx;

  asr_sweep_stop(x->sw);
  asr_log(ASR_LOG_DEBUG, "sweep: stopped");
}

static void feeder_result(const asr_scan_result *res, void *ctx)
{
  sweep_run *x = ctx;

  x->st.detailed++;
  if (res->is_printer)
    x->st.printers++;
  if (x->cb)
    x->cb(res, x->ctx);
  else
    asr_vbset_free(res->vbs);
  free((void *)res->job);
  run_progress(x, 0);
}

asr_result asr_sweep_run(asr_sweep_next_fn next, void *next_ctx, uint64_t total,
                         const asr_sweep_opts *so, const asr_scan_opts *scan, asr_scan_cb cb,
                         asr_sweep_progress_fn progress, void *ctx, asr_sweep_stats *stats)
{
  asr_scan_feeder f = {feeder_next, feeder_service, feeder_sockets, feeder_stop, NULL};
  sweep_run *x = calloc(1, sizeof(*x));
  asr_result r;

  if (stats)
    memset(stats, 0, sizeof(*stats));
  if (!x)
    return ASR_ERR_NOMEM;
  x->cb = cb;
  x->progress = progress;
  x->ctx = ctx;
  x->total = total;
  x->last_progress = asr_monotonic_ms();
  r = asr_sweep_new(so, next, next_ctx, run_send, x, &x->sw);
  if (r)
    goto out;
  f.ctx = x;
  r = asr_scan_run_fed(&f, scan, feeder_result, NULL, x);
  run_progress(x, 1);
  if (stats)
    run_stats(x, stats);
out:
  asr_udp_close(x->sock[0]);
  asr_udp_close(x->sock[1]);
  asr_sweep_free(x->sw);
  free(x);
  return r;
}
