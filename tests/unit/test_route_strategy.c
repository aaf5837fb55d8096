/* route: each strategy's order, rules and variants, circuit breakers across requests, the
 * retry budget and backoff, and many threads routing and reporting at once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "route_fixture.h"
#include "route/strategy.h"

TestSuite(strategy, .init = rf_setup, .fini = rf_teardown);
TestSuite(rules, .init = rf_setup, .fini = rf_teardown);
TestSuite(health, .init = rf_setup, .fini = rf_teardown);

#define LLAMA (&(struct rf_req){.model = "llama-3.3-70b"})

Test(strategy, single_keeps_one_target)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"single\"}");
    cr_assert_str_eq(rf_targets(&r, LLAMA), "fireworks:llama-3.3-70b");
    gw_router_free(&r);
}

Test(strategy, fallback_keeps_the_configured_order)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"fallback\",\"targets\":[\"together\",\"fireworks\","
                     "\"groq\"]}");
    for (int i = 0; i < 20; i++)
        cr_assert_str_eq(rf_targets(&r, LLAMA),
                         "together:llama-3.3-70b,fireworks:llama-3.3-70b,groq:llama-3.3-70b");
    gw_router_free(&r);
}

Test(strategy, loadbalance_draws_by_weight_and_weight_zero_drains)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"loadbalance\",\"targets\":["
                     "{\"provider\":\"groq\",\"weight\":3},{\"provider\":\"together\","
                     "\"weight\":1},{\"provider\":\"fireworks\",\"weight\":0}]}");
    int groq = 0, together = 0;
    const int n = 8000;
    for (int i = 0; i < n; i++) {
        const char *t = rf_targets(&r, LLAMA);
        cr_assert_null(strstr(t, "fireworks"), "drained: %s", t);
        if (!strncmp(t, "groq:", 5)) {
            groq++;
            cr_assert_str_eq(t, "groq:llama-3.3-70b,together:llama-3.3-70b");
        } else {
            together++;
            cr_assert_str_eq(t, "together:llama-3.3-70b,groq:llama-3.3-70b");
        }
    }
    /* 3:1 is 6000:2000; +-300 is more than six standard deviations. */
    cr_assert(groq > 5700 && groq < 6300, "groq first %d times of %d", groq, n);
    cr_assert_eq(groq + together, n);
    gw_router_free(&r);
}

Test(strategy, loadbalance_with_every_target_drained_is_a_503)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"loadbalance\",\"targets\":[{\"provider\":\"groq\","
                     "\"weight\":0}]}");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r, LLAMA, &out, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.message, "every target for model 'llama-3.3-70b' is drained (weight 0)");
    gw_router_free(&r);
}

Test(strategy, loadbalance_spreads_catalog_targets_evenly)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"loadbalance\"}");
    int count[3] = {0};
    for (int i = 0; i < 3000; i++) {
        const char *t = rf_first(&r, LLAMA);
        count[!strncmp(t, "groq", 4) ? 0 : !strncmp(t, "together", 8) ? 1 : 2]++;
    }
    for (int i = 0; i < 3; i++)
        cr_assert(count[i] > 850 && count[i] < 1150, "target %d first %d times", i, count[i]);
    gw_router_free(&r);
}

