/* ingest.c: enrolment, the verification of signed requests and the strict decoding of
 * batches (jansson); pure of HTTP. See ingest.h for the order of the checks.
 *
 * Reading order: answers, the clock, enrolment, header checks, the schema check of a
 * batch (one small function per JSON object: batch, device, supply, reading, level,
 * event), and the batch request that chains them.
 *
 * The schema check converts the JSON document into the plain arrays of a cstore_batch
 * (strings point into the document or its pool) in one pass; the devices and readings
 * are decoded one element at a time (see "Decoding part by part"). A fault in the
 * batch's frame (protocol, ids, the arrays themselves) refuses the whole batch with the
 * path of the first bad field. A fault inside one device, reading or event refuses only
 * that part (a device with its readings and events): the rest is stored and the answer
 * lists what was refused and why (issue 10: one printer's data must not hold a site's
 * uploads). */
#include "central/ingest.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/clock.h"
#include "common/util.h"
#include "wire/gz.h"
#include "wire/sign.h"

#define ERR_MAX 300
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* ---------------------------------------------------------------------------------------
 * Answers. */

void ingest_answer_free(ingest_answer *a)
{
  free(a->body);
  a->body = NULL;
}

/* Sets the answer to status and the JSON text of obj (stolen). */
static int answer_json(ingest_answer *a, int status, json_t *obj)
{
  free(a->body);
  a->body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  a->status = a->body ? status : 500;
  if (!a->body)
    a->body = strdup("{\"error\":\"out of memory\"}");
  return a->status;
}

static int answer_error(ingest_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets an error answer {"error": message}. */
static int answer_error(ingest_answer *a, int status, const char *fmt, ...)
{
  char msg[ERR_MAX];
  va_list ap;

  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    asr_strlcpy_cut(msg, "error", sizeof(msg));
  va_end(ap);
  return answer_json(a, status, json_pack("{s:s}", "error", msg));
}

static void set_alloc_funcs(void)
{
  json_set_alloc_funcs(budget_malloc, budget_free_block);
}

void ingest_init(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;

  pthread_once(&once, set_alloc_funcs);
}

int64_t ingest_now(void)
{
  const char *env = getenv("ASR_CENTRAL_NOW");
  int64_t t;

  if (env && *env && asr_parse_i64(env, 0, TIME_MAX, &t) == ASR_OK)
    return t;
  return asr_now();
}

/* ---------------------------------------------------------------------------------------
 * Small checks. */

static bool is_lower_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  }
  return s[n] == '\0';
}

/* "pfx" + n lowercase hex characters. */
static bool is_hex_id(const char *s, const char *pfx, size_t n)
{
  size_t p = strlen(pfx);

  return s && strncmp(s, pfx, p) == 0 && strnlen(s, p + n + 1) == p + n && is_lower_hex(s + p, n);
}

/* A JSON string of at most max bytes without NUL (jansson checked the UTF-8). */
static bool str_ok(const json_t *v, size_t max)
{
  size_t n = json_string_length(v);

  return json_is_string(v) && n <= max && strlen(json_string_value(v)) == n;
}

/* ---------------------------------------------------------------------------------------
 * Enrolment. */

static const char *enroll_field(json_t *root, const char *name, bool required, int *bad)
{
  json_t *v = json_object_get(root, name);

  if (!v || json_is_null(v)) {
    *bad |= required;
    return NULL;
  }
  if (!str_ok(v, INGEST_STR_MAX)) {
    *bad = 1;
    return NULL;
  }
  return json_string_value(v);
}

int ingest_enroll(cstore *st, const void *body, size_t len, int64_t now, ingest_answer *ans)
{
  char site[CSTORE_NAME_MAX];
  cstore_agent ag;
  const char *token, *host, *version;
  int bad = 0, status;
  json_t *root = json_loadb(body, len, 0, NULL);
  asr_result r;

  if (!json_is_object(root)) {
    json_decref(root);
    return answer_error(ans, 400, "body: not a JSON object");
  }
  token = enroll_field(root, "site_token", true, &bad);
  host = enroll_field(root, "hostname", false, &bad);
  version = enroll_field(root, "agent_version", false, &bad);
  if (bad) {
    status = answer_error(
        ans, 400,
        "site_token, hostname, agent_version: strings of at most 255 bytes, site_token required");
    goto out;
  }
  r = cstore_enroll(st, token, host, version, now, &ag, site, sizeof(site));
  if (r == ASR_ERR_NOT_FOUND)
    status = answer_error(ans, 401, "site_token: unknown site token");
  else if (r == ASR_ERR_AUTH)
    status = answer_error(
        ans, 401, "site_token: this site token was revoked: ask the provider for a new one");
  else if (r == ASR_ERR_DB_LOCKED) { /* busy, or a database connection made again */
    ans->retry_after = 5;
    status = answer_error(ans, 503, "busy: the agent was not enrolled, retry later");
  } else if (r)
    status = answer_error(ans, 500, "internal error: the agent was not enrolled");
  else {
    asr_strlcpy_cut(ans->agent_id, ag.id, sizeof(ans->agent_id));
    status = answer_json(
        ans, 201, json_pack("{s:s,s:s,s:s}", "agent_id", ag.id, "secret", ag.secret, "site", site));
    asr_log(ASR_LOG_INFO, "enrolled agent %s for site %s", ag.id, site);
  }
  memset(&ag, 0, sizeof(ag));
out:
  json_decref(root);
  return status;
}

/* ---------------------------------------------------------------------------------------
 * Headers of a signed request. */

size_t ingest_body_limit(const ingest_request *req)
{
  return req->max_body && req->max_body < INGEST_MAX_COMPRESSED ? req->max_body
                                                                : INGEST_MAX_COMPRESSED;
}

static int check_header_form(const ingest_request *req, int64_t *ts, ingest_answer *ans)
{
  if (!req->agent || !req->timestamp || !req->signature)
    return answer_error(
        ans, 401, "missing header: X-ASR-Agent, X-ASR-Timestamp and X-ASR-Signature are required");
  if (!is_hex_id(req->agent, "ag_", 32))
    return answer_error(ans, 401, "X-ASR-Agent: malformed agent id");
  if (asr_parse_i64(req->timestamp, 0, TIME_MAX, ts) != ASR_OK)
    return answer_error(ans, 401, "X-ASR-Timestamp: not Unix seconds");
  if (!is_hex_id(req->signature, "v1=", ASR_SIGN_HEX_LEN))
    return answer_error(ans, 401, "X-ASR-Signature: malformed (v1= and 64 lowercase hex)");
  return 0;
}

