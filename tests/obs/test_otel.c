/*
 * Unit tests for core/obs/otel*.c: the `otel` object and the OTEL_* variables (precedence,
 * URL building, header parsing with percent-decoding, errors that name the key), and the
 * lifetime's spans against the test receiver: a continued trace with a server span and two
 * attempt spans (GenAI attributes, parents, the first-token event, the traceparent for the
 * upstream), sampling, malformed context, captured content, and that no secret is sent.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/redact.h"
#include "obs/otel.h"
#include "obs/otlp.h"
#include "otlprecv/otlprecv.h"
#include "usage.h"

/* ---- configuration ------------------------------------------------------------------------ */

static const char *const *fake_vars;

static const char *fake_env(const char *name)
{
    for (const char *const *v = fake_vars; v && *v; v += 2)
        if (!strcmp(v[0], name))
            return v[1];
    return NULL;
}

/* Parses json (NULL: no otel object) with vars ("NAME", "value", ..., NULL). */
static int parse(struct gw_otel_config *c, const char *json, const char *const *vars, char *err)
{
    gw_otel_config_init(c);
    fake_vars = vars;
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    cr_assert(!json || o, "bad test JSON %s", json);
    int rc = gw_otel_config_parse(c, o, fake_env, err, 256);
    cJSON_Delete(o);
    return rc;
}

static void fini_config(void)
{
    gw_redact_reset();
}

TestSuite(otel_config, .fini = fini_config);

Test(otel_config, unconfigured_is_off)
{
    struct gw_otel_config c;
    char err[256] = "";
    cr_assert_eq(parse(&c, NULL, NULL, err), 0);
    cr_assert_eq(c.enabled, 0);
    cr_assert_eq(parse(&c, "{\"service_name\":\"x\",\"sample_ratio\":0.5}", NULL, err), 0);
    cr_assert_eq(c.enabled, 0);
    gw_otel_config_free(&c);
}

Test(otel_config, the_object_sets_everything)
{
    struct gw_otel_config c;
    char err[256] = "";
    cr_assert_eq(parse(&c,
                       "{\"endpoint\":\"https://otel.example:4318/\",\"headers\":{\"x-honeycomb-"
                       "team\":\"hc-secret-value\",\"Authorization\":\"Basic dXNlcjpwYXNz\"},"
                       "\"sample_ratio\":0.25,\"service_name\":\"gw-eu\",\"capture_content\":true,"
                       "\"content_max_bytes\":100,\"queue_size\":10,\"batch_size\":50,"
                       "\"batch_interval_ms\":250,\"timeout_ms\":750}",
                       NULL, err),
                 0, "%s", err);
    cr_assert_eq(c.enabled, 1);
    cr_assert_str_eq(c.url, "https://otel.example:4318/v1/traces");
    cr_assert_eq(c.nheaders, 2);
    cr_assert_str_eq(c.headers[0], "x-honeycomb-team: hc-secret-value");
    cr_assert_str_eq(c.headers[1], "Authorization: Basic dXNlcjpwYXNz");
    cr_assert(gw_redact_contains_secret("hc-secret-value", 15), "header values are secrets");
    cr_assert_eq(c.sample_ratio, 0.25);
    cr_assert_str_eq(c.service_name, "gw-eu");
    cr_assert_eq(c.capture_content, 1);
    cr_assert_eq(c.content_max_bytes, 100);
    cr_assert_eq(c.queue_size, 10);
    cr_assert_eq(c.batch_size, 10, "a batch is never bigger than the queue");
    cr_assert_eq(c.batch_interval_ms, 250);
    cr_assert_eq(c.timeout_ms, 750);
    gw_otel_config_free(&c);
    /* An endpoint that already names the traces path is not given it twice. */
    cr_assert_eq(parse(&c, "{\"endpoint\":\"http://c:4318/v1/traces\"}", NULL, err), 0);
    cr_assert_str_eq(c.url, "http://c:4318/v1/traces");
    gw_otel_config_free(&c);
    /* A query (a collector's token) stays a query: the path goes before it, not into it. */
    cr_assert_eq(parse(&c, "{\"endpoint\":\"https://c/otlp/?tenant=t1&token=x\"}", NULL, err), 0);
    cr_assert_str_eq(c.url, "https://c/otlp/v1/traces?tenant=t1&token=x");
    gw_otel_config_free(&c);
    cr_assert_eq(parse(&c, "{\"endpoint\":\"http://c:4318/v1/traces?k=v\"}", NULL, err), 0);
    cr_assert_str_eq(c.url, "http://c:4318/v1/traces?k=v");
    gw_otel_config_free(&c);
}

