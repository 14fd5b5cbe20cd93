/* engine.h: asr-central's daily replenishment engine (docs/replenishment.md).
 *
 * Once a day it loads every site's devices, their supplies and daily readings from the
 * store, lets level jumps consume the devices' shipped stock, applies the pure rules of
 * replenish/rules.h (consolidated per site and supplies contact), and stores the day's
 * orders, their lines and the notices to mail (composed with central/mail.h into the
 * outbox) in ONE transaction, with the day it ran: a second run on the same day adds
 * nothing. The warehouse steps (ship, backorder, deliver) go through here too, so each
 * state change and its mail are stored together. */
#ifndef ASR_CENTRAL_ENGINE_H
#define ASR_CENTRAL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"
#include "replenish/rules.h"

/* Days of readings the engine reads (more when a rules window is longer). */
#define CENGINE_LOOKBACK_DAYS 120
#define CENGINE_DEFAULT_FROM "asr-central@localhost"

/* Receives one line of what the engine did (for the CLI to print); may be NULL. */
typedef void (*cengine_say_fn)(void *ctx, const char *line);

/* How to run. */
typedef struct {
  const char *mail_from; /* From: of the notices; NULL = CENGINE_DEFAULT_FROM */
  int64_t now;           /* Unix seconds stored as the time of what is made (mail Date:) */
  cengine_say_fn say;
  void *say_ctx;
} cengine_opts;

/* What one day's run did. */
typedef struct {
  int64_t day;
  bool already_ran; /* the engine had run on this day (or later): nothing was done */
  size_t devices, orders, lines, high_use, early, notices, mails, mail_errors;
} cengine_report;

/* Runs the engine for day today (days since the epoch) under conf c: one transaction.
 * ASR_ERR_INVALID when c is out of range. */
asr_result cengine_run_day(cstore *st, const asr_rp_conf *c, int64_t today, const cengine_opts *o,
                           cengine_report *rep);

/* A warehouse step of an order. */
typedef enum {
  CENGINE_SHIP = 0,  /* created or backordered -> shipped */
  CENGINE_BACKORDER, /* created -> backordered */
  CENGINE_DELIVER,   /* shipped -> delivered: its lines become the devices' stock */
} cengine_step;

/* Applies step to order id with its mail to the site's contact, in one transaction.
 * ASR_ERR_NOT_FOUND for no such order, ASR_ERR_INVALID for a transition the order's state
 * does not allow; err names the problem. */
asr_result cengine_order_step(cstore *st, int64_t id, cengine_step step, const cengine_opts *o,
                              char *err, size_t n);

/* Parses "ship", "backorder", "deliver"; ASR_ERR_INVALID otherwise. */
asr_result cengine_step_parse(const char *s, cengine_step *out);

/* The name of a step ("ship", ...). */
const char *cengine_step_str(cengine_step s);

#endif
