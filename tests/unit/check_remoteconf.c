/* check_remoteconf.c: the remote configuration (issue 17): the shared directive table as
 * asr-central uses it (conf/conf.c, asr_conf_check_remote), the precedence of the file's
 * `local` values over the central's and of the central's over the file's, the signed
 * answer of POST /v1/config (uplink/remote.c) and the sealing of pass phrases at rest
 * (wire/seal.c). */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "conf/conf.h"
#include "tests/unit/testutil.h"
#include "uplink/remote.h"
#include "wire/seal.h"
#include "wire/sign.h"

#define SECRET "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define AGENT "ag_0123456789abcdef0123456789abcdef"

static char dir[256], path[300];
static char errs[16][1400];
static size_t n_errs;
static asr_conf c;

static void collect(const char *msg, void *ctx)
{
  (void)ctx;
  if (n_errs < 16)
    ck_assert_int_eq(asr_strlcpy(errs[n_errs], msg, sizeof(errs[0])), ASR_OK);
  n_errs++;
}

static void setup(void)
{
  tu_tmpdir("check_remoteconf", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/asr-agent.conf", dir), ASR_OK);
  n_errs = 0;
}

static void teardown(void)
{
  tu_rmtree(dir);
}

static void write_conf(const char *text)
{
  FILE *f = fopen(path, "wb");

  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static int source_of(const char *name)
{
  for (size_t i = 0; i < asr_conf_directive_count(); i++) {
    if (strcmp(asr_conf_directive_name(i), name) == 0)
      return asr_conf_directive_source(&c, i);
  }
  return -1;
}

/* ---- the shared table ---- */

START_TEST(test_remote_keys)
{
  ck_assert_int_eq(asr_conf_remote_key("scan_targets"), ASR_CONF_KEY_DIRECTIVE);
  ck_assert_int_eq(asr_conf_remote_key("poll_interval"), ASR_CONF_KEY_DIRECTIVE);
  ck_assert_int_eq(asr_conf_remote_key("community"), ASR_CONF_KEY_DIRECTIVE);
  ck_assert_int_eq(asr_conf_remote_key("v3_auth_pass"), ASR_CONF_KEY_SECRET);
  ck_assert_int_eq(asr_conf_remote_key("v3_priv_pass"), ASR_CONF_KEY_SECRET);
  /* where the agent reaches the central, and whether it listens, stay the file's */
  ck_assert_int_eq(asr_conf_remote_key("endpoint"), 0);
  ck_assert_int_eq(asr_conf_remote_key("proxy"), 0);
  ck_assert_int_eq(asr_conf_remote_key("remote_config"), 0);
  ck_assert_int_eq(asr_conf_remote_key("database"), 0);
  ck_assert_int_eq(asr_conf_remote_key("secrets_file"), 0);
  ck_assert_int_eq(asr_conf_remote_key("no_such_thing"), -1);
  /* the light check-in's schedule is the central's to tune too */
  ck_assert_int_eq(asr_conf_remote_key("config_checkin"), ASR_CONF_KEY_DIRECTIVE);
  /* secrets at the central: the pass phrases and the communities, nothing else */
  ck_assert_int_eq(asr_conf_remote_sealed("v3_auth_pass"), 1);
  ck_assert_int_eq(asr_conf_remote_sealed("v3_priv_pass"), 1);
  ck_assert_int_eq(asr_conf_remote_sealed("community"), 1);
  ck_assert_int_eq(asr_conf_remote_sealed("target_community"), 1);
  ck_assert_int_eq(asr_conf_remote_sealed("scan_targets"), 0);
  ck_assert_int_eq(asr_conf_remote_sealed("v3_user"), 0);
  ck_assert_int_eq(asr_conf_remote_sealed("no_such_thing"), 0);
}
END_TEST

/* asr_conf_check_remote of one value. */
static asr_result remote_check(const char *name, const char *value)
{
  asr_conf_pair p = {name, value};
  asr_conf_overlay ov = {&p, 1, "site", NULL};

  n_errs = 0;
  return asr_conf_check_remote(&ov, &c, collect, NULL);
}

/* config_checkin: a duration from 5m to 1d, 1h by default, reloadable. */
START_TEST(test_config_checkin)
{
  asr_conf_defaults(&c);
  ck_assert_int_eq(c.config_checkin, 3600);
  ck_assert_int_eq(asr_conf_reloadable("config_checkin"), 1);
  ck_assert_int_eq(remote_check("config_checkin", "5m"), ASR_OK);
  ck_assert_int_eq(remote_check("config_checkin", "1d"), ASR_OK);
  ck_assert_int_eq(remote_check("config_checkin", "4m"), ASR_ERR_PARSE);
  ck_assert_int_eq(remote_check("config_checkin", "25h"), ASR_ERR_PARSE);
  ck_assert_int_eq(remote_check("config_checkin", "often"), ASR_ERR_PARSE);
}
END_TEST

/* The central's check and the file's parser say the same about the same value. */
START_TEST(test_central_check_is_the_file_check)
{
  static const struct {
    const char *name, *value;
  } cases[] = {
      {"poll_interval", "5s"},          {"poll_interval", "abc"},       {"snmp_port", "70000"},
      {"upload_window", "25:00-01:00"}, {"scan_targets", "10.0.0.0/8"}, {"log_level", "loud"},
      {"v3_auth_proto", "ROT13"},       {"concurrency", "0"},
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    asr_conf_pair p = {cases[i].name, cases[i].value};
    asr_conf_overlay ov = {&p, 1, "site", NULL};
    char line[200], file_err[1400];
    const char *colon;

    n_errs = 0;
    ck_assert_int_eq(asr_conf_check_remote(&ov, &c, collect, NULL), ASR_ERR_PARSE);
    ck_assert_uint_ge(n_errs, 1);
    ck_assert_msg(strncmp(errs[0], "site: ", 6) == 0, "%s", errs[0]);
    ck_assert_int_eq(asr_strlcpy(file_err, errs[0] + 6, sizeof(file_err)), ASR_OK);
    ck_assert_int_eq(asr_fmt(line, sizeof(line), "%s %s\n", cases[i].name, cases[i].value), ASR_OK);
    write_conf(line);
    n_errs = 0;
    ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
    colon = strstr(errs[0], ":1: ");
    ck_assert_ptr_nonnull(colon);
    ck_assert_str_eq(colon + 4, file_err);
  }
}
END_TEST

START_TEST(test_central_check_accepts_and_cross_checks)
{
  asr_conf_pair good[] = {{"scan_targets", "192.0.2.0/28 192.0.2.100"},
                          {"community", "one two"},
                          {"poll_interval", "30m"},
                          {"v3_user", "ops"},
                          {"v3_auth_proto", "SHA"},
                          {"v3_auth_pass", "long enough"}};
  asr_conf_overlay ov = {good, 6, "site", NULL};
  asr_conf_pair cross[] = {{"poll_interval", "2d"}}; /* silent_after stays 1d */
  asr_conf_pair bad[] = {{"v3_auth_pass", "short"}, {"endpoint", "https://192.0.2.1/"}};

  ck_assert_int_eq(asr_conf_check_remote(&ov, &c, collect, NULL), ASR_OK);
  ck_assert_uint_eq(c.n_targets, 2);
  ck_assert_uint_eq(c.n_communities, 2);
  ck_assert_str_eq(c.communities[1], "two");
  ov = (asr_conf_overlay){cross, 1, "site", NULL};
  n_errs = 0;
  ck_assert_int_eq(asr_conf_check_remote(&ov, &c, collect, NULL), ASR_ERR_PARSE);
  /* a check between directives names the configuration too (a site, or an agent of one) */
  ck_assert_msg(strstr(errs[0], "site: silent_after (1d) is shorter than poll_interval (2d)"), "%s",
                errs[0]);
  ov = (asr_conf_overlay){bad, 2, "site", NULL};
  n_errs = 0;
  ck_assert_int_eq(asr_conf_check_remote(&ov, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_uint_eq(n_errs, 2);
  ck_assert_msg(strstr(errs[0], "shorter than 8") && !strstr(errs[0], "short\""), "%s", errs[0]);
  ck_assert_msg(strstr(errs[1], "endpoint: only the configuration file"), "%s", errs[1]);
}
END_TEST

/* ---- precedence ---- */

START_TEST(test_precedence)
{
  asr_conf_pair p[] = {{"poll_interval", "2h"},
                       {"log_level", "debug"},
                       {"scan_targets", "192.0.2.7"},
                       {"community", "from-central"}};
  asr_conf_overlay ov = {p, 4, "remote configuration 3", NULL};
  char v[200];

  write_conf("local poll_interval 30m\nlog_level info\nscan_targets 192.0.2.1\n"
             "community a\ncommunity b\nretention 100d\n");
  ck_assert_int_eq(asr_conf_load_with(path, &ov, &c, collect, NULL), ASR_OK);
  ck_assert_int_eq(c.poll_interval, 1800); /* local: the file wins */
  ck_assert_int_eq(source_of("poll_interval"), ASR_CONF_SRC_LOCAL);
  ck_assert_str_eq(c.log_level, "debug"); /* otherwise the central's */
  ck_assert_int_eq(source_of("log_level"), ASR_CONF_SRC_REMOTE);
  ck_assert_uint_eq(c.n_targets, 1); /* a list is replaced as a whole */
  ck_assert_str_eq(c.targets[0], "192.0.2.7");
  ck_assert_uint_eq(c.n_communities, 1);
  ck_assert_str_eq(c.communities[0], "from-central");
  ck_assert_int_eq(c.retention, 100 * 86400); /* otherwise the file's */
  ck_assert_int_eq(source_of("retention"), ASR_CONF_SRC_FILE);
  ck_assert_int_eq(source_of("silent_after"), ASR_CONF_SRC_DEFAULT);
  ck_assert_str_eq(asr_conf_source_name(ASR_CONF_SRC_REMOTE), "central");
  /* communities are never shown */
  for (size_t i = 0; i < asr_conf_directive_count(); i++) {
    if (strcmp(asr_conf_directive_name(i), "community") == 0) {
      ck_assert_int_eq(asr_conf_format(&c, i, v, sizeof(v)), ASR_OK);
      ck_assert_str_eq(v, "(1 set)");
    }
  }
}
END_TEST

/* The sweep's directives (exclude, target_community, scan_rate) are the central's to set
 * like the others: a list is replaced as a whole (target_community: one "TARGET NAME..."
 * a line), a bad value is named, communities are never shown. */
START_TEST(test_sweep_directives)
{
  asr_conf_pair p[] = {{"exclude", "192.0.2.9 192.0.2.10"},
                       {"target_community", " 192.0.2.0/28 x \n\n192.0.2.64/28 y z"},
                       {"scan_rate", "500"}};
  asr_conf_overlay ov = {p, 3, "remote configuration 4", NULL};
  asr_conf_pair bad[] = {
      {"exclude", "192.0.2.300"}, {"target_community", "192.0.2.0/28"}, {"scan_rate", "0"}};
  char v[200];

  write_conf("scan_targets 192.0.2.0/24\nexclude 192.0.2.5\nexclude 192.0.2.6\n"
             "exclude 192.0.2.7\ntarget_community 192.0.2.0/28 a b\n"
             "target_community 192.0.2.16/28 c\ntarget_community 192.0.2.32/28 d\n"
             "scan_rate 100\n");
  ck_assert_int_eq(asr_conf_load_with(path, &ov, &c, collect, NULL), ASR_OK);
  ck_assert_uint_eq(c.n_excludes, 2);
  ck_assert_str_eq(c.excludes[1], "192.0.2.10");
  ck_assert_uint_eq(c.n_target_communities, 2);
  ck_assert_str_eq(c.target_communities[0], "192.0.2.0/28 x");
  ck_assert_str_eq(c.target_communities[1], "192.0.2.64/28 y z");
  ck_assert_uint_eq(c.scan_rate, 500);
  ck_assert_int_eq(source_of("exclude"), ASR_CONF_SRC_REMOTE);
  ck_assert_int_eq(source_of("target_community"), ASR_CONF_SRC_REMOTE);
  for (size_t i = 0; i < asr_conf_directive_count(); i++) {
    if (strcmp(asr_conf_directive_name(i), "exclude") == 0) {
      ck_assert_int_eq(asr_conf_format(&c, i, v, sizeof(v)), ASR_OK);
      ck_assert_str_eq(v, "192.0.2.9 192.0.2.10");
    }
    if (strcmp(asr_conf_directive_name(i), "target_community") == 0) {
      ck_assert_int_eq(asr_conf_format(&c, i, v, sizeof(v)), ASR_OK);
      ck_assert_str_eq(v, "(2 set)");
    }
  }
  ov = (asr_conf_overlay){bad, 3, "site", NULL};
  n_errs = 0;
  ck_assert_int_eq(asr_conf_check_remote(&ov, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_uint_eq(n_errs, 3);
  ck_assert_msg(strstr(errs[0], "exclude: ") && strstr(errs[0], "192.0.2.300"), "%s", errs[0]);
  ck_assert_msg(strstr(errs[1], "target_community: ") && strstr(errs[1], "its communities"), "%s",
                errs[1]);
  ck_assert_msg(strstr(errs[2], "scan_rate"), "%s", errs[2]);
}
END_TEST

START_TEST(test_remote_config_off)
{
  asr_conf_pair p[] = {{"log_level", "debug"}};
  asr_conf_overlay ov = {p, 1, "remote configuration 3", NULL};

  write_conf("log_level info\nremote_config off\n");
  ck_assert_int_eq(asr_conf_load_with(path, &ov, &c, collect, NULL), ASR_OK);
  ck_assert_str_eq(c.log_level, "info");
  ck_assert_int_eq(c.remote_config, 0);
  write_conf("remote_config maybe\n");
  n_errs = 0;
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_msg(strstr(errs[0], "expected on or off"), "%s", errs[0]);
}
END_TEST

START_TEST(test_local_syntax)
{
  write_conf("local\n");
  n_errs = 0;
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_msg(strstr(errs[0], ":1: local: expected 'local NAME VALUE'"), "%s", errs[0]);
  write_conf("local database /tmp/x.db\n");
  n_errs = 0;
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_msg(strstr(errs[0], "only what the central may set"), "%s", errs[0]);
  write_conf("local poll_interval 5s\n");
  n_errs = 0;
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_msg(strstr(errs[0], ":1: poll_interval: '5s': out of range"), "%s", errs[0]);
}
END_TEST

START_TEST(test_overlay_bad_values_named)
{
  asr_conf_pair p[] = {{"poll_interval", "1s"}, {"log_level", "de\nbug"}, {"proxy", "none"}};
  asr_conf_overlay ov = {p, 3, "remote configuration 9", NULL};

  write_conf("log_level info\n");
  n_errs = 0;
  ck_assert_int_eq(asr_conf_load_with(path, &ov, &c, collect, NULL), ASR_ERR_PARSE);
  ck_assert_uint_eq(n_errs, 3);
  ck_assert_str_eq(errs[0], "remote configuration 9: poll_interval: '1s': out of range (1m to 7d)");
  ck_assert_str_eq(errs[1], "remote configuration 9: log_level: control character in the value");
  ck_assert_str_eq(errs[2],
                   "remote configuration 9: proxy: only the configuration file may set it");
}
END_TEST

/* ---- the signed answer ---- */

/* An answer body as the central makes it, signed with key. */
static char *answer(const char *key, const char *agent, int64_t version, int64_t at)
{
  char doc[512], sig[80];
  json_t *o;
  char *text;

  ck_assert_int_eq(
      asr_fmt(doc, sizeof(doc),
              "{\"agent_id\":\"%s\",\"issued_at\":%lld,\"secrets\":{},\"values\":{\"log_level\":"
              "\"debug\"},\"version\":%lld}",
              agent, (long long)at, (long long)version),
      ASR_OK);
  ck_assert_int_eq(
      asr_sign_request(key, "CONFIG", "/v1/config", at, doc, strlen(doc), sig, sizeof(sig)),
      ASR_OK);
  o = json_pack("{s:s,s:s}", "config", doc, "signature", sig);
  text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

START_TEST(test_verify)
{
  int64_t now = 1800000000;
  char err[256];
  asr_remote_doc d;
  char *good = answer(SECRET, AGENT, 7, now - 10);
  char *forged =
      answer("ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", AGENT, 7, now);
  char *other = answer(SECRET, "ag_ffffffffffffffffffffffffffffffff", 7, now);
  char *stale = answer(SECRET, AGENT, 7, now - 301);
  char *tampered = strdup(good);
  char *p = strstr(tampered, "debug");

  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, good, now, &d, err, sizeof(err)), ASR_OK);
  ck_assert_int_eq(d.version, 7);
  ck_assert_ptr_nonnull(strstr(d.doc, "\\\"debug\\\"") ? d.doc : strstr(d.doc, "debug"));
  asr_remote_doc_free(&d);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, forged, now, &d, err, sizeof(err)),
                   ASR_ERR_AUTH);
  ck_assert_msg(strstr(err, "signature does not match"), "%s", err);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, other, now, &d, err, sizeof(err)),
                   ASR_ERR_AUTH);
  ck_assert_msg(strstr(err, "another agent"), "%s", err);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, stale, now, &d, err, sizeof(err)),
                   ASR_ERR_AUTH);
  ck_assert_msg(strstr(err, "300 s"), "%s", err);
  ck_assert_ptr_nonnull(p);
  memcpy(p, "DEBUG", 5);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, tampered, now, &d, err, sizeof(err)),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, "{\"config\":1}", now, &d, err, sizeof(err)),
                   ASR_ERR_PROTOCOL);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, "not json", now, &d, err, sizeof(err)),
                   ASR_ERR_PROTOCOL);
  ck_assert_int_eq(asr_remote_verify(SECRET, AGENT, NULL, now, &d, err, sizeof(err)),
                   ASR_ERR_PROTOCOL);
  free(good);
  free(forged);
  free(other);
  free(stale);
  free(tampered);
}
END_TEST

