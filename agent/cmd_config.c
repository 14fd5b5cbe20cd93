#include "agent/cli.h"

int asr_cmd_config(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  return ASR_EXIT_INTERNAL;
}
