#include "agent/cli.h"

int asr_cmd_inspect(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  return ASR_EXIT_INTERNAL;
}
