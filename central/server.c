/* server.c: asr-central's HTTP(S) endpoint on libmicrohttpd; the only code that includes
 * microhttpd.h. The protocol's logic lives in central/ingest.c, the supplies status pages
 * in central/view.c (data) and central/page.c (rendering); this file moves bytes and
 * enforces what one client and one request may take.
 *
 * How a request goes through libmicrohttpd (MHD calls on_request several times):
 *  1. headers received (*con_cls NULL): route by path. The agents' protocol (/v1/...):
 *     404, 405, and for a batch the checks that need no body (signature headers, agent,
 *     timestamp, Content-Length) so that a bad request is answered before its body is
 *     read; the body's bytes are reserved in the shared memory budget (503 when spent).
 *     Anything else (the pages) is handed to the page pool and the connection suspended
 *     until its answer is rendered (resumed by the pool's thread; 503 when the pool's
 *     queue is full), so that the agents' workers never render a page;
 *  2. body pieces: appended to a buffer bounded by the body limit; past it (or past the
 *     budget) the pieces are dropped (413 or 503 at the end), and a client that keeps
 *     sending is cut off;
 *  3. end of body (*upload_data_size 0): ingest (its decoding metered, central/budget.h)
 *     and answer.
 * MHD then calls on_completed, which logs the request, gives back its memory and frees
 * its context. MHD is told not to decode the path (unescape_none): page names are decoded
 * by page_url_decode, which refuses an encoded NUL and bounds the length.
 *
 * Limits: MHD bounds the connections in all and per client address, and closes a
 * connection idle for --timeout; central/connguard.c adds what MHD lacks, a deadline for
 * a request's headers and for the whole request (a client trickling a byte a second is
 * cut, not kept forever). MHD tells us each connection's start and end (on_connection).
 *
 * Threads: MHD's pool of worker threads and the page pool's threads call us; each thread
 * opens its own database handle on first use (thread-specific data, closed when the
 * thread ends). */
#include "central/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "central/csiteconf.h"
#include "central/budget.h"
#include "central/connguard.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "central/page.h"
#include "central/pagepool.h"
#include "central/portal.h"
#include "central/view.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"

#define PEM_MAX (1u << 20)
#define DISCARD_MAX (8u << 20) /* bytes dropped past the limit before cutting the client */

#define BUSY_BODY                                                                                  \
  "{\"error\":\"busy: the memory for bodies in flight is spent, the batch was not stored:"         \
  " retry later\"}"

struct central_server {
  struct MHD_Daemon *mhd;
  char *db_path;
  size_t max_body, batch_memory;
  central_log_cb log_cb;
  void *log_ctx;
  pthread_key_t db_key;
  char *cert, *key;
  asr_rp_conf rules; /* of the status pages */
  budget *memory;    /* bodies and their decoding, all requests together */
  connguard *guard;  /* request deadlines */
  pagepool *pages;   /* everything that is not the agents' protocol */
  bool no_portal;    /* --no-portal: /v1/ only */
  portal_conf portal;
  char *css;                                           /* the stylesheet, made once */
  char proxies[CENTRAL_PROXIES_MAX][INET6_ADDRSTRLEN]; /* trusted reverse proxies */
  size_t n_proxies;
  bool tls;
  char *base_url; /* of the links mailed */
};

typedef enum { R_ENROLL, R_BATCH, R_CONFIG, R_FORM, R_PAGE, R_DONE } req_kind;

/* What the portal is told of a request: copied from the connection by MHD's thread before
 * the page pool's thread answers it (bounded; a longer value counts as absent). */
typedef struct {
  char cookie[4096], authorization[256], origin[256], fetch_site[32], content_type[128];
  char host[256], client[INET6_ADDRSTRLEN], query[2048];
  bool has_cookie, has_authorization, has_origin, has_fetch_site, has_content_type, has_host;
} page_headers_copy;

/* One request in progress. */
typedef struct {
  req_kind kind;
  char method[16], path[96];
  const char *allow; /* the Allow header of a 405 (NULL: POST) */
  asr_buf body;      /* the body, bounded by limit */
  size_t limit, dropped;
  size_t reserved; /* bytes of the memory budget held for the body */
  int drop_status; /* 413 or 503: the body is read and dropped, then this answered */
  int64_t start_ms;
  ingest_answer ans;
  cstore_agent agent;
  cg_conn *guard;
  /* a page, rendered by the page pool while the connection is suspended */
  central_server *sv;
  struct MHD_Connection *conn;
  char *url;
  page_headers_copy *hdr;
  portal_resp page;
} request;

void central_server_opts_init(central_server_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->threads = 4;
  o->page_threads = 2;
  o->page_queue = 16;
  o->max_connections = 512;
  o->per_ip_connections = 32;
  o->timeout = 60;
  o->header_timeout = 10;
  o->request_timeout = 120;
  o->memory_budget = CENTRAL_MEMORY_BUDGET;
}

