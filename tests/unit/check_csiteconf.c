/* check_csiteconf.c: a site's remote configuration at asr-central (issue 17), on a real
 * SQLite file: `asr-central site config` (central/csiteconf.c) with a site's values and an
 * agent's own over them, one version per site, secrets (pass phrases and communities)
 * only from stdin, sealed at rest and audited as "(set)"; a site change checked with each
 * agent's own values; the signed answer of POST /v1/config each agent gets (its signature
 * checked here, the agent's whole check in check_remoteconf); the store's schema step 11 and the
 * sealing of the communities a schema-8 database kept in clear (central/cstore_conf.c); the
 * key of the sealed secrets: DB.key beside a SQLite file, or --secrets-key-file (both
 * backends; the only one a PostgreSQL URI has). */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdb.h"
#include "central/csiteconf.h"
#include "central/cstore.h"
#include "central/cstore_conf.h"
#include "central/cstore_int.h" /* st->db: step 11 run again */
#include "central/ingest.h"
#include "common/util.h"
#include "wire/sign.h"

#define T0 INT64_C(1795000000)
#define COMM "pub-s3cret"
#define PASS "authpass-1"

static char dir[256], db_path[300], in_path[300], key_path[300];
static cstore_agent ag_a, ag_b;

static void setup(void)
{
  char err[256], token[CSTORE_TOKEN_LEN + 1], name[CSTORE_NAME_MAX];
  cstore *st = NULL;

  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_csiteconf.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  testdb_name(dir, "central.db", db_path, sizeof(db_path));
  ck_assert_int_eq(asr_fmt(in_path, sizeof(in_path), "%s/stdin", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(key_path, sizeof(key_path), "%s/secrets.key", dir), ASR_OK);
  /* a URI keeps no key beside it: the PostgreSQL pass gives --secrets-key-file's */
  ck_assert_int_eq(csiteconf_set_key_file(testdb_pg() ? key_path : NULL), ASR_OK);
  ck_assert_msg(cstore_open(db_path, &st, err, sizeof(err)) == ASR_OK, "%s", err);
  ck_assert_int_eq(cstore_site_add(st, "acme", "ops@example.org", NULL, T0, token, sizeof(token)),
                   ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "a", "0.1.0", T0, &ag_a, name, sizeof(name)), ASR_OK);
  ck_assert_int_eq(cstore_enroll(st, token, "b", "0.1.0", T0, &ag_b, name, sizeof(name)), ASR_OK);
  cstore_close(st);
}

static void teardown(void)
{
  char p[400];
  const char *sfx[] = {"", "-wal", "-shm", ".key"};

  for (size_t i = 0; i < 4; i++) {
    ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s%s", db_path, sfx[i]), ASR_OK);
    unlink(p);
  }
  unlink(in_path);
  unlink(key_path);
  csiteconf_set_key_file(NULL);
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s/k%zu", dir, i), ASR_OK);
    unlink(p);
  }
  rmdir(dir);
}

/* asr-central site config acme --db DB ARGS... (NULL-terminated), stdin from text. */
static int site_config(const char *in, ...)
{
  static char cmd[] = "config";
  char buf[16][200], *argv[20];
  int argc = 0;
  const char *a;
  va_list ap;
  FILE *f = fopen(in_path, "w");

  ck_assert_ptr_nonnull(f);
  fputs(in ? in : "", f);
  fclose(f);
  ck_assert_ptr_nonnull(freopen(in_path, "r", stdin));
  argv[argc++] = cmd;
  va_start(ap, in);
  while ((a = va_arg(ap, const char *)) != NULL && argc < 14) {
    ck_assert_int_eq(asr_strlcpy(buf[argc], a, sizeof(buf[0])), ASR_OK);
    argv[argc] = buf[argc];
    argc++;
  }
  va_end(ap);
  argv[argc] = NULL;
  return csiteconf_cli(argc, argv);
}

/* POST /v1/config of agent ag reporting error (JSON string contents): its status; on 200
 * the signed document in *doc, its signature checked. */
