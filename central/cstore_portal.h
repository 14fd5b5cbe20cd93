/* cstore_portal.h: the supplies portal's store (central schema step 12; docs/portal.md):
 * staff accounts and their API tokens, customers' one-time sign-in links, sessions, the
 * sign-in throttle, customers' requests and the audit trail. And the customer's scope:
 * which sites, contacts and devices an e-mail address may see.
 *
 * Secrets are never stored: a staff password as its scrypt hash (wire/sign.h), a sign-in
 * link, a session id and an API token as the SHA-256 (hex) of the random value the client
 * holds. A customer is an e-mail address: the supplies contacts of every site with that
 * address (compared without case). */
#ifndef ASR_CSTORE_PORTAL_H
#define ASR_CSTORE_PORTAL_H

#include <stdbool.h>
#include <stdint.h>

#include "central/cstore.h"

/* The SQL of schema step 12 (central/cstore.c lists it among its steps). */
extern const char cportal_schema_sql[];

#define CPORTAL_HASH_LEN 64   /* hex SHA-256 of a link, session id or token */
#define CPORTAL_EMAIL_MAX 256 /* bytes of an e-mail address, NUL included */

/* ---- Staff ---------------------------------------------------------------------------- */

/* Adds staff account name with password hash pwhash; ASR_ERR_INVALID when it exists. */
asr_result cportal_staff_add(cstore *st, const char *name, const char *pwhash, int64_t now);

/* Sets the password hash of name; ASR_ERR_NOT_FOUND when there is no such account. */
asr_result cportal_staff_password(cstore *st, const char *name, const char *pwhash, int64_t now);

/* Loads account name's id and password hash (into pwhash, size n); ASR_ERR_NOT_FOUND. */
asr_result cportal_staff_get(cstore *st, const char *name, int64_t *id, char *pwhash, size_t n);

/* Removes account name with its sessions and token; ASR_ERR_NOT_FOUND when there is none. */
asr_result cportal_staff_remove(cstore *st, const char *name);

/* One staff account, for listing (strings valid while the callback runs). */
typedef struct {
  int64_t id;
  const char *name;
  int64_t created_at, changed_at;
  int64_t sessions;   /* sessions not expired */
  bool token;         /* it has an API token */
  int64_t token_used; /* when its token was last used, 0 = never */
} cportal_staff;

typedef int (*cportal_staff_cb)(const cportal_staff *s, void *ctx);

/* Calls cb for each account by name. */
asr_result cportal_staff_foreach(cstore *st, int64_t now, cportal_staff_cb cb, void *ctx);

/* Gives account staff_id the API token of hash (replacing its former one). */
asr_result cportal_token_set(cstore *st, int64_t staff_id, const char *hash, int64_t now);

/* Removes the API token of account name; ASR_ERR_NOT_FOUND when it has none. */
asr_result cportal_token_revoke(cstore *st, const char *name);

/* The account of the API token of hash (its name into name, size n); ASR_ERR_NOT_FOUND. */
asr_result cportal_token_staff(cstore *st, const char *hash, int64_t now, int64_t *staff_id,
                               char *name, size_t n);

/* ---- One-time sign-in links ----------------------------------------------------------- */

/* Stores the link of hash for email, valid until expires. */
asr_result cportal_link_add(cstore *st, const char *hash, const char *email, int64_t now,
                            int64_t expires);

/* Why a link does not sign in. */
typedef enum {
  CPORTAL_LINK_OK = 0,
  CPORTAL_LINK_UNKNOWN,
  CPORTAL_LINK_USED,
  CPORTAL_LINK_EXPIRED
} cportal_link_state;

/* Uses the link of hash at now, once: *state OK and email (size n) set for exactly one
 * caller, however many try at once; else why not. */
asr_result cportal_link_use(cstore *st, const char *hash, int64_t now, cportal_link_state *state,
                            char *email, size_t n);

/* ---- Sessions ------------------------------------------------------------------------- */

/* A session: a staff member's (staff_id > 0, who = the name) or a customer's (who = the
 * e-mail address). */
typedef struct {
  int64_t staff_id;
  char who[CPORTAL_EMAIL_MAX];
  char csrf[CPORTAL_HASH_LEN + 1]; /* the token its forms carry */
  int64_t created_at, seen_at, expires_at;
} cportal_session;

/* Stores a new session of hash. */
asr_result cportal_session_add(cstore *st, const char *hash, const cportal_session *s);

/* Why a session is not valid. */
typedef enum {
  CPORTAL_SESSION_OK = 0,
  CPORTAL_SESSION_UNKNOWN,
  CPORTAL_SESSION_IDLE,
  CPORTAL_SESSION_EXPIRED
} cportal_session_state;

/* Loads the session of hash valid at now (idle: seconds without a request that end it), and
 * records the request (at most once a minute); an ended session is deleted. */
asr_result cportal_session_get(cstore *st, const char *hash, int64_t now, int64_t idle,
                               cportal_session *out, cportal_session_state *state);

