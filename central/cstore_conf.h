/* cstore_conf.h: the remote configuration in asr-central's database (issue 17): a
 * site's directives, those of one of its agents (layered over the site's), the version,
 * the audit of each change, and what each agent reported. Part of the store
 * (cstore_conf.c holds these statements; the schema is steps 8 and 11 of cstore.c).
 *
 * One version per site: a change of the site's values or of one of its agents' raises it
 * by one, so the version an agent receives never goes back whichever of the two changed. */
#ifndef ASR_CSTORE_CONF_H
#define ASR_CSTORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/cstore.h"
#include "common/result.h"
#include "wire/seal.h"

#define CSTORE_CONF_MAX_KEYS 128
#define CSTORE_CONF_VALUE_MAX ASR_SEAL_TEXT_MAX /* a value as stored: text or sealed */

/* Schema step 11: the per-agent values and their audit; the communities of the step-8
 * audit masked (they were kept in clear). Idempotent. */
extern const char cstore_conf_schema_11[];

/* One stored value: the text of a directive, or a sealed secret (a pass phrase or a
 * community list: asr_conf_remote_sealed). */
typedef struct {
  char key[64];
  char value[CSTORE_CONF_VALUE_MAX];
  bool sealed;
} cstore_conf_value;

/* A site's configuration, or the own values of one of its agents. */
typedef struct {
  int64_t site_id;
  int64_t version; /* the site's: 0 when never set */
  int64_t changed_at;
  size_t n;
  cstore_conf_value v[CSTORE_CONF_MAX_KEYS];
} cstore_conf;

/* One change: value NULL removes the key; sealed says the value is a sealed text (the
 * audit then shows "(set)"). */
typedef struct {
  const char *key, *value;
  bool sealed;
} cstore_conf_change_t;

/* The id of a site by name: ASR_ERR_NOT_FOUND when there is none. */
asr_result cstore_conf_site(cstore *st, const char *name, int64_t *site_id);

/* Reads a site's configuration (empty, version 0, when never set). */
asr_result cstore_conf_get(cstore *st, int64_t site_id, cstore_conf *out);

/* Reads the own values of agent_id, of site site_id (empty when none), with the site's
 * version. */
asr_result cstore_conf_get_agent(cstore *st, int64_t site_id, const char *agent_id,
                                 cstore_conf *out);

/* Applies changes in one transaction to the site's values (agent_id NULL) or to those of
 * one of its agents: each key set or removed and audited (who, now, old and new; a
 * sealed value or a key of asr_conf_remote_sealed audited as "(set)"), the site's version
 * raised by one. base is the version the changes were checked against: when another
 * change came in between, nothing changes and ASR_ERR_DB_LOCKED says so (base -1: no
 * such check). *version gets the new version. */
asr_result cstore_conf_change(cstore *st, int64_t site_id, const char *agent_id,
                              const cstore_conf_change_t *ch, size_t n, const char *who,
                              int64_t now, int64_t base, int64_t *version);

/* Replaces a value kept in clear by its sealed text, without a new version or audit row
 * (a database of schema 8 kept the communities in clear). */
asr_result cstore_conf_reseal(cstore *st, int64_t site_id, const char *key, const char *sealed);

/* The sites that keep in clear a value that must be sealed (asr_conf_remote_sealed). */
asr_result cstore_conf_clear_sites(cstore *st, int64_t *ids, size_t max, size_t *n);

/* Whether any value of any site or agent is sealed (the key of the secrets is in use). */
asr_result cstore_conf_any_sealed(cstore *st, bool *any);

/* One audit row. */
typedef struct {
  int64_t version, at;
  const char *key, *old, *new_, *who; /* old/new_ NULL: not set */
  const char *agent;                  /* the agent whose own value changed, NULL: the site's */
} cstore_conf_audit;

typedef int (*cstore_conf_audit_cb)(const cstore_conf_audit *a, void *ctx);

/* The audit of a site (its own changes and its agents'; with agent_id, the site's and
 * that agent's only), oldest first; a non-zero callback return stops. */
asr_result cstore_conf_history(cstore *st, int64_t site_id, const char *agent_id,
                               cstore_conf_audit_cb cb, void *ctx);

/* What an agent reported at a check-in. */
typedef struct {
  const char *agent_id, *hostname, *error;
  int64_t applied, error_version, checked_at;
  int64_t own; /* how many values of its own it has */
} cstore_conf_agent;

typedef int (*cstore_conf_agent_cb)(const cstore_conf_agent *a, void *ctx);

asr_result cstore_conf_agent_report(cstore *st, const char *agent_id, int64_t applied,
                                    const char *error, int64_t error_version, int64_t now);

/* Each agent of the site that is not revoked (those that never checked in too: applied
 * 0, checked_at 0); with agent_id, that agent only (revoked or not). */
asr_result cstore_conf_agents(cstore *st, int64_t site_id, const char *agent_id,
                              cstore_conf_agent_cb cb, void *ctx);

#endif
