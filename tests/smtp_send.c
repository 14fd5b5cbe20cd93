/* smtp_send.c: sends one message file with asr_smtp_send, for tests/integration/test_smtp.sh.
 *
 *   smtp_send [--starttls] [--ca FILE] [--user U --password-file F] [--timeout MS]
 *             URL FROM RCPT MESSAGE-FILE
 * MESSAGE-FILE "@order" or "@silent" sends a notice composed by central/mail.c instead, with
 * hostile printer strings (CR/LF, invalid UTF-8) and a UTF-8 site name.
 * Prints the result's name on stdout ("ok", "invalid value", ...) and the error line on
 * stderr; exits 0 on ASR_OK, else 10 + the result code (so the script can tell them apart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/mail.h"
#include "common/util.h"
#include "wire/http.h"
#include "wire/smtp.h"

#define MSG_MAX (1024 * 1024)

/* Reads a whole file into buf (at most n-1 bytes); -1 on failure or when too big. */
static long read_file(const char *path, char *buf, size_t n)
{
  FILE *f = fopen(path, "rb");
  size_t got;

  if (!f)
    return -1;
  got = fread(buf, 1, n, f);
  fclose(f);
  if (got >= n)
    return -1;
  buf[got] = '\0';
  return (long)got;
}

/* Composes the sample notice named by what ("@order", "@silent") into buf. */
static long compose(const char *what, const char *from, const char *to, char *buf, size_t n)
{
  static const cmail_line lines[] = {
      {"SN-1\r\nBcc: victim@evil.test", "Laser\xff 500", "Black Toner", "black", 2, "trigger"},
      {"SN-2", NULL, "Cyan Toner\x1b[0m", "cyan", 1, "consolidated"}};
  static const cmail_device devs[] = {{"SN-3", "Inkjet \xc3\x28", "10.0.0.3", 1794300000, NULL},
                                      {"SN-4\n.", NULL, NULL, 0, NULL}};
  cmail_notice nt = {.kind = CMAIL_ORDER_CREATED,
                     .from = from,
                     .to = to,
                     .site = "Bäckerei Müller — Zürich",
                     .now = 1795000000,
                     .msgid_key = "order-7-created",
                     .order_id = 7,
                     .lines = lines,
                     .n_lines = 2,
                     .devices = devs,
                     .n_devices = 2,
                     .silent_days = 8};
  char *m = NULL;
  size_t len = 0;

  if (strcmp(what, "@silent") == 0) {
    nt.kind = CMAIL_DISCONNECTED;
    nt.msgid_key = "disconnected-site1-day20775";
  }
  if (cmail_compose(&nt, &m, &len) != ASR_OK || len >= n) {
    free(m);
    return -1;
  }
  memcpy(buf, m, len + 1);
  free(m);
  return (long)len;
}

static int usage(void)
{
  fputs("usage: smtp_send [--starttls] [--ca FILE] [--user U --password-file F] "
        "[--timeout MS] URL FROM RCPT MESSAGE-FILE\n",
        stderr);
  return 2;
}

/* Parses the options into c; returns the index of the first operand, or -1. */
static int parse_opts(int argc, char **argv, asr_smtp_conf *c, char *pw, size_t pwn)
{
  int i;
  unsigned t;

  for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--starttls") == 0) {
      c->starttls = true;
    } else if (i + 1 >= argc) {
      return -1;
    } else if (strcmp(argv[i], "--ca") == 0) {
      c->ca_file = argv[++i];
    } else if (strcmp(argv[i], "--user") == 0) {
      c->user = argv[++i];
    } else if (strcmp(argv[i], "--password-file") == 0) {
      if (read_file(argv[++i], pw, pwn) < 0)
        return -1;
      pw[strcspn(pw, "\r\n")] = '\0';
      c->password = pw;
    } else if (strcmp(argv[i], "--timeout") == 0 &&
               asr_parse_uint(argv[i + 1], 1, 600000, &t) == ASR_OK) {
      c->timeout_ms = t;
      i++;
    } else {
      return -1;
    }
  }
  return argc - i == 4 ? i : -1;
}

int main(int argc, char **argv)
{
  asr_smtp_conf c = {0};
  char pw[256] = "", err[512];
  char *msg = malloc(MSG_MAX);
  long len;
  int first, status = 2;
  asr_result r;

  first = msg ? parse_opts(argc, argv, &c, pw, sizeof(pw)) : -1;
  if (first < 0) {
    status = usage();
    goto out;
  }
  c.url = argv[first];
  c.from = argv[first + 1];
  if (argv[first + 3][0] == '@')
    len = compose(argv[first + 3], c.from, argv[first + 2], msg, MSG_MAX);
  else
    len = read_file(argv[first + 3], msg, MSG_MAX);
  if (len < 0 || asr_http_global_init() != ASR_OK) {
    fprintf(stderr, "smtp_send: cannot read %s\n", argv[first + 3]);
    goto out;
  }
  r = asr_smtp_send(&c, argv[first + 2], msg, (size_t)len, err, sizeof(err));
  asr_http_global_fini();
  printf("%s\n", asr_result_str(r));
  if (r)
    fprintf(stderr, "%s\n", err);
  status = r == ASR_OK ? 0 : 10 + (int)r;
out:
  free(msg);
  return status;
}
