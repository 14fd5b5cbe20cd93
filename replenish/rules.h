/* rules.h: the ordering rules of Automatic Supplies Replenishment (docs/replenishment.md).
 *
 * Pure functions over histories: the caller (asr-central's engine, the agent's status, the
 * simulation) passes every device with its supplies' daily readings, its shipped stock and
 * "today"; the rules say what to order, in which shipment, and which notices are due. No
 * I/O, no clock, no allocation: results go into arrays the caller provides. */
#ifndef ASR_REPLENISH_RULES_H
#define ASR_REPLENISH_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"
#include "replenish/forecast.h"

#define ASR_RP_OVERRIDES_MAX 8
#define ASR_RP_NEVER INT64_MAX   /* a day that never comes */
#define ASR_RP_QUANTITY_MAX 1000 /* cartridges of one order line at most */
/* What asr-central keeps (asr-central(8), "Retention"): raw readings retention_days
 * (ASR_RP_RETENTION_MIN..ASR_RP_KEEP_MAX), their daily roll-up rollup_days (at least a
 * year and a week, the longest window the engine reads, and at least retention_days). */
#define ASR_RP_RETENTION_DAYS 400
#define ASR_RP_ROLLUP_DAYS 1100
#define ASR_RP_RETENTION_MIN 7
#define ASR_RP_ROLLUP_MIN 400
#define ASR_RP_KEEP_MAX 36500

/* A product type that orders at another number of days left than trigger_days. */
typedef struct {
  int32_t type;        /* PrtMarkerSuppliesTypeTC code */
  double trigger_days; /* days of printing left that trigger an order */
} asr_rp_type_trigger;

/* Every number of the rules (defaults in asr_rp_conf_default, ranges in asr_rp_conf_check). */
typedef struct {
  double trigger_days;           /* order at this many days of printing left (21) */
  double cover_days;             /* an order covers this many days of average use (30) */
  bool consolidate;              /* add the group's other soon-due supplies to a shipment (true) */
  int consolidate_days;          /* ... whose own trigger falls within this many days (45) */
  double high_use_per_week;      /* cartridges of one colour a week that make a device
                                    not eligible (2.0) ... */
  int high_use_weeks;            /* ... in each of its last measured calendar weeks, out of
                                    this many complete weeks (2) */
  int spike_margin_days;         /* a trigger this many days before the covered date is a
                                    usage spike (3) */
  int silent_days;               /* days without a report: the device is silent (2) */
  int disconnect_days;           /* ... disconnected, first notice; 7..14 (7) */
  int final_days;                /* ... final follow-up notice (30) */
  int delivery_days;             /* days from an order to its delivery, as expected (3) */
  int retention_days;            /* days asr-central keeps the raw readings (400) ... */
  int rollup_days;               /* ... and their daily roll-up, >= retention_days (1100) */
  asr_rp_forecast_conf forecast; /* the usage estimate (forecast.h) */
  size_t n_overrides;            /* per-type triggers in use (0) */
  asr_rp_type_trigger overrides[ASR_RP_OVERRIDES_MAX];
} asr_rp_conf;

/* One supply of a device as the engine knows it. */
typedef struct {
  int32_t type;                   /* PrtMarkerSuppliesTypeTC code */
  const char *colorant;           /* the printer's own colorant text ("Black", "K"...) or NULL */
  double capacity;                /* units of one full cartridge (> 0) */
  const asr_rp_reading *readings; /* daily readings, sorted by day (remaining, see forecast.h) */
  size_t n_readings;
  int stock;                     /* cartridges shipped to this device and not yet installed */
  int64_t covered_until;         /* covered date of the newest open order line, or 0 */
  const char *colorant_std;      /* the agent's RFC 3805 standard name ("black"...) or NULL */
  double covered_use;            /* the daily use that line was ordered for (0: not known) */
  const asr_rp_window *excluded; /* declared print jobs: their days teach no use */
  size_t n_excluded;
} asr_rp_supply;

