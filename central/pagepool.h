/* pagepool.h: a bounded pool of threads for asr-central's work that is not the agents'.
 *
 * The HTTP server's worker threads carry the agents' protocol (/v1/...). Everything else
 * (the status pages today, a portal tomorrow) is handed to this pool instead: a few
 * threads of its own and a queue of bounded length, so that however many pages are asked
 * for at once, the agents' workers are never the ones rendering them. A job the queue has
 * no room for is refused at once (the server answers 503 with Retry-After).
 *
 * A job is two functions on an argument: run (on a pool thread) or, when the pool stops
 * before running it, cancel (on the stopping thread). Exactly one of them is called. */
#ifndef ASR_PAGEPOOL_H
#define ASR_PAGEPOOL_H

#include <stdbool.h>

#include "common/result.h"

typedef struct pagepool pagepool;

typedef void (*pagepool_fn)(void *arg);

/* Starts threads (>= 1) sharing a queue of at most queue (>= 1) waiting jobs. */
asr_result pagepool_start(unsigned threads, unsigned queue, pagepool **out);

/* Queues a job: false (nothing queued) when the queue is full or the pool is stopping. */
bool pagepool_submit(pagepool *p, pagepool_fn run, pagepool_fn cancel, void *arg);

/* Jobs waiting now (not counting those running). */
unsigned pagepool_waiting(pagepool *p);

/* Stops: the running jobs finish, the waiting ones are cancelled, the threads joined, the
 * pool freed (NULL is fine). */
void pagepool_stop(pagepool *p);

#endif