Test(strategy, least_latency_prefers_the_lowest_median_and_measures_cold_targets)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"least-latency\",\"least_latency\":{\"explore_ratio\":0,"
                     "\"window\":8,\"min_samples\":3}}");
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_OK, 3, 400);
    rf_report(&r, "together", "llama-3.3-70b", GW_ROUTE_OK, 3, 100);
    rf_report(&r, "fireworks", "llama-3.3-70b", GW_ROUTE_OK, 2, 1000);
    cr_assert_str_eq(rf_targets(&r, LLAMA),
                     "fireworks:llama-3.3-70b,together:llama-3.3-70b,groq:llama-3.3-70b",
                     "fireworks has 2 samples of 3: cold, so it is measured first");
    rf_report(&r, "fireworks", "llama-3.3-70b", GW_ROUTE_OK, 1, 900);
    cr_assert_str_eq(rf_targets(&r, LLAMA),
                     "together:llama-3.3-70b,groq:llama-3.3-70b,fireworks:llama-3.3-70b");
    /* The window rolls: together gets slow, its median follows within a window. */
    rf_report(&r, "together", "llama-3.3-70b", GW_ROUTE_OK, 8, 700);
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    /* Failures are not latencies: a fast 500 does not make a target look good. */
    rf_report(&r, "fireworks", "llama-3.3-70b", 500, 3, 0);
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    gw_router_free(&r);
}

Test(strategy, least_latency_explores_the_others_at_the_configured_ratio)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"least-latency\",\"least_latency\":{\"explore_ratio\":0.2,"
                     "\"min_samples\":1}}");
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_OK, 1, 10);
    rf_report(&r, "together", "llama-3.3-70b", GW_ROUTE_OK, 1, 20);
    rf_report(&r, "fireworks", "llama-3.3-70b", GW_ROUTE_OK, 1, 30);
    int fastest = 0;
    for (int i = 0; i < 5000; i++)
        fastest += !strcmp(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    cr_assert(fastest > 3800 && fastest < 4200, "fastest first %d of 5000", fastest);
    gw_router_free(&r);
}

Test(strategy, cost_optimized_puts_the_cheapest_first_and_unpriced_last)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"cost-optimized\"}");
    cr_assert_str_eq(rf_targets(&r, LLAMA),
                     "groq:llama-3.3-70b,together:llama-3.3-70b,fireworks:llama-3.3-70b");
    gw_router_free(&r);
    rf_router_ok(&r, "{\"strategy\":\"cost-optimized\",\"aliases\":{\"sonnet\":["
                     "\"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0\","
                     "\"anthropic/claude-sonnet-4-5\"]}}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "sonnet"}),
                     "anthropic:claude-sonnet-4-5,"
                     "bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    gw_router_free(&r);
}

