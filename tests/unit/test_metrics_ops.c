/*
 * Unit tests for core/obs/metrics_ops.c: the exact text of every family it adds (GenAI
 * timing and token histograms, per-key tokens and cost, limits, budgets, cache, guards,
 * stores, logs, spans), the caps on key and name labels, and that no secret becomes a label.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/redact.h"
#include "obs/metrics.h"
#include "unit/metrics_text.h"
#include "usage.h"

static void fini(void)
{
    gw_metrics_free();
    gw_redact_reset();
}

TestSuite(metrics_ops, .fini = fini);

Test(metrics_ops, time_to_first_token_and_per_output_token)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_ttft("openai", "gpt-4o", 1000);    /* 1 ms: on the first bound */
    gw_metrics_ttft("openai", "gpt-4o", 300000);  /* 0.3 s */
    gw_metrics_ttft("openai", "gpt-4o", -1);      /* unknown: not recorded */
    gw_metrics_ttft("anthropic", NULL, 20000000); /* 20 s: +Inf only */
    /* 10 tokens over 0.9 s after the first: 0.1 s each. */
    gw_metrics_tpot("openai", "gpt-4o", 200000, 1100000, 10);
    gw_metrics_tpot("openai", "gpt-4o", 200000, 1100000, 1); /* one token: no rate */
    gw_metrics_tpot("openai", "gpt-4o", 500000, 100000, 10); /* last before first: none */
    char *t = mt_render(NULL);
    mt_expect(t, "gen_ai_server_time_to_first_token_seconds",
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.001\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.005\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.01\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.02\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.04\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.06\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.08\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.1\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.25\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.5\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"0.75\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"1\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"2.5\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"5\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"7.5\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"10\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"openai\","
              "model=\"gpt-4o\",le=\"+Inf\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_sum{provider=\"openai\","
              "model=\"gpt-4o\"} 0.301000\n"
              "gen_ai_server_time_to_first_token_seconds_count{provider=\"openai\","
              "model=\"gpt-4o\"} 2\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.001\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.005\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.01\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.02\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.04\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.06\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.08\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.1\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.25\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.5\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"0.75\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"1\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"2.5\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"5\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"7.5\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"10\"} 0\n"
              "gen_ai_server_time_to_first_token_seconds_bucket{provider=\"anthropic\","
              "model=\"none\",le=\"+Inf\"} 1\n"
              "gen_ai_server_time_to_first_token_seconds_sum{provider=\"anthropic\","
              "model=\"none\"} 20.000000\n"
              "gen_ai_server_time_to_first_token_seconds_count{provider=\"anthropic\","
              "model=\"none\"} 1\n");
    char *tp = mt_samples(t, "gen_ai_server_time_per_output_token_seconds");
    cr_assert(strstr(tp, "gen_ai_server_time_per_output_token_seconds_bucket{provider=\"openai\","
                         "model=\"gpt-4o\",le=\"0.075\"} 0\n"),
              "%s", tp);
    cr_assert(strstr(tp, "gen_ai_server_time_per_output_token_seconds_bucket{provider=\"openai\","
                         "model=\"gpt-4o\",le=\"0.1\"} 1\n"));
    cr_assert(strstr(tp, "gen_ai_server_time_per_output_token_seconds_sum{provider=\"openai\","
                         "model=\"gpt-4o\"} 0.100000\n"));
    cr_assert(strstr(tp, "gen_ai_server_time_per_output_token_seconds_count{provider=\"openai\","
                         "model=\"gpt-4o\"} 1\n"));
    cr_assert_eq(mt_count_lines(tp, "gen_ai_server_time_per_output_token_seconds_count"), 1);
    cr_assert(strstr(t, "# TYPE gen_ai_server_time_to_first_token_seconds histogram\n"));
    free(tp);
    free(t);
}

Test(metrics_ops, token_usage_histogram_from_the_usage_hook)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_usage("openai", "gpt-4o", &USAGE(100, 4, -1, -1, -1), -1);
    gw_metrics_usage("openai", "gpt-4o", &USAGE(3, -1, -1, -1, -1), -1);
    char *t = mt_render(NULL);
    char *s = mt_samples(t, "gen_ai_client_token_usage");
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"input\",le=\"4\"} 1\n"),
              "%s", s);
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"input\",le=\"64\"} 1\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"input\",le=\"256\"} 2\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_sum{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"input\"} 103\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"output\",le=\"1\"} 0\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"output\",le=\"4\"} 1\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_count{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"output\"} 1\n"));
    cr_assert(strstr(s, "gen_ai_client_token_usage_bucket{provider=\"openai\",model=\"gpt-4o\","
                        "token_type=\"output\",le=\"67108864\"} 1\n"));
    free(s);
    free(t);
}

