/* clock.c: being written (issue 4) */
#include "common/clock.h"

#include <time.h>

int64_t asr_clock_now(void)
{
  return (int64_t)time(NULL);
}