/* What a log line says of the collector: never the password of its userinfo nor the token
 * of its query. */
Test(otel_config, the_url_in_a_log_line_holds_no_credentials)
{
    static const char *const cases[][2] = {
        {"http://alice:pw-123@127.0.0.1:4318/v1/traces?api_key=k9",
         "http://127.0.0.1:4318/v1/traces"},
        {"https://tok@c.example/v1/traces", "https://c.example/v1/traces"},
        {"https://c.example/a@b/v1/traces#x", "https://c.example/a@b/v1/traces"},
        {"http://[::1]:4318/v1/traces", "http://[::1]:4318/v1/traces"},
        {"http://u:p@h?q=@", "http://h"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        gw_otlp_url_for_log(cases[i][0], out, sizeof out);
        cr_assert_str_eq(out, cases[i][1], "%s", cases[i][0]);
    }
    char small[12];
    gw_otlp_url_for_log("http://user:secret@host/v1/traces", small, sizeof small);
    cr_assert_str_eq(small, "http://host");
}

Test(otel_config, errors_name_the_key)
{
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"endpoint\":\"ftp://x\"}", "otel.endpoint: must be an http:// or https:// URL"},
        {"{\"endpoint\":\"http://a b\"}", "otel.endpoint: a URL holds no spaces"},
        {"{\"endpoint\":\"https://\"}", "otel.endpoint: must be an http:// or https:// URL"},
        {"{\"endpoint\":\"http:///v1\"}", "otel.endpoint: must be an http:// or https:// URL"},
        {"{\"endpoint\":5}", "otel.endpoint: expected string"},
        {"{\"sample_ratio\":1.5}", "otel.sample_ratio: must be a number between 0 and 1"},
        {"{\"sample_ratio\":\"1\"}", "otel.sample_ratio: must be a number"},
        {"{\"queue_size\":2.5}", "otel.queue_size: must be an integer"},
        {"{\"headers\":{\"bad name\":\"v\"}}", "otel.headers: a header name is not an HTTP"},
        {"{\"headers\":{\"x\":\"a\\r\\nInjected: 1\"}}", "otel.headers: a header value holds"},
        {"{\"headers\":[\"x\"]}", "otel.headers: expected an object of strings"},
        {"{\"headers\":{\"x\":1}}", "otel.headers: expected an object of strings"},
        {"{\"enabled\":true}", "otel.enabled: no endpoint"},
        {"{\"capture_content\":1}", "otel.capture_content: expected boolean"},
        {"{\"service_name\":\"\"}", "otel.service_name: expected a string"},
        {"{\"endpoints\":\"http://x\"}", "otel.endpoints: unknown key"},
        {"[]", "otel: must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_otel_config c;
        char err[256] = "";
        cr_assert_eq(parse(&c, bad[i].json, NULL, err), AIGW_EINVAL, "accepted %s", bad[i].json);
        cr_assert(!strncmp(err, bad[i].want, strlen(bad[i].want)), "%s: got '%s'", bad[i].json,
                  err);
        gw_otel_config_free(&c);
    }
}

