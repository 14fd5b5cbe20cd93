/* check_store.c: the SQLite store on real files in a temporary directory. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/sched.h"
#include "store/schema.h"
#include "store/save.h"
#include "store/store.h"
#include "tests/unit/testutil.h"

#define T0 1700000000

static char tmpdir[256];
static char dbpath[512];
static char logbuf[16384];
static size_t loglen;

static void capture_log(asr_log_level level, const char *msg, void *ctx)
{
  (void)level;
  (void)ctx;
  asr_append(logbuf, sizeof(logbuf), &loglen, "%s\n", msg);
}

static void setup(void)
{
  tu_tmpdir("check_store", tmpdir, sizeof(tmpdir));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/agent.db", tmpdir), ASR_OK);
  loglen = 0;
  logbuf[0] = '\0';
  asr_log_set_sink(capture_log, NULL);
  asr_log_set_level(ASR_LOG_DEBUG);
  asr_store_set_busy_timeout(5000);
}

static void teardown(void)
{
  tu_rmtree(tmpdir);
}

static asr_store *open_ok(void)
{
  asr_store *st = NULL;
  char err[512];
  asr_result r = asr_store_open(dbpath, &st, err, sizeof(err));

  ck_assert_msg(r == ASR_OK, "open: %s", err);
  ck_assert_ptr_nonnull(st);
  return st;
}

/* A raw connection, as another process would have. */
static sqlite3 *raw_open(const char *path)
{
  sqlite3 *db = NULL;

  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
  sqlite3_free(msg);
}

/* Reads a whole (small) file into buf; returns its length. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  size_t n;

  ck_assert_ptr_nonnull(f);
  n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void make_device(asr_device *d, const char *serial, const char *mac, const char *ip)
{
  asr_device_init(d);
  ck_assert_int_eq(asr_strlcpy(d->serial, serial, sizeof(d->serial)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->mac, mac, sizeof(d->mac)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->ip, ip, sizeof(d->ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d->model, "Model X", sizeof(d->model)), ASR_OK);
  d->is_printer = true;
}

static void add_supply(asr_device *d, int32_t index, int64_t level, int64_t max)
{
  asr_supply *p = &d->supplies[d->n_supplies++];

  memset(p, 0, sizeof(*p));
  p->index = index;
  p->has_level = p->has_max = true;
  p->level = level;
  p->max = max;
  p->percent = max > 0 && level >= 0 ? (int)(level * 100 / max) : ASR_PERCENT_NULL;
  p->state = ASR_STATE_OK;
  ck_assert_int_eq(asr_fmt(p->description, sizeof(p->description), "Supply %d", (int)index),
                   ASR_OK);
}

static asr_snmp_cred community(const char *c)
{
  asr_snmp_cred cred;

  memset(&cred, 0, sizeof(cred));
  cred.version = ASR_SNMP_V2C;
  ck_assert_int_eq(asr_strlcpy(cred.community, c, sizeof(cred.community)), ASR_OK);
  return cred;
}

static int64_t save(asr_store *st, const asr_device *d, int64_t now)
{
  asr_snmp_cred cred = community("s3cret-community");
  int64_t id = 0;

  ck_assert_int_eq(asr_store_save(st, d, 161, &cred, now, &id), ASR_OK);
  ck_assert_int_gt(id, 0);
  return id;
}

/* Collects the walk of foreach_device. */
typedef struct {
  int64_t ids[16];
  char ips[16][48];
  bool superseded[16];
  size_t n, stop_after;
} walk;

static int walk_cb(const asr_store_device *d, void *ctx)
{
  walk *w = ctx;

  if (w->n < 16) {
    w->ids[w->n] = d->id;
    ck_assert_int_eq(asr_strlcpy(w->ips[w->n], d->dev.ip, sizeof(w->ips[0])), ASR_OK);
    w->superseded[w->n] = d->superseded;
  }
  w->n++;
  return w->stop_after && w->n >= w->stop_after;
}

static walk walk_sel(asr_store *st, const char *const *sel, size_t n)
{
  walk w;

  memset(&w, 0, sizeof(w));
  ck_assert_int_eq(asr_store_foreach_device(st, sel, n, walk_cb, &w), ASR_OK);
  return w;
}

static walk walk_one(asr_store *st, const char *sel)
{
  return walk_sel(st, &sel, 1);
}

/* ---- opening ------------------------------------------------------------------------ */

START_TEST(test_create_modes)
{
  struct stat sb;
  asr_store *st;

  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/a/b/agent.db", tmpdir), ASR_OK);
  st = open_ok();
  ck_assert_int_eq(asr_store_schema_version(st), asr_store_schema_latest());
  ck_assert_int_ge(asr_store_schema_latest(), 1);
  ck_assert_int_eq(stat(dbpath, &sb), 0);
  if (tu_posix_modes())
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
  asr_store_close(st);
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/a/b", tmpdir), ASR_OK);
  ck_assert_int_eq(stat(dbpath, &sb), 0);
  if (tu_posix_modes())
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
  else
    tu_skip("test_create_modes: the modes", "no POSIX file modes (ACLs)");
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/a/b/agent.db", tmpdir), ASR_OK);
  st = open_ok(); /* reopening an up-to-date file */
  ck_assert_int_eq(asr_store_schema_version(st), asr_store_schema_latest());
  asr_store_close(st);
  asr_store_close(NULL);
}
END_TEST

START_TEST(test_wal_and_pragmas)
{
  asr_store *st = open_ok();
  sqlite3 *db;
  sqlite3_stmt *s;

  asr_store_close(st);
  db = raw_open(dbpath);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}
END_TEST

START_TEST(test_schema_steps_ordered)
{
  for (size_t i = 0; i < ASR_SCHEMA_STEPS; i++)
    ck_assert_int_eq(asr_schema_steps[i].version, (int)i + 1);
  ck_assert_int_eq(asr_store_schema_latest(), (int)ASR_SCHEMA_STEPS);
}
END_TEST

/* An existing file of 0 bytes is not a new database: SQLite would set it up as one and the
 * agent would start afresh, unenrolled, over what may have been its data. */
