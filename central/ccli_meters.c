/* ccli_meters.c: asr-central meters: per device and meter, the first and last read of a
 * period and the usage between them (central/cmeters.h), as a table, JSON or CSV. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "central/ccli_meters.h"
#include "central/cmeters.h"
#include "central/cstore.h"
#include "central/ingest.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"

enum { M_DB = 1, M_SITE, M_FROM, M_TO, M_FORMAT, M_HELP };

typedef struct {
  const char *db, *site, *from, *to;
  int fmt;
} meters_opts;

typedef struct {
  int fmt;
  bool headed;  /* the table's or CSV's head is out */
  json_t *rows; /* JSON: the rows gathered */
} meters_out;

static void meters_usage(FILE *out)
{
  fprintf(out,
          "usage: asr-central meters [--site NAME] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
          "                          [--format table|json|csv] --db FILE\n"
          "Per device and meter: the first and last read from --from (default: the first day\n"
          "of the current month, UTC) to --to (inclusive; default: no end), the usage between\n"
          "them (rises into reads the agent did not flag) and the reads flagged (backwards,\n"
          "jump, reset; docs/meters.md).\n");
}

/* "YYYY-MM-DD" into the epoch second of its midnight (UTC). */
static asr_result parse_day(const char *opt, const char *s, int64_t *out)
{
  if (asr_date_parse_day(s, out) != ASR_OK) {
    ccli_error("%s: '%s' is not a date YYYY-MM-DD", opt, s);
    return ASR_ERR_USAGE;
  }
  *out *= 86400;
  return ASR_OK;
}

static int meters_args(int argc, char **argv, meters_opts *o)
{
  static const struct option longopts[] = {
      {"db", required_argument, NULL, M_DB},
      {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
      {"site", required_argument, NULL, M_SITE},
      {"from", required_argument, NULL, M_FROM},
      {"to", required_argument, NULL, M_TO},
      {"format", required_argument, NULL, M_FORMAT},
      {"help", no_argument, NULL, M_HELP},
      {NULL, 0, NULL, 0},
  };
  int c;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    if (c == M_DB)
      o->db = optarg;
    else if (c == CCLI_OPT_DB_PASSWORD_FILE && ccli_db_password_file(optarg) == 0)
      continue;
    else if (c == M_SITE)
      o->site = optarg;
    else if (c == M_FROM)
      o->from = optarg;
    else if (c == M_TO)
      o->to = optarg;
    else if (c == M_HELP || c == 'h')
      return 1;
    else if (c != M_FORMAT || ccli_parse_format(optarg, &o->fmt) != 0)
      return -1;
  }
  return optind == argc ? 0 : -1;
}

/* The period [from, until) of the options. */
static asr_result period(const meters_opts *o, int64_t *from, int64_t *until)
{
  asr_result r = ASR_OK;
  asr_civil today;

  *until = INT64_MAX;
  if (o->from) {
    r = parse_day("--from", o->from, from);
  } else {
    today = asr_date_civil(ingest_now() / 86400);
    *from = asr_date_days(today.year, today.month, 1) * 86400;
  }
  if (!r && o->to) {
    r = parse_day("--to", o->to, until);
    *until += 86400;
  }
  if (!r && *from >= *until) {
    ccli_error("--from %s is after --to %s", o->from ? o->from : "(this month)", o->to);
    r = ASR_ERR_USAGE;
  }
  return r;
}

static json_t *row_json(const cmeters_row *m)
{
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "site", m->site, "device",
      m->device, "serial", m->serial, "model", m->model, "meter", m->meter, "unit", m->unit,
      "source", m->source, "start_t", (json_int_t)m->start_t, "start", (json_int_t)m->start,
      "end_t", (json_int_t)m->end_t, "end", (json_int_t)m->end, "usage", (json_int_t)m->usage,
      "reads", (json_int_t)m->reads, "flagged", (json_int_t)m->flagged);

  if (o && m->flagged &&
      json_object_set_new(o, "last_flag",
                          json_pack("{s:s,s:s}", "flag", m->last_flag, "note", m->last_note)) !=
          0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static void print_head(meters_out *x)
{
  if (x->headed)
    return;
  x->headed = true;
  if (x->fmt == CCLI_FMT_CSV)
    printf("site,device,model,meter,unit,source,start_t,start,end_t,end,usage,flagged\n");
  else if (x->fmt == CCLI_FMT_TABLE)
    printf("%-16s %-28s %-14s %-12s %12s %12s %10s %s\n", "SITE", "DEVICE", "METER", "UNIT",
           "START", "END", "USAGE", "FLAGGED");
}

static int print_row(const cmeters_row *m, void *ctx)
{
  meters_out *x = ctx;
  char a[32], b[40], c[20], d[16];

  print_head(x);
  if (x->fmt == CCLI_FMT_JSON)
    return json_array_append_new(x->rows, row_json(m)) != 0;
  if (x->fmt == CCLI_FMT_CSV) {
    ccli_csv_field(m->site, ",");
    ccli_csv_field(m->device, ",");
    ccli_csv_field(m->model, ",");
    ccli_csv_field(m->meter, ",");
    ccli_csv_field(m->unit, ",");
    ccli_csv_field(m->source, ",");
    printf("%lld,%lld,%lld,%lld,%lld,", (long long)m->start_t, (long long)m->start,
           (long long)m->end_t, (long long)m->end, (long long)m->usage);
    printf("%lld\n", (long long)m->flagged);
    return 0;
  }
  printf("%-16s %-28s %-14s %-12s %12lld %12lld %10lld %lld\n", asr_text_tty(m->site, a, 17),
         asr_text_tty(m->device, b, 29), asr_text_tty(m->meter, c, 15),
         asr_text_tty(m->unit, d, 13), (long long)m->start, (long long)m->end, (long long)m->usage,
         (long long)m->flagged);
  return 0;
}

int ccli_meters(int argc, char **argv)
{
  meters_opts o = {NULL, NULL, NULL, NULL, CCLI_FMT_TABLE};
  meters_out x = {CCLI_FMT_TABLE, false, NULL};
  cstore *st = NULL;
  int64_t from = 0, until = 0;
  int a = meters_args(argc, argv, &o);
  asr_result r;

  if (a) {
    meters_usage(a > 0 ? stdout : stderr);
    return a > 0 ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
  }
  if (period(&o, &from, &until))
    return CCLI_EXIT_USAGE;
  r = ccli_open_db(o.db, &st);
  if (r)
    return ccli_exit_for(r);
  x.fmt = o.fmt;
  r = ccli_rows_new(o.fmt, &x.rows);
  if (!r)
    r = cmeters_period(st, o.site, from, until, print_row, &x);
  if (!r && o.fmt != CCLI_FMT_JSON)
    print_head(&x); /* an empty listing still has its head */
  return ccli_rows_end(r, st, "meters", x.rows);
}
