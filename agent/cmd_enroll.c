/* asr-agent enroll: registers this agent with the central service (POST /v1/enroll) and
 * keeps its agent id and secret, with the endpoint and the TLS and proxy settings, in the
 * database (0600). The site token and the secret are never printed or logged. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/ops.h"
#include "agent/secret.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "store/outbox.h"
#include "store/store.h"
#include "wire/http.h"
#include "uplink/uplink.h"

enum {
  OPT_ENDPOINT = 400,
  OPT_SITE_TOKEN,
  OPT_SITE_TOKEN_FILE,
  OPT_CA_FILE,
  OPT_CA_PATH,
  OPT_PIN,
  OPT_CLIENT_CERT,
  OPT_CLIENT_KEY,
  OPT_PROXY,
  OPT_PROXY_USER_FILE,
  OPT_CONNECT_TIMEOUT,
  OPT_UPDATE,
};

static const struct option enroll_options[] = {
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"site-token", required_argument, NULL, OPT_SITE_TOKEN},
    {"site-token-file", required_argument, NULL, OPT_SITE_TOKEN_FILE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"ca-path", required_argument, NULL, OPT_CA_PATH},
    {"pin", required_argument, NULL, OPT_PIN},
    {"client-cert", required_argument, NULL, OPT_CLIENT_CERT},
    {"client-key", required_argument, NULL, OPT_CLIENT_KEY},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"proxy-user-file", required_argument, NULL, OPT_PROXY_USER_FILE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"timeout", required_argument, NULL, ASR_OPT_TIMEOUT},
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"force", no_argument, NULL, ASR_OPT_FORCE},
    {"update", no_argument, NULL, OPT_UPDATE},
    {"verbose", no_argument, NULL, ASR_OPT_VERBOSE},
    {"quiet", no_argument, NULL, ASR_OPT_QUIET},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* The command line. The file options are made absolute (upload may run elsewhere). */
typedef struct {
  asr_outbox_cred c;
  bool given[OPT_UPDATE - OPT_ENDPOINT + 1]; /* which settings the command line sets */
  const char *token_arg, *token_file, *db;
  unsigned connect_s, timeout_s;
  int force, update, verbose, quiet;
} enroll_args;

static void enroll_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-agent enroll --endpoint URL [--site-token-file FILE | --site-token TOKEN]\n"
          "         [--ca-file FILE] [--ca-path DIR] [--pin sha256//BASE64]\n"
          "         [--client-cert FILE [--client-key FILE]] [--proxy URL|none]\n"
          "         [--proxy-user-file FILE] [--connect-timeout S] [--timeout S]\n"
          "         [--db PATH] [--force] [-v|-q]\n"
          "       asr-agent enroll --update [--endpoint URL] [TLS and proxy options]\n"
          "Registers this agent with the central service and keeps its credential in the\n"
          "database. The site token may also come from ASR_SITE_TOKEN (argv is visible to\n"
          "other users). --update changes the stored settings without enrolling again.\n");
}

/* A file option: stored as an absolute path of an existing file or directory. */
static int take_path(const char *name, const char *arg, char *out, size_t n)
{
  if (!*arg) {
    out[0] = '\0'; /* "" clears the setting (enroll --update) */
    return 0;
  }
  if (!asr_platform_realpath(arg, out, n)) {
    asr_cli_error("--%s: %s: no such file or directory (or path too long)", name, arg);
    return -1;
  }
  return 0;
}

static int take_text(const char *name, const char *arg, char *out, size_t n)
{
  if (asr_strlcpy(out, arg, n) != ASR_OK) {
    asr_cli_error("--%s: too long", name);
    return -1;
  }
  return 0;
}

static int take_seconds(const char *name, const char *arg, unsigned *out)
{
  if (asr_parse_uint(arg, 1, 3600, out) != ASR_OK) {
    asr_cli_error("--%s: '%s' is not a number of seconds from 1 to 3600", name, arg);
    return -1;
  }
  return 0;
}

