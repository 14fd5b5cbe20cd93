/* check_printer.c: the Printer-MIB model (snmp/printer.c) against our own fixtures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/text.h"
#include "snmp/charset.h"
#include "snmp/printer.h"
#include "vbfixture.h"

#define SUP "1.3.6.1.2.1.43.11.1.1."
#define HRTYPE "1.3.6.1.2.1.25.3.2.1.2."
#define PRINTER_TYPE "|6|1.3.6.1.2.1.25.3.1.5"

static asr_device dev;

/* Builds dev from the lines; returns the result of asr_printer_build. */
static asr_result build(const char *const *lines, const char *ip)
{
  asr_vbset *s = vbfix_new(lines);
  asr_result r;

  ck_assert_ptr_nonnull(s);
  r = asr_printer_build(s, ip, &dev);
  asr_vbset_free(s);
  return r;
}

/* ---- percent and state ---------------------------------------------------------- */

typedef struct {
  int32_t klass, type, unit;
  int has_max;
  int64_t max;
  int has_level;
  int64_t level;
  int percent;
  asr_supply_state state;
} norm_case;

static const norm_case norm_cases[] = {
    /* klass type unit  has_max max  has_level level  percent state */
    {3, 3, 0, 1, 1000, 1, 500, 50, ASR_STATE_OK},
    {3, 3, 0, 1, 12000, 1, 11501, 96, ASR_STATE_OK}, /* rounded half up */
    {3, 3, 0, 1, 100, 1, 10, 10, ASR_STATE_LOW},     /* threshold included */
    {3, 3, 0, 1, 100, 1, 11, 11, ASR_STATE_OK},
    {3, 3, 0, 1, 100, 1, 0, 0, ASR_STATE_EMPTY},
    {3, 3, 0, 1, 100, 1, 150, 100, ASR_STATE_OK}, /* level above max: clamped */
    {3, 3, 0, 1, -2, 1, -3, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, 100, 1, -3, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, 100, 1, -2, ASR_PERCENT_NULL, ASR_STATE_UNKNOWN},
    {3, 3, 0, 1, 100, 1, -1, ASR_PERCENT_NULL, ASR_STATE_OK}, /* no restriction */
    {3, 3, 0, 1, 100, 1, -7, ASR_PERCENT_NULL, ASR_STATE_UNKNOWN},
    {3, 3, 0, 1, -2, 1, 40, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, -1, 1, 40, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, -3, 1, 40, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, 0, 1, 40, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING}, /* max 0 */
    {3, 3, 0, 1, 4294967296LL, 1, 40, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
    {3, 3, 0, 1, -2, 1, 0, ASR_PERCENT_NULL, ASR_STATE_EMPTY},
    {3, 3, 19, 1, -2, 1, 40, 40, ASR_STATE_OK}, /* unit percent, max unknown */
    {3, 3, 19, 0, 0, 1, 7, 7, ASR_STATE_LOW},
    {3, 3, 19, 1, -2, 1, 250, 100, ASR_STATE_OK},
    {3, 3, 0, 1, 100, 0, 0, ASR_PERCENT_NULL, ASR_STATE_UNKNOWN}, /* no level column */
    {4, 4, 0, 1, 100, 1, 0, 0, ASR_STATE_FULL},                   /* receptacle: no space left */
    {4, 4, 0, 1, 100, 1, 5, 5, ASR_STATE_LOW},
    {4, 4, 0, 1, 100, 1, 80, 80, ASR_STATE_OK},
    {0, 8, 0, 1, 6700, 1, 0, 0, ASR_STATE_FULL}, /* class inferred from type */
    {4, 4, 0, 1, -2, 1, -3, ASR_PERCENT_NULL, ASR_STATE_SOME_REMAINING},
};

START_TEST(test_normalize)
{
  const norm_case *c = &norm_cases[_i];
  asr_supply s;

  memset(&s, 0, sizeof(s));
  s.klass = c->klass;
  s.type = c->type;
  s.unit = c->unit;
  s.has_max = c->has_max;
  s.max = c->max;
  s.has_level = c->has_level;
  s.level = c->level;
  asr_supply_normalize(&s, 0);
  ck_assert_msg(s.percent == c->percent, "case %d: percent %d", _i, s.percent);
  ck_assert_msg(s.state == c->state, "case %d: state %s", _i, asr_supply_state_name(s.state));
}
END_TEST

START_TEST(test_class_inferred)
{
  asr_supply s;

  memset(&s, 0, sizeof(s));
  s.type = 8; /* wasteInk */
  asr_supply_normalize(&s, 0);
  ck_assert_int_eq(s.klass, ASR_CLASS_RECEPTACLE);
  s.klass = 0;
  s.type = 9; /* opc */
  asr_supply_normalize(&s, 0);
  ck_assert_int_eq(s.klass, ASR_CLASS_CONSUMED);
}
END_TEST

/* ---- is-printer ----------------------------------------------------------------- */

START_TEST(test_printer_at_hr_index_2)
{
  static const char *const lines[] = {
      "1.3.6.1.2.1.1.1.0|4|Office box",
      HRTYPE "1|6|1.3.6.1.2.1.25.3.1.4",
      HRTYPE "2" PRINTER_TYPE,
      "1.3.6.1.2.1.25.3.2.1.3.1|4|Network card",
      "1.3.6.1.2.1.25.3.2.1.3.2|4|Acme Laser 9000",
      NULL,
  };

  ck_assert_int_eq(build(lines, "10.1.1.1"), ASR_OK);
  ck_assert(dev.is_printer);
  ck_assert_str_eq(dev.model, "Acme Laser 9000");
}
END_TEST

START_TEST(test_not_a_printer)
{
  static const char *const lines[] = {
      "1.3.6.1.2.1.1.1.0|4|Linux router 5.10",
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
      HRTYPE "1|6|1.3.6.1.2.1.25.3.1.3",
      "1.3.6.1.2.1.43.5.1.1.17.1|130|",
      NULL,
  };

  ck_assert_int_eq(build(lines, "10.1.1.1"), ASR_ERR_NOT_PRINTER);
  ck_assert(!dev.is_printer);
  ck_assert_str_eq(dev.sys_descr, "Linux router 5.10");
  ck_assert_str_eq(dev.sys_object_id, "1.3.6.1.4.1.8072.3.2.10");
}
END_TEST

START_TEST(test_printer_mib_only)
{
  static const char *const lines[] = {
      SUP "9.1.1|2|40",
      NULL,
  };

  ck_assert_int_eq(build(lines, NULL), ASR_OK);
  ck_assert(dev.is_printer);
  ck_assert_uint_eq(dev.n_supplies, 1);
}
END_TEST

/* ---- identity ------------------------------------------------------------------- */

START_TEST(test_vendor_and_model_from_sysdescr)
{
  static const char *const hp[] = {
      "1.3.6.1.2.1.1.1.0|4|HP ETHERNET MULTI-ENVIRONMENT,SN:ZZ1,FN:9,PID:HP LaserJet Q100,x",
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
      SUP "9.1.1|2|1",
      NULL,
  };
  static const char *const xerox[] = {
      "1.3.6.1.2.1.1.1.0|4|Xerox VersaTest 77; System 1.2.3",
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.253.8.62.1",
      SUP "9.1.1|2|1",
      NULL,
  };
  static const char *const oem[] = {
      "1.3.6.1.2.1.1.1.0|4|SAVIN MP 9 1.0 / SAVIN Network Printer",
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.367.1.1",
      SUP "9.1.1|2|1",
      NULL,
  };

  build(hp, NULL);
  ck_assert_str_eq(dev.vendor, "HP");
  ck_assert_str_eq(dev.model, "HP LaserJet Q100");
  build(xerox, NULL);
  ck_assert_str_eq(dev.vendor, "Xerox");
  ck_assert_str_eq(dev.model, "Xerox VersaTest 77");
  build(oem, NULL);
  ck_assert_str_eq(dev.vendor, "Ricoh");
  ck_assert_str_eq(dev.model, "SAVIN MP 9 1.0");
}
END_TEST

/* ---- serial --------------------------------------------------------------------- */

START_TEST(test_serial_fallbacks)
{
  static const char *const std[] = {
      HRTYPE "1" PRINTER_TYPE,
      "1.3.6.1.2.1.43.5.1.1.17.1|4x|00 51 52 33 00 00",
      "1.3.6.1.2.1.47.1.1.1.1.11.1|4|ENT111",
      NULL,
  };
  static const char *const ent[] = {
      HRTYPE "1" PRINTER_TYPE,
      "1.3.6.1.2.1.43.5.1.1.17.1|4|XXXXXXXX",
      "1.3.6.1.2.1.47.1.1.1.1.11.1|4|  ",
      "1.3.6.1.2.1.47.1.1.1.1.11.5|4|ENT555  ",
      NULL,
  };
  static const char *const vendor[] = {
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2435.2.3.9.1",
      HRTYPE "1" PRINTER_TYPE,
      "1.3.6.1.2.1.43.5.1.1.17.1|4|unknown",
      "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0|4|BRO42",
      NULL,
  };
  static const char *const hp_pml[] = {
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1",
      HRTYPE "1" PRINTER_TYPE,
      "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0|4x|0115 4850 3132 33",
      NULL,
  };
  static const char *const other_vendor[] = {
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.641.1",
      HRTYPE "1" PRINTER_TYPE,
      "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0|4|NOTLEXMARK",
      NULL,
  };

  build(std, NULL);
  ck_assert_str_eq(dev.serial, "QR3");
  build(ent, NULL);
  ck_assert_str_eq(dev.serial, "ENT555");
  build(vendor, NULL);
  ck_assert_str_eq(dev.serial, "BRO42");
  build(hp_pml, NULL);
  ck_assert_str_eq(dev.serial, "HP123");
  build(other_vendor, NULL);
  ck_assert_str_eq(dev.serial, "");
}
END_TEST

START_TEST(test_serial_placeholders)
{
  static const char *const values[] = {"unknown", "NONE",     "n/a", "0",           "0000", "-",
                                       "--",      "xxxxxxxx", "  ",  "4x|00000000", NULL};
  char line[128];

  for (size_t i = 0; values[i]; i++) {
    const char *lines[3] = {HRTYPE "1" PRINTER_TYPE, line, NULL};

    if (strncmp(values[i], "4x|", 3) == 0)
      snprintf(line, sizeof(line), "1.3.6.1.2.1.43.5.1.1.17.1|%s", values[i]);
    else
      snprintf(line, sizeof(line), "1.3.6.1.2.1.43.5.1.1.17.1|4|%s", values[i]);
    build(lines, NULL);
    ck_assert_msg(dev.serial[0] == '\0', "placeholder %s kept", values[i]);
  }
}
END_TEST

START_TEST(test_extra_gets)
{
  static const char *const none[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.367.1.1", NULL};
  static const char *const have[] = {"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.367.1.1",
                                     "1.3.6.1.2.1.43.5.1.1.17.1|4|R1", NULL};
  const char *oids[4];
  asr_vbset *s = vbfix_new(none);

  /* the serial first, then the vendor's billing meters (snmp/meters.c) */
  ck_assert_uint_eq(asr_printer_extra_gets(s, oids, 4), 4);
  ck_assert_str_eq(oids[0], "1.3.6.1.4.1.367.3.2.1.2.1.4.0");
  ck_assert_str_eq(oids[1], "1.3.6.1.4.1.367.3.2.1.2.19.1.0");
  asr_vbset_free(s);
  s = vbfix_new(have);
  ck_assert_uint_eq(asr_printer_extra_gets(s, oids, 4), 3); /* meters only */
  asr_vbset_free(s);
}
END_TEST

/* ---- mac ------------------------------------------------------------------------ */

START_TEST(test_mac_selection)
{
  static const char *const lines[] = {
      SUP "9.1.1|2|1",
      "1.3.6.1.2.1.2.2.1.6.1|4x|000000000000",
      "1.3.6.1.2.1.2.2.1.6.2|4x|0A0B0C0D0E0F",
      "1.3.6.1.2.1.2.2.1.6.3|4x|A0B1C2D3E4F5",
      "1.3.6.1.2.1.2.2.1.6.4|4x|00000000000000",
      "1.3.6.1.2.1.4.20.1.2.10.9.8.7|2|3",
      "1.3.6.1.2.1.4.20.1.2.10.9.8.6|2|1",
      NULL,
  };

  build(lines, "10.9.8.7");
  ck_assert_str_eq(dev.mac, "a0:b1:c2:d3:e4:f5");
  build(lines, "10.9.8.6"); /* owner has an all-zero MAC: the first real one */
  ck_assert_str_eq(dev.mac, "0a:0b:0c:0d:0e:0f");
  build(lines, "printer.example");
  ck_assert_str_eq(dev.mac, "0a:0b:0c:0d:0e:0f");
}
END_TEST

START_TEST(test_mac_rejects_broadcast_and_short)
{
  static const char *const lines[] = {
      SUP "9.1.1|2|1",
      "1.3.6.1.2.1.2.2.1.6.1|4x|FFFFFFFFFFFF",
      "1.3.6.1.2.1.2.2.1.6.2|4x|0102",
      "1.3.6.1.2.1.2.2.1.6.3|2|5",
      NULL,
  };

  build(lines, NULL);
  ck_assert_str_eq(dev.mac, "");
}
END_TEST

/* ---- page count and status ------------------------------------------------------ */

START_TEST(test_page_count_types)
{
  static const char *const tags[] = {"2|1234", "65|1234", "66|1234", "70|1234", NULL};
  static const char *const bad[] = {"2|-5", "4|1234", NULL};
  char line[96];
  const char *lines[3] = {SUP "9.1.1|2|1", line, NULL};

  for (size_t i = 0; tags[i]; i++) {
    snprintf(line, sizeof(line), "1.3.6.1.2.1.43.10.2.1.4.1.1|%s", tags[i]);
    build(lines, NULL);
    ck_assert(dev.has_page_count);
    ck_assert_int_eq(dev.page_count, 1234);
  }
  for (size_t i = 0; bad[i]; i++) {
    snprintf(line, sizeof(line), "1.3.6.1.2.1.43.10.2.1.4.1.1|%s", bad[i]);
    build(lines, NULL);
    ck_assert(!dev.has_page_count);
  }
  /* A Counter64 past 2^63 (saturated by the vbset) is absurd: unknown. */
  snprintf(line, sizeof(line), "1.3.6.1.2.1.43.10.2.1.4.1.1|70|18446744073709551615");
  build(lines, NULL);
  ck_assert(!dev.has_page_count);
  snprintf(line, sizeof(line), "1.3.6.1.2.1.43.10.2.1.4.1.1|70|9223372036854775806");
  build(lines, NULL);
  ck_assert(dev.has_page_count);
  ck_assert_int_eq(dev.page_count, INT64_MAX - 1);
}
END_TEST

START_TEST(test_status_bits)
{
  static const char *const lines[] = {
      HRTYPE "1|6|1.3.6.1.2.1.25.3.1.4",
      HRTYPE "3" PRINTER_TYPE,
      "1.3.6.1.2.1.25.3.5.1.1.1|2|5",
      "1.3.6.1.2.1.25.3.5.1.1.3|2|4",
      "1.3.6.1.2.1.25.3.5.1.2.1|4x|FFFF",
      "1.3.6.1.2.1.25.3.5.1.2.3|4x|8104",
      NULL,
  };

  build(lines, NULL);
  ck_assert_int_eq(dev.printer_status, 4);
  ck_assert(dev.has_error_state);
  /* 0x81 = bits 0 (lowPaper) and 7 (serviceRequested); 0x04 = bit 13 (inputTrayEmpty) */
  ck_assert_uint_eq(dev.error_bits, (1u << 0) | (1u << 7) | (1u << 13));
  ck_assert_str_eq(asr_printer_error_name(13), "inputTrayEmpty");
}
END_TEST

/* ---- supplies ------------------------------------------------------------------- */

START_TEST(test_colorant_from_table_and_description)
{
  static const char *const lines[] = {
      SUP "3.1.1|2|2",
      SUP "6.1.1|4|Cartridge A",
      SUP "6.1.2|4|Toner (Magenta) XL",
      SUP "6.1.3|4|Schwarz Tonerkartusche",
      SUP "6.1.4|4|Blackberry unit",
      SUP "6.1.5|4|Light Cyan Ink",
      "1.3.6.1.2.1.43.12.1.1.4.1.2|4|Cyan",
      NULL,
  };

  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 5);
  ck_assert_str_eq(dev.supplies[0].colorant, "cyan");
  ck_assert_str_eq(dev.supplies[1].colorant, "magenta");
  ck_assert_str_eq(dev.supplies[2].colorant, "black");
  ck_assert_str_eq(dev.supplies[3].colorant, "");
  ck_assert_str_eq(dev.supplies[4].colorant, "light cyan");
  ck_assert_str_eq(dev.supplies[0].colorant_std, "cyan");
  ck_assert_str_eq(dev.supplies[2].colorant_std, "black");
  ck_assert_str_eq(dev.supplies[3].colorant_std, "");
  ck_assert_str_eq(dev.supplies[4].colorant_std, "light cyan");
}
END_TEST

/* The printer's colorant word is kept (lower-cased) beside its canonical word. */
START_TEST(test_colorant_std_localized)
{
  static const char *const lines[] = {
      SUP "3.1.1|2|1",
      SUP "3.1.2|2|2",
      SUP "3.1.3|2|3",
      SUP "3.1.4|2|4",
      SUP "3.1.5|2|5",
      SUP "6.1.5|4|Resttonerbeh\xc3\xa4lter",
      "1.3.6.1.2.1.43.12.1.1.4.1.1|4|Schwarz",
      "1.3.6.1.2.1.43.12.1.1.4.1.2|4|CYAAN",
      "1.3.6.1.2.1.43.12.1.1.4.1.3|4|M",
      "1.3.6.1.2.1.43.12.1.1.4.1.4|4|jaune",
      "1.3.6.1.2.1.43.12.1.1.4.1.5|4|other",
      NULL,
  };

  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 5);
  ck_assert_str_eq(dev.supplies[0].colorant, "schwarz");
  ck_assert_str_eq(dev.supplies[0].colorant_std, "black");
  ck_assert_str_eq(dev.supplies[1].colorant, "cyaan");
  ck_assert_str_eq(dev.supplies[1].colorant_std, "cyan");
  ck_assert_str_eq(dev.supplies[2].colorant, "m");
  ck_assert_str_eq(dev.supplies[2].colorant_std, "magenta");
  ck_assert_str_eq(dev.supplies[3].colorant_std, "yellow");
  ck_assert_str_eq(dev.supplies[4].colorant, "other");
  ck_assert_str_eq(dev.supplies[4].colorant_std, "");
}
END_TEST

