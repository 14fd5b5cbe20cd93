/* snmp/recording.c: reads a recorded printer (snmpwalk -On output or snmpsim .snmprec)
 * into an asr_vbset.
 *
 * Why a hand-written reader: recordings come from admins and from printers, so they
 * are untrusted text. Every line is read through one bounded reader (1 MB a line,
 * 64 MB a file, no NUL bytes), every number is range-checked, and the first line that
 * does not parse fails the whole file with its number, so a damaged dump is never
 * half-read silently.
 *
 * The format is chosen from the first line that is neither blank nor a comment:
 * "OID|TAG|VALUE" is snmprec, "OID = ..." is snmpwalk. Two snmpwalk forms span lines:
 * quoted strings run until their closing quote, and Hex-STRING / unquoted STRING values
 * continue on the following lines that are not the start of a new varbind (for hex: lines
 * of hex bytes only; for unquoted strings: non-blank lines not starting with '#'). */
#include "snmp/recording.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"

#define REC_FILE_MAX ((uint64_t)64 << 20) /* bytes in a file */
#define REC_LINE_MAX ((size_t)1 << 20)    /* bytes in a line, and in one multi-line value */
#define REC_VB_MAX 100000                 /* varbinds in a file */

typedef enum { REC_FMT_UNKNOWN = 0, REC_FMT_WALK, REC_FMT_SNMPREC } rec_format;

typedef struct {
  FILE *f;
  char *line;    /* the current physical line, NUL-terminated, without "\r\n" */
  size_t len;    /* its length */
  size_t lineno; /* its 1-based number */
  uint64_t total;
  int have;   /* the line was looked at and pushed back: the next fetch returns it */
  int at_eof; /* no more lines */
  asr_result fail;
  char what[160]; /* the problem, for "line N: what" */
  size_t err_line;
  asr_buf val;                  /* the value being decoded (max REC_LINE_MAX) */
  size_t skipped;               /* snmprec lines skipped (variations without a static value) */
  uint32_t oidval[ASR_OID_MAX]; /* the OID value being decoded */
} rec_reader;

/* Records an error at the current line (first error wins). */
static asr_result rec_fail(rec_reader *rd, asr_result code, const char *what)
{
  if (rd->fail == ASR_OK) {
    rd->fail = code;
    rd->err_line = rd->lineno;
    asr_strlcpy_cut(rd->what, what, sizeof(rd->what));
  }
  return code;
}

static asr_result buf_put(rec_reader *rd, const void *src, size_t n)
{
  asr_buf_add(&rd->val, src, n);
  if (rd->val.err == ASR_ERR_LIMIT)
    return rec_fail(rd, ASR_ERR_TOO_LARGE, "value longer than 1 MB");
  if (rd->val.err)
    return rec_fail(rd, ASR_ERR_NOMEM, "out of memory");
  return ASR_OK;
}

static asr_result buf_byte(rec_reader *rd, uint8_t c)
{
  return buf_put(rd, &c, 1);
}

/* Reads one physical line into rd->line. Returns 1 with a line, 0 at the end of the file,
 * -1 on an error (rd->fail set). */
static int rec_fetch(rec_reader *rd)
{
  if (rd->have) {
    rd->have = 0;
    return 1;
  }
  if (rd->at_eof || rd->fail)
    return rd->fail ? -1 : 0;
  rd->len = 0;
  rd->lineno++;
  for (;;) {
    int c = getc(rd->f);

    if (c == EOF)
      break;
    if (++rd->total > REC_FILE_MAX) {
      rec_fail(rd, ASR_ERR_TOO_LARGE, "file larger than 64 MB");
      return -1;
    }
    if (c == '\n')
      goto done;
    if (c == '\0') {
      rec_fail(rd, ASR_ERR_PARSE, "NUL byte in line");
      return -1;
    }
    if (rd->len >= REC_LINE_MAX) {
      rec_fail(rd, ASR_ERR_TOO_LARGE, "line longer than 1 MB");
      return -1;
    }
    rd->line[rd->len++] = (char)c;
  }
  if (ferror(rd->f)) {
    rec_fail(rd, ASR_ERR_IO, strerror(errno));
    rd->err_line = 0;
    return -1;
  }
  rd->at_eof = 1;
  if (rd->len == 0) {
    rd->lineno--;
    return 0;
  }
done:
  if (rd->len > 0 && rd->line[rd->len - 1] == '\r')
    rd->len--;
  rd->line[rd->len] = '\0';
  return 1;
}

