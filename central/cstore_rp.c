/* cstore_rp.c: the replenishment side of the central store (schema 2, 5): orders and
 * their lines, stock, the devices' flags and events, the engine's state (cstore.h). The
 * handle and its helpers are cstore.c's (cstore_int.h). */
#include "central/cstore.h"

#include <stdlib.h>
#include <string.h>

#include "central/cstore_int.h"
#include "common/util.h"
#include "wire/sign.h"

typedef enum {
  O_ORDERS,
  O_ORDER_LINES,
  O_ORDER_ONE,
  O_ORDER_HEAD,
  O_LINE_STATE,
  O_LINE_DELIVER,
  O_ORDER_SYNC,
  O_ORDER_ADD,
  O_LINE_ADD,
  O_STOCK_ORDERED,
  O_RP_DEVICES,
  O_RP_SITE_DEVICES,
  O_RP_SITES,
  O_RP_SUPPLIES,
  O_RP_LEVELS,
  O_STOCK_UPDATE,
  O_EVENT_ADD,
  O_RPDEV_SET,
  O_STATE_GET,
  O_STATE_SET,
  O_INSTANCE_ADD,
  O_RP_DELIVERIES,
  O_RP_JOBS,
  O_RP_EXTRAS,
  O_EXTRA_CONSUMED,
  O_EVENT_LAST,
  O_DAY_CLAIM,
  O_ENGINE_LOCK,
  O_SITE_SUPPLIES,
  O_SITE_DELIVERIES,
  O_SITE_JOBS,
  O_SITE_EXTRAS,
  O_SITE_EVENT_LAST,
  O_STOCK_UPDATES,
  O_COUNT
} o_stmt_id;

/* The engine's view of the devices (cstore_rp_device), every site's or one site's. */
#define RP_DEVICES_SQL                                                                             \
  "SELECT d.id, d.site_id, s.name, coalesce(c.email, s.contact), d.key, d.serial,"                 \
  " d.model, d.ip, d.last_reading_at, coalesce(a.last_seen, 0),"                                   \
  " coalesce(r.high_use, 0), coalesce(r.notices, 0), coalesce(c.id, 0),"                           \
  " coalesce(c.name, ''), coalesce(c.address, s.address), coalesce(r.judged, 0)"                   \
  " FROM devices d JOIN sites s ON s.id = d.site_id"                                               \
  " LEFT JOIN device_contacts dc ON dc.device_id = d.id"                                           \
  " LEFT JOIN contacts c ON c.id = coalesce(dc.contact_id,"                                        \
  " (SELECT min(c2.id) FROM contacts c2 WHERE c2.site_id = d.site_id))"                            \
  " LEFT JOIN agents a ON a.id = d.agent_id"                                                       \
  " LEFT JOIN rp_devices r ON r.device_id = d.id"

/* A supply with its stock and its newest ASR line (cstore_rp_supply): the newest line's
 * covered date, not the largest: a usage spike's line re-dates the cover earlier than the
 * line before it (rules.h, "usage spike"); a special order is no part of ASR's plan. */
#define RP_SUPPLIES_SQL                                                                            \
  "p.idx, p.type, p.colorant, p.description, p.max, coalesce(k.ordered, 0),"                       \
  " coalesce(k.delivered, 0), coalesce(k.installed, 0), coalesce(k.jumps_day, -1),"                \
  " coalesce((SELECT l.covered_until FROM order_lines l JOIN orders o ON o.id = l.order_id"        \
  " WHERE l.device_id = p.device_id AND l.idx = p.idx AND o.kind = 'asr'"                          \
  " ORDER BY l.order_id DESC LIMIT 1), 0), p.colorant_std,"                                        \
  " coalesce((SELECT l.daily_use FROM order_lines l JOIN orders o ON o.id = l.order_id"            \
  " WHERE l.device_id = p.device_id AND l.idx = p.idx AND o.kind = 'asr'"                          \
  " ORDER BY l.order_id DESC LIMIT 1), 0)"                                                         \
  " FROM supplies p LEFT JOIN stock k ON k.device_id = p.device_id AND k.idx = p.idx"

/* The devices of site ?1: the engine's set-based reads of a site (one statement for all
 * its devices, not one per device or supply: a round trip each on PostgreSQL). */
#define IN_SITE " IN (SELECT id FROM devices WHERE site_id = ?1)"

