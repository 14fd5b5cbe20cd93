/* check_mail.c: central/mail.c, the notices' e-mails: every kind, the headers (Date,
 * Message-ID, Subject with encoded-words), hostile printer strings (CR/LF, invalid UTF-8,
 * controls, huge values), long lists, and what is refused. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/mail.h"
#include "common/util.h"
#include "wire/b64.h"
#include "wire/smtp.h"

#define NOW INT64_C(1795000000) /* Wed, 18 Nov 2026 11:06:40 +0000 */

static const cmail_line two_lines[] = {
    {"SN-A1", "HP LaserJet M507", "Black Toner Cartridge", "black", 2, "trigger"},
    {"SN-B2", NULL, "Cyan Toner", "cyan", 1, "consolidated"},
};

static const cmail_device two_devices[] = {
    {"SN-C3", "Brother HL-L8360", "192.0.2.3", NOW - 8 * 86400, NULL},
    {"SN-D4", NULL, NULL, 0, NULL},
};

static cmail_notice order(cmail_kind k)
{
  return (cmail_notice){.kind = k,
                        .from = "asr-central@provider.test",
                        .to = "supplies@acme.test",
                        .site = "Acme HQ",
                        .now = NOW,
                        .msgid_key = "order-42-created",
                        .order_id = 42,
                        .lines = two_lines,
                        .n_lines = 2};
}

static cmail_notice silent(cmail_kind k)
{
  return (cmail_notice){.kind = k,
                        .from = "asr-central@provider.test",
                        .to = "supplies@acme.test",
                        .site = "Acme HQ",
                        .now = NOW,
                        .msgid_key = "disconnected-site3-day20775",
                        .devices = two_devices,
                        .n_devices = 2,
                        .silent_days = 8};
}

/* ---- checks on a whole message ---- */

/* True when s[0..n) is valid UTF-8 (strict: no overlong, surrogate, > U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
  size_t i = 0;

  while (i < n) {
    unsigned char c = s[i];
    size_t k = c < 0x80 ? 0 : c >= 0xC2 && c < 0xE0 ? 1 : c >= 0xE0 && c < 0xF0 ? 2 : 3;

    if (c >= 0x80 && (c < 0xC2 || c > 0xF4 || i + k >= n))
      return false;
    if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
        (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
      return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80)
        return false;
    }
    i += k + 1;
  }
  return true;
}

/* The invariants of every composed message: NUL-terminated at len, CRLF line ends only,
 * lines <= 998 bytes, no control byte but CR/LF (and no C1), valid UTF-8, a header block
 * of ASCII only then a blank line, header lines either "Name: value" or a folded
 * continuation. */
static void check_message(const char *m, size_t len)
{
  const char *body = strstr(m, "\r\n\r\n");
  size_t line = 0;

  ck_assert_uint_eq(strlen(m), len);
  ck_assert(utf8_ok((const unsigned char *)m, len));
  ck_assert_ptr_nonnull(body);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)m[i];

    if (c == '\r') {
      ck_assert_msg(m[i + 1] == '\n', "bare CR at %zu", i);
      continue;
    }
    if (c == '\n') {
      ck_assert_msg(i > 0 && m[i - 1] == '\r', "bare LF at %zu", i);
      line = 0;
      continue;
    }
    ck_assert_msg(c >= 0x20 && c != 0x7F, "control byte 0x%02x at %zu", c, i);
    ck_assert_msg(!(c == 0xC2 && (unsigned char)m[i + 1] < 0xA0), "C1 control at %zu", i);
    ck_assert_msg(++line <= 998, "line longer than 998 at %zu", i);
    ck_assert_msg(c < 0x80 || m + i > body, "non-ASCII header byte at %zu", i);
  }
  ck_assert(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n');
  for (const char *p = m; p < body + 2; p = strstr(p, "\r\n") + 2) {
    size_t n = strcspn(p, "\r");
    const char *colon = memchr(p, ':', n);

    ck_assert_msg(p[0] == ' ' || (colon && colon > p && !memchr(p, ' ', (size_t)(colon - p))),
                  "not a header line: %.*s", (int)n, p);
  }
}