/* ---------------------------------------------------------------------------------------
 * TLS: the GnuTLS priority strings (MHD_OPTION_HTTPS_PRIORITIES). TLS 1.2 keeps the
 * ECDHE and DHE key exchanges (forward secrecy) with AEAD ciphers only; TLS 1.3 has
 * nothing else. Static RSA key exchange, CBC suites, SHA-1 MACs, TLS 1.0/1.1 and SSL 3
 * are refused. */

static const char PRIO_TLS12[] =
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:"
    "-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE";
static const char PRIO_TLS13[] = "SECURE128:-VERS-ALL:+VERS-TLS1.3:%SERVER_PRECEDENCE";

const char *central_tls_priorities(const char *min_version)
{
  if (!min_version || strcmp(min_version, "1.2") == 0)
    return PRIO_TLS12;
  if (strcmp(min_version, "1.3") == 0)
    return PRIO_TLS13;
  return NULL;
}

/* ---------------------------------------------------------------------------------------
 * The listen address. */

static asr_result parse_port(const char *s, uint16_t *port)
{
  unsigned p = 0;

  if (asr_parse_uint(s, 0, 65535, &p) != ASR_OK)
    return ASR_ERR_INVALID;
  *port = (uint16_t)p;
  return ASR_OK;
}

asr_result central_parse_listen(const char *s, void *out, size_t *outlen, int *loopback)
{
  char host[64];
  const char *colon = strrchr(s, ':');
  size_t hl = colon ? (size_t)(colon - s) : 0;
  uint16_t port = 0;

  if (!colon || hl < 2 || hl >= sizeof(host) || parse_port(colon + 1, &port))
    return ASR_ERR_INVALID;
  memcpy(host, s, hl);
  host[hl] = '\0';
  if (host[0] == '[' && host[hl - 1] == ']') {
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    host[hl - 1] = '\0';
    if (*outlen < sizeof(a6) || inet_pton(AF_INET6, host + 1, &a6.sin6_addr) != 1)
      return ASR_ERR_INVALID;
    *loopback = IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr);
    memcpy(out, &a6, sizeof(a6));
    *outlen = sizeof(a6);
    return ASR_OK;
  }
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (*outlen < sizeof(a4) || inet_pton(AF_INET, host, &a4.sin_addr) != 1)
    return ASR_ERR_INVALID;
  *loopback = (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
  memcpy(out, &a4, sizeof(a4));
  *outlen = sizeof(a4);
  return ASR_OK;
}

/* ---------------------------------------------------------------------------------------
 * Database handles, one per worker thread. */

static void close_db(void *p)
{
  cstore_close(p);
}

/* The calling thread's database handle, opened on first use (NULL on failure). */
static cstore *thread_db(central_server *sv)
{
  char err[256];
  cstore *st = pthread_getspecific(sv->db_key);

  if (st)
    return st;
  if (cstore_open(sv->db_path, &st, err, sizeof(err)) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "%s", err);
    return NULL;
  }
  if (pthread_setspecific(sv->db_key, st) != 0) {
    cstore_close(st);
    return NULL;
  }
  return st;
}

/* ---------------------------------------------------------------------------------------
 * Answers. */

static enum MHD_Result send_answer(struct MHD_Connection *c, request *rq)
{
  const char *body = rq->ans.body ? rq->ans.body : "{\"error\":\"internal error\"}";
  struct MHD_Response *resp;
  enum MHD_Result ret;
  char ra[16];

  resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!resp)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  if (rq->ans.status == 405)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow ? rq->allow : "POST");
  if (rq->ans.retry_after > 0 && asr_fmt(ra, sizeof(ra), "%d", rq->ans.retry_after) == ASR_OK)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
  ret = MHD_queue_response(c, (unsigned)rq->ans.status, resp);
  MHD_destroy_response(resp);
  rq->kind = R_DONE;
  return ret;
}

/* A fixed error answer. */
static enum MHD_Result send_error(struct MHD_Connection *c, request *rq, int status,
                                  const char *json)
{
  free(rq->ans.body);
  rq->ans.body = strdup(json);
  rq->ans.status = status;
  return send_answer(c, rq);
}

/* A 503 with Retry-After: what the request needs is in use by others right now. */
static enum MHD_Result send_busy(struct MHD_Connection *c, request *rq, const char *json)
{
  rq->ans.retry_after = 5;
  return send_error(c, rq, 503, json);
}

/* ---------------------------------------------------------------------------------------
 * Requests. */

