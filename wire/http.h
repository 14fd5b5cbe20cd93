/* wire/http.h: one HTTPS POST (libcurl: wire/ holds the only code that includes it, here and
 * in smtp.c).
 *
 * TLS peer and host verification are always on: a CA file or directory may replace the
 * system store, a public key may be pinned, a client certificate presented. Proxies: an
 * explicit URL (HTTP CONNECT for https, with basic authentication when a user:password is
 * given), the usual environment variables (libcurl reads https_proxy, HTTPS_PROXY,
 * no_proxy...) when none is given, or "none" for a direct connection. Every libcurl error
 * becomes an asr_result and a one-line text here; secrets never reach the log. */
#ifndef ASR_HTTP_H
#define ASR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_HTTP_BODY_MAX 65536 /* response bytes kept; the rest is dropped */

/* Connection settings ("" or NULL = not set). */
typedef struct {
  const char *ca_file, *ca_path;
  const char *pin; /* "sha256//BASE64" (CURLOPT_PINNEDPUBLICKEY) */
  const char *client_cert, *client_key;
  const char *proxy;           /* NULL/"" = environment, "none", or a proxy URL */
  const char *proxy_userpwd;   /* "user:password" for the proxy; never logged */
  unsigned connect_timeout_ms; /* 0 = 10 s */
  unsigned timeout_ms;         /* whole request, 0 = 120 s */
  /* Asked about once a second while a request runs (libcurl's progress callback); a
   * non-zero answer ends the request at once (a stop request of the daemon, which also
   * pings its watchdog from there). NULL: never. */
  int (*abort_cb)(void *ctx);
  void *abort_ctx;
} asr_http_opts;

/* The answer of a request. status 0 means no HTTP answer (see result and error). */
typedef struct {
  long status;
  int64_t retry_after; /* seconds from now, -1 when absent or unparsable */
  char *body;          /* NUL-terminated, at most ASR_HTTP_BODY_MAX bytes; free with _free */
  size_t body_len;
  bool retryable;  /* a transport failure worth retrying (timeout, refused, DNS...) */
  char error[256]; /* what went wrong ("" on a complete HTTP exchange) */
} asr_http_response;

/* Initializes libcurl once per program (not thread-safe: call from main). */
asr_result asr_http_global_init(void);

/* Releases libcurl's global state. */
void asr_http_global_fini(void);

/* POSTs len bytes of body to url with extra header lines (NULL-terminated list, e.g.
 * "Content-Type: application/json"). ASR_OK when an HTTP answer came (whatever its
 * status); otherwise the failure as ASR_ERR_RESOLVE (DNS), ASR_ERR_TIMEOUT (connect or
 * total timeout), ASR_ERR_AUTH (TLS: certificate, host name or pinned key refused; proxy
 * authentication), ASR_ERR_PROTOCOL (a broken exchange), ASR_ERR_INVALID (a bad setting:
 * unreadable CA or certificate, bad URL), with res->error saying which. */
asr_result asr_http_post(const asr_http_opts *o, const char *url, const char *const *headers,
                         const void *body, size_t len, asr_http_response *res);

/* Frees the body of a response. */
void asr_http_response_free(asr_http_response *res);

/* Parses a Retry-After value: delta-seconds or an HTTP-date (IMF-fixdate, "Sun, 06 Nov
 * 1994 08:49:37 GMT"), relative to now. Returns seconds >= 0, or -1 when invalid. */
int64_t asr_http_retry_after(const char *value, int64_t now);

/* Checks an endpoint URL: https://HOST[:PORT][/PREFIX], or http:// only when HOST is a
 * loopback address (127.0.0.0/8, localhost, [::1]). Writes why not into err. */
asr_result asr_http_check_endpoint(const char *url, char *err, size_t n);

#endif
