/* page.c: renders the supplies status page (page.h) from a view: HTML with inline CSS and
 * SVG, and JSON through jansson. No I/O.
 *
 * Reading order: the output buffer, text safety (UTF-8 cleaning, escaping, URLs), the
 * small pieces (dates, badges, level bars, charts), the pages, then the JSON.
 *
 * Why the text safety sits in one place: every untrusted string reaches the output through
 * pb_text (HTML) or page_jtext (JSON), and both go through the same cleaner, so there is no
 * second path to forget. Numbers are formatted by us; colours and classes come from
 * fixed tables, never from a printer's string. */
#include "central/page.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"

/* ---------------------------------------------------------------------------------------
 * Text safety. */

/* The HTML entity of an ASCII character that needs one, else NULL. */
static const char *entity(unsigned char c)
{
  switch (c) {
  case '&':
    return "&amp;";
  case '<':
    return "&lt;";
  case '>':
    return "&gt;";
  case '"':
    return "&quot;";
  case '\'':
    return "&#39;";
  default:
    return NULL;
  }
}

/* Appends s cleaned (common/text.h: malformed bytes, controls, bidirectional and invisible
 * characters shown as U+FFFD) and HTML-escaped when html. */
static void pb_clean(asr_buf *b, const char *s, bool html)
{
  size_t n;

  for (; s && *s && !b->err; s += n) {
    const char *rep = asr_text_step(s, &n, ASR_TEXT_FFFD);
    const char *ent = html && !rep && n == 1 ? entity((unsigned char)*s) : NULL;

    if (rep || ent)
      asr_buf_puts(b, rep ? rep : ent);
    else
      asr_buf_add(b, s, n);
  }
}

/* An untrusted string as HTML text or attribute value; "—" for NULL or empty. */
static void pb_text(asr_buf *b, const char *s)
{
  if (!s || !*s)
    asr_buf_puts(b, "\xe2\x80\x94");
  else
    pb_clean(b, s, true);
}

asr_result page_escape(const char *s, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  pb_clean(&b, s, true);
  return asr_buf_finish(&b, out);
}

asr_result page_clean(const char *s, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  pb_clean(&b, s, false);
  return asr_buf_finish(&b, out);
}

asr_result page_url_decode(const char *in, char *out, size_t n)
{
  size_t o = 0;

  if (n == 0)
    return ASR_ERR_TOO_LARGE;
  for (size_t i = 0; in[i]; i++) {
    int c = (unsigned char)in[i];
    if (c == '%') {
      int hi = asr_hex_val(in[i + 1]), lo = hi < 0 ? -1 : asr_hex_val(in[i + 2]);
      if (hi < 0 || lo < 0 || (hi | lo) == 0)
        return ASR_ERR_INVALID;
      c = hi * 16 + lo;
      i += 2;
    }
    if (o + 1 >= n)
      return ASR_ERR_TOO_LARGE;
    out[o++] = (char)c;
  }
  out[o] = '\0';
  return ASR_OK;
}

/* Appends s percent-encoded as a URL path segment (unreserved characters kept). */
static void pb_url(asr_buf *b, const char *s)
{
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                strchr("-._~", *p);
    if (keep)
      asr_buf_add(b, (const char *)p, 1);
    else
      asr_buf_printf(b, "%%%02X", *p); /* RFC 3986 2.1: upper case */
  }
}

/* ---------------------------------------------------------------------------------------
 * Small pieces: dates, ages, badges, bars, charts. */

#define DAY_MAX 3000000 /* days beyond year 10000 are not dates we print */

/* "YYYY-MM-DD" of a day since the epoch into buf (>= 11), "—" when out of range. */
static void day_str(int64_t day, char *buf, size_t n)
{
  asr_date_format_day(day, buf, n);
  if (day < 0 || day > DAY_MAX || !buf[0])
    asr_strlcpy_cut(buf, "\xe2\x80\x94", n);
}

/* "YYYY-MM-DD HH:MM UTC" of Unix seconds. */
static void time_str(int64_t t, char *buf, size_t n)
{
  char iso[32];

  if (t <= 0 || t / 86400 > DAY_MAX) {
    asr_strlcpy_cut(buf, "never", n);
    return;
  }
  asr_time_iso(t, iso, sizeof(iso));
  iso[10] = ' ';
  iso[16] = '\0';
  asr_fmt_cut(buf, n, "%s UTC", iso);
}

/* How long ago t was, compactly ("5 min ago", "3 h ago", "12 d ago"). */
static void age_str(int64_t now, int64_t t, char *buf, size_t n)
{
  int64_t s = now - t;

  if (t <= 0)
    asr_strlcpy_cut(buf, "never", n);
  else if (s < 60)
    asr_strlcpy_cut(buf, "just now", n);
  else if (s < 3600)
    asr_fmt_cut(buf, n, "%lld min ago", (long long)(s / 60));
  else if (s < 2 * 86400)
    asr_fmt_cut(buf, n, "%lld h ago", (long long)(s / 3600));
  else
    asr_fmt_cut(buf, n, "%lld d ago", (long long)(s / 86400));
}

static void pb_badge(asr_buf *b, view_state s)
{
  asr_buf_printf(b, "<span class=\"badge b-%s\">%s</span>",
                 s == VIEW_NOT_ELIGIBLE ? "noteligible"
                 : s == VIEW_NO_RATE    ? "norate"
                                        : view_state_str(s),
                 view_state_str(s));
}

/* How urgent a supply looks: "crit", "warn", "ok", or "unknown" (no level). By days left
 * when there is a forecast, else by the level itself. */
static const char *level_class(const view_site *v, const view_supply *s)
{
  if (!s->has_percent)
    return "unknown";
  if (s->forecast && s->days_left < ASR_RP_FOREVER) {
    if (s->days_left <= v->trigger_days)
      return "crit";
    return s->days_left <= 2 * v->trigger_days ? "warn" : "ok";
  }
  if (s->percent <= 10)
    return "crit";
  return s->percent <= 25 ? "warn" : "ok";
}

/* A colour swatch class for the well-known colorants (a fixed table: never the printer's
 * text); the stylesheet gives each its colour. */
static const struct {
  const char *name, *cls, *css;
} colours[] = {
    {"black", "k", "#111827"},  {"cyan", "c", "#06b6d4"},         {"magenta", "m", "#db2777"},
    {"yellow", "y", "#facc15"}, {"photo black", "pk", "#374151"}, {"matte black", "mk", "#1f2937"},
};

static const char *swatch(const char *colorant)
{
  for (size_t i = 0; colorant && i < sizeof(colours) / sizeof(colours[0]); i++)
    if (strcmp(colorant, colours[i].name) == 0)
      return colours[i].cls;
  return "x";
}

/* A level bar. An empty supply (0 %) has no fill to colour: its whole track is drawn in the
 * worst colour, striped, and says "empty", so that it looks worst, not blank (issue 11). */
