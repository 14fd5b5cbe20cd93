/* cdb_array.c: array parameters (cdb.h, "Array parameters"): PostgreSQL's array literals
 * ({1,NULL,"text"}) built in one growing buffer, for the bulk statements of the hot path
 * (unnest(?1::bigint[], ...): one statement and one round trip for thousands of rows). */
#include <string.h>

#include "central/cdb.h"

/* Before an element: "{" for the first, "," for the others. */
static void arr_sep(cdb_arr *a)
{
  asr_buf_add(&a->b, a->n++ ? "," : "{", 1);
}

void cdb_arr_i64(cdb_arr *a, int64_t v)
{
  char d[24];
  size_t i = sizeof(d);
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN included */

  do {
    d[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    d[--i] = '-';
  arr_sep(a);
  asr_buf_add(&a->b, d + i, sizeof(d) - i);
}

void cdb_arr_null(cdb_arr *a)
{
  arr_sep(a);
  asr_buf_add(&a->b, "NULL", 4);
}

void cdb_arr_opt_i64(cdb_arr *a, bool has, int64_t v)
{
  if (has)
    cdb_arr_i64(a, v);
  else
    cdb_arr_null(a);
}

/* Quoted: any text, "NULL" and braces included; \ and " escaped. */
void cdb_arr_text(cdb_arr *a, const char *v)
{
  if (!v) {
    cdb_arr_null(a);
    return;
  }
  arr_sep(a);
  asr_buf_add(&a->b, "\"", 1);
  while (*v) {
    size_t run = strcspn(v, "\"\\");
    asr_buf_add(&a->b, v, run);
    v += run;
    if (*v) {
      asr_buf_add(&a->b, "\\", 1);
      asr_buf_add(&a->b, v++, 1);
    }
  }
  asr_buf_add(&a->b, "\"", 1);
}

/* bytea's hex form, its backslash escaped for the array: "\\x00ff". */
void cdb_arr_bytea(cdb_arr *a, const void *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *b = p;
  char pair[2];

  if (!p) {
    cdb_arr_null(a);
    return;
  }
  arr_sep(a);
  asr_buf_add(&a->b, "\"\\\\x", 4);
  for (size_t i = 0; i < n; i++) {
    pair[0] = hex[b[i] >> 4];
    pair[1] = hex[b[i] & 15];
    asr_buf_add(&a->b, pair, 2);
  }
  asr_buf_add(&a->b, "\"", 1);
}

const char *cdb_arr_done(cdb_arr *a)
{
  if (!a->n)
    asr_buf_add(&a->b, "{", 1);
  asr_buf_add(&a->b, "}", 1);
  return a->b.err ? NULL : a->b.p;
}

void cdb_arr_reset(cdb_arr *a)
{
  asr_buf_reset(&a->b);
  a->n = 0;
}

void cdb_arr_free(cdb_arr *a)
{
  asr_buf_free(&a->b);
  a->n = 0;
}

asr_result cdb_bind_arrs(cdb_stmt *s, int first, cdb_arr *a, int n)
{
  for (int i = 0; i < n; i++) {
    const char *v = cdb_arr_done(&a[i]);
    if (!v) {
      cdb_reset(s);
      return ASR_ERR_NOMEM;
    }
    cdb_bind_text(s, first + i, v);
  }
  return ASR_OK;
}