static const char *header(struct MHD_Connection *c, const char *name)
{
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Content-Length, or -1 when absent or not a number. */
static int64_t content_length(struct MHD_Connection *c)
{
  const char *v = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
  int64_t n = -1;

  if (!v || asr_parse_i64(v, 0, INT64_MAX, &n) != ASR_OK)
    return -1;
  return n;
}

/* Copies s into dst, bounded, with every byte outside printable ASCII as '?'. */
static void printable(char *dst, size_t n, const char *s)
{
  size_t i = 0;

  for (; s && s[i] && i + 1 < n; i++)
    dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  dst[i] = '\0';
}

static void fill_request(struct MHD_Connection *c, central_server *sv, const request *rq,
                         ingest_request *ir)
{
  memset(ir, 0, sizeof(*ir));
  ir->method = "POST";
  ir->path = "/v1/batches";
  ir->agent = header(c, "X-ASR-Agent");
  ir->timestamp = header(c, "X-ASR-Timestamp");
  ir->signature = header(c, "X-ASR-Signature");
  ir->content_encoding = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
  ir->body = (const uint8_t *)rq->body.p;
  ir->body_len = rq->body.len;
  ir->max_body = sv->max_body;
  ir->max_memory = sv->batch_memory;
  ir->memory = sv->memory;
}

/* Reserves the body's bytes in the memory budget: the announced length, or the whole
 * limit when the client announced none (chunked). */
static bool reserve_body(central_server *sv, request *rq, int64_t cl)
{
  size_t n = cl >= 0 && cl <= (int64_t)rq->limit ? (size_t)cl : rq->limit;

  if (!budget_take(sv->memory, n))
    return false;
  rq->reserved = n;
  return true;
}

/* The checks of a batch before its body. A body announced over the limit, or one the
 * memory budget has no room for, is refused at once when the client waits for "100
 * Continue" (it never sends it) or when it is far over; otherwise it is read and
 * dropped (never buffered) and 413 or 503 answered at its end, so that a client that
 * sends its body before reading the answer gets the answer instead of a reset. */
static enum MHD_Result batch_headers(central_server *sv, struct MHD_Connection *c, request *rq,
                                     cstore *st, const ingest_request *ir)
{
  const char *expect = header(c, MHD_HTTP_HEADER_EXPECT);
  bool waits = expect && strcasecmp(expect, "100-continue") == 0;
  int64_t cl = content_length(c);
  bool over = cl > (int64_t)rq->limit;
  bool now = over && (waits || cl - (int64_t)rq->limit > (int64_t)DISCARD_MAX);

  if (ingest_check_headers(st, ir, now ? cl : -1, ingest_now(), &rq->agent, &rq->ans))
    return send_answer(c, rq);
  if (over) {
    rq->drop_status = 413;
    return MHD_YES;
  }
  if (reserve_body(sv, rq, cl))
    return MHD_YES;
  if (waits)
    return send_busy(c, rq, BUSY_BODY);
  rq->drop_status = 503;
  return MHD_YES;
}

/* ---------------------------------------------------------------------------------------
 * The portal (central/portal.h): everything that is not the agents' protocol. */

/* The address of a connection's peer as text ("" when unknown). */
static void peer_address(struct MHD_Connection *c, char *out, size_t n)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;

  out[0] = '\0';
  if (sa && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)n);
  else if (sa && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)n);
}

static bool trusted_proxy(const central_server *sv, const char *addr)
{
  for (size_t i = 0; i < sv->n_proxies; i++)
    if (strcmp(sv->proxies[i], addr) == 0)
      return true;
  return false;
}

/* Normalizes an address (v4 or v6) into out; false when s is not one. */
static bool address_text(const char *s, char *out, size_t n)
{
  unsigned char a[sizeof(struct in6_addr)];

  if (inet_pton(AF_INET, s, a) == 1)
    return inet_ntop(AF_INET, a, out, (socklen_t)n) != NULL;
  if (inet_pton(AF_INET6, s, a) == 1)
    return inet_ntop(AF_INET6, a, out, (socklen_t)n) != NULL;
  return false;
}

/* The client: the peer, or when the peer is a trusted proxy, the last address of
 * X-Forwarded-For that is not a trusted proxy itself (the ones left of it could be forged
 * by the client). */
static void client_address(central_server *sv, struct MHD_Connection *c, char *out, size_t n)
{
  const char *xff = header(c, "X-Forwarded-For");
  char item[INET6_ADDRSTRLEN + 8], norm[INET6_ADDRSTRLEN];
  size_t end;

  peer_address(c, out, n);
  if (!xff || !trusted_proxy(sv, out))
    return;
  end = strlen(xff);
  while (end > 0) {
    size_t start = end;
    while (start > 0 && xff[start - 1] != ',')
      start--;
    size_t a = start, b = end;
    while (a < b && xff[a] == ' ')
      a++;
    while (b > a && xff[b - 1] == ' ')
      b--;
    if (b - a >= sizeof(item) || b == a)
      return; /* not an address: the proxy's peer stands */
    memcpy(item, xff + a, b - a);
    item[b - a] = '\0';
    if (!address_text(item, norm, sizeof(norm)))
      return;
    if (!trusted_proxy(sv, norm)) {
      if (asr_strlcpy(out, norm, n)) /* n is INET6_ADDRSTRLEN: it fits */
        peer_address(c, out, n);
      return;
    }
    end = start ? start - 1 : 0;
  }
}

