/* budget.c: the memory budget of asr-central's requests (budget.h).
 *
 * The shared budget is one atomic counter: a take adds and, when that passed the limit,
 * takes it back; nothing waits. A meter is plain data of one thread (a thread-local
 * pointer), so the allocator hooks cost one branch outside a meter and two additions in
 * one. The size charged for a block is its usable size plus malloc's header, so that
 * what a meter counts is close to what the process holds. */
#include "config.h"

#include "central/budget.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif

struct budget {
  size_t limit;
  atomic_size_t used, peak;
};

static _Thread_local budget_meter *current;

budget *budget_new(size_t limit)
{
  budget *b = calloc(1, sizeof(*b));

  if (!b)
    return NULL;
  b->limit = limit;
  atomic_init(&b->used, 0);
  atomic_init(&b->peak, 0);
  return b;
}

void budget_free(budget *b)
{
  free(b);
}

static void note_peak(budget *b, size_t now)
{
  size_t peak = atomic_load(&b->peak);

  while (now > peak && !atomic_compare_exchange_weak(&b->peak, &peak, now))
    ;
}

bool budget_take(budget *b, size_t n)
{
  size_t before;

  if (!b)
    return true;
  before = atomic_fetch_add(&b->used, n);
  if (before + n < before || before + n > b->limit) {
    atomic_fetch_sub(&b->used, n);
    return false;
  }
  note_peak(b, before + n);
  return true;
}

void budget_give(budget *b, size_t n)
{
  if (b && n)
    atomic_fetch_sub(&b->used, n);
}

size_t budget_used(const budget *b)
{
  return b ? atomic_load(&((budget *)b)->used) : 0;
}

size_t budget_peak(const budget *b)
{
  return b ? atomic_load(&((budget *)b)->peak) : 0;
}

/* ---------------------------------------------------------------------------------------
 * Meters. */

void budget_meter_begin(budget_meter *m, budget *shared, size_t cap)
{
  m->shared = shared;
  m->cap = cap;
  m->used = m->peak = 0;
  m->status = BUDGET_OK;
  current = m;
}

void budget_meter_end(budget_meter *m)
{
  budget_give(m->shared, m->used);
  m->used = 0;
  if (current == m)
    current = NULL;
}

bool budget_charge(size_t n)
{
  budget_meter *m = current;

  if (!m)
    return true;
  if (m->cap && (n > m->cap || m->used > m->cap - n)) {
    if (!m->status)
      m->status = BUDGET_OVER_REQUEST;
    return false;
  }
  if (!budget_take(m->shared, n)) {
    if (!m->status)
      m->status = BUDGET_OVER_SHARED;
    return false;
  }
  m->used += n;
  if (m->used > m->peak)
    m->peak = m->used;
  return true;
}

void budget_credit(size_t n)
{
  budget_meter *m = current;

  if (!m)
    return;
  if (n > m->used)
    n = m->used; /* a block allocated before the meter began */
  m->used -= n;
  budget_give(m->shared, n);
}

/* ---------------------------------------------------------------------------------------
 * The allocator hooks. */

size_t budget_block_size(void *p, size_t asked)
{
#ifdef HAVE_MALLOC_USABLE_SIZE
  (void)asked;
  return malloc_usable_size(p) + sizeof(size_t);
#else
  (void)p;
  return asked + 2 * sizeof(size_t);
#endif
}

void *budget_malloc(size_t n)
{
  void *p = malloc(n);

  if (!p || !current)
    return p;
  if (!budget_charge(budget_block_size(p, n))) {
    free(p);
    return NULL;
  }
  return p;
}

void budget_free_block(void *p)
{
#ifdef HAVE_MALLOC_USABLE_SIZE
  if (p && current)
    budget_credit(budget_block_size(p, 0));
#endif
  free(p);
}

void budget_trim(void)
{
#ifdef HAVE_MALLOC_TRIM
  malloc_trim(0);
#endif
}
