/* portal_req.c: the customers' requests of the supplies portal (portal.h): extra toner for
 * a device and a print job's days, and a change of the customer's contact record (name,
 * e-mail, delivery address). A request is queued for the staff, mailed to both sides and
 * audited; it changes nothing by itself. Approved, extra toner becomes a special order
 * through the engine's own function (cengine_extra_order_in: the ASR algorithm's state is
 * not touched, its job window is left out of the learned rate), and a change goes through
 * the contacts' own function (cstore_contact_update: with its history). The approval, the
 * order and the mails are stored in one transaction.
 *
 * Routes: GET /requests and /api/requests (a customer's own, or all for the staff), GET
 * and POST /requests/toner and /requests/contact (customers), POST /requests/N/approve and
 * /requests/N/refuse (staff; /api/requests/N/... with an API token too). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/engine.h"
#include "central/mail.h"
#include "central/portal_int.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/util.h"
#include "wire/smtp.h"

#define PENDING_MAX 20    /* pending requests of one customer at most */
#define LIST_MAX 500      /* requests listed on a page */
#define WINDOW_AHEAD 366  /* a job starts within a year */
#define WINDOW_LENGTH 366 /* ... and lasts at most a year (the engine's bound) */
#define QUANTITY_MAX 50   /* cartridges a customer asks for at once (more: the helpdesk) */

/* A request read back, with copies of its strings. */
typedef struct {
  int64_t id, site_id, contact_id, device_id, job_from, job_to, order_id, created_at;
  int32_t supply_idx;
  int quantity;
  char kind[16], email[CPORTAL_EMAIL_MAX], state[16], site[CSTORE_NAME_MAX];
  char serial[CSTORE_NAME_MAX], supply[CSTORE_NAME_MAX], note[PX_NOTE_MAX + 1];
  char new_name[CSTORE_NAME_MAX], new_email[CSTORE_NAME_MAX], new_address[CSTORE_NAME_MAX];
  bool has_name, has_email, has_address;
} req_copy;

static void copy_str(char *dst, size_t n, const char *s)
{
  if (asr_strlcpy(dst, s ? s : "", n))
    dst[0] = '\0';
}

static int copy_request(const cportal_request *q, void *ctx)
{
  req_copy *c = ctx;

  *c = (req_copy){.id = q->id,
                  .site_id = q->site_id,
                  .contact_id = q->contact_id,
                  .device_id = q->device_id,
                  .job_from = q->job_from,
                  .job_to = q->job_to,
                  .order_id = q->order_id,
                  .created_at = q->created_at,
                  .supply_idx = q->supply_idx,
                  .quantity = q->quantity,
                  .has_name = q->new_name != NULL,
                  .has_email = q->new_email != NULL,
                  .has_address = q->new_address != NULL};
  copy_str(c->kind, sizeof(c->kind), q->kind);
  copy_str(c->email, sizeof(c->email), q->email);
  copy_str(c->state, sizeof(c->state), q->state);
  copy_str(c->site, sizeof(c->site), q->site);
  copy_str(c->serial, sizeof(c->serial), q->serial);
  copy_str(c->supply, sizeof(c->supply), q->supply);
  copy_str(c->note, sizeof(c->note), q->note);
  copy_str(c->new_name, sizeof(c->new_name), q->new_name);
  copy_str(c->new_email, sizeof(c->new_email), q->new_email);
  copy_str(c->new_address, sizeof(c->new_address), q->new_address);
  return 1;
}

/* "YYYY-MM-DD" of a day. */
static void day_text(int64_t day, char *buf, size_t n)
{
  char iso[32];

  asr_time_iso(day * 86400, iso, sizeof(iso));
  iso[10] = '\0';
  copy_str(buf, n, iso);
}

/* What a request asks, in one line (its untrusted parts as they are: every output escapes
 * or cleans them). */
