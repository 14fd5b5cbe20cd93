/* device.h: what the agent knows of one printer and its supplies.
 *
 * The SNMP layer fills an asr_device from a printer's answers (snmp/printer.c), the
 * store saves and loads it (store/), and the CLI prints it (agent/output.c). Every
 * string here is valid UTF-8, NUL-terminated and bounded: printers are untrusted. */
#ifndef ASR_DEVICE_H
#define ASR_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/result.h"

#define ASR_DESCR_MAX 256   /* a supply description: 255 bytes of UTF-8 + NUL */
#define ASR_SUPPLIES_MAX 64 /* supplies kept per device; more are dropped with a warning */
#define ASR_PERCENT_NULL (-1)

/* Normalized state of a supply (docs/supplies.md). */
typedef enum {
  ASR_STATE_UNKNOWN = 0,
  ASR_STATE_OK,
  ASR_STATE_LOW,
  ASR_STATE_EMPTY,
  ASR_STATE_FULL,
  ASR_STATE_SOME_REMAINING,
  ASR_STATE_COUNT
} asr_supply_state;

/* prtMarkerSuppliesClass (RFC 3805), 0 when the printer does not say. */
typedef enum {
  ASR_CLASS_UNKNOWN = 0,
  ASR_CLASS_OTHER = 1,
  ASR_CLASS_CONSUMED = 3,   /* supplyThatIsConsumed */
  ASR_CLASS_RECEPTACLE = 4, /* receptacleThatIsFilled */
} asr_supply_class;

typedef struct {
  int32_t index;                   /* prtMarkerSuppliesIndex */
  int32_t hr_index;                /* hrDeviceIndex of the row (0 for scalar rows) */
  char description[ASR_DESCR_MAX]; /* decoded, cleaned description */
  char part_number[64];            /* a part number found in the description, or "" */
  int32_t type;                    /* PrtMarkerSuppliesTypeTC code, 0 = not reported */
  int32_t klass;                   /* asr_supply_class (effective, possibly inferred) */
  int32_t unit;                    /* PrtMarkerSuppliesSupplyUnitTC code, 0 = not reported */
  char colorant[32];               /* the printer's word: "black", "schwarz", "bk"... or "" */
  char colorant_std[16];           /* its canonical word (snmp/colorant.h), or "" (unknown) */
  bool has_max, has_level;
  int64_t max;   /* prtMarkerSuppliesMaxCapacity exactly as reported */
  int64_t level; /* prtMarkerSuppliesLevel exactly as reported */
  int percent;   /* 0..100, or ASR_PERCENT_NULL */
  asr_supply_state state;
} asr_supply;

/* One billing meter read at a poll (snmp/meters.c, docs/meters.md). */
#define ASR_METERS_MAX 32
typedef struct {
  char name[32];   /* "total", "black", "color", "duplex", "copy_black", "marker.1", ... */
  char unit[24];   /* "impressions", "sheets", "clicks", or a prtMarkerCounterUnit name */
  char source[24]; /* "printer-mib" or the vendor of the private counter ("HP", ...) */
  int64_t value;   /* value * scale of the table row, >= 0 */
} asr_meter;

/* One row of prtAlertTable (RFC 3805), decoded (snmp/alerts.c, docs/meters.md). */
#define ASR_ALERTS_MAX 32
#define ASR_ALERT_DESCR_MAX 256
typedef struct {
  int32_t index;       /* prtAlertIndex (reused by printers: identity is the content) */
  int32_t severity;    /* prtAlertSeverityLevel code, 0 = not reported */
  int32_t training;    /* prtAlertTrainingLevel code */
  int32_t group;       /* prtAlertGroup code */
  int32_t group_index; /* prtAlertGroupIndex, -1 = not reported */
  int32_t location;    /* prtAlertLocation, -1 = not reported */
  int32_t code;        /* prtAlertCode code */
  uint32_t time;       /* prtAlertTime (sysUpTime ticks when it was added) */
  char description[ASR_ALERT_DESCR_MAX]; /* decoded, bounded UTF-8 */
} asr_alert;

