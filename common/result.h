/* result.h: the one result type of asr-agent.
 *
 * Every function that can fail returns an asr_result. Errors of the libraries we
 * use (net-snmp, SQLite, libcurl, OpenSSL) are converted into these codes where they
 * are called; the CLI turns the codes into messages and exit statuses. */
#ifndef ASR_RESULT_H
#define ASR_RESULT_H

typedef enum {
  ASR_OK = 0,
  ASR_ERR_NOMEM,       /* out of memory */
  ASR_ERR_USAGE,       /* bad command line */
  ASR_ERR_TARGET,      /* malformed scan target */
  ASR_ERR_TOO_LARGE,   /* a target or input larger than allowed */
  ASR_ERR_IO,          /* a file could not be read or written */
  ASR_ERR_PARSE,       /* a file or value does not parse */
  ASR_ERR_DB,          /* the database failed */
  ASR_ERR_DB_LOCKED,   /* the database is locked by another process */
  ASR_ERR_DB_VERSION,  /* the database schema is newer than this program */
  ASR_ERR_SNMP,        /* the SNMP library failed */
  ASR_ERR_TIMEOUT,     /* no answer in time */
  ASR_ERR_AUTH,        /* SNMPv3 authentication or privacy failed */
  ASR_ERR_NOT_FOUND,   /* no such device, file or object */
  ASR_ERR_NOT_PRINTER, /* the host answered but is not a printer */
  ASR_ERR_RESOLVE,     /* a host name could not be resolved */
  ASR_ERR_INVALID,     /* a value out of range or of the wrong kind */
  ASR_ERR_SECRET,      /* a secret could not be read, or is stored unsafely */
  ASR_ERR_PROTOCOL,    /* the peer broke the protocol (garbage, bad PDU) */
  ASR_ERR_LIMIT,       /* an internal bound was reached */
  ASR_ERR_DB_CORRUPT,  /* the database file is damaged (malformed, or empty) */
  ASR_ERR_DISK_FULL,   /* no space left on the disk (or quota) of a file we write */
  ASR_RESULT_COUNT
} asr_result;

/* Returns a short English text for a result code; never NULL. */
const char *asr_result_str(asr_result r);

#endif
