/* snmp/quirks.c: vendor knowledge as data.
 *
 * Three tables: enterprise numbers -> vendor names, vendor-private serial number OIDs,
 * and the quirk rows the Printer-MIB model applies to supplies. Each row has a comment
 * naming its source and a test in tests/unit/check_quirks.c; docs/supplies.md lists
 * them all. */
#include "snmp/quirks.h"

#include <ctype.h>
#include <string.h>

#include "common/util.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
  uint32_t enterprise;
  const char *name;
} vendor_row;

/* IANA Private Enterprise Numbers (https://www.iana.org/assignments/enterprise-numbers). */
static const vendor_row vendors[] = {
    {11, "HP"},                /* Hewlett-Packard (JetDirect) */
    {236, "Samsung"},          /* Samsung Electronics */
    {253, "Xerox"},            /* Xerox Corporation */
    {297, "FUJIFILM"},         /* Fuji Xerox, now FUJIFILM Business Innovation */
    {367, "Ricoh"},            /* Ricoh, also its OEMs Gestetner, Lanier, NRG, Savin */
    {641, "Lexmark"},          /* Lexmark International (also Toshiba/Dell OEM engines) */
    {674, "Dell"},             /* Dell */
    {683, "Zebra"},            /* Extended Systems: ZebraNet print servers */
    {1129, "Toshiba"},         /* Toshiba (TEC label and e-STUDIO printers) */
    {1248, "Epson"},           /* Seiko Epson */
    {1347, "Kyocera"},         /* Kyocera (Mita) */
    {1602, "Canon"},           /* Canon */
    {2001, "Oki"},             /* Oki Data */
    {2385, "Sharp"},           /* Sharp */
    {2435, "Brother"},         /* Brother Industries */
    {10642, "Zebra"},          /* Zebra Technologies */
    {18334, "Konica Minolta"}, /* Konica Minolta (also Develop, ineo) */
    {40093, "Pantum"},         /* Pantum */
};

/* First word(s) of sysDescr -> vendor, for enterprise numbers not in the table above. */
static const vendor_row descr_vendors[] = {
    {0, "HP"},       {0, "Xerox"},   {0, "Ricoh"}, {0, "Lexmark"},        {0, "Canon"},
    {0, "Brother"},  {0, "Kyocera"}, {0, "Epson"}, {0, "Konica Minolta"}, {0, "Sharp"},
    {0, "Toshiba"},  {0, "Samsung"}, {0, "Oki"},   {0, "Dell"},           {0, "Zebra"},
    {0, "FUJIFILM"}, {0, "Pantum"},
};

typedef struct {
  uint32_t enterprise;
  const char *oid;
} serial_row;

/* Vendor-private serial numbers, tried in this order when neither prtGeneralSerialNumber
 * nor entPhysicalSerialNum gave one (the same list as FusionInventory/GLPI agent). */
static const serial_row serial_oids[] = {
    {11, "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.3.0"}, /* HP-LASERJET-COMMON-MIB serial-number (PML) */
    {253,
     "1.3.6.1.4.1.253.8.53.3.2.1.3.1"}, /* XEROX-HOST-RESOURCES-EXT-MIB xcmHrDevInfoSerialNumber */
    {297, "1.3.6.1.4.1.253.8.53.3.2.1.3.1"}, /* Fuji Xerox answers the Xerox object too */
    {367, "1.3.6.1.4.1.367.3.2.1.2.1.4.0"},  /* RicohPrivateMIB ricohEngSerialNumber (machine id) */
    {641, "1.3.6.1.4.1.641.2.1.2.1.6.1"},    /* LEXMARK-PVT-MIB prtgenSerialNo */
    {674, "1.3.6.1.4.1.674.10898.100.2.1.2.1.6.1"}, /* Dell printer MIB serial (Lexmark based) */
    {683, "1.3.6.1.4.1.683.1.5.0"},                 /* ESI (ZebraNet) print server serial */
    {1248, "1.3.6.1.4.1.1248.1.2.2.1.1.1.5.1"},     /* EPSON private MIB serial number */
    {1347, "1.3.6.1.4.1.1347.43.5.1.1.28.1"},       /* KYOCERA-Private-MIB kcprtSerialNumber */
    {1602, "1.3.6.1.4.1.1602.1.2.1.4.0"},           /* CANON-MIB serial number */
    {2435, "1.3.6.1.4.1.2435.2.3.9.4.2.1.5.5.1.0"}, /* BROTHER-MIB brInfoSerialNumber */
};

/* The quirk rows: each switches a behaviour of snmp/printer.c on (enterprise 0: for every
 * vendor, since the same firmware families are sold under many names). The vendor codes of
 * prtMarkerSuppliesLevel are common/device.c's level codes: the batch and the health
 * checks judge stored levels with them too. */
