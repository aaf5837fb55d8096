/*
 * cache_shared - the gateway's response cache object (settings, the in-memory backend) and,
 * with cache.redis, each worker's connection to the shared Redis (see cache_phase.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/log.h"
#include "lib/redact.h"
#include "net/worker.h"
#include "obs/metrics.h"
#include "proxy/cache_int.h"
#include "proxy/cache_phase.h"
#include "proxy/gateway.h"

struct gw_cache_remote {
    struct gw_cache_remote *next; /* the gateway's list */
    const struct gw_cache_gw *c;
    struct gw_redis *redis;
};

/* aigw_cache_bytes and aigw_cache_evictions_total follow the in-memory table exactly: every
 * store, eviction, expiry and delete tells them, under the table's lock (so c->told is only
 * touched there). An entry dropped for room is a "capacity" eviction, one past its TTL an
 * "expired" one: expiries are counted when the table drops them (a lookup, a store, or the
 * sweep before /metrics), so a scrape sees every entry that expired before it. */
static void mem_watch(void *ud, const struct gw_cache_mem_stats *st)
{
    struct gw_cache_gw *c = ud;
    gw_metrics_cache_bytes((int64_t)st->bytes);
    gw_metrics_cache_evictions("capacity", (int64_t)(st->evictions - c->told.evictions));
    gw_metrics_cache_evictions("expired", (int64_t)(st->expired - c->told.expired));
    c->told = *st;
}

void gw_cache_metrics_refresh(struct gw_gateway *gw)
{
    struct gw_cache_gw *c = gw->cache;
    if (c && c->mem)
        gw_cache_mem_sweep(c->mem, gw_now_ms()); /* expired entries hold no bytes */
}

int gw_cache_gw_new(struct gw_gateway *gw, char *err, size_t errsize)
{
    gw->cache = NULL;
    struct gw_cache_cfg cfg;
    int rc = gw_cache_cfg_parse(gw->cfg->cache, gw->cfg->redis_url[0] != '\0', &cfg, err, errsize);
    if (rc < 0 || !cfg.enabled)
        return rc;
    struct gw_cache_gw *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errsize, "out of memory");
        return AIGW_ENOMEM;
    }
    c->cfg = cfg;
    if (cfg.redis) {
        char uerr[256];
        rc = gw_redis_parse_url(gw->cfg->redis_url, &c->addr, uerr, sizeof uerr);
        if (rc < 0)
            snprintf(err, errsize, "redis.url: %s", uerr);
        else if (c->addr.password[0])
            gw_redact_register(c->addr.password); /* never in a log line or an error */
    } else {
        rc = gw_cache_mem_new((uint64_t)cfg.max_bytes, cfg.ttl_s * 1000, &c->mem);
        if (rc < 0)
            snprintf(err, errsize, "cache: out of memory");
        else
            gw_cache_mem_watch(c->mem, mem_watch, c);
    }
    if (rc < 0) {
        free(c);
        return rc;
    }
    GW_INFO("response cache: %s, ttl %llds, scope %s", cfg.redis ? c->addr.display : "in memory",
            (long long)cfg.ttl_s, cfg.scope == GW_CACHE_SCOPE_GLOBAL ? "global" : "key");
    gw->cache = c;
    return 0;
}

void gw_cache_gw_free(struct gw_gateway *gw)
{
    struct gw_cache_gw *c = gw->cache;
    if (!c)
        return;
    for (struct gw_cache_remote *rm = c->remotes, *next; rm; rm = next) {
        next = rm->next;
        gw_redis_free(rm->redis); /* stores still waiting end with ECLOSED: nothing to do */
        free(rm);
    }
    gw_cache_mem_free(c->mem);
    free(c);
    gw->cache = NULL;
}

/* ---- one connection per worker, driven by the worker's loop --------------------------- */

static int remote_timeout(void *ud)
{
    struct gw_cache_remote *rm = ud;
    return gw_redis_timeout_ms(rm->redis);
}

static void remote_run(void *ud, int ready)
{
    struct gw_cache_remote *rm = ud;
    gw_redis_process(rm->redis, ready);
}

