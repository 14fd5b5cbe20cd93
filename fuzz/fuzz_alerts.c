/* fuzz/fuzz_alerts.c: libFuzzer target for prtAlertTable (snmp/alerts.c) and the vendor
 * meter values (snmp/meters.c), fed binary cells.
 *
 * The input is two header bytes (which hrDevice the printer is: 0..3; the size of a
 * small summary buffer: 1..256) and then a list of cells, each:
 *
 *   column  1 byte   prtAlertEntry column b % 12 (0, 1, 10, 11 are not the MIB's);
 *                    0xF0..0xF7: a burst of rows instead (see add_burst());
 *                    0xF8..0xFF: a vendor meter OID instead (see add_meter())
 *   hr      1 byte   the hrDeviceIndex sub-identifier (see subid())
 *   index   1 byte   the prtAlertIndex sub-identifier (see subid(): small ones collide)
 *   type    1 byte   asr_vb_type (low 3 bits)
 *   value            INTEGER/UNSIGNED/COUNTER64: 1 byte (special or small) or 1+8 bytes;
 *                    OCTETS: length 1 byte (0xFE: 2 more bytes, 0xFF: 70,000 bytes made
 *                    from the rest of the input), then the bytes
 *
 * Missing bytes read as 0, so every input is valid. Then asr_alerts_read() for the chosen
 * hrDevice and the invariants below; asr_meters_read() for Brother and Lexmark (a record
 * string and a string of digits) and asr_meters_brother_record() on every string; the
 * device printed in every format (fz_check_output). Built and run by scripts/fuzz.sh. */
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_reader.h"

#include <stdint.h>

#include "snmp/alerts.h"
#include "snmp/meters.h"
#include "snmp/vbset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ALERT_ENTRY "1.3.6.1.2.1.43.18.1.1"

/* Vendor meter OIDs whose values are strings or records to decode. */
static const char *const meter_oids[] = {
    "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.10.0", /* Brother brInfoCounter */
    "1.3.6.1.4.1.641.2.1.5.1.0",             /* Lexmark pgTotal */
    "1.3.6.1.4.1.641.2.1.5.3.0",             /* Lexmark pgColor */
    "1.3.6.1.2.1.43.10.2.1.4.1.1",           /* prtMarkerLifeCount */
};

static const int64_t special_nums[] = {
    0,         1,         2,         3,          4,          5,     7,    8,  11,   13,
    30,        501,       1101,      1115,       -1,         -2,    -3,   -5, 1801, 2147483647,
    INT32_MIN, INT64_MAX, INT64_MIN, UINT32_MAX, 4294967296, 65535, 1002, 36, 12,   6,
};

/* A sub-identifier: mostly small (rows collide, indexes are reused), sometimes a limit. */
static uint32_t subid(uint8_t b)
{
  static const uint32_t special[16] = {
      0,          1, 2, 3,   127, 128, 1024, 1025, 65535, INT32_MAX, 0x80000000u, UINT32_MAX - 1,
      UINT32_MAX, 4, 5, 1000};

  return b < 0xF0 ? (uint32_t)(b & 0x0F) : special[b & 0x0F];
}

static int64_t number(fz_reader *r)
{
  return fz_number(r, special_nums, COUNT_OF(special_nums));
}

/* The type and value of vb from the reader; returns a buffer to free (or NULL). */
static uint8_t *value(fz_reader *r, asr_vb *vb)
{
  uint8_t *owned = NULL;

  vb->type = (asr_vb_type)(fz_next(r) & 7);
  switch (vb->type) {
  case ASR_VB_INTEGER:
  case ASR_VB_UNSIGNED:
  case ASR_VB_COUNTER64:
    vb->num = number(r);
    break;
  case ASR_VB_OCTETS:
    vb->bytes = (uint8_t *)fz_octets(r, &vb->len, &owned);
    break;
  default:
    vb->type = ASR_VB_NULL;
    break;
  }
  return owned;
}

static void add(asr_vbset *s, const asr_vb *vb)
{
  if (asr_vbset_add(s, vb) != ASR_OK)
    fz_fail("asr_vbset_add", "refused a valid varbind");
}

