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

/* Where the engine's daily levels come from. */
typedef enum {
  CENGINE_SERIES = 0, /* the supplies' series kept by the ingest (cstore_series.h) */
  CENGINE_RAW,        /* recomputed from the raw readings: the reference (--recompute) */
} cengine_source;

/* How to run. */
typedef struct {
  const char *mail_from; /* From: of the notices; NULL = CENGINE_DEFAULT_FROM */
  int64_t now;           /* Unix seconds stored as the time of what is made (mail Date:) */
  cengine_say_fn say;
  void *say_ctx;
  cengine_source source;
} cengine_opts;

/* What one day's run did. */
typedef struct {
  int64_t day;
  bool already_ran; /* the engine had run on this day (or later): nothing was done */
  bool other_node;  /* (with already_ran) another node is running the engine now
                       (PostgreSQL): nothing was done here */
  size_t devices, orders, lines, high_use, early, notices, mails, mail_errors;
  size_t not_eligible, eligible_again; /* devices whose judgement changed today */
  size_t reconnected;                  /* disconnected devices that reported again */
  size_t not_from_stock;               /* replacements with no delivered cartridge of ours */
} cengine_report;

/* Runs the engine for day today (days since the epoch) under conf c: one transaction,
 * which claims the day first (cstore_rp_claim_day): of several nodes on one database one
 * runs it, the others report already_ran (other_node while it runs); a node dying mid-run
 * leaves the day to the next. ASR_ERR_INVALID when c is out of range. */
asr_result cengine_run_day(cstore *st, const asr_rp_conf *c, int64_t today, const cengine_opts *o,
                           cengine_report *rep);

/* A warehouse step of an order. */
typedef enum {
  CENGINE_SHIP = 0,  /* created or backordered -> shipped */
  CENGINE_BACKORDER, /* created -> backordered */
  CENGINE_DELIVER,   /* shipped -> delivered: its lines become the devices' stock */
} cengine_step;

/* Applies step to the lines of order id it applies to (ship: the created lines, else the
 * backordered ones; backorder: the created lines; deliver: the shipped lines), with its mail
 * to the order's contact, in one transaction. ASR_ERR_NOT_FOUND for no such order,
 * ASR_ERR_INVALID when no line can take the step; err names the problem. */
asr_result cengine_order_step(cstore *st, int64_t id, cengine_step step, const cengine_opts *o,
                              char *err, size_t n);

/* cengine_order_step on the lines numbered lines[0..n_lines) only (a backorder holds its
 * lines, the others ship): ASR_ERR_INVALID when one of them does not exist or cannot take
 * the step. n_lines 0: as cengine_order_step. */
asr_result cengine_order_step_lines(cstore *st, int64_t id, cengine_step step, const int *lines,
                                    size_t n_lines, const cengine_opts *o, char *err, size_t n);

/* A special order (the helpdesk's): extra cartridges of one supply of one device. */
typedef struct {
  int64_t device;           /* the store's device id */
  int32_t supply;           /* its supply index */
  int quantity;             /* 1 .. ASR_RP_QUANTITY_MAX */
  int64_t job_from, job_to; /* the print job's days (inclusive), 0 when not declared */
  const char *note;         /* why (the helpdesk's words), NULL when none */
} cengine_extra;

/* Creates special order x for the device's contact, with its order-created mail, in one
 * transaction: shipped and tracked like the others, never consolidated with ASR's orders;
 * its job window's use is left out of the device's learned rate. *id gets the order.
 * ASR_ERR_NOT_FOUND for no such device or supply, ASR_ERR_INVALID for a quantity or window
 * out of range; err names the problem. */
asr_result cengine_extra_order(cstore *st, const cengine_extra *x, const cengine_opts *o,
                               int64_t *id, char *err, size_t n);

/* cengine_extra_order inside the caller's transaction (the portal's approval of a request
 * stores the order and the request's answer together): nothing is committed or rolled back
 * here. */
asr_result cengine_extra_order_in(cstore *st, const cengine_extra *x, const cengine_opts *o,
                                  int64_t *id, char *err, size_t n);

/* Queues the registration confirmation of contact (a site or contact just added) in the
 * outbox, once: *queued false when it was queued before. */
asr_result cengine_registered(cstore *st, int64_t contact, const cengine_opts *o, bool *queued);

/* Parses "ship", "backorder", "deliver"; ASR_ERR_INVALID otherwise. */
asr_result cengine_step_parse(const char *s, cengine_step *out);

/* The name of a step ("ship", ...). */
const char *cengine_step_str(cengine_step s);

#endif
