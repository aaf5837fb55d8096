/*
 * The defect of code review 8.6(b), end to end: the real aigw with metrics.listen
 * "localhost:PORT" or "[::1]:PORT" must answer on that loopback address only. Before the
 * metrics listener goes through net/listen.c it binds 0.0.0.0:PORT for both (an ignored
 * inet_pton failure), so metrics were served on every interface; this program failed then.
 *
 * The probe needs no second interface: 127.0.0.2 is loopback too, and only a socket bound
 * to every interface answers there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

/* A port free right now on the loopback of family (AF_INET or AF_INET6), or 0 when the
 * family has no loopback here. */
static int free_port(int family)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                       : ((struct sockaddr_in6 *)&ss)->sin6_port);
    close(fd);
    return port;
}

static struct e2e_gw *start_gw(const char *listen)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    return e2e_gw_start(e2e_strf("{\"metrics\":{\"listen\":\"%s\"}}", listen),
                        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
}

static int get_status(const char *url)
{
    struct e2e_resp *r = e2e_request("GET", url, NULL, NULL, 5000);
    int status = r->status;
    e2e_resp_free(r);
    return status;
}

Test(metrics_listen, localhost_serves_on_the_ipv4_loopback_only)
{
    int port = free_port(AF_INET);
    cr_assert_gt(port, 0);
    struct e2e_gw *gw = start_gw(e2e_strf("localhost:%d", port));
    cr_assert_eq(get_status(e2e_strf("http://127.0.0.1:%d/metrics", port)), 200);
    cr_assert_eq(get_status(e2e_strf("http://127.0.0.2:%d/metrics", port)), 0,
                 "metrics.listen localhost:%d answers on 127.0.0.2: bound to every interface",
                 port);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(metrics_listen, bracketed_ipv6_loopback_serves_there_only)
{
    int port = free_port(AF_INET6);
    if (!port)
        cr_skip_test("no IPv6 loopback on this host");
    struct e2e_gw *gw = start_gw(e2e_strf("[::1]:%d", port));
    cr_assert_eq(get_status(e2e_strf("http://[::1]:%d/metrics", port)), 200,
                 "metrics.listen [::1]:%d does not answer on ::1", port);
    cr_assert_eq(get_status(e2e_strf("http://127.0.0.1:%d/metrics", port)), 0,
                 "metrics.listen [::1]:%d answers on IPv4", port);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}