static int checkin_status(const cstore_agent *ag, const char *error, json_t **doc)
{
  char body[400], ts[32], sig[ASR_SIGN_HEADER_LEN + 1], err[256];
  ingest_request req;
  ingest_answer ans;
  cstore *st = NULL;
  int64_t now = ingest_now();
  json_t *a;
  const char *text;
  int status;

  ck_assert_int_eq(
      asr_fmt(body, sizeof(body),
              "{\"agent_id\":\"%s\",\"applied\":0,\"error\":\"%s\",\"error_version\":%d}", ag->id,
              error, error[0] ? 1 : 0),
      ASR_OK);
  ck_assert_int_eq(asr_fmt(ts, sizeof(ts), "%lld", (long long)now), ASR_OK);
  ck_assert_int_eq(asr_sign_request(ag->secret, "POST", CSITECONF_PATH, now, body, strlen(body),
                                    sig, sizeof(sig)),
                   ASR_OK);
  memset(&req, 0, sizeof(req));
  memset(&ans, 0, sizeof(ans));
  req.method = "POST";
  req.path = CSITECONF_PATH;
  req.agent = ag->id;
  req.timestamp = ts;
  req.signature = sig;
  req.body = body;
  req.body_len = strlen(body);
  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  status = csiteconf_checkin(st, db_path, ag, &req, now, &ans);
  cstore_close(st);
  *doc = NULL;
  if (status != 200) {
    free(ans.body);
    return status;
  }
  a = json_loads(ans.body, 0, NULL);
  text = json_string_value(json_object_get(a, "config"));
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(asr_sign_verify(ag->secret, "CONFIG", CSITECONF_PATH, now, text, strlen(text),
                                   json_string_value(json_object_get(a, "signature"))),
                   ASR_OK);
  *doc = json_loads(text, 0, NULL);
  ck_assert_ptr_nonnull(*doc);
  ck_assert_str_eq(json_string_value(json_object_get(*doc, "agent_id")), ag->id);
  json_decref(a);
  free(ans.body);
  return status;
}

static json_t *checkin_report(const cstore_agent *ag, const char *error)
{
  json_t *doc = NULL;

  ck_assert_int_eq(checkin_status(ag, error, &doc), 200);
  return doc;
}

static json_t *checkin(const cstore_agent *ag)
{
  return checkin_report(ag, "");
}

static const char *value_of(json_t *doc, const char *part, const char *key)
{
  return json_string_value(json_object_get(json_object_get(doc, part), key));
}

/* Whether the file at path holds needle anywhere. */
static int file_holds(const char *path, const char *needle)
{
  FILE *f = fopen(path, "rb");
  static char data[4 << 20];
  size_t n;

  if (!f)
    return 0;
  n = fread(data, 1, sizeof(data), f);
  fclose(f);
  size_t k = strlen(needle);

  for (size_t i = 0; i + k <= n; i++) {
    if (memcmp(data + i, needle, k) == 0)
      return 1;
  }
  return 0;
}

START_TEST(test_site_and_agent_values)
{
  json_t *doc;
  char wal[400];

  ck_assert_int_eq(site_config(COMM "\n" PASS "\n", "acme", "--db", db_path, "--set", "community=-",
                               "--set", "v3_user=ops", "--set", "v3_auth_proto=SHA", "--set",
                               "v3_auth_pass=-", "--set", "log_level=debug", NULL),
                   0);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--agent", ag_a.id, "--set",
                               "log_level=warning", "--set", "poll_interval=2h", NULL),
                   0);
  /* agent a: its own over the site's; one version for the site */
  doc = checkin(&ag_a);
  ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 2);
  ck_assert_str_eq(value_of(doc, "values", "log_level"), "warning");
  ck_assert_str_eq(value_of(doc, "values", "poll_interval"), "2h");
  ck_assert_str_eq(value_of(doc, "values", "community"), COMM);
  ck_assert_str_eq(value_of(doc, "values", "v3_user"), "ops");
  ck_assert_str_eq(value_of(doc, "secrets", "v3_auth_pass"), PASS);
  ck_assert_ptr_null(json_object_get(json_object_get(doc, "values"), "v3_auth_pass"));
  json_decref(doc);
  /* agent b: the site's */
  doc = checkin(&ag_b);
  ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 2);
  ck_assert_str_eq(value_of(doc, "values", "log_level"), "debug");
  ck_assert_ptr_null(value_of(doc, "values", "poll_interval"));
  ck_assert_str_eq(value_of(doc, "values", "community"), COMM);
  json_decref(doc);
  /* the secrets are nowhere in clear in the database (nor its WAL) */
  ck_assert_int_eq(asr_fmt(wal, sizeof(wal), "%s-wal", db_path), ASR_OK);
  ck_assert(!file_holds(db_path, COMM) && !file_holds(db_path, PASS));
  ck_assert(!file_holds(wal, COMM) && !file_holds(wal, PASS));
}
END_TEST

