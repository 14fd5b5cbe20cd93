/* check_vbset.c: snmp/vbset.c: sort, duplicates (the first added wins), subtree ranges,
 * get, the value cut, the limit, and OID parse/format edge cases. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp/vbset.h"

static asr_vbset *s;

static void setup(void)
{
  s = asr_vbset_new();
  ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
  asr_vbset_free(s);
}

/* Adds an INTEGER varbind at a dotted OID. */
static asr_result add_int(const char *oid, int64_t v)
{
  uint32_t o[ASR_OID_MAX];
  size_t n;
  asr_vb vb = {.oid = o, .type = ASR_VB_INTEGER, .num = v};

  ck_assert_int_eq(asr_oid_parse(oid, o, ASR_OID_MAX, &n), ASR_OK);
  vb.oid_len = n;
  return asr_vbset_add(s, &vb);
}

static const asr_vb *get(const char *oid)
{
  uint32_t o[ASR_OID_MAX];
  size_t n;

  ck_assert_int_eq(asr_oid_parse(oid, o, ASR_OID_MAX, &n), ASR_OK);
  return asr_vbset_get(s, o, n);
}

static void fmt(size_t i, char *buf, size_t n)
{
  const asr_vb *vb = asr_vbset_at(s, i);

  ck_assert_ptr_nonnull(vb);
  ck_assert_int_eq(asr_oid_format(vb->oid, vb->oid_len, buf, n), ASR_OK);
}

START_TEST(test_sort_numeric_not_text)
{
  static const char *in[] = {"1.3.6.1.2.1.1.10.0", "1.3.6.1.2.1.1.9.0", "1.3.6.1.2.1.1",
                             "1.3.6.1.2.1.1.2.0",  "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.2"};
  static const char *want[] = {"1.3.6.1.2.1.1",     "1.3.6.1.2.1.1.1.0",  "1.3.6.1.2.1.1.2.0",
                               "1.3.6.1.2.1.1.9.0", "1.3.6.1.2.1.1.10.0", "1.3.6.1.2.1.2"};
  char buf[128];

  for (size_t i = 0; i < 6; i++)
    ck_assert_int_eq(add_int(in[i], (int64_t)i), ASR_OK);
  asr_vbset_finish(s);
  ck_assert_uint_eq(asr_vbset_count(s), 6);
  for (size_t i = 0; i < 6; i++) {
    fmt(i, buf, sizeof(buf));
    ck_assert_str_eq(buf, want[i]);
  }
  ck_assert_ptr_null(asr_vbset_at(s, 6));
}
END_TEST

/* Many duplicates in a large set: the first one added must win whatever qsort does. */
START_TEST(test_dedup_keeps_first)
{
  char oid[64];

  for (int round = 0; round < 5; round++) {
    for (int i = 999; i >= 0; i--) {
      snprintf(oid, sizeof(oid), "1.3.6.%d.%d", i % 7, i);
      ck_assert_int_eq(add_int(oid, round * 10000 + i), ASR_OK);
    }
  }
  asr_vbset_finish(s);
  ck_assert_uint_eq(asr_vbset_count(s), 1000);
  for (int i = 0; i < 1000; i++) {
    snprintf(oid, sizeof(oid), "1.3.6.%d.%d", i % 7, i);
    ck_assert_ptr_nonnull(get(oid));
    ck_assert_int_eq(get(oid)->num, i);
  }
}
END_TEST

START_TEST(test_get_and_none)
{
  uint32_t o[] = {1, 3, 6, 9};
  asr_vb none = {.oid = o, .oid_len = 4, .type = ASR_VB_NONE};

  ck_assert_int_eq(asr_vbset_add(s, &none), ASR_OK);
  ck_assert_int_eq(add_int("1.3.6.8", 8), ASR_OK);
  asr_vbset_finish(s);
  ck_assert_ptr_null(get("1.3.6.9")); /* present but NONE */
  ck_assert_uint_eq(asr_vbset_count(s), 2);
  ck_assert_int_eq(get("1.3.6.8")->num, 8);
  ck_assert_ptr_null(get("1.3.6"));
  ck_assert_ptr_null(get("1.3.6.8.0"));
  ck_assert_ptr_null(get("1.3.6.7"));
  ck_assert_ptr_null(get("9"));
}
END_TEST

