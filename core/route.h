/*
 * route - turns a request's model (and X-Provider header) into an ordered list of targets:
 * provider plugin + the model id that provider knows it by.
 *
 * Resolution: X-Provider forces one provider (400 listing the active ones when it is unknown
 * or inactive); a "vkey/model" prefix naming an active provider; an alias from the config;
 * otherwise every active provider the catalog says serves the model; and when the catalog
 * does not know the model, the configured targets, or else the only active provider.
 *
 * Threading: built at startup, read-only afterwards.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "plugin_loader.h"
#include "request.h"

struct gw_catalog;

#define GW_ROUTE_MAX_TARGETS 8
#define GW_ROUTE_MAX_ATTEMPTS_DEFAULT 3

struct gw_target {
    struct gw_plugin *plugin;
    char model[256];
};

struct gw_route_result {
    struct gw_target targets[GW_ROUTE_MAX_TARGETS];
    int n;
    int forced; /* X-Provider */
};

struct gw_router {
    const struct gw_plugins *plugins;
    const struct gw_catalog *catalog;
    const cJSON *aliases;      /* object: alias -> "vkey/model" or [..] */
    const cJSON *targets;      /* array of {"provider","model"?} */
    char strategy[32];
    int max_attempts;          /* per request, across targets */
    long backoff_ms;
    long backoff_max_ms;
    long retry_after_cap_ms;
};

int gw_router_init(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                   const struct gw_catalog *cat, char *err, size_t errsize);
/* op: enum aigw_op (targets must have the capability). */
int gw_route(const struct gw_router *r, int op, const char *model, const char *x_provider,
             struct gw_route_result *out, struct gw_request_err *err);

#endif
