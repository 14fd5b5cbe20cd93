/* scan.c: the asynchronous SNMP detail engine; with sweep.c, the only files that include net-snmp.
 *
 * Why it looks like this. A discovery of a /24 must cost about one timeout, not 254
 * of them, so every host is a small state machine ("job") driven by net-snmp's
 * asynchronous callbacks, all from one thread and one select() loop:
 *
 *   [v3 engine-ID discovery] -> probe GET -> walk (GETBULK/GETNEXT) -> extra GETs -> done
 *
 * At most `concurrency` jobs are in flight; a job's memory (session, socket, column
 * cursors) is freed as soon as it completes, and the finished asr_vbset goes to the
 * caller's callback, which owns it.
 *
 * net-snmp is contained here: callbacks only record what happened and send the next
 * request on the same session; anything that closes or reopens a session (next
 * credential, job done) is flagged and done by the main loop, because a session must
 * not be closed from inside its own callback.
 *
 * SNMPv3. snmp_open() (and, when it is skipped, the first send) discovers the peer's
 * engine ID with a *synchronous* request, which would stall every other host for a
 * whole timeout. So sessions are opened with SNMP_FLAGS_DONT_PROBE and the discovery
 * is one more asynchronous step: an unauthenticated empty GET, whose Report
 * (usmStatsUnknownEngineIDs) carries the engine ID; then the USM user is created from
 * the session (keys localized) and the authenticated probe is sent. Reports that
 * come back for it (usmStatsWrongDigests, usmStatsUnknownUserNames,
 * usmStatsDecryptionErrors, ...) end that credential at once with a clear reason.
 *
 * Everything from the wire is untrusted: OID and value lengths are checked while
 * converting to asr_vb, walks are bounded (varbinds and requests per host) and a
 * column stops when its answers leave the subtree or stop increasing.
 *
 * Answers from elsewhere. A session's UDP socket is not connected, and net-snmp matches an
 * answer to its request by request id alone: anyone who sees a request (or guesses its id)
 * could answer for the printer from another port or address. on_pdu checks the source of
 * every message against the session's peer and returns 0 for a foreign one, which tells
 * net-snmp the request is still outstanding: its timer and retries go on, and the genuine
 * answer is still taken when it comes.
 *
 * Time. Each job has a deadline (host_deadline_ms from its start: a printer that answers
 * every request just before the timeout, or walks forever, is cut there), the run may have
 * one (deadline_ms), and the loop never sleeps longer than ASR_SCAN_TICK_MS, so that the
 * tick callback (the daemon's watchdog and stop flag) runs that often. A cut job is
 * delivered like any other, with the partial answers and `end` saying who cut it. */
#include "snmp/scan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/select.h> /* Windows: select() and FD_SETSIZE come from winsock2.h */
#endif

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/library/snmpusm.h>
#include <net-snmp/library/transform_oids.h>

/* net-snmp #defines these PDU field names; our options struct has a field of that name */
#undef max_repetitions
#undef non_repeaters

#include "common/clock.h"
#include "common/log.h"
#include "common/platform.h"
#include "common/util.h"
#include "snmp/printer.h"

#define SCAN_APP "asr-agent"
#define SCAN_MAX_COLS 32                /* walk columns */
#define SCAN_MAX_PROBE 16               /* probe OIDs */
#define SCAN_MAX_EXTRA 16               /* extra GET OIDs */
#define SCAN_VB_BUDGET 5000             /* walked varbinds per host */
#define SCAN_REQ_BUDGET 300             /* walk requests per host */
#define SCAN_CONCURRENCY_MAX 900        /* select() and file descriptors */
#define SCAN_PROGRESS_MS 100            /* progress callback period */
#define SCAN_HOST_DEADLINE_MAX 3600000u /* 1 h: the longest host deadline */
#define SCAN_MAX_RESENDS 3              /* notInTimeWindow resends per job */
#define SCAN_ENGINE_ID_MAX 32           /* RFC 3411 snmpEngineID */
/* Varbinds asked for in one GETBULK (repetitions x columns). Many agents, and snmpsimd,
 * silently drop a response over a few KB instead of answering tooBig. */
#define SCAN_BULK_VBS 60

/* An OID in net-snmp's representation. */
typedef struct {
  oid o[ASR_OID_MAX];
  size_t len;
} scan_oid;

typedef enum { JS_DISCOVER, JS_PROBE, JS_WALK, JS_EXTRA } job_stage;
typedef enum { JA_NONE, JA_NEXT_CRED, JA_FINISH } job_action;

typedef struct scan_run scan_run;

/* Where one walked column stands. */
typedef struct {
  oid *last; /* last OID received (NULL: start at the root) */
  size_t last_len;
} col_state;

/* One host in flight. */
typedef struct {
  scan_run *run;
  const asr_scan_job *job;
  netsnmp_session *ss;
  int cred;     /* index into job->creds */
  int answered; /* the current credential got a real answer */
  int closing;  /* ignore callbacks: the session is being closed */
  job_stage stage;
  job_action action;
  asr_vbset *vbs;
  asr_result status;
  char reason[160];
  asr_result cred_status; /* why the last credential failed (AUTH, TIMEOUT, ...) */
  char cred_reason[160];
  unsigned requests, walk_requests, walk_vbs, answers, maxrep, resends;
  int shrunk;       /* the walk was retried with one repetition after a timeout */
  int seen_printer; /* Printer-MIB data or an hrDevicePrinter seen during the walk */
  uint8_t engine_id[SCAN_ENGINE_ID_MAX];
  size_t engine_id_len;
  uint8_t col_done[SCAN_MAX_COLS];
  col_state cols[SCAN_MAX_COLS];
  uint8_t sent[SCAN_MAX_COLS]; /* columns in the walk request in flight */
  size_t nsent;
  uint8_t skip[SCAN_MAX_EXTRA > SCAN_MAX_PROBE ? SCAN_MAX_EXTRA : SCAN_MAX_PROBE];
  scan_oid *extra; /* extra GET OIDs (allocated only when there are some) */
  size_t nextra;
  int64_t deadline;              /* monotonic ms: the host deadline */
  netsnmp_sockaddr_storage peer; /* where the session sends (answers must come from it) */
  int have_peer;
  unsigned foreign; /* answers from elsewhere, ignored */
  asr_scan_end end;
} scan_job;

struct scan_run {
  asr_scan_opts o;
  scan_oid probe[SCAN_MAX_PROBE];
  size_t nprobe;
  scan_oid roots[SCAN_MAX_COLS];
  size_t nroots;
  uint8_t root_prt[SCAN_MAX_COLS]; /* column is in the Printer-MIB */
  int hrtype_col;                  /* the hrDeviceType column, or -1 */
  asr_scan_cb cb;
  asr_scan_progress progress;
  void *ctx;
  scan_job **active;
  size_t nactive, done, total, responded;
  int64_t last_progress;
  int64_t deadline;              /* monotonic ms, 0 = none */
  unsigned host_ms;              /* the host deadline */
  const asr_scan_feeder *feeder; /* jobs that arrive during the run (asr_scan_run_fed) */
};

