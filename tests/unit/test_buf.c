/* buf and arena: hard caps hold. pages: zeroed, and resident only where written. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/pages.h"

Test(buf, cap_is_enforced_and_content_kept)
{
    struct gw_buf b;
    gw_buf_init(&b, 10);
    cr_assert_eq(gw_buf_append(&b, "12345", 5), 0);
    cr_assert_eq(gw_buf_printf(&b, "%d", 678), 0);
    cr_assert_eq(gw_buf_append(&b, "90a", 3), AIGW_ETOOBIG);
    cr_assert_str_eq(b.ptr, "12345678");
    gw_buf_consume(&b, 3);
    cr_assert_str_eq(b.ptr, "45678");
    gw_buf_free(&b);
}

Test(arena, cap_and_alignment)
{
    struct gw_arena a;
    gw_arena_init(&a, 64 * 1024);
    void *p = gw_arena_alloc(&a, 3);
    void *q = gw_arena_alloc(&a, 5);
    cr_assert_eq((uintptr_t)p % 16, 0);
    cr_assert_eq((uintptr_t)q % 16, 0);
    cr_assert_not_null(gw_arena_alloc(&a, 20000));
    cr_assert_null(gw_arena_alloc(&a, 100000), "past the cap");
    cr_assert_str_eq(gw_arena_printf(&a, "%s-%d", "x", 7), "x-7");
    gw_arena_free(&a);
}

/* Blocks start small and grow: allocations of every size across many blocks stay apart,
 * zeroed and aligned, and a one-off large one leaves the current block in use. */
Test(arena, growing_blocks_keep_every_allocation)
{
    struct gw_arena a;
    gw_arena_init(&a, 1 << 20);
    unsigned char *p[300];
    size_t len[300];
    for (int i = 0; i < 300; i++) {
        len[i] = (size_t)(i * 37 % 700) + 1;
        if (i == 150)
            len[i] = 9000; /* larger than any block */
        p[i] = gw_arena_alloc(&a, len[i]);
        cr_assert_not_null(p[i]);
        cr_assert_eq((uintptr_t)p[i] % 16, 0);
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq(p[i][k], 0);
        memset(p[i], i & 0xff, len[i]);
    }
    for (int i = 0; i < 300; i++)
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq(p[i][k], i & 0xff, "allocation %d byte %zu", i, k);
    gw_arena_free(&a);
}

/* A large allocation with a block of its own goes back at once; anything else stays. */
Test(arena, drop_frees_only_a_block_of_its_own)
{
    struct gw_arena a;
    gw_arena_init(&a, 1 << 20);
    char *small = gw_arena_strndup(&a, "kept", 4);
    char *big = gw_arena_alloc(&a, 50000);
    char *after = gw_arena_strndup(&a, "after", 5);
    cr_assert(small && big && after);
    memset(big, 'x', 50000);
    size_t used = a.used;
    gw_arena_drop(&a, big);
    cr_assert_lt(a.used, used - 50000 + 1, "the big block was freed");
    used = a.used;
    gw_arena_drop(&a, small); /* shares a block: stays */
    gw_arena_drop(&a, after);
    cr_assert_eq(a.used, used);
    cr_assert_str_eq(small, "kept");
    cr_assert_str_eq(after, "after");
    cr_assert_not_null(gw_arena_alloc(&a, 60000));
    gw_arena_free(&a);

    /* A small allocation that opened a block the next ones filled is not alone in it. */
    gw_arena_init(&a, 1 << 20);
    cr_assert_not_null(gw_arena_alloc(&a, 200));
    char *first = gw_arena_alloc(&a, 100);      /* opens the second block */
    char *next = gw_arena_alloc(&a, 112);       /* fills it */
    cr_assert_not_null(gw_arena_alloc(&a, 16)); /* a third block: the second is behind it */
    memset(next, 'n', 112);
    used = a.used;
    gw_arena_drop(&a, first);
    cr_assert_eq(a.used, used);
    for (int i = 0; i < 112; i++)
        cr_assert_eq(next[i], 'n');
    gw_arena_free(&a);
}