static void request_what(const cportal_request *q, char *buf, size_t n)
{
  char from[16], to[16];

  if (strcmp(q->kind, "toner") == 0) {
    day_text(q->job_from, from, sizeof(from));
    day_text(q->job_to, to, sizeof(to));
    if (asr_fmt(buf, n, "extra toner: %d x %s for printer %s, for a job from %s to %s", q->quantity,
                q->supply ? q->supply : "supply", q->serial ? q->serial : "?", from, to))
      copy_str(buf, n, "extra toner");
    return;
  }
  if (asr_fmt(buf, n, "change of contact:%s%s%s%s%s%s", q->new_name ? " name " : "",
              q->new_name ? q->new_name : "", q->new_email ? " e-mail " : "",
              q->new_email ? q->new_email : "", q->new_address ? " delivery address " : "",
              q->new_address ? q->new_address : ""))
    copy_str(buf, n, "change of contact");
}

/* ---------------------------------------------------------------------------------------
 * Mails of a request (in the caller's transaction). */

static asr_result request_mail(px *x, cmail_kind kind, const cportal_request *q, const char *to,
                               const char *answer)
{
  static const char *const suffix[] = {"received", "staff", "approved", "refused"};
  char what[1024], key[96];
  int64_t instance = 0;
  asr_result r = cstore_rp_instance(x->st, &instance);

  if (!r)
    r = asr_fmt(key, sizeof(key), "%llx-request-%lld-%s", (unsigned long long)instance,
                (long long)q->id, suffix[kind - CMAIL_REQUEST_RECEIVED]);
  if (r)
    return r;
  request_what(q, what, sizeof(what));
  cmail_notice m = {.kind = kind,
                    .to = to,
                    .site = q->site,
                    .msgid_key = key,
                    .request_id = q->id,
                    .what = what,
                    .requester = q->email,
                    .note = q->note,
                    .answer = answer};
  return px_mail(x, &m, q->site_id);
}

/* ---------------------------------------------------------------------------------------
 * The list. */

typedef struct {
  px *x;
  asr_buf b;
  json_t *arr;
  size_t n;
} list_ctx;

static void request_form(list_ctx *l, int64_t id, bool approve)
{
  asr_buf_printf(&l->b, "<form method=\"post\" action=\"/requests/%lld/%s\" class=\"inline\">",
                 (long long)id, approve ? "approve" : "refuse");
  asr_buf_puts(&l->b, "<input type=\"hidden\" name=\"csrf\" value=\"");
  page_attr(&l->b, l->x->w.csrf);
  asr_buf_puts(&l->b, "\">");
  if (!approve)
    asr_buf_puts(&l->b, "<input name=\"answer\" maxlength=\"500\" placeholder=\"why\"> ");
  asr_buf_printf(&l->b, "<button type=\"submit\"%s>%s</button></form> ",
                 approve ? "" : " class=\"refuse\"", approve ? "Approve" : "Refuse");
}

static void request_row(list_ctx *l, const cportal_request *q)
{
  char what[1024], when[32];

  request_what(q, what, sizeof(what));
  asr_time_iso(q->created_at, when, sizeof(when));
  asr_buf_printf(&l->b, "<tr class=\"request\" data-id=\"%lld\"><td class=\"num\">#%lld</td><td>",
                 (long long)q->id, (long long)q->id);
  asr_buf_printf(&l->b, "<span class=\"badge b-%s\">%s</span></td><td>",
                 strcmp(q->state, "approved") == 0  ? "approved"
                 : strcmp(q->state, "refused") == 0 ? "refused"
                                                    : "pending",
                 strcmp(q->state, "approved") == 0  ? "approved"
                 : strcmp(q->state, "refused") == 0 ? "refused"
                                                    : "pending");
  page_text(&l->b, q->site);
  asr_buf_puts(&l->b, "</td><td>");
  page_text(&l->b, q->email);
  asr_buf_puts(&l->b, "</td><td>");
  page_text(&l->b, what);
  if (q->note && *q->note) {
    asr_buf_puts(&l->b, "<br><span class=\"mute\">note: ");
    page_text(&l->b, q->note);
    asr_buf_puts(&l->b, "</span>");
  }
  asr_buf_printf(&l->b, "</td><td class=\"num\">%.10s</td><td>", when);
  if (q->order_id > 0)
    asr_buf_printf(&l->b, "order #%lld ", (long long)q->order_id);
  if (q->answer && *q->answer) {
    page_text(&l->b, q->answer);
    asr_buf_puts(&l->b, " ");
  }
  if (l->x->w.kind == WHO_STAFF && strcmp(q->state, "pending") == 0) {
    request_form(l, q->id, true);
    request_form(l, q->id, false);
  }
  asr_buf_puts(&l->b, "</td></tr>");
}

