/*
 * net/listen: the one listen-address parser. Every accepted form gives the address written
 * (localhost and [::1] the loopback, never every interface); every other input is an error
 * that quotes it and leaves nothing behind; the socket it opens answers on that address only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "net/listen.h"

static struct gw_listen_addr parse_ok(const char *s)
{
    struct gw_listen_addr a;
    char err[256] = "";
    cr_assert_eq(gw_listen_parse(s, &a, err, sizeof err), 0, "'%s': %s", s, err);
    return a;
}

static void expect_v4(const char *s, const char *host, int port)
{
    struct gw_listen_addr a = parse_ok(s);
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a.ss;
    char got[INET_ADDRSTRLEN];
    cr_assert_eq(a.family, AF_INET, "'%s'", s);
    cr_assert_eq(in4->sin_family, AF_INET);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in));
    cr_assert_str_eq(inet_ntop(AF_INET, &in4->sin_addr, got, sizeof got), host, "'%s'", s);
    cr_assert_str_eq(a.host, host);
    cr_assert_eq(ntohs(in4->sin_port), port);
    cr_assert_eq(a.port, port);
}

static void expect_v6(const char *s, const char *host, int port)
{
    struct gw_listen_addr a = parse_ok(s);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;
    char got[INET6_ADDRSTRLEN];
    cr_assert_eq(a.family, AF_INET6, "'%s'", s);
    cr_assert_eq(in6->sin6_family, AF_INET6);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
    cr_assert_str_eq(inet_ntop(AF_INET6, &in6->sin6_addr, got, sizeof got), host, "'%s'", s);
    cr_assert_str_eq(a.host, host);
    cr_assert_eq(ntohs(in6->sin6_port), port);
    cr_assert_eq(a.port, port);
}

Test(listen, numeric_ipv4_and_ports)
{
    expect_v4("127.0.0.1:8080", "127.0.0.1", 8080);
    expect_v4("10.1.2.3:65535", "10.1.2.3", 65535);
    expect_v4("0.0.0.0:0", "0.0.0.0", 0);
    expect_v4("127.0.0.2:00080", "127.0.0.2", 80);
}

/* The defect: metrics.listen "localhost:PORT" and "[::1]:PORT" bound 0.0.0.0. */
Test(listen, localhost_is_the_loopback_not_every_interface)
{
    expect_v4("localhost:9108", "127.0.0.1", 9108);
    expect_v4("LocalHost:1", "127.0.0.1", 1);
    expect_v4("localhost:0", "127.0.0.1", 0);
    expect_v6("[::1]:9108", "::1", 9108);
}