/* Fixed OIDs the engine itself looks at (everything else comes from snmp/printer.c). */
static const oid prt_mib[] = {1, 3, 6, 1, 2, 1, 43};                    /* printmib (RFC 3805) */
static const oid hr_device_type[] = {1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 2}; /* hrDeviceType */
static const oid hr_device_printer[] = {1, 3, 6, 1, 2, 1, 25, 3, 1, 5}; /* hrDevicePrinter */

/* SNMPv3 authentication protocols (RFC 3414, RFC 7860) as net-snmp names them. */
static const struct {
  asr_auth_proto proto;
  const oid *oid;
  size_t len;
} auth_table[] = {
    {ASR_AUTH_MD5, usmHMACMD5AuthProtocol, OID_LENGTH(usmHMACMD5AuthProtocol)},   /* HMAC-MD5-96 */
    {ASR_AUTH_SHA, usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol)}, /* HMAC-SHA-96 */
    {ASR_AUTH_SHA224, usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol)},
    {ASR_AUTH_SHA256, usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol)},
    {ASR_AUTH_SHA384, usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol)},
    {ASR_AUTH_SHA512, usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol)},
};

/* SNMPv3 privacy protocols. AES-192/256 use the Blumenthal draft key extension, as
 * net-snmp's "-x AES-192/AES-256" does. */
static const struct {
  asr_priv_proto proto;
  const oid *oid;
  size_t len;
} priv_table[] = {
    {ASR_PRIV_DES, usmDESPrivProtocol, OID_LENGTH(usmDESPrivProtocol)}, /* CBC-DES (RFC 3414) */
    {ASR_PRIV_AES, usmAESPrivProtocol,
     OID_LENGTH(usmAESPrivProtocol)}, /* CFB128-AES-128 (RFC 3826) */
    {ASR_PRIV_AES192, usmAES192PrivProtocol,
     OID_LENGTH(usmAES192PrivProtocol)}, /* draft-blumenthal-aes-usm-04 */
    {ASR_PRIV_AES256, usmAES256PrivProtocol,
     OID_LENGTH(usmAES256PrivProtocol)}, /* draft-blumenthal-aes-usm-04 */
};

/* USM Report PDUs (RFC 3414 3.2) as snmpv3_get_report_type() decodes them, and what
 * they mean to an operator. resend: the request is repeated (clock resynchronized). */
static const struct {
  int report;
  asr_result status;
  int resend;
  const char *reason;
} report_table[] = {
    /* usmStatsWrongDigests */
    {SNMPERR_AUTHENTICATION_FAILURE, ASR_ERR_AUTH, 0,
     "SNMPv3 authentication failed (wrong pass phrase?)"},
    /* usmStatsUnknownUserNames */
    {SNMPERR_UNKNOWN_USER_NAME, ASR_ERR_AUTH, 0, "SNMPv3 user unknown to the device"},
    /* usmStatsDecryptionErrors */
    {SNMPERR_DECRYPTION_ERR, ASR_ERR_AUTH, 0,
     "SNMPv3 decryption failed (wrong privacy pass phrase or protocol?)"},
    /* usmStatsUnsupportedSecLevels */
    {SNMPERR_UNSUPPORTED_SEC_LEVEL, ASR_ERR_AUTH, 0,
     "SNMPv3 security level not configured for this user"},
    /* usmStatsNotInTimeWindows: the agent told us its clock; try again */
    {SNMPERR_NOT_IN_TIME_WINDOW, ASR_ERR_AUTH, 1, "SNMPv3 not in time window"},
    /* an answer whose digest does not match our key (net-snmp's USM check) */
    {SNMPERR_USM_AUTHENTICATIONFAILURE, ASR_ERR_AUTH, 0,
     "SNMPv3 authentication failed (wrong pass phrase?)"},
    /* an answer we cannot decrypt */
    {SNMPERR_USM_DECRYPTIONERROR, ASR_ERR_AUTH, 0,
     "SNMPv3 decryption failed (wrong privacy pass phrase or protocol?)"},
    /* usmStatsUnknownEngineIDs (after discovery: the engine ID changed) */
    {SNMPERR_UNKNOWN_ENG_ID, ASR_ERR_AUTH, 0, "SNMPv3 engine ID rejected by the device"},
};

static int scan_inited;

static void send_stage(scan_job *j);

/* ---- conversions -------------------------------------------------------------------- */

static asr_result parse_oid(const char *s, scan_oid *out)
{
  uint32_t tmp[ASR_OID_MAX];
  asr_result r = asr_oid_parse(s, tmp, ASR_OID_MAX, &out->len);

  if (r)
    return r;
  for (size_t i = 0; i < out->len; i++)
    out->o[i] = tmp[i];
  return ASR_OK;
}

/* Copies a wire OID into ours; INVALID when too long or a sub-identifier is too big. */
static asr_result copy_oid(const oid *in, size_t len, uint32_t *out)
{
  if (len == 0 || len > ASR_OID_MAX)
    return ASR_ERR_INVALID;
  for (size_t i = 0; i < len; i++) {
    if (in[i] > UINT32_MAX)
      return ASR_ERR_INVALID;
    out[i] = (uint32_t)in[i];
  }
  return ASR_OK;
}

static int oid_under(const oid *name, size_t len, const oid *prefix, size_t plen)
{
  return len > plen && snmp_oid_compare(name, plen, prefix, plen) == 0;
}

/* Fills vb's value from a net-snmp variable; INVALID when the value is malformed. */
static asr_result convert_value(const netsnmp_variable_list *vp, asr_vb *vb, uint32_t *oidval)
{
  switch (vp->type) {
  case ASN_INTEGER:
    if (!vp->val.integer || vp->val_len < sizeof(long))
      return ASR_ERR_INVALID;
    vb->type = ASR_VB_INTEGER;
    vb->num = (int32_t)*vp->val.integer;
    return ASR_OK;
  case ASN_COUNTER:
  case ASN_GAUGE:
  case ASN_TIMETICKS:
  case ASN_UINTEGER:
    if (!vp->val.integer || vp->val_len < sizeof(long))
      return ASR_ERR_INVALID;
    vb->type = ASR_VB_UNSIGNED;
    vb->num = (int64_t)((unsigned long)*vp->val.integer & 0xffffffffUL);
    return ASR_OK;
  case ASN_COUNTER64: {
    uint64_t u;

    if (!vp->val.counter64 || vp->val_len < sizeof(struct counter64))
      return ASR_ERR_INVALID;
    u = ((uint64_t)(vp->val.counter64->high & 0xffffffffUL) << 32) |
        (vp->val.counter64->low & 0xffffffffUL);
    vb->type = ASR_VB_COUNTER64;
    vb->num = u > INT64_MAX ? INT64_MAX : (int64_t)u;
    return ASR_OK;
  }
  case ASN_OCTET_STR:
  case ASN_OPAQUE:
  case ASN_BIT_STR:
    if (vp->val_len && !vp->val.string)
      return ASR_ERR_INVALID;
    vb->type = ASR_VB_OCTETS;
    vb->bytes = vp->val.string;
    vb->len = vp->val_len;
    return ASR_OK;
  case ASN_IPADDRESS:
    if (!vp->val.string || vp->val_len != 4)
      return ASR_ERR_INVALID;
    vb->type = ASR_VB_IPADDR;
    vb->bytes = vp->val.string;
    vb->len = 4;
    return ASR_OK;
  case ASN_OBJECT_ID:
    vb->type = ASR_VB_OID;
    vb->oidval_len = vp->val_len / sizeof(oid);
    vb->oidval = oidval;
    if (!vp->val.objid || vp->val_len % sizeof(oid))
      return ASR_ERR_INVALID;
    return copy_oid(vp->val.objid, vb->oidval_len, oidval);
  case ASN_NULL:
    vb->type = ASR_VB_NULL;
    return ASR_OK;
  default: /* noSuchObject, noSuchInstance, endOfMibView, unknown tags */
    vb->type = ASR_VB_NONE;
    return ASR_OK;
  }
}