/* Copies header name into out (size n): false when absent or longer. */
static bool copy_header(struct MHD_Connection *c, const char *name, char *out, size_t n)
{
  const char *v = header(c, name);

  return v && asr_strlcpy(out, v, n) == ASR_OK;
}

typedef struct {
  char *out;
  size_t n, len;
  bool over;
} query_ctx;

/* Rebuilds the query string from MHD's arguments (left as sent: unescape_none). */
static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
  query_ctx *q = cls;

  (void)kind;
  if (asr_append(q->out, q->n, &q->len, "%s%s%s%s", q->len ? "&" : "", key, value ? "=" : "",
                 value ? value : ""))
    q->over = true;
  return q->over ? MHD_NO : MHD_YES;
}

static bool copy_headers(central_server *sv, struct MHD_Connection *c, page_headers_copy *h)
{
  query_ctx q = {h->query, sizeof(h->query), 0, false};

  h->has_cookie = copy_header(c, MHD_HTTP_HEADER_COOKIE, h->cookie, sizeof(h->cookie));
  h->has_authorization =
      copy_header(c, MHD_HTTP_HEADER_AUTHORIZATION, h->authorization, sizeof(h->authorization));
  h->has_origin = copy_header(c, "Origin", h->origin, sizeof(h->origin));
  h->has_fetch_site = copy_header(c, "Sec-Fetch-Site", h->fetch_site, sizeof(h->fetch_site));
  h->has_content_type =
      copy_header(c, MHD_HTTP_HEADER_CONTENT_TYPE, h->content_type, sizeof(h->content_type));
  h->has_host = copy_header(c, MHD_HTTP_HEADER_HOST, h->host, sizeof(h->host));
  client_address(sv, c, h->client, sizeof(h->client));
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
  return !q.over;
}

/* Any request that is not the agents' protocol (on a pool thread). */
static void page_request(central_server *sv, request *rq)
{
  const page_headers_copy *h = rq->hdr;
  const char *ct = h->has_content_type ? h->content_type : NULL;
  bool form = ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
  portal_req q = {.method = rq->method,
                  .path = rq->url,
                  .query = h->query,
                  .cookie = h->has_cookie ? h->cookie : NULL,
                  .authorization = h->has_authorization ? h->authorization : NULL,
                  .origin = h->has_origin ? h->origin : NULL,
                  .fetch_site = h->has_fetch_site ? h->fetch_site : NULL,
                  .content_type = ct,
                  .host = h->has_host ? h->host : NULL,
                  .client = h->client,
                  .body = form ? rq->body.p : NULL,
                  .body_len = form ? rq->body.len : 0};

  portal_handle(&sv->portal, thread_db(sv), &q, &rq->page);
}

/* The page pool's job: render, then let MHD carry on with the connection. */
static void page_run(void *arg)
{
  request *rq = arg;
  central_server *sv = rq->sv;
  portal_after *after;
  size_t len;

  page_request(sv, rq);
  after = rq->page.after; /* done once the answer is on its way (rq may be gone by then) */
  rq->page.after = NULL;
  /* the rendered page waits for its reader (maybe a slow one): it holds memory of the
   * budget until the request ends (on_completed gives it back) */
  len = rq->page.body ? strlen(rq->page.body) : 0;
  if (budget_take(rq->sv->memory, len))
    rq->reserved = len;
  else
    portal_fail(&rq->page, rq->page.json, 503, "Busy", "the server's memory is in use, try again");
  MHD_resume_connection(rq->conn);
  portal_after_run(&sv->portal, thread_db(sv), after);
}

/* The pool stopped before rendering it. */
static void page_cancel(void *arg)
{
  request *rq = arg;

  portal_fail(&rq->page, rq->page.json, 503, "Unavailable", "the server is stopping");
  MHD_resume_connection(rq->conn);
}

/* Hands a request to the page pool and suspends its connection until the page is ready;
 * a full queue is answered 503 at once. */
