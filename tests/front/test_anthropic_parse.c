/*
 * test_anthropic_parse - the Anthropic dialect's request side: Messages bodies (the project's
 * own fixtures under tests/fixtures/anthropic-inbound/requests/) into the internal chat
 * request, golden-tested, plus the properties every translation must keep (tool_use and
 * tool_result pairs, ids and names chat providers accept, nothing of the client's body lost
 * for a native target) and the errors bad bodies get.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/anth_test.h"
#include "front/anthropic.h"
#include "front/tokens.h"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Parses requests/<name>.json; the internal body must equal requests/<name>.chat.json. */
static void golden(const char *name, struct gw_parsed *p)
{
    char rel[256], out_rel[256];
    snprintf(rel, sizeof rel, "anthropic-inbound/requests/%s.json", name);
    snprintf(out_rel, sizeof out_rel, "anthropic-inbound/requests/%s.chat.json", name);
    char *body = at_read(rel, NULL);
    struct gw_front_err err;
    int rc = at_parse(body, NULL, NULL, p, &err);
    cr_assert_eq(rc, 0, "%s: %s", name, err.message);
    char *got = cJSON_PrintUnformatted(p->body);
    at_golden(out_rel, got, strlen(got));
    free(got);
    free(body);
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]))
            return 0;
    return 1;
}

/* Every assistant tool call is answered by a tool message right after it, ids matching, and
 * every id and name fits ^[a-zA-Z0-9_-]{1,64}$. */
static void assert_pairs(const cJSON *body)
{
    const cJSON *msgs = get(body, "messages"), *m, *tc;
    int i = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *calls = get(m, "tool_calls");
        int k = 0;
        cJSON_ArrayForEach(tc, calls)
        {
            const char *id = jstr(tc, "id");
            cr_assert(valid_name(id), "tool call id %s", id);
            cr_assert(valid_name(jstr(get(tc, "function"), "name")));
            const cJSON *ans = cJSON_GetArrayItem(msgs, i + 1 + k);
            cr_assert_str_eq(jstr(ans, "role"), "tool", "tool call %s is not answered next", id);
            cr_assert_str_eq(jstr(ans, "tool_call_id"), id);
            k++;
        }
        i++;
    }
}

Test(anthropic_parse, basic)
{
    struct gw_parsed p;
    golden("basic", &p);
    cr_assert_eq(p.op, AIGW_OP_CHAT);
    cr_assert_eq(p.stream, 0);
    cr_assert_str_eq(p.model, "claude-haiku-4-5");
    cr_assert_null(get(p.body, "top_k"), "chat providers reject top_k");
    cr_assert_eq(cJSON_GetArraySize(get(p.body, "stop")), 4, "chat takes four stop sequences");
    /* the client's body is kept whole for a native target, unknown fields included */
    cr_assert_not_null(get(p.native, "a_field_from_the_future"));
    cr_assert_not_null(get(p.native, "top_k"));
    cr_assert_gt(((struct gw_anth_ctx *)p.ctx)->input_estimate, 10);
    gw_parsed_free(&p);
}

Test(anthropic_parse, claude_code_shape)
{
    struct gw_parsed p;
    golden("claude_code", &p);
    cr_assert_eq(p.stream, 1);
    cr_assert_eq(p.include_usage, 1, "the renderer needs usage at the end of a stream");
    cr_assert(cJSON_IsTrue(get(get(p.body, "stream_options"), "include_usage")));
    /* billing line dropped, the two other system blocks joined */
    const cJSON *sys = cJSON_GetArrayItem(get(p.body, "messages"), 0);
    cr_assert_str_eq(jstr(sys, "content"),
                     "You are a coding agent.\nUse the tools to help the user.");
    /* no Anthropic-only knob reaches a chat provider */
    static const char *const gone[] = {"thinking", "context_management", "metadata",
                                       "system",   "reasoning_effort",   NULL};
    for (int i = 0; gone[i]; i++)
        cr_assert_null(get(p.body, gone[i]), "%s reached the chat body", gone[i]);
    /* the long MCP tool name fits chat's limit and maps back */
    const cJSON *t;
    int mapped = 0;
    cJSON_ArrayForEach(t, get(p.body, "tools"))
    {
        const char *name = jstr(get(t, "function"), "name");
        cr_assert(valid_name(name), "tool name %s", name);
        const char *client = gw_anth_client_name(p.ctx, name, strlen(name));
        if (client) {
            cr_assert_str_eq(client,
                             "mcp__project_tracker_service__list_open_issues_for_the_current_"
                             "milestone");
            mapped++;
        }
    }
    cr_assert_eq(mapped, 1);
    /* a long user_id is hashed, the same way every time */
    const char *user = jstr(p.body, "user");
    cr_assert(user && strlen(user) <= 64 && !strncmp(user, "u-", 2));
    struct gw_parsed again;
    golden("claude_code", &again);
    cr_assert_str_eq(jstr(again.body, "user"), user);
    gw_parsed_free(&again);
    /* the native body keeps cache_control, thinking and context_management */
    cr_assert_not_null(get(p.native, "context_management"));
    cr_assert_not_null(get(cJSON_GetArrayItem(get(p.native, "system"), 1), "cache_control"));
    cr_assert_not_null(get(p.native, "thinking"));
    gw_parsed_free(&p);
}