/* One enrolled (or not) device. */
typedef struct {
  const char *serial;  /* the label on the shipment */
  const char *site;    /* site name */
  const char *contact; /* its supplies contact (orders are grouped by site and contact) */
  bool enrolled;
  int64_t last_report; /* day of its latest report (or its agent's heartbeat) */
  const asr_rp_supply *supplies;
  size_t n_supplies;
  bool judged;   /* the caller's record: its use was judged on some calendar week before */
  bool high_use; /* ... and found too high (kept while no week can be measured) */
} asr_rp_device;

/* Reporting state of a device. */
typedef enum {
  ASR_RP_ACTIVE = 0,   /* reported within silent_days */
  ASR_RP_SILENT,       /* no report for silent_days */
  ASR_RP_DISCONNECTED, /* no report for disconnect_days: not ordered for, notices */
} asr_rp_dev_state;

/* What the rules think of one supply today. */
typedef struct {
  asr_rp_forecast fc;
  bool eligible_type;         /* toner, wasteToner, ink, inkCartridge, tonerCartridge */
  double cartridges_per_week; /* in its latest measured complete calendar week (0: none) */
  bool high_use;              /* >= high_use_per_week in each measured week of the last
                                 high_use_weeks complete weeks (at least one measured) */
  int weeks_measured;         /* measured weeks among them */
  double trigger_at;          /* days left that trigger (trigger_days or the type's) */
  double eff_days;            /* days left counting the shipped stock */
  int64_t trigger_day;        /* forecast order date, ASR_RP_NEVER when none */
  bool due;                   /* eff_days <= trigger_at: order today */
  bool spike;                 /* due before covered_until - spike_margin_days */
  int quantity;               /* cartridges an order today would carry: cover_days of use,
                                 whole cartridges, >= 1 (the stock is not subtracted: it
                                 counted in the trigger) */
} asr_rp_eval;

/* Why a line is in an order. */
typedef enum {
  ASR_RP_REASON_TRIGGER = 1,  /* its forecast reached the trigger */
  ASR_RP_REASON_CONSOLIDATED, /* its trigger falls within consolidate_days */
  ASR_RP_REASON_SPIKE,        /* usage rose: stock runs out before the covered date */
  ASR_RP_REASON_WASTE,        /* a waste toner container shipped with the black toner */
  ASR_RP_REASON_EXTRA,        /* a special order (helpdesk): never made by the rules */
} asr_rp_reason;

/* One order line: device index, supply index (into the arrays passed in), quantity. */
typedef struct {
  size_t device, supply;
  int quantity;
  asr_rp_reason reason;
} asr_rp_line;

/* One order (one shipment): lines[first_line .. first_line + n_lines) of the plan. */
typedef struct {
  size_t trigger_device; /* the device whose trigger opened the order */
  size_t first_line, n_lines;
} asr_rp_order;

/* The caller's arrays that receive a day's orders. */
typedef struct {
  asr_rp_order *orders;
  size_t max_orders, n_orders;
  asr_rp_line *lines;
  size_t max_lines, n_lines;
} asr_rp_plan;

/* Notices about a silent device (sent flags are kept by the caller, one set per device). */
typedef enum {
  ASR_RP_NOTICE_NONE = 0,
  ASR_RP_NOTICE_DISCONNECTED, /* first notice after disconnect_days */
  ASR_RP_NOTICE_FINAL,        /* follow-up after final_days */
} asr_rp_notice;

#define ASR_RP_SENT_DISCONNECTED 1u
#define ASR_RP_SENT_FINAL 2u

/* Fills c with the documented defaults. */
void asr_rp_conf_default(asr_rp_conf *c);

/* ASR_OK when every number of c is in its documented range, ASR_ERR_INVALID otherwise. */
asr_result asr_rp_conf_check(const asr_rp_conf *c);

/* True for the supply types that are ordered (toner, waste toner, ink and their cartridges). */
bool asr_rp_type_eligible(int32_t type);

/* True for a black toner: toner or tonerCartridge whose colorant names black (the printer's
 * own text normalized by asr_rp_colorant: "Black", "BK", "schwarz"...). */
bool asr_rp_is_black_toner(int32_t type, const char *colorant);

/* True for a black toner supply: its standard colorant (colorant_std, else its own text
 * normalized) is black. */
