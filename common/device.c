#include "common/device.h"

#include <stdint.h>
#include <string.h>

void asr_device_init(asr_device *d)
{
  memset(d, 0, sizeof(*d));
}

/* PrtMarkerSuppliesTypeTC, RFC 3805 and the IANA Printer-MIB textual conventions. */
static const char *const supply_types[] = {
    [1] = "other",
    [2] = "unknown",
    [3] = "toner",
    [4] = "wasteToner",
    [5] = "ink",
    [6] = "inkCartridge",
    [7] = "inkRibbon",
    [8] = "wasteInk",
    [9] = "opc",
    [10] = "developer",
    [11] = "fuserOil",
    [12] = "solidWax",
    [13] = "ribbonWax",
    [14] = "wasteWax",
    [15] = "fuser",
    [16] = "coronaWire",
    [17] = "fuserOilWick",
    [18] = "cleanerUnit",
    [19] = "fuserCleaningPad",
    [20] = "transferUnit",
    [21] = "tonerCartridge",
    [22] = "fuserOiler",
    [23] = "water",
    [24] = "wasteWater",
    [25] = "glueWaterAdditive",
    [26] = "wastePaper",
    [27] = "bindingSupply",
    [28] = "bandingSupply",
    [29] = "stitchingWire",
    [30] = "shrinkWrap",
    [31] = "paperWrap",
    [32] = "staples",
    [33] = "inserts",
    [34] = "covers",
    [35] = "matteToner",
    [36] = "matteInk",
};

/* PrtMarkerSuppliesSupplyUnitTC. */
static const char *const supply_units[] = {
    [1] = "other",
    [2] = "unknown",
    [3] = "tenThousandthsOfInches",
    [4] = "micrometers",
    [7] = "impressions",
    [8] = "sheets",
    [11] = "hours",
    [12] = "thousandthsOfOunces",
    [13] = "tenthsOfGrams",
    [14] = "hundrethsOfFluidOunces",
    [15] = "tenthsOfMilliliters",
    [16] = "feet",
    [17] = "meters",
    [18] = "items",
    [19] = "percent",
};

static const char *const state_names[ASR_STATE_COUNT] = {
    [ASR_STATE_UNKNOWN] = "unknown", [ASR_STATE_OK] = "ok",
    [ASR_STATE_LOW] = "low",         [ASR_STATE_EMPTY] = "empty",
    [ASR_STATE_FULL] = "full",       [ASR_STATE_SOME_REMAINING] = "some_remaining",
};

static const char *const printer_status_names[] = {
    [1] = "other", [2] = "unknown", [3] = "idle", [4] = "printing", [5] = "warmup",
};

/* hrPrinterDetectedErrorState bits (RFC 2790, RFC 3805 section 2.2.13.2). */
static const char *const printer_error_names[] = {
    "lowPaper",
    "noPaper",
    "lowToner",
    "noToner",
    "doorOpen",
    "jammed",
    "offline",
    "serviceRequested",
    "inputTrayMissing",
    "outputTrayMissing",
    "markerSupplyMissing",
    "outputNearFull",
    "outputFull",
    "inputTrayEmpty",
    "overduePreventMaint",
    NULL,
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const char *const *table, size_t n, int32_t code)
{
  if (code < 0 || (size_t)code >= n)
    return NULL;
  return table[code];
}

const char *asr_supply_type_name(int32_t type)
{
  return lookup(supply_types, COUNT_OF(supply_types), type);
}

int32_t asr_supply_type_code(const char *name)
{
  for (size_t t = 1; name && t < COUNT_OF(supply_types); t++)
    if (supply_types[t] && strcmp(supply_types[t], name) == 0)
      return (int32_t)t;
  return 0;
}

const char *asr_supply_class_name(int32_t klass)
{
  switch (klass) {
  case ASR_CLASS_OTHER:
    return "other";
  case ASR_CLASS_CONSUMED:
    return "consumed";
  case ASR_CLASS_RECEPTACLE:
    return "filled";
  default:
    return NULL;
  }
}

const char *asr_supply_unit_name(int32_t unit)
{
  return lookup(supply_units, COUNT_OF(supply_units), unit);
}

const char *asr_supply_state_name(asr_supply_state s)
{
  if ((unsigned)s >= ASR_STATE_COUNT)
    return "unknown";
  return state_names[s];
}

const char *asr_printer_status_name(int32_t status)
{
  return lookup(printer_status_names, COUNT_OF(printer_status_names), status);
}

const char *asr_printer_error_name(unsigned bit)
{
  if (bit >= COUNT_OF(printer_error_names))
    return NULL;
  return printer_error_names[bit];
}

/* ---- percent and state (docs/supplies.md) ---------------------------------------- */

#define UNIT_PERCENT 19 /* PrtMarkerSuppliesSupplyUnitTC percent(19) */

