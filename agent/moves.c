/* agent/moves.c: address changes and identity conflicts (see moves.h).
 *
 * Why here and not in the store: deciding a move needs the network (the old address is
 * asked again) and the whole run (an identity answering at two addresses is only known
 * once every host answered), while asr_store_save stays one transaction about one
 * device. The store only tells where a device lives (asr_store_match_device). */
#include "agent/moves.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "store/events.h"

#define CONFLICT_KIND ASR_MOVES_CONFLICT_KIND
#define CONFLICT_REPEAT_S 86400 /* the same conflict is stored again after a day */

/* An address where a stored identity answered in this run. */
typedef struct {
  int64_t id;
  char ip[48];
  uint16_t port;
} seen_addr;

typedef enum { W_WAITING = 0, W_MOVE, W_CONFLICT, W_UNDECIDED } wait_state;

/* A device that answered at a new address and waits for the end of the run. */
typedef struct {
  asr_device *dev;
  uint16_t port;
  asr_snmp_cred cred;
  int64_t id; /* the stored device it claims to be */
  wait_state state;
  asr_store_match old; /* where that device lives */
  char detail[ASR_EVENTS_DETAIL_MAX];
} waiting;

struct asr_moves {
  asr_store *st;
  int64_t now;
  asr_moves_save_cb save;
  asr_moves_held_cb held;
  void *ctx;
  seen_addr *seen;
  size_t nseen, capseen;
  waiting *wait;
  size_t nwait, capwait;
  asr_device *scratch; /* a device built from an old address's answer */
};

asr_moves *asr_moves_new(asr_store *st, int64_t now, asr_moves_save_cb save, asr_moves_held_cb held,
                         void *ctx)
{
  asr_moves *m;

  if (!st || !save || !held)
    return NULL;
  m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->st = st;
  m->now = now;
  m->save = save;
  m->held = held;
  m->ctx = ctx;
  return m;
}

void asr_moves_free(asr_moves *m)
{
  if (!m)
    return;
  for (size_t i = 0; i < m->nwait; i++) {
    free(m->wait[i].dev);
    asr_secret_wipe(&m->wait[i].cred, sizeof(m->wait[i].cred));
  }
  free(m->wait);
  free(m->seen);
  free(m->scratch);
  free(m);
}

size_t asr_moves_waiting(const asr_moves *m)
{
  return m ? m->nwait : 0;
}

static bool same_addr(const char *ip_a, uint16_t port_a, const char *ip_b, uint16_t port_b)
{
  return port_a == port_b && strcmp(ip_a, ip_b) == 0;
}

/* Remembers that device id answered at ip:port in this run. */
static asr_result note_seen(asr_moves *m, int64_t id, const char *ip, uint16_t port)
{
  seen_addr *s;

  if (m->nseen == m->capseen) {
    size_t cap = m->capseen ? m->capseen * 2 : 64;
    s = realloc(m->seen, cap * sizeof(*s));
    if (!s)
      return ASR_ERR_NOMEM;
    m->seen = s;
    m->capseen = cap;
  }
  s = &m->seen[m->nseen++];
  s->id = id;
  asr_strlcpy_cut(s->ip, ip, sizeof(s->ip));
  s->port = port;
  return ASR_OK;
}

/* Keeps a copy of dev until the end of the run. */
static asr_result keep(asr_moves *m, const asr_device *dev, uint16_t port,
                       const asr_snmp_cred *cred, int64_t id)
{
  waiting *w;

  if (m->nwait >= ASR_MOVES_MAX)
    return ASR_ERR_LIMIT;
  if (m->nwait == m->capwait) {
    size_t cap = m->capwait ? m->capwait * 2 : 16;
    w = realloc(m->wait, cap * sizeof(*w));
    if (!w)
      return ASR_ERR_NOMEM;
    m->wait = w;
    m->capwait = cap;
  }
  w = &m->wait[m->nwait];
  memset(w, 0, sizeof(*w));
  w->dev = malloc(sizeof(*w->dev));
  if (!w->dev)
    return ASR_ERR_NOMEM;
  *w->dev = *dev;
  w->port = port;
  w->cred = *cred;
  w->id = id;
  m->nwait++;
  return ASR_OK;
}

/* Saves dev through the command and notes where it answered. */
static asr_result save_now(asr_moves *m, const asr_device *dev, uint16_t port,
                           const asr_snmp_cred *cred)
{
  int64_t id = 0;
  asr_result r = m->save(dev, port, cred, &id, m->ctx);

  if (!r && id)
    r = note_seen(m, id, dev->ip, port);
  return r;
}

