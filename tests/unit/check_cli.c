/* check_cli.c: the CLI's shared pieces: pass-phrase files, SNMP options, exit statuses. */
#include <check.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/secret.h"
#include "common/log.h"
#include "common/platform.h"
#include "tests/unit/testutil.h"

static char tmpdir[200];

static void write_file(const char *path, const char *text, unsigned mode)
{
  tu_write_file(path, text);
  ck_assert_int_eq(tu_chmod(path, mode), 0);
}

static void setup(void)
{
  tu_tmpdir("check_cli", tmpdir, sizeof(tmpdir));
}

static void teardown(void)
{
  tu_rmtree(tmpdir);
}

START_TEST(secret_file_private)
{
  char path[256], out[64], err[256];

  snprintf(path, sizeof(path), "%s/auth", tmpdir);
  write_file(path, "s3cret phrase\r\nsecond line\n", 0600);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)), ASR_OK);
  ck_assert_str_eq(out, "s3cret phrase");
}
END_TEST

START_TEST(secret_file_group_readable_refused)
{
  char path[256], out[64], err[256];

  snprintf(path, sizeof(path), "%s/auth", tmpdir);
  write_file(path, "s3cret\n", 0640);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)),
                   ASR_ERR_SECRET);
  ck_assert_ptr_nonnull(strstr(err, "readable by group or others"));
  ck_assert_ptr_null(strstr(err, "s3cret"));
}
END_TEST

START_TEST(secret_file_errors)
{
  char path[256], out[8], err[256];

  snprintf(path, sizeof(path), "%s/missing", tmpdir);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)),
                   ASR_ERR_SECRET);
  ck_assert_ptr_nonnull(strstr(err, "missing"));
  snprintf(path, sizeof(path), "%s/empty", tmpdir);
  write_file(path, "\n", 0600);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)),
                   ASR_ERR_SECRET);
  snprintf(path, sizeof(path), "%s/long", tmpdir);
  write_file(path, "much-too-long-for-eight\n", 0600);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)),
                   ASR_ERR_SECRET);
  ck_assert_ptr_nonnull(strstr(err, "longer than 7 bytes"));
}
END_TEST

START_TEST(secret_file_keyed)
{
  char path[256], out[64], err[256];

  snprintf(path, sizeof(path), "%s/both", tmpdir);
  write_file(path, "# SNMPv3 pass phrases\npriv =  p r i v\n  auth=authphrase\n", 0600);
  ck_assert_int_eq(asr_secret_from_file(path, "auth", out, sizeof(out), err, sizeof(err)), ASR_OK);
  ck_assert_str_eq(out, "authphrase");
  ck_assert_int_eq(asr_secret_from_file(path, "priv", out, sizeof(out), err, sizeof(err)), ASR_OK);
  ck_assert_str_eq(out, "p r i v");
  write_file(path, "auth = only-auth\n", 0600);
  ck_assert_int_eq(asr_secret_from_file(path, "priv", out, sizeof(out), err, sizeof(err)),
                   ASR_ERR_SECRET);
  ck_assert_ptr_nonnull(strstr(err, "no 'priv = ...' line"));
  ck_assert_ptr_null(strstr(err, "only-auth"));
}
END_TEST

START_TEST(secret_env)
{
  char out[16];

  tu_setenv("ASR_TEST_SECRET", NULL);
  ck_assert_int_eq(asr_secret_from_env("ASR_TEST_SECRET", out, sizeof(out)), ASR_ERR_NOT_FOUND);
  tu_setenv("ASR_TEST_SECRET", "abc");
  ck_assert_int_eq(asr_secret_from_env("ASR_TEST_SECRET", out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "abc");
  tu_setenv("ASR_TEST_SECRET", "0123456789abcdefXYZ");
  ck_assert_int_eq(asr_secret_from_env("ASR_TEST_SECRET", out, sizeof(out)), ASR_ERR_SECRET);
  asr_secret_wipe(out, sizeof(out));
  ck_assert_int_eq(out[0], 0);
}
END_TEST

START_TEST(snmp_defaults_public_v2c)
{
  asr_cli_snmp s;

  asr_cli_snmp_init(&s);
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_OK);
  ck_assert_uint_eq(s.n_creds, 1);
  ck_assert_int_eq(s.creds[0].version, ASR_SNMP_V2C);
  ck_assert_str_eq(s.creds[0].community, "public");
  ck_assert_uint_eq(s.port, 161);
}
END_TEST

