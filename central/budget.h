/* budget.h: the memory asr-central's requests may hold, one request and all of them.
 *
 * A budget is a number of bytes shared by every request in flight: a batch's body
 * reserves its size while it is received, and its decoding (gunzip, JSON, the decoded
 * arrays) is metered as it allocates. A meter belongs to the calling thread between
 * budget_meter_begin and budget_meter_end: every byte charged to it counts against the
 * meter's own cap (one request) and the shared budget (all of them). A charge that would
 * pass either fails, the meter remembers which, and the request is answered 413 (this
 * batch is too large: split it) or 503 (the central is busy: retry later).
 *
 * budget_malloc/budget_free are malloc/free that charge the thread's meter (when it has
 * one) with the real size of each block; they are jansson's allocator
 * (json_set_alloc_funcs), so a JSON document cannot grow past the meter's cap. Both are
 * plain malloc/free outside a meter, so a block may be freed by either pair.
 *
 * budget_trim gives the freed memory back to the operating system (glibc's malloc_trim),
 * after a request that used much of it. */
#ifndef ASR_BUDGET_H
#define ASR_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct budget budget;

/* A new budget of limit bytes (NULL when out of memory). */
budget *budget_new(size_t limit);

/* Frees a budget (NULL is fine); nothing may hold a part of it any more. */
void budget_free(budget *b);

/* Takes n bytes from b: false (nothing taken) when fewer than n are left. A NULL budget
 * has no limit. */
bool budget_take(budget *b, size_t n);

/* Gives back n bytes taken before. */
void budget_give(budget *b, size_t n);

/* Bytes taken now, and the most ever taken at once. */
size_t budget_used(const budget *b);
size_t budget_peak(const budget *b);

typedef enum {
  BUDGET_OK = 0,
  BUDGET_OVER_REQUEST, /* the meter's cap: this request needs more than one may have */
  BUDGET_OVER_SHARED,  /* the shared budget: too much is in flight right now */
} budget_status;

/* The memory one request's decoding holds. */
typedef struct {
  budget *shared; /* may be NULL: the cap alone */
  size_t cap;     /* 0: no cap of its own */
  size_t used, peak;
  budget_status status; /* why the first charge that failed did, BUDGET_OK while none did */
} budget_meter;

/* Starts metering the calling thread's allocations into m (cap 0: none of its own). */
void budget_meter_begin(budget_meter *m, budget *shared, size_t cap);

/* Stops metering and gives back to the shared budget what m still holds. */
void budget_meter_end(budget_meter *m);

/* Charges n bytes to the calling thread's meter: false (and the meter's status set) when
 * its cap or the shared budget would be passed. True when the thread has no meter. */
bool budget_charge(size_t n);

/* Credits n bytes charged before (never below zero). */
void budget_credit(size_t n);

/* malloc/free charging the calling thread's meter (jansson's allocator). */
void *budget_malloc(size_t n);
void budget_free_block(void *p);

/* The size charged for a block from malloc (its usable size where the C library says). */
size_t budget_block_size(void *p, size_t asked);

/* Gives freed memory back to the operating system where the C library can. */
void budget_trim(void);

#endif