static void pb_bar(asr_buf *b, const view_site *v, const view_supply *s)
{
  const char *cls = level_class(v, s);
  bool empty = s->has_percent && s->percent == 0;

  asr_buf_printf(b, "<div class=\"lvl\"><span class=\"pct%s\">", empty ? " pct-empty" : "");
  if (s->has_percent)
    asr_buf_printf(b, "%d%%", s->percent);
  else
    asr_buf_puts(b, "?");
  asr_buf_printf(b,
                 "</span><span class=\"bar%s\" role=\"meter\" aria-valuemin=\"0\" "
                 "aria-valuemax=\"100\" aria-valuenow=\"%d\"%s><span class=\"fill-%s w%d\">"
                 "</span></span>%s</div>",
                 empty ? " bar-empty" : "", s->has_percent ? s->percent : 0,
                 empty ? " aria-valuetext=\"empty\"" : "", cls, s->has_percent ? s->percent : 100,
                 empty ? "<span class=\"empty-tag\">empty</span>" : "");
}

#define CHART_W 180
#define CHART_H 40
#define CHART_GAP 7 /* days without a level that break the line */

static double chart_x(const view_site *v, int64_t day)
{
  int64_t first = v->today - (VIEW_HISTORY_DAYS - 1);
  double f = (double)(day - first) / (VIEW_HISTORY_DAYS - 1);

  f = f < 0 ? 0 : f > 1 ? 1 : f;
  return 2.0 + f * (CHART_W - 4);
}

static double chart_y(int percent)
{
  return 2.0 + (100 - percent) * (CHART_H - 4) / 100.0;
}

/* The line of a chart: polylines split at gaps, a dot for a lone point. */
static void chart_lines(asr_buf *b, const view_site *v, const view_supply *s, const char *cls)
{
  size_t start = 0;

  for (size_t i = 1; i <= s->n_points; i++) {
    if (i < s->n_points && s->points[i].day - s->points[i - 1].day <= CHART_GAP)
      continue;
    if (i - start == 1) {
      asr_buf_printf(b, "<circle class=\"pt-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>", cls,
                     chart_x(v, s->points[start].day), chart_y(s->points[start].percent));
    } else {
      asr_buf_printf(b, "<polyline class=\"ln-%s\" points=\"", cls);
      for (size_t k = start; k < i; k++)
        asr_buf_printf(b, "%s%.1f,%.1f", k > start ? " " : "", chart_x(v, s->points[k].day),
                       chart_y(s->points[k].percent));
      asr_buf_puts(b, "\"/>");
    }
    start = i;
  }
}

static void pb_chart(asr_buf *b, const view_site *v, const view_supply *s)
{
  const char *cls = level_class(v, s);

  asr_buf_printf(b,
                 "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "role=\"img\" aria-label=\"level over the last %d days\">",
                 CHART_W, CHART_H, CHART_W, CHART_H, VIEW_HISTORY_DAYS);
  asr_buf_printf(b, "<title>%zu daily levels over the last %d days</title>", s->n_points,
                 VIEW_HISTORY_DAYS);
  asr_buf_printf(b,
                 "<rect class=\"frame\" x=\"0.5\" y=\"0.5\" width=\"%d\" height=\"%d\" rx=\"3\"/>",
                 CHART_W - 1, CHART_H - 1);
  asr_buf_printf(b, "<line class=\"mid\" x1=\"2\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", CHART_W - 2,
                 chart_y(50), chart_y(50));
  if (s->n_points == 0)
    asr_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"nodata\">no history</text>", CHART_W / 2,
                   CHART_H / 2 + 4);
  else
    chart_lines(b, v, s, cls);
  asr_buf_puts(b, "</svg>");
}

/* Days left: "—" without a forecast, "not used" when idle. */
static void pb_days_left(asr_buf *b, const view_supply *s)
{
  if (!s->forecast)
    asr_buf_puts(b, "<span class=\"mute\" title=\"not enough history\">\xe2\x80\x94</span>");
  else if (s->days_left >= ASR_RP_FOREVER)
    asr_buf_puts(b, "<span class=\"mute\">not used</span>");
  else if (s->days_left < 1)
    asr_buf_puts(b, "&lt; 1 d");
  else
    asr_buf_printf(b, "%.0f d", floor(s->days_left));
}

/* True when the rules order nothing for the device: disconnected or high usage. */
static bool held(const view_device *d)
{
  return d->state == VIEW_DISCONNECTED || d->state == VIEW_NOT_ELIGIBLE;
}

/* "no usage rate yet (N more days of reports)". */
static void pb_no_rate(asr_buf *b, int days)
{
  asr_buf_printf(b, "<span class=\"mute\">no usage rate yet (%d more day%s of reports)</span>",
                 days > 0 ? days : 1, days == 1 ? "" : "s");
}

/* An order date: "due now", or the date and how far. */
static void pb_date(asr_buf *b, const view_site *v, const view_supply *s)
{
  char d[16];

  if (!s->forecast || s->order_day == ASR_RP_NEVER || s->order_day > v->today + DAY_MAX) {
    asr_buf_puts(b, "<span class=\"mute\">\xe2\x80\x94</span>");
    return;
  }
  if (s->order_day <= v->today) {
    asr_buf_puts(b, "<span class=\"due\">due now</span>");
    return;
  }
  day_str(s->order_day, d, sizeof(d));
  asr_buf_printf(b, "<span class=\"%s\">%s</span> <span class=\"mute\">in %lld d</span>",
                 s->order_day - v->today <= 7 ? "soon" : "", d,
                 (long long)(s->order_day - v->today));
}

/* The supply's one state, in words (issue 11): not supplied by ASR, shipping with the black
 * toner, on hold, no usage rate yet, ordered with its expected delivery, backordered, or its
 * next order date. */
static void pb_order_date(asr_buf *b, const view_site *v, const view_device *dev,
                          const view_supply *s)
{
  char d[16];

  if (!s->eligible || s->sstate == VIEW_S_NOT_ASR) {
    asr_buf_puts(b, "<span class=\"mute\">not ordered</span>");
    return;
  }
  if (held(dev)) {
    asr_buf_printf(b, "<span class=\"mute\">on hold (%s)</span>",
                   dev->state == VIEW_DISCONNECTED ? "disconnected" : "high usage");
    return;
  }
  if (s->sstate == VIEW_S_ORDERED && s->next_delivery > 0) {
    day_str(s->next_delivery, d, sizeof(d));
    asr_buf_printf(b,
                   "<span class=\"ordered\">ordered</span> <span class=\"mute\">next delivery "
                   "expected %s (order %lld)</span>",
                   d, (long long)s->open_order);
    return;
  }
  if (s->sstate == VIEW_S_BACKORDERED) {
    asr_buf_printf(b, "<span class=\"soon\">delayed (backordered, order %lld)</span>",
                   (long long)s->open_order);
    return;
  }
  if (s->sstate == VIEW_S_WITH_BLACK) {
    asr_buf_puts(b, "<span class=\"mute\">ships with the black toner</span>");
    return;
  }
  if (dev->state == VIEW_NO_RATE || s->sstate == VIEW_S_NO_RATE) {
    pb_no_rate(b, dev->state == VIEW_NO_RATE ? dev->no_rate_days : s->no_rate_days);
    return;
  }
  pb_date(b, v, s);
}

