/* check_output.c: agent/output.c. Output is captured in a stream and parsed back:
 * JSON with jansson, CSV by hand, the table by looking for its cells. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/output.h"
#include "tests/unit/testutil.h"

static asr_device *dev;
static asr_report *rep;
static char *text;
static size_t text_len;

static void setup(void)
{
  dev = calloc(1, sizeof(*dev));
  ck_assert_ptr_nonnull(dev);
  asr_device_init(dev);
  rep = asr_report_new();
  ck_assert_ptr_nonnull(rep);
  text = NULL;
}

static void teardown(void)
{
  free(dev);
  asr_report_free(rep);
  free(text);
}

/* A colour laser with one named and one odd supply. */
static void fill(asr_device *d, const char *ip)
{
  asr_device_init(d);
  snprintf(d->ip, sizeof(d->ip), "%s", ip);
  snprintf(d->serial, sizeof(d->serial), "SER%s", ip);
  snprintf(d->vendor, sizeof(d->vendor), "Example");
  snprintf(d->model, sizeof(d->model), "Laser 9000");
  d->is_printer = true;
  d->has_page_count = true;
  d->page_count = 5123456789LL;
  d->printer_status = 3;
  d->has_error_state = true;
  d->error_bits = (1u << 2) | (1u << 4) | (1u << 15);
  d->n_supplies = 2;
  d->supplies[0].index = 1;
  snprintf(d->supplies[0].description, ASR_DESCR_MAX, "Black Toner");
  d->supplies[0].type = 3;
  d->supplies[0].klass = ASR_CLASS_CONSUMED;
  d->supplies[0].unit = 19;
  snprintf(d->supplies[0].colorant, sizeof(d->supplies[0].colorant), "black");
  snprintf(d->supplies[0].colorant_std, sizeof(d->supplies[0].colorant_std), "black");
  d->supplies[0].has_max = d->supplies[0].has_level = true;
  d->supplies[0].max = 100;
  d->supplies[0].level = 45;
  d->supplies[0].percent = 45;
  d->supplies[0].state = ASR_STATE_OK;
  d->supplies[1].index = 2;
  d->supplies[1].type = 999;
  d->supplies[1].percent = ASR_PERCENT_NULL;
}

/* Runs print into a captured stream; the text lands in text/text_len. */
static asr_result capture(asr_format fmt, int bars, const char *const *extra, int one)
{
  tu_capture c;
  asr_result r;

  free(text);
  text = NULL;
  ck_assert(tu_capture_open(&c));
  r = one ? asr_report_print_one(dev, c.f, fmt) : asr_report_print(rep, c.f, fmt, bars, extra);
  text = tu_capture_close(&c, &text_len);
  ck_assert_ptr_nonnull(text);
  return r;
}

static json_t *parse_json(void)
{
  json_error_t e;
  json_t *j = json_loadb(text, text_len, 0, &e);

  ck_assert_msg(j != NULL, "invalid JSON: %s: %s", e.text, text);
  return j;
}

