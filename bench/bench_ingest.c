/* bench_ingest.c: the central's ingest path alone (cstore_apply, no HTTP, no JSON): days of
 * N printers in sites of P printers, one batch per site a day of 24 hourly polls x 4
 * toners of each printer (bench/bench_central.sh's day through the protocol). Prints, per
 * day, the seconds and the levels stored per second.
 *   bench_ingest DATABASE PRINTERS PER_SITE DAYS [PASSWORD_FILE]
 * DATABASE: a SQLite file (created) or a PostgreSQL URI (an empty database). Built and run
 * by bench/bench_ingest.sh. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "central/cdb.h"
#include "central/cstore.h"
#include "central/cstore_int.h"
#include "common/util.h"

#define POLLS 24
#define TONERS 4
#define DAY0 1795000000LL
#define JOBS_MAX 16

typedef struct {
  size_t n;
  char (*key)[24];
  cstore_dev *dev;
  cstore_supply_meta *meta;
  cstore_reading *rd;
  cstore_level *lv;
  cstore_batch b;
  char id[48];
} site_batch;

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int batch_alloc(site_batch *s, size_t n)
{
  s->n = n;
  s->key = calloc(n, sizeof(*s->key));
  s->dev = calloc(n, sizeof(*s->dev));
  s->meta = calloc(n * TONERS, sizeof(*s->meta));
  s->rd = calloc(n * POLLS, sizeof(*s->rd));
  s->lv = calloc(n * POLLS * TONERS, sizeof(*s->lv));
  return s->key && s->dev && s->meta && s->rd && s->lv ? 0 : -1;
}

/* Site si's batch of day d: levels falling a little each poll. */
static int batch_fill(site_batch *s, size_t si, int d)
{
  static const char *const colour[TONERS] = {"black", "cyan", "magenta", "yellow"};
  int64_t t0 = DAY0 + (int64_t)d * 86400;

  if (asr_fmt(s->id, sizeof(s->id), "site%zu-day%d", si, d))
    return -1;
  for (size_t i = 0; i < s->n; i++) {
    if (asr_fmt(s->key[i], sizeof(s->key[i]), "s%zu-p%zu", si, i))
      return -1;
    s->dev[i] = (cstore_dev){.key = s->key[i],
                             .serial = s->key[i],
                             .model = "Bench 1",
                             .vendor = "Bench",
                             .state = "idle",
                             .state_since = -1,
                             .last_good_poll = t0 + 23 * 3600,
                             .failed_polls = 0,
                             .n_supplies = TONERS,
                             .supplies = &s->meta[i * TONERS]};
    for (int j = 0; j < TONERS; j++)
      s->meta[i * TONERS + j] = (cstore_supply_meta){.index = j + 1,
                                                     .description = colour[j],
                                                     .type = "toner",
                                                     .colorant = colour[j],
                                                     .unit = "percent",
                                                     .colorant_std = colour[j]};
    for (int p = 0; p < POLLS; p++) {
      size_t k = i * POLLS + (size_t)p;
      s->rd[k] = (cstore_reading){.device = i,
                                  .t = t0 + p * 3600,
                                  .has_page_count = true,
                                  .page_count = 1000 * d + p,
                                  .n_levels = TONERS,
                                  .levels = &s->lv[k * TONERS]};
      for (int j = 0; j < TONERS; j++)
        s->lv[k * TONERS + j] = (cstore_level){.index = j + 1,
                                               .has_level = true,
                                               .has_max = true,
                                               .has_percent = true,
                                               .level = 100 - (d * 24 + p) % 100,
                                               .max = 100,
                                               .percent = 100 - (d * 24 + p) % 100};
    }
  }
  s->b = (cstore_batch){.batch_id = s->id,
                        .agent_version = "bench",
                        .created_at = t0 + 86399,
                        .digest = s->id,
                        .n_devices = s->n,
                        .devices = s->dev,
                        .n_readings = s->n * POLLS,
                        .readings = s->rd,
                        .n_readings_sent = s->n * POLLS};
  return 0;
}

static int open_store(const char *name, const char *pwfile, cstore **st)
{
  char err[512];
  asr_result r = cstore_set_password_file(pwfile);

  if (r) {
    fprintf(stderr, "bench_ingest: the password file: %s\n", asr_result_str(r));
    return -1;
  }
  r = cstore_open(name, st, err, sizeof(err));
  if (r)
    fprintf(stderr, "bench_ingest: %s\n", err);
  return r ? -1 : 0;
}

