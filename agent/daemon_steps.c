/* agent/daemon_steps.c: the daemon's steps (see daemon_steps.h).
 *
 * The configuration was checked when it was loaded (conf/conf.c: the same ranges and target
 * rules as the command line), so a step only translates it: targets into conf/targets.h's
 * list, credentials through the commands' own builder (agent/cli.h: pass phrases read from
 * the secrets file, never kept longer than the step), engine settings into asr_scan_opts.
 * What the operation reports becomes log lines: one summary per step with its exit status
 * and duration, the problems at warning or error level. */
#include "agent/daemon_steps.h"

#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/secret.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/store.h"

#define DAY 86400

void asr_step_health_policy(const asr_conf *c, asr_health_policy *p)
{
  asr_health_policy_init(p);
  p->silent_after = c->silent_after;
  p->min_failures = c->silent_min_failures;
  p->disconnected_after = c->disconnected_after;
}

/* Opens the database for a step; returns -1 to go on, else the exit status (logged). */
static int step_store(const asr_conf *c, const char *step, asr_store **st)
{
  char err[512] = "";
  asr_result r = asr_store_open(c->database, st, err, sizeof(err));

  if (r == ASR_OK)
    return -1;
  asr_log(ASR_LOG_ERR, "%s: %s", step, err[0] ? err : asr_result_str(r));
  return asr_cli_exit_for(r);
}

/* The engine settings and the step's deadline: its directive, at most one interval. */
static void engine_opts(const asr_conf *c, const asr_step_env *env, int64_t deadline,
                        int64_t interval, asr_scan_opts *o)
{
  int64_t s = deadline < interval ? deadline : interval;

  asr_scan_opts_init(o);
  o->timeout_ms = c->snmp_timeout_ms;
  o->retries = c->snmp_retries;
  o->concurrency = c->concurrency;
  o->host_deadline_ms = c->snmp_host_deadline_ms;
  o->deadline_ms = s > 0 && s <= 7 * DAY ? (unsigned)(s * 1000) : 0;
  o->tick = env->tick;
  o->tick_ctx = env->tick_ctx;
}

/* ---- discovery ----------------------------------------------------------------------------- */

/* The credentials of the configuration into s->creds: the v3 user first (pass phrases from
 * the secrets file), then the communities ("public" when none). */
static asr_result conf_creds(const asr_conf *c, asr_cli_snmp *s)
{
  asr_cli_snmp_init(s);
  s->port = c->snmp_port;
  for (size_t i = 0; i < c->n_communities && i < ASR_CLI_COMMUNITIES_MAX; i++)
    s->communities[s->n_communities++] = c->communities[i];
  if (c->v3_user[0]) {
    s->v3_user = c->v3_user;
    if (c->v3_auth_proto[0]) {
      s->v3_auth = c->v3_auth_proto;
      s->v3_auth_file = c->secrets_file;
    }
    if (c->v3_priv_proto[0]) {
      s->v3_priv = c->v3_priv_proto;
      s->v3_priv_file = c->secrets_file;
    }
    if (c->v3_context[0])
      s->v3_context = c->v3_context;
  }
  return asr_cli_snmp_finish(s);
}

/* One target_community line, "TARGET NAME [NAME...]", into t. */
static asr_result add_communities(asr_targets *t, const char *value, char *err, size_t n)
{
  char line[ASR_CONF_TC_LEN], *save = NULL;
  const char *target;
  asr_result r = ASR_OK;

  if (asr_strlcpy(line, value, sizeof(line)) != ASR_OK)
    return ASR_ERR_TOO_LARGE;
  target = strtok_r(line, " ", &save);
  for (char *w = strtok_r(NULL, " ", &save); target && w && !r; w = strtok_r(NULL, " ", &save))
    r = asr_targets_add_community(t, target, w, err, n);
  asr_secret_wipe(line, sizeof(line));
  return r;
}