Test(strategy, cost_optimized_can_exclude_unpriced_targets)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"cost-optimized\",\"cost\":{\"unpriced\":\"exclude\"}}");
    cr_assert_str_eq(rf_targets(&r, LLAMA), "groq:llama-3.3-70b,together:llama-3.3-70b");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(rf_route(&r, &(struct rf_req){.model = "fireworks/llama-3.3-70b"}, &out, &e), 0,
                 "a prefix bypasses the strategy");
    cr_assert_lt(
        rf_route(&r, &(struct rf_req){.model = "openai-finetune", .x_provider = NULL}, &out, &e),
        0);
    cr_assert_eq(e.status, 404);
    gw_router_free(&r);
    rf_router_ok(&r, "{\"strategy\":\"cost-optimized\",\"cost\":{\"unpriced\":\"exclude\"},"
                     "\"targets\":[\"fireworks\"]}");
    cr_assert_lt(rf_route(&r, LLAMA, &out, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert(strstr(e.message, "has a catalog price"), "%s", e.message);
    gw_router_free(&r);
}

/* ---- rules and variants ------------------------------------------------------------------- */

static const char conditional[] =
    "{\"strategy\":\"conditional\",\"rules\":["
    "{\"name\":\"premium\",\"when\":{\"header\":{\"name\":\"X-Tier\",\"value\":\"premium\"}},"
    "\"targets\":[\"anthropic/claude-sonnet-4-5\",\"openai/gpt-4o\"]},"
    "{\"name\":\"batch\",\"when\":{\"metadata\":{\"key\":\"priority\",\"value\":\"low\"},"
    "\"model_prefix\":\"llama\"},\"targets\":[\"together\"]},"
    "{\"name\":\"mini\",\"when\":{\"model\":[\"gpt-4o-mini\",\"small\"]},"
    "\"targets\":[{\"provider\":\"groq\",\"model\":\"llama-3.3-70b\"}]},"
    "{\"name\":\"traced\",\"when\":{\"header\":{\"name\":\"x-trace\"}},"
    "\"targets\":[\"fireworks\"]}]}";

Test(rules, conditional_rules_match_headers_metadata_and_models)
{
    struct gw_router r;
    rf_router_ok(&r, conditional);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(
        rf_route(&r, &(struct rf_req){.model = "gpt-4o", .headers = "X-Tier: premium"}, &out, &e),
        0);
    cr_assert_str_eq(out.label, "premium");
    cr_assert_eq(out.n, 2);
    cr_assert_str_eq(out.targets[0].model, "claude-sonnet-4-5");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o", .headers = "x-tier: free"}),
                     "azure-openai:gpt-4o,openai:gpt-4o", "no rule: the model decides");
    cr_assert_str_eq(
        rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b",
                                        .body = "{\"metadata\":{\"priority\":\"low\"}}"}),
        "together:llama-3.3-70b", "a model-less rule target sends the request's model");
    cr_assert_str_eq(
        rf_targets(&r, &(struct rf_req){.model = "gpt-4o",
                                        .body = "{\"metadata\":{\"priority\":\"low\"}}"}),
        "azure-openai:gpt-4o,openai:gpt-4o", "both conditions must hold");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "small"}), "groq:llama-3.3-70b");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "x", .headers = "X-Trace: 1"}),
                     "fireworks:x", "a header without a value: present is enough");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "groq/llama-3.3-70b",
                                                     .headers = "X-Tier: premium"}),
                     "groq:llama-3.3-70b", "a provider prefix wins over rules");
    gw_router_free(&r);
}

static const char content[] =
    "{\"strategy\":\"content-based\",\"rules\":["
    "{\"name\":\"code\",\"when\":{\"contains\":[\"stack trace\",\"segfault\"],"
    "\"not_contains\":\"poem\"},\"targets\":[\"anthropic/claude-sonnet-4-5\"]},"
    "{\"name\":\"ticket\",\"when\":{\"regex\":\"^TICKET-[0-9]+\",\"case_sensitive\":true},"
    "\"targets\":[\"groq/llama-3.3-70b\"]}]}";

static const char *body_user(const char *text)
{
    static char b[1024];
    snprintf(b, sizeof b,
             "{\"messages\":[{\"role\":\"system\",\"content\":\"segfault\"},"
             "{\"role\":\"user\",\"content\":\"old question about a segfault\"},"
             "{\"role\":\"assistant\",\"content\":\"ok\"},"
             "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"%s\"},"
             "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}",
             text);
    return b;
}

Test(rules, content_rules_look_at_the_last_user_message)
{
    struct gw_router r;
    rf_router_ok(&r, content);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(
        rf_route(&r,
                 &(struct rf_req){.model = "gpt-4o", .body = body_user("Here is my STACK TRACE")},
                 &out, &e),
        0);
    cr_assert_str_eq(out.label, "code", "contains is case-insensitive by default");
    cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "anthropic");
    cr_assert_str_eq(rf_first(&r, &(struct rf_req){.model = "gpt-4o",
                                                   .body = body_user("a poem on a segfault")}),
                     "azure-openai:gpt-4o", "not_contains vetoes");
    cr_assert_str_eq(rf_first(&r, &(struct rf_req){.model = "gpt-4o", .body = body_user("hello")}),
                     "azure-openai:gpt-4o", "earlier turns and the system prompt do not count");
    cr_assert_str_eq(
        rf_first(&r, &(struct rf_req){.model = "gpt-4o", .body = body_user("TICKET-42 is broken")}),
        "groq:llama-3.3-70b");
    cr_assert_str_eq(
        rf_first(&r, &(struct rf_req){.model = "gpt-4o", .body = body_user("ticket-42 is broken")}),
        "azure-openai:gpt-4o", "case_sensitive regex");
    cr_assert_str_eq(rf_first(&r, &(struct rf_req){.model = "text-embedding-3-small",
                                                   .op = AIGW_OP_EMBEDDINGS,
                                                   .body = "{\"input\":[\"x\",\"TICKET\"]}"}),
                     "openai:text-embedding-3-small", "embeddings' input is the text");
    cr_assert_lt(rf_route(&r,
                          &(struct rf_req){.model = "text-embedding-3-small",
                                           .op = AIGW_OP_EMBEDDINGS,
                                           .body = "{\"input\":[\"x\",\"TICKET-7\"]}"},
                          &out, &e),
                 0, "^ matches at every line; the rule's only target has no embeddings");
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.message, "none of the targets of the matching rule 'ticket' for model "
                                "'text-embedding-3-small' is active and serves this endpoint");
    gw_router_free(&r);
}

