/* printer.c: the Printer-MIB model (being written). */
#include "snmp/printer.h"

/* The probe: one GET that every SNMP agent answers. */
const asr_oid_row asr_printer_probe[] = {
    {"sysDescr.0", "1.3.6.1.2.1.1.1.0"},
    {"sysObjectID.0", "1.3.6.1.2.1.1.2.0"},
    {"sysName.0", "1.3.6.1.2.1.1.5.0"},
    {NULL, NULL},
};

/* The columns walked side by side for a printer. */
const asr_oid_row asr_printer_walks[] = {
    {"hrDeviceType", "1.3.6.1.2.1.25.3.2.1.2"},
    {"hrDeviceDescr", "1.3.6.1.2.1.25.3.2.1.3"},
    {"hrPrinterStatus", "1.3.6.1.2.1.25.3.5.1.1"},
    {"hrPrinterDetectedErrorState", "1.3.6.1.2.1.25.3.5.1.2"},
    {"ifPhysAddress", "1.3.6.1.2.1.2.2.1.6"},
    {"ipAdEntIfIndex", "1.3.6.1.2.1.4.20.1.2"},
    {"prtGeneralSerialNumber", "1.3.6.1.2.1.43.5.1.1.17"},
    {"prtLocalizationCharacterSet", "1.3.6.1.2.1.43.7.1.1.4"},
    {"prtMarkerLifeCount", "1.3.6.1.2.1.43.10.2.1.4"},
    {"prtMarkerSuppliesEntry", "1.3.6.1.2.1.43.11.1.1"},
    {"prtMarkerColorantValue", "1.3.6.1.2.1.43.12.1.1.4"},
    {"entPhysicalSerialNum", "1.3.6.1.2.1.47.1.1.1.1.11"},
    {NULL, NULL},
};

size_t asr_printer_extra_gets(const asr_vbset *vbs, const char **oids, size_t max)
{
  (void)vbs;
  (void)oids;
  (void)max;
  return 0;
}

int asr_printer_is_printer(const asr_vbset *vbs)
{
  (void)vbs;
  return 0;
}

asr_result asr_printer_build(const asr_vbset *vbs, const char *ip, asr_device *out)
{
  (void)vbs;
  (void)ip;
  asr_device_init(out);
  return ASR_ERR_NOT_PRINTER;
}