START_TEST(test_empty_file_refused)
{
  int fd = open(dbpath, O_CREAT | O_WRONLY, 0600);
  asr_store *st = NULL;
  char err[1024], aside[600];
  struct stat sb;

  ck_assert_int_ge(fd, 0);
  close(fd);
  for (int mode = ASR_STORE_VERIFY; mode <= ASR_STORE_TRUST; mode++) {
    ck_assert_int_eq(asr_store_open_mode(dbpath, (asr_store_mode)mode, &st, err, sizeof(err)),
                     ASR_ERR_DB_CORRUPT);
    ck_assert_ptr_null(st);
    ck_assert_ptr_nonnull(strstr(err, dbpath));
    ck_assert_ptr_nonnull(strstr(err, "the file is empty (0 bytes)"));
    ck_assert_ptr_nonnull(strstr(err, "RECOVERY in asr-agent(8)"));
  }
  ck_assert_int_eq(stat(dbpath, &sb), 0);
  ck_assert_int_eq(sb.st_size, 0);
  ck_assert_int_eq(asr_fmt(aside, sizeof(aside), "%s-wal", dbpath), ASR_OK);
  ck_assert_int_ne(stat(aside, &sb), 0);
  ck_assert_str_eq(asr_result_str(ASR_ERR_DB_CORRUPT), "database is damaged");
  /* removed: a new database is made whole */
  ck_assert_int_eq(remove(dbpath), 0);
  st = open_ok();
  asr_store_close(st);
  ck_assert_int_eq(stat(dbpath, &sb), 0);
  ck_assert_int_gt(sb.st_size, 0);
}
END_TEST

/* A new database gets its name only once whole: no empty file at the path at any time, no
 * temporary file left. */
START_TEST(test_new_database_whole)
{
  asr_store *st = open_ok();
  char tmp[600];
  struct stat sb;
  sqlite3 *db;
  sqlite3_stmt *s;

  ck_assert_int_eq(stat(dbpath, &sb), 0);
  ck_assert_int_ge(sb.st_size, 4096);
  ck_assert_str_eq(asr_store_path(st), dbpath);
  ck_assert_int_eq(asr_fmt(tmp, sizeof(tmp), "%s.new-%lu", dbpath, asr_platform_pid()), ASR_OK);
  ck_assert_int_ne(stat(tmp, &sb), 0);
  ck_assert_int_eq(asr_fmt(tmp, sizeof(tmp), "%s.new-%lu-wal", dbpath, asr_platform_pid()), ASR_OK);
  ck_assert_int_ne(stat(tmp, &sb), 0);
  /* another process sees a whole database at once, read from the main file alone */
  db = raw_open(dbpath);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_int(s, 0), asr_store_schema_latest());
  sqlite3_finalize(s);
  sqlite3_close(db);
  asr_store_close(st);
}
END_TEST

/* Overwrites page (1-based, 4096 bytes) of path with bytes that are no SQLite page. */
static void spoil_page(const char *path, long page)
{
  FILE *f = fopen(path, "r+b");
  unsigned char junk[4096];

  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (unsigned char)(i * 131 + 7);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, (page - 1) * 4096, SEEK_SET), 0);
  ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
  ck_assert_int_eq(fclose(f), 0);
}

/* The root page of a table, as another process would read it. */
static long root_page(const char *table)
{
  sqlite3 *db = raw_open(dbpath);
  sqlite3_stmt *s;
  long page;

  ck_assert_int_eq(
      sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = ?1", -1, &s, NULL),
      SQLITE_OK);
  sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  page = (long)sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return page;
}

START_TEST(test_damaged_page_refused)
{
  static char before[262144], after[262144];
  asr_store *st = open_ok();
  asr_device d;
  char err[1024];
  size_t n1, n2;
  long page;

  for (int i = 0; i < 40; i++) {
    char serial[16], ip[16];
    ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "DMG%d", i), ASR_OK);
    ck_assert_int_eq(asr_fmt(ip, sizeof(ip), "10.0.9.%d", i + 1), ASR_OK);
    make_device(&d, serial, "", ip);
    add_supply(&d, 1, 50, 100);
    save(st, &d, T0 + i);
  }
  asr_store_close(st);
  page = root_page("readings");
  ck_assert_int_gt(page, 1);
  spoil_page(dbpath, page);
  n1 = slurp(dbpath, before, sizeof(before));
  /* a command that writes: refused at the open, the file untouched, how to recover said */
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB_CORRUPT);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, dbpath));
  ck_assert_ptr_nonnull(strstr(err, "the database is damaged"));
  ck_assert_ptr_nonnull(strstr(err, "move it aside and enrol again"));
  ck_assert_ptr_nonnull(strstr(err, "RECOVERY in asr-agent(8)"));
  n2 = slurp(dbpath, after, sizeof(after));
  ck_assert_uint_eq(n1, n2);
  ck_assert_int_eq(memcmp(before, after, n1), 0);
  /* a reader that trusts the file: the damage is reported as such when it is read */
  ck_assert_int_eq(asr_store_open_mode(dbpath, ASR_STORE_TRUST, &st, err, sizeof(err)), ASR_OK);
  make_device(&d, "DMG1", "", "10.0.9.2");
  add_supply(&d, 1, 40, 100);
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, T0 + 100, NULL), ASR_ERR_DB_CORRUPT);
  ck_assert_ptr_nonnull(strstr(asr_store_errmsg(st), "the database is damaged"));
  asr_store_close(st);
}
END_TEST

/* SQLITE_FULL (here: the page limit of the connection) is a full disk, named with its
 * folder; what was committed before stays. */
START_TEST(test_disk_full_named)
{
  asr_store *st = open_ok();
  char dir[600], sql[80];
  asr_device d;
  asr_result r = ASR_OK;
  int saved = 0, pages = 0;
  sqlite3_stmt *s;

  ck_assert_int_eq(sqlite3_prepare_v2(asr_store_sqlite(st), "PRAGMA page_count", -1, &s, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  pages = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  ck_assert_int_eq(asr_fmt(sql, sizeof(sql), "PRAGMA max_page_count = %d", pages + 3), ASR_OK);
  ck_assert_int_eq(sqlite3_exec(asr_store_sqlite(st), sql, NULL, NULL, NULL), SQLITE_OK);
  for (int i = 0; i < 2000 && r == ASR_OK; i++) {
    char serial[32];
    /* cut to 31 bytes: a long serial fills the pages sooner */
    asr_fmt_cut(serial, sizeof(serial), "FULL-%04d-%s", i, "padding-padding-padding-padding");
    make_device(&d, serial, "", "10.0.10.1");
    add_supply(&d, 1, 50, 100);
    r = asr_store_save(st, &d, 161, NULL, T0 + i, NULL);
    saved += r == ASR_OK;
  }
  ck_assert_int_eq(r, ASR_ERR_DISK_FULL);
  ck_assert_int_gt(saved, 0);
  ck_assert_int_eq(asr_fmt(dir, sizeof(dir), "the disk is full (no space left in %s)", tmpdir),
                   ASR_OK);
  ck_assert_msg(strstr(asr_store_errmsg(st), dir), "%s", asr_store_errmsg(st));
  ck_assert_ptr_null(strstr(asr_store_errmsg(st), "disk I/O error"));
  asr_store_close(st);
  st = open_ok();
  ck_assert_uint_eq(walk_sel(st, NULL, 0).n, (size_t)saved);
  asr_store_close(st);
}
END_TEST

START_TEST(test_future_version_untouched)
{
  static char before[65536], after[65536];
  sqlite3 *db = raw_open(dbpath);
  asr_store *st = NULL;
  char err[512], sql[64];
  size_t n1, n2;

  raw_exec(db, "CREATE TABLE future (x); INSERT INTO future VALUES (42)");
  ck_assert_int_eq(
      asr_fmt(sql, sizeof(sql), "PRAGMA user_version = %d", asr_store_schema_latest() + 5), ASR_OK);
  raw_exec(db, sql);
  sqlite3_close(db);
  n1 = slurp(dbpath, before, sizeof(before));
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB_VERSION);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, dbpath));
  ck_assert_ptr_nonnull(strstr(err, "newer"));
  n2 = slurp(dbpath, after, sizeof(after));
  ck_assert_uint_eq(n1, n2);
  ck_assert_int_eq(memcmp(before, after, n1), 0);
}
END_TEST

