/*
 * strategy - the router's decisions about one request once its candidates are known:
 * ordering them (strategy.c: single, fallback, loadbalance, least-latency, cost-optimized),
 * choosing a rule's or a variant's targets (strategy_rules.c: conditional, content-based,
 * ab-test), and the per-thread randomness both use. Internal to route*.c.
 *
 * Threading: reads the router's configuration (immutable) and the per-target statistics
 * (atomics); keeps nothing of its own but each thread's random state.
 */
#ifndef GW_STRATEGY_H
#define GW_STRATEGY_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "route/route.h"

/* The largest amount of user text content rules look at (bytes; the rest is ignored). */
#define GW_ROUTE_TEXT_MAX (256 * 1024)

/* One target a request could go to, before ordering. Strings are borrowed from the router,
 * the catalog or the request, all of which outlive the gw_route call. */
struct gw_cand {
    struct gw_plugin *plugin;
    const char *model;
    double weight;
    const char *label;
    struct gw_tstat *stat;
    double price;    /* cost-optimized: blended USD per 1M tokens; < 0 unpriced */
    int64_t latency; /* least-latency: median ms; < 0 cold */
};

struct gw_strlist {
    char **v;
    int n;
};

struct gw_rule {
    char *name; /* NULL when unnamed */
    struct gw_strlist model, model_prefix, contains, not_contains;
    char *header_name, *header_value; /* value NULL: the header is present */
    char *meta_key;
    cJSON *meta_value; /* NULL: the key is present */
    regex_t regex;
    int has_regex;
    int case_sensitive;
    int needs_text; /* has a text condition */
    struct gw_rtargets targets;
};

/* ---- strategy.c ---- */

/* enum gw_strategy for a config name, or -1. */
int gw_strategy_from_name(const char *name);
const char *gw_strategy_name(int strategy);
/* Orders c[0..n) in place for the router's strategy; returns how many remain (loadbalance
 * drops weight 0, cost-optimized with unpriced "exclude" drops unpriced targets). */
int gw_strategy_order(const struct gw_router *r, struct gw_cand *c, int n);
/* An index drawn with probability weight[i] / sum; -1 when no weight is positive. */
int gw_weighted_pick(const double *weight, int n);

/* ---- strategy_rules.c ---- */

/* Parses a rule's "when" object (path: "routing.rules[i].when"). 0, or AIGW_EINVAL with
 * "<path>.<key>: reason" in err. The rule must be zeroed; free it with gw_rule_free. */
int gw_rule_parse_when(struct gw_rule *rule, const cJSON *when, const char *path, char *err,
                       size_t errsize);
void gw_rule_free(struct gw_rule *rule);
/* The first rule whose conditions all hold for the request, or NULL. */
const struct gw_rule *gw_rules_match(const struct gw_router *r, const struct gw_route_ctx *ctx);
/* A variant drawn by weight, or NULL when there are none. */
const struct gw_variant *gw_variant_pick(const struct gw_router *r);
/* The text content rules look at: the last user message's text (chat), else the request's
 * "input" or "prompt" strings, joined by '\n', at most cap - 1 bytes. Returns the length. */
size_t gw_route_user_text(const cJSON *body, char *buf, size_t cap);

#endif
