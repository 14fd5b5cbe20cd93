/* check_confwrite.c: agent/confwrite.c, the configuration from installer properties
 * (`asr-agent config write|import`). Real files under a temporary directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "agent/confwrite.h"
#include "common/util.h"

static char dir[256], path[300], dbdir[300], token[320], puser[320];
static char errs[32][800];
static size_t n_errs;
static asr_confwrite_props props;

static void collect(const char *msg, void *ctx)
{
  (void)ctx;
  if (n_errs < 32)
    ck_assert_int_eq(asr_strlcpy(errs[n_errs], msg, sizeof(errs[0])), ASR_OK);
  n_errs++;
}

static void setup(void)
{
  ck_assert_int_eq(asr_strlcpy(dir, "/tmp/check_confwrite.XXXXXX", sizeof(dir)), ASR_OK);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/asr-agent.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(dbdir, sizeof(dbdir), "%s/db", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(token, sizeof(token), "%s/db/site-token", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(puser, sizeof(puser), "%s/proxy-user", dir), ASR_OK);
  memset(&props, 0, sizeof(props));
  n_errs = 0;
}

static void teardown(void)
{
  char p[340];

  unlink(token);
  rmdir(dbdir);
  unlink(puser);
  unlink(path);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.new", path), ASR_OK);
  unlink(p);
  rmdir(dir);
}

static void write_text(const char *p, const char *text)
{
  FILE *f = fopen(p, "wb");

  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
}

/* The whole file at p into buf ("" when missing). */
static void read_text(const char *p, char *buf, size_t n)
{
  FILE *f = fopen(p, "rb");
  size_t len = 0;

  buf[0] = '\0';
  if (!f)
    return;
  len = fread(buf, 1, n - 1, f);
  buf[len] = '\0';
  fclose(f);
}

/* A configuration whose database (and so the token) lives in dir/db. */
static void base_conf(const char *extra)
{
  char text[1024];

  ck_assert_int_eq(asr_fmt(text, sizeof(text),
                           "# by hand\ndatabase %s/agent.db\nlog_level debug\n%s", dbdir, extra),
                   ASR_OK);
  write_text(path, text);
}

static void set(const char *line)
{
  char err[256];

  ck_assert_int_eq(asr_confwrite_parse_line(&props, line, err, sizeof(err)), ASR_OK);
}

static bool any_error_has(const char *needle)
{
  for (size_t i = 0; i < n_errs && i < 32; i++)
    if (strstr(errs[i], needle))
      return true;
  return false;
}

START_TEST(test_parse_line)
{
  char err[256];

  set("ENDPOINT=https://c.example/asr\n");
  ck_assert_str_eq(props.v[ASR_PROP_ENDPOINT], "https://c.example/asr");
  set("  scan_targets = 10.0.0.1 10.0.0.2 \r\n"); /* case, blanks, CRLF */
  ck_assert_str_eq(props.v[ASR_PROP_SCAN_TARGETS], "10.0.0.1 10.0.0.2");
  set("# a comment");
  set("");
  set("COMMUNITY=");
  ck_assert_str_eq(props.v[ASR_PROP_COMMUNITY], "");
  ck_assert_int_eq(asr_confwrite_parse_line(&props, "PASSWORD=hunter2", err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_ptr_nonnull(strstr(err, "unknown property 'PASSWORD'"));
  ck_assert_ptr_null(strstr(err, "hunter2"));
  ck_assert_int_eq(asr_confwrite_parse_line(&props, "s3cret-without-name", err, sizeof(err)),
                   ASR_ERR_INVALID);
  ck_assert_ptr_null(strstr(err, "s3cret"));
  {
    char big[2 * ASR_CONFWRITE_VALUE_MAX];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "PROXY=", 6);
    ck_assert_int_eq(asr_confwrite_parse_line(&props, big, err, sizeof(err)), ASR_ERR_TOO_LARGE);
  }
  ck_assert_str_eq(asr_confwrite_name(ASR_PROP_SITE_TOKEN), "SITE_TOKEN");
  ck_assert(asr_confwrite_is_secret(ASR_PROP_COMMUNITY));
  ck_assert(!asr_confwrite_is_secret(ASR_PROP_ENDPOINT));
}
END_TEST

/* Each bad value is refused with its property's name and never echoes a secret. */
START_TEST(test_check_values)
{
  static const struct {
    asr_confwrite_prop p;
    const char *v;
    const char *says;
  } bad[] = {
      {ASR_PROP_ENDPOINT, "ftp://c.example/", "ENDPOINT: 'ftp://c.example/'"},
      {ASR_PROP_ENDPOINT, "http://c.example/", "ENDPOINT"}, /* http off loopback */
      {ASR_PROP_ENDPOINT, "not a url", "ENDPOINT"},
      {ASR_PROP_SITE_TOKEN, "ST_UPPER_secretvalue", "SITE_TOKEN: malformed"},
      {ASR_PROP_SITE_TOKEN, "st_a;rm -rf secretvalue", "SITE_TOKEN"},
      {ASR_PROP_COMMUNITY, "#secretvalue", "COMMUNITY"},
      {ASR_PROP_COMMUNITY, " , ", "COMMUNITY"},
      {ASR_PROP_COMMUNITY, "ok\tsecretvalue\x01", "COMMUNITY: control characters"},
      {ASR_PROP_PROXY, "proxy.example:3128", "PROXY"},
      {ASR_PROP_PROXY, "http://secretvalue@proxy:3128", "PROXY"}, /* no ':' password */
      {ASR_PROP_PROXY, "http://:secretvalue@proxy:3128", "PROXY"},
      {ASR_PROP_SCAN_TARGETS, "10.0.0.1\n10.0.0.2", "SCAN_TARGETS: control"},
  };

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    memset(&props, 0, sizeof(props));
    n_errs = 0;
    ck_assert_int_eq(asr_strlcpy(props.v[bad[i].p], bad[i].v, sizeof(props.v[0])), ASR_OK);
    ck_assert_int_eq(asr_confwrite_check(&props, collect, NULL), ASR_ERR_INVALID);
    ck_assert_uint_eq(n_errs, 1);
    ck_assert_msg(strstr(errs[0], bad[i].says), "%zu: %s", i, errs[0]);
    ck_assert_msg(!strstr(errs[0], "secretvalue"), "%zu leaks: %s", i, errs[0]);
  }
  memset(&props, 0, sizeof(props));
  set("ENDPOINT=http://127.0.0.1:8443/asr"); /* loopback may be http */
  set("SITE_TOKEN=st_0123456789abcdef0123456789abcdef");
  set("COMMUNITY=public, private;other");
  set("PROXY=none");
  ck_assert_int_eq(asr_confwrite_check(&props, collect, NULL), ASR_OK);
}
END_TEST