int ingest_check_headers(cstore *st, const ingest_request *req, int64_t content_length, int64_t now,
                         cstore_agent *agent, ingest_answer *ans)
{
  int64_t ts = 0;
  int status = check_header_form(req, &ts, ans);
  asr_result r;

  if (status)
    return status;
  asr_strlcpy_cut(ans->agent_id, req->agent, sizeof(ans->agent_id));
  r = cstore_agent_get(st, req->agent, agent);
  if (r == ASR_ERR_NOT_FOUND)
    return answer_error(ans, 401, "X-ASR-Agent: unknown agent");
  if (r)
    return answer_error(ans, 503, "internal error: the agent could not be checked");
  if (agent->revoked)
    return answer_error(ans, 403, "X-ASR-Agent: this agent was revoked");
  if (ts > now + ASR_SIGN_MAX_SKEW || ts < now - ASR_SIGN_MAX_SKEW)
    return answer_error(ans, 401,
                        "X-ASR-Timestamp: %lld seconds away from the central's clock (at most %d)",
                        (long long)(ts - now), ASR_SIGN_MAX_SKEW);
  if (content_length > (int64_t)ingest_body_limit(req))
    return answer_error(ans, 413, "body: more than %zu bytes compressed", ingest_body_limit(req));
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * The schema check. Each check_* takes a JSON value and the path of its owner, and on a
 * bad field writes "path.field: problem" into the context's message. */

typedef struct pool_chunk pool_chunk;

/* The turn of the documents decoded whole (decode_whole). */
static pthread_mutex_t whole_gate = PTHREAD_MUTEX_INITIALIZER;

struct ingest_doc {
  json_t *root;
  pool_chunk *pool; /* strings of the parts decoded one at a time */
  bool gated;       /* decoded whole: holds the turn (whole_gate) until freed */
  cstore_batch batch;
  cstore_supply_meta *supplies; /* all devices' supplies */
  cstore_level *levels;         /* all readings' levels */
  size_t *dev_refusal;          /* per device: its entry in batch.refused + 1, 0 = none */
  char digest[ASR_SIGN_HEX_LEN + 1];
  cstore_meter *meters; /* all readings' meters (protocol 2) */
  int protocol;
};

typedef struct text_scan text_scan;

typedef struct {
  char *err;
  size_t errn;
  ingest_doc *doc;
  size_t n_supplies, n_levels; /* used of doc->supplies and doc->levels */
  size_t n_meters;             /* used of doc->meters */
  /* decoding part by part (NULL scan: the whole document at once) */
  const text_scan *scan;
  size_t cap_supplies, cap_levels, cap_meters; /* allocated of the three arrays */
  size_t all_supplies, all_levels, all_meters; /* in the batch, refused parts included */
  bool redo; /* the text is not as that path expects: decode it whole */
} vctx;

/* Where a top-level array member lies in a batch's text (central/ingest.c's scan). */
typedef struct {
  size_t open, close;     /* offsets of its [ and its ] (close 0: not closed) */
  size_t elements;        /* its elements */
  size_t arrays, objects; /* containers inside it */
  int seen;               /* times the member was found */
} member_span;

struct text_scan {
  size_t arrays, objects; /* of the whole text */
  member_span devs, reads;
  bool root_object; /* the text starts with { */
};

/* The elements of a top-level array: counted in the text when its elements are decoded
 * one at a time (the document holds [] in its place). */
static size_t elements_of(const vctx *v, const char *name, json_t *arr)
{
  if (v->scan && strcmp(name, "devices") == 0)
    return v->scan->devs.elements;
  if (v->scan && strcmp(name, "readings") == 0)
    return v->scan->reads.elements;
  return json_array_size(arr);
}

static asr_result bad(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static asr_result bad(vctx *v, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  if (vsnprintf(v->err, v->errn, fmt, ap) < 0)
    asr_strlcpy_cut(v->err, "invalid batch", v->errn);
  va_end(ap);
  return ASR_ERR_INVALID;
}

static asr_result too_large(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A batch past one of the bounds the agent meets by splitting it (413). */
static asr_result too_large(vctx *v, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  if (vsnprintf(v->err, v->errn, fmt, ap) < 0)
    asr_strlcpy_cut(v->err, "batch too large", v->errn);
  va_end(ap);
  return ASR_ERR_TOO_LARGE;
}

/* An optional string member (absent or null: *out NULL). */
static asr_result opt_str(vctx *v, json_t *obj, const char *path, const char *name, size_t max,
                          const char **out)
{
  json_t *m = json_object_get(obj, name);

  *out = NULL;
  if (!m || json_is_null(m))
    return ASR_OK;
  if (!json_is_string(m))
    return bad(v, "%s.%s: not a string", path, name);
  if (!str_ok(m, max))
    return bad(v, "%s.%s: longer than %zu bytes or holds a NUL", path, name, max);
  *out = json_string_value(m);
  return ASR_OK;
}

/* A required string member of 1..max bytes. */
static asr_result req_str(vctx *v, json_t *obj, const char *path, const char *name, size_t max,
                          const char **out)
{
  asr_result r = opt_str(v, obj, path, name, max, out);

  if (!r && (!*out || !**out))
    return bad(v, "%s.%s: missing or empty", path, name);
  return r;
}

/* An optional integer member in [min, max] (absent or null: *out = dflt). */
static asr_result opt_int(vctx *v, json_t *obj, const char *path, const char *name, int64_t min,
                          int64_t max, int64_t dflt, int64_t *out)
{
  json_t *m = json_object_get(obj, name);

  *out = dflt;
  if (!m || json_is_null(m))
    return ASR_OK;
  if (!json_is_integer(m))
    return bad(v, "%s.%s: not an integer", path, name);
  if (json_integer_value(m) < min || json_integer_value(m) > max)
    return bad(v, "%s.%s: out of range (%lld to %lld)", path, name, (long long)min, (long long)max);
  *out = json_integer_value(m);
  return ASR_OK;
}

/* A required integer member in [min, max]. */
static asr_result req_int(vctx *v, json_t *obj, const char *path, const char *name, int64_t min,
                          int64_t max, int64_t *out)
{
  json_t *m = json_object_get(obj, name);

  if (!m || json_is_null(m))
    return bad(v, "%s.%s: missing", path, name);
  return opt_int(v, obj, path, name, min, max, 0, out);
}

/* An array member of at most max elements; absent (optional) gives NULL. */
static asr_result get_array(vctx *v, json_t *obj, const char *path, const char *name, size_t max,
                            bool required, json_t **out)
{
  json_t *m = json_object_get(obj, name);

  *out = NULL;
  if (!m && !required)
    return ASR_OK;
  if (!json_is_array(m))
    return bad(v, "%s%s%s: %s", path, *path ? "." : "", name, m ? "not an array" : "missing");
  if (json_array_size(m) > max)
    return bad(v, "%s%s%s: more than %zu elements", path, *path ? "." : "", name, max);
  *out = m;
  return ASR_OK;
}

static asr_result check_supply(vctx *v, json_t *o, const char *path, cstore_supply_meta *s)
{
  const char *colorant_std = NULL;
  int64_t index = 0;
  asr_result r;

  if (!json_is_object(o))
    return bad(v, "%s: not an object", path);
  r = req_int(v, o, path, "index", INT32_MIN, INT32_MAX, &index);
  s->index = (int32_t)index;
  if (!r)
    r = opt_str(v, o, path, "description", INGEST_STR_MAX, &s->description);
  if (!r)
    r = opt_str(v, o, path, "part_number", INGEST_STR_MAX, &s->part_number);
  if (!r)
    r = opt_str(v, o, path, "type", INGEST_STR_MAX, &s->type);
  if (!r)
    r = opt_str(v, o, path, "class", INGEST_STR_MAX, &s->klass);
  if (!r)
    r = opt_str(v, o, path, "colorant", INGEST_STR_MAX, &s->colorant);
  if (!r) /* optional (older agents do not send it): checked here, not kept yet */
    r = opt_str(v, o, path, "colorant_std", INGEST_STR_MAX, &colorant_std);
  if (!r)
    r = opt_str(v, o, path, "unit", INGEST_STR_MAX, &s->unit);
  if (!r) /* the agent's RFC 3805 standard colorant name (issue 11), optional */
    r = opt_str(v, o, path, "colorant_std", INGEST_STR_MAX, &s->colorant_std);
  return r;
}

static asr_result check_supplies(vctx *v, json_t *dev, const char *path, cstore_dev *d)
{
  char sp[96];
  json_t *arr = NULL;
  asr_result r = get_array(v, dev, path, "supplies", INGEST_MAX_SUPPLIES, false, &arr);
  size_t n = arr ? json_array_size(arr) : 0;

  if (r || !n)
    return r;
  d->supplies = v->doc->supplies + v->n_supplies;
  v->n_supplies += n;
  d->n_supplies = n;
  for (size_t i = 0; !r && i < n; i++) {
    asr_fmt_cut(sp, sizeof(sp), "%s.supplies[%zu]", path, i);
    r = check_supply(v, json_array_get(arr, i), sp, &d->supplies[i]);
    for (size_t j = 0; !r && j < i; j++) {
      if (d->supplies[j].index == d->supplies[i].index)
        r = bad(v, "%s.index: %d described twice", sp, (int)d->supplies[i].index);
    }
  }
  return r;
}

static asr_result check_status(vctx *v, json_t *dev, const char *path, cstore_dev *d)
{
  char sp[96];
  json_t *st = json_object_get(dev, "status"), *errors = NULL;
  asr_result r;

  if (!st || json_is_null(st))
    return ASR_OK;
  asr_fmt_cut(sp, sizeof(sp), "%s.status", path);
  if (!json_is_object(st))
    return bad(v, "%s: not an object", sp);
  r = opt_str(v, st, sp, "printer", INGEST_STR_MAX, &d->printer_status);
  if (!r)
    r = get_array(v, st, sp, "errors", INGEST_MAX_ERRORS, false, &errors);
  for (size_t i = 0; !r && errors && i < json_array_size(errors); i++) {
    if (!str_ok(json_array_get(errors, i), INGEST_STR_MAX))
      r = bad(v, "%s.errors[%zu]: not a string of at most %d bytes", sp, i, INGEST_STR_MAX);
  }
  if (!r && errors && !(d->errors_json = json_dumps(errors, JSON_COMPACT)))
    r = ASR_ERR_NOMEM;
  return r;
}

static asr_result check_state(vctx *v, json_t *dev, const char *path, cstore_dev *d)
{
  asr_result r = opt_str(v, dev, path, "state", INGEST_STR_MAX, &d->state);

  if (!r && d->state && strcmp(d->state, "active") && strcmp(d->state, "silent") &&
      strcmp(d->state, "disconnected"))
    r = bad(v, "%s.state: not active, silent or disconnected", path);
  return r;
}

static asr_result check_device(vctx *v, json_t *o, const char *path, cstore_dev *d)
{
  static const struct {
    const char *name;
    size_t off, max;
  } strs[] = {
      {"serial", offsetof(cstore_dev, serial), INGEST_STR_MAX},
      {"mac", offsetof(cstore_dev, mac), INGEST_STR_MAX},
      {"ip", offsetof(cstore_dev, ip), INGEST_STR_MAX},
      {"vendor", offsetof(cstore_dev, vendor), INGEST_STR_MAX},
      {"model", offsetof(cstore_dev, model), INGEST_STR_MAX},
      {"sys_object_id", offsetof(cstore_dev, sys_object_id), INGEST_STR_MAX},
      {"sys_descr", offsetof(cstore_dev, sys_descr), 512},
      {"sys_name", offsetof(cstore_dev, sys_name), INGEST_STR_MAX},
  };
  asr_result r;

  if (!json_is_object(o))
    return bad(v, "%s: not an object", path);
  r = req_str(v, o, path, "key", INGEST_STR_MAX, &d->key);
  for (size_t i = 0; !r && i < sizeof(strs) / sizeof(strs[0]); i++)
    r = opt_str(v, o, path, strs[i].name, strs[i].max,
                (const char **)(void *)((char *)d + strs[i].off));
  if (!r)
    r = opt_int(v, o, path, "state_since", 0, TIME_MAX, -1, &d->state_since);
  if (!r)
    r = opt_int(v, o, path, "last_good_poll", 0, TIME_MAX, -1, &d->last_good_poll);
  if (!r)
    r = opt_int(v, o, path, "failed_polls", 0, INT64_MAX, -1, &d->failed_polls);
  if (!r)
    r = check_state(v, o, path, d);
  if (!r)
    r = check_status(v, o, path, d);
  if (!r)
    r = check_supplies(v, o, path, d);
  return r;
}

/* One [index, level, max, percent]. */
static asr_result check_level(vctx *v, json_t *a, const char *path, cstore_level *lv)
{
  json_t *m[4];

  if (!json_is_array(a) || json_array_size(a) != 4)
    return bad(v, "%s: not an array [index, level, max, percent]", path);
  for (int i = 0; i < 4; i++) {
    static const char *const names[] = {"index", "level", "max", "percent"};
    m[i] = json_array_get(a, (size_t)i);
    if (!json_is_integer(m[i]) && (i == 0 || !json_is_null(m[i])))
      return bad(v, "%s: %s is not an integer", path, names[i]);
  }
  if (json_integer_value(m[0]) < INT32_MIN || json_integer_value(m[0]) > INT32_MAX)
    return bad(v, "%s: index is out of range", path);
  lv->index = (int32_t)json_integer_value(m[0]);
  lv->has_level = json_is_integer(m[1]);
  lv->level = json_integer_value(m[1]);
  lv->has_max = json_is_integer(m[2]);
  lv->max = json_integer_value(m[2]);
  lv->has_percent = json_is_integer(m[3]);
  if (lv->has_percent && (json_integer_value(m[3]) < 0 || json_integer_value(m[3]) > 100))
    return bad(v, "%s: percent is out of range (0 to 100)", path);
  lv->percent = (int)json_integer_value(m[3]);
  return ASR_OK;
}

static asr_result check_levels(vctx *v, json_t *o, const char *path, cstore_reading *rd)
{
  char lp[96];
  json_t *arr = NULL;
  asr_result r = get_array(v, o, path, "levels", INGEST_MAX_SUPPLIES, false, &arr);
  size_t n = arr ? json_array_size(arr) : 0;

  if (r || !n)
    return r;
  rd->levels = v->doc->levels + v->n_levels;
  v->n_levels += n;
  rd->n_levels = n;
  for (size_t i = 0; !r && i < n; i++) {
    asr_fmt_cut(lp, sizeof(lp), "%s.levels[%zu]", path, i);
    r = check_level(v, json_array_get(arr, i), lp, &rd->levels[i]);
    for (size_t j = 0; !r && j < i; j++) {
      if (rd->levels[j].index == rd->levels[i].index)
        r = bad(v, "%s: supply index %d repeated", lp, (int)rd->levels[i].index);
    }
  }
  return r;
}

/* One meter read (protocol 2): {name, unit, source, value, flag?, note?}. */
static asr_result check_meter(vctx *v, json_t *o, const char *path, cstore_meter *m)
{
  asr_result r;

  if (!json_is_object(o))
    return bad(v, "%s: not an object", path);
  r = req_str(v, o, path, "name", INGEST_METER_STR_MAX, &m->name);
  if (!r && strspn(m->name, "abcdefghijklmnopqrstuvwxyz0123456789._") != strlen(m->name))
    r = bad(v, "%s.name: not of [a-z0-9._]", path);
  if (!r)
    r = opt_str(v, o, path, "unit", INGEST_METER_STR_MAX, &m->unit);
  if (!r)
    r = opt_str(v, o, path, "source", INGEST_METER_STR_MAX, &m->source);
  if (!r)
    r = req_int(v, o, path, "value", 0, INT64_MAX, &m->value);
  if (!r)
    r = opt_str(v, o, path, "flag", INGEST_STR_MAX, &m->flag);
  if (!r && m->flag && strcmp(m->flag, "backwards") != 0 && strcmp(m->flag, "jump") != 0 &&
      strcmp(m->flag, "reset") != 0)
    r = bad(v, "%s.flag: not backwards, jump or reset", path);
  if (!r)
    r = opt_str(v, o, path, "note", INGEST_STR_MAX, &m->note);
  return r;
}

static asr_result check_meters(vctx *v, json_t *o, const char *path, cstore_reading *rd)
{
  char mp[96];
  json_t *arr = NULL;
  asr_result r = ASR_OK;
  size_t n;

  if (v->doc->protocol < 2) /* version 1: no meters, as it always was */
    return ASR_OK;
  r = get_array(v, o, path, "meters", INGEST_MAX_READING_METERS, false, &arr);
  n = arr ? json_array_size(arr) : 0;
  if (r || !n)
    return r;
  rd->meters = v->doc->meters + v->n_meters;
  v->n_meters += n;
  rd->n_meters = n;
  for (size_t i = 0; !r && i < n; i++) {
    asr_fmt_cut(mp, sizeof(mp), "%s.meters[%zu]", path, i);
    r = check_meter(v, json_array_get(arr, i), mp, &rd->meters[i]);
    for (size_t j = 0; !r && j < i; j++) {
      if (strcmp(rd->meters[j].name, rd->meters[i].name) == 0)
        r = bad(v, "%s: meter '%s' repeated", mp, rd->meters[i].name);
    }
  }
  return r;
}

static asr_result check_reading(vctx *v, json_t *o, const char *path, cstore_reading *rd)
{
  int64_t dev = 0, n_dev = (int64_t)v->doc->batch.n_devices;
  asr_result r;

  if (!json_is_object(o))
    return bad(v, "%s: not an object", path);
  r = req_int(v, o, path, "device", 0, n_dev - 1, &dev);
  rd->device = (size_t)dev;
  if (!r)
    r = req_int(v, o, path, "t", 0, TIME_MAX, &rd->t);
  if (!r)
    r = opt_int(v, o, path, "page_count", 0, INT64_MAX, -1, &rd->page_count);
  rd->has_page_count = rd->page_count >= 0;
  if (!r)
    r = check_levels(v, o, path, rd);
  if (!r)
    r = check_meters(v, o, path, rd);
  return r;
}

static asr_result check_event(vctx *v, json_t *o, const char *path, cstore_event *ev)
{
  int64_t dev = 0, n_dev = (int64_t)v->doc->batch.n_devices;
  asr_result r;

  if (!json_is_object(o))
    return bad(v, "%s: not an object", path);
  r = req_int(v, o, path, "device", 0, n_dev - 1, &dev);
  ev->device = (size_t)dev;
  if (!r)
    r = req_int(v, o, path, "t", 0, TIME_MAX, &ev->t);
  if (!r)
    r = req_str(v, o, path, "kind", INGEST_STR_MAX, &ev->kind);
  if (!r)
    r = opt_str(v, o, path, "detail", INGEST_STR_MAX, &ev->detail);
  return r;
}

/* calloc charged to the thread's memory meter (freed by budget_free_block). */
static void *metered_calloc(size_t n, size_t size)
{
  void *p = calloc(n, size);

  if (p && !budget_charge(budget_block_size(p, n * size))) {
    free(p);
    return NULL;
  }
  return p;
}

/* Allocates the arrays of the batch; levels and supplies sized by counting first, and
 * bounded (413) before anything is allocated for them. */
static asr_result alloc_arrays(vctx *v, json_t *devs, json_t *reads, json_t *evs)
{
  ingest_doc *doc = v->doc;
  cstore_batch *b = &doc->batch;
  size_t n_sup = 0, n_lev = 0, n_met = 0;

  b->n_devices = json_array_size(devs);
  b->n_readings = json_array_size(reads);
  b->n_events = evs ? json_array_size(evs) : 0;
  b->n_readings_sent = b->n_readings;
  for (size_t i = 0; i < b->n_devices; i++)
    n_sup += json_array_size(json_object_get(json_array_get(devs, i), "supplies"));
  for (size_t i = 0; i < b->n_readings; i++) {
    n_lev += json_array_size(json_object_get(json_array_get(reads, i), "levels"));
    n_met += json_array_size(json_object_get(json_array_get(reads, i), "meters"));
  }
  if (n_met > INGEST_MAX_METERS)
    return too_large(
        v, "readings: %zu meter reads in all, more than the %d a batch may hold: split it", n_met,
        INGEST_MAX_METERS);
  if (n_lev > INGEST_MAX_LEVELS)
    return too_large(v, "readings: %zu levels in all, more than the %d a batch may hold: split it",
                     n_lev, INGEST_MAX_LEVELS);
  if (n_sup > INGEST_MAX_SUPPLIES_ALL)
    return too_large(v, "devices: %zu supplies in all, more than the %d a batch may hold: split it",
                     n_sup, INGEST_MAX_SUPPLIES_ALL);
  b->devices = metered_calloc(b->n_devices + 1, sizeof(*b->devices));
  b->readings = metered_calloc(b->n_readings + 1, sizeof(*b->readings));
  b->events = metered_calloc(b->n_events + 1, sizeof(*b->events));
  doc->supplies = metered_calloc(n_sup + 1, sizeof(*doc->supplies));
  doc->levels = metered_calloc(n_lev + 1, sizeof(*doc->levels));
  doc->dev_refusal = metered_calloc(b->n_devices + 1, sizeof(*doc->dev_refusal));
  doc->meters = metered_calloc(n_met + 1, sizeof(*doc->meters));
  if (!b->devices || !b->readings || !b->events || !doc->supplies || !doc->levels ||
      !doc->dev_refusal || !doc->meters)
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

/* ---------------------------------------------------------------------------------------
 * Refusals: a part of the batch that failed its check, with the message in v->err. */

/* A new entry of the answer's list, or NULL when the list is full (then only counted). */
static cstore_refusal *refusal_new(vctx *v, const char *what, size_t index, const char *device,
                                   int64_t t)
{
  cstore_batch *b = &v->doc->batch;
  cstore_refusal *p;

  if (b->n_refused >= INGEST_MAX_REFUSALS_LISTED) {
    b->refused_more++;
    return NULL;
  }
  if (!b->refused &&
      !(b->refused = metered_calloc(INGEST_MAX_REFUSALS_LISTED, sizeof(*b->refused))))
    return NULL;
  p = &b->refused[b->n_refused++];
  p->what = what;
  p->index = (int64_t)index;
  p->device = device;
  p->t = t;
  asr_strlcpy_cut(p->error, v->err, sizeof(p->error));
  return p;
}

/* The key of device i when it is a valid one, else NULL (devs NULL: the devices were
 * decoded one at a time, their checked keys kept). */
static const char *key_of(const vctx *v, json_t *devs, size_t i)
{
  json_t *k;
  const char *kept;

  if (!devs) {
    kept = v->doc->batch.devices[i].key;
    return kept && *kept ? kept : NULL;
  }
  k = json_object_get(json_array_get(devs, i), "key");
  return str_ok(k, INGEST_STR_MAX) && json_string_length(k) > 0 ? json_string_value(k) : NULL;
}

/* The device index of a reading or event when it is one, else -1. */
static int64_t device_of(const vctx *v, json_t *o)
{
  json_t *d = json_object_get(o, "device");

  if (!json_is_integer(d) || json_integer_value(d) < 0 ||
      json_integer_value(d) >= (json_int_t)v->doc->batch.n_devices)
    return -1;
  return json_integer_value(d);
}

/* The time of a reading or event when it is one, else -1. */
static int64_t time_of(json_t *o)
{
  json_t *t = json_object_get(o, "t");

  if (!json_is_integer(t) || json_integer_value(t) < 0 || json_integer_value(t) > TIME_MAX)
    return -1;
  return json_integer_value(t);
}

static void refuse_device(vctx *v, json_t *devs, size_t i)
{
  cstore_refusal *p = refusal_new(v, "device", i, key_of(v, devs, i), -1);

  v->doc->batch.devices[i].refused = true;
  v->doc->batch.devices_refused++;
  v->doc->dev_refusal[i] = p ? (size_t)(p - v->doc->batch.refused) + 1 : 0;
}

/* A valid reading or event of a refused device: counted with the device. */
static void refuse_with_device(vctx *v, size_t dev, bool reading)
{
  size_t k = v->doc->dev_refusal[dev];
  cstore_batch *b = &v->doc->batch;

  if (reading)
    b->readings_refused++;
  else
    b->events_refused++;
  if (k > 0 && reading)
    b->refused[k - 1].readings++;
  else if (k > 0)
    b->refused[k - 1].events++;
}

/* A reading or an event that failed its own check. */
static void refuse_part(vctx *v, const char *what, json_t *devs, json_t *o, size_t i)
{
  int64_t dev = device_of(v, o);
  cstore_batch *b = &v->doc->batch;

  if (strcmp(what, "reading") == 0)
    b->readings_refused++;
  else
    b->events_refused++;
  refusal_new(v, what, i, dev >= 0 ? key_of(v, devs, (size_t)dev) : NULL, time_of(o));
}

/* batch_id: the agent id, a dash, then 1 to 64 of [A-Za-z0-9._-] (docs/protocol.md). */
static asr_result check_ids(vctx *v, json_t *root, const char *agent_id, cstore_batch *b)
{
  size_t n = strlen(agent_id);
  asr_result r = req_str(v, root, "batch", "agent_id", INGEST_STR_MAX, &b->agent_id);

  if (!r && strcmp(b->agent_id, agent_id) != 0)
    return bad(v, "agent_id: not the agent that signed the request");
  if (!r)
    r = req_str(v, root, "batch", "batch_id", INGEST_STR_MAX, &b->batch_id);
  if (r)
    return r;
  if (strncmp(b->batch_id, agent_id, n) != 0 || b->batch_id[n] != '-' || !b->batch_id[n + 1] ||
      strlen(b->batch_id + n + 1) > 64 ||
      strspn(b->batch_id + n + 1, "0123456789abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-") != strlen(b->batch_id + n + 1))
    return bad(v, "batch_id: not the agent id, a dash and a sequence");
  return ASR_OK;
}

/* devices, readings or events: an array of at most max elements, else 413 (split it). */
static asr_result top_array(vctx *v, json_t *root, const char *name, size_t max, bool required,
                            json_t **out)
{
  asr_result r = get_array(v, root, "", name, SIZE_MAX, required, out);
  size_t n = r || !*out ? 0 : elements_of(v, name, *out);

  if (n > max)
    return too_large(v, "%s: %zu elements, more than the %zu a batch may hold: split it", name, n,
                     max);
  return r;
}

static asr_result check_top(vctx *v, json_t *root, const char *agent_id, json_t **devs,
                            json_t **reads, json_t **evs)
{
  cstore_batch *b = &v->doc->batch;
  int64_t proto = 0;
  json_t *p = json_object_get(root, "protocol");
  asr_result r;

  if (!json_is_integer(p))
    return bad(v, "protocol: missing or not an integer (this central speaks %d to %d)",
               INGEST_PROTOCOL_MIN, INGEST_PROTOCOL);
  proto = json_integer_value(p);
  if (proto < INGEST_PROTOCOL_MIN || proto > INGEST_PROTOCOL)
    return bad(v, "protocol: version %lld is not supported (this central speaks %d to %d)",
               (long long)proto, INGEST_PROTOCOL_MIN, INGEST_PROTOCOL);
  v->doc->protocol = (int)proto;
  r = check_ids(v, root, agent_id, b);
  if (!r)
    r = opt_str(v, root, "batch", "agent_version", INGEST_STR_MAX, &b->agent_version);
  if (!r)
    r = opt_int(v, root, "batch", "created_at", 0, TIME_MAX, 0, &b->created_at);
  if (!r)
    r = top_array(v, root, "devices", INGEST_MAX_DEVICES, true, devs);
  if (!r)
    r = top_array(v, root, "readings", INGEST_MAX_READINGS, true, reads);
  if (!r)
    r = top_array(v, root, "events", INGEST_MAX_EVENTS, false, evs);
  return r;
}

/* Reading i (o): kept when valid and of a valid device (into the next free slot of the
 * compacted array), else refused. */
static asr_result check_reading_at(vctx *v, json_t *devs, json_t *o, size_t i)
{
  char path[64];
  cstore_batch *b = &v->doc->batch;
  cstore_reading *rd = &b->readings[b->n_readings];
  asr_result r;

  memset(rd, 0, sizeof(*rd)); /* nothing of a refused reading that used the slot before */
  asr_fmt_cut(path, sizeof(path), "readings[%zu]", i);
  r = check_reading(v, o, path, rd);
  if (r == ASR_ERR_INVALID) {
    refuse_part(v, "reading", devs, o, i);
    r = ASR_OK;
  } else if (!r && b->devices[rd->device].refused) {
    refuse_with_device(v, rd->device, true);
  } else if (!r) {
    b->n_readings++;
  }
  return r;
}

/* The readings: the valid ones of valid devices kept (compacted), the others refused. */
static asr_result check_readings(vctx *v, json_t *devs, json_t *reads)
{
  size_t n = v->doc->batch.n_readings;
  asr_result r = ASR_OK;

  v->doc->batch.n_readings = 0;
  for (size_t i = 0; !r && i < n; i++)
    r = check_reading_at(v, devs, json_array_get(reads, i), i);
  return r;
}

/* The events, like the readings. */
static asr_result check_events(vctx *v, json_t *devs, json_t *evs)
{
  char path[64];
  cstore_batch *b = &v->doc->batch;
  size_t n = b->n_events;
  asr_result r = ASR_OK;

  b->n_events = 0;
  for (size_t i = 0; !r && i < n; i++) {
    cstore_event *ev = &b->events[b->n_events];

    asr_fmt_cut(path, sizeof(path), "events[%zu]", i);
    r = check_event(v, json_array_get(evs, i), path, ev);
    if (r == ASR_ERR_INVALID) {
      refuse_part(v, "event", devs, json_array_get(evs, i), i);
      r = ASR_OK;
    } else if (!r && b->devices[ev->device].refused) {
      refuse_with_device(v, ev->device, false);
    } else if (!r) {
      b->n_events++;
    }
  }
  return r;
}

static asr_result check_batch(vctx *v, json_t *root, const char *agent_id)
{
  char path[64];
  cstore_batch *b = &v->doc->batch;
  json_t *devs = NULL, *reads = NULL, *evs = NULL;
  asr_result r = check_top(v, root, agent_id, &devs, &reads, &evs);

  if (!r)
    r = alloc_arrays(v, devs, reads, evs);
  for (size_t i = 0; !r && i < b->n_devices; i++) {
    asr_fmt_cut(path, sizeof(path), "devices[%zu]", i);
    r = check_device(v, json_array_get(devs, i), path, &b->devices[i]);
    if (r == ASR_ERR_INVALID) {
      refuse_device(v, devs, i);
      r = ASR_OK;
    }
  }
  if (!r)
    r = check_readings(v, devs, reads);
  if (!r)
    r = check_events(v, devs, evs);
  return r;
}

/* ---------------------------------------------------------------------------------------
 * Decoding part by part. jansson's tree of a whole batch costs about 15 times its text (a
 * design-day batch of 60,000 readings, 16 MB of JSON: 250 MB), and four such batches at
 * once would pass issue 15's 256 MB. Nearly all of it is the devices and readings arrays,
 * so those are decoded one element at a time: a scan of the text finds the two top-level
 * arrays, jansson parses the frame with [] in their place, then each element on its own
 * (JSON_DISABLE_EOF_CHECK stops at its end and says where), which is checked exactly as
 * in the whole document, its strings copied into a pool and its tree freed before the
 * next. A text this path does not expect (a member twice or missing, not an array, a
 * syntax error, an element that is not an object) is decoded whole as ever, so every
 * answer stays the same. */

#define POOL_CHUNK ((size_t)64 << 10)

struct pool_chunk {
  pool_chunk *next;
  size_t used, size;
  char data[];
};

static bool json_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The member span of a top-level key (the bytes between its quotes), or NULL. */
static member_span *span_named(text_scan *ts, const char *key, size_t len)
{
  if (len == 7 && memcmp(key, "devices", 7) == 0)
    return &ts->devs;
  if (len == 8 && memcmp(key, "readings", 8) == 0)
    return &ts->reads;
  return NULL;
}

/* Counts the arrays and objects of a JSON text (brackets outside strings) and finds its
 * top-level "devices" and "readings" arrays, without building anything: a document
 * holding more than a batch may is refused before jansson spends memory on it. Not a
 * parser: jansson checks the text afterwards. */
static void scan_text(const char *s, size_t n, text_scan *ts)
{
  size_t depth = 0, key_at = 0, key_len = 0;
  member_span *in = NULL, *next = NULL;
  bool in_string = false, element = false;

  memset(ts, 0, sizeof(*ts));
  for (size_t i = 0; i < n; i++) {
    char c = s[i];

    if (in_string) {
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        in_string = false;
        if (depth == 1)
          key_len = i - key_at;
      }
      continue;
    }
    if (json_space(c))
      continue;
    if (depth == 0 && !ts->arrays && !ts->objects)
      ts->root_object = c == '{';
    if (c == ':' && depth == 1) {
      next = span_named(ts, s + key_at, key_len);
      continue;
    }
    if (next && c == '[') {
      next->seen++;
      next->open = i;
      next->close = next->elements = next->arrays = next->objects = 0;
      in = next;
      element = false;
    }
    next = NULL;
    if (in && depth == 2 && c != ',' && c != ']')
      element = true;
    if (c == '"') {
      in_string = true;
      key_at = i + 1;
    } else if (c == '[' || c == '{') {
      *(c == '[' ? &ts->arrays : &ts->objects) += 1;
      if (in && depth >= 2)
        *(c == '[' ? &in->arrays : &in->objects) += 1;
      depth++;
    } else if (c == ']' || c == '}') {
      depth -= depth > 0;
      if (in && depth == 1) {
        in->close = i;
        in->elements += element;
        in = NULL;
      }
    } else if (c == ',' && in && depth == 2) {
      in->elements++;
    }
  }
}

static asr_result check_size(vctx *v, const text_scan *ts)
{
  if (ts->arrays > INGEST_MAX_ARRAYS)
    return too_large(v,
                     "body: %zu JSON arrays, more than a batch may hold (at most %d readings"
                     " and %d levels): split it",
                     ts->arrays, INGEST_MAX_READINGS, INGEST_MAX_LEVELS);
  if (ts->objects > INGEST_MAX_OBJECTS)
    return too_large(v,
                     "body: %zu JSON objects, more than a batch may hold (at most %d readings,"
                     " %d devices, %d supplies): split it",
                     ts->objects, INGEST_MAX_READINGS, INGEST_MAX_DEVICES, INGEST_MAX_SUPPLIES_ALL);
  return ASR_OK;
}

/* Whether the scan found what decoding part by part needs. */
static bool by_parts(const text_scan *ts)
{
  return ts->root_object && ts->devs.seen == 1 && ts->reads.seen == 1 &&
         ts->devs.close > ts->devs.open && ts->reads.close > ts->reads.open;
}

/* Copies *s (a checked string, or NULL) into the document's pool and points *s there. */
static asr_result keep_str(ingest_doc *doc, const char **s)
{
  size_t n;
  pool_chunk *c = doc->pool;

  if (!*s)
    return ASR_OK;
  n = strlen(*s) + 1;
  if (!c || c->size - c->used < n) {
    size_t size = n > POOL_CHUNK ? n : POOL_CHUNK;

    if (!(c = budget_malloc(sizeof(*c) + size)))
      return ASR_ERR_NOMEM;
    c->next = doc->pool;
    c->used = 0;
    c->size = size;
    doc->pool = c;
  }
  memcpy(c->data + c->used, *s, n);
  *s = c->data + c->used;
  c->used += n;
  return ASR_OK;
}

/* Copies a list of string fields into the pool. */
static asr_result keep_strs(ingest_doc *doc, const char **const *fields, size_t n)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < n; i++)
    r = keep_str(doc, fields[i]);
  return r;
}

/* A device's strings into the pool (its tree is freed next). */
static asr_result keep_device(ingest_doc *doc, cstore_dev *d)
{
  const char **const f[] = {&d->key,      &d->serial, &d->mac,           &d->ip,
                            &d->vendor,   &d->model,  &d->sys_object_id, &d->sys_descr,
                            &d->sys_name, &d->state,  &d->printer_status};
  asr_result r = keep_strs(doc, f, sizeof(f) / sizeof(f[0]));

  for (size_t i = 0; !r && i < d->n_supplies; i++) {
    cstore_supply_meta *m = &d->supplies[i];
    const char **const g[] = {&m->description, &m->part_number, &m->type,        &m->klass,
                              &m->colorant,    &m->unit,        &m->colorant_std};

    r = keep_strs(doc, g, sizeof(g) / sizeof(g[0]));
  }
  return r;
}

/* A reading's meter strings into the pool. */
static asr_result keep_meters(ingest_doc *doc, cstore_reading *rd)
{
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && i < rd->n_meters; i++) {
    cstore_meter *m = &rd->meters[i];
    const char **const f[] = {&m->name, &m->unit, &m->source, &m->flag, &m->note};

    r = keep_strs(doc, f, sizeof(f) / sizeof(f[0]));
  }
  return r;
}

