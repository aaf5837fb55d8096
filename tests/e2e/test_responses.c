/*
 * POST /v1/responses through the real aigw binary to an OpenAI-wire, a native (Gemini) and
 * the Anthropic target, streaming and not, with function, custom and namespace tools and a
 * function_call_output turn; a Codex-shaped session (store false, the whole history resent,
 * apply_patch as a custom tool, encrypted reasoning asked for) through an OpenAI-wire and an
 * Anthropic mock; stored responses: GET, input_items, DELETE, previous_response_id chains,
 * and that one key cannot see another's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define KEY "sk-e2e-responses-0001"
#define PATCH "*** Begin Patch\n*** Add File: hello.txt\n+PONG\n*** End Patch\n"

static const char *s_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *fixture(const char *name)
{
    const char *path =
        e2e_strf("%s/tests/fixtures/responses-inbound/%s", getenv("AIGW_TEST_SRCDIR"), name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

/* ---- targets ------------------------------------------------------------------------------ */

static struct mock *openai_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"match_body\":{\"stream\":true},\"body_file\":"
                                        "\"responses-inbound/upstream/openai_stream_patch.sse\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    return m;
}

static struct mock *anthropic_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                                        "\"match_body\":{\"stream\":true},\"body_file\":"
                                        "\"responses-inbound/upstream/anthropic_stream_patch.sse\""
                                        "}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                                        "\"body_file\":\"anthropic/chat.json\"}"),
                 0);
    return m;
}

static struct mock *gemini_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":"
                                        "\"/v1beta/models/*:streamGenerateContent\","
                                        "\"body_file\":\"gemini/stream_tools.sse\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":"
                                        "\"/v1beta/models/*:generateContent\","
                                        "\"body_file\":\"gemini/chat_tools.json\"}"),
                 0);
    return m;
}

static struct e2e_gw *gw_for(const char *prefix, struct mock *m, const char *suffix)
{
    return e2e_gw_start(NULL, e2e_strf("%s_API_KEY=" KEY, prefix),
                        e2e_strf("%s_BASE_URL=%s%s", prefix, mock_url(m), suffix), NULL);
}

/* ---- the stream as a client checks it ----------------------------------------------------- */

/* Validates the event sequence (numbers, item ids, appends, one terminal event) and returns
 * the terminal event's response (owned by r). */
static cJSON *check_stream(struct e2e_resp *r, const char *terminal)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *ct = e2e_resp_header(r, "Content-Type");
    cr_assert(ct && !strncmp(ct, "text/event-stream", 17), "%s", ct);
    cr_assert(!strstr(r->body, "[DONE]"), "no [DONE] in this API");
    int added = 0, open = -1;
    const char *open_id = NULL;
    cJSON *last = NULL;
    for (int i = 0; i < r->n_events; i++) {
        cJSON *e = e2e_resp_event_json(r, i);
        cr_assert_not_null(e, "event %d: %s", i, r->events[i]);
        const char *type = s_of(e, "type");
        cr_assert_eq((int)cJSON_GetObjectItem(e, "sequence_number")->valuedouble, i);
        cr_assert_null(last, "%s after the terminal event", type);
        if (!strcmp(type, "response.output_item.added")) {
            cr_assert_eq(open, -1);
            cr_assert_eq((int)cJSON_GetObjectItem(e, "output_index")->valuedouble, added);
            open = added++;
            open_id = s_of(cJSON_GetObjectItem(e, "item"), "id");
        } else if (!strcmp(type, "response.output_item.done")) {
            cr_assert_str_eq(s_of(cJSON_GetObjectItem(e, "item"), "id"), open_id);
            open = -1;
        } else if (cJSON_GetObjectItem(e, "item_id")) {
            cr_assert_str_eq(s_of(e, "item_id"), open_id, "%s", type);
        } else if (!strncmp(type, "response.completed", 18) ||
                   !strcmp(type, "response.incomplete") || !strcmp(type, "response.failed")) {
            last = cJSON_GetObjectItem(e, "response");
            cr_assert_str_eq(type, terminal);
        }
    }
    cr_assert_not_null(last, "a terminal event:\n%s", r->body);
    const cJSON *u = cJSON_GetObjectItem(last, "usage");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(u, "input_tokens")) &&
                  cJSON_IsNumber(cJSON_GetObjectItem(u, "output_tokens")) &&
                  cJSON_IsNumber(cJSON_GetObjectItem(u, "total_tokens")),
              "integer usage for Codex");
    return last;
}

