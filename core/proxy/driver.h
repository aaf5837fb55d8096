/*
 * driver - runs one gw_call over an upstream engine: sends each step the plugin builds,
 * feeds the response to the exchange (headers, status, body), sends the next step on
 * AIGW_CONTINUE, and reports the end exactly once. The request lifetime (attempt.c) and the
 * live model listings (models_live.c) both drive their calls with it; what differs between
 * them (deadlines, back-pressure, heartbeats, what an end means) comes through the ops.
 *
 * Threading: callbacks run on the engine's thread. gw_driver_cancel and gw_driver_unpause may
 * be called from any thread: the driver's lock guards the transfer pointer, and is never held
 * while an op runs. Lifetime: the owner frees the driver (gw_driver_free) only after `done`
 * ran, or when no send ever succeeded.
 */
#ifndef GW_PROXY_DRIVER_H
#define GW_PROXY_DRIVER_H

#include <pthread.h>
#include <stdint.h>

#include "net/upstream.h"
#include "plugin/call.h"

struct gw_driver_ops {
    /* Fills the deadlines of the next step's transfer (method, URL, headers and body come
     * from the call). Negative refuses the step (e.g. the owner's deadline passed): that
     * result goes to `done` as a transport result. Required. */
    int (*limits)(void *ud, struct gw_xfer_req *xr);
    /* Before the exchange sees body bytes: 0 go on, 1 pause the transfer (back-pressure;
     * the same bytes come again after gw_driver_unpause), negative stop. May be NULL. */
    int (*gate)(void *ud);
    /* No byte for idle_notify_ms (heartbeats, noticing a client that left). May be NULL. */
    void (*idle)(void *ud);
    /* The exchange has taken a piece of the body, and the plugin's callbacks for it have
     * returned (nothing of the call is borrowed any more). May be NULL. */
    void (*after_data)(void *ud);
    /* The call ended: result is the last transfer's GW_XFER_* (or a refused step's code), rc
     * the exchange's (0 or negative AIGW_E*; meaningful when result is GW_XFER_OK). Exactly
     * once per successful gw_driver_send chain; the driver is not touched after it. */
    void (*done)(void *ud, int result, int rc);
};

struct gw_driver {
    struct gw_call *call;
    struct gw_upstream *engine; /* where transfers start (the caller's thread's, or shared) */
    const struct gw_driver_ops *ops;
    void *ud;
    int data_rc;     /* the exchange's error that stopped a body, if any */
    int step_failed; /* why a later step (AIGW_CONTINUE) could not be sent, if it could not */

    pthread_mutex_t lock; /* guards xfer and cancelled */
    struct gw_xfer *xfer;
    int cancelled;
};

void gw_driver_init(struct gw_driver *d, struct gw_call *call, struct gw_upstream *engine,
                    const struct gw_driver_ops *ops, void *ud);
void gw_driver_free(struct gw_driver *d);
/* Sends the call's current step after delay_ms. 0, or negative (nothing started, `done`
 * will not be called for it). */
int gw_driver_send(struct gw_driver *d, int64_t delay_ms);
/* Ends the transfer in flight (its `done` follows with GW_XFER_ECANCELLED), and any step sent
 * later at once. */
void gw_driver_cancel(struct gw_driver *d);
void gw_driver_unpause(struct gw_driver *d);

#endif
