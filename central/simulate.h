/* simulate.h: `asr-central simulate`, the replay of a simulated fleet through the
 * replenishment rules (replenish/), the proof of issue 6 section 4 (docs/replenishment.md).
 *
 * The rules-only mode is pure over replenish/: no database, no network, no clock. The
 * engine mode (--engine, central/simengine.h) drives the real engine over a temporary
 * central database instead. Either way the same options and seed give the same report:
 * one JSON object (jansson) that csim_table renders. */
#ifndef ASR_CSIM_H
#define ASR_CSIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/result.h"

#define CSIM_MAX_DEVICES 200
#define CSIM_MAX_DAYS 365

/* The options of a run (defaults in csim_opts_default). */
typedef struct {
  unsigned days;       /* simulated days after the warm-up (180; 1..CSIM_MAX_DAYS) */
  unsigned devices;    /* devices of the fleet (60; 1..CSIM_MAX_DEVICES) */
  unsigned sites;      /* sites they are spread over (6; 1..50) */
  unsigned delivery;   /* days from an order to its arrival (3; 0..30) */
  unsigned seed;       /* the random seed of use noise, levels and missing reports (42) */
  bool compare;        /* also run without consolidation to count the shipments saved (true) */
  bool json;           /* the caller's output format (not used by the simulation) */
  int gauge_error;     /* printers report their use this many percent off (0; -50..50) */
  bool engine;         /* drive the engine over a database (false: the rules only) */
  const char *keep_db; /* engine mode: keep the databases in this directory, or on
                          PostgreSQL in schemas KEEP_DB_simulate... (NULL: remove) */
  const char *db;      /* engine mode: a postgresql:// URI (NULL: temporary SQLite files) */
  const char *db_password_file; /* with db: --db-password-file (NULL: PGPASSFILE) */
} csim_opts;

/* Fills o with the defaults. */
void csim_opts_default(csim_opts *o);

/* Parses the options of `asr-central simulate` (argv[0] is the command name) into o, on
 * top of the defaults. ASR_ERR_USAGE with a message in why on a bad option or value. */
asr_result csim_parse_args(int argc, char **argv, csim_opts *o, char *why, size_t why_len);

/* Runs the simulation; *report gets a new JSON object (the caller json_decref()s it).
 * ASR_ERR_INVALID on options out of range, ASR_ERR_NOMEM, in the engine mode a store or
 * file error; why names the problem. */
asr_result csim_run(const csim_opts *o, json_t **report, char *why, size_t why_len);

/* The broken promises of a report (stock-out, trigger error > 1 day, no shipment saved by
 * consolidation) as a message in why; false when every promise held. */
bool csim_broken(const json_t *report, char *why, size_t why_len);

/* The report as a text table (a new string, free() it); NULL when out of memory. */
char *csim_table(const json_t *report);

#endif