/* The vendor level codes: matched on (enterprise, max, level). */
const asr_level_code asr_level_codes[] = {
    /* Ricoh (and OEMs): -100 = toner (near) end; the RicohPrivateMIB documents -3 for
     * 1..100 % and -100 for empty; LibreNMS and Observium read it as 0. */
    {367, -100, ASR_LEVEL_MAX_ANY, ASR_STATE_EMPTY, 0, "Ricoh level -100: empty"},
    /* Brother: with an unknown maximum, level 0 is not "empty" (LibreNMS's Brother rule
     * reads Brother level codes as 0 = full, 1 = low, 2 = empty); we say unknown. */
    {2435, 0, ASR_LEVEL_MAX_UNKNOWN, ASR_STATE_UNKNOWN, ASR_PERCENT_NULL,
     "Brother level 0 with unknown max: unknown"},
    /* Brother: with an unknown maximum, level 2 is the "empty" code. */
    {2435, 2, ASR_LEVEL_MAX_UNKNOWN, ASR_STATE_EMPTY, 0, "Brother level 2 with unknown max: empty"},
    /* Canon MF: prtMarkerSuppliesLevel is three-staged: 100 other (ok), 10 tonerLow,
     * 1 tonerNearlyOut (Canon MF4700/4800 MIB; LibreNMS issue #5637). */
    {1602, 10, ASR_LEVEL_MAX_100, ASR_STATE_LOW, 10, "Canon level 10: toner low"},
    {1602, 1, ASR_LEVEL_MAX_100, ASR_STATE_LOW, 1, "Canon level 1: nearly out"},
};
const size_t asr_level_codes_count = sizeof(asr_level_codes) / sizeof(asr_level_codes[0]);

static bool max_matches(asr_level_max m, bool has_max, int64_t max)
{
  switch (m) {
  case ASR_LEVEL_MAX_UNKNOWN:
    return !has_max || max < 0;
  case ASR_LEVEL_MAX_100:
    return has_max && max == 100;
  default:
    return true;
  }
}

const asr_level_code *asr_level_code_find(uint32_t enterprise, bool has_max, int64_t max,
                                          int64_t level)
{
  for (size_t i = 0; i < asr_level_codes_count; i++) {
    const asr_level_code *q = &asr_level_codes[i];

    if (q->enterprise == enterprise && q->level == level && max_matches(q->max, has_max, max))
      return q;
  }
  return NULL;
}

static int is_receptacle_type(int32_t type)
{
  return type == 4 || type == 8 || type == 14 || type == 24 || type == 26; /* waste* */
}

static void infer_class(asr_supply *s)
{
  if (s->klass != ASR_CLASS_UNKNOWN)
    return;
  if (is_receptacle_type(s->type))
    s->klass = ASR_CLASS_RECEPTACLE;
  else if (s->type > 2)
    s->klass = ASR_CLASS_CONSUMED;
}

/* level (>= 0) as a percent of a usable max, or as a percent when the unit says so. */
static int compute_percent(const asr_supply *s)
{
  if (s->has_max && s->max > 0 && s->max <= INT32_MAX) {
    if (s->level >= s->max)
      return 100;
    return (int)((s->level * 100 + s->max / 2) / s->max);
  }
  if (s->unit == UNIT_PERCENT)
    return s->level > 100 ? 100 : (int)s->level;
  return ASR_PERCENT_NULL;
}

void asr_supply_normalize(asr_supply *s, uint32_t enterprise)
{
  const asr_level_code *q;

  infer_class(s);
  s->percent = ASR_PERCENT_NULL;
  s->state = ASR_STATE_UNKNOWN;
  if (!s->has_level)
    return;
  q = asr_level_code_find(enterprise, s->has_max, s->max, s->level);
  if (q) { /* a vendor's "empty" code on a receptacle means no space left: full */
    s->state =
        q->state == ASR_STATE_EMPTY && s->klass == ASR_CLASS_RECEPTACLE ? ASR_STATE_FULL : q->state;
    s->percent = q->percent;
    return;
  }
  if (s->level == -3) /* some remaining (or some space left) */
    s->state = ASR_STATE_SOME_REMAINING;
  else if (s->level == -1) /* other: no restriction */
    s->state = ASR_STATE_OK;
  if (s->level < 0) /* -2 unknown, and any other negative */
    return;
  s->percent = compute_percent(s);
  if (s->level == 0)
    s->state = s->klass == ASR_CLASS_RECEPTACLE ? ASR_STATE_FULL : ASR_STATE_EMPTY;
  else if (s->percent == ASR_PERCENT_NULL)
    s->state = ASR_STATE_SOME_REMAINING;
  else if (s->percent <= ASR_SUPPLY_LOW_PERCENT)
    s->state = ASR_STATE_LOW;
  else
    s->state = ASR_STATE_OK;
}
