/* uplink/batch.c: builds a batch from the store (JSON with jansson, then gzip).
 *
 * Reading order: pure helpers (ids, percent, enterprise, heartbeat rule), the builder (a
 * device table hashed by store id, JSON of devices and readings), then build and split.
 *
 * Why it looks like this: a day of a 10,000-printer site is ~60,000 readings of ~6
 * supplies. The store walk is one statement in time order; each device is loaded once
 * (asr_store_get) the first time one of its readings comes, and its supplies metadata
 * goes into the JSON once; a reading is [index, level, max, percent] arrays only. The
 * supplies metadata needed to normalize old levels (type, class, unit) is kept compactly
 * per device, not as whole asr_device structures. */
#include "uplink/batch.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/device.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/events.h"
#include "store/meters.h"
#include "wire/gz.h"
#include "wire/sign.h"

/* ---- pure helpers ---- */

asr_result asr_batch_id(const char *agent_id, int64_t seq, const char *nonce, char *out, size_t n)
{
  static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

  if (!agent_id || !*agent_id || seq < 0 || seq > 9999999999LL)
    return ASR_ERR_INVALID;
  if (!nonce || !*nonce)
    return asr_fmt(out, n, "%s-%010lld", agent_id, (long long)seq);
  if (strlen(nonce) > ASR_BATCH_NONCE_MAX || strspn(nonce, alnum) != strlen(nonce))
    return ASR_ERR_INVALID;
  return asr_fmt(out, n, "%s-%010lld-%s", agent_id, (long long)seq, nonce);
}

uint32_t asr_batch_enterprise(const char *oid)
{
  static const char prefix[] = "1.3.6.1.4.1.";
  uint64_t v = 0;
  const char *p;

  if (!oid || strncmp(oid, prefix, sizeof(prefix) - 1) != 0)
    return 0;
  for (p = oid + sizeof(prefix) - 1; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > UINT32_MAX)
      return 0;
  }
  return (*p == '.' || *p == '\0') ? (uint32_t)v : 0;
}

int asr_batch_percent(const asr_supply *meta, int64_t level, int64_t max, uint32_t enterprise)
{
  asr_supply s = *meta;

  s.has_level = true; /* the store keeps "not reported" as -2, RFC 3805's unknown */
  s.level = level;
  s.has_max = true;
  s.max = max;
  asr_supply_normalize(&s, enterprise);
  return s.percent;
}

bool asr_batch_heartbeat_due(bool has_new, bool pending, int64_t last_delivered, int64_t now)
{
  if (has_new || pending)
    return false;
  return last_delivered <= 0 || now - last_delivered >= ASR_BATCH_HEARTBEAT_SECONDS;
}

/* ---- the builder ---- */

typedef struct {
  int64_t id;
  uint32_t enterprise;
  size_t first, n; /* its supplies in builder.sup */
} dev_entry;

typedef struct {
  asr_store *st;
  const asr_batch_opts *o;
  json_t *devices, *readings, *events;
  dev_entry *devs;
  size_t n_devs, cap_devs;
  uint32_t *slots; /* open addressing: device id -> index + 1 in devs, 0 = empty */
  size_t n_slots;
  int32_t (*sup)[4]; /* index, type, class, unit of every supply of every device */
  size_t n_sup, cap_sup;
  asr_store_device *scratch;
  asr_result err;
} builder;

static void builder_free(builder *b)
{
  json_decref(b->devices);
  json_decref(b->readings);
  json_decref(b->events);
  free(b->devs);
  free(b->slots);
  free(b->sup);
  if (b->scratch)
    asr_secret_wipe(&b->scratch->cred, sizeof(b->scratch->cred));
  free(b->scratch);
}

