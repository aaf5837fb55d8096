/* The mistral plugin through the real loader, exchange and renderer (fixtures: mistral/). */
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/v1/chat/completions"

OC_SUITE(mistral, "MISTRAL", "http://mock.invalid/v1/");

static int alnum9(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return i == 9;
}

/* Everything an OpenAI client may send that Mistral's strict schema would answer with 422. */
Test(mistral, request_whitelists_and_renames)
{
    struct ph_call *c = oc_begin_file("mistral", AIGW_OP_CHAT, "mistral/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "mistral-large-latest");
    const cJSON *msgs = oc_get(b, "messages"), *m;
    const char *mapped;

    oc_absent_all(b, "max_completion_tokens seed logprobs top_logprobs logit_bias user "
                     "service_tier store modalities verbosity stream_options");
    cr_assert_eq(oc_num(b, "max_tokens"), 64);
    cr_assert_eq(oc_num(b, "random_seed"), 42);
    cr_assert_eq(oc_num(b, "n"), 2);
    cr_assert_float_eq(oc_num(b, "temperature"), 0.3, 1e-9);
    cr_assert_str_eq(oc_str(b, "tool_choice"), "any");
    cr_assert(cJSON_IsFalse(oc_get(b, "parallel_tool_calls")));
    m = oc_get(oc_get(cJSON_GetArrayItem(oc_get(b, "tools"), 0), "function"), "parameters");
    oc_absent(m, "$schema");
    cr_assert_str_eq(oc_str(m, "type"), "object");

    /* developer -> system; the user's name and the empty assistant turn are gone. */
    cr_assert_eq(cJSON_GetArraySize(msgs), 5);
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    oc_absent(cJSON_GetArrayItem(msgs, 1), "name");
    m = cJSON_GetArrayItem(msgs, 2);
    cr_assert_str_eq(oc_str(m, "role"), "assistant");
    oc_absent_all(m, "reasoning_content refusal");
    /* A foreign id maps to 9 alphanumerics, the same in the call and in its result. */
    mapped = oc_str(cJSON_GetArrayItem(oc_get(m, "tool_calls"), 0), "id");
    cr_assert(alnum9(mapped), "id %s", mapped);
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(m, "tool_calls"), 1), "id"), "Qm3xT8bLw");
    m = cJSON_GetArrayItem(msgs, 3);
    cr_assert_str_eq(oc_str(m, "tool_call_id"), mapped);
    cr_assert_str_eq(oc_str(m, "name"), "get_tide");
    m = cJSON_GetArrayItem(msgs, 4);
    cr_assert_str_eq(oc_str(m, "tool_call_id"), "Qm3xT8bLw");
    oc_absent(m, "name");
    ph_free(c);
}

/* Mistral answers stream_options with 422; usage rides on the last chunk anyway. */
Test(mistral, stream_request_has_no_stream_options)
{
    struct ph_call *c = oc_begin_chat("mistral", "mistral-small-latest", 2);
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "mistral-small-latest");
    cr_assert(cJSON_IsTrue(oc_get(b, "stream")));
    oc_absent(b, "stream_options");
    ph_free(c);
}

/* A conversation ending on the assistant's words asks for their continuation (prefill, as
 * Anthropic-dialect clients do). Mistral refuses that as "Expected last role User or Tool (or
 * Assistant with prefix True)" unless the turn says prefix: true. */