START_TEST(test_format_parse)
{
  asr_format f = ASR_FMT_TABLE;

  ck_assert_int_eq(asr_format_parse("json", &f), ASR_OK);
  ck_assert_int_eq(f, ASR_FMT_JSON);
  ck_assert_int_eq(asr_format_parse("csv", &f), ASR_OK);
  ck_assert_int_eq(f, ASR_FMT_CSV);
  ck_assert_int_eq(asr_format_parse("table", &f), ASR_OK);
  ck_assert_int_eq(f, ASR_FMT_TABLE);
  ck_assert_int_eq(asr_format_parse("csv-ish", &f), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_format_parse("", &f), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_json_shape)
{
  const char *extra[] = {"scanned", "254", "responded", "6", "printers", "5", NULL};
  json_t *j, *d, *s, *errors;

  fill(dev, "127.0.0.9");
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, extra, 0), ASR_OK);
  j = parse_json();
  ck_assert_int_eq(json_integer_value(json_object_get(j, "scanned")), 254);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "printers")), 5);
  d = json_array_get(json_object_get(j, "devices"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(d, "ip")), "127.0.0.9");
  ck_assert_str_eq(json_string_value(json_object_get(d, "serial")), "SER127.0.0.9");
  ck_assert_int_eq(json_integer_value(json_object_get(d, "page_count")), 5123456789LL);
  ck_assert(json_is_null(json_object_get(d, "mac")));
  ck_assert(json_is_null(json_object_get(d, "sys_name")));
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "status"), "printer")),
                   "idle");
  errors = json_object_get(json_object_get(d, "status"), "errors");
  ck_assert_uint_eq(json_array_size(errors), 2); /* bit 15 has no name */
  ck_assert_str_eq(json_string_value(json_array_get(errors, 0)), "lowToner");
  ck_assert_str_eq(json_string_value(json_array_get(errors, 1)), "doorOpen");
  s = json_array_get(json_object_get(d, "supplies"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(s, "index")), 1);
  ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "toner");
  ck_assert_str_eq(json_string_value(json_object_get(s, "class")), "consumed");
  ck_assert_str_eq(json_string_value(json_object_get(s, "unit")), "percent");
  ck_assert_str_eq(json_string_value(json_object_get(s, "colorant")), "black");
  ck_assert_str_eq(json_string_value(json_object_get(s, "colorant_std")), "black");
  ck_assert_int_eq(json_integer_value(json_object_get(s, "percent")), 45);
  ck_assert_int_eq(json_integer_value(json_object_get(s, "max")), 100);
  ck_assert_str_eq(json_string_value(json_object_get(s, "state")), "ok");
  ck_assert(json_is_null(json_object_get(s, "part_number")));
  s = json_array_get(json_object_get(d, "supplies"), 1);
  ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "other"); /* unnamed code */
  ck_assert(json_is_null(json_object_get(s, "class")));
  ck_assert(json_is_null(json_object_get(s, "unit")));
  ck_assert(json_is_null(json_object_get(s, "colorant")));
  ck_assert(json_is_null(json_object_get(s, "colorant_std")));
  ck_assert(json_is_null(json_object_get(s, "description")));
  ck_assert(json_is_null(json_object_get(s, "max")));
  ck_assert(json_is_null(json_object_get(s, "level")));
  ck_assert(json_is_null(json_object_get(s, "percent")));
  ck_assert_str_eq(json_string_value(json_object_get(s, "state")), "unknown");
  json_decref(j);
}
END_TEST

START_TEST(test_json_unknowns)
{
  json_t *d;

  snprintf(dev->ip, sizeof(dev->ip), "127.0.0.1");
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 1), ASR_OK);
  d = parse_json();
  ck_assert(json_is_null(json_object_get(d, "serial")));
  ck_assert(json_is_null(json_object_get(d, "page_count")));
  ck_assert(json_is_null(json_object_get(json_object_get(d, "status"), "printer")));
  ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(d, "status"), "errors")), 0);
  ck_assert_uint_eq(json_array_size(json_object_get(d, "supplies")), 0);
  json_decref(d);
}
END_TEST

START_TEST(test_json_escaping)
{
  json_t *d;
  const char *descr;

  fill(dev, "127.0.0.2");
  snprintf(dev->model, sizeof(dev->model), "Q\"uote \\back\\ \x01\x1f tab\t nl\n");
  snprintf(dev->sys_descr, sizeof(dev->sys_descr), "Tönér – 黒 \xf0\x9f\x96\xa8");
  snprintf(dev->supplies[0].description, ASR_DESCR_MAX,
           "bad \xff\xfe utf8 \xc0\xaf \xed\xa0\x80 end");
  snprintf(dev->sys_name, sizeof(dev->sys_name), "trunc \xe2\x82");
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 1), ASR_OK);
  ck_assert_ptr_null(memchr(text, '\x01', text_len));
  d = parse_json();
  ck_assert_str_eq(json_string_value(json_object_get(d, "model")),
                   "Q\"uote \\back\\ \x01\x1f tab\t nl\n");
  ck_assert_str_eq(json_string_value(json_object_get(d, "sys_descr")),
                   "Tönér – 黒 \xf0\x9f\x96\xa8");
  descr = json_string_value(
      json_object_get(json_array_get(json_object_get(d, "supplies"), 0), "description"));
  ck_assert_str_eq(descr, "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd "
                          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
  ck_assert_str_eq(json_string_value(json_object_get(d, "sys_name")),
                   "trunc \xef\xbf\xbd\xef\xbf\xbd");
  json_decref(d);
}
END_TEST

