/* route - model and X-Provider to targets (see route.h). */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"
#include "catalog.h"

static unsigned cap_for_op(int op)
{
    switch (op) {
    case AIGW_OP_EMBEDDINGS:
        return AIGW_CAP_EMBEDDINGS;
    case AIGW_OP_IMAGES:
        return AIGW_CAP_IMAGES;
    default:
        return AIGW_CAP_CHAT;
    }
}

int gw_router_init(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                   const struct gw_catalog *cat, char *err, size_t errsize)
{
    memset(r, 0, sizeof *r);
    r->plugins = ps;
    r->catalog = cat;
    snprintf(r->strategy, sizeof r->strategy, "fallback");
    r->max_attempts = GW_ROUTE_MAX_ATTEMPTS_DEFAULT;
    r->backoff_ms = 200;
    r->backoff_max_ms = 5000;
    r->retry_after_cap_ms = 30000;
    if (!routing)
        return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, routing)
    {
        const char *k = it->string;
        if (!strcmp(k, "strategy")) {
            if (!cJSON_IsString(it) ||
                (strcmp(it->valuestring, "fallback") && strcmp(it->valuestring, "single"))) {
                snprintf(err, errsize, "routing.strategy: '%s' is not a known strategy",
                         cJSON_IsString(it) ? it->valuestring : "?");
                return AIGW_EINVAL;
            }
            snprintf(r->strategy, sizeof r->strategy, "%s", it->valuestring);
        } else if (!strcmp(k, "aliases")) {
            if (!cJSON_IsObject(it)) {
                snprintf(err, errsize, "routing.aliases: expected object");
                return AIGW_EINVAL;
            }
            r->aliases = it;
        } else if (!strcmp(k, "targets")) {
            if (!cJSON_IsArray(it)) {
                snprintf(err, errsize, "routing.targets: expected array");
                return AIGW_EINVAL;
            }
            const cJSON *t;
            cJSON_ArrayForEach(t, it)
            {
                if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "provider"))) {
                    snprintf(err, errsize, "routing.targets: every target needs a 'provider'");
                    return AIGW_EINVAL;
                }
            }
            r->targets = it;
        } else if (!strcmp(k, "max_attempts") && cJSON_IsNumber(it) && it->valueint >= 1 &&
                   it->valueint <= 10) {
            r->max_attempts = it->valueint;
        } else if (!strcmp(k, "backoff_ms") && cJSON_IsNumber(it) && it->valueint >= 0) {
            r->backoff_ms = it->valueint;
        } else if (!strcmp(k, "backoff_max_ms") && cJSON_IsNumber(it) && it->valueint >= 0) {
            r->backoff_max_ms = it->valueint;
        } else if (!strcmp(k, "retry_after_cap_ms") && cJSON_IsNumber(it) && it->valueint >= 0) {
            r->retry_after_cap_ms = it->valueint;
        } else {
            snprintf(err, errsize, "routing.%s: unknown key or bad value", k);
            return AIGW_EINVAL;
        }
    }
    return 0;
}

static int add_target(struct gw_route_result *out, struct gw_plugin *p, const char *model)
{
    for (int i = 0; i < out->n; i++)
        if (out->targets[i].plugin == p && !strcmp(out->targets[i].model, model))
            return 0;
    if (out->n >= GW_ROUTE_MAX_TARGETS)
        return 0;
    out->targets[out->n].plugin = p;
    snprintf(out->targets[out->n].model, sizeof out->targets[out->n].model, "%s", model);
    out->n++;
    return 1;
}

static int usable(const struct gw_plugin *p, int op)
{
    return p && p->active && (p->desc.capabilities & cap_for_op(op));
}

/* "vkey/model" where vkey is an active provider: returns the plugin, *rest the model. */
static struct gw_plugin *prefixed(const struct gw_router *r, const char *model, const char **rest)
{
    const char *slash = strchr(model, '/');
    if (!slash || slash == model || (size_t)(slash - model) >= 64)
        return NULL;
    char vkey[64];
    memcpy(vkey, model, (size_t)(slash - model));
    vkey[slash - model] = '\0';
    struct gw_plugin *p = gw_plugins_find(r->plugins, vkey);
    if (p && p->active) {
        *rest = slash + 1;
        return p;
    }
    return NULL;
}

