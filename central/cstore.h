/* cstore.h: the database of asr-central (the only central code that includes sqlite3.h).
 *
 * One SQLite file, WAL, foreign keys on, a busy timeout, a schema version with forward
 * migrations (schema in cstore.c). It holds the sites and their tokens, the agents and
 * their secrets (so it is created 0600), and what the agents sent: devices keyed by
 * (site, key), supplies, readings unique per (device, t), levels unique per (device,
 * supply, t), events, and the batches already committed.
 *
 * A handle is used by one thread at a time; open one handle per thread. Writes take
 * BEGIN IMMEDIATE and are retried while another writer holds the file, so concurrent
 * writers wait for each other instead of failing. */
#ifndef ASR_CSTORE_H
#define ASR_CSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cday.h"
#include "common/result.h"

typedef struct cstore cstore;

#define CSTORE_TOKEN_LEN 35    /* "st_" + 32 hex */
#define CSTORE_AGENT_ID_LEN 35 /* "ag_" + 32 hex */
#define CSTORE_SECRET_LEN 64   /* hex of 32 bytes */
#define CSTORE_NAME_MAX 256    /* bound of names and strings (255 bytes + NUL) */

/* A supply as described in a batch's devices[].supplies (NULL strings: not reported).
 * colorant is the printer's own text, colorant_std the agent's RFC 3805 standard name. */
typedef struct {
  int32_t index;
  const char *description, *part_number, *type, *klass, *colorant, *unit;
  const char *colorant_std;
} cstore_supply_meta;

/* A device of a batch. Strings are NULL when absent; they point into the decoded
 * document and live as long as it. */
typedef struct {
  const char *key, *serial, *mac, *ip, *vendor, *model, *sys_object_id, *sys_descr;
  const char *sys_name, *state, *printer_status;
  char *errors_json;                                 /* status.errors as JSON text, or NULL */
  int64_t state_since, last_good_poll, failed_polls; /* -1 when absent */
  size_t n_supplies;
  cstore_supply_meta *supplies;
  bool refused; /* invalid: neither it nor its readings and events are stored */
} cstore_dev;

/* One level of a reading: [index, level, max, percent], absent values flagged. */
typedef struct {
  int32_t index;
  bool has_level, has_max, has_percent;
  int64_t level, max;
  int percent;
} cstore_level;

/* A billing meter read of a reading (protocol 2, docs/meters.md): kept as read; flag
 * ("backwards", "jump", "reset") and note only when the agent flagged it, else NULL. */
typedef struct {
  const char *name, *unit, *source, *flag, *note;
  int64_t value;
} cstore_meter;

typedef struct {
  size_t device; /* index into the batch's devices */
  int64_t t;
  bool has_page_count;
  int64_t page_count;
  size_t n_levels;
  cstore_level *levels;
  size_t n_meters; /* central/cmeters.c stores them */
  cstore_meter *meters;
} cstore_reading;

typedef struct {
  size_t device;
  int64_t t;
  const char *kind, *detail;
} cstore_event;

#define CSTORE_REFUSAL_ERR_MAX 320

/* A part of a batch the central refused (docs/protocol.md, "Answers"): one device (with
 * its readings and events), one reading or one event. */
typedef struct {
  const char *what;         /* "device", "reading", "event" */
  int64_t index;            /* in the batch's devices, readings or events */
  const char *device;       /* the device's key as sent, NULL when unknown */
  int64_t t;                /* the reading's or event's time, -1 when none */
  int64_t readings, events; /* refused with it (a device's) */
  char error[CSTORE_REFUSAL_ERR_MAX];
} cstore_refusal;

/* A validated batch (central/ingest.c builds it; cstore_apply stores it): the devices
 * (refused ones flagged), and only the readings and events to store. */
typedef struct {
  const char *batch_id, *agent_id, *agent_version;
  int64_t created_at; /* 0 when absent */
  const char *digest; /* hex SHA-256 of the batch's JSON text: its content */
  size_t n_devices, n_readings, n_events;
  cstore_dev *devices;
  cstore_reading *readings;
  cstore_event *events;
  size_t n_readings_sent; /* readings in the batch as sent, refused ones included */
  int64_t devices_refused, readings_refused, events_refused;
  size_t n_refused; /* refusals listed (at most INGEST_MAX_REFUSALS_LISTED) */
  cstore_refusal *refused;
  int64_t refused_more; /* refusals counted but not listed */
} cstore_batch;

