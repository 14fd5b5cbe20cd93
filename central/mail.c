/* mail.c: the notices' e-mails (stub: being written for issue 6). */
#include "central/mail.h"

#include <stdlib.h>
#include <string.h>

asr_result cmail_compose(const cmail_notice *n, char **out, size_t *len)
{
  static const char text[] = "Subject: asr-central notice\r\n\r\n(being written)\r\n";

  (void)n;
  *out = malloc(sizeof(text));
  if (*out == NULL)
    return ASR_ERR_NOMEM;
  memcpy(*out, text, sizeof(text));
  *len = sizeof(text) - 1;
  return ASR_OK;
}

const char *cmail_kind_str(cmail_kind k)
{
  (void)k;
  return "notice";
}