/* prtMarkerColorantValue is ASCII by the MIB: a printer localized in UTF-16 sends "black"
 * in ASCII, which must not be read as UTF-16 (CJK garbage); one that sends it in UTF-16
 * anyway, with or without a byte-order mark, is read right too. */
START_TEST(test_colorant_not_in_localization_charset)
{
  static const char *const lines[] = {
      "1.3.6.1.2.1.43.5.1.1.2.1|2|1",
      "1.3.6.1.2.1.43.7.1.1.4.1.1|2|1015",
      SUP "3.1.1|2|1",
      SUP "3.1.2|2|2",
      SUP "3.1.3|2|3",
      SUP "3.1.4|2|4",
      SUP "6.1.1|4x|feff0054006f006e0065007200200053",
      "1.3.6.1.2.1.43.12.1.1.4.1.1|4|black",
      "1.3.6.1.2.1.43.12.1.1.4.1.2|4x|630079006100 6e00",
      "1.3.6.1.2.1.43.12.1.1.4.1.3|4x|006d006100670065006e00740061",
      "1.3.6.1.2.1.43.12.1.1.4.1.4|4x|fffe590065006c006c006f007700",
      NULL,
  };

  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 4);
  ck_assert_str_eq(dev.supplies[0].description, "Toner S");
  ck_assert_str_eq(dev.supplies[0].colorant, "black");
  ck_assert_str_eq(dev.supplies[0].colorant_std, "black");
  ck_assert_str_eq(dev.supplies[1].colorant, "cyan");    /* UTF-16LE without a mark */
  ck_assert_str_eq(dev.supplies[2].colorant, "magenta"); /* UTF-16BE without a mark */
  ck_assert_str_eq(dev.supplies[3].colorant, "yellow");  /* UTF-16LE with its mark */
  ck_assert_str_eq(dev.supplies[3].colorant_std, "yellow");
}
END_TEST

