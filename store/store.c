/* store.c: the agent's SQLite database; the only agent code that includes sqlite3.h.
 *
 * Reading order: the levels codec (pure), error conversion, statement cache, opening
 * and migrating, saving a device (the hot path of a poll), failures, and the walks.
 *
 * Why it looks like this:
 * - Every SQLite call is checked where it is made and converted (store_fail(), through
 *   store/sqlutil.h, the plumbing shared with asr-central's store) into an asr_result
 *   with a message "PATH: what: why" kept in the handle and logged once.
 * - Every statement of the agent is a row of stmt_sql[]: prepared once per handle on
 *   first use (SQLITE_PREPARE_PERSISTENT), reset after each use. A poll of 1000
 *   printers is 1000 short transactions of a dozen cached statements each.
 * - Printers' strings are always bound as parameters, with their bounded length.
 * - Opening never writes before it knows the file is a database of a version we
 *   understand: the version check only reads, and migrations run in transactions. */
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/colorant.h"
#include "store/schema.h"
#include "store/sqlutil.h"

#define LEVELS_FORMAT 1
#define STORE_ERR_MAX 512

/* ---------------------------------------------------------------------------------------
 * The levels blob (format in store/schema.h): a format byte, then per supply
 *   head  = zigzag(index - previous index) * 2 + (max == previous max)   (varint)
 *   level = zigzag(level)                                                (varint)
 *   max   = zigzag(max), only when the head's low bit is 0               (varint)
 * The previous index and max start at 0. Supplies of one kind share a maximum, so most
 * entries drop it. Pure code: no SQLite here. */

static uint64_t zigzag(int64_t v)
{
  return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t unzigzag(uint64_t u)
{
  return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

/* Writes u as LEB128 at buf[*pos] (bounded by cap); false when it does not fit. */
static bool put_varint(uint8_t *buf, size_t cap, size_t *pos, uint64_t u)
{
  do {
    if (*pos >= cap)
      return false;
    buf[(*pos)++] = (uint8_t)((u & 0x7f) | (u > 0x7f ? 0x80 : 0));
    u >>= 7;
  } while (u);
  return true;
}

/* Reads one LEB128 varint at buf[*pos]; false when truncated or longer than 64 bits. */
static bool get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
  uint64_t u = 0;

  for (unsigned shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (*pos >= len)
      return false;
    b = buf[(*pos)++];
    if (shift == 63 && b > 1)
      return false;
    u |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = u;
      return true;
    }
  }
  return false;
}

/* Index deltas of int32 values fit in 33 bits: the head never overflows. */
static bool put_level(uint8_t *buf, size_t cap, size_t *pos, const asr_store_level *lv,
                      int64_t prev_index, int64_t prev_max)
{
  bool same = lv->max == prev_max;
  uint64_t head = zigzag((int64_t)lv->index - prev_index) << 1 | (same ? 1 : 0);

  if (!put_varint(buf, cap, pos, head) || !put_varint(buf, cap, pos, zigzag(lv->level)))
    return false;
  return same || put_varint(buf, cap, pos, zigzag(lv->max));
}

size_t asr_store_levels_encode(const asr_store_level *lv, size_t n, uint8_t *buf, size_t cap)
{
  size_t pos = 0;
  int64_t prev_index = 0, prev_max = 0;

  if (n > ASR_SUPPLIES_MAX || cap < 1)
    return 0;
  buf[pos++] = LEVELS_FORMAT;
  for (size_t i = 0; i < n; i++) {
    if (!put_level(buf, cap, &pos, &lv[i], prev_index, prev_max))
      return 0;
    prev_index = lv[i].index;
    prev_max = lv[i].max;
  }
  return pos;
}

/* Decodes one entry; false on truncation or an index outside int32. */
static bool get_level(const uint8_t *buf, size_t len, size_t *pos, asr_store_level *out,
                      int64_t prev_index, int64_t prev_max)
{
  uint64_t head, level, max;
  int64_t delta;

  if (!get_varint(buf, len, pos, &head) || !get_varint(buf, len, pos, &level))
    return false;
  if (head & 1)
    max = zigzag(prev_max);
  else if (!get_varint(buf, len, pos, &max))
    return false;
  delta = unzigzag(head >> 1);
  if (delta < INT32_MIN - prev_index || delta > INT32_MAX - prev_index)
    return false;
  out->index = (int32_t)(prev_index + delta);
  out->level = unzigzag(level);
  out->max = unzigzag(max);
  return true;
}

size_t asr_store_levels_decode(const uint8_t *buf, size_t len, asr_store_level *out, size_t cap)
{
  size_t pos = 1, n = 0;
  int64_t prev_index = 0, prev_max = 0;

  if (!buf || len < 1 || buf[0] != LEVELS_FORMAT)
    return 0;
  while (n < cap && pos < len && get_level(buf, len, &pos, &out[n], prev_index, prev_max)) {
    prev_index = out[n].index;
    prev_max = out[n].max;
    n++;
  }
  return n;
}

/* ---------------------------------------------------------------------------------------
 * The handle, error conversion and the statement cache. */

typedef enum {
  S_BEGIN,
  S_COMMIT,
  S_ROLLBACK,
  S_FIND_SERIAL,
  S_FIND_MAC,
  S_FIND_KEY,
  S_INSERT_DEVICE,
  S_UPDATE_IDENTITY,
  S_UPDATE_CRED,
  S_SUPERSEDE,
  S_UPDATE_POLL,
  S_DELETE_SUPPLIES,
  S_INSERT_SUPPLY,
  S_INSERT_READING,
  S_FAIL_DEVICE,
  S_INSERT_FAILURE,
  S_LIST,
  S_GET_DEVICE,
  S_GET_SUPPLIES,
  S_MATCH,
  S_COUNT
} stmt_id;

#define DEVICE_ROW " id, key, serial, mac, ip, port, ip_current "

