/* otel - the tracer and the spans of a request's lifetime (see otel.h). */
#include "obs/otel.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/redact.h"
#include "obs/otlp.h"
#include "version.h"

/* Set by gw_otel_start before any request thread runs, cleared by gw_otel_stop after they
 * are gone: requests read them without a lock. */
static struct {
    atomic_int on;
    struct gw_otlp *x;
    double ratio;
    int capture;
    int64_t content_max;
} g;

int gw_otel_start(const struct gw_otel_config *c)
{
    if (!c || !c->enabled)
        return 0;
    struct gw_otlp_opts o = {
        .url = c->url,
        .resource = {c->service_name, GW_VERSION},
        .queue_max = c->queue_size,
        .batch_max = c->batch_size,
        .interval_ms = c->batch_interval_ms,
        .timeout_ms = c->timeout_ms,
    };
    /* The exporter wants a NULL-terminated list (it copies the lines). */
    const char *hdrs[GW_OTEL_MAX_HEADERS + 1];
    for (int i = 0; i < c->nheaders; i++)
        hdrs[i] = c->headers[i];
    hdrs[c->nheaders] = NULL;
    o.headers = hdrs;
    int rc = gw_otlp_start(&o, &g.x);
    if (rc)
        return rc;
    g.ratio = c->sample_ratio;
    g.capture = c->capture_content;
    g.content_max = c->content_max_bytes;
    atomic_store(&g.on, 1);
    return 0;
}

void gw_otel_stop(int64_t deadline_ms)
{
    if (!atomic_exchange(&g.on, 0))
        return;
    gw_otlp_stop(g.x, deadline_ms);
    g.x = NULL;
    gw_trace_cache_drop();
}

int gw_otel_on(void)
{
    return atomic_load_explicit(&g.on, memory_order_relaxed);
}

void gw_otel_flush(void)
{
    if (gw_otel_on())
        gw_otlp_flush(g.x);
}

static void submit(struct gw_span *s)
{
    gw_span_end(s);
    if (gw_otel_on())
        gw_otlp_submit(g.x, s);
    else
        gw_span_free(s);
}

/* ---- the request ------------------------------------------------------------------------- */

/* "a b" (or "a" when b is NULL) into out, cut to size (snprintf's format parsing showed in
 * the profile of a traced request). */
static void join(char *out, size_t size, const char *a, const char *b)
{
    size_t n = gw_strlcpy(out, a, size);
    if (b && n + 1 < size) {
        out[n] = ' ';
        gw_strlcpy(out + n + 1, b, size - n - 1);
    }
}

/* The HTTP conventions' known methods; anything else is "_OTHER" (and the name "HTTP"), so a
 * client cannot mint span names. */
static const char *known_method(const char *m)
{
    static const char *const methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                          "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; m && i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(m, methods[i]))
            return methods[i];
    return NULL;
}

struct gw_span *gw_otel_request_begin(const char *traceparent, size_t tp_len,
                                      const char *tracestate, size_t ts_len, const char *method,
                                      const char *route, const char *path, size_t path_len,
                                      const char *request_id)
{
    if (!gw_otel_on())
        return NULL;
    struct gw_trace_ctx ctx;
    int remote = traceparent && gw_traceparent_parse(traceparent, tp_len, &ctx) == 0;
    if (remote && tracestate)
        gw_tracestate_parse(tracestate, ts_len, &ctx); /* invalid: dropped, parent kept */
    const char *m = known_method(method);
    char name[GW_SPAN_NAME_MAX];
    join(name, sizeof name, m ? m : "HTTP", m ? route : NULL);
    struct gw_span *s = gw_span_start(remote ? &ctx : NULL, g.ratio, name, GW_SPAN_SERVER);
    if (!s || !s->recording)
        return s;
    gw_span_set_cstr(s, "http.request.method", m ? m : "_OTHER");
    if (path) {
        size_t n = 0;
        while (n < path_len && path[n] != '?' && path[n] != '#')
            n++;
        gw_span_set_str(s, "url.path", path, n);
    }
    gw_span_set_cstr(s, "http.route", route);
    gw_span_set_cstr(s, "aigw.request_id", request_id);
    return s;
}

