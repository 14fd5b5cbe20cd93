/* view.h: what the supplies status page shows (issue 6, section 3), loaded from central's
 * store (central/cstore.h) and judged by the replenishment rules (replenish/rules.h).
 *
 * A view is plain data: central/page.c renders it as HTML or JSON without any I/O, so the
 * unit tests build views by hand. Every string is a copy owned by the view (NULL when the
 * printer did not report it) and stays valid until view_site_free / view_index_free.
 * Levels are the agent's normalized percent (docs/supplies.md): what remains, or for a
 * receptacle the space that remains, so the forecast treats every supply alike with a
 * capacity of 100. The engine's records (central/engine.c) add each supply's stock and
 * covered date, each device's high-usage mark and its agent's heartbeat, and the open
 * orders, so that the page shows what the engine will do. */
#ifndef ASR_VIEW_H
#define ASR_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "replenish/rules.h"

typedef struct cstore cstore;

#define VIEW_HISTORY_DAYS 90 /* days of levels in the charts */
#define VIEW_ALERTS_MAX 20   /* open alerts shown per device (the rest counted) */
#define VIEW_METERS_MAX 64   /* meters shown per device (the rest counted) */

/* The one state a device is shown in (issue 11: one explicit state per device). */
typedef enum {
  VIEW_ACTIVE = 0,   /* reporting, its usage rate known: ordered for */
  VIEW_SILENT,       /* no report for silent_days */
  VIEW_DISCONNECTED, /* no report for disconnect_days: not ordered for */
  VIEW_NOT_ELIGIBLE, /* reporting, but high usage: not ordered for */
  VIEW_NO_RATE,      /* reporting, its use not judged on a whole week yet: no ASR supplies */
} view_state;

#define VIEW_STATES 5

/* The one state a supply is shown in. */
typedef enum {
  VIEW_S_OK = 0,      /* its next order date is known */
  VIEW_S_DUE,         /* an order is due now */
  VIEW_S_ORDERED,     /* ordered, on its way: next delivery expected on a day */
  VIEW_S_BACKORDERED, /* ordered, delayed (backordered) */
  VIEW_S_NO_RATE,     /* no usage rate yet (some more days of reports) */
  VIEW_S_IDLE,        /* not being used */
  VIEW_S_WITH_BLACK,  /* a waste container: ships with the black toner */
  VIEW_S_NOT_ASR,     /* a drum, a fuser...: not supplied by ASR */
} view_supply_state;

/* One day of a supply's chart. */
typedef struct {
  int64_t day; /* days since 1970-01-01 (UTC) */
  int percent; /* 0..100 */
} view_point;

/* One supply of a device. */
typedef struct {
  int32_t index;
  char *description, *type, *colorant; /* NULL when not reported */
  bool has_percent;                    /* the latest level is known */
  int percent;                         /* the latest level, 0..100 */
  bool eligible;                       /* a type that is ordered (toner, waste toner, ink) */
  bool forecast;                       /* enough history for a forecast */
  double daily_use;                    /* percent points a day */
  double days_left;                    /* ASR_RP_FOREVER when not being used */
  int64_t order_day;                   /* forecast order date, ASR_RP_NEVER when none */
  bool high_use;                       /* >= high_use_per_week cartridges a week */
  int64_t stock;                       /* cartridges ordered for it and not installed yet */
  int64_t shelf;                       /* ... delivered: on the device's shelf */
  int64_t in_transit;                  /* ... not delivered yet */
  view_supply_state sstate;            /* its one state */
  int64_t next_delivery; /* the expected day of its next delivery, 0 when none is open */
  int64_t open_order;    /* the order of that delivery, 0 when none */
  int no_rate_days;      /* VIEW_S_NO_RATE: days of reports still needed */
  size_t n_points;
  view_point *points; /* the daily levels of the last VIEW_HISTORY_DAYS days, oldest first */
} view_supply;

/* An open alert of a device (central/calerts.h; strings cleaned when stored). */
typedef struct {
  char *severity, *code, *group, *description; /* "" when unknown */
  int64_t group_index;                         /* -1 when unknown */
  int64_t raised_at;                           /* Unix seconds */
} view_alert;

/* A billing meter of a device this month (central/cmeters.h). */
typedef struct {
  char *name, *unit, *source;
  int64_t latest, latest_at; /* the newest read of the month and its time */
  int64_t start, start_at;   /* the first read of the month */
  int64_t usage;             /* the month's usage (rises into unflagged reads) */
  int64_t reads, flagged;
} view_meter;

