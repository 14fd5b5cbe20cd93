/* check_page.c: the supplies status page: escaping of hostile strings, level bars and
 * charts for empty, one-point and 90-day histories, the JSON's shape (central/page.c), and
 * a view loaded from a real SQLite store (central/view.c). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"
#include "central/cstore.h"
#include "central/page.h"
#include "central/view.h"
#include "common/buf.h"
#include "common/device.h"
#include "common/util.h"

#define DAY INT64_C(20500) /* 2026-02-16 */
#define NOW (DAY * 86400 + 12 * 3600)

/* Occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
  size_t n = 0, len = strlen(needle);

  for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
    n++;
  return n;
}

static char *escaped(const char *s)
{
  char *out = NULL;

  ck_assert_int_eq(page_escape(s, &out), ASR_OK);
  ck_assert_ptr_nonnull(out);
  return out;
}

/* ---------------------------------------------------------------------------------------
 * Escaping. */

static const struct {
  const char *in, *out;
} escapes[] = {
    {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
    {"a\"b'c&d", "a&quot;b&#39;c&amp;d"},
    {"\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},                   /* invalid bytes */
    {"a\xc0\xaf", "a\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong "/" */
    {"\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* a UTF-16 surrogate */
    {"end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd"},             /* truncated sequence */
    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
    {"a\x01\x1b[31m\x7f", "a\xef\xbf\xbd\xef\xbf\xbd[31m\xef\xbf\xbd"},       /* controls */
    {"\xc2\x9bx", "\xef\xbf\xbdx"},                                           /* a C1 control */
    {"a\tb\r\nc\xc2\x85"
     "d",
     "a b  c d"}, /* line breaks: spaces */
    {"\xe2\x81\xa7"
     "a\xe2\x80\x8f"
     "b\xef\xbb\xbf",
     "\xef\xbf\xbd"
     "a\xef\xbf\xbd"
     "b\xef\xbf\xbd"}, /* isolate, RLM, BOM */
    {"SN\xe2\x80\xae"
     "123",
     "SN\xef\xbf\xbd"
     "123"}, /* bidi override */
    {"", ""},
};

START_TEST(test_escape_table)
{
  char *out = escaped(escapes[_i].in);

  ck_assert_str_eq(out, escapes[_i].out);
  free(out);
}
END_TEST

START_TEST(test_escape_long_and_clean)
{
  size_t n = 1u << 20;
  char *s = malloc(n + 1), *out, *clean = NULL;

  ck_assert_ptr_nonnull(s);
  memset(s, '<', n);
  s[n] = '\0';
  out = escaped(s);
  ck_assert_uint_eq(strlen(out), 4 * n);
  ck_assert_ptr_null(strchr(out, '<'));
  free(out);
  free(s);
  /* for JSON: markup stays, invalid bytes do not */
  ck_assert_int_eq(page_clean("<b>\xff", &clean), ASR_OK);
  ck_assert_str_eq(clean, "<b>\xef\xbf\xbd");
  free(clean);
}
END_TEST

START_TEST(test_url_decode)
{
  char out[16];

  ck_assert_int_eq(page_url_decode("acme%20co%2Fx", out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "acme co/x");
  ck_assert_int_eq(page_url_decode("%ff%FE+", out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "\xff\xfe+");
  ck_assert_int_eq(page_url_decode("a%zz", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(page_url_decode("a%2", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(page_url_decode("a%", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(page_url_decode("a%00b", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(page_url_decode("0123456789abcdef", out, sizeof(out)), ASR_ERR_TOO_LARGE);
  ck_assert_int_eq(page_url_decode("0123456789abcde", out, sizeof(out)), ASR_OK);
}
END_TEST

/* common/buf.h, the pages' output buffer. */
START_TEST(test_buf)
{
  asr_buf b = {.max = 5000};
  char *out = (char *)"x", big[3000];

  ck_assert_int_eq(asr_buf_finish(&b, &out), ASR_OK);
  ck_assert_str_eq(out, "");
  free(out);
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  asr_buf_printf(&b, "%s|%d", big, 42); /* longer than any first allocation */
  asr_buf_add(&b, "\0z", 2);
  ck_assert_uint_eq(b.len, 2999 + 3 + 2);
  ck_assert_int_eq(b.err, ASR_OK);
  asr_buf_puts(&b, big); /* past max: fails, and the failure sticks */
  ck_assert_int_eq(b.err, ASR_ERR_LIMIT);
  asr_buf_puts(&b, "ok");
  ck_assert_uint_eq(b.len, 3004);
  ck_assert_int_eq(asr_buf_finish(&b, &out), ASR_ERR_LIMIT);
  ck_assert_ptr_null(out);
  ck_assert_ptr_null(b.p);
  ck_assert_uint_eq(b.max, 5000);
  asr_buf_puts(&b, "again");
  ck_assert_int_eq(asr_buf_finish(&b, &out), ASR_OK);
  ck_assert_str_eq(out, "again");
  free(out);
}
END_TEST

START_TEST(test_type_code)
{
  ck_assert_int_eq(asr_supply_type_code("toner"), 3);
  ck_assert_int_eq(asr_supply_type_code("wasteToner"), 4);
  ck_assert_int_eq(asr_supply_type_code("tonerCartridge"), 21);
  ck_assert_int_eq(asr_supply_type_code("Toner"), 0);
  ck_assert_int_eq(asr_supply_type_code(""), 0);
  ck_assert_int_eq(asr_supply_type_code(NULL), 0);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * A hand-made site. */

static view_point hist90[90], hist1[1], gap[6];
static view_supply supplies[5];
static view_device devices[2];
static view_order_line lines[2];
static view_order orders[1];

static void make_supply(view_supply *s, int32_t idx, const char *desc, const char *colorant,
                        int percent, double days_left, view_point *pts, size_t n)
{
  memset(s, 0, sizeof(*s));
  s->index = idx;
  s->description = (char *)desc;
  s->type = "toner";
  s->colorant = (char *)colorant;
  s->has_percent = percent >= 0;
  s->percent = percent >= 0 ? percent : 0;
  s->eligible = true;
  s->forecast = days_left >= 0;
  s->daily_use = 0.5;
  s->days_left = days_left >= 0 ? days_left : ASR_RP_FOREVER;
  s->order_day = days_left >= 0 ? DAY + (int64_t)days_left - 21 : ASR_RP_NEVER;
  s->points = pts;
  s->n_points = n;
}

static void make_site(view_site *v)
{
  for (int i = 0; i < 90; i++)
    hist90[i] = (view_point){DAY - 89 + i, 100 - i};
  hist1[0] = (view_point){DAY, 40};
  for (int i = 0; i < 6; i++) /* two runs of 3 days, 20 days apart */
    gap[i] = (view_point){DAY - 40 + i + (i >= 3 ? 20 : 0), 80 - i};
  make_supply(&supplies[0], 1, "Black <Toner>", "black", 54, 200.0, hist90, 90);
  make_supply(&supplies[1], 2, "Cyan", "cyan", 30, 30.0, hist1, 1);
  make_supply(&supplies[2], 3, "Magenta", "magenta", 5, 10.0, NULL, 0);
  make_supply(&supplies[3], 4, "Yellow", "url(javascript:x)", -1, -1, gap, 6);
  make_supply(&supplies[4], 5, "Bad \xff name", "yellow", 80, -1, NULL, 0);
  memset(devices, 0, sizeof(devices));
  devices[0] = (view_device){.serial = "\"><script>alert(1)</script>",
                             .key = "serial:x",
                             .model = "Model 'Q' \xc3\x28",
                             .vendor = "ACME & Sons",
                             .ip = "192.0.2.7",
                             .last_report = NOW - 3 * 3600,
                             .state = VIEW_ACTIVE,
                             .reporting = "active",
                             .n_supplies = 5,
                             .supplies = supplies};
  devices[1] = (view_device){
      .serial = "SN2", .last_report = 0, .state = VIEW_DISCONNECTED, .reporting = "disconnected"};
  lines[0] = (view_order_line){"SN<1>", "Black Toner", "black", "trigger", 1, 2, "shipped"};
  lines[1] = (view_order_line){"SN2", "Waste", NULL, "consolidated", 4, 1, "backordered"};
  orders[0] = (view_order){.id = 7,
                           .state = "shipped",
                           .reason = "trigger",
                           .created_at = NOW - 86400,
                           .updated_at = NOW,
                           .n_lines = 2,
                           .lines = lines};
  memset(v, 0, sizeof(*v));
  v->name = "acme <&> \"west\"";
  v->contact = "ops@acme.example";
  v->address = "1 Main St";
  v->now = NOW;
  v->today = DAY;
  v->trigger_days = 21;
  v->n_devices = 2;
  v->devices = devices;
}

static char *site_html(const view_site *v)
{
  char *out = NULL;

  ck_assert_int_eq(page_site_html(v, &out), ASR_OK);
  ck_assert_ptr_nonnull(out);
  return out;
}

START_TEST(test_site_html_hostile)
{
  view_site v;
  char *h;

  make_site(&v);
  h = site_html(&v);
  ck_assert_ptr_null(strstr(h, "<script"));
  ck_assert_ptr_null(strstr(h, "javascript"));
  ck_assert_ptr_nonnull(strstr(h, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  ck_assert_ptr_nonnull(strstr(h, "data-serial=\"&quot;&gt;&lt;script&gt;"));
  ck_assert_ptr_nonnull(strstr(h, "<h1>acme &lt;&amp;&gt; &quot;west&quot;</h1>"));
  ck_assert_ptr_nonnull(strstr(h, "href=\"/api/sites/acme%20%3C%26%3E%20%22west%22\""));
  ck_assert_ptr_nonnull(strstr(h, "Model &#39;Q&#39; \xef\xbf\xbd("));
  ck_assert_ptr_nonnull(strstr(h, "Bad \xef\xbf\xbd name"));
  ck_assert_ptr_nonnull(strstr(h, "ACME &amp; Sons"));
  ck_assert_ptr_nonnull(strstr(h, "Black &lt;Toner&gt;"));
  ck_assert_ptr_nonnull(strstr(h, "Orders are not available"));
  ck_assert_uint_eq(count(h, "<section class=\"card device\""), 2);
  ck_assert_ptr_nonnull(strstr(h, "b-disconnected\">disconnected<"));
  ck_assert_ptr_nonnull(strstr(h, "b-active\">active<"));
  ck_assert_ptr_nonnull(strstr(h, "last report 3 h ago"));
  ck_assert_ptr_nonnull(strstr(h, "last report never"));
  free(h);
}
END_TEST

START_TEST(test_bars_and_colours)
{
  view_site v;
  char *h;

  make_site(&v);
  h = site_html(&v);
  /* 200 days left: green; 30: amber; 10 (<= 21): red; unknown level: hatched, full */
  ck_assert_ptr_nonnull(strstr(h, "aria-valuenow=\"54\"><span class=\"fill-ok w54\">"));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"fill-warn w30\">"));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"fill-crit w5\">"));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"fill-unknown w100\">"));
  /* no inline style anywhere (the Content-Security-Policy allows none) */
  ck_assert_ptr_null(strstr(h, "style="));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"pct\">?</span>"));
  /* days left and order dates: 200 d -> 2026-08-14 (179 d); 10 d: due now */
  ck_assert_ptr_nonnull(strstr(h, ">200 d<"));
  ck_assert_ptr_nonnull(strstr(h, "2026-08-14</span> <span class=\"mute\">in 179 d"));
  ck_assert_ptr_nonnull(strstr(h, "2026-02-25</span> <span class=\"mute\">in 9 d"));
  ck_assert_ptr_nonnull(strstr(h, "class=\"due\">due now"));
  /* colorant swatches from the fixed table only; an unknown one is grey */
  ck_assert_ptr_nonnull(strstr(h, "class=\"sw sw-c\""));
  ck_assert_uint_eq(count(h, "class=\"sw sw-x\"></span>"), 1);
  {
    char *css = NULL; /* ... whose colours and widths the served stylesheet holds */
    ck_assert_int_eq(page_stylesheet(&css), ASR_OK);
    ck_assert_ptr_nonnull(strstr(css, ".sw-c{background:#06b6d4}"));
    ck_assert_ptr_nonnull(strstr(css, ".sw-x{background:#d1d5db}"));
    ck_assert_ptr_nonnull(strstr(css, ".w54{width:54%}"));
    free(css);
  }
  /* supplies due: the magenta one */
  ck_assert_ptr_nonnull(strstr(h, "<b>1</b>supplies due for order"));
  free(h);
}
END_TEST

START_TEST(test_charts)
{
  view_site v;
  char *h, *p;

  make_site(&v);
  h = site_html(&v);
  ck_assert_uint_eq(count(h, "<svg class=\"chart\""), 5);
  ck_assert_uint_eq(count(h, ">no history</text>"), 2);        /* empty histories */
  ck_assert_uint_eq(count(h, "<circle class=\"pt-warn\""), 1); /* the one-point history */
  /* the 90-day history: one line of 90 points from the left edge to the right one */
  p = strstr(h, "<polyline class=\"ln-ok\" points=\"");
  ck_assert_ptr_nonnull(p);
  p += strlen("<polyline class=\"ln-ok\" points=\"");
  ck_assert_int_eq(strncmp(p, "2.0,2.0 ", 8), 0);
  ck_assert_uint_eq((size_t)(strchr(p, '"') - p) > 0, 1);
  {
    size_t pairs = 1;
    for (const char *q = p; *q != '"'; q++)
      pairs += *q == ' ';
    ck_assert_uint_eq(pairs, 90);
  }
  ck_assert_ptr_nonnull(strstr(p, "178.0,"));
  /* a gap of 20 days breaks the line in two */
  ck_assert_uint_eq(count(h, "<polyline class=\"ln-unknown\""), 2);
  free(h);
}
END_TEST

START_TEST(test_orders_and_empty)
{
  view_site v;
  char *h;

  make_site(&v);
  v.has_orders = true;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "No open orders."));
  free(h);
  v.n_orders = 1;
  v.orders = orders;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "#7</td>"));
  ck_assert_ptr_nonnull(strstr(h, "b-order\">shipped</span>"));
  ck_assert_ptr_nonnull(strstr(h, "2 \xc3\x97 Black Toner"));
  ck_assert_ptr_nonnull(strstr(h, "SN&lt;1&gt;"));
  free(h);
  /* a high-usage device: its due supply is on hold, not counted as due */
  devices[0].state = VIEW_NOT_ELIGIBLE;
  h = site_html(&v);
  ck_assert_ptr_null(strstr(h, "due now"));
  ck_assert_uint_eq(count(h, "on hold (high usage)"), 5);
  ck_assert_ptr_nonnull(strstr(h, "<b>0</b>supplies due for order"));
  ck_assert_ptr_nonnull(strstr(h, "b-noteligible\">not eligible<"));
  free(h);
  v.n_devices = 0;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "No device has reported yet."));
  free(h);
}
END_TEST

START_TEST(test_site_json)
{
  view_site v;
  char *out = NULL;
  json_error_t err;
  json_t *doc, *d0, *s0, *s3, *s4;

  make_site(&v);
  ck_assert_int_eq(page_site_json(&v, &out), ASR_OK);
  doc = json_loads(out, 0, &err);
  ck_assert_msg(doc != NULL, "%s", err.text);
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "site"), "name")),
                   "acme <&> \"west\"");
  ck_assert_str_eq(json_string_value(json_object_get(doc, "today")), "2026-02-16");
  ck_assert(json_is_null(json_object_get(doc, "orders")));
  ck_assert_uint_eq(json_array_size(json_object_get(doc, "devices")), 2);
  d0 = json_array_get(json_object_get(doc, "devices"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(d0, "serial")),
                   "\"><script>alert(1)</script>");
  ck_assert_str_eq(json_string_value(json_object_get(d0, "model")), "Model 'Q' \xef\xbf\xbd(");
  ck_assert_str_eq(json_string_value(json_object_get(d0, "state")), "active");
  ck_assert_str_eq(json_string_value(json_object_get(d0, "last_report")), "2026-02-16T09:00:00Z");
  s0 = json_array_get(json_object_get(d0, "supplies"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(s0, "percent")), 54);
  ck_assert_str_eq(json_string_value(json_object_get(s0, "level")), "ok");
  ck_assert(json_real_value(json_object_get(s0, "days_left")) == 200.0);
  ck_assert_str_eq(json_string_value(json_object_get(s0, "order_date")), "2026-08-14");
  ck_assert(json_is_false(json_object_get(s0, "order_due")));
  ck_assert(json_is_null(json_object_get(s0, "on_hold")));
  ck_assert_uint_eq(json_array_size(json_object_get(s0, "history")), 90);
  ck_assert_str_eq(
      json_string_value(json_array_get(json_array_get(json_object_get(s0, "history"), 0), 0)),
      "2025-11-19");
  s3 = json_array_get(json_object_get(d0, "supplies"), 3);
  ck_assert(json_is_null(json_object_get(s3, "percent")));
  ck_assert(json_is_null(json_object_get(s3, "days_left")));
  ck_assert(json_is_null(json_object_get(s3, "order_date")));
  s4 = json_array_get(json_object_get(d0, "supplies"), 4);
  ck_assert_str_eq(json_string_value(json_object_get(s4, "description")), "Bad \xef\xbf\xbd name");
  ck_assert(json_is_null(
      json_object_get(json_array_get(json_object_get(doc, "devices"), 1), "last_report")));
  json_decref(doc);
  free(out);
  /* disconnected or high usage: on hold as on the page, no order date, never due */
  for (int k = 0; k < 2; k++) {
    devices[0].state = k ? VIEW_NOT_ELIGIBLE : VIEW_DISCONNECTED;
    devices[0].supplies[0].order_day = v.today - 1; /* due, were it not on hold */
    ck_assert_int_eq(page_site_json(&v, &out), ASR_OK);
    doc = json_loads(out, 0, &err);
    ck_assert_msg(doc != NULL, "%s", err.text);
    s0 = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "devices"), 0), "supplies"), 0);
    ck_assert(json_is_false(json_object_get(s0, "order_due")));
    ck_assert(json_is_null(json_object_get(s0, "order_date")));
    ck_assert_str_eq(json_string_value(json_object_get(s0, "on_hold")),
                     k ? "high usage" : "disconnected");
    json_decref(doc);
    free(out);
  }
  v.has_orders = true;
  v.n_orders = 1;
  v.orders = orders;
  ck_assert_int_eq(page_site_json(&v, &out), ASR_OK);
  doc = json_loads(out, 0, &err);
  ck_assert_ptr_nonnull(doc);
  ck_assert_int_eq(
      json_integer_value(json_object_get(json_array_get(json_object_get(doc, "orders"), 0), "id")),
      7);
  ck_assert_uint_eq(
      json_array_size(json_object_get(json_array_get(json_object_get(doc, "orders"), 0), "lines")),
      2);
  json_decref(doc);
  free(out);
}
END_TEST

