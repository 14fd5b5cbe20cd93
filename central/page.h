/* page.h: the supplies status page of asr-central (issue 6, section 3), rendered from a
 * view (central/view.h) as HTML with inline CSS and SVG, or as JSON (jansson).
 *
 * Pure: no I/O, no clock (the view carries "now"), so every output is a function of its
 * input and is unit-tested as such. Every string of a view came from a printer, an agent
 * or an operator and is untrusted: it is made valid UTF-8 (invalid bytes, control and
 * bidirectional-override characters become U+FFFD) and HTML-escaped for text and
 * attributes alike; URLs are built by percent-encoding. The HTML needs no JavaScript and
 * loads nothing else (the server sends a Content-Security-Policy that forbids it). */
#ifndef ASR_PAGE_H
#define ASR_PAGE_H

#include <stddef.h>

#include "central/view.h"
#include "common/result.h"

#define PAGE_MAX_BYTES (64u << 20) /* a rendering larger than this fails (ASR_ERR_LIMIT) */

/* The index page (every site) into *out (malloc'd, NUL-terminated; the caller frees). */
asr_result page_index_html(const view_index *v, char **out);

/* The index as JSON: {"generated_at", "sites": [{"name", "contact", "agents", ...}]}. */
asr_result page_index_json(const view_index *v, char **out);

/* A site's page: devices, supplies with level bars, days left, forecast order dates and
 * 90-day charts, and the open orders. */
asr_result page_site_html(const view_site *v, char **out);

/* The same data as a JSON object (docs/asr-central.8 describes its fields). */
asr_result page_site_json(const view_site *v, char **out);

/* A small HTML page for an HTTP error: status (404...), a title and a message (escaped). */
asr_result page_error_html(int status, const char *title, const char *message, char **out);

/* s as valid UTF-8 and HTML-escaped (& < > " ' as entities) into *out. */
asr_result page_escape(const char *s, char **out);

/* s as valid UTF-8 with control and bidi-override characters replaced (for JSON). */
asr_result page_clean(const char *s, char **out);

/* Decodes a %-encoded URL path segment into out (size n, NUL-terminated): ASR_ERR_INVALID
 * for a malformed escape or an encoded NUL, ASR_ERR_TOO_LARGE when out is too small. */
asr_result page_url_decode(const char *in, char *out, size_t n);

#endif