static void resolve_one(const struct gw_router *r, int op, const char *model,
                        struct gw_route_result *out)
{
    const char *rest;
    struct gw_plugin *p = prefixed(r, model, &rest);
    if (p) {
        if (usable(p, op))
            add_target(out, p, rest);
        return;
    }
    if (r->catalog) {
        const struct gw_model *found[32];
        size_t n = gw_catalog_find_all(r->catalog, model, found, 32);
        for (size_t i = 0; i < n && i < 32; i++) {
            struct gw_plugin *cp = gw_plugins_find(r->plugins, found[i]->provider);
            if (usable(cp, op))
                add_target(out, cp, found[i]->id);
        }
    }
}

void gw_route_report(struct gw_router *r, const struct gw_target *t, int success,
                     int64_t latency_ms)
{
    (void)r;
    (void)t;
    (void)success;
    (void)latency_ms;
}

void gw_route_note_request(struct gw_router *r)
{
    (void)r;
}

int gw_route_retry_allowed(struct gw_router *r)
{
    (void)r;
    return 1;
}

void gw_router_free(struct gw_router *r)
{
    (void)r;
}

int gw_route(struct gw_router *r, const struct gw_route_ctx *ctx, struct gw_route_result *out,
             struct gw_request_err *err)
{
    int op = ctx->op;
    const char *model = ctx->model;
    const char *x_provider = ctx->x_provider;
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (x_provider && *x_provider) {
        struct gw_plugin *p = gw_plugins_find(r->plugins, x_provider);
        if (!p || !p->active) {
            char list[384];
            gw_plugins_active_list(r->plugins, list, sizeof list);
            err->status = 400;
            err->param = "X-Provider";
            err->code = "unknown_provider";
            snprintf(err->message, sizeof err->message,
                     "X-Provider '%.64s' is not an active provider; active providers: %s",
                     x_provider, list[0] ? list : "none");
            return AIGW_EINVAL;
        }
        if (!usable(p, op)) {
            err->status = 400;
            err->param = "X-Provider";
            err->code = "unsupported";
            snprintf(err->message, sizeof err->message,
                     "provider '%s' does not support this endpoint", p->desc.vkey);
            return AIGW_EINVAL;
        }
        const char *rest;
        struct gw_plugin *pp = prefixed(r, model, &rest);
        add_target(out, p, pp == p ? rest : model);
        out->forced = 1;
        return 0;
    }
    const cJSON *alias = r->aliases ? cJSON_GetObjectItemCaseSensitive(r->aliases, model) : NULL;
    if (cJSON_IsString(alias)) {
        resolve_one(r, op, alias->valuestring, out);
    } else if (cJSON_IsArray(alias)) {
        const cJSON *a;
        cJSON_ArrayForEach(a, alias)
        {
            if (cJSON_IsString(a))
                resolve_one(r, op, a->valuestring, out);
        }
    } else {
        resolve_one(r, op, model, out);
    }
    if (out->n == 0 && !alias) {
        /* Unknown to the catalog: the configured targets serve it, or the only provider. */
        const cJSON *t;
        cJSON_ArrayForEach(t, r->targets)
        {
            const char *vk = cJSON_GetObjectItemCaseSensitive(t, "provider")->valuestring;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "model");
            struct gw_plugin *p = gw_plugins_find(r->plugins, vk);
            if (usable(p, op))
                add_target(out, p, cJSON_IsString(m) ? m->valuestring : model);
        }
        if (out->n == 0) {
            struct gw_plugin *only = NULL;
            int count = 0;
            for (size_t i = 0; i < r->plugins->n; i++)
                if (usable(r->plugins->items[i], op)) {
                    only = r->plugins->items[i];
                    count++;
                }
            if (count == 1)
                add_target(out, only, model);
        }
    }
    if (!strcmp(r->strategy, "single") && out->n > 1)
        out->n = 1;
    if (out->n == 0) {
        size_t active = gw_plugins_active_count(r->plugins);
        err->status = active ? 404 : 503;
        err->code = active ? "model_not_found" : "no_provider";
        err->param = active ? "model" : NULL;
        if (active)
            snprintf(err->message, sizeof err->message,
                     "no active provider serves model '%.128s' for this endpoint; name one "
                     "with a 'provider/model' prefix or the X-Provider header",
                     model);
        else
            snprintf(err->message, sizeof err->message,
                     "no provider is active: set a provider's environment variables%s", "");
        return AIGW_EINVAL;
    }
    return 0;
}