/* Adds one answer to the job's set; malformed varbinds are dropped (logged). */
static void add_var(scan_job *j, const netsnmp_variable_list *vp)
{
  uint32_t name[ASR_OID_MAX], oidval[ASR_OID_MAX];
  asr_vb vb;
  asr_result r;

  memset(&vb, 0, sizeof(vb));
  r = copy_oid(vp->name, vp->name_length, name);
  if (!r)
    r = convert_value(vp, &vb, oidval);
  if (r) {
    asr_log(ASR_LOG_DEBUG, "%s: malformed varbind (type 0x%02x) dropped", j->job->address,
            (unsigned)vp->type);
    return;
  }
  vb.oid = name;
  vb.oid_len = vp->name_length;
  r = asr_vbset_add(j->vbs, &vb);
  if (r)
    asr_log(ASR_LOG_DEBUG, "%s: varbind not kept: %s", j->job->address, asr_result_str(r));
}

/* ---- job state changes -------------------------------------------------------------- */

static void job_finish(scan_job *j, asr_result status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the job (the main loop delivers it); status OK ignores fmt. */
static void job_finish(scan_job *j, asr_result status, const char *fmt, ...)
{
  va_list ap;

  j->status = status;
  j->action = JA_FINISH;
  if (!fmt)
    return;
  va_start(ap, fmt);
  if (vsnprintf(j->reason, sizeof(j->reason), fmt, ap) < 0)
    j->reason[0] = '\0';
  va_end(ap);
}

/* Ends the current credential; the main loop tries the next one. */
static void cred_failed(scan_job *j, asr_result status, const char *reason)
{
  /* an authentication failure says more than a later timeout: keep it */
  if (j->cred_status != ASR_ERR_AUTH || status == ASR_ERR_AUTH) {
    j->cred_status = status;
    asr_strlcpy_cut(j->cred_reason, reason, sizeof(j->cred_reason));
  }
  j->action = JA_NEXT_CRED;
}

static int send_pdu(scan_job *j, netsnmp_pdu *pdu);

static netsnmp_pdu *new_pdu(scan_job *j, int command)
{
  netsnmp_pdu *pdu = snmp_pdu_create(command);

  if (!pdu)
    job_finish(j, ASR_ERR_NOMEM, "out of memory");
  return pdu;
}

/* SNMPv3 engine-ID discovery: an unauthenticated, empty GET (RFC 3414 4). */
static void send_discover(scan_job *j)
{
  netsnmp_pdu *pdu = new_pdu(j, SNMP_MSG_GET);

  if (!pdu)
    return;
  pdu->version = SNMP_VERSION_3;
  pdu->securityModel = SNMP_SEC_MODEL_USM;
  pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
  pdu->securityName = strdup("");
  pdu->securityNameLen = 0;
  send_pdu(j, pdu);
}

/* A GET of the OIDs not skipped (v1 noSuchName removes them one by one). */
static void send_get(scan_job *j, const scan_oid *oids, size_t n)
{
  netsnmp_pdu *pdu = new_pdu(j, SNMP_MSG_GET);
  size_t added = 0;

  if (!pdu)
    return;
  for (size_t i = 0; i < n; i++) {
    if (j->skip[i])
      continue;
    snmp_add_null_var(pdu, oids[i].o, oids[i].len);
    added++;
  }
  if (added == 0) {
    snmp_free_pdu(pdu);
    job_finish(j, ASR_ERR_INVALID, "nothing to ask");
    return;
  }
  send_pdu(j, pdu);
}

static void end_walk(scan_job *j, int timed_out);

/* Repetitions for the next GETBULK: within the varbind bounds, and ramping up (1, 2, 4,
 * ...) so that short columns do not drag pages of the next table along: agents pay per
 * varbind, and most printer columns hold one to four rows. */
static unsigned bulk_reps(const scan_job *j)
{
  unsigned n = (unsigned)j->nsent, reps = j->maxrep;
  unsigned left = (SCAN_VB_BUDGET - j->walk_vbs) / n + 1;
  unsigned fit = SCAN_BULK_VBS / n;
  unsigned ramp = 1u << (j->walk_requests < 8 ? j->walk_requests : 8);

  if (reps > left)
    reps = left;
  if (reps > fit)
    reps = fit;
  if (reps > ramp)
    reps = ramp;
  return reps ? reps : 1;
}

/* The next walk request: every still-active column, GETBULK or (v1) GETNEXT. */
static void send_walk(scan_job *j)
{
  const scan_run *run = j->run;
  int v1 = j->ss->version == SNMP_VERSION_1;
  netsnmp_pdu *pdu;

  if (j->walk_vbs >= SCAN_VB_BUDGET || j->walk_requests >= SCAN_REQ_BUDGET) {
    asr_log(ASR_LOG_DEBUG, "%s: walk bound reached", j->job->address);
    end_walk(j, 0);
    return;
  }
  pdu = new_pdu(j, v1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
  if (!pdu)
    return;
  j->nsent = 0;
  for (size_t c = 0; c < run->nroots; c++) {
    if (j->col_done[c])
      continue;
    if (j->cols[c].last)
      snmp_add_null_var(pdu, j->cols[c].last, j->cols[c].last_len);
    else
      snmp_add_null_var(pdu, run->roots[c].o, run->roots[c].len);
    j->sent[j->nsent++] = (uint8_t)c;
  }
  if (j->nsent == 0) {
    snmp_free_pdu(pdu);
    end_walk(j, 0);
    return;
  }
  if (!v1) {
    pdu->errstat = 0;                   /* non-repeaters */
    pdu->errindex = (long)bulk_reps(j); /* max-repetitions */
  }
  j->walk_requests++;
  send_pdu(j, pdu);
}

static void send_stage(scan_job *j)
{
  switch (j->stage) {
  case JS_DISCOVER:
    send_discover(j);
    break;
  case JS_PROBE:
    send_get(j, j->run->probe, j->run->nprobe);
    break;
  case JS_WALK:
    send_walk(j);
    break;
  case JS_EXTRA:
    send_get(j, j->extra, j->nextra);
    break;
  }
}

/* After the walk: the vendor serial GETs the model asks for, if any. */
static void start_extra(scan_job *j)
{
  const char *oids[SCAN_MAX_EXTRA];
  size_t n;

  asr_vbset_finish(j->vbs);
  n = asr_printer_extra_gets(j->vbs, oids, SCAN_MAX_EXTRA);
  if (n > SCAN_MAX_EXTRA)
    n = SCAN_MAX_EXTRA;
  if (n == 0)
    goto done;
  j->extra = calloc(n, sizeof(*j->extra));
  if (!j->extra)
    goto done;
  for (size_t i = 0; i < n; i++) {
    if (parse_oid(oids[i], &j->extra[j->nextra]) == ASR_OK)
      j->nextra++;
  }
  if (j->nextra == 0)
    goto done;
  memset(j->skip, 0, sizeof(j->skip));
  j->stage = JS_EXTRA;
  send_stage(j);
  return;
done:
  job_finish(j, ASR_OK, NULL);
}

static void end_walk(scan_job *j, int timed_out)
{
  for (size_t c = 0; c < SCAN_MAX_COLS; c++) {
    free(j->cols[c].last);
    j->cols[c].last = NULL;
  }
  if (timed_out) {
    job_finish(j, ASR_ERR_TIMEOUT, "walk stopped after %u answers", j->answers);
    return;
  }
  start_extra(j);
}

/* ---- responses ---------------------------------------------------------------------- */

/* The probe answered: this credential works. */
static void on_probe(scan_job *j, netsnmp_pdu *pdu)
{
  netsnmp_variable_list *vp;

  if (pdu->errstat == SNMP_ERR_NOSUCHNAME && pdu->errindex >= 1) {
    /* v1: one OID unknown fails the whole GET; ask again without it */
    size_t k = 0;

    for (size_t i = 0; i < j->run->nprobe; i++) {
      if (!j->skip[i] && ++k == (size_t)pdu->errindex) {
        j->skip[i] = 1;
        send_stage(j);
        return;
      }
    }
  }
  if (!j->answered) {
    j->answered = 1;
    j->run->responded++;
  }
  for (vp = pdu->variables; vp && pdu->errstat == SNMP_ERR_NOERROR; vp = vp->next_variable)
    add_var(j, vp);
  if (j->run->o.probe_only) {
    job_finish(j, ASR_OK, NULL);
    return;
  }
  j->stage = JS_WALK;
  send_stage(j);
}

static int set_last(col_state *cs, const netsnmp_variable_list *vp)
{
  oid *o = realloc(cs->last, vp->name_length * sizeof(oid));

  if (!o)
    return -1;
  memcpy(o, vp->name, vp->name_length * sizeof(oid));
  cs->last = o;
  cs->last_len = vp->name_length;
  return 0;
}

static void note_printer(scan_job *j, size_t c, const netsnmp_variable_list *vp)
{
  const scan_run *run = j->run;

  if (run->root_prt[c])
    j->seen_printer = 1;
  if ((int)c == run->hrtype_col && vp->type == ASN_OBJECT_ID && vp->val.objid &&
      vp->val_len == sizeof(hr_device_printer) &&
      memcmp(vp->val.objid, hr_device_printer, sizeof(hr_device_printer)) == 0)
    j->seen_printer = 1;
}

/* One walked varbind for column c: keep it, or end the column. */
static void walk_var(scan_job *j, size_t c, const netsnmp_variable_list *vp)
{
  const scan_oid *root = &j->run->roots[c];
  col_state *cs = &j->cols[c];

  if (vp->type == SNMP_ENDOFMIBVIEW || vp->type == SNMP_NOSUCHOBJECT ||
      vp->type == SNMP_NOSUCHINSTANCE || vp->name_length > ASR_OID_MAX ||
      !oid_under(vp->name, vp->name_length, root->o, root->len) ||
      (cs->last && snmp_oid_compare(vp->name, vp->name_length, cs->last, cs->last_len) <= 0) ||
      set_last(cs, vp) != 0) {
    j->col_done[c] = 1;
    return;
  }
  add_var(j, vp);
  note_printer(j, c, vp);
  j->walk_vbs++;
}

/* True when the walk so far shows no printer and cannot show one any more. */
static int clearly_not_printer(const scan_job *j)
{
  const scan_run *run = j->run;

  if (j->seen_printer)
    return 0;
  for (size_t c = 0; c < run->nroots; c++) {
    if (run->root_prt[c] && !j->col_done[c])
      return 0;
  }
  return run->hrtype_col < 0 || j->col_done[run->hrtype_col];
}

/* A walk error status: tooBig shrinks the request, a bad column ends that column. */
static void on_walk_error(scan_job *j, const netsnmp_pdu *pdu)
{
  if (pdu->errstat == SNMP_ERR_TOOBIG && j->maxrep > 1) {
    j->maxrep /= 2;
    send_stage(j);
    return;
  }
  if (pdu->errindex >= 1 && (size_t)pdu->errindex <= j->nsent) {
    j->col_done[j->sent[pdu->errindex - 1]] = 1;
    send_stage(j);
    return;
  }
  end_walk(j, 0);
}

static void on_walk(scan_job *j, netsnmp_pdu *pdu)
{
  netsnmp_variable_list *vp;
  size_t k = 0;

  if (pdu->errstat != SNMP_ERR_NOERROR) {
    on_walk_error(j, pdu);
    return;
  }
  j->answers++;
  for (vp = pdu->variables; vp; vp = vp->next_variable, k++) {
    size_t c = j->sent[k % j->nsent];

    if (!j->col_done[c])
      walk_var(j, c, vp);
  }
  if (k == 0 || clearly_not_printer(j)) {
    end_walk(j, 0);
    return;
  }
  send_stage(j);
}

static void on_extra(scan_job *j, netsnmp_pdu *pdu)
{
  netsnmp_variable_list *vp;

  if (pdu->errstat == SNMP_ERR_NOSUCHNAME && pdu->errindex >= 1) {
    size_t k = 0;

    for (size_t i = 0; i < j->nextra; i++) {
      if (!j->skip[i] && ++k == (size_t)pdu->errindex) {
        j->skip[i] = 1;
        send_stage(j);
        return;
      }
    }
  }
  for (vp = pdu->variables; vp && pdu->errstat == SNMP_ERR_NOERROR; vp = vp->next_variable)
    add_var(j, vp);
  job_finish(j, ASR_OK, NULL);
}

/* (Re)creates the USM user of the session from its keys. net-snmp keeps an existing
 * user (same engine ID and name) unchanged, which would keep the keys of an earlier,
 * wrong pass phrase: so the old one goes first. Jobs that share an engine ID (clones)
 * and the user name but not the pass phrase disturb each other; that is rare. */
static int make_user(netsnmp_session *ss)
{
  struct usmUser *u = usm_get_user(ss->securityEngineID, ss->securityEngineIDLen, ss->securityName);

  if (u) {
    usm_remove_user(u);
    usm_free_user(u);
  }
  ss->flags &= ~SNMP_FLAGS_USER_CREATED;
  return create_user_from_session(ss);
}

/* The discovery Report carries the engine ID; create the USM user, then probe. */
static void on_discovered(scan_job *j, const netsnmp_pdu *pdu)
{
  netsnmp_session *ss = j->ss;

  if (pdu->securityEngineIDLen == 0 || pdu->securityEngineIDLen > SCAN_ENGINE_ID_MAX ||
      !pdu->securityEngineID) {
    job_finish(j, ASR_ERR_PROTOCOL, "SNMPv3 engine ID discovery: bad engine ID");
    return;
  }
  memcpy(j->engine_id, pdu->securityEngineID, pdu->securityEngineIDLen);
  j->engine_id_len = pdu->securityEngineIDLen;
  if (ss->securityEngineIDLen == 0) {
    ss->securityEngineID = netsnmp_memdup(j->engine_id, j->engine_id_len);
    if (!ss->securityEngineID) {
      job_finish(j, ASR_ERR_NOMEM, "out of memory");
      return;
    }
    ss->securityEngineIDLen = j->engine_id_len;
  }
  if (make_user(ss) != SNMPERR_SUCCESS) {
    job_finish(j, ASR_ERR_SNMP, "SNMPv3: cannot set up the user");
    return;
  }
  j->stage = JS_PROBE;
  send_stage(j);
}

/* A USM error (from a Report, or from checking an answer): resend, or fail. */
static void on_usm_error(scan_job *j, int type)
{
  for (size_t i = 0; i < sizeof(report_table) / sizeof(report_table[0]); i++) {
    if (report_table[i].report != type)
      continue;
    if (report_table[i].resend && j->resends < SCAN_MAX_RESENDS) {
      j->resends++;
      send_stage(j);
    } else if (j->stage == JS_DISCOVER || j->stage == JS_PROBE) {
      cred_failed(j, report_table[i].status, report_table[i].reason);
    } else {
      job_finish(j, report_table[i].status, "%s", report_table[i].reason);
    }
    return;
  }
  job_finish(j, ASR_ERR_PROTOCOL, "unexpected SNMPv3 report (%d)", type);
}

static void on_report(scan_job *j, netsnmp_pdu *pdu)
{
  int type = snmpv3_get_report_type(pdu);

  if (j->stage == JS_DISCOVER && type == SNMPERR_UNKNOWN_ENG_ID) {
    on_discovered(j, pdu);
    return;
  }
  on_usm_error(j, type);
}

static void on_timeout(scan_job *j)
{
  switch (j->stage) {
  case JS_DISCOVER:
  case JS_PROBE: {
    char reason[64];

    asr_fmt_cut(reason, sizeof(reason), "no answer after %u tries", (unsigned)j->ss->retries + 1);
    cred_failed(j, ASR_ERR_TIMEOUT, reason);
    break;
  }
  case JS_WALK:
    if (j->maxrep > 1 && !j->shrunk) { /* maybe the answer was too big to be sent */
      j->shrunk = 1;
      j->maxrep = 1;
      send_stage(j);
      break;
    }
    end_walk(j, 1);
    break;
  case JS_EXTRA: /* not fatal: keep what the walk found */
    job_finish(j, ASR_OK, NULL);
    break;
  }
}

static void on_response(scan_job *j, netsnmp_pdu *pdu)
{
  switch (j->stage) {
  case JS_DISCOVER: /* a Response instead of a Report: no USM there */
    job_finish(j, ASR_ERR_PROTOCOL, "SNMPv3 engine ID discovery: no report");
    break;
  case JS_PROBE:
    on_probe(j, pdu);
    break;
  case JS_WALK:
    on_walk(j, pdu);
    break;
  case JS_EXTRA:
    on_extra(j, pdu);
    break;
  }
}

/* True when pdu came from the address and port the job's session sends to. The UDP
 * transport hands the source over as an address pair, the UDPv6 one as a sockaddr_in6. */
static int from_peer(const scan_job *j, const netsnmp_pdu *pdu)
{
  const netsnmp_indexed_addr_pair *got = pdu->transport_data;
  const struct sockaddr_in6 *got6 = pdu->transport_data;

  if (!j->have_peer || !got)
    return 0;
  if (j->peer.sa.sa_family == AF_INET6)
    return pdu->transport_data_length == (int)sizeof(*got6) && got6->sin6_family == AF_INET6 &&
           got6->sin6_port == j->peer.sin6.sin6_port &&
           memcmp(&got6->sin6_addr, &j->peer.sin6.sin6_addr, sizeof(got6->sin6_addr)) == 0;
  if (pdu->transport_data_length != (int)sizeof(*got))
    return 0;
  if (got->remote_addr.sa.sa_family != AF_INET || j->peer.sa.sa_family != AF_INET)
    return 0;
  return got->remote_addr.sin.sin_port == j->peer.sin.sin_port &&
         got->remote_addr.sin.sin_addr.s_addr == j->peer.sin.sin_addr.s_addr;
}

/* net-snmp's callback for every request of a job's session. Returning 0 for a message
 * from elsewhere keeps its request outstanding (see the top of this file). */
static int on_pdu(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu, void *magic)
{
  scan_job *j = magic;

  (void)reqid;
  if (j && op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu && !from_peer(j, pdu)) {
    j->foreign++;
    asr_log(ASR_LOG_DEBUG, "%s: an answer from another address or port ignored", j->job->address);
    return 0;
  }
  if (!j || j->closing || j->action != JA_NONE)
    return 1;
  if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
    on_timeout(j);
  } else if (op == NETSNMP_CALLBACK_OP_SEND_FAILED) {
    cred_failed(j, ASR_ERR_SNMP, "send failed");
  } else if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu) {
    if (pdu->command == SNMP_MSG_REPORT)
      on_report(j, pdu);
    else if (pdu->command == SNMP_MSG_RESPONSE)
      on_response(j, pdu);
    else if (ss && ss->s_snmp_errno) /* net-snmp hands over answers it rejected */
      on_usm_error(j, ss->s_snmp_errno);
    else
      job_finish(j, ASR_ERR_PROTOCOL, "unexpected PDU type 0x%02x", (unsigned)pdu->command);
  }
  return 1;
}

