/* The xai plugin through the real loader, exchange and renderer (fixtures: xai/). */
#include <stdio.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/v1/chat/completions"

OC_SUITE(xai, "XAI", "http://mock.invalid/v1");

/* The same knobs sent to three models: what each one refuses is dropped. */
Test(xai, request_per_model)
{
    struct ph_call *c = oc_begin_file("xai", AIGW_OP_CHAT, "xai/request_grok4.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "grok-4");
    oc_absent_all(b, "presence_penalty frequency_penalty stop reasoning_effort store "
                     "service_tier prompt_cache_key verbosity");
    cr_assert_eq(oc_num(b, "max_completion_tokens"), 99);
    cr_assert(cJSON_IsTrue(oc_get(oc_get(b, "stream_options"), "include_usage")));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(b, "messages"), 0), "role"), "system");
    ph_free(c);

    /* grok-3-mini takes reasoning_effort, but it is a reasoning model too: xAI answers the
     * penalties and stop with 400 on every reasoning model (docs.x.ai, guides/reasoning). */
    c = oc_begin_file("xai", AIGW_OP_CHAT, "xai/request_grok3_mini.json");
    b = ph_body_json(c);
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "high");
    oc_absent_all(b, "presence_penalty frequency_penalty stop");
    ph_free(c);

    c = oc_begin_file("xai", AIGW_OP_CHAT, "xai/request_grok4_fast.json");
    b = ph_body_json(c);
    oc_absent(b, "reasoning_effort");
    cr_assert_float_eq(oc_num(b, "frequency_penalty"), 0.5, 1e-9);
    ph_free(c);
}

/* The knobs each model family refuses or reads differently. */
static cJSON *xai_body(struct ph_call **c, const char *model, const char *effort)
{
    char req[512];
    snprintf(req, sizeof req,
             "{\"model\":\"%s\",\"reasoning_effort\":\"%s\",\"presence_penalty\":0.5,"
             "\"frequency_penalty\":0.5,\"stop\":[\"END\"],"
             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
             model, effort);
    *c = ph_begin("xai", AIGW_OP_CHAT, req);
    return ph_body_json(*c);
}

Test(xai, reasoning_models_and_effort)
{
    struct ph_call *c;
    cJSON *b;

    /* grok-code-fast-1 reasons: no penalties, no stop, no effort. */
    b = xai_body(&c, "grok-code-fast-1", "high");
    oc_absent_all(b, "presence_penalty frequency_penalty stop reasoning_effort");
    ph_free(c);
    /* grok-3-mini knows low and high only. */
    b = xai_body(&c, "grok-3-mini", "medium");
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "low");
    ph_free(c);
    b = xai_body(&c, "grok-3-mini-fast", "xhigh");
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "high");
    ph_free(c);
    /* grok-4.3 takes none|low|medium|high. */
    b = xai_body(&c, "grok-4.3", "medium");
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "medium");
    oc_absent_all(b, "presence_penalty frequency_penalty stop");
    ph_free(c);
    b = xai_body(&c, "grok-4.3", "minimal");
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "low");
    ph_free(c);
    /* A non-reasoning model keeps its sampling knobs. */
    b = xai_body(&c, "grok-4-1-fast-non-reasoning", "high");
    cr_assert_float_eq(oc_num(b, "presence_penalty"), 0.5, 1e-9);
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "stop")), 1);
    oc_absent(b, "reasoning_effort");
    ph_free(c);
}

/* Reasoning counted back into completion_tokens (expect.json), kept in the details too. */
Test(xai, reasoning_usage_details)
{
    struct ph_call *c = oc_begin_chat("xai", "grok-3-mini", 0);
    const cJSON *u = oc_get(oc_chat(c, "xai/chat_reasoning_tools.json", NULL), "usage");
    cr_assert_eq(oc_num(oc_get(u, "completion_tokens_details"), "reasoning_tokens"), 150);
    cr_assert_eq(oc_num(oc_get(u, "prompt_tokens_details"), "cached_tokens"), 256);
    ph_free(c);
}

Test(xai, wrong_key_code)
{
    struct ph_call *c = oc_begin_chat("xai", "grok-3", 0);
    ph_respond_file(c, 400, OC_JSON, "xai/error_400_key.json", 0);
    cr_assert_str_eq(ph_error(c)->code, "invalid_api_key");
    ph_free(c);
}

OC_EXPECTATION_TESTS(xai, "xai")