/* Each scan target; a directive value may hold several, separated by blanks or commas. */
static asr_result add_targets(asr_targets *t, const char *value, char *err, size_t n)
{
  char line[sizeof(((asr_conf *)0)->targets[0])], *save = NULL;
  asr_result r = ASR_OK;

  if (asr_strlcpy(line, value, sizeof(line)) != ASR_OK)
    return ASR_ERR_TOO_LARGE;
  for (char *w = strtok_r(line, " \t,", &save); w && !r; w = strtok_r(NULL, " \t,", &save))
    r = asr_targets_add(t, w, 0, err, n);
  return r;
}

/* What a discovery of c scans: exclusions, communities per target, then the targets. */
static asr_result conf_targets(const asr_conf *c, asr_targets *t)
{
  char err[768] = "";
  asr_result r = ASR_OK;

  for (size_t i = 0; i < c->n_excludes && !r; i++)
    r = asr_targets_exclude(t, c->excludes[i], err, sizeof(err));
  for (size_t i = 0; i < c->n_target_communities && !r; i++)
    r = add_communities(t, c->target_communities[i], err, sizeof(err));
  for (size_t i = 0; i < c->n_targets && !r; i++)
    r = add_targets(t, c->targets[i], err, sizeof(err));
  if (!r)
    r = asr_targets_finish(t, 0, err, sizeof(err));
  if (r) {
    asr_log(ASR_LOG_ERR, "discovery: bad target: %s", err[0] ? err : asr_result_str(r));
    return r;
  }
  if (asr_targets_count(t) == 0) {
    asr_log(ASR_LOG_ERR, "discovery: nothing to scan: every address of the targets is excluded");
    return ASR_ERR_USAGE;
  }
  return ASR_OK;
}

static void log_discovery(asr_store *st, asr_result r, const asr_discover_report *rep, int status)
{
  char line[160] = "";

  if (r)
    asr_log(ASR_LOG_ERR, "discovery: scan failed: %s", asr_result_str(r));
  if (rep->skipped)
    asr_log(ASR_LOG_WARN, "discovery: %zu %s not scanned (deadline or stop), from %s on",
            rep->skipped, asr_plural((long long)rep->skipped, "address", "addresses"),
            rep->first_skipped);
  if (rep->failed_saves)
    asr_log(ASR_LOG_ERR, "discovery: %zu %s not saved: %s", rep->failed_saves,
            asr_plural((long long)rep->failed_saves, "printer", "printers"), asr_store_errmsg(st));
  if (rep->auth_failures)
    asr_log(ASR_LOG_WARN, "discovery: %zu %s refused the SNMPv3 credentials", rep->auth_failures,
            asr_plural((long long)rep->auth_failures, "host", "hosts"));
  if (asr_discover_summary(rep, line, sizeof(line)) != ASR_OK)
    line[0] = '\0';
  asr_log(status == ASR_EXIT_OK ? ASR_LOG_INFO : ASR_LOG_WARN,
          "discovery: exit %d after %lld ms: %s", status, (long long)rep->elapsed_ms, line);
}

/* The scan itself, with the store open and the credentials and targets ready. */
static int discover_run(const asr_conf *c, const asr_step_env *env, asr_store *st,
                        const asr_cli_snmp *s, const asr_targets *t, asr_discover_report *rep)
{
  asr_discover_opts o;
  asr_result r;
  int status;

  asr_discover_opts_init(&o);
  o.st = st;
  o.targets = t;
  o.creds = s->creds;
  o.n_creds = s->n_creds;
  o.version = s->version;
  o.port = (uint16_t)c->snmp_port;
  o.rate = c->scan_rate;
  o.health = env->health;
  engine_opts(c, env, c->discovery_deadline, c->discovery_interval, &o.scan);
  r = asr_discover(&o, rep);
  status = asr_cli_discover_status(r, rep);
  log_discovery(st, r, rep, status);
  return status;
}

