/*
 * wf - the word filter's normalization (wf_fold.c), shared with its matcher (word-filter.c).
 *
 * Text and words are compared as sequences of folded code points:
 *   - UTF-8 decoded strictly; an invalid byte is U+FFFD (which matches nothing but itself)
 *   - canonical equivalence for precomposed letters of Latin-1, Latin Extended-A/B, Greek,
 *     Cyrillic and Latin Extended Additional (they are decomposed, NFD, so "é" written as
 *     U+00E9 or as "e" + U+0301 is the same word); ignore_accents drops the marks altogether
 *   - compatibility forms NFKC maps: fullwidth ASCII (ＡＢＣ), the ligatures U+FB00-FB06, ß and
 *     ẞ as "ss", Ĳ/ĳ as "ij", the Ohm, Kelvin and Angstrom signs
 *   - simple case folding for ASCII, Latin-1, Latin Extended-A, Greek (final sigma too) and
 *     basic Cyrillic; other letters compare as they are
 *   - invisible format characters ignored (soft hyphen, zero-width space/joiners, word
 *     joiner, BOM, CGJ), so "b\u200Bad" is "bad"; any run of white space (NBSP and the
 *     Unicode spaces included) is one space
 * Not done: full Unicode case folding and normalization (no other scripts' compatibility
 * forms, superscripts, Hangul or CJK normalization); confusables (Cyrillic "а" for Latin "a")
 * are different letters.
 */
#ifndef GG_WF_H
#define GG_WF_H

#include <stddef.h>
#include <stdint.h>

struct wf_unit {
    uint32_t cp;
    size_t start, end; /* the source bytes it came from */
};

struct wf_units {
    struct wf_unit *v;
    size_t n, cap;
};

/* Folds text into u (reusing its memory). 0, or -1 when out of memory. */
int wf_fold(const char *text, size_t n, int no_accents, struct wf_units *u);
/* A letter, digit or combining mark of a script that separates words with spaces. */
int wf_word_char(uint32_t c);

#endif
