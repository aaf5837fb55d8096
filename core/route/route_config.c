/* route_config - validates the config's "routing" object into a router (route_int.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/log.h"
#include "route/route.h"
#include "route/route_int.h"
#include "route/strategy.h"

#define PATH_MAX_LEN 256
#define SUB_LEN (PATH_MAX_LEN + 80) /* a path plus the key or index below it */
#define LABEL_MAX (GW_ROUTE_LABEL_MAX - 1)
#define MODEL_MAX 255

struct pctx {
    struct gw_router *r;
    char *err;
    size_t errsize;
};

static int fail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct pctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errsize, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static int get_int(struct pctx *c, const cJSON *v, const char *path, long min, long max, long *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max)
        return fail(c, "%s: expected an integer from %ld to %ld", path, min, max);
    *out = (long)v->valuedouble;
    return 0;
}

static int get_num(struct pctx *c, const cJSON *v, const char *path, double min, double max,
                   double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max)
        return fail(c, "%s: expected a number from %g to %g", path, min, max);
    *out = v->valuedouble;
    return 0;
}

static int get_label(struct pctx *c, const cJSON *v, const char *path, char **out)
{
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > LABEL_MAX)
        return fail(c, "%s: expected a non-empty string of at most %d bytes", path, LABEL_MAX);
    for (const char *s = v->valuestring; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
            return fail(c,
                        "%s: control characters, quotes and backslashes are not allowed "
                        "(labels go into logs)",
                        path);
    free(*out);
    *out = dup_str(v->valuestring);
    return *out ? 0 : AIGW_ENOMEM;
}

static struct gw_plugin *find_plugin(struct pctx *c, const char *vkey, size_t len)
{
    char key[64];
    if (len == 0 || len >= sizeof key)
        return NULL;
    memcpy(key, vkey, len);
    key[len] = '\0';
    return gw_plugins_find(c->r->plugins, key);
}

/* ---- targets ---------------------------------------------------------------------------- */

enum { NEED_MODEL = 1, BARE_MODEL = 2 };

/* "vkey", "vkey/model", a bare model name (BARE_MODEL) or {"provider","model","weight","label"}. */
static int parse_target(struct pctx *c, const cJSON *v, const char *path, int flags,
                        struct gw_rtarget *t)
{
    t->weight = 1;
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring, *slash = strchr(s, '/');
        if (!s[0] || strlen(s) > MODEL_MAX)
            return fail(c, "%s: expected \"provider/model\"", path);
        struct gw_plugin *p = find_plugin(c, s, slash ? (size_t)(slash - s) : strlen(s));
        if (p && slash && slash[1]) {
            t->plugin = p;
            t->model = dup_str(slash + 1);
        } else if (p && !slash && !(flags & NEED_MODEL)) {
            t->plugin = p;
        } else if (p) {
            return fail(c, "%s: '%s' names a provider but no model (write \"%s/<model>\")", path, s,
                        p->desc.vkey);
        } else if (flags & BARE_MODEL) {
            t->model = dup_str(s); /* a model name: the catalog's providers serve it */
        } else {
            return fail(c, "%s: '%.*s' is not a known provider", path,
                        (int)(slash ? slash - s : (ptrdiff_t)strlen(s)), s);
        }
        return (t->plugin && !slash) || t->model ? 0 : AIGW_ENOMEM;
    }
    if (!cJSON_IsObject(v))
        return fail(c, "%s: expected \"provider/model\" or {\"provider\", \"model\"}", path);
    char sub[SUB_LEN];
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        const char *k = it->string;
        snprintf(sub, sizeof sub, "%s.%.64s", path, k);
        int rc = 0;
        if (!strcmp(k, "provider")) {
            if (!cJSON_IsString(it))
                return fail(c, "%s: expected a provider name", sub);
            t->plugin = gw_plugins_find(c->r->plugins, it->valuestring);
            if (!t->plugin)
                return fail(c, "%s: '%.64s' is not a known provider", sub, it->valuestring);
        } else if (!strcmp(k, "model")) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > MODEL_MAX)
                return fail(c, "%s: expected a model id of 1 to %d bytes", sub, MODEL_MAX);
            free(t->model);
            if (!(t->model = dup_str(it->valuestring)))
                return AIGW_ENOMEM;
        } else if (!strcmp(k, "weight")) {
            rc = get_num(c, it, sub, 0, 1e6, &t->weight);
        } else if (!strcmp(k, "label")) {
            rc = get_label(c, it, sub, &t->label);
        } else {
            return fail(c, "%s: unknown key (provider, model, weight, label)", sub);
        }
        if (rc)
            return rc;
    }
    if (!t->plugin)
        return fail(c, "%s.provider: required", path);
    if ((flags & NEED_MODEL) && !t->model)
        return fail(c, "%s.model: required here", path);
    return 0;
}

