/* check_recording.c: snmp/recording.c on our own fixtures (tests/recordings/unit) and on
 * inline texts: every value form of both formats, multi-line values, errors with their
 * line numbers, bounds, and garbage that must never crash. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp/recording.h"
#include "tests/unit/testutil.h"

#define FIXTURE(name) TEST_SRCDIR "/recordings/unit/" name

static asr_vbset *set;
static char err[256];

static void teardown(void)
{
  asr_vbset_free(set);
  set = NULL;
}

/* Parses text (of len bytes) through a stream. */
static asr_result parse_n(const char *text, size_t len)
{
  FILE *f = tu_stream_from(text, len);
  asr_result r;

  ck_assert_ptr_nonnull(f);
  asr_vbset_free(set);
  set = NULL;
  err[0] = '\0';
  r = asr_recording_read(f, &set, err, sizeof(err));
  fclose(f);
  if (r)
    ck_assert_ptr_null(set);
  return r;
}

static asr_result parse(const char *text)
{
  return parse_n(text, strlen(text));
}

static const asr_vb *get(const char *oid)
{
  uint32_t o[ASR_OID_MAX];
  size_t n;

  ck_assert_int_eq(asr_oid_parse(oid, o, ASR_OID_MAX, &n), ASR_OK);
  return asr_vbset_get(set, o, n);
}

/* The varbind at oid, checked to exist with this type. */
static const asr_vb *need(const char *oid, asr_vb_type type)
{
  const asr_vb *vb = get(oid);

  ck_assert_msg(vb != NULL, "no varbind %s", oid);
  ck_assert_int_eq(vb->type, type);
  return vb;
}

static void need_str(const char *oid, const char *want)
{
  const asr_vb *vb = need(oid, ASR_VB_OCTETS);

  ck_assert_uint_eq(vb->len, strlen(want));
  ck_assert_mem_eq(vb->bytes, want, vb->len);
}

static void need_num(const char *oid, asr_vb_type type, int64_t want)
{
  const asr_vb *vb = need(oid, type);

  ck_assert_int_eq(vb->num, want);
}

/* Expects a parse failure with code and an err starting with prefix. */
static void need_fail(const char *text, asr_result code, const char *prefix)
{
  asr_result r = parse(text);

  ck_assert_int_eq(r, code);
  ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "err \"%s\" does not start with \"%s\"",
                err, prefix);
}

START_TEST(test_walk_fixture)
{
  const asr_vb *vb;
  static const uint8_t mac[] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

  ck_assert_int_eq(asr_recording_load(FIXTURE("forms.walk"), &set, err, sizeof(err)), ASR_OK);
  ck_assert_uint_eq(asr_vbset_count(set), 23);
  need_str("1.3.6.1.2.1.1.1.0", "Example Laser 9000 \"Pro\" \\ edition");
  vb = need("1.3.6.1.2.1.1.2.0", ASR_VB_OID);
  ck_assert_uint_eq(vb->oidval_len, 9);
  ck_assert_uint_eq(vb->oidval[6], 99999);
  ck_assert_uint_eq(vb->oidval[8], 2);
  need_num("1.3.6.1.2.1.1.3.0", ASR_VB_UNSIGNED, 4280423);
  need_str("1.3.6.1.2.1.1.4.0", "unquoted contact text");
  need_str("1.3.6.1.2.1.1.5.0", "");
  need_str("1.3.6.1.2.1.1.6.0", "first line\nsecond line\n\n# not a comment: inside the quotes\n"
                                "last line");
  vb = need("1.3.6.1.2.1.2.2.1.6.1", ASR_VB_OCTETS);
  ck_assert_uint_eq(vb->len, 6);
  ck_assert_mem_eq(vb->bytes, mac, 6);
  need_str("1.3.6.1.2.1.2.2.1.6.2", "ABCDEFGHIJKLMNOPQR"); /* wrapped over two lines */
  need_num("1.3.6.1.2.1.25.3.5.1.1.1", ASR_VB_INTEGER, 3);
  vb = need("1.3.6.1.2.1.25.3.5.1.2.1", ASR_VB_OCTETS);
  ck_assert_uint_eq(vb->len, 2);
  ck_assert_mem_eq(vb->bytes, "\x80\x00", 2);
  need_num("1.3.6.1.2.1.43.11.1.1.8.1.1", ASR_VB_INTEGER, -2);
  need_num("1.3.6.1.2.1.43.11.1.1.9.1.1", ASR_VB_INTEGER, 45);
  need_num("1.3.6.1.2.1.2.2.1.10.1", ASR_VB_UNSIGNED, 4294967295LL);
  need_num("1.3.6.1.2.1.2.2.1.5.1", ASR_VB_UNSIGNED, 100000000);
  need_num("1.3.6.1.2.1.31.1.1.1.6.1", ASR_VB_COUNTER64, INT64_MAX);
  vb = need("1.3.6.1.2.1.4.20.1.1.127.0.0.1", ASR_VB_IPADDR);
  ck_assert_uint_eq(vb->len, 4);
  ck_assert_mem_eq(vb->bytes, "\x7f\x00\x00\x01", 4);
  vb = need("1.3.6.1.2.1.4.20.1.9.1", ASR_VB_IPADDR);
  ck_assert_mem_eq(vb->bytes, "\x7f\x00\x00\x02", 4);
  ck_assert_uint_eq(need("1.3.6.1.4.1.99999.2.0", ASR_VB_OCTETS)->len, 7);
  need("1.3.6.1.4.1.99999.3.0", ASR_VB_NULL);
  ck_assert_ptr_null(get("1.3.6.1.4.1.99999.4.0")); /* NONE counts as absent */
  ck_assert_ptr_null(get("1.3.6.1.4.1.99999.5.0"));
  ck_assert_ptr_null(get("1.3.6.1.4.1.99999.7.0"));
  need_str("1.3.6.1.4.1.99999.6.0", "seven");
}
END_TEST