Test(mistral, trailing_assistant_is_a_prefix)
{
    struct ph_call *c = ph_begin("mistral", AIGW_OP_CHAT,
                                 "{\"model\":\"mistral-small-latest\",\"messages\":["
                                 "{\"role\":\"user\",\"content\":\"Name a colour.\"},"
                                 "{\"role\":\"assistant\",\"content\":\"Sure: \"},"
                                 "{\"role\":\"user\",\"content\":\"Another one.\"},"
                                 "{\"role\":\"assistant\",\"content\":\"The colour is\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "mistral-small-latest");
    const cJSON *msgs = oc_get(b, "messages");

    cr_assert_eq(cJSON_GetArraySize(msgs), 4);
    cr_assert(cJSON_IsTrue(oc_get(cJSON_GetArrayItem(msgs, 3), "prefix")));
    oc_absent(cJSON_GetArrayItem(msgs, 1), "prefix");
    ph_free(c);
}

/* A user turn right after a tool result is a 400 from Mistral ("Unexpected role 'user' after
 * role 'tool'"): a short assistant turn goes between them, there only. The empty assistant
 * turn dropped from the second pair would otherwise leave the tool result and the user turn
 * adjacent; a tool result followed by the assistant or by another result stays as it is. */
Test(mistral, user_after_tool_gets_an_assistant_bridge)
{
    struct ph_call *c =
        ph_begin("mistral", AIGW_OP_CHAT,
                 "{\"model\":\"mistral-small-latest\",\"messages\":["
                 "{\"role\":\"user\",\"content\":\"Tides?\"},"
                 "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                 "{\"id\":\"Qm3xT8bLw\",\"type\":\"function\",\"function\":{\"name\":\"t\","
                 "\"arguments\":\"{}\"}},"
                 "{\"id\":\"Rk4yU9cMx\",\"type\":\"function\",\"function\":{\"name\":\"t\","
                 "\"arguments\":\"{}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"Qm3xT8bLw\",\"content\":\"high\"},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"Rk4yU9cMx\",\"content\":\"low\"},"
                 "{\"role\":\"user\",\"content\":\"Never mind. Wind?\"},"
                 "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                 "{\"id\":\"Sl5zV0dNy\",\"type\":\"function\",\"function\":{\"name\":\"w\","
                 "\"arguments\":\"{}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"Sl5zV0dNy\",\"content\":\"calm\"},"
                 "{\"role\":\"assistant\",\"content\":\"\"},"
                 "{\"role\":\"user\",\"content\":\"Thanks.\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "mistral-small-latest");
    const cJSON *msgs = oc_get(b, "messages");
    static const char *const roles[] = {"user", "assistant", "tool", "tool",      "assistant",
                                        "user", "assistant", "tool", "assistant", "user"};

    cr_assert_eq(cJSON_GetArraySize(msgs), 10);
    for (int i = 0; i < 10; i++)
        cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, i), "role"), roles[i], "message %d", i);
    for (int i = 4; i <= 8; i += 4) {
        const cJSON *m = cJSON_GetArrayItem(msgs, i);
        /* Mistral refuses an empty assistant turn, so the bridge says something short. */
        cr_assert(cJSON_IsString(oc_get(m, "content")) && *oc_str(m, "content"));
        oc_absent_all(m, "tool_calls prefix");
    }
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 5), "content"), "Never mind. Wind?");
    ph_free(c);
}

Test(mistral, default_base_url)
{
    ph_unenv("MISTRAL_BASE_URL", NULL);
    struct ph_call *c = oc_begin_chat("mistral", "mistral-small-latest", 0);
    cr_assert_str_eq(ph_url(c), "https://api.mistral.ai/v1/chat/completions");
    ph_free(c);
}

Test(mistral, chat_identity_and_cache)
{
    struct ph_call *c = oc_begin_chat("mistral", "mistral/mistral-small-latest", 0);
    const cJSON *o = oc_chat(c, "mistral/chat.json", NULL);
    cr_assert_str_eq(oc_str(o, "id"), "3f9a1c0e7b2d4e58a6c1f0d9b8e7a654");
    cr_assert_str_eq(oc_str(o, "model"), "mistral-small-latest");
    cr_assert_eq(oc_num(oc_get(oc_get(o, "usage"), "prompt_tokens_details"), "cached_tokens"), 6);
    ph_free(c);
}

Test(mistral, embeddings)
{
    struct ph_call *c = ph_begin("mistral", AIGW_OP_EMBEDDINGS,
                                 "{\"model\":\"mistral-embed\",\"input\":[\"a\",\"b\"],"
                                 "\"dimensions\":256,\"encoding_format\":\"float\","
                                 "\"user\":\"u-1\"}");
    cJSON *b =
        oc_request_is(c, "http://mock.invalid/v1/embeddings", AIGW_FRAMING_JSON, "mistral-embed");
    const cJSON *data, *v;
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "input")), 2);
    cr_assert_eq(oc_num(b, "output_dimension"), 256);
    oc_absent_all(b, "dimensions encoding_format user");
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "mistral/embeddings.json", 0), 0);
    data = oc_get(ph_output_json(c), "data");
    cr_assert_eq(cJSON_GetArraySize(data), 2);
    v = oc_get(cJSON_GetArrayItem(data, 1), "embedding");
    cr_assert_eq(cJSON_GetArraySize(v), 4);
    cr_assert_float_eq(cJSON_GetArrayItem(v, 0)->valuedouble, -0.5, 1e-9);
    cr_assert_float_eq(cJSON_GetArrayItem(v, 3)->valuedouble, -0.0625, 1e-9);
    cr_assert_eq(oc_num(oc_get(ph_output_json(c), "usage"), "prompt_tokens"), 9);
    oc_no_secret(c);
    ph_free(c);
}

OC_EXPECTATION_TESTS(mistral, "mistral")
