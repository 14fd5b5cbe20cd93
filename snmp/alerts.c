/* snmp/alerts.c: prtAlertTable (RFC 3805) as data.
 *
 * Reading order: the name tables (PrtAlertSeverityLevelTC, PrtAlertTrainingLevelTC,
 * PrtAlertGroupTC, PrtAlertCodeTC), the critical-alert table with its mail routes, then
 * asr_alerts_read(), which collects rows column by column from the sorted set. Printers
 * are hostile here too: 64 KB descriptions, bad UTF-8, thousands of rows, reused indexes. */
#include "snmp/alerts.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snmp/charset.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define OID_PRT_ALERT_ENTRY "1.3.6.1.2.1.43.18.1.1"

enum { /* prtAlertEntry columns */
       COL_SEVERITY = 2,
       COL_TRAINING = 3,
       COL_GROUP = 4,
       COL_GROUP_INDEX = 5,
       COL_LOCATION = 6,
       COL_CODE = 7,
       COL_DESCR = 8,
       COL_TIME = 9
};

typedef struct {
  int32_t code;
  const char *name;
} code_name;

static const code_name severities[] = {
    {1, "other"}, {3, "critical"}, {4, "warning"}, {5, "warningBinaryChangeEvent"}};

static const code_name trainings[] = {{1, "other"},
                                      {2, "unknown"},
                                      {3, "untrained"},
                                      {4, "trained"},
                                      {5, "fieldService"},
                                      {6, "management"},
                                      {7, "noInterventionRequired"}};

static const code_name groups[] = {{1, "other"},
                                   {3, "hostResourcesMIBStorageTable"},
                                   {4, "hostResourcesMIBDeviceTable"},
                                   {5, "generalPrinter"},
                                   {6, "cover"},
                                   {7, "localization"},
                                   {8, "input"},
                                   {9, "output"},
                                   {10, "marker"},
                                   {11, "markerSupplies"},
                                   {12, "markerColorant"},
                                   {13, "mediaPath"},
                                   {14, "channel"},
                                   {15, "interpreter"},
                                   {16, "consoleDisplayBuffer"},
                                   {17, "consoleLights"},
                                   {18, "alert"},
                                   {30, "finDevice"},
                                   {31, "finSupply"},
                                   {32, "finSupplyMediaInput"},
                                   {33, "finAttribute"}};

