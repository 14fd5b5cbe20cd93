/* agent/output.c: prints devices as JSON (jansson), a table for people, or CSV.
 *
 * Every device added to a report is turned at once into a compact jansson object (the
 * JSON shape of output.h), and the table and CSV forms are rendered from those objects:
 * one source of truth, and a report of thousands of printers costs a few KB each instead
 * of a full asr_device (~30 KB).
 *
 * Strings come from printers. The model hands us UTF-8 without control characters, but
 * this is the last line before a terminal, a JSON parser or a spreadsheet, so we guard
 * again: invalid UTF-8 becomes U+FFFD in JSON (jansson would refuse the string), and the
 * table and CSV forms replace control characters (C0, DEL, C1) and invalid bytes by '?'.
 *
 * Decisions: empty strings are null in JSON (except ip); a type, class or unit code
 * that the MIB does not name is "other" (0 is null); CSV has one row per supply with the
 * printer's columns repeated (a spreadsheet then filters and sorts supplies; a printer
 * without supplies has one row with empty supply cells), every row the same width; cells
 * from printers that begin with = + - @ get a leading ' (CSV injection). */
#include "agent/output.h"

#include "snmp/alerts.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"

#define BAR_CELLS 20
#define DESCR_COLS 30

struct asr_report {
  json_t *devices; /* array of DEVICE objects */
  json_t *uplink;  /* the upload state (status), or NULL */
  int stored;      /* devices came from the store: history columns in CSV and table */
};

asr_result asr_format_parse(const char *s, asr_format *out)
{
  static const struct {
    const char *name;
    asr_format fmt;
  } names[] = {{"table", ASR_FMT_TABLE}, {"json", ASR_FMT_JSON}, {"csv", ASR_FMT_CSV}};

  for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcasecmp(s, names[i].name) == 0) {
      *out = names[i].fmt;
      return ASR_OK;
    }
  }
  return ASR_ERR_INVALID;
}

/* ---- text cleaning ---- */

/* Copies s into a new buffer: for JSON (text == 0) malformed bytes become U+FFFD (jansson
 * escapes the controls; a JSON reader gets the printer's exact text), for text output
 * (tables, CSV) every unsafe character (common/text.h) becomes '?'. NULL when out of
 * memory. */
static char *clean_utf8(const char *s, int text)
{
  asr_buf b = {0};
  char *out;

  if (text)
    asr_text_add(&b, s, ASR_TEXT_QMARK);
  else
    asr_utf8_repair(&b, s);
  return asr_buf_finish(&b, &out) == ASR_OK ? out : NULL;
}

/* ---- JSON building ---- */

/* A string member, null when empty. Returns -1 when out of memory. */
static int set_str(json_t *o, const char *key, const char *s)
{
  char *c;
  int r;

  if (!s || !*s)
    return json_object_set_new(o, key, json_null());
  c = clean_utf8(s, 0);
  if (!c)
    return -1;
  r = json_object_set_new(o, key, json_string(c));
  free(c);
  return r;
}

static int set_int_or_null(json_t *o, const char *key, int known, json_int_t v)
{
  return json_object_set_new(o, key, known ? json_integer(v) : json_null());
}

/* A MIB code as its name: 0 -> null, unnamed -> "other". */
static int set_code(json_t *o, const char *key, int32_t code, const char *name)
{
  if (code == 0)
    return json_object_set_new(o, key, json_null());
  return json_object_set_new(o, key, json_string(name ? name : "other"));
}

static int set_time(json_t *o, const char *key, int64_t t)
{
  char buf[32];

  if (t <= 0)
    return json_object_set_new(o, key, json_null());
  asr_time_iso(t, buf, sizeof(buf));
  return json_object_set_new(o, key, buf[0] ? json_string(buf) : json_null());
}

