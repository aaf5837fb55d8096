/*
 * Unit tests for core/obs/otlp*.c: the JSON of one batch byte for byte (ids in hex, 64-bit
 * integers as strings, every attribute type, events, status, escaping, redaction), and the
 * exporter against the test receiver: batches and headers, a full queue that drops and
 * counts and never blocks (even while a POST hangs), a collector that is down or stalled
 * (spans dropped and counted, no hang), and stop with a deadline.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/redact.h"
#include "obs/metrics.h"
#include "obs/otlp.h"
#include "otlprecv/otlprecv.h"
#include "unit/metrics_text.h"

static struct gw_span *fixed_span(const char *name, int kind, uint8_t id, int64_t start)
{
    struct gw_span *s = gw_span_start(NULL, 1.0, name, kind);
    cr_assert(s && s->recording);
    memset(s->trace_id, 0xab, sizeof s->trace_id);
    memset(s->span_id, id, sizeof s->span_id);
    s->start_ns = start;
    s->end_ns = start + 1500000000;
    return s;
}

Test(otlp_encode, golden_batch)
{
    gw_redact_register("sk-SECRET-1234567");
    struct gw_span *srv =
        fixed_span("POST /v1/chat/completions", GW_SPAN_SERVER, 0x11, 1700000000000000000);
    srv->has_parent = srv->parent_remote = 1;
    memset(srv->parent_id, 0x22, 8);
    srv->state = "rojo=1";
    srv->state_len = 6;
    gw_span_set_cstr(srv, "http.request.method", "POST");
    gw_span_set_int(srv, "http.response.status_code", 200);
    gw_span_set_cstr(srv, "odd", "q\"b\\n\nt\x01 \xff end Bearer sk-SECRET-1234567");

    struct gw_span *cli = fixed_span("chat gpt-4o", GW_SPAN_CLIENT, 0x33, 1700000000100000000);
    cli->has_parent = 1;
    memset(cli->parent_id, 0x11, 8);
    gw_span_set_cstr(cli, "gen_ai.operation.name", "chat");
    gw_span_set_int(cli, "gen_ai.usage.input_tokens", 9007199254740993LL);
    gw_span_set_double(cli, "aigw.cost_usd", 0.000125);
    gw_span_set_bool(cli, "aigw.stream", 1);
    const char *fr[] = {"stop", "tool_calls"};
    gw_span_set_strs(cli, "gen_ai.response.finish_reasons", fr, 2);
    gw_span_add_event(cli, "aigw.first_token", 1700000000350000000);
    gw_span_set_status(cli, GW_SPAN_ERROR, "timeout");
    cli->dropped_attrs = 2;
    srv->next = cli;

    struct gw_buf b;
    gw_buf_init(&b, 0);
    struct gw_otlp_resource res = {"aigw-test", "1.2.3"};
    cr_assert_eq(gw_otlp_encode(&res, srv, &b), 0);
    const char *want =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"aigw-test\"}},"
        "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"1.2.3\"}},"
        "{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"aigw\"}}]},"
        "\"scopeSpans\":[{\"scope\":{\"name\":\"aigw\",\"version\":\"1.2.3\"},\"spans\":["
        "{\"traceId\":\"abababababababababababababababab\",\"spanId\":\"1111111111111111\","
        "\"parentSpanId\":\"2222222222222222\",\"traceState\":\"rojo=1\",\"flags\":769,"
        "\"name\":\"POST /v1/chat/completions\",\"kind\":2,"
        "\"startTimeUnixNano\":\"1700000000000000000\","
        "\"endTimeUnixNano\":\"1700000001500000000\",\"attributes\":["
        "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"POST\"}},"
        "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
        "{\"key\":\"odd\",\"value\":{\"stringValue\":"
        "\"q\\\"b\\\\n\\nt\\u0001 \\ufffd end Bearer [REDACTED]\"}}],"
        "\"events\":[],\"status\":{\"code\":0}},"
        "{\"traceId\":\"abababababababababababababababab\",\"spanId\":\"3333333333333333\","
        "\"parentSpanId\":\"1111111111111111\",\"flags\":257,\"name\":\"chat gpt-4o\","
        "\"kind\":3,\"startTimeUnixNano\":\"1700000000100000000\","
        "\"endTimeUnixNano\":\"1700000001600000000\",\"attributes\":["
        "{\"key\":\"gen_ai.operation.name\",\"value\":{\"stringValue\":\"chat\"}},"
        "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"9007199254740993\"}},"
        "{\"key\":\"aigw.cost_usd\",\"value\":{\"doubleValue\":0.000125}},"
        "{\"key\":\"aigw.stream\",\"value\":{\"boolValue\":true}},"
        "{\"key\":\"gen_ai.response.finish_reasons\",\"value\":{\"arrayValue\":{\"values\":["
        "{\"stringValue\":\"stop\"},{\"stringValue\":\"tool_calls\"}]}}}],"
        "\"droppedAttributesCount\":2,"
        "\"events\":[{\"timeUnixNano\":\"1700000000350000000\",\"name\":\"aigw.first_token\"}],"
        "\"status\":{\"code\":2,\"message\":\"timeout\"}}]}]}]}";
    cr_assert_str_eq(b.ptr, want);
    /* It is JSON a parser accepts. */
    cJSON *j = cJSON_Parse(b.ptr);
    cr_assert_not_null(j);
    cJSON_Delete(j);
    gw_buf_free(&b);
    gw_span_free(cli);
    gw_span_free(srv);
    gw_redact_reset();
}

