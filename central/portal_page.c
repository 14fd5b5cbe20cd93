/* portal_page.c: the portal's own pages (portal_int.h): sign-in, the mailed link's button,
 * a message, the audit trail. Built from page.c's pieces, so that every untrusted string
 * is escaped by the same code; no script, no inline style (the Content-Security-Policy). */
#include <string.h>

#include "central/portal_int.h"
#include "common/date.h"
#include "common/util.h"

static void message(asr_buf *b, const char *text, bool error)
{
  if (!text)
    return;
  asr_buf_puts(b, error ? "<p class=\"error\" role=\"alert\">"
                        : "<p class=\"notice\" role=\"status\">");
  page_text(b, text);
  asr_buf_puts(b, "</p>");
}

asr_result portal_page_signin(const char *csrf, const char *notice, const char *error, int64_t now,
                              char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  page_open(&b, "Sign in", NULL);
  asr_buf_puts(&b, "<div class=\"sub\">The supplies portal</div></header><main class=\"signin\">");
  message(&b, notice, false);
  message(&b, error, true);
  asr_buf_puts(&b, "<section class=\"card\" id=\"customer\"><h2>Supplies contacts</h2>"
                   "<form method=\"post\" action=\"/signin/email\" class=\"form\">");
  page_hidden(&b, "csrf", csrf);
  asr_buf_puts(&b, "<label>Your e-mail address<input name=\"email\" type=\"email\" "
                   "maxlength=\"254\" autocomplete=\"email\" required></label>"
                   "<div><button type=\"submit\">Mail me a sign-in link</button></div>"
                   "<p class=\"mute\">No password: we mail a link that signs you in once.</p>"
                   "</form></section><section class=\"card\" id=\"staff\"><h2>Staff</h2>"
                   "<form method=\"post\" action=\"/signin/staff\" class=\"form\">");
  page_hidden(&b, "csrf", csrf);
  asr_buf_puts(&b, "<label>Name<input name=\"name\" maxlength=\"255\" autocomplete=\"username\" "
                   "required></label><label>Password<input name=\"password\" type=\"password\" "
                   "maxlength=\"1024\" autocomplete=\"current-password\" required></label>"
                   "<div><button type=\"submit\">Sign in</button></div></form></section>");
  page_close(&b, now);
  return asr_buf_finish(&b, out);
}

asr_result portal_page_link(const char *token, const char *csrf, int64_t now, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  page_open(&b, "Sign in", NULL);
  asr_buf_puts(&b, "<div class=\"sub\">The supplies portal</div></header><main class=\"signin\">"
                   "<section class=\"card\"><h2>Your sign-in link</h2>"
                   "<form method=\"post\" action=\"/signin/link\" class=\"form\">");
  page_hidden(&b, "csrf", csrf);
  page_hidden(&b, "t", token);
  asr_buf_puts(&b, "<p>This link signs you in once.</p><div><button type=\"submit\" "
                   "id=\"continue\">Sign in</button></div></form></section>");
  page_close(&b, now);
  return asr_buf_finish(&b, out);
}

asr_result portal_page_message(const page_nav *nav, const char *title, const char *text, bool error,
                               const char *back, int64_t now, char **out)
{
  asr_buf b = {.max = PAGE_MAX_BYTES};

  page_open(&b, title, nav);
  asr_buf_puts(&b, "</header><main><section class=\"card\">");
  message(&b, text, error);
  asr_buf_puts(&b, "<p class=\"empty\"><a href=\"");
  page_attr(&b, back ? back : "/");
  asr_buf_puts(&b, "\">Back</a></p></section>");
  page_close(&b, now);
  return asr_buf_finish(&b, out);
}

void portal_page_audit_open(portal_audit_page *p, const page_nav *nav)
{
  page_open(&p->b, "Audit trail", nav);
  asr_buf_puts(&p->b, "<div class=\"sub\">Every denial and every staff action, newest first"
                      "</div></header><main><section class=\"card\"><table><tr><th>When</th>"
                      "<th>Who</th><th>From</th><th>What</th><th>On</th><th>Outcome</th>"
                      "<th>Detail</th></tr>");
}

void portal_page_audit_row(portal_audit_page *p, const cportal_audit_row *a)
{
  char when[32];
  const char *cells[] = {a->actor, a->ip, a->action, a->target, a->outcome, a->detail};

  asr_time_iso(a->at, when, sizeof(when));
  asr_buf_printf(&p->b, "<tr class=\"audit %s\"><td class=\"num\">%s</td>",
                 strcmp(a->outcome, "ok") == 0 ? "ok" : "denied", when);
  for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
    asr_buf_puts(&p->b, "<td>");
    page_text(&p->b, cells[i]);
    asr_buf_puts(&p->b, "</td>");
  }
  asr_buf_puts(&p->b, "</tr>");
}

asr_result portal_page_audit_close(portal_audit_page *p, char **out)
{
  asr_buf_puts(&p->b, "</table></section>");
  page_close(&p->b, p->now);
  return asr_buf_finish(&p->b, out);
}
