/* portal.c: the supplies portal (portal.h): who is asking, sign-in and sign-out, the status
 * pages as the asker may see them, and the audit trail.
 *
 * Reading order: parsing (forms, cookies), the answer helpers, the audit, who is asking
 * (session cookie or API token), the sign-in flows, the status pages (the scope). The
 * router (portal_handle) is portal_route.c.
 *
 * Why sign-in forms carry a "pre-session" token: before anyone is signed in there is no
 * session to hold a CSRF token, yet a sign-in form must not be postable from another site
 * (login CSRF). GET /signin sets a random __Host- cookie and puts the same value in the
 * form; the POST must carry both (a cross-site page can neither read nor set the cookie).
 *
 * Why a mailed link opens a page with a button instead of signing in at once: mail
 * scanners fetch links; a GET that used the link would sign the scanner in and leave the
 * customer a spent link. */
#include "central/portal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "central/engine.h"
#include "central/mail.h"
#include "central/portal_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "wire/sign.h"
#include "wire/smtp.h"

#define COOKIE_SESSION "__Host-asr_session"
#define COOKIE_PRE "__Host-asr_pre"
#define COOKIE_ATTRS "; Path=/; Secure; HttpOnly; SameSite=Strict"
#define TOKEN_HEX 64 /* a session id, link, token or CSRF value: 32 random bytes */

void portal_conf_init(portal_conf *c)
{
  memset(c, 0, sizeof(*c));
  c->idle = PORTAL_IDLE;
  c->lifetime = PORTAL_LIFETIME;
  c->link_ttl = PORTAL_LINK_TTL;
  c->window = PORTAL_WINDOW;
  c->per_address = PORTAL_PER_ADDRESS;
  c->per_client = PORTAL_PER_CLIENT;
}

/* ---------------------------------------------------------------------------------------
 * Parsing: forms, queries, cookies. */

/* Decodes a %-encoded form value ('+' a space) of len bytes into out. CR, LF and tab
 * become spaces; other control characters, an encoded NUL and invalid UTF-8 are refused. */
