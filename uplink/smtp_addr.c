/* uplink/smtp_addr.c: the plain-address check of uplink/smtp.h, apart from smtp.c so that
 * pure code (central/mail.c composes messages) can use it without linking libcurl. */
#include <string.h>

#include "uplink/smtp.h"

#define ADDR_MAX 254 /* RFC 5321 4.5.3.1.3: a path holds at most 256 octets with <> */

bool asr_smtp_address_ok(const char *a)
{
  const char *at;
  size_t n;

  if (!a)
    return false;
  n = strlen(a);
  at = strchr(a, '@');
  if (n < 3 || n > ADDR_MAX || !at || at == a || at[1] == '\0' || strchr(at + 1, '@'))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)a[i];

    if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[],;:\\\"", ch))
      return false;
  }
  return true;
}
