/* cstore_pgschema.c: a run's own schema in a PostgreSQL database (cstore_pgschema.h).
 *
 * The schema is created and dropped over a short connection of its own (the run's store
 * is closed before the drop). Names are checked against a strict pattern before they are
 * written into SQL, and quoted there too. */
#include "central/cstore_pgschema.h"

#include <string.h>

#include "central/cdb.h"
#include "common/util.h"

#define SCHEMA_BUSY_MS 30000 /* the lock wait of CREATE / DROP (lock_timeout) */

bool cstore_pg_schema_valid(const char *s)
{
  size_t n = s ? strlen(s) : 0;

  if (n == 0 || n > CSTORE_PG_SCHEMA_MAX || strncmp(s, "pg_", 3) == 0 ||
      (s[0] >= '0' && s[0] <= '9'))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return false;
  return true;
}

/* Runs "VERB \"schema\" TAIL" over a connection of its own to uri. */
static asr_result schema_exec(const char *uri, const char *password_file, const char *verb,
                              const char *schema, const char *tail, const char *what, char *err,
                              size_t n)
{
  char sql[160], doing[128];
  cdb_opts o = {.slots = 1, .busy_ms = SCHEMA_BUSY_MS, .password_file = password_file};
  cdb *db = NULL;
  asr_result r;

  if (!cstore_pg_schema_valid(schema)) {
    asr_fmt_cut(err, n, "'%s' is not a schema name of [a-z0-9_] (at most %d bytes, not pg_...)",
                schema ? schema : "", CSTORE_PG_SCHEMA_MAX);
    return ASR_ERR_INVALID;
  }
  if (asr_fmt(sql, sizeof(sql), "%s \"%s\"%s", verb, schema, tail) ||
      asr_fmt(doing, sizeof(doing), "%s schema %s", what, schema))
    return ASR_ERR_LIMIT;
  r = cdb_open(uri, &o, &db, err, n);
  if (r)
    return r;
  r = cdb_exec(db, sql, doing);
  if (r)
    asr_strlcpy_cut(err, cdb_errmsg(db), n);
  cdb_close(db);
  return r;
}

asr_result cstore_pg_schema_create(const char *uri, const char *password_file, const char *schema,
                                   char *err, size_t n)
{
  return schema_exec(uri, password_file, "CREATE SCHEMA", schema, "", "creating", err, n);
}

asr_result cstore_pg_schema_drop(const char *uri, const char *password_file, const char *schema,
                                 char *err, size_t n)
{
  return schema_exec(uri, password_file, "DROP SCHEMA IF EXISTS", schema, " CASCADE", "dropping",
                     err, n);
}

asr_result cstore_pg_schema_uri(const char *uri, const char *schema, char *out, size_t cap,
                                char *err, size_t n)
{
  const char *q = strchr(uri, '?');
  const char *sep = !q ? "?" : q[1] == '\0' || uri[strlen(uri) - 1] == '&' ? "" : "&";

  if (q && (strncmp(q + 1, "options=", 8) == 0 || strstr(q, "&options="))) {
    asr_fmt_cut(err, n,
                "the --db URI sets options= itself: the run sets the connection's"
                " search_path through it; remove options= from --db");
    return ASR_ERR_INVALID;
  }
  if (!cstore_pg_schema_valid(schema)) {
    asr_fmt_cut(err, n, "'%s' is not a schema name", schema);
    return ASR_ERR_INVALID;
  }
  if (asr_fmt(out, cap, "%s%soptions=-csearch_path%%3D%s", uri, sep, schema)) {
    asr_fmt_cut(err, n, "the --db URI is too long");
    return ASR_ERR_LIMIT;
  }
  return ASR_OK;
}
