/* check_config.c: conf/conf.c, the configuration file. Files are written under a
 * temporary directory; nothing is resolved or sent (host names are only checked). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "common/platform.h"
#include "common/util.h"
#include "tests/unit/testutil.h"

static char dir[256], path[300], secrets[300];
static char errs[64][1400];
static size_t n_errs;
static asr_conf c;

static void collect(const char *msg, void *ctx)
{
  (void)ctx;
  if (n_errs < 64)
    ck_assert_int_eq(asr_strlcpy(errs[n_errs], msg, sizeof(errs[0])), ASR_OK);
  n_errs++;
}

static void setup(void)
{
  tu_tmpdir("check_config", dir, sizeof(dir));
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/asr-agent.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_fmt(secrets, sizeof(secrets), "%s/secrets", dir), ASR_OK);
  n_errs = 0;
}

static void teardown(void)
{
  tu_rmtree(dir);
}

static void write_file(const char *p, const char *text, size_t len, unsigned mode)
{
  FILE *f = fopen(p, "wb");

  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(text, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(tu_chmod(p, mode), 0);
}

/* Loads text as the configuration file. */
static asr_result load(const char *text)
{
  n_errs = 0;
  write_file(path, text, strlen(text), 0644);
  return asr_conf_load(path, &c, collect, NULL);
}

/* Expects text to fail with exactly one error "path:line: want". */
static void bad(const char *text, int line, const char *want)
{
  char full[1400];

  ck_assert_int_eq(load(text), ASR_ERR_PARSE);
  ck_assert_uint_eq(n_errs, 1);
  ck_assert_int_eq(asr_fmt(full, sizeof(full), "%s:%d: %s", path, line, want), ASR_OK);
  ck_assert_str_eq(errs[0], full);
}

static void good(const char *text)
{
  asr_result r = load(text);

  if (r != ASR_OK)
    ck_abort_msg("'%s' refused: %s", text, n_errs ? errs[0] : "?");
}

START_TEST(test_defaults)
{
  char want[512];

  /* the default resolved as the platform does (%ProgramData% on Windows) */
  ck_assert_int_eq(asr_platform_path(ASR_STATEDIR "/agent.db", want, sizeof(want)), ASR_OK);
  asr_conf_defaults(&c);
  ck_assert_str_eq(c.database, want);
  ck_assert_str_eq(c.secrets_file, "");
  ck_assert_str_eq(c.endpoint, "");
  ck_assert_uint_eq(c.n_targets, 0);
  ck_assert_uint_eq(c.n_communities, 1);
  ck_assert_str_eq(c.communities[0], "public");
  ck_assert_uint_eq(c.snmp_port, 161);
  ck_assert_uint_eq(c.snmp_timeout_ms, 1000);
  ck_assert_uint_eq(c.snmp_retries, 1);
  ck_assert_uint_eq(c.concurrency, 256);
  ck_assert_int_eq(c.discovery_interval, 86400);
  ck_assert_int_eq(c.poll_interval, 3600);
  ck_assert_int_eq(c.upload_window_start, 60);
  ck_assert_int_eq(c.upload_window_end, 300);
  ck_assert_int_eq(c.silent_after, 86400);
  ck_assert_uint_eq(c.silent_min_failures, 3);
  ck_assert_int_eq(c.disconnected_after, 7 * 86400);
  ck_assert_int_eq(c.upload_warning_after, 2 * 86400);
  ck_assert_int_eq(c.upload_critical_after, 7 * 86400);
  ck_assert_int_eq(c.retention, 400 * 86400);
  ck_assert_uint_eq(c.outbox_max_mb, 100);
  ck_assert_str_eq(c.log_level, "info");
  /* an empty file is the defaults */
  good("# nothing\n\n   \n");
  ck_assert_int_eq(c.poll_interval, 3600);
  ck_assert_uint_eq(c.n_communities, 1);
}
END_TEST

