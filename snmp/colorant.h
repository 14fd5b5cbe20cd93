/* colorant.h: the canonical colorant of a supply.
 *
 * RFC 3805 names a colorant in prtMarkerColorantValue with ISO 10175's English words
 * ("black", "cyan", "magenta", "yellow", "red", "green", "blue", "white", "other",
 * "unknown") and lets implementers add their own. Printers send "Black", "BK", "K",
 * "schwarz", "noir", "ブラック"...; a central that must know which supply is the black toner
 * needs one word. asr_colorant_std() maps the printer's text to that word through one table
 * (colorant.c: one row per name, each row tested), and the agent sends both: the printer's
 * own text as "colorant" and the canonical word as "colorant_std" (docs/supplies.md). */
#ifndef ASR_COLORANT_H
#define ASR_COLORANT_H

#include <stddef.h>

/* The canonical colorant of a printer's colorant text: the whole text when it is a known
 * name or abbreviation ("Black", "BK", "K", "Schwarz", "light-cyan"), else the first known
 * name that is a whole word of it ("Black Toner"); case and '-' / '_' do not matter.
 * NULL when it names no colour (also for "other" and "unknown"). The result is one of the
 * table's canonical words: black, cyan, magenta, yellow, light cyan, light magenta, photo
 * black, matte black, gray, light gray, red, green, blue, orange, violet, white, clear. */
const char *asr_colorant_std(const char *text);

/* The canonical colorant named by a whole word of a free text such as a supply description
 * ("Toner (Black)", "Tóner negro"): full names only, never an abbreviation (the "K" of
 * "5K pages" is no colour). NULL when none is. */
const char *asr_colorant_in_text(const char *text);

/* One row of the table, for the tests: a name (lower case) and its canonical word; abbrev
 * rows are matched as the whole text only. */
typedef struct {
  const char *name;
  const char *std;
  int abbrev;
} asr_colorant_row;

/* The table and its length. */
const asr_colorant_row *asr_colorant_table(size_t *n);

#endif
