/* op_poll.c: polls as a library entry point (agent/ops.h): reads the supplies of known
 * printers and records a reading, or a failure, for each.
 *
 * Each device is asked with the credential it last answered to, least recently tried
 * first, so that a poll cut by its deadline does not starve the same devices every time.
 * A printer answering with another's identity goes through agent/moves.h. A store that
 * stops taking writes (full disk, damaged or locked file) is said once and the poll
 * stores no more: each later write would wait out the busy timeout again. */
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

/* One device to poll: its id, what the store knows, and its credentials. */
typedef struct {
  int64_t id;
  char serial[128];
  char address[64];
  uint16_t port;
  int64_t last_try; /* its last good or failed poll: the least recent go first */
  asr_snmp_cred cred;
} poll_target;

typedef struct {
  const asr_poll_opts *o;
  asr_poll_report *rep;
  asr_device *dev;
  poll_target *targets;
  asr_scan_job *jobs;
  asr_moves *moves; /* a printer answering with the identity of another one waits */
  size_t n, cap;
  unsigned deadline_s; /* the poll's deadline, for the reason of a device it cut */
  int64_t now;
} poll_ctx;

void asr_poll_opts_init(asr_poll_opts *o)
{
  memset(o, 0, sizeof(*o));
  asr_scan_opts_init(&o->scan);
}

static void emit(poll_ctx *x, asr_poll_event_kind kind, const char *address, const char *detail,
                 bool conflict)
{
  asr_poll_event e = {kind, address, detail, conflict};

  if (x->o->on_event)
    x->o->on_event(&e, x->o->ctx);
}

/* ---- the devices --------------------------------------------------------------------------- */

static asr_result grow_targets(poll_ctx *x)
{
  size_t cap = x->cap ? x->cap * 2 : 64;
  poll_target *t;
  asr_scan_job *j;

  t = realloc(x->targets, cap * sizeof(*t));
  if (!t)
    return ASR_ERR_NOMEM;
  x->targets = t;
  j = realloc(x->jobs, cap * sizeof(*j));
  if (!j)
    return ASR_ERR_NOMEM;
  x->jobs = j;
  x->cap = cap;
  return ASR_OK;
}

static int collect(const asr_store_device *d, void *ctx)
{
  poll_ctx *x = ctx;
  poll_target *t;

  if (d->superseded)
    return 0; /* another printer answers at its last address now */
  if (x->n == x->cap && grow_targets(x) != ASR_OK)
    return 1;
  t = &x->targets[x->n];
  t->id = d->id;
  t->cred = d->cred;
  asr_strlcpy_cut(t->serial, d->dev.serial, sizeof(t->serial));
  asr_strlcpy_cut(t->address, d->dev.ip, sizeof(t->address));
  t->port = d->port ? d->port : 161;
  t->last_try = d->last_good_poll > d->last_failure_at ? d->last_good_poll : d->last_failure_at;
  x->n++;
  return 0;
}

/* Least recently tried first; then by address (the store's order) for ties. */
static int by_last_try(const void *a, const void *b)
{
  const poll_target *x = a, *y = b;

  if (x->last_try != y->last_try)
    return x->last_try < y->last_try ? -1 : 1;
  return x->id < y->id ? -1 : (x->id > y->id);
}

static void unmatched(const char *sel, void *ctx)
{
  poll_ctx *x = ctx;

  x->rep->unmatched++;
  emit(x, ASR_POLL_UNMATCHED, sel, "no such device", false);
}

/* The devices to poll into x; ASR_ERR_NOT_FOUND when a selector names none, or none is
 * known. */
static asr_result select_devices(poll_ctx *x)
{
  const asr_poll_opts *o = x->o;
  asr_result r = asr_store_foreach_device(o->st, o->select, o->n_select, collect, x);

  if (r)
    return r;
  if (o->n_select) {
    r = asr_store_unmatched(o->st, o->select, o->n_select, unmatched, x);
    if (r)
      return r;
  }
  return x->rep->unmatched || x->n == 0 ? ASR_ERR_NOT_FOUND : ASR_OK;
}

/* ---- results ------------------------------------------------------------------------------- */