static enum MHD_Result page_submit(central_server *sv, struct MHD_Connection *c, request *rq,
                                   const char *url)
{
  rq->kind = R_PAGE;
  rq->sv = sv;
  rq->conn = c;
  if (!rq->url)
    rq->url = strdup(url);
  if (!rq->hdr)
    rq->hdr = calloc(1, sizeof(*rq->hdr));
  if (!rq->url || !rq->hdr)
    return MHD_NO;
  rq->page.json = strncmp(url, "/api/", 5) == 0;
  if (!copy_headers(sv, c, rq->hdr)) {
    portal_fail(&rq->page, rq->page.json, 414, "Too long", "the query is too long");
    return MHD_YES; /* answered by send_page at the next call */
  }
  connguard_phase(sv->guard, rq->guard, CG_ANSWERING);
  MHD_suspend_connection(c);
  if (!pagepool_submit(sv->pages, page_run, page_cancel, rq)) {
    portal_fail(&rq->page, rq->page.json, 503, "Busy",
                "too many pages asked for at once, try again");
    MHD_resume_connection(c);
  }
  return MHD_YES;
}

/* The headers of every page: no caching, no sniffing, nothing loaded from elsewhere, no
 * script at all, styles from our own stylesheet only, forms posted to us only. */
static void page_headers(struct MHD_Response *resp, const portal_resp *a, bool tls)
{
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          a->type   ? a->type
                          : a->json ? "application/json"
                                    : "text/html; charset=utf-8");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "same-origin"); /* keeps forms' Origin */
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header(resp, "Content-Security-Policy",
                          "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  if (tls)
    MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
  for (size_t i = 0; i < a->n_cookies; i++)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, a->cookies[i]);
  if (a->location[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, a->location);
  if (a->allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
  if (a->status == 503 || a->status == 429)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, a->status == 503 ? "5" : "60");
}

/* The page is rendered: queue it (libmicrohttpd leaves out the body of a HEAD answer). */
static enum MHD_Result send_page(struct MHD_Connection *c, request *rq)
{
  portal_resp *a = &rq->page;
  struct MHD_Response *resp;
  enum MHD_Result ret;

  if (!a->body)
    return send_error(c, rq, 500, "{\"error\":\"internal error\"}");
  resp = MHD_create_response_from_buffer(strlen(a->body), a->body, MHD_RESPMEM_MUST_FREE);
  if (!resp)
    return MHD_NO;
  a->body = NULL; /* the response's now */
  page_headers(resp, a, rq->sv->tls);
  ret = MHD_queue_response(c, (unsigned)a->status, resp);
  MHD_destroy_response(resp);
  rq->ans.status = a->status;
  rq->kind = R_DONE;
  return ret;
}

/* The start of a request that is not the agents': a form's body is read first (bounded),
 * anything else goes to the page pool at once. */
static enum MHD_Result page_headers_in(central_server *sv, struct MHD_Connection *c, request *rq,
                                       const char *url, const char *method)
{
  rq->sv = sv;
  if (sv->no_portal)
    return send_error(c, rq, 404,
                      "{\"error\":\"no such path: this node serves the agents' protocol only\"}");
  if (strcmp(method, "POST") != 0)
    return page_submit(sv, c, rq, url);
  rq->kind = R_FORM;
  rq->limit = PORTAL_FORM_MAX;
  rq->url = strdup(url);
  if (!rq->url)
    return MHD_NO;
  if (content_length(c) > (int64_t)rq->limit)
    return send_error(c, rq, 413, "{\"error\":\"body: too large for a form\"}");
  return MHD_YES;
}

/* First call: route, and check what can be checked before the body. */
static enum MHD_Result on_headers(central_server *sv, struct MHD_Connection *c, request *rq,
                                  const char *url, const char *method)
{
  ingest_request ir;
  cstore *st;
  bool post = strcmp(method, "POST") == 0;

  if (strncmp(url, "/v1/", 4) != 0)
    return page_headers_in(sv, c, rq, url, method);
  if (strcmp(url, "/v1/enroll") != 0 && strcmp(url, "/v1/batches") != 0 &&
      strcmp(url, CSITECONF_PATH) != 0)
    return send_error(c, rq, 404, "{\"error\":\"no such path\"}");
  if (!post)
    return send_error(c, rq, 405, "{\"error\":\"method not allowed: use POST\"}");
  if (strcmp(url, "/v1/enroll") == 0) {
    rq->kind = R_ENROLL;
    rq->limit = INGEST_MAX_ENROLL;
    if (content_length(c) > (int64_t)rq->limit)
      return send_error(c, rq, 413, "{\"error\":\"body: too large for an enrolment\"}");
    return MHD_YES;
  }
  rq->kind = strcmp(url, CSITECONF_PATH) == 0 ? R_CONFIG : R_BATCH;
  fill_request(c, sv, rq, &ir);
  rq->limit = rq->kind == R_CONFIG ? CSITECONF_MAX_BODY : ingest_body_limit(&ir);
  st = thread_db(sv);
  if (!st)
    return send_error(c, rq, 503, "{\"error\":\"database unavailable\"}");
  return batch_headers(sv, c, rq, st, &ir);
}

