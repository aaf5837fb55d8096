/*
 * bench_otel - what tracing costs a request's own thread: the calls the lifetime makes for a
 * streamed chat with one fallback (a server span, two attempt spans with their GenAI
 * attributes, a first-token event, two traceparents) with tracing off, on at ratio 1, and on
 * at ratio 0 (ids only), and what encoding the same spans costs the exporter's thread. Not part of
 * `make check`; build and run it with
 *
 *   make tests/obs/bench_otel && tests/obs/bench_otel [requests]
 *
 * Best from a build without sanitizers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "obs/otel.h"
#include "obs/otlp.h"
#include "otlprecv/otlprecv.h"
#include "usage.h"

static int with_parent = 1; /* the client sent a sampled traceparent */

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void one_request(void)
{
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    char up[GW_TRACEPARENT_LEN + 1];
    struct gw_span *s = gw_otel_request_begin(
        with_parent ? tp : NULL, sizeof tp - 1, NULL, 0, "POST", "/v1/chat/completions",
        "/v1/chat/completions", 20, "0123456789abcdef0123456789abcdef");
    struct gw_otel_attempt a = {.operation = "chat",
                                .provider = "openai",
                                .model = "gpt-4o-mini",
                                .url = "https://api.openai.com/v1/chat/completions",
                                .attempt = 1,
                                .stream = 1,
                                .max_tokens = 512,
                                .temperature = 0.7,
                                .top_p = NAN};
    struct gw_span *a1 = gw_otel_attempt_begin(s, &a);
    gw_otel_traceparent(a1, up);
    gw_otel_attempt_end(a1, &(struct gw_otel_attempt_end){
                                .http_status = 503, .failure_class = "503", .cost_usd = -1});
    a.provider = "anthropic";
    a.model = "claude-sonnet-4-5";
    a.url = "https://api.anthropic.com/v1/messages";
    a.attempt = 2;
    struct gw_span *a2 = gw_otel_attempt_begin(s, &a);
    gw_otel_traceparent(a2, up);
    gw_otel_attempt_first_token(a2);
    static const char *const fr[] = {"stop"};
    struct aigw_usage u = USAGE(1200, 300, 1000, -1, 64);
    gw_otel_attempt_end(a2, &(struct gw_otel_attempt_end){.http_status = 200,
                                                          .response_model = "claude-sonnet-4-5",
                                                          .response_id = "msg_0123456789",
                                                          .finish_reasons = fr,
                                                          .nfinish = 1,
                                                          .usage = &u,
                                                          .cost_usd = 0.00812});
    gw_otel_request_end(s, &(struct gw_otel_request_end){.status = 200,
                                                         .key_id = "key_01",
                                                         .dialect = "openai",
                                                         .cache = "miss",
                                                         .guardrail = "allow",
                                                         .attempts = 2});
}

/* Requests in bursts of 100; when r is set, each burst's spans are exported before the
 * next one (only the bursts are timed), so the queue stays as short as on a gateway whose
 * exporter keeps up, and malloc reuses the memory the exporter freed. */
static void run(const char *label, long n, struct otlprecv *r, int spans_per_request)
{
    int64_t spent = 0;
    for (long done = 0; done < n; done += 100) {
        int before = r ? otlprecv_span_count(r) : 0;
        int64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < 100; i++)
            one_request();
        spent += now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
        if (r && spans_per_request) {
            gw_otel_flush();
            if (otlprecv_wait_spans(r, before + 100 * spans_per_request, 10000)) {
                fprintf(stderr, "bench_otel: spans did not arrive\n");
                exit(1);
            }
        }
    }
    printf("%-36s %6.0f ns of CPU per request on its thread\n", label, (double)spent / n);
}

/* The exporter's main work: encoding (and redacting) a batch of 3-span requests. */
static void encode_cost(void)
{
    struct gw_span *head = NULL, **tail = &head;
    int nspans = 0;
    for (int i = 0; i < 170; i++) {
        struct gw_span *s = gw_span_start(NULL, 1.0, "POST /v1/chat/completions", GW_SPAN_SERVER);
        for (int k = 0; k < 3; k++) {
            struct gw_span *x = k ? gw_span_child(s, "chat gpt-4o-mini", GW_SPAN_CLIENT) : s;
            gw_span_set_cstr(x, "gen_ai.operation.name", "chat");
            gw_span_set_cstr(x, "gen_ai.provider.name", "openai");
            gw_span_set_cstr(x, "gen_ai.request.model", "gpt-4o-mini");
            gw_span_set_cstr(x, "gen_ai.response.model", "gpt-4o-mini-2024-07-18");
            gw_span_set_cstr(x, "gen_ai.response.id", "chatcmpl-0123456789abcdef");
            gw_span_set_cstr(x, "server.address", "api.openai.com");
            gw_span_set_int(x, "server.port", 443);
            gw_span_set_int(x, "gen_ai.usage.input_tokens", 1200);
            gw_span_set_int(x, "gen_ai.usage.output_tokens", 300);
            gw_span_set_double(x, "aigw.cost_usd", 0.00812);
            gw_span_add_event(x, "aigw.first_token", 0);
            gw_span_end(x);
            *tail = x;
            tail = &x->next;
            nspans++;
        }
    }
    struct gw_buf b;
    gw_buf_init(&b, 0);
    struct gw_otlp_resource res = {"aigw", "1.0"};
    int rounds = 50;
    int64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < rounds; i++) {
        gw_buf_reset(&b);
        gw_otlp_encode(&res, head, &b);
    }
    double per_span = (double)(now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / rounds / nspans;
    printf("%-36s %6.0f ns of CPU per request on the exporter (%.0f bytes of JSON)\n",
           "encoding 3 spans", 3 * per_span, (double)b.len / nspans * 3);
    gw_buf_free(&b);
    while (head) {
        struct gw_span *next = head->next;
        gw_span_free(head);
        head = next;
    }
}

static void start(struct otlprecv *r, double ratio)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"endpoint\":\"%s\",\"sample_ratio\":%g,\"queue_size\":2048,\"batch_size\":512,"
             "\"batch_interval_ms\":100}",
             otlprecv_url(r), ratio);
    cJSON *o = cJSON_Parse(json);
    struct gw_otel_config c;
    char err[256];
    gw_otel_config_init(&c);
    if (gw_otel_config_parse(&c, o, NULL, err, sizeof err) || gw_otel_start(&c)) {
        fprintf(stderr, "bench_otel: %s\n", err);
        exit(1);
    }
    gw_otel_config_free(&c);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    struct otlprecv *r = otlprecv_start();
    if (!r)
        return 1;
    run("tracing off", n, NULL, 0);
    start(r, 0.0);
    with_parent = 0;
    run("on, ratio 0, no parent (ids only)", n, r, 0);
    gw_otel_stop(5000);
    with_parent = 1;
    start(r, 1.0);
    run("on, sampled (3 spans queued)", n, r, 3);
    gw_otel_stop(20000);
    encode_cost();
    otlprecv_stop(r);
    return 0;
}