/* The value of header name (first line only) copied into buf; false when absent. */
static bool header(const char *m, const char *name, char *buf, size_t n)
{
  const char *end = strstr(m, "\r\n\r\n");
  size_t nl = strlen(name);

  for (const char *p = m; p && p < end; p = strstr(p, "\r\n") + 2) {
    if (strncmp(p, name, nl) == 0 && p[nl] == ':' && p[nl + 1] == ' ') {
      size_t v = strcspn(p + nl + 2, "\r");

      if (v >= n)
        return false;
      memcpy(buf, p + nl + 2, v);
      buf[v] = '\0';
      return true;
    }
  }
  return false;
}

/* Header name is present and its (first line) value is want. */
static void expect_header(const char *m, const char *name, const char *want)
{
  char v[1024];

  ck_assert_msg(header(m, name, v, sizeof(v)), "no %s header", name);
  ck_assert_str_eq(v, want);
}

static char *compose_ok(const cmail_notice *n, size_t *len)
{
  char *m = NULL;

  ck_assert_int_eq(cmail_compose(n, &m, len), ASR_OK);
  ck_assert_ptr_nonnull(m);
  check_message(m, *len);
  return m;
}

/* ---- every kind ---- */

START_TEST(test_order_created)
{
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  size_t len;
  char *m = compose_ok(&n, &len);

  expect_header(m, "From", "asr-central <asr-central@provider.test>");
  expect_header(m, "To", "<supplies@acme.test>");
  expect_header(m, "Subject", "Acme HQ: supplies order 42 created");
  expect_header(m, "Date", "Wed, 18 Nov 2026 11:06:40 +0000");
  expect_header(m, "Message-ID", "<order-42-created@provider.test>");
  expect_header(m, "MIME-Version", "1.0");
  expect_header(m, "Content-Type", "text/plain; charset=utf-8");
  expect_header(m, "Content-Transfer-Encoding", "8bit");
  ck_assert_ptr_nonnull(strstr(m, "1. Label: SN-A1 (HP LaserJet M507)\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "   Supply: Black Toner Cartridge, colour black\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "   Quantity: 2\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "2. Label: SN-B2\r\n   Supply: Cyan Toner, colour cyan\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "Why: added to save a delivery"));
  ck_assert_ptr_nonnull(strstr(m, "Order: 42\r\nSite: Acme HQ\r\n"));
  free(m);
}
END_TEST

/* Each order kind: its own Subject and first paragraph, the same lines. */
START_TEST(test_order_kinds)
{
  static const struct {
    cmail_kind k;
    const char *subject, *says;
  } t[] = {
      {CMAIL_ORDER_SHIPPED, "Acme HQ: supplies order 42 shipped", "have left our warehouse"},
      {CMAIL_ORDER_BACKORDERED, "Acme HQ: supplies order 42 delayed (backordered)",
       "not in stock right now"},
      {CMAIL_ORDER_SHIPPED_AFTER_BACKORDER, "Acme HQ: supplies order 42 shipped after the delay",
       "have arrived at our warehouse"},
  };

  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    cmail_notice n = order(t[i].k);
    size_t len;
    char *m = compose_ok(&n, &len);

    expect_header(m, "Subject", t[i].subject);
    ck_assert_ptr_nonnull(strstr(m, t[i].says));
    ck_assert_ptr_nonnull(strstr(m, "1. Label: SN-A1"));
    free(m);
  }
}
END_TEST