/* Room for more elements (of size bytes) past used in *arr of *cap: a bigger block when
 * needed, *old then the block it replaces (the caller moves its pointers and frees it). */
static asr_result grow(void **arr, size_t *cap, size_t used, size_t more, size_t size, void **old)
{
  size_t n = *cap ? *cap : used + more; /* the first: as asked (the scan's count) */
  void *p;

  *old = NULL;
  if (used + more <= *cap)
    return ASR_OK;
  while (n < used + more)
    n *= 2;
  if (!(p = metered_calloc(n + 1, size)))
    return ASR_ERR_NOMEM;
  if (*arr)
    memcpy(p, *arr, used * size);
  *old = *arr;
  *arr = p;
  *cap = n;
  return ASR_OK;
}

/* Room for one more device's supplies (the devices before it follow a moved array). */
static asr_result room_supplies(vctx *v, size_t dev)
{
  ingest_doc *doc = v->doc;
  cstore_supply_meta *old;
  asr_result r = grow((void **)&doc->supplies, &v->cap_supplies, v->n_supplies, INGEST_MAX_SUPPLIES,
                      sizeof(*doc->supplies), (void **)&old);

  for (size_t i = 0; old && i < dev; i++) {
    if (doc->batch.devices[i].supplies)
      doc->batch.devices[i].supplies = doc->supplies + (doc->batch.devices[i].supplies - old);
  }
  budget_free_block(old);
  return r;
}