/* The stock balance of a supply we send: delivered and not installed (on the shelf),
 * ordered and on the way; "none" said too (the customers are promised their balance). */
static void pb_stock(asr_buf *b, const view_supply *s)
{
  if (s->shelf <= 0 && s->in_transit <= 0 && s->stock <= 0) {
    if (s->eligible && s->sstate != VIEW_S_NOT_ASR)
      asr_buf_puts(b, "<div class=\"stock\">stock: none on the shelf or on the way</div>");
    return;
  }
  asr_buf_puts(b, "<div class=\"stock\" title=\"cartridges of ours for this device: delivered and "
                  "not installed, and on their way\">");
  if (s->shelf > 0 || s->in_transit > 0)
    asr_buf_printf(b, "%lld on the shelf, %lld on the way", (long long)s->shelf,
                   (long long)s->in_transit);
  else
    asr_buf_printf(b, "%lld in stock", (long long)s->stock);
  asr_buf_puts(b, "</div>");
}

/* ---------------------------------------------------------------------------------------
 * The pages. */

static const char css[] =
    ":root{--ok:#15803d;--warn:#d97706;--crit:#dc2626;--mute:#6b7280;--line:#e5e7eb}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif;color:#111827;background:#f3f4f6}"
    "header{background:#0f172a;color:#f8fafc;padding:14px 28px}"
    "header .top{display:flex;gap:14px;align-items:baseline;flex-wrap:wrap}"
    "header h1{font-size:21px;margin:0;overflow-wrap:anywhere}"
    "header .app{color:#94a3b8;font-size:13px;letter-spacing:.04em;text-transform:uppercase}"
    "header .sub{color:#cbd5e1;font-size:13px;margin-top:4px;overflow-wrap:anywhere}"
    "header a{color:#93c5fd;text-decoration:none}"
    "main{padding:18px 28px;max-width:1240px;margin:0 auto}"
    ".chips{display:flex;gap:10px;flex-wrap:wrap;margin:0 0 18px}"
    ".chip{background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px 14px;"
    "min-width:116px;color:var(--mute);font-size:12px}"
    ".chip b{display:block;font-size:22px;color:#111827}"
    ".chip.c-crit b{color:var(--crit)}.chip.c-warn b{color:var(--warn)}"
    ".chip.c-ok b{color:var(--ok)}"
    ".badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;"
    "font-weight:600;white-space:nowrap}"
    ".b-active{background:#dcfce7;color:#166534}.b-silent{background:#fef3c7;color:#92400e}"
    ".b-disconnected{background:#fee2e2;color:#991b1b}"
    ".b-noteligible{background:#ede9fe;color:#5b21b6}.b-order{background:#e0f2fe;color:#075985}"
    ".b-norate{background:#f1f5f9;color:#334155}"
    ".bar.bar-empty{background:repeating-linear-gradient(45deg,var(--crit) 0 5px,#fca5a5 5px "
    "10px);box-shadow:0 0 0 2px var(--crit)}"
    ".pct.pct-empty{color:var(--crit)}"
    ".empty-tag{color:var(--crit);font-weight:700;font-size:12px;text-transform:uppercase}"
    ".card{background:#fff;border:1px solid var(--line);border-radius:12px;margin:0 0 14px;"
    "overflow:hidden}"
    ".card h2{font-size:15px;margin:0;padding:10px 16px;border-bottom:1px solid var(--line)}"
    ".head{display:flex;gap:14px;align-items:center;flex-wrap:wrap;padding:10px 16px;"
    "border-bottom:1px solid var(--line);background:#fafafa}"
    ".serial{font:600 15px ui-monospace,'DejaVu Sans Mono',monospace;overflow-wrap:anywhere}"
    ".serial.sm{font-size:13px}"
    ".meta{color:var(--mute);font-size:13px;overflow-wrap:anywhere}"
    ".meta b{color:#374151;font-weight:600}"
    "table{width:100%;border-collapse:collapse}table.supplies{table-layout:fixed}"
    "th,td{padding:6px 16px;text-align:left;vertical-align:middle;border-bottom:1px solid #f3f4f6}"
    "th{font-size:11px;color:var(--mute);font-weight:600;text-transform:uppercase;"
    "letter-spacing:.05em}"
    "td.name{overflow-wrap:anywhere;max-width:300px}"
    "tr:last-child td{border-bottom:0}"
    ".lvl{display:flex;align-items:center;gap:8px}"
    ".pct{width:40px;text-align:right;font-variant-numeric:tabular-nums;font-weight:600}"
    ".bar{display:inline-block;width:150px;height:12px;background:#e5e7eb;border-radius:6px;"
    "overflow:hidden}"
    ".bar>span{display:block;height:100%;border-radius:6px}"
    ".fill-ok{background:var(--ok)}.fill-warn{background:var(--warn)}"
    ".fill-crit{background:var(--crit)}"
    ".fill-unknown{background:repeating-linear-gradient(45deg,#d1d5db 0 4px,#f3f4f6 4px 8px)}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:7px;"
    "vertical-align:-1px;border:1px solid rgba(0,0,0,.25)}"
    ".chart .frame{fill:#fbfbfc;stroke:#e5e7eb}.chart .mid{stroke:#eef0f3;stroke-dasharray:3 3}"
    ".chart polyline{fill:none;stroke-width:1.6;stroke-linejoin:round}"
    ".ln-ok{stroke:var(--ok)}.ln-warn{stroke:var(--warn)}.ln-crit{stroke:var(--crit)}"
    ".ln-unknown{stroke:#9ca3af}.pt-ok{fill:var(--ok)}.pt-warn{fill:var(--warn)}"
    ".pt-crit{fill:var(--crit)}.pt-unknown{fill:#9ca3af}"
    ".chart .nodata{fill:#9ca3af;font-size:11px;text-anchor:middle}"
    ".num{font-variant-numeric:tabular-nums}"
    ".mute{color:var(--mute)}.due{color:var(--crit);font-weight:700}"
    ".soon{color:var(--warn);font-weight:600}.stock{font-size:12px;color:#075985}"
    ".empty{padding:14px 16px;color:var(--mute)}"
    "a{color:#1d4ed8}"
    "footer{color:var(--mute);font-size:12px;text-align:center;padding:4px 0 28px}"
    ".nav{display:flex;gap:16px;align-items:center;font-size:13px;margin:0 0 8px}"
    ".nav a{color:#e2e8f0}.nav .who{margin-left:auto;color:#94a3b8}"
    ".count{background:#dc2626;color:#fff;border-radius:999px;padding:0 7px;font-size:11px}"
    "form.inline{display:inline;margin:0}"
    "button,.button{font:inherit;font-size:13px;padding:5px 12px;border-radius:8px;"
    "border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer;"
    "text-decoration:none;display:inline-block}"
    ".nav button{background:transparent;border-color:#64748b;color:#e2e8f0;padding:2px 10px}"
    "button.refuse{background:#fff;color:#b91c1c;border-color:#b91c1c}"
    ".ask{padding:8px 16px;border-bottom:1px solid var(--line)}"
    ".form{padding:14px 16px;display:grid;gap:10px;max-width:560px}"
    ".form label{display:grid;gap:4px;font-size:13px;color:#374151}"
    ".form input,.form select,.form textarea{font:inherit;padding:6px 8px;border:1px solid "
    "#cbd5e1;border-radius:6px}"
    ".notice{padding:12px 16px;background:#ecfdf5;color:#065f46}"
    ".error{padding:12px 16px;background:#fef2f2;color:#991b1b}"
    ".signin{max-width:460px;margin:24px auto}"
    ".b-pending{background:#fef3c7;color:#92400e}.b-approved{background:#dcfce7;color:#166534}"
    ".b-refused{background:#fee2e2;color:#991b1b}"
    ".b-line{background:#f1f5f9;color:#334155;font-weight:500}"
    "form.step,form.revoke{white-space:nowrap}form.step button{padding:2px 9px}"
    ".alerts{margin:0;padding:8px 16px 8px 34px;border-bottom:1px solid var(--line);"
    "background:#fff7f7;font-size:13px}.alerts li{margin:2px 0;overflow-wrap:anywhere}"
    "table.meters{border-top:1px solid var(--line)}table.meters td,table.meters th{"
    "padding:4px 16px;font-size:13px}";

