/* The ai21 plugin through the real loader, exchange and renderer (fixtures: ai21/). */
#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/studio/v1/chat/completions"

OC_SUITE(ai21, "AI21", "http://mock.invalid/studio/v1");

/* AI21 rejects unknown fields FastAPI-style (422), and content must be a string. */
Test(ai21, request_whitelisted)
{
    struct ph_call *c = oc_begin_file("ai21", AIGW_OP_CHAT, "ai21/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "jamba-large");
    const cJSON *msgs = oc_get(b, "messages");

    oc_absent_all(b, "stream_options max_completion_tokens frequency_penalty presence_penalty "
                     "logprobs top_logprobs logit_bias parallel_tool_calls service_tier");
    cr_assert_eq(oc_num(b, "max_tokens"), 128);
    cr_assert_eq(oc_num(b, "n"), 2);
    cr_assert_str_eq(oc_str(b, "stop"), "##");
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "documents")), 1);
    cr_assert_str_eq(oc_str(oc_get(b, "response_format"), "type"), "json_object");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "content"), "Warranty?\nBriefly.");
    oc_absent(cJSON_GetArrayItem(msgs, 1), "name");
    oc_absent(cJSON_GetArrayItem(msgs, 2), "refusal");
    ph_free(c);
}

/* AI21 sends no object / created / model: the client still gets a whole OpenAI document. */
Test(ai21, identity_filled_in)
{
    struct ph_call *c = oc_begin_chat("ai21", "jamba-large", 0);
    const cJSON *o = oc_chat(c, "ai21/chat.json", NULL), *ev;
    cr_assert_str_eq(oc_str(o, "id"), "chat-4f1a2b3c4d5e6f708192a3b4c5d6e7f8");
    cr_assert_str_eq(oc_str(o, "model"), "jamba-large");
    cr_assert_gt(oc_num(o, "created"), 1600000000);
    ph_free(c);

    c = oc_stream("ai21", "jamba-large", 0, "ai21/stream_text.sse");
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        cr_assert_str_eq(oc_str(ev, "object"), "chat.completion.chunk");
        cr_assert_str_eq(oc_str(ev, "model"), "jamba-large");
        cr_assert_str_eq(oc_str(ev, "id"), "chat-1b2c3d4e5f60718293a4b5c6d7e8f901");
    }
    ph_free(c);
}

OC_EXPECTATION_TESTS(ai21, "ai21")
