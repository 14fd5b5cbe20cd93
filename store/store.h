/* store.h: the agent's SQLite database (the only agent code that includes sqlite3.h).
 *
 * One file, WAL, foreign keys on, a busy timeout, and a schema version with forward
 * migrations. Devices are keyed by serial number (MAC when there is none, address when
 * there is neither) and followed across address changes. Each successful poll stores
 * one reading row per device with every supply's level packed in it, so a year of
 * hourly polls of a printer stays well under 1 MB; each failed poll stores a failure
 * row with its reason. The database holds SNMP credentials: it is created 0600. */
#ifndef ASR_STORE_H
#define ASR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cred.h"
#include "common/device.h"
#include "common/result.h"

typedef struct asr_store asr_store;

/* A known device as the store sees it: identity, credentials, poll history summary, and
 * in dev.supplies the supplies of its last good reading. */
typedef struct {
  int64_t id;
  asr_device dev; /* dev.ip is the last known address */
  uint16_t port;
  asr_snmp_cred cred;      /* the credentials it last answered to */
  int64_t first_seen;      /* epoch seconds */
  int64_t last_seen;       /* last time it answered (discovery or poll) */
  int64_t last_good_poll;  /* 0 = never */
  int64_t last_reading_at; /* time of the reading in dev.supplies, 0 = none */
  int64_t last_failure_at; /* 0 = never */
  char last_failure[160];  /* reason of the last failed poll */
  unsigned failed_polls;   /* failed polls since the last good one */
  int64_t readings;        /* reading rows stored for this device */
  bool superseded;         /* another device answered at dev.ip since (or this one moved):
                              the address is history, polling it would reach another
                              printer. Selecting by address never returns such a device. */
} asr_store_device;

/* One supply level of a stored reading. */
typedef struct {
  int32_t index;
  int64_t level;
  int64_t max;
} asr_store_level;

/* How much an open checks before anything is written to the file. */
typedef enum {
  ASR_STORE_VERIFY = 0, /* SQLite's quick_check of every page (commands that write; about
                           2 s for the largest databases) */
  ASR_STORE_TRUST       /* the cheap checks only (frequent readers, e.g. the daemon's status
                           line); quick_check still runs before a migration */
} asr_store_mode;

/* Opens (creating if needed, with parent directory) and migrates the database, after
 * checking it with SQLite's quick_check (ASR_STORE_VERIFY).
 * ASR_ERR_DB_LOCKED when another process holds it past the busy timeout,
 * ASR_ERR_DB_VERSION when it was written by a newer asr-agent, ASR_ERR_DB when it is
 * not a database, ASR_ERR_DB_CORRUPT when it is damaged or an empty file (nothing is then
 * written to it), ASR_ERR_DISK_FULL when its disk is full. err receives a message naming
 * the file and the problem (and, when damaged, how to recover). A new database is built
 * under a temporary name and renamed into place, so an empty file is never left. */
asr_result asr_store_open(const char *path, asr_store **out, char *err, size_t n);

/* asr_store_open with the checks of mode. */
asr_result asr_store_open_mode(const char *path, asr_store_mode mode, asr_store **out, char *err,
                               size_t n);

/* The path the store was opened with ("" for NULL). */
const char *asr_store_path(const asr_store *st);

/* The bytes still free for us on the disk of the database into *bytes, and its folder
 * into dir (n bytes); ASR_ERR_IO when the system cannot tell. */
asr_result asr_store_free_space(const asr_store *st, int64_t *bytes, char *dir, size_t n);

/* Busy timeout in milliseconds for handles opened from now on (default 5000). */
void asr_store_set_busy_timeout(int ms);

/* Closes the database (NULL is fine). */
void asr_store_close(asr_store *st);

/* The schema version this program writes, and the one in the open file. */
int asr_store_schema_latest(void);
int asr_store_schema_version(asr_store *st);

/* The last error of this handle, "PATH: what failed: why", for messages (never holds
 * secrets). Any call may fail with ASR_ERR_DB_CORRUPT (SQLite found a damaged page: the
 * transaction is rolled back) or ASR_ERR_DISK_FULL (nothing of the call remains; what was
 * stored before is kept). Every failure is also logged once through asr_log at ASR_LOG_INFO (the
 * caller reports errmsg to the user, so the default log level does not repeat it). */
const char *asr_store_errmsg(asr_store *st);

/* Starts a write transaction (BEGIN IMMEDIATE), commits it, rolls it back. */
asr_result asr_store_begin(asr_store *st);
asr_result asr_store_commit(asr_store *st);
void asr_store_rollback(asr_store *st);