/* A cell of prtAlertEntry at <col>.<hr>.<index>. */
static void add_cell(fz_reader *r, asr_vbset *s, uint8_t col)
{
  uint32_t oid[ASR_OID_MAX];
  asr_vb vb = {.oid = oid};
  uint8_t *owned;

  if (asr_oid_parse(ALERT_ENTRY, oid, ASR_OID_MAX, &vb.oid_len))
    abort();
  oid[vb.oid_len++] = col % 12;
  oid[vb.oid_len++] = subid(fz_next(r));
  oid[vb.oid_len++] = subid(fz_next(r));
  owned = value(r, &vb);
  add(s, &vb);
  free(owned);
}

/* A burst: one column for up to 255 * 16 rows <col>.<hr>.<i> with one number, so that
 * tables past the bounds (rows decoded, cells looked at) are reached with a few bytes. */
static void add_burst(fz_reader *r, asr_vbset *s, uint8_t b)
{
  uint32_t oid[ASR_OID_MAX];
  asr_vb vb = {.oid = oid, .type = ASR_VB_INTEGER};
  size_t count = (size_t)fz_next(r) * 16;
  uint32_t hr = subid(fz_next(r));

  if (asr_oid_parse(ALERT_ENTRY, oid, ASR_OID_MAX, &vb.oid_len))
    abort();
  oid[vb.oid_len++] = 2 + (b & 7); /* severity .. time */
  oid[vb.oid_len++] = hr;
  vb.oid_len++;
  vb.num = number(r);
  for (size_t i = 0; i < count; i++) {
    oid[vb.oid_len - 1] = (uint32_t)i + 1;
    add(s, &vb);
  }
}

/* A vendor meter OID with any value. */
static void add_meter(fz_reader *r, asr_vbset *s, uint8_t b)
{
  uint32_t oid[ASR_OID_MAX];
  asr_vb vb = {.oid = oid};
  uint8_t *owned;

  if (asr_oid_parse(meter_oids[b % COUNT_OF(meter_oids)], oid, ASR_OID_MAX, &vb.oid_len))
    abort();
  owned = value(r, &vb);
  add(s, &vb);
  free(owned);
}

/* The alerts of a read: bounded, valid text, critical ones first, keys of content. */
static void check_alerts(const asr_device *d, size_t cells, size_t sum_n)
{
  char key[32], key2[32], sum[600], small[257];

  if (!d->has_alert_table)
    fz_fail("asr_alerts_read", "has_alert_table not set");
  if (d->n_alerts > ASR_ALERTS_MAX || d->n_alerts > d->alerts_total)
    fz_fail("asr_alerts_read", "more alerts kept than the bound or the rows");
  if (d->alerts_total > cells)
    fz_fail("asr_alerts_read", "more rows than cells");
  if (d->alerts_total && !d->n_alerts)
    fz_fail("asr_alerts_read", "rows but no alert kept");
  for (size_t i = 0; i < d->n_alerts; i++) {
    asr_alert a = d->alerts[i];

    FZ_STR(a.description, "alert description");
    if (i > 0 && asr_alert_critical(&a) && !asr_alert_critical(&d->alerts[i - 1]))
      fz_fail("asr_alerts_read", "a critical alert after a non-critical one");
    asr_alert_key(&a, key, sizeof(key));
    if (strlen(key) != 16 || strspn(key, "0123456789abcdef") != 16)
      fz_fail("asr_alert_key", "not 16 hex digits");
    a.index ^= 0x5A5A;
    a.time ^= 0xA5A5;
    asr_alert_key(&a, key2, sizeof(key2));
    if (strcmp(key, key2) != 0)
      fz_fail("asr_alert_key", "depends on the index or the time");
    asr_alert_summary(&d->alerts[i], sum, sizeof(sum));
    fz_check_str(sum, sizeof(sum), "alert summary");
    if (!strstr(sum, d->alerts[i].description))
      fz_fail("asr_alert_summary", "the description is not in a large buffer");
    memset(small, 'X', sizeof(small));
    asr_alert_summary(&d->alerts[i], small, sum_n);
    if (!memchr(small, '\0', sum_n) || small[sum_n] != 'X')
      fz_fail("asr_alert_summary", "not terminated inside, or written past, a small buffer");
    if (!asr_alert_route(&d->alerts[i]))
      fz_fail("asr_alert_route", "no route");
  }
}