/* The outbox bound (issue 10): MB, 1 to 1000000, reloadable. */
START_TEST(test_outbox_max_mb)
{
  good("outbox_max_mb 250\n");
  ck_assert_uint_eq(c.outbox_max_mb, 250);
  good("outbox_max_mb 1\n");
  ck_assert_uint_eq(c.outbox_max_mb, 1);
  good("outbox_max_mb 1000000\n");
  ck_assert_uint_eq(c.outbox_max_mb, 1000000);
  bad("outbox_max_mb 0\n", 1, "outbox_max_mb: '0': expected a whole number from 1 to 1000000");
  bad("\noutbox_max_mb 1000001\n", 2,
      "outbox_max_mb: '1000001': expected a whole number from 1 to 1000000");
  bad("outbox_max_mb 100MB\n", 1,
      "outbox_max_mb: '100MB': expected a whole number from 1 to 1000000");
  bad("outbox_max_mb -5\n", 1, "outbox_max_mb: '-5': expected a whole number from 1 to 1000000");
}
END_TEST

START_TEST(test_directive_table)
{
  size_t n = asr_conf_directive_count();

  ck_assert_uint_ge(n, 30);
  for (size_t i = 0; i < n; i++) {
    const char *name = asr_conf_directive_name(i);

    ck_assert_ptr_nonnull(name);
    ck_assert_ptr_nonnull(asr_conf_default(name));
    ck_assert_int_ge(asr_conf_reloadable(name), 0);
  }
  ck_assert_ptr_null(asr_conf_directive_name(n));
  ck_assert_int_eq(asr_conf_reloadable("database"), 0);
  ck_assert_int_eq(asr_conf_reloadable("secrets_file"), 0);
  ck_assert_int_eq(asr_conf_reloadable("poll_interval"), 1);
  ck_assert_int_eq(asr_conf_reloadable("nope"), -1);
  ck_assert_str_eq(asr_conf_default("poll_interval"), "1h");
  ck_assert_str_eq(asr_conf_default("outbox_max_mb"), "100");
  ck_assert_int_eq(asr_conf_reloadable("outbox_max_mb"), 1);
  ck_assert_ptr_null(asr_conf_default("nope"));
}
END_TEST

START_TEST(test_durations)
{
  static const struct {
    const char *s;
    int64_t v;
  } ok[] = {{"3600", 3600}, {"90s", 90},     {"15m", 900}, {"24h", 86400},
            {"7d", 604800}, {"2w", 1209600}, {"0", 0}};
  static const char *const no[] = {"",
                                   "h",
                                   "1x",
                                   "1hh",
                                   "1 h",
                                   "-1",
                                   "1.5h",
                                   "+3",
                                   "99999999999999999999",
                                   "9999999999999999999d"};
  int64_t v;

  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    ck_assert_int_eq(asr_conf_parse_duration(ok[i].s, &v), ASR_OK);
    ck_assert_int_eq(v, ok[i].v);
  }
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    ck_assert_msg(asr_conf_parse_duration(no[i], &v) == ASR_ERR_INVALID, "'%s' taken", no[i]);
  good("poll_interval 90m\ndiscovery_interval 2d\nsilent_after 36h\n");
  ck_assert_int_eq(c.poll_interval, 5400);
  ck_assert_int_eq(c.discovery_interval, 172800);
  ck_assert_int_eq(c.silent_after, 129600);
  bad("poll_interval 59s\n", 1, "poll_interval: '59s': out of range (1m to 7d)");
  bad("poll_interval 8d\n", 1, "poll_interval: '8d': out of range (1m to 7d)");
  bad("discovery_interval 59m\n", 1, "discovery_interval: '59m': out of range (1h to 30d)");
  bad("\ndiscovery_interval 31d\n", 2, "discovery_interval: '31d': out of range (1h to 30d)");
  bad("retention soon\n", 1,
      "retention: 'soon': expected a duration (seconds, or a number with s, m, h, d or w)");
}
END_TEST

