/* check_text.c: the one UTF-8 decoder and cleaner (common/text.h), from what every output
 * promises: no malformed UTF-8, no control character, nothing that reverses or hides text. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/text.h"

START_TEST(test_decode)
{
  uint32_t cp = 0;

  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"A", 1, &cp), 1);
  ck_assert_uint_eq(cp, 'A');
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
  ck_assert_uint_eq(cp, 0xE9);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xe2\x80\xae", 3, &cp), 3);
  ck_assert_uint_eq(cp, 0x202E);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xf0\x9f\x96\xa8", 4, &cp), 4);
  ck_assert_uint_eq(cp, 0x1F5A8);
  /* not sequences: overlongs, surrogates, beyond U+10FFFF, cut, stray continuation */
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xc0\xaf", 2, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xe0\x80\xaf", 3, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xe2\x80", 2, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xe2\x80\xae", 2, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"\xff", 1, &cp), 0);
  ck_assert_uint_eq(asr_utf8_decode((const unsigned char *)"", 0, &cp), 0);
  /* a NUL ends a sequence: nothing past it is read */
  ck_assert_uint_eq(asr_utf8_seq((const unsigned char *)"\xe2\0\xae"), 0);
  ck_assert_uint_eq(asr_utf8_seq((const unsigned char *)"\xc3\xa9"), 2);
  ck_assert(asr_utf8_valid((const unsigned char *)"ok \xc3\xa9", 5));
  ck_assert(!asr_utf8_valid((const unsigned char *)"ok \xc3", 4));
}
END_TEST

START_TEST(test_encode_roundtrip)
{
  static const uint32_t cps[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFD, 0x10000, 0x10FFFF};
  unsigned char b[4];
  uint32_t back = 1;

  for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
    size_t n = asr_utf8_encode(cps[i], b);

    ck_assert_uint_eq(asr_utf8_decode(b, n, &back), n);
    ck_assert_uint_eq(back, cps[i]);
  }
}
END_TEST

START_TEST(test_unsafe_set)
{
  /* what a hostile printer could use to reverse, hide or inject */
  static const uint32_t bad[] = {0x00,   0x1B,   0x7F,   0x85,   0x9B,   0xAD,   0x61C,
                                 0x180E, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A,
                                 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2066, 0x2067,
                                 0x2068, 0x2069, 0x206F, 0xFEFF, 0xFFF9, 0xFFFB};
  /* what real text needs: letters, NBSP, ZWNJ and ZWJ (Persian, Indic, emoji), U+FFFD */
  static const uint32_t good[] = {' ',    'a',    0xA0,   0xE9,   0x5D0,  0x627,  0x200C,
                                  0x200D, 0x2013, 0x20AC, 0x9ED2, 0xFFFD, 0x1F5A8};

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(asr_text_unsafe(bad[i]), "U+%04X should be unsafe", (unsigned)bad[i]);
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    ck_assert_msg(!asr_text_unsafe(good[i]), "U+%04X should be safe", (unsigned)good[i]);
  ck_assert(asr_text_is_break('\n') && asr_text_is_break('\t') && asr_text_is_break(0x2028));
  ck_assert(!asr_text_is_break(0x202E) && !asr_text_is_break(' '));
}
END_TEST

static const struct {
  const char *in, *fffd, *qmark, *space;
} cleans[] = {
    {"plain", "plain", "plain", "plain"},
    {"caf\xc3\xa9 \xe9\xbb\x92", "caf\xc3\xa9 \xe9\xbb\x92", "caf\xc3\xa9 \xe9\xbb\x92",
     "caf\xc3\xa9 \xe9\xbb\x92"},
    /* a serial that would read "SN321" backwards on a screen */
    {"SN\xe2\x80\xae"
     "123",
     "SN\xef\xbf\xbd"
     "123",
     "SN?123", "SN 123"},
    {"\xe2\x81\xa6x\xe2\x81\xa9", "\xef\xbf\xbdx\xef\xbf\xbd", "?x?", " x "}, /* isolates */
    {"a\x1b[31mb", "a\xef\xbf\xbd[31mb", "a?[31mb", "a [31mb"},
    {"l1\r\nl2\tx", "l1  l2 x", "l1  l2 x", "l1  l2 x"}, /* breaks: spaces everywhere */
    {"\xff\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "???", "   "},
    {"\xef\xbb\xbfZ\xe2\x80\x8bW", "\xef\xbf\xbdZ\xef\xbf\xbdW", "?Z?W", " Z W"}, /* BOM, ZWSP */
};

START_TEST(test_clean)
{
  char out[64];

  ck_assert_int_eq(asr_text_clean(out, sizeof(out), cleans[_i].in, ASR_TEXT_FFFD), ASR_OK);
  ck_assert_str_eq(out, cleans[_i].fffd);
  ck_assert_int_eq(asr_text_clean(out, sizeof(out), cleans[_i].in, ASR_TEXT_QMARK), ASR_OK);
  ck_assert_str_eq(out, cleans[_i].qmark);
  ck_assert_str_eq(asr_text_tty(cleans[_i].in, out, sizeof(out)), cleans[_i].qmark);
  ck_assert_int_eq(asr_text_clean(out, sizeof(out), cleans[_i].in, ASR_TEXT_SPACE), ASR_OK);
  ck_assert_str_eq(out, cleans[_i].space);
}
END_TEST

START_TEST(test_clean_bounds)
{
  char out[6];

  /* never a character cut in half: "ab" + U+00E9 fits 5 bytes, then U+FFFD (3) does not */
  ck_assert_int_eq(asr_text_clean(out, sizeof(out), "ab\xc3\xa9\x01", ASR_TEXT_FFFD),
                   ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(out, "ab\xc3\xa9");
  ck_assert_int_eq(asr_text_clean(out, 1, "x", ASR_TEXT_FFFD), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(out, "");
  ck_assert_int_eq(asr_text_clean(out, 0, "x", ASR_TEXT_FFFD), ASR_ERR_TOO_LARGE);
  ck_assert_int_eq(asr_text_clean(out, sizeof(out), NULL, ASR_TEXT_FFFD), ASR_OK);
  ck_assert_str_eq(out, "");
  ck_assert_str_eq(asr_text_tty("abcdefgh", out, sizeof(out)), "abcde");
}
END_TEST

START_TEST(test_buffer_forms)
{
  asr_buf b = {0};
  char *s;

  asr_text_add(&b, "x\xe2\x80\xaey", ASR_TEXT_FFFD);
  asr_text_add(&b, NULL, ASR_TEXT_FFFD);
  ck_assert_int_eq(asr_buf_finish(&b, &s), ASR_OK);
  ck_assert_str_eq(s, "x\xef\xbf\xbdy");
  free(s);
  /* repair keeps every well-formed character (JSON escapes the rest) */
  asr_utf8_repair(&b, "a\x01\xe2\x80\xae\xff");
  ck_assert_int_eq(asr_buf_finish(&b, &s), ASR_OK);
  ck_assert_str_eq(s, "a\x01\xe2\x80\xae\xef\xbf\xbd");
  free(s);
}
END_TEST

static Suite *text_suite(void)
{
  Suite *s = suite_create("text");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_decode);
  tcase_add_test(tc, test_encode_roundtrip);
  tcase_add_test(tc, test_unsafe_set);
  tcase_add_loop_test(tc, test_clean, 0, sizeof(cleans) / sizeof(cleans[0]));
  tcase_add_test(tc, test_clean_bounds);
  tcase_add_test(tc, test_buffer_forms);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(text_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
