/*
 * cache_phase - the response cache as the gateway runs it (cache/ is the service): the
 * settings and in-memory backend the gateway holds, and, with cache.redis, one connection to
 * the shared Redis per worker loop, driven by that loop (a lookup never blocks a worker: the
 * request sleeps until the answer or the lookup's deadline, then goes on as a hit or a miss).
 * The per-request side (lookup, replay, recording) is in req_int.h.
 *
 * Threading: gw_cache_gw_new and _free run on the main thread (startup, after the workers
 * stopped); gw_cache_worker_setup runs for each worker before its thread starts; the rest of
 * the cache runs on the workers.
 */
#ifndef GW_PROXY_CACHE_PHASE_H
#define GW_PROXY_CACHE_PHASE_H

#include <stddef.h>

struct gw_gateway;
struct gw_worker;

/* The `cache` configuration into gw->cache (left NULL when the cache is off). 0, or
 * AIGW_EINVAL / AIGW_ENOMEM with a message in err. */
int gw_cache_gw_new(struct gw_gateway *gw, char *err, size_t errsize);
void gw_cache_gw_free(struct gw_gateway *gw);

/* With cache.redis: opens the worker's connection and adds it to the worker's loop. 0 or
 * negative (the worker cannot start). Nothing to do otherwise. */
int gw_cache_worker_setup(struct gw_gateway *gw, struct gw_worker *w);

/* Before /metrics is rendered: the in-memory cache drops what expired, so aigw_cache_bytes
 * counts only what a lookup could still find. Any thread. */
void gw_cache_metrics_refresh(struct gw_gateway *gw);

#endif
