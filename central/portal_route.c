/* portal_route.c: the supplies portal's router (portal_handle, portal.h): the pages anyone
 * may open (the stylesheet, sign-in), then who is asking, then the pages of the signed-in:
 * portal.c's (sign-out, status pages, audit), portal_req.c's (requests) and
 * portal_staff.c's (the staff's actions). Apart from them, so that none calls another in a
 * circle (scripts/check-includes.py). */
#include "central/portal.h"

#include <stdlib.h>
#include <string.h>

#include "central/portal_int.h"
#include "common/clock.h"

static bool is_get(const px *x)
{
  return strcmp(x->q->method, "GET") == 0 || strcmp(x->q->method, "HEAD") == 0;
}

static bool is_post(const px *x)
{
  return strcmp(x->q->method, "POST") == 0;
}

static void method_not_allowed(px *x, const char *allow)
{
  px_fail(x, 405, "Method not allowed", strcmp(allow, "POST") == 0 ? "use POST" : "use GET");
  x->a->allow = allow;
}

/* The pages anyone may open: the stylesheet and the sign-in pages. True when answered. */
static bool public_route(px *x, const char *path)
{
  static const struct {
    const char *path;
    bool post;
    void (*fn)(px *x);
  } routes[] = {
      {"/signin/email", true, px_signin_email},
      {"/signin/staff", true, px_signin_staff},
      {"/signin/link", true, px_link_use},
  };

  if (strcmp(path, "/favicon.ico") == 0 || strcmp(path, "/robots.txt") == 0) {
    px_fail(x, 404, "Not found", "no such file"); /* asked by every browser: not audited */
    return true;
  }
  if (strcmp(path, PAGE_CSS_PATH) == 0 || strcmp(path, "/signin") == 0 ||
      (strcmp(path, "/signin/link") == 0 && is_get(x))) {
    if (!is_get(x)) {
      method_not_allowed(x, "GET, HEAD");
    } else if (path[1] == 's' && path[2] == 't') {
      px_body(x, 200, x->c->css ? strdup(x->c->css) : NULL);
      x->a->type = "text/css; charset=utf-8";
    } else if (strcmp(path, "/signin") == 0) {
      px_signin_page(x, 200, NULL, NULL);
    } else {
      px_link_page(x);
    }
    return true;
  }
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
    if (strcmp(path, routes[i].path) != 0)
      continue;
    if (!is_post(x))
      method_not_allowed(x, "POST");
    else
      routes[i].fn(x);
    return true;
  }
  return false;
}

/* The pages of the signed-in: true when path was one of them. */
static bool private_route(px *x, const char *path)
{
  bool get = is_get(x);

  if (strcmp(path, "/signout") == 0) {
    if (is_post(x))
      px_signout(x);
    else
      method_not_allowed(x, "POST");
    return true;
  }
  if (portal_requests_route(x, path) || portal_staff_route(x, path))
    return true;
  if (strcmp(path, "/") != 0 && strcmp(path, "/api/sites") != 0 && strncmp(path, "/sites/", 7) &&
      strncmp(path, "/api/sites/", 11) && strcmp(path, "/audit") != 0)
    return false;
  if (!get)
    method_not_allowed(x, "GET, HEAD");
  else if (strcmp(path, "/audit") == 0 && x->w.kind != WHO_STAFF)
    px_deny(x, 403, "staff only", "the audit trail is for the staff");
  else if (strcmp(path, "/audit") == 0)
    px_page_audit(x);
  else if (strcmp(path, "/") == 0 || strcmp(path, "/api/sites") == 0)
    px_page_index(x);
  else
    px_page_site(x, path + (x->json ? 11 : 7));
  return true;
}

void portal_handle(const portal_conf *c, cstore *st, const portal_req *q, portal_resp *a)
{
  px x = {.c = c, .st = st, .q = q, .a = a, .now = asr_clock_now()};
  const char *path = q->path ? q->path : "/";

  memset(a, 0, sizeof(*a));
  x.json = strncmp(path, "/api/", 5) == 0;
  if (!st) {
    portal_fail(a, x.json, 503, "Unavailable", "database unavailable");
    return;
  }
  if (public_route(&x, path))
    return;
  if (!px_who_asks(&x))
    return;
  if (!private_route(&x, path))
    px_fail(&x, 404, "Not found", "no such page");
}
