/*
 * sockwatch: curl's connection sockets stay in the epoll set between transfers, leave it when
 * the server speaks out of turn or curl closes them, and a descriptor number reused for a new
 * connection is registered anew. Membership is read from /proc/self/fdinfo of the epoll fd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "net/sockwatch.h"

/* The events (of EPOLLIN and EPOLLOUT) fd is registered for in ep, or -1 when it is not in
 * the set. The kernel lists EPOLLERR and EPOLLHUP too, always. */
static int registered(int ep, int fd)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int events = -1;
    while (fgets(line, sizeof line, f)) {
        int tfd;
        unsigned ev;
        if (sscanf(line, "tfd: %d events: %x", &tfd, &ev) == 2 && tfd == fd)
            events = (int)(ev & (EPOLLIN | EPOLLOUT));
    }
    fclose(f);
    return events;
}

struct pair {
    int listener;
    int server; /* the accepted end */
};

static int listen_loopback(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 4), 0);
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return l;
}

/* A socket opened through sockwatch (as curl would), connected to a loopback listener. */
static int open_connected(struct gw_sockwatch *w, struct pair *p)
{
    int port;
    p->listener = listen_loopback(&port);
    int fd = gw_sockwatch_open(w, AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    p->server = accept(p->listener, NULL, NULL);
    cr_assert_geq(p->server, 0);
    return fd;
}

static void pair_close(struct pair *p)
{
    close(p->server);
    close(p->listener);
}

/* Each test: one epoll set and the sockwatch over it. */
static int ep = -1;
static struct gw_sockwatch w;

static void setup(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    cr_assert_geq(ep, 0);
    gw_sockwatch_init(&w, ep);
}

static void teardown(void)
{
}

Test(sockwatch, a_connection_stays_registered_between_transfers, .init = setup, .fini = teardown)
{
    struct pair p;
    int fd = open_connected(&w, &p);
    cr_assert_eq(registered(ep, fd), -1, "not before curl asks");
    cr_assert_eq(gw_sockwatch_want(&w, fd, CURL_POLL_IN), 0);
    cr_assert_eq(registered(ep, fd), EPOLLIN);
    cr_assert_eq(gw_sockwatch_want(&w, fd, CURL_POLL_REMOVE), 0);
    cr_assert_eq(registered(ep, fd), EPOLLIN, "kept for the next transfer");
    cr_assert_eq(gw_sockwatch_want(&w, fd, CURL_POLL_OUT), 0);
    cr_assert_eq(registered(ep, fd), EPOLLOUT, "a different wish is carried out");
    cr_assert_eq(gw_sockwatch_want(&w, fd, CURL_POLL_INOUT), 0);
    cr_assert_eq(registered(ep, fd), EPOLLIN | EPOLLOUT);
    cr_assert_eq(gw_sockwatch_event(&w, fd), 1, "wanted: passed on to curl");
    cr_assert_eq(gw_sockwatch_close(&w, fd), 0);
    cr_assert_eq(registered(ep, fd), -1);
    pair_close(&p);
}

Test(sockwatch, an_idle_connection_that_speaks_leaves_the_set, .init = setup, .fini = teardown)
{
    struct pair p;
    int fd = open_connected(&w, &p);
    gw_sockwatch_want(&w, fd, CURL_POLL_IN);
    gw_sockwatch_want(&w, fd, CURL_POLL_REMOVE);
    close(p.server); /* the server closes the kept-alive connection */
    struct epoll_event ev;
    cr_assert_eq(epoll_wait(ep, &ev, 1, 5000), 1);
    cr_assert_eq(ev.data.fd, fd);
    cr_assert_eq(gw_sockwatch_event(&w, fd), 0, "nobody asked: not passed on");
    cr_assert_eq(registered(ep, fd), -1, "out of the set, so the event cannot repeat");
    cr_assert_eq(epoll_wait(ep, &ev, 1, 0), 0);
    /* curl reuses it (and finds it dead): registered again when asked. */
    cr_assert_eq(gw_sockwatch_want(&w, fd, CURL_POLL_IN), 0);
    cr_assert_eq(registered(ep, fd), EPOLLIN);
    gw_sockwatch_close(&w, fd);
    close(p.listener);
}

Test(sockwatch, a_reused_descriptor_number_is_registered_anew, .init = setup, .fini = teardown)
{
    struct pair p1, p2;
    int fd = open_connected(&w, &p1);
    gw_sockwatch_want(&w, fd, CURL_POLL_IN);
    gw_sockwatch_want(&w, fd, CURL_POLL_REMOVE);
    cr_assert_eq(gw_sockwatch_close(&w, fd), 0);
    pair_close(&p1);
    /* The lowest free number comes back; a table that still thought it registered would
     * skip the epoll_ctl and the new connection would never be heard. */
    int fd2 = open_connected(&w, &p2);
    cr_assert_eq(fd2, fd, "the kernel reuses the lowest free descriptor");
    cr_assert_eq(registered(ep, fd2), -1);
    cr_assert_eq(gw_sockwatch_want(&w, fd2, CURL_POLL_IN), 0);
    cr_assert_eq(registered(ep, fd2), EPOLLIN);
    cr_assert_eq(write(p2.server, "x", 1), 1);
    struct epoll_event ev;
    cr_assert_eq(epoll_wait(ep, &ev, 1, 5000), 1);
    cr_assert_eq(gw_sockwatch_event(&w, fd2), 1);
    gw_sockwatch_close(&w, fd2);
    pair_close(&p2);
}

Test(sockwatch, sockets_curl_opens_itself_are_removed_when_asked, .init = setup, .fini = teardown)
{
    /* The threaded resolver's socketpair: curl closes it itself after CURL_POLL_REMOVE. */
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(gw_sockwatch_want(&w, sv[0], CURL_POLL_IN), 0);
    cr_assert_eq(registered(ep, sv[0]), EPOLLIN);
    cr_assert_eq(gw_sockwatch_want(&w, sv[0], CURL_POLL_REMOVE), 0);
    cr_assert_eq(registered(ep, sv[0]), -1, "removed at once: curl closes it next");
    cr_assert_eq(write(sv[1], "x", 1), 1);
    cr_assert_eq(gw_sockwatch_event(&w, sv[0]), 1, "not ours: passed on as before");
    close(sv[0]);
    close(sv[1]);
}

Test(sockwatch, sockets_are_close_on_exec, .init = setup, .fini = teardown)
{
    int fd = gw_sockwatch_open(&w, AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    gw_sockwatch_close(&w, fd);
}
