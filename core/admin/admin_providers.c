/* admin_providers - GET /admin/providers (see admin_status.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "admin/admin_status.h"
#include "admin/admin_util.h"
#include "aigw/plugin.h"

static const char *state_name(int st)
{
    return st == GW_BREAKER_OPEN ? "open" : st == GW_BREAKER_HALF_OPEN ? "half_open" : "closed";
}

static int state_rank(int st)
{
    return st == GW_BREAKER_OPEN ? 2 : st == GW_BREAKER_HALF_OPEN ? 1 : 0;
}

struct walk {
    const struct gw_plugins *ps;
    cJSON **targets; /* one array per plugin */
    int *worst;
    int64_t now;
};

static void on_slot(void *ud, struct gw_tstat *s)
{
    struct walk *w = ud;
    for (size_t i = 0; i < w->ps->n; i++) {
        if ((const void *)w->ps->items[i] != s->plugin)
            continue;
        int st = gw_breaker_state(&s->breaker);
        int64_t p50 = gw_tstat_p50(s);
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "model", s->model[0] ? s->model : "*");
        cJSON_AddStringToObject(t, "breaker", state_name(st));
        cJSON_AddNumberToObject(t, "retry_in_ms", (double)gw_breaker_wait_ms(&s->breaker, w->now));
        cJSON_AddNumberToObject(t, "consecutive_failures", atomic_load(&s->breaker.fails));
        cJSON_AddItemToObject(t, "latency_p50_ms",
                              p50 < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)p50));
        cJSON_AddNumberToObject(t, "samples", (double)atomic_load(&s->samples));
        cJSON_AddItemToArray(w->targets[i], t);
        if (state_rank(st) > state_rank(w->worst[i]))
            w->worst[i] = st;
        return;
    }
}

static cJSON *recent_json(const struct gw_usage_report *rep, const char *vkey)
{
    for (size_t i = 0; rep && i < rep->n; i++) {
        const struct gw_usage_row *u = &rep->rows[i];
        if (strcmp(u->group, vkey))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "requests", (double)u->requests);
        cJSON_AddNumberToObject(o, "errors", (double)u->errors);
        cJSON_AddNumberToObject(o, "error_rate", u->error_rate);
        cJSON_AddItemToObject(o, "latency_p50_ms",
                              u->latency_p50_ms < 0 ? cJSON_CreateNull()
                                                    : cJSON_CreateNumber(u->latency_p50_ms));
        cJSON_AddItemToObject(o, "latency_p95_ms",
                              u->latency_p95_ms < 0 ? cJSON_CreateNull()
                                                    : cJSON_CreateNumber(u->latency_p95_ms));
        cJSON_AddItemToObject(o, "ttfb_p50_ms",
                              u->ttfb_p50_ms < 0 ? cJSON_CreateNull()
                                                 : cJSON_CreateNumber(u->ttfb_p50_ms));
        return o;
    }
    return cJSON_CreateNull();
}

int gw_admin_providers_handle(const struct gw_plugins *ps, struct gw_router *r, struct gw_store *s,
                              const char *method, const char *path, struct gw_buf *out, int *status)
{
    if (path && *path && *path != '?' && strcmp(path, "/"))
        return gw_admin_fail(out, status, 404, "not_found", NULL, "no such admin route");
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return gw_admin_fail(out, status, 405, "method_not_allowed", NULL, "use GET");
    size_t n = ps ? ps->n : 0;
    cJSON **targets = calloc(n ? n : 1, sizeof *targets);
    int *worst = calloc(n ? n : 1, sizeof *worst);
    if (!targets || !worst) {
        free(targets);
        free(worst);
        return gw_admin_fail(out, status, 500, "internal_error", NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        targets[i] = cJSON_CreateArray();
        worst[i] = GW_BREAKER_CLOSED;
    }
    struct walk w = {.ps = ps,
                     .targets = targets,
                     .worst = worst,
                     .now = r && r->clock_ms ? r->clock_ms() : gw_mono_ms()};
    if (r && r->stats && n)
        gw_tstats_each(r->stats, on_slot, &w);

    /* Recent figures: the rollups of yesterday and today (day granularity, never raw rows). */
    struct gw_usage_report rep = {0}, *repp = NULL;
    int64_t since = ((int64_t)time(NULL) / 86400 - 1) * 86400 * 1000;
    if (s) {
        struct gw_usage_query uq = {.group_by = GW_USAGE_PROVIDER, .since_ms = since};
        if (gw_store_usage(s, &uq, &rep) == 0)
            repp = &rep;
    }
    cJSON *doc = cJSON_CreateObject(), *data = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "object", "list");
    cJSON_AddStringToObject(doc, "strategy", r ? r->strategy_name : "");
    if (r) {
        cJSON_AddNumberToObject(doc, "breaker_threshold", r->breaker.threshold);
        cJSON_AddNumberToObject(doc, "breaker_cooldown_ms", (double)r->breaker.cooldown_ms);
    }
    cJSON_AddItemToObject(doc, "recent_since_ms",
                          repp ? cJSON_CreateNumber((double)since) : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "data", data);
    for (size_t i = 0; i < n; i++) {
        const struct gw_plugin *p = ps->items[i];
        const char *vkey = p->desc.vkey ? p->desc.vkey : "";
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "provider", vkey);
        cJSON_AddStringToObject(o, "name", p->desc.name ? p->desc.name : vkey);
        cJSON_AddStringToObject(o, "version", p->desc.version ? p->desc.version : "");
        cJSON_AddBoolToObject(o, "active", p->active);
        /* why names missing variables or init()'s static reason: never a value */
        cJSON_AddItemToObject(o, "inactive_reason",
                              !p->active && p->why[0] ? cJSON_CreateString(p->why)
                                                      : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "breaker", state_name(worst[i]));
        cJSON_AddItemToObject(o, "targets", targets[i]);
        cJSON_AddItemToObject(o, "recent", repp ? recent_json(repp, vkey) : cJSON_CreateNull());
        cJSON_AddItemToArray(data, o);
    }
    if (repp)
        gw_usage_report_free(&rep);
    free(targets);
    free(worst);
    return gw_admin_emit(out, status, 200, doc);
}
