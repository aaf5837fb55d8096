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
    int forced;     /* X-Provider */
    char label[64]; /* ab-test variant (or rule name), logged; "" when none */
};

/* What a strategy may look at. */
struct gw_route_ctx {
    int op;                 /* enum aigw_op */
    const char *model;      /* as the client sent it */
    const char *x_provider; /* NULL when absent */
    const cJSON *body;      /* the validated request */
    /* A request header by name (case-insensitive), or NULL. */
    const char *(*header)(void *ud, const char *name);
    void *header_ud;
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
/* Ordered targets for one request (targets have the op's capability). */
int gw_route(struct gw_router *r, const struct gw_route_ctx *ctx, struct gw_route_result *out,
             struct gw_request_err *err);
/* The outcome of one attempt on t: feeds circuit breakers and latency statistics. */
void gw_route_report(struct gw_router *r, const struct gw_target *t, int success,
                     int64_t latency_ms);
/* Counts a client request (for the retry budget). */
void gw_route_note_request(struct gw_router *r);
/* 1 when one more upstream call for a retry or fallback fits the retry budget (and takes it). */
int gw_route_retry_allowed(struct gw_router *r);
void gw_router_free(struct gw_router *r);

#endif
