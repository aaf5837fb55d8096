/* models - /v1/models from the catalog, the live lists and the aliases (see models.h). */
#include "proxy/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"
#include "proxy/gateway.h"
#include "proxy/models_live.h"
#include "proxy/snapshot.h"

static void add_price(cJSON *o, const char *key, double usd)
{
    if (usd >= 0)
        cJSON_AddNumberToObject(o, key, usd);
}

static void add_extras(cJSON *o, const struct gw_model *m)
{
    cJSON_AddStringToObject(o, "mode", gw_mode_name(m->mode));
    if (m->context >= 0)
        cJSON_AddNumberToObject(o, "context_window", (double)m->context);
    if (m->max_output >= 0)
        cJSON_AddNumberToObject(o, "max_output_tokens", (double)m->max_output);
    cJSON *p = cJSON_AddObjectToObject(o, "pricing");
    add_price(p, "input_per_mtok", m->price.in);
    add_price(p, "output_per_mtok", m->price.out);
    add_price(p, "cache_read_per_mtok", m->price.cache_read);
    add_price(p, "cache_write_per_mtok", m->price.cache_write);
    add_price(p, "per_image", m->price.unit[GW_UNIT_IMAGE]);
    add_price(p, "per_second", m->price.unit[GW_UNIT_SECOND]);
    cJSON *caps = cJSON_AddArrayToObject(o, "capabilities");
    for (unsigned b = 0; b < GW_MCAP_COUNT; b++)
        if (m->caps & (1u << b))
            cJSON_AddItemToArray(caps, cJSON_CreateString(gw_model_cap_name(1u << b)));
    if (m->deprecated_on[0])
        cJSON_AddStringToObject(o, "deprecation_date", m->deprecated_on);
}

/* One model object. upstream NULL: an alias (id is its name). Otherwise id is
 * "<owner>/<upstream>"; m gives the catalog's extras (NULL: none known); live marks an id the
 * provider's server reported. */
static cJSON *model_json(const struct gw_gateway *gw, const char *owner, const char *id,
                         const char *upstream, const struct gw_model *m, int live)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char *full = NULL;
    if (upstream) {
        size_t n = strlen(owner) + strlen(upstream) + 2;
        full = malloc(n);
        if (!full) {
            cJSON_Delete(o);
            return NULL;
        }
        snprintf(full, n, "%s/%s", owner, upstream);
        id = full;
    }
    cJSON_AddStringToObject(o, "id", id);
    free(full);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)gw->started_unix);
    cJSON_AddStringToObject(o, "owned_by", owner);
    if (!upstream)
        return o;
    cJSON_AddStringToObject(o, "provider", owner);
    cJSON_AddStringToObject(o, "upstream_id", upstream);
    if (live)
        cJSON_AddBoolToObject(o, "live", 1);
    if (m)
        add_extras(o, m);
    return o;
}

static int add_item(cJSON *arr, cJSON *item)
{
    if (!item)
        return AIGW_ENOMEM;
    cJSON_AddItemToArray(arr, item);
    return 0;
}

/* The catalog entry whose id is exactly `id` (it is then listed from the catalog). */
static int in_catalog(const struct gw_catalog *cat, const char *vkey, const char *id)
{
    const struct gw_model *m = cat ? gw_catalog_get(cat, vkey, id) : NULL;
    return m && !strcmp(m->id, id);
}

/* Catalog extras for a reported id: the catalog's variants of it (gw_catalog_find), then the
 * id without Ollama's default ":latest" tag ("codellama:latest" is "codellama"). */
static const struct gw_model *extras_for(const struct gw_catalog *cat, const char *vkey,
                                         const char *id)
{
    if (!cat)
        return NULL;
    const struct gw_model *m = gw_catalog_find(cat, vkey, id);
    size_t n = strlen(id);
    if (m || n <= 7 || n > GW_LIVE_MAX_ID || strcmp(id + n - 7, ":latest"))
        return m;
    char base[GW_LIVE_MAX_ID + 1];
    memcpy(base, id, n - 7);
    base[n - 7] = '\0';
    return gw_catalog_find(cat, vkey, base);
}

