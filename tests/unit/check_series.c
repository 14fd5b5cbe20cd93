/* check_series.c: the engine's per-supply state (issue 15) on real SQLite files: the series
 * codec (cseries.h), the daily roll-up and series the ingest keeps (cstore_series.h) against
 * the raw readings under hostile orders of arrival, the engine on its state against the
 * engine recomputing from the raw readings over a long history (same orders, lines, stock,
 * events and mails, day after day, with raw readings pruned on one side), the retention
 * (cretain.h), and the migration of a database made before the roll-up. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testdb.h"
#include "central/cretain.h"
#include "central/cseries.h"
#include "central/cstore.h"
#include "central/cstore_int.h"
#include "central/cstore_series.h"
#include "central/engine.h"
#include "common/util.h"

#define D0 INT64_C(20454) /* simulated day 0: 2026-01-01, a Thursday */
#define DAY(d) ((D0 + (d)) * 86400)

static char dir[256];

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_series.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
  char p[400];
  const char *names[] = {"a.db", "b.db"}, *sfx[] = {"", "-wal", "-shm"};

  for (size_t i = 0; i < 2; i++)
    for (size_t k = 0; k < 3; k++) {
      ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s/%s%s", dir, names[i], sfx[k]), ASR_OK);
      unlink(p);
    }
  rmdir(dir);
}

