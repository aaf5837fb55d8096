/* snapshot - the reloadable configuration, published atomically (see snapshot.h). */
#include "proxy/snapshot.h"

#include <sched.h>
#include <stdlib.h>

#include "aigw/plugin.h"
#include "proxy/gateway.h"

int gw_snap_new(struct gw_snap **out, const struct gw_config *cfg, const struct gw_plugins *ps,
                const struct gw_catalog *cat, const struct gw_snap *prev, struct gw_guards *guards,
                char *err, size_t errsize)
{
    struct gw_snap *s = calloc(1, sizeof *s);
    if (!s) {
        gw_guards_release(guards);
        return AIGW_ENOMEM;
    }
    s->guards = guards;
    atomic_init(&s->refs, 1);
    s->generation = prev ? prev->generation + 1 : 1;
    int rc = gw_config_dup(&s->cfg, cfg);
    if (rc < 0) {
        gw_guards_release(guards);
        free(s);
        return rc;
    }
    rc = gw_router_init_keep(&s->router, s->cfg.routing, ps, cat, prev ? &prev->router : NULL, err,
                             errsize);
    if (rc < 0) {
        gw_guards_release(guards);
        gw_config_free(&s->cfg);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void gw_snap_release(struct gw_snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    gw_guards_release(s->guards);
    gw_router_free(&s->router);
    gw_config_free(&s->cfg);
    free(s);
}

/*
 * Taking a reference on what an atomic pointer points to is racy on its own: the snapshot
 * could be swapped out and freed between the load and the increment. A reader therefore
 * announces itself in one of two counters, chosen by the publish epoch, for the three
 * operations from the check of the epoch to its increment; a publisher swaps the pointer,
 * moves the epoch on, and waits for the counter of the epoch it left to empty before it
 * drops its reference. A reader that saw the epoch change under it retries, so it is always
 * counted where the publisher of the snapshot it loads will look. The wait is for readers
 * inside those three operations only, never for requests.
 */
struct gw_snap *gw_snap_acquire(const struct gw_gateway *cgw)
{
    struct gw_gateway *gw = (struct gw_gateway *)cgw; /* only its atomics are written */
    for (;;) {
        unsigned e = atomic_load(&gw->snap_epoch);
        atomic_fetch_add(&gw->snap_readers[e & 1], 1);
        if (atomic_load(&gw->snap_epoch) != e) {
            atomic_fetch_sub(&gw->snap_readers[e & 1], 1);
            continue;
        }
        struct gw_snap *s = atomic_load(&gw->snap);
        if (s)
            atomic_fetch_add(&s->refs, 1);
        atomic_fetch_sub(&gw->snap_readers[e & 1], 1);
        return s;
    }
}

void gw_snap_publish(struct gw_gateway *gw, struct gw_snap *s)
{
    struct gw_snap *old = atomic_exchange(&gw->snap, s);
    unsigned e = atomic_fetch_add(&gw->snap_epoch, 1);
    while (atomic_load(&gw->snap_readers[e & 1]) != 0)
        sched_yield();
    gw_snap_release(old);
}