int gw_cache_worker_setup(struct gw_gateway *gw, struct gw_worker *w)
{
    struct gw_cache_gw *c = gw->cache;
    if (!c || !c->cfg.redis)
        return 0;
    struct gw_cache_remote *rm = calloc(1, sizeof *rm);
    if (!rm)
        return AIGW_ENOMEM;
    /* A reply holds one value at most; a connection's unsent bytes hold a few stores. */
    size_t entry = (size_t)c->cfg.max_entry_bytes;
    struct gw_redis_opts o = {
        .max_reply = entry + 4096,
        .max_out = entry * 4 > (4u << 20) ? entry * 4 : (4u << 20),
        .stats = &c->stats,
    };
    int rc = gw_redis_new(&c->addr, &o, &rm->redis);
    if (rc < 0) {
        free(rm);
        return rc;
    }
    rm->c = c;
    struct gw_worker_source src = {
        .fd = gw_redis_fd(rm->redis),
        .timeout_ms = remote_timeout,
        .run = remote_run,
        .ud = rm,
    };
    rc = gw_worker_add_source(w, &src);
    if (rc < 0) {
        gw_redis_free(rm->redis);
        free(rm);
        return rc;
    }
    rm->next = c->remotes;
    c->remotes = rm;
    return 0;
}

struct gw_cache_remote *gw_cache_remote_here(const struct gw_cache_gw *c)
{
    struct gw_worker *w = gw_worker_current();
    if (!w || !c || !c->cfg.redis)
        return NULL;
    /* The worker's sources name their own: no per-worker slot of ours is needed. */
    for (int k = 0; k < w->nsrc; k++)
        if (w->src[k].run == remote_run && ((struct gw_cache_remote *)w->src[k].ud)->c == c)
            return w->src[k].ud;
    return NULL;
}

struct get_op {
    gw_cache_remote_cb cb;
    void *ud;
};

static void got(void *ud, int status, const struct gw_resp *reply)
{
    struct get_op *op = ud;
    if (status == 0 && reply->type == GW_RESP_STRING)
        op->cb(op->ud, 0, reply->str, reply->len);
    else if (status == 0 && reply->type == GW_RESP_NIL)
        op->cb(op->ud, 0, NULL, 0);
    else
        op->cb(op->ud, status < 0 ? status : AIGW_EPROTO, NULL, 0);
    free(op);
}

int gw_cache_remote_get(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES],
                        gw_cache_remote_cb cb, void *ud)
{
    char k[GW_CACHE_REDIS_KEY_MAX];
    size_t kl = gw_cache_redis_key(key, k);
    struct get_op *op = malloc(sizeof *op);
    if (!op)
        return AIGW_ENOMEM;
    op->cb = cb;
    op->ud = ud;
    const char *argv[] = {"GET", k};
    const size_t lens[] = {3, kl};
    int64_t deadline = gw_redis_now_ms() + rm->c->cfg.redis_timeout_ms;
    int rc = gw_redis_command(rm->redis, 2, argv, lens, deadline, got, op);
    if (rc < 0)
        free(op);
    return rc;
}

static void stored(void *ud, int status, const struct gw_resp *reply)
{
    (void)ud;
    if (status < 0 || reply->type == GW_RESP_ERROR)
        GW_DEBUG("response cache: a store or delete in Redis failed (%d)", status);
}

int gw_cache_remote_set(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES],
                        const char *val, size_t len)
{
    char k[GW_CACHE_REDIS_KEY_MAX], ttl[24];
    size_t kl = gw_cache_redis_key(key, k);
    int tl = snprintf(ttl, sizeof ttl, "%lld", (long long)rm->c->cfg.ttl_s);
    const char *argv[] = {"SET", k, val, "EX", ttl};
    const size_t lens[] = {3, kl, len, 2, (size_t)tl};
    /* A store has no one waiting on it: a generous deadline, only so it cannot linger. */
    int64_t deadline = gw_redis_now_ms() + 5000;
    return gw_redis_command(rm->redis, 5, argv, lens, deadline, stored, NULL);
}

int gw_cache_remote_del(struct gw_cache_remote *rm, const unsigned char key[GW_CACHE_KEY_BYTES])
{
    char k[GW_CACHE_REDIS_KEY_MAX];
    size_t kl = gw_cache_redis_key(key, k);
    const char *argv[] = {"DEL", k};
    const size_t lens[] = {3, kl};
    int64_t deadline = gw_redis_now_ms() + 5000; /* as a store: nobody waits on it */
    return gw_redis_command(rm->redis, 2, argv, lens, deadline, stored, NULL);
}
