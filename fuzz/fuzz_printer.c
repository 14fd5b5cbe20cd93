/* fuzz/fuzz_printer.c: libFuzzer target for the Printer-MIB model, fed binary varbinds.
 *
 * Text recordings make the fuzzer spend its time on the parser; this target skips it.
 * The input is decoded into an asr_vbset as a list of varbinds, each:
 *
 *   prefix  1 byte   which object (the table below: the columns snmp/printer.c reads);
 *                    0xF8..0xFF: a burst instead (see add_burst())
 *   suffix  1 byte   0..3 instance sub-identifiers follow, one byte each (see subid())
 *   type    1 byte   asr_vb_type (low 3 bits); bit 7 with an empty OCTETS: bytes = NULL
 *   value            INTEGER/UNSIGNED/COUNTER64: 1 byte (special or small) or 1+8 bytes;
 *                    OCTETS/IPADDR: length 1 byte (0xFE: 2 more bytes, 0xFF: 70000 bytes
 *                    made from the rest of the input), then the bytes;
 *                    OID: 1 byte (length of sub-ids that follow, or a well-known value)
 *
 * Missing bytes read as 0, so every input is valid. Two header bytes choose a charset and
 * a small buffer size for a direct asr_charset_decode() check of every string value.
 * Then asr_printer_build() and the invariants of fuzz/fuzz_check.h. Built and run by
 * scripts/fuzz.sh. */
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_reader.h"

#include <stdint.h>

#include "common/util.h"
#include "snmp/printer.h"
#include "snmp/recording.h"
#include "snmp/vbset.h"

/* The model reads the sorted set, never the arrival order: the same varbinds added in
 * reverse order, each followed by a duplicate that must lose (the first one added is
 * kept), give the same device byte for byte. */
static void check_order(const asr_vbset *s, const asr_device *d)
{
  asr_vbset *rev = asr_vbset_new();
  asr_device *d2 = malloc(sizeof(*d2));
  static const uint8_t junk[] = "junk";

  if (!rev || !d2)
    abort();
  for (size_t i = asr_vbset_count(s); i-- > 0;) {
    asr_vb dup = *asr_vbset_at(s, i);

    if (asr_vbset_add(rev, asr_vbset_at(s, i)) != ASR_OK)
      fz_fail("asr_vbset_add", "refused a varbind of a finished set");
    dup.type = ASR_VB_OCTETS;
    dup.bytes = (uint8_t *)junk;
    dup.len = sizeof(junk) - 1;
    if (asr_vbset_add(rev, &dup) != ASR_OK)
      fz_fail("asr_vbset_add", "refused a duplicate");
  }
  asr_vbset_finish(rev);
  asr_printer_build(rev, "192.0.2.1", d2);
  if (memcmp(d, d2, sizeof(*d)) != 0)
    fz_fail("asr_printer_build", "depends on the order of the varbinds, or a duplicate won");
  free(d2);
  asr_vbset_free(rev);
}

/* Hex bytes and a line end: "0a1b" (snmprec 4x) or " 0A 1B" (Hex-STRING), written in
 * chunks (fprintf per byte made this check the fuzzer's bottleneck). */
static void write_hex(FILE *f, const uint8_t *b, size_t n, int spaced)
{
  char buf[3 * 256];
  size_t k = 0;

  for (size_t i = 0; i < n; i++) {
    if (spaced)
      buf[k++] = ' ';
    asr_hex_encode(b + i, 1, buf + k);
    k += 2;
    if (k + 4 > sizeof(buf)) {
      fwrite(buf, 1, k, f);
      k = 0;
    }
  }
  buf[k++] = '\n';
  fwrite(buf, 1, k, f);
}

/* Writes vb as one snmprec (walk == 0) or snmpwalk -On line; 0 when its value has no text
 * form that reads back the same (the check is then skipped). */
