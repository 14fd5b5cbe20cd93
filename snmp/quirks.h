/* quirks.h: vendor knowledge as data tables (snmp/quirks.c), each row tested in
 * tests/unit/check_quirks.c. The Printer-MIB model consults them; docs/supplies.md
 * lists every row. */
#ifndef ASR_QUIRKS_H
#define ASR_QUIRKS_H

#include <stddef.h>
#include <stdint.h>

#include "common/device.h"

/* What a quirk row changes. */
typedef enum {
  ASR_QUIRK_DESCR_JOIN = 1, /* NUL/CR/LF inside a description: the pieces joined by one space */
  ASR_QUIRK_DESCR_PN,       /* ", PN <part>;SN<serial>" suffix cut, the part number kept */
  ASR_QUIRK_DESCR_HP_PN, /* "... HP CF410A": the HP part number after "HP" kept (description too) */
  ASR_QUIRK_SCALAR_ROW,  /* supply rows indexed by one sub-identifier (<col>.<supply>) */
  ASR_QUIRK_ANY_ORDER,   /* OIDs answered out of order: the model reads the sorted vbset */
} asr_quirk_kind;

typedef struct {
  asr_quirk_kind kind;
  uint32_t enterprise; /* IANA enterprise number of sysObjectID; 0 = every vendor */
  const char *what;    /* one line for logs and docs */
} asr_quirk;

/* The quirk table and its length. */
extern const asr_quirk asr_quirks[];
extern const size_t asr_quirks_count;

/* Vendor name for an IANA enterprise number ("HP" for 11), or NULL. */
const char *asr_quirks_vendor(uint32_t enterprise);

/* Vendor name guessed from the first words of sysDescr ("RICOH Aficio" -> "Ricoh"), or NULL. */
const char *asr_quirks_vendor_from_descr(const char *sys_descr);

/* True when a row of this kind applies to the enterprise (rows with enterprise 0 apply to all). */
int asr_quirks_has(asr_quirk_kind kind, uint32_t enterprise);

/* The vendor-private serial number OIDs (dotted, static) for an enterprise: writes up to
 * max of them into oids and returns how many. */
size_t asr_quirks_serial_oids(uint32_t enterprise, const char **oids, size_t max);

/* Applies the Xerox-style ", PN <part>;SN<serial>" rule to descr in place: the suffix is
 * cut and the part number ("" for "unknown") copied into part (size n). Returns 1 when
 * the suffix was found. */
int asr_quirks_split_part_number(char *descr, char *part, size_t n);

/* Applies the HP rule: when descr ends with "HP <part>" and the part is 5 to 12 capitals
 * and digits holding both, the part is copied into part (size n). Returns 1 when found. */
int asr_quirks_hp_part_number(const char *descr, char *part, size_t n);

#endif
