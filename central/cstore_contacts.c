/* cstore_contacts.c: a site's supplies contacts, each device's contact, and their history
 * (schema 5; cstore.h). The handle and its helpers are cstore.c's (cstore_int.h). */
#include "central/cstore.h"

#include <string.h>

#include "central/cstore_int.h"
#include "common/util.h"

typedef enum {
  O_CONTACT_ADD,
  O_CONTACT_DUP,
  O_CONTACTS,
  O_CONTACT_FIND,
  O_CONTACT_ROW,
  O_CONTACT_SET,
  O_HISTORY_ADD,
  O_HISTORY,
  O_DEVICE_ASSIGN,
  O_DEVICE_SITE,
  O_COUNT
} o_stmt_id;

static const char *const o_sql[O_COUNT] = {
    /* contacts (schema 5) */
    [O_CONTACT_ADD] = "INSERT INTO contacts (site_id, name, email, address, created_at, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
    [O_CONTACT_DUP] = "SELECT id FROM contacts WHERE site_id = ?1 AND email = ?2 AND id <> ?3",
    [O_CONTACTS] =
        "SELECT c.id, c.site_id, s.name, c.name, c.email, c.address, c.created_at, c.updated_at,"
        " (SELECT count(*) FROM devices d LEFT JOIN device_contacts dc ON dc.device_id = d.id"
        " WHERE d.site_id = c.site_id AND coalesce(dc.contact_id, (SELECT min(c2.id)"
        " FROM contacts c2 WHERE c2.site_id = c.site_id)) = c.id),"
        " c.id = (SELECT min(c2.id) FROM contacts c2 WHERE c2.site_id = c.site_id)"
        " FROM contacts c JOIN sites s ON s.id = c.site_id"
        " WHERE (CAST(?1 AS TEXT) IS NULL OR s.name = ?1) AND (?2 = 0 OR c.id = ?2) ORDER BY "
        "s.name, c.id",
    [O_CONTACT_FIND] =
        "SELECT c.id FROM contacts c JOIN sites s ON s.id = c.site_id"
        " WHERE s.name = ?1 AND (CAST(?2 AS TEXT) IS NULL OR c.email = ?2) ORDER BY c.id LIMIT 1",
    [O_CONTACT_ROW] = "SELECT name, email, address, site_id FROM contacts WHERE id = ?1",
    [O_CONTACT_SET] = "UPDATE contacts SET name = ?2, email = ?3, address = ?4, updated_at = ?5"
                      " WHERE id = ?1",
    [O_HISTORY_ADD] = "INSERT INTO contact_history (at, contact_id, device_id, what, old, new)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [O_HISTORY] = "SELECT at, contact_id, what, old, new FROM contact_history"
                  " WHERE contact_id = ?1 ORDER BY id",
    [O_DEVICE_ASSIGN] = "INSERT INTO device_contacts (device_id, contact_id, since)"
                        " VALUES (?1, ?2, ?3) ON CONFLICT (device_id) DO UPDATE"
                        " SET contact_id = excluded.contact_id, since = excluded.since",
    [O_DEVICE_SITE] = "SELECT d.site_id, coalesce(d.serial, d.key), (SELECT c.email FROM contacts c"
                      " WHERE c.id = coalesce(dc.contact_id, (SELECT min(c2.id) FROM contacts c2"
                      " WHERE c2.site_id = d.site_id))) FROM devices d"
                      " LEFT JOIN device_contacts dc ON dc.device_id = d.id WHERE d.id = ?1",
};

_Static_assert(CSTORE_SLOTS_CONTACTS + O_COUNT <= CSTORE_SLOTS_X,
               "give this file more statement slots (cstore_int.h)");

/* The cached statement id, prepared on first use, ready to bind. */
static asr_result o_get(cstore *st, o_stmt_id id, cdb_stmt **out)
{
  return cdb_prepare(st->db, CSTORE_SLOTS_CONTACTS + (size_t)id, o_sql[id], out);
}

/* Runs statement id with the integers v[0..n) bound to ?1..?n. */
static asr_result o_run_i64(cstore *st, o_stmt_id id, const char *what, const int64_t *v, size_t n)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, id, &s);

  for (size_t i = 0; !r && i < n; i++)
    cdb_bind_i64(s, (int)i + 1, v[i]);
  return r ? r : cdb_run(s, what);
}

