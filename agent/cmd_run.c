#include "agent/cli.h"

int asr_cmd_run(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  return ASR_EXIT_INTERNAL;
}