START_TEST(test_type_inferred_when_missing)
{
  static const char *const lines[] = {
      SUP "6.1.1|4|Waste Toner Bottle",
      SUP "6.1.2|4|Imaging Drum",
      SUP "6.1.3|4|Fuser Kit",
      SUP "6.1.4|4|Yellow Toner",
      SUP "6.1.5|4|Photo Ink",
      SUP "6.1.6|4|Thing",
      SUP "6.1.7|4|Maintenance Box",
      SUP "5.1.8|2|5",
      SUP "6.1.8|4|Toner X",
      SUP "8.1.1|2|100",
      SUP "9.1.1|2|0",
      NULL,
  };

  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 8);
  ck_assert_int_eq(dev.supplies[0].type, 4);
  ck_assert_int_eq(dev.supplies[0].klass, ASR_CLASS_RECEPTACLE);
  ck_assert_int_eq(dev.supplies[0].state, ASR_STATE_FULL);
  ck_assert_int_eq(dev.supplies[1].type, 9);
  ck_assert_int_eq(dev.supplies[2].type, 15);
  ck_assert_int_eq(dev.supplies[3].type, 3);
  ck_assert_int_eq(dev.supplies[4].type, 5);
  ck_assert_int_eq(dev.supplies[5].type, 0);
  ck_assert_int_eq(dev.supplies[6].type, 8);
  ck_assert_int_eq(dev.supplies[7].type, 5); /* reported type wins over the description */
}
END_TEST

