/* ingest.h: what asr-central does with a request, pure of HTTP (docs/protocol.md).
 *
 * The server (central/server.c) hands over the method, path, the signature headers and
 * the body; these functions answer with an HTTP status and a JSON body. The order of the
 * checks of a batch is the protocol's: headers present and well formed, agent known and
 * not revoked, timestamp within ASR_SIGN_MAX_SKEW, body size, signature over the
 * compressed bytes, gunzip (bounded), the JSON text's containers counted (bounded) before
 * it is parsed, JSON parse, the batch's counts (bounded), a strict schema check of every
 * field, and only then one transaction (cstore_apply). A batch whose frame is malformed
 * gets 400 with a message naming the field, one past a size bound 413 naming it
 * ("readings: 100001 elements, more than ...: split it"), and nothing of it is stored; a
 * fault inside one device, reading or event ("readings[3].levels[1]: level is not an
 * integer") refuses that part only: the rest is stored and the 200 answer lists what was
 * refused (docs/protocol.md, "Refused parts"). The decoding is metered (central/budget.h):
 * past the request's memory 413, past the memory shared by all requests 503 with
 * Retry-After. */
#ifndef ASR_INGEST_H
#define ASR_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "central/budget.h"
#include "central/cstore.h"
#include "common/result.h"

/* The bounds of one batch (docs/protocol.md, "Limits", says why these numbers). Past a
 * bound marked 413 the batch is too large and the agent splits it; past one marked 400 it
 * is malformed. */
#define INGEST_MAX_COMPRESSED (8u << 20)    /* 8 MiB: 413 beyond */
#define INGEST_MAX_DECOMPRESSED (64u << 20) /* 64 MiB: 413 beyond */
#define INGEST_MAX_ENROLL (64u << 10)       /* an enrolment body */
#define INGEST_MAX_DEVICES 20000            /* devices of a batch: 413 beyond */
#define INGEST_MAX_READINGS 100000          /* readings of a batch: 413 beyond */
#define INGEST_MAX_LEVELS 1000000           /* levels of all its readings: 413 beyond */
#define INGEST_MAX_SUPPLIES_ALL 200000      /* supplies of all its devices: 413 beyond */
#define INGEST_MAX_EVENTS 10000             /* events of a batch: 413 beyond */
#define INGEST_MAX_METERS                                                                          \
  200000 /* meter reads of a batch (protocol 2): 413 beyond; small enough                          \
          * that the JSON objects counted before parsing stay bounded */
#define INGEST_MAX_READING_METERS 64 /* meters of a reading: 400 */
#define INGEST_METER_STR_MAX 31      /* bytes of a meter's name, unit, source */
#define INGEST_MAX_SUPPLIES 64       /* supplies of a device, levels of a reading: 400 */
#define INGEST_MAX_ERRORS 64         /* status.errors entries: 400 */
/* JSON containers a batch within those bounds may hold, counted before it is parsed. */
#define INGEST_MAX_ARRAYS                                                                          \
  (INGEST_MAX_LEVELS + 2 * INGEST_MAX_READINGS + 2 * INGEST_MAX_DEVICES + 3 + 1024)
#define INGEST_MAX_OBJECTS                                                                         \
  (INGEST_MAX_READINGS + INGEST_MAX_SUPPLIES_ALL + 2 * INGEST_MAX_DEVICES + INGEST_MAX_EVENTS +    \
   INGEST_MAX_METERS + 1 + 1024)
#define INGEST_BATCH_MEMORY (384u << 20) /* decoding one batch, by default: 413 beyond */
#define INGEST_STR_MAX 255               /* bytes of a string (sys_descr: 512) */
#define INGEST_MAX_REFUSALS_LISTED 100   /* refused parts named in an answer (the rest counted) */
#define INGEST_PROTOCOL 2                /* the newest version spoken (2: readings[].meters) */
#define INGEST_PROTOCOL_MIN 1            /* the oldest still accepted: version 1 batches as ever */