START_TEST(test_not_a_database)
{
  static const char text[] = "this is a text file, not an SQLite database at all\n";
  char buf[4096], err[512];
  FILE *f = fopen(dbpath, "wb");
  asr_store *st = NULL;

  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 40; i++)
    fputs(text, f);
  fclose(f);
  tu_chmod(dbpath, 0644);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB);
  ck_assert_ptr_null(st);
  ck_assert_ptr_nonnull(strstr(err, dbpath));
  ck_assert_ptr_nonnull(strstr(err, "file is not a database"));
  ck_assert_uint_eq(slurp(dbpath, buf, sizeof(buf)), 40 * (sizeof(text) - 1));
  ck_assert_int_eq(memcmp(buf, text, sizeof(text) - 1), 0);
}
END_TEST

START_TEST(test_foreign_database_refused)
{
  sqlite3 *db = raw_open(dbpath);
  asr_store *st = NULL;
  char err[512];

  raw_exec(db, "CREATE TABLE devices (name TEXT); INSERT INTO devices VALUES ('mine')");
  sqlite3_close(db);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB);
  ck_assert_ptr_nonnull(strstr(err, "not an asr-agent database"));
  db = raw_open(dbpath);
  raw_exec(db, "SELECT name FROM devices WHERE name = 'mine'");
  sqlite3_close(db);
}
END_TEST

START_TEST(test_unusable_paths)
{
  asr_store *st = NULL;
  char err[512];

  /* a directory where the file should be */
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB);
  ck_assert_ptr_nonnull(strstr(err, tmpdir));
  /* a regular file where a directory should be */
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/file", tmpdir), ASR_OK);
  fclose(fopen(dbpath, "w"));
  ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/file/agent.db", tmpdir), ASR_OK);
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB);
  ck_assert_ptr_nonnull(strstr(err, dbpath));
  ck_assert_int_eq(asr_store_open("", &st, err, sizeof(err)), ASR_ERR_INVALID);
  if (tu_modes_deny_access()) { /* root reads anything: permissions cannot be tested */
    ck_assert_int_eq(asr_fmt(dbpath, sizeof(dbpath), "%s/locked.db", tmpdir), ASR_OK);
    fclose(fopen(dbpath, "w"));
    tu_chmod(dbpath, 0);
    ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB);
    ck_assert_ptr_nonnull(strstr(err, dbpath));
  }
}
END_TEST

static int64_t now_ms(void)
{
  struct timeval tv;

  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

START_TEST(test_locked_open)
{
  sqlite3 *db = raw_open(dbpath); /* a rollback-journal file held by another process */
  asr_store *st = NULL;
  char err[512];
  int64_t t;

  raw_exec(db, "BEGIN EXCLUSIVE; CREATE TABLE t (x)");
  asr_store_set_busy_timeout(200);
  t = now_ms();
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB_LOCKED);
  t = now_ms() - t;
  ck_assert_int_ge(t, 150);
  ck_assert_int_lt(t, 3000);
  ck_assert_ptr_nonnull(strstr(err, dbpath));
  ck_assert_ptr_nonnull(strstr(err, "database is locked by another process"));
  raw_exec(db, "ROLLBACK");
  sqlite3_close(db);
  /* released: the creation was rolled back and left an empty file, which is refused (only
   * this program's own creation is trusted, and it never leaves one) */
  ck_assert_int_eq(asr_store_open(dbpath, &st, err, sizeof(err)), ASR_ERR_DB_CORRUPT);
  ck_assert_ptr_nonnull(strstr(err, "the file is empty"));
  ck_assert_int_eq(remove(dbpath), 0);
  st = open_ok();
  asr_store_close(st);
}
END_TEST

START_TEST(test_locked_write_loses_nothing)
{
  asr_store *st = open_ok();
  asr_device d;
  asr_snmp_cred cred = community("public");
  sqlite3 *db;
  int64_t id1, id2 = 0;
  walk w;

  make_device(&d, "S1", "", "10.0.0.1");
  add_supply(&d, 1, 50, 100);
  id1 = save(st, &d, T0);
  db = raw_open(dbpath);
  raw_exec(db, "BEGIN EXCLUSIVE");
  asr_store_set_busy_timeout(100); /* applies to handles opened later */
  asr_store_close(st);
  st = open_ok();
  make_device(&d, "S2", "", "10.0.0.2");
  ck_assert_int_eq(asr_store_save(st, &d, 161, &cred, T0 + 1, &id2), ASR_ERR_DB_LOCKED);
  ck_assert_ptr_nonnull(strstr(asr_store_errmsg(st), "locked by another process"));
  ck_assert_int_eq(asr_store_record_failure(st, id1, T0 + 2, ASR_ERR_TIMEOUT, "timeout"),
                   ASR_ERR_DB_LOCKED);
  w = walk_sel(st, NULL, 0); /* readers still see the committed data (WAL) */
  ck_assert_uint_eq(w.n, 1);
  raw_exec(db, "ROLLBACK");
  sqlite3_close(db);
  ck_assert_int_eq(asr_store_save(st, &d, 161, &cred, T0 + 3, &id2), ASR_OK);
  w = walk_sel(st, NULL, 0);
  ck_assert_uint_eq(w.n, 2);
  ck_assert_int_eq(w.ids[0], id1);
  asr_store_close(st);
}
END_TEST

/* ---- identity ----------------------------------------------------------------------- */