/* Pushes the current line back: the next rec_fetch returns it again. */
static void rec_unfetch(rec_reader *rd)
{
  rd->have = 1;
}

static int is_space(int c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static const char *skip_ws(const char *s)
{
  while (is_space((unsigned char)*s))
    s++;
  return s;
}

/* Length of the OID token at s ("1.3.6" or ".1.3.6"): digits and dots. */
static size_t oid_token_len(const char *s)
{
  size_t n = 0;

  while (is_digit((unsigned char)s[n]) || s[n] == '.')
    n++;
  return n;
}

/* Parses the OID token of n bytes at s into oid/len. */
static asr_result parse_oid_n(rec_reader *rd, const char *s, size_t n, uint32_t *oid, size_t *len)
{
  char tmp[ASR_OID_MAX * 11 + 2];

  if (n == 0 || n >= sizeof(tmp))
    return rec_fail(rd, ASR_ERR_PARSE, n ? "OID too long" : "missing OID");
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  if (asr_oid_parse(tmp, oid, ASR_OID_MAX, len) != ASR_OK)
    return rec_fail(rd, ASR_ERR_PARSE, "malformed OID (or more than 128 sub-identifiers)");
  return ASR_OK;
}

/* Scans an unsigned decimal at *p (advancing it); saturates at UINT64_MAX and sets *ovf. */
static int scan_u64(const char **p, uint64_t *v, int *ovf)
{
  const char *s = *p;

  *v = 0;
  *ovf = 0;
  if (!is_digit((unsigned char)*s))
    return 0;
  while (is_digit((unsigned char)*s)) {
    unsigned d = (unsigned)(*s++ - '0');

    if (*v > (UINT64_MAX - d) / 10) {
      *ovf = 1;
      *v = UINT64_MAX;
    } else if (!*ovf) {
      *v = *v * 10 + d;
    }
  }
  *p = s;
  return 1;
}

/* Parses a number as snmpwalk prints it: "5", "-5", "idle(3)", or "5 units". Sets *neg
 * and the magnitude *mag (saturated, *ovf set when it did not fit in 64 bits). */
static asr_result parse_num_text(rec_reader *rd, const char *s, int *neg, uint64_t *mag, int *ovf)
{
  const char *p = skip_ws(s);
  int paren = 0;

  if (*p != '-' && *p != '+' && !is_digit((unsigned char)*p)) {
    p = strchr(p, '(');
    if (!p)
      return rec_fail(rd, ASR_ERR_PARSE, "not a number");
    p++;
    paren = 1;
  }
  *neg = *p == '-';
  if (*p == '-' || *p == '+')
    p++;
  if (!scan_u64(&p, mag, ovf))
    return rec_fail(rd, ASR_ERR_PARSE, "not a number");
  if (paren && *p++ != ')')
    return rec_fail(rd, ASR_ERR_PARSE, "malformed enumeration (want name(number))");
  if (*p && !is_space((unsigned char)*p))
    return rec_fail(rd, ASR_ERR_PARSE, "trailing text after number");
  return ASR_OK;
}

/* A signed 64-bit integer (INTEGER, Integer32). */
static asr_result to_i64(rec_reader *rd, int neg, uint64_t mag, int ovf, int64_t *out)
{
  if (ovf || (!neg && mag > (uint64_t)INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1))
    return rec_fail(rd, ASR_ERR_PARSE, "integer out of range (64 bits)");
  if (neg && mag == (uint64_t)INT64_MAX + 1)
    *out = INT64_MIN;
  else
    *out = neg ? -(int64_t)mag : (int64_t)mag;
  return ASR_OK;
}

static asr_result val_integer(rec_reader *rd, const char *s, asr_vb *vb)
{
  int neg, ovf;
  uint64_t mag;

  if (parse_num_text(rd, s, &neg, &mag, &ovf))
    return rd->fail;
  vb->type = ASR_VB_INTEGER;
  return to_i64(rd, neg, mag, ovf, &vb->num);
}

/* Counter32, Gauge32, Unsigned32, TimeTicks: 0..2^32-1. */
static asr_result val_unsigned(rec_reader *rd, const char *s, asr_vb *vb)
{
  int neg, ovf;
  uint64_t mag;

  if (parse_num_text(rd, s, &neg, &mag, &ovf))
    return rd->fail;
  if ((neg && mag) || ovf || mag > UINT32_MAX)
    return rec_fail(rd, ASR_ERR_PARSE, "unsigned 32-bit value out of range");
  vb->type = ASR_VB_UNSIGNED;
  vb->num = (int64_t)mag;
  return ASR_OK;
}

/* Counter64: saturated at INT64_MAX (asr_vb.num is signed). */
static asr_result val_counter64(rec_reader *rd, const char *s, asr_vb *vb)
{
  int neg, ovf;
  uint64_t mag;

  if (parse_num_text(rd, s, &neg, &mag, &ovf))
    return rd->fail;
  if (neg && mag)
    return rec_fail(rd, ASR_ERR_PARSE, "negative Counter64");
  vb->type = ASR_VB_COUNTER64;
  vb->num = mag > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)mag;
  return ASR_OK;
}

