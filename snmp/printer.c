/* snmp/printer.c: the Printer-MIB model.
 *
 * Reading order: asr_printer_build() at the bottom calls one function per part of
 * the device (identity, mac, serial, page count, status, supplies). Each reads the
 * sorted vbset by OID, never by arrival order, and treats every value as hostile: a
 * wrong type is "unknown", strings are decoded and bounded by snmp/charset.c, and
 * numbers keep their reported value while percent and state are derived by
 * asr_supply_normalize(). The rules are documented in docs/supplies.md; vendor
 * exceptions are rows of snmp/quirks.c. */
#include "snmp/printer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "snmp/alerts.h"
#include "snmp/charset.h"
#include "snmp/colorant.h"
#include "snmp/meters.h"
#include "snmp/quirks.h"

/* The probe: one GET that every SNMP agent answers. */
const asr_oid_row asr_printer_probe[] = {
    {"sysDescr.0", "1.3.6.1.2.1.1.1.0"},
    {"sysObjectID.0", "1.3.6.1.2.1.1.2.0"},
    {"sysName.0", "1.3.6.1.2.1.1.5.0"},
    {NULL, NULL},
};

/* The columns walked side by side for a printer. */
const asr_oid_row asr_printer_walks[] = {
    {"hrDeviceType", "1.3.6.1.2.1.25.3.2.1.2"},
    {"hrDeviceDescr", "1.3.6.1.2.1.25.3.2.1.3"},
    {"hrPrinterStatus", "1.3.6.1.2.1.25.3.5.1.1"},
    {"hrPrinterDetectedErrorState", "1.3.6.1.2.1.25.3.5.1.2"},
    {"ifPhysAddress", "1.3.6.1.2.1.2.2.1.6"},
    {"ipAdEntIfIndex", "1.3.6.1.2.1.4.20.1.2"},
    {"prtGeneralCurrentLocalization", "1.3.6.1.2.1.43.5.1.1.2"},
    {"prtGeneralSerialNumber", "1.3.6.1.2.1.43.5.1.1.17"},
    {"prtLocalizationCharacterSet", "1.3.6.1.2.1.43.7.1.1.4"},
    {"prtMarkerCounterUnit", "1.3.6.1.2.1.43.10.2.1.3"},
    {"prtMarkerLifeCount", "1.3.6.1.2.1.43.10.2.1.4"},
    {"prtMarkerSuppliesEntry", "1.3.6.1.2.1.43.11.1.1"},
    {"prtMarkerColorantValue", "1.3.6.1.2.1.43.12.1.1.4"},
    {"prtAlertEntry", "1.3.6.1.2.1.43.18.1.1"},
    {"entPhysicalSerialNum", "1.3.6.1.2.1.47.1.1.1.1.11"},
    {NULL, NULL},
};

/* Objects the model reads (dotted, no instance). */
#define OID_SYS_DESCR "1.3.6.1.2.1.1.1.0"
#define OID_SYS_OBJECT_ID "1.3.6.1.2.1.1.2.0"
#define OID_SYS_NAME "1.3.6.1.2.1.1.5.0"
#define OID_HR_DEVICE_TYPE "1.3.6.1.2.1.25.3.2.1.2"
#define OID_HR_DEVICE_DESCR "1.3.6.1.2.1.25.3.2.1.3"
#define OID_HR_DEVICE_PRINTER "1.3.6.1.2.1.25.3.1.5" /* hrDevicePrinter, a value */
#define OID_HR_PRINTER_STATUS "1.3.6.1.2.1.25.3.5.1.1"
#define OID_HR_PRINTER_ERRORS "1.3.6.1.2.1.25.3.5.1.2"
#define OID_IF_PHYS_ADDRESS "1.3.6.1.2.1.2.2.1.6"
#define OID_IP_AD_ENT_IF_INDEX "1.3.6.1.2.1.4.20.1.2"
#define OID_PRINTER_MIB "1.3.6.1.2.1.43"
#define OID_PRT_CURRENT_LOCALIZATION "1.3.6.1.2.1.43.5.1.1.2"
#define OID_PRT_SERIAL "1.3.6.1.2.1.43.5.1.1.17"
#define OID_PRT_CHARSET "1.3.6.1.2.1.43.7.1.1.4"
#define OID_PRT_LIFE_COUNT "1.3.6.1.2.1.43.10.2.1.4"
#define OID_PRT_SUPPLIES "1.3.6.1.2.1.43.11.1.1"
#define OID_PRT_COLORANT_VALUE "1.3.6.1.2.1.43.12.1.1.4"
#define OID_ENT_SERIAL "1.3.6.1.2.1.47.1.1.1.1.11"

