/* uplink/uplink.c: enrolment and the upload run.
 *
 * Reading order: the retry policy (pure), enrolment, then the run: build, send each
 * pending batch with its retries, bound the outbox.
 *
 * Exactly once, step by step: a batch is built and its readings marked in one store
 * transaction (uplink/batch.c); it is sent with the same bytes until a 2xx; only then is
 * it marked delivered, with what the central refused of it, in one transaction. Killed
 * between the central's commit and our mark, the next run sends the same batch id again
 * and the central answers "duplicate". A 413 replaces the batch by two halves in one
 * transaction: safe, the central did not commit it. Batch ids carry a random part, so a
 * database restored from a backup never sends an id the central has committed. */
#include "uplink/uplink.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/clock.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "uplink/batch.h"
#include "wire/sign.h"

/* ---- the retry policy ---- */

asr_uplink_action asr_uplink_decide(asr_result net, bool retryable, long status)
{
  if (net != ASR_OK)
    return retryable ? ASR_UPLINK_RETRY : ASR_UPLINK_FAIL;
  if (status >= 200 && status < 300)
    return ASR_UPLINK_DELIVERED;
  if (status == 401 || status == 403)
    return ASR_UPLINK_STOP;
  if (status == 413)
    return ASR_UPLINK_SPLIT;
  if (status == 408 || status == 429 || status >= 500)
    return ASR_UPLINK_RETRY;
  if (status >= 400)
    return ASR_UPLINK_HOLD;
  return ASR_UPLINK_FAIL; /* 1xx, 3xx: not the protocol (a redirecting endpoint) */
}

const char *asr_uplink_action_name(asr_uplink_action a)
{
  static const char *const names[] = {"delivered", "retry", "split", "stop", "hold", "fail"};

  return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}