static cstore *open_db(const char *name)
{
  char path[400], err[256];
  cstore *st = NULL;

  testdb_name(dir, name, path, sizeof(path));
  ck_assert_msg(cstore_open(path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  return st;
}

/* Runs sql (no parameters; written for both backends) on the store's connection. */
static void exec(cstore *st, const char *sql)
{
  ck_assert_msg(cdb_exec(st->db, sql, "a test's SQL") == ASR_OK, "%s: %s", sql, cstore_errmsg(st));
}

/* ---- The codec ----------------------------------------------------------------------- */

static cstore_rp_level lv(int64_t day, bool has_level, int64_t level, bool has_pct, int pct)
{
  return (cstore_rp_level){
      .day = day, .has_level = has_level, .level = level, .has_percent = has_pct, .percent = pct};
}

static void assert_same(const cseries *a, const cseries *b)
{
  ck_assert_int_eq(a->from, b->from);
  ck_assert_uint_eq(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    ck_assert_int_eq(a->d[i].day, b->d[i].day);
    ck_assert_int_eq(a->d[i].has_level, b->d[i].has_level);
    ck_assert_int_eq(a->d[i].has_percent, b->d[i].has_percent);
    if (a->d[i].has_level)
      ck_assert_int_eq(a->d[i].level, b->d[i].level);
    if (a->d[i].has_percent)
      ck_assert_int_eq(a->d[i].percent, b->d[i].percent);
  }
}

START_TEST(test_codec)
{
  cseries s, t;
  unsigned char *blob = NULL;
  size_t len = 0;
  const cstore_rp_level days[] = {
      lv(D0 + 5, true, 100, true, 100),
      lv(D0 + 1, true, 0, false, 0),
      lv(D0 + 3, false, 0, true, 42),
      lv(D0 + 9, true, -3, true, -1),
      lv(D0 + 7, true, INT64_MAX, true, 2147483647),
      lv(D0 + 8, true, INT64_MIN, true, -2147483647 - 1),
      lv(D0 + 2, false, 0, false, 0),
      lv(D0 - 4, true, 1, true, 1), /* before from: not kept */
  };

  cseries_init(&s, D0);
  for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++)
    ck_assert_int_eq(cseries_put(&s, &days[i]), ASR_OK);
  ck_assert_uint_eq(s.n, 7);
  for (size_t i = 1; i < s.n; i++)
    ck_assert_int_lt(s.d[i - 1].day, s.d[i].day);
  cstore_rp_level again = lv(D0 + 3, true, 77, true, 7); /* a day replaced, not added */
  ck_assert_int_eq(cseries_put(&s, &again), ASR_OK);
  ck_assert_uint_eq(s.n, 7);
  ck_assert_int_eq(s.d[2].level, 77);
  ck_assert_int_eq(cseries_encode(&s, &blob, &len), ASR_OK);
  ck_assert_int_eq(cseries_decode(blob, len, &t), ASR_OK);
  assert_same(&s, &t);
  cseries_free(&t);
  /* every shorter prefix, a longer blob and another version are refused, never half read */
  for (size_t n = 0; n < len; n++) {
    ck_assert_int_eq(cseries_decode(blob, n, &t), ASR_ERR_INVALID);
    cseries_free(&t);
  }
  unsigned char *longer = malloc(len + 1);
  memcpy(longer, blob, len);
  longer[len] = 0;
  ck_assert_int_eq(cseries_decode(longer, len + 1, &t), ASR_ERR_INVALID);
  cseries_free(&t);
  longer[0] = 2;
  ck_assert_int_eq(cseries_decode(longer, len, &t), ASR_ERR_INVALID);
  cseries_free(&t);
  free(longer);
  /* trim: the days before the new from go, from never goes back */
  cseries_trim(&s, D0 + 5);
  ck_assert_uint_eq(s.n, 4);
  ck_assert_int_eq(s.d[0].day, D0 + 5);
  cseries_trim(&s, D0);
  ck_assert_int_eq(s.from, D0 + 5);
  cstore_rp_level old = lv(D0 + 4, true, 1, true, 1);
  ck_assert_int_eq(cseries_put(&s, &old), ASR_OK);
  ck_assert_uint_eq(s.n, 4);
  free(blob);
  cseries_free(&s);
  /* an empty series */
  cseries_init(&s, 12345);
  ck_assert_int_eq(cseries_encode(&s, &blob, &len), ASR_OK);
  ck_assert_int_eq(cseries_decode(blob, len, &t), ASR_OK);
  assert_same(&s, &t);
  cseries_free(&t);
  free(blob);
}
END_TEST

/* Random bytes (and random edits of a valid blob) decode or are refused: never a crash, and
 * what decodes is a series in order. */
START_TEST(test_codec_hostile)
{
  unsigned char buf[256], *blob = NULL;
  size_t len = 0;
  uint32_t x = 2463534242u;
  cseries s, t;

  cseries_init(&s, D0);
  for (int d = 0; d < 60; d++) {
    cstore_rp_level l = lv(D0 + d * 2, true, 20000 - d * 300, true, 100 - d);
    ck_assert_int_eq(cseries_put(&s, &l), ASR_OK);
  }
  ck_assert_int_eq(cseries_encode(&s, &blob, &len), ASR_OK);
  for (int round = 0; round < 20000; round++) {
    size_t n = round % 2 ? len : (x % sizeof(buf));
    if (round % 2)
      memcpy(buf, blob, len < sizeof(buf) ? len : sizeof(buf));
    for (size_t i = 0; i < (round % 2 ? 3 : n); i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[round % 2 ? x % (len < sizeof(buf) ? len : sizeof(buf)) : i] = (unsigned char)x;
    }
    if (cseries_decode(buf, n < sizeof(buf) ? n : sizeof(buf), &t) == ASR_OK)
      for (size_t i = 1; i < t.n; i++)
        ck_assert_int_lt(t.d[i - 1].day, t.d[i].day);
    cseries_free(&t);
  }
  free(blob);
  cseries_free(&s);
}
END_TEST

/* ---- Batches ------------------------------------------------------------------------- */

#define MAX_DEV 12
#define MAX_SUP 4
#define MAX_RD 4096

/* A batch being built: devices with 4 supplies each, readings of their levels. */
typedef struct {
  cstore_dev dev[MAX_DEV];
  char key[MAX_DEV][32], serial[MAX_DEV][32];
  cstore_supply_meta sm[MAX_DEV][MAX_SUP];
  cstore_reading rd[MAX_RD];
  cstore_level lv[MAX_RD][MAX_SUP];
  size_t n_dev, n_rd;
} bbuild;

static const struct {
  const char *desc, *type, *colorant;
} sup_kind[MAX_SUP] = {{"Black Toner", "toner", "black"},
                       {"Cyan Toner", "toner", "cyan"},
                       {"Magenta Toner", "toner", "magenta"},
                       {"Waste Toner Box", "wasteToner", NULL}};

/* Device number g of the batch (added on first use): its index in the batch. */
static size_t bdev(bbuild *b, int g)
{
  char serial[32];

  ck_assert_int_eq(asr_fmt(serial, sizeof(serial), "SER%04d", g), ASR_OK);
  for (size_t i = 0; i < b->n_dev; i++)
    if (strcmp(b->serial[i], serial) == 0)
      return i;
  ck_assert_uint_lt(b->n_dev, MAX_DEV);
  size_t i = b->n_dev++;
  ck_assert_int_eq(asr_strlcpy(b->serial[i], serial, sizeof(b->serial[i])), ASR_OK);
  ck_assert_int_eq(asr_fmt(b->key[i], sizeof(b->key[i]), "serial:%s", serial), ASR_OK);
  for (int k = 0; k < MAX_SUP; k++)
    b->sm[i][k] = (cstore_supply_meta){.index = k + 1,
                                       .description = sup_kind[k].desc,
                                       .type = sup_kind[k].type,
                                       .klass = k == 3 ? "receptacle" : "consumed",
                                       .colorant = sup_kind[k].colorant,
                                       .colorant_std = sup_kind[k].colorant};
  b->dev[i] = (cstore_dev){.key = b->key[i],
                           .serial = b->serial[i],
                           .model = "Series 9",
                           .state_since = -1,
                           .last_good_poll = -1,
                           .failed_polls = -1,
                           .n_supplies = MAX_SUP,
                           .supplies = b->sm[i]};
  return i;
}

/* A reading of device g at t with levels l[0..4) of capacity cap (negative: absent). */
static void bread(bbuild *b, int g, int64_t t, const int64_t *l, int64_t cap)
{
  size_t d = bdev(b, g), i = b->n_rd++;

  ck_assert_uint_lt(i, MAX_RD);
  for (int k = 0; k < MAX_SUP; k++)
    b->lv[i][k] = (cstore_level){.index = k + 1,
                                 .has_level = l[k] >= 0,
                                 .level = l[k],
                                 .has_max = true,
                                 .max = cap,
                                 .has_percent = l[k] >= 0 && cap > 0,
                                 .percent = l[k] >= 0 && cap > 0 ? (int)(l[k] * 100 / cap) : 0};
  b->rd[i] = (cstore_reading){.device = d, .t = t, .n_levels = MAX_SUP, .levels = b->lv[i]};
}

static void bsend(cstore *st, const cstore_agent *ag, bbuild *b, const char *id, int64_t now)
{
  cstore_applied res;
  cstore_batch bt = {.batch_id = id,
                     .agent_id = ag->id,
                     .created_at = now,
                     .n_devices = b->n_dev,
                     .devices = b->dev,
                     .n_readings = b->n_rd,
                     .readings = b->rd,
                     .n_readings_sent = b->n_rd};

  if (b->n_rd > 0)
    ck_assert_int_eq(cstore_apply(st, ag, &bt, now, &res), ASR_OK);
  b->n_dev = 0;
  b->n_rd = 0;
}

static void enrol(cstore *st, const char *site, cstore_agent *ag)
{
  char token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX], contact[64];

  ck_assert_int_eq(asr_fmt(contact, sizeof(contact), "ops@%s.example", site), ASR_OK);
  ck_assert_int_eq(cstore_site_add(st, site, contact, NULL, DAY(0), token, sizeof(token)), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "host", "0.1.0", DAY(0), ag, name, sizeof(name)),
                   ASR_OK);
}

