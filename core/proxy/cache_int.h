/*
 * cache_int - what cache_lookup.c (the per-request side) shares with cache_shared.c (the
 * gateway's cache object and the per-worker Redis connections).
 *
 * Threading: gw_cache_gw is built before the workers start and read-only afterwards, except
 * for its atomics; a gw_cache_remote belongs to one worker loop and is used on its thread only.
 */
#ifndef GW_PROXY_CACHE_INT_H
#define GW_PROXY_CACHE_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "cache/lru.h"
#include "store/redis.h"

struct gw_cache_remote;

struct gw_cache_gw {
    struct gw_cache_cfg cfg;
    struct gw_cache_mem *mem;        /* the in-memory backend; NULL with cache.redis */
    struct gw_cache_mem_stats told;  /* mem's stats the metrics were last told (its lock) */
    struct gw_redis_addr addr;       /* cache.redis: the server */
    struct gw_redis_stats stats;     /* of every worker's connection */
    struct gw_cache_remote *remotes; /* one per worker, freed with the gateway */
};

/* A shared-cache answer: status 0 with the value (NULL, 0 when there is none), or negative
 * (Redis down, late, or answering with an error: a miss). Runs on the worker's thread,
 * inside its loop, never inside gw_cache_remote_get. */
typedef void (*gw_cache_remote_cb)(void *ud, int status, const char *val, size_t len);

/* The calling worker's connection, or NULL (not a worker, or no shared cache). */
struct gw_cache_remote *gw_cache_remote_here(const struct gw_cache_gw *c);
/* GET with a deadline of cfg.redis_timeout_ms. 0 when cb will run exactly once; negative
 * (not connected, a cap) with no callback. */
int gw_cache_remote_get(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES],
                        gw_cache_remote_cb cb, void *ud);
/* SET with the TTL, fire and forget. 0 when sent, negative when refused. */
int gw_cache_remote_set(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES],
                        const char *val, size_t len);
/* DEL, fire and forget (an entry found wrong). 0 when sent, negative when refused. */
int gw_cache_remote_del(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES]);

#endif
