/* cdb_pg_scan.c: the scans of the PostgreSQL backend (cdb_prepare_scan, cdb.h).
 *
 * Why: a run of a statement holds all its rows in one PGresult (cdb_pg.c), and the
 * engine's walks over the fleet (its sites, devices, orders: a million printers at a big
 * provider) would hold the whole fleet in memory. A scan runs instead as a cursor inside
 * the open transaction, DECLAREd with the statement's text and parameters and FETCHed
 * CDB_SCAN_FETCH rows at a time: one batch is in memory, and other statements still run
 * between two rows (single-row mode would block the connection until the last row).
 * A cursor lives in a transaction: outside one the scan is the plain statement. */
#include <stdlib.h>
#include <string.h>

#include "central/cdb_int.h"
#include "common/util.h"

#define DECLARE_HEAD "DECLARE c%s NO SCROLL CURSOR FOR "

/* Reads the next batch of the scan's cursor into s->res (rows from the first). */
static asr_result scan_fetch(cdb_stmt *s, const char *what)
{
  char sql[64];

  PQclear(s->res);
  s->res = NULL;
  s->row = -1;
  if (asr_fmt(sql, sizeof(sql), "FETCH %d FROM c%s", CDB_SCAN_FETCH, s->name))
    return ASR_ERR_LIMIT;
  s->res = PQexec(s->db->pg, sql);
  if (!s->res || PQresultStatus(s->res) != PGRES_TUPLES_OK)
    return cdb_pg_fail(s->db, s->res, what);
  s->more = PQntuples(s->res) == CDB_SCAN_FETCH;
  return ASR_OK;
}

/* Declares the scan's cursor over its SQL with the bound parameters, then fetches. */
static asr_result scan_open(cdb_stmt *s, const char *what)
{
  char *text = NULL, *sql = NULL;
  int np = 0;
  size_t n;
  PGresult *res = NULL;
  asr_result r = cdb_pg_rewrite(s->scan_sql, &text, &np);

  s->ran = true;
  s->changes = 0;
  if (r)
    return r; /* prepared from the same text: cannot fail here */
  n = strlen(DECLARE_HEAD) + strlen(s->name) + strlen(text) + 1;
  sql = malloc(n);
  if (!sql || asr_fmt(sql, n, DECLARE_HEAD "%s", s->name, text)) {
    r = sql ? ASR_ERR_LIMIT : ASR_ERR_NOMEM;
    goto done;
  }
  res = PQexecParams(s->db->pg, sql, s->nparams, NULL, s->val, s->len, s->fmt, 0);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    r = cdb_pg_fail(s->db, res, what);
    goto done;
  }
  s->cursor = true;
  r = scan_fetch(s, what);
done:
  PQclear(res);
  free(sql);
  free(text);
  return r;
}

asr_result cdb_pg_scan_step(cdb_stmt *s, const char *what, bool *row)
{
  asr_result r = ASR_OK;

  *row = false;
  if (!s->cursor && (s->ran || !cdb_pg_in_tx(s->db)))
    return cdb_pg_step(s, what, row); /* outside a transaction: the whole result */
  if (!s->ran)
    r = scan_open(s, what);
  if (!r && s->more && s->row + 1 >= PQntuples(s->res))
    r = scan_fetch(s, what);
  if (r) {
    cdb_pg_scan_close(s); /* the transaction failed: nothing to close on the server */
    cdb_pg_reset(s);
    return r;
  }
  if (s->row + 1 < PQntuples(s->res)) {
    s->row++;
    *row = true;
  }
  return ASR_OK;
}

void cdb_pg_scan_close(cdb_stmt *s)
{
  char sql[48];

  /* a failed transaction or a finished one (COMMIT closes cursors) has nothing to close;
   * a CLOSE error would only replace the message that counts */
  if (s->cursor && cdb_pg_in_tx(s->db) && !cdb_pg_tx_failed(s->db) &&
      !asr_fmt(sql, sizeof(sql), "CLOSE c%s", s->name))
    PQclear(PQexec(s->db->pg, sql));
  s->cursor = false;
  s->more = false;
}
