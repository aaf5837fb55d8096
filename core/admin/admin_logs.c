/* admin_logs - request log and usage admin operations (see admin_logs.h). */
#include "admin/admin_logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/admin_util.h"
#include "aigw/plugin.h"

static int store_fail(struct gw_buf *out, int *status, int rc, const char *what)
{
    switch (rc) {
    case GW_STORE_ENOTFOUND:
        return gw_admin_fail(out, status, 404, "not_found", NULL, what);
    case AIGW_EINVAL:
        return gw_admin_fail(out, status, 400, "invalid_value", "cursor",
                             "cursor: not one this listing gave");
    case GW_STORE_EUNAVAIL:
        return gw_admin_fail(out, status, 503, "store_unavailable", NULL,
                             "the store did not answer in time; retry");
    default:
        return gw_admin_fail(out, status, 500, "store_error", NULL, "the store failed");
    }
}

static cJSON *i64_or_null(int64_t v)
{
    return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *row_json(const struct gw_log_row *r, int bodies)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "object", "request_log");
    cJSON_AddStringToObject(o, "request_id", r->request_id);
    cJSON_AddNumberToObject(o, "ts_ms", (double)r->ts_ms);
    cJSON_AddItemToObject(o, "key_id", str_or_null(r->key_id));
    cJSON_AddStringToObject(o, "dialect", r->dialect);
    cJSON_AddStringToObject(o, "endpoint", r->endpoint);
    cJSON_AddStringToObject(o, "model_asked", r->model_asked);
    cJSON_AddItemToObject(o, "model_served", str_or_null(r->model_served));
    cJSON_AddItemToObject(o, "provider", str_or_null(r->provider));
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    cJSON_AddItemToObject(o, "failures", str_or_null(r->failures));
    cJSON_AddNumberToObject(o, "status", r->status);
    cJSON_AddBoolToObject(o, "stream", r->stream != 0);
    cJSON_AddItemToObject(o, "input_tokens", i64_or_null(r->input_tokens));
    cJSON_AddItemToObject(o, "output_tokens", i64_or_null(r->output_tokens));
    cJSON_AddItemToObject(o, "cached_tokens", i64_or_null(r->cached_tokens));
    cJSON_AddItemToObject(o, "reasoning_tokens", i64_or_null(r->reasoning_tokens));
    cJSON_AddItemToObject(o, "cost_usd",
                          r->cost_usd < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(r->cost_usd));
    cJSON_AddNumberToObject(o, "latency_ms", (double)r->latency_ms);
    cJSON_AddItemToObject(o, "ttfb_ms", i64_or_null(r->ttfb_ms));
    cJSON_AddBoolToObject(o, "cache_hit", r->cache_hit != 0);
    cJSON_AddItemToObject(o, "guardrail", str_or_null(r->guardrail));
    cJSON_AddItemToObject(o, "error_code", str_or_null(r->error_code));
    if (bodies) {
        /* Bodies are bytes as sent, capped and redacted by the store; they need not be
         * UTF-8 or JSON, so they travel as strings. */
        cJSON_AddItemToObject(o, "request_body",
                              r->request_body ? cJSON_CreateString(r->request_body)
                                              : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "response_body",
                              r->response_body ? cJSON_CreateString(r->response_body)
                                               : cJSON_CreateNull());
    }
    return o;
}

/* "429", "4xx", "error", "ok" into [min, max]. */
static int parse_status(const char *s, int *min, int *max)
{
    if (!strcmp(s, "error")) {
        *min = 400;
        *max = 999;
        return 0;
    }
    if (!strcmp(s, "ok")) {
        *min = 100;
        *max = 399;
        return 0;
    }
    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && !strcmp(s + 1, "xx")) {
        *min = (s[0] - '0') * 100;
        *max = *min + 99;
        return 0;
    }
    if (strlen(s) == 3 && strspn(s, "0123456789") == 3 && s[0] >= '1' && s[0] <= '5') {
        *min = *max = (int)strtol(s, NULL, 10);
        return 0;
    }
    return -1;
}

