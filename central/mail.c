/* mail.c: the notices' e-mails, composed as whole RFC 5322 messages (pure: no I/O).
 *
 * Why so careful: most of what a notice says comes from printers (serials, models, supply
 * descriptions), and printers are untrusted. A string that reaches a mail could forge
 * headers (a CR/LF), break the SMTP transaction (a bare "." line is libcurl's to stuff,
 * but a 2000-byte line is ours to avoid), or carry invalid UTF-8 into a message that
 * declares charset=utf-8. So every such string goes through clean(): valid UTF-8 only
 * (bad bytes become U+FFFD), no control characters, at most a few dozen characters.
 * Headers carry only our own values: the addresses (checked plain addresses), the
 * Message-ID (the outbox key, escaped) and the Subject, whose only outside part is the
 * cleaned site name; a Subject that is not ASCII is sent as RFC 2047 encoded-words.
 *
 * Reading order: paragraphs, clean(), the header helpers (date, Message-ID,
 * Subject), the body parts per kind, cmail_compose. */
#include "central/mail.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"
#include "wire/b64.h"
#include "wire/smtp.h"

#define SITE_CHARS 64   /* the site name in the Subject and the text */
#define SERIAL_CHARS 64 /* a serial number */
#define TEXT_CHARS 96   /* a model, a supply description, a colour, a reason */
#define IP_CHARS 64     /* an address (IPv6 with a zone fits) */
#define FIELD_MAX 512   /* bytes of a cleaned field: TEXT_CHARS * 4 + the ellipsis */
#define KEY_MAX 128     /* the outbox key that becomes the Message-ID */
#define LIST_MAX 500    /* items listed in one mail; the rest are counted */
#define DAY 86400
#define DATE_MAX ASR_DATE_MAX

/* ---- the message: a growing buffer (common/buf.h) ---- */

/* Appends text (ASCII, one paragraph) broken at spaces into lines of at most 76 columns,
 * then a blank line. */
static void paragraph(asr_buf *b, const char *text)
{
  size_t n = strlen(text);

  while (n > 76) {
    size_t cut = 76;

    while (cut > 0 && text[cut] != ' ')
      cut--;
    if (cut == 0)
      cut = 76;
    asr_buf_add(b, text, cut);
    asr_buf_add(b, "\r\n", 2);
    text += cut + (text[cut] == ' ');
    n = strlen(text);
  }
  asr_buf_add(b, text, n);
  asr_buf_add(b, "\r\n\r\n", 4);
}

/* ---- untrusted strings ---- */

/* Copies src into dst (FIELD_MAX bytes) as clean UTF-8 of at most max characters: unsafe
 * characters (common/text.h: malformed bytes, controls, bidirectional and invisible ones)
 * become U+FFFD (tab, CR, LF a space), a longer text is cut and ends with "...". NULL or ""
 * becomes dflt. */
static void clean(char *dst, const char *src, size_t max, const char *dflt)
{
  const char *s = src && *src ? src : dflt;
  size_t out = 0, chars = 0, len, k;

  for (; *s && chars < max && out + 8 < FIELD_MAX; s += len, chars++) {
    const char *rep = asr_text_step(s, &len, ASR_TEXT_FFFD);

    k = rep ? strlen(rep) : len;
    memcpy(dst + out, rep ? rep : s, k);
    out += k;
  }
  if (*s) {
    memcpy(dst + out, "...", 3);
    out += 3;
  }
  dst[out] = '\0';
}

/* ---- headers ---- */

/* "Sat, 21 Nov 2026 08:00:00 +0000" (RFC 5322 3.3) from epoch seconds, UTC, computed
 * (common/date.h) rather than through the C library's locale and zones. */
static void rfc5322_date(int64_t t, char *buf, size_t n)
{
  static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t days = t / DAY, secs = t % DAY;
  asr_civil c;

  days -= secs < 0;
  secs += secs < 0 ? DAY : 0;
  c = asr_date_civil(days);
  asr_fmt_cut(buf, n, "%s, %02u %s %04lld %02d:%02d:%02d +0000", wd[asr_date_weekday(days)], c.day,
              mon[c.month - 1], (long long)c.year, (int)(secs / 3600), (int)(secs / 60 % 60),
              (int)(secs % 60));
}

