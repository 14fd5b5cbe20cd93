/* portal_staff.c: the staff's actions in the supplies portal (portal.h; docs/portal.md):
 * the warehouse steps of an order, line by line (ship, backorder, deliver), special orders
 * for a device, and the revocation of an agent. Each goes through the function the CLI
 * command calls (asr-central order ship|backorder|deliver: cengine_order_step_lines; order
 * extra: cstore_device_find and cengine_extra_order; agent revoke: cstore_agent_lock_out),
 * so that the portal and the CLI cannot disagree on what a step does or mails.
 *
 * Every path here is the staff's: anyone else (a customer by URL, a forged form, another
 * site's page) gets 403 before anything is read, audited; a staff POST carries the
 * session's CSRF token from the portal's own pages (or comes with a staff API token);
 * every action is audited with its outcome.
 *
 * Routes: GET /orders and /api/orders (the open orders, ?site=NAME for one site), POST
 * /orders/N/ship|backorder|deliver (field line: "2" or "1,3", none = every line the step
 * applies to), GET /orders/extra?site=S&device=SERIAL (the form) and POST /orders/extra,
 * GET /agents and /api/agents (?site=NAME), POST /agents/ID/revoke (field keep_token); the
 * POSTs under /api/ too, with an API token. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/engine.h"
#include "central/portal_int.h"
#include "common/date.h"
#include "common/util.h"
#include "replenish/rules.h"

#define LINES_MAX 64     /* lines named in one step */
#define REASON_MAX 255   /* bytes of a special order's reason (as the CLI's --reason) */
#define AGENT_ID_MAX 64  /* bytes of an agent id ("ag_" and hex) */
#define JOB_LENGTH 366   /* a job window lasts at most a year (the engine's bound) */
#define LOCATION_MAX 500 /* bytes of a redirection we build */

/* ---------------------------------------------------------------------------------------
 * Small helpers. */

static bool is_get(const px *x)
{
  return strcmp(x->q->method, "GET") == 0 || strcmp(x->q->method, "HEAD") == 0;
}

static bool is_post(const px *x)
{
  return strcmp(x->q->method, "POST") == 0;
}

/* False after answering 405 when the method is not the one of the path. */
static bool method_ok(px *x, bool post)
{
  if (post ? is_post(x) : is_get(x))
    return true;
  px_fail(x, 405, "Method not allowed", post ? "use POST" : "use GET");
  x->a->allow = post ? "POST" : "GET, HEAD";
  return false;
}

/* The staff only: false after answering 403 and auditing the attempt (action, target). */
static bool staff_only(px *x, const char *action, const char *target)
{
  if (x->w.kind == WHO_STAFF)
    return true;
  px_audit(x, action, target, "denied", "staff only");
  px_fail(x, 403, "Forbidden", "this is for the provider's staff");
  return false;
}

static void copy_str(char *dst, size_t n, const char *s)
{
  if (asr_strlcpy(dst, s ? s : "", n))
    dst[0] = '\0';
}

/* "YYYY-MM-DD HH:MM" of t, "—" for 0. */
static void when_text(int64_t t, char *buf, size_t n)
{
  char iso[32];

  if (t <= 0) {
    copy_str(buf, n, "\xe2\x80\x94");
    return;
  }
  asr_time_iso(t, iso, sizeof(iso));
  iso[16] = '\0';
  iso[10] = ' ';
  copy_str(buf, n, iso);
}

/* A path's or query's site name (empty: none) into site; false after answering 400/404. */
static bool site_arg(px *x, bool post, char *site, size_t n, bool *given)
{
  int64_t id = 0;
  asr_result r = post ? px_form(x, "site", site, n) : px_query(x, "site", site, n);

  *given = false;
  if (r == ASR_ERR_NOT_FOUND || (!r && !*site)) {
    site[0] = '\0';
    return true;
  }
  if (!r)
    r = cstore_site_id(x->st, site, &id);
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID || r == ASR_ERR_TOO_LARGE) {
    px_fail(x, 404, "Not found", "no such site");
    return false;
  }
  if (r) {
    px_store_fail(x, r);
    return false;
  }
  *given = true;
  return true;
}