static int parse_targets(struct pctx *c, const cJSON *v, const char *path, int flags,
                         int allow_empty, struct gw_rtargets *out)
{
    if (!cJSON_IsArray(v))
        return fail(c, "%s: expected an array of targets", path);
    int n = cJSON_GetArraySize(v);
    if (n == 0 && !allow_empty)
        return fail(c, "%s: needs at least one target", path);
    if (n > GW_ROUTE_MAX_CANDIDATES)
        return fail(c, "%s: at most %d targets", path, GW_ROUTE_MAX_CANDIDATES);
    out->v = calloc((size_t)(n ? n : 1), sizeof *out->v);
    if (!out->v)
        return AIGW_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char sub[SUB_LEN];
        snprintf(sub, sizeof sub, "%s[%d]", path, out->n);
        int rc = parse_target(c, it, sub, flags, &out->v[out->n++]);
        if (rc)
            return rc;
    }
    return 0;
}

void gw_route_free_targets(struct gw_rtargets *l)
{
    for (int i = 0; l->v && i < l->n; i++) {
        free(l->v[i].model);
        free(l->v[i].label);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---- aliases, rules, variants ----------------------------------------------------------- */

static int cmp_alias(const void *a, const void *b)
{
    return strcmp(((const struct gw_alias *)a)->name, ((const struct gw_alias *)b)->name);
}

static int parse_alias(struct pctx *c, const cJSON *v, const char *path, struct gw_alias *a)
{
    const int flags = NEED_MODEL | BARE_MODEL;
    if (cJSON_IsString(v)) {
        a->targets.v = calloc(1, sizeof *a->targets.v);
        if (!a->targets.v)
            return AIGW_ENOMEM;
        a->targets.n = 1;
        return parse_target(c, v, path, flags, &a->targets.v[0]);
    }
    if (cJSON_IsArray(v))
        return parse_targets(c, v, path, flags, 0, &a->targets);
    if (!cJSON_IsObject(v))
        return fail(c,
                    "%s: expected \"provider/model\", an array of targets or "
                    "{\"targets\": [...]}",
                    path);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (strcmp(it->string, "targets"))
            return fail(c, "%s.%s: unknown key (targets)", path, it->string);
    }
    char sub[SUB_LEN];
    snprintf(sub, sizeof sub, "%s.targets", path);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "targets");
    if (!t)
        return fail(c, "%s: required", sub);
    return parse_targets(c, t, sub, flags, 0, &a->targets);
}

static int parse_aliases(struct pctx *c, const cJSON *v)
{
    struct gw_router *r = c->r;
    if (!cJSON_IsObject(v))
        return fail(c, "routing.aliases: expected an object of name: target(s)");
    r->aliases = v;
    int n = cJSON_GetArraySize(v);
    r->alias_v = calloc((size_t)(n ? n : 1), sizeof *r->alias_v);
    if (!r->alias_v)
        return AIGW_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, "routing.aliases.%.200s", it->string);
        if (!it->string[0] || strlen(it->string) > MODEL_MAX)
            return fail(c, "%s: alias names are 1 to %d bytes", path, MODEL_MAX);
        struct gw_alias *a = &r->alias_v[r->naliases++];
        if (!(a->name = dup_str(it->string)))
            return AIGW_ENOMEM;
        int rc = parse_alias(c, it, path, a);
        if (rc)
            return rc;
    }
    qsort(r->alias_v, r->naliases, sizeof *r->alias_v, cmp_alias);
    for (size_t i = 1; i < r->naliases; i++)
        if (!strcmp(r->alias_v[i - 1].name, r->alias_v[i].name))
            return fail(c, "routing.aliases.%.200s: defined twice", r->alias_v[i].name);
    return 0;
}

