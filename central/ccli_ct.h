/* ccli_ct.h: the contact and device commands (central/ccli_ct.c): contacts and their
 * history, a device's assignment to a contact. */
#ifndef ASR_CCLI_CT_H
#define ASR_CCLI_CT_H

#include "central/ccli_common.h"

/* Each command: argv[0] is the command name. */
int ccli_contact(int argc, char **argv);
int ccli_device(int argc, char **argv);

#endif