START_TEST(test_save_update_by_serial_and_move)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  int64_t id1, id2;
  walk w;

  make_device(&d, "SER-1", "00:11:22:33:44:55", "10.0.0.5");
  id1 = save(st, &d, T0);
  ck_assert_int_eq(asr_strlcpy(d.model, "", sizeof(d.model)),
                   ASR_OK); /* unreadable this time: kept */
  ck_assert_int_eq(asr_strlcpy(d.ip, "10.0.0.77", sizeof(d.ip)), ASR_OK); /* DHCP moved it */
  id2 = save(st, &d, T0 + 60);
  ck_assert_int_eq(id1, id2);
  ck_assert_int_eq(asr_store_get(st, id1, &sd), ASR_OK);
  ck_assert_str_eq(sd.dev.ip, "10.0.0.77");
  ck_assert_str_eq(sd.dev.model, "Model X");
  ck_assert_str_eq(sd.dev.serial, "SER-1");
  ck_assert_int_eq(sd.first_seen, T0);
  ck_assert_int_eq(sd.last_seen, T0 + 60);
  ck_assert(!sd.superseded);
  ck_assert_str_eq(sd.cred.community, "s3cret-community");
  w = walk_sel(st, NULL, 0);
  ck_assert_uint_eq(w.n, 1);
  ck_assert_uint_eq(walk_one(st, "10.0.0.77").n, 1);
  ck_assert_uint_eq(walk_one(st, "10.0.0.5").n, 0);
  ck_assert_uint_eq(walk_one(st, "SER-1").n, 1);
  ck_assert_uint_eq(walk_one(st, "serial:SER-1").n, 1);
  ck_assert_int_eq(asr_store_get(st, 999, &sd), ASR_ERR_NOT_FOUND);
  asr_store_close(st);
}
END_TEST

START_TEST(test_different_printer_at_known_address)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  int64_t old, neu;
  walk w;

  make_device(&d, "OLD-1", "", "10.0.0.9");
  old = save(st, &d, T0);
  make_device(&d, "NEW-2", "", "10.0.0.9");
  neu = save(st, &d, T0 + 3600);
  ck_assert_int_ne(old, neu);
  ck_assert_int_eq(asr_store_get(st, old, &sd), ASR_OK);
  ck_assert_str_eq(sd.dev.ip, "10.0.0.9"); /* history kept */
  ck_assert(sd.superseded);
  ck_assert_int_eq(asr_store_get(st, neu, &sd), ASR_OK);
  ck_assert(!sd.superseded);
  w = walk_one(st, "10.0.0.9"); /* the address reaches the printer there now */
  ck_assert_uint_eq(w.n, 1);
  ck_assert_int_eq(w.ids[0], neu);
  w = walk_one(st, "OLD-1");
  ck_assert_uint_eq(w.n, 1);
  ck_assert(w.superseded[0]);
  /* the old printer shows up elsewhere: current again, at its new address */
  make_device(&d, "OLD-1", "", "10.0.0.10");
  ck_assert_int_eq(save(st, &d, T0 + 7200), old);
  ck_assert_int_eq(asr_store_get(st, old, &sd), ASR_OK);
  ck_assert(!sd.superseded);
  ck_assert_int_eq(asr_store_get(st, neu, &sd), ASR_OK);
  ck_assert(!sd.superseded);
  asr_store_close(st);
}
END_TEST

START_TEST(test_match_device)
{
  asr_store *st = open_ok();
  asr_store_match mt;
  asr_device d;
  int64_t id, other;

  make_device(&d, "SER-M", "", "10.0.0.5");
  ck_assert_int_eq(asr_store_match_device(st, &d, &mt), ASR_OK);
  ck_assert_int_eq(mt.id, 0); /* a new device */
  id = save(st, &d, T0);
  ck_assert_int_eq(asr_strlcpy(d.ip, "10.0.0.99", sizeof(d.ip)),
                   ASR_OK); /* the same serial elsewhere */
  ck_assert_int_eq(asr_store_match_device(st, &d, &mt), ASR_OK);
  ck_assert_int_eq(mt.id, id);
  ck_assert_str_eq(mt.ip, "10.0.0.5"); /* where it lives: unchanged by a lookup */
  ck_assert(mt.current);
  make_device(&d, "SER-N", "", "10.0.0.5"); /* another printer took its address */
  other = save(st, &d, T0 + 60);
  ck_assert_int_ne(other, id);
  make_device(&d, "SER-M", "", "10.0.0.99");
  ck_assert_int_eq(asr_store_match_device(st, &d, &mt), ASR_OK);
  ck_assert_int_eq(mt.id, id);
  ck_assert(!mt.current);
  asr_store_close(st);
}
END_TEST

START_TEST(test_schedule_round_trip)
{
  asr_store *st = open_ok();
  char fp[ASR_SCHED_FP_MAX];
  int64_t t = -1;

  ck_assert_int_eq(asr_sched_get(st, "discovery", &t, fp, sizeof(fp)), ASR_OK);
  ck_assert_int_eq(t, 0);
  ck_assert_str_eq(fp, "");
  ck_assert_int_eq(asr_sched_set(st, "discovery", T0, "0123456789abcdef"), ASR_OK);
  ck_assert_int_eq(asr_sched_set(st, "discovery", T0 + 5, "fedcba9876543210"), ASR_OK);
  ck_assert_int_eq(asr_sched_set(st, "poll", T0 + 9, NULL), ASR_OK);
  asr_store_close(st);
  st = open_ok(); /* kept across opens (restarts) */
  ck_assert_int_eq(asr_sched_get(st, "discovery", &t, fp, sizeof(fp)), ASR_OK);
  ck_assert_int_eq(t, T0 + 5);
  ck_assert_str_eq(fp, "fedcba9876543210");
  ck_assert_int_eq(asr_sched_get(st, "poll", &t, fp, sizeof(fp)), ASR_OK);
  ck_assert_int_eq(t, T0 + 9);
  ck_assert_str_eq(fp, "");
  asr_store_close(st);
}
END_TEST