/* "(4280423) 11:53:24.23" or "4280423" (snmpwalk -Ot). */
static asr_result val_timeticks(rec_reader *rd, const char *s, asr_vb *vb)
{
  const char *p = skip_ws(s);
  char tmp[32];
  size_t n = 0;

  if (*p != '(')
    return val_unsigned(rd, p, vb);
  p++;
  while (p[n] && p[n] != ')' && n < sizeof(tmp) - 1)
    n++;
  if (p[n] != ')')
    return rec_fail(rd, ASR_ERR_PARSE, "malformed Timeticks (want (N) ...)");
  memcpy(tmp, p, n);
  tmp[n] = '\0';
  return val_unsigned(rd, tmp, vb);
}

/* Decodes hex digits at s into rd->val; seps are the separators allowed between bytes.
 * Stops at the end of s, or (stop_at_word) at the first token that is not hex bytes. */
static asr_result hex_decode(rec_reader *rd, const char *s, const char *seps, int stop_at_word)
{
  for (;;) {
    int hi, lo;

    while (*s && strchr(seps, *s))
      s++;
    if (!*s)
      return ASR_OK;
    hi = asr_hex_val((unsigned char)s[0]);
    lo = hi < 0 ? -1 : asr_hex_val((unsigned char)s[1]);
    if (hi < 0 || lo < 0) {
      if (stop_at_word)
        return ASR_OK;
      return rec_fail(rd, ASR_ERR_PARSE, "malformed hex (want pairs of hex digits)");
    }
    if (stop_at_word && s[2] && !strchr(seps, s[2]))
      return ASR_OK;
    if (buf_byte(rd, (uint8_t)(hi * 16 + lo)))
      return rd->fail;
    s += 2;
  }
}

/* True when the line is only hex byte pairs separated by spaces (a Hex-STRING wrap). */
static int is_hex_line(const char *s)
{
  int pairs = 0;

  for (;;) {
    s = skip_ws(s);
    if (!*s)
      return pairs > 0;
    if (asr_hex_val((unsigned char)s[0]) < 0 || asr_hex_val((unsigned char)s[1]) < 0)
      return 0;
    if (s[2] && !is_space((unsigned char)s[2]))
      return 0;
    s += 2;
    pairs++;
  }
}

/* True when the line starts a new snmpwalk varbind: "OID =". */
static int is_walk_start(const char *s)
{
  size_t n = oid_token_len(s);

  if (n == 0 || !is_digit((unsigned char)s[n - 1]))
    return 0;
  return *skip_ws(s + n) == '=';
}

static void set_octets(rec_reader *rd, asr_vb *vb, asr_vb_type type)
{
  static uint8_t empty[1];

  vb->type = type;
  vb->bytes = rd->val.p ? (uint8_t *)rd->val.p : empty; /* an empty string is "", never NULL */
  vb->len = rd->val.len;
}

static asr_result val_hexstring(rec_reader *rd, const char *s, asr_vb *vb)
{
  int got;

  if (hex_decode(rd, s, " \t", 0))
    return rd->fail;
  for (;;) {
    got = rec_fetch(rd);
    if (got < 0)
      return rd->fail;
    if (got == 0)
      break;
    if (!is_hex_line(rd->line)) {
      rec_unfetch(rd);
      break;
    }
    if (hex_decode(rd, rd->line, " \t", 0))
      return rd->fail;
  }
  set_octets(rd, vb, ASR_VB_OCTETS);
  return ASR_OK;
}