static const char *const o_sql[O_COUNT] = {
    [O_ORDERS] =
        "SELECT o.id, s.name, o.state, o.reason, o.created_at, o.updated_at, o.kind,"
        " o.contact, o.contact_name, o.address, o.note, o.day, coalesce(o.contact_id, 0)"
        " FROM orders o JOIN sites s ON s.id = o.site_id"
        " WHERE (CAST(?1 AS TEXT) IS NULL OR s.name = ?1) AND (?2 = 0 OR o.state <> 'delivered')"
        " ORDER BY o.created_at DESC, o.id DESC",
    [O_ORDER_LINES] = "SELECT l.serial, coalesce(p.description, p.type, 'supply ' || l.idx),"
                      " p.colorant, l.idx, l.quantity, l.reason, l.line, l.state, d.model, p.type,"
                      " coalesce(l.job_from, 0), coalesce(l.job_to, 0),"
                      " l.backordered_at IS NOT NULL FROM order_lines l"
                      " LEFT JOIN supplies p ON p.device_id = l.device_id AND p.idx = l.idx"
                      " LEFT JOIN devices d ON d.id = l.device_id"
                      " WHERE l.order_id = ?1 ORDER BY l.line",
    [O_ORDER_ONE] =
        "SELECT o.id, s.name, o.state, o.reason, o.created_at, o.updated_at, o.kind,"
        " o.contact, o.contact_name, o.address, o.note, o.day, coalesce(o.contact_id, 0)"
        " FROM orders o JOIN sites s ON s.id = o.site_id WHERE o.id = ?1",
    [O_ORDER_HEAD] = "SELECT o.site_id, s.name, o.contact, o.state, EXISTS (SELECT 1 FROM"
                     " order_lines l WHERE l.order_id = o.id AND l.backordered_at IS NOT NULL),"
                     " coalesce(o.contact_id, 0), o.address, o.contact_name, o.kind"
                     " FROM orders o JOIN sites s ON s.id = o.site_id WHERE o.id = ?1",
    [O_LINE_STATE] =
        "UPDATE order_lines SET state = ?3,"
        " shipped_at = CASE WHEN ?3 = 'shipped' THEN ?4 ELSE shipped_at END,"
        " backordered_at = CASE WHEN ?3 = 'backordered' THEN ?4 ELSE backordered_at END,"
        " delivered_at = CASE WHEN ?3 = 'delivered' THEN ?4 ELSE delivered_at END"
        " WHERE order_id = ?1 AND line = ?2",
    /* a delivered line becomes its device's stock on the shelf */
    [O_LINE_DELIVER] = "INSERT INTO stock (device_id, idx, delivered)"
                       " SELECT device_id, idx, quantity FROM order_lines"
                       " WHERE order_id = ?1 AND line = ?2 ON CONFLICT (device_id, idx) DO UPDATE"
                       " SET delivered = stock.delivered + excluded.delivered",
    /* an order's state is its lines': all delivered, or the most advanced step one reached */
    [O_ORDER_SYNC] =
        "UPDATE orders SET updated_at = ?2, state = CASE"
        " WHEN NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state <> 'delivered') THEN 'delivered'"
        " WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state IN ('shipped', 'delivered')) THEN 'shipped'"
        " WHEN EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id"
        " AND l.state = 'backordered') THEN 'backordered' ELSE 'created' END,"
        " shipped_at = coalesce(shipped_at, (SELECT min(l.shipped_at) FROM order_lines l"
        " WHERE l.order_id = orders.id)),"
        " backordered_at = coalesce(backordered_at, (SELECT min(l.backordered_at)"
        " FROM order_lines l WHERE l.order_id = orders.id)),"
        " delivered_at = CASE WHEN NOT EXISTS (SELECT 1 FROM order_lines l"
        " WHERE l.order_id = orders.id AND l.state <> 'delivered') THEN coalesce(delivered_at, ?2)"
        " END WHERE id = ?1",
    /* the contact's e-mail, name and address are kept with the order: a later change of the
     * contact leaves the order as it was made */
    [O_ORDER_ADD] = "INSERT INTO orders (site_id, contact, contact_id, contact_name, address, kind,"
                    " reason, note, day, created_at, updated_at)"
                    " SELECT c.site_id, c.email, c.id, c.name, c.address, CAST(?3 AS TEXT),"
                    " CAST(?4 AS TEXT), CAST(?5 AS TEXT), CAST(?6 AS BIGINT), CAST(?7 AS BIGINT),"
                    " CAST(?7 AS BIGINT) FROM contacts c WHERE c.id = ?2 AND c.site_id = ?1"
                    " RETURNING id",
    [O_LINE_ADD] = "INSERT INTO order_lines (order_id, line, device_id, idx, serial, quantity,"
                   " reason, covered_until, daily_use, job_from, job_to)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [O_STOCK_ORDERED] = "INSERT INTO stock (device_id, idx, ordered) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT (device_id, idx) DO UPDATE"
                        " SET ordered = stock.ordered + excluded.ordered",
    /* a device's contact: the one it was assigned, else its site's first */
    [O_RP_DEVICES] = RP_DEVICES_SQL " ORDER BY s.name, d.key",
    [O_RP_SITE_DEVICES] = RP_DEVICES_SQL " WHERE d.site_id = ?1 ORDER BY d.key",
    [O_RP_SITES] = "SELECT id FROM sites ORDER BY name",
    [O_RP_SUPPLIES] = "SELECT " RP_SUPPLIES_SQL " WHERE p.device_id = ?1 ORDER BY p.idx",
    /* the daily roll-up (cstore_series.h): each day's last reading */
    [O_RP_LEVELS] = "SELECT day, level, max, percent FROM level_days"
                    " WHERE device_id = ?1 AND idx = ?2 AND day >= ?3 AND day <= ?4 ORDER BY day",
    [O_STOCK_UPDATE] = "INSERT INTO stock (device_id, idx, installed, jumps_day)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id, idx) DO UPDATE"
                       " SET installed = stock.installed + excluded.installed,"
                       /* max(a, b), written for both (both are NOT NULL) */
                       " jumps_day = CASE WHEN excluded.jumps_day > stock.jumps_day"
                       " THEN excluded.jumps_day ELSE stock.jumps_day END",
    [O_EVENT_ADD] = "INSERT INTO rp_events (device_id, idx, day, kind)"
                    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [O_RPDEV_SET] =
        "INSERT INTO rp_devices (device_id, high_use, high_use_since, notices, judged)"
        " VALUES (?1, ?2, CASE WHEN CAST(?2 AS BIGINT) <> 0 THEN CAST(?3 AS BIGINT) END, ?4, ?5) "
        "ON CONFLICT "
        "(device_id) DO UPDATE"
        " SET high_use_since = CASE WHEN excluded.high_use = 0 THEN NULL"
        " WHEN rp_devices.high_use = 1 THEN rp_devices.high_use_since"
        " ELSE excluded.high_use_since END,"
        " high_use = excluded.high_use, notices = excluded.notices, judged = excluded.judged",
    [O_STATE_GET] = "SELECT v FROM rp_state WHERE k = ?1",
    [O_STATE_SET] = "INSERT INTO rp_state (k, v) VALUES (?1, ?2)"
                    " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    /* the database's instance: 62 random bits drawn in C (instance_draw), kept by the
     * first to store it */
    [O_INSTANCE_ADD] = "INSERT INTO rp_state (k, v) VALUES ('instance', ?1) ON CONFLICT DO NOTHING",
    [O_RP_DELIVERIES] = "SELECT delivered_at / 86400, quantity FROM order_lines"
                        " WHERE device_id = ?1 AND idx = ?2 AND state = 'delivered'"
                        " ORDER BY delivered_at",
    [O_RP_JOBS] = "SELECT job_from, job_to FROM order_lines"
                  " WHERE device_id = ?1 AND job_from IS NOT NULL AND job_to IS NOT NULL",
    [O_RP_EXTRAS] = "SELECT l.order_id, l.line, l.quantity, l.consumed, l.job_from, l.job_to"
                    " FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.kind = 'extra'"
                    " AND l.device_id = ?1 AND l.idx = ?2 AND l.job_to >= ?3"
                    " ORDER BY l.job_from, l.order_id",
    /* min(a, b), written for both (quantity and consumed are NOT NULL) */
    [O_EXTRA_CONSUMED] = "UPDATE order_lines SET consumed = CASE WHEN consumed + ?3 < quantity"
                         " THEN consumed + ?3 ELSE quantity END WHERE order_id = ?1 AND line = ?2",
    [O_EVENT_LAST] =
        "SELECT coalesce(max(day), 0) FROM rp_events WHERE device_id = ?1 AND kind = ?2",
    /* the day claimed by the node that runs it: one row changed (inserted or moved on) */
    [O_DAY_CLAIM] = "INSERT INTO rp_state (k, v) VALUES ('last_day', ?1) ON CONFLICT (k)"
                    " DO UPDATE SET v = excluded.v WHERE rp_state.v < excluded.v",
    /* PostgreSQL only: one engine at a time across the nodes, without waiting (released by
     * the transaction's end, a crash's too) */
    [O_ENGINE_LOCK] = "SELECT pg_try_advisory_xact_lock(?1)",
    /* the per-device reads above for every device of a site, by device id (then as they) */
    [O_SITE_SUPPLIES] = "SELECT p.device_id, " RP_SUPPLIES_SQL " WHERE p.device_id" IN_SITE
                        " ORDER BY p.device_id, p.idx",
    [O_SITE_DELIVERIES] = "SELECT delivered_at / 86400, quantity, device_id, idx FROM order_lines"
                          " WHERE device_id" IN_SITE " AND state = 'delivered'"
                          " ORDER BY device_id, idx, delivered_at, order_id, line",
    [O_SITE_JOBS] = "SELECT job_from, job_to, device_id FROM order_lines WHERE device_id" IN_SITE
                    " AND job_from IS NOT NULL AND job_to IS NOT NULL"
                    " ORDER BY device_id, idx, order_id, line",
    [O_SITE_EXTRAS] = "SELECT l.order_id, l.line, l.quantity, l.consumed, l.job_from, l.job_to,"
                      " l.device_id, l.idx FROM order_lines l JOIN orders o ON o.id = l.order_id"
                      " WHERE o.kind = 'extra' AND l.device_id" IN_SITE " AND l.job_to >= ?2"
                      " ORDER BY l.device_id, l.idx, l.job_from, l.order_id",
    /* PostgreSQL only: O_STOCK_UPDATE for many supplies (each once) in one statement */
    [O_STOCK_UPDATES] = "INSERT INTO stock (device_id, idx, installed, jumps_day)"
                        " SELECT * FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[],"
                        " ?4::bigint[]) ON CONFLICT (device_id, idx) DO UPDATE"
                        " SET installed = stock.installed + excluded.installed,"
                        " jumps_day = CASE WHEN excluded.jumps_day > stock.jumps_day"
                        " THEN excluded.jumps_day ELSE stock.jumps_day END",
    [O_SITE_EVENT_LAST] = "SELECT device_id, max(day) FROM rp_events WHERE device_id" IN_SITE
                          " AND kind = ?2 GROUP BY device_id",
};