/* Answers 303 to base (+ "?site=NAME" when site is given and the whole fits) + anchor. */
static void redirect_site(px *x, const char *base, const char *site, const char *anchor)
{
  asr_buf b = {.max = LOCATION_MAX};
  char *loc = NULL;

  asr_buf_puts(&b, base);
  if (site && *site) {
    asr_buf_puts(&b, "?site=");
    page_url(&b, site);
  }
  asr_buf_puts(&b, anchor ? anchor : "");
  if (asr_buf_finish(&b, &loc) != ASR_OK) {
    free(loc);
    px_redirect(x, base);
    return;
  }
  px_redirect(x, loc);
  free(loc);
}

/* A JSON answer {"status": "ok", key: value} (value may be 0: left out). */
static void json_ok(px *x, const char *key, json_int_t value)
{
  json_t *doc = json_pack("{s:s}", "status", "ok");
  char *body = NULL;

  if (doc && key)
    json_object_set_new(doc, key, json_integer(value));
  body = doc ? json_dumps(doc, 0) : NULL;
  json_decref(doc);
  px_body(x, 200, body);
}

/* The page's top for the staff: title, a line under it (escaped), the site filter. */
static void staff_open(px *x, asr_buf *b, const char *title, const char *sub, const char *site)
{
  page_nav nav;

  px_nav(x, &nav);
  page_open(b, title, &nav);
  asr_buf_puts(b, "<div class=\"sub\">");
  page_text(b, sub);
  if (site && *site) {
    asr_buf_puts(b, " of site <a href=\"/sites/");
    page_url(b, site);
    asr_buf_puts(b, "\">");
    page_text(b, site);
    asr_buf_puts(b, "</a> \xc2\xb7 <a href=\"");
    asr_buf_puts(b, title[0] == 'A' ? "/agents" : "/orders");
    asr_buf_puts(b, "\">every site</a>");
  } else {
    asr_buf_puts(b, " of every site");
  }
  asr_buf_puts(b, "</div></header><main>");
}

/* Finishes a page (or the JSON doc, stolen, when x->json) and answers it. */
static void answer(px *x, asr_buf *b, json_t *doc, asr_result r)
{
  char *body = NULL;

  if (r) {
    asr_buf_free(b);
    json_decref(doc);
    if (r == ASR_ERR_NOT_FOUND)
      px_fail(x, 404, "Not found", "no such site");
    else
      px_store_fail(x, r);
    return;
  }
  if (x->json) {
    asr_buf_free(b);
    body = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    px_body(x, 200, body);
    return;
  }
  json_decref(doc);
  page_close(b, x->now);
  px_body(x, 200, asr_buf_finish(b, &body) ? NULL : body);
}

/* A staff list page (orders, agents): its rows go to arr (JSON) or to b (HTML); n counts
 * them. */
typedef struct {
  px *x;
  asr_buf *b;
  json_t *arr;
  size_t n;
} staff_list;

/* The top of a list page: the method and ?site= checked (false: answered, c->arr freed),
 * the page opened (title, the line sub under it) and the card's head (html) put. */
static bool staff_list_open(staff_list *c, char *site, size_t n, bool *given, const char *title,
                            const char *sub, const char *html)
{
  if (!method_ok(c->x, false) || !site_arg(c->x, false, site, n, given)) {
    json_decref(c->arr);
    return false;
  }
  staff_open(c->x, c->b, title, sub, *given ? site : NULL);
  asr_buf_puts(c->b, html);
  return true;
}

/* The end of a list page: its table closed, empty (a paragraph) when no row came, the card
 * closed; answered as the page or as {key: rows} (r: the listing's result). */
