/* bench_store.c: times the store's hot path and measures the size of a year of readings.
 *
 *   bench_store DIR
 * 1. a poll of 1000 printers with 10 supplies each: 1000 asr_store_save calls (one
 *    transaction each), repeated 24 times (a day of hourly polls);
 * 2. a year of hourly readings (8760) of one printer with 10 supplies: the file size;
 * 3. the check every writing command makes when it opens the database (SQLite's
 *    quick_check), against an open without it, on the file of 1.: the cost per MB.
 * Built and run by bench/bench_store.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util.h"
#include "store/save.h"
#include "store/store.h"

#define T0 1700000000

static double seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(asr_device *d, int printer, int hour)
{
  asr_device_init(d);
  /* short texts of our own: they fit */
  asr_fmt_cut(d->serial, sizeof(d->serial), "BENCH%06d", printer);
  asr_fmt_cut(d->ip, sizeof(d->ip), "127.1.%d.%d", printer / 250, printer % 250 + 1);
  asr_strlcpy_cut(d->model, "Bench Printer", sizeof(d->model));
  d->is_printer = true;
  d->has_page_count = true;
  d->page_count = 100000 + hour * 37;
  d->n_supplies = 10;
  for (int i = 0; i < 10; i++) {
    asr_supply *p = &d->supplies[i];
    p->index = i + 1;
    p->has_level = p->has_max = true;
    p->max = i < 4 ? 20000 : 100;
    p->level = p->max - (hour * (i + 3) + i * 17) % (p->max + 1);
    p->percent = (int)(p->level * 100 / p->max);
    asr_fmt_cut(p->description, sizeof(p->description), "Supply %d", i + 1);
  }
}

static int bench_poll(const char *path)
{
  static asr_device d;
  asr_snmp_cred cred = {.version = ASR_SNMP_V2C, .community = "public"};
  asr_store *st;
  char err[512];
  double t;

  if (asr_store_open(path, &st, err, sizeof(err)) != ASR_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  t = seconds();
  for (int hour = 0; hour < 24; hour++) {
    for (int p = 0; p < 1000; p++) {
      fill(&d, p, hour);
      if (asr_store_save(st, &d, 161, &cred, T0 + hour * 3600, NULL) != ASR_OK) {
        fprintf(stderr, "%s\n", asr_store_errmsg(st));
        asr_store_close(st);
        return 1;
      }
    }
  }
  t = seconds() - t;
  printf("poll of 1000 printers x 10 supplies: %.1f ms per poll (%.1f us per save)\n",
         t * 1000 / 24, t * 1e6 / 24000);
  asr_store_close(st);
  return 0;
}

static int bench_year(const char *path)
{
  static asr_device d;
  asr_store *st;
  struct stat sb;
  char err[512];

  if (asr_store_open(path, &st, err, sizeof(err)) != ASR_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int hour = 0; hour < 8760; hour++) {
    fill(&d, 0, hour);
    if (asr_store_save(st, &d, 161, NULL, T0 + hour * 3600, NULL) != ASR_OK) {
      fprintf(stderr, "%s\n", asr_store_errmsg(st));
      asr_store_close(st);
      return 1;
    }
  }
  asr_store_close(st);
  if (stat(path, &sb) != 0)
    return 1;
  printf("a year of hourly readings (8760 x 10 supplies): %lld bytes (%.2f MB), %.1f bytes"
         " per reading\n",
         (long long)sb.st_size, sb.st_size / 1e6, sb.st_size / 8760.0);
  return sb.st_size >= 1000 * 1000;
}

/* Opens and closes path n times in mode; seconds per open. */
static double time_open(const char *path, asr_store_mode mode, int n)
{
  asr_store *st;
  char err[1024];
  double t = seconds();

  for (int i = 0; i < n; i++) {
    if (asr_store_open_mode(path, mode, &st, err, sizeof(err)) != ASR_OK) {
      fprintf(stderr, "%s\n", err);
      return -1;
    }
    asr_store_close(st);
  }
  return (seconds() - t) / n;
}

static int bench_check(const char *path)
{
  struct stat sb;
  double trust, verify, mb;

  if (stat(path, &sb) != 0)
    return 1;
  mb = sb.st_size / 1e6;
  trust = time_open(path, ASR_STORE_TRUST, 20);
  verify = time_open(path, ASR_STORE_VERIFY, 20);
  if (trust < 0 || verify < 0)
    return 1;
  printf("open with quick_check of a %.1f MB database: %.1f ms (%.1f ms without the check, ratio"
         " %.1f; %.1f ms per MB checked)\n",
         mb, verify * 1000, trust * 1000, verify / trust, (verify - trust) * 1000 / mb);
  return 0;
}

int main(int argc, char **argv)
{
  char poll_db[4096], year_db[4096];

  if (argc != 2) {
    fprintf(stderr, "usage: bench_store DIR\n");
    return 2;
  }
  if (asr_fmt(poll_db, sizeof(poll_db), "%s/poll.db", argv[1]) != ASR_OK ||
      asr_fmt(year_db, sizeof(year_db), "%s/year.db", argv[1]) != ASR_OK) {
    fprintf(stderr, "bench_store: %s: path too long\n", argv[1]);
    return 2;
  }
  return bench_poll(poll_db) || bench_year(year_db) || bench_check(poll_db);
}
