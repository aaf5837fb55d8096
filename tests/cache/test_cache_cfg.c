/* The cache object of the configuration, and what a request's headers ask of the cache. */
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "cache/cache.h"

static int parse(const char *json, int have_redis, struct gw_cache_cfg *c, char *err)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    cr_assert(!json || o, "%s", json);
    err[0] = '\0';
    int rc = gw_cache_cfg_parse(o, have_redis, c, err, 256);
    cJSON_Delete(o);
    return rc;
}

Test(cache_cfg, defaults_are_off_with_every_endpoint_and_scope_key)
{
    struct gw_cache_cfg c;
    char err[256];
    cr_assert_eq(parse(NULL, 0, &c, err), 0);
    cr_assert_eq(c.enabled, 0);
    cr_assert_eq(c.ttl_s, 3600);
    cr_assert_eq(c.max_bytes, 64LL << 20);
    cr_assert_eq(c.max_entry_bytes, 1LL << 20);
    cr_assert_eq(c.redis, 0);
    cr_assert_eq(c.redis_timeout_ms, 50);
    cr_assert_eq(c.scope, GW_CACHE_SCOPE_KEY);
    cr_assert_eq(c.endpoints, GW_CACHE_EP_ALL);
    cr_assert_eq(parse("{}", 0, &c, err), 0);
    cr_assert_eq(c.enabled, 0);
}

Test(cache_cfg, every_key_is_read)
{
    struct gw_cache_cfg c;
    char err[256];
    cr_assert_eq(parse("{\"enabled\":true,\"ttl_s\":60,\"max_bytes\":1048576,"
                       "\"max_entry_bytes\":2048,\"redis\":true,\"redis_timeout_ms\":20,"
                       "\"scope\":\"global\",\"endpoints\":[\"chat\",\"embeddings\"]}",
                       1, &c, err),
                 0, "%s", err);
    cr_assert(c.enabled && c.redis);
    cr_assert_eq(c.ttl_s, 60);
    cr_assert_eq(c.max_bytes, 1048576);
    cr_assert_eq(c.max_entry_bytes, 2048);
    cr_assert_eq(c.redis_timeout_ms, 20);
    cr_assert_eq(c.scope, GW_CACHE_SCOPE_GLOBAL);
    cr_assert_eq(c.endpoints, GW_CACHE_EP_CHAT | GW_CACHE_EP_EMBEDDINGS);
    cr_assert_eq(parse("{\"endpoints\":[]}", 0, &c, err), 0);
    cr_assert_eq(c.endpoints, 0, "an empty list caches nothing");
}

Test(cache_cfg, one_answer_takes_a_quarter_of_memory_at_most)
{
    struct gw_cache_cfg c;
    char err[256];
    cr_assert_eq(parse("{\"max_bytes\":1048576,\"max_entry_bytes\":1048576}", 0, &c, err), 0);
    cr_assert_eq(c.max_entry_bytes, 262144);
    cr_assert_eq(
        parse("{\"max_bytes\":1048576,\"max_entry_bytes\":1048576,\"redis\":true}", 1, &c, err), 0);
    cr_assert_eq(c.max_entry_bytes, 1048576, "Redis holds what memory would not");
}

Test(cache_cfg, bad_values_name_their_key)
{
    struct gw_cache_cfg c;
    char err[256];
    static const struct {
        const char *json, *key;
    } bad[] = {
        {"{\"enabled\":1}", "cache.enabled"},
        {"{\"ttl_s\":0}", "cache.ttl_s"},
        {"{\"ttl_s\":1.5}", "cache.ttl_s"},
        {"{\"max_bytes\":100}", "cache.max_bytes"},
        {"{\"max_entry_bytes\":10}", "cache.max_entry_bytes"},
        {"{\"redis_timeout_ms\":0}", "cache.redis_timeout_ms"},
        {"{\"scope\":\"team\"}", "cache.scope"},
        {"{\"scope\":1}", "cache.scope"},
        {"{\"endpoints\":[\"images\"]}", "cache.endpoints"},
        {"{\"endpoints\":\"chat\"}", "cache.endpoints"},
        {"{\"redis\":true}", "cache.redis"},
        {"{\"ttl\":5}", "cache.ttl"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(parse(bad[i].json, 0, &c, err), AIGW_EINVAL, "%s", bad[i].json);
        cr_assert_eq(strncmp(err, bad[i].key, strlen(bad[i].key)), 0, "%s: %s", bad[i].json, err);
    }
}

Test(cache_cfg, directives_from_the_headers)
{
    struct gw_cache_directives d;
    gw_cache_directives(NULL, NULL, &d);
    cr_assert(!d.no_lookup && !d.no_store);
    gw_cache_directives("no-cache", NULL, &d);
    cr_assert(d.no_lookup && !d.no_store);
    gw_cache_directives("max-age=0, No-Store", NULL, &d);
    cr_assert(!d.no_lookup && d.no_store);
    gw_cache_directives("no-store,no-cache", NULL, &d);
    cr_assert(d.no_lookup && d.no_store);
    gw_cache_directives("private, no-cache=\"set-cookie\"", NULL, &d);
    cr_assert(d.no_lookup, "no-cache with an argument is still no-cache");
    gw_cache_directives("no-cachex, xno-store", NULL, &d);
    cr_assert(!d.no_lookup && !d.no_store, "whole tokens only");
    gw_cache_directives(NULL, "bypass", &d);
    cr_assert(d.no_lookup && !d.no_store);
    gw_cache_directives(NULL, "BYPASS", &d);
    cr_assert(d.no_lookup);
    gw_cache_directives(NULL, "hit", &d);
    cr_assert(!d.no_lookup);
}
