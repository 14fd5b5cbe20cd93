/* ccli_rp.c: the replenishment commands of asr-central (asr-central(8)): replenish, orders,
 * order ship|backorder|deliver, mail, and the engine and outbox thread of serve.
 * Results go to stdout, diagnostics to stderr. */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central/calertmail.h"
#include "central/ccli_rp.h"
#include "central/cretain.h"
#include "central/cstore.h"
#include "central/engine.h"
#include "central/notify.h"
#include "central/rulesconf.h"
#include "common/clock.h"
#include "common/date.h"
#include "common/device.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/text.h"
#include "common/util.h"
#include "replenish/colorant.h"

/* ---------------------------------------------------------------------------------------
 * Options shared by the commands (and serve): the rules and the mail settings. */

#define RP_LINES_MAX 64 /* --line options of one command */

typedef struct {
  const char *db, *site, *rules, *mail_from, *smtp_url, *smtp_user, *smtp_password_file;
  const char *smtp_ca_file;
  int json, open_only, now, flush, status, starttls, disconnect_days, mail_interval;
  int no_replenish, recompute;
  int retention_days, rollup_days; /* 0: the rules file's (or the default) */
  int lines[RP_LINES_MAX];         /* order STEP ID --line N ... */
  size_t n_lines;
  const char *job, *reason; /* order extra */
} rp_opts;

static rp_opts serve_rp = {.disconnect_days = -1, .mail_interval = CCLI_MAIL_INTERVAL};

static const struct option ccli_rp_longopts[] = {
    {"rules", required_argument, NULL, CCLI_OPT_RULES},
    {"disconnect-days", required_argument, NULL, CCLI_OPT_DISCONNECT_DAYS},
    {"mail-from", required_argument, NULL, CCLI_OPT_MAIL_FROM},
    {"smtp-url", required_argument, NULL, CCLI_OPT_SMTP_URL},
    {"smtp-user", required_argument, NULL, CCLI_OPT_SMTP_USER},
    {"smtp-password-file", required_argument, NULL, CCLI_OPT_SMTP_PASSWORD_FILE},
    {"smtp-ca-file", required_argument, NULL, CCLI_OPT_SMTP_CA_FILE},
    {"smtp-starttls", no_argument, NULL, CCLI_OPT_SMTP_STARTTLS},
    {"mail-interval", required_argument, NULL, CCLI_OPT_MAIL_INTERVAL},
    {"retention-days", required_argument, NULL, CCLI_OPT_RETENTION_DAYS},
    {"rollup-days", required_argument, NULL, CCLI_OPT_ROLLUP_DAYS},
    /* every command that merges these rows takes --db */
    {"db-password-file", required_argument, NULL, CCLI_OPT_DB_PASSWORD_FILE},
    {"no-replenish", no_argument, NULL, CCLI_OPT_NO_REPLENISH},
    {NULL, 0, NULL, 0},
};

/* --retention-days N, --rollup-days N: 0 on success, -2 on a bad value. */
static int keep_option(rp_opts *o, int c, const char *arg)
{
  bool raw = c == CCLI_OPT_RETENTION_DAYS;
  unsigned min = raw ? ASR_RP_RETENTION_MIN : ASR_RP_ROLLUP_MIN, v = 0;

  if (asr_parse_uint(arg, min, ASR_RP_KEEP_MAX, &v) != ASR_OK) {
    ccli_error("--%s: '%s' is not a number of days from %u to %d",
               raw ? "retention-days" : "rollup-days", arg, min, ASR_RP_KEEP_MAX);
    return -2;
  }
  *(raw ? &o->retention_days : &o->rollup_days) = (int)v;
  return 0;
}