static json_t *supply_json(const asr_supply *s)
{
  json_t *o = json_object();
  int bad = 0;

  if (!o)
    return NULL;
  bad |= json_object_set_new(o, "index", json_integer(s->index));
  bad |= set_str(o, "description", s->description);
  bad |= set_str(o, "part_number", s->part_number);
  bad |= set_code(o, "type", s->type, asr_supply_type_name(s->type));
  bad |= set_code(o, "class", s->klass, asr_supply_class_name(s->klass));
  bad |= set_str(o, "colorant", s->colorant);
  bad |= set_str(o, "colorant_std", s->colorant_std);
  bad |= set_code(o, "unit", s->unit, asr_supply_unit_name(s->unit));
  bad |= set_int_or_null(o, "max", s->has_max, s->max);
  bad |= set_int_or_null(o, "level", s->has_level, s->level);
  bad |= set_int_or_null(o, "percent", s->percent >= 0 && s->percent <= 100, s->percent);
  bad |= json_object_set_new(o, "state", json_string(asr_supply_state_name(s->state)));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *status_json(const asr_device *d)
{
  json_t *o = json_object(), *errors = json_array();
  int bad = !o || !errors;

  for (unsigned bit = 0; !bad && d->has_error_state && bit < 32; bit++) {
    const char *name = asr_printer_error_name(bit);

    if ((d->error_bits & (1u << bit)) && name)
      bad |= json_array_append_new(errors, json_string(name));
  }
  if (!bad)
    bad |= set_code(o, "printer", d->printer_status, asr_printer_status_name(d->printer_status));
  if (!bad) {
    bad |= json_object_set_new(o, "errors", errors);
    errors = NULL;
  }
  json_decref(errors);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int set_identity(json_t *o, const asr_device *d)
{
  int bad = 0;

  bad |= json_object_set_new(o, "ip", json_string(d->ip[0] ? d->ip : ""));
  bad |= set_str(o, "serial", d->serial);
  bad |= set_str(o, "vendor", d->vendor);
  bad |= set_str(o, "model", d->model);
  bad |= set_str(o, "sys_descr", d->sys_descr);
  bad |= set_str(o, "sys_object_id", d->sys_object_id);
  bad |= set_str(o, "sys_name", d->sys_name);
  bad |= set_str(o, "mac", d->mac);
  bad |= set_int_or_null(o, "page_count", d->has_page_count, d->page_count);
  bad |= json_object_set_new(o, "status", status_json(d));
  return bad;
}

static json_t *meter_json(const asr_meter *m)
{
  json_t *o = json_object();

  if (o && (set_str(o, "name", m->name) || set_str(o, "unit", m->unit) ||
            set_str(o, "source", m->source) ||
            json_object_set_new(o, "value", json_integer(m->value)))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *alert_json(const asr_alert *a)
{
  char key[32];
  json_t *o = json_object();
  int bad = !o;

  asr_alert_key(a, key, sizeof(key));
  if (!bad) {
    bad |= json_object_set_new(o, "index", json_integer(a->index));
    bad |= set_code(o, "severity", a->severity, asr_alert_severity_name(a->severity));
    bad |= set_code(o, "training", a->training, asr_alert_training_name(a->training));
    bad |= set_code(o, "group", a->group, asr_alert_group_name(a->group));
    bad |= set_int_or_null(o, "group_index", a->group_index >= 0, a->group_index);
    bad |= set_int_or_null(o, "location", a->location >= 0, a->location);
    bad |= set_code(o, "code", a->code, asr_alert_code_name(a->code));
    bad |= set_str(o, "description", a->description);
    bad |= json_object_set_new(o, "time", json_integer(a->time));
    bad |= json_object_set_new(o, "critical", json_boolean(asr_alert_critical(a)));
    bad |= set_str(o, "route", asr_alert_route(a));
    bad |= set_str(o, "key", key);
  }
  if (bad) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* "meters" (when the printer reported some) and "alerts" (when its prtAlertTable was
 * read; "alerts_total" the rows it had); -1 when out of memory. */
static int set_meters_alerts(json_t *o, const asr_device *d)
{
  json_t *arr;
  int bad = 0;
  size_t n = d->n_meters < ASR_METERS_MAX ? d->n_meters : ASR_METERS_MAX;

  if (n) {
    arr = json_array();
    bad |= !arr || json_object_set_new(o, "meters", arr);
    for (size_t i = 0; i < n && !bad; i++)
      bad |= json_array_append_new(arr, meter_json(&d->meters[i]));
  }
  n = d->n_alerts < ASR_ALERTS_MAX ? d->n_alerts : ASR_ALERTS_MAX;
  if (!bad && d->has_alert_table) {
    arr = json_array();
    bad |= !arr || json_object_set_new(o, "alerts", arr);
    for (size_t i = 0; i < n && !bad; i++)
      bad |= json_array_append_new(arr, alert_json(&d->alerts[i]));
    if (!bad)
      bad |= json_object_set_new(o, "alerts_total", json_integer((json_int_t)d->alerts_total));
  }
  return bad ? -1 : 0;
}

/* The DEVICE object of output.h; NULL when out of memory. */
static json_t *device_json(const asr_device *d)
{
  json_t *o = json_object(), *supplies = json_array();
  int bad = !o || !supplies;
  size_t n = d->n_supplies < ASR_SUPPLIES_MAX ? d->n_supplies : ASR_SUPPLIES_MAX;

  if (!bad)
    bad |= set_identity(o, d);
  for (size_t i = 0; i < n && !bad; i++)
    bad |= json_array_append_new(supplies, supply_json(&d->supplies[i]));
  if (!bad) {
    bad |= json_object_set_new(o, "supplies", supplies);
    supplies = NULL;
  }
  if (!bad)
    bad |= set_meters_alerts(o, d);
  json_decref(supplies);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int set_history(json_t *o, const asr_store_device *d, int64_t now)
{
  int bad = 0;
  int64_t age = now - d->last_good_poll;

  bad |= set_time(o, "first_seen", d->first_seen);
  bad |= set_time(o, "last_seen", d->last_seen);
  bad |= set_time(o, "last_good_poll", d->last_good_poll);
  bad |= set_int_or_null(o, "age_seconds", d->last_good_poll > 0, age > 0 ? age : 0);
  bad |= json_object_set_new(o, "failed_polls", json_integer(d->failed_polls));
  bad |= set_str(o, "last_failure", d->failed_polls || d->last_failure_at ? d->last_failure : "");
  bad |= set_time(o, "last_failure_at", d->last_failure_at);
  bad |= set_int_or_null(o, "last_failure_seconds", d->last_failure_at > 0,
                         now > d->last_failure_at ? now - d->last_failure_at : 0);
  bad |= set_time(o, "last_reading_at", d->last_reading_at);
  bad |= json_object_set_new(o, "readings", json_integer(d->readings));
  return bad;
}

/* ---- the report ---- */

asr_report *asr_report_new(void)
{
  asr_report *r = calloc(1, sizeof(*r));

  if (!r)
    return NULL;
  r->devices = json_array();
  if (!r->devices) {
    free(r);
    return NULL;
  }
  return r;
}

void asr_report_free(asr_report *r)
{
  if (!r)
    return;
  json_decref(r->devices);
  json_decref(r->uplink);
  free(r);
}

asr_result asr_report_add_device(asr_report *r, const asr_device *d)
{
  json_t *o = device_json(d);

  if (!o || json_array_append_new(r->devices, o))
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

asr_result asr_report_set_state(asr_report *r, const char *state, int64_t since, int64_t now)
{
  json_t *o = json_array_get(r->devices, json_array_size(r->devices) - 1);
  int bad = !o;

  if (!bad) {
    bad |= json_object_set_new(o, "state", json_string(state && *state ? state : "active"));
    bad |= set_time(o, "state_since", since);
    bad |= json_object_set_new(o, "state_seconds",
                               since > 0 && now >= since ? json_integer(now - since) : json_null());
  }
  return bad ? ASR_ERR_NOMEM : ASR_OK;
}

asr_result asr_report_set_note(asr_report *r, const char *key, const char *text)
{
  json_t *o = json_array_get(r->devices, json_array_size(r->devices) - 1);

  if (!o || !key || set_str(o, key, text ? text : ""))
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

asr_result asr_report_add_stored(asr_report *r, const asr_store_device *d, int64_t now)
{
  json_t *o = device_json(&d->dev);

  if (!o || set_history(o, d, now)) {
    json_decref(o);
    return ASR_ERR_NOMEM;
  }
  if (json_array_append_new(r->devices, o))
    return ASR_ERR_NOMEM;
  r->stored = 1;
  return ASR_OK;
}

/* The newest problem the central reported, or null. */
static json_t *problem_json(const asr_report_problem *p)
{
  json_t *o;
  int bad;

  if (p->at <= 0)
    return json_null();
  o = json_object();
  bad = !o;
  if (!bad) {
    bad |= set_time(o, "at", p->at);
    bad |= set_str(o, "batch_id", p->batch_id);
    bad |= set_str(o, "what", p->what);
    bad |= set_str(o, "device", p->device);
    bad |= set_time(o, "t", p->t);
    bad |= set_str(o, "error", p->error);
  }
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

asr_result asr_report_set_uplink(asr_report *r, const asr_report_uplink *u)
{
  json_t *o = json_object();
  int bad = !o;

  if (!bad) {
    bad |= set_str(o, "endpoint", u->enrolled ? u->endpoint : "");
    bad |= set_str(o, "agent_id", u->enrolled ? u->agent_id : "");
    bad |= set_str(o, "site", u->enrolled ? u->site : "");
    bad |= set_time(o, "last_upload", u->last_upload);
    bad |= json_object_set_new(o, "pending_batches", json_integer(u->pending_batches));
    bad |= json_object_set_new(o, "pending_readings", json_integer(u->pending_readings));
    bad |= json_object_set_new(o, "held_batches", json_integer(u->held_batches));
    bad |= set_str(o, "last_error", u->last_error);
    bad |= json_object_set_new(o, "stopped", json_boolean(u->stopped && u->stopped[0]));
    bad |= set_str(o, "stopped_reason", u->stopped);
    bad |= json_object_set_new(o, "outbox_full", json_boolean(u->outbox_full));
    bad |= json_object_set_new(o, "refused_readings", json_integer(u->refused_readings));
    bad |= json_object_set_new(o, "refused_events", json_integer(u->refused_events));
    bad |= json_object_set_new(o, "batch_ids_reused", json_integer(u->ids_reused));
    bad |= json_object_set_new(o, "last_problem", problem_json(&u->last_problem));
  }
  if (bad) {
    json_decref(o);
    return ASR_ERR_NOMEM;
  }
  json_decref(r->uplink);
  r->uplink = o;
  return ASR_OK;
}

/* ---- reading the objects back ---- */

static const char *jstr(const json_t *o, const char *key)
{
  const char *s = json_string_value(json_object_get(o, key));

  return s ? s : "";
}

/* Integer member: 1 and *v when present, 0 when null or missing. */
static int jint(const json_t *o, const char *key, json_int_t *v)
{
  const json_t *x = json_object_get(o, key);

  if (!json_is_integer(x))
    return 0;
  *v = json_integer_value(x);
  return 1;
}

/* Dotted quad as a number for sorting; addresses that are not one sort last. */
static uint64_t ip_key(const char *ip)
{
  unsigned a[4];
  char tail;

  if (sscanf(ip, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4 || a[0] > 255 ||
      a[1] > 255 || a[2] > 255 || a[3] > 255)
    return UINT64_MAX;
  return ((uint64_t)a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
}

typedef struct {
  json_t *dev;
  uint64_t key;
  size_t pos;
} sort_item;

static int sort_cmp(const void *pa, const void *pb)
{
  const sort_item *a = pa, *b = pb;

  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

/* Sorts the devices by address (stable), in place. */
static asr_result sort_devices(json_t *arr)
{
  size_t n = json_array_size(arr);
  sort_item *items;

  if (n < 2)
    return ASR_OK;
  items = calloc(n, sizeof(*items));
  if (!items)
    return ASR_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    items[i].dev = json_incref(json_array_get(arr, i));
    items[i].key = ip_key(jstr(items[i].dev, "ip"));
    items[i].pos = i;
  }
  qsort(items, n, sizeof(*items), sort_cmp);
  for (size_t i = 0; i < n; i++)
    json_array_set_new(arr, i, items[i].dev);
  free(items);
  return ASR_OK;
}

/* ---- JSON output ---- */

static asr_result dump_json(const json_t *o, FILE *out)
{
  if (json_dumpf(o, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF || ferror(out))
    return ASR_ERR_IO;
  return ASR_OK;
}

/* {"devices": [...], extra...}; extra values that are integers are numbers. */
static asr_result print_json(asr_report *r, FILE *out, const char *const *extra)
{
  json_t *o = json_object();
  asr_result res = ASR_ERR_NOMEM;
  int bad;

  if (!o)
    return ASR_ERR_NOMEM;
  bad = json_object_set(o, "devices", r->devices);
  if (r->uplink)
    bad |= json_object_set(o, "uplink", r->uplink);
  for (size_t i = 0; extra && extra[i] && extra[i + 1] && !bad; i += 2) {
    int64_t v;

    if (asr_parse_i64(extra[i + 1], INT64_MIN, INT64_MAX, &v) == ASR_OK)
      bad |= json_object_set_new(o, extra[i], json_integer(v));
    else
      bad |= set_str(o, extra[i], extra[i + 1]);
  }
  if (!bad)
    res = dump_json(o, out);
  json_decref(o);
  return res;
}

/* ---- table output ---- */

/* Prints s cleaned, cut to cols code points on a UTF-8 boundary, padded to cols when pad. */
static void put_cell(FILE *out, const char *s, size_t cols, int pad)
{
  char *c = clean_utf8(s && *s ? s : "-", 1);
  const unsigned char *p = (const unsigned char *)(c ? c : "?");
  size_t used = 0;

  while (*p && used < cols) {
    size_t len = asr_utf8_seq(p);

    if (len == 0)
      len = 1;
    fwrite(p, 1, len, out);
    p += len;
    used++;
  }
  while (pad && used++ < cols)
    fputc(' ', out);
  free(c);
}

static void format_age(json_int_t age, char *buf, size_t n)
{
  if (age < 120)
    asr_fmt_cut(buf, n, "%llds ago", (long long)age);
  else if (age < 7200)
    asr_fmt_cut(buf, n, "%lldm ago", (long long)(age / 60));
  else if (age < 172800)
    asr_fmt_cut(buf, n, "%lldh ago", (long long)(age / 3600));
  else
    asr_fmt_cut(buf, n, "%lldd ago", (long long)(age / 86400));
}

/* The "lowToner,doorOpen" list of a device's error names. */
static void join_errors(const json_t *dev, const char *sep, char *buf, size_t n)
{
  const json_t *errors = json_object_get(json_object_get(dev, "status"), "errors");
  size_t len = 0, i;
  json_t *e;

  buf[0] = '\0';
  json_array_foreach(errors, i, e)
  {
    asr_append(buf, n, &len, "%s%s", i ? sep : "",
               json_string_value(e) ? json_string_value(e) : "");
  }
}

static void print_bar(FILE *out, json_int_t pct)
{
  int filled = (int)(pct * BAR_CELLS / 100);

  fputs("  [", out);
  for (int i = 0; i < BAR_CELLS; i++)
    fputc(i < filled ? '#' : '.', out);
  fputc(']', out);
}

/* The colorant cell: the canonical word, with the printer's own when it differs
 * ("black (schwarz)"), or the printer's alone when it names no known colour. */
static void colorant_cell(const json_t *s, char *buf, size_t n)
{
  const char *own = jstr(s, "colorant"), *std = jstr(s, "colorant_std");

  if (!*std || !*own || strcmp(own, std) == 0)
    asr_strlcpy_cut(buf, *std ? std : own, n);
  else
    asr_fmt_cut(buf, n, "%s (%s)", std, own);
}

static void print_supply_row(FILE *out, const json_t *s, int bars)
{
  json_int_t pct;
  char buf[16] = "-", colorant[64];
  int known = jint(s, "percent", &pct);

  if (known)
    asr_fmt_cut(buf, sizeof(buf), "%lld%%", (long long)pct);
  colorant_cell(s, colorant, sizeof(colorant));
  fputs("    ", out);
  put_cell(out, jstr(s, "description"), DESCR_COLS, 1);
  fputc(' ', out);
  put_cell(out, colorant, 18, 1);
  fputc(' ', out);
  put_cell(out, jstr(s, "state"), 15, 1);
  fprintf(out, " %4s", buf);
  if (bars && known)
    print_bar(out, pct);
  fputc('\n', out);
}

/* "active", "silent 3d", "disconnected 8d": the state and for how long (status). */
static void print_state_cell(FILE *out, const json_t *dev, int pad)
{
  const char *state = jstr(dev, "state");
  char cell[40], age[32] = "";
  json_int_t v;

  if (strcmp(state, "active") != 0 && *state && jint(dev, "state_seconds", &v)) {
    format_age(v, age, sizeof(age));
    age[strcspn(age, " ")] = '\0'; /* "3d ago" -> "3d" */
  }
  asr_fmt_cut(cell, sizeof(cell), "%s%s%s", *state ? state : "-", age[0] ? " " : "", age);
  fputs("  ", out);
  put_cell(out, cell, 15, pad);
}

/* True when the last poll of a stored device failed (a failure after the last good one). */
static int last_poll_failed(const json_t *dev)
{
  json_int_t n = 0;

  return jint(dev, "failed_polls", &n) && n > 0;
}

/* The LAST POLL cell: the age of the last attempt, "FAILED" when it failed. */
static void last_poll_cell(const json_t *dev, char *buf, size_t n)
{
  json_int_t v;
  char age[32];

  if (last_poll_failed(dev) && jint(dev, "last_failure_seconds", &v)) {
    format_age(v, age, sizeof(age));
    asr_fmt_cut(buf, n, "%s FAILED", age);
  } else if (jint(dev, "age_seconds", &v)) {
    format_age(v, buf, n);
  } else {
    asr_strlcpy_cut(buf, "never", n);
  }
}

/* Under a device whose last polls failed: how many, why, and when it last answered. */
static void print_failure_line(FILE *out, const json_t *dev)
{
  json_int_t n = 0, v;
  char good[40] = "never";

  if (!last_poll_failed(dev) || !jint(dev, "failed_polls", &n))
    return;
  if (jint(dev, "age_seconds", &v))
    format_age(v, good, sizeof(good));
  fprintf(out, "    ! %lld failed %s in a row: ", (long long)n, asr_plural(n, "poll", "polls"));
  put_cell(out, *jstr(dev, "last_failure") ? jstr(dev, "last_failure") : "no reason given", 160, 0);
  fprintf(out, "; last good poll %s\n", good);
}

static void print_device_row(FILE *out, const json_t *dev, int stored)
{
  json_int_t v;
  char pages[24] = "-", age[40], errors[512];

  if (jint(dev, "page_count", &v))
    asr_fmt_cut(pages, sizeof(pages), "%lld", (long long)v);
  last_poll_cell(dev, age, sizeof(age));
  put_cell(out, jstr(dev, "ip"), 15, 1);
  fputc(' ', out);
  put_cell(out, jstr(dev, "serial"), 20, 1);
  fputc(' ', out);
  put_cell(out, jstr(dev, "vendor"), 12, 1);
  fputc(' ', out);
  put_cell(out, jstr(dev, "model"), 30, 1);
  fputc(' ', out);
  put_cell(out, jstr(json_object_get(dev, "status"), "printer"), 9, 1);
  fprintf(out, " %12s", pages);
  join_errors(dev, ",", errors, sizeof(errors));
  if (stored) {
    fputs("  ", out);
    put_cell(out, age, 16, 1);
    print_state_cell(out, dev, errors[0] != '\0');
  }
  if (errors[0]) {
    fputs("  errors: ", out);
    put_cell(out, errors, sizeof(errors), 0);
  }
  fputc('\n', out);
}

/* The notes a device may carry (asr_report_set_note), one line each under its row. */
static void print_notes(FILE *out, const json_t *dev)
{
  static const char *const keys[] = {"conflict", "problem"};

  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const char *v = jstr(dev, keys[i]);
    if (!*v)
      continue;
    fprintf(out, "    %s: ", keys[i]);
    put_cell(out, v, 400, 0);
    fputc('\n', out);
  }
}

static void print_table_device(FILE *out, const json_t *dev, int stored, int bars)
{
  size_t i;
  json_t *s;

  print_device_row(out, dev, stored);
  if (stored)
    print_failure_line(out, dev);
  print_notes(out, dev);
  json_array_foreach(json_object_get(dev, "supplies"), i, s)
  {
    print_supply_row(out, s, bars);
  }
}

static void print_table_header(FILE *out, int stored)
{
  fprintf(out, "%-15s %-20s %-12s %-30s %-9s %12s%s\n", "IP", "SERIAL", "VENDOR", "MODEL", "STATUS",
          "PAGES", stored ? "  LAST POLL         STATE" : "");
}

static asr_result print_table(const json_t *devices, FILE *out, int stored, int bars)
{
  size_t i;
  json_t *dev;

  if (json_array_size(devices) == 0) {
    fputs("no devices\n", out);
    return ferror(out) ? ASR_ERR_IO : ASR_OK;
  }
  print_table_header(out, stored);
  json_array_foreach(devices, i, dev)
  {
    print_table_device(out, dev, stored, bars);
  }
  return ferror(out) ? ASR_ERR_IO : ASR_OK;
}

/* What the central refused lately, on the "uplink:" line. */
static void print_problems(FILE *out, const json_t *u)
{
  const json_t *last = json_object_get(u, "last_problem");
  json_int_t rr = 0, re = 0, reused = 0;

  jint(u, "refused_readings", &rr);
  jint(u, "refused_events", &re);
  jint(u, "batch_ids_reused", &reused);
  if (rr > 0 || re > 0)
    fprintf(out, "; the central refused %lld readings and %lld events in the last 7 days",
            (long long)rr, (long long)re);
  if (json_is_object(last) && strcmp(jstr(last, "what"), "id_reused") != 0) {
    fputs(" (last: ", out);
    put_cell(out, jstr(last, "what"), 16, 0);
    fputc(' ', out);
    put_cell(out, jstr(last, "device"), 255, 0);
    fputs(": ", out);
    put_cell(out, jstr(last, "error"), 255, 0);
    fputc(')', out);
  }
  if (reused > 0)
    fprintf(out,
            "; %lld batch ids the central knew with another content (restored or copied"
            " database?)",
            (long long)reused);
}

/* "uplink: ..." after the devices table. */
static void print_uplink_line(FILE *out, const json_t *u)
{
  const char *last = jstr(u, "last_upload"), *err = jstr(u, "last_error");
  json_int_t pb = 0, pr = 0, held = 0;

  if (!u)
    return;
  if (!*jstr(u, "agent_id")) {
    fputs("uplink: not enrolled\n", out);
    return;
  }
  jint(u, "pending_batches", &pb);
  jint(u, "pending_readings", &pr);
  jint(u, "held_batches", &held);
  fprintf(out, "uplink: %s as %s: last upload %s, %lld %s pending (%lld %s), %lld held",
          jstr(u, "endpoint"), jstr(u, "agent_id"), *last ? last : "never", (long long)pb,
          asr_plural(pb, "batch", "batches"), (long long)pr, asr_plural(pr, "reading", "readings"),
          (long long)held);
  if (json_is_true(json_object_get(u, "stopped")))
    fprintf(out, "; STOPPED: %s", jstr(u, "stopped_reason"));
  else if (*err)
    fprintf(out, "; last error: %s", err);
  if (json_is_true(json_object_get(u, "outbox_full")))
    fputs("; OUTBOX OVER ITS BOUND", out);
  print_problems(out, u);
  fputc('\n', out);
}

/* ---- CSV output ---- */

/* One RFC 4180 cell. Text from printers (text != 0) is cleaned and guarded against formula
 * injection: a leading = + - @ gets a ' in front. */
static void csv_cell(FILE *out, const char *s, int text, int last)
{
  char *c = clean_utf8(s ? s : "", 1);
  const char *p = c ? c : "?";
  int quote = strpbrk(p, ",\"\r\n") != NULL || (p[0] == ' ');

  if (text && strchr("=+-@", p[0]) && p[0])
    quote = 1;
  if (quote)
    fputc('"', out);
  if (text && p[0] && strchr("=+-@", p[0]))
    fputc('\'', out);
  for (; *p; p++) {
    if (*p == '"')
      fputc('"', out);
    fputc(*p, out);
  }
  if (quote)
    fputc('"', out);
  fputs(last ? "\r\n" : ",", out);
  free(c);
}

static void csv_num(FILE *out, const json_t *o, const char *key, int last)
{
  json_int_t v;
  char buf[32] = "";

  if (jint(o, key, &v))
    asr_fmt_cut(buf, sizeof(buf), "%lld", (long long)v);
  csv_cell(out, buf, 0, last);
}

/* Where a CSV column takes its value: a member of the device or of the supply, as text
 * (from printers: cleaned, guarded) or as a number; the printer status; the error list. */
typedef enum { CSV_DEV, CSV_DEV_NUM, CSV_PRINTER, CSV_ERRORS, CSV_SUP, CSV_SUP_NUM } csv_kind;

typedef struct {
  const char *header;
  csv_kind kind;
  const char *key; /* member of the device or supply object */
} csv_col;

/* The printer's columns, repeated on each of its supply rows. */
static const csv_col csv_device_cols[] = {
    {"ip", CSV_DEV, "ip"},
    {"serial", CSV_DEV, "serial"},
    {"vendor", CSV_DEV, "vendor"},
    {"model", CSV_DEV, "model"},
    {"sys_name", CSV_DEV, "sys_name"},
    {"mac", CSV_DEV, "mac"},
    {"status", CSV_PRINTER, NULL},
    {"errors", CSV_ERRORS, NULL},
    {"page_count", CSV_DEV_NUM, "page_count"},
};

/* status only: the history of a stored printer. */
static const csv_col csv_stored_cols[] = {
    {"state", CSV_DEV, "state"},
    {"first_seen", CSV_DEV, "first_seen"},
    {"last_seen", CSV_DEV, "last_seen"},
    {"last_good_poll", CSV_DEV, "last_good_poll"},
    {"age_seconds", CSV_DEV_NUM, "age_seconds"},
    {"failed_polls", CSV_DEV_NUM, "failed_polls"},
    {"last_failure", CSV_DEV, "last_failure"},
    {"last_failure_at", CSV_DEV, "last_failure_at"},
};

/* One supply per row (empty for a printer that reports none). */
static const csv_col csv_supply_cols[] = {
    {"supply_index", CSV_SUP_NUM, "index"},
    {"supply_description", CSV_SUP, "description"},
    {"supply_part_number", CSV_SUP, "part_number"},
    {"supply_type", CSV_SUP, "type"},
    {"supply_class", CSV_SUP, "class"},
    {"supply_colorant", CSV_SUP, "colorant"},
    {"supply_colorant_std", CSV_SUP, "colorant_std"},
    {"supply_unit", CSV_SUP, "unit"},
    {"supply_max", CSV_SUP_NUM, "max"},
    {"supply_level", CSV_SUP_NUM, "level"},
    {"supply_percent", CSV_SUP_NUM, "percent"},
    {"supply_state", CSV_SUP, "state"},
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static void csv_value(FILE *out, const csv_col *c, const json_t *dev, const json_t *sup, int last)
{
  char errors[512];

  switch (c->kind) {
  case CSV_DEV:
    csv_cell(out, jstr(dev, c->key), 1, last);
    break;
  case CSV_DEV_NUM:
    csv_num(out, dev, c->key, last);
    break;
  case CSV_PRINTER:
    csv_cell(out, jstr(json_object_get(dev, "status"), "printer"), 1, last);
    break;
  case CSV_ERRORS:
    join_errors(dev, " ", errors, sizeof(errors));
    csv_cell(out, errors, 1, last);
    break;
  case CSV_SUP:
    csv_cell(out, sup ? jstr(sup, c->key) : "", 1, last);
    break;
  case CSV_SUP_NUM:
  default:
    csv_num(out, sup, c->key, last);
    break;
  }
}

static void csv_cols(FILE *out, const csv_col *cols, size_t n, const json_t *dev, const json_t *sup,
                     int last)
{
  for (size_t i = 0; i < n; i++) {
    if (dev)
      csv_value(out, &cols[i], dev, sup, last && i + 1 == n);
    else
      csv_cell(out, cols[i].header, 0, last && i + 1 == n);
  }
}

/* One row: the printer's columns, its history when stored, one supply (or none). With
 * dev NULL: the header. */
static void csv_row(FILE *out, const json_t *dev, const json_t *sup, int stored)
{
  csv_cols(out, csv_device_cols, NCOLS(csv_device_cols), dev, sup, 0);
  if (stored)
    csv_cols(out, csv_stored_cols, NCOLS(csv_stored_cols), dev, sup, 0);
  csv_cols(out, csv_supply_cols, NCOLS(csv_supply_cols), dev, sup, 1);
}

/* RFC 4180, one row per supply with the printer's columns repeated (what a spreadsheet
 * filters and sorts); a printer without supplies gets one row with empty supply cells. */
static asr_result print_csv(const json_t *devices, FILE *out, int stored)
{
  size_t i, k;
  json_t *dev, *sup;

  csv_row(out, NULL, NULL, stored);
  json_array_foreach(devices, i, dev)
  {
    const json_t *supplies = json_object_get(dev, "supplies");

    if (json_array_size(supplies) == 0)
      csv_row(out, dev, NULL, stored);
    json_array_foreach(supplies, k, sup)
    {
      csv_row(out, dev, sup, stored);
    }
  }
  return ferror(out) ? ASR_ERR_IO : ASR_OK;
}

/* ---- entry points ---- */

asr_result asr_report_print(asr_report *r, FILE *out, asr_format fmt, int bars,
                            const char *const *extra)
{
  asr_result res = sort_devices(r->devices);

  if (res)
    return res;
  switch (fmt) {
  case ASR_FMT_JSON:
    return print_json(r, out, extra);
  case ASR_FMT_CSV:
    return print_csv(r->devices, out, r->stored);
  case ASR_FMT_TABLE:
  default:
    res = print_table(r->devices, out, r->stored, bars);
    if (!res && r->uplink) {
      print_uplink_line(out, r->uplink);
      res = ferror(out) ? ASR_ERR_IO : ASR_OK;
    }
    return res;
  }
}

asr_result asr_report_print_one(const asr_device *d, FILE *out, asr_format fmt)
{
  json_t *o = device_json(d), *arr = NULL;
  asr_result res = ASR_ERR_NOMEM;

  if (!o)
    return ASR_ERR_NOMEM;
  if (fmt == ASR_FMT_JSON) {
    res = dump_json(o, out);
    goto out;
  }
  arr = json_array();
  if (!arr || json_array_append(arr, o))
    goto out;
  if (fmt == ASR_FMT_CSV)
    res = print_csv(arr, out, 0);
  else
    res = print_table(arr, out, 0, 1);
out:
  json_decref(arr);
  json_decref(o);
  return res;
}
