/* check_meters.c: the billing meter table (snmp/meters.c), one test per row, and the
 * alert table decoding (snmp/alerts.c) with hostile tables. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snmp/alerts.h"
#include "snmp/meters.h"
#include "snmp/printer.h"
#include "snmp/recording.h"
#include "store/alerts.h"
#include "store/events.h"
#include "store/meters.h"
#include "store/save.h"
#include "store/store.h"
#include "testutil.h"
#include "vbfixture.h"

#define SUP "1.3.6.1.2.1.43.11.1.1."
#define ALERT "1.3.6.1.2.1.43.18.1.1."

static asr_device dev;

static void build(const char *const *lines)
{
  asr_vbset *s = vbfix_new(lines);

  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(asr_printer_build(s, NULL, &dev), ASR_OK);
  asr_vbset_free(s);
}

static const asr_meter *meter(const char *name)
{
  for (size_t i = 0; i < dev.n_meters; i++) {
    if (strcmp(dev.meters[i].name, name) == 0)
      return &dev.meters[i];
  }
  return NULL;
}

/* The table has the rows the tests below were written for. */
START_TEST(test_row_count)
{
  ck_assert_uint_eq(asr_meter_rows_count, 46); /* update with a test for each new row */
}
END_TEST

/* Each row (_i): a printer of its enterprise answering only that OID gets that meter with
 * value * scale, its unit and the vendor as source; a printer of another enterprise
 * answering the same OID does not. */
START_TEST(test_each_row)
{
  const asr_meter_row *r = &asr_meter_rows[_i];
  char sysoid[96], val[160], other[96];
  const char *lines[] = {sysoid, SUP "5.1.1|2|3", val, NULL};
  const asr_meter *m;

  ck_assert(asr_meter_name_ok(r->meter));
  ck_assert_int_gt(r->scale, 0);
  snprintf(sysoid, sizeof(sysoid), "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.%u.1.1", r->enterprise);
  if (r->form == ASR_METER_BROTHER) /* a record of the row's code among others, then 0xFF */
    snprintf(val, sizeof(val), "%s|4x|%02x01040000ffff%02x010400%06xff", r->oid,
             (unsigned)(r->record ^ 0x40), (unsigned)r->record, (unsigned)(1000 + _i));
  else
    snprintf(val, sizeof(val), "%s|65|%d", r->oid, 1000 + _i);
  build(lines);
  m = meter(r->meter);
  ck_assert_msg(m != NULL, "row %d (%s) not read", _i, r->oid);
  ck_assert_int_eq(m->value, (int64_t)(1000 + _i) * r->scale);
  ck_assert_str_eq(m->unit, r->unit);
  ck_assert_str_eq(m->source, dev.vendor);
  snprintf(other, sizeof(other), "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.%u.1.1",
           r->enterprise == 11 ? 253u : 11u);
  lines[0] = other;
  build(lines);
  ck_assert_ptr_null(meter(r->meter));
}
END_TEST

/* The scan asks for the vendor's rows after its walk, even when the serial is standard. */
START_TEST(test_extra_gets)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
                                      "1.3.6.1.2.1.43.5.1.1.17.1|4|CNB0000001", NULL};
  asr_vbset *s = vbfix_new(lines);
  const char *oids[16];
  size_t n = asr_printer_extra_gets(s, oids, 16);

  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(oids[0], "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0");
  ck_assert_uint_eq(asr_printer_extra_gets(s, oids, 2), 2); /* bounded */
  asr_vbset_free(s);
}
END_TEST

/* Printer-MIB markers: one meter per marker, unit from prtMarkerCounterUnit. */
START_TEST(test_markers)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
                                      SUP "5.1.1|2|3",
                                      "1.3.6.1.2.1.43.10.2.1.3.1.1|2|7",
                                      "1.3.6.1.2.1.43.10.2.1.3.1.2|2|8",
                                      "1.3.6.1.2.1.43.10.2.1.3.1.3|2|99",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.1|65|48211",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.2|65|100",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.3|65|5",
                                      NULL};

  build(lines);
  ck_assert_uint_eq(dev.n_meters, 3);
  ck_assert_str_eq(meter("marker.1")->unit, "impressions");
  ck_assert_int_eq(meter("marker.1")->value, 48211);
  ck_assert_str_eq(meter("marker.1")->source, "printer-mib");
  ck_assert_str_eq(meter("marker.2")->unit, "sheets");
  ck_assert_str_eq(meter("marker.3")->unit, "impressions"); /* unknown unit code */
}
END_TEST

/* Hostile values are not meters: negative, words, absurd Counter64, NULL. */
START_TEST(test_hostile_values)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
                                      SUP "5.1.1|2|3",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.1|2|-5",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.2|70|18446744073709551615",
                                      "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0|4|12,345 pages",
                                      "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0|5|",
                                      "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0|2|-1",
                                      "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.22.0|66|7",
                                      NULL};

  build(lines);
  ck_assert_uint_eq(dev.n_meters, 1);
  ck_assert_int_eq(meter("duplex")->value, 7);
  ck_assert(!asr_meter_name_ok(""));
  ck_assert(!asr_meter_name_ok("Total"));
  ck_assert(!asr_meter_name_ok("a b"));
  ck_assert(!asr_meter_name_ok("x234567890123456789012345678901234"));
}
END_TEST