/* Takes one of ccli_rp_longopts into o; -1 when c is not one, -2 on a bad value. */
static int rp_option(rp_opts *o, int c, const char *arg)
{
  unsigned v = 0;

  switch (c) {
  case CCLI_OPT_RULES:
    o->rules = arg;
    return 0;
  case CCLI_OPT_DISCONNECT_DAYS:
    if (asr_parse_uint(arg, 7, 14, &v) != ASR_OK) {
      ccli_error("--disconnect-days: '%s' is not a whole number from 7 to 14", arg);
      return -2;
    }
    o->disconnect_days = (int)v;
    return 0;
  case CCLI_OPT_MAIL_FROM:
    o->mail_from = arg;
    return 0;
  case CCLI_OPT_SMTP_URL:
    o->smtp_url = arg;
    return 0;
  case CCLI_OPT_SMTP_USER:
    o->smtp_user = arg;
    return 0;
  case CCLI_OPT_SMTP_PASSWORD_FILE:
    o->smtp_password_file = arg;
    return 0;
  case CCLI_OPT_SMTP_CA_FILE:
    o->smtp_ca_file = arg;
    return 0;
  case CCLI_OPT_SMTP_STARTTLS:
    o->starttls = 1;
    return 0;
  case CCLI_OPT_NO_REPLENISH:
    o->no_replenish = 1;
    return 0;
  case CCLI_OPT_DB_PASSWORD_FILE:
    return ccli_db_password_file(arg) ? -2 : 0;
  case CCLI_OPT_RETENTION_DAYS:
  case CCLI_OPT_ROLLUP_DAYS:
    return keep_option(o, c, arg);
  case CCLI_OPT_MAIL_INTERVAL:
    if (asr_parse_uint(arg, 1, 86400, &v) != ASR_OK) {
      ccli_error("--mail-interval: '%s' is not a number of seconds from 1 to 86400", arg);
      return -2;
    }
    o->mail_interval = (int)v;
    return 0;
  default:
    return -1;
  }
}

_Static_assert(sizeof(ccli_rp_longopts) / sizeof(ccli_rp_longopts[0]) == CCLI_RP_NOPTS + 1,
               "CCLI_RP_NOPTS must count the rows of ccli_rp_longopts");

bool ccli_rp_merge_options(struct option *all, size_t cap, const struct option *own, size_t nown)
{
  if (nown > cap || cap - nown < CCLI_RP_NOPTS + 1)
    return false;
  memcpy(all, own, nown * sizeof(all[0]));
  memcpy(all + nown, ccli_rp_longopts, sizeof(ccli_rp_longopts));
  return true;
}

int ccli_rp_serve_option(int c, const char *arg)
{
  return rp_option(&serve_rp, c, arg);
}

/* The rules: defaults, then --rules FILE, then --disconnect-days, --retention-days and
 * --rollup-days; the file's alert mail settings into *a. */
static asr_result rp_conf_all(const rp_opts *o, asr_rp_conf *c, calert_conf *a)
{
  char err[512];

  asr_rp_conf_default(c);
  calert_conf_default(a);
  if (o->rules && crules_load_all(o->rules, c, a, err, sizeof(err)) != ASR_OK) {
    ccli_error("%s", err);
    return ASR_ERR_USAGE;
  }
  if (o->disconnect_days > 0)
    c->disconnect_days = o->disconnect_days;
  if (o->retention_days > 0)
    c->retention_days = o->retention_days;
  if (o->rollup_days > 0)
    c->rollup_days = o->rollup_days;
  if (c->rollup_days < c->retention_days) {
    ccli_error("the daily roll-up must be kept at least as long as the raw readings:"
               " rollup days %d < retention days %d",
               c->rollup_days, c->retention_days);
    return ASR_ERR_USAGE;
  }
  if (asr_rp_conf_check(c) != ASR_OK) {
    ccli_error("the rules do not fit together (--disconnect-days and the --rules file)");
    return ASR_ERR_USAGE;
  }
  return ASR_OK;
}

static asr_result rp_conf(const rp_opts *o, asr_rp_conf *c)
{
  calert_conf a;

  return rp_conf_all(o, c, &a);
}

/* Decides the alert mails still to decide (calertmail.h), queuing them in the outbox. */
static asr_result rp_alert_mails(cstore *st, const calert_conf *a, const char *from, size_t *mails)
{
  calert_mail_report rep;
  asr_result r = calert_mail_queue(st, a, from, asr_clock_now(), &rep);

  *mails = rep.mails;
  if (r)
    asr_log(ASR_LOG_ERR, "alert mails: %s", cstore_errmsg(st));
  else if (rep.mails)
    asr_log(ASR_LOG_INFO, "alert mails: %zu queued", rep.mails);
  return r;
}

/* The SMTP settings of o (password read from its 0600 file into pw). */
static asr_result rp_smtp(const rp_opts *o, asr_smtp_conf *c, char *pw, size_t pwn)
{
  char err[512];

  memset(c, 0, sizeof(*c));
  if (!o->smtp_url || !o->mail_from) {
    ccli_error("--smtp-url URL and --mail-from ADDRESS are required to send mail");
    return ASR_ERR_USAGE;
  }
  c->url = o->smtp_url;
  c->from = o->mail_from;
  c->user = o->smtp_user;
  c->ca_file = o->smtp_ca_file;
  c->starttls = o->starttls != 0;
  if (o->smtp_user && !o->smtp_password_file) {
    ccli_error("--smtp-user needs --smtp-password-file FILE (0600)");
    return ASR_ERR_USAGE;
  }
  if (o->smtp_password_file) {
    if (cnotify_read_password(o->smtp_password_file, pw, pwn, err, sizeof(err)) != ASR_OK) {
      ccli_error("%s", err);
      return ASR_ERR_USAGE;
    }
    c->password = pw;
  }
  return ASR_OK;
}