START_TEST(test_first_write)
{
  char text[4096], tok[128], user[128];
  asr_conf c;
  struct stat st;

  base_conf("");
  set("ENDPOINT=https://central.example.net/asr");
  set("SITE_TOKEN=st_0123456789abcdef0123456789abcdef");
  set("SCAN_TARGETS=192.0.2.0/28, 198.51.100.7");
  set("COMMUNITY=public,s3cret");
  set("PROXY=http://bob:pw@proxy.example:3128");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_uint_eq(n_errs, 0);
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_OK);
  ck_assert_str_eq(c.endpoint, "https://central.example.net/asr");
  ck_assert_uint_eq(c.n_targets, 2);
  ck_assert_str_eq(c.targets[1], "198.51.100.7");
  ck_assert_uint_eq(c.n_communities, 2);
  ck_assert_str_eq(c.communities[1], "s3cret");
  ck_assert_str_eq(c.proxy, "http://proxy.example:3128"); /* credentials split off */
  ck_assert_str_eq(c.proxy_user_file, puser);
  ck_assert_str_eq(c.log_level, "debug"); /* the hand-written lines stay */
  read_text(path, text, sizeof(text));
  ck_assert_ptr_nonnull(strstr(text, "# by hand\n"));
  ck_assert_ptr_null(strstr(text, "st_0123")); /* the token is not in the file */
  read_text(token, tok, sizeof(tok));
  ck_assert_str_eq(tok, "st_0123456789abcdef0123456789abcdef\n");
  read_text(puser, user, sizeof(user));
  ck_assert_str_eq(user, "bob:pw\n");
  ck_assert_int_eq(stat(token, &st), 0);
  ck_assert_int_eq(st.st_mode & 077, 0);
  ck_assert_int_eq(stat(puser, &st), 0);
  ck_assert_int_eq(st.st_mode & 077, 0);
  ck_assert_int_eq(stat(path, &st), 0); /* it holds communities */
  ck_assert_int_eq(st.st_mode & 07, 0);
}
END_TEST

/* An upgrade or repair: empty properties keep the file; given ones replace theirs. */
START_TEST(test_merge_keeps)
{
  char before[4096], after[4096];
  asr_conf c;

  base_conf("endpoint https://old.example/asr\ncommunity old1\ncommunity old2\n"
            "scan_targets 10.1.0.0/24\n");
  set("COMMUNITY=new");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_OK);
  ck_assert_str_eq(c.endpoint, "https://old.example/asr");
  ck_assert_uint_eq(c.n_communities, 1);
  ck_assert_str_eq(c.communities[0], "new");
  ck_assert_uint_eq(c.n_targets, 1);
  ck_assert_int_eq(access(token, F_OK), -1); /* no token given, none written */
  /* nothing given: the file stays byte for byte */
  read_text(path, before, sizeof(before));
  memset(&props, 0, sizeof(props));
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  read_text(path, after, sizeof(after));
  ck_assert_str_eq(before, after);
  /* the same property twice: one marker, the new value */
  set("COMMUNITY=newer");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  read_text(path, after, sizeof(after));
  ck_assert_ptr_null(strstr(after, "community new\n"));
  ck_assert_ptr_nonnull(strstr(after, "community newer\n"));
  ck_assert_ptr_nonnull(strstr(after, "# set by"));
  ck_assert_ptr_null(strstr(strstr(after, "# set by") + 1, "# set by"));
}
END_TEST

