/*
 * Unit tests for core/metrics*.c: the exact exposition text after a few updates, model
 * folding past metrics.max_models (and the catalog's canonical ids for spellings it resolves),
 * label escaping, the series cap, that no secret or prompt-like text becomes a label, exact
 * totals from four threads hammering the same and new label sets, and `promtool check
 * metrics` on a full scrape when promtool is installed.
 */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "lib/buf.h"
#include "lib/redact.h"
#include "obs/metrics.h"
#include "plugin/plugin_loader.h"
#include "proxy/gateway.h"
#include "unit/metrics_text.h"
#include "version.h"
#include "usage.h"

static struct gw_catalog *catalog(void)
{
    static const char text[] =
        "{\"format\":\"aigw-catalog\",\"version\":1,\"models\":["
        "{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"in\":2.5,\"out\":10},"
        "{\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-5\",\"in\":3,\"out\":15}]}";
    char err[256] = "";
    struct gw_catalog *cat = NULL;
    cr_assert_eq(gw_catalog_parse(text, sizeof text - 1, "test.json", &cat, err, sizeof err), 0,
                 "%s", err);
    return cat;
}

Test(metrics, exact_text_after_updates)
{
    struct gw_catalog *cat = catalog();
    cr_assert_eq(gw_metrics_init(cat, 200), 0);
    gw_metrics_request("/v1/chat/completions", "openai", "gpt-4o", 200, 0, 120, 40);
    gw_metrics_request("/v1/chat/completions", "openai", "gpt-4o", 200, 1, 3000, -1);
    gw_metrics_request("/v1/embeddings", NULL, NULL, 400, 0, 1, -1);
    gw_metrics_request("/v1/../etc/passwd", "openai", "gpt-4o", 1000, 0, 5, 5);
    gw_metrics_attempt("openai", "429", 0, 0);
    gw_metrics_attempt("openai", "ok", 1, 0);
    gw_metrics_attempt("anthropic", "connect_error", 0, 1);
    gw_metrics_retry("openai", "429", 0);
    gw_metrics_retry("openai", "connect_error", 1);
    struct aigw_usage u = USAGE(10, 5, -1, -1, 2);
    gw_metrics_usage("openai", "gpt-4o", &u, 0.0123);
    u = USAGE(7, 0, 3, 1, -1);
    gw_metrics_usage("openai", "gpt-4o", &u, 1.5);
    gw_metrics_usage("openai", "gpt-4o", NULL, -1);
    gw_metrics_breaker("openai", "gpt-4o", 2);
    gw_metrics_breaker("anthropic", "claude-sonnet-4-5", 1);
    gw_metrics_breaker("anthropic", "claude-sonnet-4-5", 0);
    gw_metrics_active(1);
    gw_metrics_active(1);
    gw_metrics_active(-1);
    gw_metrics_streams(1);

    struct gw_plugin p1 = {.active = 1}, p2 = {.active = 0};
    p1.desc.vkey = "openai";
    p2.desc.vkey = "anthropic";
    struct gw_plugin *items[] = {&p1, &p2};
    struct gw_plugins ps = {items, 2};
    struct gw_gateway gw = {.plugins = &ps, .started_unix = 1700000000};
    atomic_store(&gw.body_bytes, 4096);
    char *t = mt_render(&gw);

    mt_expect(t, "aigw_requests_total",
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"gpt-4o\",status=\"200\"} 2\n"
              "aigw_requests_total{route=\"/v1/embeddings\",provider=\"none\",model=\"none\","
              "status=\"400\"} 1\n"
              "aigw_requests_total{route=\"other\",provider=\"openai\",model=\"gpt-4o\","
              "status=\"other\"} 1\n");
    mt_expect(t, "aigw_request_duration_seconds",
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.01\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.025\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.05\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.1\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.25\"} 2\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"0.5\"} 2\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"1\"} 2\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"2.5\"} 2\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"5\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"10\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"30\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"60\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"120\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"300\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"openai\",le=\"+Inf\"} 3\n"
              "aigw_request_duration_seconds_sum{provider=\"openai\"} 3.125\n"
              "aigw_request_duration_seconds_count{provider=\"openai\"} 3\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.01\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.025\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.05\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.1\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.25\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"0.5\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"1\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"2.5\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"5\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"10\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"30\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"60\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"120\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"300\"} 1\n"
              "aigw_request_duration_seconds_bucket{provider=\"none\",le=\"+Inf\"} 1\n"
              "aigw_request_duration_seconds_sum{provider=\"none\"} 0.001\n"
              "aigw_request_duration_seconds_count{provider=\"none\"} 1\n");
    mt_expect(t, "aigw_ttfb_seconds",
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.005\"} 1\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.01\"} 1\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.025\"} 1\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.05\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.1\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.25\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.5\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"1\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"2.5\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"5\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"10\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"30\"} 2\n"
              "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"+Inf\"} 2\n"
              "aigw_ttfb_seconds_sum{provider=\"openai\"} 0.045\n"
              "aigw_ttfb_seconds_count{provider=\"openai\"} 2\n");
    mt_expect(
        t, "aigw_upstream_attempts_total",
        "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"429\",attempt=\"first\"} "
        "1\n"
        "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"ok\",attempt=\"retry\"} 1\n"
        "aigw_upstream_attempts_total{provider=\"anthropic\",outcome=\"connect_error\","
        "attempt=\"fallback\"} 1\n");
    mt_expect(t, "aigw_retries_total",
              "aigw_retries_total{provider=\"openai\",reason=\"429\"} 1\n");
    mt_expect(t, "aigw_fallbacks_total",
              "aigw_fallbacks_total{provider=\"openai\",reason=\"connect_error\"} 1\n");
    mt_expect(t, "aigw_tokens_total",
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"prompt\"} 17\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"completion\"} 5\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"reasoning\"} 2\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"cached\"} 3\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"cache_write\"} 1\n");
    mt_expect(t, "aigw_cost_usd_total",
              "aigw_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 1.512300000\n");
    mt_expect(t, "aigw_circuit_breaker_state",
              "aigw_circuit_breaker_state{provider=\"openai\",model=\"gpt-4o\"} 2\n"
              "aigw_circuit_breaker_state{provider=\"anthropic\",model=\"claude-sonnet-4-5\"} 0\n");
    mt_expect(t, "aigw_active_requests", "aigw_active_requests 1\n");
    mt_expect(t, "aigw_streams_active", "aigw_streams_active 1\n");
    mt_expect(t, "aigw_upstream_transfers", "aigw_upstream_transfers 0\n");
    mt_expect(t, "aigw_request_body_bytes", "aigw_request_body_bytes 4096\n");
    mt_expect(t, "aigw_plugin_active",
              "aigw_plugin_active{vkey=\"openai\"} 1\naigw_plugin_active{vkey=\"anthropic\"} 0\n");
    char want[256];
    snprintf(want, sizeof want, "aigw_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n", GW_VERSION,
             AIGW_ABI_MAJOR, AIGW_ABI_MINOR);
    mt_expect(t, "aigw_build_info", want);
    mt_expect(t, "aigw_start_time_seconds", "aigw_start_time_seconds 1700000000\n");
    /* Every family says what it is, once. */
    cr_assert(strstr(t, "# TYPE aigw_requests_total counter\n"));
    cr_assert(strstr(t, "# TYPE aigw_request_duration_seconds histogram\n"));
    cr_assert(strstr(t, "# TYPE aigw_circuit_breaker_state gauge\n"));
    cr_assert_eq(mt_count_lines(t, "# HELP "), mt_count_lines(t, "# TYPE "));
    /* 16 families, and the 21 of metrics_ops.c (test_metrics_ops.c checks their text). */
    cr_assert_eq(mt_count_lines(t, "# TYPE "), 16 + 21);
    free(t);
    gw_metrics_free();
    gw_catalog_free(cat);
}