/* Sends the due mails now; prints what happened (on stderr when out is, for a command
 * whose stdout is its result: site add prints the token alone). */
static asr_result rp_flush_to(cstore *st, const rp_opts *o, FILE *out)
{
  char pw[CNOTIFY_PASSWORD_MAX];
  asr_smtp_conf c;
  cnotify_report rep;
  asr_result r = rp_smtp(o, &c, pw, sizeof(pw));

  if (!r)
    r = cnotify_flush(st, &c, asr_clock_now(), 0, &rep);
  asr_secret_wipe(pw, sizeof(pw));
  if (r == ASR_ERR_USAGE)
    return r;
  if (r) {
    ccli_error("%s", cstore_errmsg(st));
    return r;
  }
  fprintf(out, "%smail: %zu sent, %zu deferred, %zu failed; %lld pending\n",
          out == stderr ? "asr-central: " : "", rep.sent, rep.deferred, rep.failed,
          (long long)cstore_outbox_count(st, "pending"));
  if (rep.deferred) {
    ccli_error("the mail server could not be reached: the mails stay in the outbox");
    return ASR_ERR_IO;
  }
  return ASR_OK;
}

static asr_result rp_flush(cstore *st, const rp_opts *o)
{
  return rp_flush_to(st, o, stdout);
}

static int rp_exit(asr_result r)
{
  return r == ASR_ERR_IO ? CCLI_EXIT_NETWORK : ccli_exit_for(r);
}

