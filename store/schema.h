/* schema.h: the database schema of asr-agent and its migrations, as data.
 *
 * The schema version lives in PRAGMA user_version. asr_schema_steps is an ordered list of
 * migrations: step N takes a database from version N-1 to version N; store.c applies each
 * pending step in its own transaction (BEGIN IMMEDIATE, the SQL, user_version = N, COMMIT),
 * so a crash or an error leaves the file at the last complete version. A step is never
 * edited once released: a schema change is a new step appended at the end.
 *
 * Only store/store.c includes this file.
 *
 * Schema (version 1)
 * ------------------
 * devices: one row per printer we have seen.
 *   key            "serial:<serial>", else "mac:<mac>", else "ip:<ip>": the identity.
 *                  A device first seen without serial gets "serial:" when one is read
 *                  later from the same MAC address (store.c, find_device()).
 *   serial, mac    as reported ("" when unknown); indexed for the lookups of a save.
 *   ip, port       the address it last answered at (kept as history when it leaves).
 *   ip_current     1 when this device is the one last seen at ip; 0 once another device
 *                  answered at that address ("a different printer at a known address is
 *                  a new device") or this one moved: the address is then history only
 *                  and a poll by address does not reach this device.
 *   sys_object_id, vendor, model, sys_descr, sys_name, is_printer: identity as reported.
 *   snmp_version, community, v3_user, auth_proto, auth_pass, priv_proto, priv_pass,
 *   context        the SNMP credentials the device last answered to, IN CLEAR TEXT:
 *                  the agent needs them to poll. This is why the file is created 0600
 *                  in a 0700 directory. Protocols are stored by name ("SHA-256", "AES").
 *   first_seen, last_seen, last_good_poll, last_reading_at, last_failure_at: epoch
 *                  seconds, 0 = never. last_failure: reason of the last failed poll.
 *   failed_polls   failed polls since the last good one.
 *   printer_status hrPrinterStatus (0 = not reported); error_bits hrPrinterDetected-
 *                  ErrorState (NULL = not reported); page_count prtMarkerLifeCount
 *                  (NULL = not reported); all from the last good reading.
 *   readings       number of rows in readings for this device, kept by the triggers
 *                  below so that listing devices never counts rows.
 *
 * supplies: the current view: the supplies of the device's last reading, one row per
 *   prtMarkerSuppliesIndex. Supplies a new reading no longer reports are removed.
 *   max_capacity / level are NULL when not reported, otherwise exactly as reported
 *   (RFC 3805 special values -1 other, -2 unknown, -3 some remaining included);
 *   percent is -1 when not computable; state is asr_supply_state_name().
 *
 * readings: ONE row per good poll of a device, WITHOUT ROWID, keyed (device_id, t).
 *   page_count NULL when not reported. levels packs every supply's (index, level, max)
 *   as LEB128 varints of zig-zag encoded values:
 *     byte 0     format (1)
 *     per supply head  = zigzag(index - previous index) * 2 + (max == previous max)
 *                level = zigzag(level)
 *                max   = zigzag(max), present only when the head's low bit is 0
 *     (previous index and max start at 0; a supply not reporting a level or a maximum
 *     is stored with -2, RFC 3805's "unknown").
 *   A corrupt blob decodes up to its last whole entry (asr_store_levels_decode).
 *   A year of hourly polls (8760 rows) of a printer with 10 supplies, levels changing
 *   every hour, takes about 0.53 MB (check_store.c test_size_goal and
 *   bench/bench_store.sh print the figure), 62 bytes per reading all included.
 *   Two readings in the same second: the later replaces the earlier.
 *
 * poll_failures: one row per failed poll: (device_id, t, code, reason), code being an
 *   asr_result value (common/result.h).
 *
 * Deleting a device deletes its supplies, readings and failures (ON DELETE CASCADE;
 * store.c turns foreign_keys on for every connection).
 *
 * Schema (version 2): the uplink (store/outbox.c holds its SQL)
 * ---------------------------------------------------------------
 * upload_queue: the readings not delivered yet, WITHOUT ROWID keyed (t, device_id) (time
 *                 order, the order batches are built in). Filled by triggers on readings:
 *                 a new reading is queued; a reading replaced in the same second is queued
 *                 again (sent again: the central keeps one per device and time); a deleted
 *                 reading leaves the queue. The migration queues every existing reading.
 *   batch         NULL = not batched yet; > 0 = the seq of the undelivered (pending or
 *                 held) outbox batch that carries it (indexed, partial). Delivering a
 *                 batch deletes its rows: the queue only holds what is on its way, so the
 *                 history in readings costs nothing more.
 * outbox: one row per batch built (docs/protocol.md, "Upload").
 *   seq            the agent's batch sequence (batch_id = agent_id "-" 10-digit seq).
 *   position       the sending order: seq for a batch built from new readings; the two
 *                  halves of a split batch (413) take the position of the batch they
 *                  replace, so they are sent where it would have been (then by seq).
 *   batch_id       as sent; never reused.
 *   state          'pending' (to send), 'delivered' (2xx), 'held' (other 4xx: kept aside
 *                  with last_error, never deleted).
 *   body           the gzip body exactly as sent (the same bytes on every attempt);
 *                  NULL once pruned (delivered batches only, oldest first).
 *   body_size, n_readings, attempts, next_attempt_at, last_error, created_at,
 *   delivered_at   as named; times in epoch seconds, 0 = never.
 * uplink: at most one row (id = 1): the enrolment and the upload state.
 *   endpoint, agent_id, secret (64 hex: the request credential, IN CLEAR TEXT like the
 *   SNMP credentials), site, enrolled_at; TLS and proxy settings: ca_file, ca_path, pin,
 *   client_cert, client_key, proxy ("" = environment, "none", or a URL),
 *   proxy_user_file (a path: the proxy password stays in that 0600 file);
 *   stopped (the reason when the central answered 401/403; "" = not stopped),
 *   last_upload (time of the last 2xx), last_error, last_error_at, next_seq;
 *   outbox_full (1 when the last run found undelivered bodies over the outbox bound).
 *
 * Schema (version 3): device states and events (store/events.c holds their SQL)
 * ------------------------------------------------------------------------------
 * devices.state        'active', 'silent' or 'disconnected' (agent/health.h has the rules);
 * devices.state_since  when it entered that state (the migration takes first_seen).
 * events: one row per fact the agent noticed about a device, kept as history:
 *   id, device_id, t (epoch seconds), kind ("silent", "disconnected", "reconnected",
 *   "replaced"), detail (one line: the reason, the supply and its levels).
 * event_queue: the events not delivered yet, like upload_queue: a row per event, filled
 *   by a trigger on events; batch NULL = not batched yet, > 0 = the seq of the
 *   undelivered outbox batch that carries it; deleted when that batch is delivered.
 *   Kinds include "serial_conflict" (agent/moves.h): a responder at another address
 *   reported this device's identity while the device still answered.
 *
 * Schema (version 4): what the central refused (store/outbox.c holds the SQL)
 * ---------------------------------------------------------------------------
 * upload_problems: one row per part of a delivered batch the central did not store
 *   (docs/protocol.md, "Answers"), kept as history for status and status --check, the
 *   newest ASR_OUTBOX_PROBLEMS_KEPT only:
 *   id, at (when the central answered), batch_id, what ("device", "reading", "event";
 *   "more": refusals the answer counted without listing them; "id_reused": the central
 *   had committed another batch with this id), device (its key as sent, "" when unknown),
 *   t (the reading's or event's time, NULL for a device), readings and events (how many
 *   were refused with it), error (the central's reason, one line).
 *
 * Schema (version 5): the daemon's schedule (store/sched.c holds its SQL)
 * ------------------------------------------------------------------------
 * schedule: one row per periodic job of the daemon ("discovery", "poll", "checkin": the
 *   check-in with the central, issue 17): last_start
 *   (epoch seconds, written before the job runs) and fingerprint (what it covered: a hash
 *   of the scan targets), so that a restart does not run them again at once. */