static int send_pdu(scan_job *j, netsnmp_pdu *pdu)
{
  j->requests++;
  if (snmp_async_send(j->ss, pdu, on_pdu, j) == 0) {
    snmp_free_pdu(pdu);
    cred_failed(j, ASR_ERR_SNMP, "cannot send the request");
    return -1;
  }
  return 0;
}

/* ---- sessions ----------------------------------------------------------------------- */

/* Fills the v3 part of a session (keys derived from the pass phrases). */
static asr_result set_v3(netsnmp_session *s, const asr_snmp_cred *c, const char **why)
{
  size_t a, p;

  s->version = SNMP_VERSION_3;
  s->securityModel = SNMP_SEC_MODEL_USM;
  s->securityName = (char *)c->user;
  s->securityNameLen = strlen(c->user);
  if (c->context[0]) {
    s->contextName = (char *)c->context;
    s->contextNameLen = strlen(c->context);
  }
  s->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
  if (c->auth_proto == ASR_AUTH_NONE) {
    *why = "SNMPv3 privacy needs authentication";
    return c->priv_proto == ASR_PRIV_NONE ? ASR_OK : ASR_ERR_INVALID;
  }
  for (a = 0; a < sizeof(auth_table) / sizeof(auth_table[0]); a++) {
    if (auth_table[a].proto == c->auth_proto)
      break;
  }
  *why = "SNMPv3 authentication protocol not supported";
  if (a == sizeof(auth_table) / sizeof(auth_table[0]))
    return ASR_ERR_INVALID;
  s->securityAuthProto = (oid *)auth_table[a].oid;
  s->securityAuthProtoLen = auth_table[a].len;
  s->securityAuthKeyLen = USM_AUTH_KU_LEN;
  *why = "SNMPv3 authentication pass phrase unusable (at least 8 characters)";
  if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                  (const u_char *)c->auth_pass, strlen(c->auth_pass), s->securityAuthKey,
                  &s->securityAuthKeyLen) != SNMPERR_SUCCESS)
    return ASR_ERR_AUTH;
  s->securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
  if (c->priv_proto == ASR_PRIV_NONE)
    return ASR_OK;
  for (p = 0; p < sizeof(priv_table) / sizeof(priv_table[0]); p++) {
    if (priv_table[p].proto == c->priv_proto)
      break;
  }
  *why = "SNMPv3 privacy protocol not supported";
  if (p == sizeof(priv_table) / sizeof(priv_table[0]))
    return ASR_ERR_INVALID;
  s->securityPrivProto = (oid *)priv_table[p].oid;
  s->securityPrivProtoLen = priv_table[p].len;
  s->securityPrivKeyLen = USM_PRIV_KU_LEN;
  *why = "SNMPv3 privacy pass phrase unusable (at least 8 characters)";
  if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                  (const u_char *)c->priv_pass, strlen(c->priv_pass), s->securityPrivKey,
                  &s->securityPrivKeyLen) != SNMPERR_SUCCESS)
    return ASR_ERR_AUTH;
  s->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
  return ASR_OK;
}