Test(rules, user_text_is_capped_and_joined)
{
    char buf[16];
    cJSON *b = cJSON_Parse("{\"input\":[\"abcdef\",\"ghijklmnop\"]}");
    size_t n = gw_route_user_text(b, buf, sizeof buf);
    cr_assert_eq(n, 15);
    cr_assert_str_eq(buf, "abcdef\nghijklmn");
    cJSON_Delete(b);
}

Test(rules, ab_test_draws_variants_by_weight_and_labels_them)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"ab-test\",\"variants\":["
                     "{\"label\":\"control\",\"weight\":90,\"targets\":[\"openai/gpt-4o\"]},"
                     "{\"label\":\"candidate\",\"weight\":10,\"targets\":"
                     "[\"anthropic/claude-sonnet-4-5\",\"openai/gpt-4o\"]}]}");
    int control = 0;
    for (int i = 0; i < 5000; i++) {
        struct gw_route_result out;
        struct gw_request_err e;
        cr_assert_eq(rf_route(&r, &(struct rf_req){.model = "gpt-4o"}, &out, &e), 0);
        if (!strcmp(out.label, "control")) {
            control++;
            cr_assert_eq(out.n, 1);
        } else {
            cr_assert_str_eq(out.label, "candidate");
            cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "anthropic");
        }
    }
    cr_assert(control > 4400 && control < 4600, "control %d of 5000", control);
    gw_router_free(&r);
}

Test(rules, a_target_label_is_the_route_label_when_no_variant_or_rule_gave_one)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[{\"provider\":\"groq\",\"label\":\"cheap-pool\"}]}");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(rf_route(&r, LLAMA, &out, &e), 0);
    cr_assert_str_eq(out.label, "cheap-pool");
    cr_assert_str_eq(out.targets[0].label, "cheap-pool");
    gw_router_free(&r);
}

/* ---- circuit breakers across requests ----------------------------------------------------- */

static const char breaker_cfg[] = "{\"targets\":[\"groq\",\"together\"],"
                                  "\"circuit_breaker\":{\"failure_threshold\":3,"
                                  "\"cooldown_ms\":1000}}";

Test(health, consecutive_failures_open_the_breaker_then_one_probe_goes)
{
    struct gw_router r;
    rf_router_ok(&r, breaker_cfg);
    rf_report(&r, "groq", "llama-3.3-70b", 503, 2, 5);
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_OK, 1, 5);
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_ETRANSPORT, 2, 5);
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b", "a success reset the count");
    rf_report(&r, "groq", "llama-3.3-70b", 429, 1, 5);
    cr_assert_str_eq(rf_targets(&r, LLAMA), "together:llama-3.3-70b", "open: left out");
    rf_now += 999;
    cr_assert_str_eq(rf_targets(&r, LLAMA), "together:llama-3.3-70b");
    rf_now += 1;
    cr_assert_str_eq(rf_targets(&r, LLAMA), "groq:llama-3.3-70b,together:llama-3.3-70b",
                     "cooldown over: this request is the probe");
    cr_assert_str_eq(rf_targets(&r, LLAMA), "together:llama-3.3-70b", "one probe at a time");
    rf_report(&r, "groq", "llama-3.3-70b", 500, 1, 5);
    rf_now += 500;
    cr_assert_str_eq(rf_targets(&r, LLAMA), "together:llama-3.3-70b",
                     "the probe failed: a new cooldown");
    rf_now += 500;
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_OK, 1, 5);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(rf_targets(&r, LLAMA), "groq:llama-3.3-70b,together:llama-3.3-70b",
                         "closed again");
    gw_router_free(&r);
}

