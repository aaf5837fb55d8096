/* route: the router's memo of each model's candidates (route_memo.c) answers exactly what
 * the long way answers: per model, op and drawn list, never another's; a reloaded router
 * answers from its own config; a request's own string is never kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"
#include "route/route_int.h"
#include "route_fixture.h"

TestSuite(memo, .init = rf_setup, .fini = rf_teardown);

/* A router built as a reload builds it: over prev, sharing its health table. */
static void reload_router(struct gw_router *r, const char *json, const struct gw_router *prev,
                          cJSON **keep)
{
    char err[512] = "";
    *keep = json ? cJSON_Parse(json) : NULL;
    int rc = gw_router_init_keep(r, *keep, &rf_plugins, rf_catalog, prev, err, sizeof err);
    cr_assert_eq(rc, 0, "config rejected: %s", err);
    r->clock_ms = prev->clock_ms;
}

Test(memo, two_models_or_two_ops_never_share_an_entry)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    for (int round = 0; round < 3; round++) {
        cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o"}),
                         "azure-openai:gpt-4o,openai:gpt-4o", "round %d", round);
        cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "gpt-4o-mini"}),
                         "openai:gpt-4o-mini", "round %d", round);
        cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "GPT-4O"}),
                         "azure-openai:gpt-4o,openai:gpt-4o", "round %d", round);
        cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b"}),
                         "fireworks:llama-3.3-70b,groq:llama-3.3-70b,together:llama-3.3-70b",
                         "round %d", round);
        cr_assert_str_eq(
            rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b", .op = AIGW_OP_EMBEDDINGS}),
            "openai:llama-3.3-70b", "round %d: the chat answer is not the embeddings one", round);
        cr_assert_str_eq(
            rf_targets(&r, &(struct rf_req){.model = "gpt-4o-mini", .op = AIGW_OP_EMBEDDINGS}),
            "openai:gpt-4o-mini", "round %d", round);
    }
    /* Four chat models (two spellings of gpt-4o), one embeddings pair the catalog knows;
     * openai:llama-3.3-70b is a guess and is not kept. */
    cr_assert_eq(gw_route_memo_count(r.memo), 5);
    gw_router_free(&r);
}

Test(memo, a_reloaded_router_answers_from_its_own_config)
{
    struct gw_router r1, r2, r3;
    rf_router_ok(&r1, "{\"aliases\":{\"fast\":\"groq/llama-3.3-70b\"}}");
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(rf_targets(&r1, &(struct rf_req){.model = "fast"}), "groq:llama-3.3-70b");
        cr_assert_str_eq(rf_targets(&r1, &(struct rf_req){.model = "llama-3.3-70b"}),
                         "fireworks:llama-3.3-70b,groq:llama-3.3-70b,together:llama-3.3-70b");
    }
    cr_assert_eq(gw_route_memo_count(r1.memo), 2);
    cJSON *c2, *c3;
    reload_router(&r2, "{\"aliases\":{\"fast\":\"together/llama-3.3-70b\"},\"targets\":[\"groq\"]}",
                  &r1, &c2);
    cr_assert_eq(gw_route_memo_count(r2.memo), 0, "a reloaded router starts with no memo");
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq(rf_targets(&r2, &(struct rf_req){.model = "fast"}),
                         "together:llama-3.3-70b", "the new alias");
        cr_assert_str_eq(rf_targets(&r2, &(struct rf_req){.model = "llama-3.3-70b"}),
                         "groq:llama-3.3-70b", "the new targets");
        cr_assert_str_eq(rf_targets(&r1, &(struct rf_req){.model = "fast"}), "groq:llama-3.3-70b",
                         "requests still on the old router get its answer");
    }
    /* The health table is shared across the reload: a breaker opened on the old router's
     * slot keeps the new router's memoized target out too. */
    rf_report(&r1, "groq", "llama-3.3-70b", GW_ROUTE_ETRANSPORT, 5, 0);
    struct gw_route_result out;
    struct gw_request_err e;
    cr_assert_lt(rf_route(&r2, &(struct rf_req){.model = "llama-3.3-70b"}, &out, &e), 0);
    cr_assert_str_eq(e.code, "circuit_open");
    /* A reload back to no routing at all: the catalog decides again, at once. */
    reload_router(&r3, NULL, &r2, &c3);
    cr_assert_str_eq(rf_targets(&r3, &(struct rf_req){.model = "llama-3.3-70b"}),
                     "fireworks:llama-3.3-70b,together:llama-3.3-70b", "groq's breaker is open");
    cr_assert_lt(rf_route(&r3, &(struct rf_req){.model = "fast"}, &out, &e), 0,
                 "the alias is gone with the config that had it");
    cr_assert_str_eq(e.code, "model_not_found");
    gw_router_free(&r3);
    gw_router_free(&r2);
    gw_router_free(&r1);
    cJSON_Delete(c2);
    cJSON_Delete(c3);
}

