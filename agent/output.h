/* output.h: how the CLI prints devices: JSON (jansson), a table for people, or CSV.
 *
 * The JSON shapes are stable and checked by scripts (README "JSON output"):
 * DEVICE = {"ip", "serial", "vendor", "model", "sys_descr", "sys_object_id", "sys_name",
 *   "mac", "page_count", "status": {"printer": NAME|null, "errors": [NAME...]},
 *   "supplies": [SUPPLY...]} and, from the store, "first_seen", "last_seen",
 *   "last_good_poll", "age_seconds", "failed_polls", "last_failure", "last_failure_at",
 *   "last_failure_seconds", "last_reading_at", "readings", and
 *   with asr_report_set_state "state" ("active", "silent", "disconnected"), "state_since"
 *   (ISO time) and "state_seconds"; with asr_report_set_note "conflict" or "problem" (text).
 * SUPPLY = {"index", "description", "part_number", "type", "class", "colorant" (the
 *   printer's word), "colorant_std" (its canonical word, snmp/colorant.h), "unit", "max",
 *   "level", "percent", "state"}; unknown values are null.
 * A polled or inspected DEVICE also has "meters": [{"name", "unit", "source", "value"}]
 * when the printer reported some, and "alerts": [ALERT...] with "alerts_total" when its
 * prtAlertTable was read. ALERT = {"index", "severity", "training", "group",
 * "group_index", "location", "code", "description", "time", "critical", "route", "key"}
 * (names of docs/meters.md; "key" the alert's identity across polls). */

#ifndef ASR_OUTPUT_H
#define ASR_OUTPUT_H

#include <stdio.h>

#include "common/device.h"
#include "store/store.h"

typedef enum { ASR_FMT_TABLE = 0, ASR_FMT_JSON, ASR_FMT_CSV } asr_format;

/* Parses "table", "json", "csv"; ASR_ERR_INVALID otherwise. */
asr_result asr_format_parse(const char *s, asr_format *out);

/* A growing list of devices to print at the end of a command. */
typedef struct asr_report asr_report;

/* Creates an empty report; NULL when out of memory. */
asr_report *asr_report_new(void);
void asr_report_free(asr_report *r);

/* Adds a device seen live (discover, inspect). */
asr_result asr_report_add_device(asr_report *r, const asr_device *d);

/* Sets the string member key of the device added last: "conflict" (its identity answers
 * elsewhere too: docs/asr-agent.8) or "problem" (why it was not saved); the table shows
 * them under the device. */
asr_result asr_report_set_note(asr_report *r, const char *key, const char *text);

/* Adds a device from the store (status), with its history fields. now gives ages. */
asr_result asr_report_add_stored(asr_report *r, const asr_store_device *d, int64_t now);

/* Sets the state of the device added last (status): "state", "state_since" (ISO, or null
 * when since is 0), "state_seconds" (now - since, or null); the table shows it. */
asr_result asr_report_set_state(asr_report *r, const char *state, int64_t since, int64_t now);

/* Prints: JSON {"devices":[...], extra members...}; the table prints a row per device with
 * a line (and a bar when bars is set) per supply; CSV (RFC 4180) a row per supply with the
 * printer's columns repeated (one row with empty supply cells for a printer without).
 * extra is a NULL-terminated list of name/value pairs for the JSON object
 * ("scanned", "254", ...), values printed as numbers. */
asr_result asr_report_print(asr_report *r, FILE *out, asr_format fmt, int bars,
                            const char *const *extra);

/* A part of a batch the central refused, or a reused batch id (store/outbox.h). */
typedef struct {
  int64_t at; /* 0 = none */
  int64_t t;  /* the reading's or event's time, -1 = none */
  const char *batch_id, *what, *device, *error;
} asr_report_problem;

/* The upload state that status shows (asr-agent(8), "status"). */
typedef struct {
  int enrolled;
  const char *endpoint, *agent_id, *site;
  int64_t last_upload; /* 0 = never */
  int64_t pending_batches, pending_readings, held_batches;
  const char *last_error; /* "" = none */
  const char *stopped;    /* why uploads stopped (401/403), "" = not stopped */
  int outbox_full;        /* undelivered batches exceed the outbox bound */
  /* what the central refused in the last ASR_HEALTH_PROBLEM_WINDOW (agent/health.h) */
  int64_t refused_readings, refused_events, ids_reused;
  asr_report_problem last_problem;
} asr_report_uplink;

/* Adds the upload state: JSON "uplink": {"endpoint", "agent_id", "site", "last_upload"
 * (ISO or null), "pending_batches", "pending_readings", "held_batches", "last_error"
 * (or null), "stopped" (bool), "stopped_reason" (or null), "outbox_full" (bool),
 * "refused_readings", "refused_events", "batch_ids_reused" (counts of the last 7 days),
 * "last_problem" ({"at", "batch_id", "what", "device", "t", "error"} or null)} (all
 * null/0/false when not enrolled); the table form ends with one "uplink:" line. */
asr_result asr_report_set_uplink(asr_report *r, const asr_report_uplink *u);

/* Prints one device: a JSON object, the table or CSV (inspect). */
asr_result asr_report_print_one(const asr_device *d, FILE *out, asr_format fmt);

#endif