/* ---- Comparing what the store says ---------------------------------------------------- */

typedef struct {
  char *s;
  size_t len, cap;
} text;

static int text_row(void *ctx, int n, char **v, char **names)
{
  text *t = ctx;

  (void)names;
  for (int i = 0; i < n; i++) {
    const char *x = v[i] ? v[i] : "NULL";
    size_t k = strlen(x) + 2;
    if (t->len + k + 1 > t->cap) {
      t->cap = (t->len + k + 1) * 2;
      t->s = realloc(t->s, t->cap);
      ck_assert_ptr_nonnull(t->s);
    }
    memcpy(t->s + t->len, x, k - 2);
    t->len += k - 2;
    t->s[t->len++] = i + 1 < n ? '|' : '\n';
    t->s[t->len] = '\0';
  }
  return 0;
}

/* The rows of sql, one line each. */
static char *dump(cstore *st, const char *sql)
{
  text t = {0};
  char *err = NULL;

  ck_assert_msg(sqlite3_exec(cstore_sqlite(st), sql, text_row, &t, &err) == SQLITE_OK, "%s: %s",
                sql, err ? err : "?");
  return t.s ? t.s : strdup("");
}

/* The first column of sql's first row (either backend). */
static int64_t count(cstore *st, const char *sql)
{
  int64_t n = 0;

  ck_assert_msg(cdb_query_i64(st->db, sql, "a test's count", &n, NULL) == ASR_OK, "%s: %s", sql,
                cstore_errmsg(st));
  return n;
}

static void assert_dump_eq(cstore *a, cstore *b, const char *sql, int day)
{
  char *x = dump(a, sql), *y = dump(b, sql);

  ck_assert_msg(strcmp(x, y) == 0, "day %d: %s\n--- state:\n%.1000s\n--- recompute:\n%.1000s", day,
                sql, x, y);
  free(x);
  free(y);
}

/* Collects levels (day, level, percent) as text. */
static int level_text(const cstore_rp_level *l, void *ctx)
{
  text *t = ctx;
  char line[128], lvl[32] = "-", pct[16] = "-";

  if (l->has_level)
    ck_assert_int_eq(asr_fmt(lvl, sizeof(lvl), "%lld", (long long)l->level), ASR_OK);
  if (l->has_percent)
    ck_assert_int_eq(asr_fmt(pct, sizeof(pct), "%d", l->percent), ASR_OK);
  ck_assert_int_eq(asr_fmt(line, sizeof(line), "%lld %s %s", (long long)l->day, lvl, pct), ASR_OK);
  char *v[] = {line};
  return text_row(t, 1, v, NULL);
}

typedef asr_result (*levels_fn)(cstore *, int64_t, int32_t, int64_t, int64_t, cstore_rp_level_cb,
                                void *);

