/* check_targets.c: conf/targets.c. Pure parsing: nothing here sends a packet. The
 * documentation block 192.0.2.0/24 and 127.x addresses are only parsed. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/targets.h"

static asr_targets t;
static char err[256];

static void setup(void)
{
  memset(&t, 0, sizeof(t));
  err[0] = '\0';
}

static void teardown(void)
{
  asr_targets_free(&t);
}

static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
  return (a << 24) | (b << 16) | (c << 8) | d;
}

static asr_result add(const char *spec, int force)
{
  return asr_targets_add(&t, spec, force, err, sizeof(err));
}

/* Expects spec refused with code and exactly the message want. */
static void refused(const char *spec, asr_result code, const char *want)
{
  size_t before = t.n;

  ck_assert_int_eq(add(spec, 0), code);
  ck_assert_str_eq(err, want);
  ck_assert_uint_eq(t.n, before);
}

START_TEST(test_single)
{
  ck_assert_int_eq(add("192.0.2.7", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 1);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 7));
  ck_assert_int_eq(add("0.0.0.0", 0), ASR_OK);
  ck_assert_int_eq(add("255.255.255.255", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 3);
  ck_assert_uint_eq(t.addrs[1], 0);
  ck_assert_uint_eq(t.addrs[2], UINT32_MAX);
  ck_assert_int_eq(add("255.255.255.255", 0), ASR_OK); /* duplicate of the all-ones address */
  ck_assert_uint_eq(t.n, 3);
}
END_TEST

START_TEST(test_cidr)
{
  ck_assert_int_eq(add("192.0.2.0/24", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 254);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 1));
  ck_assert_uint_eq(t.addrs[253], ip(192, 0, 2, 254));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.77/30", 0), ASR_OK); /* host bits set: its network */
  ck_assert_uint_eq(t.n, 2);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 77));
  ck_assert_uint_eq(t.addrs[1], ip(192, 0, 2, 78));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.6/31", 0), ASR_OK); /* /31 keeps both */
  ck_assert_uint_eq(t.n, 2);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 6));
  ck_assert_uint_eq(t.addrs[1], ip(192, 0, 2, 7));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.1.2.3/32", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 1);
  ck_assert_uint_eq(t.addrs[0], ip(127, 1, 2, 3));
}
END_TEST

START_TEST(test_ranges)
{
  ck_assert_int_eq(add("192.0.2.10-192.0.2.60", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 51);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 10));
  ck_assert_uint_eq(t.addrs[50], ip(192, 0, 2, 60));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.10-60", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 51);
  ck_assert_uint_eq(t.addrs[50], ip(192, 0, 2, 60));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.0.0.250-127.0.1.5", 0), ASR_OK); /* across an octet */
  ck_assert_uint_eq(t.n, 12);
  ck_assert_uint_eq(t.addrs[11], ip(127, 0, 1, 5));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.0.0.9-9", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 1);
}
END_TEST

START_TEST(test_errors)
{
  refused("10.1.2.300", ASR_ERR_TARGET, "10.1.2.300: position 8: octet out of range (0-255)");
  refused("10.1.2.0/33", ASR_ERR_TARGET,
          "10.1.2.0/33: position 10: prefix length out of range (0-32)");
  refused("10.1.2.60-10", ASR_ERR_TARGET, "10.1.2.60-10: position 11: range end before start");
  refused("10.1.2.60-10.1.2.59", ASR_ERR_TARGET,
          "10.1.2.60-10.1.2.59: position 11: range end before start");
  refused("10.1.2.60-256", ASR_ERR_TARGET,
          "10.1.2.60-256: position 11: range end out of range (0-255)");
  refused("", ASR_ERR_TARGET, ": position 1: empty target");
  refused("10.1.2.3x", ASR_ERR_TARGET,
          "10.1.2.3x: position 9: unexpected character after the target");
  refused("10.1.2.3 ", ASR_ERR_TARGET,
          "10.1.2.3 : position 9: unexpected character after the target");
  refused("10.1.2", ASR_ERR_TARGET, "10.1.2: position 7: incomplete address (want a.b.c.d)");
  refused("10.1..2", ASR_ERR_TARGET, "10.1..2: position 6: expected a decimal number");
  refused("10.010.2.3", ASR_ERR_TARGET,
          "10.010.2.3: position 4: leading zero (octal?) not accepted");
  refused("10.1.2.0/", ASR_ERR_TARGET, "10.1.2.0/: position 10: expected a decimal number");
  refused("10.1.2.0/24/8", ASR_ERR_TARGET,
          "10.1.2.0/24/8: position 12: unexpected character after the target");
  refused("10.1.2.3-", ASR_ERR_TARGET, "10.1.2.3-: position 10: expected a decimal number");
  refused("1000", ASR_ERR_TARGET, "1000: position 1: octet out of range (0-255)");
  refused("10/8", ASR_ERR_TARGET, "10/8: position 3: expected '.'");
  refused("10.1.2.99999999999999999999", ASR_ERR_TARGET,
          "10.1.2.99999999999999999999: position 8: octet out of range (0-255)");
  refused("printer;rm", ASR_ERR_TARGET,
          "printer;rm: position 8: character not allowed in a host name");
}
END_TEST