/* Room for one more reading's levels and meters (the kept readings follow). */
static asr_result room_levels(vctx *v)
{
  ingest_doc *doc = v->doc;
  cstore_batch *b = &doc->batch;
  cstore_level *old_lv;
  cstore_meter *old_m = NULL;
  asr_result r = grow((void **)&doc->levels, &v->cap_levels, v->n_levels, INGEST_MAX_SUPPLIES,
                      sizeof(*doc->levels), (void **)&old_lv);

  if (!r)
    r = grow((void **)&doc->meters, &v->cap_meters, v->n_meters, INGEST_MAX_READING_METERS,
             sizeof(*doc->meters), (void **)&old_m);
  for (size_t i = 0; (old_lv || old_m) && i < b->n_readings; i++) {
    if (old_lv && b->readings[i].levels)
      b->readings[i].levels = doc->levels + (b->readings[i].levels - old_lv);
    if (old_m && b->readings[i].meters)
      b->readings[i].meters = doc->meters + (b->readings[i].meters - old_m);
  }
  budget_free_block(old_lv);
  budget_free_block(old_m);
  return r;
}

/* Whether a bound of the whole batch is passed: the rest is only counted (413). */
static bool over_bounds(const vctx *v)
{
  return v->all_meters > INGEST_MAX_METERS || v->all_levels > INGEST_MAX_LEVELS ||
         v->all_supplies > INGEST_MAX_SUPPLIES_ALL;
}

