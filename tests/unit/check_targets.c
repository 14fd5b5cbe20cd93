/* check_targets.c: agent/targets.c. Pure parsing: nothing here sends a packet. The
 * documentation blocks 192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32 and loopback and ULA
 * (fd00::/8) addresses are only parsed. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/targets.h"
#include "tests/unit/testutil.h"

static asr_targets t;
static char err[512];

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

static asr_result excl(const char *spec)
{
  return asr_targets_exclude(&t, spec, err, sizeof(err));
}

static asr_result finish(int force)
{
  return asr_targets_finish(&t, force, err, sizeof(err));
}

/* Finishes and copies the IPv4 addresses to scan into out (at most max); their count. */
static size_t expand4(uint32_t *out, size_t max)
{
  asr_targets_iter it;
  asr_addr a;
  size_t n = 0;

  ck_assert_int_eq(finish(0), ASR_OK);
  asr_targets_iter_init(&it);
  while (asr_targets_next(&t, &it, &a)) {
    ck_assert_uint_eq(a.family, ASR_AF_INET);
    if (n < max)
      out[n] = asr_addr_v4_value(&a);
    n++;
  }
  ck_assert_uint_eq(n, asr_targets_count(&t));
  return n;
}

/* Expects spec refused with code and exactly the message want, the list unchanged. */
static void refused(const char *spec, asr_result code, const char *want)
{
  size_t before = t.n_inc;

  ck_assert_int_eq(add(spec, 0), code);
  ck_assert_str_eq(err, want);
  ck_assert_uint_eq(t.n_inc, before);
}

START_TEST(test_single)
{
  uint32_t a[8];

  ck_assert_int_eq(add("192.0.2.7", 0), ASR_OK);
  ck_assert_int_eq(add("0.0.0.0", 0), ASR_OK);
  ck_assert_int_eq(add("255.255.255.255", 0), ASR_OK);
  ck_assert_int_eq(add("255.255.255.255", 0), ASR_OK); /* a duplicate of the all-ones address */
  ck_assert_uint_eq(expand4(a, 8), 3);
  ck_assert_uint_eq(a[0], 0); /* ascending */
  ck_assert_uint_eq(a[1], ip(192, 0, 2, 7));
  ck_assert_uint_eq(a[2], UINT32_MAX);
}
END_TEST

START_TEST(test_cidr)
{
  uint32_t a[256];

  ck_assert_int_eq(add("192.0.2.0/24", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 256), 254);
  ck_assert_uint_eq(a[0], ip(192, 0, 2, 1));
  ck_assert_uint_eq(a[253], ip(192, 0, 2, 254));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.77/30", 0), ASR_OK); /* host bits set: its network */
  ck_assert_uint_eq(expand4(a, 256), 2);
  ck_assert_uint_eq(a[0], ip(192, 0, 2, 77));
  ck_assert_uint_eq(a[1], ip(192, 0, 2, 78));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.6/31", 0), ASR_OK); /* /31 keeps both */
  ck_assert_uint_eq(expand4(a, 256), 2);
  ck_assert_uint_eq(a[0], ip(192, 0, 2, 6));
  ck_assert_uint_eq(a[1], ip(192, 0, 2, 7));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.1.2.3/32", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 256), 1);
  ck_assert_uint_eq(a[0], ip(127, 1, 2, 3));
}
END_TEST