int asr_step_discover(const asr_conf *c, const asr_step_env *env, asr_discover_report *rep)
{
  asr_cli_snmp *s = malloc(sizeof(*s));
  asr_targets t = {0};
  asr_store *st = NULL;
  int64_t t0 = asr_monotonic_ms();
  int status = -1;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  if (!s)
    return ASR_EXIT_INTERNAL;
  if (conf_creds(c, s) != ASR_OK)
    status = ASR_EXIT_USAGE;
  r = status < 0 ? conf_targets(c, &t) : ASR_OK;
  if (r)
    status = asr_cli_exit_for(r);
  if (status < 0)
    status = step_store(c, "discovery", &st);
  if (status < 0)
    status = discover_run(c, env, st, s, &t, rep);
  else
    asr_log(ASR_LOG_WARN, "discovery: exit %d after %lld ms", status,
            (long long)(asr_monotonic_ms() - t0));
  asr_store_close(st);
  asr_targets_free(&t);
  asr_cli_snmp_wipe(s);
  free(s);
  return status;
}

/* ---- polls --------------------------------------------------------------------------------- */

/* A device's trouble during a poll (asr_poll_event_cb): a printer that does not answer is
 * a warning, a store that takes nothing more an error. */
static void log_poll_event(const asr_poll_event *e, void *ctx)
{
  (void)ctx;
  switch (e->kind) {
  case ASR_POLL_FAILED:
    asr_log(ASR_LOG_WARN, "%s: not polled: %s", e->address, e->detail);
    break;
  case ASR_POLL_HELD:
    asr_log(ASR_LOG_WARN, "%s: %s%s: not saved", e->address,
            e->conflict ? "identity conflict: " : "", e->detail);
    break;
  case ASR_POLL_NOT_SAVED:
    asr_log(ASR_LOG_ERR, "%s: reading not saved: %s", e->address, e->detail);
    break;
  case ASR_POLL_STORE_STOPPED:
    asr_log(ASR_LOG_ERR, "poll: %s", e->detail);
    break;
  case ASR_POLL_UNMATCHED:
    break; /* the daemon polls every device */
  }
}

int asr_step_poll(const asr_conf *c, const asr_step_env *env, asr_poll_report *rep)
{
  asr_poll_opts o;
  asr_store *st = NULL;
  char line[160] = "";
  int64_t t0 = asr_monotonic_ms();
  int status;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  status = step_store(c, "poll", &st);
  if (status >= 0)
    goto out;
  asr_poll_opts_init(&o);
  o.st = st;
  o.health = env->health;
  o.on_event = log_poll_event;
  engine_opts(c, env, c->poll_deadline, c->poll_interval, &o.scan);
  r = asr_poll(&o, rep);
  status = asr_cli_poll_status(r, rep);
  if (r && !rep->ran && r != ASR_ERR_NOT_FOUND)
    asr_log(ASR_LOG_ERR, "poll: %s", asr_store_errmsg(st));
  else if (r && rep->ran)
    asr_log(ASR_LOG_ERR, "poll failed: %s", asr_result_str(r));
  if (rep->ran && asr_poll_summary(rep, line, sizeof(line)) == ASR_OK)
    asr_log(ASR_LOG_INFO, "%s", line);
out:
  asr_log(status == ASR_EXIT_OK ? ASR_LOG_INFO : ASR_LOG_WARN, "poll: exit %d after %lld ms",
          status, (long long)(asr_monotonic_ms() - t0));
  asr_store_close(st);
  return status;
}

/* ---- upload -------------------------------------------------------------------------------- */