/* Every statement of the agent: one row each, prepared on first use. */
static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* the device with this serial (a serial wins) */
    [S_FIND_SERIAL] = "SELECT" DEVICE_ROW "FROM devices WHERE serial = ?1 AND serial <> ''"
                      " ORDER BY last_seen DESC LIMIT 1",
    /* the device with this MAC; without serial when ?2 (the new serial) is not empty */
    [S_FIND_MAC] = "SELECT" DEVICE_ROW "FROM devices WHERE mac = ?1 AND mac <> ''"
                   " AND (?2 = '' OR serial = '') ORDER BY last_seen DESC LIMIT 1",
    /* the device with this key ("ip:A" when it has neither serial nor MAC) */
    [S_FIND_KEY] = "SELECT" DEVICE_ROW "FROM devices WHERE key = ?1",
    [S_INSERT_DEVICE] = "INSERT INTO devices (key, first_seen) VALUES (?1, ?2)",
    /* identity: an empty value keeps what we know */
    [S_UPDATE_IDENTITY] =
        "UPDATE devices SET key = ?2, serial = ?3, mac = ?4, ip = coalesce(nullif(?5, ''), ip),"
        " ip_current = 1,"
        " port = ?6, sys_object_id = coalesce(nullif(?7, ''), sys_object_id),"
        " vendor = coalesce(nullif(?8, ''), vendor), model = coalesce(nullif(?9, ''), model),"
        " sys_descr = coalesce(nullif(?10, ''), sys_descr),"
        " sys_name = coalesce(nullif(?11, ''), sys_name), is_printer = ?12,"
        " last_seen = max(last_seen, ?13) WHERE id = ?1",
    [S_UPDATE_CRED] = "UPDATE devices SET snmp_version = ?2, community = ?3, v3_user = ?4,"
                      " auth_proto = ?5, auth_pass = ?6, priv_proto = ?7, priv_pass = ?8,"
                      " context = ?9 WHERE id = ?1",
    /* another device now answers at this address */
    [S_SUPERSEDE] = "UPDATE devices SET ip_current = 0 WHERE ip = ?1 AND id <> ?2"
                    " AND ip_current = 1",
    [S_UPDATE_POLL] = "UPDATE devices SET last_good_poll = max(last_good_poll, ?2),"
                      " last_reading_at = max(last_reading_at, ?2), failed_polls = 0,"
                      " printer_status = ?3, error_bits = ?4, page_count = ?5 WHERE id = ?1",
    [S_DELETE_SUPPLIES] = "DELETE FROM supplies WHERE device_id = ?1",
    /* OR REPLACE: a device listing one index twice must not fail the save (the model
     * lists each once; the reading keeps the same, last, one: save_levels) */
    [S_INSERT_SUPPLY] = "INSERT OR REPLACE INTO supplies (device_id, idx, hr_index, description,"
                        " part_number, type, class, unit, colorant, max_capacity, level,"
                        " percent, state)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [S_INSERT_READING] = "INSERT INTO readings (device_id, t, page_count, levels)"
                         " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id, t) DO UPDATE"
                         " SET page_count = excluded.page_count, levels = excluded.levels",
    [S_FAIL_DEVICE] = "UPDATE devices SET failed_polls = failed_polls + 1,"
                      " last_failure_at = ?2, last_failure = ?3 WHERE id = ?1",
    [S_INSERT_FAILURE] = "INSERT INTO poll_failures (device_id, t, code, reason)"
                         " VALUES (?1, ?2, ?3, ?4)",
    [S_LIST] = "SELECT id, serial, key, ip, ip_current FROM devices"
               " ORDER BY ip COLLATE asr_ip, id",
    [S_GET_DEVICE] =
        "SELECT serial, mac, ip, port, sys_object_id, vendor, model, sys_descr, sys_name,"
        " is_printer, snmp_version, community, v3_user, auth_proto, auth_pass, priv_proto,"
        " priv_pass, context, first_seen, last_seen, last_good_poll, last_reading_at,"
        " last_failure_at, last_failure, failed_polls, printer_status, error_bits,"
        " page_count, readings, ip_current FROM devices WHERE id = ?1",
    [S_GET_SUPPLIES] = "SELECT idx, hr_index, description, part_number, type, class, unit,"
                       " colorant, max_capacity, level, percent, state FROM supplies"
                       " WHERE device_id = ?1 ORDER BY idx",
    [S_MATCH] = "SELECT 1 FROM devices WHERE ?1 <> '' AND (serial = ?1 OR key = ?1"
                " OR (ip = ?1 AND ip_current = 1)) LIMIT 1",
};

struct asr_store {
  asr_sql sql; /* the connection (store/sqlutil.h): db, and path, err, stmt as its own */
  char *path;
  char err[STORE_ERR_MAX];
  sqlite3_stmt *stmt[S_COUNT];
};

static int busy_timeout_ms = 5000;

void asr_store_set_busy_timeout(int ms)
{
  busy_timeout_ms = ms < 0 ? 0 : ms;
}

const char *asr_store_errmsg(asr_store *st)
{
  if (!st)
    return "no database";
  return st->err[0] ? st->err : "no error";
}

/* The result of a failed SQLite call rc; sys_err is the operating system's error of the
 * last file operation (a full disk shows as SQLITE_FULL, or as an I/O error with ENOSPC). */
static asr_result result_for(int rc, int sys_err)
{
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ASR_ERR_DB_LOCKED;
  case SQLITE_NOMEM:
    return ASR_ERR_NOMEM;
  case SQLITE_FULL:
    return ASR_ERR_DISK_FULL;
  case SQLITE_CORRUPT:
    return ASR_ERR_DB_CORRUPT;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
    return asr_platform_disk_full_error(sys_err) ? ASR_ERR_DISK_FULL : ASR_ERR_DB;
  default:
    return ASR_ERR_DB;
  }
}

/* The folder holding path ("." when path has none), for messages about its disk. */
static void folder_of(const char *path, char *dir, size_t n)
{
  size_t len = strlen(path);

  while (len > 0 && !asr_platform_is_sep(path[len - 1]))
    len--;
  while (len > 1 && asr_platform_is_sep(path[len - 1]))
    len--;
  if (len == 0)
    asr_strlcpy_cut(dir, ".", n);
  else if (asr_fmt(dir, n, "%.*s", (int)len, path) != ASR_OK)
    asr_strlcpy_cut(dir, "its folder", n);
}

/* SQLite's text of a problem as one line of printable ASCII, at most 160 bytes (quick_check
 * answers hold newlines; a damaged schema's message may quote bytes of the file). */
