/* sqlutil.h: small SQLite helpers shared by the store's files (store/ only: it is the
 * one agent module that includes sqlite3.h). Errors become asr_result through
 * asr_store_fail, with the store's message set. */
#ifndef ASR_SQLUTIL_H
#define ASR_SQLUTIL_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/store.h"

/* Prepares sql on the store's connection into *s (NULL on error). */
asr_result asr_sql_prep(asr_store *st, const char *sql, sqlite3_stmt **s);

/* Steps a statement to its first row or its end, then finalizes it. */
asr_result asr_sql_finish(asr_store *st, sqlite3_stmt *s, const char *what);

/* Runs SQL without parameters. */
asr_result asr_sql_exec(asr_store *st, const char *sql, const char *what);

/* Copies a text column into dst (size cap); "" when NULL or too long (never half a value). */
void asr_sql_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* Binds v ("" for NULL) as static text. */
void asr_sql_bind_text(sqlite3_stmt *s, int i, const char *v);

#endif
