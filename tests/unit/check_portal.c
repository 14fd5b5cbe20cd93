/* check_portal.c: the supplies portal (issue 14): password hashes, one-time links, session
 * ends, the throttle, form and cookie parsing, and, through portal_handle on a real SQLite
 * store, who sees what: a customer only its site and its devices (whatever the URL), the
 * staff everything; CSRF; a request approved into a special order; the staff's actions
 * (warehouse steps, special orders, agent revocation) and every customer's attempt at them
 * refused; the same work for a known and an unknown address asking for a link. */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdb.h"
#include "central/cstore.h"
#include "central/cstore_portal.h"
#include "central/portal.h"
#include "common/clock.h"
#include "common/util.h"
#include "wire/sign.h"

#define DAY INT64_C(20500) /* 2026-02-16 */
#define NOW (DAY * 86400 + 12 * 3600)
#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

START_TEST(test_password)
{
  char h1[ASR_PWHASH_MAX], h2[ASR_PWHASH_MAX];

  ck_assert_int_eq(asr_sign_password_hash("correct horse", 13, h1, sizeof(h1)), ASR_OK);
  ck_assert_int_eq(asr_sign_password_hash("correct horse", 13, h2, sizeof(h2)), ASR_OK);
  ck_assert_str_ne(h1, h2); /* salted */
  ck_assert_ptr_nonnull(strstr(h1, "scrypt$15$8$1$"));
  ck_assert_ptr_null(strstr(h1, "correct"));
  ck_assert_int_eq(asr_sign_password_verify("correct horse", 13, h1), ASR_OK);
  ck_assert_int_eq(asr_sign_password_verify("correct horsf", 13, h1), ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_password_verify("correct hors", 12, h1), ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_password_verify("correct horse", 13, NULL), ASR_ERR_AUTH);
  ck_assert_int_eq(asr_sign_password_verify("x", 1, "scrypt$30$8$1$00$00"), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_sign_password_verify("x", 1, "plain"), ASR_ERR_INVALID);
  h1[strlen(h1) - 1] ^= 1; /* a damaged hash never matches */
  ck_assert_int_ne(asr_sign_password_verify("correct horse", 13, h1), ASR_OK);
}
END_TEST