/* One worker: its own handle (a serve thread's, or another node's), sites w, w + jobs, ... */
typedef struct {
  const char *db, *pwfile;
  const cstore_agent *ag;
  size_t sites, per, w, jobs;
  int day;
  double fill;
  int failed;
  cstore *st;
} worker;

static void *work_day(void *arg)
{
  worker *w = arg;
  site_batch sb;

  w->fill = 0;
  if (batch_alloc(&sb, w->per)) {
    w->failed = 1;
    return NULL;
  }
  for (size_t i = w->w; !w->failed && i < w->sites; i += w->jobs) {
    cstore_applied res;
    double f = now_s();
    if (batch_fill(&sb, i, w->day)) {
      w->failed = 1;
      break;
    }
    w->fill += now_s() - f;
    if (cstore_apply(w->st, &w->ag[i], &sb.b, DAY0 + (int64_t)(w->day + 1) * 86400, &res) ||
        res.readings_new != (int64_t)(w->per * POLLS)) {
      fprintf(stderr, "bench_ingest: %s\n", cstore_errmsg(w->st));
      w->failed = 1;
    }
  }
  free(sb.key);
  free(sb.dev);
  free(sb.meta);
  free(sb.rd);
  free(sb.lv);
  return NULL;
}

int main(int argc, char **argv)
{
  char token[CSTORE_TOKEN_LEN + 1], site[CSTORE_NAME_MAX], name[64];
  cstore *st = NULL;
  cstore_agent *ag;
  worker wk[JOBS_MAX];
  pthread_t th[JOBS_MAX];
  size_t printers, per, sites, jobs;
  int days;

  if (argc < 6) {
    fprintf(stderr, "usage: bench_ingest DATABASE PRINTERS PER_SITE DAYS JOBS [PASSWORD_FILE]\n");
    return 2;
  }
  printers = strtoul(argv[2], NULL, 10);
  per = strtoul(argv[3], NULL, 10);
  days = (int)strtol(argv[4], NULL, 10);
  jobs = strtoul(argv[5], NULL, 10);
  if (!printers || !per || days < 1 || printers % per || !jobs || jobs > JOBS_MAX)
    return 2;
  sites = printers / per;
  if (open_store(argv[1], argc > 6 ? argv[6] : NULL, &st) || !(ag = calloc(sites, sizeof(*ag))))
    return 1;
  for (size_t i = 0; i < sites; i++) {
    if (asr_fmt(name, sizeof(name), "site%zu", i) ||
        cstore_site_add(st, name, "ops@example.org", "", DAY0, token, sizeof(token)) ||
        cstore_enroll(st, token, "h", "bench", DAY0, &ag[i], site, sizeof(site))) {
      fprintf(stderr, "bench_ingest: %s\n", cstore_errmsg(st));
      return 1;
    }
  }
  for (size_t j = 0; j < jobs; j++) {
    wk[j] = (worker){.db = argv[1], .ag = ag, .sites = sites, .per = per, .w = j, .jobs = jobs};
    if (j == 0)
      wk[j].st = st;
    else if (open_store(argv[1], argc > 6 ? argv[6] : NULL, &wk[j].st))
      return 1;
  }
  for (int d = 0; d < days; d++) {
    double t = now_s(), fill = 0;
    for (size_t j = 0; j < jobs; j++) {
      wk[j].day = d;
      if (pthread_create(&th[j], NULL, work_day, &wk[j]))
        return 1;
    }
    for (size_t j = 0; j < jobs; j++) {
      pthread_join(th[j], NULL);
      if (wk[j].failed)
        return 1;
      fill = wk[j].fill > fill ? wk[j].fill : fill;
    }
    t = now_s() - t - fill;
    printf("ingest %s day %d: %zu printers, %zu levels in %.2f s: %.0f levels/s (%zu jobs)\n",
           cdb_is_pg_name(argv[1]) ? "postgresql" : "sqlite", d + 1, printers,
           printers * POLLS * TONERS, t, (double)(printers * POLLS * TONERS) / t, jobs);
    fflush(stdout);
  }
  for (size_t j = 1; j < jobs; j++)
    cstore_close(wk[j].st);
  cstore_close(st);
  free(ag);
  return 0;
}
