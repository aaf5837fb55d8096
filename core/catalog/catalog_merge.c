/* catalog_merge - the config's catalog overrides: staged on copies, then applied all at once
 * with the indexes rebuilt, so a bad override changes nothing (see catalog.h). */
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "catalog/catalog_int.h"

/* The entry spelled exactly so, for overrides: a config naming "GPT-4o" adds an entry rather
 * than editing "gpt-4o". */
static struct gw_model *get_exact(struct gw_catalog *cat, const char *vkey, const char *id)
{
    size_t mask = cat->ix.nslots - 1;
    for (size_t s = (size_t)gw_catalog_key_hash(vkey, id) & mask; cat->ix.slots[s];
         s = (s + 1) & mask) {
        const struct gw_model *m = cat->ix.sorted[cat->ix.slots[s] - 1];
        if (strcmp(m->id, id) == 0 && strcmp(m->provider, vkey) == 0)
            return (struct gw_model *)m;
    }
    return NULL;
}

struct pending {
    struct gw_model m;
    struct gw_model *target; /* the entry it replaces, or NULL for a new one */
};

static void pending_free(struct pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gw_catalog_model_release(&p[i].m);
    free(p);
}

/* Resolves one override's provider and id, then applies it to a copy of its entry. */
static int stage(struct gw_catalog *cat, const cJSON *it, int keyed, struct gw_entry_ctx *c,
                 struct pending *pend, size_t *np, size_t *nnew)
{
    char pbuf[GW_CATALOG_MAX_NAME + 1];
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(it, "provider");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(it, "model");
    const char *prov = cJSON_IsString(jp) ? jp->valuestring : NULL;
    const char *id = cJSON_IsString(jm) ? jm->valuestring : NULL;
    if (!cJSON_IsObject(it))
        return gw_catalog_fail(c, NULL, "an entry must be a JSON object");
    if (keyed) {
        const char *slash = strchr(it->string, '/');
        size_t pl = slash ? (size_t)(slash - it->string) : 0;
        if (!slash || pl == 0 || pl > GW_CATALOG_MAX_NAME)
            return gw_catalog_fail(c, NULL, "the key must be \"provider/model\"");
        memcpy(pbuf, it->string, pl);
        pbuf[pl] = '\0';
        if ((prov && strcmp(prov, pbuf) != 0) || (id && strcmp(id, slash + 1) != 0))
            return gw_catalog_fail(c, NULL, "\"provider\"/\"model\" disagree with the key");
        prov = pbuf;
        id = slash + 1;
    }
    if (!prov || !gw_catalog_valid_vkey(prov))
        return gw_catalog_fail(c, "provider", "must be a lowercase provider name (vkey)");
    if (!id || !gw_catalog_valid_id(id))
        return gw_catalog_fail(c, "model",
                               "must be a model id (1-%d bytes, no control "
                               "characters)",
                               GW_CATALOG_MAX_ID);
    c->prov = prov;
    c->id = id;
    const char *ip = gw_catalog_intern(cat, prov), *src = gw_catalog_intern(cat, "config");
    if (!ip || !src)
        return AIGW_ENOMEM;
    struct pending *p = NULL;
    for (size_t i = 0; i < *np && !p; i++)
        if (pend[i].m.provider == ip && strcmp(pend[i].m.id, id) == 0)
            p = &pend[i]; /* named twice: the later override applies on top */
    if (!p) {
        p = &pend[(*np)++];
        p->target = get_exact(cat, ip, id);
        if (p->target) {
            if (gw_catalog_model_copy(&p->m, p->target))
                return AIGW_ENOMEM;
        } else {
            gw_catalog_model_init(&p->m);
            p->m.provider = ip;
            if (!(p->m.id = strdup(id)))
                return AIGW_ENOMEM;
            ++*nnew;
        }
    }
    p->m.source = src;
    return gw_catalog_apply(&p->m, it, c, NULL);
}

int gw_catalog_merge(struct gw_catalog *cat, const cJSON *entries, const char *name, char *err,
                     size_t errlen)
{
    if (!cat || !entries)
        return AIGW_EINVAL;
    name = name ? name : "catalog overrides";
    int keyed = cJSON_IsObject(entries);
    if (!keyed && !cJSON_IsArray(entries))
        return gw_catalog_seterr(err, errlen,
                                 "%s: must be an array of entries or an object "
                                 "{\"provider/model\": entry}",
                                 name);
    size_t n = (size_t)cJSON_GetArraySize(entries), np = 0, nnew = 0, k = 0;
    if (n > GW_CATALOG_MAX_ENTRIES)
        return gw_catalog_seterr(err, errlen, "%s: more than %u entries", name,
                                 GW_CATALOG_MAX_ENTRIES);
    struct pending *pend = calloc(n ? n : 1, sizeof *pend);
    int rc = pend ? 0 : AIGW_ENOMEM;
    for (const cJSON *it = entries->child; it && !rc; it = it->next, k++) {
        char where[96];
        if (keyed)
            snprintf(where, sizeof where, "\"%.80s\"", it->string);
        else
            snprintf(where, sizeof where, "[%zu]", k);
        struct gw_entry_ctx c = {name, where, k, NULL, NULL, 1, err, errlen};
        rc = stage(cat, it, keyed, &c, pend, &np, &nnew);
    }
    struct index ix;
    if (!rc && !(rc = gw_catalog_reserve(cat, nnew)) &&
        !(rc = gw_catalog_index_alloc(&ix, cat->n + nnew, cat->nnames))) {
        /* Nothing below can fail. */
        for (size_t i = 0; i < np; i++) {
            struct gw_model *m = pend[i].target ? pend[i].target : gw_catalog_add_entry(cat);
            if (pend[i].target)
                gw_catalog_release(cat, m);
            *m = pend[i].m;
        }
        free(pend);
        gw_catalog_index_fill(cat, &ix);
        gw_catalog_index_free(&cat->ix);
        cat->ix = ix;
        cat->gen = gw_catalog_next_gen(); /* entries found before may have changed */
        return 0;
    }
    if (rc == AIGW_ENOMEM)
        gw_catalog_seterr(err, errlen, "%s: out of memory", name);
    else if (rc == AIGW_ETOOBIG)
        gw_catalog_seterr(err, errlen, "%s: the catalog would exceed %u entries", name,
                          GW_CATALOG_MAX_ENTRIES);
    pending_free(pend, np);
    return rc;
}
