/*
 * route - turns a request's model (and X-Provider header) into an ordered list of targets:
 * provider plugin + the model id that provider knows it by; and keeps what the attempts on
 * those targets teach (circuit breakers, latency, the retry budget).
 *
 * Candidates, first rule that applies:
 *   1. X-Provider: exactly that provider (400 listing the active ones when it is unknown or
 *      inactive); the strategy is bypassed.
 *   2. "vkey/model" naming an active provider: that target; the strategy is bypassed.
 *   3. conditional / content-based: the targets of the first rule that matches;
 *      ab-test: the targets of a variant drawn by weight (its label is logged).
 *   4. an alias from the config: its targets.
 *   5. routing.targets: a target that pins a model always; one without, when the catalog
 *      lists the model for its provider or does not know the model at all.
 *   6. every active provider the catalog lists the model for.
 *   7. the only active provider.
 * Then the strategy orders them (single keeps one; fallback keeps the order; loadbalance
 * draws by weight, weight 0 drains; least-latency puts the fastest median first, cold
 * targets first to measure them; cost-optimized puts the cheapest catalog price first), and
 * targets whose circuit breaker is open are left out.
 *
 * The model sent to a target that does not pin one: the alias's model for that provider,
 * else the model with that provider's "vkey/" prefix removed, else the client's model.
 *
 * A router finds a model's candidates (steps 2 to 7, before the strategy and the breakers)
 * once and keeps them in its memo (route_memo.c), per model, op and the list a rule or
 * variant drew; models known to neither the config nor the catalog are not kept. A reload
 * builds a new router with an empty memo. Providers are activated once, at load: one that is
 * inactive now (tests switch them off) is left out at once; the memo never adds one.
 *
 * Threading: a router is built on one thread (at startup, or by a reload: a new router, never
 * a change to one in use) and read-only afterwards but for its memo (lock-free reads, inserts
 * under its own lock). gw_route,
 * gw_route_next, gw_route_report_status and the budget functions run on any thread at once; their
 * shared state is atomics and per-target locks (breaker.h), with no lock across targets.
 */
#ifndef GW_ROUTE_H
#define GW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/reqerr.h"
#include "plugin/plugin_loader.h"
#include "route/breaker.h"
#include "route/retry_budget.h"

struct gw_catalog;
struct gw_model;
struct gw_route_memo;
struct gw_rule;

#define GW_ROUTE_MAX_TARGETS 8     /* per request, after ordering */
#define GW_ROUTE_MAX_CANDIDATES 32 /* per configured list, and per request before ordering */
#define GW_ROUTE_MAX_ATTEMPTS_DEFAULT 3
#define GW_ROUTE_LABEL_MAX 64

enum gw_strategy {
    GW_STRATEGY_SINGLE = 0,
    GW_STRATEGY_FALLBACK,
    GW_STRATEGY_LOADBALANCE,
    GW_STRATEGY_LEAST_LATENCY,
    GW_STRATEGY_COST,
    GW_STRATEGY_CONDITIONAL,
    GW_STRATEGY_CONTENT,
    GW_STRATEGY_AB_TEST,
};

/* What one attempt on a target came to, for gw_route_report_status: GW_ROUTE_OK, an HTTP
 * status >= 400 from the upstream, or one of the negative classes. */
enum gw_route_outcome {
    GW_ROUTE_OK = 0,
    GW_ROUTE_ETRANSPORT = -1, /* connect error, reset, timeout */
    GW_ROUTE_EPROTO = -2,     /* the upstream broke its protocol */
    GW_ROUTE_CANCELLED = -3,  /* client gone or shutting down: says nothing about the target */
    GW_ROUTE_EFAILED = -4,    /* failed, class unknown */
};

struct gw_target {
    struct gw_plugin *plugin;
    /* The router's, the catalog's or the request's own string (its parsed body), never
     * copied: valid while the request that routed lives. A copy here was half of a held
     * stream's request struct (8 x 256 bytes). */
    const char *model;
    struct gw_tstat *stat; /* its health slot (router-owned); NULL when untracked */
    const char *label;     /* the configured target's label (router-owned), or NULL */
};

/* The memo of t's own (provider, model) pair for another module (the metrics' label values),
 * or NULL when t has none: untracked, or sharing its provider's slot (a model neither config
 * nor catalog knows). */
static inline struct gw_memo *gw_target_memo(const struct gw_target *t)
{
    return t && t->stat && t->stat->model[0] ? &t->stat->metrics : NULL;
}

/* gw_catalog_find(cat, p's vkey, model), found once per pair and catalog: kept in stat when
 * that is the pair's own health slot (a target's or candidate's stat), else looked up. */
const struct gw_model *gw_pair_entry(struct gw_tstat *stat, const struct gw_plugin *p,
                                     const char *model, const struct gw_catalog *cat);
/* The same for the target a request is on (prices for its cost and its key's limits). */
static inline const struct gw_model *gw_target_entry(const struct gw_target *t,
                                                     const struct gw_catalog *cat)
{
    return gw_pair_entry(t->stat, t->plugin, t->model, cat);
}

struct gw_route_result {
    struct gw_target targets[GW_ROUTE_MAX_TARGETS];
    int n;
    int forced;                     /* X-Provider */
    char label[GW_ROUTE_LABEL_MAX]; /* ab-test variant, rule name or first target's label; "" */
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
    /* 1: the targets in order, every breaker ignored and no probe claimed (a keyed request's
     * allowlist and price are judged before the response cache, which needs no healthy
     * target); gw_route_claim applies the breakers once a provider is really asked. */
    int plan;
};