/* Brother brInfoCounter: records by code, a malformed string yields nothing after the
 * break, the OID is asked once for its three rows. */
START_TEST(test_brother_record)
{
  static const uint8_t ok[] = {0x00, 0x01, 0x04, 0x00, 0x00, 0x06, 0x4b, 0x02, 0x01,
                               0x04, 0x00, 0x00, 0x03, 0x86, 0x01, 0x01, 0x04, 0x00,
                               0x00, 0x02, 0xc5, 0x06, 0x01, 0x02, 0x02, 0x1a, 0xff};
  static const uint8_t bad_len[] = {0x00, 0x01, 0x09, 0x00, 0x00, 0x06, 0x4b, 0xff};
  static const uint8_t cut[] = {0x01, 0x01, 0x04, 0x00, 0x00};
  static const uint8_t junk_then[] = {0x41, 0x42, 0x43, 0x01, 0x01, 0x04, 0, 0, 0, 9};
  const char *oids[8];
  int64_t v = -1;

  ck_assert(asr_meters_brother_record(ok, sizeof(ok), 0x00, &v) && v == 1611);
  ck_assert(asr_meters_brother_record(ok, sizeof(ok), 0x01, &v) && v == 709);
  ck_assert(asr_meters_brother_record(ok, sizeof(ok), 0x02, &v) && v == 902);
  ck_assert(asr_meters_brother_record(ok, sizeof(ok), 0x06, &v) && v == 538); /* 2 bytes */
  ck_assert(!asr_meters_brother_record(ok, sizeof(ok), 0x12, &v));
  ck_assert(!asr_meters_brother_record(bad_len, sizeof(bad_len), 0x00, &v));
  ck_assert(!asr_meters_brother_record(cut, sizeof(cut), 0x01, &v));
  ck_assert(!asr_meters_brother_record(junk_then, sizeof(junk_then), 0x01, &v));
  ck_assert(!asr_meters_brother_record(ok, 0, 0x00, &v));
  ck_assert(!asr_meters_brother_record(NULL, 7, 0x00, &v));
  ck_assert_uint_eq(asr_meters_oids(2435, oids, 8), 1);
  ck_assert_uint_eq(asr_meters_oids(641, oids, 8), 3);
  ck_assert_uint_eq(asr_meters_oids(641, oids, 2), 2); /* bounded */
}
END_TEST