START_TEST(test_exact_values_and_missing_columns)
{
  static const char *const lines[] = {
      SUP "4.1.1|2|3",
      SUP "5.1.1|2|21",
      SUP "7.1.1|2|13",
      SUP "8.1.1|2|2500",
      SUP "9.1.1|65|1000",
      SUP "9.1.2|2|70",
      NULL,
  };

  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 2);
  ck_assert_int_eq(dev.supplies[0].unit, 13);
  ck_assert_int_eq(dev.supplies[0].max, 2500);
  ck_assert_int_eq(dev.supplies[0].level, 1000);
  ck_assert_int_eq(dev.supplies[0].percent, 40);
  ck_assert_int_eq(dev.supplies[0].hr_index, 1);
  ck_assert(!dev.supplies[1].has_max);
  ck_assert_int_eq(dev.supplies[1].percent, ASR_PERCENT_NULL);
  ck_assert_int_eq(dev.supplies[1].state, ASR_STATE_SOME_REMAINING);
  ck_assert_str_eq(dev.supplies[1].description, "");
}
END_TEST

START_TEST(test_charset_from_localization)
{
  static const char *const lines[] = {
      "1.3.6.1.2.1.43.5.1.1.2.1|2|2",
      "1.3.6.1.2.1.43.7.1.1.4.1.1|2|106",
      "1.3.6.1.2.1.43.7.1.1.4.1.2|2|1014",
      SUP "6.1.1|4x|4200 6C00 6100 6E00 6300",
      NULL,
  };
  static const char *const latin1[] = {
      "1.3.6.1.2.1.43.7.1.1.4.1.1|2|4",
      SUP "6.1.1|4x|4A61756E65 20 E9",
      NULL,
  };

  build(lines, NULL);
  ck_assert_str_eq(dev.supplies[0].description, "Blanc");
  build(latin1, NULL);
  ck_assert_str_eq(dev.supplies[0].description, "Jaune \xc3\xa9");
}
END_TEST