Test(otlp_encode, non_recording_spans_are_skipped_and_caps_are_errors)
{
    struct gw_trace_ctx c = {.trace_id = {1}, .span_id = {2}, .flags = 0};
    struct gw_span *quiet = gw_span_start(&c, 1.0, "x", GW_SPAN_SERVER);
    cr_assert_eq(quiet->recording, 0);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cr_assert_eq(gw_otlp_encode(NULL, quiet, &b), 0);
    cr_assert(strstr(b.ptr, "\"spans\":[]"));
    cr_assert(strstr(b.ptr, "{\"stringValue\":\"aigw\"}"));
    gw_buf_free(&b);
    struct gw_span *s = fixed_span("y", GW_SPAN_INTERNAL, 5, 1);
    gw_buf_init(&b, 64);
    cr_assert_eq(gw_otlp_encode(NULL, s, &b), AIGW_ETOOBIG);
    gw_buf_free(&b);
    gw_span_free(s);
    gw_span_free(quiet);
}

/* ---- the exporter ---------------------------------------------------------------------- */

struct fixture {
    struct otlprecv *r;
    struct gw_otlp *x;
    char url[128];
};

static void setup(void)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
}

static void teardown(void)
{
    gw_metrics_free();
}

TestSuite(otlp_export, .init = setup, .fini = teardown);

static struct gw_otlp *start(const char *url, int queue, int batch, int64_t interval,
                             int64_t timeout)
{
    static const char *const headers[] = {"x-api-key: t0ken-abc", "X-Team: obs", NULL};
    struct gw_otlp_opts o = {.url = url,
                             .headers = headers,
                             .resource = {"aigw", "9.9"},
                             .queue_max = queue,
                             .batch_max = batch,
                             .interval_ms = interval,
                             .timeout_ms = timeout};
    struct gw_otlp *x = NULL;
    cr_assert_eq(gw_otlp_start(&o, &x), 0);
    return x;
}

static void submit_n(struct gw_otlp *x, int n)
{
    for (int i = 0; i < n; i++) {
        struct gw_span *s = gw_span_start(NULL, 1.0, "span", GW_SPAN_INTERNAL);
        gw_span_set_int(s, "i", i);
        gw_span_end(s);
        gw_otlp_submit(x, s);
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(otlp_export, batches_reach_the_receiver_with_the_headers)
{
    struct otlprecv *r = otlprecv_start();
    cr_assert_not_null(r);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(r));
    /* An interval of a minute: only the batch size and the flush send. */
    struct gw_otlp *x = start(url, 100, 2, 60000, 5000);
    submit_n(x, 5);
    cr_assert_eq(gw_otlp_drain(x, 10000), 0);
    cr_assert_eq(otlprecv_wait_spans(r, 5, 5000), 0);
    cr_assert_eq(otlprecv_post_count(r), 3, "5 spans in batches of 2");
    cr_assert_eq(otlprecv_bad_count(r), 0);
    char *h = otlprecv_header(r, 0, "x-api-key");
    cr_assert_str_eq(h, "t0ken-abc");
    free(h);
    h = otlprecv_header(r, 0, "x-team");
    cr_assert_str_eq(h, "obs");
    free(h);
    h = otlprecv_header(r, 0, "content-type");
    cr_assert_str_eq(h, "application/json");
    free(h);
    cJSON *spans = otlprecv_spans(r);
    cr_assert_eq(cJSON_GetArraySize(spans), 5);
    char buf[64];
    for (int i = 0; i < 5; i++) {
        const cJSON *s = cJSON_GetArrayItem(spans, i);
        char want[8];
        snprintf(want, sizeof want, "%d", i);
        cr_assert_str_eq(otlprecv_attr(s, "i", buf, sizeof buf), want, "arrival order");
        cr_assert_str_eq(cJSON_GetObjectItem(s, "resource.service.name")->valuestring, "aigw");
    }
    cJSON_Delete(spans);
    struct gw_otlp_stats st;
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.exported, 5);
    cr_assert_eq(st.batches, 3);
    cr_assert_eq(st.dropped_full + st.dropped_failed, 0);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_otel_spans_exported_total", "aigw_otel_spans_exported_total 5\n");
    free(t);
    gw_otlp_stop(x, 5000);
    otlprecv_stop(r);
}

Test(otlp_export, the_interval_sends_a_partial_batch)
{
    struct otlprecv *r = otlprecv_start();
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(r));
    struct gw_otlp *x = start(url, 100, 50, 50, 5000);
    submit_n(x, 3);
    /* No flush: the 50 ms interval alone must send them. */
    cr_assert_eq(otlprecv_wait_spans(r, 3, 10000), 0);
    gw_otlp_stop(x, 5000);
    otlprecv_stop(r);
}