/* ---- pass phrases at rest ---- */

START_TEST(test_seal)
{
  char sealed[ASR_SEAL_TEXT_MAX], again[ASR_SEAL_TEXT_MAX], out[ASR_SEAL_MAX_PLAIN + 1];
  const char *other = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

  ck_assert_int_eq(asr_seal(SECRET, "site:1:v3_auth_pass", "pass phrase 1", sealed, sizeof(sealed)),
                   ASR_OK);
  ck_assert_ptr_null(strstr(sealed, "pass"));
  ck_assert_int_eq(asr_unseal(SECRET, "site:1:v3_auth_pass", sealed, out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "pass phrase 1");
  /* a fresh nonce each time */
  ck_assert_int_eq(asr_seal(SECRET, "site:1:v3_auth_pass", "pass phrase 1", again, sizeof(again)),
                   ASR_OK);
  ck_assert_str_ne(sealed, again);
  /* another key, another place, a flipped byte: refused */
  ck_assert_int_eq(asr_unseal(other, "site:1:v3_auth_pass", sealed, out, sizeof(out)),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_unseal(SECRET, "site:2:v3_auth_pass", sealed, out, sizeof(out)),
                   ASR_ERR_AUTH);
  sealed[10] = sealed[10] == '0' ? '1' : '0';
  ck_assert_int_eq(asr_unseal(SECRET, "site:1:v3_auth_pass", sealed, out, sizeof(out)),
                   ASR_ERR_AUTH);
  ck_assert_int_eq(asr_unseal(SECRET, "x", "plain text", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_unseal(SECRET, "x", "g1:abc", out, sizeof(out)), ASR_ERR_INVALID);
  ck_assert_int_eq(asr_seal("short", "x", "p", sealed, sizeof(sealed)), ASR_ERR_INVALID);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("remoteconf");
  TCase *t = tcase_create("core");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, test_remote_keys);
  tcase_add_test(t, test_config_checkin);
  tcase_add_test(t, test_central_check_is_the_file_check);
  tcase_add_test(t, test_central_check_accepts_and_cross_checks);
  tcase_add_test(t, test_precedence);
  tcase_add_test(t, test_sweep_directives);
  tcase_add_test(t, test_remote_config_off);
  tcase_add_test(t, test_local_syntax);
  tcase_add_test(t, test_overlay_bad_values_named);
  tcase_add_test(t, test_verify);
  tcase_add_test(t, test_seal);
  suite_add_tcase(s, t);
  return s;
}

int main(void)
{
  SRunner *r = srunner_create(suite());
  int failed;

  srunner_run_all(r, CK_NORMAL);
  failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