int64_t asr_uplink_backoff_ms(unsigned attempt, uint32_t rnd)
{
  int64_t d = ASR_UPLINK_BACKOFF_BASE_MS;

  for (unsigned i = 0; i < attempt && d < ASR_UPLINK_BACKOFF_CAP_MS; i++)
    d *= 2;
  if (d > ASR_UPLINK_BACKOFF_CAP_MS)
    d = ASR_UPLINK_BACKOFF_CAP_MS;
  return d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

int64_t asr_uplink_next_wait_ms(unsigned attempt, int64_t retry_after, uint32_t rnd,
                                int64_t remaining_ms)
{
  int64_t wait;

  if (retry_after >= 0)
    wait = retry_after > INT32_MAX ? (int64_t)INT32_MAX * 1000 : retry_after * 1000;
  else
    wait = asr_uplink_backoff_ms(attempt, rnd);
  return wait <= remaining_ms ? wait : -1;
}

static uint32_t jitter(void)
{
  char hex[9];
  uint32_t v = 0;

  if (asr_sign_random_hex(hex, 4) != ASR_OK)
    return (uint32_t)asr_monotonic_ms();
  for (int i = 0; i < 8; i++)
    v = v << 4 | (uint32_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
  return v;
}

static void sleep_ms(int64_t ms)
{
  asr_platform_sleep_ms(ms);
}

asr_result asr_uplink_url(const char *endpoint, const char *path, char *out, size_t n)
{
  size_t len = strlen(endpoint);

  while (len > 0 && endpoint[len - 1] == '/')
    len--;
  return asr_fmt(out, n, "%.*s%s", (int)len, endpoint, path);
}

void asr_uplink_http_opts(const asr_outbox_cred *c, const char *proxy_userpwd, asr_http_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->ca_file = c->ca_file;
  o->ca_path = c->ca_path;
  o->pin = c->pin;
  o->client_cert = c->client_cert;
  o->client_key = c->client_key;
  o->proxy = c->proxy;
  o->proxy_userpwd = proxy_userpwd;
}

/* The "error" text of a JSON error body, cleaned to one printable line. */
static void answer_error(const char *body, char *out, size_t n)
{
  json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  const char *e = json_string_value(json_object_get(j, "error"));

  asr_text_clean(out, n, e ? e : "no error text", ASR_TEXT_SPACE); /* cut to fit */
  json_decref(j);
}

/* ---- the answer to a batch ---- */

static int64_t member_int(const json_t *o, const char *name, int64_t dflt)
{
  const json_t *v = json_object_get(o, name);

  return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : dflt;
}

/* One element of "refused" into p; false when it is not an object naming what. */
static bool refused_entry(const json_t *e, asr_outbox_problem *p)
{
  const char *what = json_string_value(json_object_get(e, "what"));

  memset(p, 0, sizeof(*p));
  if (!json_is_object(e) || !what)
    return false;
  asr_text_clean(p->what, sizeof(p->what), what, ASR_TEXT_SPACE);
  asr_text_clean(p->device, sizeof(p->device), json_string_value(json_object_get(e, "device")),
                 ASR_TEXT_SPACE);
  asr_text_clean(p->error, sizeof(p->error), json_string_value(json_object_get(e, "error")),
                 ASR_TEXT_SPACE);
  p->t = member_int(e, "t", -1);
  p->readings = member_int(e, "readings", strcmp(what, "reading") == 0);
  p->events = member_int(e, "events", strcmp(what, "event") == 0);
  return true;
}

/* The refusals the answer counted but did not list, as one "more" problem. */
static void refused_more(asr_uplink_answer *a, int64_t listed_r, int64_t listed_e, int64_t more)
{
  asr_outbox_problem *p = &a->problems[a->n];
  int64_t r = a->readings_refused - listed_r, e = a->events_refused - listed_e;

  if (more <= 0 && r <= 0 && e <= 0)
    return;
  memset(p, 0, sizeof(*p));
  asr_strlcpy_cut(p->what, "more", sizeof(p->what));
  p->t = -1;
  p->readings = r > 0 ? r : 0;
  p->events = e > 0 ? e : 0;
  asr_fmt_cut(p->error, sizeof(p->error), "%lld more refused parts not listed by the central",
              (long long)(more > 0 ? more : 0));
  a->n++;
}

asr_result asr_uplink_parse_answer(const char *body, asr_uplink_answer *out)
{
  json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
  const json_t *list = json_object_get(j, "refused");
  const char *status = json_string_value(json_object_get(j, "status"));
  int64_t listed_r = 0, listed_e = 0;
  size_t n = json_array_size(list);

  memset(out, 0, sizeof(*out));
  out->problems = calloc(ASR_UPLINK_PROBLEMS_MAX + 2, sizeof(*out->problems));
  if (!out->problems) {
    json_decref(j);
    return ASR_ERR_NOMEM;
  }
  out->duplicate = status && strcmp(status, "duplicate") == 0;
  out->id_reused = json_is_true(json_object_get(j, "id_reused"));
  out->readings_refused = member_int(j, "readings_refused", 0);
  out->events_refused = member_int(j, "events_refused", 0);
  asr_text_clean(out->warning, sizeof(out->warning),
                 json_string_value(json_object_get(j, "warning")), ASR_TEXT_SPACE);
  for (size_t i = 0; i < n && out->n < ASR_UPLINK_PROBLEMS_MAX; i++) {
    if (!refused_entry(json_array_get(list, i), &out->problems[out->n]))
      continue;
    listed_r += out->problems[out->n].readings;
    listed_e += out->problems[out->n].events;
    out->n++;
  }
  refused_more(out, listed_r, listed_e, member_int(j, "refused_more", 0) + (int64_t)(n - out->n));
  if (out->id_reused) {
    asr_outbox_problem *p = &out->problems[out->n++];

    memset(p, 0, sizeof(*p));
    asr_strlcpy_cut(p->what, "id_reused", sizeof(p->what));
    p->t = -1;
    asr_strlcpy_cut(p->error, out->warning[0] ? out->warning : "the batch id was already committed",
                    sizeof(p->error));
  }
  json_decref(j);
  return ASR_OK;
}

void asr_uplink_answer_free(asr_uplink_answer *a)
{
  if (!a)
    return;
  free(a->problems);
  a->problems = NULL;
  a->n = 0;
}

/* ---- enrolment ---- */

asr_result asr_uplink_parse_enrolment(const char *body, asr_uplink_enrolment *out)
{
  json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  const char *id = json_string_value(json_object_get(j, "agent_id"));
  const char *secret = json_string_value(json_object_get(j, "secret"));
  const char *site = json_string_value(json_object_get(j, "site"));
  asr_result r = ASR_ERR_PROTOCOL;

  memset(out, 0, sizeof(*out));
  if (id && strncmp(id, "ag_", 3) == 0 && asr_hex_is(id + 3, 32) && asr_hex_is(secret, 64)) {
    r = asr_strlcpy(out->agent_id, id, sizeof(out->agent_id)); /* 35 and 64 bytes: they fit */
    if (!r)
      r = asr_strlcpy(out->secret, secret, sizeof(out->secret));
    if (site && asr_strlcpy(out->site, site, sizeof(out->site)) != ASR_OK)
      out->site[0] = '\0';
  }
  json_decref(j);
  return r;
}

/* The enrolment request body; NULL when out of memory. */
static char *enroll_body(const char *token, const char *hostname, const char *version)
{
  json_t *o = json_object();
  char *text = NULL;

  if (o && !json_object_set_new(o, "site_token", json_string(token)) &&
      !json_object_set_new(o, "hostname", json_string(hostname ? hostname : "")) &&
      !json_object_set_new(o, "agent_version", json_string(version)))
    text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

/* What an enrolment answer means. */
static asr_result enroll_answer(const asr_http_response *res, asr_uplink_enrolment *out, char *err,
                                size_t n)
{
  char why[200];

  if (res->status == 201 || res->status == 200) {
    if (asr_uplink_parse_enrolment(res->body, out) == ASR_OK)
      return ASR_OK;
    asr_strlcpy_cut(err, "the central's answer is not an enrolment (agent_id, secret)", n);
    return ASR_ERR_PROTOCOL;
  }
  answer_error(res->body, why, sizeof(why));
  if (res->status == 401 || res->status == 403) {
    asr_fmt_cut(err, n, "the central refused the site token (%ld): %s", res->status, why);
    return ASR_ERR_AUTH;
  }
  asr_fmt_cut(err, n, "the central answered %ld: %s", res->status, why);
  return ASR_ERR_PROTOCOL;
}

asr_result asr_uplink_enroll(const asr_http_opts *o, const char *endpoint, const char *token,
                             const char *hostname, const char *version, asr_uplink_enrolment *out,
                             char *err, size_t n)
{
  static const char *const headers[] = {"Content-Type: application/json", NULL};
  asr_http_response res;
  char url[1100];
  char *body = NULL;
  asr_result r;

  err[0] = '\0';
  r = asr_uplink_url(endpoint, ASR_UPLINK_ENROLL_PATH, url, sizeof(url));
  if (r)
    return r;
  body = enroll_body(token, hostname, version);
  if (!body)
    return ASR_ERR_NOMEM;
  asr_log(ASR_LOG_INFO, "POST %s (enrolment)", url);
  r = asr_http_post(o, url, headers, body, strlen(body), &res);
  if (r)
    asr_fmt_cut(err, n, "%s: %s", url, res.error);
  else
    r = enroll_answer(&res, out, err, n);
  asr_log(ASR_LOG_INFO, "POST %s -> %ld %s", url, res.status, asr_result_str(r));
  asr_secret_wipe(body, strlen(body));
  free(body);
  asr_http_response_free(&res);
  return r;
}

/* ---- the upload run ---- */

typedef struct {
  asr_store *st;
  const asr_outbox_cred *cred;
  const asr_uplink_opts *o;
  asr_uplink_report *rep;
  char url[1100];
  int64_t deadline_ms; /* monotonic: retrying stops here */
} run_ctx;

/* Signs and POSTs one batch body. */
static asr_result post_batch(run_ctx *x, const asr_outbox_batch *b, asr_http_response *res)
{
  char agent[96], stamp[64], sig[128], sighdr[160];
  const char *headers[] = {
      "Content-Type: application/json", "Content-Encoding: gzip", agent, stamp, sighdr, NULL};
  int64_t now = asr_clock_wall(); /* checked against the central's clock: never simulated */
  asr_result r;

  r = asr_sign_request(x->cred->secret, "POST", ASR_UPLINK_BATCHES_PATH, now, b->body, b->body_len,
                       sig, sizeof(sig));
  if (!r)
    r = asr_fmt(agent, sizeof(agent), "X-ASR-Agent: %s", x->cred->agent_id);
  if (!r)
    r = asr_fmt(stamp, sizeof(stamp), "X-ASR-Timestamp: %lld", (long long)now);
  if (!r)
    r = asr_fmt(sighdr, sizeof(sighdr), "X-ASR-Signature: %s", sig);
  if (r) {
    memset(res, 0, sizeof(*res));
    asr_strlcpy_cut(res->error, "cannot sign the request (is the stored secret intact?)",
                    sizeof(res->error));
    return ASR_ERR_INVALID;
  }
  return asr_http_post(&x->o->http, x->url, headers, b->body, b->body_len, res);
}

/* Says what the central refused of batch b, and a reused id (the log and the report). */
static void tell_problems(run_ctx *x, const asr_outbox_batch *b, const asr_uplink_answer *a)
{
  const asr_outbox_problem *first = a->n > 0 ? &a->problems[0] : NULL;

  x->rep->readings_refused += a->readings_refused;
  x->rep->events_refused += a->events_refused;
  if (a->readings_refused > 0 || a->events_refused > 0)
    asr_log(ASR_LOG_WARN,
            "batch %s: the central refused %lld readings and %lld events (first: %s %s: %s);"
            " the rest is stored",
            b->batch_id, (long long)a->readings_refused, (long long)a->events_refused,
            first ? first->what : "?", first && first->device[0] ? first->device : "?",
            first ? first->error : "?");
  if (a->id_reused) {
    x->rep->ids_reused++;
    asr_log(ASR_LOG_WARN,
            "batch %s: the central had committed another batch with this id (%s); this one was"
            " stored too: was this database restored from a backup or copied to another machine?",
            b->batch_id, a->warning[0] ? a->warning : "no detail");
  }
}

/* A 2xx: the batch is delivered, with what the central refused of it (one transaction). */
static asr_result on_delivered(run_ctx *x, const asr_outbox_batch *b, const asr_http_response *res)
{
  json_t *j = json_loads(res->body, 0, NULL);
  const char *id = json_string_value(json_object_get(j, "batch_id"));
  asr_uplink_answer a;
  asr_result r = asr_uplink_parse_answer(res->body, &a);

  if (!r)
    r = asr_outbox_delivered_problems(x->st, b->seq, b->batch_id, asr_now(), a.problems, a.n);
  if (!r) {
    x->rep->delivered++;
    x->rep->readings_delivered +=
        a.readings_refused < b->n_readings ? b->n_readings - a.readings_refused : 0;
    if (a.duplicate)
      x->rep->duplicates++;
    if (id && strcmp(id, b->batch_id) != 0)
      asr_log(ASR_LOG_WARN, "batch %s: the central acknowledged %s", b->batch_id, id);
    tell_problems(x, b, &a);
  }
  asr_uplink_answer_free(&a);
  json_decref(j);
  return r;
}

/* The reason of a refused or failed attempt, one line. */
static void attempt_reason(asr_result net, const asr_http_response *res, char *out, size_t n)
{
  char why[200];

  if (net != ASR_OK) {
    asr_strlcpy_cut(out, res->error[0] ? res->error : asr_result_str(net), n);
    return;
  }
  answer_error(res->body, why, sizeof(why));
  asr_fmt_cut(out, n, "HTTP %ld: %s", res->status, why);
}

/* Waits before a retry; false when the run's budget is spent. */
static bool wait_retry(run_ctx *x, const asr_outbox_batch *b, unsigned attempt, int64_t retry_after,
                       const char *reason)
{
  int64_t remaining = x->deadline_ms - asr_monotonic_ms();
  int64_t wait = asr_uplink_next_wait_ms(attempt, retry_after, jitter(), remaining);

  asr_outbox_attempt_failed(x->st, b->seq, reason, asr_now() + (wait > 0 ? wait / 1000 : 0));
  if (wait < 0) {
    asr_fmt_cut(x->rep->error, sizeof(x->rep->error), "gave up after %u %s: %s", attempt + 1,
                asr_plural(attempt + 1, "attempt", "attempts"), reason);
    return false;
  }
  asr_log(ASR_LOG_INFO, "batch %s: %s; retrying in %lld ms", b->batch_id, reason, (long long)wait);
  sleep_ms(wait);
  return true;
}

/* Applies a non-delivered, non-retried action. Returns the run's result so far:
 * ASR_OK to go on with the next batch. */
static asr_result on_refused(run_ctx *x, const asr_outbox_batch *b, asr_uplink_action a,
                             const char *reason)
{
  asr_batch_opts bo = {x->cred->agent_id, x->o->agent_version, asr_now(), x->o->max_readings};
  asr_result r;

  if (a == ASR_UPLINK_SPLIT) {
    r = asr_batch_split(x->st, &bo, b);
    if (r != ASR_ERR_LIMIT) {
      x->rep->splits += r ? 0 : 1;
      return r;
    }
    a = ASR_UPLINK_HOLD; /* a batch of one reading that is too large is held */
    reason = "too large for the central even alone (413)";
  }
  switch (a) {
  case ASR_UPLINK_STOP:
    asr_log(ASR_LOG_ERR, "the central refused our credentials: uploads stopped (%s)", reason);
    asr_outbox_set_stopped(x->st, reason);
    x->rep->stopped = true;
    asr_fmt_cut(x->rep->error, sizeof(x->rep->error), "uploads stopped: %s", reason);
    return ASR_ERR_AUTH;
  case ASR_UPLINK_HOLD:
    asr_log(ASR_LOG_ERR, "batch %s held aside: %s", b->batch_id, reason);
    x->rep->held++;
    return asr_outbox_hold(x->st, b->seq, reason, asr_now());
  default:
    asr_outbox_attempt_failed(x->st, b->seq, reason, asr_now());
    asr_strlcpy_cut(x->rep->error, reason, sizeof(x->rep->error));
    return ASR_ERR_AUTH;
  }
}

/* Sends one batch until delivered, refused, or the retry budget is spent. */
static asr_result send_batch(run_ctx *x, const asr_outbox_batch *b)
{
  char reason[256];

  for (unsigned attempt = 0;; attempt++) {
    asr_http_response res;
    asr_result net = post_batch(x, b, &res);
    asr_uplink_action a = asr_uplink_decide(net, res.retryable, res.status);
    asr_result r = ASR_OK;

    asr_log(ASR_LOG_INFO, "POST %s batch %s (%zu bytes, %lld readings) attempt %u -> %ld %s",
            x->url, b->batch_id, b->body_len, (long long)b->n_readings, attempt + 1, res.status,
            net ? res.error : asr_uplink_action_name(a));
    attempt_reason(net, &res, reason, sizeof(reason));
    if (a == ASR_UPLINK_DELIVERED)
      r = on_delivered(x, b, &res);
    else if (a == ASR_UPLINK_RETRY && !wait_retry(x, b, attempt, res.retry_after, reason))
      r = ASR_ERR_TIMEOUT;
    else if (a != ASR_UPLINK_RETRY)
      r = on_refused(x, b, a, reason);
    asr_http_response_free(&res);
    if (a != ASR_UPLINK_RETRY || r)
      return r;
  }
}

/* Sends every pending batch in order. */
static asr_result send_all(run_ctx *x)
{
  asr_outbox_batch b;
  int64_t pos = -1, seq = -1;
  asr_result r = ASR_OK;

  while (!r) {
    r = asr_outbox_next_pending(x->st, pos, seq, &b);
    if (r == ASR_ERR_NOT_FOUND)
      return ASR_OK;
    if (r)
      break;
    r = send_batch(x, &b);
    pos = b.position;
    seq = b.seq;
    asr_outbox_batch_free(&b);
  }
  return r;
}

/* Builds batches of every new reading, and a heartbeat when one is due. */
static asr_result build_all(run_ctx *x)
{
  asr_batch_opts bo = {x->cred->agent_id, x->o->agent_version, asr_now(), x->o->max_readings};
  asr_batch_built built;
  int64_t last = 0;
  bool has_new = false, pending = false;
  asr_result r;

  r = asr_outbox_has_new(x->st, &has_new);
  if (!r)
    r = asr_outbox_activity(x->st, &last, &pending);
  if (!r && asr_batch_heartbeat_due(has_new, pending, last, bo.now)) {
    r = asr_batch_build(x->st, &bo, true, &built);
    x->rep->heartbeats += r ? 0 : 1;
    return r;
  }
  do {
    r = asr_batch_build(x->st, &bo, false, &built);
    if (!r && built.seq) {
      x->rep->built++;
      asr_log(ASR_LOG_INFO, "built batch %lld: %zu readings of %zu devices, %zu bytes (%zu JSON)",
              (long long)built.seq, built.n_readings, built.n_devices, built.body_len,
              built.json_len);
    }
  } while (!r && built.seq);
  return r;
}

/* Keeps the outbox under its bound; says so loudly when undelivered data exceeds it. */
static void bound_outbox(run_ctx *x)
{
  int64_t undelivered = 0;

  if (asr_outbox_prune(x->st, x->o->outbox_max_bytes, &undelivered) != ASR_OK)
    return;
  asr_outbox_set_full(x->st, undelivered > x->o->outbox_max_bytes);
  if (undelivered > x->o->outbox_max_bytes) {
    x->rep->outbox_full = true;
    asr_log(ASR_LOG_ERR,
            "outbox: %lld bytes of undelivered batches exceed the bound of %lld bytes;"
            " they are all kept: check the connection to the central",
            (long long)undelivered, (long long)x->o->outbox_max_bytes);
  }
}

/* Refuses to run while stopped (401/403), unless told to try again. */
static asr_result check_stopped(run_ctx *x)
{
  asr_outbox_status s;
  asr_result r = asr_outbox_get_status(x->st, &s);

  if (r || !s.stopped[0])
    return r;
  if (x->o->retry_auth) {
    asr_log(ASR_LOG_WARN, "uploads were stopped (%s): trying again (--retry-auth)", s.stopped);
    return asr_outbox_set_stopped(x->st, "");
  }
  x->rep->stopped = true;
  asr_fmt_cut(x->rep->error, sizeof(x->rep->error),
              "uploads are stopped: %s (re-enroll, or upload --retry-auth)", s.stopped);
  return ASR_ERR_AUTH;
}

void asr_uplink_opts_init(asr_uplink_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->agent_version = "0";
  o->max_readings = ASR_BATCH_MAX_READINGS_DEFAULT;
  o->max_wait_s = ASR_UPLINK_MAX_WAIT_DEFAULT;
  o->outbox_max_bytes = (int64_t)ASR_UPLINK_OUTBOX_MAX_MB_DEFAULT << 20;
}

/* The end of a run: the error recorded for status, the counts. */
static void finish_run(run_ctx *x, asr_result r)
{
  asr_outbox_status s;

  if (r == ASR_ERR_LIMIT && !x->rep->error[0])
    asr_fmt_cut(x->rep->error, sizeof(x->rep->error), "%zu %s held aside", x->rep->held,
                asr_plural((long long)x->rep->held, "batch", "batches"));
  else if (r && !x->rep->error[0])
    asr_strlcpy_cut(x->rep->error, asr_store_errmsg(x->st), sizeof(x->rep->error));
  if (r)
    asr_outbox_set_error(x->st, x->rep->error, asr_now());
  else
    asr_outbox_set_error(x->st, "", 0); /* everything went: no error to show */
  if (asr_outbox_get_status(x->st, &s) == ASR_OK)
    x->rep->pending_batches = s.pending_batches;
}

asr_result asr_uplink_upload(asr_store *st, const asr_outbox_cred *cred, const asr_uplink_opts *o,
                             asr_uplink_report *rep)
{
  run_ctx x = {st, cred, o, rep, "", 0};
  int64_t released = 0;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  x.deadline_ms = asr_monotonic_ms() + (int64_t)o->max_wait_s * 1000;
  r = asr_uplink_url(cred->endpoint, ASR_UPLINK_BATCHES_PATH, x.url, sizeof(x.url));
  if (!r)
    r = check_stopped(&x);
  if (!r && o->retry_held)
    r = asr_outbox_release_held(st, &released);
  if (!r && !o->no_build)
    r = build_all(&x);
  if (!r)
    r = send_all(&x);
  bound_outbox(&x);
  if (!r && rep->held)
    r = ASR_ERR_LIMIT;
  finish_run(&x, r);
  return r;
}
