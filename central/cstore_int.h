/* cstore_int.h: what cstore.c lends the store's other files (central/cmeters.c, calerts.c), so that
 * their SQL lives beside their feature while the handle, its prepared statements and its
 * error conversion stay in cstore.c. Not for the rest of asr-central: use cstore.h. */
#ifndef ASR_CSTORE_INT_H
#define ASR_CSTORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "central/cstore.h"

#define CSTORE_XSTMT_MAX                                                                           \
  32 /* statements of the store's other files: cmeters.c 0..7, calerts.c 8.. */

/* Statement sql in slot (prepared on first use, finalized by cstore_close). */
asr_result cstore_x_stmt(cstore *st, int slot, const char *sql, sqlite3_stmt **out);

/* Steps s (no row needed) and resets it; a failure while doing `what` is converted. */
asr_result cstore_x_run(cstore *st, sqlite3_stmt *s, const char *what);

/* Steps a query; *row tells whether a row is there (the caller reads, then cstore_x_done). */
asr_result cstore_x_row(cstore *st, sqlite3_stmt *s, const char *what, bool *row);
void cstore_x_done(sqlite3_stmt *s);

/* Sets the handle's message (cstore_errmsg) and returns ASR_ERR_NOT_FOUND. */
asr_result cstore_x_not_found(cstore *st, const char *what, const char *name);

#endif
