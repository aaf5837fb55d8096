/* route: config validation, model resolution, X-Provider, aliases (strategies, breakers and
 * budgets are in test_route_strategy.c). */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "route_fixture.h"

TestSuite(route_config, .init = rf_setup, .fini = rf_teardown);
TestSuite(resolve, .init = rf_setup, .fini = rf_teardown);

/* ---- configuration ------------------------------------------------------------------------ */

Test(route_config, defaults_without_a_routing_object)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    cr_assert_eq(r.strategy, GW_STRATEGY_FALLBACK);
    cr_assert_str_eq(r.strategy_name, "fallback");
    cr_assert_eq(r.max_attempts, 3);
    cr_assert_eq(r.backoff_ms, 200);
    cr_assert_eq(r.backoff_max_ms, 5000);
    cr_assert_eq(r.retry_after_cap_ms, 30000);
    cr_assert_eq(r.breaker.threshold, 5);
    cr_assert_eq(r.breaker.cooldown_ms, 30000);
    cr_assert_float_eq(r.budget.ratio, 0.2, 1e-9);
    cr_assert_eq(r.budget.min_per_s, 10);
    cr_assert_null(r.aliases);
    gw_router_free(&r);
}

Test(route_config, every_block_is_read)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"least-latency\","
                     "\"retry\":{\"max_attempts\":5,\"backoff_ms\":10,\"backoff_max_ms\":80,"
                     "\"retry_after_cap_ms\":1500,\"budget_ratio\":0.5,\"budget_min\":2},"
                     "\"circuit_breaker\":{\"failure_threshold\":2,\"cooldown_ms\":700},"
                     "\"least_latency\":{\"explore_ratio\":0,\"window\":8,\"min_samples\":2},"
                     "\"cost\":{\"unpriced\":\"exclude\"}}");
    cr_assert_eq(r.strategy, GW_STRATEGY_LEAST_LATENCY);
    cr_assert_eq(r.max_attempts, 5);
    cr_assert_eq(r.backoff_ms, 10);
    cr_assert_eq(r.backoff_max_ms, 80);
    cr_assert_eq(r.retry_after_cap_ms, 1500);
    cr_assert_float_eq(r.budget.ratio, 0.5, 1e-9);
    cr_assert_eq(r.budget.min_per_s, 2);
    cr_assert_eq(r.breaker.threshold, 2);
    cr_assert_eq(r.breaker.cooldown_ms, 700);
    cr_assert_float_eq(r.explore_ratio, 0, 1e-9);
    cr_assert_eq(r.latency_window, 8);
    cr_assert_eq(r.latency_min_samples, 2);
    cr_assert_eq(r.cost_exclude_unpriced, 1);
    gw_router_free(&r);
}

Test(route_config, flat_retry_keys_of_earlier_configs_still_work)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"max_attempts\":7,\"backoff_ms\":1,\"backoff_max_ms\":2,"
                     "\"retry_after_cap_ms\":3}");
    cr_assert_eq(r.max_attempts, 7);
    cr_assert_eq(r.backoff_ms, 1);
    cr_assert_eq(r.backoff_max_ms, 2);
    cr_assert_eq(r.retry_after_cap_ms, 3);
    gw_router_free(&r);
}

Test(route_config, every_strategy_name_is_accepted)
{
    static const char *const ok[] = {
        "{\"strategy\":\"single\"}",
        "{\"strategy\":\"fallback\"}",
        "{\"strategy\":\"loadbalance\"}",
        "{\"strategy\":\"least-latency\"}",
        "{\"strategy\":\"cost-optimized\"}",
        "{\"strategy\":\"conditional\",\"rules\":[{\"when\":{\"model\":\"x\"},"
        "\"targets\":[\"openai/gpt-4o\"]}]}",
        "{\"strategy\":\"content-based\",\"rules\":[{\"when\":{\"contains\":\"x\"},"
        "\"targets\":[\"openai/gpt-4o\"]}]}",
        "{\"strategy\":\"ab-test\",\"variants\":[{\"label\":\"a\",\"targets\":[\"openai\"]}]}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct gw_router r;
        rf_router_ok(&r, ok[i]);
        gw_router_free(&r);
    }
}

struct bad {
    const char *json;
    const char *reason;
};

