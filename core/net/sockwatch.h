/*
 * sockwatch - which of curl's sockets an upstream engine's epoll set holds, and with which
 * events.
 *
 * curl asks to watch a kept-alive connection's socket when a transfer starts on it and to
 * stop when the transfer ends (CURLMOPT_SOCKETFUNCTION). Doing what it says costs two or three
 * epoll_ctl calls per request. A socket that curl opened through gw_sockwatch_open() stays
 * in the set between transfers instead, until curl closes it through gw_sockwatch_close():
 * those are the only ways a connection socket is created or closed, so the set never holds a
 * stale descriptor. Any other socket curl reports (the threaded resolver's socketpair, which
 * curl closes itself) is added and removed exactly as asked.
 *
 * An idle kept-alive socket that becomes readable (the server closed it) is taken out of the
 * set by gw_sockwatch_event(), so a level-triggered event cannot spin; curl finds the
 * connection dead when it next tries to reuse it.
 *
 * One per engine, used only on the engine's thread.
 */
#ifndef GW_SOCKWATCH_H
#define GW_SOCKWATCH_H

#include <stddef.h>
#include <stdint.h>

struct gw_sockwatch {
    int epfd;
    uint8_t *st; /* per descriptor: SW_* bits */
    size_t n;
};

void gw_sockwatch_init(struct gw_sockwatch *w, int epfd);
void gw_sockwatch_free(struct gw_sockwatch *w);

/* CURLOPT_OPENSOCKETFUNCTION: a socket(2) that curl will close through gw_sockwatch_close. */
int gw_sockwatch_open(struct gw_sockwatch *w, int family, int type, int protocol);
/* CURLOPT_CLOSESOCKETFUNCTION: forgets fd, then closes it. */
int gw_sockwatch_close(struct gw_sockwatch *w, int fd);

/* CURLMOPT_SOCKETFUNCTION: `what` is CURL_POLL_IN, _OUT, _INOUT or _REMOVE. 0, or -1 when
 * epoll refused (errno set). */
int gw_sockwatch_want(struct gw_sockwatch *w, int fd, int what);

/* An epoll event for fd: 1 when curl wants it, 0 when fd was an idle kept-alive socket (now
 * out of the set: do not pass the event on). */
int gw_sockwatch_event(struct gw_sockwatch *w, int fd);

#endif
