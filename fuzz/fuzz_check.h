/* fuzz/fuzz_check.h: the invariants both fuzz targets assert on a built asr_device and on
 * what the CLI prints of it (see fuzz/README.md).
 *
 * Header-only (static functions): each fuzz target includes it once. A violated invariant
 * prints what broke on stderr and calls abort(), which libFuzzer reports as a crash and
 * saves the input. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream, fmemopen */
#endif
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/output.h"
#include "common/device.h"
#include "common/log.h"
#include "common/text.h"
#include "snmp/charset.h"
#include "snmp/printer.h"
#include "snmp/quirks.h"
#include "snmp/vbset.h"

static void fz_fail(const char *what, const char *detail)
{
  fprintf(stderr, "fuzz invariant violated: %s: %s\n", what, detail);
  abort();
}

/* No C0 control, DEL or C1 control (U+0080..U+009F) in valid UTF-8 text s. */
static void fz_check_no_controls(const char *s, size_t len, const char *what, int allow_newline)
{
  const unsigned char *p = (const unsigned char *)s;

  for (size_t i = 0; i < len; i++) {
    if (allow_newline && (p[i] == '\n' || p[i] == '\r'))
      continue;
    if (p[i] < 0x20 || p[i] == 0x7F)
      fz_fail(what, "control character");
    if (p[i] == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] < 0xA0)
      fz_fail(what, "C1 control character");
  }
}

/* A string field of buffer size size: NUL-terminated inside it, valid UTF-8, no controls. */
static void fz_check_str(const char *buf, size_t size, const char *what)
{
  const char *nul = memchr(buf, '\0', size);
  size_t len;

  if (!nul)
    fz_fail(what, "not NUL-terminated within its buffer");
  len = (size_t)(nul - buf);
  if (!asr_utf8_valid((const uint8_t *)buf, len))
    fz_fail(what, "invalid UTF-8");
  fz_check_no_controls(buf, len, what, 0);
}

#define FZ_STR(field, what) fz_check_str((field), sizeof(field), (what))

static void fz_check_supply(const asr_supply *s)
{
  FZ_STR(s->description, "supply.description");
  FZ_STR(s->part_number, "supply.part_number");
  FZ_STR(s->colorant, "supply.colorant");
  if (s->percent < ASR_PERCENT_NULL || s->percent > 100)
    fz_fail("supply.percent", "outside -1..100");
  if ((int)s->state < 0 || s->state >= ASR_STATE_COUNT)
    fz_fail("supply.state", "not an asr_supply_state");
  if (s->klass != ASR_CLASS_UNKNOWN && s->klass != ASR_CLASS_OTHER &&
      s->klass != ASR_CLASS_CONSUMED && s->klass != ASR_CLASS_RECEPTACLE)
    fz_fail("supply.klass", "not an asr_supply_class");
  if (s->type < 0 || s->unit < 0 || s->index < 0 || s->hr_index < 0)
    fz_fail("supply", "negative type, unit or index");
  if (!s->has_level && (s->percent != ASR_PERCENT_NULL || s->state != ASR_STATE_UNKNOWN))
    fz_fail("supply", "percent or state without a level");
}

/* The percent and state the table "Percent and state" of docs/supplies.md gives s, for
 * the enterprise ent (an independent reading of the documented rules). */
static void fz_expected(const asr_supply *s, uint32_t ent, int *percent, asr_supply_state *state)
{
  const asr_level_code *q;
  int recept = s->klass == ASR_CLASS_RECEPTACLE;

  *percent = ASR_PERCENT_NULL;
  *state = ASR_STATE_UNKNOWN;
  if (!s->has_level) /* 1 */
    return;
  q = asr_level_code_find(ent, s->has_max, s->max, s->level);
  if (q) { /* 2 */
    *percent = q->percent;
    *state = q->state == ASR_STATE_EMPTY && recept ? ASR_STATE_FULL : q->state;
    return;
  }
  if (s->level < 0) { /* 3, 4, 5 */
    *state = s->level == -3   ? ASR_STATE_SOME_REMAINING
             : s->level == -1 ? ASR_STATE_OK
                              : ASR_STATE_UNKNOWN;
    return;
  }
  if (s->has_max && s->max >= 1 && s->max <= INT32_MAX) /* 6: round half up */
    *percent = s->level >= s->max ? 100 : (int)((200 * s->level + s->max) / (2 * s->max));
  else if (s->unit == 19)
    *percent = s->level > 100 ? 100 : (int)s->level;
  if (s->level == 0)
    *state = recept ? ASR_STATE_FULL : ASR_STATE_EMPTY;
  else if (*percent == ASR_PERCENT_NULL)
    *state = ASR_STATE_SOME_REMAINING;
  else if (*percent <= ASR_SUPPLY_LOW_PERCENT)
    *state = ASR_STATE_LOW;
  else
    *state = ASR_STATE_OK;
}

