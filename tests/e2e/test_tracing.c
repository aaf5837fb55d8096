/*
 * Tracing end to end: the real aigw with `otel.endpoint` at the test OTLP receiver
 * (tests/otlprecv) and the routing tests' mock (openai answers 500, groq streams).
 *
 * A streamed chat with a fallback continues the client's trace: one SERVER span, two CLIENT
 * spans (the failed attempt and the one that answered, with usage, cost, finish reasons and
 * the first-token event) under it, and each upstream request carried its own attempt's
 * traceparent and the client's tracestate. Without an incoming traceparent a trace starts;
 * with an unsampled one nothing is exported but the upstream still hears the decision. No
 * secret reaches the collector, and a collector that is down costs requests nothing: the
 * dropped spans are counted.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/test_routing.h"
#include "otlprecv/otlprecv.h"

#define IN_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define IN_PARENT "00f067aa0ba902b7"
#define IN_SAMPLED "00-" IN_TRACE "-" IN_PARENT "-01"
#define IN_UNSAMPLED "00-" IN_TRACE "-" IN_PARENT "-00"
#define GW_KEY "gwkey-canary-4d1f9a7c"

/* FALLBACK3 with tracing to endpoint, one worker (so one request's spans are handed to the
 * exporter before the next request's), a gateway key and prices for m1 (a catalog that
 * knows a model only at some providers would route it only to them). */
static const char *config_interval(const char *endpoint, int batch_interval_ms)
{
    const char *base = FALLBACK3;
    return e2e_strf(
        "%.*s,\"threads\":1,\"auth\":{\"api_keys\":[\"" GW_KEY "\"]},"
        "\"catalog\":{\"overrides\":["
        "{\"provider\":\"openai\",\"model\":\"m1\",\"mode\":\"chat\",\"in\":5,\"out\":10},"
        "{\"provider\":\"groq\",\"model\":\"m1\",\"mode\":\"chat\",\"in\":1,\"out\":2}]},"
        "\"otel\":{\"endpoint\":\"%s\",\"batch_interval_ms\":%d}}",
        (int)strlen(base) - 1, base, endpoint, batch_interval_ms);
}

static const char *config(const char *endpoint)
{
    return config_interval(endpoint, 50);
}

struct world {
    struct otlprecv *recv;
    struct mock *m;
    struct e2e_gw *gw;
};

/* openai answers 500, groq answers; aigw falls over from the one to the other. */
static void start(struct world *w)
{
    w->recv = otlprecv_start();
    cr_assert_not_null(w->recv);
    w->m = rt_mock();
    rt_add(w->m, "openai", RT_500);
    rt_ok(w->m, "groq");
    w->gw = rt_gw(w->m, config(otlprecv_url(w->recv)));
}

static void stop(struct world *w)
{
    rt_stop(w->gw, w->m);
    otlprecv_stop(w->recv);
}

static const char *hdrs(const char *traceparent)
{
    if (!traceparent)
        return "Authorization: Bearer " GW_KEY;
    return e2e_strf("Authorization: Bearer " GW_KEY "\ntraceparent: %s\ntracestate: rojo=1",
                    traceparent);
}

static const char *attr(const cJSON *span, const char *key)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    return otlprecv_attr(span, key, buf[k], sizeof buf[k]);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* The spans of one kind in trace (NULL: any), in arrival order. */
static int of_kind(const cJSON *spans, int kind, const char *trace, const cJSON **out, int max)
{
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, spans)
    {
        if (num(s, "kind", NULL) != kind)
            continue;
        if (trace && (!str(s, "traceId") || strcmp(str(s, "traceId"), trace)))
            continue;
        if (n < max)
            out[n] = s;
        n++;
    }
    return n;
}

/* The attempt span whose aigw.attempt is n. */
static const cJSON *attempt(const cJSON *const *clients, int nclients, int n)
{
    char want[16];
    snprintf(want, sizeof want, "%d", n);
    for (int i = 0; i < nclients; i++)
        if (attr(clients[i], "aigw.attempt") && !strcmp(attr(clients[i], "aigw.attempt"), want))
            return clients[i];
    cr_assert_fail("no attempt span %d", n);
    return NULL;
}

static int has_event(const cJSON *span, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(span, "events"))
    {
        if (str(e, "name") && !strcmp(str(e, "name"), name))
            return 1;
    }
    return 0;
}