/* The key of the engine's advisory lock: "asr-engi" in ASCII (cdb_dialect.c's migrations
 * take "asr-cent"). */
#define ENGINE_LOCK_KEY INT64_C(0x6173722d656e6769)

_Static_assert(CSTORE_SLOTS_RP + O_COUNT <= CSTORE_SLOTS_OUTBOX,
               "give this file more statement slots (cstore_int.h)");

/* The walks over every site, device or order of the fleet: cursors on PostgreSQL inside
 * the engine's transaction (cdb_prepare_scan), not a whole result in memory. */
static const bool o_scan[O_COUNT] = {
    [O_ORDERS] = true, [O_RP_DEVICES] = true, [O_RP_SITE_DEVICES] = true, [O_RP_SITES] = true};

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result o_get(cstore *st, o_stmt_id id, cdb_stmt **out)
{
  size_t slot = CSTORE_SLOTS_RP + (size_t)id;

  return o_scan[id] ? cdb_prepare_scan(st->db, slot, o_sql[id], out)
                    : cdb_prepare(st->db, slot, o_sql[id], out);
}

/* Runs statement id with the integers v[0..n) bound to ?1..?n. */
static asr_result o_run_i64(cstore *st, o_stmt_id id, const char *what, const int64_t *v, size_t n)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, id, &s);

  if (r)
    return r;
  for (size_t i = 0; i < n; i++)
    cdb_bind_i64(s, (int)i + 1, v[i]);
  return cdb_run(s, what);
}

