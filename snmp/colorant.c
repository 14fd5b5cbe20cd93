/* snmp/colorant.c: printer colorant text -> one canonical word (colorant.h).
 *
 * The table holds the names printers use: RFC 3805's English words, the abbreviations of
 * cartridge labels (K, BK, C, LC, PK...), and the words of the languages printers are set
 * to. A text is first compared whole (after lower-casing, '-' and '_' as spaces, blanks
 * collapsed), then searched for a whole word of a full name, in table order: the names of
 * two words come first, so "light cyan" wins over "cyan". Abbreviations are never searched
 * inside a text: "Toner K" is not black, "5K pages" even less. */
#include "snmp/colorant.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/text.h"

#define ABBR 1

static const asr_colorant_row table[] = {
    /* two words first: they must win over their last word */
    {"light cyan", "light cyan", 0},
    {"photo cyan", "light cyan", 0}, /* Epson's name for its light cyan */
    {"light magenta", "light magenta", 0},
    {"vivid light magenta", "light magenta", 0},
    {"photo magenta", "light magenta", 0},
    {"photo black", "photo black", 0},
    {"matte black", "matte black", 0},
    {"matt black", "matte black", 0},
    {"light light black", "light gray", 0}, /* Epson LLK: a light gray ink */
    {"light black", "gray", 0},             /* Epson LK: a gray ink */
    {"light gray", "light gray", 0},
    {"light grey", "light gray", 0},
    /* black */
    {"black", "black", 0},
    {"schwarz", "black", 0},  /* de */
    {"noir", "black", 0},     /* fr */
    {"nero", "black", 0},     /* it */
    {"negro", "black", 0},    /* es */
    {"preto", "black", 0},    /* pt */
    {"zwart", "black", 0},    /* nl */
    {"svart", "black", 0},    /* sv, no */
    {"sort", "black", 0},     /* da */
    {"musta", "black", 0},    /* fi */
    {"czarny", "black", 0},   /* pl */
    {"černá", "black", 0},    /* cs */
    {"cerna", "black", 0},    /* cs, without diacritics */
    {"fekete", "black", 0},   /* hu */
    {"negru", "black", 0},    /* ro */
    {"siyah", "black", 0},    /* tr */
    {"μαύρο", "black", 0},    /* el */
    {"черный", "black", 0},   /* ru */
    {"чёрный", "black", 0},   /* ru */
    {"чорний", "black", 0},   /* uk */
    {"ブラック", "black", 0}, /* ja */
    {"黒", "black", 0},       /* ja */
    {"黑色", "black", 0},     /* zh */
    {"黑", "black", 0},       /* zh */
    {"검정", "black", 0},     /* ko */
    {"k", "black", ABBR},     /* CMYK's key */
    {"bk", "black", ABBR},
    {"blk", "black", ABBR},
    {"pk", "photo black", ABBR},
    {"pbk", "photo black", ABBR},
    {"mk", "matte black", ABBR},
    {"mbk", "matte black", ABBR},
    /* cyan */
    {"cyan", "cyan", 0},
    {"cyaan", "cyan", 0},   /* nl */
    {"cian", "cyan", 0},    /* es */
    {"ciano", "cyan", 0},   /* it, pt */
    {"cyjan", "cyan", 0},   /* pl */
    {"azurová", "cyan", 0}, /* cs */
    {"cián", "cyan", 0},    /* hu */
    {"голубой", "cyan", 0}, /* ru */
    {"циан", "cyan", 0},    /* ru */
    {"シアン", "cyan", 0},  /* ja */
    {"青色", "cyan", 0},    /* zh */
    {"시안", "cyan", 0},    /* ko */
    {"c", "cyan", ABBR},
    {"cy", "cyan", ABBR},
    {"lc", "light cyan", ABBR},
    /* magenta */
    {"magenta", "magenta", 0},   /* most languages */
    {"purpurowy", "magenta", 0}, /* pl */
    {"purpurová", "magenta", 0}, /* cs */
    {"bíbor", "magenta", 0},     /* hu */
    {"пурпурный", "magenta", 0}, /* ru */
    {"маджента", "magenta", 0},  /* ru */
    {"マゼンタ", "magenta", 0},  /* ja */
    {"品红", "magenta", 0},      /* zh */
    {"洋红", "magenta", 0},      /* zh */
    {"마젠타", "magenta", 0},    /* ko */
    {"m", "magenta", ABBR},
    {"mg", "magenta", ABBR},
    {"lm", "light magenta", ABBR},
    /* yellow */
    {"yellow", "yellow", 0},
    {"gelb", "yellow", 0},      /* de */
    {"jaune", "yellow", 0},     /* fr */
    {"giallo", "yellow", 0},    /* it */
    {"amarillo", "yellow", 0},  /* es */
    {"amarelo", "yellow", 0},   /* pt */
    {"geel", "yellow", 0},      /* nl */
    {"gul", "yellow", 0},       /* sv, da, no */
    {"keltainen", "yellow", 0}, /* fi */
    {"żółty", "yellow", 0},     /* pl */
    {"žlutá", "yellow", 0},     /* cs */
    {"sárga", "yellow", 0},     /* hu */
    {"galben", "yellow", 0},    /* ro */
    {"sarı", "yellow", 0},      /* tr */
    {"κίτρινο", "yellow", 0},   /* el */
    {"желтый", "yellow", 0},    /* ru */
    {"жёлтый", "yellow", 0},    /* ru */
    {"жовтий", "yellow", 0},    /* uk */
    {"イエロー", "yellow", 0},  /* ja */
    {"黄色", "yellow", 0},      /* zh */
    {"노랑", "yellow", 0},      /* ko */
    {"y", "yellow", ABBR},
    {"ye", "yellow", ABBR},
    {"yl", "yellow", ABBR},
    {"yel", "yellow", ABBR},
    /* the other colours of RFC 3805's list and of the inkjets */
    {"gray", "gray", 0},
    {"grey", "gray", 0},
    {"grau", "gray", 0},   /* de */
    {"gris", "gray", 0},   /* fr, es */
    {"grigio", "gray", 0}, /* it */
    {"gy", "gray", ABBR},
    {"red", "red", 0},
    {"rot", "red", 0},   /* de */
    {"rouge", "red", 0}, /* fr */
    {"rosso", "red", 0}, /* it */
    {"rojo", "red", 0},  /* es */
    {"green", "green", 0},
    {"grün", "green", 0},  /* de */
    {"vert", "green", 0},  /* fr */
    {"verde", "green", 0}, /* it, es, pt */
    {"blue", "blue", 0},
    {"blau", "blue", 0}, /* de */
    {"bleu", "blue", 0}, /* fr */
    {"azul", "blue", 0}, /* es, pt */
    {"orange", "orange", 0},
    {"violet", "violet", 0},
    {"white", "white", 0},
    {"weiß", "white", 0},   /* de */
    {"weiss", "white", 0},  /* de (ch) */
    {"blanc", "white", 0},  /* fr */
    {"bianco", "white", 0}, /* it */
    {"blanco", "white", 0}, /* es */
    {"clear", "clear", 0},  /* clear toner */
    {"transparent", "clear", 0},
};