START_TEST(test_mac_and_ip_keys)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  int64_t id_mac, id_ip;

  make_device(&d, "", "aa:bb:cc:dd:ee:ff", "10.0.1.1");
  id_mac = save(st, &d, T0);
  ck_assert_uint_eq(walk_one(st, "mac:aa:bb:cc:dd:ee:ff").n, 1);
  ck_assert_int_eq(asr_strlcpy(d.ip, "10.0.1.2", sizeof(d.ip)),
                   ASR_OK); /* moved, still no serial: same by MAC */
  ck_assert_int_eq(save(st, &d, T0 + 1), id_mac);
  ck_assert_int_eq(asr_strlcpy(d.serial, "LATE-SERIAL", sizeof(d.serial)),
                   ASR_OK); /* serial read at last */
  ck_assert_int_eq(save(st, &d, T0 + 2), id_mac);
  ck_assert_uint_eq(walk_one(st, "serial:LATE-SERIAL").n, 1);
  ck_assert_uint_eq(walk_one(st, "mac:aa:bb:cc:dd:ee:ff").n, 0);
  ck_assert_int_eq(asr_strlcpy(d.serial, "", sizeof(d.serial)),
                   ASR_OK); /* serial unreadable once: MAC finds it */
  ck_assert_int_eq(save(st, &d, T0 + 3), id_mac);
  ck_assert_int_eq(asr_store_get(st, id_mac, &sd), ASR_OK);
  ck_assert_str_eq(sd.dev.serial, "LATE-SERIAL");
  make_device(&d, "", "", "10.0.1.3"); /* neither: keyed by address */
  id_ip = save(st, &d, T0);
  ck_assert_int_ne(id_ip, id_mac);
  ck_assert_int_eq(save(st, &d, T0 + 5), id_ip);
  ck_assert_uint_eq(walk_one(st, "ip:10.0.1.3").n, 1);
  make_device(&d, "", "", ""); /* nothing to know it by */
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, T0, NULL), ASR_ERR_INVALID);
  asr_store_close(st);
}
END_TEST

START_TEST(test_hostile_strings_and_cred)
{
  static const char evil[] = "x'); DROP TABLE devices; --\"\\%s%n\xff\xfe\x01";
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_snmp_cred cred, none;
  asr_device d;
  int64_t id;

  make_device(&d, evil, "", "10.0.2.1");
  ck_assert_int_eq(asr_strlcpy(d.sys_descr, evil, sizeof(d.sys_descr)), ASR_OK);
  memset(d.sys_name, 'A', sizeof(d.sys_name)); /* no NUL at all */
  memset(&cred, 0, sizeof(cred));
  cred.version = ASR_SNMP_V3;
  ck_assert_int_eq(asr_strlcpy(cred.user, "admin", sizeof(cred.user)), ASR_OK);
  cred.auth_proto = ASR_AUTH_SHA256;
  ck_assert_int_eq(asr_strlcpy(cred.auth_pass, "auth-pass-phrase", sizeof(cred.auth_pass)), ASR_OK);
  cred.priv_proto = ASR_PRIV_AES256;
  ck_assert_int_eq(asr_strlcpy(cred.priv_pass, "priv-pass-phrase", sizeof(cred.priv_pass)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(cred.context, "ctx", sizeof(cred.context)), ASR_OK);
  ck_assert_int_eq(asr_store_save(st, &d, 1161, &cred, T0, &id), ASR_OK);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_str_eq(sd.dev.serial, evil);
  ck_assert_str_eq(sd.dev.sys_descr, evil);
  ck_assert_uint_eq(strlen(sd.dev.sys_name), sizeof(d.sys_name) - 1);
  ck_assert_int_eq(sd.port, 1161);
  ck_assert_int_eq(sd.cred.version, ASR_SNMP_V3);
  ck_assert_str_eq(sd.cred.user, "admin");
  ck_assert_int_eq(sd.cred.auth_proto, ASR_AUTH_SHA256);
  ck_assert_str_eq(sd.cred.auth_pass, "auth-pass-phrase");
  ck_assert_int_eq(sd.cred.priv_proto, ASR_PRIV_AES256);
  ck_assert_str_eq(sd.cred.priv_pass, "priv-pass-phrase");
  ck_assert_str_eq(sd.cred.context, "ctx");
  ck_assert_int_eq(asr_store_save(st, &d, 1161, NULL, T0 + 1, &id), ASR_OK); /* keeps cred */
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_str_eq(sd.cred.priv_pass, "priv-pass-phrase");
  memset(&none, 0, sizeof(none));
  none.version = ASR_SNMP_V1;
  ck_assert_int_eq(asr_store_save(st, &d, 161, &none, T0 + 2, &id), ASR_OK);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_int_eq(sd.cred.version, ASR_SNMP_V1);
  ck_assert_str_eq(sd.cred.priv_pass, "");
  ck_assert_int_eq(sd.cred.auth_proto, ASR_AUTH_NONE);
  asr_store_close(st);
}
END_TEST

/* ---- readings, supplies, failures ---------------------------------------------------- */

typedef struct {
  int64_t t[8], page[8];
  bool has_page[8];
  asr_store_level lv[8][ASR_SUPPLIES_MAX];
  size_t n[8], count;
} readings;

static int reading_cb(int64_t t, int64_t page_count, bool has_page_count,
                      const asr_store_level *levels, size_t n, void *ctx)
{
  readings *r = ctx;

  if (r->count < 8) {
    r->t[r->count] = t;
    r->page[r->count] = page_count;
    r->has_page[r->count] = has_page_count;
    memcpy(r->lv[r->count], levels, n * sizeof(*levels));
    r->n[r->count] = n;
  }
  r->count++;
  return 0;
}

START_TEST(test_reading_round_trip)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  readings rd;
  int64_t id;

  make_device(&d, "R1", "", "10.0.3.1");
  add_supply(&d, 1, 7500, 20000);
  add_supply(&d, 2, -1, -2);  /* other / unknown */
  add_supply(&d, 3, -3, 100); /* some remaining */
  add_supply(&d, 7, 1, INT64_C(1) << 40);
  add_supply(&d, 4, INT64_MIN, INT64_MAX);
  d.supplies[1].has_max = false;
  d.supplies[2].state = ASR_STATE_SOME_REMAINING;
  ck_assert_int_eq(asr_strlcpy(d.supplies[0].colorant, "black", sizeof(d.supplies[0].colorant)),
                   ASR_OK);
  ck_assert_int_eq(
      asr_strlcpy(d.supplies[0].part_number, "TN-2420", sizeof(d.supplies[0].part_number)), ASR_OK);
  d.supplies[0].type = 3;
  d.supplies[0].klass = ASR_CLASS_CONSUMED;
  d.supplies[0].unit = 7;
  d.has_page_count = true;
  d.page_count = 123456;
  d.printer_status = 3;
  d.has_error_state = true;
  d.error_bits = 1u << 3;
  id = save(st, &d, T0 + 100);
  d.has_page_count = false;
  d.supplies[0].level = 7400;
  save(st, &d, T0 + 50); /* stored in time order, not insertion order */
  memset(&rd, 0, sizeof(rd));
  ck_assert_int_eq(asr_store_foreach_reading(st, id, 0, INT64_MAX, reading_cb, &rd), ASR_OK);
  ck_assert_uint_eq(rd.count, 2);
  ck_assert_int_eq(rd.t[0], T0 + 50);
  ck_assert(!rd.has_page[0]);
  ck_assert_int_eq(rd.t[1], T0 + 100);
  ck_assert(rd.has_page[1]);
  ck_assert_int_eq(rd.page[1], 123456);
  ck_assert_uint_eq(rd.n[1], 5);
  ck_assert_int_eq(rd.lv[0][0].level, 7400);
  ck_assert_int_eq(rd.lv[1][0].level, 7500);
  ck_assert_int_eq(rd.lv[1][0].max, 20000);
  ck_assert_int_eq(rd.lv[1][1].index, 2);
  ck_assert_int_eq(rd.lv[1][1].level, -1);
  ck_assert_int_eq(rd.lv[1][1].max, -2); /* not reported */
  ck_assert_int_eq(rd.lv[1][2].level, -3);
  ck_assert_int_eq(rd.lv[1][3].index, 7);
  ck_assert_int_eq(rd.lv[1][3].max, INT64_C(1) << 40);
  ck_assert_int_eq(rd.lv[1][4].index, 4);
  ck_assert(rd.lv[1][4].level == INT64_MIN);
  ck_assert(rd.lv[1][4].max == INT64_MAX);
  memset(&rd, 0, sizeof(rd)); /* the window is [since, until) */
  ck_assert_int_eq(asr_store_foreach_reading(st, id, T0 + 50, T0 + 100, reading_cb, &rd), ASR_OK);
  ck_assert_uint_eq(rd.count, 1);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_int_eq(sd.readings, 2);
  ck_assert_int_eq(sd.last_reading_at, T0 + 100);
  ck_assert_uint_eq(sd.dev.n_supplies, 5); /* current view, ordered by index */
  ck_assert_int_eq(sd.dev.supplies[0].index, 1);
  ck_assert_int_eq(sd.dev.supplies[0].level, 7400);
  ck_assert_str_eq(sd.dev.supplies[0].colorant, "black");
  ck_assert_str_eq(sd.dev.supplies[0].part_number, "TN-2420");
  ck_assert_str_eq(sd.dev.supplies[0].description, "Supply 1");
  ck_assert_int_eq(sd.dev.supplies[0].type, 3);
  ck_assert_int_eq(sd.dev.supplies[0].klass, ASR_CLASS_CONSUMED);
  ck_assert_int_eq(sd.dev.supplies[0].unit, 7);
  ck_assert_int_eq(sd.dev.supplies[0].percent, 37);
  ck_assert(!sd.dev.supplies[1].has_max);
  ck_assert_int_eq(sd.dev.supplies[2].state, ASR_STATE_SOME_REMAINING);
  ck_assert_int_eq(sd.dev.supplies[3].index, 4);
  ck_assert_int_eq(sd.dev.printer_status, 3);
  ck_assert(sd.dev.has_error_state);
  ck_assert_uint_eq(sd.dev.error_bits, 1u << 3);
  asr_store_close(st);
}
END_TEST