Test(metrics, uninitialized_is_a_no_op_and_renders_empty_families)
{
    gw_metrics_request("/v1/chat/completions", "openai", "gpt-4o", 200, 0, 1, 1);
    gw_metrics_attempt("openai", "ok", 0, 0);
    gw_metrics_active(1);
    cr_assert_eq(gw_metrics_allow_model("x"), AIGW_EINVAL);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_requests_total", "");
    mt_expect(t, "aigw_active_requests", "aigw_active_requests 0\n");
    cr_assert_null(strstr(t, "aigw_start_time_seconds"));
    free(t);
}

Test(metrics, unknown_models_fold_into_other_past_the_cap)
{
    struct gw_catalog *cat = catalog();
    cr_assert_eq(gw_metrics_init(cat, 3), 0);
    cr_assert_eq(gw_metrics_allow_model("team-default"), 0);
    cr_assert_eq(gw_metrics_allow_model("team-default"), 0);
    const char *models[] = {"m1", "m2", "gpt-4o", "m3", "m4", "team-default", "m1", "m5"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        gw_metrics_usage("openai", models[i], &USAGE(1, -1, -1, -1, -1), -1);
    /* Spellings the catalog resolves are counted under its id, not as new labels. */
    gw_metrics_usage("openai", "GPT-4o", &USAGE(1, -1, -1, -1, -1), -1);
    gw_metrics_usage("openai", "openai/gpt-4o", &USAGE(1, -1, -1, -1, -1), -1);
    /* A model the catalog knows for another provider only is not known here. */
    gw_metrics_usage("openai", "claude-sonnet-4-5", &USAGE(1, -1, -1, -1, -1), -1);
    /* A client inventing names cannot grow the label set. */
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "invented-%d", i);
        gw_metrics_usage("openai", name, &USAGE(1, -1, -1, -1, -1), -1);
    }
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_tokens_total",
              "aigw_tokens_total{provider=\"openai\",model=\"m1\",kind=\"prompt\"} 2\n"
              "aigw_tokens_total{provider=\"openai\",model=\"m2\",kind=\"prompt\"} 1\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"prompt\"} 3\n"
              "aigw_tokens_total{provider=\"openai\",model=\"m3\",kind=\"prompt\"} 1\n"
              "aigw_tokens_total{provider=\"openai\",model=\"other\",kind=\"prompt\"} 20003\n"
              "aigw_tokens_total{provider=\"openai\",model=\"team-default\",kind=\"prompt\"} 1\n");
    free(t);
    gw_metrics_free();
    gw_catalog_free(cat);
}