/* A piece of body: kept while within the limit, dropped past it. */
static enum MHD_Result on_body(request *rq, const char *data, size_t n)
{
  if (rq->kind == R_DONE)
    return MHD_YES;
  if (rq->drop_status || n > rq->limit - rq->body.len) {
    if (!rq->drop_status)
      rq->drop_status = 413;
    rq->dropped += n;
    asr_buf_free(&rq->body);
    return rq->dropped > rq->limit + DISCARD_MAX ? MHD_NO : MHD_YES;
  }
  rq->body.max = rq->limit;
  asr_buf_add(&rq->body, data, n);
  return rq->body.err ? MHD_NO : MHD_YES;
}

/* The whole body is there: ingest it and answer. */
static enum MHD_Result on_complete(central_server *sv, struct MHD_Connection *c, request *rq)
{
  ingest_request ir;
  cstore *st;

  if (rq->kind == R_DONE)
    return MHD_YES;
  connguard_phase(sv->guard, rq->guard, CG_ANSWERING);
  if (rq->kind == R_FORM && rq->drop_status == 413)
    return send_error(c, rq, 413, "{\"error\":\"body: too large for a form\"}");
  if (rq->kind == R_FORM) /* the body is NUL-terminated: asr_buf keeps a NUL after it */
    return page_submit(sv, c, rq, rq->url);
  if (rq->drop_status == 413)
    return send_error(c, rq, 413, "{\"error\":\"body: more than the compressed size limit\"}");
  if (rq->drop_status == 503)
    return send_busy(c, rq, BUSY_BODY);
  st = thread_db(sv);
  if (!st)
    return send_error(c, rq, 503, "{\"error\":\"database unavailable\"}");
  if (rq->kind == R_ENROLL) {
    ingest_enroll(st, (const uint8_t *)(rq->body.p ? rq->body.p : ""), rq->body.len, ingest_now(),
                  &rq->ans);
    return send_answer(c, rq);
  }
  fill_request(c, sv, rq, &ir);
  if (rq->kind == R_CONFIG) { /* the remote configuration's check-in */
    ir.path = CSITECONF_PATH;
    csiteconf_checkin(st, sv->db_path, &rq->agent, &ir, ingest_now(), &rq->ans);
    return send_answer(c, rq);
  }
  ingest_batch_body(st, &rq->agent, &ir, ingest_now(), &rq->ans);
  return send_answer(c, rq);
}

/* The deadline record of a connection (connguard.h), set when it started. */
static cg_conn *conn_guard(struct MHD_Connection *c)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

  return ci ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  central_server *sv = cls;
  request *rq = *con_cls;

  (void)version;
  if (!rq) {
    rq = calloc(1, sizeof(*rq));
    if (!rq)
      return MHD_NO;
    *con_cls = rq;
    rq->start_ms = asr_monotonic_ms();
    rq->guard = conn_guard(c);
    connguard_phase(sv->guard, rq->guard, CG_BODY);
    printable(rq->method, sizeof(rq->method), method);
    printable(rq->path, sizeof(rq->path), url);
    return on_headers(sv, c, rq, url, method);
  }
  if (rq->kind == R_PAGE || rq->kind == R_DONE) {
    *upload_data_size = 0; /* a body sent with a page request is ignored */
    return rq->kind == R_PAGE ? send_page(c, rq) : MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return on_body(rq, upload_data, n);
  }
  return on_complete(sv, c, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  central_server *sv = cls;
  request *rq = *con_cls;

  (void)toe;
  if (!rq)
    return;
  if (sv->log_cb) {
    central_request_log l = {rq->method,       rq->path,         rq->ans.status,
                             rq->ans.agent_id, rq->ans.batch_id, asr_monotonic_ms() - rq->start_ms};
    sv->log_cb(&l, sv->log_ctx);
  }
  budget_give(sv->memory, rq->reserved);
  connguard_phase(sv->guard, conn_guard(c), CG_HEADERS); /* the next request's clock */
  ingest_answer_free(&rq->ans);
  memset(&rq->agent, 0, sizeof(rq->agent));
  asr_buf_free(&rq->body);
  free(rq->url);
  free(rq->hdr);
  portal_resp_free(&rq->page);
  free(rq);
  *con_cls = NULL;
}

/* A connection starts or ends: its deadlines (connguard.h). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  central_server *sv = cls;
  const union MHD_ConnectionInfo *ci;

  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = ci ? connguard_open(sv->guard, ci->connect_fd) : NULL;
    return;
  }
  connguard_close(sv->guard, *socket_context);
  *socket_context = NULL;
}

/* libmicrohttpd's own messages, into our log (its format strings are its own). */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
  char msg[512];
  size_t n;

  (void)cls;
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    return;
  n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  asr_log(ASR_LOG_INFO, "http: %s", msg);
}