/* Device i, decoded on its own (e): checked, refused or kept, its strings pooled. */
static asr_result part_device(vctx *v, json_t *e, size_t i)
{
  char path[64];
  cstore_dev *d = &v->doc->batch.devices[i];
  asr_result r;

  v->all_supplies += json_array_size(json_object_get(e, "supplies"));
  if (over_bounds(v))
    return ASR_OK;
  r = room_supplies(v, i);
  if (r)
    return r;
  asr_fmt_cut(path, sizeof(path), "devices[%zu]", i);
  r = check_device(v, e, path, d);
  if (r && r != ASR_ERR_INVALID)
    return r;
  if (keep_device(v->doc, d))
    return ASR_ERR_NOMEM;
  if (r == ASR_ERR_INVALID)
    refuse_device(v, NULL, i);
  return ASR_OK;
}

/* Reading i, decoded on its own (e). */
static asr_result part_reading(vctx *v, json_t *e, size_t i)
{
  cstore_batch *b = &v->doc->batch;
  size_t kept = b->n_readings;
  asr_result r;

  v->all_levels += json_array_size(json_object_get(e, "levels"));
  v->all_meters += json_array_size(json_object_get(e, "meters"));
  if (over_bounds(v))
    return ASR_OK;
  r = room_levels(v);
  if (!r)
    r = check_reading_at(v, NULL, e, i);
  if (!r && b->n_readings > kept)
    r = keep_meters(v->doc, &b->readings[kept]);
  return r;
}