static int list_one(const cportal_request *q, void *ctx)
{
  list_ctx *l = ctx;
  char what[1024];

  l->n++;
  if (!l->arr) {
    request_row(l, q);
    return 0;
  }
  request_what(q, what, sizeof(what));
  json_t *o = json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:o,s:I,s:I}", "id", (json_int_t)q->id, "kind",
                        q->kind, "state", q->state, "site", page_jtext(q->site), "email",
                        page_jtext(q->email), "what", page_jtext(what), "note", page_jtext(q->note),
                        "created_at", (json_int_t)q->created_at, "order", (json_int_t)q->order_id);
  if (o)
    json_object_set_new(o, "answer", page_jtext(q->answer));
  json_array_append_new(l->arr, o);
  return 0;
}

static void list_page(px *x)
{
  list_ctx l = {.x = x, .b = {.max = PAGE_MAX_BYTES}, .arr = x->json ? json_array() : NULL};
  const char *email = x->w.kind == WHO_CUSTOMER ? x->w.who : NULL;
  page_nav nav;
  char *body = NULL;
  asr_result r;

  px_nav(x, &nav);
  page_open(&l.b, x->w.kind == WHO_STAFF ? "Requests" : "Your requests", &nav);
  asr_buf_puts(&l.b, x->w.kind == WHO_STAFF
                         ? "<div class=\"sub\">Customers' requests: pending first</div>"
                         : "<div class=\"sub\">Extra toner and changes you asked for</div>");
  asr_buf_puts(&l.b, "</header><main><section class=\"card\" id=\"requests\"><h2>Requests</h2>"
                     "<table><tr><th>#</th><th>State</th><th>Site</th><th>From</th><th>What</th>"
                     "<th>Sent</th><th>Answer</th></tr>");
  r = cportal_request_foreach(x->st, email, LIST_MAX, list_one, &l);
  asr_buf_puts(&l.b, "</table>");
  if (l.n == 0)
    asr_buf_puts(&l.b, "<p class=\"empty\">No requests.</p>");
  asr_buf_puts(&l.b, "</section>");
  page_close(&l.b, x->now);
  if (r) {
    asr_buf_free(&l.b);
    json_decref(l.arr);
    px_store_fail(x, r);
    return;
  }
  if (l.arr) {
    asr_buf_free(&l.b);
    json_t *doc = json_pack("{s:o}", "requests", l.arr);
    body = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    px_body(x, 200, body);
    return;
  }
  px_body(x, 200, asr_buf_finish(&l.b, &body) ? NULL : body);
}

/* ---------------------------------------------------------------------------------------
 * The forms (customers). */

static void form_open(px *x, asr_buf *b, const char *title, const char *action, const char *site)
{
  page_nav nav;

  px_nav(x, &nav);
  page_open(b, title, &nav);
  asr_buf_puts(b, "<div class=\"sub\">Site ");
  page_text(b, site);
  asr_buf_puts(b, "</div></header><main><section class=\"card\"><form method=\"post\" action=\"");
  asr_buf_puts(b, action);
  asr_buf_puts(b, "\" class=\"form\"><input type=\"hidden\" name=\"csrf\" value=\"");
  page_attr(b, x->w.csrf);
  asr_buf_puts(b, "\"><input type=\"hidden\" name=\"site\" value=\"");
  page_attr(b, site);
  asr_buf_puts(b, "\">");
}

