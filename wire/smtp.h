/* wire/smtp.h: sends one e-mail over SMTP with libcurl (libcurl stays in wire/).
 *
 * Used by asr-central's notification outbox (central/notify.c): the outbox keeps each
 * message until asr_smtp_send says it was accepted, so a mail server that is down loses
 * nothing; a message is only marked sent after the server's 250 to the end of DATA.
 * TLS: smtps:// URLs, or STARTTLS required on smtp:// when starttls is set; peer and host
 * verification always on (ca_file may replace the system store). The password comes from
 * a 0600 file, never the command line, and never reaches the log. */
#ifndef ASR_SMTP_H
#define ASR_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/result.h"

/* Where and how to send (NULL or "" = not set). */
typedef struct {
  const char *url;      /* "smtp://HOST:PORT" or "smtps://HOST:PORT" */
  const char *from;     /* envelope sender (MAIL FROM), a bare address */
  const char *user;     /* AUTH user; NULL = no AUTH */
  const char *password; /* AUTH password; never logged */
  const char *ca_file;  /* CA bundle for TLS; NULL = the system's */
  bool starttls;        /* require STARTTLS on smtp:// */
  unsigned timeout_ms;  /* whole transaction, 0 = 30 s */
} asr_smtp_conf;

/* Sends msg[0..len) (a whole RFC 5322 message, CRLF line ends, headers included) from
 * c->from to rcpt. ASR_OK when the server accepted it; ASR_ERR_TIMEOUT / ASR_ERR_IO when
 * the server could not be reached or failed (try again later); ASR_ERR_INVALID when the
 * server refused the recipient or the message for good (5xx: do not retry);
 * ASR_ERR_USAGE on a bad conf. A 4xx, a refused AUTH or MAIL FROM and TLS failures are
 * ASR_ERR_IO (the message is fine: keep it). err gets one line naming the problem and
 * quoting the server's reply (sanitized; no secrets). */
asr_result asr_smtp_send(const asr_smtp_conf *c, const char *rcpt, const char *msg, size_t len,
                         char *err, size_t errn);

/* True when a is a plain address for an SMTP envelope or an address header: local@domain,
 * printable ASCII, no spaces, angle brackets, quotes or CR/LF, at most 254 bytes. */
bool asr_smtp_address_ok(const char *a);

/* Splits a contact written the way mail programs show it, "Ops <ops@x.example>",
 * "\"Ops, Site 7\" <ops@x.example>", "<ops@x.example>" or a bare address, into its name
 * (quotes removed, blanks trimmed, "" when none) and its address. False when the address
 * is not a plain one (asr_smtp_address_ok), the name holds a control character, '<', '>'
 * or an unbalanced quote, or either does not fit. */
bool asr_smtp_mailbox_parse(const char *in, char *name, size_t name_n, char *addr, size_t addr_n);

#endif
