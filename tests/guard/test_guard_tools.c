/*
 * Output guards and the model's tool calls, end to end: a model can put in a call's arguments
 * what a guard keeps out of its text (a card number, an address), streamed in pieces that cut
 * the number anywhere, or spelled with JSON escapes (\u0034 is "4"). The guards read the
 * arguments' decoded values whole, in every inbound dialect (chat, Anthropic Messages from a
 * native Anthropic target, Responses), streamed and not:
 *
 *   - redact: the client gets arguments that are still JSON, with the values redacted;
 *   - block: the answer is refused (a 400, or the stream's error event) and nothing of the
 *     arguments went out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define AHDR "anthropic-version: 2023-06-01\nx-api-key: client-key-ignored"
/* The arguments the model writes: a card cut by the pieces, and a mail address spelled with
 * escapes (\u0040 is "@", \u0034 is "4"). */
static const char *const PIECES[] = {"{\"card\":\"\\u003411", "1 1111 11", "11 1111\",",
                                     "\"note\":\"mail ann\\u0040exam", "ple.com\",\"n\":1}"};
#define NPIECES (sizeof PIECES / sizeof PIECES[0])

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *guard_dir(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    return e2e_strf("%s/plugins/guards/.libs", b ? b : ".");
}

static struct e2e_gw *gw_for(struct mock *m, const char *guardrails)
{
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s\",\"guardrails\":%s}", guard_dir(), guardrails);
    return e2e_gw_start(cfg, "OPENAI_API_KEY=sk-test-openai",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        "ANTHROPIC_API_KEY=sk-ant-test-gateway",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), NULL);
}

static void stop(struct e2e_gw *gw, struct mock *m)
{
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- the upstream's answers ----------------------------------------------------------------- */

static char *sse_event(const char *event, cJSON *data)
{
    char *d = cJSON_PrintUnformatted(data);
    char *s = event ? e2e_strf("event: %s\ndata: %s\n\n", event, d) : e2e_strf("data: %s\n\n", d);
    cJSON_free(d);
    cJSON_Delete(data);
    return s;
}

static cJSON *parse(const char *s)
{
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "%s", s);
    return j;
}

/* An OpenAI chat stream of one tool call, its arguments in PIECES. */
static char *oai_tool_stream(void)
{
    char *out = e2e_strf("%s", "");
    for (size_t i = 0; i < NPIECES; i++) {
        cJSON *c = parse("{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                         "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{"
                         "\"tool_calls\":[{\"index\":0,\"function\":{}}]},"
                         "\"finish_reason\":null}]}");
        cJSON *tc = cJSON_GetArrayItem(
            get(get(cJSON_GetArrayItem(get(c, "choices"), 0), "delta"), "tool_calls"), 0);
        if (i == 0) {
            cJSON_AddStringToObject(tc, "id", "call_1");
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON_AddStringToObject(get(tc, "function"), "name", "pay");
        }
        cJSON_AddStringToObject(get(tc, "function"), "arguments", PIECES[i]);
        out = e2e_strf("%s%s", out, sse_event(NULL, c));
    }
    return e2e_strf("%sdata: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},"
                    "\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n",
                    out);
}

static char *whole_args(void)
{
    char *a = e2e_strf("%s", "");
    for (size_t i = 0; i < NPIECES; i++)
        a = e2e_strf("%s%s", a, PIECES[i]);
    return a;
}

/* The same call, not streamed. */
static char *oai_tool_doc(void)
{
    cJSON *d =
        parse("{\"id\":\"c2\",\"object\":\"chat.completion\",\"created\":1,\"model\":"
              "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              "\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
              "\"function\":{\"name\":\"pay\"}}]},\"finish_reason\":\"tool_calls\"}]}");
    cJSON *fn =
        get(cJSON_GetArrayItem(
                get(get(cJSON_GetArrayItem(get(d, "choices"), 0), "message"), "tool_calls"), 0),
            "function");
    cJSON_AddStringToObject(fn, "arguments", whole_args());
    char *s = cJSON_PrintUnformatted(d);
    char *out = e2e_strf("%s", s);
    cJSON_free(s);
    cJSON_Delete(d);
    return out;
}

/* An Anthropic stream of one tool_use block, its input in PIECES. */
static char *anth_tool_stream(void)
{
    char *out = e2e_strf(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-"
        "sonnet-4-5\",\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
        "\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"pay\","
        "\"input\":{}}}\n\n");
    for (size_t i = 0; i < NPIECES; i++) {
        cJSON *e = parse("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
                         "\"input_json_delta\"}}");
        cJSON_AddStringToObject(get(e, "delta"), "partial_json", PIECES[i]);
        out = e2e_strf("%s%s", out, sse_event("content_block_delta", e));
    }
    return e2e_strf(
        "%sevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"tool_use\"},\"usage\":{\"output_tokens\":12}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        out);
}

static char *anth_tool_doc(void)
{
    return e2e_strf("{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
                    "\"claude-sonnet-4-5\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\","
                    "\"name\":\"pay\",\"input\":%s}],\"stop_reason\":\"tool_use\","
                    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":9}}",
                    whole_args());
}

static void routes(struct mock *m, int stream)
{
    mock_clear_routes(m);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = stream ? "Content-Type: text/event-stream"
                                                      : "Content-Type: application/json",
                                    .body = stream ? oai_tool_stream() : oai_tool_doc(),
                                    .chunking = stream ? "events" : NULL,
                                }),
                 0);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/messages",
                                    .headers = stream ? "Content-Type: text/event-stream"
                                                      : "Content-Type: application/json",
                                    .body = stream ? anth_tool_stream() : anth_tool_doc(),
                                    .chunking = stream ? "events" : NULL,
                                }),
                 0);
}

