/* The deepseek plugin through the real loader, exchange and renderer (fixtures: deepseek/). */
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/chat/completions"

OC_SUITE(deepseek, "DEEPSEEK", "http://mock.invalid");

/* The history in both requests comes from a tool loop: a plain assistant turn and a
 * tool-calling one, both with the reasoning the client echoed back. */
Test(deepseek, request)
{
    struct ph_call *c = oc_begin_file("deepseek", AIGW_OP_CHAT, "deepseek/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "deepseek-chat");

    cr_assert_eq(oc_num(b, "max_tokens"), 512);
    oc_absent_all(b, "max_completion_tokens n logit_bias");
    cr_assert(cJSON_IsTrue(oc_get(b, "logprobs")));
    cr_assert_eq(oc_num(b, "top_logprobs"), 2);
    /* Streams carry usage only when asked: always asked. */
    cr_assert(cJSON_IsTrue(oc_get(oc_get(b, "stream_options"), "include_usage")));
    /* No json_schema upstream; JSON mode still returns JSON. */
    cr_assert_str_eq(oc_str(oc_get(b, "response_format"), "type"), "json_object");
    oc_absent(oc_get(b, "response_format"), "json_schema");

    const cJSON *msgs = oc_get(b, "messages");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    oc_absent(cJSON_GetArrayItem(msgs, 2), "reasoning_content");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 4), "reasoning_content"), "call it");
    ph_free(c);
}

/* DeepSeek's content is a string ("invalid type: sequence, expected a string" for the part
 * arrays many SDKs send for every role); its models read text only, so text parts join. */
Test(deepseek, text_parts_become_strings)
{
    struct ph_call *c =
        ph_begin("deepseek", AIGW_OP_CHAT,
                 "{\"model\":\"deepseek-chat\",\"messages\":["
                 "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"Be brief.\"}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"},"
                 "{\"type\":\"text\",\"text\":\"there\"}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]},"
                 "{\"role\":\"user\",\"content\":\"Bye\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "deepseek-chat");
    const cJSON *msgs = oc_get(b, "messages");

    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "content"), "Be brief.");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "content"), "Hi\nthere");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 2), "content"), "Hello");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 3), "content"), "Bye");
    ph_free(c);
}

/* json_schema becomes json_object here, and DeepSeek refuses json_object unless the prompt
 * says "json" (400 "Prompt must contain the word 'json' in some form ..."), which an OpenAI
 * structured-output request need not. The schema goes into the system prompt instead, so
 * the request is served and the shape asked for is not lost. */
Test(deepseek, schema_request_keeps_its_schema_in_the_prompt)
{
    struct ph_call *c =
        ph_begin("deepseek", AIGW_OP_CHAT,
                 "{\"model\":\"deepseek-chat\",\"messages\":["
                 "{\"role\":\"user\",\"content\":\"Invent a person.\"}],"
                 "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
                 "\"name\":\"person\",\"schema\":{\"type\":\"object\",\"properties\":{"
                 "\"age\":{\"type\":\"integer\"}},\"required\":[\"age\"]}}}}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "deepseek-chat");
    const cJSON *msgs = oc_get(b, "messages");
    const char *sys;

    cr_assert_str_eq(oc_str(oc_get(b, "response_format"), "type"), "json_object");
    cr_assert_eq(cJSON_GetArraySize(msgs), 2, "%s", ph_body(c));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    sys = oc_str(cJSON_GetArrayItem(msgs, 0), "content");
    cr_assert_not_null(strstr(sys, "JSON"), "%s", sys);
    cr_assert_not_null(strstr(sys, "\"required\":[\"age\"]"), "%s", sys);
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "content"), "Invent a person.");
    ph_free(c);

    /* An existing system prompt is kept, the schema after it. */
    c = oc_begin_file("deepseek", AIGW_OP_CHAT, "deepseek/request_full.json");
    sys = oc_str(cJSON_GetArrayItem(oc_get(ph_body_json(c), "messages"), 0), "content");
    cr_assert_eq(strncmp(sys, "Short answers.\n\n", 16), 0, "%s", sys);
    cr_assert_not_null(strstr(sys, "JSON"), "%s", sys);
    ph_free(c);
}

/* Thinking mode: logprobs are errors, a forced tool call needs thinking off. */
Test(deepseek, reasoner_request)
{
    struct ph_call *c = oc_begin_file("deepseek", AIGW_OP_CHAT, "deepseek/request_reasoner.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "deepseek-reasoner");
    oc_absent_all(b, "logprobs top_logprobs stream_options");
    cr_assert_str_eq(oc_str(b, "tool_choice"), "required");
    cr_assert_str_eq(oc_str(oc_get(b, "thinking"), "type"), "disabled");
    ph_free(c);
}

Test(deepseek, cache_hits)
{
    struct ph_call *c = oc_begin_chat("deepseek", "deepseek-chat", 0);
    const cJSON *u = oc_get(oc_chat(c, "deepseek/chat.json", NULL), "usage");
    cr_assert_eq(oc_num(oc_get(u, "prompt_tokens_details"), "cached_tokens"), 16);
    ph_free(c);
}

OC_EXPECTATION_TESTS(deepseek, "deepseek")
