/* asr-central: the reference central endpoint (being written). */
#include <stdio.h>

int main(void)
{
  fprintf(stderr, "asr-central: not written yet\n");
  return 70;
}