/* since and until of query into ms (0 when absent): 0, or an error answer written (1). */
static int read_period(const char *query, int64_t *since, int64_t *until, struct gw_buf *out,
                       int *status)
{
    static const char *const names[] = {"since", "until"};
    int64_t *dst[] = {since, until};
    for (int i = 0; i < 2; i++) {
        char v[40];
        *dst[i] = 0;
        int got = gw_admin_query_arg(query, names[i], v, sizeof v);
        if (got && (got < 0 || gw_admin_parse_time(v, dst[i]))) {
            char m[160];
            snprintf(m, sizeof m, "%s: unix seconds or ms, or YYYY-MM-DD[THH:MM[:SS]Z]", names[i]);
            gw_admin_fail(out, status, 400, "invalid_value", names[i], m);
            return 1;
        }
    }
    if (*since && *until && *until <= *since) {
        gw_admin_fail(out, status, 400, "invalid_value", "until", "until: must be after since");
        return 1;
    }
    return 0;
}

static int bad(struct gw_buf *out, int *status, const char *param, const char *msg)
{
    return gw_admin_fail(out, status, 400, "invalid_value", param, msg);
}

static int do_list(struct gw_store *s, const char *query, struct gw_buf *out, int *status)
{
    char key[64], model[256], provider[128], st[16], cursor[160], lim[16];
    struct gw_log_query q = {0};
    int got;
    if ((got = gw_admin_query_arg(query, "key", key, sizeof key)) < 0)
        return bad(out, status, "key", "key: not a key id");
    q.key_id = got ? key : NULL;
    if ((got = gw_admin_query_arg(query, "model", model, sizeof model)) < 0)
        return bad(out, status, "model", "model: too long");
    q.model = got && model[0] ? model : NULL;
    if ((got = gw_admin_query_arg(query, "provider", provider, sizeof provider)) < 0)
        return bad(out, status, "provider", "provider: too long");
    q.provider = got && provider[0] ? provider : NULL;
    if ((got = gw_admin_query_arg(query, "status", st, sizeof st)) < 0 ||
        (got && st[0] && parse_status(st, &q.status_min, &q.status_max)))
        return bad(out, status, "status", "status: a code (429), a class (4xx), error or ok");
    if ((got = gw_admin_query_arg(query, "cursor", cursor, sizeof cursor)) < 0)
        return bad(out, status, "cursor", "cursor: not one this listing gave");
    q.cursor = got && cursor[0] ? cursor : NULL;
    if (key[0] == '\0' && q.key_id)
        q.key_id = NULL;
    q.limit = 100;
    if ((got = gw_admin_query_arg(query, "limit", lim, sizeof lim)) != 0) {
        char *end = NULL;
        long l = got > 0 ? strtol(lim, &end, 10) : 0;
        if (got < 0 || !lim[0] || *end || l < 1 || l > 1000)
            return bad(out, status, "limit", "limit: 1 to 1000");
        q.limit = (int)l;
    }
    if (read_period(query, &q.since_ms, &q.until_ms, out, status))
        return out->len ? 0 : AIGW_ENOMEM;

    struct gw_log_page page = {0};
    int rc = gw_store_log_query(s, &q, &page);
    if (rc)
        return store_fail(out, status, rc, NULL);
    cJSON *doc = cJSON_CreateObject(), *data = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "object", "list");
    cJSON_AddItemToObject(doc, "data", data);
    for (size_t i = 0; i < page.n; i++)
        cJSON_AddItemToArray(data, row_json(&page.rows[i], 0));
    cJSON_AddBoolToObject(doc, "has_more", page.next_cursor[0] != 0);
    cJSON_AddItemToObject(doc, "next_cursor", str_or_null(page.next_cursor));
    gw_log_page_free(&page);
    return gw_admin_emit(out, status, 200, doc);
}

int gw_admin_logs_handle(struct gw_store *s, const char *method, const char *path,
                         struct gw_buf *out, int *status)
{
    if (!path)
        path = "";
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return gw_admin_fail(out, status, 405, "method_not_allowed", NULL, "use GET");
    if (!s)
        return gw_admin_fail(out, status, 503, "store_unavailable", NULL, "no store is configured");
    if (plen == 0 || (plen == 1 && path[0] == '/'))
        return do_list(s, q ? q + 1 : "", out, status);
    if (path[0] != '/')
        return gw_admin_fail(out, status, 404, "not_found", NULL, "no such admin route");
    char id[64];
    if (plen - 1 >= sizeof id || memchr(path + 1, '/', plen - 1))
        return gw_admin_fail(out, status, 404, "not_found", NULL, "no such request id");
    memcpy(id, path + 1, plen - 1);
    id[plen - 1] = '\0';
    struct gw_log_row r;
    memset(&r, 0, sizeof r);
    int rc = gw_store_log_get(s, id, &r);
    if (rc)
        return store_fail(out, status, rc, "no such request id");
    cJSON *doc = row_json(&r, 1);
    gw_log_row_free(&r);
    return gw_admin_emit(out, status, 200, doc);
}

