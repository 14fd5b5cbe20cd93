/* wire/smtp_addr.c: the plain-address check of wire/smtp.h, apart from smtp.c so that
 * pure code (central/mail.c composes messages) can use it without linking libcurl. */
#include <string.h>

#include "wire/smtp.h"

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

/* Copies s[0..len) into out (n bytes) without the blanks around it; false when it does
 * not fit. */
static bool copy_trimmed(const char *s, size_t len, char *out, size_t n)
{
  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  if (len >= n)
    return false;
  memcpy(out, s, len);
  out[len] = '\0';
  return true;
}

/* A display name: no controls, no angle brackets; quotes only around it all. */
static bool name_ok(char *name)
{
  size_t len = strlen(name);

  if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
    memmove(name, name + 1, len - 2);
    name[len - 2] = '\0';
  }
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
      return false;
  }
  return true;
}

bool asr_smtp_mailbox_parse(const char *in, char *name, size_t name_n, char *addr, size_t addr_n)
{
  const char *lt = in ? strchr(in, '<') : NULL, *gt;

  if (!in || name_n == 0 || addr_n == 0)
    return false;
  name[0] = addr[0] = '\0';
  if (!lt) /* a bare address */
    return copy_trimmed(in, strlen(in), addr, addr_n) && asr_smtp_address_ok(addr);
  gt = strchr(lt, '>');
  if (!gt || strchr(gt + 1, '<') || strchr(gt + 1, '>'))
    return false;
  for (const char *p = gt + 1; *p; p++) {
    if (*p != ' ' && *p != '\t')
      return false; /* something after the address */
  }
  return copy_trimmed(in, (size_t)(lt - in), name, name_n) && name_ok(name) &&
         copy_trimmed(lt + 1, (size_t)(gt - lt - 1), addr, addr_n) && asr_smtp_address_ok(addr);
}
