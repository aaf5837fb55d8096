/*
 * Routing end to end, strategies: each one through the real binary (the order it picks,
 * that failover follows it, the label it logs), aliases pinning per-provider model ids, and
 * every example config in etc/routing passing --check-config.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/test_routing.h"

static const char *provider_of(struct e2e_gw *gw, const char *json, const char *headers)
{
    struct e2e_resp *r = rt_post(gw, json, headers);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *p = e2e_strf("%s", e2e_resp_header(r, "X-Gateway-Provider"));
    e2e_resp_free(r);
    return p;
}

static const char *upstream_model(struct mock *m, int i)
{
    const struct mock_req *q = mock_request(m, i);
    cr_assert_not_null(q);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(mock_req_json(q), "model");
    const char *s = e2e_strf("%s", cJSON_IsString(model) ? model->valuestring : "");
    mock_req_free(q);
    return s;
}

Test(strategy, single_never_leaves_its_target)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"single\",\"targets\":"
                                 "[\"openai\",\"groq\"],\"retry\":{\"max_attempts\":2,"
                                 "\"backoff_ms\":5,\"backoff_max_ms\":10}}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 500);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:500,openai:500\"");
    cr_assert_eq(rt_hits(m, "groq"), 0);
    rt_stop(gw, m);
}

Test(strategy, loadbalance_spreads_by_weight_and_weight_zero_drains)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    rt_ok(m, "groq");
    rt_ok(m, "xai");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"loadbalance\",\"targets\":["
                                 "{\"provider\":\"openai\",\"weight\":1},"
                                 "{\"provider\":\"groq\",\"weight\":0},"
                                 "{\"provider\":\"xai\",\"weight\":1}]}}");
    for (int i = 0; i < 24; i++)
        provider_of(gw, RT_CHAT, NULL);
    cr_assert_eq(rt_hits(m, "groq"), 0, "drained");
    cr_assert_gt(rt_hits(m, "openai"), 0);
    cr_assert_gt(rt_hits(m, "xai"), 0);
    cr_assert_eq(rt_hits(m, "openai") + rt_hits(m, "xai"), 24);
    rt_stop(gw, m);
}

Test(strategy, least_latency_measures_each_target_then_keeps_the_fastest)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", "\"headers_delay_ms\":300,\"body_file\":\"mock/chat.json\"");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"least-latency\","
                                 "\"targets\":[\"openai\",\"groq\"],\"least_latency\":"
                                 "{\"explore_ratio\":0,\"min_samples\":1}}}");
    cr_assert_str_eq(provider_of(gw, RT_CHAT, NULL), "openai", "both cold: config order");
    cr_assert_str_eq(provider_of(gw, RT_CHAT, NULL), "groq", "groq is still cold");
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(provider_of(gw, RT_CHAT, NULL), "groq");
    rt_stop(gw, m);
}

Test(strategy, cost_optimized_goes_cheapest_first_and_falls_over_by_price)
{
    struct mock *m = rt_mock();
    rt_add(m, "groq", RT_500);
    rt_ok(m, "openai");
    rt_ok(m, "xai");
    struct e2e_gw *gw =
        rt_gw(m, "{\"catalog\":{\"overrides\":["
                 "{\"provider\":\"openai\",\"model\":\"m1\",\"mode\":\"chat\",\"in\":5,\"out\":10},"
                 "{\"provider\":\"groq\",\"model\":\"m1\",\"mode\":\"chat\",\"in\":1,\"out\":1}]},"
                 "\"routing\":{\"strategy\":\"cost-optimized\",\"targets\":[\"xai\",\"openai\","
                 "\"groq\"]}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"groq:500,openai:ok\"");
    rt_stop(gw, m);
}

Test(strategy, conditional_rules_route_by_header_metadata_and_model)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    rt_ok(m, "groq");
    rt_ok(m, "xai");
    struct e2e_gw *gw = rt_gw(
        m, "{\"routing\":{\"strategy\":\"conditional\",\"targets\":[\"groq\"],\"rules\":["
           "{\"name\":\"premium\",\"when\":{\"header\":{\"name\":\"X-Tier\",\"value\":"
           "\"premium\"}},\"targets\":[\"xai/grok-premium\"]},"
           "{\"name\":\"batch\",\"when\":{\"metadata\":{\"key\":\"priority\",\"value\":\"low\"}},"
           "\"targets\":[\"openai\"]}]}}");
    cr_assert_str_eq(provider_of(gw, RT_CHAT, "X-Tier: premium"), "xai");
    cr_assert_str_eq(upstream_model(m, -1), "grok-premium");
    rt_log_has(gw, "\"route_label\":\"premium\"");
    cr_assert_str_eq(provider_of(gw,
                                 "{\"model\":\"m1\",\"metadata\":{\"priority\":\"low\"},"
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                 NULL),
                     "openai");
    cr_assert_str_eq(upstream_model(m, -1), "m1");
    cr_assert_str_eq(provider_of(gw, RT_CHAT, "X-Tier: free"), "groq", "no rule matched");
    rt_stop(gw, m);
}

Test(strategy, content_based_rules_read_the_user_text)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    rt_ok(m, "groq");
    rt_ok(m, "xai");
    struct e2e_gw *gw =
        rt_gw(m, "{\"routing\":{\"strategy\":\"content-based\",\"targets\":[\"groq\"],\"rules\":["
                 "{\"name\":\"code\",\"when\":{\"contains\":\"segfault\"},\"targets\":[\"xai\"]},"
                 "{\"name\":\"ticket\",\"when\":{\"regex\":\"^TICKET-[0-9]+$\"},"
                 "\"targets\":[\"openai\"]}]}}");
    cr_assert_str_eq(provider_of(gw,
                                 "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\","
                                 "\"content\":\"why does this SEGFAULT?\"}]}",
                                 NULL),
                     "xai");
    cr_assert_str_eq(provider_of(gw,
                                 "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\","
                                 "\"content\":\"see below\\nticket-1234\"}]}",
                                 NULL),
                     "openai");
    cr_assert_str_eq(provider_of(gw, RT_CHAT, NULL), "groq");
    rt_log_has(gw, "\"route_label\":\"code\"");
    rt_log_has(gw, "\"route_label\":\"ticket\"");
    rt_stop(gw, m);
}

Test(strategy, ab_test_splits_by_variant_and_logs_the_label)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"ab-test\",\"variants\":["
                                 "{\"label\":\"control\",\"weight\":1,\"targets\":[\"openai\"]},"
                                 "{\"label\":\"candidate\",\"weight\":1,\"targets\":"
                                 "[\"groq/m2\"]}]}}");
    for (int i = 0; i < 30; i++)
        provider_of(gw, RT_CHAT, NULL);
    cr_assert_gt(rt_hits(m, "openai"), 0);
    cr_assert_gt(rt_hits(m, "groq"), 0);
    rt_log_has(gw, "\"provider\":\"openai\",\"model\":\"m1\",\"stream\":false,\"attempts\":1,"
                   "\"tried\":\"openai:ok\",\"route_label\":\"control\"");
    rt_log_has(gw, "\"provider\":\"groq\",\"model\":\"m2\",\"stream\":false,\"attempts\":1,"
                   "\"tried\":\"groq:ok\",\"route_label\":\"candidate\"");
    rt_stop(gw, m);
}

Test(strategy, an_alias_sends_each_provider_its_own_model_id)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"aliases\":{\"smart\":{\"targets\":["
                                 "{\"provider\":\"openai\",\"model\":\"gpt-big\"},"
                                 "{\"provider\":\"groq\",\"model\":\"llama-big\"}]}}}}");
    struct e2e_resp *r = rt_post(
        gw, "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Model"), "llama-big");
    e2e_resp_free(r);
    cr_assert_str_eq(upstream_model(m, 0), "gpt-big");
    cr_assert_str_eq(upstream_model(m, 1), "llama-big");
    r = rt_post(gw, "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                "X-Provider: groq");
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    cr_assert_str_eq(upstream_model(m, 2), "llama-big", "X-Provider keeps the alias's id");
    rt_stop(gw, m);
}

/* ---- configs ------------------------------------------------------------------------------ */