/* prtMarkerSuppliesEntry columns (RFC 3805). */
enum {
  COL_MARKER = 2,   /* prtMarkerSuppliesMarkerIndex */
  COL_COLORANT = 3, /* prtMarkerSuppliesColorantIndex */
  COL_CLASS = 4,    /* prtMarkerSuppliesClass */
  COL_TYPE = 5,     /* prtMarkerSuppliesType */
  COL_DESCR = 6,    /* prtMarkerSuppliesDescription */
  COL_UNIT = 7,     /* prtMarkerSuppliesSupplyUnit */
  COL_MAX = 8,      /* prtMarkerSuppliesMaxCapacity */
  COL_LEVEL = 9,    /* prtMarkerSuppliesLevel */
  COL_COUNT = 10
};

#define ENTERPRISES_LEN 6 /* 1.3.6.1.4.1 */

typedef struct {
  uint32_t o[ASR_OID_MAX];
  size_t len;
} oidbuf;

/* Parses a dotted constant and appends idx (n sub-identifiers); 0 when it cannot. */
static int make_oid(oidbuf *b, const char *dotted, const uint32_t *idx, size_t n)
{
  if (asr_oid_parse(dotted, b->o, ASR_OID_MAX, &b->len) != ASR_OK || b->len + n > ASR_OID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    b->o[b->len++] = idx[i];
  return 1;
}

/* The varbind dotted.idx, or NULL. */
static const asr_vb *get_at(const asr_vbset *vbs, const char *dotted, const uint32_t *idx, size_t n)
{
  oidbuf b;

  if (!make_oid(&b, dotted, idx, n))
    return NULL;
  return asr_vbset_get(vbs, b.o, b.len);
}

/* The range of varbinds under dotted: count returned, first index and prefix length set. */
static size_t subtree(const asr_vbset *vbs, const char *dotted, size_t *first, size_t *plen)
{
  oidbuf b;

  *first = 0;
  *plen = 0;
  if (!make_oid(&b, dotted, NULL, 0))
    return 0;
  *plen = b.len;
  return asr_vbset_subtree(vbs, b.o, b.len, first);
}

/* An integer of any SNMP integer type; 0 (unknown) for any other type. */
static int vb_int(const asr_vb *vb, int64_t *v)
{
  if (!vb ||
      (vb->type != ASR_VB_INTEGER && vb->type != ASR_VB_UNSIGNED && vb->type != ASR_VB_COUNTER64))
    return 0;
  *v = vb->num;
  return 1;
}

static int vb_is_octets(const asr_vb *vb)
{
  return vb && vb->type == ASR_VB_OCTETS;
}

/* Decodes an OCTET STRING value into out (empty for any other type). */
static void vb_text(const asr_vb *vb, int charset, char *out, size_t n)
{
  if (n)
    out[0] = '\0';
  if (vb_is_octets(vb))
    asr_charset_decode(vb->bytes, vb->len, charset, out, n);
}

/* ---- identity ------------------------------------------------------------------- */

/* IANA enterprise number of sysObjectID (OID value, or a dotted string), 0 if none. */
static uint32_t enterprise_of(const asr_vbset *vbs)
{
  static const uint32_t ent[ENTERPRISES_LEN] = {1, 3, 6, 1, 4, 1};
  const asr_vb *vb = get_at(vbs, OID_SYS_OBJECT_ID, NULL, 0);
  oidbuf b;

  if (!vb)
    return 0;
  if (vb->type == ASR_VB_OID && vb->oidval_len > ENTERPRISES_LEN &&
      memcmp(vb->oidval, ent, sizeof(ent)) == 0)
    return vb->oidval[ENTERPRISES_LEN];
  if (vb->type == ASR_VB_OCTETS &&
      asr_oid_parse((const char *)vb->bytes, b.o, ASR_OID_MAX, &b.len) == ASR_OK &&
      b.len > ENTERPRISES_LEN && memcmp(b.o, ent, sizeof(ent)) == 0)
    return b.o[ENTERPRISES_LEN];
  return 0;
}

static void fill_sys_object_id(const asr_vbset *vbs, asr_device *d)
{
  const asr_vb *vb = get_at(vbs, OID_SYS_OBJECT_ID, NULL, 0);

  if (vb && vb->type == ASR_VB_OID && vb->oidval_len > 0 &&
      asr_oid_format(vb->oidval, vb->oidval_len, d->sys_object_id, sizeof(d->sys_object_id)) !=
          ASR_OK)
    d->sys_object_id[0] = '\0';
}

/* hrDeviceIndex of the first hrDevice whose hrDeviceType is hrDevicePrinter, or 0. */
static uint32_t printer_hr_index(const asr_vbset *vbs)
{
  size_t first, plen, n = subtree(vbs, OID_HR_DEVICE_TYPE, &first, &plen);
  oidbuf printer;

  if (!make_oid(&printer, OID_HR_DEVICE_PRINTER, NULL, 0))
    return 0;
  for (size_t i = first; i < first + n; i++) {
    const asr_vb *vb = asr_vbset_at(vbs, i);

    if (vb->type == ASR_VB_OID && vb->oid_len == plen + 1 &&
        asr_oid_cmp(vb->oidval, vb->oidval_len, printer.o, printer.len) == 0)
      return vb->oid[plen];
  }
  return 0;
}

int asr_printer_is_printer(const asr_vbset *vbs)
{
  size_t first, plen, n;

  if (printer_hr_index(vbs) > 0)
    return 1;
  n = subtree(vbs, OID_PRINTER_MIB, &first, &plen);
  for (size_t i = first; i < first + n; i++) {
    if (asr_vbset_at(vbs, i)->type != ASR_VB_NONE)
      return 1;
  }
  return 0;
}

/* Copies at most len bytes of src into out (size n), then trims blanks. */
static void copy_trimmed(char *out, size_t n, const char *src, size_t len)
{
  size_t start = 0;

  while (start < len && src[start] == ' ')
    start++;
  while (len > start && src[len - 1] == ' ')
    len--;
  len -= start;
  if (len >= n)
    len = n - 1;
  while (len > 0 && ((unsigned char)src[start + len] & 0xC0) == 0x80)
    len--; /* never cut a UTF-8 character */
  memcpy(out, src + start, len);
  out[len] = '\0';
}

/* Model from sysDescr: HP "...,PID:<model>,..." else the text before ';' ',' or " / ". */
static void model_from_descr(const char *descr, char *out, size_t n)
{
  const char *p = strstr(descr, "PID:");
  size_t len;

  if (p) {
    p += 4;
    len = strcspn(p, ",;");
  } else {
    const char *slash = strstr(descr, " / ");

    p = descr;
    len = strcspn(p, ";,");
    if (slash && (size_t)(slash - p) < len)
      len = (size_t)(slash - p);
  }
  copy_trimmed(out, n, p, len);
}

static void fill_identity(const asr_vbset *vbs, uint32_t ent, uint32_t hr, asr_device *d)
{
  const char *vendor;

  vb_text(get_at(vbs, OID_SYS_DESCR, NULL, 0), 0, d->sys_descr, sizeof(d->sys_descr));
  vb_text(get_at(vbs, OID_SYS_NAME, NULL, 0), 0, d->sys_name, sizeof(d->sys_name));
  fill_sys_object_id(vbs, d);
  vendor = asr_quirks_vendor(ent);
  if (!vendor)
    vendor = asr_quirks_vendor_from_descr(d->sys_descr);
  if (vendor)
    asr_strlcpy_cut(d->vendor, vendor, sizeof(d->vendor));
  if (hr > 0)
    vb_text(get_at(vbs, OID_HR_DEVICE_DESCR, &hr, 1), 0, d->model, sizeof(d->model));
  if (d->model[0] == '\0')
    model_from_descr(d->sys_descr, d->model, sizeof(d->model));
}

/* ---- mac ------------------------------------------------------------------------ */

static int mac_ok(const asr_vb *vb)
{
  int zero = 1, ones = 1;

  if (!vb_is_octets(vb) || vb->len != 6)
    return 0;
  for (size_t i = 0; i < 6; i++) {
    zero &= vb->bytes[i] == 0x00;
    ones &= vb->bytes[i] == 0xFF;
  }
  return !zero && !ones;
}

static void format_mac(const asr_vb *vb, asr_device *d)
{
  const uint8_t *b = vb->bytes;

  if (asr_fmt(d->mac, sizeof(d->mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
              b[5]) != ASR_OK)
    d->mac[0] = '\0';
}

/* ifPhysAddress of the interface that owns ip (ipAdEntIfIndex.<ip>), or NULL. */
static const asr_vb *mac_of_ip(const asr_vbset *vbs, const char *ip)
{
  uint32_t addr[ASR_OID_MAX];
  size_t len;
  int64_t ifindex;

  if (!ip || asr_oid_parse(ip, addr, ASR_OID_MAX, &len) != ASR_OK || len != 4)
    return NULL;
  for (size_t i = 0; i < 4; i++) {
    if (addr[i] > 255)
      return NULL;
  }
  if (!vb_int(get_at(vbs, OID_IP_AD_ENT_IF_INDEX, addr, 4), &ifindex) || ifindex <= 0 ||
      ifindex > UINT32_MAX)
    return NULL;
  addr[0] = (uint32_t)ifindex;
  return get_at(vbs, OID_IF_PHYS_ADDRESS, addr, 1);
}

static void fill_mac(const asr_vbset *vbs, const char *ip, asr_device *d)
{
  const asr_vb *vb = mac_of_ip(vbs, ip);
  size_t first, plen, n;

  if (mac_ok(vb)) {
    format_mac(vb, d);
    return;
  }
  n = subtree(vbs, OID_IF_PHYS_ADDRESS, &first, &plen);
  for (size_t i = first; i < first + n; i++) {
    vb = asr_vbset_at(vbs, i);
    if (mac_ok(vb)) {
      format_mac(vb, d);
      return;
    }
  }
}

/* ---- serial --------------------------------------------------------------------- */

/* Values printers use to say "no serial number". */
static const char *const serial_placeholders[] = {
    "unknown", "none", "n/a", "na", "null", "not available", "not set", "-", "0", "default",
};

/* ASCII case-insensitive equality (strcasecmp is not in C11). */
static int same_text(const char *a, const char *b)
{
  while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

static int is_placeholder(const char *s)
{
  size_t len = strlen(s), same = 1;

  if (len == 0)
    return 1;
  for (size_t i = 0; i < sizeof(serial_placeholders) / sizeof(serial_placeholders[0]); i++) {
    if (same_text(s, serial_placeholders[i]))
      return 1;
  }
  while (same < len && tolower((unsigned char)s[same]) == tolower((unsigned char)s[0]))
    same++;
  return same == len; /* "XXXXXXXX", "0000", "-----" */
}

/* A clean serial from vb into out; 1 when it is a real one. */
static int serial_from(const asr_vb *vb, char *out, size_t n)
{
  vb_text(vb, 0, out, n);
  if (is_placeholder(out)) {
    out[0] = '\0';
    return 0;
  }
  return 1;
}

/* First real serial in a column, the instance hr first when hr > 0. */
static int serial_from_column(const asr_vbset *vbs, const char *col, uint32_t hr, char *out,
                              size_t n)
{
  size_t first, plen, cnt;

  if (hr > 0 && serial_from(get_at(vbs, col, &hr, 1), out, n))
    return 1;
  cnt = subtree(vbs, col, &first, &plen);
  for (size_t i = first; i < first + cnt; i++) {
    if (serial_from(asr_vbset_at(vbs, i), out, n))
      return 1;
  }
  return 0;
}

static int standard_serial(const asr_vbset *vbs, uint32_t hr, char *out, size_t n)
{
  return serial_from_column(vbs, OID_PRT_SERIAL, hr, out, n) ||
         serial_from_column(vbs, OID_ENT_SERIAL, 0, out, n);
}

#define VENDOR_SERIALS_MAX 4

static void fill_serial(const asr_vbset *vbs, uint32_t ent, uint32_t hr, asr_device *d)
{
  const char *oids[VENDOR_SERIALS_MAX];
  size_t n;
  oidbuf b;

  if (standard_serial(vbs, hr, d->serial, sizeof(d->serial)))
    return;
  n = asr_quirks_serial_oids(ent, oids, VENDOR_SERIALS_MAX);
  for (size_t i = 0; i < n; i++) {
    if (make_oid(&b, oids[i], NULL, 0) &&
        serial_from(asr_vbset_get(vbs, b.o, b.len), d->serial, sizeof(d->serial)))
      return;
  }
}

size_t asr_printer_extra_gets(const asr_vbset *vbs, const char **oids, size_t max)
{
  char serial[128];
  uint32_t ent = enterprise_of(vbs);
  size_t n = 0;

  if (!standard_serial(vbs, printer_hr_index(vbs), serial, sizeof(serial)))
    n = asr_quirks_serial_oids(ent, oids, max);
  return n + asr_meters_oids(ent, oids + n, max - n); /* the vendor's billing meters */
}

/* ---- page count and status ------------------------------------------------------ */

/* prtMarkerLifeCount of the first marker (of the printer hrDevice when known). */
static void fill_page_count(const asr_vbset *vbs, uint32_t hr, asr_device *d)
{
  size_t first, plen, n = subtree(vbs, OID_PRT_LIFE_COUNT, &first, &plen);
  int64_t v;

  for (size_t i = first; i < first + n; i++) {
    const asr_vb *vb = asr_vbset_at(vbs, i);

    if (hr > 0 && vb->oid_len > plen && vb->oid[plen] != hr)
      continue;
    if (vb_int(vb, &v)) {
      /* A Counter64 past 2^63 arrives saturated: no real printer counts that far. */
      int absurd = v < 0 || (vb->type == ASR_VB_COUNTER64 && v == INT64_MAX);

      d->has_page_count = !absurd;
      d->page_count = absurd ? 0 : v;
      return;
    }
  }
  if (hr > 0)
    fill_page_count(vbs, 0, d);
}

/* hrPrinterDetectedErrorState: MIB bit n (bit 0 = MSB of the first octet) -> 1u << n. */
static void fill_errors(const asr_vb *vb, asr_device *d)
{
  if (!vb_is_octets(vb))
    return;
  d->has_error_state = true;
  for (size_t i = 0; i < vb->len && i < 4; i++) {
    for (unsigned j = 0; j < 8; j++) {
      if (vb->bytes[i] & (0x80u >> j))
        d->error_bits |= 1u << (i * 8 + j);
    }
  }
}

static void fill_status(const asr_vbset *vbs, uint32_t hr, asr_device *d)
{
  size_t first, plen, n;
  int64_t v;

  if (hr == 0) { /* no hrDevicePrinter: the first row of hrPrinterTable */
    n = subtree(vbs, OID_HR_PRINTER_STATUS, &first, &plen);
    if (n == 0)
      n = subtree(vbs, OID_HR_PRINTER_ERRORS, &first, &plen);
    if (n == 0 || asr_vbset_at(vbs, first)->oid_len != plen + 1)
      return;
    hr = asr_vbset_at(vbs, first)->oid[plen];
  }
  if (vb_int(get_at(vbs, OID_HR_PRINTER_STATUS, &hr, 1), &v) && v > 0 && v <= INT32_MAX)
    d->printer_status = (int32_t)v;
  fill_errors(get_at(vbs, OID_HR_PRINTER_ERRORS, &hr, 1), d);
}

/* ---- supplies ------------------------------------------------------------------- */

/* One prtMarkerSuppliesEntry row as answered: the varbind of each column or NULL. */
typedef struct {
  uint32_t hr, index;
  const asr_vb *col[COL_COUNT];
} raw_row;

/* Rows as answered, before the copies of a supply under other hrDevices are dropped: room
 * for a printer that lists every one of its supplies twice. */
#define RAW_ROWS_MAX (2 * ASR_SUPPLIES_MAX)

typedef struct {
  raw_row rows[RAW_ROWS_MAX];
  size_t n;
  int dropped;
} raw_table;

static raw_row *row_for(raw_table *t, uint32_t hr, uint32_t index)
{
  for (size_t i = 0; i < t->n; i++) {
    if (t->rows[i].hr == hr && t->rows[i].index == index)
      return &t->rows[i];
  }
  if (t->n == RAW_ROWS_MAX) {
    t->dropped = 1;
    return NULL;
  }
  memset(&t->rows[t->n], 0, sizeof(t->rows[t->n]));
  t->rows[t->n].hr = hr;
  t->rows[t->n].index = index;
  return &t->rows[t->n++];
}

/* By supply index, then by hrDeviceIndex. */
static int row_cmp(const void *pa, const void *pb)
{
  const raw_row *a = pa, *b = pb;

  if (a->index != b->index)
    return a->index < b->index ? -1 : 1;
  return a->hr < b->hr ? -1 : (a->hr > b->hr);
}

/* One row per supply index. RFC 3805 indexes prtMarkerSuppliesTable by (hrDeviceIndex,
 * prtMarkerSuppliesIndex): an index is unique within one hrDevice only. The device we
 * model is one printer, and the store, the central and its forecasts know a supply by its
 * index within the device, so the index must be unique in the device (issue 10: some
 * firmwares copy the printer's rows under another hrDeviceIndex, the CPU's, and the
 * central refused the repeated index). Of the rows of one index, the printer hrDevice's
 * is kept, else the lowest hrDeviceIndex's; the others are dropped. The rows end sorted
 * by index. Returns how many were dropped. */
static size_t unique_rows(raw_table *t, uint32_t printer_hr)
{
  size_t kept = 0, dropped;

  qsort(t->rows, t->n, sizeof(t->rows[0]), row_cmp);
  for (size_t i = 0; i < t->n; i++) {
    if (kept == 0 || t->rows[kept - 1].index != t->rows[i].index)
      t->rows[kept++] = t->rows[i];
    else if (printer_hr > 0 && t->rows[i].hr == printer_hr)
      t->rows[kept - 1] = t->rows[i]; /* the printer's own row wins */
  }
  dropped = t->n - kept;
  t->n = kept;
  return dropped;
}

/* Groups the columns of 43.11.1.1 into rows: <col>.<hr>.<supply>, or <col>.<supply> when
 * the SCALAR_ROW quirk applies (hr 0). Other index shapes are ignored. */
static void collect_rows(const asr_vbset *vbs, uint32_t ent, raw_table *t)
{
  size_t first, plen, n = subtree(vbs, OID_PRT_SUPPLIES, &first, &plen);
  int scalar = asr_quirks_has(ASR_QUIRK_SCALAR_ROW, ent);

  for (size_t i = first; i < first + n; i++) {
    const asr_vb *vb = asr_vbset_at(vbs, i);
    size_t tail = vb->oid_len - plen - 1;
    uint32_t col = vb->oid[plen];
    raw_row *r;

    if (vb->type == ASR_VB_NONE || col < COL_MARKER || col >= COL_COUNT)
      continue;
    if (tail == 2 && vb->oid[plen + 1] <= INT32_MAX && vb->oid[plen + 2] <= INT32_MAX)
      r = row_for(t, vb->oid[plen + 1], vb->oid[plen + 2]);
    else if (tail == 1 && scalar && vb->oid[plen + 1] <= INT32_MAX)
      r = row_for(t, 0, vb->oid[plen + 1]);
    else
      continue;
    if (r)
      r->col[col] = vb;
  }
}

/* IANA MIBenum of the localization of hrDevice hr: prtLocalizationCharacterSet at
 * prtGeneralCurrentLocalization, else the first of hr, else the first at all; 0 if none. */
static int charset_for(const asr_vbset *vbs, uint32_t hr)
{
  uint32_t idx[2] = {hr, 0};
  size_t first, plen, n;
  int64_t loc, cs;

  if (vb_int(get_at(vbs, OID_PRT_CURRENT_LOCALIZATION, &hr, 1), &loc) && loc > 0 &&
      loc <= INT32_MAX) {
    idx[1] = (uint32_t)loc;
    if (vb_int(get_at(vbs, OID_PRT_CHARSET, idx, 2), &cs) && cs > 0 && cs <= 0xFFFF)
      return (int)cs;
  }
  n = subtree(vbs, OID_PRT_CHARSET, &first, &plen);
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = first; i < first + n; i++) {
      const asr_vb *vb = asr_vbset_at(vbs, i);

      if ((pass == 1 || (vb->oid_len > plen && vb->oid[plen] == hr)) && vb_int(vb, &cs) && cs > 0 &&
          cs <= 0xFFFF)
        return (int)cs;
    }
  }
  return 0;
}

/* An integer column as int32 when it is in [lo, INT32_MAX], else 0 (not reported). */
static int32_t code_of(const asr_vb *vb, int64_t lo)
{
  int64_t v;

  if (!vb_int(vb, &v) || v < lo || v > INT32_MAX)
    return 0;
  return (int32_t)v;
}

static void fill_description(const raw_row *r, int charset, uint32_t ent, asr_supply *s)
{
  const asr_vb *vb = r->col[COL_DESCR];
  size_t len;

  if (!vb_is_octets(vb))
    return;
  len = vb->len;
  if (!asr_quirks_has(ASR_QUIRK_DESCR_JOIN, ent) && charset != 1013 && charset != 1014 &&
      charset != 1015 && charset != 1000) {
    const uint8_t *nul = memchr(vb->bytes, 0, len);

    if (nul)
      len = (size_t)(nul - vb->bytes); /* without the quirk: a C string */
  }
  asr_charset_decode(vb->bytes, len, charset, s->description, sizeof(s->description));
  if (asr_quirks_has(ASR_QUIRK_DESCR_PN, ent) &&
      asr_quirks_split_part_number(s->description, s->part_number, sizeof(s->part_number)))
    return;
  if (asr_quirks_has(ASR_QUIRK_DESCR_HP_PN, ent))
    asr_quirks_hp_part_number(s->description, s->part_number, sizeof(s->part_number));
}

/* True when word occurs in s at a word start (ASCII case-insensitive); when whole, it
 * must also end at a word end. Bytes >= 0x80 count as letters. */
static int has_word(const char *s, const char *word, int whole)
{
  size_t wl = strlen(word);

  for (const char *p = s; *p; p++) {
    size_t k = 0;

    if (p > s && (isalpha((unsigned char)p[-1]) || (unsigned char)p[-1] >= 0x80))
      continue;
    while (k < wl && p[k] && tolower((unsigned char)p[k]) == word[k])
      k++;
    if (k == wl && (!whole || !(isalpha((unsigned char)p[k]) || (unsigned char)p[k] >= 0x80)))
      return 1;
  }
  return 0;
}

typedef struct {
  const char *word; /* lower case */
  int32_t type;     /* PrtMarkerSuppliesTypeTC */
} type_word;

/* Supply type from the description when the type column is missing; first match wins. */
static const type_word type_words[] = {
    {"waste toner", 4},
    {"toner waste", 4},
    {"used toner", 4},
    {"resttoner", 4},
    {"waste ink", 8},
    {"ink waste", 8},
    {"maintenance box", 8},
    {"waste", 4},
    {"cleaner", 18},
    {"cleaning", 18},
    {"fuser", 15},
    {"fusing", 15},
    {"fixing", 15},
    {"transfer", 20},
    {"developer", 10},
    {"drum", 9},
    {"opc", 9},
    {"photoconduct", 9},
    {"trommel", 9},
    {"tambour", 9},
    {"tamburo", 9},
    {"toner", 3},
    {"ink cartridge", 6},
    {"ink tank", 6},
    {"ink", 5},
    {"tinte", 5},
    {"encre", 5},
    {"tinta", 5},
    {"staple", 32},
    {"ribbon", 7},
    {"wax", 12},
    {"corona", 16},
};

static int32_t type_from_description(const char *d)
{
  for (size_t i = 0; i < sizeof(type_words) / sizeof(type_words[0]); i++) {
    if (has_word(d, type_words[i].word, 0))
      return type_words[i].type;
  }
  return 0;
}

/* prtMarkerColorantValue.<hr>.<ColorantIndex>, the printer's word (ASCII lower-cased): a
 * name in ASCII by the MIB, so not read in the localization's charset (a printer set to
 * UTF-16 would otherwise turn "black" into CJK), though a UTF-16 one is recognized. Else
 * the colour a word of the description names. Then the canonical word of either. */
static void fill_colorant(const asr_vbset *vbs, const raw_row *r, asr_supply *s)
{
  int32_t ci = code_of(r->col[COL_COLORANT], 1);
  uint32_t idx[2] = {r->hr > 0 ? r->hr : 1, (uint32_t)ci};
  const asr_vb *vb = ci > 0 ? get_at(vbs, OID_PRT_COLORANT_VALUE, idx, 2) : NULL;
  const char *std;

  if (vb_is_octets(vb))
    asr_charset_decode_name(vb->bytes, vb->len, s->colorant, sizeof(s->colorant));
  for (char *p = s->colorant; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (s->colorant[0] == '\0' && (std = asr_colorant_in_text(s->description)) != NULL)
    asr_strlcpy_cut(s->colorant, std, sizeof(s->colorant));
  std = asr_colorant_std(s->colorant);
  asr_strlcpy_cut(s->colorant_std, std ? std : "", sizeof(s->colorant_std));
}

static void fill_supply(const asr_vbset *vbs, const raw_row *r, uint32_t ent, asr_supply *s)
{
  int charset = charset_for(vbs, r->hr);

  memset(s, 0, sizeof(*s));
  s->index = (int32_t)r->index;
  s->hr_index = (int32_t)r->hr;
  s->klass = code_of(r->col[COL_CLASS], 1);
  if (s->klass != ASR_CLASS_OTHER && s->klass != ASR_CLASS_CONSUMED &&
      s->klass != ASR_CLASS_RECEPTACLE)
    s->klass = ASR_CLASS_UNKNOWN;
  s->type = code_of(r->col[COL_TYPE], 1);
  s->unit = code_of(r->col[COL_UNIT], 1);
  s->has_max = vb_int(r->col[COL_MAX], &s->max);
  s->has_level = vb_int(r->col[COL_LEVEL], &s->level);
  fill_description(r, charset, ent, s);
  if (s->type == 0)
    s->type = type_from_description(s->description);
  fill_colorant(vbs, r, s);
  asr_supply_normalize(s, ent);
}

/* The device as logs name it: its address, or "recording" (inspect has no address). */
static const char *log_name(const asr_device *d)
{
  return d->ip[0] ? d->ip : "recording";
}

static void fill_supplies(const asr_vbset *vbs, uint32_t ent, uint32_t hr, asr_device *d)
{
  raw_table *t = calloc(1, sizeof(*t));
  size_t copies;

  if (!t) {
    asr_log(ASR_LOG_ERR, "%s: out of memory reading supplies", log_name(d));
    return;
  }
  collect_rows(vbs, ent, t);
  copies = unique_rows(t, hr);
  if (copies)
    asr_log(ASR_LOG_DEBUG, "%s: %zu supplies listed again under another hrDevice, ignored",
            log_name(d), copies);
  if (t->n > ASR_SUPPLIES_MAX) {
    t->n = ASR_SUPPLIES_MAX;
    t->dropped = 1;
  }
  if (t->dropped)
    asr_log(ASR_LOG_WARN, "%s: more than %d supplies, the rest ignored", log_name(d),
            ASR_SUPPLIES_MAX);
  for (size_t i = 0; i < t->n; i++)
    fill_supply(vbs, &t->rows[i], ent, &d->supplies[i]);
  d->n_supplies = t->n;
  free(t);
}

/* ---- the device ----------------------------------------------------------------- */

asr_result asr_printer_build(const asr_vbset *vbs, const char *ip, asr_device *out)
{
  uint32_t ent = enterprise_of(vbs);
  uint32_t hr = printer_hr_index(vbs);

  asr_device_init(out);
  if (ip)
    asr_strlcpy_cut(out->ip, ip, sizeof(out->ip));
  fill_identity(vbs, ent, hr, out);
  fill_mac(vbs, ip, out);
  out->is_printer = asr_printer_is_printer(vbs) != 0;
  if (!out->is_printer)
    return ASR_ERR_NOT_PRINTER;
  fill_serial(vbs, ent, hr, out);
  fill_page_count(vbs, hr, out);
  fill_status(vbs, hr, out);
  fill_supplies(vbs, ent, hr, out);
  asr_meters_read(vbs, ent, out);
  asr_alerts_read(vbs, hr, out);
  return ASR_OK;
}
