/*
 * authfail: failed authentications per address. The limit per address and kind, the window's
 * end, IPv6 counted per /64, and memory that stays bounded: a flood of fresh addresses does
 * not free an address that is over its limit.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "proxy/authfail.h"

static void v4(unsigned char a[16], unsigned char x, unsigned char y)
{
    memset(a, 0, 16);
    a[0] = 10, a[1] = 0, a[2] = x, a[3] = y;
}

static void setup(void)
{
    gw_authfail_reset();
    gw_authfail_configure(3, 60);
}

TestSuite(authfail, .init = setup);

Test(authfail, limit_per_address_and_kind_until_the_window_ends)
{
    unsigned char a[16], b[16];
    v4(a, 1, 1);
    v4(b, 1, 2);
    int64_t now = 6000 + 15, ra = 0; /* 15 s into a window */
    for (int i = 0; i < 3; i++) {
        cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, a, 0, now, &ra));
        gw_authfail_count_addr(GW_AUTHFAIL_KEY, a, 0, now);
    }
    cr_assert(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, a, 0, now, &ra));
    cr_assert_eq(ra, 45, "the rest of the window");
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, b, 0, now, &ra), "another address");
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_ADMIN, a, 0, now, &ra), "another kind");
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, a, 0, now + 45, &ra),
                  "the next window starts afresh");
}

Test(authfail, ipv6_counts_per_64)
{
    unsigned char a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char b[16];
    memcpy(b, a, 16);
    int64_t now = 1200;
    for (int i = 0; i < 3; i++) {
        b[15] = (unsigned char)i; /* a new interface id each time */
        gw_authfail_count_addr(GW_AUTHFAIL_KEY, b, 1, now);
    }
    cr_assert(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, a, 1, now, NULL));
    b[7] = 2; /* another /64 */
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, b, 1, now, NULL));
    /* An IPv4 address whose bytes start the same is another address. */
    unsigned char c[16] = {0x20, 0x01, 0x0d, 0xb8};
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, c, 0, now, NULL));
}

Test(authfail, a_flood_of_new_addresses_keeps_the_blocked_one_blocked)
{
    unsigned char a[16], x[16];
    v4(a, 9, 9);
    int64_t now = 600;
    for (int i = 0; i < 3; i++)
        gw_authfail_count_addr(GW_AUTHFAIL_ADMIN, a, 0, now);
    for (int i = 0; i < 100000; i++) {
        v4(x, (unsigned char)(i >> 8), (unsigned char)i);
        x[1] = (unsigned char)(i >> 16) + 1; /* never a's 10.0.9.9 */
        gw_authfail_count_addr(GW_AUTHFAIL_ADMIN, x, 0, now);
    }
    cr_assert(gw_authfail_blocked_addr(GW_AUTHFAIL_ADMIN, a, 0, now, NULL));
}

Test(authfail, zero_means_no_limit)
{
    gw_authfail_configure(0, 60);
    unsigned char a[16];
    v4(a, 3, 3);
    for (int i = 0; i < 100; i++)
        gw_authfail_count_addr(GW_AUTHFAIL_KEY, a, 0, 60);
    cr_assert_not(gw_authfail_blocked_addr(GW_AUTHFAIL_KEY, a, 0, 60, NULL));
}