/* "<KEY@DOMAIN>": the key with every byte but [A-Za-z0-9_-] as "=XX", the domain of from. */
static void message_id(asr_buf *b, const char *key, const char *from)
{
  asr_buf_add(b, "Message-ID: <", 13);
  for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
    if ((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
        *k == '_' || *k == '-')
      asr_buf_add(b, (const char *)k, 1);
    else
      asr_buf_printf(b, "=%02X", *k);
  }
  asr_buf_printf(b, "@%s>\r\n", strchr(from, '@') + 1);
}

/* Appends the base64 of s[0..n) (n <= 42: one encoded-word). */
static void base64(asr_buf *b, const unsigned char *s, size_t n)
{
  char text[64];

  if (asr_b64_encode(s, n, text, sizeof(text)) != ASR_OK) {
    b->err = b->err ? b->err : ASR_ERR_INVALID; /* the compose fails */
    return;
  }
  asr_buf_puts(b, text);
}

/* "Subject: TEXT": as is when it is ASCII, else as RFC 2047 encoded-words of at most 42
 * bytes of UTF-8 each (56 of base64: a line of 77) (cut between characters), folded one per line.
 */
static void subject(asr_buf *b, const char *text)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t n = strlen(text);
  bool ascii = true;

  for (size_t i = 0; i < n; i++)
    ascii = ascii && s[i] < 0x80;
  if (ascii) {
    asr_buf_printf(b, "Subject: %s\r\n", text);
    return;
  }
  asr_buf_add(b, "Subject:", 8);
  while (n > 0) {
    size_t take = n < 42 ? n : 42;

    while (take < n && take > 0 && (s[take] & 0xC0) == 0x80)
      take--; /* text is clean UTF-8: back up to a character's first byte */
    asr_buf_add(b, " =?utf-8?B?", 11);
    base64(b, s, take);
    asr_buf_add(b, "?=", 2);
    s += take;
    n -= take;
    if (n > 0)
      asr_buf_add(b, "\r\n", 2);
  }
  asr_buf_add(b, "\r\n", 2);
}

/* ---- what each kind says ---- */

static bool is_order(cmail_kind k)
{
  return k >= CMAIL_ORDER_CREATED && k <= CMAIL_ORDER_SHIPPED_AFTER_BACKORDER;
}

static bool is_alert(cmail_kind k)
{
  return k == CMAIL_ALERT_RAISED || k == CMAIL_ALERT_CLEARED;
}

static bool is_request(cmail_kind k)
{
  return k >= CMAIL_REQUEST_RECEIVED && k <= CMAIL_REQUEST_REFUSED;
}

static bool is_devices(cmail_kind k)
{
  return k == CMAIL_DISCONNECTED || k == CMAIL_FINAL || k == CMAIL_NOT_ELIGIBLE ||
         k == CMAIL_ELIGIBLE;
}

