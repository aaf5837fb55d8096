/*
 * wf_fold - the word filter's text normalization: UTF-8 in, a sequence of folded code points
 * out, each remembering the bytes it came from (so a match maps back to bytes to redact).
 * Words and text go through the same folding, so they compare equal when a reader would call
 * them the same word. Exactly what is folded is listed in word-filter.h.
 */
#include "wf.h"

#include <stdlib.h>
#include <string.h>

#include "decomp.h"

/* Decodes one UTF-8 sequence at s[i] (strict: no overlongs, surrogates or values past
 * U+10FFFF); an invalid byte reads as U+FFFD, one byte long. */
static uint32_t decode(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    unsigned c = s[i];
    size_t need;
    uint32_t cp, min;
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07, min = 0x10000;
    else
        goto bad;
    if (n - i <= need)
        goto bad;
    for (size_t k = 1; k <= need; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        goto bad;
    *len = need + 1;
    return cp;
bad:
    *len = 1;
    return 0xFFFD;
}

static int ignorable(uint32_t c)
{
    return c == 0x00AD || c == 0x034F || c == 0x180E || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF;
}

static int blank(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static int is_mark(uint32_t c)
{
    return c >= 0x0300 && c <= 0x036F;
}

static uint32_t case_fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xC0)
        return c;
    if (c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x178)
            return 0xFF;
        if (c == 0x17F)
            return 's';
        if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
            return c | 1;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return (c & 1) ? c + 1 : c;
        return c;
    }
    if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB))
        return c + 32;
    if (c == 0x3C2) /* final sigma */
        return 0x3C3;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    return c;
}

int wf_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    return (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || is_mark(c) ||
           (c >= 0x370 && c <= 0x3FF) || (c >= 0x400 && c <= 0x4FF) || (c >= 0x1E00 && c <= 0x1EFF);
}

static int push(struct wf_units *u, uint32_t cp, size_t start, size_t end)
{
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        struct wf_unit *v = realloc(u->v, cap * sizeof *v);
        if (!v)
            return -1;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n++] = (struct wf_unit){cp, start, end};
    return 0;
}

static int decomposed(uint32_t c, uint32_t out[3])
{
    size_t lo = 0, hi = sizeof decomp / sizeof decomp[0];
    if (c < 0xC0 || c > 0x1EFF)
        return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (decomp[mid].cp < c)
            lo = mid + 1;
        else if (decomp[mid].cp > c)
            hi = mid;
        else {
            out[0] = decomp[mid].base;
            out[1] = decomp[mid].mark[0];
            out[2] = decomp[mid].mark[1];
            return 1;
        }
    }
    return 0;
}

/* One code point (already mapped for compatibility) into units. */
static int emit(struct wf_units *u, uint32_t c, size_t st, size_t en, int no_accents)
{
    uint32_t d[3];
    if (decomposed(c, d)) {
        if (push(u, case_fold(d[0]), st, en))
            return -1;
        for (int k = 1; k < 3 && d[k]; k++)
            if (!no_accents && push(u, d[k], st, en))
                return -1;
        return 0;
    }
    if (is_mark(c) && no_accents)
        return 0;
    return push(u, case_fold(c), st, en);
}

int wf_fold(const char *text, size_t n, int no_accents, struct wf_units *u)
{
    const unsigned char *s = (const unsigned char *)text;
    u->n = 0;
    for (size_t i = 0; i < n;) {
        size_t len, st = i;
        uint32_t c = decode(s, n, i, &len);
        i += len;
        if (ignorable(c))
            continue;
        if (blank(c)) {
            if (u->n && u->v[u->n - 1].cp == ' ') {
                u->v[u->n - 1].end = i; /* a run of blanks is one space */
                continue;
            }
            if (push(u, ' ', st, i))
                return -1;
            continue;
        }
        /* Compatibility forms NFKC would map: fullwidth ASCII, ligatures, sharp s, signs. */
        static const char *const lig[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
        const char *many = NULL;
        if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
        else if (c >= 0xFB00 && c <= 0xFB06)
            many = lig[c - 0xFB00];
        else if (c == 0xDF || c == 0x1E9E)
            many = "ss";
        else if (c == 0x132 || c == 0x133)
            many = "ij";
        else if (c == 0x2126)
            c = 0x3C9;
        else if (c == 0x212A)
            c = 'k';
        else if (c == 0x212B)
            c = 0xE5;
        if (many) {
            for (; *many; many++)
                if (push(u, (uint32_t)*many, st, i))
                    return -1;
            continue;
        }
        if (emit(u, c, st, i, no_accents))
            return -1;
    }
    return 0;
}
