/* The xai plugin through the real loader, exchange and renderer (fixtures: xai/). */
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

    /* Only grok-3-mini takes reasoning_effort; older models keep the penalties and stop. */
    c = oc_begin_file("xai", AIGW_OP_CHAT, "xai/request_grok3_mini.json");
    b = ph_body_json(c);
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "high");
    cr_assert_float_eq(oc_num(b, "presence_penalty"), 0.5, 1e-9);
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "stop")), 1);
    ph_free(c);

    c = oc_begin_file("xai", AIGW_OP_CHAT, "xai/request_grok4_fast.json");
    b = ph_body_json(c);
    oc_absent(b, "reasoning_effort");
    cr_assert_float_eq(oc_num(b, "frequency_penalty"), 0.5, 1e-9);
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