/* The device part of a poll's save (store/save.h: asr_store_save), inside the caller's
 * transaction: records a device that answered at time now: finds it by serial (else MAC,
 * else address), creates it when new, updates identity, address, port and credentials, and
 * when dev has supplies, a page count or meters stores a reading. *id receives the device
 * id (id may be NULL).
 * Identity: a serial wins (the device follows its serial across address changes); a
 * MAC matches a device of that MAC (one without serial when dev has a serial: its key
 * is then upgraded to the serial); with neither, the key is the address. A device with
 * another key at the same address becomes superseded (asr_store_device.superseded).
 * Empty identity strings in dev keep the stored values. cred NULL keeps the stored
 * credentials. Storing a reading (a good poll, whether from discovery or poll)
 * replaces the device's current supplies, sets last_good_poll and resets failed_polls. */
asr_result asr_store_save_device(asr_store *st, const asr_device *dev, uint16_t port,
                                 const asr_snmp_cred *cred, int64_t now, int64_t *id);

/* The stored device that a save of dev would update, found the way asr_store_save finds
 * it (serial, else MAC, else address): id (0 when dev would be a new device), the address
 * and port it last answered at, and whether that address is still its own (false once
 * another device answered there: superseded). */
typedef struct {
  int64_t id;
  char ip[48];
  uint16_t port;
  bool current;
} asr_store_match;

asr_result asr_store_match_device(asr_store *st, const asr_device *dev, asr_store_match *out);

/* Records a failed poll of device id at time now with its reason (failed_polls += 1,
 * last_failure and last_failure_at). ASR_ERR_NOT_FOUND when there is no device id. */
asr_result asr_store_record_failure(asr_store *st, int64_t id, int64_t now, asr_result code,
                                    const char *reason);

typedef int (*asr_store_device_cb)(const asr_store_device *d, void *ctx);

/* Calls cb for every device, ordered by address (IPv4 numerically), or only for those
 * whose serial, key ("serial:X", "mac:M", "ip:A") or current address equals one of the
 * selectors (n_sel = 0 means all). cb returning non-zero stops the walk. cb may call any
 * store function (e.g. asr_store_save after polling the device). */
asr_result asr_store_foreach_device(asr_store *st, const char *const *sel, size_t n_sel,
                                    asr_store_device_cb cb, void *ctx);

/* Selectors that matched no device are reported by calling cb for each (may be NULL). */
asr_result asr_store_unmatched(asr_store *st, const char *const *sel, size_t n_sel,
                               void (*cb)(const char *sel, void *ctx), void *ctx);

typedef int (*asr_store_reading_cb)(int64_t t, int64_t page_count, bool has_page_count,
                                    const asr_store_level *levels, size_t n, void *ctx);

/* Calls cb for each reading of device id with since <= t < until, oldest first. */
asr_result asr_store_foreach_reading(asr_store *st, int64_t id, int64_t since, int64_t until,
                                     asr_store_reading_cb cb, void *ctx);

/* Deletes, in one transaction, the readings and poll failures older than before, except
 * readings still queued for the central; *n (may be NULL) gets the readings deleted. */
asr_result asr_store_prune(asr_store *st, int64_t before, int64_t *n);

/* Loads device id into *out; ASR_ERR_NOT_FOUND when there is none. */
asr_result asr_store_get(asr_store *st, int64_t id, asr_store_device *out);

/* Largest encoded levels blob: a format byte and three 10-byte varints per supply. */
#define ASR_STORE_LEVELS_MAX (1 + ASR_SUPPLIES_MAX * 30)

/* Packs n levels as the readings.levels blob (store/schema.h) into buf; returns the
 * length, or 0 when n > ASR_SUPPLIES_MAX or cap is too small. */
size_t asr_store_levels_encode(const asr_store_level *lv, size_t n, uint8_t *buf, size_t cap);

/* Unpacks a levels blob into out (at most cap entries); returns how many were decoded.
 * Corrupt or truncated data stops the decoding at the last whole entry. */
size_t asr_store_levels_decode(const uint8_t *buf, size_t len, asr_store_level *out, size_t cap);

/* For the store's other files (the other SQL of the agent): the SQLite connection; the
 * handle's connection for store/sqlutil.h (its errors are kept for asr_store_errmsg and
 * logged once); and setting that message directly. */
struct sqlite3;
struct asr_sql;
struct sqlite3 *asr_store_sqlite(asr_store *st);
struct asr_sql *asr_store_sql(asr_store *st);
void asr_store_set_error(asr_store *st, const char *msg);

#endif