static void log_upload(asr_result r, const asr_upload_report *rep)
{
  const asr_uplink_report *u = &rep->up;
  char line[320];

  if (!rep->enrolled) {
    asr_log(ASR_LOG_ERR, "upload: not enrolled");
    return;
  }
  if (!rep->ran) {
    asr_log(ASR_LOG_ERR, "upload: %s", rep->error[0] ? rep->error : asr_result_str(r));
    return;
  }
  if (r)
    asr_log(ASR_LOG_ERR, "upload: %s", u->error[0] ? u->error : asr_result_str(r));
  if (u->outbox_full)
    asr_log(ASR_LOG_ERR,
            "upload: the outbox is over its bound with undelivered batches (all kept)");
  if (u->readings_refused > 0 || u->events_refused > 0)
    asr_log(ASR_LOG_WARN, "upload: the central refused %lld readings and %lld events",
            (long long)u->readings_refused, (long long)u->events_refused);
  if (u->ids_reused > 0)
    asr_log(ASR_LOG_WARN,
            "upload: the central had committed %zu of these batch ids with another content: was"
            " this database restored from a backup or copied to another machine?",
            u->ids_reused);
  if (asr_upload_summary(rep, line, sizeof(line)) == ASR_OK)
    asr_log(ASR_LOG_INFO, "%s", line);
}

int asr_step_upload(const asr_conf *c, const asr_step_env *env, asr_upload_report *rep)
{
  asr_upload_opts o;
  asr_store *st = NULL;
  int64_t t0 = asr_monotonic_ms();
  int status;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  status = step_store(c, "upload", &st);
  if (status >= 0)
    goto out;
  asr_upload_opts_init(&o);
  o.st = st;
  o.uplink.max_wait_s = 2;
  o.uplink.outbox_max_bytes = (int64_t)c->outbox_max_mb << 20;
  o.connect_timeout_ms = 15000;
  o.timeout_ms = 240000;
  o.tick = env->tick;
  o.tick_ctx = env->tick_ctx;
  r = asr_upload(&o, rep);
  status = asr_cli_upload_status(r, rep);
  log_upload(r, rep);
out:
  asr_log(status == ASR_EXIT_OK ? ASR_LOG_INFO : ASR_LOG_WARN, "upload: exit %d after %lld ms",
          status, (long long)(asr_monotonic_ms() - t0));
  asr_store_close(st);
  return status;
}

/* ---- enrolment ----------------------------------------------------------------------------- */

/* A file setting as an absolute path ("" stays ""); false (logged) when it does not exist. */
static bool abs_path(const char *name, const char *v, char *out, size_t n)
{
  out[0] = '\0';
  if (!v[0] || asr_platform_realpath(v, out, n))
    return true;
  asr_log(ASR_LOG_ERR, "enrolment: %s: %s: no such file or directory (or path too long)", name, v);
  return false;
}

/* The enrolment settings of c into s (file settings made absolute); -1 to go on, else the
 * exit status (logged). */
static int enroll_settings(const asr_conf *c, asr_outbox_cred *s)
{
  char err[1280];

  memset(s, 0, sizeof(*s));
  if (asr_strlcpy(s->endpoint, c->endpoint, sizeof(s->endpoint)) != ASR_OK ||
      asr_strlcpy(s->pin, c->pin, sizeof(s->pin)) != ASR_OK ||
      asr_strlcpy(s->proxy, c->proxy, sizeof(s->proxy)) != ASR_OK)
    return ASR_EXIT_USAGE;
  if (!abs_path("ca_file", c->ca_file, s->ca_file, sizeof(s->ca_file)) ||
      !abs_path("ca_path", c->ca_path, s->ca_path, sizeof(s->ca_path)) ||
      !abs_path("client_cert", c->client_cert, s->client_cert, sizeof(s->client_cert)) ||
      !abs_path("client_key", c->client_key, s->client_key, sizeof(s->client_key)) ||
      !abs_path("proxy_user_file", c->proxy_user_file, s->proxy_user_file,
                sizeof(s->proxy_user_file)))
    return ASR_EXIT_USAGE;
  if (asr_enroll_check_settings(s, err, sizeof(err)) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "enrolment: %s", err);
    return ASR_EXIT_USAGE;
  }
  return -1;
}

/* The site token of token_file and the proxy's credentials; -1 to go on, else the exit
 * status (logged). */