static const struct {
  cmail_kind kind;
  const char *name;  /* cmail_kind_str: also the outbox's kind column */
  const char *topic; /* the end of the Subject */
  const char *intro; /* the body's first paragraph (an order number or day count follows) */
} kinds[] = {
    {CMAIL_ORDER_CREATED, "order created", "created",
     "We have ordered supplies for your printers so that they do not run out."},
    {CMAIL_ORDER_SHIPPED, "order shipped", "shipped",
     "The supplies of this order have left our warehouse and are on their way to you."},
    {CMAIL_ORDER_BACKORDERED, "order backordered", "delayed (backordered)",
     "The supplies of this order are not in stock right now: the order is backordered. We "
     "will ship it as soon as they arrive and write to you again then. There is nothing you "
     "need to do."},
    {CMAIL_ORDER_SHIPPED_AFTER_BACKORDER, "order shipped after backorder",
     "shipped after the delay",
     "The backordered supplies of this order have arrived at our warehouse and are now on "
     "their way to you."},
    {CMAIL_DISCONNECTED, "disconnection notice", "not reporting",
     "The printers below have not reported their supply levels for a while. While we do not "
     "hear from them we cannot see their levels, and we cannot send them supplies in time."},
    {CMAIL_FINAL, "final disconnection notice", "still not reporting",
     "This is our last reminder: the printers below have still not reported their supply "
     "levels. Until they do, we cannot send them supplies automatically, and we will not "
     "write again about them."},
    {CMAIL_REGISTERED, "registration", "registered for automatic supplies",
     "You are now registered as a supplies contact for automatic supplies replenishment: we "
     "watch the supply levels the printers of this site report and send you supplies before "
     "they run out."},
    {CMAIL_NOT_ELIGIBLE, "not eligible", "not eligible for automatic supplies",
     "The printers below use two or more cartridges of one colour every week. Automatic "
     "supplies are not meant for that volume, so we no longer order supplies for them "
     "automatically. Please contact your supplies provider about a plan for high-volume "
     "printing. We will write again if their use falls back."},
    {CMAIL_ELIGIBLE, "eligible again", "eligible again for automatic supplies",
     "The use of the printers below has fallen below two cartridges of one colour a week: we "
     "order their supplies automatically again."},
    {CMAIL_SIGNIN, "sign-in link", "your sign-in link",
     "Someone, hopefully you, asked to sign in to the supplies portal with this address. Open "
     "the link below to sign in. It works once, for a short time; if you did not ask for it, "
     "ignore this message: nobody can sign in without it."},
    {CMAIL_REQUEST_RECEIVED, "request received", "your request was received",
     "We have received your request below. Our helpdesk will look at it and write to you when "
     "it is approved or refused."},
    {CMAIL_REQUEST_STAFF, "request to review", "a customer's request to review",
     "A customer sent the request below through the supplies portal. Approve or refuse it on "
     "the portal's Requests page."},
    {CMAIL_REQUEST_APPROVED, "request approved", "your request was approved",
     "Our helpdesk approved your request below."},
    {CMAIL_REQUEST_REFUSED, "request refused", "your request was refused",
     "Our helpdesk could not approve your request below."},
    {CMAIL_ALERT_RAISED, "alert raised", "printer alert",
     "A printer of this site reports the alert below, which needs attention. We will write "
     "again when the printer no longer reports it."},
    {CMAIL_ALERT_CLEARED, "alert cleared", "printer alert cleared",
     "The printer below no longer reports the alert we wrote to you about: it has cleared."},
};

static size_t kind_index(cmail_kind k)
{
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    if (kinds[i].kind == k)
      return i;
  }
  return SIZE_MAX;
}

const char *cmail_kind_str(cmail_kind k)
{
  size_t i = kind_index(k);

  return i == SIZE_MAX ? "notice" : kinds[i].name;
}

/* The contact's words for a line's reason. */
static const char *reason_text(const char *reason, char *buf)
{
  static const char *const known[][2] = {
      {"trigger", "it will run out in a few weeks"},
      {"consolidated", "added to save a delivery: it would have needed it soon"},
      {"usage spike", "it prints more than before: the supplies sent earlier will not last"},
      {"with black toner", "a waste toner container ships with the black toner, so that an empty "
                           "one is at hand when the waste container is full"},
      {"extra", "the extra supplies you asked for"},
  };

  for (size_t i = 0; reason && i < sizeof(known) / sizeof(known[0]); i++) {
    if (strcmp(reason, known[i][0]) == 0)
      return known[i][1];
  }
  clean(buf, reason, TEXT_CHARS, "-");
  return buf;
}

static void order_line(asr_buf *b, size_t i, const cmail_line *l)
{
  char serial[FIELD_MAX], model[FIELD_MAX], supply[FIELD_MAX], colour[FIELD_MAX];
  char why[FIELD_MAX];

  clean(serial, l->serial, SERIAL_CHARS, "(no serial)");
  clean(model, l->model, TEXT_CHARS, "");
  clean(supply, l->supply, TEXT_CHARS, "(supply)");
  clean(colour, l->colorant, TEXT_CHARS, "");
  asr_buf_printf(b, "%zu. Label: %s%s%s%s\r\n", i + 1, serial, model[0] ? " (" : "", model,
                 model[0] ? ")" : "");
  asr_buf_printf(b, "   Supply: %s%s%s\r\n", supply, colour[0] ? ", colour " : "", colour);
  asr_buf_printf(b, "   Quantity: %d\r\n", l->quantity);
  asr_buf_printf(b, "   Why: %s\r\n\r\n", reason_text(l->reason, why));
}

/* "Delivery address: ..." when there is one (cleaned: it is typed by people). */
static void address_line(asr_buf *b, const char *address)
{
  char a[FIELD_MAX];

  if (!address || !*address)
    return;
  clean(a, address, TEXT_CHARS * 2, "");
  asr_buf_printf(b, "Delivery address: %s\r\n", a);
}