/* Ends the session of hash (nothing when there is none). */
asr_result cportal_session_end(cstore *st, const char *hash);

/* Deletes what has ended by now: sessions, links, throttle windows (older than a day),
 * audit rows older than keep_days. */
asr_result cportal_prune(cstore *st, int64_t now, int64_t idle, int keep_days);

/* ---- Throttle ------------------------------------------------------------------------- */

/* Counts one attempt under key (e.g. "ip:127.0.0.1", "email:x@y") in a window of window
 * seconds starting at its first attempt: *allowed false past max attempts. */
asr_result cportal_throttle(cstore *st, const char *key, int64_t now, int64_t window, int max,
                            bool *allowed);

/* ---- Audit ---------------------------------------------------------------------------- */

/* One row of the audit trail: who (a staff name, a customer's e-mail, "-" for nobody),
 * from where, did what to what, and whether it was allowed ("ok") or denied. */
typedef struct {
  int64_t id, at;
  const char *actor, *ip, *action, *target, *outcome, *detail;
} cportal_audit_row;

/* Appends a row (strings are cut to 255 bytes; NULL is ""). */
asr_result cportal_audit(cstore *st, const cportal_audit_row *a);

typedef int (*cportal_audit_cb)(const cportal_audit_row *a, void *ctx);

/* Calls cb for the newest limit rows, newest first (actor: only that actor's when not NULL). */
asr_result cportal_audit_foreach(cstore *st, const char *actor, int64_t limit, cportal_audit_cb cb,
                                 void *ctx);

/* ---- A customer's scope --------------------------------------------------------------- */

/* The supplies contact of email at site (name). */
typedef struct {
  int64_t id, site_id;
  char name[CSTORE_NAME_MAX], email[CSTORE_NAME_MAX], address[CSTORE_NAME_MAX];
} cportal_contact;

/* Whether email is a supplies contact of any site (*site_id: the first such site). */
asr_result cportal_email_known(cstore *st, const char *email, bool *known, int64_t *site_id);

typedef int (*cportal_name_cb)(const char *site, void *ctx);

/* Calls cb with the name of each site where email is a supplies contact, by name. */
asr_result cportal_customer_sites(cstore *st, const char *email, cportal_name_cb cb, void *ctx);

/* The contact of email at site; ASR_ERR_NOT_FOUND when email is not one there (or there
 * is no such site: the two are not told apart). */
asr_result cportal_customer_contact(cstore *st, const char *email, const char *site,
                                    cportal_contact *out);

/* The device of site with serial (or key) whose supplies contact is email (assigned, or
 * the site's first by default): its id and its contact's id. ASR_ERR_NOT_FOUND otherwise. */
asr_result cportal_customer_device(cstore *st, const char *email, const char *site,
                                   const char *serial, int64_t *dev, int64_t *contact);

/* ---- Requests ------------------------------------------------------------------------- */

/* A customer's request: extra toner ("toner": device, supply, quantity, job window) or a
 * change of delivery address or contact ("contact": the new values, NULL = unchanged). */
typedef struct {
  int64_t id;
  const char *kind, *email, *state; /* state: pending, approved, refused */
  int64_t site_id, contact_id, device_id;
  const char *site, *serial, *supply; /* read back: names for showing it */
  int32_t supply_idx;
  int quantity;
  int64_t job_from, job_to; /* days */
  const char *new_name, *new_email, *new_address;
  const char *note, *answer, *decided_by;
  int64_t created_at, decided_at, order_id;
} cportal_request;

/* Stores a new pending request (r->id ignored) and sets *id. */
asr_result cportal_request_add(cstore *st, const cportal_request *r, int64_t now, int64_t *id);

typedef int (*cportal_request_cb)(const cportal_request *r, void *ctx);

/* Inside a transaction: the customer email's requests are this transaction's until its
 * end, so counting them and adding one is not raced by another node (PostgreSQL: an
 * advisory lock on the address; SQLite's write lock serializes already). */
asr_result cportal_request_lock(cstore *st, const char *email);

/* Calls cb for each request (of email only when not NULL), pending first, then newest. */
asr_result cportal_request_foreach(cstore *st, const char *email, int64_t limit,
                                   cportal_request_cb cb, void *ctx);

/* Calls cb once with request id; ASR_ERR_NOT_FOUND when there is none. */
asr_result cportal_request_get(cstore *st, int64_t id, cportal_request_cb cb, void *ctx);

/* Decides pending request id ("approved" or "refused") by staff member by, with answer
 * (NULL: none) and the order it became (0: none). ASR_ERR_INVALID when it is not pending. */
asr_result cportal_request_decide(cstore *st, int64_t id, const char *state, const char *by,
                                  const char *answer, int64_t order_id, int64_t now);

/* Counts the pending requests (for the staff's pages); -1 on error. */
int64_t cportal_request_pending(cstore *st);

#endif