/* Keeps the address the session sends to: answers must come from there (from_peer). */
static void note_peer(scan_job *j)
{
  netsnmp_transport *t = snmp_sess_transport(snmp_sess_pointer(j->ss));

  j->have_peer = t && t->data && t->data_length == (int)sizeof(netsnmp_indexed_addr_pair);
  if (j->have_peer)
    memcpy(&j->peer, &((const netsnmp_indexed_addr_pair *)t->data)->remote_addr, sizeof(j->peer));
}

/* Opens the session for the job's current credential. */
static asr_result open_session(scan_job *j, const char **why)
{
  const asr_snmp_cred *c = &j->job->creds[j->cred];
  netsnmp_session s;
  char peer[96];
  asr_result r = ASR_OK;

  snmp_sess_init(&s);
  *why = "bad address";
  if (asr_fmt(peer, sizeof(peer), strchr(j->job->address, ':') ? "udp6:[%s]:%u" : "udp:%s:%u",
              j->job->address, (unsigned)j->job->port))
    return ASR_ERR_TARGET;
  s.peername = peer;
  s.timeout = (long)j->run->o.timeout_ms * 1000L;
  s.retries = (int)j->run->o.retries;
  s.callback = on_pdu;
  s.callback_magic = j;
  if (c->version == ASR_SNMP_V3) {
    r = set_v3(&s, c, why);
    s.flags |= SNMP_FLAGS_DONT_PROBE;
    if (!r && j->engine_id_len) { /* known from an earlier credential */
      s.securityEngineID = j->engine_id;
      s.securityEngineIDLen = j->engine_id_len;
    }
  } else {
    s.version = c->version == ASR_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
    s.community = (u_char *)c->community;
    s.community_len = strlen(c->community);
  }
  if (!r) {
    j->ss = snmp_open(&s);
    *why = snmp_api_errstring(s.s_snmp_errno);
    r = j->ss ? ASR_OK : ASR_ERR_SNMP;
  }
  if (!r)
    note_peer(j);
  asr_secret_wipe(s.securityAuthKey, sizeof(s.securityAuthKey));
  asr_secret_wipe(s.securityPrivKey, sizeof(s.securityPrivKey));
  return r;
}

