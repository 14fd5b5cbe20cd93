/* mail.h: the e-mails asr-central sends to a site's supplies contact (pure: no I/O).
 *
 * Composes whole RFC 5322 messages (CRLF line ends, UTF-8 text/plain) for the notices of
 * docs/replenishment.md: an order created, shipped, backordered, shipped after a backorder;
 * a device disconnected, and the final follow-up; a printer's alert raised and cleared
 * (docs/meters.md). Printer-sent strings (serials, models,
 * supply descriptions) are untrusted: they never reach a header, control characters are
 * replaced, and long values are cut. The outbox (central/notify.c) stores the composed text
 * and sends it with wire/smtp.h. */
#ifndef ASR_CENTRAL_MAIL_H
#define ASR_CENTRAL_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

typedef enum {
  CMAIL_ORDER_CREATED = 1,
  CMAIL_ORDER_SHIPPED,
  CMAIL_ORDER_BACKORDERED,
  CMAIL_ORDER_SHIPPED_AFTER_BACKORDER,
  CMAIL_DISCONNECTED,     /* devices silent for disconnect_days */
  CMAIL_FINAL,            /* ... still silent after final_days */
  CMAIL_REGISTERED,       /* a site or contact registered: the confirmation */
  CMAIL_NOT_ELIGIBLE,     /* devices that use too much: no automatic supplies */
  CMAIL_ELIGIBLE,         /* ... whose use fell back: automatic supplies again */
  CMAIL_SIGNIN,           /* the portal: a one-time sign-in link (link) */
  CMAIL_REQUEST_RECEIVED, /* the portal: a customer's request, to the customer */
  CMAIL_REQUEST_STAFF,    /* ... the same request, to the helpdesk */
  CMAIL_REQUEST_APPROVED, /* ... approved by the staff (answer), to the customer */
  CMAIL_REQUEST_REFUSED,  /* ... refused by the staff (answer), to the customer */
  CMAIL_ALERT_RAISED,     /* a printer reports a critical alert (issue 16) */
  CMAIL_ALERT_CLEARED,    /* ... that no longer reports it */
} cmail_kind;

/* One line of an order, as the contact reads it. */
typedef struct {
  const char *serial;   /* device serial: the label on the shipment */
  const char *model;    /* NULL when unknown */
  const char *supply;   /* supply description, e.g. "Black Toner Cartridge" */
  const char *colorant; /* NULL when none */
  int quantity;
  const char *reason; /* "trigger", "consolidated", "usage spike", "with black toner", "extra" */
} cmail_line;

/* One silent device of a disconnection notice. */
typedef struct {
  const char *serial, *model, *ip; /* model, ip NULL when unknown */
  int64_t last_report;             /* Unix seconds of its last report, 0 = never */
  const char *note;                /* one more line about it (eligibility), NULL when none */
} cmail_device;

/* A printer's alert (the alert kinds): what the agent reported, untrusted. */
typedef struct {
  const char *serial, *model, *ip;                   /* the printer; NULL when unknown */
  const char *severity, *code, *group, *description; /* NULL or "" when unknown */
  int64_t group_index;                               /* -1 when unknown */
  int64_t raised_at, cleared_at;                     /* Unix seconds; cleared_at 0: open */
} cmail_alert;

/* What to say. Unused members are NULL/0 for a kind that does not need them. */
typedef struct {
  cmail_kind kind;
  const char *from;      /* From: address */
  const char *to;        /* the site's supplies contact (an e-mail address) */
  const char *site;      /* site name */
  int64_t now;           /* Unix seconds: the Date: header */
  const char *msgid_key; /* unique key of this notice (its outbox key): the Message-ID */
  int64_t order_id;      /* order kinds */
  const cmail_line *lines;
  size_t n_lines;
  const cmail_device *devices; /* CMAIL_DISCONNECTED / CMAIL_FINAL */
  size_t n_devices;
  int silent_days;          /* days without a report, for the disconnection notices */
  const char *contact_name; /* the contact's name (the greeting), NULL when unknown */
  const char *address;      /* the delivery address (orders, registration), NULL when none */
  const char *note;         /* a special order's reason (the helpdesk's words), NULL */
  const char *link;         /* CMAIL_SIGNIN: the link (printable ASCII), its minutes */
  int link_minutes;
  int64_t request_id; /* the request kinds: its number, what it asks (untrusted parts: */
  const char *what;   /* serials, the customer's words), who sent it, the staff's answer */
  const char *requester;
  const char *answer;
  const cmail_alert *alert; /* the alert kinds */
  bool to_service;          /* the alert kinds: to the provider's service address */
} cmail_notice;

/* Composes n into a new malloc'd message (*out, *len; NUL-terminated too); the caller frees.
 * ASR_ERR_INVALID when to/from are not plain addresses or a required member is missing
 * (order kinds: lines and order_id; device kinds: devices; a sign-in: a link of printable
 * ASCII; request kinds: request_id and what; alert kinds: alert; a registration needs
 * neither). */
asr_result cmail_compose(const cmail_notice *n, char **out, size_t *len);

/* Short English name of a kind ("order created", ...). */
const char *cmail_kind_str(cmail_kind k);

#endif