Test(metrics_ops, counters_by_key_limit_cache_guard_store_log_and_span)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_key_usage("key_01", &USAGE(10, 5, 2, -1, -1), 0.25);
    gw_metrics_key_usage("key_01", &USAGE(1, 1, -1, -1, 3), -1);
    gw_metrics_key_usage(NULL, NULL, 0.5);
    gw_metrics_rate_limited("key_01", "requests");
    gw_metrics_rate_limited("key_01", "tokens");
    gw_metrics_rate_limited("key_01", "requests");
    gw_metrics_budget_exceeded("key_02");
    gw_metrics_degraded("ratelimit_local");
    gw_metrics_cache("hit");
    gw_metrics_cache("hit");
    gw_metrics_cache("miss");
    gw_metrics_cache_evictions("capacity", 3);
    gw_metrics_cache_evictions("capacity", 0);
    gw_metrics_cache_evictions("expired", 0);
    gw_metrics_cache_evictions("expired", 2);
    gw_metrics_cache_bytes(4096);
    gw_metrics_cache_bytes(1024); /* set, not added */
    gw_metrics_guard("pii", "request", "deny");
    gw_metrics_guard("pii", "response", "rewrite");
    gw_metrics_store("redis", "admit", 700, NULL);
    gw_metrics_store("redis", "admit", 30000, "timeout");
    gw_metrics_store("sqlite", "ledger_write", -1, "error");
    gw_metrics_log_dropped("request_log", 7);
    gw_metrics_log_dropped("request_log", 0);
    gw_metrics_spans_dropped("queue_full", 2);
    gw_metrics_spans_dropped("export_failed", 5);
    gw_metrics_spans_exported(11);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_key_tokens_total",
              "aigw_key_tokens_total{key=\"key_01\",kind=\"prompt\"} 11\n"
              "aigw_key_tokens_total{key=\"key_01\",kind=\"completion\"} 6\n"
              "aigw_key_tokens_total{key=\"key_01\",kind=\"cached\"} 2\n"
              "aigw_key_tokens_total{key=\"key_01\",kind=\"reasoning\"} 3\n");
    mt_expect(t, "aigw_key_cost_usd_total",
              "aigw_key_cost_usd_total{key=\"key_01\"} 0.250000000\n"
              "aigw_key_cost_usd_total{key=\"none\"} 0.500000000\n");
    mt_expect(t, "aigw_rate_limited_total",
              "aigw_rate_limited_total{key=\"key_01\",limit=\"requests\"} 2\n"
              "aigw_rate_limited_total{key=\"key_01\",limit=\"tokens\"} 1\n");
    mt_expect(t, "aigw_budget_exceeded_total", "aigw_budget_exceeded_total{key=\"key_02\"} 1\n");
    mt_expect(t, "aigw_degraded_decisions_total",
              "aigw_degraded_decisions_total{decision=\"ratelimit_local\"} 1\n");
    mt_expect(t, "aigw_cache_lookups_total",
              "aigw_cache_lookups_total{result=\"hit\"} 2\n"
              "aigw_cache_lookups_total{result=\"miss\"} 1\n");
    mt_expect(t, "aigw_cache_evictions_total",
              "aigw_cache_evictions_total{reason=\"capacity\"} 3\n"
              "aigw_cache_evictions_total{reason=\"expired\"} 2\n");
    mt_expect(t, "aigw_cache_bytes", "aigw_cache_bytes 1024\n");
    mt_expect(t, "aigw_guardrail_outcomes_total",
              "aigw_guardrail_outcomes_total{guard=\"pii\",stage=\"request\",outcome=\"deny\"} 1\n"
              "aigw_guardrail_outcomes_total{guard=\"pii\",stage=\"response\","
              "outcome=\"rewrite\"} 1\n");
    mt_expect(t, "aigw_store_errors_total",
              "aigw_store_errors_total{backend=\"redis\",op=\"admit\",reason=\"timeout\"} 1\n"
              "aigw_store_errors_total{backend=\"sqlite\",op=\"ledger_write\",reason=\"error\"} "
              "1\n");
    char *st = mt_samples(t, "aigw_store_operation_duration_seconds");
    cr_assert(strstr(st, "aigw_store_operation_duration_seconds_bucket{backend=\"redis\","
                         "op=\"admit\",le=\"0.00025\"} 0\n"),
              "%s", st);
    cr_assert(strstr(st, "aigw_store_operation_duration_seconds_bucket{backend=\"redis\","
                         "op=\"admit\",le=\"0.001\"} 1\n"));
    cr_assert(strstr(st, "aigw_store_operation_duration_seconds_bucket{backend=\"redis\","
                         "op=\"admit\",le=\"0.05\"} 2\n"));
    cr_assert(strstr(st, "aigw_store_operation_duration_seconds_sum{backend=\"redis\","
                         "op=\"admit\"} 0.030700\n"));
    /* A failed operation without a time is an error, not an observation. */
    cr_assert_null(strstr(st, "sqlite"));
    free(st);
    mt_expect(t, "aigw_log_dropped_total", "aigw_log_dropped_total{log=\"request_log\"} 7\n");
    mt_expect(t, "aigw_otel_spans_dropped_total",
              "aigw_otel_spans_dropped_total{reason=\"queue_full\"} 2\n"
              "aigw_otel_spans_dropped_total{reason=\"export_failed\"} 5\n");
    mt_expect(t, "aigw_otel_spans_exported_total", "aigw_otel_spans_exported_total 11\n");
    cr_assert(strstr(t, "# TYPE aigw_cache_bytes gauge\n"));
    cr_assert(strstr(t, "# TYPE aigw_otel_spans_exported_total counter\n"));
    free(t);
}