/* Issue 11: one explicit state per device and supply, the stock balance beside it, and an
 * empty supply that looks worst. */
START_TEST(test_states_and_empty_bar)
{
  view_site v;
  char *h = NULL, *out = NULL;
  json_error_t err;

  make_site(&v);
  supplies[2].percent = 0; /* magenta: empty */
  supplies[2].days_left = 0.0;
  supplies[0].sstate = VIEW_S_ORDERED; /* black: on its way */
  supplies[0].next_delivery = DAY + 3;
  supplies[0].open_order = 12;
  supplies[0].shelf = 1;
  supplies[0].in_transit = 2;
  supplies[1].sstate = VIEW_S_BACKORDERED;
  supplies[1].open_order = 13;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "class=\"bar bar-empty\""));
  ck_assert_ptr_nonnull(strstr(h, "aria-valuetext=\"empty\""));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"empty-tag\">empty</span>"));
  ck_assert_uint_eq(count(h, "bar-empty"), 1); /* the bar (its style: the stylesheet's) */
  ck_assert_ptr_nonnull(strstr(h, "next delivery expected 2026-02-19 (order 12)"));
  ck_assert_ptr_nonnull(strstr(h, "delayed (backordered, order 13)"));
  ck_assert_ptr_nonnull(strstr(h, "1 on the shelf, 2 on the way"));
  free(h);
  /* a device whose use is not judged yet: its state, no order for it, not due */
  devices[0].state = VIEW_NO_RATE;
  devices[0].no_rate_days = 5;
  supplies[0].sstate = VIEW_S_DUE;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "b-norate\">no usage rate<"));
  ck_assert_ptr_nonnull(strstr(h, "no usage rate yet (5 more days of reports)"));
  ck_assert_ptr_null(strstr(h, "due now"));
  ck_assert_ptr_nonnull(strstr(h, "<b>1</b>no usage rate yet"));
  free(h);
  ck_assert_int_eq(page_site_json(&v, &out), ASR_OK);
  json_t *doc = json_loads(out, 0, &err);
  ck_assert_msg(doc != NULL, "%s", err.text);
  json_t *d0 = json_array_get(json_object_get(doc, "devices"), 0);
  json_t *s0 = json_array_get(json_object_get(d0, "supplies"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(d0, "state")), "no usage rate");
  ck_assert_str_eq(json_string_value(json_object_get(d0, "state_text")),
                   "no usage rate yet (5 more days of reports)");
  ck_assert_int_eq(json_integer_value(json_object_get(d0, "no_rate_days")), 5);
  ck_assert_str_eq(json_string_value(json_object_get(s0, "state")), "no usage rate");
  ck_assert_str_eq(json_string_value(json_object_get(s0, "on_hold")), "no usage rate");
  ck_assert(json_is_false(json_object_get(s0, "order_due")));
  ck_assert_int_eq(json_integer_value(json_object_get(s0, "shelf")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(s0, "in_transit")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(s0, "next_delivery")), "2026-02-19");
  json_decref(doc);
  free(out);
  devices[0].state = VIEW_ACTIVE;
  supplies[0].sstate = VIEW_S_ORDERED;
  ck_assert_int_eq(page_site_json(&v, &out), ASR_OK);
  doc = json_loads(out, 0, &err);
  s0 = json_array_get(
      json_object_get(json_array_get(json_object_get(doc, "devices"), 0), "supplies"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(s0, "state")), "ordered");
  ck_assert_str_eq(json_string_value(json_object_get(s0, "status")),
                   "next delivery expected 2026-02-19 (order 12)");
  json_decref(doc);
  free(out);
  supplies[2].percent = 5;
  supplies[2].days_left = 10.0;
  memset(&supplies[0].sstate, 0, sizeof(supplies[0].sstate));
}
END_TEST