/* What an agent is, for the verification of its requests. */
typedef struct {
  char id[CSTORE_AGENT_ID_LEN + 1];
  char secret[CSTORE_SECRET_LEN + 1];
  int64_t site_id;
  bool revoked;
} cstore_agent;

/* The outcome of cstore_apply. */
typedef struct {
  bool duplicate;       /* this batch (id and content) was already committed: nothing stored */
  bool id_reused;       /* the id was committed before with another content: stored, flagged */
  int64_t readings;     /* readings of the batch (as first committed, for a duplicate) */
  int64_t readings_new; /* readings that were not stored before */
} cstore_applied;

/* A site, for listing. */
typedef struct {
  int64_t id;
  const char *name, *contact, *address;
  int64_t created_at, agents, devices;
  bool token_revoked;       /* its site token enrols nothing any more */
  int64_t token_changed_at; /* when its token was issued or revoked */
} cstore_site;

/* What cstore_agent_lock_out did. */
typedef struct {
  char site[CSTORE_NAME_MAX]; /* the agent's site */
  bool token_revoked;         /* the site token it enrolled with was revoked too */
} cstore_lockout;

/* A supply of a device, for listing: the values of the device's last reading. */
typedef struct {
  int32_t index;
  const char *type, *colorant, *description; /* NULL when not reported; point into buf */
  bool has_level, has_max, has_percent;
  int64_t level, max;
  int percent;
  char buf[3][CSTORE_NAME_MAX];
} cstore_supply_row;

/* A device, for listing. */
typedef struct {
  int64_t id;
  const char *key, *serial, *site, *agent, *ip, *vendor, *model, *state;
  int64_t last_reading_at; /* 0 = none */
  int64_t readings;        /* distinct (device, t) readings stored */
  size_t n_supplies;
  const cstore_supply_row *supplies;
} cstore_device_row;

/* The SQLite handle, for the store's files not yet on cdb.h (cstore_series.c) only; NULL
 * on PostgreSQL. */
void *cstore_sqlite(cstore *st);

/* Opens and migrates the database name: a PostgreSQL URI (postgresql://USER@HOST:PORT/DB
 * or postgres://..., never with a password: refused; the password comes from
 * cstore_set_password_file's file or libpq's PGPASSFILE / ~/.pgpass), else a SQLite file
 * path (created 0600 if needed). ASR_ERR_DB_VERSION when it was written by a newer
 * asr-central; err receives "DATABASE: what is wrong" (a URI without any password). */
asr_result cstore_open(const char *name, cstore **out, char *err, size_t n);

/* True when the handle is on PostgreSQL (what is SQLite-only says so there). */
bool cstore_is_pg(const cstore *st);

/* Closes the handle (NULL is fine). */
void cstore_close(cstore *st);

/* The last error of this handle ("PATH: what: why"); never holds secrets. */
const char *cstore_errmsg(cstore *st);

/* The schema version this program writes, and the one in the open file. */
int cstore_schema_latest(void);
int cstore_schema_version(cstore *st);

/* Creates a site and writes its new token ("st_" + 32 hex) into token (size >= 36).
 * ASR_ERR_INVALID when a site of that name exists (errmsg says so). */
asr_result cstore_site_add(cstore *st, const char *name, const char *contact, const char *address,
                           int64_t now, char *token, size_t tokenn);

typedef int (*cstore_site_cb)(const cstore_site *s, void *ctx);

/* Calls cb for each site by name; cb returning non-zero stops. */
asr_result cstore_site_foreach(cstore *st, cstore_site_cb cb, void *ctx);

/* Enrols a new agent with a site token: writes its id, secret and the site name.
 * ASR_ERR_NOT_FOUND when no site has that token, ASR_ERR_AUTH when it was revoked. */
asr_result cstore_enroll(cstore *st, const char *token, const char *hostname, const char *version,
                         int64_t now, cstore_agent *agent, char *site, size_t siten);

/* Loads agent id; ASR_ERR_NOT_FOUND when unknown. */
asr_result cstore_agent_get(cstore *st, const char *id, cstore_agent *out);

/* Revokes agent id (its requests are then refused with 403); NOT_FOUND when unknown. */
asr_result cstore_agent_revoke(cstore *st, const char *id);