static void form_close(px *x, asr_buf *b, const char *button)
{
  asr_buf_puts(b, "<label>Note for the helpdesk (optional)<textarea name=\"note\" maxlength=\"500\""
                  " rows=\"3\"></textarea></label><div><button type=\"submit\">");
  asr_buf_puts(b, button);
  asr_buf_puts(b, "</button></div></form></section>");
  page_close(b, x->now);
}

/* Only customers ask; the staff place special orders with `asr-central order extra`. */
static bool customer_only(px *x)
{
  if (x->w.kind == WHO_CUSTOMER)
    return true;
  px_audit(x, "request", x->q->path, "denied", "customers only");
  px_fail(x, 403, "Forbidden",
          "requests are the customers': staff place special orders with asr-central order extra");
  return false;
}

/* The device of the form's (or query's) site and device fields in the customer's scope:
 * its view; false after answering (404 audited) when it is not theirs. */
static bool form_device(px *x, bool post, char *site, view_site *v, const view_device **d)
{
  char device[CSTORE_NAME_MAX];
  asr_result r =
      post ? px_form(x, "site", site, CSTORE_NAME_MAX) : px_query(x, "site", site, CSTORE_NAME_MAX);

  if (!r)
    r = post ? px_form(x, "device", device, sizeof(device))
             : px_query(x, "device", device, sizeof(device));
  if (!r)
    r = px_site_view(x, site, v);
  *d = NULL;
  if (!r)
    *d = view_site_device(v, device);
  if (!r && !*d) {
    px_audit(x, "request", device, "denied", "not a device of this customer");
    view_site_free(v);
    r = ASR_ERR_NOT_FOUND;
  }
  if (!r)
    return true;
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID || r == ASR_ERR_TOO_LARGE)
    px_fail(x, 404, "Not found", "no such device among yours");
  else
    px_store_fail(x, r);
  return false;
}

/* GET /requests/toner?site=S&device=SERIAL. */
static void toner_form(px *x)
{
  char site[CSTORE_NAME_MAX], day[16], *body = NULL;
  view_site v;
  const view_device *d = NULL;
  asr_buf b = {.max = PAGE_MAX_BYTES};
  size_t n = 0;

  if (!customer_only(x) || !form_device(x, false, site, &v, &d))
    return;
  form_open(x, &b, "Extra toner for a big job", "/requests/toner", site);
  asr_buf_puts(&b, "<p>Printer <b>");
  page_text(&b, d->serial ? d->serial : d->key);
  asr_buf_puts(&b, "</b> ");
  page_text(&b, d->model);
  asr_buf_puts(&b, ". Our helpdesk sends extra cartridges for the job's days; your automatic "
                   "supplies are not changed by it.</p><input type=\"hidden\" name=\"device\" "
                   "value=\"");
  page_attr(&b, d->serial ? d->serial : d->key);
  asr_buf_puts(&b, "\"><label>Supply<select name=\"supply\">");
  for (size_t i = 0; i < d->n_supplies; i++) {
    const view_supply *s = &d->supplies[i];
    if (!s->eligible)
      continue;
    asr_buf_printf(&b, "<option value=\"%d\">", (int)s->index);
    page_text(&b, s->description ? s->description : s->type);
    asr_buf_puts(&b, "</option>");
    n++;
  }
  day_text(px_today(x) + 1, day, sizeof(day));
  asr_buf_printf(&b,
                 "</select></label><label>Cartridges<input name=\"quantity\" type=\"number\" "
                 "min=\"1\" max=\"%d\" value=\"1\" required></label>"
                 "<label>The job starts on<input name=\"from\" type=\"date\" value=\"%s\" "
                 "required></label><label>and ends on<input name=\"to\" type=\"date\" "
                 "value=\"%s\" required></label>",
                 QUANTITY_MAX, day, day);
  if (n == 0)
    asr_buf_puts(&b, "<p class=\"error\">This printer reports no toner we supply.</p>");
  form_close(x, &b, "Send the request");
  view_site_free(&v);
  px_body(x, 200, asr_buf_finish(&b, &body) ? NULL : body);
}