/* Leaves the path as sent (no %-decoding: the page routes decode their own segment). */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
  (void)cls;
  (void)c;
  return strlen(s);
}

/* ---------------------------------------------------------------------------------------
 * Starting and stopping. */

/* Reads a PEM file (at most PEM_MAX bytes) into a new NUL-terminated buffer. */
static asr_result read_pem(const char *path, char **out, char *err, size_t n)
{
  FILE *f = fopen(path, "rb");
  char *buf = malloc(PEM_MAX + 1);
  size_t len = 0;
  asr_result r = ASR_ERR_IO;

  if (!f || !buf) {
    asr_fmt_cut(err, n, "%s: cannot read", path);
    goto out;
  }
  len = fread(buf, 1, PEM_MAX + 1, f);
  if (len == 0 || len > PEM_MAX || ferror(f)) {
    asr_fmt_cut(err, n, "%s: empty, unreadable or larger than %u bytes", path, PEM_MAX);
    goto out;
  }
  buf[len] = '\0';
  *out = buf;
  buf = NULL;
  r = ASR_OK;
out:
  if (f)
    fclose(f);
  free(buf);
  return r;
}

static asr_result load_tls(central_server *sv, const central_server_opts *o, char *err, size_t n)
{
  asr_result r;

  if (!o->tls_cert && !o->tls_key)
    return ASR_OK;
  if (!o->tls_cert || !o->tls_key) {
    asr_strlcpy_cut(err, "--tls-cert and --tls-key go together", n);
    return ASR_ERR_USAGE;
  }
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    asr_strlcpy_cut(err, "this libmicrohttpd was built without TLS", n);
    return ASR_ERR_INVALID;
  }
  r = read_pem(o->tls_cert, &sv->cert, err, n);
  if (!r)
    r = read_pem(o->tls_key, &sv->key, err, n);
  return r;
}