Test(metrics, other_providers_statuses_and_outcomes_are_capped)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_attempt("openai", "why\"not", 0, 0);
    char p[32], o[32];
    for (int i = 0; i < 100; i++) {
        snprintf(p, sizeof p, "prov-%d", i);
        snprintf(o, sizeof o, "reason_%d", i);
        gw_metrics_attempt(p, o, 0, 0);
    }
    gw_metrics_attempt("Bad Provider!", "ok", 0, 0);
    gw_metrics_request("/v1/chat/completions", "openai", NULL, 99, 0, 1, -1);
    for (int s = 100; s < 200; s++)
        gw_metrics_request("/v1/chat/completions", "openai", NULL, s, 0, 1, -1);
    char *t = mt_render(NULL);
    /* 64 providers in all (openai + prov-0..62), 64 outcomes (reason_0..63); everything past
     * a cap is "other", in as few series as the remaining labels allow. */
    cr_assert_eq(mt_count_lines(t, "aigw_upstream_attempts_total{"), 1 + 63 + 1 + 1);
    cr_assert(strstr(t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"other\","
                        "attempt=\"first\"} 1\n"));
    cr_assert(strstr(t, "aigw_upstream_attempts_total{provider=\"prov-62\",outcome=\"reason_62\","
                        "attempt=\"first\"} 1\n"));
    cr_assert(strstr(t, "aigw_upstream_attempts_total{provider=\"other\",outcome=\"reason_63\","
                        "attempt=\"first\"} 1\n"));
    cr_assert(strstr(t, "aigw_upstream_attempts_total{provider=\"other\",outcome=\"other\","
                        "attempt=\"first\"} 37\n"),
              "%s", t);
    /* Statuses: 64 distinct, then "other" (with the out-of-range 99). */
    cr_assert_eq(mt_count_lines(t, "aigw_requests_total{"), 65);
    cr_assert(strstr(t, "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
                        "model=\"none\",status=\"other\"} 37\n"),
              "%s", t);
    free(t);
    gw_metrics_free();
}