/* The customer's own contact record ct at site (the form's field when post, else the
 * query's): false after answering 404 (audited) or the store's failure. */
static bool own_contact(px *x, bool post, char *site, size_t n, cportal_contact *ct)
{
  asr_result r = post ? px_form(x, "site", site, n) : px_query(x, "site", site, n);

  if (!r)
    r = cportal_customer_contact(x->st, x->w.who, site, ct);
  if (r == ASR_ERR_NOT_FOUND || r == ASR_ERR_INVALID || r == ASR_ERR_TOO_LARGE) {
    px_audit(x, "request", x->q->path, "denied", "not a supplies contact of this site");
    px_fail(x, 404, "Not found", "no such site among yours");
    return false;
  }
  if (r) {
    px_store_fail(x, r);
    return false;
  }
  return true;
}

/* GET /requests/contact?site=S: the customer's record, to change. */
static void contact_form(px *x)
{
  char site[CSTORE_NAME_MAX], *body = NULL;
  cportal_contact ct;
  asr_buf b = {.max = PAGE_MAX_BYTES};

  if (!customer_only(x) || !own_contact(x, false, site, sizeof(site), &ct))
    return;
  form_open(x, &b, "Change the delivery address or contact", "/requests/contact", site);
  asr_buf_puts(&b, "<p>Change what should change; our helpdesk applies it once approved. Open "
                   "orders keep the address they were made with.</p>"
                   "<label>Name<input name=\"name\" maxlength=\"255\" value=\"");
  page_attr(&b, ct.name);
  asr_buf_puts(&b, "\"></label><label>E-mail<input name=\"email\" type=\"email\" "
                   "maxlength=\"255\" value=\"");
  page_attr(&b, ct.email);
  asr_buf_puts(&b, "\"></label><label>Delivery address<input name=\"address\" maxlength=\"255\" "
                   "value=\"");
  page_attr(&b, ct.address);
  asr_buf_puts(&b, "\"></label>");
  form_close(x, &b, "Send the request");
  px_body(x, 200, asr_buf_finish(&b, &body) ? NULL : body);
}

/* ---------------------------------------------------------------------------------------
 * Sending a request (customers). */

static int count_pending(const cportal_request *q, void *ctx)
{
  *(int *)ctx += strcmp(q->state, "pending") == 0;
  return 0;
}

/* Stores request q, its two mails and its audit row in one transaction; answers. */
static void request_store(px *x, cportal_request *q)
{
  int pending = 0;
  asr_result r = cstore_tx_begin(x->st);

  if (r) {
    px_store_fail(x, r);
    return;
  }
  r = cportal_request_lock(x->st, x->w.who); /* counted and added by one node at a time */
  if (!r)
    r = cportal_request_foreach(x->st, x->w.who, PENDING_MAX + 1, count_pending, &pending);
  if (!r && pending >= PENDING_MAX) {
    cstore_tx_rollback(x->st);
    px_audit(x, "request", q->site, "denied", "too many pending requests");
    px_fail(x, 429, "Too many requests", "you have many requests waiting: wait for the answers");
    return;
  }
  if (!r)
    r = cportal_request_add(x->st, q, x->now, &q->id);
  if (!r)
    r = request_mail(x, CMAIL_REQUEST_RECEIVED, q, x->w.who, NULL);
  if (!r && x->c->helpdesk && *x->c->helpdesk)
    r = request_mail(x, CMAIL_REQUEST_STAFF, q, x->c->helpdesk, NULL);
  if (!r) {
    char what[1024];
    request_what(q, what, sizeof(what));
    px_audit(x, "request", q->site, "ok", what);
    r = cstore_tx_commit(x->st);
  }
  if (r) {
    cstore_tx_rollback(x->st);
    px_store_fail(x, r);
    return;
  }
  px_kick(x);
  px_redirect(x, "/requests");
}