asr_result page_stylesheet(char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  asr_buf_puts(&b, css);
  for (size_t i = 0; i < sizeof(colours) / sizeof(colours[0]); i++)
    asr_buf_printf(&b, ".sw-%s{background:%s}", colours[i].cls, colours[i].css);
  asr_buf_puts(&b, ".sw-x{background:#d1d5db}");
  for (int i = 0; i <= 100; i++) /* bar fills and columns: no style attribute (the CSP) */
    asr_buf_printf(&b, ".w%d{width:%d%%}", i, i);
  asr_buf_puts(&b, "\n");
  return asr_buf_finish(&b, out);
}

/* The signed-in person's bar: who, the pages, and sign-out (a form: it changes state). */
static void pb_nav(asr_buf *b, const page_nav *nav)
{
  asr_buf_puts(b, "<nav class=\"nav\"><a href=\"/\">Sites</a><a href=\"/requests\">Requests");
  if (nav->pending > 0)
    asr_buf_printf(b, " <span class=\"count\">%lld</span>", (long long)nav->pending);
  asr_buf_puts(b, "</a>");
  if (nav->staff)
    asr_buf_puts(b, "<a href=\"/orders\">Orders</a><a href=\"/agents\">Agents</a>"
                    "<a href=\"/audit\">Audit</a>");
  asr_buf_puts(b, "<span class=\"who\">");
  pb_text(b, nav->who);
  asr_buf_puts(b, nav->staff ? " (staff)" : "");
  asr_buf_puts(b, "</span><form method=\"post\" action=\"/signout\" class=\"inline\">"
                  "<input type=\"hidden\" name=\"csrf\" value=\"");
  pb_clean(b, nav->csrf ? nav->csrf : "", true);
  asr_buf_puts(b, "\"><button type=\"submit\">Sign out</button></form></nav>");
}

/* The document's head and the top of its header (the stylesheet is served apart:
 * /static/asr.css; the Content-Security-Policy allows no inline style or script). */
static void pb_open(asr_buf *b, const char *title, const page_nav *nav)
{
  asr_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>");
  pb_text(b, title);
  asr_buf_puts(b, " \xc2\xb7 asr-central</title>"
                  "<link rel=\"stylesheet\" href=\"" PAGE_CSS_PATH "\"></head><body><header>");
  if (nav)
    pb_nav(b, nav);
  asr_buf_puts(b, "<div class=\"top\"><span class=\"app\">Supplies status</span><h1>");
  pb_text(b, title);
  asr_buf_puts(b, "</h1></div>");
}

static void pb_close(asr_buf *b, int64_t now)
{
  char t[40];

  time_str(now, t, sizeof(t));
  asr_buf_printf(b, "</main><footer>asr-central \xc2\xb7 as of %s</footer></body></html>\n", t);
}

void page_open(asr_buf *b, const char *title, const page_nav *nav)
{
  pb_open(b, title, nav);
}

void page_close(asr_buf *b, int64_t now)
{
  pb_close(b, now);
}

void page_text(asr_buf *b, const char *s)
{
  pb_text(b, s);
}

void page_attr(asr_buf *b, const char *s)
{
  pb_clean(b, s ? s : "", true);
}

void page_url(asr_buf *b, const char *s)
{
  pb_url(b, s);
}

void page_hidden(asr_buf *b, const char *name, const char *value)
{
  asr_buf_puts(b, "<input type=\"hidden\" name=\"");
  asr_buf_puts(b, name);
  asr_buf_puts(b, "\" value=\"");
  page_attr(b, value);
  asr_buf_puts(b, "\">");
}

static void pb_chip(asr_buf *b, const char *cls, int64_t n, const char *label)
{
  asr_buf_printf(b, "<div class=\"chip %s\"><b>%lld</b>%s</div>", cls, (long long)n, label);
}

static void index_row(asr_buf *b, const view_site_summary *s)
{
  asr_buf_puts(b, "<tr><td class=\"name\"><a href=\"/sites/");
  pb_url(b, s->name);
  asr_buf_puts(b, "\">");
  pb_text(b, s->name);
  asr_buf_puts(b, "</a></td><td class=\"name\">");
  pb_text(b, s->contact);
  asr_buf_printf(b,
                 "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
                 "<td class=\"num\">%lld</td><td class=\"num%s\">%lld</td>"
                 "<td class=\"num%s\">%lld</td></tr>",
                 (long long)s->agents, (long long)s->devices, (long long)s->active,
                 s->silent ? " soon" : "", (long long)s->silent, s->disconnected ? " due" : "",
                 (long long)s->disconnected);
}

asr_result page_index_html(const view_index *v, char **out)
{
  return page_index_html_as(v, NULL, out);
}

asr_result page_index_html_as(const view_index *v, const page_nav *nav, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};
  int64_t dev = 0, act = 0, sil = 0, dis = 0;

  for (size_t i = 0; i < v->n_sites; i++) {
    dev += v->sites[i].devices;
    act += v->sites[i].active;
    sil += v->sites[i].silent;
    dis += v->sites[i].disconnected;
  }
  pb_open(&b, nav && !nav->staff ? "Your sites" : "All sites", nav);
  asr_buf_puts(&b, nav && !nav->staff
                       ? "<div class=\"sub\">The sites you are a supplies contact of</div>"
                         "</header><main>"
                       : "<div class=\"sub\">Every site enrolled at this asr-central</div>"
                         "</header><main>"
                         "<div class=\"chips\">");
  pb_chip(&b, "", (int64_t)v->n_sites, "sites");
  pb_chip(&b, "", dev, "devices");
  pb_chip(&b, "c-ok", act, "active");
  pb_chip(&b, "c-warn", sil, "silent");
  pb_chip(&b, "c-crit", dis, "disconnected");
  asr_buf_puts(&b, "</div><section class=\"card\" id=\"sites\"><h2>Sites</h2>");
  if (v->n_sites == 0)
    asr_buf_puts(&b, "<p class=\"empty\">No sites yet: create one with "
                     "<code>asr-central site add</code>.</p>");
  else
    asr_buf_puts(&b, "<table><tr><th>Site</th><th>Supplies contact</th><th>Agents</th>"
                     "<th>Devices</th><th>Active</th><th>Silent</th><th>Disconnected</th></tr>");
  for (size_t i = 0; i < v->n_sites; i++)
    index_row(&b, &v->sites[i]);
  asr_buf_puts(&b, v->n_sites ? "</table></section>" : "</section>");
  pb_close(&b, v->now);
  return asr_buf_finish(&b, out);
}