START_TEST(test_form_and_cookie)
{
  const char *f = "a=1&b=x+y%21&c=%00&d=%1b&e&f=%zz&g=%C3%A9&h=%C3";
  char v[8];

  ck_assert_int_eq(portal_form_get(f, strlen(f), "a", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "1");
  ck_assert_int_eq(portal_form_get(f, strlen(f), "b", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "x y!");
  ck_assert_int_eq(portal_form_get(f, strlen(f), "c", v, sizeof(v)), ASR_ERR_INVALID);
  ck_assert_int_eq(portal_form_get(f, strlen(f), "d", v, sizeof(v)), ASR_ERR_INVALID);
  ck_assert_int_eq(portal_form_get(f, strlen(f), "e", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "");
  ck_assert_int_eq(portal_form_get(f, strlen(f), "f", v, sizeof(v)), ASR_ERR_INVALID);
  ck_assert_int_eq(portal_form_get(f, strlen(f), "g", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "\xc3\xa9");
  ck_assert_int_eq(portal_form_get(f, strlen(f), "h", v, sizeof(v)), ASR_ERR_INVALID);
  ck_assert_int_eq(portal_form_get(f, strlen(f), "z", v, sizeof(v)), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(portal_form_get("a=123456789", 11, "a", v, sizeof(v)), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(v, ""); /* never a part of a value */
  ck_assert_int_eq(portal_form_get("a=1%", 4, "a", v, sizeof(v)), ASR_ERR_INVALID);
  ck_assert_int_eq(portal_form_get("xa=1&a=2", 8, "a", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "2");
  ck_assert_int_eq(portal_cookie_get("x=1; s=abc;t=2", "s", v, sizeof(v)), ASR_OK);
  ck_assert_str_eq(v, "abc");
  ck_assert_int_eq(portal_cookie_get("xs=1", "s", v, sizeof(v)), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(portal_cookie_get(NULL, "s", v, sizeof(v)), ASR_ERR_NOT_FOUND);
}
END_TEST

/* ---- a store ---------------------------------------------------------------------------- */

static char dir[64], db_path[128];
static cstore *st;

static void store_setup(void)
{
  char err[256];

  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_portal.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  testdb_name(dir, "central.db", db_path, sizeof(db_path));
  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  asr_clock_simulate(NOW, 1);
}

static void store_teardown(void)
{
  char p[160];
  const char *sfx[] = {"", "-wal", "-shm"};

  cstore_close(st);
  st = NULL;
  asr_clock_real();
  for (size_t i = 0; i < 3; i++)
    if (asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]) == ASR_OK)
      unlink(p);
  rmdir(dir);
}

START_TEST(test_link_once)
{
  char email[256];
  cportal_link_state s;

  ck_assert_int_eq(cportal_link_add(st, HASH_A, "ops@east.example", NOW, NOW + 900), ASR_OK);
  ck_assert_int_eq(cportal_link_add(st, HASH_B, "ops@east.example", NOW, NOW + 900), ASR_OK);
  ck_assert_int_eq(cportal_link_use(st, HASH_A, NOW + 10, &s, email, sizeof(email)), ASR_OK);
  ck_assert_int_eq(s, CPORTAL_LINK_OK);
  ck_assert_str_eq(email, "ops@east.example");
  ck_assert_int_eq(cportal_link_use(st, HASH_A, NOW + 11, &s, email, sizeof(email)), ASR_OK);
  ck_assert_int_eq(s, CPORTAL_LINK_USED); /* once */
  ck_assert_str_eq(email, "");
  ck_assert_int_eq(cportal_link_use(st, HASH_B, NOW + 900, &s, email, sizeof(email)), ASR_OK);
  ck_assert_int_eq(s, CPORTAL_LINK_EXPIRED);
  ck_assert_int_eq(cportal_link_use(st, "cc", NOW, &s, email, sizeof(email)), ASR_OK);
  ck_assert_int_eq(s, CPORTAL_LINK_UNKNOWN);
}
END_TEST

START_TEST(test_session_ends)
{
  cportal_session s = {.staff_id = 0,
                       .who = "ops@east.example",
                       .csrf = HASH_B,
                       .created_at = NOW,
                       .seen_at = NOW,
                       .expires_at = NOW + 3600},
                  out;
  cportal_session_state state;
  int64_t t = NOW;

  ck_assert_int_eq(cportal_session_add(st, HASH_A, &s), ASR_OK);
  /* used every 20 minutes: alive (idle 30 min) until the absolute end */
  for (t = NOW + 1200; t < NOW + 3600; t += 1200) {
    ck_assert_int_eq(cportal_session_get(st, HASH_A, t, 1800, &out, &state), ASR_OK);
    ck_assert_int_eq(state, CPORTAL_SESSION_OK);
    ck_assert_str_eq(out.who, "ops@east.example");
    ck_assert_str_eq(out.csrf, HASH_B);
  }
  ck_assert_int_eq(cportal_session_get(st, HASH_A, NOW + 3600, 1800, &out, &state), ASR_OK);
  ck_assert_int_eq(state, CPORTAL_SESSION_EXPIRED);
  ck_assert_int_eq(cportal_session_get(st, HASH_A, NOW + 3601, 1800, &out, &state), ASR_OK);
  ck_assert_int_eq(state, CPORTAL_SESSION_UNKNOWN); /* deleted when it ended */
  /* idle: 30 minutes without a request */
  ck_assert_int_eq(cportal_session_add(st, HASH_B, &s), ASR_OK);
  ck_assert_int_eq(cportal_session_get(st, HASH_B, NOW + 1800, 1800, &out, &state), ASR_OK);
  ck_assert_int_eq(state, CPORTAL_SESSION_IDLE);
  ck_assert_int_eq(cportal_session_get(st, HASH_B, NOW + 1801, 1800, &out, &state), ASR_OK);
  ck_assert_int_eq(state, CPORTAL_SESSION_UNKNOWN);
}
END_TEST

START_TEST(test_throttle)
{
  bool ok = false;

  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(cportal_throttle(st, "address:x@y", NOW + i, 900, 5, &ok), ASR_OK);
    ck_assert(ok);
  }
  ck_assert_int_eq(cportal_throttle(st, "address:x@y", NOW + 10, 900, 5, &ok), ASR_OK);
  ck_assert(!ok);
  ck_assert_int_eq(cportal_throttle(st, "address:z@y", NOW + 10, 900, 5, &ok), ASR_OK);
  ck_assert(ok); /* per key */
  ck_assert_int_eq(cportal_throttle(st, "address:x@y", NOW + 900, 900, 5, &ok), ASR_OK);
  ck_assert(ok); /* a new window */
}
END_TEST

/* ---- who sees what, through portal_handle ----------------------------------------------- */

/* Site east: devices P1 and P2 reporting 40 days; P2 assigned to lab@east.example; site
 * west: its contact ops@west.example, no device. */
static void fill(void)
{
  static cstore_supply_meta meta[1] = {
      {.index = 1, .description = "Black Toner", .type = "toner", .colorant = "black"}};
  static cstore_dev devs[2];
  static cstore_level lv[80];
  static cstore_reading rd[80];
  char token[64], site[64];
  cstore_agent ag;
  cstore_applied res;
  cstore_batch b = {.batch_id = "b-1", .agent_version = "t", .created_at = NOW};
  int64_t east = 0, lab = 0, p2 = 0, sid = 0;

  ck_assert_int_eq(cstore_site_add(st, "west", "ops@west.example", "", NOW, token, sizeof(token)),
                   ASR_OK);
  ck_assert_int_eq(
      cstore_site_add(st, "east", "ops@east.example", "1 East Road", NOW, token, sizeof(token)),
      ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "h", "t", NOW, &ag, site, sizeof(site)), ASR_OK);
  b.agent_id = ag.id;
  devs[0] = (cstore_dev){.key = "serial:P1",
                         .serial = "P1",
                         .model = "M1",
                         .state_since = -1,
                         .last_good_poll = -1,
                         .failed_polls = -1,
                         .n_supplies = 1,
                         .supplies = meta};
  devs[1] = devs[0];
  devs[1].key = "serial:P2";
  devs[1].serial = "P2";
  for (int i = 0; i < 80; i++) {
    lv[i] = (cstore_level){1, true, true, true, 100 - i / 2, 100, 100 - i / 2};
    rd[i] = (cstore_reading){.device = (size_t)(i % 2),
                             .t = (DAY - 39 + i / 2) * 86400 + 3600,
                             .n_levels = 1,
                             .levels = &lv[i]};
  }
  b.n_devices = 2;
  b.devices = devs;
  b.n_readings = 80;
  b.readings = rd;
  ck_assert_int_eq(cstore_apply(st, &ag, &b, NOW, &res), ASR_OK);
  ck_assert_int_eq(cstore_site_id(st, "east", &east), ASR_OK);
  ck_assert_int_eq(cstore_contact_add(st, east, "Lab", "lab@east.example", "Lab 2", NOW, &lab),
                   ASR_OK);
  ck_assert_int_eq(cstore_device_find(st, "east", "P2", &p2, &sid), ASR_OK);
  ck_assert_int_eq(cstore_device_assign(st, p2, lab, NOW), ASR_OK);
  ck_assert_int_eq(cportal_staff_add(st, "alice", "scrypt$15$8$1$00$00", NOW), ASR_OK);
}

/* A session for who (staff_id > 0: a staff member) with cookie value sid (hex). */
static void session(const char *sid, int64_t staff_id, const char *who)
{
  char hash[65];
  cportal_session s = {.staff_id = staff_id,
                       .csrf = HASH_B,
                       .created_at = NOW,
                       .seen_at = NOW,
                       .expires_at = NOW + 3600};

  ck_assert_int_eq(asr_strlcpy(s.who, who, sizeof(s.who)), ASR_OK);
  ck_assert_int_eq(asr_sign_sha256_hex(sid, strlen(sid), hash, sizeof(hash)), ASR_OK);
  ck_assert_int_eq(cportal_session_add(st, hash, &s), ASR_OK);
}

static portal_conf conf;

/* Sends one request with the session of cookie sid (NULL: none); the answer in *a. */
static void ask(const char *method, const char *path, const char *query, const char *sid,
                const char *body, portal_resp *a)
{
  char cookie[128];
  portal_req q = {.method = method,
                  .path = path,
                  .query = query ? query : "",
                  .cookie = NULL,
                  .client = "192.0.2.99",
                  .host = "portal.test",
                  .origin = body ? "https://portal.test" : NULL,
                  .content_type = "application/x-www-form-urlencoded",
                  .body = body,
                  .body_len = body ? strlen(body) : 0};

  if (sid) {
    ck_assert_int_eq(asr_fmt(cookie, sizeof(cookie), "__Host-asr_session=%s", sid), ASR_OK);
    q.cookie = cookie;
  }
  portal_resp_free(a);
  portal_handle(&conf, st, &q, a);
  ck_assert_ptr_nonnull(a->body);
}

#define OPS HASH_A
#define LAB "1111111111111111111111111111111111111111111111111111111111111111"
#define WEST "2222222222222222222222222222222222222222222222222222222222222222"
#define STAFF "3333333333333333333333333333333333333333333333333333333333333333"

static int history_rows(const cstore_history *h, void *ctx)
{
  if (strcmp(h->what, "address") == 0 && h->now && strcmp(h->now, "Lab 7, 2nd floor") == 0)
    (*(int *)ctx)++;
  return 0;
}

static int contact_address(const cstore_contact *c, void *ctx)
{
  if (asr_strlcpy(ctx, c->address ? c->address : "", 64) != ASR_OK)
    ((char *)ctx)[0] = '\0';
  return 1;
}

static int count_orders(const cstore_order_row *o, void *ctx)
{
  (void)o;
  (*(int *)ctx)++;
  return 0;
}

START_TEST(test_scope)
{
  portal_resp a = {0};
  int64_t alice = 0;
  char h[8];

  fill();
  portal_conf_init(&conf);
  conf.base_url = "https://portal.test";
  ck_assert_int_eq(cportal_staff_get(st, "alice", &alice, h, sizeof(h)), ASR_OK);
  session(OPS, 0, "ops@east.example");
  session(LAB, 0, "lab@east.example");
  session(WEST, 0, "ops@west.example");
  session(STAFF, alice, "alice");
  /* nobody: the sign-in page only */
  ask("GET", "/sites/east", NULL, NULL, NULL, &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_str_eq(a.location, "/signin");
  ask("GET", "/api/sites/east", NULL, NULL, NULL, &a);
  ck_assert_int_eq(a.status, 401);
  ask("GET", "/signin", NULL, NULL, NULL, &a);
  ck_assert_int_eq(a.status, 200);
  ask("GET", "/sites/east", NULL,
      "4444444444444444444444444444444444444444444444444444444444444444", NULL, &a);
  ck_assert_int_eq(a.status, 303); /* an unknown session */
  /* a customer: its site, its devices */
  ask("GET", "/sites/east", NULL, OPS, NULL, &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_ptr_nonnull(strstr(a.body, "data-serial=\"P1\""));
  ck_assert_ptr_null(strstr(a.body, "P2"));
  ck_assert_ptr_null(strstr(a.body, "lab@east.example"));
  ask("GET", "/sites/east", NULL, LAB, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "data-serial=\"P2\""));
  ck_assert_ptr_null(strstr(a.body, "P1"));
  ck_assert_ptr_null(strstr(a.body, "ops@east.example"));
  /* ... and nobody else's, by name, escape or API */
  ask("GET", "/sites/east", NULL, WEST, NULL, &a);
  ck_assert_int_eq(a.status, 404);
  ask("GET", "/sites/%65ast", NULL, WEST, NULL, &a);
  ck_assert_int_eq(a.status, 404);
  ask("GET", "/api/sites/east", NULL, WEST, NULL, &a);
  ck_assert_int_eq(a.status, 404);
  ask("GET", "/api/sites", NULL, WEST, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "\"west\""));
  ck_assert_ptr_null(strstr(a.body, "east"));
  ask("GET", "/sites/nosuch", NULL, WEST, NULL, &a);
  ck_assert_int_eq(a.status, 404); /* the same answer as another's site */
  ask("GET", "/audit", NULL, OPS, NULL, &a);
  ck_assert_int_eq(a.status, 403);
  /* the staff: everything */
  ask("GET", "/api/sites", NULL, STAFF, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "\"east\""));
  ck_assert_ptr_nonnull(strstr(a.body, "\"west\""));
  ask("GET", "/sites/east", NULL, STAFF, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "P1"));
  ck_assert_ptr_nonnull(strstr(a.body, "P2"));
  /* requests: another's device, a missing CSRF token, then one that goes through */
  ask("POST", "/requests/toner", NULL, WEST,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=2&from=2026-02-20&to=2026-02-22", &a);
  ck_assert_int_eq(a.status, 404);
  ask("POST", "/requests/toner", NULL, OPS,
      "site=east&device=P1&supply=1&quantity=2&from=2026-02-20&to=2026-02-22", &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", "/requests/toner", NULL, OPS,
      "csrf=" HASH_B "&site=east&device=P2&supply=1&quantity=2&from=2026-02-20&to=2026-02-22", &a);
  ck_assert_int_eq(a.status, 404); /* lab's device */
  ask("POST", "/requests/toner", NULL, OPS,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=2&from=2026-02-10&to=2026-02-22", &a);
  ck_assert_int_eq(a.status, 400); /* a job in the past */
  ask("POST", "/requests/toner", NULL, OPS,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=2&from=2026-02-20&to=2026-02-22"
      "&note=big+mailing",
      &a);
  ck_assert_int_eq(a.status, 303);
  ask("GET", "/api/requests", NULL, LAB, NULL, &a);
  ck_assert_ptr_null(strstr(a.body, "big mailing")); /* not lab's */
  ask("POST", "/requests/1/approve", NULL, OPS, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 403); /* customers do not approve */
  int orders = 0;
  ck_assert_int_eq(cstore_order_foreach(st, NULL, false, count_orders, &orders), ASR_OK);
  ck_assert_int_eq(orders, 0); /* nothing ordered by a request alone */
  ask("POST", "/requests/1/approve", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_int_eq(cstore_order_foreach(st, NULL, false, count_orders, &orders), ASR_OK);
  ck_assert_int_eq(orders, 1); /* the special order */
  ask("POST", "/requests/1/approve", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 409); /* decided once */
  ask("GET", "/api/requests", NULL, OPS, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "\"approved\""));
  ck_assert_int_ge(cstore_outbox_count(st, "pending"), 3); /* received, order, approved */
  /* a change of contact: nothing changes until the staff approve, then with its history */
  int64_t lab = 0;
  char addr[64];
  ck_assert_int_eq(cstore_contact_find(st, "east", "lab@east.example", &lab), ASR_OK);
  ask("POST", "/requests/contact", NULL, LAB,
      "csrf=" HASH_B "&site=east&name=Lab&email=lab%40east.example&address=Lab+7%2C+2nd+floor", &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_int_eq(cstore_contact_get(st, lab, contact_address, addr), ASR_OK);
  ck_assert_str_eq(addr, "Lab 2");
  ask("POST", "/requests/contact", NULL, WEST, "csrf=" HASH_B "&site=east&address=x", &a);
  ck_assert_int_eq(a.status, 404); /* not west's contact record */
  ask("POST", "/requests/2/refuse", NULL, LAB, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", "/requests/2/approve", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_int_eq(cstore_contact_get(st, lab, contact_address, addr), ASR_OK);
  ck_assert_str_eq(addr, "Lab 7, 2nd floor");
  int changed = 0;
  ck_assert_int_eq(cstore_contact_history(st, lab, history_rows, &changed), ASR_OK);
  ck_assert_int_eq(changed, 1);
  portal_resp_free(&a);
}
END_TEST

/* Rows of the tables a sign-in touches, read by a connection of its own (either backend:
 * tests/unit/testdb.h). */
static void table_counts(int64_t out[5])
{
  static const char *const q[] = {
      "SELECT count(*) FROM portal_links", "SELECT count(*) FROM outbox",
      "SELECT count(*) FROM portal_audit", "SELECT count(*) FROM portal_throttle",
      "SELECT count(*) FROM portal_sessions"};

  for (size_t i = 0; i < 5; i++)
    out[i] = testdb_i64(db_path, q[i]);
}

/* Asks for a sign-in link for address from client (with a valid pre-session token); *a the
 * answer. */
static void ask_link(const char *address, const char *client, portal_resp *a)
{
  char body[512];
  portal_req q = {.method = "POST",
                  .path = "/signin/email",
                  .query = "",
                  .cookie = "__Host-asr_pre=" HASH_A,
                  .client = client,
                  .host = "portal.test",
                  .origin = "https://portal.test",
                  .content_type = "application/x-www-form-urlencoded",
                  .body = body};

  ck_assert_int_eq(asr_fmt(body, sizeof(body), "csrf=" HASH_A "&email=%s", address), ASR_OK);
  q.body_len = strlen(body);
  portal_resp_free(a);
  portal_handle(&conf, st, &q, a);
  ck_assert_ptr_nonnull(a->body);
}

/* The body without its random tokens (value="HEX"). */
static void strip_tokens(char *s)
{
  for (char *p = strstr(s, "value=\""); p; p = strstr(p + 1, "value=\""))
    for (char *h = p + 7; (*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f'); h++)
      *h = 'x';
}

static int audit_has(const cportal_audit_row *r, void *ctx)
{
  const char **want = ctx; /* action, outcome, detail part */

  if (strcmp(r->action, want[0]) == 0 && strcmp(r->outcome, want[1]) == 0 &&
      strstr(r->detail, want[2]))
    want[3] = "found";
  return 0;
}

static bool audited(const char *actor, const char *action, const char *outcome, const char *detail)
{
  const char *want[4] = {action, outcome, detail, NULL};

  ck_assert_int_eq(cportal_audit_foreach(st, actor, 1000, audit_has, want), ASR_OK);
  return want[3] != NULL;
}

/* A known and an unknown address: the same answer after the same store writes; the lookup,
 * the link and its mail come after the answer (portal_resp.after). */
START_TEST(test_signin_same_work)
{
  portal_resp known = {0}, unknown = {0};
  int64_t c0[5], c1[5], c2[5], c3[5];

  fill();
  portal_conf_init(&conf);
  conf.base_url = "https://portal.test";
  table_counts(c0);
  ask_link("ops@east.example", "192.0.2.7", &known);
  table_counts(c1);
  ask_link("nobody@nowhere.example", "192.0.2.8", &unknown);
  table_counts(c2);
  ck_assert_int_eq(known.status, 200);
  ck_assert_int_eq(unknown.status, known.status);
  strip_tokens(known.body);
  strip_tokens(unknown.body);
  ck_assert_str_eq(known.body, unknown.body);
  ck_assert_ptr_nonnull(known.after);
  ck_assert_ptr_nonnull(unknown.after);
  for (size_t i = 0; i < 5; i++) /* the same rows written by each */
    ck_assert_int_eq(c2[i] - c1[i], c1[i] - c0[i]);
  ck_assert_int_eq(c1[0] - c0[0], 0); /* no link, no mail yet */
  ck_assert_int_eq(c1[1] - c0[1], 0);
  /* after the answers: the known address gets its link and mail, the unknown nothing */
  portal_after_run(&conf, st, known.after);
  known.after = NULL;
  table_counts(c3);
  ck_assert_int_eq(c3[0] - c2[0], 1);
  ck_assert_int_eq(c3[1] - c2[1], 1);
  portal_after_run(&conf, st, unknown.after);
  unknown.after = NULL;
  table_counts(c2);
  ck_assert_int_eq(c2[0], c3[0]);
  ck_assert_int_eq(c2[1], c3[1]);
  ck_assert(audited("-", "sign-in link", "ok", "link mailed"));
  ck_assert(audited("-", "sign-in link", "denied", "unknown address"));
  portal_after_run(&conf, NULL, NULL); /* nothing to do: fine */
  portal_resp_free(&known);
  portal_resp_free(&unknown);
}
END_TEST

static int first_agent(const cstore_agent_row *r, void *ctx)
{
  ck_assert_int_eq(asr_strlcpy(ctx, r->id, 64), ASR_OK);
  return 1;
}

/* The staff's actions through the CLI's functions; every customer's attempt refused (403,
 * audited); the customer sees each step on its site page. */
START_TEST(test_staff_actions)
{
  portal_resp a = {0};
  int64_t alice = 0;
  char h[8], agent[64] = "", path[128];
  cstore_agent ag;
  int orders = 0;

  fill();
  portal_conf_init(&conf);
  conf.base_url = "https://portal.test";
  ck_assert_int_eq(cportal_staff_get(st, "alice", &alice, h, sizeof(h)), ASR_OK);
  session(OPS, 0, "ops@east.example");
  session(WEST, 0, "ops@west.example");
  session(STAFF, alice, "alice");
  ck_assert_int_eq(cstore_agent_foreach(st, "east", first_agent, agent), ASR_OK);
  ck_assert_str_ne(agent, "");
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "/agents/%s/revoke", agent), ASR_OK);
  /* a customer, by URL, by a forged form with its own CSRF token, by the API: 403 */
  static const char *const gets[] = {"/orders",     "/api/orders",   "/agents",
                                     "/api/agents", "/orders/extra", "/orders/1/ship"};
  for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
    ask("GET", gets[i], "site=east&device=P1", OPS, NULL, &a);
    ck_assert_int_eq(a.status, 403);
    ck_assert_ptr_null(strstr(a.body, "P1"));
  }
  ask("POST", "/orders/extra", NULL, OPS, "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=5",
      &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", "/api/orders/extra", NULL, WEST,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=5", &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", path, NULL, OPS, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 403);
  ck_assert_int_eq(cstore_order_foreach(st, NULL, false, count_orders, &orders), ASR_OK);
  ck_assert_int_eq(orders, 0);
  ck_assert_int_eq(cstore_agent_get(st, agent, &ag), ASR_OK);
  ck_assert(!ag.revoked);
  ck_assert(audited("ops@east.example", "special order", "denied", "staff only"));
  ck_assert(audited("ops@east.example", "revoke agent", "denied", "staff only"));
  ck_assert(audited("ops@east.example", "orders", "denied", "staff only"));
  /* nobody signed in: the sign-in page */
  ask("POST", "/orders/1/ship", NULL, NULL, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 303);
  /* the staff: a special order (the form, then without and with the CSRF token) */
  ask("GET", "/orders/extra", "site=east&device=P1", STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_ptr_nonnull(strstr(a.body, "name=\"supply\""));
  ask("GET", "/orders/extra", "site=east&device=NOPE", STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 404);
  ask("POST", "/orders/extra", NULL, STAFF, "site=east&device=P1&supply=1&quantity=5", &a);
  ck_assert_int_eq(a.status, 403); /* no CSRF token */
  ask("POST", "/orders/extra", NULL, STAFF,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=5&from=2026-02-20", &a);
  ck_assert_int_eq(a.status, 400); /* one day of the job only */
  ask("POST", "/orders/extra", NULL, STAFF,
      "csrf=" HASH_B "&site=east&device=P1&supply=9&quantity=5", &a);
  ck_assert_int_eq(a.status, 409); /* no such supply */
  ask("POST", "/orders/extra", NULL, STAFF,
      "csrf=" HASH_B "&site=west&device=P1&supply=1&quantity=5", &a);
  ck_assert_int_eq(a.status, 404); /* not west's printer */
  ask("POST", "/orders/extra", NULL, STAFF,
      "csrf=" HASH_B "&site=east&device=P1&supply=1&quantity=5&from=2026-02-20&to=2026-02-21"
      "&reason=%3Cb%3Ebig%3C%2Fb%3E",
      &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_str_eq(a.location, "/orders#o1");
  orders = 0;
  ck_assert_int_eq(cstore_order_foreach(st, NULL, false, count_orders, &orders), ASR_OK);
  ck_assert_int_eq(orders, 1);
  ck_assert(audited("alice", "special order", "ok", "order 1: 5 of supply 1 for P1 at east"));
  ask("GET", "/orders", "site=east", STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_ptr_nonnull(strstr(a.body, "action=\"/orders/1/ship\""));
  ck_assert_ptr_nonnull(strstr(a.body, "action=\"/orders/1/backorder\""));
  ck_assert_ptr_null(strstr(a.body, "<b>big")); /* escaped */
  ask("GET", "/orders", "site=nosuch", STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 404);
  /* the customer sees its open order and its line's state */
  ask("GET", "/api/sites/east", NULL, OPS, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "\"state\": \"created\""));
  /* a warehouse step on line 1: customers refused, staff with the token */
  ask("POST", "/orders/1/ship", NULL, OPS, "csrf=" HASH_B "&line=1", &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", "/orders/1/ship", NULL, STAFF, "line=1", &a);
  ck_assert_int_eq(a.status, 403);
  ask("POST", "/orders/1/ship", NULL, STAFF, "csrf=" HASH_B "&line=2", &a);
  ck_assert_int_eq(a.status, 409); /* no line 2 */
  ask("POST", "/orders/1/ship", NULL, STAFF, "csrf=" HASH_B "&line=1,", &a);
  ck_assert_int_eq(a.status, 400);
  ask("POST", "/orders/1/fly", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 404);
  ask("GET", "/orders/1/ship", NULL, STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 405);
  ask("POST", "/orders/1/ship", NULL, STAFF, "csrf=" HASH_B "&line=1", &a);
  ck_assert_int_eq(a.status, 303);
  ask("GET", "/sites/east", NULL, OPS, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "b-line\">shipped<"));
  ask("POST", "/orders/1/ship", NULL, STAFF, "csrf=" HASH_B "&line=1", &a);
  ck_assert_int_eq(a.status, 409); /* shipped already */
  ck_assert(audited("alice", "order ship", "failed", "cannot ship"));
  ask("POST", "/orders/1/deliver", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 303);
  ask("GET", "/sites/east", NULL, OPS, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "5 on the shelf"));
  ck_assert(audited("alice", "order deliver", "ok", "every line"));
  ck_assert(audited("alice", "order ship", "ok", "line 1"));
  /* the agents; a revocation */
  ask("GET", "/api/agents", "site=east", STAFF, NULL, &a);
  ck_assert_int_eq(a.status, 200);
  ck_assert_ptr_nonnull(strstr(a.body, agent));
  ask("GET", "/agents", NULL, STAFF, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, path));
  ask("POST", "/agents/ag_nosuch/revoke", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 404);
  ask("POST", "/agents/..%2F/revoke", NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 404);
  ask("POST", path, NULL, STAFF, "csrf=" HASH_B, &a);
  ck_assert_int_eq(a.status, 303);
  ck_assert_str_eq(a.location, "/agents?site=east");
  ck_assert_int_eq(cstore_agent_get(st, agent, &ag), ASR_OK);
  ck_assert(ag.revoked);
  ck_assert(audited("alice", "revoke agent", "ok", "site token it enrolled with is revoked"));
  ask("GET", "/agents", "site=east", STAFF, NULL, &a);
  ck_assert_ptr_nonnull(strstr(a.body, "b-refused\">revoked<"));
  portal_resp_free(&a);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("portal");
  TCase *tc = tcase_create("pure"), *ts = tcase_create("store");

  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_password);
  tcase_add_test(tc, test_form_and_cookie);
  tcase_set_timeout(ts, 60);
  tcase_add_checked_fixture(ts, store_setup, store_teardown);
  tcase_add_test(ts, test_link_once);
  tcase_add_test(ts, test_session_ends);
  tcase_add_test(ts, test_throttle);
  tcase_add_test(ts, test_scope);
  tcase_add_test(ts, test_signin_same_work);
  tcase_add_test(ts, test_staff_actions);
  suite_add_tcase(s, tc);
  suite_add_tcase(s, ts);
  return s;
}

int main(int argc, char **argv)
{
  SRunner *sr;
  int failed;

  (void)argc;
  testdb_main(argv); /* before the suite: it asks testdb_pg() */
  sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
