/* smtp.c: one e-mail over SMTP with libcurl (stub: being written for issue 6). */
#include "uplink/smtp.h"

#include "common/util.h"

asr_result asr_smtp_send(const asr_smtp_conf *c, const char *rcpt, const char *msg, size_t len,
                         char *err, size_t errn)
{
  (void)c;
  (void)rcpt;
  (void)msg;
  (void)len;
  asr_strlcpy(err, "smtp: not implemented yet", errn);
  return ASR_ERR_IO;
}