Test(metrics, series_past_the_cap_keep_totals_in_other)
{
    cr_assert_eq(gw_metrics_init(NULL, 1), 0); /* room for 8192 + 16 series */
    const char *routes[] = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                            "/v1/images/generations"};
    char p[32];
    long calls = 0;
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 60; i++)
            for (int s = 100; s < 160; s++) {
                snprintf(p, sizeof p, "p%d", i);
                gw_metrics_request(routes[r], p, NULL, s, 0, 1, -1);
                calls++;
            }
    char *t = mt_render(NULL);
    char *lines = mt_samples(t, "aigw_requests_total");
    long total = 0;
    int n = 0;
    for (char *l = lines; *l;) {
        char *e = strchr(l, '\n');
        *e = '\0';
        total += strtol(strrchr(l, ' ') + 1, NULL, 10);
        n++;
        l = e + 1;
    }
    cr_assert_eq(total, calls);
    cr_assert_lt(n, 8192 + 16 + 1);
    cr_assert_gt(n, 8000);
    cr_assert(strstr(t, "aigw_requests_total{route=\"other\",provider=\"other\",model=\"other\","
                        "status=\"other\"} "));
    free(lines);
    free(t);
    gw_metrics_free();
}

Test(metrics, label_values_are_escaped_and_capped)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    const char in[] = "a\"b\\c\nd\te\x01\xc3\xa9z";
    cr_assert_eq(gw_metrics_label_value(&b, in, sizeof in - 1), 0);
    cr_assert_str_eq(b.ptr, "a\\\"b\\\\c\\nd?e???z");
    gw_buf_reset(&b);
    char longv[300];
    memset(longv, 'x', sizeof longv);
    cr_assert_eq(gw_metrics_label_value(&b, longv, sizeof longv), 0);
    cr_assert_eq(b.len, 128);
    gw_buf_free(&b);

    /* Through a label: an allowed config name with quotes and a backslash. */
    cr_assert_eq(gw_metrics_init(NULL, 5), 0);
    cr_assert_eq(gw_metrics_allow_model("we\"ird\\name"), 0);
    cr_assert_eq(gw_metrics_allow_model("new\nline"), AIGW_EINVAL);
    gw_metrics_usage("acme", "we\"ird\\name", &USAGE(4, -1, -1, -1, -1), -1);
    char *t = mt_render(NULL);
    mt_expect(
        t, "aigw_tokens_total",
        "aigw_tokens_total{provider=\"acme\",model=\"we\\\"ird\\\\name\",kind=\"prompt\"} 4\n");
    free(t);
    gw_metrics_free();
}

Test(metrics, no_secret_or_prompt_text_in_labels)
{
    const char *canary = "sk-CANARY-5f1e2d3c4b";
    gw_redact_register(canary);
    cr_assert_eq(gw_metrics_init(NULL, 100), 0);
    gw_metrics_request("/v1/chat/completions", "openai", canary, 401, 0, 1, -1);
    gw_metrics_usage("openai", "prefix-sk-CANARY-5f1e2d3c4b", NULL, 0.5);
    gw_metrics_request("/v1/chat/completions", "openai", "Tell me a joke about cats", 200, 0, 1,
                       -1);
    gw_metrics_request("/v1/chat/completions", "openai", "{\"role\":\"user\"}", 200, 0, 1, -1);
    gw_metrics_request("/v1/chat/completions?key=sk-CANARY-5f1e2d3c4b", canary, canary, 200, 0, 1,
                       -1);
    cr_assert_eq(gw_metrics_allow_model(canary), AIGW_EINVAL);
    char *t = mt_render(NULL);
    cr_assert_null(strstr(t, "CANARY"), "%s", t);
    cr_assert_null(strstr(t, "joke"));
    cr_assert_null(strstr(t, "role"));
    mt_expect(t, "aigw_cost_usd_total",
              "aigw_cost_usd_total{provider=\"openai\",model=\"other\"} 0.500000000\n");
    free(t);
    gw_metrics_free();
    gw_redact_reset();
}

/* ---- concurrency ------------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 100000

struct worker {
    int id;
    double ns_per_op;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char model[32];
    struct aigw_usage u = USAGE(3, 2, -1, -1, -1);
    double t0 = now_ns();
    for (int i = 0; i < PER_THREAD; i++) {
        /* Shared series, and new ones every thread races to create. */
        gw_metrics_request("/v1/chat/completions", "openai", "gpt-4o", 200, 0, i % 200, 5);
        snprintf(model, sizeof model, "race-%d", i % 50);
        gw_metrics_usage("openai", model, &u, 0.000001);
        gw_metrics_active(1);
        gw_metrics_active(-1);
    }
    w->ns_per_op = (now_ns() - t0) / PER_THREAD;
    return NULL;
}

