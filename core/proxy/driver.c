/* driver - one gw_call over an upstream engine (see driver.h). */
#include "proxy/driver.h"

#include <string.h>

#include "plugin/exchange.h"

static const struct gw_xfer_ops xfer_ops;

void gw_driver_init(struct gw_driver *d, struct gw_call *call, struct gw_upstream *engine,
                    const struct gw_driver_ops *ops, void *ud)
{
    memset(d, 0, sizeof *d);
    d->call = call;
    d->engine = engine;
    d->ops = ops;
    d->ud = ud;
    pthread_mutex_init(&d->lock, NULL);
}

void gw_driver_free(struct gw_driver *d)
{
    gw_xfer_unref(d->xfer);
    d->xfer = NULL;
    pthread_mutex_destroy(&d->lock);
}

int gw_driver_send(struct gw_driver *d, int64_t delay_ms)
{
    struct gw_call *c = d->call;
    struct gw_xfer_req xr = {
        .method = c->method,
        .url = c->url,
        .headers = c->headers,
        .body = c->body,
        .body_len = c->body_len,
        /* In the call's arena, which lives until the call is freed: after this transfer's
         * on_done (the next attempt's start, or the request's end). A copy was one more
         * request body held by every stream for its whole life. */
        .body_borrowed = 1,
        .delay_ms = delay_ms + c->delay_ms,
    };
    d->data_rc = 0; /* this step's body has not been refused */
    int rc = d->ops->limits(d->ud, &xr);
    if (rc < 0)
        return rc;
    struct gw_xfer *x = NULL;
    /* Locked from before the start: a fast upstream can finish the transfer (on_done takes
     * this lock) before d->xfer is set, and that reference would never be dropped. */
    pthread_mutex_lock(&d->lock);
    rc = gw_upstream_start(d->engine, &xr, &xfer_ops, d, &x);
    if (rc < 0) {
        pthread_mutex_unlock(&d->lock);
        return rc;
    }
    struct gw_xfer *old = d->xfer;
    d->xfer = x;
    int cancelled = d->cancelled;
    pthread_mutex_unlock(&d->lock);
    gw_xfer_unref(old);
    if (cancelled)
        gw_upstream_cancel(d->engine, x);
    return 0;
}

void gw_driver_cancel(struct gw_driver *d)
{
    pthread_mutex_lock(&d->lock);
    d->cancelled = 1;
    if (d->xfer)
        gw_upstream_cancel(d->engine, d->xfer);
    pthread_mutex_unlock(&d->lock);
}

void gw_driver_unpause(struct gw_driver *d)
{
    pthread_mutex_lock(&d->lock);
    if (d->xfer)
        gw_upstream_unpause(d->engine, d->xfer);
    pthread_mutex_unlock(&d->lock);
}

static int on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct gw_driver *d = ud;
    return gw_call_add_resp_header(d->call, name, nlen, value, vlen);
}

static int on_status(void *ud, int status)
{
    struct gw_driver *d = ud;
    return gw_exchange_headers(d->call, status);
}

static int on_data(void *ud, const char *p, size_t n)
{
    struct gw_driver *d = ud;
    if (d->ops->gate) {
        int g = d->ops->gate(d->ud);
        if (g != 0)
            return g;
    }
    int rc = gw_exchange_data(d->call, p, n);
    if (rc < 0) {
        d->data_rc = rc;
        return rc;
    }
    if (d->ops->after_data)
        d->ops->after_data(d->ud);
    /* An in-band error or the provider's end marker: stop reading. */
    if (d->call->has_error || d->call->done)
        return d->call->has_error ? -1 : 0;
    return 0;
}

static void on_body_sent(void *ud)
{
    struct gw_driver *d = ud;
    gw_call_drop_body(d->call);
}

static void on_idle(void *ud)
{
    struct gw_driver *d = ud;
    if (d->ops->idle)
        d->ops->idle(d->ud);
}

static const char *transport_why(int result)
{
    switch (result) {
    case GW_XFER_ETIMEOUT_CONNECT:
    case GW_XFER_ETIMEOUT_FIRST:
    case GW_XFER_ETIMEOUT_IDLE:
    case GW_XFER_ETIMEOUT_TOTAL:
        return "the upstream provider did not answer in time";
    case GW_XFER_ECONNECT:
        return "the gateway could not connect to the upstream provider";
    default:
        return "the connection to the upstream provider broke";
    }
}

static void on_done(void *ud, int result)
{
    struct gw_driver *d = ud;
    int rc = 0;
    if (result != GW_XFER_OK && result != GW_XFER_ECANCELLED && result != GW_XFER_EABORT) {
        /* A follow-up (a poll) whose connection failed is asked again, not the whole call. */
        int frc = gw_exchange_failed(d->call, transport_why(result));
        if (frc >= 0)
            result = GW_XFER_OK, rc = frc;
    } else if (result == GW_XFER_OK) {
        rc = gw_exchange_end(d->call);
    }
    if (result == GW_XFER_OK) {
        if (rc == AIGW_CONTINUE) {
            int src = gw_driver_send(d, 0);
            if (src == 0)
                return;
            d->step_failed = src;
            /* The next step could not start: a refused step's transport code, or the
             * core's own error (out of memory) as the exchange's result. */
            if (src <= GW_XFER_ECONNECT)
                result = src, rc = 0;
            else
                rc = src;
        }
    }
    /* The engine keeps its own reference for this callback: ours can go first, so that the
     * owner may free the driver from `done`. */
    pthread_mutex_lock(&d->lock);
    struct gw_xfer *x = d->xfer;
    d->xfer = NULL;
    pthread_mutex_unlock(&d->lock);
    gw_xfer_unref(x);
    d->ops->done(d->ud, result, rc);
}

static const struct gw_xfer_ops xfer_ops = {
    .on_header = on_header,
    .on_status = on_status,
    .on_data = on_data,
    .on_body_sent = on_body_sent,
    .on_idle = on_idle,
    .on_done = on_done,
};
