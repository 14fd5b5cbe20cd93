/* portal_int.h: what the portal's files share (central/portal.c: sign-in, sessions and the
 * status pages; central/portal_req.c: the customers' requests; central/portal_page.c: the
 * portal's own HTML; central/portal_route.c: the router, which calls portal.c's pages and
 * portal_req.c's). Not for the rest of asr-central: use portal.h. */
#ifndef ASR_PORTAL_INT_H
#define ASR_PORTAL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "central/cstore_portal.h"
#include "central/page.h"
#include "central/portal.h"
#include "central/view.h"
#include "common/buf.h"

#define PX_FIELD_MAX 1024 /* bytes of one form field we read */
#define PX_NOTE_MAX 500   /* bytes of a customer's note or the staff's answer */

/* Who sent the request. */
typedef enum { WHO_NONE = 0, WHO_STAFF, WHO_CUSTOMER } who_kind;

typedef struct {
  who_kind kind;
  bool token;                      /* a staff API token (no cookie: no CSRF needed) */
  int64_t staff_id;                /* staff */
  char who[CPORTAL_EMAIL_MAX];     /* the staff name, or the customer's address (lowercase) */
  char csrf[CPORTAL_HASH_LEN + 1]; /* the session's form token */
  char sid[CPORTAL_HASH_LEN + 1];  /* the hash of the session's cookie */
} portal_who;

/* One request being answered. */
typedef struct {
  const portal_conf *c;
  cstore *st;
  const portal_req *q;
  portal_resp *a;
  int64_t now;
  bool json; /* an /api/ path: answers are JSON */
  portal_who w;
} px;

/* ---- portal.c ---- */

/* Writes a row of the audit trail for this request (actor: who sent it). */
void px_audit(px *x, const char *action, const char *target, const char *outcome,
              const char *detail);

/* Answers a malloc'd body (taken; NULL: a 500) as HTML or JSON (x->json). */
void px_body(px *x, int status, char *body);

/* Answers an error: a small page or {"error": message}. */
void px_fail(px *x, int status, const char *title, const char *message);

/* The store failed: 503 while it is busy, 500 otherwise. */
void px_store_fail(px *x, asr_result r);

/* Answers 303 to location (a path of ours). */
void px_redirect(px *x, const char *location);

/* A field of the POST's form or of the query (portal_form_get's results). */
asr_result px_form(const px *x, const char *name, char *out, size_t n);
asr_result px_query(const px *x, const char *name, char *out, size_t n);

/* The POST carries the session's CSRF token (or comes with a staff API token) and comes
 * from our own pages: false after answering 403 and auditing the denial. */
bool px_csrf_ok(px *x);

/* The portal's bar for the signed-in person. */
void px_nav(px *x, page_nav *nav);

/* The site view of name as x->w may see it: a customer only a site where its address is a
 * contact, and there only its devices and orders. ASR_ERR_NOT_FOUND (audited for a
 * customer) when there is no such site for it. The one gate in front of every site. */
asr_result px_site_view(px *x, const char *name, view_site *v);

/* Queues a composed mail in the outbox (in the caller's transaction) under key; site_id
 * its site. A mail that cannot be composed is logged, not fatal. */
asr_result px_mail(px *x, void *notice, int64_t site_id);

/* Asks the outbox to be sent now (after a commit). */
void px_kick(px *x);

/* Today, in days since the epoch. */
int64_t px_today(const px *x);

/* ---- portal.c: what the router (portal_route.c) calls ---- */

/* Answers status and audits a denial (why) of the one asking. */
void px_deny(px *x, int status, const char *why, const char *message);

/* Finds who is asking (session cookie or API token) into x->w; false after answering
 * (401, or the sign-in page for a browser). */
bool px_who_asks(px *x);

/* The sign-in page (with a notice or an error), the sign-in forms' posts (a customer's
 * address, a staff account), the mailed link's page and its use, the sign-out. */
void px_signin_page(px *x, int status, const char *notice, const char *error);
void px_signin_email(px *x);
void px_signin_staff(px *x);
void px_link_page(px *x);
void px_link_use(px *x);
void px_signout(px *x);

/* The status pages as x->w may see them: the index of sites, a site (seg: its URL name),
 * the audit trail (staff). */
void px_page_index(px *x);
void px_page_site(px *x, const char *seg);
void px_page_audit(px *x);

/* ---- portal_req.c ---- */

/* The request pages and actions: true when path was one of theirs (answered). */
bool portal_requests_route(px *x, const char *path);

/* ---- portal_staff.c ---- */

/* The staff's pages and actions (orders and their warehouse steps, special orders,
 * agents): true when path was one of theirs (answered; anyone else gets 403, audited). */
bool portal_staff_route(px *x, const char *path);

/* ---- portal_page.c ---- */

/* The sign-in page: the e-mail form (customers) and the name and password form (staff),
 * with the pre-session token csrf; notice (NULL: none) above them, error (NULL) too. */
asr_result portal_page_signin(const char *csrf, const char *notice, const char *error, int64_t now,
                              char **out);

/* The page a mailed link opens: one button that signs in (a POST, so that a mail scanner
 * fetching the link does not use it). */
asr_result portal_page_link(const char *token, const char *csrf, int64_t now, char **out);

/* A page with one message (a notice, or an error when error) and a link back. */
asr_result portal_page_message(const page_nav *nav, const char *title, const char *message,
                               bool error, const char *back, int64_t now, char **out);

/* The audit trail (newest first). */
typedef struct {
  asr_buf b;
  int64_t now;
} portal_audit_page;
void portal_page_audit_open(portal_audit_page *p, const page_nav *nav);
void portal_page_audit_row(portal_audit_page *p, const cportal_audit_row *a);
asr_result portal_page_audit_close(portal_audit_page *p, char **out);

#endif