/* ---- what the client got ------------------------------------------------------------------- */

/* The redacted arguments, as the client got them: JSON, with each value redacted. */
static void assert_redacted(const char *args, const char *body)
{
    cr_assert_not_null(args, "no arguments: %s", body);
    cJSON *j = cJSON_Parse(args);
    cr_assert_not_null(j, "the arguments are not JSON: %s", args);
    cr_assert_str_eq(jstr(j, "card"), "[CARD]", "%s", args);
    cr_assert_str_eq(jstr(j, "note"), "mail [EMAIL]", "%s", args);
    cr_assert_eq(get(j, "n")->valuedouble, 1, "%s", args);
    cJSON_Delete(j);
    cr_assert_null(strstr(body, "1111"), "the card went out: %s", body);
    cr_assert_null(strstr(body, "ple.com"), "the address went out: %s", body);
}

/* A stream's pieces of one field, concatenated: chat's tool_calls arguments, Anthropic's
 * partial_json, Responses' function_call_arguments deltas. */
static char *stream_args(struct e2e_resp *r, const char *dialect)
{
    char *a = e2e_strf("%s", "");
    for (int i = 0; i < r->n_events; i++) {
        const cJSON *e = e2e_resp_event_json(r, i);
        const char *p = NULL;
        if (!strcmp(dialect, "chat"))
            p = jstr(
                get(cJSON_GetArrayItem(
                        get(get(cJSON_GetArrayItem(get(e, "choices"), 0), "delta"), "tool_calls"),
                        0),
                    "function"),
                "arguments");
        else if (!strcmp(dialect, "anthropic"))
            p = jstr(get(e, "delta"), "partial_json");
        else if (!strcmp(jstr(e, "type") ? jstr(e, "type") : "",
                         "response.function_call_arguments.delta"))
            p = jstr(e, "delta");
        if (p)
            a = e2e_strf("%s%s", a, p);
    }
    return a;
}

#define CHAT                                                                                       \
    "{\"model\":\"openai/gpt-4o-mini\",%s\"messages\":[{\"role\":\"user\",\"content\":\"pay\"}]}"
#define ANTH                                                                                       \
    "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,%s\"messages\":[{\"role\":"      \
    "\"user\",\"content\":\"pay\"}]}"
#define RESP "{\"model\":\"openai/gpt-4o-mini\",\"store\":false,%s\"input\":\"pay\"}"