START_TEST(test_empty_set)
{
  size_t first = 99;
  uint32_t p[] = {1, 3};

  asr_vbset_finish(s);
  ck_assert_uint_eq(asr_vbset_count(s), 0);
  ck_assert_ptr_null(asr_vbset_at(s, 0));
  ck_assert_ptr_null(get("1.3"));
  ck_assert_uint_eq(asr_vbset_subtree(s, p, 2, &first), 0);
  ck_assert_uint_eq(first, 0);
}
END_TEST

START_TEST(test_subtree)
{
  uint32_t p[] = {1, 3, 6, 2};
  uint32_t leaf[] = {1, 3, 6, 2, 5};
  size_t first, n;

  ck_assert_int_eq(add_int("1.3.6.1.9", 0), ASR_OK);
  ck_assert_int_eq(add_int("1.3.6.2", 1), ASR_OK); /* the prefix itself: not "under" */
  ck_assert_int_eq(add_int("1.3.6.2.1", 2), ASR_OK);
  ck_assert_int_eq(add_int("1.3.6.2.1.7", 3), ASR_OK);
  ck_assert_int_eq(add_int("1.3.6.2.10", 4), ASR_OK);
  ck_assert_int_eq(add_int("1.3.6.20.1", 5), ASR_OK); /* 20 is not under 2 */
  ck_assert_int_eq(add_int("1.3.6.3", 6), ASR_OK);
  asr_vbset_finish(s);
  n = asr_vbset_subtree(s, p, 4, &first);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(asr_vbset_at(s, first)->num, 2);
  ck_assert_int_eq(asr_vbset_at(s, first + 2)->num, 4);
  n = asr_vbset_subtree(s, leaf, 5, &first); /* nothing under a missing OID */
  ck_assert_uint_eq(n, 0);
  n = asr_vbset_subtree(s, p, 1, &first); /* everything under "1" */
  ck_assert_uint_eq(n, 7);
  ck_assert_uint_eq(first, 0);
}
END_TEST

START_TEST(test_oid_cmp_under)
{
  uint32_t a[] = {1, 3, 6}, b[] = {1, 3, 6, 0}, c[] = {1, 3, 7}, big[] = {UINT32_MAX};

  ck_assert_int_lt(asr_oid_cmp(a, 3, b, 4), 0);
  ck_assert_int_gt(asr_oid_cmp(b, 4, a, 3), 0);
  ck_assert_int_eq(asr_oid_cmp(a, 3, a, 3), 0);
  ck_assert_int_lt(asr_oid_cmp(b, 4, c, 3), 0);
  ck_assert_int_gt(asr_oid_cmp(big, 1, a, 3), 0); /* unsigned compare, no overflow */
  ck_assert(asr_oid_under(b, 4, a, 3));
  ck_assert(!asr_oid_under(a, 3, a, 3));
  ck_assert(!asr_oid_under(c, 3, a, 3));
  ck_assert(!asr_oid_under(a, 3, b, 4));
}
END_TEST

