/*
 * cache - the exact response cache as a service: its settings (the `cache` object of the
 * configuration), which requests it applies to, what a request's headers ask of it, and the
 * names entries have in a shared Redis. The parts: key.h (what makes two requests the same),
 * chunklog.h (an answer as replayable chunks), lru.h (the in-memory backend). The request's
 * lifetime (proxy/cache_lookup.c) looks answers up, replays hits and stores new answers;
 * the shared backend's connection to Redis is driven by the worker loops (proxy/).
 *
 * Threading: the settings are built at startup and read-only afterwards; the functions are
 * stateless.
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cache/key.h"

enum gw_cache_scope {
    GW_CACHE_SCOPE_KEY = 0,    /* one cache per gateway key (the default) */
    GW_CACHE_SCOPE_GLOBAL = 1, /* every caller shares one cache (opt-in) */
};

/* The endpoints a cache can serve, as bits of gw_cache_cfg.endpoints. */
enum gw_cache_ep {
    GW_CACHE_EP_CHAT = 1u << 0,        /* POST /v1/chat/completions */
    GW_CACHE_EP_COMPLETIONS = 1u << 1, /* POST /v1/completions */
    GW_CACHE_EP_MESSAGES = 1u << 2,    /* POST /v1/messages (Anthropic) */
    GW_CACHE_EP_RESPONSES = 1u << 3,   /* POST /v1/responses */
    GW_CACHE_EP_EMBEDDINGS = 1u << 4,  /* POST /v1/embeddings */
    GW_CACHE_EP_ALL = (1u << 5) - 1,
};

struct gw_cache_cfg {
    int enabled;
    int64_t ttl_s;            /* how long an answer is kept */
    int64_t max_bytes;        /* in-memory backend bound, overhead included */
    int64_t max_entry_bytes;  /* the largest answer kept (either backend) */
    int redis;                /* keep entries in the Redis of redis.url instead of memory */
    int64_t redis_timeout_ms; /* a lookup not answered by then is a miss */
    int scope;                /* enum gw_cache_scope */
    unsigned endpoints;       /* enum gw_cache_ep bits */
};

#define GW_CACHE_DEFAULT_TTL_S 3600
#define GW_CACHE_DEFAULT_MAX_BYTES (64LL << 20)
#define GW_CACHE_DEFAULT_MAX_ENTRY_BYTES (1LL << 20)
#define GW_CACHE_DEFAULT_REDIS_TIMEOUT_MS 50

void gw_cache_cfg_defaults(struct gw_cache_cfg *c);
/* The `cache` object (NULL: defaults, disabled) into c. 0, or AIGW_EINVAL with
 * "cache.<key>: reason" in err. have_redis_url: whether redis.url is set (cache.redis
 * needs it). */
int gw_cache_cfg_parse(const cJSON *obj, int have_redis_url, struct gw_cache_cfg *c, char *err,
                       size_t errsize);

/* The endpoint a request is on, by its dialect's name, operation and legacy flag: its name
 * ("chat", ...) and bit, or NULL when answers of it are never cached. */
const char *gw_cache_endpoint(const char *dialect, int op, int legacy, unsigned *bit);

/* What the request's headers ask: Cache-Control no-cache (or X-Gateway-Cache: bypass) skips
 * the lookup, no-store skips storing. Either header may be NULL. */
struct gw_cache_directives {
    int no_lookup;
    int no_store;
};
void gw_cache_directives(const char *cache_control, const char *x_gateway_cache,
                         struct gw_cache_directives *out);

/* The name an entry has in Redis: "aigw:cache:1:" and the key in hex. */
#define GW_CACHE_REDIS_KEY_MAX 96
size_t gw_cache_redis_key(const unsigned char key[GW_CACHE_KEY_BYTES],
                          char out[GW_CACHE_REDIS_KEY_MAX]);

#endif
