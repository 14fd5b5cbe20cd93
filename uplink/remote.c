/* remote.c: the remote configuration's check-in (see remote.h). */
#include "uplink/remote.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "wire/sign.h"
#include "uplink/uplink.h"

void asr_remote_doc_free(asr_remote_doc *d)
{
  if (d->doc) {
    memset(d->doc, 0, strlen(d->doc));
    free(d->doc);
  }
  memset(d, 0, sizeof(*d));
}

/* The inner document's members, once its signature is known good. */
static asr_result check_doc(const char *agent_id, const char *text, int64_t now,
                            asr_remote_doc *out, char *err, size_t n)
{
  json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  const char *id = json_string_value(json_object_get(j, "agent_id"));
  json_t *v = json_object_get(j, "version"), *at = json_object_get(j, "issued_at");
  asr_result r = ASR_ERR_PROTOCOL;

  if (!json_is_object(j) || !json_is_integer(v) || json_integer_value(v) < 0 ||
      !json_is_integer(at) || !json_is_object(json_object_get(j, "values")) ||
      !json_is_object(json_object_get(j, "secrets")))
    asr_strlcpy_cut(err, "configuration: not a configuration document", n);
  else if (!id || strcmp(id, agent_id) != 0)
    asr_strlcpy_cut(err, "configuration: for another agent: refused", n), r = ASR_ERR_AUTH;
  else if (json_integer_value(at) < now - ASR_SIGN_MAX_SKEW ||
           json_integer_value(at) > now + ASR_SIGN_MAX_SKEW)
    asr_strlcpy_cut(
        err, "configuration: issued more than 300 s away from our clock (a replay?): refused", n),
        r = ASR_ERR_AUTH;
  else {
    out->version = json_integer_value(v);
    out->issued_at = json_integer_value(at);
    r = ASR_OK;
  }
  json_decref(j);
  return r;
}

asr_result asr_remote_verify(const char *secret_hex, const char *agent_id, const char *body,
                             int64_t now, asr_remote_doc *out, char *err, size_t n)
{
  json_t *j = body ? json_loads(body, JSON_REJECT_DUPLICATES, NULL) : NULL;
  const char *doc = json_string_value(json_object_get(j, "config"));
  const char *sig = json_string_value(json_object_get(j, "signature"));
  json_t *inner = NULL;
  int64_t at = -1;
  asr_result r = ASR_ERR_PROTOCOL;

  memset(out, 0, sizeof(*out));
  err[0] = '\0';
  if (!doc || !sig) {
    asr_strlcpy_cut(err, "configuration: the answer has no config and signature", n);
    goto out;
  }
  inner = json_loads(doc, 0, NULL);
  if (json_is_integer(json_object_get(inner, "issued_at")))
    at = json_integer_value(json_object_get(inner, "issued_at"));
  if (at < 0 ||
      asr_sign_verify(secret_hex, "CONFIG", ASR_REMOTE_PATH, at, doc, strlen(doc), sig) != ASR_OK) {
    asr_strlcpy_cut(err, "configuration: the signature does not match: refused", n);
    r = ASR_ERR_AUTH;
    goto out;
  }
  r = check_doc(agent_id, doc, now, out, err, n);
  if (!r && !(out->doc = strdup(doc)))
    r = ASR_ERR_NOMEM;
out:
  json_decref(inner);
  json_decref(j);
  return r;
}

static char *report_body(const char *agent_id, const asr_remote_report *rep)
{
  json_t *o = json_pack("{s:s,s:I,s:s,s:I}", "agent_id", agent_id, "applied",
                        (json_int_t)rep->applied, "error", rep->error ? rep->error : "",
                        "error_version", (json_int_t)rep->error_version);
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

  json_decref(o);
  return text;
}

asr_result asr_remote_checkin(const asr_http_opts *o, const asr_outbox_cred *cred,
                              const asr_remote_report *rep, asr_remote_doc *out, char *err,
                              size_t n)
{
  char url[1100], agent[96], stamp[64], sig[128], sighdr[160];
  const char *headers[] = {"Content-Type: application/json", agent, stamp, sighdr, NULL};
  int64_t now = asr_clock_wall();
  asr_http_response res;
  char *body = report_body(cred->agent_id, rep);
  asr_result r = body ? ASR_OK : ASR_ERR_NOMEM;

  memset(out, 0, sizeof(*out));
  memset(&res, 0, sizeof(res));
  err[0] = '\0';
  if (!r)
    r = asr_uplink_url(cred->endpoint, ASR_REMOTE_PATH, url, sizeof(url));
  if (!r)
    r = asr_sign_request(cred->secret, "POST", ASR_REMOTE_PATH, now, body, strlen(body), sig,
                         sizeof(sig));
  if (!r)
    r = asr_fmt(agent, sizeof(agent), "X-ASR-Agent: %s", cred->agent_id);
  if (!r)
    r = asr_fmt(stamp, sizeof(stamp), "X-ASR-Timestamp: %lld", (long long)now);
  if (!r)
    r = asr_fmt(sighdr, sizeof(sighdr), "X-ASR-Signature: %s", sig);
  if (r) {
    asr_strlcpy_cut(err, "configuration: cannot build the check-in", n);
    goto out;
  }
  r = asr_http_post(o, url, headers, body, strlen(body), &res);
  asr_log(ASR_LOG_INFO, "POST %s (configuration check-in) -> %ld %s", url, res.status,
          r ? res.error : "");
  if (r)
    asr_fmt_cut(err, n, "configuration: %s: %s", url, res.error);
  else if (res.status != 200) {
    asr_fmt_cut(err, n, "configuration: the central answered %ld", res.status);
    r = ASR_ERR_PROTOCOL;
  } else if (res.body_len > ASR_REMOTE_MAX_ANSWER) {
    asr_fmt_cut(err, n, "configuration: the answer is larger than %u bytes: refused",
                (unsigned)ASR_REMOTE_MAX_ANSWER);
    r = ASR_ERR_TOO_LARGE;
  } else
    r = asr_remote_verify(cred->secret, cred->agent_id, res.body, asr_clock_wall(), out, err, n);
out:
  free(body);
  asr_http_response_free(&res);
  return r;
}