static int parse_rules(struct pctx *c, const cJSON *v)
{
    struct gw_router *r = c->r;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsArray(v) || n == 0)
        return fail(c, "routing.rules: expected a non-empty array of {\"when\", \"targets\"}");
    r->rules = calloc((size_t)n, sizeof *r->rules);
    if (!r->rules)
        return AIGW_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char path[PATH_MAX_LEN], sub[SUB_LEN];
        snprintf(path, sizeof path, "routing.rules[%zu]", r->nrules);
        struct gw_rule *rule = &r->rules[r->nrules++];
        if (!cJSON_IsObject(it))
            return fail(c, "%s: expected an object {\"name\", \"when\", \"targets\"}", path);
        const cJSON *k;
        cJSON_ArrayForEach(k, it)
        {
            if (strcmp(k->string, "name") && strcmp(k->string, "when") &&
                strcmp(k->string, "targets"))
                return fail(c, "%s.%s: unknown key (name, when, targets)", path, k->string);
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        snprintf(sub, sizeof sub, "%s.name", path);
        int rc = name ? get_label(c, name, sub, &rule->name) : 0;
        snprintf(sub, sizeof sub, "%s.when", path);
        const cJSON *when = cJSON_GetObjectItemCaseSensitive(it, "when");
        if (!rc && !when)
            return fail(c, "%s: required (an empty object matches every request)", sub);
        if (!rc)
            rc = gw_rule_parse_when(rule, when, sub, c->err, c->errsize);
        snprintf(sub, sizeof sub, "%s.targets", path);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "targets");
        if (!rc && !t)
            return fail(c, "%s: required", sub);
        if (!rc)
            rc = parse_targets(c, t, sub, 0, 0, &rule->targets);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_variants(struct pctx *c, const cJSON *v)
{
    struct gw_router *r = c->r;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (!cJSON_IsArray(v) || n == 0 || n > GW_ROUTE_MAX_CANDIDATES)
        return fail(c,
                    "routing.variants: expected an array of 1 to %d {\"label\", \"weight\", "
                    "\"targets\"}",
                    GW_ROUTE_MAX_CANDIDATES);
    r->variants = calloc((size_t)n, sizeof *r->variants);
    if (!r->variants)
        return AIGW_ENOMEM;
    double total = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char path[PATH_MAX_LEN], sub[SUB_LEN];
        snprintf(path, sizeof path, "routing.variants[%zu]", r->nvariants);
        struct gw_variant *var = &r->variants[r->nvariants++];
        var->weight = 1;
        if (!cJSON_IsObject(it))
            return fail(c, "%s: expected an object {\"label\", \"weight\", \"targets\"}", path);
        const cJSON *k;
        int rc = 0;
        cJSON_ArrayForEach(k, it)
        {
            snprintf(sub, sizeof sub, "%s.%.64s", path, k->string);
            if (!strcmp(k->string, "label"))
                rc = get_label(c, k, sub, &var->label);
            else if (!strcmp(k->string, "weight"))
                rc = get_num(c, k, sub, 0, 1e6, &var->weight);
            else if (!strcmp(k->string, "targets"))
                rc = parse_targets(c, k, sub, 0, 0, &var->targets);
            else
                return fail(c, "%s: unknown key (label, weight, targets)", sub);
            if (rc)
                return rc;
        }
        if (!var->label)
            return fail(c, "%s.label: required (it is logged as route_label)", path);
        if (!var->targets.n)
            return fail(c, "%s.targets: required", path);
        for (size_t i = 0; i + 1 < r->nvariants; i++)
            if (!strcmp(r->variants[i].label, var->label))
                return fail(c, "%s.label: '%s' is used twice", path, var->label);
        total += var->weight;
    }
    if (total <= 0)
        return fail(c, "routing.variants: at least one weight must be above 0");
    return 0;
}

/* ---- settings blocks -------------------------------------------------------------------- */

static int parse_retry_key(struct pctx *c, const cJSON *it, const char *path)
{
    struct gw_router *r = c->r;
    const char *k = it->string;
    long v = 0;
    int rc;
    if (!strcmp(k, "max_attempts")) {
        rc = get_int(c, it, path, 1, 10, &v);
        r->max_attempts = (int)v;
    } else if (!strcmp(k, "backoff_ms")) {
        rc = get_int(c, it, path, 0, 60000, &r->backoff_ms);
    } else if (!strcmp(k, "backoff_max_ms")) {
        rc = get_int(c, it, path, 0, 300000, &r->backoff_max_ms);
    } else if (!strcmp(k, "retry_after_cap_ms")) {
        rc = get_int(c, it, path, 0, 600000, &r->retry_after_cap_ms);
    } else if (!strcmp(k, "budget_ratio")) {
        rc = get_num(c, it, path, 0, 100, &r->budget.ratio);
    } else if (!strcmp(k, "budget_min")) {
        rc = get_int(c, it, path, 0, 100000, &v);
        r->budget.min_per_s = v;
    } else {
        return 1; /* not a retry key */
    }
    return rc;
}

