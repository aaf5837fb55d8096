/*
 * route_int - what route_config.c (parsing "routing") hands route_router.c (the router's
 * life). Private to core/route.
 */
#ifndef AIGW_ROUTE_INT_H
#define AIGW_ROUTE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "route/route.h"
#include "route/strategy.h"

/* Fills r (defaults already set) from the "routing" object; a failure names the key in err
 * and may leave r partly filled (free it with gw_router_free). */
int gw_route_parse(struct gw_router *r, const cJSON *routing, char *err, size_t errsize);
void gw_route_free_targets(struct gw_rtargets *l);

/* ---- route_memo.c: a router's candidate lists, per (model, op, chosen list) ----
 * chosen: the rule's or variant's target list the request drew, NULL when none. An entry is
 * what candidates() found for that key on this router (the router, the catalog and the
 * plugin table do not change under it). At most 256 entries and 64 KiB: past that, nothing
 * more is kept. Threading: get runs on any thread at once without a lock; put takes one. */
struct gw_route_memo;
int gw_route_memo_new(struct gw_route_memo **out);
void gw_route_memo_free(struct gw_route_memo *m);
/* Copies the key's candidates into out (GW_ROUTE_MAX_CANDIDATES room), *n their count;
 * returns whether the strategy is bypassed (0 or 1), or -1 when the key has no entry. */
int gw_route_memo_get(struct gw_route_memo *m, const char *model, int op, const void *chosen,
                      struct gw_cand *out, int *n);
/* Keeps v[0..n) for the key unless it has an entry or the memo is full. Candidate models that
 * point into `model` are kept as pointers into the entry's own copy of it. */
void gw_route_memo_put(struct gw_route_memo *m, const char *model, int op, const void *chosen,
                       int bypass, const struct gw_cand *v, int n);
size_t gw_route_memo_count(const struct gw_route_memo *m); /* entries, for tests */

#endif
