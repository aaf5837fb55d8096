/*
 * listen - the one parser for every listen address (the main listener, metrics.listen, the
 * admin listener to come) and the listening socket it names.
 *
 * Accepted, and nothing else:
 *   "127.0.0.1:8080"  a numeric IPv4 address and a port
 *   "[::1]:9108"      a numeric IPv6 address in brackets ("[::]" is every interface, dual-stack
 *                     where the system allows it)
 *   "localhost:8080"  the IPv4 loopback, 127.0.0.1 (never every interface; "[::1]:PORT" is
 *                     the IPv6 one). Letter case does not matter.
 *   ":8080"           every IPv4 interface, 0.0.0.0, said on purpose
 * PORT is 0..65535 in plain decimal digits; 0 lets the kernel choose (see gw_listen_open).
 * Refused, each with a message that quotes the input: other host names (no DNS at startup),
 * an IPv6 address without brackets, zone ids, a missing or junk port, trailing bytes.
 *
 * Threading: no state; every function is safe from any thread.
 */
#ifndef GW_NET_LISTEN_H
#define GW_NET_LISTEN_H

#include <stddef.h>

#include <arpa/inet.h>
#include <sys/socket.h>

struct gw_listen_addr {
    struct sockaddr_storage ss;  /* ready for bind(): a sockaddr_in or a sockaddr_in6 */
    socklen_t len;               /* sizeof the one ss holds */
    int family;                  /* AF_INET or AF_INET6 */
    int port;                    /* as written; 0: the kernel chooses */
    char host[INET6_ADDRSTRLEN]; /* the numeric address, "127.0.0.1" or "::1" */
};

/* Parse s (NUL-terminated) into *out. 0, or AIGW_EINVAL with a message in err that names
 * the input; *out is then zeroed. */
int gw_listen_parse(const char *s, struct gw_listen_addr *out, char *err, size_t errsize);

/* "127.0.0.1:8080" or "[::1]:9108" into buf (always NUL-terminated when size > 0), with
 * port in place of a->port when port >= 0 (the one the kernel chose). */
void gw_listen_format(const struct gw_listen_addr *a, int port, char *buf, size_t size);

/* A listening socket on a: non-blocking, close-on-exec, SO_REUSEADDR, backlog as given.
 * 0 with *fd and *port (the bound port, the kernel's choice when a->port is 0), or
 * AIGW_EINVAL with the reason in err (address in use, not permitted, not on this host). */
int gw_listen_open(const struct gw_listen_addr *a, int backlog, int *fd, int *port, char *err,
                   size_t errsize);

#endif