START_TEST(test_ranges)
{
  uint32_t a[64];

  ck_assert_int_eq(add("192.0.2.10-192.0.2.60", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 64), 51);
  ck_assert_uint_eq(a[0], ip(192, 0, 2, 10));
  ck_assert_uint_eq(a[50], ip(192, 0, 2, 60));
  asr_targets_free(&t);
  ck_assert_int_eq(add("192.0.2.10-60", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 64), 51);
  ck_assert_uint_eq(a[50], ip(192, 0, 2, 60));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.0.0.250-127.0.1.5", 0), ASR_OK); /* across an octet */
  ck_assert_uint_eq(expand4(a, 64), 12);
  ck_assert_uint_eq(a[11], ip(127, 0, 1, 5));
  asr_targets_free(&t);
  ck_assert_int_eq(add("127.0.0.9-9", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 64), 1);
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

START_TEST(test_ipv6)
{
  asr_targets_iter it;
  asr_addr a;
  char buf[ASR_ADDR_STRLEN];
  size_t n = 0;

  ck_assert_int_eq(add("fd00::1:0/120", 0), ASR_OK); /* every address: no broadcast */
  ck_assert_int_eq(add("2001:db8::10-2001:db8::1f", 0), ASR_OK);
  ck_assert_int_eq(add("::1", 0), ASR_OK);
  ck_assert_int_eq(add("127.0.0.1", 0), ASR_OK);
  ck_assert_int_eq(finish(0), ASR_OK);
  ck_assert_uint_eq(asr_targets_count(&t), 256 + 16 + 1 + 1);
  asr_targets_iter_init(&it);
  while (asr_targets_next(&t, &it, &a)) {
    asr_addr_format(&a, buf, sizeof(buf));
    if (n == 0)
      ck_assert_str_eq(buf, "127.0.0.1"); /* IPv4 first */
    if (n == 1)
      ck_assert_str_eq(buf, "::1");
    if (n == 2)
      ck_assert_str_eq(buf, "2001:db8::10");
    if (n == 18)
      ck_assert_str_eq(buf, "fd00::1:0");
    if (n == 273)
      ck_assert_str_eq(buf, "fd00::1:ff");
    n++;
  }
  ck_assert_uint_eq(n, 274);
  refused("fd00::/119", ASR_ERR_TOO_LARGE,
          "fd00::/119: wider than an IPv6 /120: a scan takes at most 256 IPv6 addresses a target");
  refused("fd00::/64", ASR_ERR_TOO_LARGE,
          "fd00::/64: wider than an IPv6 /120: a scan takes at most 256 IPv6 addresses a target");
  refused("fd00::1-fd00::1:0", ASR_ERR_TOO_LARGE,
          "fd00::1-fd00::1:0: wider than an IPv6 /120: a scan takes at most 256 IPv6 addresses "
          "a target");
  refused("fd00::5-fd00::1", ASR_ERR_TARGET, "fd00::5-fd00::1: position 9: range end before start");
  refused("fd00::1/129", ASR_ERR_TARGET,
          "fd00::1/129: position 9: prefix length out of range (0-128)");
  refused("fe80::1%eth0", ASR_ERR_TARGET,
          "fe80::1%eth0: position 8: IPv6 zone index (%...) not supported");
  refused("[::1]", ASR_ERR_TARGET, "[::1]: position 1: write IPv6 addresses without brackets");
  refused("fd00::g", ASR_ERR_TARGET, "fd00::g: position 7: unexpected character after the target");
  refused("1:2:3:4:5:6:7:8:9", ASR_ERR_TARGET,
          "1:2:3:4:5:6:7:8:9: position 17: too many groups (at most 8)");
  refused("fd00::1/120x", ASR_ERR_TARGET,
          "fd00::1/120x: position 12: unexpected character after the target");
}
END_TEST

START_TEST(test_size_limits)
{
  uint32_t a[2];

  ck_assert_int_eq(add("10.0.0.0/15", 0), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err, "--force"));
  ck_assert_ptr_nonnull(strstr(err, "10.0.0.0/15"));
  ck_assert_uint_eq(t.n_inc, 0);
  ck_assert_int_eq(add("10.0.0.0/16", 0), ASR_OK);
  ck_assert_int_eq(add("10.0.0.0/16", 0), ASR_OK); /* all duplicates: nothing new */
  ck_assert_uint_eq(expand4(a, 1), 65534);
  ck_assert_uint_eq(a[0], ip(10, 0, 0, 1));
  ck_assert_int_eq(add("10.0.0.0", 0), ASR_OK); /* 65536 in all: still allowed */
  ck_assert_int_eq(add("10.0.255.255", 0), ASR_OK);
  ck_assert_int_eq(finish(0), ASR_OK);
  ck_assert_uint_eq(asr_targets_count(&t), 65536);
  ck_assert_int_eq(add("10.1.0.0", 0), ASR_OK); /* 65537 in all */
  ck_assert_int_eq(finish(0), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(err,
                   "65537 addresses in all targets: more than 65536; use --force to scan them");
  ck_assert_int_eq(excl("10.0.7.0/24"), ASR_OK); /* an exclusion brings it under */
  ck_assert_int_eq(finish(0), ASR_OK);
  ck_assert_uint_eq(asr_targets_count(&t), 65537 - 256);
  ck_assert_int_eq(add("10.2.0.0/15", 1), ASR_OK);
  ck_assert_int_eq(finish(1), ASR_OK);
  ck_assert_uint_eq(asr_targets_count(&t), 65537 - 256 + 131070);
  ck_assert_int_eq(add("0.0.0.0/0", 1), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err, "even with --force"));
  ck_assert_int_eq(add("10.16.0.0/12", 1), ASR_OK);
  ck_assert_int_eq(finish(1), ASR_ERR_TOO_LARGE);
  ck_assert_ptr_nonnull(strstr(err, "even with --force"));
}
END_TEST