/* An answer: HTTP status and a malloc'd JSON object text. agent_id and batch_id are
 * filled as soon as known, for the request log. */
typedef struct {
  int status;
  char *body;
  int retry_after; /* seconds, 0 = no Retry-After header */
  char agent_id[CSTORE_AGENT_ID_LEN + 1];
  char batch_id[CSTORE_NAME_MAX];
} ingest_answer;

/* A signed request as received (header values NULL when absent). */
typedef struct {
  const char *method, *path;
  const char *agent, *timestamp, *signature, *content_encoding;
  const void *body;
  size_t body_len;
  size_t max_body;   /* compressed body limit, 0 = INGEST_MAX_COMPRESSED */
  size_t max_memory; /* memory decoding it may take, 0 = INGEST_BATCH_MEMORY (413 beyond) */
  budget *memory;    /* shared by every request in flight (503 when spent), NULL = none */
} ingest_request;

/* Makes jansson allocate through the memory meters of central/budget.h; once per process,
 * before any thread uses jansson (ingest_batch_body calls it too). */
void ingest_init(void);

/* The compressed body limit of a request: max_body, at most INGEST_MAX_COMPRESSED. */
size_t ingest_body_limit(const ingest_request *req);

/* Frees the body of an answer and clears it. */
void ingest_answer_free(ingest_answer *a);

/* The clock of the timestamp check: $ASR_CENTRAL_NOW (Unix seconds, a test hook) when
 * set and valid, else the system clock. */
int64_t ingest_now(void);

/* POST /v1/enroll: {"site_token", "hostname", "agent_version"} -> 201 with the new
 * agent's id and secret, 400 malformed, 401 unknown token. Returns the status. */
int ingest_enroll(cstore *st, const void *body, size_t len, int64_t now, ingest_answer *ans);

/* The checks possible before the body arrives: headers present and well formed, agent
 * known (401) and not revoked (403), timestamp within ASR_SIGN_MAX_SKEW of now (401),
 * and content_length (-1 unknown) within INGEST_MAX_COMPRESSED (413). Returns 0 and
 * fills *agent when the request may go on, else the status (answer in ans). */
int ingest_check_headers(cstore *st, const ingest_request *req, int64_t content_length, int64_t now,
                         cstore_agent *agent, ingest_answer *ans);

/* The whole of POST /v1/batches: ingest_check_headers, then the body size, signature,
 * gunzip, parse, schema check and one transaction. Returns the status. */
int ingest_batch(cstore *st, const ingest_request *req, int64_t now, ingest_answer *ans);

/* The checks of a batch once the headers passed (agent from ingest_check_headers).
 * Returns the status. */
int ingest_batch_body(cstore *st, const cstore_agent *agent, const ingest_request *req, int64_t now,
                      ingest_answer *ans);

/* A decoded, validated batch: the document and the plain arrays pointing into it. */
typedef struct ingest_doc ingest_doc;

/* Parses and checks a batch's JSON text of agent agent_id (the batch's agent_id must be
 * it). ASR_ERR_PARSE (not JSON) or ASR_ERR_INVALID (schema) with the message in err,
 * e.g. "readings[3].levels[1]: level is not an integer". Its devices and readings are
 * decoded one element at a time (memory: the arrays, not jansson's tree of the whole
 * text); a long text that path does not take (never the agents') is decoded whole, one
 * at a time: ASR_ERR_TIMEOUT when another held that turn for seconds (busy: retry). */
asr_result ingest_decode(const char *json, size_t len, const char *agent_id, ingest_doc **out,
                         char *err, size_t errn);

/* The batch of a decoded document (valid while the document lives). */
const cstore_batch *ingest_doc_batch(const ingest_doc *doc);

/* Frees a decoded document (NULL is fine). */
void ingest_doc_free(ingest_doc *doc);

#endif
