/* ccli_staff.h: the staff accounts of the portal (central/ccli_staff.c: add, password,
 * list, remove, token, audit). */
#ifndef ASR_CCLI_STAFF_H
#define ASR_CCLI_STAFF_H

#include "central/ccli_common.h"

/* argv[0] is the command name. */
int ccli_staff(int argc, char **argv);

#endif