/* Parses argv (after the command and its fixed words, which getopt permutes past) into o. */
static int rp_args(int argc, char **argv, rp_opts *o)
{
  static const struct option own[] = {
      {"db", required_argument, NULL, 'd'},     {"site", required_argument, NULL, 's'},
      {"format", required_argument, NULL, 'f'}, {"open", no_argument, NULL, 'o'},
      {"now", no_argument, NULL, 'n'},          {"flush", no_argument, NULL, 'F'},
      {"status", no_argument, NULL, 'S'},       {"help", no_argument, NULL, 'h'},
      {"line", required_argument, NULL, 'L'},   {"job", required_argument, NULL, 'J'},
      {"reason", required_argument, NULL, 'R'}, {"recompute", no_argument, NULL, 'C'},
  };
  struct option all[sizeof(own) / sizeof(own[0]) + CCLI_RP_NOPTS + 1];
  int c;

  if (!ccli_rp_merge_options(all, sizeof(all) / sizeof(all[0]), own, sizeof(own) / sizeof(own[0])))
    return -1;
  optind = 1;
  while ((c = getopt_long(argc, argv, "", all, NULL)) != -1) {
    if (c == 'd')
      o->db = optarg;
    else if (c == 's')
      o->site = optarg;
    else if (c == 'f') {
      if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
        ccli_error("--format: '%s' is not json or table", optarg);
        return -1;
      }
      o->json = strcmp(optarg, "json") == 0;
    } else if (c == 'o' || c == 'n' || c == 'F' || c == 'S')
      *(c == 'o' ? &o->open_only : c == 'n' ? &o->now : c == 'F' ? &o->flush : &o->status) = 1;
    else if (c == 'L') {
      unsigned v = 0;
      if (o->n_lines >= RP_LINES_MAX || asr_parse_uint(optarg, 1, 1000000, &v) != ASR_OK) {
        ccli_error("--line: '%s' is not a line number (at most %d --line)", optarg, RP_LINES_MAX);
        return -1;
      }
      o->lines[o->n_lines++] = (int)v;
    } else if (c == 'J')
      o->job = optarg;
    else if (c == 'R')
      o->reason = optarg;
    else if (c == 'C')
      o->recompute = 1;
    else if (c == 'h' || rp_option(o, c, optarg) != 0)
      return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * replenish --now */

static void say_stdout(void *ctx, const char *line)
{
  (void)ctx;
  printf("%s\n", line);
}

static void print_report(const cengine_report *rep)
{
  char when[32];

  asr_time_iso(rep->day * 86400, when, sizeof(when));
  when[10] = '\0';
  if (rep->other_node) {
    printf("day %s: another node is running the engine now: nothing done here\n", when);
    return;
  }
  if (rep->already_ran) {
    printf("day %s: the engine ran already today: nothing to do\n", when);
    return;
  }
  printf("day %s: %zu devices, %zu orders (%zu lines), %zu high-use, %zu early replacements,"
         " %zu notices, %zu mails queued\n",
         when, rep->devices, rep->orders, rep->lines, rep->high_use, rep->early, rep->notices,
         rep->mails);
  if (rep->mail_errors)
    ccli_error("%zu mails could not be composed (see the log): check the sites' contacts",
               rep->mail_errors);
}

/* Deletes what the rules c no longer keep (cretain.h) after day today's run; says it. */
static asr_result rp_retain(cstore *st, const asr_rp_conf *c, int64_t today, FILE *out)
{
  cstore_prune_report p;
  asr_result r = cretain_run(st, c, today, &p);

  if (r) {
    asr_log(ASR_LOG_ERR, "retention: %s", cstore_errmsg(st));
    return r;
  }
  if (out)
    fprintf(out,
            "retention: %lld levels, %lld readings, %lld events, %lld meter reads, %lld batch"
            " records, %lld refusals older than %d days, %lld daily levels older than %d days"
            " deleted\n",
            (long long)p.levels, (long long)p.readings, (long long)p.events,
            (long long)p.meter_reads, (long long)p.batches, (long long)p.problems,
            c->retention_days, (long long)p.level_days, c->rollup_days);
  else if (p.levels || p.level_days || p.readings)
    asr_log(ASR_LOG_INFO, "retention: %lld levels, %lld readings, %lld daily levels deleted",
            (long long)p.levels, (long long)p.readings, (long long)p.level_days);
  return ASR_OK;
}

int ccli_replenish(int argc, char **argv)
{
  rp_opts o = {.disconnect_days = -1};
  asr_rp_conf conf;
  cengine_report rep;
  cstore *st = NULL;
  asr_result r;

  if (rp_args(argc, argv, &o) || optind != argc || !o.now) {
    fprintf(stderr, "usage: asr-central replenish --now --db FILE [--rules FILE]"
                    " [--disconnect-days N]\n       [--retention-days N] [--rollup-days N]"
                    " [--recompute] [--mail-from ADDRESS] [--smtp-url URL ...]\n");
    return CCLI_EXIT_USAGE;
  }
  r = rp_conf(&o, &conf);
  if (!r)
    r = ccli_open_db(o.db, &st);
  if (r)
    return rp_exit(r);
  cengine_opts eo = {.mail_from = o.mail_from,
                     .now = asr_clock_now(),
                     .say = say_stdout,
                     .source = o.recompute ? CENGINE_RAW : CENGINE_SERIES};
  r = cengine_run_day(st, &conf, eo.now / 86400, &eo, &rep);
  if (r)
    ccli_error("replenish: %s", cstore_errmsg(st));
  else
    print_report(&rep);
  if (!r && !rep.already_ran)
    r = rp_retain(st, &conf, rep.day, stdout);
  if (!r && o.smtp_url)
    r = rp_flush(st, &o);
  cstore_close(st);
  return rp_exit(r);
}

/* ---------------------------------------------------------------------------------------
 * orders */

static json_t *line_json(const cstore_order_line *l)
{
  json_t *o = json_pack("{s:i,s:s?,s:i,s:s?,s:s?,s:s?,s:s?,s:i,s:s?,s:s?}", "line", l->line,
                        "serial", l->serial, "supply_index", (int)l->supply_index, "supply",
                        l->supply, "type", l->type, "colorant", l->colorant, "model", l->model,
                        "quantity", l->quantity, "reason", l->reason, "state", l->state);
  char d[32];

  if (o && l->job_to > 0) {
    json_t *job = json_object();
    asr_time_iso(l->job_from * 86400, d, sizeof(d));
    d[10] = '\0';
    json_object_set_new(job, "from", json_string(d));
    asr_time_iso(l->job_to * 86400, d, sizeof(d));
    d[10] = '\0';
    json_object_set_new(job, "to", json_string(d));
    json_object_set_new(o, "job", job);
  }
  return o;
}

static json_t *order_json(const cstore_order_row *o)
{
  char c[32], u[32];
  json_t *lines = json_array(), *j;

  asr_time_iso(o->created_at, c, sizeof(c));
  asr_time_iso(o->updated_at, u, sizeof(u));
  for (size_t i = 0; lines && i < o->n_lines; i++)
    json_array_append_new(lines, line_json(&o->lines[i]));
  j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:o}", "id", (json_int_t)o->id,
                "site", o->site, "state", o->state, "reason", o->reason, "created_at", c,
                "updated_at", u, "kind", o->kind, "contact", o->contact, "contact_name",
                o->contact_name, "address", o->address, "note", o->note, "lines", lines);
  return j;
}

