/* op_discover.c: discovery as a library entry point (agent/ops.h).
 *
 * Two phases (snmp/sweep.h): the sweep asks every address one small question from one
 * socket, paced at the rate; the addresses that answer get the detail phase (identity,
 * supplies), `concurrency` at a time, while the sweep goes on. The targets are walked one
 * address at a time (conf/targets.h), with the credentials of their target: the v3 user
 * first when given, then the target's own communities or the general ones. Printers found
 * at a new address go through agent/moves.h (a move, or an identity conflict). The tick
 * and the deadline end the run early: what was not reached is counted as skipped; after a
 * stop, moves wait for the next run instead of asking old addresses. */
#include <stdlib.h>
#include <string.h>

#include "agent/moves.h"
#include "agent/ops.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/printer.h"
#include "store/save.h"

/* The credentials of one target with its own communities (the v3 user first). */
typedef struct {
  asr_snmp_cred *creds;
  size_t n;
} cred_set;

typedef struct {
  const asr_discover_opts *o;
  asr_discover_report *rep;
  asr_device *dev;
  asr_moves *moves; /* printers found at a new address wait for the end of the scan */
  int64_t now;
  asr_targets_iter it;
  cred_set sets[ASR_TARGETS_COMMUNITY_SETS];
} discover_ctx;

void asr_discover_opts_init(asr_discover_opts *o)
{
  memset(o, 0, sizeof(*o));
  asr_scan_opts_init(&o->scan);
  o->version = ASR_SNMP_V2C;
  o->port = 161;
  o->rate = ASR_SWEEP_RATE_DEFAULT;
}

/* ---- credentials per target ---------------------------------------------------------------- */

/* The credentials of each target with its own communities: the v3 user (if any), then them. */
static asr_result build_sets(discover_ctx *x)
{
  const asr_discover_opts *o = x->o;
  const asr_targets *t = o->targets;
  int v3 = o->n_creds > 0 && o->creds[0].version == ASR_SNMP_V3;

  for (size_t i = 0; i < t->n_sets; i++) {
    const asr_target_communities *set = &t->sets[i];
    cred_set *cs = &x->sets[i];

    cs->creds = calloc(set->n + 1, sizeof(*cs->creds));
    if (!cs->creds)
      return ASR_ERR_NOMEM;
    if (v3)
      cs->creds[cs->n++] = o->creds[0];
    for (size_t k = 0; k < set->n; k++) {
      asr_snmp_cred *c = &cs->creds[cs->n++];

      c->version = o->version;
      if (asr_strlcpy(c->community, set->communities[k], sizeof(c->community)) != ASR_OK)
        return ASR_ERR_INVALID; /* never a cut community (same size: cannot happen) */
    }
  }
  return ASR_OK;
}

static void free_sets(discover_ctx *x)
{
  for (size_t i = 0; i < ASR_TARGETS_COMMUNITY_SETS; i++) {
    if (x->sets[i].creds)
      asr_secret_wipe(x->sets[i].creds, x->sets[i].n * sizeof(*x->sets[i].creds));
    free(x->sets[i].creds);
  }
}

/* The sweep's source: the next address, with the credentials of its target. */
static int next_target(void *ctx, asr_sweep_target *out)
{
  discover_ctx *x = ctx;
  const asr_targets *t = x->o->targets;
  const asr_target_communities *set;

  if (!asr_targets_next(t, &x->it, &out->addr))
    return 0;
  out->port = x->o->port;
  set = asr_targets_communities(t, &out->addr);
  if (set) {
    out->creds = x->sets[set - t->sets].creds;
    out->n_creds = x->sets[set - t->sets].n;
  } else {
    out->creds = x->o->creds;
    out->n_creds = x->o->n_creds;
  }
  return 1;
}

/* ---- results ------------------------------------------------------------------------------- */

static void report_failure(const asr_scan_result *res)
{
  /* Silence is normal while scanning; a host that answered and then failed is not. */
  if (res->status == ASR_ERR_TIMEOUT && res->cred_index < 0)
    return;
  asr_log(res->status == ASR_ERR_AUTH ? ASR_LOG_WARN : ASR_LOG_INFO, "%s: %s", res->job->address,
          res->reason[0] ? res->reason : asr_result_str(res->status));
}