static void one_line(const char *src, char *dst, size_t n)
{
  size_t j = 0;

  for (size_t i = 0; src[i] && j + 1 < n && j < 160; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[j++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  dst[j] = '\0';
}

/* The message of a damaged database: what, and how to recover (asr-agent(8), RECOVERY). */
static asr_result damaged(asr_sql *c, const char *why)
{
  asr_sql_set_err(c,
                  "%s: the database is damaged (%s): nothing is written to it; to recover,"
                  " move it aside and enrol again (the readings already uploaded are at the"
                  " central): see RECOVERY in asr-agent(8)",
                  c->path, why);
  return ASR_ERR_DB_CORRUPT;
}

/* The message of a full disk, naming the folder; what was stored stays. */
static asr_result disk_full(asr_sql *c, const char *what)
{
  char dir[512];

  folder_of(c->path, dir, sizeof(dir));
  asr_sql_set_err(c,
                  "%s: %s: the disk is full (no space left in %s): free some space there;"
                  " everything stored before is kept",
                  c->path, what, dir);
  return ASR_ERR_DISK_FULL;
}

/* The agent's conversion of a failed SQLite call (rc) while doing `what` (asr_sql.fail):
 * a locked, full, damaged or foreign file gets a message that says what to do. */
static asr_result store_fail(asr_sql *c, int rc, const char *what)
{
  asr_result r = result_for(rc, c->db ? sqlite3_system_errno(c->db) : 0);
  char why[256];

  if (r == ASR_ERR_DB_LOCKED) {
    asr_sql_set_err(c, "%s: database is locked by another process", c->path);
  } else if (r == ASR_ERR_DISK_FULL) {
    disk_full(c, what);
  } else if (r == ASR_ERR_DB_CORRUPT) {
    one_line(c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), why, sizeof(why));
    damaged(c, why);
  } else if ((rc & 0xff) == SQLITE_NOTADB) {
    asr_sql_set_err(c,
                    "%s: file is not a database (or its first page is damaged): nothing is"
                    " written to it; see RECOVERY in asr-agent(8)",
                    c->path);
  } else {
    asr_sql_set_err(c, "%s: %s: %s", c->path, what,
                    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
  }
  return r;
}

static asr_result db_fail(asr_store *st, int rc, const char *what)
{
  return asr_sql_fail(&st->sql, rc, what);
}

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result stmt_get(asr_store *st, stmt_id id, sqlite3_stmt **out)
{
  return asr_sql_cached(&st->sql, id, stmt_sql[id], out);
}

/* Runs a cached statement without parameters. */
static asr_result exec_id(asr_store *st, stmt_id id, const char *what)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, id, &s);

  if (r)
    return r;
  return asr_sql_run(&st->sql, s, what);
}

static asr_result tx_begin(asr_store *st)
{
  return exec_id(st, S_BEGIN, "starting a transaction");
}

static asr_result tx_commit(asr_store *st)
{
  return exec_id(st, S_COMMIT, "committing");
}

/* Binds a bounded string field (printers' strings may lack their NUL: never trusted). */
static void bind_str(sqlite3_stmt *s, int i, const char *v, size_t cap)
{
  size_t n = v ? strnlen(v, cap) : 0;

  sqlite3_bind_text(s, i, v ? v : "", (int)n, SQLITE_STATIC);
}

#define BIND_FIELD(s, i, field) bind_str((s), (i), (field), sizeof(field))

/* ---------------------------------------------------------------------------------------
 * Opening: the file and its directory, the version check, pragmas, migrations. */

/* Orders IPv4 addresses numerically, before any other address, then bytewise. */
static bool parse_ipv4(const char *s, int len, uint32_t *out)
{
  uint32_t v = 0, part = 0;
  int dots = 0, digits = 0;

  for (int i = 0; i < len; i++) {
    if (s[i] == '.') {
      if (!digits || ++dots > 3)
        return false;
      v = v << 8 | part;
      part = 0;
      digits = 0;
    } else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
      part = part * 10 + (uint32_t)(s[i] - '0');
      digits++;
      if (part > 255)
        return false;
    } else {
      return false;
    }
  }
  if (dots != 3 || !digits)
    return false;
  *out = v << 8 | part;
  return true;
}

static int ip_collate(void *unused, int alen, const void *a, int blen, const void *b)
{
  uint32_t va, vb;
  bool a4 = parse_ipv4(a, alen, &va), b4 = parse_ipv4(b, blen, &vb);
  int c;

  (void)unused;
  if (a4 && b4)
    return va < vb ? -1 : va > vb;
  if (a4 != b4)
    return a4 ? -1 : 1;
  c = memcmp(a, b, (size_t)(alen < blen ? alen : blen));
  if (c)
    return c;
  return alen < blen ? -1 : alen > blen;
}

/* Creates the missing directories of path's parent (0700). */
static asr_result make_parents(asr_store *st)
{
  char dir[PATH_MAX];
  asr_result r = asr_strlcpy(dir, st->path, sizeof(dir));

  if (r) {
    asr_sql_set_err(&st->sql, "%s: path too long", st->path);
    return ASR_ERR_DB;
  }
  for (char *p = dir + 1; *p; p++) {
    if (!asr_platform_is_sep(*p))
      continue;
    *p = '\0';
    if (asr_platform_mkdir_private(dir) != ASR_OK) {
      asr_sql_set_err(&st->sql, "%s: cannot create directory %s: %s", st->path, dir,
                      strerror(errno));
      return ASR_ERR_DB;
    }
    *p = '/';
  }
  return ASR_OK;
}

/* True when path has a rollback journal, or a WAL with frames: another process is
 * writing it (or crashed doing so), and SQLite's locks and recovery decide. */
static bool has_journal(const char *path)
{
  char p[PATH_MAX];
  int64_t size = 0;

  if (asr_fmt(p, sizeof(p), "%s-journal", path) == ASR_OK && asr_platform_file_size(p, &size))
    return true;
  return asr_fmt(p, sizeof(p), "%s-wal", path) == ASR_OK && asr_platform_file_size(p, &size) &&
         size > 0;
}

/* An existing file is only stat'ed, never opened here: closing any descriptor of a file
 * drops the POSIX locks that other SQLite connections of this process hold on it. A file
 * of 0 bytes is refused: SQLite would take it for a new database and the agent would
 * start afresh, unenrolled, over what may have been its data (this program never leaves
 * one: create_db; another SQLite program creating a database has its journal beside). */
static asr_result check_existing(asr_store *st, int64_t size)
{
  if (!asr_platform_is_rw_file(st->path)) {
    asr_sql_set_err(&st->sql, "%s: cannot open: %s", st->path, strerror(errno));
    return ASR_ERR_DB;
  }
  if (size == 0 && !has_journal(st->path)) {
    asr_sql_set_err(&st->sql,
                    "%s: the file is empty (0 bytes), not an asr-agent database: nothing is written"
                    " to it; if it held the agent's data see RECOVERY in asr-agent(8), else remove"
                    " it and a new database is created",
                    st->path);
    return ASR_ERR_DB_CORRUPT;
  }
  return ASR_OK;
}

static asr_result create_db(asr_store *st);

/* Checks an existing file, or creates a new database when there is none. */
static asr_result prepare_file(asr_store *st)
{
  int64_t size = 0;

  if (asr_platform_file_size(st->path, &size))
    return check_existing(st, size);
  if (errno != ENOENT) {
    asr_sql_set_err(&st->sql, "%s: cannot open: %s", st->path, strerror(errno));
    return ASR_ERR_DB;
  }
  return create_db(st);
}

int asr_store_schema_latest(void)
{
  return asr_sql_schema_latest(asr_schema_steps, ASR_SCHEMA_STEPS);
}

int asr_store_schema_version(asr_store *st)
{
  int v = -1;

  if (!st || asr_sql_query_int(&st->sql, "PRAGMA user_version", "reading the schema version", &v) !=
                 ASR_OK)
    return -1;
  return v;
}