Test(memo, only_pairs_config_or_catalog_know_are_kept_and_it_is_bounded)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"targets\":[\"groq\"]}");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "made-up-1"}), "groq:made-up-1");
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "made-up-2"}), "groq:made-up-2");
    cr_assert_eq(gw_route_memo_count(r.memo), 0, "a client's invented names are never kept");
    gw_router_free(&r);

    /* 300 aliases, each its own model name: more than the memo keeps. */
    char json[300 * 48 + 64];
    size_t len = (size_t)snprintf(json, sizeof json, "{\"aliases\":{");
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(json + len, sizeof json - len, "%s\"a%d\":\"%s/llama-3.3-70b\"",
                                i ? "," : "", i, i % 2 ? "groq" : "together");
    snprintf(json + len, sizeof json - len, "}}");
    rf_router_ok(&r, json);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 300; i++) {
            char name[16];
            snprintf(name, sizeof name, "a%d", i);
            cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = name}),
                             i % 2 ? "groq:llama-3.3-70b" : "together:llama-3.3-70b",
                             "round %d, %s", round, name);
        }
    cr_assert_eq(gw_route_memo_count(r.memo), 256, "full at its cap, and no further");
    gw_router_free(&r);
}

Test(memo, a_request_string_is_copied_not_kept)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_route_result out;
    struct gw_request_err e;
    for (int i = 0; i < 2; i++) {
        /* "vkey/model": the target's model is a piece of the request's string, which goes
         * with the request; the memo's answer must point at its own copy. */
        char *model = strdup(i ? "openai/gpt-4o-mini" : "openai/gpt-4o");
        cr_assert_eq(rf_route(&r, &(struct rf_req){.model = model}, &out, &e), 0);
        free(model);
        model = strdup(i ? "openai/gpt-4o-mini" : "openai/gpt-4o");
        cr_assert_eq(rf_route(&r, &(struct rf_req){.model = model}, &out, &e), 0);
        free(model);
        cr_assert_eq(out.n, 1);
        cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "openai");
        cr_assert_str_eq(out.targets[0].model, i ? "gpt-4o-mini" : "gpt-4o",
                         "read after the request's string is freed (ASan watches)");
    }
    cr_assert_eq(gw_route_memo_count(r.memo), 2);
    gw_router_free(&r);
}

Test(memo, rules_key_it_by_the_list_they_drew)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"strategy\":\"conditional\",\"rules\":["
                     "{\"name\":\"premium\",\"when\":{\"header\":{\"name\":\"X-Tier\","
                     "\"value\":\"premium\"}},\"targets\":[{\"provider\":\"groq\","
                     "\"label\":\"fast-lane\"},\"together\"]}],"
                     "\"targets\":[{\"provider\":\"fireworks\",\"label\":\"pool\"}]}");
    for (int i = 0; i < 3; i++) {
        struct gw_route_result out;
        struct gw_request_err e;
        cr_assert_eq(
            rf_route(&r, &(struct rf_req){.model = "llama-3.3-70b", .headers = "X-Tier: premium"},
                     &out, &e),
            0);
        cr_assert_eq(out.n, 2);
        cr_assert_str_eq(out.label, "premium");
        cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "groq");
        cr_assert_str_eq(out.targets[0].label, "fast-lane");
        cr_assert_eq(rf_route(&r, &(struct rf_req){.model = "llama-3.3-70b"}, &out, &e), 0);
        cr_assert_eq(out.n, 1, "no rule: the configured targets");
        cr_assert_str_eq(out.targets[0].plugin->desc.vkey, "fireworks");
        cr_assert_str_eq(out.label, "pool");
    }
    cr_assert_eq(gw_route_memo_count(r.memo), 2);
    gw_router_free(&r);
}

Test(memo, a_provider_gone_inactive_is_left_out_at_once)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b"}),
                     "fireworks:llama-3.3-70b,groq:llama-3.3-70b,together:llama-3.3-70b");
    rf_set_active("groq", 0);
    cr_assert_str_eq(rf_targets(&r, &(struct rf_req){.model = "llama-3.3-70b"}),
                     "fireworks:llama-3.3-70b,together:llama-3.3-70b");
    gw_router_free(&r);
}