static void supply_row(asr_buf *b, const view_site *v, const view_device *d, const view_supply *s)
{
  asr_buf_printf(b,
                 "<tr class=\"supply\"><td class=\"name\"><span class=\"sw sw-%s\">"
                 "</span>",
                 swatch(s->colorant));
  pb_text(b, s->description ? s->description : s->type);
  asr_buf_puts(b, " <span class=\"mute\">");
  pb_text(b, s->type);
  asr_buf_puts(b, "</span></td><td>");
  pb_bar(b, v, s);
  asr_buf_puts(b, "</td><td class=\"num\">");
  pb_days_left(b, s);
  asr_buf_puts(b, "</td><td class=\"num\">");
  pb_order_date(b, v, d, s);
  pb_stock(b, s);
  asr_buf_puts(b, "</td><td>");
  pb_chart(b, v, s);
  asr_buf_puts(b, "</td></tr>");
}

static void device_head(asr_buf *b, const view_site *v, const view_device *d)
{
  char t[40], age[40];

  time_str(d->last_report, t, sizeof(t));
  age_str(v->now, d->last_report, age, sizeof(age));
  asr_buf_puts(b, "<div class=\"head\"><span class=\"serial\">");
  pb_text(b, d->serial ? d->serial : d->key);
  asr_buf_puts(b, "</span>");
  pb_badge(b, d->state);
  asr_buf_puts(b, "<span class=\"meta\"><b>");
  pb_text(b, d->model);
  asr_buf_puts(b, "</b> \xc2\xb7 ");
  pb_text(b, d->vendor);
  asr_buf_puts(b, " \xc2\xb7 ");
  pb_text(b, d->ip);
  asr_buf_printf(b, "</span><span class=\"meta\" title=\"%s\">last report %s</span>", t, age);
  if (d->state == VIEW_NOT_ELIGIBLE)
    asr_buf_puts(b, "<span class=\"meta\">high usage: not ordered for</span>");
  if (d->state == VIEW_NO_RATE)
    asr_buf_printf(b,
                   "<span class=\"meta\">no usage rate yet (%d more day%s of reports): not ordered "
                   "for</span>",
                   d->no_rate_days > 0 ? d->no_rate_days : 1, d->no_rate_days == 1 ? "" : "s");
  if (d->reconnected_day > 0 && d->reconnected_day > v->today - 30) {
    char day[16];
    day_str(d->reconnected_day, day, sizeof(day));
    asr_buf_printf(b, "<span class=\"meta\">reconnected %s</span>", day);
  }
  if (d->contact) {
    asr_buf_puts(b, "<span class=\"meta\">contact ");
    pb_text(b, d->contact);
    asr_buf_puts(b, "</span>");
  }
  asr_buf_puts(b, "</div>");
}

/* True when supply s of device d is due for an order today (not on its way, not held). */
static bool supply_due(const view_site *v, const view_device *d, const view_supply *s)
{
  return !held(d) && d->state != VIEW_NO_RATE && s->eligible && s->forecast &&
         s->order_day <= v->today && s->sstate != VIEW_S_ORDERED &&
         s->sstate != VIEW_S_BACKORDERED && s->sstate != VIEW_S_WITH_BLACK &&
         s->sstate != VIEW_S_NOT_ASR;
}

/* A fixed badge class for an alert's severity (never the printer's text). */
static const char *severity_class(const char *severity)
{
  if (severity && strcmp(severity, "critical") == 0)
    return "b-disconnected";
  if (severity && strncmp(severity, "warning", 7) == 0)
    return "b-silent";
  return "b-norate";
}

/* The device's open alerts (the agents' critical alerts, docs/meters.md), escaped. */
static void device_alerts(asr_buf *b, const view_device *d)
{
  char t[40];

  if (d->n_alerts == 0)
    return;
  asr_buf_puts(b, "<ul class=\"alerts\">");
  for (size_t i = 0; i < d->n_alerts; i++) {
    const view_alert *a = &d->alerts[i];
    time_str(a->raised_at, t, sizeof(t));
    asr_buf_printf(b, "<li class=\"alert\"><span class=\"badge %s\">", severity_class(a->severity));
    pb_text(b, a->severity);
    asr_buf_puts(b, "</span> <b>");
    pb_text(b, a->code);
    asr_buf_puts(b, "</b> ");
    pb_text(b, a->description);
    asr_buf_puts(b, " <span class=\"mute\">(");
    pb_text(b, a->group);
    if (a->group_index >= 0)
      asr_buf_printf(b, " %lld", (long long)a->group_index);
    asr_buf_printf(b, ", since %s)</span></li>", t);
  }
  if (d->alerts_more)
    asr_buf_printf(b, "<li class=\"mute\">and %zu more open alerts</li>", d->alerts_more);
  asr_buf_puts(b, "</ul>");
}

/* The device's meters read this month: the newest read and the month's usage. */
static void device_meters(asr_buf *b, const view_device *d)
{
  char t[40];

  if (d->n_meters == 0)
    return;
  asr_buf_puts(b, "<table class=\"meters\"><tr><th>Meter</th><th>Unit</th><th>Latest read</th>"
                  "<th>Read at</th><th>Usage this month</th></tr>");
  for (size_t i = 0; i < d->n_meters; i++) {
    const view_meter *m = &d->meters[i];
    time_str(m->latest_at, t, sizeof(t));
    asr_buf_puts(b, "<tr class=\"meter\"><td>");
    pb_text(b, m->name);
    asr_buf_puts(b, "</td><td>");
    pb_text(b, m->unit);
    asr_buf_printf(b,
                   "</td><td class=\"num\">%lld</td><td class=\"num\">%s</td>"
                   "<td class=\"num\">%lld",
                   (long long)m->latest, t, (long long)m->usage);
    if (m->flagged)
      asr_buf_printf(b, " <span class=\"soon\">(%lld flagged)</span>", (long long)m->flagged);
    asr_buf_puts(b, "</td></tr>");
  }
  if (d->meters_more)
    asr_buf_printf(b, "<tr><td class=\"mute\" colspan=\"5\">and %zu more meters</td></tr>",
                   d->meters_more);
  asr_buf_puts(b, "</table>");
}