START_TEST(test_secrets_only_from_stdin)
{
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "community=" COMM, NULL), 2);
  ck_assert_int_eq(
      site_config(NULL, "acme", "--db", db_path, "--set", "target_community=127.0.0.1 x", NULL), 2);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "v3_auth_pass=" PASS, NULL),
                   2);
  /* nothing on stdin */
  ck_assert_int_eq(site_config("", "acme", "--db", db_path, "--set", "community=-", NULL), 2);
  /* target_community: its lines up to an empty one */
  ck_assert_int_eq(site_config("192.0.2.0/28 one two\n192.0.2.64/28 three\n\n", "acme", "--db",
                               db_path, "--set", "target_community=-", NULL),
                   0);
  {
    json_t *doc = checkin(&ag_b);

    ck_assert_str_eq(value_of(doc, "values", "target_community"),
                     "192.0.2.0/28 one two\n192.0.2.64/28 three");
    json_decref(doc);
  }
}
END_TEST

/* A site change is checked with each agent's own values over it; an agent's, with the
 * site's under it. Nothing changes when one fails. */
START_TEST(test_checked_with_each_agent)
{
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--agent", ag_a.id, "--set",
                               "poll_interval=2h", NULL),
                   0);
  /* silent_after 90m is fine for the site (poll 1h), not for agent a (poll 2h) */
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "silent_after=90m", NULL),
                   1);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "silent_after=3h", NULL), 0);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--agent", ag_a.id, "--set",
                               "poll_interval=4h", NULL),
                   1);
  /* an agent of another site, or none */
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--agent",
                               "ag_00000000000000000000000000000000", "--set", "log_level=debug",
                               NULL),
                   1);
}
END_TEST

static int count_row(const cstore_conf_audit *a, void *ctx)
{
  int *n = ctx;

  if (strcmp(a->key, "community") == 0)
    ck_assert(a->new_ && strcmp(a->new_, "(set)") == 0);
  n[0]++;
  n[1] += a->agent != NULL;
  return 0;
}

static int agent_error(const cstore_conf_agent *g, void *ctx)
{
  ck_assert_int_eq(asr_strlcpy(ctx, g->error ? g->error : "", 200), ASR_OK);
  return 0;
}

/* An agent's report reaches the operator's terminal: one line, no control character. */
START_TEST(test_report_cleaned)
{
  cstore *st = NULL;
  char err[256], shown[200];
  int64_t site_id = 0;

  json_decref(checkin_report(&ag_a, "bad\\u001b[2J\\nvalue\\u0007"));
  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cstore_conf_site(st, "acme", &site_id), ASR_OK);
  ck_assert_int_eq(cstore_conf_agents(st, site_id, ag_a.id, agent_error, shown), ASR_OK);
  cstore_close(st);
  ck_assert_str_eq(shown, "bad [2J value ");
}
END_TEST

/* Runs schema step 11 again on st, in its backend's dialect (cdb_dialect_pg). */
static asr_result step_11(cstore *st)
{
  char *pg = NULL;
  asr_result r;

  if (cdb_backend(st->db) != CDB_PG)
    return cdb_exec(st->db, cstore_conf_schema_11, "step 11");
  ck_assert_int_eq(cdb_dialect_pg(cstore_conf_schema_11, &pg), ASR_OK);
  r = cdb_exec(st->db, pg, "step 11");
  free(pg);
  return r;
}

