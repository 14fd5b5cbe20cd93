/* secret.h: reads pass phrases from a file or the environment, never from argv.
 *
 * A pass-phrase file holds the pass phrase on its first line (a trailing newline and
 * carriage return are removed), or both pass phrases as "auth = ..." and "priv = ..."
 * lines (spaces around '=' are ignored, the value runs to the end of the line). It must
 * be a regular file that group and others cannot read (mode 0600 or stricter), like ssh
 * keys. */
#ifndef ASR_SECRET_H
#define ASR_SECRET_H

#include <stddef.h>

#include "common/result.h"

/* Reads the pass phrase for key ("auth" or "priv") in the file at path into out (size n).
 * ASR_ERR_SECRET with a message in err naming the file when it is unreadable, readable by
 * group or others, empty, keyed without a line for key, or longer than n - 1 bytes. */
asr_result asr_secret_from_file(const char *path, const char *key, char *out, size_t n, char *err,
                                size_t errn);

/* Reads an environment variable into out; ASR_ERR_NOT_FOUND when unset or empty,
 * ASR_ERR_SECRET when longer than n - 1 bytes. */
asr_result asr_secret_from_env(const char *var, char *out, size_t n);

#endif
