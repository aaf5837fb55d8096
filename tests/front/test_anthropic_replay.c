/*
 * test_anthropic_replay - Anthropic clients through real plugins: the upstream's bytes (the
 * project's own provider fixtures) through the exchange and the plugin into the Anthropic
 * renderer, every stream replayed whole, byte by byte and split at every offset (the client
 * must get the same bytes each time), golden-tested and checked as the SDKs read them. For an
 * Anthropic target the answer must be the upstream's own message again (fidelity), and the
 * request must be the client's own body.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/anth_test.h"
#include "front/anthropic.h"

#define SSE_HEADERS "Content-Type: text/event-stream\r\n"
#define JSON_HEADERS "Content-Type: application/json\r\n"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static void parse_ok(const char *body, const char *path, const char *betas, struct gw_parsed *p)
{
    struct gw_front_err err;
    cr_assert_eq(at_parse(body, path, betas, p, &err), 0, "%s", err.message);
}

static char *request(const char *name, int stream)
{
    char rel[256];
    snprintf(rel, sizeof rel, "anthropic-inbound/requests/%s.json", name);
    char *body = at_read(rel, NULL);
    cJSON *j = cJSON_Parse(body);
    free(body);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "stream");
    cJSON_AddBoolToObject(j, "stream", stream);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* The stream fixture through vkey, whole, byte by byte and cut at every offset: the same bytes
 * each time, a conforming stream, equal to the golden replay/<golden>. Returns the assembled
 * message (caller deletes). */
static cJSON *replay_stream(const struct gw_parsed *p, const char *vkey, const char *model,
                            const char *fixture, const char *golden)
{
    size_t len, n, m;
    int status;
    char *body = at_read(fixture, &len);
    char *whole = at_replay(p, vkey, model, 200, SSE_HEADERS, body, len, NULL, 0, &status, &n);
    cr_assert_eq(status, 200);
    struct at_stream st;
    char why[256];
    cr_assert_eq(at_check_sse(whole, n, &st, why, sizeof why), 0, "%s: %s\n%s", fixture, why,
                 whole);
    cr_assert_gt(st.start_input, 0, "message_start must carry real input tokens");
    char rel[256];
    snprintf(rel, sizeof rel, "anthropic-inbound/replay/%s", golden);
    at_golden(rel, whole, n);

    size_t *cuts = malloc(sizeof *cuts * (len ? len : 1));
    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    char *bytewise =
        at_replay(p, vkey, model, 200, SSE_HEADERS, body, len, cuts, len - 1, &status, &m);
    cr_assert(m == n && !memcmp(bytewise, whole, n), "%s byte by byte differs", fixture);
    free(bytewise);
    for (size_t k = 1; k < len; k++) {
        char *split = at_replay(p, vkey, model, 200, SSE_HEADERS, body, len, &k, 1, &status, &m);
        cr_assert(m == n && !memcmp(split, whole, n), "%s cut at %zu differs", fixture, k);
        free(split);
    }
    free(cuts);
    free(whole);
    free(body);
    return st.message;
}

/* What an SDK makes of the upstream's own stream or message: the oracle for fidelity. */
static cJSON *upstream_message(const char *fixture)
{
    size_t len;
    char *body = at_read(fixture, &len);
    cJSON *m;
    if (strstr(fixture, ".sse")) {
        struct at_stream st;
        char why[256];
        cr_assert_eq(at_check_sse(body, len, &st, why, sizeof why), 0, "%s: %s", fixture, why);
        m = st.message;
    } else {
        m = cJSON_Parse(body);
    }
    free(body);
    return m;
}