static void staff_list_close(staff_list *c, const char *empty, const char *key, asr_result r)
{
  asr_buf_puts(c->b, "</table>");
  if (c->n == 0) {
    asr_buf_puts(c->b, "<p class=\"empty\">");
    asr_buf_puts(c->b, empty);
    asr_buf_puts(c->b, "</p>");
  }
  asr_buf_puts(c->b, "</section>");
  answer(c->x, c->b, c->arr ? json_pack("{s:o}", key, c->arr) : NULL, r);
}

/* ---------------------------------------------------------------------------------------
 * The open orders, with a form for each step a line can take. */

typedef staff_list orders_ctx;

/* The steps a line in state can take (the engine's transitions, engine.c). */
static const struct {
  const char *from;
  cengine_step step;
  const char *label;
} line_steps[] = {
    {"created", CENGINE_SHIP, "Shipped"},
    {"created", CENGINE_BACKORDER, "Backordered"},
    {"backordered", CENGINE_SHIP, "Shipped"},
    {"shipped", CENGINE_DELIVER, "Delivered"},
};

static void step_form(orders_ctx *c, int64_t order, int line, cengine_step step, const char *label)
{
  asr_buf_printf(c->b,
                 "<form method=\"post\" action=\"/orders/%lld/%s\" class=\"inline step\">"
                 "<input type=\"hidden\" name=\"line\" value=\"%d\">",
                 (long long)order, cengine_step_str(step), line);
  page_hidden(c->b, "csrf", c->x->w.csrf);
  asr_buf_printf(c->b, "<button type=\"submit\" class=\"%s\">%s</button></form> ",
                 step == CENGINE_BACKORDER ? "refuse" : "", label);
}

static void order_html(orders_ctx *c, const cstore_order_row *o)
{
  char made[32];

  when_text(o->created_at, made, sizeof(made));
  for (size_t i = 0; i < o->n_lines; i++) {
    const cstore_order_line *l = &o->lines[i];
    asr_buf_printf(c->b, "<tr class=\"line\" data-order=\"%lld\" data-line=\"%d\"",
                   (long long)o->id, l->line);
    if (i == 0)
      asr_buf_printf(c->b, " id=\"o%lld\"", (long long)o->id);
    asr_buf_printf(c->b, "><td class=\"num\">#%lld", (long long)o->id);
    if (o->kind && strcmp(o->kind, "extra") == 0)
      asr_buf_puts(c->b, " <span class=\"mute\">special</span>");
    asr_buf_puts(c->b, "</td><td><a href=\"/sites/");
    page_url(c->b, o->site);
    asr_buf_puts(c->b, "\">");
    page_text(c->b, o->site);
    asr_buf_puts(c->b, "</a><br><span class=\"mute\">");
    page_text(c->b, o->contact);
    asr_buf_printf(c->b, "</span></td><td class=\"num\">%s</td><td class=\"num\">%d</td><td>", made,
                   l->line);
    asr_buf_printf(c->b, "%d \xc3\x97 ", l->quantity);
    page_text(c->b, l->supply);
    asr_buf_puts(c->b, " <span class=\"mute\">for</span> <span class=\"serial sm\">");
    page_text(c->b, l->serial);
    asr_buf_puts(c->b, "</span></td><td><span class=\"badge b-order\">");
    page_text(c->b, l->state);
    asr_buf_puts(c->b, "</span></td><td>");
    for (size_t k = 0; k < sizeof(line_steps) / sizeof(line_steps[0]); k++)
      if (l->state && strcmp(l->state, line_steps[k].from) == 0)
        step_form(c, o->id, l->line, line_steps[k].step, line_steps[k].label);
    asr_buf_puts(c->b, "</td></tr>");
  }
}