Test(route_config, bad_values_name_the_key_and_the_reason)
{
    static const struct bad cases[] = {
        {"[]", "routing: expected an object"},
        {"{\"strategy\":\"round-robin\"}", "routing.strategy: 'round-robin' is not a strategy"},
        {"{\"strategy\":3}", "routing.strategy: '?' is not a strategy"},
        {"{\"stratgy\":\"single\"}", "routing.stratgy: unknown key"},
        {"{\"targets\":{}}", "routing.targets: expected an array of targets"},
        {"{\"targets\":[{\"model\":\"gpt-4o\"}]}", "routing.targets[0].provider: required"},
        {"{\"targets\":[{\"provider\":\"opnai\"}]}",
         "routing.targets[0].provider: 'opnai' is not a known provider"},
        {"{\"targets\":[\"openai\",\"nope/x\"]}", "routing.targets[1]: 'nope' is not a known"},
        {"{\"targets\":[{\"provider\":\"openai\",\"weight\":-1}]}",
         "routing.targets[0].weight: expected a number from 0 to 1e+06"},
        {"{\"targets\":[{\"provider\":\"openai\",\"model\":\"\"}]}",
         "routing.targets[0].model: expected a model id"},
        {"{\"targets\":[{\"provider\":\"openai\",\"lable\":\"x\"}]}",
         "routing.targets[0].lable: unknown key"},
        {"{\"targets\":[{\"provider\":\"openai\",\"label\":\"a\\\"b\"}]}",
         "routing.targets[0].label: control characters, quotes"},
        {"{\"aliases\":[]}", "routing.aliases: expected an object"},
        {"{\"aliases\":{\"fast\":\"groq\"}}",
         "routing.aliases.fast: 'groq' names a provider but no model"},
        {"{\"aliases\":{\"fast\":[]}}", "routing.aliases.fast: needs at least one target"},
        {"{\"aliases\":{\"fast\":{\"targets\":[{\"provider\":\"groq\"}]}}}",
         "routing.aliases.fast.targets[0].model: required here"},
        {"{\"aliases\":{\"fast\":{\"target\":[]}}}", "routing.aliases.fast.target: unknown key"},
        {"{\"aliases\":{\"fast\":3}}", "routing.aliases.fast: expected \"provider/model\""},
        {"{\"rules\":[{\"when\":{},\"targets\":[\"openai\"]}]}",
         "routing.rules: the fallback strategy does not use rules"},
        {"{\"strategy\":\"conditional\"}", "routing.rules: the conditional strategy needs rules"},
        {"{\"strategy\":\"conditional\",\"rules\":[]}", "routing.rules: expected a non-empty"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when: required"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"when\":{\"modle\":\"x\"},"
         "\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.modle: unknown condition"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"when\":{\"header\":{\"value\":\"x\"}},"
         "\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.header.name: expected a non-empty string"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"when\":{\"metadata\":{\"key\":\"k\","
         "\"value\":[1]}},\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.metadata.value: expected a string, a number or a boolean"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"when\":{\"model\":[]},"
         "\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.model: expected a non-empty string or an array of them"},
        {"{\"strategy\":\"conditional\",\"rules\":[{\"when\":{},\"targets\":[]}]}",
         "routing.rules[0].targets: needs at least one target"},
        {"{\"strategy\":\"content-based\",\"rules\":[{\"when\":{\"regex\":\"(unclosed\"},"
         "\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.regex: '(unclosed' is not a valid POSIX extended regular"},
        {"{\"strategy\":\"content-based\",\"rules\":[{\"when\":{\"case_sensitive\":1},"
         "\"targets\":[\"openai\"]}]}",
         "routing.rules[0].when.case_sensitive: expected true or false"},
        {"{\"strategy\":\"ab-test\"}", "routing.variants: the ab-test strategy needs variants"},
        {"{\"variants\":[]}", "routing.variants: the fallback strategy does not use variants"},
        {"{\"strategy\":\"ab-test\",\"variants\":[{\"weight\":1,\"targets\":[\"openai\"]}]}",
         "routing.variants[0].label: required"},
        {"{\"strategy\":\"ab-test\",\"variants\":[{\"label\":\"a\",\"targets\":[\"openai\"]},"
         "{\"label\":\"a\",\"targets\":[\"groq\"]}]}",
         "routing.variants[1].label: 'a' is used twice"},
        {"{\"strategy\":\"ab-test\",\"variants\":[{\"label\":\"a\",\"weight\":0,"
         "\"targets\":[\"openai\"]}]}",
         "routing.variants: at least one weight must be above 0"},
        {"{\"retry\":{\"max_attempts\":0}}",
         "routing.retry.max_attempts: expected an integer from 1 to 10"},
        {"{\"retry\":{\"max_attempts\":2.5}}", "routing.retry.max_attempts: expected an integer"},
        {"{\"retry\":{\"backoff_ms\":500,\"backoff_max_ms\":100}}",
         "routing.retry.backoff_max_ms: must not be below backoff_ms (500)"},
        {"{\"retry\":{\"budget_ratio\":\"lots\"}}", "routing.retry.budget_ratio: expected a"},
        {"{\"retry\":{\"tries\":2}}", "routing.retry.tries: unknown key"},
        {"{\"max_attempts\":11}", "routing.max_attempts: expected an integer from 1 to 10"},
        {"{\"circuit_breaker\":{\"cooldown_ms\":1}}",
         "routing.circuit_breaker.cooldown_ms: expected an integer from 10 to 3600000"},
        {"{\"circuit_breaker\":{\"threshold\":1}}",
         "routing.circuit_breaker.threshold: unknown key"},
        {"{\"cost\":{\"unpriced\":\"first\"}}",
         "routing.cost.unpriced: expected \"last\" or \"exclude\""},
        {"{\"least_latency\":{\"explore_ratio\":2}}",
         "routing.least_latency.explore_ratio: expected a number from 0 to 1"},
        {"{\"least_latency\":{\"window\":4,\"min_samples\":5}}",
         "routing.least_latency.min_samples: must not exceed window (4)"},
        {"{\"retry\":[]}", "routing.retry: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = rf_router_err(cases[i].json);
        cr_expect(strstr(err, cases[i].reason) == err, "config %s\n  gave: %s\n  want: %s",
                  cases[i].json, err, cases[i].reason);
    }
}

/* ---- resolution ----------------------------------------------------------------------- */

Test(resolve, catalog_lists_every_active_provider_of_the_model)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o"}),
                     "azure-openai:gpt-4o,openai:gpt-4o");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "GPT-4O"}),
                     "azure-openai:gpt-4o,openai:gpt-4o", "the catalog's spelling is sent");
    rf_set_active("azure-openai", 0);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o"}), "openai:gpt-4o");
    gw_router_free(&r);
}