#define ORDER_LINES_MAX 4096 /* lines listed per order */
#define LINE_STRINGS 7       /* copied strings of a line (line_from_row) */

/* An order's lines with copies of their strings (valid while the callback runs). */
typedef struct {
  cstore_order_line *lines;
  char (*buf)[LINE_STRINGS][CSTORE_NAME_MAX];
  size_t n, cap;
} order_lines_buf;

static asr_result lines_grow(order_lines_buf *b)
{
  size_t cap = b->cap ? b->cap * 2 : 16;
  cstore_order_line *l = realloc(b->lines, cap * sizeof(*l));
  char(*buf)[LINE_STRINGS][CSTORE_NAME_MAX];

  if (!l)
    return ASR_ERR_NOMEM;
  b->lines = l;
  buf = realloc(b->buf, cap * sizeof(*buf));
  if (!buf)
    return ASR_ERR_NOMEM;
  b->buf = buf;
  b->cap = cap;
  return ASR_OK;
}

static void line_from_row(cdb_stmt *s, cstore_order_line *l, char (*buf)[CSTORE_NAME_MAX])
{
  l->serial = cdb_col_cut(s, 0, buf[0], CSTORE_NAME_MAX);
  l->supply = cdb_col_cut(s, 1, buf[1], CSTORE_NAME_MAX);
  l->colorant = cdb_col_cut(s, 2, buf[2], CSTORE_NAME_MAX);
  l->supply_index = (int)cdb_col_i64(s, 3);
  l->quantity = (int)cdb_col_i64(s, 4);
  l->reason = cdb_col_cut(s, 5, buf[3], CSTORE_NAME_MAX);
  l->line = (int)cdb_col_i64(s, 6);
  l->state = cdb_col_cut(s, 7, buf[4], CSTORE_NAME_MAX);
  l->model = cdb_col_cut(s, 8, buf[5], CSTORE_NAME_MAX);
  l->type = cdb_col_cut(s, 9, buf[6], CSTORE_NAME_MAX);
  l->job_from = cdb_col_i64(s, 10);
  l->job_to = cdb_col_i64(s, 11);
  l->was_backordered = cdb_col_i64(s, 12) != 0;
}

/* Points the strings of line i at b's copies again (the buffers may have moved). */
static void line_fixup(order_lines_buf *b, size_t i)
{
  cstore_order_line *l = &b->lines[i];
  const char **f[LINE_STRINGS] = {&l->serial, &l->supply, &l->colorant, &l->reason,
                                  &l->state,  &l->model,  &l->type};

  for (size_t k = 0; k < LINE_STRINGS; k++)
    *f[k] = *f[k] ? b->buf[i][k] : NULL;
}

/* Loads the lines of order id into b (pointers are fixed up after the last grow). */
static asr_result order_lines_load(cstore *st, int64_t id, order_lines_buf *b)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_ORDER_LINES, &s);

  b->n = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  while (!r && b->n < ORDER_LINES_MAX) {
    r = cdb_step(s, "listing order lines", &row);
    if (r || !row)
      break;
    if (b->n == b->cap)
      r = lines_grow(b);
    if (!r) {
      line_from_row(s, &b->lines[b->n], b->buf[b->n]);
      b->n++;
    }
  }
  cdb_reset(s);
  for (size_t i = 0; i < b->n; i++)
    line_fixup(b, i);
  return r;
}

static void order_from_row(cdb_stmt *s, cstore_order_row *o)
{
  o->id = cdb_col_i64(s, 0);
  o->site = cdb_col_text(s, 1);
  o->state = cdb_col_text(s, 2);
  o->reason = cdb_col_text(s, 3);
  o->created_at = cdb_col_i64(s, 4);
  o->updated_at = cdb_col_i64(s, 5);
  o->kind = cdb_col_text(s, 6);
  o->contact = cdb_col_text(s, 7);
  o->contact_name = cdb_col_text(s, 8);
  o->address = cdb_col_text(s, 9);
  o->note = cdb_col_text(s, 10);
  o->day = cdb_col_i64(s, 11);
  o->contact_id = cdb_col_i64(s, 12);
}

/* Calls cb for each order row of the bound statement s (then resets it); *n counts them. */
static asr_result orders_walk(cstore *st, cdb_stmt *s, cstore_order_cb cb, void *ctx, size_t *n)
{
  order_lines_buf b = {0};
  bool row = true;
  asr_result r = ASR_OK;

  *n = 0;
  while (!r && row) {
    cstore_order_row o;
    r = cdb_step(s, "listing orders", &row);
    if (r || !row)
      break;
    order_from_row(s, &o);
    (*n)++;
    r = order_lines_load(st, o.id, &b);
    o.n_lines = b.n;
    o.lines = b.lines;
    if (!r && cb(&o, ctx))
      break;
  }
  cdb_reset(s);
  free(b.lines);
  free(b.buf);
  return r;
}