START_TEST(test_dedup)
{
  uint32_t a[16];

  ck_assert_int_eq(add("192.0.2.5", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.1-8", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.0/29", 0), ASR_OK);
  ck_assert_int_eq(add("192.0.2.3", 0), ASR_OK);
  ck_assert_uint_eq(expand4(a, 16), 8);
  for (size_t i = 0; i < 8; i++)
    ck_assert_uint_eq(a[i], ip(192, 0, 2, 1 + i));
}
END_TEST

START_TEST(test_exclude)
{
  uint32_t a[256];
  asr_addr x;

  ck_assert_int_eq(excl("192.0.2.100"), ASR_OK); /* before or after: the same */
  ck_assert_int_eq(add("192.0.2.0/24", 0), ASR_OK);
  ck_assert_int_eq(excl("192.0.2.10-20"), ASR_OK);
  ck_assert_int_eq(excl("192.0.2.250/31"), ASR_OK);
  ck_assert_int_eq(excl("192.0.2.0/30"), ASR_OK);    /* excluded whole: .0 to .3 */
  ck_assert_int_eq(excl("198.51.100.0/24"), ASR_OK); /* nothing of it is scanned */
  ck_assert_int_eq(excl("fd00::/8"), ASR_OK);        /* exclusions take any size */
  ck_assert_int_eq(excl("10.0.0.0/8"), ASR_OK);
  ck_assert_uint_eq(expand4(a, 256), 254 - 11 - 1 - 2 - 3);
  ck_assert_uint_eq(a[0], ip(192, 0, 2, 4));
  ck_assert_uint_eq(a[5], ip(192, 0, 2, 9));
  ck_assert_uint_eq(a[6], ip(192, 0, 2, 21));
  for (size_t i = 0; i < asr_targets_count(&t); i++) {
    ck_assert_uint_ne(a[i], ip(192, 0, 2, 100));
    ck_assert_uint_ne(a[i], ip(192, 0, 2, 250));
    ck_assert_uint_ne(a[i], ip(192, 0, 2, 251));
  }
  x = asr_addr_v4(ip(192, 0, 2, 15));
  ck_assert(!asr_targets_contains(&t, &x));
  x = asr_addr_v4(ip(192, 0, 2, 21));
  ck_assert(asr_targets_contains(&t, &x));
  /* everything excluded: nothing to scan */
  ck_assert_int_eq(excl("192.0.2.0/24"), ASR_OK);
  ck_assert_uint_eq(expand4(a, 256), 0);
  /* exclusions are parsed like targets */
  ck_assert_int_eq(excl("192.0.2.300"), ASR_ERR_TARGET);
  ck_assert_str_eq(err, "192.0.2.300: position 9: octet out of range (0-255)");
}
END_TEST

START_TEST(test_file)
{
  FILE *f = tu_tmpfile();
  uint32_t a[16];

  ck_assert_ptr_nonnull(f);
  fputs("# printers of the first floor\n"
        "192.0.2.1, 192.0.2.2\t192.0.2.3 # the last one\r\n"
        "\n"
        "   192.0.2.10-12,\n"
        "192.0.2.20#not a comment\n",
        f);
  rewind(f);
  ck_assert_int_eq(asr_targets_add_file(&t, "list.txt", f, 0, err, sizeof(err)), ASR_ERR_TARGET);
  ck_assert_str_eq(err, "list.txt:5: 192.0.2.20#not: position 11: unexpected character after the "
                        "target");
  fclose(f);
  asr_targets_free(&t);
  f = tu_tmpfile();
  fputs("192.0.2.1, 192.0.2.2\t192.0.2.3 # the last one\n192.0.2.10-12,\n192.0.2.3", f);
  rewind(f);
  ck_assert_int_eq(asr_targets_add_file(&t, "list.txt", f, 0, err, sizeof(err)), ASR_OK);
  fclose(f);
  ck_assert_uint_eq(expand4(a, 16), 6);
  ck_assert_uint_eq(a[3], ip(192, 0, 2, 10));
  /* binary junk and long lines are refused with the line */
  asr_targets_free(&t);
  f = tu_tmpfile();
  fputs("192.0.2.1\n192.0.2.2\001\n", f);
  rewind(f);
  ck_assert_int_eq(asr_targets_add_file(&t, "-", f, 0, err, sizeof(err)), ASR_ERR_PARSE);
  ck_assert_str_eq(err, "-:2: control character or NUL byte (is this a text file?)");
  fclose(f);
  f = tu_tmpfile();
  for (int i = 0; i < 5000; i++)
    fputc('1', f);
  rewind(f);
  ck_assert_int_eq(asr_targets_add_file(&t, "big", f, 0, err, sizeof(err)), ASR_ERR_PARSE);
  ck_assert_str_eq(err, "big:1: line longer than 4096 characters");
  fclose(f);
}
END_TEST