static int emit(cJSON *doc, struct gw_buf *out)
{
    if (!doc)
        return AIGW_ENOMEM;
    char *s = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!s)
        return AIGW_ENOMEM;
    int rc = gw_buf_append_str(out, s);
    free(s);
    return rc;
}

static int list_provider(const struct gw_gateway *gw, const char *vkey,
                         const struct gw_live_list *live, cJSON *data)
{
    const struct gw_model *const *ms = NULL;
    size_t n = gw->catalog ? gw_catalog_list(gw->catalog, vkey, &ms) : 0;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = add_item(
            data, model_json(gw, vkey, NULL, ms[k]->id, ms[k], gw_live_list_has(live, ms[k]->id)));
    for (size_t k = 0; live && k < live->n && rc == 0; k++) {
        const char *id = live->ids[k];
        if (!in_catalog(gw->catalog, vkey, id))
            rc = add_item(data,
                          model_json(gw, vkey, NULL, id, extras_for(gw->catalog, vkey, id), 1));
    }
    return rc;
}

int gw_models_list(const struct gw_gateway *gw, const struct gw_live_snap *live, struct gw_buf *out)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return AIGW_ENOMEM;
    cJSON_AddStringToObject(doc, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(doc, "data");
    int rc = data ? 0 : AIGW_ENOMEM;
    for (size_t i = 0; i < gw->plugins->n && rc == 0; i++) {
        const struct gw_plugin *p = gw->plugins->items[i];
        if (p->active)
            rc = list_provider(gw, p->desc.vkey, gw_live_snap_get(live, i), data);
    }
    const cJSON *a;
    struct gw_snap *snap = gw_snap_acquire(gw); /* the aliases in effect now */
    cJSON_ArrayForEach(a, snap->router.aliases)
    {
        if (rc == 0)
            rc = add_item(data, model_json(gw, "alias", a->string, NULL, NULL, 0));
    }
    gw_snap_release(snap);
    if (rc < 0) {
        cJSON_Delete(doc);
        return rc;
    }
    return emit(doc, out);
}

int gw_models_get(const struct gw_gateway *gw, const struct gw_live_snap *live, const char *id,
                  struct gw_buf *out)
{
    struct gw_snap *snap = gw_snap_acquire(gw);
    const cJSON *alias =
        snap->router.aliases ? cJSON_GetObjectItemCaseSensitive(snap->router.aliases, id) : NULL;
    gw_snap_release(snap);
    if (alias)
        return emit(model_json(gw, "alias", id, NULL, NULL, 0), out);
    const char *slash = strchr(id, '/');
    if (!slash || (size_t)(slash - id) >= 64)
        return AIGW_EINVAL;
    char vkey[64];
    memcpy(vkey, id, (size_t)(slash - id));
    vkey[slash - id] = '\0';
    const char *model = slash + 1;
    size_t idx = 0;
    const struct gw_plugin *p = NULL;
    for (; idx < gw->plugins->n; idx++) {
        if (!strcmp(gw->plugins->items[idx]->desc.vkey, vkey)) {
            p = gw->plugins->items[idx];
            break;
        }
    }
    if (!p || !p->active)
        return AIGW_EINVAL;
    const struct gw_live_list *ll = gw_live_snap_get(live, idx);
    /* What the server reported is answered under the asked id, as it is listed. */
    if (gw_live_list_has(ll, model))
        return emit(model_json(gw, vkey, NULL, model, extras_for(gw->catalog, vkey, model), 1),
                    out);
    const struct gw_model *m = gw->catalog ? gw_catalog_find(gw->catalog, vkey, model) : NULL;
    if (!m)
        return AIGW_EINVAL;
    return emit(model_json(gw, vkey, NULL, m->id, m, gw_live_list_has(ll, m->id)), out);
}