static void order_body(asr_buf *b, const cmail_notice *n, const char *site)
{
  size_t shown = n->n_lines < LIST_MAX ? n->n_lines : LIST_MAX;
  char text[512], note[FIELD_MAX];

  asr_buf_printf(b, "Order: %lld\r\nSite: %s\r\n", (long long)n->order_id, site);
  address_line(b, n->address);
  if (n->note && *n->note) {
    clean(note, n->note, TEXT_CHARS, "");
    asr_buf_printf(b, "Your request: %s\r\n", note);
  }
  asr_buf_add(b, "\r\n", 2);
  asr_fmt_cut(text, sizeof(text),
              "It holds %zu line%s. Each box is labelled with the serial number of the printer "
              "it is for: please keep it near that printer and install it when the printer asks "
              "for it.",
              n->n_lines, n->n_lines == 1 ? "" : "s");
  paragraph(b, text);
  for (size_t i = 0; i < shown; i++)
    order_line(b, i, &n->lines[i]);
  if (shown < n->n_lines)
    asr_buf_printf(b, "... and %zu more lines.\r\n\r\n", n->n_lines - shown);
}

/* "2026-11-14 08:00" of t (0 < t <= DATE_MAX) into iso (>= 32 bytes). */
static void utc_minutes(int64_t t, char *iso, size_t n)
{
  asr_time_iso(t, iso, n);
  iso[10] = ' ';
  iso[16] = '\0';
}

/* "2026-11-14 08:00 UTC (7 days ago)", or "never". */
static void last_report(char *buf, size_t bn, int64_t t, int64_t now)
{
  char iso[32];

  if (t <= 0 || t > DATE_MAX) {
    asr_strlcpy_cut(buf, t <= 0 ? "never" : "unknown", bn);
    return;
  }
  utc_minutes(t, iso, sizeof(iso));
  asr_fmt_cut(buf, bn, "%s UTC (%lld days ago)", iso, (long long)(t < now ? (now - t) / DAY : 0));
}

static void device_item(asr_buf *b, size_t i, const cmail_device *d, int64_t now)
{
  char serial[FIELD_MAX], model[FIELD_MAX], ip[FIELD_MAX], last[64], note[FIELD_MAX];

  clean(serial, d->serial, SERIAL_CHARS, "(no serial)");
  clean(model, d->model, TEXT_CHARS, "model unknown");
  clean(ip, d->ip, IP_CHARS, "unknown");
  last_report(last, sizeof(last), d->last_report, now);
  asr_buf_printf(b, "%zu. Serial: %s (%s)\r\n", i + 1, serial, model);
  asr_buf_printf(b, "   Address: %s\r\n   Last report: %s\r\n", ip, last);
  if (d->note && *d->note) {
    clean(note, d->note, TEXT_CHARS, "");
    asr_buf_printf(b, "   %s\r\n", note);
  }
  asr_buf_add(b, "\r\n", 2);
}

static const char reconnect[] =
    "How to reconnect a printer:\r\n"
    "- Check that the asr-agent is running on the computer that watches your printers:\r\n"
    "  run `asr-agent status` there (on Windows, the \"asr-agent\" service must be\r\n"
    "  running).\r\n"
    "- Check that the printer is switched on, connected to the network, and reachable from\r\n"
    "  that computer at the address shown above.\r\n"
    "- If a printer was replaced, moved or retired, or if you need help, contact your\r\n"
    "  supplies provider and quote the serial numbers above.\r\n\r\n";

static void devices_body(asr_buf *b, const cmail_notice *n, const char *site)
{
  size_t shown = n->n_devices < LIST_MAX ? n->n_devices : LIST_MAX;
  bool silent = n->kind == CMAIL_DISCONNECTED || n->kind == CMAIL_FINAL;

  if (silent)
    asr_buf_printf(b,
                   "Site: %s\r\nPrinters not reporting: %zu\r\nSilent for: %d days or more\r\n\r\n",
                   site, n->n_devices, n->silent_days);
  else
    asr_buf_printf(b, "Site: %s\r\nPrinters: %zu\r\n\r\n", site, n->n_devices);
  for (size_t i = 0; i < shown; i++)
    device_item(b, i, &n->devices[i], n->now);
  if (shown < n->n_devices)
    asr_buf_printf(b, "... and %zu more printers.\r\n\r\n", n->n_devices - shown);
  if (silent)
    asr_buf_add(b, reconnect, sizeof(reconnect) - 1);
}

