/* sqlutil.c: SQLite helpers shared by store/outbox.c and store/events.c. */
#include "store/sqlutil.h"

#include "common/util.h"

asr_result asr_sql_prep(asr_store *st, const char *sql, sqlite3_stmt **s)
{
  int rc = sqlite3_prepare_v2(asr_store_sqlite(st), sql, -1, s, NULL);

  if (rc != SQLITE_OK) {
    sqlite3_finalize(*s);
    *s = NULL;
    return asr_store_fail(st, rc, "preparing a statement");
  }
  return ASR_OK;
}

asr_result asr_sql_finish(asr_store *st, sqlite3_stmt *s, const char *what)
{
  int rc = sqlite3_step(s);
  asr_result r = ASR_OK;

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    r = asr_store_fail(st, rc, what);
  sqlite3_finalize(s);
  return r;
}

asr_result asr_sql_exec(asr_store *st, const char *sql, const char *what)
{
  int rc = sqlite3_exec(asr_store_sqlite(st), sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? ASR_OK : asr_store_fail(st, rc, what);
}

void asr_sql_col_copy(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
  const char *v = (const char *)sqlite3_column_text(s, col);

  if (asr_strlcpy(dst, v ? v : "", cap) != ASR_OK)
    dst[0] = '\0';
}

void asr_sql_bind_text(sqlite3_stmt *s, int i, const char *v)
{
  sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}