START_TEST(test_store)
{
  cstore *st = NULL;
  char err[256];
  int64_t site_id = 0, v = 0, ids[4];
  size_t n = 0;
  int rows[2] = {0, 0};
  cstore_conf *c = malloc(sizeof(*c));
  cstore_conf_change_t site_ch[] = {{"log_level", "debug", false}, {"community", "clear", false}};
  cstore_conf_change_t agent_ch[] = {{"log_level", "warning", false}};

  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  /* step 11 is idempotent */
  ck_assert_int_eq(step_11(st), ASR_OK);
  ck_assert_int_eq(cstore_conf_site(st, "acme", &site_id), ASR_OK);
  ck_assert_int_eq(cstore_conf_change(st, site_id, NULL, site_ch, 2, "t", T0, 0, &v), ASR_OK);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(cstore_conf_change(st, site_id, ag_a.id, agent_ch, 1, "t", T0, 1, &v), ASR_OK);
  ck_assert_int_eq(v, 2);
  /* checked against version 1, but version 2 came in between: nothing changes */
  ck_assert_int_eq(cstore_conf_change(st, site_id, NULL, site_ch, 1, "t", T0, 1, &v),
                   ASR_ERR_DB_LOCKED);
  ck_assert_int_eq(cstore_conf_get(st, site_id, c), ASR_OK);
  ck_assert_int_eq(c->version, 2);
  ck_assert_uint_eq(c->n, 2);
  ck_assert_int_eq(cstore_conf_get_agent(st, site_id, ag_a.id, c), ASR_OK);
  ck_assert_uint_eq(c->n, 1);
  ck_assert_str_eq(c->v[0].value, "warning");
  ck_assert_int_eq(cstore_conf_get_agent(st, site_id, ag_b.id, c), ASR_OK);
  ck_assert_uint_eq(c->n, 0);
  /* the audit: every row of the site, a's with its name; a community is "(set)" even when
   * it was given in clear */
  ck_assert_int_eq(cstore_conf_history(st, site_id, NULL, count_row, rows), ASR_OK);
  ck_assert_int_eq(rows[0], 3);
  ck_assert_int_eq(rows[1], 1);
  rows[0] = rows[1] = 0;
  ck_assert_int_eq(cstore_conf_history(st, site_id, ag_b.id, count_row, rows), ASR_OK);
  ck_assert_int_eq(rows[0], 2);
  /* schema 8 audited communities in clear: step 11 masks them */
  ck_assert_int_eq(cdb_exec(st->db,
                            "INSERT INTO site_config_audit (site_id, version, key, old, new,"
                            " who, at) VALUES (1, 1, 'community', 'old-c', 'new-c', 'x', 0)",
                            "an audit row of schema 8"),
                   ASR_OK);
  ck_assert_int_eq(step_11(st), ASR_OK);
  rows[0] = rows[1] = 0;
  ck_assert_int_eq(cstore_conf_history(st, site_id, NULL, count_row, rows), ASR_OK);
  ck_assert_int_eq(rows[0], 4);
  /* a community in clear (a schema-8 database) is found, and sealed without a version */
  ck_assert_int_eq(cstore_conf_clear_sites(st, ids, 4, &n), ASR_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(cstore_conf_reseal(st, site_id, "community", "g1:00"), ASR_OK);
  ck_assert_int_eq(cstore_conf_clear_sites(st, ids, 4, &n), ASR_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(cstore_conf_get(st, site_id, c), ASR_OK);
  ck_assert_int_eq(c->version, 2);
  cstore_close(st);
  free(c);
}
END_TEST

/* dir/kN */
static void kpath(char *out, size_t n, int i)
{
  ck_assert_int_eq(asr_fmt(out, n, "%s/k%d", dir, i), ASR_OK);
}

/* --secrets-key-file FILE, on both backends: the first secret set creates it (0600, and no
 * DB.key); the check-in opens the secrets with it; a readable, missing, linked or other
 * key is refused, naming the problem, and nothing leaks. */
START_TEST(test_key_file_option)
{
  char k0[300], k1[300], k2[300], dbkey[400], err[600], token[CSTORE_TOKEN_LEN + 1];
  struct stat sb;
  cstore *st = NULL;
  json_t *doc = NULL;
  FILE *f;

  kpath(k0, sizeof(k0), 0);
  kpath(k1, sizeof(k1), 1);
  kpath(k2, sizeof(k2), 2);
  ck_assert_int_eq(asr_fmt(dbkey, sizeof(dbkey), "%s.key", db_path), ASR_OK);
  ck_assert_int_eq(site_config(COMM "\n", "acme", "--db", db_path, "--secrets-key-file", k0,
                               "--set", "community=-", NULL),
                   0);
  ck_assert_int_eq(stat(k0, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0600);
  ck_assert_int_ne(access(dbkey, F_OK), 0); /* not beside the database */
  ck_assert(!file_holds(k0, COMM));
  /* serve's node: the same file */
  ck_assert_int_eq(csiteconf_set_key_file(k0), ASR_OK);
  ck_assert_int_eq(csiteconf_key_check(err, sizeof(err)), ASR_OK);
  doc = checkin(&ag_a);
  ck_assert_str_eq(value_of(doc, "values", "community"), COMM);
  json_decref(doc);
  /* a second secret with the same file: both open */
  ck_assert_int_eq(site_config(PASS "\n", "acme", "--db", db_path, "--secrets-key-file", k0,
                               "--set", "v3_user=ops", "--set", "v3_auth_proto=SHA", "--set",
                               "v3_auth_pass=-", NULL),
                   0);
  doc = checkin(&ag_b);
  ck_assert_str_eq(value_of(doc, "secrets", "v3_auth_pass"), PASS);
  json_decref(doc);
  /* group-readable: refused by serve's start check, the check-in and site config */
  ck_assert_int_eq(chmod(k0, 0640), 0);
  ck_assert_int_eq(csiteconf_key_check(err, sizeof(err)), ASR_ERR_SECRET);
  ck_assert_msg(strstr(err, "chmod 600") != NULL, "%s", err);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--secrets-key-file", k0, "--set",
                               "log_level=debug", NULL),
                   1);
  ck_assert_int_eq(chmod(k0, 0600), 0);
  /* missing: never created by a check-in, nor by a change that only opens */
  ck_assert_int_eq(csiteconf_set_key_file(k1), ASR_OK);
  ck_assert_int_eq(csiteconf_key_check(err, sizeof(err)), ASR_ERR_NOT_FOUND);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--secrets-key-file", k1, "--set",
                               "log_level=debug", NULL),
                   1);
  ck_assert_int_ne(access(k1, F_OK), 0);
  /* nor by a new secret while others are sealed (a node without its copy of the key):
   * a new key would split the secrets between two keys */
  ck_assert_int_eq(cstore_open(db_path, &st, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(cstore_site_add(st, "beta", "ops@example.org", NULL, T0, token, sizeof(token)),
                   ASR_OK);
  cstore_close(st);
  ck_assert_int_eq(site_config(COMM "\n", "beta", "--db", db_path, "--secrets-key-file", k1,
                               "--set", "community=-", NULL),
                   1);
  ck_assert_int_ne(access(k1, F_OK), 0);
  ck_assert_int_eq(site_config(NULL, "beta", "--db", db_path, "--secrets-key-file", k1, "--set",
                               "log_level=debug", NULL),
                   0);
  /* another key: the secrets do not open */
  f = fopen(k1, "w");
  ck_assert_ptr_nonnull(f);
  fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
  fclose(f);
  ck_assert_int_eq(chmod(k1, 0600), 0);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  /* not a key */
  f = fopen(k1, "w");
  ck_assert_ptr_nonnull(f);
  fputs("not a key\n", f);
  fclose(f);
  ck_assert_int_eq(csiteconf_key_check(err, sizeof(err)), ASR_ERR_SECRET);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  /* a symbolic link to the right key: refused, as --db-password-file's */
  ck_assert_int_eq(symlink(k0, k2), 0);
  ck_assert_int_eq(csiteconf_set_key_file(k2), ASR_OK);
  ck_assert_int_ne(csiteconf_key_check(err, sizeof(err)), ASR_OK);
  ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  /* the right file again */
  ck_assert_int_eq(csiteconf_set_key_file(k0), ASR_OK);
  doc = checkin(&ag_a);
  ck_assert_str_eq(value_of(doc, "values", "community"), COMM);
  json_decref(doc);
}
END_TEST

/* A PostgreSQL --db without --secrets-key-file: a secret cannot be sealed nor opened
 * (exit 2, the option named), but what has no secret works: changes, --show, check-ins. */
START_TEST(test_key_uri_without_option)
{
  json_t *doc = NULL;
  char path[300];

  ck_assert_int_eq(csiteconf_set_key_file(NULL), ASR_OK);
  ck_assert_int_eq(csiteconf_key_path(db_path, path, sizeof(path)), ASR_ERR_USAGE);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "log_level=debug", NULL), 0);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--show", NULL), 0);
  doc = checkin(&ag_a);
  ck_assert_str_eq(value_of(doc, "values", "log_level"), "debug");
  json_decref(doc);
  ck_assert_int_eq(site_config(COMM "\n", "acme", "--db", db_path, "--set", "community=-", NULL),
                   2);
  /* sealed with the option, then asked for without it */
  ck_assert_int_eq(site_config(COMM "\n", "acme", "--db", db_path, "--secrets-key-file", key_path,
                               "--set", "community=-", NULL),
                   0);
  ck_assert_int_eq(csiteconf_set_key_file(NULL), ASR_OK);
  ck_assert_int_eq(checkin_status(&ag_a, "", &doc), 500);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--set", "log_level=info", NULL), 2);
  ck_assert_int_eq(site_config(NULL, "acme", "--db", db_path, "--show", NULL), 0);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("csiteconf");
  TCase *t = tcase_create("core");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 30);
  tcase_add_test(t, test_site_and_agent_values);
  tcase_add_test(t, test_secrets_only_from_stdin);
  tcase_add_test(t, test_checked_with_each_agent);
  tcase_add_test(t, test_store);
  tcase_add_test(t, test_report_cleaned);
  tcase_add_test(t, test_key_file_option);
  if (testdb_pg())
    tcase_add_test(t, test_key_uri_without_option);
  else
    testdb_skip("test_key_uri_without_option", "a PostgreSQL --db's (SQLite has DB.key)");
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  SRunner *r;
  int failed;

  (void)argc;
  testdb_main(argv); /* before the suite: it asks testdb_pg() */
  r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
