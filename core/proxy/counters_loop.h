/*
 * counters_loop - each HTTP worker's own gw_counters (store/counters.h), driven by the worker's
 * event loop as one of its sources: with Redis its connection's descriptor and deadlines, in
 * process only its timer (admission callbacks run from gw_counters_run, never inside
 * gw_counters_admit). A request admits and settles through the counters of the worker it
 * runs on.
 *
 * Threading: setup on the main thread before the workers start; gw_counters_here on a worker
 * (NULL elsewhere); free on the main thread once every worker has stopped.
 */
#ifndef GW_PROXY_COUNTERS_LOOP_H
#define GW_PROXY_COUNTERS_LOOP_H

struct gw_gateway;
struct gw_worker;
struct gw_counters;

/* Gives worker w its counters (nothing when gw->counters is NULL). 0 or negative. */
int gw_counters_loop_setup(struct gw_gateway *gw, struct gw_worker *w);
/* The calling worker's counters, or NULL (not a worker, or no counters). */
struct gw_counters *gw_counters_here(const struct gw_gateway *gw);
/* Frees every worker's counters (after the workers stopped). */
void gw_counters_loop_free(struct gw_gateway *gw);
/* Before /metrics is rendered: the counters' lease numbers (aigw_budget_leases*) are read
 * into the metrics. Any thread. */
void gw_counters_metrics_refresh(const struct gw_gateway *gw);

#endif