/* One enrolled agent, for listing (strings valid while the callback runs). */
typedef struct {
  const char *id, *site, *hostname, *version;
  int64_t enrolled_at, last_seen; /* Unix seconds; last_seen 0 = never */
  bool revoked;
} cstore_agent_row;

typedef int (*cstore_agent_cb)(const cstore_agent_row *a, void *ctx);

/* Calls cb for each agent (of site only when not NULL) by site and enrolment;
 * ASR_ERR_NOT_FOUND when site is given and does not exist. */
asr_result cstore_agent_foreach(cstore *st, const char *site, cstore_agent_cb cb, void *ctx);

/* Locks agent id out, in one transaction: revokes it (its requests get 403) and, unless
 * keep_token, its site's token when that is still the token the agent enrolled with, so
 * that whoever holds the agent cannot enrol again with it (a new token must be issued:
 * cstore_site_token_rotate). ASR_ERR_NOT_FOUND for an unknown agent. */
asr_result cstore_agent_lock_out(cstore *st, const char *id, bool keep_token, int64_t now,
                                 cstore_lockout *out);

/* Issues site name a new token (written into token, size >= 36): it enrols from now on, and
 * the old one (revoked or not) no longer does. ASR_ERR_NOT_FOUND for no such site. */
asr_result cstore_site_token_rotate(cstore *st, const char *name, int64_t now, char *token,
                                    size_t tokenn);

/* Revokes site name's token: it enrols nothing until a new one is issued. The agents it
 * enrolled keep working. ASR_ERR_NOT_FOUND for no such site. */
asr_result cstore_site_token_revoke(cstore *st, const char *name, int64_t now);

/* Stores a validated batch of agent in one transaction (retried while the file is busy),
 * with a row in "problems" per refusal it lists (and one for those it only counts). A
 * batch id already committed with the same content (digest) stores nothing and sets
 * res->duplicate; with another content (an agent database restored from a backup or
 * copied) the batch is stored all the same, flagged in "problems" and res->id_reused
 * set. On error nothing of the batch remains. */
asr_result cstore_apply(cstore *st, const cstore_agent *agent, const cstore_batch *b, int64_t now,
                        cstore_applied *res);

typedef int (*cstore_device_cb)(const cstore_device_row *d, void *ctx);

/* Calls cb for each device (of site when not NULL), by site and key. ASR_ERR_NOT_FOUND
 * when site is given and does not exist. */
asr_result cstore_device_foreach(cstore *st, const char *site, cstore_device_cb cb, void *ctx);

/* Counts rows of a table among "devices", "readings", "levels", "events", "batches",
 * "agents", "problems" (for tests and benchmarks); -1 on error. */
int64_t cstore_count(cstore *st, const char *table);

/* A problem with what an agent sent, for listing: a refused part of a batch ("device",
 * "reading", "event", "more": refusals counted, not listed) or a batch id committed
 * before with another content ("id_reused"). Strings live while the callback runs. */
typedef struct {
  int64_t id;
  const char *site, *agent, *batch_id, *what, *device, *error; /* device: NULL when unknown */
  int64_t received_at, index, t;                               /* index, t: -1 when none */
  int64_t readings, events;
} cstore_problem_row;

typedef int (*cstore_problem_cb)(const cstore_problem_row *p, void *ctx);

/* Calls cb for the newest problems (of site when not NULL), at most limit, newest first.
 * ASR_ERR_NOT_FOUND when site is given and does not exist. */
asr_result cstore_problem_foreach(cstore *st, const char *site, int64_t limit, cstore_problem_cb cb,
                                  void *ctx);

/* ---------------------------------------------------------------------------------------
 * Replenishment: orders, their lines, device stock and flags, notices, the mail outbox
 * (schema version 2; central/engine.c and central/notify.c use these). */

/* One line of an order, for listing (strings live as long as the callback runs). */
typedef struct {
  const char *serial, *supply, *colorant;
  int32_t supply_index;
  int quantity;
  const char *reason;
  int line;                 /* its number in the order, from 1 */
  const char *state;        /* created, backordered, shipped, delivered */
  const char *model;        /* its device's model, NULL when not reported */
  const char *type;         /* its supply's type name, NULL when not reported */
  int64_t job_from, job_to; /* a special order's job window (days), 0 when none */
  bool was_backordered;
} cstore_order_line;