START_TEST(test_stored)
{
  asr_store_device *sd = calloc(1, sizeof(*sd));
  json_t *j, *d;

  ck_assert_ptr_nonnull(sd);
  fill(&sd->dev, "127.0.0.3");
  sd->first_seen = 1700000000;
  sd->last_seen = 1700000600;
  sd->last_good_poll = 1700000500;
  sd->failed_polls = 2;
  sd->last_failure_at = 1700000600;
  snprintf(sd->last_failure, sizeof(sd->last_failure), "timeout");
  sd->readings = 7;
  ck_assert_int_eq(asr_report_add_stored(rep, sd, 1700000800), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  d = json_array_get(json_object_get(j, "devices"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(d, "first_seen")), "2023-11-14T22:13:20Z");
  ck_assert_str_eq(json_string_value(json_object_get(d, "last_good_poll")), "2023-11-14T22:21:40Z");
  ck_assert_int_eq(json_integer_value(json_object_get(d, "age_seconds")), 300);
  ck_assert_int_eq(json_integer_value(json_object_get(d, "failed_polls")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(d, "last_failure")), "timeout");
  ck_assert(json_is_null(json_object_get(d, "last_reading_at")));
  ck_assert_int_eq(json_integer_value(json_object_get(d, "readings")), 7);
  ck_assert_int_eq(json_integer_value(json_object_get(d, "last_failure_seconds")), 200);
  json_decref(j);
  /* the table shows the last attempt, failed, and why; not only the last good poll */
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "3m ago FAILED"));
  ck_assert_ptr_nonnull(strstr(text, "! 2 failed polls in a row: timeout; last good poll 5m ago"));
  /* one failure: singular; a good poll since: no failure line */
  asr_report_free(rep);
  rep = asr_report_new();
  sd->failed_polls = 1;
  ck_assert_int_eq(asr_report_add_stored(rep, sd, 1700000800), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "! 1 failed poll in a row: timeout"));
  asr_report_free(rep);
  rep = asr_report_new();
  sd->failed_polls = 0;
  sd->last_good_poll = 1700000700;
  ck_assert_int_eq(asr_report_add_stored(rep, sd, 1700000800), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_null(strstr(text, "FAILED"));
  ck_assert_ptr_null(strstr(text, "failed poll"));
  ck_assert_ptr_nonnull(strstr(text, "100s ago"));
  /* never polled: nulls */
  asr_report_free(rep);
  rep = asr_report_new();
  sd->last_good_poll = 0;
  sd->failed_polls = 0;
  sd->last_failure_at = 0;
  ck_assert_int_eq(asr_report_add_stored(rep, sd, 1700000800), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  d = json_array_get(json_object_get(j, "devices"), 0);
  ck_assert(json_is_null(json_object_get(d, "last_good_poll")));
  ck_assert(json_is_null(json_object_get(d, "age_seconds")));
  ck_assert(json_is_null(json_object_get(d, "last_failure")));
  json_decref(j);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "LAST POLL"));
  ck_assert_ptr_nonnull(strstr(text, "never"));
  free(sd);
}
END_TEST

START_TEST(test_empty_report)
{
  json_t *j;

  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  ck_assert(json_is_array(json_object_get(j, "devices")));
  ck_assert_uint_eq(json_array_size(json_object_get(j, "devices")), 0);
  json_decref(j);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 1, NULL, 0), ASR_OK);
  ck_assert_str_eq(text, "no devices\n");
  ck_assert_int_eq(capture(ASR_FMT_CSV, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_null(strchr(strchr(text, '\n') + 1, '\n')); /* only the header */
  ck_assert_ptr_nonnull(strstr(text, "supply_state"));
}
END_TEST

START_TEST(test_sorted_by_address)
{
  const char *ips[] = {"127.0.0.10", "127.0.0.9", "127.0.1.1", "127.0.0.100"};
  const char *want[] = {"127.0.0.9", "127.0.0.10", "127.0.0.100", "127.0.1.1"};
  json_t *j, *arr;

  for (int i = 0; i < 4; i++) {
    fill(dev, ips[i]);
    ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  }
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  arr = json_object_get(j, "devices");
  for (int i = 0; i < 4; i++)
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, i), "ip")), want[i]);
  json_decref(j);
}
END_TEST

/* Splits RFC 4180 CSV text into rows of cells (test helper; small inputs only). */
#define CSV_COLS 40

