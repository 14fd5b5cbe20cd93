/* check_common.c: common/util.c, result.c, and the name tables of device.c and cred.c
 * (every row, and the codes just outside each table). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/buf.h"
#include "common/cred.h"
#include "common/date.h"
#include "common/device.h"
#include "common/platform.h"
#include "common/result.h"
#include "common/clock.h"
#include "common/util.h"
#include "tests/unit/testutil.h"

START_TEST(test_strlcpy)
{
  char buf[6];

  ck_assert_int_eq(asr_strlcpy(buf, "hello", sizeof(buf)), ASR_OK);
  ck_assert_str_eq(buf, "hello");
  ck_assert_int_eq(asr_strlcpy(buf, "hello!", sizeof(buf)), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(buf, "hello");
  ck_assert_int_eq(asr_strlcpy(buf, "", sizeof(buf)), ASR_OK);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(asr_strlcpy(buf, "x", 0), ASR_ERR_TOO_LARGE);
  /* the deliberate forms: the cut text, no result */
  asr_strlcpy_cut(buf, "hello world", sizeof(buf));
  ck_assert_str_eq(buf, "hello");
  asr_fmt_cut(buf, sizeof(buf), "%d%s", 1234, "567");
  ck_assert_str_eq(buf, "12345");
  asr_fmt_cut(buf, 0, "x"); /* nothing to write: nothing written */
  asr_strlcpy_cut(buf, "x", 0);
  ck_assert_str_eq(buf, "12345");
}
END_TEST

