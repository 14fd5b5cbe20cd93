/* page.h: the supplies status page of asr-central (issue 6, section 3), rendered from a
 * view (central/view.h) as HTML with SVG and a served stylesheet, or as JSON (jansson).
 *
 * Pure: no I/O, no clock (the view carries "now"), so every output is a function of its
 * input and is unit-tested as such. Every string of a view came from a printer, an agent
 * or an operator and is untrusted: it is made valid UTF-8 (invalid bytes, control and
 * bidirectional-override characters become U+FFFD) and HTML-escaped for text and
 * attributes alike; URLs are built by percent-encoding. The HTML needs no JavaScript and
 * no inline style: it loads only its stylesheet (PAGE_CSS_PATH; the server sends a
 * Content-Security-Policy that forbids anything else). The portal's own pages
 * (central/portal_page.c) are built from the same pieces (page_open ... page_close). */
#ifndef ASR_PAGE_H
#define ASR_PAGE_H

#include <stddef.h>

#include "central/view.h"
#include "common/buf.h"
#include "common/result.h"

#define PAGE_MAX_BYTES (64u << 20)      /* a rendering larger than this fails (ASR_ERR_LIMIT) */
#define PAGE_CSS_PATH "/static/asr.css" /* where the server serves page_stylesheet() */

/* Who is signed in, for the portal's bar (NULL: no bar, as the read-only pages were). */
typedef struct {
  const char *who;  /* a staff name or a customer's e-mail */
  bool staff;       /* a staff member: sees everything */
  const char *csrf; /* the session's token, carried by the sign-out form */
  int64_t pending;  /* requests waiting (staff: all; customer: theirs) */
} page_nav;

/* The stylesheet of every page (malloc'd; the caller frees). */
asr_result page_stylesheet(char **out);

/* The index page (every site) into *out (malloc'd, NUL-terminated; the caller frees). */
asr_result page_index_html(const view_index *v, char **out);

/* The same with the portal's bar (nav may be NULL); a customer's index says "Your sites". */
asr_result page_index_html_as(const view_index *v, const page_nav *nav, char **out);

/* The index as JSON: {"generated_at", "sites": [{"name", "contact", "agents", ...}]}. */
asr_result page_index_json(const view_index *v, char **out);

/* A site's page: devices, supplies with level bars, days left, forecast order dates and
 * 90-day charts, and the open orders. */
asr_result page_site_html(const view_site *v, char **out);

/* The same with the portal's bar; for a customer (nav->staff false) each device offers
 * the extra toner request, and the site the change of delivery address or contact. */
asr_result page_site_html_as(const view_site *v, const page_nav *nav, char **out);

/* The same data as a JSON object (docs/asr-central.8 describes its fields). */
asr_result page_site_json(const view_site *v, char **out);

/* A small HTML page for an HTTP error: status (404...), a title and a message (escaped). */
asr_result page_error_html(int status, const char *title, const char *message, char **out);

/* Pieces for the portal's pages: the head and header top (title escaped, nav may be NULL;
 * the caller closes </header> and opens <main>), the end (closes main), untrusted text
 * ("—" for NULL or empty), an attribute value (escaped, "" for NULL), a URL segment
 * (percent-encoded). */
void page_open(asr_buf *b, const char *title, const page_nav *nav);
void page_close(asr_buf *b, int64_t now);
void page_text(asr_buf *b, const char *s);
void page_attr(asr_buf *b, const char *s);
void page_url(asr_buf *b, const char *s);

/* A hidden form field name=value (the value escaped as an attribute). */
void page_hidden(asr_buf *b, const char *name, const char *value);

/* s as valid UTF-8 and HTML-escaped (& < > " ' as entities) into *out. */
asr_result page_escape(const char *s, char **out);

/* s as valid UTF-8 with control and bidi-override characters replaced (for JSON). */
asr_result page_clean(const char *s, char **out);

/* Untrusted text as a JSON string (page_clean's), null for NULL. Never NULL itself. */
struct json_t;
struct json_t *page_jtext(const char *s);

/* Decodes a %-encoded URL path segment into out (size n, NUL-terminated): ASR_ERR_INVALID
 * for a malformed escape or an encoded NUL, ASR_ERR_TOO_LARGE when out is too small. */
asr_result page_url_decode(const char *in, char *out, size_t n);

#endif
