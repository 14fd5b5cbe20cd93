/* notify.c: sends the mail outbox (notify.h).
 *
 * Why one mail at a time, each claimed before it is sent and marked in its own statement
 * right after the server's answer: the claim (cstore_outbox_claim) lets exactly one of
 * several flushes at once (serve's timer, `asr-central mail --flush`, two CLIs) send a
 * mail; the others skip it. A mail is sent twice only when its sender dies between the
 * server's 250 and the mark (that window is one statement wide): the claim then ends after
 * CNOTIFY_CLAIM_SECONDS and a later flush sends it again, or when a send outlives its
 * claim (the SMTP timeout is far shorter). A deferral ends the flush: when the server is down,
 * trying every pending mail only multiplies the timeouts. */
#include "central/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

int64_t cnotify_backoff(int64_t tries)
{
  int64_t d = CNOTIFY_BACKOFF_MIN;

  for (int64_t i = 1; i < tries && d < CNOTIFY_BACKOFF_MAX; i++)
    d *= 2;
  return d < CNOTIFY_BACKOFF_MAX ? d : CNOTIFY_BACKOFF_MAX;
}

/* How long a flush owns a mail it sends: longer than the SMTP transaction can last. */
static int64_t claim_seconds(const asr_smtp_conf *c)
{
  int64_t t = (c->timeout_ms ? (int64_t)c->timeout_ms : 30000) / 1000 + 60;

  return t > CNOTIFY_CLAIM_SECONDS ? t : CNOTIFY_CLAIM_SECONDS;
}

/* Sends mail m and records the outcome; *stop when the flush should end. */
static asr_result send_one(cstore *st, const asr_smtp_conf *c, const cstore_mail *m, int64_t now,
                           cnotify_report *rep, bool *stop)
{
  char err[256] = "";
  asr_result s = asr_smtp_send(c, m->rcpt, m->msg, m->len, err, sizeof(err));

  *stop = false;
  if (s == ASR_OK) {
    rep->sent++;
    asr_log(ASR_LOG_INFO, "mail: %s to %s sent", m->key, m->rcpt);
    return cstore_outbox_mark(st, m->id, "sent", 0, NULL, now);
  }
  if (s == ASR_ERR_USAGE) {
    asr_log(ASR_LOG_ERR, "mail: cannot send: %s", err);
    *stop = true;
    return ASR_ERR_USAGE;
  }
  if (s == ASR_ERR_INVALID) {
    rep->failed++;
    asr_log(ASR_LOG_ERR, "mail: %s to %s refused for good: %s", m->key, m->rcpt, err);
    return cstore_outbox_mark(st, m->id, "failed", 0, err, now);
  }
  rep->deferred++;
  *stop = true;
  int64_t delay = cnotify_backoff(m->tries + 1);
  asr_log(ASR_LOG_WARN, "mail: %s to %s deferred (retry in %llds): %s", m->key, m->rcpt,
          (long long)delay, err);
  return cstore_outbox_mark(st, m->id, "pending", now + delay, err, now);
}

asr_result cnotify_flush(cstore *st, const asr_smtp_conf *c, int64_t now, size_t max,
                         cnotify_report *rep)
{
  int64_t after = 0;
  bool found = true, stop = false;
  asr_result r = ASR_OK;

  memset(rep, 0, sizeof(*rep));
  if (!c || !c->url || !c->url[0] || !c->from || !c->from[0])
    return ASR_ERR_USAGE;
  for (size_t n = 0; !r && !stop && (max == 0 || n < max); n++) {
    cstore_mail m;
    r = cstore_outbox_next(st, now, after, &m, &found);
    if (r || !found)
      break;
    after = m.id;
    bool mine = false;
    int64_t until = now + claim_seconds(c);
    r = cstore_outbox_claim(st, m.id, now, until, &mine);
    if (!r && mine) /* not claimed: another flush is sending it */
      r = send_one(st, c, &m, now, rep, &stop);
    if (r == ASR_ERR_USAGE && mine) /* unsent and unmarked: give our claim back */
      cstore_outbox_claim(st, m.id, until, now, &mine);
    cstore_mail_free(&m);
  }
  return r;
}

/* Reads at most n - 1 bytes of fd's first line into out. */
static asr_result read_line(int fd, char *out, size_t n)
{
  ssize_t got = read(fd, out, n - 1);

  if (got < 0)
    return ASR_ERR_IO;
  out[got] = '\0';
  out[strcspn(out, "\r\n")] = '\0';
  return (size_t)got == n - 1 && !strpbrk(out, "\r\n") ? ASR_ERR_TOO_LARGE : ASR_OK;
}

asr_result cnotify_read_password(const char *path, char *out, size_t n, char *err, size_t errn)
{
  struct stat sb;
  asr_result r = ASR_ERR_SECRET;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  out[0] = '\0';
  if (fd < 0) {
    asr_fmt_cut(err, errn, "%s: cannot open: %s", path, strerror(errno));
    return r;
  }
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
    asr_fmt_cut(err, errn, "%s: not a regular file", path);
  else if (sb.st_mode & 077)
    asr_fmt_cut(err, errn, "%s: readable by others (mode %03o): chmod 600 it", path,
                (unsigned)(sb.st_mode & 0777));
  else if (read_line(fd, out, n) != ASR_OK)
    asr_fmt_cut(err, errn, "%s: cannot read one line of at most %zu bytes", path, n - 1);
  else if (!out[0])
    asr_fmt_cut(err, errn, "%s: empty", path);
  else
    r = ASR_OK;
  close(fd);
  if (r)
    memset(out, 0, n);
  return r;
}