static json_t *order_json(const cstore_order_row *o)
{
  json_t *lines = json_array();

  for (size_t i = 0; lines && i < o->n_lines; i++) {
    const cstore_order_line *l = &o->lines[i];
    json_array_append_new(lines, json_pack("{s:i,s:o,s:o,s:i,s:i,s:o}", "line", l->line, "serial",
                                           page_jtext(l->serial), "supply", page_jtext(l->supply),
                                           "supply_index", (int)l->supply_index, "quantity",
                                           l->quantity, "state", page_jtext(l->state)));
  }
  return json_pack("{s:I,s:o,s:o,s:o,s:o,s:I,s:I,s:o}", "id", (json_int_t)o->id, "site",
                   page_jtext(o->site), "kind", page_jtext(o->kind), "state", page_jtext(o->state),
                   "contact", page_jtext(o->contact), "created_at", (json_int_t)o->created_at,
                   "updated_at", (json_int_t)o->updated_at, "lines", lines ? lines : json_array());
}

static int order_one(const cstore_order_row *o, void *ctx)
{
  orders_ctx *c = ctx;

  c->n++;
  if (c->arr)
    json_array_append_new(c->arr, order_json(o));
  else
    order_html(c, o);
  return 0;
}

/* GET /orders, /api/orders [?site=NAME]. */
static void orders_page(px *x)
{
  char site[CSTORE_NAME_MAX];
  asr_buf b = {.max = PAGE_MAX_BYTES};
  bool given = false;
  orders_ctx c = {.x = x, .b = &b, .arr = x->json ? json_array() : NULL};

  if (!staff_list_open(&c, site, sizeof(site), &given, "Orders", "Open orders, line by line,",
                       "<section class=\"card\" id=\"orders\"><h2>Open orders</h2><table>"
                       "<tr><th>Order</th><th>Site</th><th>Made</th><th>Line</th><th>What</th>"
                       "<th>State</th><th>Record a warehouse step</th></tr>"))
    return;
  staff_list_close(&c, "No open orders.", "orders",
                   cstore_order_foreach(x->st, given ? site : NULL, true, order_one, &c));
}

/* ---------------------------------------------------------------------------------------
 * A warehouse step (cengine_order_step_lines, as `asr-central order STEP ID --line N`). */

