/*
 * libFuzzer target for the model catalog: the file parser (gw_catalog_parse), the config's
 * add/override entries (gw_catalog_merge), the id-variant lookup (gw_catalog_find) and the
 * cost arithmetic over what was loaded. The catalog path is operator-settable and the merge
 * input comes from the config, so both must refuse garbage cleanly. The input is split at
 * the first 0xff byte: before it, a catalog file; after it, merge entries and then ids to look
 * up, one per line. Every price found must give a finite, non-negative cost or "unknown".
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const struct gw_catalog *cat, const char *p, size_t n)
{
    static const char *const vkeys[] = {"openai", "bedrock", "fireworks", "anthropic", "x"};
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 1500000;
    u.completion_tokens = 20000;
    u.cached_tokens = 1000;
    u.cache_write_tokens = 10;
    u.reasoning_tokens = 5;
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        char id[256];
        if (k < sizeof id) {
            memcpy(id, p, k);
            id[k] = '\0';
            for (size_t v = 0; v < sizeof vkeys / sizeof vkeys[0]; v++) {
                const struct gw_model *m = gw_catalog_find(cat, vkeys[v], id);
                double usd = -1;
                if (m && gw_cost_usd(m, &u, &usd) == 0 && (!isfinite(usd) || usd < 0))
                    abort(); /* a price turned into a nonsense cost */
            }
            const struct gw_model *all[8];
            gw_catalog_find_all(cat, id, all, 8);
        }
        p += k + (nl ? 1 : 0);
        n -= k + (nl ? 1 : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *cut = memchr(p, 0xff, size);
    size_t flen = cut ? (size_t)(cut - p) : size;
    char err[256];
    struct gw_catalog *cat = NULL;
    if (gw_catalog_parse(p, flen, "fuzz", &cat, err, sizeof err) != 0) {
        if (cat)
            abort(); /* failure must leave *out untouched */
        cat = gw_catalog_new();
        if (!cat)
            return 0;
    }
    const char *rest = cut ? cut + 1 : p + size;
    size_t rlen = (size_t)(p + size - rest);
    const char *nl = memchr(rest, '\n', rlen);
    size_t mlen = nl ? (size_t)(nl - rest) : rlen;
    cJSON *entries = cJSON_ParseWithLength(rest, mlen);
    if (entries) {
        size_t before = gw_catalog_size(cat);
        if (gw_catalog_merge(cat, entries, "config", err, sizeof err) != 0 &&
            gw_catalog_size(cat) != before)
            abort(); /* all or nothing */
        cJSON_Delete(entries);
    }
    if (nl)
        lookups(cat, nl + 1, (size_t)(p + size - nl - 1));
    const char *const *vk = NULL;
    size_t nv = gw_catalog_providers(cat, &vk);
    for (size_t i = 0; i < nv; i++) {
        const struct gw_model *const *list = NULL;
        gw_catalog_list(cat, vk[i], &list);
    }
    gw_catalog_free(cat);
    return 0;
}
