/* cmeters.c: asr-central's billing meters: the table (schema step 7), storing the reads of
 * a batch, and the period report (cmeters.h). The SQL of the feature lives here; the
 * handle, its statements and its errors are cstore.c's (cstore_int.h). On the neutral
 * statements (central/cdb.h): the SQL is what SQLite and PostgreSQL both run. */
#include "central/cmeters.h"

#include <string.h>

#include "central/cstore_int.h"

/* meter_reads: one per (device, meter name, t), as the agent read and checked it.
 *   unit, source   what the meter counts and where it came from (docs/meters.md)
 *   value          as read, never corrected
 *   flag, note     the agent's check (backwards, jump, reset) and its explanation, or NULL
 *   batch_id       the batch that brought it */
const char cmeters_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meter_reads ("
    " device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, t INTEGER NOT NULL, value INTEGER NOT NULL,"
    " unit TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '', flag TEXT, note TEXT,"
    " PRIMARY KEY (device_id, name, t)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS meter_reads_t ON meter_reads(t);";

enum { X_METER_ADD, X_SITE, X_PERIOD };

static const char *const x_sql[] = {
    [X_METER_ADD] = "INSERT INTO meter_reads (device_id, name, t, value, unit, source,"
                    " flag, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
    [X_SITE] = "SELECT id FROM sites WHERE name = ?1",
    /* per (device, meter): first and last read in [?2, ?3), the usage, the reads flagged
     * and the newest flag's note. The usage is the agent's (store/meters.c,
     * asr_meter_usage_add; docs/meters.md): a reset or a jump starts a new segment of
     * reads; an unflagged read bills what it rises above the highest read before it in its
     * segment, so the pages after a read that went backwards are not billed twice. */
    [X_PERIOD] =
        "WITH g AS (SELECT m.device_id, m.name, m.t, m.value, m.unit, m.source, m.flag, m.note,"
        "  sum(CASE WHEN m.flag IN ('reset', 'jump') THEN 1 ELSE 0 END)"
        "   OVER (PARTITION BY m.device_id, m.name ORDER BY m.t) AS seg"
        " FROM meter_reads m JOIN devices d ON d.id = m.device_id"
        " JOIN sites s ON s.id = d.site_id"
        " WHERE (CAST(?1 AS TEXT) IS NULL OR s.name = ?1) AND m.t >= ?2 AND m.t < ?3),"
        " r AS (SELECT g.*,"
        "  g.value - max(g.value) OVER (PARTITION BY g.device_id, g.name, g.seg ORDER BY g.t"
        "   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS rise,"
        "  row_number() OVER w AS first_n,"
        "  row_number() OVER (PARTITION BY g.device_id, g.name ORDER BY g.t DESC) AS last_n,"
        "  CASE WHEN g.flag IS NOT NULL THEN row_number() OVER (PARTITION BY g.device_id,"
        "   g.name, g.flag IS NOT NULL ORDER BY g.t DESC) END AS flag_n"
        " FROM g WINDOW w AS (PARTITION BY g.device_id, g.name ORDER BY g.t))"
        " SELECT s.name, d.key, coalesce(d.serial, ''), coalesce(d.model, ''), r.name,"
        "  max(CASE WHEN last_n = 1 THEN r.unit END), max(CASE WHEN last_n = 1 THEN r.source END),"
        "  max(CASE WHEN first_n = 1 THEN r.t END), max(CASE WHEN first_n = 1 THEN r.value END),"
        "  max(CASE WHEN last_n = 1 THEN r.t END), max(CASE WHEN last_n = 1 THEN r.value END),"
        "  coalesce(sum(CAST(CASE WHEN r.flag IS NULL AND rise > 0 THEN rise END"
        "   AS DOUBLE PRECISION)), 0), count(*),"
        "  count(r.flag), coalesce(max(CASE WHEN flag_n = 1 THEN r.flag END), ''),"
        "  coalesce(max(CASE WHEN flag_n = 1 THEN r.note END), '')"
        " FROM r JOIN devices d ON d.id = r.device_id JOIN sites s ON s.id = d.site_id"
        " GROUP BY r.device_id, r.name, s.name, d.key, d.serial, d.model"
        " ORDER BY s.name, d.key, r.name",
};

/* The cached statement id (its slot in CSTORE_SLOTS_X's range), ready to bind. */
static asr_result x_get(cstore *st, int id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_X + (size_t)id, x_sql[id], out);
}

asr_result cmeters_store(cstore *st, int64_t dev, const cstore_reading *rd)
{
  cdb_stmt *s = NULL;
  asr_result r = x_get(st, X_METER_ADD, &s);

  for (size_t i = 0; !r && i < rd->n_meters; i++) {
    const cstore_meter *m = &rd->meters[i];
    cdb_bind_i64(s, 1, dev);
    cdb_bind_text(s, 2, m->name);
    cdb_bind_i64(s, 3, rd->t);
    cdb_bind_i64(s, 4, m->value);
    cdb_bind_text(s, 5, m->unit ? m->unit : "");
    cdb_bind_text(s, 6, m->source ? m->source : "");
    cdb_bind_text(s, 7, m->flag);
    cdb_bind_text(s, 8, m->flag ? m->note : NULL);
    r = cdb_run(s, "storing a meter read");
  }
  return r;
}

static const char *col(cdb_stmt *s, int i)
{
  const char *v = cdb_col_text(s, i);

  return v ? v : "";
}

static void row_read(cdb_stmt *s, cmeters_row *m)
{
  double usage = cdb_col_double(s, 11); /* a sum of doubles: a hostile agent cannot overflow it */

  m->usage = usage >= 9.2e18 ? INT64_MAX : (int64_t)usage;
  m->site = col(s, 0);
  m->device = col(s, 1);
  m->serial = col(s, 2);
  m->model = col(s, 3);
  m->meter = col(s, 4);
  m->unit = col(s, 5);
  m->source = col(s, 6);
  m->start_t = cdb_col_i64(s, 7);
  m->start = cdb_col_i64(s, 8);
  m->end_t = cdb_col_i64(s, 9);
  m->end = cdb_col_i64(s, 10);
  m->reads = cdb_col_i64(s, 12);
  m->flagged = cdb_col_i64(s, 13);
  m->last_flag = col(s, 14);
  m->last_note = col(s, 15);
}

static asr_result site_exists(cstore *st, const char *site)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = x_get(st, X_SITE, &s);

  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  r = cdb_step(s, "looking up a site", &row);
  cdb_reset(s);
  if (!r && !row)
    r = cstore_x_not_found(st, "site", site);
  return r;
}

asr_result cmeters_period(cstore *st, const char *site, int64_t from, int64_t until, cmeters_cb cb,
                          void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = site ? site_exists(st, site) : ASR_OK;

  if (!r)
    r = x_get(st, X_PERIOD, &s);
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_i64(s, 2, from);
  cdb_bind_i64(s, 3, until);
  while (!r && row) {
    cmeters_row m;
    r = cdb_step(s, "reading the meters", &row);
    if (r || !row)
      break;
    row_read(s, &m);
    if (cb(&m, ctx))
      break;
  }
  if (!r)
    cdb_reset(s);
  return r;
}
