/* wire/http.c: one HTTPS POST with libcurl (with smtp.c the only code that includes
 * curl/curl.h).
 *
 * Reading order: the pure parts (Retry-After, endpoint check), the response callbacks
 * (bounded body, Retry-After header), the options, the error conversion, the POST. */
#include "wire/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/util.h"

#define CONNECT_TIMEOUT_MS 10000
#define TOTAL_TIMEOUT_MS 120000

/* ---- pure parts ---- */

/* Reads exactly n digits at *p into *v. */
static bool digits(const char **p, int n, unsigned *v)
{
  *v = 0;
  for (int i = 0; i < n; i++) {
    if ((*p)[i] < '0' || (*p)[i] > '9')
      return false;
    *v = *v * 10 + (unsigned)((*p)[i] - '0');
  }
  *p += n;
  return true;
}

static bool expect(const char **p, const char *lit)
{
  size_t n = strlen(lit);

  if (strncmp(*p, lit, n) != 0)
    return false;
  *p += n;
  return true;
}

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" as epoch seconds, -1 when not one. */
static int64_t parse_http_date(const char *s)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  unsigned day, year, hh, mm, ss, mon = 0;
  const char *p = s;

  if (strlen(s) < 29 || s[3] != ',' || s[4] != ' ')
    return -1;
  p += 5;
  if (!digits(&p, 2, &day) || !expect(&p, " "))
    return -1;
  for (unsigned i = 0; i < 12; i++) {
    if (strncmp(p, months + 3 * i, 3) == 0)
      mon = i + 1;
  }
  p += 3;
  if (!mon || !expect(&p, " ") || !digits(&p, 4, &year) || !expect(&p, " ") ||
      !digits(&p, 2, &hh) || !expect(&p, ":") || !digits(&p, 2, &mm) || !expect(&p, ":") ||
      !digits(&p, 2, &ss) || !expect(&p, " GMT") || *p)
    return -1;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
    return -1;
  return asr_date_days(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

int64_t asr_http_retry_after(const char *value, int64_t now)
{
  int64_t v, t;
  char buf[64];
  size_t n;

  if (!value)
    return -1;
  value += strspn(value, " \t");
  if (asr_strlcpy(buf, value, sizeof(buf)) != ASR_OK)
    return -1;
  n = strlen(buf);
  while (n > 0 &&
         (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r' || buf[n - 1] == '\n'))
    buf[--n] = '\0';
  if (buf[0] >= '0' && buf[0] <= '9')
    return asr_parse_i64(buf, 0, INT32_MAX, &v) == ASR_OK ? v : -1;
  t = parse_http_date(buf);
  if (t < 0)
    return -1;
  return t > now ? t - now : 0;
}

/* True for 127.x.y.z, localhost and [::1]. */
static bool loopback_host(const char *host, size_t n)
{
  unsigned a;
  const char *p = host;

  if ((n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
      (n == 5 && strncmp(host, "[::1]", 5) == 0))
    return true;
  if (n < 9 || strncmp(host, "127.", 4) != 0)
    return false;
  p += 4;
  for (int part = 0; part < 3; part++) {
    size_t len = strspn(p, "0123456789");

    if (len < 1 || len > 3 || !digits(&p, (int)len, &a) || a > 255)
      return false;
    if (part < 2 && !expect(&p, "."))
      return false;
  }
  return (size_t)(p - host) == n;
}

asr_result asr_http_check_endpoint(const char *url, char *err, size_t n)
{
  const char *host, *end;
  bool https;

  err[0] = '\0';
  if (!url || strlen(url) > 900) {
    asr_strlcpy_cut(err, "missing or too long", n);
    return ASR_ERR_INVALID;
  }
  https = strncasecmp(url, "https://", 8) == 0;
  if (!https && strncasecmp(url, "http://", 7) != 0) {
    asr_strlcpy_cut(err, "not an https:// URL", n);
    return ASR_ERR_INVALID;
  }
  host = url + (https ? 8 : 7);
  end = host[0] == '[' ? strchr(host, ']') : host + strcspn(host, ":/?#");
  if (!end || end == host || strpbrk(url, " \t\r\n@?#")) {
    asr_strlcpy_cut(err, "not a URL of the form https://HOST[:PORT][/PATH]", n);
    return ASR_ERR_INVALID;
  }
  if (host[0] == '[')
    end++;
  if (!https && !loopback_host(host, (size_t)(end - host))) {
    asr_strlcpy_cut(err, "plain http:// is only allowed for a loopback host (use https://)", n);
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* ---- response callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
  asr_http_response *res = ctx;
  size_t len = size * nmemb, room = ASR_HTTP_BODY_MAX - res->body_len;

  if (len > room)
    len = room; /* the rest is dropped, the transfer goes on */
  memcpy(res->body + res->body_len, data, len);
  res->body_len += len;
  res->body[res->body_len] = '\0';
  return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
  asr_http_response *res = ctx;
  size_t len = size * nmemb;
  char value[128];

  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
    res->retry_after = -1; /* a new response (after a proxy's CONNECT, a 100...) */
  if (len > 12 && len - 12 < sizeof(value) && strncasecmp(data, "Retry-After:", 12) == 0) {
    memcpy(value, data + 12, len - 12);
    value[len - 12] = '\0';
    res->retry_after = asr_http_retry_after(value, asr_now());
  }
  return len;
}

/* ---- options ---- */

static bool set(const char *v)
{
  return v && *v;
}

/* TLS: verification always on; CA, pinned key and client certificate when given. */
static CURLcode set_tls(CURL *c, const asr_http_opts *o)
{
  CURLcode rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);

  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!rc && set(o->ca_file))
    rc = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
  if (!rc && set(o->ca_path))
    rc = curl_easy_setopt(c, CURLOPT_CAPATH, o->ca_path);
  if (!rc && set(o->pin))
    rc = curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, o->pin);
  if (!rc && set(o->client_cert))
    rc = curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
  if (!rc && set(o->client_key))
    rc = curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
  return rc;
}

/* Proxy: "none", an explicit URL (tunnelled with CONNECT), or libcurl's environment. */
static CURLcode set_proxy(CURL *c, const asr_http_opts *o)
{
  CURLcode rc = CURLE_OK;

  if (set(o->proxy) && strcmp(o->proxy, "none") == 0) {
    rc = curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (!rc)
      rc = curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    return rc;
  }
  if (set(o->proxy))
    rc = curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
  if (!rc && set(o->proxy))
    rc = curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
  if (!rc && set(o->proxy_userpwd))
    rc = curl_easy_setopt(c, CURLOPT_PROXYUSERPWD, o->proxy_userpwd);
  if (!rc && set(o->proxy_userpwd))
    rc = curl_easy_setopt(c, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
  return rc;
}

/* libcurl's progress callback: the caller's abort question (asr_http_opts.abort_cb). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
  const asr_http_opts *o = ctx;

  (void)dltotal;
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  return o->abort_cb(o->abort_ctx) ? 1 : 0;
}

static CURLcode set_abort(CURL *c, const asr_http_opts *o)
{
  CURLcode rc;

  if (!o->abort_cb)
    return CURLE_OK;
  rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)o);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  return rc;
}

static CURLcode set_request(CURL *c, const asr_http_opts *o, const char *url,
                            struct curl_slist *hdrs, const void *body, size_t len,
                            asr_http_response *res, char *errbuf)
{
  CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, url);

  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_POST, 1L);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
  if (!rc)
    rc = curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(o->connect_timeout_ms ? o->connect_timeout_ms : CONNECT_TIMEOUT_MS));
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                          (long)(o->timeout_ms ? o->timeout_ms : TOTAL_TIMEOUT_MS));
  if (!rc)
    rc = set_abort(c, o);
  if (!rc)
    rc = set_tls(c, o);
  if (!rc)
    rc = set_proxy(c, o);
  return rc;
}

/* ---- errors ---- */

/* libcurl failures we name: the result, the text, whether retrying may help. */
static const struct {
  CURLcode code;
  asr_result result;
  bool retryable;
  const char *what;
} curl_errors[] = {
    /* DNS: may be a passing outage of the resolver */
    {CURLE_COULDNT_RESOLVE_HOST, ASR_ERR_RESOLVE, true, "host name not found"},
    {CURLE_COULDNT_RESOLVE_PROXY, ASR_ERR_RESOLVE, true, "proxy host name not found"},
    /* connect or total timeout */
    {CURLE_OPERATION_TIMEDOUT, ASR_ERR_TIMEOUT, true, "timed out"},
    /* the caller's abort_cb said stop (a stop request): nothing was delivered */
    {CURLE_ABORTED_BY_CALLBACK, ASR_ERR_TIMEOUT, true, "stopped before the end"},
    /* refused, reset, cut: the central may be restarting */
    {CURLE_COULDNT_CONNECT, ASR_ERR_PROTOCOL, true, "connection failed"},
    {CURLE_SEND_ERROR, ASR_ERR_PROTOCOL, true, "connection lost while sending"},
    {CURLE_RECV_ERROR, ASR_ERR_PROTOCOL, true, "connection lost while receiving"},
    {CURLE_GOT_NOTHING, ASR_ERR_PROTOCOL, true, "the server closed the connection"},
    {CURLE_PARTIAL_FILE, ASR_ERR_PROTOCOL, true, "the answer was cut"},
    /* TLS handshake broken (not a verification failure): retried */
    {CURLE_SSL_CONNECT_ERROR, ASR_ERR_AUTH, true, "TLS handshake failed"},
    /* TLS verification: waiting does not help */
    {CURLE_PEER_FAILED_VERIFICATION, ASR_ERR_AUTH, false,
     "TLS: the server's certificate or host name was refused"},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, ASR_ERR_AUTH, false,
     "TLS: the server's public key does not match the pinned key"},
    /* our settings are wrong */
    {CURLE_SSL_CACERT_BADFILE, ASR_ERR_INVALID, false, "the CA file or directory is unusable"},
    {CURLE_SSL_CERTPROBLEM, ASR_ERR_INVALID, false, "the client certificate or key is unusable"},
    {CURLE_URL_MALFORMAT, ASR_ERR_INVALID, false, "bad URL"},
    {CURLE_UNSUPPORTED_PROTOCOL, ASR_ERR_INVALID, false, "unsupported URL scheme"},
};

/* A libcurl failure as a result, a one-line text and whether to retry. */
static asr_result convert(CURL *c, CURLcode rc, const char *errbuf, asr_http_response *res)
{
  const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  const char *what = "the exchange failed";
  asr_result r = ASR_ERR_PROTOCOL;
  long connect_code = 0;

  res->retryable = false;
  for (size_t i = 0; i < sizeof(curl_errors) / sizeof(curl_errors[0]); i++) {
    if (curl_errors[i].code == rc) {
      r = curl_errors[i].result;
      what = curl_errors[i].what;
      res->retryable = curl_errors[i].retryable;
    }
  }
  curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &connect_code);
  if (connect_code == 407) {
    r = ASR_ERR_AUTH;
    what = "the proxy refused our credentials (407)";
    res->retryable = false;
  } else if (connect_code >= 400) {
    what = "the proxy refused the connection";
    res->retryable = true;
  }
  asr_fmt_cut(res->error, sizeof(res->error), "%s: %s", what, detail);
  return r;
}

/* ---- the request ---- */

asr_result asr_http_global_init(void)
{
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ASR_OK : ASR_ERR_NOMEM;
}

void asr_http_global_fini(void)
{
  curl_global_cleanup();
}

void asr_http_response_free(asr_http_response *res)
{
  if (!res)
    return;
  free(res->body);
  res->body = NULL;
  res->body_len = 0;
}

static asr_result build_headers(const char *const *headers, struct curl_slist **out)
{
  struct curl_slist *l = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */

  for (size_t i = 0; l && headers && headers[i]; i++) {
    struct curl_slist *n = curl_slist_append(l, headers[i]);

    if (!n) {
      curl_slist_free_all(l);
      l = NULL;
    } else {
      l = n;
    }
  }
  *out = l;
  return l ? ASR_OK : ASR_ERR_NOMEM;
}

asr_result asr_http_post(const asr_http_opts *o, const char *url, const char *const *headers,
                         const void *body, size_t len, asr_http_response *res)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  CURL *c = NULL;
  CURLcode rc;
  asr_result r;

  memset(res, 0, sizeof(*res));
  res->retry_after = -1;
  res->body = malloc(ASR_HTTP_BODY_MAX + 1);
  r = res->body ? build_headers(headers, &hdrs) : ASR_ERR_NOMEM;
  if (!r) {
    res->body[0] = '\0';
    c = curl_easy_init();
    r = c ? ASR_OK : ASR_ERR_NOMEM;
  }
  if (r)
    goto out;
  rc = set_request(c, o, url, hdrs, body, len, res, errbuf);
  if (!rc)
    rc = curl_easy_perform(c);
  if (rc) {
    r = convert(c, rc, errbuf, res);
    goto out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
  if (res->status == 407) {
    asr_strlcpy_cut(res->error, "the proxy refused our credentials (407)", sizeof(res->error));
    r = ASR_ERR_AUTH;
  }
out:
  curl_slist_free_all(hdrs);
  if (c)
    curl_easy_cleanup(c);
  return r;
}