/* The upstream request of route vkey (the first one). Release with mock_req_free. */
static const struct mock_req *upstream(struct mock *m, const char *vkey)
{
    for (int i = 0; i < mock_request_count(m); i++) {
        const struct mock_req *q = mock_request(m, i);
        if (q && mock_req_route(q) && !strcmp(mock_req_route(q), vkey))
            return q;
        mock_req_free(q);
    }
    cr_assert_fail("no upstream request to %s", vkey);
    return NULL;
}

/* The W3C form of a span: 00-<traceId>-<spanId>-<flags>. */
static const char *traceparent_of(const cJSON *span, const char *flags)
{
    return e2e_strf("00-%s-%s-%s", str(span, "traceId"), str(span, "spanId"), flags);
}

/* Every batch the receiver got, as text, holds none of the secrets the gateway knows. */
static void no_secret_in_batches(struct otlprecv *recv)
{
    static const char *const secrets[] = {"sk-test-openai", "gsk-test", "xai-test", GW_KEY};
    int k = 0;
    for (cJSON *b; (b = otlprecv_batch(recv, k)) != NULL; k++) {
        char *text = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
        cr_assert_not_null(text);
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            cr_assert_null(strstr(text, secrets[i]), "batch %d holds %s: %s", k, secrets[i], text);
        free(text);
    }
    cr_assert_gt(k, 0, "no batch arrived");
}