void gw_otel_request_end(struct gw_span *s, const struct gw_otel_request_end *e)
{
    if (!s)
        return;
    if (e && s->recording) {
        gw_span_set_int(s, "http.response.status_code", e->status);
        gw_span_set_cstr(s, "aigw.key_id", e->key_id);
        gw_span_set_cstr(s, "aigw.dialect", e->dialect);
        gw_span_set_cstr(s, "aigw.cache", e->cache);
        gw_span_set_cstr(s, "aigw.guardrail", e->guardrail);
        gw_span_set_int(s, "aigw.attempts", e->attempts);
        /* HTTP server conventions: 5xx is the server's error, 4xx the client's (unset). */
        if (e->status >= 500 || e->status < 100) {
            char code[16];
            snprintf(code, sizeof code, "%d", e->status);
            gw_span_set_cstr(s, "error.type", e->error_type ? e->error_type : code);
            gw_span_set_status(s, GW_SPAN_ERROR, e->error_type);
        } else if (e->error_type) {
            gw_span_set_cstr(s, "error.type", e->error_type);
        }
    }
    submit(s);
}

/* ---- one attempt ------------------------------------------------------------------------- */

const char *gw_otel_provider_name(const char *vkey)
{
    static const char *const map[][2] = {
        {"azure-openai", "azure.ai.openai"},
        {"azure-foundry", "azure.ai.inference"},
        {"bedrock", "aws.bedrock"},
        {"gemini", "gcp.gemini"},
        {"vertex-ai", "gcp.vertex_ai"},
        {"mistral", "mistral_ai"},
        {"xai", "x_ai"},
    };
    if (!vkey)
        return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(vkey, map[i][0]))
            return map[i][1];
    return vkey; /* openai, anthropic, cohere, deepseek, groq, perplexity and the rest */
}

