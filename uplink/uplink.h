/* uplink/uplink.h: enrolment and the upload run (docs/protocol.md).
 *
 * The upload run first builds batches of every reading not batched yet (or a heartbeat
 * when a quiet day is over), then sends every pending batch in order, each until the
 * central acknowledges it or the retry policy gives up (asr_uplink_decide). A batch is
 * marked delivered only after the 2xx. The retry policy is pure functions, tested
 * without a network. */
#ifndef ASR_UPLINK_H
#define ASR_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/outbox.h"
#include "store/store.h"
#include "wire/http.h"

#define ASR_UPLINK_BACKOFF_BASE_MS 1000
#define ASR_UPLINK_BACKOFF_CAP_MS 60000
#define ASR_UPLINK_MAX_WAIT_DEFAULT 300      /* seconds of retrying per run */
#define ASR_UPLINK_OUTBOX_MAX_MB_DEFAULT 100 /* outbox bound */
#define ASR_UPLINK_ENROLL_PATH "/v1/enroll"
#define ASR_UPLINK_BATCHES_PATH "/v1/batches"

/* What to do after one attempt to send a batch. */
typedef enum {
  ASR_UPLINK_DELIVERED = 0, /* 2xx: mark delivered */
  ASR_UPLINK_RETRY,         /* 5xx, 408, 429, timeout, connection error: wait and resend */
  ASR_UPLINK_SPLIT,         /* 413: replace by two halves */
  ASR_UPLINK_STOP,          /* 401, 403: stop uploading until re-enrolled */
  ASR_UPLINK_HOLD,          /* other 4xx: keep the batch aside with the reason */
  ASR_UPLINK_FAIL           /* TLS refused, bad setting, redirect: end the run, keep it */
} asr_uplink_action;

/* The action for an attempt: net is asr_http_post's result (retryable its flag),
 * status the HTTP status when net is ASR_OK. */
asr_uplink_action asr_uplink_decide(asr_result net, bool retryable, long status);

/* Name of an action ("delivered", "retry", ...). */
const char *asr_uplink_action_name(asr_uplink_action a);

/* Exponential backoff with jitter before retry number attempt (0 = first retry):
 * d = min(base * 2^attempt, cap); the wait is in [d/2, d], placed by rnd. */
int64_t asr_uplink_backoff_ms(unsigned attempt, uint32_t rnd);

/* The wait before the next attempt: Retry-After (seconds, -1 = none) when given, else
 * the backoff; -1 when it does not fit in remaining_ms (the run gives up). */
int64_t asr_uplink_next_wait_ms(unsigned attempt, int64_t retry_after, uint32_t rnd,
                                int64_t remaining_ms);

/* ---- enrolment ---- */

typedef struct {
  char agent_id[64];
  char secret[80];
  char site[256];
} asr_uplink_enrolment;

/* POSTs /v1/enroll to endpoint with the site token; fills out on 201. err receives a
 * message (never the token or the secret). ASR_ERR_AUTH when the central refused the
 * token (401), ASR_ERR_PROTOCOL for another answer or a malformed one, or the transport
 * error of asr_http_post. */
asr_result asr_uplink_enroll(const asr_http_opts *o, const char *endpoint, const char *token,
                             const char *hostname, const char *version, asr_uplink_enrolment *out,
                             char *err, size_t n);

/* Checks an enrolment answer: agent_id "ag_" + 32 hex, secret 64 hex, site a string. */
asr_result asr_uplink_parse_enrolment(const char *body, asr_uplink_enrolment *out);

/* ---- upload ---- */

typedef struct {
  asr_http_opts http;
  const char *agent_version;
  size_t max_readings;      /* per batch */
  unsigned max_wait_s;      /* retrying budget of the whole run */
  int64_t outbox_max_bytes; /* bound of the bodies kept */
  bool retry_auth;          /* clear a 401/403 stop first */
  bool retry_held;          /* send held batches again */
  bool no_build;            /* only send what is pending */
} asr_uplink_opts;

/* Sets the defaults. */
void asr_uplink_opts_init(asr_uplink_opts *o);

/* What a 2xx answer to a batch says besides "delivered" (docs/protocol.md, "Answers"):
 * the parts the central refused (each recorded as an asr_outbox_problem) and whether it
 * had committed another batch with this id. */
#define ASR_UPLINK_PROBLEMS_MAX 128 /* problems read from one answer (the rest counted) */

typedef struct {
  bool duplicate; /* "status": "duplicate" */
  bool id_reused; /* the id was committed before with another content */
  int64_t readings_refused, events_refused;
  size_t n;                          /* problems */
  asr_outbox_problem *problems;      /* malloc'd (asr_uplink_answer_free) */
  char warning[ASR_OUTBOX_TEXT_MAX]; /* the central's warning, one line, or "" */
} asr_uplink_answer;

/* Reads the answer body of a 2xx. Anything missing or malformed counts as nothing refused
 * (a central before issue 10 answers only status and readings). Strings are cleaned to
 * one printable line and bounded. ASR_ERR_NOMEM only. */
asr_result asr_uplink_parse_answer(const char *body, asr_uplink_answer *out);

/* Frees the problems of an answer. */
void asr_uplink_answer_free(asr_uplink_answer *a);

/* What a run did. */
typedef struct {
  size_t built, heartbeats, delivered, duplicates, held, splits;
  int64_t readings_delivered;
  int64_t readings_refused, events_refused; /* what the central did not store */
  size_t ids_reused;                        /* batches whose id the central had seen */
  int64_t pending_batches;                  /* still pending at the end */
  bool stopped;                             /* uploads are stopped (401/403) */
  bool outbox_full;                         /* undelivered data exceeds the outbox bound */
  char error[256];                          /* why the run did not deliver everything */
} asr_uplink_report;

/* Builds and sends (see the top of this file). ASR_OK when everything pending was
 * delivered; otherwise rep->error says why: ASR_ERR_AUTH (stopped, or TLS refused),
 * ASR_ERR_TIMEOUT (gave up retrying within max_wait_s), ASR_ERR_LIMIT (batches held),
 * or a store error. */
asr_result asr_uplink_upload(asr_store *st, const asr_outbox_cred *cred, const asr_uplink_opts *o,
                             asr_uplink_report *rep);

/* The HTTP settings of an enrolment (the strings point into c); proxy_userpwd is the
 * "user:password" read by the caller, or NULL. */
void asr_uplink_http_opts(const asr_outbox_cred *c, const char *proxy_userpwd, asr_http_opts *o);

/* The URL of a protocol path under an endpoint (a trailing '/' of the endpoint is
 * dropped). */
asr_result asr_uplink_url(const char *endpoint, const char *path, char *out, size_t n);

#endif
