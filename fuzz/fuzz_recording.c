/* fuzz/fuzz_recording.c: libFuzzer target for what `asr-agent inspect FILE` does.
 *
 * The input bytes are a recording file (snmpwalk -On output or snmprec). They go through
 * the same path as inspect: asr_recording_read() -> asr_printer_build() -> the JSON, table
 * and CSV output. A crash, a sanitizer report, a leak or a broken invariant of
 * fuzz/fuzz_check.h is a bug. Built and run by scripts/fuzz.sh. */
#include "fuzz/fuzz_check.h"

#include <stdint.h>

#include "snmp/printer.h"
#include "snmp/recording.h"

/* A report of the device twice (as discover prints it), in every format: sorting and
 * the list printers run on hostile text too. */
static void check_report(const asr_device *d)
{
  static const char *const extra[] = {"scanned", "254", "note", "x\"y", NULL};
  asr_report *rep = asr_report_new();
  asr_format fmts[] = {ASR_FMT_JSON, ASR_FMT_TABLE, ASR_FMT_CSV};
  FILE *null = fopen("/dev/null", "w");

  if (!rep || !null)
    abort();
  if (asr_report_add_device(rep, d) != ASR_OK || asr_report_add_device(rep, d) != ASR_OK)
    fz_fail("asr_report_add_device", "failed");
  for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
    if (asr_report_print(rep, null, fmts[i], 1, extra) != ASR_OK)
      fz_fail("asr_report_print", "failed");
  }
  fclose(null);
  asr_report_free(rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *err, size_t n)
{
  const char *nul = memchr(err, '\0', n);

  if (!nul || nul == err)
    fz_fail("recording error message", nul ? "empty on failure" : "not NUL-terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int quiet;
  asr_vbset *vbs = NULL;
  asr_device *d;
  char err[256];
  FILE *f;
  asr_result r;

  if (!quiet) {
    fz_quiet();
    quiet = 1;
  }
  if (size == 0)
    return 0; /* fmemopen refuses a zero-sized buffer */
  f = fmemopen((void *)data, size, "r");
  if (!f)
    return 0;
  r = asr_recording_read(f, &vbs, err, sizeof(err));
  fclose(f);
  if (r != ASR_OK) {
    if (vbs)
      fz_fail("asr_recording_read", "failed but returned a set");
    check_message(err, sizeof(err));
    return 0;
  }
  if (!vbs)
    fz_fail("asr_recording_read", "OK without a set");
  fz_check_vbset(vbs);
  d = malloc(sizeof(*d));
  if (!d)
    abort();
  r = asr_printer_build(vbs, "192.0.2.1", d);
  if (r != ASR_OK && r != ASR_ERR_NOT_PRINTER)
    fz_fail("asr_printer_build", asr_result_str(r));
  if ((r == ASR_OK) != d->is_printer)
    fz_fail("asr_printer_build", "result and is_printer disagree");
  fz_check_device(d);
  fz_check_output(d);
  check_report(d);
  free(d);
  asr_vbset_free(vbs);
  return 0;
}