/* The counters' leases: a gauge of the live ones, and the totals the counters keep of renewals
 * that came too late (a grant others may have spent) and of leases never renewed, set as they
 * are read at each scrape. */
Test(metrics_ops, budget_leases_live_lost_and_untracked)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_leases(5, 1, 0);
    gw_metrics_leases(3, 2, 4); /* set, not added */
    char *t = mt_render(NULL);
    cr_assert(strstr(t, "# TYPE aigw_budget_leases gauge\n"), "%s", t);
    cr_assert(strstr(t, "# TYPE aigw_budget_leases_lost_total counter\n"), "%s", t);
    cr_assert(strstr(t, "# TYPE aigw_budget_leases_untracked_total counter\n"), "%s", t);
    mt_expect(t, "aigw_budget_leases",
              "aigw_budget_leases 3\n"
              "aigw_budget_leases_lost_total 2\n"
              "aigw_budget_leases_untracked_total 4\n");
    free(t);
}

Test(metrics_ops, upstream_cancels_by_provider_and_outcome)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_upstream_cancel("replicate", "ok");
    gw_metrics_upstream_cancel("replicate", "ok");
    gw_metrics_upstream_cancel("replicate", "failed");
    char *t = mt_render(NULL);
    cr_assert(strstr(t, "# TYPE aigw_upstream_cancels_total counter\n"), "%s", t);
    mt_expect(t, "aigw_upstream_cancels_total",
              "aigw_upstream_cancels_total{provider=\"replicate\",outcome=\"ok\"} 2\n"
              "aigw_upstream_cancels_total{provider=\"replicate\",outcome=\"failed\"} 1\n");
    free(t);
}

Test(metrics_ops, keys_and_names_fold_into_other_past_their_caps)
{
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    char k[32];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof k, "key_%03d", i);
        gw_metrics_budget_exceeded(k);
    }
    /* Bad charset or too long: "other" at once, whatever the count. */
    gw_metrics_budget_exceeded("has space");
    char longk[80];
    memset(longk, 'a', sizeof longk - 1);
    longk[sizeof longk - 1] = '\0';
    gw_metrics_budget_exceeded(longk);
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "guard-%d", i);
        gw_metrics_guard(k, "request", "allow");
    }
    char *t = mt_render(NULL);
    cr_assert_eq(mt_count_lines(t, "aigw_budget_exceeded_total{"), 256 + 1);
    cr_assert(strstr(t, "aigw_budget_exceeded_total{key=\"key_255\"} 1\n"));
    cr_assert(strstr(t, "aigw_budget_exceeded_total{key=\"other\"} 46\n"), "%s", t);
    cr_assert_eq(mt_count_lines(t, "aigw_guardrail_outcomes_total{"), 64 + 1);
    cr_assert(strstr(t, "aigw_guardrail_outcomes_total{guard=\"other\",stage=\"request\","
                        "outcome=\"allow\"} 36\n"));
    free(t);
}

Test(metrics_ops, no_secret_becomes_a_key_or_name_label)
{
    const char *canary = "sk-CANARY-77aa88bb";
    gw_redact_register(canary);
    cr_assert_eq(gw_metrics_init(NULL, 10), 0);
    gw_metrics_key_usage(canary, &USAGE(1, -1, -1, -1, -1), 0.1);
    gw_metrics_rate_limited("x-sk-CANARY-77aa88bb", canary);
    gw_metrics_guard(canary, canary, canary);
    gw_metrics_store(canary, canary, 1, canary);
    gw_metrics_log_dropped(canary, 1);
    char *t = mt_render(NULL);
    cr_assert_null(strstr(t, "CANARY"), "%s", t);
    mt_expect(t, "aigw_key_cost_usd_total", "aigw_key_cost_usd_total{key=\"other\"} 0.100000000\n");
    free(t);
}

Test(metrics_ops, uninitialized_is_a_no_op)
{
    gw_metrics_ttft("openai", "gpt-4o", 1);
    gw_metrics_tpot("openai", "gpt-4o", 1, 10, 3);
    gw_metrics_key_usage("k", NULL, 1);
    gw_metrics_cache("hit");
    gw_metrics_cache_bytes(5);
    gw_metrics_spans_exported(1);
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_cache_lookups_total", "");
    mt_expect(t, "aigw_cache_bytes", "");
    cr_assert(strstr(t, "# TYPE gen_ai_client_token_usage histogram\n"));
    free(t);
}
