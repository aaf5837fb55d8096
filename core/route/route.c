/* route - model and X-Provider to targets; attempt outcomes to breakers (see route.h). */
#include "route/route.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "route/route_int.h"
#include "route/strategy.h"

struct cands {
    struct gw_cand v[GW_ROUTE_MAX_CANDIDATES];
    int n;
    int unknown; /* a candidate's pair is known to neither config nor catalog */
};

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

static const struct gw_alias *find_alias(const struct gw_router *r, const char *name)
{
    size_t lo = 0, hi = r->naliases;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->alias_v[mid].name, name);
        if (c == 0)
            return &r->alias_v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The catalog's id when it lists this exact model (any case) for p, else NULL. */
static const char *catalog_id(const struct gw_router *r, const struct gw_plugin *p,
                              const char *model)
{
    const struct gw_model *m = r->catalog ? gw_catalog_get(r->catalog, p->desc.vkey, model) : NULL;
    return m ? m->id : NULL;
}

/* The model a target without one sends to p: see route.h. *known: config or catalog knows
 * the pair (it then gets its own health slot, not the provider's). */
static const char *model_for(const struct gw_router *r, const struct gw_plugin *p,
                             const char *model, int *known)
{
    const struct gw_alias *a = find_alias(r, model);
    for (int i = 0; a && i < a->targets.n; i++)
        if (a->targets.v[i].plugin == p) {
            *known = 1;
            return a->targets.v[i].model;
        }
    const char *slash = strchr(model, '/');
    if (slash && (size_t)(slash - model) == strlen(p->desc.vkey) &&
        !strncmp(model, p->desc.vkey, (size_t)(slash - model)))
        model = slash + 1;
    const char *id = catalog_id(r, p, model);
    *known = id != NULL;
    return id ? id : model;
}

static void add(struct gw_router *r, struct cands *cs, int op, struct gw_plugin *p,
                const char *model, const struct gw_rtarget *rt, int known)
{
    if (!usable(p, op) || cs->n >= GW_ROUTE_MAX_CANDIDATES || strlen(model) >= 256)
        return;
    for (int i = 0; i < cs->n; i++)
        if (cs->v[i].plugin == p && !strcmp(cs->v[i].model, model))
            return;
    struct gw_cand *c = &cs->v[cs->n++];
    memset(c, 0, sizeof *c);
    c->plugin = p;
    c->model = model;
    c->weight = rt ? rt->weight : 1;
    c->label = rt ? rt->label : NULL;
    cs->unknown |= !known;
    /* Client-invented model names share the provider's slot, so they cannot fill the table. */
    c->stat = rt && rt->stat ? rt->stat : gw_tstats_get(r->stats, p, model, known);
}

/* Every active provider the catalog lists the model for (sorted by vkey). */
static void add_catalog(struct gw_router *r, struct cands *cs, int op, const char *model,
                        const struct gw_rtarget *rt)
{
    const struct gw_model *found[GW_ROUTE_MAX_CANDIDATES];
    size_t n =
        r->catalog ? gw_catalog_find_all(r->catalog, model, found, GW_ROUTE_MAX_CANDIDATES) : 0;
    for (size_t i = 0; i < n && i < GW_ROUTE_MAX_CANDIDATES; i++)
        add(r, cs, op, gw_plugins_find(r->plugins, found[i]->provider), found[i]->id, rt, 1);
}

/* pool: routing.targets, whose model-less entries only take models their provider serves. */
static void add_list(struct gw_router *r, struct cands *cs, const struct gw_route_ctx *ctx,
                     const struct gw_rtargets *l, int pool)
{
    int unknown = -1; /* does the catalog know the model at all? computed when needed */
    for (int i = 0; i < l->n; i++) {
        const struct gw_rtarget *t = &l->v[i];
        if (!t->plugin) {
            add_catalog(r, cs, ctx->op, t->model, t);
            continue;
        }
        if (t->model) {
            add(r, cs, ctx->op, t->plugin, t->model, t, 1);
            continue;
        }
        int known = 0;
        const char *m = model_for(r, t->plugin, ctx->model, &known);
        if (pool && !known) {
            if (unknown < 0)
                unknown = !r->catalog || gw_catalog_find_all(r->catalog, ctx->model, NULL, 0) == 0;
            if (!unknown)
                continue;
        }
        add(r, cs, ctx->op, t->plugin, m, t, known);
    }
}

static void add_only_active(struct gw_router *r, struct cands *cs, int op, const char *model)
{
    struct gw_plugin *only = NULL;
    int count = 0;
    for (size_t i = 0; i < r->plugins->n; i++)
        if (usable(r->plugins->items[i], op)) {
            only = r->plugins->items[i];
            count++;
        }
    if (count == 1) {
        int known = 0;
        add(r, cs, op, only, model_for(r, only, model, &known), NULL, known);
    }
}

