/* pagepool.c: a fixed set of threads and a ring of waiting jobs (pagepool.h). */
#include "central/pagepool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
  pagepool_fn run, cancel;
  void *arg;
} job;

struct pagepool {
  pthread_mutex_t mu;
  pthread_cond_t work;
  pthread_t *threads;
  unsigned n_threads, started;
  job *ring;
  unsigned cap, head, len;
  bool stopping;
};

static void *worker(void *arg)
{
  pagepool *p = arg;

  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->len && !p->stopping)
      pthread_cond_wait(&p->work, &p->mu);
    if (p->stopping)
      break;
    job j = p->ring[p->head];
    p->head = (p->head + 1) % p->cap;
    p->len--;
    pthread_mutex_unlock(&p->mu);
    j.run(j.arg);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

asr_result pagepool_start(unsigned threads, unsigned queue, pagepool **out)
{
  pagepool *p = calloc(1, sizeof(*p));

  *out = NULL;
  if (!p)
    return ASR_ERR_NOMEM;
  p->n_threads = threads ? threads : 1;
  p->cap = queue ? queue : 1;
  p->threads = calloc(p->n_threads, sizeof(*p->threads));
  p->ring = calloc(p->cap, sizeof(*p->ring));
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  if (!p->threads || !p->ring) {
    pagepool_stop(p);
    return ASR_ERR_NOMEM;
  }
  for (; p->started < p->n_threads; p->started++) {
    if (pthread_create(&p->threads[p->started], NULL, worker, p) != 0) {
      pagepool_stop(p);
      return ASR_ERR_NOMEM;
    }
  }
  *out = p;
  return ASR_OK;
}

bool pagepool_submit(pagepool *p, pagepool_fn run, pagepool_fn cancel, void *arg)
{
  bool ok;

  pthread_mutex_lock(&p->mu);
  ok = !p->stopping && p->len < p->cap;
  if (ok) {
    p->ring[(p->head + p->len) % p->cap] = (job){run, cancel, arg};
    p->len++;
    pthread_cond_signal(&p->work);
  }
  pthread_mutex_unlock(&p->mu);
  return ok;
}

unsigned pagepool_waiting(pagepool *p)
{
  unsigned n;

  pthread_mutex_lock(&p->mu);
  n = p->len;
  pthread_mutex_unlock(&p->mu);
  return n;
}

void pagepool_stop(pagepool *p)
{
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (unsigned i = 0; i < p->started; i++)
    pthread_join(p->threads[i], NULL);
  for (; p->len; p->len--) {
    job j = p->ring[p->head];
    p->head = (p->head + 1) % p->cap;
    j.cancel(j.arg);
  }
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mu);
  free(p->ring);
  free(p->threads);
  free(p);
}