START_TEST(test_index_and_error)
{
  view_site_summary s[2] = {
      {.name = "a b/<c>", .contact = "x@y", .devices = 3, .active = 2, .silent = 1},
      {.name = "plain", .contact = NULL}};
  view_index v = {.now = NOW, .n_sites = 2, .sites = s};
  char *h = NULL;

  ck_assert_int_eq(page_index_html(&v, &h), ASR_OK);
  ck_assert_ptr_nonnull(strstr(h, "<a href=\"/sites/a%20b%2F%3Cc%3E\">a b/&lt;c&gt;</a>"));
  ck_assert_ptr_nonnull(strstr(h, "<a href=\"/sites/plain\">plain</a>"));
  ck_assert_ptr_nonnull(strstr(h, "<b>3</b>devices"));
  free(h);
  ck_assert_int_eq(page_index_json(&v, &h), ASR_OK);
  ck_assert_ptr_nonnull(strstr(h, "\"a b/<c>\""));
  free(h);
  v.n_sites = 0;
  ck_assert_int_eq(page_index_html(&v, &h), ASR_OK);
  ck_assert_ptr_nonnull(strstr(h, "No sites yet"));
  free(h);
  ck_assert_int_eq(page_error_html(404, "Not found", "no <site>", &h), ASR_OK);
  ck_assert_ptr_nonnull(strstr(h, "no &lt;site&gt;"));
  free(h);
}
END_TEST

