/* net/peer: a client's address as admin.allow and the wrong-key throttle match it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "net/peer.h"

static int of_v6(const char *text, int *family, unsigned char raw[16])
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    cr_assert_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1, "%s", text);
    return gw_peer_addr((const struct sockaddr *)&a, family, raw);
}

Test(peer, ipv4_is_four_bytes)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
    unsigned char raw[16];
    int family = 0;
    cr_assert_eq(gw_peer_addr((const struct sockaddr *)&a, &family, raw), 0);
    cr_assert_eq(family, AF_INET);
    cr_assert_eq(memcmp(raw, "\x0a\x01\x02\x03", 4), 0);
    for (int i = 4; i < 16; i++)
        cr_assert_eq(raw[i], 0);
}

/* A dual-stack listener ("[::]:PORT") sees IPv4 clients as ::ffff:a.b.c.d; an IPv4 rule
 * must still match them (admin.allow "10.0.0.0/8" refused them before). */
Test(peer, ipv4_mapped_ipv6_is_ipv4)
{
    unsigned char raw[16];
    int family = 0;
    cr_assert_eq(of_v6("::ffff:10.1.2.3", &family, raw), 0);
    cr_assert_eq(family, AF_INET);
    cr_assert_eq(memcmp(raw, "\x0a\x01\x02\x03", 4), 0);
    for (int i = 4; i < 16; i++)
        cr_assert_eq(raw[i], 0);
}

Test(peer, ipv6_stays_ipv6)
{
    unsigned char raw[16], want[16];
    int family = 0;
    cr_assert_eq(of_v6("2001:db8::1", &family, raw), 0);
    cr_assert_eq(family, AF_INET6);
    inet_pton(AF_INET6, "2001:db8::1", want);
    cr_assert_eq(memcmp(raw, want, 16), 0);
    /* ::1 and an IPv4-compatible-looking address are not mapped ones */
    cr_assert_eq(of_v6("::1", &family, raw), 0);
    cr_assert_eq(family, AF_INET6);
    cr_assert_eq(of_v6("::10.1.2.3", &family, raw), 0);
    cr_assert_eq(family, AF_INET6);
}

Test(peer, no_address_or_another_family_is_refused)
{
    unsigned char raw[16];
    int family = 0;
    cr_assert_eq(gw_peer_addr(NULL, &family, raw), -1);
    struct sockaddr un = {.sa_family = AF_UNIX};
    cr_assert_eq(gw_peer_addr(&un, &family, raw), -1);
    cr_assert_eq(gw_peer_of(NULL, &family, raw), -1);
}
