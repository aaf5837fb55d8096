/*
 * account - the last phase: what a request cost and who hears about it. Usage (kept by the
 * lifetime as the upstream reports it) priced by the catalog, the request's metrics, and its
 * access-log line with what each attempt ended on. The spend ledger and the request log join
 * here.
 */
#include "proxy/req_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"
#include "front/respond.h"
#include "lib/log.h"
#include "obs/metrics.h"

void gw_account_tried(struct gw_req *r, const char *vkey, const char *outcome)
{
    /* "vkey:outcome", comma-separated; an entry that does not fit whole is left out. */
    size_t lv = strlen(vkey), lo = strlen(outcome), sep = r->tried_len ? 1 : 0;
    size_t need = sep + lv + 1 + lo;
    if (need >= sizeof r->tried - r->tried_len)
        return;
    char *p = r->tried + r->tried_len;
    if (sep)
        *p++ = ',';
    memcpy(p, vkey, lv);
    p[lv] = ':';
    memcpy(p + lv + 1, outcome, lo + 1);
    r->tried_len += need;
}

static void request_metrics(struct gw_req *r, int status)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const char *vkey = t ? t->plugin->desc.vkey : NULL;
    const char *model = t ? t->model : r->parsed.model;
    if (t && r->have_usage)
        gw_metrics_usage(vkey, model, &r->usage, r->cost_known ? r->cost : -1);
    int64_t now = gw_now_ms();
    int64_t first = gw_relay_first_byte_ms(&r->relay);
    gw_metrics_request(r->path, vkey, model, status, r->parsed.stream, now - r->start_ms,
                       first ? first - r->start_ms : -1);
}

static void access_log(struct gw_req *r, int status, const char *error_type)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const struct aigw_usage *u = &r->usage;
    if (!gw_log_access_on())
        return;
    struct gw_buf b;
    gw_buf_init(&b, 16384);
    gw_log_json_open(&b, r->request_id);
    gw_log_json_field(&b, "method", r->method);
    gw_log_json_field(&b, "path", r->path);
    gw_buf_printf(&b, ",\"status\":%d", status);
    gw_log_json_field(&b, "provider", t ? t->plugin->desc.vkey : NULL);
    gw_log_json_field(&b, "model", t ? t->model : (r->parsed.model ? r->parsed.model : NULL));
    gw_buf_printf(&b, ",\"stream\":%s,\"attempts\":%d", r->parsed.stream ? "true" : "false",
                  r->attempts);
    gw_log_json_field(&b, "tried", r->tried_len ? r->tried : NULL);
    if (r->route.label[0])
        gw_log_json_field(&b, "route_label", r->route.label);
    gw_buf_printf(&b, ",\"latency_ms\":%" PRId64, gw_now_ms() - r->start_ms);
    int64_t first = gw_relay_first_byte_ms(&r->relay);
    if (first)
        gw_buf_printf(&b, ",\"ttfb_ms\":%" PRId64, first - r->start_ms);
    else
        gw_buf_append_str(&b, ",\"ttfb_ms\":null");
    if (u->prompt_tokens >= 0)
        gw_buf_printf(&b, ",\"prompt_tokens\":%" PRId64, u->prompt_tokens);
    else
        gw_buf_append_str(&b, ",\"prompt_tokens\":null");
    if (u->completion_tokens >= 0)
        gw_buf_printf(&b, ",\"completion_tokens\":%" PRId64, u->completion_tokens);
    else
        gw_buf_append_str(&b, ",\"completion_tokens\":null");
    if (u->cached_tokens >= 0)
        gw_buf_printf(&b, ",\"cached_tokens\":%" PRId64, u->cached_tokens);
    if (u->reasoning_tokens >= 0)
        gw_buf_printf(&b, ",\"reasoning_tokens\":%" PRId64, u->reasoning_tokens);
    if (r->cost_known)
        gw_buf_printf(&b, ",\"cost_usd\":%.8f", r->cost);
    else
        gw_buf_append_str(&b, ",\"cost_usd\":null");
    if (r->cache_status)
        gw_log_json_field(&b, "cache", r->cache_status);
    if (error_type)
        gw_log_json_field(&b, "error", error_type);
    gw_buf_append_str(&b, "}");
    if (b.ptr)
        gw_log_access(b.ptr, b.len);
    gw_buf_free(&b);
}

void gw_account_cost(struct gw_req *r)
{
    r->cost_known = 0;
    if (r->cache_hit) {
        /* Replayed from the response cache: no upstream was paid for this answer. */
        r->cost = 0;
        r->cost_known = 1;
        return;
    }
    if (!r->route.n || !r->gw->catalog || !r->have_usage)
        return;
    const struct gw_target *t = &r->route.targets[r->target];
    const struct gw_model *m = gw_catalog_find(r->gw->catalog, t->plugin->desc.vkey, t->model);
    double usd = 0;
    if (m && gw_cost_usd(m, &r->usage, &usd) == 0) {
        r->cost = usd;
        r->cost_known = 1;
    }
}

void gw_account_close(struct gw_req *r, int status, const char *error_type)
{
    request_metrics(r, status);
    access_log(r, status, error_type);
    struct gw_otel_request_end e = {
        .status = status,
        .dialect = r->dialect ? r->dialect->name : NULL,
        .error_type = error_type,
        .attempts = r->attempts,
    };
    gw_otel_request_end(r->span, &e);
    r->span = NULL;
}
