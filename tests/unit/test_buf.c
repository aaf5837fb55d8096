/* buf and arena: hard caps hold. */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "arena.h"
#include "buf.h"

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