static const cJSON *output_of_type(const cJSON *resp, const char *type, int nth)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(resp, "output"))
    {
        if (!strcmp(s_of(it, "type"), type) && nth-- == 0)
            return it;
    }
    return NULL;
}

/* ---- OpenAI-wire ------------------------------------------------------------------------------
 */

Test(responses_e2e, openai_wire_document)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for("OPENAI", m, "/v1");
    struct e2e_resp *r = e2e_post(gw, "/v1/responses",
                                  "{\"model\":\"gpt-4o-mini\",\"input\":\"Capital of Norway?\","
                                  "\"instructions\":\"Be brief.\",\"max_output_tokens\":50}",
                                  "Authorization: Bearer client-a");
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(s_of(j, "object"), "response");
    cr_assert(!strncmp(s_of(j, "id"), "resp_", 5));
    cr_assert_str_eq(s_of(j, "status"), "completed");
    cr_assert_str_eq(s_of(j, "instructions"), "Be brief.");
    const cJSON *msg = output_of_type(j, "message", 0);
    cr_assert_not_null(msg, "%s", r->body);
    const char *text = s_of(cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0), "text");
    cr_assert(text && *text, "%s", r->body);
    cr_assert(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "usage"), "input_tokens")->valueint > 0);
    /* upstream: chat completions, instructions first, max_output_tokens renamed */
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    const cJSON *b = mock_req_json(up);
    cr_assert_str_eq(mock_req_header(up, "authorization"), "Bearer " KEY);
    cr_assert_null(cJSON_GetObjectItem(b, "input"));
    const cJSON *msgs = cJSON_GetObjectItem(b, "messages");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 1), "content"), "Capital of Norway?");
    cr_assert_eq(cJSON_GetObjectItem(b, "max_completion_tokens")->valueint, 50);
    mock_req_free(up);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Turn 1 of a Codex session, then turn 2 with the whole history resent (Codex's way). */
static void codex_session(const char *prefix, struct mock *m, const char *suffix, const char *model,
                          const char *upstream_path)
{
    struct e2e_gw *gw = gw_for(prefix, m, suffix);
    char *req = fixture("codex_session.request.json");
    cJSON *body = cJSON_Parse(req);
    cJSON_ReplaceItemInObject(body, "model", cJSON_CreateString(model));
    char *turn1 = cJSON_PrintUnformatted(body);
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/responses", turn1,
                   "Authorization: Bearer codex-user\noriginator: codex_exec", NULL);
    cJSON *resp = check_stream(r, "response.completed");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Dropped-Tools"), "web_search");
    const cJSON *ctc = output_of_type(resp, "custom_tool_call", 0);
    cr_assert_not_null(ctc, "apply_patch comes back as a custom_tool_call:\n%s", r->body);
    cr_assert_str_eq(s_of(ctc, "name"), "apply_patch");
    cr_assert_str_eq(s_of(ctc, "input"), PATCH);
    cr_assert(s_of(ctc, "call_id") && *s_of(ctc, "call_id"));
    cr_assert_not_null(output_of_type(resp, "message", 0));
    cr_assert_eq(cJSON_GetObjectItem(resp, "store")->type, cJSON_False);

    /* what the target was sent */
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert_str_eq(mock_req_path(up), upstream_path);
    const char *ub = mock_req_body(up);
    cr_assert(strstr(ub, "apply_patch"), "the custom tool went upstream as a function");
    cr_assert(!strstr(ub, "web_search"), "built-ins are not sent");
    cr_assert(!strstr(ub, "gAAAAA-opaque"), "OpenAI's encrypted reasoning stays out");
    cr_assert(strstr(ub, "multi_agent_v1__spawn_agent"), "namespace tools are flattened");
    cr_assert(strstr(ub, "call_ls01") && strstr(ub, "README.md"), "the function_call_output turn");
    mock_req_free(up);

    /* turn 2: everything again, plus turn 1's output and the patch's result */
    cJSON *input = cJSON_GetObjectItem(body, "input");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(resp, "output"))
        cJSON_AddItemToArray(input, cJSON_Duplicate(it, 1));
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "type", "custom_tool_call_output");
    cJSON_AddStringToObject(out, "call_id", s_of(ctc, "call_id"));
    cJSON_AddStringToObject(out, "output", "Success. Updated: A hello.txt");
    cJSON_AddItemToArray(input, out);
    char *turn2 = cJSON_PrintUnformatted(body);
    struct e2e_resp *r2 =
        e2e_stream(gw, "/v1/responses", turn2, "Authorization: Bearer codex-user", NULL);
    check_stream(r2, "response.completed");
    cr_assert_eq(mock_wait_requests(m, 2, 5000), 0);
    up = mock_request(m, 1);
    ub = mock_req_body(up);
    cr_assert(strstr(ub, "Success. Updated: A hello.txt"), "the custom tool's output went up");
    cr_assert(strstr(ub, "*** Begin Patch"), "the custom call went back up as a tool call");
    mock_req_free(up);

    e2e_resp_free(r);
    e2e_resp_free(r2);
    free(turn1);
    free(turn2);
    cJSON_Delete(body);
    free(req);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(responses_e2e, codex_session_through_openai_wire)
{
    struct mock *m = openai_mock();
    codex_session("OPENAI", m, "/v1", "gpt-5", "/v1/chat/completions");
    /* the custom tool as OpenAI saw it: a function with one string argument */
    const struct mock_req *up = mock_request(m, 0);
    const cJSON *tools = cJSON_GetObjectItem(mock_req_json(up), "tools");
    int found = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *fn = cJSON_GetObjectItem(t, "function");
        if (!strcmp(s_of(fn, "name"), "apply_patch")) {
            found = 1;
            const cJSON *req =
                cJSON_GetObjectItem(cJSON_GetObjectItem(fn, "parameters"), "required");
            cr_assert_str_eq(cJSON_GetArrayItem(req, 0)->valuestring, "input");
        }
    }
    cr_assert(found);
    const cJSON *so = cJSON_GetObjectItem(mock_req_json(up), "stream_options");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(so, "include_usage")));
    mock_req_free(up);
    mock_stop(m);
}