START_TEST(test_garbage_values)
{
  static char big[70000];
  const char *lines[] = {
      big,
      SUP "8.1.1|4|100",
      SUP "9.1.1|4|fifty",
      SUP "5.1.1|4|toner",
      SUP "4.1.1|2|99",
      SUP "9.1.2|2|2147483647",
      SUP "8.1.2|2|-2147483648",
      SUP "9.1.3|70|9223372036854775807",
      SUP "8.1.3|66|4294967295",
      SUP "6.1.3|4x|FF FE 00 D8 41 00 1B 5B 33 31 6D 0A",
      SUP "9.1.9.9|2|5",
      "1.3.6.1.2.1.1.2.0|4|not an oid",
      NULL,
  };
  int n = snprintf(big, sizeof(big), SUP "6.1.1|4|");

  memset(big + n, 'A', sizeof(big) - (size_t)n - 1);
  build(lines, NULL);
  ck_assert_uint_eq(dev.n_supplies, 3);
  ck_assert_uint_eq(strlen(dev.supplies[0].description), ASR_DESCR_MAX - 1);
  ck_assert(!dev.supplies[0].has_level);
  ck_assert_int_eq(dev.supplies[0].type, 0);  /* a string where an integer belongs */
  ck_assert_int_eq(dev.supplies[0].klass, 0); /* 99 is not a class */
  ck_assert_int_eq(dev.supplies[0].state, ASR_STATE_UNKNOWN);
  ck_assert_int_eq(dev.supplies[1].percent, ASR_PERCENT_NULL);
  ck_assert_int_eq(dev.supplies[2].percent, ASR_PERCENT_NULL); /* max above 2^31-1 */
  ck_assert_int_eq(dev.supplies[2].state, ASR_STATE_SOME_REMAINING);
  ck_assert(asr_utf8_valid((const uint8_t *)dev.supplies[2].description,
                           strlen(dev.supplies[2].description)));
  ck_assert_str_eq(dev.sys_object_id, "");
}
END_TEST