typedef asr_result (*part_fn)(vctx *v, json_t *e, size_t i);

static size_t skip_space(const char *s, size_t p, size_t end)
{
  while (p < end && json_space(s[p]))
    p++;
  return p;
}

/* Decodes the elements of the array at sp one at a time, each handed to fn and freed.
 * v->redo when the text is not as expected (then ASR_ERR_PARSE). */
static asr_result each_part(vctx *v, const char *s, const member_span *sp, part_fn fn)
{
  const size_t flags = JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY;
  size_t p = skip_space(s, sp->open + 1, sp->close);
  json_error_t jerr;
  asr_result r = ASR_OK;

  for (size_t i = 0; !r && p < sp->close; i++) {
    json_t *e = i < sp->elements ? json_loadb(s + p, sp->close - p, flags, &jerr) : NULL;

    if (!e && i < sp->elements && json_error_code(&jerr) == json_error_out_of_memory)
      return ASR_ERR_NOMEM;
    if (!json_is_object(e) || jerr.position <= 0) {
      json_decref(e);
      v->redo = true;
      return ASR_ERR_PARSE;
    }
    p = skip_space(s, p + (size_t)jerr.position, sp->close);
    r = fn(v, e, i);
    json_decref(e);
    if (p < sp->close && s[p] == ',')
      p = skip_space(s, p + 1, sp->close);
    else if (p < sp->close || i + 1 != sp->elements)
      v->redo = true;
  }
  return v->redo ? ASR_ERR_PARSE : r;
}

/* The frame of the batch: the text with [] for its devices and readings arrays. */
static char *frame_text(const char *s, size_t n, const text_scan *ts, size_t *len)
{
  const member_span *a = ts->devs.open < ts->reads.open ? &ts->devs : &ts->reads;
  const member_span *b = a == &ts->devs ? &ts->reads : &ts->devs;
  const size_t cut[][2] = {{0, a->open}, {a->close + 1, b->open}, {b->close + 1, n}};
  char *out = budget_malloc(n - (a->close - a->open) - (b->close - b->open) + 2);
  size_t k = 0;

  if (!out)
    return NULL;
  for (int i = 0; i < 3; i++) {
    memcpy(out + k, s + cut[i][0], cut[i][1] - cut[i][0]);
    k += cut[i][1] - cut[i][0];
    if (i < 2) {
      memcpy(out + k, "[]", 2);
      k += 2;
    }
  }
  *len = k;
  return out;
}

/* A count from the scan, at most bound, plus the room one part asks for. */
static size_t bounded(size_t n, size_t bound, size_t part)
{
  return (n < bound ? n : bound) + part;
}

/* The arrays of a batch decoded part by part: the supplies, levels and meters sized by
 * the containers the scan counted (grown when that was too few). */
static asr_result alloc_parts(vctx *v, json_t *evs)
{
  ingest_doc *doc = v->doc;
  cstore_batch *b = &doc->batch;
  const text_scan *ts = v->scan;
  size_t lv = ts->reads.arrays > ts->reads.elements ? ts->reads.arrays - ts->reads.elements : 0;
  size_t me = ts->reads.objects > ts->reads.elements ? ts->reads.objects - ts->reads.elements : 0;
  size_t sup = ts->devs.objects;
  void *none;

  b->n_devices = ts->devs.elements;
  b->n_readings = b->n_readings_sent = ts->reads.elements;
  b->n_events = evs ? json_array_size(evs) : 0;
  b->devices = metered_calloc(b->n_devices + 1, sizeof(*b->devices));
  b->readings = metered_calloc(b->n_readings + 1, sizeof(*b->readings));
  b->events = metered_calloc(b->n_events + 1, sizeof(*b->events));
  doc->dev_refusal = metered_calloc(b->n_devices + 1, sizeof(*doc->dev_refusal));
  if (!b->devices || !b->readings || !b->events || !doc->dev_refusal)
    return ASR_ERR_NOMEM;
  /* each part makes room for its most before it is checked: that much more */
  if (grow((void **)&doc->supplies, &v->cap_supplies, 0,
           bounded(sup, INGEST_MAX_SUPPLIES_ALL, INGEST_MAX_SUPPLIES), sizeof(*doc->supplies),
           &none) ||
      grow((void **)&doc->levels, &v->cap_levels, 0,
           bounded(lv, INGEST_MAX_LEVELS, INGEST_MAX_SUPPLIES), sizeof(*doc->levels), &none) ||
      grow((void **)&doc->meters, &v->cap_meters, 0,
           bounded(me, INGEST_MAX_METERS, INGEST_MAX_READING_METERS), sizeof(*doc->meters), &none))
    return ASR_ERR_NOMEM;
  return ASR_OK;
}

