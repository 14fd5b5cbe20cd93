/* cstore_conf.h: the remote configuration in asr-central's database (issue 17): a
 * site's directives, its version, the audit of each change, and what each agent
 * reported. Part of the store (cstore_conf.c holds these statements; the schema is
 * step 8 of cstore.c). */
#ifndef ASR_CSTORE_CONF_H
#define ASR_CSTORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"

#define CSTORE_CONF_MAX_KEYS 128
#define CSTORE_CONF_VALUE_MAX 2048

/* One stored value: the text of a directive, or a sealed pass phrase. */
typedef struct {
  char key[64];
  char value[CSTORE_CONF_VALUE_MAX];
  bool sealed;
} cstore_conf_value;

/* A site's configuration. */
typedef struct {
  int64_t site_id;
  int64_t version; /* 0: never set */
  int64_t changed_at;
  size_t n;
  cstore_conf_value v[CSTORE_CONF_MAX_KEYS];
} cstore_conf;

/* One change: value NULL removes the key. shown is what the audit keeps of old and new
 * ("(set)" for a secret); old_shown is filled by cstore_conf_change. */
typedef struct {
  const char *key, *value;
  bool sealed;
} cstore_conf_change_t;

/* The id of a site by name: ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_conf_site(cstore *st, const char *name, int64_t *site_id);

/* Reads a site's configuration (empty, version 0, when never set). */
asr_result cstore_conf_get(cstore *st, int64_t site_id, cstore_conf *out);

/* Applies changes in one transaction: each key set or removed and audited (who, now, old
 * and new; a sealed value audited as "(set)"), the version raised by one. *version gets
 * the new version. */
asr_result cstore_conf_change(cstore *st, int64_t site_id, const cstore_conf_change_t *ch, size_t n,
                              const char *who, int64_t now, int64_t *version);

/* One audit row. */
typedef struct {
  int64_t version, at;
  const char *key, *old, *new_, *who; /* old/new_ NULL: not set */
} cstore_conf_audit;

typedef int (*cstore_conf_audit_cb)(const cstore_conf_audit *a, void *ctx);

/* The audit of a site, oldest first; a non-zero callback return stops. */
asr_result cstore_conf_history(cstore *st, int64_t site_id, cstore_conf_audit_cb cb, void *ctx);

/* What an agent reported at a check-in. */
typedef struct {
  const char *agent_id, *hostname, *error;
  int64_t applied, error_version, checked_at;
} cstore_conf_agent;

typedef int (*cstore_conf_agent_cb)(const cstore_conf_agent *a, void *ctx);

asr_result cstore_conf_agent_report(cstore *st, const char *agent_id, int64_t applied,
                                    const char *error, int64_t error_version, int64_t now);

/* Each agent of the site (those that never checked in too: applied 0, checked_at 0). */
asr_result cstore_conf_agents(cstore *st, int64_t site_id, cstore_conf_agent_cb cb, void *ctx);

#endif