/* WAL, synchronous NORMAL (safe with WAL), foreign keys. */
static asr_result set_pragmas(asr_store *st)
{
  char mode[16] = "";
  asr_result r = asr_sql_journal_wal(&st->sql, mode, sizeof(mode));

  if (r)
    return r;
  if (strcmp(mode, "wal") != 0)
    asr_log(ASR_LOG_WARN, "%s: WAL mode unavailable, journal mode is %s", st->path,
            mode[0] ? mode : "unknown");
  return asr_sql_exec(&st->sql, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
                      "setting the connection options");
}

/* SQLite's quick_check (every page of every table and index, without comparing indexes
 * with their tables): a damaged file is refused before anything is written to it. About
 * 2 s for the largest databases (1,000 printers after a year, 600 MB). */
static asr_result check_integrity(asr_store *st)
{
  sqlite3_stmt *s = NULL;
  asr_result r = ASR_OK;
  char why[256];
  int rc = sqlite3_prepare_v2(st->sql.db, "PRAGMA quick_check(1)", -1, &s, NULL);

  if (rc == SQLITE_OK)
    rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(s, 0);

    if (!v || strcmp(v, "ok") != 0) {
      static const char prefix[] = "*** in database main ***";
      if (v && strncmp(v, prefix, sizeof(prefix) - 1) == 0)
        v += sizeof(prefix) - 1 + strspn(v + sizeof(prefix) - 1, " \n");
      one_line(v ? v : "no answer from the check", why, sizeof(why));
      r = damaged(&st->sql, why);
    }
  } else if (rc != SQLITE_DONE) {
    r = db_fail(st, rc, "checking the database");
  }
  sqlite3_finalize(s);
  return r;
}

/* Opens the SQLite connection with the agent's options (no I/O on the file yet). */
static asr_result connect_db(asr_store *st)
{
  asr_result r = asr_sql_open(&st->sql, SQLITE_OPEN_READWRITE, busy_timeout_ms);
  int rc;

  if (r)
    return r;
  sqlite3_extended_result_codes(st->sql.db, 1);
  rc = sqlite3_create_collation(st->sql.db, "asr_ip", SQLITE_UTF8, NULL, ip_collate);
  if (rc != SQLITE_OK)
    return db_fail(st, rc, "registering the address order");
  return ASR_OK;
}

/* Opens, checks (read-only so far), then sets the options and migrates. */
static asr_result open_db(asr_store *st, asr_store_mode mode)
{
  int version = 0;
  asr_result r = connect_db(st);

  if (!r)
    r = asr_sql_check_version(&st->sql, asr_schema_steps, ASR_SCHEMA_STEPS, "asr-agent", &version);
  if (!r && sqlite3_db_readonly(st->sql.db, "main") == 1) {
    asr_sql_set_err(&st->sql, "%s: cannot write the database (permission denied)", st->path);
    r = ASR_ERR_DB;
  }
  if (!r && (mode == ASR_STORE_VERIFY || version < asr_store_schema_latest()))
    r = check_integrity(st);
  if (!r)
    r = set_pragmas(st);
  if (!r)
    r = asr_sql_migrate(&st->sql, asr_schema_steps, ASR_SCHEMA_STEPS, "asr-agent");
  return r;
}

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = malloc(n);

  if (p)
    memcpy(p, s, n);
  return p;
}

static asr_store *store_new(const char *path)
{
  asr_store *st = calloc(1, sizeof(*st));

  if (st)
    st->path = dup_str(path);
  if (st && !st->path) {
    free(st);
    return NULL;
  }
  if (st)
    st->sql = (asr_sql){.path = st->path,
                        .err = st->err,
                        .errn = sizeof(st->err),
                        .fail = store_fail,
                        .cache = st->stmt,
                        .ncache = S_COUNT};
  return st;
}

/* Removes a temporary database with its WAL and shared-memory files. */
static void remove_db_files(const char *path)
{
  static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
  char p[PATH_MAX];

  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
    if (asr_fmt(p, sizeof(p), "%s%s", path, ext[i]) == ASR_OK)
      remove(p);
  }
}

/* Sets up the schema in the new file tmp and writes it all into the main file (WAL
 * checkpointed and gone), so that the file is a whole database before it gets its name. */
static asr_result init_tmp(asr_store *st, const char *tmp)
{
  asr_store *t = store_new(tmp);
  asr_result r = t ? open_db(t, ASR_STORE_TRUST) : ASR_ERR_NOMEM;
  int rc;

  if (!r) {
    rc = sqlite3_wal_checkpoint_v2(t->sql.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK)
      r = db_fail(t, rc, "writing the new database");
  }
  if (r == ASR_ERR_DISK_FULL)
    disk_full(&st->sql, "creating the database");
  else if (r && t)
    asr_sql_set_err(&st->sql, "%s: cannot create the database: %s", st->path, t->err);
  asr_store_close(t);
  return r;
}

/* Creates a new database at st->path: built whole under a temporary name, then renamed
 * into place only if no file appeared there meanwhile (two processes creating it at once
 * end up sharing one). No empty file is ever left at st->path, even on a crash or a full
 * disk: an empty file there is refused (check_existing). */
static asr_result create_db(asr_store *st)
{
  char tmp[PATH_MAX];
  int created, moved;
  asr_result r;

  if (asr_fmt(tmp, sizeof(tmp), "%s.new-%lu", st->path, asr_platform_pid()) != ASR_OK) {
    asr_sql_set_err(&st->sql, "%s: path too long", st->path);
    return ASR_ERR_DB;
  }
  remove_db_files(tmp); /* left by a crashed process that had our id */
  created = asr_platform_create_private(tmp);
  if (created != 1) {
    if (errno == ENOSPC || asr_platform_disk_full_error(errno))
      return disk_full(&st->sql, "creating the database");
    asr_sql_set_err(&st->sql, "%s: cannot create: %s", st->path, strerror(errno));
    return ASR_ERR_DB;
  }
  r = init_tmp(st, tmp);
  moved = r ? -1 : asr_platform_rename_new(tmp, st->path);
  if (!r && moved < 0) {
    asr_sql_set_err(&st->sql, "%s: cannot create: %s", st->path, strerror(errno));
    r = ASR_ERR_DB;
  }
  if (moved != 1)
    remove_db_files(tmp);
  if (!r && moved == 1)
    asr_log(ASR_LOG_INFO, "%s: new database created", st->path);
  return r;
}