/* Records one change of contact (device: 0 for none). */
static asr_result history_add(cstore *st, int64_t contact, int64_t device, const char *what,
                              const char *old, const char *now_value, int64_t now)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_HISTORY_ADD, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, now);
  cdb_bind_i64(s, 2, contact);
  cdb_bind_opt_i64(s, 3, device > 0 ? device : -1);
  cdb_bind_text(s, 4, what);
  cdb_bind_text(s, 5, old);
  cdb_bind_text(s, 6, now_value);
  return cdb_run(s, "recording a contact's history");
}

/* Whether another contact (not except) of site_id has e-mail email. */
static asr_result email_taken(cstore *st, int64_t site_id, const char *email, int64_t except,
                              bool *taken)
{
  cdb_stmt *s = NULL;
  asr_result r = o_get(st, O_CONTACT_DUP, &s);

  *taken = false;
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, email);
  cdb_bind_i64(s, 3, except);
  r = cdb_step(s, "looking up a contact", taken);
  cdb_reset(s);
  if (!r && *taken)
    asr_sql_set_err(&st->sql, "the site has a contact with the e-mail '%s' already", email);
  return r;
}

asr_result cstore_contact_add(cstore *st, int64_t site_id, const char *name, const char *email,
                              const char *address, int64_t now, int64_t *id)
{
  cdb_stmt *s = NULL;
  bool taken = false, row = false;
  asr_result r = email_taken(st, site_id, email, 0, &taken);

  *id = 0;
  if (!r && taken)
    return ASR_ERR_INVALID;
  if (!r)
    r = o_get(st, O_CONTACT_ADD, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, site_id);
  cdb_bind_text(s, 2, name ? name : "");
  cdb_bind_text(s, 3, email);
  cdb_bind_text(s, 4, address ? address : "");
  cdb_bind_i64(s, 5, now);
  r = cdb_step(s, "adding a contact", &row);
  *id = !r && row ? cdb_col_i64(s, 0) : 0;
  if (!r)
    r = cdb_run(s, "adding a contact");
  if (r)
    return r;
  return history_add(st, *id, 0, "created", NULL, email, now);
}

static void contact_from_row(cdb_stmt *s, cstore_contact *c)
{
  c->id = cdb_col_i64(s, 0);
  c->site_id = cdb_col_i64(s, 1);
  c->site = cdb_col_text(s, 2);
  c->name = cdb_col_text(s, 3);
  c->email = cdb_col_text(s, 4);
  c->address = cdb_col_text(s, 5);
  c->created_at = cdb_col_i64(s, 6);
  c->updated_at = cdb_col_i64(s, 7);
  c->devices = cdb_col_i64(s, 8);
  c->first = (int)cdb_col_i64(s, 9) != 0;
}

