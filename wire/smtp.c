/* wire/smtp.c: one e-mail over SMTP with libcurl.
 *
 * Why a debug callback: libcurl reports an SMTP failure as a generic transfer error
 * (CURLE_SEND_ERROR, CURLE_WEIRD_SERVER_REPLY...) and CURLINFO_RESPONSE_CODE gives only the
 * last reply code. Whether a 5xx is permanent for this message depends on the command it
 * answered: a 550 to RCPT TO or to the end of DATA refuses this message for good, while a
 * 5xx to MAIL FROM or AUTH is our settings' fault and the message must be kept. So the
 * callback notes the verb of each command sent (only the verb: the AUTH line carries the
 * credentials) and the text of the last reply, which goes, sanitized, into the error line.
 *
 * Reading order: the checks (addresses, URL, conf), the callbacks, the options, the
 * error conversion, the send. Dot-stuffing and the final "." are libcurl's job. */
#include "wire/smtp.h"

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

#define SMTP_TIMEOUT_MS 30000u
#define SMTP_CONNECT_MS 10000u
#define SMTP_MSG_MAX (16u * 1024 * 1024)
#define ADDR_MAX 254 /* as in smtp_addr.c */

/* ---- checks ---- */

static bool scheme_ok(const char *url)
{
  return strncasecmp(url, "smtp://", 7) == 0 || strncasecmp(url, "smtps://", 8) == 0;
}

/* The conf and the arguments; USAGE for our settings, INVALID for this message. */
static asr_result check_args(const asr_smtp_conf *c, const char *rcpt, const char *msg, size_t len,
                             char *err, size_t errn)
{
  if (!c || !c->url || !scheme_ok(c->url) || strlen(c->url) > 900 || strpbrk(c->url, " \t\r\n@")) {
    asr_strlcpy_cut(err, "smtp: the URL must be smtp://HOST[:PORT] or smtps://HOST[:PORT]", errn);
    return ASR_ERR_USAGE;
  }
  if (!asr_smtp_address_ok(c->from)) {
    asr_strlcpy_cut(err, "smtp: the sender (from) is not a plain e-mail address", errn);
    return ASR_ERR_USAGE;
  }
  if ((c->user && *c->user) != (c->password && *c->password)) {
    asr_strlcpy_cut(err, "smtp: AUTH needs both a user and a password", errn);
    return ASR_ERR_USAGE;
  }
  if (!asr_smtp_address_ok(rcpt)) {
    asr_strlcpy_cut(err, "smtp: the recipient is not a plain e-mail address", errn);
    return ASR_ERR_INVALID;
  }
  if (!msg || len == 0 || len > SMTP_MSG_MAX) {
    asr_strlcpy_cut(err, "smtp: the message is empty or larger than 16 MiB", errn);
    return ASR_ERR_INVALID;
  }
  return ASR_OK;
}

/* ---- callbacks ---- */

typedef struct {
  const char *msg;
  size_t len, off;
  char verb[12];   /* the verb of the last command sent: "MAIL", "RCPT", "DATA", "AUTH"... */
  char failed[12]; /* the verb the first 4xx/5xx reply answered ("" = none yet) */
  char reply[160]; /* that reply's line, printable ASCII only */
  long code;       /* that reply's code */
} smtp_xfer;

static size_t on_read(char *buf, size_t size, size_t nitems, void *ctx)
{
  smtp_xfer *x = ctx;
  size_t n = size * nitems;

  if (n > x->len - x->off)
    n = x->len - x->off;
  memcpy(buf, x->msg + x->off, n);
  x->off += n;
  return n;
}

/* Copies the first line of data[0..n) into dst, unprintable bytes as '?'. */
static void copy_line(char *dst, size_t dn, const char *data, size_t n)
{
  size_t i;

  for (i = 0; i < n && i + 1 < dn && data[i] != '\r' && data[i] != '\n'; i++)
    dst[i] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?';
  dst[i] = '\0';
}

/* Notes a command's verb when it is one of the SMTP verbs; anything else (the base64 lines
 * of AUTH LOGIN carry the credentials) leaves the previous verb. */