/* ---------------------------------------------------------------------------------------
 * A view from a real store. */

static char dir[64], db_path[128];

static void store_setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_page.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  testdb_name(dir, "central.db", db_path, sizeof(db_path));
}

static void store_teardown(void)
{
  char p[160];
  const char *sfx[] = {"", "-wal", "-shm"};

  for (size_t i = 0; i < 3; i++)
    if (asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]) == ASR_OK)
      unlink(p);
  rmdir(dir);
}

/* 40 daily readings of a device ending today: toner falls 1 point a day (to 61), the
 * drum has no percent; a second device last reported 10 days ago. */
static void store_fill(cstore *st)
{
  static cstore_supply_meta meta[2] = {
      {.index = 1, .description = "Black Toner", .type = "toner", .colorant = "black"},
      {.index = 2, .description = "Drum", .type = "opc"}};
  static cstore_dev devs[2];
  static cstore_level lv[80][2];
  static cstore_reading rd[80];
  char token[64], site[64];
  cstore_agent ag;
  cstore_applied res;
  cstore_batch b = {.batch_id = "b-1", .agent_version = "t", .created_at = NOW};

  ck_assert_int_eq(cstore_site_add(st, "west", "ops@west", "", NOW, token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(cstore_site_add(st, "east", "ops@east", "", NOW, token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "h", "t", NOW, &ag, site, sizeof(site)), ASR_OK);
  b.agent_id = ag.id;
  devs[0] = (cstore_dev){.key = "serial:P1",
                         .serial = "P1",
                         .model = "M1",
                         .ip = "192.0.2.1",
                         .state_since = -1,
                         .last_good_poll = -1,
                         .failed_polls = -1,
                         .n_supplies = 2,
                         .supplies = meta};
  devs[1] = devs[0];
  devs[1].key = "serial:P2";
  devs[1].serial = "P2";
  for (int i = 0; i < 40; i++) {
    for (int d = 0; d < 2; d++) {
      int k = 2 * i + d;
      lv[k][0] = (cstore_level){1, true, true, true, 100 - i, 100, 100 - i};
      lv[k][1] = (cstore_level){2, true, false, false, -3, 0, 0};
      rd[k] = (cstore_reading){.device = (size_t)d,
                               .t = (DAY - 39 + i - (d ? 10 : 0)) * 86400 + 3600,
                               .n_levels = 2,
                               .levels = lv[k]};
    }
  }
  b.n_devices = 2;
  b.devices = devs;
  b.n_readings = 80;
  b.readings = rd;
  ck_assert_int_eq(cstore_apply(st, &ag, &b, NOW, &res), ASR_OK);
}

START_TEST(test_view_from_store)
{
  cstore *st = NULL;
  char err[256];
  view_site v;
  view_index ix;
  const view_supply *t;
  int64_t order = 0;

  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  store_fill(st);
  ck_assert_int_eq(view_site_load(st, "nowhere", NULL, NOW, &v), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(view_site_load(st, "west", NULL, NOW, &v), ASR_OK);
  ck_assert_uint_eq(v.n_devices, 0);
  view_site_free(&v);
  ck_assert_int_eq(view_site_load(st, "east", NULL, NOW, &v), ASR_OK);
  ck_assert_str_eq(v.contact, "ops@east");
  ck_assert_uint_eq(v.n_devices, 2);
  ck_assert_str_eq(v.devices[0].serial, "P1");
  ck_assert_int_eq(v.devices[0].state, VIEW_ACTIVE);
  ck_assert_int_eq(v.devices[1].state, VIEW_DISCONNECTED);
  ck_assert_uint_eq(v.devices[0].n_supplies, 2);
  t = &v.devices[0].supplies[0];
  ck_assert(t->has_percent && t->percent == 61);
  ck_assert_uint_eq(t->n_points, 40);
  ck_assert_int_eq(t->points[39].day, DAY);
  ck_assert(t->eligible && t->forecast);
  ck_assert_msg(t->daily_use > 0.9 && t->daily_use < 1.1, "use %f", t->daily_use);
  ck_assert_msg(t->days_left > 59 && t->days_left < 62, "days left %f", t->days_left);
  ck_assert_msg(t->order_day >= DAY + 38 && t->order_day <= DAY + 41, "order day %lld",
                (long long)(t->order_day - DAY));
  t = &v.devices[0].supplies[1];
  ck_assert(!t->has_percent && !t->eligible && t->n_points == 0);
  ck_assert(v.has_orders && v.n_orders == 0);
  view_site_free(&v);
  /* an order of 2 cartridges for P1's toner: its stock, a later order date, the order */
  cstore_line_extra x = {.covered_until = DAY + 200};
  ck_assert_int_eq(cstore_order_add(st, 2, 2, "asr", "trigger", NULL, DAY, NOW, &order), ASR_OK);
  ck_assert_int_eq(cstore_order_line_add(st, order, 1, 1, 1, "P1", 2, "trigger", &x), ASR_OK);
  ck_assert_int_eq(view_site_load(st, "east", NULL, NOW, &v), ASR_OK);
  t = &v.devices[0].supplies[0];
  ck_assert_int_eq(t->stock, 2);
  ck_assert_msg(t->order_day >= DAY + 238 && t->order_day <= DAY + 241, "order day %lld",
                (long long)(t->order_day - DAY));
  ck_assert_uint_eq(v.n_orders, 1);
  ck_assert_str_eq(v.orders[0].state, "created");
  /* issue 11: the supply is ordered, its delivery expected delivery_days after the order */
  ck_assert_int_eq(t->sstate, VIEW_S_ORDERED);
  ck_assert_int_eq(t->next_delivery, DAY + 3);
  ck_assert_int_eq(t->in_transit, 2);
  ck_assert_int_eq(t->shelf, 0);
  ck_assert_str_eq(v.devices[0].contact, "ops@east");
  ck_assert_uint_eq(v.orders[0].n_lines, 1);
  ck_assert_str_eq(v.orders[0].lines[0].serial, "P1");
  ck_assert_int_eq(v.orders[0].lines[0].quantity, 2);
  ck_assert_str_eq(v.orders[0].lines[0].supply, "Black Toner");
  view_site_free(&v);
  ck_assert_int_eq(view_index_load(st, NULL, NOW, &ix), ASR_OK);
  ck_assert_uint_eq(ix.n_sites, 2);
  ck_assert_str_eq(ix.sites[0].name, "east");
  ck_assert_int_eq(ix.sites[0].devices, 2);
  ck_assert_int_eq(ix.sites[0].active, 1);
  ck_assert_int_eq(ix.sites[0].disconnected, 1);
  ck_assert_int_eq(ix.sites[1].devices, 0);
  view_index_free(&ix);
  cstore_close(st);
}
END_TEST

/* Issue 16: a device's open alerts and meters of the month, on a device without supplies
 * too; printer strings escaped, the badge's class from a fixed table, the rest counted. */
START_TEST(test_alerts_and_meters)
{
  view_site v;
  view_alert al[2] = {{"critical", "markerTonerEmpty", "markerSupplies",
                       "Toner <b>empty</b>\xe2\x80\xae\x1b[31m", 1, NOW - 3600},
                      {"\"><x", "jam'", "mediaPath", "", -1, NOW - 60}};
  view_meter me[1] = {
      {"total", "<i>impressions</i>", "HP", 1500, NOW - 60, 1000, NOW - 9 * 86400, 500, 7, 1}};
  json_t *j;
  char *h, *js = NULL;

  make_site(&v);
  devices[1].n_alerts = 2;
  devices[1].alerts = al;
  devices[1].alerts_more = 3;
  devices[1].n_meters = 1;
  devices[1].meters = me;
  v.n_open_alerts = 5;
  v.month_start = NOW - 15 * 86400;
  h = site_html(&v);
  ck_assert_ptr_nonnull(strstr(h, "<b>5</b>open alerts"));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"badge b-disconnected\">critical</span> "
                                  "<b>markerTonerEmpty</b> Toner &lt;b&gt;empty&lt;/b&gt;"
                                  "\xef\xbf\xbd\xef\xbf\xbd[31m"));
  ck_assert_ptr_nonnull(strstr(h, "(markerSupplies 1, since "));
  ck_assert_ptr_nonnull(strstr(h, "<span class=\"badge b-norate\">&quot;&gt;&lt;x</span> "
                                  "<b>jam&#39;</b>"));
  ck_assert_ptr_nonnull(strstr(h, "(mediaPath, since "));
  ck_assert_ptr_nonnull(strstr(h, "and 3 more open alerts"));
  ck_assert_ptr_nonnull(strstr(h, "<tr class=\"meter\"><td>total</td><td>&lt;i&gt;impressions"
                                  "&lt;/i&gt;</td><td class=\"num\">1500</td>"));
  ck_assert_ptr_nonnull(strstr(h, "<td class=\"num\">500 <span class=\"soon\">(1 flagged)"));
  ck_assert_ptr_nonnull(strstr(h, "No supplies reported.</p><table class=\"meters\">"));
  ck_assert_ptr_null(strstr(h, "<b>empty"));
  ck_assert_ptr_null(strstr(h, "<i>"));
  ck_assert_uint_eq(count(h, "<li class=\"alert\">"), 2);
  free(h);
  ck_assert_int_eq(page_site_json(&v, &js), ASR_OK);
  j = json_loads(js, 0, NULL);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "open_alerts")), 5);
  json_t *d = json_array_get(json_object_get(j, "devices"), 1);
  json_t *a = json_array_get(json_object_get(d, "alerts"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(a, "code")), "markerTonerEmpty");
  ck_assert_str_eq(json_string_value(json_object_get(a, "description")),
                   "Toner <b>empty</b>\xef\xbf\xbd\xef\xbf\xbd[31m");
  ck_assert_int_eq(json_integer_value(json_object_get(a, "group_index")), 1);
  ck_assert(json_is_null(
      json_object_get(json_array_get(json_object_get(d, "alerts"), 1), "group_index")));
  ck_assert_int_eq(json_integer_value(json_object_get(d, "alerts_more")), 3);
  json_t *m = json_array_get(json_object_get(d, "meters"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(m, "latest")), 1500);
  ck_assert_int_eq(json_integer_value(json_object_get(m, "usage")), 500);
  ck_assert_int_eq(json_integer_value(json_object_get(m, "flagged")), 1);
  ck_assert_int_eq(
      json_array_size(json_object_get(json_array_get(json_object_get(j, "devices"), 0), "alerts")),
      0);
  json_decref(j);
  free(js);
}
END_TEST

int main(int argc, char **argv)
{
  Suite *s = suite_create("page");
  TCase *tc = tcase_create("page");
  TCase *ts = tcase_create("store");
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv);
  tcase_add_loop_test(tc, test_escape_table, 0, (int)(sizeof(escapes) / sizeof(escapes[0])));
  tcase_add_test(tc, test_escape_long_and_clean);
  tcase_add_test(tc, test_url_decode);
  tcase_add_test(tc, test_type_code);
  tcase_add_test(tc, test_buf);
  tcase_add_test(tc, test_site_html_hostile);
  tcase_add_test(tc, test_bars_and_colours);
  tcase_add_test(tc, test_charts);
  tcase_add_test(tc, test_orders_and_empty);
  tcase_add_test(tc, test_site_json);
  tcase_add_test(tc, test_states_and_empty_bar);
  tcase_add_test(tc, test_index_and_error);
  tcase_add_test(tc, test_alerts_and_meters);
  suite_add_tcase(s, tc);
  tcase_add_checked_fixture(ts, store_setup, store_teardown);
  tcase_add_test(ts, test_view_from_store);
  suite_add_tcase(s, ts);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
