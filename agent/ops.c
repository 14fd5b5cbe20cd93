/* ops.c: the pruning entry point (agent/ops.h); the other operations have their own file
 * (op_discover.c, op_poll.c, op_uplink.c). */
#include "agent/ops.h"

#include <string.h>

asr_result asr_prune(const asr_prune_opts *o, asr_prune_report *rep)
{
  memset(rep, 0, sizeof(*rep));
  return asr_store_prune(o->st, o->before, &rep->readings);
}