static int csv_parse(const char *s, char cells[][CSV_COLS][256], int max_rows, int *ncols)
{
  int row = 0, col = 0;
  size_t len = 0;
  int q = 0;

  for (; *s && row < max_rows; s++) {
    if (q) {
      if (*s == '"' && s[1] == '"') {
        cells[row][col][len++] = '"';
        s++;
      } else if (*s == '"') {
        q = 0;
      } else {
        cells[row][col][len++] = *s;
      }
    } else if (*s == '"') {
      q = 1;
    } else if (*s == ',' || *s == '\n') {
      cells[row][col][len] = '\0';
      len = 0;
      if (*s == ',') {
        col++;
      } else {
        ncols[row++] = col + 1;
        col = 0;
      }
    } else if (*s != '\r') {
      cells[row][col][len++] = *s;
    }
    ck_assert_uint_lt(len, 255);
    ck_assert_int_lt(col, CSV_COLS);
  }
  return row;
}

/* The column of header name in a parsed CSV, -1 when absent. */
static int csv_col_of(char cells[][CSV_COLS][256], int ncols, const char *name)
{
  for (int i = 0; i < ncols; i++) {
    if (strcmp(cells[0][i], name) == 0)
      return i;
  }
  return -1;
}

START_TEST(test_csv)
{
  static char cells[8][CSV_COLS][256];
  int ncols[8], rows, c;

  fill(dev, "127.0.0.4");
  snprintf(dev->model, sizeof(dev->model), "Model, \"X\"");
  snprintf(dev->serial, sizeof(dev->serial), "=HYPERLINK(\"x\")");
  snprintf(dev->vendor, sizeof(dev->vendor), "@vendor\x07");
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  fill(dev, "127.0.0.5");
  snprintf(dev->sys_name, sizeof(dev->sys_name), "-2+3");
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  fill(dev, "127.0.0.6");
  dev->n_supplies = 0; /* no supplies: one row all the same */
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_CSV, 0, NULL, 0), ASR_OK);
  rows = csv_parse(text, cells, 8, ncols);
  /* one row per supply, the printer's columns repeated: header + 2 + 2 + 1 */
  ck_assert_int_eq(rows, 6);
  for (int r = 1; r < rows; r++)
    ck_assert_int_eq(ncols[r], ncols[0]);
  ck_assert_str_eq(cells[0][0], "ip");
  ck_assert_str_eq(cells[0][1], "serial");
  ck_assert_str_eq(cells[1][0], "127.0.0.4");
  ck_assert_str_eq(cells[2][0], "127.0.0.4");
  ck_assert_str_eq(cells[1][1], "'=HYPERLINK(\"x\")");
  ck_assert_str_eq(cells[2][1], "'=HYPERLINK(\"x\")");
  ck_assert_str_eq(cells[1][2], "'@vendor?");
  ck_assert_str_eq(cells[1][3], "Model, \"X\"");
  ck_assert_str_eq(cells[3][4], "'-2+3");
  ck_assert_str_eq(cells[1][8], "5123456789");
  c = csv_col_of(cells, ncols[0], "supply_index");
  ck_assert_int_ge(c, 0);
  ck_assert_str_eq(cells[1][c], "1");
  ck_assert_str_eq(cells[2][c], "2");
  ck_assert_str_eq(cells[5][c], ""); /* the printer without supplies */
  c = csv_col_of(cells, ncols[0], "supply_description");
  ck_assert_str_eq(cells[1][c], "Black Toner");
  c = csv_col_of(cells, ncols[0], "supply_percent");
  ck_assert_str_eq(cells[1][c], "45");
  ck_assert_str_eq(cells[2][c], "");
  c = csv_col_of(cells, ncols[0], "supply_state");
  ck_assert_str_eq(cells[1][c], "ok");
  c = csv_col_of(cells, ncols[0], "supply_colorant");
  ck_assert_str_eq(cells[1][c], "black");
  c = csv_col_of(cells, ncols[0], "supply_colorant_std");
  ck_assert_str_eq(cells[1][c], "black");
  ck_assert_str_eq(cells[2][c], "");
  ck_assert_int_eq(csv_col_of(cells, ncols[0], "failed_polls"), -1); /* live: no history */
  ck_assert_ptr_null(strchr(text, '\x07'));
  ck_assert_ptr_nonnull(strstr(text, "\r\n"));
}
END_TEST