static int warnings;

static void count_sink(asr_log_level level, const char *msg, void *ctx)
{
  (void)msg;
  (void)ctx;
  if (level == ASR_LOG_WARN)
    warnings++;
}

START_TEST(test_too_many_supplies)
{
  asr_vbset *s = asr_vbset_new();
  char line[96];

  for (int i = 1; i <= ASR_SUPPLIES_MAX + 10; i++) {
    snprintf(line, sizeof(line), SUP "9.1.%d|2|%d", i, i);
    ck_assert(vbfix_add(s, line));
    snprintf(line, sizeof(line), SUP "8.1.%d|2|200", i);
    ck_assert(vbfix_add(s, line));
  }
  asr_vbset_finish(s);
  warnings = 0;
  asr_log_set_sink(count_sink, NULL);
  ck_assert_int_eq(asr_printer_build(s, "10.0.0.1", &dev), ASR_OK);
  asr_log_set_sink(NULL, NULL);
  ck_assert_uint_eq(dev.n_supplies, ASR_SUPPLIES_MAX);
  ck_assert_int_eq(dev.supplies[ASR_SUPPLIES_MAX - 1].index, ASR_SUPPLIES_MAX);
  ck_assert_int_eq(warnings, 1);
  asr_vbset_free(s);
}
END_TEST