START_TEST(test_numbers)
{
  good("snmp_port 1161\nsnmp_timeout 250\nsnmp_retries 0\nconcurrency 900\n"
       "silent_min_failures 5\n");
  ck_assert_uint_eq(c.snmp_port, 1161);
  ck_assert_uint_eq(c.snmp_timeout_ms, 250);
  ck_assert_uint_eq(c.snmp_retries, 0);
  ck_assert_uint_eq(c.concurrency, 900);
  ck_assert_uint_eq(c.silent_min_failures, 5);
  good("snmp_timeout 2s\n");
  ck_assert_uint_eq(c.snmp_timeout_ms, 2000);
  good("snmp_timeout 60000ms\nsnmp_port 65535\n");
  ck_assert_uint_eq(c.snmp_timeout_ms, 60000);
  bad("snmp_port 0\n", 1, "snmp_port: '0': expected a whole number from 1 to 65535");
  bad("snmp_port 65536\n", 1, "snmp_port: '65536': expected a whole number from 1 to 65535");
  bad("snmp_port 16x\n", 1, "snmp_port: '16x': expected a whole number from 1 to 65535");
  bad("snmp_timeout 9\n", 1,
      "snmp_timeout: '9': expected a whole number from 10 to 60000 (milliseconds)");
  bad("snmp_timeout 61s\n", 1,
      "snmp_timeout: '61s': expected a whole number from 10 to 60000 (milliseconds)");
  bad("snmp_retries 11\n", 1, "snmp_retries: '11': expected a whole number from 0 to 10");
  bad("concurrency 0\n", 1, "concurrency: '0': expected a whole number from 1 to 900");
  bad("concurrency 901\n", 1, "concurrency: '901': expected a whole number from 1 to 900");
  bad("concurrency 10 20\n", 1, "concurrency: unexpected '20' after the value");
  bad("concurrency\n", 1, "concurrency: missing value");
}
END_TEST

START_TEST(test_windows)
{
  good("upload_window 22:30-02:15\n"); /* wraps midnight */
  ck_assert_int_eq(c.upload_window_start, 22 * 60 + 30);
  ck_assert_int_eq(c.upload_window_end, 2 * 60 + 15);
  good("upload_window 0:00-23:59\n");
  ck_assert_int_eq(c.upload_window_start, 0);
  ck_assert_int_eq(c.upload_window_end, 23 * 60 + 59);
  bad("upload_window 03:00-03:00\n", 1,
      "upload_window: '03:00-03:00': the window is empty (start equals end)");
  static const char *const no[] = {"24:00-01:00",  "01:60-02:00",  "1-2",
                                   "01:00",        "01:00-",       "01:0-02:00",
                                   "001:00-02:00", "01:00-02:00x", "01:00_02:00"};
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    char text[100], want[200];

    ck_assert_int_eq(asr_fmt(text, sizeof(text), "upload_window %s\n", no[i]), ASR_OK);
    ck_assert_int_eq(asr_fmt(want, sizeof(want),
                             "upload_window: '%s': expected HH:MM-HH:MM (UTC, 00:00 to 23:59)",
                             no[i]),
                     ASR_OK);
    bad(text, 1, want);
  }
}
END_TEST

START_TEST(test_strings_and_paths)
{
  good("database /var/tmp/a.db\nendpoint https://central.example.net:8443/asr\n"
       "ca_file /etc/ssl/ca.pem\nca_path /etc/ssl/certs\npin sha256//AbC+/=\n"
       "client_cert /etc/asr/c.pem\nclient_key /etc/asr/k.pem\nproxy http://proxy:3128\n"
       "proxy_user_file /etc/asr/proxy\nv3_user monitor\nv3_context ctx\nlog_level DEBUG\n");
  ck_assert_str_eq(c.database, "/var/tmp/a.db");
  ck_assert_str_eq(c.endpoint, "https://central.example.net:8443/asr");
  ck_assert_str_eq(c.pin, "sha256//AbC+/=");
  ck_assert_str_eq(c.proxy, "http://proxy:3128");
  ck_assert_str_eq(c.v3_user, "monitor");
  ck_assert_str_eq(c.log_level, "debug");
  ck_assert_uint_eq(c.n_communities, 0); /* v3 only: no default community */
  good("endpoint http://127.0.0.1:8080\nproxy none\n");
  ck_assert_str_eq(c.proxy, "none");
  bad("endpoint http://central.example.net/\n", 1,
      "endpoint: 'http://central.example.net/': plain http:// is only allowed for a loopback "
      "host (use https://)");
  bad("endpoint ftp://x\n", 1, "endpoint: 'ftp://x': not an https:// URL");
  bad("database var/a.db\n", 1, "database: 'var/a.db': not an absolute path");
  bad("pin abc\n", 1, "pin: 'abc': expected the key's hash as sha256//BASE64");
  bad("proxy proxy:3128\n", 1,
      "proxy: 'proxy:3128': expected a proxy URL (http://HOST:PORT, socks5://...) or 'none'");
  bad("proxy http://u:p@proxy:3128\n", 1,
      "proxy: no credentials in the URL: put them in proxy_user_file");
  bad("log_level loud\n", 1, "log_level: 'loud': expected error, warning, info or debug");
  bad("v3_user abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd\n", 1,
      "v3_user: value longer than 63 characters");
  bad("client_key /k.pem\n", 1, "client_key needs client_cert");
}
END_TEST

