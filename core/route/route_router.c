/* route_router - a router's life: defaults, the parsed "routing" object, a health slot pinned
 * for every target (kept across a reload when it fits), and its free (route.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "route/route.h"
#include "route/route_int.h"
#include "route/strategy.h"

#define STATS_SLOTS 512

static int track_list(struct gw_router *r, struct gw_rtargets *l)
{
    for (int i = 0; i < l->n; i++) {
        struct gw_rtarget *t = &l->v[i];
        if (t->plugin && t->model && !(t->stat = gw_tstats_get(r->stats, t->plugin, t->model, 1)))
            return AIGW_ENOMEM;
    }
    return 0;
}

/* Pins a health slot for every configured (provider, model) and every provider; in keep's
 * table when its latency settings are the same (a reload keeps breakers and latencies). */
static int track_all(struct gw_router *r, struct gw_tstats *keep)
{
    int rc = 0;
    if (keep && gw_tstats_fits(keep, r->latency_window, r->latency_min_samples))
        r->stats = gw_tstats_ref(keep);
    else
        rc = gw_tstats_new(&r->stats, STATS_SLOTS, r->latency_window, r->latency_min_samples);
    for (size_t i = 0; !rc && i < r->plugins->n; i++)
        if (!gw_tstats_get(r->stats, r->plugins->items[i], "", 1))
            rc = AIGW_ENOMEM;
    if (!rc)
        rc = track_list(r, &r->targets);
    for (size_t i = 0; !rc && i < r->naliases; i++)
        rc = track_list(r, &r->alias_v[i].targets);
    for (size_t i = 0; !rc && i < r->nrules; i++)
        rc = track_list(r, &r->rules[i].targets);
    for (size_t i = 0; !rc && i < r->nvariants; i++)
        rc = track_list(r, &r->variants[i].targets);
    return rc;
}

int gw_router_init(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                   const struct gw_catalog *cat, char *err, size_t errsize)
{
    return gw_router_init_keep(r, routing, ps, cat, NULL, err, errsize);
}

int gw_router_init_keep(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                        const struct gw_catalog *cat, const struct gw_router *prev, char *err,
                        size_t errsize)
{
    static const struct gw_plugins none = {0};
    memset(r, 0, sizeof *r);
    r->plugins = ps ? ps : &none;
    r->catalog = cat;
    r->strategy = GW_STRATEGY_FALLBACK;
    r->max_attempts = GW_ROUTE_MAX_ATTEMPTS_DEFAULT;
    r->backoff_ms = 200;
    r->backoff_max_ms = 5000;
    r->retry_after_cap_ms = 30000;
    r->breaker.threshold = 5;
    r->breaker.cooldown_ms = 30000;
    r->explore_ratio = 0.1;
    r->latency_window = 32;
    r->latency_min_samples = 5;
    r->clock_ms = gw_mono_ms;
    gw_retry_budget_init(&r->budget, 0.2, 10);
    int rc = routing ? gw_route_parse(r, routing, err, errsize) : 0;
    if (rc == AIGW_ENOMEM)
        snprintf(err, errsize, "routing: out of memory");
    if (!rc)
        rc = track_all(r, prev ? prev->stats : NULL);
    if (!rc && (rc = gw_route_memo_new(&r->memo)) == AIGW_ENOMEM)
        snprintf(err, errsize, "routing: out of memory");
    if (rc) {
        gw_router_free(r);
        return rc == AIGW_ENOMEM ? rc : AIGW_EINVAL;
    }
    snprintf(r->strategy_name, sizeof r->strategy_name, "%s", gw_strategy_name(r->strategy));
    return 0;
}

void gw_router_free(struct gw_router *r)
{
    gw_route_free_targets(&r->targets);
    for (size_t i = 0; r->alias_v && i < r->naliases; i++) {
        free(r->alias_v[i].name);
        gw_route_free_targets(&r->alias_v[i].targets);
    }
    free(r->alias_v);
    for (size_t i = 0; r->rules && i < r->nrules; i++) {
        gw_route_free_targets(&r->rules[i].targets);
        gw_rule_free(&r->rules[i]);
    }
    free(r->rules);
    for (size_t i = 0; r->variants && i < r->nvariants; i++) {
        free(r->variants[i].label);
        gw_route_free_targets(&r->variants[i].targets);
    }
    free(r->variants);
    gw_tstats_free(r->stats);
    gw_route_memo_free(r->memo);
    r->memo = NULL;
    r->alias_v = NULL;
    r->aliases = NULL;
    r->rules = NULL;
    r->variants = NULL;
    r->stats = NULL;
    r->naliases = r->nrules = r->nvariants = 0;
}