Test(health, a_lost_probe_does_not_wedge_the_target)
{
    struct gw_router r;
    rf_router_ok(&r, breaker_cfg);
    rf_report(&r, "groq", "llama-3.3-70b", 500, 3, 5);
    rf_now += 1000;
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    rf_now += 999;
    cr_assert_str_eq(rf_first(&r, LLAMA), "together:llama-3.3-70b");
    rf_now += 1;
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b", "the lease ran out");
    gw_router_free(&r);
}

Test(health, client_errors_and_cancels_do_not_count)
{
    struct gw_router r;
    rf_router_ok(&r, breaker_cfg);
    rf_report(&r, "groq", "llama-3.3-70b", 400, 10, 5);
    rf_report(&r, "groq", "llama-3.3-70b", 404, 10, 5);
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_CANCELLED, 10, 5);
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    rf_report(&r, "groq", "llama-3.3-70b", 408, 1, 5);
    rf_report(&r, "groq", "llama-3.3-70b", GW_ROUTE_EPROTO, 1, 5);
    rf_report(&r, "groq", "llama-3.3-70b", 400, 1, 5);
    cr_assert_str_eq(rf_first(&r, LLAMA), "groq:llama-3.3-70b");
    rf_report(&r, "groq", "llama-3.3-70b", 502, 1, 5);
    cr_assert_str_eq(rf_first(&r, LLAMA), "together:llama-3.3-70b",
                     "408, protocol error, 502: three in a row (the 400 in between is neutral)");
    gw_router_free(&r);
}

Test(health, every_target_open_fails_fast_with_a_503)
{
    struct gw_router r;
    rf_router_ok(&r, breaker_cfg);
    rf_report(&r, "groq", "llama-3.3-70b", 500, 3, 5);
    rf_now += 400;
    rf_report(&r, "together", "llama-3.3-70b", 500, 3, 5);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r, LLAMA, &out, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.code, "circuit_open");
    cr_assert_str_eq(e.message, "every target for model 'llama-3.3-70b' failed repeatedly and "
                                "is paused (circuit breaker open: groq:llama-3.3-70b, "
                                "together:llama-3.3-70b); try again in 1 s");
    cr_assert_lt(
        rf_route(&r, &(struct rf_req){.model = "llama-3.3-70b", .x_provider = "groq"}, &out, &e), 0,
        "X-Provider bypasses the strategy, not the breaker");
    cr_assert_str_eq(e.code, "circuit_open");
    gw_router_free(&r);
}

/* A keyed request is planned at admission and claims its target only after a cache miss: a
 * plan neither skips an open target nor takes a half-open probe; the claim does both. */