/* One setting option; -1 on a bad value. */
static int take_setting(enroll_args *a, int c, const char *arg)
{
  asr_outbox_cred *s = &a->c;

  a->given[c - OPT_ENDPOINT] = true;
  switch (c) {
  case OPT_ENDPOINT:
    return take_text("endpoint", arg, s->endpoint, sizeof(s->endpoint));
  case OPT_CA_FILE:
    return take_path("ca-file", arg, s->ca_file, sizeof(s->ca_file));
  case OPT_CA_PATH:
    return take_path("ca-path", arg, s->ca_path, sizeof(s->ca_path));
  case OPT_PIN:
    return take_text("pin", arg, s->pin, sizeof(s->pin));
  case OPT_CLIENT_CERT:
    return take_path("client-cert", arg, s->client_cert, sizeof(s->client_cert));
  case OPT_CLIENT_KEY:
    return take_path("client-key", arg, s->client_key, sizeof(s->client_key));
  case OPT_PROXY:
    return take_text("proxy", arg, s->proxy, sizeof(s->proxy));
  case OPT_PROXY_USER_FILE:
    return take_path("proxy-user-file", arg, s->proxy_user_file, sizeof(s->proxy_user_file));
  default:
    return -1;
  }
}

static int take_option(enroll_args *a, int c, const char *arg)
{
  switch (c) {
  case OPT_SITE_TOKEN:
    a->token_arg = arg;
    return 0;
  case OPT_SITE_TOKEN_FILE:
    a->token_file = arg;
    return 0;
  case OPT_CONNECT_TIMEOUT:
    return take_seconds("connect-timeout", arg, &a->connect_s);
  case ASR_OPT_TIMEOUT:
    return take_seconds("timeout", arg, &a->timeout_s);
  case ASR_OPT_DB:
    a->db = arg;
    return 0;
  case ASR_OPT_FORCE:
    a->force = 1;
    return 0;
  case OPT_UPDATE:
    a->update = 1;
    return 0;
  case 'v':
  case ASR_OPT_VERBOSE:
    a->verbose++;
    return 0;
  case 'q':
  case ASR_OPT_QUIET:
    a->quiet++;
    return 0;
  default:
    return c >= OPT_ENDPOINT && c <= OPT_PROXY_USER_FILE ? take_setting(a, c, arg) : -1;
  }
}

/* The settings must make sense together (asr_enroll_check_settings). */
static int check_settings(const asr_outbox_cred *c)
{
  char err[1280];

  if (asr_enroll_check_settings(c, err, sizeof(err)) == ASR_OK)
    return 0;
  asr_cli_error("%s", err);
  return -1;
}