static int parse_block(struct pctx *c, const cJSON *v, const char *name)
{
    struct gw_router *r = c->r;
    if (!cJSON_IsObject(v))
        return fail(c, "routing.%s: expected an object", name);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, "routing.%s.%.64s", name, it->string);
        const char *k = it->string;
        long n = 0;
        int rc = 1;
        if (!strcmp(name, "retry")) {
            rc = parse_retry_key(c, it, path);
        } else if (!strcmp(name, "circuit_breaker")) {
            if (!strcmp(k, "failure_threshold")) {
                rc = get_int(c, it, path, 0, 1000, &n);
                r->breaker.threshold = (int)n;
            } else if (!strcmp(k, "cooldown_ms")) {
                rc = get_int(c, it, path, 10, 3600000, &n);
                r->breaker.cooldown_ms = n;
            }
        } else if (!strcmp(name, "cost")) {
            if (!strcmp(k, "unpriced")) {
                if (!cJSON_IsString(it) ||
                    (strcmp(it->valuestring, "last") && strcmp(it->valuestring, "exclude")))
                    return fail(c, "%s: expected \"last\" or \"exclude\"", path);
                r->cost_exclude_unpriced = !strcmp(it->valuestring, "exclude");
                rc = 0;
            }
        } else if (!strcmp(name, "least_latency")) {
            if (!strcmp(k, "explore_ratio")) {
                rc = get_num(c, it, path, 0, 1, &r->explore_ratio);
            } else if (!strcmp(k, "window")) {
                rc = get_int(c, it, path, 1, GW_LAT_WINDOW_MAX, &n);
                r->latency_window = (int)n;
            } else if (!strcmp(k, "min_samples")) {
                rc = get_int(c, it, path, 1, GW_LAT_WINDOW_MAX, &n);
                r->latency_min_samples = (int)n;
            }
        }
        if (rc > 0)
            return fail(c, "%s: unknown key", path);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the whole object ------------------------------------------------------------------- */

static int parse_routing(struct pctx *c, const cJSON *routing)
{
    struct gw_router *r = c->r;
    if (!cJSON_IsObject(routing))
        return fail(c, "routing: expected an object");
    const cJSON *rules = NULL, *variants = NULL, *it;
    cJSON_ArrayForEach(it, routing)
    {
        const char *k = it->string;
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, "routing.%.200s", k);
        int rc = 0;
        if (!strcmp(k, "strategy")) {
            int s = cJSON_IsString(it) ? gw_strategy_from_name(it->valuestring) : -1;
            if (s < 0)
                return fail(c,
                            "routing.strategy: '%.64s' is not a strategy (single, fallback, "
                            "loadbalance, least-latency, cost-optimized, conditional, "
                            "content-based, ab-test)",
                            cJSON_IsString(it) ? it->valuestring : "?");
            r->strategy = s;
        } else if (!strcmp(k, "targets")) {
            rc = parse_targets(c, it, path, 0, 1, &r->targets);
        } else if (!strcmp(k, "aliases")) {
            rc = parse_aliases(c, it);
        } else if (!strcmp(k, "rules")) {
            rules = it;
        } else if (!strcmp(k, "variants")) {
            variants = it;
        } else if (!strcmp(k, "retry") || !strcmp(k, "circuit_breaker") || !strcmp(k, "cost") ||
                   !strcmp(k, "least_latency")) {
            rc = parse_block(c, it, k);
        } else {
            /* The flat retry keys of earlier configs (max_attempts, backoff_ms, ...). */
            rc = parse_retry_key(c, it, path);
            if (rc > 0)
                return fail(c, "%s: unknown key", path);
        }
        if (rc)
            return rc;
    }
    /* Rules and variants after the strategy, wherever it appears in the object. */
    int uses_rules = r->strategy == GW_STRATEGY_CONDITIONAL || r->strategy == GW_STRATEGY_CONTENT;
    if (rules && !uses_rules)
        return fail(c,
                    "routing.rules: the %s strategy does not use rules (conditional and "
                    "content-based do)",
                    gw_strategy_name(r->strategy));
    if (variants && r->strategy != GW_STRATEGY_AB_TEST)
        return fail(c, "routing.variants: the %s strategy does not use variants (ab-test does)",
                    gw_strategy_name(r->strategy));
    if (uses_rules && !rules)
        return fail(c, "routing.rules: the %s strategy needs rules", gw_strategy_name(r->strategy));
    if (r->strategy == GW_STRATEGY_AB_TEST && !variants)
        return fail(c, "routing.variants: the ab-test strategy needs variants");
    int rc = rules ? parse_rules(c, rules) : 0;
    if (!rc && variants)
        rc = parse_variants(c, variants);
    if (rc)
        return rc;
    if (r->backoff_max_ms < r->backoff_ms)
        return fail(c, "routing.retry.backoff_max_ms: must not be below backoff_ms (%ld)",
                    r->backoff_ms);
    if (r->latency_min_samples > r->latency_window)
        return fail(c, "routing.least_latency.min_samples: must not exceed window (%d)",
                    r->latency_window);
    return 0;
}

int gw_route_parse(struct gw_router *r, const cJSON *routing, char *err, size_t errsize)
{
    struct pctx c = {r, err, errsize};
    return parse_routing(&c, routing);
}