static void note_verb(smtp_xfer *x, const char *data, size_t n)
{
  static const char *const verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL",
                                      "RCPT", "DATA", "QUIT",     "RSET", "."};

  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
    size_t v = strlen(verbs[i]);

    if (n >= v && memcmp(data, verbs[i], v) == 0 && (n == v || data[v] == ' ' || data[v] == '\r')) {
      asr_strlcpy_cut(x->verb, verbs[i], sizeof(x->verb));
      return;
    }
  }
}

/* Keeps the first failure reply (4xx/5xx) and the verb it answered: what follows (QUIT,
 * 221) does not overwrite it. */
static void note_reply(smtp_xfer *x, const char *data, size_t n)
{
  if (x->code || n < 3 || (data[0] != '4' && data[0] != '5'))
    return;
  for (int i = 1; i < 3; i++) {
    if (data[i] < '0' || data[i] > '9')
      return;
  }
  x->code = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
  asr_strlcpy_cut(x->failed, x->verb[0] ? x->verb : "connect", sizeof(x->failed));
  copy_line(x->reply, sizeof(x->reply), data, n);
}

static int on_debug(CURL *c, curl_infotype type, char *data, size_t n, void *ctx)
{
  smtp_xfer *x = ctx;

  (void)c;
  if (type == CURLINFO_HEADER_OUT)
    note_verb(x, data, n);
  else if (type == CURLINFO_HEADER_IN)
    note_reply(x, data, n);
  return 0;
}

/* ---- options ---- */

static bool set(const char *v)
{
  return v && *v;
}

static CURLcode set_tls(CURL *c, const asr_smtp_conf *o)
{
  CURLcode rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);

  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!rc && set(o->ca_file))
    rc = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
  if (!rc && o->starttls)
    rc = curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (!rc && set(o->user))
    rc = curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
  if (!rc && set(o->user))
    rc = curl_easy_setopt(c, CURLOPT_PASSWORD, o->password);
  return rc;
}

static CURLcode set_envelope(CURL *c, smtp_xfer *x, const char *from, struct curl_slist *rcpt)
{
  char angle[ADDR_MAX + 3];
  CURLcode rc = CURLE_OUT_OF_MEMORY;

  if (asr_fmt(angle, sizeof(angle), "<%s>", from) == ASR_OK)
    rc = curl_easy_setopt(c, CURLOPT_MAIL_FROM, angle);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_READDATA, x);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_DEBUGDATA, x);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); /* feeds on_debug, prints nothing */
  return rc;
}

static CURLcode set_request(CURL *c, const asr_smtp_conf *o, smtp_xfer *x, struct curl_slist *rcpt,
                            char *errbuf)
{
  unsigned total = o->timeout_ms ? o->timeout_ms : SMTP_TIMEOUT_MS;
  CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, o->url);

  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                          (long)(total < SMTP_CONNECT_MS ? total : SMTP_CONNECT_MS));
  if (!rc)
    rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total);
  if (!rc)
    rc = set_tls(c, o);
  if (!rc)
    rc = set_envelope(c, x, o->from, rcpt);
  return rc;
}

/* ---- errors ---- */