/* status --format csv: the history columns too, on every supply row. */
START_TEST(test_csv_stored)
{
  static char cells[8][CSV_COLS][256];
  asr_store_device *sd = calloc(1, sizeof(*sd));
  int ncols[8], rows, c;

  ck_assert_ptr_nonnull(sd);
  fill(&sd->dev, "127.0.0.3");
  sd->first_seen = 1700000000;
  sd->last_good_poll = 1700000500;
  sd->failed_polls = 2;
  sd->last_failure_at = 1700000600;
  snprintf(sd->last_failure, sizeof(sd->last_failure), "timeout");
  ck_assert_int_eq(asr_report_add_stored(rep, sd, 1700000800), ASR_OK);
  ck_assert_int_eq(asr_report_set_state(rep, "active", 1700000000, 1700000800), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_CSV, 0, NULL, 0), ASR_OK);
  rows = csv_parse(text, cells, 8, ncols);
  ck_assert_int_eq(rows, 3);
  ck_assert_int_eq(ncols[1], ncols[0]);
  ck_assert_int_eq(ncols[2], ncols[0]);
  c = csv_col_of(cells, ncols[0], "failed_polls");
  ck_assert_int_ge(c, 0);
  ck_assert_str_eq(cells[1][c], "2");
  ck_assert_str_eq(cells[2][c], "2");
  c = csv_col_of(cells, ncols[0], "last_failure");
  ck_assert_str_eq(cells[2][c], "timeout");
  c = csv_col_of(cells, ncols[0], "state");
  ck_assert_str_eq(cells[1][c], "active");
  c = csv_col_of(cells, ncols[0], "last_good_poll");
  ck_assert_str_eq(cells[1][c], "2023-11-14T22:21:40Z");
  free(sd);
}
END_TEST

START_TEST(test_table)
{
  fill(dev, "127.0.0.6");
  snprintf(dev->supplies[1].description, ASR_DESCR_MAX,
           "\x1b[31mred\x1b[0m ééééééééééééééééééééééééééééééééé");
  dev->supplies[1].percent = 100;
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 1, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "127.0.0.6"));
  ck_assert_ptr_nonnull(strstr(text, "SER127.0.0.6"));
  ck_assert_ptr_nonnull(strstr(text, "5123456789"));
  ck_assert_ptr_nonnull(strstr(text, "errors: lowToner,doorOpen"));
  ck_assert_ptr_nonnull(strstr(text, " 45%  [#########...........]"));
  ck_assert_ptr_nonnull(strstr(text, "100%  [####################]"));
  ck_assert_ptr_null(strchr(text, '\x1b'));
  /* cut at 30 code points: "?[31mred?[0m " is 13, then 17 two-byte 'é' */
  ck_assert_ptr_nonnull(strstr(text, "?[31mred?[0m ééééééééééééééééé "));
  ck_assert_ptr_null(strstr(text, "éééééééééééééééééé"));
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_null(strstr(text, "[###"));
  ck_assert_ptr_nonnull(strstr(text, " 45%\n"));
}
END_TEST

/* The upload state with what the central refused (issue 10): JSON members and the table's
 * "uplink:" line, the central's text cleaned of control characters. */
START_TEST(test_uplink_refused)
{
  asr_report_uplink u;
  json_t *j, *up, *last;

  memset(&u, 0, sizeof(u));
  u.enrolled = 1;
  u.endpoint = "https://central.example";
  u.agent_id = "ag_0123456789abcdef0123456789abcdef";
  u.site = "acme";
  u.last_upload = 1795000000;
  u.last_error = "";
  u.stopped = "";
  u.refused_readings = 2;
  u.ids_reused = 1;
  u.last_problem.at = 1795000000;
  u.last_problem.t = 1794999000;
  u.last_problem.batch_id = "ag_0123456789abcdef0123456789abcdef-0000000001-00";
  u.last_problem.what = "reading";
  u.last_problem.device = "serial:\x1b[31mX";
  u.last_problem.error = "readings[3].levels[2]: supply index 1 repeated";
  ck_assert_int_eq(asr_report_set_uplink(rep, &u), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  up = json_object_get(j, "uplink");
  ck_assert_int_eq(json_integer_value(json_object_get(up, "refused_readings")), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(up, "refused_events")), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(up, "batch_ids_reused")), 1);
  last = json_object_get(up, "last_problem");
  ck_assert_str_eq(json_string_value(json_object_get(last, "what")), "reading");
  ck_assert_str_eq(json_string_value(json_object_get(last, "t")), "2026-11-18T10:50:00Z");
  ck_assert_ptr_null(strchr(text, '\x1b')); /* escaped in JSON */
  json_decref(j);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text,
                               "the central refused 2 readings and 0 events in the last 7 days"
                               " (last: reading serial:"));
  ck_assert_ptr_nonnull(strstr(text, "supply index 1 repeated)"));
  ck_assert_ptr_nonnull(strstr(text, "1 batch ids the central knew with another content"));
  ck_assert_ptr_null(strchr(text, '\x1b'));
  u.refused_readings = 0; /* nothing refused: the line says nothing of it */
  u.ids_reused = 0;
  u.last_problem.at = 0;
  ck_assert_int_eq(asr_report_set_uplink(rep, &u), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_null(strstr(text, "refused"));
  ck_assert_int_eq(capture(ASR_FMT_JSON, 0, NULL, 0), ASR_OK);
  j = parse_json();
  ck_assert(json_is_null(json_object_get(json_object_get(j, "uplink"), "last_problem")));
  json_decref(j);
}
END_TEST