asr_result asr_moves_offer(asr_moves *m, const asr_device *dev, uint16_t port,
                           const asr_snmp_cred *cred)
{
  asr_store_match mt;
  asr_result r;

  if (!m || !dev || !cred)
    return ASR_ERR_INVALID;
  r = asr_store_match_device(m->st, dev, &mt);
  if (r)
    return r;
  if (!mt.id || !mt.ip[0] || same_addr(mt.ip, mt.port, dev->ip, port))
    return save_now(m, dev, port, cred);
  r = note_seen(m, mt.id, dev->ip, port);
  if (!r)
    r = keep(m, dev, port, cred, mt.id);
  if (r)
    asr_log(ASR_LOG_WARN, "%s: %s: left to the next run (it was known at %s)", dev->ip,
            asr_result_str(r), mt.ip);
  return r;
}

/* ---- deciding ------------------------------------------------------------------------ */

static int seen_cmp(const void *a, const void *b)
{
  const seen_addr *x = a, *y = b;
  int c;

  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  c = strcmp(x->ip, y->ip);
  if (c)
    return c;
  return (int)x->port - (int)y->port;
}

/* The distinct addresses where id answered in this run (seen sorted), listed in out. */
static size_t addresses_of(const asr_moves *m, int64_t id, char *out, size_t n)
{
  size_t count = 0, used = 0;

  out[0] = '\0';
  for (size_t i = 0; i < m->nseen; i++) {
    const seen_addr *s = &m->seen[i];
    if (s->id != id || (i > 0 && seen_cmp(s, &m->seen[i - 1]) == 0))
      continue;
    count++;
    if (asr_fmt(out + used, n - used, "%s%s:%u", count > 1 ? " and " : "", s->ip,
                (unsigned)s->port) == ASR_OK)
      used += strlen(out + used);
  }
  return count;
}

/* "serial X", "MAC M" or "address A": the identity dev claims. */
static void identity_label(const asr_device *dev, char *out, size_t n)
{
  if (dev->serial[0])
    asr_fmt_cut(out, n, "serial %.80s", dev->serial);
  else if (dev->mac[0])
    asr_fmt_cut(out, n, "MAC %s", dev->mac);
  else
    asr_fmt_cut(out, n, "address %s", dev->ip);
}

/* The identity answered at several addresses in this run: a conflict, nothing moves
 * (whatever the store says: two clones must not take turns with the record). */
static void decide_by_run(asr_moves *m, waiting *w)
{
  char where[400], who[100];

  if (w->state == W_UNDECIDED || addresses_of(m, w->id, where, sizeof(where)) < 2)
    return;
  identity_label(w->dev, who, sizeof(who));
  asr_fmt_cut(w->detail, sizeof(w->detail),
              "%s answered at %s in one scan; the device stays at %s:%u", who, where,
              w->old.ip[0] ? w->old.ip : "?", (unsigned)w->old.port);
  w->state = W_CONFLICT;
}

/* Reads where the claimed device lives now (w->old). */
static void find_old(asr_moves *m, waiting *w)
{
  if (asr_store_match_device(m->st, w->dev, &w->old) != ASR_OK)
    w->state = W_UNDECIDED;
}

/* A move without asking when the old address is no longer the device's own. */
static void decide_by_store(waiting *w)
{
  const asr_store_match *mt = &w->old;

  if (w->state != W_WAITING)
    return;
  if (!mt->id || mt->id != w->id || !mt->current || !mt->ip[0] ||
      same_addr(mt->ip, mt->port, w->dev->ip, w->port))
    w->state = W_MOVE;
}

/* ---- asking the old addresses again -------------------------------------------------- */

typedef struct {
  asr_moves *m;
  waiting *w;
  asr_snmp_cred cred;
  asr_scan_job job;
} probe;

/* What the old address said: the same device (conflict), another or none (move). */
static void on_probe(const asr_scan_result *res, void *ctx)
{
  probe *p = res->job->user;
  asr_moves *m = ctx;
  waiting *w = p->w;
  asr_store_match mt;
  char who[100];

  if (res->end != ASR_SCAN_END_HOST) {
    w->state = W_UNDECIDED;
  } else if (res->status == ASR_OK && res->cred_index >= 0 &&
             asr_printer_build(res->vbs, res->job->address, m->scratch) == ASR_OK &&
             asr_store_match_device(m->st, m->scratch, &mt) == ASR_OK && mt.id == w->id) {
    identity_label(w->dev, who, sizeof(who));
    asr_fmt_cut(w->detail, sizeof(w->detail),
                "%s answered at %s:%u while the device still answers at %s:%u, where it stays", who,
                w->dev->ip, (unsigned)w->port, res->job->address, (unsigned)res->job->port);
    w->state = W_CONFLICT;
    if (save_now(m, m->scratch, res->job->port, &p->cred) != ASR_OK)
      asr_log(ASR_LOG_WARN, "%s: answer not saved", res->job->address);
  } else {
    w->state = W_MOVE;
  }
  asr_vbset_free(res->vbs);
}

/* Asks the old address of every device still waiting, with the credentials it last
 * answered to. */