static asr_result builder_init(builder *b, asr_store *st, const asr_batch_opts *o)
{
  memset(b, 0, sizeof(*b));
  b->st = st;
  b->o = o;
  b->devices = json_array();
  b->readings = json_array();
  b->events = json_array();
  b->n_slots = 1024;
  b->slots = calloc(b->n_slots, sizeof(*b->slots));
  b->scratch = malloc(sizeof(*b->scratch));
  if (!b->devices || !b->readings || !b->events || !b->slots || !b->scratch)
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

static size_t slot_of(int64_t id, size_t n_slots)
{
  uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

  return (size_t)(h >> 32) & (n_slots - 1);
}

/* Finds device id: its index in devs, or -1 (then *slot is where it goes). */
static long find_dev(const builder *b, int64_t id, size_t *slot)
{
  size_t i = slot_of(id, b->n_slots);

  while (b->slots[i]) {
    if (b->devs[b->slots[i] - 1].id == id)
      return (long)b->slots[i] - 1;
    i = (i + 1) & (b->n_slots - 1);
  }
  *slot = i;
  return -1;
}

/* Doubles the hash table when it is half full. */
static asr_result grow_slots(builder *b)
{
  size_t n = b->n_slots * 2, slot = 0;
  uint32_t *old = b->slots;

  if (b->n_devs * 2 < b->n_slots)
    return ASR_OK;
  b->slots = calloc(n, sizeof(*b->slots));
  if (!b->slots) {
    b->slots = old;
    return ASR_ERR_NOMEM;
  }
  b->n_slots = n;
  for (size_t i = 0; i < b->n_devs; i++) {
    find_dev(b, b->devs[i].id, &slot);
    b->slots[slot] = (uint32_t)i + 1;
  }
  free(old);
  return ASR_OK;
}

static asr_result grow(void **p, size_t *cap, size_t need, size_t size)
{
  size_t n = *cap ? *cap : 256;
  void *np;

  if (need <= *cap)
    return ASR_OK;
  while (n < need)
    n *= 2;
  np = realloc(*p, n * size);
  if (!np)
    return ASR_ERR_NOMEM;
  *p = np;
  *cap = n;
  return ASR_OK;
}

/* A JSON string of printer text: invalid UTF-8 bytes become '?' (jansson refuses them). */
static json_t *jtext(const char *s)
{
  json_t *j = json_string(s ? s : "");
  char buf[512];
  size_t i;

  if (j)
    return j;
  for (i = 0; s[i] && i < sizeof(buf) - 1; i++)
    buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
  buf[i] = '\0';
  return json_string(buf);
}

/* A MIB code's name: "" when not reported, "other" when the MIB does not name it. */
static json_t *jcode(int32_t code, const char *name)
{
  return json_string(code == 0 ? "" : (name ? name : "other"));
}

static json_t *supply_meta_json(const asr_supply *s)
{
  json_t *o = json_object();
  int bad = !o;

  if (bad)
    return NULL;
  bad |= json_object_set_new(o, "index", json_integer(s->index));
  bad |= json_object_set_new(o, "description", jtext(s->description));
  bad |= json_object_set_new(o, "part_number", jtext(s->part_number));
  bad |= json_object_set_new(o, "type", jcode(s->type, asr_supply_type_name(s->type)));
  bad |= json_object_set_new(o, "class", jcode(s->klass, asr_supply_class_name(s->klass)));
  bad |= json_object_set_new(o, "colorant", jtext(s->colorant));
  if (s->colorant_std[0]) /* optional: absent when the agent knows no canonical word */
    bad |= json_object_set_new(o, "colorant_std", jtext(s->colorant_std));
  bad |= json_object_set_new(o, "unit", jcode(s->unit, asr_supply_unit_name(s->unit)));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *status_json(const asr_device *d)
{
  json_t *o = json_object(), *errors = json_array();
  const char *name = asr_printer_status_name(d->printer_status);
  int bad = !o || !errors;

  for (unsigned bit = 0; !bad && d->has_error_state && bit < 16; bit++) {
    const char *e = asr_printer_error_name(bit);

    if ((d->error_bits & (1u << bit)) && e)
      bad |= json_array_append_new(errors, json_string(e));
  }
  if (!bad)
    bad |= json_object_set_new(o, "printer", name ? json_string(name) : json_null());
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

/* The identity members of a DEVICE of the protocol, with its state (store/events.h). */
static int set_identity(json_t *o, const asr_store_device *sd, const char *state, int64_t since)
{
  const asr_device *d = &sd->dev;
  char key[256];
  int bad = 0;

  if (d->serial[0]) /* a cut key would merge two devices: bad */
    bad |= asr_fmt(key, sizeof(key), "serial:%s", d->serial) != ASR_OK;
  else if (d->mac[0])
    bad |= asr_fmt(key, sizeof(key), "mac:%s", d->mac) != ASR_OK;
  else
    bad |= asr_fmt(key, sizeof(key), "ip:%s", d->ip) != ASR_OK;
  bad |= json_object_set_new(o, "key", jtext(key));
  bad |= json_object_set_new(o, "serial", jtext(d->serial));
  bad |= json_object_set_new(o, "mac", jtext(d->mac));
  bad |= json_object_set_new(o, "ip", jtext(d->ip));
  bad |= json_object_set_new(o, "vendor", jtext(d->vendor));
  bad |= json_object_set_new(o, "model", jtext(d->model));
  bad |= json_object_set_new(o, "sys_object_id", jtext(d->sys_object_id));
  bad |= json_object_set_new(o, "status", status_json(d));
  bad |= json_object_set_new(o, "state", json_string(state));
  bad |= json_object_set_new(o, "state_since", json_integer(since));
  bad |= json_object_set_new(o, "last_good_poll", json_integer(sd->last_good_poll));
  bad |= json_object_set_new(o, "failed_polls", json_integer(sd->failed_polls));
  return bad;
}

static json_t *device_json(const asr_store_device *sd, const char *state, int64_t since)
{
  json_t *o = json_object(), *sup = json_array();
  int bad = !o || !sup;

  if (!bad)
    bad |= set_identity(o, sd, state, since);
  for (size_t i = 0; !bad && i < sd->dev.n_supplies; i++)
    bad |= json_array_append_new(sup, supply_meta_json(&sd->dev.supplies[i]));
  if (!bad) {
    bad |= json_object_set_new(o, "supplies", sup);
    sup = NULL;
  }
  json_decref(sup);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* Keeps the normalization metadata of the device's supplies. */
static asr_result keep_supplies(builder *b, dev_entry *e, const asr_device *d)
{
  asr_result r = grow((void **)&b->sup, &b->cap_sup, b->n_sup + d->n_supplies, sizeof(*b->sup));

  if (r)
    return r;
  e->first = b->n_sup;
  e->n = d->n_supplies;
  for (size_t i = 0; i < d->n_supplies; i++) {
    const asr_supply *s = &d->supplies[i];
    int32_t *m = b->sup[b->n_sup++];

    m[0] = s->index;
    m[1] = s->type;
    m[2] = s->klass;
    m[3] = s->unit;
  }
  return ASR_OK;
}

/* Adds device id to the batch (loaded from the store); *idx receives its index. */
static asr_result add_device(builder *b, int64_t id, size_t slot, size_t *idx)
{
  dev_entry *e;
  char state[ASR_EVENTS_STATE_MAX];
  int64_t since = 0;
  asr_result r = grow((void **)&b->devs, &b->cap_devs, b->n_devs + 1, sizeof(*b->devs));

  if (!r)
    r = asr_store_get(b->st, id, b->scratch);
  if (!r)
    r = asr_events_get_state(b->st, id, state, sizeof(state), &since);
  if (r)
    return r;
  if (json_array_append_new(b->devices, device_json(b->scratch, state, since)))
    return ASR_ERR_NOMEM;
  e = &b->devs[b->n_devs];
  e->id = id;
  e->enterprise = asr_batch_enterprise(b->scratch->dev.sys_object_id);
  r = keep_supplies(b, e, &b->scratch->dev);
  if (r)
    return r;
  b->slots[slot] = (uint32_t)b->n_devs + 1;
  *idx = b->n_devs++;
  return grow_slots(b);
}

/* The percent of one stored level, with the device's metadata for that supply. */
static int level_percent(const builder *b, const dev_entry *e, const asr_store_level *lv)
{
  asr_supply meta;

  memset(&meta, 0, sizeof(meta));
  meta.index = lv->index;
  for (size_t i = 0; i < e->n; i++) {
    const int32_t *m = b->sup[e->first + i];

    if (m[0] == lv->index) {
      meta.type = m[1];
      meta.klass = m[2];
      meta.unit = m[3];
      break;
    }
  }
  return asr_batch_percent(&meta, lv->level, lv->max, e->enterprise);
}

/* True when level i is listed again later in lv (a reading stored before issue 10 may
 * list a supply twice: the last one is kept, as the store keeps it). */
static bool level_again(const asr_store_level *lv, size_t i, size_t n)
{
  for (size_t j = i + 1; j < n; j++) {
    if (lv[j].index == lv[i].index)
      return true;
  }
  return false;
}

static json_t *levels_json(const builder *b, const dev_entry *e, const asr_store_level *lv,
                           size_t n)
{
  json_t *arr = json_array();
  int bad = !arr;

  for (size_t i = 0; !bad && i < n; i++) {
    json_t *l;
    int pct;

    if (level_again(lv, i, n))
      continue;
    l = json_array();
    pct = level_percent(b, e, &lv[i]);
    bad = !l;
    if (!bad) {
      bad |= json_array_append_new(l, json_integer(lv[i].index));
      bad |= json_array_append_new(l, json_integer(lv[i].level));
      bad |= json_array_append_new(l, json_integer(lv[i].max));
      bad |= json_array_append_new(l, pct >= 0 && pct <= 100 ? json_integer(pct) : json_null());
      bad |= json_array_append_new(arr, l);
    }
  }
  if (bad) {
    json_decref(arr);
    return NULL;
  }
  return arr;
}

/* One meter read as the protocol's object (docs/protocol.md, version 2). */
static int add_meter(const asr_meter_read *m, void *ctx)
{
  json_t *arr = ctx, *o = json_object();
  int bad = !o;

  if (!bad) {
    bad |= json_object_set_new(o, "name", jtext(m->name));
    bad |= json_object_set_new(o, "unit", jtext(m->unit));
    bad |= json_object_set_new(o, "source", jtext(m->source));
    bad |= json_object_set_new(o, "value", json_integer(m->value));
    if (m->flag[0]) {
      bad |= json_object_set_new(o, "flag", jtext(m->flag));
      bad |= json_object_set_new(o, "note", jtext(m->note));
    }
    bad |= json_array_append_new(arr, o);
  }
  return bad;
}

/* The meters read with a reading ("meters" member, only when there are some). */
static int set_meters(builder *b, json_t *o, int64_t device_id, int64_t t)
{
  json_t *arr = json_array();
  asr_result r;

  if (!arr)
    return 1;
  r = asr_meters_at(b->st, device_id, t, add_meter, arr);
  if (r || json_array_size(arr) == 0) {
    json_decref(arr);
    return r != ASR_OK;
  }
  return json_object_set_new(o, "meters", arr);
}

/* The walk's callback: one reading into the batch. */
static int add_reading(int64_t device_id, int64_t t, bool has_pc, int64_t pc,
                       const asr_store_level *lv, size_t n, void *ctx)
{
  builder *b = ctx;
  size_t slot = 0, idx;
  long found = find_dev(b, device_id, &slot);
  json_t *o;
  int bad;

  if (found >= 0) {
    idx = (size_t)found;
  } else {
    b->err = add_device(b, device_id, slot, &idx);
    if (b->err)
      return 1;
  }
  o = json_object();
  bad = !o;
  if (!bad) {
    bad |= json_object_set_new(o, "device", json_integer((json_int_t)idx));
    bad |= json_object_set_new(o, "t", json_integer(t));
    /* a counter: a negative value from a printer is no count (the central would refuse it) */
    bad |= json_object_set_new(o, "page_count", has_pc && pc >= 0 ? json_integer(pc) : json_null());
    bad |= json_object_set_new(o, "levels", levels_json(b, &b->devs[idx], lv, n));
    bad |= set_meters(b, o, device_id, t);
    bad |= json_array_append_new(b->readings, o);
  }
  if (bad)
    b->err = ASR_ERR_NOMEM;
  return bad;
}

/* The events walk's callback: one event into the batch (its device added if new). */
static int add_event(const asr_event *ev, void *ctx)
{
  builder *b = ctx;
  size_t slot = 0, idx;
  long found = find_dev(b, ev->device_id, &slot);
  json_t *o;
  int bad;

  if (found >= 0) {
    idx = (size_t)found;
  } else {
    b->err = add_device(b, ev->device_id, slot, &idx);
    if (b->err)
      return 1;
  }
  o = json_object();
  bad = !o;
  if (!bad) {
    bad |= json_object_set_new(o, "device", json_integer((json_int_t)idx));
    bad |= json_object_set_new(o, "t", json_integer(ev->t));
    bad |= json_object_set_new(o, "kind", jtext(ev->kind));
    bad |= json_object_set_new(o, "detail", jtext(ev->detail));
    bad |= json_array_append_new(b->events, o);
  }
  if (bad)
    b->err = ASR_ERR_NOMEM;
  return bad;
}

/* A reading's place: its device, then where the walk (time order) put it. */
typedef struct {
  json_int_t device;
  size_t pos;
} reading_place;

static int place_cmp(const void *pa, const void *pb)
{
  const reading_place *a = pa, *b = pb;

  if (a->device != b->device)
    return a->device < b->device ? -1 : 1;
  return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

/* The readings grouped by device, each device's in time order. Why: a device's levels
 * rarely change from one reading to the next, and gzip only finds repeats within 32 KB;
 * grouped, a day of 10,000 printers compresses about twice as well as in time order. */
static json_t *readings_by_device(json_t *readings)
{
  size_t n = json_array_size(readings);
  reading_place *p = malloc((n ? n : 1) * sizeof(*p));
  json_t *out = p ? json_array() : NULL;
  int bad = !out;

  for (size_t i = 0; !bad && i < n; i++) {
    p[i].device = json_integer_value(json_object_get(json_array_get(readings, i), "device"));
    p[i].pos = i;
  }
  if (!bad)
    qsort(p, n, sizeof(*p), place_cmp);
  for (size_t i = 0; !bad && i < n; i++)
    bad |= json_array_append(out, json_array_get(readings, p[i].pos));
  free(p);
  if (bad) {
    json_decref(out);
    return NULL;
  }
  return out;
}

/* The id of batch seq: the sequence, then 64 random bits. The sequence alone repeats
 * when the database goes back to a backup or is copied to another machine, and the
 * central would take the new batch for one it has (issue 10); the random part never does. */
static asr_result new_batch_id(const char *agent_id, int64_t seq, char *out, size_t n)
{
  char nonce[17];
  asr_result r = asr_sign_random_hex(nonce, 8);

  return r ? r : asr_batch_id(agent_id, seq, nonce, out, n);
}

/* The whole document of batch seq, serialized compactly and gzip'd into out. */
static asr_result finish_body(builder *b, int64_t seq, asr_outbox_batch *out, asr_batch_built *st)
{
  json_t *doc = json_object(), *grouped = readings_by_device(b->readings);
  char *text = NULL;
  asr_result r = new_batch_id(b->o->agent_id, seq, out->batch_id, sizeof(out->batch_id));
  int bad = !doc || !grouped || r;

  if (!bad) {
    bad |= json_object_set_new(doc, "protocol", json_integer(ASR_PROTOCOL_VERSION));
    bad |= json_object_set_new(doc, "batch_id", json_string(out->batch_id));
    bad |= json_object_set_new(doc, "agent_id", json_string(b->o->agent_id));
    bad |= json_object_set_new(doc, "agent_version", json_string(b->o->agent_version));
    bad |= json_object_set_new(doc, "created_at", json_integer(b->o->now));
    bad |= json_object_set(doc, "devices", b->devices);
    bad |= json_object_set(doc, "readings", grouped);
    bad |= json_object_set(doc, "events", b->events);
  }
  if (!bad)
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
  r = r ? r : (text ? ASR_OK : ASR_ERR_NOMEM);
  if (!r) {
    st->json_len = strlen(text);
    r = asr_gz_compress(text, st->json_len, &out->body, &out->body_len);
    st->body_len = out->body_len;
  }
  free(text);
  json_decref(grouped);
  json_decref(doc);
  return r;
}

/* Walks (from_seq, limit), builds and stores one batch at position; in the caller's
 * transaction. */
static asr_result build_one(asr_store *st, const asr_batch_opts *o, int64_t from_seq, size_t limit,
                            int64_t position, asr_batch_built *out)
{
  builder b;
  asr_outbox_batch ob;
  asr_outbox_cut cut;
  int64_t ev_last = 0;
  size_t ev_count = 0;
  asr_result r;

  memset(&ob, 0, sizeof(ob));
  r = builder_init(&b, st, o);
  if (!r)
    r = asr_outbox_next_seq(st, &ob.seq);
  if (!r)
    r = asr_outbox_walk(st, from_seq, limit, add_reading, &b, &cut);
  if (!r) /* the events ride with the first batch built from these readings (a split's half) */
    r = asr_events_walk(st, from_seq, 0, add_event, &b, &ev_last, &ev_count);
  if (r == ASR_ERR_LIMIT)
    r = b.err ? b.err : ASR_ERR_NOMEM;
  if (!r) {
    ob.position = position;
    ob.n_readings = (int64_t)cut.count;
    r = finish_body(&b, ob.seq, &ob, out);
  }
  if (!r)
    r = asr_outbox_add(st, &ob, from_seq, &cut, o->now);
  if (!r)
    r = asr_events_mark(st, ob.seq, from_seq, ev_last, ev_count);
  if (!r) {
    out->n_events = ev_count;
    out->seq = ob.seq;
    out->n_readings = cut.count;
    out->n_devices = b.n_devs;
  }
  free(ob.body);
  builder_free(&b);
  return r;
}

asr_result asr_batch_build(asr_store *st, const asr_batch_opts *o, bool heartbeat,
                           asr_batch_built *out)
{
  bool has_new = false;
  asr_result r;

  memset(out, 0, sizeof(*out));
  if (!o->agent_id || !o->agent_id[0] || o->max_readings < 1)
    return ASR_ERR_INVALID;
  r = asr_outbox_begin(st);
  if (!r)
    r = asr_outbox_has_new(st, &has_new);
  if (!r && (has_new || heartbeat))
    r = build_one(st, o, 0, o->max_readings, 0, out);
  if (!r)
    r = asr_outbox_commit(st);
  if (r) {
    asr_outbox_rollback(st);
    memset(out, 0, sizeof(*out));
  }
  return r;
}

asr_result asr_batch_split(asr_store *st, const asr_batch_opts *o, const asr_outbox_batch *ob)
{
  asr_batch_built first, second;
  asr_result r;

  if (ob->n_readings < 2)
    return ASR_ERR_LIMIT;
  r = asr_outbox_begin(st);
  if (!r)
    r = build_one(st, o, ob->seq, (size_t)ob->n_readings / 2, ob->position, &first);
  if (!r)
    r = build_one(st, o, ob->seq, 0, ob->position, &second);
  if (!r && first.n_readings + second.n_readings != (size_t)ob->n_readings) {
    asr_log(ASR_LOG_WARN, "batch %s: carried %lld readings, split into %zu + %zu", ob->batch_id,
            (long long)ob->n_readings, first.n_readings, second.n_readings);
  }
  if (!r)
    r = asr_outbox_remove(st, ob->seq);
  if (!r)
    r = asr_outbox_commit(st);
  if (r) {
    asr_outbox_rollback(st);
    return r;
  }
  asr_log(ASR_LOG_INFO, "batch %s split into %lld (%zu readings) and %lld (%zu readings)",
          ob->batch_id, (long long)first.seq, first.n_readings, (long long)second.seq,
          second.n_readings);
  return ASR_OK;
}