static double count(const cJSON *usage, const char *k)
{
    const cJSON *v = get(usage, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Our answer is the upstream's: every block (a tool_use's "caller" aside), the stop reason
 * and sequence, the four usage counts. */
static void assert_faithful(const cJSON *ours, cJSON *theirs)
{
    cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(theirs, "content"))
        cJSON_DeleteItemFromObjectCaseSensitive(b, "caller");
    char *o = cJSON_PrintUnformatted(get(ours, "content"));
    char *t = cJSON_PrintUnformatted(get(theirs, "content"));
    cr_assert(cJSON_Compare(get(ours, "content"), get(theirs, "content"), 1),
              "content differs:\nours   %s\ntheirs %s", o, t);
    free(o);
    free(t);
    cr_assert_str_eq(jstr(ours, "stop_reason"), jstr(theirs, "stop_reason"));
    cr_assert(cJSON_Compare(get(ours, "stop_sequence"), get(theirs, "stop_sequence"), 1));
    static const char *const keys[] = {"input_tokens", "output_tokens",
                                       "cache_creation_input_tokens", "cache_read_input_tokens",
                                       NULL};
    for (int i = 0; keys[i]; i++)
        cr_assert_eq(count(get(ours, "usage"), keys[i]), count(get(theirs, "usage"), keys[i]),
                     "usage.%s", keys[i]);
}

/* ---- chat-wire and native-translation targets --------------------------------------------- */

Test(anthropic_replay, openai_text_stream)
{
    struct gw_parsed p;
    char *req = request("basic", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *m =
        replay_stream(&p, "openai", "gpt-4o-mini", "mock/stream_text.sse", "openai_text.sse");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(get(m, "content"), 0), "text"),
                     "Hello from the aigw mock provider. This stream was served from a local "
                     "fixture.");
    cr_assert_str_eq(jstr(m, "stop_reason"), "end_turn");
    cr_assert_eq(count(get(m, "usage"), "input_tokens"), 14, "the upstream's count at the end");
    cr_assert_eq(count(get(m, "usage"), "output_tokens"), 16);
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, openai_tool_stream)
{
    struct gw_parsed p;
    char *req = request("tool_turn", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *m =
        replay_stream(&p, "openai", "gpt-4o-mini", "mock/stream_tools.sse", "openai_tools.sse");
    const cJSON *b = cJSON_GetArrayItem(get(m, "content"), 0);
    cr_assert_str_eq(jstr(b, "type"), "tool_use");
    cr_assert_str_eq(jstr(get(b, "input"), "city"), "Paris");
    cr_assert_str_eq(jstr(m, "stop_reason"), "tool_use");
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, gemini_parallel_tools_stream)
{
    struct gw_parsed p;
    parse_ok("{\"model\":\"gemini-2.5-flash\",\"max_tokens\":500,\"stream\":true,\"tools\":["
             "{\"name\":\"get_forecast\",\"input_schema\":{\"type\":\"object\",\"properties\":"
             "{\"place\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}}}},"
             "{\"name\":\"get_tide\",\"input_schema\":{\"type\":\"object\",\"properties\":"
             "{\"harbour\":{\"type\":\"string\"}}}}],"
             "\"messages\":[{\"role\":\"user\",\"content\":\"Forecast and tide for Oslo?\"}]}",
             NULL, NULL, &p);
    cJSON *m = replay_stream(&p, "gemini", "gemini-2.5-flash", "gemini/stream_tools.sse",
                             "gemini_tools.sse");
    const cJSON *content = get(m, "content");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(content, 0), "type"), "thinking");
    const cJSON *f = cJSON_GetArrayItem(content, 1), *t = cJSON_GetArrayItem(content, 2);
    cr_assert_str_eq(jstr(f, "name"), "get_forecast");
    cr_assert_str_eq(jstr(get(f, "input"), "place"), "Oslo", "arguments given whole survive");
    cr_assert_str_eq(jstr(t, "name"), "get_tide");
    cr_assert_str_eq(jstr(get(t, "input"), "harbour"), "Oslo");
    cr_assert_str_neq(jstr(f, "id"), jstr(t, "id"));
    /* Gemini's calls carry no id: ours come from the message id, so no turn repeats them */
    cr_assert_eq(strncmp(jstr(f, "id"), "toolu_", 6), 0, "%s", jstr(f, "id"));
    cr_assert(strlen(jstr(f, "id")) > 6 + 4, "%s", jstr(f, "id"));
    cr_assert_str_eq(jstr(m, "stop_reason"), "tool_use", "Gemini says STOP after calling tools");
    cJSON_Delete(m);
    gw_parsed_free(&p);
}