static asr_result form_decode(const char *in, size_t len, char *out, size_t n)
{
  size_t o = 0;

  for (size_t i = 0; i < len; i++) {
    int c = (unsigned char)in[i];
    if (c == '+')
      c = ' ';
    else if (c == '%') {
      int hi = i + 2 < len ? asr_hex_val(in[i + 1]) : -1;
      int lo = hi < 0 ? -1 : asr_hex_val(in[i + 2]);
      if (hi < 0 || lo < 0)
        return ASR_ERR_INVALID;
      c = hi * 16 + lo;
      i += 2;
    }
    if (c == '\r' || c == '\n' || c == '\t')
      c = ' ';
    if (c < 0x20 || c == 0x7f)
      return ASR_ERR_INVALID;
    if (o + 1 >= n)
      return ASR_ERR_TOO_LARGE;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return asr_utf8_valid((const unsigned char *)out, o) ? ASR_OK : ASR_ERR_INVALID;
}

asr_result portal_form_get(const char *form, size_t len, const char *name, char *out, size_t n)
{
  size_t nl = strlen(name), i = 0;
  asr_result r;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  out[0] = '\0';
  while (form && i < len) {
    size_t end = i;
    while (end < len && form[end] != '&')
      end++;
    if (end - i > nl && memcmp(form + i, name, nl) == 0 && form[i + nl] == '=') {
      r = form_decode(form + i + nl + 1, end - i - nl - 1, out, n);
      if (r)
        out[0] = '\0'; /* never a part of a value */
      return r;
    }
    if (end - i == nl && memcmp(form + i, name, nl) == 0)
      return ASR_OK; /* "name" alone: empty */
    i = end + 1;
  }
  return ASR_ERR_NOT_FOUND;
}

asr_result portal_cookie_get(const char *header, const char *name, char *out, size_t n)
{
  size_t nl = strlen(name);
  const char *p = header;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  out[0] = '\0';
  while (p && *p) {
    while (*p == ' ' || *p == ';')
      p++;
    size_t len = strcspn(p, ";");
    if (len > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t vl = len - nl - 1;
      if (vl >= n)
        return ASR_ERR_TOO_LARGE;
      memcpy(out, p + nl + 1, vl);
      out[vl] = '\0';
      return ASR_OK;
    }
    p += len;
  }
  return ASR_ERR_NOT_FOUND;
}

/* True for exactly TOKEN_HEX lowercase hex digits. */
static bool token_ok(const char *s)
{
  size_t n = 0;

  for (; s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
      return false;
  return n == TOKEN_HEX;
}

/* The hex SHA-256 of a token (what the store keeps). */
static asr_result token_hash(const char *token, char out[CPORTAL_HASH_LEN + 1])
{
  return asr_sign_sha256_hex(token, strlen(token), out, CPORTAL_HASH_LEN + 1);
}

asr_result px_form(const px *x, const char *name, char *out, size_t n)
{
  return portal_form_get(x->q->body, x->q->body ? x->q->body_len : 0, name, out, n);
}

asr_result px_query(const px *x, const char *name, char *out, size_t n)
{
  const char *q = x->q->query ? x->q->query : "";

  return portal_form_get(q, strlen(q), name, out, n);
}

/* ---------------------------------------------------------------------------------------
 * Answers. */

void portal_resp_free(portal_resp *a)
{
  free(a->body);
  a->body = NULL;
  free(a->after);
  a->after = NULL;
}

void portal_fail(portal_resp *a, bool json, int status, const char *title, const char *message)
{
  json_t *doc;

  free(a->body);
  a->body = NULL;
  a->status = status;
  a->json = json;
  a->type = json ? "application/json" : "text/html; charset=utf-8";
  if (!json) {
    page_error_html(status, title, message, &a->body);
    return;
  }
  doc = json_pack("{s:s}", "error", message);
  a->body = doc ? json_dumps(doc, 0) : NULL;
  json_decref(doc);
}

void px_body(px *x, int status, char *body)
{
  free(x->a->body);
  x->a->body = body;
  x->a->status = body ? status : 500;
  x->a->json = x->json;
  x->a->type = x->json ? "application/json" : "text/html; charset=utf-8";
  if (!body)
    portal_fail(x->a, x->json, 500, "Error", "the page could not be rendered");
}

void px_fail(px *x, int status, const char *title, const char *message)
{
  page_nav nav;
  char *body = NULL;

  if (x->json || x->w.kind == WHO_NONE) {
    portal_fail(x->a, x->json, status, title, message);
    return;
  }
  px_nav(x, &nav);
  if (portal_page_message(&nav, title, message, true, "/", x->now, &body) == ASR_OK)
    px_body(x, status, body);
  else
    portal_fail(x->a, x->json, status, title, message);
}

void px_store_fail(px *x, asr_result r)
{
  if (r == ASR_ERR_DB_LOCKED)
    px_fail(x, 503, "Busy", "database busy, try again");
  else
    px_fail(x, 500, "Error", "internal error");
}

void px_redirect(px *x, const char *location)
{
  free(x->a->body);
  x->a->body = strdup("");
  x->a->status = 303;
  x->a->type = "text/html; charset=utf-8";
  if (asr_strlcpy(x->a->location, location, sizeof(x->a->location)))
    memcpy(x->a->location, "/", 2); /* too long: not one of ours */
}

/* Adds a Set-Cookie value: name=value with our attributes (max_age < 0: a session cookie,
 * 0: deletes it). */
static void px_cookie(px *x, const char *name, const char *value, int64_t max_age)
{
  char age[40] = "";

  if (x->a->n_cookies >= sizeof(x->a->cookies) / sizeof(x->a->cookies[0]))
    return;
  if (max_age >= 0 && asr_fmt(age, sizeof(age), "; Max-Age=%lld", (long long)max_age))
    return;
  if (asr_fmt(x->a->cookies[x->a->n_cookies], PORTAL_COOKIE_MAX, "%s=%s%s%s", name, value,
              COOKIE_ATTRS, age) == ASR_OK)
    x->a->n_cookies++;
}

int64_t px_today(const px *x)
{
  return x->now / 86400;
}

/* ---------------------------------------------------------------------------------------
 * The audit trail. */

void px_audit(px *x, const char *action, const char *target, const char *outcome,
              const char *detail)
{
  cportal_audit_row a = {.at = x->now,
                         .actor = x->w.kind != WHO_NONE ? x->w.who : "-",
                         .ip = x->q->client ? x->q->client : "",
                         .action = action,
                         .target = target,
                         .outcome = outcome,
                         .detail = detail};

  if (cportal_audit(x->st, &a) != ASR_OK)
    asr_log(ASR_LOG_ERR, "portal: cannot write the audit trail: %s", cstore_errmsg(x->st));
}

/* Whether a denial that carried no credential at all (a page asked without a session) is
 * written: 30 a minute per client at most, so that a flood of anonymous requests cannot fill
 * the audit trail (their count stays in the throttle's row). */
static bool audit_anonymous(px *x)
{
  char key[80];
  bool allowed = false;

  if (asr_fmt(key, sizeof(key), "audit:%s", x->q->client ? x->q->client : "") != ASR_OK)
    return true;
  return cportal_throttle(x->st, key, x->now, 60, 30, &allowed) != ASR_OK || allowed;
}

/* Audits a denial of this request ("GET page", "POST api"...: the path is its target). */
static void audit_denied(px *x, const char *why)
{
  char action[64];

  if (asr_fmt(action, sizeof(action), "%s %s", x->q->method, x->json ? "api" : "page"))
    memcpy(action, "request", sizeof("request"));
  px_audit(x, action, x->q->path, "denied", why);
}

/* Audits a denial of this request and answers it. */
void px_deny(px *x, int status, const char *why, const char *message)
{
  audit_denied(x, why);
  px_fail(x, status,
          status == 401   ? "Sign in"
          : status == 404 ? "Not found"
                          : "Forbidden",
          message);
}

/* ---------------------------------------------------------------------------------------
 * Who is asking: a session cookie, or a staff API token (/api/... only). */

/* The staff API token of an "Authorization: Bearer sk_HEX" header. */
static bool bearer_token(const char *h, char *out, size_t n)
{
  if (!h || strncasecmp(h, "Bearer ", 7) != 0)
    return false;
  h += 7;
  while (*h == ' ')
    h++;
  if (strncmp(h, "sk_", 3) != 0)
    return false;
  return asr_strlcpy(out, h + 3, n) == ASR_OK;
}

/* A token was sent: true when it is a staff member's (x->w set); else answered 401. */
static bool who_by_token(px *x, const char *token)
{
  char hash[CPORTAL_HASH_LEN + 1];
  asr_result r = token_ok(token) ? token_hash(token, hash) : ASR_ERR_INVALID;

  if (!r)
    r = cportal_token_staff(x->st, hash, x->now, &x->w.staff_id, x->w.who, sizeof(x->w.who));
  if (!r) {
    x->w.kind = WHO_STAFF;
    x->w.token = true;
    return true;
  }
  if (r != ASR_ERR_NOT_FOUND && r != ASR_ERR_INVALID) {
    px_store_fail(x, r);
    return false;
  }
  px_deny(x, 401, "unknown API token", "unknown API token");
  return false;
}

/* The session of the cookie: x->w set and true, or false (why says why not; a store
 * failure sets *r). */
static bool who_by_session(px *x, const char *sid, const char **why, asr_result *r)
{
  cportal_session s;
  cportal_session_state state = CPORTAL_SESSION_UNKNOWN;
  char hash[CPORTAL_HASH_LEN + 1];

  *r = token_ok(sid) ? token_hash(sid, hash) : ASR_ERR_INVALID;
  if (*r == ASR_ERR_INVALID) {
    *r = ASR_OK;
    *why = "malformed session cookie";
    return false;
  }
  if (!*r)
    *r = cportal_session_get(x->st, hash, x->now, x->c->idle, &s, &state);
  if (*r)
    return false;
  *why = state == CPORTAL_SESSION_IDLE      ? "session ended: idle"
         : state == CPORTAL_SESSION_EXPIRED ? "session ended: too old"
                                            : "unknown session";
  if (state != CPORTAL_SESSION_OK)
    return false;
  x->w.kind = s.staff_id > 0 ? WHO_STAFF : WHO_CUSTOMER;
  x->w.staff_id = s.staff_id;
  memcpy(x->w.who, s.who, sizeof(x->w.who));
  memcpy(x->w.csrf, s.csrf, sizeof(x->w.csrf));
  memcpy(x->w.sid, hash, sizeof(x->w.sid));
  return true;
}

/* Finds who sent the request; false after answering when nobody (a page: a redirection to
 * the sign-in page; /api/...: 401), audited. */
bool px_who_asks(px *x)
{
  char token[TOKEN_HEX + 8], sid[TOKEN_HEX + 8];
  const char *why = "no session";
  asr_result r = ASR_OK;

  if (x->json && bearer_token(x->q->authorization, token, sizeof(token)))
    return who_by_token(x, token);
  if (x->json && x->q->authorization) {
    px_deny(x, 401, "malformed Authorization header", "use Authorization: Bearer sk_...");
    return false;
  }
  asr_result c = portal_cookie_get(x->q->cookie, COOKIE_SESSION, sid, sizeof(sid));
  if (c == ASR_OK && who_by_session(x, sid, &why, &r))
    return true;
  if (r) {
    px_store_fail(x, r);
    return false;
  }
  if (c != ASR_ERR_NOT_FOUND)
    px_cookie(x, COOKIE_SESSION, "", 0); /* a dead session's cookie: cleared */
  if (c == ASR_ERR_NOT_FOUND && !audit_anonymous(x)) {
    x->w.kind = WHO_NONE; /* not written: answered all the same */
  } else if (x->json) {
    px_deny(x, 401, why, "sign in first: a session or a staff API token is needed");
    return false;
  } else {
    audit_denied(x, why);
  }
  if (x->json) {
    px_fail(x, 401, "Sign in", "sign in first: a session or a staff API token is needed");
    return false;
  }
  px_redirect(x, "/signin");
  return false;
}

/* True when the request comes from our own pages: no cross-site fetch (Sec-Fetch-Site), and
 * an Origin (when sent) whose host is the Host the request was sent to. Browsers send the
 * Origin of a form's POST (the pages' Referrer-Policy is same-origin, which keeps it). */
static bool same_origin(const px *x)
{
  const char *o = x->q->origin, *host = x->q->host;

  if (x->q->fetch_site && strcmp(x->q->fetch_site, "same-origin") != 0 &&
      strcmp(x->q->fetch_site, "none") != 0)
    return false;
  if (!o)
    return true;
  if (strcmp(o, "null") == 0) /* an opaque origin: only the browser's own word counts */
    return x->q->fetch_site && strcmp(x->q->fetch_site, "same-origin") == 0;
  if (strncmp(o, "https://", 8) == 0)
    o += 8;
  else if (strncmp(o, "http://", 7) == 0)
    o += 7;
  else
    return false;
  return host && strcmp(o, host) == 0;
}

bool px_csrf_ok(px *x)
{
  char got[TOKEN_HEX + 8];

  if (x->w.token)
    return true;
  if (same_origin(x) && px_form(x, "csrf", got, sizeof(got)) == ASR_OK &&
      strlen(got) == TOKEN_HEX && strlen(x->w.csrf) == TOKEN_HEX &&
      asr_sign_equal(got, x->w.csrf, TOKEN_HEX))
    return true;
  px_deny(x, 403, "CSRF check failed", "this form is stale or was not sent from the portal");
  return false;
}

void px_nav(px *x, page_nav *nav)
{
  int64_t n = 0;

  if (x->w.kind == WHO_STAFF)
    n = cportal_request_pending(x->st);
  *nav = (page_nav){.who = x->w.who,
                    .staff = x->w.kind == WHO_STAFF,
                    .csrf = x->w.csrf,
                    .pending = n > 0 ? n : 0};
}

/* ---------------------------------------------------------------------------------------
 * Mail. */

asr_result px_mail(px *x, void *notice, int64_t site_id)
{
  cmail_notice *n = notice;
  char *msg = NULL;
  size_t len = 0;
  bool added = false;
  asr_result r;

  n->from = x->c->mail_from && *x->c->mail_from ? x->c->mail_from : CENGINE_DEFAULT_FROM;
  n->now = x->now;
  r = cmail_compose(n, &msg, &len);
  if (r == ASR_ERR_NOMEM)
    return r;
  if (r) {
    asr_log(ASR_LOG_WARN, "portal: cannot compose the %s mail to '%s': %s", cmail_kind_str(n->kind),
            n->to ? n->to : "", asr_result_str(r));
    return ASR_OK;
  }
  r = cstore_outbox_add(x->st, n->msgid_key, site_id, n->to, cmail_kind_str(n->kind), msg, len,
                        x->now, &added);
  free(msg);
  return r;
}

void px_kick(px *x)
{
  if (x->c->mail_kick)
    x->c->mail_kick(x->c->kick_ctx);
}

/* ---------------------------------------------------------------------------------------
 * Sign-in and sign-out. */

/* The pre-session token of a sign-in form: the cookie's, checked against the form's. */
static bool pre_ok(px *x)
{
  char cookie[TOKEN_HEX + 8], form[TOKEN_HEX + 8];

  if (same_origin(x) && portal_cookie_get(x->q->cookie, COOKIE_PRE, cookie, sizeof(cookie)) == 0 &&
      px_form(x, "csrf", form, sizeof(form)) == ASR_OK && token_ok(cookie) && token_ok(form) &&
      asr_sign_equal(cookie, form, TOKEN_HEX))
    return true;
  px_audit(x, "sign-in", x->q->path, "denied", "CSRF check failed");
  return false;
}

/* Answers the sign-in page (status) with a new pre-session token. */
void px_signin_page(px *x, int status, const char *notice, const char *error)
{
  char pre[TOKEN_HEX + 1], *body = NULL;

  if (asr_sign_random_hex(pre, TOKEN_HEX / 2)) {
    px_fail(x, 500, "Error", "no randomness");
    return;
  }
  px_cookie(x, COOKIE_PRE, pre, 3600);
  if (portal_page_signin(pre, notice, error, x->now, &body) == ASR_OK)
    px_body(x, status, body);
  else
    px_fail(x, 500, "Error", "the page could not be rendered");
}

/* Counts an attempt under key; false after answering 429 (audited) when over max. */
static bool throttle_ok(px *x, const char *kind, const char *value, int max)
{
  char key[CPORTAL_EMAIL_MAX + 16];
  bool allowed = false;
  asr_result r = asr_fmt(key, sizeof(key), "%s:%s", kind, value);

  if (!r)
    r = cportal_throttle(x->st, key, x->now, x->c->window, max, &allowed);
  if (r) {
    px_store_fail(x, r);
    return false;
  }
  if (allowed)
    return true;
  px_audit(x, "sign-in", value, "denied",
           kind[0] == 'c' ? "throttled: this client" : "throttled: this address or name");
  px_signin_page(x, 429, NULL, "Too many sign-in attempts: wait a few minutes and try again.");
  return false;
}

/* Starts a session for x->w (staff_id or customer address) and answers 303 to "/". */
static void session_start(px *x)
{
  char sid[TOKEN_HEX + 1], hash[CPORTAL_HASH_LEN + 1];
  cportal_session s = {.staff_id = x->w.staff_id,
                       .created_at = x->now,
                       .seen_at = x->now,
                       .expires_at = x->now + x->c->lifetime};
  asr_result r = asr_sign_random_hex(sid, TOKEN_HEX / 2);

  if (!r)
    r = asr_sign_random_hex(s.csrf, TOKEN_HEX / 2);
  if (!r)
    r = token_hash(sid, hash);
  if (!r)
    r = asr_strlcpy(s.who, x->w.who, sizeof(s.who));
  if (!r)
    r = cportal_prune(x->st, x->now, x->c->idle, PORTAL_AUDIT_DAYS);
  if (!r)
    r = cportal_session_add(x->st, hash, &s);
  if (r) {
    px_store_fail(x, r);
    return;
  }
  px_audit(x, "sign-in", x->w.who, "ok", x->w.kind == WHO_STAFF ? "staff" : "customer");
  px_cookie(x, COOKIE_SESSION, sid, -1);
  px_cookie(x, COOKIE_PRE, "", 0);
  px_redirect(x, "/");
}

/* Makes a link for address (known), stores its hash and queues its mail, in one
 * transaction. */
static asr_result link_send(px *x, const char *address, int64_t site_id)
{
  char token[TOKEN_HEX + 1], hash[CPORTAL_HASH_LEN + 1], url[700], key[96];
  int64_t instance = 0;
  asr_result r = asr_sign_random_hex(token, TOKEN_HEX / 2);

  if (!r)
    r = token_hash(token, hash);
  if (!r)
    r = asr_fmt(url, sizeof(url), "%s/signin/link?t=%s", x->c->base_url ? x->c->base_url : "",
                token);
  if (!r)
    r = cstore_tx_begin(x->st);
  if (r)
    return r;
  r = cstore_rp_instance(x->st, &instance);
  if (!r)
    r = asr_fmt(key, sizeof(key), "%llx-signin-%.16s", (unsigned long long)instance, hash);
  if (!r)
    r = cportal_link_add(x->st, hash, address, x->now, x->now + x->c->link_ttl);
  cmail_notice m = {.kind = CMAIL_SIGNIN,
                    .to = address,
                    .site = "Supplies portal",
                    .msgid_key = key,
                    .link = url,
                    .link_minutes = (int)(x->c->link_ttl / 60)};
  if (!r)
    r = px_mail(x, &m, site_id);
  if (!r)
    r = cstore_tx_commit(x->st);
  else
    cstore_tx_rollback(x->st);
  return r;
}

static void lowercase(char *s)
{
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s - 'A' + 'a');
}

/* What is left of a request for a link once it is answered: the address, who asked, when. */
struct portal_after {
  char address[CPORTAL_EMAIL_MAX];
  char client[PORTAL_CLIENT_MAX];
  int64_t now;
};

/* After the answer: is the address a contact? Then its link and mail (one transaction),
 * and the outbox asked to send now. Audited either way. */
void portal_after_run(const portal_conf *c, cstore *st, portal_after *w)
{
  portal_req q = {.method = "POST", .path = "/signin/email"};
  portal_resp a = {0};
  px x = {.c = c, .st = st, .q = &q, .a = &a};
  int64_t site_id = 0;
  bool known = false;
  asr_result r;

  if (!w)
    return;
  if (!st) {
    asr_log(ASR_LOG_ERR, "portal: a sign-in link was not sent: database unavailable");
    free(w);
    return;
  }
  q.client = w->client;
  x.now = w->now;
  r = cportal_email_known(st, w->address, &known, &site_id);
  if (!r && known)
    r = link_send(&x, w->address, site_id);
  if (r)
    asr_log(ASR_LOG_ERR, "portal: a sign-in link was not sent: %s", asr_result_str(r));
  px_audit(&x, "sign-in link", w->address,
           r       ? "failed"
           : known ? "ok"
                   : "denied",
           r       ? "not sent: see the log"
           : known ? "link mailed"
                   : "unknown address (answered the same)");
  if (!r && known)
    px_kick(&x);
  free(w);
}

/* POST /signin/email: the same answer, after the same work, whether the address is known or
 * not: the form's checks and the throttle's two rows here; the lookup, the link and its mail
 * after the answer is sent (portal_after_run). */
void px_signin_email(px *x)
{
  static const char sent[] = "If this address is a supplies contact, a sign-in link is on its "
                             "way to it. The link works once, for a few minutes.";
  char address[CPORTAL_EMAIL_MAX];
  portal_after *w;

  if (!pre_ok(x)) {
    px_signin_page(x, 403, NULL, "The form was stale: please try again.");
    return;
  }
  if (px_form(x, "email", address, sizeof(address)) || !asr_smtp_address_ok(address)) {
    px_signin_page(x, 400, NULL, "Enter an e-mail address (name@example.com).");
    return;
  }
  lowercase(address);
  if (!throttle_ok(x, "client", x->q->client ? x->q->client : "", x->c->per_client) ||
      !throttle_ok(x, "address", address, x->c->per_address))
    return;
  w = calloc(1, sizeof(*w));
  if (!w || asr_strlcpy(w->address, address, sizeof(w->address))) {
    free(w);
    px_fail(x, 500, "Error", "internal error");
    return;
  }
  if (asr_strlcpy(w->client, x->q->client ? x->q->client : "", sizeof(w->client)))
    w->client[0] = '\0'; /* longer than an address: not one */
  w->now = x->now;
  px_signin_page(x, 200, sent, NULL);
  free(x->a->after);
  x->a->after = w;
}

/* POST /signin/staff: name and password. */
void px_signin_staff(px *x)
{
  char name[CSTORE_NAME_MAX], pw[ASR_PASSWORD_MAX + 1], hash[ASR_PWHASH_MAX];
  int64_t id = 0;
  asr_result r, found;

  if (!pre_ok(x)) {
    px_signin_page(x, 403, NULL, "The form was stale: please try again.");
    return;
  }
  if (px_form(x, "name", name, sizeof(name)) || !*name) {
    px_signin_page(x, 400, NULL, "Enter your staff name and password.");
    return;
  }
  if (!throttle_ok(x, "client", x->q->client ? x->q->client : "", x->c->per_client) ||
      !throttle_ok(x, "staff", name, x->c->per_address))
    return;
  r = px_form(x, "password", pw, sizeof(pw));
  found = cportal_staff_get(x->st, name, &id, hash, sizeof(hash));
  if (found && found != ASR_ERR_NOT_FOUND) {
    px_store_fail(x, found);
    return;
  }
  /* an unknown name costs one hash too: the time does not tell names apart */
  if (!r)
    r = asr_sign_password_verify(pw, strlen(pw), found ? NULL : hash);
  asr_secret_wipe(pw, sizeof(pw));
  if (r || found) {
    px_audit(x, "sign-in", name, "denied", found ? "unknown staff name" : "wrong password");
    px_signin_page(x, 401, NULL, "Wrong name or password.");
    return;
  }
  x->w.kind = WHO_STAFF;
  x->w.staff_id = id;
  if (asr_strlcpy(x->w.who, name, sizeof(x->w.who))) {
    px_fail(x, 400, "Bad request", "the name is too long");
    return;
  }
  session_start(x);
}

/* GET /signin/link?t=TOKEN: the page with the button (nothing used yet). */
void px_link_page(px *x)
{
  char token[TOKEN_HEX + 8], pre[TOKEN_HEX + 1], *body = NULL;

  if (px_query(x, "t", token, sizeof(token)) || !token_ok(token)) {
    px_audit(x, "sign-in link", x->q->path, "denied", "malformed link");
    px_signin_page(x, 400, NULL, "This link is not a sign-in link: ask for a new one below.");
    return;
  }
  if (asr_sign_random_hex(pre, TOKEN_HEX / 2)) {
    px_fail(x, 500, "Error", "no randomness");
    return;
  }
  px_cookie(x, COOKIE_PRE, pre, 3600);
  if (portal_page_link(token, pre, x->now, &body) == ASR_OK)
    px_body(x, 200, body);
  else
    px_fail(x, 500, "Error", "the page could not be rendered");
}

/* POST /signin/link: uses the link, once. */
void px_link_use(px *x)
{
  static const char *const why[] = {"", "unknown link", "link used already", "link expired"};
  char token[TOKEN_HEX + 8], hash[CPORTAL_HASH_LEN + 1], address[CPORTAL_EMAIL_MAX];
  cportal_link_state state = CPORTAL_LINK_UNKNOWN;
  asr_result r;

  if (!pre_ok(x)) {
    px_signin_page(x, 403, NULL, "The form was stale: open the link from your mail again.");
    return;
  }
  if (!throttle_ok(x, "client", x->q->client ? x->q->client : "", x->c->per_client))
    return;
  r = px_form(x, "t", token, sizeof(token)) || !token_ok(token) ? ASR_ERR_INVALID : ASR_OK;
  if (!r)
    r = token_hash(token, hash);
  if (!r)
    r = cportal_link_use(x->st, hash, x->now, &state, address, sizeof(address));
  if (r && r != ASR_ERR_INVALID) {
    px_store_fail(x, r);
    return;
  }
  if (r || state != CPORTAL_LINK_OK) {
    px_audit(x, "sign-in", x->q->path, "denied", r ? "malformed link" : why[state]);
    px_signin_page(x, 410, NULL,
                   "This sign-in link was used already or is too old: ask for a new one below.");
    return;
  }
  x->w.kind = WHO_CUSTOMER;
  if (asr_strlcpy(x->w.who, address, sizeof(x->w.who))) { /* both CPORTAL_EMAIL_MAX */
    px_fail(x, 500, "Error", "internal error");
    return;
  }
  session_start(x);
}

/* POST /signout. */
void px_signout(px *x)
{
  if (!px_csrf_ok(x))
    return;
  if (!x->w.token && cportal_session_end(x->st, x->w.sid) != ASR_OK) {
    px_store_fail(x, ASR_ERR_DB);
    return;
  }
  px_audit(x, "sign-out", x->w.who, "ok", "");
  px_cookie(x, COOKIE_SESSION, "", 0);
  px_redirect(x, "/signin");
}

/* ---------------------------------------------------------------------------------------
 * The status pages, as the asker may see them. */

asr_result px_site_view(px *x, const char *name, view_site *v)
{
  cportal_contact ct;
  asr_result r = ASR_OK;

  memset(v, 0, sizeof(*v));
  if (x->w.kind == WHO_CUSTOMER) {
    r = cportal_customer_contact(x->st, x->w.who, name, &ct);
    if (r == ASR_ERR_NOT_FOUND)
      px_audit(x, "site", name, "denied", "not a supplies contact of this site");
  } else if (x->w.kind != WHO_STAFF) {
    r = ASR_ERR_NOT_FOUND;
  }
  if (!r)
    r = view_site_load(x->st, name, x->c->rules, x->now, v);
  if (!r && x->w.kind == WHO_CUSTOMER)
    r = view_site_restrict(v, x->w.who, ct.email, ct.address);
  if (r)
    view_site_free(v);
  return r;
}

typedef struct {
  px *x;
  view_index *v;
  size_t cap;
  asr_result r;
} index_ctx;

static int customer_site(const char *site, void *ctx)
{
  index_ctx *ic = ctx;
  view_site s;

  ic->r = px_site_view(ic->x, site, &s);
  if (!ic->r)
    ic->r = view_index_add(ic->v, &s, &ic->cap);
  view_site_free(&s);
  return ic->r != ASR_OK;
}

/* Every site (staff), or the customer's sites with only its devices counted. */
static asr_result index_view(px *x, view_index *v)
{
  index_ctx ic = {.x = x, .v = v};
  asr_result r;

  if (x->w.kind == WHO_STAFF)
    return view_index_load(x->st, x->c->rules, x->now, v);
  memset(v, 0, sizeof(*v));
  v->now = x->now;
  r = cportal_customer_sites(x->st, x->w.who, customer_site, &ic);
  if (!r)
    r = ic.r;
  if (r)
    view_index_free(v);
  return r;
}

void px_page_index(px *x)
{
  view_index v;
  page_nav nav;
  char *body = NULL;
  asr_result r = index_view(x, &v);

  if (r) {
    px_store_fail(x, r);
    return;
  }
  px_nav(x, &nav);
  r = x->json ? page_index_json(&v, &body) : page_index_html_as(&v, &nav, &body);
  view_index_free(&v);
  px_body(x, 200, r ? NULL : body);
}

/* /sites/SEG or /api/sites/SEG. */
void px_page_site(px *x, const char *seg)
{
  char name[CSTORE_NAME_MAX], *body = NULL;
  view_site v;
  page_nav nav;
  asr_result r = strchr(seg, '/') ? ASR_ERR_NOT_FOUND : page_url_decode(seg, name, sizeof(name));

  if (r == ASR_ERR_INVALID) {
    px_fail(x, 400, "Bad request", "malformed %-escape in the site name");
    return;
  }
  if (!r && !*name)
    r = ASR_ERR_NOT_FOUND;
  if (!r)
    r = px_site_view(x, name, &v);
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_TOO_LARGE) {
    px_fail(x, 404, "Not found", "no such site");
    return;
  }
  if (r) {
    px_store_fail(x, r);
    return;
  }
  px_nav(x, &nav);
  r = x->json ? page_site_json(&v, &body) : page_site_html_as(&v, &nav, &body);
  view_site_free(&v);
  px_body(x, 200, r ? NULL : body);
}

static int audit_row(const cportal_audit_row *a, void *ctx)
{
  portal_page_audit_row(ctx, a);
  return 0;
}

/* GET /audit: the newest 500 rows (staff). */
void px_page_audit(px *x)
{
  portal_audit_page p = {.b = {.max = PAGE_MAX_BYTES}, .now = x->now};
  page_nav nav;
  char *body = NULL;
  asr_result r;

  px_nav(x, &nav);
  portal_page_audit_open(&p, &nav);
  r = cportal_audit_foreach(x->st, NULL, 500, audit_row, &p);
  if (r) {
    asr_buf_free(&p.b);
    px_store_fail(x, r);
    return;
  }
  px_body(x, 200, portal_page_audit_close(&p, &body) ? NULL : body);
}
