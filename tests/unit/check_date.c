/* check_date.c: the one civil-date module (common/date.h): days and dates both ways over
 * the whole range, weekdays, the text forms read (strict) and written (never cut). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"

START_TEST(test_known_days)
{
  static const struct {
    int64_t y;
    unsigned m, d;
    int64_t days;
    unsigned wd;
  } t[] = {
      {1970, 1, 1, 0, 4},         {1969, 12, 31, -1, 3},    {2000, 2, 29, 11016, 2},
      {2000, 3, 1, 11017, 3},     {2026, 11, 21, 20778, 6}, {1900, 3, 1, -25508, 4},
      {9999, 12, 31, 2932896, 5}, {0, 1, 1, -719528, 6},    {2100, 2, 28, 47540, 0},
  };

  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    asr_civil c = asr_date_civil(t[i].days);

    ck_assert_int_eq(asr_date_days(t[i].y, t[i].m, t[i].d), t[i].days);
    ck_assert_int_eq(c.year, t[i].y);
    ck_assert_uint_eq(c.month, t[i].m);
    ck_assert_uint_eq(c.day, t[i].d);
    ck_assert_uint_eq(asr_date_weekday(t[i].days), t[i].wd);
  }
}
END_TEST

/* Every day from year -1 to 10001: the date of a day gives that day back, and the dates of
 * consecutive days are consecutive (plain comparisons in the loop: 3.7 million days). */
START_TEST(test_roundtrip)
{
  int64_t first = asr_date_days(-1, 1, 1), last = asr_date_days(10001, 12, 31), bad = 0;
  asr_civil prev = asr_date_civil(first - 1);

  for (int64_t d = first; d <= last; d++) {
    asr_civil c = asr_date_civil(d);
    unsigned prev_len = asr_date_month_days(prev.year, prev.month);

    if (asr_date_days(c.year, c.month, c.day) != d ||
        !(c.day == prev.day + 1 || (c.day == 1 && prev.day == prev_len)) || c.day < 1 ||
        c.day > asr_date_month_days(c.year, c.month))
      bad = bad ? bad : d;
    prev = c;
  }
  ck_assert_msg(bad == 0, "day %lld does not round-trip", (long long)bad);
}
END_TEST

START_TEST(test_parse)
{
  int64_t a = 0, b = 0;

  ck_assert_int_eq(asr_date_parse_day("2024-02-29", &a), ASR_OK);
  ck_assert_int_eq(a, asr_date_days(2024, 2, 29));
  ck_assert_int_eq(asr_date_parse_day("2023-02-29", &a), ASR_ERR_INVALID); /* no such day */
  ck_assert_int_eq(asr_date_parse_day("1900-02-29", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("2024-04-31", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("2024-13-01", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("2024-00-10", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("1969-12-31", &a), ASR_ERR_INVALID); /* before 1970 */
  ck_assert_int_eq(asr_date_parse_day("2024-1-01", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("2024-01-01 ", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("+024-01-01", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day("", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_day(NULL, &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_month("2024-12", &a, &b), ASR_OK);
  ck_assert_int_eq(a, asr_date_days(2024, 12, 1));
  ck_assert_int_eq(b, asr_date_days(2025, 1, 1));
  ck_assert_int_eq(asr_date_parse_month("2024-02", &a, &b), ASR_OK);
  ck_assert_int_eq(b - a, 29);
  ck_assert_int_eq(asr_date_parse_month("2024-13", &a, &b), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_month("2024-1", &a, &b), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-21T08:00:00Z", &a), ASR_OK);
  ck_assert_int_eq(a, 1795248000);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-21T24:00:00Z", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-21T08:60:00Z", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-31T08:00:00Z", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-21 08:00:00Z", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_date_parse_iso("2026-11-21T08:00:00", &a), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_format)
{
  char buf[32];

  asr_time_iso(0, buf, sizeof(buf));
  ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
  asr_time_iso(-1, buf, sizeof(buf));
  ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
  asr_time_iso(ASR_DATE_MAX, buf, sizeof(buf));
  ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
  asr_time_iso(ASR_DATE_MAX + 1, buf, sizeof(buf)); /* a five-digit year: not printed */
  ck_assert_str_eq(buf, "");
  asr_time_iso(INT64_MAX, buf, sizeof(buf));
  ck_assert_str_eq(buf, "");
  asr_time_iso(INT64_MIN, buf, sizeof(buf));
  ck_assert_str_eq(buf, "");
  asr_time_iso(1795248000, buf, 20); /* one byte short: empty, never cut */
  ck_assert_str_eq(buf, "");
  asr_date_format_day(20778, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-11-21");
  asr_date_format_day(20778, buf, 10);
  ck_assert_str_eq(buf, "");
  asr_date_format_day(INT64_MAX, buf, sizeof(buf));
  ck_assert_str_eq(buf, "");
  asr_date_format_day(INT64_MIN, buf, sizeof(buf));
  ck_assert_str_eq(buf, "");
}
END_TEST

static Suite *date_suite(void)
{
  Suite *s = suite_create("date");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_known_days);
  tcase_add_test(tc, test_roundtrip);
  tcase_add_test(tc, test_parse);
  tcase_add_test(tc, test_format);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(date_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
