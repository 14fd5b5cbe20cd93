/* check_sign.c: request signatures (wire/sign.c), gzip (wire/gz.c) and base64 (wire/b64.c).
 * The HMAC vector was computed with openssl(1):
 *   printf 'v1\nPOST\n/v1/batches\n1795000000\n%s' "$(printf hello | sha256sum | cut -c1-64)" |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "wire/b64.h"
#include "wire/gz.h"
#include "wire/sign.h"

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HELLO_SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HELLO_SIG "v1=c836e4768827799bb67eb1826fa468c7842d1fe89a0eab408b6df3d8180d59e0"

START_TEST(test_sha256_vectors)
{
  char hex[65];

  ck_assert_int_eq(asr_sign_sha256_hex("hello", 5, hex, sizeof(hex)), ASR_OK);
  ck_assert_str_eq(hex, HELLO_SHA);
  ck_assert_int_eq(asr_sign_sha256_hex("", 0, hex, sizeof(hex)), ASR_OK);
  ck_assert_str_eq(hex, EMPTY_SHA);
  ck_assert_int_eq(asr_sign_sha256_hex("x", 1, hex, 64), ASR_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_hmac_vector)
{
  char sig[ASR_SIGN_HEADER_LEN + 1];

  ck_assert_int_eq(
      asr_sign_request(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, sig, sizeof(sig)),
      ASR_OK);
  ck_assert_str_eq(sig, HELLO_SIG);
  ck_assert_int_eq(asr_sign_request(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, sig,
                                    ASR_SIGN_HEADER_LEN),
                   ASR_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_verify_good_bad_malformed)
{
  char bad[ASR_SIGN_HEADER_LEN + 1];

  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, HELLO_SIG),
                   ASR_OK);
  /* each part of the canonical string matters */
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000001, "hello", 5, HELLO_SIG),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batchez", 1795000000, "hello", 5, HELLO_SIG),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_verify(KEY, "PUT", "/v1/batches", 1795000000, "hello", 5, HELLO_SIG),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hellO", 5, HELLO_SIG),
                   ASR_ERR_AUTH);
  /* another key */
  ck_assert_int_eq(
      asr_sign_verify("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "POST",
                      "/v1/batches", 1795000000, "hello", 5, HELLO_SIG),
      ASR_ERR_AUTH);
  /* one flipped hex digit */
  memcpy(bad, HELLO_SIG, sizeof(bad));
  bad[10] = bad[10] == '0' ? '1' : '0';
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, bad),
                   ASR_ERR_AUTH);
  /* malformed headers */
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, NULL),
                   ASR_ERR_INVALID);
  ck_assert_int_eq(
      asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, &HELLO_SIG[3]),
      ASR_ERR_INVALID);
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, "v1=abc"),
                   ASR_ERR_INVALID);
  bad[20] = 'g';
  ck_assert_int_eq(asr_sign_verify(KEY, "POST", "/v1/batches", 1795000000, "hello", 5, bad),
                   ASR_ERR_INVALID);
  /* a malformed secret */
  ck_assert_int_eq(asr_sign_verify("zz", "POST", "/v1/batches", 1795000000, "hello", 5, HELLO_SIG),
                   ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_random_hex)
{
  char a[65], b[65];

  ck_assert_int_eq(asr_sign_random_hex(a, 32), ASR_OK);
  ck_assert_int_eq(asr_sign_random_hex(b, 32), ASR_OK);
  ck_assert_uint_eq(strlen(a), 64);
  ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 64);
  ck_assert_str_ne(a, b);
  ck_assert_int_eq(asr_sign_random_hex(a, 65), ASR_ERR_INVALID);
}
END_TEST