Test(guard_tools, a_streamed_tool_calls_arguments_are_redacted_and_stay_json)
{
    struct mock *m = e2e_mock(NULL);
    routes(m, 1);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]");
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/chat/completions", e2e_strf(CHAT, "\"stream\":true,"), NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    assert_redacted(stream_args(r, "chat"), r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    e2e_resp_free(r);

    /* Anthropic SSE from a native Anthropic target. */
    r = e2e_stream(gw, "/v1/messages", e2e_strf(ANTH, "\"stream\":true,"), AHDR, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    assert_redacted(stream_args(r, "anthropic"), r->body);
    cr_assert_not_null(strstr(r->body, "event: message_stop"), "%s", r->body);
    e2e_resp_free(r);

    /* Responses SSE. */
    r = e2e_stream(gw, "/v1/responses", e2e_strf(RESP, "\"stream\":true,"), NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    assert_redacted(stream_args(r, "responses"), r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

Test(guard_tools, a_whole_tool_calls_arguments_are_redacted_and_stay_json)
{
    struct mock *m = e2e_mock(NULL);
    routes(m, 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]");
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", e2e_strf(CHAT, ""), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *tc = cJSON_GetArrayItem(
        get(get(cJSON_GetArrayItem(get(e2e_resp_json(r), "choices"), 0), "message"), "tool_calls"),
        0);
    cr_assert_str_eq(jstr(tc, "id"), "call_1", "%s", r->body);
    cr_assert_str_eq(jstr(get(tc, "function"), "name"), "pay", "%s", r->body);
    assert_redacted(jstr(get(tc, "function"), "arguments"), r->body);
    e2e_resp_free(r);

    /* Anthropic, native target: the tool_use input is an object. */
    r = e2e_post(gw, "/v1/messages", e2e_strf(ANTH, ""), AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *b = cJSON_GetArrayItem(get(e2e_resp_json(r), "content"), 0);
    cr_assert_str_eq(jstr(b, "type"), "tool_use", "%s", r->body);
    char *input = cJSON_PrintUnformatted(get(b, "input"));
    assert_redacted(input, r->body);
    cJSON_free(input);
    e2e_resp_free(r);

    /* Responses: a function_call item. */
    r = e2e_post(gw, "/v1/responses", e2e_strf(RESP, ""), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *it, *fc = NULL;
    cJSON_ArrayForEach(it, get(e2e_resp_json(r), "output"))
    {
        if (jstr(it, "type") && !strcmp(jstr(it, "type"), "function_call"))
            fc = it;
    }
    cr_assert_not_null(fc, "%s", r->body);
    assert_redacted(jstr(fc, "arguments"), r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* block: the answer is refused; nothing of the arguments went out. */
Test(guard_tools, a_tool_call_with_a_blocked_value_refuses_the_answer)
{
    const char *chain = "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\",\"action\":"
                        "\"block\",\"types\":[\"card\"]}}]";
    struct mock *m = e2e_mock(NULL);
    routes(m, 0);
    struct e2e_gw *gw = gw_for(m, chain);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", e2e_strf(CHAT, ""), NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(get(e2e_resp_json(r), "error"), "code"), "guardrail_blocked", "%s",
                     r->body);
    cr_assert_null(strstr(r->body, "1111"), "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", e2e_strf(ANTH, ""), AHDR);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_null(strstr(r->body, "1111"), "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);

    m = e2e_mock(NULL);
    routes(m, 1);
    gw = gw_for(m, chain);
    r = e2e_stream(gw, "/v1/chat/completions", e2e_strf(CHAT, "\"stream\":true,"), NULL, NULL);
    cr_assert_not_null(strstr(r->body, "blocked by guardrail 'pii'"), "%s", r->body);
    cr_assert_null(strstr(r->body, "1111"), "%s", r->body);
    cr_assert_null(strstr(r->body, "u0034"), "a piece of the arguments went out: %s", r->body);
    e2e_resp_free(r);
    r = e2e_stream(gw, "/v1/messages", e2e_strf(ANTH, "\"stream\":true,"), AHDR, NULL);
    cr_assert_not_null(strstr(r->body, "blocked by guardrail 'pii'"), "%s", r->body);
    cr_assert_null(strstr(r->body, "u0034"), "a piece of the arguments went out: %s", r->body);
    e2e_resp_free(r);
    r = e2e_stream(gw, "/v1/responses", e2e_strf(RESP, "\"stream\":true,"), NULL, NULL);
    cr_assert_not_null(strstr(r->body, "blocked by guardrail 'pii'"), "%s", r->body);
    cr_assert_null(strstr(r->body, "u0034"), "a piece of the arguments went out: %s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}