asr_result asr_store_open_mode(const char *path, asr_store_mode mode, asr_store **out, char *err,
                               size_t n)
{
  asr_store *st;
  asr_result r;

  *out = NULL;
  if (err && n)
    err[0] = '\0';
  if (!path || !path[0]) {
    if (err && n)
      asr_strlcpy_cut(err, "no database path", n);
    return ASR_ERR_INVALID;
  }
  st = store_new(path);
  if (!st)
    return ASR_ERR_NOMEM;
  r = make_parents(st);
  if (!r)
    r = prepare_file(st);
  if (!r)
    r = open_db(st, mode);
  if (!r)
    asr_sql_narrow(st->path, "credentials");
  if (r) {
    if (err && n)
      asr_strlcpy_cut(err, st->err, n);
    asr_store_close(st);
    return r;
  }
  *out = st;
  return ASR_OK;
}

asr_result asr_store_open(const char *path, asr_store **out, char *err, size_t n)
{
  return asr_store_open_mode(path, ASR_STORE_VERIFY, out, err, n);
}

const char *asr_store_path(const asr_store *st)
{
  return st ? st->path : "";
}

asr_result asr_store_free_space(const asr_store *st, int64_t *bytes, char *dir, size_t n)
{
  if (!st || n == 0)
    return ASR_ERR_INVALID;
  folder_of(st->path, dir, n);
  return asr_platform_free_space(dir, bytes);
}

void asr_store_close(asr_store *st)
{
  if (!st)
    return;
  asr_sql_close(&st->sql);
  free(st->path);
  free(st);
}

/* ---------------------------------------------------------------------------------------
 * Saving a device: identity, credentials, supplies and a reading, in one transaction. */

typedef struct {
  int64_t id; /* 0: no such device yet */
  char serial[128];
  char mac[18];
  char ip[48];
  uint16_t port;
  bool ip_current;
} found_device;

/* Runs a S_FIND_* query with up to two text parameters; fills f when a row comes. */
static asr_result lookup(asr_store *st, stmt_id sid, const char *a, const char *b, found_device *f)
{
  sqlite3_stmt *s = NULL;
  bool row;
  asr_result r = stmt_get(st, sid, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
  if (b)
    sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
  r = asr_sql_row(&st->sql, s, "looking up a device", &row);
  if (!r && row) {
    f->id = sqlite3_column_int64(s, 0);
    asr_sql_col_cut(s, 2, f->serial, sizeof(f->serial));
    asr_sql_col_cut(s, 3, f->mac, sizeof(f->mac));
    asr_sql_col_cut(s, 4, f->ip, sizeof(f->ip));
    f->port = (uint16_t)sqlite3_column_int(s, 5);
    f->ip_current = sqlite3_column_int(s, 6) != 0;
  }
  asr_sql_done(s);
  return r;
}

/* A serial wins; else a MAC (only a device without serial when we have one); else the
 * key of the address. serial, mac and key are the NUL-terminated values of dev. */
static asr_result find_device(asr_store *st, const char *serial, const char *mac, const char *key,
                              found_device *f)
{
  asr_result r;

  memset(f, 0, sizeof(*f));
  if (serial[0]) {
    r = lookup(st, S_FIND_SERIAL, serial, NULL, f);
    if (r || f->id)
      return r;
  }
  if (mac[0]) {
    r = lookup(st, S_FIND_MAC, mac, serial, f);
    if (r || f->id)
      return r;
  }
  if (serial[0] || mac[0])
    return ASR_OK;
  return lookup(st, S_FIND_KEY, key, NULL, f);
}

/* The identity of a save: dev's bounded strings, merged with what the store knows. */
typedef struct {
  char serial[128];
  char mac[18];
  char ip[48];
  char key[200];
} identity;

static asr_result make_key(identity *idn)
{
  if (idn->serial[0])
    return asr_fmt(idn->key, sizeof(idn->key), "serial:%s", idn->serial);
  if (idn->mac[0])
    return asr_fmt(idn->key, sizeof(idn->key), "mac:%s", idn->mac);
  if (idn->ip[0])
    return asr_fmt(idn->key, sizeof(idn->key), "ip:%s", idn->ip);
  return ASR_ERR_INVALID;
}

static void copy_field(char *dst, size_t cap, const char *src, size_t src_cap)
{
  size_t n = strnlen(src, src_cap);

  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Fills idn from dev and finds the device it is (f->id 0 when none). */
static asr_result identify(asr_store *st, const asr_device *dev, identity *idn, found_device *f)
{
  copy_field(idn->serial, sizeof(idn->serial), dev->serial, sizeof(dev->serial));
  copy_field(idn->mac, sizeof(idn->mac), dev->mac, sizeof(dev->mac));
  copy_field(idn->ip, sizeof(idn->ip), dev->ip, sizeof(dev->ip));
  if (make_key(idn) != ASR_OK) {
    asr_sql_set_err(&st->sql, "%s: a device without serial, MAC or address", st->path);
    return ASR_ERR_INVALID;
  }
  return find_device(st, idn->serial, idn->mac, idn->key, f);
}

asr_result asr_store_match_device(asr_store *st, const asr_device *dev, asr_store_match *out)
{
  identity idn;
  found_device f;
  asr_result r;

  if (!st || !dev || !out)
    return ASR_ERR_INVALID;
  memset(out, 0, sizeof(*out));
  r = identify(st, dev, &idn, &f);
  if (r || !f.id)
    return r;
  out->id = f.id;
  asr_strlcpy_cut(out->ip, f.ip, sizeof(out->ip));
  out->port = f.port;
  out->current = f.ip_current;
  return ASR_OK;
}

/* Finds or creates the device row of dev; *id receives it. */
static asr_result resolve_device(asr_store *st, const asr_device *dev, int64_t now, identity *idn,
                                 int64_t *id)
{
  found_device f;
  sqlite3_stmt *s = NULL;
  asr_result r;

  r = identify(st, dev, idn, &f);
  if (r)
    return r;
  if (f.id) {
    if (!idn->serial[0])
      asr_strlcpy_cut(idn->serial, f.serial, sizeof(idn->serial));
    if (!idn->mac[0])
      asr_strlcpy_cut(idn->mac, f.mac, sizeof(idn->mac));
    *id = f.id;
    return make_key(idn);
  }
  r = stmt_get(st, S_INSERT_DEVICE, &s);
  if (r)
    return r;
  sqlite3_bind_text(s, 1, idn->key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now);
  r = asr_sql_run(&st->sql, s, "adding a device");
  *id = sqlite3_last_insert_rowid(st->sql.db);
  return r;
}

/* Writes identity and address of device id, and supersedes others at that address. */
static asr_result save_identity(asr_store *st, int64_t id, const asr_device *dev,
                                const identity *idn, uint16_t port, int64_t now)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_UPDATE_IDENTITY, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, idn->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, idn->serial, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, idn->mac, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, idn->ip, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 6, port);
  BIND_FIELD(s, 7, dev->sys_object_id);
  BIND_FIELD(s, 8, dev->vendor);
  BIND_FIELD(s, 9, dev->model);
  BIND_FIELD(s, 10, dev->sys_descr);
  BIND_FIELD(s, 11, dev->sys_name);
  sqlite3_bind_int(s, 12, dev->is_printer ? 1 : 0);
  sqlite3_bind_int64(s, 13, now);
  r = asr_sql_run(&st->sql, s, "updating a device");
  if (r || !idn->ip[0])
    return r;
  r = stmt_get(st, S_SUPERSEDE, &s);
  if (r)
    return r;
  sqlite3_bind_text(s, 1, idn->ip, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, id);
  return asr_sql_run(&st->sql, s, "marking the previous device at an address");
}