/* A counter sent as a string of digits is read; any other string is not a counter. */
START_TEST(test_string_counters)
{
  static const char *const lines[] = {
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.641.2.1",           SUP "5.1.1|2|3",
      "1.3.6.1.4.1.641.2.1.5.1.0|4x|20203132333435200000", "1.3.6.1.4.1.641.2.1.5.2.0|4|---",
      "1.3.6.1.4.1.641.2.1.5.3.0|4|1234567890123456",      NULL};
  static const char *const bad[] = {"-3", "12 34", "12.5", "0x10", "", "   ", "1e5", NULL};
  char line[96];
  const char *one[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.641.2.1", SUP "5.1.1|2|3", line, NULL};

  build(lines);
  ck_assert_uint_eq(dev.n_meters, 1);
  ck_assert_int_eq(meter("total")->value, 12345);
  for (size_t i = 0; bad[i]; i++) {
    snprintf(line, sizeof(line), "1.3.6.1.4.1.641.2.1.5.1.0|4|%s", bad[i]);
    build(one);
    ck_assert_msg(dev.n_meters == 0, "'%s' read as a counter", bad[i]);
  }
  snprintf(line, sizeof(line), "1.3.6.1.4.1.641.2.1.5.1.0|4|999999999999999");
  build(one);
  ck_assert_int_eq(meter("total")->value, INT64_C(999999999999999));
}
END_TEST

/* The checks of a new read: kept as read, flagged and explained. */
START_TEST(test_meter_check)
{
  char flag[16], note[160];

  asr_meter_check(0, 0, 1000, 5, flag, sizeof(flag), note, sizeof(note)); /* first read */
  ck_assert_str_eq(flag, "");
  asr_meter_check(1000, 500, 4600, 560, flag, sizeof(flag), note, sizeof(note));
  ck_assert_str_eq(flag, "");
  asr_meter_check(1000, 50000, 4600, 49990, flag, sizeof(flag), note, sizeof(note));
  ck_assert_str_eq(flag, "backwards");
  ck_assert_ptr_nonnull(strstr(note, "50000 to 49990"));
  asr_meter_check(1000, 50000, 4600, 12, flag, sizeof(flag), note, sizeof(note));
  ck_assert_str_eq(flag, "reset");
  /* an hour: 60 min * 300 ppm + 5000 = 23000 allowed */
  asr_meter_check(1000, 100, 4600, 100 + 23000, flag, sizeof(flag), note, sizeof(note));
  ck_assert_str_eq(flag, "");
  asr_meter_check(1000, 100, 4600, 100 + 23001, flag, sizeof(flag), note, sizeof(note));
  ck_assert_str_eq(flag, "jump");
  ck_assert_ptr_nonnull(strstr(note, "implausible"));
}
END_TEST

/* Usage over reads: the rises, across a reset the rises on both sides, after a glitch
 * backwards only what is above the highest read, a jump not billed, never negative. */
static int64_t usage_of(const int64_t *v, const char *const *flags, size_t n)
{
  asr_meter_usage u = {false, 0, 0, 0};

  for (size_t i = 0; i < n; i++)
    asr_meter_usage_add(&u, v[i], flags[i]);
  return u.usage;
}

START_TEST(test_meter_usage)
{
  ck_assert_int_eq(usage_of((int64_t[]){100, 150, 300}, (const char *[]){"", "", ""}, 3), 200);
  ck_assert_int_eq(
      usage_of((int64_t[]){50000, 50500, 12, 400}, (const char *[]){"", "", "reset", ""}, 4),
      500 + 388);
  ck_assert_int_eq(
      usage_of((int64_t[]){50000, 49990, 50010}, (const char *[]){"", "backwards", ""}, 3), 10);
  ck_assert_int_eq(usage_of((int64_t[]){50000, 49990, 49995, 50000, 50004},
                            (const char *[]){"", "backwards", "", "", ""}, 5),
                   4);
  ck_assert_int_eq(usage_of((int64_t[]){100, 900000, 900050}, (const char *[]){"", "jump", ""}, 3),
                   50);
  /* two resets in a month: three counters' rises */
  ck_assert_int_eq(usage_of((int64_t[]){9000, 9100, 5, 60, 2, 10},
                            (const char *[]){"", "", "reset", "", "reset", ""}, 6),
                   100 + 55 + 8);
  ck_assert_int_eq(usage_of((int64_t[]){0, INT64_MAX, INT64_MAX - 1, INT64_MAX},
                            (const char *[]){"", "", "backwards", ""}, 4),
                   INT64_MAX);
  ck_assert_int_eq(usage_of((int64_t[]){7}, (const char *[]){"reset"}, 1), 0);
  ck_assert_int_eq(usage_of((int64_t[]){INT64_MIN, INT64_MAX}, (const char *[]){"", ""}, 2),
                   INT64_MAX); /* a tampered store */
  ck_assert_int_eq(usage_of(NULL, NULL, 0), 0);
  /* the reads of check_cmeters' test_usage_as_agent: the central counts 120 too */
  ck_assert_int_eq(usage_of((int64_t[]){50000, 49990, 50010, 50030, 900000, 900050, 60, 100},
                            (const char *[]){"", "backwards", "", "", "jump", "", "reset", ""}, 8),
                   120);
}
END_TEST

/* The month of a meter whose counter was reset (a board swap) and of one that went
 * backwards once, stored by polls and read back as `asr-agent meters` shows them. */
typedef struct {
  asr_meter_period p[4];
  int n;
} periods;

static int add_period(const asr_meter_period *p, void *ctx)
{
  periods *x = ctx;

  if (x->n < 4)
    x->p[x->n++] = *p;
  return 0;
}

START_TEST(test_meter_period_reset)
{
  char dir[512], path[600], err[256];
  asr_store *st = NULL;
  asr_device d;
  periods x;
  const int64_t t0 = 1798761600; /* 2027-01-01 */
  static const int64_t total[] = {10000, 10500, 30, 530, 600};
  static const int64_t black[] = {8000, 8200, 8195, 8300, 8310};

  tu_tmpdir("meters", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.db", dir), ASR_OK);
  ck_assert_msg(asr_store_open(path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  asr_device_init(&d);
  ck_assert_int_eq(asr_strlcpy(d.ip, "127.0.0.9", sizeof(d.ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.serial, "MR1", sizeof(d.serial)), ASR_OK);
  d.is_printer = true;
  d.n_meters = 2;
  ck_assert_int_eq(asr_strlcpy(d.meters[0].name, "total", sizeof(d.meters[0].name)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.meters[1].name, "black", sizeof(d.meters[1].name)), ASR_OK);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(asr_strlcpy(d.meters[i].unit, "impressions", sizeof(d.meters[i].unit)),
                     ASR_OK);
    ck_assert_int_eq(asr_strlcpy(d.meters[i].source, "Lexmark", sizeof(d.meters[i].source)),
                     ASR_OK);
  }
  for (int day = 0; day < 5; day++) {
    d.meters[0].value = total[day];
    d.meters[1].value = black[day];
    ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, t0 + day * 86400 + 3600, NULL), ASR_OK);
  }
  memset(&x, 0, sizeof(x));
  ck_assert_int_eq(asr_meters_period(st, t0, t0 + 31 * 86400, add_period, &x), ASR_OK);
  ck_assert_int_eq(x.n, 2);
  /* ordered by name: black, then total */
  ck_assert_str_eq(x.p[1].start.name, "total");
  ck_assert_int_eq(x.p[1].reads, 5);
  ck_assert_int_eq(x.p[1].usage, 500 + 570); /* 10000->10500, then 30->600 */
  ck_assert_int_eq(x.p[1].resets, 1);
  ck_assert_int_eq(x.p[1].flags, 1);
  ck_assert_str_eq(x.p[1].last_flag, "reset");
  ck_assert_msg(strstr(x.p[1].explain, "counter reset at 2027-01-03T01:00:00Z (from 10500 to 30)"),
                "%s", x.p[1].explain);
  ck_assert_str_eq(x.p[0].start.name, "black");
  ck_assert_int_eq(x.p[0].usage, 310); /* 8000->8200, then above 8200: 8300, 8310 */
  ck_assert_int_eq(x.p[0].backwards, 1);
  ck_assert_msg(strstr(x.p[0].explain, "counted again only above 8200"), "%s", x.p[0].explain);
  /* a month that starts after the reset: nothing flagged inside it, plain rises */
  memset(&x, 0, sizeof(x));
  ck_assert_int_eq(asr_meters_period(st, t0 + 3 * 86400, t0 + 31 * 86400, add_period, &x), ASR_OK);
  ck_assert_int_eq(x.p[1].usage, 70);
  ck_assert_int_eq(x.p[1].flags, 0);
  ck_assert_str_eq(x.p[1].explain, "");
  asr_store_close(st);
  tu_rmtree(dir);
}
END_TEST

/* ---- the project's vendor recordings (tests/recordings/quirk_*_meters.snmprec) ---- */

typedef struct {
  const char *name, *unit;
  int64_t value; /* -1: the meter must be absent */
} want_meter;

typedef struct {
  uint32_t enterprise;
  const char *file, *vendor;
  size_t n_meters;
  want_meter m[8];
} vendor_rec;

/* One recording per vendor of the table, modelled on the real ones' quirks (see
 * tests/recordings/README.md): each gives its vendor's meters, names, units and values
 * (every row's scale is 1: the value is the one recorded). */
static const vendor_rec vendor_recs[] = {
    {253,
     "quirk_xerox_meters",
     "Xerox",
     5, /* Integer32; copy colour column missing */
     {{"total", "impressions", 81234},
      {"black", "impressions", 60000},
      {"color", "impressions", 21234},
      {"copy_black", "impressions", 15000},
      {"copy_color", NULL, -1}}},
    {11,
     "quirk_hp_meters",
     "HP",
     4, /* Integer, mono engine: no colour, duplex 0 */
     {{"total", "impressions", 15232},
      {"black", "impressions", 15232},
      {"duplex", "sheets", 0},
      {"color", NULL, -1}}},
    {367,
     "quirk_ricoh_meters",
     "Ricoh",
     4, /* Integer, Gauge32 and Counter32 mixed */
     {{"total", "impressions", 271871},
      {"print_total", "impressions", 190210},
      {"copy_total", "impressions", 81661}}},
    {1347,
     "quirk_kyocera_meters",
     "Kyocera",
     6, /* Counter64 total; no fax board */
     {{"total", "impressions", 432951},
      {"print_total", "impressions", 301224},
      {"copy_total", "impressions", 131727},
      {"print_black", "impressions", 210001},
      {"print_color", "impressions", 91223},
      {"fax", NULL, -1}}},
    {1602,
     "quirk_canon_meters",
     "Canon",
     7, /* clicks and images; id 124 unmapped */
     {{"total", "impressions", 98765},
      {"total_2", "clicks", 104321},
      {"black", "impressions", 70111},
      {"color_large", "impressions", 5556},
      {"color_small", "impressions", 23098},
      {"scan", "images", 40404}}},
    {18334,
     "quirk_konica_meters",
     "Konica Minolta",
     6, /* no total column (as real ones) */
     {{"total", NULL, -1},
      {"duplex", "sheets", 7357},
      {"copy_black", "impressions", 3672},
      {"print_black", "impressions", 22876},
      {"copy_color", "impressions", 544},
      {"print_color", "impressions", 6711}}},
    {2385,
     "quirk_sharp_meters",
     "Sharp",
     7, /* Counter32; copy colour is "---" */
     {{"black", "impressions", 180696},
      {"color", "impressions", 50762},
      {"print_total", "impressions", 171250},
      {"copy_black", "impressions", 60208},
      {"copy_color", NULL, -1}}},
    {1248,
     "quirk_epson_meters",
     "Epson",
     4, /* the marker counts in 1/10000 inch */
     {{"total", "impressions", 81563},
      {"black", "impressions", 39797},
      {"color", "impressions", 41766},
      {"marker.1", "tenThousandthsOfInches", 1789012}}},
    {2435,
     "quirk_brother_meters",
     "Brother",
     4, /* one binary string of records */
     {{"total", "impressions", 1611},
      {"black", "impressions", 709},
      {"color", "impressions", 902}}},
    {641,
     "quirk_lexmark_meters",
     "Lexmark",
     4, /* colour as a string of digits */
     {{"total", "impressions", 52010},
      {"black", "impressions", 40007},
      {"color", "impressions", 12003}}},
};

START_TEST(test_vendor_recording)
{
  const vendor_rec *v = &vendor_recs[_i];
  char path[512], err[512];
  asr_vbset *s = NULL;

  snprintf(path, sizeof(path), "%s/recordings/%s.snmprec", TEST_SRCDIR, v->file);
  ck_assert_msg(asr_recording_load(path, &s, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_int_eq(asr_printer_build(s, NULL, &dev), ASR_OK);
  asr_vbset_free(s);
  ck_assert_str_eq(dev.vendor, v->vendor);
  ck_assert_msg(dev.n_meters == v->n_meters, "%s: %zu meters", v->file, dev.n_meters);
  ck_assert_ptr_nonnull(meter("marker.1"));
  for (size_t i = 0; i < 8 && v->m[i].name; i++) {
    const want_meter *w = &v->m[i];
    const asr_meter *m = meter(w->name);

    if (w->value < 0) {
      ck_assert_msg(m == NULL, "%s: %s should be absent", v->file, w->name);
      continue;
    }
    ck_assert_msg(m != NULL, "%s: no %s", v->file, w->name);
    ck_assert_int_eq(m->value, w->value);
    ck_assert_str_eq(m->unit, w->unit);
    ck_assert_str_eq(m->source, strncmp(w->name, "marker.", 7) ? v->vendor : "printer-mib");
  }
}
END_TEST

/* Every enterprise of the table has its recording above. */
START_TEST(test_every_vendor_recorded)
{
  for (size_t i = 0; i < asr_meter_rows_count; i++) {
    size_t k = 0;

    while (k < sizeof(vendor_recs) / sizeof(vendor_recs[0]) &&
           vendor_recs[k].enterprise != asr_meter_rows[i].enterprise)
      k++;
    ck_assert_msg(k < sizeof(vendor_recs) / sizeof(vendor_recs[0]),
                  "enterprise %u has no recording", asr_meter_rows[i].enterprise);
  }
}
END_TEST

/* ---- alerts --------------------------------------------------------------------- */

static const char *const alert_lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
                                          SUP "5.1.1|2|3",
                                          ALERT "2.1.1|2|3",
                                          ALERT "2.1.2|2|4",
                                          ALERT "3.1.1|2|4",
                                          ALERT "3.1.2|2|3",
                                          ALERT "4.1.1|2|11",
                                          ALERT "4.1.2|2|8",
                                          ALERT "5.1.1|2|1",
                                          ALERT "5.1.2|2|2",
                                          ALERT "6.1.1|2|-1",
                                          ALERT "6.1.2|2|0",
                                          ALERT "7.1.1|2|1101",
                                          ALERT "7.1.2|2|802",
                                          ALERT "8.1.1|4|Black toner empty",
                                          ALERT "8.1.2|4|Tray 2 low",
                                          ALERT "9.1.1|67|1234",
                                          ALERT "9.1.2|67|5678",
                                          NULL};

START_TEST(test_alert_decode)
{
  build(alert_lines);
  ck_assert_uint_eq(dev.alerts_total, 2);
  ck_assert_uint_eq(dev.n_alerts, 2);
  ck_assert(dev.has_alert_table);
  /* the critical one first */
  ck_assert_int_eq(dev.alerts[0].code, 1101);
  ck_assert_str_eq(asr_alert_code_name(dev.alerts[0].code), "markerTonerEmpty");
  ck_assert_str_eq(asr_alert_severity_name(dev.alerts[0].severity), "critical");
  ck_assert_str_eq(asr_alert_training_name(dev.alerts[0].training), "trained");
  ck_assert_str_eq(asr_alert_group_name(dev.alerts[0].group), "markerSupplies");
  ck_assert_str_eq(dev.alerts[0].description, "Black toner empty");
  ck_assert_uint_eq(dev.alerts[0].time, 1234);
  ck_assert(asr_alert_critical(&dev.alerts[0]));
  ck_assert_str_eq(asr_alert_route(&dev.alerts[0]), "supplies");
  ck_assert_str_eq(asr_alert_code_name(dev.alerts[1].code), "inputMediaSupplyLow");
  ck_assert(!asr_alert_critical(&dev.alerts[1]));
  ck_assert_ptr_null(asr_alert_code_name(4242));
  ck_assert_ptr_null(asr_alert_severity_name(2));
}
END_TEST

/* The identity of an alert is its content: the same alert at another index (and time)
 * has the same key; another description has another. */
START_TEST(test_alert_key_content)
{
  asr_alert a, b;
  char ka[32], kb[32];

  build(alert_lines);
  a = dev.alerts[0];
  b = a;
  b.index = 77;
  b.time = 999999;
  asr_alert_key(&a, ka, sizeof(ka));
  asr_alert_key(&b, kb, sizeof(kb));
  ck_assert_str_eq(ka, kb);
  ck_assert_uint_eq(strlen(ka), 16);
  ck_assert_int_eq(asr_strlcpy(b.description, "Cyan toner empty", sizeof(b.description)), ASR_OK);
  asr_alert_key(&b, kb, sizeof(kb));
  ck_assert_str_ne(ka, kb);
}
END_TEST

/* Hostile: a 64 KB description with bad UTF-8, and 3000 rows. Bounded, valid, no crash. */
START_TEST(test_alert_hostile)
{
  size_t nrows = 3000, k = 0;
  const char **lines = calloc(nrows * 3 + 8, sizeof(*lines));
  char *big = malloc(70000);
  char summary[512];

  lines[k++] = "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1";
  lines[k++] = SUP "5.1.1|2|3";
  memcpy(big, ALERT "8.1.1|4x|", strlen(ALERT "8.1.1|4x|"));
  {
    size_t off = strlen(ALERT "8.1.1|4x|");
    for (size_t i = 0; i < 32000; i++) {
      memcpy(big + off, (i % 7 == 0) ? "ff" : (i % 5 == 0 ? "c3" : "41"), 2);
      off += 2;
    }
    big[off] = '\0';
  }
  for (size_t i = 1; i <= nrows; i++) {
    char *a = malloc(64), *c = malloc(64);

    snprintf(a, 64, ALERT "2.1.%zu|2|%d", i, i % 2 ? 3 : 4);
    snprintf(c, 64, ALERT "7.1.%zu|2|%d", i, i % 3 ? 8 : 30);
    lines[k++] = a;
    lines[k++] = c;
  }
  lines[k++] = big;
  lines[k] = NULL;
  build(lines);
  ck_assert_uint_eq(dev.alerts_total, nrows);
  ck_assert_uint_eq(dev.n_alerts, ASR_ALERTS_MAX);
  for (size_t i = 0; i < dev.n_alerts; i++) {
    ck_assert_uint_lt(strlen(dev.alerts[i].description), ASR_ALERT_DESCR_MAX);
    asr_alert_summary(&dev.alerts[i], summary, sizeof(summary));
    ck_assert_uint_lt(strlen(summary), sizeof(summary));
  }
  for (size_t i = 2; i < k - 1; i++)
    free((void *)lines[i]);
  free(big);
  free(lines);
}
END_TEST

/* Alert rows of another hrDevice are ignored when the printer's own device has rows. */
START_TEST(test_alert_other_device)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
                                      "1.3.6.1.2.1.25.3.2.1.2.2|6|1.3.6.1.2.1.25.3.1.5",
                                      SUP "5.2.1|2|3",
                                      ALERT "7.1.1|2|8",
                                      ALERT "7.2.5|2|3",
                                      NULL};

  build(lines);
  ck_assert_uint_eq(dev.n_alerts, 1);
  ck_assert_int_eq(dev.alerts[0].code, 3);
  ck_assert_int_eq(dev.alerts[0].index, 5);
}
END_TEST

/* Alert tracking across polls on a real store: a critical alert is an event once, at
 * once (toner empty) or once it persisted (a jam); an alert whose index moved is the same
 * alert; a warning is never an event; a raised alert that is gone is cleared (event), and
 * one that comes back is new again; a poll that did not read the table changes nothing. */
typedef struct {
  char text[2048];
  int n;
} evlist;

static int add_event(const asr_event *e, void *ctx)
{
  evlist *l = ctx;
  size_t k = strlen(l->text);

  l->n++;
  ck_assert_int_eq(
      asr_fmt(l->text + k, sizeof(l->text) - k, "%lld %.14s|", (long long)e->t, e->kind), ASR_OK);
  return 0;
}

static asr_alert mk_alert(int32_t idx, int32_t sev, int32_t group, int32_t code, const char *d)
{
  asr_alert a;

  memset(&a, 0, sizeof(a));
  a.index = idx;
  a.severity = sev;
  a.training = 3;
  a.group = group;
  a.group_index = 1;
  a.location = -1;
  a.code = code;
  ck_assert_int_eq(asr_strlcpy(a.description, d, sizeof(a.description)), ASR_OK);
  return a;
}

static void poll_at(asr_store *st, asr_device *d, int64_t t, const asr_alert *al, size_t n)
{
  d->has_alert_table = true;
  d->n_alerts = d->alerts_total = n;
  for (size_t i = 0; i < n; i++)
    d->alerts[i] = al[i];
  ck_assert_int_eq(asr_store_save(st, d, 161, NULL, t, NULL), ASR_OK);
}

START_TEST(test_alert_tracking)
{
  char dir[512], path[600], err[256];
  asr_store *st = NULL;
  asr_device d;
  evlist ev = {"", 0};
  const int64_t t0 = 1795000000;
  asr_alert toner = mk_alert(3, 3, 11, 1101, "Toner empty\n(K)");
  asr_alert jam = mk_alert(9, 3, 13, 8, "Jam");
  asr_alert low = mk_alert(7, 4, 8, 802, "Tray 2 low");

  tu_tmpdir("alerts", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.db", dir), ASR_OK);
  ck_assert_msg(asr_store_open(path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  asr_device_init(&d);
  ck_assert_int_eq(asr_strlcpy(d.ip, "127.0.0.9", sizeof(d.ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.serial, "AL1", sizeof(d.serial)), ASR_OK);
  d.is_printer = true;
  poll_at(st, &d, t0, (asr_alert[]){toner, jam, low}, 3);
  toner.index = 4; /* the window moved: same content, another index */
  jam.index = 1;
  poll_at(st, &d, t0 + 3600, (asr_alert[]){low, jam, toner}, 3);
  d.has_alert_table = false; /* a poll without the table: nothing clears */
  d.n_alerts = 0;
  ck_assert_int_eq(asr_store_save(st, &d, 161, NULL, t0 + 5400, NULL), ASR_OK);
  poll_at(st, &d, t0 + 7200, (asr_alert[]){low}, 1);
  poll_at(st, &d, t0 + 10800, (asr_alert[]){low, toner}, 2);
  ck_assert_int_eq(asr_events_foreach(st, 1, 0, add_event, &ev), ASR_OK);
  /* toner at once; the jam an hour later; both cleared at +7200; the toner again at +10800 */
  ck_assert_msg(ev.n == 5, "%d events: %s", ev.n, ev.text);
  ck_assert_msg(strncmp(ev.text, "1795000000 alert:", 17) == 0, "%s", ev.text);
  ck_assert_msg(strstr(ev.text, "1795003600 alert:"), "%s", ev.text);
  ck_assert_msg(strstr(ev.text, "1795007200 alert_cleared:"), "%s", ev.text);
  ck_assert_msg(strstr(ev.text, "1795010800 alert:"), "%s", ev.text);
  asr_store_close(st);
  tu_rmtree(dir);
}
END_TEST

/* Hostile rows: reused indexes (the same alert twice), negative and huge codes, missing
 * columns, indexes past INT32_MAX: decoded without a crash, named or numbered. */
START_TEST(test_alert_hostile_rows)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
                                      SUP "5.1.1|2|3",
                                      ALERT "2.1.1|2|3",
                                      ALERT "2.1.2|2|3",
                                      ALERT "2.1.4294967295|2|2147483647",
                                      ALERT "4.1.1|2|11",
                                      ALERT "4.1.2|2|11",
                                      ALERT "4.1.4294967295|2|-2147483648",
                                      ALERT "5.1.1|2|1",
                                      ALERT "5.1.2|2|1",
                                      ALERT "7.1.1|2|1101",
                                      ALERT "7.1.2|2|1101",
                                      ALERT "7.1.3|2|1101",
                                      ALERT "7.1.4294967295|2|-5",
                                      ALERT "7.1.5|4|1101",
                                      ALERT "8.1.1|4|Toner empty",
                                      ALERT "8.1.2|4|Toner empty",
                                      ALERT "8.1.4294967295|4x|ff41c0af",
                                      ALERT "9.1.1|2|-7",
                                      NULL};
  char sum[512], k1[32], k2[32];
  const asr_alert *neg = NULL, *bare = NULL, *strcode = NULL;

  build(lines);
  ck_assert_uint_eq(dev.alerts_total, 5);
  ck_assert_uint_eq(dev.n_alerts, 5);
  /* the two rows of the same content (indexes 1 and 2) are one alert by identity */
  ck_assert(asr_alert_critical(&dev.alerts[0]) && asr_alert_critical(&dev.alerts[1]));
  asr_alert_key(&dev.alerts[0], k1, sizeof(k1));
  asr_alert_key(&dev.alerts[1], k2, sizeof(k2));
  ck_assert_str_eq(k1, k2);
  for (size_t i = 0; i < dev.n_alerts; i++) {
    if (dev.alerts[i].code == -5)
      neg = &dev.alerts[i];
    if (dev.alerts[i].index == 3)
      bare = &dev.alerts[i];
    if (dev.alerts[i].index == 5)
      strcode = &dev.alerts[i];
    asr_alert_summary(&dev.alerts[i], sum, sizeof(sum));
    ck_assert_uint_lt(strlen(sum), sizeof(sum));
    asr_alert_summary(&dev.alerts[i], sum, 8); /* a tiny buffer: cut, terminated */
    ck_assert_uint_lt(strlen(sum), 8);
  }
  ck_assert_ptr_nonnull(neg); /* index 2^32-1: any number, no name */
  ck_assert_ptr_null(asr_alert_code_name(neg->code));
  ck_assert_ptr_null(asr_alert_severity_name(neg->severity));
  ck_assert_int_eq(neg->group, INT32_MIN);
  asr_alert_summary(neg, sum, sizeof(sum));
  ck_assert_msg(strstr(sum, "code -5") && strstr(sum, "group -2147483648"), "%s", sum);
  ck_assert(!asr_alert_critical(neg));
  ck_assert_ptr_nonnull(bare); /* only a code: critical by its code, no description */
  ck_assert(asr_alert_critical(bare));
  ck_assert_int_eq(bare->severity, 0);
  ck_assert_int_eq(bare->group_index, -1);
  ck_assert_str_eq(bare->description, "");
  ck_assert_ptr_nonnull(strcode); /* a code sent as a string is no code */
  ck_assert_int_eq(strcode->code, 0);
}
END_TEST

/* Thousands of rows: at most ASR_ALERT_ROWS_MAX decoded, all counted. */
START_TEST(test_alert_rows_bound)
{
  size_t nrows = 5000, k = 0;
  const char **lines = calloc(nrows + 4, sizeof(*lines));
  char *buf = malloc(nrows * 48);

  ck_assert(lines && buf);
  lines[k++] = "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1";
  lines[k++] = SUP "5.1.1|2|3";
  for (size_t i = 0; i < nrows; i++) {
    snprintf(buf + i * 48, 48, ALERT "7.1.%zu|2|%d", i + 1, i == nrows - 1 ? 1101 : 802);
    lines[k++] = buf + i * 48;
  }
  lines[k] = NULL;
  build(lines);
  ck_assert_uint_eq(dev.alerts_total, nrows);
  ck_assert_uint_eq(dev.n_alerts, ASR_ALERTS_MAX);
  for (size_t i = 0; i < dev.n_alerts; i++) /* the critical one was past the bound */
    ck_assert_int_le(dev.alerts[i].index, ASR_ALERT_ROWS_MAX);
  free(buf);
  free(lines);
}
END_TEST

static int64_t count_rows(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  int64_t n = -1;

  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW)
    n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

/* A hostile printer cannot flood the batches nor the store: 20 new critical alerts give 8
 * events a poll (the rest at the next polls, each once), and a printer that invents a new
 * alert at every poll keeps at most ASR_ALERTS_KEEP_MAX tracked. */
START_TEST(test_alert_flood)
{
  char dir[512], path[600], err[256], descr[32];
  asr_store *st = NULL;
  asr_device d;
  asr_alert al[20];
  const int64_t t0 = 1795000000;

  tu_tmpdir("alertflood", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/agent.db", dir), ASR_OK);
  ck_assert_msg(asr_store_open(path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  asr_device_init(&d);
  ck_assert_int_eq(asr_strlcpy(d.ip, "127.0.0.9", sizeof(d.ip)), ASR_OK);
  ck_assert_int_eq(asr_strlcpy(d.serial, "FLOOD1", sizeof(d.serial)), ASR_OK);
  d.is_printer = true;
  for (int i = 0; i < 20; i++) {
    snprintf(descr, sizeof(descr), "Failure %d", i);
    al[i] = mk_alert(i + 1, 3, 5, 30, descr);
  }
  poll_at(st, &d, t0, al, 20);
  ck_assert_int_eq(count_rows(path, "SELECT count(*) FROM events WHERE kind LIKE 'alert:%'"),
                   ASR_ALERT_EVENTS_PER_POLL);
  poll_at(st, &d, t0 + 3600, al, 20);
  poll_at(st, &d, t0 + 7200, al, 20);
  poll_at(st, &d, t0 + 10800, al, 20);
  ck_assert_int_eq(count_rows(path, "SELECT count(DISTINCT kind) FROM events WHERE kind LIKE"
                                    " 'alert:%'"),
                   20);
  ck_assert_int_eq(count_rows(path, "SELECT count(*) FROM events WHERE kind LIKE 'alert:%'"), 20);
  for (int i = 0; i < ASR_ALERTS_KEEP_MAX + 40; i++) {
    asr_alert w;

    snprintf(descr, sizeof(descr), "Tray %d low", i);
    w = mk_alert(1, 4, 8, 802, descr);
    poll_at(st, &d, t0 + 20000 + i * 60, &w, 1);
  }
  ck_assert_int_le(count_rows(path, "SELECT count(*) FROM alerts"), ASR_ALERTS_KEEP_MAX);
  ck_assert_int_ge(count_rows(path, "SELECT count(*) FROM alerts"), ASR_ALERTS_KEEP_MAX - 1);
  asr_store_close(st);
  tu_rmtree(dir);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("meters");
  TCase *t = tcase_create("core");

  tcase_add_test(t, test_row_count);
  tcase_add_loop_test(t, test_each_row, 0, (int)asr_meter_rows_count);
  tcase_add_test(t, test_extra_gets);
  tcase_add_test(t, test_markers);
  tcase_add_test(t, test_hostile_values);
  tcase_add_test(t, test_brother_record);
  tcase_add_test(t, test_string_counters);
  tcase_add_test(t, test_meter_check);
  tcase_add_test(t, test_meter_usage);
  tcase_add_test(t, test_meter_period_reset);
  tcase_add_loop_test(t, test_vendor_recording, 0,
                      (int)(sizeof(vendor_recs) / sizeof(vendor_recs[0])));
  tcase_add_test(t, test_every_vendor_recorded);
  tcase_add_test(t, test_alert_decode);
  tcase_add_test(t, test_alert_key_content);
  tcase_add_test(t, test_alert_hostile);
  tcase_add_test(t, test_alert_other_device);
  tcase_add_test(t, test_alert_tracking);
  tcase_add_test(t, test_alert_hostile_rows);
  tcase_add_test(t, test_alert_rows_bound);
  tcase_add_test(t, test_alert_flood);
  suite_add_tcase(s, t);
  return s;
}

int main(void)
{
  SRunner *r = srunner_create(suite());
  int failed;

  srunner_run_all(r, CK_NORMAL);
  failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