Test(resolve, provider_prefix_pins_the_provider_and_bypasses_the_strategy)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"loadbalance\",\"targets\":[{\"provider\":\"groq\","
                     "\"weight\":0}]}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "groq/llama-3.3-70b"}),
                     "groq:llama-3.3-70b", "weight 0 is the strategy's, the prefix is not");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "together/meta-llama/Llama-3"}),
                     "together:meta-llama/Llama-3", "only the first slash splits");
    gw_router_free(&r);
}

Test(resolve, prefix_of_an_inactive_provider_is_part_of_the_model_name)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r, &(struct rf_req){.model = "mistral/mistral-large"}, &out, &e), 0);
    cr_assert_eq(e.status, 404);
    cr_assert_str_eq(e.code, "model_not_found");
    cr_assert_str_eq(e.param, "model");
    cr_assert(strstr(e.message, "'mistral/mistral-large'"), "%s", e.message);
    gw_router_free(&r);
}

Test(resolve, aliases_in_every_form)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"aliases\":{"
                     "\"fast\":\"groq/llama-3.3-70b\","
                     "\"llama\":\"llama-3.3-70b\","
                     "\"both\":[\"anthropic/claude-sonnet-4-5\",\"openai/gpt-4o\"],"
                     "\"sonnet\":{\"targets\":[{\"provider\":\"anthropic\","
                     "\"model\":\"claude-sonnet-4-5\"},{\"provider\":\"bedrock\","
                     "\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\"}]}}}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "fast"}), "groq:llama-3.3-70b");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "llama"}),
                     "fireworks:llama-3.3-70b,groq:llama-3.3-70b,together:llama-3.3-70b",
                     "a bare model name goes through the catalog");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "both"}),
                     "anthropic:claude-sonnet-4-5,openai:gpt-4o");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "sonnet"}),
                     "anthropic:claude-sonnet-4-5,"
                     "bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                     "each target pins the id its provider knows");
    cr_assert_not_null(r.aliases, "the config's object stays for /v1/models");
    rf_set_active("groq", 0);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r, &(struct rf_req){.model = "fast"}, &out, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.message, "none of the targets of the alias for model 'fast' is active and "
                                "serves this endpoint");
    gw_router_free(&r);
}

Test(resolve, configured_targets_take_only_models_their_provider_serves)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"together\",\"groq\",{\"provider\":\"openai\"}]}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b"}),
                     "together:llama-3.3-70b,groq:llama-3.3-70b",
                     "config order; openai does not list the model");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "claude-sonnet-4-5"}),
                     "anthropic:claude-sonnet-4-5",
                     "no configured target serves it: the catalog decides");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "my-finetune"}),
                     "together:my-finetune,groq:my-finetune,openai:my-finetune",
                     "unknown to the catalog: every configured target gets it");
    gw_router_free(&r);
}

Test(resolve, a_pinned_target_model_is_always_sent)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"single\",\"targets\":[\"openai/gpt-4o-mini\"]}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "anything"}), "openai:gpt-4o-mini");
    gw_router_free(&r);
}