static asr_result save_cred(asr_store *st, int64_t id, const asr_snmp_cred *c)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_UPDATE_CRED, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int(s, 2, (int)c->version);
  BIND_FIELD(s, 3, c->community);
  BIND_FIELD(s, 4, c->user);
  sqlite3_bind_text(s, 5, asr_snmp_auth_name(c->auth_proto), -1, SQLITE_STATIC);
  BIND_FIELD(s, 6, c->auth_pass);
  sqlite3_bind_text(s, 7, asr_snmp_priv_name(c->priv_proto), -1, SQLITE_STATIC);
  BIND_FIELD(s, 8, c->priv_pass);
  BIND_FIELD(s, 9, c->context);
  return asr_sql_run(&st->sql, s, "saving the credentials of a device");
}

static asr_result save_supply(asr_store *st, sqlite3_stmt *s, int64_t id, const asr_supply *p)
{
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int(s, 2, p->index);
  sqlite3_bind_int(s, 3, p->hr_index);
  BIND_FIELD(s, 4, p->description);
  BIND_FIELD(s, 5, p->part_number);
  sqlite3_bind_int(s, 6, p->type);
  sqlite3_bind_int(s, 7, p->klass);
  sqlite3_bind_int(s, 8, p->unit);
  BIND_FIELD(s, 9, p->colorant);
  if (p->has_max)
    sqlite3_bind_int64(s, 10, p->max);
  if (p->has_level)
    sqlite3_bind_int64(s, 11, p->level);
  sqlite3_bind_int(s, 12, p->percent);
  sqlite3_bind_text(s, 13, asr_supply_state_name(p->state), -1, SQLITE_STATIC);
  return asr_sql_run(&st->sql, s, "saving a supply");
}

/* Replaces the current supplies of device id with those of dev. */
static asr_result save_supplies(asr_store *st, int64_t id, const asr_device *dev, size_t n)
{
  sqlite3_stmt *s = NULL;
  asr_result r = stmt_get(st, S_DELETE_SUPPLIES, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = asr_sql_run(&st->sql, s, "removing old supplies");
  if (!r)
    r = stmt_get(st, S_INSERT_SUPPLY, &s);
  for (size_t i = 0; !r && i < n; i++)
    r = save_supply(st, s, id, &dev->supplies[i]);
  return r;
}

/* True when supply i of dev is listed again later (the later one is the one kept, as in
 * the supplies table: a supply is known by its index, once per reading). */
static bool listed_again(const asr_device *dev, size_t i, size_t n)
{
  for (size_t j = i + 1; j < n; j++) {
    if (dev->supplies[j].index == dev->supplies[i].index)
      return true;
  }
  return false;
}

/* The readings row: every supply's (index, level, max); not reported = -2 (unknown). */
static asr_result save_levels(asr_store *st, int64_t id, const asr_device *dev, size_t n,
                              int64_t now)
{
  asr_store_level lv[ASR_SUPPLIES_MAX];
  uint8_t blob[ASR_STORE_LEVELS_MAX];
  size_t len, k = 0;
  sqlite3_stmt *s = NULL;
  asr_result r;

  for (size_t i = 0; i < n; i++) {
    const asr_supply *p = &dev->supplies[i];

    if (listed_again(dev, i, n))
      continue;
    lv[k].index = p->index;
    lv[k].level = p->has_level ? p->level : -2;
    lv[k].max = p->has_max ? p->max : -2;
    k++;
  }
  len = asr_store_levels_encode(lv, k, blob, sizeof(blob));
  r = stmt_get(st, S_INSERT_READING, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, now);
  if (dev->has_page_count)
    sqlite3_bind_int64(s, 3, dev->page_count);
  sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_STATIC);
  return asr_sql_run(&st->sql, s, "saving a reading");
}

/* A good poll: supplies, the reading row, the device's status and poll counters. */
static asr_result save_reading(asr_store *st, int64_t id, const asr_device *dev, int64_t now)
{
  size_t n = dev->n_supplies;
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (n > ASR_SUPPLIES_MAX)
    n = ASR_SUPPLIES_MAX;
  r = save_supplies(st, id, dev, n);
  if (!r)
    r = save_levels(st, id, dev, n, now);
  if (!r)
    r = stmt_get(st, S_UPDATE_POLL, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, now);
  sqlite3_bind_int(s, 3, dev->printer_status);
  if (dev->has_error_state)
    sqlite3_bind_int64(s, 4, dev->error_bits);
  if (dev->has_page_count)
    sqlite3_bind_int64(s, 5, dev->page_count);
  return asr_sql_run(&st->sql, s, "saving the status of a device");
}

asr_result asr_store_begin(asr_store *st)
{
  return st ? tx_begin(st) : ASR_ERR_INVALID;
}

asr_result asr_store_commit(asr_store *st)
{
  return st ? tx_commit(st) : ASR_ERR_INVALID;
}

void asr_store_rollback(asr_store *st)
{
  if (st)
    asr_sql_rollback(&st->sql);
}