/* Reads the toner form's numbers and window into q; false after answering 400. */
static bool toner_fields(px *x, cportal_request *q)
{
  char v[PX_FIELD_MAX];
  int64_t n = 0, today = px_today(x);
  const char *bad = NULL;

  if (px_form(x, "supply", v, sizeof(v)) || asr_parse_i64(v, 0, INT32_MAX, &n))
    bad = "choose a supply";
  q->supply_idx = (int32_t)n;
  if (!bad && (px_form(x, "quantity", v, sizeof(v)) || asr_parse_i64(v, 1, QUANTITY_MAX, &n)))
    bad = "the number of cartridges is out of range";
  q->quantity = (int)n;
  if (!bad && (px_form(x, "from", v, sizeof(v)) || asr_date_parse_day(v, &q->job_from) ||
               px_form(x, "to", v, sizeof(v)) || asr_date_parse_day(v, &q->job_to)))
    bad = "give the job's first and last days (YYYY-MM-DD)";
  if (!bad && (q->job_from < today || q->job_from > today + WINDOW_AHEAD ||
               q->job_to < q->job_from || q->job_to - q->job_from > WINDOW_LENGTH))
    bad = "the job must start between today and a year from now, and end after it starts, "
          "within a year";
  if (!bad)
    return true;
  px_fail(x, 400, "Bad request", bad);
  return false;
}

/* The form's optional note (at most PX_NOTE_MAX bytes of text); false after answering 400. */
static bool note_field(px *x, char *note, size_t n)
{
  asr_result r = px_form(x, "note", note, n);

  if (r == ASR_OK || r == ASR_ERR_NOT_FOUND)
    return true;
  px_fail(x, 400, "Bad request", "the note is at most 500 characters of text");
  return false;
}

/* POST /requests/toner. */
static void toner_send(px *x)
{
  char site[CSTORE_NAME_MAX], note[PX_NOTE_MAX + 1] = "";
  view_site v;
  const view_device *d = NULL;
  const view_supply *s = NULL;
  cportal_request q = {.kind = "toner", .email = x->w.who};
  int64_t contact = 0;

  if (!customer_only(x) || !px_csrf_ok(x) || !form_device(x, true, site, &v, &d))
    return;
  if (!toner_fields(x, &q) || !note_field(x, note, sizeof(note))) {
    view_site_free(&v);
    return;
  }
  for (size_t i = 0; i < d->n_supplies && !s; i++)
    if (d->supplies[i].index == q.supply_idx && d->supplies[i].eligible)
      s = &d->supplies[i];
  q.serial = d->serial ? d->serial : d->key;
  q.supply = s ? (s->description ? s->description : s->type) : NULL;
  asr_result r =
      s ? cportal_customer_device(x->st, x->w.who, site, q.serial, &q.device_id, &contact)
        : ASR_ERR_NOT_FOUND;
  q.contact_id = contact;
  q.site = site;
  q.note = note;
  if (!r)
    r = cstore_site_id(x->st, site, &q.site_id);
  if (r == ASR_ERR_NOT_FOUND)
    px_fail(x, 400, "Bad request", "this printer has no such toner supplied by us");
  else if (r)
    px_store_fail(x, r);
  else
    request_store(x, &q);
  view_site_free(&v);
}

/* Reads one of the contact form's fields: kept in out when it differs from was. */
static bool changed_field(px *x, const char *name, const char *was, char *out, size_t n,
                          const char **into)
{
  asr_result r = px_form(x, name, out, n);

  *into = NULL;
  if (r == ASR_ERR_NOT_FOUND)
    return true;
  if (r)
    return false;
  if (strcmp(out, was) != 0)
    *into = out;
  return true;
}