static char *levels_of(cstore *st, levels_fn fn, int64_t dev, int32_t idx, int64_t from, int64_t to)
{
  text t = {0};

  ck_assert_int_eq(fn(st, dev, idx, from, to, level_text, &t), ASR_OK);
  return t.s ? t.s : strdup("");
}

/* Every supply: the roll-up (cstore_rp_daily_levels) and the series (cstore_series_levels,
 * over the engine's window of day today) say what the raw readings say. */
static void assert_rollup_exact(cstore *st, int64_t today)
{
  sqlite3_stmt *s = NULL;

  ck_assert_int_eq(sqlite3_prepare_v2(cstore_sqlite(st),
                                      "SELECT DISTINCT device_id, idx FROM levels ORDER BY 1, 2",
                                      -1, &s, NULL),
                   SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    int64_t dev = sqlite3_column_int64(s, 0);
    int32_t idx = sqlite3_column_int(s, 1);
    char *raw = levels_of(st, cstore_series_levels_raw, dev, idx, 0, INT32_MAX);
    char *roll = levels_of(st, cstore_rp_daily_levels, dev, idx, 0, INT32_MAX);
    ck_assert_msg(strcmp(raw, roll) == 0, "device %lld supply %d: raw\n%.300s\nroll-up\n%.300s",
                  (long long)dev, idx, raw, roll);
    free(raw);
    free(roll);
    raw = levels_of(st, cstore_series_levels_raw, dev, idx, today - 120, today);
    char *ser = levels_of(st, cstore_series_levels, dev, idx, today - 120, today);
    ck_assert_msg(strcmp(raw, ser) == 0, "device %lld supply %d: raw\n%.300s\nseries\n%.300s",
                  (long long)dev, idx, raw, ser);
    free(raw);
    free(ser);
  }
  sqlite3_finalize(s);
}

/* ---- The roll-up under hostile orders of arrival --------------------------------------- */

