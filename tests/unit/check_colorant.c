/* check_colorant.c: snmp/colorant.c, every row of the table (whole, in capitals, in a
 * description), and the texts that must not map. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp/colorant.h"

#define CANONICAL_N 17

static const char *const canonical[CANONICAL_N] = {
    "black",       "cyan",        "magenta", "yellow",     "light cyan", "light magenta",
    "photo black", "matte black", "gray",    "light gray", "red",        "green",
    "blue",        "orange",      "violet",  "white",      "clear",
};

static int is_canonical(const char *s)
{
  for (size_t i = 0; i < CANONICAL_N; i++) {
    if (strcmp(s, canonical[i]) == 0)
      return 1;
  }
  return 0;
}

/* ASCII upper case of s (other bytes as they are). */
static void upper(const char *s, char *out, size_t n)
{
  size_t i;

  for (i = 0; s[i] && i + 1 < n; i++)
    out[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
  out[i] = '\0';
}

/* Each row: its name maps to its word, whole and in capitals; a full name is also found
 * as a word of a description, an abbreviation never is. */
START_TEST(test_every_row)
{
  size_t n;
  const asr_colorant_row *t = asr_colorant_table(&n);
  char buf[128];

  ck_assert_uint_gt(n, 100);
  for (size_t i = 0; i < n; i++) {
    const char *std;

    ck_assert_msg(is_canonical(t[i].std), "row %zu: '%s' is no canonical word", i, t[i].std);
    std = asr_colorant_std(t[i].name);
    ck_assert_msg(std && strcmp(std, t[i].std) == 0, "row %zu: '%s' -> %s, not %s", i, t[i].name,
                  std ? std : "NULL", t[i].std);
    upper(t[i].name, buf, sizeof(buf));
    std = asr_colorant_std(buf);
    ck_assert_msg(std && strcmp(std, t[i].std) == 0, "row %zu: '%s' -> %s", i, buf,
                  std ? std : "NULL");
    snprintf(buf, sizeof(buf), "Toner (%s) 5K", t[i].name);
    std = asr_colorant_in_text(buf);
    if (t[i].abbrev)
      ck_assert_msg(std == NULL, "row %zu: abbreviation '%s' found in a text", i, t[i].name);
    else
      ck_assert_msg(std && strcmp(std, t[i].std) == 0, "row %zu: '%s' in a text -> %s", i, buf,
                    std ? std : "NULL");
  }
}
END_TEST

START_TEST(test_forms)
{
  ck_assert_str_eq(asr_colorant_std("Black"), "black");
  ck_assert_str_eq(asr_colorant_std("  BK "), "black");
  ck_assert_str_eq(asr_colorant_std("K"), "black");
  ck_assert_str_eq(asr_colorant_std("Light-Cyan"), "light cyan");
  ck_assert_str_eq(asr_colorant_std("light_magenta"), "light magenta");
  ck_assert_str_eq(asr_colorant_std("SCHWARZ"), "black");
  ck_assert_str_eq(asr_colorant_std("Noir"), "black");
  ck_assert_str_eq(asr_colorant_std("Cyaan"), "cyan");
  ck_assert_str_eq(asr_colorant_std("Gelb"), "yellow");
  ck_assert_str_eq(asr_colorant_std("Jaune"), "yellow");
  ck_assert_str_eq(asr_colorant_std("\xc5\xbb\xc3\x93\xc5\x81TY"), "yellow"); /* ŻÓŁTY */
  ck_assert_str_eq(asr_colorant_std("\xc4\x8c\x45RN\xc3\x81"), "black");      /* ČERNÁ */
  ck_assert_str_eq(asr_colorant_std("\xd0\xa7\xd0\x81\xd0\xa0\xd0\x9d\xd0\xab\xd0\x99"),
                   "black"); /* ЧЁРНЫЙ */
  ck_assert_str_eq(asr_colorant_std("Black Toner"), "black");
  ck_assert_str_eq(asr_colorant_std("Photo Black"), "photo black");
  ck_assert_str_eq(asr_colorant_std("Light Black"), "gray");
}
END_TEST

START_TEST(test_no_colour)
{
  ck_assert_ptr_null(asr_colorant_std(NULL));
  ck_assert_ptr_null(asr_colorant_std(""));
  ck_assert_ptr_null(asr_colorant_std("   "));
  ck_assert_ptr_null(asr_colorant_std("other"));
  ck_assert_ptr_null(asr_colorant_std("unknown"));
  ck_assert_ptr_null(asr_colorant_std("blackish")); /* not a whole word */
  ck_assert_ptr_null(asr_colorant_std("KK"));
  ck_assert_ptr_null(asr_colorant_std("\xe6\x89\xac\xe6\x85\xa3")); /* garbage CJK */
  ck_assert_ptr_null(asr_colorant_in_text("Toner K"));
  ck_assert_ptr_null(asr_colorant_in_text("Drum 5K pages"));
  ck_assert_ptr_null(asr_colorant_in_text("Waste Toner Box"));
  ck_assert_ptr_null(asr_colorant_in_text("Fusing Unit"));
  ck_assert_ptr_null(asr_colorant_in_text("Sorter")); /* "sort" (da) is a whole word only */
  ck_assert_str_eq(asr_colorant_in_text("Toner (Black)"), "black");
  ck_assert_str_eq(asr_colorant_in_text("T\xc3\xb3ner negro"), "black");
  ck_assert_str_eq(asr_colorant_in_text("Light Cyan Ink"), "light cyan");
}
END_TEST

/* Hostile text: long, without a NUL within the first bytes read, never read past. */
START_TEST(test_long_text)
{
  static char big[4096];

  memset(big, 'x', sizeof(big) - 1);
  memcpy(big + 3000, " black", 6);
  ck_assert_ptr_null(asr_colorant_std(big)); /* past what is looked at */
  memset(big, 0xC3, sizeof(big) - 1);        /* lead bytes without continuations */
  ck_assert_ptr_null(asr_colorant_std(big));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("colorant");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_every_row);
  tcase_add_test(tc, test_forms);
  tcase_add_test(tc, test_no_colour);
  tcase_add_test(tc, test_long_text);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