/* POST /requests/contact. */
static void contact_send(px *x)
{
  char site[CSTORE_NAME_MAX], name[CSTORE_NAME_MAX], email[CSTORE_NAME_MAX];
  char address[CSTORE_NAME_MAX], note[PX_NOTE_MAX + 1] = "";
  cportal_contact ct;
  cportal_request q = {.kind = "contact", .email = x->w.who, .site = site, .note = note};

  if (!customer_only(x) || !px_csrf_ok(x) || !own_contact(x, true, site, sizeof(site), &ct))
    return;
  if (!changed_field(x, "name", ct.name, name, sizeof(name), &q.new_name) ||
      !changed_field(x, "email", ct.email, email, sizeof(email), &q.new_email) ||
      !changed_field(x, "address", ct.address, address, sizeof(address), &q.new_address) ||
      !note_field(x, note, sizeof(note)) || (q.new_email && !asr_smtp_address_ok(q.new_email))) {
    px_fail(x, 400, "Bad request",
            "each field is at most 255 characters of text, the e-mail a plain address");
    return;
  }
  if (!q.new_name && !q.new_email && !q.new_address) {
    px_fail(x, 400, "Bad request", "nothing to change: edit a field first");
    return;
  }
  q.site_id = ct.site_id;
  q.contact_id = ct.id;
  request_store(x, &q);
}

/* ---------------------------------------------------------------------------------------
 * Deciding (staff). */

/* Applies an approved request in the open transaction: the special order or the change. */
static asr_result apply(px *x, const req_copy *c, int64_t *order, char *err, size_t n)
{
  char note[PX_NOTE_MAX + 64];

  if (strcmp(c->kind, "toner") == 0) {
    cengine_extra e = {.device = c->device_id,
                       .supply = c->supply_idx,
                       .quantity = c->quantity,
                       .job_from = c->job_from,
                       .job_to = c->job_to,
                       .note = note};
    cengine_opts o = {.mail_from = x->c->mail_from, .now = x->now};
    if (asr_fmt(note, sizeof(note), "portal request %lld%s%s", (long long)c->id,
                c->note[0] ? ": " : "", c->note))
      copy_str(note, sizeof(note), "portal request");
    return cengine_extra_order_in(x->st, &e, &o, order, err, n);
  }
  asr_result r = cstore_contact_update(x->st, c->contact_id, c->has_name ? c->new_name : NULL,
                                       c->has_email ? c->new_email : NULL,
                                       c->has_address ? c->new_address : NULL, x->now);
  if (r == ASR_ERR_INVALID || r == ASR_ERR_NOT_FOUND)
    copy_str(err, n, cstore_errmsg(x->st));
  return r;
}

/* The decision in one transaction: the request's state, what approval does, the mail. */
static asr_result decide_tx(px *x, const req_copy *c, bool approve, const char *answer, char *err,
                            size_t n)
{
  int64_t order = 0;
  char said[PX_NOTE_MAX + 64];
  cportal_request q = {.id = c->id,
                       .kind = c->kind,
                       .email = c->email,
                       .site = c->site,
                       .site_id = c->site_id,
                       .serial = c->serial,
                       .supply = c->supply,
                       .quantity = c->quantity,
                       .job_from = c->job_from,
                       .job_to = c->job_to,
                       .note = c->note,
                       .new_name = c->has_name ? c->new_name : NULL,
                       .new_email = c->has_email ? c->new_email : NULL,
                       .new_address = c->has_address ? c->new_address : NULL};
  asr_result r = cstore_tx_begin(x->st);

  if (r)
    return r;
  if (approve)
    r = apply(x, c, &order, err, n);
  if (!r && approve && order > 0 &&
      asr_fmt(said, sizeof(said), "special order %lld%s%s", (long long)order, *answer ? ": " : "",
              answer))
    r = ASR_ERR_LIMIT;
  if (!r && !(approve && order > 0))
    copy_str(said, sizeof(said), answer);
  if (!r)
    r = cportal_request_decide(x->st, c->id, approve ? "approved" : "refused", x->w.who, said,
                               order, x->now);
  if (r == ASR_ERR_INVALID && !*err)
    copy_str(err, n, "this request was decided already");
  if (!r)
    r = request_mail(x, approve ? CMAIL_REQUEST_APPROVED : CMAIL_REQUEST_REFUSED, &q, c->email,
                     said);
  if (!r)
    r = cstore_tx_commit(x->st);
  if (r)
    cstore_tx_rollback(x->st);
  return r;
}