typedef struct {
  char ip[48];
  char sys_object_id[256]; /* dotted, no leading dot */
  char vendor[64];         /* from the enterprise number, or "" */
  char model[256];
  char sys_descr[512];
  char sys_name[256];
  char serial[128];
  char mac[18]; /* "aa:bb:cc:dd:ee:ff" or "" */
  bool is_printer;
  bool has_page_count;
  int64_t page_count;     /* prtMarkerLifeCount */
  int32_t printer_status; /* hrPrinterStatus, 0 = not reported */
  uint32_t error_bits;    /* hrPrinterDetectedErrorState: bit n of the MIB = (1u << n) */
  bool has_error_state;
  size_t n_supplies;
  asr_supply supplies[ASR_SUPPLIES_MAX];
  size_t n_meters;
  asr_meter meters[ASR_METERS_MAX];
  size_t n_alerts;      /* alerts kept (the most severe first when the table is larger) */
  size_t alerts_total;  /* rows the printer's prtAlertTable had */
  bool has_alert_table; /* prtAlertTable was read (an empty table clears every alert) */
  asr_alert alerts[ASR_ALERTS_MAX];
} asr_device;

/* A consumable at or under this percent (a receptacle with this percent of space left or
 * less) is in state "low" (docs/supplies.md). */
#define ASR_SUPPLY_LOW_PERCENT 10

/* Which prtMarkerSuppliesMaxCapacity a vendor level code goes with. */
typedef enum {
  ASR_LEVEL_MAX_ANY = 0, /* whatever the maximum */
  ASR_LEVEL_MAX_UNKNOWN, /* a negative maximum (-1, -2, -3 or garbage) or none */
  ASR_LEVEL_MAX_100,     /* a maximum of exactly 100 */
} asr_level_max;

/* A vendor's prtMarkerSuppliesLevel code that means a state, not an amount (docs/supplies.md,
 * "Vendor level codes"): vendor knowledge as data, each row tested in check_quirks. */
typedef struct {
  uint32_t enterprise;    /* IANA enterprise number of sysObjectID */
  int64_t level;          /* the reported level code */
  asr_level_max max;      /* which maximum the code goes with */
  asr_supply_state state; /* the state it means */
  int percent;            /* the percent it means, or ASR_PERCENT_NULL */
  const char *what;       /* one line for logs and docs */
} asr_level_code;

/* The vendor level codes and their number. */
extern const asr_level_code asr_level_codes[];
extern const size_t asr_level_codes_count;

/* The level code row matching (enterprise, max, level), or NULL. */
const asr_level_code *asr_level_code_find(uint32_t enterprise, bool has_max, int64_t max,
                                          int64_t level);

/* Sets s->percent, s->state and (when not reported) s->klass from the raw type, class,
 * unit, max and level of s, with the level codes of the vendor (IANA enterprise number,
 * 0 = unknown): the rules of docs/supplies.md. The poll (snmp/printer.c), the batch
 * (uplink/batch.c) and the health checks (agent/health.c) all judge a level with it. */
void asr_supply_normalize(asr_supply *s, uint32_t enterprise);

/* Sets every field of d to "unknown" (zero, empty strings, percent null). */
void asr_device_init(asr_device *d);

/* RFC 3805 name of a PrtMarkerSuppliesTypeTC code ("toner", "wasteToner", ...), or
 * NULL when the code is 0 or not in the MIB. */
const char *asr_supply_type_name(int32_t type);

/* The PrtMarkerSuppliesTypeTC code of an RFC 3805 type name ("toner" -> 3), 0 when the
 * name is NULL or not one of the MIB's. */
int32_t asr_supply_type_code(const char *name);

/* RFC 3805 name of a prtMarkerSuppliesClass ("consumed", "filled") or NULL. */
const char *asr_supply_class_name(int32_t klass);

/* RFC 3805 name of a PrtMarkerSuppliesSupplyUnitTC code ("percent", "tenThousandthsOfInches",
 * ...) or NULL. */
const char *asr_supply_unit_name(int32_t unit);

/* "ok", "low", "empty", "full", "some_remaining", "unknown". */
const char *asr_supply_state_name(asr_supply_state s);

/* hrPrinterStatus name: "other", "unknown", "idle", "printing", "warmup", or NULL. */
const char *asr_printer_status_name(int32_t status);

/* Name of hrPrinterDetectedErrorState bit n (0..15: "lowPaper", "noPaper", ...) or NULL. */
const char *asr_printer_error_name(unsigned bit);

#endif
