/* gw_sql_clean_dup: what a TEXT column gets from arbitrary bytes. Each invalid UTF-8 byte and
 * each NUL becomes '?', everything else is kept; the copy works a run at a time, so the rule is
 * checked here against the plain byte-at-a-time statement of it. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/utf8.h"
#include "store/store_int.h"

static char *reference(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    cr_assert_not_null(out);
    size_t o = 0;
    while (n) {
        size_t bad = gw_utf8_invalid_at(p, n);
        size_t good = bad == (size_t)-1 ? n : bad;
        for (size_t i = 0; i < good; i++)
            out[o++] = p[i] ? p[i] : '?';
        if (bad == (size_t)-1)
            break;
        out[o++] = '?';
        p += bad + 1;
        n -= bad + 1;
    }
    out[o] = '\0';
    return out;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)rng;
}

/* Bytes drawn mostly from JSON-like ASCII, with NULs, continuation bytes, valid and cut
 * multi-byte sequences mixed in, so runs of every length meet every kind of bad byte. */
static size_t fill(char *b, size_t cap)
{
    static const char *const pieces[] = {"\0", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\x80", "\xc3", "\xe2\x82", "\xff", "\xed\xa0\x80"};
    static const size_t lens[] = {1, 2, 3, 4, 1, 1, 2, 1, 3};
    size_t n = 0, want = next() % cap;
    while (n + 4 < want) {
        unsigned r = next() % 16;
        if (r < 9) {
            memcpy(b + n, pieces[r], lens[r]);
            n += lens[r];
        } else {
            for (unsigned k = next() % 40; k-- && n + 4 < want;)
                b[n++] = (char)(0x20 + next() % 95);
        }
    }
    return n;
}

Test(store_clean, each_nul_and_bad_byte_becomes_a_question_mark_and_nothing_else_changes)
{
    char *none = gw_sql_clean_dup("", 0);
    cr_assert_str_eq(none, "");
    free(none);
    char *one = gw_sql_clean_dup("a\0b\xffz\xc3\xa9", 7);
    cr_assert_str_eq(one, "a?b?z\xc3\xa9");
    free(one);
    char buf[600];
    for (int i = 0; i < 200000; i++) {
        size_t n = fill(buf, sizeof buf);
        char *want = reference(buf, n), *got = gw_sql_clean_dup(buf, n);
        cr_assert_not_null(got);
        cr_assert_str_eq(got, want, "case %d, %zu bytes", i, n);
        free(want);
        free(got);
    }
}