static int write_line(FILE *f, const asr_vb *vb, int walk)
{
  char oid[ASR_OID_MAX * 11 + 1], val[ASR_OID_MAX * 11 + 1];

  if (asr_oid_format(vb->oid, vb->oid_len, oid, sizeof(oid)) != ASR_OK)
    return 0;
  fprintf(f, walk ? ".%s = " : "%s|", oid);
  switch (vb->type) {
  case ASR_VB_INTEGER:
    fprintf(f, walk ? "INTEGER: %lld\n" : "2|%lld\n", (long long)vb->num);
    return 1;
  case ASR_VB_UNSIGNED:
    fprintf(f, walk ? "Gauge32: %lld\n" : "66|%lld\n", (long long)vb->num);
    return vb->num >= 0 && vb->num <= UINT32_MAX;
  case ASR_VB_COUNTER64:
    fprintf(f, walk ? "Counter64: %lld\n" : "70|%lld\n", (long long)vb->num);
    return vb->num >= 0;
  case ASR_VB_OCTETS:
  case ASR_VB_IPADDR:
    if (vb->type == ASR_VB_IPADDR && vb->len != 4)
      return 0;
    if (vb->type == ASR_VB_IPADDR && walk) {
      fprintf(f, "IpAddress: %u.%u.%u.%u\n", vb->bytes[0], vb->bytes[1], vb->bytes[2],
              vb->bytes[3]);
      return 1;
    }
    fputs(walk ? "Hex-STRING:" : vb->type == ASR_VB_IPADDR ? "64x|" : "4x|", f);
    write_hex(f, vb->bytes, vb->len, walk);
    return 1;
  case ASR_VB_OID:
    if (asr_oid_format(vb->oidval, vb->oidval_len, val, sizeof(val)) != ASR_OK)
      return 0;
    fprintf(f, walk ? "OID: .%s\n" : "6|%s\n", val);
    return vb->oidval_len > 0;
  case ASR_VB_NULL:
    fputs(walk ? "NULL\n" : "5|\n", f);
    return 1;
  default:
    fputs(walk ? "No Such Instance currently exists at this OID\n" : "129|\n", f);
    return 1;
  }
}

/* The set written as a recording (snmprec, or snmpwalk -On when walk) and read back by
 * snmp/recording.c gives the same device: the text reader agrees with the binary truth. */