/* A customer's link to ask for extra toner for device d (a form: nothing is ordered here). */
static void extra_link(asr_buf *b, const view_site *v, const view_device *d)
{
  asr_buf_puts(b, "<div class=\"ask\"><a class=\"button\" href=\"/requests/toner?site=");
  pb_url(b, v->name);
  asr_buf_puts(b, "&amp;device=");
  pb_url(b, d->serial ? d->serial : d->key);
  asr_buf_puts(b, "\">Request extra toner for a big job</a></div>");
}

/* The staff's link to place a special order for device d. */
static void special_link(asr_buf *b, const view_site *v, const view_device *d)
{
  asr_buf_puts(b, "<div class=\"ask\"><a class=\"button\" href=\"/orders/extra?site=");
  pb_url(b, v->name);
  asr_buf_puts(b, "&amp;device=");
  pb_url(b, d->serial ? d->serial : d->key);
  asr_buf_puts(b, "\">Place a special order</a></div>");
}

static void device_card(asr_buf *b, const view_site *v, const view_device *d, const page_nav *nav)
{
  bool customer = nav && !nav->staff;

  asr_buf_puts(b, "<section class=\"card device\" data-serial=\"");
  pb_clean(b, d->serial ? d->serial : "", true);
  asr_buf_puts(b, "\">");
  device_head(b, v, d);
  if (customer && (d->serial || d->key))
    extra_link(b, v, d);
  else if (nav && nav->staff && (d->serial || d->key))
    special_link(b, v, d);
  device_alerts(b, d);
  if (d->n_supplies == 0) {
    asr_buf_puts(b, "<p class=\"empty\">No supplies reported.</p>");
  } else {
    asr_buf_puts(b, "<table class=\"supplies\"><colgroup><col class=\"w29\">"
                    "<col class=\"w23\"><col class=\"w10\"><col class=\"w19\">"
                    "<col class=\"w19\"></colgroup><tr><th>Supply</th><th>Level</th>"
                    "<th>Days left</th><th>Order date</th><th>Last 90 days</th></tr>");
    for (size_t i = 0; i < d->n_supplies; i++)
      supply_row(b, v, d, &d->supplies[i]);
    asr_buf_puts(b, "</table>");
  }
  device_meters(b, d);
  asr_buf_puts(b, "</section>");
}