asr_result asr_store_save_device(asr_store *st, const asr_device *dev, uint16_t port,
                                 const asr_snmp_cred *cred, int64_t now, int64_t *id)
{
  identity idn;
  int64_t did = 0;
  asr_result r;

  if (!st || !dev)
    return ASR_ERR_INVALID;
  r = resolve_device(st, dev, now, &idn, &did);
  if (!r)
    r = save_identity(st, did, dev, &idn, port, now);
  if (!r && cred)
    r = save_cred(st, did, cred);
  if (!r && (dev->n_supplies > 0 || dev->has_page_count || dev->n_meters > 0))
    r = save_reading(st, did, dev, now);
  if (!r && id)
    *id = did;
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Failed polls. */

asr_result asr_store_record_failure(asr_store *st, int64_t id, int64_t now, asr_result code,
                                    const char *reason)
{
  sqlite3_stmt *s = NULL;
  asr_result r;

  if (!st)
    return ASR_ERR_INVALID;
  if (!reason)
    reason = "";
  r = tx_begin(st);
  if (!r)
    r = stmt_get(st, S_FAIL_DEVICE, &s);
  if (r)
    goto out;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, now);
  bind_str(s, 3, reason, 1024);
  r = asr_sql_run(&st->sql, s, "recording a failed poll");
  if (!r && sqlite3_changes(st->sql.db) == 0) {
    asr_sql_set_err(&st->sql, "%s: no device %lld", st->path, (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  if (!r)
    r = stmt_get(st, S_INSERT_FAILURE, &s);
  if (r)
    goto out;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, now);
  sqlite3_bind_int(s, 3, (int)code);
  bind_str(s, 4, reason, 1024);
  r = asr_sql_run(&st->sql, s, "recording a failed poll");
  if (!r)
    r = tx_commit(st);
out:
  if (r)
    asr_sql_rollback(&st->sql);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Loading and walking devices. */

static asr_snmp_cred load_cred(sqlite3_stmt *s, int col)
{
  asr_snmp_cred c;
  const char *name;
  int v = sqlite3_column_int(s, col);

  memset(&c, 0, sizeof(c));
  c.version = (v >= ASR_SNMP_V1 && v <= ASR_SNMP_V3) ? (asr_snmp_version)v : ASR_SNMP_V2C;
  asr_sql_col_cut(s, col + 1, c.community, sizeof(c.community));
  asr_sql_col_cut(s, col + 2, c.user, sizeof(c.user));
  name = (const char *)sqlite3_column_text(s, col + 3);
  if (!name || asr_snmp_auth_parse(name, &c.auth_proto) != ASR_OK)
    c.auth_proto = ASR_AUTH_NONE;
  asr_sql_col_cut(s, col + 4, c.auth_pass, sizeof(c.auth_pass));
  name = (const char *)sqlite3_column_text(s, col + 5);
  if (!name || asr_snmp_priv_parse(name, &c.priv_proto) != ASR_OK)
    c.priv_proto = ASR_PRIV_NONE;
  asr_sql_col_cut(s, col + 6, c.priv_pass, sizeof(c.priv_pass));
  asr_sql_col_cut(s, col + 7, c.context, sizeof(c.context));
  return c;
}

/* Fills d from a S_GET_DEVICE row (columns in the order of that statement). */
static void load_device_row(sqlite3_stmt *s, asr_store_device *d)
{
  asr_device *dev = &d->dev;

  asr_sql_col_cut(s, 0, dev->serial, sizeof(dev->serial));
  asr_sql_col_cut(s, 1, dev->mac, sizeof(dev->mac));
  asr_sql_col_cut(s, 2, dev->ip, sizeof(dev->ip));
  d->port = (uint16_t)sqlite3_column_int(s, 3);
  asr_sql_col_cut(s, 4, dev->sys_object_id, sizeof(dev->sys_object_id));
  asr_sql_col_cut(s, 5, dev->vendor, sizeof(dev->vendor));
  asr_sql_col_cut(s, 6, dev->model, sizeof(dev->model));
  asr_sql_col_cut(s, 7, dev->sys_descr, sizeof(dev->sys_descr));
  asr_sql_col_cut(s, 8, dev->sys_name, sizeof(dev->sys_name));
  dev->is_printer = sqlite3_column_int(s, 9) != 0;
  d->cred = load_cred(s, 10);
  d->first_seen = sqlite3_column_int64(s, 18);
  d->last_seen = sqlite3_column_int64(s, 19);
  d->last_good_poll = sqlite3_column_int64(s, 20);
  d->last_reading_at = sqlite3_column_int64(s, 21);
  d->last_failure_at = sqlite3_column_int64(s, 22);
  asr_sql_col_cut(s, 23, d->last_failure, sizeof(d->last_failure));
  d->failed_polls = (unsigned)sqlite3_column_int64(s, 24);
  dev->printer_status = sqlite3_column_int(s, 25);
  dev->has_error_state = sqlite3_column_type(s, 26) != SQLITE_NULL;
  dev->error_bits = (uint32_t)sqlite3_column_int64(s, 26);
  dev->has_page_count = sqlite3_column_type(s, 27) != SQLITE_NULL;
  dev->page_count = sqlite3_column_int64(s, 27);
  d->readings = sqlite3_column_int64(s, 28);
  d->superseded = sqlite3_column_int(s, 29) == 0;
}

static asr_supply_state state_from_name(const char *name)
{
  for (int i = 0; name && i < ASR_STATE_COUNT; i++) {
    if (strcmp(name, asr_supply_state_name((asr_supply_state)i)) == 0)
      return (asr_supply_state)i;
  }
  return ASR_STATE_UNKNOWN;
}

static void load_supply_row(sqlite3_stmt *s, asr_supply *p)
{
  const char *std;

  p->index = sqlite3_column_int(s, 0);
  p->hr_index = sqlite3_column_int(s, 1);
  asr_sql_col_cut(s, 2, p->description, sizeof(p->description));
  asr_sql_col_cut(s, 3, p->part_number, sizeof(p->part_number));
  p->type = sqlite3_column_int(s, 4);
  p->klass = sqlite3_column_int(s, 5);
  p->unit = sqlite3_column_int(s, 6);
  asr_sql_col_cut(s, 7, p->colorant, sizeof(p->colorant));
  /* derived, not stored: a name the table learns later applies to what is stored */
  std = asr_colorant_std(p->colorant);
  asr_strlcpy_cut(p->colorant_std, std ? std : "", sizeof(p->colorant_std));
  p->has_max = sqlite3_column_type(s, 8) != SQLITE_NULL;
  p->max = sqlite3_column_int64(s, 8);
  p->has_level = sqlite3_column_type(s, 9) != SQLITE_NULL;
  p->level = sqlite3_column_int64(s, 9);
  p->percent = sqlite3_column_int(s, 10);
  p->state = state_from_name((const char *)sqlite3_column_text(s, 11));
}

static asr_result load_supplies(asr_store *st, int64_t id, asr_device *dev)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_GET_SUPPLIES, &s);

  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  while (!r && dev->n_supplies < ASR_SUPPLIES_MAX) {
    r = asr_sql_row(&st->sql, s, "reading supplies", &row);
    if (r || !row)
      break;
    load_supply_row(s, &dev->supplies[dev->n_supplies++]);
  }
  asr_sql_done(s);
  return r;
}

asr_result asr_store_get(asr_store *st, int64_t id, asr_store_device *out)
{
  sqlite3_stmt *s = NULL;
  bool row;
  asr_result r;

  if (!st || !out)
    return ASR_ERR_INVALID;
  memset(out, 0, sizeof(*out));
  asr_device_init(&out->dev);
  out->id = id;
  r = stmt_get(st, S_GET_DEVICE, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  r = asr_sql_row(&st->sql, s, "reading a device", &row);
  if (!r && row)
    load_device_row(s, out);
  asr_sql_done(s);
  if (!r && !row)
    return ASR_ERR_NOT_FOUND;
  if (!r)
    r = load_supplies(st, id, &out->dev);
  return r;
}

/* True when the S_LIST row matches one of the selectors (serial, key, current address). */
static bool row_selected(sqlite3_stmt *s, const char *const *sel, size_t n_sel)
{
  const char *serial = (const char *)sqlite3_column_text(s, 1);
  const char *key = (const char *)sqlite3_column_text(s, 2);
  const char *ip = (const char *)sqlite3_column_text(s, 3);
  bool current = sqlite3_column_int(s, 4) != 0;

  if (n_sel == 0)
    return true;
  for (size_t i = 0; i < n_sel; i++) {
    const char *v = sel[i];
    if (!v || !v[0])
      continue;
    if ((serial && strcmp(v, serial) == 0) || (key && strcmp(v, key) == 0) ||
        (current && ip && strcmp(v, ip) == 0))
      return true;
  }
  return false;
}

typedef struct {
  int64_t *v;
  size_t n, cap;
} id_list;

static asr_result ids_push(id_list *l, int64_t id)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    int64_t *v = realloc(l->v, cap * sizeof(*v));
    if (!v)
      return ASR_ERR_NOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = id;
  return ASR_OK;
}

/* The ids of the selected devices in address order (read before any callback runs, so
 * the callbacks may write). */
static asr_result list_ids(asr_store *st, const char *const *sel, size_t n_sel, id_list *l)
{
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = stmt_get(st, S_LIST, &s);

  while (!r) {
    r = asr_sql_row(&st->sql, s, "listing devices", &row);
    if (r || !row)
      break;
    if (row_selected(s, sel, n_sel))
      r = ids_push(l, sqlite3_column_int64(s, 0));
  }
  if (s)
    asr_sql_done(s);
  return r;
}

asr_result asr_store_foreach_device(asr_store *st, const char *const *sel, size_t n_sel,
                                    asr_store_device_cb cb, void *ctx)
{
  id_list ids = {NULL, 0, 0};
  asr_store_device *d = NULL;
  asr_result r;

  if (!st || !cb || (n_sel && !sel))
    return ASR_ERR_INVALID;
  r = list_ids(st, sel, n_sel, &ids);
  if (!r && ids.n) {
    d = malloc(sizeof(*d));
    if (!d)
      r = ASR_ERR_NOMEM;
  }
  for (size_t i = 0; !r && i < ids.n; i++) {
    r = asr_store_get(st, ids.v[i], d);
    if (r == ASR_ERR_NOT_FOUND) {
      r = ASR_OK; /* deleted by a callback meanwhile */
      continue;
    }
    if (!r && cb(d, ctx))
      break;
  }
  if (d) {
    asr_secret_wipe(&d->cred, sizeof(d->cred));
    free(d);
  }
  free(ids.v);
  return r;
}

asr_result asr_store_unmatched(asr_store *st, const char *const *sel, size_t n_sel,
                               void (*cb)(const char *sel, void *ctx), void *ctx)
{
  sqlite3_stmt *s = NULL;
  bool row;
  asr_result r;

  if (!st || (n_sel && !sel))
    return ASR_ERR_INVALID;
  r = stmt_get(st, S_MATCH, &s);
  for (size_t i = 0; !r && i < n_sel; i++) {
    sqlite3_bind_text(s, 1, sel[i] ? sel[i] : "", -1, SQLITE_STATIC);
    r = asr_sql_row(&st->sql, s, "matching selectors", &row);
    asr_sql_done(s);
    if (!r && !row && cb)
      cb(sel[i] ? sel[i] : "", ctx);
  }
  return r;
}

/* ---------------------------------------------------------------------------------------
 * For the store's other files (outbox.c, events.c...): the connection. */

sqlite3 *asr_store_sqlite(asr_store *st)
{
  return st ? st->sql.db : NULL;
}

asr_sql *asr_store_sql(asr_store *st)
{
  return &st->sql;
}

void asr_store_set_error(asr_store *st, const char *msg)
{
  asr_sql_set_err(&st->sql, "%s: %s", st->path, msg);
}

/* ---------------------------------------------------------------------------------------
 * Walking readings. A private statement: the callback may use the store meanwhile. */

asr_result asr_store_foreach_reading(asr_store *st, int64_t id, int64_t since, int64_t until,
                                     asr_store_reading_cb cb, void *ctx)
{
  static const char sql[] = "SELECT t, page_count, levels FROM readings"
                            " WHERE device_id = ?1 AND t >= ?2 AND t < ?3 ORDER BY t";
  asr_store_level lv[ASR_SUPPLIES_MAX];
  sqlite3_stmt *s = NULL;
  bool row = true;
  asr_result r = ASR_OK;

  if (!st || !cb)
    return ASR_ERR_INVALID;
  r = asr_sql_prep(&st->sql, sql, &s);
  if (r)
    return r;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, since);
  sqlite3_bind_int64(s, 3, until);
  while (!r) {
    const uint8_t *blob;
    size_t n;
    r = asr_sql_row(&st->sql, s, "reading readings", &row);
    if (r || !row)
      break;
    blob = sqlite3_column_blob(s, 2);
    n = asr_store_levels_decode(blob, (size_t)sqlite3_column_bytes(s, 2), lv, ASR_SUPPLIES_MAX);
    if (cb(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
           sqlite3_column_type(s, 1) != SQLITE_NULL, lv, n, ctx))
      break;
  }
  sqlite3_finalize(s);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Retention: the daemon's daily pruning. One transaction; the readings still queued for
 * the central (upload_queue) are kept whatever their age, so pruning never loses data. */

asr_result asr_store_prune(asr_store *st, int64_t before, int64_t *n)
{
  static const char *const sql[] = {
      "DELETE FROM readings WHERE t < ?1 AND NOT EXISTS (SELECT 1 FROM upload_queue q"
      " WHERE q.t = readings.t AND q.device_id = readings.device_id)",
      "DELETE FROM poll_failures WHERE t < ?1",
  };
  asr_result r = ASR_OK;
  int64_t deleted = 0;
  int rc;

  if (!st)
    return ASR_ERR_INVALID;
  rc = sqlite3_exec(st->sql.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return db_fail(st, rc, "starting the pruning");
  for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && !r; i++) {
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(st->sql.db, sql[i], -1, &s, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_bind_int64(s, 1, before);
      rc = sqlite3_step(s);
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
      r = db_fail(st, rc, "pruning old readings");
    else if (i == 0)
      deleted = sqlite3_changes(st->sql.db);
    sqlite3_finalize(s);
  }
  rc = sqlite3_exec(st->sql.db, r ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  if (!r && rc != SQLITE_OK)
    r = db_fail(st, rc, "committing the pruning");
  if (!r && n)
    *n = deleted;
  return r;
}