/* Calls cb for the contacts of site (NULL: all) or the one of id (0: all); *n counts them. */
static asr_result contacts_walk(cstore *st, const char *site, int64_t id, cstore_contact_cb cb,
                                void *ctx, size_t *n)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_CONTACTS, &s);

  *n = 0;
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_i64(s, 2, id);
  while (!r && row) {
    cstore_contact c;
    r = cdb_step(s, "listing contacts", &row);
    if (r || !row)
      break;
    contact_from_row(s, &c);
    (*n)++;
    if (cb(&c, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}

asr_result cstore_contact_foreach(cstore *st, const char *site, cstore_contact_cb cb, void *ctx)
{
  size_t n = 0;
  asr_result r = site ? cstore_site_exists(st, site) : ASR_OK;

  return r ? r : contacts_walk(st, site, 0, cb, ctx, &n);
}

asr_result cstore_contact_get(cstore *st, int64_t id, cstore_contact_cb cb, void *ctx)
{
  size_t n = 0;
  asr_result r = id > 0 ? contacts_walk(st, NULL, id, cb, ctx, &n) : ASR_OK;

  if (!r && n == 0) {
    asr_sql_set_err(&st->sql, "no contact %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

asr_result cstore_contact_find(cstore *st, const char *site, const char *email, int64_t *id)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_CONTACT_FIND, &s);

  *id = 0;
  if (r)
    return r;
  cdb_bind_text(s, 1, site);
  cdb_bind_text(s, 2, email);
  r = cdb_step(s, "looking up a contact", &row);
  if (!r && row)
    *id = cdb_col_i64(s, 0);
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "site '%s' has no contact%s%s", site, email ? " " : "",
                    email ? email : "");
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* A contact's current values (copies). */
typedef struct {
  char name[CSTORE_NAME_MAX], email[CSTORE_NAME_MAX], address[CSTORE_NAME_MAX];
  int64_t site_id;
} contact_values;

static asr_result contact_values_get(cstore *st, int64_t id, contact_values *v)
{
  cdb_stmt *s = NULL;
  bool row = false;
  asr_result r = o_get(st, O_CONTACT_ROW, &s);

  memset(v, 0, sizeof(*v));
  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  r = cdb_step(s, "looking up a contact", &row);
  if (!r && row) {
    asr_strlcpy_cut(v->name, cdb_col_text(s, 0) ? cdb_col_text(s, 0) : "", sizeof(v->name));
    asr_strlcpy_cut(v->email, cdb_col_text(s, 1) ? cdb_col_text(s, 1) : "", sizeof(v->email));
    asr_strlcpy_cut(v->address, cdb_col_text(s, 2) ? cdb_col_text(s, 2) : "", sizeof(v->address));
    v->site_id = cdb_col_i64(s, 3);
  }
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "no contact %lld", (long long)id);
    r = ASR_ERR_NOT_FOUND;
  }
  return r;
}

/* Records the change of one field (what) from old to new when they differ. */
static asr_result field_change(cstore *st, int64_t id, const char *what, const char *old,
                               const char *new_value, int64_t now)
{
  if (!new_value || strcmp(old, new_value) == 0)
    return ASR_OK;
  return history_add(st, id, 0, what, old, new_value, now);
}

asr_result cstore_contact_update(cstore *st, int64_t id, const char *name, const char *email,
                                 const char *address, int64_t now)
{
  contact_values v;
  cdb_stmt *s = NULL;
  bool taken = false;
  asr_result r = contact_values_get(st, id, &v);

  if (!r && email)
    r = email_taken(st, v.site_id, email, id, &taken);
  if (!r && taken)
    return ASR_ERR_INVALID;
  if (!r)
    r = field_change(st, id, "name", v.name, name, now);
  if (!r)
    r = field_change(st, id, "email", v.email, email, now);
  if (!r)
    r = field_change(st, id, "address", v.address, address, now);
  if (!r)
    r = o_get(st, O_CONTACT_SET, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  cdb_bind_text(s, 2, name ? name : v.name);
  cdb_bind_text(s, 3, email ? email : v.email);
  cdb_bind_text(s, 4, address ? address : v.address);
  cdb_bind_i64(s, 5, now);
  return cdb_run(s, "changing a contact");
}

asr_result cstore_device_assign(cstore *st, int64_t dev, int64_t contact, int64_t now)
{
  contact_values v;
  cdb_stmt *s = NULL;
  char serial[CSTORE_NAME_MAX] = "", before[CSTORE_NAME_MAX] = "";
  int64_t site = 0;
  bool row = false;
  asr_result r = contact_values_get(st, contact, &v);

  if (!r)
    r = o_get(st, O_DEVICE_SITE, &s);
  if (r)
    return r;
  cdb_bind_i64(s, 1, dev);
  r = cdb_step(s, "looking up a device", &row);
  if (!r && row) {
    site = cdb_col_i64(s, 0);
    asr_strlcpy_cut(serial, cdb_col_text(s, 1) ? cdb_col_text(s, 1) : "", sizeof(serial));
    asr_strlcpy_cut(before, cdb_col_text(s, 2) ? cdb_col_text(s, 2) : "", sizeof(before));
  }
  cdb_reset(s);
  if (!r && !row) {
    asr_sql_set_err(&st->sql, "no device %lld", (long long)dev);
    return ASR_ERR_NOT_FOUND;
  }
  if (!r && site != v.site_id) {
    asr_sql_set_err(&st->sql, "device %s and contact %s are not of the same site", serial, v.email);
    return ASR_ERR_INVALID;
  }
  const int64_t a[] = {dev, contact, now};
  if (!r)
    r = o_run_i64(st, O_DEVICE_ASSIGN, "assigning a device", a, 3);
  if (!r)
    r = history_add(st, contact, dev, "device", before[0] ? before : NULL, serial, now);
  return r;
}

asr_result cstore_contact_history(cstore *st, int64_t id, cstore_history_cb cb, void *ctx)
{
  cdb_stmt *s = NULL;
  bool row = true;
  asr_result r = o_get(st, O_HISTORY, &s);

  if (r)
    return r;
  cdb_bind_i64(s, 1, id);
  while (!r && row) {
    cstore_history h;
    r = cdb_step(s, "reading a contact's history", &row);
    if (r || !row)
      break;
    h.at = cdb_col_i64(s, 0);
    h.contact_id = cdb_col_i64(s, 1);
    h.what = cdb_col_text(s, 2);
    h.old = cdb_col_text(s, 3);
    h.now = cdb_col_text(s, 4);
    if (cb(&h, ctx))
      break;
  }
  cdb_reset(s);
  return r;
}
