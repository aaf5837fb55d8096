/* models - /v1/models from the catalog and the active providers (see models.h). */
#include "models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "catalog.h"
#include "gateway.h"

static void add_price(cJSON *o, const char *key, double usd)
{
    if (usd >= 0)
        cJSON_AddNumberToObject(o, key, usd);
}

static cJSON *model_json(const struct gw_gateway *gw, const char *vkey, const struct gw_model *m,
                         const char *id_override)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char id[600];
    if (id_override)
        snprintf(id, sizeof id, "%s", id_override);
    else
        snprintf(id, sizeof id, "%s/%s", vkey, m ? m->id : "");
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "object", "model");
    cJSON_AddNumberToObject(o, "created", (double)gw->started_unix);
    cJSON_AddStringToObject(o, "owned_by", vkey);
    if (!m)
        return o;
    cJSON_AddStringToObject(o, "provider", vkey);
    cJSON_AddStringToObject(o, "upstream_id", m->id);
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
    return o;
}

static int emit(cJSON *doc, struct gw_buf *out)
{
    char *s = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!s)
        return AIGW_ENOMEM;
    int rc = gw_buf_append_str(out, s);
    free(s);
    return rc;
}

int gw_models_list(const struct gw_gateway *gw, struct gw_buf *out)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return AIGW_ENOMEM;
    cJSON_AddStringToObject(doc, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(doc, "data");
    for (size_t i = 0; i < gw->plugins->n; i++) {
        const struct gw_plugin *p = gw->plugins->items[i];
        if (!p->active)
            continue;
        const struct gw_model *const *ms = NULL;
        size_t n = gw->catalog ? gw_catalog_list(gw->catalog, p->desc.vkey, &ms) : 0;
        for (size_t k = 0; k < n; k++)
            cJSON_AddItemToArray(data, model_json(gw, p->desc.vkey, ms[k], NULL));
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, gw->router.aliases)
    {
        cJSON *o = model_json(gw, "alias", NULL, a->string);
        cJSON_AddItemToArray(data, o);
    }
    return emit(doc, out);
}

int gw_models_get(const struct gw_gateway *gw, const char *id, struct gw_buf *out)
{
    const cJSON *alias = gw->router.aliases
                             ? cJSON_GetObjectItemCaseSensitive(gw->router.aliases, id)
                             : NULL;
    if (alias)
        return emit(model_json(gw, "alias", NULL, id), out);
    const char *slash = strchr(id, '/');
    if (!slash || (size_t)(slash - id) >= 64)
        return AIGW_EINVAL;
    char vkey[64];
    memcpy(vkey, id, (size_t)(slash - id));
    vkey[slash - id] = '\0';
    const struct gw_plugin *p = gw_plugins_find(gw->plugins, vkey);
    if (!p || !p->active || !gw->catalog)
        return AIGW_EINVAL;
    const struct gw_model *m = gw_catalog_find(gw->catalog, vkey, slash + 1);
    if (!m)
        return AIGW_EINVAL;
    return emit(model_json(gw, vkey, m, NULL), out);
}