static void close_session(scan_job *j)
{
  if (!j->ss)
    return;
  j->closing = 1;
  snmp_close(j->ss);
  j->ss = NULL;
  j->closing = 0;
}

/* Moves to the next credential (main loop only: closes and opens sessions). */
static void next_cred(scan_job *j)
{
  const char *why = NULL;

  close_session(j);
  j->action = JA_NONE;
  while (++j->cred < (int)j->job->n_creds) {
    asr_result r;

    j->answered = 0;
    j->resends = 0;
    memset(j->skip, 0, sizeof(j->skip));
    r = open_session(j, &why);
    if (r) {
      cred_failed(j, r, why ? why : asr_result_str(r));
      j->action = JA_NONE;
      continue;
    }
    if (j->ss->version == SNMP_VERSION_3) {
      j->ss->flags |= SNMP_FLAGS_DONT_PROBE; /* snmp_open cleared it: no synchronous probe */
      j->stage = j->ss->securityEngineIDLen ? JS_PROBE : JS_DISCOVER;
      if (j->stage == JS_PROBE && make_user(j->ss) != SNMPERR_SUCCESS)
        j->stage = JS_DISCOVER;
    } else {
      j->stage = JS_PROBE;
    }
    send_stage(j);
    return;
  }
  job_finish(j, j->cred_status ? j->cred_status : ASR_ERR_TIMEOUT, "%s",
             j->cred_reason[0] ? j->cred_reason : "no answer");
}

/* ---- the run ------------------------------------------------------------------------ */

static void job_free(scan_job *j)
{
  for (size_t c = 0; c < SCAN_MAX_COLS; c++)
    free(j->cols[c].last);
  free(j->extra);
  asr_vbset_free(j->vbs);
  free(j);
}

/* Hands a finished job to the caller and frees it. */
static void deliver(scan_run *run, scan_job *j)
{
  asr_scan_result res;

  close_session(j);
  memset(&res, 0, sizeof(res));
  asr_vbset_finish(j->vbs);
  res.job = j->job;
  res.status = j->status;
  asr_strlcpy_cut(res.reason, j->status ? j->reason : "", sizeof(res.reason));
  res.cred_index = j->answered ? j->cred : -1;
  res.is_printer = j->answered && asr_printer_is_printer(j->vbs);
  res.vbs = j->vbs;
  res.requests = j->requests;
  res.end = j->end;
  res.foreign = j->foreign;
  j->vbs = NULL;
  run->done++;
  if (j->foreign)
    asr_log(ASR_LOG_WARN, "%s: %u answers from another address or port ignored (spoofed?)",
            j->job->address, j->foreign);
  if (res.status)
    asr_log(ASR_LOG_DEBUG, "%s: %s: %s", j->job->address, asr_result_str(res.status), res.reason);
  asr_log(ASR_LOG_DEBUG, "%s: done after %u requests, %zu varbinds", j->job->address, res.requests,
          asr_vbset_count(res.vbs));
  job_free(j);
  run->cb(&res, run->ctx);
}

/* Hands over a job that never started (no memory, or the run was cut before it). */
static void deliver_unstarted(scan_run *run, const asr_scan_job *job, asr_result status,
                              asr_scan_end end, const char *reason)
{
  asr_scan_result res;

  memset(&res, 0, sizeof(res));
  res.job = job;
  res.status = status;
  res.cred_index = -1;
  res.end = end;
  asr_strlcpy_cut(res.reason, reason, sizeof(res.reason));
  run->done++;
  run->cb(&res, run->ctx);
}

static void start_job(scan_run *run, const asr_scan_job *job)
{
  scan_job *j = calloc(1, sizeof(*j));

  if (j)
    j->vbs = asr_vbset_new();
  if (!j || !j->vbs) {
    free(j);
    deliver_unstarted(run, job, ASR_ERR_NOMEM, ASR_SCAN_END_HOST, "out of memory");
    return;
  }
  asr_vbset_set_limit(j->vbs, SCAN_VB_BUDGET + SCAN_MAX_PROBE + SCAN_MAX_EXTRA);
  j->run = run;
  j->job = job;
  j->cred = -1;
  j->maxrep = run->o.max_repetitions;
  j->deadline = asr_monotonic_ms() + run->host_ms;
  run->active[run->nactive++] = j;
  if (job->n_creds == 0 || !job->creds)
    job_finish(j, ASR_ERR_INVALID, "no credentials");
  else
    next_cred(j);
}

