/* ccli_meters.h: the meters command (central/ccli_meters.c): the billing meters of a
 * period, per printer (docs/meters.md). */
#ifndef ASR_CCLI_METERS_H
#define ASR_CCLI_METERS_H

#include "central/ccli_common.h"

/* argv[0] is the command name. */
int ccli_meters(int argc, char **argv);

#endif