static asr_result ask_old_addresses(asr_moves *m, const asr_scan_opts *opts, int64_t deadline)
{
  asr_scan_opts o = *opts;
  probe *p = calloc(m->nwait ? m->nwait : 1, sizeof(*p));
  asr_scan_job *jobs = calloc(m->nwait ? m->nwait : 1, sizeof(*jobs));
  asr_store_device *d = malloc(sizeof(*d));
  size_t n = 0;
  asr_result r = ASR_ERR_NOMEM;

  m->scratch = m->scratch ? m->scratch : malloc(sizeof(*m->scratch));
  if (!p || !jobs || !d || !m->scratch)
    goto out;
  for (size_t i = 0; i < m->nwait; i++) {
    waiting *w = &m->wait[i];
    if (w->state != W_WAITING || asr_store_get(m->st, w->id, d) != ASR_OK)
      continue;
    p[n].m = m;
    p[n].w = w;
    p[n].cred = d->cred;
    asr_strlcpy_cut(jobs[n].address, w->old.ip, sizeof(jobs[n].address));
    jobs[n].port = w->old.port;
    jobs[n].creds = &p[n].cred;
    jobs[n].n_creds = 1;
    jobs[n].user = &p[n];
    n++;
  }
  r = ASR_OK;
  if (n == 0)
    goto out;
  o.probe_only = 0;
  o.deadline_ms = 0;
  if (deadline) {
    int64_t left = deadline - asr_monotonic_ms();
    o.deadline_ms = left > 1 ? (unsigned)(left > UINT32_MAX ? UINT32_MAX : left) : 1;
  }
  asr_log(ASR_LOG_INFO, "identity check: asking %zu old addresses again", n);
  r = asr_scan_run(jobs, n, &o, on_probe, NULL, m);
out:
  for (size_t i = 0; p && i < n; i++)
    asr_secret_wipe(&p[i].cred, sizeof(p[i].cred));
  if (d)
    asr_secret_wipe(&d->cred, sizeof(d->cred));
  free(d);
  free(jobs);
  free(p);
  return r;
}

/* ---- the outcome --------------------------------------------------------------------- */

/* Stores the conflict event on device id unless the same one is less than a day old. */
typedef struct {
  const char *detail;
  bool found;
} same_event;

static int find_same(const asr_event *e, void *ctx)
{
  same_event *s = ctx;

  if (strcmp(e->kind, CONFLICT_KIND) == 0 && strcmp(e->detail, s->detail) == 0)
    s->found = true;
  return s->found;
}

static void store_conflict(asr_moves *m, const waiting *w)
{
  same_event s = {w->detail, false};

  asr_log(ASR_LOG_WARN, "%s: identity conflict: %s", w->dev->ip, w->detail);
  if (asr_events_foreach(m->st, w->id, m->now - CONFLICT_REPEAT_S, find_same, &s) != ASR_OK)
    return;
  if (!s.found && asr_events_add(m->st, w->id, m->now, CONFLICT_KIND, w->detail) != ASR_OK)
    asr_log(ASR_LOG_ERR, "%s: conflict event not stored: %s", w->dev->ip, asr_store_errmsg(m->st));
}

static void conclude(asr_moves *m, waiting *w)
{
  switch (w->state) {
  case W_CONFLICT:
    store_conflict(m, w);
    m->held(w->dev, w->port, w->id, true, w->detail, m->ctx);
    break;
  case W_MOVE:
    asr_log(ASR_LOG_INFO, "%s: moved here from %s:%u", w->dev->ip, w->old.ip,
            (unsigned)w->old.port);
    if (save_now(m, w->dev, w->port, &w->cred) != ASR_OK)
      asr_log(ASR_LOG_WARN, "%s: not saved", w->dev->ip);
    break;
  default:
    asr_fmt_cut(w->detail, sizeof(w->detail),
                "claims the identity of the device at %s:%u; not decided in this run (stopped or"
                " out of time): left to the next run",
                w->old.ip[0] ? w->old.ip : "?", (unsigned)w->old.port);
    asr_log(ASR_LOG_WARN, "%s: %s", w->dev->ip, w->detail);
    m->held(w->dev, w->port, w->id, false, w->detail, m->ctx);
    break;
  }
}

asr_result asr_moves_settle(asr_moves *m, const asr_scan_opts *opts, int64_t deadline_ms)
{
  asr_result r = ASR_OK;

  if (!m || !opts)
    return ASR_ERR_INVALID;
  if (m->nwait == 0)
    return ASR_OK;
  qsort(m->seen, m->nseen, sizeof(*m->seen), seen_cmp);
  for (size_t i = 0; i < m->nwait; i++) {
    find_old(m, &m->wait[i]);
    decide_by_run(m, &m->wait[i]);
    decide_by_store(&m->wait[i]);
  }
  r = ask_old_addresses(m, opts, deadline_ms);
  for (size_t i = 0; i < m->nwait; i++) {
    if (m->wait[i].state == W_WAITING)
      m->wait[i].state = W_UNDECIDED;
    conclude(m, &m->wait[i]);
  }
  return r;
}
