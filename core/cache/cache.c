/* cache - settings, endpoints and request directives of the response cache (see cache.h). */
#include "cache/cache.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aigw/plugin.h"

static const struct {
    const char *name;
    unsigned bit;
} endpoints[] = {
    {"chat", GW_CACHE_EP_CHAT},
    {"completions", GW_CACHE_EP_COMPLETIONS},
    {"messages", GW_CACHE_EP_MESSAGES},
    {"responses", GW_CACHE_EP_RESPONSES},
    {"embeddings", GW_CACHE_EP_EMBEDDINGS},
};

void gw_cache_cfg_defaults(struct gw_cache_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->ttl_s = GW_CACHE_DEFAULT_TTL_S;
    c->max_bytes = GW_CACHE_DEFAULT_MAX_BYTES;
    c->max_entry_bytes = GW_CACHE_DEFAULT_MAX_ENTRY_BYTES;
    c->redis_timeout_ms = GW_CACHE_DEFAULT_REDIS_TIMEOUT_MS;
    c->scope = GW_CACHE_SCOPE_KEY;
    c->endpoints = GW_CACHE_EP_ALL;
}

static int fail(char *err, size_t errsize, const char *key, const char *why)
{
    snprintf(err, errsize, "cache.%s: %s", key, why);
    return AIGW_EINVAL;
}

static int get_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                   char *err, size_t errsize)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    /* range first: casting a double past int64_t's range is undefined */
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > (double)max ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        char why[96];
        snprintf(why, sizeof why, "must be an integer between %lld and %lld", (long long)min,
                 (long long)max);
        return fail(err, errsize, key, why);
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_bool(const cJSON *obj, const char *key, int *out, char *err, size_t errsize)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v))
        return fail(err, errsize, key, "must be true or false");
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_endpoints(const cJSON *obj, unsigned *out, char *err, size_t errsize)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "endpoints");
    if (!v)
        return 0;
    if (!cJSON_IsArray(v))
        return fail(err, errsize, "endpoints", "must be an array of endpoint names");
    unsigned bits = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        size_t i = 0;
        while (i < sizeof endpoints / sizeof endpoints[0] &&
               !(cJSON_IsString(e) && !strcmp(e->valuestring, endpoints[i].name)))
            i++;
        if (i == sizeof endpoints / sizeof endpoints[0])
            return fail(err, errsize, "endpoints",
                        "names are chat, completions, messages, responses, embeddings");
        bits |= endpoints[i].bit;
    }
    *out = bits;
    return 0;
}

static const char *const known[] = {"enabled",         "ttl_s",     "max_bytes",
                                    "max_entry_bytes", "redis",     "redis_timeout_ms",
                                    "scope",           "endpoints", NULL};

int gw_cache_cfg_parse(const cJSON *obj, int have_redis_url, struct gw_cache_cfg *c, char *err,
                       size_t errsize)
{
    gw_cache_cfg_defaults(c);
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errsize, "cache: must be an object");
        return AIGW_EINVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        const char *const *k = known;
        while (*k && strcmp(*k, it->string))
            k++;
        if (!*k)
            return fail(err, errsize, it->string, "unknown key");
    }
    int rc = get_bool(obj, "enabled", &c->enabled, err, errsize);
    if (!rc)
        rc = get_int(obj, "ttl_s", 1, 365LL * 86400, &c->ttl_s, err, errsize);
    if (!rc)
        rc = get_int(obj, "max_bytes", 65536, 1LL << 40, &c->max_bytes, err, errsize);
    if (!rc)
        rc = get_int(obj, "max_entry_bytes", 1024, 512LL << 20, &c->max_entry_bytes, err, errsize);
    if (!rc)
        rc = get_bool(obj, "redis", &c->redis, err, errsize);
    if (!rc)
        /* A second at most: a lookup slower than that is worth nothing, and every lookup
         * ends before a stopping gateway closes its connections. */
        rc = get_int(obj, "redis_timeout_ms", 1, 1000, &c->redis_timeout_ms, err, errsize);
    if (!rc)
        rc = get_endpoints(obj, &c->endpoints, err, errsize);
    if (rc)
        return rc;
    const cJSON *scope = cJSON_GetObjectItemCaseSensitive(obj, "scope");
    if (scope && cJSON_IsString(scope) && !strcmp(scope->valuestring, "key"))
        c->scope = GW_CACHE_SCOPE_KEY;
    else if (scope && cJSON_IsString(scope) && !strcmp(scope->valuestring, "global"))
        c->scope = GW_CACHE_SCOPE_GLOBAL;
    else if (scope)
        return fail(err, errsize, "scope", "must be \"key\" or \"global\"");
    if (c->redis && !have_redis_url)
        return fail(err, errsize, "redis", "true needs redis.url");
    if (!c->redis && c->max_entry_bytes > c->max_bytes / 4) {
        /* One answer may take a quarter of the memory at most: a cache of one entry that
         * every store evicts is no cache. */
        c->max_entry_bytes = c->max_bytes / 4;
    }
    return 0;
}

const char *gw_cache_endpoint(const char *dialect, int op, int legacy, unsigned *bit)
{
    const char *name = NULL;
    if (op == AIGW_OP_EMBEDDINGS)
        name = "embeddings";
    else if (op != AIGW_OP_CHAT)
        name = NULL; /* images, counts and listings are not cached */
    else if (dialect && !strcmp(dialect, "anthropic"))
        name = "messages";
    else if (dialect && !strcmp(dialect, "responses"))
        name = "responses";
    else if (dialect && !strcmp(dialect, "openai"))
        name = legacy ? "completions" : "chat";
    for (size_t i = 0; name && i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strcmp(endpoints[i].name, name)) {
            *bit = endpoints[i].bit;
            return endpoints[i].name;
        }
    *bit = 0;
    return NULL;
}

/* 1 when the comma-separated list has token (case-insensitive, arguments after '=' ignored). */
static int has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - s) == tl && !strncasecmp(s, token, tl))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

void gw_cache_directives(const char *cache_control, const char *x_gateway_cache,
                         struct gw_cache_directives *out)
{
    out->no_lookup = has_token(cache_control, "no-cache");
    out->no_store = has_token(cache_control, "no-store");
    if (x_gateway_cache && has_token(x_gateway_cache, "bypass"))
        out->no_lookup = 1;
}

size_t gw_cache_redis_key(const unsigned char key[GW_CACHE_KEY_BYTES],
                          char out[GW_CACHE_REDIS_KEY_MAX])
{
    static const char prefix[] = "aigw:cache:1:";
    memcpy(out, prefix, sizeof prefix - 1);
    gw_cache_key_hex(key, out + sizeof prefix - 1);
    return sizeof prefix - 1 + GW_CACHE_KEY_HEX - 1;
}
