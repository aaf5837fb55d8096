/*
 * pii_detect - the pii guard's detectors. Each looks for one kind of identifier starting at a
 * given byte and says: a match (with its end), a partial one (the text ended while it could
 * still become one: the caller holds it back), or nothing. What counts as each kind is
 * documented in pii.h; the rules lean towards shapes people actually write, with checksums
 * where the kind has one (card: Luhn, IBAN: ISO 7064 mod 97-10) so ordinary numbers pass.
 */
#include "pii.h"

#include <arpa/inet.h>
#include <string.h>

#define NONE 0
#define MATCH 1
#define PARTIAL 2

static int digit(int c)
{
    return c >= '0' && c <= '9';
}

static int alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int alnum(int c)
{
    return digit(c) || alpha(c);
}

static int hexd(int c)
{
    return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int at(const char *s, size_t n, size_t i)
{
    return i < n ? (unsigned char)s[i] : -1;
}

/* The byte before i, or -1 at the start of the subject. */
static int prev(const char *s, size_t i)
{
    return i ? (unsigned char)s[i - 1] : -1;
}

/* ---- payment card --------------------------------------------------------------------------- */

static int luhn(const char *d, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n; k++) {
        int v = d[n - 1 - k] - '0';
        if (k & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* Whether a number of nd digits starting d[] has the length its network issues (the IIN ranges
 * of the major networks; anything else is not taken for a card). */
static int card_network(const char *d, size_t nd)
{
    int p2 = (d[0] - '0') * 10 + (d[1] - '0');
    int p3 = p2 * 10 + (d[2] - '0'), p4 = p3 * 10 + (d[3] - '0');
    if (d[0] == '4') /* Visa */
        return nd == 13 || nd == 16 || nd == 19;
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
        return nd == 16;
    if (p2 == 34 || p2 == 37) /* American Express */
        return nd == 15;
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) /* Diners */
        return nd >= 14 && nd <= 19;
    if ((p4 >= 3528 && p4 <= 3589) || p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||
        p2 == 62 || (p4 >= 2200 && p4 <= 2204)) /* JCB, Discover, UnionPay, Mir */
        return nd >= 16 && nd <= 19;
    if (p2 == 50 || (p2 >= 56 && p2 <= 58) || p2 == 60 || p2 == 63 || p2 == 67) /* Maestro */
        return nd >= 13 && nd <= 19;
    return 0;
}

/* 13-19 digits of a known network's prefix and length, Luhn-valid, optionally split by single
 * spaces or hyphens. The longest valid candidate ending at a group boundary wins, so
 * "4111 1111 1111 1111 2024" still finds the card before the year. */
int gg_pii_card(const char *s, size_t n, size_t i, int final, size_t *end)
{
    char d[20];
    size_t nd = 0, k = i, best = 0, ends[20];
    int c = at(s, n, i);
    if (!digit(c) || c < '2' || c > '6' || alnum(prev(s, i)))
        return NONE;
    for (;;) {
        c = at(s, n, k);
        if (digit(c)) {
            if (nd == 19)
                break; /* a 20th digit: judge what we have at its group boundaries */
            d[nd] = (char)c;
            ends[nd++] = ++k;
            continue;
        }
        if (c < 0 && !final)
            return PARTIAL;
        if ((c == ' ' || c == '-') && digit(at(s, n, k + 1)))
            k++;
        else if ((c == ' ' || c == '-') && k + 1 >= n && !final)
            return PARTIAL;
        else
            break;
    }
    /* The candidate must end at a boundary: not followed by a digit or a letter directly. */
    for (size_t m = nd; m >= 13; m--) {
        int after = at(s, n, ends[m - 1]);
        if (digit(after) || alpha(after))
            continue;
        if (card_network(d, m) && luhn(d, m)) {
            best = ends[m - 1];
            break;
        }
    }
    if (!best)
        return NONE;
    *end = best;
    return MATCH;
}

/* ---- US social security number ----------------------------------------------------------------
 */

/* ddd-dd-dddd or ddd dd dddd; area 001-899 but 666, group 01-99, serial 0001-9999. */
int gg_pii_ssn(const char *s, size_t n, size_t i, int final, size_t *end)
{
    static const char shape[] = "ddd-dd-dddd";
    char sep = 0;
    if (!digit(at(s, n, i)) || alnum(prev(s, i)))
        return NONE;
    for (size_t k = 0; k < sizeof shape - 1; k++) {
        int c = at(s, n, i + k);
        if (c < 0)
            return final ? NONE : PARTIAL;
        if (shape[k] == 'd' ? !digit(c) : !(c == '-' || c == ' ') || (sep && c != sep))
            return NONE;
        if (shape[k] == '-')
            sep = (char)c;
    }
    int after = at(s, n, i + 11);
    if (after < 0 && !final)
        return PARTIAL;
    if (alnum(after))
        return NONE;
    const char *p = s + i;
    int area = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    if (area == 0 || area == 666 || area >= 900 || (p[4] == '0' && p[5] == '0') ||
        !memcmp(p + 7, "0000", 4))
        return NONE;
    *end = i + 11;
    return MATCH;
}

/* ---- phone numbers ----------------------------------------------------------------------------
 */

/* International: '+', then 8-15 digits in groups split by single spaces, hyphens, dots or a
 * parenthesized group ("+44 20 7946 0958", "+1 (555) 010-4477"). North American without '+':
 * "(555) 010-4477", "555-010-4477", "555.010.4477", "555 010 4477", optionally led by "1-" or
 * "1 ". A bare run of digits is never a phone number (too many ordinary numbers are). */
int gg_pii_phone(const char *s, size_t n, size_t i, int final, size_t *end)
{
    int c = at(s, n, i);
    int p = prev(s, i);
    if (alnum(p) || p == '+')
        return NONE;
    if (c == '+') {
        size_t k = i + 1, nd = 0, last = 0;
        int paren = 0;
        if (!digit(at(s, n, k)))
            return at(s, n, k) < 0 && !final ? PARTIAL : NONE;
        for (;;) {
            c = at(s, n, k);
            int pc = prev(s, k), nx = at(s, n, k + 1);
            if (c < 0) {
                if (!final)
                    return PARTIAL;
                break;
            }
            if (digit(c)) {
                if (++nd > 15)
                    return NONE;
                last = ++k;
            } else if (c == '(' && !paren && nd <= 3 && (pc == ' ' || digit(pc))) {
                paren = 1;
                k++;
            } else if (c == ')' && paren == 1 && digit(pc)) {
                paren = 2;
                k++;
            } else if ((c == ' ' || c == '-' || c == '.') && (digit(pc) || pc == ')') &&
                       (digit(nx) || (nx == '(' && !paren && c == ' '))) {
                k++;
            } else if ((c == ' ' || c == '-' || c == '.') && nx < 0 && !final) {
                return PARTIAL;
            } else {
                break;
            }
        }
        if (paren == 1 || nd < 8 || alnum(at(s, n, last)))
            return NONE;
        *end = last;
        return MATCH;
    }
    /* North American: [1 sep] (ddd) ddd-dddd | ddd<sep>ddd<sep>dddd with one sep kind. */
    size_t k = i;
    if (c == '1') { /* "1-" or "1 " before the area code */
        int s1 = at(s, n, i + 1), s2 = at(s, n, i + 2);
        if (!final && (s1 < 0 || ((s1 == '-' || s1 == ' ') && s2 < 0)))
            return PARTIAL;
        if ((s1 == '-' || s1 == ' ') && (digit(s2) || s2 == '('))
            k = i + 2;
    }
    static const char paren_shape[] = "(ddd) ddd-dddd";
    static const char plain_shape[] = "ddd-ddd-dddd";
    const char *shape = at(s, n, k) == '(' ? paren_shape : plain_shape;
    size_t len = shape == paren_shape ? sizeof paren_shape - 1 : sizeof plain_shape - 1;
    char sep = 0;
    for (size_t j = 0; j < len; j++) {
        c = at(s, n, k + j);
        if (c < 0)
            return final ? NONE : PARTIAL;
        char want = shape[j];
        if (want == 'd') {
            if (!digit(c))
                return NONE;
        } else if (want == '-' && shape == plain_shape) {
            if (!(c == '-' || c == '.' || c == ' ') || (sep && c != sep))
                return NONE;
            sep = (char)c;
        } else if (want == '-') {
            if (c != '-' && c != '.')
                return NONE;
        } else if (c != want) {
            return NONE;
        }
    }
    const char *q = s + k + (shape == paren_shape ? 1 : 0);
    const char *ex = s + k + (shape == paren_shape ? 6 : 4);
    if (q[0] < '2' || ex[0] < '2') /* area and exchange codes start 2-9 */
        return NONE;
    int after = at(s, n, k + len), next = at(s, n, k + len + 1);
    if (!final && (after < 0 || ((after == '-' || after == '.') && next < 0)))
        return PARTIAL;
    if (alnum(after) || ((after == '-' || after == '.') && digit(next)))
        return NONE;
    *end = k + len;
    return MATCH;
}

/* ---- IP addresses -----------------------------------------------------------------------------
 */

/* Dotted quad, each 0-255 without leading zeros, not inside a longer dotted number. */
int gg_pii_ipv4(const char *s, size_t n, size_t i, int final, size_t *end)
{
    size_t k = i;
    int p = prev(s, i);
    if (!digit(at(s, n, i)) || alnum(p) || p == '.')
        return NONE;
    for (int part = 0; part < 4; part++) {
        int v = 0, nd = 0;
        size_t st = k;
        while (digit(at(s, n, k)) && nd < 4) {
            v = v * 10 + (s[k] - '0');
            nd++;
            k++;
        }
        if (at(s, n, k) < 0 && !final)
            return PARTIAL;
        if (!nd || nd > 3 || v > 255 || (nd > 1 && s[st] == '0'))
            return NONE;
        if (part < 3) {
            if (at(s, n, k) != '.')
                return NONE;
            k++;
            if (at(s, n, k) < 0 && !final)
                return PARTIAL;
        }
    }
    int after = at(s, n, k);
    if (after == '.' && k + 1 >= n && !final)
        return PARTIAL;
    if (alnum(after) || (after == '.' && digit(at(s, n, k + 1))))
        return NONE;
    *end = k;
    return MATCH;
}

/* A run of hex digits, colons and dots with two colons or more that inet_pton accepts. */
int gg_pii_ipv6(const char *s, size_t n, size_t i, int final, size_t *end)
{
    char buf[64];
    unsigned char addr[16];
    size_t k = i, colons = 0, hex = 0;
    int c = at(s, n, i), p = prev(s, i);
    if (!(hexd(c) || c == ':') || alnum(p) || p == ':' || p == '.')
        return NONE;
    if (c == ':' && at(s, n, i + 1) != ':')
        return at(s, n, i + 1) < 0 && !final ? PARTIAL : NONE;
    while (k < n && k - i < 46 && (hexd(s[k]) || s[k] == ':' || s[k] == '.')) {
        colons += s[k] == ':';
        hex += hexd(s[k]) != 0;
        k++;
    }
    if (k >= n && !final && k - i < 46)
        return colons >= 2 || (colons && hex) || hex < 5 ? PARTIAL : NONE;
    if (colons < 2 || !hex || k - i >= 46 || alnum(at(s, n, k)))
        return NONE;
    /* A trailing '.' or ':' is punctuation, not the address ("::" ends one, though). */
    while (k > i + 1 && (s[k - 1] == '.' || (s[k - 1] == ':' && s[k - 2] != ':')))
        k--;
    memcpy(buf, s + i, k - i);
    buf[k - i] = '\0';
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return NONE;
    *end = k;
    return MATCH;
}

/* ---- IBAN --------------------------------------------------------------------------------- */

/* Lengths of the SWIFT IBAN registry (release 2024). */
static const struct {
    char cc[3];
    unsigned char len;
} iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static size_t iban_length(int a, int b)
{
    size_t lo = 0, hi = sizeof iban_len / sizeof iban_len[0];
    int key = a << 8 | b;
    while (lo < hi) { /* the table is in country-code order */
        size_t mid = (lo + hi) / 2;
        int k = iban_len[mid].cc[0] << 8 | iban_len[mid].cc[1];
        if (k < key)
            lo = mid + 1;
        else if (k > key)
            hi = mid;
        else
            return iban_len[mid].len;
    }
    return 0;
}

/* ISO 13616: rearranged (first four characters last), letters as 10-35, mod 97 == 1. */
static int iban_ok(const char *c, size_t n)
{
    unsigned r = 0;
    for (size_t k = 0; k < n; k++) {
        int ch = c[(k + 4) % n];
        if (digit(ch))
            r = (r * 10 + (unsigned)(ch - '0')) % 97;
        else
            r = (r * 100 + (unsigned)(ch - 'A' + 10)) % 97;
    }
    return r == 1;
}

/* Country code + 2 check digits + the country's BBAN length, upper or lower case, optionally
 * split by single spaces; the checksum must hold. */
int gg_pii_iban(const char *s, size_t n, size_t i, int final, size_t *end)
{
    char c[40];
    size_t nc = 0, k = i, want;
    int a = upper(at(s, n, i)), b = upper(at(s, n, i + 1));
    if (!alpha(a) || alnum(prev(s, i)))
        return NONE;
    if (b < 0)
        return final ? NONE : PARTIAL;
    int d1 = at(s, n, i + 2), d2 = at(s, n, i + 3);
    if (!alpha(b) || (d1 >= 0 && !digit(d1)) || (d2 >= 0 && !digit(d2)) ||
        !(want = iban_length(a, b)))
        return NONE;
    while (nc < want) {
        int ch = upper(at(s, n, k));
        if (ch < 0)
            return final ? NONE : PARTIAL;
        if (ch == ' ' && nc >= 4 && alnum(at(s, n, k + 1))) {
            k++;
            continue;
        }
        if (ch == ' ' && k + 1 >= n && !final)
            return PARTIAL;
        if (!alnum(ch) || (nc >= 2 && nc < 4 && !digit(ch)))
            return NONE;
        c[nc++] = (char)ch;
        k++;
    }
    int after = at(s, n, k);
    if (after < 0 && !final)
        return PARTIAL;
    if (alnum(after) || !iban_ok(c, nc))
        return NONE;
    *end = k;
    return MATCH;
}

/* ---- email ------------------------------------------------------------------------------- */

static int local_char(int c)
{
    return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int domain_char(int c)
{
    return alnum(c) || c == '-';
}

/* local@domain.tld in ASCII: a local part of letters, digits and ._%+- (64 bytes at most,
 * not starting or ending with '.'), labels of letters, digits and '-', and a last label of two
 * letters or more. Text in other scripts may touch it on either side (no spaces in CJK). */
int gg_pii_email(const char *s, size_t n, size_t i, int final, size_t *end)
{
    size_t k = i;
    if (!local_char(at(s, n, i)) || local_char(prev(s, i)) || at(s, n, i) == '.')
        return NONE;
    while (local_char(at(s, n, k)) && k - i <= 64)
        k++;
    if (k >= n)
        return final ? NONE : PARTIAL;
    if (s[k] != '@' || k - i > 64 || s[k - 1] == '.')
        return NONE;
    size_t dom = ++k, label = k, dots = 0;
    int tld_alpha = 1;
    for (;;) {
        int c = at(s, n, k);
        if (c < 0) {
            if (!final)
                return PARTIAL;
            break;
        }
        if (domain_char(c) && k - dom < 253) {
            if (!alpha(c))
                tld_alpha = 0;
            k++;
            continue;
        }
        if (c == '.' && k > label && domain_char(at(s, n, k + 1))) {
            dots++;
            label = ++k;
            tld_alpha = 1;
            continue;
        }
        if (c == '.' && k + 1 >= n && !final)
            return PARTIAL;
        break;
    }
    if (!dots || k - label < 2 || !tld_alpha)
        return NONE;
    *end = k;
    return MATCH;
}