/* BITS: "80 00 lowPaper(0)": the hex bytes, then labels that are ignored. */
static asr_result val_bits(rec_reader *rd, const char *s, asr_vb *vb)
{
  if (hex_decode(rd, s, " \t", 1))
    return rd->fail;
  set_octets(rd, vb, ASR_VB_OCTETS);
  return ASR_OK;
}

/* Decodes the rest of a quoted string from s (after the opening quote). Returns 1 when
 * the closing quote was found (*end points after it), 0 when the line ended first. */
static int quoted_chunk(rec_reader *rd, const char *s, const char **end)
{
  while (*s) {
    if (*s == '"') {
      *end = s + 1;
      return 1;
    }
    if (*s == '\\' && s[1])
      s++;
    if (buf_byte(rd, (uint8_t)*s))
      return -1;
    s++;
  }
  return 0;
}

/* Unquoted text to the end of the line, then continuation lines (see the file comment). */
static asr_result val_unquoted(rec_reader *rd, const char *s, asr_vb *vb)
{
  int got;

  asr_buf_reset(&rd->val);
  if (buf_put(rd, s, strlen(s)))
    return rd->fail;
  for (;;) {
    got = rec_fetch(rd);
    if (got < 0)
      return rd->fail;
    if (got == 0)
      break;
    if (rd->len == 0 || rd->line[0] == '#' || is_walk_start(rd->line)) {
      rec_unfetch(rd);
      break;
    }
    if (buf_byte(rd, '\n') || buf_put(rd, rd->line, rd->len))
      return rd->fail;
  }
  set_octets(rd, vb, ASR_VB_OCTETS);
  return ASR_OK;
}

/* A quoted string that may span lines; net-snmp escapes only '"' and '\'. A value like
 * "a" b (text after the closing quote) is a hinted string that began with a quote: it is
 * taken unquoted. */
static asr_result val_quoted(rec_reader *rd, const char *s, asr_vb *vb)
{
  size_t start = rd->lineno;
  const char *end = NULL;
  int r = quoted_chunk(rd, s + 1, &end);

  if (r == 1 && *skip_ws(end))
    return val_unquoted(rd, s, vb);
  while (r == 0) {
    int got = rec_fetch(rd);

    if (got < 0)
      return rd->fail;
    if (got == 0) {
      rd->lineno = start;
      return rec_fail(rd, ASR_ERR_PARSE, "quoted string not closed before the end of the file");
    }
    if (buf_byte(rd, '\n'))
      return rd->fail;
    r = quoted_chunk(rd, rd->line, &end);
  }
  if (r < 0)
    return rd->fail;
  if (*skip_ws(end))
    return rec_fail(rd, ASR_ERR_PARSE, "text after the closing quote");
  set_octets(rd, vb, ASR_VB_OCTETS);
  return ASR_OK;
}

static asr_result val_string(rec_reader *rd, const char *s, asr_vb *vb)
{
  s = skip_ws(s);
  if (*s == '"')
    return val_quoted(rd, s, vb);
  return val_unquoted(rd, s, vb);
}

static asr_result val_oid(rec_reader *rd, const char *s, asr_vb *vb)
{
  size_t n;

  s = skip_ws(s);
  n = oid_token_len(s);
  if (*skip_ws(s + n))
    return rec_fail(rd, ASR_ERR_PARSE, "malformed OID value (want numeric, use snmpwalk -On)");
  if (parse_oid_n(rd, s, n, rd->oidval, &vb->oidval_len))
    return rd->fail;
  vb->type = ASR_VB_OID;
  vb->oidval = rd->oidval;
  return ASR_OK;
}

/* "a.b.c.d" into 4 bytes. */
static asr_result val_ipaddr(rec_reader *rd, const char *s, asr_vb *vb)
{
  uint8_t ip[4];
  const char *p = skip_ws(s);

  for (int i = 0; i < 4; i++) {
    uint64_t v;
    int ovf;

    if (!scan_u64(&p, &v, &ovf) || v > 255 || (i < 3 && *p++ != '.'))
      return rec_fail(rd, ASR_ERR_PARSE, "malformed IpAddress (want a.b.c.d)");
    ip[i] = (uint8_t)v;
  }
  if (*skip_ws(p))
    return rec_fail(rd, ASR_ERR_PARSE, "malformed IpAddress (want a.b.c.d)");
  if (buf_put(rd, ip, 4))
    return rd->fail;
  set_octets(rd, vb, ASR_VB_IPADDR);
  return ASR_OK;
}

