/*
 * route_int - what route_config.c (parsing "routing") hands route_router.c (the router's
 * life). Private to core/route.
 */
#ifndef AIGW_ROUTE_INT_H
#define AIGW_ROUTE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "route/route.h"

/* Fills r (defaults already set) from the "routing" object; a failure names the key in err
 * and may leave r partly filled (free it with gw_router_free). */
int gw_route_parse(struct gw_router *r, const cJSON *routing, char *err, size_t errsize);
void gw_route_free_targets(struct gw_rtargets *l);

#endif
