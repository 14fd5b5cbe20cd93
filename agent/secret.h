/* secret.h: reads pass phrases from a file or the environment, never from argv.
 *
 * A secrets file holds "name = value" lines (auth = ..., priv = ...), or a single line
 * that is the pass phrase itself. It must not be readable by group or others. */
#ifndef ASR_SECRET_H
#define ASR_SECRET_H

#include <stddef.h>

#include "common/result.h"

/* Reads the value for key ("auth" or "priv") from the file at path into out.
 * ASR_ERR_SECRET (with a message in err) when unreadable, group/world-readable or
 * missing the key; ASR_ERR_NOT_FOUND when the key is absent. */
asr_result asr_secret_from_file(const char *path, const char *key, char *out, size_t n, char *err,
                                size_t errn);

/* Reads an environment variable into out; ASR_ERR_NOT_FOUND when unset or empty. */
asr_result asr_secret_from_env(const char *var, char *out, size_t n);

/* Overwrites a secret buffer with zeros in a way the compiler keeps. */
void asr_secret_wipe(void *p, size_t n);

#endif