/* A configured target. plugin NULL: `model` is a model name, resolved through the catalog
 * to every active provider that serves it (alias strings without a provider prefix). */
struct gw_rtarget {
    struct gw_plugin *plugin;
    char *model;           /* NULL: the request's model (as that provider knows it) */
    double weight;         /* loadbalance; default 1 */
    char *label;           /* NULL when none */
    struct gw_tstat *stat; /* when plugin and model are both set */
};

struct gw_rtargets {
    struct gw_rtarget *v;
    int n;
};

struct gw_alias {
    char *name;
    struct gw_rtargets targets;
};

struct gw_variant {
    char *label;
    double weight;
    struct gw_rtargets targets;
};

struct gw_router {
    const struct gw_plugins *plugins;
    const struct gw_catalog *catalog;
    int strategy; /* enum gw_strategy */
    char strategy_name[32];

    /* retries (read by the gateway) */
    int max_attempts; /* per request, across targets */
    long backoff_ms;
    long backoff_max_ms;
    long retry_after_cap_ms;

    const cJSON *aliases; /* the config's aliases object (listed by /v1/models), or NULL */
    struct gw_rtargets targets;
    struct gw_alias *alias_v; /* compiled aliases, sorted by name */
    size_t naliases;
    struct gw_rule *rules;
    size_t nrules;
    struct gw_variant *variants;
    size_t nvariants;

    struct gw_breaker_cfg breaker;
    int cost_exclude_unpriced; /* cost.unpriced "exclude" (else "last") */
    double explore_ratio;      /* least_latency */
    int latency_window, latency_min_samples;

    struct gw_tstats *stats;
    /* Each model's candidates as this router found them (route_memo.c): a reload's new
     * router starts without, so no answer outlives the config it came from. */
    struct gw_route_memo *memo;
    struct gw_retry_budget budget;
    int64_t (*clock_ms)(void); /* monotonic ms; tests replace it */
};

/* Validates routing (NULL: defaults) and builds the router. Bad config: AIGW_EINVAL and
 * "routing.<key>: reason" in err. Providers named in targets must be loaded (active or not). */
int gw_router_init(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                   const struct gw_catalog *cat, char *err, size_t errsize);
/* The same, for a reload: the new router shares prev's health table (breakers, latencies)
 * when its latency window and min_samples are unchanged, so reloading does not close an open
 * breaker or cool down a warm target. prev stays usable (requests still on it). */
int gw_router_init_keep(struct gw_router *r, const cJSON *routing, const struct gw_plugins *ps,
                        const struct gw_catalog *cat, const struct gw_router *prev, char *err,
                        size_t errsize);
/* Ordered targets for one request (targets have the op's capability). On failure err holds
 * the client's error: 400 bad X-Provider, 404 unknown model, 503 nothing available (no
 * provider, every target drained or its circuit breaker open). The first target is claimed:
 * when its breaker is half-open, this request is the probe. */
int gw_route(struct gw_router *r, const struct gw_route_ctx *ctx, struct gw_route_result *out,
             struct gw_request_err *err);
/* The breakers on a planned result (gw_route_ctx.plan), in place: targets whose breaker is
 * open are left out and the first left is claimed, as gw_route does. 0, or 503 circuit_open
 * in err when every target is open (res then unchanged). */
int gw_route_claim(struct gw_router *r, struct gw_route_result *res, const char *model,
                   struct gw_request_err *err);
/* After the attempt on targets[current] failed: the index of the target to try next - the
 * next in order (wrapping around) whose circuit breaker lets a call through, claiming a
 * half-open probe - or -1 when none does. The gateway backs off before the attempt when the
 * index is <= current (a target is tried again). */
int gw_route_next(struct gw_router *r, const struct gw_route_result *res, int current);
/* The same, never choosing a target whose bit (1u << index) is set in skip: one that asked
 * not to be retried (x-should-retry: false). */
int gw_route_next_but(struct gw_router *r, const struct gw_route_result *res, int current,
                      unsigned skip);
/* The target gw_route_next (or gw_route) gave is not asked after all (a deadline or a budget
 * ran out first): a half-open probe it claimed is given back, so the next request probes
 * instead of the target waiting out another whole lease. */
void gw_route_unclaim(struct gw_router *r, const struct gw_target *t);
/* The outcome of one attempt on t (enum gw_route_outcome or an HTTP status): feeds its
 * circuit breaker (transport and protocol errors, 408, 429 and 5xx count as failures; other
 * 4xx and cancels count for nothing) and, on success, its latency (time to first byte for
 * streams, whole response otherwise). */
void gw_route_report_status(struct gw_router *r, const struct gw_target *t, int outcome,
                            int64_t latency_ms);
/* Counts a client request (for the retry budget). */
void gw_route_note_request(struct gw_router *r);
/* 1 when one more upstream call for a retry or fallback fits the retry budget (and takes it). */
int gw_route_retry_allowed(struct gw_router *r);
/* The delay before attempt number `attempt` + 1 on a target already tried: Retry-After
 * (retry_after_ms >= 0) up to retry.retry_after_cap_ms, else exponential backoff from
 * retry.backoff_ms, capped at retry.backoff_max_ms, with jitter (half fixed, half random). */
int64_t gw_route_backoff_ms(const struct gw_router *r, int attempt, int64_t retry_after_ms);
void gw_router_free(struct gw_router *r);

/* Per-thread xorshift randomness for the strategies and jitter (never rand()). */
uint64_t gw_route_rand(void);
double gw_route_rand_unit(void);        /* [0, 1) */
void gw_route_rand_seed(uint64_t seed); /* this thread's sequence, for tests */

#endif
