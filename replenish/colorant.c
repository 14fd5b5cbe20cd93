/* colorant.c: a supply's colorant as an RFC 3805 standard name (colorant.h).
 *
 * Why a table of words and not a substring search: "black" inside "Photo Black" or
 * "Light Cyan" names another ink, and a one-letter abbreviation ("K", "C") only means a
 * colour when it is the whole name. So the printer's text is reduced to a key (ASCII letters
 * lowered, blanks collapsed, a trailing "toner", "ink" or "cartridge" dropped) and looked up
 * whole. Non-ASCII names are compared byte for byte after the same reduction (their case is
 * left alone: the table holds them as printers send them). */
#include "replenish/colorant.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define KEY_MAX 64 /* longer texts name no colour of the table */

/* The standard names (RFC 3805 PrtMarkerColorantValue's "standard names"). */
static const char *const standard[] = {"black", "cyan", "magenta", "yellow",
                                       "white", "red",  "green",   "blue"};

/* Other names printers use for them: abbreviations and languages. */
static const struct {
  const char *name, *std;
} aliases[] = {
    {"k", "black"},
    {"bk", "black"},
    {"blk", "black"},
    {"schwarz", "black"},
    {"noir", "black"},
    {"nero", "black"},
    {"negro", "black"},
    {"zwart", "black"},
    {"preto", "black"},
    {"czarny", "black"},
    {"svart", "black"},
    {"sort", "black"},
    {"musta", "black"},
    {"fekete", "black"},
    {"\xc4\x8d"
     "ern\xc3\xa1",
     "black"},
    {"\xd1\x87\xd0\xb5\xd1\x80\xd0\xbd\xd1\x8b\xd0\xb9", "black"}, /* "черный" */
    {"\xe9\xbb\x91", "black"},                                     /* "黑" */
    {"\xe9\xbb\x91\xe8\x89\xb2", "black"},                         /* "黑色" */
    {"\xe9\xbb\x92", "black"},                                     /* "黒" */
    {"c", "cyan"},
    {"cy", "cyan"},
    {"cyaan", "cyan"},
    {"cian", "cyan"},
    {"ciano", "cyan"},
    {"zyan", "cyan"},
    {"m", "magenta"},
    {"mg", "magenta"},
    {"mag", "magenta"},
    {"y", "yellow"},
    {"ye", "yellow"},
    {"yl", "yellow"},
    {"gelb", "yellow"},
    {"jaune", "yellow"},
    {"giallo", "yellow"},
    {"amarillo", "yellow"},
    {"geel", "yellow"},
    {"amarelo", "yellow"},
    {"gul", "yellow"},
    {"keltainen", "yellow"},
    {"\xc5\xbc\xc3\xb3\xc5\x82ty", "yellow"},
    {"weiss", "white"},
    {"wei\xc3\x9f", "white"},
    {"blanc", "white"},
    {"rot", "red"},
    {"rouge", "red"},
    {"gr\xc3\xbcn", "green"},
    {"vert", "green"},
    {"blau", "blue"},
    {"bleu", "blue"},
};

/* Words a printer may append to the colour ("Black Toner"): dropped from the end. */
static const char *const fillers[] = {"toner", "ink", "cartridge", "colorant"};

static bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '_' || c == '-';
}

/* Reduces s to its key in out (KEY_MAX): ASCII lowered, blanks collapsed to one space and
 * trimmed. False when it does not fit. */
static bool reduce(const char *s, char *out)
{
  size_t n = 0;
  bool space = false;

  for (; *s; s++) {
    char c = *s;
    if (is_blank(c)) {
      space = n > 0;
      continue;
    }
    if (n + 2 >= KEY_MAX)
      return false;
    if (space)
      out[n++] = ' ';
    space = false;
    out[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
  }
  out[n] = '\0';
  return true;
}

/* Drops one trailing filler word ("black toner" -> "black"). */
static void drop_filler(char *key)
{
  char *sp = strrchr(key, ' ');

  for (size_t i = 0; sp && i < sizeof(fillers) / sizeof(fillers[0]); i++) {
    if (strcmp(sp + 1, fillers[i]) == 0) {
      *sp = '\0';
      return;
    }
  }
}

static const char *lookup(const char *key)
{
  for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++)
    if (strcmp(key, standard[i]) == 0)
      return standard[i];
  for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
    if (strcmp(key, aliases[i].name) == 0)
      return aliases[i].std;
  return NULL;
}

/* The standard name of s (reduced, a filler dropped), or NULL. */
static const char *normalize(const char *s)
{
  char key[KEY_MAX];

  if (!s || !reduce(s, key) || !key[0])
    return NULL;
  drop_filler(key);
  return lookup(key);
}

const char *asr_rp_colorant(const char *std, const char *raw)
{
  char key[KEY_MAX];

  /* the agent's standard name wins when it is one ("other", "unknown": the printer's text) */
  if (std && reduce(std, key)) {
    for (size_t i = 0; i < sizeof(standard) / sizeof(standard[0]); i++)
      if (strcmp(key, standard[i]) == 0)
        return standard[i];
  }
  return normalize(raw);
}