/* A file repeating the same targets keeps the list small; a forced /12 is one range. */
START_TEST(test_memory_bounded)
{
  FILE *f = tu_tmpfile();
  asr_targets_iter it;
  asr_addr a;
  uint64_t n = 0;

  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 100000; i++)
    fprintf(f, "10.%d.%d.0/24\n", (i / 256) % 4, i % 256);
  rewind(f);
  ck_assert_int_eq(asr_targets_add_file(&t, "rep", f, 0, err, sizeof(err)), ASR_OK);
  fclose(f);
  ck_assert_uint_lt(t.cap_inc, 8192);
  ck_assert_int_eq(finish(1), ASR_OK);
  ck_assert_uint_eq(asr_targets_count(&t), 4 * 256 * 254);
  asr_targets_free(&t);
  ck_assert_int_eq(add("10.16.0.0/12", 1), ASR_OK);
  ck_assert_int_eq(finish(1), ASR_OK);
  ck_assert_uint_eq(t.n_scan, 1);
  asr_targets_iter_init(&it);
  while (asr_targets_next(&t, &it, &a))
    n++;
  ck_assert_uint_eq(n, 1048574);
}
END_TEST

START_TEST(test_communities)
{
  const asr_target_communities *c;
  asr_addr a;

  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.0/24", "alpha", err, sizeof(err)),
                   ASR_OK);
  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.128/25", "gamma", err, sizeof(err)),
                   ASR_OK);
  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.0/24", "beta", err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(asr_targets_add_community(&t, "fd00::/64", "six", err, sizeof(err)), ASR_OK);
  a = asr_addr_v4(ip(192, 0, 2, 5));
  c = asr_targets_communities(&t, &a);
  ck_assert_ptr_nonnull(c);
  ck_assert_uint_eq(c->n, 2);
  ck_assert_str_eq(c->communities[0], "alpha");
  ck_assert_str_eq(c->communities[1], "beta");
  a = asr_addr_v4(ip(192, 0, 2, 200)); /* the narrower target wins */
  c = asr_targets_communities(&t, &a);
  ck_assert_str_eq(c->communities[0], "gamma");
  a = asr_addr_v4(ip(198, 51, 100, 1));
  ck_assert_ptr_null(asr_targets_communities(&t, &a));
  ck_assert_int_eq(asr_addr_parse("fd00::7", &a), ASR_OK);
  ck_assert_str_eq(asr_targets_communities(&t, &a)->communities[0], "six");
  /* refusals never show the community */
  ck_assert_int_eq(asr_targets_add_community(&t, "printer-7", "s3cret", err, sizeof(err)),
                   ASR_ERR_TARGET);
  ck_assert_ptr_nonnull(strstr(err, "not a host name"));
  ck_assert_ptr_null(strstr(err, "s3cret"));
  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.300", "s3cret", err, sizeof(err)),
                   ASR_ERR_TARGET);
  ck_assert_ptr_null(strstr(err, "s3cret"));
  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.1", "", err, sizeof(err)),
                   ASR_ERR_INVALID);
  for (int i = 0; i < 16; i++)
    ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.9", "s3cret", err, sizeof(err)),
                     ASR_OK);
  ck_assert_int_eq(asr_targets_add_community(&t, "192.0.2.9", "s3cret", err, sizeof(err)),
                   ASR_ERR_LIMIT);
  ck_assert_ptr_null(strstr(err, "s3cret"));
}
END_TEST

START_TEST(test_hostname)
{
  asr_targets_iter it;
  asr_addr a;

  ck_assert_int_eq(add("localhost", 0), ASR_OK);
  ck_assert_int_eq(add("localhost", 0), ASR_OK); /* same addresses: no duplicates */
  ck_assert_int_eq(finish(0), ASR_OK);
  ck_assert_uint_ge(asr_targets_count(&t), 1);
  asr_targets_iter_init(&it);
  ck_assert(asr_targets_next(&t, &it, &a));
  ck_assert_uint_eq(a.b[0], 127);
  /* No failing look-up here: it would ask a DNS server off this host. */
}
END_TEST

int main(void)
{
  Suite *s = suite_create("targets");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_single);
  tcase_add_test(tc, test_cidr);
  tcase_add_test(tc, test_ranges);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_ipv6);
  tcase_add_test(tc, test_size_limits);
  tcase_add_test(tc, test_dedup);
  tcase_add_test(tc, test_exclude);
  tcase_add_test(tc, test_file);
  tcase_add_test(tc, test_memory_bounded);
  tcase_add_test(tc, test_communities);
  tcase_add_test(tc, test_hostname);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