Test(buf, printf_in_place_grows_and_keeps_the_cap)
{
    struct gw_buf b;
    gw_buf_init(&b, 300);
    cr_assert_eq(gw_buf_append(&b, "ab", 2), 0); /* allocates 256: room for what follows */
    cr_assert_eq(gw_buf_printf(&b, "-%d-%s", 42, "x"), 0);
    cr_assert_str_eq(b.ptr, "ab-42-x");
    cr_assert_eq(b.len, 7);
    /* Does not fit the 256 bytes: measured, grown, formatted again. */
    char big[260];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gw_buf_printf(&b, "%.250s", big), 0);
    cr_assert_eq(b.len, 257);
    cr_assert_eq(b.ptr[257], '\0');
    /* Fits the allocation (512) but not the cap (300): refused, nothing changed. */
    cr_assert_eq(gw_buf_printf(&b, "%.60s", big), AIGW_ETOOBIG);
    cr_assert_eq(b.len, 257);
    cr_assert_eq(strlen(b.ptr), 257, "the terminator is restored");
    gw_buf_free(&b);
}

Test(buf, numbers_and_string_runs_without_printf)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    const int64_t v[] = {0, 7, -7, 1234567890123, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cr_assert_eq(gw_buf_append_i64(&b, v[i]), 0);
        cr_assert_eq(gw_buf_append_strs(&b, ",", NULL), 0);
    }
    cr_assert_str_eq(b.ptr, "0,7,-7,1234567890123,9223372036854775807,-9223372036854775808,");
    gw_buf_reset(&b);
    cr_assert_eq(gw_buf_append_strs(&b, "a", "", "bc", NULL), 0);
    cr_assert_str_eq(b.ptr, "abc");
    gw_buf_free(&b);
    char d[4];
    cr_assert_eq(gw_fmt_i64(d, sizeof d, -1234), 5, "the full length, as snprintf");
    cr_assert_str_eq(d, "-12");
    cr_assert_eq(gw_fmt_i64(d, sizeof d, 42), 2);
    cr_assert_str_eq(d, "42");
}

Test(buf, strlcpy_cuts_and_terminates)
{
    char d[4] = "zzz";
    cr_assert_eq(gw_strlcpy(d, "abcdef", sizeof d), 6);
    cr_assert_str_eq(d, "abc");
    cr_assert_eq(gw_strlcpy(d, "ab", sizeof d), 2);
    cr_assert_str_eq(d, "ab");
    cr_assert_eq(gw_strlcpy(d, "x", 0), 1);
    cr_assert_str_eq(d, "ab", "size 0 writes nothing");
}

Test(arena, printf_into_the_current_block_or_a_new_one)
{
    struct gw_arena a;
    gw_arena_init(&a, 64 * 1024);
    char *s = gw_arena_printf(&a, "%s/%d", "model", 7); /* first block: allocated */
    char *t = gw_arena_printf(&a, "Bearer %s", "k");    /* in place, after s */
    cr_assert_str_eq(s, "model/7");
    cr_assert_str_eq(t, "Bearer k");
    cr_assert_eq((uintptr_t)t % 16, 0);
    cr_assert_gt(t, s);
    void *z = gw_arena_alloc(&a, 8);
    cr_assert_gt((char *)z, t + strlen(t), "the next allocation does not overlap");
    char big[6000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *u = gw_arena_printf(&a, "%s!", big); /* larger than a block */
    cr_assert_eq(strlen(u), sizeof big);
    cr_assert_eq(u[sizeof big - 1], '!');
    cr_assert_str_eq(s, "model/7", "earlier strings are untouched");
    gw_arena_free(&a);
}

/* What the metrics shards and the breaker table rely on: a page never written costs no RSS,
 * and every byte reads as zero. (256 kB: too small for a transparent huge page.) */
Test(pages, zeroed_and_resident_only_where_written)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 64 * pg;
    unsigned char *p = gw_pages_alloc(n);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % pg, 0);
    p[5 * pg + 7] = 1;
    unsigned char vec[64];
    cr_assert_eq(mincore(p, n, vec), 0);
    for (size_t i = 0; i < 64; i++)
        cr_assert_eq(vec[i] & 1, i == 5, "page %zu", i);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(p[i], i == 5 * pg + 7, "byte %zu", i);
    gw_pages_free(p, n);
    cr_assert_null(gw_pages_alloc(0));
    gw_pages_free(NULL, 0);
}