/* "2" or "1,3" into lines (at most LINES_MAX); "" or absent: none (every line). */
static asr_result parse_lines(const char *s, int *lines, size_t *n)
{
  *n = 0;
  while (*s) {
    char num[12];
    size_t len = strcspn(s, ",");
    int64_t v = 0;
    if (len == 0 || len >= sizeof(num) || *n >= LINES_MAX)
      return ASR_ERR_INVALID;
    memcpy(num, s, len);
    num[len] = '\0';
    if (asr_parse_i64(num, 1, INT32_MAX, &v))
      return ASR_ERR_INVALID;
    lines[(*n)++] = (int)v;
    s += len;
    if (*s == ',' && !*++s)
      return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* POST /orders/N/STEP (tail "N/STEP"). */
static void order_step(px *x, const char *tail)
{
  char idtext[24], target[48], field[PX_FIELD_MAX], err[512] = "", action[32];
  const char *slash = strchr(tail, '/');
  cengine_step step = CENGINE_SHIP;
  int lines[LINES_MAX];
  size_t n_lines = 0;
  int64_t id = 0;
  asr_result r;

  if (!slash || (size_t)(slash - tail) >= sizeof(idtext) || cengine_step_parse(slash + 1, &step)) {
    if (staff_only(x, "order step", tail))
      px_fail(x, 404, "Not found", "no such page");
    return;
  }
  memcpy(idtext, tail, (size_t)(slash - tail));
  idtext[slash - tail] = '\0';
  if (asr_fmt(target, sizeof(target), "order %s", idtext) ||
      asr_fmt(action, sizeof(action), "order %s", cengine_step_str(step)))
    copy_str(target, sizeof(target), "order");
  if (!staff_only(x, action, target) || !method_ok(x, true) || !px_csrf_ok(x))
    return;
  if (asr_parse_i64(idtext, 1, INT64_MAX, &id)) {
    px_fail(x, 404, "Not found", "no such order");
    return;
  }
  r = px_form(x, "line", field, sizeof(field));
  if (r == ASR_ERR_NOT_FOUND) {
    r = ASR_OK;
    field[0] = '\0';
  }
  if (r || parse_lines(field, lines, &n_lines)) {
    px_fail(x, 400, "Bad request", "line: a line number, or numbers separated by commas");
    return;
  }
  cengine_opts eo = {.mail_from = x->c->mail_from, .now = x->now};
  r = cengine_order_step_lines(x->st, id, step, lines, n_lines, &eo, err, sizeof(err));
  if (r == ASR_ERR_NOT_FOUND) {
    px_audit(x, action, target, "failed", "no such order");
    px_fail(x, 404, "Not found", "no such order");
  } else if (r == ASR_ERR_INVALID) {
    px_audit(x, action, target, "failed", err);
    px_fail(x, 409, "Not done", err[0] ? err : "no line of this order can take this step");
  } else if (r) {
    px_store_fail(x, r);
  } else {
    char detail[64] = "every line it applies to";
    if (*field && asr_fmt(detail, sizeof(detail), "line %s", field))
      copy_str(detail, sizeof(detail), "some lines");
    px_audit(x, action, target, "ok", detail);
    px_kick(x);
    if (x->json) {
      json_ok(x, "order", (json_int_t)id);
    } else {
      char anchor[40];
      if (asr_fmt(anchor, sizeof(anchor), "/orders#o%lld", (long long)id))
        copy_str(anchor, sizeof(anchor), "/orders");
      px_redirect(x, anchor);
    }
  }
}

/* ---------------------------------------------------------------------------------------
 * A special order (cengine_extra_order, as `asr-central order extra`). */

/* The device of the query's site and device (any site: the staff's); false after
 * answering 404. */
static bool staff_device(px *x, char *site, view_site *v, const view_device **d)
{
  char device[CSTORE_NAME_MAX];
  asr_result r = px_query(x, "site", site, CSTORE_NAME_MAX);

  *d = NULL;
  if (!r)
    r = px_query(x, "device", device, sizeof(device));
  if (!r)
    r = px_site_view(x, site, v);
  if (!r)
    *d = view_site_device(v, device);
  if (!r && !*d) {
    view_site_free(v);
    r = ASR_ERR_NOT_FOUND;
  }
  if (!r)
    return true;
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID || r == ASR_ERR_TOO_LARGE)
    px_fail(x, 404, "Not found", "no such device");
  else
    px_store_fail(x, r);
  return false;
}

/* GET /orders/extra?site=S&device=SERIAL: the form. */
static void extra_form(px *x)
{
  char site[CSTORE_NAME_MAX], *body = NULL;
  view_site v;
  const view_device *d = NULL;
  asr_buf b = {.max = PAGE_MAX_BYTES};
  page_nav nav;

  if (!method_ok(x, false) || !staff_device(x, site, &v, &d))
    return;
  px_nav(x, &nav);
  page_open(&b, "Special order", &nav);
  asr_buf_puts(&b, "<div class=\"sub\">Site <a href=\"/sites/");
  page_url(&b, site);
  asr_buf_puts(&b, "\">");
  page_text(&b, site);
  asr_buf_puts(&b, "</a></div></header><main><section class=\"card\"><form method=\"post\" "
                   "action=\"/orders/extra\" class=\"form\" id=\"extra\">");
  page_hidden(&b, "csrf", x->w.csrf);
  page_hidden(&b, "site", site);
  page_hidden(&b, "device", d->serial ? d->serial : d->key);
  asr_buf_puts(&b, "<p>Extra cartridges for printer <b>");
  page_text(&b, d->serial ? d->serial : d->key);
  asr_buf_puts(&b, "</b> ");
  page_text(&b, d->model);
  asr_buf_puts(&b, ", shipped and tracked like any order, never merged with the automatic ones; "
                   "the job's days are left out of its learned usage.</p>"
                   "<label>Supply<select name=\"supply\">");
  for (size_t i = 0; i < d->n_supplies; i++) {
    const view_supply *s = &d->supplies[i];
    asr_buf_printf(&b, "<option value=\"%d\">", (int)s->index);
    page_text(&b, s->description ? s->description : s->type);
    asr_buf_puts(&b, s->eligible ? "" : " (not an ASR supply)");
    asr_buf_puts(&b, "</option>");
  }
  asr_buf_printf(&b,
                 "</select></label><label>Cartridges<input name=\"quantity\" type=\"number\" "
                 "min=\"1\" max=\"%d\" value=\"1\" required></label>"
                 "<label>The job starts on (optional)<input name=\"from\" type=\"date\"></label>"
                 "<label>and ends on<input name=\"to\" type=\"date\"></label>"
                 "<label>Reason (optional)<input name=\"reason\" maxlength=\"%d\"></label>"
                 "<div><button type=\"submit\">Place the special order</button></div></form>"
                 "</section>",
                 ASR_RP_QUANTITY_MAX, REASON_MAX);
  if (d->n_supplies == 0)
    asr_buf_puts(&b, "<p class=\"error\">This printer reports no supplies.</p>");
  view_site_free(&v);
  page_close(&b, x->now);
  px_body(x, 200, asr_buf_finish(&b, &body) ? NULL : body);
}

/* The special order's fields into e; NULL, or what is wrong. */
static const char *extra_fields(px *x, cengine_extra *e, char *reason, size_t n)
{
  char v[PX_FIELD_MAX], to[PX_FIELD_MAX];
  int64_t k = 0;
  asr_result r;

  if (px_form(x, "supply", v, sizeof(v)) || asr_parse_i64(v, INT32_MIN, INT32_MAX, &k))
    return "choose a supply";
  e->supply = (int32_t)k;
  if (px_form(x, "quantity", v, sizeof(v)) || asr_parse_i64(v, 1, ASR_RP_QUANTITY_MAX, &k))
    return "the number of cartridges is out of range (1 to 1000)";
  e->quantity = (int)k;
  r = px_form(x, "from", v, sizeof(v));
  if (r == ASR_ERR_NOT_FOUND)
    v[0] = '\0';
  else if (r)
    return "the job's first day is malformed";
  r = px_form(x, "to", to, sizeof(to));
  if (r == ASR_ERR_NOT_FOUND)
    to[0] = '\0';
  else if (r)
    return "the job's last day is malformed";
  if ((*v == '\0') != (*to == '\0'))
    return "give both days of the job, or neither";
  if (*v && (asr_date_parse_day(v, &e->job_from) || asr_date_parse_day(to, &e->job_to) ||
             e->job_to < e->job_from || e->job_to - e->job_from > JOB_LENGTH))
    return "the job's days: YYYY-MM-DD, the last not before the first, within a year";
  r = px_form(x, "reason", reason, n);
  if (r == ASR_ERR_NOT_FOUND)
    reason[0] = '\0';
  else if (r)
    return "the reason is at most 255 characters of text";
  e->note = *reason ? reason : NULL;
  return NULL;
}

/* POST /orders/extra. */
static void extra_place(px *x)
{
  char site[CSTORE_NAME_MAX], device[CSTORE_NAME_MAX], reason[REASON_MAX + 1], err[512] = "";
  char detail[768];
  cengine_extra e = {0};
  const char *bad;
  int64_t site_id = 0, id = 0;
  asr_result r;

  if (!px_csrf_ok(x))
    return;
  if (px_form(x, "site", site, sizeof(site)) || px_form(x, "device", device, sizeof(device))) {
    px_fail(x, 400, "Bad request", "give the site and the device");
    return;
  }
  bad = extra_fields(x, &e, reason, sizeof(reason));
  if (bad) {
    px_fail(x, 400, "Bad request", bad);
    return;
  }
  r = cstore_device_find(x->st, site, device, &e.device, &site_id);
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID) {
    px_audit(x, "special order", device, "failed", "no such device at this site");
    px_fail(x, 404, "Not found", "no such device at this site");
    return;
  }
  cengine_opts eo = {.mail_from = x->c->mail_from, .now = x->now};
  if (!r)
    r = cengine_extra_order(x->st, &e, &eo, &id, err, sizeof(err));
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID) {
    px_audit(x, "special order", device, "failed", err);
    px_fail(x, 409, "Not done", err[0] ? err : "the special order cannot be placed");
    return;
  }
  if (r) {
    px_store_fail(x, r);
    return;
  }
  if (asr_fmt(detail, sizeof(detail), "order %lld: %d of supply %d for %s at %s%s%s", (long long)id,
              e.quantity, (int)e.supply, device, site, *reason ? ": " : "", reason))
    copy_str(detail, sizeof(detail), "placed");
  px_audit(x, "special order", device, "ok", detail);
  px_kick(x);
  if (x->json) {
    json_ok(x, "order", (json_int_t)id);
  } else {
    char anchor[40];
    if (asr_fmt(anchor, sizeof(anchor), "/orders#o%lld", (long long)id))
      copy_str(anchor, sizeof(anchor), "/orders");
    px_redirect(x, anchor);
  }
}