Test(otel_config, the_standard_variables_fill_what_the_file_leaves)
{
    struct gw_otel_config c;
    char err[256] = "";
    const char *vars[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                          "http://collector:4318/",
                          "OTEL_EXPORTER_OTLP_HEADERS",
                          " api-key = abc%20def%2C1 ,x-b=2,, x%2Dc=%3D ",
                          "OTEL_SERVICE_NAME",
                          "svc",
                          "OTEL_TRACES_SAMPLER",
                          "parentbased_traceidratio",
                          "OTEL_TRACES_SAMPLER_ARG",
                          "0.1",
                          "OTEL_BSP_SCHEDULE_DELAY",
                          "100",
                          NULL};
    cr_assert_eq(parse(&c, NULL, vars, err), 0, "%s", err);
    cr_assert_eq(c.enabled, 1);
    cr_assert_str_eq(c.url, "http://collector:4318/v1/traces");
    cr_assert_eq(c.nheaders, 3);
    cr_assert_str_eq(c.headers[0], "api-key: abc def,1");
    cr_assert_str_eq(c.headers[1], "x-b: 2");
    cr_assert_str_eq(c.headers[2], "x-c: =");
    cr_assert_str_eq(c.service_name, "svc");
    cr_assert_eq(c.sample_ratio, 0.1);
    cr_assert_eq(c.batch_interval_ms, 100);
    gw_otel_config_free(&c);

    /* The file wins: endpoint, service name, ratio and a header of the same name. */
    cr_assert_eq(parse(&c,
                       "{\"endpoint\":\"http://file:4318\",\"service_name\":\"aigw\","
                       "\"sample_ratio\":1,\"headers\":{\"API-KEY\":\"from-file\"}}",
                       vars, err),
                 0, "%s", err);
    cr_assert_str_eq(c.url, "http://file:4318/v1/traces");
    cr_assert_str_eq(c.service_name, "aigw");
    cr_assert_eq(c.sample_ratio, 1);
    cr_assert_eq(c.nheaders, 3);
    cr_assert_str_eq(c.headers[0], "API-KEY: from-file");
    gw_otel_config_free(&c);

    /* The traces-specific endpoint is used as it is, before the generic one. */
    const char *traces[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom/path",
                            "OTEL_EXPORTER_OTLP_ENDPOINT", "http://g:2", NULL};
    cr_assert_eq(parse(&c, NULL, traces, err), 0);
    cr_assert_str_eq(c.url, "http://t:1/custom/path");
    gw_otel_config_free(&c);
}

Test(otel_config, the_file_wins_over_the_batch_variables_and_an_empty_endpoint_is_unset)
{
    const char *vars[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                          "http://env:4318",
                          "OTEL_BSP_MAX_QUEUE_SIZE",
                          "64",
                          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                          "8",
                          "OTEL_BSP_SCHEDULE_DELAY",
                          "100",
                          "OTEL_EXPORTER_OTLP_TIMEOUT",
                          "200",
                          NULL};
    struct gw_otel_config c;
    char err[256] = "";
    /* The sample config's otel object: every key at its default, the endpoint empty. */
    cr_assert_eq(parse(&c,
                       "{\"endpoint\":\"\",\"headers\":{},\"capture_content\":false,"
                       "\"content_max_bytes\":16384}",
                       vars, err),
                 0, "%s", err);
    cr_assert_eq(c.enabled, 1, "the variable's endpoint counts");
    cr_assert_str_eq(c.url, "http://env:4318/v1/traces");
    cr_assert_eq(c.queue_size, 64);
    cr_assert_eq(c.batch_size, 8);
    cr_assert_eq(c.batch_interval_ms, 100);
    cr_assert_eq(c.timeout_ms, 200);
    gw_otel_config_free(&c);
    cr_assert_eq(parse(&c,
                       "{\"queue_size\":2048,\"batch_size\":512,\"batch_interval_ms\":5000,"
                       "\"timeout_ms\":10000}",
                       vars, err),
                 0, "%s", err);
    cr_assert_eq(c.queue_size, 2048);
    cr_assert_eq(c.batch_size, 512);
    cr_assert_eq(c.batch_interval_ms, 5000);
    cr_assert_eq(c.timeout_ms, 10000);
    gw_otel_config_free(&c);
    /* Empty and no variable: off, not an error. */
    cr_assert_eq(parse(&c, "{\"endpoint\":\"\"}", NULL, err), 0, "%s", err);
    cr_assert_eq(c.enabled, 0);
    gw_otel_config_free(&c);
}