/* A bad value or a result that does not parse leaves everything as it was. */
START_TEST(test_bad_changes_nothing)
{
  char before[4096], after[4096], tmp[340];

  base_conf("endpoint https://old.example/asr\n");
  read_text(path, before, sizeof(before));
  set("ENDPOINT=https//missing-colon.example");
  set("SITE_TOKEN=st_0123456789abcdef0123456789abcdef");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_ERR_INVALID);
  ck_assert(any_error_has("ENDPOINT"));
  read_text(path, after, sizeof(after));
  ck_assert_str_eq(before, after);
  ck_assert_int_eq(access(token, F_OK), -1);
  /* valid properties, but the file they land in has an error: nothing written */
  memset(&props, 0, sizeof(props));
  n_errs = 0;
  base_conf("poll_interval banana\n");
  read_text(path, before, sizeof(before));
  set("ENDPOINT=https://c.example/asr");
  set("SITE_TOKEN=st_0123456789abcdef0123456789abcdef");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_ERR_PARSE);
  ck_assert(any_error_has("poll_interval"));
  read_text(path, after, sizeof(after));
  ck_assert_str_eq(before, after);
  ck_assert_int_eq(access(token, F_OK), -1);
  ck_assert_int_eq(asr_fmt(tmp, sizeof(tmp), "%s.new", path), ASR_OK);
  ck_assert_int_eq(access(tmp, F_OK), -1);
  /* too many targets for the configuration: refused by the parser */
  memset(&props, 0, sizeof(props));
  n_errs = 0;
  base_conf("");
  set("SCAN_TARGETS=10.0.0.0/8");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_ERR_PARSE);
  ck_assert_uint_ge(n_errs, 1);
}
END_TEST

/* A missing file is created, with a header and the defaults for the rest. */
START_TEST(test_new_file_and_import)
{
  char text[2048], p[340];
  asr_conf c;

  set("ENDPOINT=https://c.example/asr");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  read_text(path, text, sizeof(text));
  ck_assert_ptr_nonnull(strstr(text, "asr-agent.conf(5)"));
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_OK);
  ck_assert_str_eq(c.endpoint, "https://c.example/asr");
  /* a missing folder is created, private; two missing levels are an error */
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s/new/asr-agent.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_confwrite_apply(p, &props, collect, NULL), ASR_OK);
  {
    struct stat st;
    char d[340];

    ck_assert_int_eq(asr_fmt(d, sizeof(d), "%s/new", dir), ASR_OK);
    ck_assert_int_eq(stat(d, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0);
    unlink(p);
    rmdir(d);
  }
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s/nope/deeper/asr-agent.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_confwrite_apply(p, &props, collect, NULL), ASR_ERR_IO);
  /* POSIX has no installer values */
  ck_assert_int_eq(asr_confwrite_import(path, true, collect, NULL), ASR_ERR_NOT_FOUND);
}
END_TEST

/* The installer's transaction: undo puts every file back, commit keeps the new ones. */
START_TEST(test_save_undo_commit)
{
  char before[4096], after[4096], p[400];

  base_conf("endpoint https://old.example/asr\n");
  read_text(path, before, sizeof(before));
  ck_assert_int_eq(asr_confwrite_save(path, collect, NULL), ASR_OK);
  set("ENDPOINT=https://new.example/asr");
  set("SITE_TOKEN=st_0123456789abcdef0123456789abcdef");
  set("PROXY=http://bob:pw@proxy.example:3128");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(access(token, F_OK), 0);
  ck_assert_int_eq(access(puser, F_OK), 0);
  ck_assert_int_eq(asr_confwrite_undo(path, collect, NULL), ASR_OK);
  read_text(path, after, sizeof(after));
  ck_assert_str_eq(before, after);
  ck_assert_int_eq(access(token, F_OK), -1); /* did not exist before: deleted */
  ck_assert_int_eq(access(puser, F_OK), -1);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback", path), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1); /* no copy left */
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback-none", token), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1);
  /* undo without a save: nothing changes */
  ck_assert_int_eq(asr_confwrite_undo(path, collect, NULL), ASR_OK);
  read_text(path, after, sizeof(after));
  ck_assert_str_eq(before, after);
  /* save, apply, commit: the new files stay, the copies go */
  ck_assert_int_eq(asr_confwrite_save(path, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  asr_confwrite_commit(path);
  read_text(path, after, sizeof(after));
  ck_assert_ptr_nonnull(strstr(after, "endpoint https://new.example/asr\n"));
  ck_assert_int_eq(access(token, F_OK), 0);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback", path), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback-none", puser), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1);
  ck_assert_uint_eq(n_errs, 0);
}
END_TEST