Test(health, a_plan_ignores_breakers_and_the_claim_applies_them)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"groq\",\"together\"],"
                     "\"circuit_breaker\":{\"failure_threshold\":1,\"cooldown_ms\":1000}}");
    struct rf_req plan = {.model = "llama-3.3-70b", .plan = 1};
    struct gw_route_result out;
    struct gw_request_err e;
    rf_report(&r, "groq", "llama-3.3-70b", 500, 1, 5);
    cr_assert_eq(rf_route(&r, &plan, &out, &e), 0);
    cr_assert_eq(out.n, 2, "a plan keeps the open target");
    cr_assert_eq(gw_route_claim(&r, &out, "llama-3.3-70b", &e), 0);
    cr_assert_eq(out.n, 1);
    cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "together");
    rf_report(&r, "together", "llama-3.3-70b", 500, 1, 5);
    cr_assert_eq(rf_route(&r, &plan, &out, &e), 0, "planned with every breaker open");
    cr_assert_lt(gw_route_claim(&r, &out, "llama-3.3-70b", &e), 0);
    cr_assert_str_eq(e.code, "circuit_open");
    cr_assert_eq(out.n, 2, "a refused claim leaves the plan as it was");
    rf_now += 1000;
    for (int i = 0; i < 3; i++) /* cache hits: planned, never claimed */
        cr_assert_eq(rf_route(&r, &plan, &out, &e), 0);
    cr_assert_eq(gw_route_claim(&r, &out, "llama-3.3-70b", &e), 0, "the probe is still free");
    cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "groq");
    cr_assert_eq(rf_route(&r, &plan, &out, &e), 0);
    cr_assert_eq(gw_route_claim(&r, &out, "llama-3.3-70b", &e), 0);
    cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "together", "groq's probe is out");
    gw_router_free(&r);
}

Test(health, breakers_are_per_model)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"circuit_breaker\":{\"failure_threshold\":1}}");
    rf_report(&r, "openai", "gpt-4o", 500, 1, 5);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o"}), "azure-openai:gpt-4o");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o-mini"}),
                     "openai:gpt-4o-mini");
    gw_router_free(&r);
}

Test(health, next_skips_open_targets_and_wraps_around)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"groq\",\"together\",\"fireworks\"],"
                     "\"circuit_breaker\":{\"failure_threshold\":1}}");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(rf_route(&r, LLAMA, &out, &e), 0);
    cr_assert_eq(out.n, 3);
    gw_route_report_status(&r, &out.targets[1], 503, 5);
    cr_assert_eq(gw_route_next(&r, &out, 0), 2, "together just opened");
    cr_assert_eq(gw_route_next(&r, &out, 2), 0, "wraps to the first");
    gw_route_report_status(&r, &out.targets[0], 503, 5);
    gw_route_report_status(&r, &out.targets[2], 503, 5);
    cr_assert_eq(gw_route_next(&r, &out, 2), -1, "nothing left");
    rf_now += 30000;
    cr_assert_eq(gw_route_next(&r, &out, 2), 0, "groq's probe");
    cr_assert_eq(gw_route_next(&r, &out, 0), 1, "together's probe");
    cr_assert_eq(gw_route_next(&r, &out, 1), 2, "fireworks' probe");
    cr_assert_eq(gw_route_next(&r, &out, 2), -1, "all three probes are out");
    gw_router_free(&r);
}

Test(health, a_single_target_is_retried_until_its_breaker_opens)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"circuit_breaker\":{\"failure_threshold\":2}}");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(rf_route(&r, &(struct rf_req){.model = "groq/llama-3.3-70b"}, &out, &e), 0);
    gw_route_report_status(&r, &out.targets[0], 500, 5);
    cr_assert_eq(gw_route_next(&r, &out, 0), 0);
    gw_route_report_status(&r, &out.targets[0], 500, 5);
    cr_assert_eq(gw_route_next(&r, &out, 0), -1);
    gw_router_free(&r);
}

Test(health, invented_model_names_share_the_provider_slot)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"groq\"]}");
    size_t before = gw_tstats_count(r.stats);
    for (int i = 0; i < 2000; i++) {
        char m[32];
        snprintf(m, sizeof m, "junk-%d", i);
        struct gw_route_result out;
        struct gw_request_err e;
        cr_assert_eq(rf_route(&r, &(struct rf_req){.model = m}, &out, &e), 0);
        cr_assert_str_eq(out.targets[0].stat->model, "");
    }
    cr_assert_eq(gw_tstats_count(r.stats), before);
    gw_router_free(&r);
}