/* PrtAlertCodeTC (RFC 3805 and the IANA Printer-MIB textual conventions). */
static const code_name codes[] = {
    {1, "other"},
    {2, "unknown"},
    {3, "coverOpen"},
    {4, "coverClosed"},
    {5, "interlockOpen"},
    {6, "interlockClosed"},
    {7, "configurationChange"},
    {8, "jam"},
    {9, "subunitMissing"},
    {10, "subunitLifeAlmostOver"},
    {11, "subunitLifeOver"},
    {12, "subunitAlmostEmpty"},
    {13, "subunitEmpty"},
    {14, "subunitAlmostFull"},
    {15, "subunitFull"},
    {16, "subunitNearLimit"},
    {17, "subunitAtLimit"},
    {18, "subunitOpened"},
    {19, "subunitClosed"},
    {20, "subunitTurnedOn"},
    {21, "subunitTurnedOff"},
    {22, "subunitOffline"},
    {23, "subunitPowerSaver"},
    {24, "subunitWarmingUp"},
    {25, "subunitAdded"},
    {26, "subunitRemoved"},
    {27, "subunitResourceAdded"},
    {28, "subunitResourceRemoved"},
    {29, "subunitRecoverableFailure"},
    {30, "subunitUnrecoverableFailure"},
    {31, "subunitRecoverableStorageError"},
    {32, "subunitUnrecoverableStorageError"},
    {33, "subunitMotorFailure"},
    {34, "subunitMemoryExhausted"},
    {35, "subunitUnderTemperature"},
    {36, "subunitOverTemperature"},
    {37, "subunitTimingFailure"},
    {38, "subunitThermistorFailure"},
    {501, "doorOpen"},
    {502, "doorClosed"},
    {503, "poweredUp"},
    {504, "poweredDown"},
    {505, "printerNMSReset"},
    {506, "printerManualReset"},
    {507, "printerReadyToPrint"},
    {801, "inputMediaTrayMissing"},
    {802, "inputMediaSupplyLow"},
    {803, "inputMediaSupplyEmpty"},
    {804, "inputMediaChangeRequest"},
    {805, "inputMediaLoadRequest"},
    {901, "outputMediaTrayMissing"},
    {902, "outputMediaTrayAlmostFull"},
    {903, "outputMediaTrayFull"},
    {904, "outputMailboxSelectFailure"},
    {1001, "markerFuserUnderTemperature"},
    {1002, "markerFuserOverTemperature"},
    {1003, "markerFuserTimingFailure"},
    {1004, "markerFuserThermistorFailure"},
    {1005, "markerAdjustingPrintQuality"},
    {1101, "markerTonerEmpty"},
    {1102, "markerInkEmpty"},
    {1103, "markerPrintRibbonEmpty"},
    {1104, "markerTonerAlmostEmpty"},
    {1105, "markerInkAlmostEmpty"},
    {1106, "markerPrintRibbonAlmostEmpty"},
    {1107, "markerWasteTonerReceptacleAlmostFull"},
    {1108, "markerWasteInkReceptacleAlmostFull"},
    {1109, "markerWasteTonerReceptacleFull"},
    {1110, "markerWasteInkReceptacleFull"},
    {1111, "markerOpcLifeAlmostOver"},
    {1112, "markerOpcLifeOver"},
    {1113, "markerDeveloperAlmostEmpty"},
    {1114, "markerDeveloperEmpty"},
    {1115, "markerTonerCartridgeMissing"},
    {1301, "mediaPathMediaTrayMissing"},
    {1302, "mediaPathMediaTrayAlmostFull"},
    {1303, "mediaPathMediaTrayFull"},
    {1304, "mediaPathCannotDuplexMediaSelected"},
    {1501, "interpreterMemoryIncrease"},
    {1502, "interpreterMemoryDecrease"},
    {1503, "interpreterCartridgeAdded"},
    {1504, "interpreterCartridgeDeleted"},
    {1505, "interpreterResourceAdded"},
    {1506, "interpreterResourceDeleted"},
    {1507, "interpreterResourceUnavailable"},
    {1509, "interpreterComplexPageEncountered"},
    {1801, "alertRemovalOfBinaryChangeEntry"},
};

/* The critical alerts (defaults): each becomes an event uploaded to the central, which
 * mails the route's address. Matched by code; severity critical with training level
 * fieldService is "service" whatever its code. */
typedef struct {
  int32_t code;
  const char *route; /* "service", "supplies", "operator" */
} critical_row;

static const critical_row criticals[] = {
    {8, "operator"},    /* jam: critical when it persists (the agent's tracker says so) */
    {3, "operator"},    /* coverOpen: critical when it stays open */
    {501, "operator"},  /* doorOpen: likewise */
    {11, "service"},    /* subunitLifeOver (fuser, transfer belt...) */
    {30, "service"},    /* subunitUnrecoverableFailure: service required */
    {32, "service"},    /* subunitUnrecoverableStorageError */
    {33, "service"},    /* subunitMotorFailure */
    {36, "service"},    /* subunitOverTemperature */
    {1002, "service"},  /* markerFuserOverTemperature */
    {1004, "service"},  /* markerFuserThermistorFailure */
    {1112, "service"},  /* markerOpcLifeOver: drum at end of life */
    {1101, "supplies"}, /* markerTonerEmpty */
    {1102, "supplies"}, /* markerInkEmpty */
    {1109, "supplies"}, /* markerWasteTonerReceptacleFull */
    {1110, "supplies"}, /* markerWasteInkReceptacleFull */
    {1114, "supplies"}, /* markerDeveloperEmpty */
    {1115, "supplies"}, /* markerTonerCartridgeMissing */
};

static const char *lookup(const code_name *t, size_t n, int32_t code)
{
  for (size_t i = 0; i < n; i++) {
    if (t[i].code == code)
      return t[i].name;
  }
  return NULL;
}

const char *asr_alert_severity_name(int32_t c)
{
  return lookup(severities, COUNT_OF(severities), c);
}

const char *asr_alert_training_name(int32_t c)
{
  return lookup(trainings, COUNT_OF(trainings), c);
}

const char *asr_alert_group_name(int32_t c)
{
  return lookup(groups, COUNT_OF(groups), c);
}

