#include "common/device.h"

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
