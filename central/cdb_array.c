/* cdb_array.c: array parameters (cdb.h, "Array parameters"): a column of rows in one
 * PostgreSQL array, for the bulk statements of the hot path (unnest(?1::bigint[], ...):
 * one statement and one round trip for thousands of rows).
 *
 * Integers go in PostgreSQL's binary array format (array_send's: ndim, has-nulls flag,
 * element type int8, the dimension, then each element as a length and 8 big-endian
 * bytes; -1 for NULL): the server reads them without parsing text, a fifth of a level's
 * cost otherwise. Text and bytea go as the array's text literal ({"a \"b\"",NULL}). */
#include <string.h>

#include "central/cdb.h"

#define ARR_HEAD 20  /* ndim, flags, element type, length, lower bound: 5 x int32 */
#define INT8_OID 20u /* PostgreSQL's bigint */

static void put32(unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* ---- integers: binary ---- */

/* Before an integer element: the room of the header for the first; a text array taking
 * integers is a mistake of the caller (the array fails). */
static bool int_start(cdb_arr *a)
{
  static const unsigned char zero[ARR_HEAD];

  if (!a->n) {
    a->bin = true;
    asr_buf_add(&a->b, zero, sizeof(zero));
  }
  if (!a->bin && !a->b.err)
    a->b.err = ASR_ERR_INVALID;
  a->n++;
  return a->bin;
}

void cdb_arr_i64(cdb_arr *a, int64_t v)
{
  unsigned char e[12];
  uint64_t u = (uint64_t)v;

  if (!int_start(a))
    return;
  put32(e, 8);
  put32(e + 4, (uint32_t)(u >> 32));
  put32(e + 8, (uint32_t)u);
  asr_buf_add(&a->b, e, sizeof(e));
}

void cdb_arr_opt_i64(cdb_arr *a, bool has, int64_t v)
{
  unsigned char e[4];

  if (has) {
    cdb_arr_i64(a, v);
    return;
  }
  if (!int_start(a))
    return;
  put32(e, UINT32_MAX); /* -1: NULL */
  asr_buf_add(&a->b, e, sizeof(e));
  a->nulls = true;
}

/* ---- text and bytea: the text literal ---- */

/* Before a text element: "{" for the first, "," for the others. */
static void text_sep(cdb_arr *a)
{
  if (a->bin && !a->b.err)
    a->b.err = ASR_ERR_INVALID;
  asr_buf_add(&a->b, a->n++ ? "," : "{", 1);
}

/* Quoted: any text, "NULL" and braces included; \ and " escaped. */
void cdb_arr_text(cdb_arr *a, const char *v)
{
  if (!v) {
    text_sep(a);
    asr_buf_add(&a->b, "NULL", 4);
    return;
  }
  text_sep(a);
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
    cdb_arr_text(a, NULL);
    return;
  }
  text_sep(a);
  asr_buf_add(&a->b, "\"\\\\x", 4);
  for (size_t i = 0; i < n; i++) {
    pair[0] = hex[b[i] >> 4];
    pair[1] = hex[b[i] & 15];
    asr_buf_add(&a->b, pair, 2);
  }
  asr_buf_add(&a->b, "\"", 1);
}

/* ---- closing, binding ---- */

const void *cdb_arr_done(cdb_arr *a, size_t *len)
{
  unsigned char *h;

  *len = 0;
  if (a->bin && !a->b.err && a->n > INT32_MAX)
    a->b.err = ASR_ERR_LIMIT;
  if (a->b.err)
    return NULL;
  if (a->bin) { /* the header, now that the elements are counted */
    h = (unsigned char *)a->b.p;
    put32(h, 1);
    put32(h + 4, a->nulls);
    put32(h + 8, INT8_OID);
    put32(h + 12, (uint32_t)a->n);
    put32(h + 16, 1);
    *len = a->b.len;
    return a->b.p;
  }
  if (!a->closed) {
    if (!a->n)
      asr_buf_add(&a->b, "{", 1);
    asr_buf_add(&a->b, "}", 1);
    a->closed = true;
  }
  *len = a->b.len;
  return a->b.err ? NULL : a->b.p;
}

asr_result cdb_bind_arrs(cdb_stmt *s, int first, cdb_arr *a, int n)
{
  for (int i = 0; i < n; i++) {
    size_t len = 0;
    const void *v = cdb_arr_done(&a[i], &len);
    if (!v) {
      cdb_reset(s);
      return a[i].b.err == ASR_ERR_NOMEM ? ASR_ERR_NOMEM : ASR_ERR_INVALID;
    }
    if (a[i].bin)
      cdb_bind_blob(s, first + i, v, len); /* binary: the parameter's type reads it */
    else
      cdb_bind_text(s, first + i, v);
  }
  return ASR_OK;
}

bool cdb_arrs_full(const cdb_arr *a, int n)
{
  size_t bytes = 0;

  for (int i = 0; i < n; i++)
    bytes += a[i].b.len;
  return n > 0 && (a[0].n >= CDB_ARR_ROWS || bytes >= CDB_ARR_BYTES);
}

void cdb_arr_reset(cdb_arr *a)
{
  asr_buf_reset(&a->b);
  a->n = 0;
  a->bin = a->nulls = a->closed = false;
}

void cdb_arr_free(cdb_arr *a)
{
  asr_buf_free(&a->b);
  a->n = 0;
  a->bin = a->nulls = a->closed = false;
}