Test(tracing, a_streamed_fallback_continues_the_client_trace)
{
    struct world w;
    start(&w);
    struct e2e_resp *r =
        e2e_stream(w.gw, "/v1/chat/completions", RT_STREAM, hdrs(IN_SAMPLED), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    const char *rid = e2e_resp_header(r, "X-Request-ID");
    cr_assert_not_null(rid);
    cr_assert_eq(otlprecv_wait_spans(w.recv, 3, 10000), 0, "spans: %d\n%s",
                 otlprecv_span_count(w.recv), e2e_gw_log(w.gw));
    cJSON *spans = otlprecv_spans(w.recv);
    cr_assert_eq(cJSON_GetArraySize(spans), 3, "%s", cJSON_Print(spans));

    /* (a) the request: one SERVER span, a child of the client's span. */
    const cJSON *servers[4], *clients[4];
    cr_assert_eq(of_kind(spans, 2, NULL, servers, 4), 1);
    const cJSON *srv = servers[0];
    cr_assert_str_eq(str(srv, "name"), "POST /v1/chat/completions");
    cr_assert_str_eq(str(srv, "traceId"), IN_TRACE);
    cr_assert_str_eq(str(srv, "parentSpanId"), IN_PARENT);
    cr_assert_str_eq(str(srv, "traceState"), "rojo=1");
    cr_assert_str_eq(attr(srv, "aigw.request_id"), rid);
    cr_assert_str_eq(attr(srv, "http.response.status_code"), "200");
    cr_assert_str_eq(attr(srv, "http.request.method"), "POST");
    cr_assert_str_eq(attr(srv, "url.path"), "/v1/chat/completions");
    cr_assert_str_eq(attr(srv, "http.route"), "/v1/chat/completions");
    cr_assert_str_eq(attr(srv, "aigw.dialect"), "openai");
    cr_assert_str_eq(attr(srv, "aigw.attempts"), "2");
    cr_assert_neq(num(srv, "status", "code"), 2, "a 200 is no error");
    cr_assert_str_eq(str(srv, "resource.service.name"), "aigw");

    /* Two CLIENT spans under it, one per attempt. */
    cr_assert_eq(of_kind(spans, 3, IN_TRACE, clients, 4), 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(str(clients[i], "parentSpanId"), str(srv, "spanId"));
        cr_assert_str_eq(str(clients[i], "name"), "chat m1");
        cr_assert_str_eq(attr(clients[i], "gen_ai.operation.name"), "chat");
        cr_assert_str_eq(attr(clients[i], "gen_ai.request.model"), "m1");
        cr_assert_str_eq(attr(clients[i], "aigw.stream"), "true");
        cr_assert_str_eq(attr(clients[i], "server.address"), "127.0.0.1");
        cr_assert_str_neq(str(clients[i], "spanId"), str(srv, "spanId"));
    }
    const cJSON *a1 = attempt(clients, 2, 1), *a2 = attempt(clients, 2, 2);
    cr_assert_str_eq(attr(a1, "aigw.provider"), "openai");
    cr_assert_str_eq(attr(a1, "gen_ai.provider.name"), "openai");
    cr_assert_str_eq(attr(a1, "aigw.failure_class"), "500");
    cr_assert_str_eq(attr(a1, "error.type"), "500");
    cr_assert_str_eq(attr(a1, "http.response.status_code"), "500");
    cr_assert_eq(num(a1, "status", "code"), 2, "the failed attempt is an error");
    cr_assert_null(attr(a1, "gen_ai.usage.output_tokens"));
    cr_assert(!has_event(a1, "aigw.first_token"));

    cr_assert_str_eq(attr(a2, "aigw.provider"), "groq");
    cr_assert_str_eq(attr(a2, "gen_ai.provider.name"), "groq");
    cr_assert_null(attr(a2, "aigw.failure_class"));
    cr_assert_neq(num(a2, "status", "code"), 2);
    cr_assert_str_eq(attr(a2, "http.response.status_code"), "200");
    cr_assert_str_eq(attr(a2, "gen_ai.usage.input_tokens"), "14");
    cr_assert_str_eq(attr(a2, "gen_ai.usage.output_tokens"), "16");
    cr_assert_str_eq(attr(a2, "gen_ai.response.finish_reasons"), "stop");
    cr_assert_str_eq(attr(a2, "gen_ai.response.model"), "gpt-4o-mini-2024-07-18");
    cr_assert_str_eq(attr(a2, "gen_ai.response.id"), "chatcmpl-mock7Qx2bL9aZ3kV0tR5");
    /* 14 x $1/M + 16 x $2/M from the override. */
    cr_assert_not_null(attr(a2, "aigw.cost_usd"));
    cr_assert_float_eq(strtod(attr(a2, "aigw.cost_usd"), NULL), 46e-6, 1e-12);
    cr_assert(has_event(a2, "aigw.first_token"));
    cr_assert_not_null(attr(a2, "gen_ai.response.time_to_first_chunk"));
    cr_assert_str_eq(attr(a2, "server.port"), e2e_strf("%d", mock_port(w.m)));

    /* (b) each upstream request carried its own attempt's context. */
    const struct mock_req *q1 = upstream(w.m, "openai"), *q2 = upstream(w.m, "groq");
    cr_assert_str_eq(mock_req_header(q1, "traceparent"), traceparent_of(a1, "01"));
    cr_assert_str_eq(mock_req_header(q2, "traceparent"), traceparent_of(a2, "01"));
    cr_assert_str_eq(mock_req_header(q1, "tracestate"), "rojo=1");
    cr_assert_str_eq(mock_req_header(q2, "tracestate"), "rojo=1");
    mock_req_free(q1);
    mock_req_free(q2);

    /* (d) no key, the gateway's or a provider's, went to the collector. */
    no_secret_in_batches(w.recv);
    cJSON_Delete(spans);
    e2e_resp_free(r);
    stop(&w);
}

Test(tracing, without_a_traceparent_a_trace_starts_here)
{
    struct world w;
    start(&w);
    struct e2e_resp *r = rt_post(w.gw, RT_CHAT, hdrs(NULL));
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_eq(otlprecv_wait_spans(w.recv, 3, 10000), 0, "spans: %d",
                 otlprecv_span_count(w.recv));
    cJSON *spans = otlprecv_spans(w.recv);
    const cJSON *servers[2], *clients[4];
    cr_assert_eq(of_kind(spans, 2, NULL, servers, 2), 1);
    const char *trace = str(servers[0], "traceId");
    cr_assert(trace && strlen(trace) == 32 && strcmp(trace, IN_TRACE) && strspn(trace, "0") < 32);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(servers[0], "parentSpanId"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(servers[0], "traceState"));
    cr_assert_str_eq(attr(servers[0], "aigw.request_id"), e2e_resp_header(r, "X-Request-ID"));
    cr_assert_eq(of_kind(spans, 3, trace, clients, 4), 2);
    const cJSON *a2 = attempt(clients, 2, 2);
    cr_assert_str_eq(attr(a2, "aigw.stream"), "false");
    cr_assert_str_eq(attr(a2, "gen_ai.response.finish_reasons"), "stop");
    const struct mock_req *q = upstream(w.m, "groq");
    cr_assert_str_eq(mock_req_header(q, "traceparent"), traceparent_of(a2, "01"));
    cr_assert_null(mock_req_header(q, "tracestate"));
    mock_req_free(q);
    no_secret_in_batches(w.recv);
    cJSON_Delete(spans);
    e2e_resp_free(r);
    stop(&w);
}

Test(tracing, an_unsampled_trace_is_exported_nowhere_but_still_propagated)
{
    struct world w;
    start(&w);
    struct e2e_resp *r = rt_post(w.gw, RT_CHAT, hdrs(IN_UNSAMPLED));
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    /* The upstream heard the decision: the client's trace, a span id of aigw's, flags 00. */
    const char *prefix = "00-" IN_TRACE "-";
    const char *vkeys[] = {"openai", "groq"};
    for (int i = 0; i < 2; i++) {
        const struct mock_req *q = upstream(w.m, vkeys[i]);
        const char *tp = mock_req_header(q, "traceparent");
        cr_assert(tp && strlen(tp) == 55 && !strncmp(tp, prefix, strlen(prefix)), "%s", tp);
        cr_assert_str_eq(tp + 52, "-00", "%s", tp);
        cr_assert(strncmp(tp + 36, IN_PARENT, 16), "a span of aigw's, not the client's: %s", tp);
        cr_assert_str_eq(mock_req_header(q, "tracestate"), "rojo=1");
        mock_req_free(q);
    }
    /* Then a sampled request: once its three spans are in, the unsampled request's (handed
     * to the exporter first, by the one worker) would have been too. */
    r = rt_post(w.gw, RT_CHAT, hdrs(NULL));
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(otlprecv_wait_spans(w.recv, 3, 10000), 0);
    cJSON *spans = otlprecv_spans(w.recv);
    cr_assert_eq(cJSON_GetArraySize(spans), 3);
    const cJSON *s;
    cJSON_ArrayForEach(s, spans)
    {
        cr_assert_str_neq(str(s, "traceId"), IN_TRACE, "an unsampled span was exported");
    }
    cJSON_Delete(spans);
    stop(&w);
}

/* A response cache hit asks no upstream: its request span says where its answer came from
 * (aigw.cache), and no span counts tokens for it (gen_ai.usage.* are a model call's, on its
 * attempt span, and a hit has none). */
Test(tracing, a_cache_hit_is_marked_on_its_span_and_counts_no_tokens)
{
    struct world w;
    w.recv = otlprecv_start();
    cr_assert_not_null(w.recv);
    w.m = rt_mock();
    rt_add(w.m, "openai", RT_500);
    rt_ok(w.m, "groq");
    /* A gateway key (an id the spans name) rather than the static one. */
    const char *base = FALLBACK3, *admin = "admin-key-for-tracing-0123456789";
    w.gw = e2e_gw_start(
        e2e_strf("%.*s,\"threads\":1,\"cache\":{\"enabled\":true},\"otel\":{\"endpoint\":"
                 "\"%s\",\"batch_interval_ms\":50}}",
                 (int)strlen(base) - 1, base, otlprecv_url(w.recv)),
        "OPENAI_API_KEY=sk-test-openai", e2e_strf("OPENAI_BASE_URL=%s/openai/v1", mock_url(w.m)),
        "GROQ_API_KEY=gsk-test", e2e_strf("GROQ_BASE_URL=%s/groq/v1", mock_url(w.m)),
        e2e_strf("AIGW_ADMIN_KEY=%s", admin), NULL);
    struct e2e_resp *k =
        e2e_request("POST", e2e_strf("%s/admin/keys", e2e_gw_url(w.gw)), "{\"name\":\"traced\"}",
                    e2e_strf("Authorization: Bearer %s", admin), 10000);
    cr_assert_eq(k->status, 201, "%s", k->body);
    const char *kid = e2e_strf("%s", cJSON_GetObjectItem(e2e_resp_json(k), "id")->valuestring);
    const char *auth = e2e_strf("Authorization: Bearer %s",
                                cJSON_GetObjectItem(e2e_resp_json(k), "key")->valuestring);
    e2e_resp_free(k);
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = rt_post(w.gw, RT_CHAT, auth);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cache"), i ? "hit" : "miss");
        e2e_resp_free(r);
    }
    /* the miss: a server span and two attempts; the hit: its server span alone */
    cr_assert_eq(otlprecv_wait_spans(w.recv, 4, 10000), 0, "spans: %d\n%s",
                 otlprecv_span_count(w.recv), e2e_gw_log(w.gw));
    cJSON *spans = otlprecv_spans(w.recv);
    const cJSON *servers[4], *clients[4];
    cr_assert_eq(of_kind(spans, 2, NULL, servers, 4), 2, "%s", cJSON_Print(spans));
    int hit = attr(servers[0], "aigw.cache") && !strcmp(attr(servers[0], "aigw.cache"), "hit");
    const cJSON *h = servers[hit ? 0 : 1], *miss = servers[hit ? 1 : 0];
    cr_assert_str_eq(attr(miss, "aigw.cache"), "miss");
    cr_assert_str_eq(attr(miss, "aigw.attempts"), "2");
    cr_assert_str_eq(attr(h, "aigw.cache"), "hit");
    cr_assert_str_eq(attr(h, "aigw.attempts"), "0");
    cr_assert_str_eq(attr(h, "http.response.status_code"), "200");
    cr_assert_str_eq(attr(h, "aigw.key_id"), kid);
    cr_assert_str_eq(attr(miss, "aigw.key_id"), kid);
    cr_assert_eq(of_kind(spans, 3, str(miss, "traceId"), clients, 4), 2);
    cr_assert_eq(of_kind(spans, 3, str(h, "traceId"), clients, 4), 0, "a hit made no attempt");
    const cJSON *s;
    int counted = 0;
    cJSON_ArrayForEach(s, spans)
    {
        counted += attr(s, "gen_ai.usage.input_tokens") != NULL;
        if (!strcmp(str(s, "traceId"), str(h, "traceId")))
            cr_assert_null(attr(s, "gen_ai.usage.input_tokens"), "the hit's tokens were counted");
    }
    cr_assert_eq(counted, 1, "the one answer a provider gave counts its tokens once");
    cJSON_Delete(spans);
    stop(&w);
}