START_TEST(test_supplies_current_view_and_counter)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  readings rd;
  int64_t id;

  make_device(&d, "C1", "", "10.0.4.1");
  add_supply(&d, 1, 10, 100);
  add_supply(&d, 2, 20, 100);
  add_supply(&d, 2, 25, 100); /* a printer reporting an index twice */
  id = save(st, &d, T0);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_uint_eq(sd.dev.n_supplies, 2);
  ck_assert_int_eq(sd.dev.supplies[1].level, 25);
  /* the reading holds each index once too, the same one as the current view (issue 10:
   * a repeated index made the central refuse every batch) */
  memset(&rd, 0, sizeof(rd));
  ck_assert_int_eq(asr_store_foreach_reading(st, id, 0, INT64_MAX, reading_cb, &rd), ASR_OK);
  ck_assert_uint_eq(rd.count, 1);
  ck_assert_uint_eq(rd.n[0], 2);
  ck_assert_int_eq(rd.lv[0][0].index, 1);
  ck_assert_int_eq(rd.lv[0][1].index, 2);
  ck_assert_int_eq(rd.lv[0][1].level, 25);
  d.n_supplies = 1; /* supply 2 is gone */
  save(st, &d, T0); /* same second: replaces, not counted twice */
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_uint_eq(sd.dev.n_supplies, 1);
  ck_assert_int_eq(sd.readings, 1);
  d.n_supplies = 0; /* discovery without anything to read: no reading, supplies kept */
  save(st, &d, T0 + 10);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_int_eq(sd.readings, 1);
  ck_assert_uint_eq(sd.dev.n_supplies, 1);
  ck_assert_int_eq(sd.last_good_poll, T0);
  ck_assert_int_eq(sd.last_seen, T0 + 10);
  asr_store_close(st);
}
END_TEST

START_TEST(test_failures)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  sqlite3 *db;
  sqlite3_stmt *s;
  int64_t id;

  make_device(&d, "F1", "", "10.0.5.1");
  add_supply(&d, 1, 10, 100);
  id = save(st, &d, T0);
  ck_assert_int_eq(asr_store_record_failure(st, id, T0 + 10, ASR_ERR_TIMEOUT, "no answer"), ASR_OK);
  ck_assert_int_eq(asr_store_record_failure(st, id, T0 + 20, ASR_ERR_AUTH, "wrong password"),
                   ASR_OK);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_uint_eq(sd.failed_polls, 2);
  ck_assert_int_eq(sd.last_failure_at, T0 + 20);
  ck_assert_str_eq(sd.last_failure, "wrong password");
  ck_assert_int_eq(sd.last_good_poll, T0);
  ck_assert_int_eq(asr_store_record_failure(st, 4242, T0, ASR_ERR_TIMEOUT, "x"), ASR_ERR_NOT_FOUND);
  save(st, &d, T0 + 30); /* a good poll resets the count */
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_uint_eq(sd.failed_polls, 0);
  ck_assert_int_eq(sd.last_good_poll, T0 + 30);
  ck_assert_str_eq(sd.last_failure, "wrong password"); /* history stays */
  asr_store_close(st);
  db = raw_open(dbpath);
  ck_assert_int_eq(
      sqlite3_prepare_v2(db, "SELECT count(*), sum(code) FROM poll_failures", -1, &s, NULL),
      SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_int(s, 0), 2);
  ck_assert_int_eq(sqlite3_column_int(s, 1), ASR_ERR_TIMEOUT + ASR_ERR_AUTH);
  sqlite3_finalize(s);
  sqlite3_close(db);
}
END_TEST

static void unmatched_cb(const char *sel, void *ctx)
{
  char *buf = ctx;
  size_t len = strlen(buf);

  asr_append(buf, 256, &len, "[%s]", sel);
}

