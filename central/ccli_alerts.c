/* ccli_alerts.c: asr-central alerts: the printers' alerts per site (central/calerts.h),
 * open ones or all, as a table, JSON or CSV, with what became of their mails. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "central/calerts.h"
#include "central/ccli_alerts.h"
#include "central/cstore.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"

enum { A_DB = 1, A_SITE, A_OPEN, A_ALL, A_FORMAT, A_HELP };

typedef struct {
  const char *db, *site;
  bool all;
  int fmt;
} alerts_opts;

typedef struct {
  int fmt;
  bool headed;
  json_t *rows;
  size_t n;
  bool failed; /* a JSON row could not be made */
} alerts_out;

static void alerts_usage(FILE *out)
{
  fprintf(out, "usage: asr-central alerts [--site NAME] [--open|--all] [--format table|json|csv]"
               " --db FILE\n"
               "The printers' critical alerts the agents reported (docs/meters.md): the open ones\n"
               "(--open, the default) or every alert with its clearing (--all), per site and\n"
               "device, with what became of their mails (queued, nobody, capped).\n");
}

static int alerts_args(int argc, char **argv, alerts_opts *o)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, A_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"site", required_argument, NULL, A_SITE},
      {"open", no_argument, NULL, A_OPEN},
      {"all", no_argument, NULL, A_ALL},
      {"format", required_argument, NULL, A_FORMAT},
      {"help", no_argument, NULL, A_HELP},
      {NULL, 0, NULL, 0},
  };
  int c, open = 0;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == A_DB)
      o->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == A_SITE)
      o->site = optarg;
    else if (c == A_OPEN)
      open = 1;
    else if (c == A_ALL)
      o->all = true;
    else if (c == A_HELP || c == 'h')
      return 1;
    else if (c != A_FORMAT || ccli_parse_format(optarg, &o->fmt) != 0)
      return -1;
  }
  if (open && o->all) {
    ccli_error("--open and --all: give one of them");
    return -1;
  }
  return optind == argc ? 0 : -1;
}

/* ISO 8601 of t, or "" for 0. */
static const char *when(int64_t t, char *buf, size_t n)
{
  buf[0] = '\0';
  if (t > 0)
    asr_time_iso(t, buf, n);
  return buf;
}

static json_t *row_json(const calerts_row *a)
{
  char r[32], c[32];
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:b}", "site", a->site, "device",
      a->device, "serial", a->serial, "model", a->model, "address", a->ip, "severity", a->severity,
      "code", a->code, "group", a->group, "group_index",
      a->group_index >= 0 ? json_integer(a->group_index) : json_null(), "description",
      a->description, "summary", a->summary, "raised_at", when(a->raised_at, r, sizeof(r)),
      "cleared_at", a->cleared_at ? json_string(when(a->cleared_at, c, sizeof(c))) : json_null(),
      "open", a->cleared_at == 0);

  if (o && json_object_set_new(o, "mail",
                               json_pack("{s:s,s:s,s:s}", "raised", a->raise_mail, "cleared",
                                         a->cleared_at ? a->clear_mail : "", "to", a->mail_to))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static void print_head(alerts_out *x)
{
  if (x->headed)
    return;
  x->headed = true;
  if (x->fmt == CCLI_FMT_CSV)
    printf("site,device,serial,model,severity,code,group,group_index,description,raised_at,"
           "cleared_at,raise_mail,clear_mail\n");
  else if (x->fmt == CCLI_FMT_TABLE)
    printf("%-16s %-24s %-9s %-28s %-16s %-20s %-20s %-7s %s\n", "SITE", "DEVICE", "SEVERITY",
           "CODE", "GROUP", "RAISED", "CLEARED", "MAIL", "DESCRIPTION");
}

static void print_csv(const calerts_row *a)
{
  char idx[24], r[32], c[32];

  ccli_csv_field(a->site, ",");
  ccli_csv_field(a->device, ",");
  ccli_csv_field(a->serial, ",");
  ccli_csv_field(a->model, ",");
  ccli_csv_field(a->severity, ",");
  ccli_csv_field(a->code, ",");
  ccli_csv_field(a->group, ",");
  if (asr_fmt(idx, sizeof(idx), "%lld", (long long)a->group_index))
    idx[0] = '\0';
  ccli_csv_field(a->group_index >= 0 ? idx : "", ",");
  ccli_csv_field(a->description, ",");
  ccli_csv_field(when(a->raised_at, r, sizeof(r)), ",");
  ccli_csv_field(when(a->cleared_at, c, sizeof(c)), ",");
  ccli_csv_field(a->raise_mail, ",");
  ccli_csv_field(a->cleared_at ? a->clear_mail : "", "\n");
}

static int print_row(const calerts_row *a, void *ctx)
{
  alerts_out *x = ctx;
  char s[17], d[25], v[10], c[29], g[17], r[32], cl[32], de[CALERTS_TEXT_MAX];

  print_head(x);
  x->n++;
  if (x->fmt == CCLI_FMT_JSON) {
    x->failed = json_array_append_new(x->rows, row_json(a)) != 0;
    return x->failed;
  }
  if (x->fmt == CCLI_FMT_CSV) {
    print_csv(a);
    return 0;
  }
  when(a->raised_at, r, sizeof(r));
  when(a->cleared_at, cl, sizeof(cl));
  printf("%-16s %-24s %-9s %-28s %-16s %-20s %-20s %-7s %s\n", asr_text_tty(a->site, s, sizeof(s)),
         asr_text_tty(a->serial[0] ? a->serial : a->device, d, sizeof(d)),
         asr_text_tty(a->severity, v, sizeof(v)), asr_text_tty(a->code, c, sizeof(c)),
         asr_text_tty(a->group, g, sizeof(g)), r, cl[0] ? cl : "-", a->raise_mail,
         asr_text_tty(a->description, de, sizeof(de)));
  return 0;
}

int ccli_alerts(int argc, char **argv)
{
  alerts_opts o = {NULL, NULL, false, CCLI_FMT_TABLE};
  alerts_out x = {CCLI_FMT_TABLE, false, NULL, 0, false};
  cstore *st = NULL;
  int a = alerts_args(argc, argv, &o);
  asr_result r;

  if (a) {
    alerts_usage(a > 0 ? stdout : stderr);
    return a > 0 ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o.db, &st);
  if (r)
    return ccli_exit_for(r);
  x.fmt = o.fmt;
  r = ccli_rows_new(o.fmt, &x.rows);
  if (!r)
    r = calerts_foreach(st, o.site, !o.all, print_row, &x);
  if (!r && x.failed)
    r = ASR_ERR_NOMEM;
  if (!r && o.fmt != CCLI_FMT_JSON)
    print_head(&x); /* an empty listing still has its head */
  return ccli_rows_end(r, st, "alerts", x.rows);
}