static void order_row(asr_buf *b, const view_order *o)
{
  char c[40], u[40];

  time_str(o->created_at, c, sizeof(c));
  time_str(o->updated_at, u, sizeof(u));
  asr_buf_printf(b,
                 "<tr class=\"order\"><td class=\"num\">#%lld</td><td><span class=\"badge "
                 "b-order\">",
                 (long long)o->id);
  pb_text(b, o->state);
  asr_buf_puts(b, "</span></td><td>");
  pb_text(b, o->reason);
  asr_buf_printf(b, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td>", c, u);
  for (size_t i = 0; i < o->n_lines; i++) {
    const view_order_line *l = &o->lines[i];
    asr_buf_puts(b, i ? "<br>" : "");
    asr_buf_printf(b, "%d \xc3\x97 ", l->quantity);
    pb_text(b, l->supply);
    asr_buf_puts(b, " <span class=\"mute\">for</span> <span class=\"serial sm\">");
    pb_text(b, l->serial);
    asr_buf_puts(b, "</span>");
    if (l->state) { /* each line's own step: a backorder holds one line, the others ship */
      asr_buf_puts(b, " <span class=\"badge b-line\">");
      pb_text(b, l->state);
      asr_buf_puts(b, "</span>");
    }
  }
  asr_buf_puts(b, "</td></tr>");
}

static void orders_card(asr_buf *b, const view_site *v)
{
  asr_buf_puts(b, "<section class=\"card\" id=\"orders\"><h2>Open orders</h2>");
  if (!v->has_orders)
    asr_buf_puts(b, "<p class=\"empty\">Orders are not available on this asr-central.</p>");
  else if (v->n_orders == 0)
    asr_buf_puts(b, "<p class=\"empty\">No open orders.</p>");
  else
    asr_buf_puts(b, "<table><tr><th>Order</th><th>State</th><th>Reason</th><th>Created</th>"
                    "<th>Updated</th><th>Lines</th></tr>");
  for (size_t i = 0; v->has_orders && i < v->n_orders; i++)
    order_row(b, &v->orders[i]);
  asr_buf_puts(b, v->has_orders && v->n_orders ? "</table></section>" : "</section>");
}

/* The site's counts: devices by state, supplies due now. */
static void site_chips(asr_buf *b, const view_site *v)
{
  int64_t n[VIEW_STATES] = {0}, due = 0;

  for (size_t i = 0; i < v->n_devices; i++) {
    const view_device *d = &v->devices[i];
    n[(size_t)d->state < VIEW_STATES ? d->state : VIEW_SILENT]++;
    for (size_t k = 0; k < d->n_supplies; k++)
      due += supply_due(v, d, &d->supplies[k]);
  }
  asr_buf_puts(b, "<div class=\"chips\">");
  pb_chip(b, "", (int64_t)v->n_devices, "devices");
  pb_chip(b, "c-ok", n[VIEW_ACTIVE], "active");
  pb_chip(b, "c-warn", n[VIEW_SILENT], "silent");
  pb_chip(b, "c-crit", n[VIEW_DISCONNECTED], "disconnected");
  pb_chip(b, "", n[VIEW_NOT_ELIGIBLE], "not eligible");
  pb_chip(b, "", n[VIEW_NO_RATE], "no usage rate yet");
  pb_chip(b, due ? "c-crit" : "", due, "supplies due for order");
  if (v->has_orders)
    pb_chip(b, "", (int64_t)v->n_orders, "open orders");
  pb_chip(b, v->n_open_alerts ? "c-crit" : "", (int64_t)v->n_open_alerts, "open alerts");
  asr_buf_puts(b, "</div>");
}

asr_result page_site_html(const view_site *v, char **out)
{
  return page_site_html_as(v, NULL, out);
}

asr_result page_site_html_as(const view_site *v, const page_nav *nav, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  pb_open(&b, v->name, nav);
  asr_buf_puts(&b, "<div class=\"sub\">Supplies contact: ");
  pb_text(&b, v->contact);
  asr_buf_puts(&b, " \xc2\xb7 ");
  pb_text(&b, v->address);
  asr_buf_puts(&b, " \xc2\xb7 <a href=\"/\">all sites</a> \xc2\xb7 <a href=\"/api/sites/");
  pb_url(&b, v->name);
  asr_buf_puts(&b, "\">JSON</a>");
  if (nav && !nav->staff) {
    asr_buf_puts(&b, " \xc2\xb7 <a href=\"/requests/contact?site=");
    pb_url(&b, v->name);
    asr_buf_puts(&b, "\">change the delivery address or contact</a>");
  } else if (nav) {
    asr_buf_puts(&b, " \xc2\xb7 <a href=\"/orders?site=");
    pb_url(&b, v->name);
    asr_buf_puts(&b, "\">warehouse steps</a> \xc2\xb7 <a href=\"/agents?site=");
    pb_url(&b, v->name);
    asr_buf_puts(&b, "\">agents</a>");
  }
  asr_buf_puts(&b, "</div></header><main>");
  site_chips(&b, v);
  orders_card(&b, v);
  asr_buf_puts(&b, "<div id=\"devices\">");
  if (v->n_devices == 0)
    asr_buf_puts(&b, "<section class=\"card\"><p class=\"empty\">No device has reported yet."
                     "</p></section>");
  for (size_t i = 0; i < v->n_devices; i++)
    device_card(&b, v, &v->devices[i], nav);
  asr_buf_puts(&b, "</div>");
  pb_close(&b, v->now);
  return asr_buf_finish(&b, out);
}

asr_result page_error_html(int status, const char *title, const char *message, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  pb_open(&b, title, NULL);
  asr_buf_printf(&b,
                 "<div class=\"sub\">HTTP %d</div></header><main><section class=\"card\">"
                 "<p class=\"empty\">",
                 status);
  pb_text(&b, message);
  asr_buf_puts(&b, "</p><p class=\"empty\"><a href=\"/\">All sites</a></p></section>");
  asr_buf_puts(&b, "</main></body></html>\n");
  return asr_buf_finish(&b, out);
}

/* ---------------------------------------------------------------------------------------
 * JSON. */

json_t *page_jtext(const char *s)
{
  char *c = NULL;
  json_t *j = NULL;

  if (s && page_clean(s, &c) == ASR_OK)
    j = json_string(c);
  free(c);
  return j ? j : json_null();
}

static json_t *jday(int64_t day)
{
  char d[16];

  if (day < 0 || day > DAY_MAX)
    return json_null();
  day_str(day, d, sizeof(d));
  return json_string(d);
}

static json_t *jtime(int64_t t)
{
  char iso[32];

  if (t <= 0 || t / 86400 > DAY_MAX)
    return json_null();
  asr_time_iso(t, iso, sizeof(iso));
  return json_string(iso);
}

/* A number rounded to 2 decimals, null when not finite. */
static json_t *jnum(double x)
{
  return isfinite(x) ? json_real(round(x * 100.0) / 100.0) : json_null();
}

/* Why the rules order nothing for an eligible supply of d (as the page's "on hold"), or
 * NULL. */
static const char *hold_reason(const view_device *d, const view_supply *s)
{
  if (!s->eligible || s->sstate == VIEW_S_NOT_ASR || (!held(d) && d->state != VIEW_NO_RATE))
    return NULL;
  return d->state == VIEW_DISCONNECTED ? "disconnected"
         : d->state == VIEW_NO_RATE    ? "no usage rate"
                                       : "high usage";
}

/* The supply's one state as a key, and in words (the page's words, without markup). */
static const char *supply_state_key(const view_device *d, const view_supply *s)
{
  if (s->eligible && s->sstate != VIEW_S_NOT_ASR && held(d))
    return "on hold";
  if (s->eligible && d->state == VIEW_NO_RATE && s->sstate != VIEW_S_WITH_BLACK &&
      s->sstate != VIEW_S_ORDERED && s->sstate != VIEW_S_BACKORDERED)
    return "no usage rate";
  return view_supply_state_str(s->sstate);
}

static void supply_state_text(const view_site *v, const view_device *d, const view_supply *s,
                              char *buf, size_t n)
{
  const char *key = supply_state_key(d, s);
  char day[16];
  int nd = d->state == VIEW_NO_RATE ? d->no_rate_days : s->no_rate_days;

  if (strcmp(key, "on hold") == 0)
    asr_fmt_cut(buf, n, "on hold (%s)",
                d->state == VIEW_DISCONNECTED ? "disconnected" : "high usage");
  else if (strcmp(key, "no usage rate") == 0)
    asr_fmt_cut(buf, n, "no usage rate yet (%d more day%s of reports)", nd > 0 ? nd : 1,
                nd == 1 ? "" : "s");
  else if (s->sstate == VIEW_S_ORDERED && s->next_delivery > 0) {
    day_str(s->next_delivery, day, sizeof(day));
    asr_fmt_cut(buf, n, "next delivery expected %s (order %lld)", day, (long long)s->open_order);
  } else if (s->sstate == VIEW_S_BACKORDERED)
    asr_fmt_cut(buf, n, "delayed: backordered (order %lld)", (long long)s->open_order);
  else if (s->sstate == VIEW_S_WITH_BLACK)
    asr_strlcpy_cut(buf, "ships with the black toner", n);
  else if (s->sstate == VIEW_S_NOT_ASR || !s->eligible)
    asr_strlcpy_cut(buf, "not supplied by ASR", n);
  else if (s->sstate == VIEW_S_IDLE)
    asr_strlcpy_cut(buf, "not used", n);
  else if (s->forecast && s->order_day != ASR_RP_NEVER && s->order_day <= v->today)
    asr_strlcpy_cut(buf, "order due now", n);
  else if (s->forecast && s->order_day != ASR_RP_NEVER && s->order_day <= v->today + DAY_MAX) {
    day_str(s->order_day, day, sizeof(day));
    asr_fmt_cut(buf, n, "next order %s", day);
  } else
    asr_strlcpy_cut(buf, "no forecast", n);
}

static json_t *supply_json(const view_site *v, const view_device *d, const view_supply *s)
{
  json_t *hist = json_array();
  bool days = s->forecast && s->days_left < ASR_RP_FOREVER;
  const char *hold = hold_reason(d, s);
  bool order = s->eligible && !hold && s->forecast && s->order_day != ASR_RP_NEVER;
  json_t *o;

  for (size_t i = 0; hist && i < s->n_points; i++)
    json_array_append_new(hist, json_pack("[o,i]", jday(s->points[i].day), s->points[i].percent));
  o = json_pack("{s:i,s:o,s:o,s:o,s:o,s:s,s:b,s:b,s:o,s:o}", "index", (int)s->index, "description",
                page_jtext(s->description), "type", page_jtext(s->type), "colorant",
                page_jtext(s->colorant), "percent",
                s->has_percent ? json_integer(s->percent) : json_null(), "level", level_class(v, s),
                "eligible", s->eligible, "forecast", s->forecast, "days_left",
                days ? jnum(s->days_left) : json_null(), "daily_use",
                s->forecast ? jnum(s->daily_use) : json_null());
  if (o) {
    json_object_set_new(o, "order_date", order ? jday(s->order_day) : json_null());
    json_object_set_new(o, "order_due", json_boolean(order && s->order_day <= v->today));
    json_object_set_new(o, "on_hold", hold ? json_string(hold) : json_null());
    json_object_set_new(o, "high_use", json_boolean(s->high_use));
    char text[128];
    supply_state_text(v, d, s, text, sizeof(text));
    json_object_set_new(o, "stock", json_integer((json_int_t)s->stock));
    json_object_set_new(o, "shelf", json_integer((json_int_t)s->shelf));
    json_object_set_new(o, "in_transit", json_integer((json_int_t)s->in_transit));
    json_object_set_new(o, "next_delivery",
                        s->next_delivery > 0 ? jday(s->next_delivery) : json_null());
    json_object_set_new(o, "state", json_string(supply_state_key(d, s)));
    json_object_set_new(o, "status", json_string(text));
    json_object_set_new(o, "history", hist ? hist : json_array());
  } else {
    json_decref(hist);
  }
  return o;
}

/* The device's one state in words. */
static void device_state_text(const view_device *d, char *buf, size_t n)
{
  if (d->state == VIEW_NO_RATE)
    asr_fmt_cut(buf, n, "no usage rate yet (%d more day%s of reports)",
                d->no_rate_days > 0 ? d->no_rate_days : 1, d->no_rate_days == 1 ? "" : "s");
  else if (d->state == VIEW_NOT_ELIGIBLE)
    asr_strlcpy_cut(buf, "not eligible: high usage, not ordered for", n);
  else if (d->state == VIEW_DISCONNECTED)
    asr_strlcpy_cut(buf, "disconnected: not ordered for until it reports", n);
  else if (d->state == VIEW_SILENT)
    asr_strlcpy_cut(buf, "silent: no report lately", n);
  else
    asr_strlcpy_cut(buf, "communicating, usage rate known", n);
}

static json_t *alerts_json(const view_device *d)
{
  json_t *arr = json_array();

  for (size_t i = 0; arr && i < d->n_alerts; i++) {
    const view_alert *a = &d->alerts[i];
    json_array_append_new(
        arr,
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "severity", page_jtext(a->severity), "code",
                  page_jtext(a->code), "group", page_jtext(a->group), "group_index",
                  a->group_index >= 0 ? json_integer(a->group_index) : json_null(), "description",
                  page_jtext(a->description), "raised_at", jtime(a->raised_at)));
  }
  return arr ? arr : json_array();
}

