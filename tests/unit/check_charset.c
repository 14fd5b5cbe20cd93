/* check_charset.c: snmp/charset.c decoding and cleaning rules (docs/supplies.md). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "snmp/charset.h"

static char out[256];

static const char *dec(const void *in, size_t len, int mib)
{
  asr_charset_decode(in, len, mib, out, sizeof(out));
  ck_assert(asr_utf8_valid((const uint8_t *)out, strlen(out)));
  return out;
}

START_TEST(test_utf8)
{
  ck_assert_str_eq(dec("Schwarz \xc3\xa9t\xc3\xa9", 14, 106), "Schwarz \xc3\xa9t\xc3\xa9");
  ck_assert_str_eq(dec("\xf0\x9f\x96\xa8 ok", 7, 106), "\xf0\x9f\x96\xa8 ok");
}
END_TEST

START_TEST(test_utf8_invalid_bytes_replaced)
{
  /* a lone continuation byte, an overlong '/', a surrogate, a truncated sequence */
  ck_assert_str_eq(dec("a\x80"
                       "b",
                       3, 106),
                   "a\xef\xbf\xbd"
                   "b");
  ck_assert_str_eq(dec("\xc0\xaf", 2, 106), "\xef\xbf\xbd\xef\xbf\xbd");
  ck_assert_str_eq(dec("\xed\xa0\x80", 3, 106), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  ck_assert_str_eq(dec("x\xe2\x82", 3, 106), "x\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(test_latin1_and_unknown)
{
  ck_assert_str_eq(dec("Gelb \xe9", 6, 4), "Gelb \xc3\xa9");
  /* unknown charset: valid UTF-8 stays, anything else is read as Latin-1 */
  ck_assert_str_eq(dec("Gelb \xc3\xa9", 7, 0), "Gelb \xc3\xa9");
  ck_assert_str_eq(dec("Gelb \xe9", 6, 0), "Gelb \xc3\xa9");
  ck_assert_str_eq(dec("\x80 Euro", 6, 2252), "\xe2\x82\xac Euro");
}
END_TEST

START_TEST(test_utf16)
{
  static const uint8_t be[] = {0, 'T', 0, 'o', 0, 0xe9};
  static const uint8_t le[] = {'T', 0, 'o', 0, 0xe9, 0};
  static const uint8_t bom_le[] = {0xff, 0xfe, 'K', 0, 0, 0};
  static const uint8_t bom_be[] = {0xfe, 0xff, 0, 'K'};
  static const uint8_t pair[] = {0xd8, 0x3d, 0xdd, 0xa8};
  static const uint8_t lone[] = {0xd8, 0x3d, 0, 'x', 0};

  ck_assert_str_eq(dec(be, sizeof(be), 1013), "To\xc3\xa9");
  ck_assert_str_eq(dec(le, sizeof(le), 1014), "To\xc3\xa9");
  ck_assert_str_eq(dec(bom_le, sizeof(bom_le), 1015), "K");
  ck_assert_str_eq(dec(bom_be, sizeof(bom_be), 1015), "K");
  ck_assert_str_eq(dec(pair, sizeof(pair), 1013), "\xf0\x9f\x96\xa8");
  /* a lone surrogate and an odd last byte become U+FFFD */
  ck_assert_str_eq(dec(lone, sizeof(lone), 1013), "\xef\xbf\xbdx\xef\xbf\xbd");
}
END_TEST

START_TEST(test_nul_and_controls)
{
  ck_assert_str_eq(dec("Black Cartridge\0\0\0", 18, 0), "Black Cartridge");
  ck_assert_str_eq(dec("Black\0Cartridge", 15, 0), "Black Cartridge");
  ck_assert_str_eq(dec("Fuser\r\nKit\t HP", 14, 106), "Fuser Kit HP");
  ck_assert_str_eq(dec("  pad  ", 7, 4), "pad");
  ck_assert_str_eq(dec("a\x01\x1b[2Jb\x7f", 8, 106), "a[2Jb");
  ck_assert_str_eq(dec("\x01\x15VNC48", 7, 0), "VNC48");
  ck_assert_str_eq(dec("", 0, 106), "");
}
END_TEST

START_TEST(test_truncation_on_boundary)
{
  char small[6];
  size_t n;

  /* "ab" + e-acute (2 bytes) + e-acute: only 5 bytes fit, the second one does not */
  n = asr_charset_decode((const uint8_t *)"ab\xc3\xa9\xc3\xa9", 6, 106, small, sizeof(small));
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(small, "ab\xc3\xa9");
  n = asr_charset_decode((const uint8_t *)"abcdefgh", 8, 106, small, 1);
  ck_assert_uint_eq(n, 0);
  ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_64k_garbage)
{
  size_t len = 65536, n;
  uint8_t *big = malloc(len);

  ck_assert_ptr_nonnull(big);
  for (size_t i = 0; i < len; i++)
    big[i] = (uint8_t)(i * 7 + 3);
  for (int mib = 0; mib < 3; mib++) {
    static const int mibs[] = {106, 1015, 0};

    n = asr_charset_decode(big, len, mibs[mib], out, sizeof(out));
    ck_assert_uint_le(n, 255);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert(asr_utf8_valid((const uint8_t *)out, n));
  }
  free(big);
}
END_TEST

START_TEST(test_utf8_valid)
{
  ck_assert(asr_utf8_valid((const uint8_t *)"ok \xc3\xa9", 5));
  ck_assert(!asr_utf8_valid((const uint8_t *)"\xff", 1));
  ck_assert(!asr_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}
END_TEST

static const char *name(const void *in, size_t len)
{
  asr_charset_decode_name(in, len, out, sizeof(out));
  ck_assert(asr_utf8_valid((const uint8_t *)out, strlen(out)));
  return out;
}

/* Names the MIB defines in ASCII: read as such, or as UTF-16 when they clearly are. */
START_TEST(test_decode_name)
{
  ck_assert_str_eq(name("black", 5), "black");
  ck_assert_str_eq(name("black\0", 6), "black");          /* NUL padding */
  ck_assert_str_eq(name("b\0l\0a\0c\0k\0", 10), "black"); /* UTF-16LE */
  ck_assert_str_eq(name("\0b\0l\0a\0c\0k", 10), "black"); /* UTF-16BE */
  ck_assert_str_eq(name("\xff\xfe"
                        "c\0y\0a\0n\0",
                        10),
                   "cyan");                                   /* LE with its mark */
  ck_assert_str_eq(name("\xfe\xff\0g\0e\0l\0b", 10), "gelb"); /* BE with its mark */
  ck_assert_str_eq(name("\xfe\xff\x30\xd6\x30\xe9", 6), "\xe3\x83\x96\xe3\x83\xa9");
  ck_assert_str_eq(name("noir", 4), "noir"); /* even length, no NUL: not UTF-16 */
  ck_assert_str_eq(name("n\xc3\xa9ro", 6), "n\xc3\xa9ro");
  ck_assert_str_eq(name("\0\0", 2), "");
  ck_assert_str_eq(name("", 0), "");
  ck_assert_str_eq(name(NULL, 4), "");
}
END_TEST

int main(void)
{
  Suite *s = suite_create("charset");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_utf8);
  tcase_add_test(tc, test_utf8_invalid_bytes_replaced);
  tcase_add_test(tc, test_latin1_and_unknown);
  tcase_add_test(tc, test_utf16);
  tcase_add_test(tc, test_nul_and_controls);
  tcase_add_test(tc, test_truncation_on_boundary);
  tcase_add_test(tc, test_64k_garbage);
  tcase_add_test(tc, test_utf8_valid);
  tcase_add_test(tc, test_decode_name);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