START_TEST(snmp_communities_in_order)
{
  asr_cli_snmp s;

  asr_cli_snmp_init(&s);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_COMMUNITY, "first"), 1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_COMMUNITY, "second"), 1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_SNMP_VERSION, "1"), 1);
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_OK);
  ck_assert_uint_eq(s.n_creds, 2);
  ck_assert_str_eq(s.creds[0].community, "first");
  ck_assert_str_eq(s.creds[1].community, "second");
  ck_assert_int_eq(s.creds[1].version, ASR_SNMP_V1);
}
END_TEST

START_TEST(snmp_bad_values)
{
  asr_cli_snmp s;

  asr_cli_snmp_init(&s);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_PORT, "0"), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_PORT, "65536"), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_TIMEOUT, "12x"), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_RETRIES, "-1"), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_SNMP_VERSION, "3"), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_COMMUNITY, ""), -1);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_FORMAT, "json"), 0);
  ck_assert_int_eq(asr_cli_snmp_option(&s, ASR_OPT_PORT, "1161"), 1);
  ck_assert_uint_eq(s.port, 1161);
}
END_TEST

START_TEST(snmp_v3_from_env)
{
  asr_cli_snmp s;

  tu_setenv("ASR_SNMP_AUTH_PASS", "authpass123");
  tu_setenv("ASR_SNMP_PRIV_PASS", "privpass123");
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "sha-256");
  asr_cli_snmp_option(&s, ASR_OPT_V3_PRIV_PROTO, "AES-256");
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_OK);
  ck_assert_uint_eq(s.n_creds, 1); /* v3 only: no implicit "public" */
  ck_assert_int_eq(s.creds[0].version, ASR_SNMP_V3);
  ck_assert_int_eq(s.creds[0].auth_proto, ASR_AUTH_SHA256);
  ck_assert_int_eq(s.creds[0].priv_proto, ASR_PRIV_AES256);
  ck_assert_str_eq(s.creds[0].auth_pass, "authpass123");
  ck_assert_str_eq(s.creds[0].priv_pass, "privpass123");
  asr_cli_snmp_wipe(&s);
  ck_assert_int_eq(s.creds[0].auth_pass[0], 0);
  tu_setenv("ASR_SNMP_AUTH_PASS", NULL);
  tu_setenv("ASR_SNMP_PRIV_PASS", NULL);
}
END_TEST

START_TEST(snmp_v3_errors)
{
  asr_cli_snmp s;

  tu_setenv("ASR_SNMP_AUTH_PASS", NULL);
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "SHA");
  ck_assert_int_ne(asr_cli_snmp_finish(&s), ASR_OK); /* no pass phrase anywhere */
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "ROT13");
  ck_assert_int_ne(asr_cli_snmp_finish(&s), ASR_OK);
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_PRIV_PROTO, "AES");
  ck_assert_int_ne(asr_cli_snmp_finish(&s), ASR_OK); /* v3 option without a user */
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_PRIV_PROTO, "AES");
  ck_assert_int_ne(asr_cli_snmp_finish(&s), ASR_OK); /* privacy without authentication */
  /* pass phrases under 8 characters are refused (RFC 3414 11.2), 8 are fine */
  tu_setenv("ASR_SNMP_AUTH_PASS", "1234567");
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "SHA");
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_ERR_USAGE);
  asr_cli_snmp_wipe(&s);
  tu_setenv("ASR_SNMP_AUTH_PASS", "12345678");
  tu_setenv("ASR_SNMP_PRIV_PASS", "short");
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "SHA");
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_OK); /* no privacy: the priv one is unused */
  asr_cli_snmp_wipe(&s);
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "SHA");
  asr_cli_snmp_option(&s, ASR_OPT_V3_PRIV_PROTO, "AES");
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_ERR_USAGE);
  asr_cli_snmp_wipe(&s);
  tu_setenv("ASR_SNMP_AUTH_PASS", NULL);
  tu_setenv("ASR_SNMP_PRIV_PASS", NULL);
}
END_TEST