/* A store error (full disk, damaged or locked file): said once, kept for the report, and
 * the poll stores no more. A device deleted meanwhile is not such an error. */
static bool store_stopped(poll_ctx *x, asr_result r)
{
  if (r == ASR_OK || r == ASR_ERR_NOT_FOUND)
    return false;
  if (!x->rep->store_error)
    emit(x, ASR_POLL_STORE_STOPPED, "", asr_store_errmsg(x->o->st), false);
  x->rep->store_error = r;
  return true;
}

static void record_failure(poll_ctx *x, int64_t id, const char *address, asr_result code,
                           const char *reason)
{
  asr_store *st = x->o->st;
  asr_result r;

  x->rep->failed++;
  emit(x, ASR_POLL_FAILED, address, reason, false);
  if (x->rep->store_error)
    return;
  r = asr_store_record_failure(st, id, x->now, code, reason);
  if (store_stopped(x, r))
    return;
  if (r != ASR_OK)
    asr_log(ASR_LOG_ERR, "%s: failure not recorded: %s", address, asr_store_errmsg(st));
  else
    asr_health_after_poll(st, id, false, code, reason, x->now, x->o->health); /* logs errors */
}

/* The printer at the address is not the one we knew: record that, and save the new one. */
static void other_printer(poll_ctx *x, const poll_target *t, const asr_scan_result *res)
{
  char reason[160];

  if (!t->serial[0] || !x->dev->serial[0] || strcmp(t->serial, x->dev->serial) == 0)
    return;
  if (asr_fmt(reason, sizeof(reason), "a different printer (serial %.40s) answers at this address",
              x->dev->serial) != ASR_OK)
    asr_strlcpy_cut(reason, "a different printer answers at this address", sizeof(reason));
  record_failure(x, t->id, res->job->address, ASR_ERR_NOT_FOUND, reason);
}

/* Saves a reading (asr_moves_save_cb). */
static asr_result save_reading(const asr_device *dev, uint16_t port, const asr_snmp_cred *cred,
                               int64_t *id, void *ctx)
{
  poll_ctx *x = ctx;
  asr_store *st = x->o->st;
  asr_result r = x->rep->store_error;

  if (!r)
    r = asr_store_save(st, dev, port, cred, x->now, id);
  if (r) {
    x->rep->failed++;
    if (!x->rep->store_error && !store_stopped(x, r))
      emit(x, ASR_POLL_NOT_SAVED, dev->ip, asr_store_errmsg(st), false);
    return r;
  }
  x->rep->read++;
  asr_health_after_poll(st, *id, true, ASR_OK, "", x->now, x->o->health);
  return ASR_OK;
}

/* The printer at an address answers with the identity of one that answers elsewhere too,
 * or its move could not be decided (asr_moves_held_cb): nothing is saved for it. */
static void on_held(const asr_device *dev, uint16_t port, int64_t id, bool conflict,
                    const char *detail, void *ctx)
{
  poll_ctx *x = ctx;

  (void)port;
  (void)id;
  x->rep->conflicts += conflict;
  emit(x, ASR_POLL_HELD, dev->ip, detail, conflict);
}

/* A device the poll did not reach: a stop leaves no trace (the next poll takes it), the
 * poll's deadline is a failed poll with its reason (it shows in status, and a device the
 * deadline always cuts goes silent instead of being forgotten). */
static void not_reached(poll_ctx *x, const poll_target *t, const asr_scan_result *res)
{
  char reason[160];

  if (res->end == ASR_SCAN_END_STOP) {
    x->rep->stopped++;
    return;
  }
  if (asr_fmt(reason, sizeof(reason), "poll deadline (%u s) reached %s", x->deadline_s,
              res->requests ? "while it answered" : "before its turn") != ASR_OK)
    asr_strlcpy_cut(reason, "poll deadline reached", sizeof(reason));
  record_failure(x, t->id, res->job->address, ASR_ERR_TIMEOUT, reason);
}

