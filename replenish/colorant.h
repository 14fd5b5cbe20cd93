/* colorant.h: the colour of a supply as the rules understand it (docs/replenishment.md).
 *
 * Printers name their colorants in their own words (RFC 3805 prtMarkerColorantValue is free
 * text): "black", "Black", "BK", "K", "schwarz", "noir"... The agent reports the RFC 3805
 * standard name it made of it (colorant_std, when it knows) beside the printer's own text;
 * the central decides on the standard name: the agent's when it is one, else the printer's
 * text normalized here. Pure C11, no allocation. */
#ifndef ASR_REPLENISH_COLORANT_H
#define ASR_REPLENISH_COLORANT_H

/* The RFC 3805 standard colorant name ("black", "cyan", "magenta", "yellow", "white", "red",
 * "green", "blue") of a supply: std when it is one of them (any case), else the printer's own
 * text raw normalized (case, surrounding blanks, a trailing "toner"/"ink", the usual
 * abbreviations and localized names); NULL when neither names one of them. The result is a
 * static string. */
const char *asr_rp_colorant(const char *std, const char *raw);

#endif
