/* agent/daemon.c: the daemon's schedule and main loop (see daemon.h).
 *
 * How the work runs: discovery, polls, uploads, enrolment and pruning are the library's
 * operations (agent/ops.h), the same ones the commands call; agent/daemon_steps.c gives
 * them typed options from the configuration and logs their typed reports. The daemon runs
 * them one step at a time, checking the stop and reload flags between steps; a step's
 * transactions are committed or rolled back by the operation itself.
 *
 * Why no step can hold the daemon: each is bounded (discovery and polls by their deadline
 * and a deadline per host, uploads by their retry budget and transfer timeouts), and while
 * the SNMP engine or a transfer runs it calls scan_tick at least every ASR_SCAN_TICK_MS:
 * the watchdog is pinged from there, and a stop request ends the step within a fraction of
 * a second. Every periodic job's start is
 * written to the store before it runs (store/sched.h), so a restart (by hand, by the
 * watchdog, after a crash) resumes the schedule instead of discovering again at once, and
 * when devices are known a due poll runs before a due discovery. */
#include "agent/daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/daemon_steps.h"
#include "agent/health.h"
#include "agent/remoteconf.h"
#include "agent/svc.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/events.h"
#include "store/outbox.h"
#include "store/sched.h"
#include "store/store.h"

#define DAY 86400
#define UPLOAD_RETRY_S 1800 /* a failed upload is tried again half an hour later */
#define UPLOAD_RETRIES_MAX 6
#define ENROLL_BACKOFF_MIN_S 5    /* a failed enrolment is tried again after this, */
#define ENROLL_BACKOFF_MAX_S 3600 /* doubling up to this */
#define WAIT_MAX_MS 60000 /* re-read the clock at least every minute (suspend, clock steps) */

/* ---------------------------------------------------------------------------------------
 * The schedule: pure functions of the clock. */

static uint64_t splitmix64(uint64_t x)
{
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

int64_t asr_sched_next(int64_t due, int64_t interval, int64_t now)
{
  int64_t next;

  if (interval <= 0)
    interval = 1;
  next = due + interval;
  return next > now ? next : now + interval;
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t asr_sched_upload_at(uint64_t seed, int64_t day, int start, int end)
{
  int64_t len = ((int64_t)end - start + 1440) % 1440;

  if (len == 0)
    len = 1440;
  return day * DAY + (int64_t)start * 60 +
         (int64_t)(splitmix64(seed ^ splitmix64((uint64_t)day)) % (uint64_t)len) * 60;
}

int64_t asr_sched_next_upload(uint64_t seed, int64_t t, int start, int end)
{
  /* a window may wrap past midnight: the upload of day d can fall on day d + 1 */
  for (int64_t day = floor_div(t, DAY) - 1;; day++) {
    int64_t at = asr_sched_upload_at(seed, day, start, end);
    if (at > t)
      return at;
  }
}

int64_t asr_sched_first_upload(uint64_t seed, int64_t now, int64_t last_upload, int start, int end)
{
  int64_t prev = asr_sched_next_upload(seed, now - 2 * DAY, start, end);

  /* the last upload time that was due at or before now */
  for (int64_t at = prev; at <= now; at = asr_sched_next_upload(seed, at, start, end))
    prev = at;
  if (last_upload > 0 && prev <= now && last_upload < prev)
    return now; /* missed while down or asleep: catch up once */
  return asr_sched_next_upload(seed, now, start, end);
}

int64_t asr_sched_resume(int64_t last, int64_t interval, int64_t now)
{
  if (last <= 0 || last > now)
    return now; /* never ran, or the clock went back: run now */
  return last + interval > now ? last + interval : now;
}

void asr_daemon_start_schedule(asr_daemon *d, int64_t now)
{
  const asr_conf *c = &d->conf;

  d->next_discovery = now;
  d->next_poll = now;
  d->next_upload = asr_sched_first_upload(d->seed, now, d->last_upload, c->upload_window_start,
                                          c->upload_window_end);
  d->next_prune = now;
  d->next_checkin = now;
  d->upload_retries = 0;
}

/* The light check-in runs on its own timer while the agent is enrolled and listens. */
static bool checkin_on(const asr_daemon *d)
{
  return d->enrolled && d->conf.remote_config;
}

int64_t asr_daemon_next_due(const asr_daemon *d)
{
  int64_t t = d->next_poll;

  if (d->conf.n_targets && d->next_discovery < t)
    t = d->next_discovery;
  if (d->next_upload < t)
    t = d->next_upload;
  if (d->next_prune < t)
    t = d->next_prune;
  if (d->next_enroll && d->next_enroll < t)
    t = d->next_enroll;
  if (checkin_on(d) && d->next_checkin < t)
    t = d->next_checkin;
  return t;
}

/* ---------------------------------------------------------------------------------------
 * Reloading. */

static void log_conf_error(const char *msg, void *ctx)
{
  (void)ctx;
  asr_log(ASR_LOG_ERR, "%s", msg);
}

/* The health rules of the configuration, for every step that polls (asr_step_env). */
static void apply_health_policy(asr_daemon *d)
{
  asr_step_health_policy(&d->conf, &d->health);
}

static void apply_log_level(const asr_conf *c)
{
  static const char *const names[] = {"error", "warning", "info", "debug"};

  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(c->log_level, names[i]) == 0)
      asr_log_set_level((asr_log_level)i);
  }
}

