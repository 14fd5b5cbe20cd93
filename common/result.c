#include "common/result.h"

static const char *const result_names[ASR_RESULT_COUNT] = {
    [ASR_OK] = "success",
    [ASR_ERR_NOMEM] = "out of memory",
    [ASR_ERR_USAGE] = "bad command line",
    [ASR_ERR_TARGET] = "malformed target",
    [ASR_ERR_TOO_LARGE] = "too large",
    [ASR_ERR_IO] = "input/output error",
    [ASR_ERR_PARSE] = "parse error",
    [ASR_ERR_DB] = "database error",
    [ASR_ERR_DB_LOCKED] = "database is locked",
    [ASR_ERR_DB_VERSION] = "database schema is newer than this program",
    [ASR_ERR_SNMP] = "SNMP library error",
    [ASR_ERR_TIMEOUT] = "timeout",
    [ASR_ERR_AUTH] = "authentication failure",
    [ASR_ERR_NOT_FOUND] = "not found",
    [ASR_ERR_NOT_PRINTER] = "not a printer",
    [ASR_ERR_RESOLVE] = "host name not resolved",
    [ASR_ERR_INVALID] = "invalid value",
    [ASR_ERR_SECRET] = "secret unreadable or unsafe",
    [ASR_ERR_PROTOCOL] = "protocol error",
    [ASR_ERR_LIMIT] = "limit reached",
    [ASR_ERR_DB_CORRUPT] = "database is damaged",
    [ASR_ERR_DISK_FULL] = "disk full",
};

const char *asr_result_str(asr_result r)
{
  if ((unsigned)r >= ASR_RESULT_COUNT || !result_names[r])
    return "unknown error";
  return result_names[r];
}