bool asr_rp_supply_black_toner(const asr_rp_supply *s);

/* True for a supply that is ordered by its own forecast: an eligible type other than a waste
 * container (those ship with black toner only). */
bool asr_rp_type_forecast_ordered(int32_t type);

/* Days of printing left that trigger an order of this type (override or trigger_days). */
double asr_rp_trigger_for(const asr_rp_conf *c, int32_t type);

/* Reporting state of a device on day today. */
asr_rp_dev_state asr_rp_device_state(const asr_rp_conf *c, const asr_rp_device *d, int64_t today);

/* Evaluates one supply on day today. ASR_ERR_INVALID on bad readings or capacity. */
asr_result asr_rp_eval_supply(const asr_rp_conf *c, const asr_rp_supply *s, int64_t today,
                              asr_rp_eval *out);

#define ASR_RP_WEEK_MIN_DAYS 4 /* days of usable readings that measure a calendar week */

/* The Monday (days since the epoch) of the calendar week (Monday to Sunday, UTC) of day. */
int64_t asr_rp_week_start(int64_t day);

/* Cartridges of supply s used in the calendar week starting on monday: the rate of its
 * usable steps inside the week (no replacement, not empty) over 7 days. False when its
 * readings cover fewer than ASR_RP_WEEK_MIN_DAYS days of the week (days spent empty do not
 * count) or fewer than 2 of them are usable. A heavy user replaces a cartridge every few
 * days: those steps count as covered days, their use comes from the week's other days. */
bool asr_rp_week_cartridges(const asr_rp_supply *s, const asr_rp_conf *c, int64_t monday,
                            double *out);

/* The high-use judgement of a device on a day. */
typedef struct {
  bool measured;    /* some colour had a measured week among the last high_use_weeks complete
                       calendar weeks: judged today */
  bool judged;      /* judged today, or before (the caller's record, asr_rp_device.judged) */
  bool high_use;    /* not eligible: some colour used >= high_use_per_week cartridges in each
                       of its measured weeks (not measured today: the caller's record) */
  double worst;     /* cartridges of the busiest colour in its latest measured week */
  int64_t ready_on; /* not judged yet: the day the first complete week will have ended */
} asr_rp_judgement;

/* Judges device d on day today (docs/replenishment.md, rule 4: high use per colour per
 * calendar week, judged again every day). */
void asr_rp_judge(const asr_rp_conf *c, const asr_rp_device *d, int64_t today,
                  asr_rp_judgement *out);

/* True when the device is high-usage today (asr_rp_judge's high_use). */
bool asr_rp_device_high_use(const asr_rp_conf *c, const asr_rp_device *d, int64_t today);

/* True when orders may be placed for d today: enrolled, not disconnected, judged, not
 * high-usage. */
bool asr_rp_device_orderable(const asr_rp_conf *c, const asr_rp_device *d, int64_t today);

/* Covered date of a line of quantity cartridges ordered today for a supply evaluated as e:
 * the day its stock is forecast to reach the trigger again. */
int64_t asr_rp_covered_until(const asr_rp_eval *e, const asr_rp_supply *s, int quantity,
                             int64_t today);

/* Computes today's orders for devices d[0..n) into plan (n_orders, n_lines reset first).
 * ASR_ERR_LIMIT when the caller's arrays are too small, ASR_ERR_INVALID on bad input. */
asr_result asr_rp_plan_day(const asr_rp_conf *c, const asr_rp_device *d, size_t n, int64_t today,
                           asr_rp_plan *plan);

/* The notice due today for a device last heard of on last_report, given the notices already
 * sent (*sent, ASR_RP_SENT_* bits, updated; cleared when the device reports again). Call it
 * again after a notice: both may be due on the same day. */
asr_rp_notice asr_rp_notice_due(const asr_rp_conf *c, int64_t last_report, int64_t today,
                                unsigned *sent);

/* Short English name of a reason ("trigger", "consolidated", "usage spike", "with black
 * toner", "extra"). */
const char *asr_rp_reason_str(asr_rp_reason r);

/* Short English name of a device state ("active", "silent", "disconnected"). */
const char *asr_rp_state_str(asr_rp_dev_state s);

#endif