static void order_table(const cstore_order_row *o)
{
  char when[32], a[CSTORE_NAME_MAX], b[CSTORE_NAME_MAX], c[CSTORE_NAME_MAX];

  asr_time_iso(o->created_at, when, sizeof(when));
  printf("%-6lld %-16s %-12s %-13s %s %s%s\n", (long long)o->id,
         asr_text_tty(o->site, a, sizeof(a)), o->state, o->reason, when,
         asr_text_tty(o->contact, b, sizeof(b)),
         o->kind && strcmp(o->kind, "extra") == 0 ? " (special order)" : "");
  for (size_t i = 0; i < o->n_lines; i++) {
    const cstore_order_line *l = &o->lines[i];
    printf("  %2d   %-28s %3d  %-28s %-8s x%-3d %-12s %s\n", l->line,
           asr_text_tty(l->serial, a, sizeof(a)), (int)l->supply_index,
           asr_text_tty(l->supply, b, sizeof(b)),
           asr_text_tty(l->colorant ? l->colorant : "-", c, sizeof(c)), l->quantity,
           l->state ? l->state : "-", l->reason);
  }
}

static int print_order(const cstore_order_row *o, void *ctx)
{
  if (ctx)
    json_array_append_new(ctx, order_json(o));
  else
    order_table(o);
  return 0;
}

int ccli_orders(int argc, char **argv)
{
  rp_opts o = {.disconnect_days = -1};
  cstore *st = NULL;
  json_t *arr = NULL;
  asr_result r;

  if (rp_args(argc, argv, &o) || optind != argc) {
    fprintf(stderr,
            "usage: asr-central orders --db FILE [--site NAME] [--open] [--format json|table]\n");
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o.db, &st);
  if (r)
    return rp_exit(r);
  arr = o.json ? json_array() : NULL;
  if (!o.json)
    printf("%-6s %-16s %-12s %-13s %s\n", "ORDER", "SITE", "STATE", "REASON", "CREATED");
  r = cstore_order_foreach(st, o.site, o.open_only != 0, print_order, arr);
  if (r)
    ccli_error("%s", cstore_errmsg(st));
  if (!r && arr)
    ccli_print_doc("orders", arr);
  json_decref(arr);
  cstore_close(st);
  return rp_exit(r);
}

/* ---------------------------------------------------------------------------------------
 * order ship|backorder|deliver ID [--line N]..., order extra SERIAL SUPPLY QUANTITY */

/* --job FROM..TO (dates, inclusive) into x. */
static asr_result parse_job(const char *s, cengine_extra *x)
{
  char from[16];
  const char *dots = s ? strstr(s, "..") : NULL;

  if (!dots || (size_t)(dots - s) >= sizeof(from))
    return ASR_ERR_INVALID;
  memcpy(from, s, (size_t)(dots - s));
  from[dots - s] = '\0';
  if (asr_date_parse_day(from, &x->job_from) || asr_date_parse_day(dots + 2, &x->job_to) ||
      x->job_to < x->job_from)
    return ASR_ERR_INVALID;
  return ASR_OK;
}

/* Finding a supply of a device by its index, standard colour or type name. */
typedef struct {
  const char *want;
  const char *colour; /* want as a standard colorant, or NULL */
  int32_t type;       /* want as a type code, 0 when not one */
  bool waste;         /* want is "waste" */
  int32_t found;      /* the supply's index */
  int matches;
  char names[512];
  size_t len;
} supply_pick;

static int pick_supply(const cstore_rp_supply *p, void *ctx)
{
  supply_pick *x = ctx;
  const char *std = asr_rp_colorant(p->colorant_std, p->colorant);
  int32_t type = asr_supply_type_code(p->type);
  bool toner = asr_rp_type_forecast_ordered(type);
  bool hit = (x->colour && std && toner && strcmp(std, x->colour) == 0) ||
             (x->type && type == x->type) || (x->waste && type == 4);

  asr_append(x->names, sizeof(x->names), &x->len, "%s%d (%s%s%s)", x->len ? ", " : "",
             (int)p->index, p->type ? p->type : "?", std ? " " : "", std ? std : "");
  if (hit) {
    x->found = p->index;
    x->matches++;
  }
  return 0;
}