START_TEST(test_leading_zero_alone_ok)
{
  ck_assert_int_eq(add("10.0.0.0/8", 1), ASR_ERR_TOO_LARGE); /* /8 is over even the forced cap */
  ck_assert_int_eq(add("127.0.0.0-127.0.0.0", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 1);
  ck_assert_uint_eq(t.addrs[0], ip(127, 0, 0, 0));
}
END_TEST

START_TEST(test_size_limits)
{
  ck_assert_int_eq(add("10.0.0.0/15", 0), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err, "--force"));
  ck_assert_uint_eq(t.n, 0);
  ck_assert_int_eq(add("10.0.0.0/16", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 65534);
  ck_assert_uint_eq(t.addrs[0], ip(10, 0, 0, 1));
  ck_assert_uint_eq(t.addrs[65533], ip(10, 0, 255, 254));
  ck_assert_int_eq(add("10.0.0.0/16", 0), ASR_OK); /* all duplicates: nothing new */
  ck_assert_uint_eq(t.n, 65534);
  ck_assert_int_eq(add("10.0.0.0", 0), ASR_OK); /* 65535 in all: still allowed */
  ck_assert_int_eq(add("10.0.255.255", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 65536);
  ck_assert_int_eq(add("10.1.0.0", 0), ASR_ERR_TOO_LARGE); /* 65537 in all */
  ck_assert_ptr_nonnull(strstr(err, "use --force"));
  ck_assert_uint_eq(t.n, 65536);
  ck_assert_int_eq(add("10.1.0.0", 1), ASR_OK);
  ck_assert_int_eq(add("10.2.0.0/15", 1), ASR_OK);
  ck_assert_uint_eq(t.n, 65537 + 131070);
  ck_assert_int_eq(add("0.0.0.0/0", 1), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err, "even with --force"));
}
END_TEST

START_TEST(test_dedup_keeps_order)
{
  ck_assert_int_eq(add("192.0.2.5", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.1-8", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.0/29", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.3", 0), ASR_OK);
  ck_assert_uint_eq(t.n, 8);
  ck_assert_uint_eq(t.addrs[0], ip(192, 0, 2, 5));
  ck_assert_uint_eq(t.addrs[1], ip(192, 0, 2, 1));
  ck_assert_uint_eq(t.addrs[4], ip(192, 0, 2, 4));
  ck_assert_uint_eq(t.addrs[5], ip(192, 0, 2, 6));
  ck_assert_uint_eq(t.addrs[7], ip(192, 0, 2, 8));
  for (size_t i = 0; i < t.n; i++) {
    for (size_t j = i + 1; j < t.n; j++)
      ck_assert_uint_ne(t.addrs[i], t.addrs[j]);
  }
}
END_TEST

START_TEST(test_hostname)
{
  ck_assert_int_eq(add("localhost", 0), ASR_OK);
  ck_assert_uint_ge(t.n, 1);
  ck_assert_uint_eq(t.addrs[0] >> 24, 127);
  ck_assert_int_eq(add("localhost", 0), ASR_OK); /* same addresses: no duplicates */
  ck_assert_uint_eq(t.n, 1);
  /* No failing look-up here: it would ask a DNS server off this host. */
}
END_TEST

START_TEST(test_format)
{
  char buf[16];

  asr_targets_format(ip(192, 0, 2, 254), buf, sizeof(buf));
  ck_assert_str_eq(buf, "192.0.2.254");
  asr_targets_format(UINT32_MAX, buf, sizeof(buf));
  ck_assert_str_eq(buf, "255.255.255.255");
  asr_targets_format(0, buf, sizeof(buf));
  ck_assert_str_eq(buf, "0.0.0.0");
}
END_TEST

int main(void)
{
  Suite *s = suite_create("targets");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_single);
  tcase_add_test(tc, test_cidr);
  tcase_add_test(tc, test_ranges);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_leading_zero_alone_ok);
  tcase_add_test(tc, test_size_limits);
  tcase_add_test(tc, test_dedup_keeps_order);
  tcase_add_test(tc, test_hostname);
  tcase_add_test(tc, test_format);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