/* ---------------------------------------------------------------------------------------
 * The agents, and their revocation (cstore_agent_lock_out, as `asr-central agent revoke`). */

typedef staff_list agents_ctx;

static void agent_html(agents_ctx *c, const cstore_agent_row *a)
{
  char enrolled[32], seen[32];

  when_text(a->enrolled_at, enrolled, sizeof(enrolled));
  when_text(a->last_seen, seen, sizeof(seen));
  asr_buf_puts(c->b, "<tr class=\"agent\" data-id=\"");
  page_attr(c->b, a->id);
  asr_buf_puts(c->b, "\"><td class=\"serial sm\">");
  page_text(c->b, a->id);
  asr_buf_puts(c->b, "</td><td><a href=\"/sites/");
  page_url(c->b, a->site);
  asr_buf_puts(c->b, "\">");
  page_text(c->b, a->site);
  asr_buf_puts(c->b, "</a></td><td>");
  page_text(c->b, a->hostname);
  asr_buf_puts(c->b, "</td><td>");
  page_text(c->b, a->version);
  asr_buf_printf(c->b, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>", enrolled,
                 seen);
  if (a->revoked) {
    asr_buf_puts(c->b, "<span class=\"badge b-refused\">revoked</span></td></tr>");
    return;
  }
  asr_buf_puts(c->b, "<span class=\"badge b-active\">active</span> <form method=\"post\" "
                     "action=\"/agents/");
  page_url(c->b, a->id);
  asr_buf_puts(c->b, "/revoke\" class=\"inline revoke\">");
  page_hidden(c->b, "csrf", c->x->w.csrf);
  asr_buf_puts(c->b, "<label class=\"mute\"><input type=\"checkbox\" name=\"keep_token\" "
                     "value=\"1\"> keep the site token</label> <button type=\"submit\" "
                     "class=\"refuse\">Revoke</button></form></td></tr>");
}