/* server.address and server.port from a URL: no scheme, no userinfo, no path, no query. */
static void set_server(struct gw_span *s, const char *url)
{
    const char *p = strstr(url, "://");
    int https = p && p - url == 5 && !strncmp(url, "https", 5);
    p = p ? p + 3 : url;
    size_t end = strcspn(p, "/?#");
    const char *at = memchr(p, '@', end);
    if (at) { /* userinfo may hold a password */
        end -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *host = p, *colon = NULL;
    size_t hn = end;
    if (*p == '[') {
        const char *rb = memchr(p, ']', end);
        if (!rb)
            return;
        host = p + 1;
        hn = (size_t)(rb - host);
        colon = rb + 1 < p + end && rb[1] == ':' ? rb + 1 : NULL;
    } else if ((colon = memchr(p, ':', end))) {
        hn = (size_t)(colon - p);
    }
    if (!hn)
        return;
    gw_span_set_str(s, "server.address", host, hn);
    long port = https ? 443 : 80;
    if (colon) {
        port = 0;
        for (const char *q = colon + 1; q < p + end && *q >= '0' && *q <= '9' && port < 65536; q++)
            port = port * 10 + (*q - '0');
    }
    if (port > 0 && port < 65536)
        gw_span_set_int(s, "server.port", port);
}

struct gw_span *gw_otel_attempt_begin(struct gw_span *server, const struct gw_otel_attempt *a)
{
    if (!server || !a)
        return NULL;
    const char *op = a->operation ? a->operation : "chat";
    char name[GW_SPAN_NAME_MAX];
    join(name, sizeof name, op, a->model);
    struct gw_span *s = gw_span_child(server, name, GW_SPAN_CLIENT);
    if (!s || !s->recording)
        return s;
    gw_span_set_cstr(s, "gen_ai.operation.name", op);
    gw_span_set_cstr(s, "gen_ai.provider.name", gw_otel_provider_name(a->provider));
    gw_span_set_cstr(s, "aigw.provider", a->provider);
    gw_span_set_cstr(s, "gen_ai.request.model", a->model);
    if (a->url)
        set_server(s, a->url);
    gw_span_set_int(s, "aigw.attempt", a->attempt);
    gw_span_set_bool(s, "aigw.stream", a->stream);
    if (a->max_tokens >= 0)
        gw_span_set_int(s, "gen_ai.request.max_tokens", a->max_tokens);
    gw_span_set_double(s, "gen_ai.request.temperature", a->temperature);
    gw_span_set_double(s, "gen_ai.request.top_p", a->top_p);
    return s;
}

void gw_otel_attempt_url(struct gw_span *s, const char *url)
{
    if (s && s->recording && url)
        set_server(s, url);
}

int gw_otel_traceparent(const struct gw_span *s, char *out)
{
    if (!s)
        return -1;
    gw_traceparent_format(s->trace_id, s->span_id, s->flags, out);
    return 0;
}

const char *gw_otel_tracestate(const struct gw_span *s, size_t *len)
{
    if (!s || !s->state) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = s->state_len;
    return s->state;
}

void gw_otel_attempt_first_token(struct gw_span *s)
{
    if (!s || !s->recording || gw_span_attr(s, "gen_ai.response.time_to_first_chunk"))
        return;
    gw_span_add_event(s, "aigw.first_token", 0);
    gw_span_set_double(s, "gen_ai.response.time_to_first_chunk",
                       (double)gw_span_elapsed_ns(s) / 1e9);
}

int gw_otel_capturing(const struct gw_span *s)
{
    return s && s->recording && g.capture;
}

void gw_otel_content(struct gw_span *s, int output, const char *json, size_t n)
{
    if (!s || !s->recording || !g.capture || !json)
        return;
    /* Redact the whole text before cutting it: a cut through a secret would leave its head. */
    size_t size = 3 * n + 16;
    char *r = malloc(size);
    if (!r)
        return;
    size_t m = gw_redact(json, n, r, size);
    gw_span_set_big(s, output ? "gen_ai.output.messages" : "gen_ai.input.messages", r, m,
                    (size_t)g.content_max);
    free(r);
}

void gw_otel_attempt_end(struct gw_span *s, const struct gw_otel_attempt_end *e)
{
    if (!s)
        return;
    if (e && s->recording) {
        if (e->http_status > 0)
            gw_span_set_int(s, "http.response.status_code", e->http_status);
        gw_span_set_cstr(s, "gen_ai.response.model", e->response_model);
        gw_span_set_cstr(s, "gen_ai.response.id", e->response_id);
        if (e->finish_reasons && e->nfinish > 0)
            gw_span_set_strs(s, "gen_ai.response.finish_reasons", e->finish_reasons, e->nfinish);
        const struct aigw_usage *u = e->usage;
        if (u && u->prompt_tokens >= 0)
            gw_span_set_int(s, "gen_ai.usage.input_tokens", u->prompt_tokens);
        if (u && u->completion_tokens >= 0)
            gw_span_set_int(s, "gen_ai.usage.output_tokens", u->completion_tokens);
        if (u && u->cached_tokens >= 0)
            gw_span_set_int(s, "gen_ai.usage.cache_read.input_tokens", u->cached_tokens);
        if (u && u->cache_write_tokens >= 0)
            gw_span_set_int(s, "gen_ai.usage.cache_creation.input_tokens", u->cache_write_tokens);
        if (u && u->reasoning_tokens >= 0)
            gw_span_set_int(s, "aigw.usage.reasoning_tokens", u->reasoning_tokens);
        if (e->cost_usd >= 0)
            gw_span_set_double(s, "aigw.cost_usd", e->cost_usd);
        if (e->failure_class) {
            gw_span_set_cstr(s, "aigw.failure_class", e->failure_class);
            gw_span_set_cstr(s, "error.type", e->failure_class);
            gw_span_set_status(s, GW_SPAN_ERROR, e->failure_class);
        }
    }
    submit(s);
}

void gw_otel_abandon(struct gw_span *s)
{
    if (!s)
        return;
    gw_span_set_cstr(s, "aigw.failure_class", "cancelled");
    gw_span_set_cstr(s, "error.type", "cancelled");
    gw_span_set_status(s, GW_SPAN_ERROR, "cancelled");
    submit(s);
}
