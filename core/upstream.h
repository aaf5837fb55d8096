/*
 * upstream - the one thread that talks to providers. It owns a libcurl multi handle; other
 * threads hand it work through a locked queue and curl_multi_wakeup(). Connections are reused
 * per host (HTTP/2 multiplexed where offered). Deadlines are ours: connect, first byte, idle
 * between bytes, and an optional total (never set for streams).
 *
 * Every callback of a transfer runs on the upstream thread. on_done runs exactly once per
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

#include "call.h"

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
    /* No byte for idle_notify_ms while the response is open (heartbeats). May be NULL. */
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
};

int gw_upstream_init(struct gw_upstream **out);
/* Stops the thread after cancelling every transfer (their on_done runs). */
void gw_upstream_free(struct gw_upstream *u);
int gw_upstream_start(struct gw_upstream *u, const struct gw_xfer_req *req,
                      const struct gw_xfer_ops *ops, void *ud, struct gw_xfer **out);
void gw_upstream_cancel(struct gw_upstream *u, struct gw_xfer *x);
void gw_upstream_unpause(struct gw_upstream *u, struct gw_xfer *x);
void gw_xfer_unref(struct gw_xfer *x);
/* Number of transfers in flight (for metrics and shutdown). */
int64_t gw_upstream_active(struct gw_upstream *u);
const char *gw_xfer_result_name(int result);

#endif
