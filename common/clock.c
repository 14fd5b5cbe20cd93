/* clock.c: the real clock, or a simulated one for tests (see clock.h).
 *
 * The simulated time is start + (monotonic elapsed) * factor + jumps. The monotonic base
 * comes from asr_monotonic_ms so that a change of the real wall clock does not disturb a
 * test run. */
#include "common/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/date.h"
#include "common/platform.h"
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
  if (asr_date_parse_iso(buf, start) == ASR_OK)
    return ASR_OK;
  return asr_parse_i64(buf, 0, ASR_DATE_MAX, start) == ASR_OK ? ASR_OK : ASR_ERR_INVALID;
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

int64_t asr_monotonic_ms(void)
{
  return asr_platform_monotonic_ms();
}

int64_t asr_now(void)
{
  return asr_clock_now(); /* the one clock: real, or simulated under a test */
}