/* Carries out what the callbacks asked for: next credential, or delivery. */
static void reap(scan_run *run)
{
  size_t i = 0;

  while (i < run->nactive) {
    scan_job *j = run->active[i];

    if (j->action == JA_NEXT_CRED)
      next_cred(j);
    if (j->action != JA_FINISH) {
      i++;
      continue;
    }
    run->active[i] = run->active[--run->nactive];
    deliver(run, j);
  }
}

/* Adds the feeder's sockets to the wait and wakes up when it wants to run again. */
static void feeder_wait(const asr_scan_feeder *f, netsnmp_large_fd_set *fds, int *nfds,
                        struct timeval *tv, int64_t wake_ms)
{
  int socks[4];
  size_t k = f->sockets(f->ctx, socks, 4);

  for (size_t i = 0; i < k && i < 4; i++) {
    NETSNMP_LARGE_FD_SET(socks[i], fds);
    if (socks[i] + 1 > *nfds)
      *nfds = socks[i] + 1;
  }
  if (wake_ms >= 0 && wake_ms < (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000) {
    tv->tv_sec = (long)(wake_ms / 1000);
    tv->tv_usec = (long)(wake_ms % 1000) * 1000;
  }
}

/* Waits for answers or the next timer, and lets net-snmp dispatch them.
 *
 * Why a large fd set: with `concurrency` sessions in flight the set holds up to 900
 * sockets, more than FD_SETSIZE (64 on Windows, 1024 on Linux). net-snmp's large fd sets
 * grow as sockets are added (a bit set on POSIX, an array of SOCKETs on Windows, whose
 * select() takes any count), so FD_SETSIZE here is only the initial size and must stay
 * the one net-snmp was built with (the struct embeds an fd_set). Tested with a /24 in
 * flight under Wine (scripts/win/test-fleet.sh). */
static void wait_once(const scan_run *run, int64_t wake_ms)
{
  netsnmp_large_fd_set fds;
  struct timeval tv = {0, ASR_SCAN_TICK_MS * 1000};
  int nfds = 0, block = 0, n;

  netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
  snmp_select_info2(&nfds, &fds, &tv, &block);
  /* no timer pending, or a later one: never sleep past the next tick */
  if (block || tv.tv_sec > 0 || tv.tv_usec > ASR_SCAN_TICK_MS * 1000) {
    tv.tv_sec = 0;
    tv.tv_usec = ASR_SCAN_TICK_MS * 1000;
  }
  if (run->feeder)
    feeder_wait(run->feeder, &fds, &nfds, &tv, wake_ms);
  n = netsnmp_large_fd_set_select(nfds, &fds, NULL, NULL, &tv);
  if (n > 0)
    snmp_read2(&fds);
  else if (n < 0 && errno != EINTR)
    asr_log(ASR_LOG_WARN, "scan: select: %s", strerror(errno));
  snmp_timeout(); /* also when busy: answers must not starve the retry timers */
  netsnmp_large_fd_set_cleanup(&fds);
}

static void progress(scan_run *run, int force)
{
  int64_t now;

  if (!run->progress)
    return;
  now = asr_monotonic_ms();
  if (!force && now - run->last_progress < SCAN_PROGRESS_MS)
    return;
  run->last_progress = now;
  run->progress(run->done, run->total, run->responded, run->ctx);
}

/* Ends the jobs whose host deadline has passed (a slow or endless conversation). */
static void expire_hosts(scan_run *run, int64_t now)
{
  for (size_t i = 0; i < run->nactive; i++) {
    scan_job *j = run->active[i];

    if (j->action != JA_NONE || now < j->deadline)
      continue;
    job_finish(j, ASR_ERR_TIMEOUT, "host deadline (%u ms) reached after %u requests%s",
               run->host_ms, j->requests, j->answered ? ", answers incomplete" : "");
  }
}

/* ASR_SCAN_END_HOST to go on, else who ends the run now: the tick or the deadline. */
static asr_scan_end run_cut(const scan_run *run, int64_t now)
{
  if (run->o.tick && run->o.tick(run->o.tick_ctx))
    return ASR_SCAN_END_STOP;
  if (run->deadline && now >= run->deadline)
    return ASR_SCAN_END_DEADLINE;
  return ASR_SCAN_END_HOST;
}

/* Ends the run: the jobs in flight are cut, the others are skipped; each is delivered. */
static void cut_run(scan_run *run, const asr_scan_job *jobs, size_t next, size_t n,
                    asr_scan_end why)
{
  const char *what = why == ASR_SCAN_END_STOP ? "stopped" : "the run's deadline was reached";

  asr_log(ASR_LOG_DEBUG, "scan: %s: %zu hosts in flight, %zu not started", what, run->nactive,
          n - next);
  for (size_t i = 0; i < run->nactive; i++) {
    run->active[i]->end = why;
    job_finish(run->active[i], ASR_ERR_TIMEOUT, "cut: %s after %u requests", what,
               run->active[i]->requests);
  }
  reap(run);
  for (; next < n; next++)
    deliver_unstarted(run, &jobs[next], ASR_ERR_TIMEOUT, why,
                      why == ASR_SCAN_END_STOP ? "not scanned: stopped"
                                               : "not scanned: the run's "
                                                 "deadline was reached");
}

/* Parses the OID tables of snmp/printer.c once per run. */
static asr_result run_tables(scan_run *run)
{
  run->hrtype_col = -1;
  for (size_t i = 0; asr_printer_probe[i].oid && run->nprobe < SCAN_MAX_PROBE; i++) {
    if (parse_oid(asr_printer_probe[i].oid, &run->probe[run->nprobe]) == ASR_OK)
      run->nprobe++;
  }
  for (size_t i = 0; asr_printer_walks[i].oid && run->nroots < SCAN_MAX_COLS; i++) {
    scan_oid *r = &run->roots[run->nroots];

    if (parse_oid(asr_printer_walks[i].oid, r) != ASR_OK)
      continue;
    run->root_prt[run->nroots] =
        r->len >= OID_LENGTH(prt_mib) &&
        snmp_oid_compare(r->o, OID_LENGTH(prt_mib), prt_mib, OID_LENGTH(prt_mib)) == 0;
    if (snmp_oid_compare(r->o, r->len, hr_device_type, OID_LENGTH(hr_device_type)) == 0)
      run->hrtype_col = (int)run->nroots;
    run->nroots++;
  }
  return run->nprobe ? ASR_OK : ASR_ERR_INVALID;
}

static void run_opts(scan_run *run, const asr_scan_opts *opts)
{
  if (opts)
    run->o = *opts;
  else
    asr_scan_opts_init(&run->o);
  if (run->o.timeout_ms == 0)
    run->o.timeout_ms = 1000;
  if (run->o.retries > 10)
    run->o.retries = 10;
  if (run->o.concurrency == 0)
    run->o.concurrency = 256;
  if (run->o.concurrency > SCAN_CONCURRENCY_MAX)
    run->o.concurrency = SCAN_CONCURRENCY_MAX;
  if (run->o.max_repetitions == 0)
    run->o.max_repetitions = 16;
  if (run->o.max_repetitions > 100)
    run->o.max_repetitions = 100;
  run->host_ms = asr_scan_host_deadline(&run->o);
}

unsigned asr_scan_host_deadline(const asr_scan_opts *o)
{
  uint64_t ms = o->host_deadline_ms;

  if (ms == 0)
    ms = (uint64_t)(o->timeout_ms ? o->timeout_ms : 1000) *
         ((o->retries > 10 ? 10 : o->retries) + 1) * ASR_SCAN_HOST_REQUESTS;
  return ms > SCAN_HOST_DEADLINE_MAX ? SCAN_HOST_DEADLINE_MAX : (unsigned)ms;
}

void asr_scan_opts_init(asr_scan_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->timeout_ms = 1000;
  o->retries = 1;
  o->concurrency = 256;
  o->max_repetitions = 16;
}

/* Starts jobs while there is room, waits for answers, and ends the run early when the tick
 * or the run's deadline says so. */
static void run_loop(scan_run *run, const asr_scan_job *jobs, size_t n)
{
  size_t next = 0;

  while (next < n || run->nactive > 0) {
    asr_scan_end cut = run_cut(run, asr_monotonic_ms());

    if (cut != ASR_SCAN_END_HOST) {
      cut_run(run, jobs, next, n, cut);
      return;
    }
    while (run->nactive < run->o.concurrency && next < n)
      start_job(run, &jobs[next++]);
    reap(run);
    if (run->nactive > 0)
      wait_once(run, -1);
    expire_hosts(run, asr_monotonic_ms());
    reap(run);
    progress(run, 0);
  }
}

static void run_free(scan_run *run)
{
  free(run->active);
  free(run);
}

/* A run for both entry points: net-snmp set up, options, tables, the active slots, the
 * callbacks and the run's deadline from now. */
static asr_result run_new(const asr_scan_opts *opts, asr_scan_cb cb, asr_scan_progress progress_cb,
                          void *ctx, scan_run **out)
{
  scan_run *run;
  asr_result r = asr_scan_init();

  *out = NULL;
  if (r)
    return r;
  run = calloc(1, sizeof(*run));
  if (!run)
    return ASR_ERR_NOMEM;
  run_opts(run, opts);
  r = run_tables(run);
  run->active = calloc(run->o.concurrency, sizeof(*run->active));
  if (!r && !run->active)
    r = ASR_ERR_NOMEM;
  if (r) {
    run_free(run);
    return r;
  }
  run->cb = cb;
  run->progress = progress_cb;
  run->ctx = ctx;
  run->last_progress = asr_monotonic_ms();
  if (run->o.deadline_ms)
    run->deadline = run->last_progress + run->o.deadline_ms;
  *out = run;
  return ASR_OK;
}

asr_result asr_scan_run(const asr_scan_job *jobs, size_t n, const asr_scan_opts *opts,
                        asr_scan_cb cb, asr_scan_progress progress_cb, void *ctx)
{
  scan_run *run;
  asr_result r;

  if (!cb || (n && !jobs))
    return ASR_ERR_INVALID;
  r = run_new(opts, cb, progress_cb, ctx, &run);
  if (r)
    return r;
  run->total = n;
  run_loop(run, jobs, n);
  progress(run, 1);
  run_free(run);
  return ASR_OK;
}

/* The next job the feeder has, while there is room; 0 when it has none now. */
static int feed(scan_run *run, int *more)
{
  const asr_scan_job *job;

  if (run->nactive >= run->o.concurrency || !*more)
    return 0;
  job = run->feeder->next(run->feeder->ctx, more);
  if (!job)
    return 0;
  run->total++;
  start_job(run, job);
  return 1;
}

/* The loop of a fed run: the feeder runs after every wait (its input, its timers), its new
 * jobs start while there is room, and the run ends when it has no more and none is left,
 * or early, as asr_scan_run's, when the tick or the run's deadline says so. */
static void run_fed(scan_run *run)
{
  const asr_scan_feeder *f = run->feeder;
  int more = 1;

  for (;;) {
    asr_scan_end cut = run_cut(run, asr_monotonic_ms());
    int64_t wake;

    if (cut != ASR_SCAN_END_HOST) {
      cut_run(run, NULL, 0, 0, cut);
      if (f->stop)
        f->stop(f->ctx);
      return;
    }
    wake = f->service(f->ctx);
    while (feed(run, &more))
      ;
    reap(run);
    if (!more && run->nactive == 0)
      break;
    wait_once(run, wake);
    expire_hosts(run, asr_monotonic_ms());
    reap(run);
    progress(run, 0);
  }
}

asr_result asr_scan_run_fed(const asr_scan_feeder *feeder, const asr_scan_opts *opts,
                            asr_scan_cb cb, asr_scan_progress progress_cb, void *ctx)
{
  scan_run *run;
  asr_result r;

  if (!cb || !feeder || !feeder->next || !feeder->service || !feeder->sockets)
    return ASR_ERR_INVALID;
  r = run_new(opts, cb, progress_cb, ctx, &run);
  if (r)
    return r;
  run->feeder = feeder;
  run_fed(run);
  progress(run, 1);
  run_free(run);
  return ASR_OK;
}

/* ---- library set-up ----------------------------------------------------------------- */

/* net-snmp's log messages go to ours, at debug level (they never hold secrets we set:
 * pass phrases are turned into keys before any net-snmp call that could log). */
static int on_netsnmp_log(int major, int minor, void *server, void *client)
{
  const struct snmp_log_message *m = server;
  size_t len;

  (void)major;
  (void)minor;
  (void)client;
  if (!m || !m->msg || !asr_log_enabled(ASR_LOG_DEBUG))
    return 0;
  len = strlen(m->msg);
  while (len > 0 && (m->msg[len - 1] == '\n' || m->msg[len - 1] == '\r'))
    len--;
  asr_log(ASR_LOG_DEBUG, "net-snmp: %.*s", (int)(len > 400 ? 400 : len), m->msg);
  return 0;
}

asr_result asr_scan_init(void)
{
  if (scan_inited)
    return ASR_OK;
  /* no snmp.conf (system, ~/.snmp), no persistent state read or written (/var/lib/net-snmp,
   * ~/.snmp), no MIB files: we use numeric OIDs only */
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_LOAD_HOST_FILES, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_NO_TOKEN_WARNINGS, 1);
  netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
  netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "");
  /* init_snmp() would still try to load its default MIB modules (SNMPv2-MIB, IF-MIB...)
   * from no directory, logging "Cannot find module" for each: an empty module list stops
   * that. A lone separator is an empty list ("" would unset the variable on Windows). */
  netsnmp_setenv("MIBS", ENV_SEPARATOR, 1);
  netsnmp_setenv("MIBFILES", ENV_SEPARATOR, 1);
  /* quiet: no stderr handler, everything through on_netsnmp_log */
  snmp_disable_log();
  snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_netsnmp_log, NULL);
  snmp_enable_calllog();
  init_snmp(SCAN_APP);
  scan_inited = 1;
  return ASR_OK;
}

void asr_scan_fini(void)
{
  if (!scan_inited)
    return;
  snmp_shutdown(SCAN_APP);
  scan_inited = 0;
}