static int fail(struct gw_request_err *err, int status, const char *code, const char *param,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct gw_request_err *err, int status, const char *code, const char *param,
                const char *fmt, ...)
{
    err->status = status;
    err->code = code;
    err->param = param;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static int x_provider(struct gw_router *r, const struct gw_route_ctx *ctx, struct cands *cs,
                      struct gw_request_err *err)
{
    struct gw_plugin *p = gw_plugins_find(r->plugins, ctx->x_provider);
    if (!p || !p->active) {
        char list[384];
        gw_plugins_active_list(r->plugins, list, sizeof list);
        return fail(err, 400, "unknown_provider", "X-Provider",
                    "X-Provider '%.64s' is not an active provider; active providers: %s",
                    ctx->x_provider, list[0] ? list : "none");
    }
    if (!usable(p, ctx->op))
        return fail(err, 400, "unsupported", "X-Provider",
                    "provider '%s' does not support this endpoint", p->desc.vkey);
    int known = 0;
    const char *m = model_for(r, p, ctx->model, &known);
    add(r, cs, ctx->op, p, m, NULL, known);
    return 0;
}

/* The router's memo of what candidates() found for (model, op, chosen), or -1. Used only
 * while every target in it can still take the op: a provider that went inactive sends the
 * request the long way, which leaves it out. */
static int memo_get(struct gw_router *r, const struct gw_route_ctx *ctx, const void *chosen,
                    struct cands *cs)
{
    int n = 0;
    int bypass = gw_route_memo_get(r->memo, ctx->model, ctx->op, chosen, cs->v, &n);
    if (bypass < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (!usable(cs->v[i].plugin, ctx->op))
            return -1;
    cs->n = n;
    return bypass;
}

/* Remembers a list only the config and catalog decided: a model a client made up (its pair
 * is unknown) is never kept, so clients cannot fill the memo with invented names. */
static void memo_put(struct gw_router *r, const struct gw_route_ctx *ctx, const void *chosen,
                     int bypass, const struct cands *cs)
{
    if (cs->n > 0 && !cs->unknown)
        gw_route_memo_put(r->memo, ctx->model, ctx->op, chosen, bypass, cs->v, cs->n);
}

/* Steps 2 to 7 of route.h. *label: the rule's or variant's. Returns 1 when the strategy is
 * bypassed (a provider prefix), 0 otherwise, or negative with err set. The answer depends on
 * the model, the op and the list a rule or variant drew (none without them): the router's
 * memo keeps it under that key. */
static int candidates(struct gw_router *r, const struct gw_route_ctx *ctx, struct cands *cs,
                      const char **label, struct gw_request_err *err)
{
    int plain = !r->nrules && !r->nvariants;
    int rc = plain ? memo_get(r, ctx, NULL, cs) : -1;
    if (rc >= 0)
        return rc;
    const char *model = ctx->model, *rest;
    struct gw_plugin *pp = prefixed(r, model, &rest);
    if (pp) {
        /* Named like X-Provider names it: without the endpoint, the client's mistake (else
         * no candidate would read as every breaker open). */
        if (!usable(pp, ctx->op))
            return fail(err, 400, "unsupported", "model",
                        "provider '%s' does not support this endpoint", pp->desc.vkey);
        add(r, cs, ctx->op, pp, rest, NULL, catalog_id(r, pp, rest) != NULL);
        if (plain)
            memo_put(r, ctx, NULL, 1, cs);
        return 1;
    }
    const struct gw_rtargets *chosen = NULL;
    const char *what = NULL;
    if (r->nrules) {
        const struct gw_rule *rule = gw_rules_match(r, ctx);
        if (rule) {
            chosen = &rule->targets;
            *label = rule->name;
            what = "the matching rule";
        }
    } else if (r->nvariants) {
        const struct gw_variant *v = gw_variant_pick(r);
        if (v) {
            chosen = &v->targets;
            *label = v->label;
            what = "the drawn variant";
        }
    }
    const void *drawn = chosen;
    if (!plain && (rc = memo_get(r, ctx, drawn, cs)) >= 0)
        return rc;
    const struct gw_alias *alias = chosen ? NULL : find_alias(r, model);
    if (alias) {
        chosen = &alias->targets;
        what = "the alias";
    }
    if (chosen) {
        add_list(r, cs, ctx, chosen, 0);
        if (cs->n == 0)
            return fail(err, 503, "no_provider", NULL,
                        "none of the targets of %s%s%s%s for model '%.128s' is active and "
                        "serves this endpoint",
                        what, *label ? " '" : "", *label ? *label : "", *label ? "'" : "", model);
        memo_put(r, ctx, drawn, 0, cs);
        return 0;
    }
    add_list(r, cs, ctx, &r->targets, 1);
    if (cs->n == 0)
        add_catalog(r, cs, ctx->op, model, NULL);
    if (cs->n == 0)
        add_only_active(r, cs, ctx->op, model);
    if (cs->n == 0) {
        if (gw_plugins_active_count(r->plugins))
            return fail(err, 404, "model_not_found", "model",
                        "no active provider serves model '%.128s' for this endpoint; name one "
                        "with a 'provider/model' prefix or the X-Provider header",
                        model);
        return fail(err, 503, "no_provider", NULL,
                    "no provider is active: set a provider's environment variables");
    }
    memo_put(r, ctx, drawn, 0, cs);
    return 0;
}

/* Why no target of a request may be asked: the breakers that are open. */
struct open_list {
    int64_t wait;
    char text[256];
    size_t len;
};

/* 1 when t may be asked now (first: it would be asked at once, so it may take the half-open
 * probe); else 0 with t noted in o. */
static int breaker_lets(struct gw_router *r, struct gw_tstat *stat, const struct gw_plugin *plugin,
                        const char *model, int first, int64_t now, struct open_list *o)
{
    struct gw_breaker *b = stat ? &stat->breaker : NULL;
    if (!b || gw_breaker_allow(b, &r->breaker, now, first))
        return 1;
    int64_t w = gw_breaker_wait_ms(b, now);
    o->wait = w > 0 && w < o->wait ? w : o->wait;
    int k = snprintf(o->text + o->len, sizeof o->text - o->len, "%s%s:%.64s", o->len ? ", " : "",
                     plugin->desc.vkey, model);
    if (k > 0 && (size_t)k < sizeof o->text - o->len)
        o->len += (size_t)k;
    return 0;
}

static int all_open(struct gw_request_err *err, const char *model, const struct open_list *o)
{
    err->retry_after_ms = o->wait == INT64_MAX ? 1000 : o->wait;
    return fail(err, 503, "circuit_open", NULL,
                "every target for model '%.128s' failed repeatedly and is paused (circuit "
                "breaker open: %s); try again in %" PRId64 " s",
                model, o->text, o->wait == INT64_MAX ? 1 : (o->wait + 999) / 1000);
}

/* Leaves out targets whose breaker is open (unless plan), claims the first, copies up to the
 * result's size. 0, or negative with err set when every target is open. */
static int admit(struct gw_router *r, const struct cands *cs, int n, const char *model, int plan,
                 struct gw_route_result *out, struct gw_request_err *err)
{
    int64_t now = r->clock_ms();
    struct open_list o = {INT64_MAX, "", 0};
    for (int i = 0; i < n && out->n < GW_ROUTE_MAX_TARGETS; i++) {
        const struct gw_cand *c = &cs->v[i];
        if (!plan && !breaker_lets(r, c->stat, c->plugin, c->model, out->n == 0, now, &o))
            continue;
        struct gw_target *t = &out->targets[out->n++];
        t->plugin = c->plugin;
        t->model = c->model;
        t->stat = c->stat;
        t->label = c->label;
    }
    return out->n ? 0 : all_open(err, model, &o);
}

int gw_route_claim(struct gw_router *r, struct gw_route_result *res, const char *model,
                   struct gw_request_err *err)
{
    memset(err, 0, sizeof *err);
    int64_t now = r->clock_ms();
    struct open_list o = {INT64_MAX, "", 0};
    int keep[GW_ROUTE_MAX_TARGETS], kept = 0;
    for (int i = 0; i < res->n && i < GW_ROUTE_MAX_TARGETS; i++) {
        const struct gw_target *t = &res->targets[i];
        if (breaker_lets(r, t->stat, t->plugin, t->model, kept == 0, now, &o))
            keep[kept++] = i;
    }
    if (!kept)
        return all_open(err, model ? model : "", &o);
    for (int i = 0; i < kept; i++)
        res->targets[i] = res->targets[keep[i]];
    res->n = kept;
    if (!res->label[0] && res->targets[0].label)
        gw_strlcpy(res->label, res->targets[0].label, sizeof res->label);
    return 0;
}

int gw_route(struct gw_router *r, const struct gw_route_ctx *ctx, struct gw_route_result *out,
             struct gw_request_err *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    struct gw_route_ctx c = *ctx;
    if (!c.model)
        c.model = "";
    struct cands cs;
    cs.n = 0;
    cs.unknown = 0;
    const char *label = NULL;
    int rc;
    if (c.x_provider && *c.x_provider) {
        rc = x_provider(r, &c, &cs, err);
        out->forced = 1;
    } else {
        rc = candidates(r, &c, &cs, &label, err);
    }
    if (rc < 0)
        return rc;
    int n = cs.n;
    if (rc == 0 && !out->forced) {
        n = gw_strategy_order(r, cs.v, cs.n);
        if (n == 0)
            return fail(err, 503, "no_provider", NULL,
                        r->strategy == GW_STRATEGY_COST
                            ? "no target for model '%.128s' has a catalog price, and "
                              "routing.cost.unpriced is \"exclude\""
                            : "every target for model '%.128s' is drained (weight 0)",
                        c.model);
    }
    rc = admit(r, &cs, n, c.model, c.plan, out, err);
    if (rc < 0)
        return rc;
    if (!label && !c.plan) /* a plan's first target may yet be left out: gw_route_claim */
        label = out->targets[0].label;
    if (label)
        gw_strlcpy(out->label, label, sizeof out->label);
    return 0;
}

int gw_route_next(struct gw_router *r, const struct gw_route_result *res, int current)
{
    return gw_route_next_but(r, res, current, 0);
}

int gw_route_next_but(struct gw_router *r, const struct gw_route_result *res, int current,
                      unsigned skip)
{
    if (!res || res->n <= 0)
        return -1;
    int64_t now = r->clock_ms();
    for (int k = 1; k <= res->n; k++) {
        int i = (current + k) % res->n;
        if (skip & (1u << i))
            continue; /* before its breaker: a probe claimed here would never be sent */
        struct gw_tstat *s = res->targets[i].stat;
        if (!s || gw_breaker_allow(&s->breaker, &r->breaker, now, 1))
            return i;
    }
    return -1;
}

void gw_route_unclaim(struct gw_router *r, const struct gw_target *t)
{
    if (t && t->stat) /* as a probe that proved nothing: a closed or open breaker is unchanged */
        gw_breaker_record(&t->stat->breaker, &r->breaker, GW_BREAKER_NEUTRAL, r->clock_ms());
}

static int breaker_outcome(int outcome)
{
    switch (outcome) {
    case GW_ROUTE_OK:
        return GW_BREAKER_SUCCESS;
    case GW_ROUTE_CANCELLED:
        return GW_BREAKER_NEUTRAL;
    default:
        break;
    }
    if (outcome < 0)
        return GW_BREAKER_FAILURE;
    /* Overload and server trouble are the target's; any other 4xx is the request's. */
    if (outcome == 408 || outcome == 429 || outcome >= 500)
        return GW_BREAKER_FAILURE;
    return outcome >= 400 ? GW_BREAKER_NEUTRAL : GW_BREAKER_SUCCESS;
}

void gw_route_report_status(struct gw_router *r, const struct gw_target *t, int outcome,
                            int64_t latency_ms)
{
    if (!t || !t->stat)
        return;
    int bo = breaker_outcome(outcome);
    if (bo == GW_BREAKER_SUCCESS)
        gw_tstat_add_latency(r->stats, t->stat, latency_ms);
    int tr = gw_breaker_record(&t->stat->breaker, &r->breaker, bo, r->clock_ms());
    const char *model = t->stat->model[0] ? t->stat->model : "*";
    if (tr == GW_BREAKER_OPEN) {
        char why[32]; /* only here: formatting it for every answer cost ~600 instructions */
        if (outcome > 0)
            snprintf(why, sizeof why, "HTTP %d", outcome);
        else
            snprintf(why, sizeof why, "%s",
                     outcome == GW_ROUTE_ETRANSPORT ? "transport error"
                     : outcome == GW_ROUTE_EPROTO   ? "protocol error"
                                                    : "failure");
        gw_logf(AIGW_LOG_WARN, "route", NULL,
                "circuit breaker open for %s:%s (last attempt: %s); no traffic for %" PRId64
                " ms, then one probe",
                t->plugin->desc.vkey, model, why, (int64_t)r->breaker.cooldown_ms);
    } else if (tr == GW_BREAKER_CLOSED)
        gw_logf(AIGW_LOG_INFO, "route", NULL, "circuit breaker closed for %s:%s: it answered",
                t->plugin->desc.vkey, model);
}

void gw_route_note_request(struct gw_router *r)
{
    gw_retry_budget_note(&r->budget, r->clock_ms());
}

int gw_route_retry_allowed(struct gw_router *r)
{
    return gw_retry_budget_take(&r->budget, r->clock_ms());
}

int64_t gw_route_backoff_ms(const struct gw_router *r, int attempt, int64_t retry_after_ms)
{
    if (retry_after_ms >= 0)
        return retry_after_ms < r->retry_after_cap_ms ? retry_after_ms : r->retry_after_cap_ms;
    int shift = attempt < 1 ? 0 : attempt > 21 ? 20 : attempt - 1;
    int64_t base = (int64_t)r->backoff_ms << shift;
    if (base > r->backoff_max_ms)
        base = r->backoff_max_ms;
    if (base <= 0)
        return 0;
    /* Half fixed so the backoff really grows; half random so clients that failed together
     * do not come back together. */
    int64_t half = base / 2;
    return half + (int64_t)(gw_route_rand() % (uint64_t)(base - half + 1));
}