START_TEST(test_foreach_order_and_selectors)
{
  static const char *const ips[] = {"10.0.0.10", "192.168.1.1", "10.0.0.9",
                                    "fe80::1",   "10.0.0.100",  "9.255.255.255"};
  const char *sel[] = {"SN2", "10.0.0.9", "nothing-here", "", "10.0.0.100"};
  asr_store *st = open_ok();
  char buf[256] = "";
  asr_device d;
  walk w;

  for (size_t i = 0; i < 6; i++) {
    char serial[16];
    ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "SN%zu", i), ASR_OK);
    make_device(&d, serial, "", ips[i]);
    save(st, &d, T0);
  }
  w = walk_sel(st, NULL, 0);
  ck_assert_uint_eq(w.n, 6);
  ck_assert_str_eq(w.ips[0], "9.255.255.255");
  ck_assert_str_eq(w.ips[1], "10.0.0.9");
  ck_assert_str_eq(w.ips[2], "10.0.0.10");
  ck_assert_str_eq(w.ips[3], "10.0.0.100");
  ck_assert_str_eq(w.ips[4], "192.168.1.1");
  ck_assert_str_eq(w.ips[5], "fe80::1");
  w = walk_sel(st, sel, 5);
  ck_assert_uint_eq(w.n, 2); /* SN2 is at 10.0.0.9: one device, selected twice */
  ck_assert_str_eq(w.ips[0], "10.0.0.9");
  ck_assert_str_eq(w.ips[1], "10.0.0.100");
  memset(&w, 0, sizeof(w));
  w.stop_after = 2;
  ck_assert_int_eq(asr_store_foreach_device(st, NULL, 0, walk_cb, &w), ASR_OK);
  ck_assert_uint_eq(w.n, 2);
  ck_assert_int_eq(asr_store_unmatched(st, sel, 5, unmatched_cb, buf), ASR_OK);
  ck_assert_str_eq(buf, "[nothing-here][]");
  ck_assert_int_eq(asr_store_unmatched(st, sel, 2, NULL, NULL), ASR_OK);
  asr_store_close(st);
}
END_TEST

/* The poll pattern: save from inside the walk. */
static int save_in_walk(const asr_store_device *sd, void *ctx)
{
  asr_store *st = ctx;
  asr_device d = sd->dev;

  add_supply(&d, 9, 1, 2);
  ck_assert_int_eq(asr_store_save(st, &d, sd->port, &sd->cred, T0 + 600, NULL), ASR_OK);
  return 0;
}

START_TEST(test_save_during_walk)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  int64_t id;

  make_device(&d, "W1", "", "10.0.6.1");
  id = save(st, &d, T0);
  make_device(&d, "W2", "", "10.0.6.2");
  save(st, &d, T0);
  ck_assert_int_eq(asr_store_foreach_device(st, NULL, 0, save_in_walk, st), ASR_OK);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_int_eq(sd.readings, 1);
  ck_assert_int_eq(sd.last_good_poll, T0 + 600);
  ck_assert_str_eq(sd.cred.community, "s3cret-community");
  asr_store_close(st);
}
END_TEST

START_TEST(test_rollback_on_error)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  asr_device d;
  sqlite3 *db;
  int64_t id, id2 = 0;

  make_device(&d, "RB1", "", "10.0.7.1");
  add_supply(&d, 1, 80, 100);
  id = save(st, &d, T0);
  db = raw_open(dbpath); /* make the last step of a save fail */
  raw_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON readings"
               " BEGIN SELECT RAISE(ABORT, 'disk full, say'); END");
  sqlite3_close(db);
  make_device(&d, "RB2", "", "10.0.7.1");
  add_supply(&d, 1, 10, 100);
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, T0 + 10, &id2), ASR_ERR_DB);
  ck_assert_int_eq(id2, 0);
  ck_assert_ptr_nonnull(strstr(asr_store_errmsg(st), "saving a reading"));
  ck_assert_uint_eq(walk_sel(st, NULL, 0).n, 1); /* no new device */
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert(!sd.superseded);
  ck_assert_int_eq(sd.dev.supplies[0].level, 80);
  make_device(&d, "RB1", "", "10.0.7.2"); /* an existing device: nothing half-written */
  add_supply(&d, 1, 10, 100);
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, T0 + 20, NULL), ASR_ERR_DB);
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_str_eq(sd.dev.ip, "10.0.7.1");
  ck_assert_int_eq(sd.dev.supplies[0].level, 80);
  ck_assert_int_eq(sd.last_seen, T0);
  ck_assert_int_eq(sd.readings, 1);
  ck_assert_ptr_nonnull(strstr(logbuf, "disk full, say")); /* logged */
  ck_assert_ptr_null(strstr(logbuf, "s3cret"));            /* never a secret */
  asr_store_close(st);
}
END_TEST

/* ---- the levels blob ---------------------------------------------------------------- */

START_TEST(test_levels_codec)
{
  asr_store_level in[ASR_SUPPLIES_MAX], out[ASR_SUPPLIES_MAX];
  uint8_t buf[ASR_STORE_LEVELS_MAX];
  size_t len, n;

  for (int i = 0; i < ASR_SUPPLIES_MAX; i++) {
    in[i].index = i % 2 ? INT32_MAX - i : INT32_MIN + i;
    in[i].level = i % 3 == 0 ? INT64_MIN : -i;
    in[i].max = i % 3 == 1 ? INT64_MAX : i * 1000;
  }
  len = asr_store_levels_encode(in, ASR_SUPPLIES_MAX, buf, sizeof(buf));
  ck_assert_uint_gt(len, 0);
  n = asr_store_levels_decode(buf, len, out, ASR_SUPPLIES_MAX);
  ck_assert_uint_eq(n, ASR_SUPPLIES_MAX);
  for (int i = 0; i < ASR_SUPPLIES_MAX; i++) {
    ck_assert_int_eq(in[i].index, out[i].index);
    ck_assert(in[i].level == out[i].level);
    ck_assert(in[i].max == out[i].max);
  }
  ck_assert_uint_eq(asr_store_levels_encode(in, ASR_SUPPLIES_MAX + 1, buf, sizeof(buf)), 0);
  ck_assert_uint_eq(asr_store_levels_encode(in, 3, buf, 5), 0); /* too small */
  in[0].index = 1;
  in[0].level = 50;
  in[0].max = 100;
  in[1].index = 2;
  in[1].level = 3;
  in[1].max = 100;
  len = asr_store_levels_encode(in, 2, buf, sizeof(buf));
  /* format; head, level, max; head, level (same max) */
  ck_assert_uint_eq(len, 1 + (1 + 1 + 2) + (1 + 1));
  ck_assert_uint_eq(asr_store_levels_decode(buf, len, out, ASR_SUPPLIES_MAX), 2);
  ck_assert_int_eq(out[1].index, 2);
  ck_assert_int_eq(out[1].max, 100);
  ck_assert_uint_eq(asr_store_levels_decode(buf, len, out, 0), 0); /* cap */
}
END_TEST