/* One order with its lines, for listing. */
typedef struct {
  int64_t id;
  const char *site, *state, *reason;
  int64_t created_at, updated_at;
  size_t n_lines;
  const cstore_order_line *lines;
  const char *kind;                   /* "asr", or "extra" (a special order) */
  const char *contact, *contact_name; /* the contact it was made for (e-mail, name) */
  const char *address;                /* ... and the delivery address then */
  const char *note;                   /* a special order's reason, NULL when none */
  int64_t day;                        /* the day it was made */
  int64_t contact_id;
} cstore_order_row;

typedef int (*cstore_order_cb)(const cstore_order_row *o, void *ctx);

/* Calls cb for each order (of site when not NULL; only created/shipped/backordered when
 * open_only), newest first. ASR_ERR_NOT_FOUND when site is given and does not exist. */
asr_result cstore_order_foreach(cstore *st, const char *site, bool open_only, cstore_order_cb cb,
                                void *ctx);

/* The head of an order (for a warehouse step and its mail). */
typedef struct {
  int64_t id, site_id, contact_id;
  char site[CSTORE_NAME_MAX], contact[CSTORE_NAME_MAX], state[16];
  bool was_backordered; /* a line of it has been backordered once */
  char address[CSTORE_NAME_MAX], contact_name[CSTORE_NAME_MAX], kind[8];
} cstore_order_head;

/* Loads the head of order id; ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_order_head_get(cstore *st, int64_t id, cstore_order_head *out);

/* Calls cb once with order id and its lines; ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_order_get(cstore *st, int64_t id, cstore_order_cb cb, void *ctx);

/* Sets the state of line line of order id to state (and its time column) at now;
 * "delivered" adds its quantity to the device's delivered stock. The caller checks the
 * transition, then calls cstore_order_sync. */
asr_result cstore_line_set_state(cstore *st, int64_t id, int line, const char *state, int64_t now);

/* Sets order id's state from its lines' at now: delivered when all are, shipped when one is
 * shipped or delivered, backordered when one is backordered, else created. */
asr_result cstore_order_sync(cstore *st, int64_t id, int64_t now);

/* Creates an order (state "created") of site_id for contact contact_id, kind "asr" or "extra"
 * (a special order, with note its reason, or NULL), made on day: the contact's e-mail, name
 * and delivery address are kept with it (a later change of the contact does not change it). */
asr_result cstore_order_add(cstore *st, int64_t site_id, int64_t contact_id, const char *kind,
                            const char *reason, const char *note, int64_t day, int64_t now,
                            int64_t *id);

/* What an order line carries besides its supply and quantity. */
typedef struct {
  int64_t covered_until;    /* the day its stock is forecast to reach the trigger again */
  double daily_use;         /* the daily use it was ordered for (0: not known) */
  int64_t job_from, job_to; /* a special order's job window (days), 0 when none */
} cstore_line_extra;

/* Adds line number line to order: quantity cartridges of supply idx of device dev (label
 * serial), and counts them as ordered for that supply. x may be NULL. */
asr_result cstore_order_line_add(cstore *st, int64_t order, int line, int64_t dev, int32_t idx,
                                 const char *serial, int quantity, const char *reason,
                                 const cstore_line_extra *x);

/* Transactions of the engine and the warehouse steps (BEGIN IMMEDIATE: waits for other
 * writers up to the busy timeout). */
asr_result cstore_tx_begin(cstore *st);
asr_result cstore_tx_commit(cstore *st);
void cstore_tx_rollback(cstore *st);

/* A device as the engine sees it (strings valid while the callback runs). */
typedef struct {
  int64_t id, site_id;
  const char *site, *contact, *key, *serial, *model, *ip;
  int64_t last_reading_at; /* Unix seconds, 0 = never */
  int64_t agent_last_seen; /* Unix seconds of its agent's last batch or heartbeat, 0 = never */
  bool high_use;           /* marked not eligible */
  unsigned notices;        /* disconnection notices sent (ASR_RP_SENT_* bits) */
  int64_t contact_id;      /* its supplies contact (contact: the e-mail), the site's first by
                              default */
  const char *contact_name, *address; /* ... its name and delivery address */
  bool judged;                        /* its use was judged on a whole calendar week once */
} cstore_rp_device;

