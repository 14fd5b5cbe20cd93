/* check_quirks.c: one test per row of the quirk table (snmp/quirks.c) and of the vendor level
 * codes (common/device.c), plus the vendor and serial tables. A new row without a test
 * fails test_row_count. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp/printer.h"
#include "snmp/quirks.h"
#include "vbfixture.h"

#define SUP "1.3.6.1.2.1.43.11.1.1."
#define SYSOID "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1."

static asr_device dev;

static void build(const char *const *lines)
{
  asr_vbset *s = vbfix_new(lines);

  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(asr_printer_build(s, NULL, &dev), ASR_OK);
  asr_vbset_free(s);
}

/* One supply with the given max and level, on a printer of the given enterprise. */
static const asr_supply *one_supply(const char *enterprise, const char *max, const char *level)
{
  char oid[96], m[64], l[64];
  const char *lines[] = {oid, m, l, SUP "5.1.1|2|3", NULL};

  snprintf(oid, sizeof(oid), SYSOID "%s.1.1", enterprise);
  snprintf(m, sizeof(m), SUP "8.1.1|2|%s", max);
  snprintf(l, sizeof(l), SUP "9.1.1|2|%s", level);
  build(lines);
  ck_assert_uint_eq(dev.n_supplies, 1);
  return &dev.supplies[0];
}

START_TEST(test_row_count)
{
  ck_assert_uint_eq(asr_quirks_count, 5);      /* update with a test for each new row */
  ck_assert_uint_eq(asr_level_codes_count, 5); /* the level codes (common/device.c) too */
}
END_TEST

/* Row: Ricoh level -100 = empty. */
START_TEST(test_ricoh_minus_100)
{
  const asr_supply *s = one_supply("367", "100", "-100");

  ck_assert_int_eq(s->state, ASR_STATE_EMPTY);
  ck_assert_int_eq(s->percent, 0);
  {
    static const char *const waste[] = {SYSOID "367.1.1", SUP "5.1.1|2|4", SUP "8.1.1|2|100",
                                        SUP "9.1.1|2|-100", NULL};

    build(waste); /* on a waste toner receptacle the empty code means full */
    ck_assert_int_eq(dev.supplies[0].state, ASR_STATE_FULL);
    ck_assert_int_eq(dev.supplies[0].percent, 0);
  }
  s = one_supply("11", "100", "-100"); /* not Ricoh: an unknown negative code */
  ck_assert_int_eq(s->state, ASR_STATE_UNKNOWN);
  ck_assert_int_eq(s->percent, ASR_PERCENT_NULL);
}
END_TEST

/* Row: Brother level 0 with an unknown max = unknown. */
START_TEST(test_brother_zero_unknown_max)
{
  const asr_supply *s = one_supply("2435", "-2", "0");

  ck_assert_int_eq(s->state, ASR_STATE_UNKNOWN);
  ck_assert_int_eq(s->percent, ASR_PERCENT_NULL);
  s = one_supply("2435", "12000", "0"); /* a real max: really empty */
  ck_assert_int_eq(s->state, ASR_STATE_EMPTY);
  ck_assert_int_eq(s->percent, 0);
  s = one_supply("18334", "-2", "0"); /* not Brother: RFC reading, empty */
  ck_assert_int_eq(s->state, ASR_STATE_EMPTY);
}
END_TEST

/* Row: Brother level 2 with an unknown max = empty. */
START_TEST(test_brother_two_unknown_max)
{
  const asr_supply *s = one_supply("2435", "-2", "2");

  ck_assert_int_eq(s->state, ASR_STATE_EMPTY);
  ck_assert_int_eq(s->percent, 0);
  s = one_supply("2435", "100", "2");
  ck_assert_int_eq(s->state, ASR_STATE_LOW);
  ck_assert_int_eq(s->percent, 2);
}
END_TEST

/* Rows: Canon three-staged levels 10 (tonerLow) and 1 (tonerNearlyOut) with max 100. */
START_TEST(test_canon_stages)
{
  const asr_supply *s = one_supply("1602", "100", "10");

  ck_assert_int_eq(s->state, ASR_STATE_LOW);
  ck_assert_int_eq(s->percent, 10);
  ck_assert_ptr_nonnull(asr_level_code_find(1602, true, 100, 10));
  s = one_supply("1602", "100", "1");
  ck_assert_int_eq(s->state, ASR_STATE_LOW);
  ck_assert_int_eq(s->percent, 1);
  ck_assert_ptr_nonnull(asr_level_code_find(1602, true, 100, 1));
  ck_assert_ptr_null(asr_level_code_find(1602, true, 3000, 10));
  s = one_supply("1602", "100", "100");
  ck_assert_int_eq(s->state, ASR_STATE_OK);
}
END_TEST