/* The supply index of SUPPLY (a number, "black", "cyan"..., "waste", or a type name). */
static asr_result supply_arg(cstore *st, int64_t dev, const char *arg, int32_t *idx)
{
  int64_t n = 0;
  supply_pick x = {.want = arg};

  if (asr_parse_i64(arg, INT32_MIN, INT32_MAX, &n) == ASR_OK) {
    *idx = (int32_t)n;
    return ASR_OK;
  }
  x.colour = asr_rp_colorant(NULL, arg);
  x.type = x.colour ? 0 : asr_supply_type_code(arg);
  x.waste = strcmp(arg, "waste") == 0;
  asr_result r = cstore_rp_supplies(st, dev, pick_supply, &x);
  if (r)
    return r;
  if (x.matches != 1) {
    ccli_error("order extra: '%s' names %s supply of the device (its supplies: %s): give its index",
               arg, x.matches ? "more than one" : "no", x.names[0] ? x.names : "none");
    return ASR_ERR_USAGE;
  }
  *idx = x.found;
  return ASR_OK;
}

static int order_extra(rp_opts *o, int argc, char **argv)
{
  cengine_extra x = {.note = o->reason};
  unsigned q = 0;
  int64_t site = 0, id = 0;
  char err[512] = "";
  cstore *st = NULL;
  asr_result r;

  if (optind != argc - 4) {
    fprintf(stderr,
            "usage: asr-central order extra SERIAL SUPPLY QUANTITY --db FILE [--site NAME]"
            " [--job FROM..TO] [--reason TEXT] [--mail-from ADDRESS] [--smtp-url URL ...]\n");
    return CCLI_EXIT_USAGE;
  }
  if (asr_parse_uint(argv[optind + 3], 1, ASR_RP_QUANTITY_MAX, &q) != ASR_OK) {
    ccli_error("order extra: '%s' is not a quantity from 1 to %d", argv[optind + 3],
               ASR_RP_QUANTITY_MAX);
    return CCLI_EXIT_USAGE;
  }
  if (o->job && parse_job(o->job, &x) != ASR_OK) {
    ccli_error("--job: '%s' is not FROM..TO (dates YYYY-MM-DD, TO not before FROM)", o->job);
    return CCLI_EXIT_USAGE;
  }
  if (o->reason && (strlen(o->reason) == 0 || strlen(o->reason) >= CSTORE_NAME_MAX)) {
    ccli_error("--reason: 1 to 255 bytes");
    return CCLI_EXIT_USAGE;
  }
  x.quantity = (int)q;
  r = ccli_open_db(o->db, &st);
  if (!r)
    r = cstore_device_find(st, o->site, argv[optind + 1], &x.device, &site);
  if (r && st)
    ccli_error("order extra: %s", cstore_errmsg(st));
  if (!r)
    r = supply_arg(st, x.device, argv[optind + 2], &x.supply);
  cengine_opts eo = {.mail_from = o->mail_from, .now = asr_clock_now()};
  if (!r) {
    r = cengine_extra_order(st, &x, &eo, &id, err, sizeof(err));
    if (r)
      ccli_error("order extra: %s", err);
    else
      printf("order %lld: special order of %d for %s, supply %d\n", (long long)id, x.quantity,
             argv[optind + 1], (int)x.supply);
  }
  if (!r && o->smtp_url)
    r = rp_flush(st, o);
  cstore_close(st);
  return rp_exit(r);
}

int ccli_order(int argc, char **argv)
{
  rp_opts o = {.disconnect_days = -1};
  cengine_step step = CENGINE_SHIP;
  char err[512] = "";
  int64_t id = 0;
  cstore *st = NULL;
  asr_result r;

  int bad = rp_args(argc, argv, &o);

  if (!bad && optind < argc && strcmp(argv[optind], "extra") == 0)
    return order_extra(&o, argc, argv);
  if (bad || optind != argc - 2 || cengine_step_parse(argv[optind], &step) != ASR_OK) {
    fprintf(stderr, "usage: asr-central order ship|backorder|deliver ID [--line N]... --db FILE"
                    " [--mail-from ADDRESS] [--smtp-url URL ...]\n"
                    "       asr-central order extra SERIAL SUPPLY QUANTITY --db FILE"
                    " [--job FROM..TO] [--reason TEXT] [--site NAME]\n");
    return CCLI_EXIT_USAGE;
  }
  if (asr_parse_i64(argv[optind + 1], 1, INT64_MAX, &id) != ASR_OK) {
    ccli_error("order %s: '%s' is not an order number", argv[optind], argv[optind + 1]);
    return CCLI_EXIT_USAGE;
  }
  r = ccli_open_db(o.db, &st);
  if (r)
    return rp_exit(r);
  cengine_opts eo = {.mail_from = o.mail_from, .now = asr_clock_now()};
  r = cengine_order_step_lines(st, id, step, o.lines, o.n_lines, &eo, err, sizeof(err));
  if (r)
    ccli_error("order %s %lld: %s", cengine_step_str(step), (long long)id, err);
  else
    printf("order %lld: %s\n", (long long)id, cengine_step_str(step));
  if (!r && o.smtp_url)
    r = rp_flush(st, &o);
  cstore_close(st);
  return rp_exit(r);
}