typedef int (*cstore_rp_device_cb)(const cstore_rp_device *d, void *ctx);

/* Calls cb for each device of every site, by site and key. */
asr_result cstore_rp_devices(cstore *st, cstore_rp_device_cb cb, void *ctx);

/* Calls cb for each device of site site_id, by key. */
asr_result cstore_rp_site_devices(cstore *st, int64_t site_id, cstore_rp_device_cb cb, void *ctx);

typedef int (*cstore_rp_site_cb)(int64_t site_id, void *ctx);

/* Calls cb with the id of each site, by name (the order of cstore_rp_devices). */
asr_result cstore_rp_sites(cstore *st, cstore_rp_site_cb cb, void *ctx);

/* A supply of a device with its stock, for the engine. */
typedef struct {
  int32_t index;
  const char *type, *colorant, *description; /* NULL when not reported */
  bool has_max;
  int64_t max;                           /* latest reported capacity */
  int64_t ordered, delivered, installed; /* cartridges (see the stock table) */
  int64_t jumps_day;                     /* last day checked for a replacement, -1 = none */
  int64_t covered_until;                 /* covered date of its newest ASR order line, 0 = none */
  const char *colorant_std; /* the agent's standard colorant name, NULL when not reported */
  double covered_use;       /* the daily use that line was ordered for, 0 = not known */
} cstore_rp_supply;

typedef int (*cstore_rp_supply_cb)(const cstore_rp_supply *s, void *ctx);

/* Calls cb for each supply of device dev by index. */
asr_result cstore_rp_supplies(cstore *st, int64_t dev, cstore_rp_supply_cb cb, void *ctx);

/* The last level of one day of a supply: cstore_rp_level (central/cday.h). */

typedef int (*cstore_rp_level_cb)(const cstore_rp_level *l, void *ctx);

/* Calls cb with the last level of each day from..to (days, inclusive) of supply idx of
 * device dev, by day. */
asr_result cstore_rp_daily_levels(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                  cstore_rp_level_cb cb, void *ctx);

/* Records installed more cartridges of supply idx of dev consumed, and jumps_day. */
asr_result cstore_rp_stock_update(cstore *st, int64_t dev, int32_t idx, int64_t installed,
                                  int64_t jumps_day);

/* cstore_rp_stock_update for n supplies, each at most once (PostgreSQL: one statement). */
typedef struct {
  int64_t dev;
  int32_t idx;
  int64_t installed, jumps_day;
} cstore_rp_stock_row;
asr_result cstore_rp_stock_updates(cstore *st, const cstore_rp_stock_row *u, size_t n);

/* One delivery of a supply: the day and the cartridges of a delivered line. */
typedef int (*cstore_rp_delivery_cb)(int64_t day, int quantity, void *ctx);

/* Calls cb for each delivered line of supply idx of device dev, by day of delivery. */
asr_result cstore_rp_deliveries(cstore *st, int64_t dev, int32_t idx, cstore_rp_delivery_cb cb,
                                void *ctx);

/* Calls cb (from, to in days) for the job window of each special order line of device dev. */
typedef int (*cstore_rp_job_cb)(int64_t from, int64_t to, void *ctx);
asr_result cstore_rp_jobs(cstore *st, int64_t dev, cstore_rp_job_cb cb, void *ctx);

/* A special order's line of a supply with a job window: its cartridges, how many went in on
 * the job's days (consumed), the window (days). */
typedef struct {
  int64_t order;
  int line, quantity, consumed;
  int64_t job_from, job_to;
} cstore_rp_extra;

typedef int (*cstore_rp_extra_cb)(const cstore_rp_extra *x, void *ctx);

/* Calls cb for each special order line of supply idx of device dev whose job ends on or after
 * day since, by the job's start. */
asr_result cstore_rp_extras(cstore *st, int64_t dev, int32_t idx, int64_t since,
                            cstore_rp_extra_cb cb, void *ctx);

/* Counts more of that line's cartridges as put in on its job's days (at most its quantity). */
asr_result cstore_rp_extra_consumed(cstore *st, int64_t order, int line, int more);

/* The latest day of event kind of device dev (any supply); 0 when there is none. */
asr_result cstore_rp_event_last(cstore *st, int64_t dev, const char *kind, int64_t *day);

