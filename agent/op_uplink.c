/* op_uplink.c: the upload and the enrolment as library entry points (agent/ops.h), and
 * the proxy credentials they share. The transfers are uplink/'s (uplink/uplink.h); this
 * file takes the enrolment from the store, sets up the HTTP library around one run and
 * turns what happened into a report. The site token, the agent's secret and the proxy's
 * password are wiped after use and never put into a report. */
#include <string.h>

#include "agent/ops.h"
#include "agent/secret.h"
#include "common/clock.h"
#include "common/platform.h"
#include "common/util.h"
#include "config.h"
#include "wire/http.h"

asr_result asr_proxy_user_read(const char *file, char *out, size_t n, char *err, size_t errn)
{
  char why[512];

  out[0] = '\0';
  err[0] = '\0';
  if (file && *file) {
    if (asr_secret_from_file(file, "proxy", out, n, why, sizeof(why)) != ASR_OK) {
      if (asr_fmt(err, errn, "proxy credentials: %s", why) != ASR_OK)
        asr_strlcpy_cut(err, "proxy credentials: cannot be read", errn);
      return ASR_ERR_SECRET;
    }
  } else if (asr_secret_from_env("ASR_PROXY_USER", out, n) == ASR_ERR_SECRET) {
    asr_strlcpy_cut(err, "proxy credentials: ASR_PROXY_USER is too long", errn);
    return ASR_ERR_SECRET;
  }
  if (out[0] && !strchr(out, ':')) {
    asr_secret_wipe(out, n);
    asr_strlcpy_cut(err, "proxy credentials: give them as user:password", errn);
    return ASR_ERR_SECRET;
  }
  return ASR_OK;
}

/* ---- upload -------------------------------------------------------------------------------- */

void asr_upload_opts_init(asr_upload_opts *o)
{
  memset(o, 0, sizeof(*o));
  asr_uplink_opts_init(&o->uplink);
  o->uplink.agent_version = PACKAGE_VERSION;
}

/* One run with the enrolment cred and the proxy credentials proxy_user ("" = none). */
static asr_result upload_run(const asr_upload_opts *o, const asr_outbox_cred *cred,
                             const char *proxy_user, asr_upload_report *rep)
{
  asr_uplink_opts u = o->uplink;
  asr_result r;

  asr_uplink_http_opts(cred, proxy_user[0] ? proxy_user : NULL, &u.http);
  u.http.connect_timeout_ms = o->connect_timeout_ms;
  u.http.timeout_ms = o->timeout_ms;
  /* a stop request ends the transfer, and the tick pings the daemon's watchdog */
  u.http.abort_cb = o->tick;
  u.http.abort_ctx = o->tick_ctx;
  if (asr_http_global_init() != ASR_OK)
    return ASR_ERR_NOMEM;
  rep->ran = true;
  r = asr_uplink_upload(o->st, cred, &u, &rep->up);
  asr_http_global_fini();
  return r;
}

/* A failure on the way (asr_upload_report's in_transit). */
static bool failed_in_transit(asr_result r, const asr_upload_report *rep)
{
  if (!rep->ran || rep->up.stopped)
    return false;
  switch (r) {
  case ASR_ERR_TIMEOUT:
  case ASR_ERR_AUTH:
  case ASR_ERR_RESOLVE:
  case ASR_ERR_PROTOCOL:
  case ASR_ERR_INVALID:
    return true;
  default:
    return false;
  }
}

asr_result asr_upload(const asr_upload_opts *o, asr_upload_report *rep)
{
  asr_outbox_cred cred;
  char proxy_user[512] = "";
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  memset(&cred, 0, sizeof(cred));
  if (asr_outbox_get_cred(o->st, &cred) != ASR_OK) {
    r = ASR_ERR_NOT_FOUND;
    goto out;
  }
  rep->enrolled = true;
  r = asr_proxy_user_read(cred.proxy_user_file, proxy_user, sizeof(proxy_user), rep->error,
                          sizeof(rep->error));
  if (!r)
    r = upload_run(o, &cred, proxy_user, rep);
  rep->in_transit = failed_in_transit(r, rep);
out:
  asr_secret_wipe(proxy_user, sizeof(proxy_user));
  asr_secret_wipe(&cred, sizeof(cred));
  return r;
}

asr_result asr_upload_summary(const asr_upload_report *rep, char *out, size_t n)
{
  const asr_uplink_report *u = &rep->up;

  return asr_fmt(out, n,
                 "upload: %zu %s built%s, %zu delivered (%lld %s, %zu %s), %zu split, %zu held,"
                 " %lld pending",
                 u->built, asr_plural((long long)u->built, "batch", "batches"),
                 u->heartbeats ? " + heartbeat" : "", u->delivered,
                 (long long)u->readings_delivered,
                 asr_plural(u->readings_delivered, "reading", "readings"), u->duplicates,
                 asr_plural((long long)u->duplicates, "duplicate", "duplicates"), u->splits,
                 u->held, (long long)u->pending_batches);
}