/* RFC 4648 section 10's vectors both ways, then what is not padded base64. */
START_TEST(test_b64)
{
  static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  static const char *const bad[] = {"Zg=",    "Zg",       "Z===",     "Zm9v YmFy",
                                    "Zm9\nv", "Zg==Zg==", "Zm9v!mFy", "=Zm9"};
  char out[16], dec[16];
  size_t n;

  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
    ck_assert_uint_eq(asr_b64_len(strlen(plain[i])), strlen(enc[i]));
    ck_assert_int_eq(asr_b64_encode(plain[i], strlen(plain[i]), out, sizeof(out)), ASR_OK);
    ck_assert_str_eq(out, enc[i]);
    ck_assert_int_eq(asr_b64_decode(enc[i], dec, sizeof(dec), &n), ASR_OK);
    ck_assert_uint_eq(n, strlen(plain[i]));
    ck_assert_mem_eq(dec, plain[i], n);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(asr_b64_decode(bad[i], dec, sizeof(dec), &n) == ASR_ERR_INVALID, "%s", bad[i]);
  ck_assert_int_eq(asr_b64_encode("foobar", 6, out, 8), ASR_ERR_TOO_LARGE); /* no room for NUL */
  ck_assert_int_eq(asr_b64_decode("Zm9vYmFy", dec, 5, &n), ASR_ERR_TOO_LARGE);
  ck_assert_int_eq(asr_b64_decode("\xff\xfe\xfd\xfc", dec, sizeof(dec), &n), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_gzip_round_trip)
{
  static char text[200000];
  uint8_t *z = NULL, *back = NULL;
  size_t zlen = 0, blen = 0;

  for (size_t i = 0; i < sizeof(text); i++)
    text[i] = (char)('a' + (i * 7 + i / 13) % 26);
  ck_assert_int_eq(asr_gz_compress(text, sizeof(text), &z, &zlen), ASR_OK);
  ck_assert_uint_gt(zlen, 18);
  ck_assert_uint_lt(zlen, sizeof(text));
  ck_assert_int_eq(z[0], 0x1f); /* the gzip magic */
  ck_assert_int_eq(z[1], 0x8b);
  ck_assert_int_eq(asr_gz_decompress(z, zlen, sizeof(text), &back, &blen), ASR_OK);
  ck_assert_uint_eq(blen, sizeof(text));
  ck_assert_int_eq(memcmp(back, text, blen), 0);
  ck_assert_int_eq(back[blen], '\0');
  free(back);
  free(z);
}
END_TEST

START_TEST(test_gzip_truncated_and_garbage)
{
  uint8_t *z = NULL, *back = NULL;
  size_t zlen = 0, blen = 0;

  ck_assert_int_eq(asr_gz_compress("hello hello hello", 17, &z, &zlen), ASR_OK);
  for (size_t cut = 0; cut < zlen; cut++) {
    back = NULL;
    ck_assert_int_eq(asr_gz_decompress(z, cut, 1000, &back, &blen), ASR_ERR_PARSE);
    ck_assert_ptr_null(back);
  }
  ck_assert_int_eq(asr_gz_decompress("not gzip at all", 15, 1000, &back, &blen), ASR_ERR_PARSE);
  free(z);
}
END_TEST

START_TEST(test_gzip_bomb_bound)
{
  size_t big = 8u << 20;
  char *zeros = calloc(1, big);
  uint8_t *z = NULL, *back = NULL;
  size_t zlen = 0, blen = 0;

  ck_assert_ptr_nonnull(zeros);
  ck_assert_int_eq(asr_gz_compress(zeros, big, &z, &zlen), ASR_OK);
  ck_assert_uint_lt(zlen, 64 * 1024); /* 8 MiB of zeros in a few KB: a bomb */
  ck_assert_int_eq(asr_gz_decompress(z, zlen, 1u << 20, &back, &blen), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_null(back);
  ck_assert_int_eq(asr_gz_decompress(z, zlen, big, &back, &blen), ASR_OK); /* exactly the bound */
  ck_assert_uint_eq(blen, big);
  free(back);
  free(z);
  free(zeros);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sign");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_sha256_vectors);
  tcase_add_test(tc, test_hmac_vector);
  tcase_add_test(tc, test_verify_good_bad_malformed);
  tcase_add_test(tc, test_random_hex);
  tcase_add_test(tc, test_b64);
  tcase_add_test(tc, test_gzip_round_trip);
  tcase_add_test(tc, test_gzip_truncated_and_garbage);
  tcase_add_test(tc, test_gzip_bomb_bound);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