/* The engine's set-based reads of a site: the reads above for every device of site site_id
 * in one statement each (not one per device or supply: a round trip each on PostgreSQL),
 * by device id, then in each device's order as above; cb gets the device (and supply). */
typedef int (*cstore_rp_site_supply_cb)(int64_t dev, const cstore_rp_supply *s, void *ctx);
asr_result cstore_rp_site_supplies(cstore *st, int64_t site_id, cstore_rp_site_supply_cb cb,
                                   void *ctx);
typedef int (*cstore_rp_site_delivery_cb)(int64_t dev, int32_t idx, int64_t day, int quantity,
                                          void *ctx);
asr_result cstore_rp_site_deliveries(cstore *st, int64_t site_id, cstore_rp_site_delivery_cb cb,
                                     void *ctx);
typedef int (*cstore_rp_site_job_cb)(int64_t dev, int64_t from, int64_t to, void *ctx);
asr_result cstore_rp_site_jobs(cstore *st, int64_t site_id, cstore_rp_site_job_cb cb, void *ctx);
typedef int (*cstore_rp_site_extra_cb)(int64_t dev, int32_t idx, const cstore_rp_extra *x,
                                       void *ctx);
asr_result cstore_rp_site_extras(cstore *st, int64_t site_id, int64_t since,
                                 cstore_rp_site_extra_cb cb, void *ctx);
/* ... the latest day of event kind of each device of the site that has one */
typedef int (*cstore_rp_site_day_cb)(int64_t dev, int64_t day, void *ctx);
asr_result cstore_rp_site_event_last(cstore *st, int64_t site_id, const char *kind,
                                     cstore_rp_site_day_cb cb, void *ctx);

/* Records event kind of supply idx (-1: the device) on day once; *added says it is new. */
asr_result cstore_rp_event_add(cstore *st, int64_t dev, int32_t idx, int64_t day, const char *kind,
                               bool *added);

/* Stores the engine's flags of device dev: judged, high use (since day when it becomes
 * so), the disconnection notices sent. */
asr_result cstore_rp_device_set(cstore *st, int64_t dev, bool judged, bool high_use, int64_t day,
                                unsigned notices);

/* The last day the engine ran (-1 = never), and setting it. */
asr_result cstore_rp_last_day(cstore *st, int64_t *day);
asr_result cstore_rp_set_last_day(cstore *st, int64_t day);

/* The engine's day, claimed by the one node that runs it (cstore_rp_claim_day). */
typedef enum {
  CSTORE_DAY_CLAIMED, /* last_day is the day now: this node runs it, then commits */
  CSTORE_DAY_DONE,    /* the day (or a later one) was run already */
  CSTORE_DAY_BUSY     /* PostgreSQL: another node is running the engine now */
} cstore_day_claim;

/* Claims day for this node inside the open transaction (cstore_tx_begin): on PostgreSQL
 * under an advisory lock taken without waiting (another node's run: CSTORE_DAY_BUSY), then
 * last_day moved on to day when it was before it (one row: CSTORE_DAY_CLAIMED). A rollback,
 * or a node dying before its commit, leaves the day claimable again. SQLite's BEGIN
 * IMMEDIATE serializes the runs already. */
asr_result cstore_rp_claim_day(cstore *st, int64_t day, cstore_day_claim *out);

/* One mail of the outbox (malloc'd copies: free with cstore_mail_free). */
typedef struct {
  int64_t id;
  char *key, *rcpt, *kind, *msg;
  size_t len;
  int64_t tries;
} cstore_mail;

/* Queues a composed mail under key (unique: each notice once); *added false when a mail of
 * that key is queued or sent already. */
asr_result cstore_outbox_add(cstore *st, const char *key, int64_t site_id, const char *rcpt,
                             const char *kind, const char *msg, size_t len, int64_t now,
                             bool *added);

/* Loads the first pending mail with id > after that is due at now; *found false when none. */
asr_result cstore_outbox_next(cstore *st, int64_t now, int64_t after, cstore_mail *out,
                              bool *found);

/* Frees the strings of m (not m). */
void cstore_mail_free(cstore_mail *m);

/* Marks mail id "sent", "failed" (given up) or "pending" (retry at next_try), counts a try
 * and keeps error (NULL: none). */
asr_result cstore_outbox_mark(cstore *st, int64_t id, const char *state, int64_t next_try,
                              const char *error, int64_t now);

