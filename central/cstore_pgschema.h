/* cstore_pgschema.h: a schema of its own in a PostgreSQL database, for a run that must not
 * touch the database's other schemas (`asr-central simulate --engine --db URI`,
 * central/simengine.c). The run's store is opened (cstore_open) with the URI that
 * cstore_pg_schema_uri gives: its connections' search_path is that schema alone, so the
 * store's tables are created and read there. */
#ifndef ASR_CSTORE_PGSCHEMA_H
#define ASR_CSTORE_PGSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/result.h"

#define CSTORE_PG_SCHEMA_MAX 63 /* PostgreSQL's identifier length */

/* True when s is a schema name this module accepts: [a-z_][a-z0-9_]*, at most
 * CSTORE_PG_SCHEMA_MAX bytes, not starting with "pg_" (PostgreSQL's). */
bool cstore_pg_schema_valid(const char *s);

/* Creates schema (cstore_pg_schema_valid) in the database of uri; password_file as
 * --db-password-file (NULL: PGPASSFILE / ~/.pgpass). An existing schema is refused (never
 * reused). ASR_ERR_DB (no CREATE privilege, the server down: connect_timeout), ASR_ERR_INVALID
 * (a bad URI or password file) with the reason in err. */
asr_result cstore_pg_schema_create(const char *uri, const char *password_file, const char *schema,
                                   char *err, size_t n);

/* Drops schema and everything in it (CASCADE). err as cstore_pg_schema_create. */
asr_result cstore_pg_schema_drop(const char *uri, const char *password_file, const char *schema,
                                 char *err, size_t n);

/* uri with its connections' search_path set to schema (libpq's options=-csearch_path=...),
 * in out (cap bytes). ASR_ERR_INVALID when uri sets options= itself (err says so),
 * ASR_ERR_LIMIT when out is too small. */
asr_result cstore_pg_schema_uri(const char *uri, const char *schema, char *out, size_t cap,
                                char *err, size_t n);

#endif
