/* date.c: civil dates and times (date.h). */
#include "common/date.h"

#include <stdbool.h>
#include <string.h>

#include "common/util.h"

#define DAY 86400
#define DAY_FIRST INT64_C(-719528) /* 0000-01-01 */
#define DAY_LAST INT64_C(2932896)  /* 9999-12-31 */

/* Floor division: the day of a negative time is the one before. */
static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t asr_date_days(int64_t y, unsigned m, unsigned d)
{
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = floor_div(y, 400);
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

asr_civil asr_date_civil(int64_t days)
{
  int64_t z = days + 719468, era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  asr_civil c;

  c.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  c.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  return c;
}

unsigned asr_date_weekday(int64_t days)
{
  return (unsigned)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
}

static bool leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned asr_date_month_days(int64_t y, unsigned m)
{
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  return m < 1 || m > 12 ? 0 : mdays[m - 1] + (m == 2 && leap(y));
}

/* Reads exactly n decimal digits at s into *out. */
static bool digits(const char *s, size_t n, unsigned *out)
{
  unsigned v = 0;

  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* "YYYY-MM" at s: a year 1970..9999 and a month. */
static bool year_month(const char *s, unsigned *y, unsigned *m)
{
  return digits(s, 4, y) && s[4] == '-' && digits(s + 5, 2, m) && *y >= 1970 && *m >= 1 && *m <= 12;
}

/* "YYYY-MM-DD" at s: a real date. */
static bool ymd(const char *s, unsigned *y, unsigned *m, unsigned *d)
{
  return year_month(s, y, m) && s[7] == '-' && digits(s + 8, 2, d) && *d >= 1 &&
         *d <= asr_date_month_days(*y, *m);
}

asr_result asr_date_parse_day(const char *s, int64_t *days)
{
  unsigned y, m, d;

  if (!s || strlen(s) != 10 || !ymd(s, &y, &m, &d))
    return ASR_ERR_INVALID;
  *days = asr_date_days(y, m, d);
  return ASR_OK;
}

asr_result asr_date_parse_month(const char *s, int64_t *first, int64_t *next)
{
  unsigned y, m;

  if (!s || strlen(s) != 7 || !year_month(s, &y, &m))
    return ASR_ERR_INVALID;
  *first = asr_date_days(y, m, 1);
  *next = m == 12 ? asr_date_days(y + 1, 1, 1) : asr_date_days(y, m + 1, 1);
  return ASR_OK;
}

asr_result asr_date_parse_iso(const char *s, int64_t *t)
{
  unsigned y, mo, d, h, mi, se;

  if (!s || strlen(s) != 20 || !ymd(s, &y, &mo, &d) || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z' || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
      !digits(s + 17, 2, &se) || h > 23 || mi > 59 || se > 59)
    return ASR_ERR_INVALID;
  *t = asr_date_days(y, mo, d) * DAY + h * 3600 + mi * 60 + se;
  return ASR_OK;
}

/* Formats day (and, when secs >= 0, the time of day) into buf; "" when the year has not
 * four digits or buf is too small. */
static void format(int64_t day, int64_t secs, char *buf, size_t n)
{
  asr_civil c;
  asr_result r = ASR_ERR_INVALID;

  if (day >= DAY_FIRST && day <= DAY_LAST) {
    c = asr_date_civil(day);
    if (secs < 0)
      r = asr_fmt(buf, n, "%04d-%02u-%02u", (int)c.year, c.month, c.day);
    else
      r = asr_fmt(buf, n, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)c.year, c.month, c.day,
                  (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
  }
  if (r && n > 0)
    buf[0] = '\0'; /* never a cut date */
}

void asr_date_format_day(int64_t days, char *buf, size_t n)
{
  format(days, -1, buf, n);
}

void asr_time_iso(int64_t t, char *buf, size_t n)
{
  int64_t day = floor_div(t, DAY);

  format(day, day >= DAY_FIRST && day <= DAY_LAST ? t - day * DAY : 0, buf, n);
}