START_TEST(test_disconnected)
{
  cmail_notice n = silent(CMAIL_DISCONNECTED);
  size_t len;
  char *m = compose_ok(&n, &len);

  expect_header(m, "Subject", "Acme HQ: 2 printers not reporting");
  expect_header(m, "Message-ID", "<disconnected-site3-day20775@provider.test>");
  ck_assert_ptr_nonnull(strstr(m, "1. Serial: SN-C3 (Brother HL-L8360)\r\n"
                                  "   Address: 192.0.2.3\r\n"
                                  "   Last report: 2026-11-10 11:06 UTC (8 days ago)\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "2. Serial: SN-D4 (model unknown)\r\n"
                                  "   Address: unknown\r\n   Last report: never\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "Silent for: 8 days or more"));
  ck_assert_ptr_nonnull(strstr(m, "asr-agent status"));
  ck_assert_ptr_nonnull(strstr(m, "switched on"));
  ck_assert_ptr_nonnull(strstr(m, "contact your\r\n  supplies provider"));
  free(m);
  n = silent(CMAIL_FINAL);
  n.silent_days = 30;
  m = compose_ok(&n, &len);
  expect_header(m, "Subject", "Acme HQ: final notice, 2 printers still not reporting");
  ck_assert_ptr_nonnull(strstr(m, "last reminder"));
  ck_assert_ptr_nonnull(strstr(m, "Silent for: 30 days or more"));
  ck_assert_ptr_nonnull(strstr(m, "asr-agent status"));
  free(m);
}
END_TEST

START_TEST(test_kind_str)
{
  const char *seen[8];
  size_t n = 0;

  for (int k = CMAIL_ORDER_CREATED; k <= CMAIL_FINAL; k++) {
    const char *s = cmail_kind_str((cmail_kind)k);

    ck_assert_str_ne(s, "notice");
    for (size_t i = 0; i < n; i++)
      ck_assert_str_ne(s, seen[i]);
    seen[n++] = s;
  }
  ck_assert_str_eq(cmail_kind_str(CMAIL_ORDER_CREATED), "order created");
  ck_assert_str_eq(cmail_kind_str((cmail_kind)99), "notice");
}
END_TEST

/* ---- the Date header ---- */

START_TEST(test_dates)
{
  static const struct {
    int64_t t;
    const char *date;
  } t[] = {
      {0, "Thu, 01 Jan 1970 00:00:00 +0000"},
      {951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},
      {1709164800, "Thu, 29 Feb 2024 00:00:00 +0000"},
      {INT64_C(253402300799), "Fri, 31 Dec 9999 23:59:59 +0000"},
  };

  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    cmail_notice n = order(CMAIL_ORDER_SHIPPED);
    size_t len;
    char *m;

    n.now = t[i].t;
    m = compose_ok(&n, &len);
    expect_header(m, "Date", t[i].date);
    free(m);
  }
}
END_TEST

/* ---- hostile strings ---- */

START_TEST(test_hostile_lines)
{
  static char big[20000];
  cmail_line l[] = {
      {"SN1\r\nBcc: victim@evil.test\r\n\r\n.\r\nQUIT", "M\x85odel\x1b[31m", "Toner\xff\xfe",
       "bl\xc3\x28ue", 1, "trigger\nX-Injected: 1"},
      {big, big, big, big, -5, big},
  };
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  size_t len;
  char *m;

  memset(big, 'A', sizeof(big) - 1);
  n.lines = l;
  n.n_lines = 2;
  m = compose_ok(&n, &len);
  ck_assert_ptr_null(strstr(m, "\r\nBcc:"));
  ck_assert_ptr_null(strstr(m, "\r\nX-Injected:"));
  ck_assert_ptr_null(strstr(m, "\r\n.\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "Label: SN1  Bcc: victim@evil.test    .  QUIT"));
  ck_assert_ptr_nonnull(strstr(m, "M\xef\xbf\xbdodel\xef\xbf\xbd[31m"));
  ck_assert_ptr_nonnull(strstr(m, "Toner\xef\xbf\xbd\xef\xbf\xbd, colour bl\xef\xbf\xbd(ue"));
  ck_assert_ptr_nonnull(strstr(m, "AAA...")); /* cut, and says so */
  ck_assert_ptr_null(
      strstr(m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  expect_header(m, "Subject", "Acme HQ: supplies order 42 created");
  free(m);
}
END_TEST

START_TEST(test_hostile_devices)
{
  cmail_device d[] = {
      {"\xc0\xafSN\x00", "\xed\xa0\x80model", "192.0.2.1\r\nSubject: x", NOW + 86400, NULL},
      {"", "", "", -1, NULL},
      {"SN\xe2\x80\xa8Z", "\xf4\x90\x80\x80", "fe80::1%eth0", INT64_C(999999999999999), NULL},
  };
  cmail_notice n = silent(CMAIL_DISCONNECTED);
  size_t len;
  char *m;

  n.devices = d;
  n.n_devices = 3;
  m = compose_ok(&n, &len);
  ck_assert_ptr_nonnull(strstr(m, "1. Serial: \xef\xbf\xbd\xef\xbf\xbdSN (\xef\xbf\xbd"));
  ck_assert_ptr_nonnull(strstr(m, "Address: 192.0.2.1  Subject: x\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "(0 days ago)")); /* a report from the future */
  ck_assert_ptr_nonnull(strstr(m, "2. Serial: (no serial) (model unknown)\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "3. Serial: SN Z")); /* a line separator: a space */
  ck_assert_ptr_nonnull(strstr(m, "Address: fe80::1%eth0\r\n   Last report: unknown\r\n"));
  free(m);
}
END_TEST

/* Decodes the RFC 2047 B encoded-words of a (folded) Subject back into UTF-8. */
static void decode_subject(const char *m, char *out, size_t n)
{
  const char *p = strstr(m, "\r\nSubject:");
  const char *end = strstr(m, "\r\nDate:");
  char word[128];
  size_t o = 0, got, len;

  ck_assert_ptr_nonnull(p);
  for (p = strstr(p, "=?utf-8?B?"); p && p < end; p = strstr(p, "=?utf-8?B?")) {
    p += 10;
    len = strcspn(p, "?");
    ck_assert_uint_lt(len, sizeof(word));
    memcpy(word, p, len);
    word[len] = '\0';
    ck_assert_uint_lt(o + len, n);
    ck_assert_int_eq(asr_b64_decode(word, out + o, n - o, &got), ASR_OK);
    o += got;
    p += len;
  }
  out[o] = '\0';
}

START_TEST(test_subject_site)
{
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  char v[1024];
  size_t len;
  char *m;

  n.site = "Acme\r\nBcc: victim@evil.test";
  m = compose_ok(&n, &len);
  expect_header(m, "Subject", "Acme  Bcc: victim@evil.test: supplies order 42 created");
  ck_assert(!header(m, "Bcc", v, sizeof(v)));
  free(m);

  n.site = "Bäckerei Müller — Zürich ✓ Straße 1, Gebäude Ω, Étage 2";
  m = compose_ok(&n, &len);
  ck_assert_ptr_nonnull(strstr(m, "Site: Bäckerei Müller")); /* the body has it */
  decode_subject(m, v, sizeof(v));
  ck_assert_str_eq(v, "Bäckerei Müller — Zürich ✓ Straße 1, Gebäude Ω, Étage 2: supplies "
                      "order 42 created");
  free(m);

  n.site = NULL;
  m = compose_ok(&n, &len);
  expect_header(m, "Subject", "(unnamed site): supplies order 42 created");
  free(m);
}
END_TEST

/* No bidirectional control nor invisible character (a serial that reads backwards, a
 * site name that hides a part) in s. */
static void no_bidi(const char *s)
{
  static const char *const bad[] = {"\xe2\x80\xae", "\xe2\x80\xab", "\xe2\x81\xa6", "\xe2\x81\xa9",
                                    "\xe2\x80\x8b", "\xe2\x80\x8f", "\xd8\x9c",     "\xef\xbb\xbf"};

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(strstr(s, bad[i]) == NULL, "unsafe character %zu reached the mail", i);
}

/* A hostile printer's or agent's text with U+202E and its kin reaches neither the Subject
 * nor the body as it is: each becomes U+FFFD. */
START_TEST(test_bidi_neutralised)
{
  static const cmail_line l[] = {{"SN\xe2\x80\xae"
                                  "321",
                                  "\xe2\x81\xa6Model\xe2\x81\xa9", "Black\xe2\x80\x8bToner",
                                  "bl\xe2\x80\x8f"
                                  "ack",
                                  1, "trigger"}};
  static const cmail_device d[] = {{"CN\xe2\x80\xae"
                                    "XB",
                                    "M\xd8\x9codel\xef\xbb\xbf", "192.0.2.9", NOW - 86400, NULL}};
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  char v[1024];
  size_t len;
  char *m;

  n.site = "Evil\xe2\x80\xae"
           "proC";
  n.lines = l;
  n.n_lines = 1;
  n.address = "Main St\xe2\x80\xab 1";
  m = compose_ok(&n, &len);
  no_bidi(m);
  decode_subject(m, v, sizeof(v));
  no_bidi(v);
  ck_assert_str_eq(v, "Evil\xef\xbf\xbdproC: supplies order 42 created");
  ck_assert_ptr_nonnull(strstr(m, "Label: SN\xef\xbf\xbd"
                                  "321 (\xef\xbf\xbdModel\xef\xbf\xbd)"));
  free(m);

  n = silent(CMAIL_DISCONNECTED);
  n.site = "Evil\xe2\x81\xa7Site";
  n.devices = d;
  n.n_devices = 1;
  m = compose_ok(&n, &len);
  no_bidi(m);
  decode_subject(m, v, sizeof(v));
  no_bidi(v);
  ck_assert_ptr_nonnull(strstr(m, "Serial: CN\xef\xbf\xbdXB"));
  free(m);
}
END_TEST

START_TEST(test_message_id_escaped)
{
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  size_t len;
  char *m;

  n.msgid_key = "a b<c>@d.e\r\n";
  m = compose_ok(&n, &len);
  expect_header(m, "Message-ID", "<a=20b=3Cc=3E=40d=2Ee=0D=0A@provider.test>");
  free(m);
}
END_TEST

/* ---- long lists ---- */

START_TEST(test_long_lists)
{
  size_t many = 2000;
  cmail_line *l = calloc(many, sizeof(*l));
  cmail_device *d = calloc(many, sizeof(*d));
  cmail_notice n = order(CMAIL_ORDER_CREATED);
  char serial[32];
  size_t len;
  char *m;

  ck_assert_ptr_nonnull(l);
  ck_assert_ptr_nonnull(d);
  for (size_t i = 0; i < many; i++) {
    l[i] = (cmail_line){"SN", "model", "Toner", "black", 1, "trigger"};
    d[i] = (cmail_device){"SN", "model", "192.0.2.1", NOW - 86400 * 10, NULL};
  }
  n.lines = l;
  n.n_lines = many;
  m = compose_ok(&n, &len);
  ck_assert_ptr_nonnull(strstr(m, "It holds 2000 lines. Each box"));
  ck_assert_ptr_nonnull(strstr(m, "\r\n500. Label: SN"));
  ck_assert_ptr_null(strstr(m, "\r\n501. Label:"));
  ck_assert_ptr_nonnull(strstr(m, "... and 1500 more lines."));
  free(m);
  n = silent(CMAIL_FINAL);
  n.devices = d;
  n.n_devices = many;
  m = compose_ok(&n, &len);
  ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "\r\n%d. Serial: SN", 500), ASR_OK);
  ck_assert_ptr_nonnull(strstr(m, serial));
  ck_assert_ptr_nonnull(strstr(m, "... and 1500 more printers."));
  ck_assert_ptr_nonnull(strstr(m, "asr-agent status"));
  free(m);
  free(l);
  free(d);
}
END_TEST

/* ---- what is refused ---- */

START_TEST(test_address_ok)
{
  static const char *const good[] = {"a@b", "supplies@acme.test", "asr-central@localhost",
                                     "first.last+tag@sub.example.org"};
  static const char *const bad[] = {NULL,
                                    "",
                                    "ab",
                                    "@b.test",
                                    "a@",
                                    "a@b@c",
                                    "a b@c.test",
                                    "a@b.test\r\nBcc: x@y",
                                    "<a@b.test>",
                                    "A <a@b.test>",
                                    "a@b.test,c@d.test",
                                    "a\"q@b.test",
                                    "m\xc3\xbcller@b.test",
                                    "a@b\x7f.test",
                                    "a@b;c",
                                    "(x)a@b"};
  char long_addr[300];

  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ck_assert_msg(asr_smtp_address_ok(good[i]), "refused %s", good[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(!asr_smtp_address_ok(bad[i]), "accepted bad address %zu", i);
  memset(long_addr, 'a', sizeof(long_addr));
  memcpy(long_addr + 250, "@b.te", 6); /* 255 bytes: one too many */
  ck_assert(!asr_smtp_address_ok(long_addr));
  long_addr[250 - 1] = '\0';
  ck_assert(!asr_smtp_address_ok(long_addr)); /* no @ */
  memcpy(long_addr + 248, "@b.t", 5);         /* 252 bytes */
  ck_assert(asr_smtp_address_ok(long_addr));
}
END_TEST

/* A contact as mail programs write it: name and address apart. */
START_TEST(test_mailbox_parse)
{
  char name[64], addr[64];

  ck_assert(asr_smtp_mailbox_parse("Ops <ops@x.test>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert_str_eq(name, "Ops");
  ck_assert_str_eq(addr, "ops@x.test");
  ck_assert(asr_smtp_mailbox_parse("  \"Ops, Site 7\"  < ops@x.test >  ", name, sizeof(name), addr,
                                   sizeof(addr)));
  ck_assert_str_eq(name, "Ops, Site 7");
  ck_assert_str_eq(addr, "ops@x.test");
  ck_assert(asr_smtp_mailbox_parse("<ops@x.test>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert_str_eq(name, "");
  ck_assert_str_eq(addr, "ops@x.test");
  ck_assert(asr_smtp_mailbox_parse(" ops@x.test ", name, sizeof(name), addr, sizeof(addr)));
  ck_assert_str_eq(addr, "ops@x.test");
  ck_assert(asr_smtp_mailbox_parse("J\xc3\xbcrgen M\xc3\xbcller <jm@x.test>", name, sizeof(name),
                                   addr, sizeof(addr)));
  ck_assert_str_eq(name, "J\xc3\xbcrgen M\xc3\xbcller");
  /* refused: no address, two, junk after it, header injection, a bad address */
  ck_assert(!asr_smtp_mailbox_parse("Ops", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <ops@x.test", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(
      !asr_smtp_mailbox_parse("Ops <a@x.test> <b@x.test>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <a@x.test> x", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops\r\nBcc: c@d.test <a@x.test>", name, sizeof(name), addr,
                                    sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <a b@x.test>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("O\"ps <a@x.test>", name, sizeof(name), addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <ops@x.test>", name, 3, addr, sizeof(addr)));
  ck_assert(!asr_smtp_mailbox_parse("Ops <ops@x.test>", name, sizeof(name), addr, 5));
  ck_assert(!asr_smtp_mailbox_parse(NULL, name, sizeof(name), addr, sizeof(addr)));
}
END_TEST

START_TEST(test_refused)
{
  cmail_notice n;
  char *m = (char *)"untouched";
  size_t len = 7;

  ck_assert_int_eq(cmail_compose(NULL, &m, &len), ASR_ERR_INVALID);
  ck_assert_ptr_null(m);
  ck_assert_uint_eq(len, 0);
  n = order(CMAIL_ORDER_CREATED);
  n.to = "a@b.test\r\nBcc: c@d.test";
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n.to = "Contact <a@b.test>";
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n.to = "";
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = order(CMAIL_ORDER_CREATED);
  n.from = NULL;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = order(CMAIL_ORDER_CREATED);
  n.msgid_key = "";
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = order(CMAIL_ORDER_SHIPPED);
  n.n_lines = 0;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = order(CMAIL_ORDER_SHIPPED);
  n.order_id = 0;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = silent(CMAIL_DISCONNECTED);
  n.devices = NULL;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = silent(CMAIL_FINAL);
  n.kind = (cmail_kind)99;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = silent(CMAIL_FINAL);
  n.now = -1;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  ck_assert_ptr_null(m);
}
END_TEST

/* The portal's mails: a sign-in link (plain ASCII only), a request and its answer with the
 * customer's words and a printer's serial cleaned (no header can be forged). */
START_TEST(test_portal_mails)
{
  cmail_notice n = {.kind = CMAIL_SIGNIN,
                    .from = "asr-central@provider.test",
                    .to = "supplies@acme.test",
                    .site = "Supplies portal",
                    .now = NOW,
                    .msgid_key = "signin-1",
                    .link = "https://portal.test/signin/link?t=abc",
                    .link_minutes = 15};
  size_t len;
  char *m = NULL, v[256];

  m = compose_ok(&n, &len);
  ck_assert_ptr_nonnull(strstr(m, "\r\nhttps://portal.test/signin/link?t=abc\r\n"));
  ck_assert_ptr_nonnull(strstr(m, "valid for 15 minutes, once"));
  free(m);
  n.link = "https://portal.test/x y";
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n.link = NULL;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
  n = (cmail_notice){.kind = CMAIL_REQUEST_APPROVED,
                     .from = "asr-central@provider.test",
                     .to = "supplies@acme.test",
                     .site = "Acme HQ",
                     .now = NOW,
                     .msgid_key = "request-7-approved",
                     .request_id = 7,
                     .what = "extra toner: 2 x Black for printer SN\r\nBcc: x@evil.test",
                     .requester = "supplies@acme.test",
                     .note = "big\r\nX-Evil: 1",
                     .answer = "special order 9"};
  m = compose_ok(&n, &len);
  expect_header(m, "Subject", "Acme HQ: request 7: your request was approved");
  ck_assert(!header(m, "Bcc", v, sizeof(v)));
  ck_assert(!header(m, "X-Evil", v, sizeof(v)));
  ck_assert_ptr_nonnull(strstr(m, "Answer: special order 9"));
  free(m);
  n.request_id = 0;
  ck_assert_int_eq(cmail_compose(&n, &m, &len), ASR_ERR_INVALID);
}
END_TEST

static Suite *mail_suite(void)
{
  Suite *s = suite_create("mail");
  TCase *tc = tcase_create("compose");

  tcase_add_test(tc, test_order_created);
  tcase_add_test(tc, test_order_kinds);
  tcase_add_test(tc, test_disconnected);
  tcase_add_test(tc, test_kind_str);
  tcase_add_test(tc, test_dates);
  tcase_add_test(tc, test_hostile_lines);
  tcase_add_test(tc, test_hostile_devices);
  tcase_add_test(tc, test_subject_site);
  tcase_add_test(tc, test_bidi_neutralised);
  tcase_add_test(tc, test_message_id_escaped);
  tcase_add_test(tc, test_long_lists);
  tcase_add_test(tc, test_address_ok);
  tcase_add_test(tc, test_mailbox_parse);
  tcase_add_test(tc, test_refused);
  tcase_add_test(tc, test_portal_mails);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(mail_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