Test(responses_e2e, codex_session_through_anthropic)
{
    struct mock *m = anthropic_mock();
    codex_session("ANTHROPIC", m, "", "claude-sonnet-4-5", "/v1/messages");
    /* turn 2 carried the call and its result as Anthropic blocks */
    const struct mock_req *up = mock_request(m, 1);
    const char *ub = mock_req_body(up);
    cr_assert(strstr(ub, "\"tool_use\"") && strstr(ub, "\"tool_result\""), "%s", ub);
    mock_req_free(up);
    mock_stop(m);
}

Test(responses_e2e, anthropic_stream_reasoning_and_document)
{
    struct mock *m = anthropic_mock();
    struct e2e_gw *gw = gw_for("ANTHROPIC", m, "");
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/responses",
                   "{\"model\":\"claude-sonnet-4-5\",\"stream\":true,\"reasoning\":{\"effort\":"
                   "\"low\",\"summary\":\"auto\"},\"include\":[\"reasoning.encrypted_content\"],"
                   "\"tools\":[{\"type\":\"custom\",\"name\":\"apply_patch\"}],"
                   "\"input\":\"Add hello.txt\"}",
                   NULL, NULL);
    cJSON *resp = check_stream(r, "response.completed");
    const cJSON *rs = output_of_type(resp, "reasoning", 0);
    cr_assert_not_null(rs, "%s", r->body);
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(cJSON_GetObjectItem(rs, "summary"), 0), "text"),
                     "The user wants a file.");
    cr_assert(strstr(r->body, "response.reasoning_summary_text.delta"));
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/responses", "{\"model\":\"claude-sonnet-4-5\",\"input\":\"Hi\"}", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(s_of(j, "status"), "completed");
    cr_assert_not_null(output_of_type(j, "message", 0), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- a native target (Gemini) with function tools ---------------------------------------- */

static const char gemini_req[] =
    "{\"model\":\"gemini-2.5-flash\",%s\"input\":\"Forecast and tide for Oslo?\","
    "\"tools\":[{\"type\":\"function\",\"name\":\"get_forecast\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"place\":{\"type\":\"string\"},\"days\":{\"type\":"
    "\"integer\"}}}},{\"type\":\"function\",\"name\":\"get_tide\",\"parameters\":{\"type\":"
    "\"object\",\"properties\":{\"harbour\":{\"type\":\"string\"}}}}]}";

Test(responses_e2e, native_gemini_function_calls_stream_and_document)
{
    struct mock *m = gemini_mock();
    struct e2e_gw *gw = gw_for("GEMINI", m, "");
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/responses", e2e_strf(gemini_req, "\"stream\":true,"), NULL, NULL);
    cJSON *resp = check_stream(r, "response.completed");
    const cJSON *fc = output_of_type(resp, "function_call", 0);
    cr_assert_not_null(fc, "%s", r->body);
    cr_assert_str_eq(s_of(fc, "name"), "get_forecast");
    cJSON *args = cJSON_Parse(s_of(fc, "arguments"));
    cr_assert_str_eq(s_of(args, "place"), "Oslo");
    cJSON_Delete(args);
    cr_assert_str_eq(s_of(output_of_type(resp, "function_call", 1), "name"), "get_tide");
    e2e_resp_free(r);

    r = e2e_post(gw, "/v1/responses", e2e_strf(gemini_req, ""), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    fc = output_of_type(j, "function_call", 0);
    cr_assert_not_null(fc, "%s", r->body);
    cr_assert(s_of(fc, "call_id") && *s_of(fc, "call_id"));
    e2e_resp_free(r);

    /* the function_call_output turn reaches Gemini as a functionResponse */
    r = e2e_post(gw, "/v1/responses",
                 "{\"model\":\"gemini-2.5-flash\",\"tools\":[{\"type\":\"function\",\"name\":"
                 "\"get_tide\"}],\"input\":[{\"role\":\"user\",\"content\":\"Tide?\"},"
                 "{\"type\":\"function_call\",\"call_id\":\"call_t1\",\"name\":\"get_tide\","
                 "\"arguments\":\"{\\\"harbour\\\":\\\"Oslo\\\"}\"},{\"type\":"
                 "\"function_call_output\",\"call_id\":\"call_t1\",\"output\":\"High at 14:02\"}]}",
                 NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_eq(mock_wait_requests(m, 3, 5000), 0);
    const struct mock_req *up = mock_request(m, 2);
    cr_assert(strstr(mock_req_body(up), "functionResponse"), "%s", mock_req_body(up));
    cr_assert(strstr(mock_req_body(up), "High at 14:02"));
    mock_req_free(up);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- stored responses --------------------------------------------------------------------- */

static struct e2e_resp *del(struct e2e_gw *gw, const char *path, const char *headers)
{
    return e2e_request("DELETE", e2e_strf("%s%s", e2e_gw_url(gw), path), NULL, headers, 0);
}

Test(responses_e2e, stored_responses_chain_get_items_delete_and_owners)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for("OPENAI", m, "/v1");
    const char *alice = "Authorization: Bearer alice-key";
    struct e2e_resp *r = e2e_post(gw, "/v1/responses",
                                  "{\"model\":\"gpt-4o-mini\",\"instructions\":\"Rule one.\","
                                  "\"input\":\"First question\",\"metadata\":{\"t\":\"1\"}}",
                                  alice);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *id = strdup(s_of(e2e_resp_json(r), "id"));
    const char *first_answer =
        s_of(cJSON_GetArrayItem(
                 cJSON_GetObjectItem(output_of_type(e2e_resp_json(r), "message", 0), "content"), 0),
             "text");
    char *answer = strdup(first_answer);

    struct e2e_resp *g = e2e_get(gw, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 200, "%s", g->body);
    cr_assert(cJSON_Compare(e2e_resp_json(g), e2e_resp_json(r), 1), "GET returns what POST did");
    e2e_resp_free(g);

    g = e2e_get(gw, e2e_strf("/v1/responses/%s/input_items?limit=5&order=asc", id), alice);
    cr_assert_eq(g->status, 200, "%s", g->body);
    cJSON *list = e2e_resp_json(g);
    cr_assert_str_eq(s_of(list, "object"), "list");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "data"), 0);
    cr_assert_str_eq(s_of(first, "type"), "message");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(cJSON_GetObjectItem(first, "content"), 0), "text"),
                     "First question");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(list, "has_more")));
    e2e_resp_free(g);

    /* another key sees nothing, and cannot chain from it */
    g = e2e_get(gw, e2e_strf("/v1/responses/%s", id), "Authorization: Bearer mallory-key");
    cr_assert_eq(g->status, 404, "%s", g->body);
    e2e_resp_free(g);
    g = e2e_post(gw, "/v1/responses",
                 e2e_strf("{\"model\":\"gpt-4o-mini\",\"previous_response_id\":\"%s\","
                          "\"input\":\"x\"}",
                          id),
                 "Authorization: Bearer mallory-key");
    cr_assert_eq(g->status, 400, "%s", g->body);
    cr_assert_str_eq(s_of(cJSON_GetObjectItem(e2e_resp_json(g), "error"), "code"),
                     "previous_response_not_found");
    e2e_resp_free(g);

    /* the chain: turn 1's input and output come first, its instructions do not */
    struct e2e_resp *r2 = e2e_post(gw, "/v1/responses",
                                   e2e_strf("{\"model\":\"gpt-4o-mini\",\"previous_response_id\":"
                                            "\"%s\",\"input\":\"Second question\"}",
                                            id),
                                   alice);
    cr_assert_eq(r2->status, 200, "%s", r2->body);
    cr_assert_str_eq(s_of(e2e_resp_json(r2), "previous_response_id"), id);
    cr_assert_eq(mock_wait_requests(m, 2, 5000), 0);
    const struct mock_req *up = mock_request(m, 1);
    const cJSON *msgs = cJSON_GetObjectItem(mock_req_json(up), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3, "%s", mock_req_body(up));
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 0), "content"), "First question");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 1), "role"), "assistant");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 1), "content"), answer);
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 2), "content"), "Second question");
    mock_req_free(up);

    /* DELETE, then it is gone */
    g = del(gw, e2e_strf("/v1/responses/%s", id), "Authorization: Bearer mallory-key");
    cr_assert_eq(g->status, 404);
    e2e_resp_free(g);
    g = del(gw, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 200, "%s", g->body);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e2e_resp_json(g), "deleted")));
    e2e_resp_free(g);
    g = e2e_get(gw, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 404);
    e2e_resp_free(g);

    /* store: false keeps nothing */
    struct e2e_resp *r3 = e2e_post(
        gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"store\":false,\"input\":\"x\"}", alice);
    cr_assert_eq(r3->status, 200);
    g = e2e_get(gw, e2e_strf("/v1/responses/%s", s_of(e2e_resp_json(r3), "id")), alice);
    cr_assert_eq(g->status, 404);
    e2e_resp_free(g);

    /* unknown ids and routes */
    g = e2e_post(
        gw, "/v1/responses",
        "{\"model\":\"gpt-4o-mini\",\"previous_response_id\":\"resp_nope\",\"input\":\"x\"}",
        alice);
    cr_assert_eq(g->status, 400);
    cr_assert_str_eq(s_of(cJSON_GetObjectItem(e2e_resp_json(g), "error"), "param"),
                     "previous_response_id");
    e2e_resp_free(g);
    g = e2e_get(gw, "/v1/responses/resp_x/other", alice);
    cr_assert_eq(g->status, 404);
    e2e_resp_free(g);
    cr_assert_eq(mock_request_count(m), 3, "refused requests never reach the target");

    e2e_resp_free(r);
    e2e_resp_free(r2);
    e2e_resp_free(r3);
    free(id);
    free(answer);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A gateway started on a state store keeps responses there, not in its own memory: they
 * outlive a restart, and another replica on the same store serves the chain. */