static void on_result(const asr_scan_result *res, void *ctx)
{
  poll_ctx *x = ctx;
  const poll_target *t = res->job->user;
  asr_result r;

  if (res->end != ASR_SCAN_END_HOST) {
    not_reached(x, t, res);
    goto out;
  }
  if (res->status != ASR_OK) {
    record_failure(x, t->id, res->job->address, res->status,
                   res->reason[0] ? res->reason : asr_result_str(res->status));
    goto out;
  }
  r = asr_printer_build(res->vbs, res->job->address, x->dev);
  if (r == ASR_ERR_NOT_PRINTER) {
    record_failure(x, t->id, res->job->address, r, "the host answers but is not a printer now");
    goto out;
  }
  other_printer(x, t, res);
  r = asr_moves_offer(x->moves, x->dev, res->job->port, &t->cred);
  if (r == ASR_ERR_LIMIT || r == ASR_ERR_NOMEM)
    x->rep->failed++;
out:
  asr_vbset_free(res->vbs);
}

/* ---- the run ------------------------------------------------------------------------------- */

/* The scan jobs, least recently tried device first. */
static void make_jobs(poll_ctx *x)
{
  qsort(x->targets, x->n, sizeof(*x->targets), by_last_try);
  for (size_t i = 0; i < x->n; i++) {
    asr_scan_job *j = &x->jobs[i];

    memset(j, 0, sizeof(*j));
    asr_strlcpy_cut(j->address, x->targets[i].address, sizeof(j->address));
    j->port = x->targets[i].port;
    j->creds = &x->targets[i].cred;
    j->n_creds = 1;
    j->user = &x->targets[i];
  }
}

static asr_result poll_run(poll_ctx *x)
{
  const asr_scan_opts *so = &x->o->scan;
  int64_t deadline = so->deadline_ms ? asr_monotonic_ms() + so->deadline_ms : 0;
  asr_result r;

  make_jobs(x);
  x->rep->devices = x->n;
  x->deadline_s = so->deadline_ms / 1000;
  x->moves = asr_moves_new(x->o->st, x->now, save_reading, on_held, x);
  r = x->moves ? asr_scan_init() : ASR_ERR_NOMEM;
  if (r == ASR_OK)
    r = asr_scan_run(x->jobs, x->n, so, on_result, NULL, x);
  if (r == ASR_OK)
    r = asr_moves_settle(x->moves, so, deadline);
  asr_scan_fini();
  asr_moves_free(x->moves);
  x->moves = NULL;
  if (r)
    return r;
  /* devices no longer polled (superseded) still go silent */
  if (x->o->n_select == 0 && !x->rep->stopped && !x->rep->store_error)
    asr_health_sweep(x->o->st, x->now, x->o->health, NULL);
  return ASR_OK;
}

asr_result asr_poll(const asr_poll_opts *o, asr_poll_report *rep)
{
  poll_ctx x;
  int64_t t0 = asr_monotonic_ms();
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  memset(&x, 0, sizeof(x));
  x.o = o;
  x.rep = rep;
  r = select_devices(&x);
  if (r)
    goto out;
  rep->ran = true;
  x.now = o->now ? o->now : asr_now();
  x.dev = malloc(sizeof(*x.dev));
  r = x.dev ? poll_run(&x) : ASR_ERR_NOMEM;
out:
  rep->elapsed_ms = asr_monotonic_ms() - t0;
  if (x.targets)
    asr_secret_wipe(x.targets, x.cap * sizeof(*x.targets));
  free(x.dev);
  free(x.targets);
  free(x.jobs);
  return r;
}

asr_result asr_poll_summary(const asr_poll_report *rep, char *out, size_t n)
{
  char conflicts[64] = "", stopped[64] = "";

  if (rep->conflicts &&
      asr_fmt(conflicts, sizeof(conflicts), ", %zu identity %s", rep->conflicts,
              asr_plural((long long)rep->conflicts, "conflict", "conflicts")) != ASR_OK)
    return ASR_ERR_LIMIT;
  if (rep->stopped &&
      asr_fmt(stopped, sizeof(stopped), ", %zu not polled (stopped)", rep->stopped) != ASR_OK)
    return ASR_ERR_LIMIT;
  return asr_fmt(out, n, "polled %zu %s: %zu read, %zu failed%s%s", rep->devices,
                 asr_plural((long long)rep->devices, "device", "devices"), rep->read, rep->failed,
                 conflicts, stopped);
}
