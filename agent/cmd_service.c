#include "agent/cli.h"

int asr_cmd_service(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  asr_cli_error("service: being written (issue 5)");
  return ASR_EXIT_INTERNAL;
}