Test(responses_e2e, stored_responses_live_in_the_state_store)
{
    struct mock *m = openai_mock();
    char dir[] = "/tmp/aigw-resp-store.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *cfg = e2e_strf("{\"store\":{\"url\":\"sqlite:%s/state.db\"}}", dir);
    const char *key = e2e_strf("OPENAI_API_KEY=" KEY),
               *base = e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m));
    const char *alice = "Authorization: Bearer alice-key";

    struct e2e_gw *a = e2e_gw_start(cfg, key, base, NULL);
    struct e2e_resp *r = e2e_post(a, "/v1/responses",
                                  "{\"model\":\"gpt-4o-mini\",\"input\":\"Remember me\"}", alice);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *id = strdup(s_of(e2e_resp_json(r), "id"));
    cr_assert_eq(e2e_gw_stop(a, 10000), 0);

    /* a new process on the same store: the response is there, still only for its owner */
    struct e2e_gw *b = e2e_gw_start(cfg, key, base, NULL);
    struct e2e_gw *c = e2e_gw_start(cfg, key, base, NULL);
    struct e2e_resp *g = e2e_get(b, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 200, "%s\n%s", g->body, e2e_gw_log(b));
    cr_assert(cJSON_Compare(e2e_resp_json(g), e2e_resp_json(r), 1), "the stored document");
    e2e_resp_free(g);
    g = e2e_get(b, e2e_strf("/v1/responses/%s", id), "Authorization: Bearer mallory-key");
    cr_assert_eq(g->status, 404, "%s", g->body);
    e2e_resp_free(g);

    /* the chain continues on a second replica, whose upstream request carries turn one */
    g = e2e_post(c, "/v1/responses",
                 e2e_strf("{\"model\":\"gpt-4o-mini\",\"previous_response_id\":\"%s\","
                          "\"input\":\"And now?\"}",
                          id),
                 alice);
    cr_assert_eq(g->status, 200, "%s\n%s", g->body, e2e_gw_log(c));
    cr_assert_eq(mock_wait_requests(m, 2, 5000), 0);
    const struct mock_req *up = mock_request(m, 1);
    const cJSON *msgs = cJSON_GetObjectItem(mock_req_json(up), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3, "%s", mock_req_body(up));
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 0), "content"), "Remember me");
    mock_req_free(up);
    e2e_resp_free(g);

    /* an item_reference (the Vercel AI SDK's way with store on) to turn one's answer, read
     * from the store on the other replica; another key gets OpenAI's 404 */
    const char *ref = e2e_strf(
        "{\"model\":\"gpt-4o-mini\",\"input\":[{\"type\":\"item_reference\",\"id\":\"%s\"},"
        "{\"role\":\"user\",\"content\":\"And then?\"}]}",
        s_of(output_of_type(e2e_resp_json(r), "message", 0), "id"));
    g = e2e_post(c, "/v1/responses", ref, "Authorization: Bearer mallory-key");
    cr_assert_eq(g->status, 404, "%s", g->body);
    const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(g), "error");
    cr_assert_str_eq(s_of(e, "type"), "invalid_request_error", "%s", g->body);
    cr_assert_str_eq(s_of(e, "param"), "input", "%s", g->body);
    e2e_resp_free(g);
    g = e2e_post(c, "/v1/responses", ref, alice);
    cr_assert_eq(g->status, 200, "%s\n%s", g->body, e2e_gw_log(c));
    cr_assert_eq(mock_wait_requests(m, 3, 5000), 0);
    up = mock_request(m, 2);
    msgs = cJSON_GetObjectItem(mock_req_json(up), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 2, "%s", mock_req_body(up));
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(msgs, 0), "role"), "assistant");
    cr_assert_str_eq(
        s_of(cJSON_GetArrayItem(msgs, 0), "content"),
        s_of(cJSON_GetArrayItem(
                 cJSON_GetObjectItem(output_of_type(e2e_resp_json(r), "message", 0), "content"), 0),
             "text"),
        "%s", mock_req_body(up));
    mock_req_free(up);
    e2e_resp_free(g);

    /* deleted through one replica: gone there at once, and on the other once the deleting
     * replica's writer has committed (writes are batched off the request path) */
    g = del(c, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 200, "%s", g->body);
    e2e_resp_free(g);
    g = e2e_get(c, e2e_strf("/v1/responses/%s", id), alice);
    cr_assert_eq(g->status, 404, "%s\n%s", g->body, e2e_gw_log(c));
    e2e_resp_free(g);
    int status = 0;
    for (int64_t end = e2e_now_ms() + 5000; status != 404 && e2e_now_ms() < end;) {
        g = e2e_get(b, e2e_strf("/v1/responses/%s", id), alice);
        status = g->status;
        e2e_resp_free(g);
    }
    cr_assert_eq(status, 404, "the other replica still serves a deleted response");

    e2e_resp_free(r);
    free(id);
    cr_assert_eq(e2e_gw_stop(b, 10000), 0);
    cr_assert_eq(e2e_gw_stop(c, 10000), 0);
    mock_stop(m);
    const char *files[] = {"state.db", "state.db-wal", "state.db-shm"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(e2e_strf("%s/%s", dir, files[i]));
    cr_assert_eq(rmdir(dir), 0, "only the store's files were left in %s", dir);
}