Test(otlp_export, a_full_queue_drops_and_counts_and_never_blocks)
{
    struct otlprecv *r = otlprecv_start();
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(r));
    otlprecv_set_stall(r, 1);
    struct gw_otlp *x = start(url, 4, 100, 60000, 60000);
    submit_n(x, 4);
    gw_otlp_flush(x);
    /* The exporter has taken the 4 and hangs in its POST. */
    cr_assert_eq(otlprecv_wait_spans(r, 4, 10000), 0);
    /* Submitting still returns at once: 4 fit, 6 are dropped. Were submit to wait on the
     * POST, this test would hang until Criterion's timeout. */
    submit_n(x, 10);
    struct gw_otlp_stats st;
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.queued, 4);
    cr_assert_eq(st.dropped_full, 6);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_otel_spans_dropped_total",
              "aigw_otel_spans_dropped_total{reason=\"queue_full\"} 6\n");
    free(t);
    otlprecv_set_stall(r, 0);
    cr_assert_eq(gw_otlp_drain(x, 10000), 0);
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.exported, 8);
    cr_assert_eq(otlprecv_span_count(r), 8);
    gw_otlp_stop(x, 5000);
    otlprecv_stop(r);
}

Test(otlp_export, a_collector_that_is_down_costs_dropped_spans_only)
{
    /* A port that was just freed: connections are refused. */
    struct otlprecv *dead = otlprecv_start();
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(dead));
    otlprecv_stop(dead);
    struct gw_otlp *x = start(url, 100, 3, 60000, 5000);
    submit_n(x, 7);
    int64_t t0 = mono_ms();
    cr_assert_eq(gw_otlp_drain(x, 20000), 0);
    cr_assert_lt(mono_ms() - t0, 15000);
    struct gw_otlp_stats st;
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.dropped_failed, 7);
    cr_assert_eq(st.exported, 0);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_otel_spans_dropped_total",
              "aigw_otel_spans_dropped_total{reason=\"export_failed\"} 7\n");
    free(t);
    gw_otlp_stop(x, 1000);
}

Test(otlp_export, an_error_answer_or_a_stall_drops_the_batch)
{
    struct otlprecv *r = otlprecv_start();
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(r));
    otlprecv_set_status(r, 503);
    struct gw_otlp *x = start(url, 100, 10, 60000, 300);
    submit_n(x, 2);
    cr_assert_eq(gw_otlp_drain(x, 10000), 0);
    struct gw_otlp_stats st;
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.dropped_failed, 2);
    /* A collector that takes the batch and never answers: the 300 ms timeout ends it. */
    otlprecv_set_status(r, 200);
    otlprecv_set_stall(r, 1);
    submit_n(x, 3);
    int64_t t0 = mono_ms();
    cr_assert_eq(gw_otlp_drain(x, 10000), 0);
    cr_assert_lt(mono_ms() - t0, 8000);
    gw_otlp_stats(x, &st);
    cr_assert_eq(st.dropped_failed, 5);
    otlprecv_set_stall(r, 0);
    gw_otlp_stop(x, 1000);
    otlprecv_stop(r);
}

Test(otlp_export, stop_keeps_its_deadline_while_a_post_hangs)
{
    struct otlprecv *r = otlprecv_start();
    char url[128];
    snprintf(url, sizeof url, "%s/v1/traces", otlprecv_url(r));
    otlprecv_set_stall(r, 1);
    struct gw_otlp *x = start(url, 100, 1, 60000, 60000);
    submit_n(x, 3);
    cr_assert_eq(otlprecv_wait_spans(r, 1, 10000), 0);
    int64_t t0 = mono_ms();
    gw_otlp_stop(x, 200);
    /* libcurl calls the progress callback about once a second while idle. */
    cr_assert_lt(mono_ms() - t0, 5000);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_otel_spans_dropped_total",
              "aigw_otel_spans_dropped_total{reason=\"export_failed\"} 3\n");
    free(t);
    otlprecv_stop(r);
}

Test(otlp_export, refuses_bad_options_and_tolerates_null)
{
    struct gw_otlp *x = (struct gw_otlp *)1;
    cr_assert_eq(gw_otlp_start(&(struct gw_otlp_opts){.url = NULL}, &x), AIGW_EINVAL);
    cr_assert_null(x);
    cr_assert_eq(gw_otlp_start(&(struct gw_otlp_opts){.url = "http://127.0.0.1:1/v1/traces",
                                                      .queue_max = 0,
                                                      .batch_max = 1,
                                                      .interval_ms = 1,
                                                      .timeout_ms = 1},
                               &x),
                 AIGW_EINVAL);
    gw_otlp_submit(NULL, gw_span_start(NULL, 1.0, "x", GW_SPAN_INTERNAL)); /* freed */
    gw_otlp_stop(NULL, 0);
    gw_otlp_flush(NULL);
    cr_assert_eq(gw_otlp_drain(NULL, 0), 0);
}
