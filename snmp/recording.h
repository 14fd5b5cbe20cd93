/* recording.h: reads a recorded printer into an asr_vbset.
 *
 * Two formats, detected from the content:
 *  - `snmpwalk -On` output: ".1.3.6...= STRING: "text"", "INTEGER: 5", "Hex-STRING: 00 1A",
 *    "OID: .1.3...", "Counter32: 7", "Timeticks: (123) 0:00:01.23", multi-line strings;
 *  - snmprec (snmpsim): "OID|TAG|VALUE", tag 2 integer, 4 string, 4x hex string,
 *    6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64,
 *    with snmpsim variation suffixes (":numeric" ...) read as their initial value.
 * A line that does not parse fails the whole file with its line number. */
#ifndef ASR_RECORDING_H
#define ASR_RECORDING_H

#include <stdio.h>

#include "common/result.h"
#include "snmp/vbset.h"

/* Parses the file at path into a new finished vbset (*out). On a parse error returns
 * ASR_ERR_PARSE and writes "PATH: line N: what" into err (size n); ASR_ERR_IO when the file
 * cannot be read ("PATH: why"). The message always names the file once. */
asr_result asr_recording_load(const char *path, asr_vbset **out, char *err, size_t n);

/* Same, from an open stream. */
asr_result asr_recording_read(FILE *f, asr_vbset **out, char *err, size_t n);

#endif