START_TEST(short_pass_file)
{
  char path[300];
  asr_cli_snmp s;

  snprintf(path, sizeof(path), "%s/auth.pass", tmpdir);
  write_file(path, "seven77\n", 0600);
  asr_cli_snmp_init(&s);
  asr_cli_snmp_option(&s, ASR_OPT_V3_USER, "ops");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PROTO, "SHA");
  asr_cli_snmp_option(&s, ASR_OPT_V3_AUTH_PASS_FILE, path);
  ck_assert_int_eq(asr_cli_snmp_finish(&s), ASR_ERR_USAGE);
  asr_cli_snmp_wipe(&s);
}
END_TEST

START_TEST(exit_statuses)
{
  ck_assert_int_eq(asr_cli_exit_for(ASR_OK), ASR_EXIT_OK);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_TARGET), ASR_EXIT_USAGE);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_PARSE), ASR_EXIT_INPUT);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_DB_LOCKED), ASR_EXIT_DB);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_DB_VERSION), ASR_EXIT_DB);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_DB_CORRUPT), 7); /* asr-agent(8): damaged */
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_DISK_FULL), 8);  /* asr-agent(8): disk full */
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_TIMEOUT), ASR_EXIT_FAILURE);
  ck_assert_int_eq(asr_cli_exit_for(ASR_ERR_NOMEM), ASR_EXIT_INTERNAL);
}
END_TEST

START_TEST(db_path_precedence)
{
  tu_setenv("ASR_AGENT_DB", NULL);
  ck_assert_ptr_nonnull(strstr(asr_cli_db_path(NULL), "agent.db"));
  tu_setenv("ASR_AGENT_DB", "/tmp/env.db");
  ck_assert_str_eq(asr_cli_db_path(NULL), "/tmp/env.db");
  ck_assert_str_eq(asr_cli_db_path("/tmp/opt.db"), "/tmp/opt.db");
  tu_setenv("ASR_AGENT_DB", NULL);
}
END_TEST

/* A service's log: what reached the sink. */
static struct {
  int n;
  asr_log_level level;
  char msg[256];
} logged;

static void record(asr_log_level level, const char *msg, void *ctx)
{
  (void)ctx;
  logged.n++;
  logged.level = level;
  snprintf(logged.msg, sizeof(logged.msg), "%s", msg);
}

/* Under a service's log the CLI's messages keep their level and lose the "asr-agent: "
 * prefix (journald names the program: it would read "asr-agent: asr-agent: ..."). */
START_TEST(messages_to_a_service_log)
{
  memset(&logged, 0, sizeof(logged));
  asr_log_set_sink(record, NULL);
  asr_log_set_level(ASR_LOG_INFO);
  asr_cli_error("poll failed: %s", "timeout");
  ck_assert_int_eq(logged.n, 1);
  ck_assert_int_eq(logged.level, ASR_LOG_ERR);
  ck_assert_str_eq(logged.msg, "poll failed: timeout");
  asr_cli_note("polled %d devices: %d read, %d failed", 3, 3, 0);
  ck_assert_int_eq(logged.n, 2);
  ck_assert_int_eq(logged.level, ASR_LOG_INFO);
  ck_assert_str_eq(logged.msg, "polled 3 devices: 3 read, 0 failed");
  asr_log_set_level(ASR_LOG_WARN); /* log_level warning: the summary is not logged */
  asr_cli_note("polled %d devices", 1);
  ck_assert_int_eq(logged.n, 2);
  asr_log_set_sink(NULL, NULL);
  ck_assert(!asr_log_has_sink());
}
END_TEST