Test(anthropic_replay, openai_message_with_tool_call)
{
    struct gw_parsed p;
    char *req = request("tool_turn", 0);
    parse_ok(req, NULL, NULL, &p);
    size_t len, n;
    int status;
    char *body = at_read("mock/chat_tools.json", &len);
    char *out =
        at_replay(&p, "openai", "gpt-4o-mini", 200, JSON_HEADERS, body, len, NULL, 0, &status, &n);
    cr_assert_eq(status, 200);
    cJSON *m = cJSON_Parse(out);
    char why[256];
    cr_assert_eq(at_check_message(m, why, sizeof why), 0, "%s: %s", why, out);
    at_golden("anthropic-inbound/replay/openai_tools.json", out, n);
    cr_assert_str_eq(jstr(m, "stop_reason"), "tool_use");
    cr_assert_eq(count(get(m, "usage"), "input_tokens"), 61);
    cJSON_Delete(m);
    free(out);
    free(body);
    gw_parsed_free(&p);
    free(req);
}

/* ---- an Anthropic target: the client's own body out, the upstream's own message back ------- */

Test(anthropic_replay, native_thinking_stream)
{
    struct gw_parsed p;
    char *req = request("tool_turn", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *m = replay_stream(&p, "anthropic", "claude-sonnet-4-5-20250929",
                             "anthropic/stream_thinking.sse", "anthropic_thinking.sse");
    cJSON *theirs = upstream_message("anthropic/stream_thinking.sse");
    assert_faithful(m, theirs);
    cJSON_Delete(theirs);
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_tools_stream)
{
    struct gw_parsed p;
    char *req = request("tool_turn", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *m = replay_stream(&p, "anthropic", "claude-sonnet-4-5-20250929",
                             "anthropic/stream_tools.sse", "anthropic_tools.sse");
    cJSON *theirs = upstream_message("anthropic/stream_tools.sse");
    assert_faithful(m, theirs);
    cJSON_Delete(theirs);
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_search_citations_stream)
{
    struct gw_parsed p;
    char *req = request("claude_code", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *m =
        replay_stream(&p, "anthropic", "claude-sonnet-4-5-20250929",
                      "anthropic-inbound/upstream/native_search.sse", "anthropic_search.sse");
    cJSON *theirs = upstream_message("anthropic-inbound/upstream/native_search.sse");
    assert_faithful(m, theirs);
    cJSON_Delete(theirs);
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_error_event_mid_stream)
{
    struct gw_parsed p;
    char *req = request("basic", 1);
    parse_ok(req, NULL, NULL, &p);
    size_t len, n;
    int status;
    char *body = at_read("anthropic/stream_error.sse", &len);
    char *out = at_replay(&p, "anthropic", "claude-haiku-4-5", 200, SSE_HEADERS, body, len, NULL, 0,
                          &status, &n);
    struct at_stream st;
    char why[256];
    cr_assert_eq(at_check_sse(out, n, &st, why, sizeof why), 0, "%s\n%s", why, out);
    cr_assert_str_eq(st.error_type, "overloaded_error");
    at_golden("anthropic-inbound/replay/anthropic_error.sse", out, n);
    cJSON_Delete(st.message);
    free(out);
    free(body);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_messages)
{
    static const char *const fixtures[] = {"anthropic/chat_thinking.json",
                                           "anthropic/chat_tool_use.json", "anthropic/chat.json",
                                           "anthropic-inbound/upstream/native_citations.json"};
    struct gw_parsed p;
    char *req = request("tool_turn", 0);
    parse_ok(req, NULL, NULL, &p);
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        size_t len, n;
        int status;
        char *body = at_read(fixtures[i], &len);
        char *out = at_replay(&p, "anthropic", "claude-sonnet-4-5-20250929", 200, JSON_HEADERS,
                              body, len, NULL, 0, &status, &n);
        cr_assert_eq(status, 200);
        cJSON *m = cJSON_Parse(out);
        char why[256];
        cr_assert_eq(at_check_message(m, why, sizeof why), 0, "%s: %s\n%s", fixtures[i], why, out);
        cJSON *theirs = upstream_message(fixtures[i]);
        assert_faithful(m, theirs);
        cr_assert_str_eq(jstr(m, "id"), jstr(theirs, "id"));
        cJSON_Delete(theirs);
        cJSON_Delete(m);
        free(out);
        free(body);
    }
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_529_is_overloaded)
{
    struct gw_parsed p;
    char *req = request("basic", 0);
    parse_ok(req, NULL, NULL, &p);
    size_t len, n;
    int status;
    char *body = at_read("anthropic/error_529.json", &len);
    char *out = at_replay(&p, "anthropic", "claude-haiku-4-5", 529, JSON_HEADERS, body, len, NULL,
                          0, &status, &n);
    cJSON *doc = cJSON_Parse(out);
    cr_assert_str_eq(jstr(doc, "type"), "error");
    cr_assert_str_eq(jstr(get(doc, "error"), "type"), "overloaded_error");
    cr_assert_str_eq(jstr(get(doc, "error"), "message"), "Overloaded");
    cr_assert_geq(status, 500, "a status the SDKs retry");
    cJSON_Delete(doc);
    free(out);
    free(body);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_request_is_the_clients_body)
{
    struct gw_parsed p;
    char *req = request("claude_code", 1);
    parse_ok(req, NULL, NULL, &p);
    gw_parsed_free(&p);
    parse_ok(req, NULL, "claude-code-20250219,interleaved-thinking-2025-05-14", &p);
    char *url = NULL, *beta = NULL;
    cJSON *up = at_upstream_body(&p, "anthropic", "claude-sonnet-4-5-20250929", &url,
                                 "anthropic-beta", &beta);
    cr_assert_str_eq(url, "http://mock.test/v1/messages");
    cr_assert_str_eq(beta, "claude-code-20250219,interleaved-thinking-2025-05-14");
    cJSON *want = cJSON_Parse(req);
    cJSON_ReplaceItemInObjectCaseSensitive(want, "model",
                                           cJSON_CreateString("claude-sonnet-4-5-20250929"));
    char *u = cJSON_PrintUnformatted(up);
    cr_assert(cJSON_Compare(up, want, 1), "the upstream body is not the client's:\n%s", u);
    free(u);
    cJSON_Delete(want);
    cJSON_Delete(up);
    free(url);
    free(beta);
    gw_parsed_free(&p);
    free(req);
}

/* Claude on Vertex AI shares the translation: the client's body there too, with Vertex's own
 * version key instead of the model and the betas in the body, and its stream read back the
 * same way. */
Test(anthropic_replay, vertex_claude_is_native_too)
{
    struct gw_parsed p;
    char *req = request("claude_code", 1);
    parse_ok(req, NULL, "claude-code-20250219", &p);
    char *url = NULL;
    cJSON *up = at_upstream_body(&p, "vertex-ai", "claude-sonnet-4-5@20250929", &url, NULL, NULL);
    cr_assert_not_null(strstr(url, "/publishers/anthropic/models/claude-sonnet-4-5@20250929:"
                                   "streamRawPredict"),
                       "%s", url);
    cJSON *want = cJSON_Parse(req);
    cJSON_DeleteItemFromObjectCaseSensitive(want, "model");
    cJSON_AddStringToObject(want, "anthropic_version", "vertex-2023-10-16");
    cJSON *betas = cJSON_AddArrayToObject(want, "anthropic_beta");
    cJSON_AddItemToArray(betas, cJSON_CreateString("claude-code-20250219"));
    char *u = cJSON_PrintUnformatted(up);
    cr_assert(cJSON_Compare(up, want, 1), "the Vertex body is not the client's:\n%s", u);
    free(u);
    cJSON_Delete(want);
    cJSON_Delete(up);
    free(url);
    cJSON *m = replay_stream(&p, "vertex-ai", "claude-sonnet-4-5@20250929",
                             "anthropic-inbound/upstream/native_search.sse",
                             "anthropic_search.sse"); /* the same answer as from Anthropic */
    cJSON *theirs = upstream_message("anthropic-inbound/upstream/native_search.sse");
    assert_faithful(m, theirs);
    cJSON_Delete(theirs);
    cJSON_Delete(m);
    gw_parsed_free(&p);
    free(req);
}

Test(anthropic_replay, native_count_tokens)
{
    struct gw_parsed p;
    char *req = request("claude_code", 0);
    parse_ok(req, "/v1/messages/count_tokens", NULL, &p);
    char *url = NULL;
    cJSON *up = at_upstream_body(&p, "anthropic", "claude-sonnet-4-5-20250929", &url, NULL, NULL);
    cr_assert_str_eq(url, "http://mock.test/v1/messages/count_tokens");
    static const char *const gone[] = {"max_tokens", "stream", "metadata", NULL};
    for (int i = 0; gone[i]; i++)
        cr_assert_null(get(up, gone[i]), "count_tokens refuses %s", gone[i]);
    cr_assert_not_null(get(up, "tools"));
    cr_assert_not_null(get(up, "system"));
    cr_assert_not_null(get(up, "thinking"));
    int status;
    size_t n;
    const char *answer = "{\"input_tokens\":4242}";
    char *out = at_replay(&p, "anthropic", "claude-sonnet-4-5-20250929", 200, JSON_HEADERS, answer,
                          strlen(answer), NULL, 0, &status, &n);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(out, "{\"input_tokens\":4242}");
    free(out);
    cJSON_Delete(up);
    free(url);
    gw_parsed_free(&p);
    free(req);
}

/* A count for a client that did not speak Messages (no native body): the translated request,
 * cut to what count_tokens takes. */
Test(anthropic_replay, count_tokens_from_a_translated_request)
{
    struct gw_parsed p;
    char *req = request("claude_code", 0);
    parse_ok(req, "/v1/messages/count_tokens", NULL, &p);
    cJSON *native = p.native;
    p.native = NULL;
    char *url = NULL;
    cJSON *up = at_upstream_body(&p, "anthropic", "claude-sonnet-4-5-20250929", &url, NULL, NULL);
    cr_assert_str_eq(url, "http://mock.test/v1/messages/count_tokens");
    cr_assert_str_eq(cJSON_GetStringValue(get(up, "model")), "claude-sonnet-4-5-20250929");
    cr_assert_gt(cJSON_GetArraySize(get(up, "messages")), 0);
    cr_assert_eq(cJSON_GetArraySize(get(up, "tools")), 4);
    cr_assert_null(get(up, "max_tokens"));
    cr_assert_null(get(up, "stream"));
    cJSON_Delete(up);
    free(url);
    p.native = native;
    gw_parsed_free(&p);
    free(req);
}

/* ---- the translated request reaches chat and native providers intact ----------------------- */

Test(anthropic_replay, chat_targets_get_the_translated_request)
{
    struct gw_parsed p;
    char *req = request("claude_code", 1);
    parse_ok(req, NULL, NULL, &p);
    cJSON *up = at_upstream_body(&p, "openai", "gpt-4o-mini", NULL, NULL, NULL);
    cr_assert(cJSON_Compare(get(up, "messages"), get(p.body, "messages"), 1));
    cr_assert_eq(cJSON_GetArraySize(get(up, "tools")), 4);
    cr_assert_null(get(up, "thinking"));
    cr_assert(cJSON_IsTrue(get(get(up, "stream_options"), "include_usage")));
    cJSON_Delete(up);
    /* Gemini: its own wire, every tool declared */
    up = at_upstream_body(&p, "gemini", "gemini-2.5-flash", NULL, NULL, NULL);
    const cJSON *decls = get(cJSON_GetArrayItem(get(up, "tools"), 0), "functionDeclarations");
    cr_assert_eq(cJSON_GetArraySize(decls), 4);
    cJSON_Delete(up);
    gw_parsed_free(&p);
    free(req);
}