static asr_result start_mhd(central_server *sv, const central_server_opts *o,
                            const struct sockaddr *sa, char *err, size_t n)
{
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  const char *prio =
      o->tls_priorities ? o->tls_priorities : central_tls_priorities(o->tls_min_version);
  struct MHD_OptionItem opts[] = {
      {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL}, /* first: catches all */
      {MHD_OPTION_SOCK_ADDR, 0, (void *)sa},
      {MHD_OPTION_THREAD_POOL_SIZE, o->threads ? o->threads : 4, NULL},
      {MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections, NULL},
      {MHD_OPTION_CONNECTION_TIMEOUT, o->timeout, NULL},
      {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, sv},
      {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, sv},
      {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_none, NULL},
      {MHD_OPTION_END, 0, NULL}, /* the certificate, with TLS */
      {MHD_OPTION_END, 0, NULL}, /* the key, with TLS */
      {MHD_OPTION_END, 0, NULL}, /* the priorities, with TLS */
      {MHD_OPTION_END, 0, NULL},
  };

  if (sa->sa_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (sv->cert) {
    flags |= MHD_USE_TLS;
    opts[9] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, sv->cert};
    opts[10] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, sv->key};
    opts[11] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)prio};
  }
  sv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, sv, MHD_OPTION_ARRAY, opts,
                             MHD_OPTION_END);
  if (!sv->mhd) {
    asr_fmt_cut(err, n, "cannot listen on %s (address in use, not local, bad certificate%s)",
                o->listen,
                o->tls_priorities ? ", or --tls-priorities not a GnuTLS priority string" : "");
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

/* The memory budget, the request deadlines and the page pool, before MHD starts. */
static asr_result start_limits(central_server *sv, const central_server_opts *o, char *err,
                               size_t n)
{
  size_t total =
      o->memory_budget > INGEST_MAX_COMPRESSED ? o->memory_budget : CENTRAL_MEMORY_BUDGET;
  asr_result r = ASR_ERR_NOMEM;

  if (!central_tls_priorities(o->tls_min_version)) {
    asr_fmt_cut(err, n, "--tls-min-version: '%s' is not 1.2 or 1.3", o->tls_min_version);
    return ASR_ERR_USAGE;
  }
  /* one batch alone (its body, then its decoding) always fits in the budget */
  sv->batch_memory = o->batch_memory ? o->batch_memory : INGEST_BATCH_MEMORY;
  if (sv->batch_memory > total - INGEST_MAX_COMPRESSED)
    sv->batch_memory = total - INGEST_MAX_COMPRESSED;
  sv->memory = budget_new(total);
  if (sv->memory)
    r = connguard_start(o->header_timeout ? o->header_timeout : 10,
                        o->request_timeout ? o->request_timeout : 120, &sv->guard);
  if (!r)
    r = pagepool_start(o->page_threads, o->page_queue, &sv->pages);
  if (r)
    asr_strlcpy_cut(err, "out of memory", n);
  ingest_init();
  return r;
}

/* The portal's settings: its base URL (given, or made from --listen), the trusted proxies,
 * the stylesheet. */
static asr_result start_portal(central_server *sv, const central_server_opts *o,
                               const struct sockaddr_storage *ss, char *err, size_t n)
{
  char host[INET6_ADDRSTRLEN];
  uint16_t port = 0;

  portal_conf_init(&sv->portal);
  sv->portal.rules = &sv->rules;
  sv->portal.helpdesk = o->helpdesk;
  sv->portal.mail_from = o->mail_from;
  sv->portal.mail_kick = o->mail_kick;
  sv->portal.kick_ctx = o->kick_ctx;
  for (size_t i = 0; i < CENTRAL_PROXIES_MAX && o->trusted_proxies[i]; i++) {
    if (!address_text(o->trusted_proxies[i], sv->proxies[i], sizeof(sv->proxies[i]))) {
      if (asr_fmt(err, n, "--trusted-proxy: '%s' is not an IPv4 or IPv6 address",
                  o->trusted_proxies[i]) != ASR_OK)
        return ASR_ERR_USAGE; /* cut short: what fits says it */
      return ASR_ERR_USAGE;
    }
    sv->n_proxies++;
  }
  if (o->portal_url) {
    sv->base_url = strdup(o->portal_url);
  } else {
    if (ss->ss_family == AF_INET6) {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ss;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
      port = ntohs(a->sin6_port);
    } else {
      const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ss;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
      port = ntohs(a->sin_port);
    }
    char url[INET6_ADDRSTRLEN + 32];
    if (asr_fmt(url, sizeof(url), "%s://%s%s%s:%u", o->tls_cert ? "https" : "http",
                ss->ss_family == AF_INET6 ? "[" : "", host, ss->ss_family == AF_INET6 ? "]" : "",
                (unsigned)port) == ASR_OK)
      sv->base_url = strdup(url);
  }
  sv->portal.base_url = sv->base_url;
  if (!sv->base_url || page_stylesheet(&sv->css) != ASR_OK) {
    if (asr_strlcpy(err, "out of memory", n) != ASR_OK)
      return ASR_ERR_NOMEM; /* cut short: what fits says it */
    return ASR_ERR_NOMEM;
  }
  sv->portal.css = sv->css;
  return ASR_OK;
}

asr_result central_server_start(const central_server_opts *o, central_server **out, char *err,
                                size_t n)
{
  struct sockaddr_storage ss;
  size_t sslen = sizeof(ss);
  int loopback = 0;
  central_server *sv = calloc(1, sizeof(*sv));
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (!sv || !(sv->db_path = strdup(o->db_path)) || pthread_key_create(&sv->db_key, close_db)) {
    asr_strlcpy_cut(err, "out of memory", n);
    free(sv ? sv->db_path : NULL);
    free(sv);
    return r;
  }
  sv->max_body = o->max_body;
  if (o->rules)
    sv->rules = *o->rules;
  else
    asr_rp_conf_default(&sv->rules);
  sv->log_cb = o->log_cb;
  sv->log_ctx = o->log_ctx;
  sv->no_portal = o->no_portal;
  sv->tls = o->tls_cert != NULL;
  r = central_parse_listen(o->listen, &ss, &sslen, &loopback);
  if (r)
    asr_fmt_cut(err, n, "--listen: '%s' is not ADDR:PORT", o->listen);
  if (!r)
    r = start_limits(sv, o, err, n);
  if (!r)
    r = start_portal(sv, o, &ss, err, n);
  if (!r)
    r = load_tls(sv, o, err, n);
  if (!r)
    r = start_mhd(sv, o, (const struct sockaddr *)&ss, err, n);
  if (r) {
    central_server_stop(sv);
    return r;
  }
  *out = sv;
  return ASR_OK;
}

uint16_t central_server_port(central_server *s)
{
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);

  return info ? info->port : 0;
}

void central_server_stop(central_server *s)
{
  if (!s)
    return;
  pagepool_stop(s->pages); /* first: every suspended connection is resumed */
  if (s->mhd)
    MHD_stop_daemon(s->mhd);
  connguard_stop(s->guard);
  budget_free(s->memory);
  pthread_key_delete(s->db_key);
  free(s->cert);
  if (s->key) {
    asr_secret_wipe(s->key, strlen(s->key));
    free(s->key);
  }
  free(s->db_path);
  free(s->css);
  free(s->base_url);
  free(s);
}