/* One device of a site. */
typedef struct {
  char *serial, *key, *model, *vendor, *ip; /* NULL when not reported */
  int64_t last_report;                      /* Unix seconds of its newest reading, 0 = never */
  int64_t agent_seen; /* Unix seconds of its agent's last batch or heartbeat, 0 = never */
  view_state state;
  const char *reporting; /* "active", "silent" or "disconnected" (static) */
  size_t n_supplies;
  view_supply *supplies;
  int no_rate_days;        /* VIEW_NO_RATE: days of reports still needed */
  int64_t reconnected_day; /* the day it last reported again after a disconnection, 0 */
  char *contact;           /* its supplies contact's e-mail, NULL when unknown */
  size_t n_alerts;         /* its open alerts, oldest first (at most VIEW_ALERTS_MAX) */
  view_alert *alerts;
  size_t alerts_more; /* open alerts not in alerts[] */
  size_t n_meters;    /* its meters read this month, by name (at most VIEW_METERS_MAX) */
  view_meter *meters;
  size_t meters_more;
} view_device;

/* One line of an order. */
typedef struct {
  char *serial, *supply, *colorant, *reason;
  int32_t supply_index;
  int quantity;
  char *state; /* created, backordered, shipped, delivered; NULL when unknown */
} view_order_line;

/* One open order of a site. */
typedef struct {
  int64_t id;
  char *state, *reason;
  int64_t created_at, updated_at;
  size_t n_lines;
  view_order_line *lines;
  int64_t day;   /* the day it was made */
  char *contact; /* the contact it goes to */
  bool extra;    /* a special order */
} view_order;

/* A site's page. */
typedef struct {
  char *name, *contact, *address;
  int64_t now;         /* Unix seconds the view was made at */
  int64_t today;       /* now in days since the epoch */
  double trigger_days; /* days left that trigger an order (for the colours) */
  int delivery_days;   /* days from an order to its delivery, as expected */
  size_t n_devices;
  view_device *devices;
  bool has_orders;      /* false: this store keeps no orders (the section says so) */
  int64_t month_start;  /* the meters' month: its first second (UTC) */
  size_t n_open_alerts; /* open alerts of all its devices */
  size_t n_orders;
  view_order *orders;
  void *mem; /* the view's allocations */
} view_site;

/* One site of the index. */
typedef struct {
  char *name, *contact;
  int64_t agents, devices, active, silent, disconnected;
} view_site_summary;

/* The index page: every site. */
typedef struct {
  int64_t now;
  size_t n_sites;
  view_site_summary *sites;
  void *mem;
} view_index;

/* Short English name of a state ("active", "silent", "disconnected", "not eligible", "no
 * usage rate"). */
const char *view_state_str(view_state s);

/* Short key of a supply state ("ok", "due", "ordered", "backordered", "no usage rate",
 * "not used", "with black toner", "not asr"). */
const char *view_supply_state_str(view_supply_state s);

/* Loads every site with its device counts by state at now (Unix seconds). */
asr_result view_index_load(cstore *st, const asr_rp_conf *c, int64_t now, view_index *out);

/* Frees what view_index_load allocated (a zeroed view is fine). */
void view_index_free(view_index *v);

/* Loads site name at now with the rules c (NULL: the defaults). ASR_ERR_NOT_FOUND when no
 * site has that name. */
asr_result view_site_load(cstore *st, const char *name, const asr_rp_conf *c, int64_t now,
                          view_site *out);

/* Frees what view_site_load allocated (a zeroed view is fine). */
void view_site_free(view_site *v);

/* The device of v whose serial or key is device, or NULL (the portal's pages that take a
 * ?device= look it up here, among what the one asking may see). */
const view_device *view_site_device(const view_site *v, const char *device);

/* Keeps of a loaded site only what a customer may see (the portal, central/portal.c): the
 * devices whose supplies contact is email (compared without case) and the orders made for
 * it or for those devices; the site's contact and address become contact and address (the
 * customer's own record). */
asr_result view_site_restrict(view_site *v, const char *email, const char *contact,
                              const char *address);

/* Appends site s (as loaded, maybe restricted) to the index v (zeroed at first; *cap its
 * room, 0 at first) with its devices counted by reporting state. */
asr_result view_index_add(view_index *v, const view_site *s, size_t *cap);

#endif