/* libcurl failures we name: the result and the text (all but the settings: try again). */
static const struct {
  CURLcode code;
  asr_result result;
  const char *what;
} curl_errors[] = {
    {CURLE_COULDNT_RESOLVE_HOST, ASR_ERR_IO, "mail server host name not found"},
    {CURLE_COULDNT_CONNECT, ASR_ERR_IO, "could not connect to the mail server"},
    {CURLE_OPERATION_TIMEDOUT, ASR_ERR_TIMEOUT, "the mail server did not answer in time"},
    {CURLE_SEND_ERROR, ASR_ERR_IO, "the exchange with the mail server failed"},
    {CURLE_RECV_ERROR, ASR_ERR_IO, "the exchange with the mail server failed"},
    {CURLE_GOT_NOTHING, ASR_ERR_IO, "the mail server closed the connection"},
    {CURLE_USE_SSL_FAILED, ASR_ERR_IO, "the mail server does not offer STARTTLS"},
    {CURLE_SSL_CONNECT_ERROR, ASR_ERR_IO, "TLS handshake with the mail server failed"},
    {CURLE_PEER_FAILED_VERIFICATION, ASR_ERR_IO,
     "TLS: the mail server's certificate or host name was refused"},
    {CURLE_LOGIN_DENIED, ASR_ERR_IO, "the mail server refused our user or password"},
    {CURLE_SSL_CACERT_BADFILE, ASR_ERR_USAGE, "the CA file is unusable"},
    {CURLE_URL_MALFORMAT, ASR_ERR_USAGE, "bad mail server URL"},
    {CURLE_UNSUPPORTED_PROTOCOL, ASR_ERR_USAGE, "unsupported mail server URL scheme"},
};

/* True when the last command was one whose 5xx refuses this message for good. */
static bool message_verb(const char *verb)
{
  return strcmp(verb, "RCPT") == 0 || strcmp(verb, "DATA") == 0 || strcmp(verb, ".") == 0;
}

/* A failed transfer as a result and one line of text (no secrets: curl's error buffer and
 * the server's reply never hold the password). */
static asr_result convert(CURL *c, CURLcode rc, const smtp_xfer *x, const char *errbuf, char *err,
                          size_t errn)
{
  const char *what = "the exchange with the mail server failed";
  const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  asr_result r = ASR_ERR_IO;
  long code = 0;

  for (size_t i = 0; i < sizeof(curl_errors) / sizeof(curl_errors[0]); i++) {
    if (curl_errors[i].code == rc) {
      r = curl_errors[i].result;
      what = curl_errors[i].what;
    }
  }
  code = x->code;
  if (!code)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 500 && code < 600 && message_verb(x->failed)) {
    r = ASR_ERR_INVALID;
    what = strcmp(x->failed, "RCPT") == 0 ? "the mail server refused the recipient"
                                          : "the mail server refused the message";
  } else if (code >= 400 && code < 600 && r != ASR_ERR_USAGE) {
    r = ASR_ERR_IO;
    if (rc != CURLE_LOGIN_DENIED)
      what = code < 500 ? "the mail server deferred the message (try later)"
                        : "the mail server refused the sender or our settings";
  }
  if (x->code)
    asr_fmt_cut(err, errn, "smtp: %s: %s (after %s)", what, x->reply, x->failed);
  else
    asr_fmt_cut(err, errn, "smtp: %s: %s", what, detail);
  for (char *p = err; *p; p++) {
    if ((unsigned char)*p < 0x20)
      *p = ' '; /* one line, whatever libcurl's text holds */
  }
  return r;
}

/* ---- the send ---- */

asr_result asr_smtp_send(const asr_smtp_conf *c, const char *rcpt, const char *msg, size_t len,
                         char *err, size_t errn)
{
  char errbuf[CURL_ERROR_SIZE] = "", angle[ADDR_MAX + 3];
  smtp_xfer x = {.msg = msg, .len = len};
  struct curl_slist *rcpts = NULL;
  CURL *curl = NULL;
  CURLcode rc;
  asr_result r;

  err[0] = '\0';
  r = check_args(c, rcpt, msg, len, err, errn);
  if (r)
    return r;
  if (asr_fmt(angle, sizeof(angle), "<%s>", rcpt) == ASR_OK)
    rcpts = curl_slist_append(NULL, angle);
  curl = rcpts ? curl_easy_init() : NULL;
  if (!curl) {
    asr_strlcpy_cut(err, "smtp: out of memory", errn);
    r = ASR_ERR_NOMEM;
    goto out;
  }
  rc = set_request(curl, c, &x, rcpts, errbuf);
  if (!rc)
    rc = curl_easy_perform(curl);
  if (rc)
    r = convert(curl, rc, &x, errbuf, err, errn);
out:
  curl_slist_free_all(rcpts);
  if (curl)
    curl_easy_cleanup(curl);
  return r;
}