const char *asr_alert_code_name(int32_t c)
{
  return lookup(codes, COUNT_OF(codes), c);
}

static const critical_row *critical_of(const asr_alert *a)
{
  for (size_t i = 0; i < COUNT_OF(criticals); i++) {
    if (criticals[i].code == a->code)
      return &criticals[i];
  }
  return NULL;
}

int64_t asr_alert_persist_seconds(const asr_alert *a)
{
  /* jam, coverOpen, doorOpen: critical only when they persist */
  return a->code == 8 || a->code == 3 || a->code == 501 ? ASR_ALERT_PERSIST_S : 0;
}

int asr_alert_critical(const asr_alert *a)
{
  return critical_of(a) != NULL || (a->severity == 3 && a->training == 5);
}

const char *asr_alert_route(const asr_alert *a)
{
  const critical_row *r = critical_of(a);

  if (r)
    return r->route;
  if (a->group == 11 || a->group == 8) /* markerSupplies, input (paper) */
    return a->group == 11 ? "supplies" : "operator";
  return a->training == 5 ? "service" : "operator";
}

/* FNV-1a 64 over the content that identifies an alert. */
void asr_alert_key(const asr_alert *a, char *out, size_t n)
{
  char head[96];
  uint64_t h = UINT64_C(1469598103934665603);
  const unsigned char *p;

  asr_fmt_cut(head, sizeof(head), "%d/%d/%d/%d/%d/%d/", (int)a->group, (int)a->group_index,
              (int)a->location, (int)a->code, (int)a->severity, (int)a->training);
  for (p = (const unsigned char *)head; *p; p++)
    h = (h ^ *p) * UINT64_C(1099511628211);
  for (p = (const unsigned char *)a->description; *p; p++)
    h = (h ^ *p) * UINT64_C(1099511628211);
  asr_fmt_cut(out, n, "%016llx", (unsigned long long)h);
}

void asr_alert_summary(const asr_alert *a, char *out, size_t n)
{
  const char *sev = asr_alert_severity_name(a->severity);
  const char *code = asr_alert_code_name(a->code);
  const char *grp = asr_alert_group_name(a->group);
  char c[24], g[24];

  asr_fmt_cut(c, sizeof(c), "code %d", (int)a->code);
  asr_fmt_cut(g, sizeof(g), "group %d", (int)a->group);
  asr_fmt_cut(out, n, "%s %s (%s %d)%s%s", sev ? sev : "other", code ? code : c, grp ? grp : g,
              (int)a->group_index, a->description[0] ? ": " : "", a->description);
}

/* ---- reading the table ---------------------------------------------------------- */

/* One answered cell of prtAlertTable. */
typedef struct {
  uint32_t hr, index, col;
  const asr_vb *vb;
} alert_cell;

/* Bounds (docs/meters.md): the cells looked at, and the rows decoded of them. */
#define ALERT_CELLS_LIMIT 80000 /* 10,000 full rows; the cells past it are ignored */

static int cell_cmp(const void *pa, const void *pb)
{
  const alert_cell *a = pa, *b = pb;

  if (a->hr != b->hr)
    return a->hr < b->hr ? -1 : 1;
  if (a->index != b->index)
    return a->index < b->index ? -1 : 1;
  return a->col < b->col ? -1 : a->col > b->col;
}

static int32_t int_of(const asr_vb *vb, int32_t dflt)
{
  if ((vb->type == ASR_VB_INTEGER || vb->type == ASR_VB_UNSIGNED) && vb->num >= INT32_MIN &&
      vb->num <= INT32_MAX)
    return (int32_t)vb->num;
  return dflt;
}

static void set_column(asr_alert *a, uint32_t col, const asr_vb *vb)
{
  switch (col) {
  case COL_SEVERITY:
    a->severity = int_of(vb, 0);
    break;
  case COL_TRAINING:
    a->training = int_of(vb, 0);
    break;
  case COL_GROUP:
    a->group = int_of(vb, 0);
    break;
  case COL_GROUP_INDEX:
    a->group_index = int_of(vb, -1);
    break;
  case COL_LOCATION:
    a->location = int_of(vb, -1);
    break;
  case COL_CODE:
    a->code = int_of(vb, 0);
    break;
  case COL_TIME:
    a->time = vb->type == ASR_VB_UNSIGNED ? (uint32_t)vb->num : 0;
    break;
  case COL_DESCR:
    if (vb->type == ASR_VB_OCTETS)
      asr_charset_decode(vb->bytes, vb->len, 0, a->description, sizeof(a->description));
    break;
  default:
    break;
  }
}