const asr_quirk asr_quirks[] = {
    /* HP: descriptions end with NUL or hold NUL/CR/LF between pieces ("Black Cartridge\0"). */
    {ASR_QUIRK_DESCR_JOIN, 0, "NUL/CR/LF inside a description: pieces joined by one space (HP)"},
    /* Xerox: "Black Toner, PN 006R01509;SN48178080E0000481". */
    {ASR_QUIRK_DESCR_PN, 0, "', PN <part>;SN<serial>' suffix cut, part number kept (Xerox)"},
    /* HP: "Black Cartridge HP CF410A": the order number follows "HP". */
    {ASR_QUIRK_DESCR_HP_PN, 0, "'HP <part>' at the end of a description: part number kept (HP)"},
    /* Pantum and other small agents: 43.11.1.1.<col>.<supply>, no hrDeviceIndex. */
    {ASR_QUIRK_SCALAR_ROW, 0, "supply rows with one index sub-identifier (Pantum)"},
    /* Agents that answer out of OID order: the vbset is sorted before the model reads. */
    {ASR_QUIRK_ANY_ORDER, 0, "OIDs out of order: read from the sorted set"},
};
const size_t asr_quirks_count = COUNT_OF(asr_quirks);

const char *asr_quirks_vendor(uint32_t enterprise)
{
  for (size_t i = 0; i < COUNT_OF(vendors); i++) {
    if (vendors[i].enterprise == enterprise)
      return vendors[i].name;
  }
  return NULL;
}

/* True when s starts with word (ASCII case-insensitive) followed by a non-letter. */
static int starts_with_word(const char *s, const char *word)
{
  size_t n = strlen(word);

  for (size_t i = 0; i < n; i++) {
    if (tolower((unsigned char)s[i]) != tolower((unsigned char)word[i]))
      return 0;
  }
  return !isalpha((unsigned char)s[n]);
}

const char *asr_quirks_vendor_from_descr(const char *sys_descr)
{
  if (!sys_descr)
    return NULL;
  while (*sys_descr == ' ')
    sys_descr++;
  for (size_t i = 0; i < COUNT_OF(descr_vendors); i++) {
    if (starts_with_word(sys_descr, descr_vendors[i].name))
      return descr_vendors[i].name;
  }
  if (starts_with_word(sys_descr, "Hewlett"))
    return "HP";
  if (starts_with_word(sys_descr, "Fuji"))
    return "FUJIFILM";
  return NULL;
}

int asr_quirks_has(asr_quirk_kind kind, uint32_t enterprise)
{
  for (size_t i = 0; i < asr_quirks_count; i++) {
    if (asr_quirks[i].kind == kind &&
        (asr_quirks[i].enterprise == 0 || asr_quirks[i].enterprise == enterprise))
      return 1;
  }
  return 0;
}

size_t asr_quirks_serial_oids(uint32_t enterprise, const char **oids, size_t max)
{
  size_t n = 0;

  for (size_t i = 0; i < COUNT_OF(serial_oids) && n < max; i++) {
    if (serial_oids[i].enterprise == enterprise)
      oids[n++] = serial_oids[i].oid;
  }
  return n;
}

/* The part number after ", PN " up to ';' (or the end), trimmed; "unknown" -> "". */
static void copy_part(const char *p, char *part, size_t n)
{
  size_t len = 0;

  while (p[len] && p[len] != ';')
    len++;
  while (len > 0 && p[len - 1] == ' ')
    len--;
  part[0] = '\0';
  if (n == 0 || len == 0 || len >= n)
    return;
  memcpy(part, p, len);
  part[len] = '\0';
  if (starts_with_word(part, "unknown") || starts_with_word(part, "none") ||
      starts_with_word(part, "n/a"))
    part[0] = '\0';
}

int asr_quirks_split_part_number(char *descr, char *part, size_t n)
{
  char *pn = strstr(descr, ", PN ");

  if (!pn) {
    pn = strstr(descr, ",PN ");
    if (!pn)
      return 0;
  }
  copy_part(pn + (pn[1] == ' ' ? 5 : 4), part, n);
  while (pn > descr && pn[-1] == ' ')
    pn--;
  *pn = '\0';
  return 1;
}

/* An HP order number: 5 to 12 capitals and digits, with at least one of each. */
static int is_hp_part(const char *p)
{
  size_t len = strlen(p), letters = 0, digits = 0;

  if (len < 5 || len > 12)
    return 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] >= 'A' && p[i] <= 'Z')
      letters++;
    else if (p[i] >= '0' && p[i] <= '9')
      digits++;
    else
      return 0;
  }
  return letters > 0 && digits > 0;
}

int asr_quirks_hp_part_number(const char *descr, char *part, size_t n)
{
  const char *hp = NULL, *p = descr;

  while ((p = strstr(p, " HP ")) != NULL) {
    hp = p;
    p += 4;
  }
  if (!hp || !is_hp_part(hp + 4) || asr_strlcpy(part, hp + 4, n) != ASR_OK) {
    if (n)
      part[0] = '\0';
    return 0;
  }
  return 1;
}