static void list_device(discover_ctx *x, const asr_device *dev, const char *note_key,
                        const char *note)
{
  if (x->o->on_device)
    x->o->on_device(dev, note_key, note, x->o->ctx);
}

/* Saves a printer that answered (asr_moves_save_cb): listed, stored, and not silent. */
static asr_result save_printer(const asr_device *dev, uint16_t port, const asr_snmp_cred *cred,
                               int64_t *id, void *ctx)
{
  discover_ctx *x = ctx;
  asr_discover_report *rep = x->rep;
  asr_result r;

  list_device(x, dev, NULL, NULL);
  /* a full disk, a damaged or locked file: said once, and nothing more is tried (each later
   * save would wait out the busy timeout again) */
  if (rep->store_error) {
    rep->failed_saves++;
    return rep->store_error;
  }
  r = asr_store_save(x->o->st, dev, port, cred, x->now, id);
  if (r) {
    rep->failed_saves++;
    rep->store_error = r;
    asr_log(ASR_LOG_ERR, "%s: not saved: %s", dev->ip, asr_store_errmsg(x->o->st));
    return r;
  }
  /* an answer: a printer that moved address (found by its serial) is not silent */
  asr_health_after_poll(x->o->st, *id, true, ASR_OK, "", x->now, x->o->health);
  return ASR_OK;
}

/* A printer not saved (asr_moves_held_cb): it claims the identity of one that answers
 * elsewhere, or its move could not be decided in this run. */
static void on_held(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                    const char *detail, void *ctx)
{
  discover_ctx *x = ctx;
  char note[640];

  (void)port;
  (void)id;
  x->rep->conflicts += conflict;
  if (asr_fmt(note, sizeof(note), "%s: not saved", detail) != ASR_OK)
    asr_strlcpy_cut(note, "not saved", sizeof(note));
  list_device(x, dev, conflict ? "conflict" : "problem", note);
}

/* A host the scan did not reach (deadline or stop): counted, the first one named. */
static void skipped(discover_ctx *x, const asr_scan_result *res)
{
  if (x->rep->skipped++ == 0)
    asr_strlcpy_cut(x->rep->first_skipped, res->job->address, sizeof(x->rep->first_skipped));
}

/* What the detail phase read of a host that answered. */
static void on_answer(discover_ctx *x, const asr_scan_result *res)
{
  asr_result r = asr_printer_build(res->vbs, res->job->address, x->dev);

  if (r == ASR_OK)
    x->rep->printers++;
  if (r != ASR_OK && x->o->all)
    list_device(x, x->dev, NULL, NULL);
  else if (r == ASR_OK && res->status != ASR_OK) /* partial answers: listed, never saved */
    list_device(x, x->dev, "problem", res->reason);
  else if (r == ASR_OK && !x->o->st)
    list_device(x, x->dev, NULL, NULL);
  else if (r == ASR_OK)
    asr_moves_offer(x->moves, x->dev, res->job->port, &res->job->creds[res->cred_index]);
}

static void on_result(const asr_scan_result *res, void *ctx)
{
  discover_ctx *x = ctx;

  if (res->end != ASR_SCAN_END_HOST) {
    skipped(x, res);
    goto out;
  }
  x->rep->scanned++;
  if (res->cred_index >= 0)
    x->rep->responded++;
  if (res->status == ASR_ERR_AUTH)
    x->rep->auth_failures++;
  if (res->status != ASR_OK)
    report_failure(res);
  if (res->vbs && res->cred_index >= 0)
    on_answer(x, res);
out:
  asr_vbset_free(res->vbs);
}

static void on_progress(const asr_sweep_stats *st, void *ctx)
{
  discover_ctx *x = ctx;

  if (x->o->on_progress)
    x->o->on_progress(st, x->rep->printers, x->o->ctx);
}

static void log_sweep(const asr_sweep_stats *st, int64_t ms)
{
  asr_log(ASR_LOG_INFO,
          "sweep: %llu addresses in %lld ms, %llu probes, %llu answered, %llu datagrams "
          "ignored, at most %llu in flight",
          (unsigned long long)st->swept, (long long)ms, (unsigned long long)st->probes,
          (unsigned long long)st->answered, (unsigned long long)st->ignored,
          (unsigned long long)st->peak);
  if (st->unreachable)
    asr_log(ASR_LOG_WARN, "%llu addresses could not be probed (no route, or no IPv6 here)",
            (unsigned long long)st->unreachable);
}

