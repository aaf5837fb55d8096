/*
 * test_anthropic - the anthropic plugin through the real loader, exchange and renderer:
 * request translation, responses, streams (whole and split at every byte), errors, secrets,
 * and a replay of the shared real recordings when present.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define at(root, path) tu_at(root, path)
#define str_at(root, path) tu_str_at(root, path)
#define num_at(root, path) tu_num_at(root, path)
#define assert_json(got, expected) tu_assert_json(got, expected)

#define CANARY "sk-CANARY-1234"
#define CHAT AIGW_OP_CHAT

static void env_default(void)
{
    ph_unenv("ANTHROPIC_VERSION", "ANTHROPIC_MAX_TOKENS", NULL);
    ph_env("ANTHROPIC_API_KEY", CANARY, "ANTHROPIC_BASE_URL", "http://mock.test/", NULL);
}

static struct ph_call *begin(const char *json)
{
    env_default();
    return ph_begin("anthropic", CHAT, json);
}

static void assert_usage(struct ph_call *c, double prompt, double completion, double cached,
                         double cache_write)
{
    cJSON *u = ph_usage(c);
    cr_assert_not_null(u, "no usage in %s", ph_output(c));
    cr_assert_eq(num_at(u, "prompt_tokens"), prompt);
    cr_assert_eq(num_at(u, "completion_tokens"), completion);
    cr_assert_eq(num_at(u, "total_tokens"), prompt + completion);
    if (cached < 0) {
        cr_assert_null(at(u, "prompt_tokens_details"), "unexpected details");
    } else {
        cr_assert_eq(num_at(u, "prompt_tokens_details.cached_tokens"), cached);
        if (cache_write >= 0)
            cr_assert_eq(num_at(u, "prompt_tokens_details.cache_write_tokens"), cache_write);
    }
}

/* ---- request translation ------------------------------------------------------------------- */