static void check_text_roundtrip(const asr_vbset *s, const asr_device *d, int walk)
{
  char *text = NULL, err[256];
  size_t len = 0, n = asr_vbset_count(s);
  FILE *f = open_memstream(&text, &len);
  int ok = n > 0;
  asr_vbset *back = NULL;
  asr_device *d2;

  if (!f)
    abort();
  for (size_t i = 0; i < n && ok; i++)
    ok = write_line(f, asr_vbset_at(s, i), walk);
  fclose(f);
  f = ok ? fmemopen(text, len, "r") : NULL;
  if (f && asr_recording_read(f, &back, err, sizeof(err)) != ASR_OK) {
    fprintf(stderr, "%s\n----\n%s\n", err, text);
    fz_fail("asr_recording_read", walk ? "refused a walk written from a valid set"
                                       : "refused an snmprec written from a valid set");
  }
  if (f)
    fclose(f);
  d2 = back ? malloc(sizeof(*d2)) : NULL;
  if (d2) {
    asr_printer_build(back, "192.0.2.1", d2);
    if (memcmp(d, d2, sizeof(*d)) != 0)
      fz_fail("asr_recording_read", walk ? "a walk reads back as another device"
                                         : "an snmprec reads back as another device");
  }
  free(d2);
  asr_vbset_free(back);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The objects a varbind can be put under (dotted, an instance may follow). */
static const char *const prefixes[] = {
    "1.3.6.1.2.1.1.1.0",                    /* sysDescr.0 */
    "1.3.6.1.2.1.1.2.0",                    /* sysObjectID.0 */
    "1.3.6.1.2.1.1.5.0",                    /* sysName.0 */
    "1.3.6.1.2.1.25.3.2.1.2",               /* hrDeviceType */
    "1.3.6.1.2.1.25.3.2.1.3",               /* hrDeviceDescr */
    "1.3.6.1.2.1.25.3.5.1.1",               /* hrPrinterStatus */
    "1.3.6.1.2.1.25.3.5.1.2",               /* hrPrinterDetectedErrorState */
    "1.3.6.1.2.1.2.2.1.6",                  /* ifPhysAddress */
    "1.3.6.1.2.1.4.20.1.2",                 /* ipAdEntIfIndex */
    "1.3.6.1.2.1.4.20.1.2.192.0.2.1",       /* ipAdEntIfIndex.<the address we build with> */
    "1.3.6.1.2.1.43.5.1.1.2",               /* prtGeneralCurrentLocalization */
    "1.3.6.1.2.1.43.5.1.1.17",              /* prtGeneralSerialNumber */
    "1.3.6.1.2.1.43.7.1.1.4",               /* prtLocalizationCharacterSet */
    "1.3.6.1.2.1.43.10.2.1.4",              /* prtMarkerLifeCount */
    "1.3.6.1.2.1.43.11.1.1",                /* prtMarkerSuppliesEntry (any column) */
    "1.3.6.1.2.1.43.11.1.1.2",              /* prtMarkerSuppliesMarkerIndex */
    "1.3.6.1.2.1.43.11.1.1.3",              /* prtMarkerSuppliesColorantIndex */
    "1.3.6.1.2.1.43.11.1.1.4",              /* prtMarkerSuppliesClass */
    "1.3.6.1.2.1.43.11.1.1.5",              /* prtMarkerSuppliesType */
    "1.3.6.1.2.1.43.11.1.1.6",              /* prtMarkerSuppliesDescription */
    "1.3.6.1.2.1.43.11.1.1.7",              /* prtMarkerSuppliesSupplyUnit */
    "1.3.6.1.2.1.43.11.1.1.8",              /* prtMarkerSuppliesMaxCapacity */
    "1.3.6.1.2.1.43.11.1.1.9",              /* prtMarkerSuppliesLevel */
    "1.3.6.1.2.1.43.11.1.1.9",              /* (twice: levels matter most) */
    "1.3.6.1.2.1.43.11.1.1.6",              /* (twice: descriptions too) */
    "1.3.6.1.2.1.43.12.1.1.4",              /* prtMarkerColorantValue */
    "1.3.6.1.2.1.47.1.1.1.1.11",            /* entPhysicalSerialNum */
    "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0",   /* HP serial-number */
    "1.3.6.1.4.1.253.8.53.3.2.1.3.1",       /* Xerox xcmHrDevInfoSerialNumber */
    "1.3.6.1.4.1.367.3.2.1.2.1.4.0",        /* Ricoh ricohEngSerialNumber */
    "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0", /* Brother brInfoSerialNumber */
    "1.3.6.1.2.1.43",                       /* the Printer-MIB root */
    "1.3.6.1",                              /* anywhere else */
};

/* Enterprise numbers for sysObjectID values: the vendors of snmp/quirks.c and oddities. */
static const uint32_t enterprises[] = {
    11,   236,  253,  297,  367,   641,   674,   683, 1129, 1248,       1347,
    1602, 2001, 2385, 2435, 10642, 18334, 40093, 9,   0,    UINT32_MAX,
};

/* Numbers that mean something to the model (level codes, limits). */
static const int64_t special_nums[] = {
    0,         1,          2,   3,   -1,        -2,        -3,         -100,
    10,        100,        101, 19,  INT32_MAX, INT32_MIN, UINT32_MAX, INT64_MAX,
    INT64_MIN, 4294967296, 5,   106, 1013,      1014,      1015,       1000,
    4,         2252,       9,   8,   -101,      99,        50,         65535,
};

/* Charsets for the direct decode check (IANA MIBenum, 0 = unknown). */
static const int charsets[] = {0, 3, 4, 106, 1000, 1013, 1014, 1015, 2252, 65535};

/* A sub-identifier: mostly small (rows collide), sometimes a limit. */
static uint32_t subid(uint8_t b)
{
  static const uint32_t special[16] = {
      0,
      1,
      2,
      100,
      127,
      128,
      255,
      256,
      65535,
      65536,
      INT32_MAX,
      0x80000000u,
      UINT32_MAX - 1,
      UINT32_MAX,
      192,
      4,
  };

  return b < 0xF0 ? (uint32_t)(b & 0x0F) : special[b & 0x0F];
}

static int64_t number(fz_reader *r)
{
  return fz_number(r, special_nums, COUNT_OF(special_nums));
}

/* An OID value: hrDevicePrinter, an enterprise's sysObjectID, or raw sub-identifiers. */
static void oid_value(fz_reader *r, uint32_t *o, size_t *len)
{
  static const uint32_t printer[] = {1, 3, 6, 1, 2, 1, 25, 3, 1, 5};
  static const uint32_t ent[] = {1, 3, 6, 1, 4, 1};
  uint8_t b = fz_next(r);

  if (b < 0x80) {
    *len = b % 24;
    for (size_t i = 0; i < *len; i++)
      o[i] = subid(fz_next(r));
  } else if (b < 0xA0) {
    memcpy(o, printer, sizeof(printer));
    *len = COUNT_OF(printer);
  } else {
    memcpy(o, ent, sizeof(ent));
    o[6] = enterprises[b % COUNT_OF(enterprises)];
    o[7] = 1;
    o[8] = subid(fz_next(r));
    *len = 6 + 1 + (b & 3);
  }
}

/* Decodes the value in vb->type; returns a buffer to free (or NULL). */
static uint8_t *value(fz_reader *r, asr_vb *vb, uint32_t *oidval, int null_bytes)
{
  uint8_t *owned = NULL;

  switch (vb->type) {
  case ASR_VB_INTEGER:
  case ASR_VB_UNSIGNED:
  case ASR_VB_COUNTER64:
    vb->num = number(r);
    break;
  case ASR_VB_OCTETS:
  case ASR_VB_IPADDR:
    vb->bytes = (uint8_t *)fz_octets(r, &vb->len, &owned);
    if (vb->len == 0 && null_bytes)
      vb->bytes = NULL; /* what snmp/scan.c passes for an empty net-snmp string */
    break;
  case ASR_VB_OID:
    vb->oidval = oidval;
    oid_value(r, oidval, &vb->oidval_len);
    break;
  default:
    break;
  }
  return owned;
}

/* Decodes each string value directly with a tiny buffer: cut on a character boundary. */
static void check_decode(const asr_vb *vb, int charset, size_t n)
{
  char out[64];
  size_t len;

  if (vb->type != ASR_VB_OCTETS)
    return;
  memset(out, 'X', sizeof(out));
  len = asr_charset_decode(vb->bytes, vb->len, charset, out, n);
  if (len >= n || out[len] != '\0' || strlen(out) != len)
    fz_fail("asr_charset_decode", "length or NUL outside the buffer");
  if (out[n] != 'X')
    fz_fail("asr_charset_decode", "wrote past the buffer");
  fz_check_str(out, n, "asr_charset_decode output");
}

/* A burst: one supplies column (2..9) for up to 255 rows <col>.1.<i> with one number, so
 * that tables past ASR_SUPPLIES_MAX rows are reached with a few bytes. */
static void add_burst(fz_reader *r, asr_vbset *s, uint8_t b)
{
  uint32_t oid[ASR_OID_MAX];
  asr_vb vb = {.oid = oid, .type = ASR_VB_INTEGER};
  size_t count = fz_next(r);

  if (asr_oid_parse(prefixes[15 + (b & 7)], oid, ASR_OID_MAX, &vb.oid_len))
    abort();
  oid[vb.oid_len++] = 1;
  vb.oid_len++;
  vb.num = number(r);
  for (size_t i = 0; i < count; i++) {
    oid[vb.oid_len - 1] = (uint32_t)i;
    if (asr_vbset_add(s, &vb) != ASR_OK)
      fz_fail("asr_vbset_add", "refused a valid varbind");
  }
}

/* One varbind (prefix byte < 0xF8) or a burst (0xF8..0xFF) from the reader into the set. */
static void add_one(fz_reader *r, asr_vbset *s, int charset, size_t outn)
{
  uint32_t oid[ASR_OID_MAX], oidval[ASR_OID_MAX];
  asr_vb vb = {.oid = oid};
  uint8_t *owned;
  uint8_t b = fz_next(r);

  if (b >= 0xF8) {
    add_burst(r, s, b);
    return;
  }
  if (asr_oid_parse(prefixes[b % COUNT_OF(prefixes)], oid, ASR_OID_MAX, &vb.oid_len))
    abort();
  b = fz_next(r);
  for (int i = 0; i < (b & 3); i++)
    oid[vb.oid_len++] = subid(fz_next(r));
  b = fz_next(r);
  vb.type = (asr_vb_type)(b & 7);
  owned = value(r, &vb, oidval, b & 0x80);
  check_decode(&vb, charset, outn);
  if (asr_vbset_add(s, &vb) != ASR_OK)
    fz_fail("asr_vbset_add", "refused a valid varbind");
  free(owned);
}

static void check_extra_gets(const asr_vbset *s)
{
  const char *oids[4];
  size_t n = asr_printer_extra_gets(s, oids, COUNT_OF(oids));
  uint32_t o[ASR_OID_MAX];
  size_t len;

  if (n > COUNT_OF(oids))
    fz_fail("asr_printer_extra_gets", "more OIDs than asked for");
  for (size_t i = 0; i < n; i++) {
    if (!oids[i] || asr_oid_parse(oids[i], o, ASR_OID_MAX, &len) != ASR_OK)
      fz_fail("asr_printer_extra_gets", "not a dotted OID");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int quiet;
  fz_reader r = {data, size};
  int charset = charsets[fz_next(&r) % COUNT_OF(charsets)];
  size_t outn = 1 + fz_next(&r) % 40;
  asr_vbset *s = asr_vbset_new();
  asr_device *d = malloc(sizeof(*d));
  asr_result res;

  if (!quiet) {
    fz_quiet();
    quiet = 1;
  }
  if (!s || !d)
    abort();
  while (r.n > 0)
    add_one(&r, s, charset, outn);
  asr_vbset_finish(s);
  fz_check_vbset(s);
  res = asr_printer_build(s, "192.0.2.1", d);
  if (res != ASR_OK && res != ASR_ERR_NOT_PRINTER)
    fz_fail("asr_printer_build", asr_result_str(res));
  if ((res == ASR_OK) != d->is_printer || d->is_printer != (asr_printer_is_printer(s) != 0))
    fz_fail("asr_printer_build", "result, is_printer and asr_printer_is_printer disagree");
  fz_check_device(d);
  fz_check_output(d);
  check_extra_gets(s);
  check_order(s, d);
  check_text_roundtrip(s, d, 0);
  check_text_roundtrip(s, d, 1);
  free(d);
  asr_vbset_free(s);
  return 0;
}