static bool same_targets(const asr_conf *a, const asr_conf *b)
{
  if (a->n_targets != b->n_targets || a->snmp_port != b->snmp_port)
    return false;
  for (size_t i = 0; i < a->n_targets; i++) {
    if (strcmp(a->targets[i], b->targets[i]) != 0)
      return false;
  }
  return true;
}

/* Re-derives the due times that depend on the configuration (intervals, window, targets). */
static void reschedule(asr_daemon *d, const asr_conf *old, int64_t now)
{
  const asr_conf *c = &d->conf;

  if (c->poll_interval != old->poll_interval && d->next_poll > now + c->poll_interval)
    d->next_poll = now + c->poll_interval;
  if (c->discovery_interval != old->discovery_interval &&
      d->next_discovery > now + c->discovery_interval)
    d->next_discovery = now + c->discovery_interval;
  if (!same_targets(c, old))
    d->next_discovery = now; /* new targets are discovered at once */
  if (c->upload_window_start != old->upload_window_start ||
      c->upload_window_end != old->upload_window_end)
    d->next_upload =
        asr_sched_next_upload(d->seed, now, c->upload_window_start, c->upload_window_end);
  if (d->next_checkin > now + c->config_checkin)
    d->next_checkin = now + c->config_checkin;
}

/* Makes fresh the running configuration (old receives the previous one). */
static void adopt(asr_daemon *d, const asr_conf *fresh, asr_conf *old)
{
  *old = d->conf;
  d->conf = *fresh;
  apply_log_level(&d->conf);
  apply_health_policy(d);
  reschedule(d, old, asr_clock_now());
}

static int scan_tick(void *ctx); /* the watchdog and the stop request (below) */

/* The central's configuration, checked in after each upload (agent/remoteconf.h): a new
 * version applies all-or-nothing, like a reload. */
static void remote_sync(asr_daemon *d)
{
  asr_conf *fresh = malloc(sizeof(*fresh)), *old = malloc(sizeof(*old));
  bool changed = false;

  if (fresh && old &&
      asr_remoteconf_sync(d->conf_path, &d->conf, fresh, &changed, scan_tick, NULL) == ASR_OK &&
      changed)
    adopt(d, fresh, old);
  if (fresh)
    asr_secret_wipe(fresh, sizeof(*fresh));
  if (old)
    asr_secret_wipe(old, sizeof(*old));
  free(fresh);
  free(old);
}

/* The check-in, on its own timer (config_checkin) and after each upload: its start is
 * kept in the store like a poll's, so that a restart resumes the timer (store/sched.h). */
#define JOB_CHECKIN "checkin"
static void remember_start(const asr_daemon *d, const char *job, int64_t now);

static void checkin(asr_daemon *d)
{
  int64_t now = asr_clock_now();

  remember_start(d, JOB_CHECKIN, now);
  remote_sync(d);
  d->next_checkin = asr_sched_next(now, d->conf.config_checkin, asr_clock_now());
}