static int agent_one(const cstore_agent_row *a, void *ctx)
{
  agents_ctx *c = ctx;

  c->n++;
  if (!c->arr) {
    agent_html(c, a);
    return 0;
  }
  json_array_append_new(
      c->arr, json_pack("{s:o,s:o,s:o,s:o,s:I,s:I,s:b}", "id", page_jtext(a->id), "site",
                        page_jtext(a->site), "hostname", page_jtext(a->hostname), "version",
                        page_jtext(a->version), "enrolled_at", (json_int_t)a->enrolled_at,
                        "last_seen", (json_int_t)a->last_seen, "revoked", a->revoked));
  return 0;
}

/* GET /agents, /api/agents [?site=NAME]. */
static void agents_page(px *x)
{
  char site[CSTORE_NAME_MAX];
  asr_buf b = {.max = PAGE_MAX_BYTES};
  bool given = false;
  agents_ctx c = {.x = x, .b = &b, .arr = x->json ? json_array() : NULL};

  if (!staff_list_open(&c, site, sizeof(site), &given, "Agents", "The enrolled agents",
                       "<section class=\"card\" id=\"agents\"><h2>Agents</h2><p class=\"empty\">A "
                       "revoked agent's uploads are refused (403). Unless the site token is kept, "
                       "the token it enrolled with is revoked too (when it is still the site's): "
                       "issue a new one with <code>asr-central site token NAME --rotate</code>.</p>"
                       "<table><tr><th>Agent</th><th>Site</th><th>Host</th><th>Version</th>"
                       "<th>Enrolled</th><th>Last seen</th><th>State</th></tr>"))
    return;
  staff_list_close(&c, "No agents.", "agents",
                   cstore_agent_foreach(x->st, given ? site : NULL, agent_one, &c));
}