START_TEST(db_named_must_exist)
{
  char path[300], msg[512];

  ck_assert(asr_cli_db_usable(NULL, ASR_CLI_DB_EXISTING, msg, sizeof(msg))); /* the default */
  snprintf(path, sizeof(path), "%s/typo.db", tmpdir);
  ck_assert(!asr_cli_db_usable(path, ASR_CLI_DB_EXISTING, msg, sizeof(msg)));
  ck_assert_ptr_nonnull(strstr(msg, path));
  ck_assert(asr_cli_db_usable(path, ASR_CLI_DB_CREATE, msg, sizeof(msg))); /* folder exists */
  tu_write_file(path, "");
  ck_assert(asr_cli_db_usable(path, ASR_CLI_DB_EXISTING, msg, sizeof(msg)));
  snprintf(path, sizeof(path), "%s/no/such/dir/x.db", tmpdir);
  ck_assert(!asr_cli_db_usable(path, ASR_CLI_DB_CREATE, msg, sizeof(msg)));
  ck_assert_ptr_nonnull(strstr(msg, "no/such/dir"));
}
END_TEST

START_TEST(closest_option)
{
  static const char *const names[] = {"community", "concurrency", "timeout", "db", NULL};

  ck_assert_str_eq(asr_cli_closest("comunity", names), "community");
  ck_assert_str_eq(asr_cli_closest("timout", names), "timeout");
  ck_assert_str_eq(asr_cli_closest("bd", names), "db");
  ck_assert_str_eq(asr_cli_closest("concurency", names), "concurrency");
  ck_assert_ptr_null(asr_cli_closest("frobnicate", names));
  ck_assert_ptr_null(asr_cli_closest("x", names));
  ck_assert_ptr_null(asr_cli_closest("comunity", NULL));
}
END_TEST

/* The wrapper returns getopt_long's codes, and '?' for every kind of bad option. */
START_TEST(getopt_errors)
{
  static const struct option lo[] = {
      {"community", required_argument, NULL, 300},
      {"concurrency", required_argument, NULL, 301},
      {"all", no_argument, NULL, 302},
      {NULL, 0, NULL, 0},
  };
  char a0[] = "discover", ok1[] = "--community", ok2[] = "x", typo[] = "--comunity", amb[] = "--co",
       val[] = "--all=yes", miss[] = "--concurrency", shortbad[] = "-z";
  char *good[] = {a0, ok1, ok2, NULL}, *t1[] = {a0, typo, ok2, NULL}, *t2[] = {a0, amb, NULL},
       *t3[] = {a0, val, NULL}, *t4[] = {a0, miss, NULL}, *t5[] = {a0, shortbad, NULL};

  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(3, good, "hv", lo), 300);
  ck_assert_str_eq(optarg, "x");
  ck_assert_int_eq(asr_cli_getopt(3, good, "hv", lo), -1);
  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(3, t1, "hv", lo), '?');
  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(2, t2, "hv", lo), '?');
  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(2, t3, "hv", lo), '?');
  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(2, t4, "hv", lo), '?');
  optind = 1;
  ck_assert_int_eq(asr_cli_getopt(2, t5, "hv", lo), '?');
  /* an abbreviation GNU getopt would take is refused: "--comm x" is not --community */
  {
    char ab[] = "--comm", val2[] = "--concurrency=5";
    char *t6[] = {a0, ab, ok2, NULL}, *t7[] = {a0, val2, NULL};

    optind = 1;
    ck_assert_int_eq(asr_cli_getopt(3, t6, "hv", lo), '?');
    optind = 1;
    ck_assert_int_eq(asr_cli_getopt(2, t7, "hv", lo), 301);
    ck_assert_str_eq(optarg, "5");
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, secret_file_private);
  TU_ADD_MODES_TEST(tc, secret_file_group_readable_refused, "no POSIX file modes");
  tcase_add_test(tc, secret_file_errors);
  tcase_add_test(tc, secret_file_keyed);
  tcase_add_test(tc, secret_env);
  tcase_add_test(tc, snmp_defaults_public_v2c);
  tcase_add_test(tc, snmp_communities_in_order);
  tcase_add_test(tc, snmp_bad_values);
  tcase_add_test(tc, snmp_v3_from_env);
  tcase_add_test(tc, snmp_v3_errors);
  tcase_add_test(tc, short_pass_file);
  tcase_add_test(tc, exit_statuses);
  tcase_add_test(tc, db_path_precedence);
  tcase_add_test(tc, messages_to_a_service_log);
  tcase_add_test(tc, db_named_must_exist);
  tcase_add_test(tc, closest_option);
  tcase_add_test(tc, getopt_errors);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