START_TEST(test_v3)
{
  good("v3_user u\nv3_auth_proto sha-256\nv3_priv_proto aes256\nsecrets_file /etc/s\n");
  ck_assert_str_eq(c.v3_auth_proto, "SHA-256");
  ck_assert_str_eq(c.v3_priv_proto, "AES-256");
  good("v3_user u\nv3_auth_proto none\n");
  ck_assert_str_eq(c.v3_auth_proto, "");
  bad("v3_user u\nv3_auth_proto SHA-3\n", 2,
      "v3_auth_proto: 'SHA-3': expected MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 or none");
  bad("v3_priv_proto 3DES\n", 1,
      "v3_priv_proto: '3DES': expected DES, AES, AES-192, AES-256 or none");
  bad("v3_user u\nsecrets_file /s\nv3_priv_proto AES\n", 3,
      "v3_priv_proto needs v3_auth_proto (SNMPv3 has no privacy without authentication)");
  bad("v3_user u\nv3_auth_proto MD5\n", 2,
      "v3_auth_proto needs a secrets_file with the pass phrases");
  bad("secrets_file /s\n\nv3_auth_proto MD5\n", 3, "v3 settings without v3_user");
}
END_TEST

START_TEST(test_targets_and_communities)
{
  good("scan_targets 192.0.2.0/24 192.0.2.10-20, printer-1.example.net\n"
       "scan_targets 198.51.100.7\ncommunity one\ncommunity two#2 # comment\n");
  ck_assert_uint_eq(c.n_targets, 4);
  ck_assert_str_eq(c.targets[0], "192.0.2.0/24");
  ck_assert_str_eq(c.targets[1], "192.0.2.10-20");
  ck_assert_str_eq(c.targets[2], "printer-1.example.net");
  ck_assert_str_eq(c.targets[3], "198.51.100.7");
  ck_assert_uint_eq(c.n_communities, 2); /* they replace "public" */
  ck_assert_str_eq(c.communities[0], "one");
  ck_assert_str_eq(c.communities[1], "two#2");
  bad("scan_targets 127.1.2.300\n", 1,
      "scan_targets: 127.1.2.300: position 9: octet out of range (0-255)");
  bad("\n\nscan_targets 127.1.2.0/24 bad!host\n", 3,
      "scan_targets: bad!host: position 4: character not allowed in a host name");
  bad("scan_targets 127.0.0.0/8\n", 1,
      "scan_targets: 127.0.0.0/8: more than 65536 addresses in all scan targets");
  bad("scan_targets 127.1.0.0/16\nscan_targets 127.2.0.0/16\n", 2,
      "scan_targets: 127.2.0.0/16: more than 65536 addresses in all scan targets");
  bad("scan_targets 10\n", 1, "scan_targets: 10: position 3: incomplete address (want a.b.c.d)");
  /* IPv6 targets: /120 at most */
  good("scan_targets fd00::/120 fd00::1:5\n");
  ck_assert_uint_eq(c.n_targets, 2);
  bad("scan_targets fd00::/112\n", 1,
      "scan_targets: fd00::/112: wider than an IPv6 /120: a scan takes at most 256 IPv6 "
      "addresses a target");
  /* exclusions count: a /15 less a /16 fits; a /16 twice with one excluded too */
  good("scan_targets 127.1.0.0/16\nscan_targets 127.2.0.0/16\nexclude 127.2.0.0/17\n"
       "exclude 127.2.128.0/17, 127.1.0.7\n");
  ck_assert_uint_eq(c.n_excludes, 3);
  ck_assert_str_eq(c.excludes[2], "127.1.0.7");
  bad("scan_targets 127.1.0.0/16\nexclude 10.0.0.0/8 fd00::/16\nscan_targets 127.2.0.0/16\n", 3,
      "scan_targets: 127.2.0.0/16: more than 65536 addresses in all scan targets");
  bad("exclude 127.1.2.300\n", 1, "exclude: 127.1.2.300: position 9: octet out of range (0-255)");
  /* communities per target: the target first, the communities never echoed */
  good("target_community 192.0.2.128/25   branch  public\ntarget_community fd00::/64 six\n");
  ck_assert_uint_eq(c.n_target_communities, 2);
  ck_assert_str_eq(c.target_communities[0], "192.0.2.128/25 branch public");
  bad("target_community 192.0.2.0/24\n", 1,
      "target_community: 192.0.2.0/24: give the target, then its communities");
  bad("target_community printer-3 s3cret\n", 1,
      "target_community: printer-3: position 1: an address, block or range is needed here, not "
      "a host name");
  bad("target_community 192.0.2.300 s3cret\n", 1,
      "target_community: 192.0.2.300: position 9: octet out of range (0-255)");
  /* the rate of the sweep */
  good("scan_rate 500\n");
  ck_assert_uint_eq(c.scan_rate, 500);
  good("\n");
  ck_assert_uint_eq(c.scan_rate, 20000);
  ck_assert_uint_eq(load("scan_rate 0\n"), ASR_ERR_PARSE);
  ck_assert_uint_eq(load("scan_rate 1000001\n"), ASR_ERR_PARSE);
  bad("community a b\n", 1, "community: a community is one word (no blanks)");
  bad("community=private\n", 1, "community: write 'name value', without '='");
  ck_assert_ptr_null(strstr(errs[0], "private"));
}
END_TEST