Test(otel_config, no_lookup_function_reads_the_process_environment)
{
    /* Criterion runs each test in its own process: setenv stays here. */
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318", 1);
    setenv("OTEL_SERVICE_NAME", "env-svc", 1);
    struct gw_otel_config c;
    gw_otel_config_init(&c);
    char err[256] = "";
    cr_assert_eq(gw_otel_config_parse(&c, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.enabled, 1);
    cr_assert_str_eq(c.url, "http://from-env:4318/v1/traces");
    cr_assert_str_eq(c.service_name, "env-svc");
    gw_otel_config_free(&c);
}

Test(otel_config, bad_variables_are_errors_that_name_them)
{
    static const char *const cases[][3] = {
        {"OTEL_EXPORTER_OTLP_HEADERS", "novalue", "OTEL_EXPORTER_OTLP_HEADERS: expected"},
        {"OTEL_EXPORTER_OTLP_HEADERS", "a=%zz", "OTEL_EXPORTER_OTLP_HEADERS: expected"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT: must"},
        {"OTEL_TRACES_SAMPLER", "jaeger_remote", "OTEL_TRACES_SAMPLER: 'jaeger_remote'"},
        {"OTEL_BSP_MAX_QUEUE_SIZE", "lots", "OTEL_BSP_MAX_QUEUE_SIZE: must be a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *vars[] = {cases[i][0], cases[i][1], NULL};
        struct gw_otel_config c;
        char err[256] = "";
        cr_assert_eq(parse(&c, NULL, vars, err), AIGW_EINVAL, "%s=%s", cases[i][0], cases[i][1]);
        cr_assert(!strncmp(err, cases[i][2], strlen(cases[i][2])), "got '%s'", err);
        gw_otel_config_free(&c);
    }
}

Test(otel_config, sdk_disabled_turns_it_off_unless_the_file_says_enabled)
{
    const char *vars[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_SDK_DISABLED",
                          "TRUE", NULL};
    struct gw_otel_config c;
    char err[256];
    cr_assert_eq(parse(&c, NULL, vars, err), 0);
    cr_assert_eq(c.enabled, 0);
    cr_assert_eq(parse(&c, "{\"enabled\":true}", vars, err), 0);
    cr_assert_eq(c.enabled, 1);
    cr_assert_eq(parse(&c, "{\"enabled\":false,\"endpoint\":\"http://x\"}", NULL, err), 0);
    cr_assert_eq(c.enabled, 0);
}

/* ---- the lifetime ------------------------------------------------------------------------- */

#define INCOMING "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static struct otlprecv *recv_;

static void start_otel(const char *extra)
{
    recv_ = otlprecv_start();
    cr_assert_not_null(recv_);
    char json[512];
    snprintf(json, sizeof json,
             "{\"endpoint\":\"%s\",\"batch_interval_ms\":20,\"service_name\":\"aigw-test\"%s}",
             otlprecv_url(recv_), extra ? extra : "");
    struct gw_otel_config c;
    char err[256] = "";
    cr_assert_eq(parse(&c, json, NULL, err), 0, "%s", err);
    cr_assert_eq(gw_otel_start(&c), 0);
    gw_otel_config_free(&c);
    cr_assert(gw_otel_on());
}

static void stop_otel(void)
{
    gw_otel_stop(2000);
    otlprecv_stop(recv_);
    recv_ = NULL;
    gw_redact_reset();
}

static const char *attr(const cJSON *span, const char *key)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
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

Test(otel_life, off_costs_nothing_and_accepts_null)
{
    cr_assert_eq(gw_otel_on(), 0);
    cr_assert_null(gw_otel_request_begin(INCOMING, 55, NULL, 0, "POST", "/v1/chat/completions",
                                         "/v1/chat/completions", 20, "rid"));
    char tp[GW_TRACEPARENT_LEN + 1];
    cr_assert_eq(gw_otel_traceparent(NULL, tp), -1);
    cr_assert_null(gw_otel_attempt_begin(NULL, &(struct gw_otel_attempt){.model = "m"}));
    gw_otel_attempt_first_token(NULL);
    gw_otel_content(NULL, 0, "x", 1);
    gw_otel_attempt_end(NULL, NULL);
    gw_otel_request_end(NULL, NULL);
    gw_otel_abandon(NULL);
    gw_otel_flush();
    gw_otel_stop(0);
    size_t n = 7;
    cr_assert_null(gw_otel_tracestate(NULL, &n));
    cr_assert_eq(n, 0);
}

Test(otel_life, a_continued_trace_with_a_fallback, .fini = stop_otel)
{
    start_otel(NULL);
    gw_redact_register("pw-CANARY-42");
    const char *ts = "rojo=00f067aa0ba902b7";
    struct gw_span *srv =
        gw_otel_request_begin(INCOMING, 55, ts, strlen(ts), "POST", "/v1/chat/completions",
                              "/v1/chat/completions?api_key=pw-CANARY-42", 41, "req-123");
    cr_assert_not_null(srv);

    struct gw_otel_attempt a = {.operation = "chat",
                                .provider = "azure-openai",
                                .model = "gpt-4o",
                                .url = "https://user:pw-CANARY-42@api.example:8443/v1/chat?key=x",
                                .attempt = 1,
                                .stream = 1,
                                .max_tokens = 256,
                                .temperature = 0.5,
                                .top_p = NAN};
    struct gw_span *a1 = gw_otel_attempt_begin(srv, &a);
    char tp1[GW_TRACEPARENT_LEN + 1];
    cr_assert_eq(gw_otel_traceparent(a1, tp1), 0);
    size_t tsl;
    const char *fwd = gw_otel_tracestate(a1, &tsl);
    cr_assert_eq(tsl, strlen(ts));
    cr_assert_eq(memcmp(fwd, ts, tsl), 0);
    gw_otel_attempt_end(a1, &(struct gw_otel_attempt_end){
                                .http_status = 429, .failure_class = "429", .cost_usd = -1});

    a.provider = "anthropic";
    a.model = "claude-sonnet-4-5";
    a.url = NULL; /* known after the plugin built the request */
    a.attempt = 2;
    a.max_tokens = -1;
    a.temperature = NAN;
    struct gw_span *a2 = gw_otel_attempt_begin(srv, &a);
    char tp2[GW_TRACEPARENT_LEN + 1];
    cr_assert_eq(gw_otel_traceparent(a2, tp2), 0);
    cr_assert_str_neq(tp1, tp2);
    gw_otel_attempt_url(a2, "http://[::1]/v1/messages");
    gw_otel_attempt_first_token(a2);
    gw_otel_attempt_first_token(a2); /* once only */
    const char *fr[] = {"stop"};
    struct aigw_usage u = USAGE(12, 34, 5, -1, -1);
    gw_otel_attempt_end(a2, &(struct gw_otel_attempt_end){.http_status = 200,
                                                          .response_model = "claude-x-20250101",
                                                          .response_id = "msg_01",
                                                          .finish_reasons = fr,
                                                          .nfinish = 1,
                                                          .usage = &u,
                                                          .cost_usd = 0.0015});
    gw_otel_request_end(srv, &(struct gw_otel_request_end){.status = 200,
                                                           .key_id = "key_7",
                                                           .dialect = "openai",
                                                           .cache = "miss",
                                                           .guardrail = "allow",
                                                           .attempts = 2});
    gw_otel_flush();
    cr_assert_eq(otlprecv_wait_spans(recv_, 3, 10000), 0);
    cJSON *spans = otlprecv_spans(recv_);
    cr_assert_eq(cJSON_GetArraySize(spans), 3);
    const cJSON *s = otlprecv_find(spans, "POST /v1/chat/completions", 0);
    const cJSON *c1 = otlprecv_find(spans, "chat gpt-4o", 0);
    const cJSON *c2 = otlprecv_find(spans, "chat claude-sonnet-4-5", 0);
    cr_assert(s && c1 && c2);

    /* The client's trace is continued; both attempts are children of the server span, and
     * each attempt's traceparent is its own span. */
    cr_assert_str_eq(str(s, "traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    cr_assert_str_eq(str(s, "parentSpanId"), "00f067aa0ba902b7");
    cr_assert_str_eq(str(s, "traceState"), ts);
    cr_assert_str_eq(str(c1, "traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    cr_assert_str_eq(str(c1, "parentSpanId"), str(s, "spanId"));
    cr_assert_str_eq(str(c2, "parentSpanId"), str(s, "spanId"));
    char want[64];
    snprintf(want, sizeof want, "00-4bf92f3577b34da6a3ce929d0e0e4736-%s-01", str(c1, "spanId"));
    cr_assert_str_eq(tp1, want);
    snprintf(want, sizeof want, "00-4bf92f3577b34da6a3ce929d0e0e4736-%s-01", str(c2, "spanId"));
    cr_assert_str_eq(tp2, want);
    cr_assert_eq(num(s, "kind", NULL), 2);
    cr_assert_eq(num(c1, "kind", NULL), 3);
    cr_assert_str_eq(str(s, "resource.service.name"), "aigw-test");

    cr_assert_str_eq(attr(s, "http.request.method"), "POST");
    cr_assert_str_eq(attr(s, "url.path"), "/v1/chat/completions");
    cr_assert_str_eq(attr(s, "http.route"), "/v1/chat/completions");
    cr_assert_str_eq(attr(s, "http.response.status_code"), "200");
    cr_assert_str_eq(attr(s, "aigw.request_id"), "req-123");
    cr_assert_str_eq(attr(s, "aigw.key_id"), "key_7");
    cr_assert_str_eq(attr(s, "aigw.dialect"), "openai");
    cr_assert_str_eq(attr(s, "aigw.cache"), "miss");
    cr_assert_str_eq(attr(s, "aigw.guardrail"), "allow");
    cr_assert_str_eq(attr(s, "aigw.attempts"), "2");
    cr_assert_eq(num(s, "status", "code"), 0);

    cr_assert_str_eq(attr(c1, "gen_ai.operation.name"), "chat");
    cr_assert_str_eq(attr(c1, "gen_ai.provider.name"), "azure.ai.openai");
    cr_assert_str_eq(attr(c1, "aigw.provider"), "azure-openai");
    cr_assert_str_eq(attr(c1, "gen_ai.request.model"), "gpt-4o");
    cr_assert_str_eq(attr(c1, "gen_ai.request.max_tokens"), "256");
    cr_assert_str_eq(attr(c1, "gen_ai.request.temperature"), "0.5");
    cr_assert_null(attr(c1, "gen_ai.request.top_p"));
    cr_assert_str_eq(attr(c1, "server.address"), "api.example");
    cr_assert_str_eq(attr(c1, "server.port"), "8443");
    cr_assert_str_eq(attr(c1, "aigw.attempt"), "1");
    cr_assert_str_eq(attr(c1, "aigw.stream"), "true");
    cr_assert_str_eq(attr(c1, "aigw.failure_class"), "429");
    cr_assert_str_eq(attr(c1, "error.type"), "429");
    cr_assert_str_eq(attr(c1, "http.response.status_code"), "429");
    cr_assert_eq(num(c1, "status", "code"), 2);
    cr_assert_null(attr(c1, "gen_ai.usage.input_tokens"));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c1, "events")), 0);

    cr_assert_str_eq(attr(c2, "gen_ai.provider.name"), "anthropic");
    cr_assert_str_eq(attr(c2, "server.address"), "::1");
    cr_assert_str_eq(attr(c2, "server.port"), "80");
    cr_assert_str_eq(attr(c2, "aigw.attempt"), "2");
    cr_assert_null(attr(c2, "gen_ai.request.max_tokens"));
    cr_assert_null(attr(c2, "gen_ai.request.temperature"));
    cr_assert_str_eq(attr(c2, "gen_ai.response.model"), "claude-x-20250101");
    cr_assert_str_eq(attr(c2, "gen_ai.response.id"), "msg_01");
    cr_assert_str_eq(attr(c2, "gen_ai.response.finish_reasons"), "stop");
    cr_assert_str_eq(attr(c2, "gen_ai.usage.input_tokens"), "12");
    cr_assert_str_eq(attr(c2, "gen_ai.usage.output_tokens"), "34");
    cr_assert_str_eq(attr(c2, "gen_ai.usage.cache_read.input_tokens"), "5");
    cr_assert_null(attr(c2, "gen_ai.usage.cache_creation.input_tokens"));
    cr_assert_str_eq(attr(c2, "aigw.cost_usd"), "0.0015");
    cr_assert_null(attr(c2, "aigw.failure_class"));
    cr_assert_eq(num(c2, "status", "code"), 0);
    const cJSON *ev = cJSON_GetObjectItem(c2, "events");
    cr_assert_eq(cJSON_GetArraySize(ev), 1);
    cr_assert_str_eq(str(cJSON_GetArrayItem(ev, 0), "name"), "aigw.first_token");
    cr_assert_not_null(attr(c2, "gen_ai.response.time_to_first_chunk"));
    cr_assert_geq(strtod(attr(c2, "gen_ai.response.time_to_first_chunk"), NULL), 0.0);

    /* Nothing secret went out: not the password in the upstream URL, not the query. */
    cJSON *batch = otlprecv_batch(recv_, 0);
    char *text = cJSON_PrintUnformatted(batch);
    cr_assert_null(strstr(text, "CANARY"), "%s", text);
    cr_assert_null(strstr(text, "key=x"));
    cr_assert_null(strstr(text, "api_key"));
    free(text);
    cJSON_Delete(batch);
    cJSON_Delete(spans);
}

Test(otel_life, sampling_follows_the_parent_and_the_ratio, .fini = stop_otel)
{
    start_otel(",\"sample_ratio\":0");
    /* An unsampled parent: ids for the upstream, nothing exported. */
    const char *unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    struct gw_span *s = gw_otel_request_begin(unsampled, 55, NULL, 0, "POST", NULL, "/x", 2, NULL);
    struct gw_span *a = gw_otel_attempt_begin(s, &(struct gw_otel_attempt){.model = "m"});
    char tp[GW_TRACEPARENT_LEN + 1];
    cr_assert_eq(gw_otel_traceparent(a, tp), 0);
    cr_assert(!strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36), "%s", tp);
    cr_assert_str_eq(tp + 53, "00");
    gw_otel_attempt_end(a, NULL);
    gw_otel_request_end(s, NULL);
    /* No parent and ratio 0: a new trace, not sampled. */
    s = gw_otel_request_begin(NULL, 0, NULL, 0, "POST", NULL, "/x", 2, NULL);
    cr_assert_eq(gw_otel_traceparent(s, tp), 0);
    cr_assert_str_eq(tp + 53, "00");
    cr_assert(strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36));
    gw_otel_abandon(s);
    /* A sampled parent is sampled whatever the ratio: it arrives, alone. */
    s = gw_otel_request_begin(INCOMING, 55, NULL, 0, "BREW", NULL, "/pot", 4, NULL);
    gw_otel_request_end(s, &(struct gw_otel_request_end){.status = 502});
    gw_otel_flush();
    cr_assert_eq(otlprecv_wait_spans(recv_, 1, 10000), 0);
    cJSON *spans = otlprecv_spans(recv_);
    cr_assert_eq(cJSON_GetArraySize(spans), 1);
    const cJSON *one = cJSON_GetArrayItem(spans, 0);
    cr_assert_str_eq(str(one, "name"), "HTTP", "a client cannot mint span names");
    cr_assert_str_eq(attr(one, "http.request.method"), "_OTHER");
    cr_assert_str_eq(attr(one, "error.type"), "502");
    cr_assert_eq(num(one, "status", "code"), 2);
    cJSON_Delete(spans);
}

Test(otel_life, a_malformed_traceparent_starts_a_new_trace, .fini = stop_otel)
{
    start_otel(NULL);
    const char *bad = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    struct gw_span *s =
        gw_otel_request_begin(bad, 55, "rojo=1", 6, "GET", "/v1/models", "/v1/models", 10, NULL);
    char tp[GW_TRACEPARENT_LEN + 1];
    cr_assert_eq(gw_otel_traceparent(s, tp), 0);
    cr_assert(strncmp(tp + 3, "4bf92f3577b34da6a3ce929d0e0e4736", 32));
    cr_assert_null(gw_otel_tracestate(s, NULL), "its tracestate goes with it");
    gw_otel_request_end(s, &(struct gw_otel_request_end){.status = 200});
    gw_otel_flush();
    cr_assert_eq(otlprecv_wait_spans(recv_, 1, 10000), 0);
    cJSON *spans = otlprecv_spans(recv_);
    const cJSON *one = cJSON_GetArrayItem(spans, 0);
    cr_assert_null(cJSON_GetObjectItem(one, "parentSpanId"));
    cr_assert_str_eq(str(one, "name"), "GET /v1/models");
    cJSON_Delete(spans);
}

Test(otel_life, content_is_captured_only_when_asked_redacted_and_capped, .fini = stop_otel)
{
    start_otel(",\"capture_content\":true,\"content_max_bytes\":40");
    gw_redact_register("sk-live-CANARY-9");
    struct gw_span *s = gw_otel_request_begin(NULL, 0, NULL, 0, "POST", NULL, "/", 1, NULL);
    struct gw_span *a = gw_otel_attempt_begin(s, &(struct gw_otel_attempt){.model = "m"});
    const char *in = "[{\"role\":\"user\",\"content\":\"my key is sk-live-CANARY-9 ok\"}]";
    gw_otel_content(a, 0, in, strlen(in));
    gw_otel_content(a, 1, "[{\"role\":\"assistant\"}]", 23);
    gw_otel_attempt_end(a, NULL);
    gw_otel_request_end(s, NULL);
    gw_otel_flush();
    cr_assert_eq(otlprecv_wait_spans(recv_, 2, 10000), 0);
    cJSON *spans = otlprecv_spans(recv_);
    const cJSON *c = otlprecv_find(spans, "chat m", 0);
    const char *got = attr(c, "gen_ai.input.messages");
    cr_assert_not_null(got);
    cr_assert_eq(strlen(got), 40);
    cr_assert_str_eq(got, "[{\"role\":\"user\",\"content\":\"my key is [RE");
    cr_assert_str_eq(attr(c, "gen_ai.output.messages"), "[{\"role\":\"assistant\"}]");
    cJSON_Delete(spans);
}

Test(otel_life, content_is_not_captured_by_default, .fini = stop_otel)
{
    start_otel(NULL);
    struct gw_span *s = gw_otel_request_begin(NULL, 0, NULL, 0, "POST", NULL, "/", 1, NULL);
    struct gw_span *a = gw_otel_attempt_begin(s, &(struct gw_otel_attempt){.model = "m"});
    gw_otel_content(a, 0, "[\"hello\"]", 9);
    gw_otel_attempt_end(a, NULL);
    gw_otel_request_end(s, NULL);
    gw_otel_flush();
    cr_assert_eq(otlprecv_wait_spans(recv_, 2, 10000), 0);
    cJSON *spans = otlprecv_spans(recv_);
    cr_assert_null(attr(otlprecv_find(spans, "chat m", 0), "gen_ai.input.messages"));
    cJSON_Delete(spans);
}

Test(otel_life, provider_names_follow_the_conventions)
{
    cr_assert_str_eq(gw_otel_provider_name("bedrock"), "aws.bedrock");
    cr_assert_str_eq(gw_otel_provider_name("vertex-ai"), "gcp.vertex_ai");
    cr_assert_str_eq(gw_otel_provider_name("gemini"), "gcp.gemini");
    cr_assert_str_eq(gw_otel_provider_name("mistral"), "mistral_ai");
    cr_assert_str_eq(gw_otel_provider_name("xai"), "x_ai");
    cr_assert_str_eq(gw_otel_provider_name("azure-foundry"), "azure.ai.inference");
    cr_assert_str_eq(gw_otel_provider_name("openai"), "openai");
    cr_assert_str_eq(gw_otel_provider_name("ollama"), "ollama");
    cr_assert_null(gw_otel_provider_name(NULL));
}