/* Network Address: "0A:00:00:01" (hex bytes). */
static asr_result val_netaddr(rec_reader *rd, const char *s, asr_vb *vb)
{
  if (hex_decode(rd, s, " \t:", 0))
    return rd->fail;
  if (rd->val.len != 4)
    return rec_fail(rd, ASR_ERR_PARSE, "Network Address is not 4 bytes");
  set_octets(rd, vb, ASR_VB_IPADDR);
  return ASR_OK;
}

/* Opaque: hex bytes, or a decoded form ("Float: 1.5") kept as text. */
static asr_result val_opaque(rec_reader *rd, const char *s, asr_vb *vb)
{
  s = skip_ws(s);
  if (is_hex_line(s) || !*s)
    return val_hexstring(rd, s, vb);
  if (buf_put(rd, s, strlen(s)))
    return rd->fail;
  set_octets(rd, vb, ASR_VB_OCTETS);
  return ASR_OK;
}

static asr_result val_null(rec_reader *rd, const char *s, asr_vb *vb)
{
  if (*skip_ws(s))
    return rec_fail(rd, ASR_ERR_PARSE, "text after NULL");
  vb->type = ASR_VB_NULL;
  return ASR_OK;
}

/* noSuchObject, noSuchInstance, endOfMibView: the rest of the sentence is ignored. */
static asr_result val_none(rec_reader *rd, const char *s, asr_vb *vb)
{
  (void)rd;
  (void)s;
  vb->type = ASR_VB_NONE;
  return ASR_OK;
}

typedef asr_result (*val_fn)(rec_reader *rd, const char *s, asr_vb *vb);