/* The random id of this database (drawn and stored on first use, in rp_state; > 0): the
 * mails' Message-IDs carry it, so two databases never make the same one. */
asr_result cstore_rp_instance(cstore *st, int64_t *id);

/* Claims pending mail id for its sender until time until (> now) when it is due at now:
 * *claimed true for exactly one of several concurrent claimers (other handles or
 * processes on the same file); a claim never settled by cstore_outbox_mark ends at until. */
asr_result cstore_outbox_claim(cstore *st, int64_t id, int64_t now, int64_t until, bool *claimed);

/* Counts the outbox's mails in state ("pending", "sent", "failed"); -1 on error. */
int64_t cstore_outbox_count(cstore *st, const char *state);

/* ---------------------------------------------------------------------------------------
 * Contacts (schema version 5): a site's supplies contacts, each device's contact, their
 * history. The site's first contact (made by cstore_site_add) is the default of its
 * devices; orders and notices follow the device's contact. */

/* A contact, for listing (strings valid while the callback runs). */
typedef struct {
  int64_t id, site_id;
  const char *site, *name, *email, *address;
  int64_t created_at, updated_at;
  int64_t devices; /* devices it is the contact of (assigned, or by default) */
  bool first;      /* the site's first contact: the default of its devices */
} cstore_contact;

typedef int (*cstore_contact_cb)(const cstore_contact *c, void *ctx);

/* Adds a contact to site_id (history: "created"); ASR_ERR_INVALID when the site has a contact
 * with that e-mail already (errmsg says so). */
asr_result cstore_contact_add(cstore *st, int64_t site_id, const char *name, const char *email,
                              const char *address, int64_t now, int64_t *id);

/* Calls cb for each contact (of site when not NULL) by site and id. ASR_ERR_NOT_FOUND when
 * site is given and does not exist. */
asr_result cstore_contact_foreach(cstore *st, const char *site, cstore_contact_cb cb, void *ctx);

/* Calls cb once with contact id; ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_contact_get(cstore *st, int64_t id, cstore_contact_cb cb, void *ctx);

/* The contact of site (name) with e-mail email, or when email is NULL the site's first;
 * ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_contact_find(cstore *st, const char *site, const char *email, int64_t *id);

/* Changes contact id's name, e-mail, address (NULL: unchanged), one history row per changed
 * field; ASR_ERR_NOT_FOUND for no such contact, ASR_ERR_INVALID when the e-mail is another
 * contact's of the site. */
asr_result cstore_contact_update(cstore *st, int64_t id, const char *name, const char *email,
                                 const char *address, int64_t now);

/* Makes contact the contact of device dev (history "device"); ASR_ERR_INVALID when they are
 * not of the same site. */
asr_result cstore_device_assign(cstore *st, int64_t dev, int64_t contact, int64_t now);

/* Finds a device by serial (or key) in site (NULL: any site): its id and site id.
 * ASR_ERR_NOT_FOUND when there is none, ASR_ERR_INVALID when several sites have one (errmsg
 * says so: name the site). */
asr_result cstore_device_find(cstore *st, const char *site, const char *serial, int64_t *dev,
                              int64_t *site_id);

/* The id of site name; ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_site_id(cstore *st, const char *name, int64_t *id);

/* One change of a contact. */
typedef struct {
  int64_t at, contact_id;
  const char *what;      /* "created", "name", "email", "address", "device" */
  const char *old, *now; /* the values (a device's serial for "device"), NULL when none */
} cstore_history;

typedef int (*cstore_history_cb)(const cstore_history *h, void *ctx);

/* Calls cb for each change of contact id, oldest first. */
asr_result cstore_contact_history(cstore *st, int64_t id, cstore_history_cb cb, void *ctx);

/* Busy timeout in milliseconds for handles opened from now on (default 30000; PostgreSQL's
 * lock_timeout). */
void cstore_set_busy_timeout(int ms);

/* The file holding the PostgreSQL password (--db-password-file: a regular file of ours,
 * mode 0600 or stricter, its first line), read by each PostgreSQL handle opened from now
 * on; NULL: libpq's PGPASSFILE or ~/.pgpass. ASR_ERR_LIMIT when the path is too long. */
asr_result cstore_set_password_file(const char *path);

#endif