Test(metrics, four_threads_give_exact_totals)
{
    struct gw_catalog *cat = catalog();
    cr_assert_eq(gw_metrics_init(cat, 200), 0);
    pthread_t th[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        cr_assert_eq(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
    }
    double worst = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        worst = w[i].ns_per_op > worst ? w[i].ns_per_op : worst;
    }
    cr_log_info("metrics: %d threads, %.0f ns per iteration (1 request + 1 usage + 2 gauge "
                "updates) in the slowest thread\n",
                THREADS, worst);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_requests_total",
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"gpt-4o\",status=\"200\"} 400000\n");
    cr_assert(strstr(t, "aigw_request_duration_seconds_count{provider=\"openai\"} 400000\n"));
    cr_assert(strstr(t, "aigw_ttfb_seconds_bucket{provider=\"openai\",le=\"0.005\"} 400000\n"));
    /* sum over i of (i % 200) ms per thread: 500 rounds of 0..199 = 9,950,000 ms, x4. */
    cr_assert(strstr(t, "aigw_request_duration_seconds_sum{provider=\"openai\"} 39800.000\n"), "%s",
              t);
    char want[128];
    for (int k = 0; k < 50; k++) {
        snprintf(want, sizeof want,
                 "aigw_tokens_total{provider=\"openai\",model=\"race-%d\",kind=\"prompt\"} %d\n", k,
                 3 * THREADS * PER_THREAD / 50);
        cr_assert(strstr(t, want), "missing %s", want);
        snprintf(want, sizeof want,
                 "aigw_cost_usd_total{provider=\"openai\",model=\"race-%d\"} 0.008000000\n", k);
        cr_assert(strstr(t, want), "missing %s", want);
    }
    /* Racing creators made one series each, not one per thread. */
    cr_assert_eq(mt_count_lines(t, "aigw_tokens_total{"), 100);
    mt_expect(t, "aigw_active_requests", "aigw_active_requests 0\n");
    free(t);
    gw_metrics_free();
    gw_catalog_free(cat);
}

/* ---- promtool ---------------------------------------------------------------------------- */

static int have_promtool(void)
{
    return system("command -v promtool >/dev/null 2>&1") == 0;
}

Test(metrics, promtool_accepts_a_full_scrape)
{
    if (!have_promtool())
        cr_skip_test("promtool not installed (Debian: apt-get install prometheus)");
    struct gw_catalog *cat = catalog();
    cr_assert_eq(gw_metrics_init(cat, 2), 0);
    cr_assert_eq(gw_metrics_allow_model("we\"ird\\name"), 0);
    const char *models[] = {"gpt-4o", "x1", "x2", "x3", "we\"ird\\name", NULL};
    for (int i = 0; i < 6; i++) {
        gw_metrics_request(i % 2 ? "/v1/chat/completions" : "/v1/embeddings",
                           i % 3 ? "openai" : NULL, models[i], 200 + i * 50, i % 2, i * 700,
                           i % 2 ? i * 10 : -1);
        gw_metrics_attempt("openai", i % 2 ? "ok" : "503", i > 2, i > 4);
        gw_metrics_retry("openai", "503", i % 2);
        gw_metrics_usage("openai", models[i], &USAGE(i, i, i, i, i), i * 0.001);
        gw_metrics_breaker("openai", models[i], i % 3);
    }
    gw_metrics_streams(2);
    struct gw_plugin p1 = {.active = 1};
    p1.desc.vkey = "openai";
    struct gw_plugin *items[] = {&p1};
    struct gw_plugins ps = {items, 1};
    struct gw_gateway gw = {.plugins = &ps, .started_unix = 1700000000};
    char *t = mt_render(&gw);
    char path[] = "/tmp/aigw-metrics-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s.out 2>&1", path, path);
    int rc = system(cmd);
    char out[4096] = "";
    snprintf(cmd, sizeof cmd, "%s.out", path);
    FILE *f = fopen(cmd, "r");
    if (f) {
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(cmd);
    unlink(path);
    cr_assert_eq(rc, 0, "promtool check metrics failed:\n%s\n--- scrape ---\n%s", out, t);
    cr_assert_str_eq(out, "", "promtool complained:\n%s", out);
    free(t);
    gw_metrics_free();
    gw_catalog_free(cat);
}
