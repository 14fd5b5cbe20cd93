/* ccli_common.c: what the asr-central commands share (ccli_common.h). */
#include "central/ccli_common.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "central/cdb.h"
#include "central/cstore.h"
#include "common/log.h"
#include "common/text.h"

void ccli_error(const char *fmt, ...)
{
  va_list ap;

  fputs("asr-central: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void log_sink(asr_log_level level, const char *msg, void *ctx)
{
  static const char *const names[] = {"error", "warning", "info", "debug"};

  (void)ctx;
  fprintf(stderr, "asr-central: %s: %s\n", names[level], msg);
}

void ccli_log_init(int verbose)
{
  int level = ASR_LOG_WARN + verbose;

  asr_log_set_sink(log_sink, NULL);
  asr_log_set_level((asr_log_level)(level > ASR_LOG_DEBUG ? ASR_LOG_DEBUG : level));
}

int ccli_exit_for(asr_result r)
{
  switch (r) {
  case ASR_OK:
    return CCLI_EXIT_OK;
  case ASR_ERR_DB:
  case ASR_ERR_DB_LOCKED:
  case ASR_ERR_DB_VERSION:
    return CCLI_EXIT_DB;
  case ASR_ERR_INVALID:
  case ASR_ERR_NOT_FOUND:
    return CCLI_EXIT_FAILURE;
  case ASR_ERR_USAGE:
    return CCLI_EXIT_USAGE;
  default:
    return CCLI_EXIT_INTERNAL;
  }
}

static bool db_password_given; /* --db-password-file was given */

int ccli_db_password_file(const char *path)
{
  if (!*path || cstore_set_password_file(path) != ASR_OK) {
    ccli_error("--db-password-file: '%s' is not a usable path", path);
    return -1;
  }
  db_password_given = true;
  return 0;
}

asr_result ccli_open_db(const char *path, struct cstore **st)
{
  char err[512];
  asr_result r;

  if (!path || !*path) {
    ccli_error("--db FILE (or a postgresql:// URI) is required");
    return ASR_ERR_USAGE;
  }
  if (db_password_given && !cdb_is_pg_name(path)) {
    ccli_error("--db-password-file is for a PostgreSQL --db (postgresql://...), not a file");
    return ASR_ERR_USAGE;
  }
  r = cstore_open(path, st, err, sizeof(err));
  if (r)
    ccli_error("%s", err);
  if (cdb_is_pg_name(path) && (r == ASR_ERR_INVALID || r == ASR_ERR_IO))
    r = ASR_ERR_USAGE; /* the URI or its password file: the command line's (exit 2) */
  return r;
}

void ccli_print_doc(const char *key, void *arr)
{
  json_t *doc = json_pack("{s:O}", key, (json_t *)arr);

  if (doc && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0)
    putchar('\n');
  json_decref(doc);
}

asr_result ccli_rows_new(int fmt, json_t **rows)
{
  *rows = fmt == CCLI_FMT_JSON ? json_array() : NULL;
  return fmt == CCLI_FMT_JSON && !*rows ? ASR_ERR_NOMEM : ASR_OK;
}

int ccli_rows_end(asr_result r, struct cstore *st, const char *key, json_t *rows)
{
  if (r)
    ccli_error("%s", r == ASR_ERR_NOMEM ? "out of memory" : cstore_errmsg(st));
  else if (rows)
    ccli_print_doc(key, rows);
  json_decref(rows);
  cstore_close(st);
  return ccli_exit_for(r);
}

int ccli_parse_format(const char *s, int *fmt)
{
  static const char *const names[] = {"table", "json", "csv"};

  for (int i = 0; i < 3; i++) {
    if (strcmp(s, names[i]) == 0) {
      *fmt = i;
      return 0;
    }
  }
  ccli_error("--format: '%s' is not table, json or csv", s);
  return -1;
}

void ccli_csv_field(const char *v, const char *sep)
{
  putchar('"');
  if (v[0] && strchr("=+-@", v[0]))
    putchar('\'');
  for (size_t k; *v; v += k) { /* printer-sent text: nothing unsafe (common/text.h) */
    const char *rep = asr_text_step(v, &k, ASR_TEXT_QMARK);

    if (rep)
      fputs(rep, stdout);
    else if (*v == '"')
      fputs("\"\"", stdout);
    else
      fwrite(v, 1, k, stdout);
  }
  printf("\"%s", sep);
}