Test(tracing, content_is_captured_only_when_asked_redacted_and_capped)
{
    struct world w;
    w.recv = otlprecv_start();
    cr_assert_not_null(w.recv);
    w.m = rt_mock();
    rt_ok(w.m, "groq");
    const char *cfg = config(otlprecv_url(w.recv));
    /* capture_content on, each content attribute cut at 100 bytes. */
    cfg = e2e_strf("%.*s,\"capture_content\":true,\"content_max_bytes\":100}}",
                   (int)strlen(cfg) - 2, cfg);
    w.gw = rt_gw(w.m, cfg);
    const char *body = "{\"model\":\"groq/m1\",\"stream\":true,\"messages\":[{\"role\":"
                       "\"user\",\"content\":\"hi, my key is gsk-test\"}]}";
    struct e2e_resp *r = e2e_stream(w.gw, "/v1/chat/completions", body, hdrs(NULL), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(otlprecv_wait_spans(w.recv, 2, 10000), 0);
    cJSON *spans = otlprecv_spans(w.recv);
    const cJSON *clients[2];
    cr_assert_eq(of_kind(spans, 3, NULL, clients, 2), 1);
    const char *in = attr(clients[0], "gen_ai.input.messages");
    const char *out = attr(clients[0], "gen_ai.output.messages");
    cr_assert_str_eq(in, "[{\"role\":\"user\",\"content\":\"hi, my key is [REDACTED]\"}]");
    cr_assert_not_null(out);
    cr_assert_eq(strlen(out), 100, "%s", out);
    cr_assert(!strncmp(out, "[{\"role\":\"assistant\",\"content\":\"Hello from the aigw mock", 50),
              "%s", out);
    /* Not on the request's own span. */
    const cJSON *servers[2];
    cr_assert_eq(of_kind(spans, 2, NULL, servers, 2), 1);
    cr_assert_null(attr(servers[0], "gen_ai.input.messages"));
    no_secret_in_batches(w.recv);
    cJSON_Delete(spans);
    stop(&w);
}

Test(tracing, content_is_not_captured_by_default)
{
    struct world w;
    start(&w);
    struct e2e_resp *r = rt_post(w.gw, RT_CHAT, hdrs(NULL));
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(otlprecv_wait_spans(w.recv, 3, 10000), 0);
    cJSON *spans = otlprecv_spans(w.recv);
    const cJSON *s;
    cJSON_ArrayForEach(s, spans)
    {
        cr_assert_null(attr(s, "gen_ai.input.messages"));
        cr_assert_null(attr(s, "gen_ai.output.messages"));
    }
    cJSON_Delete(spans);
    stop(&w);
}

Test(tracing, spans_still_queued_at_shutdown_are_sent)
{
    struct world w;
    w.recv = otlprecv_start();
    cr_assert_not_null(w.recv);
    w.m = rt_mock();
    rt_add(w.m, "openai", RT_500);
    rt_ok(w.m, "groq");
    /* A batch interval far past the test: only the shutdown sends them. (Appending a second
     * batch_interval_ms to config()'s left its 50 ms in force: the first key counts.) */
    w.gw = rt_gw(w.m, config_interval(otlprecv_url(w.recv), 600000));
    struct e2e_resp *r = rt_post(w.gw, RT_CHAT, hdrs(IN_SAMPLED));
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    rt_log_has(w.gw, "\"tried\":\"openai:500,groq:ok\"");
    cr_assert_eq(otlprecv_span_count(w.recv), 0);
    rt_stop(w.gw, w.m); /* SIGTERM; exit status 0 */
    cr_assert_eq(otlprecv_wait_spans(w.recv, 3, 5000), 0, "got %d", otlprecv_span_count(w.recv));
    cJSON *spans = otlprecv_spans(w.recv);
    const cJSON *servers[2];
    cr_assert_eq(of_kind(spans, 2, IN_TRACE, servers, 2), 1);
    cJSON_Delete(spans);
    otlprecv_stop(w.recv);
}

/* A loopback port nobody listens on: bound, then closed. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static double series_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

Test(tracing, a_collector_that_is_down_costs_requests_nothing)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_ok(m, "groq");
    const char *endpoint = e2e_strf("http://127.0.0.1:%d", free_port());
    struct e2e_gw *gw = rt_gw(m, config(endpoint));
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r =
            i == 1 ? e2e_stream(gw, "/v1/chat/completions", RT_STREAM, hdrs(IN_SAMPLED), NULL)
                   : rt_post(gw, RT_CHAT, hdrs(i ? IN_SAMPLED : NULL));
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
        e2e_resp_free(r);
    }
    /* The exporter counts the drop, then warns (once a minute at most). */
    cr_assert_eq(e2e_gw_wait_log(gw, e2e_strf("export to %s/v1/traces failed", endpoint), 10000), 0,
                 "%s", e2e_gw_log(gw));
    struct e2e_resp *r = e2e_get(gw, "/metrics", hdrs(NULL));
    cr_assert_eq(r->status, 200);
    double dropped =
        series_value(r->body, "aigw_otel_spans_dropped_total{reason=\"export_failed\"}");
    cr_assert_gt(dropped, 0, "%s", r->body);
    cr_assert_lt(series_value(r->body, "aigw_otel_spans_exported_total"), 1, "%s", r->body);
    e2e_resp_free(r);
    rt_stop(gw, m);
}