/* POST /requests/N/approve or /refuse (tail: "N/approve"). */
static void decide(px *x, const char *tail)
{
  char idtext[24], answer[PX_NOTE_MAX + 1] = "", err[256] = "", target[32];
  const char *slash = strchr(tail, '/');
  bool approve = slash && strcmp(slash, "/approve") == 0;
  req_copy c;
  int64_t id = 0;
  asr_result r;

  if (!slash || (!approve && strcmp(slash, "/refuse") != 0) ||
      (size_t)(slash - tail) >= sizeof(idtext)) {
    px_fail(x, 404, "Not found", "no such page");
    return;
  }
  memcpy(idtext, tail, (size_t)(slash - tail));
  idtext[slash - tail] = '\0';
  if (x->w.kind != WHO_STAFF) {
    px_audit(x, approve ? "approve" : "refuse", idtext, "denied", "staff only");
    px_fail(x, 403, "Forbidden", "requests are approved by the staff");
    return;
  }
  if (!px_csrf_ok(x))
    return;
  r = asr_parse_i64(idtext, 1, INT64_MAX, &id) ? ASR_ERR_NOT_FOUND
                                               : cportal_request_get(x->st, id, copy_request, &c);
  if (!r) {
    asr_result f = px_form(x, "answer", answer, sizeof(answer));
    if (f != ASR_OK && f != ASR_ERR_NOT_FOUND) {
      copy_str(err, sizeof(err), "the answer is at most 500 characters of text");
      r = ASR_ERR_INVALID;
    }
  }
  if (!r)
    r = decide_tx(x, &c, approve, answer, err, sizeof(err));
  if (asr_fmt(target, sizeof(target), "request %lld", (long long)id))
    copy_str(target, sizeof(target), "request");
  if (r == ASR_ERR_NOT_FOUND && !*err) {
    px_fail(x, 404, "Not found", "no such request");
  } else if (r == ASR_ERR_INVALID || r == ASR_ERR_NOT_FOUND || r == ASR_ERR_LIMIT) {
    px_audit(x, approve ? "approve" : "refuse", target, "failed", err[0] ? err : "invalid");
    px_fail(x, 409, "Not done", err[0] ? err : "the request cannot be decided");
  } else if (r) {
    px_store_fail(x, r);
  } else {
    px_audit(x, approve ? "approve" : "refuse", target, "ok", answer);
    px_kick(x);
    if (x->json)
      px_body(x, 200, strdup("{\"status\":\"ok\"}"));
    else
      px_redirect(x, "/requests");
  }
}

/* ---------------------------------------------------------------------------------------
 * Routes. */

static bool get_or_405(px *x, bool post_too)
{
  bool get = strcmp(x->q->method, "GET") == 0 || strcmp(x->q->method, "HEAD") == 0;

  if (get || (post_too && strcmp(x->q->method, "POST") == 0))
    return true;
  px_fail(x, 405, "Method not allowed", post_too ? "use GET or POST" : "use GET");
  x->a->allow = post_too ? "GET, HEAD, POST" : "GET, HEAD";
  return false;
}

bool portal_requests_route(px *x, const char *path)
{
  bool post = strcmp(x->q->method, "POST") == 0;

  if (strcmp(path, "/requests") == 0 || strcmp(path, "/api/requests") == 0) {
    if (get_or_405(x, false))
      list_page(x);
  } else if (strcmp(path, "/requests/toner") == 0 || strcmp(path, "/requests/contact") == 0) {
    bool toner = path[10] == 't';
    if (!get_or_405(x, true))
      return true;
    if (post)
      (toner ? toner_send : contact_send)(x);
    else
      (toner ? toner_form : contact_form)(x);
  } else if (strncmp(path, "/requests/", 10) == 0 || strncmp(path, "/api/requests/", 14) == 0) {
    if (!post) {
      px_fail(x, 405, "Method not allowed", "use POST");
      x->a->allow = "POST";
    } else {
      decide(x, path + (x->json ? 14 : 10));
    }
  } else {
    return false;
  }
  return true;
}