static char last_warning[256];

static void keep_sink(asr_log_level level, const char *msg, void *ctx)
{
  (void)ctx;
  if (level == ASR_LOG_WARN)
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

/* Found while fuzzing: inspect builds with ip "", and the warning read ": more than 64
 * supplies". It names the recording instead. */
START_TEST(test_too_many_supplies_without_address)
{
  asr_vbset *s = asr_vbset_new();
  char line[96];

  for (int i = 1; i <= ASR_SUPPLIES_MAX + 1; i++) {
    snprintf(line, sizeof(line), SUP "9.1.%d|2|%d", i, i);
    ck_assert(vbfix_add(s, line));
  }
  asr_vbset_finish(s);
  last_warning[0] = '\0';
  asr_log_set_sink(keep_sink, NULL);
  ck_assert_int_eq(asr_printer_build(s, "", &dev), ASR_OK);
  asr_log_set_sink(NULL, NULL);
  ck_assert_str_eq(last_warning, "recording: more than 64 supplies, the rest ignored");
  asr_vbset_free(s);
}
END_TEST

/* ---- one supply index under two hrDevices ------------------------------------------ */

/* RFC 3805 indexes prtMarkerSuppliesTable by (hrDeviceIndex, prtMarkerSuppliesIndex). Some
 * firmwares copy the printer's rows under another hrDeviceIndex (the CPU's): the device
 * must list each supply once, the printer hrDevice's row winning (issue 10). */
START_TEST(test_supply_index_under_two_hrdevices)
{
  static const char *const lines[] = {
      HRTYPE "1|6|1.3.6.1.2.1.25.3.1.3", /* a CPU */
      HRTYPE "2" PRINTER_TYPE,
      SUP "6.1.1|4|Toner (stale copy)",
      SUP "6.1.2|4|Drum (stale copy)",
      SUP "6.1.3|4|Staples",
      SUP "6.2.1|4|Black Toner",
      SUP "6.2.2|4|Drum Unit",
      SUP "8.1.1|2|100",
      SUP "8.1.2|2|100",
      SUP "8.1.3|2|100",
      SUP "8.2.1|2|100",
      SUP "8.2.2|2|100",
      SUP "9.1.1|2|10",
      SUP "9.1.2|2|20",
      SUP "9.1.3|2|-3",
      SUP "9.2.1|2|60",
      SUP "9.2.2|2|70",
      NULL,
  };

  ck_assert_int_eq(build(lines, "10.0.0.1"), ASR_OK);
  ck_assert_uint_eq(dev.n_supplies, 3);
  ck_assert_int_eq(dev.supplies[0].index, 1);
  ck_assert_int_eq(dev.supplies[0].hr_index, 2);
  ck_assert_str_eq(dev.supplies[0].description, "Black Toner");
  ck_assert_int_eq(dev.supplies[0].level, 60);
  ck_assert_int_eq(dev.supplies[1].index, 2);
  ck_assert_int_eq(dev.supplies[1].hr_index, 2);
  ck_assert_int_eq(dev.supplies[1].level, 70);
  ck_assert_int_eq(dev.supplies[2].index, 3); /* listed under hrDevice 1 only: kept */
  ck_assert_int_eq(dev.supplies[2].hr_index, 1);
  ck_assert_str_eq(dev.supplies[2].description, "Staples");
}
END_TEST

/* Without an hrDevicePrinter the lowest hrDeviceIndex wins; exact copies of many rows do
 * not crowd real supplies out of the table's bound. */
START_TEST(test_supply_index_copies_without_printer_hr)
{
  asr_vbset *s = asr_vbset_new();
  char line[96];

  for (int hr = 3; hr >= 1; hr -= 2) {
    for (int i = 1; i <= 40; i++) {
      snprintf(line, sizeof(line), SUP "8.%d.%d|2|100", hr, i);
      ck_assert(vbfix_add(s, line));
      snprintf(line, sizeof(line), SUP "9.%d.%d|2|%d", hr, i, hr == 1 ? i : 99);
      ck_assert(vbfix_add(s, line));
    }
  }
  asr_vbset_finish(s);
  warnings = 0;
  asr_log_set_sink(count_sink, NULL);
  ck_assert_int_eq(asr_printer_build(s, "10.0.0.1", &dev), ASR_OK);
  asr_log_set_sink(NULL, NULL);
  ck_assert_int_eq(warnings, 0);
  ck_assert_uint_eq(dev.n_supplies, 40);
  for (int i = 0; i < 40; i++) {
    ck_assert_int_eq(dev.supplies[i].index, i + 1);
    ck_assert_int_eq(dev.supplies[i].hr_index, 1);
    ck_assert_int_eq(dev.supplies[i].level, i + 1);
  }
  asr_vbset_free(s);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("printer");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_loop_test(tc, test_normalize, 0, (int)(sizeof(norm_cases) / sizeof(norm_cases[0])));
  tcase_add_test(tc, test_class_inferred);
  tcase_add_test(tc, test_printer_at_hr_index_2);
  tcase_add_test(tc, test_not_a_printer);
  tcase_add_test(tc, test_printer_mib_only);
  tcase_add_test(tc, test_vendor_and_model_from_sysdescr);
  tcase_add_test(tc, test_serial_fallbacks);
  tcase_add_test(tc, test_serial_placeholders);
  tcase_add_test(tc, test_extra_gets);
  tcase_add_test(tc, test_mac_selection);
  tcase_add_test(tc, test_mac_rejects_broadcast_and_short);
  tcase_add_test(tc, test_page_count_types);
  tcase_add_test(tc, test_status_bits);
  tcase_add_test(tc, test_colorant_from_table_and_description);
  tcase_add_test(tc, test_colorant_std_localized);
  tcase_add_test(tc, test_colorant_not_in_localization_charset);
  tcase_add_test(tc, test_type_inferred_when_missing);
  tcase_add_test(tc, test_exact_values_and_missing_columns);
  tcase_add_test(tc, test_charset_from_localization);
  tcase_add_test(tc, test_garbage_values);
  tcase_add_test(tc, test_too_many_supplies);
  tcase_add_test(tc, test_too_many_supplies_without_address);
  tcase_add_test(tc, test_supply_index_under_two_hrdevices);
  tcase_add_test(tc, test_supply_index_copies_without_printer_hr);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
