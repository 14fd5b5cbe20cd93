/* connguard.h: deadlines for the connections of asr-central's HTTP server.
 *
 * libmicrohttpd's own timeout is an idle timeout: a client that sends one byte a second
 * keeps a connection forever (slowloris). The guard gives each request a total deadline
 * instead: from the connection's start (or the end of its previous request) the request's
 * headers must be in within header_s seconds, and its body within request_s; once the
 * whole request is in (it is being answered) no deadline applies. A watchdog thread cuts a
 * connection past its deadline with shutdown(2), which makes the server close it.
 *
 * The server reports each connection's life: connguard_open when it starts (the socket),
 * connguard_phase as its requests go, connguard_close before the socket is closed (the
 * guard never touches a socket it was told is closing). Thread-safe. */
#ifndef ASR_CONNGUARD_H
#define ASR_CONNGUARD_H

#include <stdint.h>

#include "common/result.h"

typedef struct connguard connguard;
typedef struct cg_conn cg_conn;

typedef enum {
  CG_HEADERS,   /* waiting for a request's headers (header deadline) */
  CG_BODY,      /* headers in, waiting for the body (request deadline) */
  CG_ANSWERING, /* the request is in: being answered, no deadline */
} cg_phase;

/* Starts a guard and its watchdog thread. */
asr_result connguard_start(unsigned header_s, unsigned request_s, connguard **out);

/* Stops the watchdog and frees the guard (NULL is fine); every connection must be closed. */
void connguard_stop(connguard *g);

/* A new connection on socket fd, in CG_HEADERS from now (NULL when out of memory). */
cg_conn *connguard_open(connguard *g, int fd);

/* Moves a connection to a phase; CG_HEADERS restarts its clock (the next request). */
void connguard_phase(connguard *g, cg_conn *c, cg_phase phase);

/* The connection is closing: forgets and frees it (NULL is fine). */
void connguard_close(connguard *g, cg_conn *c);

/* Connections cut so far for passing a deadline. */
uint64_t connguard_cut(connguard *g);

#endif