asr_result asr_daemon_reload(asr_daemon *d, const char *path)
{
  asr_conf *fresh = malloc(sizeof(*fresh)), *old = malloc(sizeof(*old));
  char fixed[256] = "";
  asr_result r = ASR_ERR_NOMEM;

  if (!fresh || !old)
    goto out;
  r = asr_remoteconf_load(path, fresh, log_conf_error, NULL);
  if (!r)
    r = asr_conf_check_secrets(fresh, log_conf_error, NULL);
  if (r) {
    asr_log(ASR_LOG_ERR, "reload: %s is not valid: keeping the running configuration", path);
    goto out;
  }
  asr_conf_not_reloadable(&d->conf, fresh, fixed, sizeof(fixed));
  if (fixed[0]) {
    asr_log(ASR_LOG_ERR,
            "reload: %s: %s cannot change without a restart: keeping the running"
            " configuration",
            path, fixed);
    r = ASR_ERR_INVALID;
    goto out;
  }
  adopt(d, fresh, old);
  asr_log(ASR_LOG_INFO, "reload: %s applied", path);
out:
  if (fresh)
    asr_secret_wipe(fresh, sizeof(*fresh));
  if (old)
    asr_secret_wipe(old, sizeof(*old));
  free(fresh);
  free(old);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * What the store says: device counts for the status line, the last upload, pruning. */

typedef struct {
  size_t devices, silent;
} count_ctx;

/* Reads the device counts and the last upload from the store into *x and d. */
static asr_result store_facts(asr_daemon *d, count_ctx *x)
{
  asr_store *st = NULL;
  asr_outbox_status os;
  asr_events_counts counts = {0};
  char err[512] = "";
  asr_result r;

  memset(x, 0, sizeof(*x));
  /* read between steps: the steps that write check the file (asr_store_open) */
  r = asr_store_open_mode(d->conf.database, ASR_STORE_TRUST, &st, err, sizeof(err));
  if (r) {
    asr_log(ASR_LOG_ERR, "%s", err[0] ? err : asr_result_str(r));
    return r;
  }
  r = asr_events_count_states(st, &counts);
  x->devices = (size_t)counts.devices;
  x->silent = (size_t)(counts.silent + counts.disconnected);
  if (!r && asr_outbox_get_status(st, &os) == ASR_OK) {
    d->enrolled = os.enrolled;
    if (os.last_upload > d->last_upload)
      d->last_upload = os.last_upload;
  }
  asr_store_close(st);
  return r;
}

static void publish_status(asr_daemon *d)
{
  count_ctx x;
  char line[160], when[32] = "never";

  if (store_facts(d, &x) != ASR_OK)
    return;
  if (d->last_upload > 0) {
    int64_t s = ((d->last_upload % DAY) + DAY) % DAY;
    asr_fmt_cut(when, sizeof(when), "%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60));
  }
  if (asr_fmt(line, sizeof(line), "%zu %s, %zu silent, last upload %s", x.devices,
              asr_plural((long long)x.devices, "device", "devices"), x.silent, when) == ASR_OK)
    asr_svc_status(line);
}

/* ---------------------------------------------------------------------------------------
 * The main loop. */

static struct {
  int64_t interval_ms, next_ms; /* watchdog pings, monotonic; interval 0 = none */
} wd;

/* Pings the watchdog when it is due; called between steps, around every wait, and from
 * inside the SNMP engine (scan_tick). */
static void keepalive(void)
{
  int64_t t = asr_monotonic_ms();

  if (wd.interval_ms > 0 && t >= wd.next_ms) {
    asr_svc_watchdog();
    wd.next_ms = t + wd.interval_ms;
  }
}

/* The tick of the steps (asr_scan_tick): asked by the SNMP engine during discovery and
 * polls, and during an upload's transfers: alive, and stop? */
static int scan_tick(void *ctx)
{
  (void)ctx;
  keepalive();
  return asr_svc_stop_requested();
}

/* What the steps get from the daemon: the tick and the configuration's health rules. */
static void step_env(const asr_daemon *d, asr_step_env *env)
{
  env->tick = scan_tick;
  env->tick_ctx = NULL;
  env->health = &d->health;
}

static void log_time(const char *what, int64_t t)
{
  char iso[32];

  asr_time_iso(t, iso, sizeof(iso));
  asr_log(ASR_LOG_INFO, "%s %s", what, iso);
}

static void schedule_upload(asr_daemon *d, bool in_transit)
{
  const asr_conf *c = &d->conf;
  int64_t now = asr_clock_now();
  int64_t next = asr_sched_next_upload(d->seed, now, c->upload_window_start, c->upload_window_end);

  /* a network failure is tried again soon, a few times, before the next window */
  if (in_transit && d->upload_retries < UPLOAD_RETRIES_MAX && now + UPLOAD_RETRY_S < next) {
    d->upload_retries++;
    next = now + UPLOAD_RETRY_S;
  } else {
    d->upload_retries = 0;
  }
  d->next_upload = next;
  log_time("next upload at", next);
}

static void due_upload(asr_daemon *d, bool enrolled)
{
  asr_step_env env;
  asr_upload_report rep;
  bool in_transit = false;

  if (enrolled) {
    step_env(d, &env);
    asr_step_upload(&d->conf, &env, &rep);
    in_transit = rep.in_transit;
    d->runs[2]++;
    if (d->conf.remote_config && !in_transit && !asr_svc_stop_requested())
      checkin(d);
  } else {
    asr_log(ASR_LOG_INFO, "upload: not enrolled yet: skipped");
  }
  schedule_upload(d, in_transit);
}

/* ---------------------------------------------------------------------------------------
 * Enrolment with a site token the installer left (asr_conf_token_path). */

/* Plans an enrolment at now when a site token waits and the store holds none; a token
 * left over once enrolled is deleted. */
static void plan_enroll(asr_daemon *d, int64_t now)
{
  char path[600], abs[600];

  d->next_enroll = 0;
  d->enroll_backoff = 0;
  /* exists is enough: an unreadable token is for enroll to report */
  if (asr_conf_token_path(&d->conf, path, sizeof(path)) != ASR_OK ||
      !asr_platform_realpath(path, abs, sizeof(abs)))
    return;
  if (d->enrolled) {
    if (remove(path) == 0)
      asr_log(ASR_LOG_INFO, "enrolment: already enrolled: %s deleted", path);
    return;
  }
  d->next_enroll = now;
}

/* One try; a network or server failure is tried again later, a bad token or setting
 * waits for the administrator (a reload plans it again). */
static void due_enroll(asr_daemon *d)
{
  asr_enroll_report rep;
  char path[600];
  int status;

  if (d->enrolled) { /* by hand, meanwhile */
    plan_enroll(d, asr_clock_now());
    return;
  }
  if (asr_conf_token_path(&d->conf, path, sizeof(path)) != ASR_OK)
    return;
  status = d->conf.endpoint[0] ? asr_step_enroll(&d->conf, path, &rep) : ASR_EXIT_USAGE;
  if (!d->conf.endpoint[0])
    asr_log(ASR_LOG_ERR, "enrolment: a site token waits in %s, but %s sets no endpoint", path,
            d->conf_path);
  if (status == ASR_EXIT_OK) {
    d->enrolled = true;
    d->next_enroll = 0;
    if (remove(path) != 0)
      asr_log(ASR_LOG_WARN, "enrolment: cannot delete %s", path);
    asr_log(ASR_LOG_INFO, "enrolment: enrolled; the site token is deleted");
    return;
  }
  if (status == ASR_EXIT_USAGE || status == ASR_EXIT_INPUT) {
    asr_log(ASR_LOG_ERR,
            "enrolment: not possible with these settings (exit %d): fix them "
            "and reload or restart",
            status);
    d->next_enroll = 0;
    return;
  }
  d->enroll_backoff = d->enroll_backoff ? d->enroll_backoff * 2 : ENROLL_BACKOFF_MIN_S;
  if (d->enroll_backoff > ENROLL_BACKOFF_MAX_S)
    d->enroll_backoff = ENROLL_BACKOFF_MAX_S;
  d->next_enroll = asr_clock_now() + d->enroll_backoff;
  asr_log(ASR_LOG_WARN, "enrolment failed (exit %d): next try in %lld s", status,
          (long long)d->enroll_backoff);
}

/* ---------------------------------------------------------------------------------------
 * The schedule across restarts (store/sched.h). */

#define JOB_DISCOVERY "discovery"
#define JOB_POLL "poll"

/* What a discovery covers (targets and port), as 16 hex digits of FNV-1a: a changed target
 * list is discovered at the next start, not a day later. */
static void targets_fingerprint(const asr_conf *c, char *out, size_t n)
{
  uint64_t h = UINT64_C(14695981039346656037);

  for (size_t i = 0; i < c->n_targets; i++) {
    for (const unsigned char *p = (const unsigned char *)c->targets[i]; *p; p++)
      h = (h ^ *p) * UINT64_C(1099511628211);
    h = (h ^ '\n') * UINT64_C(1099511628211);
  }
  h = (h ^ c->snmp_port) * UINT64_C(1099511628211);
  asr_fmt_cut(out, n, "%016llx", (unsigned long long)h);
}

/* Writes the start of job now, before it runs (a crash in it still counts as a run). */
static void remember_start(const asr_daemon *d, const char *job, int64_t now)
{
  asr_store *st = NULL;
  char err[512] = "", fp[ASR_SCHED_FP_MAX] = "";
  asr_result r = asr_store_open(d->conf.database, &st, err, sizeof(err));

  if (strcmp(job, JOB_DISCOVERY) == 0)
    targets_fingerprint(&d->conf, fp, sizeof(fp));
  if (!r)
    r = asr_sched_set(st, job, now, fp);
  if (r)
    asr_log(ASR_LOG_WARN, "schedule: %s: start not recorded: %s", job,
            st ? asr_store_errmsg(st) : err);
  asr_store_close(st);
}

/* Sets the due times of discovery and polls from their last starts in the store. Without
 * known devices discovery is due at once: there is no poll it could hold back, and an
 * interrupted first discovery must not leave a site without printers for a day. */
static void resume_schedule(asr_daemon *d, asr_store *st, size_t devices, int64_t now)
{
  char fp[ASR_SCHED_FP_MAX], want[ASR_SCHED_FP_MAX];
  int64_t last = 0;

  targets_fingerprint(&d->conf, want, sizeof(want));
  if (devices && asr_sched_get(st, JOB_DISCOVERY, &last, fp, sizeof(fp)) == ASR_OK &&
      strcmp(fp, want) == 0)
    d->next_discovery = asr_sched_resume(last, d->conf.discovery_interval, now);
  if (asr_sched_get(st, JOB_POLL, &last, fp, sizeof(fp)) == ASR_OK)
    d->next_poll = asr_sched_resume(last, d->conf.poll_interval, now);
  if (asr_sched_get(st, JOB_CHECKIN, &last, fp, sizeof(fp)) == ASR_OK)
    d->next_checkin = asr_sched_resume(last, d->conf.config_checkin, now);
}

/* ---------------------------------------------------------------------------------------
 * Running what is due. */

static void due_discovery(asr_daemon *d)
{
  const asr_conf *c = &d->conf;
  asr_discover_report rep;
  asr_step_env env;

  if (!c->n_targets || asr_clock_now() < d->next_discovery || asr_svc_stop_requested())
    return;
  remember_start(d, JOB_DISCOVERY, asr_clock_now());
  step_env(d, &env);
  asr_step_discover(c, &env, &rep);
  d->next_upload = asr_alert_push_after_poll(&d->alert_push, c, asr_clock_now(), d->next_upload);
  d->runs[0]++;
  d->next_discovery = asr_sched_next(d->next_discovery, c->discovery_interval, asr_clock_now());
  keepalive();
}

static void due_poll(asr_daemon *d, size_t devices)
{
  const asr_conf *c = &d->conf;
  asr_poll_report rep;
  asr_step_env env;

  if (asr_clock_now() < d->next_poll || asr_svc_stop_requested())
    return;
  if (devices) {
    remember_start(d, JOB_POLL, asr_clock_now());
    step_env(d, &env);
    asr_step_poll(c, &env, &rep);
    d->next_upload = asr_alert_push_after_poll(&d->alert_push, c, asr_clock_now(), d->next_upload);
  }
  d->runs[1]++;
  d->next_poll = asr_sched_next(d->next_poll, c->poll_interval, asr_clock_now());
  keepalive();
}

/* Runs every step that is due, checking the stop flag between them: a due poll of known
 * devices first (readings are what the site is for; a discovery may take long), then
 * discovery, then a poll of what discovery found when none ran. */
static void run_due(asr_daemon *d)
{
  count_ctx x;
  unsigned polls = d->runs[1];

  if (store_facts(d, &x) != ASR_OK)
    x.devices = 0;
  if (x.devices)
    due_poll(d, x.devices);
  due_discovery(d);
  if (d->runs[1] == polls) {
    if (store_facts(d, &x) != ASR_OK)
      x.devices = 0;
    due_poll(d, x.devices);
  }
  if (d->next_enroll && asr_clock_now() >= d->next_enroll && !asr_svc_stop_requested()) {
    due_enroll(d);
    keepalive();
  }
  if (asr_clock_now() >= d->next_upload && !asr_svc_stop_requested()) {
    due_upload(d, d->enrolled);
    keepalive();
  }
  if (checkin_on(d) && asr_clock_now() >= d->next_checkin && !asr_svc_stop_requested()) {
    checkin(d);
    keepalive();
  }
  if (asr_clock_now() >= d->next_prune && !asr_svc_stop_requested()) {
    asr_prune_report pruned;

    asr_step_prune(&d->conf, asr_clock_now(), &pruned);
    d->runs[3]++;
    d->next_prune = asr_sched_next(d->next_prune, DAY, asr_clock_now());
  }
  publish_status(d);
}

/* Reads the device counts and the last upload (store_facts), then resumes the schedule. */
static asr_result prepare_facts(asr_daemon *d, count_ctx *x)
{
  asr_store *st = NULL;
  char err[512] = "";
  asr_result r = store_facts(d, x);

  asr_daemon_start_schedule(d, asr_clock_now());
  if (!r)
    r = asr_store_open(d->conf.database, &st, err, sizeof(err));
  if (!r)
    resume_schedule(d, st, x->devices, asr_clock_now());
  asr_store_close(st);
  return r;
}

/* At start: the whole database checked once (SQLite's quick_check); a damaged file or a
 * full disk stops the start with its own exit status (asr-agent(8)). */
static int verify_store(const asr_daemon *d)
{
  asr_store *st = NULL;
  char err[1024] = "";
  asr_result r = asr_store_open(d->conf.database, &st, err, sizeof(err));

  asr_store_close(st);
  if (!r)
    return -1;
  asr_log(ASR_LOG_ERR, "%s: not starting", err[0] ? err : asr_result_str(r));
  return asr_cli_exit_for(r);
}

int asr_daemon_prepare(asr_daemon *d)
{
  count_ctx x;
  int status;

  apply_log_level(&d->conf);
  apply_health_policy(d);
  status = verify_store(d);
  if (status >= 0)
    return status;
  if (prepare_facts(d, &x) != ASR_OK)
    return ASR_EXIT_DB;
  plan_enroll(d, asr_clock_now());
  asr_log(ASR_LOG_INFO, "%zu %s known; upload window %02d:%02d-%02d:%02d UTC", x.devices,
          asr_plural((long long)x.devices, "device", "devices"), d->conf.upload_window_start / 60,
          d->conf.upload_window_start % 60, d->conf.upload_window_end / 60,
          d->conf.upload_window_end % 60);
  return -1;
}

/* Sleeps until the next due time (or jumps there under a simulated clock). */
static void wait_next(const asr_daemon *d)
{
  int64_t now = asr_clock_now(), next = asr_daemon_next_due(d), ms;

  if (d->until && d->until < next)
    next = d->until;
  if (next <= now)
    return;
  if (asr_clock_is_simulated()) {
    asr_clock_advance(next - now);
    asr_svc_wait(0);
    return;
  }
  ms = (next - now) * 1000;
  if (ms > WAIT_MAX_MS)
    ms = WAIT_MAX_MS;
  if (wd.interval_ms > 0 && wd.next_ms - asr_monotonic_ms() < ms)
    ms = wd.next_ms - asr_monotonic_ms();
  asr_svc_wait(ms);
}

static void reload(asr_daemon *d)
{
  asr_svc_reloading();
  if (asr_daemon_reload(d, d->conf_path) == ASR_OK)
    plan_enroll(d, asr_clock_now());
  asr_svc_ready();
  publish_status(d);
}

int asr_daemon_run(asr_daemon *d)
{
  wd.interval_ms = asr_svc_watchdog_interval_ms();
  wd.next_ms = asr_monotonic_ms();
  keepalive();
  log_time("next upload at", d->next_upload);
  asr_svc_ready();
  asr_log(ASR_LOG_INFO, "running: poll every %lld s, discovery every %lld s",
          (long long)d->conf.poll_interval, (long long)d->conf.discovery_interval);
  while (!asr_svc_stop_requested()) {
    if (asr_svc_take_reload())
      reload(d);
    if (d->until && asr_clock_now() >= d->until)
      break;
    if (asr_clock_now() >= asr_daemon_next_due(d))
      run_due(d);
    keepalive();
    if (!asr_svc_stop_requested() && !(d->until && asr_clock_now() >= d->until))
      wait_next(d);
  }
  asr_svc_stopping();
  asr_log(ASR_LOG_INFO, "stopping: %u discoveries, %u polls, %u uploads run", d->runs[0],
          d->runs[1], d->runs[2]);
  return ASR_EXIT_OK;
}
