/* check_meters.c: the billing meter table (snmp/meters.c), one test per row, and the
 * alert table decoding (snmp/alerts.c) with hostile tables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snmp/alerts.h"
#include "snmp/meters.h"
#include "snmp/printer.h"
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
  ck_assert_uint_eq(asr_meter_rows_count, 40); /* update with a test for each new row */
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

/* Hostile values are not meters: negative, strings, absurd Counter64, NULL. */
START_TEST(test_hostile_values)
{
  static const char *const lines[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
                                      SUP "5.1.1|2|3",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.1|2|-5",
                                      "1.3.6.1.2.1.43.10.2.1.4.1.2|70|18446744073709551615",
                                      "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.5.0|4|12345",
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

static Suite *suite(void)
{
  Suite *s = suite_create("meters");
  TCase *t = tcase_create("core");

  tcase_add_test(t, test_row_count);
  tcase_add_loop_test(t, test_each_row, 0, (int)asr_meter_rows_count);
  tcase_add_test(t, test_extra_gets);
  tcase_add_test(t, test_markers);
  tcase_add_test(t, test_hostile_values);
  tcase_add_test(t, test_meter_check);
  tcase_add_test(t, test_alert_decode);
  tcase_add_test(t, test_alert_key_content);
  tcase_add_test(t, test_alert_hostile);
  tcase_add_test(t, test_alert_other_device);
  tcase_add_test(t, test_alert_tracking);
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
