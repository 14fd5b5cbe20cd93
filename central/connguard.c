/* connguard.c: request deadlines for the server's connections (connguard.h).
 *
 * The connections are a doubly-linked list under one mutex; the watchdog walks it twice a
 * second. A connection is cut with shutdown(SHUT_RDWR) while the mutex is held: the server
 * calls connguard_close (which takes the mutex) before it closes the socket, so the
 * descriptor the watchdog shuts down is always the connection's own, never a reused one. */
#include "central/connguard.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"

#define WATCH_MS 500

struct cg_conn {
  cg_conn *prev, *next;
  int fd;
  cg_phase phase;
  int64_t since_ms; /* start of the current request (or of the wait for one) */
  bool cut;
};

struct connguard {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_t thread;
  bool stopping, started;
  int64_t header_ms, request_ms;
  cg_conn *head;
  uint64_t cut;
};

/* The deadline of c in its phase, 0 when none. */
static int64_t deadline_of(const connguard *g, const cg_conn *c)
{
  if (c->phase == CG_HEADERS)
    return c->since_ms + g->header_ms;
  if (c->phase == CG_BODY)
    return c->since_ms + g->request_ms;
  return 0;
}

/* Cuts every connection past its deadline (the mutex held). */
static void sweep(connguard *g, int64_t now)
{
  for (cg_conn *c = g->head; c; c = c->next) {
    int64_t d = deadline_of(g, c);
    if (c->cut || !d || now < d)
      continue;
    c->cut = true;
    g->cut++;
    asr_log(ASR_LOG_INFO, "http: a connection passed its %s deadline (%lld s): cut",
            c->phase == CG_HEADERS ? "header" : "request",
            (long long)((c->phase == CG_HEADERS ? g->header_ms : g->request_ms) / 1000));
    shutdown(c->fd, SHUT_RDWR);
  }
}

static void *watchdog(void *arg)
{
  connguard *g = arg;
  struct timespec ts;

  pthread_mutex_lock(&g->mu);
  while (!g->stopping) {
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += WATCH_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->wake, &g->mu, &ts);
    sweep(g, asr_monotonic_ms());
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

asr_result connguard_start(unsigned header_s, unsigned request_s, connguard **out)
{
  connguard *g = calloc(1, sizeof(*g));

  *out = NULL;
  if (!g)
    return ASR_ERR_NOMEM;
  g->header_ms = (int64_t)header_s * 1000;
  g->request_ms = (int64_t)request_s * 1000;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->wake, NULL);
  if (pthread_create(&g->thread, NULL, watchdog, g) != 0) {
    connguard_stop(g);
    return ASR_ERR_NOMEM;
  }
  g->started = true;
  *out = g;
  return ASR_OK;
}

void connguard_stop(connguard *g)
{
  if (!g)
    return;
  if (g->started) {
    pthread_mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
  }
  while (g->head) {
    cg_conn *c = g->head;
    g->head = c->next;
    free(c);
  }
  pthread_cond_destroy(&g->wake);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

cg_conn *connguard_open(connguard *g, int fd)
{
  cg_conn *c = calloc(1, sizeof(*c));

  if (!c)
    return NULL;
  c->fd = fd;
  c->phase = CG_HEADERS;
  c->since_ms = asr_monotonic_ms();
  pthread_mutex_lock(&g->mu);
  c->next = g->head;
  if (g->head)
    g->head->prev = c;
  g->head = c;
  pthread_mutex_unlock(&g->mu);
  return c;
}

void connguard_phase(connguard *g, cg_conn *c, cg_phase phase)
{
  if (!c)
    return;
  pthread_mutex_lock(&g->mu);
  if (phase == CG_HEADERS)
    c->since_ms = asr_monotonic_ms();
  c->phase = phase;
  pthread_mutex_unlock(&g->mu);
}

void connguard_close(connguard *g, cg_conn *c)
{
  if (!c)
    return;
  pthread_mutex_lock(&g->mu);
  if (c->prev)
    c->prev->next = c->next;
  else
    g->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  pthread_mutex_unlock(&g->mu);
  free(c);
}

uint64_t connguard_cut(connguard *g)
{
  uint64_t n;

  pthread_mutex_lock(&g->mu);
  n = g->cut;
  pthread_mutex_unlock(&g->mu);
  return n;
}
