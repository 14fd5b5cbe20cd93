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

#include "common/result.h"

typedef struct cstore cstore;

#define CSTORE_TOKEN_LEN 35    /* "st_" + 32 hex */
#define CSTORE_AGENT_ID_LEN 35 /* "ag_" + 32 hex */
#define CSTORE_SECRET_LEN 64   /* hex of 32 bytes */
#define CSTORE_NAME_MAX 256    /* bound of names and strings (255 bytes + NUL) */

/* A supply as described in a batch's devices[].supplies (NULL strings: not reported). */
typedef struct {
  int32_t index;
  const char *description, *part_number, *type, *klass, *colorant, *unit;
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
} cstore_dev;

/* One level of a reading: [index, level, max, percent], absent values flagged. */
typedef struct {
  int32_t index;
  bool has_level, has_max, has_percent;
  int64_t level, max;
  int percent;
} cstore_level;

typedef struct {
  size_t device; /* index into the batch's devices */
  int64_t t;
  bool has_page_count;
  int64_t page_count;
  size_t n_levels;
  cstore_level *levels;
} cstore_reading;

typedef struct {
  size_t device;
  int64_t t;
  const char *kind, *detail;
} cstore_event;

/* A validated batch (central/ingest.c builds it; cstore_apply stores it). */
typedef struct {
  const char *batch_id, *agent_id, *agent_version;
  int64_t created_at; /* 0 when absent */
  size_t n_devices, n_readings, n_events;
  cstore_dev *devices;
  cstore_reading *readings;
  cstore_event *events;
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
  bool duplicate;       /* the batch id was already committed: nothing stored */
  int64_t readings;     /* readings of the batch (as first committed, for a duplicate) */
  int64_t readings_new; /* readings that were not stored before */
} cstore_applied;

/* A site, for listing. */
typedef struct {
  int64_t id;
  const char *name, *contact, *address;
  int64_t created_at, agents, devices;
} cstore_site;

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

/* Opens (creating 0600 if needed) and migrates the database. ASR_ERR_DB_VERSION when
 * it was written by a newer asr-central; err receives "PATH: what is wrong". */
asr_result cstore_open(const char *path, cstore **out, char *err, size_t n);

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
 * ASR_ERR_NOT_FOUND when no site has that token. */
asr_result cstore_enroll(cstore *st, const char *token, const char *hostname, const char *version,
                         int64_t now, cstore_agent *agent, char *site, size_t siten);

/* Loads agent id; ASR_ERR_NOT_FOUND when unknown. */
asr_result cstore_agent_get(cstore *st, const char *id, cstore_agent *out);

/* Revokes agent id (its requests are then refused with 403); NOT_FOUND when unknown. */
asr_result cstore_agent_revoke(cstore *st, const char *id);

/* Stores a validated batch of agent in one transaction (retried while the file is busy):
 * a batch id already committed stores nothing and sets res->duplicate. On error nothing
 * of the batch remains. */
asr_result cstore_apply(cstore *st, const cstore_agent *agent, const cstore_batch *b, int64_t now,
                        cstore_applied *res);

typedef int (*cstore_device_cb)(const cstore_device_row *d, void *ctx);

/* Calls cb for each device (of site when not NULL), by site and key. ASR_ERR_NOT_FOUND
 * when site is given and does not exist. */
asr_result cstore_device_foreach(cstore *st, const char *site, cstore_device_cb cb, void *ctx);

/* Counts rows of a table among "devices", "readings", "levels", "events", "batches",
 * "agents" (for tests and benchmarks); -1 on error. */
int64_t cstore_count(cstore *st, const char *table);

/* Busy timeout in milliseconds for handles opened from now on (default 30000). */
void cstore_set_busy_timeout(int ms);

/* ---------------------------------------------------------------------------------------
 * The supplies status page (central/view.c): read-only queries. */

/* One day of one supply: the newest non-null percent stored that day. */
typedef struct {
  int64_t day; /* days since 1970-01-01 (UTC) */
  int percent; /* 0..100 as the agent normalized it */
} cstore_level_day;

/* Fills out[0..max) with the daily levels of supply idx of device device_id (the id of a
 * cstore_device_row) from day since_day on, oldest first; *n gets the count. */
asr_result cstore_level_days(cstore *st, int64_t device_id, int32_t idx, int64_t since_day,
                             cstore_level_day *out, size_t max, size_t *n);

#endif