START_TEST(test_snmprec_fixture)
{
  const asr_vb *vb;

  ck_assert_int_eq(asr_recording_load(FIXTURE("forms.snmprec"), &set, err, sizeof(err)), ASR_OK);
  ck_assert_uint_eq(asr_vbset_count(set), 19);
  need_str("1.3.6.1.2.1.1.5.0", "printer-7 | with bar");
  need_str("1.3.6.1.2.1.1.1.0", "Example\nLaser");
  vb = need("1.3.6.1.2.1.1.2.0", ASR_VB_OID);
  ck_assert_uint_eq(vb->oidval_len, 8);
  need_num("1.3.6.1.2.1.1.3.0", ASR_VB_UNSIGNED, 12345);
  need_num("1.3.6.1.2.1.1.7.0", ASR_VB_INTEGER, -72);
  need_num("1.3.6.1.2.1.2.2.1.10.1", ASR_VB_UNSIGNED, 4294967295LL);
  need_num("1.3.6.1.2.1.2.2.1.5.1", ASR_VB_UNSIGNED, 10);
  need_num("1.3.6.1.2.1.31.1.1.1.6.1", ASR_VB_COUNTER64, INT64_MAX);
  vb = need("1.3.6.1.2.1.4.20.1.1.127.0.0.1", ASR_VB_IPADDR);
  ck_assert_mem_eq(vb->bytes, "\x7f\x00\x00\x01", 4);
  vb = need("1.3.6.1.2.1.4.20.1.2.1", ASR_VB_IPADDR);
  ck_assert_mem_eq(vb->bytes, "\x7f\x00\x00\x03", 4);
  need_str("1.3.6.1.4.1.99999.2.0", "\x9f\x78");
  need("1.3.6.1.4.1.99999.3.0", ASR_VB_NULL);
  need_str("1.3.6.1.4.1.99999.4.0", "tab\there\x41\\");
  need_num("1.3.6.1.2.1.43.10.2.1.4.1.1", ASR_VB_UNSIGNED, 5123); /* numeric: initial= */
  need_num("1.3.6.1.2.1.43.11.1.1.9.1.1", ASR_VB_INTEGER, -2);
  need_str("1.3.6.1.4.1.99999.8.0", "cached"); /* writecache: value= */
  need_str("1.3.6.1.4.1.99999.9.0", "some-table");
  ck_assert_ptr_null(get("1.3.6.1.4.1.99999.10.0")); /* no static value: skipped */
  ck_assert_ptr_null(get("1.3.6.1.4.1.99999.11.0")); /* noSuchObject */
  need_str("1.3.6.1.2.1.1.4.0", "");
}
END_TEST