/* The set read in reverse order, each varbind followed by a losing duplicate, gives the
 * same alerts: the decoder reads the sorted set, never the arrival order. */
static void check_order(const asr_vbset *s, uint32_t hr, const asr_device *d)
{
  asr_vbset *rev = asr_vbset_new();
  asr_device *d2 = calloc(1, sizeof(*d2));
  static const uint8_t junk[] = "junk";

  if (!rev || !d2)
    abort();
  for (size_t i = asr_vbset_count(s); i-- > 0;) {
    asr_vb dup = *asr_vbset_at(s, i);

    add(rev, asr_vbset_at(s, i));
    dup.type = ASR_VB_OCTETS;
    dup.bytes = (uint8_t *)junk;
    dup.len = sizeof(junk) - 1;
    add(rev, &dup);
  }
  asr_vbset_finish(rev);
  asr_alerts_read(rev, hr, d2);
  if (d2->n_alerts != d->n_alerts || d2->alerts_total != d->alerts_total ||
      memcmp(d2->alerts, d->alerts, d->n_alerts * sizeof(d->alerts[0])) != 0)
    fz_fail("asr_alerts_read", "depends on the order of the varbinds, or a duplicate won");
  free(d2);
  asr_vbset_free(rev);
}

/* Vendor meters of Brother and Lexmark from the same set: bounded, plausible. */
static void check_meters(const asr_vbset *s, asr_device *d)
{
  static const uint32_t ents[] = {2435, 641};

  for (size_t e = 0; e < COUNT_OF(ents); e++) {
    asr_meters_read(s, ents[e], d);
    if (d->n_meters > ASR_METERS_MAX)
      fz_fail("asr_meters_read", "more meters than the bound");
    for (size_t i = 0; i < d->n_meters; i++) {
      if (d->meters[i].value < 0 || d->meters[i].value >= (INT64_C(1) << 53))
        fz_fail("asr_meters_read", "negative or absurd meter");
      if (!asr_meter_name_ok(d->meters[i].name))
        fz_fail("asr_meters_read", "bad meter name");
      FZ_STR(d->meters[i].unit, "meter unit");
    }
  }
  for (size_t i = 0; i < asr_vbset_count(s); i++) {
    const asr_vb *vb = asr_vbset_at(s, i);
    int64_t v;

    for (unsigned code = 0; vb->type == ASR_VB_OCTETS && code < 4; code++) {
      if (asr_meters_brother_record(vb->bytes, vb->len, (uint8_t)code, &v) &&
          (v < 0 || v > UINT32_MAX))
        fz_fail("asr_meters_brother_record", "a value wider than 4 bytes");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int quiet;
  fz_reader r = {data, size};
  uint32_t hr = fz_next(&r) & 3;
  size_t sum_n = 1 + fz_next(&r), cells = 0;
  asr_vbset *s = asr_vbset_new();
  asr_device *d = calloc(1, sizeof(*d));

  if (!quiet) {
    fz_quiet();
    quiet = 1;
  }
  if (!s || !d)
    abort();
  while (r.n > 0) {
    uint8_t b = fz_next(&r);

    if (b >= 0xF8)
      add_meter(&r, s, b);
    else if (b >= 0xF0)
      add_burst(&r, s, b);
    else
      add_cell(&r, s, b);
  }
  asr_vbset_finish(s);
  fz_check_vbset(s);
  for (size_t i = 0; i < asr_vbset_count(s); i++)
    cells += asr_vbset_at(s, i)->oid_len == 13; /* <entry>.<col>.<hr>.<index>, and more */
  asr_device_init(d);
  asr_alerts_read(s, hr, d);
  check_alerts(d, cells, sum_n);
  fz_check_device(d);
  fz_check_output(d); /* the alerts in JSON, table and CSV */
  check_order(s, hr, d);
  check_meters(s, d);
  free(d);
  asr_vbset_free(s);
  return 0;
}