static json_t *meters_json(const view_device *d)
{
  json_t *arr = json_array();

  for (size_t i = 0; arr && i < d->n_meters; i++) {
    const view_meter *m = &d->meters[i];
    json_array_append_new(arr, json_pack("{s:o,s:o,s:o,s:I,s:o,s:I,s:o,s:I,s:I,s:I}", "meter",
                                         page_jtext(m->name), "unit", page_jtext(m->unit), "source",
                                         page_jtext(m->source), "latest", (json_int_t)m->latest,
                                         "latest_at", jtime(m->latest_at), "first",
                                         (json_int_t)m->start, "first_at", jtime(m->start_at),
                                         "usage", (json_int_t)m->usage, "reads",
                                         (json_int_t)m->reads, "flagged", (json_int_t)m->flagged));
  }
  return arr ? arr : json_array();
}

static json_t *device_json(const view_site *v, const view_device *d)
{
  json_t *sup = json_array(), *o;
  char text[96];

  for (size_t i = 0; sup && i < d->n_supplies; i++)
    json_array_append_new(sup, supply_json(v, d, &d->supplies[i]));
  device_state_text(d, text, sizeof(text));
  o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:s,s:o}", "serial", page_jtext(d->serial), "key",
                page_jtext(d->key), "model", page_jtext(d->model), "vendor", page_jtext(d->vendor),
                "address", page_jtext(d->ip), "last_report", jtime(d->last_report), "state",
                view_state_str(d->state), "state_text", text, "reporting",
                d->reporting ? d->reporting : "active", "supplies", sup ? sup : json_array());
  if (o) {
    json_object_set_new(o, "no_rate_days",
                        d->state == VIEW_NO_RATE ? json_integer(d->no_rate_days) : json_null());
    json_object_set_new(o, "reconnected_on",
                        d->reconnected_day > 0 ? jday(d->reconnected_day) : json_null());
    json_object_set_new(o, "contact", page_jtext(d->contact));
    json_object_set_new(o, "alerts", alerts_json(d));
    json_object_set_new(o, "alerts_more", json_integer((json_int_t)d->alerts_more));
    json_object_set_new(o, "meters", meters_json(d));
    json_object_set_new(o, "meters_more", json_integer((json_int_t)d->meters_more));
  }
  return o;
}

static json_t *order_json(const view_order *o)
{
  json_t *lines = json_array();

  for (size_t i = 0; lines && i < o->n_lines; i++) {
    const view_order_line *l = &o->lines[i];
    json_array_append_new(lines, json_pack("{s:o,s:o,s:o,s:i,s:i,s:o,s:o}", "serial",
                                           page_jtext(l->serial), "supply", page_jtext(l->supply),
                                           "colorant", page_jtext(l->colorant), "supply_index",
                                           (int)l->supply_index, "quantity", l->quantity, "reason",
                                           page_jtext(l->reason), "state", page_jtext(l->state)));
  }
  return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "id", (json_int_t)o->id, "state",
                   page_jtext(o->state), "reason", page_jtext(o->reason), "created_at",
                   jtime(o->created_at), "updated_at", jtime(o->updated_at), "lines",
                   lines ? lines : json_array());
}

/* Serializes doc (stolen) into *out. */
static asr_result json_finish(json_t *doc, char **out)
{
  *out = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  return *out ? ASR_OK : ASR_ERR_NOMEM;
}

asr_result page_site_json(const view_site *v, char **out)
{
  json_t *devs = json_array(), *orders = v->has_orders ? json_array() : json_null();

  for (size_t i = 0; devs && i < v->n_devices; i++)
    json_array_append_new(devs, device_json(v, &v->devices[i]));
  for (size_t i = 0; orders && v->has_orders && i < v->n_orders; i++)
    json_array_append_new(orders, order_json(&v->orders[i]));
  json_t *doc = json_pack("{s:{s:o,s:o,s:o},s:o,s:o,s:o,s:o,s:o}", "site", "name",
                          page_jtext(v->name), "contact", page_jtext(v->contact), "address",
                          page_jtext(v->address), "generated_at", jtime(v->now), "today",
                          jday(v->today), "trigger_days", jnum(v->trigger_days), "devices",
                          devs ? devs : json_array(), "orders", orders ? orders : json_null());
  if (doc) {
    json_object_set_new(doc, "open_alerts", json_integer((json_int_t)v->n_open_alerts));
    json_object_set_new(doc, "meters_since",
                        v->month_start > 0 ? jtime(v->month_start) : json_null());
  }
  return json_finish(doc, out);
}

asr_result page_index_json(const view_index *v, char **out)
{
  json_t *sites = json_array();

  for (size_t i = 0; sites && i < v->n_sites; i++) {
    const view_site_summary *s = &v->sites[i];
    json_array_append_new(
        sites, json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:I}", "name", page_jtext(s->name), "contact",
                         page_jtext(s->contact), "agents", (json_int_t)s->agents, "devices",
                         (json_int_t)s->devices, "active", (json_int_t)s->active, "silent",
                         (json_int_t)s->silent, "disconnected", (json_int_t)s->disconnected));
  }
  return json_finish(
      json_pack("{s:o,s:o}", "generated_at", jtime(v->now), "sites", sites ? sites : json_array()),
      out);
}
