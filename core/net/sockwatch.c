/* sockwatch - curl's sockets in an engine's epoll set (see sockwatch.h). */
#include "net/sockwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

enum {
    SW_OURS = 1,   /* opened by gw_sockwatch_open, not closed yet */
    SW_IN_SET = 2, /* in the epoll set */
    SW_WANTED = 4, /* curl wants its events now */
    SW_EV_IN = 8,  /* registered for EPOLLIN */
    SW_EV_OUT = 16 /* registered for EPOLLOUT */
};
#define SW_EV (SW_EV_IN | SW_EV_OUT)

void gw_sockwatch_init(struct gw_sockwatch *w, int epfd)
{
    w->epfd = epfd;
    w->st = NULL;
    w->n = 0;
}

void gw_sockwatch_free(struct gw_sockwatch *w)
{
    free(w->st);
    w->st = NULL;
    w->n = 0;
}

/* The state byte of fd, growing the table to hold it; NULL when out of memory (the caller
 * then does exactly what curl asked, untracked). */
static uint8_t *slot(struct gw_sockwatch *w, int fd)
{
    if (fd < 0)
        return NULL;
    size_t i = (size_t)fd;
    if (i >= w->n) {
        size_t n = w->n ? w->n : 64;
        while (n <= i)
            n *= 2;
        uint8_t *st = realloc(w->st, n);
        if (!st)
            return NULL;
        for (size_t k = w->n; k < n; k++)
            st[k] = 0;
        w->st = st;
        w->n = n;
    }
    return &w->st[i];
}

int gw_sockwatch_open(struct gw_sockwatch *w, int family, int type, int protocol)
{
    int fd = socket(family, type | SOCK_CLOEXEC, protocol);
    uint8_t *s = slot(w, fd);
    if (s)
        *s = SW_OURS;
    return fd;
}

int gw_sockwatch_close(struct gw_sockwatch *w, int fd)
{
    uint8_t *s = fd >= 0 && (size_t)fd < w->n ? &w->st[fd] : NULL;
    /* Closing drops fd from the set by itself, unless another process shares the socket;
     * one call per connection (not per request) makes sure. */
    if (s && (*s & SW_IN_SET))
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (s)
        *s = 0;
    return close(fd);
}

int gw_sockwatch_want(struct gw_sockwatch *w, int fd, int what)
{
    uint8_t *s = slot(w, fd);
    uint8_t st = s ? *s : 0;
    if (what == CURL_POLL_REMOVE) {
        if (s && (st & SW_OURS)) {
            *s = st & (uint8_t)~SW_WANTED; /* stays in the set for the next transfer */
            return 0;
        }
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL); /* curl may have closed it: ENOENT/EBADF */
        if (s)
            *s = 0;
        return 0;
    }
    uint8_t evbits = 0;
    struct epoll_event ev = {.events = 0, .data.fd = fd};
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
        ev.events |= EPOLLIN;
        evbits |= SW_EV_IN;
    }
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
        ev.events |= EPOLLOUT;
        evbits |= SW_EV_OUT;
    }
    int rc = 0;
    if (s && (st & SW_IN_SET) && (st & SW_EV) == evbits) {
        /* Already registered so: the usual case for a kept-alive connection. */
    } else if (s && (st & SW_IN_SET)) {
        rc = epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
        if (rc != 0 && errno == ENOENT)
            rc = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
    } else {
        rc = epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
        if (rc != 0 && errno == EEXIST)
            rc = epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    if (s)
        *s = rc == 0 ? (uint8_t)((st & SW_OURS) | SW_IN_SET | SW_WANTED | evbits)
                     : (uint8_t)(st & SW_OURS);
    return rc == 0 ? 0 : -1;
}

int gw_sockwatch_event(struct gw_sockwatch *w, int fd)
{
    if (fd < 0 || (size_t)fd >= w->n)
        return 1;
    uint8_t st = w->st[fd];
    if (!(st & SW_OURS) || (st & SW_WANTED))
        return 1;
    /* One of ours between transfers: the server closed it or sent what nobody asked for. */
    if (st & SW_IN_SET)
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->st[fd] = SW_OURS;
    return 0;
}
