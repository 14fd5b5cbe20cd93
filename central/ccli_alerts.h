/* ccli_alerts.h: the alerts command (central/ccli_alerts.c): the printers' alerts the
 * agents reported, open or all, per site. */
#ifndef ASR_CCLI_ALERTS_H
#define ASR_CCLI_ALERTS_H

#include "central/ccli_common.h"

/* argv[0] is the command name. */
int ccli_alerts(int argc, char **argv);

#endif
