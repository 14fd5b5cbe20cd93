/* server.h: the HTTP(S) endpoint of asr-central on libmicrohttpd (the only code that
 * includes microhttpd.h). Routes POST /v1/enroll and POST /v1/batches to central/ingest.c,
 * and every other path to the supplies portal (central/portal.h: sign-in, the status
 * pages, /api/..., the customers' requests), which decides who may see what; with
 * --no-portal only /v1/... is served (404 for anything else).
 *
 * What one client or one request may take is bounded: connections in all and from one
 * address, a deadline for a request's headers and for the whole request (central/
 * connguard.h), the memory of bodies and of their decoding (central/budget.h: 503 with
 * Retry-After when all of it is in use). The agents' protocol (/v1/...) runs on a pool of
 * worker threads of its own; everything else (the pages) on a separate bounded pool
 * (central/pagepool.h), so that no number of page requests can starve the uploads.
 * HTTPS when given a certificate and key (TLS inside libmicrohttpd, GnuTLS): TLS 1.2 and
 * 1.3, forward-secret AEAD suites only, unless told otherwise. */
#ifndef ASR_SERVER_H
#define ASR_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "replenish/rules.h"

/* One finished request, for the request log (never holds secrets). */
typedef struct {
  const char *method, *path; /* path bounded and made printable */
  int status;                /* 0 when the connection ended without an answer */
  const char *agent_id;      /* "" when unknown */
  const char *batch_id;      /* "" when none */
  int64_t ms;                /* from the request's headers to its end */
} central_request_log;

typedef void (*central_log_cb)(const central_request_log *l, void *ctx);

#define CENTRAL_PROXIES_MAX 8 /* --trusted-proxy addresses */

typedef struct {
  const char *listen;             /* "ADDR:PORT" or "[ADDR6]:PORT"; port 0 = any */
  const char *db_path;            /* the database (opened once per worker thread) */
  const char *tls_cert, *tls_key; /* PEM files; both or neither */
  const char *tls_min_version;    /* "1.2" (default) or "1.3" */
  const char *tls_priorities;     /* a GnuTLS priority string replacing the default one */
  unsigned threads;               /* worker threads of the agents' protocol (default 4) */
  unsigned page_threads;          /* threads rendering everything else (default 2) */
  unsigned page_queue;            /* pages waiting for one at most (default 16; 503 beyond) */
  unsigned max_connections;       /* default 512 */
  unsigned per_ip_connections;    /* connections from one address at most (default 32) */
  unsigned timeout;               /* seconds of inactivity before a connection closes (60) */
  unsigned header_timeout;        /* seconds to receive a request's headers (10) */
  unsigned request_timeout;       /* seconds to receive a whole request (120) */
  size_t max_body;                /* compressed batch limit, 0 = 8 MiB */
  size_t batch_memory;            /* decoding one batch at most, 0 = INGEST_BATCH_MEMORY */
  size_t memory_budget;           /* all batches in flight at most (default 1 GiB) */
  const asr_rp_conf *rules;       /* the rules of the status pages (copied; NULL: defaults) */
  central_log_cb log_cb;          /* called once per request (may be NULL) */
  void *log_ctx;
  bool no_portal;                                   /* serve the agents' protocol only */
  const char *trusted_proxies[CENTRAL_PROXIES_MAX]; /* reverse proxies whose X-Forwarded-For
                                                       is believed (addresses), NULL-ended */
  const char *portal_url;       /* the portal's public base URL (links mailed); NULL: derived */
  const char *helpdesk;         /* the staff's address for new requests, NULL: none */
  const char *mail_from;        /* From: of the portal's mails, NULL: the engine's default */
  void (*mail_kick)(void *ctx); /* asks the outbox to be sent soon (may be NULL) */
  void *kick_ctx;
} central_server_opts;

#define CENTRAL_MEMORY_BUDGET ((size_t)1 << 30) /* default memory_budget */

/* The GnuTLS priority string serve uses for tls_min_version ("1.2" or "1.3"; NULL: 1.2),
 * or NULL for another value. Forward-secret AEAD suites only. */
const char *central_tls_priorities(const char *tls_min_version);

typedef struct central_server central_server;

/* Sets the defaults. */
void central_server_opts_init(central_server_opts *o);

/* Parses "ADDR:PORT" / "[ADDR6]:PORT" into a sockaddr (out, size *outlen in and out);
 * *loopback tells whether ADDR is 127.0.0.0/8 or ::1. ASR_ERR_INVALID when malformed. */
asr_result central_parse_listen(const char *s, void *out, size_t *outlen, int *loopback);

/* Starts serving in background threads. err receives the reason of a failure. */
asr_result central_server_start(const central_server_opts *o, central_server **out, char *err,
                                size_t n);

/* The port it listens on (useful with port 0). */
uint16_t central_server_port(central_server *s);

/* Stops serving (finishing the requests under way) and frees the server (NULL is fine). */
void central_server_stop(central_server *s);

#endif