START_TEST(test_unknown_duplicate_secrets)
{
  bad("pol_interval 1h\n", 1, "unknown directive 'pol_interval' (did you mean 'poll_interval'?)");
  bad("frobnicate yes\n", 1, "unknown directive 'frobnicate'");
  bad("poll_interval 1h\npoll_interval 2h\n", 2, "poll_interval: already set at line 1");
  static const char *const secret_names[] = {"auth_pass", "priv_pass",  "password",    "secret",
                                             "token",     "site_token", "v3_auth_pass"};
  for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
    char text[100], want[200];

    ck_assert_int_eq(asr_fmt(text, sizeof(text), "%s hunter2hunter2\n", secret_names[i]), ASR_OK);
    ck_assert_int_eq(
        asr_fmt(want, sizeof(want),
                "%s: secrets do not belong in this file: put them in the 0600 secrets_file",
                secret_names[i]),
        ASR_OK);
    bad(text, 1, want);
    ck_assert_ptr_null(strstr(errs[0], "hunter2"));
  }
}
END_TEST

START_TEST(test_cross_checks)
{
  bad("poll_interval 2h\nsilent_after 1h\n", 2,
      "silent_after (1h) is shorter than poll_interval (2h)");
  bad("silent_after 1h\n# x\npoll_interval 2h\n", 3,
      "silent_after (1h) is shorter than poll_interval (2h)");
  bad("silent_after 8d\n", 1, "disconnected_after (7d) must be longer than silent_after (8d)");
  bad("disconnected_after 2d\nsilent_after 2d\n", 2,
      "disconnected_after (2d) must be longer than silent_after (2d)");
  bad("upload_critical_after 2d\n", 1,
      "upload_critical_after (2d) must be longer than upload_warning_after (2d)");
  bad("upload_critical_after 3d\nupload_warning_after 4d\n", 2,
      "upload_critical_after (3d) must be longer than upload_warning_after (4d)");
  good("poll_interval 2h\nsilent_after 2h\ndisconnected_after 3h\n");
}
END_TEST