Test(anthropic_request, endpoint_headers_and_basic_body)
{
    struct ph_call *c =
        begin("{\"model\":\"anthropic/claude-sonnet-4-5\",\"messages\":["
              "{\"role\":\"system\",\"content\":\"Be brief.\"},"
              "{\"role\":\"user\",\"content\":\"Hi\"},"
              "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Answer in "
              "English.\"}]},"
              "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is 2+2?\"}]}],"
              "\"seed\":7,\"presence_penalty\":0.5,\"frequency_penalty\":0.1,\"logprobs\":false,"
              "\"logit_bias\":{\"50256\":-100},\"n\":1,\"store\":true,\"service_tier\":\"auto\","
              "\"metadata\":{\"k\":\"v\"},\"user\":\"user-42\",\"temperature\":1.5,\"top_p\":0.9,"
              "\"top_k\":40,\"stop\":\"END\"}");
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/messages");
    cr_assert_str_eq(ph_header(c, "x-api-key"), CANARY);
    cr_assert_str_eq(ph_header(c, "anthropic-version"), "2023-06-01");
    cr_assert_str_eq(ph_header(c, "content-type"), "application/json");
    cr_assert_null(ph_header(c, "authorization"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);

    cJSON *b = ph_body_json(c);
    assert_json(b, "{\"model\":\"claude-sonnet-4-5\","
                   "\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\"},"
                   "{\"type\":\"text\",\"text\":\"Answer in English.\"}],"
                   "\"messages\":[{\"role\":\"user\",\"content\":["
                   "{\"type\":\"text\",\"text\":\"Hi\"},"
                   "{\"type\":\"text\",\"text\":\"What is 2+2?\"}]}],"
                   "\"max_tokens\":4096,\"temperature\":1,\"top_k\":40,"
                   "\"stop_sequences\":[\"END\"],\"metadata\":{\"user_id\":\"user-42\"}}");
    cr_assert_null(strstr(ph_body(c), CANARY));
    ph_free(c);
}

/* Claude Opus 4.1, Sonnet 4.5 and later answer temperature with top_p with a 400: the
 * temperature goes alone (above, with both), top_p when it is the only one. */
Test(anthropic_request, top_p_goes_only_without_a_temperature)
{
    struct ph_call *c = begin("{\"model\":\"anthropic/claude-sonnet-4-5\",\"messages\":["
                              "{\"role\":\"user\",\"content\":\"Hi\"}],\"top_p\":0.5}");
    cJSON *b = ph_body_json(c);
    cr_assert_float_eq(cJSON_GetObjectItem(b, "top_p")->valuedouble, 0.5, 1e-9);
    cr_assert_null(cJSON_GetObjectItem(b, "temperature"));
    ph_free(c);
}

Test(anthropic_request, env_overrides_and_single_system_string)
{
    ph_env("ANTHROPIC_API_KEY", CANARY, "ANTHROPIC_BASE_URL", "https://proxy.test/anth/v1",
           "ANTHROPIC_VERSION", "2099-01-01", "ANTHROPIC_MAX_TOKENS", "1234", NULL);
    struct ph_call *c =
        ph_begin("anthropic", CHAT,
                 "{\"model\":\"claude-haiku-4-5\",\"stream\":true,\"max_tokens\":99,"
                 "\"max_completion_tokens\":321,\"stream_options\":{\"include_usage\":true},"
                 "\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                 "{\"role\":\"user\",\"content\":\"Q\"}],\"stop\":[\"a\",\"\",\"b\"]}");
    cr_assert_str_eq(ph_url(c), "https://proxy.test/anth/v1/messages");
    cr_assert_str_eq(ph_header(c, "anthropic-version"), "2099-01-01");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    cJSON *b = ph_body_json(c);
    cr_assert_str_eq(str_at(b, "system"), "S");
    cr_assert_eq(num_at(b, "max_tokens"), 321); /* max_completion_tokens wins */
    cr_assert(cJSON_IsTrue(at(b, "stream")));
    cr_assert_null(at(b, "stream_options"));
    assert_json(at(b, "stop_sequences"), "[\"a\",\"b\"]");
    ph_free(c);

    /* No limit from the client: ANTHROPIC_MAX_TOKENS. */
    c = ph_begin("anthropic", CHAT,
                 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Q\"}]}");
    cr_assert_eq(num_at(ph_body_json(c), "max_tokens"), 1234);
    cr_assert_null(at(ph_body_json(c), "stream"));
    ph_free(c);
}

Test(anthropic_request, role_alternation_and_prefill)
{
    struct ph_call *c = begin(
        "{\"model\":\"m\",\"messages\":["
        "{\"role\":\"assistant\",\"content\":\"Hello, how can I help?\"},"
        "{\"role\":\"user\",\"content\":\"one\"},{\"role\":\"user\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"two\"},"
        "{\"role\":\"assistant\",\"content\":\"A\"},{\"role\":\"assistant\",\"content\":null},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"B  \\n\"}]}]}");
    assert_json(at(ph_body_json(c), "messages"),
                "[{\"role\":\"user\",\"content\":\".\"},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
                "\"text\":\"Hello, how can I help?\"}]},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one\"},"
                "{\"type\":\"text\",\"text\":\"two\"}]},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"A\"},"
                "{\"type\":\"text\",\"text\":\"B\"}]}]");
    ph_free(c);
}

Test(anthropic_request, images_both_kinds)
{
    struct ph_call *c = begin(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"Compare\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\","
        "\"detail\":\"high\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.test/cat.jpg\"}},"
        "{\"type\":\"file\",\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\"}}"
        "]}]}");
    assert_json(at(ph_body_json(c), "messages.0.content"),
                "[{\"type\":\"text\",\"text\":\"Compare\"},"
                "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
                "\"data\":\"iVBORw0KGgo=\"}},"
                "{\"type\":\"image\",\"source\":{\"type\":\"url\","
                "\"url\":\"https://img.test/cat.jpg\"}},"
                "{\"type\":\"document\",\"source\":{\"type\":\"base64\","
                "\"media_type\":\"application/pdf\",\"data\":\"JVBERi0=\"}}]");
    ph_free(c);

    int rc = 0;
    env_default();
    c = ph_begin_rc("anthropic", CHAT,
                    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":["
                    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/tiff;base64,AA\"}}"
                    "]}]}",
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_not_null(strstr(ph_output(c), "media type must be image/jpeg"), "%s", ph_output(c));
    ph_free(c);
}

#define WEATHER_TOOL                                                                               \
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather\","   \
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"         \
    "\"required\":[\"city\"]}}}"
#define NOARG_TOOL "{\"type\":\"function\",\"function\":{\"name\":\"ping\"}}"

static cJSON *tools_body(const char *extra)
{
    char req[2048];
    snprintf(req, sizeof req,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
             "\"tools\":[" WEATHER_TOOL "," NOARG_TOOL "]%s}",
             extra);
    struct ph_call *c = begin(req);
    cJSON *b = cJSON_Duplicate(ph_body_json(c), 1);
    ph_free(c);
    return b;
}

Test(anthropic_request, tools_and_tool_choice)
{
    cJSON *b = tools_body("");
    assert_json(at(b, "tools"),
                "[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":"
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                "\"required\":[\"city\"]}},"
                "{\"name\":\"ping\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}]");
    cr_assert_null(at(b, "tool_choice"));
    cJSON_Delete(b);

    static const char *const cases[][2] = {
        {",\"tool_choice\":\"auto\"", "{\"type\":\"auto\"}"},
        {",\"tool_choice\":\"none\"", "{\"type\":\"none\"}"},
        {",\"tool_choice\":\"required\"", "{\"type\":\"any\"}"},
        {",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}",
         "{\"type\":\"tool\",\"name\":\"get_weather\"}"},
        {",\"parallel_tool_calls\":false",
         "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}"},
        {",\"tool_choice\":\"required\",\"parallel_tool_calls\":false",
         "{\"type\":\"any\",\"disable_parallel_tool_use\":true}"},
        {",\"tool_choice\":\"none\",\"parallel_tool_calls\":false", "{\"type\":\"none\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b = tools_body(cases[i][0]);
        assert_json(at(b, "tool_choice"), cases[i][1]);
        cJSON_Delete(b);
    }

    /* tool_choice without tools is dropped. */
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
              "\"x\"}],\"tool_choice\":\"required\",\"parallel_tool_calls\":false}");
    cr_assert_null(at(ph_body_json(c), "tool_choice"));
    cr_assert_null(at(ph_body_json(c), "tools"));
    ph_free(c);
}

#define ROUND_TRIP_REQUEST                                                                         \
    "{\"model\":\"m\",\"tools\":[" WEATHER_TOOL "],\"messages\":["                                 \
    "{\"role\":\"user\",\"content\":\"Weather in Oslo and Bergen?\"},"                             \
    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["                           \
    "{\"id\":\"toolu_A\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","            \
    "\"arguments\":\"{\\\"city\\\": \\\"Oslo\\\"}\"}},"                                            \
    "{\"id\":\"toolu_B\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","            \
    "\"arguments\":\"\"}}]},"                                                                      \
    "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"4 C\"},"                        \
    "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":[{\"type\":\"text\","             \
    "\"text\":\"7 C\"}]},"                                                                         \
    "{\"role\":\"user\",\"content\":\"Which is warmer?\"}]}"

Test(anthropic_request, tool_round_trip)
{
    struct ph_call *c = begin(ROUND_TRIP_REQUEST);
    assert_json(at(ph_body_json(c), "messages"),
                "[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                "\"text\":\"Weather in Oslo and Bergen?\"}]},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Checking.\"},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_A\",\"name\":\"get_weather\","
                "\"input\":{\"city\":\"Oslo\"}},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"get_weather\","
                "\"input\":{}}]},"
                "{\"role\":\"user\",\"content\":["
                "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"4 C\"},"
                "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"content\":"
                "[{\"type\":\"text\",\"text\":\"7 C\"}]},"
                "{\"type\":\"text\",\"text\":\"Which is warmer?\"}]}]");
    /* ...and the answer to it. */
    cr_assert_eq(
        ph_respond_file(c, 200, "Content-Type: application/json\r\n", "anthropic/chat.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 200);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"),
                     "The capital of Norway is Oslo. It sits at the head of the Oslofjord.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    ph_free(c);
}

Test(anthropic_request, invalid_tool_arguments_is_400)
{
    int rc = 0;
    env_default();
    struct ph_call *c = ph_begin_rc(
        "anthropic", CHAT,
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\","
        "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{not json\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"r\"}]}",
        &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), "invalid_request_error");
    cr_assert_null(strstr(ph_output(c), CANARY));
    ph_free(c);

    /* n > 1 cannot be served by one Messages call. */
    c = ph_begin_rc(
        "anthropic", CHAT,
        "{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

Test(anthropic_request, json_schema_comes_back_as_content)
{
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Name a fruit\"}],"
              "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"fruit\","
              "\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":{\"name\":"
              "{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}}}}");
    cJSON *b = ph_body_json(c);
    assert_json(at(b, "output_config"),
                "{\"format\":{\"type\":\"json_schema\",\"schema\":{\"type\":\"object\","
                "\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],"
                "\"additionalProperties\":false}}}");
    cr_assert_null(at(b, "response_format"));
    cr_assert_null(at(b, "tools"));
    static const char resp[] =
        "{\"id\":\"msg_js\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\","
        "\"content\":[{\"type\":\"text\",\"text\":\"{\\\"name\\\":\\\"plum\\\"}\"}],"
        "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":9,\"output_tokens\":6}}";
    cr_assert_eq(ph_respond(c, 200, NULL, resp, sizeof resp - 1, 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "{\"name\":\"plum\"}");
    cr_assert_null(at(o, "choices.0.message.tool_calls"));
    ph_free(c);

    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
              "\"response_format\":{\"type\":\"json_object\"}}");
    cr_assert_str_eq(str_at(ph_body_json(c), "system"),
                     "Respond with a single valid JSON object and nothing else.");
    ph_free(c);
}

Test(anthropic_request, reasoning_effort_to_thinking)
{
    struct ph_call *c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                              "\"x\"}],\"reasoning_effort\":\"medium\",\"temperature\":0.2,"
                              "\"top_k\":5}");
    cJSON *b = ph_body_json(c);
    assert_json(at(b, "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":4096}");
    cr_assert_eq(num_at(b, "max_tokens"), 4096 + 4096);
    cr_assert_null(at(b, "temperature")); /* Anthropic rejects it with thinking */
    cr_assert_null(at(b, "top_k"));
    ph_free(c);

    /* The client's limit includes the reasoning: the budget shrinks to fit. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
              "\"reasoning_effort\":\"high\",\"max_completion_tokens\":3000}");
    assert_json(at(ph_body_json(c), "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":2999}");
    cr_assert_eq(num_at(ph_body_json(c), "max_tokens"), 3000);
    ph_free(c);

    /* Anthropic's own thinking object passes through. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
              "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}}");
    assert_json(at(ph_body_json(c), "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":2048}");
    cr_assert_eq(num_at(ph_body_json(c), "max_tokens"), 4096 + 2048);
    ph_free(c);

    /* The next turn of a tool loop: the last assistant turn's signed thinking block cannot
     * come back through chat messages, and Claude refuses thinking without it. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"1\"}],"
              "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
              "\"reasoning_effort\":\"medium\",\"temperature\":0.2}");
    cr_assert_null(at(ph_body_json(c), "thinking"));
    cr_assert_eq(num_at(ph_body_json(c), "temperature"), 0.2);
    ph_free(c);
    /* A later turn whose last assistant message answered in text thinks again. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"1\"},"
              "{\"role\":\"assistant\",\"content\":\"done\"},{\"role\":\"user\",\"content\":"
              "\"y\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
              "\"reasoning_effort\":\"medium\"}");
    assert_json(at(ph_body_json(c), "thinking"), "{\"type\":\"enabled\",\"budget_tokens\":4096}");
    ph_free(c);

    /* minimal: no thinking at all. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
              "\"reasoning_effort\":\"minimal\",\"temperature\":0.3}");
    cr_assert_null(at(ph_body_json(c), "thinking"));
    cr_assert_eq(num_at(ph_body_json(c), "temperature"), 0.3);
    ph_free(c);
}

/* ---- non-stream responses ------------------------------------------------------------------- */

static struct ph_call *respond_chat(const char *fixture)
{
    struct ph_call *c =
        begin("{\"model\":\"claude-x\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, "Content-Type: application/json\r\n", fixture, 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    return c;
}

Test(anthropic_response, text_with_cache_usage)
{
    struct ph_call *c = respond_chat("anthropic/chat.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "object"), "chat.completion");
    cr_assert_str_eq(str_at(o, "id"), "msg_01TestChatTextAbcDef123456");
    cr_assert_str_eq(str_at(o, "model"), "claude-sonnet-4-5-20250929");
    cr_assert_str_eq(str_at(o, "choices.0.message.role"), "assistant");
    cr_assert_str_eq(str_at(o, "choices.0.message.content"),
                     "The capital of Norway is Oslo. It sits at the head of the Oslofjord.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    /* prompt = 120 input + 2048 cache read + 300 cache write */
    assert_usage(c, 2468, 25, 2048, 300);
    cr_assert_null(strstr(ph_output(c), CANARY));
    ph_free(c);
}

Test(anthropic_response, tool_use)
{
    struct ph_call *c = respond_chat("anthropic/chat_tool_use.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "Let me look up both cities.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "tool_calls");
    assert_json(at(o, "choices.0.message.tool_calls"),
                "[{\"id\":\"toolu_01TestAlphaAaaaaaaaaaaaa\",\"type\":\"function\","
                "\"function\":{\"name\":\"get_forecast\","
                "\"arguments\":\"{\\\"city\\\":\\\"Bergen\\\",\\\"days\\\":3}\"}},"
                "{\"id\":\"toolu_01TestBetaBbbbbbbbbbbbbb\",\"type\":\"function\","
                "\"function\":{\"name\":\"get_forecast\",\"arguments\":"
                "\"{\\\"city\\\":\\\"Troms\u00f8\\\",\\\"days\\\":1,"
                "\\\"units\\\":[\\\"c\\\",\\\"mm\\\"]}\"}}]");
    assert_usage(c, 512, 88, 0, 0);
    ph_free(c);
}

Test(anthropic_response, thinking_and_length)
{
    struct ph_call *c = respond_chat("anthropic/chat_thinking.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "The answer is 60.");
    cr_assert_str_eq(str_at(o, "choices.0.message.reasoning_content"),
                     "17 times 3 is 51, plus 9 gives 60.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "length");
    assert_usage(c, 40, 310, -1, -1);
    cr_assert_null(strstr(ph_output(c), "EqQB"), "signature leaked");
    ph_free(c);
}

Test(anthropic_response, stop_reasons)
{
    static const char *const map[][2] = {
        {"end_turn", "stop"},
        {"stop_sequence", "stop"},
        {"max_tokens", "length"},
        {"tool_use", "tool_calls"},
        {"refusal", "content_filter"},
        {"pause_turn", "stop"},
        {"model_context_window_exceeded", "length"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char body[512];
        int n = snprintf(body, sizeof body,
                         "{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
                         "\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"t\"}],"
                         "\"stop_reason\":\"%s\",\"usage\":{\"input_tokens\":1,"
                         "\"output_tokens\":1}}",
                         map[i][0]);
        struct ph_call *c =
            begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
        cr_assert_eq(ph_respond(c, 200, NULL, body, (size_t)n, 0), 0);
        cr_assert_str_eq(str_at(ph_output_json(c), "choices.0.finish_reason"), map[i][1], "%s",
                         map[i][0]);
        ph_free(c);
    }
}

/* ---- streams ------------------------------------------------------------------------------- */

/* The client's SSE output with "created" removed (it is the gateway's clock). */
static char *normalized(struct ph_call *c)
{
    cJSON *ev = cJSON_Duplicate(ph_sse_events(c), 1);
    cJSON *e;
    cJSON_ArrayForEach(e, ev) cJSON_DeleteItemFromObjectCaseSensitive(e, "created");
    char *s = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    size_t n = strlen(s);
    char *out = malloc(n + 16);
    snprintf(out, n + 16, "%s|%d", s, ph_sse_done(c));
    free(s);
    return out;
}

static struct ph_call *stream(const char *fixture, size_t split, int status)
{
    struct ph_call *c = begin("{\"model\":\"claude-x\",\"stream\":true,"
                              "\"stream_options\":{\"include_usage\":true},"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    ph_respond_file(c, status, "Content-Type: text/event-stream\r\n", fixture, split);
    return c;
}

/* The fixture fed whole and one byte at a time must give the same client stream. */
static void assert_split_invariant(const char *fixture)
{
    struct ph_call *a = stream(fixture, 0, 200);
    struct ph_call *b = stream(fixture, 1, 200);
    char *x = normalized(a), *y = normalized(b);
    cr_assert_str_eq(x, y, "%s differs when split", fixture);
    free(x);
    free(y);
    ph_free(a);
    ph_free(b);
}

Test(anthropic_stream, text)
{
    struct ph_call *c = stream("anthropic/stream_text.sse", 0, 200);
    cr_assert_eq(ph_client_status(c), 200);
    cr_assert(ph_sse_done(c));
    cJSON *ev = ph_sse_events(c);
    cr_assert_str_eq(str_at(ev, "0.object"), "chat.completion.chunk");
    cr_assert_str_eq(str_at(ev, "0.id"), "msg_01TestStreamText7777777777");
    cr_assert_str_eq(str_at(ev, "0.model"), "claude-haiku-4-5-20251001");
    cr_assert_str_eq(str_at(ev, "0.choices.0.delta.role"), "assistant");
    cr_assert_str_eq(ph_stream_text(c), "Blåbær grow wild in \"Norway\",\nmostly in August.");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(c, 21, 14, 0, 0);
    ph_free(c);
    assert_split_invariant("anthropic/stream_text.sse");
}

Test(anthropic_stream, tool_arguments_reassembled)
{
    struct ph_call *c = stream("anthropic/stream_tools.sse", 0, 200);
    cr_assert_str_eq(ph_stream_text(c), "Checking two stations.");
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "toolu_01TestStreamAlpha111111");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "station_temp");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"station\": \"Finse\", \"hours\": [6, 12]}");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "toolu_01TestStreamBeta2222222");
    cr_assert_str_eq(ph_stream_tool_args(c, 1),
                     "{\"station\": \"Kautokeino\", \"note\": \"m\\u00e5\\\"l\\\"\"}");
    cr_assert_str_eq(ph_stream_tool_name(c, 2), "list_stations");
    cr_assert_str_eq(ph_stream_tool_args(c, 2), "{}"); /* a tool without input */
    cr_assert_null(ph_stream_tool_name(c, 3));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(c, 1910, 97, 1500, 0);

    /* Tool indexes count tool calls, not Anthropic content blocks; the first piece of each
     * call carries id, type and name with empty arguments. */
    int first_pieces = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ph_sse_events(c))
    {
        const cJSON *tc = at(e, "choices.0.delta.tool_calls.0");
        if (tc && str_at(tc, "id")) {
            cr_assert_eq(num_at(tc, "index"), first_pieces);
            cr_assert_str_eq(str_at(tc, "type"), "function");
            cr_assert_str_eq(str_at(tc, "function.arguments"), "");
            first_pieces++;
        }
    }
    cr_assert_eq(first_pieces, 3);
    ph_free(c);
    assert_split_invariant("anthropic/stream_tools.sse");
}

Test(anthropic_stream, thinking)
{
    struct ph_call *c = stream("anthropic/stream_thinking.sse", 0, 200);
    cr_assert_str_eq(ph_stream_reasoning(c), "Twelve squared is 144.");
    cr_assert_str_eq(ph_stream_text(c), "144");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(c, 755, 31, 0, 700);
    cr_assert_null(strstr(ph_output(c), "EqQB"), "signature leaked");
    ph_free(c);
    assert_split_invariant("anthropic/stream_thinking.sse");
}

Test(anthropic_stream, error_event_mid_stream)
{
    struct ph_call *c = stream("anthropic/stream_error.sse", 0, 200);
    cr_assert_eq(ph_client_status(c), 200);
    cr_assert_str_eq(ph_stream_text(c), "Partial ans");
    cr_assert(ph_sse_done(c), "no [DONE] after the error: %s", ph_output(c));
    cJSON *ev = ph_sse_events(c);
    const cJSON *last = cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 1);
    cr_assert_str_eq(str_at(last, "error.type"), "overloaded_error", "%s", ph_output(c));
    cr_assert_str_eq(str_at(last, "error.message"), "Overloaded");
    const struct aigw_error *err = ph_error(c);
    cr_assert_not_null(err);
    cr_assert_eq(err->retryable, 1);
    cr_assert_eq(err->status, 503);
    ph_free(c);
    assert_split_invariant("anthropic/stream_error.sse");
}

Test(anthropic_stream, truncated_stream_is_an_error)
{
    static const char cut[] =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_c\","
        "\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n";
    struct ph_call *c = begin("{\"model\":\"m\",\"stream\":true,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    int rc = ph_respond(c, 200, NULL, cut, sizeof cut - 1, 0);
    cr_assert_eq(rc, AIGW_EPROTO);
    cr_assert_str_eq(ph_stream_text(c), "Hel");
    cr_assert(ph_sse_done(c));
    cr_assert_not_null(strstr(ph_output(c), "\"error\""));
    ph_free(c);
}

/* ---- errors -------------------------------------------------------------------------------- */

static struct ph_call *fail_with(int status, const char *headers, const char *fixture,
                                 int is_stream)
{
    struct ph_call *c = begin(is_stream ? "{\"model\":\"m\",\"stream\":true,\"messages\":"
                                          "[{\"role\":\"user\",\"content\":\"q\"}]}"
                                        : "{\"model\":\"m\",\"messages\":"
                                          "[{\"role\":\"user\",\"content\":\"q\"}]}");
    cr_assert_eq(ph_respond_file(c, status, headers, fixture, 0), 0);
    cr_assert_not_null(ph_error(c));
    cr_assert_null(strstr(ph_output(c), CANARY));
    return c;
}

Test(anthropic_errors, overloaded_529_is_retryable_503)
{
    for (int s = 0; s < 2; s++) {
        struct ph_call *c =
            fail_with(529, "Content-Type: application/json\r\n", "anthropic/error_529.json", s);
        cr_assert_eq(ph_client_status(c), 503);
        cr_assert_eq(ph_error(c)->retryable, 1);
        cJSON *o = ph_output_json(c); /* before the stream began: a plain error document */
        cr_assert_str_eq(str_at(o, "error.type"), "overloaded_error");
        cr_assert_str_eq(str_at(o, "error.message"), "Overloaded");
        ph_free(c);
    }
}

Test(anthropic_errors, invalid_request_400_not_retryable)
{
    struct ph_call *c = fail_with(400, "x-should-retry: false\r\n", "anthropic/error_400.json", 0);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_eq(ph_error(c)->retryable, 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "error.type"), "invalid_request_error");
    cr_assert_str_eq(str_at(o, "error.code"), "context_length_exceeded");
    cr_assert_str_eq(str_at(o, "error.message"),
                     "prompt is too long: 250001 tokens > 200000 maximum");
    ph_free(c);
}

Test(anthropic_errors, rate_limit_429_retry_after)
{
    struct ph_call *c =
        fail_with(429, "retry-after: 7\r\nx-should-retry: true\r\n", "anthropic/error_429.json", 0);
    cr_assert_eq(ph_client_status(c), 429);
    cr_assert_eq(ph_error(c)->retryable, 1);
    cr_assert_eq(ph_error(c)->retry_after_ms, 7000);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "error.type"), "rate_limit_error");
    cr_assert_str_eq(str_at(o, "error.code"), "rate_limit_exceeded");
    ph_free(c);
}

Test(anthropic_errors, authentication_401_and_canary)
{
    struct ph_call *c = fail_with(401, NULL, "anthropic/error_401.json", 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_eq(ph_error(c)->retryable, 0);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), "authentication_error");
    ph_free(c);

    /* An upstream that echoes the key must not carry it to the client. */
    static const char echo[] = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                               "\"message\":\"bad key sk-CANARY-1234\"}}";
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    ph_respond(c, 401, NULL, echo, sizeof echo - 1, 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_null(strstr(ph_output(c), CANARY), "%s", ph_output(c));
    ph_free(c);

    /* A non-Anthropic body (a proxy page) still maps by status. */
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    ph_respond(c, 502, NULL, "<html>bad gateway</html>", 24, 0);
    cr_assert_eq(ph_client_status(c), 502);
    cr_assert_eq(ph_error(c)->retryable, 1);
    ph_free(c);
}

Test(anthropic_errors, malformed_success_body_is_502)
{
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    int rc = ph_respond(c, 200, NULL, "{\"type\":\"message\"}", 18, 0);
    cr_assert_eq(rc, AIGW_EPROTO);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);
}

/* ---- conformance: the shared real recordings ------------------------------------------------ */

static char *shared_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static const char *shared_dir(void)
{
    static char dir[4096];
    const char *root = getenv("AIGW_SHARED_FIXTURES");
    snprintf(dir, sizeof dir, "%s/anthropic", root ? root : "/nonexistent");
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    closedir(d);
    return dir;
}

static struct ph_call *replay(const char *dir, const char *name, int status, int is_stream,
                              size_t split)
{
    size_t len;
    char *body = shared_file(dir, name, &len);
    struct ph_call *c =
        begin(is_stream ? "{\"model\":\"m\",\"stream\":true,\"stream_options\":"
                          "{\"include_usage\":true},\"messages\":[{\"role\":\"user\","
                          "\"content\":\"q\"}]}"
                        : "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    ph_respond(c, status, NULL, body, len, split);
    free(body);
    return c;
}

Test(anthropic_conformance, real_recordings)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");

    struct ph_call *c = replay(dir, "chat_response_text.json", 200, 0, 0);
    cJSON *o = ph_output_json(c);
    cr_assert(strlen(str_at(o, "choices.0.message.content")) > 50);
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    cr_assert_str_eq(str_at(o, "id"), "msg_01GJyhkguJrrqMbZNzEybYFL");
    assert_usage(c, 760, 63, 0, 0);
    ph_free(c);

    c = replay(dir, "chat_response_tool_use.json", 200, 0, 0);
    o = ph_output_json(c);
    cr_assert_null(at(o, "choices.0.message.content.0"));
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.function.name"), "get_weather");
    cJSON *args = cJSON_Parse(str_at(o, "choices.0.message.tool_calls.0.function.arguments"));
    assert_json(args, "{\"location\":\"San Francisco, CA\",\"units\":\"f\"}");
    cJSON_Delete(args);
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "tool_calls");
    assert_usage(c, 656, 74, 0, 0);
    ph_free(c);

    for (size_t split = 0; split < 2; split++) {
        c = replay(dir, "stream_basic.sse", 200, 1, split);
        cr_assert_str_eq(ph_stream_text(c), "Hello there!");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert(ph_sse_done(c));
        assert_usage(c, 11, 6, -1, -1);
        ph_free(c);

        c = replay(dir, "stream_tool_use.sse", 200, 1, split);
        cr_assert_str_eq(ph_stream_text(c), "I'll check the current weather in Paris for you.");
        cr_assert_str_eq(ph_stream_tool_name(c, 0), "get_weather");
        cr_assert_str_eq(ph_stream_tool_id(c, 0), "toolu_01NRLabsLyVHZPKxbKvkfSMn");
        cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"location\": \"Paris\"}");
        cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
        assert_usage(c, 377, 65, 0, 0);
        ph_free(c);

        c = replay(dir, "stream_tool_use_real.sse", 200, 1, split);
        cr_assert_str_eq(ph_stream_tool_name(c, 0), "weather");
        cr_assert_str_eq(ph_stream_tool_args(c, 0),
                         "{\"latitude\": \"52.5200\", \"longitude\": \"13.4050\"}");
        cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
        assert_usage(c, 633, 75, 0, 0);
        ph_free(c);

        c = replay(dir, "stream_after_tool_result_real.sse", 200, 1, split);
        cr_assert_not_null(strstr(ph_stream_text(c), "Berlin is currently"));
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        assert_usage(c, 748, 49, 0, 0);
        ph_free(c);

        c = replay(dir, "stream_error_overloaded.sse", 200, 1, split);
        cr_assert_not_null(ph_error(c));
        cr_assert_eq(ph_error(c)->retryable, 1);
        cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), "overloaded_error");
        ph_free(c);
    }

    static const struct {
        const char *file;
        int status, client_status, retryable;
        const char *type;
    } errs[] = {
        {"error_401_authentication.json", 401, 401, 0, "authentication_error"},
        {"error_400_prompt_too_long.json", 400, 400, 0, "invalid_request_error"},
        {"error_429_rate_limit.json", 429, 429, 1, "rate_limit_error"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        c = replay(dir, errs[i].file, errs[i].status, 0, 0);
        cr_assert_eq(ph_client_status(c), errs[i].client_status, "%s", errs[i].file);
        cr_assert_eq(ph_error(c)->retryable, errs[i].retryable, "%s", errs[i].file);
        cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), errs[i].type);
        ph_free(c);
    }

    /* Our translation of the OpenAI equivalent matches the recorded Anthropic request. */
    char *rec = shared_file(dir, "chat_request_tool_result.json", NULL);
    cJSON *want = cJSON_Parse(rec);
    free(rec);
    c = begin(
        "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1024,\"messages\":["
        "{\"role\":\"user\",\"content\":\"What is the weather in SF?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"toolu_01A9HHF5Ezy3oBrKmSgfASm9\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"San Francisco, CA\\\","
        "\\\"units\\\":\\\"f\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A9HHF5Ezy3oBrKmSgfASm9\",\"content\":"
        "\"RuntimeError('Unexpected error, try again')\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"description\":\"Lookup the weather for a given city in either celsius or fahrenheit\","
        "\"parameters\":{\"additionalProperties\":false,\"properties\":{\"location\":{"
        "\"description\":\"The city and state, e.g. San Francisco, CA\",\"title\":\"Location\","
        "\"type\":\"string\"},\"units\":{\"description\":\"Unit for the output, either 'c' for "
        "celsius or 'f' for fahrenheit\",\"enum\":[\"c\",\"f\"],\"title\":\"Units\","
        "\"type\":\"string\"}},\"required\":[\"location\",\"units\"],\"type\":\"object\"}}}]}");
    cJSON *got = ph_body_json(c);
    cr_assert(cJSON_Compare(at(got, "tools"), at(want, "tools"), 1), "tools differ");
    cr_assert_eq(num_at(got, "max_tokens"), num_at(want, "max_tokens"));
    cr_assert_str_eq(str_at(got, "model"), str_at(want, "model"));
    /* Recorded: assistant tool_use (plus the response-only "caller") and the tool_result. */
    cJSON *tu = cJSON_Duplicate(at(want, "messages.1.content.0"), 1);
    cJSON_DeleteItemFromObjectCaseSensitive(tu, "caller");
    cr_assert(cJSON_Compare(at(got, "messages.1.content.0"), tu, 1), "tool_use differs");
    cJSON_Delete(tu);
    cr_assert_str_eq(str_at(got, "messages.2.content.0.tool_use_id"),
                     str_at(want, "messages.2.content.0.tool_use_id"));
    cr_assert_str_eq(str_at(got, "messages.2.content.0.content"),
                     str_at(want, "messages.2.content.0.content"));
    cJSON_Delete(want);
    ph_free(c);
}

/* Every request Anthropic cannot express is refused before anything is sent, and the client
 * gets the same document for each: 400, invalid_request_error, code "unsupported" (clients
 * key on it) and the reason as the message. */
Test(anthropic_request, unsupported_refusals_exact_client_error)
{
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "n > 1 (one choice per request)"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
         "\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}}]}]}",
         "audio input"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\","
         "\"file\":{\"file_id\":\"file-abc\"}}]}]}",
         "file parts without file_data (file ids are OpenAI's)"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
         "{\"role\":\"function\",\"name\":\"f\",\"content\":\"r\"}]}",
         "legacy function-role messages (use tools)"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"tools\":[{\"type\":\"web_search\"}]}",
         "non-function tools"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        env_default();
        struct ph_call *c = ph_begin_rc("anthropic", CHAT, cases[i].json, &rc);
        cr_assert_eq(rc, AIGW_ENOTSUP, "case %zu: rc %d", i, rc);
        tu_expect_error(c, 400, cases[i].why, "invalid_request_error", NULL, "unsupported");
        cr_assert_not_null(ph_error(c), "case %zu", i);
        cr_assert_eq(ph_error(c)->retryable, 0, "case %zu", i);
        cr_assert_eq(ph_error(c)->retry_after_ms, -1, "case %zu", i);
        ph_free(c);
    }
}

/* The retry hint of an Anthropic error comes from host->retry_after_ms: every header form the
 * host reads, and nothing from a value that is no hint. */
Test(anthropic_errors, retry_after_forms_read_by_the_host)
{
    for (size_t i = 0; i < TU_RETRY_HINTS; i++) {
        struct ph_call *c =
            fail_with(429, tu_retry_hints[i].headers, "anthropic/error_429.json", 0);
        cr_assert_eq(ph_error(c)->retry_after_ms, tu_retry_hints[i].ms, "%s-> %lld",
                     tu_retry_hints[i].headers, (long long)ph_error(c)->retry_after_ms);
        cr_assert_eq(ph_client_status(c), 429);
        ph_free(c);
    }
    struct ph_call *c = fail_with(429, "retry-after: soon\r\n", "anthropic/error_429.json", 0);
    cr_assert_eq(ph_error(c)->retry_after_ms, -1);
    ph_free(c);
}
