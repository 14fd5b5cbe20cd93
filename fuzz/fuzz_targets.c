/* fuzz/fuzz_targets.c: libFuzzer target for scan targets (agent/targets.c), fed text.
 *
 * The first byte chooses --force (bit 0); the rest is lines, each an operation chosen by
 * its first character: '+' a target, '-' an exclusion, '=' TARGET=COMMUNITY, '@' the rest of
 * the input as a targets file. Words that could be host names are not given (they would be
 * looked up in DNS): a word without ':' and with a letter is skipped, and in the file every
 * letter becomes '1'. Then finish and, up to 70,000 addresses, the walk.
 *
 * Invariants: the walk yields exactly asr_targets_count() addresses, in strictly ascending
 * order, each one reported by asr_targets_contains(); the count is within the bound of
 * --force; every IPv6 address comes after every IPv4 one. Built and run by scripts/fuzz.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fmemopen */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/targets.h"
#include "common/log.h"

static void fail(const char *what)
{
  fprintf(stderr, "fuzz invariant violated: %s\n", what);
  abort();
}

static int maybe_dns(const char *w)
{
  if (strchr(w, ':'))
    return 0;
  for (; *w; w++) {
    if ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z'))
      return 1;
  }
  return 0;
}

static void one_line(asr_targets *t, char *line, int force)
{
  char err[512], *eq;

  if (maybe_dns(line + 1))
    return;
  switch (line[0]) {
  case '+':
    asr_targets_add(t, line + 1, force, err, sizeof(err));
    break;
  case '-':
    asr_targets_exclude(t, line + 1, err, sizeof(err));
    break;
  case '=':
    eq = strchr(line + 1, '=');
    if (eq) {
      *eq = '\0';
      asr_targets_add_community(t, line + 1, eq + 1, err, sizeof(err));
    }
    break;
  }
}

static void from_file(asr_targets *t, const char *text, size_t len, int force)
{
  char err[512], *copy = malloc(len + 1);
  FILE *f;

  if (!copy)
    abort();
  for (size_t i = 0; i < len; i++) {
    char c = text[i];

    copy[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? '1' : c;
  }
  f = fmemopen(copy, len, "r");
  if (f) {
    asr_targets_add_file(t, "fuzz", f, force, err, sizeof(err));
    fclose(f);
  }
  free(copy);
}

static void walk(const asr_targets *t, int force)
{
  uint64_t n = 0, count = asr_targets_count(t);
  asr_targets_iter it;
  asr_addr a, prev;

  if (count > (uint64_t)(force ? ASR_TARGETS_MAX_FORCED : ASR_TARGETS_MAX_UNFORCED))
    fail("more addresses than the bound");
  if (count > 70000)
    return;
  asr_targets_iter_init(&it);
  while (asr_targets_next(t, &it, &a)) {
    if (n > 0 && asr_addr_cmp(&prev, &a) >= 0)
      fail("addresses not strictly ascending");
    if (!asr_targets_contains(t, &a))
      fail("a walked address is not contained");
    prev = a;
    if (++n > count)
      fail("the walk yields more than the count");
  }
  if (n != count)
    fail("the walk yields fewer than the count");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  asr_targets t = {0};
  char *text, err[256];
  int force;

  if (size < 1)
    return 0;
  asr_log_set_level(ASR_LOG_ERR);
  force = data[0] & 1;
  text = malloc(size);
  if (!text)
    abort();
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');

    if (nl)
      *nl = '\0';
    if (line[0] == '@') {
      size_t off = (size_t)(line + 1 - text);

      if (nl)
        *nl = '\n';
      from_file(&t, text + off, strlen(text + off), force);
      break;
    }
    one_line(&t, line, force);
    line = nl ? nl + 1 : NULL;
  }
  if (asr_targets_finish(&t, force, err, sizeof(err)) == ASR_OK)
    walk(&t, force);
  asr_targets_free(&t);
  free(text);
  return 0;
}