Test(resolve, the_only_active_provider_takes_unknown_models)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r, &(struct rf_req){.model = "my-model"}, &out, &e), 0);
    cr_assert_eq(e.status, 404, "several providers: no guess");
    for (size_t i = 0; i < rf_plugins.n; i++)
        rf_plugins.items[i]->active = !strcmp(rf_plugins.items[i]->desc.vkey, "groq");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "my-model"}), "groq:my-model");
    rf_set_active("groq", 0);
    cr_assert_lt(rf_route(&r, &(struct rf_req){.model = "my-model"}, &out, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.code, "no_provider");
    gw_router_free(&r);
}

Test(resolve, the_endpoint_needs_the_capability)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "text-embedding-3-small",
                                                     .op = AIGW_OP_EMBEDDINGS}),
                     "openai:text-embedding-3-small");
    cr_assert_str_eq(
        rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b", .op = AIGW_OP_EMBEDDINGS}),
        "openai:llama-3.3-70b", "its providers have no embeddings; the only one that has takes it");
    rf_set_active("openai", 0);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(
        rf_route(&r, &(struct rf_req){.model = "text-embedding-3-small", .op = AIGW_OP_EMBEDDINGS},
                 &out, &e),
        0);
    cr_assert_eq(e.status, 404);
    gw_router_free(&r);
}

/* A prefix names the provider as X-Provider does: one without the endpoint is the client's
 * mistake (400), not a paused target the client should come back to. */
Test(resolve, a_prefix_naming_a_provider_without_the_endpoint_is_a_400)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_route_result out;
    struct gw_request_err e;
    for (int i = 0; i < 2; i++) { /* the second from the router's memo, if any */
        cr_assert_lt(
            rf_route(&r, &(struct rf_req){.model = "groq/llama-3.3-70b", .op = AIGW_OP_EMBEDDINGS},
                     &out, &e),
            0);
        cr_assert_eq(e.status, 400, "%d %s: %s", e.status, e.code, e.message);
        cr_assert_str_eq(e.code, "unsupported");
        cr_assert_str_eq(e.param, "model");
        cr_assert(strstr(e.message, "'groq'"), "%s", e.message);
    }
    gw_router_free(&r);
}

Test(resolve, at_most_eight_targets_reach_the_gateway)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"openai/a\",\"openai/b\",\"openai/c\",\"openai/d\","
                     "\"openai/e\",\"openai/f\",\"openai/g\",\"openai/h\",\"openai/i\","
                     "\"openai/a\"]}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "x"}),
                     "openai:a,openai:b,openai:c,openai:d,openai:e,openai:f,openai:g,openai:h");
    gw_router_free(&r);
}

/* ---- X-Provider --------------------------------------------------------------------------- */

Test(resolve, x_provider_forces_the_provider_and_bypasses_the_strategy)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"ab-test\",\"variants\":[{\"label\":\"a\","
                     "\"targets\":[\"openai/gpt-4o\"]}],"
                     "\"aliases\":{\"sonnet\":[\"anthropic/claude-sonnet-4-5\","
                     "\"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0\"]}}");
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_eq(rf_route(&r, &(struct rf_req){.model = "gpt-4o", .x_provider = "groq"}, &out, &e),
                 0);
    cr_assert_eq(out.n, 1);
    cr_assert_eq(out.forced, 1);
    cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "groq");
    cr_assert_str_eq(out.targets[0].model, "gpt-4o");
    cr_assert_str_eq(out.label, "", "no variant was drawn");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "sonnet", .x_provider = "bedrock"}),
                     "bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                     "the alias's model for that provider");
    cr_assert_str_eq(
        rf_targets(&r, &(struct rf_req){.model = "groq/llama-3.3-70b", .x_provider = "groq"}),
        "groq:llama-3.3-70b", "its own prefix is removed");
    gw_router_free(&r);
}

Test(resolve, x_provider_unknown_or_inactive_is_a_400_listing_the_active_ones)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_route_result out;
    struct gw_request_err e;
    static const char *const bad[] = {"nope", "mistral"};
    for (int i = 0; i < 2; i++) {
        cr_assert_lt(
            rf_route(&r, &(struct rf_req){.model = "gpt-4o", .x_provider = bad[i]}, &out, &e), 0);
        cr_assert_eq(e.status, 400);
        cr_assert_str_eq(e.code, "unknown_provider");
        cr_assert_str_eq(e.param, "X-Provider");
        char want[256];
        snprintf(want, sizeof want,
                 "X-Provider '%s' is not an active provider; active providers: openai, "
                 "azure-openai, anthropic, bedrock, groq, together, fireworks",
                 bad[i]);
        cr_assert_str_eq(e.message, want);
    }
    cr_assert_lt(
        rf_route(&r, &(struct rf_req){.model = "x", .x_provider = "groq", .op = AIGW_OP_EMBEDDINGS},
                 &out, &e),
        0);
    cr_assert_eq(e.status, 400);
    cr_assert_str_eq(e.code, "unsupported");
    gw_router_free(&r);
}
