/* asr-agent meters: start and end reads of every billing meter per printer for a period
 * (a calendar month in UTC, the current one by default), as a billing clerk wants them. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "agent/cli.h"
#include "agent/output.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/text.h"
#include "common/util.h"
#include "store/meters.h"
#include "store/store.h"

#define OPT_MONTH 1000

static const struct option meters_options[] = {
    {"db", required_argument, NULL, ASR_OPT_DB},
    {"format", required_argument, NULL, ASR_OPT_FORMAT},
    {"month", required_argument, NULL, OPT_MONTH},
    {"help", no_argument, NULL, ASR_OPT_HELP},
    {NULL, 0, NULL, 0},
};

typedef struct {
  asr_format fmt;
  json_t *rows;
  size_t n;
} meters_ctx;

static void meters_usage(FILE *out)
{
  fprintf(out, "usage: asr-agent meters [--db PATH] [--format table|json|csv] [--month YYYY-MM]\n"
               "Shows, per printer and meter, the first and last read of the month (UTC; the\n"
               "current month by default), the usage between them, and how many reads were\n"
               "flagged (backwards, jump, reset: kept as read, see docs/meters.md). Usage sums\n"
               "the rises between reads: across a counter reset (a board swap) the rises before\n"
               "and after it count, never the change across it; after a read that went\n"
               "backwards only the rise above the highest read counts. Never negative.\n");
}

/* "YYYY-MM" into [from, until) epoch seconds; 0 when malformed. */
static int parse_month(const char *s, int64_t *from, int64_t *until)
{
  if (asr_date_parse_month(s, from, until) != ASR_OK)
    return 0;
  *from *= 86400;
  *until *= 86400;
  return 1;
}

static int add_row(const asr_meter_period *p, void *ctx)
{
  meters_ctx *x = ctx;
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:s,s:i,s:i,s:i,s:s}",
                        "device", p->device, "model", p->model, "meter", p->start.name, "unit",
                        p->start.unit, "source", p->start.source, "start_t", (json_int_t)p->start.t,
                        "start", (json_int_t)p->start.value, "end_t", (json_int_t)p->end.t, "end",
                        (json_int_t)p->end.value, "usage", (json_int_t)p->usage, "reads", p->reads,
                        "flagged", p->flags, "last_flag", p->last_flag, "resets", p->resets,
                        "backwards", p->backwards, "jumps", p->jumps, "note", p->explain);

  if (!o || json_array_append_new(x->rows, o))
    return 1;
  x->n++;
  return 0;
}

/* One CSV field, quoted, quotes doubled, control characters as spaces, a leading = + - @
 * defused with a quote (spreadsheet formulas), then sep (',' or the line's end). */
static void csv_field(FILE *out, const char *v, char sep)
{
  fputc('"', out);
  if (v && strchr("=+-@", v[0]) && v[0])
    fputc('\'', out);
  for (size_t k; v && *v; v += k) { /* printer-sent text: nothing unsafe (common/text.h) */
    const char *rep = asr_text_step(v, &k, ASR_TEXT_QMARK);

    if (rep)
      fputs(rep, out);
    else if (*v == '"')
      fputs("\"\"", out);
    else
      fwrite(v, 1, k, out);
  }
  fputc('"', out);
  fputc(sep, out);
}

static void print_table(const meters_ctx *x, FILE *out)
{
  size_t i;
  json_t *o;

  if (x->fmt == ASR_FMT_CSV)
    fprintf(out, "device,model,meter,unit,source,start,end,usage,flagged,resets,note\n");
  else
    fprintf(out, "%-28s %-14s %-12s %12s %12s %10s %s\n", "DEVICE", "METER", "UNIT", "START", "END",
            "USAGE", "FLAGGED");
  json_array_foreach(x->rows, i, o)
  {
    const char *dev = json_string_value(json_object_get(o, "device"));
    const char *name = json_string_value(json_object_get(o, "meter"));
    const char *unit = json_string_value(json_object_get(o, "unit"));
    const char *note = json_string_value(json_object_get(o, "note"));
    long long s = json_integer_value(json_object_get(o, "start"));
    long long e = json_integer_value(json_object_get(o, "end"));
    long long u = json_integer_value(json_object_get(o, "usage"));
    long long f = json_integer_value(json_object_get(o, "flagged"));

    if (x->fmt == ASR_FMT_CSV) {
      csv_field(out, dev, ',');
      csv_field(out, json_string_value(json_object_get(o, "model")), ',');
      csv_field(out, name, ',');
      csv_field(out, unit, ',');
      csv_field(out, json_string_value(json_object_get(o, "source")), ',');
      fprintf(out, "%lld,%lld,%lld,%lld,%lld,", s, e, u, f,
              (long long)json_integer_value(json_object_get(o, "resets")));
      csv_field(out, note, '\n');
    } else { /* printer-sent text: nothing unsafe reaches the terminal (common/text.h) */
      char d[256], m[64], un[64], n[512];

      fprintf(out, "%-28.28s %-14s %-12s %12lld %12lld %10lld %lld\n",
              asr_text_tty(dev, d, sizeof(d)), asr_text_tty(name, m, sizeof(m)),
              asr_text_tty(unit, un, sizeof(un)), s, e, u, f);
      if (note && note[0]) /* how the usage was counted across a reset or a glitch */
        fprintf(out, "  note: %s\n", asr_text_tty(note, n, sizeof(n)));
    }
  }
}

int asr_cmd_meters(int argc, char **argv)
{
  const char *db = NULL, *month = NULL;
  meters_ctx x = {ASR_FMT_TABLE, NULL, 0};
  asr_store *st = NULL;
  char cur[8];
  int64_t from, until, now = asr_now();
  asr_result r;
  int c, status;

  while ((c = getopt_long(argc, argv, "h", meters_options, NULL)) != -1) {
    if (c == ASR_OPT_HELP) {
      meters_usage(stdout);
      return ASR_EXIT_OK;
    } else if (c == ASR_OPT_DB) {
      db = optarg;
    } else if (c == OPT_MONTH) {
      month = optarg;
    } else if (c == ASR_OPT_FORMAT && asr_format_parse(optarg, &x.fmt) == ASR_OK) {
      continue;
    } else {
      if (c == ASR_OPT_FORMAT)
        asr_cli_error("--format: '%s' is not table, json or csv", optarg);
      else
        meters_usage(stderr);
      return ASR_EXIT_USAGE;
    }
  }
  if (!month) {
    asr_civil today = asr_date_civil(now / 86400);

    asr_fmt_cut(cur, sizeof(cur), "%04d-%02u", (int)today.year, today.month);
    month = cur;
  }
  if (!parse_month(month, &from, &until)) {
    asr_cli_error("--month: '%s' is not YYYY-MM", month);
    return ASR_EXIT_USAGE;
  }
  status = asr_cli_open_store(db, ASR_CLI_DB_EXISTING, &st);
  if (status >= 0)
    return status;
  x.rows = json_array();
  r = x.rows ? asr_meters_period(st, from, until, add_row, &x) : ASR_ERR_NOMEM;
  if (r) {
    asr_cli_error("%s", asr_store_errmsg(st));
  } else if (x.fmt == ASR_FMT_JSON) {
    json_t *doc = json_pack("{s:s,s:I,s:I,s:O}", "month", month, "from", (json_int_t)from, "until",
                            (json_int_t)until, "meters", x.rows);

    if (doc)
      json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(doc);
  } else {
    print_table(&x, stdout);
  }
  json_decref(x.rows);
  asr_store_close(st);
  return r ? asr_cli_exit_for(r) : ASR_EXIT_OK;
}