START_TEST(test_missing_file)
{
  const char *path = FIXTURE("does-not-exist.snmprec");

  ck_assert_int_eq(asr_recording_load(path, &set, err, sizeof(err)), ASR_ERR_IO);
  ck_assert_ptr_null(set);
  ck_assert_ptr_nonnull(strstr(err, path));
  ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

/* A file that does not parse: the message names the file once, then the line. */
START_TEST(test_parse_error_names_file)
{
  char dir[200], path[300], *first;

  tu_tmpdir("check_recording", dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/bad.snmprec", dir);
  tu_write_file(path, "1.3.6.1.2.1.1.1.0|4|x\nnot a line\n");
  ck_assert_int_eq(asr_recording_load(path, &set, err, sizeof(err)), ASR_ERR_PARSE);
  first = strstr(err, path);
  ck_assert_ptr_eq(first, err);
  ck_assert_ptr_null(strstr(first + 1, path));
  ck_assert_ptr_nonnull(strstr(err, ": line 2: "));
  tu_rmtree(dir);
}
END_TEST

START_TEST(test_directory)
{
  ck_assert_int_eq(asr_recording_load(TEST_SRCDIR "/recordings/unit", &set, err, sizeof(err)),
                   ASR_ERR_IO);
  ck_assert_ptr_nonnull(strstr(err, "/recordings/unit"));
}
END_TEST

START_TEST(test_out_of_order_and_duplicates)
{
  ck_assert_int_eq(parse("1.3.6.1.2.1.1.5.0|4|second\n"
                         "1.3.6.1.2.1.1.1.0|4|first\n"
                         "1.3.6.1.2.1.1.5.0|4|duplicate\n"
                         "1.3.6.1.2.1.1.10.0|2|3\n"),
                   ASR_OK);
  ck_assert_uint_eq(asr_vbset_count(set), 3);
  ck_assert_uint_eq(asr_vbset_at(set, 0)->oid[7], 1);
  ck_assert_uint_eq(asr_vbset_at(set, 1)->oid[7], 5);
  ck_assert_uint_eq(asr_vbset_at(set, 2)->oid[7], 10);
  need_str("1.3.6.1.2.1.1.5.0", "second");
}
END_TEST

START_TEST(test_walk_number_edges)
{
  ck_assert_int_eq(parse(".1.3.1 = INTEGER: 9223372036854775807\n"
                         ".1.3.2 = INTEGER: -9223372036854775808\n"
                         ".1.3.3 = Counter64: 9223372036854775808\n"
                         ".1.3.4 = Gauge32: 0\n"
                         ".1.3.5 = Timeticks: 77\n"
                         ".1.3.6 = INTEGER: +4\n"),
                   ASR_OK);
  need_num("1.3.1", ASR_VB_INTEGER, INT64_MAX);
  need_num("1.3.2", ASR_VB_INTEGER, INT64_MIN);
  need_num("1.3.3", ASR_VB_COUNTER64, INT64_MAX);
  need_num("1.3.4", ASR_VB_UNSIGNED, 0);
  need_num("1.3.5", ASR_VB_UNSIGNED, 77);
  need_num("1.3.6", ASR_VB_INTEGER, 4);
}
END_TEST

START_TEST(test_errors_with_line_numbers)
{
  need_fail(".1.3.1 = INTEGER: 1\n\n.1.3.2 = INTEGER: 9223372036854775808\n", ASR_ERR_PARSE,
            "line 3: integer out of range");
  need_fail(".1.3.1 = INTEGER: -9223372036854775809\n", ASR_ERR_PARSE, "line 1: integer");
  need_fail("1.3.1|2|99999999999999999999999\n", ASR_ERR_PARSE, "line 1: integer out of range");
  need_fail(".1.3.1 = Counter32: 4294967296\n", ASR_ERR_PARSE, "line 1: unsigned");
  need_fail(".1.3.1 = Gauge32: -1\n", ASR_ERR_PARSE, "line 1: unsigned");
  need_fail(".1.3.1 = INTEGER: 1\n.1.3.2 = INTEGER: five\n", ASR_ERR_PARSE, "line 2: not a number");
  need_fail(".1.3.1 = INTEGER: 5x\n", ASR_ERR_PARSE, "line 1: trailing text");
  need_fail(".1.3.1 = FLOAT: 5\n", ASR_ERR_PARSE, "line 1: unknown value type");
  need_fail(".1.3.1 = STRING: \"a\"\ngarbage here\n", ASR_ERR_PARSE, "line 2:");
  need_fail(".1.3.1 = STRING: \"never closed\nmore\n", ASR_ERR_PARSE,
            "line 1: quoted string not closed");
  need_fail(".1.3.1 = Hex-STRING: 4\n", ASR_ERR_PARSE, "line 1: malformed hex");
  need_fail(".1.3.1 = IpAddress: 1.2.3.256\n", ASR_ERR_PARSE, "line 1: malformed IpAddress");
  need_fail(".1.3.1 = Network Address: 01:02\n", ASR_ERR_PARSE, "line 1: Network Address");
  need_fail(".1.3.1 = OID: enterprises.11\n", ASR_ERR_PARSE, "line 1: malformed OID value");
  need_fail(".1.3.1 = Timeticks: (12 0:00\n", ASR_ERR_PARSE, "line 1: malformed Timeticks");
  need_fail(".1.3.1 =\n", ASR_ERR_PARSE, "line 1: missing value");
  need_fail(".1.3.1 = NULL extra\n", ASR_ERR_PARSE, "line 1: text after NULL");
  need_fail("# only a comment\n\n", ASR_ERR_PARSE, "no variable bindings");
  need_fail("", ASR_ERR_PARSE, "no variable bindings");
  need_fail("hello world\n", ASR_ERR_PARSE, "line 1: neither snmpwalk");
  need_fail("1.3.1|2\n", ASR_ERR_PARSE, "line 1: expected OID|TAG|VALUE");
  need_fail("1.3.1|2|1\n1.3.2|99|1\n", ASR_ERR_PARSE, "line 2: unknown snmprec tag");
  need_fail("1.3.1|2x|1\n", ASR_ERR_PARSE, "line 1: hex/escaped");
  need_fail("1.3.1|4x|abc\n", ASR_ERR_PARSE, "line 1: malformed hex");
  need_fail("1.3.1|64x|7f00\n", ASR_ERR_PARSE, "line 1: IpAddress is not 4 bytes");
  need_fail("1.3.1|4e|bad\\q\n", ASR_ERR_PARSE, "line 1: unknown escape");
  need_fail("1.3.1|65|12 \n1.3.a|2|1\n", ASR_ERR_PARSE, "line 2: malformed OID");
  need_fail("1.3.1|65|-1\n", ASR_ERR_PARSE, "line 1: unsigned");
  need_fail("1.3.1|70|-1\n", ASR_ERR_PARSE, "line 1: negative Counter64");
  need_fail("1.3.1|2|5 apples\n", ASR_ERR_PARSE, "line 1: trailing text");
  need_fail("1.3.1|x|5\n", ASR_ERR_PARSE, "line 1: malformed snmprec tag");
  need_fail("1.3.1|2|1\n.1.3.2 = INTEGER: 1\n", ASR_ERR_PARSE, "line 2: expected OID|TAG|VALUE");
}
END_TEST

START_TEST(test_oid_bounds)
{
  char text[4096];
  size_t len = 0;

  /* 128 sub-identifiers is the most an OID may have; 129 is refused. */
  for (int i = 0; i < 128; i++)
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s1", i ? "." : "");
  snprintf(text + len, sizeof(text) - len, "|2|7\n");
  ck_assert_int_eq(parse(text), ASR_OK);
  ck_assert_uint_eq(asr_vbset_at(set, 0)->oid_len, 128);
  snprintf(text + len, sizeof(text) - len, ".1|2|7\n");
  ck_assert_int_eq(parse(text), ASR_ERR_PARSE);
  need_fail("1.3.4294967296|2|1\n", ASR_ERR_PARSE, "line 1: malformed OID");
}
END_TEST

START_TEST(test_nul_and_crlf)
{
  static const char nul[] = "1.3.1|4|a\0b\n";

  ck_assert_int_eq(parse_n(nul, sizeof(nul) - 1), ASR_ERR_PARSE);
  ck_assert_str_eq(err, "line 1: NUL byte in line");
  ck_assert_int_eq(parse(".1.3.1 = STRING: \"a\r\nb\"\r\n.1.3.2 = INTEGER: 1\r\n"), ASR_OK);
  need_str("1.3.1", "a\nb");
  need_num("1.3.2", ASR_VB_INTEGER, 1);
  ck_assert_int_eq(parse("1.3.1|2|5"), ASR_OK); /* no final newline */
  need_num("1.3.1", ASR_VB_INTEGER, 5);
}
END_TEST

START_TEST(test_quoted_forms)
{
  ck_assert_int_eq(parse(".1.3.1 = STRING: \"\"\n"
                         ".1.3.2 = STRING: \"x\" and more\n"
                         ".1.3.3 = STRING: line one\n"
                         "line two\n"
                         ".1.3.4 = STRING: \"ends with backslash \\\\\"\n"),
                   ASR_OK);
  need_str("1.3.1", "");
  need_str("1.3.2", "\"x\" and more"); /* a hinted string that began with a quote */
  need_str("1.3.3", "line one\nline two");
  need_str("1.3.4", "ends with backslash \\");
}
END_TEST

/* A line over 1 MB, a value over ASR_VB_VALUE_MAX (cut), and the varbind bound. */
START_TEST(test_bounds)
{
  size_t big = (1u << 20) + 16;
  char *text = malloc(big + 64);
  size_t len;

  ck_assert_ptr_nonnull(text);
  len = (size_t)snprintf(text, 64, "1.3.1|4|");
  memset(text + len, 'a', big);
  text[len + big] = '\n';
  ck_assert_int_eq(parse_n(text, len + big + 1), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(err, "line 1: line longer than 1 MB");
  text[len + 70000] = '\n';
  ck_assert_int_eq(parse_n(text, len + 70001), ASR_OK);
  ck_assert_uint_eq(need("1.3.1", ASR_VB_OCTETS)->len, ASR_VB_VALUE_MAX);
  free(text);
}
END_TEST

START_TEST(test_too_many_varbinds)
{
  size_t cap = 100001 * 24, len = 0;
  char *text = malloc(cap);

  ck_assert_ptr_nonnull(text);
  for (unsigned i = 0; i <= 100000; i++)
    len += (size_t)snprintf(text + len, cap - len, "1.3.6.%u|2|%u\n", i, i);
  ck_assert_int_eq(parse_n(text, len), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(err, "line 100001: more than 100000 varbinds");
  free(text);
}
END_TEST

/* Random bytes and mutated valid files: any result, never a crash or a leak. */
START_TEST(test_fuzz)
{
  static const char *seeds[] = {
      ".1.3.6.1.2.1.1.1.0 = STRING: \"HP \\\"x\\\"\"\n.1.3.1 = Hex-STRING: 00 11\n22\n",
      "1.3.6.1.2.1.1.1.0|4x|414243\n1.3.1|2:numeric|initial=5\n1.3.2|64|1.2.3.4\n",
      ".1.3.1 = Timeticks: (5) 0:00:00.05\n.1.3.2 = BITS: 80 a(0)\n.1.3.3 = OID: .1.3\n",
  };
  char buf[512];
  unsigned seed = 12345;

  for (int round = 0; round < 3000; round++) {
    const char *s = seeds[round % 3];
    size_t len = strlen(s);

    memcpy(buf, s, len);
    for (int k = 0; k < 1 + round % 6; k++) {
      seed = seed * 1103515245u + 12345u;
      buf[(seed >> 8) % len] = (char)(seed >> 16);
    }
    if (round % 7 == 0)
      len = (seed >> 4) % len; /* truncated */
    if (round % 11 == 0) {
      for (size_t i = 0; i < sizeof(buf); i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (char)(seed >> 16);
      }
      len = sizeof(buf);
    }
    (void)parse_n(buf, len);
    if (set)
      ck_assert_uint_le(asr_vbset_count(set), 16);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("recording");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_walk_fixture);
  tcase_add_test(tc, test_snmprec_fixture);
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_directory);
  tcase_add_test(tc, test_parse_error_names_file);
  tcase_add_test(tc, test_out_of_order_and_duplicates);
  tcase_add_test(tc, test_walk_number_edges);
  tcase_add_test(tc, test_errors_with_line_numbers);
  tcase_add_test(tc, test_oid_bounds);
  tcase_add_test(tc, test_nul_and_crlf);
  tcase_add_test(tc, test_quoted_forms);
  tcase_add_test(tc, test_bounds);
  tcase_add_test(tc, test_too_many_varbinds);
  tcase_add_test(tc, test_fuzz);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