/* Row: descriptions with NUL/CR/LF inside are joined with one space. */
START_TEST(test_descr_join)
{
  static const char *const lines[] = {
      SYSOID "11.2.3.9.1",
      /* "Cyan Cartridge\0" "128A\r\n" "HP CE321A\0\0" */
      SUP "6.1.1|4x|4379616E2043617274726964676500 31323841 0D0A 48502043453332314100 00",
      NULL,
  };

  ck_assert(asr_quirks_has(ASR_QUIRK_DESCR_JOIN, 11));
  build(lines);
  ck_assert_str_eq(dev.supplies[0].description, "Cyan Cartridge 128A HP CE321A");
  ck_assert_str_eq(dev.supplies[0].colorant, "cyan");
}
END_TEST

/* Row: Xerox ", PN <part>;SN<serial>" suffix. */
START_TEST(test_descr_part_number)
{
  static const char *const lines[] = {
      SYSOID "253.8.62.1",
      SUP "6.1.1|4|Black Toner, PN 106R77777;SN12AB34CD",
      SUP "6.1.2|4|Fuser, PN unknown;SNunknown",
      SUP "6.1.3|4|Toner, Black",
      NULL,
  };
  char d[64] = "Waste Cartridge, PN 008R1;SNx", part[16];

  build(lines);
  ck_assert_str_eq(dev.supplies[0].description, "Black Toner");
  ck_assert_str_eq(dev.supplies[0].part_number, "106R77777");
  ck_assert_str_eq(dev.supplies[1].description, "Fuser");
  ck_assert_str_eq(dev.supplies[1].part_number, "");
  ck_assert_str_eq(dev.supplies[2].description, "Toner, Black");
  ck_assert_int_eq(asr_quirks_split_part_number(d, part, sizeof(part)), 1);
  ck_assert_str_eq(d, "Waste Cartridge");
  ck_assert_str_eq(part, "008R1");
}
END_TEST

/* Row: HP "... HP <part>" order numbers. */
START_TEST(test_descr_hp_part_number)
{
  static const char *const lines[] = {
      SYSOID "11.2.3.9.1",
      SUP "6.1.1|4|Black Cartridge 999A HP ZF990A",
      SUP "6.1.2|4|Clean Rollers HP None",
      SUP "6.1.3|4|Fuser Kit HP 110V-ZZ154A, 220V-ZZ158A",
      NULL,
  };
  char part[8];

  build(lines);
  ck_assert_str_eq(dev.supplies[0].description, "Black Cartridge 999A HP ZF990A");
  ck_assert_str_eq(dev.supplies[0].part_number, "ZF990A");
  ck_assert_str_eq(dev.supplies[1].part_number, "");
  ck_assert_str_eq(dev.supplies[2].part_number, "");
  ck_assert_int_eq(asr_quirks_hp_part_number("Drum HP QQ123456789012", part, sizeof(part)), 0);
  ck_assert_int_eq(asr_quirks_hp_part_number("Toner HP AB12C", part, sizeof(part)), 1);
  ck_assert_str_eq(part, "AB12C");
  ck_assert_int_eq(asr_quirks_hp_part_number("Toner HP ABCDEF", part, sizeof(part)), 0);
}
END_TEST

/* Row: Pantum-style scalar rows, one index sub-identifier. */
START_TEST(test_scalar_rows)
{
  static const char *const lines[] = {
      SYSOID "40093.1", SUP "5.1|2|3",   SUP "6.1|4|Toner Cartridge",
      SUP "8.1|2|1500", SUP "9.1|2|300", NULL,
  };

  build(lines);
  ck_assert_uint_eq(dev.n_supplies, 1);
  ck_assert_int_eq(dev.supplies[0].index, 1);
  ck_assert_int_eq(dev.supplies[0].hr_index, 0);
  ck_assert_str_eq(dev.supplies[0].description, "Toner Cartridge");
  ck_assert_int_eq(dev.supplies[0].percent, 20);
  ck_assert_str_eq(dev.vendor, "Pantum");
}
END_TEST