/* "Name: 2026-11-14 08:00 UTC" when t is a time. */
static void time_line(asr_buf *b, const char *name, int64_t t)
{
  char iso[32];

  if (t <= 0 || t > DATE_MAX)
    return;
  utc_minutes(t, iso, sizeof(iso));
  asr_buf_printf(b, "%s: %s UTC\r\n", name, iso);
}

static const char alert_service_text[] =
    "You receive this as the service address of the printers' supplies provider: the "
    "alert's group is routed to service.";

/* The printer and its alert, every printer-sent string cleaned. */
static void alert_body(asr_buf *b, const cmail_notice *n, const char *site)
{
  const cmail_alert *a = n->alert;
  char serial[FIELD_MAX], model[FIELD_MAX], ip[FIELD_MAX], code[FIELD_MAX], sev[FIELD_MAX];
  char group[FIELD_MAX], descr[FIELD_MAX];

  clean(serial, a->serial, SERIAL_CHARS, "(no serial)");
  clean(model, a->model, TEXT_CHARS, "model unknown");
  clean(ip, a->ip, IP_CHARS, "unknown");
  clean(code, a->code, TEXT_CHARS, "alert");
  clean(sev, a->severity, TEXT_CHARS, "unknown");
  clean(group, a->group, TEXT_CHARS, "unknown");
  clean(descr, a->description, TEXT_CHARS * 3, "(none)");
  asr_buf_printf(b, "Site: %s\r\nPrinter: %s (%s)\r\nAddress: %s\r\n\r\n", site, serial, model, ip);
  asr_buf_printf(b, "Alert: %s (severity %s)\r\n", code, sev);
  if (a->group_index >= 0)
    asr_buf_printf(b, "Group: %s %lld\r\n", group, (long long)a->group_index);
  else
    asr_buf_printf(b, "Group: %s\r\n", group);
  asr_buf_printf(b, "Description: %s\r\n", descr);
  time_line(b, "Raised", a->raised_at);
  if (n->kind == CMAIL_ALERT_CLEARED)
    time_line(b, "Cleared", a->cleared_at);
  asr_buf_add(b, "\r\n", 2);
  if (n->to_service)
    paragraph(b, alert_service_text);
}

static const char registered_text[] =
    "We will write to you when we order supplies for your printers, when an order ships or is "
    "delayed, and when a printer stops reporting. Each box is labelled with the serial number "
    "of the printer it is for. The site's printers are yours unless your provider assigns "
    "some of them to another contact. If the delivery address or the contact changes, tell "
    "your provider: the orders made after the change use the new one.";

static void registered_body(asr_buf *b, const cmail_notice *n, const char *site)
{
  char to[FIELD_MAX];

  clean(to, n->contact_name, TEXT_CHARS, "");
  asr_buf_printf(b, "Site: %s\r\nSupplies contact: %s%s%s%s\r\n", site, to, to[0] ? " <" : "",
                 n->to, to[0] ? ">" : "");
  address_line(b, n->address);
  asr_buf_add(b, "\r\n", 2);
  paragraph(b, registered_text);
}

/* The portal's mails: a sign-in link, or a request and its answer. */
static void portal_body(asr_buf *b, const cmail_notice *n, const char *site)
{
  char what[FIELD_MAX], who[FIELD_MAX], note[FIELD_MAX], answer[FIELD_MAX];

  if (n->kind == CMAIL_SIGNIN) {
    asr_buf_printf(b, "Sign in (valid for %d minutes, once):\r\n%s\r\n\r\n", n->link_minutes,
                   n->link);
    return;
  }
  clean(what, n->what, TEXT_CHARS * 2, "-");
  clean(who, n->requester, TEXT_CHARS, "-");
  asr_buf_printf(b, "Request: %lld\r\nSite: %s\r\nFrom: %s\r\nWhat: %s\r\n",
                 (long long)n->request_id, site, who, what);
  if (n->note && *n->note) {
    clean(note, n->note, TEXT_CHARS * 2, "");
    asr_buf_printf(b, "Note: %s\r\n", note);
  }
  if (n->answer && *n->answer) {
    clean(answer, n->answer, TEXT_CHARS * 2, "");
    asr_buf_printf(b, "Answer: %s\r\n", answer);
  }
  asr_buf_add(b, "\r\n", 2);
}