/* ---------------------------------------------------------------------------------------
 * mail --flush | --status */

int ccli_mail(int argc, char **argv)
{
  rp_opts o = {.disconnect_days = -1};
  asr_rp_conf rules;
  calert_conf alerts;
  size_t queued = 0;
  cstore *st = NULL;
  asr_result r;

  if (rp_args(argc, argv, &o) || optind != argc || o.flush == o.status) {
    fprintf(stderr, "usage: asr-central mail --flush --db FILE --smtp-url URL --mail-from ADDRESS\n"
                    "         [--smtp-user USER --smtp-password-file FILE] [--smtp-ca-file FILE]"
                    " [--smtp-starttls] [--rules FILE]\n"
                    "       asr-central mail --status --db FILE\n");
    return CCLI_EXIT_USAGE;
  }
  r = o.flush ? rp_conf_all(&o, &rules, &alerts) : ASR_OK;
  if (!r)
    r = ccli_open_db(o.db, &st);
  if (!r && o.flush && o.rules) /* the settings serve uses: decisions are for good */
    r = rp_alert_mails(st, &alerts, o.mail_from, &queued);
  if (!r && o.flush)
    r = rp_flush(st, &o);
  if (!r && o.status)
    printf("pending %lld\nsent %lld\nfailed %lld\n", (long long)cstore_outbox_count(st, "pending"),
           (long long)cstore_outbox_count(st, "sent"),
           (long long)cstore_outbox_count(st, "failed"));
  cstore_close(st);
  return rp_exit(r);
}

/* ---------------------------------------------------------------------------------------
 * serve: the engine once a day and the outbox every --mail-interval seconds, in a thread
 * of its own with its own database handle (the HTTP workers never wait for it, except on
 * the database's write lock). The day comes from the injectable clock. */

#define CCLI_SMTP_TIMEOUT_MS 10000 /* serve: one mail's whole SMTP transaction */

static struct {
  pthread_t th;
  bool running;
  volatile int stop; /* read under lock */
  pthread_mutex_t mu;
  char db[4096];
  asr_rp_conf conf;
  calert_conf alerts;
  asr_smtp_conf smtp;
  char pw[CNOTIFY_PASSWORD_MAX];
  bool mail;
  bool kick;     /* under mu: the portal asks for a flush now */
  int64_t ceded; /* the runner thread's: the last day another node was seen running */
} runner = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The portal queued a mail (a sign-in link): flush at the next tick, not after
 * --mail-interval. */
void ccli_rp_kick(void *ctx)
{
  (void)ctx;
  pthread_mutex_lock(&runner.mu);
  runner.kick = true;
  pthread_mutex_unlock(&runner.mu);
}

const char *ccli_rp_mail_from(void)
{
  return serve_rp.mail_from;
}

/* Takes the kick (true once after ccli_rp_kick). */
static bool runner_kicked(void)
{
  pthread_mutex_lock(&runner.mu);
  bool k = runner.kick;
  runner.kick = false;
  pthread_mutex_unlock(&runner.mu);
  return k;
}

static bool runner_stopping(void)
{
  pthread_mutex_lock(&runner.mu);
  bool s = runner.stop != 0;
  pthread_mutex_unlock(&runner.mu);
  return s;
}

/* One tick: the day's run when a new day began, the alert mails, the outbox when due (at
 * once when something was queued). */
