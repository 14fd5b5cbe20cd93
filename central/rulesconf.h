/* rulesconf.h: the numbers of the replenishment rules from a file (asr-central --rules).
 *
 * A file of "name = value" lines ('#' starts a comment); the names are the members of
 * asr_rp_conf and of its forecast (asr_rp_forecast_conf), without the "forecast." prefix,
 * and "trigger_days.TYPE" for the trigger of one supply type (an RFC 3805 type name,
 * asr_rp_conf.overrides); docs/replenishment.md lists them with defaults and ranges. The
 * same file holds the alert mail settings (docs/meters.md, "Alert mails").
 * Values are range-checked one by one, then the whole set with asr_rp_conf_check; an
 * error says "FILE:LINE: what is wrong" and leaves the caller's conf untouched. */
#ifndef ASR_CENTRAL_RULESCONF_H
#define ASR_CENTRAL_RULESCONF_H

#include <stddef.h>

#include "central/calertmail.h"
#include "common/result.h"
#include "replenish/rules.h"

/* Sets one rule name to value in c ("trigger_days.TYPE" adds or replaces that type's
 * trigger). ASR_ERR_INVALID (err says why) on an unknown name or type, a value out of
 * range, or a type that is never ordered. */
asr_result crules_set(asr_rp_conf *c, const char *name, const char *value, char *err, size_t n);

/* Applies the file path on top of *c (all of it or nothing). ASR_ERR_IO when it cannot be
 * read, ASR_ERR_INVALID with "path:line: ..." in err otherwise. The alert mail settings of
 * the file are checked, not kept. */
asr_result crules_load(const char *path, asr_rp_conf *c, char *err, size_t n);

/* crules_load, keeping the alert mail settings ("alert_mail.GROUP", "alert_service_address",
 * "alert_mails_per_day": central/calertmail.h) in *alerts (all of the file or nothing). */
asr_result crules_load_all(const char *path, asr_rp_conf *c, calert_conf *alerts, char *err,
                           size_t n);

#endif
