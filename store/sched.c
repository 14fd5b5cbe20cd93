/* store/sched.c: every SQL statement about the daemon's schedule (store/sched.h). */
#include "store/sched.h"

#include <sqlite3.h>
#include <string.h>

#include "store/sqlutil.h"

asr_result asr_sched_get(asr_store *st, const char *job, int64_t *last, char *fp, size_t n)
{
  static const char sql[] = "SELECT last_start, fingerprint FROM schedule WHERE job = ?1";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);
  int rc;

  *last = 0;
  if (n)
    fp[0] = '\0';
  if (r)
    return r;
  sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *last = sqlite3_column_int64(s, 0);
    asr_sql_col_copy(s, 1, fp, n);
  } else if (rc != SQLITE_DONE) {
    r = asr_sql_fail(asr_store_sql(st), rc, "reading the schedule");
  }
  sqlite3_finalize(s);
  return r;
}

asr_result asr_sched_set(asr_store *st, const char *job, int64_t t, const char *fp)
{
  static const char sql[] =
      "INSERT INTO schedule (job, last_start, fingerprint) VALUES (?1, ?2, ?3)"
      " ON CONFLICT (job) DO UPDATE SET last_start = excluded.last_start,"
      " fingerprint = excluded.fingerprint";
  sqlite3_stmt *s = NULL;
  asr_result r = asr_sql_prep(asr_store_sql(st), sql, &s);

  if (r)
    return r;
  sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, t);
  asr_sql_bind_text(s, 3, fp ? fp : "");
  return asr_sql_finish(asr_store_sql(st), s, "recording the schedule");
}