/* The value forms snmpwalk prints after "OID = " (net-snmp mib.c sprint_realloc_*). */
static const struct {
  const char *prefix;
  val_fn parse;
} walk_types[] = {
    {"STRING:", val_string},                               /* OCTET STRING as text */
    {"Hex-STRING:", val_hexstring},                        /* OCTET STRING as hex bytes */
    {"INTEGER:", val_integer},                             /* INTEGER, enum "name(n)" */
    {"Integer32:", val_integer},                           /* Integer32 */
    {"Counter32:", val_unsigned},                          /* Counter32 */
    {"Gauge32:", val_unsigned},                            /* Gauge32, Unsigned32 */
    {"UInteger32:", val_unsigned},                         /* UInteger32 (SMIv1) */
    {"Unsigned32:", val_unsigned},                         /* Unsigned32 */
    {"Counter64:", val_counter64},                         /* Counter64 */
    {"Timeticks:", val_timeticks},                         /* TimeTicks "(n) h:mm:ss.cc" */
    {"OID:", val_oid},                                     /* OBJECT IDENTIFIER (-On) */
    {"IpAddress:", val_ipaddr},                            /* IpAddress a.b.c.d */
    {"Network Address:", val_netaddr},                     /* NetworkAddress (SMIv1) hex */
    {"Opaque:", val_opaque},                               /* Opaque, hex or decoded */
    {"OPAQUE:", val_opaque},                               /* Opaque, older net-snmp */
    {"BITS:", val_bits},                                   /* BITS "80 00 name(0)" */
    {"NULL", val_null},                                    /* NULL */
    {"No Such Object available", val_none},                /* noSuchObject */
    {"No Such Instance currently exists", val_none},       /* noSuchInstance */
    {"No more variables left in this MIB View", val_none}, /* endOfMibView */
    {"\"", val_quoted},                                    /* "" (an empty string) */
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* "Wrong Type (should be X): STRING: ..." is printed when the MIB disagrees: skip it. */
static const char *skip_wrong_type(const char *s)
{
  static const char wrong[] = "Wrong Type (should be ";
  const char *close;

  if (strncmp(s, wrong, sizeof(wrong) - 1) != 0)
    return s;
  close = strstr(s, "): ");
  return close ? skip_ws(close + 2) : s;
}

/* One "OID = TYPE: value" varbind starting on the current line. */
static asr_result walk_line(rec_reader *rd, asr_vb *vb)
{
  const char *s = skip_ws(rd->line);
  size_t n = oid_token_len(s);

  if (parse_oid_n(rd, s, n, vb->oid, &vb->oid_len))
    return rd->fail;
  s = skip_ws(s + n);
  if (*s != '=')
    return rec_fail(rd, ASR_ERR_PARSE, "expected \"OID = TYPE: value\"");
  s = skip_wrong_type(skip_ws(s + 1));
  if (!*s)
    return rec_fail(rd, ASR_ERR_PARSE, "missing value after '='");
  for (size_t i = 0; i < COUNT_OF(walk_types); i++) {
    size_t plen = strlen(walk_types[i].prefix);

    if (strncmp(s, walk_types[i].prefix, plen) == 0)
      return walk_types[i].parse(rd, walk_types[i].prefix[0] == '"' ? s : s + plen, vb);
  }
  return rec_fail(rd, ASR_ERR_PARSE, "unknown value type");
}

/* ---- snmprec ---- */

/* Finds key= in a "k=v,k=v" variation value; copies its value into out. */
static int variation_value(const char *v, const char *key, char *out, size_t n)
{
  size_t klen = strlen(key);

  while (*v) {
    const char *comma = strchr(v, ',');
    size_t len = comma ? (size_t)(comma - v) : strlen(v);

    if (len > klen && strncmp(v, key, klen) == 0 && v[klen] == '=') {
      size_t vl = len - klen - 1;

      if (vl >= n)
        return 0;
      memcpy(out, v + klen + 1, vl);
      out[vl] = '\0';
      return 1;
    }
    v += len + (comma ? 1 : 0);
  }
  return 0;
}

/* Python-style escapes of the snmprec "e" encoding: \\ \' \" \a \b \f \n \r \t \v \xHH. */
static asr_result unescape_py(rec_reader *rd, const char *s)
{
  static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";

  for (; *s; s++) {
    const char *e;

    if (*s != '\\') {
      if (buf_byte(rd, (uint8_t)*s))
        return rd->fail;
      continue;
    }
    s++;
    if (*s == 'x' && asr_hex_val((unsigned char)s[1]) >= 0 &&
        asr_hex_val((unsigned char)s[2]) >= 0) {
      if (buf_byte(rd, (uint8_t)(asr_hex_val((unsigned char)s[1]) * 16 +
                                 asr_hex_val((unsigned char)s[2]))))
        return rd->fail;
      s += 2;
      continue;
    }
    e = *s ? strchr(from, *s) : NULL;
    if (!e)
      return rec_fail(rd, ASR_ERR_PARSE, "unknown escape in an 'e' value");
    if (buf_byte(rd, (uint8_t)to[e - from]))
      return rd->fail;
  }
  return ASR_OK;
}

/* An OCTET STRING-like value (tags 4, 68) in encoding enc: 0 raw, 'x' hex, 'e' escaped. */
static asr_result rec_octets(rec_reader *rd, const char *v, int enc, asr_vb_type type, asr_vb *vb)
{
  asr_result r;

  if (enc == 'x')
    r = hex_decode(rd, v, "", 0);
  else if (enc == 'e')
    r = unescape_py(rd, v);
  else
    r = buf_put(rd, v, strlen(v));
  if (r)
    return rd->fail;
  set_octets(rd, vb, type);
  return ASR_OK;
}

static asr_result rec_ipaddr(rec_reader *rd, const char *v, int enc, asr_vb *vb)
{
  if (enc != 'x')
    return val_ipaddr(rd, v, vb);
  if (hex_decode(rd, v, "", 0))
    return rd->fail;
  if (rd->val.len != 4)
    return rec_fail(rd, ASR_ERR_PARSE, "IpAddress is not 4 bytes");
  set_octets(rd, vb, ASR_VB_IPADDR);
  return ASR_OK;
}

/* Strict decimal for snmprec numbers (no units, no enum labels). */
static asr_result rec_number(rec_reader *rd, const char *v, val_fn fn, asr_vb *vb)
{
  const char *p = v;

  if (*p == '-' || *p == '+')
    p++;
  if (!is_digit((unsigned char)*p))
    return rec_fail(rd, ASR_ERR_PARSE, "not a number");
  while (is_digit((unsigned char)*p))
    p++;
  if (*p)
    return rec_fail(rd, ASR_ERR_PARSE, "trailing text after number");
  return fn(rd, v, vb);
}

/* The value of one snmprec tag (BER tag number, as snmpsim writes it). */
static asr_result rec_value(rec_reader *rd, unsigned tag, int enc, const char *v, asr_vb *vb)
{
  if (enc && tag != 4 && tag != 64 && tag != 68)
    return rec_fail(rd, ASR_ERR_PARSE, "hex/escaped encoding on a non-string tag");
  switch (tag) {
  case 2: /* INTEGER / Integer32 */
    return rec_number(rd, v, val_integer, vb);
  case 4: /* OCTET STRING */
    return rec_octets(rd, v, enc, ASR_VB_OCTETS, vb);
  case 5: /* NULL */
    vb->type = ASR_VB_NULL;
    return ASR_OK;
  case 6: /* OBJECT IDENTIFIER */
    return val_oid(rd, v, vb);
  case 64: /* IpAddress */
    return rec_ipaddr(rd, v, enc, vb);
  case 65: /* Counter32 */
  case 66: /* Gauge32 / Unsigned32 */
  case 67: /* TimeTicks */
    return rec_number(rd, v, val_unsigned, vb);
  case 68: /* Opaque */
    return rec_octets(rd, v, enc, ASR_VB_OCTETS, vb);
  case 70: /* Counter64 */
    return rec_number(rd, v, val_counter64, vb);
  case 128: /* noSuchObject */
  case 129: /* noSuchInstance */
  case 130: /* endOfMibView */
    vb->type = ASR_VB_NONE;
    return ASR_OK;
  default:
    return rec_fail(rd, ASR_ERR_PARSE, "unknown snmprec tag");
  }
}

/* Parses "TAG[x|e][:variation]". */
static asr_result rec_tag(rec_reader *rd, const char *s, size_t n, unsigned *tag, int *enc,
                          int *variation)
{
  size_t i = 0;
  unsigned v = 0;

  *enc = 0;
  *variation = 0;
  while (i < n && is_digit((unsigned char)s[i]) && v < 1000)
    v = v * 10 + (unsigned)(s[i++] - '0');
  if (i == 0 || v >= 1000)
    return rec_fail(rd, ASR_ERR_PARSE, "malformed snmprec tag");
  if (i < n && (s[i] == 'x' || s[i] == 'e'))
    *enc = s[i++];
  if (i < n && s[i] == ':')
    *variation = 1;
  else if (i != n)
    return rec_fail(rd, ASR_ERR_PARSE, "malformed snmprec tag");
  *tag = v;
  return ASR_OK;
}

/* A variation's static value: initial= (numeric, ...), value= (writecache, ...),
 * hexvalue=; a value without '=' is taken as is. 0 when there is none (line skipped). */
static int variation_static(const char *v, char *out, size_t n, int *enc)
{
  if (!strchr(v, '='))
    return asr_strlcpy(out, v, n) == ASR_OK;
  if (variation_value(v, "initial", out, n) || variation_value(v, "value", out, n))
    return 1;
  if (variation_value(v, "hexvalue", out, n)) {
    *enc = 'x';
    return 1;
  }
  return 0;
}

/* One "OID|TAG|VALUE" line. Returns ASR_OK with vb->oid_len 0 when the line is skipped. */
static asr_result snmprec_line(rec_reader *rd, asr_vb *vb, char *scratch, size_t scratch_n)
{
  char *s = rd->line, *bar1, *bar2, *end;
  unsigned tag;
  int enc, variation;

  while (is_space((unsigned char)*s)) /* snmpsim strips the whole line */
    s++;
  end = s + strlen(s);
  while (end > s && is_space((unsigned char)end[-1]))
    *--end = '\0';
  bar1 = strchr(s, '|');
  bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
  if (!bar2)
    return rec_fail(rd, ASR_ERR_PARSE, "expected OID|TAG|VALUE");
  if (parse_oid_n(rd, s, (size_t)(bar1 - s), vb->oid, &vb->oid_len))
    return rd->fail;
  if (rec_tag(rd, bar1 + 1, (size_t)(bar2 - bar1 - 1), &tag, &enc, &variation))
    return rd->fail;
  if (!variation)
    return rec_value(rd, tag, enc, bar2 + 1, vb);
  if (!variation_static(bar2 + 1, scratch, scratch_n, &enc)) {
    asr_log(ASR_LOG_DEBUG, "recording: line %zu: variation without a static value skipped",
            rd->lineno);
    rd->skipped++;
    vb->oid_len = 0;
    return ASR_OK;
  }
  return rec_value(rd, tag, enc, scratch, vb);
}

/* ---- driver ---- */

/* The format of the first significant line. */
static rec_format detect(const char *line)
{
  const char *s = skip_ws(line);
  size_t n = oid_token_len(s);

  if (n == 0)
    return REC_FMT_UNKNOWN;
  if (s[n] == '|')
    return REC_FMT_SNMPREC;
  if (is_walk_start(s))
    return REC_FMT_WALK;
  return REC_FMT_UNKNOWN;
}

typedef struct {
  rec_reader *rd;
  asr_vbset *set;
  rec_format fmt;
  size_t count;
  uint32_t oid[ASR_OID_MAX];
  char *scratch; /* REC_LINE_MAX + 1 bytes for variation values */
} rec_parse;

/* Parses the varbind of the current (significant) line and adds it. */
static asr_result rec_one(rec_parse *p)
{
  rec_reader *rd = p->rd;
  asr_vb vb = {.oid = p->oid};
  asr_result r;

  asr_buf_reset(&rd->val);
  if (p->fmt == REC_FMT_UNKNOWN) {
    p->fmt = detect(rd->line);
    if (p->fmt == REC_FMT_UNKNOWN)
      return rec_fail(rd, ASR_ERR_PARSE,
                      "neither snmpwalk (OID = TYPE: value) nor snmprec "
                      "(OID|TAG|VALUE) format");
  }
  if (p->fmt == REC_FMT_WALK)
    r = walk_line(rd, &vb);
  else
    r = snmprec_line(rd, &vb, p->scratch, REC_LINE_MAX + 1);
  if (r || vb.oid_len == 0)
    return r;
  if (p->count >= REC_VB_MAX)
    return rec_fail(rd, ASR_ERR_TOO_LARGE, "more than 100000 varbinds");
  r = asr_vbset_add(p->set, &vb);
  if (r)
    return rec_fail(rd, r, r == ASR_ERR_NOMEM ? "out of memory" : "varbind refused by the set");
  p->count++;
  return ASR_OK;
}

static asr_result rec_all(rec_parse *p)
{
  rec_reader *rd = p->rd;

  for (;;) {
    int got = rec_fetch(rd);
    const char *s;

    if (got < 0)
      return rd->fail;
    if (got == 0)
      break;
    s = skip_ws(rd->line);
    if (*s == '\0' || *s == '#')
      continue;
    if (rec_one(p))
      return rd->fail;
  }
  if (p->count == 0 && rd->skipped == 0) {
    rd->lineno = 0;
    return rec_fail(rd, ASR_ERR_PARSE, "no variable bindings in the file");
  }
  return ASR_OK;
}

static void rec_message(const rec_reader *rd, char *err, size_t n)
{
  if (!err || n == 0)
    return;
  if (rd->err_line)
    asr_fmt_cut(err, n, "line %zu: %s", rd->err_line, rd->what);
  else
    asr_strlcpy_cut(err, rd->what, n);
}

asr_result asr_recording_read(FILE *f, asr_vbset **out, char *err, size_t n)
{
  rec_reader rd = {.f = f, .val = {.max = REC_LINE_MAX}};
  rec_parse p = {.rd = &rd};
  asr_result r = ASR_ERR_NOMEM;

  *out = NULL;
  if (err && n)
    err[0] = '\0';
  rd.line = malloc(REC_LINE_MAX + 1);
  p.scratch = malloc(REC_LINE_MAX + 1);
  p.set = asr_vbset_new();
  if (!rd.line || !p.scratch || !p.set) {
    asr_strlcpy_cut(rd.what, "out of memory", sizeof(rd.what));
    goto out;
  }
  asr_vbset_set_limit(p.set, REC_VB_MAX);
  r = rec_all(&p);
  if (r)
    goto out;
  asr_vbset_finish(p.set);
  *out = p.set;
  p.set = NULL;
out:
  if (r)
    rec_message(&rd, err, n);
  asr_vbset_free(p.set);
  free(rd.line);
  asr_buf_free(&rd.val);
  free(p.scratch);
  return r;
}

asr_result asr_recording_load(const char *path, asr_vbset **out, char *err, size_t n)
{
  FILE *f = fopen(path, "rb");
  asr_result r;

  *out = NULL;
  if (!f) {
    if (err && n)
      asr_fmt_cut(err, n, "%s: %s", path, strerror(errno));
    return ASR_ERR_IO;
  }
  r = asr_recording_read(f, out, err, n);
  if (r && err && n) {
    char tmp[256];

    asr_strlcpy_cut(tmp, err, sizeof(tmp));
    asr_fmt_cut(err, n, "%s: %s", path, tmp);
  }
  fclose(f);
  return r;
}