/* The bounds of the whole batch, in the order of alloc_arrays. */
static asr_result check_totals(vctx *v)
{
  if (v->all_meters > INGEST_MAX_METERS)
    return too_large(
        v, "readings: %zu meter reads in all, more than the %d a batch may hold: split it",
        v->all_meters, INGEST_MAX_METERS);
  if (v->all_levels > INGEST_MAX_LEVELS)
    return too_large(v, "readings: %zu levels in all, more than the %d a batch may hold: split it",
                     v->all_levels, INGEST_MAX_LEVELS);
  if (v->all_supplies > INGEST_MAX_SUPPLIES_ALL)
    return too_large(v, "devices: %zu supplies in all, more than the %d a batch may hold: split it",
                     v->all_supplies, INGEST_MAX_SUPPLIES_ALL);
  return ASR_OK;
}

/* check_batch of a document whose devices and readings are decoded from the text. */
static asr_result check_batch_parts(vctx *v, json_t *root, const char *json, const char *agent_id)
{
  json_t *devs = NULL, *reads = NULL, *evs = NULL;
  asr_result r = check_top(v, root, agent_id, &devs, &reads, &evs);

  if (!r)
    r = alloc_parts(v, evs);
  if (!r)
    r = each_part(v, json, &v->scan->devs, part_device);
  if (!r) {
    v->doc->batch.n_readings = 0;
    r = each_part(v, json, &v->scan->reads, part_reading);
  }
  if (!r)
    r = check_totals(v);
  if (!r)
    r = check_events(v, NULL, evs);
  return r;
}

/* Parses the frame and decodes the batch part by part (v->redo: decode it whole). */
static asr_result decode_parts(vctx *v, const char *json, size_t len, const char *agent_id)
{
  json_error_t jerr;
  size_t flen = 0;
  char *frame = frame_text(json, len, v->scan, &flen);
  ingest_doc *doc = v->doc;

  if (!frame)
    return ASR_ERR_NOMEM;
  doc->root = json_loadb(frame, flen, JSON_REJECT_DUPLICATES, &jerr);
  budget_free_block(frame);
  if (!doc->root && json_error_code(&jerr) == json_error_out_of_memory)
    return ASR_ERR_NOMEM;
  if (!json_is_object(doc->root)) {
    v->redo = true;
    return ASR_ERR_PARSE;
  }
  return check_batch_parts(v, doc->root, json, agent_id);
}

/* Parses the whole document with jansson and checks it. */
static asr_result decode_tree(vctx *v, const char *json, size_t len, const char *agent_id)
{
  json_error_t jerr;

  v->doc->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!v->doc->root) {
    asr_fmt_cut(v->err, v->errn, "body: not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                jerr.column);
    return ASR_ERR_PARSE;
  }
  if (!json_is_object(v->doc->root))
    return bad(v, "body: not a JSON object");
  return check_batch(v, v->doc->root, agent_id);
}

#define WHOLE_GATE_MIN ((size_t)1 << 20) /* a text this long is decoded whole one at a time */
#define WHOLE_WAIT_S 3                   /* ... waiting this long for the one before */

/* Parses the whole document and checks it. A long text decoded whole (one the agents never
 * send: decoding part by part did not take it) builds jansson's tree of all of it, about
 * 15 times the text, so such documents take turns, each holding the gate until it is
 * freed (stored): ASR_ERR_TIMEOUT (busy) when the one before holds it past WHOLE_WAIT_S. */
static asr_result decode_whole(vctx *v, const char *json, size_t len, const char *agent_id)
{
  struct timespec until;

  if (len < WHOLE_GATE_MIN)
    return decode_tree(v, json, len, agent_id);
  if (clock_gettime(CLOCK_REALTIME, &until) != 0)
    return ASR_ERR_TIMEOUT;
  until.tv_sec += WHOLE_WAIT_S;
  if (pthread_mutex_timedlock(&whole_gate, &until) != 0)
    return ASR_ERR_TIMEOUT;
  v->doc->gated = true;
  return decode_tree(v, json, len, agent_id);
}

asr_result ingest_decode(const char *json, size_t len, const char *agent_id, ingest_doc **out,
                         char *err, size_t errn)
{
  text_scan ts;
  ingest_doc *doc = calloc(1, sizeof(*doc));
  vctx v = {.err = err, .errn = errn, .doc = doc};
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (!doc)
    goto fail;
  scan_text(json, len, &ts);
  r = check_size(&v, &ts);
  if (r)
    goto fail;
  if (by_parts(&ts)) {
    v.scan = &ts;
    r = decode_parts(&v, json, len, agent_id);
  }
  if (!v.scan || v.redo) { /* decoded whole as it always was */
    ingest_doc_free(doc);
    if (!(doc = calloc(1, sizeof(*doc)))) {
      r = ASR_ERR_NOMEM;
      goto fail;
    }
    v = (vctx){.err = err, .errn = errn, .doc = doc};
    r = decode_whole(&v, json, len, agent_id);
  }
  if (!r)
    r = asr_sign_sha256_hex(json, len, doc->digest, sizeof(doc->digest));
  if (r == ASR_ERR_NOMEM)
    asr_strlcpy_cut(err, "out of memory", errn);
  if (r)
    goto fail;
  doc->batch.digest = doc->digest;
  *out = doc;
  return ASR_OK;
fail:
  ingest_doc_free(doc);
  return r;
}

const cstore_batch *ingest_doc_batch(const ingest_doc *doc)
{
  return &doc->batch;
}

void ingest_doc_free(ingest_doc *doc)
{
  if (!doc)
    return;
  for (size_t i = 0; doc->batch.devices && i < doc->batch.n_devices; i++)
    free(doc->batch.devices[i].errors_json);
  budget_free_block(doc->batch.devices);
  budget_free_block(doc->batch.readings);
  budget_free_block(doc->batch.events);
  budget_free_block(doc->supplies);
  budget_free_block(doc->levels);
  budget_free_block(doc->dev_refusal);
  budget_free_block(doc->batch.refused);
  budget_free_block(doc->meters);
  json_decref(doc->root);
  while (doc->pool) {
    pool_chunk *next = doc->pool->next;

    budget_free_block(doc->pool);
    doc->pool = next;
  }
  if (doc->gated)
    pthread_mutex_unlock(&whole_gate);
  free(doc);
}

/* ---------------------------------------------------------------------------------------
 * A batch request. */

#define OVER_MEMORY (-1)              /* a status: the memory meter said no (413 or 503) */
#define DEFLATE_RATIO 1032            /* deflate's largest expansion */
#define TRIM_AFTER ((size_t)32 << 20) /* a batch that held this much gives memory back */

/* The memory one batch's decoding may hold. */
static size_t memory_cap(const ingest_request *req)
{
  return req->max_memory ? req->max_memory : INGEST_BATCH_MEMORY;
}

/* gunzip charged to the thread's meter m: what the inflated text may grow to is reserved
 * first (deflate expands at most DEFLATE_RATIO times, and never past the limit or what is
 * left of the meter's cap), then exchanged for its real size. ASR_ERR_LIMIT when the meter
 * refused (m->status says why), ASR_ERR_TOO_LARGE past INGEST_MAX_DECOMPRESSED. */
static asr_result gunzip_metered(const ingest_request *req, budget_meter *m, uint8_t **json,
                                 size_t *json_len)
{
  const size_t slack = 65536, most = (size_t)INGEST_MAX_DECOMPRESSED + slack;
  size_t room = !m->cap ? SIZE_MAX : m->cap > m->used + slack ? m->cap - m->used : slack;
  size_t reserve =
      req->body_len < most / DEFLATE_RATIO ? req->body_len * DEFLATE_RATIO + slack : most;
  size_t max = INGEST_MAX_DECOMPRESSED;
  asr_result r;

  if (reserve > room) { /* this batch may not inflate as far as the protocol allows */
    reserve = room;
    max = room - slack;
  }
  if (!budget_charge(reserve))
    return ASR_ERR_LIMIT;
  r = asr_gz_decompress(req->body, req->body_len, max, json, json_len);
  budget_credit(reserve);
  if (r == ASR_ERR_TOO_LARGE && max < INGEST_MAX_DECOMPRESSED) {
    m->status = BUDGET_OVER_REQUEST;
    return ASR_ERR_LIMIT;
  }
  if (!r && !budget_charge(budget_block_size(*json, *json_len + 1))) {
    free(*json);
    *json = NULL;
    return ASR_ERR_LIMIT;
  }
  return r;
}

