/* testutil.c: the portable part of the unit tests' helpers (testutil.h). */
#include "tests/unit/testutil.h"

#include <stdlib.h>
#include <string.h>

void tu_write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "wb");
  size_t len = strlen(text);

  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(text, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

FILE *tu_stream_from(const void *data, size_t len)
{
  FILE *f = tu_tmpfile();

  if (!f)
    return NULL;
  if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
    fclose(f);
    return NULL;
  }
  rewind(f);
  return f;
}

bool tu_capture_open(tu_capture *c)
{
  c->f = tu_tmpfile();
  return c->f != NULL;
}

/* Reads the whole of f (positioned at its start, size bytes) into a new string. */
static char *read_all(FILE *f, long size)
{
  char *text = malloc((size_t)size + 1);

  if (!text)
    return NULL;
  if (fread(text, 1, (size_t)size, f) != (size_t)size) {
    free(text);
    return NULL;
  }
  text[size] = '\0';
  return text;
}

char *tu_capture_close(tu_capture *c, size_t *len)
{
  char *text = NULL;
  long size;

  if (!c->f)
    return NULL;
  if (fflush(c->f) != 0 || fseek(c->f, 0, SEEK_END) != 0)
    goto out;
  size = ftell(c->f);
  if (size < 0)
    goto out;
  rewind(c->f);
  text = read_all(c->f, size);
  if (text && len)
    *len = (size_t)size;
out:
  fclose(c->f);
  c->f = NULL;
  return text;
}

void tu_skip(const char *test, const char *why)
{
  fprintf(stderr, "SKIP: %s: %s\n", test, why);
}