Test(anthropic_parse, tool_turn_pairs_and_ids)
{
    struct gw_parsed p;
    golden("tool_turn", &p);
    assert_pairs(p.body);
    const cJSON *msgs = get(p.body, "messages");
    /* user, assistant (thinking dropped), tool, tool, user (text + the tool's image) */
    cr_assert_eq(cJSON_GetArraySize(msgs), 5);
    const cJSON *asst = cJSON_GetArrayItem(msgs, 1);
    cr_assert_str_eq(jstr(asst, "content"), "I'll look at both.");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 3), "content"), "Error: du: permission denied");
    const cJSON *last = cJSON_GetArrayItem(msgs, 4);
    cr_assert_str_eq(jstr(last, "role"), "user");
    cr_assert(cJSON_IsArray(get(last, "content")), "the tool's image travels as a part");
    /* the same foreign id maps the same way in another request (the next turn) */
    const char *bash_id = jstr(cJSON_GetArrayItem(get(asst, "tool_calls"), 1), "id");
    char again[65];
    gw_anth_tool_id("functions.Bash:1", strlen("functions.Bash:1"), NULL, 0, again);
    cr_assert_str_eq(bash_id, again);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(get(asst, "tool_calls"), 0), "id"), "toolu_01ReadAbc",
                     "valid ids are kept as they are");
    gw_parsed_free(&p);
}

Test(anthropic_parse, media_and_documents)
{
    struct gw_parsed p;
    golden("media", &p);
    gw_parsed_free(&p);
}

Test(anthropic_parse, server_tools_dropped_and_named)
{
    struct gw_parsed p;
    golden("server_tools", &p);
    cr_assert_str_eq(p.dropped_tools, "web_search,bash");
    cr_assert_eq(cJSON_GetArraySize(get(p.body, "tools")), 2);
    cr_assert(cJSON_IsFalse(get(p.body, "parallel_tool_calls")));
    /* the native body still has every tool */
    cr_assert_eq(cJSON_GetArraySize(get(p.native, "tools")), 4);
    gw_parsed_free(&p);
}

/* The names go into the X-Gateway-Dropped-Tools header: a comma or CR/LF in one once went
 * there as sent. */
Test(anthropic_parse, dropped_tool_names_are_header_tokens)
{
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body = "{\"model\":\"m\",\"max_tokens\":5,\"tools\":[{\"type\":"
                       "\"bash_20250124\",\"name\":\"a,b\\r\\nX: 1\"},{\"type\":\"x_1\","
                       "\"name\":\"\"},{\"type\":\"x_2\",\"name\":\"\"}],"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    cr_assert_eq(at_parse(body, NULL, NULL, &p, &err), 0, "%s", err.message);
    cr_assert_str_eq(p.dropped_tools, "a_b__X:_1,unknown");
    gw_parsed_free(&p);
}

/* Each name too long for chat providers was looked up among the ones mapped before it, and
 * the map grew by one: 50,000 long names in a 6 MB body cost a worker 9 s. 150,000 of them
 * (the timeout is a hang guard: the old code needs minutes), and answers still name them. */
