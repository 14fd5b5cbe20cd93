/* charset.h: turns the bytes a printer sends into clean, bounded UTF-8.
 *
 * prtLocalizationCharacterSet gives an IANA MIBenum (3 = US-ASCII, 4 = ISO-8859-1,
 * 106 = UTF-8, 1013/1014/1015 = UTF-16BE/LE/UTF-16, 2252 = windows-1252, ...). Unknown or
 * absent charsets are read as UTF-8 with a Latin-1 fallback for invalid sequences.
 * Output is always valid UTF-8: invalid bytes become U+FFFD, control characters are
 * dropped (tab and line breaks become one space), trailing NULs and padding removed,
 * and the result is cut at a character boundary to fit the buffer. */
#ifndef ASR_CHARSET_H
#define ASR_CHARSET_H

#include <stddef.h>
#include <stdint.h>

/* Decodes len bytes in charset mibenum (0 = unknown) into out (size n, >= 1). Returns the
 * length written (excluding the NUL). */
size_t asr_charset_decode(const uint8_t *in, size_t len, int mibenum, char *out, size_t n);

/* Decodes a name the MIB defines in ASCII whatever the localization, such as
 * prtMarkerColorantValue ("black"): UTF-16 when it starts with a byte-order mark or has the
 * NUL bytes of UTF-16 ASCII at every other place (either byte order, as some printers set
 * to UTF-16 send it), else as charset 0 (UTF-8, else Latin-1). Same output rules. */
size_t asr_charset_decode_name(const uint8_t *in, size_t len, char *out, size_t n);

#endif