START_TEST(test_oid_parse)
{
  uint32_t o[4];
  size_t n = 0;

  ck_assert_int_eq(asr_oid_parse(".1.3.6.1", o, 4, &n), ASR_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(o[3], 1);
  ck_assert_int_eq(asr_oid_parse("0", o, 4, &n), ASR_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(asr_oid_parse("4294967295.0", o, 4, &n), ASR_OK);
  ck_assert_uint_eq(o[0], UINT32_MAX);
  ck_assert_int_eq(asr_oid_parse("4294967296", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("99999999999999999999999", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1.3.6.1.2", o, 4, &n), ASR_ERR_PARSE); /* over max */
  ck_assert_int_eq(asr_oid_parse("", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse(".", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1..3", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1.3.", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("..1", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1.-3", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse(" 1.3", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1.3 ", o, 4, &n), ASR_ERR_PARSE);
  ck_assert_int_eq(asr_oid_parse("1.3a", o, 4, &n), ASR_ERR_PARSE);
}
END_TEST

START_TEST(test_oid_format)
{
  uint32_t o[] = {1, 3, 6, UINT32_MAX};
  char buf[64], tiny[6];

  ck_assert_int_eq(asr_oid_format(o, 4, buf, sizeof(buf)), ASR_OK);
  ck_assert_str_eq(buf, "1.3.6.4294967295");
  ck_assert_int_eq(asr_oid_format(o, 0, buf, sizeof(buf)), ASR_OK);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(asr_oid_format(o, 4, tiny, sizeof(tiny)), ASR_ERR_TOO_LARGE);
  ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
  ck_assert_int_eq(asr_oid_format(o, 4, buf, 0), ASR_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_values_copied_and_cut)
{
  uint32_t o[] = {1, 3, 1}, o2[] = {1, 3, 2}, o3[] = {1, 3, 3}, val[] = {1, 3, 6, 1, 4};
  size_t big = ASR_VB_VALUE_MAX + 100;
  uint8_t *bytes = malloc(big);
  asr_vb vb = {.oid = o, .oid_len = 3, .type = ASR_VB_OCTETS, .bytes = bytes, .len = big};
  asr_vb empty = {.oid = o2, .oid_len = 3, .type = ASR_VB_OCTETS};
  asr_vb oidv = {.oid = o3, .oid_len = 3, .type = ASR_VB_OID, .oidval = val, .oidval_len = 5};
  const asr_vb *got;

  ck_assert_ptr_nonnull(bytes);
  memset(bytes, 'x', big);
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_OK);
  ck_assert_int_eq(asr_vbset_add(s, &empty), ASR_OK);
  ck_assert_int_eq(asr_vbset_add(s, &oidv), ASR_OK);
  memset(bytes, 'y', big); /* the set holds its own copy */
  o[2] = 99;
  val[4] = 77;
  asr_vbset_finish(s);
  got = asr_vbset_at(s, 0);
  ck_assert_uint_eq(got->oid[2], 1);
  ck_assert_uint_eq(got->len, ASR_VB_VALUE_MAX);
  ck_assert_int_eq(got->bytes[0], 'x');
  ck_assert_int_eq(got->bytes[ASR_VB_VALUE_MAX], 0); /* NUL-terminated */
  got = asr_vbset_at(s, 1);
  ck_assert_ptr_nonnull(got->bytes); /* an empty string is "", not NULL */
  ck_assert_uint_eq(got->len, 0);
  ck_assert_int_eq(got->bytes[0], 0);
  got = asr_vbset_at(s, 2);
  ck_assert_uint_eq(got->oidval_len, 5);
  ck_assert_uint_eq(got->oidval[4], 4);
  free(bytes);
}
END_TEST

START_TEST(test_invalid_and_limit)
{
  uint32_t o[ASR_OID_MAX + 1] = {1};
  asr_vb vb = {.oid = o, .oid_len = 0, .type = ASR_VB_INTEGER};

  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_ERR_INVALID);
  vb.oid_len = ASR_OID_MAX + 1;
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_ERR_INVALID);
  vb.oid_len = ASR_OID_MAX;
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_OK);
  vb.oid_len = 1;
  vb.len = 5; /* a length without bytes */
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_ERR_INVALID);
  vb.len = 0;
  vb.oidval_len = ASR_OID_MAX + 1;
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_ERR_INVALID);
  vb.oidval_len = 0;
  asr_vbset_set_limit(s, 3);
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_OK);
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_OK);
  ck_assert_int_eq(asr_vbset_add(s, &vb), ASR_ERR_LIMIT);
  asr_vbset_finish(s);
  ck_assert_uint_eq(asr_vbset_count(s), 2); /* the two {1} collapse, the long one stays */
}
END_TEST

int main(void)
{
  Suite *su = suite_create("vbset");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_sort_numeric_not_text);
  tcase_add_test(tc, test_dedup_keeps_first);
  tcase_add_test(tc, test_get_and_none);
  tcase_add_test(tc, test_empty_set);
  tcase_add_test(tc, test_subtree);
  tcase_add_test(tc, test_oid_cmp_under);
  tcase_add_test(tc, test_oid_parse);
  tcase_add_test(tc, test_oid_format);
  tcase_add_test(tc, test_values_copied_and_cut);
  tcase_add_test(tc, test_invalid_and_limit);
  suite_add_tcase(su, tc);
  sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