static cJSON *pct_or_null(double v)
{
    return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static cJSON *usage_json(const struct gw_usage_row *u)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "group", u->group);
    cJSON_AddNumberToObject(o, "requests", (double)u->requests);
    cJSON_AddNumberToObject(o, "errors", (double)u->errors);
    cJSON_AddNumberToObject(o, "error_rate", u->error_rate);
    cJSON_AddNumberToObject(o, "input_tokens", (double)u->input_tokens);
    cJSON_AddNumberToObject(o, "output_tokens", (double)u->output_tokens);
    cJSON_AddNumberToObject(o, "cached_tokens", (double)u->cached_tokens);
    cJSON_AddNumberToObject(o, "reasoning_tokens", (double)u->reasoning_tokens);
    cJSON_AddNumberToObject(o, "cost_usd", u->cost_usd);
    cJSON_AddNumberToObject(o, "cache_hits", (double)u->cache_hits);
    cJSON_AddItemToObject(o, "latency_p50_ms", pct_or_null(u->latency_p50_ms));
    cJSON_AddItemToObject(o, "latency_p95_ms", pct_or_null(u->latency_p95_ms));
    cJSON_AddItemToObject(o, "ttfb_p50_ms", pct_or_null(u->ttfb_p50_ms));
    cJSON_AddItemToObject(o, "ttfb_p95_ms", pct_or_null(u->ttfb_p95_ms));
    return o;
}

int gw_admin_usage_handle(struct gw_store *s, const char *method, const char *path,
                          struct gw_buf *out, int *status)
{
    if (!path)
        path = "";
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    const char *query = q ? q + 1 : "";
    if (plen && !(plen == 1 && path[0] == '/'))
        return gw_admin_fail(out, status, 404, "not_found", NULL, "no such admin route");
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return gw_admin_fail(out, status, 405, "method_not_allowed", NULL, "use GET");
    if (!s)
        return gw_admin_fail(out, status, 503, "store_unavailable", NULL, "no store is configured");
    struct gw_usage_query uq = {.group_by = GW_USAGE_DAY};
    char g[16] = "day", key[64];
    int got = gw_admin_query_arg(query, "group_by", g, sizeof g);
    if (got < 0 || gw_usage_group_parse(g, &uq.group_by))
        return bad(out, status, "group_by", "group_by: key, model, provider or day");
    if ((got = gw_admin_query_arg(query, "key", key, sizeof key)) < 0)
        return bad(out, status, "key", "key: not a key id");
    uq.key_id = got > 0 && key[0] ? key : NULL;
    if (read_period(query, &uq.since_ms, &uq.until_ms, out, status))
        return out->len ? 0 : AIGW_ENOMEM;
    struct gw_usage_report rep = {0};
    int rc = gw_store_usage(s, &uq, &rep);
    if (rc)
        return store_fail(out, status, rc, NULL);
    cJSON *doc = cJSON_CreateObject(), *data = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "object", "usage");
    cJSON_AddStringToObject(doc, "group_by", g);
    cJSON_AddItemToObject(doc, "since_ms",
                          uq.since_ms ? cJSON_CreateNumber((double)uq.since_ms)
                                      : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "until_ms",
                          uq.until_ms ? cJSON_CreateNumber((double)uq.until_ms)
                                      : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "data", data);
    for (size_t i = 0; i < rep.n; i++)
        cJSON_AddItemToArray(data, usage_json(&rep.rows[i]));
    cJSON_AddItemToObject(doc, "total", usage_json(&rep.total));
    cJSON_AddBoolToObject(doc, "truncated", rep.truncated != 0);
    gw_usage_report_free(&rep);
    return gw_admin_emit(out, status, 200, doc);
}