#define NAME_MAX_BYTES 256 /* longer texts are cut: colorants and descriptions are shorter */

const asr_colorant_row *asr_colorant_table(size_t *n)
{
  *n = sizeof(table) / sizeof(table[0]);
  return table;
}

/* ---- folding ---- */

/* The lower-case form of the code points of upper-case letters printers use: ASCII,
 * Latin-1, Latin Extended-A (pairs), Greek and Cyrillic. Others as they are. */
static uint32_t fold(uint32_t c)
{
  if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
      (c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F))
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40F)
    return c + 0x50;
  if (((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && c % 2 == 0)
    return c + 1;
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && c % 2 == 1)
    return c + 1;
  return c;
}

/* text -> out: letters folded, '-' '_' and blanks as one space, none at the ends. Bytes
 * of longer characters (CJK) are copied as they are. */
static void normalize(const char *text, char *out, size_t n)
{
  const unsigned char *p = (const unsigned char *)text;
  size_t o = 0, len;
  bool space = false;

  while (*p && o + 5 < n) {
    uint32_t c = *p;

    len = asr_utf8_decode(p, 4, &c); /* a malformed byte is copied as it is */
    p += len ? len : 1;
    if (c == ' ' || c == '\t' || c == '-' || c == '_') {
      space = o > 0;
      continue;
    }
    if (space)
      out[o++] = ' ';
    space = false;
    if (len == 2) {
      o += asr_utf8_encode(fold(c), (unsigned char *)out + o); /* folding keeps them 2 bytes */
    } else if (len > 2) {
      memcpy(out + o, p - len, len);
      o += len;
    } else {
      out[o++] = (char)(c < 0x80 ? fold(c) : c);
    }
  }
  out[o] = '\0';
}

/* ---- matching ---- */

static bool is_letter(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* True when word occurs in s as a whole word (both normalized). */
static bool has_word(const char *s, const char *word)
{
  size_t wl = strlen(word);

  for (const char *p = strstr(s, word); p; p = strstr(p + 1, word)) {
    bool start = p == s || !is_letter((unsigned char)p[-1]);

    if (start && !is_letter((unsigned char)p[wl]))
      return true;
  }
  return false;
}

static const char *search_words(const char *norm)
{
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (!table[i].abbrev && has_word(norm, table[i].name))
      return table[i].std;
  }
  return NULL;
}

const char *asr_colorant_std(const char *text)
{
  char norm[NAME_MAX_BYTES];

  if (!text || !*text)
    return NULL;
  normalize(text, norm, sizeof(norm));
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (strcmp(norm, table[i].name) == 0)
      return table[i].std;
  }
  return search_words(norm);
}

const char *asr_colorant_in_text(const char *text)
{
  char norm[NAME_MAX_BYTES];

  if (!text || !*text)
    return NULL;
  normalize(text, norm, sizeof(norm));
  return search_words(norm);
}