/* The answer of a batch its memory meter refused: 413 when this batch alone needs more
 * than one may hold, 503 (retry later) when the memory shared by all is spent now. */
static int answer_memory(ingest_answer *ans, const budget_meter *m)
{
  if (m->status == BUDGET_OVER_SHARED) {
    ans->retry_after = 5;
    return answer_error(ans, 503,
                        "busy: the memory for batches in flight is spent, the batch was not"
                        " stored: retry later");
  }
  return answer_error(ans, 413,
                      "body: decoding this batch needs more than %zu MiB (at most %d readings and"
                      " %d levels a batch): split it",
                      m->cap >> 20, INGEST_MAX_READINGS, INGEST_MAX_LEVELS);
}

/* Signature, encoding and gunzip: the JSON text into *json (malloc'd) or an answer
 * (OVER_MEMORY: none yet, the meter said no). */
static int open_body(const cstore_agent *agent, const ingest_request *req, budget_meter *m,
                     uint8_t **json, size_t *json_len, ingest_answer *ans)
{
  int64_t ts = 0;
  asr_result r;

  if (req->body_len > ingest_body_limit(req))
    return answer_error(ans, 413, "body: more than %zu bytes compressed", ingest_body_limit(req));
  asr_parse_i64(req->timestamp, 0, TIME_MAX, &ts);
  r = asr_sign_verify(agent->secret, req->method, req->path, ts, req->body, req->body_len,
                      req->signature);
  if (r)
    return answer_error(ans, 401, "X-ASR-Signature: the signature does not match");
  if (!req->content_encoding || strcasecmp(req->content_encoding, "gzip") != 0)
    return answer_error(ans, 400, "Content-Encoding: a batch body must be gzip");
  r = gunzip_metered(req, m, json, json_len);
  if (r == ASR_ERR_LIMIT)
    return OVER_MEMORY;
  if (r == ASR_ERR_TOO_LARGE)
    return answer_error(ans, 413, "body: more than %u bytes decompressed", INGEST_MAX_DECOMPRESSED);
  if (r == ASR_ERR_NOMEM)
    return answer_error(ans, 503, "out of memory");
  if (r)
    return answer_error(ans, 400, "body: not a gzip stream");
  return 0;
}

/* A time member, null when there is none. */
static json_t *jtime(int64_t t)
{
  return t >= 0 ? json_integer(t) : json_null();
}

/* One entry of the answer's "refused" list. */
static json_t *refusal_json(const cstore_refusal *p)
{
  json_t *o = json_pack("{s:s,s:I,s:s?,s:s}", "what", p->what, "index", (json_int_t)p->index,
                        "device", p->device, "error", p->error);
  int bad = !o;

  if (!bad && strcmp(p->what, "device") == 0) {
    bad |= json_object_set_new(o, "readings", json_integer(p->readings));
    bad |= json_object_set_new(o, "events", json_integer(p->events));
  } else if (!bad) {
    bad |= json_object_set_new(o, "t", jtime(p->t));
  }
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The members saying what was refused (only when something was). */
static int add_refused(json_t *o, const cstore_batch *b)
{
  json_t *list;
  int bad = 0;

  if (b->devices_refused == 0 && b->readings_refused == 0 && b->events_refused == 0 &&
      b->n_refused == 0)
    return 0;
  list = json_array();
  bad |= !list;
  for (size_t i = 0; !bad && i < b->n_refused; i++)
    bad |= json_array_append_new(list, refusal_json(&b->refused[i]));
  bad |= json_object_set_new(o, "refused", list);
  bad |= json_object_set_new(o, "readings_refused", json_integer(b->readings_refused));
  bad |= json_object_set_new(o, "events_refused", json_integer(b->events_refused));
  bad |= json_object_set_new(o, "devices_refused", json_integer(b->devices_refused));
  bad |= json_object_set_new(o, "refused_more", json_integer(b->refused_more));
  return bad;
}

/* Logs what the central did not take as sent: a refused part, a reused id. */
static void log_problems(const cstore_agent *agent, const cstore_batch *b,
                         const cstore_applied *res)
{
  if (!res->duplicate && (b->readings_refused || b->events_refused || b->devices_refused))
    asr_log(ASR_LOG_WARN,
            "batch %s of agent %s: refused %lld readings, %lld events, %lld devices (first:"
            " %s); the rest is stored",
            b->batch_id, agent->id, (long long)b->readings_refused, (long long)b->events_refused,
            (long long)b->devices_refused, b->n_refused ? b->refused[0].error : "not listed");
  if (res->id_reused && !res->duplicate)
    asr_log(ASR_LOG_WARN,
            "batch %s of agent %s: batch id reused with another content: stored as well"
            " (agent database restored from a backup, or copied?)",
            b->batch_id, agent->id);
}

/* 503 with Retry-After: nothing stored, the agent retries later. */
static int answer_busy(ingest_answer *ans)
{
  ans->retry_after = 5;
  return answer_error(ans, 503, "busy: the batch was not stored, retry later");
}

static int store_batch(cstore *st, const cstore_agent *agent, const cstore_batch *b, int64_t now,
                       ingest_answer *ans)
{
  cstore_applied res;
  json_t *o;
  int bad;
  asr_result r = cstore_apply(st, agent, b, now, &res);

  if (r == ASR_ERR_DB_LOCKED)
    return answer_busy(ans);
  if (r) {
    asr_log(ASR_LOG_ERR, "batch %s: %s", b->batch_id, cstore_errmsg(st));
    return answer_error(ans, 500, "internal error: the batch was not stored");
  }
  log_problems(agent, b, &res);
  o = json_pack("{s:s,s:s,s:I}", "batch_id", b->batch_id, "status",
                res.duplicate ? "duplicate" : "stored", "readings", (json_int_t)res.readings);
  bad = !o || add_refused(o, b);
  if (!bad && res.id_reused) {
    bad |= json_object_set_new(o, "id_reused", json_true());
    bad |= json_object_set_new(
        o, "warning",
        json_string("batch_id: already committed with another content; this batch is stored"
                    " as well (was the agent's database restored from a backup or copied?)"));
  }
  if (bad) {
    json_decref(o);
    o = NULL;
  }
  return answer_json(ans, 200, o);
}

/* Decodes the JSON text (freed once decoded: the store may wait for the database with
 * the decoded batch alone) and stores the batch: the status (OVER_MEMORY: no answer yet). */
static int decode_and_store(cstore *st, const cstore_agent *agent, uint8_t **json, size_t json_len,
                            int64_t now, const budget_meter *m, ingest_answer *ans)
{
  char err[ERR_MAX];
  ingest_doc *doc = NULL;
  asr_result r = ingest_decode((const char *)*json, json_len, agent->id, &doc, err, sizeof(err));
  int status;

  budget_free_block(*json);
  *json = NULL;

  if (r && m->status)
    status = OVER_MEMORY;
  else if (r == ASR_ERR_NOMEM)
    status = answer_error(ans, 503, "out of memory");
  else if (r == ASR_ERR_TIMEOUT)
    status = answer_busy(ans);
  else if (r == ASR_ERR_TOO_LARGE)
    status = answer_error(ans, 413, "%s", err);
  else if (r)
    status = answer_error(ans, 400, "%s", err);
  if (r)
    goto out;
  asr_strlcpy_cut(ans->batch_id, doc->batch.batch_id, sizeof(ans->batch_id));
  status = store_batch(st, agent, &doc->batch, now, ans);
out:
  ingest_doc_free(doc);
  return status;
}

int ingest_batch_body(cstore *st, const cstore_agent *agent, const ingest_request *req, int64_t now,
                      ingest_answer *ans)
{
  uint8_t *json = NULL;
  size_t json_len = 0;
  budget_meter m;
  int status;

  ingest_init();
  budget_meter_begin(&m, req->memory, memory_cap(req));
  status = open_body(agent, req, &m, &json, &json_len, ans);
  if (!status)
    status = decode_and_store(st, agent, &json, json_len, now, &m, ans);
  budget_free_block(json);
  budget_meter_end(&m);
  if (status == OVER_MEMORY)
    status = answer_memory(ans, &m);
  if (m.peak >= TRIM_AFTER)
    budget_trim();
  return status;
}

int ingest_batch(cstore *st, const ingest_request *req, int64_t now, ingest_answer *ans)
{
  cstore_agent agent;
  int status = ingest_check_headers(st, req, (int64_t)req->body_len, now, &agent, ans);

  if (!status)
    status = ingest_batch_body(st, &agent, req, now, ans);
  memset(&agent, 0, sizeof(agent));
  return status;
}
