/* clock.c: the real clock, or a simulated one for tests (see clock.h).
 *
 * The simulated time is start + (monotonic elapsed) * factor + jumps. The monotonic base
 * comes from asr_monotonic_ms so that a change of the real wall clock does not disturb a
 * test run. */
#include "common/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

static struct {
  bool on;
  int64_t start;   /* simulated epoch seconds at base_ms */
  int64_t base_ms; /* monotonic ms when the simulation started */
  unsigned factor;
  int64_t jumped; /* seconds added by asr_clock_advance */
} sim;

int64_t asr_clock_now(void)
{
  int64_t elapsed_ms;

  if (!sim.on)
    return (int64_t)time(NULL);
  elapsed_ms = asr_monotonic_ms() - sim.base_ms;
  return sim.start + sim.jumped + elapsed_ms * (int64_t)sim.factor / 1000;
}

int64_t asr_clock_wall(void)
{
  return (int64_t)time(NULL);
}

void asr_clock_simulate(int64_t start, unsigned factor)
{
  sim.on = true;
  sim.start = start;
  sim.base_ms = asr_monotonic_ms();
  sim.factor = factor ? factor : 1;
  sim.jumped = 0;
}

void asr_clock_real(void)
{
  memset(&sim, 0, sizeof(sim));
}

bool asr_clock_is_simulated(void)
{
  return sim.on;
}

void asr_clock_advance(int64_t seconds)
{
  if (sim.on && seconds > 0)
    sim.jumped += seconds;
}

int64_t asr_clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
  /* Howard Hinnant's days_from_civil: exact for every Gregorian date. */
  int64_t era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static bool leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int take_digits(const char *s, size_t n, unsigned *out)
{
  unsigned v = 0;

  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return 0;
}

asr_result asr_clock_parse_iso(const char *s, int64_t *out)
{
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned y, mo, d, h, mi, se, dim;

  if (!s || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z')
    return ASR_ERR_INVALID;
  if (take_digits(s, 4, &y) || take_digits(s + 5, 2, &mo) || take_digits(s + 8, 2, &d) ||
      take_digits(s + 11, 2, &h) || take_digits(s + 14, 2, &mi) || take_digits(s + 17, 2, &se))
    return ASR_ERR_INVALID;
  if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
    return ASR_ERR_INVALID;
  dim = mdays[mo - 1] + (mo == 2 && leap(y));
  if (d < 1 || d > dim)
    return ASR_ERR_INVALID;
  *out = asr_clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return ASR_OK;
}

asr_result asr_clock_parse(const char *spec, int64_t *start, unsigned *factor)
{
  char buf[64];
  char *colon;

  if (!spec || asr_strlcpy(buf, spec, sizeof(buf)) != ASR_OK)
    return ASR_ERR_INVALID;
  *factor = 1;
  colon = strrchr(buf, ':');
  /* the ISO form has colons of its own: the factor follows the 'Z' */
  if (colon && (colon == buf || colon[-1] == 'Z' || strchr(buf, 'T') == NULL)) {
    *colon = '\0';
    if (asr_parse_uint(colon + 1, 1, 1000000, factor) != ASR_OK)
      return ASR_ERR_INVALID;
  }
  if (asr_clock_parse_iso(buf, start) == ASR_OK)
    return ASR_OK;
  return asr_parse_i64(buf, 0, INT64_C(253402300799), start) == ASR_OK ? ASR_OK : ASR_ERR_INVALID;
}

asr_result asr_clock_from_env(void)
{
  const char *spec = getenv("ASR_TEST_CLOCK");
  int64_t start;
  unsigned factor;

  if (!spec || !*spec)
    return ASR_OK;
  if (asr_clock_parse(spec, &start, &factor) != ASR_OK)
    return ASR_ERR_INVALID;
  asr_clock_simulate(start, factor);
  return ASR_OK;
}

int64_t asr_now(void)
{
  return asr_clock_now(); /* the one clock: real, or simulated under a test */
}