START_TEST(test_rollup_exact)
{
  cstore *st = open_db("a.db");
  cstore_agent ag;
  bbuild *b = calloc(1, sizeof(*b));
  int64_t l[MAX_SUP];
  char id[64];
  int seq = 0;

  enrol(st, "acme", &ag);
  for (int day = 0; day < 200; day += 1 + day % 3) {
    int64_t now = DAY(day) + 80000;
    /* the day's readings, newest first; two at the same time with other values (the
     * first stays); one with no level; one of a device's supply missing */
    for (int h = 23; h >= 0; h -= 5) {
      for (int k = 0; k < MAX_SUP; k++)
        l[k] = 20000 - ((day * 24 + h) * (k + 3) * 7) % 20000;
      if (h == 3)
        l[1] = -1;
      bread(b, 1, DAY(day) + h * 3600, l, 20000);
      bread(b, 2, DAY(day) + h * 3600 + 7, l, 20000);
    }
    l[0] = 5;
    bread(b, 1, DAY(day) + 18 * 3600, l, 20000); /* same t as a reading above: ignored */
    ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%d", ag.id, ++seq), ASR_OK);
    bsend(st, &ag, b, id, now);
    if (day % 7 == 3) { /* a restored agent: old days again, later in their days */
      for (int back = 1; back < 160; back += 37) {
        int64_t d = day - back;
        for (int k = 0; k < MAX_SUP; k++)
          l[k] = 1000 + back * 10 + k;
        bread(b, 1, DAY(d) + 86399 - back, l, 20000); /* newest of its day */
        bread(b, 2, DAY(d) + 1, l, 20000);            /* older than its day's last */
      }
      bread(b, 2, DAY(day) + 23 * 3600 + 7, l, 20000); /* the day's last again: the first stays */
      ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%d", ag.id, ++seq), ASR_OK);
      bsend(st, &ag, b, id, now + 10);
    }
    if (day % 11 == 5) { /* a clock in the future, then the same batch id again */
      for (int k = 0; k < MAX_SUP; k++)
        l[k] = 333 + k;
      bread(b, 3, DAY(day + 3) + 100, l, 20000);
      bread(b, 3, DAY(day) + 100, l, 20000);
      ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-%d", ag.id, ++seq), ASR_OK);
      bsend(st, &ag, b, id, now + 20);
      l[0] = 1;
      bread(b, 3, DAY(day + 3) + 100, l, 20000); /* same id, other content: stored too */
      bread(b, 3, DAY(day + 3) + 200, l, 20000);
      bsend(st, &ag, b, id, now + 30);
    }
    if (day % 17 == 0)
      assert_rollup_exact(st, D0 + day);
  }
  /* a printer whose clock runs years ahead: more days than a series holds; the batch is
   * stored all the same and that supply is read from the roll-up */
  for (int part = 0; part < 2; part++) {
    for (int k = 0; k < 2600; k++) {
      int64_t f[MAX_SUP] = {k, k, k, k};
      bread(b, 4, DAY(300 + part * 2600 + k) + 7, f, 20000);
    }
    ck_assert_int_eq(asr_fmt(id, sizeof(id), "%s-future-%d", ag.id, part), ASR_OK);
    bsend(st, &ag, b, id, DAY(199) + 80000);
  }
  ck_assert_int_eq(count(st, "SELECT count(*) FROM supply_series s JOIN devices d"
                             " ON d.id = s.device_id WHERE d.serial = 'SER0004' AND days IS NULL"),
                   MAX_SUP);
  exec(st, "DELETE FROM supply_series WHERE device_id IN (SELECT id FROM devices"
           " WHERE serial = 'SER0004')"); /* the other checks below look at built series */
  assert_rollup_exact(st, D0 + 199);
  /* the series are built and hold the window (the engine reads them, not the roll-up) */
  ck_assert_int_eq(count(st, "SELECT count(*) FROM supply_series WHERE days IS NULL"), 0);
  sqlite3_stmt *q = NULL;
  cseries sr;
  ck_assert_int_eq(sqlite3_prepare_v2(cstore_sqlite(st),
                                      "SELECT days FROM supply_series WHERE idx = 1 LIMIT 1", -1,
                                      &q, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
  ck_assert_int_eq(
      cseries_decode(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0), &sr), ASR_OK);
  sqlite3_finalize(q);
  ck_assert_int_le(sr.from, D0 + 199 - 120);
  ck_assert_int_ge(sr.from, D0 + 199 - CSERIES_KEEP_DAYS - 3);
  ck_assert_uint_ge(sr.n, 60);
  cseries_free(&sr);
  /* a series that does not decode is built again from the roll-up, and read meanwhile
   * from the roll-up */
  exec(st, "UPDATE supply_series SET days = x'01ff' WHERE idx = 2");
  exec(st, "UPDATE supply_series SET days = NULL WHERE idx = 3");
  assert_rollup_exact(st, D0 + 199);
  for (int k = 0; k < MAX_SUP; k++)
    l[k] = 42;
  bread(b, 1, DAY(200) + 5, l, 20000);
  bread(b, 2, DAY(200) + 5, l, 20000);
  bsend(st, &ag, b, "last", DAY(200) + 9);
  assert_rollup_exact(st, D0 + 200);
  free(b);
  cstore_close(st);
}
END_TEST

/* ---- The engine on its state, against the engine recomputing from the raw readings ----
 * Run 0 with the default rules (the engine reads the series), run 1 with a long window of
 * 130 days (longer than a series: the engine reads the roll-up). */

#define EQ_DAYS 190
#define EQ_DEVS 8

/* Remaining of supply k of device g at time t: a saw tooth (a new cartridge when one is
 * empty, some put in early), daily use by device: one heavy user, one printing on weekdays
 * only, one whose use triples from day 100. */
static int64_t eq_level(int g, int k, int64_t t, int64_t cap)
{
  double days = (double)(t - DAY(0)) / 86400.0, rate = 0.012 + 0.009 * ((g * 7 + k * 3) % 5);

  if (g == 0 && k == 0)
    rate = 0.33; /* 2+ cartridges of black a week */
  if (g == 3 && days > 100)
    days = 100 + (days - 100) * 3.0;
  if (g == 4) /* weekdays only: 5 of 7 days */
    days = (double)((int64_t)days / 7 * 5) + (((int64_t)days % 7) < 5 ? days - (int64_t)days : 0);
  double used = (0.37 * (g + k + 1) + rate * days);
  used -= (double)(int64_t)used;
  if (g == 5 && k == 1 && used > 0.6) /* swaps its cyan at 40 % left */
    used = used - 0.6;
  return (int64_t)((1.0 - used) * (double)cap);
}

typedef struct {
  cstore *st[2]; /* 0: the state (CENGINE_SERIES, pruned), 1: the reference (CENGINE_RAW) */
  cstore_agent ag[2][2];
  bbuild *b;
  asr_rp_conf c[2];
  int seq;
} eqpair;

static void eq_send(eqpair *p, int site, int64_t now)
{
  char id[64];
  bbuild *copy = malloc(sizeof(*copy));

  ck_assert_ptr_nonnull(copy);
  ck_assert_int_eq(asr_fmt(id, sizeof(id), "eq-%d-%d", site, ++p->seq), ASR_OK);
  memcpy(copy, p->b, sizeof(*copy));
  for (size_t i = 0; i < copy->n_dev; i++) { /* pointers into the copy */
    copy->dev[i].key = copy->key[i];
    copy->dev[i].serial = copy->serial[i];
    copy->dev[i].supplies = copy->sm[i];
  }
  for (size_t i = 0; i < copy->n_rd; i++)
    copy->rd[i].levels = copy->lv[i];
  bsend(p->st[0], &p->ag[0][site], p->b, id, now);
  bsend(p->st[1], &p->ag[1][site], copy, id, now);
  free(copy);
}

/* Day d's batches: 6 polls a day; device 6 silent from day 60 to 80 then sends its backlog;
 * on some days a restored agent sends old days again, later in their days, with other
 * values (some older than the engine's window), and a reading dated in the future. */
static void eq_report(eqpair *p, int d)
{
  int64_t l[MAX_SUP], now = DAY(d) + 82000;

  for (int site = 0; site < 2; site++) {
    for (int g = site; g < EQ_DEVS; g += 2) {
      int64_t cap = g % 3 == 1 ? 100 : 20000;
      int from = g == 6 && d == 80 ? 60 : d;
      if (g == 6 && d >= 60 && d < 80)
        continue;
      for (int dd = from; dd <= d; dd++)
        for (int h = 0; h < 24; h += 4) {
          int64_t t = DAY(dd) + h * 3600 + g * 61;
          for (int k = 0; k < MAX_SUP; k++)
            l[k] = eq_level(g, k, t, cap);
          if (g == 2 && h == 20)
            l[2] = -1; /* a level the printer could not tell */
          bread(p->b, g, t, l, cap);
        }
    }
    eq_send(p, site, now);
  }
  if (d % 9 == 4 && d > 20) {
    for (int back = 1; back <= 150 && back <= d; back += 29) {
      for (int k = 0; k < MAX_SUP; k++)
        l[k] = eq_level(2, k, DAY(d - back) + 86399, 20000) / 2;
      bread(p->b, 2, DAY(d - back) + 86399 - back, l, 20000);
    }
    for (int k = 0; k < MAX_SUP; k++)
      l[k] = eq_level(2, k, DAY(d + 2), 20000);
    bread(p->b, 2, DAY(d + 2) + 50, l, 20000);
    eq_send(p, 0, now + 60);
  }
}

/* The orders of one side: their ids, days and states (stepped after the listing). */
typedef struct {
  int64_t id[1024], day[1024];
  char state[1024][16];
  size_t n;
} eqorders;

static int eq_list_cb(const cstore_order_row *o, void *ctx)
{
  eqorders *x = ctx;

  ck_assert_uint_lt(x->n, 1024);
  x->id[x->n] = o->id;
  x->day[x->n] = o->day;
  ck_assert_int_eq(asr_strlcpy(x->state[x->n], o->state, sizeof(x->state[0])), ASR_OK);
  x->n++;
  return 0;
}

/* The warehouse: ships the orders of the last 3 days (but every fifth one, left created),
 * delivers those shipped 4 days after they were made. */
static void eq_warehouse(cstore *st, int d)
{
  eqorders *x = calloc(1, sizeof(*x));
  cengine_opts eo = {.mail_from = "central@provider.test", .now = DAY(d) + 85000};
  char err[256];

  ck_assert_int_eq(cstore_order_foreach(st, NULL, false, eq_list_cb, x), ASR_OK);
  for (size_t i = 0; i < x->n; i++) {
    cengine_step step = CENGINE_SHIP;
    if (x->day[i] >= D0 + d - 3 && strcmp(x->state[i], "created") == 0 && x->id[i] % 5 != 0)
      step = CENGINE_SHIP;
    else if (x->day[i] <= D0 + d - 4 && strcmp(x->state[i], "shipped") == 0)
      step = CENGINE_DELIVER;
    else
      continue;
    ck_assert_msg(cengine_order_step(st, x->id[i], step, &eo, err, sizeof(err)) == ASR_OK, "%s",
                  err);
  }
  free(x);
}

static void eq_compare(eqpair *p, int d)
{
  static const char *const sql[] = {
      "SELECT id, site_id, contact, state, reason, day, created_at, updated_at, kind, note"
      " FROM orders ORDER BY id",
      "SELECT order_id, line, device_id, idx, serial, quantity, reason, covered_until,"
      " daily_use, state, consumed FROM order_lines ORDER BY 1, 2",
      "SELECT device_id, idx, ordered, delivered, installed, jumps_day FROM stock ORDER BY 1, 2",
      "SELECT * FROM rp_events ORDER BY 1, 2, 3, 4",
      "SELECT device_id, high_use, high_use_since, notices, judged FROM rp_devices ORDER BY 1",
      "SELECT key, site_id, rcpt, kind, hex(message) FROM outbox ORDER BY key",
  };

  for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
    assert_dump_eq(p->st[0], p->st[1], sql[i], d);
}

START_TEST(test_engine_state_equals_recompute)
{
  eqpair p = {.b = calloc(1, sizeof(bbuild))};
  cengine_report rep[2];
  cstore_prune_report pr;
  size_t orders = 0, lines = 0, early = 0, high = 0;

  p.st[0] = open_db("a.db");
  p.st[1] = open_db("b.db");
  for (int i = 0; i < 2; i++) {
    asr_rp_conf_default(&p.c[i]);
    enrol(p.st[i], "alpha", &p.ag[i][0]);
    enrol(p.st[i], "beta", &p.ag[i][1]);
    exec(p.st[i], "INSERT INTO rp_state (k, v) VALUES ('instance', 4242)"
                  " ON CONFLICT (k) DO UPDATE SET v = excluded.v");
  }
  for (int i = 0; _i == 1 && i < 2; i++) { /* windows longer than a series: the roll-up */
    p.c[i].forecast.long_window_days = 130;
    p.c[i].forecast.mid_window_days = 60;
  }
  /* the state side loses its raw readings after 125 days (140: the long window's) */
  p.c[0].retention_days = _i == 1 ? 140 : 125;
  for (int d = 0; d < EQ_DAYS; d++) {
    eq_report(&p, d);
    if (d == 120) { /* a special order with a print job, on both sides */
      cengine_extra x = {.device = 3,
                         .supply = 1,
                         .quantity = 2,
                         .job_from = D0 + 124,
                         .job_to = D0 + 126,
                         .note = "catalogue"};
      cengine_opts eo = {.mail_from = "central@provider.test", .now = DAY(d) + 83000};
      int64_t id[2];
      char err[256];
      for (int i = 0; i < 2; i++)
        ck_assert_msg(cengine_extra_order(p.st[i], &x, &eo, &id[i], err, sizeof(err)) == ASR_OK,
                      "%s", err);
      ck_assert_int_eq(id[0], id[1]);
    }
    for (int i = 0; i < 2; i++) {
      cengine_opts eo = {.mail_from = "central@provider.test",
                         .now = DAY(d) + 84000,
                         .source = i ? CENGINE_RAW : CENGINE_SERIES};
      ck_assert_int_eq(cengine_run_day(p.st[i], &p.c[i], D0 + d, &eo, &rep[i]), ASR_OK);
      eq_warehouse(p.st[i], d);
    }
    ck_assert_int_eq(cretain_run(p.st[0], &p.c[0], D0 + d, &pr), ASR_OK);
    ck_assert_uint_eq(rep[0].orders, rep[1].orders);
    ck_assert_uint_eq(rep[0].lines, rep[1].lines);
    ck_assert_uint_eq(rep[0].early, rep[1].early);
    ck_assert_uint_eq(rep[0].mails, rep[1].mails);
    orders += rep[0].orders;
    lines += rep[0].lines;
    early += rep[0].early;
    high += rep[0].not_eligible;
    if (d % 10 == 9 || d == EQ_DAYS - 1)
      eq_compare(&p, d);
  }
  /* the history did what it should: orders, early replacements, a heavy user, and the raw
   * readings of the state side pruned while the reference kept them */
  ck_assert_uint_ge(orders, 10);
  ck_assert_uint_ge(lines, 30);
  ck_assert_uint_ge(early, 1);
  ck_assert_uint_ge(high, 1);
  char *old = dump(p.st[0], "SELECT count(*) FROM levels WHERE t < (20454 + 189 - 140) * 86400");
  ck_assert_str_eq(old, "0\n");
  free(old);
  old = dump(p.st[1], "SELECT count(*) > 0 FROM levels WHERE t < (20454 + 189 - 140) * 86400");
  ck_assert_str_eq(old, "1\n");
  free(old);
  assert_dump_eq(p.st[0], p.st[1], "SELECT * FROM level_days ORDER BY 1, 2, 3", EQ_DAYS);
  cstore_close(p.st[0]);
  cstore_close(p.st[1]);
  free(p.b);
}
END_TEST

/* ---- Retention ----------------------------------------------------------------------- */

START_TEST(test_retention)
{
  cstore *st = open_db("a.db");
  cstore_agent ag;
  bbuild *b = calloc(1, sizeof(*b));
  asr_rp_conf c;
  cstore_prune_report pr;
  int64_t l[MAX_SUP] = {100, 90, 80, 70};
  char id[64];
  int today = 450;

  enrol(st, "acme", &ag);
  asr_rp_conf_default(&c);
  c.retention_days = 30;
  c.rollup_days = 400;
  for (int d = 0; d <= today; d += 3) {
    for (int g = 0; g < MAX_DEV; g++)
      bread(b, g, DAY(d) + 3600 * (g + 1), l, 100);
    ck_assert_int_eq(asr_fmt(id, sizeof(id), "r-%d", d), ASR_OK);
    bsend(st, &ag, b, id, DAY(d) + 80000);
  }
  exec(st, "INSERT INTO events (device_id, t, kind, detail, batch_id)"
           " SELECT id, 86400 * 20500, 'old', NULL, 'x' FROM devices;"
           "INSERT INTO events (device_id, t, kind, detail, batch_id)"
           " SELECT id, 86400 * 20900, 'new', NULL, 'x' FROM devices;"
           "INSERT INTO meter_reads (device_id, name, t, value) SELECT id, 'total', 86400 * 20500,"
           " 1 FROM devices;"
           "INSERT INTO meter_reads (device_id, name, t, value) SELECT id, 'total', 86400 * 20900,"
           " 2 FROM devices;");
  int64_t raw = count(st, "SELECT count(*) FROM levels"),
          days = count(st, "SELECT count(*) FROM level_days");
  ck_assert_int_eq(cretain_run(st, &c, D0 + today, &pr), ASR_OK);
  /* what is older than the retention is gone, what is newer is all there */
  ck_assert_int_eq(count(st, "SELECT count(*) FROM levels WHERE t < (20454 + 420) * 86400"), 0);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM readings WHERE t < (20454 + 420) * 86400"), 0);
  ck_assert_int_eq(
      count(st, "SELECT count(*) FROM batches WHERE received_at < (20454 + 420) * 86400"), 0);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM levels"), 11 * MAX_DEV * MAX_SUP);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM events WHERE kind = 'old'"), 0);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM events WHERE kind = 'new'"), MAX_DEV);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM meter_reads"), MAX_DEV);
  ck_assert_int_eq(pr.levels, raw - 11 * MAX_DEV * MAX_SUP);
  /* the roll-up keeps its 400 days */
  ck_assert_int_eq(count(st, "SELECT count(*) FROM level_days WHERE day < 20454 + 50"), 0);
  ck_assert_int_eq(count(st, "SELECT min(day) FROM level_days"), D0 + 51);
  ck_assert_int_lt(count(st, "SELECT count(*) FROM level_days"), days);
  /* the devices' counters and the roll-up's answers did not change */
  ck_assert_int_eq(count(st, "SELECT min(readings) FROM devices"), today / 3 + 1);
  /* a second run finds nothing more */
  ck_assert_int_eq(cretain_run(st, &c, D0 + today, &pr), ASR_OK);
  ck_assert_int_eq(pr.levels + pr.readings + pr.level_days + pr.batches + pr.events, 0);
  /* rules that do not hold together are refused */
  c.rollup_days = 20;
  ck_assert_int_eq(cretain_run(st, &c, D0 + today, &pr), ASR_ERR_INVALID);
  free(b);
  cstore_close(st);
}
END_TEST