/* A printer's text that reverses or hides itself (a bidi override, an isolate, a ZWSP) is
 * neutralised in every text output: the table and CSV show '?' instead. Such text never
 * comes from a poll (snmp/charset.c drops it) but may sit in a database an older version
 * wrote, or come from a recording. */
START_TEST(test_text_outputs_bidi)
{
  static const char *const bidi[] = {"\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa9", "\xe2\x80\x8b",
                                     "\xe2\x80\x8f"};
  static const asr_format fmts[] = {ASR_FMT_TABLE, ASR_FMT_CSV};

  fill(dev, "127.0.0.7");
  snprintf(dev->serial, sizeof(dev->serial),
           "SN\xe2\x80\xae"
           "321");
  snprintf(dev->model, sizeof(dev->model), "\xe2\x81\xa6Laser\xe2\x81\xa9");
  snprintf(dev->supplies[0].description, ASR_DESCR_MAX, "Black\xe2\x80\x8bToner\xe2\x80\x8f");
  ck_assert_int_eq(asr_report_add_device(rep, dev), ASR_OK);
  for (size_t f = 0; f < 2; f++) {
    ck_assert_int_eq(capture(fmts[f], 0, NULL, 0), ASR_OK);
    for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++)
      ck_assert_ptr_null(strstr(text, bidi[i]));
    ck_assert_ptr_nonnull(strstr(text, "SN?321"));
    ck_assert_ptr_nonnull(strstr(text, "?Laser?"));
    ck_assert_ptr_nonnull(strstr(text, "Black?Toner?"));
  }
}
END_TEST

START_TEST(test_print_one_table)
{
  fill(dev, "127.0.0.7");
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 1), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "127.0.0.7"));
  ck_assert_ptr_nonnull(strstr(text, "Black Toner"));
  ck_assert_ptr_nonnull(strstr(text, "[#########"));
  /* the canonical colorant, with the printer's word when it differs */
  snprintf(dev->supplies[0].colorant, sizeof(dev->supplies[0].colorant), "schwarz");
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 1), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, " black (schwarz) "));
}
END_TEST

/* The uplink line counts in words: "1 batch", "2 batches". */
START_TEST(test_uplink_line)
{
  asr_report_uplink u;

  memset(&u, 0, sizeof(u));
  u.enrolled = 1;
  u.endpoint = "https://central.example";
  u.agent_id = "ag_1";
  u.site = "acme";
  u.last_error = "";
  u.stopped = "";
  u.pending_batches = 1;
  u.pending_readings = 1;
  ck_assert_int_eq(asr_report_set_uplink(rep, &u), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "1 batch pending (1 reading), 0 held"));
  u.pending_batches = 2;
  u.pending_readings = 40;
  ck_assert_int_eq(asr_report_set_uplink(rep, &u), ASR_OK);
  ck_assert_int_eq(capture(ASR_FMT_TABLE, 0, NULL, 0), ASR_OK);
  ck_assert_ptr_nonnull(strstr(text, "2 batches pending (40 readings), 0 held"));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("output");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_format_parse);
  tcase_add_test(tc, test_json_shape);
  tcase_add_test(tc, test_json_unknowns);
  tcase_add_test(tc, test_json_escaping);
  tcase_add_test(tc, test_stored);
  tcase_add_test(tc, test_empty_report);
  tcase_add_test(tc, test_sorted_by_address);
  tcase_add_test(tc, test_csv);
  tcase_add_test(tc, test_csv_stored);
  tcase_add_test(tc, test_table);
  tcase_add_test(tc, test_text_outputs_bidi);
  tcase_add_test(tc, test_print_one_table);
  tcase_add_test(tc, test_uplink_line);
  tcase_add_test(tc, test_uplink_refused);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
