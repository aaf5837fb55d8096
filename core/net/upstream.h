/*
 * upstream - the engine that talks to providers: a libcurl multi handle driven by
 * curl_multi_socket_action over epoll. Each HTTP worker thread owns one (embedded), so a
 * request is served on one thread end to end; a shared engine with its own thread serves
 * callers on other threads. Other threads hand an engine work through a locked queue and an
 * eventfd. Connections are reused
 * per host (HTTP/2 multiplexed where offered). Deadlines are ours: connect, first byte, idle
 * between bytes, and an optional total (never set for streams).
 *
 * Every callback of a transfer runs on its engine's thread. on_done runs exactly once per
 * started transfer (also after a cancel), and the transfer's callbacks are never called after
 * it. A function that fails returns negative and calls no callback.
 *
 * Lifetime: gw_upstream_start() returns a transfer holding two references, the caller's and
 * the engine's; each side drops its own with gw_xfer_unref().
 */
#ifndef GW_UPSTREAM_H
#define GW_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/headers.h"

enum gw_xfer_result {
    GW_XFER_OK = 0,
    GW_XFER_ECONNECT = -101,       /* could not connect / resolve / TLS */
    GW_XFER_ETIMEOUT_CONNECT = -102,
    GW_XFER_ETIMEOUT_FIRST = -103, /* no response byte in time */
    GW_XFER_ETIMEOUT_IDLE = -104,  /* silence between bytes too long */
    GW_XFER_ETIMEOUT_TOTAL = -105,
    GW_XFER_ECANCELLED = -106,
    GW_XFER_EIO = -107,    /* the connection broke mid-response */
    GW_XFER_EABORT = -108, /* a callback asked to stop */
};

struct gw_xfer;
struct gw_upstream;

struct gw_xfer_ops {
    /* A response header (the final response's; earlier 1xx blocks are dropped). */
    int (*on_header)(void *ud, const char *name, size_t nlen, const char *value, size_t vlen);
    /* All headers of the final response are in. Negative aborts. */
    int (*on_status)(void *ud, int status);
    /* Body bytes. Return 0 to continue, 1 to pause (nothing consumed: the same bytes come
     * again after gw_upstream_unpause), negative to abort. */
    int (*on_data)(void *ud, const char *p, size_t n);
    /* The request body was sent whole and will not be read again (the final response's
     * headers are in): a body lent with body_borrowed may be freed now. May be NULL. */
    void (*on_body_sent)(void *ud);
    /* No byte for idle_notify_ms, from the request's start (a back-off, the wait for the
     * status, a quiet response): heartbeats, a client that left. May be NULL. */
    void (*on_idle)(void *ud);
    void (*on_done)(void *ud, int result);
};

struct gw_xfer_req {
    const char *method;
    const char *url;
    const struct gw_header *headers;
    const char *body;
    size_t body_len;
    int64_t delay_ms;
    int64_t connect_timeout_ms;
    int64_t first_byte_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t total_timeout_ms; /* 0: none */
    int64_t idle_notify_ms;   /* 0: no on_idle */
    long recv_buffer;         /* curl's receive buffer in bytes, held while the transfer
                                 lasts; 0: 16 KiB (curl takes 1 KiB at least) */
    int body_borrowed;        /* 1: body stays valid until on_done has returned, and the
                                 transfer uses it in place; 0: it is copied */
};

int gw_upstream_init(struct gw_upstream **out);
/* An engine with no thread of its own, driven by a worker loop (core/http.c) that watches
 * gw_upstream_fd() and calls gw_upstream_run_once() on every turn, at the latest after
 * gw_upstream_timeout_ms() (-1: nothing timed, wait for the fd). The worker calls
 * gw_upstream_set_here() first: transfers started
 * on that thread then run on it, with no hand-off between threads. */
int gw_upstream_init_embedded(struct gw_upstream **out);
int gw_upstream_fd(const struct gw_upstream *u);
int gw_upstream_timeout_ms(struct gw_upstream *u);
/* sockets_ready: the worker saw gw_upstream_fd() readable (else only queued work and timers
 * are handled, without a syscall). */
void gw_upstream_run_once(struct gw_upstream *u, int sockets_ready);
/* 1 when work was handed to u and not yet taken (its owner must not sleep). */
int gw_upstream_pending(struct gw_upstream *u);
void gw_upstream_set_here(struct gw_upstream *u);
/* The calling thread's engine, or fallback on threads that own none. */
struct gw_upstream *gw_upstream_here(struct gw_upstream *fallback);
/* Cancels every transfer of u and waits (at most timeout_ms) until their on_done ran on u's
 * thread. Any thread but u's own. */
void gw_upstream_cancel_all(struct gw_upstream *u, int timeout_ms);
/* Stops the thread (embedded: on the caller's thread) after cancelling every transfer (their
 * on_done runs). */
void gw_upstream_free(struct gw_upstream *u);
int gw_upstream_start(struct gw_upstream *u, const struct gw_xfer_req *req,
                      const struct gw_xfer_ops *ops, void *ud, struct gw_xfer **out);
void gw_upstream_cancel(struct gw_upstream *u, struct gw_xfer *x);
void gw_upstream_unpause(struct gw_upstream *u, struct gw_xfer *x);
void gw_xfer_unref(struct gw_xfer *x);
/* Number of transfers in flight across all engines (for metrics and shutdown). */
int64_t gw_upstream_active(struct gw_upstream *u);
const char *gw_xfer_result_name(int result);

#endif
