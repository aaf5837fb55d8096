/* counters_loop - a gw_counters per worker loop (see counters_loop.h). */
#include "proxy/counters_loop.h"

#include <stdlib.h>

#include "aigw/plugin.h"
#include "net/worker.h"
#include "obs/metrics.h"
#include "proxy/gateway.h"
#include "store/counters.h"

struct gw_counters_loop {
    struct gw_worker *w;
    struct gw_counters *c;
    struct gw_counters_loop *next;
};

static int loop_timeout(void *ud)
{
    return gw_counters_timeout_ms(((struct gw_counters_loop *)ud)->c);
}

static void loop_run(void *ud, int ready)
{
    gw_counters_run(((struct gw_counters_loop *)ud)->c, ready);
}

int gw_counters_loop_setup(struct gw_gateway *gw, struct gw_worker *w)
{
    if (!gw->counters)
        return 0;
    struct gw_counters_loop *l = calloc(1, sizeof *l);
    if (!l)
        return AIGW_ENOMEM;
    int rc = gw_counters_new(gw->counters, &l->c);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->w = w;
    struct gw_worker_source src = {
        .fd = gw_counters_fd(l->c),
        .timeout_ms = loop_timeout,
        .run = loop_run,
        .ud = l,
    };
    rc = gw_worker_add_source(w, &src);
    if (rc < 0) {
        gw_counters_free(l->c);
        free(l);
        return rc;
    }
    l->next = gw->counters_loops;
    gw->counters_loops = l;
    return 0;
}

struct gw_counters *gw_counters_here(const struct gw_gateway *gw)
{
    struct gw_worker *w = gw_worker_current();
    if (!w)
        return NULL;
    for (struct gw_counters_loop *l = gw->counters_loops; l; l = l->next)
        if (l->w == w)
            return l->c;
    return NULL;
}

void gw_counters_loop_free(struct gw_gateway *gw)
{
    struct gw_counters_loop *l = gw->counters_loops;
    gw->counters_loops = NULL;
    while (l) {
        struct gw_counters_loop *next = l->next;
        gw_counters_free(l->c);
        free(l);
        l = next;
    }
}

void gw_counters_metrics_refresh(const struct gw_gateway *gw)
{
    if (!gw->counters)
        return;
    struct gw_counters_stats st;
    gw_counters_stats(gw->counters, &st);
    gw_metrics_leases((int64_t)st.leases, st.leases_lost, st.leases_untracked);
}
