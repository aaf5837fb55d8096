/*
 * route_fixture - what the routing unit tests share: a plugin table of fake providers (no
 * shared objects loaded), a small catalog, a settable clock, and helpers that build a router
 * from JSON text and route one request.
 */
#ifndef AIGW_TEST_ROUTE_FIXTURE_H
#define AIGW_TEST_ROUTE_FIXTURE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "route/route.h"

/* Providers: openai, azure-openai, anthropic, bedrock, groq, together, fireworks (all chat;
 * openai also embeddings) active; mistral loaded but inactive. */
extern struct gw_plugins rf_plugins;
extern struct gw_catalog *rf_catalog;
extern int64_t rf_now; /* the routers' clock (ms) */

void rf_setup(void);    /* Criterion .init */
void rf_teardown(void); /* Criterion .fini */
struct gw_plugin *rf_plugin(const char *vkey);
void rf_set_active(const char *vkey, int active);

/* gw_router_init from JSON text (NULL: no routing object); the clock is rf_now. */
int rf_router(struct gw_router *r, const char *json, char *err, size_t errsize);
/* rf_router that must succeed. */
void rf_router_ok(struct gw_router *r, const char *json);
/* The error text of a config that must fail. */
const char *rf_router_err(const char *json);

struct rf_req {
    const char *model;
    const char *x_provider;
    const char *body;    /* JSON; default {"model":..., "messages":[]} */
    const char *headers; /* "Name: value" lines */
    int op;              /* 0: chat */
    int plan;            /* gw_route_ctx.plan */
};

/* Routes one request; *e gets the error. Returns gw_route's result. */
int rf_route(struct gw_router *r, const struct rf_req *q, struct gw_route_result *out,
             struct gw_request_err *e);
/* The targets of a successful route as "vkey:model,vkey:model". Asserts success. */
const char *rf_targets(struct gw_router *r, const struct rf_req *q);
/* Only the first target's "vkey:model". */
const char *rf_first(struct gw_router *r, const struct rf_req *q);

/* Reports n outcomes (enum gw_route_outcome or HTTP status) for vkey:model. */
void rf_report(struct gw_router *r, const char *vkey, const char *model, int outcome, int n,
               int64_t latency_ms);

#endif