START_TEST(test_fmt_append)
{
  char buf[8];
  size_t len = 0;

  ck_assert_int_eq(asr_fmt(buf, sizeof(buf), "%d-%s", 42, "ab"), ASR_OK);
  ck_assert_str_eq(buf, "42-ab");
  ck_assert_int_eq(asr_fmt(buf, sizeof(buf), "%s", "123456789"), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(buf, "1234567");
  ck_assert_int_eq(asr_fmt(buf, 0, "x"), ASR_ERR_TOO_LARGE);
  ck_assert_int_eq(asr_append(buf, sizeof(buf), &len, "%s", "abc"), ASR_OK);
  ck_assert_int_eq(asr_append(buf, sizeof(buf), &len, "%d", 12), ASR_OK);
  ck_assert_str_eq(buf, "abc12");
  ck_assert_uint_eq(len, 5);
  ck_assert_int_eq(asr_append(buf, sizeof(buf), &len, "%s", "xyz"), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(buf, "abc12xy");
  ck_assert_uint_eq(len, 7);
  ck_assert_int_eq(asr_append(buf, sizeof(buf), &len, "%s", "q"), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(buf, "abc12xy");
  ck_assert_uint_eq(len, 7);
}
END_TEST

/* The growing buffer: bytes (NULs too), its bound and never more memory than max + 1, a
 * failure that sticks until a reset, a reset that keeps the memory. */
START_TEST(test_buf)
{
  asr_buf b = {.max = 3000};
  char big[2000], *out;
  char *kept;

  memset(big, 'x', sizeof(big));
  asr_buf_add(&b, "a\0b", 3);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_mem_eq(b.p, "a\0b", 4);
  asr_buf_add(&b, big, sizeof(big));
  ck_assert_int_eq(b.err, ASR_OK);
  ck_assert_uint_le(b.cap, 3001);    /* 4096 would be the next power of two */
  asr_buf_add(&b, big, sizeof(big)); /* 4003 > 3000 */
  ck_assert_int_eq(b.err, ASR_ERR_LIMIT);
  ck_assert_uint_eq(b.len, 2003);
  asr_buf_puts(&b, "y"); /* the failure sticks */
  ck_assert_uint_eq(b.len, 2003);
  kept = b.p;
  asr_buf_reset(&b);
  ck_assert_int_eq(b.err, ASR_OK);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_ptr_eq(b.p, kept);
  asr_buf_printf(&b, "%d-%s", 42, "z");
  ck_assert_int_eq(asr_buf_finish(&b, &out), ASR_OK);
  ck_assert_str_eq(out, "42-z");
  ck_assert_uint_eq(b.max, 3000);
  free(out);
}
END_TEST

START_TEST(test_secret_wipe)
{
  char secret[16] = "pass phrase";
  static const char zero[16];

  asr_secret_wipe(secret, sizeof(secret));
  ck_assert_mem_eq(secret, zero, sizeof(zero));
  asr_secret_wipe(NULL, 0); /* nothing to wipe is fine */
}
END_TEST

START_TEST(test_hex)
{
  unsigned char b[4] = {0x00, 0x9f, 0xa0, 0xff}, back[4];
  char hex[9];

  asr_hex_encode(b, sizeof(b), hex);
  ck_assert_str_eq(hex, "009fa0ff");
  ck_assert_int_eq(asr_hex_decode(hex, back, sizeof(back)), 4);
  ck_assert_mem_eq(back, b, sizeof(b));
  ck_assert_int_eq(asr_hex_decode("009FA0FF", back, sizeof(back)), 4); /* either case */
  ck_assert_mem_eq(back, b, sizeof(b));
  ck_assert_int_eq(asr_hex_decode("", back, sizeof(back)), 0);
  ck_assert_int_eq(asr_hex_decode("abc", back, sizeof(back)), -1);        /* odd */
  ck_assert_int_eq(asr_hex_decode("0g", back, sizeof(back)), -1);         /* not a digit */
  ck_assert_int_eq(asr_hex_decode(" 0a", back, sizeof(back)), -1);        /* no blanks */
  ck_assert_int_eq(asr_hex_decode("0011223344", back, sizeof(back)), -1); /* too long */
  ck_assert(asr_hex_is("00ff", 4));
  ck_assert(!asr_hex_is("00FF", 4)); /* keys and secrets are lower case */
  ck_assert(!asr_hex_is("00ff", 5));
  ck_assert(!asr_hex_is(NULL, 0));
  ck_assert_int_eq(asr_hex_val('F'), 15);
  ck_assert_int_eq(asr_hex_val('g'), -1);
}
END_TEST

START_TEST(test_parse_i64)
{
  int64_t v = 0;

  ck_assert_int_eq(asr_parse_i64("-17", -100, 100, &v), ASR_OK);
  ck_assert_int_eq(v, -17);
  ck_assert_int_eq(asr_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), ASR_OK);
  ck_assert_int_eq(v, INT64_MAX);
  ck_assert_int_eq(asr_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), ASR_OK);
  ck_assert_int_eq(v, INT64_MIN);
  v = 5;
  ck_assert_int_eq(asr_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("101", -100, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("-101", -100, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("", 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64(NULL, 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("12x", 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("12 ", 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64(" 12", 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_i64("0x10", 0, 100, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(v, 5);                                     /* untouched on failure */
  ck_assert_int_eq(asr_parse_i64("010", 0, 100, &v), ASR_OK); /* decimal, not octal */
  ck_assert_int_eq(v, 10);
}
END_TEST

START_TEST(test_parse_uint)
{
  unsigned v = 7;

  ck_assert_int_eq(asr_parse_uint("65535", 1, 65535, &v), ASR_OK);
  ck_assert_uint_eq(v, 65535);
  ck_assert_int_eq(asr_parse_uint("0", 1, 65535, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint("65536", 1, 65535, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint("-1", 0, 10, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint("+1", 0, 10, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint(" 1", 0, 10, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint("4294967295", 0, UINT32_MAX, &v), ASR_OK);
  ck_assert_uint_eq(v, 4294967295u);
  ck_assert_int_eq(asr_parse_uint("4294967296", 0, UINT32_MAX, &v), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_parse_uint(NULL, 0, 1, &v), ASR_ERR_INVALID);
}
END_TEST

START_TEST(test_time)
{
  char buf[32];
  int64_t a, b;

  asr_time_iso(0, buf, sizeof(buf));
  ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
  asr_time_iso(1795248000, buf, sizeof(buf));
  ck_assert_str_eq(buf, "2026-11-21T08:00:00Z");
  asr_time_iso(1795248000, buf, 5); /* too small: empty, not cut */
  ck_assert_str_eq(buf, "");
  asr_time_iso(INT64_MAX, buf, sizeof(buf)); /* not representable: empty, no garbage */
  ck_assert_uint_lt(strlen(buf), sizeof(buf));
  ck_assert_int_gt(asr_now(), 1700000000);
  a = asr_monotonic_ms();
  b = asr_monotonic_ms();
  ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(test_result_names)
{
  for (int r = 0; r < ASR_RESULT_COUNT; r++) {
    const char *s = asr_result_str((asr_result)r);

    ck_assert_ptr_nonnull(s);
    ck_assert_str_ne(s, "unknown error");
    for (int q = 0; q < r; q++)
      ck_assert_str_ne(s, asr_result_str((asr_result)q)); /* each text distinct */
  }
  ck_assert_str_eq(asr_result_str(ASR_OK), "success");
  ck_assert_str_eq(asr_result_str(ASR_RESULT_COUNT), "unknown error");
  ck_assert_str_eq(asr_result_str((asr_result)-1), "unknown error");
}
END_TEST

/* RFC 3805 / IANA PrtMarkerSuppliesTypeTC, every row. */
START_TEST(test_supply_types)
{
  static const char *want[] = {NULL,
                               "other",
                               "unknown",
                               "toner",
                               "wasteToner",
                               "ink",
                               "inkCartridge",
                               "inkRibbon",
                               "wasteInk",
                               "opc",
                               "developer",
                               "fuserOil",
                               "solidWax",
                               "ribbonWax",
                               "wasteWax",
                               "fuser",
                               "coronaWire",
                               "fuserOilWick",
                               "cleanerUnit",
                               "fuserCleaningPad",
                               "transferUnit",
                               "tonerCartridge",
                               "fuserOiler",
                               "water",
                               "wasteWater",
                               "glueWaterAdditive",
                               "wastePaper",
                               "bindingSupply",
                               "bandingSupply",
                               "stitchingWire",
                               "shrinkWrap",
                               "paperWrap",
                               "staples",
                               "inserts",
                               "covers",
                               "matteToner",
                               "matteInk"};

  for (int32_t i = 0; i < (int32_t)(sizeof(want) / sizeof(want[0])); i++) {
    if (want[i])
      ck_assert_str_eq(asr_supply_type_name(i), want[i]);
    else
      ck_assert_ptr_null(asr_supply_type_name(i));
  }
  ck_assert_ptr_null(asr_supply_type_name(37));
  ck_assert_ptr_null(asr_supply_type_name(-1));
  ck_assert_ptr_null(asr_supply_type_name(INT32_MAX));
  ck_assert_ptr_null(asr_supply_type_name(INT32_MIN));
}
END_TEST

START_TEST(test_supply_units)
{
  static const char *want[] = {NULL,
                               "other",
                               "unknown",
                               "tenThousandthsOfInches",
                               "micrometers",
                               NULL,
                               NULL,
                               "impressions",
                               "sheets",
                               NULL,
                               NULL,
                               "hours",
                               "thousandthsOfOunces",
                               "tenthsOfGrams",
                               "hundrethsOfFluidOunces",
                               "tenthsOfMilliliters",
                               "feet",
                               "meters",
                               "items",
                               "percent"};

  for (int32_t i = 0; i < (int32_t)(sizeof(want) / sizeof(want[0])); i++) {
    if (want[i])
      ck_assert_str_eq(asr_supply_unit_name(i), want[i]);
    else
      ck_assert_ptr_null(asr_supply_unit_name(i));
  }
  ck_assert_ptr_null(asr_supply_unit_name(20));
  ck_assert_ptr_null(asr_supply_unit_name(-5));
}
END_TEST

START_TEST(test_class_state_status)
{
  ck_assert_str_eq(asr_supply_class_name(1), "other");
  ck_assert_str_eq(asr_supply_class_name(3), "consumed");
  ck_assert_str_eq(asr_supply_class_name(4), "filled");
  ck_assert_ptr_null(asr_supply_class_name(0));
  ck_assert_ptr_null(asr_supply_class_name(2));
  ck_assert_ptr_null(asr_supply_class_name(5));
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_UNKNOWN), "unknown");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_OK), "ok");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_LOW), "low");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_EMPTY), "empty");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_FULL), "full");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_SOME_REMAINING), "some_remaining");
  ck_assert_str_eq(asr_supply_state_name(ASR_STATE_COUNT), "unknown");
  ck_assert_str_eq(asr_supply_state_name((asr_supply_state)-1), "unknown");
  ck_assert_ptr_null(asr_printer_status_name(0));
  ck_assert_str_eq(asr_printer_status_name(1), "other");
  ck_assert_str_eq(asr_printer_status_name(2), "unknown");
  ck_assert_str_eq(asr_printer_status_name(3), "idle");
  ck_assert_str_eq(asr_printer_status_name(4), "printing");
  ck_assert_str_eq(asr_printer_status_name(5), "warmup");
  ck_assert_ptr_null(asr_printer_status_name(6));
  ck_assert_ptr_null(asr_printer_status_name(-3));
}
END_TEST

/* hrPrinterDetectedErrorState bits, RFC 3805 2.2.13.2. */
START_TEST(test_printer_errors)
{
  static const char *want[] = {"lowPaper",
                               "noPaper",
                               "lowToner",
                               "noToner",
                               "doorOpen",
                               "jammed",
                               "offline",
                               "serviceRequested",
                               "inputTrayMissing",
                               "outputTrayMissing",
                               "markerSupplyMissing",
                               "outputNearFull",
                               "outputFull",
                               "inputTrayEmpty",
                               "overduePreventMaint"};

  for (unsigned i = 0; i < 15; i++)
    ck_assert_str_eq(asr_printer_error_name(i), want[i]);
  ck_assert_ptr_null(asr_printer_error_name(15));
  ck_assert_ptr_null(asr_printer_error_name(16));
  ck_assert_ptr_null(asr_printer_error_name(UINT32_MAX));
}
END_TEST

START_TEST(test_device_init)
{
  asr_device *d = malloc(sizeof(*d));

  ck_assert_ptr_nonnull(d);
  memset(d, 0x5a, sizeof(*d));
  asr_device_init(d);
  ck_assert_str_eq(d->serial, "");
  ck_assert_str_eq(d->ip, "");
  ck_assert_uint_eq(d->n_supplies, 0);
  ck_assert(!d->has_page_count);
  ck_assert_int_eq(d->printer_status, 0);
  free(d);
}
END_TEST

START_TEST(test_cred_names)
{
  static const struct {
    const char *in;
    asr_auth_proto p;
    const char *name;
  } auth[] = {{"md5", ASR_AUTH_MD5, "MD5"},
              {"SHA", ASR_AUTH_SHA, "SHA"},
              {"sha-1", ASR_AUTH_SHA, "SHA"},
              {"SHA1", ASR_AUTH_SHA, "SHA"},
              {"SHA-224", ASR_AUTH_SHA224, "SHA-224"},
              {"sha224", ASR_AUTH_SHA224, "SHA-224"},
              {"SHA-256", ASR_AUTH_SHA256, "SHA-256"},
              {"SHA256", ASR_AUTH_SHA256, "SHA-256"},
              {"sha-384", ASR_AUTH_SHA384, "SHA-384"},
              {"SHA384", ASR_AUTH_SHA384, "SHA-384"},
              {"SHA-512", ASR_AUTH_SHA512, "SHA-512"},
              {"sha512", ASR_AUTH_SHA512, "SHA-512"},
              {"none", ASR_AUTH_NONE, "none"}};
  static const struct {
    const char *in;
    asr_priv_proto p;
    const char *name;
  } priv[] = {{"des", ASR_PRIV_DES, "DES"},
              {"AES", ASR_PRIV_AES, "AES"},
              {"aes-128", ASR_PRIV_AES, "AES"},
              {"AES128", ASR_PRIV_AES, "AES"},
              {"AES-192", ASR_PRIV_AES192, "AES-192"},
              {"aes192", ASR_PRIV_AES192, "AES-192"},
              {"AES-256", ASR_PRIV_AES256, "AES-256"},
              {"AES256", ASR_PRIV_AES256, "AES-256"},
              {"NONE", ASR_PRIV_NONE, "none"}};
  asr_auth_proto a;
  asr_priv_proto p;

  for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
    ck_assert_int_eq(asr_snmp_auth_parse(auth[i].in, &a), ASR_OK);
    ck_assert_int_eq(a, auth[i].p);
    ck_assert_str_eq(asr_snmp_auth_name(a), auth[i].name);
  }
  for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
    ck_assert_int_eq(asr_snmp_priv_parse(priv[i].in, &p), ASR_OK);
    ck_assert_int_eq(p, priv[i].p);
    ck_assert_str_eq(asr_snmp_priv_name(p), priv[i].name);
  }
  ck_assert_int_eq(asr_snmp_auth_parse("SHA-3", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_snmp_auth_parse("", &a), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_snmp_priv_parse("3DES", &p), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_snmp_priv_parse("AES-512", &p), ASR_ERR_INVALID);
  ck_assert_str_eq(asr_snmp_auth_name((asr_auth_proto)99), "none");
  ck_assert_str_eq(asr_snmp_priv_name((asr_priv_proto)99), "none");
}
END_TEST

/* asr_platform_restrict: Windows gives the data folder and its files to Administrators
 * (owner) with SYSTEM and Administrators only; POSIX narrows the mode to the owner. */
START_TEST(test_platform_restrict)
{
  char dir[512], file[600];

  tu_tmpdir("restrict", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(file, sizeof(file), "%s/secret", dir), ASR_OK);
  tu_write_file(file, "s3cret\n");
  ck_assert_int_eq(tu_chmod(dir, 0755), 0);
  ck_assert_int_eq(tu_chmod(file, 0644), 0);
  ck_assert_int_eq(asr_platform_restrict(file), ASR_OK);
  ck_assert_int_eq(asr_platform_restrict(dir), ASR_OK);
  if (tu_wine()) {
    /* Wine accepts the owner but reports the Unix owner of the file */
    tu_skip("test_platform_restrict (owner)", "Wine reports a file's Unix owner");
  } else {
    ck_assert_int_eq(tu_restricted(file), 1);
    ck_assert_int_eq(tu_restricted(dir), 1);
  }
  ck_assert_int_eq(asr_fmt(file, sizeof(file), "%s/missing", dir), ASR_OK);
  ck_assert_int_ne(asr_platform_restrict(file), ASR_OK); /* missing */
  tu_rmtree(dir);
}
END_TEST

/* asr_platform_install_lock: the installer's key private before the MSI writes secrets. */
START_TEST(test_install_lock)
{
  if (!asr_platform_service_supported()) {
    ck_assert_int_eq(asr_platform_install_lock(), ASR_OK); /* no-op */
    tu_skip("test_install_lock (key)", "no installer key on POSIX");
    return;
  }
  tu_install_key_reset(true);
  ck_assert_int_eq(tu_install_key_private(), 0); /* inherits HKLM\SOFTWARE's rights */
  ck_assert_int_eq(asr_platform_install_lock(), ASR_OK);
  ck_assert_int_eq(tu_install_key_private(), 1);
  tu_install_key_reset(false);
  ck_assert_int_eq(asr_platform_install_lock(), ASR_OK); /* creates it */
  ck_assert_int_eq(tu_install_key_private(), 1);
  tu_install_key_reset(false);
}
END_TEST

START_TEST(test_plural_and_distance)
{
  ck_assert_str_eq(asr_plural(1, "batch", "batches"), "batch");
  ck_assert_str_eq(asr_plural(0, "batch", "batches"), "batches");
  ck_assert_str_eq(asr_plural(2, "batch", "batches"), "batches");
  ck_assert_str_eq(asr_plural(-1, "minute", "minutes"), "minutes");
  ck_assert_uint_eq(asr_edit_distance("", ""), 0);
  ck_assert_uint_eq(asr_edit_distance("community", "community"), 0);
  ck_assert_uint_eq(asr_edit_distance("comunity", "community"), 1);
  ck_assert_uint_eq(asr_edit_distance("fromat", "format"), 1);
  ck_assert_uint_eq(asr_edit_distance("bd", "db"), 1);
  ck_assert_uint_eq(asr_edit_distance("ca", "abc"), 3);
  ck_assert_uint_eq(asr_edit_distance("", "db"), 2);
  ck_assert_uint_eq(asr_edit_distance("kitten", "sitting"), 3);
  char big[80];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  ck_assert_uint_eq(asr_edit_distance(big, "a"), SIZE_MAX);
}
END_TEST

/* Parses s as a whole address and formats it back. */
static void roundtrip(const char *s, const char *want)
{
  asr_addr a;
  char buf[ASR_ADDR_STRLEN];

  ck_assert_msg(asr_addr_parse(s, &a) == ASR_OK, "%s refused", s);
  asr_addr_format(&a, buf, sizeof(buf));
  ck_assert_str_eq(buf, want);
}

/* Expects the IPv6 text s refused at 1-based position pos with why. */
static void refused6(const char *s, size_t pos, const char *why)
{
  asr_addr a;
  const char *end = NULL, *w = NULL;
  asr_result r = asr_addr_parse6(s, &a, &end, &w);

  if (r == ASR_OK && *end)
    return; /* stopped early: the caller sees the rest */
  ck_assert_msg(r == ASR_ERR_TARGET, "%s accepted", s);
  ck_assert_uint_eq((size_t)(end - s) + 1, pos);
  ck_assert_str_eq(w, why);
}

START_TEST(test_addr_text)
{
  asr_addr a;
  const char *end, *why;

  /* RFC 5952 output: lower case, longest zero run (leftmost on a tie), no lone "::0" */
  roundtrip("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
  roundtrip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
  roundtrip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
  roundtrip("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329");
  roundtrip("::", "::");
  roundtrip("::1", "::1");
  roundtrip("1::", "1::");
  roundtrip("1:0:0:2:0:0:0:3", "1:0:0:2::3");
  roundtrip("::ffff:192.0.2.1", "::ffff:192.0.2.1");
  roundtrip("64:ff9b::192.0.2.33", "64:ff9b::c000:221");
  roundtrip("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
  roundtrip("192.0.2.255", "192.0.2.255");
  roundtrip("0.0.0.0", "0.0.0.0");
  /* where each address ends: the target syntax goes on after it */
  ck_assert_int_eq(asr_addr_parse6("fd00::1/120", &a, &end, &why), ASR_OK);
  ck_assert_str_eq(end, "/120");
  ck_assert_int_eq(asr_addr_parse6("fd00::1-fd00::5", &a, &end, &why), ASR_OK);
  ck_assert_str_eq(end, "-fd00::5");
  ck_assert_int_eq(a.b[15], 1);
  ck_assert_int_eq(a.b[0], 0xfd);
  /* refused, with the position of the problem */
  refused6("1:2:3:4:5:6:7", 14, "too few groups (want 8, or '::' for zeros)");
  refused6("1:2:3:4:5:6:7:8:9", 17, "too many groups (at most 8)");
  refused6("1::2::3", 5, "more than one '::'");
  refused6("12345::", 5, "group longer than 4 hexadecimal digits");
  refused6(":1::", 1, "a leading ':' must be part of '::'");
  refused6("1:2:", 5, "expected a hexadecimal group after ':'");
  refused6("1:2:3:4:5:6:7::8", 17, "'::' stands for no group here (8 groups already)");
  refused6("::1.2.3.256", 9, "octet out of range (0-255)");
  refused6("::1.2.3", 8, "incomplete IPv4 part (want a.b.c.d)");
  refused6("1:2:3:4:5:6:7:1.2.3.4", 15, "no room for an IPv4 part (at most 6 groups before it)");
  refused6("::01.2.3.4", 3, "leading zero (octal?) not accepted");
  /* whole strings */
  ck_assert_int_eq(asr_addr_parse("::1 ", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("10.1.2", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("10.01.2.3", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("10.1.2.256", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("10.1.2.1000", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("printer", &a), ASR_ERR_TARGET);
  ck_assert_int_eq(asr_addr_parse("", &a), ASR_ERR_TARGET);
}
END_TEST

START_TEST(test_addr_arith)
{
  asr_addr a, b, f, l;
  char buf[ASR_ADDR_STRLEN];

  a = asr_addr_v4(0xc00002ffU);
  ck_assert_uint_eq(asr_addr_v4_value(&a), 0xc00002ffU);
  ck_assert_int_eq(asr_addr_inc(&a), 0);
  asr_addr_format(&a, buf, sizeof(buf));
  ck_assert_str_eq(buf, "192.0.3.0");
  ck_assert_int_eq(asr_addr_dec(&a), 0);
  ck_assert_uint_eq(asr_addr_v4_value(&a), 0xc00002ffU);
  a = asr_addr_v4(UINT32_MAX);
  ck_assert_int_eq(asr_addr_inc(&a), 1); /* wraps */
  ck_assert_uint_eq(asr_addr_v4_value(&a), 0);
  ck_assert_int_eq(asr_addr_dec(&a), 1);
  /* IPv6 carries across bytes; IPv4 sorts before IPv6 */
  ck_assert_int_eq(asr_addr_parse("fd00::ff", &a), ASR_OK);
  ck_assert_int_eq(asr_addr_inc(&a), 0);
  asr_addr_format(&a, buf, sizeof(buf));
  ck_assert_str_eq(buf, "fd00::100");
  b = asr_addr_v4(1);
  ck_assert_int_lt(asr_addr_cmp(&b, &a), 0);
  ck_assert_int_gt(asr_addr_cmp(&a, &b), 0);
  ck_assert_int_eq(asr_addr_cmp(&a, &a), 0);
  /* blocks and spans */
  ck_assert_int_eq(asr_addr_parse("fd00::1:2345", &a), ASR_OK);
  asr_addr_block(&a, 120, &f, &l);
  asr_addr_format(&f, buf, sizeof(buf));
  ck_assert_str_eq(buf, "fd00::1:2300");
  asr_addr_format(&l, buf, sizeof(buf));
  ck_assert_str_eq(buf, "fd00::1:23ff");
  ck_assert_uint_eq(asr_addr_span(&f, &l), 256);
  asr_addr_block(&a, 64, &f, &l);
  ck_assert_uint_eq(asr_addr_span(&f, &l), UINT64_MAX); /* 2^64: saturated */
  asr_addr_block(&a, 65, &f, &l);
  ck_assert_uint_eq(asr_addr_span(&f, &l), UINT64_C(1) << 63);
  asr_addr_block(&a, 0, &f, &l);
  ck_assert_uint_eq(asr_addr_span(&f, &l), UINT64_MAX);
  a = asr_addr_v4(0x0a010203U);
  asr_addr_block(&a, 22, &f, &l);
  ck_assert_uint_eq(asr_addr_v4_value(&f), 0x0a010000U);
  ck_assert_uint_eq(asr_addr_v4_value(&l), 0x0a0103ffU);
  ck_assert_uint_eq(asr_addr_span(&f, &l), 1024);
  asr_addr_block(&a, 0, &f, &l);
  ck_assert_uint_eq(asr_addr_span(&f, &l), UINT64_C(1) << 32);
  /* loopback */
  ck_assert(asr_addr_is_loopback(&(asr_addr){0}) == 0);
  b = asr_addr_v4(0x7f000001U);
  ck_assert(asr_addr_is_loopback(&b));
  ck_assert_int_eq(asr_addr_parse("::1", &b), ASR_OK);
  ck_assert(asr_addr_is_loopback(&b));
  ck_assert_int_eq(asr_addr_parse("::2", &b), ASR_OK);
  ck_assert(!asr_addr_is_loopback(&b));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("common");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_strlcpy);
  tcase_add_test(tc, test_plural_and_distance);
  tcase_add_test(tc, test_platform_restrict);
  tcase_add_test(tc, test_install_lock);
  tcase_add_test(tc, test_fmt_append);
  tcase_add_test(tc, test_buf);
  tcase_add_test(tc, test_hex);
  tcase_add_test(tc, test_secret_wipe);
  tcase_add_test(tc, test_parse_i64);
  tcase_add_test(tc, test_parse_uint);
  tcase_add_test(tc, test_time);
  tcase_add_test(tc, test_result_names);
  tcase_add_test(tc, test_supply_types);
  tcase_add_test(tc, test_supply_units);
  tcase_add_test(tc, test_class_state_status);
  tcase_add_test(tc, test_printer_errors);
  tcase_add_test(tc, test_device_init);
  tcase_add_test(tc, test_cred_names);
  tcase_add_test(tc, test_addr_text);
  tcase_add_test(tc, test_addr_arith);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