START_TEST(test_lines)
{
  char big[1100];

  memset(big, 'a', sizeof(big) - 2);
  big[sizeof(big) - 2] = '\n';
  big[sizeof(big) - 1] = '\0';
  memcpy(big, "v3_user ", 8);
  bad(big, 1, "line longer than 1024 characters");
  good("  poll_interval\t 2h  \r\n\tlog_level warning # trailing comment\r\n");
  ck_assert_int_eq(c.poll_interval, 7200);
  ck_assert_str_eq(c.log_level, "warning");
  good("log_level error"); /* no final newline */
  ck_assert_str_eq(c.log_level, "error");
  bad("log_level\x01 info\n", 1,
      "control character or NUL byte in the line (is this a text file?)");
  /* every error has file:line and all of them are reported */
  ck_assert_int_eq(load("snmp_port 0\nnope 1\nlog_level x\n"), ASR_ERR_PARSE);
  ck_assert_uint_eq(n_errs, 3);
  for (size_t i = 0; i < 3; i++) {
    char pre[400];

    ck_assert_int_eq(asr_fmt(pre, sizeof(pre), "%s:%zu: ", path, i + 1), ASR_OK);
    ck_assert_int_eq(strncmp(errs[i], pre, strlen(pre)), 0);
  }
}
END_TEST

START_TEST(test_missing_file)
{
  ck_assert_int_eq(asr_fmt(path, sizeof(path), "%s/none.conf", dir), ASR_OK);
  ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_NOT_FOUND);
  ck_assert_uint_eq(n_errs, 1);
  ck_assert_ptr_nonnull(strstr(errs[0], "none.conf: "));
}
END_TEST

START_TEST(test_secrets_file)
{
  char text[400];
  asr_result r;

  ck_assert_int_eq(asr_fmt(text, sizeof(text),
                           "secrets_file %s\nv3_user u\nv3_auth_proto SHA\nv3_priv_proto AES\n",
                           secrets),
                   ASR_OK);
  good(text);
  write_file(secrets, "# v3\nauth = an auth phrase\npriv=a priv phrase\n", 45, 0600);
  n_errs = 0;
  ck_assert_int_eq(asr_conf_check_secrets(&c, collect, NULL), ASR_OK);
  if (tu_posix_modes()) {
    write_file(secrets, "auth = an auth phrase\n", 22, 0644);
    ck_assert_int_eq(asr_conf_check_secrets(&c, collect, NULL), ASR_ERR_SECRET);
    ck_assert_ptr_nonnull(strstr(errs[0], "readable by group or others"));
    n_errs = 0;
  } else {
    tu_skip("test_secrets_file: group-readable part", "no POSIX file modes");
  }
  write_file(secrets, "auth = an auth phrase\n", 22, 0600);
  ck_assert_int_eq(asr_conf_check_secrets(&c, collect, NULL), ASR_ERR_SECRET);
  ck_assert_int_eq(
      asr_fmt(text, sizeof(text), "%s: no 'priv = ...' line, and v3_priv_proto is set", secrets),
      ASR_OK);
  ck_assert_str_eq(errs[0], text);
  n_errs = 0;
  write_file(secrets, "auth = an auth phrase\nhunter2\npriv = short\n", 42, 0600);
  r = asr_conf_check_secrets(&c, collect, NULL);
  ck_assert_int_eq(r, ASR_ERR_SECRET);
  ck_assert_uint_eq(n_errs, 2);
  ck_assert_int_eq(asr_fmt(text, sizeof(text),
                           "%s:2: expected 'auth = PASS PHRASE' or 'priv = PASS PHRASE'", secrets),
                   ASR_OK);
  ck_assert_str_eq(errs[0], text);
  ck_assert_ptr_nonnull(strstr(errs[1], ":3: priv: pass phrase shorter than 8"));
  ck_assert_ptr_null(strstr(errs[0], "hunter2"));
  remove(secrets);
  n_errs = 0;
  ck_assert_int_eq(asr_conf_check_secrets(&c, collect, NULL), ASR_ERR_SECRET);
  ck_assert_ptr_nonnull(strstr(errs[0], "No such file"));
}
END_TEST

