/* notify.h: delivers asr-central's mail outbox (docs/replenishment.md, "Notices").
 *
 * The engine and the warehouse steps store each composed mail in the outbox (cstore.h) in
 * the same transaction as what caused it. cnotify_flush sends the mails that are due with
 * asr_smtp_send (wire/smtp.h), each claimed first (two flushes at once never both send
 * it) and marked right after the server accepted it, so nothing is sent twice unless the
 * process dies between the server's acceptance and the mark (then once more, after the
 * claim ends); a server that cannot be reached leaves the mail pending with a
 * growing delay (nothing is lost while it is down); a server that refuses it for good
 * (5xx) marks it failed and logs it. */
#ifndef ASR_CENTRAL_NOTIFY_H
#define ASR_CENTRAL_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"
#include "wire/smtp.h"

#define CNOTIFY_BACKOFF_MIN 60    /* seconds before the first retry */
#define CNOTIFY_BACKOFF_MAX 3600  /* the delay doubles up to this */
#define CNOTIFY_PASSWORD_MAX 256  /* bytes of an SMTP password */
#define CNOTIFY_CLAIM_SECONDS 900 /* a flush owns a mail it sends at least this long */

/* What one flush did. */
typedef struct {
  size_t sent, deferred, failed;
} cnotify_report;

/* Sends the outbox's due mails (at most max, 0 = all) at time now. A mail server that
 * cannot be reached defers that mail and ends the flush (the rest wait for the next one).
 * ASR_ERR_USAGE when c is unusable (nothing is marked), a store error otherwise. */
asr_result cnotify_flush(cstore *st, const asr_smtp_conf *c, int64_t now, size_t max,
                         cnotify_report *rep);

/* The delay before retry number tries (1, 2, ...) of a deferred mail, in seconds. */
int64_t cnotify_backoff(int64_t tries);

/* Reads an SMTP password from path: a regular file readable by its owner only (0600 or
 * stricter), one line. ASR_ERR_SECRET with err naming the problem otherwise. */
asr_result cnotify_read_password(const char *path, char *out, size_t n, char *err, size_t errn);

#endif
