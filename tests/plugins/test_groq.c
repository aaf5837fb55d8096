/* The groq plugin through the real loader, exchange and renderer (fixtures: groq/). */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/openai/v1/chat/completions"

OC_SUITE(groq, "GROQ", "http://mock.invalid/openai/v1");

/* logprobs, top_logprobs, logit_bias and messages[].name are Groq 400s. */
Test(groq, request_drops_refused_fields)
{
    struct ph_call *c = oc_begin_file("groq", AIGW_OP_CHAT, "groq/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "llama-3.3-70b-versatile");
    const cJSON *m;

    oc_absent_all(b, "n logprobs top_logprobs logit_bias store prompt_cache_key verbosity");
    /* Accepted as they are. */
    cr_assert_eq(oc_num(b, "max_completion_tokens"), 77);
    cr_assert_eq(oc_num(b, "seed"), 5);
    cr_assert_str_eq(oc_str(b, "user"), "u-9");
    cr_assert_str_eq(oc_str(b, "reasoning_format"), "parsed");
    cr_assert(cJSON_IsTrue(oc_get(oc_get(b, "stream_options"), "include_usage")));
    cJSON_ArrayForEach(m, oc_get(b, "messages"))
    {
        oc_absent(m, "name");
    }
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(b, "messages"), 0), "role"), "system");
    ph_free(c);
}

/* Groq validates every message property: an assistant turn echoed back with the
 * reasoning_content this gateway hands out (or OpenAI's refusal / annotations) is a 400
 * "property 'reasoning_content' is unsupported" for the whole conversation. */
Test(groq, history_drops_foreign_message_keys)
{
    struct ph_call *c =
        ph_begin("groq", AIGW_OP_CHAT,
                 "{\"model\":\"openai/gpt-oss-120b\",\"messages\":["
                 "{\"role\":\"user\",\"content\":\"2+2?\"},"
                 "{\"role\":\"assistant\",\"content\":\"4\",\"reasoning_content\":\"add\","
                 "\"refusal\":null,\"annotations\":[]},"
                 "{\"role\":\"user\",\"content\":\"and 3+3?\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "openai/gpt-oss-120b");
    const cJSON *m = cJSON_GetArrayItem(oc_get(b, "messages"), 1);

    cr_assert_str_eq(oc_str(m, "role"), "assistant");
    cr_assert_str_eq(oc_str(m, "content"), "4");
    oc_absent_all(m, "reasoning_content refusal annotations");
    ph_free(c);
}

/* Groq takes parts only in user turns: a system (or assistant) turn sent as a part array
 * is a 400 "'messages.0' : for 'role:system' ... 'messages.0.content' : value must be a
 * string". User parts stay parts: images ride there. */
Test(groq, text_parts_outside_user_turns_become_strings)
{
    struct ph_call *c =
        ph_begin("groq", AIGW_OP_CHAT,
                 "{\"model\":\"llama-3.3-70b-versatile\",\"messages\":["
                 "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"Be brief.\"}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]},"
                 "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]},"
                 "{\"role\":\"user\",\"content\":\"Bye\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "llama-3.3-70b-versatile");
    const cJSON *msgs = oc_get(b, "messages");

    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "content"), "Be brief.");
    cr_assert(cJSON_IsArray(oc_get(cJSON_GetArrayItem(msgs, 1), "content")));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 2), "content"), "Hello");
    ph_free(c);
}

/* Groq's service tiers are on_demand | flex | auto | performance; OpenAI's "default" (standard
 * processing) is on_demand there, and OpenAI-only tiers are left for Groq to choose. */
Test(groq, service_tier_in_groq_terms)
{
    static const char *const tiers[][2] = {{"default", "on_demand"},
                                           {"flex", "flex"},
                                           {"auto", "auto"},
                                           {"priority", NULL},
                                           {"scale", NULL}};
    size_t i;

    for (i = 0; i < sizeof tiers / sizeof tiers[0]; i++) {
        char req[256];
        struct ph_call *c;
        cJSON *b;
        snprintf(req, sizeof req,
                 "{\"model\":\"llama-3.3-70b-versatile\",\"service_tier\":\"%s\","
                 "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                 tiers[i][0]);
        c = ph_begin("groq", AIGW_OP_CHAT, req);
        b = ph_body_json(c);
        if (tiers[i][1])
            cr_assert_str_eq(oc_str(b, "service_tier"), tiers[i][1], "%s", tiers[i][0]);
        else
            oc_absent(b, "service_tier");
        ph_free(c);
    }
}

/* n > 1 is a Groq 400; the gateway says so itself rather than fanning out. */
Test(groq, several_choices_refused)
{
    int rc = 0;
    struct ph_call *c = ph_begin_rc(
        "groq", AIGW_OP_CHAT,
        "{\"model\":\"llama-3.1-8b-instant\",\"n\":3,\"messages\":[{\"role\":\"user\",\"content\":"
        "\"x\"}]}",
        &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_null(ph_url(c));
    ph_free(c);
}

Test(groq, error_inside_stream)
{
    struct ph_call *c = oc_stream("groq", "llama-3.1-8b-instant", 0, "groq/stream_error.sse");
    cr_assert_not_null(ph_error(c));
    cr_assert_str_eq(ph_error(c)->code, "tool_use_failed");
    cr_assert_eq(ph_error(c)->retryable, 0);
    cr_assert_str_eq(ph_stream_text(c), "Converting");
    cr_assert_not_null(strstr(ph_output(c), "tool_use_failed"), "%s", ph_output(c));
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

OC_EXPECTATION_TESTS(groq, "groq")