/* A collector's credentials in its URL (a password in the userinfo, a token in the query)
 * are in no log line: not the startup line naming the collector, not the export's warning.
 * And the query stays the query: /v1/traces goes before it. */
Test(tracing, the_collector_url_is_logged_without_its_credentials)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    int port = free_port();
    const char *endpoint =
        e2e_strf("http://alice:Pw-7f3e9c1a@127.0.0.1:%d/base?tenant_token=Tk-52b8d0e4", port);
    struct e2e_gw *gw = rt_gw(m, config(endpoint));
    struct e2e_resp *r = rt_post(gw, RT_CHAT, hdrs(IN_SAMPLED));
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(
        e2e_gw_wait_log(gw, e2e_strf("export to http://127.0.0.1:%d/base/v1/traces failed", port),
                        10000),
        0, "%s", e2e_gw_log(gw));
    const char *log = e2e_gw_log(gw);
    cr_assert_not_null(
        strstr(log, e2e_strf("tracing: spans to http://127.0.0.1:%d/base/v1/traces", port)), "%s",
        log);
    cr_assert_null(strstr(log, "Pw-7f3e9c1a"), "the password is logged: %s", log);
    cr_assert_null(strstr(log, "Tk-52b8d0e4"), "the query's token is logged: %s", log);
    cr_assert_null(strstr(log, "alice"), "the user is logged: %s", log);
    rt_stop(gw, m);
}