/* ---- Migration ----------------------------------------------------------------------- */

/* A database made before the roll-up (schema 9): step 13 rolls up its raw levels; the
 * engine reads the roll-up until the ingest builds each supply's series. */
START_TEST(test_migrate_13)
{
  cstore *st = open_db("a.db");
  cstore_agent ag;
  bbuild *b = calloc(1, sizeof(*b));
  int64_t l[MAX_SUP];
  char id[64];

  enrol(st, "acme", &ag);
  for (int d = 0; d < 30; d++) {
    for (int h = 0; h < 24; h += 6) {
      for (int k = 0; k < MAX_SUP; k++)
        l[k] = 20000 - (d * 24 + h) * (k + 1) * 5;
      bread(b, 1, DAY(d) + h * 3600, l, 20000);
    }
    ck_assert_int_eq(asr_fmt(id, sizeof(id), "m-%d", d), ASR_OK);
    bsend(st, &ag, b, id, DAY(d) + 80000);
  }
  exec(st, "DROP TABLE level_days; DROP TABLE supply_series; PRAGMA user_version = 9");
  cstore_close(st);
  st = open_db("a.db");
  ck_assert_int_eq(cstore_schema_version(st), cstore_schema_latest());
  ck_assert_int_eq(count(st, "SELECT count(*) FROM supply_series WHERE days IS NULL"), MAX_SUP);
  assert_rollup_exact(st, D0 + 29);
  cstore_close(st);
  st = open_db("a.db"); /* opening again changes nothing */
  assert_rollup_exact(st, D0 + 29);
  bread(b, 1, DAY(30) + 10, l, 20000);
  bsend(st, &ag, b, "after", DAY(30) + 80000);
  ck_assert_int_eq(count(st, "SELECT count(*) FROM supply_series WHERE days IS NULL"), 0);
  assert_rollup_exact(st, D0 + 30);
  free(b);
  cstore_close(st);
}
END_TEST

static Suite *series_suite(void)
{
  Suite *s = suite_create("series");
  TCase *tc = tcase_create("series");

  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_codec);
  TESTDB_SQLITE_TEST(tc, test_codec_hostile, "reads supply_series through cstore_sqlite()");
  TESTDB_SQLITE_TEST(tc, test_rollup_exact, "reads the series through cstore_sqlite()");
  if (!testdb_pg())
    tcase_add_loop_test(tc, test_engine_state_equals_recompute, 0, 2);
  else
    testdb_skip("test_engine_state_equals_recompute", "compares rows read through cstore_sqlite()");
  tcase_add_test(tc, test_retention);
  TESTDB_SQLITE_TEST(tc, test_migrate_13, "a SQLite schema 9 (PRAGMA user_version)");
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv); /* before the suite: it asks testdb_pg() */
  sr = srunner_create(series_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
