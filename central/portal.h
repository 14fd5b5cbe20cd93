/* portal.h: the supplies portal of asr-central (docs/portal.md): every request that is not
 * the agents' protocol (/v1/...) comes here, from central/server.c (the only code that
 * speaks HTTP), as a plain portal_req, and leaves as a portal_resp.
 *
 * Who may see what, in one place:
 *   - nobody signed in: the sign-in pages and the stylesheet only; any other page answers
 *     a redirection to /signin (/api/...: 401);
 *   - a customer (a supplies contact, signed in by a one-time link mailed to its address):
 *     only the sites where the address is a contact, and there only the devices and orders
 *     of that contact; it may ask for extra toner and for a change of its contact record;
 *   - a staff member (name and password, or an API token for /api/...): every site, and
 *     the requests to approve or refuse, and the audit trail.
 * Sessions are cookies (HttpOnly, Secure, SameSite=Strict) with idle and absolute ends;
 * every POST carries the session's CSRF token; every denial and every staff action is
 * written to the audit trail (central/cstore_portal.h). */
#ifndef ASR_PORTAL_H
#define ASR_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"
#include "replenish/rules.h"

#define PORTAL_FORM_MAX 16384 /* bytes of a form's body */
#define PORTAL_IDLE 1800      /* a session ends after 30 minutes without a request */
#define PORTAL_LIFETIME 43200 /* ... and 12 hours after it began, whatever happens */
#define PORTAL_LINK_TTL 900   /* a sign-in link works for 15 minutes, once */
#define PORTAL_WINDOW 900     /* the sign-in throttle's window (seconds) */
#define PORTAL_PER_ADDRESS 5  /* sign-in attempts per e-mail address or staff name a window */
#define PORTAL_PER_CLIENT 30  /* sign-in attempts per client address a window */
#define PORTAL_AUDIT_DAYS 400 /* audit rows are kept this long */
#define PORTAL_COOKIE_MAX 320 /* bytes of one Set-Cookie value */
#define PORTAL_CLIENT_MAX 64  /* bytes of a client address (IPv6 text) */

/* How the portal runs (portal_conf_init sets the defaults). */
typedef struct {
  const asr_rp_conf *rules;         /* of the status pages */
  int64_t idle, lifetime, link_ttl; /* seconds */
  int64_t window;                   /* the throttle's window, seconds */
  int per_address, per_client;      /* sign-in attempts a window */
  const char *base_url;             /* "https://host[:port]": the links mailed */
  const char *mail_from;            /* NULL: the engine's default */
  const char *helpdesk;             /* the staff's address for new requests (NULL: none) */
  void (*mail_kick)(void *ctx);     /* asks the outbox to be sent now (may be NULL) */
  void *kick_ctx;
  const char *css; /* the stylesheet served at PAGE_CSS_PATH */
} portal_conf;

void portal_conf_init(portal_conf *c);

/* A request, as the server read it. Header values are NULL when absent. */
typedef struct {
  const char *method;        /* "GET", "HEAD", "POST", ... */
  const char *path;          /* as sent, without the query: not %-decoded */
  const char *query;         /* the query string without '?', "" when none */
  const char *cookie;        /* the Cookie header */
  const char *authorization; /* the Authorization header */
  const char *origin;        /* the Origin header */
  const char *fetch_site;    /* the Sec-Fetch-Site header */
  const char *content_type;  /* the Content-Type header */
  const char *host;          /* the Host header */
  const char *client;        /* the client's address (after a trusted proxy's header) */
  const char *body;          /* a POST's body (at most PORTAL_FORM_MAX bytes), or NULL */
  size_t body_len;
} portal_req;

/* Work an answer leaves for after it is sent (portal_after_run): today the sign-in link's
 * lookup and mail, so that the answer to "mail me a link" costs the same whether the address
 * is known or not. */
typedef struct portal_after portal_after;

/* The answer. */
typedef struct {
  int status;
  const char *type; /* Content-Type (static) */
  char *body;       /* malloc'd, NUL-terminated */
  bool json;
  char cookies[2][PORTAL_COOKIE_MAX]; /* Set-Cookie values */
  size_t n_cookies;
  char location[512];  /* a redirection's Location, "" when none */
  const char *allow;   /* the Allow header of a 405, or NULL */
  portal_after *after; /* work for after the answer is sent, or NULL (portal_after_run) */
} portal_resp;

/* Answers q on the store st (NULL: the database is unavailable, 503). */
void portal_handle(const portal_conf *c, cstore *st, const portal_req *q, portal_resp *a);

/* Frees the answer's body (and work left undone in a->after). */
void portal_resp_free(portal_resp *a);

/* Does the work an answer left (taken from portal_resp.after before the answer is handed to
 * the client: its owner runs it once the answer is on its way) on st, and frees it. NULL is
 * fine; st NULL drops the work (logged). */
void portal_after_run(const portal_conf *c, cstore *st, portal_after *w);

/* An answer for a path the portal has no business with (--no-portal: 404), or an error the
 * server decides itself (503 busy...): a small page, or JSON when json. */
void portal_fail(portal_resp *a, bool json, int status, const char *title, const char *message);

/* The value of field name of a form or query ("a=1&b=x+y"; %-decoded, '+' a space) into
 * out: ASR_ERR_NOT_FOUND when absent, ASR_ERR_INVALID when malformed or holding a control
 * character, ASR_ERR_TOO_LARGE when longer than n - 1. The first occurrence counts. */
asr_result portal_form_get(const char *form, size_t len, const char *name, char *out, size_t n);

/* The value of cookie name in a Cookie header into out (same results). */
asr_result portal_cookie_get(const char *header, const char *name, char *out, size_t n);

#endif