#ifndef ASR_SCHEMA_H
#define ASR_SCHEMA_H

#include "store/sqlutil.h"

/* applied by asr_sql_migrate (store/sqlutil.h) */
static const asr_sql_step asr_schema_steps[] = {
    {1, "CREATE TABLE devices ("
        " id INTEGER PRIMARY KEY,"
        " key TEXT NOT NULL UNIQUE,"
        " serial TEXT NOT NULL DEFAULT '',"
        " mac TEXT NOT NULL DEFAULT '',"
        " ip TEXT NOT NULL DEFAULT '',"
        " ip_current INTEGER NOT NULL DEFAULT 1,"
        " port INTEGER NOT NULL DEFAULT 161,"
        " sys_object_id TEXT NOT NULL DEFAULT '',"
        " vendor TEXT NOT NULL DEFAULT '',"
        " model TEXT NOT NULL DEFAULT '',"
        " sys_descr TEXT NOT NULL DEFAULT '',"
        " sys_name TEXT NOT NULL DEFAULT '',"
        " is_printer INTEGER NOT NULL DEFAULT 0,"
        " snmp_version INTEGER NOT NULL DEFAULT 2,"
        " community TEXT NOT NULL DEFAULT '',"
        " v3_user TEXT NOT NULL DEFAULT '',"
        " auth_proto TEXT NOT NULL DEFAULT 'none',"
        " auth_pass TEXT NOT NULL DEFAULT '',"
        " priv_proto TEXT NOT NULL DEFAULT 'none',"
        " priv_pass TEXT NOT NULL DEFAULT '',"
        " context TEXT NOT NULL DEFAULT '',"
        " first_seen INTEGER NOT NULL DEFAULT 0,"
        " last_seen INTEGER NOT NULL DEFAULT 0,"
        " last_good_poll INTEGER NOT NULL DEFAULT 0,"
        " last_reading_at INTEGER NOT NULL DEFAULT 0,"
        " last_failure_at INTEGER NOT NULL DEFAULT 0,"
        " last_failure TEXT NOT NULL DEFAULT '',"
        " failed_polls INTEGER NOT NULL DEFAULT 0,"
        " printer_status INTEGER NOT NULL DEFAULT 0,"
        " error_bits INTEGER,"
        " page_count INTEGER,"
        " readings INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX devices_serial ON devices(serial) WHERE serial <> '';"
        "CREATE INDEX devices_mac ON devices(mac) WHERE mac <> '';"
        "CREATE INDEX devices_ip ON devices(ip);"
        "CREATE TABLE supplies ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL,"
        " hr_index INTEGER NOT NULL DEFAULT 0,"
        " description TEXT NOT NULL DEFAULT '',"
        " part_number TEXT NOT NULL DEFAULT '',"
        " type INTEGER NOT NULL DEFAULT 0,"
        " class INTEGER NOT NULL DEFAULT 0,"
        " unit INTEGER NOT NULL DEFAULT 0,"
        " colorant TEXT NOT NULL DEFAULT '',"
        " max_capacity INTEGER,"
        " level INTEGER,"
        " percent INTEGER NOT NULL DEFAULT -1,"
        " state TEXT NOT NULL DEFAULT 'unknown',"
        " PRIMARY KEY (device_id, idx)"
        ");"
        "CREATE TABLE readings ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL,"
        " page_count INTEGER,"
        " levels BLOB NOT NULL,"
        " PRIMARY KEY (device_id, t)"
        ") WITHOUT ROWID;"
        "CREATE TRIGGER readings_count_ins AFTER INSERT ON readings BEGIN"
        " UPDATE devices SET readings = readings + 1 WHERE id = NEW.device_id; END;"
        "CREATE TRIGGER readings_count_del AFTER DELETE ON readings BEGIN"
        " UPDATE devices SET readings = readings - 1 WHERE id = OLD.device_id; END;"
        "CREATE TABLE poll_failures ("
        " id INTEGER PRIMARY KEY,"
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL,"
        " code INTEGER NOT NULL,"
        " reason TEXT NOT NULL DEFAULT ''"
        ");"
        "CREATE INDEX poll_failures_device ON poll_failures(device_id, t);"},
    {2, "CREATE TABLE upload_queue ("
        " t INTEGER NOT NULL,"
        " device_id INTEGER NOT NULL,"
        " batch INTEGER,"
        " PRIMARY KEY (t, device_id)"
        ") WITHOUT ROWID;"
        "CREATE INDEX upload_queue_batch ON upload_queue(batch) WHERE batch > 0;"
        "INSERT INTO upload_queue (t, device_id) SELECT t, device_id FROM readings;"
        /* (not INSERT OR REPLACE: the outer statement's conflict rule would override it) */
        "CREATE TRIGGER readings_queue_ins AFTER INSERT ON readings BEGIN"
        " DELETE FROM upload_queue WHERE t = NEW.t AND device_id = NEW.device_id;"
        " INSERT INTO upload_queue (t, device_id) VALUES (NEW.t, NEW.device_id); END;"
        "CREATE TRIGGER readings_queue_upd AFTER UPDATE ON readings BEGIN"
        " DELETE FROM upload_queue WHERE t = NEW.t AND device_id = NEW.device_id;"
        " INSERT INTO upload_queue (t, device_id) VALUES (NEW.t, NEW.device_id); END;"
        "CREATE TRIGGER readings_queue_del AFTER DELETE ON readings BEGIN"
        " DELETE FROM upload_queue WHERE t = OLD.t AND device_id = OLD.device_id; END;"
        "CREATE TABLE outbox ("
        " seq INTEGER PRIMARY KEY,"
        " position INTEGER NOT NULL,"
        " batch_id TEXT NOT NULL UNIQUE,"
        " state TEXT NOT NULL DEFAULT 'pending'"
        "  CHECK (state IN ('pending', 'delivered', 'held')),"
        " body BLOB,"
        " body_size INTEGER NOT NULL DEFAULT 0,"
        " n_readings INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '',"
        " created_at INTEGER NOT NULL DEFAULT 0,"
        " delivered_at INTEGER NOT NULL DEFAULT 0"
        ");"
        "CREATE INDEX outbox_state ON outbox(state, position, seq);"
        "CREATE TABLE uplink ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " endpoint TEXT NOT NULL DEFAULT '',"
        " agent_id TEXT NOT NULL DEFAULT '',"
        " secret TEXT NOT NULL DEFAULT '',"
        " site TEXT NOT NULL DEFAULT '',"
        " enrolled_at INTEGER NOT NULL DEFAULT 0,"
        " ca_file TEXT NOT NULL DEFAULT '',"
        " ca_path TEXT NOT NULL DEFAULT '',"
        " pin TEXT NOT NULL DEFAULT '',"
        " client_cert TEXT NOT NULL DEFAULT '',"
        " client_key TEXT NOT NULL DEFAULT '',"
        " proxy TEXT NOT NULL DEFAULT '',"
        " proxy_user_file TEXT NOT NULL DEFAULT '',"
        " stopped TEXT NOT NULL DEFAULT '',"
        " last_upload INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '',"
        " last_error_at INTEGER NOT NULL DEFAULT 0,"
        " next_seq INTEGER NOT NULL DEFAULT 1,"
        " outbox_full INTEGER NOT NULL DEFAULT 0"
        ");"},
    {3, "ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT 'active'"
        "  CHECK (state IN ('active', 'silent', 'disconnected'));"
        "ALTER TABLE devices ADD COLUMN state_since INTEGER NOT NULL DEFAULT 0;"
        "UPDATE devices SET state_since = first_seen;"
        "CREATE TABLE events ("
        " id INTEGER PRIMARY KEY,"
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " detail TEXT NOT NULL DEFAULT ''"
        ");"
        "CREATE INDEX events_device ON events(device_id, t);"
        "CREATE TABLE event_queue ("
        " event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
        " batch INTEGER"
        ");"
        "CREATE INDEX event_queue_batch ON event_queue(batch) WHERE batch > 0;"
        "CREATE TRIGGER events_queue_ins AFTER INSERT ON events BEGIN"
        " INSERT INTO event_queue (event_id) VALUES (NEW.id); END;"},
    {4, "CREATE TABLE IF NOT EXISTS upload_problems ("
        " id INTEGER PRIMARY KEY,"
        " at INTEGER NOT NULL,"
        " batch_id TEXT NOT NULL DEFAULT '',"
        " what TEXT NOT NULL,"
        " device TEXT NOT NULL DEFAULT '',"
        " t INTEGER,"
        " readings INTEGER NOT NULL DEFAULT 0,"
        " events INTEGER NOT NULL DEFAULT 0,"
        " error TEXT NOT NULL DEFAULT ''"
        ");"
        "CREATE INDEX IF NOT EXISTS upload_problems_at ON upload_problems(at);"},
    {5, "CREATE TABLE schedule ("
        " job TEXT PRIMARY KEY,"
        " last_start INTEGER NOT NULL DEFAULT 0,"
        " fingerprint TEXT NOT NULL DEFAULT ''"
        ") WITHOUT ROWID;"},
    /* MERGE NOTE: version 6 belongs to another branch; this empty step keeps the versions
     * contiguous until it is merged, and is replaced by its real step 6 then. */
    {6, "SELECT 1;"},
    {7, "CREATE TABLE IF NOT EXISTS meter_reads ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " t INTEGER NOT NULL,"
        " name TEXT NOT NULL,"
        " unit TEXT NOT NULL DEFAULT '',"
        " source TEXT NOT NULL DEFAULT '',"
        " value INTEGER NOT NULL,"
        " flag TEXT NOT NULL DEFAULT '',"
        " note TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (device_id, t, name)"
        ") WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS meter_reads_name ON meter_reads(device_id, name, t);"
        "CREATE TABLE IF NOT EXISTS alerts ("
        " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        " key TEXT NOT NULL,"
        " idx INTEGER NOT NULL DEFAULT 0,"
        " severity INTEGER NOT NULL DEFAULT 0,"
        " training INTEGER NOT NULL DEFAULT 0,"
        " grp INTEGER NOT NULL DEFAULT 0,"
        " group_index INTEGER NOT NULL DEFAULT -1,"
        " location INTEGER NOT NULL DEFAULT -1,"
        " code INTEGER NOT NULL DEFAULT 0,"
        " description TEXT NOT NULL DEFAULT '',"
        " critical INTEGER NOT NULL DEFAULT 0,"
        " first_seen INTEGER NOT NULL DEFAULT 0,"
        " last_seen INTEGER NOT NULL DEFAULT 0,"
        " cleared_at INTEGER NOT NULL DEFAULT 0,"
        " raised INTEGER NOT NULL DEFAULT 0," /* 1: its critical event was recorded */
        " PRIMARY KEY (device_id, key)"
        ");"},
};

#define ASR_SCHEMA_STEPS (sizeof(asr_schema_steps) / sizeof(asr_schema_steps[0]))

#endif