static int check_config(const char *path, char **out)
{
    const char *env[] = {NULL};
    const char *args[] = {"--check-config", "--config", path, NULL};
    return e2e_aigw_run(NULL, env, args, out, 15000);
}

Test(config, every_example_in_etc_routing_is_valid)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src);
    const char *dir = e2e_strf("%s/etc/routing", src);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        char *out = NULL;
        int rc = check_config(e2e_strf("%s/%s", dir, e->d_name), &out);
        cr_expect_eq(rc, 0, "%s: %s", e->d_name, out ? out : "");
        free(out);
        n++;
    }
    closedir(d);
    cr_assert_eq(n, 8, "one example per strategy");
}

Test(config, a_bad_regex_stops_aigw_at_startup)
{
    char *out = NULL;
    const char *env[] = {NULL};
    const char *args[] = {"--check-config", NULL};
    int rc = e2e_aigw_run("{\"routing\":{\"strategy\":\"content-based\",\"rules\":[{\"when\":"
                          "{\"regex\":\"([a-z\"},\"targets\":[\"openai/x\"]}]}}",
                          env, args, &out, 15000);
    cr_assert_eq(rc, 2, "%s", out ? out : "");
    /* The message names the file, the key and the reason. */
    cr_assert(out && strstr(out, "aigw: config error: /") && strstr(out, "aigw.json: "
                                 "routing.rules[0].when.regex: '([a-z' is "
                                 "not a valid POSIX extended regular expression"),
              "%s", out ? out : "");
    free(out);
}