/* A link we send: printable ASCII without spaces, of a sane length. */
static bool link_ok(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~')
      return false;
  return n > 0 && n < 900;
}

/* ---- the message ---- */

/* "Hello NAME," (the contact's name, cleaned), or "Hello,". */
static void greeting(asr_buf *b, const char *name)
{
  char who[FIELD_MAX];

  clean(who, name, SITE_CHARS, "");
  asr_buf_printf(b, "Hello%s%s,\r\n\r\n", who[0] ? " " : "", who);
}

static const char footer[] =
    "This message was sent automatically by asr-central; please do not reply to it.\r\n";

static asr_result check_notice(const cmail_notice *n)
{
  if (!n || kind_index(n->kind) == SIZE_MAX || !asr_smtp_address_ok(n->from) ||
      !asr_smtp_address_ok(n->to) || !n->msgid_key || !n->msgid_key[0] ||
      strlen(n->msgid_key) > KEY_MAX || n->now < 0 || n->now > DATE_MAX)
    return ASR_ERR_INVALID;
  if (is_order(n->kind) && (!n->lines || n->n_lines == 0 || n->order_id <= 0))
    return ASR_ERR_INVALID;
  if (is_devices(n->kind) && (!n->devices || n->n_devices == 0))
    return ASR_ERR_INVALID;
  if (is_alert(n->kind) && !n->alert)
    return ASR_ERR_INVALID;
  if (n->kind == CMAIL_SIGNIN && !link_ok(n->link))
    return ASR_ERR_INVALID;
  if (is_request(n->kind) && (n->request_id <= 0 || !n->what))
    return ASR_ERR_INVALID;
  return ASR_OK;
}

static void headers(asr_buf *b, const cmail_notice *n, const char *site)
{
  const char *topic = kinds[kind_index(n->kind)].topic;
  char date[64], subj[FIELD_MAX + 160];

  rfc5322_date(n->now, date, sizeof(date));
  if (is_order(n->kind))
    asr_fmt_cut(subj, sizeof(subj), "%s: supplies order %lld %s", site, (long long)n->order_id,
                topic);
  else if (is_request(n->kind)) {
    if (asr_fmt(subj, sizeof(subj), "%s: request %lld: %s", site, (long long)n->request_id,
                topic) != ASR_OK)
      subj[0] = '\0'; /* cannot happen: the site is cleaned to SITE_CHARS */
  } else if (n->kind == CMAIL_REGISTERED || n->kind == CMAIL_SIGNIN || is_alert(n->kind))
    asr_fmt_cut(subj, sizeof(subj), "%s: %s", site, topic);
  else
    asr_fmt_cut(subj, sizeof(subj), "%s: %s%zu printer%s %s", site,
                n->kind == CMAIL_FINAL ? "final notice, " : "", n->n_devices,
                n->n_devices == 1 ? "" : "s", topic);
  asr_buf_printf(b, "From: asr-central <%s>\r\nTo: <%s>\r\n", n->from, n->to);
  subject(b, subj);
  asr_buf_printf(b, "Date: %s\r\n", date);
  message_id(b, n->msgid_key, n->from);
  asr_buf_printf(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");
}

asr_result cmail_compose(const cmail_notice *n, char **out, size_t *len)
{
  asr_buf b = {0};
  char site[FIELD_MAX];
  asr_result r = check_notice(n);

  *out = NULL;
  *len = 0;
  if (r)
    return r;
  clean(site, n->site, SITE_CHARS, "(unnamed site)");
  headers(&b, n, site);
  greeting(&b, n->contact_name);
  paragraph(&b, kinds[kind_index(n->kind)].intro);
  if (is_order(n->kind))
    order_body(&b, n, site);
  else if (n->kind == CMAIL_REGISTERED)
    registered_body(&b, n, site);
  else if (is_alert(n->kind))
    alert_body(&b, n, site);
  else if (n->kind == CMAIL_SIGNIN || is_request(n->kind))
    portal_body(&b, n, site);
  else
    devices_body(&b, n, site);
  asr_buf_add(&b, footer, sizeof(footer) - 1);
  *len = b.len;
  r = asr_buf_finish(&b, out);
  if (r)
    *len = 0;
  return r;
}
