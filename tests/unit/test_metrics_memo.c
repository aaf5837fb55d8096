/*
 * Unit tests for the metrics hooks of a target (*_memo, metrics.h): they count exactly as the
 * plain hooks do, keep only label values that are for good ("other" past a cap is looked up
 * again), never mix two pairs, and never use a value of a metrics state that was replaced.
 */
#include <criterion/criterion.h>

#include <stdlib.h>

#include "catalog/catalog.h"
#include "lib/memo.h"
#include "obs/metrics.h"
#include "unit/metrics_text.h"
#include "usage.h"

static struct gw_catalog *cat;

static void init(void)
{
    static const char text[] =
        "{\"format\":\"aigw-catalog\",\"version\":1,\"models\":["
        "{\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-5\",\"in\":3,\"out\":15},"
        "{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"in\":2.5,\"out\":10}]}";
    char err[256] = "";
    cr_assert_eq(gw_catalog_parse(text, sizeof text - 1, "test.json", &cat, err, sizeof err), 0,
                 "%s", err);
}

static void fini(void)
{
    gw_metrics_free();
    gw_catalog_free(cat);
}

TestSuite(metrics_memo, .init = init, .fini = fini);

/* Every hook of a target once, for (provider, model), through memo (NULL: the plain hooks). */
static void one_request(struct gw_memo *memo, const char *provider, const char *model)
{
    struct aigw_usage u = USAGE(10, 4, -1, -1, -1);
    if (!memo) {
        gw_metrics_attempt(provider, "ok", 0, 0);
        gw_metrics_retry(provider, "429", 0);
        gw_metrics_ttft(provider, model, 1000);
        gw_metrics_tpot(provider, model, 1000, 4000, 4);
        gw_metrics_usage(provider, model, &u, 0.5);
        gw_metrics_request("/v1/chat/completions", provider, model, 200, 0, 10, 5);
        return;
    }
    gw_metrics_attempt_memo(memo, provider, "ok", 0, 0);
    gw_metrics_retry_memo(memo, provider, "429", 0);
    gw_metrics_ttft_memo(memo, provider, model, 1000);
    gw_metrics_tpot_memo(memo, provider, model, 1000, 4000, 4);
    gw_metrics_usage_memo(memo, provider, model, &u, 0.5);
    gw_metrics_request_memo("/v1/chat/completions", memo, provider, model, 200, 0, 10, 5);
}

Test(metrics_memo, a_target_counts_as_the_plain_hooks_count)
{
    cr_assert_eq(gw_metrics_init(cat, 10), 0);
    char *plain, *memoed;
    one_request(NULL, "openai", "gpt-4o");
    one_request(NULL, "openai", "gpt-4o");
    plain = mt_render(NULL);
    gw_metrics_free();

    cr_assert_eq(gw_metrics_init(cat, 10), 0);
    struct gw_memo memo = {0};
    one_request(&memo, "openai", "gpt-4o");
    cr_assert_not_null(atomic_load(&memo.v[0]), "the provider's label is kept");
    cr_assert_not_null(atomic_load(&memo.v[1]), "the model's label is kept");
    one_request(&memo, "openai", "gpt-4o");
    memoed = mt_render(NULL);
    cr_assert_str_eq(memoed, plain);
    cr_assert_eq(mt_count_lines(memoed, "aigw_requests_total{route=\"/v1/chat/completions\","
                                        "provider=\"openai\",model=\"gpt-4o\",status=\"200\"} 2"),
                 1);
    free(plain);
    free(memoed);
}

/* Two pairs, interleaved, each with its memo: the text of the plain hooks. */
static char *two_pairs(int memoed)
{
    cr_assert_eq(gw_metrics_init(cat, 10), 0);
    struct gw_memo a = {0}, b = {0};
    for (int i = 0; i < 3; i++) {
        one_request(memoed ? &a : NULL, "openai", "gpt-4o");
        one_request(memoed ? &b : NULL, "anthropic", "claude-sonnet-4-5");
    }
    one_request(memoed ? &b : NULL, "anthropic", "claude-sonnet-4-5");
    char *t = mt_render(NULL);
    gw_metrics_free();
    return t;
}

Test(metrics_memo, two_pairs_never_share_values)
{
    char *plain = two_pairs(0), *t = two_pairs(1);
    cr_assert_str_eq(t, plain);
    mt_expect(t, "aigw_requests_total",
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"gpt-4o\",status=\"200\"} 3\n"
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"anthropic\","
              "model=\"claude-sonnet-4-5\",status=\"200\"} 4\n");
    mt_expect(t, "aigw_tokens_total",
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"prompt\"} 30\n"
              "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o\",kind=\"completion\"} 12\n"
              "aigw_tokens_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\","
              "kind=\"prompt\"} 40\n"
              "aigw_tokens_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\","
              "kind=\"completion\"} 16\n");
    free(plain);
    free(t);
}

Test(metrics_memo, other_past_the_cap_is_looked_up_again)
{
    cr_assert_eq(gw_metrics_init(cat, 0), 0); /* no room for models neither side knows */
    struct gw_memo memo = {0};
    one_request(&memo, "openai", "team-model");
    cr_assert_null(atomic_load(&memo.v[1]), "\"other\" is not for good");
    /* A reload's config names the model: from now on it has its own label. */
    cr_assert_eq(gw_metrics_allow_model("team-model"), 0);
    one_request(&memo, "openai", "team-model");
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_requests_total",
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"other\",status=\"200\"} 1\n"
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"team-model\",status=\"200\"} 1\n");
    mt_expect(t, "aigw_tokens_total",
              "aigw_tokens_total{provider=\"openai\",model=\"other\",kind=\"prompt\"} 10\n"
              "aigw_tokens_total{provider=\"openai\",model=\"other\",kind=\"completion\"} 4\n"
              "aigw_tokens_total{provider=\"openai\",model=\"team-model\",kind=\"prompt\"} 10\n"
              "aigw_tokens_total{provider=\"openai\",model=\"team-model\","
              "kind=\"completion\"} 4\n");
    free(t);
}

Test(metrics_memo, a_replaced_state_s_values_are_not_used)
{
    cr_assert_eq(gw_metrics_init(cat, 10), 0);
    struct gw_memo memo = {0};
    one_request(&memo, "openai", "gpt-4o");
    gw_metrics_free(); /* its labels are freed: a use of them is a use after free (ASan) */
    cr_assert_eq(gw_metrics_init(cat, 10), 0);
    one_request(&memo, "openai", "gpt-4o");
    char *t = mt_render(NULL);
    mt_expect(t, "aigw_requests_total",
              "aigw_requests_total{route=\"/v1/chat/completions\",provider=\"openai\","
              "model=\"gpt-4o\",status=\"200\"} 1\n");
    free(t);
}