/* The cells under prtAlertEntry, sorted by (hrDeviceIndex, prtAlertIndex, column)
 * whatever order they came in; NULL when there are none (or no memory). */
static alert_cell *collect(const asr_vbset *vbs, size_t *count)
{
  uint32_t p[ASR_OID_MAX];
  size_t plen, first, n, k = 0;
  alert_cell *cells;

  *count = 0;
  if (asr_oid_parse(OID_PRT_ALERT_ENTRY, p, ASR_OID_MAX, &plen) != ASR_OK)
    return NULL;
  n = asr_vbset_subtree(vbs, p, plen, &first);
  if (n > ALERT_CELLS_LIMIT)
    n = ALERT_CELLS_LIMIT;
  cells = n ? malloc(n * sizeof(*cells)) : NULL;
  if (!cells)
    return NULL;
  for (size_t i = first; i < first + n; i++) {
    const asr_vb *vb = asr_vbset_at(vbs, i);

    if (vb->oid_len != plen + 3 || vb->oid[plen] < COL_SEVERITY || vb->oid[plen] > COL_TIME)
      continue;
    cells[k++] = (alert_cell){vb->oid[plen + 1], vb->oid[plen + 2], vb->oid[plen], vb};
  }
  qsort(cells, k, sizeof(*cells), cell_cmp);
  *count = k;
  return cells;
}

/* Critical first, then severity critical, then by index. */
static int alert_cmp(const void *pa, const void *pb)
{
  const asr_alert *a = pa, *b = pb;
  int ca = asr_alert_critical(a), cb = asr_alert_critical(b);

  if (ca != cb)
    return cb - ca;
  if ((a->severity == 3) != (b->severity == 3))
    return a->severity == 3 ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* True when cell i starts a new row (another hrDevice or another index than i - 1). */
static int row_start(const alert_cell *c, size_t i)
{
  return i == 0 || c[i].hr != c[i - 1].hr || c[i].index != c[i - 1].index;
}

/* Rows of hrDevice hr (every row when hr is 0 or owns none): the first ASR_ALERT_ROWS_MAX
 * (by index) decoded into a new array of *count; *total says how many there were. */
static asr_alert *rows_of(const alert_cell *c, size_t nc, uint32_t hr, size_t *count, size_t *total)
{
  asr_alert *rows;
  size_t n = 0, nrows = 0, mine = 0;

  *count = *total = 0;
  for (size_t i = 0; i < nc; i++)
    mine += c[i].hr == hr;
  for (size_t i = 0; i < nc; i++)
    nrows += (mine == 0 || c[i].hr == hr) && row_start(c, i);
  *total = nrows;
  if (nrows > ASR_ALERT_ROWS_MAX)
    nrows = ASR_ALERT_ROWS_MAX;
  rows = nrows ? calloc(nrows, sizeof(*rows)) : NULL;
  if (!rows)
    return NULL;
  for (size_t i = 0; i < nc; i++) {
    if (mine > 0 && c[i].hr != hr)
      continue;
    if (row_start(c, i)) {
      if (n == nrows)
        break;
      rows[n++] = (asr_alert){.index = (int32_t)c[i].index, .group_index = -1, .location = -1};
    }
    set_column(&rows[n - 1], c[i].col, c[i].vb);
  }
  *count = n;
  return rows;
}

void asr_alerts_read(const asr_vbset *vbs, uint32_t hr, asr_device *d)
{
  size_t nc, nr, total;
  alert_cell *cells = collect(vbs, &nc);
  asr_alert *rows = rows_of(cells, nc, hr, &nr, &total);

  /* Called for printers only: an absent table is a table without alerts. */
  d->has_alert_table = true;
  d->n_alerts = 0;
  d->alerts_total = total;
  if (rows)
    qsort(rows, nr, sizeof(*rows), alert_cmp);
  for (size_t i = 0; i < nr && i < ASR_ALERTS_MAX; i++)
    d->alerts[d->n_alerts++] = rows[i];
  free(rows);
  free(cells);
}