START_TEST(test_not_reloadable)
{
  asr_conf a, b;
  char out[200];

  asr_conf_defaults(&a);
  b = a;
  b.poll_interval = 7200;
  b.n_targets = 1;
  asr_conf_not_reloadable(&a, &b, out, sizeof(out));
  ck_assert_str_eq(out, "");
  ck_assert_int_eq(asr_strlcpy(b.database, "/other.db", sizeof(b.database)), ASR_OK);
  asr_conf_not_reloadable(&a, &b, out, sizeof(out));
  ck_assert_str_eq(out, "database");
  ck_assert_int_eq(asr_strlcpy(b.secrets_file, "/s", sizeof(b.secrets_file)), ASR_OK);
  asr_conf_not_reloadable(&a, &b, out, sizeof(out));
  ck_assert_str_eq(out, "database, secrets_file");
}
END_TEST

START_TEST(test_packaged_file)
{
  const char *p = TEST_SRCDIR "/../packaging/asr-agent.conf";
  asr_result r;

  n_errs = 0;
  r = asr_conf_load(p, &c, collect, NULL);
  if (r != ASR_OK)
    ck_abort_msg("%s: %s", p, n_errs ? errs[0] : "?");
  ck_assert_int_eq(c.poll_interval, 3600);
  /* each directive appears in it as a commented default line */
  {
    FILE *f = fopen(p, "r");
    char text[40000];
    size_t len;

    ck_assert_ptr_nonnull(f);
    len = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[len] = '\0';
    for (size_t i = 0; i < asr_conf_directive_count(); i++) {
      char want[100];

      ck_assert_int_eq(asr_fmt(want, sizeof(want), "\n#%s ", asr_conf_directive_name(i)), ASR_OK);
      ck_assert_msg(strstr(text, want) != NULL, "%s missing", asr_conf_directive_name(i));
    }
  }
}
END_TEST

START_TEST(test_big_file_is_fast)
{
  size_t cap = 10000 * 40, len = 0;
  char *text = malloc(cap);
  struct timespec t0, t1;
  double ms;

  ck_assert_ptr_nonnull(text);
  text[0] = '\0';
  for (int i = 0; i < 10000; i++) {
    if (i == 5000)
      asr_append(text, cap, &len, "poll_interval 2h\n");
    else
      asr_append(text, cap, &len, "# comment line %d with some words\n", i);
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  good(text);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  ck_assert_int_eq(c.poll_interval, 7200);
  ck_assert_msg(ms < 500, "10,000 lines took %.0f ms", ms);
  free(text);
}
END_TEST

START_TEST(test_binary_garbage)
{
  unsigned char buf[65536];
  uint32_t x = 12345;

  for (int round = 0; round < 20; round++) {
    for (size_t i = 0; i < sizeof(buf); i++) {
      x = x * 1103515245u + 12345u;
      buf[i] = (unsigned char)(x >> 16);
      if (round % 2 && buf[i] < 0x20 && buf[i] != '\n')
        buf[i] = 'a' + buf[i] % 26; /* mostly printable: reaches the directive parser */
    }
    write_file(path, (const char *)buf, sizeof(buf), 0644);
    n_errs = 0;
    ck_assert_int_eq(asr_conf_load(path, &c, collect, NULL), ASR_ERR_PARSE);
    ck_assert_uint_ge(n_errs, 1);
    ck_assert_uint_le(n_errs, 52); /* gives up after 50 */
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_directive_table);
  tcase_add_test(tc, test_outbox_max_mb);
  tcase_add_test(tc, test_durations);
  tcase_add_test(tc, test_numbers);
  tcase_add_test(tc, test_windows);
  tcase_add_test(tc, test_strings_and_paths);
  tcase_add_test(tc, test_v3);
  tcase_add_test(tc, test_targets_and_communities);
  tcase_add_test(tc, test_unknown_duplicate_secrets);
  tcase_add_test(tc, test_cross_checks);
  tcase_add_test(tc, test_lines);
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_secrets_file);
  tcase_add_test(tc, test_not_reloadable);
  tcase_add_test(tc, test_packaged_file);
  tcase_add_test(tc, test_big_file_is_fast);
  tcase_add_test(tc, test_binary_garbage);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