/* The enterprise number in d->sys_object_id, or 0. */
static uint32_t fz_enterprise(const asr_device *d)
{
  uint32_t o[ASR_OID_MAX];
  size_t len;

  if (asr_oid_parse(d->sys_object_id, o, ASR_OID_MAX, &len) != ASR_OK || len < 7 || o[0] != 1 ||
      o[1] != 3 || o[2] != 6 || o[3] != 1 || o[4] != 4 || o[5] != 1)
    return 0;
  return o[6];
}

/* Percent, state and class follow docs/supplies.md. Without an OID sysObjectID the
 * enterprise is unknown to us (it may come from a dotted string): any vendor with level
 * quirks is accepted. */
static void fz_check_rules(const asr_device *d, const asr_supply *s)
{
  static const uint32_t quirky[] = {0, 367, 1602, 2435};
  int ok = 0, percent;
  asr_supply_state state;

  if (s->klass == ASR_CLASS_UNKNOWN && s->type > 2)
    fz_fail("supply.klass", "unknown for a known type (docs/supplies.md: inferred)");
  if (d->sys_object_id[0]) {
    fz_expected(s, fz_enterprise(d), &percent, &state);
    ok = percent == s->percent && state == s->state;
  }
  for (size_t i = 0; !ok && !d->sys_object_id[0] && i < sizeof(quirky) / sizeof(quirky[0]); i++) {
    fz_expected(s, quirky[i], &percent, &state);
    ok = percent == s->percent && state == s->state;
  }
  if (!ok) {
    fprintf(stderr, "level %lld max %lld (has %d) unit %d class %d type %d: got %d%% %s\n",
            (long long)s->level, (long long)s->max, s->has_max, (int)s->unit, (int)s->klass,
            (int)s->type, s->percent, asr_supply_state_name(s->state));
    fz_fail("supply percent/state", "not what docs/supplies.md says");
  }
  for (const char *p = s->colorant; *p; p++) {
    if (*p >= 'A' && *p <= 'Z')
      fz_fail("supply.colorant", "not lower case");
  }
}

/* The invariants of common/device.h on a device built from untrusted data. */
static void fz_check_device(const asr_device *d)
{
  FZ_STR(d->ip, "ip");
  FZ_STR(d->sys_object_id, "sys_object_id");
  FZ_STR(d->vendor, "vendor");
  FZ_STR(d->model, "model");
  FZ_STR(d->sys_descr, "sys_descr");
  FZ_STR(d->sys_name, "sys_name");
  FZ_STR(d->serial, "serial");
  FZ_STR(d->mac, "mac");
  if (d->mac[0] && strlen(d->mac) != 17)
    fz_fail("mac", "neither empty nor aa:bb:cc:dd:ee:ff");
  if (d->n_supplies > ASR_SUPPLIES_MAX)
    fz_fail("n_supplies", "above ASR_SUPPLIES_MAX");
  if (d->has_page_count && d->page_count < 0)
    fz_fail("page_count", "negative");
  if (d->printer_status < 0)
    fz_fail("printer_status", "negative");
  if (!d->is_printer && d->n_supplies)
    fz_fail("n_supplies", "supplies on a device that is not a printer");
  for (size_t i = 0; i < d->n_supplies; i++) {
    fz_check_supply(&d->supplies[i]);
    fz_check_rules(d, &d->supplies[i]);
    /* a supply is known by its index, once per device (issue 10): listed by index */
    if (i > 0 && d->supplies[i].index <= d->supplies[i - 1].index)
      fz_fail("supplies", "an index repeated or out of order");
  }
}

