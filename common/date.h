/* date.h: civil dates and times (proleptic Gregorian calendar, UTC), computed with Howard
 * Hinnant's algorithms rather than through the C library's time zones and locale (the
 * same result on every platform, no global state). The one copy: days from a date and a
 * date from days, the weekday, and the text forms the programs read and write
 * ("YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ"). Years 1970..9999 are the ones parsed and
 * printed; the arithmetic holds for any. */
#ifndef ASR_DATE_H
#define ASR_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_DATE_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* A calendar date. */
typedef struct {
  int64_t year;
  unsigned month; /* 1..12 */
  unsigned day;   /* 1..31 */
} asr_civil;

/* Days since 1970-01-01 of the date y-m-d (month 1..12; negative before 1970). */
int64_t asr_date_days(int64_t y, unsigned m, unsigned d);

/* The date of a day since 1970-01-01. */
asr_civil asr_date_civil(int64_t days);

/* The weekday of a day since 1970-01-01: 0 = Sunday .. 6 = Saturday. */
unsigned asr_date_weekday(int64_t days);

/* The number of days of month m (1..12) of year y. */
unsigned asr_date_month_days(int64_t y, unsigned m);

/* "YYYY-MM-DD" (a real date, year 1970..9999) -> days since 1970-01-01; ASR_ERR_INVALID
 * when the text is not exactly that. */
asr_result asr_date_parse_day(const char *s, int64_t *days);

/* "YYYY-MM" (year 1970..9999) -> the days since 1970-01-01 of its first day and of the
 * first day of the next month; ASR_ERR_INVALID when the text is not exactly that. */
asr_result asr_date_parse_month(const char *s, int64_t *first, int64_t *next);

/* "YYYY-MM-DDTHH:MM:SSZ" -> epoch seconds (UTC); ASR_ERR_INVALID when the text is not
 * exactly that form with valid fields (year 1970..9999). */
asr_result asr_date_parse_iso(const char *s, int64_t *t);

/* "YYYY-MM-DD" of a day since 1970-01-01 into buf (n >= 11); "" when the year is outside
 * 0..9999 or buf is too small (never a cut date). */
void asr_date_format_day(int64_t days, char *buf, size_t n);

/* "YYYY-MM-DDTHH:MM:SSZ" of epoch seconds into buf (n >= 21); "" when the year is outside
 * 0..9999 or buf is too small. */
void asr_time_iso(int64_t t, char *buf, size_t n);

#endif
