/* remote.h: the remote configuration's check-in, POST /v1/config (docs/protocol.md,
 * "Remote configuration"; issue 17).
 *
 * The agent signs its report (the version it applied, the last one it refused and why)
 * like a batch; the central answers {"config": DOC, "signature": SIG}, where DOC is a
 * JSON text {"agent_id", "version", "issued_at", "values", "secrets"} and SIG the HMAC
 * of the agent's secret over it (asr_sign_request with method "CONFIG", path
 * "/v1/config" and issued_at). Only this agent's central can make SIG; a document is
 * taken only for this agent, issued within ASR_SIGN_MAX_SKEW of the agent's clock. The
 * version check (never backwards) is the caller's, which knows what it applied. */
#ifndef ASR_REMOTE_H
#define ASR_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "store/outbox.h"
#include "wire/http.h"

#define ASR_REMOTE_PATH "/v1/config"
/* the longest answer taken: what asr_http_post keeps of one, less a byte (a longer one is
 * refused as too large, never parsed cut) */
#define ASR_REMOTE_MAX_ANSWER (ASR_HTTP_BODY_MAX - 1)

/* What the agent reports at a check-in. */
typedef struct {
  int64_t applied;       /* version applied, 0 = none */
  const char *error;     /* why error_version was refused, "" = nothing refused */
  int64_t error_version; /* the last version refused, 0 = none */
} asr_remote_report;

/* A verified configuration: doc is the signed JSON text (malloc'd, the caller frees it
 * with asr_remote_doc_free, which wipes it: it holds pass phrases). */
typedef struct {
  int64_t version, issued_at;
  char *doc;
} asr_remote_doc;

/* Checks a check-in answer body: signature, agent id, issued_at within ASR_SIGN_MAX_SKEW
 * of now. ASR_ERR_AUTH when forged, for another agent or stale (err says which),
 * ASR_ERR_PROTOCOL when malformed. */
asr_result asr_remote_verify(const char *secret_hex, const char *agent_id, const char *body,
                             int64_t now, asr_remote_doc *out, char *err, size_t n);

/* POSTs the report, signed, and verifies the answer into out. Transport errors, non-200
 * answers and answers over ASR_REMOTE_MAX_ANSWER (ASR_ERR_TOO_LARGE) come back with err
 * set. */
asr_result asr_remote_checkin(const asr_http_opts *o, const asr_outbox_cred *cred,
                              const asr_remote_report *rep, asr_remote_doc *out, char *err,
                              size_t n);

void asr_remote_doc_free(asr_remote_doc *d);

#endif