Test(listen, bracketed_ipv6)
{
    expect_v6("[::]:8080", "::", 8080);
    expect_v6("[2001:db8::1]:443", "2001:db8::1", 443);
    expect_v6("[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1);
}

Test(listen, empty_host_is_every_ipv4_interface_said_on_purpose)
{
    expect_v4(":9000", "0.0.0.0", 9000);
}

Test(listen, garbage_is_an_error_that_quotes_the_input)
{
    static const char *bad[] = {
        "",
        "8080",
        "localhost",
        "localhost:",
        "localhost:abc",
        "localhost:80x",
        "localhost:-1",
        "localhost:+80",
        "localhost: 80",
        "localhost:65536",
        "localhost:999999",
        "localhost:0x50",
        " localhost:80",
        "localhost :80",
        "example.com:80",
        "local:80",
        "localhost.:80",
        "::1:80",
        "::1",
        ":::80",
        "[::1]",
        "[::1]80",
        "[::1]:",
        "[::1:80",
        "::1]:80",
        "[]:80",
        "[127.0.0.1]:80",
        "[localhost]:80",
        "[fe80::1%eth0]:80",
        "[::1]:80:81",
        "[[::1]]:80",
        "1.2.3:80",
        "256.1.1.1:80",
        "1.2.3.4.5:80",
        "01.2.3.4:80",
        "127.0.0.1:80 ",
        "127.0.0.1:8\n",
        "*:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_listen_addr a;
        memset(&a, 0x5a, sizeof a);
        char err[256] = "";
        cr_assert_eq(gw_listen_parse(bad[i], &a, err, sizeof err), AIGW_EINVAL, "'%s' was accepted",
                     bad[i]);
        cr_assert(strstr(err, "listen address '") && strstr(err, bad[i]), "'%s': %s", bad[i], err);
        static const struct gw_listen_addr zero;
        cr_assert_eq(memcmp(&a, &zero, sizeof a), 0, "'%s' left a partial address", bad[i]);
    }
    struct gw_listen_addr a;
    char err[256] = "";
    cr_assert_eq(gw_listen_parse(NULL, &a, err, sizeof err), AIGW_EINVAL);
    cr_assert(err[0]);
}

Test(listen, an_overlong_input_is_refused_and_quoted_short)
{
    char s[400];
    memset(s, '1', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    s[3] = ':';
    struct gw_listen_addr a;
    char err[256] = "";
    cr_assert_eq(gw_listen_parse(s, &a, err, sizeof err), AIGW_EINVAL);
    cr_assert(strstr(err, "too long"), "%s", err);
    cr_assert_lt(strlen(err), 160);
    /* A tiny err buffer is still terminated; none at all is left alone. */
    char tiny[8];
    cr_assert_eq(gw_listen_parse("nope", &a, tiny, sizeof tiny), AIGW_EINVAL);
    cr_assert_eq(strlen(tiny), 7);
    cr_assert_eq(gw_listen_parse("nope", &a, NULL, 0), AIGW_EINVAL);
}

Test(listen, format_round_trips)
{
    char buf[64];
    struct gw_listen_addr a = parse_ok("[::1]:9108");
    gw_listen_format(&a, -1, buf, sizeof buf);
    cr_assert_str_eq(buf, "[::1]:9108");
    gw_listen_format(&a, 4000, buf, sizeof buf);
    cr_assert_str_eq(buf, "[::1]:4000");
    a = parse_ok("localhost:80");
    gw_listen_format(&a, -1, buf, sizeof buf);
    cr_assert_str_eq(buf, "127.0.0.1:80");
    struct gw_listen_addr b = parse_ok(buf);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
}

/* 0 when a TCP connect to ip:port (AF_INET or AF_INET6) is accepted, else the errno. */
static int try_connect(int family, const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        cr_assert_eq(inet_pton(AF_INET, ip, &in4->sin_addr), 1);
        len = sizeof *in4;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        len = sizeof *in6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    int rc = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

static int open_ok(const char *s, int *port)
{
    struct gw_listen_addr a = parse_ok(s);
    char err[256] = "";
    int fd = -1;
    cr_assert_eq(gw_listen_open(&a, 16, &fd, port, err, sizeof err), 0, "'%s': %s", s, err);
    cr_assert_geq(fd, 0);
    cr_assert_gt(*port, 0, "the kernel's port is reported");
    return fd;
}

/* 127.0.0.2 is loopback too, but only a socket bound to every interface answers there: the
 * probe that tells "localhost" from 0.0.0.0 without needing a second network interface. */
Test(listen, localhost_socket_answers_on_the_loopback_only)
{
    int port;
    int fd = open_ok("localhost:0", &port);
    cr_assert_eq(try_connect(AF_INET, "127.0.0.1", port), 0);
    cr_assert_eq(try_connect(AF_INET, "127.0.0.2", port), ECONNREFUSED,
                 "localhost:%d answers on 127.0.0.2: it is bound to every interface", port);
    close(fd);

    /* The probe sees the difference: a socket on every interface does answer there. */
    fd = open_ok(":0", &port);
    cr_assert_eq(try_connect(AF_INET, "127.0.0.2", port), 0);
    close(fd);
}

Test(listen, ipv6_loopback_socket_is_ipv6_loopback_only)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&lo, sizeof lo) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6)
        cr_skip_test("no IPv6 loopback on this host");
    /* A port free on ::1 may be taken on 127.0.0.1 by another process (the numbers are per
     * address): one answer on IPv4 can be a neighbour. A listener that took every interface
     * answers on every port it gets, so three ports that all answer are the bug. */
    int answered = 0, port = 0;
    for (int i = 0; i < 3; i++) {
        int fd = open_ok("[::1]:0", &port);
        cr_assert_eq(try_connect(AF_INET6, "::1", port), 0);
        int rc = try_connect(AF_INET, "127.0.0.1", port);
        close(fd);
        if (rc == ECONNREFUSED)
            break;
        answered++;
    }
    cr_assert_lt(answered, 3, "[::1] listeners answer on IPv4 (last port %d)", port);
}

Test(listen, a_taken_port_is_an_error_naming_the_address)
{
    int port;
    int fd = open_ok("127.0.0.1:0", &port);
    char s[64];
    snprintf(s, sizeof s, "127.0.0.1:%d", port);
    struct gw_listen_addr a = parse_ok(s);
    char err[256] = "";
    int fd2 = -1, port2 = -1;
    cr_assert_eq(gw_listen_open(&a, 16, &fd2, &port2, err, sizeof err), AIGW_EINVAL);
    cr_assert_eq(fd2, -1, "no descriptor on failure");
    cr_assert(strstr(err, s) && strstr(err, "in use"), "%s", err);
    close(fd);
}