static int enroll_parse(int argc, char **argv, enroll_args *a)
{
  int c;

  while ((c = asr_cli_getopt(argc, argv, "hvq", enroll_options)) != -1) {
    if (c == ASR_OPT_HELP) {
      enroll_usage(stdout);
      return ASR_EXIT_OK;
    }
    if (c == '?' || take_option(a, c, optarg) != 0) {
      if (c == '?')
        asr_cli_help_hint("enroll");
      return ASR_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    asr_cli_error("enroll: unexpected argument '%s'", argv[optind]);
    return ASR_EXIT_USAGE;
  }
  asr_cli_log_level(a->verbose, a->quiet);
  if (!a->update && check_settings(&a->c) != 0)
    return ASR_EXIT_USAGE;
  return -1;
}

/* The site token: --site-token, else --site-token-file, else ASR_SITE_TOKEN. */
static int read_token(const enroll_args *a, char *out, size_t n)
{
  char err[512];
  asr_result r = ASR_OK;

  if (a->token_arg) {
    r = asr_strlcpy(out, a->token_arg, n);
  } else if (a->token_file) {
    r = asr_secret_from_file(a->token_file, "token", out, n, err, sizeof(err));
    if (r) {
      asr_cli_error("--site-token-file: %s", err);
      return ASR_EXIT_USAGE;
    }
  } else if (asr_secret_from_env("ASR_SITE_TOKEN", out, n) != ASR_OK) {
    asr_cli_error("give the site token: --site-token-file FILE, ASR_SITE_TOKEN or --site-token");
    return ASR_EXIT_USAGE;
  }
  if (r || asr_enroll_check_token(out) != ASR_OK) {
    asr_cli_error("the site token is malformed (it looks like st_ and 32 hex digits)");
    return ASR_EXIT_USAGE;
  }
  return -1;
}

int asr_cli_enroll_status(asr_result r, const asr_enroll_report *rep)
{
  if (r == ASR_OK)
    return ASR_EXIT_OK;
  if (rep->already)
    return ASR_EXIT_USAGE;
  if (!rep->enrolled && (r == ASR_ERR_RESOLVE || r == ASR_ERR_TIMEOUT || r == ASR_ERR_AUTH ||
                         r == ASR_ERR_INVALID || r == ASR_ERR_PROTOCOL))
    return rep->token_refused ? ASR_EXIT_FAILURE : ASR_EXIT_NETWORK;
  return asr_cli_exit_for(r);
}

/* Registers with the central and stores the credential (asr_enroll, agent/ops.h). */
static int do_enroll(asr_store *st, const enroll_args *a, const char *token, const char *proxy_user)
{
  asr_enroll_opts o = {.st = st,
                       .settings = &a->c,
                       .token = token,
                       .proxy_user = proxy_user,
                       .connect_timeout_ms = a->connect_s * 1000,
                       .timeout_ms = a->timeout_s * 1000,
                       .force = a->force != 0};
  asr_enroll_report rep;
  asr_result r = asr_enroll(&o, &rep);

  if (r == ASR_OK)
    printf("enrolled: agent %s, site %s, endpoint %s\n", rep.agent_id, rep.site[0] ? rep.site : "-",
           a->c.endpoint);
  else if (rep.enrolled)
    asr_cli_error("enrolled as %s but not saved: %s", rep.agent_id, rep.error);
  else if (!rep.already)
    asr_cli_error("enrolment failed: %s", rep.error[0] ? rep.error : asr_result_str(r));
  return asr_cli_enroll_status(r, &rep);
}

/* Copies the settings given on the command line over the stored ones (the same fields of
 * the same struct: nothing is cut). */
#define MERGE(opt, field)                                                                          \
  do {                                                                                             \
    if (a->given[(opt)-OPT_ENDPOINT])                                                              \
      asr_strlcpy_cut(old->field, a->c.field, sizeof(old->field));                                 \
  } while (0)

static void merge(asr_outbox_cred *old, const enroll_args *a)
{
  MERGE(OPT_ENDPOINT, endpoint);
  MERGE(OPT_CA_FILE, ca_file);
  MERGE(OPT_CA_PATH, ca_path);
  MERGE(OPT_PIN, pin);
  MERGE(OPT_CLIENT_CERT, client_cert);
  MERGE(OPT_CLIENT_KEY, client_key);
  MERGE(OPT_PROXY, proxy);
  MERGE(OPT_PROXY_USER_FILE, proxy_user_file);
}

/* --update: the stored settings, with those given on the command line replaced. An
 * empty value ("") clears a setting. */
static int do_update(asr_store *st, enroll_args *a)
{
  asr_outbox_cred old;
  int status = ASR_EXIT_OK;

  if (asr_outbox_get_cred(st, &old) != ASR_OK) {
    asr_cli_error("not enrolled: run 'asr-agent enroll --endpoint URL' first");
    return ASR_EXIT_FAILURE;
  }
  merge(&old, a);
  if (check_settings(&old) != 0)
    status = ASR_EXIT_USAGE;
  else if (asr_outbox_save_settings(st, &old) != ASR_OK)
    status = ASR_EXIT_DB;
  else
    printf("settings updated: agent %s, endpoint %s\n", old.agent_id, old.endpoint);
  asr_secret_wipe(&old, sizeof(old));
  return status;
}

int asr_cmd_enroll(int argc, char **argv)
{
  enroll_args a;
  asr_outbox_cred old;
  asr_store *st = NULL;
  char token[256] = "", proxy_user[512] = "";
  int status;

  memset(&a, 0, sizeof(a));
  status = enroll_parse(argc, argv, &a);
  if (status < 0)
    status = asr_cli_open_store(a.db, a.update ? ASR_CLI_DB_EXISTING : ASR_CLI_DB_CREATE, &st);
  if (status < 0 && a.update) {
    status = do_update(st, &a);
    goto out;
  }
  if (status < 0 && asr_outbox_get_cred(st, &old) == ASR_OK && !a.force) {
    asr_cli_error("already enrolled as %s with %s (--force enrols again, as a new agent)",
                  old.agent_id, old.endpoint);
    status = ASR_EXIT_USAGE;
  }
  if (status < 0)
    status = read_token(&a, token, sizeof(token));
  if (status < 0)
    status = asr_cli_proxy_user(a.c.proxy_user_file, proxy_user, sizeof(proxy_user));
  if (status < 0)
    status = do_enroll(st, &a, token, proxy_user);
out:
  asr_secret_wipe(token, sizeof(token));
  asr_secret_wipe(proxy_user, sizeof(proxy_user));
  asr_secret_wipe(&old, sizeof(old));
  asr_secret_wipe(&a.c, sizeof(a.c));
  asr_store_close(st);
  return status;
}