static void runner_tick(cstore *st, int64_t *last_flush)
{
  cengine_report rep;
  cnotify_report nrep;
  size_t alert_mails = 0;
  int64_t now = asr_clock_now(), mono = asr_monotonic_ms() / 1000;
  cengine_opts eo = {.mail_from = serve_rp.mail_from, .now = now};

  memset(&rep, 0, sizeof(rep));
  if (serve_rp.no_replenish)
    rep.already_ran = true;
  else if (cengine_run_day(st, &runner.conf, now / 86400, &eo, &rep) != ASR_OK)
    asr_log(ASR_LOG_ERR, "replenish: %s", cstore_errmsg(st));
  else if (rep.other_node && runner.ceded != rep.day) { /* said once a day, not each tick */
    runner.ceded = rep.day;
    asr_log(ASR_LOG_INFO,
            "replenish: day %lld: another node is running the engine; this node"
            " does nothing",
            (long long)rep.day);
  } else if (!rep.already_ran) {
    asr_log(ASR_LOG_INFO, "replenish: day %lld: %zu orders, %zu notices, %zu mails queued",
            (long long)rep.day, rep.orders, rep.notices, rep.mails);
    if (rp_retain(st, &runner.conf, rep.day, NULL) != ASR_OK)
      asr_log(ASR_LOG_WARN, "retention: stopped; the next day's run goes on");
  }
  rp_alert_mails(st, &runner.alerts, serve_rp.mail_from, &alert_mails);
  if (!runner.mail || (mono - *last_flush < serve_rp.mail_interval && rep.mails == 0 &&
                       alert_mails == 0 && !runner_kicked()))
    return;
  *last_flush = mono;
  if (cnotify_flush(st, &runner.smtp, now, 0, &nrep) != ASR_OK)
    asr_log(ASR_LOG_ERR, "mail: %s", cstore_errmsg(st));
}

static void *runner_main(void *arg)
{
  char err[512];
  cstore *st = NULL;
  int64_t last_flush = 0;
  struct timespec ts = {0, 200000000L};

  (void)arg;
  if (cstore_open(runner.db, &st, err, sizeof(err)) != ASR_OK) {
    asr_log(ASR_LOG_ERR, "replenish: %s", err);
    return NULL;
  }
  while (!runner_stopping()) {
    runner_tick(st, &last_flush);
    for (int i = 0; i < 5 && !runner_stopping(); i++)
      nanosleep(&ts, NULL);
  }
  cstore_close(st);
  return NULL;
}

int ccli_rp_start(const char *db)
{
  asr_result r = rp_conf_all(&serve_rp, &runner.conf, &runner.alerts);

  if (r || asr_strlcpy(runner.db, db, sizeof(runner.db)) != ASR_OK)
    return CCLI_EXIT_USAGE;
  runner.mail = serve_rp.smtp_url != NULL;
  if (runner.mail && rp_smtp(&serve_rp, &runner.smtp, runner.pw, sizeof(runner.pw)) != ASR_OK)
    return CCLI_EXIT_USAGE;
  runner.smtp.timeout_ms = CCLI_SMTP_TIMEOUT_MS; /* a stop waits at most this long */
  if (!runner.mail)
    asr_log(ASR_LOG_WARN, "no --smtp-url: the notices wait in the outbox");
  if (!runner.alerts.service[0])
    asr_log(ASR_LOG_INFO, "no alert_service_address in the rules: alerts routed to service"
                          " are not mailed");
  runner.stop = 0;
  if (pthread_create(&runner.th, NULL, runner_main, NULL) != 0) {
    ccli_error("cannot start the replenishment thread");
    return CCLI_EXIT_INTERNAL;
  }
  runner.running = true;
  return CCLI_EXIT_OK;
}

void ccli_rp_stop(void)
{
  if (!runner.running)
    return;
  pthread_mutex_lock(&runner.mu);
  runner.stop = 1;
  pthread_mutex_unlock(&runner.mu);
  pthread_join(runner.th, NULL);
  runner.running = false;
  asr_secret_wipe(runner.pw, sizeof(runner.pw));
}

asr_result ccli_rp_registered(cstore *st, int64_t contact)
{
  cengine_opts eo = {.mail_from = serve_rp.mail_from, .now = asr_clock_now()};
  bool queued = false;
  asr_result r = cstore_tx_begin(st);

  if (!r)
    r = cengine_registered(st, contact, &eo, &queued);
  if (!r)
    r = cstore_tx_commit(st);
  else
    cstore_tx_rollback(st);
  if (r) {
    ccli_error("registration mail: %s", cstore_errmsg(st));
    return r;
  }
  if (queued)
    asr_log(ASR_LOG_INFO, "registration mail queued for contact %lld", (long long)contact);
  return serve_rp.smtp_url ? rp_flush_to(st, &serve_rp, stderr) : ASR_OK;
}

int ccli_rp_serve_conf(asr_rp_conf *out)
{
  return rp_conf(&serve_rp, out) == ASR_OK ? CCLI_EXIT_OK : CCLI_EXIT_USAGE;
}