/* A finished set: sorted by OID without duplicates, bounded values, NUL-terminated
 * strings, and every varbind found again by asr_vbset_get. */
static void fz_check_vbset(const asr_vbset *s)
{
  size_t n = asr_vbset_count(s);

  for (size_t i = 0; i < n; i++) {
    const asr_vb *vb = asr_vbset_at(s, i), *prev = i ? asr_vbset_at(s, i - 1) : NULL;

    if (!vb || !vb->oid || vb->oid_len == 0 || vb->oid_len > ASR_OID_MAX)
      fz_fail("vbset", "bad OID");
    if (prev && asr_oid_cmp(prev->oid, prev->oid_len, vb->oid, vb->oid_len) >= 0)
      fz_fail("vbset", "not sorted, or a duplicate kept");
    if (vb->len > ASR_VB_VALUE_MAX || vb->oidval_len > ASR_OID_MAX)
      fz_fail("vbset", "value longer than the bounds");
    if ((vb->type == ASR_VB_OCTETS || vb->type == ASR_VB_IPADDR) &&
        (!vb->bytes || vb->bytes[vb->len] != 0))
      fz_fail("vbset", "string value without a NUL-terminated buffer");
    if (vb->oidval_len && !vb->oidval)
      fz_fail("vbset", "OID value without a buffer");
    if (vb->type != ASR_VB_NONE && asr_vbset_get(s, vb->oid, vb->oid_len) != vb)
      fz_fail("vbset", "asr_vbset_get does not find a varbind of the set");
  }
  if (asr_vbset_at(s, n) != NULL)
    fz_fail("vbset", "asr_vbset_at past the end");
}

/* Prints d in format fmt into memory; returns the malloc'd text (size in *len). */
static char *fz_print(const asr_device *d, asr_format fmt, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);

  if (!f)
    fz_fail("open_memstream", "failed");
  if (asr_report_print_one(d, f, fmt) != ASR_OK)
    fz_fail("asr_report_print_one", "failed");
  if (fclose(f) != 0)
    fz_fail("fclose", "failed");
  return buf;
}

/* The JSON of d parses back, is an object with one supply per asr_supply and a bounded
 * percent. */
static void fz_check_json(const asr_device *d)
{
  size_t len;
  char *text = fz_print(d, ASR_FMT_JSON, &len);
  json_error_t err;
  json_t *o = json_loadb(text, len, 0, &err), *supplies;
  size_t i;
  json_t *s;

  if (!o || !json_is_object(o))
    fz_fail("JSON output", o ? "not an object" : err.text);
  supplies = json_object_get(o, "supplies");
  if (!json_is_array(supplies) || json_array_size(supplies) != d->n_supplies)
    fz_fail("JSON output", "supplies is not an array of n_supplies objects");
  json_array_foreach(supplies, i, s)
  {
    json_t *p = json_object_get(s, "percent");

    if (!json_is_null(p) &&
        (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 100))
      fz_fail("JSON output", "percent neither null nor 0..100");
  }
  json_decref(o);
  free(text);
}

/* Table and CSV output: valid UTF-8 without a control character but the line ends. */
static void fz_check_text(const asr_device *d, asr_format fmt, const char *what)
{
  size_t len;
  char *text = fz_print(d, fmt, &len);

  if (strlen(text) != len)
    fz_fail(what, "NUL byte in output");
  if (!asr_utf8_valid((const uint8_t *)text, len))
    fz_fail(what, "invalid UTF-8");
  fz_check_no_controls(text, len, what, 1);
  free(text);
}

static void fz_check_output(const asr_device *d)
{
  fz_check_json(d);
  fz_check_text(d, ASR_FMT_TABLE, "table output");
  fz_check_text(d, ASR_FMT_CSV, "CSV output");
}

/* Library logs go nowhere: the fuzzer's own output stays readable. */
static void fz_quiet_sink(asr_log_level level, const char *msg, void *ctx)
{
  (void)level;
  (void)msg;
  (void)ctx;
}

static void fz_quiet(void)
{
  asr_log_set_sink(fz_quiet_sink, NULL);
  asr_log_set_level(ASR_LOG_DEBUG); /* the formatting runs too, on hostile text */
}

#endif