/* ---- retry budget and backoff ------------------------------------------------------------- */

Test(health, retry_budget_is_a_share_of_the_request_rate)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"retry\":{\"budget_ratio\":0.2,\"budget_min\":0}}");
    cr_assert_eq(gw_route_retry_allowed(&r), 0, "no requests, no minimum: no retries");
    for (int i = 0; i < 50; i++)
        gw_route_note_request(&r);
    int allowed = 0;
    for (int i = 0; i < 50; i++)
        allowed += gw_route_retry_allowed(&r);
    cr_assert_eq(allowed, 10);
    rf_now += 10000;
    cr_assert_eq(gw_route_retry_allowed(&r), 0, "the window moved on");
    gw_router_free(&r);
    rf_router_ok(&r, "{\"retry\":{\"budget_ratio\":0,\"budget_min\":3}}");
    allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += gw_route_retry_allowed(&r);
    cr_assert_eq(allowed, 30, "budget_min per second over the 10 s window");
    gw_router_free(&r);
}

Test(health, backoff_grows_with_jitter_and_caps_retry_after)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"retry\":{\"backoff_ms\":100,\"backoff_max_ms\":1000,"
                     "\"retry_after_cap_ms\":2000}}");
    for (int i = 0; i < 500; i++) {
        int64_t d1 = gw_route_backoff_ms(&r, 1, -1);
        int64_t d3 = gw_route_backoff_ms(&r, 3, -1);
        int64_t d9 = gw_route_backoff_ms(&r, 9, -1);
        cr_assert(d1 >= 50 && d1 <= 100, "%lld", (long long)d1);
        cr_assert(d3 >= 200 && d3 <= 400, "%lld", (long long)d3);
        cr_assert(d9 >= 500 && d9 <= 1000, "%lld", (long long)d9);
    }
    cr_assert_eq(gw_route_backoff_ms(&r, 1, 1500), 1500);
    cr_assert_eq(gw_route_backoff_ms(&r, 1, 60000), 2000);
    cr_assert_eq(gw_route_backoff_ms(&r, 1, 0), 0);
    gw_router_free(&r);
}

/* ---- concurrency -------------------------------------------------------------------------- */

struct worker {
    struct gw_router *r;
    int ok;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    static const char *const models[] = {"llama-3.3-70b", "gpt-4o", "sonnet", "new-model"};
    for (int i = 0; i < 4000; i++) {
        struct gw_route_result out;
        struct gw_request_err e;
        struct rf_req q = {.model = models[i % 4]};
        gw_route_note_request(w->r);
        if (rf_route(w->r, &q, &out, &e) == 0) {
            w->ok++;
            int outcome = i % 7 == 0 ? 500 : GW_ROUTE_OK;
            gw_route_report_status(w->r, &out.targets[0], outcome, i % 50);
            if (outcome && gw_route_retry_allowed(w->r))
                gw_route_next(w->r, &out, 0);
        }
    }
    return NULL;
}

Test(health, many_threads_route_and_report_at_once)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"least-latency\",\"targets\":[\"groq\",\"together\","
                     "\"openai\",\"azure-openai\"],\"aliases\":{\"sonnet\":"
                     "[\"anthropic/claude-sonnet-4-5\"]}}");
    r.clock_ms = gw_mono_ms;
    pthread_t th[8];
    struct worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.r = &r};
        pthread_create(&th[i], NULL, hammer, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    cr_assert_gt(ok, 8 * 4000 / 2, "most requests found a target (%d)", ok);
    cr_assert_gt(gw_tstat_p50(gw_tstats_get(r.stats, rf_plugin("groq"), "llama-3.3-70b", 0)), -1);
    gw_router_free(&r);
}