/* Row: OIDs out of order give the same device as in order. */
START_TEST(test_any_order)
{
  static const char *const sorted[] = {
      SUP "6.1.1|4|Black Toner",
      SUP "6.1.2|4|Drum",
      SUP "8.1.1|2|200",
      SUP "8.1.2|2|100",
      SUP "9.1.1|2|50",
      SUP "9.1.2|2|-3",
      NULL,
  };
  static const char *const shuffled[] = {
      SUP "9.1.2|2|-3",  SUP "6.1.2|4|Drum",        SUP "8.1.1|2|200", SUP "9.1.1|2|50",
      SUP "8.1.2|2|100", SUP "6.1.1|4|Black Toner", SUP "9.1.1|2|99",  NULL,
  };
  asr_device first;

  build(sorted);
  memcpy(&first, &dev, sizeof(first));
  build(shuffled); /* the duplicate 9.1.1 comes last: the first answer wins */
  ck_assert_uint_eq(dev.n_supplies, 2);
  ck_assert_int_eq(memcmp(&first.supplies, &dev.supplies, sizeof(dev.supplies)), 0);
  ck_assert_int_eq(dev.supplies[0].percent, 25);
  ck_assert_int_eq(dev.supplies[1].state, ASR_STATE_SOME_REMAINING);
}
END_TEST

START_TEST(test_vendors)
{
  static const struct {
    uint32_t ent;
    const char *name;
  } v[] = {
      {11, "HP"},        {253, "Xerox"},    {367, "Ricoh"},
      {641, "Lexmark"},  {1602, "Canon"},   {2435, "Brother"},
      {1347, "Kyocera"}, {1248, "Epson"},   {18334, "Konica Minolta"},
      {2385, "Sharp"},   {1129, "Toshiba"}, {236, "Samsung"},
      {2001, "Oki"},     {674, "Dell"},     {10642, "Zebra"},
      {683, "Zebra"},    {297, "FUJIFILM"}, {40093, "Pantum"},
  };

  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
    ck_assert_str_eq(asr_quirks_vendor(v[i].ent), v[i].name);
  ck_assert_ptr_null(asr_quirks_vendor(8072));
  ck_assert_str_eq(asr_quirks_vendor_from_descr("KONICA MINOLTA bizhub X"), "Konica Minolta");
  ck_assert_str_eq(asr_quirks_vendor_from_descr("Hewlett-Packard LaserJet"), "HP");
  ck_assert_ptr_null(asr_quirks_vendor_from_descr("Sharpener 3000"));
}
END_TEST

START_TEST(test_serial_oids)
{
  static const struct {
    uint32_t ent;
    const char *oid;
  } v[] = {
      {11, "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0"},
      {253, "1.3.6.1.4.1.253.8.53.3.2.1.3.1"},
      {367, "1.3.6.1.4.1.367.3.2.1.2.1.4.0"},
      {641, "1.3.6.1.4.1.641.2.1.2.1.6.1"},
      {1602, "1.3.6.1.4.1.1602.1.2.1.4.0"},
      {2435, "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0"},
      {1347, "1.3.6.1.4.1.1347.43.5.1.1.28.1"},
      {1248, "1.3.6.1.4.1.1248.1.2.2.1.1.1.5.1"},
      {297, "1.3.6.1.4.1.253.8.53.3.2.1.3.1"},
      {674, "1.3.6.1.4.1.674.10898.100.2.1.2.1.6.1"},
      {683, "1.3.6.1.4.1.683.1.5.0"},
  };
  const char *oids[4];

  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    ck_assert_uint_eq(asr_quirks_serial_oids(v[i].ent, oids, 4), 1);
    ck_assert_str_eq(oids[0], v[i].oid);
  }
  ck_assert_uint_eq(asr_quirks_serial_oids(8072, oids, 4), 0);
  ck_assert_uint_eq(asr_quirks_serial_oids(11, oids, 0), 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("quirks");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_row_count);
  tcase_add_test(tc, test_ricoh_minus_100);
  tcase_add_test(tc, test_brother_zero_unknown_max);
  tcase_add_test(tc, test_brother_two_unknown_max);
  tcase_add_test(tc, test_canon_stages);
  tcase_add_test(tc, test_descr_join);
  tcase_add_test(tc, test_descr_part_number);
  tcase_add_test(tc, test_descr_hp_part_number);
  tcase_add_test(tc, test_scalar_rows);
  tcase_add_test(tc, test_any_order);
  tcase_add_test(tc, test_vendors);
  tcase_add_test(tc, test_serial_oids);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