static int enroll_secrets(const char *token_file, const asr_outbox_cred *s, char *token, size_t tn,
                          char *proxy_user, size_t pn)
{
  char err[640];

  if (asr_secret_from_file(token_file, "token", token, tn, err, sizeof(err)) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "enrolment: site token: %s", err);
    return ASR_EXIT_USAGE;
  }
  if (asr_enroll_check_token(token) != ASR_OK) {
    asr_log(ASR_LOG_ERR,
            "enrolment: the site token in %s is malformed (it looks like st_ and "
            "32 hex digits)",
            token_file);
    return ASR_EXIT_USAGE;
  }
  if (asr_proxy_user_read(s->proxy_user_file, proxy_user, pn, err, sizeof(err)) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "enrolment: %s", err);
    return ASR_EXIT_USAGE;
  }
  return -1;
}

static int enroll_run(const asr_outbox_cred *s, const char *token, const char *proxy_user,
                      asr_store *st, asr_enroll_report *rep)
{
  asr_enroll_opts o = {.st = st,
                       .settings = s,
                       .token = token,
                       .proxy_user = proxy_user,
                       .connect_timeout_ms = 5000,
                       .timeout_ms = 10000};
  asr_result r = asr_enroll(&o, rep);

  if (r == ASR_OK)
    asr_log(ASR_LOG_INFO, "enrolment: agent %s, site %s, endpoint %s", rep->agent_id,
            rep->site[0] ? rep->site : "-", s->endpoint);
  else if (rep->already)
    asr_log(ASR_LOG_ERR, "enrolment: already enrolled as %s with %s", rep->old_agent_id,
            rep->old_endpoint);
  else if (rep->enrolled)
    asr_log(ASR_LOG_ERR, "enrolment: enrolled as %s but not saved: %s", rep->agent_id, rep->error);
  else
    asr_log(ASR_LOG_ERR, "enrolment failed: %s", rep->error[0] ? rep->error : asr_result_str(r));
  return asr_cli_enroll_status(r, rep);
}

int asr_step_enroll(const asr_conf *c, const char *token_file, asr_enroll_report *rep)
{
  asr_outbox_cred s;
  asr_store *st = NULL;
  char token[256] = "", proxy_user[512] = "";
  int64_t t0 = asr_monotonic_ms();
  int status;

  memset(rep, 0, sizeof(*rep));
  status = enroll_settings(c, &s);
  if (status < 0)
    status = enroll_secrets(token_file, &s, token, sizeof(token), proxy_user, sizeof(proxy_user));
  if (status < 0)
    status = step_store(c, "enrolment", &st);
  if (status < 0)
    status = enroll_run(&s, token, proxy_user, st, rep);
  asr_log(status == ASR_EXIT_OK ? ASR_LOG_INFO : ASR_LOG_WARN, "enrolment: exit %d after %lld ms",
          status, (long long)(asr_monotonic_ms() - t0));
  asr_store_close(st);
  asr_secret_wipe(token, sizeof(token));
  asr_secret_wipe(proxy_user, sizeof(proxy_user));
  asr_secret_wipe(&s, sizeof(s));
  return status;
}

/* ---- pruning ------------------------------------------------------------------------------- */

asr_result asr_step_prune(const asr_conf *c, int64_t now, asr_prune_report *rep)
{
  asr_store *st = NULL;
  char err[512] = "";
  asr_prune_opts o = {.before = now - c->retention};
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  r = asr_store_open(c->database, &st, err, sizeof(err));
  o.st = st;
  if (!r)
    r = asr_prune(&o, rep);
  if (r)
    asr_log(ASR_LOG_ERR, "pruning: %s", st ? asr_store_errmsg(st) : err);
  else
    asr_log(ASR_LOG_INFO, "pruning: %lld readings older than %lld days removed",
            (long long)rep->readings, (long long)(c->retention / DAY));
  asr_store_close(st);
  return r;
}