START_TEST(test_levels_corrupt)
{
  static const uint8_t bad_format[] = {2, 2, 2, 2};
  /* index 1, level 50, max 100; then index 2, same max, level cut */
  static const uint8_t truncated[] = {1, 4, 0x64, 0xc8, 0x01, 5, 0x80};
  static const uint8_t overlong[] = {1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0x7f, 0,    0};
  static const uint8_t big_index[] = {1,    0xfc, 0xff, 0xff, 0xff, 0x1f, 0, 0,
                                      0xfc, 0xff, 0xff, 0xff, 0x1f, 0,    0};
  asr_store_level out[ASR_SUPPLIES_MAX];
  uint8_t fuzz[300];

  ck_assert_uint_eq(asr_store_levels_decode(NULL, 0, out, ASR_SUPPLIES_MAX), 0);
  ck_assert_uint_eq(asr_store_levels_decode(bad_format, sizeof(bad_format), out, 64), 0);
  ck_assert_uint_eq(asr_store_levels_decode(truncated, sizeof(truncated), out, 64), 1);
  ck_assert_int_eq(out[0].index, 1);
  ck_assert_int_eq(out[0].level, 50);
  ck_assert_int_eq(out[0].max, 100);
  ck_assert_uint_eq(asr_store_levels_decode(overlong, sizeof(overlong), out, 64), 0);
  /* first index 2^31 - 1, then + 2^31 - 1 again: out of int32, stops */
  ck_assert_uint_eq(asr_store_levels_decode(big_index, sizeof(big_index), out, 64), 1);
  ck_assert_int_eq(out[0].index, INT32_MAX);
  srand(1);
  for (int round = 0; round < 2000; round++) {
    size_t len = (size_t)(rand() % (int)sizeof(fuzz));
    for (size_t i = 0; i < len; i++)
      fuzz[i] = (uint8_t)rand();
    fuzz[0] = 1;
    ck_assert_uint_le(asr_store_levels_decode(fuzz, len, out, ASR_SUPPLIES_MAX), ASR_SUPPLIES_MAX);
  }
}
END_TEST

START_TEST(test_corrupt_blob_in_database)
{
  asr_store *st = open_ok();
  asr_device d;
  readings rd;
  sqlite3 *db;
  char sql[256];
  int64_t id;

  make_device(&d, "CB1", "", "10.0.8.1");
  add_supply(&d, 1, 50, 100);
  id = save(st, &d, T0);
  db = raw_open(dbpath);
  ck_assert_int_eq(asr_fmt(sql, sizeof(sql),
                           "INSERT INTO readings VALUES (%lld, %d, NULL, x'010464c801ff');"
                           "INSERT INTO readings VALUES (%lld, %d, 7, 'text, not a blob')",
                           (long long)id, T0 + 1, (long long)id, T0 + 2),
                   ASR_OK);
  raw_exec(db, sql);
  sqlite3_close(db);
  memset(&rd, 0, sizeof(rd));
  ck_assert_int_eq(asr_store_foreach_reading(st, id, 0, INT64_MAX, reading_cb, &rd), ASR_OK);
  ck_assert_uint_eq(rd.count, 3);
  ck_assert_uint_eq(rd.n[0], 1);
  ck_assert_uint_eq(rd.n[1], 1); /* the whole first entry, then the cut one stops */
  ck_assert_int_eq(rd.lv[1][0].index, 1);
  ck_assert_int_eq(rd.lv[1][0].level, 50);
  ck_assert_int_eq(rd.lv[1][0].max, 100);
  ck_assert_uint_eq(rd.n[2], 0);
  ck_assert_int_eq(rd.page[2], 7);
  asr_store_close(st);
}
END_TEST

/* ---- the size goal ------------------------------------------------------------------ */

START_TEST(test_size_goal)
{
  asr_store *st = open_ok();
  asr_store_device sd;
  struct stat sb;
  asr_device d;
  int64_t id = 0, t0 = now_ms();

  make_device(&d, "YEAR-1", "00:00:5e:00:53:01", "10.0.9.1");
  for (int i = 0; i < 10; i++)
    add_supply(&d, i + 1, 0, i < 4 ? 20000 : 100);
  d.has_page_count = true;
  for (int h = 0; h < 8760; h++) {
    for (int i = 0; i < 10; i++) {
      int64_t max = d.supplies[i].max;
      d.supplies[i].level = max - (h * (i + 3) + i * 17) % (max + 1);
    }
    d.page_count = 100000 + h * 37;
    id = save(st, &d, T0 + (int64_t)h * 3600);
  }
  ck_assert_int_eq(asr_store_get(st, id, &sd), ASR_OK);
  ck_assert_int_eq(sd.readings, 8760);
  asr_store_close(st); /* checkpoints the WAL into the file */
  ck_assert_int_eq(stat(dbpath, &sb), 0);
  printf("store size goal: 8760 hourly readings x 10 supplies -> %lld bytes (%.1f KiB),"
         " %lld ms\n",
         (long long)sb.st_size, sb.st_size / 1024.0, (long long)(now_ms() - t0));
  ck_assert_int_lt(sb.st_size, 1000 * 1000);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_create_modes);
  tcase_add_test(tc, test_wal_and_pragmas);
  tcase_add_test(tc, test_schema_steps_ordered);
  tcase_add_test(tc, test_empty_file_refused);
  tcase_add_test(tc, test_new_database_whole);
  tcase_add_test(tc, test_damaged_page_refused);
  tcase_add_test(tc, test_disk_full_named);
  tcase_add_test(tc, test_future_version_untouched);
  tcase_add_test(tc, test_not_a_database);
  tcase_add_test(tc, test_foreign_database_refused);
  tcase_add_test(tc, test_unusable_paths);
  tcase_add_test(tc, test_locked_open);
  tcase_add_test(tc, test_locked_write_loses_nothing);
  tcase_add_test(tc, test_save_update_by_serial_and_move);
  tcase_add_test(tc, test_match_device);
  tcase_add_test(tc, test_schedule_round_trip);
  tcase_add_test(tc, test_different_printer_at_known_address);
  tcase_add_test(tc, test_mac_and_ip_keys);
  tcase_add_test(tc, test_hostile_strings_and_cred);
  tcase_add_test(tc, test_reading_round_trip);
  tcase_add_test(tc, test_supplies_current_view_and_counter);
  tcase_add_test(tc, test_failures);
  tcase_add_test(tc, test_foreach_order_and_selectors);
  tcase_add_test(tc, test_save_during_walk);
  tcase_add_test(tc, test_rollback_on_error);
  tcase_add_test(tc, test_levels_codec);
  tcase_add_test(tc, test_levels_corrupt);
  tcase_add_test(tc, test_corrupt_blob_in_database);
  tcase_add_test(tc, test_size_goal);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