asr_result cstore_order_foreach(cstore *st, const char *site, bool open_only, cstore_order_cb cb,
                                void *ctx)
{
  cdb_stmt *s = NULL;
  size_t n = 0;
  asr_result r = site ? cstore_site_exists(st, site) : ASR_OK;

  if (!r)
    r = o_get(st, O_ORDERS, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_i64(s, 2, open_only ? 1 : 0);
  return orders_walk(st, s, cb, ctx, &n);
}

asr_result cstore_order_get(cstore *st, int64_t id, cstore_order_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  size_t n = 0;
  asr_result r = o_get(st, O_ORDER_ONE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  r = orders_walk(st, s, cb, ctx, &n);
  if (!r && n == 0) {
    asr_sql_set_err(&st->sql, "no order %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_order_head_get(cstore *st, int64_t id, cstore_order_head *out)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_ORDER_HEAD, &s);

  memset(out, 0, sizeof(*out));
  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  r = cdb_step(s, "looking up an order", &row);
  if (!r && row) {
    out->id = id;
    out->site_id = cdb_col_i64(s, 0);
    asr_strlcpy_cut(out->site, cdb_col_text(s, 1), sizeof(out->site));
    asr_strlcpy_cut(out->contact, cdb_col_text(s, 2), sizeof(out->contact));
    asr_strlcpy_cut(out->state, cdb_col_text(s, 3), sizeof(out->state));
    out->was_backordered = cdb_col_i64(s, 4) != 0;
    out->contact_id = cdb_col_i64(s, 5);
    asr_strlcpy_cut(out->address, cdb_col_text(s, 6) ? cdb_col_text(s, 6) : "",
                    sizeof(out->address));
    asr_strlcpy_cut(out->contact_name, cdb_col_text(s, 7) ? cdb_col_text(s, 7) : "",
                    sizeof(out->contact_name));
    asr_strlcpy_cut(out->kind, cdb_col_text(s, 8) ? cdb_col_text(s, 8) : "asr", sizeof(out->kind));
  }
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "no order %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_line_set_state(cstore *st, int64_t id, int line, const char *state, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_LINE_STATE, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_i64(s, 2, line);
  cdb_bind_text(s, 3, state);
  cdb_bind_i64(s, 4, now);
  r = cdb_run(s, "changing an order line's state");
  if (r || strcmp(state, "delivered") != 0)
    return r;
  const int64_t v[] = {id, line};
  return o_run_i64(st, O_LINE_DELIVER, "adding a delivery to the stock", v, 2);
}

asr_result cstore_order_sync(cstore *st, int64_t id, int64_t now)
{
  const int64_t v[] = {id, now};

  return o_run_i64(st, O_ORDER_SYNC, "changing an order's state", v, 2);
}

asr_result cstore_order_add(cstore *st, int64_t site_id, int64_t contact_id, const char *kind,
                            const char *reason, const char *note, int64_t day, int64_t now,
                            int64_t *id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_ORDER_ADD, &s);

  *id = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_i64(s, 2, contact_id);
  cdb_bind_text(s, 3, kind);
  cdb_bind_text(s, 4, reason);
  cdb_bind_text(s, 5, note);
  cdb_bind_i64(s, 6, day);
  cdb_bind_i64(s, 7, now);
  r = cdb_step(s, "adding an order", &row);
  if (!r && row)
    *id = cdb_col_i64(s, 0);
  if (!r)
    r = cdb_run(s, "adding an order"); /* to its end: SQLite makes the change there */
  else
    cdb_reset(s);
  if (!r && *id <= 0) {
    asr_sql_set_err(&st->sql, "%s: no contact %lld of site %lld for an order", st->path,
                    (long long)contact_id, (long long)site_id);
    return ASR_ERR_NOT_FOUND;
  }
  if (r)
    *id = 0;
  return r;
}

asr_result cstore_order_line_add(cstore *st, int64_t order, int line, int64_t dev, int32_t idx,
                                 const char *serial, int quantity, const char *reason,
                                 const cstore_line_extra *x)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_LINE_ADD, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, order);
  cdb_bind_i64(s, 2, line);
  cdb_bind_i64(s, 3, dev);
  cdb_bind_i64(s, 4, idx);
  cdb_bind_text(s, 5, serial);
  cdb_bind_i64(s, 6, quantity);
  cdb_bind_text(s, 7, reason);
  cdb_bind_i64(s, 8, x ? x->covered_until : 0);
  if (x && x->daily_use > 0.0)
    cdb_bind_double(s, 9, x->daily_use);
  else
    cdb_bind_null(s, 9);
  cdb_bind_opt_i64(s, 10, x && x->job_to > 0 ? x->job_from : -1);
  cdb_bind_opt_i64(s, 11, x && x->job_to > 0 ? x->job_to : -1);
  r = cdb_run(s, "adding an order line");
  if (r)
    return r;
  const int64_t v[] = {dev, idx, quantity};
  return o_run_i64(st, O_STOCK_ORDERED, "counting ordered stock", v, 3);
}

/* ---------------------------------------------------------------------------------------
 * The engine's view of the devices and their supplies, stock and flags, its state. */

static void rp_device_from_row(cdb_stmt *s, cstore_rp_device *d)
{
  d->id = cdb_col_i64(s, 0);
  d->site_id = cdb_col_i64(s, 1);
  d->site = cdb_col_text(s, 2);
  d->contact = cdb_col_text(s, 3);
  d->key = cdb_col_text(s, 4);
  d->serial = cdb_col_text(s, 5);
  d->model = cdb_col_text(s, 6);
  d->ip = cdb_col_text(s, 7);
  d->last_reading_at = cdb_col_i64(s, 8);
  d->agent_last_seen = cdb_col_i64(s, 9);
  d->high_use = cdb_col_i64(s, 10) != 0;
  d->notices = (unsigned)cdb_col_i64(s, 11);
  d->contact_id = cdb_col_i64(s, 12);
  d->contact_name = cdb_col_text(s, 13);
  d->address = cdb_col_text(s, 14);
  d->judged = cdb_col_i64(s, 15) != 0;
}

/* Calls cb per row of the bound device query s (then resets it). */
static asr_result rp_devices_walk(cdb_stmt *s, cstore_rp_device_cb cb, void *ctx)
{
  bool row = true;
  asr_result r = ASR_OK;

  while (!r && row) {
    cstore_rp_device d;
    r = cdb_step(s, "listing devices", &row);
    if (r || !row)
      break;
    rp_device_from_row(s, &d);
    if (cb(&d, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_devices(cstore *st, cstore_rp_device_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_RP_DEVICES, &s);

  return r ? r : rp_devices_walk(s, cb, ctx);
}

asr_result cstore_rp_site_devices(cstore *st, int64_t site_id, cstore_rp_device_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_RP_SITE_DEVICES, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  return rp_devices_walk(s, cb, ctx);
}

asr_result cstore_rp_sites(cstore *st, cstore_rp_site_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_SITES, &s);

  while (!r && row) {
    r = cdb_step(s, "listing sites", &row);
    if (!r && row && cb(cdb_col_i64(s, 0), ctx))
      break;
  }
  if (s)
    cdb_reset(s);
  return r;
}

/* A supply from the columns of RP_SUPPLIES_SQL from column c on. */
static void rp_supply_from_row(cdb_stmt *s, int c, cstore_rp_supply *p)
{
  p->index = (int)cdb_col_i64(s, c);
  p->type = cdb_col_text(s, c + 1);
  p->colorant = cdb_col_text(s, c + 2);
  p->description = cdb_col_text(s, c + 3);
  p->has_max = !cdb_col_null(s, c + 4);
  p->max = cdb_col_i64(s, c + 4);
  p->ordered = cdb_col_i64(s, c + 5);
  p->delivered = cdb_col_i64(s, c + 6);
  p->installed = cdb_col_i64(s, c + 7);
  p->jumps_day = cdb_col_i64(s, c + 8);
  p->covered_until = cdb_col_i64(s, c + 9);
  p->colorant_std = cdb_col_text(s, c + 10);
  p->covered_use = cdb_col_double(s, c + 11);
}

asr_result cstore_rp_supplies(cstore *st, int64_t dev, cstore_rp_supply_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_SUPPLIES, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  while (!r && row) {
    cstore_rp_supply p;
    r = cdb_step(s, "listing supplies", &row);
    if (r || !row)
      break;
    rp_supply_from_row(s, 0, &p);
    if (cb(&p, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

/* Runs the day query s (day, level, max, percent), a cstore_rp_level per row to cb. */
asr_result cstore_rp_levels_walk(cstore *st, cdb_stmt *s, int64_t dev, int32_t idx, int64_t from,
                                 int64_t to, cstore_rp_level_cb cb, void *ctx)
{
  bool row = true;
  asr_result r = ASR_OK;

  (void)st; /* its messages are the statement's connection's */

  cdb_bind_i64(s, 1, dev);
  cdb_bind_i64(s, 2, idx);
  cdb_bind_i64(s, 3, from);
  cdb_bind_i64(s, 4, to);
  while (!r && row) {
    cstore_rp_level l;
    r = cdb_step(s, "reading levels", &row);
    if (r || !row)
      break;
    l.day = cdb_col_i64(s, 0);
    l.has_level = !cdb_col_null(s, 1);
    l.level = cdb_col_i64(s, 1);
    l.has_max = !cdb_col_null(s, 2);
    l.max = cdb_col_i64(s, 2);
    l.has_percent = !cdb_col_null(s, 3);
    l.percent = (int)cdb_col_i64(s, 3);
    if (cb(&l, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_daily_levels(cstore *st, int64_t dev, int32_t idx, int64_t from, int64_t to,
                                  cstore_rp_level_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_RP_LEVELS, &s);

  if (r)
    return r;
  return cstore_rp_levels_walk(st, s, dev, idx, from, to, cb, ctx);
}

asr_result cstore_rp_stock_update(cstore *st, int64_t dev, int32_t idx, int64_t installed,
                                  int64_t jumps_day)
{
  const int64_t v[] = {dev, idx, installed, jumps_day};

  return o_run_i64(st, O_STOCK_UPDATE, "updating the stock", v, 4);
}

asr_result cstore_rp_event_add(cstore *st, int64_t dev, int32_t idx, int64_t day, const char *kind,
                               bool *added)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_EVENT_ADD, &s);

  *added = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_i64(s, 2, idx);
  cdb_bind_i64(s, 3, day);
  cdb_bind_text(s, 4, kind);
  r = cdb_run(s, "recording an event");
  *added = !r && cdb_changes(s) > 0;
  return r;
}

asr_result cstore_rp_device_set(cstore *st, int64_t dev, bool judged, bool high_use, int64_t day,
                                unsigned notices)
{
  const int64_t v[] = {dev, high_use ? 1 : 0, day, notices, judged ? 1 : 0};

  return o_run_i64(st, O_RPDEV_SET, "storing a device's flags", v, 5);
}

asr_result cstore_rp_deliveries(cstore *st, int64_t dev, int32_t idx, cstore_rp_delivery_cb cb,
                                void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_DELIVERIES, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_i64(s, 2, idx);
  while (!r && row) {
    r = cdb_step(s, "reading deliveries", &row);
    if (!r && row && cb(cdb_col_i64(s, 0), (int)cdb_col_i64(s, 1), ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_jobs(cstore *st, int64_t dev, cstore_rp_job_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_JOBS, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  while (!r && row) {
    r = cdb_step(s, "reading job windows", &row);
    if (!r && row && cb(cdb_col_i64(s, 0), cdb_col_i64(s, 1), ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_extras(cstore *st, int64_t dev, int32_t idx, int64_t since,
                            cstore_rp_extra_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_RP_EXTRAS, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_i64(s, 2, idx);
  cdb_bind_i64(s, 3, since);
  while (!r && row) {
    cstore_rp_extra x;
    r = cdb_step(s, "reading special orders", &row);
    if (r || !row)
      break;
    x.order = cdb_col_i64(s, 0);
    x.line = (int)cdb_col_i64(s, 1);
    x.quantity = (int)cdb_col_i64(s, 2);
    x.consumed = (int)cdb_col_i64(s, 3);
    x.job_from = cdb_col_i64(s, 4);
    x.job_to = cdb_col_i64(s, 5);
    if (cb(&x, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_extra_consumed(cstore *st, int64_t order, int line, int more)
{
  const int64_t v[] = {order, line, more};

  return o_run_i64(st, O_EXTRA_CONSUMED, "counting a special order's cartridges", v, 3);
}

asr_result cstore_rp_event_last(cstore *st, int64_t dev, const char *kind, int64_t *day)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_EVENT_LAST, &s);

  *day = 0;
  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  cdb_bind_text(s, 2, kind);
  r = cdb_step(s, "reading events", &row);
  if (!r && row)
    *day = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_last_day(cstore *st, int64_t *day)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_STATE_GET, &s);

  *day = -1;
  if (r)
    return r;
  cdb_bind_text(s, 1, "last_day");
  r = cdb_step(s, "reading the engine's state", &row);
  if (!r && row)
    *day = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_set_last_day(cstore *st, int64_t day)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_STATE_SET, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, "last_day");
  cdb_bind_i64(s, 2, day);
  return cdb_run(s, "storing the engine's state");
}

/* 62 random bits + 1 (> 0), from the operating system's source (wire/sign.h). */
static asr_result instance_draw(int64_t *v)
{
  char hex[17];
  asr_result r = asr_sign_random_hex(hex, 8);

  if (r)
    return r;
  *v = (int64_t)(strtoull(hex, NULL, 16) & 0x3fffffffffffffffULL) + 1;
  return ASR_OK;
}

asr_result cstore_rp_instance(cstore *st, int64_t *id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  int64_t drawn = 0;
  asr_result r = instance_draw(&drawn);

  *id = 0;
  if (!r)
    r = o_get(st, O_INSTANCE_ADD, &s);
  if (!r) {
    cdb_bind_i64(s, 1, drawn);
    r = cdb_run(s, "drawing the database's instance");
  }
  if (!r)
    r = o_get(st, O_STATE_GET, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, "instance");
  r = cdb_step(s, "reading the database's instance", &row);
  if (!r && row)
    *id = cdb_col_i64(s, 0);
  cdb_reset(s);
  return r || row ? r : ASR_ERR_NOT_FOUND;
}

/* PostgreSQL: takes the engine's lock for the open transaction; *got false when another
 * node holds it. */
static asr_result engine_lock(cstore *st, bool *got)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_ENGINE_LOCK, &s);

  *got = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, ENGINE_LOCK_KEY);
  r = cdb_step(s, "taking the engine's lock", &row);
  *got = !r && row && cdb_col_i64(s, 0) != 0;
  cdb_reset(s);
  return r;
}

asr_result cstore_rp_claim_day(cstore *st, int64_t day, cstore_day_claim *out)
{
  cdb_stmt *s = NULL;
  bool got = true;
  asr_result r = ASR_OK;

  *out = CSTORE_DAY_DONE;
  if (cdb_backend(st->db) == CDB_PG)
    r = engine_lock(st, &got);
  if (!r && !got) {
    *out = CSTORE_DAY_BUSY;
    return ASR_OK;
  }
  if (!r)
    r = o_get(st, O_DAY_CLAIM, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, day);
  r = cdb_run(s, "claiming the engine's day");
  if (!r && cdb_changes(s) == 1)
    *out = CSTORE_DAY_CLAIMED;
  return r;
}

/* ---------------------------------------------------------------------------------------
 * The engine's set-based reads of a site (cstore.h). */

/* The caller's callback of a site walk (one of them set). */
typedef struct {
  cstore_rp_site_supply_cb supply;
  cstore_rp_site_delivery_cb delivery;
  cstore_rp_site_job_cb job;
  cstore_rp_site_extra_cb extra;
  cstore_rp_site_day_cb day;
} site_cbs;

typedef int (*site_row_fn)(cdb_stmt *s, const site_cbs *cb, void *ctx);

/* Runs statement id with site_id as ?1 (and arg as ?2 unless NULL: an integer when
 * text is NULL), row(s, cb, ctx) per row until it returns non-zero. */
static asr_result site_walk(cstore *st, o_stmt_id id, int64_t site_id, const char *text,
                            const int64_t *arg, const char *what, site_row_fn row_fn,
                            const site_cbs *cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, id, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  if (text)
    cdb_bind_text(s, 2, text);
  else if (arg)
    cdb_bind_i64(s, 2, *arg);
  while (!r && row) {
    r = cdb_step(s, what, &row);
    if (!r && row && row_fn(s, cb, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

static int site_supply_row(cdb_stmt *s, const site_cbs *cb, void *ctx)
{
  cstore_rp_supply p;

  rp_supply_from_row(s, 1, &p);
  return cb->supply(cdb_col_i64(s, 0), &p, ctx);
}

asr_result cstore_rp_site_supplies(cstore *st, int64_t site_id, cstore_rp_site_supply_cb cb,
                                   void *ctx)
{
  return site_walk(st, O_SITE_SUPPLIES, site_id, NULL, NULL, "listing a site's supplies",
                   site_supply_row, &(site_cbs){.supply = cb}, ctx);
}

static int site_delivery_row(cdb_stmt *s, const site_cbs *cb, void *ctx)
{
  return cb->delivery(cdb_col_i64(s, 2), (int32_t)cdb_col_i64(s, 3), cdb_col_i64(s, 0),
                      (int)cdb_col_i64(s, 1), ctx);
}

asr_result cstore_rp_site_deliveries(cstore *st, int64_t site_id, cstore_rp_site_delivery_cb cb,
                                     void *ctx)
{
  return site_walk(st, O_SITE_DELIVERIES, site_id, NULL, NULL, "reading a site's deliveries",
                   site_delivery_row, &(site_cbs){.delivery = cb}, ctx);
}

static int site_job_row(cdb_stmt *s, const site_cbs *cb, void *ctx)
{
  return cb->job(cdb_col_i64(s, 2), cdb_col_i64(s, 0), cdb_col_i64(s, 1), ctx);
}

asr_result cstore_rp_site_jobs(cstore *st, int64_t site_id, cstore_rp_site_job_cb cb, void *ctx)
{
  return site_walk(st, O_SITE_JOBS, site_id, NULL, NULL, "reading a site's job windows",
                   site_job_row, &(site_cbs){.job = cb}, ctx);
}

static int site_extra_row(cdb_stmt *s, const site_cbs *cb, void *ctx)
{
  cstore_rp_extra x = {.order = cdb_col_i64(s, 0),
                       .line = (int)cdb_col_i64(s, 1),
                       .quantity = (int)cdb_col_i64(s, 2),
                       .consumed = (int)cdb_col_i64(s, 3),
                       .job_from = cdb_col_i64(s, 4),
                       .job_to = cdb_col_i64(s, 5)};

  return cb->extra(cdb_col_i64(s, 6), (int32_t)cdb_col_i64(s, 7), &x, ctx);
}

asr_result cstore_rp_site_extras(cstore *st, int64_t site_id, int64_t since,
                                 cstore_rp_site_extra_cb cb, void *ctx)
{
  return site_walk(st, O_SITE_EXTRAS, site_id, NULL, &since, "reading a site's special orders",
                   site_extra_row, &(site_cbs){.extra = cb}, ctx);
}

static int site_event_row(cdb_stmt *s, const site_cbs *cb, void *ctx)
{
  return cb->day(cdb_col_i64(s, 0), cdb_col_i64(s, 1), ctx);
}

asr_result cstore_rp_site_event_last(cstore *st, int64_t site_id, const char *kind,
                                     cstore_rp_site_day_cb cb, void *ctx)
{
  return site_walk(st, O_SITE_EVENT_LAST, site_id, kind, NULL, "reading a site's events",
                   site_event_row, &(site_cbs){.day = cb}, ctx);
}

/* PostgreSQL: the updates in one statement (array parameters). */
static asr_result stock_updates_bulk(cstore *st, const cstore_rp_stock_row *u, size_t n)
{
  cdb_arr a[4];
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_STOCK_UPDATES, &s);

  memset(a, 0, sizeof(a));
  for (size_t i = 0; !r && i < n; i++) {
    cdb_arr_i64(&a[0], u[i].dev);
    cdb_arr_i64(&a[1], u[i].idx);
    cdb_arr_i64(&a[2], u[i].installed);
    cdb_arr_i64(&a[3], u[i].jumps_day);
  }
  if (!r)
    r = cdb_bind_arrs(s, 1, a, 4);
  if (!r)
    r = cdb_run(s, "updating the stock");
  for (int i = 0; i < 4; i++)
    cdb_arr_free(&a[i]);
  return r;
}

asr_result cstore_rp_stock_updates(cstore *st, const cstore_rp_stock_row *u, size_t n)
{
  asr_result r = ASR_OK;

  if (n > 1 && cdb_backend(st->db) == CDB_PG)
    return stock_updates_bulk(st, u, n);
  for (size_t i = 0; !r && i < n; i++)
    r = cstore_rp_stock_update(st, u[i].dev, u[i].idx, u[i].installed, u[i].jumps_day);
  return r;
}