/* A PROXY without credentials drops the proxy_user_file line and the old proxy-user file
 * (a password); an undo puts the file back. */
START_TEST(test_proxy_without_user_drops_file)
{
  char text[4096], user[128];
  asr_conf c;

  base_conf("");
  set("PROXY=http://bob:pw@proxy.example:3128");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(access(puser, F_OK), 0);
  memset(&props, 0, sizeof(props));
  set("PROXY=http://proxy2.example:3128");
  ck_assert_int_eq(asr_confwrite_save(path, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(access(puser, F_OK), -1); /* the old password is gone */
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_OK);
  ck_assert_str_eq(c.proxy, "http://proxy2.example:3128");
  read_text(path, text, sizeof(text));
  ck_assert_ptr_null(strstr(text, "proxy_user_file"));
  ck_assert_int_eq(asr_confwrite_undo(path, collect, NULL), ASR_OK);
  read_text(puser, user, sizeof(user));
  ck_assert_str_eq(user, "bob:pw\n"); /* the rollback restores it */
  ck_assert_uint_eq(n_errs, 0);
}
END_TEST

/* The service's log is not part of the installer's transaction: an undo neither deletes
 * nor restores it, and no copy of it is made. */
START_TEST(test_undo_keeps_log)
{
  char log[340], p[360], text[256];

  ck_assert_int_eq(asr_fmt(log, sizeof(log), "%s/asr-agent.log", dir), ASR_OK);
  base_conf("");
  write_text(log, "before\n");
  ck_assert_int_eq(asr_confwrite_save(path, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback", log), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1); /* no copy of the log */
  write_text(log, "before\nthe service logged this\n");
  set("ENDPOINT=https://new.example/asr");
  ck_assert_int_eq(asr_confwrite_apply(path, &props, collect, NULL), ASR_OK);
  ck_assert_int_eq(asr_confwrite_undo(path, collect, NULL), ASR_OK);
  read_text(log, text, sizeof(text));
  ck_assert_str_eq(text, "before\nthe service logged this\n"); /* not restored */
  unlink(log);
  /* a log that did not exist at the save is not deleted by the undo */
  ck_assert_int_eq(asr_confwrite_save(path, collect, NULL), ASR_OK);
  write_text(log, "new\n");
  ck_assert_int_eq(asr_confwrite_undo(path, collect, NULL), ASR_OK);
  ck_assert_int_eq(access(log, F_OK), 0);
  ck_assert_int_eq(asr_fmt(p, sizeof(p), "%s.rollback-none", log), ASR_OK);
  ck_assert_int_eq(access(p, F_OK), -1);
  unlink(log);
  ck_assert_uint_eq(n_errs, 0);
}
END_TEST

START_TEST(test_token_path)
{
  asr_conf c;
  char out[600];

  asr_conf_defaults(&c);
  ck_assert_int_eq(asr_strlcpy(c.database, "/var/lib/asr-agent/agent.db", sizeof(c.database)),
                   ASR_OK);
  ck_assert_int_eq(asr_conf_token_path(&c, out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "/var/lib/asr-agent/site-token");
  ck_assert_int_eq(asr_strlcpy(c.database, "agent.db", sizeof(c.database)), ASR_OK); /* no folder */
  ck_assert_int_eq(asr_conf_token_path(&c, out, sizeof(out)), ASR_OK);
  ck_assert_str_eq(out, "site-token");
  ck_assert_int_eq(asr_conf_token_path(&c, out, 10), ASR_ERR_TOO_LARGE);
  ck_assert_str_eq(asr_conf_path("/x.conf"), "/x.conf");
  ck_assert_str_eq(asr_conf_path(NULL), ASR_CONF_DEFAULT_PATH);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("confwrite");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_parse_line);
  tcase_add_test(tc, test_check_values);
  tcase_add_test(tc, test_first_write);
  tcase_add_test(tc, test_merge_keeps);
  tcase_add_test(tc, test_bad_changes_nothing);
  tcase_add_test(tc, test_new_file_and_import);
  tcase_add_test(tc, test_save_undo_commit);
  tcase_add_test(tc, test_proxy_without_user_drops_file);
  tcase_add_test(tc, test_undo_keeps_log);
  tcase_add_test(tc, test_token_path);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