/* The metrics keep a pair's label values in its health slot (gw_target_memo): a target must
 * only ever get its own pair's slot, whichever way it was found, memo or not. */
Test(memo, a_target_memo_is_its_own_pair_s_only)
{
    struct gw_router r;
    rf_router_ok(&r, "{\"aliases\":{\"fast\":\"groq/llama-3.3-70b\",\"llama\":\"llama-3.3-70b\"},"
                     "\"targets\":[\"together\",{\"provider\":\"openai\",\"model\":\"gpt-4o\"}]}");
    const struct rf_req reqs[] = {
        {.model = "fast"},
        {.model = "llama"},
        {.model = "gpt-4o-mini"},
        {.model = "GPT-4O"},
        {.model = "openai/gpt-4o"},
        {.model = "invented"},
        {.model = "gpt-4o", .x_provider = "anthropic"},
        {.model = "claude-sonnet-4-5", .x_provider = "anthropic"},
    };
    int with = 0, without = 0;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
            struct gw_route_result out;
            struct gw_request_err e;
            cr_assert_eq(rf_route(&r, &reqs[i], &out, &e), 0, "%s: %s", reqs[i].model, e.message);
            for (int k = 0; k < out.n; k++) {
                const struct gw_target *t = &out.targets[k];
                if (!gw_target_memo(t)) {
                    without++;
                    continue;
                }
                with++;
                cr_assert_eq(t->stat->plugin, t->plugin, "%s", reqs[i].model);
                cr_assert_str_eq(t->stat->model, t->model, "%s", reqs[i].model);
            }
        }
    cr_assert_gt(with, 0);
    cr_assert_gt(without, 0, "an invented model shares its provider's slot: no memo");
    gw_router_free(&r);
}

/* A pair's catalog entry (prices for cost, key limits and the cost strategy) is found once per
 * pair and catalog, and is gw_catalog_find's answer whichever slot and catalog it is asked
 * with. */
Test(memo, a_pair_s_catalog_entry_is_the_catalog_s_answer)
{
    struct gw_router r;
    rf_router_ok(&r, NULL);
    struct gw_plugin *openai = rf_plugin("openai"), *groq = rf_plugin("groq");
    struct gw_tstat *mini = gw_tstats_get(r.stats, openai, "gpt-4o-mini", 1);
    struct gw_tstat *own = gw_tstats_get(r.stats, openai, "", 0);
    const struct gw_model *want = gw_catalog_find(rf_catalog, "openai", "gpt-4o-mini");
    cr_assert_not_null(want);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(gw_pair_entry(mini, openai, "gpt-4o-mini", rf_catalog), want);
        /* The provider's own slot stands in for many models: never kept there. */
        cr_assert_eq(gw_pair_entry(own, openai, "gpt-4o-mini", rf_catalog), want);
        cr_assert_eq(gw_pair_entry(own, openai, "gpt-4o", rf_catalog),
                     gw_catalog_find(rf_catalog, "openai", "gpt-4o"));
        cr_assert_null(gw_pair_entry(own, openai, "made-up", rf_catalog));
    }
    struct gw_tstat *none = gw_tstats_get(r.stats, groq, "gpt-4o-mini", 1);
    cr_assert_null(gw_pair_entry(none, groq, "gpt-4o-mini", rf_catalog));
    cr_assert_null(gw_pair_entry(none, groq, "gpt-4o-mini", rf_catalog), "kept as none");

    /* Another catalog (a new process's, a test's): its own entry, never the freed one's. */
    static const char other[] = "{\"format\":\"aigw-catalog\",\"version\":1,\"models\":["
                                "{\"provider\":\"groq\",\"model\":\"gpt-4o-mini\",\"in\":1,"
                                "\"out\":2},"
                                "{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\",\"in\":7,"
                                "\"out\":8}]}";
    struct gw_catalog *cat2;
    char err[256];
    cr_assert_eq(gw_catalog_parse(other, sizeof other - 1, "other", &cat2, err, sizeof err), 0,
                 "%s", err);
    gw_catalog_free(rf_catalog);
    rf_catalog = cat2; /* the fixture frees it */
    const struct gw_model *m = gw_pair_entry(mini, openai, "gpt-4o-mini", cat2);
    cr_assert_not_null(m);
    cr_assert_float_eq(m->price.in, 7, 1e-9);
    m = gw_pair_entry(none, groq, "gpt-4o-mini", cat2);
    cr_assert_not_null(m, "none in the old catalog is not none in this one");
    cr_assert_float_eq(m->price.in, 1, 1e-9);
    r.catalog = cat2;
    gw_router_free(&r);
}