/* Adds what the sweep did to the counts: the silent addresses were scanned; those a stop or
 * the deadline left unswept (or answered but never read) were skipped, the first named. */
static void count_sweep(discover_ctx *x)
{
  const asr_sweep_stats *st = &x->rep->sweep;
  asr_discover_report *rep = x->rep;
  asr_addr next;

  rep->scanned += (size_t)(st->swept - st->answered);
  if (!st->skipped)
    return;
  if (rep->skipped == 0 && st->first_skipped.family)
    asr_addr_format(&st->first_skipped, rep->first_skipped, sizeof(rep->first_skipped));
  else if (rep->skipped == 0 && asr_targets_next(x->o->targets, &x->it, &next))
    asr_addr_format(&next, rep->first_skipped, sizeof(rep->first_skipped));
  rep->skipped += (size_t)st->skipped;
}

/* ---- the run ------------------------------------------------------------------------------- */

/* The caller's tick, remembered: once it asked to stop, the run is a stopped one. */
static int stop_tick(void *ctx)
{
  discover_ctx *x = ctx;

  if (!x->rep->stopped && x->o->scan.tick && x->o->scan.tick(x->o->scan.tick_ctx))
    x->rep->stopped = true;
  return x->rep->stopped;
}

static asr_result run_scan(discover_ctx *x)
{
  const asr_discover_opts *o = x->o;
  asr_scan_opts so = o->scan;
  int64_t t0 = asr_monotonic_ms(), deadline = so.deadline_ms ? t0 + so.deadline_ms : 0;
  asr_sweep_opts wo;
  asr_result r;

  asr_sweep_opts_init(&wo);
  wo.rate = o->rate;
  wo.timeout_ms = so.timeout_ms;
  wo.retries = so.retries;
  so.tick = stop_tick;
  so.tick_ctx = x;
  asr_targets_iter_init(&x->it);
  r = build_sets(x);
  asr_log(ASR_LOG_DEBUG, "sweep: %llu addresses at %u probes/s, timeout %u ms, %u retries",
          (unsigned long long)x->rep->total, wo.rate, wo.timeout_ms, wo.retries);
  if (!r)
    r = asr_sweep_run(next_target, x, x->rep->total, &wo, &so, on_result, on_progress, x,
                      &x->rep->sweep);
  if (!r) {
    log_sweep(&x->rep->sweep, asr_monotonic_ms() - t0);
    count_sweep(x);
  }
  if (!r && x->moves && !x->rep->stopped)
    r = asr_moves_settle(x->moves, &so, deadline);
  return r;
}

asr_result asr_discover(const asr_discover_opts *o, asr_discover_report *rep)
{
  discover_ctx x;
  int64_t t0 = asr_monotonic_ms();
  asr_result r = ASR_ERR_NOMEM;

  memset(rep, 0, sizeof(*rep));
  memset(&x, 0, sizeof(x));
  x.o = o;
  x.rep = rep;
  x.now = o->now ? o->now : asr_now();
  rep->total = asr_targets_count(o->targets);
  x.dev = malloc(sizeof(*x.dev));
  if (o->st)
    x.moves = asr_moves_new(o->st, x.now, save_printer, on_held, &x);
  if (!x.dev || (o->st && !x.moves))
    goto out;
  r = asr_scan_init();
  if (r)
    goto out;
  r = run_scan(&x);
  asr_scan_fini();
out:
  rep->elapsed_ms = asr_monotonic_ms() - t0;
  asr_moves_free(x.moves);
  free_sets(&x);
  free(x.dev);
  return r;
}

asr_result asr_discover_summary(const asr_discover_report *rep, char *out, size_t n)
{
  return asr_fmt(out, n, "%zu %s scanned, %zu answered, %zu %s, %zu not scanned", rep->scanned,
                 asr_plural((long long)rep->scanned, "address", "addresses"), rep->responded,
                 rep->printers, asr_plural((long long)rep->printers, "printer", "printers"),
                 rep->skipped);
}