/* ---- enrolment ----------------------------------------------------------------------------- */

asr_result asr_enroll_check_settings(const asr_outbox_cred *c, char *err, size_t n)
{
  char why[160];

  err[0] = '\0';
  if (asr_http_check_endpoint(c->endpoint, why, sizeof(why)) != ASR_OK) {
    if (asr_fmt(err, n, "--endpoint: %s: %s", c->endpoint[0] ? c->endpoint : "(none)", why))
      asr_strlcpy_cut(err, "--endpoint: not a usable URL", n);
  } else if (c->pin[0] && strncmp(c->pin, "sha256//", 8) != 0) {
    asr_strlcpy_cut(err, "--pin: give the key's hash as sha256//BASE64", n);
  } else if (c->client_key[0] && !c->client_cert[0]) {
    asr_strlcpy_cut(err, "--client-key needs --client-cert", n);
  } else if (c->proxy[0] && strcmp(c->proxy, "none") != 0 && !strstr(c->proxy, "://")) {
    asr_strlcpy_cut(err, "--proxy: give a URL (http://HOST:PORT) or 'none'", n);
  } else if (c->proxy[0] && strchr(c->proxy, '@')) {
    asr_strlcpy_cut(
        err, "--proxy: no credentials in the URL (argv is visible): use --proxy-user-file", n);
  }
  return err[0] ? ASR_ERR_INVALID : ASR_OK;
}

asr_result asr_enroll_check_token(const char *token)
{
  if (!*token || strspn(token, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(token))
    return ASR_ERR_INVALID;
  return ASR_OK;
}

/* Already enrolled (and no force): the report names the enrolment. */
static bool enrolled_already(const asr_enroll_opts *o, asr_enroll_report *rep)
{
  asr_outbox_cred old;
  bool found = asr_outbox_get_cred(o->st, &old) == ASR_OK;

  if (found && !o->force) {
    rep->already = true;
    asr_strlcpy_cut(rep->old_agent_id, old.agent_id, sizeof(rep->old_agent_id));
    asr_strlcpy_cut(rep->old_endpoint, old.endpoint, sizeof(rep->old_endpoint));
  }
  asr_secret_wipe(&old, sizeof(old));
  return rep->already;
}

/* The request, then the credential saved with the settings into c. */
static asr_result enroll_request(const asr_enroll_opts *o, asr_outbox_cred *c,
                                 asr_enroll_report *rep)
{
  asr_uplink_enrolment e;
  asr_http_opts ho;
  char host[256] = "";
  asr_result r;

  asr_platform_hostname(host, sizeof(host));
  asr_uplink_http_opts(c, o->proxy_user && o->proxy_user[0] ? o->proxy_user : NULL, &ho);
  ho.connect_timeout_ms = o->connect_timeout_ms;
  ho.timeout_ms = o->timeout_ms;
  r = asr_uplink_enroll(&ho, c->endpoint, o->token, host, PACKAGE_VERSION, &e, rep->error,
                        sizeof(rep->error));
  if (r) {
    rep->token_refused = r == ASR_ERR_AUTH && strstr(rep->error, "site token");
    goto out;
  }
  rep->enrolled = true;
  asr_strlcpy_cut(rep->agent_id, e.agent_id, sizeof(rep->agent_id));
  asr_strlcpy_cut(rep->site, e.site, sizeof(rep->site));
  r = asr_strlcpy(c->agent_id, e.agent_id, sizeof(c->agent_id)); /* the same sizes */
  if (!r)
    r = asr_strlcpy(c->secret, e.secret, sizeof(c->secret));
  if (!r)
    r = asr_strlcpy(c->site, e.site, sizeof(c->site));
  if (!r)
    r = asr_outbox_enroll(o->st, c, asr_now());
  if (r)
    asr_strlcpy_cut(rep->error, asr_store_errmsg(o->st), sizeof(rep->error));
out:
  asr_secret_wipe(&e, sizeof(e));
  return r;
}

asr_result asr_enroll(const asr_enroll_opts *o, asr_enroll_report *rep)
{
  asr_outbox_cred c;
  asr_result r;

  memset(rep, 0, sizeof(*rep));
  if (enrolled_already(o, rep))
    return ASR_ERR_USAGE;
  c = *o->settings;
  if (asr_http_global_init() != ASR_OK) {
    r = ASR_ERR_NOMEM;
    goto out;
  }
  r = enroll_request(o, &c, rep);
  asr_http_global_fini();
out:
  asr_secret_wipe(&c, sizeof(c));
  return r;
}