/* An input guardrail that rewrote a request's text (a card number redacted before the
 * provider saw it) leaves none of it in the response store, as none of it in the request log:
 * the answer says store false, and GET, input_items and previous_response_id find nothing. A
 * guard that only set a number (max-size's max_tokens) changes nothing of what is kept. */
Test(responses_e2e, a_request_a_guard_rewrote_is_not_stored)
{
    struct mock *m = openai_mock();
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s/plugins/guards/.libs\",\"guardrails\":"
                               "[{\"name\":\"pii\",\"config\":{\"action\":\"redact\"}},"
                               "{\"name\":\"max-size\",\"config\":{\"max_tokens\":900}}]}",
                               getenv("AIGW_TEST_BUILDDIR"));
    struct e2e_gw *gw = e2e_gw_start(cfg, "OPENAI_API_KEY=" KEY,
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    const char *alice = "Authorization: Bearer alice-key";
    struct e2e_resp *r = e2e_post(
        gw, "/v1/responses",
        "{\"model\":\"gpt-4o-mini\",\"input\":\"My card is 4111 1111 1111 1111, charge it.\"}",
        alice);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert(!strstr(mock_req_body(up), "4111"), "the guard rewrote it: %s", mock_req_body(up));
    mock_req_free(up);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(e2e_resp_json(r), "store")), "%s", r->body);
    const char *id = s_of(e2e_resp_json(r), "id");
    static const char *const tails[] = {"", "/input_items"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        struct e2e_resp *g = e2e_get(gw, e2e_strf("/v1/responses/%s%s", id, tails[i]), alice);
        cr_assert_eq(g->status, 404, "%s", g->body);
        cr_assert(!strstr(g->body, "4111"));
        e2e_resp_free(g);
    }
    struct e2e_resp *c = e2e_post(gw, "/v1/responses",
                                  e2e_strf("{\"model\":\"gpt-4o-mini\",\"previous_response_id\":"
                                           "\"%s\",\"input\":\"And?\"}",
                                           id),
                                  alice);
    cr_assert_eq(c->status, 400, "%s", c->body);
    e2e_resp_free(c);
    /* a request whose texts the guards let through is kept, max_tokens set or not */
    c = e2e_post(gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"Nothing here.\"}",
                 alice);
    cr_assert_eq(c->status, 200, "%s", c->body);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e2e_resp_json(c), "store")), "%s", c->body);
    cr_assert_eq(mock_wait_requests(m, 2, 5000), 0);
    up = mock_request(m, 1);
    cr_assert_eq(cJSON_GetObjectItem(mock_req_json(up), "max_tokens")->valueint, 900,
                 "max-size rewrote it: %s", mock_req_body(up));
    mock_req_free(up);
    struct e2e_resp *g =
        e2e_get(gw, e2e_strf("/v1/responses/%s", s_of(e2e_resp_json(c), "id")), alice);
    cr_assert_eq(g->status, 200, "%s", g->body);
    e2e_resp_free(g);
    e2e_resp_free(c);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(responses_e2e, bad_request_and_upstream_error_are_openai_shaped)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gw_for("OPENAI", m, "/v1");
    struct e2e_resp *r = e2e_post(gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\"}", NULL);
    cr_assert_eq(r->status, 400);
    cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert_str_eq(s_of(e, "type"), "invalid_request_error");
    cr_assert_str_eq(s_of(e, "param"), "input");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/responses", "{\"model\":\"mock-500\",\"input\":\"x\",\"stream\":true}",
                 NULL);
    cr_assert_eq(r->status, 500, "%s", r->body);
    cr_assert_not_null(cJSON_GetObjectItem(e2e_resp_json(r), "error"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The stream's last events (output_text.done, output_item.done, response.completed) each
 * carry the whole answer: past the stream buffer's old hard cap (576 KiB) they failed, and
 * a long answer ended in response.failed. 1 MB of answer, streamed and as a document. */
Test(responses_e2e, a_long_answer_is_whole_in_the_stream_and_the_document)
{
    char *text = e2e_letters(1000000);
    char *sse = e2e_chat_sse_one_event(
        text, "{\"prompt_tokens\":1,\"completion_tokens\":250000,\"total_tokens\":250001}");
    char *doc =
        e2e_strf("{\"id\":\"chatcmpl-big\",\"object\":\"chat.completion\",\"created\":1,\"model\":"
                 "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                 "\"content\":\"%s\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,"
                 "\"completion_tokens\":250000,\"total_tokens\":250001}}",
                 text);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .match_body = "{\"stream\":true}",
                                               .headers = "Content-Type: text/event-stream",
                                               .body = sse,
                                               .chunking = "events"}),
        0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: application/json",
                                                        .body = doc}),
                 0);
    struct e2e_gw *gw = gw_for("OPENAI", m, "/v1");
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/responses",
                   "{\"model\":\"gpt-4o-mini\",\"input\":\"x\",\"stream\":true}", NULL, NULL);
    const cJSON *last = check_stream(r, "response.completed");
    const cJSON *msg = output_of_type(last, "message", 0);
    const cJSON *part = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0);
    cr_assert(!strcmp(s_of(part, "text"), text), "the completed response holds the answer");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"x\"}", NULL);
    cr_assert_eq(r->status, 200, "%.300s", r->body);
    msg = output_of_type(e2e_resp_json(r), "message", 0);
    part = cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "content"), 0);
    cr_assert(!strcmp(s_of(part, "text"), text), "%.300s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