Test(anthropic_parse, many_long_tool_names_are_mapped_in_linear_time, .timeout = 60)
{
    enum { N = 150000 };
    size_t cap = (size_t)N * 128 + 256, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len,
                            "{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":"
                            "\"user\",\"content\":\"x\"}],\"tools\":[");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s{\"name\":\"%070d\",\"input_schema\":{}}",
                                i ? "," : "", i);
    snprintf(body + len, cap - len, "]}");
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(at_parse(body, NULL, NULL, &p, &err), 0, "%s", err.message);
    free(body);
    const cJSON *tools = get(p.body, "tools");
    cr_assert_eq(cJSON_GetArraySize(tools), N);
    const cJSON *last = get(get(cJSON_GetArrayItem(tools, N - 1), "function"), "name");
    char want[80];
    snprintf(want, sizeof want, "%070d", N - 1);
    cr_assert_str_neq(last->valuestring, want, "a 70-character name is mapped for chat");
    const char *back = gw_anth_client_name(p.ctx, last->valuestring, strlen(last->valuestring));
    cr_assert(back && !strcmp(back, want), "%s", back ? back : "(none)");
    gw_parsed_free(&p);
}

Test(anthropic_parse, forcing_a_server_tool_forces_nothing_on_chat)
{
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body = "{\"model\":\"m\",\"max_tokens\":5,\"tools\":[{\"type\":"
                       "\"web_search_20250305\",\"name\":\"web_search\"},{\"name\":\"f\","
                       "\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":"
                       "\"tool\",\"name\":\"web_search\"},\"thinking\":{\"type\":\"enabled\"},"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    cr_assert_eq(at_parse(body, NULL, NULL, &p, &err), 0, "%s", err.message);
    cr_assert_null(get(p.body, "tool_choice"), "a chat provider would refuse an unknown function");
    cr_assert_eq(cJSON_GetArraySize(get(p.body, "tools")), 1);
    cr_assert_not_null(get(get(p.native, "tool_choice"), "name"));
    gw_parsed_free(&p);
}

Test(anthropic_parse, count_tokens_and_betas)
{
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body = "{\"model\":\"claude-haiku-4-5\",\"system\":\"Be brief.\","
                       "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                       "\"tools\":[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}]}";
    cr_assert_eq(at_parse(body, "/v1/messages/count_tokens",
                          " claude-code-20250219 ,, "
                          "interleaved-thinking-2025-05-14",
                          &p, &err),
                 0, "%s", err.message);
    cr_assert_eq(p.op, AIGW_OP_COUNT_TOKENS);
    cr_assert_eq(p.stream, 0);
    cr_assert_null(get(p.body, "max_tokens"));
    const cJSON *betas = get(p.native, "anthropic_beta");
    cr_assert_eq(cJSON_GetArraySize(betas), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(betas, 0)->valuestring, "claude-code-20250219");
    cr_assert_str_eq(cJSON_GetArrayItem(betas, 1)->valuestring, "interleaved-thinking-2025-05-14");
    gw_parsed_free(&p);
}

/* A thinking block aigw signed (for a chat provider's reasoning) must never reach a real
 * Anthropic model; without it the last turn cannot keep thinking on. */
Test(anthropic_parse, aigw_signatures_stripped_for_native)
{
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body =
        "{\"model\":\"m\",\"max_tokens\":100,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":"
        "1024},\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\","
        "\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"EqRealSig\"},"
        "{\"type\":\"text\",\"text\":\"a\"}]},{\"role\":\"user\",\"content\":\"q2\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t2\","
        "\"signature\":\"aigw:msg_x\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
        "\"f\",\"input\":{}}]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
        "\"tool_use_id\":\"toolu_1\",\"content\":\"ok\"}]}]}";
    cr_assert_eq(at_parse(body, NULL, NULL, &p, &err), 0, "%s", err.message);
    const cJSON *msgs = get(p.native, "messages");
    const cJSON *first = get(cJSON_GetArrayItem(msgs, 1), "content");
    const cJSON *last = get(cJSON_GetArrayItem(msgs, 3), "content");
    cr_assert_eq(cJSON_GetArraySize(first), 2, "Anthropic's own signature is kept");
    cr_assert_eq(cJSON_GetArraySize(last), 1, "aigw's signature is stripped");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(last, 0), "type"), "tool_use");
    cr_assert_null(get(p.native, "thinking"), "thinking off for a turn that lost its block");
    gw_parsed_free(&p);
}