/* True for an agent id as the store makes them (letters, digits, '_', '-'). */
static bool agent_id_ok(const char *s, size_t len)
{
  if (len == 0 || len > AGENT_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
      return false;
  return true;
}

/* POST /agents/ID/revoke (tail "ID/revoke"). */
static void agent_revoke(px *x, const char *tail)
{
  char id[AGENT_ID_MAX + 1] = "", keep_v[8], detail[CSTORE_NAME_MAX + 96];
  const char *slash = strchr(tail, '/');
  bool ok = slash && strcmp(slash, "/revoke") == 0 && agent_id_ok(tail, (size_t)(slash - tail));
  cstore_lockout lo;
  bool keep;
  asr_result r;

  if (ok) {
    memcpy(id, tail, (size_t)(slash - tail));
    id[slash - tail] = '\0';
  }
  if (!staff_only(x, "revoke agent", ok ? id : tail))
    return;
  if (!ok) {
    px_fail(x, 404, "Not found", "no such page");
    return;
  }
  if (!method_ok(x, true) || !px_csrf_ok(x))
    return;
  r = px_form(x, "keep_token", keep_v, sizeof(keep_v));
  keep = r == ASR_OK && *keep_v && strcmp(keep_v, "0") != 0;
  r = cstore_agent_lock_out(x->st, id, keep, x->now, &lo);
  if (r == ASR_ERR_NOT_FOUND) {
    px_audit(x, "revoke agent", id, "failed", "no such agent");
    px_fail(x, 404, "Not found", "no such agent");
    return;
  }
  if (r) {
    px_store_fail(x, r);
    return;
  }
  if (asr_fmt(detail, sizeof(detail), "site %s; %s", lo.site,
              lo.token_revoked ? "the site token it enrolled with is revoked too"
              : keep           ? "the site token is kept"
                               : "the site token was issued after it enrolled: kept"))
    copy_str(detail, sizeof(detail), lo.site);
  px_audit(x, "revoke agent", id, "ok", detail);
  if (x->json) {
    json_t *doc = json_pack("{s:s,s:s,s:b}", "status", "ok", "agent", id, "site_token_revoked",
                            lo.token_revoked);
    char *body = doc ? json_dumps(doc, 0) : NULL;
    json_decref(doc);
    px_body(x, 200, body);
    return;
  }
  redirect_site(x, "/agents", lo.site, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Routes. */

bool portal_staff_route(px *x, const char *path)
{
  const char *p = x->json ? path + 4 : path; /* "/api/orders" -> "/orders" */

  if (x->json && strncmp(path, "/api/", 5) != 0)
    return false;
  if (strcmp(p, "/orders") == 0) {
    if (staff_only(x, "orders", path))
      orders_page(x);
  } else if (strcmp(p, "/orders/extra") == 0) {
    if (!staff_only(x, "special order", path))
      return true;
    if (is_post(x))
      extra_place(x);
    else if (!x->json)
      extra_form(x);
    else
      method_ok(x, true);
  } else if (strncmp(p, "/orders/", 8) == 0) {
    order_step(x, p + 8);
  } else if (strcmp(p, "/agents") == 0) {
    if (staff_only(x, "agents", path))
      agents_page(x);
  } else if (strncmp(p, "/agents/", 8) == 0) {
    agent_revoke(x, p + 8);
  } else {
    return false;
  }
  return true;
}
