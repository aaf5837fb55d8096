/*
 * listen - one listen-address parser and the socket it names (see listen.h for the forms).
 *
 * Two parsers used to exist: the main listener's understood localhost and brackets, the
 * metrics listener's ran inet_pton(AF_INET) and ignored its failure, so "localhost:PORT" and
 * "[::1]:PORT" bound every interface. Every listener goes through this file instead, and a
 * form it does not know is an error, never a default.
 */
#include "net/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aigw/plugin.h"

/* Longer than any address written out; a longer input is not an address. */
#define MAX_INPUT 128

static int refuse(struct gw_listen_addr *out, char *err, size_t errsize, const char *s,
                  const char *why)
{
    memset(out, 0, sizeof *out);
    if (errsize)
        snprintf(err, errsize, "listen address '%.64s%s': %s", s, strlen(s) > 64 ? "..." : "", why);
    return AIGW_EINVAL;
}

/* Plain decimal digits, 0..65535: no sign, no space, no hex, at most 5 digits. */
static int parse_port(const char *p, int *port)
{
    long v = 0;
    size_t n = 0;
    for (; *p; p++, n++) {
        if (*p < '0' || *p > '9' || n == 5)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (n == 0 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int gw_listen_parse(const char *s, struct gw_listen_addr *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    if (!s || !s[0])
        return refuse(out, err, errsize, "", "empty; want HOST:PORT, [IPv6]:PORT or :PORT");
    if (strnlen(s, MAX_INPUT + 1) > MAX_INPUT)
        return refuse(out, err, errsize, s, "too long to be an address");

    char host[MAX_INPUT + 1];
    const char *portp;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
    int family;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return refuse(out, err, errsize, s, "no ']' after the IPv6 address");
        if (close[1] != ':')
            return refuse(out, err, errsize, s, "want [IPv6]:PORT");
        size_t hl = (size_t)(close - s - 1);
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        portp = close + 2;
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return refuse(out, err, errsize, s, "not a numeric IPv6 address in the brackets");
        family = AF_INET6;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return refuse(out, err, errsize, s, "want HOST:PORT, [IPv6]:PORT or :PORT");
        size_t hl = (size_t)(colon - s);
        if (memchr(s, ':', hl))
            return refuse(out, err, errsize, s, "an IPv6 address goes in brackets: [::1]:PORT");
        memcpy(host, s, hl);
        host[hl] = '\0';
        portp = colon + 1;
        if (hl == 0) {
            in4->sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (!strcasecmp(host, "localhost")) {
            in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1) {
            return refuse(out, err, errsize, s,
                          "the host is not a numeric IPv4 address, [IPv6] or localhost");
        }
        family = AF_INET;
    }
    int port;
    if (parse_port(portp, &port) < 0)
        return refuse(out, err, errsize, s, "the port is not a number from 0 to 65535");

    if (family == AF_INET6) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        out->len = sizeof *in6;
        inet_ntop(AF_INET6, &in6->sin6_addr, out->host, sizeof out->host);
    } else {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        out->len = sizeof *in4;
        inet_ntop(AF_INET, &in4->sin_addr, out->host, sizeof out->host);
    }
    out->family = family;
    out->port = port;
    return 0;
}

void gw_listen_format(const struct gw_listen_addr *a, int port, char *buf, size_t size)
{
    if (!size)
        return;
    snprintf(buf, size, a->family == AF_INET6 ? "[%s]:%d" : "%s:%d", a->host,
             port >= 0 ? port : a->port);
}

int gw_listen_open(const struct gw_listen_addr *a, int backlog, int *fd, int *port, char *err,
                   size_t errsize)
{
    char name[INET6_ADDRSTRLEN + 16];
    gw_listen_format(a, -1, name, sizeof name);
    int s = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errsize, "cannot listen on %s: %s", name, strerror(errno));
        return AIGW_EINVAL;
    }
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (bind(s, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(s, backlog) != 0 ||
        getsockname(s, (struct sockaddr *)&got, &gl) != 0) {
        snprintf(err, errsize, "cannot listen on %s: %s", name, strerror(errno));
        close(s);
        return AIGW_EINVAL;
    }
    *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                            : ((struct sockaddr_in *)&got)->sin_port);
    *fd = s;
    return 0;
}