struct bad_case {
    const char *body;
    const char *needle;
};

Test(anthropic_parse, bad_bodies_are_400_in_anthropic_terms)
{
    static const struct bad_case cases[] = {
        {"", "not valid JSON"},
        {"[1]", "JSON object"},
        {"{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]"
         "}",
         "UTF-8"},
        {"{\"max_tokens\":1,\"messages\":[]}", "model"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "max_tokens"},
        {"{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "max_tokens"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}", "messages"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}",
         "role"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":5}]}",
         "content"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{}]}]}",
         "type"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
         "[{\"type\":\"tool_result\"}]}]}",
         "tool_use_id"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"assistant\",\"content\":"
         "[{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\",\"input\":[1]}]}]}",
         "input"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"stream\":\"yes\",\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "stream"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"system\":[{\"type\":\"image\"}],\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         "system"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"tools\":[{\"input_schema\":{}}],\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         "name"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"tool_choice\":{\"type\":\"maybe\"},\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         "tool_choice"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":"
         "\"many\"},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "budget_tokens"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"stop_sequences\":[1],\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         "stop_sequences"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"metadata\":{\"user_id\":7},\"messages\":"
         "[{\"role\":\"user\",\"content\":\"x\"}]}",
         "metadata"},
        {"{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}",
         "no message"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_parsed p;
        struct gw_front_err err;
        int rc = at_parse(cases[i].body, NULL, NULL, &p, &err);
        cr_assert_lt(rc, 0, "case %zu was accepted: %s", i, cases[i].body);
        cr_assert_eq(err.status, 400, "case %zu", i);
        cr_assert_str_eq(err.type, "invalid_request_error", "case %zu", i);
        cr_assert_not_null(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
        gw_parsed_free(&p);
        /* and the error document says so in Anthropic's shape */
        struct gw_buf b;
        gw_buf_init(&b, 0);
        cr_assert_eq(gw_dialect_anthropic.error_body(&b, err.status, err.type, err.code, err.param,
                                                     err.message),
                     0);
        cJSON *doc = cJSON_ParseWithLength(b.ptr, b.len);
        cr_assert_str_eq(jstr(doc, "type"), "error");
        cr_assert_str_eq(jstr(get(doc, "error"), "type"), "invalid_request_error");
        cr_assert_str_eq(jstr(get(doc, "error"), "message"), err.message);
        cJSON_Delete(doc);
        gw_buf_free(&b);
    }
}

Test(anthropic_parse, error_types_by_status)
{
    static const struct {
        int status;
        const char *type;
        const char *want;
    } cases[] = {
        {400, NULL, "invalid_request_error"},
        {401, NULL, "authentication_error"},
        {402, NULL, "billing_error"},
        {403, NULL, "permission_error"},
        {404, NULL, "not_found_error"},
        {413, "invalid_request_error", "request_too_large"},
        {429, NULL, "rate_limit_error"},
        {500, "server_error", "api_error"},
        {502, "upstream_error", "api_error"},
        {503, NULL, "overloaded_error"},
        {529, NULL, "overloaded_error"},
        {504, "timeout_error", "timeout_error"},
        {500, "overloaded_error", "overloaded_error"},
        {422, NULL, "invalid_request_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_str_eq(gw_anth_error_type(cases[i].status, cases[i].type), cases[i].want,
                         "status %d", cases[i].status);
}

Test(anthropic_parse, estimate_grows_with_the_prompt)
{
    cJSON *a = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}");
    cJSON *b = cJSON_Parse("{\"system\":\"You are a helpful assistant who answers briefly.\","
                           "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                           "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":"
                           "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}]}");
    cJSON *c = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
                           "\"source\":{\"type\":\"url\",\"url\":\"https://x/y.png\"}}]}]}");
    int64_t ea = gw_tokens_anthropic(a), eb = gw_tokens_anthropic(b);
    /* "Hello there": 11 ASCII characters (3) + 3 for the message + 1 */
    cr_assert_eq(ea, 7);
    cr_assert_gt(eb, ea + 20);
    cr_assert_geq(gw_tokens_anthropic(c), 1600);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}
